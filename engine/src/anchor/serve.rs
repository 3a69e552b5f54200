//! The embedded chain served over Ethereum JSON-RPC: see [`ServedChain`].
//!
//! [`EmbeddedChain`] lives in one process; two `sotto node` processes need
//! a chain they share, and a newcomer should not have to install anvil for
//! it. This module puts a loopback HTTP/1.1 server in front of an embedded
//! chain that speaks the subset of Ethereum's JSON-RPC that
//! [`super::RpcChain`] (alloy) and development tools use, so that any
//! number of processes reach the same chain as
//! `--chain http://127.0.0.1:PORT`.
//!
//! Two layers:
//!
//! - **HTTP** (hyper 1, HTTP/1.1 with keep-alive, on a current-thread tokio
//!   runtime on a thread of its own): `POST` only; a body over
//!   [`MAX_BODY`] is refused with 413 before it is read (by its declared
//!   length, or as it streams); at most [`MAX_CONNECTIONS`] connections;
//!   headers must arrive within [`HEADER_TIMEOUT`].
//! - **JSON-RPC 2.0** ([`answer`], synchronous, and what the fuzz target
//!   drives): single requests, batches of up to [`MAX_BATCH`], and
//!   notifications (no answer). An id is echoed as the number or string it
//!   was (numbers are parsed exactly, serde_json's `float_roundtrip`, so a
//!   float id, or an integer beyond 64 bits, comes back as the same double;
//!   the `jsonrpc` fuzz target found the inexact parse that did not).
//!   Malformed JSON is `-32700`, a value that is
//!   not a request `-32600`, an unknown method `-32601`, wrong parameters
//!   `-32602`; a revert is code `3` with the revert data in `data`, as geth
//!   and anvil answer it (alloy decodes the adjudicator's custom errors from
//!   it); a refused transaction is `-32003` or `-32000` with the reason.
//!
//! **Architecture invariant:** nothing a client sends can panic the server
//! or change the chain unless it is a valid request that a development
//! node accepts (a signed transaction, `anvil_setBalance`,
//! `evm_increaseTime`, `evm_mine`); every refusal is a JSON-RPC error and
//! changes nothing. The server binds loopback addresses only: it has no
//! authentication, and anyone who reaches it can set balances.
//!
//! **The chain's rules as a node sees them:** transactions are mined at
//! once, one block each (no pool: a nonce ahead of the account's is
//! refused, not queued); state queries (`eth_call`, `eth_getBalance`, ...)
//! answer for the latest block only (no archive); `eth_getBlockByNumber`
//! gives transaction hashes only (`false` as its second parameter).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use alloy_consensus::{
    Eip658Value, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxEnvelope,
};
use alloy_primitives::{Address as EvmAddress, B256, Bytes, Log as PrimitiveLog, U64, U256};
use alloy_provider::network::eip2718::Decodable2718 as _;
use alloy_rpc_types_eth::{
    Block, BlockId, BlockNumberOrTag, BlockTransactions, FeeHistory, Filter, FilterBlockOption,
    Header, Log, TransactionReceipt, TransactionRequest,
};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use revm::context::TxEnv;
use revm::context::result::ExecutionResult;
use revm::primitives::TxKind;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

use super::embedded::{
    BASE_FEE, BLOCK_GAS_LIMIT, BlockRecord, EmbeddedChain, EmbeddedError, MinedTransaction,
    SendError, TX_GAS_LIMIT,
};
use super::{Anchor as _, AnchorError};
use crate::state::{Address, Signature, recover};

/// The largest request body accepted, in bytes (a register call's
/// transaction is a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;

/// The most requests one batch may hold.
pub const MAX_BATCH: usize = 100;

/// The most connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most logs one `eth_getLogs` answers with (as public nodes cap it).
pub const MAX_LOGS: usize = 10_000;

/// The priority fee (wei per gas) the chain suggests: the smallest alloy
/// offers. With a base fee of 0 it is the whole gas price.
const SUGGESTED_TIP: u128 = 1;

/// Why a chain could not be served, or a host's change to it failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address to listen on is not a loopback address: the server has
    /// no authentication.
    #[error(
        "{0} is not a loopback address: the served chain has no authentication (anyone who reaches it can set balances); listen on 127.0.0.1"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be bound (most often: another program has the
    /// port).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The server's thread or runtime could not be started.
    #[error("the server could not start: {0}")]
    Start(std::io::Error),
    /// The chain refused a change (its file could not be written, or the
    /// clock cannot move that far).
    #[error(transparent)]
    Chain(#[from] EmbeddedError),
    /// The chain refused to move its clock.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
}

/// An [`EmbeddedChain`] served over Ethereum JSON-RPC on a loopback port,
/// from a thread of its own, until it is stopped or dropped.
///
/// [`super::RpcChain`] works against it unchanged (`url()` as the node URL,
/// `adjudicator()` as the deployed adjudicator), and so do development
/// tools that speak to anvil: it answers `anvil_setBalance`,
/// `evm_increaseTime` and `evm_mine`. The host keeps in-process access:
/// [`ServedChain::fund`], [`ServedChain::advance`],
/// [`ServedChain::transactions`] (every mined transaction with its receipt)
/// and [`ServedChain::with_chain`] for anything else. Requests and host
/// calls take turns on one lock, so each sees the chain between blocks.
///
/// A chain opened from a file ([`EmbeddedChain::open`]) persists every
/// block before it is answered for, and a server started on it later (on
/// the same port, if it is free) serves the chain as it was.
pub struct ServedChain {
    chain: Arc<Mutex<EmbeddedChain>>,
    addr: SocketAddr,
    url: String,
    adjudicator: Address,
    chain_id: u64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedChain")
            .field("url", &self.url)
            .field("chain_id", &self.chain_id)
            .field("adjudicator", &self.adjudicator)
            .finish_non_exhaustive()
    }
}

