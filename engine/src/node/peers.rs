//! The node's connections: one per peer node, each with a reader task and
//! a writer task.
//!
//! A channel task hands a frame to [`Peers::send`], which queues it for the
//! peer's writer without waiting. A peer that does not read its frames
//! fills its queue ([`QUEUE`] frames); it is then disconnected rather than
//! allowed to hold anyone up, and what it missed is resent when it comes
//! back (each channel resynchronises on reconnection). The reader hands
//! each frame to the node (`FrameSink::on_frame`), which routes it to
//! its channel; a channel slow to take it slows that peer's reader only.
//!
//! One connection per peer: when a second one comes up (both dialled at
//! once, or the peer restarted and dialled again before the old connection
//! was seen to die), the newer one is kept if both go the same way, and
//! otherwise the one dialled by the node with the lower static key, a rule
//! both ends apply alike.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::net::{Connection, NodeId};
use crate::state::Address;

/// Frames queued for one peer before it counts as not reading.
pub const QUEUE: usize = 4096;

struct Conn {
    id: NodeId,
    serial: u64,
    /// Whether this node dialled it.
    outbound: bool,
    tx: mpsc::Sender<Vec<u8>>,
}

/// See the module docs.
#[derive(Default)]
pub struct Peers {
    conns: Mutex<HashMap<Address, Conn>>,
    serial: AtomicU64,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

/// A connected peer, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// Its channel identity.
    pub address: Address,
    /// Its node id.
    pub id: NodeId,
    /// Whether this node dialled it.
    pub outbound: bool,
}

impl Peers {
    /// Queues `frame` for the peer `to`; `false` if it is not connected (or
    /// was just disconnected for not reading).
    pub fn send(&self, to: Address, frame: Vec<u8>) -> bool {
        let Ok(mut conns) = self.conns.lock() else {
            return false;
        };
        let Some(conn) = conns.get(&to) else {
            return false;
        };
        match conn.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(peer = %to, "the peer does not read its frames; disconnecting it");
                conns.remove(&to);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                conns.remove(&to);
                false
            }
        }
    }

    /// Whether `address` is connected.
    pub fn is_connected(&self, address: &Address) -> bool {
        self.conns
            .lock()
            .is_ok_and(|c| c.get(address).is_some_and(|c| !c.tx.is_closed()))
    }

    /// The connected peers.
    pub fn list(&self) -> Vec<Connected> {
        self.conns.lock().map_or_else(
            |_| Vec::new(),
            |c| {
                c.iter()
                    .map(|(a, c)| Connected {
                        address: *a,
                        id: c.id,
                        outbound: c.outbound,
                    })
                    .collect()
            },
        )
    }

    /// Takes a new connection to `address`: `Some(serial, receiver of its
    /// frames to write)` if it is kept (see the module docs), `None` if the
    /// existing one is kept instead. `local` is this node's id.
    fn register(
        &self,
        address: Address,
        id: NodeId,
        outbound: bool,
        local: NodeId,
    ) -> Option<(u64, mpsc::Receiver<Vec<u8>>)> {
        let mut conns = self.conns.lock().ok()?;
        if let Some(old) = conns.get(&address)
            && !old.tx.is_closed()
            && old.outbound != outbound
        {
            // Different ways: keep the one the lower key dialled.
            let dialer_of = |outbound: bool| if outbound { local } else { id };
            if dialer_of(old.outbound).0 < dialer_of(outbound).0 {
                return None;
            }
        }
        let serial = self.serial.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(QUEUE);
        conns.insert(
            address,
            Conn {
                id,
                serial,
                outbound,
                tx,
            },
        );
        Some((serial, rx))
    }

    /// Forgets connection `serial` of `address` (if it is still the one
    /// kept).
    fn unregister(&self, address: &Address, serial: u64) {
        if let Ok(mut conns) = self.conns.lock()
            && conns.get(address).is_some_and(|c| c.serial == serial)
        {
            conns.remove(address);
        }
    }
}

/// What a connection's reader hands the node.
pub(crate) trait FrameSink: Send + Sync + 'static {
    /// A frame from `from`. An error ends the connection.
    fn on_frame(
        &self,
        from: Address,
        frame: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
    /// The connection to `from` came up.
    fn on_up(&self, from: Address) -> impl std::future::Future<Output = ()> + Send;
}

/// Runs an established connection until either side ends it: registers it
/// (or drops it if an existing one is kept), writes what is queued, reads
/// and hands over what arrives.
pub(crate) async fn serve<S, K>(
    peers: &Peers,
    sink: std::sync::Arc<K>,
    conn: Connection<S>,
    outbound: bool,
    local: NodeId,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    K: FrameSink,
{
    let peer = *conn.peer();
    let address = peer.address;
    let Some((serial, mut rx)) = peers.register(address, peer.id, outbound, local) else {
        tracing::debug!(peer = %address, "a second connection to the peer; keeping the first");
        return;
    };
    tracing::info!(peer = %address, outbound, "connected");
    let (mut reader, mut writer) = conn.into_split();
    let write = async move {
        while let Some(frame) = rx.recv().await {
            if let Err(e) = writer.send(&frame).await {
                tracing::info!(peer = %address, error = %e, "writing to the peer failed");
                break;
            }
        }
    };
    let sink_up = sink.clone();
    let read = async move {
        sink_up.on_up(address).await;
        loop {
            match reader.recv().await {
                Ok(Some(frame)) => {
                    if let Err(e) = sink.on_frame(address, frame).await {
                        tracing::warn!(peer = %address, error = %e, "the peer sent a frame that does not decode; disconnecting it");
                        break;
                    }
                }
                Ok(None) => {
                    tracing::info!(peer = %address, "the peer closed the connection");
                    break;
                }
                Err(e) => {
                    tracing::warn!(peer = %address, error = %e, "the connection failed");
                    break;
                }
            }
        }
    };
    // Either half ending ends the connection.
    tokio::select! {
        () = write => {}
        () = read => {}
    }
    peers.unregister(&address, serial);
}
