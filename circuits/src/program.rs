//! Constraint programs: the statements a proof establishes about committed values.
//!
//! A [`Program`] declares committed private variables (each a `u64` known
//! only to its owner, seen by others as a [`Commitment`](crate::Commitment)),
//! named public inputs (`u64`s everyone knows), and a list of [`Constraint`]s
//! over them. The contracts compiler emits one program per function that
//! touches private values; the engine proves it with [`prove`](crate::prove)
//! and checks it with [`verify`](crate::verify). The IR knows nothing of the
//! sotto language.
//!
//! Arithmetic is over the integers: every constraint is meant as a statement
//! about `u64` values, and the proof system guarantees that meaning because of
//! the bound rule below.
//!
//! **Invariant (checked by [`Program::new`]):** every variable is *bounded*,
//! either by a range, boolean or one-of constraint in the same program, or by
//! being declared already proven in range (a private field carried over from a
//! state in which its range was proven). Commitments are to scalars modulo ℓ,
//! so an unbounded variable could hold `ℓ - 1`, i.e. `-1`, and
//! `seller + buyer = total` would then let a party mint money. With every
//! variable below 2⁶⁴ and coefficients below 2⁶⁴ in magnitude, no expression
//! of up to [`MAX_TERMS`] terms comes near ℓ/2 ≈ 2²⁵¹, so statements modulo ℓ
//! and over the integers coincide.
//!
//! **Invariant:** a `Program` value is always valid; the only ways to make one
//! are [`Program::new`], [`ProgramBuilder::build`] and [`Program::decode`],
//! which all validate.

use crate::codec::{Reader, Writer};
use crate::errors::{DecodeError, ProgramError};
use crate::msm::MAX_RANGE_ENTRIES;

/// Format version of the program encoding.
pub const PROGRAM_FORMAT_VERSION: u8 = 1;
/// Most variables, public inputs or constraints in one program.
pub const MAX_ITEMS: usize = 1024;
/// Most terms in one linear expression.
pub const MAX_TERMS: usize = 256;
/// Most values in one one-of set.
pub const MAX_SET: usize = 256;
/// Longest variable or public-input name, in bytes.
pub const MAX_NAME: usize = 255;
/// Largest magnitude of a coefficient or constant.
pub const MAX_COEFF: i128 = u64::MAX as i128;

/// Bit width of a range constraint: the value lies in `[0, 2^bits)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RangeBits {
    /// `[0, 2^8)`
    B8,
    /// `[0, 2^16)`
    B16,
    /// `[0, 2^32)`
    B32,
    /// `[0, 2^64)`: any `u64`.
    B64,
}

impl RangeBits {
    /// The width in bits.
    pub fn bits(self) -> u8 {
        match self {
            RangeBits::B8 => 8,
            RangeBits::B16 => 16,
            RangeBits::B32 => 32,
            RangeBits::B64 => 64,
        }
    }

    /// The width for `bits` ∈ {8, 16, 32, 64}.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            8 => Some(RangeBits::B8),
            16 => Some(RangeBits::B16),
            32 => Some(RangeBits::B32),
            64 => Some(RangeBits::B64),
            _ => None,
        }
    }

    /// Whether `value` lies in `[0, 2^bits)`.
    pub fn contains(self, value: i128) -> bool {
        value >= 0 && value < (1i128 << self.bits())
    }
}

/// A committed private variable, by its index in the program's declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarId(pub u16);

/// A public input, by its index in the program's declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PubId(pub u16);

/// An operand of a linear expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    /// A committed variable.
    Var(VarId),
    /// A public input.
    Public(PubId),
}

impl From<VarId> for Term {
    fn from(v: VarId) -> Self {
        Term::Var(v)
    }
}

impl From<PubId> for Term {
    fn from(p: PubId) -> Self {
        Term::Public(p)
    }
}

/// `Σ coefficientᵢ · termᵢ + constant`, over the integers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinExpr {
    /// The terms, each with its coefficient.
    pub terms: Vec<(i128, Term)>,
    /// The constant.
    pub constant: i128,
}

impl LinExpr {
    /// The expression `1 · term`.
    pub fn term(term: impl Into<Term>) -> Self {
        LinExpr {
            terms: vec![(1, term.into())],
            constant: 0,
        }
    }

    /// The constant expression `c`.
    pub fn constant(c: i128) -> Self {
        LinExpr {
            terms: Vec::new(),
            constant: c,
        }
    }

