//! Loading a built contract ([`Artifact`]) into the sandbox: the ABI the
//! sandbox derives from its sections, calls through it (public and witness
//! parts), the cached variant, and refusal when the sections disagree with
//! each other or with the code.
//!
//! The artifact is built by hand: the code of `tests/modules/vault.wat`, with
//! a `sotto.abi` section from [`Abi::encode`] and a `sotto.programs` section
//! from [`encode_programs`], appended as wasm-encoder [`CustomSection`]s.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::borrow::Cow;
use std::path::PathBuf;

use sotto_circuits::{LinExpr, Program, ProgramBuilder, RangeBits};
use sotto_contracts::abi::{
    ABI_SECTION, Abi, Budgets, Circuit, Field, Function, PROGRAMS_SECTION, Param, Reveal, VarRole,
};
use sotto_contracts::artifact::encode_programs;
use sotto_contracts::{Artifact, ArtifactError};
use sotto_engine::sandbox::{
    CacheOutcome, CallInput, ExportRefusal, FieldAbi, FunctionAbi, LoadError, Mode, ModuleAbi,
    ModuleCache, Sandbox, SandboxConfig, Value, ValueType,
};
use wasm_encoder::{CustomSection, Section as _};

const VAULT: &str = include_str!("modules/vault.wat");

/// The vault's ABI (see modules/vault.wat).
fn vault_abi() -> Abi {
    let param = |name: &str, private| Param {
        name: name.to_owned(),
        ty: ValueType::U64,
        private,
    };
    Abi {
        name: "vault".to_owned(),
        parties: vec!["alice".to_owned(), "bob".to_owned()],
        fields: vec![
            Field {
                name: "count".to_owned(),
                ty: ValueType::U64,
                owner: None,
                init: Value::U64(5),
            },
            Field {
                name: "secret".to_owned(),
                ty: ValueType::U64,
                owner: Some(0),
                init: Value::U64(7),
            },
            Field {
                name: "holder".to_owned(),
                ty: ValueType::Party,
                owner: None,
                init: Value::Party(1),
            },
        ],
        functions: vec![
            Function {
                name: "pay".to_owned(),
                caller: 0,
                params: vec![param("amount", false)],
                reveals: vec![],
                circuit: None,
            },
            Function {
                name: "stash".to_owned(),
                caller: 0,
                params: vec![param("x", true), param("note", false)],
                reveals: vec![Reveal {
                    name: "x".to_owned(),
                    ty: ValueType::U64,
                    public_input: 0,
                }],
                circuit: Some(Circuit {
                    program: 0,
                    vars: vec![VarRole::Param(0), VarRole::Field(1), VarRole::NewField(1)],
                }),
            },
        ],
        budgets: Budgets {
            fuel_per_call: 100_000,
            memory_pages: 1,
        },
    }
}

/// `stash`'s program: `new = old + x`, and `x` equals public input 0; `x`
/// and `new` proven in range, `old` already proven when it was stored.
fn stash_program() -> Program {
    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    let old = b.proven_var("secret", RangeBits::B64);
    let new = b.var("secret'");
    let revealed = b.public("x");
    b.range(x, RangeBits::B64)
        .range(new, RangeBits::B64)
        .linear(LinExpr::term(new).plus(-1, old).plus(-1, x))
        .equals_public(x, revealed);
    b.build().unwrap()
}

/// `code` (WAT) with the two custom sections appended.
fn build(code: &str, abi: &[u8], programs: &[u8]) -> Vec<u8> {
    let mut bytes = wat::parse_str(code).unwrap();
    for (name, data) in [(ABI_SECTION, abi), (PROGRAMS_SECTION, programs)] {
        CustomSection {
            name: Cow::Borrowed(name),
            data: Cow::Borrowed(data),
        }
        .append_to(&mut bytes);
    }
    bytes
}

fn vault_bytes(abi: &Abi) -> Vec<u8> {
    build(VAULT, &abi.encode(), &encode_programs(&[stash_program()]))
}

fn vault() -> Artifact {
    Artifact::from_bytes(vault_bytes(&vault_abi())).unwrap()
}

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default()).unwrap()
}

