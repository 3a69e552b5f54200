//! `sotto`: the command line of the sotto off-chain smart-contract engine.
//!
//! Today it authors contracts (`sotto new`, `sotto check`), builds them and
//! looks at and runs what it built (`sotto build`, `sotto inspect`, `sotto
//! exec`), runs an agreement end to end (`sotto run`), runs an oracle for
//! bets (`sotto oracle`), and runs benchmarks (`sotto bench`); every
//! subcommand lives
//! in its own module and returns an error instead of exiting, so `main` is
//! the one place that turns failures into a one-line message and an exit
//! code: 2 for a mistake in the command line itself (clap's own errors, and
//! a [`Usage`] error such as an unknown function or a malformed `--args`),
//! 1 for everything else (a file that cannot be read or is not what it
//! should be, a contract with errors, a call that fails).

mod artifact;
mod author;
mod bench;
mod chain_cli;
mod node_cli;
mod oracle_cli;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A privacy-preserving off-chain smart-contract engine.
#[derive(Debug, Parser)]
#[command(name = "sotto", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure an area of sotto and print the figures.
    Bench(bench::BenchArgs),
    /// Compile a contract to its artifact (a WASM module).
    Build(artifact::build::BuildArgs),
    /// Report a contract's diagnostics; fails if any file has errors.
    Check(author::CheckArgs),
    /// Run one function of a built contract on a given state, locally.
    Exec(artifact::exec::ExecArgs),
    /// Show what a built contract holds: ABI, constraints, proof sizes.
    Inspect(artifact::inspect::InspectArgs),
    /// Write a new contract to start from.
    New(author::NewArgs),
    /// Run a two-party agreement end to end: open, play a scenario, settle.
    Run(run::RunArgs),
    /// Run a node (a participant on the network), or ask the running one.
    Node(node_cli::NodeArgs),
    /// Open, use and close channels on a running node.
    Channel(node_cli::ChannelArgs),
    /// Serve a development chain that several nodes share (no anvil needed).
    Chain(chain_cli::ChainArgs),
    /// Run an oracle for bets: announce events, attest outcomes, serve and
    /// fetch them.
    Oracle(oracle_cli::OracleArgs),
}

/// A mistake in the command line's own arguments (not in a file it names):
/// exits with code 2, as clap does for the mistakes it catches itself.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A closed pipe on stdout (`sotto run … | head`) ends the process
/// quietly, as it does every Unix tool, rather than in a panic of
/// `println!`. Not for the node, whose sockets must not end it.
#[allow(
    unsafe_code,
    reason = "restoring SIGPIPE's default disposition has no memory-safety precondition"
)]
fn quiet_on_closed_pipe() {
    // SAFETY: `signal` with SIG_DFL only changes the disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Resolves at Ctrl-C or SIGTERM: how the long-running commands (`sotto
/// node`, `sotto chain serve`, `sotto oracle serve`) learn to stop.
pub(crate) async fn stop_signal() -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// Blocks this thread until Ctrl-C or SIGTERM ([`stop_signal`]), for a
/// command whose work runs on threads of its own (the served chain, the
/// oracle's server).
pub(crate) fn until_stopped() -> anyhow::Result<()> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal handler")?
        .block_on(stop_signal())
}

/// A [`Usage`] error with a formatted message, as an [`anyhow::Error`].
macro_rules! usage {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::Usage(format!($($arg)*)))
    };
}
pub(crate) use usage;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Node(_)) {
        quiet_on_closed_pipe();
    }
    let result = match &cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Build(args) => artifact::build::run(args),
        Command::Check(args) => author::run_check(args),
        Command::Exec(args) => artifact::exec::run(args),
        Command::Inspect(args) => artifact::inspect::run(args),
        Command::New(args) => author::run_new(args),
        Command::Run(args) => run::run(args),
        Command::Node(args) => node_cli::run_node(args),
        Command::Channel(args) => node_cli::run_channel(args),
        Command::Chain(args) => chain_cli::run(args),
        Command::Oracle(args) => oracle_cli::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` puts the whole cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            if e.is::<Usage>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
