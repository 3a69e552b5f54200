//! The adjudicator's lifecycle, on any backend: one body that the embedded
//! chain's tests (tests/anchor.rs) and the JSON-RPC backend's tests
//! (tests/anchor_rpc.rs, against anvil) both run, through
//! `#[path = "anchor/lifecycle.rs"] mod lifecycle;`.
//!
//! It depends on sotto_engine's public API only, and asks of a backend
//! what [`DevChain`] names: the [`Anchor`] trait plus a development
//! chain's faucet and balances. The backend must submit from an account
//! that is none of the participants (their balances are checked to the
//! wei), and run on a chain where the channels below (nonces 1 to 199) were
//! never opened.
//!
//! Covered: open, fund and close cooperatively; close unilaterally after a
//! silent counterparty; refute a stale registration; refund a channel
//! never fully funded; and every revert, each as its exact
//! [`AnchorError`]. [`gas_profile`] measures one of each call.

#![allow(
    dead_code,
    reason = "two test crates include this file; each uses a part"
)]
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use sotto_engine::anchor::{Anchor, AnchorCall, AnchorError, ChainEvent, EmbeddedChain, Receipt};
use sotto_engine::state::{Address, ChannelParams, Signature, SigningKey, State, Window};

/// What the lifecycle needs of a backend beyond [`Anchor`].
pub(crate) trait DevChain: Anchor {
    /// Gives `who` `wei` more (a development chain's faucet).
    fn fund(&mut self, who: Address, wei: u64);
    /// `who`'s balance in wei.
    fn balance(&mut self, who: Address) -> u128;
}

/// The challenge period of every test channel, in seconds.
pub(crate) const PERIOD: u64 = 1000;

/// What every participant starts with (their accounts exist, as real
/// participants' do: paying them does not create an account).
pub(crate) const START_BALANCE: u64 = 1_000_000_000_000_000_000;

/// The fixed test keys: Alice, Bob, and Carol (who is in no channel).
pub(crate) fn keys() -> [SigningKey; 3] {
    [0x11, 0x22, 0x33].map(|b| SigningKey::from_bytes(&[b; 32]).unwrap())
}

/// A two-party channel of Alice and Bob on `chain`.
pub(crate) fn params<C: DevChain>(chain: &C, nonce: u64) -> ChannelParams {
    let [alice, bob, _] = keys();
    ChannelParams {
        participants: vec![alice.address(), bob.address()],
        nonce,
        challenge_period: PERIOD,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: chain.chain_id(),
    }
}

/// The state of `params`' channel at `version`.
pub(crate) fn state(
    params: &ChannelParams,
    version: u64,
    allocation: &[u64],
    is_final: bool,
) -> State {
    let mut commitment = [0x5c; 32];
    commitment[..8].copy_from_slice(&version.to_be_bytes());
    State {
        channel_id: params.channel_id(),
        version,
        commitment,
        allocation: allocation.to_vec(),
        is_final,
    }
}

/// Alice's and Bob's signatures of `state`, in party order.
pub(crate) fn sign(state: &State) -> Vec<Signature> {
    let [alice, bob, _] = keys();
    let digest = state.digest();
    vec![alice.sign(&digest), bob.sign(&digest)]
}

/// secp256k1's group order n, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// The malleable twin of a signature: s replaced by n − s and v flipped.
/// It recovers the same signer; the adjudicator must refuse it (high s).
pub(crate) fn malleable_twin(sig: &Signature) -> Signature {
    let mut twin = *sig;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(ORDER[i]) - i16::from(sig.0[32 + i]) - borrow;
        twin.0[32 + i] = u8::try_from(d.rem_euclid(256)).unwrap();
        borrow = i16::from(d < 0);
    }
    twin.0[64] = if sig.0[64] == 27 { 28 } else { 27 };
    twin
}

/// A reader of one channel's events that remembers how far it read.
pub(crate) struct Watch {
    id: [u8; 32],
    seen: usize,
}

