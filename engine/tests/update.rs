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
use sotto_engine::channel::{
    ChannelView, Rejection, Update, propose, prove_openings, verify_openings, verify_update,
};
use sotto_engine::sandbox::{LoadedModule, Sandbox, SandboxConfig};
use sotto_engine::state::{ChannelParams, Signer, SigningKey, recover};

/// One participant: its keys, its view, its private openings.
struct Party {
    signer: Signer,
    view: ChannelView,
    openings: BTreeMap<u32, Opening>,
}

struct Channel {
    /// Each party's secret key bytes, so that tests can forge what a
    /// dishonest party would sign.
    secrets: Vec<[u8; 32]>,
    sandbox: Sandbox,
    artifact: Artifact,
    module: LoadedModule,
    parties: Vec<Party>,
}

impl Channel {
    /// Opens a channel of `contract` with `deposits` and each private
    /// field's opening value (by field name).
    fn open(contract: &str, deposits: Vec<u64>, private: &[(&str, u64)]) -> Self {
        let (_, source) = sotto_contracts::library::LIBRARY
            .iter()
            .find(|(n, _)| *n == contract)
            .unwrap();
        let artifact = compile(source).unwrap().artifact;
        let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
        let module = sandbox.load_artifact(&artifact).unwrap();
        let abi = artifact.abi();
        let secrets: Vec<[u8; 32]> = (0..abi.parties.len())
            .map(|i| [u8::try_from(i + 1).unwrap(); 32])
            .collect();
        let keys: Vec<SigningKey> = secrets
            .iter()
            .map(|s| SigningKey::from_bytes(s).unwrap())
            .collect();
        let params = ChannelParams {
            participants: keys.iter().map(SigningKey::address).collect(),
            nonce: 1,
            challenge_period: 3600,
            contract_id: artifact.id(),
            asset: sotto_engine::state::Address([0; 20]),
            adjudicator: sotto_engine::state::Address([0xad; 20]),
            chain_id: 31337,
        };
        // Each owner commits to its private fields' opening values.
        let mut rng = rand::thread_rng();
        let mut openings: Vec<BTreeMap<u32, Opening>> = vec![BTreeMap::new(); keys.len()];
        for (i, f) in abi.fields.iter().enumerate() {
            if let Some(owner) = f.owner {
                let value = private
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .map_or(0, |(_, v)| *v);
                openings[owner as usize].insert(i as u32, Opening::random(value, &mut rng));
            }
        }
        let commitments: BTreeMap<u32, _> = openings
            .iter()
            .flatten()
            .map(|(f, o)| (*f, o.commit()))
            .collect();
        // Each owner proves its opening values in range; the others check.
        let channel_id = params.channel_id();
        for (owner, mine) in openings.iter().enumerate() {
            if mine.is_empty() {
                continue;
            }
            let proof = prove_openings(&artifact, channel_id, mine).unwrap();
            let published: BTreeMap<u32, _> = mine.iter().map(|(f, o)| (*f, o.commit())).collect();
            verify_openings(&artifact, channel_id, owner as u32, &published, &proof).unwrap();
        }
        let view = ChannelView::open(params, &artifact, deposits, commitments);
        let dir = std::env::temp_dir().join(format!(
            "sotto-update-{contract}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let parties = keys
            .into_iter()
            .zip(openings)
            .enumerate()
            .map(|(i, (key, openings))| Party {
                signer: Signer::open(key, &dir.join(format!("signed-{i}"))).unwrap(),
                view: view.clone(),
                openings,
            })
            .collect();
        Channel {
            secrets,
            sandbox,
            artifact,
            module,
            parties,
        }
    }

    fn caller(&self, function: &str) -> usize {
        self.artifact.abi().function(function).unwrap().1.caller as usize
    }

    /// The caller proposes; returns the update and the proposer's next view.
    fn propose(&mut self, function: &str, args: Vec<Value>) -> (Update, usize) {
        let by = self.caller(function);
        let p = &mut self.parties[by];
        let proposal = propose(
            &self.sandbox,
            &self.module,
            &self.artifact,
            &p.view,
            &p.openings,
            &mut p.signer,
            function,
            args,
            0,
        )
        .unwrap_or_else(|e| panic!("{function}: {e}"));
        p.view = proposal.view;
        p.openings = proposal.openings;
        (proposal.update, by)
    }

    /// Every other party verifies and countersigns; all views agree.
    fn step(&mut self, function: &str, args: Vec<Value>) {
        let before: Vec<ChannelView> = self.parties.iter().map(|p| p.view.clone()).collect();
        let (update, by) = self.propose(function, args);
        for (i, p) in self.parties.iter_mut().enumerate() {
            if i == by {
                continue;
            }
            let next = verify_update(
                &self.sandbox,
                &self.module,
                &self.artifact,
                &before[i],
                &update,
            )
            .unwrap_or_else(|r| panic!("{function}: party {i} rejects: {r}"));
            let counter = p.signer.sign(&update.state).unwrap();
            assert_eq!(
                recover(&update.state.digest(), &counter).unwrap(),
                p.signer.address()
            );
            p.view = next;
        }
        let first = &self.parties[0].view;
        for p in &self.parties[1..] {
            assert_eq!(&p.view, first, "{function}: views diverge");
        }
    }

    fn check(&self, update: &Update, receiver: usize) -> Result<ChannelView, Rejection> {
        verify_update(
            &self.sandbox,
            &self.module,
            &self.artifact,
            &self.parties[receiver].view,
            update,
        )
    }
}

#[test]
fn payment_runs_through_many_updates() {
    let mut ch = Channel::open("payment", vec![1000, 1000], &[]);
    for i in 0..60u64 {
        let (f, amount) = if i % 3 == 0 {
            ("pay_alice", 7)
        } else {
            ("pay_bob", 11)
        };
        ch.step(f, vec![Value::U64(amount)]);
    }
    let view = &ch.parties[0].view;
    assert_eq!(view.version, 60);
    // 40 payments of 11 to bob, 20 of 7 to alice.
    assert_eq!(view.signed, vec![1000 - 440 + 140, 1000 + 440 - 140]);
}

#[test]
fn negotiation_proves_private_limits_without_revealing_them() {
    let mut ch = Channel::open(
        "negotiation",
        vec![1000, 100],
        &[("buyer_limit", 800), ("seller_floor", 600)],
    );
    ch.step("propose", vec![Value::U64(700)]);
    ch.step("raise_limit", vec![Value::U64(900)]);
    ch.step("accept", vec![]);
    let view = &ch.parties[0].view;
    assert!(view.finished);
    assert_eq!(view.signed, vec![300, 800]);
    // The buyer's new limit lives only in its own opening.
    assert_eq!(
        ch.parties[0].openings.get(&2).map(Opening::value),
        Some(900)
    );
    assert!(ch.parties[1].openings.get(&2).is_none());
}

#[test]
fn auction_bids_privately_and_reveals() {
    let mut ch = Channel::open("auction", vec![0, 100, 100], &[]);
    ch.step("bid_alice", vec![Value::U64(60)]);
    ch.step("bid_bob", vec![Value::U64(70)]);
    ch.step("open_alice", vec![]);
    ch.step("open_bob", vec![]);
    ch.step("settle", vec![]);
    let view = &ch.parties[0].view;
    assert_eq!(view.signed, vec![70, 100, 30]);
    assert_eq!(view.fields[5], Value::U64(70), "bob_open is public now");
}

#[test]
fn adversarial_updates_are_rejected_and_the_honest_party_goes_on() {
    let mut ch = Channel::open(
        "negotiation",
        vec![1000, 100],
        &[("buyer_limit", 800), ("seller_floor", 600)],
    );
    let buyer = 0;
    let before = ch.parties[buyer].view.clone();
    let (honest, seller) = ch.propose("propose", vec![Value::U64(700)]);
    // What a dishonest seller signs, bypassing its own double-sign guard.
    let forge = |ch: &Channel, u: &mut Update| {
        u.signature = SigningKey::from_bytes(&ch.secrets[seller])
            .unwrap()
            .sign(&u.state.digest());
    };

    // Wrong version, and (below) a replay of an accepted update.
    let mut u = honest.clone();
    u.state.version = 5;
    forge(&ch, &mut u);
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Version {
            expected: 1,
            got: 5
        })
    ));

    // A signature by someone else, or over another state.
    let mut u = honest.clone();
    u.signature = ch.parties[buyer].signer.sign(&u.state).unwrap();
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Signature { .. })
    ));
    let mut u = honest.clone();
    u.state.allocation = vec![0, 1100];
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Signature { .. })
    ));

    // A state whose allocation creates money, signed by the seller.
    let mut u = honest.clone();
    u.state.allocation = vec![1000, 1000];
    forge(&ch, &mut u);
    assert!(matches!(
        ch.check(&u, buyer),
        Err(Rejection::Mismatch { what: "allocation" })
    ));

    // A state claiming other contract fields than re-execution gives.
    let mut u = honest.clone();
    u.state.commitment[0] ^= 1;
    forge(&ch, &mut u);
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

    // A proof for another context: the same statement at another version.
    let mut u = honest.clone();
    let (other, _) = {
        let mut twin = Channel::open(
            "negotiation",
            vec![1000, 100],
            &[("buyer_limit", 800), ("seller_floor", 600)],
        );
        twin.propose("propose", vec![Value::U64(700)])
    };
    u.proof = other.proof.clone();
    assert!(matches!(ch.check(&u, buyer), Err(Rejection::Proof(_))));

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

    // A call by the wrong party: the buyer signs `propose` (the seller's).
    let mut u = honest.clone();
    u.signature = ch.parties[buyer].signer.sign(&u.state).unwrap();
    assert!(
        matches!(ch.check(&u, buyer), Err(Rejection::Signature { expected }) if expected == "seller")
    );

    // After all that, the honest update is accepted, and only once.
    let next = ch.check(&honest, buyer).unwrap();
    assert_eq!(next.version, 1);
    ch.parties[buyer].view = next;
    assert!(matches!(
        ch.check(&honest, buyer),
        Err(Rejection::Version {
            expected: 2,
            got: 1
        })
    ));
    assert_eq!(before.version, 0);
}

#[test]
fn a_call_the_contract_refuses_is_rejected_with_its_reason() {
    let mut ch = Channel::open("payment", vec![100, 100], &[]);
    let (honest, alice) = ch.propose("pay_bob", vec![Value::U64(5)]);
    let bob = 1;
    let mut u = honest.clone();
    u.args = vec![Value::U64(0)];
    u.signature = SigningKey::from_bytes(&ch.secrets[alice])
        .unwrap()
        .sign(&u.state.digest());
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
    let proof = prove_openings(&artifact, channel, &mine).unwrap();
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
