//! Numeric oracle outcomes: the payout of a bet on a number, and the digit
//! prefixes that let two parties sign one adaptor signature per payout run
//! instead of one per value. This is the arithmetic half of a numeric
//! Discreet Log Contract; the attestation points and adaptor signatures
//! built on these prefixes live beside it in [`crate::oracle`].
//!
//! # What it computes
//!
//! An oracle attests a value in a [`Domain`] `0..base^digits` by signing
//! each of its `digits` digits (most significant first) with its own
//! pre-announced nonce. A set of values that agree on their first `k`
//! digits is one [`Prefix`]: a signature adapted to the sum of those `k`
//! attestation points completes for every value under it.
//!
//! 1. [`PayoutCurve`]: the offerer's payout as straight lines between points
//!    (outcome, payout), exactly as dlcspecs `PayoutCurve.md` evaluates a
//!    curve whose polynomial pieces have no midpoints.
//! 2. [`RoundingIntervals`]: the payout at an outcome is rounded to the
//!    nearest multiple of the modulus in force there, ties up, then clamped
//!    to `[0, collateral]` (dlcspecs `NumericOutcome.md`, "Rounding
//!    Intervals" and "Contract Execution Transaction Calculation and
//!    Signing").
//! 3. [`ranges`]: the maximal runs of consecutive outcomes with the same
//!    rounded payout.
//! 4. [`cover`] and [`compress`]: each run as the fewest digit prefixes
//!    (dlcspecs `NumericOutcomeCompression.md`).
//!
//! # Invariants
//!
//! - **Exact.** Payouts are computed in integers: a point's payout is a
//!   fixed-point number with 16 fractional bits (the spec's
//!   `extra_precision`), a line's value at an outcome is an exact fraction
//!   of `u128`s, and rounding compares that fraction with the half-way
//!   point exactly. Both parties therefore compute the same payouts,
//!   bit for bit, on any machine; no floating point anywhere.
//! - **Bounded.** A domain has at most 2^40 values ([`MAX_DOMAIN_SIZE`]).
//!   With payouts below 2^64 and 16 fractional bits, every numerator is
//!   below `2^80 · 2^40 = 2^120`, which leaves `u128` room for the doubled
//!   and shifted terms of rounding; the bound is what makes exactness cheap.
//! - **Never more than the collateral.** Every payout this module returns is
//!   in `[0, collateral]`, whatever the rounding.
//! - **A partition.** [`ranges`] returns runs that partition the whole
//!   domain, in order, with no two neighbours paying the same; [`compress`]
//!   turns a partition into prefixes that partition the domain again, so
//!   every value the oracle can attest completes exactly one adaptor
//!   signature. Overlapping prefixes with different payouts would let the
//!   party holding them choose the better transaction, so [`compress`]
//!   refuses input ranges that overlap or leave a gap.
//! - Nothing here panics on its input; a failure is a [`NumericError`]
//!   naming the culprit.
//!
//! # Cost
//!
//! - [`cover`] returns at most `2·(b-1)·n` prefixes for base `b` and `n`
//!   digits, in `O(b·n²)` time.
//! - [`ranges`] costs `O(P + I + r)` for `P` curve points, `I` rounding
//!   intervals and `r` runs returned: each line is walked run by run, the
//!   end of a run found with at most one division, never value by value.
//!   A 2^32-value domain with a coarse rounding costs a few hundred steps;
//!   the cost grows with the number of distinct payouts, not of outcomes.
//! - [`compress`] costs `O(r·b·n²)`.
//!
//! # Funds at stake
//!
//! The two parties must agree on every (prefix, payout) pair, or the
//! counterparty's adaptor signatures will not verify and the contract is
//! not signed. The spec allows implementations that round with floating
//! point, which may land one modulus away at an exact half-way point; its
//! validation step ("Contract Execution Transaction Signature Validation")
//! tells a verifier to retry with the other rounding direction before
//! rejecting. This module gives the exact answer; a verifier facing a
//! floating-point peer still needs that retry.

use thiserror::Error;

/// The largest number of values a [`Domain`] may have: 2^40.
///
/// It keeps interpolation exact in `u128` (see the module doc) and is far
/// beyond any price an oracle attests: 2^40 cents is eleven billion
/// dollars, and a binary oracle then announces 40 nonces.
pub const MAX_DOMAIN_SIZE: u64 = 1 << 40;

/// The largest digit base. dlcspecs recommends base 2 (fewest attestation
/// points and adaptor signatures, `NumericOutcomeCompression.md`, "Counting
/// Adaptor Signatures"); up to 16 covers the decimal and hexadecimal oracles
/// in use. A larger base costs up to `b-1` prefixes per digit and `b`
/// attestation points per nonce for no gain.
pub const MAX_BASE: u8 = 16;

/// Fractional bits of a point's payout (the spec's `u16` `extra_precision`).
const EXTRA_BITS: u32 = 16;

/// What went wrong, and with which input.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NumericError {
    /// A domain's base is not in `2..=MAX_BASE`.
    #[error("base {base} is not between 2 and {MAX_BASE}")]
    Base {
        /// The base given.
        base: u8,
    },
    /// A domain has no digits.
    #[error("a domain needs at least one digit")]
    NoDigits,
    /// `base^digits` exceeds [`MAX_DOMAIN_SIZE`].
    #[error("{base}^{digits} values exceed the largest domain, 2^40")]
    DomainTooLarge {
        /// The base given.
        base: u8,
        /// The number of digits given.
        digits: u8,
    },
    /// A value is not in the domain `0..size`.
    #[error("value {value} is outside the domain 0..{size}")]
    OutOfDomain {
        /// The value given.
        value: u64,
        /// The domain's size.
        size: u64,
    },
    /// A digit string does not have as many digits as the domain.
    #[error("{got} digits given, the domain has {expected}")]
    DigitCount {
        /// The number of digits given.
        got: usize,
        /// The domain's number of digits.
        expected: u8,
    },
    /// A digit is not below the base.
    #[error("digit {index} is {digit}, not below base {base}")]
    Digit {
        /// Its position, most significant first.
        index: usize,
        /// The digit.
        digit: u8,
        /// The domain's base.
        base: u8,
    },
    /// A range to cover ends before it starts.
    #[error("range {start}..={end} ends before it starts")]
    Reversed {
        /// The range's first value.
        start: u64,
        /// The range's last value.
        end: u64,
    },
    /// A payout curve has no points.
    #[error("a payout curve needs points")]
    EmptyCurve,
    /// A payout curve's first point is not at outcome 0.
    #[error("the payout curve starts at outcome {outcome}, not 0")]
    CurveStart {
        /// The first point's outcome.
        outcome: u64,
    },
    /// A payout curve's last point is not at the domain's last value.
    #[error("the payout curve ends at outcome {outcome}, not at the domain's last value {max}")]
    CurveEnd {
        /// The last point's outcome.
        outcome: u64,
        /// The domain's last value.
        max: u64,
    },
    /// A point's outcome does not exceed the previous point's.
    #[error("point {index} is at outcome {outcome}, not after the previous point's {previous}")]
    PointOrder {
        /// The point's index.
        index: usize,
        /// Its outcome.
        outcome: u64,
        /// The previous point's outcome.
        previous: u64,
    },
    /// A point pays more than the collateral.
    #[error(
        "point {index} pays {payout} + {extra_precision}/65536, more than the collateral {collateral}"
    )]
    PayoutAboveCollateral {
        /// The point's index.
        index: usize,
        /// Its payout's integer part.
        payout: u64,
        /// Its payout's fractional part, in 65536ths.
        extra_precision: u16,
        /// The curve's collateral.
        collateral: u64,
    },
    /// A rounding interval does not begin after the previous one.
    #[error("rounding interval {index} begins at {begin}, not after the previous one's {previous}")]
    RoundingOrder {
        /// The interval's index.
        index: usize,
        /// Where it begins.
        begin: u64,
        /// Where the previous one begins.
        previous: u64,
    },
    /// A rounding interval's modulus is zero.
    #[error("rounding interval {index} has modulus 0")]
    ZeroModulus {
        /// The interval's index.
        index: usize,
    },
    /// A payout range does not start right after the previous one (a gap or
    /// an overlap), or the first does not start at 0.
    #[error("payout range {index} starts at {start}, expected {expected}")]
    RangeStart {
        /// The range's index.
        index: usize,
        /// Where it starts.
        start: u64,
        /// Where it should start.
        expected: u64,
    },
    /// A payout range ends before it starts or past the domain.
    #[error("payout range {index} is {start}..={end}, not a range of the domain")]
    InvalidRange {
        /// The range's index.
        index: usize,
        /// Its first value.
        start: u64,
        /// Its last value.
        end: u64,
    },
    /// The payout ranges stop before the domain's last value.
    #[error("no payout range covers the outcomes from {from} on")]
    Uncovered {
        /// The first outcome not covered.
        from: u64,
    },
    /// An intermediate result overflowed. This always represents a bug: the
    /// domain and payout bounds keep every intermediate below 2^123.
    #[error("arithmetic overflow in payout computation (a bug)")]
    Overflow,
}

