//! The node's encrypted transport: Noise_XK over TCP (or any byte stream),
//! as Lightning's BOLT 8, with the Noise key bound to the channel identity.
//!
//! # Why XK
//!
//! In `Noise_XK_25519_ChaChaPoly_SHA256` the initiator knows the
//! responder's static key before it connects (it dials a [`NodeId`], e.g.
//! `NODEID@127.0.0.1:9735`), and reveals its own only in the third message,
//! encrypted to a key that only the responder can compute. So:
//!
//! - a dialler reaches the node it names or nobody: its first message is
//!   encrypted to that node's key, and no one else can read it or answer it
//!   ([`NetError::UnexpectedKey`]);
//! - the initiator's identity is hidden from eavesdroppers and from anyone
//!   who is not the node it dialled;
//! - both sides are authenticated when the handshake ends, in three
//!   messages, and the transport keys are forward secret (ephemeral-ephemeral
//!   DH).
//!
//! # The binding
//!
//! A node's identity in the channels is its secp256k1 key and address
//! ([`crate::state::SigningKey`]); its Noise static key is X25519, derived
//! from the secp256k1 secret ([`crate::state::SigningKey::derive`] with
//! domain `b"sotto/noise-static/v1"`), so one key file holds both. The
//! secp256k1 key signs `keccak256(b"sotto/noise-binding/v1" ‖ noise_public)`;
//! message 2 carries the responder's binding, message 3 the initiator's,
//! each as the claimed 20-byte address then the 65-byte signature. Each side
//! recovers the signer over the key the peer proved in Noise, and refuses a
//! binding that does not recover to the address it claims
//! ([`NetError::BadBinding`]). The result is a [`Peer`]: a [`NodeId`] proven by
//! Noise and an [`Address`] proven by the binding. The
//! responder's address is readable by anyone who knows its node id (it
//! answers any message 1); the initiator's only by the responder.
//!
//! On the wire, each handshake message is a 2-byte big-endian length and the
//! Noise message; the lengths are fixed (48, 133 and 149 bytes) and any
//! other is refused before the body is read. The whole handshake is bounded
//! by [`Options::handshake_timeout`].
//!
//! # Frames and chunks
//!
//! After the handshake, the connection carries frames of up to
//! [`Options::max_frame`] bytes (4 MiB by default; the largest protocol
//! message is 2 MiB). A Noise message holds at most 65535 bytes, so a frame
//! is split into chunks, each a 2-byte big-endian ciphertext length and the
//! ciphertext (ChaCha20-Poly1305, 16-byte tag); the first chunk's plaintext
//! begins with the frame's length (4 bytes, big-endian), which the receiver
//! checks against its limit before it allocates anything
//! ([`NetError::FrameTooLarge`]). Every chunk but a frame's last is full, so
//! a frame has one encoding. The chunk lengths travel in the clear (as the
//! sizes of TCP segments would reveal them anyway); an altered length makes
//! the receiver read the wrong bytes as ciphertext, which does not decrypt.
//!
//! # What a `Decrypt` error means
//!
//! Each direction has its own key and a nonce that counts chunks; the
//! receiver decrypts each chunk under the nonce it expects next. A chunk that
//! was altered, replayed, reordered or dropped in between does not decrypt:
//! [`NetError::Decrypt`]. Nothing after it can be trusted or even framed, so
//! the connection is dead (later calls answer [`NetError::Broken`]); drop
//! it and reconnect. It means an attacker on the path or a broken peer,
//! never a frame that could be retried.
//!
//! # Use
//!
//! Everything is generic over `AsyncRead + AsyncWrite`: [`dial`] connects
//! over TCP; [`connect`] and [`accept`] take any stream (a listener accepts
//! each connection in its own task, so a stalled handshake holds up only
//! itself); [`memory_pair`] connects two identities over
//! `tokio::io::duplex` for tests. [`Connection::into_split`] gives a
//! [`Reader`] and a [`Writer`] for two tasks. The timeouts need a tokio
//! runtime with time enabled.
//!
//! Not done (yet): rekeying (BOLT 8 rekeys every 1000 messages; Noise's
//! 2^64 nonces never run out here), and padding that would hide frame sizes.

