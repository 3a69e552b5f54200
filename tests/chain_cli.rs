//! `sotto chain serve`: the binary serves the embedded chain on a free
//! loopback port, prints where as JSON, answers JSON-RPC (raw and through
//! `RpcChain`), and stops cleanly on SIGTERM; a port in use, a bad state
//! file and a non-loopback address are one-line errors.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sotto_engine::anchor::RpcChain;
use sotto_engine::devnet;

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
