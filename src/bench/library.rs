//! The contract library as the benchmarks run it: each contract compiled,
//! loaded, and driven by its happy-path scenario
//! (`contracts/examples/NAME.happy.toml`), so every timed call has the
//! inputs a real agreement gives it.
//!
//! Shared, unchanged, by `sotto bench contracts`, `sotto bench sandbox` and
//! the criterion benchmarks (`benches/contracts.rs` and `benches/sandbox.rs`
//! include it with `#[path]`), so they all time the same calls.

use anyhow::{Context, Result, anyhow};
use sotto_contracts::library::LIBRARY;
use sotto_contracts::scenario::Scenario;
use sotto_contracts::{Artifact, compile};
use sotto_engine::sandbox::owner::public_call;
use sotto_engine::sandbox::{CallInput, LoadedModule, Sandbox, SandboxConfig};

/// The happy-path scenario of each library contract, in [`LIBRARY`] order.
const HAPPY: [&str; 7] = [
    include_str!("../../contracts/examples/auction.happy.toml"),
    include_str!("../../contracts/examples/escrow.happy.toml"),
    include_str!("../../contracts/examples/htlc.happy.toml"),
    include_str!("../../contracts/examples/negotiation.happy.toml"),
    include_str!("../../contracts/examples/oracle_bet.happy.toml"),
    include_str!("../../contracts/examples/payment.happy.toml"),
    include_str!("../../contracts/examples/rps.happy.toml"),
];

/// One library contract, built and loaded.
pub(crate) struct Contract {
    /// Its name.
    pub(crate) name: &'static str,
    /// Its source.
    pub(crate) source: &'static str,
    /// The built artifact.
    pub(crate) artifact: Artifact,
    /// The artifact loaded in [`Library::sandbox`].
    pub(crate) module: LoadedModule,
}

/// One successful call of a happy path: the public part every party runs.
pub(crate) struct Call {
    /// Index into [`Library::contracts`].
    pub(crate) contract: usize,
    /// The function.
    pub(crate) function: String,
    /// The public part's input, reveals included.
    pub(crate) input: CallInput,
    /// Fuel of the public part.
    pub(crate) fuel: u64,
    /// Fuel of the witness part, for a function with a circuit.
    pub(crate) witness_fuel: Option<u64>,
}

/// Every library contract, and the first successful call of each function
/// its happy path makes.
pub(crate) struct Library {
    /// One sandbox with the default node configuration.
    pub(crate) sandbox: Sandbox,
    /// The contracts, in [`LIBRARY`] order.
    pub(crate) contracts: Vec<Contract>,
    /// The calls, contract by contract, in the order the plays made them.
    pub(crate) calls: Vec<Call>,
}

impl Library {
    /// Compiles, loads and plays the whole library; fails if any scenario
    /// does not play as written, so nothing is timed on a wrong path.
    pub(crate) fn new() -> Result<Self> {
        let sandbox = Sandbox::new(SandboxConfig::default()).context("building the sandbox")?;
        let mut contracts = Vec::new();
        let mut calls: Vec<Call> = Vec::new();
        for (index, ((name, source), happy)) in LIBRARY.iter().zip(HAPPY).enumerate() {
            let artifact = compile(source)
                .map_err(|d| anyhow!("{name} does not build: {} diagnostics", d.len()))?
                .artifact;
            let module = sandbox
                .load_artifact(&artifact)
                .with_context(|| format!("loading {name}"))?;
            let abi = artifact.abi();
            let plan = Scenario::parse(happy)
                .and_then(|s| s.resolve(abi))
                .with_context(|| format!("{name}.happy.toml"))?;
            let played = sotto_engine::play::play(&sandbox, &module, abi, &plan)
                .with_context(|| format!("playing {name}.happy.toml"))?;
            for call in played.calls {
                let Ok(out) = &call.result else { continue };
                let seen = calls
                    .iter()
                    .any(|c| c.contract == index && c.function == call.function);
                let Some((_, f)) = abi.function(&call.function) else {
                    continue;
                };
                if seen {
                    continue;
                }
                calls.push(Call {
                    contract: index,
                    input: public_call(abi, f, &call.input, &out.reveals),
                    function: call.function,
                    fuel: out.public.fuel_used,
                    witness_fuel: out.witness.as_ref().map(|w| w.fuel_used),
                });
            }
            contracts.push(Contract {
                name,
                source,
                artifact,
                module,
            });
        }
        Ok(Library {
            sandbox,
            contracts,
            calls,
        })
    }

    /// One timed call: a fresh instance of the contract's module and its
    /// public part, checked to use the fuel it used when it was played.
    pub(crate) fn call(&self, call: &Call) -> Result<()> {
        let contract = &self.contracts[call.contract];
        let out = self
            .sandbox
            .call(&contract.module, &call.function, call.input.clone())?;
        anyhow::ensure!(
            out.fuel_used == call.fuel,
            "{}.{} used {} fuel, {} when played",
            contract.name,
            call.function,
            out.fuel_used,
            call.fuel
        );
        Ok(())
    }

    /// `NAME.FUNCTION` of a call, for row names.
    pub(crate) fn label(&self, call: &Call) -> String {
        format!("{}.{}", self.contracts[call.contract].name, call.function)
    }
}
