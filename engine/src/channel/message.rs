//! What parties send each other. The wire encoding is in [`super::wire`].

use std::collections::BTreeMap;

use sotto_circuits::{Commitment, Opening, Proof};

use super::update::{Rejection, Update};
use crate::sandbox::CallError;
use crate::state::{ChannelParams, Signature, State};

/// One protocol message. Every message is about the channel the transport
/// delivers it for; its sender is the transport's authenticated peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Opening: the sender's private fields' opening commitments, by field
    /// index, and the proof that their values are in range (`None` when it
    /// owns no private field).
    Open {
        /// Field index → commitment.
        commitments: BTreeMap<u32, Commitment>,
        /// The range proof of the openings.
        proof: Option<Proof>,
    },
    /// A proposal for the next version. Unsigned: signatures follow once
    /// every other party has accepted it.
    Propose(Offer),
    /// The sender checked the proposal of this version and digest and will
    /// sign it once its proposer has.
    Accept {
        /// The proposal's version.
        version: u64,
        /// Its state's digest.
        digest: [u8; 32],
    },
    /// The sender refuses the proposal of this version.
    Refuse {
        /// The proposal's version.
        version: u64,
        /// Why.
        refusal: Refusal,
    },
    /// The sender abandons its proposal of this version.
    Withdraw {
        /// The version.
        version: u64,
    },
    /// The sender's signature on the state of this version and digest.
    Sign {
        /// The version.
        version: u64,
        /// The state's digest.
        digest: [u8; 32],
        /// The signature over the digest.
        signature: Signature,
    },
    /// The opening of one of the sender's private fields, as of the latest
    /// fully signed state.
    Reveal {
        /// The field's index.
        field: u32,
        /// The opening (value and blinding).
        opening: Opening,
    },
    /// The sender (re)started or reconnected with `version` as its latest
    /// fully signed state (`None` before the channel opened): resend what
    /// it may have missed.
    Resync {
        /// Its latest fully signed version.
        version: Option<u64>,
    },
}

/// What a proposal asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every offer is a call; boxing it would only add an allocation"
)]
pub enum Offer {
    /// A function call.
    Call(Update),
    /// Several calls by one proposer, each on the state the one before it
    /// leaves (versions one apart); only the last state is signed, so a
    /// backlog of calls costs one signing round. The receiver checks each
    /// call as if it came alone.
    Batch {
        /// The calls before the last, in order (at least one; at most
        /// [`MAX_BATCH`] calls in all).
        earlier: Vec<Update>,
        /// The last call: its state is the one signed.
        last: Update,
    },
    /// Cooperative close: the current state again, one version on, final.
    Close(State),
}

/// Most calls in one [`Offer::Batch`].
pub const MAX_BATCH: usize = 64;

impl Offer {
    /// The state proposed (to be signed).
    pub fn state(&self) -> &State {
        match self {
            Offer::Call(u) | Offer::Batch { last: u, .. } => &u.state,
            Offer::Close(s) => s,
        }
    }

    /// The calls, in order (none for a close).
    pub fn calls(&self) -> Vec<&Update> {
        match self {
            Offer::Call(u) => vec![u],
            Offer::Batch { earlier, last } => earlier.iter().chain(Some(last)).collect(),
            Offer::Close(_) => Vec::new(),
        }
    }

    /// The function called, `"(batch)"`, or `"(close)"`.
    pub fn function(&self) -> &str {
        match self {
            Offer::Call(u) => &u.function,
            Offer::Batch { .. } => "(batch)",
            Offer::Close(_) => "(close)",
        }
    }
}

/// Why a party refused a proposal: a kind to act on, and a readable
/// detail (the contract's own `require` reason for [`RefusalKind::Aborted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind.
    pub kind: RefusalKind,
    /// What exactly.
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// The kinds of [`Refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// Not the next version (a stale or replayed proposal included).
    Version,
    /// The state names another channel.
    Channel,
    /// No such function.
    Function,
    /// The proposer may not call the function.
    Caller,
    /// The contract refused: `detail` is its `require` reason.
    Aborted,
    /// Re-execution failed otherwise (fuel, memory, trap).
    Execution,
    /// Re-execution gives another state than the one proposed.
    Mismatch,
    /// The commitments do not fit the circuit.
    Commitments,
    /// The proof does not verify.
    Proof,
    /// The allocation does not add up to the deposits.
    Conservation,
    /// Another proposal for this version goes first (the lower party
    /// index wins); the refused call is retried after it.
    Crossing,
    /// The channel is not open for updates (opening, closing, disputed).
    Phase,
    /// A close offer that is not the current state, one version on, final.
    Close,
    /// The proposal's time is too far from the receiver's clock.
    Clock,
    /// A signature that is not the sender's over the state it names.
    Signature,
    /// Opening commitments that are not the sender's private fields, or
    /// whose range proof fails.
    Opening,
    /// A revealed opening that does not open the field's commitment.
    Reveal,
    /// A message that fits no state of the channel (stale, replayed, or for
    /// a proposal that does not exist).
    Unexpected,
}