    /// This expression plus `coefficient · term`.
    pub fn plus(mut self, coefficient: i128, term: impl Into<Term>) -> Self {
        self.terms.push((coefficient, term.into()));
        self
    }

    /// This expression plus the constant `c`.
    pub fn plus_constant(mut self, c: i128) -> Self {
        self.constant += c;
        self
    }

    /// `self - other`, term lists concatenated (callers need not merge terms).
    pub fn minus(&self, other: &LinExpr) -> LinExpr {
        let mut terms = self.terms.clone();
        terms.extend(other.terms.iter().map(|&(c, t)| (-c, t)));
        LinExpr {
            terms,
            constant: self.constant - other.constant,
        }
    }
}

/// How two linear expressions compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `lhs ≤ rhs`
    Le,
    /// `lhs < rhs`
    Lt,
    /// `lhs ≥ rhs`
    Ge,
    /// `lhs > rhs`
    Gt,
    /// `lhs = rhs`
    Eq,
}

/// One statement about the program's variables and public inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `expr = 0` (conservation of value is `a + b - total = 0`).
    Linear(LinExpr),
    /// `var ∈ [0, 2^bits)`.
    Range {
        /// The variable.
        var: VarId,
        /// The width.
        bits: RangeBits,
    },
    /// `lhs op rhs`. For the orderings, the difference (`rhs - lhs` for `≤`)
    /// is proven to lie in `[0, 2^bits)`, so `bits` must cover the largest
    /// difference an honest party can have.
    Compare {
        /// Left operand.
        lhs: LinExpr,
        /// The comparison.
        op: CmpOp,
        /// Right operand.
        rhs: LinExpr,
        /// Width of the difference's range proof (unused for `Eq`).
        bits: RangeBits,
    },
    /// `z = x · y` for three committed variables.
    Product {
        /// First factor.
        x: VarId,
        /// Second factor.
        y: VarId,
        /// The product.
        z: VarId,
    },
    /// `var = public`.
    EqualsPublic {
        /// The variable.
        var: VarId,
        /// The public input.
        public: PubId,
    },
    /// `a = b`: two commitments hide the same value.
    SameValue {
        /// First variable.
        a: VarId,
        /// Second variable.
        b: VarId,
    },
    /// `var ∈ set` (an OR-proof over the set's members).
    OneOf {
        /// The variable.
        var: VarId,
        /// The allowed values, distinct.
        set: Vec<u64>,
    },
    /// `var ∈ {0, 1}`.
    Boolean {
        /// The variable.
        var: VarId,
    },
}

impl Constraint {
    /// A short name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Constraint::Linear(_) => "linear",
            Constraint::Range { .. } => "range",
            Constraint::Compare { .. } => "compare",
            Constraint::Product { .. } => "product",
            Constraint::EqualsPublic { .. } => "equals-public",
            Constraint::SameValue { .. } => "same-value",
            Constraint::OneOf { .. } => "one-of",
            Constraint::Boolean { .. } => "boolean",
        }
    }
}

/// A declared committed variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarDecl {
    /// Its name, for diagnostics (for example the contract field it holds).
    pub name: String,
    /// `Some(bits)` if the caller vouches that the commitment was already
    /// proven to lie in `[0, 2^bits)` (a private field carried over from a
    /// previous state). The verifier's caller is responsible for that claim.
    pub proven: Option<RangeBits>,
}

/// A validated constraint program. See the module docs for its invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    vars: Vec<VarDecl>,
    publics: Vec<String>,
    constraints: Vec<Constraint>,
}

impl Program {
    /// Validates and builds a program.
    pub fn new(
        vars: Vec<VarDecl>,
        publics: Vec<String>,
        constraints: Vec<Constraint>,
    ) -> Result<Self, ProgramError> {
        let program = Program {
            vars,
            publics,
            constraints,
        };
        program.validate()?;
        Ok(program)
    }

    /// The declared variables, in order.
    pub fn vars(&self) -> &[VarDecl] {
        &self.vars
    }

    /// The declared public inputs' names, in order.
    pub fn publics(&self) -> &[String] {
        &self.publics
    }

