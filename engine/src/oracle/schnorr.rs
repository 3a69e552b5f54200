//! BIP340 Schnorr signatures with a nonce fixed in advance, and the
//! attestation point they let anyone compute before the signature exists.
//!
//! An oracle announces, for each event it will attest, the nonce point
//! `R = k·G` it will sign with. Then for any message `m` the point
//! `S = R + e·P` with `e = H_BIP0340/challenge(R.x ‖ P.x ‖ m)` is known to
//! everyone, and the attestation's `s` (`s·G = S`) is its discrete
//! logarithm: the key that decrypts an adaptor signature encrypted under
//! `S` (bip-0340.mediawiki, "Default Signing" and "Verification"; the DLC
//! specification's `Oracle.md` uses the same construction).
//!
//! libsecp256k1 signs only with nonces it derives itself, so the signature
//! here is computed from its scalar operations (`s = k + e·d mod n`, with
//! `k` and `d` negated where BIP340 lifts `R` and `P` to an even `y`) and
//! checked by libsecp256k1's own BIP340 verification in the tests.
//!
//! **Hazard:** signing two different messages with one nonce reveals the
//! oracle's key (`d = (s₁ - s₂) / (e₁ - e₂)`). Nothing in this module
//! prevents it; [`super::announcement::OracleKey::attest`] documents who must.

use secp256k1_zkp::schnorr::Signature as SchnorrSignature;
use secp256k1_zkp::{Parity, PublicKey, SECP256K1, Scalar, SecretKey, XOnlyPublicKey};
use sha2::{Digest as _, Sha256};

/// The group order `n` of secp256k1, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// `SHA256(SHA256(tag) ‖ SHA256(tag) ‖ parts…)`: BIP340's tagged hash.
pub(crate) fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = Sha256::digest(tag);
    let mut hasher = Sha256::new();
    hasher.update(tag_hash);
    hasher.update(tag_hash);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A 256-bit big-endian integer reduced modulo `n`. A hash is below `2n`,
/// so one subtraction is enough (BIP340: `int(hash) mod n`).
pub(crate) fn reduce(bytes: [u8; 32]) -> Scalar {
    if let Ok(scalar) = Scalar::from_be_bytes(bytes) {
        return scalar;
    }
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(bytes[i]) - i16::from(ORDER[i]) - borrow;
        // `d` lies in -256..=255: the low byte of its two's complement.
        out[i] = d.rem_euclid(256).to_le_bytes()[0];
        borrow = i16::from(d < 0);
    }
    // Below n now, since the input was below 2^256 < 2n.
    Scalar::from_be_bytes(out).unwrap_or(Scalar::ZERO)
}

/// The point with x-coordinate `x` and an even `y` (BIP340's `lift_x`).
pub(crate) fn lift(x: &XOnlyPublicKey) -> PublicKey {
    PublicKey::from_x_only_public_key(*x, Parity::Even)
}

/// BIP340's challenge `e` for nonce `r`, key `p` and 32-byte message `m`.
pub(crate) fn challenge(r: &XOnlyPublicKey, p: &XOnlyPublicKey, m: &[u8; 32]) -> Scalar {
    reduce(tagged_hash(
        b"BIP0340/challenge",
        &[&r.serialize(), &p.serialize(), m],
    ))
}

/// Why a point or a signature could not be formed: each happens with
/// probability about 2⁻¹²⁸ for honest inputs (a hash that is zero modulo
/// `n`, two points that cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Degenerate;

/// `S = lift(R) + e·lift(P)`: the point whose discrete logarithm the
/// signature of `m` with nonce `R` will reveal.
pub(crate) fn attestation_point(
    r: &XOnlyPublicKey,
    p: &XOnlyPublicKey,
    m: &[u8; 32],
) -> Result<PublicKey, Degenerate> {
    let e = challenge(r, p, m);
    let ep = lift(p).mul_tweak(SECP256K1, &e).map_err(|_| Degenerate)?;
    lift(r).combine(&ep).map_err(|_| Degenerate)
}

/// The secret `d` of `key` as BIP340 uses it: negated if `d·G` has an odd
/// `y`, so that `d·G = lift(P.x)`.
pub(crate) fn even(key: &SecretKey) -> SecretKey {
    let (_, parity) = key.x_only_public_key(SECP256K1);
    if parity == Parity::Odd {
        key.negate()
    } else {
        *key
    }
}