impl Watch {
    pub(crate) fn new(params: &ChannelParams) -> Self {
        Watch {
            id: params.channel_id(),
            seen: 0,
        }
    }

    /// The events since the last call.
    pub(crate) fn take<C: Anchor>(&mut self, chain: &mut C) -> Vec<ChainEvent> {
        let (events, next) = chain.events(&self.id, self.seen).unwrap();
        self.seen = next;
        events
    }
}

fn deposit<C: DevChain>(chain: &mut C, p: &ChannelParams, party: u32, amount: u64) -> Receipt {
    chain
        .submit(p, &AnchorCall::Deposit { party, amount })
        .unwrap()
}

fn register(s: &State) -> AnchorCall {
    AnchorCall::Register {
        state: s.clone(),
        signatures: sign(s),
    }
}

fn conclude(s: &State) -> AnchorCall {
    AnchorCall::Conclude {
        state: s.clone(),
        signatures: sign(s),
    }
}

/// Funds Alice and Bob (once per chain: their accounts must exist).
pub(crate) fn fund_participants<C: DevChain>(chain: &mut C) {
    let [alice, bob, carol] = keys();
    for who in [alice.address(), bob.address(), carol.address()] {
        if chain.balance(who) == 0 {
            chain.fund(who, START_BALANCE);
        }
    }
}

/// The whole lifecycle: every scenario below, on fresh channels.
pub(crate) fn lifecycle<C: DevChain>(chain: &mut C) {
    fund_participants(chain);
    cooperative_close(chain, 1);
    unilateral_close(chain, 2);
    refuted_registration(chain, 3);
    refund_of_an_unfunded_channel(chain, 4);
    every_revert(chain, 5);
    time_bounded_registrations(chain, 6, 7);
}

/// Alice's and Bob's signatures of `state` bounded by `window`.
pub(crate) fn sign_timed(state: &State, window: &Window) -> Vec<Signature> {
    let [alice, bob, _] = keys();
    let digest = state.timed_digest(window);
    vec![alice.sign(&digest), bob.sign(&digest)]
}

/// A time-bounded state registers only inside its window, only with
/// signatures of its timed digest (not a plain state's, not another
/// window's), and then is a registration like any other: a later plain
/// state refutes it. An expired one cannot refute.
pub(crate) fn time_bounded_registrations<C: DevChain>(chain: &mut C, nonce: u64, other: u64) {
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 500);
    deposit(chain, &p, 1, 500);
    watch.take(chain);
    let now = chain.now();
    let window = Window {
        not_before: now + 100,
        not_after: now + 300,
    };
    let refund = state(&p, 3, &[500, 500], false);
    let timed =
        |state: &State, window: Window, signatures: Vec<Signature>| AnchorCall::RegisterTimed {
            state: state.clone(),
            window,
            signatures,
        };
    let early = chain.submit(&p, &timed(&refund, window, sign_timed(&refund, &window)));
    assert_eq!(
        early,
        Err(AnchorError::OutsideWindow {
            not_before: window.not_before,
            not_after: window.not_after
        })
    );
    chain.advance(100).unwrap();
    // Signatures of the plain digest, or of another window, are refused;
    // and the timed signatures are no plain state's.
    assert_eq!(
        chain.submit(&p, &timed(&refund, window, sign(&refund))),
        Err(AnchorError::BadSignature)
    );
    let wider = Window {
        not_before: 0,
        not_after: 0,
    };
    assert_eq!(
        chain.submit(&p, &timed(&refund, wider, sign_timed(&refund, &window))),
        Err(AnchorError::BadSignature)
    );
    assert_eq!(
        chain.submit(
            &p,
            &AnchorCall::Register {
                state: refund.clone(),
                signatures: sign_timed(&refund, &window)
            }
        ),
        Err(AnchorError::BadSignature)
    );
    chain
        .submit(&p, &timed(&refund, window, sign_timed(&refund, &window)))
        .unwrap();
    let events = watch.take(chain);
    assert!(
        matches!(events.as_slice(), [ChainEvent::Registered { state, .. }] if *state == refund),
        "{events:?}"
    );
    // A later plain state refutes it, and settles.
    let later = state(&p, 4, &[900, 100], false);
    chain.submit(&p, &register(&later)).unwrap();
    chain.advance(PERIOD).unwrap();
    chain
        .submit(&p, &AnchorCall::Finalize { state: later })
        .unwrap();
    assert!(watch.take(chain).contains(&ChainEvent::Concluded {
        allocation: vec![900, 100],
        cooperative: false
    }));

    // On another channel: a state that expires cannot refute after its end.
    let q = params(chain, other);
    deposit(chain, &q, 0, 500);
    deposit(chain, &q, 1, 500);
    let now = chain.now();
    let offer = Window {
        not_before: 0,
        not_after: now + 50,
    };
    chain
        .submit(&q, &register(&state(&q, 1, &[500, 500], false)))
        .unwrap();
    chain.advance(50).unwrap();
    let swap = state(&q, 2, &[200, 800], false);
    assert_eq!(
        chain.submit(&q, &timed(&swap, offer, sign_timed(&swap, &offer))),
        Err(AnchorError::OutsideWindow {
            not_before: 0,
            not_after: offer.not_after
        })
    );
}

