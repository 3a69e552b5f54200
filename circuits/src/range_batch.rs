//! Batch verification of bulletproofs range proofs by replaying their transcripts.
//!
//! # What this is
//!
//! `bulletproofs` 5.0.0 verifies an aggregated range proof with
//! `RangeProof::verify_multiple`, which ends in one multiscalar multiplication
//! (the "mega check") per proof. It has no batch API. This module re-does what
//! `RangeProof::verify_multiple_with_rng` does (`src/range_proof/mod.rs`),
//! including `InnerProductProof::verification_scalars`
//! (`src/inner_product_proof.rs`) and the transcript labels of
//! `src/transcript.rs`, but instead of evaluating the mega check it adds
//! `weight · (mega-check terms)` to an [`Accumulator`]. Many proofs then cost
//! one large multiscalar multiplication, in which the terms on the fixed
//! generators (`B`, `B_blinding`, **G**, **H**) are merged into one scalar per
//! generator.
//!
//! # Invariants
//!
//! * **Byte-for-byte replay.** The merlin transcript sees exactly the labels and
//!   messages that `bulletproofs` 5.0.0's verifier appends, in the same order,
//!   and after a successful [`vartime_add_range_check`] it is in the same state
//!   as after `verify_multiple` (callers keep drawing challenges from it). The
//!   tests pin this against the real crate; re-run them on any upgrade.
//! * **Verifier randomness only.** The batch `weight` and the per-proof `c`
//!   (which `bulletproofs` itself draws to merge its two equations) come from
//!   the verifier's RNG, never from proof data.
//! * **Never panics on proof bytes.** Every malformed input yields a
//!   [`RangeReplayError`]. On an error the transcript is left in an unspecified
//!   state and the caller must reject the whole statement.
//! * **At least as strict as `bulletproofs`.** Points that do not decompress are
//!   rejected while parsing (bulletproofs rejects them later, in the mega
//!   check); a zero challenge `y` or `u_i` is rejected as
//!   [`RangeReplayError::NotInvertible`] (bulletproofs would invert it to zero,
//!   or panic in a debug build); `m` must be a power of two no larger than
//!   [`MAX_RANGE_ENTRIES`]. Honest proofs hit none of these except with
//!   negligible probability.
//!
//! Only public data is processed here, so variable-time arithmetic is fine.
//!
//! The **H** generators of bulletproofs are not exported, so
//! [`h_generators`] re-derives them with a replica of its private
//! `GeneratorsChain`; the tests check that the same replica reproduces the
//! exported **G** generators.

use std::sync::OnceLock;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use sha3::Shake256;
use sha3::digest::{ExtendableOutput, Update, XofReader};

use crate::msm::{Accumulator, GENS_CAPACITY, MAX_RANGE_ENTRIES};

/// Size in bytes of one serialized element (compressed point or scalar).
const WORD: usize = 32;
/// Most `L`/`R` words: two per round, `log2(64 · MAX_RANGE_ENTRIES) = 12` rounds.
const MAX_LR_WORDS: usize = 2 * 12;

/// Why a range proof could not be parsed or replayed.
///
/// Every variant means "reject": none of them can occur for an honestly
/// generated proof checked against the right commitments and parameters
/// (except [`RangeReplayError::NotInvertible`], with negligible probability).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RangeReplayError {
    /// The bytes do not have the layout of `RangeProof::to_bytes`: length not a
    /// multiple of 32, fewer than 9 words, an odd number of `L`/`R` words, or
    /// more than 24 of them.
    #[error("malformed range proof: {reason}")]
    Format {
        /// Which layout rule was broken.
        reason: &'static str,
    },
    /// One of the scalars `t_x`, `t_x_blinding`, `e_blinding`, `a`, `b` is not
    /// the canonical encoding of an integer below the group order.
    #[error("range proof contains a non-canonical scalar")]
    NonCanonicalScalar,
    /// One of the points `A`, `S`, `T_1`, `T_2`, `L_i`, `R_i` is not a valid
    /// compressed Ristretto point.
    #[error("range proof contains an invalid compressed point")]
    InvalidPoint,
    /// The bit size `n` passed to the verifier is not 8, 16, 32 or 64.
    #[error("invalid range bit size {n}: must be 8, 16, 32 or 64")]
    BitSize {
        /// The rejected bit size.
        n: usize,
    },
    /// The number of commitments `m` is zero, not a power of two, or above
    /// [`MAX_RANGE_ENTRIES`].
    #[error("invalid number of range commitments {m}: must be a power of two in 1..=64")]
    PartyCount {
        /// The rejected number of commitments.
        m: usize,
    },
    /// The proof has `found` inner-product rounds where `log2(n·m) = expected`
    /// are needed (the proof was made for another `n` or `m`).
    #[error("range proof has {found} inner-product rounds, expected {expected}")]
    RoundCount {
        /// `log2(n · m)`.
        expected: usize,
        /// The number of `L`/`R` pairs in the proof.
        found: usize,
    },
    /// A proof point that bulletproofs requires to be non-identity
    /// (`A`, `S`, `T_1`, `T_2`, `L`, `R`) is the identity.
    #[error("range proof point {label} is the identity")]
    IdentityPoint {
        /// The transcript label of the offending point.
        label: &'static str,
    },
    /// A transcript challenge that must be inverted (`y` or an inner-product
    /// challenge `u_i`) is zero.
    #[error("range proof challenge is not invertible")]
    NotInvertible,
}

/// The bulletproofs **H** generators of party `party`: the first
/// [`GENS_CAPACITY`] points of the chain labelled `[b'H', party as u32 LE]`.
///
/// All [`MAX_RANGE_ENTRIES`] parties are derived on first use and cached. For
/// `party >= MAX_RANGE_ENTRIES` the slice is empty.
pub(crate) fn h_generators(party: usize) -> &'static [RistrettoPoint] {
    static H: OnceLock<Vec<Vec<RistrettoPoint>>> = OnceLock::new();
    H.get_or_init(|| {
        (0..MAX_RANGE_ENTRIES)
            .map(|j| generators_chain(b'H', j, GENS_CAPACITY))
            .collect()
    })
    .get(party)
    .map_or(&[], Vec::as_slice)
}

