//! One update step between two parties, in-process: the proposer runs,
//! proves and signs; the receiver re-executes, verifies and countersigns.
//! The library contracts run through many updates, private values and
//! reveals included; every adversarial variant of an update is rejected
//! with its typed reason, and the honest party keeps working.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeMap;

use sotto_circuits::Opening;
use sotto_contracts::abi::Value;
use sotto_contracts::{Artifact, compile};
use sotto_engine::channel::local::LocalChannel;
use sotto_engine::channel::{Rejection, prove_openings, verify_openings, verify_update};
use sotto_engine::sandbox::{LoadedModule, Sandbox, SandboxConfig};
use sotto_engine::state::SigningKey;

/// The library contract `name`, built, with a sandbox that loaded it.
struct Built {
    sandbox: Sandbox,
    artifact: Artifact,
    module: LoadedModule,
}

fn build(name: &str) -> Built {
    let (_, source) = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    let artifact = compile(source).unwrap().artifact;
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let module = sandbox.load_artifact(&artifact).unwrap();
    Built {
        sandbox,
        artifact,
        module,
    }
}

/// Party `i`'s secret key bytes, so that tests can forge what a dishonest
/// party would sign.
fn secret(i: usize) -> [u8; 32] {
    [u8::try_from(i + 1).unwrap(); 32]
}

fn open<'a>(b: &'a Built, deposits: Vec<u64>, private: &[(&str, u64)]) -> LocalChannel<'a> {
    let keys = (0..deposits.len())
        .map(|i| SigningKey::from_bytes(&secret(i)).unwrap())
        .collect();
    let dir = std::env::temp_dir().join(format!(
        "sotto-update-{}-{}-{:?}",
        b.artifact.abi().name,
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    LocalChannel::open(
        &b.sandbox,
        &b.module,
        &b.artifact,
        keys,
        deposits,
        private,
        &dir,
    )
    .unwrap()
}

/// A whole step, after which every party's view is the same.
fn step(ch: &mut LocalChannel<'_>, function: &str, args: Vec<Value>) {
    ch.step(function, args).unwrap_or_else(|e| panic!("{e}"));
    let first = &ch.parties[0].view;
    for p in &ch.parties[1..] {
        assert_eq!(&p.view, first, "{function}: views diverge");
    }
}

#[test]
fn payment_runs_through_many_updates() {
    let b = build("payment");
    let mut ch = open(&b, vec![1000, 1000], &[]);
    for i in 0..60u64 {
        let (f, amount) = if i % 3 == 0 {
            ("pay_alice", 7)
        } else {
            ("pay_bob", 11)
        };
        step(&mut ch, f, vec![Value::U64(amount)]);
    }
    let view = &ch.parties[0].view;
    assert_eq!(view.version, 60);
    // 40 payments of 11 to bob, 20 of 7 to alice.
    assert_eq!(view.signed, vec![1000 - 440 + 140, 1000 + 440 - 140]);
}

#[test]
fn negotiation_proves_private_limits_without_revealing_them() {
    let b = build("negotiation");
    let mut ch = open(
        &b,
        vec![1000, 100],
        &[("buyer_limit", 800), ("seller_floor", 600)],
    );
    step(&mut ch, "propose", vec![Value::U64(700)]);
    step(&mut ch, "raise_limit", vec![Value::U64(900)]);
    step(&mut ch, "accept", vec![]);
    let view = &ch.parties[0].view;
    assert!(view.finished);
    assert_eq!(view.signed, vec![300, 800]);
    // The buyer's new limit lives only in its own opening.
    assert_eq!(
        ch.parties[0].openings.get(&2).map(Opening::value),
        Some(900)
    );
    assert!(!ch.parties[1].openings.contains_key(&2));
}

#[test]
fn auction_bids_privately_and_reveals() {
    let b = build("auction");
    let mut ch = open(&b, vec![0, 100, 100], &[]);
    step(&mut ch, "bid_alice", vec![Value::U64(60)]);
    step(&mut ch, "bid_bob", vec![Value::U64(70)]);
    step(&mut ch, "open_alice", vec![]);
    step(&mut ch, "open_bob", vec![]);
    step(&mut ch, "settle", vec![]);
    let view = &ch.parties[0].view;
    assert_eq!(view.signed, vec![70, 100, 30]);
    // Public fields: alice_in, bob_in, alice_open, bob_open, ...
    assert_eq!(view.public[3], Value::U64(70), "bob_open is public now");
}

#[test]
fn adversarial_updates_are_rejected_and_the_honest_party_goes_on() {
    let b = build("negotiation");
    let mut ch = open(
        &b,
        vec![1000, 100],
        &[("buyer_limit", 800), ("seller_floor", 600)],
    );
    let buyer = 0;
    let before = ch.parties[buyer].view.clone();
    let (honest, seller) = ch.propose("propose", vec![Value::U64(700)]).unwrap();
    let _ = seller;

    // Wrong version, and (below) a replay of an accepted update.
    let mut u = honest.clone();
    u.state.version = 5;
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Version {
            expected: Some(1),
            got: 5
        })
    ));

    // A state whose allocation creates money.
    let mut u = honest.clone();
    u.state.allocation = vec![1000, 1000];
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Mismatch { what: "allocation" })
    ));

    // A state claiming other contract fields than re-execution gives.
    let mut u = honest.clone();
    u.state.commitment[0] ^= 1;
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Mismatch {
            what: "state commitment"
        })
    ));

    // Another argument than the proof and the state were made for.
    let mut u = honest.clone();
    u.args = vec![Value::U64(701)];
    assert!(matches!(ch.check(&u, buyer), Err(Rejection::Proof(_))));

    // A proof made for other commitments (another opening of the same
    // statement).
    let mut u = honest.clone();
    let (other, _) = {
        let mut twin = open(
            &b,
            vec![1000, 100],
            &[("buyer_limit", 800), ("seller_floor", 600)],
        );
        twin.propose("propose", vec![Value::U64(700)]).unwrap()
    };
    u.proof = other.proof.clone();
    assert!(matches!(ch.check(&u, buyer), Err(Rejection::Proof(_))));

    // The honest proof in another channel's context: a view of a channel
    // that differs only in its nonce, and the state re-addressed to it.
    let mut elsewhere = ch.parties[buyer].view.clone();
    elsewhere.params.nonce += 1;
    let mut u = honest.clone();
    u.state.channel_id = elsewhere.channel_id();
    assert!(matches!(
        verify_update(&b.sandbox, &b.module, &b.artifact, &elsewhere, &u),
        Err(Rejection::Proof(_))
    ));

    // Missing proof, tampered commitments.
    let mut u = honest.clone();
    u.proof = None;
    assert!(matches!(ch.check(&u, buyer), Err(Rejection::Proof(_))));
    let mut u = honest.clone();
    u.commitments
        .push(Opening::random(1, &mut rand::thread_rng()).commit());
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Commitments { .. })
    ));

    // A price below the seller's private floor: the public part cannot see
    // the floor, the proof can.
    let mut u = honest.clone();
    u.args = vec![Value::U64(10)];
    assert!(matches!(ch.check(&u, buyer), Err(Rejection::Proof(_))));

    // (Signatures, and calls by the wrong party, are the state machine's
    // to check: engine/tests/machine.rs.)

    // After all that, the honest update is accepted, and only once.
    let next = ch.check(&honest, buyer).unwrap();
    assert_eq!(next.version, 1);
    ch.parties[buyer].view = next;
    assert!(matches!(
        ch.check(&honest, buyer),
        Err(Rejection::Version {
            expected: Some(2),
            got: 1
        })
    ));
    assert_eq!(before.version, 0);
}

