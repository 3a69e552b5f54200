//! Fuzz target bodies for the sandbox, kept in the library so that a stable
//! test (`engine/tests/fuzz_body.rs`) runs them over the committed corpus
//! and random inputs, and `cargo fuzz` (nightly) runs them under libFuzzer.
//!
//! [`sandbox`] is a generator plus oracles. The generators:
//!
//! - **raw bytes**: the input itself, as a module;
//! - **wasm-smith**: a module built from the input by `wasm-smith`, shaped
//!   like a contract (imports only from [`sotto_imports`], exports `call.f`
//!   of type `() -> ()` and usually `memory`), and sometimes deliberately
//!   outside ABI v1 (floats, SIMD, passive segments, reference types, any
//!   import, no memory export) so that refusals are exercised too.
//!
//! The oracles:
//!
//! - loading never panics: it returns a module or a typed [`LoadError`];
//! - a module generated inside ABI v1 loads, unless a data segment lies
//!   outside the initial memory (which wasm-smith may generate and the
//!   loader rightly refuses);
//! - a call never panics and returns a [`CallOutput`] or a typed
//!   [`CallError`] that is not [`CallError::Internal`] (always a bug) nor
//!   [`CallError::Instantiation`] (the fuzzer runs one call at a time, so a
//!   pool slot is always free);
//! - a successful call conserves the allocation total in both allocations
//!   and uses at most its fuel budget;
//! - determinism: the same call again gives the identical result, fuel
//!   included;
//! - afterwards the same [`Sandbox`] still runs the known-good payment call
//!   to its known output.
//!
//! One [`Sandbox`] serves the whole process ([`fixture`]), as on a node: a
//! hostile module must not be able to break it for the next one.
//!
//! [`chanmon::chanmon`] drives the update protocol's parties through
//! arbitrary interleavings (see its module).

pub mod chanmon;

use std::sync::OnceLock;

use arbitrary::Unstructured;
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    MemorySection, MemoryType, Module, TypeSection, ValType,
};

use crate::sandbox::{
    Budgets, CallError, CallInput, CallOutput, FieldAbi, FunctionAbi, LoadError, LoadedModule,
    Mode, ModuleAbi, Sandbox, SandboxConfig, Value, ValueType,
};

/// Fuel of every fuzzed call: small, so that a generated infinite loop costs
/// microseconds, yet enough for a few hundred instructions and host calls.
pub const FUZZ_FUEL: u64 = 20_000;

/// Memory budget of the fuzzed contract, in pages.
pub const FUZZ_MEMORY_PAGES: u32 = 2;

/// Everything the fuzz body reuses between inputs.
pub struct Fixture {
    /// The one sandbox of the process.
    pub sandbox: Sandbox,
    /// The ABI every fuzzed module is loaded with: see [`fuzz_abi`].
    pub abi: ModuleAbi,
    /// The payment module ([`payment_module`]), loaded.
    pub payment: LoadedModule,
    /// What `payment(30, party 1)` returns on [`payment_input`]; every
    /// later run of that call must return exactly this.
    pub payment_output: CallOutput,
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Nothing here depends on the fuzz input: a failure is a bug in the
        // sandbox or in this file.
        let sandbox = Sandbox::new(SandboxConfig::default())
            .unwrap_or_else(|e| panic!("the default sandbox config is valid: {e}"));
        let payment = sandbox
            .load(&payment_module(), &payment_abi())
            .unwrap_or_else(|e| panic!("the payment module loads: {e}"));
        let payment_output = sandbox
            .call(&payment, "payment", payment_input())
            .unwrap_or_else(|e| panic!("the payment call succeeds: {e}"));
        Fixture {
            sandbox,
            abi: fuzz_abi(),
            payment,
            payment_output,
        }
    })
}

/// The fields every test module (`engine/tests/modules/*.wat`, the fuzzed
/// modules, `sotto bench sandbox`'s hand-written modules) is written
/// against: 0 counter (`u64`), 1 flag (`bool`), 2 secret (private `u64`),
/// 3 owner (`party`), 4 digest (`bytes32`).
pub fn test_fields() -> Vec<FieldAbi> {
    [
        (ValueType::U64, false),
        (ValueType::Bool, false),
        (ValueType::U64, true),
        (ValueType::Party, false),
        (ValueType::Bytes32, false),
    ]
    .into_iter()
    .map(|(ty, private)| FieldAbi { ty, private })
    .collect()
}

