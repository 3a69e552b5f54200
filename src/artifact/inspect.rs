//! `sotto inspect ARTIFACT [--json]`: what a built contract holds.
//!
//! The contract id, parties, fields (type, visibility, initial value),
//! functions (caller, parameters, reveals) and, per function with a circuit,
//! its variables, its constraints in readable form and the exact size of the
//! proof a call carries; then the budgets. Everything shown is public: it
//! is what the artifact's custom sections say, which both parties hold.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::{Value as Json, json};
use sotto_circuits::{CmpOp, Constraint, LinExpr, Program, Term, estimated_proof_size};
use sotto_contracts::Artifact;
use sotto_contracts::abi::{Abi, Function, VarRole};

use sotto_contracts::json::{party_name, show, to_json};

/// `sotto inspect ARTIFACT [--json]`
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The artifact (`sotto build` writes it).
    artifact: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Reads the artifact and prints what it holds.
pub(crate) fn run(args: &InspectArgs) -> Result<()> {
    let artifact = super::read_artifact(&args.artifact)?;
    if args.json {
        super::print_json(&as_json(&artifact))
    } else {
        super::print(&as_text(&artifact))
    }
}

/// The readable report.
fn as_text(artifact: &Artifact) -> String {
    let abi = artifact.abi();
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("contract {}", abi.name));
    line(format!("  id: {}", artifact.id_hex()));
    line(format!("  size: {} bytes", artifact.bytes().len()));
    line(format!("parties: {}", abi.parties.join(", ")));
    line("fields:".to_owned());
    if abi.fields.is_empty() {
        line("  (none)".to_owned());
    }
    for f in &abi.fields {
        line(format!(
            "  {}: {}, {}, init {}",
            f.name,
            f.ty,
            visibility(abi, f.owner),
            show(&f.init, &abi.parties)
        ));
    }
    line("functions:".to_owned());
    for f in &abi.functions {
        line(format!("  {}", signature(abi, f)));
        if !f.reveals.is_empty() {
            let reveals: Vec<String> = f
                .reveals
                .iter()
                .map(|r| format!("{}: {} (public input {})", r.name, r.ty, r.public_input))
                .collect();
            line(format!("    reveals {}", reveals.join(", ")));
        }
        let (Some(circuit), Some(program)) = (&f.circuit, artifact.program(f)) else {
            continue;
        };
        line(format!("    circuit: program {}", circuit.program));
        line("      variables:".to_owned());
        if program.vars().is_empty() {
            line("        (none)".to_owned());
        }
        for (v, role) in program.vars().iter().zip(&circuit.vars) {
            line(format!("        {}: {}", v.name, role_text(abi, f, *role)));
        }
        line(format!(
            "      public inputs: {}",
            or_none(program.publics())
        ));
        line("      constraints:".to_owned());
        if program.constraints().is_empty() {
            line("        (none)".to_owned());
        }
        for c in program.constraints() {
            line(format!("        {}", constraint_text(program, c)));
        }
        line(format!(
            "      proof size: {} bytes",
            estimated_proof_size(program)
        ));
    }
    let pages = abi.budgets.memory_pages;
    line(format!(
        "budgets: {} fuel per call, {pages} memory page{}",
        abi.budgets.fuel_per_call,
        if pages == 1 { "" } else { "s" }
    ));
    out
}

/// The same report as one JSON object.
fn as_json(artifact: &Artifact) -> Json {
    let abi = artifact.abi();
    let fields: Vec<Json> = abi
        .fields
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "type": f.ty.name(),
                "private": f.owner.is_some(),
                "owner": f.owner.map(|p| party_name(p, &abi.parties)),
                "init": to_json(&f.init, &abi.parties),
            })
        })
        .collect();
    let functions: Vec<Json> = abi
        .functions
        .iter()
        .map(|f| {
            let circuit = match (&f.circuit, artifact.program(f)) {
                (Some(c), Some(program)) => json!({
                    "program": c.program,
                    "variables": program.vars().iter().zip(&c.vars).map(|(v, role)| json!({
                        "name": v.name,
                        "role": role_text(abi, f, *role),
                    })).collect::<Vec<_>>(),
                    "public_inputs": program.publics(),
                    "constraints": program.constraints().iter().map(|c| json!({
                        "kind": c.kind(),
                        "text": constraint_text(program, c),
                    })).collect::<Vec<_>>(),
                    "proof_size": estimated_proof_size(program),
                }),
                _ => Json::Null,
            };
            json!({
                "name": f.name,
                "caller": party_name(f.caller, &abi.parties),
                "params": f.params.iter().map(|p| json!({
                    "name": p.name,
                    "type": p.ty.name(),
                    "private": p.private,
                })).collect::<Vec<_>>(),
                "reveals": f.reveals.iter().map(|r| json!({
                    "name": r.name,
                    "type": r.ty.name(),
                    "public_input": r.public_input,
                })).collect::<Vec<_>>(),
                "circuit": circuit,
            })
        })
        .collect();
    json!({
        "name": abi.name,
        "id": artifact.id_hex(),
        "size": artifact.bytes().len(),
        "parties": abi.parties,
        "fields": fields,
        "functions": functions,
        "budgets": {
            "fuel_per_call": abi.budgets.fuel_per_call,
            "memory_pages": abi.budgets.memory_pages,
        },
    })
}

