//! Every party of a channel in one process, driven message by message: the
//! shared harness of the protocol tests, the crash tests, the
//! `chanmon`-style fuzz target and the in-process benchmark.
//!
//! Each party is a [`Party`] state machine with its own store (any
//! [`Store`], wrapped in a [`FaultyStore`]); messages travel through an
//! in-memory network as bytes in the wire format, so every message is
//! encoded and decoded as it would be over TCP; the chain is any
//! [`Anchor`] (the in-memory [`TestChain`] by default). The driver follows the machine's rule: it commits a
//! step's snapshot before it sends or submits anything of that step, and a
//! party whose commit fails is dropped and restarted from its store.
//!
//! The harness watches the invariants as it goes ([`Sim::violations`]):
//! no party ever releases two signatures on two different states with one
//! version, and the chain never pays out more than it holds.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_contracts::abi::Value;

use super::machine::{Config, Contract, Event, MachineError, Output, Party, Step};
use super::message::Message;
use super::wire;
use crate::anchor::{Anchor, AnchorCall, ChainEvent, Receipt, TestChain};
use crate::state::{Address, ChannelParams, SigningKey};
use crate::store::{Fault, FaultyStore, Store};

/// What happens to a party at a step: the crash points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crash {
    /// The step's write fails; the party restarts from its store.
    WriteFails,
    /// The process dies during the write: nothing reaches the store.
    WriteLost,
    /// The process dies after the write, before anything is sent.
    AfterWrite,
}

impl Crash {
    /// Every crash point.
    pub const ALL: [Crash; 3] = [Crash::WriteFails, Crash::WriteLost, Crash::AfterWrite];
}

/// A message in flight.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The sender.
    pub from: u32,
    /// The recipient.
    pub to: u32,
    /// The message, in the wire format.
    pub bytes: Vec<u8>,
}

/// One participant: its machine (`None` while crashed), store and key.
#[derive(Debug)]
pub struct Node<S: Store> {
    /// The state machine, while the party runs.
    pub party: Option<Party>,
    /// Its store.
    pub store: FaultyStore<S>,
    secret: [u8; 32],
    cursor: usize,
    crash_at: Option<(Step, Crash)>,
}

/// A channel with every party in this process. See the module docs.
#[derive(Debug)]
pub struct Sim<'a, S: Store, A: Anchor = TestChain> {
    cx: Contract<'a>,
    config: Config,
    /// The parties' clock, and the chain's.
    pub now: u64,
    /// The chain.
    pub chain: A,
    /// Every call the chain accepted: (party, call name, receipt).
    pub receipts: Vec<(u32, &'static str, Receipt)>,
    /// Every call the chain accepted, whole (what the chain saw).
    pub calls: Vec<(u32, AnchorCall)>,
    /// Messages sent, and their bytes on the wire.
    pub wire: (u64, u64),
    /// Every proof proposed (each once, however many parties it went to):
    /// its size, and the time its proposer and its checkers spent.
    pub proofs: Vec<ProofStat>,
    /// Where each proposal's proofs are in `proofs`, by state digest.
    proposed: HashMap<[u8; 32], Vec<usize>>,
    /// How long the step being applied took (the machine's work).
    step_time: Duration,
    /// The parties, in party order.
    pub nodes: Vec<Node<S>>,
    /// Messages sent and not yet delivered, in sending order.
    pub network: Vec<Envelope>,
    /// Every event, with the party that reported it.
    pub events: Vec<(u32, Event)>,
    /// Every step committed, with its party.
    pub steps: Vec<(u32, Step)>,
    /// Every crash injected: (party, step, crash).
    pub crashes: Vec<(u32, Step, Crash)>,
    /// Chain calls the chain refused: (party, error).
    pub refused: Vec<(u32, String)>,
    released: HashMap<(u32, u64), [u8; 32]>,
    /// What the chain holds and paid, from its events.
    held: Vec<u64>,
    paid: Vec<u64>,
    cursor: usize,
    violations: Vec<String>,
    params: ChannelParams,
    rng: StdRng,
}

/// A proof of a proposal, as a run measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofStat {
    /// Its encoded size.
    pub bytes: usize,
    /// The proposer's step that made it (running the call, proving).
    pub made: Duration,
    /// The slowest other party's step that checked it (re-running the
    /// call, verifying the proof); zero until one did.
    pub checked: Duration,
}

/// Party `i`'s key in a simulation: fixed, so a test can act as a
/// dishonest party.
pub fn secret(i: usize) -> [u8; 32] {
    let mut s = [0x5a; 32];
    s[31] = u8::try_from(i % 250).unwrap_or(0) + 1;
    s
}

