//! ECDSA adaptor signatures on channel states.
//!
//! An [`AdaptorSignature`] is a participant's signature of a state digest,
//! encrypted under a point `T`: anyone can check that it is one
//! ([`AdaptorSignature::verify`], with the signer's public key), but only
//! the discrete logarithm `t` of `T` turns it into the ordinary 65-byte
//! signature the adjudicator's `ecrecover` accepts ([`AdaptorSignature::decrypt`]).
//! Conversely, whoever holds the adaptor signature and sees the decrypted
//! one learns `t` ([`AdaptorSignature::recover`]): the step that makes a
//! swap atomic. secp256k1-zkp's `ecdsa_adaptor` module does the
//! cryptography (the scheme of Fournier's one-time VES, with a DLEQ proof
//! in the 162 bytes).
//!
//! A decrypted ECDSA signature may have a high `s`; [`AdaptorSignature::decrypt`]
//! normalizes it (the adjudicator refuses high `s`) and finds the
//! recovery id that recovers the signer's address.

use secp256k1_zkp::ecdsa::{RecoverableSignature, RecoveryId, Signature as EcdsaSignature};
use secp256k1_zkp::{EcdsaAdaptorSignature, Message, PublicKey, SECP256K1, SecretKey};
use thiserror::Error;

use crate::state::keys::{Address, Signature, SigningKey};

/// Bytes of an adaptor signature on the wire.
pub const ADAPTOR_SIGNATURE_LEN: usize = 162;

/// Why an adaptor signature is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AdaptorError {
    /// Not 162 bytes.
    #[error("an adaptor signature is {ADAPTOR_SIGNATURE_LEN} bytes")]
    Length,
    /// It is not the signer's adaptor signature of this digest under this
    /// point (or not an adaptor signature at all).
    #[error("the adaptor signature does not verify for this signer, state and point")]
    Invalid,
    /// The key does not decrypt it into the signer's signature.
    #[error("the key does not decrypt the adaptor signature")]
    Decrypt,
    /// The signature given is not this adaptor signature decrypted.
    #[error("the signature is not this adaptor signature decrypted")]
    Recover,
}

/// An adaptor signature of a 32-byte digest (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AdaptorSignature(EcdsaAdaptorSignature);

