//! The chain thread: the node's one [`Anchor`], on a thread of its own.
//!
//! The anchor backends are synchronous (the JSON-RPC one blocks on a
//! runtime of its own, which may not run inside the node's), and a chain
//! call can take as long as a block. So the anchor lives on one OS thread
//! that takes requests over a queue: channel tasks await their calls'
//! receipts without holding a worker of the node's runtime, and one slow
//! chain call delays only the channels that wait for it.
//!
//! The thread also watches: every `poll` (and right after each call it
//! submits) it reads the new events of every channel it was asked to watch
//! and hands them to that channel's task, in order. And it keeps the node's
//! clock ([`Clock`]): the wall clock plus the seconds a development chain
//! was moved forward, never behind the chain's own time, so deadlines and
//! challenge periods are counted on the chain's time. The embedded chain is
//! moved to the node's clock before each call, so its blocks carry real
//! timestamps.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::anchor::{
    Anchor, AnchorCall, AnchorError, ChainEvent, EmbeddedChain, Receipt, RpcChain, RpcOptions,
};
use crate::state::{Address, ChannelParams, SigningKey};

/// Which chain a node anchors its channels on.
#[derive(Debug, Clone)]
pub enum ChainChoice {
    /// The embedded EVM, in this process, kept in `file` if given (so a
    /// restarted node finds its chain again). Only this node's channels
    /// can be on it: two nodes need a chain they share (`Rpc`).
    Embedded {
        /// Where the chain is kept.
        file: Option<std::path::PathBuf>,
        /// Its chain id.
        chain_id: u64,
    },
    /// An EVM node over JSON-RPC (anvil in tests, a real network in
    /// production).
    Rpc {
        /// The node's URL (`http://`).
        url: String,
        /// Confirmations, the adjudicator's address, timeouts.
        options: RpcOptions,
    },
}

impl Default for ChainChoice {
    fn default() -> Self {
        ChainChoice::Embedded {
            file: None,
            chain_id: 31337,
        }
    }
}

/// The node's clock, in seconds: see the module docs.
#[derive(Debug, Default)]
pub struct Clock {
    skew: AtomicU64,
    chain: AtomicU64,
    /// The chain's time only, never the wall clock's: for a development
    /// chain whose time moves only when it is told to.
    chain_only: bool,
}

impl Clock {
    /// Now.
    pub fn now(&self) -> u64 {
        if self.chain_only {
            return self.chain.load(Ordering::Relaxed);
        }
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        wall.saturating_add(self.skew.load(Ordering::Relaxed))
            .max(self.chain.load(Ordering::Relaxed))
    }
}

/// What the chain is: for channel parameters and `sotto node info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainInfo {
    /// The chain id.
    pub chain_id: u64,
    /// The adjudicator's address.
    pub adjudicator: Address,
    /// Whether its clock can be moved (a development chain).
    pub embedded: bool,
}

enum Request {
    Submit {
        params: Box<ChannelParams>,
        call: Box<AnchorCall>,
        reply: oneshot::Sender<Result<Receipt, AnchorError>>,
    },
    /// Every event of the channel so far; from then on, the new ones go to
    /// `to`.
    Watch {
        channel_id: [u8; 32],
        to: mpsc::UnboundedSender<Box<ChainEvent>>,
        reply: oneshot::Sender<Result<Vec<ChainEvent>, AnchorError>>,
    },
    /// Every event of the channel so far (the watch is unchanged).
    Events {
        channel_id: [u8; 32],
        reply: oneshot::Sender<Result<Vec<ChainEvent>, AnchorError>>,
    },
    Unwatch {
        channel_id: [u8; 32],
    },
    Advance {
        seconds: u64,
        reply: oneshot::Sender<Result<(), AnchorError>>,
    },
    Stop,
}

/// A handle on the chain thread; cheap to clone.
#[derive(Clone)]
pub struct ChainHandle {
    tx: std_mpsc::Sender<Request>,
    info: ChainInfo,
    clock: Arc<Clock>,
}

