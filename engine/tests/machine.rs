//! The update protocol's state machine, driven in-process by the shared
//! harness (`sotto_engine::channel::sim`): two or three parties, each with
//! its own store (SQLite files and in-memory stores), an in-memory network
//! carrying wire-encoded messages, and the test chain. Every test ends by
//! reloading each party from its store and comparing.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sotto_contracts::abi::Value;
use sotto_engine::channel::machine::{Config, Event};
use sotto_engine::channel::record::Phase;
use sotto_engine::channel::sim::Sim;
use sotto_engine::channel::{Message, Offer, RefusalKind};

use sotto_engine::store::{MemoryStore, SqliteStore, Store};

#[path = "common/library.rs"]
mod library;

use library::build;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-machine-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite(dir: &std::path::Path, n: usize) -> Vec<SqliteStore> {
    (0..n)
        .map(|i| SqliteStore::open(&dir.join(format!("party-{i}.db"))).unwrap())
        .collect()
}

fn memory(n: usize) -> Vec<MemoryStore> {
    (0..n).map(|_| MemoryStore::new()).collect()
}

fn u(v: u64) -> Value {
    Value::U64(v)
}

/// Every party's latest version, after the network is quiet; asserts the
/// harness saw no violation and the parties agree.
fn settle<S: Store>(sim: &mut Sim<'_, S>) -> u64 {
    sim.run(1_000_000);
    assert_eq!(sim.violations(), &[] as &[String]);
    assert!(sim.converged(), "the parties disagree or are stuck");
    assert_eq!(sim.reload_differences(), Vec::<u32>::new());
    sim.party(0).unwrap().latest().unwrap().version
}

fn updated<S: Store>(sim: &Sim<'_, S>, party: u32) -> Vec<(u64, String)> {
    sim.events
        .iter()
        .filter(|(p, _)| *p == party)
        .filter_map(|(_, e)| match e {
            Event::Updated {
                version, function, ..
            } => Some((*version, function.clone())),
            _ => None,
        })
        .collect()
}

fn payment_lifecycle<S: Store>(stores: Vec<S>) {
    let b = build("payment");
    let mut sim = Sim::open(b.cx(), Config::default(), stores, vec![100, 100], vec![], 1).unwrap();
    assert_eq!(sim.party(0).unwrap().record().phase, Phase::Open);
    let id = sim.params().channel_id();
    assert_eq!(sim.chain.deposits(&id), vec![100, 100]);
    for round in 0..50u64 {
        sim.call(0, "pay_bob", vec![u(3)]).unwrap();
        settle(&mut sim);
        sim.call(1, "pay_alice", vec![u(1 + round % 2)]).unwrap();
        settle(&mut sim);
    }
    let latest = sim.party(1).unwrap().latest().unwrap().clone();
    assert_eq!(latest.version, 100);
    // 50 × 3 to bob, 25 × 1 + 25 × 2 back to alice.
    assert_eq!(latest.signed, vec![25, 175]);
    assert_eq!(latest.public, vec![u(100)]);
    // A contract call the contract refuses fails at its caller, with the
    // contract's reason, and changes nothing.
    let e = sim.call(0, "pay_bob", vec![u(0)]).unwrap_err();
    assert!(e.to_string().contains("a payment must be positive"), "{e}");
    sim.close(0).unwrap();
    assert_eq!(settle(&mut sim), 101);
    assert_eq!(sim.chain.concluded(&id), Some(vec![25, 175]));
    assert_eq!(sim.chain.paid(&id), vec![25, 175]);
    for i in 0..2 {
        assert_eq!(sim.party(i).unwrap().record().phase, Phase::Closed);
    }
    assert_eq!(updated(&sim, 0).len(), 101);
}

#[test]
fn payment_runs_many_updates_and_closes_on_sqlite() {
    let dir = scratch("payment");
    payment_lifecycle(sqlite(&dir, 2));
}

#[test]
fn payment_runs_many_updates_and_closes_in_memory() {
    payment_lifecycle(memory(2));
}

