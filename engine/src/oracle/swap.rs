//! Atomic swaps between two channels, possibly on two chains, with adaptor
//! signatures under one secret point.
//!
//! Alice and Bob share a channel X (on one chain) and a channel Y (on
//! another). A swap moves value in both or in neither: on X Alice pays Bob,
//! on Y Bob pays Alice. Each *leg* is the channel's next state (version
//! `v + 1` of its latest fully signed state `v`) with the swapped
//! allocation.
//!
//! 1. Alice picks a secret `t` and its point `T = t·G`, and offers the swap
//!    with her adaptor signature of X's state under `T`
//!    ([`Swap::offer`]): useless to Bob without `t`.
//! 2. Bob checks it and answers with his adaptor signature of Y's state
//!    under `T` ([`Swap::accept`]).
//! 3. Alice decrypts Bob's with `t` and, with her own signature, holds Y's
//!    state fully signed ([`Swap::complete_y`]). To use it she must publish
//!    Bob's decrypted signature: to Bob, or in a registration on Y's chain.
//! 4. From that signature and his own adaptor signature Bob recovers `t`
//!    ([`Swap::complete_x`]), decrypts Alice's adaptor signature, and holds
//!    X's state fully signed. Completing Y therefore completes X.
//!
//! **Expiry.** Each swap state is time-bounded ([`Window`]): every
//! participant signs it together with a deadline, and the adjudicator
//! refuses to register it from then on (`registerTimed`). Y's deadline
//! comes first: Alice must complete Y before it, and Bob, who learns the
//! secret only when she does, has until X's later deadline to complete X.
//! So Alice holds no free option beyond Y's deadline, and after X's both
//! channels continue from their pre-swap states (a swap state registered
//! by nobody can no longer refute them). Choose X's deadline later than
//! Y's by more than the time Bob needs to see Y's chain and reach X's.

use secp256k1_zkp::{PublicKey, SECP256K1, SecretKey};
use sha3::{Digest as _, Keccak256};
use thiserror::Error;
use zeroize::Zeroizing;

use super::adaptor::{AdaptorError, AdaptorSignature};
use crate::state::keys::{Address, Signature, SigningKey};
use crate::state::{ChannelParams, State, Window};

/// Why a swap cannot be set up or completed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SwapError {
    /// The legs are not a swap between the same two parties.
    #[error("invalid swap: {0}")]
    Terms(String),
    /// The counterparty's adaptor signature is not for this swap.
    #[error("the {leg} leg's adaptor signature: {what}")]
    Adaptor {
        /// `X` or `Y`.
        leg: &'static str,
        /// What is wrong.
        what: AdaptorError,
    },
    /// The published signature is not Bob's signature of Y's state.
    #[error("the published signature is not the counterparty's signature of the Y leg")]
    NotPublished,
}

/// One channel's part of a swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// The channel.
    pub params: ChannelParams,
    /// Its latest fully signed state.
    pub base: State,
    /// What it pays after the swap, in party order.
    pub allocation: Vec<u64>,
    /// The chain time from which its swap state can no longer be
    /// registered.
    pub until: u64,
}

impl Leg {
    /// The leg's swap state: version `v + 1`, the swapped allocation, not
    /// final, its commitment bound to the base state's.
    pub fn state(&self) -> State {
        let mut hasher = Keccak256::new();
        hasher.update(b"sotto/swap/v1");
        hasher.update(self.base.commitment);
        for a in &self.allocation {
            hasher.update(a.to_be_bytes());
        }
        State {
            channel_id: self.base.channel_id,
            version: self.base.version.saturating_add(1),
            commitment: hasher.finalize().into(),
            allocation: self.allocation.clone(),
            is_final: false,
        }
    }

    /// The swap state's window: registrable until [`Leg::until`].
    pub fn window(&self) -> Window {
        Window {
            not_before: 0,
            not_after: self.until,
        }
    }

