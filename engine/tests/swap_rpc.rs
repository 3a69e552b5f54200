//! An atomic swap between channels on two anvil nodes (chain ids 31337 and
//! 31338), each with its own adjudicator deployed through [`RpcChain`]:
//! Alice completes Y by a registration and goes silent; Bob reads that
//! registration back from Y's node ([`RpcChain::registrations`]), learns
//! the secret from his own signature in it, and completes X. Both settle
//! swapped. (tests/swap.rs runs the same and the other cases on two
//! embedded chains.)
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::PathBuf;

use sotto_engine::anchor::{Anchor, AnchorCall, ChainEvent, RpcChain};
use sotto_engine::devnet::{self, Anvil};
use sotto_engine::oracle::{Leg, Swap, SwapSecret};
use sotto_engine::state::{Address, ChannelParams, SigningKey, State};

const PERIOD: u64 = 60;
const ETHER: u128 = 1_000_000_000_000_000_000;

fn anvil(chain_id: &str) -> Anvil {
    let bin = devnet::anvil_in(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    Anvil::start_with(&bin, &["--chain-id", chain_id]).unwrap()
}

/// A funded channel of `parties` on `node`, and its leg with a base state
/// (version 5) that pays the deposits.
fn channel(node: &Anvil, parties: [&SigningKey; 2], deposits: [u64; 2]) -> (RpcChain, Leg) {
    let mut chain = RpcChain::connect(&node.url, devnet::dev_key().unwrap(), 0, None).unwrap();
    for p in parties {
        node.set_balance(p.address(), ETHER).unwrap();
    }
    let params = ChannelParams {
        participants: parties.map(SigningKey::address).to_vec(),
        nonce: 3,
        challenge_period: PERIOD,
        contract_id: [0x5a; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: chain.chain_id(),
    };
    for (party, amount) in deposits.into_iter().enumerate() {
        let party = u32::try_from(party).unwrap();
        chain
            .submit(&params, &AnchorCall::Deposit { party, amount })
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

fn concluded(chain: &mut RpcChain, params: &ChannelParams) -> Option<Vec<u64>> {
    let (events, _) = chain.events(&params.channel_id(), 0).unwrap();
    events.into_iter().find_map(|e| match e {
        ChainEvent::Concluded { allocation, .. } => Some(allocation),
        _ => None,
    })
}

#[test]
fn a_registration_on_one_anvil_completes_the_swap_on_another() {
    let (node_x, node_y) = (anvil("31337"), anvil("31338"));
    let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
    let (mut chain_x, mut x) = channel(&node_x, [&alice, &bob], [500, 100]);
    let (mut chain_y, mut y) = channel(&node_y, [&bob, &alice], [400, 50]);
    assert_ne!(chain_x.chain_id(), chain_y.chain_id());
    x.allocation = vec![200, 400];
    y.allocation = vec![200, 250];
    y.until = chain_y.now() + 1_000;
    x.until = chain_x.now() + 2_000;

    let (secret, point) = SwapSecret::generate();
    let swap = Swap::new(x.clone(), y.clone(), point).unwrap();
    let offer = swap.offer(&alice);
    let answer = swap.accept(&bob, &offer, &alice.public_key()).unwrap();
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

    // Bob reads Y's node.
    let registrations = chain_y.registrations(&y.params.channel_id()).unwrap();
    let [(seen, signatures)] = registrations.as_slice() else {
        panic!("one registration expected, got {registrations:?}");
    };
    assert_eq!(seen, &swap.y_state());
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
    // X's channel had no registration of its own before Bob's.
    assert_eq!(
        chain_x.registrations(&x.params.channel_id()).unwrap().len(),
        1
    );
}
