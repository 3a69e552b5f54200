//! Who a node is on the network: its Noise static key ([`NodeId`]), bound to
//! its secp256k1 channel identity ([`Address`]) by a signature.
//!
//! The Noise static secret is derived from the channel key
//! ([`SigningKey::derive`] with domain `b"sotto/noise-static/v1"`), so a node
//! has one key file and its network identity follows from it. The binding is
//! the channel key's signature over
//! `keccak256(b"sotto/noise-binding/v1" ‖ noise_static_public)`; the peer
//! recovers the address from it and checks that it is the address the
//! binding claims. The preimage is 54 bytes, never a multiple of 32 as the
//! ABI encodings the channel key signs for states are, so a binding is
//! never mistaken for a state signature and the reverse.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use sha3::{Digest as _, Keccak256};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::state::{Address, Signature, SigningKey, recover};

/// The domain of [`SigningKey::derive`] for the Noise static secret.
const NOISE_STATIC_DOMAIN: &[u8] = b"sotto/noise-static/v1";

/// The prefix of the binding's signed preimage.
const BINDING_DOMAIN: &[u8] = b"sotto/noise-binding/v1";

/// The length of a binding on the wire: the 20-byte address it claims, then
/// the 65-byte `r ‖ s ‖ v` signature.
pub(crate) const BINDING_LEN: usize = 20 + 65;

/// A node's network identity: its Noise static public key (X25519).
///
/// This is what a dialler must know before connecting (Noise_XK: the
/// initiator knows the responder's static key), written as 64 lower-case
/// hex characters, e.g. in `NODEID@127.0.0.1:9735`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 32]);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

/// Why a string is not a [`NodeId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseNodeIdError {
    /// The string is not 64 characters long.
    #[error("a node id is 64 hex characters; this one has {len}")]
    Length {
        /// Its length in characters.
        len: usize,
    },
    /// A character is not a hex digit.
    #[error("a node id is 64 hex characters; character {position} ({found:?}) is not one")]
    NotHex {
        /// The 0-based position of the first offending character.
        position: usize,
        /// The character.
        found: char,
    },
}

impl FromStr for NodeId {
    type Err = ParseNodeIdError;

    /// Parses 64 hex characters (either case; [`Display`](fmt::Display)
    /// writes lower case). No `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let len = s.chars().count();
        if len != 64 {
            return Err(ParseNodeIdError::Length { len });
        }
        let mut out = [0u8; 32];
        let mut digits = s.chars().enumerate().map(|(position, found)| {
            found
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or(ParseNodeIdError::NotHex { position, found })
        });
        for byte in &mut out {
            // 64 characters, checked above: the iterator has two per byte.
            let hi = digits.next().unwrap_or(Ok(0))?;
            let lo = digits.next().unwrap_or(Ok(0))?;
            *byte = hi << 4 | lo;
        }
        Ok(NodeId(out))
    }
}

/// A node to dial: its [`NodeId`] and its socket address, written
/// `NODEID@host:port` (as Lightning's `pubkey@host:port`). The host is an IP
/// address (IPv6 in brackets); names are not resolved here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    /// The node's Noise static key.
    pub id: NodeId,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

/// Why a string is not a [`PeerAddr`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParsePeerAddrError {
    /// No `@` between the node id and the address.
    #[error("a peer address is NODEID@host:port; {input:?} has no '@'")]
    MissingAt {
        /// The string given.
        input: String,
    },
    /// The part before `@` is not a node id.
    #[error("in a peer address NODEID@host:port: {0}")]
    NodeId(#[from] ParseNodeIdError),
    /// The part after `@` is not an IP socket address.
    #[error(
        "in a peer address NODEID@host:port: {addr:?} is not an IP address and port \
         (e.g. 127.0.0.1:9735 or [::1]:9735): {source}"
    )]
    Addr {
        /// The part after `@`.
        addr: String,
        /// What the socket-address parser said.
        source: std::net::AddrParseError,
    },
}

impl FromStr for PeerAddr {
    type Err = ParsePeerAddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, addr) = s
            .split_once('@')
            .ok_or_else(|| ParsePeerAddrError::MissingAt {
                input: s.to_owned(),
            })?;
        Ok(PeerAddr {
            id: id.parse()?,
            addr: addr.parse().map_err(|source| ParsePeerAddrError::Addr {
                addr: addr.to_owned(),
                source,
            })?,
        })
    }
}

/// The authenticated node on the other end of a connection.
///
/// Both fields are proven by the handshake: `id` by Noise (the peer holds
/// its secret), `address` by the binding signature over `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The peer's Noise static key.
    pub id: NodeId,
    /// The peer's secp256k1 channel address, recovered from its binding.
    pub address: Address,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (node {})", self.address, self.id)
    }
}

/// A node's network identity, derived from its channel [`SigningKey`]: the
/// Noise static key pair and the binding signature that ties the key to the
/// channel address.
///
/// The Noise secret is zeroized on drop and never printed (`Debug` shows the
/// address and the node id).
pub struct Identity {
    noise_secret: Zeroizing<[u8; 32]>,
    noise_public: [u8; 32],
    address: Address,
    binding: [u8; BINDING_LEN],
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("address", &self.address)
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity of the node whose channel key is `key`: the Noise static
    /// secret is `key.derive(b"sotto/noise-static/v1")`, and `key` signs the
    /// binding of its public half.
    pub fn new(key: &SigningKey) -> Identity {
        let noise_secret = key.derive(NOISE_STATIC_DOMAIN);
        let noise_public = super::handshake::x25519_public(&noise_secret);
        let address = key.address();
        let signature = key.sign(&binding_digest(&noise_public));
        Identity {
            noise_secret,
            noise_public,
            address,
            binding: encode_binding(address, &signature),
        }
    }

