//! `sotto node` (a participant on the network) and `sotto channel` (its
//! channels), driving a running node through its control socket
//! (`sotto_engine::node::control`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value as Json, json};
use sotto_engine::anchor::RpcOptions;
use sotto_engine::node::control::{self, ClientError};
use sotto_engine::node::{ChainChoice, Node, NodeConfig};

use crate::author::{read_source, report};
use crate::usage;

/// Where the node's data directory is: `--node`, else `$SOTTO_NODE`, else
/// `~/.sotto/node`.
#[derive(Debug, Args, Clone)]
pub(crate) struct NodeDir {
    /// The node's data directory [default: $SOTTO_NODE, or ~/.sotto/node].
    #[arg(long = "node", global = true)]
    node: Option<PathBuf>,
    /// Print the answer as JSON.
    #[arg(long, global = true)]
    json: bool,
}

impl NodeDir {
    fn dir(&self) -> PathBuf {
        if let Some(d) = &self.node {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("SOTTO_NODE") {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".sotto").join("node")
    }
}

/// `sotto node [SUBCOMMAND]`
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    #[command(flatten)]
    run: RunNode,
    #[command(flatten)]
    dir: NodeDir,
}

/// How to run a node.
#[derive(Debug, Args)]
struct RunNode {
    /// Where to listen for peers.
    #[arg(long, default_value = "127.0.0.1:9735")]
    listen: std::net::SocketAddr,
    /// The anchor chain: `embedded` (in this process, kept in the data
    /// directory; only this node's channels) or the URL of an EVM node's
    /// JSON-RPC (`http://HOST:PORT`).
    #[arg(long, default_value = "embedded")]
    chain: String,
    /// On a JSON-RPC chain: the deployed adjudicator (default: deploy one).
    #[arg(long)]
    adjudicator: Option<String>,
    /// On a JSON-RPC chain: the first block to read its events from.
    #[arg(long, default_value_t = 0)]
    from_block: u64,
    /// On a JSON-RPC chain: act on events this many blocks deep.
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Accept every invitation that passes the node's checks.
    #[arg(long)]
    auto_accept: bool,
    /// Seconds a request may stay unanswered before the node disputes.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// How often the chain is read, in milliseconds.
    #[arg(long, default_value_t = 200)]
    poll_ms: u64,
    /// The node's clock: `wall` (the machine's, never behind the chain's),
    /// or `chain` (the chain's latest block time only: for a development
    /// chain whose time moves only when told to, as `sotto run`'s does).
    #[arg(long, default_value = "wall", value_parser = ["wall", "chain"])]
    clock: String,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log: tracing::Level,
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// What the running node is: its NODEID@HOST:PORT, address, chain.
    Info,
    /// Dial a peer (NODEID@HOST:PORT) and keep it in the address book.
    Connect {
        /// The peer.
        peer: String,
    },
    /// The connected peers.
    Peers,
    /// Invitations waiting for an answer.
    Invites,
    /// Move a development chain's clock forward.
    Advance {
        /// Seconds.
        seconds: u64,
    },
    /// Stop the running node.
    Stop,
}

/// `sotto channel SUBCOMMAND`
#[derive(Debug, Args)]
pub(crate) struct ChannelArgs {
    #[command(subcommand)]
    command: ChannelCommand,
    #[command(flatten)]
    dir: NodeDir,
}

#[derive(Debug, Subcommand)]
enum ChannelCommand {
    /// Open a channel with a peer and wait until it is funded.
    Open {
        /// The peer: NODEID@HOST:PORT, or the address of a connected peer
        /// (once per other party, in party order).
        #[arg(long = "peer", required = true)]
        peers: Vec<String>,
        /// The contract: its source (.sotto) or its built module (.wasm).
        #[arg(long)]
        contract: PathBuf,
        /// Deposits as PARTY=AMOUNT, one per party.
        #[arg(long = "deposit", required = true)]
        deposits: Vec<String>,
        /// This node's party (name or index; default the first).
        #[arg(long = "as")]
        party: Option<String>,
        /// This party's private initial values as FIELD=VALUE.
        #[arg(long = "private")]
        private: Vec<String>,
        /// The challenge period, seconds.
        #[arg(long, default_value_t = 3600)]
        challenge_period: u64,
        /// Return once the invitation is sent, without waiting for funding.
        #[arg(long)]
        no_wait: bool,
    },
    /// Accept an invitation.
    Accept {
        /// The channel (id or unique prefix).
        channel: String,
        /// This party's private initial values as FIELD=VALUE.
        #[arg(long = "private")]
        private: Vec<String>,
    },
    /// Decline an invitation.
    Decline {
        /// The channel.
        channel: String,
        /// Why (sent to the inviter).
        #[arg(long, default_value = "declined by the user")]
        reason: String,
    },
    /// Call a function as this node's party: ARGS as NAME=VALUE.
    Call {
        /// The channel.
        channel: String,
        /// The function.
        function: String,
        /// Its arguments, NAME=VALUE (private ones too: they stay here).
        args: Vec<String>,
        /// Return once the call is queued.
        #[arg(long)]
        no_wait: bool,
    },
    /// Reveal one of this party's private fields to the other parties.
    Reveal {
        /// The channel.
        channel: String,
        /// The field.
        field: String,
    },
    /// Close cooperatively and wait until the chain pays out.
    Close {
        /// The channel.
        channel: String,
        /// Return once the close is proposed.
        #[arg(long)]
        no_wait: bool,
    },
    /// Register the latest fully signed state on chain now.
    Dispute {
        /// The channel.
        channel: String,
    },
    /// One channel's status.
    Status {
        /// The channel.
        channel: String,
    },
    /// Every channel.
    List,
    /// The node's events.
    Events {
        /// Only this channel's.
        channel: Option<String>,
        /// After this event number.
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
    },
}

