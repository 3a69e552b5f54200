//! The Noise_XK handshake as a state machine without I/O.
//!
//! ```text
//! XK:
//!   <- s                      (the initiator knows the responder's NodeId)
//!   ...
//!   -> e, es                  message 1: no payload
//!   <- e, ee                  message 2: the responder's binding
//!   -> s, se                  message 3: the initiator's binding
//! ```
//!
//! Each step is a type whose transition consumes it ([`Initiator`] ->
//! [`Established`]; [`Responder`] -> [`AwaitingMessage3`] -> [`Established`]),
//! so a message cannot be read out of order. Message lengths are fixed (the
//! payloads are fixed-length bindings), so a reader refuses any other length
//! before reading the body; [`super::connect`] and [`super::accept`] put the
//! messages on the wire.
//!
//! snow 0.10 does not wipe the keys it holds. The states here are built with
//! [`WipingResolver`], whose DH and cipher objects overwrite their private
//! key with zeros when dropped, so the copies of the static and ephemeral
//! secrets and the transport keys inside snow do not outlive the connection.
//! This is best effort: the overwrite goes through snow's `set` (an ordinary
//! write behind a trait object, not a volatile one), and snow's chaining key
//! and hash state are not reachable through its API and are not wiped.

use snow::params::{CipherChoice, DHChoice, HashChoice, NoiseParams};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use snow::{Builder, HandshakeState, StatelessTransportState};

use super::NetError;
use super::identity::{BINDING_LEN, NodeId, Peer, verify_binding};

/// The Noise protocol name: XK, X25519, ChaCha20-Poly1305, SHA-256.
pub(crate) const PATTERN: &str = "Noise_XK_25519_ChaChaPoly_SHA256";

/// Mixed into the handshake hash: a peer speaking another protocol or
/// version fails the handshake instead of misreading our messages.
pub(crate) const PROLOGUE: &[u8] = b"sotto/1";

/// The Poly1305 tag after every encrypted payload.
pub(crate) const TAG_LEN: usize = 16;

/// Message 1: `e` in the clear, then the (empty) payload's tag.
pub(crate) const MESSAGE1_LEN: usize = 32 + TAG_LEN;
/// Message 2: `e` in the clear, then the responder's binding, encrypted.
pub(crate) const MESSAGE2_LEN: usize = 32 + BINDING_LEN + TAG_LEN;
/// Message 3: `s` encrypted, then the initiator's binding, encrypted.
pub(crate) const MESSAGE3_LEN: usize = 32 + TAG_LEN + BINDING_LEN + TAG_LEN;

/// The X25519 public key of `secret`.
pub(crate) fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    let Some(mut dh) = WipingResolver.resolve_dh(&DHChoice::Curve25519) else {
        unreachable!("snow is built with use-curve25519, so Curve25519 resolves")
    };
    dh.set(secret);
    let mut out = [0u8; 32];
    out.copy_from_slice(dh.pubkey());
    out
}

/// The keys of one side of a handshake. `ephemeral` is `None` except in the
/// fuzzer, which fixes it so that its transcripts (and the committed corpus)
/// are reproducible.
pub(crate) struct Keys<'a> {
    /// The Noise static secret.
    pub(crate) secret: &'a [u8; 32],
    /// A fixed ephemeral secret (fuzzing only).
    pub(crate) ephemeral: Option<&'a [u8; 32]>,
}

fn builder<'a>(keys: &Keys<'a>) -> Result<Builder<'a>, NetError> {
    let params: NoiseParams = PATTERN
        .parse()
        .map_err(|e| internal("the Noise protocol name", e))?;
    let mut builder = Builder::with_resolver(params, Box::new(WipingResolver))
        .prologue(PROLOGUE)
        .and_then(|b| b.local_private_key(keys.secret))
        .map_err(|e| internal("building the handshake", e))?;
    if let Some(e) = keys.ephemeral {
        builder = builder.fixed_ephemeral_key_for_testing_only(e);
    }
    Ok(builder)
}

fn internal(what: &str, e: snow::Error) -> NetError {
    NetError::Internal(format!("{what}: {e}"))
}

fn write(state: &mut HandshakeState, payload: &[u8], overhead: usize) -> Result<Vec<u8>, NetError> {
    let mut message = vec![0u8; overhead + payload.len()];
    let n = state
        .write_message(payload, &mut message)
        .map_err(|e| internal("writing a handshake message", e))?;
    debug_assert_eq!(n, message.len(), "the XK message sizes are fixed");
    message.truncate(n);
    Ok(message)
}

fn check_len(number: u8, message: &[u8], expected: usize) -> Result<(), NetError> {
    if message.len() == expected {
        Ok(())
    } else {
        Err(NetError::Handshake(format!(
            "message {number} is {} bytes; it must be {expected}",
            message.len()
        )))
    }
}

/// The initiator after sending message 1, awaiting message 2.
pub(crate) struct Initiator {
    state: HandshakeState,
    remote: NodeId,
}

