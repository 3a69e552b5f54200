//! Runs the wire fuzz body (`sotto_engine::channel::wire::fuzz_wire`) on
//! stable: over the committed corpus in `fuzz/corpus/wire/`, over today's
//! encodings of the same samples, over mutations of the corpus, and over
//! random bytes. Set `SOTTO_TEST_SEED` to replay a run; the seed is printed.
//! `SOTTO_WRITE_CORPUS=1` (re)writes the seed corpus.
//!
//! The committed corpus doubles as golden vectors: every `message_*`,
//! `record_*` and `secret_*` file, written by an earlier build, must still
//! decode as what its name says.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use sotto_circuits::fuzzing::harness::{corpus_dir, exercise};
use sotto_engine::channel::wire::{
    decode_message, decode_peer, decode_record, decode_secret, fuzz_samples, fuzz_wire,
};

fn write_corpus() {
    let dir = corpus_dir("wire");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in fuzz_samples().encodings() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn wire_target_over_corpus_and_mutations() {
    if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    for (_, bytes) in fuzz_samples().encodings() {
        fuzz_wire(&bytes);
    }
    exercise("wire", fuzz_wire, 10_000, 512);
}

#[test]
fn the_committed_corpus_still_decodes() {
    let mut checked = [0usize; 4];
    for entry in std::fs::read_dir(corpus_dir("wire")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        // Files a local `cargo fuzz run` added have other names: inputs,
        // not golden vectors.
        let (kind, ok) = match name.split('_').next() {
            Some("message") => (0, decode_message(&bytes).map(drop)),
            Some("record") => (1, decode_record(&bytes).map(drop)),
            Some("secret") => (2, decode_secret(&bytes).map(drop)),
            Some("peer") => (3, decode_peer(&bytes).map(drop)),
            _ => continue,
        };
        ok.unwrap_or_else(|e| panic!("{name} no longer decodes: {e}"));
        checked[kind] += 1;
    }
    assert!(
        checked.iter().all(|n| *n > 0),
        "the corpus lacks a kind: {checked:?}"
    );
}
