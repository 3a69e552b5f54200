//! One contract function to one WASM function body: the public part
//! (`call.NAME`) or the witness part (`witness.NAME`), and the function's
//! constraint program.
//!
//! Both parts come from the *same* walk over the function, parameterised by
//! [`Part`], so they agree on everything the runner relies on: the public
//! inputs (numbered in the order the walk meets them), the circuit's
//! variables, and every public effect (field writes, transfers, awaits). The
//! walk differs only in what it does with private values:
//!
//! - **Public part:** a private value has no WASM value at all. A `require`
//!   over private values is skipped, except that its public sub-expressions
//!   are computed and handed to the host as public inputs; a private field
//!   assignment or `let` emits nothing; `reveal(x)` reads the revealed value
//!   from its argument slot.
//! - **Witness part:** private values are read with `private_get`, computed
//!   with the same checked arithmetic as public ones, checked by every
//!   `require` (so the owner sees the contract's own reason before proving
//!   anything), and written with `private_set` for the program's outputs.
//!
//! In both, a private expression is also lowered to a [`LinExpr`] over the
//! program's variables and public inputs; see docs/notes/compiler.md for
//! the lowering and why it is sound.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sotto_circuits::{CmpOp, Constraint, LinExpr, MAX_COEFF, RangeBits, Term, VarDecl, VarId};
use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use crate::abi::{Reveal, ValueType, VarRole};
use crate::diagnostic::{Diagnostic, Span};
use crate::semantics::{Fault, fault_reason};
use crate::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Function, Stmt, StmtKind, Type, UnOp, Visibility,
};

use super::host::Import;

/// Which part of a function is being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Public,
    Witness,
}

/// Static data shared by all functions: abort reasons and `bytes32`
/// literals, each stored once, at addresses from 0 upwards.
#[derive(Debug, Default)]
pub(super) struct Data {
    pub(super) bytes: Vec<u8>,
    index: HashMap<Vec<u8>, u32>,
}

impl Data {
    fn intern(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&at) = self.index.get(bytes) {
            return at;
        }
        let at = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(bytes);
        self.index.insert(bytes.to_vec(), at);
        at
    }
}

/// What the walk produced for one part.
#[derive(Debug)]
pub(super) struct Body {
    pub(super) code: Vec<I<'static>>,
    pub(super) locals: Vec<ValType>,
    /// Indices into `code` of `i32.const` scratch addresses that are
    /// relative to the scratch base (known once all data is interned).
    pub(super) scratch_fixups: Vec<usize>,
    /// Bytes of scratch memory this part uses.
    pub(super) scratch: u32,
    /// Upper bound on the fuel one run of this part can use.
    pub(super) fuel_bound: u64,
    pub(super) circuit: Circuit,
}

/// A function's constraint program in the making, with its ABI facts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Circuit {
    pub(super) vars: Vec<VarDecl>,
    pub(super) roles: Vec<VarRole>,
    pub(super) publics: Vec<String>,
    pub(super) constraints: Vec<Constraint>,
    pub(super) reveals: Vec<Reveal>,
}

impl Circuit {
    fn var(&mut self, name: String, role: VarRole, proven: Option<RangeBits>) -> VarId {
        self.vars.push(VarDecl { name, proven });
        self.roles.push(role);
        VarId(u16::try_from(self.vars.len() - 1).unwrap_or(u16::MAX))
    }

    fn public(&mut self, name: String) -> u16 {
        self.publics.push(name);
        u16::try_from(self.publics.len() - 1).unwrap_or(u16::MAX)
    }

    /// Whether the function needs a witness part and a program.
    pub(super) fn is_empty(&self) -> bool {
        self.vars.is_empty() && self.publics.is_empty()
    }
}

/// A private value during the walk: its linear form over the program's
/// variables and public inputs, and (witness part only) the WASM local
/// holding its value.
#[derive(Debug, Clone)]
struct Secret {
    lin: LinExpr,
    local: Option<u32>,
}

/// What a local name is bound to.
#[derive(Debug, Clone)]
enum Local {
    /// An `i64` WASM local (`u64`, `bool`, `party`).
    Word(u32, ValueType),
    /// 32 bytes at a scratch address.
    Bytes(u32),
    /// A private value.
    Private(Secret, ValueType),
}

/// Longest abort reason the host accepts (docs/abi.md, `abort`).
pub(super) const MAX_REASON_BYTES: usize = 256;

/// Longest public-input or variable name emitted.
const NAME_CHARS: usize = 64;

/// Static per-contract facts the walk needs.
pub(super) struct Ctx<'a> {
    pub(super) contract: &'a Contract,
    pub(super) source: &'a str,
    pub(super) data: &'a mut Data,
    pub(super) diags: &'a mut Vec<Diagnostic>,
}

