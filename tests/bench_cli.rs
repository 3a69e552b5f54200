//! End-to-end tests of `sotto bench`: the built binary, run as a user runs it.
//!
//! One `bench proofs --quick --json --csv --plot` run (shared by the tests
//! that read it) must produce every row with sane figures, proof sizes that
//! follow the bulletproofs formula, baselines that name real rows, and the
//! same rows in CSV; bad input must fail with one line and a non-zero exit.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{Map, Value};

const FIELDS: [&str; 10] = [
    "name",
    "median_ns",
    "p99_ns",
    "prove_ns",
    "verify_ns",
    "per_s",
    "size_bytes",
    "gas",
    "fuel",
    "baseline",
];
const AGGREGATION: [u64; 6] = [1, 2, 4, 8, 16, 32];
const BATCHES: [u64; 3] = [1, 8, 64];
/// Rows that prove and verify one proof each.
const PROOF_ROWS: [&str; 6] = [
    "range64",
    "bulletproofs_range64",
    "borromean_range63",
    "comparison",
    "product",
    "transition",
];

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .expect("the sotto binary runs")
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-bench-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

struct QuickRun {
    output: Output,
    csv: String,
    svg: String,
}

/// The one quick run, made by whichever test asks first.
fn quick_run() -> &'static QuickRun {
    static RUN: OnceLock<QuickRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch("quick");
        let (csv, svg) = (dir.join("rows.csv"), dir.join("aggregation.svg"));
        let output = sotto(&[
            "bench",
            "proofs",
            "--quick",
            "--json",
            "--csv",
            csv.to_str().expect("a UTF-8 temp path"),
            "--plot",
            svg.to_str().expect("a UTF-8 temp path"),
        ]);
        assert!(
            output.status.success(),
            "bench proofs --quick failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let run = QuickRun {
            csv: std::fs::read_to_string(&csv).expect("the CSV file was written"),
            svg: std::fs::read_to_string(&svg).expect("the plot was written"),
            output,
        };
        std::fs::remove_dir_all(&dir).expect("removing the scratch directory");
        run
    })
}

/// The rows, by name, checking that stdout is one JSON array and nothing else.
fn rows() -> Vec<Map<String, Value>> {
    let json: Value = serde_json::from_slice(&quick_run().output.stdout)
        .expect("stdout is exactly one JSON value");
    let Value::Array(rows) = json else {
        panic!("stdout is not a JSON array: {json}");
    };
    rows.into_iter()
        .map(|r| match r {
            Value::Object(o) => o,
            other => panic!("a row is not an object: {other}"),
        })
        .collect()
}

fn row<'a>(rows: &'a [Map<String, Value>], name: &str) -> &'a Map<String, Value> {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

fn int(row: &Map<String, Value>, field: &str) -> u64 {
    row.get(field)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("row {} has no integer {field}", row["name"]))
}

#[test]
fn json_has_every_row_with_known_fields_and_unique_names() {
    let rows = rows();
    let mut names = HashSet::new();
    for r in &rows {
        let name = r["name"].as_str().expect("name is a string");
        assert!(names.insert(name.to_owned()), "duplicate row {name}");
        for key in r.keys() {
            assert!(
                FIELDS.contains(&key.as_str()),
                "row {name}: unknown field {key}"
            );
        }
    }
    let mut expected: Vec<String> = PROOF_ROWS.iter().map(|s| s.to_string()).collect();
    expected.extend(AGGREGATION.iter().map(|m| format!("range64x{m}")));
    expected.extend(BATCHES.iter().map(|n| format!("batch_verify_{n}")));
    for name in &expected {
        assert!(names.contains(name), "missing row {name}; rows: {names:?}");
    }
}

#[test]
fn times_are_positive_and_batch_figures_agree() {
    let rows = rows();
    for r in &rows {
        for field in ["prove_ns", "verify_ns", "median_ns", "p99_ns"] {
            if r.contains_key(field) {
                assert!(int(r, field) > 0, "row {}: {field} is 0", r["name"]);
            }
        }
    }
    let aggregated: Vec<String> = AGGREGATION.iter().map(|m| format!("range64x{m}")).collect();
    for name in PROOF_ROWS
        .iter()
        .copied()
        .chain(aggregated.iter().map(String::as_str))
    {
        let r = row(&rows, name);
        for field in ["prove_ns", "verify_ns", "size_bytes"] {
            assert!(int(r, field) > 0, "row {name}: {field}");
        }
    }
    for n in BATCHES {
        let r = row(&rows, &format!("batch_verify_{n}"));
        let (median, p99, per_proof) = (int(r, "median_ns"), int(r, "p99_ns"), int(r, "verify_ns"));
        assert!(p99 >= median, "{r:?}");
        // verify_ns is the per-proof share of the batch's median time.
        assert_eq!(per_proof, median / n, "{r:?}");
        let per_s = r["per_s"].as_f64().expect("per_s");
        let expected = n as f64 * 1e9 / median as f64;
        assert!((per_s - expected).abs() <= expected * 1e-6, "{r:?}");
    }
}