    /// The constraints, in order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Evaluates the constraints over the integers, in order: `Err(i)` names
    /// the first constraint that `values` (one per variable) and `publics` do
    /// not satisfy. Counts must match the declarations (`prove` checks them).
    pub fn check(&self, values: &[u64], publics: &[u64]) -> Result<(), usize> {
        let eval = |e: &LinExpr| -> Option<i128> {
            e.terms.iter().try_fold(e.constant, |acc, &(c, t)| {
                let v = match t {
                    Term::Var(v) => *values.get(usize::from(v.0))?,
                    Term::Public(p) => *publics.get(usize::from(p.0))?,
                };
                acc.checked_add(c.checked_mul(i128::from(v))?)
            })
        };
        let val = |v: &VarId| values.get(usize::from(v.0)).copied().map(i128::from);
        for (i, c) in self.constraints.iter().enumerate() {
            let holds = match c {
                Constraint::Linear(e) => eval(e) == Some(0),
                Constraint::Range { var, bits } => val(var).is_some_and(|v| bits.contains(v)),
                Constraint::Compare { lhs, op, rhs, bits } => match (eval(lhs), eval(rhs)) {
                    (Some(l), Some(r)) => match op {
                        CmpOp::Le => bits.contains(r - l),
                        CmpOp::Lt => bits.contains(r - l - 1),
                        CmpOp::Ge => bits.contains(l - r),
                        CmpOp::Gt => bits.contains(l - r - 1),
                        CmpOp::Eq => l == r,
                    },
                    _ => false,
                },
                Constraint::Product { x, y, z } => match (val(x), val(y), val(z)) {
                    (Some(x), Some(y), Some(z)) => x.checked_mul(y) == Some(z),
                    _ => false,
                },
                Constraint::EqualsPublic { var, public } => {
                    val(var).is_some()
                        && val(var) == publics.get(usize::from(public.0)).map(|p| i128::from(*p))
                }
                Constraint::SameValue { a, b } => val(a).is_some() && val(a) == val(b),
                Constraint::OneOf { var, set } => {
                    val(var).is_some_and(|v| set.iter().any(|s| i128::from(*s) == v))
                }
                Constraint::Boolean { var } => val(var).is_some_and(|v| v == 0 || v == 1),
            };
            if !holds {
                return Err(i);
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ProgramError> {
        for (what, count) in [
            ("variables", self.vars.len()),
            ("public inputs", self.publics.len()),
            ("constraints", self.constraints.len()),
        ] {
            if count > MAX_ITEMS {
                return Err(ProgramError::TooMany {
                    what,
                    count,
                    max: MAX_ITEMS,
                });
            }
        }
        let names = self.vars.iter().map(|v| &v.name).chain(&self.publics);
        if let Some(name) = names.into_iter().find(|n| n.len() > MAX_NAME) {
            return Err(ProgramError::NameTooLong {
                len: name.len(),
                max: MAX_NAME,
            });
        }

        let mut bounded: Vec<bool> = self.vars.iter().map(|v| v.proven.is_some()).collect();
        for (i, c) in self.constraints.iter().enumerate() {
            let var = |v: VarId| self.check_var(i, v);
            match c {
                Constraint::Linear(e) => self.check_expr(i, e)?,
                Constraint::Compare { lhs, rhs, .. } => {
                    self.check_expr(i, lhs)?;
                    self.check_expr(i, rhs)?;
                    let terms = lhs.terms.len() + rhs.terms.len();
                    if terms > MAX_TERMS {
                        return Err(ProgramError::TooManyTerms {
                            constraint: i,
                            terms,
                            max: MAX_TERMS,
                        });
                    }
                }
                Constraint::Range { var: v, .. } | Constraint::Boolean { var: v } => {
                    var(*v)?;
                    bounded[usize::from(v.0)] = true;
                }
                Constraint::Product { x, y, z } => {
                    var(*x)?;
                    var(*y)?;
                    var(*z)?;
                }
                Constraint::EqualsPublic { var: v, public } => {
                    var(*v)?;
                    self.check_public(i, *public)?;
                }
                Constraint::SameValue { a, b } => {
                    var(*a)?;
                    var(*b)?;
                }
                Constraint::OneOf { var: v, set } => {
                    var(*v)?;
                    if set.is_empty() || set.len() > MAX_SET {
                        return Err(ProgramError::SetSize {
                            constraint: i,
                            size: set.len(),
                            max: MAX_SET,
                        });
                    }
                    let mut sorted = set.clone();
                    sorted.sort_unstable();
                    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                        return Err(ProgramError::DuplicateInSet {
                            constraint: i,
                            value: w[0],
                        });
                    }
                    bounded[usize::from(v.0)] = true;
                }
            }
        }
        if let Some(i) = bounded.iter().position(|b| !b) {
            return Err(ProgramError::UnboundedVariable {
                var: i as u16,
                name: self.vars[i].name.clone(),
            });
        }
        let entries = self.range_entry_count();
        if entries > MAX_RANGE_ENTRIES {
            return Err(ProgramError::TooManyRangeEntries {
                entries,
                max: MAX_RANGE_ENTRIES,
            });
        }
        Ok(())
    }

    fn check_var(&self, constraint: usize, var: VarId) -> Result<(), ProgramError> {
        if usize::from(var.0) < self.vars.len() {
            Ok(())
        } else {
            Err(ProgramError::UnknownVariable {
                constraint,
                var: var.0,
                declared: self.vars.len(),
            })
        }
    }

    fn check_public(&self, constraint: usize, public: PubId) -> Result<(), ProgramError> {
        if usize::from(public.0) < self.publics.len() {
            Ok(())
        } else {
            Err(ProgramError::UnknownPublic {
                constraint,
                public: public.0,
                declared: self.publics.len(),
            })
        }
    }

    fn check_expr(&self, constraint: usize, e: &LinExpr) -> Result<(), ProgramError> {
        if e.terms.len() > MAX_TERMS {
            return Err(ProgramError::TooManyTerms {
                constraint,
                terms: e.terms.len(),
                max: MAX_TERMS,
            });
        }
        let too_large = |c: i128| !(-MAX_COEFF..=MAX_COEFF).contains(&c);
        if too_large(e.constant) || e.terms.iter().any(|&(c, _)| too_large(c)) {
            return Err(ProgramError::CoefficientTooLarge { constraint });
        }
        for &(_, t) in &e.terms {
            match t {
                Term::Var(v) => self.check_var(constraint, v)?,
                Term::Public(p) => self.check_public(constraint, p)?,
            }
        }
        Ok(())
    }

    /// The widest range entry, if the program has any.
    pub(crate) fn range_width(&self) -> Option<RangeBits> {
        self.range_bits().max()
    }

    fn range_bits(&self) -> impl Iterator<Item = RangeBits> + '_ {
        self.constraints.iter().filter_map(|c| match c {
            Constraint::Range { bits, .. } => Some(*bits),
            Constraint::Compare { op, bits, .. } if *op != CmpOp::Eq => Some(*bits),
            _ => None,
        })
    }

    /// Range entries the aggregated proof holds, before padding: narrower
    /// entries than the widest take two (see `docs/notes/proofs.md`).
    pub fn range_entry_count(&self) -> usize {
        match self.range_width() {
            None => 0,
            Some(width) => self
                .range_bits()
                .map(|b| if b == width { 1 } else { 2 })
                .sum(),
        }
    }

    /// The canonical encoding (see `docs/notes/proofs.md` for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(PROGRAM_FORMAT_VERSION);
        w.u16(self.vars.len() as u16);
        for v in &self.vars {
            w.str(&v.name);
            w.u8(v.proven.map_or(0, RangeBits::bits));
        }
        w.u16(self.publics.len() as u16);
        for p in &self.publics {
            w.str(p);
        }
        w.u16(self.constraints.len() as u16);
        for c in &self.constraints {
            encode_constraint(&mut w, c);
        }
        w.bytes
    }

