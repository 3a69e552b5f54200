//! Criterion benchmarks of one channel update with every party in this
//! process, each a state machine with its own SQLite store: the cases of
//! `sotto bench channel --in-process`. Group `update`: `payment` (public
//! only, `pay_bob(1)` / `pay_alice(1)` alternately) and `negotiation`
//! (`propose(700)`, one comparison proven and verified); each iteration is
//! a whole update: run, prove, propose, re-execute, verify, accept, two
//! durable commits and signatures, completion, every message through the
//! wire encoding. `payment_backlog64`: 64 payments made at once, then run
//! until quiet (two signing rounds: one call alone, then a batch of 63).
//!
//! Group `tcp`: the same updates between two nodes in two processes over
//! loopback TCP (Noise_XK), each with its SQLite store, on anvil
//! (`sotto_engine::devnet::TwoNodes`): `payment` and `negotiation` one at
//! a time, each waited for until fully signed; `payment_backlog1000`: 1,000
//! payments queued at once. The rows of `sotto bench channel`.
//!
//! Run with `cargo bench --bench channel`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sotto_contracts::abi::Value;
use sotto_contracts::library::LIBRARY;
use sotto_engine::channel::machine::{Config, Contract};
use sotto_engine::channel::sim::Sim;
use sotto_engine::devnet::TwoNodes;
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::store::SqliteStore;

fn update(c: &mut Criterion) {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("sotto-criterion-channel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("update");
    for contract in ["payment", "negotiation"] {
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
        let cx = Contract {
            sandbox: &sandbox,
            module: &module,
            artifact: &artifact,
        };
        let mut private = vec![BTreeMap::new(), BTreeMap::new()];
        if let Some(f) = artifact
            .abi()
            .fields
            .iter()
            .position(|f| f.name == "seller_floor")
        {
            private[1].insert(u32::try_from(f).unwrap_or(u32::MAX), 600);
        }
        let stores = (0..2)
            .map(|i| SqliteStore::open(&dir.join(format!("{contract}-{i}.db"))))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut sim = Sim::open(
            cx,
            Config::default(),
            stores,
            vec![1_000_000_000, 1_000_000_000],
            private,
            1,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        if contract == "payment" {
            g.bench_function("payment_backlog64", |b| {
                b.iter(|| {
                    for _ in 0..64 {
                        sim.call(0, black_box("pay_bob"), vec![Value::U64(1)])
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    sim.run(usize::MAX);
                });
            });
        }
        let mut turn = 0u64;
        g.bench_function(contract, |b| {
            b.iter(|| {
                turn += 1;
                let (by, function, args) = match (contract, turn % 2) {
                    ("payment", 0) => (1, "pay_alice", vec![Value::U64(1)]),
                    ("payment", _) => (0, "pay_bob", vec![Value::U64(1)]),
                    _ => (1, "propose", vec![Value::U64(700)]),
                };
                sim.call(by, black_box(function), args)
                    .unwrap_or_else(|e| panic!("{e}"));
                sim.run(usize::MAX);
            });
        });
        assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn tcp(c: &mut Criterion) {
    let module = |name: &str| {
        let source = LIBRARY
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("no {name}"));
        sotto_contracts::compile(source)
            .unwrap_or_else(|_| panic!("{name} does not build"))
            .artifact
            .bytes()
            .to_vec()
    };
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pair = TwoNodes::start(&root, std::path::Path::new(env!("CARGO_BIN_EXE_sotto")))
        .unwrap_or_else(|e| panic!("{e}"));
    let pay = pair
        .open(
            &module("payment"),
            0,
            vec![1 << 40, 1 << 40],
            BTreeMap::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // Node A is the seller (party 1) with its floor (field 3) private.
    let neg = pair
        .open(
            &module("negotiation"),
            1,
            vec![1 << 40, 1 << 40],
            [(3, 600)].into(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("tcp");
    g.bench_function("payment", |b| {
        b.iter(|| {
            pair.call(&pay, black_box("pay_bob"), vec![Value::U64(1)])
                .unwrap_or_else(|e| panic!("{e}"));
        });
    });
    g.bench_function("negotiation", |b| {
        b.iter(|| {
            pair.call(&neg, black_box("propose"), vec![Value::U64(700)])
                .unwrap_or_else(|e| panic!("{e}"));
        });
    });
    g.sample_size(10);
    g.bench_function("payment_backlog1000", |b| {
        b.iter(|| pair.flood(&[pay], 1000).unwrap_or_else(|e| panic!("{e}")));
    });
    g.finish();
}

criterion_group!(benches, update, tcp);
criterion_main!(benches);
