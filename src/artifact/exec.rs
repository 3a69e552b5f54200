//! `sotto exec ARTIFACT FUNCTION`: runs one function of a built contract in
//! the sandbox, locally, as its caller, and prints what the call produced.
//!
//! The state comes from `--state FILE`, JSON of the form
//! `{"fields": {NAME: VALUE, ...}, "allocation": {PARTY: AMOUNT, ...}}`
//! (both keys optional; a field not given starts at its ABI initial value,
//! a party not given has 0), then `--allocation` overrides amounts party by
//! party. `--args` gives every parameter, public or private, by name. Values
//! are JSON as [`sotto_contracts::json`] describes.
//!
//! A function with a circuit runs in two parts, as its caller would run it
//! in a channel update: the witness part, then the public part with the
//! values it revealed ([`Sandbox::call_as_owner`], which this command is a
//! front end of).
//!
//! Only the caller may call, and the caller owns every private value the
//! function reads or writes; that is the only reason this command prints
//! private values, and it prints only the caller's. The proof itself is not
//! made: `sotto inspect` gives its size.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use serde_json::{Map, Value as Json, json};
use sotto_contracts::Artifact;
use sotto_contracts::abi::{Abi, Function};
use sotto_engine::sandbox::{
    CallError, CallOutput, OwnerError, OwnerInput, Part, Sandbox, SandboxConfig, Value, ValueType,
};

use crate::usage;
use sotto_contracts::json::{parse, party_name, show, to_json};

/// `sotto exec ARTIFACT FUNCTION [options]`
#[derive(Debug, Args)]
#[command(
    after_help = "Values are JSON: a u64 as a number or a decimal string, a bool as \
    true or false, a bytes32 as \"0x\" and 64 hex digits, a party by its name.\n\
    A function that touches private values runs its witness part first, as its caller \
    would; only the caller's own private values are printed.\n\
    Exit code: 1 if the call fails (or a file is unreadable), 2 for a mistake in the \
    arguments."
)]
pub(crate) struct ExecArgs {
    /// The artifact (`sotto build` writes it).
    artifact: PathBuf,
    /// The function to call.
    function: String,
    /// The state to call from: JSON `{"fields": {NAME: VALUE}, "allocation":
    /// {PARTY: AMOUNT}}` [default: every field at its initial value, every
    /// allocation 0].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The arguments, every parameter by name: `{"amount": 30}`.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    args: String,
    /// The party calling; must be the function's caller [default: the caller].
    #[arg(long = "as", value_name = "PARTY")]
    as_party: Option<String>,
    /// The time agreed for the call, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    now: u64,
    /// Amounts per party, over the state's: `{"alice": 100, "bob": 100}`.
    #[arg(long, value_name = "JSON")]
    allocation: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Everything a call reads, by ABI index.
struct State {
    /// Every field's value, public and private, in ABI order.
    fields: Vec<Value>,
    /// One amount per party.
    allocation: Vec<u64>,
}

/// What a successful call produced.
struct Run {
    public: CallOutput,
    /// Fuel of the witness part, for a function with a circuit.
    witness_fuel: Option<u64>,
    /// The caller's private fields after the call: (field index, value).
    private: Vec<(usize, Value)>,
}

/// Why a call failed: the sandbox's error, or a witness part whose result
/// does not fit the ABI.
enum Failure {
    Call(Part, CallError),
    Witness(String),
}

/// Runs the function and prints its result or its typed error.
pub(crate) fn run(args: &ExecArgs) -> Result<()> {
    let artifact = super::read_artifact(&args.artifact)?;
    let abi = artifact.abi();
    let Some((_, function)) = abi.function(&args.function) else {
        let names: Vec<&str> = abi.functions.iter().map(|f| f.name.as_str()).collect();
        return Err(usage!(
            "contract `{}` has no function `{}` (functions: {})",
            abi.name,
            args.function,
            names.join(", ")
        ));
    };
    check_caller(abi, function, args.as_party.as_deref())?;
    let mut state = State {
        fields: abi.fields.iter().map(|f| f.init).collect(),
        allocation: vec![0; abi.parties.len()],
    };
    if let Some(path) = &args.state {
        read_state(abi, path, &mut state)?;
    }
    if let Some(text) = &args.allocation {
        parse_json(text)
            .and_then(|json| apply_allocation(abi, &json, &mut state.allocation))
            .map_err(|e| usage!("--allocation: {e}"))?;
    }
    let values = parse_json(&args.args)
        .and_then(|json| parse_args(abi, function, &json))
        .map_err(|e| usage!("--args: {e}"))?;

    let sandbox = Sandbox::new(SandboxConfig::default()).context("cannot start the sandbox")?;
    let module = sandbox
        .load_artifact(&artifact)
        .with_context(|| format!("the sandbox refuses {}", args.artifact.display()))?;
    let outcome = sandbox
        .call_as_owner(
            &module,
            abi,
            &function.name,
            &OwnerInput {
                fields: state.fields.clone(),
                args: values,
                allocation: state.allocation.clone(),
                now: args.now,
            },
        )
        .map(|out| Run {
            witness_fuel: out.witness.as_ref().map(|w| w.fuel_used),
            // The caller's private fields: it owns them, so it may see them.
            private: abi
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.owner == Some(function.caller))
                .filter_map(|(i, _)| Some((i, *out.fields.get(i)?)))
                .collect(),
            public: out.public,
        })
        .map_err(|e| match e {
            OwnerError::Call { part, error } => Failure::Call(part, error),
            other => Failure::Witness(other.to_string()),
        });
    match outcome {
        Ok(run) => {
            let report = Report {
                artifact: &artifact,
                function,
                run: &run,
            };
            if args.json {
                super::print_json(&report.json())
            } else {
                super::print(&report.text())
            }
        }
        Err(failure) => {
            let (part, message) = match &failure {
                Failure::Call(part, e) => (*part, error_message(abi, e)),
                Failure::Witness(m) => (Part::Witness, m.clone()),
            };
            if args.json {
                let error = match &failure {
                    Failure::Call(_, e) => error_json(abi, e),
                    Failure::Witness(m) => json!({ "kind": "witness_output", "message": m }),
                };
                let out = json!({
                    "ok": false,
                    "function": function.name,
                    "caller": party_name(function.caller, &abi.parties),
                    "part": part.name(),
                    "error": error,
                });
                super::print_json(&out)?;
            }
            match part {
                Part::Witness => bail!("`{}` failed in its witness part: {message}", function.name),
                Part::Public => bail!("`{}` failed: {message}", function.name),
            }
        }
    }
}

