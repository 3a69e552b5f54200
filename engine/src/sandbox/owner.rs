//! A call as its caller's node makes it: the whole function, private values
//! included.
//!
//! A function that touches private values runs in two parts (docs/abi.md,
//! "Running a function that touches private values"):
//!
//! 1. the witness part `witness.NAME`, over the circuit's variables: inputs
//!    from the caller's private arguments and fields, outputs left at 0, and
//!    each reveal argument 0. It checks every requirement (so the caller sees
//!    the contract's own reason before anything is proven), computes the new
//!    private values, and sets every public input, the revealed values
//!    among them;
//! 2. the public part `call.NAME`, with each reveal argument set to the
//!    public input the witness part computed for it. This is the part every
//!    other party re-executes.
//!
//! [`Sandbox::call_as_owner`] runs both and returns the update: the public
//! part's output, the function's new field values (public from the public
//! part, the caller's private ones from the witness part), and the witness
//! part's variables and public inputs, which the proof is made over. It
//! refuses a witness result that does not fit the ABI, and public inputs on
//! which the two parts disagree (no proof would verify).

use sotto_contracts::abi::{Abi, Function, Value, ValueType, VarRole};
use thiserror::Error;

use super::{CallError, CallInput, CallOutput, LoadedModule, Mode, Sandbox};

/// Which part of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `witness.NAME`, run by the caller only.
    Witness,
    /// `call.NAME`, run by every party.
    Public,
}

impl Part {
    /// `"witness"` or `"public"`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Witness => "witness",
            Part::Public => "public",
        }
    }
}

/// Everything the caller's call reads: every field (its own private values
/// included) and every argument (private ones included), in ABI order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerInput {
    /// The value of every field, in ABI order.
    pub fields: Vec<Value>,
    /// The value of every parameter, in order.
    pub args: Vec<Value>,
    /// The live allocation, one amount per party.
    pub allocation: Vec<u64>,
    /// The time agreed in the update.
    pub now: u64,
}

/// What the caller's call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerOutput {
    /// The public part's output: what every other party will reproduce.
    pub public: CallOutput,
    /// The value of every field after the call, in ABI order: public ones
    /// from the public part, the caller's private ones from the witness part
    /// (unchanged if not written), other parties' private ones as given.
    pub fields: Vec<Value>,
    /// The witness part's output, for a function with a circuit: its
    /// `private` variables and `public_inputs` are what the proof is made
    /// over.
    pub witness: Option<CallOutput>,
    /// The values revealed, in the function's reveal order.
    pub reveals: Vec<Value>,
}

/// Why the caller's call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// The ABI has no such function.
    #[error("the contract has no function `{0}`")]
    UnknownFunction(String),
    /// The input does not fit the function.
    #[error("{0}")]
    Input(String),
    /// One part failed with the sandbox's typed error.
    #[error("the {} part: {error}", part.name())]
    Call {
        /// Which part.
        part: Part,
        /// What happened.
        error: CallError,
    },
    /// The witness part's result does not fit the ABI, or its public inputs
    /// differ from the public part's: the module is faulty.
    #[error("{0}")]
    Inconsistent(String),
}