/// Generates one part of `f`.
pub(super) fn generate(ctx: &mut Ctx<'_>, f: &Function, part: Part) -> Body {
    let mut g = Gen {
        ctx,
        f,
        part,
        code: Vec::new(),
        locals: Vec::new(),
        scratch_fixups: Vec::new(),
        scratch: 0,
        host_fuel: 0,
        frames: vec![HashMap::new()],
        fields: BTreeMap::new(),
        written: BTreeSet::new(),
        params: BTreeMap::new(),
        circuit: Circuit::default(),
        conditional: 0,
    };
    g.block_stmts(&f.body);
    g.store_private_fields();
    let fuel_bound = u64::try_from(g.code.len())
        .unwrap_or(u64::MAX)
        .saturating_add(g.host_fuel);
    Body {
        code: g.code,
        locals: g.locals,
        scratch_fixups: g.scratch_fixups,
        scratch: g.scratch,
        fuel_bound,
        circuit: g.circuit,
    }
}

fn party_index(contract: &Contract, name: &str) -> u32 {
    contract
        .parties
        .iter()
        .position(|p| p.name == name)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

pub(super) fn value_type(t: Type) -> ValueType {
    match t {
        Type::U64 => ValueType::U64,
        Type::Bool => ValueType::Bool,
        Type::Bytes32 => ValueType::Bytes32,
        Type::Party => ValueType::Party,
    }
}

/// A memory access with no offset and byte alignment.
fn mem(offset: u64) -> MemArg {
    MemArg {
        offset,
        align: 0,
        memory_index: 0,
    }
}

struct Gen<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    f: &'c Function,
    part: Part,
    code: Vec<I<'static>>,
    locals: Vec<ValType>,
    scratch_fixups: Vec<usize>,
    scratch: u32,
    host_fuel: u64,
    frames: Vec<HashMap<String, Local>>,
    /// Current value of each private field read or written so far.
    fields: BTreeMap<u32, Secret>,
    /// Private fields assigned by the function.
    written: BTreeSet<u32>,
    /// The variable of each private parameter read so far.
    params: BTreeMap<usize, Secret>,
    circuit: Circuit,
    /// How many `if` blocks enclose the current statement.
    conditional: usize,
}

/// What a name resolves to.
enum Name {
    Local(Local),
    Field(u32, ValueType, bool),
    Param(usize, ValueType, bool),
    Party(u32),
}

impl Gen<'_, '_> {
    // ----- emission helpers -------------------------------------------------

    fn emit(&mut self, i: I<'static>) {
        self.code.push(i);
    }

    fn call(&mut self, import: Import) {
        self.host_fuel = self
            .host_fuel
            .saturating_add(crate::compile::host::HOST_CALL_FUEL);
        self.emit(I::Call(import as u32));
    }

    fn local(&mut self, ty: ValType) -> u32 {
        self.locals.push(ty);
        u32::try_from(self.locals.len() - 1).unwrap_or(u32::MAX)
    }

    /// Reserves `len` bytes of scratch memory (8-aligned), returning the
    /// address relative to the scratch base.
    fn alloc(&mut self, len: u32) -> u32 {
        let at = self.scratch;
        self.scratch = self.scratch.saturating_add(len.div_ceil(8) * 8);
        at
    }

    /// Pushes a scratch address.
    fn scratch_addr(&mut self, rel: u32) {
        self.scratch_fixups.push(self.code.len());
        self.emit(I::I32Const(rel as i32));
    }

    fn abort(&mut self, reason: &str) {
        let at = self.ctx.data.intern(reason.as_bytes());
        self.emit(I::I32Const(at as i32));
        self.emit(I::I32Const(reason.len() as i32));
        self.call(Import::Abort);
        self.emit(I::Unreachable);
    }

    /// Aborts with `reason` if the `i32` on the stack is non-zero.
    fn abort_if(&mut self, reason: &str) {
        self.emit(I::If(BlockType::Empty));
        self.abort(reason);
        self.emit(I::End);
    }

    fn fault(&mut self, fault: Fault, op: BinOp, e: &Expr) -> String {
        fault_reason(fault, op, self.ctx.source, e.span.start)
    }

    /// Reports `d` once: both parts take the same path, so the public
    /// part's walk reports for both.
    fn diag(&mut self, d: Diagnostic) {
        if self.part == Part::Public {
            self.ctx.diags.push(d);
        }
    }

    fn text(&self, span: &Span) -> String {
        let raw = self.ctx.source.get(span.clone()).unwrap_or("?");
        let mut out = String::new();
        for word in raw.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        if out.chars().count() > NAME_CHARS {
            out = out.chars().take(NAME_CHARS - 1).collect();
            out.push('…');
        }
        out
    }

    // ----- names ------------------------------------------------------------

