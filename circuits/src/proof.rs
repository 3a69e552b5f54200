//! Proofs: making, checking, batch-checking and encoding them.
//!
//! A [`Proof`] for a program holds one aggregated bulletproofs range proof
//! (every range entry of the program, see `lower`) and one Σ-proof per
//! remaining statement, all on a single merlin transcript bound to the
//! [`ProofContext`]. The transcript order is: binding (context, program,
//! publics, commitments), range proof, Σ first moves, Σ challenge.
//!
//! Decoding is canonical and total: any byte string either decodes to the
//! one proof that encodes to it, or yields a typed [`DecodeError`].

use bulletproofs::RangeProof;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::commitment::{Commitment, Opening};
use crate::context::{ProofContext, bound_transcript, program_bytes};
use crate::errors::{BatchError, DecodeError, ProveError, VerifyError};
use crate::lower::{Plan, SigmaStatement, eval_blinding, eval_value, vartime_derived_commitment};
use crate::msm::{Accumulator, bulletproof_gens, pedersen_gens};
use crate::program::{MAX_ITEMS, MAX_SET, Program};
use crate::range_batch::{RangeProofParts, vartime_add_range_check};
use crate::sigma::{self, Pt, SigmaProof};

/// Format version of the proof encoding.
pub const PROOF_FORMAT_VERSION: u8 = 1;
/// Most 32-byte words in a range proof: 9 + 2·log2(64·64).
const MAX_RANGE_WORDS: usize = 9 + 2 * 12;

/// A proof that committed values satisfy a constraint program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The aggregated range proof, if the program has range entries.
    range: Option<RangeSection>,
    /// One Σ-proof per Σ-statement of the lowered program, in order.
    sigmas: Vec<SigmaProof>,
}

/// A range proof's bytes and, parsed once, its elements (for batching).
#[derive(Clone, Debug)]
struct RangeSection {
    bytes: Vec<u8>,
    parts: RangeProofParts,
}

impl RangeSection {
    fn parse(bytes: Vec<u8>) -> Result<Self, crate::range_batch::RangeReplayError> {
        let parts = RangeProofParts::from_bytes(&bytes)?;
        Ok(RangeSection { bytes, parts })
    }
}