impl OwnerError {
    /// The sandbox error, if a part failed with one.
    pub fn call_error(&self) -> Option<&CallError> {
        match self {
            OwnerError::Call { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The value of type `ty` that crosses the WASM boundary as `word`, if any.
pub fn from_word(word: u64, ty: ValueType, parties: usize) -> Option<Value> {
    match ty {
        ValueType::U64 => Some(Value::U64(word)),
        ValueType::Bool => match word {
            0 => Some(Value::Bool(false)),
            1 => Some(Value::Bool(true)),
            _ => None,
        },
        ValueType::Party => u32::try_from(word)
            .ok()
            .filter(|p| usize::try_from(*p).is_ok_and(|p| p < parties))
            .map(Value::Party),
        ValueType::Bytes32 => None,
    }
}

/// The public fields' values, in ABI order.
pub fn public_values(abi: &Abi, fields: &[Value]) -> Vec<Value> {
    abi.fields
        .iter()
        .zip(fields)
        .filter(|(f, _)| f.owner.is_none())
        .map(|(_, v)| *v)
        .collect()
}

impl Sandbox {
    /// Runs `function` of `module` (loaded from an artifact with ABI `abi`)
    /// as its caller: see the module docs.
    pub fn call_as_owner(
        &self,
        module: &LoadedModule,
        abi: &Abi,
        function: &str,
        input: &OwnerInput,
    ) -> Result<OwnerOutput, OwnerError> {
        let Some((_, f)) = abi.function(function) else {
            return Err(OwnerError::UnknownFunction(function.to_owned()));
        };
        if input.fields.len() != abi.fields.len() || input.args.len() != f.params.len() {
            return Err(OwnerError::Input(format!(
                "`{function}` takes {} fields and {} arguments, given {} and {}",
                abi.fields.len(),
                f.params.len(),
                input.fields.len(),
                input.args.len()
            )));
        }
        let public_args: Vec<Value> = f
            .params
            .iter()
            .zip(&input.args)
            .filter(|(p, _)| !p.private)
            .map(|(_, v)| *v)
            .collect();
        let part = |part: Part, args: Vec<Value>, mode: Mode| {
            self.call(
                module,
                function,
                CallInput {
                    fields: public_values(abi, &input.fields),
                    args,
                    allocation: input.allocation.clone(),
                    now: input.now,
                    mode,
                },
            )
            .map_err(|error| OwnerError::Call { part, error })
        };
        let mut fields = input.fields.clone();
        let mut reveals = Vec::new();
        let witness = match &f.circuit {
            None => None,
            Some(circuit) => {
                let inputs = witness_inputs(f, circuit, input)?;
                let mut args = public_args.clone();
                args.extend(f.reveals.iter().map(|r| r.ty.zero()));
                let out = part(Part::Witness, args, Mode::Witness { private: inputs })?;
                reveals = revealed(abi, f, &out)?;
                written(abi, circuit, &out, &mut fields)?;
                Some(out)
            }
        };
        let public = self
            .call(module, function, public_call(abi, f, input, &reveals))
            .map_err(|error| OwnerError::Call {
                part: Part::Public,
                error,
            })?;
        if let Some(w) = &witness
            && w.public_inputs != public.public_inputs
        {
            return Err(OwnerError::Inconsistent(format!(
                "the witness part sets public inputs {:?}, the public part {:?}: no proof would verify",
                w.public_inputs, public.public_inputs
            )));
        }
        let mut new_public = public.fields.iter();
        for (slot, field) in fields.iter_mut().zip(&abi.fields) {
            if field.owner.is_none()
                && let Some(v) = new_public.next()
            {
                *slot = *v;
            }
        }
        Ok(OwnerOutput {
            public,
            fields,
            witness,
            reveals,
        })
    }
}

/// The public part's input for `input` with the values the witness part
/// revealed: what every other party runs (and what `sotto bench` times).
pub fn public_call(abi: &Abi, f: &Function, input: &OwnerInput, reveals: &[Value]) -> CallInput {
    let mut args: Vec<Value> = f
        .params
        .iter()
        .zip(&input.args)
        .filter(|(p, _)| !p.private)
        .map(|(_, v)| *v)
        .collect();
    args.extend(reveals.iter().copied());
    CallInput {
        fields: public_values(abi, &input.fields),
        args,
        allocation: input.allocation.clone(),
        now: input.now,
        mode: Mode::Public,
    }
}

/// The witness part's variables: inputs from the arguments and fields,
/// outputs 0.
fn witness_inputs(
    f: &Function,
    circuit: &sotto_contracts::abi::Circuit,
    input: &OwnerInput,
) -> Result<Vec<u64>, OwnerError> {
    let word = |v: Option<&Value>| v.and_then(Value::as_word);
    circuit
        .vars
        .iter()
        .map(|role| match *role {
            VarRole::Param(i) => word(input.args.get(usize::from(i))),
            VarRole::Field(i) => word(usize::try_from(i).ok().and_then(|i| input.fields.get(i))),
            VarRole::NewField(_) | VarRole::Derived => Some(0),
        })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| {
            OwnerError::Input(format!(
                "a circuit variable of `{}` is not a u64 or bool value",
                f.name
            ))
        })
}

/// Each reveal's value, from the public input the witness part set for it.
fn revealed(abi: &Abi, f: &Function, out: &CallOutput) -> Result<Vec<Value>, OwnerError> {
    f.reveals
        .iter()
        .map(|r| {
            let word = out
                .public_inputs
                .get(usize::from(r.public_input))
                .copied()
                .unwrap_or(0);
            from_word(word, r.ty, abi.parties.len()).ok_or_else(|| {
                OwnerError::Inconsistent(format!(
                    "the witness part reveals `{}` as {word}, which is not a {}",
                    r.name, r.ty
                ))
            })
        })
        .collect()
}

/// Writes the new values of the private fields the witness part computed.
fn written(
    abi: &Abi,
    circuit: &sotto_contracts::abi::Circuit,
    out: &CallOutput,
    fields: &mut [Value],
) -> Result<(), OwnerError> {
    let values = out.private.as_deref().unwrap_or_default();
    for (var, role) in circuit.vars.iter().enumerate() {
        let VarRole::NewField(field) = *role else {
            continue;
        };
        let field = usize::try_from(field).unwrap_or(usize::MAX);
        let (Some(declared), Some(&word), true) =
            (abi.fields.get(field), values.get(var), field < fields.len())
        else {
            return Err(OwnerError::Inconsistent(format!(
                "circuit variable {var} names no private field"
            )));
        };
        fields[field] = from_word(word, declared.ty, abi.parties.len()).ok_or_else(|| {
            OwnerError::Inconsistent(format!(
                "the witness part sets field `{}` to {word}, which is not a {}",
                declared.name, declared.ty
            ))
        })?;
    }
    Ok(())
}