/// Replica of bulletproofs' private `GeneratorsChain` (`src/generators.rs`):
/// SHAKE256 absorbs `b"GeneratorsChain"` then the label `[kind, party as u32 LE]`,
/// and every 64 squeezed bytes become one point via `from_uniform_bytes`.
fn generators_chain(kind: u8, party: usize, count: usize) -> Vec<RistrettoPoint> {
    let mut label = [kind, 0, 0, 0, 0];
    // Party indices are below MAX_RANGE_ENTRIES, so the u32 cast is lossless
    // (bulletproofs writes `i as u32` the same way).
    label[1..].copy_from_slice(&(party as u32).to_le_bytes());
    let mut shake = Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(&label);
    let mut reader = shake.finalize_xof();
    (0..count)
        .map(|_| {
            let mut uniform_bytes = [0u8; 64];
            reader.read(&mut uniform_bytes);
            RistrettoPoint::from_uniform_bytes(&uniform_bytes)
        })
        .collect()
}

/// A proof point in both forms: the bytes feed the transcript, the point the
/// multiscalar multiplication. Built only by decompressing `compressed`.
#[derive(Clone, Copy, Debug)]
struct ProofPoint {
    /// The 32 bytes as they appear in the proof.
    compressed: CompressedRistretto,
    /// `compressed`, decompressed.
    point: RistrettoPoint,
}

impl ProofPoint {
    /// Decompresses one proof word.
    fn parse(word: &[u8; WORD]) -> Result<Self, RangeReplayError> {
        let compressed = CompressedRistretto(*word);
        let point = compressed
            .decompress()
            .ok_or(RangeReplayError::InvalidPoint)?;
        Ok(ProofPoint { compressed, point })
    }
}

/// Parses one proof word as a canonical scalar.
fn parse_scalar(word: &[u8; WORD]) -> Result<Scalar, RangeReplayError> {
    Option::from(Scalar::from_canonical_bytes(*word)).ok_or(RangeReplayError::NonCanonicalScalar)
}

/// A parsed `bulletproofs::RangeProof`: every field of its `to_bytes`
/// encoding, with each point decompressed exactly once.
///
/// Fields are private so that the compressed and decompressed forms cannot
/// drift apart and `L_vec.len() == R_vec.len()` always holds; the only
/// constructor is [`RangeProofParts::from_bytes`].
#[derive(Clone, Debug)]
#[allow(
    non_snake_case,
    reason = "names follow the bulletproofs crate and paper"
)]
pub(crate) struct RangeProofParts {
    /// Commitment `A` to the bits of the values.
    A: ProofPoint,
    /// Commitment `S` to the blinding vectors.
    S: ProofPoint,
    /// Commitment `T_1` to the degree-1 coefficient of `t(X)`.
    T_1: ProofPoint,
    /// Commitment `T_2` to the degree-2 coefficient of `t(X)`.
    T_2: ProofPoint,
    /// Evaluation `t(x)`.
    t_x: Scalar,
    /// Blinding factor of `t(x)`.
    t_x_blinding: Scalar,
    /// Blinding factor of the synthetic commitment to `l(x)`, `r(x)`.
    e_blinding: Scalar,
    /// Inner-product proof: left points `L_0 ..`, in proof order.
    L_vec: Vec<ProofPoint>,
    /// Inner-product proof: right points `R_0 ..`, same length as `L_vec`.
    R_vec: Vec<ProofPoint>,
    /// Inner-product proof: final scalar `a`.
    a: Scalar,
    /// Inner-product proof: final scalar `b`.
    b: Scalar,
}

impl RangeProofParts {
    /// Parses the output of `RangeProof::to_bytes`: seven words
    /// `A, S, T_1, T_2, t_x, t_x_blinding, e_blinding`, then
    /// `L_0, R_0, …, L_{k-1}, R_{k-1}`, then `a, b`.
    ///
    /// Rejects a length that is not a multiple of 32, fewer than 9 words, an
    /// odd number or more than 24 `L`/`R` words, non-canonical scalars and
    /// points that do not decompress. Identity points are accepted here and
    /// rejected by the replay, as in bulletproofs. Never panics.
    #[allow(
        non_snake_case,
        reason = "names follow the bulletproofs crate and paper"
    )]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, RangeReplayError> {
        use RangeReplayError::Format;

        let (words, remainder) = bytes.as_chunks::<WORD>();
        if !remainder.is_empty() {
            return Err(Format {
                reason: "length is not a multiple of 32 bytes",
            });
        }
        let [A, S, T_1, T_2, t_x, t_x_blinding, e_blinding, ipp @ ..] = words else {
            return Err(Format {
                reason: "fewer than 9 words",
            });
        };
        let [lr @ .., a, b] = ipp else {
            return Err(Format {
                reason: "fewer than 9 words",
            });
        };
        let (lr_pairs, odd_word) = lr.as_chunks::<2>();
        if !odd_word.is_empty() {
            return Err(Format {
                reason: "odd number of L/R words",
            });
        }
        if lr.len() > MAX_LR_WORDS {
            return Err(Format {
                reason: "more than 24 L/R words",
            });
        }

        let mut L_vec = Vec::with_capacity(lr_pairs.len());
        let mut R_vec = Vec::with_capacity(lr_pairs.len());
        for [L, R] in lr_pairs {
            L_vec.push(ProofPoint::parse(L)?);
            R_vec.push(ProofPoint::parse(R)?);
        }

        Ok(RangeProofParts {
            A: ProofPoint::parse(A)?,
            S: ProofPoint::parse(S)?,
            T_1: ProofPoint::parse(T_1)?,
            T_2: ProofPoint::parse(T_2)?,
            t_x: parse_scalar(t_x)?,
            t_x_blinding: parse_scalar(t_x_blinding)?,
            e_blinding: parse_scalar(e_blinding)?,
            L_vec,
            R_vec,
            a: parse_scalar(a)?,
            b: parse_scalar(b)?,
        })
    }
}

