//! # sotto-circuits
//!
//! Confidential values and the proofs about them. A party keeps a private
//! contract value as a Pedersen [`Commitment`]; every state update that
//! touches private values carries one [`Proof`] that the committed values
//! satisfy the function's constraint [`Program`], bound by its transcript to
//! that exact update ([`ProofContext`]).
//!
//! The proofs are built from bulletproofs 5.0.0's aggregated [`RangeProof`]
//! (its R1CS module does not build against curve25519-dalek 4), Pedersen
//! homomorphism, and our own Σ-protocols over merlin transcripts: a
//! commit-and-prove design as in Zether's Σ-Bullets. Linear relations cost
//! one Schnorr proof, comparisons one range entry, products and set
//! membership a small Σ-proof.
//!
//! ```
//! use sotto_circuits::*;
//! let mut b = ProgramBuilder::new();
//! let (alice, bob) = (b.var("alice"), b.var("bob"));
//! let total = b.public("total");
//! b.range(alice, RangeBits::B64).range(bob, RangeBits::B64);
//! // alice + bob = total: value is conserved, the split stays private.
//! b.linear(LinExpr::term(alice).plus(1, bob).plus(-1, total));
//! let program = b.build()?;
//!
//! let mut rng = rand::thread_rng();
//! let witness = [Opening::random(30, &mut rng), Opening::random(70, &mut rng)];
//! let commitments: Vec<_> = witness.iter().map(Opening::commit).collect();
//! let context = ProofContext { contract_id: [1; 32], channel_id: [2; 32], version: 7, function: "split".into() };
//!
//! let proof = prove(&program, &witness, &[100], &context)?;
//! verify(&program, &commitments, &[100], &context, &proof)?;
//! // The same proof says nothing about another version of the channel.
//! let replay = ProofContext { version: 8, ..context };
//! assert!(verify(&program, &commitments, &[100], &replay, &proof).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Equations and soundness arguments: `docs/notes/proofs.md`. What a
//! commitment and a proof reveal: `docs/privacy.md`.
//!
//! [`RangeProof`]: bulletproofs::RangeProof
#![deny(missing_docs)]

pub mod codec;
mod commitment;
mod context;
mod errors;
pub mod fuzzing;
mod lower;
mod msm;
mod program;
mod proof;
mod range_batch;
#[doc = include_str!("../../docs/notes/proofs.md")]
pub mod notes {}
pub mod samples;
mod sigma;

pub use commitment::{Commitment, Opening};
pub use context::ProofContext;
pub use errors::{BatchError, DecodeError, ProgramError, ProveError, VerifyError};
pub use msm::{MAX_RANGE_ENTRIES, pedersen_gens};
pub use program::{
    CmpOp, Constraint, LinExpr, MAX_COEFF, MAX_ITEMS, MAX_NAME, MAX_SET, MAX_TERMS,
    PROGRAM_FORMAT_VERSION, Program, ProgramBuilder, PubId, RangeBits, Term, VarDecl, VarId,
};
pub use proof::{
    BatchItem, PROOF_FORMAT_VERSION, Proof, batch_verify, batch_verify_with_rng,
    estimated_proof_size, prove, prove_with_rng, verify, verify_with_rng,
};

/// Re-exported so callers need not depend on curve25519-dalek for blindings.
pub use curve25519_dalek::scalar::Scalar;
