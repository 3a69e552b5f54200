//! Frames after the handshake, without I/O: the [`Encoder`] turns a frame
//! into chunks on the wire, the [`Decoder`] turns bytes from the wire back
//! into frames.
//!
//! ```text
//! frame plaintext:  len: u32 BE ‖ frame bytes
//! split into pieces of 65519 bytes (the last one shorter); each piece is a
//! chunk on the wire:  ct_len: u16 BE ‖ ChaChaPoly(piece) (piece + 16-byte tag)
//! ```
//!
//! The split is canonical: every piece but the last is full, so a frame has
//! exactly one encoding, and the decoder refuses any other (an authenticated
//! peer that splits otherwise is broken: [`NetError::Malformed`]).
//!
//! The two directions share one [`StatelessTransportState`] through an
//! [`Arc`]; each side keeps its own nonce. snow's `TransportState` takes
//! `&mut self` for both directions, so a reader and a writer in two tasks
//! would need a lock, and a reader waiting for bytes must not hold the
//! writer up. `StatelessTransportState` takes `&self` and an explicit nonce,
//! and Noise gives each direction its own key, so the encoder's counter (the
//! next nonce to send) and the decoder's (the next nonce expected) never
//! meet. The decoder uses the expected counter, never a nonce from the wire,
//! so a replayed, reordered, dropped or altered chunk fails to decrypt.

use std::sync::Arc;

use snow::StatelessTransportState;

use super::NetError;
use super::handshake::TAG_LEN;

/// The largest Noise message: a chunk's ciphertext.
pub(crate) const MAX_MESSAGE: usize = 65535;
/// The largest chunk plaintext.
pub(crate) const MAX_PIECE: usize = MAX_MESSAGE - TAG_LEN;
/// The frame length at the start of a frame's first chunk.
pub(crate) const HEADER_LEN: usize = 4;
/// The largest chunk on the wire: its length, then its ciphertext.
const MAX_WIRE_CHUNK: usize = 2 + MAX_MESSAGE;
/// The decoder's buffer: one full chunk always fits after the partial one
/// left over from the previous read.
const READ_BUFFER: usize = 2 * MAX_WIRE_CHUNK;
/// The encoder keeps a send buffer up to this size between frames and
/// frees a larger one, so a rare 2 MiB frame does not pin 2 MiB per peer.
const KEEP_SEND_BUFFER: usize = 256 * 1024;

/// The bytes on the wire for a frame of `len` bytes.
pub(crate) fn wire_len(len: usize) -> usize {
    let plain = HEADER_LEN + len;
    plain + plain.div_ceil(MAX_PIECE) * (2 + TAG_LEN)
}

fn transport_error(e: snow::Error) -> NetError {
    match e {
        snow::Error::Decrypt => NetError::Decrypt,
        // Nonce exhaustion after 2^64 - 1 chunks, or a bug.
        other => NetError::Internal(format!("transport: {other}")),
    }
}

/// The sending half's cipher: encrypts frames into chunks.
pub(crate) struct Encoder {
    transport: Arc<StatelessTransportState>,
    nonce: u64,
    max_frame: usize,
    /// The first chunk's plaintext (header and the frame's first bytes).
    first: Vec<u8>,
    /// The wire bytes of the frame being sent.
    out: Vec<u8>,
    /// Set while a frame's chunks are encrypted but not known to be on the
    /// wire: if the send was abandoned, the peer's nonce and ours differ.
    in_flight: bool,
}

impl Encoder {
    pub(crate) fn new(transport: Arc<StatelessTransportState>, max_frame: usize) -> Encoder {
        Encoder {
            transport,
            nonce: 0,
            max_frame: max_frame.min(u32::MAX as usize),
            first: Vec::new(),
            out: Vec::new(),
            in_flight: false,
        }
    }