mod conn;
mod frame;
mod fuzz;
mod handshake;
mod identity;

use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::net::TcpStream;

pub use conn::{Connection, Reader, Writer};
pub use fuzz::{fuzz_frames, fuzz_samples};
pub use identity::{
    Identity, NodeId, ParseNodeIdError, ParsePeerAddrError, Peer, PeerAddr, binding_digest,
};

use crate::state::Address;
use handshake::{Initiator, Keys, MESSAGE1_LEN, MESSAGE2_LEN, MESSAGE3_LEN, Responder};

/// The default [`Options::max_frame`]: 4 MiB, twice the largest protocol
/// message.
pub const DEFAULT_MAX_FRAME: usize = 4 << 20;

/// The default [`Options::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The buffer of each direction of a [`memory_pair`]: a larger frame is sent
/// as the other side reads it.
pub const MEMORY_BUFFER: usize = 256 * 1024;

/// Limits of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The longest the whole handshake may take (TCP connect included, for
    /// [`dial`]); a peer that stalls gets [`NetError::HandshakeTimeout`].
    pub handshake_timeout: Duration,
    /// The largest frame received or sent, in bytes (at most `u32::MAX`).
    /// Must leave room for the largest protocol message (2 MiB).
    pub max_frame: usize,
    /// The longest a `recv` waits for a complete frame, if set
    /// ([`NetError::ReadTimeout`]); `None` waits as long as the peer is
    /// connected.
    pub read_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_frame: DEFAULT_MAX_FRAME,
            read_timeout: None,
        }
    }
}

/// Why a connection could not be made or failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// The stream failed (connection refused or reset, and so on).
    #[error("network i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer did not complete the handshake in time.
    #[error("the handshake did not finish within {after:?}")]
    HandshakeTimeout {
        /// [`Options::handshake_timeout`].
        after: Duration,
    },
    /// The peer sent a handshake message that is not one (wrong length, not
    /// decryptable by us), or hung up during the handshake.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// We dialled `expected`, and the node that answered does not hold its
    /// key: it hung up on our first message (which only `expected` can
    /// read), or its reply did not decrypt. A wrong node id, or a node that
    /// refused the connection before reading it.
    #[error(
        "the node that answered is not {expected}: it could not read a handshake \
         encrypted to that node id (check the node id, or the node refused the connection)"
    )]
    UnexpectedKey {
        /// The node id we dialled.
        expected: NodeId,
    },
    /// The handshake succeeded but the caller's `allow` refused this peer
    /// ([`accept`]).
    #[error("peer {address} (node {id}) is not allowed to connect")]
    UnexpectedPeer {
        /// Its Noise static key.
        id: NodeId,
        /// Its channel address.
        address: Address,
    },
    /// The peer's binding does not prove an address for its Noise key.
    #[error("the peer's identity binding is invalid: {reason}")]
    BadBinding {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The peer announced a frame over our limit; refused before reading or
    /// allocating it. The connection is dead.
    #[error("the peer's frame of {len} bytes is over the {max}-byte limit")]
    FrameTooLarge {
        /// The length the peer announced.
        len: usize,
        /// [`Options::max_frame`].
        max: usize,
    },
    /// We were asked to send a frame over the limit; nothing was sent and
    /// the connection is still usable.
    #[error("a frame of {len} bytes is over the {max}-byte limit; it was not sent")]
    SendTooLarge {
        /// The frame's length.
        len: usize,
        /// [`Options::max_frame`] (or `u32::MAX`).
        max: usize,
    },
    /// The peer closed the stream in the middle of a chunk or a frame.
    #[error("the peer closed the connection in the middle of a frame")]
    Truncated,
    /// A chunk did not decrypt under the nonce expected next: it was
    /// altered, replayed, reordered or dropped on the way (or the peer is
    /// broken). The connection is dead; see the module documentation.
    #[error(
        "a chunk from the peer did not decrypt (altered, replayed, reordered or dropped); \
         the connection is dead"
    )]
    Decrypt,
    /// An authenticated chunk that does not frame as the protocol says (the
    /// peer is broken or hostile). The connection is dead.
    #[error("the peer's frame is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// No complete frame arrived within [`Options::read_timeout`]. The
    /// connection is intact; a later `recv` resumes where this one stopped.
    #[error("no complete frame arrived within {after:?}")]
    ReadTimeout {
        /// [`Options::read_timeout`].
        after: Duration,
    },
    /// This direction of the connection failed earlier (or a send was
    /// abandoned half-way) and can no longer be used.
    #[error("the connection failed earlier and can no longer be used")]
    Broken,
    /// snow refused something it should not have, or a transport nonce ran
    /// out after 2^64 - 1 chunks: always a bug in practice.
    #[error("internal error in the transport (a bug): {0}")]
    Internal(String),
}