    /// Decodes and validates a program. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("program version")?;
        if version != PROGRAM_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "program",
                version,
                supported: PROGRAM_FORMAT_VERSION,
            });
        }
        let nvars = r.count("variables", MAX_ITEMS)?;
        let mut vars = Vec::with_capacity(nvars);
        for _ in 0..nvars {
            let name = r.str("variable name")?;
            let proven = match r.u8("proven width")? {
                0 => None,
                b => Some(RangeBits::from_bits(b).ok_or(DecodeError::InvalidValue {
                    what: "proven width",
                    value: u64::from(b),
                })?),
            };
            vars.push(VarDecl { name, proven });
        }
        let npub = r.count("public inputs", MAX_ITEMS)?;
        let mut publics = Vec::with_capacity(npub);
        for _ in 0..npub {
            publics.push(r.str("public input name")?);
        }
        let ncons = r.count("constraints", MAX_ITEMS)?;
        let mut constraints = Vec::with_capacity(ncons);
        for _ in 0..ncons {
            constraints.push(decode_constraint(&mut r)?);
        }
        r.finish("program")?;
        Ok(Program::new(vars, publics, constraints)?)
    }
}

const TAG_LINEAR: u8 = 0;
const TAG_RANGE: u8 = 1;
const TAG_COMPARE: u8 = 2;
const TAG_PRODUCT: u8 = 3;
const TAG_EQUALS_PUBLIC: u8 = 4;
const TAG_SAME_VALUE: u8 = 5;
const TAG_ONE_OF: u8 = 6;
const TAG_BOOLEAN: u8 = 7;

