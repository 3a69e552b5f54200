//! The protocol on the embedded EVM (the adjudicator's real bytecode):
//! every library scenario reaches its outcome there; what the chain sees
//! of a negotiation holds no contract bytes, no private value and no public
//! contract state beyond the 32-byte commitment; and a channel's on-chain
//! footprint is the same after 1 and after 10,000 off-chain updates.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sotto_contracts::abi::Value;
use sotto_contracts::compile;
use sotto_contracts::scenario::Scenario;
use sotto_engine::anchor::{AnchorCall, EmbeddedChain};
use sotto_engine::channel::machine::{Config, Contract};
use sotto_engine::channel::sim::Sim;
use sotto_engine::run::run;
use sotto_engine::sandbox::{Sandbox, SandboxConfig};
use sotto_engine::store::MemoryStore;

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/examples");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

fn library(name: &str) -> sotto_contracts::Artifact {
    let (_, source) = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    compile(source).unwrap().artifact
}

#[test]
fn every_library_scenario_settles_on_the_embedded_chain() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    for path in scenarios() {
        let what = path.display().to_string();
        let scenario = Scenario::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let source =
            std::fs::read_to_string(path.parent().unwrap().join(&scenario.contract)).unwrap();
        let artifact = compile(&source).unwrap().artifact;
        let plan = scenario.resolve(artifact.abi()).unwrap();
        let module = sandbox.load_artifact(&artifact).unwrap();
        let cx = Contract {
            sandbox: &sandbox,
            module: &module,
            artifact: &artifact,
        };
        let chain = EmbeddedChain::with_genesis(31337, 0).unwrap();
        let stores = (0..artifact.abi().parties.len())
            .map(|_| MemoryStore::new())
            .collect();
        let report =
            run(cx, &plan, stores, chain, &mut |_| {}).unwrap_or_else(|e| panic!("{what}: {e}"));
        // Real gas for every transaction.
        assert!(
            report
                .chain
                .iter()
                .all(|(_, _, r)| r.gas.is_some_and(|g| g > 21_000)),
            "{what}"
        );
    }
}

/// Every `len`-byte window of `needle` that occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

#[test]
fn the_chain_sees_no_contract_code_no_private_value_and_no_public_state() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let artifact = library("negotiation");
    let module = sandbox.load_artifact(&artifact).unwrap();
    let cx = Contract {
        sandbox: &sandbox,
        module: &module,
        artifact: &artifact,
    };
    let field = |name: &str| {
        u32::try_from(
            artifact
                .abi()
                .fields
                .iter()
                .position(|f| f.name == name)
                .unwrap(),
        )
        .unwrap()
    };
    // Values chosen to collide with nothing else the chain must see.
    let (limit, floor, price) = (777_777u64, 600_013u64, 700_001u64);
    let chain = EmbeddedChain::new(31337).unwrap();
    let mut sim = Sim::start_on(
        cx,
        Config::default(),
        chain,
        vec![MemoryStore::new(), MemoryStore::new()],
        vec![1_000_000, 100],
        vec![
            [(field("buyer_limit"), limit)].into(),
            [(field("seller_floor"), floor)].into(),
        ],
        7,
        None,
    )
    .unwrap();
    sim.run(usize::MAX);
    sim.call(1, "propose", vec![Value::U64(price)]).unwrap();
    sim.run(usize::MAX);
    sim.call(0, "accept", vec![]).unwrap();
    sim.run(usize::MAX);
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    let kinds: Vec<&str> = sim.receipts.iter().map(|(_, c, _)| *c).collect();
    assert_eq!(kinds, ["deposit", "deposit", "conclude"]);
    let params = sim.params().clone();
    let mut seen = Vec::new();
    for (_, call) in &sim.calls {
        seen.extend(EmbeddedChain::calldata(&params, call));
        if let AnchorCall::Conclude { state, .. } = call {
            // The state's contents reach the chain only as its commitment.
            assert_eq!(state.allocation, vec![1_000_000 - price, 100 + price]);
        }
    }
    // No contract bytes: no 16-byte window of the module (leaving out
    // windows too plain to mean anything, such as runs of zeros, which
    // ABI encoding is full of).
    let code = artifact.bytes();
    let mut checked = 0;
    for w in code.windows(16).step_by(4) {
        let distinct: std::collections::BTreeSet<u8> = w.iter().copied().collect();
        if distinct.len() < 6 {
            continue;
        }
        checked += 1;
        assert!(
            !contains(&seen, w),
            "contract bytes reach the chain: {w:02x?}"
        );
    }
    assert!(checked > 50, "only {checked} windows checked");
    // No private value, no public contract state (the price), in any
    // encoding.
    for v in [limit, floor, price] {
        assert!(!contains(&seen, &word(v)), "{v} as a word");
        assert!(!contains(&seen, &v.to_be_bytes()), "{v} big-endian");
        assert!(!contains(&seen, &v.to_le_bytes()), "{v} little-endian");
    }
    // The events: deposits, the settlement, the payouts, nothing else.
    let id = params.channel_id();
    let (events, _) = sotto_engine::anchor::Anchor::events(&mut sim.chain, &id, 0).unwrap();
    for e in &events {
        let text = format!("{e:?}");
        for v in [limit, floor, price] {
            assert!(!text.contains(&v.to_string()), "{v} in {text}");
        }
    }
}

/// (call, calldata bytes, gas) of every chain transaction of a payment
/// channel after `updates` off-chain updates, closed cooperatively.
fn footprint(updates: u64) -> Vec<(&'static str, u64, u64)> {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let artifact = library("payment");
    let module = sandbox.load_artifact(&artifact).unwrap();
    let cx = Contract {
        sandbox: &sandbox,
        module: &module,
        artifact: &artifact,
    };
    let mut sim = Sim::start_on(
        cx,
        Config::default(),
        EmbeddedChain::new(31337).unwrap(),
        vec![MemoryStore::new(), MemoryStore::new()],
        vec![1_000_000, 1_000_000],
        vec![BTreeMap::new(), BTreeMap::new()],
        11,
        None,
    )
    .unwrap();
    sim.run(usize::MAX);
    // Calls queue and go out in batches: thousands of updates in seconds.
    for k in 0..updates {
        let (by, f) = if k % 2 == 0 {
            (0, "pay_bob")
        } else {
            (1, "pay_alice")
        };
        sim.call(by, f, vec![Value::U64(1)]).unwrap();
        if k % 64 == 63 {
            sim.run(usize::MAX);
        }
    }
    sim.run(usize::MAX);
    assert_eq!(sim.party(0).unwrap().latest().unwrap().version, updates);
    sim.close(0).unwrap();
    sim.run(usize::MAX);
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    sim.receipts
        .iter()
        .map(|(_, c, r)| (*c, r.calldata_bytes.unwrap(), r.gas.unwrap()))
        .collect()
}

#[test]
fn the_on_chain_footprint_does_not_grow_with_off_chain_updates() {
    let one = footprint(1);
    let many = footprint(10_000);
    let shape = |f: &[(&'static str, u64, u64)]| -> Vec<(&'static str, u64)> {
        f.iter().map(|(c, b, _)| (*c, *b)).collect()
    };
    // The same transactions with the same calldata sizes.
    assert_eq!(shape(&one), shape(&many));
    // Gas differs only by calldata's price of nonzero bytes (the version
    // number and the allocation's digits): within 16 gas per calldata byte
    // that can differ, here a few dozen.
    for ((c, _, g1), (_, _, g2)) in one.iter().zip(&many) {
        assert!(g1.abs_diff(*g2) <= 400, "{c}: {g1} vs {g2}");
    }
}
