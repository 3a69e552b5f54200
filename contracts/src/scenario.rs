//! Scenarios: small TOML files that say how an agreement under a contract
//! plays out, step by step, and what it must end in. Each library contract
//! ships a happy path and a dispute (`contracts/examples/NAME.*.toml`);
//! `sotto new` scaffolds one; the main job (`sotto run`) plays them.
//!
//! ```toml
//! name = "a price within both limits"
//! contract = "negotiation.sotto"      # relative to the scenario file
//! deposits = { buyer = 1000, seller = 100 }
//!
//! [private.buyer]                     # each owner's opening private values
//! buyer_limit = 800
//!
//! [[steps]]
//! call = "propose"
//! by = "seller"
//! args = { p = 500 }
//! expect = { abort = "below the seller's floor" }
//!
//! [[steps]]
//! wait = 3600                         # seconds pass
//!
//! [[steps]]
//! crash = "seller"                    # killed and restarted: resumes from its store
//!
//! [[steps]]
//! silent = "buyer"                    # the awaited party never moves again
//!
//! [outcome]
//! finished = false
//! disputed = true
//! paid = { buyer = 1000, seller = 100 }
//! ```
//!
//! Values are written as in every other sotto format (`crate::json`): a
//! `u64` as an integer or a decimal string, a `bool`, a `bytes32` as `"0x"`
//! and 64 hex digits, a party by name. A step is exactly one of a call, a
//! `wait`, a `crash`, a `silent` or a `stale`; a call expects success
//! unless it says `expect = { abort = "reason" }` or
//! `expect = { overdraw = "party" }` (a transfer finds that party's balance
//! short). A `crash` kills the party's node and restarts it: the agreement
//! goes on from what its store kept. After a `silent` step nothing more
//! happens: the chain pays the latest signed allocation. `stale = "party"`
//! (with `version = N`, default 0) has that party register the old fully
//! signed state of version N on chain and go silent; the others refute
//! with the latest, and the chain pays that. Nothing follows a `silent` or
//! a `stale`.
//!
//! [`Scenario::parse`] reads the text (typed errors with the TOML's own
//! location); [`Scenario::resolve`] checks it against a contract's ABI and
//! yields typed values, so a player never meets a name or type it does not
//! know.

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::abi::{Abi, Value};

/// A scenario as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows, in a few words.
    pub name: String,
    /// The contract's source file, relative to the scenario file.
    pub contract: String,
    /// What each party deposits when the channel opens.
    pub deposits: BTreeMap<String, serde_json::Value>,
    /// Opening values of private fields, by owner, then field.
    #[serde(default)]
    pub private: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// The steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// How it must end.
    pub outcome: Outcome,
}

/// One step as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A contract function to call.
    pub call: Option<String>,
    /// Who calls it.
    pub by: Option<String>,
    /// Its arguments by parameter name (private ones included: the caller
    /// knows them).
    #[serde(default)]
    pub args: BTreeMap<String, serde_json::Value>,
    /// What the call must do (success if absent).
    pub expect: Option<Expect>,
    /// Seconds that pass.
    pub wait: Option<u64>,
    /// A party that stays silent from here on.
    pub silent: Option<String>,
    /// A party whose node is killed and restarted.
    pub crash: Option<String>,
    /// A party that registers an old state on chain, then stays silent.
    pub stale: Option<String>,
    /// With `stale`: the old state's version (default 0, the opening
    /// state).
    pub version: Option<u64>,
}

/// What a call must do instead of succeeding: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The call aborts with exactly this reason.
    pub abort: Option<String>,
    /// A transfer of the call finds this party's balance short.
    pub overdraw: Option<String>,
}

/// What a resolved call must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// Succeed.
    Success,
    /// Abort with exactly this reason.
    Abort(String),
    /// Fail a transfer from this party (by index) for want of funds.
    Overdraw(u32),
}

/// How a scenario must end.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Whether the last state is final (a `finish` ran).
    #[serde(default)]
    pub finished: bool,
    /// Whether it ended by a party's silence (the chain paid).
    #[serde(default)]
    pub disputed: bool,
    /// What each party is paid in the end.
    pub paid: BTreeMap<String, serde_json::Value>,
}