    /// Encrypts `frame` and returns its wire bytes. Call [`Encoder::sent`]
    /// once they are written; until then the encoder refuses another frame
    /// ([`NetError::Broken`]).
    pub(crate) fn encode(&mut self, frame: &[u8]) -> Result<&[u8], NetError> {
        if self.in_flight {
            return Err(NetError::Broken);
        }
        // Refused before any nonce is used: the connection stays usable.
        if frame.len() > self.max_frame {
            return Err(NetError::SendTooLarge {
                len: frame.len(),
                max: self.max_frame,
            });
        }
        let total = u32::try_from(frame.len()).map_err(|_| NetError::SendTooLarge {
            len: frame.len(),
            max: self.max_frame,
        })?;
        self.in_flight = true;
        self.out.clear();
        self.out.resize(wire_len(frame.len()), 0);
        let head = frame.len().min(MAX_PIECE - HEADER_LEN);
        self.first.clear();
        self.first.extend_from_slice(&total.to_be_bytes());
        self.first.extend_from_slice(&frame[..head]);
        let mut pos = 0;
        pos = seal(
            &self.transport,
            &mut self.nonce,
            &self.first,
            &mut self.out,
            pos,
        )?;
        for piece in frame[head..].chunks(MAX_PIECE) {
            pos = seal(&self.transport, &mut self.nonce, piece, &mut self.out, pos)?;
        }
        debug_assert_eq!(pos, self.out.len(), "wire_len counts every chunk");
        Ok(&self.out)
    }

    /// The bytes [`Encoder::encode`] returned are on the wire.
    pub(crate) fn sent(&mut self) {
        self.in_flight = false;
        if self.out.capacity() > KEEP_SEND_BUFFER {
            self.out = Vec::new();
        }
    }

    /// Fuzzing and tests: one chunk with `piece` as its plaintext, whatever
    /// it holds, appended to `out`.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "used by the fuzz body and tests")
    )]
    pub(crate) fn seal_raw(&mut self, piece: &[u8], out: &mut Vec<u8>) -> Result<(), NetError> {
        let start = out.len();
        out.resize(start + 2 + piece.len() + TAG_LEN, 0);
        seal(&self.transport, &mut self.nonce, piece, out, start).map(drop)
    }
}

/// Writes the chunk of `piece` at `out[pos..]` and returns the position
/// after it.
fn seal(
    transport: &StatelessTransportState,
    nonce: &mut u64,
    piece: &[u8],
    out: &mut [u8],
    pos: usize,
) -> Result<usize, NetError> {
    let len = piece.len() + TAG_LEN;
    let prefix =
        u16::try_from(len).map_err(|_| NetError::Internal(format!("a chunk of {len} bytes")))?;
    let end = pos + 2 + len;
    let chunk = out
        .get_mut(pos..end)
        .ok_or_else(|| NetError::Internal("the send buffer is too short".into()))?;
    chunk[..2].copy_from_slice(&prefix.to_be_bytes());
    let n = transport
        .write_message(*nonce, piece, &mut chunk[2..])
        .map_err(transport_error)?;
    debug_assert_eq!(n, len);
    *nonce += 1;
    Ok(end)
}

/// A frame whose first chunks have arrived.
struct Partial {
    total: usize,
    frame: Vec<u8>,
}

/// The receiving half's cipher: decrypts chunks into frames.
///
/// It owns its read buffer, and every step between two reads is
/// synchronous, so an `await` on a read that is cancelled loses nothing:
/// [`super::Reader::recv`] is cancel-safe.
pub(crate) struct Decoder {
    transport: Arc<StatelessTransportState>,
    nonce: u64,
    max_frame: usize,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    plain: Box<[u8]>,
    partial: Option<Partial>,
    failed: bool,
}

impl Decoder {
    pub(crate) fn new(transport: Arc<StatelessTransportState>, max_frame: usize) -> Decoder {
        Decoder {
            transport,
            nonce: 0,
            max_frame,
            buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            plain: vec![0u8; MAX_MESSAGE].into_boxed_slice(),
            partial: None,
            failed: false,
        }
    }

