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
pub mod swap;

use thiserror::Error;

pub use adaptor::{AdaptorError, AdaptorSignature};
pub use announcement::{Announcement, Attestation, Attested, OracleKey, Outcome, Outcomes};
pub use bet::{Bet, BetError, BetSignatures, BetTerms, Payouts, Settlement};
pub use http::{FetchError, OracleServer, ServerError, fetch_announcement, fetch_attestation};
pub use store::{OracleStore, StoreError, StoreReader};
pub use swap::{Completed, Leg, Swap, SwapError, SwapSecret};

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

/// The fuzz body of the `oracle` target: the first byte picks a decoder,
/// the rest is its input. `0`: an announcement's JSON; `1`: an
/// attestation's JSON, then checked against a fixed announcement; `2`: a
/// party's bet signatures, then verified against a fixed three-outcome bet;
/// `3`: 162 bytes as an adaptor signature, verified and decrypted with
/// fixed keys. Nothing may panic; whatever decodes re-encodes to an equal
/// value.
pub fn fuzz_decode(data: &[u8]) {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let Some(fixture) = fuzzing::fixture() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(ann) = Announcement::from_json(text)
            {
                assert_eq!(Announcement::from_json(&ann.to_json()).ok(), Some(ann));
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(att) = Attestation::from_json(text)
            {
                assert_eq!(
                    Attestation::from_json(&att.to_json()).ok(),
                    Some(att.clone())
                );
                if let Ok(attested) = fixture.announcement.verify(&att) {
                    // Only the oracle's own attestation verifies.
                    assert!(matches!(attested.outcome, Outcome::Enumerated(0..=2)));
                }
            }
        }
        2 => {
            if let Ok(sigs) = BetSignatures::from_bytes(rest) {
                assert_eq!(
                    BetSignatures::from_bytes(&sigs.to_bytes()).as_ref(),
                    Ok(&sigs)
                );
                let _ = fixture.bet.verify(0, &sigs);
                let _ = fixture.bet.verify(1, &sigs);
            }
        }
        _ => {
            if let Ok(adaptor) = AdaptorSignature::from_bytes(rest) {
                let digest = [7u8; 32];
                let _ = adaptor.verify(&digest, &fixture.signer, &fixture.point);
                let _ = adaptor.decrypt(&fixture.secret, &digest, &fixture.signer);
            }
        }
    }
}

/// The fixed values the fuzz body checks decoded input against.
mod fuzzing {
    use std::sync::OnceLock;

    use secp256k1_zkp::{PublicKey, SECP256K1, SecretKey};

    use super::{Announcement, Bet, BetTerms, OracleKey, Outcomes, Payouts};
    use crate::state::keys::{Address, SigningKey};
    use crate::state::{ChannelParams, State};

    pub(super) struct Fixture {
        pub(super) announcement: Announcement,
        pub(super) bet: Bet,
        pub(super) signer: PublicKey,
        pub(super) secret: SecretKey,
        pub(super) point: PublicKey,
    }

    pub(super) fn fixture() -> Option<&'static Fixture> {
        static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
        FIXTURE.get_or_init(build).as_ref()
    }

    fn build() -> Option<Fixture> {
        let oracle = OracleKey::from_bytes(&[0x0c; 32])?;
        let names = ["a", "b", "c"].map(String::from).to_vec();
        let announcement = oracle
            .announce("fuzz", 0, Outcomes::Enumerated(names))
            .ok()?;
        let alice = SigningKey::from_bytes(&[0x11; 32])?;
        let bob = SigningKey::from_bytes(&[0x22; 32])?;
        let params = ChannelParams {
            participants: vec![alice.address(), bob.address()],
            nonce: 1,
            challenge_period: 10,
            contract_id: [1; 32],
            asset: Address([0; 20]),
            adjudicator: Address([2; 20]),
            chain_id: 1,
        };
        let base = State {
            channel_id: params.channel_id(),
            version: 1,
            commitment: [3; 32],
            allocation: vec![5, 5],
            is_final: false,
        };
        let bet = Bet::new(
            &params,
            &base,
            BetTerms {
                announcements: vec![announcement.clone()],
                threshold: 1,
                payouts: Payouts::Enumerated(vec![vec![10, 0], vec![5, 5], vec![0, 10]]),
                refund_after: Some(100),
            },
        )
        .ok()?;
        let secret = SecretKey::from_slice(&[0x44; 32]).ok()?;
        Some(Fixture {
            announcement,
            bet,
            signer: alice.public_key(),
            point: PublicKey::from_secret_key(SECP256K1, &secret),
            secret,
        })
    }

    /// Seed inputs for the corpus: one valid input per decoder.
    pub(crate) fn seeds() -> Vec<Vec<u8>> {
        let Some(f) = fixture() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut tagged = |tag: u8, body: &[u8]| {
            let mut v = vec![tag];
            v.extend_from_slice(body);
            out.push(v);
        };
        tagged(0, f.announcement.to_json().as_bytes());
        if let Some(oracle) = OracleKey::from_bytes(&[0x0c; 32])
            && let Ok(att) = oracle.attest(&f.announcement, super::Outcome::Enumerated(1))
        {
            tagged(1, att.to_json().as_bytes());
        }
        if let Some(alice) = SigningKey::from_bytes(&[0x11; 32]) {
            tagged(2, &f.bet.sign(&alice).to_bytes());
            let adaptor = super::AdaptorSignature::sign(&alice, &[7u8; 32], &f.point);
            tagged(3, &adaptor.to_bytes());
        }
        out
    }
}

/// Seed inputs of the `oracle` fuzz target, one valid input per decoder
/// (the stable twin checks that each decodes).
#[doc(hidden)]
pub fn fuzz_seeds() -> Vec<Vec<u8>> {
    fuzzing::seeds()
}
