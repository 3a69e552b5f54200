//! Criterion benchmarks of the sandbox: the cases of `sotto bench sandbox`.
//!
//! The modules, ABIs, inputs and sandbox configuration come from the same
//! fixtures file as the CLI (`src/bench/sandbox/fixtures.rs`, included
//! below), so the two measure the same thing; criterion adds its statistics
//! and history. Group `call`: `trivial`, `no_memory`, `payment`, `hash` (each a fresh
//! instance and one call); group `load`: `payment` (validation, compilation,
//! linking); group `library`: `NAME.FUNCTION` for each library function
//! its happy-path scenario calls (`src/bench/library.rs`).
//!
//! Run with `cargo bench --bench sandbox`, or one group with e.g.
//! `cargo bench --bench sandbox -- call`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../src/bench/sandbox/fixtures.rs"]
mod fixtures;
#[path = "../src/bench/library.rs"]
#[allow(dead_code, reason = "shared with sotto bench, which reads every field")]
mod library;

use fixtures::Fixtures;

/// The fixtures call each module once when built; a failure is a bug.
fn setup() -> Fixtures {
    Fixtures::new().unwrap_or_else(|e| panic!("setting up the sandbox fixtures: {e:#}"))
}

fn call(c: &mut Criterion) {
    let fx = setup();
    let mut g = c.benchmark_group("call");
    g.throughput(Throughput::Elements(1));
    for (name, call) in [
        ("trivial", &fx.trivial),
        ("no_memory", &fx.no_memory),
        ("payment", &fx.payment),
        ("hash", &fx.hash),
    ] {
        g.bench_function(name, |b| b.iter(|| black_box(fx.call(call))));
    }
    g.finish();
}

fn load(c: &mut Criterion) {
    let fx = setup();
    let mut g = c.benchmark_group("load");
    g.bench_function("payment", |b| b.iter(|| black_box(fx.compile_payment())));
    g.finish();
}

/// Each library function its happy path calls, with that call's inputs.
fn library(c: &mut Criterion) {
    let library = library::Library::new()
        .unwrap_or_else(|e| panic!("setting up the library fixtures: {e:#}"));
    let mut g = c.benchmark_group("library");
    g.throughput(Throughput::Elements(1));
    for call in &library.calls {
        g.bench_function(library.label(call), |b| {
            b.iter(|| black_box(library.call(call)));
        });
    }
    g.finish();
}

criterion_group!(benches, call, load, library);
criterion_main!(benches);
