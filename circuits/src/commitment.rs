//! Pedersen commitments to `u64` values and their openings.
//!
//! A [`Commitment`] is `v·B + r·B_blinding` on the Ristretto group, with `B`
//! and `B_blinding` the generators of [`pedersen_gens`](crate::pedersen_gens).
//! It hides `v` perfectly and binds the committer to it computationally
//! (under discrete log). An [`Opening`] is the pair `(v, r)`: it is a secret,
//! zeroized on drop, and its `Debug` output never shows either part.
//!
//! **Invariant:** a `Commitment` always holds a point that decompresses; the
//! only ways to make one are to commit, or to decode bytes that pass
//! Ristretto's canonical decompression.

use std::fmt;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::errors::DecodeError;
use crate::msm::pedersen_gens;

/// A Pedersen commitment: 32 bytes on the wire, a valid Ristretto point inside.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Commitment {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl Commitment {
    /// Size of the encoding in bytes.
    pub const SIZE: usize = 32;

    /// Wraps a point known to be valid (computed here, never read from outside).
    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        Commitment {
            compressed: point.compress(),
            point,
        }
    }

    /// Decodes the canonical 32-byte encoding.
    ///
    /// Fails with [`DecodeError::InvalidPoint`] on any encoding that is not a
    /// canonical Ristretto point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let compressed = CompressedRistretto(*bytes);
        let point = compressed
            .decompress()
            .ok_or(DecodeError::InvalidPoint { what: "commitment" })?;
        Ok(Commitment { compressed, point })
    }

    /// Decodes a commitment from a slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let array: &[u8; 32] = bytes.try_into().map_err(|_| DecodeError::Length {
            what: "commitment",
            expected: Self::SIZE,
            found: bytes.len(),
        })?;
        Self::from_bytes(array)
    }

    /// The canonical 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }

    /// The compressed form, as bulletproofs and transcripts take it.
    pub(crate) fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The group element.
    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment(")?;
        for byte in self.compressed.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

/// The secret behind a commitment: the value and its blinding factor.
///
/// Zeroized on drop. `Debug` prints neither part. Clone it only where the
/// copy is itself dropped (and so zeroized) promptly.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    value: u64,
    blinding: Scalar,
}

/// Constant-time in the secret: both parts are compared, whatever the
/// first comparison gives.
impl PartialEq for Opening {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        (self.value.ct_eq(&other.value) & self.blinding.ct_eq(&other.blinding)).into()
    }
}

impl Eq for Opening {}

impl Opening {
    /// An opening of `value` with a fresh uniformly random blinding factor.
    pub fn random<R: RngCore + CryptoRng>(value: u64, rng: &mut R) -> Self {
        Opening {
            value,
            blinding: Scalar::random(rng),
        }
    }

    /// An opening with a given blinding factor (to re-open a received
    /// commitment, or to replay golden vectors).
    pub fn new(value: u64, blinding: Scalar) -> Self {
        Opening { value, blinding }
    }

    /// The committed value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The blinding factor.
    pub fn blinding(&self) -> &Scalar {
        &self.blinding
    }

    /// The commitment this opens: `value·B + blinding·B_blinding`.
    pub fn commit(&self) -> Commitment {
        let gens = pedersen_gens();
        Commitment::from_point(gens.commit(Scalar::from(self.value), self.blinding))
    }

    /// Whether this opening opens `commitment` (constant-time in the secret).
    pub fn opens(&self, commitment: &Commitment) -> bool {
        use subtle::ConstantTimeEq;
        self.commit()
            .compressed
            .as_bytes()
            .ct_eq(commitment.compressed.as_bytes())
            .into()
    }
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Opening(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn commit_is_homomorphic() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = Opening::random(40, &mut rng);
        let b = Opening::random(2, &mut rng);
        let sum = Opening::new(42, a.blinding() + b.blinding());
        assert_eq!(
            sum.commit().point,
            a.commit().point + b.commit().point,
            "C(a) + C(b) must equal C(a + b)"
        );
    }

    #[test]
    fn opening_checks_value_and_blinding() {
        let mut rng = StdRng::seed_from_u64(8);
        let a = Opening::random(5, &mut rng);
        let c = a.commit();
        assert!(a.opens(&c));
        assert!(!Opening::new(6, *a.blinding()).opens(&c));
        assert!(!Opening::random(5, &mut rng).opens(&c));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = Opening::new(123456789, Scalar::from(987654321u64));
        let shown = format!("{a:?}");
        assert!(!shown.contains("123456789"));
        assert_eq!(shown, "Opening(<redacted>)");
    }

    #[test]
    fn decoding_rejects_non_points_and_wrong_lengths() {
        let mut rng = StdRng::seed_from_u64(9);
        let c = Opening::random(1, &mut rng).commit();
        assert_eq!(Commitment::from_bytes(&c.to_bytes()), Ok(c));
        // 2^255 - 1 is not a canonical field element, so not a point.
        assert_eq!(
            Commitment::from_bytes(&[0xff; 32]),
            Err(DecodeError::InvalidPoint { what: "commitment" })
        );
        assert!(matches!(
            Commitment::from_slice(&[0u8; 31]),
            Err(DecodeError::Length { found: 31, .. })
        ));
    }
}
