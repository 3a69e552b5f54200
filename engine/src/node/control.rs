//! The control API: how a node's user (the `sotto channel` commands, a
//! test, a program) drives it.
//!
//! JSON over the Unix socket `control.sock` in the node's data directory:
//! a client writes one request as a line of JSON and reads one answer line,
//! `{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}`; it may
//! send several requests on one connection. A Unix socket rather than HTTP
//! on loopback: the socket file is 0600 in a 0700 directory, so only the
//! node's owner can drive it, with no token to manage, and any other local
//! user is kept out by the file system.
//!
//! Requests (`op` names the request; see [`Request`] for the fields):
//! `info`, `peers`, `connect`, `open`, `invites`, `accept`, `decline`,
//! `call`, `reveal`, `close`, `dispute`, `status`, `signed` (the latest
//! fully signed state, its signatures and the channel's parameters: what a
//! registration needs), `list`, `events`, `wait`,
//! `advance` (development chains) and `stop`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sotto_contracts::abi::{Abi, Function, Value, ValueType};
use thiserror::Error;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};

use super::channel::{ChannelStatus, Op};
use super::{Node, NodeError, OpenRequest, files};
use crate::net::PeerAddr;
use crate::state::{Address, ChannelParams, Signature, State};
use crate::store::hex;

/// The longest request line taken (a request carries a contract module).
pub const MAX_REQUEST: usize = 16 << 20;

/// The longest any single wait may last.
const MAX_WAIT: Duration = Duration::from_secs(3600);

fn default_period() -> u64 {
    3600
}

fn default_timeout() -> u64 {
    60_000
}

fn default_limit() -> usize {
    1000
}

/// A control request. See the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// What the node is ([`super::NodeInfo`]).
    Info,
    /// The connected peers.
    Peers,
    /// Dial a peer and keep it in the address book.
    Connect {
        /// `NODEID@HOST:PORT`.
        peer: String,
    },
    /// Open a channel.
    Open {
        /// The other participants in party order: `NODEID@HOST:PORT`
        /// (dialled if needed) or the address of a connected peer.
        peers: Vec<String>,
        /// The contract module, hex.
        module: String,
        /// Every party's deposit, in party order.
        deposits: Vec<u64>,
        /// This node's party: its name or index (default: the first).
        #[serde(default)]
        me: Option<Json>,
        /// This party's private initial values by field name.
        #[serde(default)]
        private: BTreeMap<String, u64>,
        /// The challenge period, seconds.
        #[serde(default = "default_period")]
        challenge_period: u64,
        /// Wait until the channel is open (funded), up to `timeout_ms`.
        #[serde(default)]
        wait: bool,
        /// How long to wait, milliseconds.
        #[serde(default = "default_timeout")]
        timeout_ms: u64,
    },
    /// The invitations waiting for an answer.
    Invites,
    /// Accept an invitation.
    Accept {
        /// The channel (id or unique prefix).
        channel: String,
        /// This party's private initial values by field name.
        #[serde(default)]
        private: BTreeMap<String, u64>,
    },
    /// Decline an invitation.
    Decline {
        /// The channel.
        channel: String,
        /// Why (sent to the inviter).
        #[serde(default)]
        reason: String,
    },
    /// Call a function of the channel's contract as this node's party.
    Call {
        /// The channel.
        channel: String,
        /// The function.
        function: String,
        /// Its arguments by parameter name (private ones included).
        #[serde(default)]
        args: serde_json::Map<String, Json>,
        /// Wait until the call is fully signed (or refused).
        #[serde(default)]
        wait: bool,
        /// How long to wait, milliseconds.
        #[serde(default = "default_timeout")]
        timeout_ms: u64,
    },
    /// Reveal one of this party's private fields to the other parties.
    Reveal {
        /// The channel.
        channel: String,
        /// The field's name.
        field: String,
    },
    /// Close cooperatively.
    Close {
        /// The channel.
        channel: String,
        /// Wait until it is settled on chain.
        #[serde(default)]
        wait: bool,
        /// How long to wait, milliseconds.
        #[serde(default = "default_timeout")]
        timeout_ms: u64,
    },
    /// Register the latest fully signed state on chain now.
    Dispute {
        /// The channel.
        channel: String,
    },
    /// One channel's status.
    Status {
        /// The channel.
        channel: String,
    },
    /// The latest fully signed state and its signatures ([`signed_json`]).
    Signed {
        /// The channel.
        channel: String,
    },
    /// Every channel's status.
    List,
    /// The node's events after number `since`.
    Events {
        /// The last event number seen (0: from the first kept).
        #[serde(default)]
        since: u64,
        /// Only this channel's.
        #[serde(default)]
        channel: Option<String>,
        /// Wait up to this long for one if there is none.
        #[serde(default)]
        wait_ms: u64,
        /// At most this many.
        #[serde(default = "default_limit")]
        limit: usize,
    },
    /// Wait until a channel reaches a version, a phase, idleness, or a
    /// registration on chain.
    Wait {
        /// The channel.
        channel: String,
        /// At least this version.
        #[serde(default)]
        version: Option<u64>,
        /// This phase.
        #[serde(default)]
        phase: Option<String>,
        /// Nothing outstanding.
        #[serde(default)]
        idle: bool,
        /// A state of at least this version registered on chain.
        #[serde(default)]
        registered: Option<u64>,
        /// How long to wait, milliseconds.
        #[serde(default = "default_timeout")]
        timeout_ms: u64,
    },
    /// Move a development chain's clock forward.
    Advance {
        /// Seconds.
        seconds: u64,
    },
    /// Stop the node.
    Stop,
}

