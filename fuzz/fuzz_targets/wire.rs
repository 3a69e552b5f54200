//! Arbitrary bytes to the update protocol's message, record and secret
//! decoders: see `sotto_engine::channel::wire::fuzz_wire`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::channel::wire::fuzz_wire(data));
