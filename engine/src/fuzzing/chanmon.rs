//! The `chanmon` fuzz body, after LDK's `chanmon_consistency`: the input
//! drives two or three parties of one channel ([`crate::channel::sim`])
//! through arbitrary interleavings of calls, reveals, closes, message
//! deliveries, drops and reorderings, kills, restarts, crashes at chosen
//! steps and the passing of time. Then everyone restarts and reconnects and
//! every message is delivered, and the body asserts:
//!
//! - no panic anywhere (the machine, the wire format, the stores);
//! - no party ever released two signatures for one version, and the chain
//!   never paid out more than it held (the harness's invariants);
//! - every fully signed state a party holds pays out exactly the deposits;
//! - nothing is stuck: every running party is idle and all agree on the
//!   latest fully signed state; or, where delivery alone cannot resolve it,
//!   the timeouts lead to a dispute that settles the channel, every deposit
//!   paid out.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sotto_contracts::Artifact;
use sotto_contracts::abi::{Value, ValueType};

use crate::channel::machine::{Config, Contract, Step};
use crate::channel::sim::{Crash, Sim};
use crate::sandbox::{LoadedModule, Sandbox, SandboxConfig};
use crate::store::MemoryStore;

/// A library contract, compiled and loaded once per process.
struct Loaded {
    sandbox: Sandbox,
    artifact: Artifact,
    module: LoadedModule,
}

fn load(name: &str) -> Option<Loaded> {
    let (_, source) = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(n, _)| *n == name)?;
    let artifact = sotto_contracts::compile(source).ok()?.artifact;
    let sandbox = Sandbox::new(SandboxConfig::default()).ok()?;
    let module = sandbox.load_artifact(&artifact).ok()?;
    Some(Loaded {
        sandbox,
        artifact,
        module,
    })
}

fn contracts() -> &'static [Option<Loaded>; 2] {
    static CONTRACTS: OnceLock<[Option<Loaded>; 2]> = OnceLock::new();
    CONTRACTS.get_or_init(|| [load("payment"), load("auction")])
}

/// The request timeout: long against the small steps of time the input
/// takes, so that most runs stay open and some end in disputes.
const CONFIG: Config = Config {
    timeout: 600,
    max_skew: 300,
};

/// Reads one byte, or 0 when the input is spent.
fn byte(data: &[u8], at: &mut usize) -> u8 {
    let b = data.get(*at).copied().unwrap_or(0);
    *at += 1;
    b
}

/// The body: see the module docs. Panics on a broken invariant.
pub fn chanmon(data: &[u8]) {
    let mut at = 0;
    let which = usize::from(byte(data, &mut at) % 2);
    let Some(c) = &contracts()[which] else {
        panic!("the library contract does not build");
    };
    let cx = Contract {
        sandbox: &c.sandbox,
        module: &c.module,
        artifact: &c.artifact,
    };
    let abi = c.artifact.abi();
    let n = abi.parties.len();
    let deposits = vec![100; n];
    let stores = (0..n).map(|_| MemoryStore::new()).collect();
    let private = vec![BTreeMap::new(); n];
    let seed = u64::from(byte(data, &mut at));
    let Ok(mut sim) = Sim::start(cx, CONFIG, stores, deposits, private, seed, None) else {
        panic!("the channel does not start");
    };
    let party = |b: u8| u32::from(b) % u32::try_from(n).unwrap_or(1);
    let mut ops = 0;
    while at < data.len() && ops < 200 {
        ops += 1;
        let op = byte(data, &mut at);
        let arg = byte(data, &mut at);
        match op % 12 {
            0 | 1 => {
                // A call by its caller, with small arguments.
                let Some(f) = abi
                    .functions
                    .get(usize::from(arg) % abi.functions.len().max(1))
                else {
                    continue;
                };
                let args: Vec<Value> = f
                    .params
                    .iter()
                    .map(|p| {
                        let b = byte(data, &mut at);
                        match p.ty {
                            ValueType::U64 => Value::U64(u64::from(b % 50)),
                            ValueType::Bool => Value::Bool(b % 2 == 1),
                            ValueType::Bytes32 => Value::Bytes32([b; 32]),
                            ValueType::Party => Value::Party(party(b)),
                        }
                    })
                    .collect();
                let _ = sim.call(f.caller, &f.name.clone(), args);
            }
            2..=4 => {
                // Deliver one: often the oldest, sometimes any (reordering).
                if !sim.network.is_empty() {
                    let k = if op % 12 == 4 {
                        usize::from(arg) % sim.network.len()
                    } else {
                        0
                    };
                    sim.deliver(k);
                }
            }
            5 => {
                if !sim.network.is_empty() {
                    let k = usize::from(arg) % sim.network.len();
                    sim.drop_message(k);
                }
            }
            6 => sim.kill(party(arg)),
            7 => sim.restart(party(arg)),
            8 => {
                let step = Step::ALL[usize::from(arg) % Step::ALL.len()];
                let how = Crash::ALL[usize::from(byte(data, &mut at)) % Crash::ALL.len()];
                sim.crash_at(party(byte(data, &mut at)), step, how);
            }
            9 => sim.advance(u64::from(arg % 32)),
            10 => {
                let p = party(arg);
                let field = abi
                    .fields
                    .iter()
                    .position(|f| f.owner == Some(p))
                    .and_then(|i| u32::try_from(i).ok());
                if let Some(field) = field {
                    let _ = sim.reveal(p, field);
                }
            }
            _ => {
                let _ = sim.close(party(arg));
            }
        }
        sim.run(usize::from(byte(data, &mut at) % 4));
    }
    // Deliver everything: restart the dead, reconnect everyone, repeat.
    let heal = |sim: &mut Sim<'_, MemoryStore>| {
        for _ in 0..3 {
            sim.restart_all();
            sim.run(100_000);
            for i in 0..n {
                sim.reconnect(u32::try_from(i).unwrap_or(0));
            }
            sim.run(100_000);
        }
    };
    heal(&mut sim);
    let settled = if sim.converged() {
        false
    } else {
        // What delivery alone cannot resolve (a proposer that signed a
        // proposal its peer can no longer accept: it restarted and the
        // proposal's time is now too far from its clock) the timeouts do:
        // a dispute, the challenge period, settlement.
        let period = sim.params().challenge_period;
        let mut waited = 0;
        while waited < CONFIG.timeout * 3 + period {
            sim.advance(CONFIG.timeout / 4);
            heal(&mut sim);
            waited += CONFIG.timeout / 4;
        }
        true
    };
    assert_eq!(sim.violations(), &[] as &[String], "an invariant broke");
    for i in 0..n {
        let i = u32::try_from(i).unwrap_or(0);
        if let Some(v) = sim.party(i).and_then(|p| p.latest()) {
            let total: u128 = v.signed.iter().map(|a| u128::from(*a)).sum();
            assert_eq!(total, v.deposits, "party {i}'s latest state creates money");
        }
    }
    if settled {
        let id = sim.params().channel_id();
        for i in 0..n {
            let i = u32::try_from(i).unwrap_or(0);
            if let Some(p) = sim.party(i) {
                assert_eq!(
                    p.record().phase,
                    crate::channel::record::Phase::Closed,
                    "party {i} is neither in step with the others nor settled"
                );
            }
        }
        let paid: u64 = sim.chain.paid(&id).iter().sum();
        let held: u64 = sim.chain.deposits(&id).iter().sum();
        assert_eq!(
            paid, held,
            "a settled channel did not pay out every deposit"
        );
    }
}