fn encode_constraint(w: &mut Writer, c: &Constraint) {
    match c {
        Constraint::Linear(e) => {
            w.u8(TAG_LINEAR);
            encode_expr(w, e);
        }
        Constraint::Range { var, bits } => {
            w.u8(TAG_RANGE);
            w.u16(var.0);
            w.u8(bits.bits());
        }
        Constraint::Compare { lhs, op, rhs, bits } => {
            w.u8(TAG_COMPARE);
            encode_expr(w, lhs);
            w.u8(match op {
                CmpOp::Le => 0,
                CmpOp::Lt => 1,
                CmpOp::Ge => 2,
                CmpOp::Gt => 3,
                CmpOp::Eq => 4,
            });
            encode_expr(w, rhs);
            w.u8(bits.bits());
        }
        Constraint::Product { x, y, z } => {
            w.u8(TAG_PRODUCT);
            w.u16(x.0);
            w.u16(y.0);
            w.u16(z.0);
        }
        Constraint::EqualsPublic { var, public } => {
            w.u8(TAG_EQUALS_PUBLIC);
            w.u16(var.0);
            w.u16(public.0);
        }
        Constraint::SameValue { a, b } => {
            w.u8(TAG_SAME_VALUE);
            w.u16(a.0);
            w.u16(b.0);
        }
        Constraint::OneOf { var, set } => {
            w.u8(TAG_ONE_OF);
            w.u16(var.0);
            w.u16(set.len() as u16);
            for v in set {
                w.u64(*v);
            }
        }
        Constraint::Boolean { var } => {
            w.u8(TAG_BOOLEAN);
            w.u16(var.0);
        }
    }
}

fn encode_expr(w: &mut Writer, e: &LinExpr) {
    w.u16(e.terms.len() as u16);
    for &(c, t) in &e.terms {
        w.i128(c);
        match t {
            Term::Var(v) => {
                w.u8(0);
                w.u16(v.0);
            }
            Term::Public(p) => {
                w.u8(1);
                w.u16(p.0);
            }
        }
    }
    w.i128(e.constant);
}

fn decode_bits(r: &mut Reader<'_>) -> Result<RangeBits, DecodeError> {
    let b = r.u8("range width")?;
    RangeBits::from_bits(b).ok_or(DecodeError::InvalidValue {
        what: "range width",
        value: u64::from(b),
    })
}

fn decode_constraint(r: &mut Reader<'_>) -> Result<Constraint, DecodeError> {
    let var = |r: &mut Reader<'_>| r.u16("variable index").map(VarId);
    Ok(match r.u8("constraint tag")? {
        TAG_LINEAR => Constraint::Linear(decode_expr(r)?),
        TAG_RANGE => Constraint::Range {
            var: var(r)?,
            bits: decode_bits(r)?,
        },
        TAG_COMPARE => {
            let lhs = decode_expr(r)?;
            let op = match r.u8("comparison")? {
                0 => CmpOp::Le,
                1 => CmpOp::Lt,
                2 => CmpOp::Ge,
                3 => CmpOp::Gt,
                4 => CmpOp::Eq,
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "comparison",
                        tag,
                    });
                }
            };
            let rhs = decode_expr(r)?;
            let bits = decode_bits(r)?;
            Constraint::Compare { lhs, op, rhs, bits }
        }
        TAG_PRODUCT => Constraint::Product {
            x: var(r)?,
            y: var(r)?,
            z: var(r)?,
        },
        TAG_EQUALS_PUBLIC => Constraint::EqualsPublic {
            var: var(r)?,
            public: PubId(r.u16("public index")?),
        },
        TAG_SAME_VALUE => Constraint::SameValue {
            a: var(r)?,
            b: var(r)?,
        },
        TAG_ONE_OF => {
            let v = var(r)?;
            let n = r.count("set values", MAX_SET)?;
            let mut set = Vec::with_capacity(n);
            for _ in 0..n {
                set.push(r.u64("set value")?);
            }
            Constraint::OneOf { var: v, set }
        }
        TAG_BOOLEAN => Constraint::Boolean { var: var(r)? },
        tag => {
            return Err(DecodeError::UnknownTag {
                what: "constraint",
                tag,
            });
        }
    })
}

