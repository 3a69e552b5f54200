//! What a proof is bound to, and the transcript that binds it.
//!
//! Every proof's merlin transcript first absorbs a domain label, the
//! [`ProofContext`] (contract id, channel id, version, function), the whole
//! program, the public inputs and every commitment. All challenges are drawn
//! after that, so a proof verifies for that exact update and nothing else:
//! not another channel, not another version, not another function.

use merlin::Transcript;

use crate::commitment::Commitment;
use crate::program::Program;

/// The update a proof belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProofContext {
    /// The contract id (hash of the contract module).
    pub contract_id: [u8; 32],
    /// The channel id (keccak256 of the channel parameters).
    pub channel_id: [u8; 32],
    /// The version of the state this update produces.
    pub version: u64,
    /// The contract function being called.
    pub function: String,
}

/// Starts a proof transcript: Steps 1 to 5 of the binding in
/// `docs/notes/proofs.md`. Prover and verifier call exactly this.
pub(crate) fn bound_transcript(
    context: &ProofContext,
    program_bytes: &[u8],
    publics: &[u64],
    commitments: &[Commitment],
) -> Transcript {
    // Step 1) Domain separation: which protocol and which version of it.
    let mut t = Transcript::new(b"sotto.circuits");
    t.append_message(b"dom-sep", b"sotto proof v1");
    // Step 2) The update: merlin frames every message with its length, so the
    // variable-length function name cannot run into what follows.
    t.append_message(b"contract-id", &context.contract_id);
    t.append_message(b"channel-id", &context.channel_id);
    t.append_u64(b"version", context.version);
    t.append_message(b"function", context.function.as_bytes());
    // Step 3) The statement: the program, in its canonical encoding.
    t.append_message(b"program", program_bytes);
    // Step 4) The public inputs.
    t.append_u64(b"publics", publics.len() as u64);
    for p in publics {
        t.append_u64(b"public", *p);
    }
    // Step 5) The commitments to the private variables.
    t.append_u64(b"commitments", commitments.len() as u64);
    for c in commitments {
        t.append_message(b"C", c.compressed().as_bytes());
    }
    t
}

/// Converts program integers (coefficients, constants, public inputs) to scalars.
pub(crate) fn scalar_i128(v: i128) -> curve25519_dalek::scalar::Scalar {
    use curve25519_dalek::scalar::Scalar;
    if v >= 0 {
        Scalar::from(v.unsigned_abs())
    } else {
        -Scalar::from(v.unsigned_abs())
    }
}

/// Exposes the program for binding; keeps the call sites short.
pub(crate) fn program_bytes(program: &Program) -> Vec<u8> {
    program.encode()
}
