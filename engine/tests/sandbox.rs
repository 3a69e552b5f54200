//! The sandbox end to end: well-behaved modules with exact outputs,
//! determinism across sandboxes and processes, and the hostile-module suite
//! (every case contained with its typed error, the sandbox still healthy
//! afterwards).
//!
//! Well-behaved modules live in `tests/modules/*.wat`; every hostile case is
//! one row of [`hostile_cases`].
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use sha2::{Digest as _, Sha256};
use sotto_engine::sandbox::{
    CallError, CallInput, CallOutput, ExportRefusal, FloatSite, HostCallError, HostCallReason,
    ImportRefusal, LoadError, LoadedModule, MAX_MODULE_BYTES, Mode, ModuleAbi, Sandbox,
    SandboxConfig, Value, ValueType, encode_state, import_names, pointer_imports,
};

mod common;
use common::{FUEL, HASH, PAGES, PAYMENT, SPIN, WITNESS, abi, wasm};

fn input(args: Vec<Value>) -> CallInput {
    sotto_engine::fuzzing::test_input(args, Mode::Public)
}

fn payment_abi() -> ModuleAbi {
    abi(&[
        ("payment", &[ValueType::U64, ValueType::Party], 1),
        ("settle", &[], 0),
    ])
}

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default()).unwrap()
}

/// The call every hostile case is followed by, to show the sandbox still
/// works.
fn healthy_payment(sandbox: &Sandbox, module: &LoadedModule) {
    let out = sandbox
        .call(
            module,
            "payment",
            input(vec![Value::U64(30), Value::Party(1)]),
        )
        .unwrap();
    assert_eq!(out.live, vec![70, 80]);
}

#[test]
fn payment_moves_funds_and_counts() {
    let sandbox = sandbox();
    let module = sandbox.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    let out = sandbox
        .call(
            &module,
            "payment",
            input(vec![Value::U64(30), Value::Party(1)]),
        )
        .unwrap();
    let expected = CallOutput {
        fields: vec![
            Value::U64(11),
            Value::Bool(false),
            Value::Party(0),
            Value::Bytes32([0; 32]),
        ],
        live: vec![70, 80],
        signed: vec![70, 80],
        awaited: Some(1),
        finished: false,
        public_inputs: vec![30],
        private: None,
        fuel_used: out.fuel_used,
    };
    assert_eq!(out, expected);
    // Golden: fuel is consensus-relevant, a change here is a protocol change.
    assert_eq!(out.fuel_used, PAYMENT_FUEL, "fuel of `payment` changed");
    let mut state = vec![1];
    state.extend_from_slice(&11u64.to_le_bytes());
    state.push(0);
    state.extend_from_slice(&0u32.to_le_bytes());
    state.extend_from_slice(&[0; 32]);
    assert_eq!(encode_state(module.abi(), &out.fields).unwrap(), state);
}

/// Fuel of `payment(30, 1)`: 8 host calls plus the instructions around them.
const PAYMENT_FUEL: u64 = 202;

#[test]
fn settle_signs_silent_transfer_and_finishes() {
    let sandbox = sandbox();
    let module = sandbox.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    let out = sandbox.call(&module, "settle", input(vec![])).unwrap();
    assert_eq!(out.live, vec![100, 50]);
    assert_eq!(out.signed, vec![101, 49]);
    assert_eq!(out.awaited, Some(0));
    assert!(out.finished);
    assert_eq!(out.fields[0], Value::U64(50 + 1234));
    assert_eq!(out.fields[1], Value::Bool(true));
    assert!(out.public_inputs.is_empty());
}

#[test]
fn hashes_and_bytes32() {
    let sandbox = sandbox();
    let abi = abi(&[
        ("sha", &[ValueType::Bytes32], 0),
        ("keccak", &[], 0),
        ("rehash", &[], 0),
    ]);
    let module = sandbox.load(&wasm(HASH), &abi).unwrap();

    let out = sandbox
        .call(&module, "sha", input(vec![Value::Bytes32([7; 32])]))
        .unwrap();
    let sha: [u8; 32] = Sha256::digest([7u8; 32]).into();
    assert_eq!(out.fields[3], Value::Bytes32(sha));

    let out = sandbox.call(&module, "keccak", input(vec![])).unwrap();
    // keccak256("abc"), the Ethereum flavour (not SHA3-256).
    let keccak_abc = [
        0x4e, 0x03, 0x65, 0x7a, 0xea, 0x45, 0xa9, 0x4f, 0xc7, 0xd4, 0x7b, 0xa8, 0x26, 0xc8, 0xd6,
        0x67, 0xc0, 0xd1, 0xe6, 0xe3, 0x3a, 0x64, 0xa0, 0x36, 0xec, 0x44, 0xf5, 0x8f, 0xa1, 0x2d,
        0x6c, 0x45,
    ];
    assert_eq!(out.fields[3], Value::Bytes32(keccak_abc));

    let mut start = input(vec![]);
    start.fields[3] = Value::Bytes32([9; 32]);
    let out = sandbox.call(&module, "rehash", start).unwrap();
    let sha: [u8; 32] = Sha256::digest([9u8; 32]).into();
    assert_eq!(out.fields[3], Value::Bytes32(sha));
}