impl ServedChain {
    /// Serves `chain` on `listen`, which must be a loopback address (port
    /// 0: a free port, see [`ServedChain::url`]). Returns once the port is
    /// bound: requests are answered from then on.
    pub fn start(chain: EmbeddedChain, listen: SocketAddr) -> Result<Self, ServeError> {
        if !listen.ip().is_loopback() {
            return Err(ServeError::NotLoopback(listen));
        }
        let listener =
            std::net::TcpListener::bind(listen).map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Start)?;
        listener.set_nonblocking(true).map_err(ServeError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Start)?;
        let adjudicator = chain.adjudicator();
        let chain_id = chain.chain_id();
        let chain = Arc::new(Mutex::new(chain));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = Arc::clone(&chain);
        let thread = std::thread::Builder::new()
            .name("sotto-chain-rpc".into())
            .spawn(move || runtime.block_on(accept(listener, shared, stopped)))
            .map_err(ServeError::Start)?;
        Ok(ServedChain {
            chain,
            addr,
            url: format!("http://{addr}"),
            adjudicator,
            chain_id,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Serves `chain` on 127.0.0.1 and a free port.
    pub fn on_free_port(chain: EmbeddedChain) -> Result<Self, ServeError> {
        ServedChain::start(chain, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The JSON-RPC URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The adjudicator's address: what `--adjudicator` and channel
    /// parameters name.
    pub fn adjudicator(&self) -> Address {
        self.adjudicator
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Runs `f` on the chain, between requests (for anything the other
    /// methods do not offer).
    pub fn with_chain<T>(&self, f: impl FnOnce(&mut EmbeddedChain) -> T) -> T {
        f(&mut lock(&self.chain))
    }

    /// Adds `wei` to `who`'s balance (a development chain's faucet).
    pub fn fund(&self, who: Address, wei: u128) -> Result<(), ServeError> {
        Ok(lock(&self.chain).fund(who, wei)?)
    }

    /// Sets `who`'s balance (as `anvil_setBalance`).
    pub fn set_balance(&self, who: Address, wei: u128) -> Result<(), ServeError> {
        Ok(lock(&self.chain).set_balance(who, wei)?)
    }

    /// `who`'s balance in wei.
    pub fn balance(&self, who: Address) -> u128 {
        lock(&self.chain).balance(who)
    }

    /// Moves the clock `seconds` forward and mines an empty block (as
    /// `evm_increaseTime` then `evm_mine`).
    pub fn advance(&self, seconds: u64) -> Result<(), ServeError> {
        Ok(lock(&self.chain).advance(seconds)?)
    }

    /// The latest block's timestamp.
    pub fn now(&self) -> u64 {
        lock(&self.chain).now()
    }

    /// The latest block's number.
    pub fn block_number(&self) -> u64 {
        lock(&self.chain).block_number()
    }

    /// Every transaction the chain mined, in chain order, with its receipt
    /// (sender, recipient, calldata, gas used, status, logs); the
    /// adjudicator's deployment first on a new chain.
    pub fn transactions(&self) -> Vec<MinedTransaction> {
        self.transactions_from(0)
    }

    /// The mined transactions from the `from`-th on (for a host that reads
    /// them as they come).
    pub fn transactions_from(&self, from: usize) -> Vec<MinedTransaction> {
        lock(&self.chain)
            .transactions()
            .get(from..)
            .unwrap_or_default()
            .to_vec()
    }

    /// Stops the server: no new connection is accepted, open ones are
    /// closed, and the thread is joined. (Dropping it does the same.)
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServedChain {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The chain, also after a panic elsewhere while it was held (a bug): each
/// change is one closure over the world, so what it holds is a chain
/// between blocks.
fn lock(chain: &Mutex<EmbeddedChain>) -> MutexGuard<'_, EmbeddedChain> {
    chain.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections until `stopped`; each is served on a task of its
/// own, dropped with the runtime when this returns.
async fn accept(
    listener: std::net::TcpListener,
    chain: Arc<Mutex<EmbeddedChain>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("the chain's JSON-RPC listener: {e}");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            _ = &mut stopped => return,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        // The semaphore is never closed: an error here is a bug.
        let Ok(slot) = slot else { return };
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather
                    // than spin.
                    tracing::warn!("the chain's JSON-RPC listener: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let chain = Arc::clone(&chain);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let chain = Arc::clone(&chain);
                async move { Ok::<_, Infallible>(respond(&chain, request).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("a JSON-RPC connection ended: {e}");
            }
            drop(slot);
        });
    }
}

/// One HTTP exchange.
async fn respond(
    chain: &Mutex<EmbeddedChain>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        let mut response = http_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "JSON-RPC requests are POSTed",
        );
        response
            .headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("POST"));
        return response;
    }
    // Step 1) refuse an oversized body by its declared length, unread.
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    // Step 2) read it, refusing it as soon as it streams past the limit.
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(e) => {
            return http_error(StatusCode::BAD_REQUEST, &format!("the body: {e}"));
        }
    };
    // Step 3) answer it.
    match answer(chain, &body) {
        Some(json) => Response::builder()
            .status(StatusCode::OK)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(json)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
        None => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
    }
}

fn too_large() -> Response<Full<Bytes>> {
    let mut response = http_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is over {MAX_BODY} bytes"),
    );
    // The body is left unread: the connection cannot carry another request.
    response
        .headers_mut()
        .insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

/// An HTTP error whose body is a JSON-RPC error (for clients that read
/// only the body).
fn http_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = failure(Value::Null, RpcError::new(-32600, message)).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body.into_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn params(message: impl Into<String>) -> Self {
        RpcError::new(-32602, message)
    }

    fn server(message: impl Into<String>) -> Self {
        RpcError::new(-32000, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        RpcError::new(-32603, message)
    }

    fn rejected(message: impl Into<String>) -> Self {
        RpcError::new(-32003, message)
    }
}

fn success(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn failure(id: Value, error: RpcError) -> Value {
    let mut e = json!({"code": error.code, "message": error.message});
    if let (Some(data), Some(object)) = (error.data, e.as_object_mut()) {
        object.insert("data".into(), data);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": e})
}

/// The JSON-RPC answer to an HTTP request body: `None` when it held only
/// notifications (requests without an `id`), which get no answer.
pub(super) fn answer(chain: &Mutex<EmbeddedChain>, body: &[u8]) -> Option<Vec<u8>> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            let error = RpcError::new(-32700, format!("parse error: {e}"));
            return Some(failure(Value::Null, error).to_string().into_bytes());
        }
    };
    let answer = match request {
        Value::Array(batch) if batch.is_empty() => Some(failure(
            Value::Null,
            RpcError::new(-32600, "an empty batch"),
        )),
        Value::Array(batch) if batch.len() > MAX_BATCH => Some(failure(
            Value::Null,
            RpcError::new(-32600, format!("a batch of more than {MAX_BATCH} requests")),
        )),
        Value::Array(batch) => {
            let answers: Vec<Value> = batch.into_iter().filter_map(|r| one(chain, r)).collect();
            (!answers.is_empty()).then_some(Value::Array(answers))
        }
        single => one(chain, single),
    };
    answer.map(|a| a.to_string().into_bytes())
}

/// The answer to one request of a body (`None` for a notification).
fn one(chain: &Mutex<EmbeddedChain>, request: Value) -> Option<Value> {
    let Value::Object(mut request) = request else {
        return Some(failure(
            Value::Null,
            RpcError::new(-32600, "a request is a JSON object"),
        ));
    };
    let id = request.remove("id");
    let valid_id = match &id {
        None | Some(Value::Null | Value::Number(_) | Value::String(_)) => true,
        Some(_) => false,
    };
    let reply_id = id.clone().filter(|_| valid_id).unwrap_or(Value::Null);
    let invalid = |message: &str| Some(failure(reply_id.clone(), RpcError::new(-32600, message)));
    if !valid_id {
        return invalid("the id is a number, a string or null");
    }
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("\"jsonrpc\" must be \"2.0\"");
    }
    let Some(Value::String(method)) = request.remove("method") else {
        return invalid("the method is a string");
    };
    let params = match request.remove("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(params)) => params,
        Some(_) => return invalid("params are a JSON array"),
    };
    let outcome = dispatch(&mut lock(chain), &method, &params);
    // A notification gets no answer, not even an error.
    let id = id?;
    Some(match outcome {
        Ok(result) => success(id, result),
        Err(error) => failure(id, error),
    })
}

/// The `i`-th parameter, which must be there.
fn param<T: DeserializeOwned>(params: &[Value], i: usize, what: &str) -> Result<T, RpcError> {
    let value = params
        .get(i)
        .ok_or_else(|| RpcError::params(format!("missing parameter {i}: {what}")))?;
    serde_json::from_value(value.clone())
        .map_err(|e| RpcError::params(format!("parameter {i} ({what}): {e}")))
}

/// The `i`-th parameter, if it is there and not null.
fn optional<T: DeserializeOwned>(
    params: &[Value],
    i: usize,
    what: &str,
) -> Result<Option<T>, RpcError> {
    match params.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => param(params, i, what).map(Some),
    }
}

