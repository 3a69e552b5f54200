//! The node: one participant on the network (`sotto node`).
//!
//! A node owns its key, its store (one SQLite file for all its channels),
//! its connections to peer nodes (Noise_XK over TCP, [`crate::net`]), one
//! anchor chain ([`chain`]) and a control socket its user drives
//! ([`control`]). Each channel is a task of its own ([`channel`]) around
//! the pure protocol machine; the node routes peer messages, chain events
//! and user requests to it.
//!
//! Files in the data directory (mode 0700):
//!
//! | file | what |
//! |---|---|
//! | `node.key` | the secp256k1 key: channel identity, and (derived) the Noise static key; 0600 |
//! | `channels.db` | the store ([`SqliteStore`]): every channel's record, secrets and signing record; 0600 |
//! | `contracts/ID.wasm` | each contract module a channel runs, by contract id (written before the channel's first commit) |
//! | `peers.json` | the address book: peer nodes this node dials (`NODEID@HOST:PORT`) |
//! | `control.sock` | the control socket; 0600 |
//! | `chain.json` | the embedded chain, when the node runs one |
//!
//! A channel opens by invitation: the opener's node sends each peer a
//! [`PeerMessage::Invite`] (the parameters, the deposits and the contract
//! module), then the protocol's own opening. A node accepts an invitation
//! when its user says so (`sotto channel accept`), or at once if it runs
//! with `--auto-accept`; it checks first that it is a participant, that the
//! channel is on its chain, and that the module loads and is the one the
//! parameters name.

pub mod chain;
pub mod channel;
pub mod control;
pub mod events;
pub mod peers;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngCore as _;
use sotto_contracts::Artifact;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::machine::{Config, MachineError, Party};
use crate::channel::wire::{decode_peer, decode_record, encode_peer};
use crate::channel::{Message, PeerMessage};
use crate::net::{self, Identity, NodeId, PeerAddr};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::state::{Address, ChannelParams, SigningKey};
use crate::store::{SqliteStore, Store as _, hex};

pub use chain::{ChainChoice, ChainHandle, ChainInfo};
pub use channel::{ChannelStatus, Signed};
pub use events::{EventLog, NodeEvent};

use channel::{ChannelTask, Input, LoadedContract, Op, index_of, short};
use peers::{FrameSink, Peers};

/// Messages buffered for an invitation not yet accepted.
const MAX_BUFFERED: usize = 64;

/// Invitations held at once.
const MAX_INVITES: usize = 256;

/// Channels whose messages arrived before their invitation (in a channel
/// of three or more, another invitee may accept, and send, before the
/// inviter's invitation reaches this node), held at once; each holds at
/// most [`MAX_BUFFERED`] messages for [`EARLY_FOR`].
const MAX_EARLY: usize = 64;

/// How long messages that came before their invitation are kept.
const EARLY_FOR: Duration = Duration::from_secs(60);

/// The bytes of messages that came before their invitation kept at once
/// (an opening's messages are a few KiB: a peer cannot make this node
/// hold much for channels that may never exist).
const EARLY_BYTES: usize = 1 << 20;

/// A channel's inbox.
const INBOX: usize = 1024;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory (created, mode 0700).
    pub data_dir: PathBuf,
    /// Where to listen for peers (port 0: any free port).
    pub listen: SocketAddr,
    /// The anchor chain.
    pub chain: ChainChoice,
    /// Accept every invitation that passes the checks, without asking.
    pub auto_accept: bool,
    /// The protocol's timing.
    pub timing: Config,
    /// How often the chain is read.
    pub poll: Duration,
    /// Take the time from the chain's latest block only, never from the
    /// wall clock: for a development chain whose clock moves only when
    /// told to (`sotto run`'s, whose scenario times count from 0).
    pub chain_clock: bool,
    /// The transport's limits.
    pub net: net::Options,
}

impl NodeConfig {
    /// Defaults for a node in `data_dir`: listens on 127.0.0.1 on a free
    /// port, the embedded chain kept in `chain.json`.
    pub fn new(data_dir: PathBuf) -> Self {
        NodeConfig {
            chain: ChainChoice::Embedded {
                file: Some(data_dir.join("chain.json")),
                chain_id: 31337,
            },
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            auto_accept: false,
            timing: Config::default(),
            poll: Duration::from_millis(200),
            chain_clock: false,
            net: net::Options::default(),
        }
    }
}

