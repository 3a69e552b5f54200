//! Arbitrary bytes to the sotto lexer, parser, renderer and printer: see
//! `sotto_contracts::fuzzing::parse`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_contracts::fuzzing::parse(data));
