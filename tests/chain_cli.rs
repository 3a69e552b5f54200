//! `sotto chain serve`: the binary serves the embedded chain on a free
//! loopback port, prints where as JSON, answers JSON-RPC (raw and through
//! `RpcChain`), and stops cleanly on SIGTERM; two `sotto node` processes
//! run a channel on it; a port in use, a bad state file and a non-loopback
//! address are one-line errors.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sotto_engine::anchor::RpcChain;
use sotto_engine::devnet::{self, NodeProcess};

fn sotto() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
}

/// A `sotto chain serve` process, killed when dropped.
struct Serving {
    child: Child,
    info: Value,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// Starts `sotto chain serve --listen 127.0.0.1:0 --json` with `extra`
    /// arguments and reads its JSON line.
    fn start(extra: &[&str]) -> Serving {
        let mut child = sotto()
            .args(["chain", "serve", "--listen", "127.0.0.1:0", "--json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut serving = Serving {
            child,
            info: Value::Null,
        };
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        serving.info = serde_json::from_str(&line).unwrap();
        serving
    }

    fn addr(&self) -> SocketAddr {
        let url = self.info["url"].as_str().unwrap();
        url.strip_prefix("http://").unwrap().parse().unwrap()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-chain-cli-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The one-line error of a command that must fail with `code`.
fn one_line_error(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    stderr
}

#[test]
fn serve_prints_where_it_listens_answers_and_stops_on_sigterm() {
    let funded = "0x00000000000000000000000000000000000000aa";
    let mut serving = Serving::start(&["--chain-id", "4242", "--fund", &format!("{funded}=5")]);
    let addr = serving.addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    assert_eq!(serving.info["chain_id"], 4242);
    assert_eq!(serving.info["state"], Value::Null);
    assert_eq!(
        devnet::request(addr, "eth_chainId", json!([])).unwrap(),
        "0x1092"
    );
    assert_eq!(
        devnet::request(addr, "eth_getBalance", json!([funded, "latest"])).unwrap(),
        "0x5"
    );
    // RpcChain connects to the adjudicator it names (checking its code).
    let adjudicator = serving.info["adjudicator"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let chain = RpcChain::connect(
        serving.info["url"].as_str().unwrap(),
        devnet::dev_key().unwrap(),
        0,
        Some(adjudicator),
    )
    .unwrap();
    assert_eq!(chain.chain_id(), 4242);
    // SIGTERM: a clean exit, and the port is free again.
    let sent = Command::new("kill")
        .args(["-TERM", &serving.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = serving.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn a_state_file_keeps_the_chain_across_runs() {
    let dir = scratch("state");
    let state = dir.join("chain.json");
    let state_arg = state.to_str().unwrap();
    let who = "0x00000000000000000000000000000000000000bb";
    let first = Serving::start(&["--state", state_arg, "--fund", &format!("{who}=7")]);
    let addr = first.addr();
    devnet::request(addr, "evm_mine", json!([])).unwrap();
    let head = devnet::request(addr, "eth_blockNumber", json!([])).unwrap();
    drop(first);
    // Funding again with less does not lower the balance.
    let second = Serving::start(&["--state", state_arg, "--fund", &format!("{who}=3")]);
    let addr = second.addr();
    assert_eq!(
        devnet::request(addr, "eth_blockNumber", json!([])).unwrap(),
        head
    );
    assert_eq!(
        devnet::request(addr, "eth_getBalance", json!([who, "latest"])).unwrap(),
        "0x7"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_port_in_use_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = sotto()
        .args(["chain", "serve", "--listen", &addr])
        .output()
        .unwrap();
    let stderr = one_line_error(&output, 1);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("--listen"),
        "{stderr}"
    );
}

#[test]
fn a_bad_state_file_and_a_public_address_are_one_line_errors() {
    let dir = scratch("bad");
    let state = dir.join("chain.json");
    std::fs::write(&state, "{\"format\": \"something else\"}").unwrap();
    let output = sotto()
        .args(["chain", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let stderr = one_line_error(&output, 1);
    assert!(stderr.contains("chain file"), "{stderr}");
    // Another chain's file.
    let other = dir.join("other.json");
    let first = Serving::start(&["--state", other.to_str().unwrap(), "--chain-id", "1"]);
    drop(first);
    let output = sotto()
        .args(["chain", "serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&other)
        .output()
        .unwrap();
    let stderr = one_line_error(&output, 1);
    assert!(stderr.contains("not 31337"), "{stderr}");
    // Not loopback: a usage error.
    let output = sotto()
        .args(["chain", "serve", "--listen", "0.0.0.0:8545"])
        .output()
        .unwrap();
    let stderr = one_line_error(&output, 2);
    assert!(stderr.contains("loopback"), "{stderr}");
    let output = sotto()
        .args(["chain", "serve", "--fund", "0x12=3"])
        .output()
        .unwrap();
    one_line_error(&output, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The payment contract's module, hex.
fn payment_module() -> String {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/examples/payment.sotto"),
    )
    .unwrap();
    let built = sotto_contracts::compile(&source).unwrap();
    built
        .artifact
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the README promises: two nodes, three processes, nothing
/// installed. A channel opens, pays and closes on the served chain, and
/// the chain's logs show it.
#[test]
fn two_nodes_run_a_channel_on_a_served_chain() {
    let serving = Serving::start(&[]);
    let addr = serving.addr();
    let url = serving.info["url"].as_str().unwrap();
    let adjudicator = serving.info["adjudicator"].as_str().unwrap();
    let dirs = [scratch("node-a"), scratch("node-b")];
    let node = |dir: &PathBuf, extra: &[&str]| {
        let node = NodeProcess::start(
            std::path::Path::new(env!("CARGO_BIN_EXE_sotto")),
            &dir.join("node"),
            "127.0.0.1:0",
            url,
            adjudicator,
            extra,
            false,
        )
        .unwrap();
        let who = node.address().unwrap().to_string();
        devnet::request(
            addr,
            "anvil_setBalance",
            json!([who, "0x3635c9adc5dea00000"]),
        )
        .unwrap();
        node
    };
    let a = node(&dirs[0], &["--poll-ms", "50"]);
    let b = node(&dirs[1], &["--poll-ms", "50", "--auto-accept"]);
    let ask = |n: &NodeProcess, request: Value| {
        n.ask(&request).unwrap_or_else(|e| panic!("{request}: {e}"))
    };
    ask(&a, json!({ "op": "connect", "peer": b.node() }));
    let opened = ask(
        &a,
        json!({
            "op": "open", "peers": [b.node()], "module": payment_module(),
            "deposits": [1000, 1000], "wait": true, "timeout_ms": 120_000,
        }),
    );
    let channel = opened["channel"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        ask(
            &a,
            json!({ "op": "call", "channel": channel, "function": "pay_bob", "args": { "amount": 5 }, "wait": true }),
        );
    }
    let closed = ask(
        &a,
        json!({ "op": "close", "channel": channel, "wait": true, "timeout_ms": 120_000 }),
    );
    assert_eq!(closed["concluded"], json!([985, 1015]), "{closed}");
    let seen = ask(
        &b,
        json!({ "op": "wait", "channel": channel, "phase": "closed", "timeout_ms": 60_000 }),
    );
    assert_eq!(seen["concluded"], closed["concluded"]);
    // The chain saw two deposits, the conclusion and two payouts.
    let logs = devnet::request(
        addr,
        "eth_getLogs",
        json!([{ "address": adjudicator, "fromBlock": "0x0", "toBlock": "latest" }]),
    )
    .unwrap();
    assert_eq!(logs.as_array().unwrap().len(), 5, "{logs}");
    drop((a, b));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
