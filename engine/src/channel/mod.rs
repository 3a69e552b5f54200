//! The update protocol.
//!
//! - [`update`]: one update step as pure functions over a [`ChannelView`]:
//!   the proposer runs and proves ([`propose`]), a receiver re-executes and
//!   verifies ([`verify_update`]); the range proof of each owner's opening
//!   commitments ([`prove_openings`], [`verify_openings`]).
//! - [`machine`]: the whole protocol as a pure state machine per party
//!   (open, fund, update, crossing proposals, reveal, close, timeouts and
//!   disputes). It takes messages, chain events and the time, and returns
//!   the record to persist, the messages to send and the chain calls to
//!   make.
//! - [`message`] and [`record`]: what parties send and what each keeps;
//!   [`wire`]: their byte encodings.
//! - [`sim`]: every party in one process, each with its store, over an
//!   in-memory network and a test chain: the protocol tests' harness.
//! - [`local`]: every party in one process, no store: the quickest harness.

pub mod local;
pub mod machine;
pub mod message;
pub mod record;
pub mod sim;
pub mod update;
pub mod wire;

pub use message::{Message, Offer, PeerMessage, Refusal, RefusalKind};
pub use record::{Pending, Phase, Record, Secret};
pub use update::{
    ChannelView, ProposeError, Proposed, Rejection, Update, check_signature, propose,
    prove_openings, verify_openings, verify_update,
};