/// The values an oracle can attest: `0..base^digits`, each signed as
/// `digits` digits in `base`, most significant first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Domain {
    base: u8,
    digits: u8,
    size: u64,
}

impl Domain {
    /// The domain of `digits`-digit numbers in `base`.
    pub fn new(base: u8, digits: u8) -> Result<Self, NumericError> {
        if !(2..=MAX_BASE).contains(&base) {
            return Err(NumericError::Base { base });
        }
        if digits == 0 {
            return Err(NumericError::NoDigits);
        }
        match u64::from(base).checked_pow(u32::from(digits)) {
            Some(size) if size <= MAX_DOMAIN_SIZE => Ok(Self { base, digits, size }),
            _ => Err(NumericError::DomainTooLarge { base, digits }),
        }
    }

    /// The domain of `digits`-bit numbers, the spec's preferred base.
    pub fn binary(digits: u8) -> Result<Self, NumericError> {
        Self::new(2, digits)
    }

    /// The base the oracle writes values in.
    pub fn base(self) -> u8 {
        self.base
    }

    /// How many digits (and nonces) a value has.
    pub fn digits(self) -> u8 {
        self.digits
    }

    /// The number of values, `base^digits`.
    pub fn size(self) -> u64 {
        self.size
    }

    /// The largest value, `base^digits - 1`.
    pub fn max_outcome(self) -> u64 {
        // size >= 2: base >= 2 and digits >= 1.
        self.size - 1
    }

    fn check(self, value: u64) -> Result<(), NumericError> {
        if value < self.size {
            Ok(())
        } else {
            Err(NumericError::OutOfDomain {
                value,
                size: self.size,
            })
        }
    }

    /// The digits of `value`, most significant first, padded with zeros to
    /// the domain's width (dlcspecs `NumericOutcomeCompression.md`,
    /// "Algorithms", `decompose`).
    pub fn digits_of(self, value: u64) -> Result<Vec<u8>, NumericError> {
        self.check(value)?;
        Ok(self.leading_digits(value, usize::from(self.digits)))
    }

    /// The value whose digits these are; there must be exactly as many as
    /// the domain has.
    pub fn value_of(self, digits: &[u8]) -> Result<u64, NumericError> {
        if digits.len() != usize::from(self.digits) {
            return Err(NumericError::DigitCount {
                got: digits.len(),
                expected: self.digits,
            });
        }
        let mut value = 0u64;
        for (index, &digit) in digits.iter().enumerate() {
            if digit >= self.base {
                return Err(NumericError::Digit {
                    index,
                    digit,
                    base: self.base,
                });
            }
            // Below base^digits <= 2^40 throughout: no overflow.
            value = value * u64::from(self.base) + u64::from(digit);
        }
        Ok(value)
    }

    /// The first `len` of the `digits` digits of `value` (< size).
    fn leading_digits(self, value: u64, len: usize) -> Vec<u8> {
        let base = u64::from(self.base);
        let mut all = vec![0u8; usize::from(self.digits)];
        let mut rest = value;
        for digit in all.iter_mut().rev() {
            // rest % base < base <= 16 fits a u8.
            *digit = (rest % base) as u8;
            rest /= base;
        }
        all.truncate(len);
        all
    }
}

/// The values whose first digits are [`Prefix::digits`]: one adaptor
/// signature, adapted to the sum of those digits' attestation points,
/// completes for every one of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    digits: Vec<u8>,
    start: u64,
    end: u64,
}

impl Prefix {
    /// The fixed digits, most significant first; digit `i` is attested with
    /// the oracle's nonce `i`. Empty for a prefix that covers the whole
    /// domain, which needs no attestation at all.
    pub fn digits(&self) -> &[u8] {
        &self.digits
    }

    /// The first value covered.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The last value covered.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Whether `value` begins with these digits.
    pub fn contains(&self, value: u64) -> bool {
        (self.start..=self.end).contains(&value)
    }
}

/// The fewest digit prefixes whose values partition `start..=end`, in
/// increasing order (dlcspecs `NumericOutcomeCompression.md`, "Numeric
/// Outcome Compression").
///
/// A prefix of `k` digits covers an aligned block of `base^(n-k)` values.
/// Aligned blocks nest, so the blocks that lie inside the range and in no
/// larger such block are disjoint, cover it, and are the unique smallest
/// partition; walking from `start` and taking the largest aligned block
/// that fits finds exactly those. This is the spec's front, middle and back
/// groupings with its "endpoint" and "total" optimizations (section
/// "Optimizations"), with one difference: the whole domain is one empty
/// prefix here, where the spec's `groupByIgnoringDigits` refuses it. Each
/// digit position contributes at most `b-1` prefixes on each side of the
/// range, so there are at most `2·(b-1)·n`.
pub fn cover(domain: Domain, start: u64, end: u64) -> Result<Vec<Prefix>, NumericError> {
    domain.check(end)?;
    if start > end {
        return Err(NumericError::Reversed { start, end });
    }
    let base = u64::from(domain.base);
    let digits = usize::from(domain.digits);
    let mut prefixes = Vec::new();
    let mut at = start;
    loop {
        // The largest block base^free aligned at `at` that ends by `end`.
        let (mut free, mut block) = (0usize, 1u64);
        while free < digits {
            let bigger = block * base;
            if !at.is_multiple_of(bigger) || at + (bigger - 1) > end {
                break;
            }
            free += 1;
            block = bigger;
        }
        let last = at + (block - 1);
        prefixes.push(Prefix {
            digits: domain.leading_digits(at, digits - free),
            start: at,
            end: last,
        });
        if last == end {
            return Ok(prefixes);
        }
        at = last + 1;
    }
}

/// Where a rounding modulus starts to apply (dlcspecs `NumericOutcome.md`,
/// "Rounding Interval Serialization": `begin_interval`, `rounding_mod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundingInterval {
    /// The first outcome this modulus applies to; it applies up to the next
    /// interval's `begin`.
    pub begin: u64,
    /// Payouts from `begin` on are rounded to a multiple of this; 1 means
    /// no rounding.
    pub modulus: u64,
}

/// The rounding moduli along the domain (dlcspecs `NumericOutcome.md`,
/// "Rounding Intervals"): coarser rounding where outcomes are unlikely
/// makes fewer distinct payouts, hence fewer prefixes to sign.
///
/// Before the first interval's `begin` (and everywhere, with no interval)
/// the modulus is 1, as the spec says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundingIntervals {
    intervals: Vec<RoundingInterval>,
}

impl RoundingIntervals {
    /// Intervals whose `begin`s strictly increase and whose moduli are at
    /// least 1 (the spec's "Requirements").
    pub fn new(intervals: Vec<RoundingInterval>) -> Result<Self, NumericError> {
        for (index, interval) in intervals.iter().enumerate() {
            if interval.modulus == 0 {
                return Err(NumericError::ZeroModulus { index });
            }
            if let Some(previous) = index.checked_sub(1).and_then(|i| intervals.get(i))
                && interval.begin <= previous.begin
            {
                return Err(NumericError::RoundingOrder {
                    index,
                    begin: interval.begin,
                    previous: previous.begin,
                });
            }
        }
        Ok(Self { intervals })
    }

