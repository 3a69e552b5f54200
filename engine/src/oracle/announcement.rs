//! Oracle announcements and attestations.
//!
//! An [`Announcement`] names an event (an id the oracle chooses, a maturity
//! time, and its possible outcomes: an enumerated list, or a number written
//! in `digits` digits of base `base`), the oracle's key, and one nonce point
//! per signature the attestation will carry (one for an enumerated event,
//! one per digit for a numeric one), all signed by the oracle. An
//! [`Attestation`] is the oracle's BIP340 signature of the outcome (or of
//! each digit) with exactly those nonces.
//!
//! Because the nonces are fixed in advance, the point whose discrete
//! logarithm an attestation of outcome `o` reveals is known from the
//! announcement alone ([`Announcement::outcome_point`],
//! [`Announcement::digit_point`]): parties encrypt adaptor signatures under
//! it before the oracle attests. The oracle never learns who did.
//!
//! **Invariant:** a decoded [`Announcement`] has been checked (fields within
//! their limits, nonces distinct, the oracle's signature valid), so every
//! value of the type is one an oracle signed. An attestation is only used
//! through [`Announcement::verify`], which returns the attestation scalars.
//!
//! Messages: the oracle signs `tagged_hash("sotto/oracle/attestation/v1",
//! outcome)` where `outcome` is the outcome's text (an enumerated outcome's
//! name, a digit's decimal value), as the DLC specification signs the
//! outcome string under its own tag.

use secp256k1_zkp::schnorr::Signature as SchnorrSignature;
use secp256k1_zkp::{Message, PublicKey, SECP256K1, SecretKey, XOnlyPublicKey};
use serde::{Deserialize, Serialize};

use super::OracleError;
use super::schnorr::{self, tagged_hash};
use crate::state::keys::{KeyError, SigningKey};

/// Longest event id, in bytes.
pub const MAX_EVENT_ID: usize = 128;
/// Most outcomes of an enumerated event.
pub const MAX_OUTCOMES: usize = 4096;
/// Longest outcome name, in bytes.
pub const MAX_OUTCOME_LEN: usize = 256;
/// Largest numeric domain, as a power of two: `base^digits ≤ 2^40`.
pub const MAX_DOMAIN_BITS: u32 = 40;

const ANNOUNCEMENT_TAG: &[u8] = b"sotto/oracle/announcement/v1";
const ATTESTATION_TAG: &[u8] = b"sotto/oracle/attestation/v1";
const NONCE_DOMAIN: &[u8] = b"sotto/oracle/nonce/v1";

/// What an event's outcome can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcomes {
    /// One of these names (2 to [`MAX_OUTCOMES`], distinct).
    Enumerated(Vec<String>),
    /// A number `0 ..= base^digits - 1`, attested digit by digit, most
    /// significant first.
    Numeric {
        /// The base of the digits (2 to 16).
        base: u8,
        /// How many digits.
        digits: u8,
    },
}

impl Outcomes {
    /// How many signatures an attestation carries (and nonces an
    /// announcement names).
    pub fn signatures(&self) -> usize {
        match self {
            Outcomes::Enumerated(_) => 1,
            Outcomes::Numeric { digits, .. } => usize::from(*digits),
        }
    }

    /// How many outcomes there are.
    pub fn count(&self) -> u64 {
        match self {
            Outcomes::Enumerated(names) => names.len() as u64,
            Outcomes::Numeric { base, digits } => {
                u64::from(*base).saturating_pow(u32::from(*digits))
            }
        }
    }

    fn check(&self) -> Result<(), OracleError> {
        match self {
            Outcomes::Enumerated(names) => {
                if names.len() < 2 || names.len() > MAX_OUTCOMES {
                    return Err(OracleError::Invalid(format!(
                        "an enumerated event has 2 to {MAX_OUTCOMES} outcomes, not {}",
                        names.len()
                    )));
                }
                let mut seen = std::collections::HashSet::new();
                for name in names {
                    if name.is_empty()
                        || name.len() > MAX_OUTCOME_LEN
                        || name.chars().any(char::is_control)
                    {
                        return Err(OracleError::Invalid(format!(
                            "outcome `{}` must be 1 to {MAX_OUTCOME_LEN} bytes without control characters",
                            name.escape_debug()
                        )));
                    }
                    if !seen.insert(name.as_str()) {
                        return Err(OracleError::Invalid(format!(
                            "outcome `{}` is listed twice",
                            name.escape_debug()
                        )));
                    }
                }
                Ok(())
            }
            Outcomes::Numeric { base, digits } => super::numeric::Domain::new(*base, *digits)
                .map(drop)
                .map_err(|e| {
                    OracleError::Invalid(format!(
                        "a numeric event of base {base} with {digits} digits: {e}"
                    ))
                }),
        }
    }
}

