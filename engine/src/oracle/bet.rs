//! A bet on an oracle's outcome, settled by adaptor signatures on channel
//! states (the Discreet Log Contract construction, on sotto's states).
//!
//! From the channel's latest fully signed state (version `v`) and the
//! [`BetTerms`] (the oracles' announcements, how many must agree, and what
//! each outcome pays), every party computes the same *outcome states*:
//! version `v + 1`, the outcome's allocation, not final, and a commitment
//! that binds them to the base state. For every outcome (or, for a numeric
//! event, every digit prefix of a range that pays alike) and every set of
//! `k` of the `n` oracles, each party makes an adaptor signature of the
//! outcome's state encrypted under the sum of those oracles' attestation
//! points ([`Bet::sign`]) and checks everyone else's ([`Bet::verify`]).
//!
//! When `k` oracles attest one outcome, the sum of their attestation
//! scalars decrypts every other party's adaptor signature for that outcome
//! and those oracles, and [`Bet::settle`] returns the outcome state fully
//! signed: the parties can close on it together, or any one of them can
//! register it with the adjudicator like any other state. The chain sees an
//! ordinary state; the oracles see nothing of the bet.
//!
//! **Trust:** an oracle set that attests two outcomes (equivocates) lets a
//! party complete two outcome states of one version; as in a DLC, the
//! oracles are trusted not to. The adjudicator would then take whichever is
//! registered first, and refuse the other as not newer.
//!
//! **Refund.** With [`BetTerms::refund_after`] set, the parties also sign a
//! *refund state* that pays back the base state's allocation: version
//! `v + 1`, registrable only from that time on (a time-bounded state,
//! [`crate::state::Window`], which the adjudicator checks), while the
//! outcome states take version `v + 2`. If the oracles never attest,
//! either party registers the refund after the deadline; if they attest
//! while a refund is being disputed, the outcome state refutes it.
//!
//! Not here yet: the bet's messages in the node's channel protocol (the
//! parties exchange [`BetSignatures`] as bytes).

use std::collections::HashMap;

use secp256k1_zkp::{PublicKey, SecretKey};
use sha3::{Digest as _, Keccak256};
use thiserror::Error;

use super::OracleError;
use super::adaptor::{ADAPTOR_SIGNATURE_LEN, AdaptorError, AdaptorSignature};
use super::announcement::{Announcement, Attestation, Outcome, Outcomes, digits_of};
use crate::state::keys::{Address, Signature, SigningKey};
use crate::state::{ChannelParams, State, Window};

/// Most adaptor signatures one bet may need from each party (32 MiB of
/// signatures): a bound on what a peer can make us verify.
pub const MAX_ENTRIES: usize = 200_000;
/// Most oracles of one bet.
pub const MAX_ORACLES: usize = 16;

/// Why a bet cannot be set up, verified or settled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BetError {
    /// The terms are not a bet these parties can make on this state.
    #[error("invalid bet terms: {0}")]
    Terms(String),
    /// A party's adaptor signatures are not for this bet.
    #[error("party #{party}'s adaptor signature #{entry} ({what})")]
    Adaptor {
        /// The party that sent them.
        party: usize,
        /// The entry (outcome and oracle set) whose signature failed.
        entry: usize,
        /// What is wrong.
        what: AdaptorError,
    },
    /// A party's signature set is malformed (wrong key, count or bytes).
    #[error("party #{party}'s adaptor signatures: {what}")]
    Signatures {
        /// The party.
        party: usize,
        /// What is wrong.
        what: String,
    },
    /// An attestation does not verify against its oracle's announcement.
    #[error("attestation #{index}: {source}")]
    Attestation {
        /// Its position in the list given.
        index: usize,
        /// Why.
        source: OracleError,
    },
    /// Fewer than `k` oracles attested one outcome.
    #[error("no outcome is attested by {threshold} of the oracles yet")]
    NotAttested {
        /// How many must agree.
        threshold: usize,
    },
}

/// What each outcome pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payouts {
    /// One allocation per outcome of the announcement, in its order.
    Enumerated(Vec<Vec<u64>>),
    /// Digit prefixes (most significant digit first) and the allocation of
    /// every value that starts with them; the prefixes must partition the
    /// event's values.
    Numeric(Vec<(Vec<u8>, Vec<u64>)>),
}

impl Payouts {
    /// The payouts of a two-party numeric bet on `curve` (what the first
    /// party gets; the second gets the rest of the curve's collateral),
    /// rounded by `rounding`, as the digit prefixes that cover each run of
    /// values paying alike ([`super::numeric::compress`]).
    pub fn numeric(
        curve: &super::numeric::PayoutCurve,
        rounding: &super::numeric::RoundingIntervals,
    ) -> Result<Payouts, super::numeric::NumericError> {
        let ranges = super::numeric::ranges(curve, rounding)?;
        let total = curve.collateral();
        Ok(Payouts::Numeric(
            super::numeric::compress(&ranges, curve.domain())?
                .into_iter()
                .map(|(prefix, payout)| {
                    (
                        prefix.digits().to_vec(),
                        vec![payout, total.saturating_sub(payout)],
                    )
                })
                .collect(),
        ))
    }
}