/// Open, fund, close cooperatively: both paid at once; afterwards nothing
/// but a withdrawal of nothing is possible.
pub(crate) fn cooperative_close<C: DevChain>(chain: &mut C, nonce: u64) {
    let [alice, bob, _] = keys();
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 600);
    deposit(chain, &p, 1, 400);
    deposit(chain, &p, 0, 50);
    assert_eq!(
        watch.take(chain),
        [
            ChainEvent::Deposited {
                party: 0,
                total: 600
            },
            ChainEvent::Deposited {
                party: 1,
                total: 400
            },
            ChainEvent::Deposited {
                party: 0,
                total: 650
            },
        ]
    );
    let before = [chain.balance(alice.address()), chain.balance(bob.address())];
    let last = state(&p, 41, &[300, 750], true);
    // Not every deposit need be paid out: 1050 are held, 1050 paid.
    chain.submit(&p, &conclude(&last)).unwrap();
    assert_eq!(
        watch.take(chain),
        [
            ChainEvent::Concluded {
                allocation: vec![300, 750],
                cooperative: true
            },
            ChainEvent::Withdrawn {
                party: 0,
                amount: 300
            },
            ChainEvent::Withdrawn {
                party: 1,
                amount: 750
            },
        ]
    );
    assert_eq!(chain.balance(alice.address()), before[0] + 300);
    assert_eq!(chain.balance(bob.address()), before[1] + 750);
    // Replays and anything else after the conclusion: refused.
    let replays = [
        conclude(&last),
        register(&last),
        register(&state(&p, 42, &[0, 1050], false)),
        AnchorCall::Finalize {
            state: last.clone(),
        },
        AnchorCall::Deposit {
            party: 0,
            amount: 1,
        },
    ];
    for call in &replays {
        assert_eq!(
            chain.submit(&p, call),
            Err(AnchorError::Concluded),
            "{call:?}"
        );
    }
    for party in 0..2 {
        assert_eq!(
            chain.submit(&p, &AnchorCall::Withdraw { party }),
            Err(AnchorError::NothingToWithdraw(party))
        );
    }
    assert_eq!(watch.take(chain), []);
}