/// Refuses more than `n` parameters.
fn at_most(params: &[Value], n: usize) -> Result<(), RpcError> {
    if params.len() > n {
        return Err(RpcError::params(format!(
            "at most {n} parameters, not {}",
            params.len()
        )));
    }
    Ok(())
}

fn quantity(n: impl std::fmt::LowerHex) -> Value {
    Value::String(format!("{n:#x}"))
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::internal(format!("encoding: {e}")))
}

/// A whole number given as a JSON number or a quantity string.
fn number(params: &[Value], i: usize, what: &str) -> Result<u64, RpcError> {
    match params.get(i) {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| RpcError::params(format!("parameter {i} ({what}) is not a u64"))),
        _ => param::<U64>(params, i, what).map(|n| n.to::<u64>()),
    }
}

/// One method.
fn dispatch(chain: &mut EmbeddedChain, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    match method {
        "eth_chainId" => {
            at_most(params, 0)?;
            Ok(quantity(chain.chain_id()))
        }
        "net_version" => {
            at_most(params, 0)?;
            Ok(Value::String(chain.chain_id().to_string()))
        }
        "web3_clientVersion" => {
            at_most(params, 0)?;
            Ok(Value::String(format!(
                "sotto-embedded-chain/{}",
                env!("CARGO_PKG_VERSION")
            )))
        }
        "eth_accounts" => {
            at_most(params, 0)?;
            Ok(json!([]))
        }
        "eth_syncing" => {
            at_most(params, 0)?;
            Ok(Value::Bool(false))
        }
        "eth_blockNumber" => {
            at_most(params, 0)?;
            Ok(quantity(chain.block_number()))
        }
        "eth_getBlockByNumber" => {
            at_most(params, 2)?;
            let tag: BlockNumberOrTag = param(params, 0, "block")?;
            let number = resolve(chain, tag);
            block_json(chain, number, params)
        }
        "eth_getBlockByHash" => {
            at_most(params, 2)?;
            let hash: B256 = param(params, 0, "block hash")?;
            let number = find_block(chain, &hash);
            block_json(chain, number, params)
        }
        "eth_getBalance" => {
            let who = state_query(chain, params, "address")?;
            Ok(quantity(chain.account(who).balance))
        }
        "eth_getTransactionCount" => {
            let who = state_query(chain, params, "address")?;
            Ok(quantity(chain.account(who).nonce))
        }
        "eth_getCode" => {
            let who = state_query(chain, params, "address")?;
            to_json(&chain.code(who))
        }
        "eth_call" => {
            let env = call_env(chain, params)?;
            match simulate(chain, env)? {
                ExecutionResult::Success { output, .. } => to_json(output.data()),
                other => Err(failed(other)),
            }
        }
        "eth_estimateGas" => {
            let env = call_env(chain, params)?;
            estimate(chain, env).map(quantity)
        }
        "eth_gasPrice" => {
            at_most(params, 0)?;
            Ok(quantity(u128::from(BASE_FEE) + SUGGESTED_TIP))
        }
        "eth_maxPriorityFeePerGas" => {
            at_most(params, 0)?;
            Ok(quantity(SUGGESTED_TIP))
        }
        "eth_feeHistory" => fee_history(chain, params),
        "eth_sendRawTransaction" => {
            at_most(params, 1)?;
            let raw: Bytes = param(params, 0, "signed transaction")?;
            send_raw(chain, &raw).map(|hash| Value::String(hash.to_string()))
        }
        "eth_getTransactionReceipt" => {
            at_most(params, 1)?;
            let hash: B256 = param(params, 0, "transaction hash")?;
            match chain.transaction_position(&hash) {
                Some(i) => receipt_json(chain, i),
                None => Ok(Value::Null),
            }
        }
        "eth_getLogs" => {
            at_most(params, 1)?;
            let filter: Filter = param(params, 0, "filter")?;
            logs(chain, &filter)
        }
        "evm_increaseTime" => {
            at_most(params, 1)?;
            let seconds = number(params, 0, "seconds")?;
            let pending = chain
                .increase_time(seconds)
                .map_err(|e| RpcError::params(e.to_string()))?;
            Ok(Value::from(pending))
        }
        "evm_mine" => {
            // Only a block now, at the pending time: no timestamp or count.
            match params {
                [] | [Value::Null] => {}
                _ => {
                    return Err(RpcError::params(
                        "evm_mine takes no parameters here (move the clock with \
                         evm_increaseTime first)",
                    ));
                }
            }
            chain
                .advance(0)
                .map_err(|e| RpcError::internal(e.to_string()))?;
            Ok(Value::String("0x0".into()))
        }
        "anvil_setBalance" | "hardhat_setBalance" => {
            at_most(params, 2)?;
            let who: EvmAddress = param(params, 0, "address")?;
            let wei: U256 = param(params, 1, "balance")?;
            chain
                .set_balance_evm(who, wei)
                .map_err(|e| RpcError::internal(e.to_string()))?;
            Ok(Value::Null)
        }
        other => Err(RpcError::new(
            -32601,
            format!("the method {other} does not exist or is not served by the embedded chain"),
        )),
    }
}

