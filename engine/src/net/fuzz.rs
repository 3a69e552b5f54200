//! The body of the `noise_frame` fuzz target: generators over the
//! transport's decoders, with oracles.
//!
//! One real handshake between two fixed identities, with fixed ephemeral
//! keys so that its transcript and its transport keys are the same in every
//! run (and the committed corpus holds genuine ciphertext), is made once per
//! process. The first byte of the input picks a generator:
//!
//! - **0, raw**: the rest is the byte stream arriving at the responder after
//!   the handshake.
//! - **1, round trip**: the rest describes frames (count, sizes, a byte
//!   pattern), an optional tampered byte and a read size; the initiator
//!   encrypts the frames and the responder decodes the stream in pieces of
//!   that size.
//! - **2, chunks**: the rest is a list of chunk plaintexts (2-byte length,
//!   bytes, zero-padded), each sealed as the initiator's next chunk whatever
//!   it holds: authenticated but arbitrary framing (bad lengths, oversize
//!   frames, non-canonical splits).
//! - **3, handshake**: the rest is given to a fresh responder as messages 1
//!   and 3, or to a fresh initiator as message 2, or is the binding one side
//!   presents in an otherwise genuine handshake.
//!
//! The oracles:
//!
//! - nothing panics, and every failure is a typed [`NetError`];
//! - decoding is canonical and authentic: re-encrypting the frames the
//!   decoder returned gives exactly the bytes it consumed (a prefix of the
//!   stream, all of it when it ended cleanly);
//! - frames round-trip: an untouched stream decodes to the frames sent, in
//!   order, and ends at a frame boundary; a stream with one altered byte
//!   yields at most a prefix of them, then [`NetError::Decrypt`] or an
//!   incomplete frame, never a different frame;
//! - a handshake succeeds exactly when every message (and binding) is the
//!   genuine one, and then authenticates the right peer.

use std::sync::{Arc, OnceLock};

use snow::StatelessTransportState;

use super::NetError;
use super::frame::{Decoder, Encoder, HEADER_LEN, MAX_PIECE};
use super::handshake::{Initiator, Keys, MESSAGE1_LEN, Responder};
use super::identity::Identity;
use crate::state::SigningKey;

const RAW: u8 = 0;
const ROUND_TRIP: u8 = 1;
const CHUNKS: u8 = 2;
const HANDSHAKE: u8 = 3;

/// The decoder's limit in the raw generator.
const MAX_FRAME: usize = 1 << 20;
/// The plaintext the round-trip and chunk generators encrypt at most per
/// input: enough for a frame of two chunks, small enough to keep an
/// execution cheap (the stable test runs it unoptimised).
const MAX_PLAINTEXT: usize = 72 * 1024;

const EPHEMERAL_A: [u8; 32] = [0x33; 32];
const EPHEMERAL_B: [u8; 32] = [0x44; 32];

/// The fixed handshake: `a` dialled `b`.
struct Fixture {
    a: Identity,
    b: Identity,
    message1: Vec<u8>,
    message2: Vec<u8>,
    message3: Vec<u8>,
    /// `a`'s transport (encrypts what `a` sends).
    a_transport: Arc<StatelessTransportState>,
    /// `b`'s transport (decrypts what `a` sends).
    b_transport: Arc<StatelessTransportState>,
}

fn identity(seed: u8) -> Identity {
    match SigningKey::from_bytes(&[seed; 32]) {
        Some(key) => Identity::new(&key),
        None => unreachable!("[{seed}; 32] is a valid secp256k1 secret"),
    }
}

fn keys_a(f: &Fixture) -> Keys<'_> {
    Keys {
        secret: f.a.noise_secret(),
        ephemeral: Some(&EPHEMERAL_A),
    }
}

fn keys_b(f: &Fixture) -> Keys<'_> {
    Keys {
        secret: f.b.noise_secret(),
        ephemeral: Some(&EPHEMERAL_B),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (a, b) = (identity(0x11), identity(0x22));
        let ka = Keys {
            secret: a.noise_secret(),
            ephemeral: Some(&EPHEMERAL_A),
        };
        let kb = Keys {
            secret: b.noise_secret(),
            ephemeral: Some(&EPHEMERAL_B),
        };
        let shake = || -> Result<_, NetError> {
            let (initiator, message1) = Initiator::start(&ka, b.node_id())?;
            let (awaiting, message2) =
                Responder::new(&kb)?.read_message1(&message1, b.binding())?;
            let (at_a, message3) = initiator.finish(&message2, a.binding())?;
            let at_b = awaiting.finish(&message3)?;
            Ok(([message1, message2, message3], at_a, at_b))
        };
        let ([message1, message2, message3], at_a, at_b) =
            shake().unwrap_or_else(|e| panic!("the fixed handshake fails: {e}"));
        Fixture {
            a,
            b,
            message1,
            message2,
            message3,
            a_transport: Arc::new(at_a.transport),
            b_transport: Arc::new(at_b.transport),
        }
    })
}

