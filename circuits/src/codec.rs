//! Byte-level reading and writing for the canonical encodings.
//!
//! Public so that the other canonical encodings of sotto (the contract ABI
//! section, for one) share one reader with one set of errors.
//!
//! Integers are fixed-width little-endian, so every value has exactly one
//! encoding. The reader never panics: running out of input is
//! [`DecodeError::UnexpectedEnd`], and [`Reader::finish`] rejects leftovers.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::errors::DecodeError;

/// Appends canonical encodings to a byte vector.
#[derive(Default)]
pub struct Writer {
    /// The encoding so far.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    /// A `u16`, little-endian.
    pub fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// A `u64`, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// An `i128`, little-endian.
    pub fn i128(&mut self, v: i128) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// Bytes as they are, no length.
    pub fn raw(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
    /// A scalar's canonical 32 bytes.
    pub fn scalar(&mut self, s: &Scalar) {
        self.raw(s.as_bytes());
    }
    /// A compressed point's 32 bytes.
    pub fn point(&mut self, p: &CompressedRistretto) {
        self.raw(p.as_bytes());
    }
    /// A length-prefixed (u16) string; callers bound the length first.
    pub fn str(&mut self, s: &str) {
        debug_assert!(s.len() <= usize::from(u16::MAX));
        self.u16(s.len() as u16);
        self.raw(s.as_bytes());
    }
}

/// Reads canonical encodings from a byte slice.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::UnexpectedEnd { what });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// A little-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// A little-endian `i128`.
    pub fn i128(&mut self, what: &'static str) -> Result<i128, DecodeError> {
        Ok(i128::from_le_bytes(self.array(what)?))
    }
    /// A canonical scalar (reduced modulo ℓ).
    pub fn scalar(&mut self, what: &'static str) -> Result<Scalar, DecodeError> {
        let bytes = self.array(what)?;
        Option::from(Scalar::from_canonical_bytes(bytes))
            .ok_or(DecodeError::NonCanonicalScalar { what })
    }

    /// A point that decompresses, with its compressed form.
    pub fn point(
        &mut self,
        what: &'static str,
    ) -> Result<(CompressedRistretto, RistrettoPoint), DecodeError> {
        let compressed = CompressedRistretto(self.array(what)?);
        let point = compressed
            .decompress()
            .ok_or(DecodeError::InvalidPoint { what })?;
        Ok((compressed, point))
    }

    /// A u16-length-prefixed UTF-8 string.
    pub fn str(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = usize::from(self.u16(what)?);
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::InvalidUtf8 { what })
    }

    /// A u16 count, refused above `max` before anything is allocated for it.
    pub fn count(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let count = usize::from(self.u16(what)?);
        if count > max {
            return Err(DecodeError::TooMany { what, count, max });
        }
        Ok(count)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(self, what: &'static str) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what,
                count: self.bytes.len(),
            })
        }
    }
}