/// The block number a tag stands for (pending, safe and finalized are the
/// latest: blocks are mined at once and final).
fn resolve(chain: &EmbeddedChain, tag: BlockNumberOrTag) -> u64 {
    match tag {
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Number(n) => n,
        BlockNumberOrTag::Latest
        | BlockNumberOrTag::Pending
        | BlockNumberOrTag::Safe
        | BlockNumberOrTag::Finalized => chain.block_number(),
    }
}

/// The number of the block of hash `hash`, or one past the latest if none
/// has it.
fn find_block(chain: &EmbeddedChain, hash: &B256) -> u64 {
    let head = chain.block_number();
    // Most lookups are of recent blocks: search from the latest down.
    (0..=head)
        .rev()
        .find(|n| chain.block_record(*n).is_some_and(|b| b.hash == *hash))
        .unwrap_or(head.saturating_add(1))
}

fn block_json(chain: &EmbeddedChain, number: u64, params: &[Value]) -> Result<Value, RpcError> {
    let full: Option<bool> = optional(params, 1, "full transactions")?;
    if full == Some(true) {
        return Err(RpcError::params(
            "full transaction objects are not served: ask for hashes (false)",
        ));
    }
    let Some(record) = chain.block_record(number) else {
        return Ok(Value::Null);
    };
    to_json(&rpc_block(&record))
}