    /// No rounding: modulus 1 everywhere.
    pub fn none() -> Self {
        Self::default()
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> &[RoundingInterval] {
        &self.intervals
    }

    /// The modulus in force at `outcome`.
    pub fn modulus_at(&self, outcome: u64) -> u64 {
        let after = self.intervals.partition_point(|i| i.begin <= outcome);
        after
            .checked_sub(1)
            .and_then(|i| self.intervals.get(i))
            .map_or(1, |i| i.modulus)
    }

    /// The first `begin` after `outcome`, where the modulus may change.
    fn next_begin(&self, outcome: u64) -> Option<u64> {
        let after = self.intervals.partition_point(|i| i.begin <= outcome);
        self.intervals.get(after).map(|i| i.begin)
    }

    /// The rounding both parties use when each proposed their own: at every
    /// outcome, the smaller of the two moduli (dlcspecs `NumericOutcome.md`,
    /// "Rounding Intervals").
    pub fn combine(&self, other: &Self) -> Self {
        let mut begins: Vec<u64> = std::iter::once(0)
            .chain(self.intervals.iter().map(|i| i.begin))
            .chain(other.intervals.iter().map(|i| i.begin))
            .collect();
        begins.sort_unstable();
        begins.dedup();
        let mut intervals: Vec<RoundingInterval> = Vec::with_capacity(begins.len());
        for begin in begins {
            let modulus = self.modulus_at(begin).min(other.modulus_at(begin));
            // Consecutive equal moduli are one interval.
            if intervals.last().is_none_or(|last| last.modulus != modulus) {
                intervals.push(RoundingInterval { begin, modulus });
            }
        }
        Self { intervals }
    }
}

/// A point of a payout curve: at `outcome` the offerer is paid
/// `payout + extra_precision / 65536` (dlcspecs `PayoutCurve.md`, "Curve
/// Serialization": `endpoint`, `endpoint_payout`, `extra_precision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutPoint {
    /// The attested value.
    pub outcome: u64,
    /// The offerer's payout there, integer part.
    pub payout: u64,
    /// The payout's fractional part, in 65536ths: the bits the spec keeps so
    /// that interpolating between rounded points stays accurate.
    pub extra_precision: u16,
}

impl PayoutPoint {
    /// A point with a whole payout.
    pub const fn new(outcome: u64, payout: u64) -> Self {
        Self {
            outcome,
            payout,
            extra_precision: 0,
        }
    }

    /// The payout in 65536ths, below 2^80.
    fn fixed(self) -> u128 {
        (u128::from(self.payout) << EXTRA_BITS) | u128::from(self.extra_precision)
    }
}

/// The offerer's payout over a whole domain: straight lines between
/// consecutive points, the spec's polynomial pieces without midpoints
/// (dlcspecs `PayoutCurve.md`, "Polynomial Curve Piece": "if `num_pts` is
/// 0 ... a line is interpolated between the endpoints"). Two consecutive
/// points with the same payout make a constant piece; a jump is a line
/// between consecutive outcomes, as the spec's "Requirements" prescribe.
///
/// The accepter is paid `collateral` minus the offerer's rounded payout,
/// never a curve of its own: rounding each side separately could lose a
/// unit (`PayoutCurve.md`, "Curve Serialization").
///
/// Higher-degree polynomial and hyperbola pieces are not supported: exact
/// evaluation of them needs more than 128 bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutCurve {
    domain: Domain,
    collateral: u64,
    points: Vec<PayoutPoint>,
}

impl PayoutCurve {
    /// A curve over all of `domain` paying at most `collateral`: outcomes
    /// strictly increase from 0 to the domain's last value, and no point
    /// pays more than `collateral`.
    pub fn new(
        domain: Domain,
        collateral: u64,
        points: Vec<PayoutPoint>,
    ) -> Result<Self, NumericError> {
        let (first, last) = match (points.first(), points.last()) {
            (Some(first), Some(last)) => (first.outcome, last.outcome),
            _ => return Err(NumericError::EmptyCurve),
        };
        if first != 0 {
            return Err(NumericError::CurveStart { outcome: first });
        }
        let cap = u128::from(collateral) << EXTRA_BITS;
        for (index, point) in points.iter().enumerate() {
            if let Some(previous) = index.checked_sub(1).and_then(|i| points.get(i))
                && point.outcome <= previous.outcome
            {
                return Err(NumericError::PointOrder {
                    index,
                    outcome: point.outcome,
                    previous: previous.outcome,
                });
            }
            if point.fixed() > cap {
                return Err(NumericError::PayoutAboveCollateral {
                    index,
                    payout: point.payout,
                    extra_precision: point.extra_precision,
                    collateral,
                });
            }
        }
        if last != domain.max_outcome() {
            return Err(NumericError::CurveEnd {
                outcome: last,
                max: domain.max_outcome(),
            });
        }
        // Two points at least: the domain has two values or more.
        debug_assert!(points.len() >= 2);
        Ok(Self {
            domain,
            collateral,
            points,
        })
    }

    /// The domain the curve covers.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// The total collateral: what both parties are paid together.
    pub fn collateral(&self) -> u64 {
        self.collateral
    }

    /// The points, in order of outcome.
    pub fn points(&self) -> &[PayoutPoint] {
        &self.points
    }

    /// The offerer's payout at `outcome`: the line through the points
    /// around it, rounded with the modulus in force there (ties up), then
    /// clamped to the collateral.
    pub fn payout_at(
        &self,
        outcome: u64,
        rounding: &RoundingIntervals,
    ) -> Result<u64, NumericError> {
        self.domain.check(outcome)?;
        // Step 1) PayoutCurve.md, "General Function Evaluation": find the
        // piece. The first point at or after the outcome ends its line; a
        // point's own outcome takes the line on its left, whose value there
        // is the point's payout ("If found, return endpoint_payout").
        let right = self.points.partition_point(|p| p.outcome < outcome).max(1);
        let line = match (
            right.checked_sub(1).and_then(|i| self.points.get(i)),
            self.points.get(right),
        ) {
            (Some(p), Some(q)) => Line::new(*p, *q),
            // The curve spans the domain, so the outcome has a line.
            _ => return Err(NumericError::Overflow),
        };
        // Step 2) Interpolate, exactly: the value is numerator / (dx·65536).
        let numerator = line.numerator(outcome).ok_or(NumericError::Overflow)?;
        // Step 3) NumericOutcome.md, "Rounding Intervals": the nearest
        // multiple of the modulus in force, ties up.
        let modulus = rounding.modulus_at(outcome);
        let scale = Scale::new(&line, modulus).ok_or(NumericError::Overflow)?;
        let (level, _) = scale.level(numerator).ok_or(NumericError::Overflow)?;
        // Step 4) NumericOutcome.md, "Contract Execution Transaction
        // Calculation and Signing": clamp after rounding.
        Ok(clamp(level, modulus, self.collateral))
    }
}

/// Consecutive outcomes `start..=end` that pay the offerer `payout`; the
/// accepter gets the collateral minus it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutRange {
    /// The first outcome.
    pub start: u64,
    /// The last outcome.
    pub end: u64,
    /// The offerer's payout.
    pub payout: u64,
}

/// The maximal runs of consecutive outcomes with the same rounded, clamped
/// payout, in order, partitioning the curve's whole domain (dlcspecs
/// `NumericOutcome.md`, "Contract Execution Transaction Calculation and
/// Signing": "the constant-valued intervals be as large as possible").
///
/// Each line is walked run by run between rounding boundaries: on a line
/// the rounded payout is monotone, so the end of a run is where the line
/// next crosses a half-way point between multiples of the modulus, found
/// by one division (none on lines so steep that every outcome pays
/// differently). `O(P + I + r)` for `P` points, `I` rounding intervals
/// and `r` runs returned.
pub fn ranges(
    curve: &PayoutCurve,
    rounding: &RoundingIntervals,
) -> Result<Vec<PayoutRange>, NumericError> {
    let mut runs = Vec::new();
    let mut outcome = 0u64;
    for pair in curve.points.windows(2) {
        let [p, q] = pair else {
            continue;
        };
        let line = Line::new(*p, *q);
        // Each outcome belongs to the first line that reaches it; at a
        // shared point both lines give the point's payout.
        while outcome <= q.outcome {
            let modulus = rounding.modulus_at(outcome);
            // next_begin > outcome, so end >= outcome and the walk advances.
            let end = rounding
                .next_begin(outcome)
                .map_or(q.outcome, |begin| q.outcome.min(begin - 1));
            walk(&line, outcome, end, modulus, curve.collateral, &mut runs)
                .ok_or(NumericError::Overflow)?;
            // end <= max outcome < 2^40.
            outcome = end + 1;
        }
    }
    Ok(runs)
}

