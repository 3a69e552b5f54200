//! The reference interpreter: runs one function of a checked contract
//! directly over its syntax tree.
//!
//! It is the oracle of the compiler. A differential test runs a call here
//! and in the compiled module (in the engine's sandbox) and compares the
//! outcomes, so the interpreter implements the language's meaning
//! (docs/language.md) in the plainest way, and shares with the compiler only
//! what must agree to the byte: [`crate::semantics`] (the abort reasons of
//! arithmetic faults, the bytes a hash reads).
//!
//! A call runs in three steps:
//! 1. the input is checked against the function: every field and argument
//!    of its declared type, parties in range, one balance per party, a total
//!    that fits in a `u64` (so no transfer can overflow a balance);
//! 2. the body runs on a copy of the input: `transfer` moves the *live*
//!    allocation at once; the transfers of an `await P silent { .. }` block
//!    have their amounts evaluated where the block stands, and are recorded;
//! 3. the recorded silent transfers are applied, in order, to the final live
//!    allocation, each checked against overdraw; the result is the *signed*
//!    allocation, what the chain pays if the awaited party stays silent.
//!
//! # Private values and taint
//!
//! The interpreter sees every value, private ones included: it runs as the
//! owner of the private values does. The compiled module's public part, run
//! by everyone, cannot see them (docs/abi.md). So that a differential test
//! knows whether that public part must fail at the same place, every value
//! carries a *taint*: whether it is derived from a private field or a private
//! parameter. `reveal(x)` yields an untainted value. `a && b` is as tainted
//! as what decided it: `a` alone when `a` is false (`b` is not evaluated),
//! `b` alone when `a` is true and `b` false (false whatever `a` was), both
//! when both are true; `||` alike, with the truth values swapped. This
//! matches the compiled module: the public part checks every public conjunct
//! of a `require` by itself, so `require secret > 5 && n > 1` with a true
//! first and a false second conjunct aborts in the public part too. A `let`
//! local stays tainted once a tainted value was stored in it, as the checker
//! keeps a local private once it was declared so. [`Failure::Abort`]'s
//! `private` flag is the taint of the failing `require`'s condition, or of
//! the faulting operator's operands: when it is false, the public part
//! (given the revealed values as its arguments) aborts at the same place
//! with the same reason; when it is true, only the owner's run (the witness
//! part) is sure to.
//!
//! **Architecture invariant:** [`run`] never panics and never changes its
//! input. Input that does not fit the function is an [`InputError`], found
//! before anything runs; a tree the checker would refuse (an error node, an
//! unknown name, mismatched types) is [`Failure::Malformed`] when execution
//! reaches the offending node.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use thiserror::Error;

use crate::abi::{Value, ValueType};
use crate::diagnostic::Span;
use crate::semantics::{Fault, fault_reason, hash_bytes, op_symbol};
use crate::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Function, Ident, Stmt, StmtKind, Type, UnOp, Visibility,
};

/// What a call starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// Every state field, in declaration order, private ones included (the
    /// owner's values).
    pub fields: Vec<Value>,
    /// Every parameter of the function, in declaration order, private ones
    /// included.
    pub args: Vec<Value>,
    /// One balance per party, in declaration order: the live allocation the
    /// call starts from.
    pub allocation: Vec<u64>,
    /// The time agreed in the update: the value of `now`.
    pub now: u64,
}

/// What a call that returned normally did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Every state field after the call, in declaration order.
    pub fields: Vec<Value>,
    /// The live allocation: the input's, after every `transfer`. The contract
    /// continues from it.
    pub live: Vec<u64>,
    /// The signed allocation: `live`, then every silent transfer applied in
    /// the order recorded; equal to `live` when none was. The chain pays it
    /// if the awaited party never moves.
    pub signed: Vec<u64>,
    /// The party index of the last `await` executed, if any.
    pub awaited: Option<u32>,
    /// Whether `finish` was executed.
    pub finished: bool,
    /// The value of each `reveal(x)` evaluated, in evaluation order.
    pub reveals: Vec<Value>,
}

