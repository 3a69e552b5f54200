//! Oracles and what they settle: announcements and attestations
//! ([`announcement`]), adaptor signatures on channel states ([`adaptor`]),
//! bets on an oracle's outcome ([`bet`]), numeric outcomes as digits
//! ([`numeric`]); and the oracle as a service: its directory of key,
//! announcements and attestations ([`store`], which attests at most one
//! outcome per event, durably, before releasing it), served and fetched
//! over HTTP ([`http`]).
//!
//! The construction is the Discreet Log Contract's, on sotto's channel
//! states instead of Bitcoin transactions: an oracle announces the nonces
//! it will sign an event's outcome with, so the point that its attestation
//! of each outcome will open is known in advance; the parties to a bet
//! exchange adaptor signatures of each outcome's state encrypted under that
//! outcome's point; the attestation decrypts exactly one. The oracle never
//! learns that the bet exists, and the chain sees an ordinary state.
//!
//! **Architecture invariant:** nothing here does I/O except [`store`]
//! (files) and [`http`] (the network); the rest is pure computation over
//! keys, states and messages, as the channel protocol is.

pub mod adaptor;
pub mod announcement;
pub mod bet;
pub mod http;
pub mod numeric;
mod schnorr;
pub mod store;

use thiserror::Error;

pub use adaptor::{AdaptorError, AdaptorSignature};
pub use announcement::{Announcement, Attestation, Attested, OracleKey, Outcome, Outcomes};
pub use bet::{Bet, BetError, BetSignatures, BetTerms, Payouts, Settlement};
pub use http::{FetchError, OracleServer, ServerError, fetch_announcement, fetch_attestation};
pub use store::{OracleStore, StoreError, StoreReader};

/// Why an announcement or an attestation is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OracleError {
    /// The text is not an announcement or attestation (JSON shape, hex,
    /// lengths, curve points).
    #[error("malformed: {0}")]
    Malformed(String),
    /// A field is outside its limits (event id, outcomes, numeric domain).
    #[error("{0}")]
    Invalid(String),
    /// The announcement's signature is not its oracle's.
    #[error("the announcement is not signed by the oracle it names")]
    BadAnnouncementSignature,
    /// The attestation is by another oracle than the announcement's.
    #[error("the attestation is by another oracle")]
    WrongOracle,
    /// The attestation is of another event.
    #[error("the attestation is of event `{got}`, not `{expected}`")]
    WrongEvent {
        /// The announcement's event.
        expected: String,
        /// The attestation's.
        got: String,
    },
    /// The outcome is not one the announcement lists.
    #[error("outcome `{0}` is not one the announcement lists")]
    UnknownOutcome(String),
    /// The attestation has the wrong number of signatures.
    #[error("the attestation has {got} signatures; the announcement needs {expected}")]
    SignatureCount {
        /// What the announcement needs.
        expected: usize,
        /// What it has.
        got: usize,
    },
    /// Signature `index` does not use the announced nonce.
    #[error("signature #{index} does not use the announced nonce")]
    WrongNonce {
        /// The signature's position.
        index: usize,
    },
    /// Signature `index` is not the oracle's signature of the outcome.
    #[error("signature #{index} is not the oracle's signature of the outcome")]
    BadSignature {
        /// The signature's position.
        index: usize,
    },
    /// A hash or a sum of points came out as zero (probability about
    /// 2⁻¹²⁸ for honest inputs).
    #[error("a degenerate value (a zero scalar or point); try another event id")]
    Degenerate,
}