/// Runs the fuzz body over `data` (see the module documentation). Panics
/// only when an oracle finds a bug.
pub fn fuzz_frames(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        RAW => {
            check_decoding(rest, MAX_FRAME, usize::MAX);
        }
        ROUND_TRIP => round_trip(rest),
        CHUNKS => chunks(rest),
        _ => handshake(rest),
    }
}

/// How a decoded stream ended.
#[derive(Debug)]
enum End {
    /// At a frame boundary, everything consumed.
    Clean,
    /// In the middle of a chunk or a frame.
    Truncated,
    /// With an error.
    Failed(NetError),
}

/// Decodes `wire` as the responder, `step` bytes per read.
fn decode(wire: &[u8], max_frame: usize, step: usize) -> (Vec<Vec<u8>>, End) {
    let f = fixture();
    let mut decoder = Decoder::new(Arc::clone(&f.b_transport), max_frame);
    let mut frames = Vec::new();
    let mut rest = wire;
    loop {
        loop {
            match decoder.decode() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, End::Failed(e)),
            }
        }
        if rest.is_empty() {
            let end = if decoder.at_boundary() {
                End::Clean
            } else {
                End::Truncated
            };
            return (frames, end);
        }
        let spare = decoder.spare();
        assert!(!spare.is_empty(), "the decoder left no room to read");
        let n = spare.len().min(step.max(1)).min(rest.len());
        spare[..n].copy_from_slice(&rest[..n]);
        decoder.filled(n);
        rest = &rest[n..];
    }
}

/// The initiator's encryption of `frames`, from its first nonce.
fn encode(frames: &[Vec<u8>]) -> Vec<u8> {
    let f = fixture();
    let mut encoder = Encoder::new(Arc::clone(&f.a_transport), usize::MAX);
    let mut out = Vec::new();
    for frame in frames {
        match encoder.encode(frame) {
            Ok(bytes) => out.extend_from_slice(bytes),
            Err(e) => panic!("encoding a frame of {} bytes: {e}", frame.len()),
        }
        encoder.sent();
    }
    out
}

/// Decodes `wire` and checks that the frames re-encode to what was consumed.
fn check_decoding(wire: &[u8], max_frame: usize, step: usize) -> (Vec<Vec<u8>>, End) {
    let (frames, end) = decode(wire, max_frame, step);
    if let End::Failed(NetError::Broken | NetError::Internal(_) | NetError::Io(_)) = end {
        panic!("the decoder failed as it never should: {end:?}");
    }
    assert!(frames.iter().all(|f| f.len() <= max_frame));
    let again = encode(&frames);
    assert!(
        wire.starts_with(&again),
        "decoded frames do not re-encode to the bytes they came from"
    );
    if let End::Clean = end {
        assert_eq!(again.len(), wire.len(), "a clean end left bytes unframed");
    }
    (frames, end)
}

/// A byte source that reads zeros past the end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn round_trip(data: &[u8]) {
    let mut input = Bytes(data);
    let count = usize::from(input.byte() % 8) + 1;
    let pattern = input.byte();
    let mut budget = MAX_PLAINTEXT;
    let frames: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let k = input.byte();
            let small = usize::from(k & 63);
            // Sizes around nothing, a few bytes, many chunks, and the
            // first chunk's capacity (65515 bytes after the header).
            let len = match k >> 6 {
                0 => small,
                1 => small * 97,
                2 => small * 2039,
                _ => (MAX_PIECE - HEADER_LEN + small).saturating_sub(32),
            }
            .min(budget);
            budget -= len;
            (0..len)
                .map(|j| pattern.wrapping_add((i * 7 + j * 13) as u8))
                .collect()
        })
        .collect();
    let position = usize::from(input.u16()) << 8 | usize::from(input.byte());
    let flip = input.byte();
    let step = usize::from(input.u16()).max(1);
    let mut wire = encode(&frames);
    let tampered = flip != 0;
    if tampered {
        let i = position % wire.len();
        wire[i] ^= flip;
    }
    // No re-encoding here: frames equal to those sent re-encode to the
    // stream by construction.
    let (got, end) = decode(&wire, MAX_FRAME, step);
    assert!(
        got.len() <= frames.len() && got[..] == frames[..got.len()],
        "the decoder returned a frame that was not sent"
    );
    if tampered {
        match end {
            End::Failed(NetError::Decrypt) | End::Truncated => {}
            other => panic!("an altered stream ended {other:?}"),
        }
        assert!(got.len() < frames.len(), "an altered frame was accepted");
    } else {
        assert!(matches!(end, End::Clean), "an intact stream ended {end:?}");
        assert_eq!(got.len(), frames.len());
    }
}