/// Why a call did not return normally. Nothing it did is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Failure {
    /// A `require` was false (`reason` is its string, as written), or an
    /// arithmetic operator faulted (`reason` is
    /// [`fault_reason`]).
    #[error("aborted: {reason}")]
    Abort {
        /// The abort reason.
        reason: String,
        /// Whether the failing condition, or an operand of the faulting
        /// operator, is derived from a private value: if so, the compiled
        /// module's public part cannot see the failure (see the module docs).
        private: bool,
    },
    /// A `transfer` (live allocation, `silent == false`) or a recorded
    /// silent transfer applied at the end of the call (signed allocation,
    /// `silent == true`) would overdraw `party`.
    #[error("{} of {amount} from party #{party}, who has {balance}", transfer_kind(*silent))]
    InsufficientFunds {
        /// Whether it was a silent transfer.
        silent: bool,
        /// The payer's index.
        party: u32,
        /// The payer's balance at that point.
        balance: u64,
        /// The amount.
        amount: u64,
    },
    /// The input does not fit the function; nothing ran.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The tree is not one the checker accepts (an error node, an unknown
    /// name, mismatched types, a statement other than `transfer` in a
    /// `silent` block...), found when execution reached `span`. Running only
    /// contracts that parse and check without errors, this always represents
    /// a bug, in the checker or here.
    #[error("not a checked contract: {what} (bytes {}..{})", span.start, span.end)]
    Malformed {
        /// What was wrong.
        what: String,
        /// Where in the source.
        span: Span,
    },
}

fn transfer_kind(silent: bool) -> &'static str {
    if silent {
        "silent transfer"
    } else {
        "transfer"
    }
}

/// Input that does not fit the called function.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// The contract has no function of that name.
    #[error("the contract has no function `{name}`")]
    UnknownFunction {
        /// The name asked for.
        name: String,
    },
    /// Not one value per state field.
    #[error("{found} field values for {expected} fields")]
    FieldCount {
        /// The number of fields the contract declares.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A field value of the wrong type.
    #[error("field `{field}` is a `{expected}`, given a `{found}`")]
    FieldType {
        /// The field's name.
        field: String,
        /// Its declared type.
        expected: ValueType,
        /// The type of the value given.
        found: ValueType,
    },
    /// Not one argument per parameter.
    #[error("`{function}` takes {expected} arguments, given {found}")]
    ArgCount {
        /// The function called.
        function: String,
        /// Its number of parameters.
        expected: usize,
        /// Arguments given.
        found: usize,
    },
    /// An argument of the wrong type.
    #[error("parameter `{param}` of `{function}` is a `{expected}`, given a `{found}`")]
    ArgType {
        /// The function called.
        function: String,
        /// The parameter's name.
        param: String,
        /// Its declared type.
        expected: ValueType,
        /// The type of the value given.
        found: ValueType,
    },
    /// A `party` field value or argument names no declared party.
    #[error("{what} is party #{party}, but the contract has {parties} parties")]
    PartyOutOfRange {
        /// Which field or argument, e.g. "field `winner`".
        what: String,
        /// The index given.
        party: u32,
        /// The number of parties.
        parties: usize,
    },
    /// Not one balance per party.
    #[error("{found} balances for {parties} parties")]
    AllocationLength {
        /// The number of parties.
        parties: usize,
        /// Balances given.
        found: usize,
    },
    /// The balances add up to more than `u64::MAX` (the sandbox refuses
    /// such an allocation too).
    #[error("the allocation's total does not fit in a u64")]
    AllocationOverflow,
}

/// Runs `function` of `contract` (parsed from `source`, which the abort
/// reasons of arithmetic faults quote line numbers of) on `input`.
///
/// `contract` should parse and check without errors; if it does not, the
/// call may fail with [`Failure::Malformed`], never panic.
pub fn run(
    contract: &Contract,
    source: &str,
    function: &str,
    input: &Input,
) -> Result<Output, Failure> {
    // Step 1: the function, and the input checked against it.
    let Some(f) = contract.functions.iter().find(|f| f.name.name == function) else {
        return Err(InputError::UnknownFunction {
            name: function.to_owned(),
        }
        .into());
    };
    check_input(contract, f, input)?;

    // Step 2: the body.
    let mut m = Machine::new(contract, source, f, input)?;
    m.block(&f.body)?;

    // Step 3: the signed allocation.
    let mut signed = m.live.clone();
    for t in &m.silent {
        move_funds(&mut signed, t, true)?;
    }
    Ok(Output {
        fields: m.fields.iter().map(|s| s.value).collect(),
        live: m.live,
        signed,
        awaited: m.awaited,
        finished: m.finished,
        reveals: m.reveals,
    })
}

