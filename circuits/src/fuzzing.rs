//! Fuzz target bodies, kept in the library so that a stable test runs them
//! over the committed corpus and random inputs, and `cargo fuzz` (nightly)
//! runs them under libFuzzer. Each body is a generator plus an oracle: it
//! must never panic except when the oracle finds a real bug.
//!
//! Oracles:
//! - decoding is total (never panics) and canonical: whatever decodes
//!   re-encodes to exactly the input bytes;
//! - no edit of an honest proof verifies unless the edit changed nothing:
//!   the proof body reads its input as an edit of the fixture's honest proof,
//!   and an edited proof that verifies would be a forgery.

use std::sync::OnceLock;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::commitment::{Commitment, Opening};
use crate::context::ProofContext;
use crate::program::Program;
use crate::proof::{Proof, prove_with_rng, verify};
use crate::samples;

/// The fixed statement the proof fuzzer verifies against.
pub struct Fixture {
    /// The program (one of every constraint kind).
    pub program: Program,
    /// Its commitments.
    pub commitments: Vec<Commitment>,
    /// Its public inputs.
    pub publics: Vec<u64>,
    /// The context.
    pub context: ProofContext,
    /// An honest proof's encoding (a good corpus seed).
    pub proof: Vec<u8>,
}

/// The fixture, built once per process from a fixed seed.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(0x5077_0f22);
        let s = samples::every_kind(&mut rng);
        let context = ProofContext {
            contract_id: [7; 32],
            channel_id: [9; 32],
            version: 1,
            function: "fuzz".into(),
        };
        let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &context, &mut rng)
            .map(|p| p.encode())
            .unwrap_or_else(|e| unreachable!("the fixture is satisfiable: {e}"));
        Fixture {
            commitments: s.witness.iter().map(Opening::commit).collect(),
            program: s.program,
            publics: s.publics,
            context,
            proof,
        }
    })
}

/// Fuzz body for proof decoding and verification.
///
/// The first byte picks the mode. `0`: the rest is a proof encoding, decoded
/// and verified against the fixture's statement (decoder oracle only: any
/// honest proof of that statement may verify). Otherwise: the rest is XORed
/// into the fixture's honest proof (and any excess appended), and the result
/// must not verify unless it equals the honest proof.
pub fn proof(data: &[u8]) {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let candidate = if mode == 0 {
        rest.to_vec()
    } else {
        let mut edited = f.proof.clone();
        for (i, b) in rest.iter().enumerate() {
            match edited.get_mut(i) {
                Some(e) => *e ^= b,
                None => edited.push(*b),
            }
        }
        edited
    };
    let Ok(proof) = Proof::decode(&candidate) else {
        return;
    };
    assert_eq!(proof.encode(), candidate, "proof decoding is not canonical");
    let verified = verify(&f.program, &f.commitments, &f.publics, &f.context, &proof).is_ok();
    if mode != 0 && verified {
        assert_eq!(candidate, f.proof, "an edited proof verifies: a forgery");
    }
}

/// Fuzz body for program and commitment decoding.
pub fn program(data: &[u8]) {
    if let Ok(program) = Program::decode(data) {
        assert_eq!(program.encode(), data, "program decoding is not canonical");
    }
    for chunk in data.chunks_exact(32) {
        if let Ok(c) = Commitment::from_slice(chunk) {
            assert_eq!(c.to_bytes(), chunk, "commitment decoding is not canonical");
        }
    }
}

/// Helpers the stable fuzz-body tests of every crate share: the replayable
/// seed, the committed corpus, and byte mutations.
pub mod harness {
    use std::path::{Path, PathBuf};

    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng as _};

    /// The seed of a randomised test: `SOTTO_TEST_SEED` if set (to replay a
    /// run), a fresh one otherwise; printed either way.
    pub fn seed() -> u64 {
        let seed = std::env::var("SOTTO_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        println!("SOTTO_TEST_SEED={seed}");
        seed
    }

    /// `fuzz/corpus/TARGET` in the repository.
    pub fn corpus_dir(target: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(target)
    }

    /// Every file of `fuzz/corpus/TARGET`, sorted. Test support: panics with
    /// the path if the corpus is missing or empty.
    pub fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = corpus_dir(target);
        let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
            .map(|entry| {
                entry
                    .and_then(|e| std::fs::read(e.path()))
                    .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "corpus {target} is empty");
        files
    }

    /// `input` with one random edit: a flipped bit, a replaced byte, a
    /// truncation, or random bytes appended.
    pub fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
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

    /// Runs a fuzz body the way a stable test does: over every corpus file,
    /// then `rounds` times over a mutated corpus file and over up to
    /// `max_len` random bytes, seeded by [`seed`].
    pub fn exercise(target: &str, body: impl Fn(&[u8]), rounds: usize, max_len: usize) {
        let mut rng = StdRng::seed_from_u64(seed());
        let seeds = corpus(target);
        for input in &seeds {
            body(input);
        }
        for _ in 0..rounds {
            let base = &seeds[rng.gen_range(0..seeds.len())];
            body(&mutate(&mut rng, base));
            let len = rng.gen_range(0..max_len);
            body(&(0..len).map(|_| rng.r#gen()).collect::<Vec<u8>>());
        }
    }
}