#[test]
fn negotiation_proves_private_limits_and_finishes() {
    let b = build("negotiation");
    let dir = scratch("negotiation");
    let limit = b.field("buyer_limit");
    let floor = b.field("seller_floor");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        sqlite(&dir, 2),
        vec![1000, 100],
        vec![[(limit, 650)].into(), [(floor, 600)].into()],
        2,
    )
    .unwrap();
    // Below the seller's floor: its own run refuses it.
    let e = sim.call(1, "propose", vec![u(550)]).unwrap_err();
    assert!(e.to_string().contains("below the seller's floor"), "{e}");
    sim.call(1, "propose", vec![u(700)]).unwrap();
    settle(&mut sim);
    // Above the buyer's limit of 650: raise it (a private update), then
    // accept.
    let e = sim.call(0, "accept", vec![]).unwrap_err();
    assert!(e.to_string().contains("above the buyer's limit"), "{e}");
    // Private updates, one after the other: each a new commitment and a
    // proof that the limit only rises.
    for limit_value in (660..=800).step_by(10) {
        sim.call(0, "raise_limit", vec![u(limit_value)]).unwrap();
        settle(&mut sim);
    }
    // Lowering it is refused by the buyer's own run.
    let e = sim.call(0, "raise_limit", vec![u(700)]).unwrap_err();
    assert!(e.to_string().contains("a limit can only be raised"), "{e}");
    // The seller never learns the limit: only its commitment changed.
    let seller = sim.party(1).unwrap();
    assert!(!seller.openings().contains_key(&limit));
    assert_eq!(
        sim.party(0)
            .unwrap()
            .openings()
            .get(&limit)
            .unwrap()
            .value(),
        800
    );
    sim.call(0, "accept", vec![]).unwrap();
    assert_eq!(settle(&mut sim), 17);
    let id = sim.params().channel_id();
    // `accept` finishes the contract: its final state closes at once.
    assert_eq!(sim.chain.concluded(&id), Some(vec![300, 800]));
    assert_eq!(sim.chain.paid(&id), vec![300, 800]);
}

#[test]
fn auction_among_three_with_private_bids_and_reveals() {
    let b = build("auction");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(3),
        vec![0, 100, 100],
        vec![],
        3,
    )
    .unwrap();
    sim.call(1, "bid_alice", vec![u(60)]).unwrap();
    settle(&mut sim);
    sim.call(2, "bid_bob", vec![u(70)]).unwrap();
    settle(&mut sim);
    // A standalone reveal of bob's bid to everyone, checked against its
    // commitment.
    let bid = b.field("bob_bid");
    sim.reveal(2, bid).unwrap();
    settle(&mut sim);
    for p in [0, 1] {
        assert_eq!(sim.party(p).unwrap().record().revealed.get(&bid), Some(&70));
    }
    sim.call(1, "open_alice", vec![]).unwrap();
    settle(&mut sim);
    sim.call(2, "open_bob", vec![]).unwrap();
    settle(&mut sim);
    sim.call(0, "settle", vec![]).unwrap();
    assert_eq!(settle(&mut sim), 5);
    let id = sim.params().channel_id();
    assert_eq!(sim.chain.paid(&id), vec![70, 100, 30]);
}

#[test]
fn crossing_proposals_both_go_through_lower_index_first() {
    let b = build("payment");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![100, 100],
        vec![],
        4,
    )
    .unwrap();
    // Both propose version 1 before either sees the other's proposal.
    sim.call(1, "pay_alice", vec![u(7)]).unwrap();
    sim.call(0, "pay_bob", vec![u(5)]).unwrap();
    assert_eq!(settle(&mut sim), 2);
    assert_eq!(
        updated(&sim, 0),
        vec![(1, "pay_bob".to_string()), (2, "pay_alice".to_string())]
    );
    let latest = sim.party(0).unwrap().latest().unwrap();
    assert_eq!(latest.signed, vec![102, 98]);
    // Nobody was refused: the withdrawn call was retried, not dropped.
    assert!(
        !sim.events
            .iter()
            .any(|(_, e)| matches!(e, Event::Refused { .. } | Event::CallFailed { .. }))
    );
}

