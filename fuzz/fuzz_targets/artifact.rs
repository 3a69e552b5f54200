//! Arbitrary bytes as a contract module a peer sends (whole, or as its ABI
//! or programs section): see `sotto_contracts::fuzzing::artifact`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_contracts::fuzzing::artifact(data));
