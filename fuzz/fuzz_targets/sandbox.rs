//! Arbitrary bytes, and wasm-smith modules built from them, through the
//! sandbox's loader and a call under small fuel: see
//! `sotto_engine::fuzzing::sandbox`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::fuzzing::sandbox(data));
