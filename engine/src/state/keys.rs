//! Signing keys, addresses and `ecrecover`-compatible signatures.
//!
//! A participant's identity is a secp256k1 key; its address is the last 20
//! bytes of `keccak256` of the uncompressed public key (without the `0x04`
//! prefix), as Ethereum derives it. Signatures are 65 bytes `r ‖ s ‖ v` with
//! `v = 27 + recovery id` and a low `s` (libsecp256k1 always signs with a
//! low `s`; [`recover`] refuses a high one, as a malleable signature).
//!
//! The key file holds the 32 secret bytes and nothing else. It is created
//! with mode 0600 and never overwritten; loading refuses a file that others
//! may read or write, or that is not exactly 32 bytes. The secret is zeroized
//! when the key is dropped and never printed (`Debug` shows the address).

use std::io::Write as _;
use std::path::Path;

use secp256k1_zkp::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1_zkp::{EcdsaAdaptorSignature, Message, PublicKey, SECP256K1, SecretKey};
use sha3::{Digest as _, Keccak256};
use thiserror::Error;
use zeroize::Zeroizing;

/// A 20-byte account address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Text that is not `0x` and 40 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not an address (0x and 40 hex digits)")]
pub struct AddressParseError(String);

impl std::str::FromStr for Address {
    type Err = AddressParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressParseError(s.chars().take(64).collect());
        let digits = s.strip_prefix("0x").unwrap_or(s);
        if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err());
        }
        let mut out = [0u8; 20];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(digits.get(2 * i..2 * i + 2).ok_or_else(err)?, 16)
                .map_err(|_| err())?;
        }
        Ok(Address(out))
    }
}

impl Address {
    /// The address of a public key.
    pub fn of(key: &PublicKey) -> Self {
        let uncompressed = key.serialize_uncompressed();
        let hash = Keccak256::digest(&uncompressed[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Address(out)
    }
}

/// A 65-byte `r ‖ s ‖ v` signature, as `ecrecover` takes it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 65]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(")")
    }
}

