//! Name, type and privacy checking of a parsed contract.
//!
//! One pass over the tree resolves every name, computes every expression's
//! type and *privacy* (public, or private to one owner together with the
//! place the private value came from), and reports every violation of the
//! rules in docs/language.md. Like the parser, it never stops at the first
//! problem; an expression that is already wrong has type `Error`, which
//! matches everything, so one mistake yields one diagnostic.
//!
//! **Architecture invariant:** a private value reaches a public field, a
//! transfer, a branch condition, a hash or another owner's state only
//! through `reveal`, and any `require` over private values is one the
//! owner can prove with a constraint program (comparisons, equalities and
//! conjunctions of them over sums and products). Everything else is an error
//! here, before code generation ever sees it.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Span};
use crate::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Function, Stmt, StmtKind, Type, UnOp, Visibility,
};

/// The type of an expression; `Error` after a reported mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    U64,
    Bool,
    Bytes32,
    Party,
    Error,
}

impl Ty {
    fn of(t: Type) -> Self {
        match t {
            Type::U64 => Ty::U64,
            Type::Bool => Ty::Bool,
            Type::Bytes32 => Ty::Bytes32,
            Type::Party => Ty::Party,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::U64 => "u64",
            Ty::Bool => "bool",
            Ty::Bytes32 => "bytes32",
            Ty::Party => "party",
            Ty::Error => "{unknown}",
        }
    }

    /// Whether a value of type `other` fits where `self` is expected.
    fn accepts(self, other: Ty) -> bool {
        self == other || self == Ty::Error || other == Ty::Error
    }
}

/// Who may know a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Privacy {
    Public,
    /// Known only to `owner`; `source` names the private field or parameter
    /// it came from and where that was read.
    Private {
        owner: String,
        source: String,
        span: Span,
    },
}

#[derive(Debug, Clone)]
struct Val {
    ty: Ty,
    privacy: Privacy,
}

impl Val {
    fn public(ty: Ty) -> Self {
        Val {
            ty,
            privacy: Privacy::Public,
        }
    }

    fn error() -> Self {
        Val::public(Ty::Error)
    }
}

/// What a name refers to.
#[derive(Debug, Clone)]
enum Binding {
    Party,
    Field { ty: Ty, owner: Option<String> },
    Param { ty: Ty, private: bool },
    Local { ty: Ty, privacy: Privacy },
}

/// Checks a parsed contract. Returns every error and warning, in source order.
pub fn check(contract: &Contract) -> Vec<Diagnostic> {
    let mut c = Checker {
        diags: Vec::new(),
        globals: HashMap::new(),
    };
    c.declarations(contract);
    for f in &contract.functions {
        c.function(f);
    }
    c.diags.sort_by_key(|d| (d.primary.0.start, d.code));
    c.diags.into_iter().map(fold_labels).collect()
}

/// E0102 for a party, field or function (they share one namespace).
fn declared_twice(name: &str, again: &Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        "E0102",
        format!("`{name}` is declared twice"),
        again.clone(),
        "declared again here",
    )
    .with_label(first, "first declared here")
    .with_hint("parties, fields and functions share one namespace; rename one")
}

/// A secondary label on exactly the primary span (a private value used
/// right where the error is) joins the primary label instead of being drawn
/// twice at one place.
fn fold_labels(mut d: Diagnostic) -> Diagnostic {
    let (same, other): (Vec<_>, Vec<_>) =
        d.labels.into_iter().partition(|(s, _)| *s == d.primary.0);
    for (_, label) in same {
        d.primary.1 = format!("{label}: {}", d.primary.1);
    }
    d.labels = other;
    d
}

struct Checker {
    diags: Vec<Diagnostic>,
    /// Parties and fields, with where each was declared.
    globals: HashMap<String, (Binding, Span)>,
}

/// The per-function context.
struct Scope<'f> {
    function: &'f Function,
    /// Parameters and locals, innermost block last.
    frames: Vec<HashMap<String, (Binding, Span)>>,
}

impl Checker {
    fn declare(&mut self, name: &str, span: &Span, binding: Binding) {
        if let Some((_, first)) = self.globals.get(name) {
            let d = declared_twice(name, span, first.clone());
            self.diags.push(d);
        } else {
            self.globals
                .insert(name.to_owned(), (binding, span.clone()));
        }
    }