/// The parts are a function of the bytes.
impl PartialEq for RangeSection {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for RangeSection {}

/// Proves with the thread-local CSPRNG. See [`prove_with_rng`].
pub fn prove(
    program: &Program,
    witness: &[Opening],
    publics: &[u64],
    context: &ProofContext,
) -> Result<Proof, ProveError> {
    prove_with_rng(program, witness, publics, context, &mut rand::thread_rng())
}

/// Proves that `witness` (one opening per declared variable) and `publics`
/// satisfy `program`, bound to `context`.
///
/// The commitments the verifier needs are `witness[i].commit()`. Randomness
/// is hedged: nonces come from the transcript, the witness and `rng` together
/// (merlin's `TranscriptRng`), so a weak `rng` alone does not leak secrets.
pub fn prove_with_rng<R: RngCore + CryptoRng>(
    program: &Program,
    witness: &[Opening],
    publics: &[u64],
    context: &ProofContext,
    rng: &mut R,
) -> Result<Proof, ProveError> {
    if witness.len() != program.vars().len() {
        return Err(ProveError::WitnessCount {
            expected: program.vars().len(),
            found: witness.len(),
        });
    }
    if publics.len() != program.publics().len() {
        return Err(ProveError::PublicCount {
            expected: program.publics().len(),
            found: publics.len(),
        });
    }
    for (i, (decl, o)) in program.vars().iter().zip(witness).enumerate() {
        if let Some(bits) = decl.proven
            && !bits.contains(i128::from(o.value()))
        {
            return Err(ProveError::OutOfDeclaredRange {
                var: i as u16,
                bits: bits.bits(),
            });
        }
    }
    // Name the first unsatisfied constraint, in program order, before any work.
    let values: Vec<u64> = witness.iter().map(Opening::value).collect();
    program
        .check(&values, publics)
        .map_err(|i| ProveError::Unsatisfied {
            constraint: i,
            kind: program.constraints()[i].kind(),
        })?;
    let commitments: Vec<Commitment> = witness.iter().map(Opening::commit).collect();
    let plan = Plan::new(program);
    let mut transcript = bound_transcript(context, &program_bytes(program), publics, &commitments);

    let mut witness_rng = {
        let mut b = transcript.build_rng();
        for o in witness {
            b = b.rekey_with_witness_bytes(b"opening", o.blinding().as_bytes());
        }
        b.finalize(rng)
    };

    // Range entries: one aggregated proof at the plan's width.
    let range = match plan.width {
        None => None,
        Some(width) => {
            let n = usize::from(width.bits());
            let padded = plan.padded_entries();
            let mut values = Zeroizing::new(Vec::with_capacity(padded));
            let mut blindings = Zeroizing::new(Vec::with_capacity(padded));
            for (constraint, e) in &plan.ranges {
                let v = eval_value(e, witness, publics)
                    .filter(|v| width.contains(*v))
                    .ok_or(ProveError::Unsatisfied {
                        constraint: *constraint,
                        kind: program.constraints()[*constraint].kind(),
                    })?;
                // `contains` bounds v to [0, 2^64), so the cast is exact.
                values.push(v as u64);
                blindings.push(eval_blinding(e, witness));
            }
            values.resize(padded, 0);
            blindings.resize(padded, Scalar::ZERO);
            let (proof, _) = RangeProof::prove_multiple_with_rng(
                bulletproof_gens(),
                pedersen_gens(),
                &mut transcript,
                &values,
                &blindings,
                n,
                &mut witness_rng,
            )
            .map_err(|e| ProveError::RangeProof(e.to_string()))?;
            Some(
                RangeSection::parse(proof.to_bytes())
                    .map_err(|e| ProveError::RangeProof(e.to_string()))?,
            )
        }
    };

    // Σ-statements: first moves, one shared challenge, responses.
    let mut firsts = Vec::with_capacity(plan.sigmas.len());
    for (constraint, st) in &plan.sigmas {
        let first =
            sigma::commit(st, witness, &commitments, publics, &mut witness_rng).map_err(|()| {
                ProveError::Unsatisfied {
                    constraint: *constraint,
                    kind: program.constraints()[*constraint].kind(),
                }
            })?;
        firsts.push(first);
    }
    let c = sigma::challenge(
        &mut transcript,
        firsts
            .iter()
            .flat_map(|(a, _)| a.iter().map(|p| &p.compressed)),
    );
    let sigmas = firsts
        .into_iter()
        .map(|(a, secret)| sigma::respond(a, &secret, c))
        .collect();
    Ok(Proof { range, sigmas })
}

/// Verifies with the thread-local CSPRNG. See [`verify_with_rng`].
pub fn verify(
    program: &Program,
    commitments: &[Commitment],
    publics: &[u64],
    context: &ProofContext,
    proof: &Proof,
) -> Result<(), VerifyError> {
    verify_with_rng(
        program,
        commitments,
        publics,
        context,
        proof,
        &mut rand::thread_rng(),
    )
}

/// Checks that `proof` shows the values committed in `commitments` satisfy
/// `program` with `publics`, for exactly `context`.
///
/// The range proof is checked by bulletproofs' own verifier; the Σ-proofs by
/// one multiscalar multiplication under random weights drawn from `rng`.
pub fn verify_with_rng<R: RngCore + CryptoRng>(
    program: &Program,
    commitments: &[Commitment],
    publics: &[u64],
    context: &ProofContext,
    proof: &Proof,
    rng: &mut R,
) -> Result<(), VerifyError> {
    let plan = check_shape(program, commitments, publics, proof)?;
    let mut transcript = bound_transcript(context, &program_bytes(program), publics, commitments);
    if let (Some(width), Some(section)) = (plan.width, &proof.range) {
        let range =
            RangeProof::from_bytes(&section.bytes).map_err(|_| VerifyError::RangeProofRejected)?;
        let derived = range_commitments(&plan, commitments, publics);
        let compressed: Vec<CompressedRistretto> = derived.iter().map(|(c, _)| *c).collect();
        range
            .verify_multiple_with_rng(
                bulletproof_gens(),
                pedersen_gens(),
                &mut transcript,
                &compressed,
                usize::from(width.bits()),
                rng,
            )
            .map_err(|_| VerifyError::RangeProofRejected)?;
    }
    if plan.sigmas.is_empty() {
        // Nothing to check, but the shape check above already ensured the
        // proof has no Σ-proofs either.
        return Ok(());
    }
    let mut acc = Accumulator::new();
    add_sigma_checks(
        &plan,
        proof,
        commitments,
        publics,
        &mut transcript,
        rng,
        &mut acc,
    )?;
    if acc.vartime_is_identity() {
        Ok(())
    } else {
        Err(VerifyError::SigmaRejected)
    }
}

/// One proof to check in a batch, with everything its verification needs.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    /// The program.
    pub program: &'a Program,
    /// One commitment per declared variable.
    pub commitments: &'a [Commitment],
    /// The public inputs.
    pub publics: &'a [u64],
    /// The update the proof is bound to.
    pub context: &'a ProofContext,
    /// The proof.
    pub proof: &'a Proof,
}

