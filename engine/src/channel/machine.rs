//! The update protocol as a pure state machine, one [`Party`] per
//! participant and channel.
//!
//! A party takes inputs (a local request, a [`Message`] from a peer, a
//! [`ChainEvent`], the passing of time) and returns an [`Output`]: the
//! snapshot to persist, the messages to send, the chain calls to make and
//! the events to report. It does no I/O and reads no clock; randomness
//! (blindings, proofs) comes from the caller's generator. Its driver (the
//! in-process [`super::sim`], the node) must **commit the snapshot before
//! it sends any message or makes any chain call of the same output**, and
//! if the commit fails it must drop the party and restore it from its
//! store ([`Party::restore`]): the party's memory is already past the
//! failed step.
//!
//! ## The protocol
//!
//! - **Open.** Each party draws its private fields' openings, persists
//!   them, and sends their commitments with a range proof
//!   ([`Message::Open`]). Once a party holds every party's verified
//!   commitments it builds version 0, persists, signs and sends its
//!   signature. With every signature on version 0 it deposits (through the
//!   chain) and waits until every deposit is confirmed; then the channel is
//!   open.
//! - **Update**, in two rounds, so that a signature only ever exists on
//!   the one state a version will carry:
//!   1. the function's caller runs it and proves it ([`super::propose`]) and
//!      sends the unsigned [`Offer`] to every party;
//!   2. each other party checks it ([`super::verify_update`]: version,
//!      re-execution, proof, conservation; plus that the sender is the
//!      function's caller and its clock is close to ours) and answers
//!      [`Message::Accept`] or a typed [`Message::Refuse`];
//!   3. with every acceptance the proposer persists (its new openings and
//!      the signing record included) and signs; each party, on the
//!      proposer's signature, persists and countersigns; a state with every
//!      signature is the new latest state.
//! - **Crossing proposals.** Two parties proposing the same version: the
//!   lower party index goes first. The higher one withdraws its own
//!   (unsigned, so nothing to undo) and accepts the lower one; a party that
//!   accepted the higher one switches. The withdrawn call is queued again
//!   and proposed on the new state, so neither is lost.
//! - **Reveal.** The owner of a private field sends its opening; the others
//!   check it against the field's commitment.
//! - **Close.** A contract that finishes produces a final state; otherwise
//!   [`Party::close`] proposes the current state again as final. Once it
//!   is fully signed its proposer hands it to the chain, which pays out at
//!   once.
//! - **Timeouts and disputes.** Every outstanding request has a deadline
//!   ([`Config::timeout`]). When it passes, the party registers its latest
//!   fully signed state on chain; a registration older than its latest is
//!   refuted; after the challenge period it finalizes and withdraws.
//! - **Restart.** [`Party::restore`] rebuilds a party from its store;
//!   [`Party::resume`] asks every peer to resend what it may have missed
//!   ([`Message::Resync`]) and resends its own.
//!
//! Every persisting step is one [`Step`]; [`Step::ALL`] lists them for the
//! crash tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::{CryptoRng, RngCore};
use sotto_circuits::{Commitment, Opening};
use sotto_contracts::Artifact;
use sotto_contracts::abi::Value;
use thiserror::Error;

use super::message::{MAX_BATCH, Message, Offer, Refusal, RefusalKind};
use super::record::{Pending, Phase, Record, Secret};
use super::update::{
    ChannelView, ProposeError, check_signature, propose, prove_openings, verify_openings,
    verify_update,
};
use super::wire::{self, WireError};
use crate::anchor::{AnchorCall, ChainEvent};
use crate::sandbox::{LoadedModule, Sandbox, StateError};
use crate::state::{ChannelParams, Signature, SigningKey, State};
use crate::store::{Loaded, Snapshot};

/// Most signatures kept for states this party has not reached yet.
const MAX_EARLY: usize = 64;

/// Most calls queued behind an outstanding proposal.
pub const MAX_QUEUE: usize = 1024;

/// What a party runs the contract with.
#[derive(Clone, Copy)]
pub struct Contract<'a> {
    /// The sandbox.
    pub sandbox: &'a Sandbox,
    /// The contract, loaded.
    pub module: &'a LoadedModule,
    /// Its artifact (ABI and constraint programs).
    pub artifact: &'a Artifact,
}

impl std::fmt::Debug for Contract<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("id", &self.artifact.id())
            .finish_non_exhaustive()
    }
}

/// A party's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Seconds a request may stay unanswered before the party disputes
    /// (or, before any deposit, abandons the opening).
    pub timeout: u64,
    /// Largest difference, in seconds, between a proposal's time and the
    /// receiver's clock.
    pub max_skew: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: 60,
            max_skew: 300,
        }
    }
}

/// The protocol steps that persist: every crash point of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Opening: the party's openings are drawn (before their commitments
    /// are sent).
    Commit,
    /// Opening: version 0 is built and signed (before the signature is sent).
    SignOpen,
    /// Version 0 is fully signed: deposit.
    Deposit,
    /// Every deposit is confirmed: the channel opens.
    Funded,
    /// The proposer signs its accepted proposal.
    Sign,
    /// A party countersigns a proposal the proposer signed.
    Countersign,
    /// A state gets its last signature.
    Complete,
    /// A peer's revealed value is kept.
    Revealed,
    /// A fully signed final state goes to the chain.
    Conclude,
    /// A request timed out (or the user asked): register the latest state.
    Dispute,
    /// A registration is seen on chain.
    Registered,
    /// A stale registration is refuted with the latest state.
    Refute,
    /// The challenge period is over: settle.
    Finalize,
    /// The channel is settled: withdraw.
    Settled,
    /// The opening timed out before any deposit.
    Abandon,
}

impl Step {
    /// Every step: the crash tests go through each.
    pub const ALL: [Step; 15] = [
        Step::Commit,
        Step::SignOpen,
        Step::Deposit,
        Step::Funded,
        Step::Sign,
        Step::Countersign,
        Step::Complete,
        Step::Revealed,
        Step::Conclude,
        Step::Dispute,
        Step::Registered,
        Step::Refute,
        Step::Finalize,
        Step::Settled,
        Step::Abandon,
    ];
}

/// What happened, for the party's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Version 0 is fully signed.
    Opened,
    /// Every deposit is confirmed; the channel is open.
    Funded,
    /// A new state is fully signed.
    Updated {
        /// Its version.
        version: u64,
        /// The function called, or `"(close)"`.
        function: String,
        /// Who proposed it.
        proposer: u32,
    },
    /// This party's proposal was refused; the channel stays where it was.
    Refused {
        /// The function.
        function: String,
        /// Who refused.
        by: u32,
        /// Why.
        refusal: Refusal,
    },
    /// A queued call could not be proposed (the contract refused it on the
    /// state it met).
    CallFailed {
        /// The function.
        function: String,
        /// Why.
        error: String,
    },
    /// This party rejected a peer's message; nothing changed.
    Rejected {
        /// The sender.
        from: u32,
        /// Why.
        refusal: Refusal,
    },
    /// A peer revealed a private value, checked against its commitment.
    Revealed {
        /// The field's index.
        field: u32,
        /// Its value.
        value: u64,
        /// The owner.
        by: u32,
    },
    /// A dispute is on: the chain holds a registered state.
    Disputing {
        /// The registered version.
        version: u64,
    },
    /// The channel is settled on chain.
    Concluded {
        /// What each party is owed.
        allocation: Vec<u64>,
    },
    /// This party was paid.
    Withdrawn {
        /// The amount.
        amount: u64,
    },
    /// The opening timed out before any deposit; the channel is dropped.
    Abandoned,
}

