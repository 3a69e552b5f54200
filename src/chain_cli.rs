//! `sotto chain serve`: the embedded chain (the adjudicator on an
//! in-process EVM) served over Ethereum JSON-RPC on a loopback port, so
//! that several `sotto node` processes share one chain with nothing to
//! install (`sotto node --chain http://127.0.0.1:8545 --adjudicator ADDR`).
//! anvil does the same job for those who have it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use clap::{Args, Subcommand};
use serde_json::json;
use sotto_engine::anchor::{EmbeddedChain, ServeError, ServedChain};
use sotto_engine::devnet;
use sotto_engine::state::Address;

use crate::usage;

/// What `--fund ADDR` alone gives: 1000 ether.
const DEFAULT_FUND: u128 = 1_000 * 1_000_000_000_000_000_000;

/// `sotto chain SUBCOMMAND`
#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Serve the embedded chain over JSON-RPC on loopback until Ctrl-C
    /// (a shared chain for several nodes, without anvil).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Where to listen: a loopback address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8545")]
    listen: SocketAddr,
    /// Keep the chain in this file: loaded if it exists, created if not,
    /// written before every block is answered for [default: in memory].
    #[arg(long)]
    state: Option<PathBuf>,
    /// The chain id.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Give ADDR at least WEI (default 1000 ether): its balance is raised
    /// to that, never lowered, so a restart does not mint again.
    #[arg(long = "fund", value_name = "ADDR[=WEI]")]
    fund: Vec<String>,
    /// Print what is served as one JSON line.
    #[arg(long)]
    json: bool,
}

/// Runs `sotto chain ...`.
pub(crate) fn run(args: &ChainArgs) -> Result<()> {
    match &args.command {
        ChainCommand::Serve(serve) => run_serve(serve),
    }
}

fn run_serve(args: &ServeArgs) -> Result<()> {
    // Step 1) the command line, before anything is opened.
    if !args.listen.ip().is_loopback() {
        return Err(usage!(
            "--listen {}: the served chain has no authentication (anyone who reaches it can set \
             balances); give a loopback address such as 127.0.0.1:8545",
            args.listen
        ));
    }
    let funds = args
        .fund
        .iter()
        .map(|f| parse_fund(f))
        .collect::<Result<Vec<_>>>()?;
    // Step 2) the chain, in memory or from its file.
    let chain = match &args.state {
        Some(path) => EmbeddedChain::open(path, args.chain_id)?,
        None => EmbeddedChain::new(args.chain_id).context("starting the embedded chain")?,
    };
    // Step 3) serve it.
    let served = ServedChain::start(chain, args.listen).map_err(|e| match e {
        ServeError::Listen { addr, source } => anyhow!(
            "cannot listen on {addr}: {source} (another program has the port? choose another \
             with --listen 127.0.0.1:PORT)"
        ),
        other => anyhow!(other),
    })?;
    for (who, wei) in &funds {
        if served.balance(*who) < *wei {
            served
                .set_balance(*who, *wei)
                .with_context(|| format!("funding {who}"))?;
        }
    }
    let dev = devnet::dev_key().map(|k| k.address());
    let mut out = std::io::stdout().lock();
    if args.json {
        let line = json!({
            "url": served.url(),
            "chain_id": served.chain_id(),
            "adjudicator": served.adjudicator().to_string(),
            "state": args.state.as_ref().map(|p| p.display().to_string()),
            "dev_account": dev.map(|a| a.to_string()),
            "funded": funds
                .iter()
                .map(|(who, wei)| json!({"address": who.to_string(), "wei": wei.to_string()}))
                .collect::<Vec<_>>(),
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(out, "url          {}", served.url())?;
        writeln!(out, "chain id     {}", served.chain_id())?;
        writeln!(out, "adjudicator  {}", served.adjudicator())?;
        match &args.state {
            Some(path) => writeln!(out, "state        {}", path.display())?,
            None => writeln!(out, "state        in memory (gone when this stops)")?,
        }
        if let Some(dev) = dev {
            writeln!(
                out,
                "dev account  {dev} (anvil's first development key; funded)"
            )?;
        }
        for (who, wei) in &funds {
            writeln!(out, "funded       {who} with at least {wei} wei")?;
        }
        writeln!(
            out,
            "\nsotto node --chain {} --adjudicator {}\nCtrl-C to stop.",
            served.url(),
            served.adjudicator()
        )?;
    }
    out.flush()?;
    drop(out);
    // Step 4) until Ctrl-C or SIGTERM.
    crate::until_stopped()?;
    served.stop();
    Ok(())
}

/// `ADDR` or `ADDR=WEI`.
fn parse_fund(text: &str) -> Result<(Address, u128)> {
    let (who, wei) = match text.split_once('=') {
        Some((who, wei)) => {
            let wei = wei
                .trim()
                .parse::<u128>()
                .map_err(|_| usage!("--fund {text}: the amount is a whole number of wei"))?;
            (who, wei)
        }
        None => (text, DEFAULT_FUND),
    };
    let who = who
        .trim()
        .parse::<Address>()
        .map_err(|e| usage!("--fund {text}: {e}"))?;
    Ok((who, wei))
}
