//! The anchor chain, as the update protocol sees it.
//!
//! The state machine ([`crate::channel::machine`]) never talks to a chain:
//! it returns [`AnchorCall`]s for its driver to submit, and takes the
//! [`ChainEvent`]s its driver observes. An [`Anchor`] is what the driver
//! submits to and reads from. Implementations:
//!
//! - [`TestChain`]: the adjudicator's rules in Rust, in memory, with a
//!   clock the test moves. For protocol tests and fuzzing; it checks
//!   signatures with the same `ecrecover` rules as the contract
//!   (`state::recover`), so a protocol test cannot pass with states the
//!   adjudicator would refuse.
//! - [`EmbeddedChain`]: the Solidity adjudicator's bytecode on an
//!   in-process EVM (revm), with blocks, a clock and optional persistence.
//! - [`RpcChain`]: the adjudicator on any EVM node over JSON-RPC (alloy).
//! - [`ServedChain`] is no backend but a server: an [`EmbeddedChain`]
//!   served over Ethereum JSON-RPC on loopback, so that several processes
//!   share it through [`RpcChain`] (what `sotto chain serve` runs).

mod abi;
mod embedded;
mod rpc;
mod serve;
mod test_chain;

use thiserror::Error;

use crate::state::{Address, ChannelParams, Signature, State, Window};

pub use embedded::{EmbeddedChain, EmbeddedError, MinedLog, MinedTransaction};
pub use rpc::{RpcChain, RpcOptions};
pub use serve::{
    HEADER_TIMEOUT, MAX_BATCH, MAX_BODY, MAX_CONNECTIONS, MAX_LOGS, ServeError, ServedChain,
    fuzz_request,
};
pub use test_chain::TestChain;

/// The state and signatures in the calldata of a `register` or `conclude`
/// transaction (what anyone watching the chain reads from it), or `None`
/// for any other calldata. A swap's counterparty learns the swap's secret
/// from the signature a registration publishes ([`crate::oracle::swap`]).
pub fn signed_state_in(calldata: &[u8]) -> Option<(State, Vec<Signature>)> {
    abi::decode_signed(calldata)
}

/// What a party asks of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorCall {
    /// Deposit `amount` for `party`.
    Deposit {
        /// The party credited.
        party: u32,
        /// The amount.
        amount: u64,
    },
    /// Cooperative close: a final state signed by every participant; pays
    /// out at once.
    Conclude {
        /// The final state.
        state: State,
        /// Every participant's signature, in party order.
        signatures: Vec<Signature>,
    },
    /// Register a fully signed state: starts a dispute, or refutes a
    /// registered one with a higher version inside the challenge period.
    Register {
        /// The state.
        state: State,
        /// Every participant's signature, in party order.
        signatures: Vec<Signature>,
    },
    /// Register a fully signed time-bounded state: as [`AnchorCall::Register`],
    /// but the participants signed [`State::timed_digest`] and the chain
    /// accepts it only inside its window.
    RegisterTimed {
        /// The state.
        state: State,
        /// When it may be registered.
        window: Window,
        /// Every participant's signature of its timed digest, in party
        /// order.
        signatures: Vec<Signature>,
    },
    /// After the challenge period: settle on the registered state (the
    /// chain keeps only its hash, so the call carries it again).
    Finalize {
        /// The registered state, as the `Registered` event showed it.
        state: State,
    },
    /// Pay `party` what the concluded channel owes it.
    Withdraw {
        /// The party paid.
        party: u32,
    },
}

impl AnchorCall {
    /// Every call's [`AnchorCall::name`], in the order of a channel's life
    /// (deposits, then a conclusion or registrations, then finalization
    /// and payouts).
    pub const NAMES: [&'static str; 5] =
        ["deposit", "conclude", "register", "finalize", "withdraw"];

    /// The adjudicator function it calls: `deposit`, `conclude`,
    /// `register`, `finalize` or `withdraw` (for logs, receipts and
    /// reports).
    pub fn name(&self) -> &'static str {
        match self {
            AnchorCall::Deposit { .. } => "deposit",
            AnchorCall::Conclude { .. } => "conclude",
            // A time-bounded registration is a registration: the same
            // event, the same dispute.
            AnchorCall::Register { .. } | AnchorCall::RegisterTimed { .. } => "register",
            AnchorCall::Finalize { .. } => "finalize",
            AnchorCall::Withdraw { .. } => "withdraw",
        }
    }
}