fn chunks(data: &[u8]) {
    let mut input = Bytes(data);
    let max_frame = match input.byte() % 4 {
        0 => 0,
        1 => 100,
        2 => MAX_PIECE - HEADER_LEN,
        _ => MAX_FRAME,
    };
    let f = fixture();
    let mut encoder = Encoder::new(Arc::clone(&f.a_transport), usize::MAX);
    let mut wire = Vec::new();
    let mut budget = MAX_PLAINTEXT;
    for _ in 0..64 {
        if input.is_empty() || budget == 0 {
            break;
        }
        let len = usize::from(input.u16()).min(MAX_PIECE).min(budget);
        budget -= len;
        let piece: Vec<u8> = (0..len).map(|_| input.byte()).collect();
        if let Err(e) = encoder.seal_raw(&piece, &mut wire) {
            panic!("sealing a chunk of {len} bytes: {e}");
        }
    }
    let (_, end) = check_decoding(&wire, max_frame, usize::MAX);
    // Every chunk authenticates: the only failures are framing ones.
    if let End::Failed(e) = end {
        assert!(
            matches!(
                e,
                NetError::FrameTooLarge { .. } | NetError::Malformed { .. }
            ),
            "an authentic chunk failed with {e:?}"
        );
    }
}

fn handshake(data: &[u8]) {
    let f = fixture();
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        // Messages 1 and 3 to a responder: the first byte is where message 1
        // ends.
        0 => {
            let Some((&cut, rest)) = rest.split_first() else {
                return;
            };
            let (message1, message3) = rest.split_at(usize::from(cut).min(rest.len()));
            let genuine1 = message1 == f.message1;
            let step1 =
                Responder::new(&keys_b(f)).and_then(|r| r.read_message1(message1, f.b.binding()));
            let Ok((awaiting, message2)) = step1 else {
                assert!(!genuine1, "the genuine message 1 was refused");
                return;
            };
            assert!(genuine1, "a forged message 1 was accepted");
            assert_eq!(message2, f.message2, "the fixed transcript changed");
            match awaiting.finish(message3) {
                Ok(done) => {
                    assert_eq!(message3, f.message3, "a forged message 3 was accepted");
                    assert_eq!(done.peer.id, f.a.node_id());
                    assert_eq!(done.peer.address, f.a.address());
                }
                Err(e) => {
                    assert_ne!(
                        message3, f.message3,
                        "the genuine message 3 was refused: {e}"
                    );
                }
            }
        }
        // Message 2 to an initiator.
        1 => {
            let result = Initiator::start(&keys_a(f), f.b.node_id())
                .and_then(|(i, _)| i.finish(rest, f.a.binding()));
            match result {
                Ok((done, message3)) => {
                    assert_eq!(rest, f.message2, "a forged message 2 was accepted");
                    assert_eq!(message3, f.message3);
                    assert_eq!(done.peer.address, f.b.address());
                }
                Err(e) => assert_ne!(rest, f.message2, "the genuine message 2 was refused: {e}"),
            }
        }
        // A binding in a genuine handshake: the first byte says whose.
        _ => {
            let Some((&whose, binding)) = rest.split_first() else {
                return;
            };
            // A binding so long that message 2 or 3 would pass 65535 bytes
            // cannot be sent; the sender's refusal of it is not under test.
            if binding.len() > 1024 {
                return;
            }
            let result = (|| {
                let (initiator, message1) = Initiator::start(&keys_a(f), f.b.node_id())?;
                let b_binding = if whose % 2 == 1 {
                    binding
                } else {
                    f.b.binding()
                };
                let a_binding = if whose % 2 == 0 {
                    binding
                } else {
                    f.a.binding()
                };
                let (awaiting, message2) =
                    Responder::new(&keys_b(f))?.read_message1(&message1, b_binding)?;
                let (_, message3) = initiator.finish(&message2, a_binding)?;
                awaiting.finish(&message3)
            })();
            let genuine = if whose % 2 == 1 {
                binding == f.b.binding()
            } else {
                binding == f.a.binding()
            };
            match result {
                Ok(done) => {
                    assert!(genuine, "a forged binding was accepted");
                    assert_eq!(done.peer.address, f.a.address());
                }
                Err(e) => {
                    assert!(!genuine, "the genuine binding was refused: {e}");
                    assert!(
                        matches!(e, NetError::BadBinding { .. } | NetError::Handshake(_)),
                        "a bad binding failed with {e:?}"
                    );
                }
            }
        }
    }
}