/// Bob falls silent: Alice registers the latest state, waits out the
/// period, finalizes, and both withdraw (once).
pub(crate) fn unilateral_close<C: DevChain>(chain: &mut C, nonce: u64) {
    let [alice, bob, _] = keys();
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 500);
    deposit(chain, &p, 1, 500);
    assert_eq!(watch.take(chain).len(), 2);
    let latest = state(&p, 7, &[620, 380], false);
    let t0 = chain.now();
    chain.submit(&p, &register(&latest)).unwrap();
    let events = watch.take(chain);
    let [
        ChainEvent::Registered {
            state: shown,
            until,
        },
    ] = events.as_slice()
    else {
        panic!("expected one Registered event, got {events:?}");
    };
    assert_eq!(shown, &latest);
    assert!(
        *until >= t0 + PERIOD && *until <= chain.now() + PERIOD,
        "until {until}"
    );
    let until = *until;
    // Early: refused.
    let finalize = AnchorCall::Finalize {
        state: latest.clone(),
    };
    assert_eq!(
        chain.submit(&p, &finalize),
        Err(AnchorError::Period("is not over"))
    );
    assert_eq!(
        chain.submit(&p, &AnchorCall::Withdraw { party: 0 }),
        Err(AnchorError::NothingToWithdraw(0))
    );
    let wait = until.saturating_sub(chain.now());
    chain.advance(wait).unwrap();
    assert!(chain.now() >= until);
    chain.submit(&p, &finalize).unwrap();
    assert_eq!(
        watch.take(chain),
        [ChainEvent::Concluded {
            allocation: vec![620, 380],
            cooperative: false
        }]
    );
    // Finalize again, register again: the channel is concluded.
    assert_eq!(chain.submit(&p, &finalize), Err(AnchorError::Concluded));
    assert_eq!(
        chain.submit(&p, &register(&state(&p, 8, &[0, 1000], false))),
        Err(AnchorError::Concluded)
    );
    let before = [chain.balance(alice.address()), chain.balance(bob.address())];
    for (party, amount) in [(1, 380), (0, 620)] {
        chain.submit(&p, &AnchorCall::Withdraw { party }).unwrap();
        assert_eq!(watch.take(chain), [ChainEvent::Withdrawn { party, amount }]);
        assert_eq!(
            chain.submit(&p, &AnchorCall::Withdraw { party }),
            Err(AnchorError::NothingToWithdraw(party)),
            "double withdraw"
        );
    }
    assert_eq!(chain.balance(alice.address()), before[0] + 620);
    assert_eq!(chain.balance(bob.address()), before[1] + 380);
    assert_eq!(watch.take(chain), []);
}

/// Bob registers a stale state; Alice refutes it with a later one inside
/// the period (which does not move); stale, equal and late registrations
/// are refused, and only the latest registered state finalizes.
pub(crate) fn refuted_registration<C: DevChain>(chain: &mut C, nonce: u64) {
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 500);
    deposit(chain, &p, 1, 500);
    watch.take(chain);
    let stale = state(&p, 2, &[100, 900], false);
    let latest = state(&p, 4, &[700, 300], false);
    chain.submit(&p, &register(&stale)).unwrap();
    let until = match watch.take(chain).as_slice() {
        [ChainEvent::Registered { until, .. }] => *until,
        other => panic!("expected one Registered event, got {other:?}"),
    };
    chain.submit(&p, &register(&latest)).unwrap();
    assert_eq!(
        watch.take(chain),
        [ChainEvent::Registered {
            state: latest.clone(),
            until
        }],
        "a refutation keeps the period's end"
    );
    for version in [3, 4] {
        assert_eq!(
            chain.submit(&p, &register(&state(&p, version, &[0, 1000], false))),
            Err(AnchorError::Stale { registered: 4 })
        );
    }
    // The stale state is no longer the registered one.
    chain.advance(PERIOD).unwrap();
    assert_eq!(
        chain.submit(&p, &AnchorCall::Finalize { state: stale }),
        Err(AnchorError::NotRegistered)
    );
    // Too late to refute, even with a higher version.
    assert_eq!(
        chain.submit(&p, &register(&state(&p, 5, &[0, 1000], false))),
        Err(AnchorError::Period("is over"))
    );
    chain
        .submit(
            &p,
            &AnchorCall::Finalize {
                state: latest.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        watch.take(chain),
        [ChainEvent::Concluded {
            allocation: vec![700, 300],
            cooperative: false
        }]
    );
}