/// What the chain shows of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// `party`'s deposits now total `total` (confirmed).
    Deposited {
        /// The party.
        party: u32,
        /// Its total deposit.
        total: u64,
    },
    /// A state was registered; it may be refuted until `until` (chain time).
    Registered {
        /// The state (its signatures were checked on chain).
        state: State,
        /// The end of the challenge period.
        until: u64,
    },
    /// The channel is settled with this allocation.
    Concluded {
        /// What each party is owed.
        allocation: Vec<u64>,
        /// By a cooperative close (paid at once) rather than a dispute.
        cooperative: bool,
    },
    /// `party` was paid `amount`.
    Withdrawn {
        /// The party.
        party: u32,
        /// The amount.
        amount: u64,
    },
}

/// Why the chain refused a call, named after the adjudicator's reverts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// A signature is missing, malformed, high-s, or not the participant's.
    #[error("a signature is not the participant's over this state")]
    BadSignature,
    /// The state names another channel.
    #[error("the state is for another channel")]
    WrongChannel,
    /// The allocation pays more than the deposits hold, or has the wrong
    /// number of entries.
    #[error("the allocation does not match the deposits")]
    BadAllocation,
    /// A cooperative close needs a final state.
    #[error("the state is not final")]
    NotFinal,
    /// The channel is already concluded.
    #[error("the channel is already concluded")]
    Concluded,
    /// The registered state has this version or a higher one already.
    #[error("a state with version {registered} is registered; refute with a higher one")]
    Stale {
        /// The registered version.
        registered: u64,
    },
    /// The challenge period is over (refute) or not over yet (finalize).
    #[error("the challenge period {0}")]
    Period(&'static str),
    /// A time-bounded state registered outside its window.
    #[error(
        "the state may be registered only from {not_before} until before {not_after} (0: no bound)"
    )]
    OutsideWindow {
        /// Its start.
        not_before: u64,
        /// Its end (0: none).
        not_after: u64,
    },
    /// Nothing registered to finalize.
    #[error("no dispute is registered")]
    NoDispute,
    /// The state given is not the registered one.
    #[error("the state given is not the registered one")]
    NotRegistered,
    /// Nothing (more) to withdraw.
    #[error("nothing to withdraw for party #{0}")]
    NothingToWithdraw(u32),
    /// No such party in the channel.
    #[error("no party #{0} in the channel")]
    UnknownParty(u32),
    /// The backend failed (connection, node error).
    #[error("the anchor chain failed: {0}")]
    Backend(String),
}

/// What an accepted call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Receipt {
    /// Gas used by the transaction (`None` on a chain without gas: the
    /// in-memory test chain).
    pub gas: Option<u64>,
    /// Bytes of calldata the transaction carried (`None` likewise).
    pub calldata_bytes: Option<u64>,
}

/// A chain that holds channels' deposits and settles them.
pub trait Anchor {
    /// Submits `call` for the channel of `params`; a refused call (a
    /// revert) is an error and changes nothing.
    fn submit(&mut self, params: &ChannelParams, call: &AnchorCall)
    -> Result<Receipt, AnchorError>;

    /// The channel's events from the `from`-th on, and the index after
    /// the last one returned.
    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError>;

    /// The chain's time, in seconds.
    fn now(&self) -> u64;

    /// The adjudicator's address: what channel parameters on this chain
    /// must name.
    fn adjudicator(&self) -> Address;

    /// The chain's id: what channel parameters on this chain must name.
    fn chain_id(&self) -> u64;

    /// Moves the chain's clock forward by `seconds` (and mines a block),
    /// on chains that allow it: the test chain, the embedded chain, a
    /// development node. A real network refuses with
    /// [`AnchorError::Backend`].
    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError>;
}

#[cfg(test)]
mod tests {
    use super::AnchorCall;

    #[test]
    fn every_call_is_named_in_the_life_order() {
        let state = crate::state::State {
            channel_id: [0; 32],
            version: 0,
            commitment: [0; 32],
            allocation: vec![],
            is_final: false,
        };
        let calls = [
            AnchorCall::Deposit {
                party: 0,
                amount: 1,
            },
            AnchorCall::Conclude {
                state: state.clone(),
                signatures: vec![],
            },
            AnchorCall::Register {
                state: state.clone(),
                signatures: vec![],
            },
            AnchorCall::Finalize { state },
            AnchorCall::Withdraw { party: 0 },
        ];
        let names: Vec<&str> = calls.iter().map(AnchorCall::name).collect();
        assert_eq!(names, AnchorCall::NAMES);
    }
}
