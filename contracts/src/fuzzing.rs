//! Fuzz target bodies for the language front end, kept in the library so
//! that a stable test runs them over the committed corpus and random
//! inputs, and `cargo fuzz` (nightly) runs them under libFuzzer
//! (`fuzz/fuzz_targets/parse.rs`). Each body must never panic except when
//! an oracle finds a real bug.
//!
//! Oracles of [`compile`]:
//! - a generated well-typed contract ([`crate::generate`]) checks clean
//!   and compiles; the only refusal allowed is E0310 (a documented limit);
//! - the module it produces reads back as the same artifact, and compiling
//!   again gives the same bytes.
//!
//! Oracles of [`parse`]:
//! - lexing and parsing are total: no panic on any input;
//! - every token and diagnostic span lies in the source, on `char`
//!   boundaries, tokens in order; every diagnostic code is a syntax code;
//! - rendering every diagnostic does not panic;
//! - print then parse round-trips: a tree parsed without diagnostics
//!   prints to text that parses without diagnostics to the same tree
//!   (spans aside, see [`erase_spans`]), and printing that is a fixpoint.

use crate::diagnostic::{Span, render};
use crate::syntax::ast::{Block, Contract, Expr, ExprKind, Ident, Stmt, StmtKind, Visibility};
use crate::syntax::{lexer, parse as parse_source, print};

/// The diagnostic codes the syntax may report.
const SYNTAX_CODES: [&str; 7] = [
    "E0001", "E0002", "E0003", "E0004", "E0005", "E0006", "E0007",
];

/// Fuzz body for the lexer, the parser, the renderer and the printer.
///
/// The input is read as UTF-8, invalid sequences replaced (the front end
/// takes `&str`; the CLI does the same lossy reading of files).
pub fn parse(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let in_source = |span: &Span| {
        span.start <= span.end
            && span.end <= source.len()
            && source.is_char_boundary(span.start)
            && source.is_char_boundary(span.end)
    };

    let (tokens, _) = lexer::lex(&source);
    let mut end = 0;
    for (i, token) in tokens.iter().enumerate() {
        assert!(
            in_source(&token.span),
            "token span {:?} off the source",
            token.span
        );
        assert!(token.span.start >= end, "tokens overlap at {i}");
        let last = i + 1 == tokens.len();
        assert_eq!(token.kind == lexer::TokenKind::Eof, last, "Eof at {i}");
        assert!(
            last || token.span.start < token.span.end,
            "empty token at {i}"
        );
        end = token.span.end;
    }

    let (tree, diags) = parse_source(&source);
    for d in &diags {
        assert!(SYNTAX_CODES.contains(&d.code), "unexpected code {}", d.code);
        assert!(
            in_source(&d.primary.0),
            "{} span {:?} off the source",
            d.code,
            d.primary.0
        );
        for (span, _) in &d.labels {
            assert!(in_source(span), "{} label {span:?} off the source", d.code);
        }
    }
    let mut checked = tree.clone();
    visit_spans(&mut checked, &mut |span| {
        assert!(in_source(span), "tree span {span:?} off the source");
    });
    let _ = render("fuzz.sotto", &source, &diags);
    if !diags.is_empty() {
        return;
    }
    // A tree that parses goes on through the checker and the compiler,
    // which must not panic either, and never report an internal error.
    if let Err(d) = crate::compile::compile(&source) {
        assert!(
            d.iter().all(|d| d.code != "E0900"),
            "internal compiler error on:\n{source}"
        );
    }

    let printed = print(&tree);
    let (again, diags) = parse_source(&printed);
    assert!(
        diags.is_empty(),
        "the printed tree does not parse:\n{printed}\n{}",
        render("printed.sotto", &printed, &diags)
    );
    assert_eq!(
        erase_spans(again.clone()),
        erase_spans(tree),
        "print then parse changed the tree:\n{printed}"
    );
    assert_eq!(print(&again), printed, "printing is not a fixpoint");
}

/// Fuzz body for the compiler on generated well-typed contracts.
pub fn compile(data: &[u8]) {
    let source = crate::generate::contract(&mut arbitrary::Unstructured::new(data));
    let (tree, syntax) = parse_source(&source);
    assert!(
        syntax.is_empty(),
        "generated contract does not parse:\n{source}"
    );
    let checked = crate::check::check(&tree);
    assert!(
        checked.iter().all(|d| d.severity != crate::Severity::Error),
        "generated contract does not check:\n{source}\n{}",
        render("generated.sotto", &source, &checked)
    );
    match crate::compile::compile(&source) {
        Ok(built) => {
            let bytes = built.artifact.bytes().to_vec();
            let again = crate::Artifact::from_bytes(bytes.clone());
            assert_eq!(again.as_ref(), Ok(&built.artifact), "artifact round trip");
            let twice = crate::compile::compile(&source).map(|c| c.artifact.bytes().to_vec());
            assert_eq!(
                twice.as_ref(),
                Ok(&bytes),
                "compilation is not deterministic"
            );
        }
        Err(d) => assert!(
            d.iter()
                .all(|d| d.severity != crate::Severity::Error || d.code == "E0310"),
            "a well-typed contract was refused:\n{source}\n{}",
            render("generated.sotto", &source, &d)
        ),
    }
}

