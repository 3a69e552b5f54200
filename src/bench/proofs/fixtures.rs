//! The statements the proofs benchmarks measure, ready to prove and verify.
//!
//! This file is shared, unchanged, by `sotto bench proofs` and the criterion
//! benchmarks in `benches/proofs.rs` (which include it with `#[path]`), so the
//! two always measure the same programs, generators and parameters. Our
//! programs come from [`sotto_circuits::samples`], like the circuits tests.
//!
//! Besides our proofs it sets up the two reference points we compare with:
//! a raw bulletproofs 64-bit range proof, which our single-range proof wraps
//! (so the difference is exactly our overhead), and secp256k1-zkp's Borromean
//! range proof at 63 bits. 63, not 64: that crate's 64-bit Borromean proof
//! overflows (verification reports the range 0..0 in release builds and
//! panics in debug builds), so a 64-bit comparison is impossible.
//!
//! Every constructor proves and verifies once, so a benchmark never times a
//! proof that does not verify.

use anyhow::{Context, Result, ensure};
use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::CompressedRistretto;
use merlin::Transcript;
use rand::{CryptoRng, RngCore};
use secp256k1_zkp::{Generator, PedersenCommitment, SECP256K1, SecretKey, Tag, Tweak};
use sotto_circuits::samples::{self, Sample};
use sotto_circuits::{
    BatchItem, Commitment, Opening, Proof, ProofContext, RangeBits, Scalar, batch_verify_with_rng,
    prove_with_rng, verify_with_rng,
};

/// Numbers of 64-bit ranges in one aggregated proof, one row each.
pub(crate) const AGGREGATION_SIZES: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// Numbers of single-range proofs verified together, one row each.
pub(crate) const BATCH_SIZES: [usize; 3] = [1, 8, 64];
/// Bit width of the Borromean range proof (64 overflows in secp256k1-zkp).
pub(crate) const BORROMEAN_BITS: u8 = 63;

/// The update a benchmark proof is bound to; `version` tells proofs apart.
pub(crate) fn context(version: u64) -> ProofContext {
    ProofContext {
        contract_id: [0x5b; 32],
        channel_id: [0xc4; 32],
        version,
        function: "bench".into(),
    }
}

/// One of our programs with its witness, commitments, context and a proof.
pub(crate) struct Proven {
    /// The program, witness and public inputs.
    pub(crate) sample: Sample,
    /// What the verifier sees: one commitment per variable.
    pub(crate) commitments: Vec<Commitment>,
    /// The update the proof is bound to.
    pub(crate) context: ProofContext,
    /// A proof that verifies.
    pub(crate) proof: Proof,
}

impl Proven {
    /// Proves `sample` under `context` and checks that the proof verifies.
    pub(crate) fn new<R: RngCore + CryptoRng>(
        sample: Sample,
        context: ProofContext,
        rng: &mut R,
    ) -> Result<Self> {
        let proof = prove_with_rng(
            &sample.program,
            &sample.witness,
            &sample.publics,
            &context,
            rng,
        )
        .with_context(|| format!("proving {}", sample.name))?;
        let proven = Proven {
            commitments: sample.witness.iter().map(Opening::commit).collect(),
            sample,
            context,
            proof,
        };
        proven.verify(rng)?;
        Ok(proven)
    }

    /// A fresh proof of the same statement.
    pub(crate) fn prove<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Proof> {
        prove_with_rng(
            &self.sample.program,
            &self.sample.witness,
            &self.sample.publics,
            &self.context,
            rng,
        )
        .with_context(|| format!("proving {}", self.sample.name))
    }

    /// Verifies the stored proof alone.
    pub(crate) fn verify<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<()> {
        verify_with_rng(
            &self.sample.program,
            &self.commitments,
            &self.sample.publics,
            &self.context,
            &self.proof,
            rng,
        )
        .with_context(|| format!("verifying {}", self.sample.name))
    }