/// Each range of a partition of the domain as its fewest prefixes, paired
/// with the range's payout (dlcspecs `NumericOutcome.md`, "Contract
/// Execution Transaction Calculation and Signing", last step).
///
/// The ranges must partition the domain in order: the first starts at 0,
/// each starts right after the previous, and the last ends at the
/// domain's last value, so that every value lies under exactly one prefix.
/// Neighbours with the same payout are merged first, so the result is the
/// fewest prefixes for these payouts.
pub fn compress(
    ranges: &[PayoutRange],
    domain: Domain,
) -> Result<Vec<(Prefix, u64)>, NumericError> {
    let mut merged: Vec<PayoutRange> = Vec::with_capacity(ranges.len());
    let mut expected = 0u64;
    for (index, range) in ranges.iter().enumerate() {
        if range.start != expected {
            return Err(NumericError::RangeStart {
                index,
                start: range.start,
                expected,
            });
        }
        if range.end < range.start || range.end > domain.max_outcome() {
            return Err(NumericError::InvalidRange {
                index,
                start: range.start,
                end: range.end,
            });
        }
        push_run(&mut merged, range.start, range.end, range.payout);
        // end <= max outcome < 2^40.
        expected = range.end + 1;
    }
    if expected != domain.size() {
        return Err(NumericError::Uncovered { from: expected });
    }
    let mut prefixes = Vec::new();
    for range in merged {
        for prefix in cover(domain, range.start, range.end)? {
            prefixes.push((prefix, range.payout));
        }
    }
    Ok(prefixes)
}

/// Appends a run, extending the last one instead when it pays the same.
fn push_run(runs: &mut Vec<PayoutRange>, start: u64, end: u64, payout: u64) {
    if let Some(last) = runs.last_mut()
        && last.payout == payout
        && last.end.checked_add(1) == Some(start)
    {
        last.end = end;
        return;
    }
    runs.push(PayoutRange { start, end, payout });
}

/// The line between two consecutive points, payouts in 65536ths. Its value
/// at outcome `x` is `numerator(x) / (dx · 65536)` exactly, with
/// `numerator(x) = y0·dx ± slope·(x - x0)`, below `2^80 · 2^40`.
struct Line {
    x0: u64,
    dx: u128,
    y0: u128,
    /// `|y1 - y0|`: the numerator's change per outcome.
    slope: u128,
    rising: bool,
}

impl Line {
    fn new(p: PayoutPoint, q: PayoutPoint) -> Self {
        let (y0, y1) = (p.fixed(), q.fixed());
        Self {
            x0: p.outcome,
            // Points strictly increase, so dx >= 1.
            dx: u128::from(q.outcome.saturating_sub(p.outcome)),
            y0,
            slope: y0.abs_diff(y1),
            rising: y1 >= y0,
        }
    }

    /// The numerator of the value at `x`, for `x` on the line.
    fn numerator(&self, x: u64) -> Option<u128> {
        let along = self
            .slope
            .checked_mul(u128::from(x.checked_sub(self.x0)?))?;
        let start = self.y0.checked_mul(self.dx)?;
        if self.rising {
            start.checked_add(along)
        } else {
            start.checked_sub(along)
        }
    }
}

/// Rounding of a line's values to multiples of `modulus`.
///
/// With value `v = A / D` (`A` the line's numerator, `D = dx · 65536`) and
/// modulus `R`, the nearest multiple of `R`, ties up, is `R·k` with
/// `k = floor((2A + D·R) / (2·D·R))`: the spec's "closer of
/// `value - (value % R)` or `value - (value % R) + R`, rounding up in the
/// case of a tie", in integers. `N = 2A + D·R` is below 2^122 and
/// `M = 2·D·R` below 2^121.
struct Scale {
    /// `D · R`, where the half-way offset lives.
    half: u128,
    /// `M = 2 · D · R`: one rounding level in units of `N`.
    level: u128,
}

impl Scale {
    fn new(line: &Line, modulus: u64) -> Option<Self> {
        let half = (line.dx << EXTRA_BITS).checked_mul(u128::from(modulus))?;
        Some(Self {
            half,
            level: half.checked_mul(2)?,
        })
    }

    /// `(k, N mod M)` for numerator `a`.
    fn level(&self, a: u128) -> Option<(u128, u128)> {
        let n = a.checked_mul(2)?.checked_add(self.half)?;
        Some((n.checked_div(self.level)?, n.checked_rem(self.level)?))
    }
}

/// The payout of rounding level `level`: `level · modulus`, clamped to the
/// collateral after rounding, as the spec orders it. Lines between
/// non-negative points never go below zero, so only the top needs a clamp.
fn clamp(level: u128, modulus: u64, collateral: u64) -> u64 {
    let rounded = level.saturating_mul(u128::from(modulus));
    u64::try_from(rounded.min(u128::from(collateral))).unwrap_or(collateral)
}

