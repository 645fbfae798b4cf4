//! Feeds arbitrary text to the fixture parser (`switchyard test` files):
//! it must never panic, and what parses must have a frontend-less or named
//! case for each request.

use switchyard_rules::fixture;

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cases) = fixture::parse(text) {
            for case in &cases {
                assert!(case.line >= 1);
            }
        }
    }
}