/// Which outcome an attestation established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The index of an enumerated outcome in the announcement's list.
    Enumerated(usize),
    /// A numeric event's value.
    Numeric(u64),
}

/// The 32-byte message an oracle signs for an outcome's text (a name, or a
/// digit).
pub fn outcome_message(text: &str) -> [u8; 32] {
    tagged_hash(ATTESTATION_TAG, &[text.as_bytes()])
}

/// The digits of `value` in `base`, `digits` of them, most significant
/// first; `None` if it does not fit.
pub fn digits_of(value: u64, base: u8, digits: u8) -> Option<Vec<u8>> {
    super::numeric::Domain::new(base, digits)
        .and_then(|d| d.digits_of(value))
        .ok()
}

/// An oracle's signing key: a secp256k1 key in a 0600 file (the node's key
/// file format), zeroized on drop, never printed.
#[derive(Debug)]
pub struct OracleKey {
    key: SigningKey,
}

impl OracleKey {
    /// A fresh key.
    pub fn generate() -> Self {
        OracleKey {
            key: SigningKey::generate(),
        }
    }

    /// A key from its 32 secret bytes (tests, benchmarks).
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        SigningKey::from_bytes(bytes).map(|key| OracleKey { key })
    }

    /// Reads a key file (mode 0600, 32 bytes).
    pub fn load(path: &std::path::Path) -> Result<Self, KeyError> {
        SigningKey::load(path).map(|key| OracleKey { key })
    }

    /// Writes a new key file with mode 0600; refuses to overwrite.
    pub fn save(&self, path: &std::path::Path) -> Result<(), KeyError> {
        self.key.save(path)
    }

    /// The oracle's public key, as announcements name it.
    pub fn public(&self) -> XOnlyPublicKey {
        self.key.secret().x_only_public_key(SECP256K1).0
    }

    /// The nonce for signature `index` of the event whose unsigned body is
    /// `body`: derived from the key and the body, so the oracle keeps no
    /// nonce on disk, and two announcements that differ in anything get
    /// different nonces.
    fn nonce(&self, body_hash: &[u8; 32], index: usize) -> Result<SecretKey, OracleError> {
        let mut domain = NONCE_DOMAIN.to_vec();
        domain.extend_from_slice(body_hash);
        domain.extend_from_slice(&(index as u64).to_be_bytes());
        let bytes = self.key.derive(&domain);
        SecretKey::from_slice(&bytes[..]).map_err(|_| OracleError::Degenerate)
    }

    /// Announces an event: checks its fields, derives its nonces and signs
    /// it.
    pub fn announce(
        &self,
        event_id: &str,
        maturity: u64,
        outcomes: Outcomes,
    ) -> Result<Announcement, OracleError> {
        check_event_id(event_id)?;
        outcomes.check()?;
        let oracle = self.public();
        let body_hash = tagged_hash(
            ANNOUNCEMENT_TAG,
            &[&body(&oracle, event_id, maturity, &outcomes)],
        );
        let nonces = (0..outcomes.signatures())
            .map(|i| {
                self.nonce(&body_hash, i)
                    .map(|k| k.x_only_public_key(SECP256K1).0)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let digest = signed_digest(&oracle, event_id, maturity, &outcomes, &nonces);
        let signature = SECP256K1.sign_schnorr_no_aux_rand(
            &Message::from_digest(digest),
            &self.key.secret().keypair(SECP256K1),
        );
        Ok(Announcement {
            oracle,
            event_id: event_id.to_owned(),
            maturity,
            outcomes,
            nonces,
            signature,
        })
    }

    /// Attests `outcome` of an event this key announced.
    ///
    /// **Hazard:** attesting two different outcomes of one announcement
    /// signs two messages with one nonce and reveals the oracle's key. A
    /// caller that may be asked twice must record the first attestation
    /// durably before releasing it, and refuse a different one (as
    /// `sotto oracle attest` does); attesting the same outcome again
    /// returns the same signatures and is harmless.
    pub fn attest(
        &self,
        announcement: &Announcement,
        outcome: Outcome,
    ) -> Result<Attestation, OracleError> {
        if announcement.oracle != self.public() {
            return Err(OracleError::WrongOracle);
        }
        let body_hash = tagged_hash(
            ANNOUNCEMENT_TAG,
            &[&body(
                &announcement.oracle,
                &announcement.event_id,
                announcement.maturity,
                &announcement.outcomes,
            )],
        );
        let texts = announcement.texts(outcome)?;
        let mut signatures = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let k = self.nonce(&body_hash, i)?;
            let (signature, _) =
                schnorr::sign_with_nonce(self.key.secret(), &k, &outcome_message(text))
                    .map_err(|_| OracleError::Degenerate)?;
            signatures.push(signature);
        }
        Ok(Attestation {
            oracle: announcement.oracle,
            event_id: announcement.event_id.clone(),
            outcome: announcement.outcome_text(outcome)?,
            signatures,
        })
    }
}

