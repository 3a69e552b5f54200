//! The modules the sandbox benchmarks run, loaded and checked once.
//!
//! This file is shared, unchanged, by `sotto bench sandbox` and the criterion
//! benchmarks in `benches/sandbox.rs` (which include it with `#[path]`), so
//! the two always time the same modules, ABIs, inputs and sandbox
//! configuration.
//!
//! The compiled library is timed from [`super::super::library`]; these
//! fixtures keep the hand-written modules whose figures predate it (and
//! isolate the floor of a call): the payment module
//! of the sandbox tests (`engine/tests/modules/payment.wat`), which moves
//! funds, counts, publishes a public input and awaits a party through eight
//! host calls. Beside it, a module whose `call.noop` does nothing (the floor
//! of a call: store, instance, fuel, the call itself) and the tests' hash
//! module hashing 32 bytes.
//!
//! Every constructor runs its call once and checks the result, so a
//! benchmark never times a call that fails.

use anyhow::{Context, Result, ensure};
use sotto_engine::fuzzing::{test_abi, test_input};
use sotto_engine::sandbox::{
    Budgets, CallInput, FunctionAbi, LoadedModule, Mode, ModuleAbi, Sandbox, SandboxConfig, Value,
    ValueType,
};

const PAYMENT: &str = include_str!("../../../engine/tests/modules/payment.wat");
const HASH: &str = include_str!("../../../engine/tests/modules/hash.wat");
/// One page of memory and a function that does nothing.
const TRIVIAL: &str = r#"(module (memory 1) (func (export "call.noop")))"#;
/// The same without memory: the difference is what a memory slot costs.
const NO_MEMORY: &str = r#"(module (func (export "call.noop")))"#;

/// Fuel budget of every benchmarked contract: far above what the calls use,
/// so it never decides an outcome.
const FUEL: u64 = 1_000_000;

/// One module, loaded, with the call to time.
pub(crate) struct Call {
    /// The loaded module.
    pub(crate) module: LoadedModule,
    /// The ABI function to call.
    pub(crate) function: &'static str,
    /// The input of every timed call (cloned per call, as a caller that
    /// hands the sandbox its input would).
    pub(crate) input: CallInput,
}

/// The sandbox and everything the benchmarks time with it.
pub(crate) struct Fixtures {
    /// One sandbox with the default node configuration, as a node runs.
    pub(crate) sandbox: Sandbox,
    /// `call.noop` of a one-page module that does nothing.
    pub(crate) trivial: Call,
    /// `call.noop` of a module without memory that does nothing.
    pub(crate) no_memory: Call,
    /// `payment(30, party 1)` of the payment module.
    pub(crate) payment: Call,
    /// `sha(x)` of the hash module: SHA-256 of a 32-byte argument.
    pub(crate) hash: Call,
    /// The payment module's bytes, for timing [`Sandbox::load`].
    pub(crate) payment_wasm: Vec<u8>,
    /// The payment module's ABI.
    pub(crate) payment_abi: ModuleAbi,
}

impl Fixtures {
    /// Builds the sandbox, loads the three modules and checks each call once.
    pub(crate) fn new() -> Result<Self> {
        let sandbox = Sandbox::new(SandboxConfig::default()).context("building the sandbox")?;

        let trivial_abi = ModuleAbi {
            parties: 1,
            fields: vec![],
            functions: vec![FunctionAbi {
                name: "noop".into(),
                args: vec![],
                public_inputs: 0,
            }],
            budgets: Budgets {
                fuel_per_call: FUEL,
                memory_pages: 1,
            },
        };
        let noop_input = CallInput {
            fields: vec![],
            args: vec![],
            allocation: vec![0],
            now: 0,
            mode: Mode::Public,
        };
        let trivial = Call {
            module: load(&sandbox, "trivial", TRIVIAL, &trivial_abi)?,
            function: "noop",
            input: noop_input.clone(),
        };
        let no_memory = Call {
            module: load(&sandbox, "no_memory", NO_MEMORY, &trivial_abi)?,
            function: "noop",
            input: noop_input,
        };

        let payment_abi = contract_abi(&[
            ("payment", &[ValueType::U64, ValueType::Party], 1),
            ("settle", &[], 0),
        ]);
        let payment_wasm = wat::parse_str(PAYMENT).context("payment.wat")?;
        let payment = Call {
            module: sandbox
                .load(&payment_wasm, &payment_abi)
                .context("loading payment.wat")?,
            function: "payment",
            input: contract_input(vec![Value::U64(30), Value::Party(1)]),
        };

        let hash_abi = contract_abi(&[
            ("sha", &[ValueType::Bytes32], 0),
            ("keccak", &[], 0),
            ("rehash", &[], 0),
        ]);
        let hash = Call {
            module: load(&sandbox, "hash", HASH, &hash_abi)?,
            function: "sha",
            input: contract_input(vec![Value::Bytes32([7; 32])]),
        };

        let fixtures = Fixtures {
            sandbox,
            trivial,
            no_memory,
            payment,
            hash,
            payment_wasm,
            payment_abi,
        };
        fixtures.call(&fixtures.trivial)?;
        fixtures.call(&fixtures.no_memory)?;
        let out = fixtures.sandbox.call(
            &fixtures.payment.module,
            "payment",
            fixtures.payment.input.clone(),
        )?;
        ensure!(
            out.live == [70, 80],
            "payment moved the wrong amounts: {:?}",
            out.live
        );
        let out =
            fixtures
                .sandbox
                .call(&fixtures.hash.module, "sha", fixtures.hash.input.clone())?;
        ensure!(
            out.fields[3] != Value::Bytes32([0; 32]),
            "sha did not set the digest field"
        );
        Ok(fixtures)
    }

    /// One instantiate-and-call of `call`, as timed.
    pub(crate) fn call(&self, call: &Call) -> Result<()> {
        self.sandbox
            .call(&call.module, call.function, call.input.clone())
            .map(drop)
            .with_context(|| format!("calling {}", call.function))
    }

    /// One load (validation, compilation, linking) of the payment module.
    pub(crate) fn compile_payment(&self) -> Result<LoadedModule> {
        self.sandbox
            .load(&self.payment_wasm, &self.payment_abi)
            .context("loading payment.wat")
    }
}

/// The ABI of the sandbox tests' modules (`sotto_engine::fuzzing::test_abi`)
/// with the benchmark's budgets.
fn contract_abi(functions: &[(&str, &[ValueType], u32)]) -> ModuleAbi {
    test_abi(
        functions,
        Budgets {
            fuel_per_call: FUEL,
            memory_pages: 4,
        },
    )
}

fn contract_input(args: Vec<Value>) -> CallInput {
    test_input(args, Mode::Public)
}

fn load(sandbox: &Sandbox, what: &str, wat: &str, abi: &ModuleAbi) -> Result<LoadedModule> {
    let wasm = wat::parse_str(wat).with_context(|| format!("{what}.wat"))?;
    sandbox
        .load(&wasm, abi)
        .with_context(|| format!("loading {what}.wat"))
}
