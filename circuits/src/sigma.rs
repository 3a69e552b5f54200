//! The Σ-protocols: proofs of linear relations, products and set membership
//! over Pedersen commitments, made non-interactive with one merlin challenge.
//!
//! All Σ-proofs of a program share one challenge `c`, drawn after every
//! first-move point `A` is in the transcript (AND-composition). The proofs are
//! in commitment form (they carry their `A` points), so each check is an
//! equation `Σ sᵢ·Pᵢ = 0` that the verifier adds, randomly weighted, to an
//! [`Accumulator`]: a whole proof, or a whole batch of proofs, costs one
//! multiscalar multiplication. Equations and soundness arguments:
//! `docs/notes/proofs.md`.
//!
//! Notation: `B` value generator, `H` (= `B_blinding`) blinding generator,
//! `C = v·B + r·H`.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::commitment::{Commitment, Opening};
use crate::lower::{SigmaStatement, eval_blinding, eval_value, public_part};
use crate::msm::{Accumulator, pedersen_gens};
use crate::program::Term;

/// A point as it travels (compressed) and as it is used (decompressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pt {
    pub(crate) compressed: CompressedRistretto,
    pub(crate) point: RistrettoPoint,
}

impl Pt {
    pub(crate) fn new(point: RistrettoPoint) -> Self {
        Pt {
            compressed: point.compress(),
            point,
        }
    }
}

/// One Σ-proof as it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a proof holds a handful of these; boxing would cost an allocation each"
)]
pub(crate) enum SigmaProof {
    /// Knowledge of `r` with `P = r·H` (P the derived commitment).
    Zero { a: Pt, s: Scalar },
    /// Knowledge of `x, rx, r'` with `Cx = x·B + rx·H`, `Cz = x·Cy + r'·H`.
    Product {
        a1: Pt,
        a2: Pt,
        s1: Scalar,
        s2: Scalar,
        s3: Scalar,
    },
    /// A CDS OR-proof: for one `j`, knowledge of `r` with `C − vⱼ·B = r·H`.
    /// `c` holds the first `n − 1` branch challenges; the last is implied.
    OneOf {
        a: Vec<Pt>,
        c: Vec<Scalar>,
        s: Vec<Scalar>,
    },
}

impl SigmaProof {
    /// The first-move points, in transcript order.
    pub(crate) fn first_moves(&self) -> Vec<&CompressedRistretto> {
        match self {
            SigmaProof::Zero { a, .. } => vec![&a.compressed],
            SigmaProof::Product { a1, a2, .. } => vec![&a1.compressed, &a2.compressed],
            SigmaProof::OneOf { a, .. } => a.iter().map(|p| &p.compressed).collect(),
        }
    }

    /// Whether this proof has the shape `statement` needs.
    pub(crate) fn fits(&self, statement: &SigmaStatement) -> bool {
        match (self, statement) {
            (SigmaProof::Zero { .. }, SigmaStatement::Zero(_)) => true,
            (SigmaProof::Product { .. }, SigmaStatement::Product { .. }) => true,
            (SigmaProof::OneOf { a, c, s }, SigmaStatement::OneOf { set, .. }) => {
                a.len() == set.len() && s.len() == set.len() && c.len() + 1 == set.len()
            }
            _ => false,
        }
    }
}

