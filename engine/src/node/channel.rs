//! One channel's task: its [`Party`] state machine and the driver around it.
//!
//! The task is the only owner of its party. It takes one input at a time
//! (a peer's message, a chain event, a request of the node's user, the
//! passing of time), runs the machine, and then follows the machine's rule:
//! commit the step's snapshot to the store, and only then send its
//! messages and submit its chain calls. A commit that fails, or a machine
//! error, drops the party and restores it from the store, as a restarted
//! node would.
//!
//! The machine's work (re-executing a call in the sandbox, making or
//! checking proofs, an `fsync`) runs on the task's worker thread inside
//! `block_in_place`, so the runtime moves its other tasks elsewhere
//! meanwhile: one channel's proof does not hold up another channel's
//! messages.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use sotto_contracts::Artifact;
use sotto_contracts::abi::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::chain::ChainHandle;
use super::events::EventLog;
use super::peers::Peers;
use crate::channel::machine::{Config, Contract, Event, MachineError, Output, Party};
use crate::channel::wire::encode_peer;
use crate::channel::{Message, PeerMessage};
use crate::sandbox::{LoadedModule, Sandbox};
use crate::state::{Address, ChannelParams, Signature, SigningKey, State};
use crate::store::{SqliteStore, Store as _, hex};

/// A contract, loaded once per node and shared by its channels.
pub(crate) struct LoadedContract {
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) module: LoadedModule,
    pub(crate) artifact: Artifact,
    /// The node's one gate into the sandbox (see [`Gate`]).
    pub(crate) gate: Arc<Gate>,
}

/// How many channels may run the machine at once. The sandbox's pool holds
/// `max_concurrent_calls` instances and refuses one more (the call fails,
/// and a queued call is lost); a channel task runs its machine in
/// `block_in_place`, so more channels than worker threads can be inside it
/// at once. The gate keeps them under the pool's size: half of it, as an
/// owner's call runs its witness part and its public part.
pub(crate) struct Gate {
    free: Mutex<u32>,
    freed: std::sync::Condvar,
}

impl Gate {
    /// A gate for a sandbox that holds `instances` at once.
    pub(crate) fn new(instances: u32) -> Self {
        Gate {
            free: Mutex::new((instances / 2).max(1)),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Runs `f` once a place is free, off the runtime's workers.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        blocking(|| {
            let mut free = self
                .free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while *free == 0 {
                free = self
                    .freed
                    .wait(free)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *free -= 1;
            drop(free);
            // Given back however `f` ends (a panic included).
            struct Release<'a>(&'a Gate);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    let mut free = self
                        .0
                        .free
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *free += 1;
                    self.0.freed.notify_one();
                }
            }
            let _release = Release(self);
            f()
        })
    }
}

impl LoadedContract {
    pub(crate) fn cx(&self) -> Contract<'_> {
        Contract {
            sandbox: &self.sandbox,
            module: &self.module,
            artifact: &self.artifact,
        }
    }
}

/// A request of the node's user to one channel.
#[derive(Debug)]
pub(crate) enum Op {
    Call { function: String, args: Vec<Value> },
    Reveal { field: u32 },
    Close,
    Dispute,
}

/// A channel's parameters, its latest fully signed state, and every
/// participant's signature on it.
pub type Signed = (ChannelParams, State, Vec<Signature>);