fn check_event_id(event_id: &str) -> Result<(), OracleError> {
    if event_id.is_empty()
        || event_id.len() > MAX_EVENT_ID
        || !event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(OracleError::Invalid(format!(
            "event id `{}` must be 1 to {MAX_EVENT_ID} characters of A-Z, a-z, 0-9, `-`, `_`, `.`, `:`",
            event_id
                .chars()
                .take(MAX_EVENT_ID)
                .collect::<String>()
                .escape_debug()
        )));
    }
    Ok(())
}

/// The canonical bytes of an announcement's fields before its nonces.
fn body(oracle: &XOnlyPublicKey, event_id: &str, maturity: u64, outcomes: &Outcomes) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&oracle.serialize());
    push_text(&mut out, event_id);
    out.extend_from_slice(&maturity.to_be_bytes());
    match outcomes {
        Outcomes::Enumerated(names) => {
            out.push(0);
            out.extend_from_slice(&(names.len() as u32).to_be_bytes());
            for name in names {
                push_text(&mut out, name);
            }
        }
        Outcomes::Numeric { base, digits } => {
            out.push(1);
            out.push(*base);
            out.push(*digits);
        }
    }
    out
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn signed_digest(
    oracle: &XOnlyPublicKey,
    event_id: &str,
    maturity: u64,
    outcomes: &Outcomes,
    nonces: &[XOnlyPublicKey],
) -> [u8; 32] {
    let mut bytes = body(oracle, event_id, maturity, outcomes);
    for nonce in nonces {
        bytes.extend_from_slice(&nonce.serialize());
    }
    tagged_hash(ANNOUNCEMENT_TAG, &[b"signed", &bytes])
}

/// A signed announcement of an event. Every value has been checked (see the
/// module's invariant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    oracle: XOnlyPublicKey,
    event_id: String,
    maturity: u64,
    outcomes: Outcomes,
    nonces: Vec<XOnlyPublicKey>,
    signature: SchnorrSignature,
}

impl Announcement {
    /// The oracle's key.
    pub fn oracle(&self) -> &XOnlyPublicKey {
        &self.oracle
    }

    /// The event's id, as the oracle serves it.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// When the oracle says it will attest (seconds since the epoch).
    pub fn maturity(&self) -> u64 {
        self.maturity
    }

    /// The possible outcomes.
    pub fn outcomes(&self) -> &Outcomes {
        &self.outcomes
    }

    /// The nonce points, one per signature of the attestation.
    pub fn nonces(&self) -> &[XOnlyPublicKey] {
        &self.nonces
    }

    /// The texts the oracle signs for `outcome`: its name, or its digits.
    fn texts(&self, outcome: Outcome) -> Result<Vec<String>, OracleError> {
        match (&self.outcomes, outcome) {
            (Outcomes::Enumerated(names), Outcome::Enumerated(i)) => names
                .get(i)
                .map(|name| vec![name.clone()])
                .ok_or_else(|| OracleError::UnknownOutcome(format!("#{i}"))),
            (Outcomes::Numeric { base, digits }, Outcome::Numeric(value)) => {
                digits_of(value, *base, *digits)
                    .map(|ds| ds.iter().map(u8::to_string).collect())
                    .ok_or_else(|| OracleError::UnknownOutcome(value.to_string()))
            }
            (_, Outcome::Enumerated(i)) => Err(OracleError::UnknownOutcome(format!(
                "#{i} (the event is numeric)"
            ))),
            (_, Outcome::Numeric(v)) => Err(OracleError::UnknownOutcome(format!(
                "{v} (the event is enumerated)"
            ))),
        }
    }

