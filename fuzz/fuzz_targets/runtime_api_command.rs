//! Arbitrary lines to the runtime API's command syntax (what `echo LINE |
//! socat stdio /run/switchyard.sock` sends): splitting must never panic,
//! every word must read back whole once escaped, and the argument parsers
//! must never panic nor give a weight above 256.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::runtime_api_command::check(data));