    /// The stored proof as an entry of a batch.
    pub(crate) fn item(&self) -> BatchItem<'_> {
        BatchItem {
            program: &self.sample.program,
            commitments: &self.commitments,
            publics: &self.sample.publics,
            context: &self.context,
            proof: &self.proof,
        }
    }

    /// Size of the proof's canonical encoding in bytes.
    pub(crate) fn size(&self) -> usize {
        self.proof.encode().len()
    }
}

/// Our single 64-bit range proof (the statement the baselines also prove).
pub(crate) fn single_range<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Proven> {
    Proven::new(samples::ranges(1, RangeBits::B64, rng), context(1), rng)
}

/// `m` 64-bit ranges in one aggregated proof.
pub(crate) fn aggregated<R: RngCore + CryptoRng>(m: usize, rng: &mut R) -> Result<Proven> {
    Proven::new(samples::ranges(m, RangeBits::B64, rng), context(2), rng)
}

/// The comparison, product and transition samples, in that order.
pub(crate) fn programs<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Vec<Proven>> {
    let samples = [
        samples::comparison(rng),
        samples::product(rng),
        samples::transition(rng),
    ];
    samples
        .into_iter()
        .map(|s| Proven::new(s, context(3), rng))
        .collect()
}

/// `n` distinct single-range proofs, each with its own values and context.
pub(crate) fn batch<R: RngCore + CryptoRng>(n: usize, rng: &mut R) -> Result<Vec<Proven>> {
    (0..n as u64)
        .map(|i| {
            Proven::new(
                samples::ranges(1, RangeBits::B64, rng),
                context(1_000 + i),
                rng,
            )
        })
        .collect()
}

/// How a batch of proofs gets verified.
pub(crate) enum BatchMode {
    /// With `batch_verify`, as intended.
    Batch,
    /// One by one, because `batch_verify` rejected proofs that each verify
    /// alone (the batch range-proof replay is missing or broken).
    OneByOne {
        /// What `batch_verify` said.
        reason: String,
    },
}

/// Decides how `proofs` can be batch-verified: with `batch_verify` if it
/// accepts them, otherwise one by one, after checking each proof alone.
pub(crate) fn batch_mode<R: RngCore + CryptoRng>(
    proofs: &[Proven],
    rng: &mut R,
) -> Result<BatchMode> {
    let items: Vec<BatchItem<'_>> = proofs.iter().map(Proven::item).collect();
    match batch_verify_with_rng(&items, rng) {
        Ok(()) => Ok(BatchMode::Batch),
        Err(e) => {
            for p in proofs {
                p.verify(rng)?;
            }
            Ok(BatchMode::OneByOne {
                reason: e.to_string(),
            })
        }
    }
}

/// Verifies every proof in `items`, in the given mode.
pub(crate) fn verify_batch<R: RngCore + CryptoRng>(
    proofs: &[Proven],
    items: &[BatchItem<'_>],
    mode: &BatchMode,
    rng: &mut R,
) -> Result<()> {
    match mode {
        BatchMode::Batch => batch_verify_with_rng(items, rng).context("batch verification"),
        BatchMode::OneByOne { .. } => proofs.iter().try_for_each(|p| p.verify(rng)),
    }
}

/// A raw bulletproofs 64-bit range proof, with the generators it needs.
pub(crate) struct RawBulletproof {
    bp_gens: BulletproofGens,
    pc_gens: PedersenGens,
    value: u64,
    blinding: Scalar,
    proof: RangeProof,
    commitment: CompressedRistretto,
}

/// Transcript label of the raw bulletproofs baseline.
const RAW_LABEL: &[u8] = b"sotto.bench.raw-bulletproof";

impl RawBulletproof {
    /// Bits in the range.
    const BITS: usize = 64;

    /// Sets up generators for one 64-bit party, proves a random value, verifies.
    pub(crate) fn new<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self> {
        let bp_gens = BulletproofGens::new(Self::BITS, 1);
        let pc_gens = PedersenGens::default();
        let value = rng.next_u64();
        let blinding = Scalar::random(rng);
        let (proof, commitment) = RangeProof::prove_single_with_rng(
            &bp_gens,
            &pc_gens,
            &mut Transcript::new(RAW_LABEL),
            value,
            &blinding,
            Self::BITS,
            rng,
        )
        .context("proving the raw bulletproofs baseline")?;
        let raw = RawBulletproof {
            bp_gens,
            pc_gens,
            value,
            blinding,
            proof,
            commitment,
        };
        raw.verify(rng)?;
        Ok(raw)
    }

    /// A fresh proof of the same value.
    pub(crate) fn prove<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
    ) -> Result<(RangeProof, CompressedRistretto)> {
        RangeProof::prove_single_with_rng(
            &self.bp_gens,
            &self.pc_gens,
            &mut Transcript::new(RAW_LABEL),
            self.value,
            &self.blinding,
            Self::BITS,
            rng,
        )
        .context("proving the raw bulletproofs baseline")
    }

    /// Verifies the stored proof.
    pub(crate) fn verify<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<()> {
        self.proof
            .verify_single_with_rng(
                &self.bp_gens,
                &self.pc_gens,
                &mut Transcript::new(RAW_LABEL),
                &self.commitment,
                Self::BITS,
                rng,
            )
            .context("verifying the raw bulletproofs baseline")
    }

    /// Size of `RangeProof::to_bytes` in bytes.
    pub(crate) fn size(&self) -> usize {
        self.proof.to_bytes().len()
    }
}

