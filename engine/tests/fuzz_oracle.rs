//! Runs the oracle decoders' fuzz body (`sotto_engine::oracle::fuzz_decode`)
//! on stable: over the committed corpus in `fuzz/corpus/oracle/` and
//! mutations of it. Set `SOTTO_TEST_SEED` to replay a run; the seed is
//! printed.
#![allow(clippy::unwrap_used, reason = "test code")]

use sotto_circuits::fuzzing::harness::exercise;
use sotto_engine::oracle::{
    AdaptorSignature, Announcement, Attestation, BetSignatures, fuzz_decode, fuzz_seeds,
};

#[test]
fn oracle_target_over_corpus_and_mutations() {
    exercise("oracle", fuzz_decode, 5_000, 1024);
}

/// The committed corpus is today's seeds: each decodes with its decoder
/// (a format change that breaks them shows here, not as a silent corpus of
/// rejects). `SOTTO_WRITE_CORPUS=1` writes them anew after a format change.
#[test]
fn the_corpus_holds_one_valid_input_per_decoder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/oracle");
    let seeds = fuzz_seeds();
    assert_eq!(seeds.len(), 4);
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{i}"));
        if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, seed).unwrap();
        }
        let committed = std::fs::read(&path).unwrap();
        let (tag, body) = committed.split_first().unwrap();
        assert_eq!(*tag as usize, i);
        let text = std::str::from_utf8(body);
        match i {
            0 => drop(Announcement::from_json(text.unwrap()).unwrap()),
            1 => drop(Attestation::from_json(text.unwrap()).unwrap()),
            2 => assert_eq!(BetSignatures::from_bytes(body).unwrap().len(), 3),
            _ => drop(AdaptorSignature::from_bytes(body).unwrap()),
        }
    }
}