/// Appends the runs of `line` over `start..=end` (all under one modulus)
/// to `runs`. `None` only on overflow, which the bounds exclude.
///
/// The walk keeps `N(x) = k·M + rem` for the current outcome and moves it
/// by `±2·slope` per outcome. Rising, the level changes once `rem` reaches
/// `M`; falling, once it goes below 0. A shallow line (`2·slope <= M`)
/// changes level by one, after `ceil((M - rem) / 2·slope)` outcomes rising
/// and `floor(rem / 2·slope) + 1` falling. A steep line changes level at
/// every outcome, by `q` or `q + 1` with `2·slope = q·M + r`.
fn walk(
    line: &Line,
    start: u64,
    end: u64,
    modulus: u64,
    collateral: u64,
    runs: &mut Vec<PayoutRange>,
) -> Option<()> {
    let scale = Scale::new(line, modulus)?;
    let (mut k, mut rem) = scale.level(line.numerator(start)?)?;
    if line.slope == 0 {
        push_run(runs, start, end, clamp(k, modulus, collateral));
        return Some(());
    }
    let m = scale.level;
    let step = line.slope.checked_mul(2)?;
    let steep = step > m;
    let (q, r) = (step.checked_div(m)?, step.checked_rem(m)?);
    let mut at = start;
    loop {
        debug_assert_eq!(
            scale.level(line.numerator(at)?),
            Some((k, rem)),
            "walk lost track of the level at {at}"
        );
        let payout = clamp(k, modulus, collateral);
        let stay: u128 = if steep {
            1
        } else if line.rising {
            (m - rem).div_ceil(step)
        } else {
            rem / step + 1
        };
        // The run is `stay` outcomes long, or reaches `end`.
        let left = u128::from(end - at);
        if stay > left {
            push_run(runs, at, end, payout);
            return Some(());
        }
        // stay <= left < 2^40, so it fits.
        let stay = u64::try_from(stay).ok()?;
        push_run(runs, at, at + (stay - 1), payout);
        at += stay;
        match (steep, line.rising) {
            (true, true) => {
                rem += r;
                k = k.checked_add(q)?;
                if rem >= m {
                    rem -= m;
                    k = k.checked_add(1)?;
                }
            }
            (true, false) => {
                k = k.checked_sub(q)?;
                if rem < r {
                    rem += m - r;
                    k = k.checked_sub(1)?;
                } else {
                    rem -= r;
                }
            }
            (false, true) => {
                // m <= rem + step·stay < m + step <= 2m.
                rem = (rem + step * u128::from(stay)).checked_sub(m)?;
                k = k.checked_add(1)?;
            }
            (false, false) => {
                // -step <= rem - step·stay < 0, and step <= m.
                rem = (rem + m).checked_sub(step * u128::from(stay))?;
                k = k.checked_sub(1)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;
    use std::time::Instant;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng as _};
    use sotto_circuits::fuzzing::harness::seed;

    use super::*;

    /// Runs a property over `cases` inputs from `strategy`, seeded from
    /// `SOTTO_TEST_SEED` (printed), so that a failure replays.
    fn check<S>(cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
    where
        S: Strategy,
        S::Value: Debug,
    {
        let seed = seed();
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        if let Err(failure) = runner.run(&strategy, property) {
            panic!("SOTTO_TEST_SEED={seed}: {failure}");
        }
    }

    /// Digits as the spec writes them, one character each.
    fn show(prefix: &Prefix) -> String {
        prefix
            .digits()
            .iter()
            .map(|&d| char::from_digit(u32::from(d), 16).unwrap_or('?'))
            .collect()
    }

    fn most_digits(base: u8, limit: u64) -> u8 {
        let mut digits = 1u8;
        while u64::from(base).pow(u32::from(digits) + 1) <= limit {
            digits += 1;
        }
        digits
    }

    /// Every domain of at most `limit` values.
    fn domains(limit: u64) -> impl Strategy<Value = Domain> {
        (2u8..=MAX_BASE)
            .prop_flat_map(move |base| (Just(base), 1..=most_digits(base, limit)))
            .prop_map(|(base, digits)| Domain::new(base, digits).expect("within the limit"))
    }

    fn domain_and_range() -> impl Strategy<Value = (Domain, u64, u64)> {
        domains(MAX_DOMAIN_SIZE).prop_flat_map(|domain| {
            let max = domain.max_outcome();
            // Half the time a short range, whose digits differ late.
            (Just(domain), 0..=max, prop_oneof![0..=max, 0..=64u64]).prop_map(
                move |(domain, a, b)| {
                    let (start, end) = if b <= 64 {
                        (a, a.saturating_add(b).min(max))
                    } else {
                        (a.min(b), a.max(b))
                    };
                    (domain, start, end)
                },
            )
        })
    }

    /// Checks that `prefixes` partition `start..=end` with at most
    /// `2·(b-1)·n` prefixes, that each prefix's digits are those of its
    /// values, and that none could be merged into a larger one.
    fn assert_partition(
        domain: Domain,
        start: u64,
        end: u64,
        prefixes: &[Prefix],
    ) -> Result<(), TestCaseError> {
        let (base, digits) = (u64::from(domain.base()), u32::from(domain.digits()));
        prop_assert!(prefixes.len() as u64 <= 2 * (base - 1) * u64::from(digits));
        let mut expected = start;
        for prefix in prefixes {
            prop_assert_eq!(prefix.start(), expected);
            let free = digits - prefix.digits().len() as u32;
            prop_assert_eq!(prefix.end() - prefix.start() + 1, base.pow(free));
            // The prefix's digits, padded with zeros, are its first value.
            let mut padded = prefix.digits().to_vec();
            padded.resize(usize::from(domain.digits()), 0);
            prop_assert_eq!(domain.value_of(&padded), Ok(prefix.start()));
            // Minimal: the block one digit shorter does not fit the range.
            if free < digits {
                let parent = base.pow(free + 1);
                let parent_start = prefix.start() / parent * parent;
                prop_assert!(parent_start < start || parent_start + parent - 1 > end);
            }
            expected = prefix.end() + 1;
        }
        prop_assert_eq!(expected, end + 1);
        Ok(())
    }

    #[test]
    fn domains_validate() {
        let cases = [
            (1, 4, Err(NumericError::Base { base: 1 })),
            (17, 2, Err(NumericError::Base { base: 17 })),
            (2, 0, Err(NumericError::NoDigits)),
            (
                2,
                41,
                Err(NumericError::DomainTooLarge {
                    base: 2,
                    digits: 41,
                }),
            ),
            (
                16,
                11,
                Err(NumericError::DomainTooLarge {
                    base: 16,
                    digits: 11,
                }),
            ),
            (
                3,
                255,
                Err(NumericError::DomainTooLarge {
                    base: 3,
                    digits: 255,
                }),
            ),
            (2, 40, Ok(1 << 40)),
            (10, 12, Ok(1_000_000_000_000)),
            (16, 10, Ok(1 << 40)),
            (2, 1, Ok(2)),
        ];
        for (base, digits, expected) in cases {
            assert_eq!(
                Domain::new(base, digits).map(Domain::size),
                expected,
                "{base}^{digits}"
            );
        }
    }

    #[test]
    fn digits_round_trip_and_name_the_culprit() {
        let decimal = Domain::new(10, 6).expect("valid");
        assert_eq!(decimal.digits_of(135677), Ok(vec![1, 3, 5, 6, 7, 7]));
        assert_eq!(decimal.digits_of(42), Ok(vec![0, 0, 0, 0, 4, 2]));
        assert_eq!(decimal.value_of(&[1, 3, 5, 6, 7, 7]), Ok(135677));
        assert_eq!(
            decimal.digits_of(1_000_000),
            Err(NumericError::OutOfDomain {
                value: 1_000_000,
                size: 1_000_000
            })
        );
        assert_eq!(
            decimal.value_of(&[1, 2, 3]),
            Err(NumericError::DigitCount {
                got: 3,
                expected: 6
            })
        );
        assert_eq!(
            decimal.value_of(&[0, 0, 0, 10, 0, 0]),
            Err(NumericError::Digit {
                index: 3,
                digit: 10,
                base: 10
            })
        );
        let binary = Domain::binary(14).expect("valid");
        assert_eq!(
            binary.digits_of(5677),
            Ok(vec![0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1])
        );
        check(
            256,
            domains(MAX_DOMAIN_SIZE).prop_flat_map(|d| (Just(d), 0..d.size())),
            |(domain, value)| {
                let digits = domain.digits_of(value).expect("in the domain");
                prop_assert_eq!(digits.len(), usize::from(domain.digits()));
                prop_assert_eq!(domain.value_of(&digits), Ok(value));
                Ok(())
            },
        );
    }

    /// The spec's worked examples (`NumericOutcomeCompression.md`,
    /// "Concrete Example" and "Optimizations"), digit for digit.
    #[test]
    fn cover_matches_the_spec_examples() {
        let decimal = Domain::new(10, 6).expect("valid");
        let got: Vec<String> = cover(decimal, 135677, 138621)
            .expect("valid")
            .iter()
            .map(show)
            .collect();
        let want = [
            "135677", "135678", "135679", "13568", "13569", "1357", "1358", "1359", "136", "137",
            "1380", "1381", "1382", "1383", "1384", "1385", "13860", "13861", "138620", "138621",
        ];
        assert_eq!(got, want);

        let binary = Domain::binary(14).expect("valid");
        let got: Vec<String> = cover(binary, 5677, 8621)
            .expect("valid")
            .iter()
            .map(show)
            .collect();
        let want = [
            "01011000101101",
            "0101100010111",
            "0101100011",
            "01011001",
            "0101101",
            "010111",
            "011",
            "100000",
            "1000010",
            "100001100",
            "10000110100",
            "100001101010",
            // The spec lists 8621 = 10000110101101 and 10000110101100 apart;
            // its endpoint optimization (end digit B-1) merges them, so 13
            // prefixes where the unoptimized example counts 14.
            "1000011010110",
        ];
        assert_eq!(got, want);

        // The endpoint optimization: 22__, 23__ .. 29__, 3___, 4___.
        let four = Domain::new(10, 4).expect("valid");
        let got: Vec<String> = cover(four, 2200, 4999)
            .expect("valid")
            .iter()
            .map(show)
            .collect();
        assert_eq!(
            got,
            ["22", "23", "24", "25", "26", "27", "28", "29", "3", "4"]
        );
    }

    #[test]
    fn the_whole_domain_is_one_empty_prefix() {
        for (base, digits) in [(2, 1), (2, 20), (2, 40), (10, 6), (16, 10), (3, 25)] {
            let domain = Domain::new(base, digits).expect("valid");
            let prefixes = cover(domain, 0, domain.max_outcome()).expect("valid");
            assert_eq!(prefixes.len(), 1, "{base}^{digits}");
            assert!(prefixes[0].digits().is_empty());
            assert_eq!(
                (prefixes[0].start(), prefixes[0].end()),
                (0, domain.max_outcome())
            );
        }
    }

    #[test]
    fn cover_refuses_bad_ranges() {
        let domain = Domain::binary(4).expect("valid");
        assert_eq!(
            cover(domain, 3, 2),
            Err(NumericError::Reversed { start: 3, end: 2 })
        );
        assert_eq!(
            cover(domain, 3, 16),
            Err(NumericError::OutOfDomain {
                value: 16,
                size: 16
            })
        );
        assert_eq!(
            cover(domain, u64::MAX, u64::MAX),
            Err(NumericError::OutOfDomain {
                value: u64::MAX,
                size: 16
            })
        );
    }

    #[test]
    fn cover_partitions_random_ranges_minimally() {
        check(2000, domain_and_range(), |(domain, start, end)| {
            let prefixes = cover(domain, start, end).expect("a range of the domain");
            assert_partition(domain, start, end, &prefixes)
        });
    }

    /// The spec's rounding, literally, on an exact fraction `num / den`:
    /// "the closer of `value - (value % R)` or `value - (value % R) + R`,
    /// rounding up in the case of a tie", then clamped.
    fn spec_round(num: u128, den: u128, modulus: u64, collateral: u64) -> u64 {
        let r = u128::from(modulus);
        let rem = num % (den * r); // value % R, times den
        let down = (num - rem) / den;
        let up = down + r;
        // value - down = rem/den against up - value = R - rem/den.
        let rounded = if 2 * rem >= den * r { up } else { down };
        u64::try_from(rounded.min(u128::from(collateral))).expect("clamped")
    }

    /// The payout at `x` straight from the spec's interpolation, written
    /// another way than [`Line`]: `(y0·(x1-x) + y1·(x-x0)) / (x1-x0)`.
    fn spec_payout(curve: &PayoutCurve, rounding: &RoundingIntervals, x: u64) -> u64 {
        let points = curve.points();
        let i = points
            .windows(2)
            .position(|w| w[0].outcome <= x && x <= w[1].outcome)
            .expect("the curve spans the domain");
        let (p, q) = (points[i], points[i + 1]);
        let num = p.fixed() * u128::from(q.outcome - x) + q.fixed() * u128::from(x - p.outcome);
        let den = u128::from(q.outcome - p.outcome) << EXTRA_BITS;
        spec_round(num, den, rounding.modulus_at(x), curve.collateral())
    }

    fn curve(digits: u8, collateral: u64, points: &[(u64, u64)]) -> PayoutCurve {
        PayoutCurve::new(
            Domain::binary(digits).expect("valid"),
            collateral,
            points
                .iter()
                .map(|&(x, y)| PayoutPoint::new(x, y))
                .collect(),
        )
        .expect("valid curve")
    }

    fn rounding(intervals: &[(u64, u64)]) -> RoundingIntervals {
        RoundingIntervals::new(
            intervals
                .iter()
                .map(|&(begin, modulus)| RoundingInterval { begin, modulus })
                .collect(),
        )
        .expect("valid rounding")
    }

    /// Curve points, collateral, modulus, outcome, and the payout there.
    type TieCase = (&'static [(u64, u64)], u64, u64, u64, u64);

    /// Half-way cases round up, whichever way the line goes, and whatever
    /// the modulus; the collateral caps what rounding up reaches.
    #[test]
    fn rounding_ties_go_up_and_the_collateral_caps() {
        let cases: [TieCase; 13] = [
            // 0.5 at outcome 1 on the line from 0 to 1 over two outcomes.
            (&[(0, 0), (2, 1), (15, 1)], 10, 1, 1, 1),
            // Exactly 30.5: 31. Evaluated in f64 as 7 * (61/14), the value is
            // 30.499999999999996 and rounds to 30 (rust-dlc's evaluation).
            (&[(0, 0), (14, 61), (15, 61)], 100, 1, 7, 31),
            // 2.5, 7.5 to multiples of 5: both ties, both up.
            (&[(0, 0), (10, 25), (15, 25)], 100, 5, 1, 5),
            (&[(0, 0), (10, 25), (15, 25)], 100, 5, 3, 10),
            (&[(0, 0), (10, 25), (15, 25)], 100, 5, 2, 5),
            // 37/15 = 2.47, below the tie: down.
            (&[(0, 0), (15, 37)], 100, 5, 1, 0),
            // Falling: 2.5 at outcome 9 still rounds up.
            (&[(0, 25), (10, 0), (15, 0)], 100, 5, 9, 5),
            // 15 to a multiple of 10: tie, up to 20.
            (&[(0, 15), (15, 15)], 100, 10, 7, 20),
            // 14 down to 10; 16 up to 20.
            (&[(0, 14), (15, 16)], 100, 10, 0, 10),
            (&[(0, 14), (15, 16)], 100, 10, 15, 20),
            // 999_999 rounds to 1_000_000, above the collateral: capped.
            (&[(0, 0), (15, 999_999)], 999_999, 10, 15, 999_999),
            // The spec rounds before it clamps: with a modulus that does not
            // divide the collateral, the top pays the multiple below it.
            (&[(0, 0), (15, 1_000_000)], 1_000_000, 300_000, 15, 900_000),
            (&[(0, 0), (15, 1_000_000)], 1_000_000, 300_000, 14, 900_000),
        ];
        for (points, collateral, modulus, outcome, want) in cases {
            let curve = curve(4, collateral, points);
            let rounding = rounding(&[(0, modulus)]);
            assert_eq!(
                curve.payout_at(outcome, &rounding),
                Ok(want),
                "{points:?} mod {modulus} at {outcome}"
            );
            assert_eq!(spec_payout(&curve, &rounding, outcome), want);
        }
        // Extra precision: 2 + 32768/65536 = 2.5 rounds up, one 65536th less
        // rounds down.
        let domain = Domain::binary(2).expect("valid");
        for (extra, want) in [(32768, 3), (32767, 2)] {
            let point = |outcome| PayoutPoint {
                outcome,
                payout: 2,
                extra_precision: extra,
            };
            let curve = PayoutCurve::new(domain, 10, vec![point(0), point(3)]).expect("valid");
            assert_eq!(curve.payout_at(1, &RoundingIntervals::none()), Ok(want));
        }
    }

    #[test]
    fn rounding_intervals_apply_from_their_begin() {
        let r = rounding(&[(100, 10), (200, 1000)]);
        assert_eq!(
            [0, 99, 100, 199, 200, u64::MAX].map(|x| r.modulus_at(x)),
            [1, 1, 10, 10, 1000, 1000]
        );
        assert_eq!(RoundingIntervals::none().modulus_at(7), 1);
        assert_eq!(
            RoundingIntervals::new(vec![
                RoundingInterval {
                    begin: 5,
                    modulus: 1
                },
                RoundingInterval {
                    begin: 5,
                    modulus: 2
                },
            ]),
            Err(NumericError::RoundingOrder {
                index: 1,
                begin: 5,
                previous: 5
            })
        );
        assert_eq!(
            RoundingIntervals::new(vec![RoundingInterval {
                begin: 0,
                modulus: 0
            }]),
            Err(NumericError::ZeroModulus { index: 0 })
        );
        // Each party's own intervals: the smaller modulus wins everywhere.
        let other = rounding(&[(0, 50), (150, 5), (300, 10_000)]);
        let both = r.combine(&other);
        for x in [0, 99, 100, 149, 150, 199, 200, 299, 300, 10_000] {
            assert_eq!(
                both.modulus_at(x),
                r.modulus_at(x).min(other.modulus_at(x)),
                "at {x}"
            );
        }
        assert_eq!(both, rounding(&[(0, 1), (100, 10), (150, 5), (300, 1000)]));
    }

    #[test]
    fn curves_validate_and_name_the_culprit() {
        let domain = Domain::binary(4).expect("valid");
        let p = PayoutPoint::new;
        let cases = [
            (vec![], NumericError::EmptyCurve),
            (
                vec![p(1, 0), p(15, 0)],
                NumericError::CurveStart { outcome: 1 },
            ),
            (
                vec![p(0, 0)],
                NumericError::CurveEnd {
                    outcome: 0,
                    max: 15,
                },
            ),
            (
                vec![p(0, 0), p(16, 0)],
                NumericError::CurveEnd {
                    outcome: 16,
                    max: 15,
                },
            ),
            (
                vec![p(0, 0), p(8, 5), p(8, 6), p(15, 0)],
                NumericError::PointOrder {
                    index: 2,
                    outcome: 8,
                    previous: 8,
                },
            ),
            (
                vec![p(0, 0), p(3, 101), p(15, 0)],
                NumericError::PayoutAboveCollateral {
                    index: 1,
                    payout: 101,
                    extra_precision: 0,
                    collateral: 100,
                },
            ),
            (
                vec![
                    p(0, 0),
                    PayoutPoint {
                        outcome: 15,
                        payout: 100,
                        extra_precision: 1,
                    },
                ],
                NumericError::PayoutAboveCollateral {
                    index: 1,
                    payout: 100,
                    extra_precision: 1,
                    collateral: 100,
                },
            ),
        ];
        for (points, error) in cases {
            assert_eq!(
                PayoutCurve::new(domain, 100, points.clone()),
                Err(error),
                "{points:?}"
            );
        }
        let curve = curve(4, 100, &[(0, 0), (15, 100)]);
        assert_eq!(
            curve.payout_at(16, &RoundingIntervals::none()),
            Err(NumericError::OutOfDomain {
                value: 16,
                size: 16
            })
        );
    }

    /// A valid curve over `domain`: 0 to 5 interior points, payouts at the
    /// edges often, fractional payouts sometimes.
    fn curves(domain: Domain) -> impl Strategy<Value = PayoutCurve> {
        let max = domain.max_outcome();
        let collateral = prop_oneof![
            0..=3u64,
            0..=1_000_000u64,
            Just(u64::MAX),
            u64::MAX - 3..=u64::MAX,
            any::<u64>(),
        ];
        (collateral, proptest::collection::vec(1..max.max(2), 0..=5))
            .prop_flat_map(move |(collateral, mut inner)| {
                inner.retain(|&x| x < max);
                inner.sort_unstable();
                inner.dedup();
                let mut outcomes = vec![0];
                outcomes.extend(inner);
                outcomes.push(max);
                let payout = prop_oneof![
                    Just(0),
                    Just(collateral),
                    Just(collateral.saturating_sub(1)),
                    0..=collateral,
                ];
                let extra = prop_oneof![Just(0u16), any::<u16>()];
                let points = proptest::collection::vec((payout, extra), outcomes.len());
                (Just(collateral), Just(outcomes), points)
            })
            .prop_map(move |(collateral, outcomes, payouts)| {
                let points = outcomes
                    .iter()
                    .zip(payouts)
                    .map(|(&outcome, (payout, extra))| PayoutPoint {
                        outcome,
                        payout,
                        // The collateral itself has no fraction above it.
                        extra_precision: if payout == collateral { 0 } else { extra },
                    })
                    .collect();
                PayoutCurve::new(domain, collateral, points).expect("valid by construction")
            })
    }

    /// Valid rounding; with `coarse`, starting at 0 with moduli large enough
    /// that a curve has at most ~256 rounding levels, whatever its domain.
    fn roundings(collateral: u64, coarse: bool) -> impl Strategy<Value = RoundingIntervals> {
        let floor = if coarse { (collateral >> 8) + 1 } else { 1 };
        let modulus = prop_oneof![
            Just(1u64),
            1..=100u64,
            1..=collateral.max(1),
            Just(u64::MAX),
            any::<u64>(),
        ]
        .prop_map(move |m| m.max(floor));
        proptest::collection::btree_map(any::<u64>(), modulus, 0..=4).prop_map(move |map| {
            let mut intervals: Vec<RoundingInterval> = map
                .into_iter()
                .map(|(begin, modulus)| RoundingInterval {
                    begin: begin % 5000,
                    modulus,
                })
                .collect();
            intervals.sort_by_key(|i| i.begin);
            intervals.dedup_by_key(|i| i.begin);
            if coarse {
                match intervals.first_mut() {
                    Some(first) => first.begin = 0,
                    None => intervals.push(RoundingInterval {
                        begin: 0,
                        modulus: floor,
                    }),
                }
            }
            RoundingIntervals::new(intervals).expect("valid by construction")
        })
    }

    /// Checks that `runs` partition the domain in order, that neighbours
    /// pay differently, and that no payout exceeds the collateral.
    fn assert_runs(curve: &PayoutCurve, runs: &[PayoutRange]) -> Result<(), TestCaseError> {
        let mut expected = 0;
        for (i, run) in runs.iter().enumerate() {
            prop_assert_eq!(run.start, expected);
            prop_assert!(run.start <= run.end);
            prop_assert!(run.payout <= curve.collateral());
            if i > 0 {
                prop_assert_ne!(runs[i - 1].payout, run.payout);
            }
            expected = run.end + 1;
        }
        prop_assert_eq!(expected, curve.domain().size());
        Ok(())
    }

    /// The differential test: on small domains, the runs [`ranges`] walks
    /// analytically are exactly those of evaluating every value, and every
    /// value's payout is the spec's, computed independently.
    #[test]
    fn ranges_agree_with_the_spec_value_by_value() {
        let inputs = domains(1 << 12)
            .prop_flat_map(curves)
            .prop_flat_map(|curve| {
                let collateral = curve.collateral();
                (Just(curve), roundings(collateral, false))
            });
        check(400, inputs, |(curve, rounding)| {
            let runs = ranges(&curve, &rounding).expect("no overflow");
            assert_runs(&curve, &runs)?;
            for run in &runs {
                for x in run.start..=run.end {
                    prop_assert_eq!(spec_payout(&curve, &rounding, x), run.payout, "at {}", x);
                }
            }
            for x in [0, curve.domain().max_outcome()] {
                prop_assert_eq!(
                    curve.payout_at(x, &rounding),
                    Ok(spec_payout(&curve, &rounding, x))
                );
            }
            // And compress keeps every value's payout under exactly one prefix.
            let prefixes = compress(&runs, curve.domain()).expect("a partition");
            let mut expected = 0;
            for (prefix, payout) in &prefixes {
                prop_assert_eq!(prefix.start(), expected);
                prop_assert_eq!(*payout, spec_payout(&curve, &rounding, prefix.start()));
                prop_assert_eq!(*payout, spec_payout(&curve, &rounding, prefix.end()));
                expected = prefix.end() + 1;
            }
            prop_assert_eq!(expected, curve.domain().size());
            Ok(())
        });
    }

    /// Large domains, payouts and moduli up to `u64::MAX`: no overflow, no
    /// panic, and runs that agree with [`PayoutCurve::payout_at`] and the
    /// spec at both ends and just outside.
    #[test]
    fn extreme_curves_never_overflow() {
        let inputs = domains(MAX_DOMAIN_SIZE)
            .prop_flat_map(curves)
            .prop_flat_map(|curve| {
                let collateral = curve.collateral();
                (Just(curve), roundings(collateral, true))
            });
        check(300, inputs, |(curve, rounding)| {
            let runs = ranges(&curve, &rounding).expect("no overflow");
            assert_runs(&curve, &runs)?;
            for run in &runs {
                for x in [run.start, run.end] {
                    let spec = spec_payout(&curve, &rounding, x);
                    prop_assert_eq!(curve.payout_at(x, &rounding), Ok(spec));
                    prop_assert_eq!(run.payout, spec, "at {}", x);
                }
            }
            let prefixes = compress(&runs, curve.domain()).expect("a partition");
            prop_assert!(prefixes.len() >= runs.len());
            Ok(())
        });
    }

    /// The corners by hand: the largest domain, payouts at `u64::MAX`
    /// with a fraction, the steepest and the longest lines.
    #[test]
    fn the_extremes_compute_exactly() {
        let domain = Domain::binary(40).expect("valid");
        let max = domain.max_outcome();
        let top = PayoutPoint {
            outcome: 0,
            payout: u64::MAX - 1,
            extra_precision: u16::MAX,
        };
        let curve = PayoutCurve::new(
            domain,
            u64::MAX,
            vec![top, PayoutPoint::new(1, 0), PayoutPoint::new(max, u64::MAX)],
        )
        .expect("valid");
        for coarse in [
            rounding(&[(0, 1 << 58)]),
            rounding(&[(0, u64::MAX)]),
            rounding(&[(0, u64::MAX), (2, 1 << 60)]),
        ] {
            let runs = ranges(&curve, &coarse).expect("no overflow");
            let mut expected = 0;
            for run in &runs {
                assert_eq!(run.start, expected);
                for x in [run.start, run.end] {
                    assert_eq!(run.payout, spec_payout(&curve, &coarse, x), "at {x}");
                }
                expected = run.end + 1;
            }
            assert_eq!(expected, domain.size());
        }
        // u64::MAX - 1 + 65535/65536 rounds up to u64::MAX with modulus 1.
        assert_eq!(curve.payout_at(0, &RoundingIntervals::none()), Ok(u64::MAX));
        assert_eq!(
            curve.payout_at(max, &RoundingIntervals::none()),
            Ok(u64::MAX)
        );
        assert_eq!(
            curve.payout_at(max - 1, &RoundingIntervals::none()),
            Ok(spec_payout(&curve, &RoundingIntervals::none(), max - 1))
        );
    }

    /// Whatever the bytes, validation answers `Ok` or `Err`, and what it
    /// accepts computes without panicking.
    #[test]
    fn arbitrary_input_never_panics() {
        let edge = || {
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(u64::MAX),
                Just(u64::MAX - 1),
                Just(MAX_DOMAIN_SIZE),
                0..64u64,
                any::<u64>(),
            ]
        };
        let inputs = (
            (prop_oneof![any::<u8>(), 0u8..=17], 0u8..=42),
            edge(),
            proptest::collection::vec((edge(), edge(), any::<u16>()), 0..5),
            proptest::collection::vec((edge(), edge()), 0..3),
            proptest::collection::vec((edge(), edge(), edge()), 0..4),
        );
        check(
            3000,
            inputs,
            |((base, digits), collateral, points, intervals, raw)| {
                let rounding = RoundingIntervals::new(
                    intervals
                        .into_iter()
                        .map(|(begin, modulus)| RoundingInterval { begin, modulus })
                        .collect(),
                );
                let Ok(domain) = Domain::new(base, digits) else {
                    return Ok(());
                };
                let _ = domain.digits_of(collateral);
                let _ = cover(domain, collateral, collateral.saturating_add(3));
                let raw: Vec<PayoutRange> = raw
                    .into_iter()
                    .map(|(start, end, payout)| PayoutRange { start, end, payout })
                    .collect();
                let _ = compress(&raw, domain);
                let points = points
                    .into_iter()
                    .map(|(outcome, payout, extra_precision)| PayoutPoint {
                        outcome,
                        payout,
                        extra_precision,
                    })
                    .collect();
                if let (Ok(curve), Ok(rounding)) =
                    (PayoutCurve::new(domain, collateral, points), rounding)
                {
                    let _ = curve.payout_at(collateral, &rounding);
                    // Only where the runs are few enough to list.
                    if domain.size() <= 1 << 12 {
                        let runs = ranges(&curve, &rounding).expect("no overflow");
                        assert_runs(&curve, &runs)?;
                    }
                }
                Ok(())
            },
        );
    }

    #[test]
    fn compress_refuses_anything_but_a_partition() {
        let domain = Domain::binary(4).expect("valid");
        let r = |start, end, payout| PayoutRange { start, end, payout };
        let cases = [
            (vec![], NumericError::Uncovered { from: 0 }),
            (
                vec![r(1, 15, 0)],
                NumericError::RangeStart {
                    index: 0,
                    start: 1,
                    expected: 0,
                },
            ),
            (
                vec![r(0, 7, 0), r(7, 15, 1)],
                NumericError::RangeStart {
                    index: 1,
                    start: 7,
                    expected: 8,
                },
            ),
            (
                vec![r(0, 7, 0), r(9, 15, 1)],
                NumericError::RangeStart {
                    index: 1,
                    start: 9,
                    expected: 8,
                },
            ),
            (
                vec![r(0, 7, 0), r(8, 16, 1)],
                NumericError::InvalidRange {
                    index: 1,
                    start: 8,
                    end: 16,
                },
            ),
            (
                vec![r(0, 7, 0), r(8, 7, 1)],
                NumericError::InvalidRange {
                    index: 1,
                    start: 8,
                    end: 7,
                },
            ),
            (
                vec![r(0, 7, 0), r(8, 14, 1)],
                NumericError::Uncovered { from: 15 },
            ),
        ];
        for (ranges, error) in cases {
            assert_eq!(compress(&ranges, domain), Err(error), "{ranges:?}");
        }
        // Neighbours paying the same merge: one empty prefix for it all.
        let merged = compress(&[r(0, 4, 9), r(5, 15, 9)], domain).expect("a partition");
        assert_eq!(merged.len(), 1);
        assert!(merged[0].0.digits().is_empty());
    }

    /// A forward over 2^20 values: collateral 1_000_000, rounded to 10_000.
    /// Prints the prefix count, and checks 10_000 random values (and every
    /// run's ends) each lie under exactly one prefix paying the spec's
    /// rounded payout.
    #[test]
    fn linear_2_20_rounded_10000_prefixes() {
        let domain = Domain::binary(20).expect("valid");
        let max = domain.max_outcome();
        let curve = curve(20, 1_000_000, &[(0, 0), (max, 1_000_000)]);
        let rounding = rounding(&[(0, 10_000)]);
        let runs = ranges(&curve, &rounding).expect("no overflow");
        let prefixes = compress(&runs, domain).expect("a partition");
        println!(
            "linear_2_20_rounded_10000_prefixes: {} runs, {} prefixes (unrounded: {} runs)",
            runs.len(),
            prefixes.len(),
            ranges(&curve, &RoundingIntervals::none())
                .expect("no overflow")
                .len()
        );
        // 0, 10_000, ..., 1_000_000: 101 payouts, one run each.
        assert_eq!(runs.len(), 101);
        assert!(prefixes.len() <= runs.len() * 2 * 20);

        let mut rng = StdRng::seed_from_u64(seed());
        let mut samples: Vec<u64> = (0..10_000).map(|_| rng.gen_range(0..=max)).collect();
        samples.extend(runs.iter().flat_map(|run| [run.start, run.end]));
        for x in samples {
            let holding: Vec<u64> = prefixes
                .iter()
                .filter(|(prefix, _)| prefix.contains(x))
                .map(|&(_, payout)| payout)
                .collect();
            assert_eq!(
                holding.len(),
                1,
                "value {x} under {} prefixes",
                holding.len()
            );
            assert_eq!(holding[0], spec_payout(&curve, &rounding, x), "at {x}");
            assert_eq!(curve.payout_at(x, &rounding), Ok(holding[0]));
        }
    }

    /// A collar (dlcspecs `NumericOutcomeCompression.md`, "Numeric Outcome
    /// Compression": "collars can be compressed to negligible size"): 0
    /// below a floor, linear up to a cap, the whole collateral above. The
    /// two flat parts, nine tenths of the domain, cost a handful of
    /// prefixes each.
    #[test]
    fn collar_flat_parts_cost_a_handful_of_prefixes() {
        let domain = Domain::binary(20).expect("valid");
        let max = domain.max_outcome();
        let (floor, cap, collateral) = (500_000, 600_000, 1_000_000);
        let curve = curve(
            20,
            collateral,
            &[(0, 0), (floor, 0), (cap, collateral), (max, collateral)],
        );
        let rounding = rounding(&[(0, 10_000)]);
        let runs = ranges(&curve, &rounding).expect("no overflow");
        let prefixes = compress(&runs, domain).expect("a partition");
        let count = |payout| prefixes.iter().filter(|(_, p)| *p == payout).count();
        let (low, high) = (count(0), count(collateral));
        println!(
            "collar_flat_parts_cost_a_handful_of_prefixes: {} runs, {} prefixes; payout 0 ({} values): {low}, collateral ({} values): {high}",
            runs.len(),
            prefixes.len(),
            runs[0].end + 1,
            max - runs[runs.len() - 1].start + 1,
        );
        assert_eq!(runs.len(), 101);
        // The flat parts: 0..=floor+ and cap-..=max, each at most 2n prefixes.
        assert!(runs[0].end >= floor && runs[runs.len() - 1].start <= cap);
        assert!(low <= 2 * 20 && high <= 2 * 20, "{low} and {high}");
        // A constant curve is one prefix.
        let flat = self::curve(20, collateral, &[(0, 7), (max, 7)]);
        let runs = ranges(&flat, &RoundingIntervals::none()).expect("no overflow");
        assert_eq!(
            runs,
            [PayoutRange {
                start: 0,
                end: max,
                payout: 7
            }]
        );
        assert_eq!(compress(&runs, domain).expect("a partition").len(), 1);
    }

    /// The walk's cost: the worst case for 2^20 values (no rounding, a new
    /// payout nearly every value) and a 2^32 domain it must not iterate.
    /// Prints the times; `cargo test --release` for the real figure.
    #[test]
    fn ranges_cost_follows_runs_not_values() {
        let dense = curve(20, 1_000_000, &[(0, 0), ((1 << 20) - 1, 1_000_000)]);
        let started = Instant::now();
        let runs = ranges(&dense, &RoundingIntervals::none()).expect("no overflow");
        let dense_time = started.elapsed();
        assert_eq!(runs.len(), 1_000_001);

        let steep = curve(20, u64::MAX, &[(0, 0), ((1 << 20) - 1, u64::MAX)]);
        let started = Instant::now();
        let steep_runs = ranges(&steep, &RoundingIntervals::none()).expect("no overflow");
        let steep_time = started.elapsed();
        assert_eq!(steep_runs.len(), 1 << 20);

        let wide = curve(32, 1_000_000, &[(0, 0), (u64::from(u32::MAX), 1_000_000)]);
        let started = Instant::now();
        let wide_runs = ranges(&wide, &rounding(&[(0, 10_000)])).expect("no overflow");
        let wide_time = started.elapsed();
        assert_eq!(wide_runs.len(), 101);
        println!(
            "ranges_cost_follows_runs_not_values: 2^20 values, {} runs: {dense_time:?}; \
             2^20 values, steep, {} runs: {steep_time:?}; 2^32 values, modulus 10_000, {} runs: {wide_time:?}",
            runs.len(),
            steep_runs.len(),
            wide_runs.len(),
        );
    }
}
