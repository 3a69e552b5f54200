//! Oracle bets settled by the adjudicator on the embedded chain (its real
//! bytecode on revm): the outcome state that an attestation completes is an
//! ordinary fully signed state to the chain. Covered: a loser who goes
//! silent after the attestation (the winner registers, finalizes and is
//! paid), a loser who registers the pre-bet state (refuted with the outcome
//! state), a cooperative close after settlement, a 2-of-3 oracle bet, and
//! what the chain sees (no oracle, event, outcome or point; the same bytes
//! as a registration of any state).
#![allow(clippy::unwrap_used, reason = "test code")]

use sotto_engine::anchor::{Anchor, AnchorCall, AnchorError, ChainEvent, EmbeddedChain};
use sotto_engine::oracle::{
    Announcement, Bet, BetError, BetSignatures, BetTerms, OracleError, OracleKey, Outcome,
    Outcomes, Payouts, Settlement, numeric,
};
use sotto_engine::state::{Address, ChannelParams, Signature, SigningKey, State};

const PERIOD: u64 = 1000;
const ETHER: u128 = 1_000_000_000_000_000_000;

struct Channel {
    chain: EmbeddedChain,
    params: ChannelParams,
    alice: SigningKey,
    bob: SigningKey,
    /// The latest fully signed state before the bet.
    base: State,
}

/// Alice and Bob fund a channel with 100 each and sign version 3.
fn channel(nonce: u64) -> Channel {
    let mut chain = EmbeddedChain::with_genesis(31337, 0).unwrap();
    let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
    for who in [alice.address(), bob.address()] {
        chain.fund(who, ETHER).unwrap();
    }
    let params = ChannelParams {
        participants: vec![alice.address(), bob.address()],
        nonce,
        challenge_period: PERIOD,
        contract_id: [0xb3; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: chain.chain_id(),
    };
    for party in 0..2 {
        chain
            .submit(&params, &AnchorCall::Deposit { party, amount: 100 })
            .unwrap();
    }
    let base = State {
        channel_id: params.channel_id(),
        version: 3,
        commitment: [0x42; 32],
        allocation: vec![100, 100],
        is_final: false,
    };
    Channel {
        chain,
        params,
        alice,
        bob,
        base,
    }
}

fn both(state: &State, a: &SigningKey, b: &SigningKey) -> Vec<Signature> {
    let d = state.digest();
    vec![a.sign(&d), b.sign(&d)]
}

fn match_result(oracle: &OracleKey) -> Announcement {
    oracle
        .announce(
            "league:final",
            50,
            Outcomes::Enumerated(vec!["home".into(), "draw".into(), "away".into()]),
        )
        .unwrap()
}

/// The terms of a bet on one oracle's announcement, without a refund.
fn one_oracle(ann: &Announcement, payouts: Payouts) -> BetTerms {
    BetTerms {
        announcements: vec![ann.clone()],
        threshold: 1,
        payouts,
        refund_after: None,
    }
}

/// Sets up the bet both ways (each party signs, the other verifies).
fn set_up(c: &Channel, terms: BetTerms) -> (Bet, BetSignatures, BetSignatures) {
    let bet = Bet::new(&c.params, &c.base, terms).unwrap();
    let from_alice = BetSignatures::from_bytes(&bet.sign(&c.alice).to_bytes()).unwrap();
    let from_bob = BetSignatures::from_bytes(&bet.sign(&c.bob).to_bytes()).unwrap();
    bet.verify(0, &from_alice).unwrap();
    bet.verify(1, &from_bob).unwrap();
    (bet, from_alice, from_bob)
}

fn events(c: &mut Channel) -> Vec<ChainEvent> {
    c.chain.events(&c.params.channel_id(), 0).unwrap().0
}

/// Registers a settled outcome alone, lets the challenge period pass,
/// finalizes, and returns what the chain concluded on.
fn settle_alone(c: &mut Channel, settled: Settlement) -> Vec<u64> {
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: settled.state.clone(),
                signatures: settled.signatures,
            },
        )
        .unwrap();
    c.chain.advance(PERIOD).unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Finalize {
                state: settled.state,
            },
        )
        .unwrap();
    events(c)
        .into_iter()
        .find_map(|e| match e {
            ChainEvent::Concluded { allocation, .. } => Some(allocation),
            _ => None,
        })
        .unwrap()
}

