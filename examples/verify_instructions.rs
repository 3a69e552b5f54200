//! Verifies one `range64` proof N times, ours or raw bulletproofs', so that
//! `valgrind --tool=callgrind` can count the instructions of a verify:
//!
//! ```sh
//! cargo build --release --example verify_instructions
//! for which in ours raw; do for n in 1 21; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/verify_instructions $which $n 2>&1 | grep refs
//! done; done
//! ```
//!
//! (count at N = 21 − count at N = 1) / 20 is one verify; setup cancels out.
//! Wall time on a shared VM varies more between runs than the 5 % target
//! being checked; instruction counts do not (docs/benchmarks.md).

use anyhow::{Context, Result, bail};
use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_circuits::{Opening, ProofContext, RangeBits, prove_with_rng, samples, verify_with_rng};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let which = args
        .next()
        .context("usage: verify_instructions ours|raw N")?;
    let n: usize = args
        .next()
        .context("usage: verify_instructions ours|raw N")?
        .parse()
        .context("N must be a whole number")?;
    let mut rng = StdRng::seed_from_u64(1);

    // Both setups always run, so that they cancel out between N = 1 and N = 21.
    let s = samples::ranges(1, RangeBits::B64, &mut rng);
    let ctx = ProofContext {
        contract_id: [1; 32],
        channel_id: [2; 32],
        version: 3,
        function: "f".into(),
    };
    let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng)?;
    let commitments: Vec<_> = s.witness.iter().map(Opening::commit).collect();
    let pc = PedersenGens::default();
    let bp = BulletproofGens::new(64, 1);
    let (raw, v) = RangeProof::prove_single(
        &bp,
        &pc,
        &mut Transcript::new(b"raw"),
        12_345,
        &Scalar::from(7u64),
        64,
    )
    .map_err(|e| anyhow::anyhow!("raw proof: {e}"))?;
    // Warm the lazily built generators outside the counted loop.
    verify_with_rng(&s.program, &commitments, &s.publics, &ctx, &proof, &mut rng)?;

    for _ in 0..n {
        match which.as_str() {
            "ours" => {
                verify_with_rng(&s.program, &commitments, &s.publics, &ctx, &proof, &mut rng)?
            }
            "raw" => raw
                .verify_single_with_rng(&bp, &pc, &mut Transcript::new(b"raw"), &v, 64, &mut rng)
                .map_err(|e| anyhow::anyhow!("raw verify: {e}"))?,
            other => bail!("`{other}`: say `ours` or `raw`"),
        }
    }
    Ok(())
}