    fn resolve(&self, name: &str) -> Option<Name> {
        if let Some(l) = self.frames.iter().rev().find_map(|f| f.get(name)) {
            return Some(Name::Local(l.clone()));
        }
        if let Some(i) = self.f.params.iter().position(|p| p.name.name == name) {
            let p = &self.f.params[i];
            return Some(Name::Param(i, value_type(p.ty.0), p.private));
        }
        let c = self.ctx.contract;
        if let Some(i) = c.fields.iter().position(|f| f.name.name == name) {
            let f = &c.fields[i];
            let private = matches!(f.visibility, Visibility::Private(_));
            return Some(Name::Field(
                u32::try_from(i).unwrap_or(u32::MAX),
                value_type(f.ty.0),
                private,
            ));
        }
        c.parties
            .iter()
            .position(|p| p.name == name)
            .map(|i| Name::Party(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// Index of a public parameter among the public parameters.
    fn public_arg(&self, param: usize) -> u32 {
        let n = self.f.params[..param].iter().filter(|p| !p.private).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Whether `e` carries a private value (the checker's privacy, without
    /// owners: only the caller's private values can appear here).
    fn is_private(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Name(n) => match self.resolve(n) {
                Some(Name::Local(Local::Private(..))) => true,
                Some(Name::Field(_, _, p) | Name::Param(_, _, p)) => p,
                _ => false,
            },
            ExprKind::Binary(_, l, r) => self.is_private(l) || self.is_private(r),
            ExprKind::Unary(_, x) => self.is_private(x),
            ExprKind::Call(_, args) => args.iter().any(|a| self.is_private(a)),
            _ => false,
        }
    }

    fn type_of(&self, e: &Expr) -> ValueType {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Now => ValueType::U64,
            ExprKind::Bool(_) => ValueType::Bool,
            ExprKind::Bytes32(_) => ValueType::Bytes32,
            ExprKind::Name(n) | ExprKind::Reveal(crate::syntax::ast::Ident { name: n, .. }) => {
                match self.resolve(n) {
                    Some(Name::Local(Local::Word(_, t) | Local::Private(_, t))) => t,
                    Some(Name::Local(Local::Bytes(_))) => ValueType::Bytes32,
                    Some(Name::Field(_, t, _) | Name::Param(_, t, _)) => t,
                    Some(Name::Party(_)) => ValueType::Party,
                    None => ValueType::U64,
                }
            }
            ExprKind::Binary(op, ..) => match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => ValueType::U64,
                _ => ValueType::Bool,
            },
            ExprKind::Unary(..) => ValueType::Bool,
            ExprKind::Call(f, _) => match f.name.as_str() {
                "sha256" | "keccak256" => ValueType::Bytes32,
                _ => ValueType::U64,
            },
            ExprKind::Error => ValueType::U64,
        }
    }

    // ----- statements -------------------------------------------------------

    fn block_stmts(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn scoped(&mut self, b: &Block) {
        self.frames.push(HashMap::new());
        self.block_stmts(b);
        self.frames.pop();
    }

    /// E0308 if private work is asked for inside an `if`.
    fn unconditional(&mut self, span: &Span, what: &str) -> bool {
        if self.conditional == 0 {
            return true;
        }
        self.diag(
            Diagnostic::error(
                "E0308",
                format!("{what} inside an `if`"),
                span.clone(),
                "this runs only on one branch",
            )
            .with_hint(
                "a function's constraint program is the same on every call: move the private work before the `if`, or split the function in two",
            ),
        );
        false
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { name, value, .. } => {
                let ty = self.type_of(value);
                let local = if self.is_private(value) {
                    if !self.unconditional(&s.span, "a private value held in a `let`") {
                        return;
                    }
                    Local::Private(self.secret(value), ty)
                } else if ty == ValueType::Bytes32 {
                    let slot = self.alloc(32);
                    self.scratch_addr(slot);
                    self.public(value);
                    self.copy32();
                    Local::Bytes(slot)
                } else {
                    self.public(value);
                    let l = self.local(ValType::I64);
                    self.emit(I::LocalSet(l));
                    Local::Word(l, ty)
                };
                if let Some(frame) = self.frames.last_mut() {
                    frame.insert(name.name.clone(), local);
                }
            }
            StmtKind::Assign { target, value } => self.assign(s, &target.name, value),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.public(cond);
                self.emit(I::I32WrapI64);
                self.emit(I::If(BlockType::Empty));
                self.conditional += 1;
                self.scoped(then);
                if let Some(b) = otherwise {
                    self.emit(I::Else);
                    self.scoped(b);
                }
                self.conditional -= 1;
                self.emit(I::End);
            }
            StmtKind::Require { cond, reason } => {
                if reason.0.len() > MAX_REASON_BYTES {
                    self.diag(
                        Diagnostic::error(
                            "E0310",
                            format!(
                                "this reason is {} bytes; the host carries at most {MAX_REASON_BYTES}",
                                reason.0.len()
                            ),
                            reason.1.clone(),
                            "too long",
                        )
                        .with_hint("shorten it: the counterparty sees it in every refusal"),
                    );
                }
                self.require(s, cond, &reason.0);
            }
            StmtKind::Transfer { amount, from, to } => {
                self.emit(I::I32Const(
                    party_index(self.ctx.contract, &from.name) as i32
                ));
                self.emit(I::I32Const(party_index(self.ctx.contract, &to.name) as i32));
                self.public(amount);
                self.call(Import::Transfer);
            }
            StmtKind::Await { party, silent } => {
                self.emit(I::I32Const(
                    party_index(self.ctx.contract, &party.name) as i32
                ));
                self.call(Import::AwaitParty);
                for t in silent.iter().flat_map(|b| &b.stmts) {
                    if let StmtKind::Transfer { amount, from, to } = &t.kind {
                        self.emit(I::I32Const(
                            party_index(self.ctx.contract, &from.name) as i32
                        ));
                        self.emit(I::I32Const(party_index(self.ctx.contract, &to.name) as i32));
                        self.public(amount);
                        self.call(Import::SilentTransfer);
                    }
                }
            }
            StmtKind::Finish => self.call(Import::Finish),
            StmtKind::Error => self.emit(I::Unreachable),
        }
    }

    fn assign(&mut self, s: &Stmt, target: &str, value: &Expr) {
        match self.resolve(target) {
            Some(Name::Field(f, _, true)) => {
                if self.unconditional(&s.span, "an assignment to a private field") {
                    let v = self.secret(value);
                    self.fields.insert(f, v);
                    self.written.insert(f);
                }
            }
            Some(Name::Field(f, ValueType::Bytes32, false)) => {
                self.emit(I::I32Const(f as i32));
                self.public(value);
                self.call(Import::FieldSetBytes);
            }
            Some(Name::Field(f, _, false)) => {
                self.emit(I::I32Const(f as i32));
                self.public(value);
                self.call(Import::FieldSet);
            }
            Some(Name::Local(Local::Private(_, ty))) => {
                if self.unconditional(&s.span, "an assignment to a private local") {
                    let v = self.secret(value);
                    self.rebind(target, Local::Private(v, ty));
                }
            }
            Some(Name::Local(Local::Word(l, _))) => {
                self.public(value);
                self.emit(I::LocalSet(l));
            }
            Some(Name::Local(Local::Bytes(slot))) => {
                self.scratch_addr(slot);
                self.public(value);
                self.copy32();
            }
            // The checker refuses assignments to parameters and parties.
            Some(Name::Param(..) | Name::Party(_)) | None => self.emit(I::Unreachable),
        }
    }

    fn rebind(&mut self, name: &str, local: Local) {
        if let Some(frame) = self.frames.iter_mut().rev().find(|f| f.contains_key(name)) {
            frame.insert(name.to_owned(), local);
        }
    }

    /// `memory.copy` of 32 bytes: destination and source addresses are on
    /// the stack.
    fn copy32(&mut self) {
        self.emit(I::I32Const(32));
        self.emit(I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        });
    }

