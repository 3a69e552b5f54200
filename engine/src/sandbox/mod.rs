//! # The sandbox: deterministic, bounded execution of contract modules
//!
//! Every party re-executes each contract step and must reach the *same*
//! result bit for bit, on a module a counterparty chose. This module loads
//! such a module (refusing anything outside docs/abi.md: the checks are
//! listed in `load.rs` and run by [`Sandbox::load`]), precompiles it, and runs one function per
//! call in a fresh instance with the host imports of ABI v1 (`host.rs`).
//! [`Sandbox::load_cached`] keeps the compiled code in a [`ModuleCache`] on
//! disk across restarts (`cache.rs`, with its threat model); it skips
//! compilation, never a check. [`Sandbox::load_artifact`] loads a built
//! contract ([`Artifact`]) with the ABI its custom sections carry.
//!
//! ## The wasmtime configuration, setting by setting
//!
//! One [`wasmtime::Engine`] per [`Sandbox`], configured in [`Sandbox::new`]:
//!
//! - **`consume_fuel(true)`**: every call gets the contract's fuel budget
//!   and traps with [`CallError::OutOfFuel`] when it is spent. Fuel counts
//!   WASM operators, so it is the same on every machine (unlike a wall-clock
//!   or epoch deadline, which is why `epoch_interruption` stays off). Host
//!   calls are charged too: [`fuel::HOST_CALL`] each, and `hash`
//!   [`fuel::HASH_PER_BYTE`] per input byte.
//! - **`cranelift_nan_canonicalization(true)`**: floats are refused at load,
//!   so this should never matter; it is kept so that a float that slipped
//!   through could not yield host-dependent NaN bits.
//! - **Feature set: exactly WASM 1.0 with mutable globals, multi-value,
//!   sign extension and `memory.copy`/`memory.fill` (bulk-memory-opt)**,
//!   every other proposal explicitly disabled. No threads (shared memory and atomics
//!   would make results schedule-dependent), no SIMD and no relaxed SIMD
//!   (whose results may differ between x86-64 and AArch64;
//!   `relaxed_simd_deterministic(true)` is set anyway), no reference types
//!   (so at most one table), no multi-memory, no memory64, no GC or
//!   exceptions, and no floats. The loader validates with the same set plus
//!   floats, which it then refuses with a location.
//! - **`max_wasm_stack(WASM_STACK_BYTES)`**: deep recursion traps with
//!   [`CallError::StackExhausted`] instead of overflowing the host stack.
//!   This is a constant of ABI v1, not a node setting. *Caveat:* the depth
//!   this allows depends on the machine code's frame sizes, so it is the same
//!   on every node with the same wasmtime version and CPU architecture, but
//!   may differ between x86-64 and AArch64; the compiler should therefore
//!   not emit unbounded recursion.
//! - **Pooling allocator** ([`wasmtime::PoolingAllocationConfig`]): instance,
//!   memory and table slots are preallocated, at most
//!   [`SandboxConfig::max_concurrent_calls`] of each; one memory and one
//!   table per module; memories at most [`SandboxConfig::max_memory_pages`]
//!   and tables at most [`MAX_TABLE_ELEMENTS`]. A call costs no `mmap`, and
//!   no module can make the host allocate beyond these slots. The first 4 KiB
//!   of each memory slot stay resident and are zeroed with `memset` between
//!   calls ([`KEEP_RESIDENT_BYTES`]); the rest is `madvise`d as before.
//! - **A [`wasmtime::ResourceLimiter`] per call** for what the pool's
//!   node-wide slot sizes do not express: the contract's own memory budget
//!   (which may be below the node's cap) and one instance, memory and table
//!   per store. Growing memory past the budget **traps** with
//!   [`CallError::OutOfMemory`] rather than making `memory.grow` return -1:
//!   the budget is part of the contract, so going past it is the contract's
//!   fault, and a typed error is what a counterparty can cite. (Returning -1
//!   would be deterministic too; trapping spares the compiler a check.)
//!   Table growth past [`MAX_TABLE_ELEMENTS`] traps with
//!   [`CallError::TableLimit`].
//! - **Backtraces off** (`wasm_backtrace_max_frames(None)`): they cost time
//!   on every trap and carry nothing a counterparty needs.
//! - **`parallel_compilation(true)`**: compilation is done once per module
//!   at load; it does not affect the generated code.
//!
//! ## Budgets
//!
//! A contract's fuel and memory budgets come from its [`ModuleAbi`]. A node
//! refuses at load ([`LoadError::BudgetAboveCap`]) a contract whose budgets
//! exceed its [`SandboxConfig`] caps: clamping instead would let two nodes
//! with different caps disagree on the same call.
//!
//! ## What a call returns
//!
//! See [`CallOutput`]. The new public field values are
//! [`Value`]s; [`encode_state`] gives their canonical encoding (layout in
//! [`abi`]'s docs). The *signed* allocation is the live one after applying
//! every `silent_transfer` in order, each checked like a `transfer`.
//!
//! ## Invariants
//!
//! - No input from the module can make the host panic: every index, pointer,
//!   length and value is checked, and every failure is a typed error.
//! - A failed call has no effect: its state lives only in its `Store`,
//!   dropped with the call.
//! - The allocation total is conserved by every call (checked with
//!   `debug_assert!`; it holds by construction).
//! - Same module, same [`CallInput`], same wasmtime version and
//!   architecture: same [`CallOutput`], fuel included.