/// What an input produced. Commit `persist` first; only then send and
/// submit.
#[derive(Debug, Default)]
pub struct Output {
    /// What to commit to the store, in one transaction.
    pub persist: Option<Snapshot>,
    /// The steps the snapshot records (crash points).
    pub steps: Vec<Step>,
    /// Messages to send: (recipient party index, message).
    pub send: Vec<(u32, Message)>,
    /// Chain calls to submit, in order.
    pub anchor: Vec<AnchorCall>,
    /// Events for the user.
    pub events: Vec<Event>,
}

/// Why a local request could not be taken.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MachineError {
    /// The parameters, key or deposits do not fit the contract.
    #[error("cannot open this channel: {0}")]
    Setup(String),
    /// Not possible in this phase.
    #[error("the channel is {0}; {1}")]
    Phase(&'static str, &'static str),
    /// No such function.
    #[error("no function `{0}`")]
    UnknownFunction(String),
    /// This party may not call the function.
    #[error("`{function}` is called by party #{caller}, not by this party")]
    NotCaller {
        /// The function.
        function: String,
        /// Its caller.
        caller: u32,
    },
    /// The call failed as this party ran it (the contract's reason
    /// included).
    #[error(transparent)]
    Propose(#[from] ProposeError),
    /// Not one of this party's private fields.
    #[error("field #{0} is not a private field of this party")]
    NotOwner(u32),
    /// Too many calls queued.
    #[error("{MAX_QUEUE} calls are already queued")]
    QueueFull,
    /// A state this party would sign conflicts with one it signed (a bug:
    /// the protocol never asks for it).
    #[error("version {0} was already signed for another state")]
    DoubleSign(u64),
    /// The public state does not encode (a module that broke its ABI).
    #[error(transparent)]
    State(#[from] StateError),
    /// The stored record does not decode.
    #[error("the stored channel does not decode: {0}")]
    Wire(#[from] WireError),
}

/// A local request waiting for its turn.
#[derive(Debug, Clone)]
enum Request {
    Call { function: String, args: Vec<Value> },
    Close,
}

/// This party's proposal, before anyone signed it.
#[derive(Debug)]
struct Mine {
    requests: Vec<Request>,
    offer: Offer,
    next: ChannelView,
    openings: Option<BTreeMap<u32, Opening>>,
    accepted: BTreeSet<u32>,
}

/// A peer's proposal this party accepted, before its proposer signed it.
#[derive(Debug)]
struct Vote {
    proposer: u32,
    offer: Offer,
    next: ChannelView,
    digest: [u8; 32],
}

/// One participant of one channel. See the module docs.
#[derive(Debug)]
pub struct Party {
    key: SigningKey,
    config: Config,
    rec: Record,
    secret: Secret,
    /// The signing record from the latest fully signed version on.
    signed: BTreeMap<u64, [u8; 32]>,
    // Not persisted: each is re-established after a restart.
    fresh: Vec<(u64, [u8; 32])>,
    /// Boxed, as `vote` and the record's `pending`: each holds a proposal
    /// (over a kilobyte inline, most of it a proof), and an idle channel
    /// holds none; inline they made every channel's party 6.8 KiB.
    mine: Option<Box<Mine>>,
    vote: Option<Box<Vote>>,
    queue: VecDeque<Request>,
    early: Vec<(u32, u64, [u8; 32], Signature)>,
    /// Proposals built on the pending state, kept until it completes (at
    /// most one per peer).
    later: Vec<(u32, Offer)>,
    backoff: Option<u64>,
    out: Output,
}

impl Party {
    /// Starts opening a channel as party `me`: draws this party's private
    /// field openings (`private`: field index → initial value, 0 if not
    /// given), proves them in range, and sends their commitments.
    #[allow(clippy::too_many_arguments, reason = "an opening needs each of these")]
    pub fn open<R: RngCore + CryptoRng>(
        cx: Contract<'_>,
        key: SigningKey,
        config: Config,
        params: ChannelParams,
        me: u32,
        deposits: Vec<u64>,
        private: &BTreeMap<u32, u64>,
        now: u64,
        rng: &mut R,
    ) -> Result<(Party, Output), MachineError> {
        let abi = cx.artifact.abi();
        let n = abi.parties.len();
        if n < 2 {
            return Err(MachineError::Setup(format!(
                "a channel needs two parties or more; the contract has {n}"
            )));
        }
        if params.participants.len() != n || deposits.len() != n {
            return Err(MachineError::Setup(format!(
                "the contract has {n} parties; given {} participants and {} deposits",
                params.participants.len(),
                deposits.len()
            )));
        }
        if params.participants.get(me as usize) != Some(&key.address()) {
            return Err(MachineError::Setup(format!(
                "the key is not participant #{me}'s"
            )));
        }
        if params.contract_id != cx.artifact.id() {
            return Err(MachineError::Setup(
                "the parameters name another contract".into(),
            ));
        }
        if let Some(f) = private
            .keys()
            .find(|f| abi.fields.get(**f as usize).and_then(|x| x.owner) != Some(me))
        {
            return Err(MachineError::NotOwner(*f));
        }
        let mut openings = BTreeMap::new();
        for (i, f) in abi.fields.iter().enumerate() {
            let i = u32::try_from(i).map_err(|_| MachineError::Setup("too many fields".into()))?;
            if f.owner == Some(me) {
                let value = private.get(&i).copied().unwrap_or(0);
                openings.insert(i, Opening::random(value, rng));
            }
        }
        let channel_id = params.channel_id();
        let proof = if openings.is_empty() {
            None
        } else {
            Some(prove_openings(cx.artifact, channel_id, &openings, rng)?)
        };
        let commitments: BTreeMap<u32, Commitment> =
            openings.iter().map(|(f, o)| (*f, o.commit())).collect();
        let mut all = vec![None; n];
        all[me as usize] = Some(commitments.clone());
        let rec = Record {
            params,
            me,
            funded: vec![0; n],
            deposits,
            phase: Phase::Opening,
            commitments: all,
            my_proof: proof.clone().map(Box::new),
            view: None,
            signatures: vec![None; n],
            pending: None,
            deadline: Some(now.saturating_add(config.timeout)),
            revealed: BTreeMap::new(),
            registered: None,
            concluded: None,
        };
        let mut party = Party::new(
            key,
            config,
            rec,
            Secret {
                openings,
                next: None,
            },
        );
        party.step(Step::Commit);
        party.broadcast(Message::Open { commitments, proof });
        party.try_assemble(cx, now)?;
        let out = party_output(&mut party)?;
        Ok((party, out))
    }

    fn new(key: SigningKey, config: Config, rec: Record, secret: Secret) -> Self {
        Party {
            key,
            config,
            rec,
            secret,
            signed: BTreeMap::new(),
            fresh: Vec::new(),
            mine: None,
            vote: None,
            queue: VecDeque::new(),
            early: Vec::new(),
            later: Vec::new(),
            backoff: None,
            out: Output::default(),
        }
    }

    /// Rebuilds a party from what its store holds. Feed it the channel's
    /// chain events, then call [`Party::resume`].
    pub fn restore(key: SigningKey, config: Config, loaded: &Loaded) -> Result<Self, MachineError> {
        let rec = wire::decode_record(&loaded.record)?;
        let secret = wire::decode_secret(&loaded.secret)?;
        if rec.params.participants.get(rec.me as usize) != Some(&key.address()) {
            return Err(MachineError::Setup(format!(
                "the key is not participant #{}'s",
                rec.me
            )));
        }
        check_record(&rec)?;
        let from = rec.view.as_ref().map_or(0, |v| v.version);
        let mut party = Party::new(key, config, rec, secret);
        party.signed = loaded.signed.range(from..).map(|(v, d)| (*v, *d)).collect();
        Ok(party)
    }

    /// After a restart or reconnection: asks every peer to resend what this
    /// party may have missed, resends its own, and redoes a chain call the
    /// restart may have cut off (a deposit not yet seen, a registration).
    pub fn resume<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        let version = self.latest().map(|v| v.version);
        self.backoff = None;
        self.broadcast(Message::Resync { version });
        for to in self.peers() {
            for m in self.catch_up(cx)? {
                self.out.send.push((to, m));
            }
        }
        let me = self.rec.me as usize;
        match self.rec.phase {
            Phase::Funding => {
                let owed = self.rec.deposits[me].saturating_sub(self.rec.funded[me]);
                if owed > 0 {
                    self.out.anchor.push(AnchorCall::Deposit {
                        party: self.rec.me,
                        amount: owed,
                    });
                }
            }
            Phase::Disputing => {
                let latest = self.latest().map_or(0, |v| v.version);
                if self
                    .rec
                    .registered
                    .as_ref()
                    .is_none_or(|(s, _)| s.version < latest)
                {
                    self.register(cx)?;
                }
            }
            _ => {}
        }
        self.pump(cx, now, rng);
        self.finish()
    }

    /// A connection to peer `to` came up (again) while this party kept
    /// running: asks it to resend what this party may have missed and
    /// resends this party's own. Unlike [`Party::resume`] it redoes no
    /// chain call: a running party saw its calls through.
    pub fn reconnected<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        to: u32,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        if to == self.rec.me || to as usize >= self.rec.params.participants.len() {
            return self.finish();
        }
        let version = self.latest().map(|v| v.version);
        self.out.send.push((to, Message::Resync { version }));
        for m in self.catch_up(cx)? {
            self.out.send.push((to, m));
        }
        self.pump(cx, now, rng);
        self.finish()
    }

    /// The record (for status displays and tests).
    pub fn record(&self) -> &Record {
        &self.rec
    }

    /// This party's private field openings as of the latest state.
    pub fn openings(&self) -> &BTreeMap<u32, Opening> {
        &self.secret.openings
    }

    /// The latest fully signed view, once the channel has one.
    pub fn latest(&self) -> Option<&ChannelView> {
        self.rec
            .view
            .as_ref()
            .filter(|_| self.rec.signatures.iter().all(Option::is_some))
    }

    /// Whether nothing is outstanding: no proposal, no acceptance, no state
    /// awaiting signatures, no queued call.
    pub fn idle(&self) -> bool {
        self.mine.is_none()
            && self.vote.is_none()
            && self.rec.pending.is_none()
            && self.queue.is_empty()
    }

    /// The latest fully signed state and its signatures.
    pub fn latest_signed(
        &self,
        cx: Contract<'_>,
    ) -> Result<Option<(State, Vec<Signature>)>, MachineError> {
        let Some(view) = self.latest() else {
            return Ok(None);
        };
        let sigs = self.rec.signatures.iter().flatten().copied().collect();
        Ok(Some((view.state(cx.module.abi())?, sigs)))
    }

    // ---- local requests ----

    /// Calls `function(args)` (every parameter, private ones included) as
    /// this party: proposes it now if nothing is outstanding, or queues it.
    /// A call the contract refuses now fails here, with its reason.
    pub fn call<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        function: &str,
        args: Vec<Value>,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        let (_, f) = cx
            .artifact
            .abi()
            .function(function)
            .ok_or_else(|| MachineError::UnknownFunction(function.to_owned()))?;
        if f.caller != self.rec.me {
            return Err(MachineError::NotCaller {
                function: function.to_owned(),
                caller: f.caller,
            });
        }
        if self.rec.phase != Phase::Open {
            return Err(MachineError::Phase(
                self.rec.phase.name(),
                "calls wait until it is open",
            ));
        }
        let request = Request::Call {
            function: function.to_owned(),
            args,
        };
        if self.ready() {
            self.make_offer(cx, vec![request], now, rng)?;
        } else {
            if self.queue.len() >= MAX_QUEUE {
                return Err(MachineError::QueueFull);
            }
            self.queue.push_back(request);
        }
        self.finish()
    }

    /// Closes the channel cooperatively: a finished contract's final state
    /// goes to the chain at once; otherwise the current state is proposed
    /// again as final (after any queued call).
    pub fn close<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        if self.rec.phase != Phase::Open {
            return Err(MachineError::Phase(
                self.rec.phase.name(),
                "only an open channel closes cooperatively",
            ));
        }
        if self.latest().is_some_and(|v| v.finished) {
            self.conclude(cx, now)?;
        } else {
            self.queue.push_back(Request::Close);
            self.pump(cx, now, rng);
        }
        self.finish()
    }

    /// Sends the opening of this party's private field `field` to every
    /// peer.
    pub fn reveal(&mut self, field: u32) -> Result<Output, MachineError> {
        let opening = self
            .secret
            .openings
            .get(&field)
            .cloned()
            .ok_or(MachineError::NotOwner(field))?;
        if self.latest().is_none() {
            return Err(MachineError::Phase(
                self.rec.phase.name(),
                "reveal once it has a fully signed state",
            ));
        }
        self.broadcast(Message::Reveal { field, opening });
        self.finish()
    }

    /// Registers the latest fully signed state on chain now.
    pub fn dispute(&mut self, cx: Contract<'_>) -> Result<Output, MachineError> {
        if self.latest().is_none() || matches!(self.rec.phase, Phase::Closed | Phase::Opening) {
            return Err(MachineError::Phase(
                self.rec.phase.name(),
                "there is no fully signed state to dispute with",
            ));
        }
        self.start_dispute(cx)?;
        self.finish()
    }

    // ---- inputs ----

    /// Handles `message` from party `from`.
    pub fn handle<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        from: u32,
        message: Message,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        if from == self.rec.me || from as usize >= self.rec.params.participants.len() {
            return self.finish();
        }
        match message {
            Message::Open { commitments, proof } => {
                self.on_open(cx, from, commitments, proof, now)?
            }
            Message::Propose(offer) => self.on_propose(cx, from, offer, now)?,
            Message::Accept { version, digest } => {
                self.on_accept(cx, from, version, digest, now)?
            }
            Message::Refuse { version, refusal } => self.on_refuse(from, version, refusal),
            Message::Withdraw { version } => self.on_withdraw(from, version),
            Message::Sign {
                version,
                digest,
                signature,
            } => self.on_sign(cx, from, version, digest, signature, now)?,
            Message::Reveal { field, opening } => self.on_reveal(from, field, &opening),
            Message::Resync { .. } => {
                if self.vote.as_ref().is_some_and(|v| v.proposer == from) {
                    // The proposer restarted and forgot its unsigned
                    // proposal; it resends it if it still has it.
                    self.vote = None;
                    self.rec.deadline = None;
                }
                for m in self.catch_up(cx)? {
                    self.out.send.push((from, m));
                }
            }
        }
        self.pump(cx, now, rng);
        self.finish()
    }

    /// Handles a chain event for this channel.
    pub fn chain<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        event: ChainEvent,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        match event {
            ChainEvent::Deposited { party, total } => {
                if let Some(f) = self.rec.funded.get_mut(party as usize) {
                    *f = total;
                }
                if self.rec.phase == Phase::Funding
                    && self
                        .rec
                        .funded
                        .iter()
                        .zip(&self.rec.deposits)
                        .all(|(f, d)| f >= d)
                {
                    self.rec.phase = Phase::Open;
                    self.rec.deadline = None;
                    self.step(Step::Funded);
                    self.out.events.push(Event::Funded);
                }
            }
            ChainEvent::Registered { state, until } => {
                let version = state.version;
                self.rec.registered = Some((state, until));
                if self.rec.phase != Phase::Closed {
                    self.enter_dispute();
                    self.rec.deadline = Some(until);
                    self.step(Step::Registered);
                    self.out.events.push(Event::Disputing { version });
                    if self.latest().is_some_and(|v| v.version > version) {
                        self.step(Step::Refute);
                        self.register(cx)?;
                    }
                }
            }
            ChainEvent::Concluded {
                allocation,
                cooperative,
            } => {
                let mine = allocation.get(self.rec.me as usize).copied().unwrap_or(0);
                self.rec.concluded = Some(allocation.clone());
                self.rec.phase = Phase::Closed;
                self.rec.deadline = None;
                self.enter_dispute();
                self.step(Step::Settled);
                self.out.events.push(Event::Concluded { allocation });
                if !cooperative && mine > 0 {
                    self.out
                        .anchor
                        .push(AnchorCall::Withdraw { party: self.rec.me });
                }
            }
            ChainEvent::Withdrawn { party, amount } => {
                if party == self.rec.me {
                    self.out.events.push(Event::Withdrawn { amount });
                }
            }
        }
        self.pump(cx, now, rng);
        self.finish()
    }

    /// Lets time pass: acts on a deadline that passed.
    pub fn tick<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        now: u64,
        rng: &mut R,
    ) -> Result<Output, MachineError> {
        // A crossing's loser waits at most until the next tick to retry.
        self.backoff = None;
        if self.rec.deadline.is_some_and(|d| now >= d) {
            self.rec.deadline = None;
            match self.rec.phase {
                Phase::Opening => {
                    self.rec.phase = Phase::Closed;
                    self.step(Step::Abandon);
                    self.out.events.push(Event::Abandoned);
                }
                Phase::Funding | Phase::Open => self.start_dispute(cx)?,
                Phase::Closing => {
                    // Nobody concluded the final state: do it ourselves.
                    self.conclude(cx, now)?;
                }
                Phase::Disputing => match self.rec.registered.clone() {
                    Some((state, until)) if now >= until => {
                        self.step(Step::Finalize);
                        self.out.anchor.push(AnchorCall::Finalize { state });
                        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
                    }
                    Some((_, until)) => self.rec.deadline = Some(until),
                    None => {
                        // Our registration is not seen: submit it again.
                        self.register(cx)?;
                        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
                    }
                },
                Phase::Closed => {}
            }
        }
        self.pump(cx, now, rng);
        self.finish()
    }

    // ---- message handlers ----

    fn reject(&mut self, from: u32, kind: RefusalKind, detail: impl Into<String>) {
        self.out.events.push(Event::Rejected {
            from,
            refusal: Refusal::new(kind, detail),
        });
    }

    fn on_open(
        &mut self,
        cx: Contract<'_>,
        from: u32,
        commitments: BTreeMap<u32, Commitment>,
        proof: Option<sotto_circuits::Proof>,
        now: u64,
    ) -> Result<(), MachineError> {
        if self.rec.phase != Phase::Opening {
            return Ok(());
        }
        let slot = &self.rec.commitments[from as usize];
        if let Some(known) = slot {
            if *known != commitments {
                self.reject(from, RefusalKind::Opening, "a second, different opening");
            }
            return Ok(());
        }
        let abi = cx.artifact.abi();
        let owned: Vec<u32> = abi
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.owner == Some(from))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        if !commitments.keys().copied().eq(owned.iter().copied()) {
            self.reject(
                from,
                RefusalKind::Opening,
                "the commitments are not exactly the sender's private fields",
            );
            return Ok(());
        }
        match (&proof, commitments.is_empty()) {
            (None, true) => {}
            (Some(p), false) => {
                if let Err(e) = verify_openings(
                    cx.artifact,
                    self.rec.params.channel_id(),
                    from,
                    &commitments,
                    p,
                ) {
                    self.reject(from, RefusalKind::Opening, e.to_string());
                    return Ok(());
                }
            }
            _ => {
                self.reject(
                    from,
                    RefusalKind::Opening,
                    "a range proof is missing or superfluous",
                );
                return Ok(());
            }
        }
        self.rec.commitments[from as usize] = Some(commitments);
        self.try_assemble(cx, now)
    }

    /// With every party's commitments: builds version 0 and signs it.
    fn try_assemble(&mut self, cx: Contract<'_>, now: u64) -> Result<(), MachineError> {
        if self.rec.view.is_some() || self.rec.commitments.iter().any(Option::is_none) {
            return Ok(());
        }
        let all: BTreeMap<u32, Commitment> = self
            .rec
            .commitments
            .iter()
            .flatten()
            .flat_map(|m| m.iter().map(|(f, c)| (*f, *c)))
            .collect();
        let view = ChannelView::open(
            self.rec.params.clone(),
            cx.artifact,
            self.rec.deposits.clone(),
            all,
        );
        let state = view.state(cx.module.abi())?;
        self.rec.view = Some(view);
        let sig = self.sign(&state)?;
        self.rec.signatures[self.rec.me as usize] = Some(sig);
        self.step(Step::SignOpen);
        self.broadcast(Message::Sign {
            version: 0,
            digest: state.digest(),
            signature: sig,
        });
        self.drain_early(cx, now)
    }

    fn on_propose(
        &mut self,
        cx: Contract<'_>,
        from: u32,
        offer: Offer,
        now: u64,
    ) -> Result<(), MachineError> {
        let version = offer.state().version;
        let digest = offer.state().digest();
        let Some(view) = self.latest().cloned() else {
            self.refuse(
                from,
                version,
                RefusalKind::Phase,
                "the channel is not open yet",
            );
            return Ok(());
        };
        if version == view.version && digest == view.state(cx.module.abi())?.digest() {
            return Ok(()); // Already done: a resend after a restart.
        }
        if let Some(p) = &self.rec.pending {
            if p.proposer == from && p.offer.state().digest() == digest {
                // The proposer lost our signature: send it again.
                if let Some(sig) = p.signatures[self.rec.me as usize] {
                    self.out.send.push((
                        from,
                        Message::Sign {
                            version,
                            digest,
                            signature: sig,
                        },
                    ));
                }
            } else if offer.calls().first().map_or(version, |u| u.state.version)
                == p.offer.state().version.saturating_add(1)
            {
                // Built on the state this party is still collecting
                // signatures for: its peer got there first. Keep it for
                // when this party gets there too.
                self.later.retain(|(who, _)| *who != from);
                self.later.push((from, offer));
            } else {
                self.refuse(
                    from,
                    version,
                    RefusalKind::Crossing,
                    "another proposal is being signed",
                );
            }
            return Ok(());
        }
        let first = offer.calls().first().map_or(version, |u| u.state.version);
        if Some(first) != view.version.checked_add(1) {
            self.refuse(
                from,
                version,
                RefusalKind::Version,
                format!(
                    "version {first}, expected {}",
                    view.version.saturating_add(1)
                ),
            );
            return Ok(());
        }
        if self.rec.phase != Phase::Open {
            self.refuse(
                from,
                version,
                RefusalKind::Phase,
                format!("the channel is {}", self.rec.phase.name()),
            );
            return Ok(());
        }
        // A proposal its proposer has already signed cannot be withdrawn:
        // it goes first, whatever its index. (It got every party's
        // acceptance once; a party that restarted since may not remember.)
        let signed = self
            .early
            .iter()
            .any(|(who, ver, d, _)| *who == from && *ver == version && *d == digest);
        if let Some(v) = &self.vote {
            if v.proposer == from && v.digest == digest {
                self.out
                    .send
                    .push((from, Message::Accept { version, digest }));
                return Ok(());
            }
            if from > v.proposer && !signed {
                self.refuse(
                    from,
                    version,
                    RefusalKind::Crossing,
                    format!("party #{}'s proposal goes first", v.proposer),
                );
                return Ok(());
            }
        }
        if self.mine.is_some() {
            if from > self.rec.me && !signed {
                self.refuse(
                    from,
                    version,
                    RefusalKind::Crossing,
                    format!("party #{}'s proposal goes first", self.rec.me),
                );
                return Ok(());
            }
            // The lower index (or a signed proposal) goes first: withdraw
            // ours, retry it after.
            if let Some(m) = self.mine.take() {
                self.requeue(m.requests);
                self.broadcast(Message::Withdraw {
                    version: m.offer.state().version,
                });
            }
        }
        let next = match &offer {
            Offer::Call(_) | Offer::Batch { .. } => {
                // Each call as if it came alone, on the state the one
                // before it leaves.
                let abi = cx.artifact.abi();
                let mut next = view.clone();
                for update in offer.calls() {
                    let refusal = match abi.function(&update.function) {
                        None => Some(Refusal::new(
                            RefusalKind::Function,
                            format!("no function `{}`", update.function),
                        )),
                        Some((_, f)) if f.caller != from => Some(Refusal::new(
                            RefusalKind::Caller,
                            format!("`{}` is called by party #{}", update.function, f.caller),
                        )),
                        Some(_) if update.now.abs_diff(now) > self.config.max_skew => {
                            Some(Refusal::new(
                                RefusalKind::Clock,
                                format!("made at {}, the time here is {now}", update.now),
                            ))
                        }
                        Some(_) => None,
                    };
                    let checked = match refusal {
                        Some(r) => Err(r),
                        None => verify_update(cx.sandbox, cx.module, cx.artifact, &next, update)
                            .map_err(|r| Refusal::from(&r)),
                    };
                    match checked {
                        Ok(after) => next = after,
                        Err(refusal) => {
                            self.out.send.push((
                                from,
                                Message::Refuse {
                                    version,
                                    refusal: refusal.clone(),
                                },
                            ));
                            self.out.events.push(Event::Rejected { from, refusal });
                            return Ok(());
                        }
                    }
                }
                next
            }
            Offer::Close(state) => {
                let next = closed(&view);
                if *state != next.state(cx.module.abi())? {
                    self.refuse(
                        from,
                        version,
                        RefusalKind::Close,
                        "not the current state, one version on, final",
                    );
                    return Ok(());
                }
                next
            }
        };
        self.vote = Some(Box::new(Vote {
            proposer: from,
            offer,
            next,
            digest,
        }));
        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
        self.out
            .send
            .push((from, Message::Accept { version, digest }));
        self.drain_early(cx, now)
    }

    fn refuse(&mut self, to: u32, version: u64, kind: RefusalKind, detail: impl Into<String>) {
        let refusal = Refusal::new(kind, detail);
        self.out.send.push((
            to,
            Message::Refuse {
                version,
                refusal: refusal.clone(),
            },
        ));
        self.out.events.push(Event::Rejected { from: to, refusal });
    }

    fn on_accept(
        &mut self,
        cx: Contract<'_>,
        from: u32,
        version: u64,
        digest: [u8; 32],
        now: u64,
    ) -> Result<(), MachineError> {
        let n = self.rec.params.participants.len();
        let Some(m) = &mut self.mine else {
            return Ok(()); // Late: the proposal is signed or withdrawn.
        };
        let state = m.offer.state();
        if state.version != version || state.digest() != digest {
            return Ok(());
        }
        m.accepted.insert(from);
        if m.accepted.len() + 1 < n {
            return Ok(());
        }
        let Some(m) = self.mine.take() else {
            return Ok(());
        };
        let state = m.offer.state().clone();
        let sig = self.sign(&state)?;
        let mut signatures = vec![None; n];
        signatures[self.rec.me as usize] = Some(sig);
        if m.openings.is_some() {
            self.secret.next = m.openings;
        }
        self.rec.pending = Some(Box::new(Pending {
            proposer: self.rec.me,
            offer: m.offer,
            next: m.next,
            signatures,
        }));
        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
        self.step(Step::Sign);
        self.broadcast(Message::Sign {
            version,
            digest,
            signature: sig,
        });
        self.drain_early(cx, now)
    }

    fn on_refuse(&mut self, from: u32, version: u64, refusal: Refusal) {
        let Some(m) = self.mine.take_if(|m| m.offer.state().version == version) else {
            return;
        };
        self.broadcast(Message::Withdraw { version });
        self.rec.deadline = None;
        if matches!(refusal.kind, RefusalKind::Crossing | RefusalKind::Phase) {
            // Retry once the other proposal is through.
            self.requeue(m.requests);
            self.backoff = self.latest().map(|v| v.version);
        } else {
            // A batch is refused whole: each of its calls is reported.
            for u in m.offer.calls() {
                self.out.events.push(Event::Refused {
                    function: u.function.clone(),
                    by: from,
                    refusal: refusal.clone(),
                });
            }
            if matches!(m.offer, Offer::Close(_)) {
                self.out.events.push(Event::Refused {
                    function: "(close)".into(),
                    by: from,
                    refusal,
                });
            }
        }
    }

    fn on_withdraw(&mut self, from: u32, version: u64) {
        if self
            .vote
            .as_ref()
            .is_some_and(|v| v.proposer == from && v.offer.state().version == version)
        {
            self.vote = None;
            self.rec.deadline = None;
        }
        self.early
            .retain(|(who, v, ..)| !(*who == from && *v == version));
        self.backoff = None;
    }

    fn on_sign(
        &mut self,
        cx: Contract<'_>,
        from: u32,
        version: u64,
        digest: [u8; 32],
        signature: Signature,
        now: u64,
    ) -> Result<(), MachineError> {
        let f = from as usize;
        // The current view: version 0 while opening, or a resend.
        if let Some(view) = &self.rec.view
            && view.version == version
        {
            let state = view.state(cx.module.abi())?;
            if state.digest() != digest {
                self.reject(
                    from,
                    RefusalKind::Unexpected,
                    format!("a signature on another state of version {version}"),
                );
                return Ok(());
            }
            if self.rec.signatures[f].is_some() {
                return Ok(());
            }
            if let Err(e) = check_signature(&self.rec.params, &state, from, &signature) {
                self.reject(from, RefusalKind::Signature, e.to_string());
                return Ok(());
            }
            self.rec.signatures[f] = Some(signature);
            if self.rec.phase == Phase::Opening && self.latest().is_some() {
                self.opened(now);
            }
            return Ok(());
        }
        if let Some(p) = &self.rec.pending
            && p.offer.state().version == version
        {
            let state = p.offer.state().clone();
            let have = p.signatures[f].is_some();
            if state.digest() != digest {
                self.reject(
                    from,
                    RefusalKind::Unexpected,
                    format!("a signature on another state of version {version}"),
                );
                return Ok(());
            }
            if have {
                return Ok(());
            }
            if let Err(e) = check_signature(&self.rec.params, &state, from, &signature) {
                self.reject(from, RefusalKind::Signature, e.to_string());
                return Ok(());
            }
            if let Some(p) = &mut self.rec.pending {
                p.signatures[f] = Some(signature);
            }
            return self.check_complete(cx, now);
        }
        let ahead = self.rec.view.as_ref().is_none_or(|v| version > v.version);
        if !ahead {
            self.reject(
                from,
                RefusalKind::Unexpected,
                format!("a signature on stale version {version}"),
            );
            return Ok(());
        }
        // A signature on a state this party has not reached: check it is
        // the sender's, then keep it for when it gets there.
        let ok = crate::state::recover(&digest, &signature)
            .ok()
            .is_some_and(|a| self.rec.params.participants.get(f) == Some(&a));
        if !ok {
            self.reject(
                from,
                RefusalKind::Signature,
                "the signature is not the sender's",
            );
            return Ok(());
        }
        if self.early.len() >= MAX_EARLY {
            self.early.remove(0);
        }
        self.early.push((from, version, digest, signature));
        self.drain_early(cx, now)
    }

    /// Applies kept signatures that now fit: the proposer's on a state
    /// this party accepted (it countersigns), and any on its pending state
    /// or on version 0; then completes what has every signature. Every
    /// kept signature was checked on arrival (`on_sign`) to be its
    /// sender's over the digest it names.
    fn drain_early(&mut self, cx: Contract<'_>, now: u64) -> Result<(), MachineError> {
        if self.early.is_empty() {
            return self.check_complete(cx, now);
        }
        // The proposer's signature on our vote: countersign.
        if let Some(v) = &self.vote {
            let version = v.offer.state().version;
            let found = self.early.iter().position(|(who, ver, d, _)| {
                *who == v.proposer && *ver == version && *d == v.digest
            });
            if let Some(i) = found {
                let (who, _, _, sig) = self.early.remove(i);
                // Checked on arrival: `sig` is `who`'s over `v.digest`.
                if let Some(v) = self.vote.take() {
                    let state = v.offer.state().clone();
                    {
                        let mine = self.sign(&state)?;
                        let mut signatures = vec![None; self.rec.params.participants.len()];
                        signatures[who as usize] = Some(sig);
                        signatures[self.rec.me as usize] = Some(mine);
                        self.rec.pending = Some(Box::new(Pending {
                            proposer: v.proposer,
                            offer: v.offer,
                            next: v.next,
                            signatures,
                        }));
                        self.step(Step::Countersign);
                        self.broadcast(Message::Sign {
                            version,
                            digest: v.digest,
                            signature: mine,
                        });
                    }
                }
            }
        }
        let target = match (&self.rec.pending, &self.rec.view) {
            (Some(p), _) => Some((p.offer.state().version, p.offer.state().clone())),
            (None, Some(v)) if self.rec.phase == Phase::Opening => {
                Some((v.version, v.state(cx.module.abi())?))
            }
            _ => None,
        };
        if let Some((version, state)) = target {
            let digest = state.digest();
            let early = std::mem::take(&mut self.early);
            for (who, ver, d, sig) in early {
                if ver != version {
                    if ver > version {
                        self.early.push((who, ver, d, sig));
                    }
                    continue;
                }
                // Checked on arrival: `sig` is `who`'s over `d`.
                if d != digest {
                    continue;
                }
                let slot = match &mut self.rec.pending {
                    Some(p) => &mut p.signatures[who as usize],
                    None => &mut self.rec.signatures[who as usize],
                };
                slot.get_or_insert(sig);
            }
        }
        self.check_complete(cx, now)
    }

    /// Version 0 has every signature: deposit.
    fn opened(&mut self, now: u64) {
        self.rec.phase = Phase::Funding;
        self.step(Step::Deposit);
        self.out.events.push(Event::Opened);
        let me = self.rec.me as usize;
        let owed = self.rec.deposits[me].saturating_sub(self.rec.funded[me]);
        if owed > 0 {
            self.out.anchor.push(AnchorCall::Deposit {
                party: self.rec.me,
                amount: owed,
            });
        }
        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
        if self
            .rec
            .funded
            .iter()
            .zip(&self.rec.deposits)
            .all(|(f, d)| f >= d)
        {
            self.rec.phase = Phase::Open;
            self.rec.deadline = None;
            self.step(Step::Funded);
            self.out.events.push(Event::Funded);
        }
    }

    /// Moves to the pending state once it has every signature.
    fn check_complete(&mut self, cx: Contract<'_>, now: u64) -> Result<(), MachineError> {
        if self.rec.phase == Phase::Opening {
            if self.latest().is_some() {
                self.opened(now);
            }
            return Ok(());
        }
        if !self
            .rec
            .pending
            .as_ref()
            .is_some_and(|p| p.signatures.iter().all(Option::is_some))
        {
            return Ok(());
        }
        let Some(p) = self.rec.pending.take() else {
            return Ok(());
        };
        let version = p.next.version;
        let finished = p.next.finished;
        let calls = p.offer.calls();
        if calls.is_empty() {
            self.out.events.push(Event::Updated {
                version,
                function: p.offer.function().to_owned(),
                proposer: p.proposer,
            });
        }
        for u in calls {
            self.out.events.push(Event::Updated {
                version: u.state.version,
                function: u.function.clone(),
                proposer: p.proposer,
            });
        }
        self.rec.view = Some(p.next);
        self.rec.signatures = p.signatures;
        if let Some(next) = self.secret.next.take() {
            self.secret.openings = next;
        }
        self.signed = self.signed.split_off(&version);
        self.early.retain(|(_, v, ..)| *v > version);
        self.rec.deadline = None;
        self.backoff = None;
        self.step(Step::Complete);
        if finished {
            // No call follows a final state.
            self.later.clear();
            self.fail_queued("the contract finished");
        }
        for (from, offer) in std::mem::take(&mut self.later) {
            self.on_propose(cx, from, offer, now)?;
        }
        if finished && matches!(self.rec.phase, Phase::Open | Phase::Closing) {
            if p.proposer == self.rec.me {
                self.conclude(cx, now)?;
            } else {
                // The proposer concludes; if it does not, we do.
                self.rec.phase = Phase::Closing;
                self.rec.deadline = Some(now.saturating_add(self.config.timeout));
            }
        }
        Ok(())
    }

    fn on_reveal(&mut self, from: u32, field: u32, opening: &Opening) {
        let Some(view) = self.latest() else {
            self.reject(from, RefusalKind::Reveal, "no fully signed state yet");
            return;
        };
        let owner = view
            .params
            .participants
            .get(from as usize)
            .and(self.rec.commitments.get(from as usize))
            .and_then(|c| c.as_ref())
            .is_some_and(|c| c.contains_key(&field));
        let Some(c) = view.commitments.get(&field).filter(|_| owner) else {
            self.reject(
                from,
                RefusalKind::Reveal,
                format!("field #{field} is not a private field of party #{from}"),
            );
            return;
        };
        if !opening.opens(c) {
            self.reject(
                from,
                RefusalKind::Reveal,
                format!("the opening does not open field #{field}'s commitment"),
            );
            return;
        }
        let value = opening.value();
        if self.rec.revealed.insert(field, value) != Some(value) {
            self.step(Step::Revealed);
        }
        self.out.events.push(Event::Revealed {
            field,
            value,
            by: from,
        });
    }

    // ---- proposing ----

    /// Whether this party may propose now.
    fn ready(&self) -> bool {
        self.rec.phase == Phase::Open
            && self.mine.is_none()
            && self.vote.is_none()
            && self.rec.pending.is_none()
            && self.latest().is_some()
            && self.backoff != self.latest().map(|v| v.version)
    }

    /// Puts withdrawn requests back at the front of the queue, in order.
    fn requeue(&mut self, requests: Vec<Request>) {
        for r in requests.into_iter().rev() {
            self.queue.push_front(r);
        }
    }

    /// Proposes queued requests while nothing else is outstanding: a
    /// close alone, or up to [`MAX_BATCH`] calls in one offer.
    fn pump<R: RngCore + CryptoRng>(&mut self, cx: Contract<'_>, now: u64, rng: &mut R) {
        while self.ready() {
            let mut requests = Vec::new();
            while requests.len() < MAX_BATCH {
                match self.queue.front() {
                    Some(Request::Close) if requests.is_empty() => {
                        requests.extend(self.queue.pop_front());
                        break;
                    }
                    Some(Request::Call { .. }) => requests.extend(self.queue.pop_front()),
                    _ => break,
                }
            }
            if requests.is_empty() {
                return;
            }
            let function = match requests.as_slice() {
                [Request::Call { function, .. }] => function.clone(),
                [Request::Close] => "(close)".into(),
                _ => "(batch)".into(),
            };
            if let Err(e) = self.make_offer(cx, requests, now, rng) {
                self.out.events.push(Event::CallFailed {
                    function,
                    error: e.to_string(),
                });
            }
        }
    }

    /// Proposes `requests`: a close, or calls run one after the other on
    /// the state each leaves. With one call, its failure is the error;
    /// in a batch, a call that fails is reported and left out.
    fn make_offer<R: RngCore + CryptoRng>(
        &mut self,
        cx: Contract<'_>,
        requests: Vec<Request>,
        now: u64,
        rng: &mut R,
    ) -> Result<(), MachineError> {
        let Some(view) = self.latest().cloned() else {
            return Err(MachineError::Phase(
                self.rec.phase.name(),
                "nothing is signed yet",
            ));
        };
        if let [Request::Close] = requests.as_slice() {
            let next = closed(&view);
            let offer = Offer::Close(next.state(cx.module.abi())?);
            return self.send_offer(requests, offer, next, None, now);
        }
        let alone = requests.len() == 1;
        let mut next = view;
        let mut openings = self.secret.openings.clone();
        let mut updates = Vec::with_capacity(requests.len());
        let mut kept = Vec::with_capacity(requests.len());
        for request in requests {
            let Request::Call { function, args } = &request else {
                continue;
            };
            match propose(
                cx.sandbox,
                cx.module,
                cx.artifact,
                &next,
                &openings,
                function,
                args.clone(),
                now,
                rng,
            ) {
                Ok(p) => {
                    updates.push(p.update);
                    next = p.view;
                    openings = p.openings;
                    kept.push(request);
                }
                Err(e) if alone => return Err(e.into()),
                Err(e) => self.out.events.push(Event::CallFailed {
                    function: function.clone(),
                    error: e.to_string(),
                }),
            }
        }
        let Some(last) = updates.pop() else {
            return Ok(());
        };
        let offer = if updates.is_empty() {
            Offer::Call(last)
        } else {
            Offer::Batch {
                earlier: updates,
                last,
            }
        };
        self.send_offer(kept, offer, next, Some(openings), now)
    }

    fn send_offer(
        &mut self,
        requests: Vec<Request>,
        offer: Offer,
        next: ChannelView,
        openings: Option<BTreeMap<u32, Opening>>,
        now: u64,
    ) -> Result<(), MachineError> {
        self.broadcast(Message::Propose(offer.clone()));
        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
        self.mine = Some(Box::new(Mine {
            requests,
            offer,
            next,
            openings,
            accepted: BTreeSet::new(),
        }));
        Ok(())
    }

    // ---- chain ----

    fn conclude(&mut self, cx: Contract<'_>, now: u64) -> Result<(), MachineError> {
        let Some((state, signatures)) = self.latest_signed(cx)? else {
            return Ok(());
        };
        self.rec.phase = Phase::Closing;
        self.rec.deadline = Some(now.saturating_add(self.config.timeout));
        self.step(Step::Conclude);
        self.out
            .anchor
            .push(AnchorCall::Conclude { state, signatures });
        Ok(())
    }

    fn start_dispute(&mut self, cx: Contract<'_>) -> Result<(), MachineError> {
        self.enter_dispute();
        self.step(Step::Dispute);
        self.register(cx)?;
        let version = self.latest().map_or(0, |v| v.version);
        self.out.events.push(Event::Disputing { version });
        Ok(())
    }

    /// Leaves the update protocol: a dispute (or settlement) freezes the
    /// channel.
    fn enter_dispute(&mut self) {
        if self.rec.phase != Phase::Closed {
            self.rec.phase = Phase::Disputing;
        }
        if self.mine.take().is_some() || self.vote.take().is_some() {
            self.rec.deadline = None;
        }
        self.fail_queued("the channel is in dispute");
    }

    /// Drops every queued request, reporting each.
    fn fail_queued(&mut self, why: &str) {
        for r in self.queue.drain(..) {
            let function = match r {
                Request::Call { function, .. } => function,
                Request::Close => "(close)".into(),
            };
            self.out.events.push(Event::CallFailed {
                function,
                error: why.to_owned(),
            });
        }
    }

    fn register(&mut self, cx: Contract<'_>) -> Result<(), MachineError> {
        if let Some((state, signatures)) = self.latest_signed(cx)? {
            self.out
                .anchor
                .push(AnchorCall::Register { state, signatures });
        }
        Ok(())
    }

    // ---- plumbing ----

    fn peers(&self) -> Vec<u32> {
        (0..self.rec.params.participants.len())
            .filter_map(|i| u32::try_from(i).ok())
            .filter(|i| *i != self.rec.me)
            .collect()
    }

    fn broadcast(&mut self, m: Message) {
        for to in self.peers() {
            self.out.send.push((to, m.clone()));
        }
    }

    fn step(&mut self, step: Step) {
        self.out.steps.push(step);
    }

    /// Signs `state`, keeping the signing record.
    fn sign(&mut self, state: &State) -> Result<Signature, MachineError> {
        let digest = state.digest();
        match self.signed.get(&state.version) {
            Some(d) if *d != digest => return Err(MachineError::DoubleSign(state.version)),
            Some(_) => {}
            None => {
                self.signed.insert(state.version, digest);
                self.fresh.push((state.version, digest));
            }
        }
        Ok(self.key.sign(&digest))
    }

    /// What a peer that restarted may have missed from this party.
    fn catch_up(&self, cx: Contract<'_>) -> Result<Vec<Message>, MachineError> {
        let me = self.rec.me as usize;
        let mut out = Vec::new();
        if self.rec.phase == Phase::Opening
            && let Some(commitments) = self.rec.commitments[me].clone()
        {
            out.push(Message::Open {
                commitments,
                proof: self.rec.my_proof.as_deref().cloned(),
            });
        }
        if let (Some(view), Some(sig)) = (&self.rec.view, self.rec.signatures[me]) {
            out.push(Message::Sign {
                version: view.version,
                digest: view.state(cx.module.abi())?.digest(),
                signature: sig,
            });
        }
        if let Some(p) = &self.rec.pending {
            // The signature first: a peer that meets the proposal after it
            // knows the proposal is signed and lets it go first.
            if let Some(sig) = p.signatures[me] {
                out.push(Message::Sign {
                    version: p.offer.state().version,
                    digest: p.offer.state().digest(),
                    signature: sig,
                });
            }
            if p.proposer == self.rec.me {
                out.push(Message::Propose(p.offer.clone()));
            }
        }
        if let Some(m) = &self.mine {
            out.push(Message::Propose(m.offer.clone()));
        }
        Ok(out)
    }

    /// Closes the input: the snapshot, if anything durable changed.
    fn finish(&mut self) -> Result<Output, MachineError> {
        party_output(self)
    }
}

