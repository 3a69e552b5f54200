//! `sotto oracle`: an oracle for bets from the command line. `init`
//! creates its directory and key, `announce` signs an event's announcement,
//! `attest` signs its outcome (once: another outcome of the same event is
//! refused, since it would reveal the key), `serve` publishes both over
//! HTTP, and `fetch` gets and verifies them from any oracle
//! (`sotto_engine::oracle::{store, http}`).
//!
//! The directory is `--dir`, else `$SOTTO_ORACLE`, else `~/.sotto/oracle`
//! (as `sotto node` finds its own).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use secp256k1_zkp::XOnlyPublicKey;
use serde_json::json;
use sotto_engine::oracle::{
    FetchError, OracleServer, OracleStore, Outcomes, ServerError, StoreError, fetch_announcement,
    fetch_attestation,
};

use crate::usage;

/// `sotto oracle SUBCOMMAND`
#[derive(Debug, Args)]
pub(crate) struct OracleArgs {
    #[command(subcommand)]
    command: OracleCommand,
}

#[derive(Debug, Subcommand)]
enum OracleCommand {
    /// Create an oracle directory with a fresh key (mode 0600).
    Init(DirArg),
    /// Announce an event and print its signed announcement (JSON).
    Announce(AnnounceArgs),
    /// Attest an event's outcome and print the attestation (JSON). Only one
    /// outcome per event is ever attested: another would reveal the key.
    Attest(AttestArgs),
    /// Serve the announcements and attestations over HTTP until Ctrl-C.
    Serve(ServeArgs),
    /// Fetch an oracle's announcement (or attestation), verify it and
    /// print it (JSON).
    Fetch(FetchArgs),
}

/// Where the oracle's directory is.
#[derive(Debug, Args)]
struct DirArg {
    /// The oracle's directory [default: $SOTTO_ORACLE, or ~/.sotto/oracle].
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl DirArg {
    fn dir(&self) -> PathBuf {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("SOTTO_ORACLE") {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".sotto").join("oracle")
    }
}

#[derive(Debug, Args)]
struct AnnounceArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The event's id: 1 to 128 characters of A-Z, a-z, 0-9, `-`, `_`, `.`, `:`.
    event_id: String,
    /// When the oracle will attest, in seconds since 1970 (UTC).
    #[arg(long, value_name = "UNIX_SECONDS")]
    maturity: Option<u64>,
    /// The possible outcomes, comma-separated (2 to 4096 names).
    #[arg(long, value_name = "A,B,C")]
    outcomes: Option<String>,
    /// The outcome is a number, attested digit by digit (with --digits).
    #[arg(long)]
    numeric: bool,
    /// How many digits a numeric outcome has.
    #[arg(long, value_name = "N")]
    digits: Option<u8>,
    /// The base of a numeric outcome's digits [default: 2].
    #[arg(long, value_name = "B")]
    base: Option<u8>,
}

#[derive(Debug, Args)]
struct AttestArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The event's id.
    event_id: String,
    /// The outcome: one of the announced names, or a numeric event's value
    /// in decimal.
    outcome: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Where to listen (an oracle is public: any address; port 0 picks a
    /// free port).
    #[arg(long, default_value = "127.0.0.1:8600")]
    listen: SocketAddr,
    /// Print where it serves as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct FetchArgs {
    /// The oracle's URL: http://HOST:PORT.
    url: String,
    /// The event's id.
    event_id: String,
    /// Fetch the attestation instead (verified against the announcement).
    #[arg(long)]
    attestation: bool,
    /// The oracle's public key (64 hex digits): refuse an announcement
    /// signed by any other.
    #[arg(long, value_name = "KEY")]
    oracle: Option<String>,
}

/// Runs `sotto oracle ...`.
pub(crate) fn run(args: &OracleArgs) -> Result<()> {
    match &args.command {
        OracleCommand::Init(dir) => run_init(dir),
        OracleCommand::Announce(announce) => run_announce(announce),
        OracleCommand::Attest(attest) => run_attest(attest),
        OracleCommand::Serve(serve) => run_serve(serve),
        OracleCommand::Fetch(fetch) => run_fetch(fetch),
    }
}

/// A store error as the command line reports it: a name on the command
/// line that the store does not know (or refuses) is a usage error (exit
/// 2); the store refusing to act, or failing, is not (exit 1).
fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::InvalidEventId { .. }
        | StoreError::UnknownEvent { .. }
        | StoreError::UnknownOutcome { .. }
        | StoreError::Announce { .. } => usage!("{e}"),
        // Its own text only: the cause is in it already.
        other => anyhow!("{other}"),
    }
}

fn run_init(args: &DirArg) -> Result<()> {
    let dir = args.dir();
    let store = OracleStore::init(&dir).map_err(store_error)?;
    println!(
        "oracle {} created in {} (its key: {}, mode 0600)",
        store.public(),
        dir.display(),
        dir.join("key").display()
    );
    Ok(())
}