    fn require(&mut self, s: &Stmt, cond: &Expr, reason: &str) {
        if !self.is_private(cond) {
            self.public(cond);
            self.emit(I::I64Eqz);
            self.abort_if(reason);
            return;
        }
        if !self.unconditional(&s.span, "a `require` over a private value") {
            return;
        }
        let mut conjuncts = Vec::new();
        flatten_and(cond, &mut conjuncts);
        for c in conjuncts {
            if !self.is_private(c) {
                self.public(c);
                self.emit(I::I64Eqz);
                self.abort_if(reason);
                continue;
            }
            match &c.kind {
                ExprKind::Binary(
                    op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq),
                    l,
                    r,
                ) => {
                    let l = self.secret(l);
                    let r = self.secret(r);
                    let (cmp, wasm) = match op {
                        BinOp::Lt => (CmpOp::Lt, I::I64GeU),
                        BinOp::Le => (CmpOp::Le, I::I64GtU),
                        BinOp::Gt => (CmpOp::Gt, I::I64LeU),
                        BinOp::Ge => (CmpOp::Ge, I::I64LtU),
                        _ => (CmpOp::Eq, I::I64Ne),
                    };
                    if let (Some(a), Some(b)) = (l.local, r.local) {
                        // The negated comparison: abort when it holds.
                        self.emit(I::LocalGet(a));
                        self.emit(I::LocalGet(b));
                        self.emit(wasm);
                        self.abort_if(reason);
                    }
                    self.circuit.constraints.push(Constraint::Compare {
                        lhs: l.lin,
                        op: cmp,
                        rhs: r.lin,
                        bits: RangeBits::B64,
                    });
                }
                ExprKind::Name(_) => {
                    let v = self.secret(c);
                    if let Some(a) = v.local {
                        self.emit(I::LocalGet(a));
                        self.emit(I::I64Eqz);
                        self.abort_if(reason);
                    }
                    self.circuit
                        .constraints
                        .push(Constraint::Linear(v.lin.plus_constant(-1)));
                }
                // The checker (E0307) refuses every other form.
                _ => self.unsupported(c, "this requirement over a private value"),
            }
        }
    }

    fn unsupported(&mut self, e: &Expr, what: &str) {
        self.diag(
            Diagnostic::error(
                "E0309",
                format!("{what} cannot be compiled to a constraint program"),
                e.span.clone(),
                "private values may be combined only with `+`, `-`, `*` and `!`, and compared only in a `require`",
            )
            .with_hint("state the comparison inside a `require`, or reveal the value first"),
        );
    }

    /// At the end of the body: each private field written gets a new
    /// variable (its commitment goes into the new state), bound to the value
    /// assigned.
    fn store_private_fields(&mut self) {
        let written: Vec<u32> = self.written.iter().copied().collect();
        for f in written {
            let Some(v) = self.fields.get(&f).cloned() else {
                continue;
            };
            let field = &self.ctx.contract.fields[f as usize];
            let name = format!("{}'", field.name.name);
            let var = self.circuit.var(name, VarRole::NewField(f), None);
            self.bound(var, value_type(field.ty.0));
            self.circuit
                .constraints
                .push(Constraint::Linear(LinExpr::term(var).minus(&v.lin)));
            if let Some(l) = v.local {
                self.emit(I::I32Const(i32::from(var.0)));
                self.emit(I::LocalGet(l));
                self.call(Import::PrivateSet);
            }
        }
    }

    /// A range (u64) or boolean constraint for a new variable.
    fn bound(&mut self, var: VarId, ty: ValueType) {
        self.circuit.constraints.push(match ty {
            ValueType::Bool => Constraint::Boolean { var },
            _ => Constraint::Range {
                var,
                bits: RangeBits::B64,
            },
        });
    }

    // ----- public expressions -----------------------------------------------

    /// Emits `e`, leaving an `i64` (or, for `bytes32`, an `i32` address).
    fn public(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Int(n) => self.emit(I::I64Const(*n as i64)),
            ExprKind::Bool(b) => self.emit(I::I64Const(i64::from(*b))),
            ExprKind::Bytes32(b) => {
                let at = self.ctx.data.intern(b);
                self.emit(I::I32Const(at as i32));
            }
            ExprKind::Now => self.call(Import::Now),
            ExprKind::Name(n) => self.public_name(n),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, e),
            ExprKind::Unary(UnOp::Not, x) => {
                self.public(x);
                self.emit(I::I64Eqz);
                self.emit(I::I64ExtendI32U);
            }
            ExprKind::Call(f, args) => self.builtin(&f.name, args),
            ExprKind::Reveal(x) => self.reveal(e, &x.name),
            ExprKind::Unary(UnOp::Neg, _) | ExprKind::Error => self.emit(I::Unreachable),
        }
    }

    fn public_name(&mut self, n: &str) {
        match self.resolve(n) {
            Some(Name::Local(Local::Word(l, _))) => self.emit(I::LocalGet(l)),
            Some(Name::Local(Local::Bytes(slot))) => self.scratch_addr(slot),
            Some(Name::Field(f, ValueType::Bytes32, _)) => {
                let slot = self.alloc(32);
                self.emit(I::I32Const(f as i32));
                self.scratch_addr(slot);
                self.call(Import::FieldGetBytes);
                self.scratch_addr(slot);
            }
            Some(Name::Field(f, ..)) => {
                self.emit(I::I32Const(f as i32));
                self.call(Import::FieldGet);
            }
            Some(Name::Param(i, ValueType::Bytes32, _)) => {
                let slot = self.alloc(32);
                let arg = self.public_arg(i);
                self.emit(I::I32Const(arg as i32));
                self.scratch_addr(slot);
                self.call(Import::ArgGetBytes);
                self.scratch_addr(slot);
            }
            Some(Name::Param(i, ..)) => {
                let arg = self.public_arg(i);
                self.emit(I::I32Const(arg as i32));
                self.call(Import::ArgGet);
            }
            Some(Name::Party(p)) => self.emit(I::I64Const(i64::from(p))),
            // A private name in a public position is a checker error.
            Some(Name::Local(Local::Private(..))) | None => self.emit(I::Unreachable),
        }
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr, e: &Expr) {
        match op {
            BinOp::And | BinOp::Or => {
                self.public(l);
                self.emit(I::I32WrapI64);
                self.emit(I::If(BlockType::Result(ValType::I64)));
                if op == BinOp::And {
                    self.public(r);
                    self.emit(I::Else);
                    self.emit(I::I64Const(0));
                } else {
                    self.emit(I::I64Const(1));
                    self.emit(I::Else);
                    self.public(r);
                }
                self.emit(I::End);
            }
            BinOp::Eq | BinOp::Ne if self.type_of(l) == ValueType::Bytes32 => {
                let (a, b) = (self.local(ValType::I32), self.local(ValType::I32));
                self.public(l);
                self.emit(I::LocalSet(a));
                self.public(r);
                self.emit(I::LocalSet(b));
                for k in 0..4u64 {
                    self.emit(I::LocalGet(a));
                    self.emit(I::I64Load(mem(8 * k)));
                    self.emit(I::LocalGet(b));
                    self.emit(I::I64Load(mem(8 * k)));
                    self.emit(I::I64Eq);
                    if k > 0 {
                        self.emit(I::I32And);
                    }
                }
                if op == BinOp::Ne {
                    self.emit(I::I32Eqz);
                }
                self.emit(I::I64ExtendI32U);
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.public(l);
                self.public(r);
                self.emit(match op {
                    BinOp::Eq => I::I64Eq,
                    BinOp::Ne => I::I64Ne,
                    BinOp::Lt => I::I64LtU,
                    BinOp::Le => I::I64LeU,
                    BinOp::Gt => I::I64GtU,
                    _ => I::I64GeU,
                });
                self.emit(I::I64ExtendI32U);
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                let a = self.local(ValType::I64);
                let b = self.local(ValType::I64);
                self.public(l);
                self.emit(I::LocalSet(a));
                self.public(r);
                self.emit(I::LocalSet(b));
                self.checked(op, a, b, e);
            }
        }
    }

    /// `a op b` on two `i64` locals with the language's faults, leaving the
    /// result on the stack.
    fn checked(&mut self, op: BinOp, a: u32, b: u32, e: &Expr) {
        match op {
            BinOp::Add => {
                let r = self.local(ValType::I64);
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(I::I64Add);
                self.emit(I::LocalTee(r));
                self.emit(I::LocalGet(a));
                self.emit(I::I64LtU);
                let reason = self.fault(Fault::Overflow, op, e);
                self.abort_if(&reason);
                self.emit(I::LocalGet(r));
            }
            BinOp::Sub => {
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(I::I64LtU);
                let reason = self.fault(Fault::Underflow, op, e);
                self.abort_if(&reason);
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(I::I64Sub);
            }
            BinOp::Mul => {
                // b != 0 && a > u64::MAX / b
                self.emit(I::LocalGet(b));
                self.emit(I::I64Eqz);
                self.emit(I::If(BlockType::Result(ValType::I32)));
                self.emit(I::I32Const(0));
                self.emit(I::Else);
                self.emit(I::LocalGet(a));
                self.emit(I::I64Const(-1));
                self.emit(I::LocalGet(b));
                self.emit(I::I64DivU);
                self.emit(I::I64GtU);
                self.emit(I::End);
                let reason = self.fault(Fault::Overflow, op, e);
                self.abort_if(&reason);
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(I::I64Mul);
            }
            _ => {
                self.emit(I::LocalGet(b));
                self.emit(I::I64Eqz);
                let reason = self.fault(Fault::DivisionByZero, op, e);
                self.abort_if(&reason);
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(if op == BinOp::Div {
                    I::I64DivU
                } else {
                    I::I64RemU
                });
            }
        }
    }

    fn builtin(&mut self, name: &str, args: &[Expr]) {
        match (name, args) {
            ("balance", [p]) => {
                self.public(p);
                self.emit(I::I32WrapI64);
                self.call(Import::Balance);
            }
            ("min" | "max", [l, r]) => {
                let (a, b) = (self.local(ValType::I64), self.local(ValType::I64));
                self.public(l);
                self.emit(I::LocalSet(a));
                self.public(r);
                self.emit(I::LocalSet(b));
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                self.emit(I::LocalGet(a));
                self.emit(I::LocalGet(b));
                // select keeps `a` when the condition holds.
                self.emit(if name == "min" { I::I64LeU } else { I::I64GeU });
                self.emit(I::Select);
            }
            ("sha256" | "keccak256", _) => self.hash(name == "keccak256", args),
            // The checker refuses any other builtin.
            _ => self.emit(I::Unreachable),
        }
    }

    /// Writes each argument's hash encoding (semantics::hash_bytes) into a
    /// scratch buffer, hashes it into another, and leaves that address.
    fn hash(&mut self, keccak: bool, args: &[Expr]) {
        let width = |t: ValueType| match t {
            ValueType::U64 => 8u32,
            ValueType::Bool => 1,
            ValueType::Party => 4,
            ValueType::Bytes32 => 32,
        };
        let types: Vec<ValueType> = args.iter().map(|a| self.type_of(a)).collect();
        let len: u32 = types.iter().map(|t| width(*t)).sum();
        let buf = self.alloc(len.max(1));
        let out = self.alloc(32);
        let mut at = 0u32;
        for (a, ty) in args.iter().zip(types) {
            if ty == ValueType::Bytes32 {
                let src = self.local(ValType::I32);
                self.public(a);
                self.emit(I::LocalSet(src));
                self.scratch_addr(buf + at);
                self.emit(I::LocalGet(src));
                self.copy32();
            } else {
                let v = self.local(ValType::I64);
                self.public(a);
                self.emit(I::LocalSet(v));
                let w = width(ty);
                for k in 0..w {
                    self.scratch_addr(buf + at + k);
                    self.emit(I::LocalGet(v));
                    self.emit(I::I64Const(i64::from(8 * (w - 1 - k))));
                    self.emit(I::I64ShrU);
                    self.emit(I::I64Store8(mem(0)));
                }
            }
            at += width(ty);
        }
        self.emit(I::I32Const(i32::from(keccak)));
        self.scratch_addr(buf);
        self.emit(I::I32Const(len as i32));
        self.scratch_addr(out);
        self.call(Import::Hash);
        self.host_fuel = self
            .host_fuel
            .saturating_add(u64::from(len) * crate::compile::host::HASH_FUEL_PER_BYTE);
        self.scratch_addr(out);
    }

    /// `reveal(x)`: a new public input bound to `x`'s value. The public part
    /// reads the value from its argument slot; the witness part computes it.
    fn reveal(&mut self, e: &Expr, name: &str) {
        if !self.unconditional(&e.span, "a `reveal`") {
            self.emit(I::I64Const(0));
            return;
        }
        let ty = self.type_of(e);
        let v = self.secret_name(name, e);
        let k = self.circuit.public(format!("reveal({name})"));
        self.circuit
            .constraints
            .push(Constraint::Linear(v.lin.plus(-1, sotto_circuits::PubId(k))));
        let public_params = self.f.params.iter().filter(|p| !p.private).count();
        let arg = public_params + self.circuit.reveals.len();
        self.circuit.reveals.push(Reveal {
            name: name.to_owned(),
            ty,
            public_input: k,
        });
        let value = self.local(ValType::I64);
        match (self.part, v.local) {
            (Part::Witness, Some(l)) => self.emit(I::LocalGet(l)),
            _ => {
                self.emit(I::I32Const(arg as i32));
                self.call(Import::ArgGet);
            }
        }
        self.emit(I::LocalSet(value));
        self.emit(I::I32Const(i32::from(k)));
        self.emit(I::LocalGet(value));
        self.call(Import::PublicInput);
        self.emit(I::LocalGet(value));
    }

    // ----- private expressions ----------------------------------------------

    /// Lowers a value of a private computation (`u64` or `bool`): its linear
    /// form, and in the witness part its value in a local.
    fn secret(&mut self, e: &Expr) -> Secret {
        match &e.kind {
            ExprKind::Int(n) => self.constant(i128::from(*n)),
            ExprKind::Bool(b) => self.constant(i128::from(*b)),
            _ if !self.is_private(e) => self.public_term(e),
            ExprKind::Name(n) => self.secret_name(n, e),
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub), l, r) => {
                let (l, r) = (self.secret(l), self.secret(r));
                let local = self.witness_op(*op, &l, &r, e);
                let coefficient = if *op == BinOp::Add { 1 } else { -1 };
                let mut lin = l.lin;
                lin.terms
                    .extend(r.lin.terms.iter().map(|&(c, t)| (coefficient * c, t)));
                lin.constant += coefficient * r.lin.constant;
                Secret { lin, local }
            }
            ExprKind::Binary(BinOp::Mul, l, r) => {
                let (l, r) = (self.secret(l), self.secret(r));
                let local = self.witness_op(BinOp::Mul, &l, &r, e);
                for (k, other) in [(&l, &r), (&r, &l)] {
                    if k.lin.terms.is_empty() {
                        let c = k.lin.constant;
                        let scaled = scale(&other.lin, c);
                        if scaled.is_none() {
                            self.too_large(e);
                        }
                        return Secret {
                            lin: scaled.unwrap_or_default(),
                            local,
                        };
                    }
                }
                let x = self.materialize(&l, "factor");
                let y = self.materialize(&r, "factor");
                let z = self.derived(&self.text(&e.span), local);
                self.circuit
                    .constraints
                    .push(Constraint::Product { x, y, z });
                Secret {
                    lin: LinExpr::term(z),
                    local,
                }
            }
            ExprKind::Unary(UnOp::Not, x) => {
                let v = self.secret(x);
                let local = v.local.map(|a| {
                    let r = self.local(ValType::I64);
                    self.emit(I::LocalGet(a));
                    self.emit(I::I64Eqz);
                    self.emit(I::I64ExtendI32U);
                    self.emit(I::LocalSet(r));
                    r
                });
                let mut lin = scale(&v.lin, -1).unwrap_or_default();
                lin.constant += 1;
                Secret { lin, local }
            }
            _ => {
                self.unsupported(e, "this private expression");
                self.constant(0)
            }
        }
    }

    fn constant(&mut self, c: i128) -> Secret {
        let local = (self.part == Part::Witness).then(|| {
            let l = self.local(ValType::I64);
            self.emit(I::I64Const(c as i64));
            self.emit(I::LocalSet(l));
            l
        });
        Secret {
            lin: LinExpr::constant(c),
            local,
        }
    }

    /// A public sub-expression of a private computation: computed by both
    /// parts and handed to the host as a public input.
    fn public_term(&mut self, e: &Expr) -> Secret {
        let k = self.circuit.public(self.text(&e.span));
        let l = self.local(ValType::I64);
        self.public(e);
        self.emit(I::LocalSet(l));
        self.emit(I::I32Const(i32::from(k)));
        self.emit(I::LocalGet(l));
        self.call(Import::PublicInput);
        Secret {
            lin: LinExpr::term(sotto_circuits::PubId(k)),
            local: (self.part == Part::Witness).then_some(l),
        }
    }

    fn secret_name(&mut self, n: &str, e: &Expr) -> Secret {
        match self.resolve(n) {
            Some(Name::Local(Local::Private(v, _))) => v,
            Some(Name::Field(f, ty, true)) => {
                if let Some(v) = self.fields.get(&f) {
                    return v.clone();
                }
                let bits = if ty == ValueType::Bool {
                    RangeBits::B8
                } else {
                    RangeBits::B64
                };
                let var = self
                    .circuit
                    .var(n.to_owned(), VarRole::Field(f), Some(bits));
                let v = self.input(var);
                self.fields.insert(f, v.clone());
                v
            }
            Some(Name::Param(i, ty, true)) => {
                if let Some(v) = self.params.get(&i) {
                    return v.clone();
                }
                let role = VarRole::Param(u16::try_from(i).unwrap_or(u16::MAX));
                let var = self.circuit.var(n.to_owned(), role, None);
                self.bound(var, ty);
                let v = self.input(var);
                self.params.insert(i, v.clone());
                v
            }
            _ => {
                self.unsupported(e, "this value");
                self.constant(0)
            }
        }
    }

    /// A variable the runner supplies: `private_get` in the witness part.
    fn input(&mut self, var: VarId) -> Secret {
        let local = (self.part == Part::Witness).then(|| {
            let l = self.local(ValType::I64);
            self.emit(I::I32Const(i32::from(var.0)));
            self.call(Import::PrivateGet);
            self.emit(I::LocalSet(l));
            l
        });
        Secret {
            lin: LinExpr::term(var),
            local,
        }
    }

    /// A derived variable whose value the witness part computed into
    /// `local`: range-bounded, and written back with `private_set`.
    fn derived(&mut self, name: &str, local: Option<u32>) -> VarId {
        let var = self.circuit.var(name.to_owned(), VarRole::Derived, None);
        self.bound(var, ValueType::U64);
        if let Some(l) = local {
            self.emit(I::I32Const(i32::from(var.0)));
            self.emit(I::LocalGet(l));
            self.call(Import::PrivateSet);
        }
        var
    }

    /// A variable equal to `v`: `v`'s own if it is one, else a derived one
    /// tied to it by a linear constraint.
    fn materialize(&mut self, v: &Secret, what: &str) -> VarId {
        if let [(1, Term::Var(var))] = v.lin.terms.as_slice()
            && v.lin.constant == 0
        {
            return *var;
        }
        let var = self.derived(what, v.local);
        self.circuit
            .constraints
            .push(Constraint::Linear(LinExpr::term(var).minus(&v.lin)));
        var
    }

    /// In the witness part, the checked operation on the two values (same
    /// faults as public arithmetic), in a new local.
    fn witness_op(&mut self, op: BinOp, l: &Secret, r: &Secret, e: &Expr) -> Option<u32> {
        let (a, b) = (l.local?, r.local?);
        self.checked(op, a, b, e);
        let out = self.local(ValType::I64);
        self.emit(I::LocalSet(out));
        Some(out)
    }

    fn too_large(&mut self, e: &Expr) {
        self.diag(
            Diagnostic::error(
                "E0310",
                "a constant in this private expression is too large for a constraint program",
                e.span.clone(),
                format!("coefficients must stay below 2^64 ({MAX_COEFF})"),
            )
            .with_hint("split the computation, or use smaller constants"),
        );
    }
}

/// `c · e`, or `None` if a coefficient leaves the IR's bounds.
fn scale(e: &LinExpr, c: i128) -> Option<LinExpr> {
    let ok = |x: i128| (x.abs() <= MAX_COEFF).then_some(x);
    Some(LinExpr {
        terms: e
            .terms
            .iter()
            .map(|&(k, t)| Some((ok(k.checked_mul(c)?)?, t)))
            .collect::<Option<_>>()?,
        constant: ok(e.constant.checked_mul(c)?)?,
    })
}

/// The conjuncts of `a && b && ...`, left to right.
fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary(BinOp::And, l, r) => {
            flatten_and(l, out);
            flatten_and(r, out);
        }
        _ => out.push(e),
    }
}