    /// The outcome as an attestation names it: an enumerated outcome's
    /// name, a numeric value in decimal.
    pub fn outcome_text(&self, outcome: Outcome) -> Result<String, OracleError> {
        match (&self.outcomes, outcome) {
            (Outcomes::Enumerated(names), Outcome::Enumerated(i)) => names
                .get(i)
                .cloned()
                .ok_or_else(|| OracleError::UnknownOutcome(format!("#{i}"))),
            (Outcomes::Numeric { .. }, Outcome::Numeric(v)) => {
                self.texts(outcome)?;
                Ok(v.to_string())
            }
            _ => Err(OracleError::UnknownOutcome(format!("{outcome:?}"))),
        }
    }

    /// The outcome an attestation's text names.
    pub fn parse_outcome(&self, text: &str) -> Result<Outcome, OracleError> {
        let unknown = || OracleError::UnknownOutcome(text.chars().take(64).collect());
        match &self.outcomes {
            Outcomes::Enumerated(names) => names
                .iter()
                .position(|n| n == text)
                .map(Outcome::Enumerated)
                .ok_or_else(unknown),
            Outcomes::Numeric { base, digits } => {
                let value: u64 = text.parse().map_err(|_| unknown())?;
                digits_of(value, *base, *digits).ok_or_else(unknown)?;
                Ok(Outcome::Numeric(value))
            }
        }
    }

    /// The point an attestation of enumerated outcome `index` opens.
    pub fn outcome_point(&self, index: usize) -> Result<PublicKey, OracleError> {
        match &self.outcomes {
            Outcomes::Enumerated(names) => {
                let name = names
                    .get(index)
                    .ok_or_else(|| OracleError::UnknownOutcome(format!("#{index}")))?;
                let nonce = self.nonces.first().ok_or(OracleError::Degenerate)?;
                schnorr::attestation_point(nonce, &self.oracle, &outcome_message(name))
                    .map_err(|_| OracleError::Degenerate)
            }
            Outcomes::Numeric { .. } => Err(OracleError::UnknownOutcome(format!(
                "#{index} (the event is numeric)"
            ))),
        }
    }

    /// The point an attestation opens if digit `position` (0 = most
    /// significant) of a numeric event is `digit`.
    pub fn digit_point(&self, position: usize, digit: u8) -> Result<PublicKey, OracleError> {
        match &self.outcomes {
            Outcomes::Numeric { base, .. } if digit < *base => {
                let nonce = self.nonces.get(position).ok_or_else(|| {
                    OracleError::UnknownOutcome(format!("digit position {position}"))
                })?;
                schnorr::attestation_point(
                    nonce,
                    &self.oracle,
                    &outcome_message(&digit.to_string()),
                )
                .map_err(|_| OracleError::Degenerate)
            }
            _ => Err(OracleError::UnknownOutcome(format!(
                "digit {digit} at position {position}"
            ))),
        }
    }

    /// Checks an attestation against this announcement: the same oracle and
    /// event, an outcome it lists, one signature per nonce made with that
    /// nonce, each valid. Returns the outcome and the attestation scalars
    /// (one per signature), which decrypt adaptor signatures.
    pub fn verify(&self, attestation: &Attestation) -> Result<Attested, OracleError> {
        if attestation.oracle != self.oracle {
            return Err(OracleError::WrongOracle);
        }
        if attestation.event_id != self.event_id {
            return Err(OracleError::WrongEvent {
                expected: self.event_id.clone(),
                got: attestation.event_id.chars().take(MAX_EVENT_ID).collect(),
            });
        }
        let outcome = self.parse_outcome(&attestation.outcome)?;
        let texts = self.texts(outcome)?;
        if attestation.signatures.len() != texts.len() {
            return Err(OracleError::SignatureCount {
                expected: texts.len(),
                got: attestation.signatures.len(),
            });
        }
        let mut scalars = Vec::with_capacity(texts.len());
        for (index, ((signature, text), nonce)) in attestation
            .signatures
            .iter()
            .zip(&texts)
            .zip(&self.nonces)
            .enumerate()
        {
            if schnorr::nonce_of(signature).as_ref() != Some(nonce) {
                return Err(OracleError::WrongNonce { index });
            }
            SECP256K1
                .verify_schnorr(
                    signature,
                    &Message::from_digest(outcome_message(text)),
                    &self.oracle,
                )
                .map_err(|_| OracleError::BadSignature { index })?;
            scalars.push(schnorr::scalar_of(signature).ok_or(OracleError::BadSignature { index })?);
        }
        Ok(Attested { outcome, scalars })
    }