impl std::fmt::Debug for AdaptorSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.to_bytes();
        write!(f, "AdaptorSignature(0x")?;
        bytes[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

impl AdaptorSignature {
    /// `key`'s adaptor signature of `digest` under `point`.
    pub fn sign(key: &SigningKey, digest: &[u8; 32], point: &PublicKey) -> Self {
        AdaptorSignature(key.adaptor_sign(digest, point))
    }

    /// Its 162 bytes.
    pub fn to_bytes(&self) -> [u8; ADAPTOR_SIGNATURE_LEN] {
        let mut out = [0u8; ADAPTOR_SIGNATURE_LEN];
        out.copy_from_slice(self.0.as_ref());
        out
    }

    /// From 162 bytes (checked only by [`AdaptorSignature::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AdaptorError> {
        EcdsaAdaptorSignature::from_slice(bytes)
            .map(AdaptorSignature)
            .map_err(|_| AdaptorError::Length)
    }

    /// Checks that it is `signer`'s adaptor signature of `digest` under
    /// `point`, so that the logarithm of `point` will decrypt it.
    pub fn verify(
        &self,
        digest: &[u8; 32],
        signer: &PublicKey,
        point: &PublicKey,
    ) -> Result<(), AdaptorError> {
        self.0
            .verify(SECP256K1, &Message::from_digest(*digest), signer, point)
            .map_err(|_| AdaptorError::Invalid)
    }

    /// Decrypts it with `key` (the logarithm of its point) into `signer`'s
    /// ordinary signature of `digest`, in the form the adjudicator takes
    /// (low `s`, `v` 27 or 28). Fails if the result is not that.
    pub fn decrypt(
        &self,
        key: &SecretKey,
        digest: &[u8; 32],
        signer: &PublicKey,
    ) -> Result<Signature, AdaptorError> {
        let mut sig = self.0.decrypt(key).map_err(|_| AdaptorError::Decrypt)?;
        sig.normalize_s();
        let compact = sig.serialize_compact();
        let message = Message::from_digest(*digest);
        let want = Address::of(signer);
        for id in 0..2 {
            let Ok(rid) = RecoveryId::from_i32(id) else {
                continue;
            };
            let Ok(rec) = RecoverableSignature::from_compact(&compact, rid) else {
                continue;
            };
            if SECP256K1
                .recover_ecdsa(&message, &rec)
                .is_ok_and(|k| Address::of(&k) == want)
            {
                let mut out = [0u8; 65];
                out[..64].copy_from_slice(&compact);
                out[64] = 27 + u8::try_from(id).unwrap_or(0);
                return Ok(Signature(out));
            }
        }
        Err(AdaptorError::Decrypt)
    }

    /// The logarithm of `point` from this adaptor signature and its
    /// decryption `signature` (as published, e.g. in a registration's
    /// calldata).
    pub fn recover(
        &self,
        signature: &Signature,
        point: &PublicKey,
    ) -> Result<SecretKey, AdaptorError> {
        let sig =
            EcdsaSignature::from_compact(&signature.0[..64]).map_err(|_| AdaptorError::Recover)?;
        let secret = self
            .0
            .recover(SECP256K1, &sig, point)
            .map_err(|_| AdaptorError::Recover)?;
        // The library's recovery may return t or -t (the decrypted s was
        // possibly negated); the logarithm of `point` is the one that maps
        // to it.
        if PublicKey::from_secret_key(SECP256K1, &secret) == *point {
            Ok(secret)
        } else if PublicKey::from_secret_key(SECP256K1, &secret.negate()) == *point {
            Ok(secret.negate())
        } else {
            Err(AdaptorError::Recover)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::keys::recover;

    #[test]
    fn decrypted_adaptor_signatures_recover_the_signer_and_reveal_the_key() {
        for round in 0..32u8 {
            let key = SigningKey::generate();
            let secret = SecretKey::new(&mut rand::thread_rng());
            let point = PublicKey::from_secret_key(SECP256K1, &secret);
            let digest = [round; 32];
            let adaptor = AdaptorSignature::sign(&key, &digest, &point);
            adaptor.verify(&digest, &key.public_key(), &point).unwrap();
            let back = AdaptorSignature::from_bytes(&adaptor.to_bytes()).unwrap();
            assert_eq!(back, adaptor);
            let sig = adaptor
                .decrypt(&secret, &digest, &key.public_key())
                .unwrap();
            // What the adjudicator checks: low s, v 27/28, the signer.
            assert_eq!(recover(&digest, &sig).unwrap(), key.address());
            // Publishing it reveals the secret to the adaptor's holder.
            assert_eq!(adaptor.recover(&sig, &point).unwrap(), secret);
        }
    }

    #[test]
    fn wrong_points_keys_signers_and_bytes_are_refused() {
        let key = SigningKey::generate();
        let other = SigningKey::generate();
        let secret = SecretKey::new(&mut rand::thread_rng());
        let point = PublicKey::from_secret_key(SECP256K1, &secret);
        let wrong = SecretKey::new(&mut rand::thread_rng());
        let wrong_point = PublicKey::from_secret_key(SECP256K1, &wrong);
        let digest = [1u8; 32];
        let adaptor = AdaptorSignature::sign(&key, &digest, &point);
        assert_eq!(
            adaptor.verify(&digest, &key.public_key(), &wrong_point),
            Err(AdaptorError::Invalid)
        );
        assert_eq!(
            adaptor.verify(&digest, &other.public_key(), &point),
            Err(AdaptorError::Invalid)
        );
        assert_eq!(
            adaptor.verify(&[2u8; 32], &key.public_key(), &point),
            Err(AdaptorError::Invalid)
        );
        // The wrong key decrypts into no signature of the signer.
        assert_eq!(
            adaptor.decrypt(&wrong, &digest, &key.public_key()),
            Err(AdaptorError::Decrypt)
        );
        assert_eq!(
            AdaptorSignature::from_bytes(&[0u8; 161]),
            Err(AdaptorError::Length)
        );
        // Every single flipped bit is caught by verification, and garbage
        // never panics.
        let bytes = adaptor.to_bytes();
        for i in (0..ADAPTOR_SIGNATURE_LEN).step_by(7) {
            let mut b = bytes;
            b[i] ^= 0x10;
            let tampered = AdaptorSignature::from_bytes(&b).unwrap();
            assert!(tampered.verify(&digest, &key.public_key(), &point).is_err());
            let _ = tampered.decrypt(&secret, &digest, &key.public_key());
        }
        let garbage = AdaptorSignature::from_bytes(&[0xffu8; 162]).unwrap();
        assert!(garbage.verify(&digest, &key.public_key(), &point).is_err());
        assert!(
            garbage
                .decrypt(&secret, &digest, &key.public_key())
                .is_err()
        );
    }
}