#[test]
fn a_call_the_contract_refuses_is_rejected_with_its_reason() {
    let b = build("payment");
    let mut ch = open(&b, vec![100, 100], &[]);
    let (honest, _) = ch.propose("pay_bob", vec![Value::U64(5)]).unwrap();
    let bob = 1;
    let mut u = honest.clone();
    u.args = vec![Value::U64(0)];
    match ch.check(&u, bob) {
        Err(Rejection::Execution(e)) => {
            assert!(e.to_string().contains("a payment must be positive"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Overdrawing: the sandbox's typed error.
    let mut u = honest.clone();
    u.args = vec![Value::U64(500)];
    assert!(matches!(ch.check(&u, bob), Err(Rejection::Execution(_))));
    assert!(ch.check(&honest, bob).is_ok());
}

#[test]
fn opening_commitments_must_be_proven_by_their_owner() {
    let (_, source) = sotto_contracts::library::LIBRARY[3];
    let artifact = compile(source).unwrap().artifact;
    let mut rng = rand::thread_rng();
    let channel = [5u8; 32];
    // The buyer's limit is field 2, the seller's floor field 3.
    let mine: BTreeMap<u32, Opening> = [(2, Opening::random(800, &mut rng))].into();
    let proof = prove_openings(&artifact, channel, &mine, &mut rng).unwrap();
    let published: BTreeMap<u32, _> = mine.iter().map(|(f, o)| (*f, o.commit())).collect();
    assert!(verify_openings(&artifact, channel, 0, &published, &proof).is_ok());
    // Another commitment than the one proven.
    let other: BTreeMap<u32, _> = [(2, Opening::random(800, &mut rng).commit())].into();
    assert!(matches!(
        verify_openings(&artifact, channel, 0, &other, &proof),
        Err(Rejection::Proof(_))
    ));
    // Another channel, or a field the party does not own.
    assert!(verify_openings(&artifact, [6u8; 32], 0, &published, &proof).is_err());
    assert!(verify_openings(&artifact, channel, 1, &published, &proof).is_err());
}

#[test]
fn a_channel_needs_one_key_and_one_deposit_per_party() {
    let b = build("payment");
    let dir = std::env::temp_dir().join(format!("sotto-update-parties-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = |n: usize| {
        (0..n)
            .map(|i| SigningKey::from_bytes(&secret(i)).unwrap())
            .collect()
    };
    for (k, deposits) in [(2, vec![1]), (3, vec![1, 1]), (1, vec![1])] {
        let err = LocalChannel::open(
            &b.sandbox,
            &b.module,
            &b.artifact,
            keys(k),
            deposits,
            &[],
            &dir,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                sotto_engine::channel::local::LocalError::Parties { parties: 2, .. }
            ),
            "{err}"
        );
    }
}