    /// The announcement as JSON (what `sotto oracle` serves).
    pub fn to_json(&self) -> String {
        let wire = AnnouncementJson {
            oracle: hex::encode(self.oracle.serialize()),
            event_id: self.event_id.clone(),
            maturity: self.maturity,
            outcomes: match &self.outcomes {
                Outcomes::Enumerated(names) => Some(names.clone()),
                Outcomes::Numeric { .. } => None,
            },
            numeric: match self.outcomes {
                Outcomes::Numeric { base, digits } => Some(NumericJson { base, digits }),
                Outcomes::Enumerated(_) => None,
            },
            nonces: self
                .nonces
                .iter()
                .map(|n| hex::encode(n.serialize()))
                .collect(),
            signature: hex::encode(self.signature.serialize()),
        };
        // Strings and numbers only: serialization cannot fail.
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }

    /// Decodes and checks an announcement: its fields, that it has one
    /// distinct nonce per signature, and the oracle's signature.
    pub fn from_json(text: &str) -> Result<Self, OracleError> {
        let wire: AnnouncementJson =
            serde_json::from_str(text).map_err(|e| OracleError::Malformed(e.to_string()))?;
        let oracle = x_only(&wire.oracle, "oracle")?;
        check_event_id(&wire.event_id)?;
        let outcomes = match (wire.outcomes, wire.numeric) {
            (Some(names), None) => Outcomes::Enumerated(names),
            (None, Some(NumericJson { base, digits })) => Outcomes::Numeric { base, digits },
            _ => {
                return Err(OracleError::Malformed(
                    "an announcement has either `outcomes` or `numeric`".into(),
                ));
            }
        };
        outcomes.check()?;
        if wire.nonces.len() != outcomes.signatures() {
            return Err(OracleError::Malformed(format!(
                "{} nonces for an event attested with {} signatures",
                wire.nonces.len(),
                outcomes.signatures()
            )));
        }
        let nonces = wire
            .nonces
            .iter()
            .map(|n| x_only(n, "nonce"))
            .collect::<Result<Vec<_>, _>>()?;
        let distinct: std::collections::HashSet<_> = nonces.iter().collect();
        if distinct.len() != nonces.len() {
            return Err(OracleError::Malformed("a nonce is listed twice".into()));
        }
        let signature = SchnorrSignature::from_slice(&hex_bytes(&wire.signature, "signature")?)
            .map_err(|_| OracleError::Malformed("the signature is not 64 bytes".into()))?;
        let digest = signed_digest(&oracle, &wire.event_id, wire.maturity, &outcomes, &nonces);
        SECP256K1
            .verify_schnorr(&signature, &Message::from_digest(digest), &oracle)
            .map_err(|_| OracleError::BadAnnouncementSignature)?;
        Ok(Announcement {
            oracle,
            event_id: wire.event_id,
            maturity: wire.maturity,
            outcomes,
            nonces,
            signature,
        })
    }
}

/// An oracle's attestation of one outcome. Only meaningful once
/// [`Announcement::verify`] accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    oracle: XOnlyPublicKey,
    event_id: String,
    outcome: String,
    signatures: Vec<SchnorrSignature>,
}

impl Attestation {
    /// The event attested.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// The outcome's text (a name, or a decimal value).
    pub fn outcome(&self) -> &str {
        &self.outcome
    }

    /// The oracle's key.
    pub fn oracle(&self) -> &XOnlyPublicKey {
        &self.oracle
    }