/// Verifies many proofs at once. See [`batch_verify_with_rng`].
pub fn batch_verify(items: &[BatchItem<'_>]) -> Result<(), BatchError> {
    batch_verify_with_rng(items, &mut rand::thread_rng())
}

/// Verifies many proofs with one multiscalar multiplication: every range
/// proof's and every Σ-proof's equation, each under its own random weight.
///
/// Accepts exactly when each proof would pass [`verify`] (up to the 1/ℓ
/// chance that random weights cancel a false equation). On failure it checks
/// the proofs one by one and names the first bad one.
pub fn batch_verify_with_rng<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    rng: &mut R,
) -> Result<(), BatchError> {
    let mut acc = Accumulator::new();
    for (index, item) in items.iter().enumerate() {
        add_item(item, rng, &mut acc).map_err(|error| BatchError { index, error })?;
    }
    if acc.vartime_is_identity() {
        return Ok(());
    }
    for (index, item) in items.iter().enumerate() {
        verify_with_rng(
            item.program,
            item.commitments,
            item.publics,
            item.context,
            item.proof,
            rng,
        )
        .map_err(|error| BatchError { index, error })?;
    }
    // Every proof verifies alone but not together: the batch replay disagrees
    // with bulletproofs' verifier, which always represents a bug.
    debug_assert!(false, "batch check failed while each proof verifies alone");
    Ok(())
}

fn add_item<R: RngCore + CryptoRng>(
    item: &BatchItem<'_>,
    rng: &mut R,
    acc: &mut Accumulator,
) -> Result<(), VerifyError> {
    let plan = check_shape(item.program, item.commitments, item.publics, item.proof)?;
    let mut transcript = bound_transcript(
        item.context,
        &program_bytes(item.program),
        item.publics,
        item.commitments,
    );
    if let (Some(width), Some(section)) = (plan.width, &item.proof.range) {
        let derived = range_commitments(&plan, item.commitments, item.publics);
        vartime_add_range_check(
            &section.parts,
            &mut transcript,
            &derived,
            usize::from(width.bits()),
            Scalar::random(rng),
            rng,
            acc,
        )
        .map_err(|_| VerifyError::RangeProofRejected)?;
    }
    add_sigma_checks(
        &plan,
        item.proof,
        item.commitments,
        item.publics,
        &mut transcript,
        rng,
        acc,
    )
}

