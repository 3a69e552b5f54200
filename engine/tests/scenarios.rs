//! Every library scenario (`contracts/examples/*.toml`) played in-process:
//! each call through the compiled module in the sandbox, as its caller's
//! node runs it (`Sandbox::call_as_owner`), and through the reference
//! interpreter; each step must do what the scenario says, and the agreement
//! must end as it says. The networked player is `sotto run` (the main job);
//! this test holds the scenarios and the contracts to each other meanwhile.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};

use sotto_contracts::abi::{Abi, Value};
use sotto_contracts::compile;
use sotto_contracts::interp;
use sotto_contracts::scenario::{Expectation, ResolvedStep, Scenario};
use sotto_engine::sandbox::{CallError, OwnerInput, Sandbox, SandboxConfig};

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

/// The state of the agreement between steps: every field (the owners'
/// private values included), both allocations, and what the last call set.
struct State {
    fields: Vec<Value>,
    live: Vec<u64>,
    signed: Vec<u64>,
    finished: bool,
    now: u64,
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
    let (tree, _) = sotto_contracts::syntax::parse(&source);

    let mut state = State {
        fields: plan.fields.clone(),
        live: plan.deposits.clone(),
        signed: plan.deposits.clone(),
        finished: false,
        now: 0,
    };
    let mut disputed = false;
    for (k, step) in plan.steps.iter().enumerate() {
        let at = format!("{what}, step {}", k + 1);
        match step {
            ResolvedStep::Wait(seconds) => state.now += seconds,
            ResolvedStep::Silent(_) => disputed = true,
            ResolvedStep::Call {
                function,
                args,
                expect,
                ..
            } => {
                let name = &abi.functions[*function].name;
                let reference = interp::run(
                    &tree,
                    &source,
                    name,
                    &interp::Input {
                        fields: state.fields.clone(),
                        args: args.clone(),
                        allocation: state.live.clone(),
                        now: state.now,
                    },
                );
                let got = sandbox
                    .call_as_owner(
                        &module,
                        abi,
                        name,
                        &OwnerInput {
                            fields: state.fields.clone(),
                            args: args.clone(),
                            allocation: state.live.clone(),
                            now: state.now,
                        },
                    )
                    .map_err(|e| match e.call_error() {
                        Some(error) => error.clone(),
                        None => panic!("{at}: {e}"),
                    });
                match (expect, got) {
                    (Expectation::Success, Ok(out)) => {
                        let reference = reference.unwrap_or_else(|e| {
                            panic!("{at}: the interpreter refuses `{name}`: {e}")
                        });
                        state.fields = out.fields;
                        assert_eq!(state.fields, reference.fields, "{at}: fields");
                        assert_eq!(out.public.live, reference.live, "{at}: allocation");
                        state.live = out.public.live;
                        state.signed = out.public.signed;
                        state.finished = out.public.finished;
                    }
                    (Expectation::Abort(reason), Err(CallError::Aborted { reason: r })) => {
                        assert_eq!(reason, &r, "{at}: abort reason");
                        assert!(
                            matches!(&reference, Err(interp::Failure::Abort { reason: x, .. }) if x == reason),
                            "{at}: the interpreter says {reference:?}"
                        );
                    }
                    (Expectation::Overdraw(p), Err(CallError::InsufficientFunds { party, .. })) => {
                        assert_eq!(*p, party, "{at}: who is short");
                        assert!(
                            matches!(reference, Err(interp::Failure::InsufficientFunds { party: x, .. }) if x == *p),
                            "{at}: the interpreter says {reference:?}"
                        );
                    }
                    (expect, got) => panic!("{at}: `{name}` expected {expect:?}, got {got:?}"),
                }
            }
        }
    }
    let paid = if disputed { &state.signed } else { &state.live };
    assert_eq!(paid, &plan.paid, "{what}: paid");
    assert_eq!(state.finished, plan.finished, "{what}: finished");
    assert_eq!(disputed, plan.disputed, "{what}: disputed");
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
