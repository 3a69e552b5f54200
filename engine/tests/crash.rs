//! Crash safety of the update protocol: a party is killed at every step of
//! open, update, close and dispute, in each of three ways (its write fails,
//! its write is lost, it dies after the write and before sending), then
//! restarted from its store; the scenario goes on. Every run must end with
//! no party having released two signatures for one version, the chain
//! settled on the highest fully signed state any party holds, and every
//! deposit paid out.
//!
//! The steps come from one list, `Step::ALL`; a step that no scenario
//! reaches fails the test, so a new step cannot escape it.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::{BTreeMap, BTreeSet};

use sotto_contracts::abi::Value;
use sotto_engine::anchor::{Anchor, AnchorCall};
use sotto_engine::channel::machine::{Config, Step};
use sotto_engine::channel::record::Phase;
use sotto_engine::channel::sim::{Crash, Sim};

use sotto_engine::store::MemoryStore;

#[path = "common/library.rs"]
mod library;

use library::{Built, build};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// negotiation: open, a private update each way, a reveal, a finishing
    /// call that closes cooperatively.
    Cooperative,
    /// payment: an update, then the counterparty goes silent: dispute,
    /// challenge period, finalize, withdraw.
    Silent,
    /// payment: the counterparty registers a stale state; refuted.
    Stale,
    /// payment: the counterparty never opens; the opening is abandoned.
    Abandoned,
}

const CONFIG: Config = Config {
    timeout: 60,
    max_skew: 300,
};

type Crashing = Option<(u32, Step, Crash)>;

/// Restarts whoever is down, then delivers everything.
fn heal(sim: &mut Sim<'_, MemoryStore>) {
    for _ in 0..4 {
        sim.restart_all();
        sim.run(100_000);
    }
}

/// Lets time pass in small steps (so every deadline is seen), healing as
/// it goes.
fn wait(sim: &mut Sim<'_, MemoryStore>, seconds: u64) {
    let mut left = seconds;
    while left > 0 {
        let d = left.min(CONFIG.timeout / 2);
        sim.advance(d);
        heal(sim);
        left -= d;
    }
}

/// Runs `scenario`, with a crash if given; returns the simulation's end.
fn play<'a>(b: &'a Built, scenario: Scenario, crash: Crashing) -> Sim<'a, MemoryStore> {
    let stores = vec![MemoryStore::new(), MemoryStore::new()];
    let (deposits, private) = match scenario {
        Scenario::Cooperative => (
            vec![1000, 100],
            vec![
                [(b.field("buyer_limit"), 650)].into(),
                [(b.field("seller_floor"), 600)].into(),
            ],
        ),
        _ => (vec![100, 100], vec![BTreeMap::new(), BTreeMap::new()]),
    };
    let mut sim = Sim::start(b.cx(), CONFIG, stores, deposits, private, 42, crash).unwrap();
    if scenario == Scenario::Abandoned {
        sim.kill(1);
        sim.run(100_000);
        for _ in 0..4 {
            sim.advance(CONFIG.timeout / 2);
            sim.restart(0);
            sim.run(100_000);
        }
        return sim;
    }
    heal(&mut sim);
    // A crash before funding completes can leave the opening waiting on a
    // deadline: let the timeouts resolve it.
    let u = Value::U64;
    let act = |sim: &mut Sim<'_, MemoryStore>, party: u32, f: &str, args: Vec<Value>| {
        heal(sim);
        // A refused call (the channel moved on to a dispute) is fine:
        // the outcome checks say whether the run is sound.
        let _ = sim.call(party, f, args);
        heal(sim);
    };
    match scenario {
        Scenario::Cooperative => {
            act(&mut sim, 1, "propose", vec![u(700)]);
            act(&mut sim, 0, "raise_limit", vec![u(800)]);
            heal(&mut sim);
            let _ = sim.reveal(0, b.field("buyer_limit"));
            heal(&mut sim);
            act(&mut sim, 0, "accept", vec![]);
        }
        Scenario::Silent => {
            act(&mut sim, 0, "pay_bob", vec![u(10)]);
            sim.kill(1);
            let _ = sim.call(0, "pay_bob", vec![u(10)]);
            sim.run(100_000);
            sim.advance(CONFIG.timeout);
            sim.run(100_000);
            sim.restart(0);
        }
        Scenario::Stale => {
            act(&mut sim, 0, "pay_bob", vec![u(10)]);
            let old = sim.party(1).and_then(|p| p.latest_signed(b.cx()).unwrap());
            act(&mut sim, 1, "pay_alice", vec![u(5)]);
            act(&mut sim, 1, "pay_alice", vec![u(5)]);
            if let Some((state, signatures)) = old {
                let params = sim.params().clone();
                let _ = sim
                    .chain
                    .submit(&params, &AnchorCall::Register { state, signatures });
            }
        }
        Scenario::Abandoned => unreachable!(),
    }
    // A crash before a proposal was signed loses that call (its caller
    // would see the failure and retry); whatever state the run reached,
    // close it: cooperatively if the channel is still open.
    for party in [0, 1] {
        heal(&mut sim);
        let _ = sim.close(party);
    }
    // Everything settles: a challenge period and then some, with restarts.
    wait(&mut sim, 3600 + 4 * CONFIG.timeout);
    heal(&mut sim);
    sim
}