/// The values the contract's fields start with when a channel opens: each
/// field's initial value, or the zero of its type
/// ([`ValueType::zero`]) where none is written. For a private field, this
/// is the default its owner commits to.
///
/// Fails with [`Failure::Malformed`] on an initial value that is not a
/// literal or a party of the field's type (the checker refuses those).
pub fn initial_fields(contract: &Contract) -> Result<Vec<Value>, Failure> {
    let parties = party_indices(contract)?;
    contract
        .fields
        .iter()
        .map(|f| {
            let ty = value_type(f.ty.0);
            let Some(init) = &f.init else {
                return Ok(ty.zero());
            };
            let value = match &init.kind {
                ExprKind::Int(n) => Value::U64(*n),
                ExprKind::Bool(b) => Value::Bool(*b),
                ExprKind::Bytes32(b) => Value::Bytes32(*b),
                ExprKind::Name(n) => match parties.get(n.as_str()) {
                    Some(p) => Value::Party(*p),
                    None => {
                        return Err(malformed(
                            "an initial value that is not a party",
                            &init.span,
                        ));
                    }
                },
                _ => {
                    return Err(malformed(
                        "an initial value that is not a literal",
                        &init.span,
                    ));
                }
            };
            if value.value_type() == ty {
                Ok(value)
            } else {
                Err(mismatch(ty, value, &init.span))
            }
        })
        .collect()
}

/// The type a field or parameter is declared with.
fn value_type(t: Type) -> ValueType {
    match t {
        Type::U64 => ValueType::U64,
        Type::Bool => ValueType::Bool,
        Type::Bytes32 => ValueType::Bytes32,
        Type::Party => ValueType::Party,
    }
}

fn malformed(what: impl Into<String>, span: &Span) -> Failure {
    Failure::Malformed {
        what: what.into(),
        span: span.clone(),
    }
}

fn mismatch(expected: ValueType, found: Value, span: &Span) -> Failure {
    malformed(
        format!("expected a `{expected}`, found a `{}`", found.value_type()),
        span,
    )
}

/// Each party's name and index; the first declaration wins, as the checker
/// refuses a second.
fn party_indices(contract: &Contract) -> Result<HashMap<&str, u32>, Failure> {
    let mut parties = HashMap::new();
    for (i, p) in contract.parties.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else {
            return Err(malformed("more parties than a `u32` can index", &p.span));
        };
        parties.entry(p.name.as_str()).or_insert(i);
    }
    Ok(parties)
}

/// Step 1: every check on the input, in the order the variants of
/// [`InputError`] are listed.
fn check_input(contract: &Contract, f: &Function, input: &Input) -> Result<(), InputError> {
    let parties = contract.parties.len();
    let party_ok = |value: &Value, what: &dyn Fn() -> String| match *value {
        Value::Party(p) if usize::try_from(p).map_or(true, |p| p >= parties) => {
            Err(InputError::PartyOutOfRange {
                what: what(),
                party: p,
                parties,
            })
        }
        _ => Ok(()),
    };
    if input.fields.len() != contract.fields.len() {
        return Err(InputError::FieldCount {
            expected: contract.fields.len(),
            found: input.fields.len(),
        });
    }
    for (field, value) in contract.fields.iter().zip(&input.fields) {
        let expected = value_type(field.ty.0);
        if value.value_type() != expected {
            return Err(InputError::FieldType {
                field: field.name.name.clone(),
                expected,
                found: value.value_type(),
            });
        }
        party_ok(value, &|| format!("field `{}`", field.name.name))?;
    }
    if input.args.len() != f.params.len() {
        return Err(InputError::ArgCount {
            function: f.name.name.clone(),
            expected: f.params.len(),
            found: input.args.len(),
        });
    }
    for (param, value) in f.params.iter().zip(&input.args) {
        let expected = value_type(param.ty.0);
        if value.value_type() != expected {
            return Err(InputError::ArgType {
                function: f.name.name.clone(),
                param: param.name.name.clone(),
                expected,
                found: value.value_type(),
            });
        }
        party_ok(value, &|| {
            format!("parameter `{}` of `{}`", param.name.name, f.name.name)
        })?;
    }
    if input.allocation.len() != parties {
        return Err(InputError::AllocationLength {
            parties,
            found: input.allocation.len(),
        });
    }
    input
        .allocation
        .iter()
        .try_fold(0u64, |total, b| total.checked_add(*b))
        .map(|_| ())
        .ok_or(InputError::AllocationOverflow)
}

