//! `sotto build`, `sotto inspect` and `sotto exec` through the binary, on
//! the contract library: build → inspect → exec with exact results, typed
//! call errors, and every kind of bad input failing with one line and exit
//! code 2 (a mistake in the command line) or 1 (anything else), never a
//! panic.
//!
//! The library is built once per run into a scratch directory
//! ([`library`]); every bad-input case is one row of [`bad_inputs`].
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{Value as Json, json};
use sotto_circuits::estimated_proof_size;
use sotto_contracts::Artifact;
use sotto_contracts::abi::{
    ABI_SECTION, Abi, Budgets, Circuit, Field, Function, PROGRAMS_SECTION, Param, Reveal,
    ValueType, VarRole,
};
use sotto_contracts::artifact::encode_programs;

/// SHA-256 of 32 zero bytes: the hash lock whose preimage is zero.
const SHA256_OF_ZEROS: &str = "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925";

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/examples")
        .join(format!("{name}.sotto"))
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("artifact-cli-{name}-{}", std::process::id()));
    let _ignored = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The library, built once: the directory holding `NAME.wasm` for each
/// contract.
fn library() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("library");
        for (name, _) in sotto_contracts::library::LIBRARY {
            let out = dir.join(format!("{name}.wasm"));
            let run = sotto(&[
                "build",
                source(name).to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert!(run.status.success(), "{name}: {}", text(&run.stderr));
        }
        dir
    })
}

