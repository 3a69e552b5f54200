//! Runs the fuzz target bodies on stable: over the committed corpus in
//! `fuzz/corpus/`, over mutations of valid encodings, and over random bytes.
//! Set `SOTTO_TEST_SEED` to replay a run; the seed is printed.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_circuits::fuzzing;

fn seed() -> u64 {
    let seed = std::env::var("SOTTO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("SOTTO_TEST_SEED={seed}");
    seed
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {target} is empty");
    files
}

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    match rng.gen_range(0..4) {
        0 if !out.is_empty() => {
            let i = rng.gen_range(0..out.len());
            out[i] ^= 1 << rng.gen_range(0..8);
        }
        1 if !out.is_empty() => {
            let i = rng.gen_range(0..out.len());
            out[i] = rng.r#gen();
        }
        2 => out.truncate(rng.gen_range(0..=out.len())),
        _ => out.extend((0..rng.gen_range(1..40)).map(|_| rng.r#gen::<u8>())),
    }
    out
}

fn run(target: &str, body: fn(&[u8]), rounds: usize) {
    let mut rng = StdRng::seed_from_u64(seed());
    let seeds = corpus(target);
    for input in &seeds {
        body(input);
    }
    for _ in 0..rounds {
        let base = &seeds[rng.gen_range(0..seeds.len())];
        body(&mutate(&mut rng, base));
        let len = rng.gen_range(0..300);
        body(&(0..len).map(|_| rng.r#gen()).collect::<Vec<u8>>());
    }
}

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
    run("proof", fuzzing::proof, 1500);
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
    run("program", fuzzing::program, 3000);
}