/// Appends the first moves of all Σ-proofs and draws the shared challenge.
pub(crate) fn challenge<'a>(
    transcript: &mut Transcript,
    first_moves: impl Iterator<Item = &'a CompressedRistretto>,
) -> Scalar {
    transcript.append_message(b"dom-sep", b"sigma v1");
    for a in first_moves {
        transcript.append_message(b"A", a.as_bytes());
    }
    let mut wide = [0u8; 64];
    transcript.challenge_bytes(b"c", &mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The prover's secrets between the first move and the response. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) enum SigmaSecret {
    Zero {
        t: Scalar,
        r: Scalar,
    },
    Product {
        k: [Scalar; 3],
        x: Scalar,
        rx: Scalar,
        r_prime: Scalar,
    },
    OneOf {
        real: usize,
        t: Scalar,
        r: Scalar,
        c: Vec<Scalar>,
        s: Vec<Scalar>,
    },
}

/// The prover's first move for one statement. `Err(())` if the witness does
/// not satisfy it (the caller names the constraint).
pub(crate) fn commit<R: RngCore + CryptoRng>(
    statement: &SigmaStatement,
    openings: &[Opening],
    commitments: &[Commitment],
    publics: &[u64],
    rng: &mut R,
) -> Result<(Vec<Pt>, SigmaSecret), ()> {
    let gens = pedersen_gens();
    let h = gens.B_blinding;
    match statement {
        SigmaStatement::Zero(e) => {
            if eval_value(e, openings, publics) != Some(0) {
                return Err(());
            }
            let t = Scalar::random(rng);
            let r = eval_blinding(e, openings);
            Ok((vec![Pt::new(t * h)], SigmaSecret::Zero { t, r }))
        }
        SigmaStatement::Product { x, y, z } => {
            let (ox, oy, oz) = (
                &openings[usize::from(x.0)],
                &openings[usize::from(y.0)],
                &openings[usize::from(z.0)],
            );
            if u128::from(ox.value()) * u128::from(oy.value()) != u128::from(oz.value()) {
                return Err(());
            }
            let xs = Scalar::from(ox.value());
            // Cz = x·Cy + r'·H with r' = rz − x·ry.
            let r_prime = oz.blinding() - xs * oy.blinding();
            let k = [
                Scalar::random(rng),
                Scalar::random(rng),
                Scalar::random(rng),
            ];
            let cy = commitments[usize::from(y.0)].point();
            let a1 = k[0] * gens.B + k[1] * h;
            let a2 = k[0] * cy + k[2] * h;
            Ok((
                vec![Pt::new(a1), Pt::new(a2)],
                SigmaSecret::Product {
                    k,
                    x: xs,
                    rx: *ox.blinding(),
                    r_prime,
                },
            ))
        }
        SigmaStatement::OneOf { var, set } => {
            let o = &openings[usize::from(var.0)];
            let real = set.iter().position(|v| *v == o.value()).ok_or(())?;
            let cpoint = commitments[usize::from(var.0)].point();
            let n = set.len();
            let mut c = vec![Scalar::ZERO; n];
            let mut s = vec![Scalar::ZERO; n];
            let mut a = Vec::with_capacity(n);
            let t = Scalar::random(rng);
            // Every branch does the same group operations, so the time taken
            // does not point at the real one. The real branch's simulated
            // values are discarded (its c and s are set in `respond`).
            for (j, v) in set.iter().enumerate() {
                let cj = Scalar::random(rng);
                let sj = Scalar::random(rng);
                let p = cpoint - Scalar::from(*v) * gens.B;
                let simulated = sj * h - cj * p;
                let honest = t * h;
                if j == real {
                    a.push(Pt::new(honest));
                } else {
                    c[j] = cj;
                    s[j] = sj;
                    a.push(Pt::new(simulated));
                }
            }
            Ok((
                a,
                SigmaSecret::OneOf {
                    real,
                    t,
                    r: *o.blinding(),
                    c,
                    s,
                },
            ))
        }
    }
}

/// The prover's response to the shared challenge `c`.
pub(crate) fn respond(first: Vec<Pt>, secret: &SigmaSecret, c: Scalar) -> SigmaProof {
    match secret {
        SigmaSecret::Zero { t, r } => SigmaProof::Zero {
            a: first[0],
            s: t + c * r,
        },
        SigmaSecret::Product { k, x, rx, r_prime } => SigmaProof::Product {
            a1: first[0],
            a2: first[1],
            s1: k[0] + c * x,
            s2: k[1] + c * rx,
            s3: k[2] + c * r_prime,
        },
        SigmaSecret::OneOf {
            real,
            t,
            r,
            c: cs,
            s,
        } => {
            let mut cs = cs.clone();
            let mut s = s.clone();
            let others: Scalar = cs.iter().sum();
            cs[*real] = c - others;
            s[*real] = t + cs[*real] * r;
            cs.pop();
            SigmaProof::OneOf { a: first, c: cs, s }
        }
    }
}

/// Adds the verification equations of one Σ-proof, each under a fresh random
/// weight, to `acc`. Returns `false`, adding nothing, if the proof does not
/// have the statement's shape (see [`SigmaProof::fits`]).
pub(crate) fn vartime_accumulate<R: RngCore + CryptoRng>(
    statement: &SigmaStatement,
    proof: &SigmaProof,
    commitments: &[Commitment],
    publics: &[u64],
    c: Scalar,
    rng: &mut R,
    acc: &mut Accumulator,
) -> bool {
    if !proof.fits(statement) {
        return false;
    }
    match (statement, proof) {
        (SigmaStatement::Zero(e), SigmaProof::Zero { a, s }) => {
            // s·H − A − c·P = 0, with P = Σ aᵢ·Cᵢ + k·B.
            let w = Scalar::random(rng);
            acc.b_blinding += w * s;
            acc.push(-w, a.point);
            let wc = w * c;
            acc.b -= wc * public_part(e, publics);
            for &(coef, t) in &e.terms {
                if let Term::Var(v) = t {
                    let coef = crate::context::scalar_i128(coef);
                    acc.push(-(wc * coef), *commitments[usize::from(v.0)].point());
                }
            }
        }
        (SigmaStatement::Product { x, y, z }, SigmaProof::Product { a1, a2, s1, s2, s3 }) => {
            let (cx, cy, cz) = (
                commitments[usize::from(x.0)].point(),
                commitments[usize::from(y.0)].point(),
                commitments[usize::from(z.0)].point(),
            );
            // s1·B + s2·H − A1 − c·Cx = 0
            let w1 = Scalar::random(rng);
            acc.b += w1 * s1;
            acc.b_blinding += w1 * s2;
            acc.push(-w1, a1.point);
            acc.push(-(w1 * c), *cx);
            // s1·Cy + s3·H − A2 − c·Cz = 0
            let w2 = Scalar::random(rng);
            acc.push(w2 * s1, *cy);
            acc.b_blinding += w2 * s3;
            acc.push(-w2, a2.point);
            acc.push(-(w2 * c), *cz);
        }
        (SigmaStatement::OneOf { var, set }, SigmaProof::OneOf { a, c: cs, s }) => {
            let last = c - cs.iter().sum::<Scalar>();
            let cpoint = commitments[usize::from(var.0)].point();
            let mut on_c = Scalar::ZERO;
            for (j, v) in set.iter().enumerate() {
                let cj = cs.get(j).copied().unwrap_or(last);
                // sⱼ·H − Aⱼ − cⱼ·(C − vⱼ·B) = 0
                let w = Scalar::random(rng);
                acc.b_blinding += w * s[j];
                acc.push(-w, a[j].point);
                on_c -= w * cj;
                acc.b += w * cj * Scalar::from(*v);
            }
            acc.push(on_c, *cpoint);
        }
        // Unreachable after `fits`; refusing is the safe answer regardless.
        _ => return false,
    }
    true
}
