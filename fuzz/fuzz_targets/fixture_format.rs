//! Feeds arbitrary text to the fixture parser (`switchyard test` files):
//! it must never panic, and what parses must have a frontend-less or named
//! case for each request.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::fixture_format::check(data));