/// Binds the control socket (0600) and serves it in a task.
pub(crate) async fn serve(node: Node, path: &Path) -> Result<(), NodeError> {
    use std::os::unix::fs::PermissionsExt as _;
    // A socket file left by a node that died: nothing answers it (checked
    // by the caller), so it can go.
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| files(path, e))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| files(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| files(path, e))?;
    let mut stop = node.shared.shutdown.subscribe();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => return,
            };
            match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(node.clone(), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the control socket failed to accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

async fn connection(node: Node, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Read one line, refusing one over the limit without holding it.
        let mut limited = (&mut lines).take(MAX_REQUEST as u64 + 1);
        let n = match tokio::io::AsyncBufReadExt::read_until(&mut limited, b'\n', &mut line).await {
            Ok(n) => n,
            Err(_) => return,
        };
        if n == 0 {
            return;
        }
        let answer = if line.len() > MAX_REQUEST {
            json!({ "ok": false, "error": format!("the request is over {MAX_REQUEST} bytes") })
        } else {
            match serde_json::from_slice::<Request>(&line) {
                Ok(request) => {
                    let stop = matches!(request, Request::Stop);
                    let answer = match handle(&node, request).await {
                        Ok(result) => json!({ "ok": true, "result": result }),
                        Err(e) => json!({ "ok": false, "error": e.to_string() }),
                    };
                    if stop {
                        let mut bytes = answer.to_string().into_bytes();
                        bytes.push(b'\n');
                        let _ = write.write_all(&bytes).await;
                        let _ = write.flush().await;
                        node.shutdown();
                        return;
                    }
                    answer
                }
                Err(e) => json!({ "ok": false, "error": format!("not a request: {e}") }),
            }
        };
        let mut bytes = answer.to_string().into_bytes();
        bytes.push(b'\n');
        if write.write_all(&bytes).await.is_err() {
            return;
        }
        if line.len() > MAX_REQUEST {
            return;
        }
    }
}

/// The one channel a request names (id or unique prefix).
fn channel_id(node: &Node, given: &str) -> Result<[u8; 32], NodeError> {
    let found = node.find(given);
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(NodeError::UnknownChannel(given.to_owned())),
        _ => Err(NodeError::Request(format!(
            "`{given}` names {} channels; give more of the id",
            found.len()
        ))),
    }
}

/// The contract a channel (or an invitation) runs.
fn contract(
    node: &Node,
    id: &[u8; 32],
) -> Result<std::sync::Arc<super::channel::LoadedContract>, NodeError> {
    node.contract_of(id)
        .ok_or_else(|| NodeError::UnknownChannel(hex(id)))
}

fn wait_time(ms: u64) -> Duration {
    Duration::from_millis(ms).min(MAX_WAIT)
}

