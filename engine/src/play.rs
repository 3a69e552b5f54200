//! Playing a scenario in one process: every call as its caller's node makes
//! it ([`Sandbox::call_as_owner`]), time passing, and a party's silence,
//! with no network, signatures or chain. It checks each step against what
//! the scenario expects and the end against its outcome, and says which step
//! went differently.
//!
//! This is the contract-level core of the main job (`sotto run` adds the
//! channel protocol, the transport and the anchor chain around it); tests
//! and `sotto bench` use it to drive the library contracts with realistic
//! inputs.
//!
//! The state between steps: every field (the owners' private values
//! included: in one process every party's node is at hand), the live and
//! signed allocations of the latest state, whether it is final, and the
//! time. A silence ends the play: the chain pays the signed allocation.
//! Otherwise the parties close cooperatively with the live one.

use sotto_contracts::abi::{Abi, Value};
use sotto_contracts::scenario::{Expectation, Resolved, ResolvedStep};
use thiserror::Error;

use crate::sandbox::{CallError, LoadedModule, OwnerError, OwnerInput, OwnerOutput, Sandbox};

/// One call the play made, with what it read and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayedCall {
    /// 1-based step number in the scenario.
    pub step: usize,
    /// The function's name.
    pub function: String,
    /// What the call read.
    pub input: OwnerInput,
    /// What it did: an update, or the typed error the scenario expected.
    pub result: Result<OwnerOutput, CallError>,
}

/// How a play ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// Every call, in order.
    pub calls: Vec<PlayedCall>,
    /// What each party is paid.
    pub paid: Vec<u64>,
    /// Whether the last state is final.
    pub finished: bool,
    /// Whether it ended by a party's silence.
    pub disputed: bool,
}

/// Where a play went differently from its scenario.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PlayError {
    /// A call did something other than what the step expects.
    #[error("step {step} (`{function}`): expected {expected}, got {got}")]
    Step {
        /// 1-based step number.
        step: usize,
        /// The function called.
        function: String,
        /// What the scenario says.
        expected: String,
        /// What happened.
        got: String,
    },
    /// The play ended otherwise than the outcome says.
    #[error("the outcome: expected {expected}, got {got}")]
    Outcome {
        /// What the scenario says.
        expected: String,
        /// What happened.
        got: String,
    },
}

/// Plays `plan` (resolved against `abi`, the ABI `module` was loaded with).
pub fn play(
    sandbox: &Sandbox,
    module: &LoadedModule,
    abi: &Abi,
    plan: &Resolved,
) -> Result<Played, PlayError> {
    let mut fields: Vec<Value> = plan.fields.clone();
    let mut live = plan.deposits.clone();
    let mut signed = plan.deposits.clone();
    let mut finished = false;
    let mut disputed = false;
    let mut now = 0u64;
    let mut calls = Vec::new();
    for (k, step) in plan.steps.iter().enumerate() {
        let step_number = k + 1;
        match step {
            ResolvedStep::Wait(seconds) => now = now.saturating_add(*seconds),
            // A crash changes nothing the contract sees; a stale
            // registration is refuted with the latest state.
            ResolvedStep::Crash(_) => {}
            ResolvedStep::Silent(_) | ResolvedStep::Stale { .. } => disputed = true,
            ResolvedStep::Call {
                function,
                args,
                expect,
                ..
            } => {
                let name = abi
                    .functions
                    .get(*function)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                let input = OwnerInput {
                    fields: fields.clone(),
                    args: args.clone(),
                    allocation: live.clone(),
                    now,
                };
                let outcome = sandbox.call_as_owner(module, abi, &name, &input);
                let differs = |got: String| PlayError::Step {
                    step: step_number,
                    function: name.clone(),
                    expected: describe(&abi.parties, expect),
                    got,
                };
                let result = match (expect, outcome) {
                    (Expectation::Success, Ok(out)) => {
                        fields.clone_from(&out.fields);
                        live.clone_from(&out.public.live);
                        signed.clone_from(&out.public.signed);
                        finished = out.public.finished;
                        Ok(out)
                    }
                    (Expectation::Abort(reason), Err(OwnerError::Call { error, .. })) if matches!(&error, CallError::Aborted { reason: r } if r == reason) => {
                        Err(error)
                    }
                    (Expectation::Overdraw(p), Err(OwnerError::Call { error, .. })) if matches!(&error, CallError::InsufficientFunds { party, .. } if party == p) => {
                        Err(error)
                    }
                    (_, Ok(_)) => return Err(differs("success".into())),
                    (_, Err(e)) => return Err(differs(e.to_string())),
                };
                calls.push(PlayedCall {
                    step: step_number,
                    function: name,
                    input,
                    result,
                });
            }
        }
    }
    let paid = if disputed { signed } else { live };
    let played = Played {
        calls,
        paid,
        finished,
        disputed,
    };
    let summary = |paid: &[u64], finished: bool, disputed: bool| {
        summary(&abi.parties, paid, finished, disputed)
    };
    if (&played.paid, played.finished, played.disputed)
        != (&plan.paid, plan.finished, plan.disputed)
    {
        return Err(PlayError::Outcome {
            expected: summary(&plan.paid, plan.finished, plan.disputed),
            got: summary(&played.paid, played.finished, played.disputed),
        });
    }
    Ok(played)
}

/// What a step must do, in words.
pub fn describe(parties: &[String], e: &Expectation) -> String {
    match e {
        Expectation::Success => "success".into(),
        Expectation::Abort(r) => format!("an abort with \"{r}\""),
        Expectation::Overdraw(p) => format!(
            "a transfer short of {}'s funds",
            parties.get(*p as usize).map_or("?", String::as_str)
        ),
    }
}

/// Each party's amount, in words: `alice 80, bob 70`.
pub fn amounts(parties: &[String], paid: &[u64]) -> String {
    let amounts: Vec<String> = parties
        .iter()
        .zip(paid)
        .map(|(p, a)| format!("{p} {a}"))
        .collect();
    amounts.join(", ")
}

/// How an agreement ended, in words: each party's payout, whether the
/// last state was final, whether a dispute settled it.
pub fn summary(parties: &[String], paid: &[u64], finished: bool, disputed: bool) -> String {
    format!(
        "{} ({}{})",
        amounts(parties, paid),
        if finished { "final" } else { "not final" },
        if disputed { ", settled by dispute" } else { "" }
    )
}
