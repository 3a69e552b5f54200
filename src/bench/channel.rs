//! `sotto bench channel --in-process`: what one channel update costs with
//! every party in this process, each a state machine with its own SQLite
//! store (`sotto_engine::channel::sim`): the caller runs the function and
//! proves (if private values are involved) and proposes; the counterparty
//! re-executes, verifies and accepts; the caller persists and signs; the
//! counterparty persists and countersigns; the caller records the completed
//! state. Every message goes through the wire encoding. Each signature is
//! preceded by a durable SQLite commit (WAL, `synchronous = FULL`) in a
//! temporary directory on the machine's disk; the proposer's record of the
//! completed state is the one commit left for the next flush (see
//! `store::Snapshot::durable`).
//!
//! Rows:
//! 1. `update_payment`: `pay_bob(1)` and `pay_alice(1)` alternately on the
//!    payment contract (public only), one at a time: the latency of an
//!    update (p50 and p99).
//! 2. `update_payment_memory`: the same with in-memory stores: the
//!    protocol's compute alone, beside row 1.
//! 3. `update_payment_backlog64`: 64 `pay_bob(1)` calls made at once, run
//!    until the channel is quiet (the first goes alone, the other 63 in one
//!    batch: two signing rounds); `median_ns` is for all 64, `per_s` counts
//!    updates. Held against 5,000 updates per second: the throughput of one
//!    channel with durable writes when calls arrive faster than one
//!    signing round.
//! 4. `update_negotiation`: `propose(700)` on the negotiation contract,
//!    repeated: the seller proves `p ≥ seller_floor` against its committed
//!    floor, the buyer verifies; held against a 15 ms median.
//! 5. `sqlite_commit`: one durable commit of a 600-byte record with one
//!    signing-record entry: what each durable step costs, so a reader can
//!    split `update_payment` into its parts.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow};
use sotto_contracts::abi::Value;
use sotto_contracts::compile;
use sotto_contracts::library::LIBRARY;
use sotto_engine::channel::machine::{Config, Contract};
use sotto_engine::channel::sim::Sim;
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::store::{MemoryStore, Snapshot, SqliteStore, Store};

use super::measure::{Budget, Progress, alone};
use super::output::time;
use super::{Check, Report, Row};

/// Progress steps of this area.
pub(crate) const ROWS: usize = 5;

/// Calls made at once in the backlog row.
const BACKLOG: u64 = 64;

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