#[test]
fn the_winner_settles_on_chain_when_the_loser_goes_silent() {
    let mut c = channel(1);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let (bet, from_alice, _) = set_up(
        &c,
        one_oracle(
            &ann,
            Payouts::Enumerated(vec![vec![160, 40], vec![100, 100], vec![40, 160]]),
        ),
    );
    let attestation = oracle.attest(&ann, Outcome::Enumerated(2)).unwrap();
    // Alice lost and says nothing more. Bob completes the outcome state
    // from her adaptor signature and registers it alone.
    let settled = bet
        .settle(&[attestation], 1, &c.bob, &[(0, &from_alice)])
        .unwrap();
    assert_eq!(settled.state.allocation, vec![40, 160]);
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: settled.state.clone(),
                signatures: settled.signatures.clone(),
            },
        )
        .unwrap();
    // Alice cannot go back to the state before the bet.
    let pre_bet = AnchorCall::Register {
        state: c.base.clone(),
        signatures: both(&c.base, &c.alice, &c.bob),
    };
    assert_eq!(
        c.chain.submit(&c.params, &pre_bet),
        Err(AnchorError::Stale { registered: 4 })
    );
    c.chain.advance(PERIOD).unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Finalize {
                state: settled.state.clone(),
            },
        )
        .unwrap();
    let before = [c.alice.address(), c.bob.address()].map(|a| c.chain.balance(a));
    for party in 0..2 {
        c.chain
            .submit(&c.params, &AnchorCall::Withdraw { party })
            .unwrap();
    }
    assert_eq!(c.chain.balance(c.alice.address()), before[0] + 40);
    assert_eq!(c.chain.balance(c.bob.address()), before[1] + 160);
    assert!(events(&mut c).contains(&ChainEvent::Concluded {
        allocation: vec![40, 160],
        cooperative: false
    }));
}

#[test]
fn a_loser_who_registers_the_pre_bet_state_is_refuted_with_the_outcome() {
    let mut c = channel(2);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let (bet, _, from_bob) = set_up(
        &c,
        one_oracle(
            &ann,
            Payouts::Enumerated(vec![vec![180, 20], vec![100, 100], vec![20, 180]]),
        ),
    );
    // Bob, who will lose, registers the last state before the bet.
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: c.base.clone(),
                signatures: both(&c.base, &c.alice, &c.bob),
            },
        )
        .unwrap();
    // The oracle attests inside the challenge period; Alice refutes.
    let attestation = oracle.attest(&ann, Outcome::Enumerated(0)).unwrap();
    let settled = bet
        .settle(&[attestation], 0, &c.alice, &[(1, &from_bob)])
        .unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: settled.state.clone(),
                signatures: settled.signatures,
            },
        )
        .unwrap();
    c.chain.advance(PERIOD).unwrap();
    // The pre-bet state no longer finalizes; the outcome does.
    assert_eq!(
        c.chain.submit(
            &c.params,
            &AnchorCall::Finalize {
                state: c.base.clone()
            }
        ),
        Err(AnchorError::NotRegistered)
    );
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Finalize {
                state: settled.state,
            },
        )
        .unwrap();
    assert!(events(&mut c).contains(&ChainEvent::Concluded {
        allocation: vec![180, 20],
        cooperative: false
    }));
}

#[test]
fn cooperating_parties_close_at_once_on_the_settled_outcome() {
    let mut c = channel(3);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let (bet, from_alice, from_bob) = set_up(
        &c,
        one_oracle(
            &ann,
            Payouts::Enumerated(vec![vec![150, 50], vec![100, 100], vec![50, 150]]),
        ),
    );
    let attestation = oracle.attest(&ann, Outcome::Enumerated(1)).unwrap();
    // Both complete the same state independently.
    let by_alice = bet
        .settle(
            std::slice::from_ref(&attestation),
            0,
            &c.alice,
            &[(1, &from_bob)],
        )
        .unwrap();
    let by_bob = bet
        .settle(&[attestation], 1, &c.bob, &[(0, &from_alice)])
        .unwrap();
    assert_eq!(by_alice.state, by_bob.state);
    // Then sign a final state on it and conclude: paid at once.
    let close = State {
        version: by_alice.state.version + 1,
        is_final: true,
        ..by_alice.state
    };
    let before = [c.alice.address(), c.bob.address()].map(|a| c.chain.balance(a));
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Conclude {
                signatures: both(&close, &c.alice, &c.bob),
                state: close,
            },
        )
        .unwrap();
    assert_eq!(c.chain.balance(c.alice.address()), before[0] + 100);
    assert_eq!(c.chain.balance(c.bob.address()), before[1] + 100);
}