impl std::fmt::Debug for ChainHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainHandle")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn gone() -> AnchorError {
    AnchorError::Backend("the chain thread stopped".into())
}

impl ChainHandle {
    /// Starts the chain thread: connects to (or creates) the chain,
    /// sending as `sender` on a JSON-RPC chain (on the embedded chain its
    /// address is funded with development coins), and polls every `poll`.
    /// `chain_clock`: the node's time is the chain's latest block time
    /// only (see [`Clock`]).
    pub fn start(
        choice: ChainChoice,
        sender: &SigningKey,
        poll: Duration,
        chain_clock: bool,
    ) -> Result<Self, AnchorError> {
        let (tx, rx) = std_mpsc::channel();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let clock = Arc::new(Clock {
            chain_only: chain_clock,
            ..Clock::default()
        });
        let thread_clock = clock.clone();
        // The embedded chain needs only the address (to fund it); a JSON-RPC
        // chain signs its transactions with the node's key.
        let address = sender.address();
        let rpc_key = match &choice {
            ChainChoice::Rpc { .. } => Some(sender.duplicate()),
            ChainChoice::Embedded { .. } => None,
        };
        std::thread::Builder::new()
            .name("sotto-chain".into())
            .spawn(move || {
                let anchor: Result<(Box<dyn Anchor>, bool), AnchorError> = match choice {
                    ChainChoice::Embedded { file, chain_id } => {
                        open_embedded(file.as_deref(), chain_id, address)
                            .map(|c| (Box::new(c) as Box<dyn Anchor>, true))
                    }
                    ChainChoice::Rpc { url, options } => match rpc_key {
                        Some(key) => RpcChain::connect_with(&url, key, &options)
                            .map(|c| (Box::new(c) as Box<dyn Anchor>, false)),
                        None => Err(AnchorError::Backend("no key for the chain".into())),
                    },
                };
                match anchor {
                    Ok((anchor, embedded)) => {
                        thread_clock
                            .chain
                            .fetch_max(anchor.now(), Ordering::Relaxed);
                        let info = ChainInfo {
                            chain_id: anchor.chain_id(),
                            adjudicator: anchor.adjudicator(),
                            embedded,
                        };
                        if ready_tx.send(Ok(info)).is_err() {
                            return;
                        }
                        Thread {
                            anchor,
                            embedded,
                            watched: HashMap::new(),
                            clock: thread_clock,
                        }
                        .run(&rx, poll);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| AnchorError::Backend(format!("cannot start the chain thread: {e}")))?;
        let info = ready_rx.recv().map_err(|_| gone())??;
        Ok(ChainHandle { tx, info, clock })
    }

    /// The chain's id and adjudicator.
    pub fn info(&self) -> ChainInfo {
        self.info
    }

    /// The node's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Submits `call` for the channel of `params` and waits for its receipt.
    pub async fn submit(
        &self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Submit {
                params: Box::new(params.clone()),
                call: Box::new(call.clone()),
                reply,
            })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Every event of the channel so far; the later ones go to `to`.
    pub async fn watch(
        &self,
        channel_id: [u8; 32],
        to: mpsc::UnboundedSender<Box<ChainEvent>>,
    ) -> Result<Vec<ChainEvent>, AnchorError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Watch {
                channel_id,
                to,
                reply,
            })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Every event of the channel so far.
    pub async fn events(&self, channel_id: [u8; 32]) -> Result<Vec<ChainEvent>, AnchorError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Events { channel_id, reply })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Stops watching the channel.
    pub fn unwatch(&self, channel_id: [u8; 32]) {
        let _ = self.tx.send(Request::Unwatch { channel_id });
    }

    /// Moves a development chain's clock (and the node's) `seconds`
    /// forward; a real network refuses.
    pub async fn advance(&self, seconds: u64) -> Result<(), AnchorError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Advance { seconds, reply })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Stops the thread (after the requests already queued).
    pub fn stop(&self) {
        let _ = self.tx.send(Request::Stop);
    }
}