fn to_json<T: Serialize>(v: &T) -> Result<Json, NodeError> {
    serde_json::to_value(v).map_err(|e| NodeError::Request(e.to_string()))
}

async fn handle(node: &Node, request: Request) -> Result<Json, NodeError> {
    match request {
        Request::Info => to_json(&node.info()),
        Request::Peers => Ok(Json::Array(
            node.peers()
                .into_iter()
                .map(|p| {
                    json!({ "address": p.address.to_string(), "node_id": p.id.to_string(), "outbound": p.outbound })
                })
                .collect(),
        )),
        Request::Connect { peer } => {
            let peer: PeerAddr = peer
                .parse()
                .map_err(|e| NodeError::Request(format!("{e}")))?;
            let address = node.connect(peer).await?;
            Ok(json!({ "address": address.to_string() }))
        }
        Request::Open {
            peers,
            module,
            deposits,
            me,
            private,
            challenge_period,
            wait,
            timeout_ms,
        } => {
            let module = decode_hex(&module)
                .ok_or_else(|| NodeError::Request("`module` is not hex".into()))?;
            let artifact = sotto_contracts::Artifact::from_bytes(module.clone())
                .map_err(|e| NodeError::Contract(format!("not a sotto contract module: {e}")))?;
            let abi = artifact.abi();
            let me = match &me {
                None => 0,
                Some(v) => party_of(abi, v)?,
            };
            let mut addresses = Vec::new();
            for p in &peers {
                addresses.push(peer_address(node, p).await?);
            }
            let private = private_fields(abi, me, &private)?;
            let id = node
                .open(OpenRequest {
                    peers: addresses,
                    module,
                    deposits,
                    me,
                    private,
                    challenge_period,
                })
                .await?;
            if wait {
                let s = node
                    .wait_for(&id, wait_time(timeout_ms), |s| {
                        s.phase == "open" || s.phase == "closed"
                    })
                    .await?;
                if s.phase != "open" {
                    return Err(NodeError::Request(format!(
                        "the channel did not open: {}",
                        s.last_failure.unwrap_or_else(|| "abandoned".into())
                    )));
                }
            }
            Ok(json!({ "channel": hex(&id) }))
        }
        Request::Invites => Ok(Json::Array(
            node.invites()
                .into_iter()
                .map(|(id, from, contract, deposits)| {
                    json!({ "channel": hex(&id), "from": from.to_string(), "contract": contract, "deposits": deposits })
                })
                .collect(),
        )),
        Request::Accept { channel, private } => {
            let id = channel_id(node, &channel)?;
            let contract = contract(node, &id)?;
            let me = node
                .shared
                .invites
                .lock()
                .ok()
                .and_then(|i| i.get(&id).map(|inv| inv.me))
                .ok_or_else(|| NodeError::UnknownChannel(channel.clone()))?;
            let private = private_fields(contract.artifact.abi(), me, &private)?;
            node.accept(id, private)?;
            Ok(json!({ "channel": hex(&id) }))
        }
        Request::Decline { channel, reason } => {
            let id = channel_id(node, &channel)?;
            node.decline(id, &reason)?;
            Ok(json!({ "channel": hex(&id) }))
        }
        Request::Call {
            channel,
            function,
            args,
            wait,
            timeout_ms,
        } => {
            let id = channel_id(node, &channel)?;
            let contract = contract(node, &id)?;
            let abi = contract.artifact.abi();
            let (_, f) = abi
                .function(&function)
                .ok_or_else(|| NodeError::Request(format!("`{}` has no function `{function}`", abi.name)))?;
            let values = call_args(abi, f, &args)?;
            let before = node.status(&id)?;
            node.op(&id, Op::Call { function, args: values }).await?;
            if !wait {
                return Ok(json!({ "channel": hex(&id), "queued": true }));
            }
            let from = before.version.unwrap_or(0);
            let s = node
                .wait_for(&id, wait_time(timeout_ms), |s| {
                    (s.idle && s.version.unwrap_or(0) > from) || s.failures > before.failures
                })
                .await?;
            if s.failures > before.failures && !(s.idle && s.version.unwrap_or(0) > from) {
                return Err(NodeError::Request(
                    s.last_failure.unwrap_or_else(|| "the call failed".into()),
                ));
            }
            status_json(&s)
        }
        Request::Reveal { channel, field } => {
            let id = channel_id(node, &channel)?;
            let contract = contract(node, &id)?;
            let index = contract
                .artifact
                .abi()
                .fields
                .iter()
                .position(|f| f.name == field)
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| NodeError::Request(format!("no field `{field}`")))?;
            node.op(&id, Op::Reveal { field: index }).await?;
            Ok(json!({ "channel": hex(&id) }))
        }
        Request::Close {
            channel,
            wait,
            timeout_ms,
        } => {
            let id = channel_id(node, &channel)?;
            // A finished contract's final state goes to the chain by
            // itself: closing it again only waits.
            let phase = node.status(&id)?.phase;
            if phase != "closing" && phase != "closed" {
                node.op(&id, Op::Close).await?;
            }
            if !wait {
                return Ok(json!({ "channel": hex(&id) }));
            }
            let s = node
                .wait_for(&id, wait_time(timeout_ms), |s| s.concluded.is_some())
                .await?;
            status_json(&s)
        }
        Request::Dispute { channel } => {
            let id = channel_id(node, &channel)?;
            node.op(&id, Op::Dispute).await?;
            Ok(json!({ "channel": hex(&id) }))
        }
        Request::Status { channel } => {
            let id = channel_id(node, &channel)?;
            status_json(&node.status(&id)?)
        }
        Request::Signed { channel } => {
            let id = channel_id(node, &channel)?;
            Ok(match node.signed(&id).await? {
                Some((params, state, signatures)) => signed_json(&params, &state, &signatures),
                None => Json::Null,
            })
        }
        Request::List => to_json(&node.list()),
        Request::Events {
            since,
            channel,
            wait_ms,
            limit,
        } => {
            let channel = match channel {
                Some(c) => Some(hex(&channel_id(node, &c)?)),
                None => None,
            };
            let events = node
                .events()
                .wait(since, channel.as_deref(), limit, wait_time(wait_ms))
                .await;
            to_json(&events)
        }
        Request::Wait {
            channel,
            version,
            phase,
            idle,
            registered,
            timeout_ms,
        } => {
            let id = channel_id(node, &channel)?;
            let s = node
                .wait_for(&id, wait_time(timeout_ms), |s| {
                    version.is_none_or(|v| s.version.is_some_and(|x| x >= v))
                        && phase.as_ref().is_none_or(|p| &s.phase == p)
                        && (!idle || s.idle)
                        && registered.is_none_or(|v| s.registered.is_some_and(|x| x >= v))
                })
                .await?;
            status_json(&s)
        }
        Request::Advance { seconds } => {
            node.chain().advance(seconds).await?;
            Ok(json!({ "now": node.chain().now() }))
        }
        Request::Stop => Ok(json!({ "stopping": true })),
    }
}

