//! Criterion benchmarks of the compiler: the cases of `sotto bench
//! contracts`. Group `compile`: each library contract from source text to a
//! validated artifact (target: under 20 ms each in release).
//!
//! Run with `cargo bench --bench contracts`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sotto_contracts::library::LIBRARY;

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    for (name, source) in LIBRARY {
        g.bench_function(name, |b| {
            b.iter(|| black_box(sotto_contracts::compile(black_box(source)).is_ok()));
        });
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
