//! A channel whose parties all live in this process: each with its own
//! signer, view and private openings, exchanging [`Update`]s directly. No
//! transport, store or chain: the harness of the protocol tests, and what
//! `sotto bench channel --in-process` times. Opening follows the protocol's
//! checks (each owner proves its opening values in range, the others
//! verify); each step is proposed by the function's caller, verified by
//! every other party, and countersigned.

use std::collections::BTreeMap;
use std::path::Path;

use sotto_circuits::Opening;
use sotto_contracts::Artifact;
use sotto_contracts::abi::Value;
use thiserror::Error;

use super::update::{
    ChannelView, ProposeError, Rejection, Update, propose, prove_openings, verify_openings,
    verify_update,
};
use crate::sandbox::{LoadedModule, Sandbox};
use crate::state::{Address, ChannelParams, SignError, Signer, SigningKey};

/// Why a local step failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The proposer could not propose.
    #[error("proposing `{function}`: {error}")]
    Propose {
        /// The function.
        function: String,
        /// Why.
        error: ProposeError,
    },
    /// A party rejected the update.
    #[error("party #{party} rejects `{function}`: {rejection}")]
    Rejected {
        /// The function.
        function: String,
        /// Who rejected it.
        party: usize,
        /// Why.
        rejection: Rejection,
    },
    /// A party could not countersign.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// No such function in the contract.
    #[error("no function `{0}`")]
    UnknownFunction(String),
    /// Not one key and one deposit per party of the contract.
    #[error("the contract has {parties} parties; given {keys} keys and {deposits} deposits")]
    Parties {
        /// The contract's parties.
        parties: usize,
        /// Keys given.
        keys: usize,
        /// Deposits given.
        deposits: usize,
    },
}

/// One participant.
#[derive(Debug)]
pub struct LocalParty {
    /// Its signer.
    pub signer: Signer,
    /// Its view of the latest fully signed state.
    pub view: ChannelView,
    /// Its private field openings.
    pub openings: BTreeMap<u32, Opening>,
}

/// A channel with every party in this process.
#[derive(Debug)]
pub struct LocalChannel<'a> {
    sandbox: &'a Sandbox,
    module: &'a LoadedModule,
    artifact: &'a Artifact,
    /// The parties, in the contract's party order.
    pub parties: Vec<LocalParty>,
}

impl<'a> LocalChannel<'a> {
    /// Opens a channel of `artifact` (loaded as `module`) between `keys`
    /// (one per party), with `deposits` and each private field's opening
    /// value by field name (0 if not named). Signing records go into `dir`.
    pub fn open(
        sandbox: &'a Sandbox,
        module: &'a LoadedModule,
        artifact: &'a Artifact,
        keys: Vec<SigningKey>,
        deposits: Vec<u64>,
        private: &[(&str, u64)],
        dir: &Path,
    ) -> Result<Self, LocalError> {
        let abi = artifact.abi();
        let parties = abi.parties.len();
        if keys.len() != parties || deposits.len() != parties {
            return Err(LocalError::Parties {
                parties,
                keys: keys.len(),
                deposits: deposits.len(),
            });
        }
        let params = ChannelParams {
            participants: keys.iter().map(SigningKey::address).collect(),
            nonce: 1,
            challenge_period: 3600,
            contract_id: artifact.id(),
            asset: Address([0; 20]),
            adjudicator: Address([0xad; 20]),
            chain_id: 31337,
        };
        let mut rng = rand::thread_rng();
        let mut openings: Vec<BTreeMap<u32, Opening>> = vec![BTreeMap::new(); keys.len()];
        for (i, f) in abi.fields.iter().enumerate() {
            if let Some(mine) = f.owner.and_then(|o| openings.get_mut(o as usize)) {
                let value = private
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .map_or(0, |(_, v)| *v);
                mine.insert(
                    u32::try_from(i).unwrap_or(u32::MAX),
                    Opening::random(value, &mut rng),
                );
            }
        }
        // Each owner proves its opening values in range; the others check.
        let channel_id = params.channel_id();
        for (owner, mine) in openings.iter().enumerate() {
            if mine.is_empty() {
                continue;
            }
            let proof = prove_openings(artifact, channel_id, mine, &mut rng).map_err(|error| {
                LocalError::Propose {
                    function: "(open)".into(),
                    error,
                }
            })?;
            let published: BTreeMap<u32, _> = mine.iter().map(|(f, o)| (*f, o.commit())).collect();
            let party = u32::try_from(owner).unwrap_or(u32::MAX);
            verify_openings(artifact, channel_id, party, &published, &proof).map_err(
                |rejection| LocalError::Rejected {
                    function: "(open)".into(),
                    party: owner,
                    rejection,
                },
            )?;
        }
        let commitments: BTreeMap<u32, _> = openings
            .iter()
            .flatten()
            .map(|(f, o)| (*f, o.commit()))
            .collect();
        let view = ChannelView::open(params, artifact, deposits, commitments);
        let mut parties = Vec::new();
        for (i, (key, openings)) in keys.into_iter().zip(openings).enumerate() {
            parties.push(LocalParty {
                signer: Signer::open(key, &dir.join(format!("signed-{i}")))?,
                view: view.clone(),
                openings,
            });
        }
        Ok(LocalChannel {
            sandbox,
            module,
            artifact,
            parties,
        })
    }