fn input(args: Vec<Value>, mode: Mode) -> CallInput {
    CallInput {
        fields: vec![Value::U64(5), Value::Party(1)],
        args,
        allocation: vec![100, 100],
        now: 0,
        mode,
    }
}

#[test]
fn the_module_abi_is_the_projection_of_the_contract_abi() {
    let artifact = vault();
    let abi = ModuleAbi::from_contract(artifact.abi(), artifact.programs()).unwrap();
    let expected = ModuleAbi {
        parties: 2,
        fields: vec![
            FieldAbi {
                ty: ValueType::U64,
                private: false,
            },
            FieldAbi {
                ty: ValueType::U64,
                private: true,
            },
            FieldAbi {
                ty: ValueType::Party,
                private: false,
            },
        ],
        functions: vec![
            FunctionAbi {
                name: "pay".to_owned(),
                args: vec![ValueType::U64],
                public_inputs: 0,
            },
            FunctionAbi {
                name: "stash".to_owned(),
                // `note`, then the revealed `x`; the private `x` is not an argument.
                args: vec![ValueType::U64, ValueType::U64],
                public_inputs: 1,
            },
        ],
        budgets: sotto_engine::sandbox::Budgets {
            fuel_per_call: 100_000,
            memory_pages: 1,
        },
    };
    assert_eq!(abi, expected);
}

#[test]
fn a_circuit_without_its_program_is_an_invalid_abi() {
    let err = ModuleAbi::from_contract(&vault_abi(), &[]).unwrap_err();
    assert!(
        matches!(&err, LoadError::InvalidAbi { reason } if reason.contains("`stash` names program 0")),
        "{err:?}"
    );
}

#[test]
fn a_loaded_artifact_runs_its_public_and_witness_parts() {
    let sandbox = sandbox();
    let artifact = vault();
    let module = sandbox.load_artifact(&artifact).unwrap();
    assert_eq!(module.id(), artifact.id());
    assert!(module.has_witness("stash"));
    assert!(!module.has_witness("pay"));

    let out = sandbox
        .call(&module, "pay", input(vec![Value::U64(30)], Mode::Public))
        .unwrap();
    assert_eq!(out.fields, vec![Value::U64(6), Value::Party(1)]);
    assert_eq!(out.live, vec![70, 130]);

    // Witness part: x = 4, old secret = 7; the reveal's argument is not
    // known yet and is 0.
    let witness = sandbox
        .call(
            &module,
            "stash",
            input(
                vec![Value::U64(1), Value::U64(0)],
                Mode::Witness {
                    private: vec![4, 7, 0],
                },
            ),
        )
        .unwrap();
    assert_eq!(witness.private, Some(vec![4, 7, 11]));
    assert_eq!(witness.public_inputs, vec![4]);
    // Public part, with the revealed x from public input 0.
    let public = sandbox
        .call(
            &module,
            "stash",
            input(vec![Value::U64(1), Value::U64(4)], Mode::Public),
        )
        .unwrap();
    assert_eq!(public.fields, vec![Value::U64(10), Value::Party(1)]);
    assert_eq!(public.private, None);
}

#[test]
fn the_cached_variant_hits_after_a_miss() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("artifact-cache-{}", std::process::id()));
    let _ignored = std::fs::remove_dir_all(&dir);
    let cache = ModuleCache::open(&dir.join("modules")).unwrap();
    let sandbox = sandbox();
    let artifact = vault();
    let (_, first) = sandbox.load_artifact_cached(&artifact, &cache).unwrap();
    assert!(
        matches!(first, CacheOutcome::Miss { stored: Ok(()) }),
        "{first:?}"
    );
    let (module, second) = sandbox.load_artifact_cached(&artifact, &cache).unwrap();
    assert!(matches!(second, CacheOutcome::Hit), "{second:?}");
    let out = sandbox
        .call(&module, "pay", input(vec![Value::U64(1)], Mode::Public))
        .unwrap();
    assert_eq!(out.live, vec![99, 101]);
    let _ignored = std::fs::remove_dir_all(&dir);
}