fn rpc_block(record: &BlockRecord) -> Block<alloy_rpc_types_eth::Transaction> {
    Block {
        header: Header {
            hash: record.hash,
            inner: record.header(),
            total_difficulty: Some(U256::ZERO),
            size: None,
        },
        uncles: Vec::new(),
        transactions: BlockTransactions::Hashes(record.transactions.clone()),
        withdrawals: None,
    }
}

/// The state methods' address, after checking that the block asked about
/// is the latest (the chain keeps no older state).
fn state_query(
    chain: &EmbeddedChain,
    params: &[Value],
    what: &str,
) -> Result<EvmAddress, RpcError> {
    at_most(params, 2)?;
    let who = param(params, 0, what)?;
    latest_only(chain, optional(params, 1, "block")?)?;
    Ok(who)
}

fn latest_only(chain: &EmbeddedChain, at: Option<BlockId>) -> Result<(), RpcError> {
    let head = chain.block_number();
    let number = match at {
        None => return Ok(()),
        Some(BlockId::Number(tag)) => resolve(chain, tag),
        Some(BlockId::Hash(hash)) => find_block(chain, &hash.block_hash),
    };
    if number == head {
        return Ok(());
    }
    if number > head {
        return Err(RpcError::server(format!(
            "block {number} is not mined yet (the latest is {head})"
        )));
    }
    Err(RpcError::server(format!(
        "the embedded chain keeps the latest state only: block {number} is not the latest \
         ({head})"
    )))
}

/// The transaction an `eth_call` or `eth_estimateGas` runs: from the
/// request's sender (the zero address if none) at its current nonce, with
/// no gas price (so only the value must be covered), at most the
/// per-transaction gas cap.
fn call_env(chain: &EmbeddedChain, params: &[Value]) -> Result<TxEnv, RpcError> {
    at_most(params, 2)?;
    let request: TransactionRequest = param(params, 0, "transaction")?;
    latest_only(chain, optional(params, 1, "block")?)?;
    let from = request.from.unwrap_or_default();
    let input = request
        .input
        .clone()
        .try_into_unique_input()
        .map_err(|_| RpcError::params("\"input\" and \"data\" differ"))?
        .unwrap_or_default();
    let gas_limit = request.gas.unwrap_or(TX_GAS_LIMIT);
    if gas_limit > TX_GAS_LIMIT {
        return Err(RpcError::params(format!(
            "gas {gas_limit} is above the per-transaction cap {TX_GAS_LIMIT}"
        )));
    }
    TxEnv::builder()
        .caller(from)
        .kind(request.to.unwrap_or(TxKind::Create))
        .data(input)
        .value(request.value.unwrap_or_default())
        .gas_limit(gas_limit)
        .gas_price(0)
        .nonce(chain.account(from).nonce)
        .chain_id(Some(chain.chain_id()))
        .build()
        .map_err(|e| RpcError::params(format!("the transaction: {e:?}")))
}

/// Runs `env` on the next block; the EVM's refusal (funds for the value,
/// intrinsic gas) is a server error.
fn simulate(chain: &mut EmbeddedChain, env: TxEnv) -> Result<ExecutionResult, RpcError> {
    chain.simulate(env).map_err(RpcError::server)
}