/// What a channel task takes.
pub(crate) enum Input {
    /// A protocol message from party `from` (boxed: a channel's inbox
    /// allocates its slots up front, and a message is over 1 KiB inline).
    Peer { from: u32, message: Box<Message> },
    /// The connection to party `party`'s node came up (again).
    Reconnected { party: u32 },
    /// A user request, answered on `reply`.
    Op {
        op: Op,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The latest fully signed state and its signatures, if any.
    Signed {
        reply: oneshot::Sender<Result<Option<Signed>, String>>,
    },
}

/// What a channel shows its user (`sotto channel status`). Private values
/// are this party's own: a node shows them to its user, never to a peer or
/// a log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChannelStatus {
    /// The channel id, hex.
    pub channel_id: String,
    /// The contract's name.
    pub contract: String,
    /// This node's party.
    pub me: String,
    /// The parties, in order.
    pub parties: Vec<String>,
    /// Their addresses, in order.
    pub participants: Vec<String>,
    /// The phase: opening, funding, open, closing, disputing, closed.
    pub phase: String,
    /// The latest fully signed version.
    pub version: Option<u64>,
    /// What the latest fully signed state pays each party.
    pub allocation: Vec<u64>,
    /// The agreed deposits.
    pub deposits: Vec<u64>,
    /// The deposits confirmed on chain.
    pub funded: Vec<u64>,
    /// Whether the contract finished.
    pub finished: bool,
    /// Whether nothing is outstanding (no proposal, no queued call).
    pub idle: bool,
    /// The public state, by field name.
    pub public: BTreeMap<String, serde_json::Value>,
    /// This party's private values, by field name.
    pub private: BTreeMap<String, u64>,
    /// Values other parties revealed, by field name.
    pub revealed: BTreeMap<String, u64>,
    /// The version registered on chain, during a dispute.
    pub registered: Option<u64>,
    /// The settled allocation.
    pub concluded: Option<Vec<u64>>,
    /// What this party was paid.
    pub withdrawn: Option<u64>,
    /// Proposals of this party refused, calls that failed, chain calls
    /// refused: how many so far.
    pub failures: u64,
    /// The last of those, in words.
    pub last_failure: Option<String>,
    /// Protocol messages this node sent for the channel (since it started).
    pub sent_messages: u64,
    /// Their bytes, as framed for the transport (before encryption).
    pub sent_bytes: u64,
}

/// A JSON form of a contract value.
pub(crate) fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::U64(x) => serde_json::Value::from(*x),
        Value::Bool(b) => serde_json::Value::from(*b),
        Value::Bytes32(b) => serde_json::Value::from(format!("0x{}", hex(b))),
        Value::Party(p) => serde_json::Value::from(*p),
    }
}

/// The channel's task state.
pub(crate) struct ChannelTask {
    pub(crate) id: [u8; 32],
    /// Boxed: the machine is several KiB inline, and the task's future
    /// would otherwise carry it across every await.
    pub(crate) party: Option<Box<Party>>,
    pub(crate) key: SigningKey,
    pub(crate) config: Config,
    pub(crate) contract: Arc<LoadedContract>,
    pub(crate) store: Arc<Mutex<SqliteStore>>,
    pub(crate) chain: ChainHandle,
    pub(crate) peers: Arc<Peers>,
    pub(crate) events: Arc<EventLog>,
    pub(crate) status: watch::Sender<ChannelStatus>,
    pub(crate) rng: StdRng,
    pub(crate) failures: u64,
    pub(crate) last_failure: Option<String>,
    pub(crate) withdrawn: Option<u64>,
    /// Messages and bytes sent.
    pub(crate) sent: (u64, u64),
    /// How long the machine took over the step being applied.
    pub(crate) step_time: Duration,
    /// A peer's proposal with proofs being checked: its version and the
    /// proofs' bytes.
    pub(crate) checking: Option<(u64, usize)>,
}