/// How long the CLI waits for an answer (a call that waits for signatures,
/// a close that waits for the chain).
const ANSWER: Duration = Duration::from_secs(600);

fn ask(dir: &NodeDir, request: &Json) -> Result<Json> {
    control::request(&dir.dir(), request, ANSWER).map_err(|e| match e {
        ClientError::Refused(m) => anyhow!(m),
        other => anyhow!(other),
    })
}

fn print(dir: &NodeDir, answer: &Json, human: impl FnOnce(&Json) -> String) {
    if dir.json {
        println!("{answer}");
    } else {
        println!("{}", human(answer));
    }
}

/// `sotto node`: runs the node (no subcommand) or asks the running one.
pub(crate) fn run_node(args: &NodeArgs) -> Result<()> {
    let Some(command) = &args.command else {
        return serve(&args.run, &args.dir);
    };
    let d = &args.dir;
    match command {
        NodeCommand::Info => {
            let a = ask(d, &json!({ "op": "info" }))?;
            print(d, &a, |a| {
                format!(
                    "node     {}\naddress  {}\nchain    {} (adjudicator {}){}",
                    s(&a["node"]),
                    s(&a["address"]),
                    a["chain_id"],
                    s(&a["adjudicator"]),
                    if a["embedded_chain"] == true {
                        ", embedded"
                    } else {
                        ""
                    }
                )
            });
        }
        NodeCommand::Connect { peer } => {
            let a = ask(d, &json!({ "op": "connect", "peer": peer }))?;
            print(d, &a, |a| format!("connected to {}", s(&a["address"])));
        }
        NodeCommand::Peers => {
            let a = ask(d, &json!({ "op": "peers" }))?;
            print(d, &a, |a| {
                lines(
                    a,
                    |p| {
                        format!(
                            "{}  {}{}",
                            s(&p["address"]),
                            s(&p["node_id"]),
                            if p["outbound"] == true {
                                "  (dialled)"
                            } else {
                                ""
                            }
                        )
                    },
                    "no peer is connected",
                )
            });
        }
        NodeCommand::Invites => {
            let a = ask(d, &json!({ "op": "invites" }))?;
            print(d, &a, |a| {
                lines(
                    a,
                    |i| {
                        format!(
                            "{}  `{}` from {} with deposits {}",
                            s(&i["channel"]),
                            s(&i["contract"]),
                            s(&i["from"]),
                            i["deposits"]
                        )
                    },
                    "no invitation is waiting",
                )
            });
        }
        NodeCommand::Advance { seconds } => {
            let a = ask(d, &json!({ "op": "advance", "seconds": seconds }))?;
            print(d, &a, |a| format!("the chain's clock is now {}", a["now"]));
        }
        NodeCommand::Stop => {
            let a = ask(d, &json!({ "op": "stop" }))?;
            print(d, &a, |_| "the node is stopping".into());
        }
    }
    Ok(())
}