#[test]
fn witness_part_sees_private_values() {
    let sandbox = sandbox();
    let module = sandbox
        .load(&wasm(WITNESS), &abi(&[("deposit", &[ValueType::U64], 0)]))
        .unwrap();
    assert!(module.has_witness("deposit"));

    let public = sandbox
        .call(&module, "deposit", input(vec![Value::U64(3)]))
        .unwrap();
    assert_eq!(public.fields[0], Value::U64(11));
    assert_eq!(public.private, None);

    let mut witness = input(vec![Value::U64(3)]);
    witness.mode = Mode::Witness { private: vec![5] };
    let out = sandbox.call(&module, "deposit", witness).unwrap();
    assert_eq!(out.private, Some(vec![8]));
}

#[test]
fn witness_private_index_is_checked() {
    let sandbox = sandbox();
    let module = sandbox
        .load(&wasm(WITNESS), &abi(&[("deposit", &[ValueType::U64], 0)]))
        .unwrap();
    let mut witness = input(vec![Value::U64(3)]);
    witness.mode = Mode::Witness { private: vec![] };
    assert_eq!(
        sandbox.call(&module, "deposit", witness),
        Err(CallError::HostCall(HostCallError {
            import: "private_get",
            argument: Some("var"),
            reason: HostCallReason::IndexOutOfRange { index: 0, count: 0 },
        }))
    );
}

#[test]
fn concurrent_calls_share_one_sandbox() {
    let sandbox = sandbox();
    let module = sandbox
        .load(&wasm(SPIN), &abi(&[("spin", &[ValueType::U64], 0)]))
        .unwrap();
    let expected = sandbox
        .call(&module, "spin", input(vec![Value::U64(500)]))
        .unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| sandbox.call(&module, "spin", input(vec![Value::U64(500)]))))
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap().unwrap(), expected);
        }
    });
}

#[test]
fn witness_mode_needs_witness_export() {
    let sandbox = sandbox();
    let module = sandbox.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    let mut witness = input(vec![]);
    witness.mode = Mode::Witness { private: vec![] };
    assert_eq!(
        sandbox.call(&module, "settle", witness),
        Err(CallError::UnknownFunction {
            name: "witness.settle".to_owned()
        })
    );
    assert_eq!(
        sandbox.call(&module, "nope", input(vec![])),
        Err(CallError::UnknownFunction {
            name: "nope".to_owned()
        })
    );
}

#[test]
fn module_from_another_sandbox_is_refused() {
    let (a, b) = (sandbox(), sandbox());
    let module = a.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    assert_eq!(
        b.call(&module, "settle", input(vec![])),
        Err(CallError::ForeignModule)
    );
}

#[test]
fn contract_id_is_sha256_of_bytes() {
    let bytes = wasm(PAYMENT);
    let module = sandbox().load(&bytes, &payment_abi()).unwrap();
    assert_eq!(module.id(), <[u8; 32]>::from(Sha256::digest(&bytes)));
}