/// Replays the verifier of an aggregated range proof and adds its check,
/// scaled by `weight`, to `acc`.
///
/// Does what `RangeProof::verify_multiple_with_rng(bp_gens, pc_gens,
/// transcript, V, n, rng)` does in bulletproofs 5.0.0, except the final
/// multiscalar check: `weight · (mega-check terms)` is added to `acc`, where
/// the mega check merges the proof's two equations with a `c` drawn from `rng`.
///
/// * `commitments` are the value commitments `V_j` as `(bytes, point)` with
///   `point == bytes.decompress()` (the caller decompresses; the bytes enter
///   the transcript, the point the sum). The identity (value 0, blinding 0) is
///   allowed, as in bulletproofs; `m = commitments.len()` must be a power of
///   two in `1..=64`.
/// * `n` is the bit size: 8, 16, 32 or 64.
/// * `weight` must be uniformly random and unknown to the prover (a fresh
///   [`Scalar::random`] per proof); it is what keeps proofs in one batch from
///   cancelling each other.
///
/// After `Ok`, `transcript` is in the state bulletproofs' verifier leaves it
/// in. The proof is only verified once `acc.vartime_is_identity()` holds.
///
/// # Errors
///
/// [`RangeReplayError::BitSize`], [`RangeReplayError::PartyCount`] or
/// [`RangeReplayError::RoundCount`] for parameters that do not fit the proof,
/// [`RangeReplayError::IdentityPoint`] and [`RangeReplayError::NotInvertible`]
/// as described on the variants. On error, `acc` may hold part of this proof's
/// terms and `transcript` is in an unspecified state: reject the whole batch.
#[allow(
    non_snake_case,
    reason = "names follow the bulletproofs crate and paper"
)]
pub(crate) fn vartime_add_range_check(
    parts: &RangeProofParts,
    transcript: &mut Transcript,
    commitments: &[(CompressedRistretto, RistrettoPoint)],
    n: usize,
    weight: Scalar,
    rng: &mut (impl RngCore + CryptoRng),
    acc: &mut Accumulator,
) -> Result<(), RangeReplayError> {
    // Step 0) Parameters. bulletproofs checks n and the generator capacity
    // (64 bits, MAX_RANGE_ENTRIES parties) up front and `n·m == 2^|L_vec|` in
    // `verification_scalars`; we check all of it before touching the transcript.
    if !matches!(n, 8 | 16 | 32 | 64) {
        return Err(RangeReplayError::BitSize { n });
    }
    let m = commitments.len();
    if m == 0 || m > MAX_RANGE_ENTRIES || !m.is_power_of_two() {
        return Err(RangeReplayError::PartyCount { m });
    }
    let nm = n * m;
    let lg_nm = nm.trailing_zeros() as usize;
    if parts.L_vec.len() != lg_nm || parts.R_vec.len() != lg_nm {
        return Err(RangeReplayError::RoundCount {
            expected: lg_nm,
            found: parts.L_vec.len(),
        });
    }

    // Step 1) `rangeproof_domain_sep(n, m)`.
    transcript.append_message(b"dom-sep", b"rangeproof v1");
    transcript.append_u64(b"n", n as u64);
    transcript.append_u64(b"m", m as u64);

    // Step 2) The value commitments, identity allowed.
    for (V, _) in commitments {
        transcript.append_message(b"V", V.as_bytes());
    }

    // Step 3) A and S (non-identity), then the challenges y and z.
    validate_and_append_point(transcript, "A", &parts.A)?;
    validate_and_append_point(transcript, "S", &parts.S)?;
    let y = challenge_scalar(transcript, b"y");
    let z = challenge_scalar(transcript, b"z");
    let zz = z * z;

    // Step 4) T_1 and T_2 (non-identity), then the challenge x.
    validate_and_append_point(transcript, "T_1", &parts.T_1)?;
    validate_and_append_point(transcript, "T_2", &parts.T_2)?;
    let x = challenge_scalar(transcript, b"x");

    // Step 5) t_x, t_x_blinding, e_blinding, then the challenge w.
    transcript.append_message(b"t_x", parts.t_x.as_bytes());
    transcript.append_message(b"t_x_blinding", parts.t_x_blinding.as_bytes());
    transcript.append_message(b"e_blinding", parts.e_blinding.as_bytes());
    let w = challenge_scalar(transcript, b"w");

    // Step 6) The verifier's own challenge c merging the two equations.
    let c = Scalar::random(rng);

    // Step 7) `InnerProductProof::verification_scalars(n·m)`: the last
    // transcript operations of the verifier.
    let IppScalars { u_sq, u_inv_sq, s } = ipp_verification_scalars(parts, nm, transcript)?;

    // Step 8) y^-1 (bulletproofs calls `y.invert()`, which maps 0 to 0).
    if y == Scalar::ZERO {
        return Err(RangeReplayError::NotInvertible);
    }
    let y_inv = y.invert();
    let a = parts.a;
    let b = parts.b;
    let wc = weight * c;

    // Step 9) The mega check, term by term, each scaled by `weight`:
    //   1·A + x·S + c·x·T_1 + c·x²·T_2 + Σ u_i²·L_i + Σ u_i⁻²·R_i
    //   + (-e_blinding - c·t_x_blinding)·B_blinding
    //   + (w·(t_x - a·b) + c·(δ(y,z) - t_x))·B
    //   + Σ g_i·G_i + Σ h_i·H_i + Σ_j c·z²·z^j·V_j  =  0.
    acc.push(weight, parts.A.point);
    acc.push(weight * x, parts.S.point);
    acc.push(wc * x, parts.T_1.point);
    acc.push(wc * x * x, parts.T_2.point);
    for (u_sq_i, L) in u_sq.iter().zip(&parts.L_vec) {
        acc.push(weight * u_sq_i, L.point);
    }
    for (u_inv_sq_i, R) in u_inv_sq.iter().zip(&parts.R_vec) {
        acc.push(weight * u_inv_sq_i, R.point);
    }
    acc.b_blinding += weight * (-parts.e_blinding - c * parts.t_x_blinding);
    acc.b += weight * (w * (parts.t_x - a * b) + c * (delta(n, m, &y, &z) - parts.t_x));

    // Step 10) The G and H terms. The aggregated generators run over party 0
    // bits 0..n, then party 1, ...; entry i = party·n + bit gets
    //   g_i = -z - a·s_i
    //   h_i = z + y^-i·(z²·z^party·2^bit - b·s_(nm-1-i)),
    // here computed with `weight` folded into the running factors.
    let weighted_z = weight * z;
    let weighted_a = weight * a;
    let mut weighted_exp_y_inv = weight; // weight·y^-i
    let mut zz_exp_z = zz; // z²·z^party
    let mut s_pairs = s.iter().zip(s.iter().rev()); // (s_i, s_(nm-1-i))
    for party in 0..m {
        let mut zz_exp_z_exp_2 = zz_exp_z; // z²·z^party·2^bit
        for (bit, (s_i, s_inv_i)) in (0..n).zip(&mut s_pairs) {
            acc.add_g(party, bit, -weighted_z - weighted_a * s_i);
            acc.add_h(
                party,
                bit,
                weighted_z + weighted_exp_y_inv * (zz_exp_z_exp_2 - b * s_inv_i),
            );
            weighted_exp_y_inv *= y_inv;
            zz_exp_z_exp_2 += zz_exp_z_exp_2;
        }
        zz_exp_z *= z;
    }

    // Step 11) The value commitments: c·z²·z^j·V_j.
    let wc_zz = wc * zz;
    for (exp_z, (_, V)) in exp_iter(z).zip(commitments) {
        acc.push(wc_zz * exp_z, *V);
    }
    Ok(())
}

