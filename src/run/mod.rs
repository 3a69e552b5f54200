//! `sotto run CONTRACT.sotto`: the main job. Compiles the contract, opens a
//! channel between its parties on the anchor chain, plays a scenario
//! through the whole protocol (calls, proofs, signatures, durable SQLite
//! stores, messages in the wire format), settles on chain, and reports what
//! happened, what it cost, and what the chain saw.
//!
//! Both parties run in this process (`--in-process`, the only mode until
//! `sotto node` exists); the chain is the embedded EVM running the
//! adjudicator's bytecode, its clock starting at 0 (scenario times count
//! from there). The parties sign with the harness's fixed demo keys and
//! their stores live in a temporary directory removed at the end: a
//! demonstration, not a wallet. Exit code 0 when the scenario's stated
//! outcome was reached, 1 otherwise with the step that went differently.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use serde::Serialize;
use sotto_contracts::scenario::Scenario;
use sotto_engine::anchor::EmbeddedChain;
use sotto_engine::channel::machine::Contract;
use sotto_engine::channel::sim::secret as sim_secret;
use sotto_engine::run::{Progress, Report, RunError, run as play};
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::state::SigningKey;
use sotto_engine::store::SqliteStore;

use crate::author::{read_source, report};
use crate::usage;

mod nodes;

/// `sotto run CONTRACT [--scenario FILE] [--json]`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The contract's source (`.sotto`).
    contract: PathBuf,
    /// The scenario to play (TOML); default: `NAME.happy.toml` beside the
    /// contract.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The anchor chain: `embedded` (an in-process EVM, nothing to install).
    #[arg(long, default_value = "embedded")]
    chain: String,
    /// Run every party in this process (the default, and for now the only
    /// mode: two `sotto node` processes come with the node).
    #[arg(long)]
    in_process: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// The JSON report.