#[test]
fn three_parties_crossing_the_lowest_index_wins() {
    let b = build("auction");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(3),
        vec![0, 100, 100],
        vec![],
        5,
    )
    .unwrap();
    // Bob's and alice's bids cross; the seller sees bob's first.
    sim.call(2, "bid_bob", vec![u(30)]).unwrap();
    sim.call(1, "bid_alice", vec![u(40)]).unwrap();
    assert_eq!(settle(&mut sim), 2);
    assert_eq!(
        updated(&sim, 0),
        vec![(1, "bid_alice".to_string()), (2, "bid_bob".to_string())]
    );
}

#[test]
fn a_silent_counterparty_leads_to_a_dispute_with_the_latest_state() {
    let b = build("payment");
    let config = Config::default();
    let mut sim = Sim::open(b.cx(), config, memory(2), vec![100, 100], vec![], 6).unwrap();
    sim.call(0, "pay_bob", vec![u(10)]).unwrap();
    settle(&mut sim);
    // Bob goes silent; alice's next request goes unanswered.
    sim.kill(1);
    sim.call(0, "pay_bob", vec![u(10)]).unwrap();
    sim.run(1000);
    sim.advance(config.timeout - 1);
    assert_eq!(sim.party(0).unwrap().record().phase, Phase::Open);
    sim.advance(1);
    let id = sim.params().channel_id();
    assert_eq!(sim.party(0).unwrap().record().phase, Phase::Disputing);
    assert_eq!(sim.chain.registered(&id), Some(1));
    // After the challenge period: settle on version 1, withdraw.
    sim.advance(3600);
    sim.advance(1);
    assert_eq!(sim.chain.concluded(&id), Some(vec![90, 110]));
    assert_eq!(sim.chain.paid(&id)[0], 90);
    assert_eq!(sim.party(0).unwrap().record().phase, Phase::Closed);
    assert_eq!(sim.violations(), &[] as &[String]);
    // Bob comes back, sees the settlement, and withdraws his share.
    sim.restart(1);
    sim.run(1000);
    assert_eq!(sim.chain.paid(&id), vec![90, 110]);
}

#[test]
fn a_stale_registration_is_refuted() {
    let b = build("payment");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![100, 100],
        vec![],
        7,
    )
    .unwrap();
    sim.call(0, "pay_bob", vec![u(10)]).unwrap();
    settle(&mut sim);
    let (old, sigs) = sim
        .party(1)
        .unwrap()
        .latest_signed(b.cx())
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        sim.call(1, "pay_alice", vec![u(5)]).unwrap();
        settle(&mut sim);
    }
    // Bob registers version 1, which paid him more.
    use sotto_engine::anchor::{Anchor, AnchorCall};
    let params = sim.params().clone();
    sim.chain
        .submit(
            &params,
            &AnchorCall::Register {
                state: old,
                signatures: sigs,
            },
        )
        .unwrap();
    // Alice sees it on her next look at the chain, and refutes with 4.
    sim.advance(1);
    let id = params.channel_id();
    assert_eq!(sim.chain.registered(&id), Some(4));
    sim.advance(3600);
    sim.advance(1);
    assert_eq!(sim.chain.concluded(&id), Some(vec![105, 95]));
    assert_eq!(sim.violations(), &[] as &[String]);
}