/// A failed execution as node clients expect it: a revert is code 3 with
/// its data (what alloy decodes custom errors from), a halt a server error.
fn failed(result: ExecutionResult) -> RpcError {
    match result {
        ExecutionResult::Revert { output, .. } => RpcError {
            code: 3,
            message: "execution reverted".into(),
            data: Some(Value::String(output.to_string())),
        },
        ExecutionResult::Halt { reason, .. } => {
            RpcError::server(format!("execution halted: {reason:?}"))
        }
        ExecutionResult::Success { .. } => {
            RpcError::internal("a successful execution reported as a failure (a bug)")
        }
    }
}

/// The least gas limit at which `env` succeeds (as geth and anvil search
/// for it): a failure at the request's limit is that failure; otherwise
/// the gas spent (before refunds) is tried, then bisected up to the limit
/// (a call forwarding 63/64 of its gas may need more than it spends).
fn estimate(chain: &mut EmbeddedChain, env: TxEnv) -> Result<u64, RpcError> {
    let cap = env.gas_limit;
    let first = simulate(chain, env.clone())?;
    if !first.is_success() {
        return Err(failed(first));
    }
    let spent = first.gas().total_gas_spent().max(first.gas().floor_gas());
    let mut succeeds = |limit: u64| {
        let mut env = env.clone();
        env.gas_limit = limit;
        matches!(chain.simulate(env), Ok(result) if result.is_success())
    };
    if spent >= cap || succeeds(spent) {
        return Ok(spent.min(cap));
    }
    let (mut lo, mut hi) = (spent, cap);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if succeeds(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

fn fee_history(chain: &EmbeddedChain, params: &[Value]) -> Result<Value, RpcError> {
    at_most(params, 3)?;
    let count = number(params, 0, "block count")?.min(1024);
    let newest = resolve(chain, param(params, 1, "newest block")?);
    let percentiles: Option<Vec<f64>> = optional(params, 2, "reward percentiles")?;
    if let Some(p) = &percentiles {
        let ascending = p.windows(2).all(|w| w[0] <= w[1]);
        if !ascending || p.iter().any(|x| !(0.0..=100.0).contains(x)) {
            return Err(RpcError::params(
                "reward percentiles are ascending, from 0 to 100",
            ));
        }
    }
    let head = chain.block_number();
    if newest > head {
        return Err(RpcError::server(format!(
            "block {newest} is not mined yet (the latest is {head})"
        )));
    }
    let count = count.min(newest.saturating_add(1));
    let oldest = newest.saturating_add(1).saturating_sub(count);
    let mut gas_used_ratio = Vec::new();
    let mut reward = Vec::new();
    for n in oldest..=newest {
        let Some(block) = chain.block_record(n) else {
            break;
        };
        gas_used_ratio.push(block.gas_used as f64 / BLOCK_GAS_LIMIT as f64);
        // One transaction per block: its tip is every percentile's.
        let tip = block
            .transactions
            .first()
            .and_then(|h| chain.transaction(&h.0))
            .map_or(0, |t| {
                t.effective_gas_price.saturating_sub(u128::from(BASE_FEE))
            });
        if let Some(p) = &percentiles {
            reward.push(vec![tip; p.len()]);
        }
    }
    let blocks = gas_used_ratio.len();
    let history = FeeHistory {
        base_fee_per_gas: if blocks == 0 {
            Vec::new()
        } else {
            vec![u128::from(BASE_FEE); blocks + 1]
        },
        gas_used_ratio,
        base_fee_per_blob_gas: Vec::new(),
        blob_gas_used_ratio: Vec::new(),
        oldest_block: oldest,
        reward: percentiles.map(|_| reward),
    };
    to_json(&history)
}

/// Checks, executes and mines a signed transaction; its hash.
fn send_raw(chain: &mut EmbeddedChain, raw: &[u8]) -> Result<B256, RpcError> {
    // Step 1) decode the EIP-2718 envelope, nothing after it.
    let envelope = TxEnvelope::decode_2718_exact(raw)
        .map_err(|e| RpcError::params(format!("the transaction does not decode: {e}")))?;
    let (priority_fee, tx_type) = match &envelope {
        TxEnvelope::Legacy(_) => (None, 0u8),
        TxEnvelope::Eip2930(_) => (None, 1),
        TxEnvelope::Eip1559(tx) => (Some(tx.tx().max_priority_fee_per_gas), 2),
        TxEnvelope::Eip4844(_) | TxEnvelope::Eip7702(_) => {
            return Err(RpcError::rejected(format!(
                "transaction type {} (blobs, delegations) is not accepted here",
                u8::from(envelope.tx_type())
            )));
        }
    };
    // Step 2) the chain id: this chain's, and present (EIP-155).
    let ours = chain.chain_id();
    match envelope.chain_id() {
        Some(id) if id == ours => {}
        Some(id) => {
            return Err(RpcError::server(format!(
                "invalid chain id: the transaction is signed for chain {id}, this is chain {ours}"
            )));
        }
        None => {
            return Err(RpcError::server(
                "the transaction has no chain id (replayable on any chain): sign it with EIP-155",
            ));
        }
    }
    // Step 3) the signer, recovered with the engine's own secp256k1 rules
    // (low s only, as Ethereum requires since Homestead).
    let signature = envelope.signature();
    let mut rsv = [0u8; 65];
    rsv[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    rsv[32..64].copy_from_slice(&signature.s().to_be_bytes::<32>());
    rsv[64] = 27 + u8::from(signature.v());
    let from = recover(&envelope.signature_hash().0, &Signature(rsv))
        .map_err(|e| RpcError::server(format!("invalid signature: {e}")))?;
    let from = EvmAddress::from(from.0);
    let account = chain.account(from);
    // Step 4) the nonce: the next one exactly (no pool to queue it in).
    let nonce = envelope.nonce();
    if nonce < account.nonce {
        return Err(RpcError::server(format!(
            "nonce too low: {from} is at nonce {}, the transaction has {nonce}",
            account.nonce
        )));
    }
    if nonce > account.nonce {
        return Err(RpcError::server(format!(
            "nonce too high: {from} is at nonce {}, the transaction has {nonce} (this chain \
             mines at once and has no pool: send transactions in nonce order)",
            account.nonce
        )));
    }
    // Step 5) gas: within the cap; the fee at least the base fee.
    let gas_limit = envelope.gas_limit();
    if gas_limit > TX_GAS_LIMIT {
        return Err(RpcError::server(format!(
            "gas limit {gas_limit} is above the per-transaction cap {TX_GAS_LIMIT}"
        )));
    }
    let max_fee = envelope.max_fee_per_gas();
    if max_fee < u128::from(BASE_FEE) {
        return Err(RpcError::server(format!(
            "max fee per gas {max_fee} is below the base fee {BASE_FEE}"
        )));
    }
    // Step 6) funds for the most it can cost.
    let cost = U256::from(gas_limit)
        .checked_mul(U256::from(max_fee))
        .and_then(|fee| fee.checked_add(envelope.value()));
    match cost {
        Some(cost) if cost <= account.balance => {}
        _ => {
            return Err(RpcError::server(format!(
                "insufficient funds for gas * price + value: {from} has {} wei, the \
                 transaction may cost {}",
                account.balance,
                cost.map_or_else(|| "more than 2^256".into(), |c| c.to_string())
            )));
        }
    }
    // Step 7) execute as the signer, mine in a block of its own (also if
    // it reverts: it pays its gas, as on any chain).
    let env = TxEnv::builder()
        .tx_type(Some(tx_type))
        .caller(from)
        .kind(envelope.kind())
        .data(envelope.input().clone())
        .value(envelope.value())
        .gas_limit(gas_limit)
        .gas_price(max_fee)
        .gas_priority_fee(priority_fee)
        .nonce(nonce)
        .chain_id(Some(ours))
        .access_list(envelope.access_list().cloned().unwrap_or_default())
        .build()
        .map_err(|e| RpcError::rejected(format!("the transaction: {e:?}")))?;
    let hash = *envelope.tx_hash();
    match chain.send(env, hash) {
        Ok(_) => Ok(hash),
        Err(SendError::Refused(why)) => Err(RpcError::rejected(format!(
            "the transaction is refused: {why}"
        ))),
        Err(e @ SendError::NotKept(_)) => Err(RpcError::internal(e.to_string())),
    }
}

/// The `i`-th transaction's logs as a node shows them.
fn rpc_logs(tx: &MinedTransaction, block: &BlockRecord) -> Vec<Log> {
    tx.logs
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: PrimitiveLog::new_unchecked(
                EvmAddress::from(log.address.0),
                log.topics.iter().map(|t| B256::from(*t)).collect(),
                Bytes::copy_from_slice(&log.data),
            ),
            block_hash: Some(block.hash),
            block_number: Some(block.number),
            block_timestamp: Some(block.timestamp),
            transaction_hash: Some(B256::from(tx.hash)),
            // One transaction per block: its index is 0, its logs' indices
            // count from 0.
            transaction_index: Some(0),
            log_index: u64::try_from(i).ok(),
            removed: false,
        })
        .collect()
}

fn receipt_json(chain: &EmbeddedChain, i: usize) -> Result<Value, RpcError> {
    let tx = chain
        .transactions()
        .get(i)
        .ok_or_else(|| RpcError::internal("a transaction index beyond the records (a bug)"))?;
    let block = chain
        .block_record(tx.block_number)
        .ok_or_else(|| RpcError::internal("a transaction in no block (a bug)"))?;
    let logs = rpc_logs(tx, &block);
    let bloom = alloy_primitives::logs_bloom(logs.iter().map(|l| &l.inner));
    let with_bloom = ReceiptWithBloom {
        receipt: alloy_consensus::Receipt {
            status: Eip658Value::Eip658(tx.success),
            cumulative_gas_used: tx.gas_used,
            logs,
        },
        logs_bloom: bloom,
    };
    let inner = match tx.tx_type {
        1 => ReceiptEnvelope::Eip2930(with_bloom),
        2 => ReceiptEnvelope::Eip1559(with_bloom),
        _ => ReceiptEnvelope::Legacy(with_bloom),
    };
    let address = |a: crate::state::Address| EvmAddress::from(a.0);
    to_json(&TransactionReceipt {
        inner,
        transaction_hash: B256::from(tx.hash),
        transaction_index: Some(0),
        block_hash: Some(block.hash),
        block_number: Some(block.number),
        gas_used: tx.gas_used,
        effective_gas_price: tx.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: address(tx.from),
        to: tx.to.map(address),
        contract_address: tx.contract_address.map(address),
    })
}

fn logs(chain: &EmbeddedChain, filter: &Filter) -> Result<Value, RpcError> {
    let head = chain.block_number();
    let (from, to) = match &filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let n = find_block(chain, hash);
            if n > head {
                return Err(RpcError::server(format!("unknown block {hash}")));
            }
            (n, n)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let from = from_block.map_or(head, |t| resolve(chain, t));
            let to = to_block.map_or(head, |t| resolve(chain, t)).min(head);
            (from, to)
        }
    };
    if from > to {
        // A range past the head is empty; an inverted one is a mistake.
        if from > head {
            return Ok(json!([]));
        }
        return Err(RpcError::params(format!(
            "fromBlock {from} is after toBlock {to}"
        )));
    }
    let txs = chain.transactions();
    let start = txs.partition_point(|t| t.block_number < from);
    let mut found = Vec::new();
    for tx in txs[start..].iter().take_while(|t| t.block_number <= to) {
        if tx.logs.is_empty() {
            continue;
        }
        let block = chain
            .block_record(tx.block_number)
            .ok_or_else(|| RpcError::internal("a transaction in no block (a bug)"))?;
        for log in rpc_logs(tx, &block) {
            if filter.matches(&log.inner) {
                if found.len() == MAX_LOGS {
                    return Err(RpcError::new(
                        -32005,
                        format!("query returned more than {MAX_LOGS} results: narrow the range"),
                    ));
                }
                found.push(log);
            }
        }
    }
    to_json(&found)
}