fn run_announce(args: &AnnounceArgs) -> Result<()> {
    // Step 1) the command line, before the store is opened.
    let Some(maturity) = args.maturity else {
        return Err(usage!(
            "give --maturity UNIX_SECONDS: when the oracle will attest the event"
        ));
    };
    let outcomes = match (&args.outcomes, args.numeric) {
        (Some(_), true) => {
            return Err(usage!(
                "give either --outcomes A,B,C or --numeric --digits N, not both"
            ));
        }
        (None, false) => {
            return Err(usage!(
                "give the event's outcomes: --outcomes A,B,C, or --numeric --digits N [--base B]"
            ));
        }
        (Some(list), false) => {
            if args.digits.is_some() || args.base.is_some() {
                return Err(usage!("--digits and --base go with --numeric"));
            }
            let names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).collect();
            if names.iter().any(String::is_empty) {
                return Err(usage!(
                    "--outcomes {list}: an empty outcome name; give names separated by commas"
                ));
            }
            Outcomes::Enumerated(names)
        }
        (None, true) => {
            let Some(digits) = args.digits else {
                return Err(usage!(
                    "--numeric needs --digits N: how many digits the value has"
                ));
            };
            Outcomes::Numeric {
                base: args.base.unwrap_or(2),
                digits,
            }
        }
    };
    // Step 2) sign and keep it.
    let store = OracleStore::open(args.dir.dir()).map_err(store_error)?;
    let announcement = store
        .announce(&args.event_id, maturity, outcomes)
        .map_err(store_error)?;
    println!("{}", announcement.to_json());
    Ok(())
}

fn run_attest(args: &AttestArgs) -> Result<()> {
    let store = OracleStore::open(args.dir.dir()).map_err(store_error)?;
    let attestation = store
        .attest(&args.event_id, &args.outcome)
        .map_err(store_error)?;
    println!("{}", attestation.to_json());
    Ok(())
}

fn run_serve(args: &ServeArgs) -> Result<()> {
    // Step 1) the directory and key are checked (and the key's public half
    // printed), but the server gets only the read-only view: the key is
    // zeroized before anything is served.
    let dir = args.dir.dir();
    let store = OracleStore::open(&dir).map_err(store_error)?;
    let oracle = store.public();
    let reader = store.reader().clone();
    let events = store.events().map_err(store_error)?.len();
    drop(store);
    // Step 2) serve.
    let server = OracleServer::start(reader, args.listen).map_err(|e| match e {
        ServerError::PortInUse { addr } => anyhow!(
            "cannot listen on {addr}: the port is in use by another program; choose another \
             with --listen HOST:PORT"
        ),
        // Its own text only: the cause is in it already.
        other => anyhow!("{other}"),
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let line = json!({
            "url": server.url(),
            "oracle": oracle.to_string(),
            "dir": dir.display().to_string(),
            "events": events,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "oracle {oracle} serving {events} event(s) from {} at {} (Ctrl-C to stop)",
            dir.display(),
            server.url()
        )?;
    }
    out.flush()?;
    drop(out);
    // Step 3) until Ctrl-C or SIGTERM.
    crate::until_stopped()?;
    server.stop();
    Ok(())
}

fn run_fetch(args: &FetchArgs) -> Result<()> {
    let expected = args
        .oracle
        .as_deref()
        .map(|k| {
            k.parse::<XOnlyPublicKey>()
                .map_err(|_| usage!("--oracle {k}: not an oracle's public key (64 hex digits)"))
        })
        .transpose()?;
    let fetch_error = |e: FetchError| match e {
        FetchError::Url { .. } | FetchError::InvalidEventId { .. } => usage!("{e}"),
        // Its own text only: the cause is in it already.
        other => anyhow!("{other}"),
    };
    let announcement = fetch_announcement(&args.url, &args.event_id).map_err(fetch_error)?;
    if let Some(expected) = expected
        && announcement.oracle() != &expected
    {
        return Err(anyhow!(
            "the announcement of `{}` at {} is signed by oracle {}, not {expected}; it is not the oracle you named",
            args.event_id,
            args.url,
            announcement.oracle()
        ));
    }
    if !args.attestation {
        println!("{}", announcement.to_json());
        return Ok(());
    }
    match fetch_attestation(&args.url, &announcement).map_err(fetch_error)? {
        Some(attestation) => {
            println!("{}", attestation.to_json());
            Ok(())
        }
        None => Err(anyhow!(
            "event `{}` is not attested yet (its maturity is {}{}); try again later",
            args.event_id,
            announcement.maturity(),
            relative(announcement.maturity())
        )),
    }
}

/// `, in 2 h 5 min` or `, 3 min ago`, from the wall clock.
fn relative(when: u64) -> String {
    let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return String::new();
    };
    let now = now.as_secs();
    let span = |s: u64| {
        if s >= 86_400 {
            format!("{} d {} h", s / 86_400, s % 86_400 / 3600)
        } else if s >= 3600 {
            format!("{} h {} min", s / 3600, s % 3600 / 60)
        } else {
            format!("{} min", s.div_ceil(60))
        }
    };
    if when > now {
        format!(", in {}", span(when - now))
    } else {
        format!(", {} ago", span(now - when))
    }
}
