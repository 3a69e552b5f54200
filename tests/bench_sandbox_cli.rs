//! End-to-end test of `sotto bench sandbox`: the built binary, run as a user
//! runs it. A quick JSON run must produce every row with positive figures
//! and nothing else on stdout; `--plot` must be refused before measuring,
//! since the area has no chart. No time is asserted: the figures belong in
//! docs/benchmarks.md, not in a test.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::process::{Command, Output};

use serde_json::Value;

const ROWS: [&str; 5] = [
    "call_trivial",
    "call_no_memory",
    "call_payment",
    "call_hash",
    "compile_payment",
];

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn quick_json_has_every_row_with_positive_figures() {
    let output = sotto(&["bench", "sandbox", "--quick", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench sandbox failed: {stderr}");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = json.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names[..ROWS.len()], ROWS);
    // Then every function each library contract's happy path calls, with
    // the fuel it used.
    let library: Vec<&Value> = rows[ROWS.len()..].iter().collect();
    assert!(library.len() >= 20, "{names:?}");
    for row in &library {
        let name = row["name"].as_str().unwrap();
        assert!(name.starts_with("call_") && name.contains('.'), "{name}");
        assert!(row["fuel"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["baseline"], "call_trivial", "{row}");
    }
    for contract in [
        "auction",
        "escrow",
        "htlc",
        "negotiation",
        "oracle_bet",
        "payment",
        "rps",
    ] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("call_{contract}."))),
            "{contract} has no row"
        );
    }
    for row in rows {
        let name = &row["name"];
        let median = row["median_ns"].as_u64().unwrap();
        let p99 = row["p99_ns"].as_u64().unwrap();
        let per_s = row["per_s"].as_f64().unwrap();
        assert!(median > 0, "{name}: median_ns is 0");
        assert!(p99 >= median, "{name}: p99 {p99} below median {median}");
        assert!(per_s > 0.0, "{name}: per_s is {per_s}");
        let expected = 1e9 / median as f64;
        assert!((per_s - expected).abs() <= expected * 1e-6, "{row}");
    }
    for (name, baseline) in [
        ("call_payment", "call_no_memory"),
        ("call_hash", "call_trivial"),
    ] {
        let row = rows.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(row["baseline"], baseline);
    }
    // The verdict on the 3 µs target reaches stderr whatever it is.
    assert!(stderr.contains("call_trivial median"), "{stderr}");
}

#[test]
fn plot_is_refused_before_measuring() {
    let dir = std::env::temp_dir().join(format!("sotto-bench-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("sandbox.svg");
    let output = sotto(&[
        "bench",
        "sandbox",
        "--quick",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("area sandbox has no chart to plot; drop --plot"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!svg.exists(), "an empty plot file was left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}
