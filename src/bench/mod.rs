//! `sotto bench AREA`: in-process benchmarks with readable, JSON, CSV and SVG output.
//!
//! Each area (`proofs`, `contracts`, `sandbox`, `channel`, `chain` and `oracle`)
//! is a module that measures its rows and returns a [`Report`]; this module
//! parses the options, checks output paths before any work starts, shows
//! progress on stderr and writes the results.
//! stdout carries only the results (a table, or one JSON array with `--json`),
//! so it can be piped.
//!
//! Criterion benchmarks of the same cases live in `benches/`; this command
//! exists to produce the one table of figures published in
//! `docs/benchmarks.md`, with baselines measured side by side in the same run.

mod chain;
mod channel;
mod contracts;
pub(crate) mod library;
mod measure;
mod node;
mod oracle;
mod output;
mod plot;
mod proofs;
mod sandbox;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

use measure::{Budget, Progress};

/// Options of `sotto bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    area: Area,
    /// A few runs per row instead of many: seconds, not minutes, and noisier.
    #[arg(long)]
    quick: bool,
    /// Print one JSON array of rows on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the rows as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// channel: only the rows with every party in this process (no anvil
    /// needed); without it, also two nodes in two processes over TCP.
    #[arg(long)]
    in_process: bool,
    /// Also draw the area's chart as SVG to FILE (proofs: cost against
    /// aggregation size; sandbox has no chart).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// The parts of sotto that can be benchmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Area {
    /// Proving, verifying and proof sizes, against bulletproofs and Borromean baselines.
    Proofs,
    /// Compiling the library contracts: time, module size, fuel per function.
    Contracts,
    /// Instantiating and calling contract modules in the sandbox, and loading one.
    Sandbox,
    /// Off-chain channel updates: every party in this process, then two
    /// nodes in two processes over TCP.
    Channel,
    /// On-chain anchoring: gas per adjudicator call and lifecycle, and wall
    /// time per call on the embedded chain and on anvil.
    Chain,
    /// Oracle bets: setting up adaptor signatures as the outcomes grow
    /// (enumerated and numeric), attesting and settling.
    Oracle,
}

/// One measured case. Every field but `name` is optional: a row carries the
/// ones that apply to it, and JSON and CSV leave the others out.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Row {
    /// Unique within a report.
    pub(crate) name: String,
    /// Median time of the row's operation, in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) median_ns: Option<u64>,
    /// 99th percentile of the same operation, in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) p99_ns: Option<u64>,
    /// Median time to prove, in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prove_ns: Option<u64>,
    /// Median time to verify one proof, in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verify_ns: Option<u64>,
    /// Throughput: items per second at the median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) per_s: Option<f64>,
    /// Size of the artifact (proof encoding), in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size_bytes: Option<u64>,
    /// EVM gas used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) gas: Option<u64>,
    /// Sandbox fuel used (WASM operators plus host-call charges): the
    /// deterministic cost a contract step is budgeted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fuel: Option<u64>,
    /// Name of the row this one is compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) baseline: Option<String>,
}

/// A figure held against its target.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// What is compared, e.g. "verify range64 / bulletproofs_range64".
    pub(crate) what: String,
    /// The measured figure, formatted.
    pub(crate) value: String,
    /// The target, formatted, e.g. "≤ 1.05".
    pub(crate) target: String,
    /// `None` if met; otherwise by how much it is missed, formatted.
    pub(crate) missed_by: Option<String>,
}

/// Everything one area measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// The rows, in display order.
    pub(crate) rows: Vec<Row>,
    /// Targets and how the rows fare against them.
    pub(crate) checks: Vec<Check>,
    /// Facts a reader of the figures must know (fallbacks, caveats).
    pub(crate) notes: Vec<String>,
    /// Points of the area's chart, if it has one.
    pub(crate) chart: Option<plot::Chart>,
}

/// How an area measures its rows.
type Measure = fn(Budget, &Progress) -> Result<Report>;

/// The channel area's in-process rows, then its network rows (two nodes,
/// the second a child process of this binary).
fn channel_and_network(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = channel::run(budget, progress)?;
    let sotto = std::env::current_exe().context("locating the sotto binary")?;
    let network = node::run(budget, progress, &sotto)?;
    report.rows.extend(network.rows);
    report.checks.extend(network.checks);
    report.notes.extend(network.notes);
    Ok(report)
}

/// Runs `sotto bench` with `args`.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    // Each area: how to measure it, its row count, whether it has a chart.
    let (measure, rows, chart): (Measure, usize, bool) = match args.area {
        Area::Proofs => (proofs::run, proofs::ROWS, true),
        Area::Contracts => (contracts::run, contracts::ROWS, false),
        Area::Channel if args.in_process => (channel::run, channel::ROWS, false),
        Area::Channel => (channel_and_network, channel::ROWS + node::ROWS, false),
        Area::Sandbox => (sandbox::run, sandbox::ROWS, false),
        Area::Chain => (chain::run, chain::ROWS, false),
        Area::Oracle => (oracle::run, oracle::ROWS, false),
    };
    // Refuse --plot now, not after measuring and leaving an empty file.
    if args.plot.is_some() && !chart {
        bail!(
            "area {} has no chart to plot; drop --plot",
            args.area.name()
        );
    }
    let budget = if args.quick {
        Budget::quick()
    } else {
        Budget::full()
    };
    // Fail on an unwritable path now, not after minutes of measuring.
    let csv = args
        .csv
        .as_deref()
        .map(|p| create(p, "CSV", "--csv"))
        .transpose()?;
    let svg = args
        .plot
        .as_deref()
        .map(|p| create(p, "plot", "--plot"))
        .transpose()?;

    let progress = Progress::new(rows);
    let report = measure(budget, &progress);
    progress.finish();
    let report = report?;

    let mut stdout = std::io::stdout().lock();
    if args.json {
        output::json(&mut stdout, &report.rows)?;
        // Keep stdout to the JSON alone; the verdicts still reach a reader.
        let mut stderr = std::io::stderr().lock();
        output::checks(&mut stderr, &report).context("writing to stderr")?;
    } else {
        output::table(&mut stdout, &report.rows).context("writing the table to stdout")?;
        writeln!(stdout).context("writing to stdout")?;
        output::checks(&mut stdout, &report).context("writing to stdout")?;
    }
    stdout.flush().context("writing to stdout")?;

    if let Some((file, path)) = csv {
        let mut out = BufWriter::new(file);
        output::csv(&mut out, &report.rows)
            .and_then(|()| out.flush())
            .map_err(|e| {
                anyhow!(
                    "cannot write CSV to {}: {e}; free space or choose another path",
                    path.display()
                )
            })?;
    }
    if let Some((mut file, path)) = svg {
        let Some(chart) = &report.chart else {
            bail!(
                "area {} has no chart to plot; drop --plot",
                args.area.name()
            );
        };
        let svg = plot::svg(chart)?;
        file.write_all(svg.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| {
                anyhow!(
                    "cannot write the plot to {}: {e}; free space or choose another path",
                    path.display()
                )
            })?;
    }
    Ok(())
}

/// Creates (truncates) an output file, with a message that says what to do.
fn create(path: &Path, what: &str, flag: &str) -> Result<(File, PathBuf)> {
    let file = File::create(path).map_err(|e| {
        anyhow!(
            "cannot create the {what} file {}: {e}; pass {flag} a path in a writable directory",
            path.display()
        )
    })?;
    Ok((file, path.to_owned()))
}

impl Area {
    /// The name as typed on the command line.
    fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_owned())
    }
}