impl Initiator {
    /// Step 1: builds the initiator toward `remote` and writes message 1.
    pub(crate) fn start(keys: &Keys<'_>, remote: NodeId) -> Result<(Initiator, Vec<u8>), NetError> {
        let mut state = builder(keys)?
            .remote_public_key(&remote.0)
            .and_then(Builder::build_initiator)
            .map_err(|e| internal("building the initiator", e))?;
        // Step 1.a) -> e, es with no payload.
        let message1 = write(&mut state, &[], MESSAGE1_LEN)?;
        Ok((Initiator { state, remote }, message1))
    }

    /// Step 2: reads message 2, checks the responder's binding, and writes
    /// message 3 carrying `payload` (our binding).
    pub(crate) fn finish(
        mut self,
        message2: &[u8],
        payload: &[u8],
    ) -> Result<(Established, Vec<u8>), NetError> {
        check_len(2, message2, MESSAGE2_LEN)?;
        let mut binding = [0u8; MESSAGE2_LEN];
        // Step 2.a) <- e, ee. Its payload is encrypted under a key that
        // mixes es: only the holder of the dialled key's secret could have
        // produced it, so failing here means we reached another node.
        let n = self
            .state
            .read_message(message2, &mut binding)
            .map_err(|e| match e {
                snow::Error::Decrypt => NetError::UnexpectedKey {
                    expected: self.remote,
                },
                other => NetError::Handshake(format!("message 2 is malformed ({other})")),
            })?;
        // Step 2.b) The binding must prove an address for the dialled key.
        let address = verify_binding(&self.remote.0, &binding[..n])
            .map_err(|reason| NetError::BadBinding { reason })?;
        // Step 2.c) -> s, se with our binding.
        let message3 = write(&mut self.state, payload, MESSAGE3_LEN - BINDING_LEN)?;
        let peer = Peer {
            id: self.remote,
            address,
        };
        Ok((Established::new(self.state, peer)?, message3))
    }
}

/// The responder before message 1.
pub(crate) struct Responder {
    state: HandshakeState,
}

impl Responder {
    /// Builds a responder with our static key.
    pub(crate) fn new(keys: &Keys<'_>) -> Result<Responder, NetError> {
        let state = builder(keys)?
            .build_responder()
            .map_err(|e| internal("building the responder", e))?;
        Ok(Responder { state })
    }

    /// Step 1: reads message 1 and writes message 2 carrying `payload` (our
    /// binding).
    pub(crate) fn read_message1(
        mut self,
        message1: &[u8],
        payload: &[u8],
    ) -> Result<(AwaitingMessage3, Vec<u8>), NetError> {
        check_len(1, message1, MESSAGE1_LEN)?;
        // Step 1.a) -> e, es. The empty payload's tag authenticates es: it
        // fails when the dialler encrypted to another node's key.
        let mut empty = [0u8; MESSAGE1_LEN];
        self.state
            .read_message(message1, &mut empty)
            .map_err(|e| match e {
                snow::Error::Decrypt => NetError::Handshake(
                    "message 1 does not decrypt: the dialler expects another node id \
                     (or the message was altered)"
                        .to_owned(),
                ),
                other => NetError::Handshake(format!("message 1 is malformed ({other})")),
            })?;
        // Step 1.b) <- e, ee with our binding.
        let message2 = write(&mut self.state, payload, MESSAGE2_LEN - BINDING_LEN)?;
        Ok((AwaitingMessage3 { state: self.state }, message2))
    }
}

/// The responder after sending message 2, awaiting message 3.
pub(crate) struct AwaitingMessage3 {
    state: HandshakeState,
}

impl AwaitingMessage3 {
    /// Step 2: reads message 3 and checks the initiator's binding over the
    /// static key it revealed.
    pub(crate) fn finish(mut self, message3: &[u8]) -> Result<Established, NetError> {
        check_len(3, message3, MESSAGE3_LEN)?;
        let mut binding = [0u8; MESSAGE3_LEN];
        // Step 2.a) -> s, se.
        let n = self
            .state
            .read_message(message3, &mut binding)
            .map_err(|e| match e {
                snow::Error::Decrypt => NetError::Handshake(
                    "message 3 does not decrypt (altered, or not from the node that sent \
                     message 1)"
                        .to_owned(),
                ),
                other => NetError::Handshake(format!("message 3 is malformed ({other})")),
            })?;
        let remote: [u8; 32] = self
            .state
            .get_remote_static()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                NetError::Internal("XK reveals the initiator's static key in message 3".into())
            })?;
        // Step 2.b) The binding must prove an address for that key.
        let address = verify_binding(&remote, &binding[..n])
            .map_err(|reason| NetError::BadBinding { reason })?;
        let peer = Peer {
            id: NodeId(remote),
            address,
        };
        Established::new(self.state, peer)
    }
}

/// A finished handshake: the transport keys and the authenticated peer.
pub(crate) struct Established {
    pub(crate) transport: StatelessTransportState,
    pub(crate) peer: Peer,
}

impl Established {
    fn new(state: HandshakeState, peer: Peer) -> Result<Established, NetError> {
        let transport = state
            .into_stateless_transport_mode()
            .map_err(|e| internal("entering transport mode", e))?;
        Ok(Established { transport, peer })
    }
}

