//! The byte encodings of the update protocol: the [`Message`]s parties send
//! each other, the [`Record`] each keeps of a channel and the [`Secret`]
//! holding its private openings.
//!
//! They exist so that a message crosses the transport and a record or a
//! secret survives a restart as exactly the value that was sent or stored.
//! Like every persisted or signed encoding of sotto they are versioned and
//! canonical, in the style of `sotto_circuits`' encodings (and with its
//! [`Reader`] and [`Writer`]): little-endian fixed-width integers, `u16`
//! counts and string lengths, and one encoding per value.
//!
//! **Invariants:**
//! - decoding never panics, and never allocates in proportion to a length
//!   prefix before the bytes it announces are there: every count is
//!   bounded (`MAX_*` below) and checked before anything is reserved, and
//!   an input longer than [`MAX_MESSAGE`], [`MAX_RECORD`] or [`MAX_SECRET`]
//!   is refused before it is read;
//! - canonical: `decode(encode(x)) == x` for every value within the limits,
//!   and `encode(decode(b)) == b` for every `b` that decodes. The decoders
//!   reject everything else: trailing bytes, a bool or option byte other
//!   than 0 or 1, map keys that are not strictly increasing, unknown tags,
//!   points that do not decompress, non-canonical scalars, invalid UTF-8;
//! - a value beyond a limit (more than [`MAX_PARTIES`] participants, a
//!   function name longer than [`MAX_FUNCTION_NAME`] bytes, ...) encodes to
//!   bytes that never decode: the encoders are total and fail closed
//!   rather than wrap a count. The one exception is a refusal's detail,
//!   human-readable text, which is cut to [`MAX_DETAIL`] bytes at a
//!   character boundary.
//!
//! # Encoding (wire version 1)
//!
//! ```text
//! message  = version:u8(=1) tag:u8 body
//!   0 Open      commitments:cmap proof:opt<proof>
//!   1 Propose   offer
//!   2 Accept    version:u64 digest:[32]
//!   3 Refuse    version:u64 kind:u8 detail:str(≤1024)
//!   4 Withdraw  version:u64
//!   5 Sign      version:u64 digest:[32] signature:[65]
//!   6 Reveal    field:u32 opening
//!   7 Resync    version:opt<u64>
//! offer    = 0 update | 1 state                  (Call | Close)
//! update   = function:str(≤255) args:list(≤2048)<value> now:u64
//!            commitments:list(≤1024)<[32]> proof:opt<proof> state
//! state    = channel_id:[32] version:u64 commitment:[32]
//!            allocation:list(≤64)<u64> is_final:bool
//! value    = 0 u64 | 1 bool | 2 [32] | 3 party:u32    (the ABI's type tags)
//! kind     = the index of the RefusalKind in RefusalKind::ALL (new kinds go last)
//! opening  = value:u64 blinding:[32]             (a canonical scalar)
//!
//! record   = version:u8(=1) params me:u32 deposits:list(≤64)<u64> phase:u8
//!            commitments:list(≤64)<opt<cmap>> my_proof:opt<proof>
//!            view:opt<view> signatures:list(≤64)<opt<[65]>>
//!            pending:opt<pending> funded:list(≤64)<u64> deadline:opt<u64>
//!            revealed:map(≤1024)<u64> registered:opt<state u64>
//!            concluded:opt<list(≤64)<u64>>
//! params   = participants:list(≤64)<[20]> nonce:u64 challenge_period:u64
//!            contract_id:[32] asset:[20] adjudicator:[20] chain_id:u64
//! view     = params version:u64 public:list(≤1024)<value> commitments:cmap
//!            live:list(≤64)<u64> signed:list(≤64)<u64> deposits:u128
//!            finished:bool
//! pending  = proposer:u32 offer next:view signatures:list(≤64)<opt<[65]>>
//! phase    = the index of the Phase in Phase::ALL (new phases go last)
//!
//! secret   = version:u8(=1) openings:omap next:opt<omap>
//! omap     = count:u16(≤1024) (field:u32 opening)*  fields strictly increasing
//!
//! list(≤n)<T> = count:u16(≤n) T*
//! map(≤n)<T>  = count:u16(≤n) (key:u32 T)*          keys strictly increasing
//! cmap     = map(≤1024)<[32]>                    field → commitment (a point)
//! opt<T>   = 0x00 | 0x01 T
//! bool     = 0x00 | 0x01
//! str(≤n)  = len:u16(≤n) UTF-8 bytes
//! proof    = len:u32(≤1 MiB) Proof::encode bytes
//!
//! peer     = version:u8(=1) tag:u8 body          (what one node sends another)
//!   0 Invite   params deposits:list(≤64)<u64> module:len:u32(≤MAX_MODULE_BYTES) bytes
//!   1 Decline  channel_id:[32] reason:str(≤1024)
//!   2 Channel  channel_id:[32] message's tag and body (no second version byte)
//! ```
//!
//! Integers are little-endian (`u128` as 16 bytes); `[n]` is `n` raw bytes.
//! A signature's 65 bytes are carried as they are: whether they are a
//! valid signature is [`super::check_signature`]'s question, not the
//! wire's.
//!
//! The fuzz body [`fuzz_wire`] and its seeds ([`fuzz_samples`]) are at the
//! bottom: `fuzz/fuzz_targets/wire.rs` runs it under libFuzzer and
//! `engine/tests/fuzz_wire.rs` on stable.

use std::collections::BTreeMap;

use sotto_circuits::codec::{Reader, Writer};
use sotto_circuits::{Commitment, DecodeError, Opening, Proof, Scalar};
use sotto_contracts::abi::Value;
use thiserror::Error;
use zeroize::Zeroizing;

use super::message::{MAX_BATCH, Message, Offer, PeerMessage, Refusal, RefusalKind};
use super::record::{Pending, Phase, Record, Secret};
use super::update::{ChannelView, Update};
use crate::state::{Address, ChannelParams, Signature, State};

/// The version byte every message, record and secret starts with.
pub const WIRE_VERSION: u8 = 1;

/// Most parties of a channel: participants, allocations, deposits,
/// signatures.
pub const MAX_PARTIES: usize = 64;
/// Most private fields (commitments and openings by field index), public
/// field values and revealed values.
pub const MAX_FIELDS: usize = 1024;
/// Most arguments of a call: public parameters, then reveals (the ABI
/// allows 1024 of each).
pub const MAX_ARGS: usize = 2048;
/// Most commitments an update introduces (one per circuit variable).
pub const MAX_COMMITMENTS: usize = 1024;
/// Longest function name, in bytes (the ABI's own limit).
pub const MAX_FUNCTION_NAME: usize = 255;
/// Longest refusal detail, in bytes; the encoder cuts longer ones.
pub const MAX_DETAIL: usize = 1024;
/// Longest proof encoding, in bytes.
pub const MAX_PROOF: usize = 1 << 20;
/// Longest message: refused up front by [`decode_message`]. Every message
/// within the item limits fits (the largest, a proposal with a full proof
/// and every argument and commitment, is under 1.1 MiB).
pub const MAX_MESSAGE: usize = 2 << 20;
/// Longest record: refused up front by [`decode_record`]. Every record
/// within the item limits fits (at most two proofs and 64 opening maps,
/// under 4.7 MiB).
pub const MAX_RECORD: usize = 8 << 20;
/// Bytes of one encoded opening: field index, value, blinding.
const OPENING_ENTRY: usize = 4 + 8 + 32;
/// Longest secret: the exact size of two full opening maps.
pub const MAX_SECRET: usize =
    1 + (2 + MAX_FIELDS * OPENING_ENTRY) + 1 + (2 + MAX_FIELDS * OPENING_ENTRY);

