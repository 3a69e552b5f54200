//! Generated well-typed contracts through the checker and the compiler:
//! see `sotto_contracts::fuzzing::compile`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_contracts::fuzzing::compile(data));