/// The terms of a bet.
#[derive(Debug, Clone)]
pub struct BetTerms {
    /// The oracles' announcements of the event (one per oracle; the same
    /// outcomes in each).
    pub announcements: Vec<Announcement>,
    /// How many oracles must attest one outcome (`k` of `n`).
    pub threshold: usize,
    /// What each outcome pays.
    pub payouts: Payouts,
    /// If set, a refund of the base state's allocation that applies from
    /// this chain time on (seconds) if no outcome is settled: for oracles
    /// that never attest.
    pub refund_after: Option<u64>,
}

/// A bet set up on a base state: its outcome states and the point of every
/// adaptor signature.
#[derive(Debug, Clone)]
pub struct Bet {
    params: ChannelParams,
    terms: BetTerms,
    states: Vec<State>,
    digests: Vec<[u8; 32]>,
    /// For each payout entry, its outcome state.
    entry_state: Vec<usize>,
    /// The `k`-subsets of oracles, as bit masks, in increasing order.
    subsets: Vec<u32>,
    /// One point per (payout entry, subset), entry-major.
    points: Vec<PublicKey>,
    /// The refund state, its window and the digest its signatures sign.
    refund: Option<(State, Window, [u8; 32])>,
}

/// One party's adaptor signatures for a bet, in [`Bet`]'s entry order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetSignatures {
    signer: PublicKey,
    signatures: Vec<AdaptorSignature>,
    /// The party's ordinary signature of the refund state's timed digest,
    /// if the bet has a refund.
    refund: Option<Signature>,
}

impl BetSignatures {
    /// How many adaptor signatures.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// The wire form: the signer's 33-byte key, a 4-byte count, the
    /// adaptor signatures, then a byte 0, or 1 and the 65-byte refund
    /// signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(38 + 65 + self.signatures.len() * ADAPTOR_SIGNATURE_LEN);
        out.extend_from_slice(&self.signer.serialize());
        out.extend_from_slice(&(self.signatures.len() as u32).to_be_bytes());
        for s in &self.signatures {
            out.extend_from_slice(&s.to_bytes());
        }
        match &self.refund {
            None => out.push(0),
            Some(sig) => {
                out.push(1);
                out.extend_from_slice(&sig.0);
            }
        }
        out
    }

    /// Decodes the wire form (the signatures are checked by
    /// [`Bet::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let key = bytes.get(..33).ok_or("shorter than its header")?;
        let signer = PublicKey::from_slice(key).map_err(|_| "the signer is not a public key")?;
        let count = bytes
            .get(33..37)
            .and_then(|c| <[u8; 4]>::try_from(c).ok())
            .map(u32::from_be_bytes)
            .ok_or("shorter than its header")? as usize;
        if count > MAX_ENTRIES {
            return Err(format!("{count} signatures; at most {MAX_ENTRIES}"));
        }
        let body_len = count * ADAPTOR_SIGNATURE_LEN;
        let body = bytes
            .get(37..37 + body_len)
            .ok_or_else(|| format!("shorter than {count} signatures of {ADAPTOR_SIGNATURE_LEN}"))?;
        let signatures = body
            .chunks_exact(ADAPTOR_SIGNATURE_LEN)
            .map(AdaptorSignature::from_bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let refund = match &bytes[37 + body_len..] {
            [0] => None,
            [1, sig @ ..] => Some(Signature(
                <[u8; 65]>::try_from(sig).map_err(|_| "the refund signature is not 65 bytes")?,
            )),
            _ => return Err("the refund field is neither 0 nor 1 and 65 bytes".into()),
        };
        Ok(BetSignatures {
            signer,
            signatures,
            refund,
        })
    }
}

/// A settled bet: the attested outcome and its state with every
/// participant's signature, ready to close on or register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The outcome the oracles attested.
    pub outcome: Outcome,
    /// The oracles (indices into the terms' announcements) whose
    /// attestations decrypted it.
    pub oracles: Vec<usize>,
    /// The outcome's state.
    pub state: State,
    /// Every participant's signature of it, in party order.
    pub signatures: Vec<Signature>,
}

/// The commitment of an outcome state: binds the base state's commitment
/// and the allocation, and says nothing else.
pub fn outcome_commitment(base: &[u8; 32], allocation: &[u64]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"sotto/oracle-bet/v1");
    hasher.update(base);
    for a in allocation {
        hasher.update(a.to_be_bytes());
    }
    hasher.finalize().into()
}

/// The commitment of a bet's refund state.
pub fn refund_commitment(base: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"sotto/oracle-bet-refund/v1");
    hasher.update(base);
    hasher.finalize().into()
}

fn terms(msg: impl Into<String>) -> BetError {
    BetError::Terms(msg.into())
}