/// The scalars `InnerProductProof::verification_scalars` returns.
struct IppScalars {
    /// `u_i²`, in proof order.
    u_sq: Vec<Scalar>,
    /// `u_i⁻²`, in proof order.
    u_inv_sq: Vec<Scalar>,
    /// `s_0 .. s_(nm-1)`, the folded generator coefficients.
    s: Vec<Scalar>,
}

/// Replica of `InnerProductProof::verification_scalars(nm, transcript)`.
///
/// Requires `parts.L_vec.len() == parts.R_vec.len() == log2(nm)` (checked by
/// the caller).
#[allow(
    non_snake_case,
    reason = "names follow the bulletproofs crate and paper"
)]
fn ipp_verification_scalars(
    parts: &RangeProofParts,
    nm: usize,
    transcript: &mut Transcript,
) -> Result<IppScalars, RangeReplayError> {
    // Step 7a) `innerproduct_domain_sep(n·m)`.
    transcript.append_message(b"dom-sep", b"ipp v1");
    transcript.append_u64(b"n", nm as u64);

    // Step 7b) Per round: L, R (non-identity), then the challenge u.
    let mut challenges = Vec::with_capacity(parts.L_vec.len());
    for (L, R) in parts.L_vec.iter().zip(&parts.R_vec) {
        validate_and_append_point(transcript, "L", L)?;
        validate_and_append_point(transcript, "R", R)?;
        challenges.push(challenge_scalar(transcript, b"u"));
    }
    ipp_scalars_from_challenges(&challenges)
}

/// Steps 7c)-7e) of `verification_scalars`: inverses, squares and the `s`
/// vector (of length `2^challenges.len()`), from the challenges `u_i`.
///
/// `challenges.len()` is at most 12: the caller checked it equals `log2(n·m)`.
fn ipp_scalars_from_challenges(challenges: &[Scalar]) -> Result<IppScalars, RangeReplayError> {
    // Step 7c) Batch inversion. `Scalar::batch_invert`, which bulletproofs
    // calls here, requires nonzero inputs (it debug-asserts, and otherwise
    // silently yields zeros): reject a zero challenge instead.
    if challenges.contains(&Scalar::ZERO) {
        return Err(RangeReplayError::NotInvertible);
    }
    let mut challenges_inv = challenges.to_vec();
    let allinv = Scalar::batch_invert(&mut challenges_inv);

    // Step 7d) u_i² and u_i⁻².
    let u_sq: Vec<Scalar> = challenges.iter().map(|u| u * u).collect();
    let u_inv_sq: Vec<Scalar> = challenges_inv.iter().map(|u| u * u).collect();

    // Step 7e) s_0 = Π u_i⁻¹ and, for 2^j <= i < 2^(j+1),
    // s_i = s_(i - 2^j) · u_(k-1-j)², where k = number of rounds. This is
    // bulletproofs' loop (with lg_i = j), filled one power of two at a time.
    let mut s = Vec::with_capacity(1 << challenges.len());
    s.push(allinv);
    for u_sq_j in u_sq.iter().rev() {
        let half = s.len();
        s.extend_from_within(..);
        for s_i in &mut s[half..] {
            *s_i *= u_sq_j;
        }
    }
    Ok(IppScalars { u_sq, u_inv_sq, s })
}

/// `TranscriptProtocol::validate_and_append_point`: rejects the identity,
/// otherwise appends the point's bytes under `label`.
fn validate_and_append_point(
    transcript: &mut Transcript,
    label: &'static str,
    point: &ProofPoint,
) -> Result<(), RangeReplayError> {
    if point.compressed.is_identity() {
        return Err(RangeReplayError::IdentityPoint { label });
    }
    transcript.append_message(label.as_bytes(), point.compressed.as_bytes());
    Ok(())
}

/// `TranscriptProtocol::challenge_scalar`: 64 challenge bytes reduced mod ℓ.
fn challenge_scalar(transcript: &mut Transcript, label: &'static [u8]) -> Scalar {
    let mut buf = [0u8; 64];
    transcript.challenge_bytes(label, &mut buf);
    Scalar::from_bytes_mod_order_wide(&buf)
}

