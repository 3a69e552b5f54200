//! `sotto bench channel` over the network: two nodes in two processes on
//! loopback TCP (Noise_XK), each with its durable SQLite store, sharing an
//! anvil chain (the one `npm ci --prefix tools/evm` installs). Node A runs
//! in this process, so a call's time is measured from the request to the
//! fully signed state without a control-socket round trip; node B is a
//! `sotto node` child process.
//!
//! Rows (`tcp_` beside the in-process rows of the same names):
//! 1. `tcp_update_payment`: `pay_bob(1)` one at a time, each waited for
//!    until fully signed at A: the latency of a public update between two
//!    processes (p50, p99). Held against p50 ≤ 2 ms.
//! 2. `tcp_update_payment_backlog`: 1,000 `pay_bob(1)` calls made at once,
//!    until the last is fully signed; `per_s` counts updates (calls).
//!    Held against 2,000 updates per second on one channel.
//! 3. `tcp_update_negotiation`: `propose(700)` by the seller (node A),
//!    one at a time: the seller proves `p ≥ seller_floor` against its
//!    committed floor, the buyer verifies; the in-process row of the same
//!    call is its baseline. Held against p50 ≤ 15 ms.
//! 4. `tcp_aggregate_{1,10,100}`: 200 payments queued at once on each of
//!    1, 10 and 100 channels between the same two nodes; `per_s` counts
//!    every channel's updates until the last is signed.
//! 5. `tcp_idle_channel_memory`: node B's resident memory grown by opening
//!    100 channels that then sit idle, per channel (`size_bytes`). Held
//!    against 16 KiB.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use sotto_contracts::abi::Value;
use sotto_contracts::compile;
use sotto_engine::devnet::TwoNodes;

use super::measure::{Budget, Progress, alone};
use super::output::time;
use super::{Check, Report, Row};

/// Progress steps of this area.
pub(crate) const ROWS: usize = 7;

const BACKLOG: u64 = 1000;
const PER_CHANNEL: u64 = 200;
const IDLE: usize = 100;
const PUBLIC_P50_NS: u64 = 2_000_000;
const PUBLIC_PER_S: f64 = 2_000.0;
const PRIVATE_P50_NS: u64 = 15_000_000;
const IDLE_BYTES: u64 = 16 * 1024;

fn module(name: &str) -> Result<Vec<u8>> {
    let source = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| anyhow!("no library contract {name}"))?;
    Ok(compile(source)
        .map_err(|d| anyhow!("{name} does not build: {} diagnostics", d.len()))?
        .artifact
        .bytes()
        .to_vec())
}