const MSG_OPEN: u8 = 0;
const MSG_PROPOSE: u8 = 1;
const MSG_ACCEPT: u8 = 2;
const MSG_REFUSE: u8 = 3;
const MSG_WITHDRAW: u8 = 4;
const MSG_SIGN: u8 = 5;
const MSG_REVEAL: u8 = 6;
const MSG_RESYNC: u8 = 7;

const PEER_INVITE: u8 = 0;
const PEER_DECLINE: u8 = 1;
const PEER_CHANNEL: u8 = 2;

/// The largest peer message: a channel message with its channel id, or an
/// invitation carrying the largest module the sandbox loads.
pub const MAX_PEER_MESSAGE: usize = {
    let invite = 2 + 4 + crate::sandbox::MAX_MODULE_BYTES + 2 + MAX_PARTIES * 8 + PARAMS_MAX;
    let channel = 1 + 32 + MAX_MESSAGE;
    if invite > channel { invite } else { channel }
};

/// The largest encoded [`ChannelParams`].
const PARAMS_MAX: usize = 2 + MAX_PARTIES * 20 + 8 + 8 + 32 + 20 + 20 + 8;

const OFFER_CALL: u8 = 0;
const OFFER_CLOSE: u8 = 1;
const OFFER_BATCH: u8 = 2;

// The ABI's value type tags (`sotto_contracts::abi`).
const VALUE_U64: u8 = 0;
const VALUE_BOOL: u8 = 1;
const VALUE_BYTES32: u8 = 2;
const VALUE_PARTY: u8 = 3;

/// Bytes that are not the wire encoding of the value asked for. Every
/// variant means the sender (or the store) produced something this build
/// does not read; none is a bug of the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The first byte is not [`WIRE_VERSION`].
    #[error(
        "wire format version {found}, this build reads version {}",
        WIRE_VERSION
    )]
    Version {
        /// The version byte found.
        found: u8,
    },
    /// A count, a length or the whole input is above its limit (checked
    /// before anything is allocated for it).
    #[error("{what}: {len} exceeds the limit of {max}")]
    TooLarge {
        /// The item.
        what: &'static str,
        /// Its announced count or length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list shorter than its form allows (a batch of one call).
    #[error("{what}: {len}, fewer than {min}")]
    TooFew {
        /// The item.
        what: &'static str,
        /// Its count.
        len: usize,
        /// The least allowed.
        min: usize,
    },
    /// The input ended before `what` was complete.
    #[error("truncated input: {what} is incomplete")]
    Truncated {
        /// The item being read when the input ran out.
        what: &'static str,
    },
    /// Bytes remain after a complete value.
    #[error("{count} trailing bytes after the {what}")]
    Trailing {
        /// The value that was complete.
        what: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// A tag byte that names no variant.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// The kind of item.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A bool or option byte other than 0 or 1.
    #[error("{what}: byte {value}, expected 0 or 1")]
    Flag {
        /// The item.
        what: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A map key not above the previous one (keys are strictly increasing,
    /// so a map has one encoding and no duplicate key).
    #[error("{what}: key {key} does not follow the previous key in increasing order")]
    KeyOrder {
        /// The map.
        what: &'static str,
        /// The out-of-order key.
        key: u32,
    },
    /// A nested item that does not decode: a proof, a commitment that is
    /// not a canonical Ristretto point, a blinding that is not a canonical
    /// scalar, a string that is not UTF-8.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// The item.
        what: &'static str,
        /// The circuits codec's reason.
        source: DecodeError,
    },
}

impl From<DecodeError> for WireError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::UnexpectedEnd { what } => WireError::Truncated { what },
            DecodeError::TrailingBytes { what, count } => WireError::Trailing { what, count },
            DecodeError::TooMany { what, count, max } => WireError::TooLarge {
                what,
                len: count,
                max,
            },
            DecodeError::UnknownTag { what, tag } => WireError::UnknownTag { what, tag },
            source => WireError::Malformed {
                what: "input",
                source,
            },
        }
    }
}

/// The wire encoding of `message` (see the module docs).
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(WIRE_VERSION);
    put_message(&mut w, message);
    w.bytes
}

/// Decodes a message: exactly what [`encode_message`] produces, nothing
/// else.
pub fn decode_message(bytes: &[u8]) -> Result<Message, WireError> {
    let mut r = open(bytes, "message", MAX_MESSAGE)?;
    let message = get_message(&mut r)?;
    r.finish("message")?;
    Ok(message)
}

/// The wire encoding of a [`PeerMessage`] (see the module docs).
pub fn encode_peer(message: &PeerMessage) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(WIRE_VERSION);
    match message {
        PeerMessage::Invite {
            params,
            deposits,
            module,
        } => {
            w.u8(PEER_INVITE);
            put_params(&mut w, params);
            put_list(&mut w, deposits, |w, d| w.u64(*d));
            // A module above the limit encodes to a length that never
            // decodes: fail closed.
            let len = if module.len() > crate::sandbox::MAX_MODULE_BYTES {
                u32::MAX
            } else {
                u32::try_from(module.len()).unwrap_or(u32::MAX)
            };
            put_u32(&mut w, len);
            w.raw(module);
        }
        PeerMessage::Decline { channel_id, reason } => {
            w.u8(PEER_DECLINE);
            w.raw(channel_id);
            put_str(&mut w, cut(reason, MAX_DETAIL));
        }
        PeerMessage::Channel {
            channel_id,
            message,
        } => {
            w.u8(PEER_CHANNEL);
            w.raw(channel_id);
            put_message(&mut w, message);
        }
    }
    w.bytes
}

/// Decodes a peer message: exactly what [`encode_peer`] produces, nothing
/// else.
pub fn decode_peer(bytes: &[u8]) -> Result<PeerMessage, WireError> {
    let mut r = open(bytes, "peer message", MAX_PEER_MESSAGE)?;
    let message = match r.u8("peer message tag")? {
        PEER_INVITE => {
            let params = get_params(&mut r)?;
            let deposits = get_list(&mut r, "deposits", MAX_PARTIES, |r| Ok(r.u64("deposit")?))?;
            let len = get_u32(&mut r, "module length")? as usize;
            if len > crate::sandbox::MAX_MODULE_BYTES {
                return Err(WireError::TooLarge {
                    what: "module",
                    len,
                    max: crate::sandbox::MAX_MODULE_BYTES,
                });
            }
            let module = r.take(len, "module")?.to_vec();
            PeerMessage::Invite {
                params,
                deposits,
                module,
            }
        }
        PEER_DECLINE => PeerMessage::Decline {
            channel_id: get_array(&mut r, "channel id")?,
            reason: get_str(&mut r, "decline reason", MAX_DETAIL)?,
        },
        PEER_CHANNEL => {
            // The channel message, with a version byte of its own, must be
            // one `decode_message` reads: no larger here than there.
            let inner = bytes.len().saturating_sub(1 + 32);
            if inner > MAX_MESSAGE {
                return Err(WireError::TooLarge {
                    what: "channel message",
                    len: inner,
                    max: MAX_MESSAGE,
                });
            }
            let channel_id = get_array(&mut r, "channel id")?;
            let message = Box::new(get_message(&mut r)?);
            PeerMessage::Channel {
                channel_id,
                message,
            }
        }
        tag => {
            return Err(WireError::UnknownTag {
                what: "peer message",
                tag,
            });
        }
    };
    r.finish("peer message")?;
    Ok(message)
}

/// The encoding of `record` (see the module docs).
pub fn encode_record(record: &Record) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(WIRE_VERSION);
    put_record(&mut w, record);
    w.bytes
}

/// Decodes a record: exactly what [`encode_record`] produces, nothing else.
pub fn decode_record(bytes: &[u8]) -> Result<Record, WireError> {
    let mut r = open(bytes, "record", MAX_RECORD)?;
    let record = get_record(&mut r)?;
    r.finish("record")?;
    Ok(record)
}