/// `--as PARTY` must name the function's caller.
fn check_caller(abi: &Abi, function: &Function, as_party: Option<&str>) -> Result<()> {
    let Some(name) = as_party else {
        return Ok(());
    };
    let Some(party) = abi.party(name) else {
        return Err(usage!(
            "--as: no party `{name}` in this contract (parties: {})",
            abi.parties.join(", ")
        ));
    };
    if party != function.caller {
        return Err(usage!(
            "--as {name}: only {} may call `{}`",
            party_name(function.caller, &abi.parties),
            function.name
        ));
    }
    Ok(())
}

/// Reads `--state FILE` over the initial state.
fn read_state(abi: &Abi, path: &Path, state: &mut State) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read state file {}", path.display()))?;
    let in_file = |e: String| anyhow!("state file {}: {e}", path.display());
    let json = parse_json(&text).map_err(in_file)?;
    let Json::Object(map) = json else {
        return Err(in_file(format!(
            "expected an object with \"fields\" and \"allocation\", found {}",
            kind(&json)
        )));
    };
    for (key, value) in &map {
        match key.as_str() {
            "fields" => apply_fields(abi, value, &mut state.fields).map_err(in_file)?,
            "allocation" => apply_allocation(abi, value, &mut state.allocation).map_err(in_file)?,
            other => {
                return Err(in_file(format!(
                    "unknown key `{other}` (expected \"fields\" and \"allocation\")"
                )));
            }
        }
    }
    Ok(())
}

fn parse_json(text: &str) -> Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
}

