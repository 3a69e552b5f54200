//! Runs the transport's fuzz body (`sotto_engine::net::fuzz_frames`) on
//! stable: over the committed corpus in `fuzz/corpus/noise_frame/`, over
//! today's samples, over mutations of the corpus, and over random bytes. Set
//! `SOTTO_TEST_SEED` to replay a run; the seed is printed.
//! `SOTTO_WRITE_CORPUS=1` (re)writes the seed corpus.
//!
//! The samples come from one handshake between fixed identities with fixed
//! ephemeral keys, so they are deterministic: the committed files are golden
//! vectors of the handshake and the framing, and must still be exactly what
//! the code produces.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use sotto_circuits::fuzzing::harness::{corpus_dir, exercise};
use sotto_engine::net::{fuzz_frames, fuzz_samples};

fn write_corpus() {
    let dir = corpus_dir("noise_frame");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in fuzz_samples() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn noise_frame_target_over_corpus_and_mutations() {
    if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    for (_, bytes) in fuzz_samples() {
        fuzz_frames(&bytes);
    }
    exercise("noise_frame", fuzz_frames, 1_000, 512);
}

#[test]
fn the_committed_corpus_is_what_the_protocol_still_produces() {
    let dir = corpus_dir("noise_frame");
    for (name, bytes) in fuzz_samples() {
        let committed = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (SOTTO_WRITE_CORPUS=1 writes it)"));
        assert!(
            committed == bytes,
            "{name}: the handshake or the framing changed; old peers would no longer \
             understand new ones (a new wire format needs a new prologue, sotto/2)"
        );
    }
}
