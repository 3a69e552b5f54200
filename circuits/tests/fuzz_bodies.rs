//! Runs the fuzz target bodies on stable: over the committed corpus in
//! `fuzz/corpus/`, over mutations of valid encodings, and over random bytes.
//! Set `SOTTO_TEST_SEED` to replay a run; the seed is printed.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_circuits::fuzzing;
use sotto_circuits::fuzzing::harness::exercise;

/// `SOTTO_WRITE_CORPUS=1` (re)writes the seed corpus: sample programs, and
/// sample proofs in raw mode (`0` prefix) plus the empty edit (`1`).
fn write_corpus() {
    use sotto_circuits::samples;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut rng = StdRng::seed_from_u64(0xc0);
    let all = [
        samples::ranges(1, sotto_circuits::RangeBits::B64, &mut rng),
        samples::ranges(4, sotto_circuits::RangeBits::B32, &mut rng),
        samples::comparison(&mut rng),
        samples::product(&mut rng),
        samples::transition(&mut rng),
        samples::every_kind(&mut rng),
    ];
    let ctx = sotto_circuits::ProofContext {
        contract_id: [1; 32],
        channel_id: [2; 32],
        version: 3,
        function: "corpus".into(),
    };
    for s in &all {
        std::fs::write(root.join("program").join(&s.name), s.program.encode()).unwrap();
        let p = sotto_circuits::prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng)
            .unwrap();
        let mut raw = vec![0u8];
        raw.extend(p.encode());
        std::fs::write(root.join("proof").join(&s.name), raw).unwrap();
    }
    std::fs::write(root.join("proof").join("empty_edit"), [1u8]).unwrap();
    std::fs::write(root.join("proof").join("fixture_raw"), {
        let mut raw = vec![0u8];
        raw.extend(&fuzzing::fixture().proof);
        raw
    })
    .unwrap();
}

#[test]
fn proof_target_over_corpus_and_mutations() {
    if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    exercise("proof", fuzzing::proof, 1500, 300);
}

#[test]
fn the_fixture_verifies_so_the_forgery_oracle_is_live() {
    // The forgery oracle compares verifying edits with the honest proof; if
    // the honest proof did not verify, no edit would and the oracle would be
    // dead. A no-op edit must pass through it.
    let f = fuzzing::fixture();
    let proof = sotto_circuits::Proof::decode(&f.proof).unwrap();
    sotto_circuits::verify(&f.program, &f.commitments, &f.publics, &f.context, &proof).unwrap();
    fuzzing::proof(&[1, 0, 0, 0]);
}

#[test]
fn program_target_over_corpus_and_mutations() {
    exercise("program", fuzzing::program, 3000, 300);
}