/// The encoding of `secret` (see the module docs), zeroized when dropped.
///
/// The buffer is allocated once at its final size, so no reallocation
/// leaves a copy of an opening behind in freed memory. What this cannot
/// prevent: each value passes through a stack temporary on its way in.
pub fn encode_secret(secret: &Secret) -> Zeroizing<Vec<u8>> {
    let size = |m: &BTreeMap<u32, Opening>| 2 + m.len() * OPENING_ENTRY;
    let len = 1 + size(&secret.openings) + 1 + secret.next.as_ref().map_or(0, size);
    let mut w = Writer {
        bytes: Vec::with_capacity(len),
    };
    w.u8(WIRE_VERSION);
    put_openings(&mut w, &secret.openings);
    put_opt(&mut w, &secret.next, put_openings);
    debug_assert_eq!(w.bytes.len(), len, "the secret's size is computed exactly");
    Zeroizing::new(w.bytes)
}

/// Decodes a secret: exactly what [`encode_secret`] produces, nothing else.
/// On failure every opening decoded so far is dropped, and so zeroized.
pub fn decode_secret(bytes: &[u8]) -> Result<Secret, WireError> {
    let mut r = open(bytes, "secret", MAX_SECRET)?;
    let openings = get_openings(&mut r)?;
    let next = get_opt(&mut r, "next openings flag", get_openings)?;
    r.finish("secret")?;
    Ok(Secret { openings, next })
}

