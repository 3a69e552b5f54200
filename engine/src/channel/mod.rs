//! The update protocol. Built so far: one update step, proposer and
//! receiver ([`update`]), as pure functions over a [`ChannelView`]. The
//! state machine around it (open, crossing proposals, timeouts, close,
//! dispute) and its store are next.

pub mod update;

pub use update::{ChannelView, Proposal, ProposeError, Rejection, Update, propose, verify_update};
