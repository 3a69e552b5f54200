//! `sotto bench sandbox`: what running a contract step costs.
//!
//! Rows, in order:
//! 1. `call_trivial`: instantiate and call a one-page module whose
//!    `call.noop` does nothing: the floor of every call (a `Store`, a pooled
//!    instance and memory, fuel, the call), held against the 3 µs target.
//! 2. `call_no_memory`: the same module without memory: the difference to
//!    `call_trivial` is what a pooled memory slot costs per call.
//! 3. `call_payment`: the same for `payment(30, party 1)` of the payment
//!    module, eight host calls; `per_s` is calls per second on one core.
//! 4. `call_hash`: `sha(x)` of the hash module, SHA-256 of 32 bytes.
//! 5. `compile_payment`: [`Sandbox::load`](sotto_engine::sandbox::Sandbox::load)
//!    of the payment module: the loader's checks, Cranelift compilation and
//!    linking.
//! 6. `call_NAME.FUNCTION` for each function of each library contract that
//!    its happy-path scenario calls successfully ([`super::library`]): a
//!    fresh instance and the public part, with that call's inputs, with its
//!    `fuel`; baseline `call_trivial`. This is what every party pays to
//!    re-execute one step of a real agreement.
//!
//! Each call row is measured alone, one module called over and over, as a
//! node re-executing one contract's steps does: interleaving the modules
//! call by call (as `proofs` does for rows it compares) costs every call
//! about 1 µs more in cold caches and TLB entries, which would measure the
//! mix rather than the call. `call_payment` and `call_hash` name
//! `call_no_memory` and `call_trivial` as their baselines (the difference is
//! the module's own work). Modules and inputs come from [`fixtures`], shared
//! with `benches/sandbox.rs`.

pub(crate) mod fixtures;

use anyhow::Result;

use super::measure::{Budget, Progress, Samples, alone};
use super::output::time;
use super::{Check, Report, Row};
use fixtures::Fixtures;

/// Number of rows (and progress steps) of this area.
pub(crate) const ROWS: usize = 5 + 7;

const TRIVIAL: &str = "call_trivial";
const NO_MEMORY: &str = "call_no_memory";
const PAYMENT: &str = "call_payment";
const HASH: &str = "call_hash";
const COMPILE: &str = "compile_payment";

/// Target: median instantiate + call of a trivial one-page module, in ns.
const TRIVIAL_TARGET_NS: u64 = 3_000;

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = Report::default();
    progress.start("loading the modules");
    let fx = Fixtures::new()?;

    // 1-4. The calls, each alone (see the module docs).
    for (name, call, baseline) in [
        (TRIVIAL, &fx.trivial, None),
        (NO_MEMORY, &fx.no_memory, None),
        // The payment module has no memory; the hash module has one page.
        (PAYMENT, &fx.payment, Some(NO_MEMORY)),
        (HASH, &fx.hash, Some(TRIVIAL)),
    ] {
        progress.start(name);
        let samples = alone(budget, || fx.call(call))?;
        report.rows.push(row(name, &samples, baseline));
        progress.done(1);
    }

    // 4. Loading.
    progress.start(COMPILE);
    let compile = alone(budget, || fx.compile_payment().map(drop))?;
    report.rows.push(row(COMPILE, &compile, None));
    progress.done(1);

    // 6. The library's functions, contract by contract.
    let library = super::library::Library::new()?;
    for (index, contract) in library.contracts.iter().enumerate() {
        progress.start(contract.name);
        for call in library.calls.iter().filter(|c| c.contract == index) {
            let samples = alone(budget, || library.call(call))?;
            report.rows.push(Row {
                fuel: Some(call.fuel),
                ..row(
                    &format!("call_{}", library.label(call)),
                    &samples,
                    Some(TRIVIAL),
                )
            });
        }
        progress.done(1);
    }

    judge(&mut report, budget);
    Ok(report)
}

fn row(name: &str, samples: &Samples, baseline: Option<&str>) -> Row {
    let median = samples.median();
    Row {
        name: name.into(),
        median_ns: Some(median),
        p99_ns: Some(samples.p99()),
        per_s: (median > 0).then(|| 1e9 / median as f64),
        baseline: baseline.map(Into::into),
        ..Row::default()
    }
}

/// Holds `call_trivial` against its target and adds the notes a reader needs.
fn judge(report: &mut Report, budget: Budget) {
    let find = |name: &str| report.rows.iter().find(|r| r.name == name);
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    if let Some(median) = find(TRIVIAL).and_then(|r| r.median_ns) {
        checks.push(Check {
            what: format!("{TRIVIAL} median (instantiate + call, 1 page of memory)"),
            value: time(median),
            target: format!("≤ {}", time(TRIVIAL_TARGET_NS)),
            missed_by: (median > TRIVIAL_TARGET_NS).then(|| time(median - TRIVIAL_TARGET_NS)),
        });
    }
    let median = |name: &str| find(name).and_then(|r| r.median_ns);
    // Signed: under noise a difference can come out negative.
    let difference = |a: u64, b: u64| {
        if a >= b {
            time(a - b)
        } else {
            format!("-{}", time(b - a))
        }
    };
    if let (Some(trivial), Some(bare)) = (median(TRIVIAL), median(NO_MEMORY)) {
        notes.push(format!(
            "{TRIVIAL} - {NO_MEMORY} = {}: one page of pooled memory, per call",
            difference(trivial, bare)
        ));
    }
    if let (Some(bare), Some(payment)) = (median(NO_MEMORY), median(PAYMENT)) {
        notes.push(format!(
            "{PAYMENT} - {NO_MEMORY} = {} for eight host calls and the code around them \
             (no target)",
            difference(payment, bare)
        ));
    }
    notes.push(
        "call_payment times the hand-written payment.wat of the sandbox tests; \
         the call_NAME.FUNCTION rows time the compiled library"
            .into(),
    );
    if budget.is_quick() {
        notes.push("--quick: a few runs per row; the figures are indicative only".into());
    }
    report.checks = checks;
    report.notes.extend(notes);
}
