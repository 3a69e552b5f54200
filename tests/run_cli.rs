//! `sotto run` through the binary itself: every library contract with each
//! of its scenarios reaches the outcome the scenario states, paid by the
//! embedded chain, with the JSON report's fields, both between `sotto node`
//! processes (the default) and in one process; the chain's footprint does
//! not grow with the number of steps; an outcome that differs, and every
//! user-facing mistake on the way, exits non-zero with a one-line message.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/examples")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every library scenario, in order.
fn library_scenarios() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(examples())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    all.sort();
    all
}

#[test]
fn every_library_scenario_runs_to_its_outcome_between_node_processes() {
    every_library_scenario_runs_to_its_outcome(&[]);
}

#[test]
fn every_library_scenario_runs_to_its_outcome_in_process() {
    every_library_scenario_runs_to_its_outcome(&["--in-process"]);
}

fn every_library_scenario_runs_to_its_outcome(mode: &[&str]) {
    let mut runs = 0;
    let mut footprints = Vec::new();
    for path in library_scenarios() {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let contract = examples().join(format!("{}.sotto", name.split('.').next().unwrap()));
        let mut args = vec![
            "run",
            contract.to_str().unwrap(),
            "--scenario",
            path.to_str().unwrap(),
            "--json",
        ];
        args.extend(mode);
        let out = sotto(&args);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outcome_reached"], true, "{name}");
        let scenario: toml::Value =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // The payouts the scenario states, in party order, are what the
        // chain paid.
        let paid: Vec<u64> = report["paid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let stated: u64 = scenario["outcome"]["paid"]
            .as_table()
            .unwrap()
            .values()
            .map(|v| u64::try_from(v.as_integer().unwrap()).unwrap())
            .sum();
        assert_eq!(paid.iter().sum::<u64>(), stated, "{name}");
        let chain = &report["chain"];
        assert!(chain["transactions"].as_u64().unwrap() >= 2, "{name}");
        assert!(chain["gas"].as_u64().unwrap() > 100_000, "{name}");
        assert!(chain["calldata_bytes"].as_u64().unwrap() > 0, "{name}");
        assert!(report["steps"].as_u64().unwrap() > 0, "{name}");
        // Each proof was made by its proposer and checked by the others.
        let proofs = &report["proofs"];
        let count = proofs["count"].as_u64().unwrap() as usize;
        for key in ["bytes", "made_us", "checked_us"] {
            let values = proofs[key].as_array().unwrap();
            assert_eq!(values.len(), count, "{name}: {key}");
            assert!(
                values.iter().all(|v| v.as_u64().unwrap() > 0),
                "{name}: {key}"
            );
        }
        // A contract whose functions prove something shows proofs.
        if name.starts_with("negotiation") {
            assert!(count >= 1, "{name}");
        }
        let wire = &report["wire"];
        assert!(wire["messages"].as_u64().unwrap() >= 2, "{name}");
        assert!(wire["bytes"].as_u64().unwrap() > 100, "{name}");
        // The chain sees deposits and a settlement, however many steps.
        let calls: Vec<String> = chain["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call"].as_str().unwrap().to_owned())
            .collect();
        footprints.push((name.clone(), report["version"].as_u64().unwrap(), calls));
        runs += 1;
    }
    assert_eq!(runs, 16);
    // Cooperative closes: deposits then one conclude, whatever the number
    // of off-chain versions; disputes: a registration, its refutation for
    // a stale one, a finalization and the payouts.
    for (name, _, calls) in &footprints {
        let settle: Vec<&str> = calls
            .iter()
            .map(String::as_str)
            .filter(|c| *c != "deposit")
            .collect();
        if name.ends_with(".happy.toml") || name.ends_with(".crash.toml") {
            assert_eq!(settle, ["conclude"], "{name}");
        } else if name.ends_with(".stale.toml") {
            assert_eq!(
                settle,
                ["register", "register", "finalize", "withdraw", "withdraw"],
                "{name}"
            );
        } else {
            assert_eq!(settle.first().copied(), Some("register"), "{name}");
            assert!(settle.contains(&"finalize"), "{name}");
        }
    }
}