impl<'a, S: Store> Sim<'a, S, TestChain> {
    /// Opens a channel of `cx`'s contract between `stores.len()` parties
    /// with `deposits` and each party's private initial values (field
    /// index → value); the opening runs until the network is quiet.
    pub fn open(
        cx: Contract<'a>,
        config: Config,
        stores: Vec<S>,
        deposits: Vec<u64>,
        private: Vec<BTreeMap<u32, u64>>,
        seed: u64,
    ) -> Result<Self, MachineError> {
        let mut sim = Sim::start(cx, config, stores, deposits, private, seed, None)?;
        sim.run(100_000);
        Ok(sim)
    }

    /// Starts opening, as [`Sim::open`], but delivers nothing yet: the
    /// opening messages are in flight. `crash`: a party to crash at its
    /// first occurrence of a step ([`Sim::crash_at`]), from the start.
    pub fn start(
        cx: Contract<'a>,
        config: Config,
        stores: Vec<S>,
        deposits: Vec<u64>,
        private: Vec<BTreeMap<u32, u64>>,
        seed: u64,
        crash: Option<(u32, Step, Crash)>,
    ) -> Result<Self, MachineError> {
        let mut chain = TestChain::new();
        chain.advance(1_000);
        Sim::start_on(cx, config, chain, stores, deposits, private, seed, crash)
    }
}

impl<'a, S: Store, A: Anchor> Sim<'a, S, A> {
    /// Starts opening on `chain`, as [`Sim::start`]: the parties' clock is
    /// the chain's.
    #[allow(clippy::too_many_arguments, reason = "a channel needs each of these")]
    pub fn start_on(
        cx: Contract<'a>,
        config: Config,
        chain: A,
        stores: Vec<S>,
        deposits: Vec<u64>,
        private: Vec<BTreeMap<u32, u64>>,
        seed: u64,
        crash: Option<(u32, Step, Crash)>,
    ) -> Result<Self, MachineError> {
        let n = stores.len();
        let keys: Vec<SigningKey> = (0..n)
            .map(|i| SigningKey::from_bytes(&secret(i)))
            .collect::<Option<_>>()
            .ok_or_else(|| MachineError::Setup("a test key is invalid".into()))?;
        let params = ChannelParams {
            participants: keys.iter().map(SigningKey::address).collect(),
            nonce: seed,
            challenge_period: 3600,
            contract_id: cx.artifact.id(),
            asset: Address([0; 20]),
            adjudicator: chain.adjudicator(),
            chain_id: chain.chain_id(),
        };
        let mut sim = Sim {
            cx,
            config,
            now: chain.now(),
            chain,
            receipts: Vec::new(),
            calls: Vec::new(),
            wire: (0, 0),
            proofs: Vec::new(),
            proposed: HashMap::new(),
            step_time: Duration::ZERO,
            nodes: stores
                .into_iter()
                .enumerate()
                .map(|(i, s)| Node {
                    party: None,
                    store: FaultyStore::new(s),
                    secret: secret(i),
                    cursor: 0,
                    crash_at: None,
                })
                .collect(),
            network: Vec::new(),
            events: Vec::new(),
            steps: Vec::new(),
            crashes: Vec::new(),
            refused: Vec::new(),
            released: HashMap::new(),
            held: vec![0; n],
            paid: vec![0; n],
            cursor: 0,
            violations: Vec::new(),
            params: params.clone(),
            rng: StdRng::seed_from_u64(seed),
        };
        if let Some((i, step, how)) = crash {
            sim.crash_at(i, step, how);
        }
        for (i, key) in keys.into_iter().enumerate() {
            let me = u32::try_from(i).unwrap_or(u32::MAX);
            let none = BTreeMap::new();
            let mine = private.get(i).unwrap_or(&none);
            let (party, out) = Party::open(
                cx,
                key,
                config,
                params.clone(),
                me,
                deposits.clone(),
                mine,
                sim.now,
                &mut sim.rng,
            )?;
            sim.nodes[i].party = Some(party);
            sim.apply(me, out);
        }
        Ok(sim)
    }