/// An identity's handshake keys, with a random ephemeral.
pub(crate) fn keys(identity: &Identity) -> Keys<'_> {
    Keys {
        secret: identity.noise_secret(),
        ephemeral: None,
    }
}

/// Connects as the initiator to `remote` over `io`: runs the handshake and
/// returns the connection, whose [`Connection::peer`] is `remote` and the
/// address its binding proves.
///
/// Fails with [`NetError::UnexpectedKey`] if the node at the other end is
/// not `remote`, [`NetError::BadBinding`] if its binding is invalid, and
/// [`NetError::HandshakeTimeout`] after [`Options::handshake_timeout`]. If
/// the responder refuses us after the handshake (its `allow`), the
/// connection succeeds here and ends at the first `recv`.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut io: S,
    local: &Identity,
    remote: NodeId,
    options: &Options,
) -> Result<Connection<S>, NetError> {
    let established = bounded(options, initiate(&mut io, local, remote)).await?;
    Ok(Connection::new(io, established, options))
}

/// Accepts a connection as the responder over `io`: runs the handshake,
/// then asks `allow` whether the authenticated peer is welcome
/// ([`NetError::UnexpectedPeer`] if not; `io` is dropped, so the peer sees
/// the connection end).
///
/// Fails with [`NetError::BadBinding`] if the peer's binding is invalid,
/// [`NetError::Handshake`] if the dialler expects another node id or sends
/// something else than a handshake, and [`NetError::HandshakeTimeout`] after
/// [`Options::handshake_timeout`].
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut io: S,
    local: &Identity,
    options: &Options,
    allow: impl Fn(&Peer) -> bool,
) -> Result<Connection<S>, NetError> {
    let established = bounded(options, respond(&mut io, local)).await?;
    if !allow(&established.peer) {
        return Err(NetError::UnexpectedPeer {
            id: established.peer.id,
            address: established.peer.address,
        });
    }
    Ok(Connection::new(io, established, options))
}

/// Dials `peer` over TCP (with `TCP_NODELAY`, as frames are written whole)
/// and connects as the initiator; [`Options::handshake_timeout`] bounds the
/// TCP connect and the handshake together.
pub async fn dial(
    peer: &PeerAddr,
    local: &Identity,
    options: &Options,
) -> Result<Connection<TcpStream>, NetError> {
    let established = bounded(options, async {
        let mut stream = TcpStream::connect(peer.addr).await?;
        stream.set_nodelay(true)?;
        let established = initiate(&mut stream, local, peer.id).await?;
        Ok((stream, established))
    })
    .await?;
    let (stream, established) = established;
    Ok(Connection::new(stream, established, options))
}