fn s(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn lines(a: &Json, each: impl Fn(&Json) -> String, none: &str) -> String {
    match a.as_array() {
        Some(list) if !list.is_empty() => list.iter().map(each).collect::<Vec<_>>().join("\n"),
        _ => none.to_owned(),
    }
}

/// Runs the node until Ctrl-C, SIGTERM or `sotto node stop`.
fn serve(run: &RunNode, dir: &NodeDir) -> Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(run.log)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let data = dir.dir();
    let chain = if run.chain == "embedded" {
        ChainChoice::Embedded {
            file: Some(data.join("chain.json")),
            chain_id: 31337,
        }
    } else if run.chain.starts_with("http://") {
        let adjudicator = match &run.adjudicator {
            Some(a) => Some(a.parse().map_err(|e| usage!("--adjudicator: {e}"))?),
            None => None,
        };
        ChainChoice::Rpc {
            url: run.chain.clone(),
            options: RpcOptions {
                confirmations: run.confirmations,
                adjudicator,
                from_block: run.from_block,
                ..RpcOptions::default()
            },
        }
    } else {
        return Err(usage!(
            "--chain {}: give `embedded` or the JSON-RPC URL of an EVM node (http://HOST:PORT)",
            run.chain
        ));
    };
    let config = NodeConfig {
        listen: run.listen,
        chain,
        auto_accept: run.auto_accept,
        timing: sotto_engine::channel::machine::Config {
            timeout: run.timeout,
            ..Default::default()
        },
        poll: Duration::from_millis(run.poll_ms.max(10)),
        chain_clock: run.clock == "chain",
        ..NodeConfig::new(data.clone())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = Node::start(config).await.map_err(|e| match e {
            sotto_engine::node::NodeError::Listen { addr, message } => anyhow!(
                "cannot listen on {addr}: {message} (another program has the port? choose another with --listen 127.0.0.1:PORT)"
            ),
            other => anyhow!(other),
        })?;
        // One line on stdout, for whoever started the node.
        let info = serde_json::to_string(&node.info()).context("node info")?;
        println!("{info}");
        tokio::select! {
            signalled = crate::stop_signal() => signalled?,
            () = node.stopped() => {}
        }
        node.shutdown();
        // Let the tasks see the shutdown and finish their current step.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<(), anyhow::Error>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

/// NAME=VALUE pairs.
fn pairs(given: &[String], what: &str) -> Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| usage!("{what} `{p}`: write NAME=VALUE"))
        })
        .collect()
}

fn numbers(given: &[String], what: &str) -> Result<BTreeMap<String, u64>> {
    pairs(given, what)?
        .into_iter()
        .map(|(k, v)| {
            v.parse::<u64>()
                .map(|n| (k.clone(), n))
                .map_err(|_| usage!("{what} `{k}={v}`: the value must be a whole number"))
        })
        .collect()
}

/// The module bytes of a contract given as source or as a built module.
fn module_of(path: &Path) -> Result<(Vec<u8>, sotto_contracts::Artifact)> {
    if path.extension().is_some_and(|e| e == "sotto") {
        let source = read_source(path)?;
        match sotto_contracts::compile(&source) {
            Ok(built) => Ok((built.artifact.bytes().to_vec(), built.artifact)),
            Err(diags) => {
                report(path, &source, &diags);
                bail!(
                    "{} does not compile; `sotto check {}` shows the same diagnostics",
                    path.display(),
                    path.display()
                )
            }
        }
    } else {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read {}: check the path", path.display()))?;
        let artifact = sotto_contracts::Artifact::from_bytes(bytes.clone())
            .map_err(|e| anyhow!("{} is not a built sotto contract: {e}", path.display()))?;
        Ok((bytes, artifact))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn status_text(a: &Json) -> String {
    let mut out = format!(
        "channel  {}\ncontract {} as {}\nphase    {}  version {}",
        s(&a["channel_id"]),
        s(&a["contract"]),
        s(&a["me"]),
        s(&a["phase"]),
        a["version"]
    );
    if let (Some(parties), Some(alloc)) = (a["parties"].as_array(), a["allocation"].as_array()) {
        let shares: Vec<String> = parties
            .iter()
            .zip(alloc)
            .map(|(p, v)| format!("{} {}", s(p), v))
            .collect();
        out.push_str(&format!("\npays     {}", shares.join(", ")));
    }
    if let Some(public) = a["public"].as_object() {
        let fields: Vec<String> = public.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("\npublic   {}", fields.join(" ")));
    }
    if let Some(private) = a["private"].as_object().filter(|p| !p.is_empty()) {
        let fields: Vec<String> = private.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("\nprivate  {} (yours)", fields.join(" ")));
    }
    if let Some(c) = a["concluded"].as_array() {
        out.push_str(&format!("\nsettled  {}", Json::Array(c.clone())));
    }
    if let Some(f) = a["last_failure"].as_str() {
        out.push_str(&format!("\nlast failure: {f}"));
    }
    out
}

