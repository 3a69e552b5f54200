//! Criterion benchmarks of the anchor chain: the timed cases of
//! `sotto bench chain`. Groups `embedded` (the adjudicator's committed
//! bytecode on revm in this process) and `anvil` (the same bytecode on an
//! anvil node through `RpcChain`): `deposit` (the first into a fresh
//! channel), `conclude`, `register`, `refute` (version 2 over version 1),
//! `finalize` and `withdraw`, each one `Anchor::submit` on a two-party
//! channel prepared for it beforehand, untimed (`iter_custom`), as in
//! `src/bench/chain.rs`, whose channel, keys, amounts and setup these
//! repeat: each operation on a fresh chain, after four setup transactions
//! per timed call (padded with deposits into channel 1), since anvil slows
//! down as it mines. Gas is deterministic and is `sotto bench chain`'s
//! alone.
//!
//! The `anvil` group starts anvil from `tools/evm` (install it with
//! `npm ci --prefix tools/evm`; a missing binary stops the run and says
//! so) on 127.0.0.1 and a port of its choosing, and kills it by its PID at
//! the end.
//!
//! Run with `cargo bench --bench chain`, or one group with e.g.
//! `cargo bench --bench chain -- embedded`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sotto_engine::anchor::{Anchor, AnchorCall, EmbeddedChain, RpcChain};
use sotto_engine::devnet::{self, Anvil};
use sotto_engine::state::{Address, ChannelParams, SigningKey, State};

const PERIOD: u64 = 1000;
const DEPOSIT: u64 = 1_000_000;
const COOPERATIVE: [u64; 2] = [1_200_000, 800_000];
const DISPUTED: [u64; 2] = [1_500_000, 500_000];
const REFUTING: [u64; 2] = [900_000, 1_100_000];
const START_BALANCE: u128 = 1_000_000_000_000_000_000;
const OPS: [&str; 6] = [
    "deposit", "conclude", "register", "refute", "finalize", "withdraw",
];

fn key(bytes: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&bytes).unwrap_or_else(|| panic!("{bytes:x?} is not a key"))
}

fn parties() -> [SigningKey; 2] {
    [key([0x11; 32]), key([0x22; 32])]
}

/// Alice and Bob's channel `nonce` on `chain`.
fn params(chain: &impl Anchor, nonce: u64) -> ChannelParams {
    ChannelParams {
        participants: parties().iter().map(SigningKey::address).collect(),
        nonce,
        challenge_period: PERIOD,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: chain.adjudicator(),
        chain_id: chain.chain_id(),
    }
}

fn state(p: &ChannelParams, version: u64, allocation: [u64; 2], is_final: bool) -> State {
    State {
        channel_id: p.channel_id(),
        version,
        commitment: [0x5c; 32],
        allocation: allocation.to_vec(),
        is_final,
    }
}

/// `state` signed by both: a conclude if it is final, else a register.
fn signed(state: State) -> AnchorCall {
    let digest = state.digest();
    let signatures = parties().iter().map(|k| k.sign(&digest)).collect();
    if state.is_final {
        AnchorCall::Conclude { state, signatures }
    } else {
        AnchorCall::Register { state, signatures }
    }
}

fn submit(chain: &mut impl Anchor, p: &ChannelParams, call: &AnchorCall) {
    chain
        .submit(p, call)
        .unwrap_or_else(|e| panic!("{call:?} on channel {}: {e}", p.nonce));
}

/// `n` channels, nonces after `*nonce`, each made ready for `op`; returns
/// the calls `op` times.
fn prepare(
    chain: &mut impl Anchor,
    op: &str,
    n: u64,
    nonce: &mut u64,
) -> Vec<(ChannelParams, AnchorCall)> {
    let deposit = |party| AnchorCall::Deposit {
        party,
        amount: DEPOSIT,
    };
    let mut calls = Vec::new();
    let mut made = 0;
    for _ in 0..n {
        *nonce += 1;
        let p = params(chain, *nonce);
        if op != "deposit" {
            submit(chain, &p, &deposit(0));
            submit(chain, &p, &deposit(1));
            made += 2;
        }
        if matches!(op, "refute" | "finalize" | "withdraw") {
            submit(chain, &p, &signed(state(&p, 1, DISPUTED, false)));
            made += 1;
        }
        let call = match op {
            "deposit" => deposit(0),
            "conclude" => signed(state(&p, 1, COOPERATIVE, true)),
            "register" => signed(state(&p, 1, DISPUTED, false)),
            "refute" => signed(state(&p, 2, REFUTING, false)),
            _ => AnchorCall::Finalize {
                state: state(&p, 1, DISPUTED, false),
            },
        };
        calls.push((p, call));
    }
    if matches!(op, "finalize" | "withdraw") {
        chain
            .advance(PERIOD)
            .unwrap_or_else(|e| panic!("advance: {e}"));
    }
    if op == "withdraw" {
        for (p, call) in &mut calls {
            submit(chain, p, call);
            *call = AnchorCall::Withdraw { party: 0 };
            made += 1;
        }
    }
    let padding = params(chain, 1);
    for _ in made..4 * n {
        submit(chain, &padding, &deposit(0));
    }
    calls
}

/// One benchmark per operation in `group`, each on a fresh chain from
/// `open` (with what must outlive it: the anvil process).
fn every_op<G, C: Anchor>(
    c: &mut Criterion,
    group: &str,
    quick: bool,
    mut open: impl FnMut() -> (G, C),
) {
    let mut g = c.benchmark_group(group);
    if quick {
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
    }
    for op in OPS {
        let (_guard, mut chain) = open();
        let mut nonce = 1_000;
        g.bench_function(op, |b| {
            b.iter_custom(|iters| {
                let calls = prepare(&mut chain, op, iters, &mut nonce);
                let started = Instant::now();
                for (p, call) in &calls {
                    submit(&mut chain, p, call);
                }
                started.elapsed()
            });
        });
    }
    g.finish();
}

fn embedded(c: &mut Criterion) {
    every_op(c, "embedded", false, || {
        let mut chain = EmbeddedChain::new(31_337).unwrap_or_else(|e| panic!("{e}"));
        for k in parties() {
            chain
                .fund(k.address(), START_BALANCE)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        ((), chain)
    });
}

fn anvil(c: &mut Criterion) {
    // Milliseconds per call: fewer, longer samples.
    every_op(c, "anvil", true, || {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let anvil = Anvil::start(&devnet::anvil_in(&root)).unwrap_or_else(|e| panic!("{e}"));
        let sender = devnet::dev_key().unwrap_or_else(|| panic!("anvil's development key"));
        let chain =
            RpcChain::connect(&anvil.url, sender, 0, None).unwrap_or_else(|e| panic!("{e}"));
        for k in parties() {
            anvil
                .set_balance(k.address(), START_BALANCE)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        (anvil, chain)
    });
}

criterion_group!(benches, embedded, anvil);
criterion_main!(benches);
