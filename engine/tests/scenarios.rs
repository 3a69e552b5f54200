//! Every library scenario (`contracts/examples/*.toml`) played in-process:
//! each call through the compiled module in the sandbox, as its caller's
//! node runs it (`sotto_engine::play`), then each call again through the
//! reference interpreter; each step must do what the scenario says, and the
//! agreement must end as it says. The networked player is `sotto run` (the main job);
//! this test holds the scenarios and the contracts to each other meanwhile.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};

use sotto_contracts::abi::Abi;
use sotto_contracts::compile;
use sotto_contracts::interp;
use sotto_contracts::scenario::Scenario;
use sotto_engine::sandbox::{CallError, Sandbox, SandboxConfig};

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

fn play(path: &Path, sandbox: &Sandbox) {
    let what = path.display().to_string();
    let scenario = Scenario::parse(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let source = std::fs::read_to_string(path.parent().unwrap().join(&scenario.contract)).unwrap();
    let artifact = compile(&source).unwrap().artifact;
    let abi: &Abi = artifact.abi();
    let plan = scenario
        .resolve(abi)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let module = sandbox.load_artifact(&artifact).unwrap();
    let played = sotto_engine::play::play(sandbox, &module, abi, &plan)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    // Every call the play made, replayed by the reference interpreter.
    let (tree, _) = sotto_contracts::syntax::parse(&source);
    for call in &played.calls {
        let at = format!("{what}, step {} (`{}`)", call.step, call.function);
        let input = &call.input;
        let reference = interp::run(
            &tree,
            &source,
            &call.function,
            &interp::Input {
                fields: input.fields.clone(),
                args: input.args.clone(),
                allocation: input.allocation.clone(),
                now: input.now,
            },
        );
        match (&call.result, reference) {
            (Ok(out), Ok(r)) => {
                assert_eq!(out.fields, r.fields, "{at}: fields");
                assert_eq!(out.public.live, r.live, "{at}: allocation");
                assert_eq!(out.public.signed, r.signed, "{at}: signed allocation");
            }
            (Err(CallError::Aborted { reason }), Err(interp::Failure::Abort { reason: r, .. })) => {
                assert_eq!(*reason, r, "{at}");
            }
            (
                Err(CallError::InsufficientFunds { party, .. }),
                Err(interp::Failure::InsufficientFunds { party: p, .. }),
            ) => assert_eq!(*party, p, "{at}"),
            (got, r) => panic!("{at}: module {got:?}, interpreter {r:?}"),
        }
    }
}

/// A scenario whose contract does something else than it says is refused
/// with the step that went differently.
#[test]
fn a_scenario_that_goes_differently_says_where() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let source = sotto_contracts::library::LIBRARY[3].1;
    let artifact = compile(source).unwrap().artifact;
    let module = sandbox.load_artifact(&artifact).unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples/negotiation.happy.toml"),
    )
    .unwrap();
    for (from, to, message) in [
        (
            "args = { p = 700 }",
            "args = { p = 850 }",
            "step 3 (`accept`): expected success, got the witness part: aborted: above the buyer's limit",
        ),
        (
            "paid = { buyer = 300, seller = 800 }",
            "paid = { buyer = 301, seller = 800 }",
            "the outcome: expected buyer 301, seller 800 (final), got buyer 300, seller 800 (final)",
        ),
        (
            "expect = { abort = \"below the seller's floor\" }",
            "expect = { abort = \"too low\" }",
            "step 1 (`propose`): expected an abort with \"too low\"",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let plan = Scenario::parse(&text.replace(from, to))
            .unwrap()
            .resolve(artifact.abi())
            .unwrap();
        let err = sotto_engine::play::play(&sandbox, &module, artifact.abi(), &plan)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(message), "{err}");
    }
}

#[test]
fn every_library_scenario_plays_as_written() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let all = scenarios();
    // A happy path and a dispute for each of the seven library contracts.
    assert!(all.len() >= 14, "{} scenarios", all.len());
    for path in all {
        play(&path, &sandbox);
    }
}

#[test]
fn scenarios_that_do_not_fit_their_contract_are_refused() {
    let abi = compile(include_str!("../../contracts/examples/payment.sotto"))
        .unwrap()
        .artifact
        .abi()
        .clone();
    let base = "name = \"x\"\ncontract = \"payment.sotto\"\ndeposits = { alice = 1, bob = 1 }\n";
    let cases = [
        ("[outcome]\npaid = { carol = 1 }\n", "no party `carol`"),
        (
            "[[steps]]\ncall = \"pay_bob\"\nby = \"bob\"\nargs = { amount = 1 }\n[outcome]\npaid = {}\n",
            "called by alice, not bob",
        ),
        (
            "[[steps]]\ncall = \"pay_carol\"\nby = \"alice\"\n[outcome]\npaid = {}\n",
            "no function `pay_carol`",
        ),
        (
            "[[steps]]\ncall = \"pay_bob\"\nby = \"alice\"\nargs = { amount = true }\n[outcome]\npaid = {}\n",
            "expected a u64",
        ),
        (
            "[[steps]]\ncall = \"pay_bob\"\nby = \"alice\"\n[outcome]\npaid = {}\n",
            "missing",
        ),
        (
            "[[steps]]\ncall = \"pay_bob\"\nwait = 5\nby = \"alice\"\n[outcome]\npaid = {}\n",
            "exactly one of",
        ),
        (
            "[[steps]]\nsilent = \"bob\"\n[[steps]]\nwait = 1\n[outcome]\npaid = {}\n",
            "nothing can follow",
        ),
        (
            "[[steps]]\nstale = \"bob\"\n[[steps]]\ncrash = \"alice\"\n[outcome]\npaid = {}\n",
            "nothing can follow",
        ),
        (
            "[[steps]]\ncrash = \"bob\"\nversion = 2\n[outcome]\npaid = {}\n",
            "`version` goes with `stale` only",
        ),
        (
            "[[steps]]\ncrash = \"bob\"\nby = \"alice\"\n[outcome]\npaid = {}\n",
            "only a `call` takes",
        ),
        (
            "[[steps]]\ncrash = \"carol\"\n[outcome]\npaid = {}\n",
            "no party `carol`",
        ),
        ("[outcome]\npaid = { alice = -1 }\n", "expected a u64"),
        ("[outcome]\npaid = {}\nbogus = 1\n", "unknown field"),
        ("steps = 3\n[outcome]\npaid = {}\n", "invalid type"),
    ];
    for (tail, message) in cases {
        let text = format!("{base}{tail}");
        let err = Scenario::parse(&text)
            .and_then(|s| s.resolve(&abi))
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{tail}: {err}");
    }
}