/// An ABI with [`test_fields`], two parties, `functions` as (name, public
/// argument types, public input count), and `budgets`.
pub fn test_abi(functions: &[(&str, &[ValueType], u32)], budgets: Budgets) -> ModuleAbi {
    ModuleAbi {
        parties: 2,
        fields: test_fields(),
        functions: functions
            .iter()
            .map(|(name, args, public_inputs)| FunctionAbi {
                name: (*name).to_owned(),
                args: args.to_vec(),
                public_inputs: *public_inputs,
            })
            .collect(),
        budgets,
    }
}

/// A call on [`test_fields`] valued counter 10, flag false, owner party 0,
/// digest zero; allocation `[100, 50]`; time 1234.
pub fn test_input(args: Vec<Value>, mode: Mode) -> CallInput {
    CallInput {
        fields: vec![
            Value::U64(10),
            Value::Bool(false),
            Value::Party(0),
            Value::Bytes32([0; 32]),
        ],
        args,
        allocation: vec![100, 50],
        now: 1234,
        mode,
    }
}

/// The ABI of every fuzzed module: one function `f(u64, party, bytes32)`
/// with two public inputs, and small budgets ([`FUZZ_FUEL`],
/// [`FUZZ_MEMORY_PAGES`]).
pub fn fuzz_abi() -> ModuleAbi {
    test_abi(
        &[(
            "f",
            &[ValueType::U64, ValueType::Party, ValueType::Bytes32],
            2,
        )],
        Budgets {
            fuel_per_call: FUZZ_FUEL,
            memory_pages: FUZZ_MEMORY_PAGES,
        },
    )
}

/// The ABI of `engine/tests/modules/payment.wat`: `payment(u64, party)` with
/// one public input, and `settle()`.
pub fn payment_abi() -> ModuleAbi {
    test_abi(
        &[
            ("payment", &[ValueType::U64, ValueType::Party], 1),
            ("settle", &[], 0),
        ],
        Budgets {
            fuel_per_call: 1_000_000,
            memory_pages: 4,
        },
    )
}

/// The known-good call: party 0 pays 30 to party 1 out of `[100, 50]`.
pub fn payment_input() -> CallInput {
    test_input(vec![Value::U64(30), Value::Party(1)], Mode::Public)
}

/// `engine/tests/modules/payment.wat`, encoded here because the library
/// cannot depend on `wat`. The bytes are exactly `wat`'s output without its
/// `name` section (checked by `engine/tests/fuzz_body.rs`).
pub fn payment_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    // Type indices in the order wat assigns them: first use, deduplicated.
    let signatures: [(&[ValType], &[ValType]); 6] = [
        (&[ValType::I32], &[ValType::I64]),
        (&[ValType::I32, ValType::I32, ValType::I64], &[]),
        (&[ValType::I32, ValType::I64], &[]),
        (&[ValType::I32], &[]),
        (&[], &[ValType::I64]),
        (&[], &[]),
    ];
    for (params, results) in signatures {
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
    }
    let mut imports = ImportSection::new();
    let imported = [
        ("arg_get", 0),
        ("transfer", 1),
        ("field_get", 0),
        ("field_set", 2),
        ("public_input", 2),
        ("await_party", 3),
        ("silent_transfer", 1),
        ("balance", 0),
        ("now", 4),
        ("finish", 5),
    ];
    for (name, ty) in imported {
        imports.import("sotto", name, EntityType::Function(ty));
    }
    // Function indices of the imports above.
    let (arg_get, transfer, field_get, field_set, public_input) = (0, 1, 2, 3, 4);
    let (await_party, silent_transfer, balance, now, finish) = (5, 6, 7, 8, 9);

    let mut functions = FunctionSection::new();
    functions.function(5).function(5);
    let mut exports = ExportSection::new();
    exports.export("call.payment", ExportKind::Func, 10).export(
        "call.settle",
        ExportKind::Func,
        11,
    );

    let mut payment = Function::new([]);
    payment
        .instructions()
        // transfer(0, wrap(arg_get(1)), arg_get(0))
        .i32_const(0)
        .i32_const(1)
        .call(arg_get)
        .i32_wrap_i64()
        .i32_const(0)
        .call(arg_get)
        .call(transfer)
        // field_set(0, field_get(0) + 1)
        .i32_const(0)
        .i32_const(0)
        .call(field_get)
        .i64_const(1)
        .i64_add()
        .call(field_set)
        // public_input(0, arg_get(0))
        .i32_const(0)
        .i32_const(0)
        .call(arg_get)
        .call(public_input)
        // await_party(wrap(arg_get(1)))
        .i32_const(1)
        .call(arg_get)
        .i32_wrap_i64()
        .call(await_party)
        .end();
    let mut settle = Function::new([]);
    settle
        .instructions()
        .i32_const(0)
        .call(await_party)
        .i32_const(1)
        .i32_const(0)
        .i64_const(1)
        .call(silent_transfer)
        // field_set(0, balance(1) + now())
        .i32_const(0)
        .i32_const(1)
        .call(balance)
        .call(now)
        .i64_add()
        .call(field_set)
        .i32_const(1)
        .i64_const(1)
        .call(field_set)
        .call(finish)
        .end();
    let mut code = CodeSection::new();
    code.function(&payment).function(&settle);

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// The imports of docs/abi.md with their signatures, in its order: the
/// table the compiler emits from. The sandbox keeps its own (wasmtime-typed)
/// table; `engine/tests/fuzz_body.rs` checks the names against
/// [`import_names`](crate::sandbox::import_names), and a drift in signatures
/// would make the loader refuse conforming modules, which the fuzz oracle
/// reports.
pub use sotto_contracts::compile::host::IMPORTS as SOTTO_IMPORTS;