/// Runs the determinism workload; returns the encoded state and the fuel.
fn spin_once(sandbox: &Sandbox) -> (Vec<u8>, u64) {
    let module = sandbox
        .load(&wasm(SPIN), &abi(&[("spin", &[ValueType::U64], 0)]))
        .unwrap();
    let out = sandbox
        .call(&module, "spin", input(vec![Value::U64(5_000)]))
        .unwrap();
    (
        encode_state(module.abi(), &out.fields).unwrap(),
        out.fuel_used,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CHILD_ENV: &str = "SOTTO_SANDBOX_DETERMINISM_CHILD";
const CHILD_MARK: &str = "SOTTO-DETERMINISM";

#[test]
fn determinism_across_sandboxes_and_processes() {
    let first = spin_once(&sandbox());
    let second = spin_once(&sandbox());
    assert_eq!(first, second);
    // The same call on the same sandbox again, after other calls.
    let sandbox = sandbox();
    spin_once(&sandbox);
    assert_eq!(spin_once(&sandbox), first);

    // And in a separate process: this test binary, running only
    // `determinism_child_process` with the child variable set.
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "determinism_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(CHILD_MARK).map(|(_, result)| result))
        .unwrap_or_else(|| panic!("child printed no result: {stdout}"));
    assert_eq!(line, format!(" state={} fuel={}", hex(&first.0), first.1));
}

/// The child half of the test above; does nothing unless spawned by it.
#[test]
fn determinism_child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let (state, fuel) = spin_once(&sandbox());
    println!("{CHILD_MARK} state={} fuel={fuel}", hex(&state));
}

#[test]
fn budgets_above_node_caps_are_refused() {
    let sandbox = Sandbox::new(SandboxConfig {
        max_fuel_per_call: FUEL - 1,
        ..SandboxConfig::default()
    })
    .unwrap();
    assert!(matches!(
        sandbox.load(&wasm(PAYMENT), &payment_abi()),
        Err(LoadError::BudgetAboveCap { budget: "fuel", .. })
    ));
    let sandbox = Sandbox::new(SandboxConfig {
        max_memory_pages: PAGES - 1,
        ..SandboxConfig::default()
    })
    .unwrap();
    assert!(matches!(
        sandbox.load(&wasm(PAYMENT), &payment_abi()),
        Err(LoadError::BudgetAboveCap {
            budget: "memory pages",
            ..
        })
    ));
}

#[test]
fn invalid_inputs_are_typed() {
    use sotto_engine::sandbox::InputError;
    let sandbox = sandbox();
    let module = sandbox.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    let call = |i: CallInput| sandbox.call(&module, "payment", i);
    let good = || input(vec![Value::U64(1), Value::Party(1)]);

    let mut i = good();
    i.args.pop();
    assert!(matches!(
        call(i),
        Err(CallError::InvalidInput(InputError::ArgCount { .. }))
    ));
    let mut i = good();
    i.args[1] = Value::Party(2);
    assert!(matches!(
        call(i),
        Err(CallError::InvalidInput(InputError::ArgType {
            index: 1,
            ..
        }))
    ));
    let mut i = good();
    i.allocation.push(0);
    assert!(matches!(
        call(i),
        Err(CallError::InvalidInput(InputError::AllocationLength { .. }))
    ));
    let mut i = good();
    i.allocation = vec![u64::MAX, 1];
    assert!(matches!(
        call(i),
        Err(CallError::InvalidInput(InputError::AllocationOverflow))
    ));
    let mut i = good();
    i.fields[1] = Value::U64(1);
    assert!(matches!(
        call(i),
        Err(CallError::InvalidInput(InputError::Fields(_)))
    ));
}

// ---------------------------------------------------------------------------
// The hostile-module suite.
// ---------------------------------------------------------------------------

/// Every import of docs/abi.md, so hostile bodies can call any of them.
const PRELUDE: &str = r#"
  (import "sotto" "field_get" (func $field_get (param i32) (result i64)))
  (import "sotto" "field_set" (func $field_set (param i32 i64)))
  (import "sotto" "field_get_bytes" (func $field_get_bytes (param i32 i32)))
  (import "sotto" "field_set_bytes" (func $field_set_bytes (param i32 i32)))
  (import "sotto" "arg_get" (func $arg_get (param i32) (result i64)))
  (import "sotto" "arg_get_bytes" (func $arg_get_bytes (param i32 i32)))
  (import "sotto" "balance" (func $balance (param i32) (result i64)))
  (import "sotto" "transfer" (func $transfer (param i32 i32 i64)))
  (import "sotto" "now" (func $now (result i64)))
  (import "sotto" "hash" (func $hash (param i32 i32 i32 i32)))
  (import "sotto" "await_party" (func $await_party (param i32)))
  (import "sotto" "silent_transfer" (func $silent_transfer (param i32 i32 i64)))
  (import "sotto" "finish" (func $finish))
  (import "sotto" "abort" (func $abort (param i32 i32)))
  (import "sotto" "public_input" (func $public_input (param i32 i64)))
  (import "sotto" "private_get" (func $private_get (param i32) (result i64)))
  (import "sotto" "private_set" (func $private_set (param i32 i64)))
"#;

/// A module with every import, one exported page of memory (growable up to
/// the budget), `extra` items, and `call.f` with `body`.
fn module(extra: &str, body: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module {PRELUDE} (memory (export "memory") 1) {extra} (func (export "call.f") {body}))"#
    ))
}

/// The ABI of a hostile module: one function `f` with one bytes32 argument
/// and one public input.
fn f_abi() -> ModuleAbi {
    abi(&[("f", &[ValueType::Bytes32], 1)])
}

fn f_input() -> CallInput {
    input(vec![Value::Bytes32([1; 32])])
}

type Check = Box<dyn Fn(&CallError) -> bool>;