/// Version 0 may allocate more than was deposited (it is signed before
/// funding); if the channel was never fully funded, it settles as a refund
/// of each party's own deposit, by dispute or cooperatively.
pub(crate) fn refund_of_an_unfunded_channel<C: DevChain>(chain: &mut C, nonce: u64) {
    // By dispute.
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 500);
    watch.take(chain);
    let initial = state(&p, 0, &[500, 500], false);
    chain.submit(&p, &register(&initial)).unwrap();
    watch.take(chain);
    chain.advance(PERIOD).unwrap();
    chain
        .submit(&p, &AnchorCall::Finalize { state: initial })
        .unwrap();
    assert_eq!(
        watch.take(chain),
        [ChainEvent::Concluded {
            allocation: vec![500, 0],
            cooperative: false
        }]
    );
    assert_eq!(
        chain.submit(&p, &AnchorCall::Withdraw { party: 1 }),
        Err(AnchorError::NothingToWithdraw(1))
    );
    chain
        .submit(&p, &AnchorCall::Withdraw { party: 0 })
        .unwrap();
    assert_eq!(
        watch.take(chain),
        [ChainEvent::Withdrawn {
            party: 0,
            amount: 500
        }]
    );
    // Cooperatively (a final version 0): the same refund, paid at once.
    let p = params(chain, nonce + 50);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 1, 200);
    watch.take(chain);
    chain
        .submit(&p, &conclude(&state(&p, 0, &[500, 500], true)))
        .unwrap();
    assert_eq!(
        watch.take(chain),
        [
            ChainEvent::Concluded {
                allocation: vec![0, 200],
                cooperative: true
            },
            ChainEvent::Withdrawn {
                party: 1,
                amount: 200
            },
        ]
    );
    // A later version beyond the deposits is refused outright.
    let p = params(chain, nonce + 60);
    deposit(chain, &p, 0, 500);
    assert_eq!(
        chain.submit(&p, &register(&state(&p, 1, &[500, 500], false))),
        Err(AnchorError::BadAllocation)
    );
}

