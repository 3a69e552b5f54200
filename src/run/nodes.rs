//! `sotto run` with every party a `sotto node` process: the agreement as
//! it runs between machines, on loopback.
//!
//! One node per party, each with its own data directory (key, SQLite
//! store) in a temporary directory, all on one JSON-RPC chain: the
//! embedded chain served by this process, or the node at `--chain URL`.
//! This process is only the parties' users: it drives each node through
//! its control socket as `sotto channel` would (open, accept, call, close,
//! dispute), kills and restarts node processes for `crash`, `silent` and
//! `stale` steps, moves the development chain's clock for `wait` steps
//! and challenge periods, and builds the report from what the nodes and
//! the chain say: the nodes' events (proofs made and checked, chain
//! calls with their receipts), their message counters, and the chain's
//! own events (what was paid).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value as Json, json};
use sotto_contracts::Artifact;
use sotto_contracts::abi::Abi;
use sotto_contracts::scenario::{Expectation, Resolved, ResolvedStep};
use sotto_engine::anchor::{Anchor as _, AnchorCall, ChainEvent, Receipt, RpcChain};
use sotto_engine::devnet::{self, NodeProcess};
use sotto_engine::node::control::decode_hex;
use sotto_engine::node::control::signed_from_json;
use sotto_engine::run::{Kept, Progress, ProofStat, Report, RunError, check_outcome, stale_state};
use sotto_engine::state::{Address, ChannelParams, Signature, State};

/// What every account on the chain is given: far more than any deposit
/// and its gas.
const FUNDS: u128 = 1_000_000_000_000_000_000_000;

/// The challenge period of the channels a run opens, in chain seconds.
const CHALLENGE_PERIOD: u64 = 3600;

/// How long one request to a node may wait (a proof, a chain receipt).
const WAIT_MS: u64 = 120_000;

/// Where the nodes find the chain.
pub(crate) struct ChainAt {
    /// Its JSON-RPC URL.
    pub(crate) url: String,
    /// The adjudicator, if deployed already; otherwise the run deploys one
    /// (with anvil's well-known development key).
    pub(crate) adjudicator: Option<Address>,
}

/// One party's node.
struct PartyNode {
    name: String,
    dir: PathBuf,
    listen: String,
    process: Option<NodeProcess>,
}

/// The run: the nodes, the chain, and what it has seen.
struct Net<'a> {
    sotto: PathBuf,
    abi: &'a Abi,
    url: String,
    rpc: SocketAddr,
    adjudicator: Address,
    /// This process's view of the chain: events, time, the stale
    /// registration of a cheating party.
    chain: RpcChain,
    nodes: Vec<PartyNode>,
    channel: String,
    params: Option<ChannelParams>,
    /// Chain calls this process made itself (a stale registration).
    own_calls: Vec<(u32, &'static str, Receipt)>,
    /// Nodes' events read so far, per party, across restarts.
    seen: Vec<Vec<Json>>,
    /// The number of the last event read from each party's running node
    /// (a restarted node numbers its events from 1 again).
    cursor: Vec<u64>,
}

