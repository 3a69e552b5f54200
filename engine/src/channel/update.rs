//! One update of a channel: what the caller sends, and every check the
//! counterparty makes before it countersigns.
//!
//! The proposer ([`propose`]) runs the function as its caller
//! ([`Sandbox::call_as_owner`]), commits to every circuit variable it
//! introduces (private parameters, new private field values, intermediates)
//! with fresh blindings, proves the function's constraint program over them
//! bound to the update's context (contract, channel, version, function),
//! and builds the new [`State`]. It does not sign: the state machine
//! ([`super::machine`]) collects every party's agreement first, so that
//! two proposals crossing each other never leave a signature behind.
//!
//! The receiver ([`verify_update`]) checks, in this order, each failure a
//! typed [`Rejection`]: the version is the next one; the function exists;
//! re-executing the public part on its own copy of the state gives the same
//! public fields, allocations and final flag as the state claims (including
//! the contract's own abort reason if it refuses); the proof verifies
//! against the commitments (current private fields from its state, the rest
//! from the update) and the public inputs its own run produced; the
//! allocation conserves the deposits. Only then is the update accepted.
//!
//! Pure functions: no I/O, no clock (time comes in the update), randomness
//! only for blindings and proofs, from the caller's generator. Signatures
//! are checked where they arrive: [`check_signature`].

use std::collections::BTreeMap;

use sotto_circuits::{Commitment, Opening, Proof, ProofContext, verify};
use sotto_contracts::Artifact;
use sotto_contracts::abi::{Value, VarRole};
use thiserror::Error;

use crate::sandbox::owner::{from_word, public_call, public_values};
use crate::sandbox::{
    CallError, CallInput, LoadedModule, Mode, ModuleAbi, OwnerError, OwnerInput, Sandbox,
    StateError, encode_state,
};
use crate::state::{ChannelParams, Signature, State, recover, state_commitment};

/// One party's view of a channel's latest fully signed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    /// The channel's parameters.
    pub params: ChannelParams,
    /// The version of the latest state.
    pub version: u64,
    /// The public fields' values, in ABI order: the canonical state layout
    /// (private values live only in their owner's openings).
    pub public: Vec<Value>,
    /// The commitment of each private field, by field index.
    pub commitments: BTreeMap<u32, Commitment>,
    /// The live allocation the contract continues from.
    pub live: Vec<u64>,
    /// What the latest state pays (its signed allocation).
    pub signed: Vec<u64>,
    /// Total deposits: every allocation must add up to it.
    pub deposits: u128,
    /// Whether the latest state is final.
    pub finished: bool,
}

impl ChannelView {
    /// The view at version 0: initial public fields from the ABI, each
    /// private field's opening commitment as its owner published it, the
    /// deposits. Accept a party's commitments only with its
    /// [`verify_openings`] proof: every later function treats them as proven
    /// in range.
    pub fn open(
        params: ChannelParams,
        artifact: &Artifact,
        deposits: Vec<u64>,
        commitments: BTreeMap<u32, Commitment>,
    ) -> Self {
        let abi = artifact.abi();
        let initial: Vec<Value> = abi.fields.iter().map(|f| f.init).collect();
        ChannelView {
            params,
            version: 0,
            public: public_values(abi, &initial),
            commitments,
            signed: deposits.clone(),
            deposits: deposits.iter().map(|d| u128::from(*d)).sum(),
            live: deposits,
            finished: false,
        }
    }

    /// `params.channel_id()`.
    pub fn channel_id(&self) -> [u8; 32] {
        self.params.channel_id()
    }

    /// The signed [`State`] this view stands for; `abi` is the loaded
    /// module's (it fixes the public state layout).
    pub fn state(&self, abi: &ModuleAbi) -> Result<State, StateError> {
        let private: Vec<Commitment> = self.commitments.values().copied().collect();
        Ok(State {
            channel_id: self.channel_id(),
            version: self.version,
            commitment: state_commitment(&encode_state(abi, &self.public)?, &private),
            allocation: self.signed.clone(),
            is_final: self.finished,
        })
    }

    /// The next version, or `None` after `u64::MAX` updates.
    fn next_version(&self) -> Option<u64> {
        self.version.checked_add(1)
    }
}