    /// The contract.
    pub fn contract(&self) -> Contract<'a> {
        self.cx
    }

    /// The channel's parameters.
    pub fn params(&self) -> &ChannelParams {
        &self.params
    }

    /// Invariant violations seen so far (empty when all is well).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// Party `i`'s machine, if it runs.
    pub fn party(&self, i: u32) -> Option<&Party> {
        self.nodes.get(i as usize).and_then(|n| n.party.as_ref())
    }

    /// Makes party `i` crash at its next step `step`, in the way `crash`
    /// says.
    pub fn crash_at(&mut self, i: u32, step: Step, crash: Crash) {
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.crash_at = Some((step, crash));
        }
    }

    /// Runs a local request at party `i` and drives its output.
    fn request(
        &mut self,
        i: u32,
        f: impl FnOnce(&mut Party, Contract<'a>, u64, &mut StdRng) -> Result<Output, MachineError>,
    ) -> Result<(), MachineError> {
        let (cx, now) = (self.cx, self.now);
        let p = self
            .nodes
            .get_mut(i as usize)
            .and_then(|n| n.party.as_mut())
            .ok_or(MachineError::Phase("down", "the party is not running"))?;
        let started = Instant::now();
        let out = f(p, cx, now, &mut self.rng)?;
        self.step_time = started.elapsed();
        self.apply(i, out);
        Ok(())
    }

    /// Party `i` calls `function(args)`.
    pub fn call(&mut self, i: u32, function: &str, args: Vec<Value>) -> Result<(), MachineError> {
        self.request(i, |p, cx, now, rng| p.call(cx, function, args, now, rng))
    }

    /// Party `i` asks to close.
    pub fn close(&mut self, i: u32) -> Result<(), MachineError> {
        self.request(i, |p, cx, now, rng| p.close(cx, now, rng))
    }

    /// Party `i` reveals its private field `field`.
    pub fn reveal(&mut self, i: u32, field: u32) -> Result<(), MachineError> {
        self.request(i, |p, _, _, _| p.reveal(field))
    }

    /// Party `i` disputes now.
    pub fn dispute(&mut self, i: u32) -> Result<(), MachineError> {
        self.request(i, |p, cx, _, _| p.dispute(cx))
    }

    /// Injects `bytes` into the network as if `from` had sent them to `to`
    /// (a dishonest or confused peer).
    pub fn inject(&mut self, from: u32, to: u32, message: &Message) {
        self.network.push(Envelope {
            from,
            to,
            bytes: wire::encode_message(message),
        });
    }

    /// Delivers the `k`-th message in flight (if any).
    pub fn deliver(&mut self, k: usize) {
        if k >= self.network.len() {
            return;
        }
        let e = self.network.remove(k);
        let cx = self.cx;
        let now = self.now;
        let Some(p) = self
            .nodes
            .get_mut(e.to as usize)
            .and_then(|n| n.party.as_mut())
        else {
            return; // The recipient is down: the message is lost.
        };
        let message = match wire::decode_message(&e.bytes) {
            Ok(m) => m,
            Err(err) => {
                self.violations.push(format!(
                    "a message sent by #{} does not decode: {err}",
                    e.from
                ));
                return;
            }
        };
        let checks = match &message {
            Message::Propose(offer) => self.proposed.get(&offer.state().digest()).cloned(),
            _ => None,
        };
        let started = Instant::now();
        let handled = p.handle(cx, e.from, message, now, &mut self.rng);
        let took = started.elapsed();
        match handled {
            Ok(out) => {
                for k in checks.unwrap_or_default() {
                    if let Some(stat) = self.proofs.get_mut(k) {
                        stat.checked = stat.checked.max(took);
                    }
                }
                self.step_time = took;
                self.apply(e.to, out);
            }
            Err(err) => self.fail(e.to, &err),
        }
    }

    /// Drops the `k`-th message in flight.
    pub fn drop_message(&mut self, k: usize) {
        if k < self.network.len() {
            self.network.remove(k);
        }
    }

    /// Delivers messages in order until the network is quiet, or `limit`
    /// deliveries; returns how many were delivered.
    pub fn run(&mut self, limit: usize) -> usize {
        let mut n = 0;
        while !self.network.is_empty() && n < limit {
            self.deliver(0);
            n += 1;
        }
        n
    }

    /// Restarts every party that is down.
    pub fn restart_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.restart(u32::try_from(i).unwrap_or(u32::MAX));
        }
    }

    /// Party `i` dies: its memory is gone, its messages in flight stay.
    pub fn kill(&mut self, i: u32) {
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.party = None;
        }
    }

    /// Restarts party `i` from its store (if it is down): replays the chain
    /// and resumes. A party whose store holds nothing of the channel stays
    /// down (it never sent anything that needed keeping).
    pub fn restart(&mut self, i: u32) {
        let cx = self.cx;
        let now = self.now;
        let id = self.params.channel_id();
        let Some(node) = self.nodes.get_mut(i as usize) else {
            return;
        };
        if node.party.is_some() {
            return;
        }
        let loaded = match node.store.load(&id) {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                self.violations.push(format!("party #{i}'s store: {e}"));
                return;
            }
        };
        let Some(key) = SigningKey::from_bytes(&node.secret) else {
            return;
        };
        match Party::restore(key, self.config, &loaded) {
            Ok(p) => node.party = Some(p),
            Err(e) => {
                self.violations
                    .push(format!("party #{i} does not restore: {e}"));
                return;
            }
        }
        node.cursor = 0;
        self.poll_chain();
        let Some(p) = self.nodes[i as usize].party.as_mut() else {
            return;
        };
        match p.resume(cx, now, &mut self.rng) {
            Ok(out) => self.apply(i, out),
            Err(e) => self.fail(i, &e),
        }
    }

    /// Party `i` reconnects (it keeps running): it asks its peers to
    /// resend what it may have missed, and resends its own.
    pub fn reconnect(&mut self, i: u32) {
        let cx = self.cx;
        let now = self.now;
        let Some(p) = self
            .nodes
            .get_mut(i as usize)
            .and_then(|n| n.party.as_mut())
        else {
            return;
        };
        match p.resume(cx, now, &mut self.rng) {
            Ok(out) => self.apply(i, out),
            Err(e) => self.fail(i, &e),
        }
    }

    /// Lets `seconds` pass for every party and the chain.
    pub fn advance(&mut self, seconds: u64) {
        self.now = self.now.saturating_add(seconds);
        if let Err(e) = self.chain.advance(seconds) {
            self.violations
                .push(format!("the chain cannot advance: {e}"));
        }
        let cx = self.cx;
        let now = self.now;
        for i in 0..self.nodes.len() {
            let me = u32::try_from(i).unwrap_or(u32::MAX);
            let Some(p) = self.nodes[i].party.as_mut() else {
                continue;
            };
            match p.tick(cx, now, &mut self.rng) {
                Ok(out) => self.apply(me, out),
                Err(e) => self.fail(me, &e),
            }
        }
    }

    /// Whether every running party holds the same latest fully signed
    /// state and has nothing outstanding.
    pub fn converged(&self) -> bool {
        let mut latest = None;
        for n in &self.nodes {
            let Some(p) = &n.party else { continue };
            if !p.idle() {
                return false;
            }
            let v = p
                .latest()
                .map(|v| (v.version, v.public.clone(), v.signed.clone()));
            if latest.is_some() && latest != Some(v.clone()) {
                return false;
            }
            latest = Some(v);
        }
        true
    }

    /// Reloads every running party from its store and checks the copy
    /// holds what the running party holds; returns the parties that
    /// differ.
    pub fn reload_differences(&self) -> Vec<u32> {
        let id = self.params.channel_id();
        let mut differ = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(p) = &n.party else { continue };
            let same = match (n.store.load(&id), SigningKey::from_bytes(&n.secret)) {
                (Ok(Some(l)), Some(key)) => Party::restore(key, self.config, &l)
                    .is_ok_and(|r| r.record() == p.record() && r.openings() == p.openings()),
                _ => false,
            };
            if !same {
                differ.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        differ
    }

    /// A machine error on party `i`: it is dropped, as a node would
    /// restart it.
    fn fail(&mut self, i: u32, e: &MachineError) {
        self.violations.push(format!("party #{i} failed: {e}"));
        self.kill(i);
    }

    /// The driver: commit, then send, then submit; then let every party
    /// see the chain's new events.
    fn apply(&mut self, i: u32, out: Output) {
        // The measured step is the first output's; what follows from it
        // (chain events) is not timed.
        let mut made = std::mem::take(&mut self.step_time);
        let mut work = vec![(i, out)];
        while let Some((i, out)) = work.pop() {
            let made = std::mem::take(&mut made);
            let Some(node) = self.nodes.get_mut(i as usize) else {
                continue;
            };
            for e in &out.events {
                self.events.push((i, e.clone()));
            }
            if let Some(snapshot) = &out.persist {
                let crash = node.crash_at.filter(|(step, _)| out.steps.contains(step));
                if let Some((step, c)) = crash {
                    node.crash_at = None;
                    self.crashes.push((i, step, c));
                    match c {
                        Crash::WriteFails => node.store.inject(Fault::Fail),
                        Crash::WriteLost => node.store.inject(Fault::Lose),
                        Crash::AfterWrite => {}
                    }
                    let _ = node.store.commit(snapshot);
                    node.party = None;
                    if c == Crash::WriteFails {
                        // The node sees the failure and restarts at once.
                        self.restart(i);
                    }
                    continue;
                }
                if let Err(e) = node.store.commit(snapshot) {
                    self.violations
                        .push(format!("party #{i}'s commit failed: {e}"));
                    node.party = None;
                    continue;
                }
                for s in &out.steps {
                    self.steps.push((i, *s));
                }
            }
            let mut counted = std::collections::HashSet::new();
            for (to, m) in &out.send {
                match m {
                    Message::Sign {
                        version, digest, ..
                    } => self.release(i, *version, *digest),
                    Message::Propose(offer) if counted.insert(offer.state().digest()) => {
                        let mut at = Vec::new();
                        for u in offer.calls() {
                            if let Some(p) = &u.proof {
                                at.push(self.proofs.len());
                                self.proofs.push(ProofStat {
                                    bytes: p.encode().len(),
                                    made,
                                    checked: Duration::ZERO,
                                });
                            }
                        }
                        if !at.is_empty() {
                            self.proposed.insert(offer.state().digest(), at);
                        }
                    }
                    _ => {}
                }
                let bytes = wire::encode_message(m);
                self.wire.0 += 1;
                self.wire.1 += bytes.len() as u64;
                self.network.push(Envelope {
                    from: i,
                    to: *to,
                    bytes,
                });
            }
            for call in &out.anchor {
                if let AnchorCall::Register { state, .. } | AnchorCall::Conclude { state, .. } =
                    call
                {
                    self.release(i, state.version, state.digest());
                }
                match self.chain.submit(&self.params, call) {
                    Ok(receipt) => {
                        self.receipts.push((i, call.name(), receipt));
                        self.calls.push((i, call.clone()));
                    }
                    Err(e) => self.refused.push((i, e.to_string())),
                }
            }
            work.extend(self.chain_outputs());
        }
        self.check_chain();
    }

    /// Records that party `i` released a signature on (version, digest).
    fn release(&mut self, i: u32, version: u64, digest: [u8; 32]) {
        // A Register or Conclude carries every party's signature; each was
        // released by its signer when it sent it, so only check the
        // submitter's own here.
        match self.released.insert((i, version), digest) {
            Some(d) if d != digest => self.violations.push(format!(
                "party #{i} signed two different states with version {version}"
            )),
            _ => {}
        }
    }

    /// New chain events for every running party.
    fn chain_outputs(&mut self) -> Vec<(u32, Output)> {
        let cx = self.cx;
        let now = self.now;
        let id = self.params.channel_id();
        let mut outs = Vec::new();
        for i in 0..self.nodes.len() {
            let me = u32::try_from(i).unwrap_or(u32::MAX);
            let node = &mut self.nodes[i];
            let Some(p) = node.party.as_mut() else {
                continue;
            };
            let Ok((events, next)) = self.chain.events(&id, node.cursor) else {
                continue;
            };
            node.cursor = next;
            for ev in events {
                match p.chain(cx, ev, now, &mut self.rng) {
                    Ok(out) => outs.push((me, out)),
                    Err(e) => {
                        self.violations
                            .push(format!("party #{me} failed on a chain event: {e}"));
                        break;
                    }
                }
            }
        }
        outs
    }

    /// Feeds pending chain events to every running party.
    fn poll_chain(&mut self) {
        let outs = self.chain_outputs();
        for (i, out) in outs {
            self.apply(i, out);
        }
    }

    /// Follows the chain's events for what it holds and paid, and checks
    /// it never pays out more than it holds.
    fn check_chain(&mut self) {
        let id = self.params.channel_id();
        let Ok((events, next)) = self.chain.events(&id, self.cursor) else {
            return;
        };
        self.cursor = next;
        for e in events {
            match e {
                ChainEvent::Deposited { party, total } => {
                    if let Some(h) = self.held.get_mut(party as usize) {
                        *h = total;
                    }
                }
                ChainEvent::Withdrawn { party, amount } => {
                    if let Some(p) = self.paid.get_mut(party as usize) {
                        *p = p.saturating_add(amount);
                    }
                }
                _ => {}
            }
        }
        let held: u128 = self.held.iter().map(|d| u128::from(*d)).sum();
        let paid: u128 = self.paid.iter().map(|d| u128::from(*d)).sum();
        if paid > held {
            self.violations
                .push(format!("the chain paid {paid} out of {held} deposited"));
        }
    }

    /// What the chain holds for the channel and what it paid out, by
    /// party, from its events.
    pub fn chain_totals(&self) -> (Vec<u64>, Vec<u64>) {
        (self.held.clone(), self.paid.clone())
    }
}