/// Checks the input's length against `max`, then reads the version byte.
fn open<'a>(bytes: &'a [u8], what: &'static str, max: usize) -> Result<Reader<'a>, WireError> {
    if bytes.len() > max {
        return Err(WireError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    let mut r = Reader::new(bytes);
    let found = r.u8("wire version")?;
    if found != WIRE_VERSION {
        return Err(WireError::Version { found });
    }
    Ok(r)
}

// Messages.

fn put_message(w: &mut Writer, message: &Message) {
    match message {
        Message::Open { commitments, proof } => {
            w.u8(MSG_OPEN);
            put_commitment_map(w, commitments);
            put_opt(w, proof, put_proof);
        }
        Message::Propose(offer) => {
            w.u8(MSG_PROPOSE);
            put_offer(w, offer);
        }
        Message::Accept { version, digest } => {
            w.u8(MSG_ACCEPT);
            w.u64(*version);
            w.raw(digest);
        }
        Message::Refuse { version, refusal } => {
            w.u8(MSG_REFUSE);
            w.u64(*version);
            w.u8(tag_of(&RefusalKind::ALL, refusal.kind));
            put_str(w, cut(&refusal.detail, MAX_DETAIL));
        }
        Message::Withdraw { version } => {
            w.u8(MSG_WITHDRAW);
            w.u64(*version);
        }
        Message::Sign {
            version,
            digest,
            signature,
        } => {
            w.u8(MSG_SIGN);
            w.u64(*version);
            w.raw(digest);
            w.raw(&signature.0);
        }
        Message::Reveal { field, opening } => {
            w.u8(MSG_REVEAL);
            put_u32(w, *field);
            put_opening(w, opening);
        }
        Message::Resync { version } => {
            w.u8(MSG_RESYNC);
            put_opt(w, version, |w, v| w.u64(*v));
        }
    }
}

fn get_message(r: &mut Reader<'_>) -> Result<Message, WireError> {
    Ok(match r.u8("message tag")? {
        MSG_OPEN => Message::Open {
            commitments: get_commitment_map(r)?,
            proof: get_opt(r, "proof flag", get_proof)?,
        },
        MSG_PROPOSE => Message::Propose(get_offer(r)?),
        MSG_ACCEPT => Message::Accept {
            version: r.u64("version")?,
            digest: get_array(r, "digest")?,
        },
        MSG_REFUSE => Message::Refuse {
            version: r.u64("version")?,
            refusal: Refusal {
                kind: get_tagged(r, "refusal kind", &RefusalKind::ALL)?,
                detail: get_str(r, "refusal detail", MAX_DETAIL)?,
            },
        },
        MSG_WITHDRAW => Message::Withdraw {
            version: r.u64("version")?,
        },
        MSG_SIGN => Message::Sign {
            version: r.u64("version")?,
            digest: get_array(r, "digest")?,
            signature: get_signature(r)?,
        },
        MSG_REVEAL => Message::Reveal {
            field: get_u32(r, "field index")?,
            opening: get_opening(r)?,
        },
        MSG_RESYNC => Message::Resync {
            version: get_opt(r, "resync version flag", |r| Ok(r.u64("version")?))?,
        },
        tag => {
            return Err(WireError::UnknownTag {
                what: "message",
                tag,
            });
        }
    })
}

fn put_offer(w: &mut Writer, offer: &Offer) {
    match offer {
        Offer::Call(update) => {
            w.u8(OFFER_CALL);
            put_update(w, update);
        }
        Offer::Close(state) => {
            w.u8(OFFER_CLOSE);
            put_state(w, state);
        }
        Offer::Batch { earlier, last } => {
            w.u8(OFFER_BATCH);
            put_list(w, earlier, put_update);
            put_update(w, last);
        }
    }
}

fn get_offer(r: &mut Reader<'_>) -> Result<Offer, WireError> {
    match r.u8("offer tag")? {
        OFFER_CALL => Ok(Offer::Call(get_update(r)?)),
        OFFER_CLOSE => Ok(Offer::Close(get_state(r)?)),
        OFFER_BATCH => {
            let earlier = get_list(r, "batched calls", MAX_BATCH - 1, get_update)?;
            if earlier.is_empty() {
                // One call travels as `Call`: one encoding per offer.
                return Err(WireError::TooFew {
                    what: "calls in a batch",
                    len: 1,
                    min: 2,
                });
            }
            Ok(Offer::Batch {
                earlier,
                last: get_update(r)?,
            })
        }
        tag => Err(WireError::UnknownTag { what: "offer", tag }),
    }
}

fn put_update(w: &mut Writer, u: &Update) {
    put_str(w, &u.function);
    put_list(w, &u.args, put_value);
    w.u64(u.now);
    put_list(w, &u.commitments, put_commitment);
    put_opt(w, &u.proof, put_proof);
    put_state(w, &u.state);
}

fn get_update(r: &mut Reader<'_>) -> Result<Update, WireError> {
    Ok(Update {
        function: get_str(r, "function name", MAX_FUNCTION_NAME)?,
        args: get_list(r, "arguments", MAX_ARGS, get_value)?,
        now: r.u64("time")?,
        commitments: get_list(r, "update commitments", MAX_COMMITMENTS, |r| {
            get_commitment(r, "update commitment")
        })?,
        proof: get_opt(r, "proof flag", get_proof)?,
        state: get_state(r)?,
    })
}

fn put_state(w: &mut Writer, s: &State) {
    w.raw(&s.channel_id);
    w.u64(s.version);
    w.raw(&s.commitment);
    put_list(w, &s.allocation, |w, a| w.u64(*a));
    put_bool(w, s.is_final);
}

fn get_state(r: &mut Reader<'_>) -> Result<State, WireError> {
    Ok(State {
        channel_id: get_array(r, "channel id")?,
        version: r.u64("state version")?,
        commitment: get_array(r, "state commitment")?,
        allocation: get_list(r, "allocation", MAX_PARTIES, |r| Ok(r.u64("amount")?))?,
        is_final: get_bool(r, "final flag")?,
    })
}

fn put_value(w: &mut Writer, v: &Value) {
    match *v {
        Value::U64(x) => {
            w.u8(VALUE_U64);
            w.u64(x);
        }
        Value::Bool(b) => {
            w.u8(VALUE_BOOL);
            put_bool(w, b);
        }
        Value::Bytes32(b) => {
            w.u8(VALUE_BYTES32);
            w.raw(&b);
        }
        Value::Party(p) => {
            w.u8(VALUE_PARTY);
            put_u32(w, p);
        }
    }
}

fn get_value(r: &mut Reader<'_>) -> Result<Value, WireError> {
    Ok(match r.u8("value type")? {
        VALUE_U64 => Value::U64(r.u64("u64 value")?),
        VALUE_BOOL => Value::Bool(get_bool(r, "bool value")?),
        VALUE_BYTES32 => Value::Bytes32(get_array(r, "bytes32 value")?),
        VALUE_PARTY => Value::Party(get_u32(r, "party value")?),
        tag => {
            return Err(WireError::UnknownTag {
                what: "value type",
                tag,
            });
        }
    })
}

// Records.

fn put_record(w: &mut Writer, rec: &Record) {
    put_params(w, &rec.params);
    put_u32(w, rec.me);
    put_list(w, &rec.deposits, |w, d| w.u64(*d));
    w.u8(tag_of(&Phase::ALL, rec.phase));
    put_list(w, &rec.commitments, |w, c| {
        put_opt(w, c, put_commitment_map);
    });
    put_opt(w, &rec.my_proof.as_deref(), |w, p| put_proof(w, p));
    put_opt(w, &rec.view, put_view);
    put_signatures(w, &rec.signatures);
    put_opt(w, &rec.pending.as_deref(), |w, p| put_pending(w, p));
    put_list(w, &rec.funded, |w, f| w.u64(*f));
    put_opt(w, &rec.deadline, |w, d| w.u64(*d));
    put_map(w, &rec.revealed, |w, v| w.u64(*v));
    put_opt(w, &rec.registered, |w, (state, end)| {
        put_state(w, state);
        w.u64(*end);
    });
    put_opt(w, &rec.concluded, |w, c| put_list(w, c, |w, a| w.u64(*a)));
}

fn get_record(r: &mut Reader<'_>) -> Result<Record, WireError> {
    Ok(Record {
        params: get_params(r)?,
        me: get_u32(r, "own party index")?,
        deposits: get_list(r, "deposits", MAX_PARTIES, |r| Ok(r.u64("deposit")?))?,
        phase: get_tagged(r, "phase", &Phase::ALL)?,
        commitments: get_list(r, "opening commitments", MAX_PARTIES, |r| {
            get_opt(r, "opening commitments flag", get_commitment_map)
        })?,
        my_proof: get_opt(r, "own proof flag", get_proof)?.map(Box::new),
        view: get_opt(r, "view flag", get_view)?,
        signatures: get_signatures(r)?,
        pending: get_opt(r, "pending flag", get_pending)?.map(Box::new),
        funded: get_list(r, "funded", MAX_PARTIES, |r| Ok(r.u64("funded amount")?))?,
        deadline: get_opt(r, "deadline flag", |r| Ok(r.u64("deadline")?))?,
        revealed: get_map(r, "revealed values", MAX_FIELDS, |r| {
            Ok(r.u64("revealed value")?)
        })?,
        registered: get_opt(r, "registered flag", |r| {
            Ok((get_state(r)?, r.u64("challenge end")?))
        })?,
        concluded: get_opt(r, "concluded flag", |r| {
            get_list(r, "concluded allocation", MAX_PARTIES, |r| {
                Ok(r.u64("amount")?)
            })
        })?,
    })
}

fn put_params(w: &mut Writer, p: &ChannelParams) {
    put_list(w, &p.participants, |w, a| w.raw(&a.0));
    w.u64(p.nonce);
    w.u64(p.challenge_period);
    w.raw(&p.contract_id);
    w.raw(&p.asset.0);
    w.raw(&p.adjudicator.0);
    w.u64(p.chain_id);
}

fn get_params(r: &mut Reader<'_>) -> Result<ChannelParams, WireError> {
    Ok(ChannelParams {
        participants: get_list(r, "participants", MAX_PARTIES, |r| {
            Ok(Address(get_array(r, "participant")?))
        })?,
        nonce: r.u64("nonce")?,
        challenge_period: r.u64("challenge period")?,
        contract_id: get_array(r, "contract id")?,
        asset: Address(get_array(r, "asset")?),
        adjudicator: Address(get_array(r, "adjudicator")?),
        chain_id: r.u64("chain id")?,
    })
}

fn put_view(w: &mut Writer, v: &ChannelView) {
    put_params(w, &v.params);
    w.u64(v.version);
    put_list(w, &v.public, put_value);
    put_commitment_map(w, &v.commitments);
    put_list(w, &v.live, |w, a| w.u64(*a));
    put_list(w, &v.signed, |w, a| w.u64(*a));
    w.raw(&v.deposits.to_le_bytes());
    put_bool(w, v.finished);
}

fn get_view(r: &mut Reader<'_>) -> Result<ChannelView, WireError> {
    Ok(ChannelView {
        params: get_params(r)?,
        version: r.u64("view version")?,
        public: get_list(r, "public fields", MAX_FIELDS, get_value)?,
        commitments: get_commitment_map(r)?,
        live: get_list(r, "live allocation", MAX_PARTIES, |r| Ok(r.u64("amount")?))?,
        signed: get_list(
            r,
            "signed allocation",
            MAX_PARTIES,
            |r| Ok(r.u64("amount")?),
        )?,
        deposits: u128::from_le_bytes(get_array(r, "total deposits")?),
        finished: get_bool(r, "finished flag")?,
    })
}

fn put_pending(w: &mut Writer, p: &Pending) {
    put_u32(w, p.proposer);
    put_offer(w, &p.offer);
    put_view(w, &p.next);
    put_signatures(w, &p.signatures);
}

fn get_pending(r: &mut Reader<'_>) -> Result<Pending, WireError> {
    Ok(Pending {
        proposer: get_u32(r, "proposer")?,
        offer: get_offer(r)?,
        next: get_view(r)?,
        signatures: get_signatures(r)?,
    })
}

fn put_signatures(w: &mut Writer, s: &[Option<Signature>]) {
    put_list(w, s, |w, s| put_opt(w, s, |w, s| w.raw(&s.0)));
}

fn get_signatures(r: &mut Reader<'_>) -> Result<Vec<Option<Signature>>, WireError> {
    get_list(r, "signatures", MAX_PARTIES, |r| {
        get_opt(r, "signature flag", get_signature)
    })
}

fn get_signature(r: &mut Reader<'_>) -> Result<Signature, WireError> {
    Ok(Signature(get_array(r, "signature")?))
}

// Secrets and the cryptographic items.

fn put_openings(w: &mut Writer, m: &BTreeMap<u32, Opening>) {
    put_map(w, m, put_opening);
}

fn get_openings(r: &mut Reader<'_>) -> Result<BTreeMap<u32, Opening>, WireError> {
    get_map(r, "openings", MAX_FIELDS, get_opening)
}

fn put_opening(w: &mut Writer, o: &Opening) {
    w.u64(o.value());
    w.scalar(o.blinding());
}

fn get_opening(r: &mut Reader<'_>) -> Result<Opening, WireError> {
    let value = r.u64("opening value")?;
    let blinding: Scalar = r
        .scalar("blinding")
        .map_err(|source| malformed("blinding", source))?;
    Ok(Opening::new(value, blinding))
}

fn put_commitment(w: &mut Writer, c: &Commitment) {
    w.raw(&c.to_bytes());
}

fn get_commitment(r: &mut Reader<'_>, what: &'static str) -> Result<Commitment, WireError> {
    Commitment::from_bytes(&get_array(r, what)?).map_err(|source| malformed(what, source))
}

fn put_commitment_map(w: &mut Writer, m: &BTreeMap<u32, Commitment>) {
    put_map(w, m, put_commitment);
}

fn get_commitment_map(r: &mut Reader<'_>) -> Result<BTreeMap<u32, Commitment>, WireError> {
    get_map(r, "commitments", MAX_FIELDS, |r| {
        get_commitment(r, "commitment")
    })
}

fn put_proof(w: &mut Writer, p: &Proof) {
    let bytes = p.encode();
    // Above u32::MAX the saturated length still exceeds MAX_PROOF: fail closed.
    put_u32(w, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    w.raw(&bytes);
}

fn get_proof(r: &mut Reader<'_>) -> Result<Proof, WireError> {
    let len = usize::try_from(get_u32(r, "proof length")?).unwrap_or(usize::MAX);
    if len > MAX_PROOF {
        return Err(WireError::TooLarge {
            what: "proof",
            len,
            max: MAX_PROOF,
        });
    }
    let bytes = r.take(len, "proof")?;
    // Within its announced length, a proof that ends early is malformed,
    // not a truncated input.
    Proof::decode(bytes).map_err(|source| malformed("proof", source))
}

// Generic items.

fn malformed(what: &'static str, source: DecodeError) -> WireError {
    WireError::Malformed { what, source }
}

/// A count or a length as a `u16`. Every limit is far below `u16::MAX`, so
/// one above it saturates to a count the decoder refuses: fail closed.
fn put_len(w: &mut Writer, len: usize) {
    w.u16(u16::try_from(len).unwrap_or(u16::MAX));
}

fn put_u32(w: &mut Writer, v: u32) {
    w.raw(&v.to_le_bytes());
}

fn get_u32(r: &mut Reader<'_>, what: &'static str) -> Result<u32, WireError> {
    Ok(u32::from_le_bytes(get_array(r, what)?))
}

fn get_array<const N: usize>(r: &mut Reader<'_>, what: &'static str) -> Result<[u8; N], WireError> {
    let mut out = [0u8; N];
    out.copy_from_slice(r.take(N, what)?);
    Ok(out)
}

fn put_bool(w: &mut Writer, b: bool) {
    w.u8(u8::from(b));
}

fn get_bool(r: &mut Reader<'_>, what: &'static str) -> Result<bool, WireError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(WireError::Flag { what, value }),
    }
}

fn put_str(w: &mut Writer, s: &str) {
    put_len(w, s.len());
    w.raw(s.as_bytes());
}

fn get_str(r: &mut Reader<'_>, what: &'static str, max: usize) -> Result<String, WireError> {
    let len = r.count(what, max)?;
    let raw = r.take(len, what)?;
    String::from_utf8(raw.to_vec()).map_err(|_| malformed(what, DecodeError::InvalidUtf8 { what }))
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let end = s.floor_char_boundary(max);
    s.get(..end).unwrap_or_default()
}

/// The index of `x` in `all` (an `ALL` constant in wire-tag order). A
/// variant missing from `all` gets tag 255, which no decoder accepts.
fn tag_of<T: PartialEq + Copy>(all: &[T], x: T) -> u8 {
    all.iter()
        .position(|y| *y == x)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

fn get_tagged<T: Copy>(r: &mut Reader<'_>, what: &'static str, all: &[T]) -> Result<T, WireError> {
    let tag = r.u8(what)?;
    all.get(usize::from(tag))
        .copied()
        .ok_or(WireError::UnknownTag { what, tag })
}

fn put_opt<T>(w: &mut Writer, v: &Option<T>, put: impl FnOnce(&mut Writer, &T)) {
    match v {
        None => w.u8(0),
        Some(x) => {
            w.u8(1);
            put(w, x);
        }
    }
}

fn get_opt<'a, T>(
    r: &mut Reader<'a>,
    what: &'static str,
    get: impl FnOnce(&mut Reader<'a>) -> Result<T, WireError>,
) -> Result<Option<T>, WireError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => get(r).map(Some),
        value => Err(WireError::Flag { what, value }),
    }
}