/// The fuzz body of target `jsonrpc`: arbitrary bytes as a request body,
/// answered by one in-memory embedded chain shared by every input.
///
/// Oracles: answering never panics; the answer (there is one unless the
/// body held only notifications) is JSON; a single request's answer is an
/// object with `"jsonrpc": "2.0"`, the request's id when it had a valid
/// one, and either a result or an error with an integer code and a
/// message; a batch's answer is an array of such objects, one per request
/// with an id.
pub fn fuzz_request(data: &[u8]) {
    static CHAIN: std::sync::OnceLock<Mutex<EmbeddedChain>> = std::sync::OnceLock::new();
    let chain = CHAIN.get_or_init(|| match EmbeddedChain::new(31337) {
        Ok(chain) => Mutex::new(chain),
        Err(e) => panic!("the fixture chain: {e}"),
    });
    let request: Option<Value> = serde_json::from_slice(data).ok();
    let Some(answer) = answer(chain, data) else {
        let notifications_only = match &request {
            Some(Value::Object(o)) => !o.contains_key("id"),
            Some(Value::Array(batch)) => batch
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.contains_key("id"))),
            _ => false,
        };
        assert!(notifications_only, "no answer to {request:?}");
        return;
    };
    let answer: Value = match serde_json::from_slice(&answer) {
        Ok(answer) => answer,
        Err(e) => panic!("the answer is not JSON: {e}"),
    };
    let check = |a: &Value| {
        assert_eq!(a["jsonrpc"], "2.0", "{a}");
        let (result, error) = (a.get("result"), a.get("error"));
        assert!(result.is_some() != error.is_some(), "{a}");
        if let Some(e) = error {
            assert!(e["code"].is_i64() && e["message"].is_string(), "{a}");
        }
    };
    match (&request, &answer) {
        (Some(Value::Array(batch)), Value::Array(answers))
            if !batch.is_empty() && batch.len() <= MAX_BATCH =>
        {
            // Every request with an id is answered, and so is every
            // invalid one (with a null id); valid notifications are not.
            let with_id = batch
                .iter()
                .filter(|r| r.as_object().is_none_or(|o| o.contains_key("id")))
                .count();
            assert!(
                with_id <= answers.len() && answers.len() <= batch.len(),
                "{answer}"
            );
            answers.iter().for_each(check);
        }
        (_, Value::Array(_)) => panic!("a batch answer to a single request: {answer}"),
        (Some(Value::Object(r)), a) => {
            check(a);
            if let Some(id @ (Value::Number(_) | Value::String(_))) = r.get("id") {
                assert_eq!(&a["id"], id, "{a}");
            }
        }
        (_, a) => check(a),
    }
}