fn status_json(s: &ChannelStatus) -> Result<Json, NodeError> {
    to_json(s)
}

/// A peer named as `NODEID@HOST:PORT` (dialled if not connected) or as
/// the address of a connected peer.
async fn peer_address(node: &Node, given: &str) -> Result<Address, NodeError> {
    if given.contains('@') {
        let peer: PeerAddr = given
            .parse()
            .map_err(|e| NodeError::Request(format!("{e}")))?;
        if let Some(p) = node.peers().into_iter().find(|p| p.id == peer.id) {
            return Ok(p.address);
        }
        return node.connect(peer).await;
    }
    let address: Address = given
        .parse()
        .map_err(|e| NodeError::Request(format!("{e}")))?;
    Ok(address)
}

/// A party named by name or index.
fn party_of(abi: &Abi, v: &Json) -> Result<u32, NodeError> {
    let index = match v {
        Json::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Json::String(s) => abi.parties.iter().position(|p| p == s),
        _ => None,
    };
    index
        .filter(|i| *i < abi.parties.len())
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| {
            NodeError::Request(format!(
                "`{v}` is not a party of `{}` ({})",
                abi.name,
                abi.parties.join(", ")
            ))
        })
}

/// Private initial values by field name → by index; each must be a
/// private field of party `me`.
fn private_fields(
    abi: &Abi,
    me: u32,
    given: &BTreeMap<String, u64>,
) -> Result<BTreeMap<u32, u64>, NodeError> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        let index = abi
            .fields
            .iter()
            .position(|f| &f.name == name && f.owner == Some(me))
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| {
                NodeError::Request(format!(
                    "`{name}` is not a private field of {}",
                    abi.parties
                        .get(me as usize)
                        .map_or("this party", String::as_str)
                ))
            })?;
        out.insert(index, *value);
    }
    Ok(out)
}