/// The JSON object `json`, or an error naming what it is instead.
fn object<'a>(json: &'a Json, what: &str) -> Result<&'a Map<String, Json>, String> {
    json.as_object()
        .ok_or_else(|| format!("{what}: expected an object, found {}", kind(json)))
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Sets fields by name from a JSON object.
fn apply_fields(abi: &Abi, json: &Json, fields: &mut [Value]) -> Result<(), String> {
    for (name, value) in object(json, "\"fields\"")? {
        let Some((index, field)) = abi.fields.iter().enumerate().find(|(_, f)| &f.name == name)
        else {
            let names: Vec<&str> = abi.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(format!(
                "no field `{name}` in contract `{}` (fields: {})",
                abi.name,
                names.join(", ")
            ));
        };
        let value =
            parse(value, field.ty, &abi.parties).map_err(|e| format!("field `{name}`: {e}"))?;
        if let Some(slot) = fields.get_mut(index) {
            *slot = value;
        }
    }
    Ok(())
}

/// Sets amounts by party name from a JSON object; the total must fit a u64.
fn apply_allocation(abi: &Abi, json: &Json, allocation: &mut [u64]) -> Result<(), String> {
    for (name, amount) in object(json, "the allocation")? {
        let Some(party) = abi
            .party(name)
            .and_then(|p| usize::try_from(p).ok())
            .filter(|p| *p < allocation.len())
        else {
            return Err(format!(
                "no party `{name}` in this contract (parties: {})",
                abi.parties.join(", ")
            ));
        };
        let Value::U64(amount) = parse(amount, ValueType::U64, &abi.parties)
            .map_err(|e| format!("the amount of {name}: {e}"))?
        else {
            return Err(format!("the amount of {name} is not a u64"));
        };
        allocation[party] = amount;
    }
    if allocation
        .iter()
        .try_fold(0u64, |acc, a| acc.checked_add(*a))
        .is_none()
    {
        return Err("the amounts add up to more than a u64 can hold".to_owned());
    }
    Ok(())
}

/// Every parameter of `function`, public and private, by name; in order.
fn parse_args(abi: &Abi, function: &Function, json: &Json) -> Result<Vec<Value>, String> {
    let map = object(json, "the arguments")?;
    let signature = || function.signature();
    if let Some(unknown) = map
        .keys()
        .find(|k| !function.params.iter().any(|p| &&p.name == k))
    {
        return Err(format!(
            "`{}` has no parameter `{unknown}`: {}",
            function.name,
            signature()
        ));
    }
    function
        .params
        .iter()
        .map(|p| {
            let json = map
                .get(&p.name)
                .ok_or_else(|| format!("missing argument `{}` of {}", p.name, signature()))?;
            parse(json, p.ty, &abi.parties).map_err(|e| format!("`{}`: {e}", p.name))
        })
        .collect()
}

/// A call's error in words, naming parties by name.
fn error_message(abi: &Abi, e: &CallError) -> String {
    match e {
        CallError::InsufficientFunds {
            import,
            party,
            balance,
            amount,
        } => format!(
            "insufficient funds: `{import}` of {amount} from {}, who has {balance}",
            party_name(*party, &abi.parties)
        ),
        other => other.to_string(),
    }
}

/// A call's error as JSON: a `kind`, its details, and the message.
fn error_json(abi: &Abi, e: &CallError) -> Json {
    let mut out = match e {
        CallError::OutOfFuel { budget } => json!({ "kind": "out_of_fuel", "budget": budget }),
        CallError::OutOfMemory {
            requested_pages,
            budget_pages,
        } => json!({
            "kind": "out_of_memory",
            "requested_pages": requested_pages,
            "budget_pages": budget_pages,
        }),
        CallError::StackExhausted => json!({ "kind": "stack_exhausted" }),
        CallError::Aborted { reason } => json!({ "kind": "aborted", "reason": reason }),
        CallError::InsufficientFunds {
            import,
            party,
            balance,
            amount,
        } => json!({
            "kind": "insufficient_funds",
            "import": import,
            "party": party_name(*party, &abi.parties),
            "balance": balance,
            "amount": amount,
        }),
        CallError::HostCall(h) => json!({
            "kind": "host_call",
            "import": h.import,
            "argument": h.argument,
            "reason": format!("{:?}", h.reason),
        }),
        CallError::Trap { kind } => json!({ "kind": "trap", "trap": kind }),
        _ => json!({ "kind": "other" }),
    };
    if let Some(map) = out.as_object_mut() {
        map.insert("message".to_owned(), Json::from(error_message(abi, e)));
    }
    out
}