    fn check(&self, name: &str) -> Result<(), SwapError> {
        let bad = |m: String| Err(SwapError::Terms(format!("leg {name}: {m}")));
        if self.base.channel_id != self.params.channel_id() {
            return bad("the base state is not this channel's".into());
        }
        let sum = |a: &[u64]| a.iter().map(|x| u128::from(*x)).sum::<u128>();
        if self.allocation.len() != self.params.participants.len()
            || sum(&self.allocation) != sum(&self.base.allocation)
        {
            return bad(format!(
                "the swapped allocation {:?} does not redistribute {:?}",
                self.allocation, self.base.allocation
            ));
        }
        Ok(())
    }

    fn index(&self, who: Address) -> Option<usize> {
        self.params.participants.iter().position(|p| *p == who)
    }
}

/// A swap between two legs under one point (see the module docs).
#[derive(Debug, Clone)]
pub struct Swap {
    x: Leg,
    y: Leg,
    point: PublicKey,
    x_digest: [u8; 32],
    y_digest: [u8; 32],
}

/// A leg's state with every participant's signature (of its timed
/// digest): register it with `AnchorCall::RegisterTimed` before its
/// window closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The swap state.
    pub state: State,
    /// When it may be registered.
    pub window: Window,
    /// Every participant's signature, in party order.
    pub signatures: Vec<Signature>,
}

/// The secret of a swap: the discrete logarithm of its point. Zeroized on
/// drop; never printed.
pub struct SwapSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SwapSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwapSecret(..)")
    }
}

impl SwapSecret {
    /// A fresh secret and its point.
    pub fn generate() -> (Self, PublicKey) {
        let key = SecretKey::new(&mut rand::thread_rng());
        let point = PublicKey::from_secret_key(SECP256K1, &key);
        (SwapSecret(Zeroizing::new(key.secret_bytes())), point)
    }

    fn key(&self) -> Result<SecretKey, SwapError> {
        SecretKey::from_slice(&self.0[..]).map_err(|_| SwapError::Terms("a zero secret".into()))
    }
}

impl Swap {
    /// A swap of `x` and `y` under `point`: both legs between the same two
    /// parties (in any party order), each redistributing exactly its base
    /// state's funds.
    pub fn new(x: Leg, y: Leg, point: PublicKey) -> Result<Swap, SwapError> {
        x.check("X")?;
        y.check("Y")?;
        let mut px = x.params.participants.clone();
        let mut py = y.params.participants.clone();
        px.sort();
        py.sort();
        if px != py || px.len() != 2 {
            return Err(SwapError::Terms(
                "both legs must be channels of the same two parties".into(),
            ));
        }
        if x.params.channel_id() == y.params.channel_id() {
            return Err(SwapError::Terms("the two legs are one channel".into()));
        }
        if y.until == 0 || x.until <= y.until {
            return Err(SwapError::Terms(format!(
                "X's deadline ({}) must come after Y's ({}), and Y must have one",
                x.until, y.until
            )));
        }
        let x_digest = x.state().timed_digest(&x.window());
        let y_digest = y.state().timed_digest(&y.window());
        Ok(Swap {
            x,
            y,
            point,
            x_digest,
            y_digest,
        })
    }

    /// The X leg's swap state.
    pub fn x_state(&self) -> State {
        self.x.state()
    }

    /// The Y leg's swap state.
    pub fn y_state(&self) -> State {
        self.y.state()
    }

    /// Step 1 (Alice): her adaptor signature of X's state.
    pub fn offer(&self, alice: &SigningKey) -> AdaptorSignature {
        AdaptorSignature::sign(alice, &self.x_digest, &self.point)
    }

