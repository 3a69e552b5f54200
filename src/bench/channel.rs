//! `sotto bench channel --in-process`: what one channel update costs, with
//! every party in this process ([`LocalChannel`]): the caller runs the
//! function, proves (if private values are involved) and signs; the
//! counterparty re-executes, verifies and countersigns. Each signature is
//! preceded by the signer's durable record (`fsync` of its append-only file,
//! in a temporary directory on the machine's disk); the SQLite store of the
//! update protocol is not built yet, so its writes are not in these
//! figures.
//!
//! Rows:
//! 1. `update_payment`: `pay_bob(1)` and `pay_alice(1)` alternately on the
//!    payment contract (public only); `per_s` is updates per second on one
//!    channel, held against 5,000.
//! 2. `update_negotiation`: `propose(700)` on the negotiation contract,
//!    repeated: the seller proves `p ≥ seller_floor` against its committed
//!    floor, the buyer verifies; held against a 15 ms median.
//! 3. `sync_record`: one signing-record write alone (a 72-byte append and
//!    `fdatasync` in the same directory): what each signature costs in
//!    durability, so a reader can split `update_payment` into its parts.

use anyhow::{Context as _, Result, anyhow};
use sotto_contracts::abi::Value;
use sotto_contracts::compile;
use sotto_contracts::library::LIBRARY;
use sotto_engine::channel::local::LocalChannel;
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::state::SigningKey;

use super::measure::{Budget, Progress, alone};
use super::output::time;
use super::{Check, Report, Row};

/// Progress steps of this area.
pub(crate) const ROWS: usize = 3;

/// Target: public-only updates per second on one channel.
const PAYMENT_TARGET_PER_S: f64 = 5_000.0;
/// Target: median of a private update (proving and verifying included), ns.
const PRIVATE_TARGET_NS: u64 = 15_000_000;

fn source(name: &str) -> Result<&'static str> {
    LIBRARY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| anyhow!("no library contract {name}"))
}

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = Report::default();
    let sandbox = Sandbox::new(SandboxConfig::default()).context("building the sandbox")?;
    let dir = std::env::temp_dir().join(format!("sotto-bench-channel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    for (row, contract, private) in [
        ("update_payment", "payment", &[][..]),
        (
            "update_negotiation",
            "negotiation",
            &[("seller_floor", 600u64)][..],
        ),
    ] {
        progress.start(row);
        let artifact = compile(source(contract)?)
            .map_err(|d| anyhow!("{contract} does not build: {} diagnostics", d.len()))?
            .artifact;
        let module = sandbox.load_artifact(&artifact)?;
        let keys = (0..2).map(|_| SigningKey::generate()).collect();
        let records = dir.join(row);
        std::fs::create_dir_all(&records)?;
        let mut channel = LocalChannel::open(
            &sandbox,
            &module,
            &artifact,
            keys,
            vec![1_000_000, 1_000_000],
            private,
            &records,
        )?;
        let mut turn = 0u64;
        let samples = alone(budget, || {
            turn += 1;
            let (function, args) = match (contract, turn % 2) {
                ("payment", 0) => ("pay_alice", vec![Value::U64(1)]),
                ("payment", _) => ("pay_bob", vec![Value::U64(1)]),
                _ => ("propose", vec![Value::U64(700)]),
            };
            channel.step(function, args).map_err(anyhow::Error::from)
        })?;
        let median = samples.median();
        let per_s = (median > 0).then(|| 1e9 / median as f64);
        report.rows.push(Row {
            name: row.into(),
            median_ns: Some(median),
            p99_ns: Some(samples.p99()),
            per_s,
            ..Row::default()
        });
        if contract == "payment" {
            let rate = per_s.unwrap_or(0.0);
            report.checks.push(Check {
                what: format!("{row}: updates per second on one channel"),
                value: format!("{rate:.0}"),
                target: format!("≥ {PAYMENT_TARGET_PER_S:.0}"),
                missed_by: (rate < PAYMENT_TARGET_PER_S)
                    .then(|| format!("{:.0}", PAYMENT_TARGET_PER_S - rate)),
            });
        } else {
            report.checks.push(Check {
                what: format!("{row} median (prove, verify, sign twice)"),
                value: time(median),
                target: format!("≤ {}", time(PRIVATE_TARGET_NS)),
                missed_by: (median > PRIVATE_TARGET_NS).then(|| time(median - PRIVATE_TARGET_NS)),
            });
        }
        progress.done(1);
    }
    progress.start("sync_record");
    let sync = {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("sync_record"))
            .context("creating the sync probe")?;
        alone(budget, || {
            file.write_all(&[0x5a; 72])?;
            file.sync_data()?;
            Ok(())
        })?
    };
    report.rows.push(Row {
        name: "sync_record".into(),
        median_ns: Some(sync.median()),
        p99_ns: Some(sync.p99()),
        per_s: (sync.median() > 0).then(|| 1e9 / sync.median() as f64),
        ..Row::default()
    });
    progress.done(1);
    let _ = std::fs::remove_dir_all(&dir);
    report.notes.push(
        "durable writes: the signers' fsync'd records only; the SQLite store is not built yet"
            .into(),
    );
    if budget.is_quick() {
        report
            .notes
            .push("--quick: a few runs per row; the figures are indicative only".into());
    }
    Ok(report)
}
