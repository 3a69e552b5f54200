//! Code generation: a checked contract to one WASM module.
//!
//! [`compile`] parses, checks, and then lowers every function twice from one
//! walk (`func.rs`): its public part `call.NAME` and, if it touches private
//! values, its witness part `witness.NAME` and its constraint program. The
//! module imports only what it uses from the host ABI (docs/abi.md), keeps
//! abort reasons and `bytes32` literals in one data segment at address 0,
//! and uses static scratch slots above it (the language has no loops or
//! recursion, so every temporary gets its own slot). Its custom sections
//! carry the [`Abi`] and the programs; the bytes are validated with
//! wasmparser before they leave this function.
//!
//! **Determinism:** the output depends only on the source text and this
//! compiler: no hash-map order, time, path or environment reaches it.

mod func;
pub mod host;

use std::collections::BTreeSet;

use sotto_circuits::Program;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, EntityType, ExportKind, ExportSection,
    Function as WasmFunction, FunctionSection, ImportSection, Instruction, MemorySection,
    MemoryType, Module, TypeSection,
};

use crate::abi::{
    ABI_SECTION, Abi, Budgets, Circuit, Field, Function, PROGRAMS_SECTION, Param, Value,
};
use crate::artifact::{Artifact, encode_programs};
use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::ast::{Contract, ExprKind, Visibility};
use func::{Body, Ctx, Data, Part};
use host::{HOST_MODULE, IMPORTS};

/// Largest module the sandbox loads (docs/abi.md, "Limits").
pub const MAX_MODULE_BYTES: usize = 1 << 20;
/// The least fuel budget a contract gets.
pub const MIN_FUEL_BUDGET: u64 = 10_000;
const PAGE_BYTES: u64 = 65_536;

/// A successful build: the artifact, and the warnings met on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The built module.
    pub artifact: Artifact,
    /// Warnings (the build succeeded despite them).
    pub warnings: Vec<Diagnostic>,
}

/// Parses, checks and compiles `source`. On failure, every diagnostic
/// (errors and warnings, in source order); parsing and checking never stop
/// at the first error, and code generation runs only on a contract they
/// accept.
pub fn compile(source: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let (tree, mut diags) = crate::syntax::parse(source);
    let failed = |d: &[Diagnostic]| d.iter().any(|d| d.severity == Severity::Error);
    if failed(&diags) {
        return Err(diags);
    }
    diags.extend(crate::check::check(&tree));
    if failed(&diags) {
        return Err(diags);
    }
    let artifact = generate(&tree, source, &mut diags);
    diags.sort_by_key(|d| (d.primary.0.start, d.code));
    match artifact {
        Some(artifact) if !failed(&diags) => Ok(Compiled {
            artifact,
            warnings: diags,
        }),
        _ => Err(diags),
    }
}

/// A diagnostic for a bug in this compiler: never expected, never a panic.
fn internal(tree: &Contract, what: String) -> Diagnostic {
    Diagnostic::error(
        "E0900",
        format!("internal compiler error: {what}"),
        tree.name.span.clone(),
        "while compiling this contract",
    )
    .with_hint("this is a bug in sotto; please report it with the contract")
}