    /// Step 2 (Bob): checks Alice's adaptor signature of X's state, and
    /// answers with his own of Y's state.
    pub fn accept(
        &self,
        bob: &SigningKey,
        alice_offer: &AdaptorSignature,
        alice: &PublicKey,
    ) -> Result<AdaptorSignature, SwapError> {
        self.party(alice)?;
        alice_offer
            .verify(&self.x_digest, alice, &self.point)
            .map_err(|what| SwapError::Adaptor { leg: "X", what })?;
        Ok(AdaptorSignature::sign(bob, &self.y_digest, &self.point))
    }

    /// Step 3 (Alice): checks Bob's adaptor signature of Y's state and
    /// completes it with the secret.
    pub fn complete_y(
        &self,
        alice: &SigningKey,
        secret: &SwapSecret,
        bob_answer: &AdaptorSignature,
        bob: &PublicKey,
    ) -> Result<Completed, SwapError> {
        bob_answer
            .verify(&self.y_digest, bob, &self.point)
            .map_err(|what| SwapError::Adaptor { leg: "Y", what })?;
        let bobs = bob_answer
            .decrypt(&secret.key()?, &self.y_digest, bob)
            .map_err(|what| SwapError::Adaptor { leg: "Y", what })?;
        self.assemble(&self.y, &self.y_digest, alice, Address::of(bob), bobs)
    }

    /// Step 4 (Bob): from his own adaptor signature of Y's state and its
    /// decryption as published (`published`: his signature of Y's state,
    /// from Alice or from a registration's calldata), recovers the secret
    /// and completes X's state with Alice's adaptor signature.
    pub fn complete_x(
        &self,
        bob: &SigningKey,
        own_answer: &AdaptorSignature,
        published: &Signature,
        alice_offer: &AdaptorSignature,
        alice: &PublicKey,
    ) -> Result<Completed, SwapError> {
        if crate::state::keys::recover(&self.y_digest, published).ok() != Some(bob.address()) {
            return Err(SwapError::NotPublished);
        }
        let secret = own_answer
            .recover(published, &self.point)
            .map_err(|_| SwapError::NotPublished)?;
        let alices = alice_offer
            .decrypt(&secret, &self.x_digest, alice)
            .map_err(|what| SwapError::Adaptor { leg: "X", what })?;
        self.assemble(&self.x, &self.x_digest, bob, Address::of(alice), alices)
    }

    /// Checks that `key` is one of the two parties.
    fn party(&self, key: &PublicKey) -> Result<(), SwapError> {
        self.x
            .index(Address::of(key))
            .map(drop)
            .ok_or_else(|| SwapError::Terms("the key is not a party's".into()))
    }