    fn is_party(&self, name: &str) -> bool {
        matches!(self.globals.get(name), Some((Binding::Party, _)))
    }

    fn party_ref(&mut self, name: &str, span: &Span, role: &str) {
        if !self.is_party(name) {
            self.diags.push(
                Diagnostic::error(
                    "E0106",
                    format!("`{name}` is not a party"),
                    span.clone(),
                    format!("{role} must be a declared party"),
                )
                .with_hint(format!(
                    "declare it with `party {name};`, or use one of: {}",
                    self.party_list()
                )),
            );
        }
    }

    fn party_list(&self) -> String {
        let mut parties: Vec<&str> = self
            .globals
            .iter()
            .filter(|(_, (b, _))| matches!(b, Binding::Party))
            .map(|(n, _)| n.as_str())
            .collect();
        parties.sort_unstable();
        parties.join(", ")
    }

    fn declarations(&mut self, contract: &Contract) {
        for p in &contract.parties {
            self.declare(&p.name, &p.span, Binding::Party);
        }
        if contract.parties.len() < 2 {
            self.diags.push(
                Diagnostic::error(
                    "E0110",
                    "a contract needs at least two parties",
                    contract.name.span.clone(),
                    format!(
                        "`{}` declares {}",
                        contract.name.name,
                        contract.parties.len()
                    ),
                )
                .with_hint("declare them with `party alice, bob;`"),
            );
        }
        for f in &contract.fields {
            let ty = Ty::of(f.ty.0);
            let owner = match &f.visibility {
                Visibility::Public => None,
                Visibility::Private(owner) => {
                    self.party_ref(&owner.name, &owner.span, "the owner of a private field");
                    if !matches!(ty, Ty::U64 | Ty::Bool) {
                        self.private_type(&f.ty.1, ty);
                    }
                    Some(owner.name.clone())
                }
            };
            self.declare(&f.name.name, &f.name.span, Binding::Field { ty, owner });
        }
        for f in &contract.fields {
            let ty = Ty::of(f.ty.0);
            match &f.init {
                Some(init) => {
                    let v = self.constant(init);
                    self.want(&init.span, ty, v.ty, "the field's initial value");
                }
                None if ty == Ty::Party && f.visibility == Visibility::Public => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0108",
                            format!("field `{}` needs an initial value", f.name.name),
                            f.span.clone(),
                            "a `party` field has no default",
                        )
                        .with_hint(format!(
                            "write `{}: party = {};`",
                            f.name.name,
                            contract
                                .parties
                                .first()
                                .map_or("alice", |p| p.name.as_str())
                        )),
                    );
                }
                None => {}
            }
        }
        // Functions are not values, but share the namespace so that a name
        // always means one thing.
        let mut functions: HashMap<&str, &Span> = HashMap::new();
        for f in &contract.functions {
            let first = self
                .globals
                .get(&f.name.name)
                .map(|(_, s)| s.clone())
                .or_else(|| functions.get(f.name.name.as_str()).map(|s| (*s).clone()));
            match first {
                Some(first) => self
                    .diags
                    .push(declared_twice(&f.name.name, &f.name.span, first)),
                None => {
                    functions.insert(&f.name.name, &f.name.span);
                }
            }
        }
    }

    /// An initial value: literals and party names only.
    fn constant(&mut self, e: &Expr) -> Val {
        match &e.kind {
            ExprKind::Int(_) => Val::public(Ty::U64),
            ExprKind::Bool(_) => Val::public(Ty::Bool),
            ExprKind::Bytes32(_) => Val::public(Ty::Bytes32),
            ExprKind::Name(n) if self.is_party(n) => Val::public(Ty::Party),
            ExprKind::Error => Val::error(),
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "E0108",
                        "an initial value must be a literal or a party",
                        e.span.clone(),
                        "not a constant",
                    )
                    .with_hint("compute it in a function instead"),
                );
                Val::error()
            }
        }
    }

    fn private_type(&mut self, span: &Span, ty: Ty) {
        self.diags.push(
            Diagnostic::error(
                "E0109",
                format!("a `{}` value cannot be private", ty.name()),
                span.clone(),
                "only `u64` and `bool` may be private",
            )
            .with_hint(
                "hash it into a public `bytes32` commitment instead, and reveal the preimage later",
            ),
        );
    }

    /// Reports a mismatch unless a `found` value fits where `expected` is wanted.
    fn want(&mut self, span: &Span, expected: Ty, found: Ty, what: &str) {
        if !expected.accepts(found) {
            self.mismatch(span, expected, found, what);
        }
    }

    fn mismatch(&mut self, span: &Span, expected: Ty, found: Ty, what: &str) {
        self.diags.push(Diagnostic::error(
            "E0103",
            format!(
                "mismatched types: {what} must be `{}`, found `{}`",
                expected.name(),
                found.name()
            ),
            span.clone(),
            format!("this is `{}`", found.name()),
        ));
    }

    fn function(&mut self, f: &Function) {
        self.party_ref(&f.caller.name, &f.caller.span, "the caller (`by ...`)");
        let mut params = HashMap::new();
        for p in &f.params {
            let ty = Ty::of(p.ty.0);
            if p.private && !matches!(ty, Ty::U64 | Ty::Bool) {
                self.private_type(&p.ty.1, ty);
            }
            if self.globals.contains_key(&p.name.name) || params.contains_key(&p.name.name) {
                self.diags.push(
                    Diagnostic::error(
                        "E0102",
                        format!("`{}` is declared twice", p.name.name),
                        p.name.span.clone(),
                        "this parameter hides another name",
                    )
                    .with_hint("rename the parameter"),
                );
                continue;
            }
            params.insert(
                p.name.name.clone(),
                (
                    Binding::Param {
                        ty,
                        private: p.private,
                    },
                    p.name.span.clone(),
                ),
            );
        }
        let mut scope = Scope {
            function: f,
            frames: vec![params],
        };
        self.block(&mut scope, &f.body, false);
    }

    fn block(&mut self, scope: &mut Scope<'_>, b: &Block, silent: bool) {
        scope.frames.push(HashMap::new());
        for s in &b.stmts {
            if silent && !matches!(s.kind, StmtKind::Transfer { .. } | StmtKind::Error) {
                self.diags.push(
                    Diagnostic::error(
                        "E0201",
                        "only transfers may appear in a `silent` block",
                        s.span.clone(),
                        "not a transfer",
                    )
                    .with_hint("a silent block says what moves if the awaited party never acts; compute anything else before the `await`"),
                );
                continue;
            }
            self.stmt(scope, s);
        }
        scope.frames.pop();
    }

    fn lookup(&self, scope: &Scope<'_>, name: &str) -> Option<(Binding, Span)> {
        scope
            .frames
            .iter()
            .rev()
            .find_map(|f| f.get(name))
            .or_else(|| self.globals.get(name))
            .cloned()
    }

    fn stmt(&mut self, scope: &mut Scope<'_>, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { name, ty, value } => {
                let v = self.expr(scope, value);
                let ty = match ty {
                    Some((t, _)) => {
                        let t = Ty::of(*t);
                        self.want(&value.span, t, v.ty, "the value");
                        t
                    }
                    None => v.ty,
                };
                if self.lookup(scope, &name.name).is_some() {
                    self.diags.push(
                        Diagnostic::error(
                            "E0102",
                            format!("`{}` is declared twice", name.name),
                            name.span.clone(),
                            "this local hides another name",
                        )
                        .with_hint("sotto has no shadowing; pick a new name"),
                    );
                }
                if let Some(frame) = scope.frames.last_mut() {
                    frame.insert(
                        name.name.clone(),
                        (
                            Binding::Local {
                                ty,
                                privacy: v.privacy,
                            },
                            name.span.clone(),
                        ),
                    );
                }
            }
            StmtKind::Assign { target, value } => self.assign(scope, target, value),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let v = self.expr(scope, cond);
                self.want(&cond.span, Ty::Bool, v.ty, "a condition");
                if let Privacy::Private {
                    owner,
                    source,
                    span,
                } = &v.privacy
                {
                    self.diags.push(
                        Diagnostic::error(
                            "E0303",
                            format!("private value `{source}` (owned by {owner}) decides a branch"),
                            cond.span.clone(),
                            "the branch taken would reveal it",
                        )
                        .with_label(span.clone(), format!("`{source}` is private to {owner}"))
                        .with_hint(format!(
                            "reveal it first (`reveal({source})`), or state the condition as a `require` that {owner} proves"
                        )),
                    );
                }
                self.block(scope, then, false);
                if let Some(b) = otherwise {
                    self.block(scope, b, false);
                }
            }
            StmtKind::Require { cond, .. } => {
                let v = self.expr(scope, cond);
                self.want(&cond.span, Ty::Bool, v.ty, "a requirement");
                if matches!(v.privacy, Privacy::Private { .. }) {
                    self.provable(scope, cond);
                }
            }
            StmtKind::Transfer { amount, from, to } => {
                let v = self.expr(scope, amount);
                self.want(&amount.span, Ty::U64, v.ty, "an amount");
                if let Privacy::Private {
                    owner,
                    source,
                    span,
                } = &v.privacy
                {
                    self.diags.push(
                        Diagnostic::error(
                            "E0302",
                            format!(
                                "private value `{source}` (owned by {owner}) reaches the allocation"
                            ),
                            amount.span.clone(),
                            "the allocation is public: every party and the chain see it",
                        )
                        .with_label(span.clone(), format!("`{source}` is private to {owner}"))
                        .with_hint(format!(
                            "transfer `reveal({source})` if {owner} agrees to disclose it"
                        )),
                    );
                }
                self.party_ref(&from.name, &from.span, "the payer");
                self.party_ref(&to.name, &to.span, "the payee");
            }
            StmtKind::Await { party, silent } => {
                self.party_ref(&party.name, &party.span, "the awaited party");
                if party.name == scope.function.caller.name {
                    self.diags.push(
                        Diagnostic::error(
                            "E0202",
                            format!(
                                "`{}` calls this function and cannot wait for itself",
                                party.name
                            ),
                            party.span.clone(),
                            "the caller",
                        )
                        .with_hint("name the party whose move comes next"),
                    );
                }
                match silent {
                    Some(b) => self.block(scope, b, true),
                    None => self.diags.push(
                        Diagnostic::warning(
                            "W0101",
                            format!("the move passes to `{}` without saying what its silence means", party.name),
                            s.span.clone(),
                            format!("if {} never moves, the chain pays the current allocation", party.name),
                        )
                        .with_hint(format!(
                            "add `silent {{ transfer ... }}` for what {} forfeits, or `silent {{}}` if nothing should move",
                            party.name
                        )),
                    ),
                }
            }
            StmtKind::Finish | StmtKind::Error => {}
        }
    }

    fn assign(&mut self, scope: &mut Scope<'_>, target: &crate::syntax::ast::Ident, value: &Expr) {
        let v = self.expr(scope, value);
        let caller = scope.function.caller.name.clone();
        let Some((binding, decl)) = self.lookup(scope, &target.name) else {
            self.unknown(&target.name, &target.span);
            return;
        };
        let (ty, dest_owner, what) = match binding {
            Binding::Field { ty, owner } => (ty, owner, "field"),
            Binding::Local { ty, privacy } => match privacy {
                Privacy::Public => (ty, None, "local"),
                Privacy::Private { owner, .. } => (ty, Some(owner), "local"),
            },
            Binding::Param { .. } | Binding::Party => {
                self.diags.push(
                    Diagnostic::error(
                        "E0105",
                        format!("`{}` cannot be assigned", target.name),
                        target.span.clone(),
                        "parameters and parties are fixed",
                    )
                    .with_label(decl, "declared here")
                    .with_hint("copy it into a `let` local first"),
                );
                return;
            }
        };
        self.want(
            &value.span,
            ty,
            v.ty,
            &format!("the value for `{}`", target.name),
        );
        if let Some(owner) = &dest_owner
            && what == "field"
            && *owner != caller
        {
            self.diags.push(
                Diagnostic::error(
                    "E0306",
                    format!(
                        "`{}` is private to {owner}, but {caller} calls this function",
                        target.name
                    ),
                    target.span.clone(),
                    format!("only {owner} knows its opening and can write it"),
                )
                .with_label(
                    scope.function.caller.span.clone(),
                    format!("called by {caller}"),
                )
                .with_hint(format!("move this assignment into a function `by {owner}`")),
            );
            return;
        }
        if let Privacy::Private {
            owner,
            source,
            span,
        } = &v.privacy
        {
            match &dest_owner {
                None => self.diags.push(
                    Diagnostic::error(
                        "E0301",
                        format!("private value `{source}` (owned by {owner}) reaches public {what} `{}`", target.name),
                        value.span.clone(),
                        format!("`{}` is public", target.name),
                    )
                    .with_label(span.clone(), format!("`{source}` is private to {owner}"))
                    .with_hint(format!(
                        "assign `reveal({source})` to disclose it, or make `{}` `private({owner})`",
                        target.name
                    )),
                ),
                Some(dest) if dest != owner => self.diags.push(
                    Diagnostic::error(
                        "E0305",
                        format!("private value `{source}` of {owner} flows into `{}`, private to {dest}", target.name),
                        value.span.clone(),
                        format!("{dest} cannot know {owner}'s value"),
                    )
                    .with_label(span.clone(), format!("`{source}` is private to {owner}")),
                ),
                Some(_) => {}
            }
        }
    }

    fn unknown(&mut self, name: &str, span: &Span) {
        self.diags.push(Diagnostic::error(
            "E0101",
            format!("cannot find `{name}`"),
            span.clone(),
            "not a party, field, parameter or local",
        ));
    }

    /// Joins the privacy of two operands: private wins; two owners never meet.
    fn join(&mut self, a: &Privacy, b: &Privacy, at: &Span) -> Privacy {
        match (a, b) {
            (Privacy::Public, p) | (p, Privacy::Public) => p.clone(),
            (
                Privacy::Private {
                    owner: oa,
                    source: sa,
                    span: pa,
                },
                Privacy::Private {
                    owner: ob,
                    source: sb,
                    span: pb,
                },
            ) => {
                if oa != ob {
                    self.diags.push(
                        Diagnostic::error(
                            "E0305",
                            format!("private values of {oa} and {ob} meet in one expression"),
                            at.clone(),
                            "no single party knows both, so no one could prove this",
                        )
                        .with_label(pa.clone(), format!("`{sa}` is private to {oa}"))
                        .with_label(pb.clone(), format!("`{sb}` is private to {ob}"))
                        .with_hint("reveal one of them first, or split the check so each owner proves its part"),
                    );
                }
                a.clone()
            }
        }
    }

    fn expr(&mut self, scope: &Scope<'_>, e: &Expr) -> Val {
        match &e.kind {
            ExprKind::Int(_) => Val::public(Ty::U64),
            ExprKind::Bool(_) => Val::public(Ty::Bool),
            ExprKind::Bytes32(_) => Val::public(Ty::Bytes32),
            ExprKind::Now => Val::public(Ty::U64),
            ExprKind::Error => Val::error(),
            ExprKind::Name(n) => self.name(scope, n, &e.span),
            ExprKind::Unary(UnOp::Not, inner) => {
                let v = self.expr(scope, inner);
                self.want(&inner.span, Ty::Bool, v.ty, "the operand of `!`");
                Val { ty: Ty::Bool, ..v }
            }
            ExprKind::Unary(UnOp::Neg, inner) => {
                self.expr(scope, inner);
                self.diags.push(
                    Diagnostic::error(
                        "E0107",
                        "`u64` values cannot be negative",
                        e.span.clone(),
                        "negation",
                    )
                    .with_hint("subtract from a larger value instead; subtraction below zero aborts the call"),
                );
                Val::error()
            }
            ExprKind::Binary(op, l, r) => {
                let lv = self.expr(scope, l);
                let rv = self.expr(scope, r);
                let privacy = self.join(&lv.privacy, &rv.privacy, &e.span);
                let ty = self.binary_type(*op, &lv, &rv, l, r);
                if matches!(op, BinOp::Div | BinOp::Rem)
                    && let Privacy::Private {
                        owner,
                        source,
                        span,
                    } = &privacy
                {
                    self.diags.push(
                        Diagnostic::error(
                            "E0307",
                            format!("`{source}` (private to {owner}) cannot be divided"),
                            e.span.clone(),
                            "division and remainder of private values cannot be proven",
                        )
                        .with_label(span.clone(), format!("`{source}` is private to {owner}"))
                        .with_hint("multiply the other side instead: `a / b >= c` is `a >= c * b`"),
                    );
                }
                Val { ty, privacy }
            }
            ExprKind::Call(f, args) => self.call(scope, f, args, &e.span),
            ExprKind::Reveal(x) => self.reveal(scope, x),
        }
    }

    fn binary_type(&mut self, op: BinOp, lv: &Val, rv: &Val, l: &Expr, r: &Expr) -> Ty {
        let both = |s: &mut Self, want: Ty, what: &str| {
            for (v, e) in [(lv, l), (rv, r)] {
                s.want(&e.span, want, v.ty, what);
            }
        };
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                both(self, Ty::U64, "an arithmetic operand");
                Ty::U64
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                both(self, Ty::U64, "a compared value");
                Ty::Bool
            }
            BinOp::And | BinOp::Or => {
                both(self, Ty::Bool, "a logical operand");
                Ty::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                self.want(&r.span, lv.ty, rv.ty, "the right side of an equality");
                Ty::Bool
            }
        }
    }

    fn name(&mut self, scope: &Scope<'_>, n: &str, span: &Span) -> Val {
        let caller = &scope.function.caller.name;
        match self.lookup(scope, n) {
            None => {
                self.unknown(n, span);
                Val::error()
            }
            Some((Binding::Party, _)) => Val::public(Ty::Party),
            Some((Binding::Field { ty, owner: None }, _)) => Val::public(ty),
            Some((
                Binding::Field {
                    ty,
                    owner: Some(owner),
                },
                decl,
            )) => {
                if owner != *caller {
                    self.diags.push(
                        Diagnostic::error(
                            "E0306",
                            format!(
                                "`{n}` is private to {owner}, but {caller} calls this function"
                            ),
                            span.clone(),
                            format!("{caller} only holds a commitment to it"),
                        )
                        .with_label(decl, format!("declared `private({owner})` here"))
                        .with_hint(format!(
                            "read it in a function `by {owner}`, or have {owner} reveal it first"
                        )),
                    );
                    return Val::error();
                }
                Val {
                    ty,
                    privacy: Privacy::Private {
                        owner,
                        source: n.to_owned(),
                        span: span.clone(),
                    },
                }
            }
            Some((Binding::Param { ty, private }, _)) => Val {
                ty,
                privacy: if private {
                    Privacy::Private {
                        owner: caller.clone(),
                        source: n.to_owned(),
                        span: span.clone(),
                    }
                } else {
                    Privacy::Public
                },
            },
            Some((Binding::Local { ty, privacy }, _)) => Val { ty, privacy },
        }
    }

    fn call(
        &mut self,
        scope: &Scope<'_>,
        f: &crate::syntax::ast::Ident,
        args: &[Expr],
        span: &Span,
    ) -> Val {
        let vals: Vec<Val> = args.iter().map(|a| self.expr(scope, a)).collect();
        let arity = |s: &mut Self, want: usize| {
            if vals.len() != want {
                s.diags.push(Diagnostic::error(
                    "E0104",
                    format!(
                        "`{}` takes {want} argument{}, found {}",
                        f.name,
                        if want == 1 { "" } else { "s" },
                        vals.len()
                    ),
                    span.clone(),
                    "wrong number of arguments",
                ));
            }
        };
        let no_private = |s: &mut Self, what: &str| {
            for (v, a) in vals.iter().zip(args) {
                if let Privacy::Private {
                    owner,
                    source,
                    span: src,
                } = &v.privacy
                {
                    s.diags.push(
                        Diagnostic::error(
                            "E0304",
                            format!(
                                "private value `{source}` (owned by {owner}) is passed to `{}`",
                                f.name
                            ),
                            a.span.clone(),
                            format!("{what} cannot be proven over a commitment"),
                        )
                        .with_label(src.clone(), format!("`{source}` is private to {owner}"))
                        .with_hint(format!(
                            "reveal it first, and pass `reveal({source})` instead"
                        )),
                    );
                }
            }
        };
        match f.name.as_str() {
            "sha256" | "keccak256" => {
                if vals.is_empty() {
                    self.diags.push(Diagnostic::error(
                        "E0104",
                        format!("`{}` takes at least one argument", f.name),
                        span.clone(),
                        "nothing to hash",
                    ));
                }
                for (v, a) in vals.iter().zip(args) {
                    if v.ty == Ty::Party {
                        self.mismatch(
                            &a.span,
                            Ty::U64,
                            v.ty,
                            "a hashed value (u64, bool or bytes32)",
                        );
                    }
                }
                no_private(self, "a hash");
                Val::public(Ty::Bytes32)
            }
            "balance" => {
                arity(self, 1);
                if let Some((v, a)) = vals.first().zip(args.first())
                    && !Ty::Party.accepts(v.ty)
                {
                    self.mismatch(&a.span, Ty::Party, v.ty, "the argument of `balance`");
                }
                Val::public(Ty::U64)
            }
            "min" | "max" => {
                arity(self, 2);
                for (v, a) in vals.iter().zip(args) {
                    self.want(&a.span, Ty::U64, v.ty, "an argument of `min`/`max`");
                }
                no_private(self, "a minimum or maximum");
                Val::public(Ty::U64)
            }
            other => {
                self.diags.push(
                    Diagnostic::error("E0104", format!("unknown function `{other}`"), f.span.clone(), "not a builtin")
                        .with_hint("the builtins are sha256, keccak256, balance, min and max; contract functions are called by parties, not from code"),
                );
                Val::error()
            }
        }
    }

    fn reveal(&mut self, scope: &Scope<'_>, x: &crate::syntax::ast::Ident) -> Val {
        let v = self.name(scope, &x.name, &x.span);
        match v.privacy {
            Privacy::Private { .. } => Val::public(v.ty),
            Privacy::Public if v.ty == Ty::Error => v,
            Privacy::Public => {
                self.diags.push(
                    Diagnostic::error(
                        "E0111",
                        format!("`{}` is not private", x.name),
                        x.span.clone(),
                        "there is nothing to reveal",
                    )
                    .with_hint(format!("use `{}` directly", x.name)),
                );
                v
            }
        }
    }

    /// A `require` over private values must be provable: a conjunction of
    /// comparisons and equalities over sums and products (E0307 otherwise).
    fn provable(&mut self, scope: &Scope<'_>, e: &Expr) {
        let refuse = |s: &mut Self, span: &Span, why: &str, hint: &str| {
            s.diags.push(
                Diagnostic::error(
                    "E0307",
                    "this requirement over a private value cannot be proven",
                    span.clone(),
                    why.to_owned(),
                )
                .with_hint(hint.to_owned()),
            );
        };
        match &e.kind {
            ExprKind::Binary(BinOp::And, l, r) => {
                for side in [l, r] {
                    let v = self.quiet_privacy(scope, side);
                    if v {
                        self.provable(scope, side);
                    }
                }
            }
            ExprKind::Binary(BinOp::Or, ..) => refuse(
                self,
                &e.span,
                "`||` over a private value",
                "split it into separate functions, or reveal the value first",
            ),
            ExprKind::Binary(BinOp::Ne, ..) => refuse(
                self,
                &e.span,
                "`!=` over a private value",
                "state it as `<` or `>` (whichever the owner can prove), or reveal the value first",
            ),
            ExprKind::Unary(UnOp::Not, _) => refuse(
                self,
                &e.span,
                "`!` over a private value",
                "state the positive condition: `!(a < b)` is `a >= b`",
            ),
            ExprKind::Binary(BinOp::Eq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge, ..) => {}
            // A private bool on its own: provable as `flag == true`.
            ExprKind::Name(_) => {}
            _ => refuse(
                self,
                &e.span,
                "not a comparison or a conjunction of comparisons",
                "write it as comparisons joined by `&&`",
            ),
        }
    }

    /// Whether `e` involves a private value, without reporting anything.
    fn quiet_privacy(&mut self, scope: &Scope<'_>, e: &Expr) -> bool {
        let saved = self.diags.len();
        let private = matches!(self.expr(scope, e).privacy, Privacy::Private { .. });
        self.diags.truncate(saved);
        private
    }
}
