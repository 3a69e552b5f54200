//! Two `sotto node` processes on loopback TCP (Noise_XK), sharing an anvil
//! chain, driven through their control sockets as the `sotto channel`
//! commands drive them: open, many updates (private values included),
//! cooperative close; a node killed with SIGKILL mid-update and restarted;
//! hostile connections while a channel runs.
//!
//! Each test starts its own anvil (`npm ci --prefix tools/evm` installs it)
//! and its own nodes in temporary data directories, and kills them all
//! when it ends, also on a panic.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sotto_engine::anchor::RpcChain;
use sotto_engine::devnet::{self, Anvil, NodeProcess};
use sotto_engine::node::control;
use sotto_engine::state::SigningKey;
use sotto_engine::store::{SqliteStore, Store as _};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A chain both nodes share: anvil with a deployed adjudicator.
struct Chain {
    anvil: Anvil,
    adjudicator: String,
}

fn chain() -> Chain {
    let anvil = Anvil::start(&devnet::anvil_in(&root())).unwrap();
    let deployer = RpcChain::connect(&anvil.url, devnet::dev_key().unwrap(), 0, None).unwrap();
    Chain {
        adjudicator: deployer.adjudicator().to_string(),
        anvil,
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-node-test-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A `sotto node` process (killed when dropped), funded on the chain.
struct NodeProc(NodeProcess);

impl std::ops::Deref for NodeProc {
    type Target = NodeProcess;
    fn deref(&self) -> &NodeProcess {
        &self.0
    }
}

impl NodeProc {
    /// Starts `sotto node` in `dir` on `listen`, on `chain`, polling the
    /// chain every 50 ms, and funds its address.
    fn start(dir: &Path, listen: &str, chain: &Chain, extra: &[&str]) -> NodeProc {
        let mut args = vec!["--poll-ms", "50"];
        args.extend_from_slice(extra);
        let node = NodeProcess::start(
            Path::new(env!("CARGO_BIN_EXE_sotto")),
            dir,
            listen,
            &chain.anvil.url,
            &chain.adjudicator,
            &args,
            true,
        )
        .unwrap();
        chain
            .anvil
            .set_balance(node.address().unwrap(), 1_000_000_000_000_000_000_000)
            .unwrap();
        NodeProc(node)
    }

    fn ask(&self, request: Json) -> Json {
        self.0
            .ask(&request)
            .unwrap_or_else(|e| panic!("{request}: {e}"))
    }

    fn try_ask(&self, request: Json) -> Result<Json, control::ClientError> {
        self.0.ask(&request)
    }

    fn status(&self, channel: &str) -> Json {
        self.ask(json!({ "op": "status", "channel": channel }))
    }
}

fn module(contract: &str) -> String {
    let source = std::fs::read_to_string(root().join("contracts/examples").join(contract)).unwrap();
    let built = sotto_contracts::compile(&source).unwrap();
    built
        .artifact
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A port free at the time of asking (for a node that must come back on
/// the same address after a restart).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn u64s(v: &Json) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// Waits until both nodes show the same idle channel at a version of at
/// least `version`; returns A's status.
fn converge(a: &NodeProc, b: &NodeProc, channel: &str, version: u64) -> Json {
    let wait = json!({ "op": "wait", "channel": channel, "version": version, "idle": true, "timeout_ms": 120_000 });
    let sa = a.ask(wait.clone());
    let sb = b.ask(wait);
    assert_eq!(sa["version"], sb["version"], "{sa}\n{sb}");
    assert_eq!(sa["allocation"], sb["allocation"]);
    assert_eq!(sa["public"], sb["public"]);
    sa
}

#[test]
fn two_nodes_run_payment_and_negotiation_over_tcp_and_close_cooperatively() {
    let chain = chain();
    let (da, db) = (temp_dir("a"), temp_dir("b"));
    // Debug logs: every line is checked for private values below.
    let a = NodeProc::start(&da, "127.0.0.1:0", &chain, &["--log", "debug"]);
    // B's user answers each invitation (`sotto channel accept`).
    let b = NodeProc::start(&db, "127.0.0.1:0", &chain, &["--log", "debug"]);
    let connected = a.ask(json!({ "op": "connect", "peer": b.node() }));
    assert_eq!(connected["address"], b.info["address"]);

    // payment: 60 updates, both ways.
    let opened = std::thread::scope(|s| {
        let open = s.spawn(|| {
            a.ask(json!({
                "op": "open", "peers": [b.node()], "module": module("payment.sotto"),
                "deposits": [1000, 1000], "wait": true, "timeout_ms": 120_000,
            }))
        });
        let channel = wait_for_invite(&b);
        b.ask(json!({ "op": "accept", "channel": channel }));
        open.join().unwrap()
    });
    let pay = opened["channel"].as_str().unwrap().to_owned();
    let started = Instant::now();
    for i in 0..60 {
        if i % 4 == 3 {
            b.ask(json!({ "op": "call", "channel": pay, "function": "pay_alice", "args": { "amount": 2 }, "wait": true }));
        } else {
            a.ask(json!({ "op": "call", "channel": pay, "function": "pay_bob", "args": { "amount": "3" }, "wait": true }));
        }
    }
    println!(
        "60 payment updates, each waited for: {:?}",
        started.elapsed()
    );
    let s = converge(&a, &b, &pay, 60);
    assert_eq!(s["version"], 60);
    assert_eq!(
        u64s(&s["allocation"]),
        vec![1000 - 45 * 3 + 15 * 2, 1000 + 45 * 3 - 15 * 2]
    );
    assert_eq!(s["public"]["payments"], 60);
    // The same through the `sotto channel` commands, by a prefix of the id.
    let cli = |dir: &Path, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(args)
            .arg("--node")
            .arg(dir)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = cli(&da, &["channel", "call", &pay[..12], "pay_bob", "amount=1"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("pay_bob: fully signed") && out.contains("version 61"),
        "{out}"
    );
    let (code, out, _) = cli(&db, &["channel", "status", &pay[..12], "--json"]);
    assert_eq!(code, Some(0));
    let status: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(status["version"], 61);
    assert_eq!(status["me"], "bob");
    let (code, out, _) = cli(&db, &["channel", "list"]);
    assert!(
        code == Some(0) && out.contains(&pay) && out.contains("payment"),
        "{out}"
    );
    let (code, out, _) = cli(&da, &["node", "info"]);
    assert!(
        code == Some(0) && out.contains(a.info["address"].as_str().unwrap()),
        "{out}"
    );
    let (code, _, err) = cli(
        &da,
        &["channel", "call", &pay[..12], "pay_bob", "amount=lots"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("`amount`: `\"lots\"` is not a u64"), "{err}");
    let nowhere = temp_dir("nowhere");
    let (code, _, err) = cli(&nowhere, &["channel", "list"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("no node runs with") && !err.contains("backtrace"),
        "{err}"
    );
    let s = converge(&a, &b, &pay, 61);

    // A refused call changes nothing and says why.
    let refused = a.try_ask(json!({ "op": "call", "channel": pay, "function": "pay_bob", "args": { "amount": 0 }, "wait": true }));
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("a payment must be positive")),
        "{refused:?}"
    );
    let closed =
        a.ask(json!({ "op": "close", "channel": pay, "wait": true, "timeout_ms": 120_000 }));
    assert_eq!(u64s(&closed["concluded"]), u64s(&s["allocation"]));
    let seen_by_b =
        b.ask(json!({ "op": "wait", "channel": pay, "phase": "closed", "timeout_ms": 60_000 }));
    assert_eq!(seen_by_b["concluded"], closed["concluded"]);

    // negotiation: the buyer raises its private limit 20 times, the seller
    // proposes within its private floor, the buyer accepts: each proposal
    // proves a comparison against a value the other side never learns.
    // The private values are distinctive, so the logs can be searched.
    let opened = std::thread::scope(|s| {
        let open = s.spawn(|| {
            a.ask(json!({
                "op": "open", "peers": [b.node()], "module": module("negotiation.sotto"),
                "deposits": [9_000_000, 100], "me": "buyer", "private": { "buyer_limit": 7_770_001 },
                "wait": true, "timeout_ms": 120_000,
            }))
        });
        let channel = wait_for_invite(&b);
        b.ask(
            json!({ "op": "accept", "channel": channel, "private": { "seller_floor": 3_330_303 } }),
        );
        open.join().unwrap()
    });
    let neg = opened["channel"].as_str().unwrap().to_owned();
    for step in 1..=20u64 {
        a.ask(json!({ "op": "call", "channel": neg, "function": "raise_limit", "args": { "limit": 7_770_001 + step }, "wait": true }));
    }
    let s = converge(&a, &b, &neg, 20);
    // Each side sees only its own private value.
    assert_eq!(s["private"]["buyer_limit"], 7_770_021);
    let sb = b.status(&neg);
    assert_eq!(sb["private"]["seller_floor"], 3_330_303);
    assert!(sb["private"].get("buyer_limit").is_none(), "{sb}");
    // Below the seller's floor: its own node refuses, with the reason.
    let below = b.try_ask(json!({ "op": "call", "channel": neg, "function": "propose", "args": { "p": 3_000_000 }, "wait": true }));
    assert!(below.is_err_and(|e| e.to_string().contains("below the seller's floor")));
    b.ask(json!({ "op": "call", "channel": neg, "function": "propose", "args": { "p": 4_440_404 }, "wait": true }));
    a.ask(json!({ "op": "call", "channel": neg, "function": "accept", "wait": true }));
    let s = converge(&a, &b, &neg, 22);
    assert_eq!(s["finished"], true);
    assert_eq!(s["public"]["price"], 4_440_404);
    let closed =
        a.ask(json!({ "op": "close", "channel": neg, "wait": true, "timeout_ms": 120_000 }));
    assert_eq!(
        u64s(&closed["concluded"]),
        vec![9_000_000 - 4_440_404, 100 + 4_440_404]
    );

    let list = b.ask(json!({ "op": "list" }));
    assert_eq!(list.as_array().unwrap().len(), 2);
    let events = a.ask(json!({ "op": "events", "channel": neg }));
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "concluded"),
        "{events}"
    );
    a.ask(json!({ "op": "stop" }));
    b.ask(json!({ "op": "stop" }));
    std::thread::sleep(Duration::from_millis(300));

    // No secret in any log line: no private value, no key.
    let key_hex = |dir: &Path| -> String {
        std::fs::read(dir.join("node.key"))
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    for (node, dir) in [(&a, &da), (&b, &db)] {
        let logs = node.logs.lock().unwrap();
        assert!(logs.len() > 20, "the debug logs are nearly empty: {logs:?}");
        let key = key_hex(dir);
        for line in logs.iter() {
            for secret in [
                "777000",
                "777001",
                "777002",
                "3330303",
                "3_330_303",
                &key[..16],
            ] {
                assert!(!line.contains(secret), "a secret in a log line: {line}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&da);
    let _ = std::fs::remove_dir_all(&db);
}

/// Polls `done` every 20 ms until it holds; fails after a minute with
/// `what`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first invitation `node` holds, once it has one.
fn wait_for_invite(node: &NodeProc) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let invites = node.ask(json!({ "op": "invites" }));
        if let Some(first) = invites.as_array().and_then(|i| i.first()) {
            return first["channel"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no invitation arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every version both stores recorded as signed, with its digest.
fn signed_records(dir: &Path, channel: &str) -> std::collections::BTreeMap<u64, [u8; 32]> {
    let store = SqliteStore::open(&dir.join("channels.db")).unwrap();
    let id: [u8; 32] = control::decode_hex(channel).unwrap().try_into().unwrap();
    store.load(&id).unwrap().unwrap().signed
}

#[test]
fn a_node_killed_mid_update_resumes_from_its_store_and_nothing_is_lost_or_signed_twice() {
    let chain = chain();
    let (da, db) = (temp_dir("ka"), temp_dir("kb"));
    let a = NodeProc::start(&da, "127.0.0.1:0", &chain, &["--auto-accept"]);
    let b_listen = format!("127.0.0.1:{}", free_port());
    let mut b = NodeProc::start(&db, &b_listen, &chain, &["--auto-accept"]);
    let opened = a.ask(json!({
        "op": "open", "peers": [b.node()], "module": module("payment.sotto"),
        "deposits": [1000, 1000], "wait": true, "timeout_ms": 120_000,
    }));
    let channel = opened["channel"].as_str().unwrap().to_owned();
    b.ask(json!({ "op": "wait", "channel": channel, "phase": "open", "timeout_ms": 60_000 }));

    // A queues 150 payments; B is killed while they flow.
    for _ in 0..150 {
        a.ask(json!({ "op": "call", "channel": channel, "function": "pay_bob", "args": { "amount": 1 } }));
    }
    eventually("no update reached B", || {
        b.status(&channel)["version"].as_u64().unwrap_or(0) >= 3
    });
    // SIGKILL: no chance to flush or say goodbye.
    b.0.kill();
    let killed_at = signed_records(&db, &channel);
    println!("B killed after signing {} versions", killed_at.len());
    let restarted = NodeProc::start(&db, &b_listen, &chain, &["--auto-accept"]);
    b = restarted;
    // A redials B at its address; the channel resynchronises and every
    // queued payment goes through.
    let s = converge(&a, &b, &channel, 1);
    let version = s["version"].as_u64().unwrap();
    assert_eq!(s["public"]["payments"], 150, "{s}");
    assert_eq!(u64s(&s["allocation"]), vec![850, 1150]);
    assert!(
        version <= 150,
        "batched updates carry several calls: {version}"
    );

    a.ask(json!({ "op": "stop" }));
    b.ask(json!({ "op": "stop" }));
    std::thread::sleep(Duration::from_millis(300));
    // No version signed for two states: B's signing record (kept across
    // the kill) and A's agree on the state of every version both signed,
    // and B's record from before the kill is a prefix of its record now.
    let (ra, rb) = (signed_records(&da, &channel), signed_records(&db, &channel));
    for (v, d) in &rb {
        if let Some(x) = ra.get(v) {
            assert_eq!(x, d, "version {v} signed for two different states");
        }
    }
    for (v, d) in &killed_at {
        assert_eq!(rb.get(v), Some(d), "version {v} was lost or re-signed");
    }
    assert!(rb.contains_key(&version) && ra.contains_key(&version));
    let _ = std::fs::remove_dir_all(&da);
    let _ = std::fs::remove_dir_all(&db);
}

#[test]
fn hostile_connections_do_not_stop_a_node_serving_its_channel() {
    let chain = chain();
    let (da, db) = (temp_dir("ha"), temp_dir("hb"));
    let a = NodeProc::start(&da, "127.0.0.1:0", &chain, &["--auto-accept"]);
    let b = NodeProc::start(&db, "127.0.0.1:0", &chain, &["--auto-accept"]);
    let opened = a.ask(json!({
        "op": "open", "peers": [b.node()], "module": module("payment.sotto"),
        "deposits": [100, 100], "wait": true, "timeout_ms": 120_000,
    }));
    let channel = opened["channel"].as_str().unwrap().to_owned();
    let b_addr: std::net::SocketAddr = b.info["listen"].as_str().unwrap().parse().unwrap();

    // A connection that never says anything (a stalled handshake), one
    // that sends garbage, and one that announces a frame far too large.
    let stalled = std::net::TcpStream::connect(b_addr).unwrap();
    let mut garbage = std::net::TcpStream::connect(b_addr).unwrap();
    garbage.write_all(&[0xff; 4096]).unwrap();
    let mut huge = std::net::TcpStream::connect(b_addr).unwrap();
    huge.write_all(&[0xff, 0xff]).unwrap();
    // Meanwhile the channel keeps working.
    for _ in 0..5 {
        a.ask(json!({ "op": "call", "channel": channel, "function": "pay_bob", "args": { "amount": 1 }, "wait": true }));
    }
    let s = converge(&a, &b, &channel, 5);
    assert_eq!(u64s(&s["allocation"]), vec![95, 105]);
    // The garbage connection was dropped by B (closed or reset, not left
    // hanging: a read timeout would fail this).
    garbage
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    let read = garbage.read(&mut buf);
    assert!(
        matches!(&read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{read:?}"
    );
    drop(stalled);

    // Dialling B while expecting another node's key fails, typed.
    let wrong = format!("{}@{}", "11".repeat(32), b_addr);
    let refused = a.try_ask(json!({ "op": "connect", "peer": wrong }));
    assert!(refused.is_err(), "{refused:?}");

    // The control socket refuses what is not a request, and keeps serving.
    let mut raw = std::os::unix::net::UnixStream::connect(db.join("control.sock")).unwrap();
    raw.write_all(b"{\"op\": \"explode\"}\n").unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(&raw)
        .read_line(&mut answer)
        .unwrap();
    assert!(
        answer.contains("\"ok\":false") && answer.contains("not a request"),
        "{answer}"
    );
    assert_eq!(b.status(&channel)["version"], 5);

    // The data directory and its secrets are private.
    use std::os::unix::fs::PermissionsExt as _;
    for (path, mode) in [
        (db.clone(), 0o700),
        (db.join("node.key"), 0o600),
        (db.join("channels.db"), 0o600),
        (db.join("control.sock"), 0o600),
    ] {
        let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "{}", path.display());
    }
    let _ = SigningKey::load(&db.join("node.key")).unwrap();
    a.ask(json!({ "op": "stop" }));
    b.ask(json!({ "op": "stop" }));
    let _ = std::fs::remove_dir_all(&da);
    let _ = std::fs::remove_dir_all(&db);
}

#[test]
fn a_silent_peer_is_disputed_on_chain_and_both_are_paid_after_the_challenge_period() {
    let chain = chain();
    let (da, db) = (temp_dir("da"), temp_dir("db"));
    // Requests time out after 2 s.
    let a = NodeProc::start(
        &da,
        "127.0.0.1:0",
        &chain,
        &["--auto-accept", "--timeout", "2"],
    );
    let b_listen = format!("127.0.0.1:{}", free_port());
    let mut b = NodeProc::start(&db, &b_listen, &chain, &["--auto-accept", "--timeout", "2"]);
    let opened = a.ask(json!({
        "op": "open", "peers": [b.node()], "module": module("payment.sotto"),
        "deposits": [1000, 1000], "challenge_period": 600, "wait": true, "timeout_ms": 120_000,
    }));
    let channel = opened["channel"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        a.ask(json!({ "op": "call", "channel": channel, "function": "pay_bob", "args": { "amount": 10 }, "wait": true }));
    }
    converge(&a, &b, &channel, 3);
    // B goes silent for good; A's next call is never answered.
    b.0.kill();
    a.ask(json!({ "op": "call", "channel": channel, "function": "pay_bob", "args": { "amount": 10 } }));
    // After the timeout A registers its latest fully signed state.
    a.ask(json!({ "op": "wait", "channel": channel, "phase": "disputing", "timeout_ms": 60_000 }));
    eventually("the registration never showed on chain", || {
        !a.status(&channel)["registered"].is_null()
    });
    assert_eq!(a.status(&channel)["registered"], 3);
    // Nothing settles before the challenge period ends...
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(a.status(&channel)["phase"], "disputing");
    // ... and after it, A finalizes and withdraws by itself.
    a.ask(json!({ "op": "advance", "seconds": 601 }));
    let s =
        a.ask(json!({ "op": "wait", "channel": channel, "phase": "closed", "timeout_ms": 60_000 }));
    assert_eq!(u64s(&s["concluded"]), vec![970, 1030]);
    eventually("A did not withdraw", || {
        !a.status(&channel)["withdrawn"].is_null()
    });
    assert_eq!(a.status(&channel)["withdrawn"], 970);
    // B comes back, finds the channel settled, and withdraws its share.
    b = NodeProc::start(&db, &b_listen, &chain, &["--auto-accept"]);
    eventually("B did not withdraw", || {
        !b.status(&channel)["withdrawn"].is_null()
    });
    assert_eq!(b.status(&channel)["withdrawn"], 1030);
    a.ask(json!({ "op": "stop" }));
    b.ask(json!({ "op": "stop" }));
    let _ = std::fs::remove_dir_all(&da);
    let _ = std::fs::remove_dir_all(&db);
}
