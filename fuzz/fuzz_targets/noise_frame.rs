//! Arbitrary bytes to the transport's frame decoder and handshake readers,
//! after a real (fixed) Noise_XK handshake: see
//! `sotto_engine::net::fuzz_frames`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::net::fuzz_frames(data));