/// A call's arguments by parameter name → in parameter order, each
/// converted to its type: `u64` from a number or a decimal string, `bool`
/// from a boolean or `"true"`/`"false"`, `bytes32` from 64 hex digits, a
/// party from its name or index.
pub fn call_args(
    abi: &Abi,
    f: &Function,
    args: &serde_json::Map<String, Json>,
) -> Result<Vec<Value>, NodeError> {
    if let Some(extra) = args
        .keys()
        .find(|k| !f.params.iter().any(|p| &p.name == *k))
    {
        return Err(NodeError::Request(format!(
            "`{}` has no parameter `{extra}`; it takes {}",
            f.name,
            f.signature()
        )));
    }
    let mut out = Vec::with_capacity(f.params.len());
    for p in &f.params {
        let v = args.get(&p.name).ok_or_else(|| {
            NodeError::Request(format!(
                "`{}` needs `{}`: {}",
                f.name,
                p.name,
                f.signature()
            ))
        })?;
        let bad = || NodeError::Request(format!("`{}`: `{v}` is not a {}", p.name, p.ty));
        let value = match p.ty {
            ValueType::U64 => Value::U64(match v {
                Json::Number(n) => n.as_u64().ok_or_else(bad)?,
                Json::String(s) => s.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            }),
            ValueType::Bool => Value::Bool(match v {
                Json::Bool(b) => *b,
                Json::String(s) if s == "true" => true,
                Json::String(s) if s == "false" => false,
                _ => return Err(bad()),
            }),
            ValueType::Bytes32 => {
                let s = v.as_str().ok_or_else(bad)?;
                let bytes = decode_hex(s.trim_start_matches("0x")).ok_or_else(bad)?;
                Value::Bytes32(bytes.try_into().map_err(|_| bad())?)
            }
            ValueType::Party => Value::Party(party_of(abi, v).map_err(|_| bad())?),
        };
        out.push(value);
    }
    Ok(out)
}

/// A fully signed state as the `signed` request answers it, with the
/// channel's parameters (what a registration needs besides):
/// `{"params": {...}, "channel_id", "version", "commitment", "allocation",
/// "is_final", "signatures"}`, byte strings in hex.
pub fn signed_json(params: &ChannelParams, state: &State, signatures: &[Signature]) -> Json {
    json!({
        "params": {
            "participants": params.participants.iter().map(|a| hex(&a.0)).collect::<Vec<_>>(),
            "nonce": params.nonce,
            "challenge_period": params.challenge_period,
            "contract_id": hex(&params.contract_id),
            "asset": hex(&params.asset.0),
            "adjudicator": hex(&params.adjudicator.0),
            "chain_id": params.chain_id,
        },
        "channel_id": hex(&state.channel_id),
        "version": state.version,
        "commitment": hex(&state.commitment),
        "allocation": state.allocation,
        "is_final": state.is_final,
        "signatures": signatures.iter().map(|s| hex(&s.0)).collect::<Vec<_>>(),
    })
}