/// A module that imports every function of [`SOTTO_IMPORTS`] and defines
/// nothing: wasm-smith's `available_imports`.
pub fn sotto_imports() -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    for (index, (name, params, results)) in (0u32..).zip(SOTTO_IMPORTS) {
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
        imports.import("sotto", name, EntityType::Function(index));
    }
    let mut module = Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// The exports wasm-smith must give a generated module: `call.f` of type
/// `() -> ()`, and optionally `witness.f` and a one-page `memory`.
fn required_exports(memory: bool, witness: bool) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().end();
    let names: &[&str] = if witness {
        &["call.f", "witness.f"]
    } else {
        &["call.f"]
    };
    for (index, name) in (0u32..).zip(names) {
        functions.function(0);
        exports.export(name, ExportKind::Func, index);
        code.function(&body);
    }
    let mut memories = MemorySection::new();
    if memory {
        memories.memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        exports.export("memory", ExportKind::Memory, 0);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions);
    if memory {
        module.section(&memories);
    }
    module.section(&exports).section(&code);
    module.finish()
}

/// How far a generated module strays from ABI v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Inside ABI v1: must load (see the module docs).
    Conforming,
    /// Float types and instructions allowed.
    Floats,
    /// SIMD allowed.
    Simd,
    /// Full bulk memory: passive segments, `memory.init`, `table.copy`...
    BulkMemory,
    /// Reference types (so several tables, `table.grow`).
    ReferenceTypes,
    /// Any import at all, not only `"sotto"`'s.
    AnyImport,
    /// No `memory` export, whatever the imports.
    NoMemoryExport,
}

impl Shape {
    /// Conforming most of the time: refusals are cheap to find, accepted
    /// modules are what exercises the calls.
    fn pick(u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=15)? {
            9 => Shape::Floats,
            10 => Shape::Simd,
            11 => Shape::BulkMemory,
            12 => Shape::ReferenceTypes,
            13 => Shape::AnyImport,
            14 => Shape::NoMemoryExport,
            _ => Shape::Conforming,
        })
    }

    fn config(self, witness: bool) -> wasm_smith::Config {
        let mut c = wasm_smith::Config {
            available_imports: (self != Shape::AnyImport).then(sotto_imports),
            exports: Some(required_exports(self != Shape::NoMemoryExport, witness)),
            allow_start_export: false,
            allow_floats: self == Shape::Floats,
            bulk_memory_enabled: self == Shape::BulkMemory,
            reference_types_enabled: self == Shape::ReferenceTypes,
            simd_enabled: self == Shape::Simd,
            relaxed_simd_enabled: false,
            saturating_float_to_int_enabled: false,
            sign_extension_ops_enabled: true,
            multi_value_enabled: true,
            exceptions_enabled: false,
            gc_enabled: false,
            memory64_enabled: false,
            threads_enabled: false,
            shared_everything_threads_enabled: false,
            tail_call_enabled: false,
            extended_const_enabled: false,
            wide_arithmetic_enabled: false,
            custom_page_sizes_enabled: false,
            max_memories: 1,
            max_tables: 1,
            max_table_elements: 1_000,
            max_memory32_bytes: u64::from(FUZZ_MEMORY_PAGES) * 65_536,
            max_funcs: 12,
            max_instructions: 200,
            max_imports: 20,
            max_types: 20,
            max_globals: 10,
            max_data_segments: 4,
            max_element_segments: 4,
            max_elements: 20,
            max_nesting_depth: 6,
            ..wasm_smith::Config::default()
        };
        if self == Shape::ReferenceTypes {
            c.max_tables = 2;
        }
        if self != Shape::NoMemoryExport {
            // wasm-smith adds the exported memory after its own arbitrary
            // ones; allowing any here would make two.
            c.max_memories = 0;
        }
        c
    }
}