/// `sotto channel ...`
pub(crate) fn run_channel(args: &ChannelArgs) -> Result<()> {
    let d = &args.dir;
    match &args.command {
        ChannelCommand::Open {
            peers,
            contract,
            deposits,
            party,
            private,
            challenge_period,
            no_wait,
        } => {
            let (module, artifact) = module_of(contract)?;
            let abi = artifact.abi();
            let given = numbers(deposits, "--deposit")?;
            if let Some(unknown) = given.keys().find(|k| !abi.parties.contains(k)) {
                return Err(usage!(
                    "--deposit {unknown}=...: `{}` has the parties {}",
                    abi.name,
                    abi.parties.join(", ")
                ));
            }
            let deposits: Vec<u64> = abi
                .parties
                .iter()
                .map(|p| given.get(p).copied().unwrap_or(0))
                .collect();
            let me = party
                .as_ref()
                .map(|p| p.parse::<u64>().map_or_else(|_| json!(p), |n| json!(n)));
            let a = ask(
                d,
                &json!({
                    "op": "open",
                    "peers": peers,
                    "module": hex(&module),
                    "deposits": deposits,
                    "me": me,
                    "private": numbers(private, "--private")?,
                    "challenge_period": challenge_period,
                    "wait": !no_wait,
                    "timeout_ms": 300_000,
                }),
            )?;
            print(d, &a, |a| {
                if *no_wait {
                    format!("invitation sent: channel {}", s(&a["channel"]))
                } else {
                    format!("channel {} is open and funded", s(&a["channel"]))
                }
            });
        }
        ChannelCommand::Accept { channel, private } => {
            let a = ask(
                d,
                &json!({ "op": "accept", "channel": channel, "private": numbers(private, "--private")? }),
            )?;
            print(d, &a, |a| format!("accepted: channel {}", s(&a["channel"])));
        }
        ChannelCommand::Decline { channel, reason } => {
            let a = ask(
                d,
                &json!({ "op": "decline", "channel": channel, "reason": reason }),
            )?;
            print(d, &a, |a| format!("declined: channel {}", s(&a["channel"])));
        }
        ChannelCommand::Call {
            channel,
            function,
            args,
            no_wait,
        } => {
            let args: serde_json::Map<String, Json> = pairs(args, "argument")?
                .into_iter()
                .map(|(k, v)| (k, Json::String(v)))
                .collect();
            let a = ask(
                d,
                &json!({ "op": "call", "channel": channel, "function": function, "args": args, "wait": !no_wait, "timeout_ms": 300_000 }),
            )?;
            print(d, &a, |a| {
                if *no_wait {
                    format!("{function}: queued")
                } else {
                    format!("{function}: fully signed\n{}", status_text(a))
                }
            });
        }
        ChannelCommand::Reveal { channel, field } => {
            let a = ask(
                d,
                &json!({ "op": "reveal", "channel": channel, "field": field }),
            )?;
            print(d, &a, |_| format!("revealed {field}"));
        }
        ChannelCommand::Close { channel, no_wait } => {
            let a = ask(
                d,
                &json!({ "op": "close", "channel": channel, "wait": !no_wait, "timeout_ms": 300_000 }),
            )?;
            print(d, &a, |a| {
                if *no_wait {
                    "close proposed".into()
                } else {
                    format!("closed\n{}", status_text(a))
                }
            });
        }
        ChannelCommand::Dispute { channel } => {
            let a = ask(d, &json!({ "op": "dispute", "channel": channel }))?;
            print(d, &a, |_| {
                "the latest fully signed state is registered on chain".into()
            });
        }
        ChannelCommand::Status { channel } => {
            let a = ask(d, &json!({ "op": "status", "channel": channel }))?;
            print(d, &a, status_text);
        }
        ChannelCommand::List => {
            let a = ask(d, &json!({ "op": "list" }))?;
            print(d, &a, |a| {
                lines(
                    a,
                    |c| {
                        format!(
                            "{}  {:<12} {:<9} v{}",
                            s(&c["channel_id"]),
                            s(&c["contract"]),
                            s(&c["phase"]),
                            c["version"]
                        )
                    },
                    "no channel",
                )
            });
        }
        ChannelCommand::Events {
            channel,
            since,
            follow,
        } => {
            let mut since = *since;
            loop {
                let a = ask(
                    d,
                    &json!({ "op": "events", "channel": channel, "since": since, "wait_ms": if *follow { 30_000 } else { 0 } }),
                )?;
                let list = a.as_array().cloned().unwrap_or_default();
                for e in &list {
                    if d.json {
                        println!("{e}");
                    } else {
                        let ch = e["channel"]
                            .as_str()
                            .map(|c| c.get(..8).unwrap_or(c))
                            .unwrap_or("node");
                        println!("#{:<5} {ch}  {}", e["seq"], s(&e["text"]));
                    }
                    since = since.max(e["seq"].as_u64().unwrap_or(since));
                }
                if !*follow {
                    break;
                }
            }
        }
    }
    Ok(())
}