/// A payment scenario of `n` payments from alice to bob.
fn payments(dir: &Path, n: u64) -> PathBuf {
    let mut text = String::from(
        "name = \"many payments\"\ncontract = \"payment.sotto\"\ndeposits = { alice = 100000, bob = 100000 }\n",
    );
    for _ in 0..n {
        text.push_str("[[steps]]\ncall = \"pay_bob\"\nby = \"alice\"\nargs = { amount = 3 }\n");
    }
    text.push_str(&format!(
        "[outcome]\npaid = {{ alice = {}, bob = {} }}\n",
        100_000 - 3 * n,
        100_000 + 3 * n
    ));
    let path = dir.join(format!("payment.{n}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_chain_sees_the_same_footprint_after_one_step_or_forty() {
    let dir = std::env::temp_dir().join(format!("sotto-run-footprint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seen = Vec::new();
    for n in [1, 40] {
        let scenario = payments(&dir, n);
        let out = sotto(&[
            "run",
            "contracts/examples/payment.sotto",
            "--scenario",
            scenario.to_str().unwrap(),
            "--json",
        ]);
        assert!(out.status.success(), "{n}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["version"], n, "{n}");
        let chain = &report["chain"];
        seen.push((
            chain["transactions"].as_u64().unwrap(),
            chain["calldata_bytes"].as_u64().unwrap(),
            chain["gas"].as_u64().unwrap(),
        ));
    }
    let (one, forty) = (seen[0], seen[1]);
    assert_eq!((one.0, one.1), (forty.0, forty.1));
    // Gas differs only by the calldata's zero and non-zero bytes (the
    // allocation's digits, the signatures): a few hundred at most.
    assert!(one.2.abs_diff(forty.2) < 1_000, "{one:?} {forty:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_human_report_shows_steps_proofs_and_the_chain() {
    let out = sotto(&["run", "contracts/examples/negotiation.sotto"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "[buyer's node] private buyer_limit = 800",
        "refused as expected: below the seller's floor",
        "proof verified by every other party",
        "settled on chain: buyer 300, seller 800",
        "proofs:    2 made and verified",
        "with every step on chain",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

#[test]
fn an_outcome_that_differs_exits_non_zero_and_says_how() {
    let dir = std::env::temp_dir().join(format!("sotto-run-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(examples().join("payment.happy.toml"))
        .unwrap()
        .replace("alice = 80", "alice = 81");
    let scenario = dir.join("payment.wrong.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = sotto(&[
        "run",
        "contracts/examples/payment.sotto",
        "--scenario",
        scenario.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome_reached"], false);
    let err = stderr(&out);
    assert!(err.contains("the outcome: expected alice 81"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_mistakes_get_one_line_that_says_what_to_do() {
    let dir = std::env::temp_dir().join(format!("sotto-run-cli-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.sotto");
    std::fs::write(&broken, "contract broken;\nparty a, b;\nfn f() by c {}\n").unwrap();
    let unknown = dir.join("unknown.toml");
    std::fs::write(
        &unknown,
        std::fs::read_to_string(examples().join("payment.happy.toml"))
            .unwrap()
            .replace("call = \"pay_bob\"", "call = \"pay_carol\""),
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["run".into(), "no/such.sotto".into()], "no/such.sotto"),
        (
            vec!["run".into(), broken.display().to_string()],
            "sotto check",
        ),
        (
            vec![
                "run".into(),
                "contracts/examples/payment.sotto".into(),
                "--scenario".into(),
                unknown.display().to_string(),
            ],
            "pay_carol",
        ),
        (
            vec![
                "run".into(),
                "contracts/examples/payment.sotto".into(),
                "--scenario".into(),
                dir.join("missing.toml").display().to_string(),
            ],
            "cannot read the scenario",
        ),
        (
            vec![
                "run".into(),
                "contracts/examples/payment.sotto".into(),
                "--chain".into(),
                "http://127.0.0.1:1".into(),
            ],
            "no chain answers at http://127.0.0.1:1",
        ),
        (
            vec![
                "run".into(),
                "contracts/examples/payment.sotto".into(),
                "--chain".into(),
                "mainnet".into(),
            ],
            "give `embedded` (the default) or the http:// URL",
        ),
        (
            vec![
                "run".into(),
                "contracts/examples/escrow.sotto".into(),
                "--scenario".into(),
                "contracts/examples/payment.happy.toml".into(),
            ],
            "is written for contracts/examples/payment.sotto, not contracts/examples/escrow.sotto",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sotto(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: "), "{args:?}: {err}");
        assert!(last.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("backtrace") && !err.contains("panicked"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_port_in_use_says_so_and_how_to_choose_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("sotto-run-port-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["node", "--node", dir.to_str().unwrap(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must give up at once; a node that starts anyway is killed after
    // a minute and the test fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("--listen 127.0.0.1:PORT"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