/// Why a key file or a signature is not usable.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The key file is readable or writable by others.
    #[error("key file {path} has mode {mode:o}; it must be 0600 (readable by its owner only)")]
    Permissions {
        /// The file.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// The key file does not hold a valid secret key.
    #[error("key file {path} does not hold a secp256k1 secret key ({len} bytes)")]
    Malformed {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
    /// A signature that is not 65 bytes `r ‖ s ‖ v` with `v` 27 or 28 and a
    /// valid, low `s`.
    #[error("invalid signature: {0}")]
    Signature(&'static str),
}

/// A participant's signing key. Zeroized on drop; never printed.
pub struct SigningKey {
    secret: SecretKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        self.secret.non_secure_erase();
    }
}

impl SigningKey {
    /// A fresh key from the OS's randomness.
    pub fn generate() -> Self {
        SigningKey {
            secret: SecretKey::new(&mut rand::thread_rng()),
        }
    }

    /// A second handle on the same key, for a component that signs on its
    /// own thread (the node's JSON-RPC chain). Both are zeroized on drop.
    pub fn duplicate(&self) -> Self {
        SigningKey {
            secret: self.secret,
        }
    }

    /// A key from its 32 secret bytes (test vectors, key files).
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        SecretKey::from_slice(bytes)
            .ok()
            .map(|secret| SigningKey { secret })
    }

    /// This key's address.
    pub fn address(&self) -> Address {
        Address::of(&PublicKey::from_secret_key(SECP256K1, &self.secret))
    }

    /// Signs a 32-byte digest.
    pub fn sign(&self, digest: &[u8; 32]) -> Signature {
        let sig = SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(*digest), &self.secret);
        let (id, compact) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&compact);
        // Recovery ids are 0 or 1 for keys libsecp256k1 signs with.
        out[64] = 27 + u8::try_from(id.to_i32()).unwrap_or(0);
        Signature(out)
    }

    /// The secret key itself, for the oracle's BIP340 signatures with
    /// announced nonces (which libsecp256k1 cannot make from a key it
    /// holds). Never leaves the crate.
    pub(crate) fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// This key's public key (33 bytes compressed in its wire form): what a
    /// counterparty needs to verify an adaptor signature, which, unlike an
    /// ordinary signature, does not recover its signer's address.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_secret_key(SECP256K1, &self.secret)
    }

    /// An ECDSA adaptor signature over a 32-byte digest, encrypted under
    /// `point`: whoever learns the discrete logarithm of `point` can turn it
    /// into this key's ordinary signature of `digest` (and publishing that
    /// signature reveals the logarithm to whoever holds this adaptor
    /// signature). Used for oracle-settled states and swaps
    /// ([`crate::oracle::adaptor`]).
    pub fn adaptor_sign(&self, digest: &[u8; 32], point: &PublicKey) -> EcdsaAdaptorSignature {
        EcdsaAdaptorSignature::encrypt(
            SECP256K1,
            &Message::from_digest(*digest),
            &self.secret,
            point,
        )
    }

    /// A 32-byte secret derived from this key for another purpose:
    /// `SHA-256(domain ‖ secret)`, where `secret` is the key's 32 secret
    /// bytes.
    ///
    /// `domain` names the purpose and its version (the node's Noise static
    /// key uses `b"sotto/noise-static/v1"`), so that keys derived for
    /// different purposes are independent, and none reveals the signing key
    /// (SHA-256 is one-way). The secret always takes the last 32 bytes of the
    /// hashed input, so two different domains never hash the same bytes.
    /// The output is as secret as the key itself and is zeroized on drop.
    pub fn derive(&self, domain: &[u8]) -> Zeroizing<[u8; 32]> {
        use sha2::Sha256;
        let secret = Zeroizing::new(self.secret.secret_bytes());
        let mut hasher = Sha256::new();
        hasher.update(domain);
        hasher.update(&secret[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        hasher.finalize_into((&mut out[..]).into());
        out
    }

    /// Writes a new key file at `path` with mode 0600; refuses to overwrite.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        let secret = Zeroizing::new(self.secret.secret_bytes());
        file.write_all(&secret[..]).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Reads a key file written by [`SigningKey::save`].
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let name = || path.display().to_string();
        let io = |source| KeyError::Io {
            path: name(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: name(), mode });
            }
        }
        // Refuse anything but 32 bytes before reading it into memory.
        if metadata.len() != 32 {
            return Err(KeyError::Malformed {
                path: name(),
                len: usize::try_from(metadata.len()).unwrap_or(usize::MAX),
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let malformed = || KeyError::Malformed {
            path: name(),
            len: bytes.len(),
        };
        let array: &[u8; 32] = bytes[..].try_into().map_err(|_| malformed())?;
        SigningKey::from_bytes(array).ok_or_else(malformed)
    }
}

/// The address that signed `digest`, from a 65-byte `r ‖ s ‖ v` signature;
/// refuses `v` other than 27 or 28 and a high `s` (malleable).
pub fn recover(digest: &[u8; 32], signature: &Signature) -> Result<Address, KeyError> {
    let v = signature.0[64];
    let id = match v {
        27 | 28 => RecoveryId::from_i32(i32::from(v - 27))
            .map_err(|_| KeyError::Signature("bad recovery id"))?,
        _ => return Err(KeyError::Signature("v must be 27 or 28")),
    };
    let sig = RecoverableSignature::from_compact(&signature.0[..64], id)
        .map_err(|_| KeyError::Signature("r or s out of range"))?;
    let mut normalized = sig.to_standard();
    normalized.normalize_s();
    if normalized != sig.to_standard() {
        return Err(KeyError::Signature("s is high (a malleable signature)"));
    }
    let key = SECP256K1
        .recover_ecdsa(&Message::from_digest(*digest), &sig)
        .map_err(|_| KeyError::Signature("no key recovers from it"))?;
    Ok(Address::of(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The well-known example key of Ethereum's documentation and its
    /// address (web3.js `privateKeyToAccount`).
    #[test]
    fn the_address_matches_ethereum() {
        let mut secret = [0u8; 32];
        let hex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        for (i, b) in secret.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        let key = SigningKey::from_bytes(&secret).unwrap();
        assert_eq!(
            key.address().to_string(),
            "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
        );
    }

    #[test]
    fn signatures_recover_the_signer_and_nothing_else() {
        let key = SigningKey::generate();
        let digest = [7u8; 32];
        let sig = key.sign(&digest);
        assert!(matches!(sig.0[64], 27 | 28));
        assert_eq!(recover(&digest, &sig).unwrap(), key.address());
        assert_ne!(recover(&[8u8; 32], &sig).ok(), Some(key.address()));
        // v outside 27/28.
        let mut bad = sig;
        bad.0[64] = 1;
        assert!(recover(&digest, &bad).is_err());
        // The malleable twin (n - s, flipped v) is refused.
        const N: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c,
            0xd0, 0x36, 0x41, 0x41,
        ];
        let mut twin = sig;
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(sig.0[32 + i]) - borrow;
            twin.0[32 + i] = d.rem_euclid(256) as u8;
            borrow = i16::from(d < 0);
        }
        twin.0[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert!(matches!(
            recover(&digest, &twin),
            Err(KeyError::Signature(m)) if m.contains("high")
        ));
    }

    #[test]
    fn derived_secrets_depend_on_the_domain_and_the_key() {
        let key = SigningKey::from_bytes(&[1u8; 32]).unwrap();
        let same = SigningKey::from_bytes(&[1u8; 32]).unwrap();
        let other = SigningKey::from_bytes(&[2u8; 32]).unwrap();
        let a = key.derive(b"sotto/noise-static/v1");
        assert_eq!(*a, *same.derive(b"sotto/noise-static/v1"));
        assert_ne!(*a, *key.derive(b"sotto/noise-static/v2"));
        assert_ne!(*a, *key.derive(b""));
        assert_ne!(*a, *other.derive(b"sotto/noise-static/v1"));
        // Not the secret itself.
        assert_ne!(*a, [1u8; 32]);
        // SHA-256(domain ‖ secret), computed independently.
        let mut input = b"sotto/noise-static/v1".to_vec();
        input.extend_from_slice(&[1u8; 32]);
        assert_eq!(a[..], sha2::Sha256::digest(&input)[..]);
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("sotto-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let key = SigningKey::generate();
        key.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(SigningKey::load(&path).unwrap().address(), key.address());
        // Never overwritten.
        assert!(SigningKey::generate().save(&path).is_err());
        // Never printed.
        assert!(!format!("{key:?}").contains("secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                SigningKey::load(&path),
                Err(KeyError::Permissions { mode: 0o644, .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, [1u8; 31]).unwrap();
        assert!(matches!(
            SigningKey::load(&path),
            Err(KeyError::Malformed { len: 31, .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