fn artifact(name: &str) -> String {
    library()
        .join(format!("{name}.wasm"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `sotto exec` with `--json`; the parsed output and the exit code.
fn exec_json(name: &str, args: &[&str]) -> (Json, Option<i32>) {
    let artifact = artifact(name);
    let mut all = vec!["exec", artifact.as_str()];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sotto(&all);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (json, out.status.code())
}

/// `sotto exec` that must succeed; its JSON output.
fn exec_ok(name: &str, args: &[&str]) -> Json {
    let (json, code) = exec_json(name, args);
    assert_eq!(code, Some(0), "{args:?}: {json}");
    assert_eq!(json["ok"], json!(true));
    json
}

/// A state file in `dir` holding `json`.
fn state_file(dir: &Path, name: &str, json: &Json) -> String {
    let path = dir.join(name);
    std::fs::write(&path, json.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn build_writes_the_artifact_and_names_it() {
    let dir = scratch("build");
    let file = dir.join("payment.sotto");
    std::fs::copy(source("payment"), &file).unwrap();
    // Default output: the source with the extension `.wasm`.
    let out = sotto(&["build", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let wasm = dir.join("payment.wasm");
    let bytes = std::fs::read(&wasm).unwrap();
    let artifact = Artifact::from_bytes(bytes.clone()).unwrap();
    assert_eq!(
        text(&out.stdout),
        format!(
            "built payment: contract id {}, {} bytes -> {}\n",
            artifact.id_hex(),
            bytes.len(),
            wasm.display()
        )
    );
    // Only the artifact was written: the temporary file was renamed.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["payment.sotto", "payment.wasm"]);
    // Same source, same bytes, same id; `-o` writes elsewhere.
    let other = dir.join("again.wasm");
    let out = sotto(&[
        "build",
        file.to_str().unwrap(),
        "-o",
        other.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&other).unwrap(), bytes);
}

/// The same source builds to the same bytes from two directories, by two
/// processes with different working directories and paths: nothing of the
/// environment reaches the module.
#[test]
fn builds_in_two_directories_are_identical() {
    for (name, _) in sotto_contracts::library::LIBRARY {
        let mut built = Vec::new();
        for place in ["one", "two/deeper"] {
            let dir = scratch(&format!("twice-{name}")).join(place);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(source(name), dir.join("contract.sotto")).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
                .current_dir(&dir)
                .args(["build", "contract.sotto"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            built.push(std::fs::read(dir.join("contract.wasm")).unwrap());
        }
        assert_eq!(built[0], built[1], "{name}");
    }
}

#[test]
fn build_with_errors_renders_them_and_writes_nothing() {
    let dir = scratch("build-errors");
    let file = dir.join("leak.sotto");
    std::fs::write(
        &file,
        "contract leak;\nparty a, b;\nstate {\n    n: u64 = 0;\n    s: private(a) u64;\n}\nfn f() by a { n = s; }\n",
    )
    .unwrap();
    let out = sotto(&["build", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("[E0301]"), "{err}");
    assert!(err.contains("n = s;"), "the source line is shown: {err}");
    assert!(
        err.ends_with("error: 1 file: 1 error, 0 warnings\n"),
        "{err}"
    );
    assert_eq!(text(&out.stdout), "");
    assert!(!dir.join("leak.wasm").exists());
}

#[test]
fn build_renders_warnings_and_still_builds() {
    let dir = scratch("build-warnings");
    let file = dir.join("quiet.sotto");
    std::fs::write(
        &file,
        "contract quiet;\nparty a, b;\nstate {\n    n: u64 = 0;\n}\nfn f() by a { n = n + 1; await b; }\n",
    )
    .unwrap();
    let out = sotto(&["build", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("W0101"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("built quiet: contract id "));
    assert!(dir.join("quiet.wasm").exists());
}

#[test]
fn the_library_inspects_with_exact_proof_sizes() {
    for (name, _) in sotto_contracts::library::LIBRARY {
        let path = artifact(name);
        let out = sotto(&["inspect", &path]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with(&format!("contract {name}\n")));
        let out = sotto(&["inspect", &path, "--json"]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let json: Json = serde_json::from_slice(&out.stdout).unwrap();
        let artifact = Artifact::from_bytes(std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["name"], json!(name));
        assert_eq!(json["id"], json!(artifact.id_hex()));
        assert_eq!(json["size"], json!(artifact.bytes().len()));
        let functions = json["functions"].as_array().unwrap();
        assert_eq!(functions.len(), artifact.abi().functions.len());
        for (f, shown) in artifact.abi().functions.iter().zip(functions) {
            assert_eq!(shown["name"], json!(f.name));
            match artifact.program(f) {
                None => assert_eq!(shown["circuit"], Json::Null),
                Some(program) => {
                    assert_eq!(
                        shown["circuit"]["proof_size"],
                        json!(estimated_proof_size(program))
                    );
                    assert_eq!(
                        shown["circuit"]["constraints"].as_array().unwrap().len(),
                        program.constraints().len()
                    );
                }
            }
        }
    }
}

#[test]
fn inspect_shows_the_negotiation() {
    let out = sotto(&["inspect", &artifact("negotiation")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for line in [
        "parties: buyer, seller",
        "  price: u64, public, init 0",
        "  agreed: bool, public, init false",
        "  seller_floor: u64, private(seller), init 0",
        "  propose(p: u64) by seller",
        "        seller_floor: field `seller_floor` before the call",
        "      public inputs: p",
        "        public(p) >= seller_floor  (64-bit difference)",
        "  raise_limit(limit: private u64) by buyer",
        "        limit: parameter `limit`",
        "        buyer_limit': field `buyer_limit` after the call",
    ] {
        assert!(
            shown.lines().any(|l| l == line),
            "missing {line:?} in\n{shown}"
        );
    }
    assert!(shown.contains("      proof size: "), "{shown}");
    assert!(shown.contains("budgets: "), "{shown}");

    let out = sotto(&["inspect", &artifact("auction"), "--json"]);
    let json: Json = serde_json::from_slice(&out.stdout).unwrap();
    let open_alice = &json["functions"][2];
    assert_eq!(open_alice["name"], json!("open_alice"));
    assert_eq!(
        open_alice["reveals"],
        json!([{ "name": "alice_bid", "type": "u64", "public_input": 0 }])
    );
    assert_eq!(
        json["fields"][0],
        json!({ "name": "alice_bid", "type": "u64", "private": true, "owner": "alice", "init": 0 })
    );
    assert_eq!(json["fields"][8]["init"], json!("seller"));
}

#[test]
fn pay_bob_moves_30_and_counts() {
    let out = sotto(&[
        "exec",
        &artifact("payment"),
        "pay_bob",
        "--args",
        r#"{"amount": 30}"#,
        "--allocation",
        r#"{"alice": 100, "bob": 100}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for line in [
        "called pay_bob as alice",
        "  payments: 1",
        "  alice: 70, 70",
        "  bob: 130, 130",
        "awaits: nobody",
        "finished: false",
    ] {
        assert!(
            shown.lines().any(|l| l == line),
            "missing {line:?} in\n{shown}"
        );
    }
    assert!(!shown.contains("private"), "{shown}");

    let json = exec_ok(
        "payment",
        &[
            "pay_bob",
            "--args",
            r#"{"amount": "30"}"#,
            "--allocation",
            r#"{"alice": 100, "bob": 100}"#,
            "--as",
            "alice",
        ],
    );
    assert_eq!(json["fields"], json!({ "payments": 1 }));
    assert_eq!(json["private_fields"], json!({}));
    assert_eq!(json["live"], json!({ "alice": 70, "bob": 130 }));
    assert_eq!(json["signed"], json!({ "alice": 70, "bob": 130 }));
    assert_eq!(json["awaited"], Json::Null);
    assert_eq!(json["finished"], json!(false));
    assert_eq!(json["public_inputs"], json!([]));
    assert_eq!(json["witness_fuel_used"], Json::Null);
    assert!(json["fuel_used"].as_u64().unwrap() > 0);

    // From a state file: the counter goes on from there.
    let dir = scratch("payment-state");
    let state = state_file(
        &dir,
        "state.json",
        &json!({ "fields": { "payments": 4 }, "allocation": { "alice": 10, "bob": 5 } }),
    );
    let json = exec_ok(
        "payment",
        &["pay_alice", "--state", &state, "--args", r#"{"amount": 5}"#],
    );
    assert_eq!(json["fields"], json!({ "payments": 5 }));
    assert_eq!(json["live"], json!({ "alice": 15, "bob": 0 }));
}

#[test]
fn call_errors_are_typed_and_exit_1() {
    // An abort, with the contract's reason.
    let (json, code) = exec_json("payment", &["pay_bob", "--args", r#"{"amount": 0}"#]);
    assert_eq!(code, Some(1));
    assert_eq!(json["ok"], json!(false));
    assert_eq!(json["part"], json!("public"));
    assert_eq!(json["error"]["kind"], json!("aborted"));
    assert_eq!(json["error"]["reason"], json!("a payment must be positive"));
    let out = sotto(&[
        "exec",
        &artifact("payment"),
        "pay_bob",
        "--args",
        r#"{"amount": 0}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: `pay_bob` failed: aborted: a payment must be positive\n"
    );
    assert_eq!(text(&out.stdout), "");

    // Insufficient funds, naming the party.
    let (json, code) = exec_json(
        "payment",
        &[
            "pay_bob",
            "--args",
            r#"{"amount": 500}"#,
            "--allocation",
            r#"{"alice": 100}"#,
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        json["error"],
        json!({
            "kind": "insufficient_funds",
            "import": "transfer",
            "party": "alice",
            "balance": 100,
            "amount": 500,
            "message": "insufficient funds: `transfer` of 500 from alice, who has 100",
        })
    );

    // Arithmetic faults abort with the operator and the line.
    let dir = scratch("overflow");
    let state = state_file(
        &dir,
        "state.json",
        &json!({ "fields": { "payments": u64::MAX } }),
    );
    let (json, code) = exec_json(
        "payment",
        &[
            "pay_bob",
            "--state",
            &state,
            "--args",
            r#"{"amount": 1}"#,
            "--allocation",
            r#"{"alice": 1}"#,
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["kind"], json!("aborted"));
    let reason = json["error"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("arithmetic overflow in `+`"), "{reason}");
}

#[test]
fn negotiation_proves_against_the_private_floor() {
    let dir = scratch("negotiation");
    let state = state_file(
        &dir,
        "state.json",
        &json!({ "fields": { "seller_floor": 100, "buyer_limit": 150 } }),
    );
    // Below the floor: the witness part aborts with the contract's reason.
    let out = sotto(&[
        "exec",
        &artifact("negotiation"),
        "propose",
        "--state",
        &state,
        "--args",
        r#"{"p": 90}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: `propose` failed in its witness part: aborted: below the seller's floor\n"
    );
    let (json, code) = exec_json(
        "negotiation",
        &["propose", "--state", &state, "--args", r#"{"p": 90}"#],
    );
    assert_eq!(code, Some(1));
    assert_eq!(json["part"], json!("witness"));
    assert_eq!(json["error"]["reason"], json!("below the seller's floor"));

    // At or above it: the price is set, the buyer awaited, the seller sees
    // its own floor and nobody else's limit.
    let json = exec_ok(
        "negotiation",
        &["propose", "--state", &state, "--args", r#"{"p": 120}"#],
    );
    assert_eq!(json["fields"], json!({ "price": 120, "agreed": false }));
    assert_eq!(json["private_fields"], json!({ "seller_floor": 100 }));
    assert_eq!(json["awaited"], json!("buyer"));
    assert_eq!(
        json["public_inputs"],
        json!([{ "name": "p", "value": 120 }])
    );
    assert!(json["witness_fuel_used"].as_u64().unwrap() > 0);

    // The buyer accepts within its limit, and pays.
    let state = state_file(
        &dir,
        "proposed.json",
        &json!({
            "fields": { "price": 120, "buyer_limit": 150, "seller_floor": 100 },
            "allocation": { "buyer": 500, "seller": 0 },
        }),
    );
    let json = exec_ok("negotiation", &["accept", "--state", &state]);
    assert_eq!(json["fields"], json!({ "price": 120, "agreed": true }));
    assert_eq!(json["private_fields"], json!({ "buyer_limit": 150 }));
    assert_eq!(json["live"], json!({ "buyer": 380, "seller": 120 }));
    assert_eq!(json["finished"], json!(true));

    // Above the buyer's limit: refused by the buyer's own witness part.
    let low = state_file(
        &dir,
        "low.json",
        &json!({ "fields": { "price": 200, "buyer_limit": 150 }, "allocation": { "buyer": 500 } }),
    );
    let (json, code) = exec_json("negotiation", &["accept", "--state", &low]);
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["reason"], json!("above the buyer's limit"));

    // A private parameter: the new limit is the caller's own private field.
    let json = exec_ok(
        "negotiation",
        &[
            "raise_limit",
            "--state",
            &state,
            "--args",
            r#"{"limit": 500}"#,
        ],
    );
    assert_eq!(json["private_fields"], json!({ "buyer_limit": 500 }));
    let (json, code) = exec_json(
        "negotiation",
        &[
            "raise_limit",
            "--state",
            &state,
            "--args",
            r#"{"limit": 10}"#,
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(json["error"]["reason"], json!("a limit can only be raised"));
}

#[test]
fn escrow_refunds_a_silent_seller_in_the_signed_allocation() {
    let json = exec_ok(
        "escrow",
        &[
            "fund",
            "--args",
            r#"{"amount": 40, "until": 100}"#,
            "--allocation",
            r#"{"buyer": 100, "seller": 100}"#,
            "--now",
            "10",
        ],
    );
    assert_eq!(json["live"], json!({ "buyer": 60, "seller": 140 }));
    assert_eq!(json["signed"], json!({ "buyer": 100, "seller": 100 }));
    assert_eq!(json["awaited"], json!("seller"));
    assert_eq!(json["fields"]["funded"], json!(true));

    let dir = scratch("escrow");
    let state = state_file(
        &dir,
        "funded.json",
        &json!({
            "fields": { "price": 40, "deadline": 100, "funded": true },
            "allocation": { "buyer": 60, "seller": 140 },
        }),
    );
    let receipt = format!("0x{}", "ab".repeat(32));
    let json = exec_ok(
        "escrow",
        &[
            "deliver",
            "--state",
            &state,
            "--args",
            &format!(r#"{{"proof_of_delivery": "{receipt}"}}"#),
            "--now",
            "50",
        ],
    );
    assert_eq!(json["fields"]["receipt"], json!(receipt));
    assert_eq!(json["fields"]["delivered"], json!(true));
    // Too late.
    let (json, code) = exec_json(
        "escrow",
        &[
            "deliver",
            "--state",
            &state,
            "--args",
            &format!(r#"{{"proof_of_delivery": "{receipt}"}}"#),
            "--now",
            "101",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        json["error"]["reason"],
        json!("too late: the deadline has passed")
    );
    // After the deadline the buyer takes the price back.
    let json = exec_ok("escrow", &["refund", "--state", &state, "--now", "101"]);
    assert_eq!(json["live"], json!({ "buyer": 100, "seller": 100 }));
    assert_eq!(json["finished"], json!(true));
}

#[test]
fn htlc_claims_with_the_preimage() {
    let dir = scratch("htlc");
    let state = state_file(
        &dir,
        "offered.json",
        &json!({
            "fields": {
                "amount": 25,
                "hash_lock": format!("0x{SHA256_OF_ZEROS}"),
                "expiry": 100,
                "locked": true,
            },
            "allocation": { "sender": 25, "receiver": 0 },
        }),
    );
    let zeros = format!(r#"{{"preimage": "0x{}"}}"#, "00".repeat(32));
    let json = exec_ok("htlc", &["claim", "--state", &state, "--args", &zeros]);
    assert_eq!(json["live"], json!({ "sender": 0, "receiver": 25 }));
    let sevens = format!(r#"{{"preimage": "0x{}"}}"#, "07".repeat(32));
    let (json, code) = exec_json("htlc", &["claim", "--state", &state, "--args", &sevens]);
    assert_eq!(code, Some(1));
    assert_eq!(
        json["error"]["reason"],
        json!("the preimage does not match the hash lock")
    );
}

#[test]
fn auction_reveals_a_bid_through_the_witness_part() {
    let dir = scratch("auction");
    let state = state_file(
        &dir,
        "bids.json",
        &json!({
            "fields": { "alice_bid": 50, "bob_bid": 70, "alice_in": true, "bob_in": true },
            "allocation": { "alice": 100, "bob": 100 },
        }),
    );
    let json = exec_ok("auction", &["open_alice", "--state", &state]);
    assert_eq!(json["fields"]["alice_open"], json!(50));
    assert_eq!(json["fields"]["alice_revealed"], json!(true));
    // Alice sees her own bid, never bob's.
    assert_eq!(json["private_fields"], json!({ "alice_bid": 50 }));
    assert_eq!(
        json["public_inputs"],
        json!([{ "name": "reveal(alice_bid)", "value": 50 }])
    );
    // A bid above the deposit is refused by the bidder's own witness part.
    let (json, code) = exec_json(
        "auction",
        &[
            "bid_bob",
            "--args",
            r#"{"amount": 101}"#,
            "--allocation",
            r#"{"bob": 100}"#,
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        json["error"]["reason"],
        json!("the bid exceeds bob's deposit")
    );
}

#[test]
fn only_the_caller_may_call() {
    let out = sotto(&[
        "exec",
        &artifact("payment"),
        "pay_bob",
        "--args",
        r#"{"amount": 1}"#,
        "--as",
        "bob",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: --as bob: only alice may call `pay_bob`\n"
    );
}

/// A module with no custom sections, one with the ABI section twice, and
/// an artifact cut short.
fn handmade(dir: &Path) -> [String; 3] {
    let plain = dir.join("plain.wasm");
    std::fs::write(&plain, wat::parse_str("(module)").unwrap()).unwrap();
    let mut twice = std::fs::read(artifact("payment")).unwrap();
    let abi = Artifact::from_bytes(twice.clone()).unwrap().abi().encode();
    append_custom_section(&mut twice, ABI_SECTION, &abi);
    let doubled = dir.join("doubled.wasm");
    std::fs::write(&doubled, twice).unwrap();
    let mut cut = std::fs::read(artifact("payment")).unwrap();
    cut.truncate(cut.len() - 7);
    let truncated = dir.join("truncated.wasm");
    std::fs::write(&truncated, cut).unwrap();
    [plain, doubled, truncated].map(|p| p.to_str().unwrap().to_owned())
}

/// Appends a custom section (id 0, LEB128 size, LEB128 name length, name,
/// data).
fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    fn leb128(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut payload = Vec::new();
    leb128(&mut payload, name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    leb128(module, payload.len());
    module.extend_from_slice(&payload);
}

/// Every bad input: the arguments, the exit code, a part of the message.
fn bad_inputs(dir: &Path) -> Vec<(Vec<String>, i32, &'static str)> {
    let payment = artifact("payment");
    let escrow = artifact("escrow");
    let auction = artifact("auction");
    let source = source("payment").to_str().unwrap().to_owned();
    let [plain, doubled, truncated] = handmade(dir);
    let state = |name: &str, content: &str| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let bad_json = state("bad.json", "{\"fields\": ");
    let unknown_field = state("unknown-field.json", r#"{"fields": {"nope": 1}}"#);
    let wrong_type = state("wrong-type.json", r#"{"fields": {"payments": true}}"#);
    let unknown_key = state("unknown-key.json", r#"{"fieldz": {}}"#);
    let not_object = state("array.json", "[1, 2]");
    let unknown_party = state("party.json", r#"{"fields": {"winner": "carol"}}"#);
    let negative = state("negative.json", r#"{"allocation": {"alice": -5}}"#);
    let missing = dir.join("missing.json").to_str().unwrap().to_owned();
    let exec = |artifact: &str, rest: &[&str]| {
        let mut args = vec!["exec".to_owned(), artifact.to_owned()];
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        args
    };
    let pay = |rest: &[&str]| {
        let mut args = vec!["pay_bob"];
        args.extend_from_slice(rest);
        exec(&payment, &args)
    };
    let one = r#"{"amount": 1}"#;
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        // Files that cannot be read or are not artifacts: 1.
        (
            strings(&["inspect", "no/such/file.wasm"]),
            1,
            "cannot read no/such/file.wasm",
        ),
        (
            strings(&["inspect", &source]),
            1,
            "is not a sotto artifact: not a WASM module (no WASM header)",
        ),
        (
            strings(&["inspect", &plain]),
            1,
            "has no `sotto.abi` custom section",
        ),
        (
            strings(&["inspect", &doubled]),
            1,
            "more than one `sotto.abi` custom section",
        ),
        (
            strings(&["inspect", &truncated]),
            1,
            "is not a sotto artifact: not a WASM module",
        ),
        (
            exec(&truncated, &["pay_bob"]),
            1,
            "is not a sotto artifact: not a WASM module",
        ),
        (
            exec("no/such/file.wasm", &["pay_bob"]),
            1,
            "cannot read no/such/file.wasm",
        ),
        (exec(&source, &["pay_bob"]), 1, "is not a sotto artifact"),
        (
            strings(&["build", "no/such/contract.sotto"]),
            1,
            "cannot read no/such/contract.sotto",
        ),
        (
            strings(&["build", &source, "-o", "no/such/dir/out.wasm"]),
            1,
            "cannot write no/such/dir/out.wasm",
        ),
        (
            strings(&["build", &source, "-o", &source]),
            1,
            "would overwrite the source",
        ),
        // The state file: 1.
        (
            pay(&["--args", one, "--state", &missing]),
            1,
            "cannot read state file",
        ),
        (
            pay(&["--args", one, "--state", &bad_json]),
            1,
            "not valid JSON",
        ),
        (
            pay(&["--args", one, "--state", &unknown_field]),
            1,
            "no field `nope` in contract `payment` (fields: payments)",
        ),
        (
            pay(&["--args", one, "--state", &wrong_type]),
            1,
            "field `payments`: expected a u64, found true",
        ),
        (
            pay(&["--args", one, "--state", &unknown_key]),
            1,
            "unknown key `fieldz`",
        ),
        (
            pay(&["--args", one, "--state", &not_object]),
            1,
            "expected an object",
        ),
        (
            pay(&["--args", one, "--state", &negative]),
            1,
            "the amount of alice: expected a u64",
        ),
        (
            exec(&auction, &["settle", "--state", &unknown_party]),
            1,
            "no party `carol`",
        ),
        // The command line: 2.
        (
            exec(&payment, &["pay_carol"]),
            2,
            "contract `payment` has no function `pay_carol` (functions: pay_bob, pay_alice)",
        ),
        (
            pay(&["--args", r#"{"amt": 1}"#]),
            2,
            "`pay_bob` has no parameter `amt`: pay_bob(amount: u64)",
        ),
        (
            pay(&[]),
            2,
            "missing argument `amount` of pay_bob(amount: u64)",
        ),
        (
            pay(&["--args", r#"{"amount": true}"#]),
            2,
            "`amount`: expected a u64, found true",
        ),
        (
            pay(&["--args", r#"{"amount": -3}"#]),
            2,
            "`amount`: expected a u64",
        ),
        (
            pay(&["--args", r#"{"amount": "12abc"}"#]),
            2,
            "`amount`: expected a u64 (a decimal string",
        ),
        (pay(&["--args", "{amount: 1"]), 2, "--args: not valid JSON"),
        (
            pay(&["--args", "[1]"]),
            2,
            "expected an object, found an array",
        ),
        (
            exec(
                &escrow,
                &["deliver", "--args", r#"{"proof_of_delivery": "0x1234"}"#],
            ),
            2,
            "\"0x\" and 64 hex digits",
        ),
        (
            pay(&["--args", one, "--allocation", r#"{"carol": 1}"#]),
            2,
            "--allocation: no party `carol` in this contract (parties: alice, bob)",
        ),
        (
            pay(&[
                "--args",
                one,
                "--allocation",
                r#"{"alice": 18446744073709551615, "bob": 1}"#,
            ]),
            2,
            "more than a u64 can hold",
        ),
        (
            pay(&["--args", one, "--as", "carol"]),
            2,
            "--as: no party `carol`",
        ),
        (pay(&["--args", one, "--now", "soon"]), 2, "--now"),
    ]
}

#[test]
fn every_bad_input_fails_in_one_line() {
    let dir = scratch("bad-inputs");
    for (args, code, message) in bad_inputs(&dir) {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        for json in [false, true] {
            let mut refs = refs.clone();
            if json && refs[0] != "build" {
                refs.push("--json");
            }
            let out = sotto(&refs);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{refs:?}: {err}");
            assert!(err.contains(message), "{refs:?}: {err}");
            assert!(!err.contains("panicked"), "{refs:?}: {err}");
            if !refs.contains(&"--now") {
                // clap's own usage errors add a usage line and a hint.
                assert_eq!(err.lines().count(), 1, "{refs:?}: {err}");
            }
            assert_eq!(text(&out.stdout), "", "{refs:?}");
        }
    }
}

/// A hand-built artifact whose witness part and public part disagree on a
/// public input, as a miscompiled contract would: exec refuses the result.
#[test]
fn a_witness_part_that_disagrees_with_the_public_part_is_refused() {
    let dir = scratch("disagree");
    let code = r#"(module
      (import "sotto" "public_input" (func $public_input (param i32 i64)))
      (import "sotto" "private_get" (func $private_get (param i32) (result i64)))
      (func (export "call.peek") (call $public_input (i32.const 0) (i64.const 2)))
      (func (export "witness.peek")
        (call $public_input (i32.const 0) (call $private_get (i32.const 0)))))"#;
    let abi = Abi {
        name: "peek".to_owned(),
        parties: vec!["alice".to_owned(), "bob".to_owned()],
        fields: vec![Field {
            name: "secret".to_owned(),
            ty: ValueType::U64,
            owner: Some(0),
            init: sotto_contracts::abi::Value::U64(0),
        }],
        functions: vec![Function {
            name: "peek".to_owned(),
            caller: 0,
            params: vec![Param {
                name: "unused".to_owned(),
                ty: ValueType::U64,
                private: false,
            }],
            reveals: vec![Reveal {
                name: "secret".to_owned(),
                ty: ValueType::U64,
                public_input: 0,
            }],
            circuit: Some(Circuit {
                program: 0,
                vars: vec![VarRole::Field(0)],
            }),
        }],
        budgets: Budgets {
            fuel_per_call: 10_000,
            memory_pages: 1,
        },
    };
    let mut b = sotto_circuits::ProgramBuilder::new();
    let secret = b.proven_var("secret", sotto_circuits::RangeBits::B64);
    let revealed = b.public("reveal(secret)");
    b.equals_public(secret, revealed);
    let program = b.build().unwrap();
    let mut bytes = wat::parse_str(code).unwrap();
    append_custom_section(&mut bytes, ABI_SECTION, &abi.encode());
    append_custom_section(&mut bytes, PROGRAMS_SECTION, &encode_programs(&[program]));
    let path = dir.join("peek.wasm");
    std::fs::write(&path, bytes).unwrap();
    let path = path.to_str().unwrap();

    // The hand-built artifact inspects like a compiled one.
    let out = sotto(&["inspect", path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("        secret = public(reveal(secret))\n"),
        "{}",
        text(&out.stdout)
    );

    let state = state_file(&dir, "state.json", &json!({ "fields": { "secret": 7 } }));
    let out = sotto(&[
        "exec",
        path,
        "peek",
        "--state",
        &state,
        "--args",
        r#"{"unused": 0}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: `peek` failed in its witness part: the witness part sets public inputs [7], \
         the public part [2]: no proof would verify\n"
    );
    // When they agree, the reveal reaches the public part as its argument.
    let state = state_file(&dir, "two.json", &json!({ "fields": { "secret": 2 } }));
    let out = sotto(&[
        "exec",
        path,
        "peek",
        "--state",
        &state,
        "--args",
        r#"{"unused": 0}"#,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["public_inputs"],
        json!([{ "name": "reveal(secret)", "value": 2 }])
    );
    assert_eq!(json["private_fields"], json!({ "secret": 2 }));
}