    fn assemble(
        &self,
        leg: &Leg,
        digest: &[u8; 32],
        me: &SigningKey,
        them: Address,
        theirs: Signature,
    ) -> Result<Completed, SwapError> {
        let (Some(mine), Some(other)) = (leg.index(me.address()), leg.index(them)) else {
            return Err(SwapError::Terms("the key is not a party's".into()));
        };
        let mut signatures = vec![Signature([0; 65]); 2];
        signatures[mine] = me.sign(digest);
        signatures[other] = theirs;
        Ok(Completed {
            state: leg.state(),
            window: leg.window(),
            signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::keys::recover;

    fn leg(a: &SigningKey, b: &SigningKey, chain_id: u64, after: [u64; 2]) -> Leg {
        // X (chain 1) lapses after Y (chain 2).
        let until = if chain_id == 1 { 2_000 } else { 1_000 };
        let params = ChannelParams {
            participants: vec![a.address(), b.address()],
            nonce: 9,
            challenge_period: 100,
            contract_id: [1; 32],
            asset: Address([0; 20]),
            adjudicator: Address([2; 20]),
            chain_id,
        };
        Leg {
            base: State {
                channel_id: params.channel_id(),
                version: 7,
                commitment: [3; 32],
                allocation: vec![50, 50],
                is_final: false,
            },
            params,
            allocation: after.to_vec(),
            until,
        }
    }

    #[test]
    fn completing_y_completes_x() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (secret, point) = SwapSecret::generate();
        // On X Alice pays Bob 20; on Y (Bob first in party order) Bob pays
        // Alice 30.
        let swap = Swap::new(
            leg(&alice, &bob, 1, [30, 70]),
            leg(&bob, &alice, 2, [20, 80]),
            point,
        )
        .unwrap();
        let offer = swap.offer(&alice);
        let answer = swap.accept(&bob, &offer, &alice.public_key()).unwrap();
        let y = swap
            .complete_y(&alice, &secret, &answer, &bob.public_key())
            .unwrap();
        let dy = y.state.timed_digest(&y.window);
        assert_eq!(y.window.not_after, 1_000);
        assert_eq!(recover(&dy, &y.signatures[0]).unwrap(), bob.address());
        assert_eq!(recover(&dy, &y.signatures[1]).unwrap(), alice.address());
        let x = swap
            .complete_x(&bob, &answer, &y.signatures[0], &offer, &alice.public_key())
            .unwrap();
        assert_eq!(x.state.allocation, vec![30, 70]);
        let dx = x.state.timed_digest(&x.window);
        assert_eq!(recover(&dx, &x.signatures[0]).unwrap(), alice.address());
        assert_eq!(recover(&dx, &x.signatures[1]).unwrap(), bob.address());
        // Alice's own signature of Y is no use to Bob: only his decrypted
        // one reveals the secret.
        assert_eq!(
            swap.complete_x(&bob, &answer, &y.signatures[1], &offer, &alice.public_key()),
            Err(SwapError::NotPublished)
        );
        assert!(!format!("{secret:?}").contains(&hex::encode(&secret.0[..])));
    }

    #[test]
    fn wrong_signatures_and_legs_are_refused() {
        let (alice, bob, carol) = (
            SigningKey::generate(),
            SigningKey::generate(),
            SigningKey::generate(),
        );
        let (_, point) = SwapSecret::generate();
        let (wrong_secret, _) = SwapSecret::generate();
        let swap = Swap::new(
            leg(&alice, &bob, 1, [30, 70]),
            leg(&alice, &bob, 2, [80, 20]),
            point,
        )
        .unwrap();
        // An offer under another point, or by someone else.
        let (_, other_point) = SwapSecret::generate();
        let stray = AdaptorSignature::sign(&alice, &swap.x_state().digest(), &other_point);
        assert!(matches!(
            swap.accept(&bob, &stray, &alice.public_key()),
            Err(SwapError::Adaptor { leg: "X", .. })
        ));
        let offer = swap.offer(&alice);
        assert!(swap.accept(&bob, &offer, &carol.public_key()).is_err());
        let answer = swap.accept(&bob, &offer, &alice.public_key()).unwrap();
        // The wrong secret completes nothing.
        assert!(matches!(
            swap.complete_y(&alice, &wrong_secret, &answer, &bob.public_key()),
            Err(SwapError::Adaptor { leg: "Y", .. })
        ));
        // Legs that are not a swap of the same two parties' funds.
        assert!(
            Swap::new(
                leg(&alice, &bob, 1, [30, 70]),
                leg(&alice, &carol, 2, [80, 20]),
                point
            )
            .is_err()
        );
        assert!(
            Swap::new(
                leg(&alice, &bob, 1, [30, 71]),
                leg(&alice, &bob, 2, [80, 20]),
                point
            )
            .is_err()
        );
        assert!(
            Swap::new(
                leg(&alice, &bob, 1, [30, 70]),
                leg(&alice, &bob, 1, [80, 20]),
                point
            )
            .is_err()
        );
        // Y must lapse first.
        let mut late_y = leg(&alice, &bob, 2, [80, 20]);
        late_y.until = 2_000;
        assert!(Swap::new(leg(&alice, &bob, 1, [30, 70]), late_y, point).is_err());
    }
}