enum Expect {
    /// `Sandbox::load` refuses with an error satisfying the check.
    Load(fn(&LoadError) -> bool),
    /// Loading succeeds; calling `f` fails with an error satisfying the check.
    Call(Check),
}

struct Case {
    name: String,
    module: Vec<u8>,
    abi: ModuleAbi,
    expect: Expect,
}

fn load(name: &str, module: Vec<u8>, check: fn(&LoadError) -> bool) -> Case {
    Case {
        name: name.to_owned(),
        module,
        abi: f_abi(),
        expect: Expect::Load(check),
    }
}

fn call(name: &str, module: Vec<u8>, check: impl Fn(&CallError) -> bool + 'static) -> Case {
    Case {
        name: name.to_owned(),
        module,
        abi: f_abi(),
        expect: Expect::Call(Box::new(check)),
    }
}

/// A host-call refusal by `import` of `argument` for `reason`.
fn host(
    import: &'static str,
    argument: Option<&'static str>,
    reason: fn(&HostCallReason) -> bool,
) -> Check {
    Box::new(move |e| {
        matches!(e, CallError::HostCall(HostCallError { import: i, argument: a, reason: r })
            if *i == import && *a == argument && reason(r))
    })
}

fn oob(r: &HostCallReason) -> bool {
    matches!(r, HostCallReason::OutOfBounds { .. })
}

fn index(r: &HostCallReason) -> bool {
    matches!(r, HostCallReason::IndexOutOfRange { .. })
}

/// Out-of-bounds pointer cases: `(import, argument, body)`. Every
/// pointer-taking import appears (checked by `hostile_suite_covers_every_pointer_import`).
const OUT_OF_BOUNDS: &[(&str, &str, &str)] = &[
    (
        "field_get_bytes",
        "out",
        "(call $field_get_bytes (i32.const 4) (i32.const 65535))",
    ),
    (
        "field_get_bytes",
        "out",
        "(call $field_get_bytes (i32.const 4) (i32.const -1))",
    ),
    (
        "field_set_bytes",
        "ptr",
        "(call $field_set_bytes (i32.const 4) (i32.const 65505))",
    ),
    (
        "field_set_bytes",
        "ptr",
        "(call $field_set_bytes (i32.const 4) (i32.const -16))",
    ),
    (
        "arg_get_bytes",
        "out",
        "(call $arg_get_bytes (i32.const 0) (i32.const 65533))",
    ),
    (
        "arg_get_bytes",
        "out",
        "(call $arg_get_bytes (i32.const 0) (i32.const 0x7fffffff))",
    ),
    (
        "hash",
        "len",
        "(call $hash (i32.const 0) (i32.const -16) (i32.const 32) (i32.const 0))",
    ),
    (
        "hash",
        "len",
        "(call $hash (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 0))",
    ),
    (
        "hash",
        "len",
        "(call $hash (i32.const 1) (i32.const 65535) (i32.const 2) (i32.const 0))",
    ),
    (
        "hash",
        "out",
        "(call $hash (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65505))",
    ),
    (
        "abort",
        "ptr",
        "(call $abort (i32.const -1) (i32.const 10))",
    ),
    (
        "abort",
        "ptr",
        "(call $abort (i32.const 65530) (i32.const 10))",
    ),
];

/// An invalid index or value: `(name, body, import, argument, reason)`.
type Refusal = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    fn(&HostCallReason) -> bool,
);

