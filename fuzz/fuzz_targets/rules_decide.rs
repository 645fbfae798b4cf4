//! Arbitrary requests (read as fixture text) through a rule set with every
//! kind of fetch and match: deciding must never panic, and the indexed
//! decision must equal the plain in-order evaluation (HAProxy's
//! first-match answer).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::rules_decide::check(data));