/// A successful call, ready to print.
struct Report<'a> {
    artifact: &'a Artifact,
    function: &'a Function,
    run: &'a Run,
}

impl Report<'_> {
    /// (name, value) of each public field after the call.
    fn public_fields(&self) -> Vec<(&str, Value)> {
        self.artifact
            .abi()
            .fields
            .iter()
            .filter(|f| f.owner.is_none())
            .map(|f| f.name.as_str())
            .zip(self.run.public.fields.iter().copied())
            .collect()
    }

    /// (name, value) of each of the caller's private fields after the call.
    fn private_fields(&self) -> Vec<(&str, Value)> {
        let fields = &self.artifact.abi().fields;
        self.run
            .private
            .iter()
            .filter_map(|(i, v)| Some((fields.get(*i)?.name.as_str(), *v)))
            .collect()
    }

    /// (name, value) of each public input, named as in the program.
    fn public_inputs(&self) -> Vec<(String, u64)> {
        let names = self
            .artifact
            .program(self.function)
            .map(|p| p.publics().to_vec())
            .unwrap_or_default();
        self.run
            .public
            .public_inputs
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = names.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
                (name, *v)
            })
            .collect()
    }

    fn text(&self) -> String {
        let parties = &self.artifact.abi().parties;
        let out = &self.run.public;
        let mut text = format!(
            "called {} as {}\n",
            self.function.name,
            party_name(self.function.caller, parties)
        );
        let mut section = |title: &str, lines: Vec<String>| {
            if lines.is_empty() {
                return;
            }
            text.push_str(title);
            text.push_str(":\n");
            for line in lines {
                text.push_str("  ");
                text.push_str(&line);
                text.push('\n');
            }
        };
        let show_all = |items: Vec<(&str, Value)>| {
            items
                .into_iter()
                .map(|(name, v)| format!("{name}: {}", show(&v, parties)))
                .collect::<Vec<_>>()
        };
        section("fields", show_all(self.public_fields()));
        section(
            &format!(
                "private fields (yours, {})",
                party_name(self.function.caller, parties)
            ),
            show_all(self.private_fields()),
        );
        section(
            "allocation (live, signed)",
            parties
                .iter()
                .zip(out.live.iter().zip(&out.signed))
                .map(|(p, (live, signed))| format!("{p}: {live}, {signed}"))
                .collect(),
        );
        section(
            "public inputs",
            self.public_inputs()
                .into_iter()
                .map(|(name, v)| format!("{name}: {v}"))
                .collect(),
        );
        let awaited = out
            .awaited
            .map_or_else(|| "nobody".to_owned(), |p| party_name(p, parties));
        text.push_str(&format!("awaits: {awaited}\n"));
        text.push_str(&format!("finished: {}\n", out.finished));
        match self.run.witness_fuel {
            None => text.push_str(&format!("fuel used: {}\n", out.fuel_used)),
            Some(w) => text.push_str(&format!(
                "fuel used: {} (witness part: {w})\n",
                out.fuel_used
            )),
        }
        text
    }

    fn json(&self) -> Json {
        let parties = &self.artifact.abi().parties;
        let out = &self.run.public;
        let object = |items: Vec<(&str, Value)>| {
            items
                .into_iter()
                .map(|(name, v)| (name.to_owned(), to_json(&v, parties)))
                .collect::<Map<String, Json>>()
        };
        let amounts = |amounts: &[u64]| {
            parties
                .iter()
                .zip(amounts)
                .map(|(p, a)| (p.clone(), Json::from(*a)))
                .collect::<Map<String, Json>>()
        };
        json!({
            "ok": true,
            "function": self.function.name,
            "caller": party_name(self.function.caller, parties),
            "fields": object(self.public_fields()),
            "private_fields": object(self.private_fields()),
            "live": amounts(&out.live),
            "signed": amounts(&out.signed),
            "awaited": out.awaited.map(|p| party_name(p, parties)),
            "finished": out.finished,
            "public_inputs": self.public_inputs().into_iter().map(|(name, value)| json!({
                "name": name,
                "value": value,
            })).collect::<Vec<_>>(),
            "fuel_used": out.fuel_used,
            "witness_fuel_used": self.run.witness_fuel,
        })
    }
}