#[test]
fn aggregated_sizes_follow_the_bulletproofs_formula() {
    let rows = rows();
    // A bulletproofs range proof over n·m bits is 2·log2(n·m) + 9 words of 32 bytes.
    let words = |bits: u64| 2 * u64::from(bits.ilog2()) + 9;
    let raw = int(row(&rows, "bulletproofs_range64"), "size_bytes");
    assert_eq!(raw, 32 * words(64));
    // Our encoding adds the same framing to every range-only proof.
    let framing = int(row(&rows, "range64"), "size_bytes") - raw;
    assert!((1..=64).contains(&framing), "framing {framing} bytes");
    let mut previous = None;
    for m in AGGREGATION {
        let size = int(row(&rows, &format!("range64x{m}")), "size_bytes");
        assert_eq!(size, 32 * words(64 * m) + framing, "range64x{m}");
        if let Some(p) = previous {
            assert_eq!(size - p, 64, "each doubling of m adds two 32-byte words");
        }
        previous = Some(size);
    }
}

#[test]
fn baselines_name_other_existing_rows() {
    let rows = rows();
    let mut with_baseline = 0;
    for r in &rows {
        if let Some(b) = r.get("baseline") {
            let b = b.as_str().expect("baseline is a string");
            assert_ne!(r["name"], b, "a row is its own baseline");
            row(&rows, b);
            with_baseline += 1;
        }
    }
    assert_eq!(row(&rows, "range64")["baseline"], "bulletproofs_range64");
    for n in BATCHES {
        assert_eq!(
            row(&rows, &format!("batch_verify_{n}"))["baseline"],
            "range64"
        );
    }
    assert!(with_baseline >= 4);
}

#[test]
fn csv_and_plot_carry_the_same_run() {
    let run = quick_run();
    let rows = rows();
    let mut lines = run.csv.lines();
    assert_eq!(lines.next(), Some(FIELDS.join(",").as_str()));
    let csv_names: Vec<&str> = lines.map(|l| l.split(',').next().unwrap_or("")).collect();
    let json_names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(csv_names, json_names);
    for line in run.csv.lines().skip(1) {
        assert_eq!(line.split(',').count(), FIELDS.len(), "{line}");
    }
    assert!(run.svg.starts_with("<svg"), "not an SVG document");
    for text in ["prove", "verify", "size, bytes", "time, ms (log scale)"] {
        assert!(run.svg.contains(text), "the plot lacks {text:?}");
    }
}

/// Asserts a clean failure: non-zero exit, nothing on stdout, one line on
/// stderr containing every one of `needles`, no panic, no backtrace.
fn assert_clean_failure(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(bad), "stderr mentions {bad}: {stderr}");
    }
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
    }
}

#[test]
fn an_unknown_area_is_refused_with_the_choices() {
    let output = sotto(&["bench", "nonsense"]);
    assert_clean_failure(&output, &["nonsense", "proofs", "contracts"]);
}

#[test]
fn oracle_reports_bet_setup_as_the_outcomes_grow() {
    let output = sotto(&["bench", "oracle", "--quick", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "setup_enum_2",
            "setup_enum_16",
            "setup_enum_128",
            "setup_enum_1024",
            "setup_numeric_2^10",
            "setup_numeric_2^14",
            "setup_numeric_2^17",
            "setup_numeric_2^20",
            "attest_numeric_2^20",
            "verify_attestation_2^20",
            "settle_numeric_2^20",
        ]
    );
    // What a party sends: its key (33 bytes), a count (4), 162 bytes per
    // signature, and the refund flag (1: these bets have no refund); one
    // signature per enumerated outcome.
    let signatures = |name: &str| {
        let size = int(row(&rows, name), "size_bytes");
        assert_eq!((size - 38) % 162, 0, "{name}: {size} bytes");
        (size - 38) / 162
    };
    for n in [2, 16, 128, 1024] {
        assert_eq!(signatures(&format!("setup_enum_{n}")), n);
    }
    // Digit prefixes: far fewer signatures than values, growing slowly.
    let mut last = 0;
    for bits in [10, 14, 17, 20] {
        let count = signatures(&format!("setup_numeric_2^{bits}"));
        assert!(count > last && count < (1 << bits) / 2, "2^{bits}: {count}");
        last = count;
    }
    for r in &rows {
        assert!(int(r, "median_ns") > 0, "{r:?}");
        if r["name"].as_str().unwrap().starts_with("setup_") {
            assert!(int(r, "prove_ns") > 0 && int(r, "verify_ns") > 0, "{r:?}");
            // Both parties sign and verify: more than one party's signing.
            assert!(int(r, "median_ns") > int(r, "prove_ns"), "{r:?}");
        }
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("setup_numeric_2^20 median"), "{stderr}");
    assert!(stderr.contains("against 1048576"), "{stderr}");
}