/// Every circuit variable is bounded by its own program, except a private
/// field's current value, which is vouched for (declared proven) because
/// its range was proven when it was stored. `Program::new` accepts a
/// variable declared proven, so this is what stops the compiler from
/// vouching for a value nobody proved.
pub fn bounded_by_the_program(artifact: &crate::Artifact) {
    use crate::abi::VarRole;
    use sotto_circuits::Constraint;
    for f in &artifact.abi().functions {
        let (Some(c), Some(p)) = (&f.circuit, artifact.program(f)) else {
            continue;
        };
        for (i, (role, decl)) in c.vars.iter().zip(p.vars()).enumerate() {
            let bounded = p.constraints().iter().any(|k| match k {
                Constraint::Range { var, .. }
                | Constraint::Boolean { var }
                | Constraint::OneOf { var, .. } => usize::from(var.0) == i,
                _ => false,
            });
            match role {
                VarRole::Field(_) => assert!(
                    decl.proven.is_some() && !bounded,
                    "{}: current field value {i} should be vouched for, not re-proven",
                    f.name
                ),
                _ => assert!(
                    bounded && decl.proven.is_none(),
                    "{}: variable {i} ({role:?}) is not bounded by its program",
                    f.name
                ),
            }
        }
    }
}

/// The tree with every span set to `0..0`, so that two trees compare equal
/// exactly when they were written alike, wherever they were written.
pub fn erase_spans(mut contract: Contract) -> Contract {
    visit_spans(&mut contract, &mut |span| *span = 0..0);
    contract
}

/// Calls `f` on every span in the tree.
fn visit_spans(contract: &mut Contract, f: &mut impl FnMut(&mut Span)) {
    let ident = |i: &mut Ident, f: &mut dyn FnMut(&mut Span)| f(&mut i.span);
    ident(&mut contract.name, f);
    for party in &mut contract.parties {
        ident(party, f);
    }
    for field in &mut contract.fields {
        ident(&mut field.name, f);
        if let Visibility::Private(owner) = &mut field.visibility {
            ident(owner, f);
        }
        f(&mut field.ty.1);
        if let Some(init) = &mut field.init {
            visit_expr(init, f);
        }
        f(&mut field.span);
    }
    for function in &mut contract.functions {
        ident(&mut function.name, f);
        for param in &mut function.params {
            ident(&mut param.name, f);
            f(&mut param.ty.1);
        }
        ident(&mut function.caller, f);
        visit_block(&mut function.body, f);
        f(&mut function.span);
    }
}

fn visit_block(block: &mut Block, f: &mut impl FnMut(&mut Span)) {
    for stmt in &mut block.stmts {
        visit_stmt(stmt, f);
    }
    f(&mut block.span);
}

fn visit_stmt(stmt: &mut Stmt, f: &mut impl FnMut(&mut Span)) {
    match &mut stmt.kind {
        StmtKind::Let { name, ty, value } => {
            f(&mut name.span);
            if let Some((_, span)) = ty {
                f(span);
            }
            visit_expr(value, f);
        }
        StmtKind::Assign { target, value } => {
            f(&mut target.span);
            visit_expr(value, f);
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            visit_expr(cond, f);
            visit_block(then, f);
            if let Some(block) = otherwise {
                visit_block(block, f);
            }
        }
        StmtKind::Require { cond, reason } => {
            visit_expr(cond, f);
            f(&mut reason.1);
        }
        StmtKind::Transfer { amount, from, to } => {
            visit_expr(amount, f);
            f(&mut from.span);
            f(&mut to.span);
        }
        StmtKind::Await { party, silent } => {
            f(&mut party.span);
            if let Some(block) = silent {
                visit_block(block, f);
            }
        }
        StmtKind::Finish | StmtKind::Error => {}
    }
    f(&mut stmt.span);
}

fn visit_expr(expr: &mut Expr, f: &mut impl FnMut(&mut Span)) {
    match &mut expr.kind {
        ExprKind::Binary(_, lhs, rhs) => {
            visit_expr(lhs, f);
            visit_expr(rhs, f);
        }
        ExprKind::Unary(_, operand) => visit_expr(operand, f),
        ExprKind::Call(callee, args) => {
            f(&mut callee.span);
            for arg in args {
                visit_expr(arg, f);
            }
        }
        ExprKind::Reveal(name) => f(&mut name.span),
        ExprKind::Int(_)
        | ExprKind::Bytes32(_)
        | ExprKind::Bool(_)
        | ExprKind::Now
        | ExprKind::Name(_)
        | ExprKind::Error => {}
    }
    f(&mut expr.span);
}

/// Arbitrary bytes as what a peer's contract module carries (a node loads
/// the module of every invitation it receives): as a whole module
/// ([`crate::Artifact::from_bytes`]), as its ABI section
/// ([`crate::abi::Abi::decode`]) and as its programs section
/// ([`crate::artifact::decode_programs`]). None may panic; whatever
/// decodes encodes to bytes that decode to the same value.
pub fn artifact(data: &[u8]) {
    use crate::abi::Abi;
    use crate::artifact::{decode_programs, encode_programs};
    if let Ok(a) = crate::Artifact::from_bytes(data.to_vec()) {
        assert_eq!(a.bytes(), data, "an artifact keeps its bytes");
        assert_eq!(
            Abi::decode(&a.abi().encode()).as_ref(),
            Ok(a.abi()),
            "an accepted artifact's ABI round-trips"
        );
    }
    if let Ok(abi) = Abi::decode(data) {
        assert_eq!(
            Abi::decode(&abi.encode()).as_ref(),
            Ok(&abi),
            "a decoded ABI round-trips"
        );
    }
    if let Ok(programs) = decode_programs(data) {
        assert_eq!(
            decode_programs(&encode_programs(&programs)).ok().as_ref(),
            Some(&programs),
            "decoded programs round-trip"
        );
    }
}