/// Reads a [`CallInput`] for `f` from the fuzz input; the values are
/// well-typed, so any failure of the call is the module's doing.
fn call_input(u: &mut Unstructured<'_>) -> arbitrary::Result<CallInput> {
    let party = |u: &mut Unstructured<'_>| u.int_in_range(0u32..=1).map(Value::Party);
    Ok(CallInput {
        fields: vec![
            Value::U64(u.arbitrary()?),
            Value::Bool(u.arbitrary()?),
            party(u)?,
            Value::Bytes32(u.arbitrary()?),
        ],
        args: vec![
            Value::U64(u.arbitrary()?),
            party(u)?,
            Value::Bytes32(u.arbitrary()?),
        ],
        // Two u32 amounts: their total fits a u64, as the input check needs.
        allocation: vec![
            u64::from(u.arbitrary::<u32>()?),
            u64::from(u.arbitrary::<u32>()?),
        ],
        now: u.arbitrary()?,
        mode: Mode::Public,
    })
}

/// Fuzz body for the sandbox: see the module docs for the generators and
/// oracles. Panics only when an oracle fails.
pub fn sandbox(data: &[u8]) {
    let fx = fixture();

    // Generator 1: the raw bytes. Any module they happen to form is run.
    if let Ok(module) = fx.sandbox.load(data, &fx.abi) {
        run_and_check(fx, &module, &default_input(), None);
    }

    // Generator 2: a contract-shaped module from wasm-smith.
    let mut u = Unstructured::new(data);
    let Ok((shape, witness, input, private)) = knobs(&mut u) else {
        return;
    };
    let Ok(module) = wasm_smith::Module::new(shape.config(witness), &mut u) else {
        return;
    };
    let bytes = module.to_bytes();
    match fx.sandbox.load(&bytes, &fx.abi) {
        Ok(module) => {
            assert_eq!(
                module.has_witness("f"),
                witness,
                "the loader sees the generated witness export"
            );
            run_and_check(fx, &module, &input, witness.then_some(private));
        }
        Err(LoadError::DataOutOfBounds { .. }) => {}
        Err(e) => assert!(
            shape != Shape::Conforming,
            "a module inside ABI v1 was refused: {e}"
        ),
    }
}

/// The choices read before the module: its shape, whether it has a witness
/// part, the call input and the private values for the witness call.
fn knobs(u: &mut Unstructured<'_>) -> arbitrary::Result<(Shape, bool, CallInput, Vec<u64>)> {
    let shape = Shape::pick(u)?;
    let witness = u.ratio(1u8, 4)?;
    let input = call_input(u)?;
    let len = u.int_in_range(0usize..=3)?;
    let private = (0..len)
        .map(|_| u.arbitrary())
        .collect::<arbitrary::Result<_>>()?;
    Ok((shape, witness, input, private))
}

/// The input for modules that come from raw bytes.
fn default_input() -> CallInput {
    test_input(
        vec![Value::U64(7), Value::Party(1), Value::Bytes32([1; 32])],
        Mode::Public,
    )
}

/// Calls `f` (and its witness part when `private` is given) twice each and
/// checks the call oracles, then the payment call.
fn run_and_check(
    fx: &Fixture,
    module: &LoadedModule,
    input: &CallInput,
    private: Option<Vec<u64>>,
) {
    let mut inputs = vec![input.clone()];
    if let Some(private) = private {
        let mut witness = input.clone();
        witness.mode = Mode::Witness { private };
        inputs.push(witness);
    }
    for input in inputs {
        let first = fx.sandbox.call(module, "f", input.clone());
        check_result(&input, &first);
        let second = fx.sandbox.call(module, "f", input);
        assert_eq!(first, second, "the same call gave two results");
    }
    let payment = fx.sandbox.call(&fx.payment, "payment", payment_input());
    assert_eq!(
        payment.as_ref(),
        Ok(&fx.payment_output),
        "the sandbox no longer serves the payment call"
    );
}

/// The oracles on one call's result.
fn check_result(input: &CallInput, result: &Result<CallOutput, CallError>) {
    let total: u64 = input.allocation.iter().sum();
    match result {
        Ok(out) => {
            assert_eq!(out.live.iter().sum::<u64>(), total, "live total changed");
            assert_eq!(
                out.signed.iter().sum::<u64>(),
                total,
                "signed total changed"
            );
            assert!(out.fuel_used <= FUZZ_FUEL, "fuel used beyond the budget");
        }
        Err(e @ (CallError::Internal { .. } | CallError::Instantiation { .. })) => {
            panic!("a call failed in the sandbox, not the module: {e}")
        }
        Err(_) => {}
    }
}
