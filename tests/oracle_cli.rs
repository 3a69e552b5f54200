//! `sotto oracle` through the binary: init, announce, serve, fetch, attest
//! and fetch again, with the JSON checked against the engine's own
//! decoding and verification; `serve` stops cleanly on SIGTERM and names a
//! taken port in one line; every mistake (unknown outcome or event, a
//! second different attestation, no outcomes given, a bad URL) is one line
//! `error: …` with exit code 2 for the command line and 1 for a refusal.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use sotto_engine::oracle::{Announcement, Attestation, Outcome};

fn sotto() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sotto"));
    // Never the user's own oracle.
    command.env_remove("SOTTO_ORACLE");
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-oracle-cli-{}-{name}-{}",
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

/// `sotto oracle ARGS...`, which must succeed; its stdout.
fn ok(args: &[&str]) -> String {
    let output = sotto().arg("oracle").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `sotto oracle ARGS...`, which must fail with one line and `code`; the
/// line.
fn fails(args: &[&str], code: i32) -> String {
    let output = sotto().arg("oracle").args(args).output().unwrap();
    one_line_error(&output, code, args)
}

fn one_line_error(output: &Output, code: i32, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}");
    stderr
}

/// A `sotto oracle serve` process, killed when dropped.
struct Serving {
    child: Child,
    line: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// Starts `sotto oracle serve --dir DIR --listen 127.0.0.1:0 EXTRA...`
    /// and reads its first line.
    fn start(dir: &Path, extra: &[&str]) -> Serving {
        let mut child = sotto()
            .args(["oracle", "serve", "--listen", "127.0.0.1:0", "--dir"])
            .arg(dir)
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
            line: String::new(),
        };
        serving.line = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        serving
    }

    fn sigterm(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

#[test]
fn init_announce_serve_fetch_attest_and_fetch_again() {
    let root = scratch("flow");
    let dir = root.join("oracle");
    let d = dir.to_str().unwrap();
    let created = ok(&["init", "--dir", d]);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(dir.join("key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    fails(&["init", "--dir", d], 1);
    // An enumerated and a numeric event.
    let printed = ok(&[
        "announce",
        "--dir",
        d,
        "match:1",
        "--maturity",
        "1750000000",
        "--outcomes",
        "home, draw,away",
    ]);
    let ann = Announcement::from_json(&printed).unwrap();
    let json: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(json["event_id"], "match:1");
    assert_eq!(json["maturity"], 1_750_000_000u64);
    assert_eq!(
        json["outcomes"],
        serde_json::json!(["home", "draw", "away"])
    );
    let oracle = json["oracle"].as_str().unwrap().to_owned();
    assert!(created.contains(&oracle), "{created}");
    let numeric = Announcement::from_json(&ok(&[
        "announce",
        "--dir",
        d,
        "btc-usd",
        "--maturity",
        "5",
        "--numeric",
        "--digits",
        "3",
        "--base",
        "10",
    ]))
    .unwrap();
    assert_eq!(numeric.nonces().len(), 3);
    // Served (JSON line), fetched and verified.
    let serving = Serving::start(&dir, &["--json"]);
    let info: Value = serde_json::from_str(&serving.line).unwrap();
    assert_eq!(info["oracle"], oracle.as_str());
    assert_eq!(info["events"], 2);
    let url = info["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let fetched = ok(&["fetch", &url, "match:1", "--oracle", &oracle]);
    assert_eq!(Announcement::from_json(&fetched).unwrap(), ann);
    // Not attested yet: exit 1, and the maturity is named.
    let not_yet = fails(&["fetch", &url, "match:1", "--attestation"], 1);
    assert!(
        not_yet.contains("not attested yet") && not_yet.contains("1750000000"),
        "{not_yet}"
    );
    // Attested (the same outcome twice gives the same JSON), then served.
    let attested = ok(&["attest", "--dir", d, "match:1", "away"]);
    assert_eq!(ok(&["attest", "--dir", d, "match:1", "away"]), attested);
    let att = Attestation::from_json(&attested).unwrap();
    assert_eq!(ann.verify(&att).unwrap().outcome, Outcome::Enumerated(2));
    let fetched = ok(&["fetch", &url, "match:1", "--attestation"]);
    assert_eq!(Attestation::from_json(&fetched).unwrap(), att);
    let value = ok(&["attest", "--dir", d, "btc-usd", "042"]);
    assert_eq!(
        numeric
            .verify(&Attestation::from_json(&value).unwrap())
            .unwrap()
            .outcome,
        Outcome::Numeric(42)
    );
    // Another oracle's key named: refused.
    let other = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let wrong = fails(&["fetch", &url, "match:1", "--oracle", other], 1);
    assert!(wrong.contains(other), "{wrong}");
    serving.sigterm();
    // The human line names the URL.
    let human = Serving::start(&dir, &[]);
    assert!(
        human.line.contains("http://127.0.0.1:") && human.line.contains(&oracle),
        "{}",
        human.line
    );
    human.sigterm();
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn mistakes_and_refusals_are_one_line_errors_with_their_exit_code() {
    let root = scratch("errors");
    let dir = root.join("oracle");
    let d = dir.to_str().unwrap();
    ok(&["init", "--dir", d]);
    for (extra, needle) in [
        (vec!["--maturity", "1"], "--outcomes"),
        (vec!["--outcomes", "a,b"], "--maturity"),
        (
            vec![
                "--maturity",
                "1",
                "--outcomes",
                "a,b",
                "--numeric",
                "--digits",
                "3",
            ],
            "not both",
        ),
        (vec!["--maturity", "1", "--numeric"], "--digits"),
        (vec!["--maturity", "1", "--outcomes", "a,,b"], "empty"),
        (
            vec!["--maturity", "1", "--outcomes", "a,b", "--digits", "2"],
            "--numeric",
        ),
        (vec!["--maturity", "1", "--outcomes", "a"], "2 to 4096"),
        (vec!["--maturity", "1", "--outcomes", "a,a"], "twice"),
        (
            vec!["--maturity", "1", "--numeric", "--digits", "41"],
            "2^40",
        ),
    ] {
        let mut args = vec!["announce", "--dir", d, "e1"];
        args.extend_from_slice(&extra);
        let line = fails(&args, 2);
        assert!(line.contains(needle), "{extra:?}: {line}");
    }
    let line = fails(
        &[
            "announce",
            "--dir",
            d,
            "a b",
            "--maturity",
            "1",
            "--outcomes",
            "x,y",
        ],
        2,
    );
    assert!(line.contains("event id"), "{line}");
    ok(&[
        "announce",
        "--dir",
        d,
        "e1",
        "--maturity",
        "1",
        "--outcomes",
        "yes,no",
    ]);
    let line = fails(
        &[
            "announce",
            "--dir",
            d,
            "e1",
            "--maturity",
            "1",
            "--outcomes",
            "x,y",
        ],
        1,
    );
    assert!(line.contains("already announced"), "{line}");
    // Attestations: an unknown outcome or event is a command-line mistake;
    // a second, different outcome is refused.
    let line = fails(&["attest", "--dir", d, "e1", "maybe"], 2);
    assert!(line.contains("maybe") && line.contains("yes, no"), "{line}");
    let line = fails(&["attest", "--dir", d, "e2", "yes"], 2);
    assert!(line.contains("e2"), "{line}");
    ok(&["attest", "--dir", d, "e1", "yes"]);
    let file = dir.join("attestations").join("e1.json");
    let before = std::fs::read(&file).unwrap();
    let line = fails(&["attest", "--dir", d, "e1", "no"], 1);
    assert!(
        line.contains("`yes`") && line.contains("`no`") && line.contains("key"),
        "{line}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // Not an oracle directory; a key others can read.
    let empty = root.join("empty");
    let line = fails(
        &["attest", "--dir", empty.to_str().unwrap(), "e1", "yes"],
        1,
    );
    assert!(line.contains("sotto oracle init"), "{line}");
    std::fs::set_permissions(dir.join("key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = fails(&["attest", "--dir", d, "e1", "yes"], 1);
    assert!(line.contains("0600"), "{line}");
    // Fetching: bad URLs and ids are usage errors; nobody listening is a
    // failure naming the address.
    fails(&["fetch", "https://oracle.example", "e1"], 2);
    fails(&["fetch", "http://127.0.0.1:8600/v1", "e1"], 2);
    fails(&["fetch", "http://127.0.0.1:8600", "../key"], 2);
    fails(&["fetch", "http://127.0.0.1:1", "e1", "--oracle", "zz"], 2);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let line = fails(&["fetch", &format!("http://{addr}"), "e1"], 1);
    assert!(line.contains(&addr), "{line}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn serve_on_a_taken_port_says_so_in_one_line() {
    let root = scratch("port");
    let dir = root.join("oracle");
    let d = dir.to_str().unwrap();
    ok(&["init", "--dir", d]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let line = fails(&["serve", "--dir", d, "--listen", &addr], 1);
    assert!(
        line.contains(&addr) && line.contains("in use") && line.contains("--listen"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(root);
}