/// Why the node could not do what was asked.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// A file of the data directory.
    #[error("{path}: {message}")]
    Files {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Another node runs with this data directory.
    #[error("a node already runs with {0} (its control socket answers)")]
    Running(String),
    /// The listening address.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The chain.
    #[error("the anchor chain: {0}")]
    Chain(#[from] crate::anchor::AnchorError),
    /// The store.
    #[error("the store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The contract module.
    #[error("the contract: {0}")]
    Contract(String),
    /// No such channel (or invitation).
    #[error("no channel {0} on this node")]
    UnknownChannel(String),
    /// The peer is not connected.
    #[error("the peer {0} is not connected; `sotto node connect NODEID@HOST:PORT` first")]
    NotConnected(String),
    /// Connecting to a peer failed.
    #[error("connecting to {peer}: {message}")]
    Connect {
        /// The peer.
        peer: String,
        /// Why.
        message: String,
    },
    /// The request does not fit the channel or contract.
    #[error("{0}")]
    Request(String),
    /// The protocol machine refused.
    #[error(transparent)]
    Machine(#[from] MachineError),
}

/// An invitation waiting for its answer.
struct Invite {
    from: Address,
    params: ChannelParams,
    deposits: Vec<u64>,
    contract: Arc<LoadedContract>,
    me: u32,
    buffered: Vec<(u32, Box<Message>)>,
}

/// A running channel, as the node sees it.
struct ChannelEntry {
    /// Its inbox. Inputs are boxed: the channel allocates room for 32 at
    /// once, kept while it lives (1.8 KiB per channel inline, 288 bytes
    /// boxed).
    tx: mpsc::Sender<Box<Input>>,
    contract: Arc<LoadedContract>,
    status: watch::Receiver<ChannelStatus>,
    participants: Vec<Address>,
}

/// Messages that came before their channel's invitation.
type Early = (std::time::Instant, usize, Vec<(Address, Box<Message>)>);

/// What every task of the node shares.
pub struct Shared {
    key: SigningKey,
    identity: Identity,
    config: NodeConfig,
    listen: SocketAddr,
    store: Arc<Mutex<SqliteStore>>,
    chain: ChainHandle,
    peers: Arc<Peers>,
    events: Arc<EventLog>,
    sandbox: Arc<Sandbox>,
    gate: Arc<channel::Gate>,
    contracts: Mutex<HashMap<[u8; 32], Arc<LoadedContract>>>,
    channels: Mutex<HashMap<[u8; 32], ChannelEntry>>,
    invites: Mutex<HashMap<[u8; 32], Invite>>,
    /// Messages for channels this node has no invitation for yet: when
    /// they came, and (sender, message).
    early: Mutex<HashMap<[u8; 32], Early>>,
    book: Mutex<HashMap<Address, PeerAddr>>,
    dialing: Mutex<std::collections::HashSet<Address>>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("address", &self.key.address())
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

/// What `sotto node info` shows.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// `NODEID@HOST:PORT`: what a peer dials.
    pub node: String,
    /// The node id (its Noise static key), hex.
    pub node_id: String,
    /// The channel identity.
    pub address: String,
    /// The listening address.
    pub listen: String,
    /// The control socket.
    pub control: String,
    /// The chain id.
    pub chain_id: u64,
    /// The adjudicator.
    pub adjudicator: String,
    /// Whether the chain is the embedded one.
    pub embedded_chain: bool,
}

/// What a user asks to open.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The other participants, in party order (this node's party left out).
    pub peers: Vec<Address>,
    /// The contract module.
    pub module: Vec<u8>,
    /// Every party's deposit, in party order.
    pub deposits: Vec<u64>,
    /// This node's party index.
    pub me: u32,
    /// This party's private initial values: field index → value.
    pub private: BTreeMap<u32, u64>,
    /// The challenge period, seconds.
    pub challenge_period: u64,
}

/// A running node. Dropping it does not stop it; call [`Node::shutdown`].
#[derive(Debug, Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

fn files(path: &Path, e: impl std::fmt::Display) -> NodeError {
    NodeError::Files {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Creates `dir` (and its parents) with mode 0700, or checks an existing
/// one is not open to others.
fn private_dir(dir: &Path) -> Result<(), NodeError> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| files(dir, e))?;
    }
    let mode = std::fs::metadata(dir)
        .map_err(|e| files(dir, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(files(
            dir,
            format!(
                "the data directory is open to other users (mode {:o}); `chmod 700` it",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a synced file beside it, renamed
/// over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| files(&tmp, e))?;
    f.write_all(bytes).map_err(|e| files(&tmp, e))?;
    f.sync_all().map_err(|e| files(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| files(path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Node {
    /// Starts a node: see the module docs. Must run inside a multi-threaded
    /// tokio runtime.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let dir = config.data_dir.clone();
        private_dir(&dir)?;
        let control_path = dir.join("control.sock");
        if std::os::unix::net::UnixStream::connect(&control_path).is_ok() {
            return Err(NodeError::Running(dir.display().to_string()));
        }
        let key_path = dir.join("node.key");
        let key = if key_path.exists() {
            SigningKey::load(&key_path).map_err(|e| files(&key_path, e))?
        } else {
            let key = SigningKey::generate();
            key.save(&key_path).map_err(|e| files(&key_path, e))?;
            key
        };
        let identity = Identity::new(&key);
        let store = channel::blocking(|| SqliteStore::open(&dir.join("channels.db")))?;
        let contracts_dir = dir.join("contracts");
        if !contracts_dir.exists() {
            std::fs::create_dir(&contracts_dir).map_err(|e| files(&contracts_dir, e))?;
        }
        let chain_choice = config.chain.clone();
        let poll = config.poll;
        let chain_clock = config.chain_clock;
        let chain_key = key.duplicate();
        let chain = tokio::task::spawn_blocking(move || {
            ChainHandle::start(chain_choice, &chain_key, poll, chain_clock)
        })
        .await
        .map_err(|e| NodeError::Chain(crate::anchor::AnchorError::Backend(e.to_string())))??;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| NodeError::Listen {
                addr: config.listen,
                message: e.to_string(),
            })?;
        let listen = listener.local_addr().map_err(|e| NodeError::Listen {
            addr: config.listen,
            message: e.to_string(),
        })?;
        let sandbox = Arc::new(
            Sandbox::new(SandboxConfig::default())
                .map_err(|e| NodeError::Contract(format!("the sandbox does not start: {e}")))?,
        );
        let book = load_book(&dir.join("peers.json"))?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            key,
            identity,
            config,
            listen,
            store: Arc::new(Mutex::new(store)),
            chain,
            peers: Arc::new(Peers::default()),
            events: Arc::new(EventLog::default()),
            gate: Arc::new(channel::Gate::new(sandbox.config().max_concurrent_calls)),
            sandbox,
            contracts: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            invites: Mutex::new(HashMap::new()),
            early: Mutex::new(HashMap::new()),
            book: Mutex::new(book),
            dialing: Mutex::new(std::collections::HashSet::new()),
            shutdown,
        });
        shared.restore_channels()?;
        let node = Node { shared };
        tokio::spawn(listen_loop(node.shared.clone(), listener));
        tokio::spawn(dial_loop(node.shared.clone()));
        control::serve(node.clone(), &control_path).await?;
        tracing::info!(address = %node.shared.key.address(), listen = %listen, "node started");
        Ok(node)
    }

    /// What the node is.
    pub fn info(&self) -> NodeInfo {
        let s = &self.shared;
        let id = NodeId(s.identity.noise_public());
        let chain = s.chain.info();
        NodeInfo {
            node: format!("{id}@{}", s.listen),
            node_id: id.to_string(),
            address: s.key.address().to_string(),
            listen: s.listen.to_string(),
            control: s.config.data_dir.join("control.sock").display().to_string(),
            chain_id: chain.chain_id,
            adjudicator: chain.adjudicator.to_string(),
            embedded_chain: chain.embedded,
        }
    }

    /// The node's event log.
    pub fn events(&self) -> &EventLog {
        &self.shared.events
    }

    /// The chain.
    pub fn chain(&self) -> &ChainHandle {
        &self.shared.chain
    }

    /// Resolves once [`Node::shutdown`] is called.
    pub async fn stopped(&self) {
        let mut rx = self.shared.shutdown.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops the node: no new connection or request; every channel task
    /// ends after its current step (each step is committed before it is
    /// sent, so nothing is lost).
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        if let Ok(mut channels) = self.shared.channels.lock() {
            channels.clear();
        }
        self.shared.chain.stop();
        let _ = std::fs::remove_file(self.shared.config.data_dir.join("control.sock"));
    }

    /// Dials `peer`, adds it to the address book, and returns its channel
    /// identity once the connection is up.
    pub async fn connect(&self, peer: PeerAddr) -> Result<Address, NodeError> {
        let address = dial(&self.shared, peer).await?;
        let s = &self.shared;
        let changed = s
            .book
            .lock()
            .map(|mut b| b.insert(address, peer) != Some(peer))
            .unwrap_or(false);
        if changed {
            save_book(s)?;
        }
        Ok(address)
    }

    /// The connected peers.
    pub fn peers(&self) -> Vec<peers::Connected> {
        self.shared.peers.list()
    }

    /// Opens a channel: see the module docs. Returns its id.
    pub async fn open(&self, req: OpenRequest) -> Result<[u8; 32], NodeError> {
        let s = &self.shared;
        let contract = s.load_contract(req.module)?;
        let n = contract.artifact.abi().parties.len();
        if req.me as usize >= n || req.peers.len() + 1 != n {
            return Err(NodeError::Request(format!(
                "the contract has {n} parties: name {} peer(s) and this node's party index below {n}",
                n.saturating_sub(1)
            )));
        }
        let mut participants = req.peers.clone();
        participants.insert(req.me as usize, s.key.address());
        for p in &req.peers {
            if !s.peers.is_connected(p) {
                return Err(NodeError::NotConnected(p.to_string()));
            }
        }
        let chain = s.chain.info();
        let params = ChannelParams {
            participants: participants.clone(),
            nonce: rand::thread_rng().next_u64(),
            challenge_period: req.challenge_period,
            contract_id: contract.artifact.id(),
            asset: Address([0; 20]),
            adjudicator: chain.adjudicator,
            chain_id: chain.chain_id,
        };
        let id = params.channel_id();
        let (party, out) = contract.gate.run(|| {
            Party::open(
                contract.cx(),
                s.key.duplicate(),
                s.config.timing,
                params.clone(),
                req.me,
                req.deposits.clone(),
                &req.private,
                s.chain.now(),
                &mut rand::rngs::OsRng,
            )
        })?;
        let invite = encode_peer(&PeerMessage::Invite {
            params: params.clone(),
            deposits: req.deposits,
            module: contract.artifact.bytes().to_vec(),
        });
        // The channel is registered before the invitation leaves, so the
        // peer's answer finds it; its task starts (and sends this party's
        // `Open`) only after the invitation, so the peer meets them in
        // that order on the one connection.
        let start = s.register_channel(party, contract, Some(out), Vec::new());
        let mut sent = true;
        for p in &req.peers {
            sent &= s.peers.send(*p, invite.clone());
        }
        tokio::spawn(start);
        if !sent {
            // The opening times out and is abandoned; nothing was deposited.
            return Err(NodeError::NotConnected(
                "a peer disconnected while the invitation was sent".into(),
            ));
        }
        s.events.push(
            Some(id),
            "invited",
            serde_json::json!({ "to": req.peers.iter().map(ToString::to_string).collect::<Vec<_>>() }),
            "invitation sent".into(),
        );
        Ok(id)
    }

    /// Accepts the invitation to `channel` with this party's private
    /// initial values.
    pub fn accept(&self, channel: [u8; 32], private: BTreeMap<u32, u64>) -> Result<(), NodeError> {
        self.shared.accept(channel, &private)
    }

    /// Declines the invitation to `channel`.
    pub fn decline(&self, channel: [u8; 32], reason: &str) -> Result<(), NodeError> {
        let s = &self.shared;
        let invite = s
            .invites
            .lock()
            .ok()
            .and_then(|mut i| i.remove(&channel))
            .ok_or_else(|| NodeError::UnknownChannel(hex(&channel)))?;
        s.peers.send(
            invite.from,
            encode_peer(&PeerMessage::Decline {
                channel_id: channel,
                reason: reason.to_owned(),
            }),
        );
        Ok(())
    }

    /// The invitations waiting for an answer: (channel, inviter, contract
    /// name, deposits).
    pub fn invites(&self) -> Vec<([u8; 32], Address, String, Vec<u64>)> {
        self.shared.invites.lock().map_or_else(
            |_| Vec::new(),
            |i| {
                i.iter()
                    .map(|(id, inv)| {
                        (
                            *id,
                            inv.from,
                            inv.contract.artifact.abi().name.clone(),
                            inv.deposits.clone(),
                        )
                    })
                    .collect()
            },
        )
    }

    /// `get` of the running channel `channel`.
    fn entry<T>(
        &self,
        channel: &[u8; 32],
        get: impl FnOnce(&ChannelEntry) -> T,
    ) -> Result<T, NodeError> {
        self.shared
            .channels
            .lock()
            .ok()
            .and_then(|c| c.get(channel).map(get))
            .ok_or_else(|| NodeError::UnknownChannel(hex(channel)))
    }

    /// The contract a channel (or an invitation) runs.
    pub(crate) fn contract_of(&self, channel: &[u8; 32]) -> Option<Arc<LoadedContract>> {
        self.entry(channel, |e| e.contract.clone())
            .ok()
            .or_else(|| {
                self.shared
                    .invites
                    .lock()
                    .ok()
                    .and_then(|i| i.get(channel).map(|inv| inv.contract.clone()))
            })
    }

    /// A channel's status.
    pub fn status(&self, channel: &[u8; 32]) -> Result<ChannelStatus, NodeError> {
        self.entry(channel, |e| e.status.borrow().clone())
    }

    /// Every channel's status.
    pub fn list(&self) -> Vec<ChannelStatus> {
        let mut all: Vec<ChannelStatus> = self.shared.channels.lock().map_or_else(
            |_| Vec::new(),
            |c| c.values().map(|c| c.status.borrow().clone()).collect(),
        );
        all.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        all
    }

    /// The ids of the channels whose id starts with `prefix` (hex).
    pub fn find(&self, prefix: &str) -> Vec<[u8; 32]> {
        let prefix = prefix.trim_start_matches("0x").to_ascii_lowercase();
        let mut ids: Vec<[u8; 32]> = self.shared.channels.lock().map_or_else(
            |_| Vec::new(),
            |c| {
                c.keys()
                    .filter(|id| hex(*id).starts_with(&prefix))
                    .copied()
                    .collect()
            },
        );
        if let Ok(i) = self.shared.invites.lock() {
            ids.extend(i.keys().filter(|id| hex(*id).starts_with(&prefix)));
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Waits until `channel`'s status satisfies `done`, or `timeout`.
    pub async fn wait_for(
        &self,
        channel: &[u8; 32],
        timeout: Duration,
        done: impl Fn(&ChannelStatus) -> bool,
    ) -> Result<ChannelStatus, NodeError> {
        let mut rx = self.entry(channel, |e| e.status.clone())?;
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|s| done(s)).await.map(|s| s.clone())
        })
        .await;
        match waited {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(_)) => Err(NodeError::UnknownChannel(hex(channel))),
            Err(_) => Err(NodeError::Request(format!(
                "not done within {} s; the channel is {}",
                timeout.as_secs(),
                rx.borrow().phase
            ))),
        }
    }

    /// Calls `function(args)` on `channel` as this node's party: proposed
    /// now or queued behind the outstanding proposal. A call the contract
    /// refuses at once fails here, with its reason.
    pub async fn call(
        &self,
        channel: &[u8; 32],
        function: &str,
        args: Vec<sotto_contracts::abi::Value>,
    ) -> Result<(), NodeError> {
        self.op(
            channel,
            Op::Call {
                function: function.to_owned(),
                args,
            },
        )
        .await
    }

    /// Sends a request to a channel's task and waits for its answer.
    /// The channel's parameters, its latest fully signed state and every
    /// participant's signature on it (what a dispute registers), if it has
    /// one.
    pub async fn signed(&self, channel: &[u8; 32]) -> Result<Option<Signed>, NodeError> {
        let tx = self.entry(channel, |e| e.tx.clone())?;
        let (reply, rx) = oneshot::channel();
        tx.send(Box::new(Input::Signed { reply }))
            .await
            .map_err(|_| NodeError::UnknownChannel(hex(channel)))?;
        rx.await
            .map_err(|_| NodeError::UnknownChannel(hex(channel)))?
            .map_err(NodeError::Request)
    }

    pub(crate) async fn op(&self, channel: &[u8; 32], op: Op) -> Result<(), NodeError> {
        let tx = self.entry(channel, |e| e.tx.clone())?;
        let (reply, rx) = oneshot::channel();
        tx.send(Box::new(Input::Op { op, reply }))
            .await
            .map_err(|_| NodeError::UnknownChannel(hex(channel)))?;
        rx.await
            .map_err(|_| NodeError::UnknownChannel(hex(channel)))?
            .map_err(NodeError::Request)
    }
}

impl Shared {
    /// Loads (or finds) the contract of `module`, keeping its bytes in the
    /// data directory first.
    fn load_contract(&self, module: Vec<u8>) -> Result<Arc<LoadedContract>, NodeError> {
        let artifact = Artifact::from_bytes(module)
            .map_err(|e| NodeError::Contract(format!("not a sotto contract module: {e}")))?;
        let id = artifact.id();
        if let Some(c) = self.contracts.lock().ok().and_then(|c| c.get(&id).cloned()) {
            return Ok(c);
        }
        let loaded = channel::blocking(|| self.sandbox.load_artifact(&artifact))
            .map_err(|e| NodeError::Contract(format!("the module does not load: {e}")))?;
        let path = self
            .config
            .data_dir
            .join("contracts")
            .join(format!("{}.wasm", hex(&id)));
        if !path.exists() {
            write_atomic(&path, artifact.bytes())?;
        }
        let contract = Arc::new(LoadedContract {
            gate: self.gate.clone(),
            sandbox: self.sandbox.clone(),
            module: loaded,
            artifact,
        });
        if let Ok(mut c) = self.contracts.lock() {
            c.insert(id, contract.clone());
        }
        Ok(contract)
    }

    /// Starts the task of every channel in the store.
    fn restore_channels(&self) -> Result<(), NodeError> {
        let ids = {
            let store = self
                .store
                .lock()
                .map_err(|_| NodeError::Request("the store's lock is poisoned".into()))?;
            store.channels()?
        };
        let chain = self.chain.info();
        for (id, _) in ids {
            let loaded = {
                let Ok(store) = self.store.lock() else {
                    continue;
                };
                store.load(&id)?
            };
            let Some(loaded) = loaded else { continue };
            let restored = (|| -> Result<(Party, Arc<LoadedContract>), NodeError> {
                let rec = decode_record(&loaded.record).map_err(MachineError::from)?;
                if rec.params.chain_id != chain.chain_id
                    || rec.params.adjudicator != chain.adjudicator
                {
                    return Err(NodeError::Request(format!(
                        "it is on chain {} (adjudicator {}), this node runs chain {} (adjudicator {})",
                        rec.params.chain_id,
                        rec.params.adjudicator,
                        chain.chain_id,
                        chain.adjudicator
                    )));
                }
                let path = self
                    .config
                    .data_dir
                    .join("contracts")
                    .join(format!("{}.wasm", hex(&rec.params.contract_id)));
                let module = std::fs::read(&path).map_err(|e| files(&path, e))?;
                let contract = self.load_contract(module)?;
                let party = Party::restore(self.key.duplicate(), self.config.timing, &loaded)?;
                Ok((party, contract))
            })();
            match restored {
                Ok((party, contract)) => self.spawn_channel(party, contract, None, Vec::new()),
                Err(e) => {
                    tracing::error!(channel = %short(&id), error = %e, "a stored channel does not restore; it stays in the store untouched");
                    self.events.push(
                        Some(id),
                        "failure",
                        serde_json::json!({ "what": e.to_string() }),
                        format!("the stored channel does not restore: {e}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Starts a channel's task; `first`: the output of opening it; then
    /// `buffered` messages.
    fn spawn_channel(
        &self,
        party: Party,
        contract: Arc<LoadedContract>,
        first: Option<crate::channel::machine::Output>,
        buffered: Vec<(u32, Box<Message>)>,
    ) {
        tokio::spawn(self.register_channel(party, contract, first, buffered));
    }

    /// Registers a channel (frames for it are routed to its inbox from now
    /// on) and returns its task, to be spawned.
    fn register_channel(
        &self,
        party: Party,
        contract: Arc<LoadedContract>,
        first: Option<crate::channel::machine::Output>,
        buffered: Vec<(u32, Box<Message>)>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let participants = party.record().params.participants.clone();
        let id = party.record().params.channel_id();
        let (task, status) = ChannelTask::new(
            party,
            self.key.duplicate(),
            self.config.timing,
            contract.clone(),
            self.store.clone(),
            self.chain.clone(),
            self.peers.clone(),
            self.events.clone(),
        );
        let (tx, rx) = mpsc::channel(INBOX);
        for (from, message) in buffered {
            let _ = tx.try_send(Box::new(Input::Peer { from, message }));
        }
        if let Ok(mut channels) = self.channels.lock() {
            channels.insert(
                id,
                ChannelEntry {
                    tx: tx.clone(),
                    contract,
                    status,
                    participants: participants.clone(),
                },
            );
        }
        // Messages that came while the invitation was being accepted (it
        // was no longer held, the channel not yet registered). Taken after
        // the channel is registered: `keep_early` looks for the channel
        // under the same lock, so none is left behind.
        let early = self.early.lock().ok().and_then(|mut e| e.remove(&id));
        for (sender, message) in early.map(|(_, _, m)| m).unwrap_or_default() {
            if let Some(from) = index_of(&participants, &sender) {
                let _ = tx.try_send(Box::new(Input::Peer { from, message }));
            }
        }
        task.run(rx, first)
    }

    fn accept(&self, channel: [u8; 32], private: &BTreeMap<u32, u64>) -> Result<(), NodeError> {
        let invite = self
            .invites
            .lock()
            .ok()
            .and_then(|mut i| i.remove(&channel))
            .ok_or_else(|| NodeError::UnknownChannel(hex(&channel)))?;
        let opened = invite.contract.gate.run(|| {
            Party::open(
                invite.contract.cx(),
                self.key.duplicate(),
                self.config.timing,
                invite.params.clone(),
                invite.me,
                invite.deposits.clone(),
                private,
                self.chain.now(),
                &mut rand::rngs::OsRng,
            )
        });
        let (party, out) = match opened {
            Ok(x) => x,
            Err(e) => {
                // Put it back: the user may answer again.
                if let Ok(mut i) = self.invites.lock() {
                    i.insert(channel, invite);
                }
                return Err(e.into());
            }
        };
        self.events.push(
            Some(channel),
            "accepted",
            serde_json::json!({ "from": invite.from.to_string() }),
            format!("accepted the invitation from {}", invite.from),
        );
        self.spawn_channel(party, invite.contract, Some(out), invite.buffered);
        Ok(())
    }

    /// An invitation from `from`: checked, then held or accepted.
    fn on_invite(
        &self,
        from: Address,
        params: ChannelParams,
        deposits: Vec<u64>,
        module: Vec<u8>,
    ) -> Result<(), String> {
        let id = params.channel_id();
        let me = self.key.address();
        let decline = |reason: String| {
            tracing::info!(channel = %short(&id), peer = %from, "declined an invitation: {reason}");
            self.peers.send(
                from,
                encode_peer(&PeerMessage::Decline {
                    channel_id: id,
                    reason: reason.clone(),
                }),
            );
            Ok(())
        };
        let known = self.channels.lock().is_ok_and(|c| c.contains_key(&id))
            || self.invites.lock().is_ok_and(|i| i.contains_key(&id));
        if known {
            return Ok(());
        }
        let Some(my_index) = index_of(&params.participants, &me) else {
            return decline("this node is not a participant".into());
        };
        if params.participants.iter().filter(|a| **a == me).count() != 1
            || index_of(&params.participants, &from).is_none()
        {
            return decline("the inviter and this node must each be one participant".into());
        }
        let chain = self.chain.info();
        if params.chain_id != chain.chain_id || params.adjudicator != chain.adjudicator {
            return decline(format!(
                "this node runs chain {} with adjudicator {}",
                chain.chain_id, chain.adjudicator
            ));
        }
        let contract = match self.load_contract(module) {
            Ok(c) => c,
            Err(e) => return decline(e.to_string()),
        };
        if contract.artifact.id() != params.contract_id {
            return decline("the module is not the contract the parameters name".into());
        }
        if self.invites.lock().is_ok_and(|i| i.len() >= MAX_INVITES) {
            return decline("too many invitations are waiting".into());
        }
        let name = contract.artifact.abi().name.clone();
        // What other participants sent before the invitation came.
        let early: Vec<(u32, Box<Message>)> = self
            .early
            .lock()
            .ok()
            .and_then(|mut e| e.remove(&id))
            .map(|(_, _, messages)| {
                messages
                    .into_iter()
                    .filter_map(|(sender, m)| {
                        index_of(&params.participants, &sender).map(|i| (i, m))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(mut i) = self.invites.lock() {
            i.insert(
                id,
                Invite {
                    from,
                    params,
                    deposits: deposits.clone(),
                    contract,
                    me: my_index,
                    buffered: early,
                },
            );
        }
        self.events.push(
            Some(id),
            "invitation",
            serde_json::json!({ "from": from.to_string(), "contract": name, "deposits": deposits }),
            format!("{from} invites this node to a `{name}` channel"),
        );
        if self.config.auto_accept
            && let Err(e) = self.accept(id, &BTreeMap::new())
        {
            tracing::warn!(channel = %short(&id), error = %e, "accepting an invitation failed");
        }
        Ok(())
    }
}

impl Shared {
    /// Keeps a message for a channel this node has no invitation for yet,
    /// within bounds; `false` if it was dropped.
    /// `size`: the message's bytes on the wire.
    fn keep_early(
        &self,
        channel: [u8; 32],
        from: Address,
        message: Box<Message>,
        size: usize,
    ) -> bool {
        let Ok(mut early) = self.early.lock() else {
            return false;
        };
        // Registered meanwhile: straight to it.
        let registered = self.channels.lock().ok().and_then(|c| {
            c.get(&channel)
                .map(|e| (e.tx.clone(), index_of(&e.participants, &from)))
        });
        if let Some((tx, index)) = registered {
            return index
                .is_some_and(|from| tx.try_send(Box::new(Input::Peer { from, message })).is_ok());
        }
        let now = std::time::Instant::now();
        early.retain(|_, (since, _, _)| now.duration_since(*since) < EARLY_FOR);
        let held: usize = early.values().map(|(_, bytes, _)| bytes).sum();
        if held.saturating_add(size) > EARLY_BYTES
            || (!early.contains_key(&channel) && early.len() >= MAX_EARLY)
        {
            return false;
        }
        let (_, bytes, messages) = early.entry(channel).or_insert_with(|| (now, 0, Vec::new()));
        if messages.len() >= MAX_BUFFERED {
            return false;
        }
        *bytes += size;
        messages.push((from, message));
        true
    }
}

impl FrameSink for Shared {
    async fn on_frame(&self, from: Address, frame: Vec<u8>) -> Result<(), String> {
        let size = frame.len();
        let message = decode_peer(&frame).map_err(|e| e.to_string())?;
        match message {
            PeerMessage::Channel {
                channel_id,
                message,
            } => {
                let target = self.channels.lock().ok().and_then(|c| {
                    c.get(&channel_id)
                        .map(|e| (e.tx.clone(), index_of(&e.participants, &from)))
                });
                match target {
                    Some((tx, Some(index))) => {
                        // Waits if the channel is busy: that slows this
                        // peer's connection only.
                        let _ = tx
                            .send(Box::new(Input::Peer {
                                from: index,
                                message,
                            }))
                            .await;
                    }
                    Some((_, None)) => {
                        tracing::warn!(peer = %from, channel = %short(&channel_id), "a message for a channel the peer is not a participant of; ignored");
                    }
                    None => {
                        // Held for the invitation it belongs to, or, if
                        // that has not come yet, for a while.
                        let mut held = None;
                        let mut keep = Some(message);
                        if let Ok(mut invites) = self.invites.lock()
                            && let Some(invite) = invites.get_mut(&channel_id)
                        {
                            held = Some(false);
                            if invite.buffered.len() < MAX_BUFFERED
                                && let Some(index) = index_of(&invite.params.participants, &from)
                                && let Some(m) = keep.take()
                            {
                                invite.buffered.push((index, m));
                                held = Some(true);
                            }
                        }
                        let kept = match (held, keep) {
                            (Some(kept), _) => kept,
                            (None, Some(m)) => self.keep_early(channel_id, from, m, size),
                            (None, None) => false,
                        };
                        if !kept {
                            tracing::debug!(peer = %from, channel = %short(&channel_id), "a message for a channel this node does not know; dropped");
                        }
                    }
                }
                Ok(())
            }
            PeerMessage::Invite {
                params,
                deposits,
                module,
            } => channel::blocking(|| self.on_invite(from, params, deposits, module)),
            PeerMessage::Decline { channel_id, reason } => {
                tracing::info!(peer = %from, channel = %short(&channel_id), "the peer declined: {reason}");
                self.events.push(
                    Some(channel_id),
                    "declined",
                    serde_json::json!({ "by": from.to_string(), "reason": reason }),
                    format!("{from} declined the invitation: {reason}"),
                );
                Ok(())
            }
        }
    }

    async fn on_up(&self, from: Address) {
        let targets: Vec<(mpsc::Sender<Box<Input>>, u32)> = self.channels.lock().map_or_else(
            |_| Vec::new(),
            |c| {
                c.values()
                    .filter_map(|e| index_of(&e.participants, &from).map(|i| (e.tx.clone(), i)))
                    .collect()
            },
        );
        for (tx, party) in targets {
            let _ = tx.send(Box::new(Input::Reconnected { party })).await;
        }
    }
}

/// Accepts peers' connections, each in a task of its own: one stalled
/// handshake holds up nobody else.
async fn listen_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (stream, from) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let me = shared.key.address();
            let conn = net::accept(stream, &shared.identity, &shared.config.net, |p| {
                p.address != me
            })
            .await;
            match conn {
                Ok(conn) => {
                    let local = NodeId(shared.identity.noise_public());
                    peers::serve(&shared.peers.clone(), shared.clone(), conn, false, local).await;
                }
                Err(e) => tracing::info!(from = %from, error = %e, "refused a connection"),
            }
        });
    }
}

/// Dials `peer` and serves the connection in a task; returns the peer's
/// address once it is up.
async fn dial(shared: &Arc<Shared>, peer: PeerAddr) -> Result<Address, NodeError> {
    let fail = |message: String| NodeError::Connect {
        peer: peer.to_string(),
        message,
    };
    let stream = tokio::time::timeout(
        shared.config.net.handshake_timeout,
        TcpStream::connect(peer.addr),
    )
    .await
    .map_err(|_| fail("no answer".into()))?
    .map_err(|e| fail(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let conn = net::connect(stream, &shared.identity, peer.id, &shared.config.net)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let address = conn.peer().address;
    let local = NodeId(shared.identity.noise_public());
    let task_shared = shared.clone();
    tokio::spawn(async move {
        let peers = task_shared.peers.clone();
        peers::serve(&peers, task_shared, conn, true, local).await;
    });
    // Registered by the serving task: wait for it briefly.
    for _ in 0..100 {
        if shared.peers.is_connected(&address) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(address)
}

/// Keeps the peers of the address book connected, retrying with backoff.
async fn dial_loop(shared: Arc<Shared>) {
    let mut stop = shared.shutdown.subscribe();
    let mut backoff: HashMap<Address, (tokio::time::Instant, Duration)> = HashMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
        let book: Vec<(Address, PeerAddr)> = shared.book.lock().map_or_else(
            |_| Vec::new(),
            |b| b.iter().map(|(a, p)| (*a, *p)).collect(),
        );
        for (address, peer) in book {
            if shared.peers.is_connected(&address) {
                backoff.remove(&address);
                continue;
            }
            let now = tokio::time::Instant::now();
            if backoff.get(&address).is_some_and(|(at, _)| *at > now) {
                continue;
            }
            let already = shared
                .dialing
                .lock()
                .map(|mut d| !d.insert(address))
                .unwrap_or(true);
            if already {
                continue;
            }
            let wait = backoff
                .get(&address)
                .map_or(Duration::from_millis(250), |(_, w)| {
                    (*w * 2).min(Duration::from_secs(10))
                });
            backoff.insert(address, (now + wait, wait));
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = dial(&shared, peer).await {
                    tracing::debug!(peer = %address, error = %e, "redialling failed");
                }
                if let Ok(mut d) = shared.dialing.lock() {
                    d.remove(&address);
                }
            });
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BookEntry {
    address: String,
    node: String,
}

fn load_book(path: &Path) -> Result<HashMap<Address, PeerAddr>, NodeError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let bytes = std::fs::read(path).map_err(|e| files(path, e))?;
    let entries: Vec<BookEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| files(path, format!("not an address book: {e}")))?;
    let mut book = HashMap::new();
    for e in entries {
        let address: Address = e
            .address
            .parse()
            .map_err(|_| files(path, format!("`{}` is not an address", e.address)))?;
        let peer: PeerAddr = e
            .node
            .parse()
            .map_err(|_| files(path, format!("`{}` is not NODEID@HOST:PORT", e.node)))?;
        book.insert(address, peer);
    }
    Ok(book)
}

fn save_book(shared: &Shared) -> Result<(), NodeError> {
    let mut entries: Vec<BookEntry> = shared.book.lock().map_or_else(
        |_| Vec::new(),
        |b| {
            b.iter()
                .map(|(a, p)| BookEntry {
                    address: a.to_string(),
                    node: p.to_string(),
                })
                .collect()
        },
    );
    entries.sort_by(|a, b| a.address.cmp(&b.address));
    let bytes =
        serde_json::to_vec_pretty(&entries).map_err(|e| NodeError::Request(e.to_string()))?;
    write_atomic(&shared.config.data_dir.join("peers.json"), &bytes)
}