/// The soundness checks every run passes.
fn check(sim: &Sim<'_, MemoryStore>, scenario: Scenario, what: &str) {
    assert_eq!(sim.violations(), &[] as &[String], "{what}");
    let id = sim.params().channel_id();
    if scenario == Scenario::Abandoned || sim.chain.deposits(&id).iter().all(|d| *d == 0) {
        // Nothing deposited (the scenario, or a party that died before it
        // kept anything): whoever runs gave up the opening.
        for i in 0..2 {
            if let Some(p) = sim.party(i) {
                assert_eq!(p.record().phase, Phase::Closed, "{what}: party {i}");
            }
        }
        assert_eq!(sim.chain.paid(&id), sim.chain.deposits(&id), "{what}");
        return;
    }
    let deposits: u64 = sim.chain.deposits(&id).iter().sum();
    let paid: u64 = sim.chain.paid(&id).iter().sum();
    assert!(deposits > 0, "{what}: nothing was deposited");
    assert_eq!(paid, deposits, "{what}: not every deposit was paid out");
    // The chain settled on the highest fully signed state anyone holds.
    let mut best: Option<(u64, Vec<u64>)> = None;
    for i in 0..2 {
        let p = sim
            .party(i)
            .unwrap_or_else(|| panic!("{what}: party {i} is down"));
        assert_eq!(p.record().phase, Phase::Closed, "{what}: party {i}");
        if let Some(v) = p.latest()
            && best.as_ref().is_none_or(|(b, _)| v.version > *b)
        {
            best = Some((v.version, v.signed.clone()));
        }
    }
    let (_, allocation) = best.unwrap();
    assert_eq!(sim.chain.concluded(&id), Some(allocation), "{what}");
    assert_eq!(sim.reload_differences(), Vec::<u32>::new(), "{what}");
}

#[test]
fn every_step_survives_every_crash() {
    let negotiation = build("negotiation");
    let payment = build("payment");
    let scenarios = [
        (Scenario::Cooperative, &negotiation),
        (Scenario::Silent, &payment),
        (Scenario::Stale, &payment),
        (Scenario::Abandoned, &payment),
    ];
    let mut reached = BTreeSet::new();
    let mut runs = 0;
    for (scenario, b) in scenarios {
        let base = play(b, scenario, None);
        check(&base, scenario, &format!("{scenario:?} without a crash"));
        let points: BTreeSet<(u32, Step)> = base.steps.iter().copied().collect();
        for (party, step) in points {
            reached.insert(step);
            for how in Crash::ALL {
                let what = format!("{scenario:?}, party {party} at {step:?}: {how:?}");
                let sim = play(b, scenario, Some((party, step, how)));
                assert_eq!(
                    sim.crashes,
                    vec![(party, step, how)],
                    "{what}: the crash did not happen"
                );
                check(&sim, scenario, &what);
                runs += 1;
            }
        }
    }
    let missed: Vec<Step> = Step::ALL
        .into_iter()
        .filter(|s| !reached.contains(s))
        .collect();
    assert!(missed.is_empty(), "no scenario reaches {missed:?}");
    assert!(runs >= 3 * Step::ALL.len());
}