/// Measures every row. See the module docs.
pub(crate) fn run(budget: Budget, progress: &Progress, sotto: &Path) -> Result<Report> {
    let mut report = Report::default();
    progress.start("starting two nodes and anvil");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pair = TwoNodes::start(&root, sotto).map_err(|e| {
        anyhow!("{e}; the network rows need anvil (or run `sotto bench channel --in-process`)")
    })?;
    let payment = module("payment")?;
    let negotiation = module("negotiation")?;
    let pay = pair.open(&payment, 0, vec![1 << 40, 1 << 40], BTreeMap::new())?;
    // A is the seller (party 1), its floor (field 3) private.
    let neg = pair.open(&negotiation, 1, vec![1 << 40, 1 << 40], [(3, 600)].into())?;
    progress.done(1);

    progress.start("tcp_update_payment");
    let samples = alone(budget, || {
        Ok(pair.call(&pay, "pay_bob", vec![Value::U64(1)])?)
    })?;
    let p50 = samples.median();
    report.rows.push(Row {
        name: "tcp_update_payment".into(),
        median_ns: Some(p50),
        p99_ns: Some(samples.p99()),
        per_s: (p50 > 0).then(|| 1e9 / p50 as f64),
        baseline: Some("update_payment".into()),
        ..Row::default()
    });
    report.checks.push(Check {
        what: "tcp_update_payment p50 (two processes, durable)".into(),
        value: time(p50),
        target: format!("≤ {}", time(PUBLIC_P50_NS)),
        missed_by: (p50 > PUBLIC_P50_NS).then(|| time(p50 - PUBLIC_P50_NS)),
    });
    progress.done(1);

    progress.start("tcp_update_payment_backlog");
    let runs = if budget.is_quick() { 1 } else { 3 };
    let mut times = Vec::new();
    for _ in 0..runs {
        times.push(pair.flood(&[pay], BACKLOG)?);
    }
    times.sort();
    let median = times[times.len() / 2];
    let rate = BACKLOG as f64 / median.as_secs_f64();
    report.rows.push(Row {
        name: "tcp_update_payment_backlog".into(),
        median_ns: Some(u64::try_from(median.as_nanos()).unwrap_or(u64::MAX)),
        per_s: Some(rate),
        baseline: Some("update_payment_backlog64".into()),
        ..Row::default()
    });
    report.checks.push(Check {
        what: "tcp_update_payment_backlog: updates per second on one channel".into(),
        value: format!("{rate:.0}"),
        target: format!("≥ {PUBLIC_PER_S:.0}"),
        missed_by: (rate < PUBLIC_PER_S).then(|| format!("{:.0}", PUBLIC_PER_S - rate)),
    });
    progress.done(1);

    progress.start("tcp_update_negotiation");
    let samples = alone(budget, || {
        Ok(pair.call(&neg, "propose", vec![Value::U64(700)])?)
    })?;
    let p50 = samples.median();
    report.rows.push(Row {
        name: "tcp_update_negotiation".into(),
        median_ns: Some(p50),
        p99_ns: Some(samples.p99()),
        baseline: Some("update_negotiation".into()),
        ..Row::default()
    });
    report.checks.push(Check {
        what: "tcp_update_negotiation p50 (prove, verify, two processes, durable)".into(),
        value: time(p50),
        target: format!("≤ {}", time(PRIVATE_P50_NS)),
        missed_by: (p50 > PRIVATE_P50_NS).then(|| time(p50 - PRIVATE_P50_NS)),
    });
    progress.done(1);

    progress.start("tcp_idle_channel_memory");
    // Let B settle before the first reading.
    std::thread::sleep(Duration::from_millis(500));
    let before = pair
        .b
        .rss_bytes()
        .ok_or_else(|| anyhow!("node B's memory"))?;
    // Ten at a time: opening all at once would measure the allocator's
    // high-water mark of a hundred concurrent openings, not what an idle
    // channel keeps.
    let mut idle = Vec::with_capacity(IDLE);
    while idle.len() < IDLE {
        idle.extend(pair.open_many(&payment, 10, &[1 << 40, 1 << 40])?);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = pair
        .b
        .rss_bytes()
        .ok_or_else(|| anyhow!("node B's memory"))?;
    let per = after.saturating_sub(before) / IDLE as u64;
    report.rows.push(Row {
        name: "tcp_idle_channel_memory".into(),
        size_bytes: Some(per),
        ..Row::default()
    });
    report.checks.push(Check {
        what: format!("resident memory per idle open channel (node B, {IDLE} channels)"),
        value: format!("{:.1} KiB", per as f64 / 1024.0),
        target: format!("≤ {} KiB", IDLE_BYTES / 1024),
        missed_by: (per > IDLE_BYTES)
            .then(|| format!("{:.1} KiB", (per - IDLE_BYTES) as f64 / 1024.0)),
    });
    progress.done(1);

    let mut one = 0.0;
    for n in [1usize, 10, 100] {
        let row = format!("tcp_aggregate_{n}");
        progress.start(&row);
        let took = pair.flood(&idle[..n], PER_CHANNEL)?;
        let rate = (n as u64 * PER_CHANNEL) as f64 / took.as_secs_f64();
        if n == 1 {
            one = rate;
        }
        report.rows.push(Row {
            name: row,
            median_ns: Some(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)),
            per_s: Some(rate),
            baseline: (n > 1).then(|| "tcp_aggregate_1".into()),
            ..Row::default()
        });
        progress.done(1);
    }
    if one <= 0.0 {
        bail!("no aggregate rate was measured");
    }
    report.notes.push(format!(
        "network rows: two nodes in two processes over loopback TCP (Noise_XK), each with its SQLite store (WAL, synchronous = FULL), on anvil; this machine has {} cores",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    ));
    Ok(report)
}
