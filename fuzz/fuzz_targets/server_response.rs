//! Arbitrary bytes as a server's answer on the gateway's own server
//! connections (`switchyard::wire::h1`): the response head, then a chunked
//! body when the head says so, fed in reads of 1 to 128 bytes. Nothing may
//! panic; the decoder never returns empty data nor more than it consumed;
//! neither parser waits for more while holding more than its limit; a
//! `Length` framing is the fields' own digits; and how the reads cut the
//! bytes changes nothing: the same head, data, end and leftover as when
//! everything arrives in one read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz_checks::server_response::check(data));
