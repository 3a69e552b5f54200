//! Every library scenario (`contracts/examples/*.toml`) played through the
//! whole protocol (`sotto_engine::run`): state machines with their own
//! stores, wire-encoded messages, deposits and settlement on the test
//! chain. Each must reach its stated outcome, paid by the chain; the
//! negotiation's happy path also runs on SQLite stores.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};

use sotto_contracts::compile;
use sotto_contracts::scenario::Scenario;
use sotto_engine::anchor::TestChain;
use sotto_engine::channel::machine::Contract;
use sotto_engine::run::{Progress, RunError, run};
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::store::{MemoryStore, SqliteStore, Store};

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

fn play<S: Store>(
    path: &Path,
    sandbox: &Sandbox,
    stores: impl FnOnce(usize) -> Vec<S>,
) -> (Result<sotto_engine::run::Report, RunError>, Vec<Progress>) {
    let scenario = Scenario::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let source = std::fs::read_to_string(path.parent().unwrap().join(&scenario.contract)).unwrap();
    let artifact = compile(&source).unwrap().artifact;
    let plan = scenario.resolve(artifact.abi()).unwrap();
    let module = sandbox.load_artifact(&artifact).unwrap();
    let cx = Contract {
        sandbox,
        module: &module,
        artifact: &artifact,
    };
    // Scenario times are absolute and start at 0, as in `play`.
    let chain = TestChain::new();
    let mut seen = Vec::new();
    let result = run(
        cx,
        &plan,
        stores(artifact.abi().parties.len()),
        chain,
        &mut |p| seen.push(p.clone()),
    );
    (result, seen)
}

#[test]
fn every_library_scenario_reaches_its_outcome_through_the_protocol() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let all = scenarios();
    // A happy path and a dispute per library contract, a crash and a stale
    // registration.
    assert_eq!(all.len(), 16);
    for path in all {
        let what = path.display().to_string();
        let (result, seen) = play(&path, &sandbox, |n| {
            (0..n).map(|_| MemoryStore::new()).collect()
        });
        let report = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            matches!(seen.first(), Some(Progress::Opened { .. })),
            "{what}"
        );
        assert!(
            matches!(seen.last(), Some(Progress::Settled { .. })),
            "{what}"
        );
        // Every deposit came back out.
        let scenario = Scenario::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let deposited: u64 = scenario
            .deposits
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(deposited > 0, "{what}");
        assert_eq!(report.paid.iter().sum::<u64>(), deposited, "{what}");
        assert!(report.wire.0 > 0 && report.wire.1 > 0, "{what}");
        if report.disputed {
            assert!(
                report.chain.iter().any(|(_, c, _)| *c == "register"),
                "{what}"
            );
            assert!(
                report.chain.iter().any(|(_, c, _)| *c == "finalize"),
                "{what}"
            );
        } else {
            assert!(
                report.chain.iter().any(|(_, c, _)| *c == "conclude"),
                "{what}"
            );
        }
        let registrations = report
            .chain
            .iter()
            .filter(|(_, c, _)| *c == "register")
            .count();
        if what.ends_with(".crash.toml") {
            // Both parties crashed and came back at the version they had.
            let crashed: Vec<u64> = seen
                .iter()
                .filter_map(|p| match p {
                    Progress::Crashed { version, .. } => Some(*version),
                    _ => None,
                })
                .collect();
            assert_eq!(crashed, [1, 2], "{what}");
        }
        if what.ends_with(".stale.toml") {
            // The stale registration and its refutation.
            assert!(
                seen.iter().any(|p| matches!(
                    p,
                    Progress::Stale {
                        version: 0,
                        latest: 2,
                        ..
                    }
                )),
                "{what}"
            );
            assert_eq!(registrations, 2, "{what}");
        }
    }
}

#[test]
fn negotiation_on_sqlite_stores_proves_and_pays() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("sotto-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples/negotiation.happy.toml");
    let (result, seen) = play(&path, &sandbox, |n| {
        (0..n)
            .map(|i| SqliteStore::open(&dir.join(format!("{i}.db"))).unwrap())
            .collect()
    });
    let report = result.unwrap();
    assert_eq!(report.paid, vec![300, 800]);
    assert!(report.finished && !report.disputed);
    // `propose(700)` and `accept` each prove a comparison.
    assert_eq!(report.proofs.len(), 2, "{:?}", report.proofs);
    assert!(report.proofs.iter().all(|s| s.bytes > 500));
    // Each was made by its proposer and checked by the other party.
    assert!(
        report
            .proofs
            .iter()
            .all(|s| !s.made.is_zero() && !s.checked.is_zero()),
        "{:?}",
        report.proofs
    );
    let steps: Vec<&Progress> = seen
        .iter()
        .filter(|p| matches!(p, Progress::Called { .. } | Progress::Refused { .. }))
        .collect();
    assert_eq!(steps.len(), 3);
    assert!(
        matches!(steps[0], Progress::Refused { reason, .. } if reason == "below the seller's floor")
    );
    assert!(matches!(
        steps[2],
        Progress::Called {
            proved: true,
            version: 2,
            ..
        }
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_scenario_that_expects_another_outcome_says_so() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("sotto-run-wrong-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples/payment.happy.toml");
    let text = std::fs::read_to_string(&source)
        .unwrap()
        .replace("[outcome]", "[outcome]\nfinished = true");
    let path = dir.join("payment.wrong.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::copy(
        source.parent().unwrap().join("payment.sotto"),
        dir.join("payment.sotto"),
    )
    .unwrap();
    let (result, _) = play(&path, &sandbox, |n| {
        (0..n).map(|_| MemoryStore::new()).collect()
    });
    match result {
        Err(RunError::Outcome { expected, got }) => {
            assert!(expected.contains("(final"), "{expected}");
            assert!(got.contains("not final"), "{got}");
        }
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
