//! Playing a scenario through the whole protocol: every party a state
//! machine with its own store, messages over the in-memory network in the
//! wire format, deposits and settlement on an [`Anchor`]
//! ([`crate::channel::sim`]). This is `sotto run --in-process`; where
//! [`crate::play`] checks a scenario against the contract alone, this
//! checks it against the agreement as parties and a chain live it.
//!
//! A step that calls runs the function at its caller's party, which proposes
//! it; the step is done when the network is quiet. An expected abort must be
//! refused by the caller's own run with exactly the scenario's reason. A
//! `wait` moves every clock and the chain's. A `crash` kills a party and
//! restarts it from its store. A `silent` party stops; another
//! party registers the latest fully signed state, waits out the challenge
//! period and finalizes; then the silent party comes back and withdraws its
//! share. A `stale` party registers an old fully signed state and stops;
//! the others refute it with the latest on their next look at the chain. A scenario that ends without a silence closes cooperatively: a
//! finished contract's final state concludes at once, otherwise a party
//! proposes a final state with the live allocation.

use std::collections::BTreeMap;

use sotto_contracts::scenario::{Expectation, Resolved, ResolvedStep};
use thiserror::Error;

use crate::anchor::{Anchor, AnchorCall, Receipt};
use crate::channel::machine::{Config, Contract, Event, MachineError};
pub use crate::channel::sim::ProofStat;
use crate::channel::{ProposeError, sim::Sim};
use crate::sandbox::{CallError, OwnerError};
use crate::state::{Signature, State};
use crate::store::Store;

/// What a run shows, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The channel is open and funded.
    Opened {
        /// The channel id.
        channel_id: [u8; 32],
    },
    /// A call went through: the new version.
    Called {
        /// 1-based step number.
        step: usize,
        /// The function.
        function: String,
        /// Its caller.
        by: String,
        /// The version it produced.
        version: u64,
        /// Whether it carried a proof (and the proof verified: otherwise
        /// the step would have failed).
        proved: bool,
    },
    /// A call was refused by its caller's own run, as expected.
    Refused {
        /// 1-based step number.
        step: usize,
        /// The function.
        function: String,
        /// The contract's reason.
        reason: String,
    },
    /// Time passed.
    Waited {
        /// Seconds.
        seconds: u64,
    },
    /// A party went silent: the others dispute.
    Silent {
        /// The party.
        party: String,
    },
    /// A party was killed and restarted: it resumed at this version.
    Crashed {
        /// The party.
        party: String,
        /// Its latest fully signed version after the restart.
        version: u64,
    },
    /// A party registered an old state on chain and went silent.
    Stale {
        /// The party.
        party: String,
        /// The old state's version.
        version: u64,
        /// The latest fully signed version, which refutes it.
        latest: u64,
    },
    /// The channel is settled on chain.
    Settled {
        /// What each party was paid.
        paid: Vec<u64>,
        /// By a dispute rather than a cooperative close.
        disputed: bool,
    },
}

/// What a run cost and produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Scenario steps played.
    pub steps: usize,
    /// The latest fully signed version.
    pub version: u64,
    /// Every proof made (and verified by every other party): its size and
    /// the time spent making and checking it.
    pub proofs: Vec<ProofStat>,
    /// Messages sent and their bytes on the wire.
    pub wire: (u64, u64),
    /// Every chain transaction: (party, call, receipt).
    pub chain: Vec<(u32, &'static str, Receipt)>,
    /// What each party was paid, from the chain's events.
    pub paid: Vec<u64>,
    /// Whether the last state was final.
    pub finished: bool,
    /// Whether the channel settled by a dispute.
    pub disputed: bool,
}

/// Where a run went differently from its scenario.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunError {
    /// The channel could not be set up.
    #[error("opening the channel: {0}")]
    Open(MachineError),
    /// A step did something other than what the scenario says.
    #[error("step {step} (`{function}`): expected {expected}, got {got}")]
    Step {
        /// 1-based step number.
        step: usize,
        /// The function.
        function: String,
        /// What the scenario says.
        expected: String,
        /// What happened.
        got: String,
    },
    /// The agreement ended otherwise than the outcome says.
    #[error("the outcome: expected {expected}, got {got}")]
    Outcome {
        /// What the scenario says.
        expected: String,
        /// What happened.
        got: String,
    },
    /// The protocol broke one of its invariants (a bug).
    #[error("the protocol broke an invariant: {0}")]
    Invariant(String),
}

