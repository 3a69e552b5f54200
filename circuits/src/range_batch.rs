//! Placeholder with the agreed interface until the batch replay lands.
#![allow(dead_code, unused_variables, reason = "placeholder")]
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::msm::Accumulator;

pub(crate) fn h_generators(_party: usize) -> &'static [RistrettoPoint] {
    &[]
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RangeReplayError {
    #[error("unimplemented")]
    Format { reason: &'static str },
}

pub(crate) struct RangeProofParts;

impl RangeProofParts {
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, RangeReplayError> {
        Ok(RangeProofParts)
    }
}

pub(crate) fn vartime_add_range_check(
    parts: &RangeProofParts,
    transcript: &mut Transcript,
    commitments: &[(CompressedRistretto, RistrettoPoint)],
    n: usize,
    weight: Scalar,
    rng: &mut (impl RngCore + CryptoRng),
    acc: &mut Accumulator,
) -> Result<(), RangeReplayError> {
    Err(RangeReplayError::Format {
        reason: "unimplemented",
    })
}
