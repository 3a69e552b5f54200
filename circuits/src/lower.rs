//! Lowering: from the program's constraints to what is actually proven.
//!
//! Every constraint becomes range entries (linear expressions whose value must
//! lie in `[0, 2^N)`, all proven by one aggregated range proof) and Σ-statements
//! (an expression that commits to zero, a product, or a one-of). Prover and
//! verifier both lower the same validated program, so they agree on the shape.
//!
//! One aggregated range proof takes a single width, so every entry is proven
//! at the program's widest width `N`. An entry of width `n < N` becomes two:
//! `x ∈ [0, 2^N)` and `x + 2^N − 2^n ∈ [0, 2^N)`, which together say exactly
//! `x ∈ [0, 2^n)`.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

use crate::commitment::{Commitment, Opening};
use crate::context::scalar_i128;
use crate::msm::pedersen_gens;
use crate::program::{CmpOp, Constraint, LinExpr, Program, RangeBits, Term, VarId};

/// A statement proven by a Σ-protocol.
#[derive(Debug, Clone)]
pub(crate) enum SigmaStatement {
    /// The expression's value is zero (its derived commitment opens to 0).
    Zero(LinExpr),
    /// `z = x · y`.
    Product { x: VarId, y: VarId, z: VarId },
    /// `var ∈ set`.
    OneOf { var: VarId, set: Vec<u64> },
}

/// The lowered program.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The width every range entry is proven at, if there are entries.
    pub(crate) width: Option<RangeBits>,
    /// Range entries, with the constraint each came from.
    pub(crate) ranges: Vec<(usize, LinExpr)>,
    /// Σ-statements, with the constraint each came from.
    pub(crate) sigmas: Vec<(usize, SigmaStatement)>,
}

impl Plan {
    /// Lowers a validated program.
    pub(crate) fn new(program: &Program) -> Plan {
        let width = program.range_width();
        let mut ranges = Vec::new();
        let mut sigmas = Vec::new();
        let mut range = |i: usize, e: LinExpr, bits: RangeBits| {
            // Validation guarantees a width exists whenever an entry does.
            let n = width.map_or(64, RangeBits::bits);
            if bits.bits() < n {
                let shift = (1i128 << n) - (1i128 << bits.bits());
                ranges.push((i, e.clone().plus_constant(shift)));
            }
            ranges.push((i, e));
        };
        for (i, c) in program.constraints().iter().enumerate() {
            match c {
                Constraint::Linear(e) => sigmas.push((i, SigmaStatement::Zero(e.clone()))),
                Constraint::Range { var, bits } => range(i, LinExpr::term(*var), *bits),
                Constraint::Compare { lhs, op, rhs, bits } => match op {
                    CmpOp::Le => range(i, rhs.minus(lhs), *bits),
                    CmpOp::Lt => range(i, rhs.minus(lhs).plus_constant(-1), *bits),
                    CmpOp::Ge => range(i, lhs.minus(rhs), *bits),
                    CmpOp::Gt => range(i, lhs.minus(rhs).plus_constant(-1), *bits),
                    CmpOp::Eq => sigmas.push((i, SigmaStatement::Zero(lhs.minus(rhs)))),
                },
                Constraint::Product { x, y, z } => sigmas.push((
                    i,
                    SigmaStatement::Product {
                        x: *x,
                        y: *y,
                        z: *z,
                    },
                )),
                Constraint::EqualsPublic { var, public } => sigmas.push((
                    i,
                    SigmaStatement::Zero(LinExpr::term(*var).plus(-1, *public)),
                )),
                Constraint::SameValue { a, b } => {
                    sigmas.push((i, SigmaStatement::Zero(LinExpr::term(*a).plus(-1, *b))))
                }
                Constraint::OneOf { var, set } => sigmas.push((
                    i,
                    SigmaStatement::OneOf {
                        var: *var,
                        set: set.clone(),
                    },
                )),
                Constraint::Boolean { var } => sigmas.push((
                    i,
                    SigmaStatement::OneOf {
                        var: *var,
                        set: vec![0, 1],
                    },
                )),
            }
        }
        Plan {
            width,
            ranges,
            sigmas,
        }
    }

    /// Entries after padding to a power of two (what the range proof holds).
    pub(crate) fn padded_entries(&self) -> usize {
        if self.ranges.is_empty() {
            0
        } else {
            self.ranges.len().next_power_of_two()
        }
    }
}

/// The integer value of `e` under the witness; `None` on i128 overflow (which
/// no satisfiable constraint over u64 values reaches).
pub(crate) fn eval_value(e: &LinExpr, openings: &[Opening], publics: &[u64]) -> Option<i128> {
    let mut acc = e.constant;
    for &(c, t) in &e.terms {
        let v = match t {
            Term::Var(v) => i128::from(openings[usize::from(v.0)].value()),
            Term::Public(p) => i128::from(publics[usize::from(p.0)]),
        };
        acc = acc.checked_add(c.checked_mul(v)?)?;
    }
    Some(acc)
}

/// The blinding factor of `e`'s derived commitment: `Σ cᵢ·rᵢ` over variables.
pub(crate) fn eval_blinding(e: &LinExpr, openings: &[Opening]) -> Scalar {
    e.terms
        .iter()
        .filter_map(|&(c, t)| match t {
            Term::Var(v) => Some(scalar_i128(c) * openings[usize::from(v.0)].blinding()),
            Term::Public(_) => None,
        })
        .sum()
}

/// The public part of `e` as a scalar: `Σ cⱼ·pⱼ + constant`.
pub(crate) fn public_part(e: &LinExpr, publics: &[u64]) -> Scalar {
    let mut k = scalar_i128(e.constant);
    for &(c, t) in &e.terms {
        if let Term::Public(p) = t {
            k += scalar_i128(c) * Scalar::from(publics[usize::from(p.0)]);
        }
    }
    k
}

/// The derived commitment of `e`: `Σ cᵢ·Cᵢ + (Σ cⱼ·pⱼ + constant)·B`, which
/// opens to `(eval_value, eval_blinding)`. Variable time: public data only.
pub(crate) fn vartime_derived_commitment(
    e: &LinExpr,
    commitments: &[Commitment],
    publics: &[u64],
) -> RistrettoPoint {
    let mut scalars = vec![public_part(e, publics)];
    let mut points = vec![pedersen_gens().B];
    for &(c, t) in &e.terms {
        if let Term::Var(v) = t {
            scalars.push(scalar_i128(c));
            points.push(*commitments[usize::from(v.0)].point());
        }
    }
    RistrettoPoint::vartime_multiscalar_mul(scalars, points)
}