/// Signs `m` with the oracle key `d` and the nonce `k` (both as given;
/// lifted to even `y` here). Returns the signature and its `s` as a secret
/// key (the attestation scalar: `s·G` is [`attestation_point`]).
pub(crate) fn sign_with_nonce(
    d: &SecretKey,
    k: &SecretKey,
    m: &[u8; 32],
) -> Result<(SchnorrSignature, SecretKey), Degenerate> {
    let d = even(d);
    let k = even(k);
    let (p, _) = d.x_only_public_key(SECP256K1);
    let (r, _) = k.x_only_public_key(SECP256K1);
    let e = challenge(&r, &p, m);
    // Step 1) e·d mod n; step 2) s = k + e·d mod n.
    let ed = d.mul_tweak(&e).map_err(|_| Degenerate)?;
    let s = k.add_tweak(&Scalar::from(ed)).map_err(|_| Degenerate)?;
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r.serialize());
    bytes[32..].copy_from_slice(&s.secret_bytes());
    let signature = SchnorrSignature::from_slice(&bytes).map_err(|_| Degenerate)?;
    Ok((signature, s))
}

/// The `s` of a BIP340 signature as a secret key (an attestation scalar),
/// or `None` if it is zero or not below `n`.
pub(crate) fn scalar_of(signature: &SchnorrSignature) -> Option<SecretKey> {
    SecretKey::from_slice(&signature.serialize()[32..]).ok()
}

/// The `R.x` of a BIP340 signature, or `None` if it is not on the curve.
pub(crate) fn nonce_of(signature: &SchnorrSignature) -> Option<XOnlyPublicKey> {
    XOnlyPublicKey::from_slice(&signature.serialize()[..32]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secp256k1_zkp::Message;

    #[test]
    fn a_signature_with_a_fixed_nonce_verifies_and_opens_its_point() {
        for seed in 1u8..=16 {
            let d = SecretKey::from_slice(&[seed; 32]).unwrap();
            let k = SecretKey::from_slice(&[seed.wrapping_mul(7).wrapping_add(3); 32]).unwrap();
            let m = tagged_hash(b"test", &[&[seed]]);
            let (sig, s) = sign_with_nonce(&d, &k, &m).unwrap();
            let (p, _) = d.x_only_public_key(SECP256K1);
            let (r, _) = k.x_only_public_key(SECP256K1);
            // libsecp256k1's own BIP340 verification accepts it.
            SECP256K1
                .verify_schnorr(&sig, &Message::from_digest(m), &p)
                .unwrap();
            assert_eq!(nonce_of(&sig), Some(r));
            // The point known in advance is s·G.
            let point = attestation_point(&r, &p, &m).unwrap();
            assert_eq!(PublicKey::from_secret_key(SECP256K1, &s), point);
            assert_eq!(scalar_of(&sig), Some(s));
            // Another message gives another point.
            let other = tagged_hash(b"test", &[&[seed, 1]]);
            assert_ne!(attestation_point(&r, &p, &other).unwrap(), point);
        }
    }

    #[test]
    fn reduction_modulo_the_order() {
        assert_eq!(reduce([0u8; 32]), Scalar::ZERO);
        // n itself reduces to 0, n + 5 to 5, 2^256 - 1 to 2^256 - 1 - n.
        assert_eq!(reduce(ORDER), Scalar::ZERO);
        let mut n5 = ORDER;
        n5[31] += 5;
        let mut five = [0u8; 32];
        five[31] = 5;
        assert_eq!(reduce(n5).to_be_bytes(), five);
        let top = reduce([0xff; 32]).to_be_bytes();
        let expected = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x45, 0x51, 0x23, 0x19, 0x50, 0xb7,
            0x5f, 0xc4, 0x40, 0x2d, 0xa1, 0x73, 0x2f, 0xc9, 0xbe, 0xbe,
        ];
        assert_eq!(top, expected);
    }

    #[test]
    fn the_tagged_hash_is_bip340s() {
        // BIP340's challenge tag hashed twice, then the data: compare with a
        // plain SHA-256 over the same bytes.
        let t = Sha256::digest(b"BIP0340/challenge");
        let mut input = t.to_vec();
        input.extend_from_slice(&t);
        input.extend_from_slice(b"abc");
        assert_eq!(
            tagged_hash(b"BIP0340/challenge", &[b"a", b"bc"])[..],
            Sha256::digest(&input)[..]
        );
    }
}