fn generate(tree: &Contract, source: &str, diags: &mut Vec<Diagnostic>) -> Option<Artifact> {
    let mut data = Data::default();
    let mut bodies: Vec<(Body, Option<Body>)> = Vec::new();
    {
        let mut ctx = Ctx {
            contract: tree,
            source,
            data: &mut data,
            diags,
        };
        for f in &tree.functions {
            let public = func::generate(&mut ctx, f, Part::Public);
            let witness =
                (!public.circuit.is_empty()).then(|| func::generate(&mut ctx, f, Part::Witness));
            bodies.push((public, witness));
        }
    }
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return None;
    }

    let mut programs = Vec::new();
    let mut functions = Vec::new();
    for (f, (public, witness)) in tree.functions.iter().zip(&bodies) {
        let circuit = match witness {
            None => None,
            Some(w) if w.circuit != public.circuit => {
                diags.push(internal(
                    tree,
                    format!("the two parts of `{}` disagree on the circuit", f.name.name),
                ));
                return None;
            }
            Some(w) => {
                let c = &w.circuit;
                match Program::new(c.vars.clone(), c.publics.clone(), c.constraints.clone()) {
                    Ok(p) => programs.push(p),
                    Err(e) => {
                        diags.push(
                            Diagnostic::error(
                                "E0310",
                                format!(
                                    "the constraint program of `{}` exceeds what a proof can carry: {e}",
                                    f.name.name
                                ),
                                f.name.span.clone(),
                                "in this function",
                            )
                            .with_hint("split the function, or use fewer private values"),
                        );
                        return None;
                    }
                }
                Some(Circuit {
                    program: u32::try_from(programs.len() - 1).unwrap_or(u32::MAX),
                    vars: c.roles.clone(),
                })
            }
        };
        functions.push(Function {
            name: f.name.name.clone(),
            caller: party(tree, &f.caller.name),
            params: f
                .params
                .iter()
                .map(|p| Param {
                    name: p.name.name.clone(),
                    ty: func::value_type(p.ty.0),
                    private: p.private,
                })
                .collect(),
            reveals: public.circuit.reveals.clone(),
            circuit,
        });
    }

    // Memory: data at 0, scratch above it.
    let base = u32::try_from(data.bytes.len().div_ceil(8) * 8).unwrap_or(u32::MAX);
    let scratch = bodies
        .iter()
        .flat_map(|(p, w)| std::iter::once(p).chain(w))
        .map(|b| b.scratch)
        .max()
        .unwrap_or(0);
    let memory_bytes = u64::from(base) + u64::from(scratch);
    let pages = memory_bytes.div_ceil(PAGE_BYTES).max(1);
    let fuel = bodies
        .iter()
        .flat_map(|(p, w)| std::iter::once(p).chain(w))
        .map(|b| b.fuel_bound)
        .max()
        .unwrap_or(0);

    let abi = Abi {
        name: tree.name.name.clone(),
        parties: tree.parties.iter().map(|p| p.name.clone()).collect(),
        fields: tree
            .fields
            .iter()
            .map(|f| {
                let ty = func::value_type(f.ty.0);
                Field {
                    name: f.name.name.clone(),
                    ty,
                    owner: match &f.visibility {
                        Visibility::Public => None,
                        Visibility::Private(o) => Some(party(tree, &o.name)),
                    },
                    init: match f.init.as_ref().map(|e| &e.kind) {
                        Some(ExprKind::Int(n)) => Value::U64(*n),
                        Some(ExprKind::Bool(b)) => Value::Bool(*b),
                        Some(ExprKind::Bytes32(b)) => Value::Bytes32(*b),
                        Some(ExprKind::Name(n)) => Value::Party(party(tree, n)),
                        _ => ty.zero(),
                    },
                }
            })
            .collect(),
        functions,
        budgets: Budgets {
            fuel_per_call: fuel_budget(fuel),
            memory_pages: u32::try_from(pages).unwrap_or(u32::MAX),
        },
    };
    if let Err(e) = abi.validate() {
        diags.push(internal(tree, format!("invalid ABI: {e}")));
        return None;
    }

    let bytes = assemble(tree, &bodies, &data.bytes, base, pages, &abi, &programs);
    if bytes.len() > MAX_MODULE_BYTES {
        diags.push(
            Diagnostic::error(
                "E0310",
                format!(
                    "the module is {} bytes, above the sandbox's limit of {MAX_MODULE_BYTES}",
                    bytes.len()
                ),
                tree.name.span.clone(),
                "this contract",
            )
            .with_hint("split the contract, or shorten its reasons and literals"),
        );
        return None;
    }
    let mut validator = wasmparser::Validator::new_with_features(FEATURES);
    if let Err(e) = validator.validate_all(&bytes) {
        diags.push(internal(tree, format!("emitted invalid WASM: {e}")));
        return None;
    }
    match Artifact::from_bytes(bytes) {
        Ok(a) => Some(a),
        Err(e) => {
            diags.push(internal(
                tree,
                format!("emitted an unreadable artifact: {e}"),
            ));
            None
        }
    }
}

