//! Arbitrary bytes as a control-API request line: see
//! `sotto_engine::node::control::fuzz_request`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::node::control::fuzz_request(data));
