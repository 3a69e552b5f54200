//! Channel parameters, states, and their signatures, encoded exactly as the
//! Solidity adjudicator decodes them.
//!
//! - [`ChannelParams`]: the participants' addresses, a nonce, the challenge
//!   period, the contract id, the asset, the adjudicator's address and the
//!   chain id. The channel id is `keccak256(abi.encode(params))`
//!   ([`ChannelParams::channel_id`]), so a channel is bound to one chain,
//!   one adjudicator and one contract.
//! - [`State`]: channel id, version, state commitment, allocation, final
//!   flag; [`State::encode`] is `abi.encode(state)` (alloy-sol-types, not a
//!   hand-written encoder), and [`State::digest`] is the `keccak256` of it,
//!   the 32 bytes every participant signs and the adjudicator passes to
//!   `ecrecover` (no EIP-191 prefix: the digest is already domain-separated
//!   by the channel id, which commits to the chain and the adjudicator).
//! - [`state_commitment`]: `keccak256` of the canonical public state
//!   encoding followed by each private field's 32-byte Pedersen commitment,
//!   in ABI field order: what the chain sees of a state's contents on a
//!   dispute.
//! - [`keys`]: signing keys, kept in a 0600 key file, never printed;
//!   [`Signature`]s in the 65-byte `r ‖ s ‖ v` form `ecrecover` accepts
//!   (low `s`, `v` 27 or 28), and recovery of the signer's address.
//! - [`signer`]: a signer that refuses to sign a second, different state
//!   with a version it has already signed, keeping that record durably.
//!
//! **Invariant:** the encodings here are the adjudicator's; a test vector
//! shared with the Solidity tests (the anchor-chain issue) pins them.

pub mod keys;
pub mod signer;

use alloy_primitives::{Address as SolAddress, B256, U256};
use alloy_sol_types::{SolValue as _, sol};
use sha3::{Digest as _, Keccak256};
use sotto_circuits::Commitment;

pub use keys::{Address, AddressParseError, KeyError, Signature, SigningKey, recover};
pub use signer::{SignError, Signer};

sol! {
    /// `ChannelParams` as the adjudicator declares it.
    struct SolParams {
        address[] participants;
        uint256 nonce;
        uint64 challengePeriod;
        bytes32 contractId;
        address asset;
        address adjudicator;
        uint256 chainId;
    }

    /// `State` as the adjudicator declares it.
    struct SolState {
        bytes32 channelId;
        uint64 version;
        bytes32 commitment;
        uint256[] allocation;
        bool isFinal;
    }
}

/// What fixes a channel: who, on which chain and adjudicator, under which
/// contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelParams {
    /// The participants' addresses, in the contract's party order.
    pub participants: Vec<Address>,
    /// Distinguishes channels with otherwise equal parameters.
    pub nonce: u64,
    /// Seconds a registered dispute stays open to refutation.
    pub challenge_period: u64,
    /// The contract id (SHA-256 of the contract module).
    pub contract_id: [u8; 32],
    /// The asset: the zero address for the chain's native coin, an ERC-20
    /// contract's address otherwise.
    pub asset: Address,
    /// The adjudicator contract's address.
    pub adjudicator: Address,
    /// The anchor chain's id.
    pub chain_id: u64,
}

impl ChannelParams {
    /// `abi.encode(params)`.
    pub fn encode(&self) -> Vec<u8> {
        SolParams {
            participants: self
                .participants
                .iter()
                .map(|a| SolAddress::from(a.0))
                .collect(),
            nonce: U256::from(self.nonce),
            challengePeriod: self.challenge_period,
            contractId: B256::from(self.contract_id),
            asset: SolAddress::from(self.asset.0),
            adjudicator: SolAddress::from(self.adjudicator.0),
            chainId: U256::from(self.chain_id),
        }
        .abi_encode()
    }

    /// `keccak256(abi.encode(params))`.
    pub fn channel_id(&self) -> [u8; 32] {
        Keccak256::digest(self.encode()).into()
    }
}

/// One state of a channel: what every participant signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The channel.
    pub channel_id: [u8; 32],
    /// Increases by one with every update.
    pub version: u64,
    /// [`state_commitment`] of the contract state.
    pub commitment: [u8; 32],
    /// What each participant is paid if the channel ends in this state
    /// (the *signed* allocation), in party order.
    pub allocation: Vec<u64>,
    /// Whether the contract marked it final (`finish`).
    pub is_final: bool,
}

impl State {
    /// `abi.encode(state)`.
    pub fn encode(&self) -> Vec<u8> {
        SolState {
            channelId: B256::from(self.channel_id),
            version: self.version,
            commitment: B256::from(self.commitment),
            allocation: self.allocation.iter().map(|a| U256::from(*a)).collect(),
            isFinal: self.is_final,
        }
        .abi_encode()
    }

