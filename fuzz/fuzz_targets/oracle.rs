//! Arbitrary bytes as an oracle announcement, an attestation, a party's bet
//! signatures or an adaptor signature: see `sotto_engine::oracle::fuzz_decode`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::oracle::fuzz_decode(data));