/// Checks counts and that the proof has the structure the program produces.
fn check_shape(
    program: &Program,
    commitments: &[Commitment],
    publics: &[u64],
    proof: &Proof,
) -> Result<Plan, VerifyError> {
    if commitments.len() != program.vars().len() {
        return Err(VerifyError::CommitmentCount {
            expected: program.vars().len(),
            found: commitments.len(),
        });
    }
    if publics.len() != program.publics().len() {
        return Err(VerifyError::PublicCount {
            expected: program.publics().len(),
            found: publics.len(),
        });
    }
    let plan = Plan::new(program);
    match (plan.width, &proof.range) {
        (None, None) => {}
        (Some(width), Some(section)) => {
            let bits = usize::from(width.bits()) * plan.padded_entries();
            let words = 9 + 2 * bits.trailing_zeros() as usize;
            if section.bytes.len() != words * 32 {
                return Err(VerifyError::ShapeMismatch {
                    reason: "range proof size differs from the program's range entries",
                });
            }
        }
        (None, Some(_)) => {
            return Err(VerifyError::ShapeMismatch {
                reason: "range proof present, but the program has no range entries",
            });
        }
        (Some(_), None) => {
            return Err(VerifyError::ShapeMismatch {
                reason: "range proof missing",
            });
        }
    }
    if plan.sigmas.len() != proof.sigmas.len() {
        return Err(VerifyError::ShapeMismatch {
            reason: "number of Σ-proofs differs from the program's",
        });
    }
    if plan
        .sigmas
        .iter()
        .zip(&proof.sigmas)
        .any(|((_, st), p)| !p.fits(st))
    {
        return Err(VerifyError::ShapeMismatch {
            reason: "a Σ-proof has the wrong kind or size for its statement",
        });
    }
    Ok(plan)
}

/// The commitments the range proof is about: derived ones, then identity padding.
fn range_commitments(
    plan: &Plan,
    commitments: &[Commitment],
    publics: &[u64],
) -> Vec<(
    CompressedRistretto,
    curve25519_dalek::ristretto::RistrettoPoint,
)> {
    use curve25519_dalek::ristretto::RistrettoPoint;
    let mut out: Vec<_> = plan
        .ranges
        .iter()
        .map(|(_, e)| match e.terms.as_slice() {
            // A plain `x ∈ [0, 2^n)` entry: the derived commitment is x's own,
            // already decompressed and compressed; skip the group arithmetic.
            [(1, crate::program::Term::Var(v))] if e.constant == 0 => {
                let c = &commitments[usize::from(v.0)];
                (*c.compressed(), *c.point())
            }
            _ => {
                let p = vartime_derived_commitment(e, commitments, publics);
                (p.compress(), p)
            }
        })
        .collect();
    out.resize(
        plan.padded_entries(),
        (CompressedRistretto::identity(), RistrettoPoint::identity()),
    );
    out
}

fn add_sigma_checks<R: RngCore + CryptoRng>(
    plan: &Plan,
    proof: &Proof,
    commitments: &[Commitment],
    publics: &[u64],
    transcript: &mut merlin::Transcript,
    rng: &mut R,
    acc: &mut Accumulator,
) -> Result<(), VerifyError> {
    let c = sigma::challenge(
        transcript,
        proof.sigmas.iter().flat_map(SigmaProof::first_moves),
    );
    for ((_, st), p) in plan.sigmas.iter().zip(&proof.sigmas) {
        if !sigma::vartime_accumulate(st, p, commitments, publics, c, rng, acc) {
            return Err(VerifyError::ShapeMismatch {
                reason: "a Σ-proof has the wrong kind or size for its statement",
            });
        }
    }
    Ok(())
}

const SIGMA_ZERO: u8 = 0;
const SIGMA_PRODUCT: u8 = 1;
const SIGMA_ONE_OF: u8 = 2;

