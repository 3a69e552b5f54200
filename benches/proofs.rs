//! Criterion benchmarks of the proofs: the cases of `sotto bench proofs`.
//!
//! The statements, generators and baselines come from the same fixtures file
//! as the CLI (`src/bench/proofs/fixtures.rs`, included below), so the two
//! measure the same thing; criterion adds its statistics and history.
//! Groups: `prove`, `verify`, `aggregated` (m ranges in one proof),
//! `raw_bulletproofs`, `borromean63` and `batch` (per batch call; divide by
//! the batch size for the per-proof cost).
//!
//! Run with `cargo bench --bench proofs`, or one group with e.g.
//! `cargo bench --bench proofs -- batch`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_circuits::BatchItem;

#[path = "../src/bench/proofs/fixtures.rs"]
mod fixtures;

use fixtures::{AGGREGATION_SIZES, BATCH_SIZES, BatchMode, Borromean, Proven, RawBulletproof};

/// Fixed, so every run proves the same statements (the same seed as the CLI).
const SEED: u64 = 0x5077_0b3e;

/// Fixtures are proven and verified once when built; a failure is a bug.
fn setup<T>(what: &str, r: anyhow::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("setting up {what}: {e:#}"))
}

/// Our single 64-bit range and the three sample programs.
fn ours(rng: &mut StdRng) -> Vec<Proven> {
    let mut all = vec![setup("range64", fixtures::single_range(rng))];
    all.extend(setup("programs", fixtures::programs(rng)));
    all
}

fn prove(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut g = c.benchmark_group("prove");
    for p in ours(&mut rng) {
        g.bench_function(name(&p), |b| {
            b.iter(|| black_box(p.prove(&mut rand::thread_rng())))
        });
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut g = c.benchmark_group("verify");
    for p in ours(&mut rng) {
        g.bench_function(name(&p), |b| {
            b.iter(|| black_box(p.verify(&mut rand::thread_rng())))
        });
    }
    g.finish();
}

/// The single range is sample "range64x1"; the CLI calls that row "range64".
fn name(p: &Proven) -> String {
    match p.sample.name.as_str() {
        "range64x1" => "range64".into(),
        other => other.into(),
    }
}

fn aggregated(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut g = c.benchmark_group("aggregated");
    g.sample_size(10);
    for m in AGGREGATION_SIZES {
        let p = setup("aggregated ranges", fixtures::aggregated(m, &mut rng));
        g.throughput(Throughput::Elements(m as u64));
        g.bench_with_input(BenchmarkId::new("prove", m), &p, |b, p| {
            b.iter(|| black_box(p.prove(&mut rand::thread_rng())))
        });
        g.bench_with_input(BenchmarkId::new("verify", m), &p, |b, p| {
            b.iter(|| black_box(p.verify(&mut rand::thread_rng())))
        });
        eprintln!("aggregated/m={m}: {} bytes", p.size());
    }
    g.finish();
}

fn raw_bulletproofs(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let raw = setup("raw bulletproofs", RawBulletproof::new(&mut rng));
    eprintln!("raw_bulletproofs/range64: {} bytes", raw.size());
    let mut g = c.benchmark_group("raw_bulletproofs");
    g.bench_function("prove_range64", |b| {
        b.iter(|| black_box(raw.prove(&mut rand::thread_rng())))
    });
    g.bench_function("verify_range64", |b| {
        b.iter(|| black_box(raw.verify(&mut rand::thread_rng())))
    });
    g.finish();
}

fn borromean63(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let borromean = setup("Borromean", Borromean::new(&mut rng));
    eprintln!("borromean63/range63: {} bytes", borromean.size());
    let mut g = c.benchmark_group("borromean63");
    g.bench_function("prove_range63", |b| b.iter(|| black_box(borromean.prove())));
    g.bench_function("verify_range63", |b| {
        b.iter(|| black_box(borromean.verify()))
    });
    g.finish();
}

fn batch(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(SEED);
    let largest = BATCH_SIZES.iter().copied().max().unwrap_or(1);
    let proofs = setup("batch proofs", fixtures::batch(largest, &mut rng));
    let mode = setup("batch mode", fixtures::batch_mode(&proofs, &mut rng));
    if let BatchMode::OneByOne { reason } = &mode {
        eprintln!("warning: batch_verify rejected valid proofs ({reason}); measuring one by one");
    }
    let mut g = c.benchmark_group("batch");
    for n in BATCH_SIZES {
        let proofs = &proofs[..n];
        let items: Vec<BatchItem<'_>> = proofs.iter().map(Proven::item).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("verify", n), |b| {
            b.iter(|| {
                black_box(fixtures::verify_batch(
                    proofs,
                    &items,
                    &mode,
                    &mut rand::thread_rng(),
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    prove,
    verify,
    aggregated,
    raw_bulletproofs,
    borromean63,
    batch
);
criterion_main!(benches);