/// Two connected [`Connection`]s over `tokio::io::duplex` (a buffer of
/// [`MEMORY_BUFFER`] bytes each way) after a real handshake: `a` dialled `b`,
/// and `b` accepted everyone. For protocol tests; for other options or an
/// `allow`, call [`connect`] and [`accept`] on the two ends of
/// `tokio::io::duplex` yourself.
pub async fn memory_pair(
    a: &Identity,
    b: &Identity,
) -> Result<(Connection<DuplexStream>, Connection<DuplexStream>), NetError> {
    let (x, y) = tokio::io::duplex(MEMORY_BUFFER);
    let options = Options::default();
    let (ca, cb) = tokio::join!(
        connect(x, a, b.node_id(), &options),
        accept(y, b, &options, |_| true)
    );
    Ok((ca?, cb?))
}

async fn bounded<T>(
    options: &Options,
    handshake: impl Future<Output = Result<T, NetError>>,
) -> Result<T, NetError> {
    tokio::time::timeout(options.handshake_timeout, handshake)
        .await
        .unwrap_or(Err(NetError::HandshakeTimeout {
            after: options.handshake_timeout,
        }))
}

async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    local: &Identity,
    remote: NodeId,
) -> Result<handshake::Established, NetError> {
    // Step 1: -> e, es.
    let (initiator, message1) = Initiator::start(&keys(local), remote)?;
    write_message(io, &message1).await?;
    // Step 2: <- e, ee. A node that is not `remote` cannot read message 1
    // and hangs up; say so rather than "connection closed".
    let message2 = read_message(io, 2, MESSAGE2_LEN, || NetError::UnexpectedKey {
        expected: remote,
    })
    .await?;
    // Step 3: -> s, se.
    let (established, message3) = initiator.finish(&message2, local.binding())?;
    write_message(io, &message3).await?;
    Ok(established)
}

async fn respond<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    local: &Identity,
) -> Result<handshake::Established, NetError> {
    let responder = Responder::new(&keys(local))?;
    // Step 1: -> e, es.
    let message1 = read_message(io, 1, MESSAGE1_LEN, || {
        NetError::Handshake("the dialler hung up before its first message".into())
    })
    .await?;
    // Step 2: <- e, ee.
    let (awaiting, message2) = responder.read_message1(&message1, local.binding())?;
    write_message(io, &message2).await?;
    // Step 3: -> s, se.
    let message3 = read_message(io, 3, MESSAGE3_LEN, || {
        NetError::Handshake(
            "the dialler hung up after our reply (it refused our identity, or it dialled \
             another node)"
                .into(),
        )
    })
    .await?;
    awaiting.finish(&message3)
}

/// Writes a handshake message: its 2-byte big-endian length, then itself.
async fn write_message<S: AsyncWrite + Unpin>(io: &mut S, message: &[u8]) -> Result<(), NetError> {
    let len = u16::try_from(message.len())
        .map_err(|_| NetError::Internal("a handshake message over 65535 bytes".into()))?;
    let mut wire = Vec::with_capacity(2 + message.len());
    wire.extend_from_slice(&len.to_be_bytes());
    wire.extend_from_slice(message);
    io.write_all(&wire).await?;
    io.flush().await?;
    Ok(())
}

/// Reads handshake message `number`, which must be `expected` bytes; a
/// peer that hangs up before it gets `hung_up()`.
async fn read_message<S: AsyncRead + Unpin>(
    io: &mut S,
    number: u8,
    expected: usize,
    hung_up: impl FnOnce() -> NetError,
) -> Result<Vec<u8>, NetError> {
    let mut len = [0u8; 2];
    if let Err(e) = io.read_exact(&mut len).await {
        return Err(if is_hang_up(&e) { hung_up() } else { e.into() });
    }
    let len = usize::from(u16::from_be_bytes(len));
    // Refused before reading (or allocating) the body.
    if len != expected {
        return Err(NetError::Handshake(format!(
            "message {number} is {len} bytes; it must be {expected} (is the peer a sotto node?)"
        )));
    }
    let mut message = vec![0u8; len];
    if let Err(e) = io.read_exact(&mut message).await {
        return Err(if is_hang_up(&e) {
            NetError::Handshake(format!(
                "the peer hung up in the middle of message {number}"
            ))
        } else {
            e.into()
        });
    }
    Ok(message)
}

fn is_hang_up(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}
