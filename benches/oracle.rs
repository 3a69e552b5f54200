//! Criterion benchmarks of oracle bets: the cases of `sotto bench oracle`.
//! Group `adaptor`: one adaptor signature made, verified and decrypted.
//! Group `setup`: one party's signing and verification of a bet's adaptor
//! signatures, for 16 enumerated outcomes and for a linear curve over 2^20
//! values rounded to 1 % of the stake (1,302 digit prefixes). Group
//! `settle`: an attestation verified and a numeric bet settled.
//!
//! Run with `cargo bench --bench oracle`.
#![allow(clippy::unwrap_used, reason = "benchmark set-up")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use secp256k1_zkp::{PublicKey, SECP256K1, SecretKey};
use sotto_engine::oracle::numeric::{
    Domain, PayoutCurve, PayoutPoint, RoundingInterval, RoundingIntervals,
};
use sotto_engine::oracle::{
    AdaptorSignature, Bet, BetTerms, OracleKey, Outcome, Outcomes, Payouts,
};
use sotto_engine::state::{Address, ChannelParams, SigningKey, State};

const STAKE: u64 = 2_000_000;

fn channel(alice: &SigningKey, bob: &SigningKey) -> (ChannelParams, State) {
    let params = ChannelParams {
        participants: vec![alice.address(), bob.address()],
        nonce: 1,
        challenge_period: 1000,
        contract_id: [0xb3; 32],
        asset: Address([0; 20]),
        adjudicator: Address([0xad; 20]),
        chain_id: 31337,
    };
    let base = State {
        channel_id: params.channel_id(),
        version: 1,
        commitment: [0x42; 32],
        allocation: vec![STAKE / 2, STAKE / 2],
        is_final: false,
    };
    (params, base)
}

fn adaptor(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[0x11; 32]).unwrap();
    let secret = SecretKey::from_slice(&[0x33; 32]).unwrap();
    let point = PublicKey::from_secret_key(SECP256K1, &secret);
    let digest = [7u8; 32];
    let sig = AdaptorSignature::sign(&key, &digest, &point);
    let mut g = c.benchmark_group("adaptor");
    g.bench_function("sign", |b| {
        b.iter(|| black_box(AdaptorSignature::sign(&key, black_box(&digest), &point)));
    });
    g.bench_function("verify", |b| {
        b.iter(|| black_box(sig.verify(black_box(&digest), &key.public_key(), &point)));
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| black_box(sig.decrypt(&secret, black_box(&digest), &key.public_key())));
    });
    g.finish();
}

fn terms(oracle: &OracleKey, numeric: bool) -> BetTerms {
    if numeric {
        let ann = oracle
            .announce(
                "bench-2-20",
                0,
                Outcomes::Numeric {
                    base: 2,
                    digits: 20,
                },
            )
            .unwrap();
        let domain = Domain::binary(20).unwrap();
        let curve = PayoutCurve::new(
            domain,
            STAKE,
            vec![
                PayoutPoint::new(0, 0),
                PayoutPoint::new(domain.max_outcome(), STAKE),
            ],
        )
        .unwrap();
        let rounding = RoundingIntervals::new(vec![RoundingInterval {
            begin: 0,
            modulus: STAKE / 100,
        }])
        .unwrap();
        BetTerms {
            announcements: vec![ann],
            threshold: 1,
            payouts: Payouts::numeric(&curve, &rounding).unwrap(),
            refund_after: None,
        }
    } else {
        let names = (0..16).map(|i| format!("o{i}")).collect();
        let ann = oracle
            .announce("bench-16", 0, Outcomes::Enumerated(names))
            .unwrap();
        BetTerms {
            announcements: vec![ann],
            threshold: 1,
            payouts: Payouts::Enumerated(
                (0..16u64).map(|i| vec![i * 100, STAKE - i * 100]).collect(),
            ),
            refund_after: None,
        }
    }
}

fn setup(c: &mut Criterion) {
    let (alice, bob) = (
        SigningKey::from_bytes(&[0x11; 32]).unwrap(),
        SigningKey::from_bytes(&[0x22; 32]).unwrap(),
    );
    let (params, base) = channel(&alice, &bob);
    let oracle = OracleKey::from_bytes(&[0x0c; 32]).unwrap();
    let mut g = c.benchmark_group("setup");
    g.sample_size(10);
    for (name, numeric) in [("enum_16", false), ("numeric_2^20", true)] {
        let bet = Bet::new(&params, &base, terms(&oracle, numeric)).unwrap();
        let signed = bet.sign(&alice);
        g.bench_function(format!("{name}/sign"), |b| {
            b.iter(|| black_box(bet.sign(&alice)))
        });
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| black_box(bet.verify(0, &signed).is_ok()));
        });
    }
    g.finish();
}

fn settle(c: &mut Criterion) {
    let (alice, bob) = (
        SigningKey::from_bytes(&[0x11; 32]).unwrap(),
        SigningKey::from_bytes(&[0x22; 32]).unwrap(),
    );
    let (params, base) = channel(&alice, &bob);
    let oracle = OracleKey::from_bytes(&[0x0c; 32]).unwrap();
    let terms = terms(&oracle, true);
    let ann = terms.announcements[0].clone();
    let bet = Bet::new(&params, &base, terms).unwrap();
    let from_alice = bet.sign(&alice);
    let attestation = oracle.attest(&ann, Outcome::Numeric(700_000)).unwrap();
    let mut g = c.benchmark_group("settle");
    g.bench_function("verify_attestation_2^20", |b| {
        b.iter(|| black_box(ann.verify(black_box(&attestation)).is_ok()));
    });
    g.bench_function("numeric_2^20", |b| {
        b.iter(|| {
            black_box(
                bet.settle(
                    std::slice::from_ref(&attestation),
                    1,
                    &bob,
                    &[(0, &from_alice)],
                )
                .is_ok(),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, adaptor, setup, settle);
criterion_main!(benches);