/// Seconds the run lets pass at most while waiting for a settlement.
const SETTLE_LIMIT: u64 = 30 * 24 * 3600;

/// Runs `plan` over the protocol: see the module docs. `stores` (one per
/// party) and `chain` are the parties' stores and the anchor chain;
/// `progress` sees each step as it happens.
pub fn run<S: Store, A: Anchor>(
    cx: Contract<'_>,
    plan: &Resolved,
    stores: Vec<S>,
    chain: A,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report, RunError> {
    let abi = cx.artifact.abi();
    let n = abi.parties.len();
    // Private opening values, per owner.
    let mut private = vec![BTreeMap::new(); n];
    for (i, f) in abi.fields.iter().enumerate() {
        if let (Some(owner), Some(v)) = (f.owner, plan.fields.get(i))
            && let (Some(slot), Some(word), Ok(i)) = (
                private.get_mut(owner as usize),
                v.as_word(),
                u32::try_from(i),
            )
        {
            slot.insert(i, word);
        }
    }
    let config = Config::default();
    let mut sim = Sim::start_on(
        cx,
        config,
        chain,
        stores,
        plan.deposits.clone(),
        private,
        0x5077_0000,
        None,
    )
    .map_err(RunError::Open)?;
    sim.run(usize::MAX);
    check(&sim)?;
    progress(&Progress::Opened {
        channel_id: sim.params().channel_id(),
    });
    let party = |i: u32| abi.parties.get(i as usize).cloned().unwrap_or_default();
    let mut silent = None;
    let mut stale = false;
    // Every fully signed state so far, by version: what a cheating party
    // could register.
    let mut kept = Kept::new();
    // Kept only for a scenario with a `stale` step.
    let cheats = plan
        .steps
        .iter()
        .any(|s| matches!(s, ResolvedStep::Stale { .. }));
    for (k, step) in plan.steps.iter().enumerate() {
        if cheats {
            keep_signed(&sim, &mut kept);
        }
        let number = k + 1;
        match step {
            ResolvedStep::Wait(seconds) => {
                sim.advance(*seconds);
                sim.run(usize::MAX);
                progress(&Progress::Waited { seconds: *seconds });
            }
            ResolvedStep::Silent(p) => {
                sim.kill(*p);
                silent = Some(*p);
                progress(&Progress::Silent { party: party(*p) });
                break;
            }
            ResolvedStep::Crash(p) => {
                sim.kill(*p);
                sim.restart(*p);
                sim.run(usize::MAX);
                check(&sim)?;
                let Some(version) = sim.party(*p).and_then(|x| x.latest()).map(|v| v.version)
                else {
                    return Err(RunError::Invariant(format!(
                        "{} did not come back after its crash",
                        party(*p)
                    )));
                };
                progress(&Progress::Crashed {
                    party: party(*p),
                    version,
                });
            }
            ResolvedStep::Stale { party: p, version } => {
                let (state, signatures, latest) = stale_state(&kept, number, *version)?;
                let params = sim.params().clone();
                match sim
                    .chain
                    .submit(&params, &AnchorCall::Register { state, signatures })
                {
                    Ok(receipt) => sim.receipts.push((*p, "register", receipt)),
                    Err(e) => {
                        return Err(RunError::Invariant(format!(
                            "the stale registration was refused: {e}"
                        )));
                    }
                }
                sim.kill(*p);
                silent = Some(*p);
                stale = true;
                progress(&Progress::Stale {
                    party: party(*p),
                    version: *version,
                    latest,
                });
                break;
            }
            ResolvedStep::Call {
                function,
                by,
                args,
                expect,
            } => {
                let name = abi
                    .functions
                    .get(*function)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                let differs = |got: String| RunError::Step {
                    step: number,
                    function: name.clone(),
                    expected: crate::play::describe(&abi.parties, expect),
                    got,
                };
                let before = sim.events.len();
                let result = sim.call(*by, &name, args.clone());
                sim.run(usize::MAX);
                check(&sim)?;
                match (expect, result) {
                    (Expectation::Success, Ok(())) => {
                        let version = sim.events[before..].iter().find_map(|(p, e)| match e {
                            Event::Updated {
                                version, function, ..
                            } if *p == *by && *function == name => Some(*version),
                            _ => None,
                        });
                        let Some(version) = version else {
                            let why = sim.events[before..]
                                .iter()
                                .find_map(|(_, e)| match e {
                                    Event::Refused { refusal, .. } => Some(refusal.to_string()),
                                    Event::CallFailed { error, .. } => Some(error.clone()),
                                    _ => None,
                                })
                                .unwrap_or_else(|| "no update".into());
                            return Err(differs(why));
                        };
                        let proved = abi
                            .functions
                            .get(*function)
                            .is_some_and(|f| f.circuit.is_some());
                        progress(&Progress::Called {
                            step: number,
                            function: name.clone(),
                            by: party(*by),
                            version,
                            proved,
                        });
                    }
                    (Expectation::Abort(reason), Err(e))
                        if aborted(&e).is_some_and(|r| r == reason.as_str()) =>
                    {
                        progress(&Progress::Refused {
                            step: number,
                            function: name.clone(),
                            reason: reason.clone(),
                        });
                    }
                    (Expectation::Overdraw(p), Err(e)) if overdrawn(&e) == Some(*p) => {
                        progress(&Progress::Refused {
                            step: number,
                            function: name.clone(),
                            reason: e.to_string(),
                        });
                    }
                    (_, Ok(())) => return Err(differs("success".into())),
                    (_, Err(e)) => return Err(differs(e.to_string())),
                }
            }
        }
    }
    let finished = sim
        .party(0)
        .or_else(|| sim.party(1))
        .and_then(|p| p.latest())
        .is_some_and(|v| v.finished);
    let version = (0..n)
        .filter_map(|i| u32::try_from(i).ok())
        .filter_map(|i| sim.party(i).and_then(|p| p.latest()).map(|v| v.version))
        .max()
        .unwrap_or(0);
    // Settle.
    let disputed = silent.is_some();
    if let (Some(p), true) = (silent, stale) {
        // The others see the registration on their next look at the chain
        // and refute it; then the challenge period runs out.
        settle(&mut sim, config)?;
        sim.restart(p);
        sim.run(usize::MAX);
    } else if let Some(p) = silent {
        let other = (0..n)
            .filter_map(|i| u32::try_from(i).ok())
            .find(|i| *i != p)
            .unwrap_or(0);
        if let Err(e) = sim.dispute(other) {
            return Err(RunError::Invariant(format!(
                "the dispute could not start: {e}"
            )));
        }
        sim.run(usize::MAX);
        settle(&mut sim, config)?;
        sim.restart(p);
        sim.run(usize::MAX);
    } else if !finished {
        let closer = (0..n)
            .filter_map(|i| u32::try_from(i).ok())
            .find(|i| sim.party(*i).is_some())
            .unwrap_or(0);
        if let Err(e) = sim.close(closer) {
            return Err(RunError::Invariant(format!(
                "the close could not start: {e}"
            )));
        }
        sim.run(usize::MAX);
    }
    settle(&mut sim, config)?;
    check(&sim)?;
    let paid = paid_by_chain(&sim);
    progress(&Progress::Settled {
        paid: paid.clone(),
        disputed,
    });
    let report = Report {
        steps: plan.steps.len(),
        version,
        proofs: sim.proofs.clone(),
        wire: sim.wire,
        chain: sim.receipts.clone(),
        paid,
        finished,
        disputed,
    };
    check_outcome(&abi.parties, plan, &report)?;
    Ok(report)
}

/// Every fully signed state a run kept, by version: what a cheating party
/// could register.
pub type Kept = BTreeMap<u64, (State, Vec<Signature>)>;

/// The old state a `stale` step (step `number`) registers: the fully
/// signed state of `version`, with the latest version kept (which must be
/// newer, or the registration would not be stale).
pub fn stale_state(
    kept: &Kept,
    number: usize,
    version: u64,
) -> Result<(State, Vec<Signature>, u64), RunError> {
    let latest = kept.keys().next_back().copied().unwrap_or(0);
    let differs = |expected: String, got: String| RunError::Step {
        step: number,
        function: "stale".into(),
        expected,
        got,
    };
    let Some((state, signatures)) = kept.get(&version).cloned() else {
        return Err(differs(
            format!("a fully signed state of version {version}"),
            format!("versions {:?}", kept.keys().collect::<Vec<_>>()),
        ));
    };
    if version >= latest {
        return Err(differs(
            format!("a version older than the latest ({latest})"),
            format!("version {version}"),
        ));
    }
    Ok((state, signatures, latest))
}

/// Whether a run ended as its scenario says: payouts, finality, dispute.
pub fn check_outcome(parties: &[String], plan: &Resolved, report: &Report) -> Result<(), RunError> {
    let got = (&report.paid, report.finished, report.disputed);
    if got == (&plan.paid, plan.finished, plan.disputed) {
        return Ok(());
    }
    Err(RunError::Outcome {
        expected: crate::play::summary(parties, &plan.paid, plan.finished, plan.disputed),
        got: crate::play::summary(parties, &report.paid, report.finished, report.disputed),
    })
}

/// Keeps the latest fully signed state any running party holds.
fn keep_signed<S: Store, A: Anchor>(sim: &Sim<'_, S, A>, kept: &mut Kept) {
    let cx = sim.contract();
    for i in 0..sim.nodes.len() {
        let signed = u32::try_from(i)
            .ok()
            .and_then(|i| sim.party(i))
            .and_then(|p| p.latest_signed(cx).ok().flatten());
        if let Some((state, sigs)) = signed {
            kept.entry(state.version).or_insert((state, sigs));
        }
    }
}

/// Lets time pass until the channel is settled and paid out (or a month).
fn settle<S: Store, A: Anchor>(sim: &mut Sim<'_, S, A>, config: Config) -> Result<(), RunError> {
    let step = config.timeout.max(1);
    let mut waited = 0;
    while !settled(sim) && waited < SETTLE_LIMIT {
        sim.advance(step);
        sim.run(usize::MAX);
        waited += step;
    }
    check(sim)
}

/// Whether every running party is closed and the chain paid out all it
/// holds.
fn settled<S: Store, A: Anchor>(sim: &Sim<'_, S, A>) -> bool {
    let (held, paid) = sim.chain_totals();
    let held: u128 = held.iter().map(|h| u128::from(*h)).sum();
    let paid: u128 = paid.iter().map(|p| u128::from(*p)).sum();
    let closed = (0..sim.nodes.len())
        .filter_map(|i| u32::try_from(i).ok())
        .filter_map(|i| sim.party(i))
        .all(|p| p.record().phase == crate::channel::record::Phase::Closed);
    closed && paid == held
}

fn check<S: Store, A: Anchor>(sim: &Sim<'_, S, A>) -> Result<(), RunError> {
    match sim.violations().first() {
        Some(v) => Err(RunError::Invariant(v.clone())),
        None => Ok(()),
    }
}

/// What the chain paid each party, from its events.
fn paid_by_chain<S: Store, A: Anchor>(sim: &Sim<'_, S, A>) -> Vec<u64> {
    sim.chain_totals().1
}

fn aborted(e: &MachineError) -> Option<&str> {
    match e {
        MachineError::Propose(ProposeError::Call(OwnerError::Call {
            error: CallError::Aborted { reason },
            ..
        })) => Some(reason),
        _ => None,
    }
}

fn overdrawn(e: &MachineError) -> Option<u32> {
    match e {
        MachineError::Propose(ProposeError::Call(OwnerError::Call {
            error: CallError::InsufficientFunds { party, .. },
            ..
        })) => Some(*party),
        _ => None,
    }
}