impl RefusalKind {
    /// Every kind, in wire-tag order.
    pub const ALL: [RefusalKind; 18] = [
        RefusalKind::Version,
        RefusalKind::Channel,
        RefusalKind::Function,
        RefusalKind::Caller,
        RefusalKind::Aborted,
        RefusalKind::Execution,
        RefusalKind::Mismatch,
        RefusalKind::Commitments,
        RefusalKind::Proof,
        RefusalKind::Conservation,
        RefusalKind::Crossing,
        RefusalKind::Phase,
        RefusalKind::Close,
        RefusalKind::Clock,
        RefusalKind::Signature,
        RefusalKind::Opening,
        RefusalKind::Reveal,
        RefusalKind::Unexpected,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            RefusalKind::Version => "version",
            RefusalKind::Channel => "channel",
            RefusalKind::Function => "function",
            RefusalKind::Caller => "caller",
            RefusalKind::Aborted => "aborted",
            RefusalKind::Execution => "execution",
            RefusalKind::Mismatch => "mismatch",
            RefusalKind::Commitments => "commitments",
            RefusalKind::Proof => "proof",
            RefusalKind::Conservation => "conservation",
            RefusalKind::Crossing => "crossing",
            RefusalKind::Phase => "phase",
            RefusalKind::Close => "close",
            RefusalKind::Clock => "clock",
            RefusalKind::Signature => "signature",
            RefusalKind::Opening => "opening",
            RefusalKind::Reveal => "reveal",
            RefusalKind::Unexpected => "unexpected",
        }
    }
}

impl Refusal {
    /// A refusal of `kind` with `detail`.
    pub fn new(kind: RefusalKind, detail: impl Into<String>) -> Self {
        Refusal {
            kind,
            detail: detail.into(),
        }
    }
}

impl From<&Rejection> for Refusal {
    fn from(r: &Rejection) -> Self {
        let kind = match r {
            Rejection::Version { .. } => RefusalKind::Version,
            Rejection::Channel => RefusalKind::Channel,
            Rejection::UnknownFunction(_) => RefusalKind::Function,
            Rejection::Signature { .. } => RefusalKind::Caller,
            Rejection::Execution(CallError::Aborted { reason }) => {
                return Refusal::new(RefusalKind::Aborted, reason.clone());
            }
            Rejection::Execution(_) => RefusalKind::Execution,
            Rejection::Mismatch { .. } => RefusalKind::Mismatch,
            Rejection::Commitments { .. } => RefusalKind::Commitments,
            Rejection::Proof(_) => RefusalKind::Proof,
            Rejection::Conservation { .. } => RefusalKind::Conservation,
        };
        Refusal::new(kind, r.to_string())
    }
}

/// What one node sends another: a channel's [`Message`] with the channel it
/// is for, or the invitation that opens a channel. The sender is the
/// transport's authenticated peer; a node maps it to its party index
/// through the channel's participants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMessage {
    /// An invitation to a channel of these parameters (the recipient is one
    /// of the participants) with these deposits, running this contract
    /// module. The sender's `Open` message for the channel follows it.
    Invite {
        /// The channel's parameters.
        params: ChannelParams,
        /// Every participant's deposit, in party order.
        deposits: Vec<u64>,
        /// The contract's module bytes (its id must be the parameters'
        /// contract id).
        module: Vec<u8>,
    },
    /// The recipient's invitation to this channel is declined.
    Decline {
        /// The channel.
        channel_id: [u8; 32],
        /// Why, for the inviter's user.
        reason: String,
    },
    /// A protocol message for a channel both nodes take part in.
    Channel {
        /// The channel.
        channel_id: [u8; 32],
        /// The message (boxed: it is over 1 KiB inline).
        message: Box<Message>,
    },
}
