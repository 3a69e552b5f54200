//! `sotto bench contracts`: what building the library costs, and what its
//! functions cost to run.
//!
//! Rows, in order:
//! 1. `compile_NAME` for each library contract: [`sotto_contracts::compile`]
//!    from source text to a validated artifact (parse, check, code
//!    generation, constraint programs, wasmparser validation), with
//!    `size_bytes` the module's size, held against the 20 ms target.
//! 2. `fuel_NAME.FUNCTION` for each function the contract's happy-path
//!    scenario calls successfully: `fuel` of the public part with that
//!    call's inputs, and, for a function with a circuit, a second row
//!    `fuel_NAME.FUNCTION.witness` for its witness part. Fuel is
//!    deterministic (docs/abi.md), so these rows are counts, not timings;
//!    the budget a contract declares is derived from a static bound
//!    (docs/notes/compiler.md), and a row above it would be a compiler bug.
//!
//! Sources and scenarios come from [`super::library`], shared with
//! `benches/contracts.rs` and `sotto bench sandbox`.

use anyhow::Result;

use super::library::Library;
use super::measure::{Budget, Progress, alone};
use super::output::time;
use super::{Check, Report, Row};

/// Progress steps of this area: one per contract compiled, one for fuel.
pub(crate) const ROWS: usize = 8;

/// Target: median compile time of each library contract, in ns (release).
const COMPILE_TARGET_NS: u64 = 20_000_000;

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = Report::default();
    progress.start("compiling and playing the library");
    let library = Library::new()?;

    for contract in &library.contracts {
        let name = format!("compile_{}", contract.name);
        progress.start(&name);
        let samples = alone(budget, || {
            sotto_contracts::compile(contract.source)
                .map(drop)
                .map_err(|d| anyhow::anyhow!("{} diagnostics", d.len()))
        })?;
        let median = samples.median();
        report.checks.push(Check {
            what: format!("{name} median"),
            value: time(median),
            target: format!("< {}", time(COMPILE_TARGET_NS)),
            missed_by: (median >= COMPILE_TARGET_NS).then(|| time(median - COMPILE_TARGET_NS)),
        });
        report.rows.push(Row {
            name,
            median_ns: Some(median),
            p99_ns: Some(samples.p99()),
            size_bytes: u64::try_from(contract.artifact.bytes().len()).ok(),
            ..Row::default()
        });
        progress.done(1);
    }

    progress.start("fuel per function");
    for call in &library.calls {
        let label = library.label(call);
        let budget_fuel = library.contracts[call.contract]
            .artifact
            .abi()
            .budgets
            .fuel_per_call;
        for (suffix, fuel) in [("", Some(call.fuel)), (".witness", call.witness_fuel)] {
            let Some(fuel) = fuel else { continue };
            anyhow::ensure!(
                fuel <= budget_fuel,
                "{label}{suffix} used {fuel} fuel, above its budget of {budget_fuel}"
            );
            report.rows.push(Row {
                name: format!("fuel_{label}{suffix}"),
                fuel: Some(fuel),
                ..Row::default()
            });
        }
    }
    progress.done(1);

    if cfg!(debug_assertions) {
        report.notes.push(
            "built without optimisations: the compile target is for a release build \
             (cargo run --release -- bench contracts)"
                .into(),
        );
    }
    if budget.is_quick() {
        report
            .notes
            .push("--quick: a few runs per row; the figures are indicative only".into());
    }
    Ok(report)
}
