//! Arbitrary bytes to `Proof::decode` and `verify`: see `sotto_circuits::fuzzing::proof`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_circuits::fuzzing::proof(data));
