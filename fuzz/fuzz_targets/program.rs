//! Arbitrary bytes to `Program::decode` and `Commitment::from_slice`: see `sotto_circuits::fuzzing::program`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_circuits::fuzzing::program(data));