/// What a proposer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The function called.
    pub function: String,
    /// The public part's arguments: public parameters, then reveals.
    pub args: Vec<Value>,
    /// The time the update is made at.
    pub now: u64,
    /// Commitments of the circuit's variables other than current field
    /// values, in variable order.
    pub commitments: Vec<Commitment>,
    /// The proof, for a function with a circuit.
    pub proof: Option<Proof>,
    /// The new state.
    pub state: State,
}

/// What the proposer keeps: the update it sends, the view after it, and
/// the openings of its private fields after it (to store, secretly, before
/// it signs the new state).
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The message.
    pub update: Update,
    /// The new view, once countersigned.
    pub view: ChannelView,
    /// The proposer's private field openings after the update.
    pub openings: BTreeMap<u32, Opening>,
}

/// Why a proposal could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProposeError {
    /// The call failed (the contract's own reason included).
    #[error(transparent)]
    Call(#[from] OwnerError),
    /// Proving failed (a bug: the witness part succeeded).
    #[error("proving failed: {0}")]
    Prove(#[from] sotto_circuits::ProveError),
    /// The caller's opening of a private field is missing, or holds no
    /// value of the field's type.
    #[error("no usable opening for private field #{0}")]
    MissingOpening(u32),
    /// The channel has used every version.
    #[error("the channel has used every version; close it")]
    Exhausted,
    /// The new public state does not encode (a module that broke its ABI).
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a counterparty refuses an update. The channel stays on its latest
/// fully signed state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Not the next version.
    #[error("version {got}, expected {expected:?}")]
    Version {
        /// The version the view expects (`None`: every version is used).
        expected: Option<u64>,
        /// The version offered.
        got: u64,
    },
    /// The state names another channel.
    #[error("the state is for another channel")]
    Channel,
    /// No such function.
    #[error("no function `{0}`")]
    UnknownFunction(String),
    /// The signature is not the function's caller's over this state.
    #[error("the signature is not {expected}'s over this state")]
    Signature {
        /// Who may call the function.
        expected: String,
    },
    /// Re-executing the public part fails (the contract's reason included).
    #[error("re-execution fails: {0}")]
    Execution(CallError),
    /// Re-execution succeeds but gives another result than the state claims.
    #[error("re-execution gives another {what} than the state claims")]
    Mismatch {
        /// Which part differs.
        what: &'static str,
    },
    /// The commitments do not fit the circuit.
    #[error("{got} commitments for a circuit that needs {expected}")]
    Commitments {
        /// Needed.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// The proof is missing, superfluous, or does not verify.
    #[error("the proof does not verify: {0}")]
    Proof(String),
    /// The allocation does not add up to the deposits.
    #[error("the allocation adds up to {got}, the deposits to {expected}")]
    Conservation {
        /// The deposits.
        expected: u128,
        /// The allocation's total.
        got: u128,
    },
}

fn context(view: &ChannelView, artifact: &Artifact, version: u64, function: &str) -> ProofContext {
    ProofContext {
        contract_id: artifact.id(),
        channel_id: view.channel_id(),
        version,
        function: function.to_owned(),
    }
}

/// Checks that `signature` is `party`'s over `state`.
pub fn check_signature(
    params: &ChannelParams,
    state: &State,
    party: u32,
    signature: &Signature,
) -> Result<(), Rejection> {
    let expected = params.participants.get(party as usize).copied();
    let signer = recover(&state.digest(), signature).ok();
    if expected.is_none() || signer != expected {
        return Err(Rejection::Signature {
            expected: format!("party #{party}"),
        });
    }
    Ok(())
}

/// Makes an update: see the module docs. `args` are every parameter of the
/// function, private ones included; `openings` the caller's private field
/// openings; `rng` draws blindings and the proof's randomness.
#[allow(clippy::too_many_arguments, reason = "one update needs each of these")]
pub fn propose<R: rand::RngCore + rand::CryptoRng>(
    sandbox: &Sandbox,
    module: &LoadedModule,
    artifact: &Artifact,
    view: &ChannelView,
    openings: &BTreeMap<u32, Opening>,
    function: &str,
    args: Vec<Value>,
    now: u64,
    rng: &mut R,
) -> Result<Proposed, ProposeError> {
    let abi = artifact.abi();
    let version = view.next_version().ok_or(ProposeError::Exhausted)?;
    // Every field as the caller knows it: public values, its own openings,
    // and zero for other parties' private fields (a function reads only
    // its caller's).
    let mut public = view.public.iter();
    let mut fields = Vec::with_capacity(abi.fields.len());
    for (i, x) in abi.fields.iter().enumerate() {
        let opening = u32::try_from(i).ok().and_then(|i| openings.get(&i));
        fields.push(match (x.owner, opening) {
            (None, _) => public.next().copied().unwrap_or_else(|| x.ty.zero()),
            (Some(_), Some(o)) => from_word(o.value(), x.ty, abi.parties.len()).ok_or(
                ProposeError::MissingOpening(u32::try_from(i).unwrap_or(u32::MAX)),
            )?,
            (Some(_), None) => x.ty.zero(),
        });
    }
    let input = OwnerInput {
        fields,
        args,
        allocation: view.live.clone(),
        now,
    };
    let out = sandbox.call_as_owner(module, abi, function, &input)?;
    let (_, f) = abi
        .function(function)
        .ok_or_else(|| OwnerError::UnknownFunction(function.to_owned()))?;
    let mut new_openings = openings.clone();
    let mut commitments = Vec::new();
    let mut proof = None;
    let mut private = view.commitments.clone();
    if let (Some(circuit), Some(w), Some(program)) = (&f.circuit, &out.witness, artifact.program(f))
    {
        let values = w.private.clone().unwrap_or_default();
        let mut witness = Vec::with_capacity(values.len());
        for (role, value) in circuit.vars.iter().zip(values) {
            let opening = match *role {
                VarRole::Field(x) => openings
                    .get(&x)
                    .cloned()
                    .ok_or(ProposeError::MissingOpening(x))?,
                _ => {
                    let o = Opening::random(value, rng);
                    commitments.push(o.commit());
                    if let VarRole::NewField(x) = *role {
                        new_openings.insert(x, o.clone());
                        private.insert(x, o.commit());
                    }
                    o
                }
            };
            witness.push(opening);
        }
        proof = Some(sotto_circuits::prove_with_rng(
            program,
            &witness,
            &w.public_inputs,
            &context(view, artifact, version, function),
            rng,
        )?);
    }
    let next = ChannelView {
        version,
        public: out.public.fields.clone(),
        commitments: private,
        live: out.public.live.clone(),
        signed: out.public.signed.clone(),
        finished: out.public.finished,
        params: view.params.clone(),
        deposits: view.deposits,
    };
    let state = next.state(module.abi())?;
    Ok(Proposed {
        update: Update {
            function: function.to_owned(),
            args: public_call(abi, f, &input, &out.reveals).args,
            now,
            commitments,
            proof,
            state,
        },
        view: next,
        openings: new_openings,
    })
}

/// Checks an update against `view` (see the module docs); on success, the
/// view after it.
pub fn verify_update(
    sandbox: &Sandbox,
    module: &LoadedModule,
    artifact: &Artifact,
    view: &ChannelView,
    update: &Update,
) -> Result<ChannelView, Rejection> {
    let abi = artifact.abi();
    let version = view.next_version();
    if Some(update.state.version) != version {
        return Err(Rejection::Version {
            expected: version,
            got: update.state.version,
        });
    }
    let version = update.state.version;
    if update.state.channel_id != view.channel_id() {
        return Err(Rejection::Channel);
    }
    let Some((_, f)) = abi.function(&update.function) else {
        return Err(Rejection::UnknownFunction(update.function.clone()));
    };
    let out = sandbox
        .call(
            module,
            &update.function,
            CallInput {
                fields: view.public.clone(),
                args: update.args.clone(),
                allocation: view.live.clone(),
                now: update.now,
                mode: Mode::Public,
            },
        )
        .map_err(Rejection::Execution)?;

    // The circuit: commitments per variable, then the proof.
    let mut private = view.commitments.clone();
    match (&f.circuit, artifact.program(f), &update.proof) {
        (Some(circuit), Some(program), Some(proof)) => {
            let needed = circuit
                .vars
                .iter()
                .filter(|r| !matches!(r, VarRole::Field(_)))
                .count();
            if update.commitments.len() != needed {
                return Err(Rejection::Commitments {
                    expected: needed,
                    got: update.commitments.len(),
                });
            }
            let mut given = update.commitments.iter();
            let mut all = Vec::with_capacity(circuit.vars.len());
            for role in &circuit.vars {
                let c = match *role {
                    VarRole::Field(x) => *view
                        .commitments
                        .get(&x)
                        .ok_or_else(|| Rejection::Proof(format!("no commitment for field #{x}")))?,
                    _ => *given.next().ok_or(Rejection::Commitments {
                        expected: needed,
                        got: update.commitments.len(),
                    })?,
                };
                if let VarRole::NewField(x) = *role {
                    private.insert(x, c);
                }
                all.push(c);
            }
            verify(
                program,
                &all,
                &out.public_inputs,
                &context(view, artifact, version, &update.function),
                proof,
            )
            .map_err(|e| Rejection::Proof(e.to_string()))?;
        }
        (None, _, None) if update.commitments.is_empty() => {}
        _ => return Err(Rejection::Proof("a proof is missing or superfluous".into())),
    }

    let next = ChannelView {
        version,
        public: out.fields,
        commitments: private,
        live: out.live,
        signed: out.signed,
        finished: out.finished,
        params: view.params.clone(),
        deposits: view.deposits,
    };
    let claimed = &update.state;
    let mine = next.state(module.abi()).map_err(|_| Rejection::Mismatch {
        what: "public state encoding",
    })?;
    if claimed.allocation != mine.allocation {
        return Err(Rejection::Mismatch { what: "allocation" });
    }
    if claimed.is_final != mine.is_final {
        return Err(Rejection::Mismatch { what: "final flag" });
    }
    if claimed.commitment != mine.commitment {
        return Err(Rejection::Mismatch {
            what: "state commitment",
        });
    }
    let total: u128 = next.signed.iter().map(|a| u128::from(*a)).sum();
    if total != view.deposits {
        return Err(Rejection::Conservation {
            expected: view.deposits,
            got: total,
        });
    }
    Ok(next)
}

/// The program an owner proves when a channel opens: each of its private
/// fields' opening values lies in range (`u64`) or is a boolean. Every later
/// function declares a current private field value *proven*; this proof is
/// what makes that declaration true for version 0.
fn opening_program(
    artifact: &Artifact,
    fields: &[u32],
) -> Result<sotto_circuits::Program, sotto_circuits::ProgramError> {
    let abi = artifact.abi();
    let mut b = sotto_circuits::ProgramBuilder::new();
    for f in fields {
        let field = abi.fields.get(*f as usize);
        let var = b.var(field.map_or("?", |x| x.name.as_str()));
        match field.map(|x| x.ty) {
            Some(sotto_contracts::abi::ValueType::Bool) => b.boolean(var),
            _ => b.range(var, sotto_circuits::RangeBits::B64),
        };
    }
    b.build()
}

fn opening_context(channel_id: [u8; 32], artifact: &Artifact) -> ProofContext {
    ProofContext {
        contract_id: artifact.id(),
        channel_id,
        version: 0,
        function: "(open)".into(),
    }
}

/// Proves, for the channel's opening, that the owner's private field
/// openings are in range (`u64`) or booleans.
pub fn prove_openings<R: rand::RngCore + rand::CryptoRng>(
    artifact: &Artifact,
    channel_id: [u8; 32],
    openings: &BTreeMap<u32, Opening>,
    rng: &mut R,
) -> Result<Proof, ProposeError> {
    let fields: Vec<u32> = openings.keys().copied().collect();
    let program = opening_program(artifact, &fields)
        .map_err(|e| ProposeError::Prove(sotto_circuits::ProveError::from(e)))?;
    let witness: Vec<Opening> = openings.values().cloned().collect();
    Ok(sotto_circuits::prove_with_rng(
        &program,
        &witness,
        &[],
        &opening_context(channel_id, artifact),
        rng,
    )?)
}

/// Verifies an owner's opening commitments (field index → commitment) and
/// their range proof: every field must be private to `owner`.
pub fn verify_openings(
    artifact: &Artifact,
    channel_id: [u8; 32],
    owner: u32,
    commitments: &BTreeMap<u32, Commitment>,
    proof: &Proof,
) -> Result<(), Rejection> {
    let abi = artifact.abi();
    if let Some(f) = commitments
        .keys()
        .find(|f| abi.fields.get(**f as usize).and_then(|x| x.owner) != Some(owner))
    {
        return Err(Rejection::Proof(format!(
            "field #{f} is not a private field of party #{owner}"
        )));
    }
    let fields: Vec<u32> = commitments.keys().copied().collect();
    let program =
        opening_program(artifact, &fields).map_err(|e| Rejection::Proof(e.to_string()))?;
    let all: Vec<Commitment> = commitments.values().copied().collect();
    verify(
        &program,
        &all,
        &[],
        &opening_context(channel_id, artifact),
        proof,
    )
    .map_err(|e| Rejection::Proof(e.to_string()))
}
