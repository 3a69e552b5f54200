//! Criterion benchmarks of one channel update with every party in this
//! process: the cases of `sotto bench channel --in-process`. Group `update`:
//! `payment` (public only, `pay_bob(1)` / `pay_alice(1)` alternately) and
//! `negotiation` (`propose(700)`, one comparison proven and verified); each
//! iteration is a whole step: run, prove, sign, re-execute, verify,
//! countersign, with both signers' durable records.
//!
//! Run with `cargo bench --bench channel`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sotto_contracts::abi::Value;
use sotto_contracts::library::LIBRARY;
use sotto_engine::channel::local::LocalChannel;
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::state::SigningKey;

fn update(c: &mut Criterion) {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("sotto-criterion-channel-{}", std::process::id()));
    let mut g = c.benchmark_group("update");
    for (contract, private) in [
        ("payment", &[][..]),
        ("negotiation", &[("seller_floor", 600u64)][..]),
    ] {
        let source = LIBRARY
            .iter()
            .find(|(n, _)| *n == contract)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("no {contract}"));
        let artifact = sotto_contracts::compile(source)
            .unwrap_or_else(|_| panic!("{contract} does not build"))
            .artifact;
        let module = sandbox
            .load_artifact(&artifact)
            .unwrap_or_else(|e| panic!("{e}"));
        let records = dir.join(contract);
        std::fs::create_dir_all(&records).unwrap_or_else(|e| panic!("{e}"));
        let keys = (0..2).map(|_| SigningKey::generate()).collect();
        let mut channel = LocalChannel::open(
            &sandbox,
            &module,
            &artifact,
            keys,
            vec![1_000_000_000, 1_000_000_000],
            private,
            &records,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut turn = 0u64;
        g.bench_function(contract, |b| {
            b.iter(|| {
                turn += 1;
                let (function, args) = match (contract, turn % 2) {
                    ("payment", 0) => ("pay_alice", vec![Value::U64(1)]),
                    ("payment", _) => ("pay_bob", vec![Value::U64(1)]),
                    _ => ("propose", vec![Value::U64(700)]),
                };
                channel
                    .step(black_box(function), args)
                    .unwrap_or_else(|e| panic!("{e}"));
            });
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, update);
criterion_main!(benches);