impl Proof {
    /// The canonical encoding:
    /// `version u8 · has_range u8 · [words u16 · range proof] · count u16 · Σ-proofs`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(PROOF_FORMAT_VERSION);
        match &self.range {
            None => w.u8(0),
            Some(section) => {
                w.u8(1);
                w.u16((section.bytes.len() / 32) as u16);
                w.raw(&section.bytes);
            }
        }
        w.u16(self.sigmas.len() as u16);
        for s in &self.sigmas {
            match s {
                SigmaProof::Zero { a, s } => {
                    w.u8(SIGMA_ZERO);
                    w.point(&a.compressed);
                    w.scalar(s);
                }
                SigmaProof::Product { a1, a2, s1, s2, s3 } => {
                    w.u8(SIGMA_PRODUCT);
                    w.point(&a1.compressed);
                    w.point(&a2.compressed);
                    for x in [s1, s2, s3] {
                        w.scalar(x);
                    }
                }
                SigmaProof::OneOf { a, c, s } => {
                    w.u8(SIGMA_ONE_OF);
                    w.u16(a.len() as u16);
                    a.iter().for_each(|p| w.point(&p.compressed));
                    c.iter().for_each(|x| w.scalar(x));
                    s.iter().for_each(|x| w.scalar(x));
                }
            }
        }
        w.bytes
    }

    /// Decodes a proof. Rejects unknown versions and tags, truncation,
    /// trailing bytes, non-canonical scalars and points that do not
    /// decompress (in the range proof too). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("proof version")?;
        if version != PROOF_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "proof",
                version,
                supported: PROOF_FORMAT_VERSION,
            });
        }
        let range = match r.u8("range flag")? {
            0 => None,
            1 => {
                let words = usize::from(r.u16("range proof length")?);
                if !(9..=MAX_RANGE_WORDS).contains(&words) || words % 2 == 0 {
                    return Err(DecodeError::InvalidValue {
                        what: "range proof length",
                        value: words as u64,
                    });
                }
                let raw = r.take(words * 32, "range proof")?;
                Some(RangeSection::parse(raw.to_vec()).map_err(range_decode_error)?)
            }
            flag => {
                return Err(DecodeError::InvalidValue {
                    what: "range flag",
                    value: u64::from(flag),
                });
            }
        };
        let count = r.count("Σ-proofs", MAX_ITEMS)?;
        let mut sigmas = Vec::with_capacity(count);
        let pt = |r: &mut Reader<'_>| {
            r.point("Σ first move").map(|(c, p)| Pt {
                compressed: c,
                point: p,
            })
        };
        for _ in 0..count {
            sigmas.push(match r.u8("Σ-proof tag")? {
                SIGMA_ZERO => SigmaProof::Zero {
                    a: pt(&mut r)?,
                    s: r.scalar("Σ response")?,
                },
                SIGMA_PRODUCT => SigmaProof::Product {
                    a1: pt(&mut r)?,
                    a2: pt(&mut r)?,
                    s1: r.scalar("Σ response")?,
                    s2: r.scalar("Σ response")?,
                    s3: r.scalar("Σ response")?,
                },
                SIGMA_ONE_OF => {
                    let n = r.count("one-of branches", MAX_SET)?;
                    if n == 0 {
                        return Err(DecodeError::InvalidValue {
                            what: "one-of branches",
                            value: 0,
                        });
                    }
                    // Bound the allocation by what the input can still hold.
                    if r.remaining() < n * 96 - 32 {
                        return Err(DecodeError::UnexpectedEnd {
                            what: "one-of proof",
                        });
                    }
                    let a = (0..n).map(|_| pt(&mut r)).collect::<Result<Vec<_>, _>>()?;
                    let c = (0..n - 1)
                        .map(|_| r.scalar("Σ challenge"))
                        .collect::<Result<Vec<_>, _>>()?;
                    let s = (0..n)
                        .map(|_| r.scalar("Σ response"))
                        .collect::<Result<Vec<_>, _>>()?;
                    SigmaProof::OneOf { a, c, s }
                }
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "Σ-proof",
                        tag,
                    });
                }
            });
        }
        r.finish("proof")?;
        Ok(Proof { range, sigmas })
    }

    /// Size of the encoding in bytes.
    pub fn size(&self) -> usize {
        let range = self.range.as_ref().map_or(0, |r| 2 + r.bytes.len());
        let sigmas: usize = self
            .sigmas
            .iter()
            .map(|s| {
                1 + match s {
                    SigmaProof::Zero { .. } => 64,
                    SigmaProof::Product { .. } => 160,
                    SigmaProof::OneOf { a, .. } => 2 + a.len() * 96 - 32,
                }
            })
            .sum();
        2 + range + 2 + sigmas
    }

    /// Size of the aggregated range proof alone, in bytes (0 if none).
    pub fn range_proof_size(&self) -> usize {
        self.range.as_ref().map_or(0, |r| r.bytes.len())
    }
}