/// Times whole updates of `sim`'s contract: `contract` picks the calls.
/// Each timed operation makes `backlog` calls at once, then runs the
/// channel until it is quiet.
fn updates<S: Store>(
    budget: Budget,
    sim: &mut Sim<'_, S>,
    contract: &str,
    backlog: u64,
) -> Result<super::measure::Samples> {
    let mut turn = 0u64;
    let samples = alone(budget, || {
        for _ in 0..backlog {
            turn += 1;
            let (by, function, args) = match (contract, turn % 2) {
                ("payment", _) if backlog > 1 => (0, "pay_bob", vec![Value::U64(1)]),
                ("payment", 0) => (1, "pay_alice", vec![Value::U64(1)]),
                ("payment", _) => (0, "pay_bob", vec![Value::U64(1)]),
                _ => (1, "propose", vec![Value::U64(700)]),
            };
            sim.call(by, function, args)?;
        }
        sim.run(usize::MAX);
        Ok(())
    })?;
    if let Some(v) = sim.violations().first() {
        return Err(anyhow!("the channel broke an invariant: {v}"));
    }
    let done = sim
        .party(0)
        .and_then(|p| p.latest())
        .map_or(0, |v| v.version);
    if done < turn {
        return Err(anyhow!("{turn} updates asked, {done} completed"));
    }
    Ok(samples)
}

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = Report::default();
    let sandbox = Sandbox::new(SandboxConfig::default()).context("building the sandbox")?;
    let dir = std::env::temp_dir().join(format!("sotto-bench-channel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    for (row, contract, memory, backlog) in [
        ("update_payment", "payment", false, 1),
        ("update_payment_memory", "payment", true, 1),
        ("update_payment_backlog64", "payment", false, BACKLOG),
        ("update_negotiation", "negotiation", false, 1),
    ] {
        progress.start(row);
        let artifact = compile(source(contract)?)
            .map_err(|d| anyhow!("{contract} does not build: {} diagnostics", d.len()))?
            .artifact;
        let module = sandbox.load_artifact(&artifact)?;
        let cx = Contract {
            sandbox: &sandbox,
            module: &module,
            artifact: &artifact,
        };
        let mut private = vec![BTreeMap::new(), BTreeMap::new()];
        if let Some(floor) = artifact
            .abi()
            .fields
            .iter()
            .position(|f| f.name == "seller_floor")
        {
            private[1].insert(u32::try_from(floor)?, 600);
        }
        let deposits = vec![1_000_000_000, 1_000_000_000];
        let samples = if memory {
            let stores = vec![MemoryStore::new(), MemoryStore::new()];
            let mut sim = Sim::open(cx, Config::default(), stores, deposits, private, 1)?;
            updates(budget, &mut sim, contract, backlog)?
        } else {
            let stores = (0..2)
                .map(|i| SqliteStore::open(&dir.join(format!("{row}-{i}.db"))))
                .collect::<Result<Vec<_>, _>>()?;
            let mut sim = Sim::open(cx, Config::default(), stores, deposits, private, 1)?;
            updates(budget, &mut sim, contract, backlog)?
        };
        let median = samples.median();
        let per_s = (median > 0).then(|| backlog as f64 * 1e9 / median as f64);
        report.rows.push(Row {
            name: row.into(),
            median_ns: Some(median),
            p99_ns: Some(samples.p99()),
            per_s,
            baseline: memory.then(|| "update_payment".into()),
            ..Row::default()
        });
        if backlog > 1 {
            let rate = per_s.unwrap_or(0.0);
            report.checks.push(Check {
                what: format!("{row}: updates per second on one channel, durable"),
                value: format!("{rate:.0}"),
                target: format!("≥ {PAYMENT_TARGET_PER_S:.0}"),
                missed_by: (rate < PAYMENT_TARGET_PER_S)
                    .then(|| format!("{:.0}", PAYMENT_TARGET_PER_S - rate)),
            });
        } else if contract == "negotiation" {
            report.checks.push(Check {
                what: format!("{row} median (prove, verify, two durable signatures)"),
                value: time(median),
                target: format!("≤ {}", time(PRIVATE_TARGET_NS)),
                missed_by: (median > PRIVATE_TARGET_NS).then(|| time(median - PRIVATE_TARGET_NS)),
            });
        }
        progress.done(1);
    }
    progress.start("sqlite_commit");
    let mut store = SqliteStore::open(&dir.join("commit.db"))?;
    let mut version = 0u64;
    let commit = alone(budget, || {
        version += 1;
        let mut digest = [0x5a; 32];
        digest[..8].copy_from_slice(&version.to_be_bytes());
        store.commit(&Snapshot {
            channel_id: [7; 32],
            version,
            record: vec![0xa5; 600],
            secret: sotto_engine::store::Zeroizing::new(vec![0x3c; 64]),
            signed: vec![(version, digest)],
            durable: true,
        })?;
        Ok(())
    })?;
    report.rows.push(Row {
        name: "sqlite_commit".into(),
        median_ns: Some(commit.median()),
        p99_ns: Some(commit.p99()),
        per_s: (commit.median() > 0).then(|| 1e9 / commit.median() as f64),
        ..Row::default()
    });
    progress.done(1);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    report.notes.push(
        "durable writes: SQLite (WAL, synchronous = FULL) before every signature; two flushes per signing round, one round per update or per batch"
            .into(),
    );
    if budget.is_quick() {
        report
            .notes
            .push("--quick: a few runs per row; the figures are indicative only".into());
    }
    Ok(report)
}