/// A scenario checked against a contract: every name resolved, every value
/// typed. Party indices and amounts are in ABI order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The scenario's name.
    pub name: String,
    /// Deposits, one per party.
    pub deposits: Vec<u64>,
    /// Opening value of every field (private ones from the scenario, the
    /// rest from the ABI's initial values), in ABI order.
    pub fields: Vec<Value>,
    /// The steps.
    pub steps: Vec<ResolvedStep>,
    /// Must the last state be final?
    pub finished: bool,
    /// Must it end by silence?
    pub disputed: bool,
    /// What each party must be paid, in party order.
    pub paid: Vec<u64>,
}

/// A step of a [`Resolved`] scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedStep {
    /// A call.
    Call {
        /// The function's index in the ABI.
        function: usize,
        /// The caller's party index.
        by: u32,
        /// All arguments in parameter order.
        args: Vec<Value>,
        /// What it must do.
        expect: Expectation,
    },
    /// Time passes.
    Wait(u64),
    /// The party stays silent: the chain pays the latest signed allocation.
    Silent(u32),
    /// The party's node is killed and restarted.
    Crash(u32),
    /// The party registers the old fully signed state of this version and
    /// stays silent; the others refute it.
    Stale {
        /// The cheating party.
        party: u32,
        /// The old state's version.
        version: u64,
    },
}

/// Why a scenario cannot be played against a contract.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not a scenario (TOML syntax, unknown key, wrong shape).
    #[error("{0}")]
    Toml(String),
    /// A name the contract does not declare.
    #[error("{place}: the contract has no {what} `{name}`")]
    Unknown {
        /// Where in the scenario.
        place: String,
        /// Party, function, parameter, field.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A value of the wrong type or out of range.
    #[error("{place}: {reason}")]
    Value {
        /// Where in the scenario.
        place: String,
        /// What was expected and found.
        reason: String,
    },
    /// A step that is not exactly one of call, wait, crash, silent, stale; or a call
    /// without `by`, or by someone other than the function's caller.
    #[error("step {step}: {reason}")]
    Step {
        /// 1-based step number.
        step: usize,
        /// What is wrong.
        reason: String,
    },
}