/// The WASM the compiler may emit: the sandbox's set (docs/abi.md, "Allowed
/// WASM"), and no floats.
pub const FEATURES: wasmparser::WasmFeatures = wasmparser::WasmFeatures::MUTABLE_GLOBAL
    .union(wasmparser::WasmFeatures::MULTI_VALUE)
    .union(wasmparser::WasmFeatures::SIGN_EXTENSION)
    .union(wasmparser::WasmFeatures::BULK_MEMORY_OPT);

/// The fuel budget for a contract whose most expensive part can use at most
/// `bound` fuel: twice the bound (room for a wasmtime cost model that
/// charges more than one unit for some operator), at least
/// [`MIN_FUEL_BUDGET`], rounded up to a thousand.
fn fuel_budget(bound: u64) -> u64 {
    bound
        .saturating_mul(2)
        .max(MIN_FUEL_BUDGET)
        .div_ceil(1000)
        .saturating_mul(1000)
}

fn party(tree: &Contract, name: &str) -> u32 {
    tree.parties
        .iter()
        .position(|p| p.name == name)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(0)
}

fn assemble(
    tree: &Contract,
    bodies: &[(Body, Option<Body>)],
    data: &[u8],
    base: u32,
    pages: u64,
    abi: &Abi,
    programs: &[Program],
) -> Vec<u8> {
    let parts = || bodies.iter().flat_map(|(p, w)| std::iter::once(p).chain(w));
    // The imports used, renumbered densely in ABI order.
    let used: BTreeSet<u32> = parts()
        .flat_map(|b| &b.code)
        .filter_map(|i| match i {
            Instruction::Call(c) => Some(*c),
            _ => None,
        })
        .collect();
    let mut remap = [u32::MAX; IMPORTS.len()];
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    types.ty().function([], []);
    for (n, &c) in used.iter().enumerate() {
        let (name, params, results) = IMPORTS[c as usize];
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
        imports.import(HOST_MODULE, name, EntityType::Function(n as u32 + 1));
        remap[c as usize] = n as u32;
    }
    let first = used.len() as u32;

    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut index = first;
    for (f, (public, witness)) in tree.functions.iter().zip(bodies) {
        for (prefix, body) in [("call.", Some(public)), ("witness.", witness.as_ref())] {
            let Some(body) = body else { continue };
            functions.function(0);
            exports.export(&format!("{prefix}{}", f.name.name), ExportKind::Func, index);
            index += 1;
            let mut wasm = WasmFunction::new_with_locals_types(body.locals.iter().copied());
            let mut fixups = body.scratch_fixups.iter().peekable();
            for (at, i) in body.code.iter().enumerate() {
                let patched = match i {
                    Instruction::Call(c) => Instruction::Call(remap[*c as usize]),
                    Instruction::I32Const(rel) if fixups.next_if_eq(&&at).is_some() => {
                        Instruction::I32Const(rel.wrapping_add(base as i32))
                    }
                    other => other.clone(),
                };
                wasm.instruction(&patched);
            }
            wasm.instruction(&Instruction::End);
            code.function(&wasm);
        }
    }
    exports.export("memory", ExportKind::Memory, 0);
    let mut memory = MemorySection::new();
    memory.memory(MemoryType {
        minimum: pages,
        maximum: Some(pages),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });

    let mut module = Module::new();
    module.section(&types);
    if !used.is_empty() {
        module.section(&imports);
    }
    module.section(&functions);
    module.section(&memory);
    module.section(&exports);
    module.section(&code);
    if !data.is_empty() {
        let mut d = DataSection::new();
        d.active(0, &ConstExpr::i32_const(0), data.iter().copied());
        module.section(&d);
    }
    module.section(&CustomSection {
        name: ABI_SECTION.into(),
        data: abi.encode().into(),
    });
    module.section(&CustomSection {
        name: PROGRAMS_SECTION.into(),
        data: encode_programs(programs).into(),
    });
    module.finish()
}