/// A secp256k1-zkp Borromean range proof over [0, 2^63).
pub(crate) struct Borromean {
    value: u64,
    blinding: Tweak,
    generator: Generator,
    commitment: PedersenCommitment,
    nonce: SecretKey,
    proof: secp256k1_zkp::RangeProof,
}

impl Borromean {
    /// Commits to a random 63-bit value, proves its range, verifies.
    pub(crate) fn new<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self> {
        let mut tag = [0u8; 32];
        rng.fill_bytes(&mut tag);
        let generator = Generator::new_unblinded(SECP256K1, Tag::from(tag));
        let value = rng.next_u64() >> (64 - u32::from(BORROMEAN_BITS));
        let blinding = Tweak::new(rng);
        let commitment = PedersenCommitment::new(SECP256K1, value, blinding, generator);
        let nonce = SecretKey::new(rng);
        let proof = Self::sign(value, blinding, generator, commitment, nonce)?;
        let b = Borromean {
            value,
            blinding,
            generator,
            commitment,
            nonce,
            proof,
        };
        b.verify()?;
        Ok(b)
    }

    /// A fresh proof (secp256k1-zkp derives its nonces from `nonce`).
    pub(crate) fn prove(&self) -> Result<secp256k1_zkp::RangeProof> {
        Self::sign(
            self.value,
            self.blinding,
            self.generator,
            self.commitment,
            self.nonce,
        )
    }

    fn sign(
        value: u64,
        blinding: Tweak,
        generator: Generator,
        commitment: PedersenCommitment,
        nonce: SecretKey,
    ) -> Result<secp256k1_zkp::RangeProof> {
        // min_value 0, no message, no extra commitment, exponent 0 (exact
        // integers), min_bits 63: the proof covers exactly [0, 2^63).
        secp256k1_zkp::RangeProof::new(
            SECP256K1,
            0,
            commitment,
            value,
            blinding,
            &[],
            &[],
            nonce,
            0,
            BORROMEAN_BITS,
            generator,
        )
        .context("proving the Borromean baseline")
    }

    /// Verifies the stored proof and that it proves exactly [0, 2^63).
    pub(crate) fn verify(&self) -> Result<()> {
        let range = self
            .proof
            .verify(SECP256K1, self.commitment, &[], self.generator)
            .context("verifying the Borromean baseline")?;
        let end = 1u64 << BORROMEAN_BITS;
        ensure!(
            range.start == 0 && range.end == end,
            "the Borromean baseline proved the range {range:?}, not 0..{end}"
        );
        Ok(())
    }

    /// Size of the serialized proof in bytes.
    pub(crate) fn size(&self) -> usize {
        self.proof.serialize().len()
    }
}