/// Plays `plan` with one `sotto node` process per party on `chain`:
/// see the module docs. `sotto`: the binary to start nodes from; `work`:
/// an empty directory for the nodes' data.
pub(crate) fn play(
    sotto: &Path,
    work: &Path,
    artifact: &Artifact,
    plan: &Resolved,
    chain: &ChainAt,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report> {
    let abi = artifact.abi();
    let rpc = devnet::http_addr(&chain.url)?;
    // This process signs only a deployment (if the chain has no
    // adjudicator yet) and a cheater's stale registration.
    let key = devnet::dev_key().ok_or_else(|| anyhow!("the development key"))?;
    devnet::set_balance(rpc, key.address(), FUNDS).with_context(|| {
        format!(
            "funding accounts on {}: `sotto run` needs a development chain (anvil, `sotto chain serve`) that answers anvil_setBalance",
            chain.url
        )
    })?;
    let observer = RpcChain::connect(&chain.url, key, 0, chain.adjudicator)
        .with_context(|| format!("the chain at {}", chain.url))?;
    let mut net = Net {
        sotto: sotto.to_path_buf(),
        abi,
        url: chain.url.clone(),
        rpc,
        adjudicator: observer.adjudicator(),
        chain: observer,
        nodes: abi
            .parties
            .iter()
            .map(|name| PartyNode {
                name: name.clone(),
                dir: work.join(name),
                listen: "127.0.0.1:0".into(),
                process: None,
            })
            .collect(),
        channel: String::new(),
        params: None,
        own_calls: Vec::new(),
        seen: vec![Vec::new(); abi.parties.len()],
        cursor: vec![0; abi.parties.len()],
    };
    for i in 0..net.nodes.len() {
        net.start(i)?;
    }
    net.open(artifact, plan)?;
    progress(&Progress::Opened {
        channel_id: net.channel_id()?,
    });

    let mut kept = Kept::new();
    // Kept only for a scenario with a `stale` step (a request to every
    // node before every step).
    let cheats = plan
        .steps
        .iter()
        .any(|s| matches!(s, ResolvedStep::Stale { .. }));
    let mut silent = None;
    let mut stale = false;
    for (k, step) in plan.steps.iter().enumerate() {
        let number = k + 1;
        if cheats {
            net.keep_signed(&mut kept);
        }
        match step {
            ResolvedStep::Call {
                function,
                by,
                args,
                expect,
            } => {
                if let Some(p) = net.call(number, *function, *by, args, expect)? {
                    progress(&p);
                }
            }
            ResolvedStep::Wait(seconds) => {
                net.advance(*seconds)?;
                progress(&Progress::Waited { seconds: *seconds });
            }
            ResolvedStep::Crash(p) => {
                let before = net.status(*p)?;
                net.kill(*p);
                net.start(*p as usize)?;
                let version = before["version"].as_u64().unwrap_or(0);
                let after = net.wait(
                    *p,
                    json!({ "version": version, "idle": true }),
                    "resume after its restart",
                )?;
                progress(&Progress::Crashed {
                    party: net.name(*p),
                    version: after["version"].as_u64().unwrap_or(0),
                });
            }
            ResolvedStep::Silent(p) => {
                net.kill(*p);
                silent = Some(*p);
                progress(&Progress::Silent {
                    party: net.name(*p),
                });
                break;
            }
            ResolvedStep::Stale { party, version } => {
                let (state, signatures, latest) = stale_state(&kept, number, *version)?;
                net.kill(*party);
                net.register(*party, state, signatures)?;
                silent = Some(*party);
                stale = true;
                progress(&Progress::Stale {
                    party: net.name(*party),
                    version: *version,
                    latest,
                });
                break;
            }
        }
    }
    let last = net.latest_status()?;
    let version = last["version"].as_u64().unwrap_or(0);
    let finished = last["finished"].as_bool().unwrap_or(false);

    // Settle.
    let disputed = silent.is_some();
    match silent {
        Some(p) => {
            let others: Vec<u32> = net.running().into_iter().filter(|i| *i != p).collect();
            let watcher = *others
                .first()
                .ok_or_else(|| anyhow!("no party is left to dispute"))?;
            if stale {
                // The others refute on their next look at the chain.
                net.wait(
                    watcher,
                    json!({ "registered": version }),
                    "refute the stale state",
                )?;
            } else {
                net.ask(watcher, json!({ "op": "dispute", "channel": net.channel }))?;
                net.wait(watcher, json!({ "registered": version }), "register")?;
            }
            net.advance(CHALLENGE_PERIOD + 1)?;
            for i in others {
                net.wait(i, json!({ "phase": "closed" }), "settle")?;
            }
            // The silent party comes back and takes its share.
            net.start(p as usize)?;
            net.wait(p, json!({ "phase": "closed" }), "withdraw")?;
        }
        None => {
            net.ask(
                0,
                json!({ "op": "close", "channel": net.channel, "wait": true, "timeout_ms": WAIT_MS }),
            )
            .context("closing the channel")?;
            for i in net.running() {
                net.wait(i, json!({ "phase": "closed" }), "settle")?;
            }
        }
    }
    let paid = net.paid()?;
    progress(&Progress::Settled {
        paid: paid.clone(),
        disputed,
    });
    let report = Report {
        steps: plan.steps.len(),
        version,
        proofs: net.proofs(),
        wire: net.wire(),
        chain: net.chain_calls(),
        paid,
        finished,
        disputed,
    };
    for i in net.running() {
        let _ = net.ask(i, json!({ "op": "stop" }));
    }
    check_outcome(&abi.parties, plan, &report)?;
    Ok(report)
}

impl Net<'_> {
    fn name(&self, i: u32) -> String {
        self.nodes
            .get(i as usize)
            .map_or_else(|| format!("#{i}"), |n| n.name.clone())
    }

    /// Starts party `i`'s node (again: on the address it listened on).
    fn start(&mut self, i: usize) -> Result<()> {
        let node = &mut self.nodes[i];
        // SOTTO_RUN_LOGS=LEVEL shows the nodes' logs on stderr.
        let echo = std::env::var("SOTTO_RUN_LOGS").ok();
        let process = NodeProcess::start_tied(
            &self.sotto,
            &node.dir,
            &node.listen,
            &self.url,
            &self.adjudicator.to_string(),
            // Scenario times are the chain's, which moves only when the
            // run moves it.
            &[
                "--poll-ms",
                "100",
                "--clock",
                "chain",
                "--log",
                echo.as_deref().unwrap_or("warn"),
            ],
            echo.is_some(),
        )
        .with_context(|| format!("starting {}'s node", node.name))?;
        node.listen = process.info["listen"]
            .as_str()
            .unwrap_or("127.0.0.1:0")
            .to_owned();
        let address = process
            .address()
            .ok_or_else(|| anyhow!("{}'s node has no address", node.name))?;
        devnet::set_balance(self.rpc, address, FUNDS)
            .with_context(|| format!("funding {}'s node", node.name))?;
        node.process = Some(process);
        if let Some(c) = self.cursor.get_mut(i) {
            *c = 0;
        }
        Ok(())
    }

    /// Kills party `i`'s node (SIGKILL), first keeping its events.
    fn kill(&mut self, i: u32) {
        self.collect(i);
        if let Some(n) = self.nodes.get_mut(i as usize) {
            n.process = None;
        }
    }

    fn running(&self) -> Vec<u32> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].process.is_some())
            .filter_map(|i| u32::try_from(i).ok())
            .collect()
    }

    fn ask(&self, i: u32, request: Json) -> Result<Json> {
        let node = self
            .nodes
            .get(i as usize)
            .ok_or_else(|| anyhow!("no party #{i}"))?;
        let process = node
            .process
            .as_ref()
            .ok_or_else(|| anyhow!("{}'s node is not running", node.name))?;
        process
            .ask(&request)
            .map_err(|e| anyhow!("{}'s node: {e}", node.name))
    }

    fn status(&self, i: u32) -> Result<Json> {
        self.ask(i, json!({ "op": "status", "channel": self.channel }))
    }

    /// Waits until party `i`'s channel is as `until` says (fields of the
    /// `wait` request).
    fn wait(&self, i: u32, until: Json, what: &str) -> Result<Json> {
        let mut request = json!({ "op": "wait", "channel": self.channel, "timeout_ms": WAIT_MS });
        if let (Some(r), Some(u)) = (request.as_object_mut(), until.as_object()) {
            r.extend(u.clone());
        }
        self.ask(i, request)
            .with_context(|| format!("{}'s node did not {what}", self.name(i)))
    }

    fn channel_id(&self) -> Result<[u8; 32]> {
        decode_hex(&self.channel)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow!("the channel id `{}`", self.channel))
    }

    /// Connects every pair of nodes, opens the channel at party 0's node,
    /// accepts it at every other one with its private values, and waits
    /// until every deposit is on chain.
    fn open(&mut self, artifact: &Artifact, plan: &Resolved) -> Result<()> {
        let n = self.nodes.len();
        let addresses: Vec<String> = self
            .nodes
            .iter()
            .map(|x| {
                x.process
                    .as_ref()
                    .map(NodeProcess::node)
                    .unwrap_or_default()
            })
            .collect();
        for i in 0..n {
            for peer in addresses.iter().skip(i + 1) {
                let i = u32::try_from(i)?;
                self.ask(i, json!({ "op": "connect", "peer": peer }))?;
            }
        }
        let private = |p: usize| -> Result<BTreeMap<String, u64>> {
            let mut out = BTreeMap::new();
            for (f, v) in self.abi.fields.iter().zip(&plan.fields) {
                if f.owner.map(|o| o as usize) == Some(p) {
                    let word = v
                        .as_word()
                        .ok_or_else(|| anyhow!("private field `{}`: not a word", f.name))?;
                    out.insert(f.name.clone(), word);
                }
            }
            Ok(out)
        };
        let opened = self.ask(
            0,
            json!({
                "op": "open",
                "peers": &addresses[1..],
                "module": artifact.bytes().iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "deposits": plan.deposits,
                "me": 0,
                "private": private(0)?,
                "challenge_period": CHALLENGE_PERIOD,
            }),
        )?;
        self.channel = opened["channel"]
            .as_str()
            .ok_or_else(|| anyhow!("the node opened no channel: {opened}"))?
            .to_owned();
        for i in 1..n {
            let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
            let p = u32::try_from(i)?;
            loop {
                let invites = self.ask(p, json!({ "op": "invites" }))?;
                let here = invites
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x["channel"] == self.channel.as_str()));
                if here {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{}'s node never saw the invitation", self.name(p));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.ask(
                p,
                json!({ "op": "accept", "channel": self.channel, "private": private(i)? }),
            )?;
        }
        for i in self.running() {
            self.wait(i, json!({ "phase": "open" }), "open the channel")?;
        }
        Ok(())
    }

    /// A call step: the caller's node runs it; a success is done when
    /// every node holds the new version and nothing is outstanding.
    fn call(
        &mut self,
        number: usize,
        function: usize,
        by: u32,
        args: &[sotto_contracts::abi::Value],
        expect: &Expectation,
    ) -> Result<Option<Progress>> {
        let f = self
            .abi
            .functions
            .get(function)
            .ok_or_else(|| anyhow!("no function #{function}"))?;
        let named: serde_json::Map<String, Json> = f
            .params
            .iter()
            .zip(args)
            .map(|(p, v)| {
                (
                    p.name.clone(),
                    sotto_contracts::json::to_json(v, &self.abi.parties),
                )
            })
            .collect();
        let answer = self.ask(
            by,
            json!({
                "op": "call", "channel": self.channel, "function": f.name,
                "args": named, "wait": true, "timeout_ms": WAIT_MS,
            }),
        );
        let differs = |got: String| RunError::Step {
            step: number,
            function: f.name.clone(),
            expected: sotto_engine::play::describe(&self.abi.parties, expect),
            got,
        };
        match (expect, answer) {
            (Expectation::Success, Ok(status)) => {
                let version = status["version"].as_u64().unwrap_or(0);
                for i in self.running() {
                    self.wait(
                        i,
                        json!({ "version": version, "idle": true }),
                        "take the update",
                    )?;
                }
                Ok(Some(Progress::Called {
                    step: number,
                    function: f.name.clone(),
                    by: self.name(by),
                    version,
                    proved: f.circuit.is_some(),
                }))
            }
            (Expectation::Abort(reason), Err(e))
                if e.to_string().ends_with(&format!("aborted: {reason}")) =>
            {
                Ok(Some(Progress::Refused {
                    step: number,
                    function: f.name.clone(),
                    reason: reason.clone(),
                }))
            }
            (Expectation::Overdraw(p), Err(e))
                if e.to_string().contains(&format!("from party {p} who has")) =>
            {
                Ok(Some(Progress::Refused {
                    step: number,
                    function: f.name.clone(),
                    reason: e.to_string(),
                }))
            }
            (_, Ok(_)) => Err(differs("success".into()).into()),
            (_, Err(e)) => Err(differs(e.to_string()).into()),
        }
    }

    /// Moves the chain's clock by `seconds` and lets every node see it.
    fn advance(&mut self, seconds: u64) -> Result<()> {
        self.chain
            .advance(seconds)
            .context("moving the chain's clock")?;
        for i in self.running() {
            // Mines a block and reads its time at once, rather than at the
            // node's next poll.
            self.ask(i, json!({ "op": "advance", "seconds": 0 }))?;
        }
        Ok(())
    }

    /// Keeps the latest fully signed state of every running node: what a
    /// cheating party could register later.
    fn keep_signed(&mut self, kept: &mut Kept) {
        for i in self.running() {
            if let Ok(answer) = self.ask(i, json!({ "op": "signed", "channel": self.channel }))
                && let Some((params, state, sigs)) = signed_from_json(&answer)
            {
                self.params.get_or_insert(params);
                kept.entry(state.version).or_insert((state, sigs));
            }
        }
    }

    /// Party `cheater` registers an old fully signed state: this process
    /// sends it (a registration needs every signature, not the sender's).
    fn register(&mut self, cheater: u32, state: State, signatures: Vec<Signature>) -> Result<()> {
        let params = self.params()?;
        let receipt = self
            .chain
            .submit(&params, &AnchorCall::Register { state, signatures })
            .context("registering the stale state")?;
        self.own_calls.push((cheater, "register", receipt));
        Ok(())
    }

    /// The channel's parameters, as a node's `signed` answer gave them
    /// (for this process's own chain calls).
    fn params(&self) -> Result<ChannelParams> {
        self.params
            .clone()
            .ok_or_else(|| anyhow!("the channel's parameters are not known to this process"))
    }

    fn latest_status(&self) -> Result<Json> {
        let mut best: Option<Json> = None;
        for i in self.running() {
            let s = self.status(i)?;
            if best
                .as_ref()
                .is_none_or(|b| s["version"].as_u64() > b["version"].as_u64())
            {
                best = Some(s);
            }
        }
        best.ok_or_else(|| anyhow!("no node is running"))
    }

    /// What the chain paid each party, from its events.
    fn paid(&mut self) -> Result<Vec<u64>> {
        let id = self.channel_id()?;
        let (events, _) = self.chain.events(&id, 0).context("reading the chain")?;
        let mut paid = vec![0u64; self.nodes.len()];
        for e in events {
            if let ChainEvent::Withdrawn { party, amount } = e
                && let Some(p) = paid.get_mut(party as usize)
            {
                *p = p.saturating_add(amount);
            }
        }
        Ok(paid)
    }

    /// Reads party `i`'s new events into `seen`.
    fn collect(&mut self, i: u32) {
        let Some(since) = self.cursor.get(i as usize).copied() else {
            return;
        };
        if let Ok(Json::Array(events)) = self.ask(
            i,
            json!({ "op": "events", "channel": self.channel, "since": since, "limit": 10_000 }),
        ) {
            if let Some(c) = self.cursor.get_mut(i as usize) {
                *c = events
                    .last()
                    .and_then(|e| e["seq"].as_u64())
                    .unwrap_or(since);
            }
            if let Some(seen) = self.seen.get_mut(i as usize) {
                seen.extend(events);
            }
        }
    }

    fn events(&mut self) -> Vec<(u32, Json)> {
        for i in self.running() {
            self.collect(i);
        }
        self.seen
            .iter()
            .enumerate()
            .flat_map(|(i, evs)| {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                evs.iter().map(move |e| (i, e.clone()))
            })
            .collect()
    }

    /// Every proof made, from the proposers' `proof` events, with the
    /// slowest check of it from the others' `checked` events.
    fn proofs(&mut self) -> Vec<ProofStat> {
        let events = self.events();
        let micros = |e: &Json| Duration::from_micros(e["detail"]["micros"].as_u64().unwrap_or(0));
        let mut by_version: BTreeMap<u64, Vec<ProofStat>> = BTreeMap::new();
        for (_, e) in events.iter().filter(|(_, e)| e["kind"] == "proof") {
            let Some(version) = e["detail"]["version"].as_u64() else {
                continue;
            };
            // A proposal sent again (after a reconnection) is not a new
            // proof.
            by_version.entry(version).or_insert_with(|| {
                e["detail"]["bytes"]
                    .as_array()
                    .map(|b| {
                        b.iter()
                            .map(|x| ProofStat {
                                bytes: usize::try_from(x.as_u64().unwrap_or(0)).unwrap_or(0),
                                made: micros(e),
                                checked: Duration::ZERO,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            });
        }
        for (_, e) in events.iter().filter(|(_, e)| e["kind"] == "checked") {
            if let Some(stats) = e["detail"]["version"]
                .as_u64()
                .and_then(|v| by_version.get_mut(&v))
            {
                for s in stats {
                    s.checked = s.checked.max(micros(e));
                }
            }
        }
        by_version.into_values().flatten().collect()
    }

    /// Messages and bytes every node sent, from their last statuses.
    fn wire(&self) -> (u64, u64) {
        let mut total = (0, 0);
        for i in self.running() {
            if let Ok(s) = self.status(i) {
                total.0 += s["sent_messages"].as_u64().unwrap_or(0);
                total.1 += s["sent_bytes"].as_u64().unwrap_or(0);
            }
        }
        total
    }

    /// Every chain call the nodes made, from their `chain` events, and
    /// this process's own, in the order of the channel's life (deposits,
    /// then a conclusion or registrations, then finalization and payouts;
    /// a cheater's registration before the refutation).
    fn chain_calls(&mut self) -> Vec<(u32, &'static str, Receipt)> {
        let mut calls = self.own_calls.clone();
        for (i, e) in self.events() {
            if e["kind"] != "chain" {
                continue;
            }
            let d = &e["detail"];
            let Some(call) = AnchorCall::NAMES
                .into_iter()
                .find(|n| d["call"].as_str() == Some(n))
            else {
                continue;
            };
            calls.push((
                i,
                call,
                Receipt {
                    gas: d["gas"].as_u64(),
                    calldata_bytes: d["calldata_bytes"].as_u64(),
                },
            ));
        }
        let rank = |call: &str| AnchorCall::NAMES.iter().position(|c| *c == call);
        calls.sort_by_key(|(_, call, _)| rank(call));
        calls
    }
}