pub mod abi;
mod cache;
pub mod error;
mod host;
mod load;
pub mod owner;

/// Fuel charged for host work, on top of wasmtime's per-operator fuel.
pub mod fuel {
    /// Charged on entry to every import.
    pub const HOST_CALL: u64 = 20;
    /// Charged per input byte of `hash`: hashing is roughly an order of
    /// magnitude more work per byte than one WASM operator.
    pub const HASH_PER_BYTE: u64 = 4;
}

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use sotto_contracts::Artifact;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store, Trap,
};

pub use abi::{
    Budgets, FieldAbi, FunctionAbi, ModuleAbi, STATE_ENCODING_VERSION, StateError, Value,
    ValueType, decode_state, encode_state,
};
pub use cache::{CACHE_FORMAT_VERSION, CacheKey, CacheOutcome, MAX_CACHE_ENTRY_BYTES, ModuleCache};
pub use error::{
    CacheError, CallError, EntryRejection, ExportRefusal, FloatSite, HostCallError, HostCallReason,
    ImportRefusal, InputError, LoadError, SandboxError,
};
pub use host::{MAX_ABORT_REASON, MAX_TABLE_ELEMENTS};
pub use load::MAX_MODULE_BYTES;
pub use owner::{OwnerError, OwnerInput, OwnerOutput, Part};

use host::{HostState, Limits, SilentTransfer};

/// Bytes at the start of each pooled memory slot that are reset with
/// `memset` and kept resident between calls instead of `madvise`d away: one
/// 4 KiB OS page, where the compiler puts its data and scratch slots.
/// Without it, a call that writes memory paid a page fault and a kernel
/// zeroing on every instantiation; with a whole 64 KiB WASM page kept, every
/// call paid a 64 KiB `memset` instead. Measured in one `sotto bench sandbox
/// --quick` run each: `call_escrow.deliver` 8.35 µs → 3.42 µs, `call_hash`
/// 8.15 µs → 2.97 µs, `call_trivial` 2.29 µs → 2.26 µs (64 KiB: 3.45 µs).
pub const KEEP_RESIDENT_BYTES: usize = 4096;

/// Names of the ABI imports that take a guest-memory pointer (a module
/// importing one must export `memory`).
pub fn pointer_imports() -> impl Iterator<Item = &'static str> {
    host::IMPORTS
        .iter()
        .filter(|i| i.takes_pointer)
        .map(|i| i.name)
}

/// Names of every ABI import, in docs/abi.md's order.
pub fn import_names() -> impl Iterator<Item = &'static str> {
    host::IMPORTS.iter().map(|i| i.name)
}

/// The WASM stack each call may use, in bytes. A constant of ABI v1 so that
/// every node refuses the same recursion depth (on the same architecture).
/// The calling thread needs at least this much native stack to spare.
pub const WASM_STACK_BYTES: usize = 512 * 1024;