    /// The party that may call `function`.
    pub fn caller(&self, function: &str) -> Result<usize, LocalError> {
        self.artifact
            .abi()
            .function(function)
            .map(|(_, f)| f.caller as usize)
            .ok_or_else(|| LocalError::UnknownFunction(function.to_owned()))
    }

    /// The caller proposes `function(args)` (every parameter, private ones
    /// included) and moves to its proposed view; returns the update and
    /// who proposed it.
    pub fn propose(
        &mut self,
        function: &str,
        args: Vec<Value>,
    ) -> Result<(Update, usize), LocalError> {
        let by = self.caller(function)?;
        let p = self
            .parties
            .get_mut(by)
            .ok_or_else(|| LocalError::UnknownFunction(function.to_owned()))?;
        let proposal = propose(
            self.sandbox,
            self.module,
            self.artifact,
            &p.view,
            &p.openings,
            function,
            args,
            0,
            &mut rand::thread_rng(),
        )
        .map_err(|error| LocalError::Propose {
            function: function.to_owned(),
            error,
        })?;
        p.view = proposal.view;
        p.openings = proposal.openings;
        Ok((proposal.update, by))
    }

    /// What `receiver` makes of `update` against its current view.
    pub fn check(&self, update: &Update, receiver: usize) -> Result<ChannelView, Rejection> {
        let view = self
            .parties
            .get(receiver)
            .map(|p| &p.view)
            .ok_or_else(|| Rejection::UnknownFunction(update.function.clone()))?;
        verify_update(self.sandbox, self.module, self.artifact, view, update)
    }

    /// One whole step: the caller proposes, every other party verifies,
    /// then every party signs, and all views move to the new state.
    pub fn step(&mut self, function: &str, args: Vec<Value>) -> Result<(), LocalError> {
        let (update, by) = self.propose(function, args)?;
        let mut next = Vec::with_capacity(self.parties.len());
        for i in 0..self.parties.len() {
            if i == by {
                next.push(None);
                continue;
            }
            next.push(Some(self.check(&update, i).map_err(|rejection| {
                LocalError::Rejected {
                    function: function.to_owned(),
                    party: i,
                    rejection,
                }
            })?));
        }
        for (p, next) in self.parties.iter_mut().zip(next) {
            p.signer.sign(&update.state)?;
            if let Some(next) = next {
                p.view = next;
            }
        }
        Ok(())
    }
}
