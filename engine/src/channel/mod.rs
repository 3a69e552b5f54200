//! The update protocol. Built so far: one update step, proposer and
//! receiver ([`update`]), as pure functions over a [`ChannelView`], and the
//! range proof of each owner's opening commitments ([`prove_openings`],
//! [`verify_openings`]). The
//! state machine around it (open, crossing proposals, timeouts, close,
//! dispute) and its store are next.

pub mod local;
pub mod update;

pub use update::{
    ChannelView, Proposal, ProposeError, Rejection, Update, propose, prove_openings,
    verify_openings, verify_update,
};