/// A value and whether it is derived from a private value.
#[derive(Debug, Clone, Copy)]
struct Val {
    value: Value,
    tainted: bool,
}

impl Val {
    fn public(value: Value) -> Self {
        Val {
            value,
            tainted: false,
        }
    }
}

/// A state field during the call.
struct Slot {
    value: Value,
    ty: ValueType,
    private: bool,
}

/// A transfer of `amount` from party `from` to party `to`, written at
/// `span`.
struct Move {
    from: u32,
    to: u32,
    amount: u64,
    span: Span,
}

/// Moves funds in `allocation`, or reports the payer's shortfall. Shared by
/// `transfer` (live) and Step 3 (signed).
fn move_funds(allocation: &mut [u64], t: &Move, silent: bool) -> Result<(), Failure> {
    let index = |p: u32| usize::try_from(p).ok().filter(|&i| i < allocation.len());
    let (Some(from), Some(to)) = (index(t.from), index(t.to)) else {
        // Parties come from the tree's party list, whose length the
        // allocation's was checked against.
        return Err(malformed(
            "a party index beyond the allocation (a bug)",
            &t.span,
        ));
    };
    let Some(left) = allocation[from].checked_sub(t.amount) else {
        return Err(Failure::InsufficientFunds {
            silent,
            party: t.from,
            balance: allocation[from],
            amount: t.amount,
        });
    };
    allocation[from] = left;
    // The total fits in a u64 (Step 1) and transfers conserve it, so no
    // balance can overflow.
    match allocation[to].checked_add(t.amount) {
        Some(sum) => {
            allocation[to] = sum;
            Ok(())
        }
        None => Err(malformed(
            "a balance overflow despite a total within u64 (a bug)",
            &t.span,
        )),
    }
}

/// The state of one call while its body runs.
struct Machine<'t> {
    source: &'t str,
    parties: HashMap<&'t str, u32>,
    field_index: HashMap<&'t str, usize>,
    fields: Vec<Slot>,
    params: HashMap<&'t str, Val>,
    /// `let` locals, innermost last; a block truncates it to its length at
    /// entry when it ends.
    locals: Vec<(&'t str, Val)>,
    now: u64,
    live: Vec<u64>,
    silent: Vec<Move>,
    awaited: Option<u32>,
    finished: bool,
    reveals: Vec<Value>,
}

impl<'t> Machine<'t> {
    /// A machine ready to run `f` on `input`, which Step 1 checked.
    fn new(
        contract: &'t Contract,
        source: &'t str,
        f: &'t Function,
        input: &Input,
    ) -> Result<Self, Failure> {
        let mut field_index = HashMap::new();
        for (i, field) in contract.fields.iter().enumerate() {
            field_index.entry(field.name.name.as_str()).or_insert(i);
        }
        let fields = contract
            .fields
            .iter()
            .zip(&input.fields)
            .map(|(field, value)| Slot {
                value: *value,
                ty: value_type(field.ty.0),
                private: matches!(field.visibility, Visibility::Private(_)),
            })
            .collect();
        let mut params = HashMap::new();
        for (param, value) in f.params.iter().zip(&input.args) {
            params.entry(param.name.name.as_str()).or_insert(Val {
                value: *value,
                tainted: param.private,
            });
        }
        Ok(Machine {
            source,
            parties: party_indices(contract)?,
            field_index,
            fields,
            params,
            locals: Vec::new(),
            now: input.now,
            live: input.allocation.clone(),
            silent: Vec::new(),
            awaited: None,
            finished: false,
            reveals: Vec::new(),
        })
    }