/// The exact size in bytes of [`Proof::encode`] for any proof of `program`,
/// known before proving: the proof's shape depends only on the program.
///
/// The layout (see [`Proof::encode`]): version and range flag (2 bytes);
/// with range entries, a `u16` word count and the aggregated range proof of
/// `9 + 2·log2(n·m)` 32-byte words, `n` the program's range width in bits and
/// `m` its range entries (after lowering) rounded up to a power of two; a
/// `u16` Σ-proof count; then per Σ-proof a tag byte and 64 bytes for a zero
/// proof, 160 for a product, and `2 + 96·k − 32` for a one-of over `k`
/// values.
pub fn estimated_proof_size(program: &Program) -> usize {
    let plan = Plan::new(program);
    let range = match plan.width {
        None => 0,
        Some(width) => {
            let bits = usize::from(width.bits()) * plan.padded_entries();
            // `bits` is a power of two: both factors are.
            2 + 32 * (9 + 2 * bits.trailing_zeros() as usize)
        }
    };
    let sigmas: usize = plan
        .sigmas
        .iter()
        .map(|(_, st)| {
            1 + match st {
                SigmaStatement::Zero(_) => 64,
                SigmaStatement::Product { .. } => 160,
                SigmaStatement::OneOf { set, .. } => 2 + set.len() * 96 - 32,
            }
        })
        .sum();
    2 + range + 2 + sigmas
}

/// Maps a range-proof parse failure to the decode error that names it.
fn range_decode_error(e: crate::range_batch::RangeReplayError) -> DecodeError {
    use crate::range_batch::RangeReplayError as E;
    match e {
        E::NonCanonicalScalar => DecodeError::NonCanonicalScalar {
            what: "range proof scalar",
        },
        E::InvalidPoint => DecodeError::InvalidPoint {
            what: "range proof point",
        },
        E::Format { reason } => DecodeError::MalformedRangeProof { reason },
        _ => DecodeError::MalformedRangeProof {
            reason: "identity or otherwise unusable element",
        },
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;
    use crate::program::RangeBits;
    use crate::samples::{self, Sample};

    #[test]
    fn the_estimate_is_the_encoded_size_for_every_sample() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut all: Vec<Sample> = vec![
            samples::comparison(&mut rng),
            samples::product(&mut rng),
            samples::transition(&mut rng),
            samples::every_kind(&mut rng),
        ];
        // Every width, and entry counts on both sides of a power of two.
        for bits in [
            RangeBits::B8,
            RangeBits::B16,
            RangeBits::B32,
            RangeBits::B64,
        ] {
            for m in [1, 2, 3, 4, 5] {
                all.push(samples::ranges(m, bits, &mut rng));
            }
        }
        let context = ProofContext {
            contract_id: [1; 32],
            channel_id: [2; 32],
            version: 3,
            function: "estimate".into(),
        };
        for s in &all {
            let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &context, &mut rng)
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let encoded = proof.encode().len();
            assert_eq!(estimated_proof_size(&s.program), encoded, "{}", s.name);
            assert_eq!(proof.size(), encoded, "{}", s.name);
        }
    }
}