fn open_embedded(
    file: Option<&std::path::Path>,
    chain_id: u64,
    fund: Address,
) -> Result<EmbeddedChain, AnchorError> {
    let backend = |e: crate::anchor::EmbeddedError| AnchorError::Backend(e.to_string());
    let mut chain = match file {
        Some(path) => EmbeddedChain::open(path, chain_id).map_err(backend)?,
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            EmbeddedChain::with_genesis(chain_id, now).map_err(backend)?
        }
    };
    // The participant holds coins of its own, as a real one does (paying
    // an address that does not exist yet costs more gas).
    if chain.balance(fund) == 0 {
        chain
            .fund(fund, 1_000_000_000_000_000_000_000)
            .map_err(backend)?;
    }
    Ok(chain)
}

struct Watched {
    cursor: usize,
    to: mpsc::UnboundedSender<Box<ChainEvent>>,
}

struct Thread {
    anchor: Box<dyn Anchor>,
    embedded: bool,
    watched: HashMap<[u8; 32], Watched>,
    clock: Arc<Clock>,
}

impl Thread {
    fn run(mut self, rx: &std_mpsc::Receiver<Request>, poll: Duration) {
        self.tick();
        loop {
            match rx.recv_timeout(poll) {
                Ok(Request::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                Ok(request) => {
                    self.handle(request);
                    // Answer whatever else is queued before polling.
                    while let Ok(next) = rx.try_recv() {
                        if matches!(next, Request::Stop) {
                            return;
                        }
                        self.handle(next);
                    }
                    self.poll();
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => self.poll(),
            }
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Submit {
                params,
                call,
                reply,
            } => {
                self.catch_up_clock();
                let result = self.anchor.submit(&params, &call);
                if let Err(e) = &result {
                    tracing::warn!(call = call.name(), error = %e, "the chain refused a call");
                }
                let _ = reply.send(result);
            }
            Request::Watch {
                channel_id,
                to,
                reply,
            } => {
                let result = self.anchor.events(&channel_id, 0);
                match result {
                    Ok((events, cursor)) => {
                        self.watched.insert(channel_id, Watched { cursor, to });
                        let _ = reply.send(Ok(events));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Events { channel_id, reply } => {
                let _ = reply.send(self.anchor.events(&channel_id, 0).map(|(e, _)| e));
            }
            Request::Unwatch { channel_id } => {
                self.watched.remove(&channel_id);
            }
            Request::Advance { seconds, reply } => {
                let result = self.anchor.advance(seconds);
                if result.is_ok() {
                    self.clock.skew.fetch_add(seconds, Ordering::Relaxed);
                }
                self.tick();
                let _ = reply.send(result);
            }
            Request::Stop => {}
        }
    }

    /// Moves the embedded chain to the node's clock, so a call's block
    /// carries the time the node acts at.
    fn catch_up_clock(&mut self) {
        if !self.embedded {
            return;
        }
        let (node, chain) = (self.clock.now(), self.anchor.now());
        if node > chain
            && let Err(e) = self.anchor.advance(node - chain)
        {
            tracing::warn!(error = %e, "the embedded chain's clock did not move");
        }
    }

    fn tick(&mut self) {
        self.clock
            .chain
            .fetch_max(self.anchor.now(), Ordering::Relaxed);
    }

    fn poll(&mut self) {
        self.tick();
        let mut closed = Vec::new();
        for (id, w) in &mut self.watched {
            match self.anchor.events(id, w.cursor) {
                Ok((events, next)) => {
                    w.cursor = next;
                    for e in events {
                        if w.to.send(Box::new(e)).is_err() {
                            closed.push(*id);
                            break;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the chain's events failed"),
            }
        }
        for id in closed {
            self.watched.remove(&id);
        }
    }
}