impl ChannelTask {
    /// A task for `party`, publishing its status on a new watch channel.
    #[allow(
        clippy::too_many_arguments,
        reason = "a channel task owns each of these"
    )]
    pub(crate) fn new(
        party: Party,
        key: SigningKey,
        config: Config,
        contract: Arc<LoadedContract>,
        store: Arc<Mutex<SqliteStore>>,
        chain: ChainHandle,
        peers: Arc<Peers>,
        events: Arc<EventLog>,
    ) -> (Self, watch::Receiver<ChannelStatus>) {
        let id = party.record().params.channel_id();
        let first = status_of(&party, &contract.artifact);
        let (status, rx) = watch::channel(first);
        let task = ChannelTask {
            id,
            party: Some(Box::new(party)),
            key,
            config,
            contract,
            store,
            chain,
            peers,
            events,
            status,
            rng: StdRng::from_entropy(),
            failures: 0,
            last_failure: None,
            withdrawn: None,
            sent: (0, 0),
            step_time: Duration::ZERO,
            checking: None,
        };
        (task, rx)
    }

    /// Runs the channel until the node drops its inbox. `first`: the
    /// output of opening the channel (a new channel), or `None` for a
    /// channel restored from the store (it resumes once the chain's events
    /// so far are replayed).
    ///
    /// The task lives as long as the channel, and its allocation is the
    /// size of this future's largest state: every input's work is boxed
    /// (allocated while it runs, freed after), so an idle channel does not
    /// keep room for the largest step's locals (the task was 4,992 bytes
    /// with them inline, 2,048 without).
    pub(crate) async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Box<Input>>,
        first: Option<Output>,
    ) {
        let (chain_tx, mut chain_rx) = mpsc::unbounded_channel();
        match self.chain.watch(self.id, chain_tx).await {
            Ok(past) => {
                for event in past {
                    Box::pin(self.input(|p, cx, now, rng| p.chain(cx, event, now, rng))).await;
                }
            }
            Err(e) => self.failure(format!("reading the chain: {e}")),
        }
        match first {
            Some(out) => {
                if !Box::pin(self.apply(out)).await {
                    Box::pin(self.reload()).await;
                }
            }
            None => {
                Box::pin(self.input(|p, cx, now, rng| p.resume(cx, now, rng))).await;
            }
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                input = inbox.recv() => match input {
                    Some(input) => Box::pin(self.take(*input)).await,
                    None => break,
                },
                Some(event) = chain_rx.recv() => {
                    Box::pin(self.input(|p, cx, now, rng| p.chain(cx, *event, now, rng))).await;
                }
                _ = tick.tick() => {
                    Box::pin(self.input(|p, cx, now, rng| p.tick(cx, now, rng))).await;
                }
            }
        }
        self.chain.unwatch(self.id);
    }

    async fn take(&mut self, input: Input) {
        match input {
            Input::Peer { from, message } => {
                self.checking = match &*message {
                    Message::Propose(offer) => {
                        let bytes: usize = offer
                            .calls()
                            .iter()
                            .filter_map(|u| u.proof.as_ref())
                            .map(|p| p.encode().len())
                            .sum();
                        (bytes > 0).then(|| (offer.state().version, bytes))
                    }
                    _ => None,
                };
                self.input(|p, cx, now, rng| p.handle(cx, from, *message, now, rng))
                    .await;
                self.checking = None;
            }
            Input::Reconnected { party } => {
                self.input(|p, cx, now, rng| p.reconnected(cx, party, now, rng))
                    .await;
            }
            Input::Op { op, reply } => {
                let result = self.op(op).await;
                let _ = reply.send(result);
            }
            Input::Signed { reply } => {
                let contract = self.contract.clone();
                let result = match self.party.as_deref() {
                    Some(p) => p
                        .latest_signed(contract.cx())
                        .map(|s| s.map(|(state, sigs)| (p.record().params.clone(), state, sigs)))
                        .map_err(|e| e.to_string()),
                    None => Err("the channel is restarting; try again".into()),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// A user request: its local refusal (the contract's reason, a wrong
    /// phase) goes back to the user, and changes nothing.
    async fn op(&mut self, op: Op) -> Result<(), String> {
        let now = self.chain.now();
        let contract = self.contract.clone();
        let Some(party) = self.party.as_deref_mut() else {
            return Err("the channel is restarting; try again".into());
        };
        let cx = contract.cx();
        let rng = &mut self.rng;
        let started = Instant::now();
        let result = contract.gate.run(|| match op {
            Op::Call { function, args } => party.call(cx, &function, args, now, rng),
            Op::Reveal { field } => party.reveal(field),
            Op::Close => party.close(cx, now, rng),
            Op::Dispute => party.dispute(cx),
        });
        self.step_time = started.elapsed();
        match result {
            Ok(out) => {
                if !self.apply(out).await {
                    self.reload().await;
                    return Err("the store failed; the channel was restored from it".into());
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Runs one input through the machine and drives its output; on a
    /// failure, restores the party from the store.
    async fn input(
        &mut self,
        f: impl FnOnce(&mut Party, Contract<'_>, u64, &mut StdRng) -> Result<Output, MachineError>,
    ) {
        if self.party.is_none() {
            // Down after a failed restore: try again first.
            self.reload().await;
        }
        if !self.step(f).await {
            self.reload().await;
        }
    }

    /// One input through the machine and its output driven; `false` if
    /// the machine or the store failed (the failure is reported).
    async fn step(
        &mut self,
        f: impl FnOnce(&mut Party, Contract<'_>, u64, &mut StdRng) -> Result<Output, MachineError>,
    ) -> bool {
        let now = self.chain.now();
        let contract = self.contract.clone();
        let Some(party) = self.party.as_deref_mut() else {
            return false;
        };
        let rng = &mut self.rng;
        let started = Instant::now();
        let result = contract.gate.run(|| f(party, contract.cx(), now, rng));
        self.step_time = started.elapsed();
        match result {
            Ok(out) => self.apply(out).await,
            Err(e) => {
                tracing::error!(channel = %short(&self.id), error = %e, "the channel's machine failed; restoring it from the store");
                self.failure(format!("the machine failed: {e}"));
                false
            }
        }
    }

    /// Commits, then sends, then submits; then reports. `false` if the
    /// commit failed: then nothing was sent or submitted.
    async fn apply(&mut self, out: Output) -> bool {
        if let Some(snapshot) = &out.persist {
            let committed = blocking(|| match self.store.lock() {
                Ok(mut store) => store.commit(snapshot).map_err(|e| e.to_string()),
                Err(_) => Err("the store's lock is poisoned".to_owned()),
            });
            if let Err(e) = committed {
                tracing::error!(channel = %short(&self.id), error = %e, "a commit failed; nothing of the step was sent");
                self.failure(format!("the store failed: {e}"));
                return false;
            }
        }
        let Some(params) = self.party.as_ref().map(|p| p.record().params.clone()) else {
            return false;
        };
        self.measure(&out);
        let participants = &params.participants;
        for (to, message) in out.send {
            let Some(address) = participants.get(to as usize) else {
                continue;
            };
            let frame = encode_peer(&PeerMessage::Channel {
                channel_id: self.id,
                message: Box::new(message),
            });
            self.sent.0 += 1;
            self.sent.1 += frame.len() as u64;
            self.peers.send(*address, frame);
        }
        for call in &out.anchor {
            match self.chain.submit(&params, call).await {
                Ok(receipt) => {
                    self.events.push(
                        Some(self.id),
                        "chain",
                        serde_json::json!({
                            "call": call.name(),
                            "gas": receipt.gas,
                            "calldata_bytes": receipt.calldata_bytes,
                        }),
                        format!(
                            "{} on chain{}",
                            call.name(),
                            receipt
                                .gas
                                .map(|g| format!(" ({g} gas)"))
                                .unwrap_or_default()
                        ),
                    );
                }
                Err(e) => {
                    self.failure(format!("the chain refused {}: {e}", call.name()));
                }
            }
        }
        for event in out.events {
            self.report(event);
        }
        self.publish();
        true
    }

    /// Restores the party from the store, as a restarted node would:
    /// replays the chain's events and resumes. A step that fails on the
    /// way leaves the channel down; the next tick tries again.
    async fn reload(&mut self) {
        self.party = None;
        let loaded = match self.store.lock() {
            Ok(store) => store.load(&self.id),
            Err(_) => Ok(None),
        };
        let party = match loaded {
            Ok(Some(l)) => Party::restore(self.key.duplicate(), self.config, &l),
            Ok(None) => return,
            Err(e) => {
                self.failure(format!("the store does not load: {e}"));
                return;
            }
        };
        match party {
            Ok(p) => self.party = Some(Box::new(p)),
            Err(e) => {
                self.failure(format!("the stored channel does not restore: {e}"));
                return;
            }
        }
        let past = match self.chain.events(self.id).await {
            Ok(past) => past,
            Err(e) => {
                self.failure(format!("reading the chain: {e}"));
                self.party = None;
                return;
            }
        };
        for event in past {
            if !self
                .step(|p, cx, now, rng| p.chain(cx, event, now, rng))
                .await
            {
                self.party = None;
                return;
            }
        }
        if !self.step(|p, cx, now, rng| p.resume(cx, now, rng)).await {
            self.party = None;
        }
        self.publish();
    }

    /// Reports the proofs a step made (a proposal of this party's) or
    /// checked (a peer's proposal this party accepted), with the time the
    /// machine took over the step: the report of `sotto run` reads these.
    fn measure(&mut self, out: &Output) {
        let took = std::mem::take(&mut self.step_time);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let made = out.send.iter().find_map(|(_, m)| match m {
            Message::Propose(offer) => {
                let bytes: Vec<usize> = offer
                    .calls()
                    .iter()
                    .filter_map(|u| u.proof.as_ref())
                    .map(|p| p.encode().len())
                    .collect();
                (!bytes.is_empty()).then(|| (offer.state().version, bytes))
            }
            _ => None,
        });
        if let Some((version, bytes)) = made {
            self.events.push(
                Some(self.id),
                "proof",
                serde_json::json!({ "version": version, "bytes": bytes, "micros": micros }),
                format!("v{version}: {} proof(s) made in {took:.1?}", bytes.len()),
            );
        }
        if let Some((version, bytes)) = self.checking.take()
            && out
                .send
                .iter()
                .any(|(_, m)| matches!(m, Message::Accept { version: v, .. } if *v == version))
        {
            self.events.push(
                Some(self.id),
                "checked",
                serde_json::json!({ "version": version, "bytes": bytes, "micros": micros }),
                format!("v{version}: the proposal's proofs verified in {took:.1?}"),
            );
        }
    }

    fn failure(&mut self, what: String) {
        self.failures += 1;
        self.events.push(
            Some(self.id),
            "failure",
            serde_json::json!({ "what": what }),
            what.clone(),
        );
        self.last_failure = Some(what);
        self.publish();
    }

    /// An event of the machine: to the node's event log and the logs (no
    /// private value in a log line).
    fn report(&mut self, event: Event) {
        let abi = self.contract.artifact.abi();
        let party_name = |i: u32| {
            abi.parties
                .get(i as usize)
                .cloned()
                .unwrap_or_else(|| format!("#{i}"))
        };
        let (kind, detail, text) = match &event {
            Event::Opened => (
                "opened",
                serde_json::json!({}),
                "version 0 signed by every party".to_owned(),
            ),
            Event::Funded => (
                "funded",
                serde_json::json!({}),
                "every deposit confirmed: the channel is open".to_owned(),
            ),
            Event::Updated {
                version,
                function,
                proposer,
            } => (
                "updated",
                serde_json::json!({ "version": version, "function": function, "proposer": party_name(*proposer) }),
                format!("v{version}: {function} by {}", party_name(*proposer)),
            ),
            Event::Refused {
                function,
                by,
                refusal,
            } => {
                self.failures += 1;
                let text = format!("{function} refused by {}: {}", party_name(*by), refusal);
                self.last_failure = Some(text.clone());
                (
                    "refused",
                    serde_json::json!({ "function": function, "by": party_name(*by), "reason": refusal.to_string() }),
                    text,
                )
            }
            Event::CallFailed { function, error } => {
                self.failures += 1;
                let text = format!("{function} failed: {error}");
                self.last_failure = Some(text.clone());
                (
                    "call_failed",
                    serde_json::json!({ "function": function, "error": error }),
                    text,
                )
            }
            Event::Rejected { from, refusal } => (
                "rejected",
                serde_json::json!({ "from": party_name(*from), "reason": refusal.to_string() }),
                format!(
                    "a message from {} was rejected: {refusal}",
                    party_name(*from)
                ),
            ),
            Event::Revealed { field, value, by } => {
                let name = abi
                    .fields
                    .get(*field as usize)
                    .map_or_else(|| format!("#{field}"), |f| f.name.clone());
                (
                    "revealed",
                    serde_json::json!({ "field": name, "value": value, "by": party_name(*by) }),
                    format!("{} revealed {name}", party_name(*by)),
                )
            }
            Event::Disputing { version } => (
                "disputing",
                serde_json::json!({ "version": version }),
                format!("version {version} is registered on chain"),
            ),
            Event::Concluded { allocation } => (
                "concluded",
                serde_json::json!({ "allocation": allocation }),
                format!("settled on chain: {allocation:?}"),
            ),
            Event::Withdrawn { amount } => {
                self.withdrawn = Some(*amount);
                (
                    "withdrawn",
                    serde_json::json!({ "amount": amount }),
                    format!("withdrew {amount}"),
                )
            }
            Event::Abandoned => (
                "abandoned",
                serde_json::json!({}),
                "the opening timed out before any deposit".to_owned(),
            ),
        };
        // The log line carries the text, which names no private value (a
        // revealed value is in the event log only).
        tracing::info!(channel = %short(&self.id), "{text}");
        self.events.push(Some(self.id), kind, detail, text);
    }

    fn publish(&self) {
        if let Some(p) = &self.party {
            let status = ChannelStatus {
                failures: self.failures,
                last_failure: self.last_failure.clone(),
                withdrawn: self.withdrawn,
                sent_messages: self.sent.0,
                sent_bytes: self.sent.1,
                ..status_of(p, &self.contract.artifact)
            };
            self.status.send_if_modified(|current| {
                let changed = *current != status;
                if changed {
                    *current = status;
                }
                changed
            });
        }
    }
}

/// The status of `party` as its record shows it (see [`ChannelStatus`]);
/// what only the task knows (failures, the amount withdrawn) left empty.
pub(crate) fn status_of(party: &Party, artifact: &Artifact) -> ChannelStatus {
    let abi = artifact.abi();
    let rec = party.record();
    let name = |i: usize| {
        abi.parties
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    };
    let latest = party.latest();
    let field_name = |i: u32| {
        abi.fields
            .get(i as usize)
            .map_or_else(|| format!("#{i}"), |f| f.name.clone())
    };
    let mut public = BTreeMap::new();
    if let Some(view) = latest {
        let public_fields = abi.fields.iter().filter(|f| f.owner.is_none());
        for (f, v) in public_fields.zip(&view.public) {
            public.insert(f.name.clone(), value_json(v));
        }
    }
    ChannelStatus {
        channel_id: hex(&rec.params.channel_id()),
        contract: abi.name.clone(),
        me: name(rec.me as usize),
        parties: abi.parties.clone(),
        participants: rec
            .params
            .participants
            .iter()
            .map(|a| format!("0x{}", hex(&a.0)))
            .collect(),
        phase: rec.phase.name().to_owned(),
        version: latest.map(|v| v.version),
        allocation: latest.map(|v| v.signed.clone()).unwrap_or_default(),
        deposits: rec.deposits.clone(),
        funded: rec.funded.clone(),
        finished: latest.is_some_and(|v| v.finished),
        idle: party.idle(),
        public,
        private: party
            .openings()
            .iter()
            .map(|(f, o)| (field_name(*f), o.value()))
            .collect(),
        revealed: rec
            .revealed
            .iter()
            .map(|(f, v)| (field_name(*f), *v))
            .collect(),
        registered: rec.registered.as_ref().map(|(s, _)| s.version),
        concluded: rec.concluded.clone(),
        withdrawn: None,
        failures: 0,
        last_failure: None,
        sent_messages: 0,
        sent_bytes: 0,
    }
}

/// Runs CPU- or disk-bound work without starving the runtime's other
/// tasks (on a multi-threaded runtime; on a current-thread one, inline).
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The first 8 bytes of a channel id, hex: enough to tell channels apart
/// in a log.
pub(crate) fn short(id: &[u8; 32]) -> String {
    hex(&id[..8])
}

/// Party `address`'s index among `participants`.
pub(crate) fn index_of(participants: &[Address], address: &Address) -> Option<u32> {
    participants
        .iter()
        .position(|a| a == address)
        .and_then(|i| u32::try_from(i).ok())
}