#[test]
fn two_of_three_oracles_settle_on_chain() {
    let mut c = channel(4);
    let oracles: Vec<OracleKey> = (0..3).map(|_| OracleKey::generate()).collect();
    let anns: Vec<Announcement> = oracles.iter().map(match_result).collect();
    let (bet, from_alice, _) = set_up(
        &c,
        BetTerms {
            announcements: anns.clone(),
            threshold: 2,
            payouts: Payouts::Enumerated(vec![vec![170, 30], vec![100, 100], vec![30, 170]]),
            refund_after: None,
        },
    );
    assert_eq!(bet.entries(), 9);
    // Oracle 1 never attests; 0 and 2 agree on "away".
    let attestations = [0, 2].map(|o| oracles[o].attest(&anns[o], Outcome::Enumerated(2)).unwrap());
    let settled = bet
        .settle(&attestations, 1, &c.bob, &[(0, &from_alice)])
        .unwrap();
    assert_eq!(settled.oracles, vec![0, 2]);
    assert_eq!(settle_alone(&mut c, settled), vec![30, 170]);
}

#[test]
fn the_chain_sees_an_ordinary_state_and_nothing_of_the_oracle() {
    let mut c = channel(5);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let (bet, from_alice, _) = set_up(
        &c,
        one_oracle(
            &ann,
            Payouts::Enumerated(vec![vec![160, 40], vec![100, 100], vec![40, 160]]),
        ),
    );
    let attestation = oracle.attest(&ann, Outcome::Enumerated(0)).unwrap();
    let settled = bet
        .settle(
            std::slice::from_ref(&attestation),
            1,
            &c.bob,
            &[(0, &from_alice)],
        )
        .unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: settled.state.clone(),
                signatures: settled.signatures,
            },
        )
        .unwrap();
    let registration = c.chain.transactions().last().unwrap().clone();
    assert_eq!(registration.function(), Some("register"));

    // An ordinary registration of a state with the same shape on another
    // channel: the same number of calldata bytes.
    let mut other = channel(6);
    let plain = State {
        channel_id: other.params.channel_id(),
        version: 4,
        commitment: [0x17; 32],
        allocation: vec![160, 40],
        is_final: false,
    };
    other
        .chain
        .submit(
            &other.params,
            &AnchorCall::Register {
                signatures: both(&plain, &other.alice, &other.bob),
                state: plain,
            },
        )
        .unwrap();
    let ordinary = other.chain.transactions().last().unwrap().clone();
    assert_eq!(registration.input.len(), ordinary.input.len());

    // Nothing of the oracle in any transaction or log of the channel: its
    // key, its nonce, the outcome's attestation point (x-coordinate) and
    // scalar, the event id, any outcome's name.
    let att_json: serde_json::Value = serde_json::from_str(&attestation.to_json()).unwrap();
    let scalar = hex::decode(&att_json["signatures"][0].as_str().unwrap()[64..]).unwrap();
    let point = ann.outcome_point(0).unwrap().serialize();
    let mut secrets: Vec<Vec<u8>> = vec![
        ann.oracle().serialize().to_vec(),
        ann.nonces()[0].serialize().to_vec(),
        point[1..].to_vec(),
        scalar,
        b"league:final".to_vec(),
    ];
    for name in ["home", "draw", "away"] {
        secrets.push(name.as_bytes().to_vec());
    }
    let mut seen = Vec::new();
    for tx in c.chain.transactions() {
        seen.extend_from_slice(&tx.input);
        for log in &tx.logs {
            seen.extend_from_slice(&log.data);
            log.topics.iter().for_each(|t| seen.extend_from_slice(t));
        }
    }
    for secret in &secrets {
        assert!(
            !seen.windows(secret.len()).any(|w| w == secret.as_slice()),
            "the chain saw {}",
            hex::encode(secret)
        );
    }
}

/// A bet with a refund from `deadline` on.
fn with_refund(
    c: &Channel,
    ann: &Announcement,
    deadline: u64,
) -> (Bet, BetSignatures, BetSignatures) {
    set_up(
        c,
        BetTerms {
            announcements: vec![ann.clone()],
            threshold: 1,
            payouts: Payouts::Enumerated(vec![vec![190, 10], vec![100, 100], vec![10, 190]]),
            refund_after: Some(deadline),
        },
    )
}