/// Named seeds for the `noise_frame` corpus, made with the fixed handshake:
/// genuine streams, a truncated one, an oversize frame, round-trip and chunk
/// descriptions, and the genuine handshake messages and bindings. They are
/// deterministic, so the committed corpus doubles as golden vectors of the
/// handshake and the framing.
pub fn fuzz_samples() -> Vec<(&'static str, Vec<u8>)> {
    let f = fixture();
    let with = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    let hundred: Vec<u8> = (0..100u8).collect();
    let frames = encode(&[Vec::new(), b"a".to_vec(), hundred.clone()]);
    let long = encode(&[vec![7u8; 1000]]);
    let mut oversize = Vec::new();
    let mut encoder = Encoder::new(Arc::clone(&f.a_transport), usize::MAX);
    if let Err(e) = encoder.seal_raw(&9_000_000u32.to_be_bytes(), &mut oversize) {
        panic!("sealing the oversize header: {e}");
    }
    // Chunks: a 10-byte frame split canonically, then split 4 + 6.
    let mut canonical = vec![3u8, 0, 14];
    canonical.extend_from_slice(&10u32.to_be_bytes());
    canonical.extend_from_slice(&[1; 10]);
    let mut split = vec![3u8, 0, 8];
    split.extend_from_slice(&10u32.to_be_bytes());
    split.extend_from_slice(&[1; 4]);
    split.extend_from_slice(&[0, 6, 1, 1, 1, 1, 1, 1]);
    vec![
        ("raw_frames", with(RAW, &frames)),
        ("raw_truncated", with(RAW, &long[..500])),
        ("raw_oversize", with(RAW, &oversize)),
        // Three frames (0, 97 * 5 and 65518 bytes: just over a chunk),
        // intact, read 1000 bytes at a time; then with byte 256 altered.
        (
            "round_trip_sizes",
            with(
                ROUND_TRIP,
                &[2, 9, 0, 0x45, 0xe0 | 35, 0, 0, 0, 0, 0x03, 0xe8],
            ),
        ),
        (
            "round_trip_altered",
            with(
                ROUND_TRIP,
                &[2, 9, 0, 0x45, 0xe0 | 35, 0, 1, 0, 0x20, 0x03, 0xe8],
            ),
        ),
        ("chunks_canonical", with(CHUNKS, &canonical)),
        ("chunks_split", with(CHUNKS, &split)),
        (
            "handshake_responder",
            with(
                HANDSHAKE,
                &[
                    &[0, u8::try_from(MESSAGE1_LEN).unwrap_or(0)][..],
                    &f.message1,
                    &f.message3,
                ]
                .concat(),
            ),
        ),
        (
            "handshake_initiator",
            with(HANDSHAKE, &[&[1][..], &f.message2].concat()),
        ),
        (
            "handshake_binding_a",
            with(HANDSHAKE, &[&[2, 0][..], f.a.binding()].concat()),
        ),
        (
            "handshake_binding_b",
            with(HANDSHAKE, &[&[2, 1][..], f.b.binding()].concat()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_runs_and_the_genuine_ones_decode() {
        for (name, bytes) in fuzz_samples() {
            fuzz_frames(&bytes);
            if name == "raw_frames" {
                let (frames, end) = decode(&bytes[1..], MAX_FRAME, 3);
                assert!(matches!(end, End::Clean));
                assert_eq!(frames.len(), 3);
                assert_eq!(frames[2], (0..100u8).collect::<Vec<_>>());
            }
            if name == "raw_oversize" {
                let (_, end) = decode(&bytes[1..], MAX_FRAME, usize::MAX);
                assert!(matches!(
                    end,
                    End::Failed(NetError::FrameTooLarge { len: 9_000_000, .. })
                ));
            }
        }
    }
}