/// The powers `1, x, x², …` (bulletproofs' `util::exp_iter`).
fn exp_iter(x: Scalar) -> impl Iterator<Item = Scalar> {
    std::iter::successors(Some(Scalar::ONE), move |exp_x| Some(exp_x * x))
}

/// `1 + x + … + x^(count-1)` (bulletproofs' `util::sum_of_powers`): for a
/// power-of-two `count` as the product `(1 + x)(1 + x²)(1 + x⁴)…`.
fn sum_of_powers(x: Scalar, count: usize) -> Scalar {
    if !count.is_power_of_two() {
        return exp_iter(x).take(count).sum();
    }
    let mut sum = Scalar::ONE;
    let mut factor = x; // x^(2^k)
    let mut remaining = count;
    while remaining > 1 {
        sum *= Scalar::ONE + factor;
        factor *= factor;
        remaining /= 2;
    }
    sum
}

/// bulletproofs' `delta(n, m, y, z)`:
/// `(z - z²)·Σ_{i<nm} y^i - z³·Σ_{i<n} 2^i·Σ_{j<m} z^j`.
fn delta(n: usize, m: usize, y: &Scalar, z: &Scalar) -> Scalar {
    let sum_y = sum_of_powers(*y, n * m);
    let sum_2 = sum_of_powers(Scalar::from(2u64), n);
    let sum_z = sum_of_powers(*z, m);
    (z - z * z) * sum_y - z * z * z * sum_2 * sum_z
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    use std::time::{Duration, Instant};

    use bulletproofs::{BulletproofGens, RangeProof};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use crate::msm::{bulletproof_gens, pedersen_gens};

    /// The transcript label used for proofs in the tests.
    const LABEL: &[u8] = b"sotto range_batch test";

    /// One proof with everything needed to check it.
    #[derive(Clone)]
    struct Case {
        /// `RangeProof::to_bytes`.
        bytes: Vec<u8>,
        /// The value commitments.
        commitments: Vec<CompressedRistretto>,
        /// Bit size.
        n: usize,
    }

    /// `x^k` by repeated multiplication.
    trait PowNaive {
        fn pow_naive(self, k: usize) -> Self;
    }

    impl PowNaive for Scalar {
        fn pow_naive(self, k: usize) -> Self {
            (0..k).fold(Scalar::ONE, |acc, _| acc * self)
        }
    }

    /// Proves `m` random `n`-bit values under `label`. Blindings are random;
    /// values are random below 2^n.
    fn prove(label: &'static [u8], n: usize, m: usize, rng: &mut StdRng) -> Case {
        let values: Vec<u64> = (0..m)
            .map(|_| {
                if n == 64 {
                    rng.r#gen::<u64>()
                } else {
                    rng.gen_range(0..1u64 << n)
                }
            })
            .collect();
        let blindings: Vec<Scalar> = (0..m).map(|_| Scalar::random(rng)).collect();
        prove_values(label, n, &values, &blindings, rng)
    }

    /// Proves the given values and blindings under `label`.
    fn prove_values(
        label: &'static [u8],
        n: usize,
        values: &[u64],
        blindings: &[Scalar],
        rng: &mut StdRng,
    ) -> Case {
        let (proof, commitments) = RangeProof::prove_multiple_with_rng(
            bulletproof_gens(),
            pedersen_gens(),
            &mut Transcript::new(label),
            values,
            blindings,
            n,
            rng,
        )
        .unwrap();
        Case {
            bytes: proof.to_bytes(),
            commitments,
            n,
        }
    }

    /// `(bytes, point)` pairs, as `vartime_add_range_check` takes them.
    fn decompressed(
        commitments: &[CompressedRistretto],
    ) -> Vec<(CompressedRistretto, RistrettoPoint)> {
        commitments
            .iter()
            .map(|c| (*c, c.decompress().unwrap()))
            .collect()
    }

    /// Parses and replays `case` (transcript `LABEL`) into `acc` with a random weight.
    fn add_case(
        case: &Case,
        acc: &mut Accumulator,
        rng: &mut StdRng,
    ) -> Result<(), RangeReplayError> {
        let parts = RangeProofParts::from_bytes(&case.bytes)?;
        let weight = Scalar::random(rng);
        vartime_add_range_check(
            &parts,
            &mut Transcript::new(LABEL),
            &decompressed(&case.commitments),
            case.n,
            weight,
            rng,
            acc,
        )
    }

    /// Whether a batch of cases verifies: all replays succeed and the sum is zero.
    fn batch_verifies(cases: &[Case], rng: &mut StdRng) -> Result<bool, RangeReplayError> {
        let mut acc = Accumulator::new();
        for case in cases {
            add_case(case, &mut acc, rng)?;
        }
        Ok(acc.vartime_is_identity())
    }

    /// bulletproofs' own verdict on `case` (transcript `LABEL`).
    fn bulletproofs_accepts(case: &Case) -> bool {
        RangeProof::from_bytes(&case.bytes).is_ok_and(|proof| {
            proof
                .verify_multiple(
                    bulletproof_gens(),
                    pedersen_gens(),
                    &mut Transcript::new(LABEL),
                    &case.commitments,
                    case.n,
                )
                .is_ok()
        })
    }

    #[test]
    fn g_chain_replica_matches_bulletproofs() {
        let gens = BulletproofGens::new(64, 64);
        for party in [0, 1, 63] {
            let ours = generators_chain(b'G', party, 64);
            let theirs: Vec<RistrettoPoint> = gens.share(party).G(64).copied().collect();
            assert_eq!(theirs.len(), 64);
            assert_eq!(ours, theirs, "G chain of party {party}");
        }
        // The H replica differs from G only in the label byte; check its shape.
        for party in [0, 1, 63] {
            let h = h_generators(party);
            assert_eq!(h.len(), GENS_CAPACITY);
            assert_eq!(h, generators_chain(b'H', party, GENS_CAPACITY).as_slice());
            assert_ne!(h[0], generators_chain(b'G', party, 1)[0]);
        }
        assert_ne!(h_generators(0)[0], h_generators(1)[0]);
        assert!(h_generators(MAX_RANGE_ENTRIES).is_empty());
    }

    #[test]
    fn honest_proofs_replay_to_identity() {
        let mut rng = StdRng::seed_from_u64(1);
        for n in [8, 16, 32, 64] {
            for m in [1, 2, 4, 8] {
                let case = prove(LABEL, n, m, &mut rng);
                assert!(
                    bulletproofs_accepts(&case),
                    "bulletproofs rejects n={n} m={m}"
                );
                let mut acc = Accumulator::new();
                add_case(&case, &mut acc, &mut rng).unwrap();
                assert!(acc.vartime_is_identity(), "replay rejects n={n} m={m}");
            }
        }
    }

    /// Six proofs of mixed sizes, and the same six with one of them broken.
    #[test]
    fn batch_of_mixed_proofs_and_tampering() {
        let mut rng = StdRng::seed_from_u64(2);
        let shapes = [(8, 1), (16, 2), (32, 4), (64, 8), (64, 1), (32, 2)];
        let honest: Vec<Case> = shapes
            .iter()
            .map(|&(n, m)| prove(LABEL, n, m, &mut rng))
            .collect();
        assert_eq!(batch_verifies(&honest, &mut rng), Ok(true));

        // The tampered proof is number 3 (n = 64, m = 8).
        let victim = 3;
        let rejected = |cases: Vec<Case>, rng: &mut StdRng| -> bool {
            let verdict = batch_verifies(&cases, rng);
            assert!(
                !bulletproofs_accepts(&cases[victim]),
                "bulletproofs accepts tampered proof"
            );
            verdict != Ok(true)
        };

        // A commitment replaced by a commitment to another value.
        let mut cases = honest.clone();
        let other = pedersen_gens().commit(Scalar::from(5u64), Scalar::random(&mut rng));
        cases[victim].commitments[2] = other.compress();
        assert_eq!(batch_verifies(&cases, &mut rng), Ok(false));
        assert!(rejected(cases, &mut rng));

        // Two commitments swapped.
        let mut cases = honest.clone();
        cases[victim].commitments.swap(0, 1);
        assert_eq!(batch_verifies(&cases, &mut rng), Ok(false));
        assert!(rejected(cases, &mut rng));

        // A commitment taken from another proof.
        let mut cases = honest.clone();
        cases[victim].commitments[0] = honest[1].commitments[0];
        assert_eq!(batch_verifies(&cases, &mut rng), Ok(false));
        assert!(rejected(cases, &mut rng));

        // A proof made under another transcript label.
        let mut cases = honest.clone();
        let (n, m) = shapes[victim];
        cases[victim] = prove(b"another transcript", n, m, &mut rng);
        assert_eq!(batch_verifies(&cases, &mut rng), Ok(false));
        assert!(rejected(cases, &mut rng));

        // One byte flipped in each field region of the victim.
        let len = honest[victim].bytes.len();
        let regions: [(&str, usize, bool); 11] = [
            ("A", 0, true),
            ("S", 32, true),
            ("T_1", 64, true),
            ("T_2", 96, true),
            ("t_x", 128, false),
            ("t_x_blinding", 160, false),
            ("e_blinding", 192, false),
            ("L_1", 224 + 2 * 32, true),
            ("R_2", 224 + 5 * 32, true),
            ("a", len - 64, false),
            ("b", len - 32, false),
        ];
        for (name, start, is_point) in regions {
            let word: [u8; 32] = honest[victim].bytes[start..start + 32].try_into().unwrap();
            // Pick flips that still parse (so the sum must catch them) and
            // flips that do not (so the parser must).
            let mut parsing = 0;
            let mut failing = 0;
            for (index, mask) in (0..32).flat_map(|i| [(i, 0x01u8), (i, 0x10), (i, 0x80)]) {
                let mut flipped = word;
                flipped[index] ^= mask;
                let parses = if is_point {
                    CompressedRistretto(flipped).decompress().is_some()
                } else {
                    Option::<Scalar>::from(Scalar::from_canonical_bytes(flipped)).is_some()
                };
                if (parses && parsing >= 3) || (!parses && failing >= 1) {
                    continue;
                }
                let mut cases = honest.clone();
                cases[victim].bytes[start..start + 32].copy_from_slice(&flipped);
                let verdict = batch_verifies(&cases, &mut rng);
                if parses {
                    parsing += 1;
                    assert_eq!(verdict, Ok(false), "{name}: byte {index} ^ {mask:#x}");
                } else {
                    failing += 1;
                    let expected = if is_point {
                        RangeReplayError::InvalidPoint
                    } else {
                        RangeReplayError::NonCanonicalScalar
                    };
                    assert_eq!(verdict, Err(expected), "{name}: byte {index} ^ {mask:#x}");
                }
                assert!(rejected(cases, &mut rng));
            }
            assert_eq!(
                (parsing, failing),
                (3, 1),
                "{name}: not every path exercised"
            );
        }

        // And the honest batch still verifies with fresh weights.
        assert_eq!(batch_verifies(&honest, &mut rng), Ok(true));
    }

    #[test]
    fn zero_commitments_are_accepted() {
        let mut rng = StdRng::seed_from_u64(3);
        let values = [7u64, 0, 0, 0];
        let blindings = [
            Scalar::random(&mut rng),
            Scalar::ZERO,
            Scalar::ZERO,
            Scalar::ZERO,
        ];
        let case = prove_values(LABEL, 32, &values, &blindings, &mut rng);
        assert!(case.commitments[1..].iter().all(|c| c.is_identity()));
        assert!(
            decompressed(&case.commitments)[1..]
                .iter()
                .all(|(_, p)| p.is_identity())
        );
        assert!(bulletproofs_accepts(&case));
        let mut acc = Accumulator::new();
        add_case(&case, &mut acc, &mut rng).unwrap();
        assert!(acc.vartime_is_identity());
    }

    #[test]
    fn transcript_state_matches_bulletproofs() {
        let mut rng = StdRng::seed_from_u64(4);
        for (n, m) in [(8, 1), (64, 1), (16, 4), (64, 8), (32, 64)] {
            let mut prover = Transcript::new(LABEL);
            prover.append_message(b"prefix", b"earlier protocol messages");
            let values: Vec<u64> = (0..m).map(|_| rng.gen_range(0..1u64 << 8)).collect();
            let blindings: Vec<Scalar> = (0..m).map(|_| Scalar::random(&mut rng)).collect();
            let (proof, commitments) = RangeProof::prove_multiple_with_rng(
                bulletproof_gens(),
                pedersen_gens(),
                &mut prover,
                &values,
                &blindings,
                n,
                &mut rng,
            )
            .unwrap();

            let mut start = Transcript::new(LABEL);
            start.append_message(b"prefix", b"earlier protocol messages");
            let mut theirs = start.clone();
            let mut ours = start;
            proof
                .verify_multiple(
                    bulletproof_gens(),
                    pedersen_gens(),
                    &mut theirs,
                    &commitments,
                    n,
                )
                .unwrap();
            let parts = RangeProofParts::from_bytes(&proof.to_bytes()).unwrap();
            let mut acc = Accumulator::new();
            vartime_add_range_check(
                &parts,
                &mut ours,
                &decompressed(&commitments),
                n,
                Scalar::random(&mut rng),
                &mut rng,
                &mut acc,
            )
            .unwrap();
            assert!(acc.vartime_is_identity());

            let mut after_theirs = [0u8; 64];
            let mut after_ours = [0u8; 64];
            theirs.challenge_bytes(b"next", &mut after_theirs);
            ours.challenge_bytes(b"next", &mut after_ours);
            assert_eq!(after_ours, after_theirs, "n={n} m={m}");
            // The prover's transcript ends in the same state too.
            let mut after_prover = [0u8; 64];
            prover.challenge_bytes(b"next", &mut after_prover);
            assert_eq!(after_ours, after_prover, "n={n} m={m}");
        }
    }

    #[test]
    fn parameters_are_checked() {
        let mut rng = StdRng::seed_from_u64(5);
        let case = prove(LABEL, 32, 2, &mut rng);
        let parts = RangeProofParts::from_bytes(&case.bytes).unwrap();
        let v = decompressed(&case.commitments);
        let run = |n: usize, v: &[(CompressedRistretto, RistrettoPoint)], rng: &mut StdRng| {
            let mut acc = Accumulator::new();
            vartime_add_range_check(
                &parts,
                &mut Transcript::new(LABEL),
                v,
                n,
                Scalar::ONE,
                rng,
                &mut acc,
            )
        };
        for n in [0, 1, 7, 9, 24, 128] {
            assert_eq!(run(n, &v, &mut rng), Err(RangeReplayError::BitSize { n }));
        }
        assert_eq!(
            run(32, &[], &mut rng),
            Err(RangeReplayError::PartyCount { m: 0 })
        );
        let three = [v[0], v[1], v[0]];
        assert_eq!(
            run(32, &three, &mut rng),
            Err(RangeReplayError::PartyCount { m: 3 })
        );
        let many = vec![v[0]; 128];
        assert_eq!(
            run(32, &many, &mut rng),
            Err(RangeReplayError::PartyCount { m: 128 })
        );
        // Made for n·m = 64 (6 rounds); checked as n·m = 128 and 32.
        assert_eq!(
            run(64, &v, &mut rng),
            Err(RangeReplayError::RoundCount {
                expected: 7,
                found: 6
            })
        );
        assert_eq!(
            run(32, &v[..1], &mut rng),
            Err(RangeReplayError::RoundCount {
                expected: 5,
                found: 6
            })
        );
        assert_eq!(run(32, &v, &mut rng), Ok(()));
    }

    #[test]
    fn identity_proof_points_are_rejected() {
        let mut rng = StdRng::seed_from_u64(6);
        let case = prove(LABEL, 8, 1, &mut rng);
        let len = case.bytes.len();
        // 3 rounds: L_0, R_0, L_1, R_1, L_2, R_2 start at word 7.
        for (label, start) in [
            ("A", 0),
            ("S", 32),
            ("T_1", 64),
            ("T_2", 96),
            ("L", 224),
            ("R", 256),
            ("L", 224 + 4 * 32),
            ("R", len - 96),
        ] {
            let mut bad = case.clone();
            bad.bytes[start..start + 32].fill(0);
            let mut acc = Accumulator::new();
            assert_eq!(
                add_case(&bad, &mut acc, &mut rng),
                Err(RangeReplayError::IdentityPoint { label }),
                "word at {start}"
            );
            assert!(!bulletproofs_accepts(&bad));
        }
    }

    #[test]
    fn zero_challenge_is_not_invertible() {
        let u = [Scalar::from(3u64), Scalar::ZERO, Scalar::from(5u64)];
        assert_eq!(
            ipp_scalars_from_challenges(&u).err(),
            Some(RangeReplayError::NotInvertible)
        );
        // With nonzero challenges: s_i = Π_j u_j^(±1) by the bits of i.
        let u = [Scalar::from(3u64), Scalar::from(5u64)];
        let ipp = ipp_scalars_from_challenges(&u).unwrap();
        let (u1, u2) = (u[0], u[1]);
        let inv = (u1 * u2).invert();
        assert_eq!(
            ipp.s,
            vec![inv, inv * u2 * u2, inv * u1 * u1, inv * u1 * u1 * u2 * u2]
        );
        assert_eq!(ipp.u_sq, vec![u1 * u1, u2 * u2]);
        assert_eq!(ipp.u_inv_sq, vec![(u1 * u1).invert(), (u2 * u2).invert()]);
    }

    #[test]
    fn sum_of_powers_matches_naive_sum() {
        let x = Scalar::random(&mut StdRng::seed_from_u64(10));
        for count in [0, 1, 2, 3, 8, 64, 100, 4096] {
            let naive: Scalar = (0..count).map(|i| x.pow_naive(i)).sum();
            assert_eq!(sum_of_powers(x, count), naive, "count {count}");
        }
        assert_eq!(
            sum_of_powers(Scalar::from(2u64), 64),
            Scalar::from(u64::MAX)
        );
    }

    #[test]
    fn from_bytes_layout_errors() {
        let mut rng = StdRng::seed_from_u64(7);
        let case = prove(LABEL, 64, 4, &mut rng); // 8 rounds
        assert!(RangeProofParts::from_bytes(&case.bytes).is_ok());
        let format = |bytes: &[u8]| {
            matches!(
                RangeProofParts::from_bytes(bytes),
                Err(RangeReplayError::Format { .. })
            )
        };
        assert!(format(&case.bytes[..case.bytes.len() - 1]));
        assert!(format(&[]));
        assert!(format(&case.bytes[..8 * 32]));
        // Odd number of L/R words: drop one.
        let mut odd = case.bytes[..7 * 32].to_vec();
        odd.extend_from_slice(&case.bytes[8 * 32..]);
        assert!(format(&odd));
        // 26 L/R words: insert a pair.
        let big_case = prove(LABEL, 64, 64, &mut rng); // 12 rounds: the largest
        assert!(RangeProofParts::from_bytes(&big_case.bytes).is_ok());
        let mut big = big_case.bytes[..9 * 32].to_vec();
        big.extend_from_slice(&big_case.bytes[7 * 32..]);
        assert_eq!(big.len(), big_case.bytes.len() + 64);
        assert!(format(&big));
        // Non-canonical scalar: t_x and b set to 2^256 - 1.
        for start in [128, case.bytes.len() - 32] {
            let mut bad = case.bytes.clone();
            bad[start..start + 32].fill(0xff);
            assert_eq!(
                RangeProofParts::from_bytes(&bad).err(),
                Some(RangeReplayError::NonCanonicalScalar)
            );
        }
        // Invalid point: S and L_0 with the sign bit set.
        for start in [32, 224] {
            let mut bad = case.bytes.clone();
            bad[start] |= 1;
            assert_eq!(
                RangeProofParts::from_bytes(&bad).err(),
                Some(RangeReplayError::InvalidPoint)
            );
        }
    }

    /// `from_bytes` (and the replay of whatever parses) never panics.
    #[test]
    fn from_bytes_never_panics() {
        let mut rng = StdRng::seed_from_u64(8);
        let seed_cases: Vec<Case> = [(8, 1), (64, 2)]
            .iter()
            .map(|&(n, m)| prove(LABEL, n, m, &mut rng))
            .collect();
        let mut parsed = 0;
        for round in 0..4000 {
            let bytes: Vec<u8> = match round % 4 {
                // Arbitrary length and content.
                0 => {
                    let len = rng.gen_range(0..1100);
                    (0..len).map(|_| rng.r#gen()).collect()
                }
                // A whole number of words, arbitrary content.
                1 => {
                    let len = 32 * rng.gen_range(0..40);
                    (0..len).map(|_| rng.r#gen()).collect()
                }
                // A real proof with a few random bytes changed, maybe truncated or extended.
                _ => {
                    let mut bytes = seed_cases[round % 2].bytes.clone();
                    for _ in 0..rng.gen_range(0..3) {
                        let i = rng.gen_range(0..bytes.len());
                        bytes[i] = rng.r#gen();
                    }
                    match rng.gen_range(0..4) {
                        0 => bytes.truncate(rng.gen_range(0..bytes.len())),
                        1 => bytes.extend((0..rng.gen_range(0..100)).map(|_| rng.r#gen::<u8>())),
                        _ => {}
                    }
                    bytes
                }
            };
            let ours = RangeProofParts::from_bytes(&bytes);
            if let Ok(parts) = ours {
                parsed += 1;
                // Stricter than bulletproofs: whatever we parse, it parses.
                assert!(RangeProof::from_bytes(&bytes).is_ok());
                let case = &seed_cases[round % 2];
                let mut acc = Accumulator::new();
                let replay = vartime_add_range_check(
                    &parts,
                    &mut Transcript::new(LABEL),
                    &decompressed(&case.commitments),
                    case.n,
                    Scalar::random(&mut rng),
                    &mut rng,
                    &mut acc,
                );
                if bytes == case.bytes {
                    assert_eq!(replay, Ok(()));
                    assert!(acc.vartime_is_identity());
                } else if replay.is_ok() {
                    assert!(!acc.vartime_is_identity());
                }
            }
        }
        assert!(parsed > 100, "only {parsed} inputs parsed");
    }

    /// Times 64 separate `verify_single` calls against one batch of 64.
    /// Prints; does not assert on time. Run with `--release --nocapture`.
    #[test]
    fn timing_64_single_64_bit_proofs() {
        let mut rng = StdRng::seed_from_u64(9);
        let cases: Vec<Case> = (0..64).map(|_| prove(LABEL, 64, 1, &mut rng)).collect();
        // Warm the generator caches outside the timed region.
        let _ = h_generators(0);
        let _ = bulletproof_gens();

        let mut separate = Duration::MAX;
        let mut batched = Duration::MAX;
        let mut replay_only = Duration::MAX;
        for _ in 0..10 {
            let start = Instant::now();
            for case in &cases {
                let proof = RangeProof::from_bytes(&case.bytes).unwrap();
                proof
                    .verify_single(
                        bulletproof_gens(),
                        pedersen_gens(),
                        &mut Transcript::new(LABEL),
                        &case.commitments[0],
                        64,
                    )
                    .unwrap();
            }
            separate = separate.min(start.elapsed());

            let start = Instant::now();
            let mut acc = Accumulator::new();
            for case in &cases {
                add_case(case, &mut acc, &mut rng).unwrap();
            }
            replay_only = replay_only.min(start.elapsed());
            assert!(acc.vartime_is_identity());
            batched = batched.min(start.elapsed());
        }
        println!(
            "64 x 64-bit proofs (best of 10): separate verify_single {separate:?}, one batch \
             {batched:?} (parse + replay {replay_only:?}), ratio {:.2}x",
            separate.as_secs_f64() / batched.as_secs_f64()
        );
    }
}
