//! Golden vectors: proofs, programs and commitments serialized by an earlier
//! build must keep decoding, re-encoding to the same bytes, and verifying.
//!
//! `SOTTO_BLESS=1 cargo test -p sotto-circuits --test golden` writes the
//! vector file if it does not exist yet. It never overwrites one: vectors are
//! a promise to every earlier build, and a new format version gets a new file.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_circuits::samples::{self, Sample};
use sotto_circuits::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn context(i: u64) -> ProofContext {
    ProofContext {
        contract_id: [0xa0 + i as u8; 32],
        channel_id: [0xb0 + i as u8; 32],
        version: 1000 + i,
        function: format!("golden_{i}"),
    }
}

struct Vector {
    name: String,
    program: Vec<u8>,
    commitments: Vec<[u8; 32]>,
    publics: Vec<u64>,
    context: ProofContext,
    proof: Vec<u8>,
}

fn parse(text: &str) -> Vec<Vector> {
    let mut out = Vec::new();
    let is_vector = |b: &&str| b.lines().any(|l| !l.is_empty() && !l.starts_with('#'));
    for block in text.split("\n\n").filter(is_vector) {
        let mut fields = std::collections::HashMap::new();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            fields.insert(k.to_owned(), v.to_owned());
        }
        let hexes = |k: &str| -> Vec<Vec<u8>> {
            fields[k]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| hex::decode(s).unwrap())
                .collect()
        };
        let ctx: Vec<&str> = fields["context"].split(' ').collect();
        out.push(Vector {
            name: fields["name"].clone(),
            program: hex::decode(&fields["program"]).unwrap(),
            commitments: hexes("commitments")
                .into_iter()
                .map(|c| c.try_into().unwrap())
                .collect(),
            publics: fields["publics"]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect(),
            context: ProofContext {
                contract_id: hex::decode(ctx[0]).unwrap().try_into().unwrap(),
                channel_id: hex::decode(ctx[1]).unwrap().try_into().unwrap(),
                version: ctx[2].parse().unwrap(),
                function: ctx[3].to_owned(),
            },
            proof: hex::decode(&fields["proof"]).unwrap(),
        });
    }
    out
}

fn bless() {
    let mut rng = StdRng::seed_from_u64(0x601d);
    let all: Vec<Sample> = vec![
        samples::ranges(1, RangeBits::B64, &mut rng),
        samples::ranges(4, RangeBits::B32, &mut rng),
        samples::comparison(&mut rng),
        samples::product(&mut rng),
        samples::transition(&mut rng),
        samples::every_kind(&mut rng),
    ];
    let mut text = String::from(
        "# sotto-circuits golden vectors, proof format v1, program format v1.\n\
         # Written once; every later build must decode and verify all of them.\n\n",
    );
    for (i, s) in all.iter().enumerate() {
        let ctx = context(i as u64);
        let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng).unwrap();
        let commitments: Vec<String> = s
            .witness
            .iter()
            .map(|o| hex::encode(o.commit().to_bytes()))
            .collect();
        let publics: Vec<String> = s.publics.iter().map(u64::to_string).collect();
        writeln!(text, "name {}", s.name).unwrap();
        writeln!(text, "program {}", hex::encode(s.program.encode())).unwrap();
        writeln!(text, "commitments {}", commitments.join(",")).unwrap();
        writeln!(text, "publics {}", publics.join(",")).unwrap();
        writeln!(
            text,
            "context {} {} {} {}",
            hex::encode(ctx.contract_id),
            hex::encode(ctx.channel_id),
            ctx.version,
            ctx.function
        )
        .unwrap();
        writeln!(text, "proof {}\n", hex::encode(proof.encode())).unwrap();
    }
    let path = dir().join("proofs_v1.txt");
    if !path.exists() {
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn golden_vectors_still_verify() {
    if std::env::var_os("SOTTO_BLESS").is_some() {
        bless();
    }
    let text = std::fs::read_to_string(dir().join("proofs_v1.txt")).unwrap();
    let vectors = parse(&text);
    assert_eq!(vectors.len(), 6, "the v1 file holds six vectors");
    for v in vectors {
        let program = Program::decode(&v.program).unwrap();
        assert_eq!(
            program.encode(),
            v.program,
            "{}: program re-encodes",
            v.name
        );
        let commitments: Vec<Commitment> = v
            .commitments
            .iter()
            .map(|c| Commitment::from_bytes(c).unwrap())
            .collect();
        let proof = Proof::decode(&v.proof).unwrap();
        assert_eq!(proof.encode(), v.proof, "{}: proof re-encodes", v.name);
        verify(&program, &commitments, &v.publics, &v.context, &proof)
            .unwrap_or_else(|e| panic!("{}: golden proof no longer verifies: {e}", v.name));
        // And it is still bound to its context.
        let other = ProofContext {
            version: v.context.version + 1,
            ..v.context.clone()
        };
        assert!(verify(&program, &commitments, &v.publics, &other, &proof).is_err());
    }
}