/// `public`, or `private(OWNER)`.
fn visibility(abi: &Abi, owner: Option<u32>) -> String {
    match owner {
        None => "public".to_owned(),
        Some(p) => format!("private({})", party_name(p, &abi.parties)),
    }
}

/// `NAME(p: u64, q: private bool) by CALLER`, as in the source.
fn signature(abi: &Abi, f: &Function) -> String {
    format!(
        "{} by {}",
        f.signature(),
        party_name(f.caller, &abi.parties)
    )
}

/// What a circuit variable stands for, naming the parameter or field.
fn role_text(abi: &Abi, f: &Function, role: VarRole) -> String {
    let field = |i: u32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| abi.fields.get(i))
            .map_or_else(|| format!("#{i}"), |f| format!("`{}`", f.name))
    };
    match role {
        VarRole::Param(i) => match f.params.get(usize::from(i)) {
            Some(p) => format!("parameter `{}`", p.name),
            None => format!("parameter #{i}"),
        },
        VarRole::Field(i) => format!("field {} before the call", field(i)),
        VarRole::NewField(i) => format!("field {} after the call", field(i)),
        VarRole::Derived => "derived".to_owned(),
    }
}

/// A constraint over the program's own names; a public input is written
/// `public(NAME)`, since it may share a name with a variable.
fn constraint_text(program: &Program, c: &Constraint) -> String {
    let var = |v: &sotto_circuits::VarId| {
        program
            .vars()
            .get(usize::from(v.0))
            .map_or_else(|| format!("v{}", v.0), |d| d.name.clone())
    };
    let term = |t: &Term| match t {
        Term::Var(v) => var(v),
        Term::Public(p) => program
            .publics()
            .get(usize::from(p.0))
            .map_or_else(|| format!("public(#{})", p.0), |n| format!("public({n})")),
    };
    let expr = |e: &LinExpr| linear_text(e, &term);
    match c {
        Constraint::Linear(e) => format!("{} = 0", expr(e)),
        Constraint::Range { var: v, bits } => format!("{} in [0, 2^{})", var(v), bits.bits()),
        Constraint::Compare { lhs, op, rhs, bits } => {
            let op = match op {
                CmpOp::Le => "<=",
                CmpOp::Lt => "<",
                CmpOp::Ge => ">=",
                CmpOp::Gt => ">",
                CmpOp::Eq => "==",
            };
            format!(
                "{} {op} {}  ({}-bit difference)",
                expr(lhs),
                expr(rhs),
                bits.bits()
            )
        }
        Constraint::Product { x, y, z } => format!("{} = {} * {}", var(z), var(x), var(y)),
        Constraint::EqualsPublic { var: v, public } => {
            format!("{} = {}", var(v), term(&Term::Public(*public)))
        }
        Constraint::SameValue { a, b } => format!("{} = {}", var(a), var(b)),
        Constraint::OneOf { var: v, set } => {
            let set: Vec<String> = set.iter().map(u64::to_string).collect();
            format!("{} in {{{}}}", var(v), set.join(", "))
        }
        Constraint::Boolean { var: v } => format!("{} in {{0, 1}}", var(v)),
    }
}

/// `a - 2*b + public(p) + 6`.
fn linear_text(e: &LinExpr, term: &dyn Fn(&Term) -> String) -> String {
    let mut out = String::new();
    for (i, (c, t)) in e.terms.iter().enumerate() {
        let (sign, magnitude) = if *c < 0 {
            ("-", c.unsigned_abs())
        } else {
            ("+", c.unsigned_abs())
        };
        match (i, sign) {
            (0, "+") => {}
            (0, _) => out.push('-'),
            _ => out.push_str(&format!(" {sign} ")),
        }
        if magnitude != 1 {
            out.push_str(&format!("{magnitude}*"));
        }
        out.push_str(&term(t));
    }
    let constant = e.constant;
    if e.terms.is_empty() {
        out.push_str(&constant.to_string());
    } else if constant != 0 {
        let sign = if constant < 0 { "-" } else { "+" };
        out.push_str(&format!(" {sign} {}", constant.unsigned_abs()));
    }
    out
}

fn or_none<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use sotto_circuits::{ProgramBuilder, RangeBits};

    use super::*;

    #[test]
    fn constraints_read_like_the_source() {
        let mut b = ProgramBuilder::new();
        let x = b.var("x");
        let y = b.var("y");
        let z = b.var("z");
        let p = b.public("p");
        b.range(x, RangeBits::B16)
            .range(y, RangeBits::B16)
            .range(z, RangeBits::B32)
            .linear(LinExpr::term(x).plus(-2, y).plus(1, p).plus_constant(6))
            .compare(
                LinExpr::term(x),
                CmpOp::Le,
                LinExpr::term(p).plus_constant(-1),
                RangeBits::B16,
            )
            .product(x, y, z)
            .equals_public(y, p)
            .one_of(x, vec![3, 5])
            .boolean(y)
            .linear(LinExpr::constant(0));
        let program = b.build().unwrap();
        let texts: Vec<String> = program
            .constraints()
            .iter()
            .map(|c| constraint_text(&program, c))
            .collect();
        assert_eq!(
            texts,
            [
                "x in [0, 2^16)",
                "y in [0, 2^16)",
                "z in [0, 2^32)",
                "x - 2*y + public(p) + 6 = 0",
                "x <= public(p) - 1  (16-bit difference)",
                "z = x * y",
                "y = public(p)",
                "x in {3, 5}",
                "y in {0, 1}",
                "0 = 0",
            ]
        );
    }
}