    fn block(&mut self, b: &'t Block) -> Result<(), Failure> {
        let mark = self.locals.len();
        for s in &b.stmts {
            self.stmt(s)?;
        }
        self.locals.truncate(mark);
        Ok(())
    }

    fn stmt(&mut self, s: &'t Stmt) -> Result<(), Failure> {
        match &s.kind {
            StmtKind::Let { name, ty, value } => {
                let v = self.expr(value)?;
                if let Some((t, _)) = ty
                    && value_type(*t) != v.value.value_type()
                {
                    return Err(mismatch(value_type(*t), v.value, &value.span));
                }
                self.locals.push((&name.name, v));
            }
            StmtKind::Assign { target, value } => self.assign(target, value)?,
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond)?;
                if want_bool(c, &cond.span)? {
                    self.block(then)?;
                } else if let Some(b) = otherwise {
                    self.block(b)?;
                }
            }
            StmtKind::Require { cond, reason } => {
                let c = self.expr(cond)?;
                if !want_bool(c, &cond.span)? {
                    return Err(Failure::Abort {
                        reason: reason.0.clone(),
                        private: c.tainted,
                    });
                }
            }
            StmtKind::Transfer { amount, from, to } => {
                let t = self.transfer(amount, from, to, &s.span)?;
                move_funds(&mut self.live, &t, false)?;
            }
            StmtKind::Await { party, silent } => {
                self.awaited = Some(self.party(party)?);
                for s in silent.iter().flat_map(|b| &b.stmts) {
                    let StmtKind::Transfer { amount, from, to } = &s.kind else {
                        return Err(malformed(
                            "a statement other than `transfer` in a `silent` block",
                            &s.span,
                        ));
                    };
                    // The amount is evaluated here; the move waits for Step 3.
                    let t = self.transfer(amount, from, to, &s.span)?;
                    self.silent.push(t);
                }
            }
            StmtKind::Finish => self.finished = true,
            StmtKind::Error => return Err(malformed("a statement that did not parse", &s.span)),
        }
        Ok(())
    }

    /// Evaluates a transfer's amount, then names its parties.
    fn transfer(
        &mut self,
        amount: &'t Expr,
        from: &Ident,
        to: &Ident,
        span: &Span,
    ) -> Result<Move, Failure> {
        let amount = want_u64(self.expr(amount)?, &amount.span)?;
        Ok(Move {
            from: self.party(from)?,
            to: self.party(to)?,
            amount,
            span: span.clone(),
        })
    }

    /// The index of a party named in a `transfer` or `await`.
    fn party(&self, name: &Ident) -> Result<u32, Failure> {
        self.parties
            .get(name.name.as_str())
            .copied()
            .ok_or_else(|| malformed(format!("`{}` is not a party", name.name), &name.span))
    }

    fn assign(&mut self, target: &Ident, value: &'t Expr) -> Result<(), Failure> {
        let v = self.expr(value)?;
        let name = target.name.as_str();
        if let Some((_, local)) = self.locals.iter_mut().rev().find(|(n, _)| *n == name) {
            if local.value.value_type() != v.value.value_type() {
                return Err(mismatch(local.value.value_type(), v.value, &value.span));
            }
            // A local stays tainted once it held a tainted value.
            *local = Val {
                value: v.value,
                tainted: local.tainted || v.tainted,
            };
            return Ok(());
        }
        if self.params.contains_key(name) || self.parties.contains_key(name) {
            return Err(malformed(
                format!("assignment to parameter or party `{name}`"),
                &target.span,
            ));
        }
        let slot = self
            .field_index
            .get(name)
            .and_then(|&i| self.fields.get_mut(i))
            .ok_or_else(|| malformed(format!("unknown name `{name}`"), &target.span))?;
        if slot.ty != v.value.value_type() {
            return Err(mismatch(slot.ty, v.value, &value.span));
        }
        slot.value = v.value;
        Ok(())
    }

    /// Looks `name` up as the checker does: locals (innermost first),
    /// parameters, then fields and parties.
    fn name(&self, name: &str, span: &Span) -> Result<Val, Failure> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| *n == name) {
            return Ok(*v);
        }
        if let Some(v) = self.params.get(name) {
            return Ok(*v);
        }
        if let Some(slot) = self.field_index.get(name).and_then(|&i| self.fields.get(i)) {
            return Ok(Val {
                value: slot.value,
                tainted: slot.private,
            });
        }
        match self.parties.get(name) {
            Some(p) => Ok(Val::public(Value::Party(*p))),
            None => Err(malformed(format!("unknown name `{name}`"), span)),
        }
    }

    fn expr(&mut self, e: &'t Expr) -> Result<Val, Failure> {
        match &e.kind {
            ExprKind::Int(n) => Ok(Val::public(Value::U64(*n))),
            ExprKind::Bytes32(b) => Ok(Val::public(Value::Bytes32(*b))),
            ExprKind::Bool(b) => Ok(Val::public(Value::Bool(*b))),
            ExprKind::Now => Ok(Val::public(Value::U64(self.now))),
            ExprKind::Name(n) => self.name(n, &e.span),
            ExprKind::Unary(UnOp::Not, inner) => {
                let v = self.expr(inner)?;
                let b = want_bool(v, &inner.span)?;
                Ok(Val {
                    value: Value::Bool(!b),
                    tainted: v.tainted,
                })
            }
            ExprKind::Unary(UnOp::Neg, _) => Err(malformed("a negation", &e.span)),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, &e.span),
            ExprKind::Call(f, args) => self.call(f, args, &e.span),
            ExprKind::Reveal(x) => {
                let v = self.name(&x.name, &x.span)?;
                self.reveals.push(v.value);
                Ok(Val::public(v.value))
            }
            ExprKind::Error => Err(malformed("an expression that did not parse", &e.span)),
        }
    }

    fn binary(&mut self, op: BinOp, l: &'t Expr, r: &'t Expr, span: &Span) -> Result<Val, Failure> {
        let lv = self.expr(l)?;
        // `&&` and `||`: when the left side decides, the right side is not
        // evaluated (so it cannot fault) and plays no part in the taint.
        let decides = match op {
            BinOp::And => Some(false),
            BinOp::Or => Some(true),
            _ => None,
        };
        if let Some(decides) = decides {
            let a = want_bool(lv, &l.span)?;
            if a == decides {
                return Ok(lv);
            }
            let rv = self.expr(r)?;
            let b = want_bool(rv, &r.span)?;
            // A right side equal to `decides` decided alone: `true && false`
            // is false whatever the left side was.
            let tainted = if b == decides {
                rv.tainted
            } else {
                lv.tainted || rv.tainted
            };
            return Ok(Val {
                value: Value::Bool(b),
                tainted,
            });
        }
        let rv = self.expr(r)?;
        let tainted = lv.tainted || rv.tainted;
        let fault = |fault| Failure::Abort {
            reason: fault_reason(fault, op, self.source, span.start),
            private: tainted,
        };
        use Value::{Bool, U64};
        let value = match (op, lv.value, rv.value) {
            (BinOp::Eq, a, b) if a.value_type() == b.value_type() => Bool(a == b),
            (BinOp::Ne, a, b) if a.value_type() == b.value_type() => Bool(a != b),
            (BinOp::Lt, U64(a), U64(b)) => Bool(a < b),
            (BinOp::Le, U64(a), U64(b)) => Bool(a <= b),
            (BinOp::Gt, U64(a), U64(b)) => Bool(a > b),
            (BinOp::Ge, U64(a), U64(b)) => Bool(a >= b),
            (BinOp::Add, U64(a), U64(b)) => {
                U64(a.checked_add(b).ok_or_else(|| fault(Fault::Overflow))?)
            }
            (BinOp::Sub, U64(a), U64(b)) => {
                U64(a.checked_sub(b).ok_or_else(|| fault(Fault::Underflow))?)
            }
            (BinOp::Mul, U64(a), U64(b)) => {
                U64(a.checked_mul(b).ok_or_else(|| fault(Fault::Overflow))?)
            }
            (BinOp::Div, U64(a), U64(b)) => U64(a
                .checked_div(b)
                .ok_or_else(|| fault(Fault::DivisionByZero))?),
            (BinOp::Rem, U64(a), U64(b)) => U64(a
                .checked_rem(b)
                .ok_or_else(|| fault(Fault::DivisionByZero))?),
            (op, a, b) => {
                return Err(malformed(
                    format!(
                        "`{}` on a `{}` and a `{}`",
                        op_symbol(op),
                        a.value_type(),
                        b.value_type()
                    ),
                    span,
                ));
            }
        };
        Ok(Val { value, tainted })
    }

    /// A builtin call; its arguments are evaluated left to right first.
    fn call(&mut self, f: &Ident, args: &'t [Expr], span: &Span) -> Result<Val, Failure> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.expr(a)?);
        }
        let tainted = vals.iter().any(|v| v.tainted);
        let value = match (f.name.as_str(), vals.as_slice()) {
            (hash @ ("sha256" | "keccak256"), [_, ..]) => {
                let mut bytes = Vec::new();
                for v in &vals {
                    hash_bytes(&v.value, &mut bytes);
                }
                Value::Bytes32(if hash == "sha256" {
                    Sha256::digest(&bytes).into()
                } else {
                    Keccak256::digest(&bytes).into()
                })
            }
            ("balance", [p]) => {
                let Value::Party(p) = p.value else {
                    return Err(mismatch(ValueType::Party, p.value, span));
                };
                let balance = usize::try_from(p).ok().and_then(|i| self.live.get(i));
                match balance {
                    Some(b) => Value::U64(*b),
                    None => {
                        return Err(malformed(format!("party #{p} out of range (a bug)"), span));
                    }
                }
            }
            ("min", [a, b]) => Value::U64(want_u64(*a, span)?.min(want_u64(*b, span)?)),
            ("max", [a, b]) => Value::U64(want_u64(*a, span)?.max(want_u64(*b, span)?)),
            (name, _) => {
                return Err(malformed(
                    format!("`{name}` with {} arguments is not a builtin", vals.len()),
                    span,
                ));
            }
        };
        Ok(Val { value, tainted })
    }
}