/// Runs `f` over `0..n` on the machine's cores, in order of index.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    if threads == 1 || n < 64 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                scope.spawn(move || {
                    (t * chunk..n.min((t + 1) * chunk))
                        .map(f)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker that panicked (a bug: `f` handles every input) must not
        // shorten the results, which `verify` would read as "no failure":
        // its panic goes on here.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

impl Bet {
    /// Sets up a bet of the channel `params` on its fully signed state
    /// `base`, after checking the terms: 1 ≤ k ≤ n ≤ [`MAX_ORACLES`]
    /// distinct oracles announcing the same outcomes; an allocation for
    /// every outcome (numeric: prefixes that partition the values), each
    /// paying exactly what the base state holds, one entry per
    /// participant; at most [`MAX_ENTRIES`] adaptor signatures.
    pub fn new(params: &ChannelParams, base: &State, terms_: BetTerms) -> Result<Bet, BetError> {
        if base.channel_id != params.channel_id() {
            return Err(terms("the base state is not this channel's"));
        }
        let n = terms_.announcements.len();
        let k = terms_.threshold;
        if n == 0 || n > MAX_ORACLES || k == 0 || k > n {
            return Err(terms(format!(
                "{k} of {n} oracles: need 1 ≤ k ≤ n ≤ {MAX_ORACLES}"
            )));
        }
        let first = &terms_.announcements[0];
        for (i, a) in terms_.announcements.iter().enumerate().skip(1) {
            if a.outcomes() != first.outcomes() {
                return Err(terms(format!(
                    "oracle #{i} announces other outcomes than oracle #0"
                )));
            }
            if terms_.announcements[..i]
                .iter()
                .any(|b| b.oracle() == a.oracle())
            {
                return Err(terms(format!("oracle #{i} is listed twice")));
            }
        }
        let total: u128 = base.allocation.iter().map(|a| u128::from(*a)).sum();
        let parties = params.participants.len();
        let check_allocation = |what: &str, allocation: &[u64]| {
            let sum: u128 = allocation.iter().map(|a| u128::from(*a)).sum();
            if allocation.len() != parties || sum != total {
                Err(terms(format!(
                    "{what} pays {sum} to {} parties; the channel holds {total} for {parties}",
                    allocation.len()
                )))
            } else {
                Ok(())
            }
        };
        let allocations: Vec<&Vec<u64>> = match (&terms_.payouts, first.outcomes()) {
            (Payouts::Enumerated(list), Outcomes::Enumerated(names)) => {
                if list.len() != names.len() {
                    return Err(terms(format!(
                        "{} payouts for {} outcomes",
                        list.len(),
                        names.len()
                    )));
                }
                for (i, a) in list.iter().enumerate() {
                    check_allocation(&format!("outcome `{}`", names[i]), a)?;
                }
                list.iter().collect()
            }
            (Payouts::Numeric(list), Outcomes::Numeric { base: b, digits }) => {
                check_partition(list, *b, *digits)?;
                for (prefix, a) in list {
                    check_allocation(&format!("prefix {prefix:?}"), a)?;
                }
                list.iter().map(|(_, a)| a).collect()
            }
            _ => return Err(terms("the payouts are not of the event's kind")),
        };
        let subsets: Vec<u32> = (0u32..(1u32 << n))
            .filter(|m| m.count_ones() as usize == k)
            .collect();
        let entries = allocations.len().saturating_mul(subsets.len());
        if entries > MAX_ENTRIES {
            return Err(terms(format!(
                "{entries} adaptor signatures per party; at most {MAX_ENTRIES}"
            )));
        }

        // The refund, if any, takes version v + 1 and the outcomes v + 2,
        // so that a settled outcome refutes a registered refund.
        let refund = terms_.refund_after.map(|after| {
            let state = State {
                channel_id: base.channel_id,
                version: base.version.saturating_add(1),
                commitment: refund_commitment(&base.commitment),
                allocation: base.allocation.clone(),
                is_final: false,
            };
            let window = Window {
                not_before: after,
                not_after: 0,
            };
            let digest = state.timed_digest(&window);
            (state, window, digest)
        });
        let outcome_step = if refund.is_some() { 2 } else { 1 };
        // One state per distinct allocation.
        let mut states = Vec::new();
        let mut index: HashMap<&Vec<u64>, usize> = HashMap::new();
        let mut entry_state = Vec::with_capacity(allocations.len());
        for a in &allocations {
            let i = *index.entry(a).or_insert_with(|| {
                states.push(State {
                    channel_id: base.channel_id,
                    version: base.version.saturating_add(outcome_step),
                    commitment: outcome_commitment(&base.commitment, a),
                    allocation: (*a).clone(),
                    is_final: false,
                });
                states.len() - 1
            });
            entry_state.push(i);
        }
        let digests = states.iter().map(State::digest).collect();

        // Each oracle's point for each payout entry, then their sums over
        // each subset.
        let per_oracle: Vec<Vec<PublicKey>> = terms_
            .announcements
            .iter()
            .map(|a| entry_points(a, &terms_.payouts))
            .collect::<Result<_, _>>()
            .map_err(|e| terms(e.to_string()))?;
        let mut points = Vec::with_capacity(entries);
        for e in 0..allocations.len() {
            for mask in &subsets {
                let parts: Vec<&PublicKey> = per_oracle
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| mask & (1 << j) != 0)
                    .map(|(_, points)| &points[e])
                    .collect();
                points.push(
                    PublicKey::combine_keys(&parts)
                        .map_err(|_| terms("two oracles' points cancel"))?,
                );
            }
        }
        Ok(Bet {
            params: params.clone(),
            terms: terms_,
            states,
            digests,
            entry_state,
            subsets,
            points,
            refund,
        })
    }

    /// The refund state and its window, if the bet has one.
    pub fn refund_state(&self) -> Option<(&State, &Window)> {
        self.refund.as_ref().map(|(s, w, _)| (s, w))
    }

    /// The refund state signed by every party (`key` for party `me`, the
    /// others' refund signatures from their verified sets): what to
    /// register with [`crate::anchor::AnchorCall::RegisterTimed`] from the
    /// refund time on, if the oracles never attest.
    pub fn refund(
        &self,
        me: usize,
        key: &SigningKey,
        others: &[(usize, &BetSignatures)],
    ) -> Result<(State, Window, Vec<Signature>), BetError> {
        let (state, window, digest) = self
            .refund
            .as_ref()
            .ok_or_else(|| terms("the bet has no refund"))?;
        let parties = self.params.participants.len();
        if me >= parties || key.address() != self.params.participants[me] {
            return Err(terms(format!("the signing key is not party #{me}'s")));
        }
        let mut signatures = vec![None; parties];
        signatures[me] = Some(key.sign(digest));
        for (party, theirs) in others {
            let sig = theirs.refund.ok_or(BetError::Signatures {
                party: *party,
                what: "no refund signature".into(),
            })?;
            if let Some(slot) = signatures.get_mut(*party) {
                *slot = Some(sig);
            }
        }
        let signatures = signatures
            .into_iter()
            .enumerate()
            .map(|(party, s)| {
                s.ok_or(BetError::Signatures {
                    party,
                    what: "no refund signature from this party".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((state.clone(), *window, signatures))
    }

    /// The outcome states (one per distinct allocation).
    pub fn states(&self) -> &[State] {
        &self.states
    }

    /// How many adaptor signatures each party makes (payout entries times
    /// oracle subsets).
    pub fn entries(&self) -> usize {
        self.points.len()
    }

    /// `key`'s adaptor signatures for every entry.
    pub fn sign(&self, key: &SigningKey) -> BetSignatures {
        let subsets = self.subsets.len();
        let signatures = parallel(self.points.len(), |i| {
            let digest = &self.digests[self.entry_state[i / subsets]];
            AdaptorSignature::sign(key, digest, &self.points[i])
        });
        BetSignatures {
            signer: key.public_key(),
            signatures,
            refund: self.refund.as_ref().map(|(_, _, d)| key.sign(d)),
        }
    }

    /// Checks party `party`'s adaptor signatures: its key, one per entry,
    /// each valid. Refuse the bet on any error.
    pub fn verify(&self, party: usize, signatures: &BetSignatures) -> Result<(), BetError> {
        let bad = |what: String| BetError::Signatures { party, what };
        let address = self
            .params
            .participants
            .get(party)
            .ok_or_else(|| bad("no such party".into()))?;
        if Address::of(&signatures.signer) != *address {
            return Err(bad("signed with a key that is not the party's".into()));
        }
        if signatures.signatures.len() != self.points.len() {
            return Err(bad(format!(
                "{} adaptor signatures; the bet has {} entries",
                signatures.signatures.len(),
                self.points.len()
            )));
        }
        match (&self.refund, &signatures.refund) {
            (None, None) => {}
            (Some((_, _, digest)), Some(sig)) => {
                if crate::state::keys::recover(digest, sig).ok() != Some(*address) {
                    return Err(bad("the refund signature is not the party's".into()));
                }
            }
            (Some(_), None) => return Err(bad("no refund signature".into())),
            (None, Some(_)) => return Err(bad("a refund signature for a bet without one".into())),
        }
        let subsets = self.subsets.len();
        let results = parallel(self.points.len(), |i| {
            let digest = &self.digests[self.entry_state[i / subsets]];
            signatures.signatures[i].verify(digest, &signatures.signer, &self.points[i])
        });
        match results.into_iter().enumerate().find(|(_, r)| r.is_err()) {
            Some((entry, Err(what))) => Err(BetError::Adaptor { party, entry, what }),
            _ => Ok(()),
        }
    }

    /// After the oracles attest: checks every attestation against its
    /// oracle's announcement, finds an outcome `k` of them agree on, and
    /// returns its state signed by `key` (party `me`) and by every other
    /// party through its decrypted adaptor signature (`others`: each
    /// party's verified signatures, by party index).
    pub fn settle(
        &self,
        attestations: &[Attestation],
        me: usize,
        key: &SigningKey,
        others: &[(usize, &BetSignatures)],
    ) -> Result<Settlement, BetError> {
        let anns = &self.terms.announcements;
        let mut by_outcome: HashMap<Outcome, Vec<(usize, Vec<SecretKey>)>> = HashMap::new();
        for (index, attestation) in attestations.iter().enumerate() {
            let fail = |source| BetError::Attestation { index, source };
            let oracle = anns
                .iter()
                .position(|a| a.oracle() == attestation.oracle())
                .ok_or(fail(OracleError::WrongOracle))?;
            let attested = anns[oracle].verify(attestation).map_err(fail)?;
            let list = by_outcome.entry(attested.outcome).or_default();
            if !list.iter().any(|(o, _)| *o == oracle) {
                list.push((oracle, attested.scalars));
            }
        }
        let threshold = self.terms.threshold;
        let (outcome, mut agreeing) = by_outcome
            .into_iter()
            .filter(|(_, list)| list.len() >= threshold)
            .min_by_key(|(_, list)| list.iter().map(|(o, _)| *o).min())
            .ok_or(BetError::NotAttested { threshold })?;
        agreeing.sort_by_key(|(o, _)| *o);
        agreeing.truncate(threshold);
        let mask: u32 = agreeing.iter().map(|(o, _)| 1u32 << o).sum();
        let subset = self
            .subsets
            .iter()
            .position(|m| *m == mask)
            .ok_or(BetError::NotAttested { threshold })?;
        let (entry, prefix_len) = self.entry_of(outcome)?;
        // The decryption key: the sum of the agreeing oracles' scalars
        // (for a numeric event, of the prefix's digits).
        let mut secret: Option<SecretKey> = None;
        for (_, scalars) in &agreeing {
            for s in scalars.iter().take(prefix_len) {
                secret = Some(match secret {
                    None => *s,
                    Some(acc) => acc
                        .add_tweak(&(*s).into())
                        .map_err(|_| terms("attestation scalars cancel"))?,
                });
            }
        }
        let secret = secret.ok_or(BetError::NotAttested { threshold })?;
        let state_index = self.entry_state[entry];
        let state = self.states[state_index].clone();
        let digest = self.digests[state_index];
        let at = entry * self.subsets.len() + subset;
        let parties = self.params.participants.len();
        let mut signatures = vec![Signature([0u8; 65]); parties];
        let mut filled = vec![false; parties];
        if me >= parties || key.address() != self.params.participants[me] {
            return Err(terms(format!("the signing key is not party #{me}'s")));
        }
        signatures[me] = key.sign(&digest);
        filled[me] = true;
        for (party, theirs) in others {
            let adaptor = theirs.signatures.get(at).ok_or(BetError::Signatures {
                party: *party,
                what: "too few adaptor signatures".into(),
            })?;
            let sig = adaptor
                .decrypt(&secret, &digest, &theirs.signer)
                .map_err(|what| BetError::Adaptor {
                    party: *party,
                    entry: at,
                    what,
                })?;
            if crate::state::keys::recover(&digest, &sig).ok()
                != self.params.participants.get(*party).copied()
            {
                return Err(BetError::Signatures {
                    party: *party,
                    what: "the decrypted signature is not the party's".into(),
                });
            }
            if let (Some(slot), Some(f)) = (signatures.get_mut(*party), filled.get_mut(*party)) {
                *slot = sig;
                *f = true;
            }
        }
        if let Some(missing) = filled.iter().position(|f| !f) {
            return Err(BetError::Signatures {
                party: missing,
                what: "no adaptor signatures from this party".into(),
            });
        }
        Ok(Settlement {
            outcome,
            oracles: agreeing.iter().map(|(o, _)| *o).collect(),
            state,
            signatures,
        })
    }

    /// The payout entry that covers `outcome`, and how many attestation
    /// scalars its point sums (1 for an enumerated outcome; the prefix's
    /// length for a numeric one).
    fn entry_of(&self, outcome: Outcome) -> Result<(usize, usize), BetError> {
        match (&self.terms.payouts, outcome) {
            (Payouts::Enumerated(_), Outcome::Enumerated(i)) => Ok((i, 1)),
            (Payouts::Numeric(list), Outcome::Numeric(value)) => {
                let Outcomes::Numeric { base, digits } = self.terms.announcements[0].outcomes()
                else {
                    return Err(terms("the payouts are not of the event's kind"));
                };
                let ds = digits_of(value, *base, *digits)
                    .ok_or_else(|| terms(format!("{value} is outside the event")))?;
                list.iter()
                    .position(|(prefix, _)| ds.starts_with(prefix))
                    .map(|e| (e, list[e].0.len()))
                    .ok_or_else(|| terms(format!("no prefix covers {value}")))
            }
            _ => Err(terms("the outcome is not of the payouts' kind")),
        }
    }
}

/// One oracle's point for each payout entry: an outcome's point, or the sum
/// of a prefix's digit points.
fn entry_points(ann: &Announcement, payouts: &Payouts) -> Result<Vec<PublicKey>, OracleError> {
    match payouts {
        Payouts::Enumerated(list) => (0..list.len()).map(|i| ann.outcome_point(i)).collect(),
        Payouts::Numeric(list) => {
            let Outcomes::Numeric { base, digits } = ann.outcomes() else {
                return Err(OracleError::UnknownOutcome("numeric payouts".into()));
            };
            let table: Vec<Vec<PublicKey>> = (0..usize::from(*digits))
                .map(|pos| (0..*base).map(|d| ann.digit_point(pos, d)).collect())
                .collect::<Result<_, _>>()?;
            // Each prefix sums its digits' points; prefixes share their
            // heads, so a cache of the sums of every prefix seen saves most
            // additions for sorted prefix lists.
            let mut cache: HashMap<Vec<u8>, PublicKey> = HashMap::new();
            list.iter()
                .map(|(prefix, _)| prefix_point(&table, prefix, &mut cache))
                .collect()
        }
    }
}

fn prefix_point(
    table: &[Vec<PublicKey>],
    prefix: &[u8],
    cache: &mut HashMap<Vec<u8>, PublicKey>,
) -> Result<PublicKey, OracleError> {
    if let Some(p) = cache.get(prefix) {
        return Ok(*p);
    }
    let (last, head) = prefix
        .split_last()
        .ok_or_else(|| OracleError::UnknownOutcome("an empty prefix".into()))?;
    let digit = table
        .get(head.len())
        .and_then(|row| row.get(usize::from(*last)))
        .ok_or_else(|| OracleError::UnknownOutcome(format!("prefix {prefix:?}")))?;
    let point = if head.is_empty() {
        *digit
    } else {
        prefix_point(table, head, cache)?
            .combine(digit)
            .map_err(|_| OracleError::Degenerate)?
    };
    cache.insert(prefix.to_vec(), point);
    Ok(point)
}

/// Checks that the prefixes partition `0 .. base^digits`: every digit below
/// the base, no prefix longer than the event or empty (an empty prefix
/// would need no attestation at all), no overlap, no gap.
fn check_partition(list: &[(Vec<u8>, Vec<u64>)], base: u8, digits: u8) -> Result<(), BetError> {
    let b = u128::from(base);
    let size = b.pow(u32::from(digits));
    let mut ranges = Vec::with_capacity(list.len());
    for (prefix, _) in list {
        if prefix.is_empty() || prefix.len() > usize::from(digits) {
            return Err(terms(format!(
                "prefix {prefix:?} must have 1 to {digits} digits"
            )));
        }
        let mut start = 0u128;
        for d in prefix {
            if *d >= base {
                return Err(terms(format!("prefix {prefix:?} has a digit ≥ {base}")));
            }
            start = start * b + u128::from(*d);
        }
        let width = b.pow(u32::from(digits) - prefix.len() as u32);
        ranges.push((start * width, start * width + width));
    }
    ranges.sort_unstable();
    let mut next = 0u128;
    for (start, end) in ranges {
        if start != next {
            return Err(terms(if start < next {
                format!("the prefixes overlap at value {start}")
            } else {
                format!("no prefix covers the values {next} to {}", start - 1)
            }));
        }
        next = end;
    }
    if next != size {
        return Err(terms(format!(
            "no prefix covers the values {next} to {}",
            size - 1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::announcement::OracleKey;
    use crate::state::keys::recover;

    fn channel(alice: &SigningKey, bob: &SigningKey) -> (ChannelParams, State) {
        let params = ChannelParams {
            participants: vec![alice.address(), bob.address()],
            nonce: 1,
            challenge_period: 60,
            contract_id: [3u8; 32],
            asset: Address([0u8; 20]),
            adjudicator: Address([1u8; 20]),
            chain_id: 1337,
        };
        let base = State {
            channel_id: params.channel_id(),
            version: 4,
            commitment: [5u8; 32],
            allocation: vec![100, 100],
            is_final: false,
        };
        (params, base)
    }

    fn three_way(oracle: &OracleKey) -> Announcement {
        oracle
            .announce(
                "game-7",
                1000,
                Outcomes::Enumerated(vec!["home".into(), "draw".into(), "away".into()]),
            )
            .unwrap()
    }

    #[test]
    fn an_enumerated_bet_settles_on_the_attested_outcome_only() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (params, base) = channel(&alice, &bob);
        let oracle = OracleKey::generate();
        let ann = three_way(&oracle);
        let terms_ = BetTerms {
            announcements: vec![ann.clone()],
            threshold: 1,
            payouts: Payouts::Enumerated(vec![vec![200, 0], vec![100, 100], vec![0, 200]]),
            refund_after: None,
        };
        let bet = Bet::new(&params, &base, terms_).unwrap();
        assert_eq!(bet.entries(), 3);
        assert_eq!(bet.states().len(), 3);
        let (sa, sb) = (bet.sign(&alice), bet.sign(&bob));
        bet.verify(0, &sa).unwrap();
        bet.verify(1, &sb).unwrap();
        // Wire round trip.
        let sb = BetSignatures::from_bytes(&sb.to_bytes()).unwrap();
        // Signatures of the wrong party are refused.
        assert!(matches!(
            bet.verify(1, &sa),
            Err(BetError::Signatures { party: 1, .. })
        ));
        // Nothing attested yet.
        assert_eq!(
            bet.settle(&[], 0, &alice, &[(1, &sb)]),
            Err(BetError::NotAttested { threshold: 1 })
        );
        let att = oracle.attest(&ann, Outcome::Enumerated(2)).unwrap();
        for (me, key, other, theirs) in [(0, &alice, 1, &sb), (1, &bob, 0, &sa)] {
            let s = bet
                .settle(std::slice::from_ref(&att), me, key, &[(other, theirs)])
                .unwrap();
            assert_eq!(s.outcome, Outcome::Enumerated(2));
            assert_eq!(s.state.allocation, vec![0, 200]);
            assert_eq!(s.state.version, 5);
            let digest = s.state.digest();
            assert_eq!(recover(&digest, &s.signatures[0]).unwrap(), alice.address());
            assert_eq!(recover(&digest, &s.signatures[1]).unwrap(), bob.address());
        }
    }

    #[test]
    fn two_of_three_oracles_settle_and_one_does_not() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (params, base) = channel(&alice, &bob);
        let oracles: Vec<OracleKey> = (0..3).map(|_| OracleKey::generate()).collect();
        let anns: Vec<Announcement> = oracles.iter().map(three_way).collect();
        let bet = Bet::new(
            &params,
            &base,
            BetTerms {
                announcements: anns.clone(),
                threshold: 2,
                payouts: Payouts::Enumerated(vec![vec![150, 50], vec![100, 100], vec![50, 150]]),
                refund_after: None,
            },
        )
        .unwrap();
        // Three outcomes × three pairs of oracles.
        assert_eq!(bet.entries(), 9);
        let sb = bet.sign(&bob);
        bet.verify(1, &sb).unwrap();
        let att = |o: usize, outcome: usize| {
            oracles[o]
                .attest(&anns[o], Outcome::Enumerated(outcome))
                .unwrap()
        };
        // One oracle is not enough.
        assert_eq!(
            bet.settle(&[att(0, 0)], 0, &alice, &[(1, &sb)]),
            Err(BetError::NotAttested { threshold: 2 })
        );
        // Two that disagree are not enough either.
        assert_eq!(
            bet.settle(&[att(0, 0), att(2, 1)], 0, &alice, &[(1, &sb)]),
            Err(BetError::NotAttested { threshold: 2 })
        );
        // Oracles 1 and 2 agree on outcome 0; oracle 0 says 1.
        let s = bet
            .settle(&[att(0, 1), att(1, 0), att(2, 0)], 0, &alice, &[(1, &sb)])
            .unwrap();
        assert_eq!(s.outcome, Outcome::Enumerated(0));
        assert_eq!(s.oracles, vec![1, 2]);
        assert_eq!(s.state.allocation, vec![150, 50]);
        assert_eq!(
            recover(&s.state.digest(), &s.signatures[1]).unwrap(),
            bob.address()
        );
    }

    #[test]
    fn a_numeric_bet_settles_through_the_prefix_that_covers_the_value() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (params, base) = channel(&alice, &bob);
        let oracle = OracleKey::generate();
        let ann = oracle
            .announce("rate", 0, Outcomes::Numeric { base: 2, digits: 4 })
            .unwrap();
        // 0..=7 pays alice everything, 8..=11 splits, 12..=15 pays bob.
        let payouts = vec![
            (vec![0], vec![200, 0]),
            (vec![1, 0], vec![100, 100]),
            (vec![1, 1], vec![0, 200]),
        ];
        let bet = Bet::new(
            &params,
            &base,
            BetTerms {
                announcements: vec![ann.clone()],
                threshold: 1,
                payouts: Payouts::Numeric(payouts),
                refund_after: None,
            },
        )
        .unwrap();
        let sa = bet.sign(&alice);
        bet.verify(0, &sa).unwrap();
        for (value, expected) in [(3, vec![200, 0]), (9, vec![100, 100]), (15, vec![0, 200])] {
            let att = oracle.attest(&ann, Outcome::Numeric(value)).unwrap();
            let s = bet.settle(&[att], 1, &bob, &[(0, &sa)]).unwrap();
            assert_eq!(s.state.allocation, expected, "value {value}");
            assert_eq!(
                recover(&s.state.digest(), &s.signatures[0]).unwrap(),
                alice.address()
            );
        }
    }

    #[test]
    fn bad_terms_are_refused_with_the_culprit() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (params, base) = channel(&alice, &bob);
        let oracle = OracleKey::generate();
        let ann = oracle
            .announce("rate", 0, Outcomes::Numeric { base: 2, digits: 4 })
            .unwrap();
        let numeric = |payouts: Vec<(Vec<u8>, Vec<u64>)>| {
            Bet::new(
                &params,
                &base,
                BetTerms {
                    announcements: vec![ann.clone()],
                    threshold: 1,
                    payouts: Payouts::Numeric(payouts),
                    refund_after: None,
                },
            )
            .map(|_| ())
        };
        let err = |r: Result<(), BetError>| match r {
            Err(BetError::Terms(m)) => m,
            other => panic!("expected a terms error, got {other:?}"),
        };
        assert!(err(numeric(vec![(vec![0], vec![200, 0])])).contains("8 to 15"));
        assert!(
            err(numeric(vec![
                (vec![0], vec![200, 0]),
                (vec![0, 1], vec![200, 0]),
                (vec![1], vec![200, 0])
            ]))
            .contains("overlap")
        );
        assert!(err(numeric(vec![(vec![], vec![200, 0])])).contains("1 to 4 digits"));
        assert!(err(numeric(vec![(vec![2], vec![200, 0])])).contains("digit"));
        // A payout above the collateral.
        assert!(
            err(numeric(vec![
                (vec![0], vec![201, 0]),
                (vec![1], vec![0, 200])
            ]))
            .contains("holds 200")
        );
        let enumerated = |threshold, anns: Vec<Announcement>, payouts| {
            Bet::new(
                &params,
                &base,
                BetTerms {
                    announcements: anns,
                    threshold,
                    payouts: Payouts::Enumerated(payouts),
                    refund_after: None,
                },
            )
            .map(|_| ())
        };
        let three = three_way(&oracle);
        let fair = vec![vec![100, 100]; 3];
        assert!(err(enumerated(2, vec![three.clone()], fair.clone())).contains("2 of 1"));
        assert!(
            err(enumerated(
                1,
                vec![three.clone(), three.clone()],
                fair.clone()
            ))
            .contains("twice")
        );
        assert!(
            err(enumerated(1, vec![three.clone()], vec![vec![100, 100]; 2])).contains("2 payouts")
        );
        assert!(err(enumerated(1, vec![ann.clone()], fair)).contains("kind"));
    }

    #[test]
    fn a_refund_is_signed_with_the_bet_and_checked_with_it() {
        let (alice, bob) = (SigningKey::generate(), SigningKey::generate());
        let (params, base) = channel(&alice, &bob);
        let oracle = OracleKey::generate();
        let terms_ = |refund_after| BetTerms {
            announcements: vec![three_way(&oracle)],
            threshold: 1,
            payouts: Payouts::Enumerated(vec![vec![200, 0], vec![100, 100], vec![0, 200]]),
            refund_after,
        };
        let bet = Bet::new(&params, &base, terms_(Some(900))).unwrap();
        let plain = Bet::new(&params, &base, terms_(None)).unwrap();
        let sb = bet.sign(&bob);
        let back = BetSignatures::from_bytes(&sb.to_bytes()).unwrap();
        assert_eq!(back, sb);
        bet.verify(1, &back).unwrap();
        // A set without the refund, or with a refund for a bet without one.
        let bare = plain.sign(&bob);
        assert!(matches!(
            bet.verify(1, &bare),
            Err(BetError::Signatures { party: 1, .. })
        ));
        assert!(matches!(
            plain.verify(1, &sb),
            Err(BetError::Signatures { party: 1, .. })
        ));
        // A refund signature of something else.
        let mut forged = sb.clone();
        forged.refund = Some(bob.sign(&[9u8; 32]));
        assert!(matches!(
            bet.verify(1, &forged),
            Err(BetError::Signatures { party: 1, .. })
        ));
        // The refund state is signed by both, over its timed digest.
        let (state, window, sigs) = bet.refund(0, &alice, &[(1, &back)]).unwrap();
        assert_eq!(window.not_before, 900);
        assert_eq!(state.version, base.version + 1);
        let d = state.timed_digest(&window);
        assert_eq!(recover(&d, &sigs[0]).unwrap(), alice.address());
        assert_eq!(recover(&d, &sigs[1]).unwrap(), bob.address());
        assert!(plain.refund(0, &alice, &[(1, &bare)]).is_err());
    }

    #[test]
    fn malformed_signature_sets_are_refused() {
        for bytes in [
            vec![],
            vec![2u8; 36],
            [vec![2u8; 33], vec![0, 0, 0, 1]].concat(),
            [vec![2u8; 33], vec![0xff; 4]].concat(),
        ] {
            assert!(BetSignatures::from_bytes(&bytes).is_err());
        }
    }
}