fn put_list<T>(w: &mut Writer, items: &[T], mut put: impl FnMut(&mut Writer, &T)) {
    put_len(w, items.len());
    for x in items {
        put(w, x);
    }
}

fn get_list<'a, T>(
    r: &mut Reader<'a>,
    what: &'static str,
    max: usize,
    mut get: impl FnMut(&mut Reader<'a>) -> Result<T, WireError>,
) -> Result<Vec<T>, WireError> {
    let count = r.count(what, max)?;
    // Every item takes at least one byte: reserve no more than the input
    // can still fill.
    let mut out = Vec::with_capacity(count.min(r.remaining()));
    for _ in 0..count {
        out.push(get(r)?);
    }
    Ok(out)
}

fn put_map<V>(w: &mut Writer, map: &BTreeMap<u32, V>, mut put: impl FnMut(&mut Writer, &V)) {
    put_len(w, map.len());
    for (k, v) in map {
        put_u32(w, *k);
        put(w, v);
    }
}

fn get_map<'a, V>(
    r: &mut Reader<'a>,
    what: &'static str,
    max: usize,
    mut get: impl FnMut(&mut Reader<'a>) -> Result<V, WireError>,
) -> Result<BTreeMap<u32, V>, WireError> {
    let count = r.count(what, max)?;
    let mut out = BTreeMap::new();
    let mut last = None;
    for _ in 0..count {
        let key = get_u32(r, what)?;
        if last.is_some_and(|last| key <= last) {
            return Err(WireError::KeyOrder { what, key });
        }
        last = Some(key);
        out.insert(key, get(r)?);
    }
    Ok(out)
}

// Fuzzing.

/// Fuzz body for the wire decoders (`fuzz/fuzz_targets/wire.rs` under
/// libFuzzer, `engine/tests/fuzz_wire.rs` on stable).
///
/// Decodes `data` as a message, a peer message, a record and a secret. Oracles: decoding
/// never panics (whatever the bytes); whatever decodes re-encodes to exactly
/// `data` (canonical encodings), and decoding that again gives an equal
/// value.
pub fn fuzz_wire(data: &[u8]) {
    if let Ok(message) = decode_message(data) {
        let bytes = encode_message(&message);
        assert_eq!(bytes, data, "message decoding is not canonical");
        assert_eq!(
            decode_message(&bytes),
            Ok(message),
            "a re-encoded message decodes to another value"
        );
    }
    if let Ok(record) = decode_record(data) {
        let bytes = encode_record(&record);
        assert_eq!(bytes, data, "record decoding is not canonical");
        assert_eq!(
            decode_record(&bytes),
            Ok(record),
            "a re-encoded record decodes to another value"
        );
    }
    if let Ok(peer) = decode_peer(data) {
        let bytes = encode_peer(&peer);
        assert_eq!(bytes, data, "peer message decoding is not canonical");
        assert_eq!(
            decode_peer(&bytes),
            Ok(peer),
            "a re-encoded peer message decodes to another value"
        );
    }
    if let Ok(secret) = decode_secret(data) {
        let bytes = encode_secret(&secret);
        assert_eq!(&bytes[..], data, "secret decoding is not canonical");
        assert_eq!(
            decode_secret(&bytes),
            Ok(secret),
            "a re-encoded secret decodes to another value"
        );
    }
}

/// Real values of every kind the wire carries, built deterministically (a
/// real proof, a real signature, commitments of real openings).
pub struct FuzzSamples {
    /// Every message kind, a refusal of every [`RefusalKind`], both offers.
    pub messages: Vec<Message>,
    /// A record mid-update (view, pending proposal, one signature of two
    /// collected), then a fresh record in every [`Phase`].
    pub records: Vec<Record>,
    /// A secret with openings for a pending proposal, and an empty one.
    pub secrets: Vec<Secret>,
    /// Every peer message kind.
    pub peers: Vec<PeerMessage>,
}