    /// The attestation as JSON.
    pub fn to_json(&self) -> String {
        let wire = AttestationJson {
            oracle: hex::encode(self.oracle.serialize()),
            event_id: self.event_id.clone(),
            outcome: self.outcome.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| hex::encode(s.serialize()))
                .collect(),
        };
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }

    /// Decodes an attestation (its signatures are checked by
    /// [`Announcement::verify`]).
    pub fn from_json(text: &str) -> Result<Self, OracleError> {
        let wire: AttestationJson =
            serde_json::from_str(text).map_err(|e| OracleError::Malformed(e.to_string()))?;
        if wire.signatures.len() > usize::from(u8::MAX) {
            return Err(OracleError::Malformed("too many signatures".into()));
        }
        let signatures = wire
            .signatures
            .iter()
            .map(|s| {
                SchnorrSignature::from_slice(&hex_bytes(s, "signature")?)
                    .map_err(|_| OracleError::Malformed("a signature is not 64 bytes".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Attestation {
            oracle: x_only(&wire.oracle, "oracle")?,
            event_id: wire.event_id,
            outcome: wire.outcome,
            signatures,
        })
    }

    /// A copy with signature `index` replaced by `signature` (adversarial
    /// tests).
    #[doc(hidden)]
    pub fn with_signature(mut self, index: usize, signature: [u8; 64]) -> Self {
        if let (Some(slot), Ok(sig)) = (
            self.signatures.get_mut(index),
            SchnorrSignature::from_slice(&signature),
        ) {
            *slot = sig;
        }
        self
    }

    /// The signatures' bytes (adversarial tests).
    #[doc(hidden)]
    pub fn signature_bytes(&self) -> Vec<[u8; 64]> {
        self.signatures.iter().map(|s| s.serialize()).collect()
    }
}

/// What a verified attestation establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// The outcome.
    pub outcome: Outcome,
    /// The attestation scalars, one per signature (per digit of a numeric
    /// event): each the discrete logarithm of the matching
    /// [`Announcement::outcome_point`] / [`Announcement::digit_point`].
    pub scalars: Vec<SecretKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnouncementJson {
    oracle: String,
    event_id: String,
    maturity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcomes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    numeric: Option<NumericJson>,
    nonces: Vec<String>,
    signature: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumericJson {
    base: u8,
    digits: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationJson {
    oracle: String,
    event_id: String,
    outcome: String,
    signatures: Vec<String>,
}

fn hex_bytes(text: &str, what: &str) -> Result<Vec<u8>, OracleError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|_| OracleError::Malformed(format!("the {what} is not hex")))
}

fn x_only(text: &str, what: &str) -> Result<XOnlyPublicKey, OracleError> {
    XOnlyPublicKey::from_slice(&hex_bytes(text, what)?)
        .map_err(|_| OracleError::Malformed(format!("the {what} is not a 32-byte curve point")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle() -> OracleKey {
        OracleKey::from_bytes(&[9u8; 32]).unwrap()
    }

    fn names(n: usize) -> Outcomes {
        Outcomes::Enumerated((0..n).map(|i| format!("team-{i}")).collect())
    }

    #[test]
    fn an_enumerated_attestation_opens_the_announced_point() {
        let key = oracle();
        let ann = key.announce("match:42", 1_000, names(3)).unwrap();
        let json = ann.to_json();
        let decoded = Announcement::from_json(&json).unwrap();
        assert_eq!(decoded, ann);
        let att = key.attest(&ann, Outcome::Enumerated(2)).unwrap();
        assert_eq!(att.outcome(), "team-2");
        let att = Attestation::from_json(&att.to_json()).unwrap();
        let attested = decoded.verify(&att).unwrap();
        assert_eq!(attested.outcome, Outcome::Enumerated(2));
        assert_eq!(
            PublicKey::from_secret_key(SECP256K1, &attested.scalars[0]),
            decoded.outcome_point(2).unwrap()
        );
        assert_ne!(
            decoded.outcome_point(1).unwrap(),
            decoded.outcome_point(2).unwrap()
        );
        // Deterministic: the same announcement and attestation again.
        assert_eq!(key.announce("match:42", 1_000, names(3)).unwrap(), ann);
        // Another event id, other nonces.
        let other = key.announce("match:43", 1_000, names(3)).unwrap();
        assert_ne!(other.nonces(), ann.nonces());
    }

    #[test]
    fn a_numeric_attestation_opens_one_point_per_digit() {
        let key = oracle();
        let ann = key
            .announce(
                "btc-usd",
                5,
                Outcomes::Numeric {
                    base: 2,
                    digits: 10,
                },
            )
            .unwrap();
        assert_eq!(ann.nonces().len(), 10);
        let att = key.attest(&ann, Outcome::Numeric(613)).unwrap();
        let attested = ann.verify(&att).unwrap();
        assert_eq!(attested.outcome, Outcome::Numeric(613));
        let digits = digits_of(613, 2, 10).unwrap();
        assert_eq!(digits, vec![1, 0, 0, 1, 1, 0, 0, 1, 0, 1]);
        for (i, d) in digits.iter().enumerate() {
            assert_eq!(
                PublicKey::from_secret_key(SECP256K1, &attested.scalars[i]),
                ann.digit_point(i, *d).unwrap()
            );
        }
        assert!(matches!(
            key.attest(&ann, Outcome::Numeric(1024)),
            Err(OracleError::UnknownOutcome(_))
        ));
        assert!(ann.digit_point(0, 2).is_err());
        assert!(ann.digit_point(10, 0).is_err());
    }

    #[test]
    fn forged_and_mismatched_attestations_are_refused() {
        let key = oracle();
        let ann = key.announce("e1", 0, names(4)).unwrap();
        let att = key.attest(&ann, Outcome::Enumerated(1)).unwrap();
        // Another oracle's attestation of the same event id and outcome.
        let other = OracleKey::from_bytes(&[10u8; 32]).unwrap();
        let other_ann = other.announce("e1", 0, names(4)).unwrap();
        let forged = other.attest(&other_ann, Outcome::Enumerated(1)).unwrap();
        assert!(matches!(ann.verify(&forged), Err(OracleError::WrongOracle)));
        // The same oracle, another event: its nonce differs.
        let ann2 = key.announce("e2", 0, names(4)).unwrap();
        let att2 = key.attest(&ann2, Outcome::Enumerated(1)).unwrap();
        assert!(matches!(
            ann.verify(&att2),
            Err(OracleError::WrongEvent { .. })
        ));
        let mut relabelled = att2.clone();
        relabelled.event_id = "e1".into();
        assert!(matches!(
            ann.verify(&relabelled),
            Err(OracleError::WrongNonce { index: 0 })
        ));
        // An outcome outside the announcement.
        let mut outside = att.clone();
        outside.outcome = "team-9".into();
        assert!(matches!(
            ann.verify(&outside),
            Err(OracleError::UnknownOutcome(_))
        ));
        // The signature of outcome 1 relabelled as outcome 2.
        let mut swapped = att.clone();
        swapped.outcome = "team-2".into();
        assert!(matches!(
            ann.verify(&swapped),
            Err(OracleError::BadSignature { index: 0 })
        ));
        // A flipped bit in s.
        let mut bytes = att.signature_bytes()[0];
        bytes[63] ^= 1;
        assert!(ann.verify(&att.clone().with_signature(0, bytes)).is_err());
        assert!(ann.verify(&att).is_ok());
    }

    #[test]
    fn bad_announcements_are_refused_with_a_reason() {
        let key = oracle();
        assert!(matches!(
            key.announce("", 0, names(2)),
            Err(OracleError::Invalid(_))
        ));
        assert!(matches!(
            key.announce("a b", 0, names(2)),
            Err(OracleError::Invalid(_))
        ));
        assert!(matches!(
            key.announce("e", 0, names(1)),
            Err(OracleError::Invalid(_))
        ));
        let twice = Outcomes::Enumerated(vec!["x".into(), "x".into()]);
        assert!(matches!(
            key.announce("e", 0, twice),
            Err(OracleError::Invalid(_))
        ));
        let huge = Outcomes::Numeric {
            base: 2,
            digits: 41,
        };
        assert!(matches!(
            key.announce("e", 0, huge),
            Err(OracleError::Invalid(_))
        ));
        let base1 = Outcomes::Numeric { base: 1, digits: 4 };
        assert!(matches!(
            key.announce("e", 0, base1),
            Err(OracleError::Invalid(_))
        ));
        // A tampered maturity breaks the oracle's signature.
        let ann = key.announce("e", 7, names(2)).unwrap();
        let tampered = ann.to_json().replace("\"maturity\": 7", "\"maturity\": 8");
        assert!(matches!(
            Announcement::from_json(&tampered),
            Err(OracleError::BadAnnouncementSignature)
        ));
        for garbage in ["", "{}", "[1]", "{\"oracle\": 1}", "null"] {
            assert!(matches!(
                Announcement::from_json(garbage),
                Err(OracleError::Malformed(_))
            ));
            assert!(Attestation::from_json(garbage).is_err());
        }
    }
}