fn want_bool(v: Val, span: &Span) -> Result<bool, Failure> {
    match v.value {
        Value::Bool(b) => Ok(b),
        other => Err(mismatch(ValueType::Bool, other, span)),
    }
}

fn want_u64(v: Val, span: &Span) -> Result<u64, Failure> {
    match v.value {
        Value::U64(n) => Ok(n),
        other => Err(mismatch(ValueType::U64, other, span)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(from: u32, to: u32, amount: u64) -> Move {
        Move {
            from,
            to,
            amount,
            span: 0..0,
        }
    }

    #[test]
    fn a_transfer_to_oneself_checks_the_balance_and_moves_nothing() {
        let mut a = vec![5, 7];
        assert_eq!(move_funds(&mut a, &mv(0, 0, 5), false), Ok(()));
        assert_eq!(a, [5, 7]);
        assert_eq!(
            move_funds(&mut a, &mv(0, 0, 6), true),
            Err(Failure::InsufficientFunds {
                silent: true,
                party: 0,
                balance: 5,
                amount: 6
            })
        );
        assert_eq!(a, [5, 7]);
    }

    #[test]
    fn an_out_of_range_party_is_malformed_not_a_panic() {
        let mut a = vec![5, 7];
        assert!(matches!(
            move_funds(&mut a, &mv(2, 0, 1), false),
            Err(Failure::Malformed { .. })
        ));
        assert!(matches!(
            move_funds(&mut a, &mv(0, u32::MAX, 1), false),
            Err(Failure::Malformed { .. })
        ));
        assert_eq!(a, [5, 7]);
    }
}
