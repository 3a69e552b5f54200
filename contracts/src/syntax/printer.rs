//! The printer: a [`Contract`] tree back to canonical source text.
//!
//! Canonical means one spelling per tree: the header, then one `party`
//! line, one `state` block and the functions, separated by blank lines;
//! four spaces of indentation and one statement per line; the fewest
//! parentheses the precedence rules allow; integers in decimal, `bytes32`
//! as `0x` and 64 lowercase hex digits; `public` left out (it is the
//! default); `else { if .. }` as `else if ..` (the tree cannot tell them
//! apart). Comments are not in the tree and so are not printed.
//!
//! **Invariant:** for a tree the parser built without diagnostics,
//! parsing the printed text gives the same tree, spans aside. Error
//! nodes, which only trees with diagnostics hold, print as `<error>` and
//! a name left empty by an error as `<missing>`: readable in test dumps,
//! and not sotto, so they never parse back silently.

use std::fmt::Write as _;

use crate::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Field, Function, Ident, Stmt, StmtKind, Type, UnOp,
    Visibility,
};

/// Prints a contract as canonical source text (ending in a newline).
pub fn print(contract: &Contract) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "contract {};", name(&contract.name));
    if !contract.parties.is_empty() {
        let parties: Vec<&str> = contract.parties.iter().map(name).collect();
        let _ = write!(out, "\nparty {};\n", parties.join(", "));
    }
    if !contract.fields.is_empty() {
        out.push_str("\nstate {\n");
        for field in &contract.fields {
            print_field(&mut out, field);
        }
        out.push_str("}\n");
    }
    for function in &contract.functions {
        out.push('\n');
        print_function(&mut out, function);
    }
    out
}

/// Prints one expression, with the fewest parentheses that keep its
/// shape.
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

fn name(ident: &Ident) -> &str {
    if ident.name.is_empty() {
        "<missing>"
    } else {
        &ident.name
    }
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::U64 => "u64",
        Type::Bool => "bool",
        Type::Bytes32 => "bytes32",
        Type::Party => "party",
    }
}

fn print_field(out: &mut String, field: &Field) {
    let _ = write!(out, "    {}: ", name(&field.name));
    if let Visibility::Private(owner) = &field.visibility {
        let _ = write!(out, "private({}) ", name(owner));
    }
    out.push_str(type_name(field.ty.0));
    if let Some(init) = &field.init {
        out.push_str(" = ");
        write_expr(out, init);
    }
    out.push_str(";\n");
}

fn print_function(out: &mut String, function: &Function) {
    let params: Vec<String> = function
        .params
        .iter()
        .map(|p| {
            let private = if p.private { "private " } else { "" };
            format!("{}: {private}{}", name(&p.name), type_name(p.ty.0))
        })
        .collect();
    let _ = write!(
        out,
        "fn {}({}) by {} ",
        name(&function.name),
        params.join(", "),
        name(&function.caller)
    );
    write_block(out, &function.body, 0);
    out.push('\n');
}

/// Writes `{ .. }` whose statements are at `indent + 1`, with no newline
/// after the closing brace.
fn write_block(out: &mut String, block: &Block, indent: usize) {
    if block.stmts.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for stmt in &block.stmts {
        pad(out, indent + 1);
        write_stmt(out, stmt, indent + 1);
        out.push('\n');
    }
    pad(out, indent);
    out.push('}');
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

/// Writes one statement, already indented, without the final newline.
fn write_stmt(out: &mut String, stmt: &Stmt, indent: usize) {
    match &stmt.kind {
        StmtKind::Let { name: n, ty, value } => {
            let _ = write!(out, "let {}", name(n));
            if let Some((ty, _)) = ty {
                let _ = write!(out, ": {}", type_name(*ty));
            }
            out.push_str(" = ");
            write_expr(out, value);
            out.push(';');
        }
        StmtKind::Assign { target, value } => {
            let _ = write!(out, "{} = ", name(target));
            write_expr(out, value);
            out.push(';');
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            out.push_str("if ");
            write_expr(out, cond);
            out.push(' ');
            write_block(out, then, indent);
            if let Some(otherwise) = otherwise {
                out.push_str(" else ");
                match otherwise.stmts.as_slice() {
                    [
                        only @ Stmt {
                            kind: StmtKind::If { .. },
                            ..
                        },
                    ] => write_stmt(out, only, indent),
                    _ => write_block(out, otherwise, indent),
                }
            }
        }
        StmtKind::Require { cond, reason } => {
            out.push_str("require ");
            write_expr(out, cond);
            out.push_str(", ");
            write_string(out, &reason.0);
            out.push(';');
        }
        StmtKind::Transfer { amount, from, to } => {
            out.push_str("transfer ");
            write_expr(out, amount);
            let _ = write!(out, " from {} to {};", name(from), name(to));
        }
        StmtKind::Await { party, silent } => {
            let _ = write!(out, "await {}", name(party));
            match silent {
                Some(block) => {
                    out.push_str(" silent ");
                    write_block(out, block, indent);
                }
                None => out.push(';'),
            }
        }
        StmtKind::Finish => out.push_str("finish;"),
        StmtKind::Error => out.push_str("<error>;"),
    }
}

/// Writes a string literal: the escapes the lexer reads, all else as is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Binding power, as in the parser: higher binds tighter.
fn power(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary(op, ..) => op_power(*op),
        ExprKind::Unary(..) => 6,
        _ => 7,
    }
}

fn op_power(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Add | BinOp::Sub => 4,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 5,
    }
}

/// Writes `expr`, in parentheses if it binds looser than `min`.
fn write_operand(out: &mut String, expr: &Expr, min: u8) {
    if power(expr) < min {
        out.push('(');
        write_expr(out, expr);
        out.push(')');
    } else {
        write_expr(out, expr);
    }
}

fn write_expr(out: &mut String, expr: &Expr) {
    match &expr.kind {
        ExprKind::Int(v) => {
            let _ = write!(out, "{v}");
        }
        ExprKind::Bytes32(bytes) => {
            out.push_str("0x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
        }
        ExprKind::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        ExprKind::Now => out.push_str("now"),
        ExprKind::Name(n) => out.push_str(if n.is_empty() { "<missing>" } else { n }),
        ExprKind::Binary(op, lhs, rhs) => {
            let p = op_power(*op);
            // Left-associative: the left operand may bind as loosely as
            // the operator, the right one must bind tighter. Comparisons
            // do not chain, so both sides of one must bind tighter.
            let left_min = if p == 3 { p + 1 } else { p };
            write_operand(out, lhs, left_min);
            let _ = write!(out, " {} ", crate::semantics::op_symbol(*op));
            write_operand(out, rhs, p + 1);
        }
        ExprKind::Unary(op, operand) => {
            out.push(match op {
                UnOp::Not => '!',
                UnOp::Neg => '-',
            });
            write_operand(out, operand, 6);
        }
        ExprKind::Call(callee, args) => {
            let _ = write!(out, "{}(", name(callee));
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, arg);
            }
            out.push(')');
        }
        ExprKind::Reveal(n) => {
            let _ = write!(out, "reveal({})", name(n));
        }
        ExprKind::Error => out.push_str("<error>"),
    }
}
