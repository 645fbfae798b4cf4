//! Arbitrary bytes as a client's request head (`switchyard::wire::h1::
//! request_parse`), fed in reads of 1 to 256 bytes: the properties of
//! `fuzz-checks/src/request_head.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::request_head::check(data));