/// Node-wide limits: what this node is willing to give any contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Largest fuel budget per call a contract may ask for.
    pub max_fuel_per_call: u64,
    /// Largest memory a contract may ask for, in 64 KiB pages; also the
    /// size of every pooled memory slot.
    pub max_memory_pages: u32,
    /// Pooled instance/memory/table slots: calls that may run at once.
    pub max_concurrent_calls: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            max_fuel_per_call: 1_000_000_000,
            max_memory_pages: 256,
            max_concurrent_calls: 8,
        }
    }
}

/// Which part of a contract function to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The public part `call.NAME`, re-executed by every party.
    Public,
    /// The witness part `witness.NAME`, run by the owner of the private
    /// values, with `private_get`/`private_set` over `private`.
    Witness {
        /// The private variables, in the order of the function's constraint
        /// program.
        private: Vec<u64>,
    },
}

/// Everything a call reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInput {
    /// The current values of the *public* fields, in ABI order.
    pub fields: Vec<Value>,
    /// The function's public arguments, in order.
    pub args: Vec<Value>,
    /// The live allocation, one amount per party.
    pub allocation: Vec<u64>,
    /// The time agreed in the update.
    pub now: u64,
    /// Public or witness part.
    pub mode: Mode,
}

/// Everything a successful call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutput {
    /// The new public field values, in ABI order ([`encode_state`] encodes
    /// them).
    pub fields: Vec<Value>,
    /// The live allocation after every `transfer`.
    pub live: Vec<u64>,
    /// The signed allocation: `live` plus every `silent_transfer`.
    pub signed: Vec<u64>,
    /// The party `await_party` named last, if any.
    pub awaited: Option<u32>,
    /// Whether the call called `finish`.
    pub finished: bool,
    /// The constraint program's public inputs; those not set are 0.
    pub public_inputs: Vec<u64>,
    /// In witness mode, the private variables after the call.
    pub private: Option<Vec<u64>>,
    /// Fuel the call used, host-call charges included.
    pub fuel_used: u64,
}

/// A module that passed every load-time check, compiled and linked: a call
/// costs a `Store`, an instance and the call itself.
pub struct LoadedModule {
    abi: Arc<ModuleAbi>,
    pre: InstancePre<HostState>,
    engine: Engine,
    id: [u8; 32],
    witness_exports: Vec<String>,
}

impl LoadedModule {
    /// The ABI the module was loaded with.
    pub fn abi(&self) -> &ModuleAbi {
        &self.abi
    }

    /// The contract id: SHA-256 of the module's bytes, custom sections
    /// included.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// Whether the module has a `witness.NAME` export for `function`.
    pub fn has_witness(&self, function: &str) -> bool {
        self.witness_exports.iter().any(|w| w == function)
    }
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("id", &self.id)
            .field("abi", &self.abi)
            .finish_non_exhaustive()
    }
}