#[test]
fn adversarial_messages_are_rejected_and_the_honest_party_goes_on() {
    let b = build("negotiation");
    let limit = b.field("buyer_limit");
    let floor = b.field("seller_floor");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![1000, 100],
        vec![[(limit, 800)].into(), [(floor, 600)].into()],
        8,
    )
    .unwrap();
    // An honest proposal by the seller, held back from the buyer.
    sim.call(1, "propose", vec![u(700)]).unwrap();
    let Some(Message::Propose(Offer::Call(honest))) =
        sotto_engine::channel::wire::decode_message(&sim.network[0].bytes).ok()
    else {
        panic!("the seller's proposal")
    };
    sim.network.clear();
    let buyer = 0;
    let seller = 1;
    let rejected = |sim: &Sim<'_, MemoryStore>| -> Vec<RefusalKind> {
        sim.events
            .iter()
            .filter(|(p, _)| *p == buyer)
            .filter_map(|(_, e)| match e {
                Event::Rejected { refusal, .. } => Some(refusal.kind),
                _ => None,
            })
            .collect()
    };
    let mut expect = Vec::new();
    let mut try_offer = |sim: &mut Sim<'_, MemoryStore>, from: u32, offer, kind| {
        sim.inject(from, buyer, &Message::Propose(Offer::Call(offer)));
        sim.deliver(sim.network.len() - 1);
        // The refusal goes back to the forger; drop it.
        sim.network.clear();
        expect.push(kind);
        assert_eq!(rejected(sim), expect);
    };
    let mut x = honest.clone();
    x.state.version = 5;
    try_offer(&mut sim, seller, x, RefusalKind::Version);
    let mut x = honest.clone();
    x.state.allocation = vec![1000, 1000];
    try_offer(&mut sim, seller, x, RefusalKind::Mismatch);
    let mut x = honest.clone();
    x.state.commitment[0] ^= 1;
    try_offer(&mut sim, seller, x, RefusalKind::Mismatch);
    let mut x = honest.clone();
    x.args = vec![u(701)];
    try_offer(&mut sim, seller, x, RefusalKind::Proof);
    let mut x = honest.clone();
    x.commitments
        .push(sotto_circuits::Opening::random(1, &mut rand::thread_rng()).commit());
    try_offer(&mut sim, seller, x, RefusalKind::Commitments);
    let mut x = honest.clone();
    x.state.channel_id[0] ^= 1;
    try_offer(&mut sim, seller, x, RefusalKind::Channel);
    // A proof made in another channel (same contract, same parties,
    // another nonce), its state re-addressed to this one: the proof's
    // context does not match.
    let mut twin = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![1000, 100],
        vec![[(limit, 800)].into(), [(floor, 600)].into()],
        80,
    )
    .unwrap();
    twin.call(1, "propose", vec![u(700)]).unwrap();
    let Some(Message::Propose(Offer::Call(mut x))) =
        sotto_engine::channel::wire::decode_message(&twin.network[0].bytes).ok()
    else {
        panic!("the twin's proposal")
    };
    x.state.channel_id = honest.state.channel_id;
    try_offer(&mut sim, seller, x, RefusalKind::Proof);
    // A call by the wrong party: the buyer's node receives `propose`
    // (the seller's function) from... the seller is its only peer, so a
    // function of the buyer's, sent by the seller.
    let mut x = honest.clone();
    x.function = "accept".into();
    x.args = vec![];
    try_offer(&mut sim, seller, x, RefusalKind::Caller);
    let mut x = honest.clone();
    x.now += 10_000;
    try_offer(&mut sim, seller, x, RefusalKind::Clock);
    // A signature that is not the seller's.
    sim.inject(
        seller,
        buyer,
        &Message::Sign {
            version: 1,
            digest: honest.state.digest(),
            signature: sotto_engine::state::SigningKey::from_bytes(&[9; 32])
                .unwrap()
                .sign(&honest.state.digest()),
        },
    );
    sim.deliver(sim.network.len() - 1);
    assert_eq!(rejected(&sim).last(), Some(&RefusalKind::Signature));
    // Nothing moved; the honest proposal goes through.
    assert_eq!(sim.party(buyer).unwrap().latest().unwrap().version, 0);
    sim.inject(
        seller,
        buyer,
        &Message::Propose(Offer::Call(honest.clone())),
    );
    assert_eq!(settle(&mut sim), 1);
    sim.call(0, "accept", vec![]).unwrap();
    assert_eq!(settle(&mut sim), 2);
    // Replayed afterwards: a stale version, rejected.
    sim.inject(seller, buyer, &Message::Propose(Offer::Call(honest)));
    sim.deliver(sim.network.len() - 1);
    assert_eq!(rejected(&sim).last(), Some(&RefusalKind::Version));
}

