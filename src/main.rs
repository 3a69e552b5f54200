//! `sotto`: the command line of the sotto off-chain smart-contract engine.
//!
//! Today it authors contracts (`sotto new`, `sotto check`) and runs
//! benchmarks (`sotto bench proofs`); every subcommand lives in
//! its own module and returns an error instead of exiting, so `main` is the
//! one place that turns failures into a one-line message and an exit code.

mod author;
mod bench;

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
    /// Report a contract's diagnostics; fails if any file has errors.
    Check(author::CheckArgs),
    /// Write a new contract to start from.
    New(author::NewArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Check(args) => author::run_check(args),
        Command::New(args) => author::run_new(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` puts the whole cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