#[test]
fn an_oracle_that_never_attests_leaves_a_refund_after_the_deadline() {
    let mut c = channel(7);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let deadline = c.chain.now() + 5_000;
    let (bet, from_alice, _) = with_refund(&c, &ann, deadline);
    // The refund pays back the base state at v + 1; outcomes are v + 2.
    let (refund_state, window) = bet.refund_state().unwrap();
    assert_eq!(refund_state.version, 4);
    assert_eq!(refund_state.allocation, vec![100, 100]);
    assert!(bet.states().iter().all(|s| s.version == 5));
    let (state, window_, signatures) = bet.refund(1, &c.bob, &[(0, &from_alice)]).unwrap();
    assert_eq!(&window_, window);
    let call = AnchorCall::RegisterTimed {
        state: state.clone(),
        window: window_,
        signatures,
    };
    // Not before the deadline: nobody can cut the bet short.
    assert_eq!(
        c.chain.submit(&c.params, &call),
        Err(AnchorError::OutsideWindow {
            not_before: deadline,
            not_after: 0
        })
    );
    // The oracle stays silent; after the deadline Bob takes the refund.
    c.chain.advance(5_000).unwrap();
    c.chain.submit(&c.params, &call).unwrap();
    c.chain.advance(PERIOD).unwrap();
    c.chain
        .submit(&c.params, &AnchorCall::Finalize { state })
        .unwrap();
    assert!(events(&mut c).contains(&ChainEvent::Concluded {
        allocation: vec![100, 100],
        cooperative: false
    }));
}

#[test]
fn a_late_attestation_refutes_a_registered_refund() {
    let mut c = channel(8);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let deadline = c.chain.now() + 100;
    let (bet, from_alice, from_bob) = with_refund(&c, &ann, deadline);
    c.chain.advance(100).unwrap();
    // Alice, who fears the outcome, registers the refund at the deadline.
    let (state, window, signatures) = bet.refund(0, &c.alice, &[(1, &from_bob)]).unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::RegisterTimed {
                state,
                window,
                signatures,
            },
        )
        .unwrap();
    // The oracle attests inside the challenge period: Bob's outcome state
    // (version v + 2) refutes the refund (v + 1).
    let attestation = oracle.attest(&ann, Outcome::Enumerated(2)).unwrap();
    let settled = bet
        .settle(&[attestation], 1, &c.bob, &[(0, &from_alice)])
        .unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Register {
                state: settled.state.clone(),
                signatures: settled.signatures,
            },
        )
        .unwrap();
    c.chain.advance(PERIOD).unwrap();
    c.chain
        .submit(
            &c.params,
            &AnchorCall::Finalize {
                state: settled.state,
            },
        )
        .unwrap();
    assert!(events(&mut c).contains(&ChainEvent::Concluded {
        allocation: vec![10, 190],
        cooperative: false
    }));
}

/// A numeric event of 10 binary digits, announced by `oracle`.
fn price(oracle: &OracleKey) -> Announcement {
    oracle
        .announce(
            "eth-usd:close",
            0,
            Outcomes::Numeric {
                base: 2,
                digits: 10,
            },
        )
        .unwrap()
}

/// A collar: Alice gets nothing up to 300, everything from 700, linearly
/// between, rounded to multiples of 10.
fn collar() -> Payouts {
    let domain = numeric::Domain::binary(10).unwrap();
    let curve = numeric::PayoutCurve::new(
        domain,
        200,
        vec![
            numeric::PayoutPoint::new(0, 0),
            numeric::PayoutPoint::new(300, 0),
            numeric::PayoutPoint::new(700, 200),
            numeric::PayoutPoint::new(1023, 200),
        ],
    )
    .unwrap();
    let rounding = numeric::RoundingIntervals::new(vec![numeric::RoundingInterval {
        begin: 0,
        modulus: 10,
    }])
    .unwrap();
    Payouts::numeric(&curve, &rounding).unwrap()
}

#[test]
fn a_numeric_bet_on_a_payout_curve_settles_on_chain() {
    let oracle = OracleKey::generate();
    let ann = price(&oracle);
    let payouts = collar();
    let Payouts::Numeric(prefixes) = &payouts else {
        panic!("numeric payouts")
    };
    // Far fewer signatures than values.
    assert!(prefixes.len() < 200, "{} prefixes", prefixes.len());
    for (nonce, value, alice_gets) in [(20, 150, 0), (21, 500, 100), (22, 1000, 200)] {
        let mut c = channel(nonce);
        let (bet, from_alice, from_bob) = set_up(
            &c,
            BetTerms {
                announcements: vec![ann.clone()],
                threshold: 1,
                payouts: payouts.clone(),
                refund_after: None,
            },
        );
        let attestation = oracle.attest(&ann, Outcome::Numeric(value)).unwrap();
        // Whoever wins settles alone.
        let settled = if alice_gets >= 100 {
            bet.settle(&[attestation], 0, &c.alice, &[(1, &from_bob)])
        } else {
            bet.settle(&[attestation], 1, &c.bob, &[(0, &from_alice)])
        }
        .unwrap();
        assert_eq!(settled.state.allocation, vec![alice_gets, 200 - alice_gets]);
        assert_eq!(
            settle_alone(&mut c, settled),
            vec![alice_gets, 200 - alice_gets]
        );
    }
}

