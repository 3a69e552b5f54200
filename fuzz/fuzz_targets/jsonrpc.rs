//! Arbitrary bytes as the body of a JSON-RPC request to the served
//! embedded chain: see `sotto_engine::anchor::fuzz_request`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::anchor::fuzz_request(data));