#[test]
fn a_backlog_of_calls_goes_in_one_signing_round() {
    let b = build("payment");
    let dir = scratch("batch");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        sqlite(&dir, 2),
        vec![100, 100],
        vec![],
        9,
    )
    .unwrap();
    // The first call goes out at once; the next ones queue behind it.
    for _ in 0..10 {
        sim.call(0, "pay_bob", vec![u(2)]).unwrap();
    }
    // One the contract will refuse on the state it meets (alice has 80
    // left by then): reported, and the rest of the batch goes on.
    sim.call(0, "pay_bob", vec![u(500)]).unwrap();
    sim.call(0, "pay_bob", vec![u(1)]).unwrap();
    assert_eq!(settle(&mut sim), 11);
    let versions: Vec<u64> = updated(&sim, 1).iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, (1..=11).collect::<Vec<_>>());
    let failed: Vec<&Event> = sim
        .events
        .iter()
        .filter(|(p, e)| *p == 0 && matches!(e, Event::CallFailed { .. }))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    // Two signing rounds, not eleven: each party signed two states.
    let signed = sim
        .steps
        .iter()
        .filter(|(p, s)| *p == 1 && *s == sotto_engine::channel::machine::Step::Countersign)
        .count();
    assert_eq!(signed, 2);
    let latest = sim.party(1).unwrap().latest().unwrap();
    assert_eq!(latest.signed, vec![79, 121]);
    assert_eq!(latest.public, vec![u(11)]);
}

#[test]
fn a_batch_with_a_call_the_receiver_refuses_is_refused_whole() {
    let b = build("payment");
    let mut sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![100, 100],
        vec![],
        10,
    )
    .unwrap();
    sim.call(0, "pay_bob", vec![u(1)]).unwrap();
    sim.call(0, "pay_bob", vec![u(2)]).unwrap();
    sim.call(0, "pay_bob", vec![u(3)]).unwrap();
    settle(&mut sim);
    // Forge a batch from alice whose second call's state claims more than
    // re-execution gives: bob refuses it whole and stays where he was.
    let mut calls = Vec::new();
    for (i, amount) in [4u64, 5].into_iter().enumerate() {
        let view = sim.party(0).unwrap().latest().unwrap().clone();
        let mut view = view;
        view.version += u64::try_from(i).unwrap();
        let p = sotto_engine::channel::propose(
            &b.sandbox,
            &b.module,
            &b.artifact,
            &view,
            &BTreeMap::new(),
            "pay_bob",
            vec![u(amount)],
            sim.now,
            &mut rand::thread_rng(),
        )
        .unwrap();
        calls.push(p.update);
    }
    let last = calls.pop().unwrap();
    sim.inject(
        0,
        1,
        &Message::Propose(Offer::Batch {
            earlier: calls,
            last,
        }),
    );
    let before = sim.party(1).unwrap().latest().unwrap().version;
    sim.deliver(sim.network.len() - 1);
    let last = sim.events.last().unwrap();
    assert!(
        matches!(last, (1, Event::Rejected { refusal, .. }) if refusal.kind == RefusalKind::Mismatch),
        "{last:?}"
    );
    assert_eq!(sim.party(1).unwrap().latest().unwrap().version, before);
}

#[test]
fn a_stored_record_that_decodes_but_does_not_fit_is_refused_on_restore() {
    use sotto_engine::channel::machine::{MachineError, Party};
    use sotto_engine::channel::wire::{decode_record, encode_record};
    use sotto_engine::state::SigningKey;
    let b = build("payment");
    let sim = Sim::open(
        b.cx(),
        Config::default(),
        memory(2),
        vec![100, 100],
        vec![],
        12,
    )
    .unwrap();
    let id = sim.params().channel_id();
    let loaded = sim.nodes[0].store.load(&id).unwrap().unwrap();
    let key = || SigningKey::from_bytes(&sotto_engine::channel::sim::secret(0)).unwrap();
    assert!(Party::restore(key(), Config::default(), &loaded).is_ok());
    let mut record = decode_record(&loaded.record).unwrap();
    record.funded.pop();
    let mut bad = loaded.clone();
    bad.record = encode_record(&record);
    assert!(matches!(
        Party::restore(key(), Config::default(), &bad),
        Err(MachineError::Setup(m)) if m.contains("inconsistent")
    ));
}