#[test]
fn an_area_without_a_chart_refuses_plot() {
    let dir = scratch("oracle-plot");
    let svg = dir.join("o.svg");
    let output = sotto(&[
        "bench",
        "oracle",
        "--quick",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, &["area oracle has no chart"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!svg.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_outputs_fail_before_measuring() {
    let dir = scratch("unwritable");
    // A path under a regular file cannot be created, even by root.
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let target = file.join("out");
    let target = target.to_str().unwrap();
    for (flag, what) in [("--csv", "CSV"), ("--plot", "plot")] {
        let output = sotto(&["bench", "proofs", "--quick", flag, target]);
        assert_clean_failure(&output, &[&format!("cannot create the {what} file"), flag]);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn contracts_reports_every_library_contract_and_its_fuel() {
    let output = sotto(&["bench", "contracts", "--quick", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let named = |prefix: &str| {
        rows.iter()
            .filter(|r| r["name"].as_str().unwrap().starts_with(prefix))
            .collect::<Vec<_>>()
    };
    let compiles = named("compile_");
    assert_eq!(compiles.len(), 7);
    for r in compiles {
        assert!(r["median_ns"].as_u64().unwrap() > 0, "{r}");
        assert!(r["size_bytes"].as_u64().unwrap() > 100, "{r}");
    }
    let fuel = named("fuel_");
    // Every function of every happy path, and the witness parts.
    assert!(fuel.len() >= 20, "{} fuel rows", fuel.len());
    assert!(
        fuel.iter()
            .any(|r| r["name"] == "fuel_negotiation.accept.witness")
    );
    for r in fuel {
        assert!(r["fuel"].as_u64().unwrap() > 0, "{r}");
    }
}

#[test]
fn channel_times_a_public_and_a_private_update() {
    let output = sotto(&["bench", "channel", "--in-process", "--quick", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "update_payment",
            "update_payment_memory",
            "update_payment_backlog64",
            "update_negotiation",
            "sqlite_commit"
        ]
    );
    // The in-memory row is compared with the durable one.
    assert_eq!(rows[1]["baseline"], "update_payment");
    for r in &rows {
        assert!(r["median_ns"].as_u64().unwrap() > 0, "{r}");
        assert!(r["per_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    // The verdicts on both targets reach stderr whatever they are (timings
    // are never asserted in tests: they belong to the benchmark's figures).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("update_payment_backlog64: updates per second"),
        "{stderr}"
    );
    assert!(stderr.contains("update_negotiation median"), "{stderr}");
}

/// One `bench chain --quick --json` run: its rows, and its stderr (the
/// checks and notes).
fn chain_run() -> (Vec<Map<String, Value>>, String) {
    let output = sotto(&["bench", "chain", "--quick", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let rows: Vec<Map<String, Value>> =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON array of objects");
    (rows, stderr)
}

#[test]
fn chain_reports_gas_per_call_and_lifecycle_and_times_both_backends() {
    const FUNCTIONS: [&str; 9] = [
        "first_deposit",
        "second_deposit",
        "conclude",
        "register",
        "register_timed",
        "refute",
        "finalize",
        "withdraw",
        "second_withdraw",
    ];
    const OPS: [&str; 6] = [
        "deposit", "conclude", "register", "refute", "finalize", "withdraw",
    ];
    let (rows, stderr) = chain_run();
    let mut expected: Vec<String> = FUNCTIONS.iter().map(|f| format!("gas_{f}")).collect();
    expected.extend(["nitro_first_deposit", "nitro_conclude", "nitro_challenge"].map(String::from));
    for kind in ["cooperative", "disputed"] {
        expected.push(format!("lifecycle_{kind}_1"));
        expected.push(format!("lifecycle_{kind}_10000"));
    }
    for backend in ["embedded", "anvil"] {
        expected.extend(OPS.iter().map(|op| format!("{backend}_{op}")));
    }
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected);
    for r in &rows {
        for key in r.keys() {
            assert!(FIELDS.contains(&key.as_str()), "{r:?}: unknown field {key}");
        }
        if let Some(b) = r.get("baseline") {
            row(&rows, b.as_str().expect("baseline is a string"));
        }
    }

    // A time-bounded registration costs what a plain one does, plus its
    // window's two words of calldata and one more hash (a few hundred gas).
    let (plain, timed) = (
        int(row(&rows, "gas_register"), "gas"),
        int(row(&rows, "gas_register_timed"), "gas"),
    );
    assert!(timed > plain && timed < plain + 2_000, "{plain} {timed}");
    assert_eq!(
        int(row(&rows, "gas_register_timed"), "size_bytes"),
        int(row(&rows, "gas_register"), "size_bytes") + 64
    );

    // Gas: every call and lifecycle, with its calldata's length.
    for name in expected
        .iter()
        .filter(|n| n.starts_with("gas_") || n.starts_with("lifecycle_"))
    {
        let r = row(&rows, name);
        assert!(int(r, "gas") > 0 && int(r, "size_bytes") > 0, "{r:?}");
    }
    // Nitro's figures are quoted, and compared with ours.
    for (ours, nitro, gas) in [
        ("gas_first_deposit", "nitro_first_deposit", 46_500),
        ("gas_conclude", "nitro_conclude", 111_500),
        ("gas_register", "nitro_challenge", 113_000),
    ] {
        assert_eq!(row(&rows, ours)["baseline"], nitro);
        assert_eq!(int(row(&rows, nitro), "gas"), gas);
        assert!(stderr.contains(&format!("{ours} / {nitro}: ")), "{stderr}");
    }
    // A cooperative lifecycle is the three calls of the gas rows.
    let gas = |name: &str| int(row(&rows, name), "gas");
    assert_eq!(
        gas("lifecycle_cooperative_1"),
        gas("gas_first_deposit") + gas("gas_second_deposit") + gas("gas_conclude")
    );
    // Gas is deterministic: the number of updates moves it only by the
    // calldata's price, and the embedded chain charges what anvil does.
    for kind in ["cooperative", "disputed"] {
        assert_eq!(
            row(&rows, &format!("lifecycle_{kind}_10000"))["baseline"],
            format!("lifecycle_{kind}_1")
        );
        let check = format!("lifecycle_{kind}: gas after 10,000 updates − after 1: ");
        let line = stderr.lines().find(|l| l.starts_with(&check));
        assert!(line.is_some_and(|l| l.ends_with(": met")), "{stderr}");
    }
    let line = stderr
        .lines()
        .find(|l| l.starts_with("anvil_*: gas of every timed call"));
    assert!(line.is_some_and(|l| l.ends_with(": met")), "{stderr}");
    assert!(stderr.contains("note: Raiden"), "{stderr}");

    // Wall time on both backends (never asserted: only that it was taken).
    for op in OPS {
        for backend in ["embedded", "anvil"] {
            let r = row(&rows, &format!("{backend}_{op}"));
            assert!(int(r, "median_ns") > 0 && int(r, "p99_ns") >= int(r, "median_ns"));
            assert!(r["per_s"].as_f64().unwrap() > 0.0, "{r:?}");
            assert!(!r.contains_key("gas"), "{r:?}");
        }
        assert_eq!(
            row(&rows, &format!("anvil_{op}"))["baseline"],
            format!("embedded_{op}")
        );
    }

    // A second run charges the same gas for everything.
    let (again, _) = chain_run();
    let gas_of = |rows: &[Map<String, Value>]| -> Vec<(String, u64)> {
        rows.iter()
            .filter(|r| r.contains_key("gas"))
            .map(|r| (r["name"].as_str().unwrap().to_owned(), int(r, "gas")))
            .collect()
    };
    assert_eq!(gas_of(&rows), gas_of(&again));
}

#[test]
fn channel_over_the_network_times_two_node_processes() {
    let output = sotto(&["bench", "channel", "--quick", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let tcp: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["name"].as_str().unwrap().starts_with("tcp_"))
        .collect();
    let names: Vec<&str> = tcp.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tcp_update_payment",
            "tcp_update_payment_backlog",
            "tcp_update_negotiation",
            "tcp_idle_channel_memory",
            "tcp_aggregate_1",
            "tcp_aggregate_10",
            "tcp_aggregate_100"
        ]
    );
    // Each network row names the in-process row it is held against.
    assert_eq!(tcp[0]["baseline"], "update_payment");
    assert_eq!(tcp[2]["baseline"], "update_negotiation");
    for r in tcp
        .iter()
        .filter(|r| r["name"] != "tcp_idle_channel_memory")
    {
        assert!(r["median_ns"].as_u64().unwrap() > 0, "{r}");
    }
    assert!(tcp[3]["size_bytes"].as_u64().unwrap() > 0);
    for r in &tcp[4..] {
        assert!(r["per_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert!(
        stderr.contains("resident memory per idle open channel"),
        "{stderr}"
    );
}
