//! Feeds arbitrary bytes to the configuration loader: it must never panic,
//! and every diagnostic must render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::config_grammar::check(data));