fn decode_expr(r: &mut Reader<'_>) -> Result<LinExpr, DecodeError> {
    let n = r.count("terms", MAX_TERMS)?;
    let mut terms = Vec::with_capacity(n);
    for _ in 0..n {
        let c = r.i128("coefficient")?;
        let t = match r.u8("term kind")? {
            0 => Term::Var(VarId(r.u16("variable index")?)),
            1 => Term::Public(PubId(r.u16("public index")?)),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "term kind",
                    tag,
                });
            }
        };
        terms.push((c, t));
    }
    let constant = r.i128("constant")?;
    Ok(LinExpr { terms, constant })
}

/// Builds a [`Program`] step by step.
///
/// ```
/// use sotto_circuits::{ProgramBuilder, RangeBits, LinExpr, CmpOp};
/// let mut b = ProgramBuilder::new();
/// let limit = b.var("buyer_limit");
/// let price = b.public("price");
/// b.range(limit, RangeBits::B64);
/// // price ≤ buyer_limit, proven without revealing the limit.
/// b.compare(LinExpr::term(price), CmpOp::Le, LinExpr::term(limit), RangeBits::B64);
/// let program = b.build().unwrap();
/// assert_eq!(program.range_entry_count(), 2);
/// ```
#[derive(Debug, Default)]
pub struct ProgramBuilder {
    vars: Vec<VarDecl>,
    publics: Vec<String>,
    constraints: Vec<Constraint>,
}

impl ProgramBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a committed variable that this program must bound.
    pub fn var(&mut self, name: &str) -> VarId {
        self.vars.push(VarDecl {
            name: name.to_owned(),
            proven: None,
        });
        VarId((self.vars.len() - 1) as u16)
    }

    /// Declares a committed variable already proven to lie in `[0, 2^bits)`.
    pub fn proven_var(&mut self, name: &str, bits: RangeBits) -> VarId {
        self.vars.push(VarDecl {
            name: name.to_owned(),
            proven: Some(bits),
        });
        VarId((self.vars.len() - 1) as u16)
    }

    /// Declares a public input.
    pub fn public(&mut self, name: &str) -> PubId {
        self.publics.push(name.to_owned());
        PubId((self.publics.len() - 1) as u16)
    }

    /// Adds any constraint.
    pub fn constrain(&mut self, c: Constraint) -> &mut Self {
        self.constraints.push(c);
        self
    }

    /// `expr = 0`.
    pub fn linear(&mut self, expr: LinExpr) -> &mut Self {
        self.constrain(Constraint::Linear(expr))
    }

    /// `var ∈ [0, 2^bits)`.
    pub fn range(&mut self, var: VarId, bits: RangeBits) -> &mut Self {
        self.constrain(Constraint::Range { var, bits })
    }

    /// `lhs op rhs`, the difference proven within `bits`.
    pub fn compare(&mut self, lhs: LinExpr, op: CmpOp, rhs: LinExpr, bits: RangeBits) -> &mut Self {
        self.constrain(Constraint::Compare { lhs, op, rhs, bits })
    }

    /// `z = x · y`.
    pub fn product(&mut self, x: VarId, y: VarId, z: VarId) -> &mut Self {
        self.constrain(Constraint::Product { x, y, z })
    }

    /// `var = public`.
    pub fn equals_public(&mut self, var: VarId, public: PubId) -> &mut Self {
        self.constrain(Constraint::EqualsPublic { var, public })
    }

    /// `a = b`.
    pub fn same_value(&mut self, a: VarId, b: VarId) -> &mut Self {
        self.constrain(Constraint::SameValue { a, b })
    }

    /// `var ∈ set`.
    pub fn one_of(&mut self, var: VarId, set: Vec<u64>) -> &mut Self {
        self.constrain(Constraint::OneOf { var, set })
    }

    /// `var ∈ {0, 1}`.
    pub fn boolean(&mut self, var: VarId) -> &mut Self {
        self.constrain(Constraint::Boolean { var })
    }

    /// Validates and returns the program.
    pub fn build(self) -> Result<Program, ProgramError> {
        Program::new(self.vars, self.publics, self.constraints)
    }
}