    /// The next complete frame in the buffer, `Ok(None)` if more bytes are
    /// needed. After an error the decoder is dead ([`NetError::Broken`]).
    pub(crate) fn decode(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        if self.failed {
            return Err(NetError::Broken);
        }
        let result = self.decode_chunks();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn decode_chunks(&mut self) -> Result<Option<Vec<u8>>, NetError> {
        loop {
            let available = &self.buf[self.start..self.end];
            let Some(&[hi, lo]) = available.get(..2) else {
                return Ok(None);
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(ciphertext) = available.get(2..2 + len) else {
                return Ok(None);
            };
            // The nonce is the count of chunks before this one: a chunk out
            // of place does not authenticate.
            let n = self
                .transport
                .read_message(self.nonce, ciphertext, &mut self.plain)
                .map_err(transport_error)?;
            self.nonce += 1;
            self.start += 2 + len;
            let piece = &self.plain[..n];
            match self.partial.take() {
                None => {
                    let Some((header, body)) = piece.split_first_chunk::<HEADER_LEN>() else {
                        return Err(NetError::Malformed {
                            reason: "a frame's first chunk is shorter than its 4-byte length",
                        });
                    };
                    let total = usize::try_from(u32::from_be_bytes(*header)).unwrap_or(usize::MAX);
                    // Checked before anything is allocated for the frame.
                    if total > self.max_frame {
                        return Err(NetError::FrameTooLarge {
                            len: total,
                            max: self.max_frame,
                        });
                    }
                    if body.len() != total.min(MAX_PIECE - HEADER_LEN) {
                        return Err(NON_CANONICAL);
                    }
                    if body.len() == total {
                        return Ok(Some(body.to_vec()));
                    }
                    let mut frame = Vec::with_capacity(total);
                    frame.extend_from_slice(body);
                    self.partial = Some(Partial { total, frame });
                }
                Some(mut partial) => {
                    if n != (partial.total - partial.frame.len()).min(MAX_PIECE) {
                        return Err(NON_CANONICAL);
                    }
                    partial.frame.extend_from_slice(piece);
                    if partial.frame.len() == partial.total {
                        return Ok(Some(partial.frame));
                    }
                    self.partial = Some(partial);
                }
            }
        }
    }

    /// Where the next read goes. Never empty once [`Decoder::decode`] has
    /// returned `Ok(None)` (what is left is less than one chunk).
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < MAX_WIRE_CHUNK {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into [`Decoder::spare`].
    pub(crate) fn filled(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.buf.len());
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Nothing is buffered and no frame is half-received: an end of stream
    /// here is the peer closing cleanly.
    pub(crate) fn at_boundary(&self) -> bool {
        self.start == self.end && self.partial.is_none()
    }

    /// The stream failed under the decoder (truncation, I/O error).
    pub(crate) fn fail(&mut self) {
        self.failed = true;
    }
}

const NON_CANONICAL: NetError = NetError::Malformed {
    reason: "a chunk's length does not follow from its frame's length \
             (every chunk but a frame's last is full)",
};

#[cfg(test)]
mod tests {
    use super::super::handshake::{Initiator, Responder};
    use super::super::identity::Identity;
    use super::super::keys;
    use super::*;
    use crate::state::SigningKey;

    /// An encoder from a fresh handshake and the decoder of its peer.
    fn pair(max_frame: usize) -> (Encoder, Decoder) {
        let a = Identity::new(&SigningKey::from_bytes(&[1; 32]).unwrap());
        let b = Identity::new(&SigningKey::from_bytes(&[2; 32]).unwrap());
        let (i, m1) = Initiator::start(&keys(&a), b.node_id()).unwrap();
        let (r, m2) = Responder::new(&keys(&b))
            .unwrap()
            .read_message1(&m1, b.binding())
            .unwrap();
        let (ia, m3) = i.finish(&m2, a.binding()).unwrap();
        let rb = r.finish(&m3).unwrap();
        (
            Encoder::new(Arc::new(ia.transport), max_frame),
            Decoder::new(Arc::new(rb.transport), max_frame),
        )
    }

    /// Feeds `wire` to the decoder `step` bytes at a time and collects the
    /// frames; the error if one occurs.
    fn feed(dec: &mut Decoder, wire: &[u8], step: usize) -> Result<Vec<Vec<u8>>, NetError> {
        let mut frames = Vec::new();
        let mut rest = wire;
        loop {
            while let Some(frame) = dec.decode()? {
                frames.push(frame);
            }
            if rest.is_empty() {
                return Ok(frames);
            }
            let spare = dec.spare();
            let n = spare.len().min(step).min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            dec.filled(n);
            rest = &rest[n..];
        }
    }

    fn frame(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn frames_round_trip_across_chunk_boundaries() {
        let lens = [
            0,
            1,
            MAX_PIECE - HEADER_LEN - 1,
            MAX_PIECE - HEADER_LEN,
            MAX_PIECE - HEADER_LEN + 1,
            MAX_PIECE,
            200_000,
        ];
        // Delivered whole, in pieces across chunk headers, and a byte at a
        // time.
        for step in [1, 7, 65_537, usize::MAX] {
            let (mut enc, mut dec) = pair(1 << 20);
            let mut wire = Vec::new();
            for len in lens {
                let bytes = enc.encode(&frame(len)).unwrap();
                assert_eq!(bytes.len(), wire_len(len));
                wire.extend_from_slice(bytes);
                enc.sent();
            }
            let frames = feed(&mut dec, &wire, step).unwrap();
            assert_eq!(frames, lens.map(frame).to_vec(), "step {step}");
            assert!(dec.at_boundary());
        }
    }

    #[test]
    fn an_oversize_frame_is_refused_at_its_first_chunk() {
        let (mut enc, mut dec) = pair(1000);
        // A first chunk declaring 4 GiB - 1 bytes, and nothing else: the
        // decoder refuses it without waiting for (or allocating) the rest.
        let mut wire = Vec::new();
        let mut first = u32::MAX.to_be_bytes().to_vec();
        first.extend_from_slice(&[0u8; MAX_PIECE - HEADER_LEN]);
        enc.seal_raw(&first, &mut wire).unwrap();
        assert!(matches!(
            feed(&mut dec, &wire, usize::MAX),
            Err(NetError::FrameTooLarge { len, max: 1000 }) if len == u32::MAX as usize
        ));
        // Dead afterwards.
        assert!(matches!(dec.decode(), Err(NetError::Broken)));
        // The sender refuses too, before using a nonce.
        assert!(matches!(
            enc.encode(&[0u8; 1001]),
            Err(NetError::SendTooLarge {
                len: 1001,
                max: 1000
            })
        ));
        assert!(enc.encode(&[0u8; 1000]).is_ok());
    }

    #[test]
    fn replayed_reordered_and_altered_chunks_do_not_decrypt() {
        let chunks = |enc: &mut Encoder| {
            let mut out = Vec::new();
            for f in [b"one".as_slice(), b"two"] {
                out.push(enc.encode(f).unwrap().to_vec());
                enc.sent();
            }
            out
        };
        // Replay.
        let (mut enc, mut dec) = pair(1000);
        let c = chunks(&mut enc);
        let wire = [c[0].clone(), c[0].clone()].concat();
        assert!(matches!(feed(&mut dec, &wire, 100), Err(NetError::Decrypt)));
        // Reorder.
        let (mut enc, mut dec) = pair(1000);
        let c = chunks(&mut enc);
        let wire = [c[1].clone(), c[0].clone()].concat();
        assert!(matches!(feed(&mut dec, &wire, 100), Err(NetError::Decrypt)));
        // Drop.
        let (mut enc, mut dec) = pair(1000);
        let c = chunks(&mut enc);
        assert!(matches!(feed(&mut dec, &c[1], 100), Err(NetError::Decrypt)));
        // Every single bit flipped, anywhere but the length prefix, fails;
        // a flipped length prefix fails or waits for bytes that never come.
        let (mut enc, _) = pair(1000);
        let c = chunks(&mut enc);
        for i in 0..c[0].len() * 8 {
            let (mut enc2, mut dec2) = pair(1000);
            let mut wire = chunks(&mut enc2)[0].clone();
            assert_eq!(wire.len(), c[0].len());
            wire[i / 8] ^= 1 << (i % 8);
            match feed(&mut dec2, &wire, 100) {
                Err(NetError::Decrypt) => {}
                Ok(frames) if i < 16 => assert!(frames.is_empty() && !dec2.at_boundary()),
                other => panic!("bit {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_abandoned_send_breaks_the_sending_side() {
        let (mut enc, mut dec) = pair(1000);
        let wire = enc.encode(b"x").unwrap().to_vec();
        // No `sent()`: the caller gave up with the bytes maybe half written.
        assert!(matches!(enc.encode(b"y"), Err(NetError::Broken)));
        assert_eq!(feed(&mut dec, &wire, 100).unwrap(), vec![b"x".to_vec()]);
    }

    #[test]
    fn non_canonical_chunking_is_refused() {
        // A 10-byte frame split as 4 + 6 bytes after its header.
        let (mut enc, mut dec) = pair(1000);
        let mut wire = Vec::new();
        let mut first = 10u32.to_be_bytes().to_vec();
        first.extend_from_slice(&[1, 2, 3, 4]);
        enc.seal_raw(&first, &mut wire).unwrap();
        enc.seal_raw(&[5, 6, 7, 8, 9, 10], &mut wire).unwrap();
        assert!(matches!(
            feed(&mut dec, &wire, usize::MAX),
            Err(NetError::Malformed { .. })
        ));
        // A first chunk without its header.
        let (mut enc, mut dec) = pair(1000);
        let mut wire = Vec::new();
        enc.seal_raw(&[0, 0], &mut wire).unwrap();
        assert!(matches!(
            feed(&mut dec, &wire, usize::MAX),
            Err(NetError::Malformed { .. })
        ));
    }
}
