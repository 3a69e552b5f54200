//! Two or three parties of one channel under arbitrary interleavings of
//! calls, deliveries, drops, reorderings, crashes and restarts, after
//! LDK's `chanmon_consistency`: see `sotto_engine::fuzzing::chanmon`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_engine::fuzzing::chanmon::chanmon(data));