/// Every way a call is refused, each with its exact error; none changes
/// anything.
pub(crate) fn every_revert<C: DevChain>(chain: &mut C, nonce: u64) {
    let [alice, bob, carol] = keys();
    let p = params(chain, nonce);
    let mut watch = Watch::new(&p);
    deposit(chain, &p, 0, 500);
    deposit(chain, &p, 1, 500);
    watch.take(chain);
    let s = state(&p, 3, &[400, 600], true);
    let digest = s.digest();
    let good = sign(&s);

    // Signatures: each case for register and conclude alike.
    let mut bad_r = good.clone();
    bad_r[1].0[5] ^= 0x40;
    let mut bad_v = good.clone();
    bad_v[0].0[64] = 29;
    let mut zero_v = good.clone();
    zero_v[0].0[64] -= 27;
    let high_s = vec![good[0], malleable_twin(&good[1])];
    let wrong_signer = vec![good[0], carol.sign(&digest)];
    let swapped = vec![good[1], good[0]];
    let other_digest = vec![
        alice.sign(&state(&p, 4, &[400, 600], true).digest()),
        bob.sign(&digest),
    ];
    let cases: [(&str, Vec<Signature>); 9] = [
        ("corrupted r", bad_r),
        ("v = 29", bad_v),
        ("v = 0", zero_v),
        ("high s", high_s),
        ("wrong signer", wrong_signer),
        ("swapped order", swapped),
        ("another state's", other_digest),
        ("one missing", vec![good[0]]),
        ("one extra", vec![good[0], good[1], good[1]]),
    ];
    for (what, signatures) in cases {
        for call in [
            AnchorCall::Register {
                state: s.clone(),
                signatures: signatures.clone(),
            },
            AnchorCall::Conclude {
                state: s.clone(),
                signatures,
            },
        ] {
            assert_eq!(
                chain.submit(&p, &call),
                Err(AnchorError::BadSignature),
                "{what}"
            );
        }
    }

    // The state names another channel (validly signed all the same).
    let other = params(chain, nonce + 100);
    let foreign = state(&other, 3, &[400, 600], true);
    assert_eq!(
        chain.submit(&p, &register(&foreign)),
        Err(AnchorError::WrongChannel)
    );
    assert_eq!(
        chain.submit(&p, &conclude(&foreign)),
        Err(AnchorError::WrongChannel)
    );

    // Allocations beyond the deposits, or of the wrong length.
    for allocation in [
        &[501, 500][..],
        &[u64::MAX, 1],
        &[u64::MAX, u64::MAX],
        &[1000],
        &[400, 600, 0],
    ] {
        for call in [
            register(&state(&p, 3, allocation, false)),
            conclude(&state(&p, 3, allocation, true)),
        ] {
            assert_eq!(
                chain.submit(&p, &call),
                Err(AnchorError::BadAllocation),
                "{allocation:?}"
            );
        }
    }

    // A cooperative close needs a final state.
    assert_eq!(
        chain.submit(&p, &conclude(&state(&p, 3, &[400, 600], false))),
        Err(AnchorError::NotFinal)
    );
    // Nothing to finalize, nothing to withdraw, nobody at index 2.
    assert_eq!(
        chain.submit(&p, &AnchorCall::Finalize { state: s.clone() }),
        Err(AnchorError::NoDispute)
    );
    assert_eq!(
        chain.submit(&p, &AnchorCall::Withdraw { party: 0 }),
        Err(AnchorError::NothingToWithdraw(0))
    );
    assert_eq!(
        chain.submit(
            &p,
            &AnchorCall::Deposit {
                party: 2,
                amount: 1
            }
        ),
        Err(AnchorError::UnknownParty(2))
    );

    // Parameters for another adjudicator, another chain, another asset:
    // refused before anything else (the backend says which).
    let mut elsewhere = [p.clone(), p.clone(), p.clone()];
    elsewhere[0].adjudicator.0[19] ^= 1;
    elsewhere[1].chain_id += 1;
    elsewhere[2].asset = Address([0xe2; 20]);
    for q in &elsewhere {
        for call in [
            AnchorCall::Deposit {
                party: 0,
                amount: 1,
            },
            register(&state(q, 1, &[1, 0], false)),
            AnchorCall::Withdraw { party: 0 },
        ] {
            assert!(
                matches!(chain.submit(q, &call), Err(AnchorError::Backend(_))),
                "{q:?}"
            );
        }
    }

    // None of it changed anything: the channel still settles as signed.
    assert_eq!(watch.take(chain), []);
    chain.submit(&p, &conclude(&s)).unwrap();
    assert_eq!(watch.take(chain).len(), 3);
}

/// One call's receipt and the gas its calldata alone costs (intrinsic:
/// 16 per non-zero byte, 4 per zero byte), so that execution gas can be
/// compared across calls whose calldata differs (a version's bytes, a
/// signature's zero bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measured {
    /// The receipt's gas (refunds deducted).
    pub(crate) gas: u64,
    /// The calldata's intrinsic gas.
    pub(crate) calldata_gas: u64,
    /// The calldata's length.
    pub(crate) calldata_bytes: u64,
}

impl Measured {
    /// Gas beyond the 21000 base and the calldata: what execution cost.
    pub(crate) fn execution(&self) -> u64 {
        self.gas - 21_000 - self.calldata_gas
    }
}

/// Whether `a` and `b` cost the same but for their calldata: `b`'s gas is
/// `a`'s plus the difference in calldata gas, or, for a call whose refund
/// (cleared storage) hits EIP-3529's cap of a fifth of the gas spent, that
/// capped: gas = spent − spent / 5, with `spent` moving by the calldata's
/// difference.
pub(crate) fn same_but_calldata(a: Measured, b: Measured) -> bool {
    let delta = i128::from(b.calldata_gas) - i128::from(a.calldata_gas);
    let shift = |gas: u64| u64::try_from(i128::from(gas) + delta).ok();
    if shift(a.gas) == Some(b.gas) {
        return true;
    }
    let capped = |spent: u64| spent - spent / 5;
    // The spent gas whose capped refund leaves a's gas (g ≈ 4/5 spent).
    let spent = (a.gas + a.gas / 4).saturating_sub(2)..=a.gas + a.gas / 4 + 2;
    spent
        .filter(|s| capped(*s) == a.gas)
        .any(|s| shift(s).map(capped) == Some(b.gas))
}