fn hostile_cases() -> Vec<Case> {
    let mut header_only = b"\0asm\x01\0\0\0".to_vec();
    header_only.resize(MAX_MODULE_BYTES + 1, 0);
    let payment = wasm(PAYMENT);
    let mut cases = vec![
        // Not a module.
        load("not_wasm", b"definitely not wasm".to_vec(), |e| {
            *e == LoadError::NotWasm
        }),
        load("empty", vec![], |e| *e == LoadError::NotWasm),
        load("truncated_header", b"\0as".to_vec(), |e| {
            *e == LoadError::Truncated { offset: 3 }
        }),
        load("truncated", payment[..payment.len() / 2].to_vec(), |e| {
            matches!(e, LoadError::Truncated { .. })
        }),
        load("component", b"\0asm\x0d\0\x01\0".to_vec(), |e| {
            matches!(e, LoadError::UnsupportedVersion { version: 0x1_000d })
        }),
        load(
            "over_size_limit",
            header_only,
            |e| matches!(e, LoadError::TooLarge { size, .. } if *size == MAX_MODULE_BYTES + 1),
        ),
        load(
            "garbage_section",
            b"\0asm\x01\0\0\0\x01\x03\xff\xff\xff".to_vec(),
            |e| matches!(e, LoadError::Invalid { .. }),
        ),
        // Imports.
        load(
            "unknown_import",
            wasm(r#"(module (import "sotto" "steal" (func)) (func (export "call.f")))"#),
            |e| matches!(e, LoadError::UnknownImport { index: 0, name, reason: ImportRefusal::UnknownName, .. } if name == "steal"),
        ),
        load(
            "import_from_other_module",
            wasm(r#"(module (import "env" "now" (func (result i64))) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::UnknownImport {
                        reason: ImportRefusal::UnknownModule,
                        ..
                    }
                )
            },
        ),
        load(
            "import_wrong_signature",
            wasm(r#"(module (import "sotto" "now" (func (result i32))) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::UnknownImport {
                        reason: ImportRefusal::WrongSignature { .. },
                        ..
                    }
                )
            },
        ),
        load(
            "import_memory",
            wasm(r#"(module (import "sotto" "memory" (memory 1)) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::UnknownImport {
                        reason: ImportRefusal::NotAFunction,
                        ..
                    }
                )
            },
        ),
        load(
            "import_global",
            wasm(r#"(module (import "sotto" "g" (global i64)) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::UnknownImport {
                        reason: ImportRefusal::NotAFunction,
                        ..
                    }
                )
            },
        ),
        // Start function.
        load("start_function", module("(func $s) (start $s)", ""), |e| {
            matches!(e, LoadError::StartFunction { function: 17 })
        }),
        // Floats.
        load(
            "float_add",
            module("", "(drop (f64.add (f64.const 1) (f64.const 2)))"),
            |e| {
                matches!(
                    e,
                    LoadError::Float {
                        site: FloatSite::Instruction { function: 17, .. }
                    }
                )
            },
        ),
        load(
            "float_conversion",
            module("", "(drop (i32.trunc_f32_s (f32.const 1)))"),
            |e| {
                matches!(
                    e,
                    LoadError::Float {
                        site: FloatSite::Instruction { function: 17, .. }
                    }
                )
            },
        ),
        load(
            "float_reinterpret",
            module("", "(drop (f64.reinterpret_i64 (i64.const 1)))"),
            |e| {
                matches!(
                    e,
                    LoadError::Float {
                        site: FloatSite::Instruction { .. }
                    }
                )
            },
        ),
        load(
            "float_block",
            module("", "(drop (block (result f32) (unreachable)))"),
            |e| {
                matches!(
                    e,
                    LoadError::Float {
                        site: FloatSite::Instruction { .. }
                    }
                )
            },
        ),
        load("float_param", module("(func $g (param f32))", ""), |e| {
            matches!(
                e,
                LoadError::Float {
                    site: FloatSite::Type { .. }
                }
            )
        }),
        load("float_local", module("", "(local f64)"), |e| {
            matches!(
                e,
                LoadError::Float {
                    site: FloatSite::Local { function: 17 }
                }
            )
        }),
        load(
            "float_global",
            module("(global f32 (f32.const 0))", ""),
            |e| {
                matches!(
                    e,
                    LoadError::Float {
                        site: FloatSite::Global { index: 0 }
                    }
                )
            },
        ),
        // Proposals outside the feature set.
        load(
            "simd",
            module("", "(drop (v128.const i32x4 0 0 0 0))"),
            |e| matches!(e, LoadError::Invalid { .. }),
        ),
        load(
            "atomics",
            module("", "(drop (i32.atomic.load (i32.const 0)))"),
            |e| matches!(e, LoadError::Invalid { .. }),
        ),
        load(
            "shared_memory",
            wasm(r#"(module (memory 1 1 shared) (func (export "call.f")))"#),
            |e| matches!(e, LoadError::Invalid { .. }),
        ),
        // Memories, tables, data.
        load(
            "two_memories",
            wasm(r#"(module (memory 1) (memory 1) (func (export "call.f")))"#),
            |e| matches!(e, LoadError::TooManyMemories { count: 2 }),
        ),
        load(
            "two_tables",
            wasm(r#"(module (table 1 funcref) (table 1 funcref) (func (export "call.f")))"#),
            |e| matches!(e, LoadError::TooManyTables { count: 2 }),
        ),
        load(
            "table_bomb",
            wasm(r#"(module (table 100000000 funcref) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::TableTooLarge {
                        initial: 100_000_000,
                        ..
                    }
                )
            },
        ),
        load(
            "memory_bomb",
            wasm(r#"(module (memory 60000) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::MemoryTooLarge {
                        initial_pages: 60_000,
                        budget_pages: PAGES
                    }
                )
            },
        ),
        load(
            "huge_data_segment",
            wasm(&format!(
                r#"(module (memory 1) (data (i32.const 0) "{}") (func (export "call.f")))"#,
                "\\00".repeat(70_000)
            )),
            |e| {
                matches!(
                    e,
                    LoadError::DataOutOfBounds {
                        segment: 0,
                        len: 70_000,
                        ..
                    }
                )
            },
        ),
        load(
            "far_data_segment",
            wasm(
                r#"(module (memory 1) (data (i32.const -16) "0123456789abcdefXYZ") (func (export "call.f")))"#,
            ),
            |e| {
                matches!(
                    e,
                    LoadError::DataOutOfBounds {
                        offset: 0xffff_fff0,
                        ..
                    }
                )
            },
        ),
        // Exports.
        load(
            "export_global",
            module(r#"(global (export "g") i32 (i32.const 0))"#, ""),
            |e| {
                matches!(
                    e,
                    LoadError::ForbiddenExport {
                        reason: ExportRefusal::UnknownName,
                        ..
                    }
                )
            },
        ),
        load(
            "export_table",
            module(r#"(table (export "t") 1 funcref)"#, ""),
            |e| {
                matches!(
                    e,
                    LoadError::ForbiddenExport {
                        reason: ExportRefusal::UnknownName,
                        ..
                    }
                )
            },
        ),
        load(
            "export_not_in_abi",
            module(r#"(func (export "call.g"))"#, ""),
            |e| {
                matches!(
                    e,
                    LoadError::ForbiddenExport {
                        reason: ExportRefusal::NotInAbi,
                        ..
                    }
                )
            },
        ),
        load(
            "export_wrong_type",
            wasm(r#"(module (func (export "call.f") (param i32)))"#),
            |e| {
                matches!(
                    e,
                    LoadError::ForbiddenExport {
                        reason: ExportRefusal::WrongType,
                        ..
                    }
                )
            },
        ),
        load(
            "memory_export_not_memory",
            wasm(r#"(module (func (export "memory")) (func (export "call.f")))"#),
            |e| {
                matches!(
                    e,
                    LoadError::ForbiddenExport {
                        reason: ExportRefusal::NotAMemory,
                        ..
                    }
                )
            },
        ),
        load(
            "missing_call_export",
            wasm("(module)"),
            |e| matches!(e, LoadError::MissingExport { name } if name == "call.f"),
        ),
        load(
            "missing_memory_export",
            wasm(
                r#"(module (import "sotto" "hash" (func (param i32 i32 i32 i32))) (memory 1) (func (export "call.f")))"#,
            ),
            |e| *e == LoadError::MissingMemoryExport { import: "hash" },
        ),
        // Resource exhaustion at run time.
        call("infinite_loop", module("", "(loop $l (br $l))"), |e| {
            matches!(e, CallError::OutOfFuel { budget: FUEL })
        }),
        call(
            "host_call_loop",
            module("", "(loop $l (drop (call $now)) (br $l))"),
            |e| matches!(e, CallError::OutOfFuel { .. }),
        ),
        call(
            "hash_until_out_of_fuel",
            module(
                "",
                "(loop $l (call $hash (i32.const 0) (i32.const 0) (i32.const 65536) (i32.const 0)) (br $l))",
            ),
            |e| matches!(e, CallError::OutOfFuel { .. }),
        ),
        call(
            "unbounded_recursion",
            module("(func $r (call $r))", "(call $r)"),
            |e| *e == CallError::StackExhausted,
        ),
        call(
            "memory_grow_until_refused",
            module(
                "",
                "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))",
            ),
            |e| {
                matches!(
                    e,
                    CallError::OutOfMemory {
                        requested_pages: 5,
                        budget_pages: PAGES
                    }
                )
            },
        ),
        call(
            "memory_grow_huge",
            module("", "(drop (memory.grow (i32.const 65535)))"),
            |e| matches!(e, CallError::OutOfMemory { .. }),
        ),
        // Plain traps.
        call("unreachable", module("", "(unreachable)"), |e| {
            *e == CallError::Trap {
                kind: "UnreachableCodeReached".to_owned(),
            }
        }),
        call(
            "load_out_of_bounds",
            module("", "(drop (i64.load (i32.const 70000)))"),
            |e| {
                *e == CallError::Trap {
                    kind: "MemoryOutOfBounds".to_owned(),
                }
            },
        ),
        call(
            "divide_by_zero",
            module("", "(drop (i64.div_u (i64.const 1) (i64.const 0)))"),
            |e| {
                *e == CallError::Trap {
                    kind: "IntegerDivisionByZero".to_owned(),
                }
            },
        ),
        // Abort.
        call(
            "abort",
            module(
                r#"(data (i32.const 0) "no way")"#,
                "(call $abort (i32.const 0) (i32.const 6))",
            ),
            |e| {
                *e == CallError::Aborted {
                    reason: "no way".to_owned(),
                }
            },
        ),
        Case {
            expect: Expect::Call(host("abort", Some("len"), |r| {
                matches!(r, HostCallReason::ReasonTooLong { len: 257, max: 256 })
            })),
            ..call(
                "abort_too_long",
                module("", "(call $abort (i32.const 0) (i32.const 257))"),
                |_| true,
            )
        },
        Case {
            expect: Expect::Call(host("abort", Some("ptr"), |r| {
                *r == HostCallReason::ReasonNotUtf8
            })),
            ..call(
                "abort_not_utf8",
                module(
                    r#"(data (i32.const 0) "\ff\fe")"#,
                    "(call $abort (i32.const 0) (i32.const 2))",
                ),
                |_| true,
            )
        },
        // Funds.
        call(
            "overdraw",
            module(
                "",
                "(call $transfer (i32.const 0) (i32.const 1) (i64.const 101))",
            ),
            |e| {
                *e == CallError::InsufficientFunds {
                    import: "transfer",
                    party: 0,
                    balance: 100,
                    amount: 101,
                }
            },
        ),
        call(
            "silent_overdraw",
            module(
                "",
                "(call $await_party (i32.const 1)) (call $transfer (i32.const 1) (i32.const 0) (i64.const 20)) (call $silent_transfer (i32.const 1) (i32.const 0) (i64.const 31))",
            ),
            |e| {
                *e == CallError::InsufficientFunds {
                    import: "silent_transfer",
                    party: 1,
                    balance: 30,
                    amount: 31,
                }
            },
        ),
        Case {
            expect: Expect::Call(host("silent_transfer", None, |r| {
                *r == HostCallReason::SilentWithoutAwait
            })),
            ..call(
                "silent_without_await",
                module(
                    "",
                    "(call $silent_transfer (i32.const 1) (i32.const 0) (i64.const 1))",
                ),
                |_| true,
            )
        },
    ];

    // Invalid indices and values: (name, body, import, argument, reason).
    let refusals: Vec<Refusal> = vec![
        (
            "transfer_from_party_2",
            "(call $transfer (i32.const 2) (i32.const 0) (i64.const 1))",
            "transfer",
            Some("from"),
            index,
        ),
        (
            "transfer_to_party_minus_1",
            "(call $transfer (i32.const 0) (i32.const -1) (i64.const 1))",
            "transfer",
            Some("to"),
            |r| {
                *r == HostCallReason::IndexOutOfRange {
                    index: u32::MAX,
                    count: 2,
                }
            },
        ),
        (
            "silent_transfer_party",
            "(call $silent_transfer (i32.const 9) (i32.const 0) (i64.const 1))",
            "silent_transfer",
            Some("from"),
            index,
        ),
        (
            "balance_party",
            "(drop (call $balance (i32.const 2)))",
            "balance",
            Some("party"),
            index,
        ),
        (
            "await_party_7",
            "(call $await_party (i32.const 7))",
            "await_party",
            Some("party"),
            index,
        ),
        (
            "field_get_99",
            "(drop (call $field_get (i32.const 99)))",
            "field_get",
            Some("field"),
            index,
        ),
        (
            "field_set_negative",
            "(call $field_set (i32.const -5) (i64.const 0))",
            "field_set",
            Some("field"),
            index,
        ),
        (
            "field_get_bytes_index",
            "(call $field_get_bytes (i32.const 5) (i32.const 0))",
            "field_get_bytes",
            Some("field"),
            index,
        ),
        (
            "field_get_private",
            "(drop (call $field_get (i32.const 2)))",
            "field_get",
            Some("field"),
            |r| *r == HostCallReason::PrivateField { field: 2 },
        ),
        (
            "field_set_private",
            "(call $field_set (i32.const 2) (i64.const 0))",
            "field_set",
            Some("field"),
            |r| *r == HostCallReason::PrivateField { field: 2 },
        ),
        (
            "bool_field_set_to_7",
            "(call $field_set (i32.const 1) (i64.const 7))",
            "field_set",
            Some("value"),
            |r| *r == HostCallReason::InvalidBool { value: 7 },
        ),
        (
            "party_field_set_to_2",
            "(call $field_set (i32.const 3) (i64.const 2))",
            "field_set",
            Some("value"),
            |r| {
                *r == HostCallReason::InvalidParty {
                    value: 2,
                    parties: 2,
                }
            },
        ),
        (
            "field_get_on_bytes32",
            "(drop (call $field_get (i32.const 4)))",
            "field_get",
            Some("field"),
            |r| {
                *r == HostCallReason::WrongType {
                    found: ValueType::Bytes32,
                }
            },
        ),
        (
            "field_set_on_bytes32",
            "(call $field_set (i32.const 4) (i64.const 0))",
            "field_set",
            Some("field"),
            |r| {
                *r == HostCallReason::WrongType {
                    found: ValueType::Bytes32,
                }
            },
        ),
        (
            "field_set_bytes_on_u64",
            "(call $field_set_bytes (i32.const 0) (i32.const 0))",
            "field_set_bytes",
            Some("field"),
            |r| {
                *r == HostCallReason::WrongType {
                    found: ValueType::U64,
                }
            },
        ),
        (
            "field_get_bytes_on_bool",
            "(call $field_get_bytes (i32.const 1) (i32.const 0))",
            "field_get_bytes",
            Some("field"),
            |r| {
                *r == HostCallReason::WrongType {
                    found: ValueType::Bool,
                }
            },
        ),
        (
            "arg_get_1",
            "(drop (call $arg_get (i32.const 1)))",
            "arg_get",
            Some("arg"),
            index,
        ),
        (
            "arg_get_on_bytes32",
            "(drop (call $arg_get (i32.const 0)))",
            "arg_get",
            Some("arg"),
            |r| {
                *r == HostCallReason::WrongType {
                    found: ValueType::Bytes32,
                }
            },
        ),
        (
            "arg_get_bytes_index",
            "(call $arg_get_bytes (i32.const 1) (i32.const 0))",
            "arg_get_bytes",
            Some("arg"),
            index,
        ),
        (
            "public_input_1",
            "(call $public_input (i32.const 1) (i64.const 0))",
            "public_input",
            Some("index"),
            index,
        ),
        (
            "hash_kind_2",
            "(call $hash (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0))",
            "hash",
            Some("kind"),
            |r| *r == HostCallReason::UnknownHashKind { kind: 2 },
        ),
        (
            "private_get_in_public_part",
            "(drop (call $private_get (i32.const 0)))",
            "private_get",
            None,
            |r| *r == HostCallReason::WitnessOnly,
        ),
        (
            "private_set_in_public_part",
            "(call $private_set (i32.const 0) (i64.const 0))",
            "private_set",
            None,
            |r| *r == HostCallReason::WitnessOnly,
        ),
    ];
    for (name, body, import, argument, reason) in refusals {
        cases.push(Case {
            expect: Expect::Call(host(import, argument, reason)),
            ..call(name, module("", body), |_| true)
        });
    }

    for (i, (import, argument, body)) in OUT_OF_BOUNDS.iter().enumerate() {
        // `import` and `argument` are 'static strs from the table.
        let (import, argument): (&'static str, &'static str) = (import, argument);
        cases.push(Case {
            expect: Expect::Call(host(import, Some(argument), oob)),
            ..call(
                &format!("out_of_bounds_{import}_{i}"),
                module("", body),
                |_| true,
            )
        });
    }
    cases
}

#[test]
fn hostile_suite_covers_every_pointer_import() {
    let mut covered: Vec<&str> = OUT_OF_BOUNDS.iter().map(|(i, _, _)| *i).collect();
    covered.dedup();
    let mut expected: Vec<&str> = pointer_imports().collect();
    covered.sort_unstable();
    expected.sort_unstable();
    assert_eq!(covered, expected);
}

#[test]
fn hostile_modules_are_contained() {
    let sandbox = sandbox();
    let healthy = sandbox.load(&wasm(PAYMENT), &payment_abi()).unwrap();
    let mut failures = Vec::new();
    for case in hostile_cases() {
        let outcome = match sandbox.load(&case.module, &case.abi) {
            Err(e) => match &case.expect {
                Expect::Load(check) if check(&e) => None,
                _ => Some(format!("load: {e:?}")),
            },
            Ok(module) => match (&case.expect, sandbox.call(&module, "f", f_input())) {
                (Expect::Call(check), Err(e)) if check(&e) => None,
                (_, result) => Some(format!("loaded; call: {result:?}")),
            },
        };
        if let Some(outcome) = outcome {
            failures.push(format!("{}: unexpected {outcome}", case.name));
        }
        // The sandbox must still work after every hostile case.
        healthy_payment(&sandbox, &healthy);
    }
    assert!(
        failures.is_empty(),
        "{} hostile cases misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_import_can_be_imported_with_its_signature() {
    // The prelude imports every name of docs/abi.md; loading proves the
    // load-time table and the linker agree on each signature.
    let names: Vec<&str> = import_names().collect();
    for name in &names {
        assert!(
            PRELUDE.contains(&format!("\"sotto\" \"{name}\"")),
            "prelude misses {name}"
        );
    }
    assert_eq!(names.len(), 17);
    sandbox().load(&module("", ""), &f_abi()).unwrap();
}