/// Loads and runs contract modules; owns one wasmtime [`Engine`]. See the
/// module docs for its configuration.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    config: SandboxConfig,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Builds the engine and the linker with every host import.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        if config.max_fuel_per_call == 0
            || config.max_memory_pages == 0
            || config.max_concurrent_calls == 0
        {
            return Err(SandboxError::Config {
                reason: "every cap must be positive".to_owned(),
            });
        }
        // Memory slots are sized in bytes; refuse caps that do not fit.
        let max_memory_bytes =
            usize::try_from(u64::from(config.max_memory_pages) * host::PAGE_BYTES)
                .ok()
                .filter(|b| *b <= 1 << 32)
                .ok_or_else(|| SandboxError::Config {
                    reason: format!("max_memory_pages {} exceeds 4 GiB", config.max_memory_pages),
                })?;
        let engine_error = |e: wasmtime::Error| SandboxError::Engine {
            reason: e.to_string(),
        };

        let mut pool = PoolingAllocationConfig::new();
        pool.total_core_instances(config.max_concurrent_calls)
            .total_memories(config.max_concurrent_calls)
            .total_tables(config.max_concurrent_calls)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(max_memory_bytes)
            .table_elements(usize::try_from(MAX_TABLE_ELEMENTS).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES);

        let mut wasm = Config::new();
        wasm.consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .wasm_features(wasmparser::WasmFeatures::all(), false)
            .wasm_features(load::ENGINE_FEATURES, true)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(WASM_STACK_BYTES)
            .epoch_interruption(false)
            .wasm_backtrace_max_frames(None)
            .parallel_compilation(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(engine_error)?;

        let mut linker = Linker::new(&engine);
        host::define_imports(&mut linker).map_err(engine_error)?;
        Ok(Sandbox {
            engine,
            linker,
            config,
        })
    }

    /// The node-wide caps.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Checks, compiles and links `bytes` as a contract with ABI `abi`.
    pub fn load(&self, bytes: &[u8], abi: &ModuleAbi) -> Result<LoadedModule, LoadError> {
        let facts = self.validate(bytes, abi)?;
        let module = Module::from_binary(&self.engine, bytes).map_err(compile_error)?;
        self.link(&module, Sha256::digest(bytes).into(), abi, &facts)
    }

    /// Checks, compiles and links a built contract: its module bytes, with
    /// the [`ModuleAbi`] its `sotto.abi` and `sotto.programs` sections
    /// describe ([`ModuleAbi::from_contract`]). The artifact's sections were
    /// checked against each other when it was read; this checks the code
    /// against them (every ABI function has its `call.NAME` export, nothing
    /// else is exported, and so on) exactly as [`Sandbox::load`] does.
    pub fn load_artifact(&self, artifact: &Artifact) -> Result<LoadedModule, LoadError> {
        let abi = ModuleAbi::from_contract(artifact.abi(), artifact.programs())?;
        self.load(artifact.bytes(), &abi)
    }

    /// [`Sandbox::load_artifact`] through `cache`, as [`Sandbox::load_cached`].
    pub fn load_artifact_cached(
        &self,
        artifact: &Artifact,
        cache: &ModuleCache,
    ) -> Result<(LoadedModule, CacheOutcome), LoadError> {
        let abi = ModuleAbi::from_contract(artifact.abi(), artifact.programs())?;
        self.load_cached(artifact.bytes(), &abi, cache)
    }

    /// Every load-time check, on the module's own bytes. Shared by
    /// [`Sandbox::load`] and [`Sandbox::load_cached`] so that a cached module
    /// is checked exactly like a fresh one.
    fn validate(&self, bytes: &[u8], abi: &ModuleAbi) -> Result<load::ModuleFacts, LoadError> {
        if bytes.len() > MAX_MODULE_BYTES {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                limit: MAX_MODULE_BYTES,
            });
        }
        self.check_abi(abi)?;
        load::check_module(bytes, abi)
    }

    /// Links a module compiled (or deserialized) from the bytes whose
    /// SHA-256 is `id` and that passed [`Sandbox::validate`] with `facts`.
    fn link(
        &self,
        module: &Module,
        id: [u8; 32],
        abi: &ModuleAbi,
        facts: &load::ModuleFacts,
    ) -> Result<LoadedModule, LoadError> {
        let pre = self.linker.instantiate_pre(module).map_err(compile_error)?;
        Ok(LoadedModule {
            abi: Arc::new(abi.clone()),
            pre,
            engine: self.engine.clone(),
            id,
            witness_exports: facts.witness_exports.clone(),
        })
    }

    fn check_abi(&self, abi: &ModuleAbi) -> Result<(), LoadError> {
        let invalid = |reason: String| Err(LoadError::InvalidAbi { reason });
        if abi.parties == 0 {
            return invalid("no parties".to_owned());
        }
        if abi.budgets.fuel_per_call == 0 {
            return invalid("zero fuel budget".to_owned());
        }
        for (i, f) in abi.functions.iter().enumerate() {
            if abi.functions[..i].iter().any(|g| g.name == f.name) {
                return invalid(format!("function `{}` declared twice", f.name));
            }
        }
        if abi.budgets.fuel_per_call > self.config.max_fuel_per_call {
            return Err(LoadError::BudgetAboveCap {
                budget: "fuel",
                requested: abi.budgets.fuel_per_call,
                cap: self.config.max_fuel_per_call,
            });
        }
        if abi.budgets.memory_pages > self.config.max_memory_pages {
            return Err(LoadError::BudgetAboveCap {
                budget: "memory pages",
                requested: u64::from(abi.budgets.memory_pages),
                cap: u64::from(self.config.max_memory_pages),
            });
        }
        Ok(())
    }

    /// Runs `function` of `module` on `input`: its public part, or its
    /// witness part in [`Mode::Witness`]. Either returns everything the call
    /// produced or one typed error; a failed call changes nothing.
    pub fn call(
        &self,
        module: &LoadedModule,
        function: &str,
        input: CallInput,
    ) -> Result<CallOutput, CallError> {
        if !Engine::same(&self.engine, &module.engine) {
            return Err(CallError::ForeignModule);
        }
        let abi = &module.abi;
        let Some((index, function_abi)) = abi.function(function) else {
            return Err(CallError::UnknownFunction {
                name: function.to_owned(),
            });
        };
        let (export, private) = match input.mode {
            Mode::Public => (format!("call.{function}"), None),
            Mode::Witness { private } => {
                let export = format!("witness.{function}");
                if !module.has_witness(function) {
                    return Err(CallError::UnknownFunction { name: export });
                }
                (export, Some(private))
            }
        };
        let total = check_input(
            abi,
            function_abi,
            &input.fields,
            &input.args,
            &input.allocation,
        )?;

        // Step 1: the store, holding everything the call may touch.
        let mut public_values = input.fields.into_iter();
        let fields = abi
            .fields
            .iter()
            .map(|f| {
                if f.private {
                    None
                } else {
                    public_values.next()
                }
            })
            .collect();
        let budget = abi.budgets.fuel_per_call;
        let state = HostState {
            abi: Arc::clone(abi),
            function: index,
            fields,
            args: input.args,
            live: input.allocation,
            silent: Vec::new(),
            now: input.now,
            awaited: None,
            finished: false,
            public_inputs: vec![
                0;
                usize::try_from(function_abi.public_inputs).unwrap_or(usize::MAX)
            ],
            private,
            fuel_budget: budget,
            limits: Limits {
                memory_pages: abi.budgets.memory_pages,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_fuel(budget).map_err(|_| CallError::Internal {
            what: "fuel metering off",
        })?;

        // Step 2: instantiate and run.
        let instance = module
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, budget, Fallback::Instantiation))?;
        let func = instance
            .get_typed_func::<(), ()>(&mut store, &export)
            .map_err(|_| CallError::Internal {
                what: "checked export missing or mistyped",
            })?;
        func.call(&mut store, ())
            .map_err(|e| classify(e, budget, Fallback::Trap))?;
        let left = store.get_fuel().map_err(|_| CallError::Internal {
            what: "fuel metering off",
        })?;

        // Step 3: the results.
        let state = store.into_data();
        debug_assert_eq!(
            state.function, index,
            "the store runs the function asked for"
        );
        let signed = signed_allocation(&state.live, &state.silent, state.awaited)?;
        debug_assert_eq!(
            sum(&state.live),
            Some(total),
            "transfers conserve the total"
        );
        debug_assert_eq!(
            sum(&signed),
            Some(total),
            "silent transfers conserve the total"
        );
        Ok(CallOutput {
            fields: state.fields.into_iter().flatten().collect(),
            live: state.live,
            signed,
            awaited: state.awaited,
            finished: state.finished,
            public_inputs: state.public_inputs,
            private: state.private,
            fuel_used: budget.saturating_sub(left),
        })
    }
}