/// One of each call on fresh two-party channels, whose states have
/// `version` (a channel after `version` off-chain updates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GasProfile {
    /// The channel's first deposit (a fresh storage word).
    pub(crate) first_deposit: Measured,
    /// The second party's deposit (the same word).
    pub(crate) second_deposit: Measured,
    /// A cooperative close, paying both parties.
    pub(crate) conclude: Measured,
    /// The first registration of a dispute.
    pub(crate) register: Measured,
    /// A refutation by a higher version.
    pub(crate) refute: Measured,
    /// Settling after the period.
    pub(crate) finalize: Measured,
    /// The first party's withdrawal.
    pub(crate) withdraw: Measured,
    /// The second party's withdrawal.
    pub(crate) second_withdraw: Measured,
}

impl GasProfile {
    /// Each call's name and measurement, in lifecycle order.
    pub(crate) fn rows(&self) -> [(&'static str, Measured); 8] {
        [
            ("first deposit", self.first_deposit),
            ("second deposit", self.second_deposit),
            ("conclude (2 parties)", self.conclude),
            ("register", self.register),
            ("refute", self.refute),
            ("finalize", self.finalize),
            ("withdraw", self.withdraw),
            ("second withdraw", self.second_withdraw),
        ]
    }
}

fn measured<C: DevChain>(chain: &mut C, p: &ChannelParams, call: &AnchorCall) -> Measured {
    let receipt = chain.submit(p, call).unwrap();
    let calldata = EmbeddedChain::calldata(p, call);
    let calldata_gas = calldata
        .iter()
        .map(|b| if *b == 0 { 4 } else { 16 })
        .sum::<u64>();
    assert_eq!(
        receipt.calldata_bytes,
        Some(u64::try_from(calldata.len()).unwrap())
    );
    Measured {
        gas: receipt.gas.unwrap(),
        calldata_gas,
        calldata_bytes: receipt.calldata_bytes.unwrap(),
    }
}

/// Measures one of each call at `version`, on channels `nonce` and
/// `nonce + 1` (fresh: their storage is cold and empty).
pub(crate) fn gas_profile<C: DevChain>(chain: &mut C, nonce: u64, version: u64) -> GasProfile {
    fund_participants(chain);
    let deposit = |party| AnchorCall::Deposit {
        party,
        amount: 1_000_000,
    };
    // Cooperative: deposit, deposit, conclude.
    let p = params(chain, nonce);
    let first_deposit = measured(chain, &p, &deposit(0));
    let second_deposit = measured(chain, &p, &deposit(1));
    let conclude = measured(
        chain,
        &p,
        &conclude(&state(&p, version, &[1_200_000, 800_000], true)),
    );
    // Dispute: deposit twice, register, refute, finalize, withdraw twice.
    let p = params(chain, nonce + 1);
    measured(chain, &p, &deposit(0));
    measured(chain, &p, &deposit(1));
    let register_call = register(&state(&p, version, &[1_500_000, 500_000], false));
    let register = measured(chain, &p, &register_call);
    let latest = state(&p, version + 1, &[900_000, 1_100_000], false);
    let refute = measured(chain, &p, &self::register(&latest));
    chain.advance(PERIOD).unwrap();
    let finalize = measured(chain, &p, &AnchorCall::Finalize { state: latest });
    let withdraw = measured(chain, &p, &AnchorCall::Withdraw { party: 0 });
    let second_withdraw = measured(chain, &p, &AnchorCall::Withdraw { party: 1 });
    GasProfile {
        first_deposit,
        second_deposit,
        conclude,
        register,
        refute,
        finalize,
        withdraw,
        second_withdraw,
    }
}
