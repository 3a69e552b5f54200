//! What a party keeps of a channel across restarts: its [`Record`] (public
//! to the parties: states, signatures, phase) and its [`Secret`] (its
//! private field openings). The state machine writes both, with the
//! signing-record entries of the step, in one store transaction. The
//! encodings are in [`super::wire`].

use std::collections::BTreeMap;

use sotto_circuits::{Commitment, Opening, Proof};

use super::message::Offer;
use super::update::ChannelView;
use crate::state::{ChannelParams, Signature, State};

/// Where a channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Exchanging opening commitments and signing version 0.
    Opening,
    /// Version 0 is fully signed; waiting for every deposit to confirm.
    Funding,
    /// Open for updates.
    Open,
    /// A final state is fully signed; waiting for the cooperative close to
    /// settle on chain.
    Closing,
    /// A state is registered on chain; refuting stale ones, then settling.
    Disputing,
    /// Settled, or abandoned before any deposit.
    Closed,
}

impl Phase {
    /// Every phase, in wire-tag order.
    pub const ALL: [Phase; 6] = [
        Phase::Opening,
        Phase::Funding,
        Phase::Open,
        Phase::Closing,
        Phase::Disputing,
        Phase::Closed,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Opening => "opening",
            Phase::Funding => "funding",
            Phase::Open => "open",
            Phase::Closing => "closing",
            Phase::Disputing => "disputing",
            Phase::Closed => "closed",
        }
    }
}

/// A proposal this party has signed (as proposer or countersigner) that is
/// not yet fully signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Who proposed it.
    pub proposer: u32,
    /// The proposal.
    pub offer: Offer,
    /// The view once it is fully signed.
    pub next: ChannelView,
    /// The signatures collected on its state, in party order.
    pub signatures: Vec<Option<Signature>>,
}

/// A party's durable record of one channel (nothing secret in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The channel's parameters.
    pub params: ChannelParams,
    /// This party's index.
    pub me: u32,
    /// The agreed deposit of each party.
    pub deposits: Vec<u64>,
    /// The phase.
    pub phase: Phase,
    /// During opening, each party's opening commitments once received and
    /// verified.
    pub commitments: Vec<Option<BTreeMap<u32, Commitment>>>,
    /// This party's own opening message (its commitments' range proof), to
    /// resend after a restart.
    pub my_proof: Option<Box<Proof>>,
    /// The latest state: version 0 while opening, the latest fully signed
    /// one after.
    pub view: Option<ChannelView>,
    /// The signatures on `view`'s state, in party order (all present once
    /// it is fully signed).
    pub signatures: Vec<Option<Signature>>,
    /// The next state, once this party has signed it.
    pub pending: Option<Box<Pending>>,
    /// Each party's confirmed deposit on chain.
    pub funded: Vec<u64>,
    /// When the outstanding request times out (the party's clock).
    pub deadline: Option<u64>,
    /// Private values other parties revealed: field index → value.
    pub revealed: BTreeMap<u32, u64>,
    /// The state registered on chain, and the end of its challenge period.
    pub registered: Option<(State, u64)>,
    /// The settled allocation, once concluded.
    pub concluded: Option<Vec<u64>>,
}

/// A party's secrets for one channel: the openings of its private fields
/// (each zeroized when dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secret {
    /// Openings as of `Record::view`.
    pub openings: BTreeMap<u32, Opening>,
    /// Openings as of `Record::pending`, when this party proposed it.
    pub next: Option<BTreeMap<u32, Opening>>,
}
