//! Atomic swaps between a channel on one embedded chain (chain id 31337)
//! and a channel on another (31338), both with the real adjudicator: the
//! happy path (both legs completed off-chain and closed cooperatively), and
//! Alice completing on Y by a registration and going silent, after which
//! Bob learns the secret from that registration's calldata and completes
//! X; and an offer that lapses: Alice completes Y only after Y's deadline,
//! the adjudicator refuses it, and both channels settle on their pre-swap
//! states.
#![allow(clippy::unwrap_used, reason = "test code")]

use sotto_engine::anchor::{
    Anchor, AnchorCall, AnchorError, ChainEvent, EmbeddedChain, signed_state_in,
};
use sotto_engine::oracle::{AdaptorSignature, Leg, Swap, SwapSecret};
use sotto_engine::state::{Address, ChannelParams, SigningKey, State};

const PERIOD: u64 = 600;
const ETHER: u128 = 1_000_000_000_000_000_000;

/// A channel of `parties` on a fresh chain, each depositing `deposits`,
/// with a fully signed state of version 5 that pays the deposits.
fn channel(chain_id: u64, parties: [&SigningKey; 2], deposits: [u64; 2]) -> (EmbeddedChain, Leg) {
    let mut chain = EmbeddedChain::with_genesis(chain_id, 0).unwrap();
    for p in parties {
        chain.fund(p.address(), ETHER).unwrap();
    }
    let params = ChannelParams {
        participants: parties.map(SigningKey::address).to_vec(),
        nonce: 77,
        challenge_period: PERIOD,
        contract_id: [0x5a; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id,
    };
    for (party, amount) in deposits.into_iter().enumerate() {
        chain
            .submit(
                &params,
                &AnchorCall::Deposit {
                    party: party as u32,
                    amount,
                },
            )
            .unwrap();
    }
    let base = State {
        channel_id: params.channel_id(),
        version: 5,
        commitment: [0x11; 32],
        allocation: deposits.to_vec(),
        is_final: false,
    };
    let leg = Leg {
        params,
        allocation: deposits.to_vec(),
        base,
        until: 0,
    };
    (chain, leg)
}

fn concluded(chain: &mut EmbeddedChain, params: &ChannelParams) -> Option<Vec<u64>> {
    let (events, _) = chain.events(&params.channel_id(), 0).unwrap();
    events.into_iter().find_map(|e| match e {
        ChainEvent::Concluded { allocation, .. } => Some(allocation),
        _ => None,
    })
}

/// Alice sells Bob 300 of X's coin for 200 of Y's.
fn swap_legs(alice: &SigningKey, bob: &SigningKey) -> (EmbeddedChain, EmbeddedChain, Leg, Leg) {
    let (chain_x, mut x) = channel(31337, [alice, bob], [500, 100]);
    // On Y, Bob is party 0.
    let (chain_y, mut y) = channel(31338, [bob, alice], [400, 50]);
    x.allocation = vec![200, 400];
    y.allocation = vec![200, 250];
    // Y's offer lapses first; Bob has 1000 s more to complete X.
    y.until = chain_y.now() + 1_000;
    x.until = chain_x.now() + 2_000;
    (chain_x, chain_y, x, y)
}

/// Steps 1 and 2 of a swap: Alice's secret and offer, Bob's answer.
struct Offered {
    secret: SwapSecret,
    swap: Swap,
    offer: AdaptorSignature,
    answer: AdaptorSignature,
}

fn offered(x: &Leg, y: &Leg, alice: &SigningKey, bob: &SigningKey) -> Offered {
    let (secret, point) = SwapSecret::generate();
    let swap = Swap::new(x.clone(), y.clone(), point).unwrap();
    let offer = swap.offer(alice);
    let answer = swap.accept(bob, &offer, &alice.public_key()).unwrap();
    Offered {
        secret,
        swap,
        offer,
        answer,
    }
}

#[test]
fn both_legs_complete_and_close_cooperatively() {
    let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
    let (mut chain_x, mut chain_y, x, y) = swap_legs(&alice, &bob);
    let Offered {
        secret,
        swap,
        offer,
        answer,
    } = offered(&x, &y, &alice, &bob);
    let on_y = swap
        .complete_y(&alice, &secret, &answer, &bob.public_key())
        .unwrap();
    // Alice hands Bob the completed Y state off-chain; his signature in it
    // completes X.
    let on_x = swap
        .complete_x(
            &bob,
            &answer,
            &on_y.signatures[0],
            &offer,
            &alice.public_key(),
        )
        .unwrap();
    // Both close each channel together on the swapped allocations.
    for (chain, leg, completed, order) in [
        (&mut chain_x, &x, &on_x, [&alice, &bob]),
        (&mut chain_y, &y, &on_y, [&bob, &alice]),
    ] {
        let close = State {
            version: completed.state.version + 1,
            is_final: true,
            ..completed.state.clone()
        };
        let d = close.digest();
        chain
            .submit(
                &leg.params,
                &AnchorCall::Conclude {
                    signatures: order.iter().map(|k| k.sign(&d)).collect(),
                    state: close,
                },
            )
            .unwrap();
    }
    assert_eq!(concluded(&mut chain_x, &x.params), Some(vec![200, 400]));
    assert_eq!(concluded(&mut chain_y, &y.params), Some(vec![200, 250]));
}

#[test]
fn a_registration_on_y_reveals_the_secret_that_completes_x() {
    let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
    let (mut chain_x, mut chain_y, x, y) = swap_legs(&alice, &bob);
    let Offered {
        secret,
        swap,
        offer,
        answer,
    } = offered(&x, &y, &alice, &bob);
    // Alice completes Y and registers it on chain Y, then goes silent.
    let on_y = swap
        .complete_y(&alice, &secret, &answer, &bob.public_key())
        .unwrap();
    chain_y
        .submit(
            &y.params,
            &AnchorCall::RegisterTimed {
                state: on_y.state.clone(),
                window: on_y.window,
                signatures: on_y.signatures.clone(),
            },
        )
        .unwrap();
    drop(secret);

    // Bob watches chain Y: the registration's calldata carries his own
    // decrypted signature, which reveals the secret.
    let registration = chain_y
        .transactions()
        .iter()
        .rev()
        .find(|t| t.function() == Some("register"))
        .unwrap()
        .clone();
    let (seen, signatures) = signed_state_in(&registration.input).unwrap();
    assert_eq!(seen, swap.y_state());
    let on_x = swap
        .complete_x(&bob, &answer, &signatures[0], &offer, &alice.public_key())
        .unwrap();
    chain_x
        .submit(
            &x.params,
            &AnchorCall::RegisterTimed {
                state: on_x.state.clone(),
                window: on_x.window,
                signatures: on_x.signatures,
            },
        )
        .unwrap();
    // Both challenge periods pass with nobody refuting; both settle swapped.
    for (chain, leg, state) in [
        (&mut chain_x, &x, on_x.state),
        (&mut chain_y, &y, on_y.state),
    ] {
        chain.advance(PERIOD).unwrap();
        chain
            .submit(&leg.params, &AnchorCall::Finalize { state })
            .unwrap();
    }
    assert_eq!(concluded(&mut chain_x, &x.params), Some(vec![200, 400]));
    assert_eq!(concluded(&mut chain_y, &y.params), Some(vec![200, 250]));
    // Other calldata holds no signed state.
    let deposit = chain_x
        .transactions()
        .iter()
        .find(|t| t.function() == Some("deposit"))
        .unwrap();
    assert_eq!(signed_state_in(&deposit.input), None);
    assert_eq!(signed_state_in(&[0u8; 3]), None);
}

#[test]
fn a_lapsed_offer_completes_nothing_and_both_channels_go_on_from_before() {
    let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
    let (mut chain_x, mut chain_y, x, y) = swap_legs(&alice, &bob);
    let Offered {
        secret,
        swap,
        offer: _,
        answer,
    } = offered(&x, &y, &alice, &bob);
    // Alice waits past Y's deadline (a free option, if it worked) and only
    // then completes Y: the adjudicator refuses it.
    chain_y.advance(1_000).unwrap();
    let on_y = swap
        .complete_y(&alice, &secret, &answer, &bob.public_key())
        .unwrap();
    let late = AnchorCall::RegisterTimed {
        state: on_y.state.clone(),
        window: on_y.window,
        signatures: on_y.signatures.clone(),
    };
    assert_eq!(
        chain_y.submit(&y.params, &late),
        Err(AnchorError::OutsideWindow {
            not_before: 0,
            not_after: y.until
        })
    );
    // Bob, on each chain, registers the pre-swap state (both signed it
    // before the swap); nothing can refute it with a swap state any more.
    chain_x.advance(2_000).unwrap();
    for (chain, leg, order) in [
        (&mut chain_x, &x, [&alice, &bob]),
        (&mut chain_y, &y, [&bob, &alice]),
    ] {
        let d = leg.base.digest();
        chain
            .submit(
                &leg.params,
                &AnchorCall::Register {
                    state: leg.base.clone(),
                    signatures: order.iter().map(|k| k.sign(&d)).collect(),
                },
            )
            .unwrap();
    }
    assert!(matches!(
        chain_y.submit(&y.params, &late),
        Err(AnchorError::OutsideWindow { .. })
    ));
    for (chain, leg) in [(&mut chain_x, &x), (&mut chain_y, &y)] {
        chain.advance(PERIOD).unwrap();
        chain
            .submit(
                &leg.params,
                &AnchorCall::Finalize {
                    state: leg.base.clone(),
                },
            )
            .unwrap();
    }
    assert_eq!(concluded(&mut chain_x, &x.params), Some(vec![500, 100]));
    assert_eq!(concluded(&mut chain_y, &y.params), Some(vec![400, 50]));
}