#[derive(Debug, Serialize)]
struct JsonReport {
    outcome_reached: bool,
    scenario: String,
    steps: usize,
    version: u64,
    proofs: JsonProofs,
    wire: JsonWire,
    chain: JsonChain,
    /// The same agreement with every step an on-chain transaction (a low
    /// bound).
    on_chain_equivalent: JsonEquivalent,
    paid: Vec<u64>,
    finished: bool,
    disputed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
struct JsonProofs {
    count: usize,
    bytes: Vec<usize>,
    /// Per proof: its proposer's step (run + prove), microseconds.
    made_us: Vec<u64>,
    /// Per proof: the slowest checker's step (re-run + verify),
    /// microseconds.
    checked_us: Vec<u64>,
}

#[derive(Debug, Serialize)]
struct JsonWire {
    messages: u64,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct JsonChain {
    transactions: usize,
    gas: u64,
    calldata_bytes: u64,
    calls: Vec<JsonCall>,
}

#[derive(Debug, Serialize)]
struct JsonEquivalent {
    transactions: u64,
    gas_at_least: u64,
}

#[derive(Debug, Serialize)]
struct JsonCall {
    party: String,
    call: &'static str,
    gas: Option<u64>,
    calldata_bytes: Option<u64>,
}

/// Where the run's chain is.
enum ChainArg {
    /// The embedded EVM.
    Embedded,
    /// A development node over JSON-RPC.
    Url(String),
}

fn chain_arg(given: &str) -> Result<ChainArg> {
    match given {
        "embedded" => Ok(ChainArg::Embedded),
        url if url.starts_with("http://") => {
            probe(url)?;
            Ok(ChainArg::Url(url.to_owned()))
        }
        url if url.starts_with("https://") => Err(usage!(
            "--chain {url}: this build speaks plain http:// only (a development node on this machine)"
        )),
        other => Err(usage!(
            "--chain {other}: give `embedded` (the default) or the http:// URL of a development node (anvil, `sotto chain serve`)"
        )),
    }
}

/// Whether a development chain answers at `url`, before anything starts.
fn probe(url: &str) -> Result<()> {
    let answered = sotto_engine::devnet::http_addr(url)
        .and_then(|addr| sotto_engine::devnet::request(addr, "eth_chainId", serde_json::json!([])));
    match answered {
        Ok(_) => Ok(()),
        Err(e) => bail!(
            "no chain answers at {url} ({e}); start one (`sotto chain serve`, or anvil) or leave out --chain for the embedded chain"
        ),
    }
}

/// Runs the main job. See the module docs.
pub(crate) fn run(args: &RunArgs) -> Result<()> {
    let chain_arg = chain_arg(&args.chain)?;
    let source = read_source(&args.contract)?;
    let artifact = match sotto_contracts::compile(&source) {
        Ok(built) => built.artifact,
        Err(diags) => {
            report(&args.contract, &source, &diags);
            bail!(
                "{} does not compile; `sotto check {}` shows the same diagnostics",
                args.contract.display(),
                args.contract.display()
            );
        }
    };
    let scenario_path = match &args.scenario {
        Some(p) => p.clone(),
        None => default_scenario(&args.contract)?,
    };
    let text = std::fs::read_to_string(&scenario_path)
        .with_context(|| format!("cannot read the scenario {}", scenario_path.display()))?;
    let scenario =
        Scenario::parse(&text).map_err(|e| anyhow!("{}: {e}", scenario_path.display()))?;
    check_contract(&scenario_path, &scenario.contract, &args.contract)?;
    let abi = artifact.abi();
    let plan = scenario
        .resolve(abi)
        .map_err(|e| anyhow!("{}: {e}", scenario_path.display()))?;

    let dir = std::env::temp_dir().join(format!("sotto-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _cleanup = RemoveOnDrop(dir.clone());
    if !args.json {
        println!("{} — {}", artifact.abi().name, plan.name);
        if args.in_process {
            println!(
                "  every party in this process, on {}",
                chain_name(&chain_arg)
            );
        } else {
            println!(
                "  {} `sotto node` processes on loopback TCP (Noise), on {}",
                abi.parties.len(),
                chain_name(&chain_arg)
            );
        }
        for (i, f) in abi.fields.iter().enumerate() {
            if let (Some(owner), Some(v)) = (f.owner, plan.fields.get(i)) {
                let who = abi.parties.get(owner as usize).map_or("?", String::as_str);
                println!("  [{who}'s node] private {} = {}", f.name, show(v));
            }
        }
    }
    let started = Instant::now();
    let json = args.json;
    let parties = abi.parties.clone();
    let bar = progress_bar(json, plan.steps.len());
    let mut show_progress = |p: &Progress| {
        if !json {
            let line = progress_line(&parties, p);
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            if matches!(
                p,
                Progress::Called { .. }
                    | Progress::Refused { .. }
                    | Progress::Waited { .. }
                    | Progress::Crashed { .. }
            ) {
                bar.inc(1);
            }
        }
    };
    let result = if args.in_process {
        in_process(&artifact, &plan, &chain_arg, &dir, &mut show_progress)
    } else {
        let sotto =
            std::env::current_exe().context("finding the sotto binary to start nodes from")?;
        let served;
        let chain = match &chain_arg {
            ChainArg::Embedded => {
                served = serve_embedded()?;
                nodes::ChainAt {
                    url: served.url().to_owned(),
                    adjudicator: Some(served.adjudicator()),
                }
            }
            ChainArg::Url(url) => nodes::ChainAt {
                url: url.clone(),
                adjudicator: None,
            },
        };
        nodes::play(&sotto, &dir, &artifact, &plan, &chain, &mut show_progress)
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    // A step or outcome that differs from the scenario names the
    // scenario; a failure to set up or run does not.
    let deviation = result
        .as_ref()
        .err()
        .is_some_and(|e| e.downcast_ref::<RunError>().is_some());
    let (report, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    if args.json {
        let json = json_report(
            &scenario_path,
            &plan.name,
            report.as_ref(),
            &parties,
            error.clone(),
            elapsed.as_millis(),
        );
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if let Some(r) = &report {
        print_report(r, &parties, elapsed.as_millis());
    }
    match error {
        None => Ok(()),
        Some(e) if deviation => bail!("{}: {e}", scenario_path.display()),
        Some(e) => bail!("{e}"),
    }
}

/// Removes a directory when dropped (the run's stores and node data:
/// a demonstration's, not a wallet's).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chain_name(chain: &ChainArg) -> String {
    match chain {
        ChainArg::Embedded => "the embedded chain".into(),
        ChainArg::Url(url) => format!("the chain at {url}"),
    }
}

/// A bar over the scenario's steps on a terminal (hidden otherwise, and
/// for `--json`).
fn progress_bar(json: bool, steps: usize) -> indicatif::ProgressBar {
    if json || steps < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(steps as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("  [{bar:30}] step {pos}/{len}, {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Every party in this process (`--in-process`): the protocol over the
/// in-memory network, each party with its own SQLite store.
fn in_process(
    artifact: &sotto_contracts::Artifact,
    plan: &sotto_contracts::scenario::Resolved,
    chain: &ChainArg,
    dir: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report> {
    let abi = artifact.abi();
    let sandbox = Sandbox::new(SandboxConfig::default()).context("starting the sandbox")?;
    let module = sandbox.load_artifact(artifact)?;
    let cx = Contract {
        sandbox: &sandbox,
        module: &module,
        artifact,
    };
    let stores = (0..abi.parties.len())
        .map(|i| SqliteStore::open(&dir.join(format!("{}.db", abi.parties[i]))))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<SigningKey> = (0..abi.parties.len())
        .filter_map(|i| SigningKey::from_bytes(&sim_secret(i)))
        .collect();
    match chain {
        ChainArg::Embedded => {
            // A simulated clock from 0: scenario times count from there.
            let mut chain = EmbeddedChain::with_genesis(31337, 0)
                .map_err(|e| anyhow!("starting the embedded chain: {e}"))?;
            // The participants hold coins of their own, as real ones do
            // (paying an address that does not exist yet costs 25,000 gas
            // more).
            for key in &keys {
                chain
                    .fund(key.address(), 1_000_000_000_000_000_000)
                    .map_err(|e| anyhow!("funding the participants: {e}"))?;
            }
            Ok(play(cx, plan, stores, chain, progress)?)
        }
        ChainArg::Url(url) => {
            let rpc = sotto_engine::devnet::http_addr(url)?;
            let key =
                sotto_engine::devnet::dev_key().ok_or_else(|| anyhow!("the development key"))?;
            for who in keys.iter().map(SigningKey::address).chain([key.address()]) {
                sotto_engine::devnet::set_balance(rpc, who, 1_000_000_000_000_000_000)
                    .with_context(|| format!("funding the participants on {url}"))?;
            }
            let chain = sotto_engine::anchor::RpcChain::connect(url, key, 0, None)
                .with_context(|| format!("the chain at {url}"))?;
            Ok(play(cx, plan, stores, chain, progress)?)
        }
    }
}

/// A scenario names its contract (relative to itself): it must be the one
/// given, or the run would play steps written for another contract.
fn check_contract(scenario: &Path, named: &str, given: &Path) -> Result<()> {
    let named_path = scenario
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(named);
    let same = match (named_path.canonicalize(), given.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => named_path.file_name() == given.file_name(),
    };
    if same {
        return Ok(());
    }
    Err(usage!(
        "{} is written for {}, not {}; run `sotto run {} --scenario {}`",
        scenario.display(),
        named_path.display(),
        given.display(),
        named_path.display(),
        scenario.display()
    ))
}

fn default_scenario(contract: &Path) -> Result<PathBuf> {
    let stem = contract
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| usage!("{}: not a contract file name", contract.display()))?;
    let path = contract.with_file_name(format!("{stem}.happy.toml"));
    if !path.exists() {
        return Err(usage!(
            "no scenario given and {} does not exist; pass --scenario FILE (sotto new writes one)",
            path.display()
        ));
    }
    Ok(path)
}

fn show(v: &sotto_contracts::abi::Value) -> String {
    use sotto_contracts::abi::Value;
    match v {
        Value::U64(x) => x.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Bytes32(b) => format!(
            "0x{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Value::Party(p) => format!("party #{p}"),
    }
}

fn progress_line(parties: &[String], p: &Progress) -> String {
    match p {
        Progress::Opened { channel_id } => {
            let id: String = channel_id[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("  opened channel 0x{id}… and funded it on chain")
        }
        Progress::Called {
            step,
            function,
            by,
            version,
            proved,
        } => format!(
            "  step {step:>2}  {by:<8} {function:<14} → version {version}{}",
            if *proved {
                ", proof verified by every other party"
            } else {
                ""
            }
        ),
        Progress::Refused {
            step,
            function,
            reason,
        } => format!("  step {step:>2}  {function:<23} refused as expected: {reason}"),
        Progress::Waited { seconds } => format!("  {seconds} s pass"),
        Progress::Silent { party } => {
            format!("  {party} goes silent: the others dispute with the latest signed state")
        }
        Progress::Crashed { party, version } => {
            format!("  {party}'s node crashed and restarted: resumed at version {version}")
        }
        Progress::Stale {
            party,
            version,
            latest,
        } => format!(
            "  {party} registers the stale version {version} on chain and goes silent; the others refute it with version {latest}"
        ),
        Progress::Settled { paid, disputed } => format!(
            "  settled on chain{}: {}",
            if *disputed { " after a dispute" } else { "" },
            sotto_engine::play::amounts(parties, paid)
        ),
    }
}

fn print_report(r: &Report, parties: &[String], elapsed_ms: u128) {
    let gas: u64 = r.chain.iter().filter_map(|(_, _, rc)| rc.gas).sum();
    let calldata: u64 = r
        .chain
        .iter()
        .filter_map(|(_, _, rc)| rc.calldata_bytes)
        .sum();
    let proof_bytes: usize = r.proofs.iter().map(|p| p.bytes).sum();
    println!();
    println!("outcome reached in {elapsed_ms} ms");
    println!(
        "  off-chain: {} steps, {} signed versions, {} messages ({} bytes)",
        r.steps, r.version, r.wire.0, r.wire.1
    );
    println!(
        "  proofs:    {} made and verified ({} bytes in all)",
        r.proofs.len(),
        proof_bytes
    );
    for p in &r.proofs {
        println!(
            "             {} bytes, made in {:.1} ms, checked in {:.1} ms",
            p.bytes,
            p.made.as_secs_f64() * 1e3,
            p.checked.as_secs_f64() * 1e3
        );
    }
    println!(
        "  on chain:  {} transactions, {gas} gas, {calldata} bytes of calldata",
        r.chain.len()
    );
    for (p, call, rc) in &r.chain {
        let who = parties.get(*p as usize).map_or("?", String::as_str);
        println!(
            "             {who:<8} {call:<9} {} gas",
            rc.gas.map_or_else(|| "-".into(), |g| g.to_string())
        );
    }
    let (txs, floor) = on_chain_equivalent(r);
    println!(
        "  the same agreement with every step on chain: {txs} transactions, at least {floor} gas (and every private value public)"
    );
}

/// What the agreement would cost if every step were its own transaction
/// to an on-chain contract: a deliberately low bound of 21,000 gas per
/// transaction plus one 20,000-gas storage write per step, on top of the
/// same deposits and payouts; proofs are not counted (verifying a
/// bulletproof on the EVM costs far more than all of it).
fn on_chain_equivalent(r: &Report) -> (u64, u64) {
    let steps = r.version;
    let settle: u64 = r.chain.iter().filter_map(|(_, _, rc)| rc.gas).sum();
    let txs = r.chain.len() as u64 + steps;
    (txs, settle + steps * (21_000 + 20_000))
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn json_report(
    path: &Path,
    name: &str,
    r: Option<&Report>,
    parties: &[String],
    error: Option<String>,
    elapsed_ms: u128,
) -> JsonReport {
    let chain = r.map(|r| &r.chain[..]).unwrap_or_default();
    let proofs = r.map(|r| &r.proofs[..]).unwrap_or_default();
    JsonReport {
        outcome_reached: error.is_none(),
        scenario: format!("{} ({name})", path.display()),
        steps: r.map_or(0, |r| r.steps),
        version: r.map_or(0, |r| r.version),
        proofs: JsonProofs {
            count: r.map_or(0, |r| r.proofs.len()),
            bytes: proofs.iter().map(|p| p.bytes).collect(),
            made_us: proofs.iter().map(|p| micros(p.made)).collect(),
            checked_us: proofs.iter().map(|p| micros(p.checked)).collect(),
        },
        wire: JsonWire {
            messages: r.map_or(0, |r| r.wire.0),
            bytes: r.map_or(0, |r| r.wire.1),
        },
        chain: JsonChain {
            transactions: chain.len(),
            gas: chain.iter().filter_map(|(_, _, rc)| rc.gas).sum(),
            calldata_bytes: chain
                .iter()
                .filter_map(|(_, _, rc)| rc.calldata_bytes)
                .sum(),
            calls: chain
                .iter()
                .map(|(p, call, rc)| JsonCall {
                    party: parties.get(*p as usize).cloned().unwrap_or_default(),
                    call,
                    gas: rc.gas,
                    calldata_bytes: rc.calldata_bytes,
                })
                .collect(),
        },
        on_chain_equivalent: {
            let (transactions, gas_at_least) = r.map(on_chain_equivalent).unwrap_or_default();
            JsonEquivalent {
                transactions,
                gas_at_least,
            }
        },
        paid: r.map(|r| r.paid.clone()).unwrap_or_default(),
        finished: r.is_some_and(|r| r.finished),
        disputed: r.is_some_and(|r| r.disputed),
        error,
        elapsed_ms: u64::try_from(elapsed_ms).unwrap_or(u64::MAX),
    }
}

/// The embedded chain, served to the nodes over JSON-RPC by this process
/// on a free loopback port; its clock starts at 0, as in-process, so
/// scenario times mean the same in both modes.
fn serve_embedded() -> Result<sotto_engine::anchor::ServedChain> {
    let chain = EmbeddedChain::with_genesis(31337, 0)
        .map_err(|e| anyhow!("starting the embedded chain: {e}"))?;
    sotto_engine::anchor::ServedChain::on_free_port(chain)
        .map_err(|e| anyhow!("serving the embedded chain to the nodes: {e}"))
}