/// The parameters, state and signatures of a [`signed_json`] answer;
/// `None` if it is not one.
pub fn signed_from_json(v: &Json) -> Option<(ChannelParams, State, Vec<Signature>)> {
    fn bytes<const N: usize>(v: &Json) -> Option<[u8; N]> {
        decode_hex(v.as_str()?)?.try_into().ok()
    }
    let p = &v["params"];
    let params = ChannelParams {
        participants: p["participants"]
            .as_array()?
            .iter()
            .map(|a| bytes(a).map(Address))
            .collect::<Option<_>>()?,
        nonce: p["nonce"].as_u64()?,
        challenge_period: p["challenge_period"].as_u64()?,
        contract_id: bytes(&p["contract_id"])?,
        asset: Address(bytes(&p["asset"])?),
        adjudicator: Address(bytes(&p["adjudicator"])?),
        chain_id: p["chain_id"].as_u64()?,
    };
    let state = State {
        channel_id: bytes(&v["channel_id"])?,
        version: v["version"].as_u64()?,
        commitment: bytes(&v["commitment"])?,
        allocation: v["allocation"]
            .as_array()?
            .iter()
            .map(Json::as_u64)
            .collect::<Option<_>>()?,
        is_final: v["is_final"].as_bool()?,
    };
    let signatures = v["signatures"]
        .as_array()?
        .iter()
        .map(|s| bytes(s).map(Signature))
        .collect::<Option<_>>()?;
    Some((params, state, signatures))
}

/// Lower- or upper-case hex (an even number of digits) → bytes.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()))
        .collect()
}

/// Why a control request did not get an answer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No node answers at the socket.
    #[error(
        "no node runs with {dir}: start one with `sotto node --node {dir}` (or point --node at the data directory of the one that runs)"
    )]
    NotRunning {
        /// The data directory.
        dir: String,
    },
    /// The node refused the request.
    #[error("{0}")]
    Refused(String),
    /// The connection failed.
    #[error("the node's control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The node answered something that is not an answer.
    #[error("the node answered something unexpected: {0}")]
    BadAnswer(String),
}

/// Sends `request` to the node whose data directory is `dir` and returns
/// its result. `timeout`: how long to wait for the answer.
pub fn request(dir: &Path, request: &Json, timeout: Duration) -> Result<Json, ClientError> {
    let path = dir.join("control.sock");
    let mut stream =
        std::os::unix::net::UnixStream::connect(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning {
                    dir: dir.display().to_string(),
                }
            }
            _ => ClientError::Io(e),
        })?;
    stream.set_read_timeout(Some(timeout))?;
    let mut line = request.to_string().into_bytes();
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer)?;
    let answer: Json =
        serde_json::from_str(&answer).map_err(|e| ClientError::BadAnswer(e.to_string()))?;
    match answer.get("ok").and_then(Json::as_bool) {
        Some(true) => Ok(answer.get("result").cloned().unwrap_or(Json::Null)),
        Some(false) => Err(ClientError::Refused(
            answer
                .get("error")
                .and_then(Json::as_str)
                .unwrap_or("refused")
                .to_owned(),
        )),
        None => Err(ClientError::BadAnswer(answer.to_string())),
    }
}

/// Fuzz body for the control API's request decoding
/// (`fuzz/fuzz_targets/control.rs`, `engine/tests/fuzz_control.rs`): any
/// bytes as a request line must decode or be refused, never panic; a call's
/// arguments are converted against the payment and negotiation contracts'
/// ABIs, and a decoded request re-encodes to one that decodes the same.
pub fn fuzz_request(data: &[u8]) {
    static ABIS: std::sync::OnceLock<Vec<Abi>> = std::sync::OnceLock::new();
    let abis = ABIS.get_or_init(|| {
        sotto_contracts::library::LIBRARY
            .iter()
            .filter(|(n, _)| *n == "payment" || *n == "negotiation")
            .filter_map(|(_, src)| sotto_contracts::compile(src).ok())
            .map(|b| b.artifact.abi().clone())
            .collect()
    });
    let Ok(request) = serde_json::from_slice::<Request>(data) else {
        return;
    };
    let again = serde_json::to_vec(&request).unwrap_or_default();
    let decoded = serde_json::from_slice::<Request>(&again);
    assert!(decoded.is_ok(), "a request does not survive re-encoding");
    match &request {
        Request::Call { function, args, .. } => {
            for abi in abis {
                if let Some((_, f)) = abi.function(function) {
                    let _ = call_args(abi, f, args);
                }
            }
        }
        Request::Open {
            me: Some(me),
            private,
            ..
        } => {
            for abi in abis {
                if let Ok(i) = party_of(abi, me) {
                    let _ = private_fields(abi, i, private);
                }
            }
        }
        Request::Open { module, .. } => {
            let _ = decode_hex(module);
        }
        _ => {}
    }
}