impl Scenario {
    /// Reads a scenario from TOML text.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))
    }

    /// Checks the scenario against `abi`, resolving every name and value.
    pub fn resolve(&self, abi: &Abi) -> Result<Resolved, ScenarioError> {
        let party = |place: &str, name: &str| {
            abi.party(name).ok_or_else(|| ScenarioError::Unknown {
                place: place.to_owned(),
                what: "party",
                name: name.to_owned(),
            })
        };
        let amount = |place: String, v: &serde_json::Value| match crate::json::parse(
            v,
            crate::abi::ValueType::U64,
            &abi.parties,
        ) {
            Ok(Value::U64(n)) => Ok(n),
            Ok(_) => Err(ScenarioError::Value {
                place,
                reason: "expected an amount".into(),
            }),
            Err(reason) => Err(ScenarioError::Value { place, reason }),
        };
        let per_party = |what: &str, map: &BTreeMap<String, serde_json::Value>| {
            let mut out = vec![0u64; abi.parties.len()];
            for (name, v) in map {
                let p = party(what, name)?;
                out[p as usize] = amount(format!("{what}.{name}"), v)?;
            }
            Ok::<_, ScenarioError>(out)
        };
        let deposits = per_party("deposits", &self.deposits)?;
        let paid = per_party("outcome.paid", &self.outcome.paid)?;

        let mut fields: Vec<Value> = abi.fields.iter().map(|f| f.init).collect();
        for (owner, values) in &self.private {
            let o = party("private", owner)?;
            for (name, v) in values {
                let place = format!("private.{owner}.{name}");
                let Some(i) = abi
                    .fields
                    .iter()
                    .position(|f| f.name == *name && f.owner == Some(o))
                else {
                    return Err(ScenarioError::Unknown {
                        place,
                        what: "private field of that owner",
                        name: name.clone(),
                    });
                };
                fields[i] = crate::json::parse(v, abi.fields[i].ty, &abi.parties)
                    .map_err(|reason| ScenarioError::Value { place, reason })?;
            }
        }

        let mut steps = Vec::new();
        for (k, s) in self.steps.iter().enumerate() {
            let step = k + 1;
            let bad = |reason: String| ScenarioError::Step { step, reason };
            let kinds = [
                s.call.is_some(),
                s.wait.is_some(),
                s.silent.is_some(),
                s.crash.is_some(),
                s.stale.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(bad(
                    "a step is exactly one of `call` (with `by`, `args`, `expect`), `wait`, `crash`, `silent` or `stale` (with `version`)"
                        .into(),
                ));
            }
            if s.version.is_some() && s.stale.is_none() {
                return Err(bad("`version` goes with `stale` only".into()));
            }
            let bare = s.by.is_none() && s.args.is_empty() && s.expect.is_none();
            let place = format!("step {step}");
            steps.push(match (&s.call, s.wait, &s.silent) {
                (Some(call), None, None) => {
                    let Some((function, f)) = abi.function(call) else {
                        return Err(ScenarioError::Unknown {
                            place: format!("step {step}"),
                            what: "function",
                            name: call.clone(),
                        });
                    };
                    let Some(by) = &s.by else {
                        return Err(bad(format!("who calls `{call}`? add `by = \"...\"`")));
                    };
                    let by = party(&format!("step {step}"), by)?;
                    if by != f.caller {
                        return Err(bad(format!(
                            "`{call}` is called by {}, not {}",
                            abi.parties[f.caller as usize], abi.parties[by as usize]
                        )));
                    }
                    if let Some(extra) = s.args.keys().find(|a| !f.params.iter().any(|p| p.name == **a)) {
                        return Err(ScenarioError::Unknown {
                            place: format!("step {step}"),
                            what: "parameter",
                            name: extra.clone(),
                        });
                    }
                    let args = f
                        .params
                        .iter()
                        .map(|p| {
                            let place = format!("step {step}, argument `{}`", p.name);
                            let v = s.args.get(&p.name).ok_or_else(|| ScenarioError::Value {
                                place: place.clone(),
                                reason: "missing".into(),
                            })?;
                            crate::json::parse(v, p.ty, &abi.parties)
                                .map_err(|reason| ScenarioError::Value { place, reason })
                        })
                        .collect::<Result<_, _>>()?;
                    let expect = match s.expect.as_ref().map(|e| (&e.abort, &e.overdraw)) {
                        None => Expectation::Success,
                        Some((Some(reason), None)) => Expectation::Abort(reason.clone()),
                        Some((None, Some(p))) => {
                            Expectation::Overdraw(party(&format!("step {step}"), p)?)
                        }
                        Some(_) => {
                            return Err(bad(
                                "`expect` is exactly one of `abort = \"reason\"` or `overdraw = \"party\"`".into(),
                            ));
                        }
                    };
                    ResolvedStep::Call {
                        function,
                        by,
                        args,
                        expect,
                    }
                }
                (None, Some(seconds), None) if bare => ResolvedStep::Wait(seconds),
                (None, None, Some(p)) if bare => ResolvedStep::Silent(party(&place, p)?),
                (None, None, None) if bare => match (&s.crash, &s.stale) {
                    (Some(p), None) => ResolvedStep::Crash(party(&place, p)?),
                    (None, Some(p)) => ResolvedStep::Stale {
                        party: party(&place, p)?,
                        version: s.version.unwrap_or(0),
                    },
                    _ => return Err(bad("a step is exactly one kind".into())),
                },
                _ => {
                    return Err(bad(
                        "only a `call` takes `by`, `args` and `expect`".into(),
                    ));
                }
            });
        }
        if let Some(k) = steps
            .iter()
            .position(|s| matches!(s, ResolvedStep::Silent(_) | ResolvedStep::Stale { .. }))
            .filter(|&k| k + 1 != steps.len())
        {
            return Err(ScenarioError::Step {
                step: k + 2,
                reason: "nothing can follow a `silent` or `stale` step: the chain has paid".into(),
            });
        }
        Ok(Resolved {
            name: self.name.clone(),
            deposits,
            fields,
            steps,
            finished: self.outcome.finished,
            disputed: self.outcome.disputed,
            paid,
        })
    }
}