/// wasmtime refused to compile or link a module that passed every check.
fn compile_error(e: wasmtime::Error) -> LoadError {
    LoadError::Compile {
        reason: e.to_string(),
    }
}

fn sum(allocation: &[u64]) -> Option<u64> {
    allocation
        .iter()
        .try_fold(0u64, |acc, a| acc.checked_add(*a))
}

/// Checks `input` against the ABI; returns the allocation total.
fn check_input(
    abi: &ModuleAbi,
    function: &FunctionAbi,
    fields: &[Value],
    args: &[Value],
    allocation: &[u64],
) -> Result<u64, InputError> {
    abi::check_public_fields(abi, fields)?;
    if args.len() != function.args.len() {
        return Err(InputError::ArgCount {
            expected: function.args.len(),
            found: args.len(),
        });
    }
    for (index, (arg, ty)) in args.iter().zip(&function.args).enumerate() {
        let party_ok = match arg {
            Value::Party(p) => *p < abi.parties,
            _ => true,
        };
        if arg.value_type() != *ty || !party_ok {
            return Err(InputError::ArgType {
                index,
                expected: *ty,
            });
        }
    }
    if u32::try_from(allocation.len()).ok() != Some(abi.parties) {
        return Err(InputError::AllocationLength {
            parties: abi.parties,
            found: allocation.len(),
        });
    }
    // A total that fits in u64 means no single transfer can overflow.
    sum(allocation).ok_or(InputError::AllocationOverflow)
}