    /// The Noise static public key.
    pub fn noise_public(&self) -> [u8; 32] {
        self.noise_public
    }

    /// The Noise static public key, as peers name this node.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.noise_public)
    }

    /// The channel address the binding proves.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Test support: this identity, but presenting `signature` as its
    /// binding and claiming `address`, so that tests and the fuzzer can
    /// check that peers refuse a binding that does not prove the claim.
    /// Never use it in a node.
    #[doc(hidden)]
    pub fn with_forged_binding(mut self, address: Address, signature: &Signature) -> Identity {
        self.binding = encode_binding(address, signature);
        self
    }

    pub(crate) fn noise_secret(&self) -> &[u8; 32] {
        &self.noise_secret
    }

    pub(crate) fn binding(&self) -> &[u8; BINDING_LEN] {
        &self.binding
    }
}

/// `keccak256(b"sotto/noise-binding/v1" ‖ noise_public)`: the digest a node's
/// channel key signs to bind its Noise static key.
pub fn binding_digest(noise_public: &[u8; 32]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(BINDING_DOMAIN);
    h.update(noise_public);
    h.finalize().into()
}

fn encode_binding(address: Address, signature: &Signature) -> [u8; BINDING_LEN] {
    let mut out = [0u8; BINDING_LEN];
    out[..20].copy_from_slice(&address.0);
    out[20..].copy_from_slice(&signature.0);
    out
}

/// The address a binding proves for `noise_public`, or why it proves none:
/// it must be exactly [`BINDING_LEN`] bytes, its signature must recover, and
/// the recovered address must be the one it claims.
pub(crate) fn verify_binding(
    noise_public: &[u8; 32],
    payload: &[u8],
) -> Result<Address, &'static str> {
    let payload: &[u8; BINDING_LEN] = payload
        .try_into()
        .map_err(|_| "it is not 85 bytes (a 20-byte address and a 65-byte signature)")?;
    let mut claimed = [0u8; 20];
    claimed.copy_from_slice(&payload[..20]);
    let mut signature = [0u8; 65];
    signature.copy_from_slice(&payload[20..]);
    let recovered = recover(&binding_digest(noise_public), &Signature(signature))
        .map_err(|_| "its signature is malformed")?;
    if recovered != Address(claimed) {
        return Err("its signature is not by the address it claims, over this node id");
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_print_and_parse() {
        let id = NodeId(std::array::from_fn(|i| {
            u8::try_from(i * 7 % 256).unwrap_or(0)
        }));
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<NodeId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<NodeId>(), Ok(id));
        assert_eq!(
            text[..63].parse::<NodeId>(),
            Err(ParseNodeIdError::Length { len: 63 })
        );
        assert_eq!(
            format!("0x{}", &text[2..]).parse::<NodeId>(),
            Err(ParseNodeIdError::NotHex {
                position: 1,
                found: 'x'
            })
        );
        // A multi-byte character is counted as one, and refused.
        let accented = format!("é{}", &text[1..]);
        assert_eq!(
            accented.parse::<NodeId>(),
            Err(ParseNodeIdError::NotHex {
                position: 0,
                found: 'é'
            })
        );
    }

    #[test]
    fn peer_addresses_print_and_parse() {
        let id = NodeId([0xab; 32]);
        for addr in ["127.0.0.1:9735", "[::1]:9735"] {
            let text = format!("{id}@{addr}");
            let parsed: PeerAddr = text.parse().unwrap();
            assert_eq!(parsed.id, id);
            assert_eq!(parsed.addr, addr.parse().unwrap());
            assert_eq!(parsed.to_string(), text);
        }
        assert!(matches!(
            "127.0.0.1:9735".parse::<PeerAddr>(),
            Err(ParsePeerAddrError::MissingAt { .. })
        ));
        assert!(matches!(
            "abc@127.0.0.1:9735".parse::<PeerAddr>(),
            Err(ParsePeerAddrError::NodeId(ParseNodeIdError::Length {
                len: 3
            }))
        ));
        let err = format!("{id}@localhost:9735")
            .parse::<PeerAddr>()
            .unwrap_err();
        assert!(
            matches!(err, ParsePeerAddrError::Addr { ref addr, .. } if addr == "localhost:9735")
        );
        assert!(err.to_string().contains("not an IP address"));
    }

    #[test]
    fn the_identity_follows_from_the_key_and_binds_its_address() {
        let key = SigningKey::from_bytes(&[3u8; 32]).unwrap();
        let a = Identity::new(&key);
        let b = Identity::new(&key);
        assert_eq!(a.noise_public(), b.noise_public());
        assert_eq!(a.address(), key.address());
        assert_eq!(
            verify_binding(&a.noise_public(), a.binding()),
            Ok(key.address())
        );
        // Over another node id the signature recovers someone else.
        assert!(verify_binding(&[9u8; 32], a.binding()).is_err());
        assert!(verify_binding(&a.noise_public(), &a.binding()[..84]).is_err());
        // Another key's identity differs.
        let other = Identity::new(&SigningKey::from_bytes(&[4u8; 32]).unwrap());
        assert_ne!(other.noise_public(), a.noise_public());
        // Never printed.
        let shown = format!("{a:?}");
        assert!(shown.contains(&a.node_id().to_string()));
        assert!(!shown.contains("secret"));
    }
}