/// snow's default primitives, except that DH and cipher objects overwrite
/// their key with zeros when dropped (snow 0.10 leaves them in memory).
struct WipingResolver;

impl CryptoResolver for WipingResolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        DefaultResolver.resolve_rng()
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        let inner = DefaultResolver.resolve_dh(choice)?;
        Some(Box::new(WipingDh(inner)))
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        let inner = DefaultResolver.resolve_cipher(choice)?;
        Some(Box::new(WipingCipher(inner)))
    }
}

struct WipingDh(Box<dyn Dh>);

impl Drop for WipingDh {
    fn drop(&mut self) {
        // snow's X25519 takes exactly priv_len bytes.
        let zeros = [0u8; 64];
        let len = self.0.priv_len().min(zeros.len());
        self.0.set(&zeros[..len]);
    }
}

impl Dh for WipingDh {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn pub_len(&self) -> usize {
        self.0.pub_len()
    }
    fn priv_len(&self) -> usize {
        self.0.priv_len()
    }
    fn set(&mut self, privkey: &[u8]) {
        self.0.set(privkey);
    }
    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        self.0.generate(rng)
    }
    fn pubkey(&self) -> &[u8] {
        self.0.pubkey()
    }
    fn privkey(&self) -> &[u8] {
        self.0.privkey()
    }
    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        self.0.dh(pubkey, out)
    }
    fn dh_len(&self) -> usize {
        self.0.dh_len()
    }
}

struct WipingCipher(Box<dyn Cipher>);

impl Drop for WipingCipher {
    fn drop(&mut self) {
        self.0.set(&[0u8; 32]);
    }
}

impl Cipher for WipingCipher {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn set(&mut self, key: &[u8; 32]) {
        self.0.set(key);
    }
    fn encrypt(&self, nonce: u64, authtext: &[u8], plaintext: &[u8], out: &mut [u8]) -> usize {
        self.0.encrypt(nonce, authtext, plaintext, out)
    }
    fn decrypt(
        &self,
        nonce: u64,
        authtext: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<usize, snow::Error> {
        self.0.decrypt(nonce, authtext, ciphertext, out)
    }
    fn rekey(&mut self) {
        self.0.rekey();
    }
}

#[cfg(test)]
mod tests {
    use super::super::identity::Identity;
    use super::*;
    use crate::state::SigningKey;

    fn identity(seed: u8) -> Identity {
        Identity::new(&SigningKey::from_bytes(&[seed; 32]).unwrap())
    }

    fn side(id: &Identity) -> Keys<'_> {
        Keys {
            secret: id.noise_secret(),
            ephemeral: None,
        }
    }

    #[test]
    fn a_handshake_authenticates_both_sides_and_agrees_on_keys() {
        let (a, b) = (identity(1), identity(2));
        let (initiator, m1) = Initiator::start(&side(&a), b.node_id()).unwrap();
        assert_eq!(m1.len(), MESSAGE1_LEN);
        let (responder, m2) = Responder::new(&side(&b))
            .unwrap()
            .read_message1(&m1, b.binding())
            .unwrap();
        assert_eq!(m2.len(), MESSAGE2_LEN);
        let (ia, m3) = initiator.finish(&m2, a.binding()).unwrap();
        assert_eq!(m3.len(), MESSAGE3_LEN);
        let rb = responder.finish(&m3).unwrap();
        assert_eq!(ia.peer.id, b.node_id());
        assert_eq!(ia.peer.address, b.address());
        assert_eq!(rb.peer.id, a.node_id());
        assert_eq!(rb.peer.address, a.address());
        // The initiator's first transport message decrypts at the responder.
        let mut ct = [0u8; 3 + TAG_LEN];
        let n = ia.transport.write_message(0, b"abc", &mut ct).unwrap();
        let mut pt = [0u8; 3];
        assert_eq!(rb.transport.read_message(0, &ct[..n], &mut pt).unwrap(), 3);
        assert_eq!(&pt, b"abc");
    }

    #[test]
    fn a_wrong_node_id_fails_at_message_1_and_a_forged_reply_at_message_2() {
        let (a, b, c) = (identity(1), identity(2), identity(3));
        // a dials c's key but reaches b.
        let (initiator, m1) = Initiator::start(&side(&a), c.node_id()).unwrap();
        let refused = Responder::new(&side(&b))
            .unwrap()
            .read_message1(&m1, b.binding());
        assert!(
            matches!(refused, Err(NetError::Handshake(ref m)) if m.contains("another node id"))
        );
        // A responder without c's key cannot answer: any reply fails.
        let reply = [7u8; MESSAGE2_LEN];
        assert!(matches!(
            initiator.finish(&reply, a.binding()),
            Err(NetError::UnexpectedKey { expected }) if expected == c.node_id()
        ));
    }

    #[test]
    fn wrong_lengths_are_refused_before_reading() {
        let b = identity(2);
        let r = Responder::new(&side(&b)).unwrap();
        assert!(matches!(
            r.read_message1(&[0u8; MESSAGE1_LEN + 1], b.binding()),
            Err(NetError::Handshake(m)) if m.contains("49 bytes")
        ));
    }
}