/// A way in which an artifact's parts disagree, and how that is refused.
enum Refusal {
    /// [`Artifact::from_bytes`] refuses it: the sections disagree.
    Read(fn(&ArtifactError) -> bool),
    /// The artifact reads, but [`Sandbox::load_artifact`] refuses the code.
    Load(fn(&LoadError) -> bool),
}

/// Every disagreement: a name, the ABI, the programs, the code, the refusal.
fn disagreements() -> Vec<(&'static str, Abi, Vec<Program>, String, Refusal)> {
    let program = || vec![stash_program()];
    let code = VAULT.to_owned();
    let mut reveal_out_of_range = vault_abi();
    reveal_out_of_range.functions[1].reveals[0].public_input = 1;
    let mut missing_program = vault_abi();
    if let Some(c) = &mut missing_program.functions[1].circuit {
        c.program = 1;
    }
    let mut roles = vault_abi();
    if let Some(c) = &mut roles.functions[1].circuit {
        c.vars.pop();
    }
    let mut reveal_without_circuit = vault_abi();
    reveal_without_circuit.functions[0].reveals =
        reveal_without_circuit.functions[1].reveals.clone();
    let mut renamed = vault_abi();
    renamed.functions[0].name = "pay_bob".to_owned();
    let mut extra = vault_abi();
    extra.functions.push(Function {
        name: "settle".to_owned(),
        caller: 1,
        params: vec![],
        reveals: vec![],
        circuit: None,
    });
    vec![
        (
            "a reveal names a public input the program lacks",
            reveal_out_of_range,
            program(),
            code.clone(),
            Refusal::Read(
                |e| matches!(e, ArtifactError::Mismatch { function, .. } if function == "stash"),
            ),
        ),
        (
            "a circuit names a program that is not there",
            missing_program,
            program(),
            code.clone(),
            Refusal::Read(
                |e| matches!(e, ArtifactError::Mismatch { function, .. } if function == "stash"),
            ),
        ),
        (
            "a circuit has fewer roles than its program has variables",
            roles,
            program(),
            code.clone(),
            Refusal::Read(
                |e| matches!(e, ArtifactError::Mismatch { function, .. } if function == "stash"),
            ),
        ),
        (
            "a program belongs to no function",
            vault_abi(),
            vec![stash_program(), stash_program()],
            code.clone(),
            Refusal::Read(|e| matches!(e, ArtifactError::Mismatch { .. })),
        ),
        (
            "a function reveals without a circuit",
            reveal_without_circuit,
            program(),
            code.clone(),
            Refusal::Read(
                |e| matches!(e, ArtifactError::Mismatch { function, .. } if function == "pay"),
            ),
        ),
        (
            "the code exports a function the ABI does not name",
            renamed,
            program(),
            code.clone(),
            Refusal::Load(
                |e| matches!(e, LoadError::ForbiddenExport { name, reason: ExportRefusal::NotInAbi } if name == "call.pay"),
            ),
        ),
        (
            "the ABI names a function the code does not export",
            extra,
            program(),
            code,
            Refusal::Load(
                |e| matches!(e, LoadError::MissingExport { name } if name == "call.settle"),
            ),
        ),
        (
            "the code's memory exceeds the ABI's budget",
            vault_abi(),
            program(),
            VAULT.replacen(
                "(func (export \"call.pay\")",
                "(memory (export \"memory\") 2) (func (export \"call.pay\")",
                1,
            ),
            Refusal::Load(|e| {
                matches!(
                    e,
                    LoadError::MemoryTooLarge {
                        initial_pages: 2,
                        budget_pages: 1
                    }
                )
            }),
        ),
    ]
}

#[test]
fn artifacts_whose_parts_disagree_are_refused() {
    let sandbox = sandbox();
    for (name, abi, programs, code, refusal) in disagreements() {
        let bytes = build(&code, &abi.encode(), &encode_programs(&programs));
        let read = Artifact::from_bytes(bytes);
        match refusal {
            Refusal::Read(expected) => {
                let err = read.unwrap_err();
                assert!(expected(&err), "{name}: {err:?}");
            }
            Refusal::Load(expected) => {
                let artifact = read.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let err = sandbox.load_artifact(&artifact).unwrap_err();
                assert!(expected(&err), "{name}: {err:?}");
            }
        }
    }
}