impl FuzzSamples {
    /// Every sample encoded, named `message_NN`, `record_NN` or `secret_NN`:
    /// the seed corpus of [`fuzz_wire`] (`fuzz/corpus/wire/`).
    pub fn encodings(&self) -> Vec<(String, Vec<u8>)> {
        let messages = self.messages.iter().map(encode_message);
        let records = self.records.iter().map(encode_record);
        let secrets = self.secrets.iter().map(|s| encode_secret(s).to_vec());
        let peers = self.peers.iter().map(encode_peer);
        let named = |kind: &'static str, all: Vec<Vec<u8>>| {
            all.into_iter()
                .enumerate()
                .map(move |(i, bytes)| (format!("{kind}_{i:02}"), bytes))
        };
        named("message", messages.collect())
            .chain(named("record", records.collect()))
            .chain(named("secret", secrets.collect()))
            .chain(named("peer", peers.collect()))
            .collect()
    }
}

/// The samples: see [`FuzzSamples`]. The proof is `sotto_circuits`' fuzz
/// fixture (one of every constraint kind), built once per process.
pub fn fuzz_samples() -> FuzzSamples {
    // Nothing here depends on input: a failure is a bug in this function
    // or in the circuits fixture.
    let proof = Proof::decode(&sotto_circuits::fuzzing::fixture().proof)
        .unwrap_or_else(|e| unreachable!("the circuits fixture's proof decodes: {e}"));
    let key = crate::state::SigningKey::from_bytes(&[7; 32])
        .unwrap_or_else(|| unreachable!("[7; 32] is a secp256k1 secret key"));
    let params = ChannelParams {
        participants: vec![key.address(), Address([0x22; 20])],
        nonce: 7,
        challenge_period: 3600,
        contract_id: [0xc0; 32],
        asset: Address([0; 20]),
        adjudicator: Address([0xad; 20]),
        chain_id: 31337,
    };
    let opening = |value: u64, blinding: u64| Opening::new(value, Scalar::from(blinding));
    let openings: BTreeMap<u32, Opening> = [(2, opening(40, 11)), (5, opening(1, 12))].into();
    let commitments: BTreeMap<u32, Commitment> =
        openings.iter().map(|(f, o)| (*f, o.commit())).collect();
    let view = ChannelView {
        params: params.clone(),
        version: 3,
        public: vec![
            Value::U64(9),
            Value::Bool(true),
            Value::Party(1),
            Value::Bytes32([0xb3; 32]),
        ],
        commitments: commitments.clone(),
        live: vec![60, 40],
        signed: vec![70, 30],
        deposits: 100,
        finished: false,
    };
    let state = State {
        channel_id: params.channel_id(),
        version: 4,
        commitment: [0x5c; 32],
        allocation: vec![65, 35],
        is_final: false,
    };
    let signature = key.sign(&state.digest());
    let update = Update {
        function: "bid".into(),
        args: vec![
            Value::U64(30),
            Value::Bool(false),
            Value::Bytes32([0xee; 32]),
            Value::Party(0),
        ],
        now: 1_700_000_000,
        commitments: vec![opening(30, 13).commit(), opening(0, 14).commit()],
        proof: Some(proof.clone()),
        state: state.clone(),
    };
    let next = ChannelView {
        version: 4,
        live: vec![65, 35],
        signed: vec![65, 35],
        ..view.clone()
    };

    let mut messages = vec![
        Message::Open {
            commitments: commitments.clone(),
            proof: Some(proof.clone()),
        },
        Message::Open {
            commitments: BTreeMap::new(),
            proof: None,
        },
        Message::Propose(Offer::Call(update.clone())),
        Message::Propose(Offer::Close(State {
            is_final: true,
            ..state.clone()
        })),
        Message::Accept {
            version: 4,
            digest: state.digest(),
        },
        Message::Withdraw { version: 4 },
        Message::Sign {
            version: 4,
            digest: state.digest(),
            signature,
        },
        Message::Reveal {
            field: 2,
            opening: opening(40, 11),
        },
        Message::Resync { version: None },
        Message::Resync { version: Some(3) },
    ];
    // Last, so that the tests' positions of the others hold.
    messages.push(Message::Propose(Offer::Batch {
        earlier: vec![
            Update {
                proof: None,
                commitments: Vec::new(),
                ..update.clone()
            },
            update.clone(),
        ],
        last: update.clone(),
    }));
    messages.extend(RefusalKind::ALL.iter().map(|kind| Message::Refuse {
        version: 4,
        // Not ASCII only, so that UTF-8 is exercised.
        refusal: Refusal::new(*kind, format!("{} — détail", kind.name())),
    }));

    let fresh = |phase| Record {
        params: params.clone(),
        me: 1,
        deposits: vec![50, 50],
        phase,
        commitments: vec![None, None],
        my_proof: None,
        view: None,
        signatures: vec![None, None],
        pending: None,
        funded: vec![0, 0],
        deadline: None,
        revealed: BTreeMap::new(),
        registered: None,
        concluded: None,
    };
    let mut records = vec![Record {
        params: params.clone(),
        me: 0,
        deposits: vec![50, 50],
        phase: Phase::Open,
        commitments: vec![Some(commitments.clone()), None],
        my_proof: Some(Box::new(proof)),
        view: Some(view),
        signatures: vec![Some(signature), Some(signature)],
        pending: Some(Box::new(Pending {
            proposer: 0,
            offer: Offer::Call(update),
            next,
            signatures: vec![Some(signature), None],
        })),
        funded: vec![50, 50],
        deadline: Some(1_700_000_060),
        revealed: [(7, 99), (9, 0)].into(),
        registered: Some((state.clone(), 1_700_003_600)),
        concluded: Some(vec![70, 30]),
    }];
    records.extend(Phase::ALL.iter().map(|p| fresh(*p)));

    let secrets = vec![
        Secret {
            next: Some([(2, opening(35, 21)), (5, opening(0, 22))].into()),
            openings,
        },
        Secret::default(),
    ];
    let channel_id = params.channel_id();
    let peers = vec![
        PeerMessage::Invite {
            params,
            deposits: vec![50, 50],
            // The smallest module header: whether it is a contract is the
            // sandbox's question, not the wire's.
            module: b"\0asm\x01\0\0\0".to_vec(),
        },
        PeerMessage::Decline {
            channel_id,
            reason: "no contract of this id is accepted here".into(),
        },
        PeerMessage::Channel {
            channel_id,
            message: Box::new(messages[2].clone()),
        },
        PeerMessage::Channel {
            channel_id,
            message: Box::new(Message::Resync { version: Some(3) }),
        },
    ];
    FuzzSamples {
        messages,
        records,
        secrets,
        peers,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    fn samples() -> &'static FuzzSamples {
        static SAMPLES: OnceLock<FuzzSamples> = OnceLock::new();
        SAMPLES.get_or_init(fuzz_samples)
    }

    /// A decoder by its kind, so that one loop covers all three.
    fn decoder(name: &str) -> fn(&[u8]) -> Result<(), WireError> {
        match name.split('_').next() {
            Some("message") => |b| decode_message(b).map(drop),
            Some("record") => |b| decode_record(b).map(drop),
            Some("peer") => |b| decode_peer(b).map(drop),
            _ => |b| decode_secret(b).map(drop),
        }
    }

    fn message(m: &Message) -> Vec<u8> {
        encode_message(m)
    }

    #[test]
    fn every_peer_message_round_trips_and_an_oversized_module_is_refused() {
        let s = samples();
        let tags: std::collections::BTreeSet<u8> =
            s.peers.iter().map(|m| encode_peer(m)[1]).collect();
        assert_eq!(
            tags,
            (0..=PEER_CHANNEL).collect(),
            "a peer message kind is missing"
        );
        for m in &s.peers {
            let bytes = encode_peer(m);
            assert_eq!(decode_peer(&bytes).as_ref(), Ok(m));
            for cut in 0..bytes.len() {
                assert!(
                    decode_peer(&bytes[..cut]).is_err(),
                    "a prefix of {cut} bytes decodes"
                );
            }
            fuzz_wire(&bytes);
        }
        // A module length above the sandbox's limit is refused before the
        // bytes it announces are looked for.
        let Some(PeerMessage::Invite {
            params, deposits, ..
        }) = s.peers.first().cloned()
        else {
            panic!("the first sample is an invitation");
        };
        let huge = PeerMessage::Invite {
            params,
            deposits,
            module: vec![0; crate::sandbox::MAX_MODULE_BYTES + 1],
        };
        assert!(matches!(
            decode_peer(&encode_peer(&huge)),
            Err(WireError::TooLarge { what: "module", .. })
        ));
        // A channel message is no larger inside a peer message than alone
        // (refused before it is read).
        let mut big = vec![WIRE_VERSION, PEER_CHANNEL];
        big.extend_from_slice(&[0; 32]);
        big.resize(1 + 32 + MAX_MESSAGE + 1, 0);
        assert!(matches!(decode_peer(&big), Err(WireError::TooLarge { .. })));
    }

    #[test]
    fn every_message_round_trips() {
        let s = samples();
        let tags: std::collections::BTreeSet<u8> =
            s.messages.iter().map(|m| message(m)[1]).collect();
        assert_eq!(
            tags,
            (0..=MSG_RESYNC).collect(),
            "a message kind is missing"
        );
        for m in &s.messages {
            let bytes = encode_message(m);
            assert_eq!(decode_message(&bytes).as_ref(), Ok(m));
            fuzz_wire(&bytes);
        }
    }

    #[test]
    fn a_record_with_a_pending_proposal_round_trips() {
        let s = samples();
        assert!(s.records[0].pending.is_some() && s.records[0].view.is_some());
        for r in &s.records {
            let bytes = encode_record(r);
            assert_eq!(decode_record(&bytes).as_ref(), Ok(r));
            fuzz_wire(&bytes);
        }
    }

    #[test]
    fn a_secret_round_trips_in_a_buffer_allocated_once() {
        for s in &samples().secrets {
            let bytes = encode_secret(s);
            assert_eq!(bytes.capacity(), bytes.len(), "the buffer was reallocated");
            assert_eq!(decode_secret(&bytes).as_ref(), Ok(s));
            fuzz_wire(&bytes);
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, bytes) in samples().encodings() {
            let decode = decoder(&name);
            for len in 0..bytes.len() {
                assert!(
                    decode(&bytes[..len]).is_err(),
                    "{name} cut to {len} bytes decodes"
                );
            }
        }
    }

    #[test]
    fn a_batch_of_one_call_is_refused() {
        let s = samples();
        let update = match &s.messages[2] {
            Message::Propose(Offer::Call(u)) => u.clone(),
            other => panic!("not a call: {other:?}"),
        };
        // One call travels as `Call`; a batch of one would be a second
        // encoding of it.
        let one = encode_message(&Message::Propose(Offer::Batch {
            earlier: Vec::new(),
            last: update,
        }));
        assert!(matches!(
            decode_message(&one),
            Err(WireError::TooFew { len: 1, min: 2, .. })
        ));
    }

    #[test]
    fn a_trailing_byte_is_an_error() {
        for (name, mut bytes) in samples().encodings() {
            bytes.push(0);
            assert!(
                matches!(
                    decoder(&name)(&bytes),
                    Err(WireError::Trailing { count: 1, .. })
                ),
                "{name} with a trailing byte"
            );
        }
    }

    #[test]
    fn an_unknown_version_is_an_error() {
        for (name, mut bytes) in samples().encodings() {
            bytes[0] = 2;
            assert_eq!(decoder(&name)(&bytes), Err(WireError::Version { found: 2 }));
        }
        assert_eq!(
            decode_message(&[]),
            Err(WireError::Truncated {
                what: "wire version"
            })
        );
    }

    #[test]
    fn an_unknown_tag_is_an_error() {
        let s = samples();
        let unknown = |bytes: &[u8], at: usize, tag: u8, what: &str| {
            let mut bytes = bytes.to_vec();
            bytes[at] = tag;
            match decode_message(&bytes) {
                Err(WireError::UnknownTag { what: w, tag: t }) => {
                    assert_eq!((w, t), (what, tag));
                }
                other => panic!("{what} tag {tag}: {other:?}"),
            }
        };
        // Message, offer, refusal kind: at fixed offsets.
        let withdraw = message(&Message::Withdraw { version: 1 });
        unknown(&withdraw, 1, MSG_RESYNC + 1, "message");
        unknown(&withdraw, 1, 0xff, "message");
        let call = message(&s.messages[2]);
        unknown(&call, 2, OFFER_BATCH + 1, "offer");
        let kinds = RefusalKind::ALL.len();
        let refuse = message(&Message::Refuse {
            version: 1,
            refusal: Refusal::new(RefusalKind::ALL[kinds - 1], ""),
        });
        assert_eq!(usize::from(refuse[10]), kinds - 1);
        unknown(&refuse, 10, u8::try_from(kinds).unwrap(), "refusal kind");
        // A value type: the first argument of a call named "f".
        let mut update = match &s.messages[2] {
            Message::Propose(Offer::Call(u)) => u.clone(),
            other => panic!("not a call: {other:?}"),
        };
        update.function = "f".into();
        let call = message(&Message::Propose(Offer::Call(update)));
        // version, tag, offer tag, name length (2) and name (1), arg count (2).
        assert_eq!(call[8], VALUE_U64);
        unknown(&call, 8, 4, "value type");
        // A phase: right after the params and `me`.
        let record = encode_record(&s.records[1]);
        let at = 1 + (2 + 2 * 20 + 8 + 8 + 32 + 20 + 20 + 8) + 4 + (2 + 2 * 8);
        assert_eq!(record[at], 0, "the first fresh record is opening");
        let mut bad = record.clone();
        bad[at] = 6;
        assert_eq!(
            decode_record(&bad),
            Err(WireError::UnknownTag {
                what: "phase",
                tag: 6
            })
        );
    }

    #[test]
    fn a_non_increasing_map_key_is_an_error() {
        let commitments: BTreeMap<u32, Commitment> = samples().secrets[0]
            .openings
            .iter()
            .map(|(f, o)| (*f, o.commit()))
            .collect();
        assert_eq!(commitments.keys().copied().collect::<Vec<_>>(), [2, 5]);
        let bytes = message(&Message::Open {
            commitments,
            proof: None,
        });
        // version, tag, count (2), then key 2 (4) and its commitment (32):
        // the second key starts at 40.
        assert_eq!(bytes[40..44], 5u32.to_le_bytes());
        for key in [2u32, 1] {
            let mut bad = bytes.clone();
            bad[40..44].copy_from_slice(&key.to_le_bytes());
            assert_eq!(
                decode_message(&bad),
                Err(WireError::KeyOrder {
                    what: "commitments",
                    key
                })
            );
        }
        // In a secret too.
        let secret = encode_secret(&samples().secrets[0]);
        let mut bad = secret.to_vec();
        bad[3 + OPENING_ENTRY..3 + OPENING_ENTRY + 4].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            decode_secret(&bad),
            Err(WireError::KeyOrder {
                what: "openings",
                key: 2
            })
        );
    }

    #[test]
    fn a_bool_or_option_byte_of_2_is_an_error() {
        let s = samples();
        // The final flag is the last byte of a close offer.
        let mut close = message(&s.messages[3]);
        assert_eq!(close.last(), Some(&1));
        if let Some(last) = close.last_mut() {
            *last = 2;
        }
        assert_eq!(
            decode_message(&close),
            Err(WireError::Flag {
                what: "final flag",
                value: 2
            })
        );
        // A bool argument.
        let mut update = match &s.messages[2] {
            Message::Propose(Offer::Call(u)) => u.clone(),
            other => panic!("not a call: {other:?}"),
        };
        update.function = "f".into();
        update.args = vec![Value::Bool(true)];
        let mut call = message(&Message::Propose(Offer::Call(update)));
        assert_eq!(call[8..10], [VALUE_BOOL, 1]);
        call[9] = 2;
        assert_eq!(
            decode_message(&call),
            Err(WireError::Flag {
                what: "bool value",
                value: 2
            })
        );
        // An option tag.
        let mut resync = message(&Message::Resync { version: Some(3) });
        resync[2] = 2;
        assert_eq!(
            decode_message(&resync),
            Err(WireError::Flag {
                what: "resync version flag",
                value: 2
            })
        );
    }

    #[test]
    fn oversized_input_is_refused_before_it_is_read() {
        let too_long = |max: usize| vec![WIRE_VERSION; max + 1];
        assert!(matches!(
            decode_message(&too_long(MAX_MESSAGE)),
            Err(WireError::TooLarge {
                what: "message",
                ..
            })
        ));
        assert!(matches!(
            decode_record(&too_long(MAX_RECORD)),
            Err(WireError::TooLarge { what: "record", .. })
        ));
        assert!(matches!(
            decode_secret(&too_long(MAX_SECRET)),
            Err(WireError::TooLarge { what: "secret", .. })
        ));
    }

    #[test]
    fn a_count_above_its_limit_is_refused_before_allocating() {
        // An open message announcing 1025 commitments, without them.
        assert_eq!(
            decode_message(&[WIRE_VERSION, MSG_OPEN, 0x01, 0x04]),
            Err(WireError::TooLarge {
                what: "commitments",
                len: 1025,
                max: MAX_FIELDS
            })
        );
        // A count within its limit but beyond the input: truncated.
        assert_eq!(
            decode_message(&[WIRE_VERSION, MSG_OPEN, 0x00, 0x04]),
            Err(WireError::Truncated {
                what: "commitments"
            })
        );
        // A proof of more than 1 MiB, and one longer than the input.
        let proof = |len: u32| {
            let mut b = vec![WIRE_VERSION, MSG_OPEN, 0, 0, 1];
            b.extend_from_slice(&len.to_le_bytes());
            decode_message(&b)
        };
        assert_eq!(
            proof(u32::MAX),
            Err(WireError::TooLarge {
                what: "proof",
                len: u32::MAX as usize,
                max: MAX_PROOF
            })
        );
        assert_eq!(proof(1000), Err(WireError::Truncated { what: "proof" }));
    }

    #[test]
    fn a_value_beyond_a_limit_encodes_to_bytes_that_do_not_decode() {
        let s = samples();
        let mut update = match &s.messages[2] {
            Message::Propose(Offer::Call(u)) => u.clone(),
            other => panic!("not a call: {other:?}"),
        };
        update.function = "f".repeat(MAX_FUNCTION_NAME + 1);
        assert_eq!(
            decode_message(&message(&Message::Propose(Offer::Call(update)))),
            Err(WireError::TooLarge {
                what: "function name",
                len: MAX_FUNCTION_NAME + 1,
                max: MAX_FUNCTION_NAME
            })
        );
        let mut record = s.records[1].clone();
        record.params.participants = vec![Address([1; 20]); 70_000];
        assert_eq!(
            decode_record(&encode_record(&record)),
            Err(WireError::TooLarge {
                what: "participants",
                len: usize::from(u16::MAX),
                max: MAX_PARTIES
            })
        );
    }

    #[test]
    fn a_long_refusal_detail_is_cut_at_a_character_boundary() {
        // One ASCII byte, then two-byte characters: byte 1024 falls inside one.
        let detail = format!("a{}", "é".repeat(600));
        let sent = Message::Refuse {
            version: 1,
            refusal: Refusal::new(RefusalKind::Aborted, detail),
        };
        let expected = Message::Refuse {
            version: 1,
            refusal: Refusal::new(RefusalKind::Aborted, format!("a{}", "é".repeat(511))),
        };
        assert_eq!(decode_message(&message(&sent)), Ok(expected));
    }

    #[test]
    fn an_invalid_point_scalar_or_string_is_malformed() {
        let malformed = |bytes: &[u8]| match decode_message(bytes) {
            Err(WireError::Malformed { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        let s = samples();
        // Open: version, tag, count, key, then the first commitment.
        let mut open = message(&s.messages[0]);
        open[8..40].fill(0xff);
        assert_eq!(malformed(&open), "commitment");
        // Reveal: version, tag, field, value, then the blinding.
        let mut reveal = message(&s.messages[7]);
        assert_eq!(reveal.len(), 2 + 4 + 8 + 32);
        reveal[14..].fill(0xff);
        assert_eq!(malformed(&reveal), "blinding");
        // Refuse: version, tag, version, kind, length, then the detail.
        let mut refuse = message(&Message::Refuse {
            version: 1,
            refusal: Refusal::new(RefusalKind::Proof, "no"),
        });
        refuse[13] = 0xff;
        assert_eq!(malformed(&refuse), "refusal detail");
        // A proof with a bad version byte, within its length.
        let mut open = message(&s.messages[0]);
        let proof_at = 2 + 2 + 2 * 36 + 1 + 4;
        open[proof_at] ^= 0x80;
        assert_eq!(malformed(&open), "proof");
    }

    /// The refusal kind and phase tags are positions in `ALL`: reordering
    /// it would reinterpret stored records and old peers' messages. New
    /// entries go last.
    #[test]
    fn the_tag_orders_are_pinned() {
        let kinds = [
            "version",
            "channel",
            "function",
            "caller",
            "aborted",
            "execution",
            "mismatch",
            "commitments",
            "proof",
            "conservation",
            "crossing",
            "phase",
            "close",
            "clock",
            "signature",
            "opening",
            "reveal",
            "unexpected",
        ];
        let names: Vec<&str> = RefusalKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.get(..kinds.len()), Some(&kinds[..]));
        let phases = [
            "opening",
            "funding",
            "open",
            "closing",
            "disputing",
            "closed",
        ];
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names.get(..phases.len()), Some(&phases[..]));
    }

    /// Pins the table in the module docs (and docs/protocol.md).
    #[test]
    fn small_messages_have_the_documented_layout() {
        let v = 0x0102_0304_0506_0708u64.to_le_bytes();
        let cat = |parts: &[&[u8]]| parts.concat();
        assert_eq!(
            message(&Message::Withdraw {
                version: 0x0102_0304_0506_0708
            }),
            cat(&[&[1, 4], &v])
        );
        assert_eq!(
            message(&Message::Accept {
                version: 0x0102_0304_0506_0708,
                digest: [9; 32]
            }),
            cat(&[&[1, 2], &v, &[9; 32]])
        );
        assert_eq!(
            message(&Message::Sign {
                version: 0x0102_0304_0506_0708,
                digest: [9; 32],
                signature: Signature([5; 65])
            }),
            cat(&[&[1, 5], &v, &[9; 32], &[5; 65]])
        );
        assert_eq!(
            message(&Message::Refuse {
                version: 0x0102_0304_0506_0708,
                refusal: Refusal::new(RefusalKind::Crossing, "ab")
            }),
            cat(&[&[1, 3], &v, &[10, 2, 0], b"ab"])
        );
        assert_eq!(message(&Message::Resync { version: None }), [1, 7, 0]);
        assert_eq!(
            message(&Message::Resync {
                version: Some(0x0102_0304_0506_0708)
            }),
            cat(&[&[1, 7, 1], &v])
        );
        let one = Scalar::ONE;
        assert_eq!(
            message(&Message::Reveal {
                field: 3,
                opening: Opening::new(0x0102_0304_0506_0708, one)
            }),
            cat(&[&[1, 6, 3, 0, 0, 0], &v, one.as_bytes()])
        );
        assert_eq!(
            encode_secret(&Secret::default()).to_vec(),
            [WIRE_VERSION, 0, 0, 0]
        );
    }
}