    /// `keccak256(abi.encode(state))`: the digest every participant signs.
    pub fn digest(&self) -> [u8; 32] {
        Keccak256::digest(self.encode()).into()
    }
}

/// When a time-bounded state may be registered: from `not_before` (chain
/// time, seconds) until before `not_after`; 0 for either means no bound.
/// The adjudicator checks it (`registerTimed`); its participants sign
/// [`State::timed_digest`], so the window cannot be moved and the
/// signatures are worth nothing as a plain state's. A refund that applies
/// only after a deadline, and a swap offer that lapses at one, are such
/// states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// The earliest time it may be registered (0: any time).
    pub not_before: u64,
    /// The time from which it may no longer be registered (0: never).
    pub not_after: u64,
}

impl Window {
    /// Whether `now` is inside the window.
    pub fn contains(&self, now: u64) -> bool {
        now >= self.not_before && (self.not_after == 0 || now < self.not_after)
    }
}

/// `keccak256("sotto/timed-state/v1")`, the adjudicator's `TIMED`.
fn timed_tag() -> [u8; 32] {
    Keccak256::digest(b"sotto/timed-state/v1").into()
}

impl State {
    /// `keccak256(abi.encode(TIMED, digest, not_before, not_after))`: what
    /// every participant signs of this state bounded by `window`, as the
    /// adjudicator's `timedDigest` computes it.
    pub fn timed_digest(&self, window: &Window) -> [u8; 32] {
        let mut encoded = [0u8; 128];
        encoded[..32].copy_from_slice(&timed_tag());
        encoded[32..64].copy_from_slice(&self.digest());
        encoded[88..96].copy_from_slice(&window.not_before.to_be_bytes());
        encoded[120..128].copy_from_slice(&window.not_after.to_be_bytes());
        Keccak256::digest(encoded).into()
    }
}

/// `keccak256(public ‖ c₁ ‖ … ‖ cₙ)`: the canonical public state encoding
/// (`sandbox::encode_state`) followed by the private fields' commitments in
/// ABI field order.
pub fn state_commitment(public: &[u8], private: &[Commitment]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(public);
    for c in private {
        h.update(c.to_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ChannelParams {
        ChannelParams {
            participants: vec![Address([0x11; 20]), Address([0x22; 20])],
            nonce: 7,
            challenge_period: 3600,
            contract_id: [0xc0; 32],
            asset: Address([0; 20]),
            adjudicator: Address([0xad; 20]),
            chain_id: 31337,
        }
    }

    #[test]
    fn the_channel_id_binds_every_parameter() {
        let base = params().channel_id();
        let changes: [fn(&mut ChannelParams); 7] = [
            |p| p.participants.swap(0, 1),
            |p| p.nonce += 1,
            |p| p.challenge_period += 1,
            |p| p.contract_id[31] ^= 1,
            |p| p.asset.0[0] = 1,
            |p| p.adjudicator.0[19] ^= 1,
            |p| p.chain_id = 1,
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut p = params();
            change(&mut p);
            assert_ne!(p.channel_id(), base, "parameter {i} is not bound");
        }
    }

    #[test]
    fn a_state_encodes_as_solidity_abi_encode() {
        let s = State {
            channel_id: [0xab; 32],
            version: 5,
            commitment: [0xcd; 32],
            allocation: vec![70, 30],
            is_final: true,
        };
        let e = s.encode();
        // abi.encode of a tuple with a dynamic member: an offset word, then
        // the head (5 words: id, version, commitment, offset of the array,
        // isFinal), then the array (length, then the elements).
        let word = |i: usize| &e[32 * i..32 * (i + 1)];
        assert_eq!(e.len(), 32 * (1 + 5 + 1 + 2));
        assert_eq!(word(0)[31], 0x20);
        assert_eq!(word(1), [0xab; 32]);
        assert_eq!(word(2)[31], 5);
        assert_eq!(word(3), [0xcd; 32]);
        assert_eq!(word(4)[31], 0xa0);
        assert_eq!(word(5)[31], 1);
        assert_eq!(word(6)[31], 2);
        assert_eq!(word(7)[31], 70);
        assert_eq!(word(8)[31], 30);
        // Every field moves the digest.
        let mut t = s.clone();
        t.allocation = vec![71, 29];
        assert_ne!(t.digest(), s.digest());
    }

    #[test]
    fn the_state_commitment_covers_public_and_private_parts() {
        let mut rng = rand::thread_rng();
        let c = sotto_circuits::Opening::random(5, &mut rng).commit();
        let d = sotto_circuits::Opening::random(5, &mut rng).commit();
        let base = state_commitment(b"\x01pub", &[c]);
        assert_ne!(state_commitment(b"\x01puc", &[c]), base);
        assert_ne!(state_commitment(b"\x01pub", &[d]), base);
        assert_ne!(state_commitment(b"\x01pub", &[]), base);
    }
}