/// Refuses a stored record whose per-party lists do not have one entry
/// per participant: it decoded, but the machine indexes them by party.
fn check_record(rec: &Record) -> Result<(), MachineError> {
    let n = rec.params.participants.len();
    let pending = rec.pending.as_ref().map_or(n, |p| p.signatures.len());
    let lengths = [
        rec.deposits.len(),
        rec.commitments.len(),
        rec.signatures.len(),
        rec.funded.len(),
        pending,
    ];
    if n < 2 || (rec.me as usize) >= n || lengths.iter().any(|l| *l != n) {
        return Err(MachineError::Setup(format!(
            "the stored record is inconsistent: {n} participants, party #{}, per-party lists of {lengths:?}",
            rec.me
        )));
    }
    Ok(())
}

/// The view `view` closes to: the same contract state, one version on,
/// final, paying the live allocation (what the contract holds for each
/// party now; the signed one is what a silence would pay, and nobody is
/// silent in a cooperative close).
fn closed(view: &ChannelView) -> ChannelView {
    ChannelView {
        version: view.version.saturating_add(1),
        finished: true,
        signed: view.live.clone(),
        ..view.clone()
    }
}

fn party_output(p: &mut Party) -> Result<Output, MachineError> {
    let mut out = std::mem::take(&mut p.out);
    if !out.steps.is_empty() {
        out.persist = Some(Snapshot {
            channel_id: p.rec.params.channel_id(),
            version: p.latest().map_or(0, |v| v.version),
            record: wire::encode_record(&p.rec),
            secret: wire::encode_secret(&p.secret),
            signed: std::mem::take(&mut p.fresh),
            // Only a completion that releases nothing may wait for the next
            // flush: a restarted party learns the completed state again
            // from its peers (their `Sign` on it answers its `Resync`).
            durable: out.steps.iter().any(|s| *s != Step::Complete)
                || !out.anchor.is_empty()
                || out
                    .send
                    .iter()
                    .any(|(_, m)| matches!(m, Message::Sign { .. })),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Every open channel keeps a party; an idle one holds no proposal.
    /// The proposals (over a kilobyte inline each, mostly a proof) are
    /// boxed so an idle party stays small: the node's memory per idle
    /// channel (`sotto bench channel`, `tcp_idle_channel_memory`) counts
    /// it. It was 6,768 bytes with them inline.
    #[test]
    fn an_idle_party_is_small() {
        let party = std::mem::size_of::<super::Party>();
        assert!(party <= 1536, "a Party is {party} bytes inline");
        let record = std::mem::size_of::<crate::channel::record::Record>();
        assert!(record <= 1024, "a Record is {record} bytes inline");
    }
}
