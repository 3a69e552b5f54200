//! The errors of the circuits layer, one enum per concern.
//!
//! Decoding hostile bytes yields [`DecodeError`]; an ill-formed constraint
//! program yields [`ProgramError`]; proving and verifying wrap the program
//! error rather than leaking it ([`ProveError`], [`VerifyError`]).

use thiserror::Error;

/// Bytes that are not the canonical encoding of the value asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before `what` was complete (truncated input).
    #[error("truncated input: {what} is incomplete")]
    UnexpectedEnd {
        /// The item being read when the input ran out.
        what: &'static str,
    },
    /// Bytes remain after a complete value (encodings are exact).
    #[error("{count} trailing bytes after {what}")]
    TrailingBytes {
        /// The value that was complete.
        what: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// A fixed-size item had the wrong length.
    #[error("{what} must be {expected} bytes, found {found}")]
    Length {
        /// The item.
        what: &'static str,
        /// Its required length.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The format version byte is not one this build reads.
    #[error("{what} has format version {version}, this build reads version {supported}")]
    UnsupportedVersion {
        /// The item.
        what: &'static str,
        /// The version found.
        version: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// 32 bytes that are not a canonical Ristretto point.
    #[error("{what} is not a valid group element")]
    InvalidPoint {
        /// The item.
        what: &'static str,
    },
    /// 32 bytes that are not a canonical scalar (not reduced modulo ℓ).
    #[error("{what} is not a canonical scalar")]
    NonCanonicalScalar {
        /// The item.
        what: &'static str,
    },
    /// A tag byte that names no known variant.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// The kind of item.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A name that is not UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// The item.
        what: &'static str,
    },
    /// A count above the format's limit.
    #[error("{what}: {count} exceeds the limit of {max}")]
    TooMany {
        /// The item counted.
        what: &'static str,
        /// The count found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A field whose value is outside its allowed set (for example a bit
    /// width other than 8, 16, 32 or 64, or a flag byte other than 0 or 1).
    #[error("invalid {what}: {value}")]
    InvalidValue {
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A range proof whose layout is not bulletproofs' (`RangeProof::to_bytes`).
    #[error("malformed range proof: {reason}")]
    MalformedRangeProof {
        /// Which layout rule was broken.
        reason: &'static str,
    },
    /// The bytes decode but the program they describe is ill-formed.
    #[error("decoded program is invalid: {0}")]
    Program(#[from] ProgramError),
}

/// A constraint program that breaks a rule of the IR (see `program`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// A constraint names a variable the program does not declare.
    #[error("constraint {constraint} names variable {var}, but only {declared} are declared")]
    UnknownVariable {
        /// Index of the constraint.
        constraint: usize,
        /// The variable index.
        var: u16,
        /// How many variables are declared.
        declared: usize,
    },
    /// A constraint names a public input the program does not declare.
    #[error(
        "constraint {constraint} names public input {public}, but only {declared} are declared"
    )]
    UnknownPublic {
        /// Index of the constraint.
        constraint: usize,
        /// The public index.
        public: u16,
        /// How many public inputs are declared.
        declared: usize,
    },
    /// A variable that no range, set or boolean constraint bounds and that is
    /// not declared as already proven in range. Such a variable could be any
    /// scalar modulo ℓ (think `-1`), which would make integer statements such
    /// as conservation of value unsound.
    #[error(
        "variable `{name}` (#{var}) is unbounded: add a range, boolean or one-of constraint, or declare it proven"
    )]
    UnboundedVariable {
        /// The variable index.
        var: u16,
        /// Its name.
        name: String,
    },
    /// A coefficient or constant whose magnitude exceeds `u64::MAX`.
    #[error("constraint {constraint} has a coefficient or constant beyond ±(2^64 - 1)")]
    CoefficientTooLarge {
        /// Index of the constraint.
        constraint: usize,
    },
    /// A one-of constraint with an empty set, or with more than the maximum.
    #[error("constraint {constraint} has a set of {size} values; allowed is 1..={max}")]
    SetSize {
        /// Index of the constraint.
        constraint: usize,
        /// The set's size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A one-of constraint listing a value twice.
    #[error("constraint {constraint} lists the value {value} twice")]
    DuplicateInSet {
        /// Index of the constraint.
        constraint: usize,
        /// The repeated value.
        value: u64,
    },
    /// A linear expression with more terms than the format allows.
    #[error("constraint {constraint} has {terms} terms; the limit is {max}")]
    TooManyTerms {
        /// Index of the constraint.
        constraint: usize,
        /// Its term count.
        terms: usize,
        /// The limit.
        max: usize,
    },
    /// The program needs more range entries than one aggregated proof holds.
    #[error("the program needs {entries} range entries; one proof holds at most {max}")]
    TooManyRangeEntries {
        /// Entries needed (after splitting narrow ranges, before padding).
        entries: usize,
        /// The limit.
        max: usize,
    },
    /// More variables, publics or constraints than the format allows.
    #[error("{what}: {count} exceeds the limit of {max}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A name longer than the format allows.
    #[error("a name of {len} bytes exceeds the limit of {max}")]
    NameTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a proof could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The program itself is ill-formed.
    #[error("invalid program: {0}")]
    Program(#[from] ProgramError),
    /// The witness does not have one opening per declared variable.
    #[error("the program declares {expected} variables, the witness has {found}")]
    WitnessCount {
        /// Variables declared.
        expected: usize,
        /// Openings given.
        found: usize,
    },
    /// The public inputs do not match the declared count.
    #[error("the program declares {expected} public inputs, {found} were given")]
    PublicCount {
        /// Publics declared.
        expected: usize,
        /// Publics given.
        found: usize,
    },
    /// The witness does not satisfy a constraint; a proof would not verify.
    #[error("the witness does not satisfy constraint {constraint} ({kind})")]
    Unsatisfied {
        /// Index of the constraint.
        constraint: usize,
        /// Its kind, for the message.
        kind: &'static str,
    },
    /// A declared-proven variable whose witness is outside its declared range.
    #[error("variable #{var} is declared proven within {bits} bits, but its value is not")]
    OutOfDeclaredRange {
        /// The variable index.
        var: u16,
        /// Its declared width.
        bits: u8,
    },
    /// bulletproofs refused to prove. Given a validated program and a
    /// satisfying witness this never happens: it always represents a bug.
    #[error("range proof failed: {0}")]
    RangeProof(String),
}

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The program itself is ill-formed.
    #[error("invalid program: {0}")]
    Program(#[from] ProgramError),
    /// Not one commitment per declared variable.
    #[error("the program declares {expected} variables, {found} commitments were given")]
    CommitmentCount {
        /// Variables declared.
        expected: usize,
        /// Commitments given.
        found: usize,
    },
    /// The public inputs do not match the declared count.
    #[error("the program declares {expected} public inputs, {found} were given")]
    PublicCount {
        /// Publics declared.
        expected: usize,
        /// Publics given.
        found: usize,
    },
    /// The proof's structure is not the one this program produces (a proof
    /// made for another program, or a forged one).
    #[error("the proof does not fit the program: {reason}")]
    ShapeMismatch {
        /// What differs.
        reason: &'static str,
    },
    /// The aggregated range proof does not verify.
    #[error("the range proof does not verify")]
    RangeProofRejected,
    /// The Σ-protocol equations do not hold.
    #[error("the Σ-proofs do not verify")]
    SigmaRejected,
}

/// A batch failed: the first proof (by index) that does not verify on its own.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("proof {index} of the batch does not verify: {error}")]
pub struct BatchError {
    /// Index of the failing item in the batch.
    pub index: usize,
    /// Why it fails.
    pub error: VerifyError,
}