#[test]
fn two_of_three_numeric_oracles_must_agree_on_the_value() {
    let c = channel(23);
    let oracles: Vec<OracleKey> = (0..3).map(|_| OracleKey::generate()).collect();
    let anns: Vec<Announcement> = oracles.iter().map(price).collect();
    let (bet, from_alice, _) = set_up(
        &c,
        BetTerms {
            announcements: anns.clone(),
            threshold: 2,
            payouts: collar(),
            refund_after: None,
        },
    );
    let att = |o: usize, v: u64| oracles[o].attest(&anns[o], Outcome::Numeric(v)).unwrap();
    // Two oracles that disagree by one settle nothing.
    assert_eq!(
        bet.settle(&[att(0, 500), att(1, 501)], 1, &c.bob, &[(0, &from_alice)]),
        Err(BetError::NotAttested { threshold: 2 })
    );
    let settled = bet
        .settle(
            &[att(0, 500), att(1, 501), att(2, 500)],
            1,
            &c.bob,
            &[(0, &from_alice)],
        )
        .unwrap();
    assert_eq!(settled.oracles, vec![0, 2]);
    assert_eq!(settled.state.allocation, vec![100, 100]);
}

#[test]
fn forged_attestations_and_adaptor_signatures_are_refused() {
    let c = channel(24);
    let oracle = OracleKey::generate();
    let ann = match_result(&oracle);
    let terms = one_oracle(
        &ann,
        Payouts::Enumerated(vec![vec![160, 40], vec![100, 100], vec![40, 160]]),
    );
    let bet = Bet::new(&c.params, &c.base, terms).unwrap();
    let from_alice = bet.sign(&c.alice);
    // One flipped byte in the middle of Alice's set: refused, naming the
    // entry, before the bet can become the latest state.
    let mut bytes = from_alice.to_bytes();
    bytes[37 + 162 + 40] ^= 1;
    let tampered = BetSignatures::from_bytes(&bytes).unwrap();
    assert!(matches!(
        bet.verify(0, &tampered),
        Err(BetError::Adaptor {
            party: 0,
            entry: 1,
            ..
        })
    ));
    // Adaptor signatures of another bet (other payouts) do not verify.
    let other = Bet::new(
        &c.params,
        &c.base,
        one_oracle(
            &ann,
            Payouts::Enumerated(vec![vec![200, 0], vec![100, 100], vec![0, 200]]),
        ),
    )
    .unwrap();
    assert!(matches!(
        bet.verify(0, &other.sign(&c.alice)),
        Err(BetError::Adaptor {
            party: 0,
            entry: 0,
            ..
        })
    ));
    // Attestations from another oracle, of another event (another nonce),
    // or of an outcome the announcement does not list settle nothing.
    let impostor = OracleKey::generate();
    let fake = impostor
        .attest(&match_result(&impostor), Outcome::Enumerated(0))
        .unwrap();
    let other_event = oracle
        .announce(
            "league:semi",
            50,
            Outcomes::Enumerated(vec!["home".into(), "draw".into(), "away".into()]),
        )
        .unwrap();
    let wrong_nonce = oracle.attest(&other_event, Outcome::Enumerated(0)).unwrap();
    let outside: sotto_engine::oracle::Attestation = sotto_engine::oracle::Attestation::from_json(
        &oracle
            .attest(&ann, Outcome::Enumerated(0))
            .unwrap()
            .to_json()
            .replace("\"home\"", "\"abandoned\""),
    )
    .unwrap();
    for (forged, expected) in [
        (fake, OracleError::WrongOracle),
        (
            wrong_nonce,
            OracleError::WrongEvent {
                expected: "league:final".into(),
                got: "league:semi".into(),
            },
        ),
        (outside, OracleError::UnknownOutcome("abandoned".into())),
    ] {
        assert_eq!(
            bet.settle(&[forged], 1, &c.bob, &[(0, &from_alice)]),
            Err(BetError::Attestation {
                index: 0,
                source: expected
            })
        );
    }
}