/// The live allocation with every silent transfer applied in order.
fn signed_allocation(
    live: &[u64],
    silent: &[SilentTransfer],
    awaited: Option<u32>,
) -> Result<Vec<u64>, CallError> {
    if !silent.is_empty() && awaited.is_none() {
        return Err(CallError::HostCall(HostCallError {
            import: "silent_transfer",
            argument: None,
            reason: HostCallReason::SilentWithoutAwait,
        }));
    }
    let mut signed = live.to_vec();
    for t in silent {
        // Party indices were checked when the transfer was recorded.
        let from = usize::try_from(t.from).unwrap_or(usize::MAX);
        let to = usize::try_from(t.to).unwrap_or(usize::MAX);
        if from >= signed.len() || to >= signed.len() {
            return Err(CallError::Internal {
                what: "recorded silent transfer with unchecked party",
            });
        }
        host::move_funds(&mut signed, "silent_transfer", from, to, t.amount)?;
    }
    Ok(signed)
}

/// What an unrecognised error becomes.
enum Fallback {
    Instantiation,
    Trap,
}

/// Turns wasmtime's error into the typed [`CallError`].
fn classify(error: wasmtime::Error, budget: u64, fallback: Fallback) -> CallError {
    // Errors raised by the host imports and the limiter are CallErrors.
    let error = match error.downcast::<CallError>() {
        Ok(e) => return e,
        Err(error) => error,
    };
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => CallError::OutOfFuel { budget },
            Trap::StackOverflow => CallError::StackExhausted,
            other => CallError::Trap {
                kind: format!("{other:?}"),
            },
        };
    }
    match fallback {
        Fallback::Instantiation => CallError::Instantiation {
            reason: error.to_string(),
        },
        Fallback::Trap => CallError::Trap {
            kind: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_is_shareable_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Sandbox>();
        shareable::<LoadedModule>();
    }

    #[test]
    fn zero_caps_are_refused() {
        let config = SandboxConfig {
            max_concurrent_calls: 0,
            ..SandboxConfig::default()
        };
        assert!(matches!(
            Sandbox::new(config),
            Err(SandboxError::Config { .. })
        ));
        let config = SandboxConfig {
            max_memory_pages: 65_537,
            ..SandboxConfig::default()
        };
        assert!(matches!(
            Sandbox::new(config),
            Err(SandboxError::Config { .. })
        ));
    }

    #[test]
    fn signed_allocation_applies_silent_transfers_in_order() {
        let silent = [
            SilentTransfer {
                from: 0,
                to: 1,
                amount: 5,
            },
            SilentTransfer {
                from: 1,
                to: 0,
                amount: 12,
            },
        ];
        // In order: [5, 7] -> [0, 12] -> [12, 0]; the other order would
        // overdraw party 1 first.
        assert_eq!(
            signed_allocation(&[5, 7], &silent, Some(1)),
            Ok(vec![12, 0])
        );
        assert!(matches!(
            signed_allocation(&[5, 7], &silent[1..], Some(1)),
            Err(CallError::InsufficientFunds {
                import: "silent_transfer",
                party: 1,
                ..
            })
        ));
        assert_eq!(signed_allocation(&[5, 7], &[], None), Ok(vec![5, 7]));
        assert!(matches!(
            signed_allocation(&[5, 7], &silent, None),
            Err(CallError::HostCall(HostCallError {
                reason: HostCallReason::SilentWithoutAwait,
                ..
            }))
        ));
    }
}
