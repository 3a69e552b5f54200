//! The Solidity adjudicator on any EVM node, over JSON-RPC: see [`RpcChain`].
//!
//! It exists so that a node can run its channels against a real chain (or a
//! development node such as anvil) behind the same synchronous [`Anchor`]
//! trait as the in-memory and embedded chains. Its invariants (every
//! request under a timeout, every answer typed or refused, a refused call
//! sends nothing) are listed on [`RpcChain`], whose docs are public.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction as _, TxEip1559, TxEnvelope};
use alloy_primitives::{B256, Bytes, TxKind, U256};
use alloy_provider::network::eip2718::Encodable2718 as _;
use alloy_provider::transport::TransportError;
use alloy_provider::{Provider as _, RootProvider};
use alloy_rpc_types_eth::{
    BlockId, BlockNumberOrTag, Filter, Log, TransactionInput, TransactionReceipt,
    TransactionRequest,
};
use alloy_sol_types::{SolCall as _, SolEvent as _};

use super::abi::{
    Artifact, IAdjudicator, decode_log, decode_revert, encode_call, sol_params, sol_state,
};
use super::{Anchor, AnchorCall, AnchorError, ChainEvent, Receipt};
use crate::state::{Address, ChannelParams, Signature, SigningKey, State};

/// At most this many blocks per `eth_getLogs` request: public nodes refuse
/// wider ranges.
const LOG_RANGE: u64 = 5_000;

/// How an [`RpcChain`] talks to its node; [`RpcOptions::default`] suits a
/// local development node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcOptions {
    /// Events are read only from blocks this many below the head (0: the
    /// head itself).
    pub confirmations: u64,
    /// The deployed adjudicator; `None` deploys a new one from the
    /// committed artifact.
    pub adjudicator: Option<Address>,
    /// The first block to read the adjudicator's logs from when its address
    /// is given (its deployment block, ideally; 0 scans the whole chain).
    /// Ignored when this chain deploys the adjudicator itself.
    pub from_block: u64,
    /// The longest any single request to the node may take.
    pub request_timeout: Duration,
    /// The longest a sent transaction may take to be mined.
    pub receipt_timeout: Duration,
}

impl Default for RpcOptions {
    fn default() -> Self {
        RpcOptions {
            confirmations: 0,
            adjudicator: None,
            from_block: 0,
            request_timeout: Duration::from_secs(5),
            receipt_timeout: Duration::from_secs(120),
        }
    }
}

/// The node: a runtime, a provider, and where it is (for error messages,
/// without any credentials the URL may carry).
struct Node {
    runtime: tokio::runtime::Runtime,
    provider: RootProvider,
    endpoint: String,
    timeout: Duration,
}

impl Node {
    /// Runs one request under the timeout; `what` names it in errors.
    fn run<F, T>(&self, what: &str, request: F) -> Result<Result<T, TransportError>, AnchorError>
    where
        F: IntoFuture<Output = Result<T, TransportError>>,
    {
        self.runtime
            .block_on(async { tokio::time::timeout(self.timeout, request.into_future()).await })
            .map_err(|_| {
                AnchorError::Backend(format!(
                    "{what}: no answer from {} within {:?}",
                    self.endpoint, self.timeout
                ))
            })
    }

    /// One request: its typed answer, or why there is none.
    fn call<F, T>(&self, what: &str, request: F) -> Result<T, AnchorError>
    where
        F: IntoFuture<Output = Result<T, TransportError>>,
    {
        self.run(what, request)?.map_err(|e| self.failed(what, &e))
    }

    /// Like [`Node::call`], for a request that executes the adjudicator
    /// (an estimate or an `eth_call`): a revert becomes its typed error.
    fn execute<F, T>(&self, what: &str, request: F) -> Result<T, AnchorError>
    where
        F: IntoFuture<Output = Result<T, TransportError>>,
    {
        self.run(what, request)?.map_err(|e| {
            match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => decode_revert(&data),
                None => self.failed(what, &e),
            }
        })
    }

    fn failed(&self, what: &str, e: &TransportError) -> AnchorError {
        AnchorError::Backend(format!(
            "{what} at {}: {}",
            self.endpoint,
            scrub_urls(&e.to_string())
        ))
    }

    fn sleep(&self, d: Duration) {
        // The timer must be made inside the runtime.
        self.runtime
            .block_on(async move { tokio::time::sleep(d).await });
    }

    /// Block `at`'s number, hash and timestamp.
    fn block(&self, at: BlockNumberOrTag) -> Result<(u64, B256, u64), AnchorError> {
        let block = self
            .call(
                "eth_getBlockByNumber",
                self.provider.get_block_by_number(at),
            )?
            .ok_or_else(|| AnchorError::Backend(format!("block {at} is unknown to the node")))?;
        Ok((
            block.header.number,
            block.header.hash,
            block.header.timestamp,
        ))
    }
}

/// What is known of one channel's events.
#[derive(Debug, Default)]
struct ChannelLog {
    events: Vec<ChainEvent>,
    /// The next block to scan.
    next_block: u64,
    /// The hash of block `next_block - 1` when it was scanned.
    last_hash: Option<B256>,
}

/// The adjudicator on an EVM node over JSON-RPC.
///
/// It speaks plain HTTP through alloy's provider and signs its own EIP-1559
/// transactions with the engine's [`SigningKey`] (the key never leaves
/// this value and is never printed; errors name the node by host and port
/// only, since a URL's path may hold an API key). The [`Anchor`] trait is
/// synchronous, so the chain owns a current-thread tokio runtime and
/// blocks on it: do not call it from inside another tokio runtime.
///
/// - **Submitting** a call first asks the node to estimate it
///   (`eth_estimateGas`). A revert there is decoded from the adjudicator's
///   custom error into the matching [`AnchorError`], and nothing is sent:
///   a refused call changes nothing, not even the sender's nonce. An
///   accepted estimate is signed, sent, and its receipt awaited. `Ok` means
///   the transaction is in a block, not that the block is final: the
///   events, read `confirmations` deep, are what the driver acts on.
/// - **If the receipt does not come** within [`RpcOptions::receipt_timeout`]
///   the error says so, but the transaction may still be mined: sending the
///   call again without first reading the chain can pay a deposit twice.
/// - **Events** are the adjudicator's logs whose first indexed topic is the
///   channel id, read only from blocks at least `confirmations` below the
///   head, in chain order (block, then log index). Each channel keeps the
///   events read so far and the next block to scan, so the index cursor of
///   [`Anchor::events`] is stable and each block is read once.
/// - **Time** is the latest block's timestamp; [`Anchor::advance`] is
///   anvil's `evm_increaseTime` and `evm_mine`, which a real network
///   refuses with [`AnchorError::Backend`].
///
/// **Invariant:** every request to the node runs under
/// [`RpcOptions::request_timeout`], and every answer is decoded into typed
/// values or refused with [`AnchorError::Backend`]: a node that does not
/// answer, or answers nonsense, gives an error, never a hang or a panic.
///
/// **Reorganisations:** a reorganisation deeper than `confirmations` is
/// detected (the hash of the last block scanned for the channel changed)
/// and reported as [`AnchorError::Backend`] on every later
/// [`Anchor::events`] of that channel. The index cursor cannot take back
/// events already returned, so the driver must stop and resynchronise:
/// choose `confirmations` above the deepest reorganisation the chain is
/// expected to see. A missed dispute can cost the channel's funds.
pub struct RpcChain {
    node: Node,
    sender: SigningKey,
    sender_address: alloy_primitives::Address,
    chain_id: u64,
    adjudicator: alloy_primitives::Address,
    confirmations: u64,
    receipt_timeout: Duration,
    first_block: u64,
    logs: HashMap<[u8; 32], ChannelLog>,
    /// The last chain time read, returned by [`Anchor::now`] if the node
    /// fails (the trait gives `now` no error).
    last_now: AtomicU64,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("node", &self.node.endpoint)
            .field("chain_id", &self.chain_id)
            .field("adjudicator", &self.adjudicator)
            .field("sender", &self.sender_address)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

impl RpcChain {
    /// Connects to the node at `url` (plain `http://`), sending as
    /// `sender`, reading events `confirmations` blocks deep, at the
    /// adjudicator at `adjudicator` (checked to hold exactly the committed
    /// artifact's code) or, if `None`, at one it deploys.
    pub fn connect(
        url: &str,
        sender: SigningKey,
        confirmations: u64,
        adjudicator: Option<Address>,
    ) -> Result<Self, AnchorError> {
        RpcChain::connect_with(
            url,
            sender,
            &RpcOptions {
                confirmations,
                adjudicator,
                ..RpcOptions::default()
            },
        )
    }

    /// [`RpcChain::connect`] with every option.
    pub fn connect_with(
        url: &str,
        sender: SigningKey,
        options: &RpcOptions,
    ) -> Result<Self, AnchorError> {
        // Step 1) the URL: plain HTTP only (this build has no TLS stack);
        // errors name the host, never the path or query, which may hold an
        // API key.
        let endpoint = endpoint_of(url)?;
        let parsed = url.parse().map_err(|_| {
            AnchorError::Backend(format!("the node URL for {endpoint} does not parse"))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AnchorError::Backend(format!("no async runtime: {e}")))?;
        let node = Node {
            runtime,
            provider: RootProvider::new_http(parsed),
            endpoint,
            timeout: options.request_timeout,
        };
        // Step 2) the chain.
        let chain_id = node.call("eth_chainId", node.provider.get_chain_id())?;
        let sender_address = alloy_primitives::Address::from(sender.address().0);
        let artifact = Artifact::parse()
            .map_err(|e| AnchorError::Backend(format!("the adjudicator artifact: {e}")))?;
        let mut chain = RpcChain {
            node,
            sender,
            sender_address,
            chain_id,
            adjudicator: alloy_primitives::Address::ZERO,
            confirmations: options.confirmations,
            receipt_timeout: options.receipt_timeout,
            first_block: options.from_block,
            logs: HashMap::new(),
            last_now: AtomicU64::new(0),
        };
        // Step 3) the adjudicator: deployed from the artifact unless given;
        // either way its code must be the artifact's, byte for byte (other
        // code at that address could keep the deposits).
        chain.adjudicator = match options.adjudicator {
            Some(at) => alloy_primitives::Address::from(at.0),
            None => {
                let receipt =
                    chain.transact(TxKind::Create, artifact.creation.to_vec(), U256::ZERO)?;
                chain.first_block = receipt.block_number.unwrap_or(0);
                receipt.contract_address.ok_or_else(|| {
                    AnchorError::Backend("the deployment receipt names no contract".into())
                })?
            }
        };
        let code = chain.node.call(
            "eth_getCode",
            chain.node.provider.get_code_at(chain.adjudicator),
        )?;
        if code[..] != artifact.deployed[..] {
            return Err(AnchorError::Backend(format!(
                "{} does not hold the sotto adjudicator: its code differs from the committed \
                 artifact",
                chain.adjudicator
            )));
        }
        chain.now();
        Ok(chain)
    }

    /// The adjudicator's address: what [`ChannelParams::adjudicator`] must
    /// name.
    pub fn adjudicator(&self) -> Address {
        Address(self.adjudicator.into_array())
    }

    /// The chain's id: what [`ChannelParams::chain_id`] must name.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The address transactions are sent from (it pays deposits and gas).
    pub fn sender(&self) -> Address {
        Address(self.sender_address.into_array())
    }

    /// The adjudicator's `channelId(params)`, computed by the contract (an
    /// `eth_call`; nothing is sent).
    pub fn channel_id_on_chain(&self, params: &ChannelParams) -> Result<[u8; 32], AnchorError> {
        let input = IAdjudicator::channelIdCall {
            p: sol_params(params),
        }
        .abi_encode();
        let out = self.view("channelId", input)?;
        IAdjudicator::channelIdCall::abi_decode_returns(&out)
            .map(|b| b.0)
            .map_err(|e| AnchorError::Backend(format!("channelId returned {e}")))
    }

    /// The adjudicator's `stateDigest(state)`, computed by the contract (an
    /// `eth_call`; nothing is sent).
    pub fn state_digest_on_chain(&self, state: &State) -> Result<[u8; 32], AnchorError> {
        let input = IAdjudicator::stateDigestCall {
            s: sol_state(state),
        }
        .abi_encode();
        let out = self.view("stateDigest", input)?;
        IAdjudicator::stateDigestCall::abi_decode_returns(&out)
            .map(|b| b.0)
            .map_err(|e| AnchorError::Backend(format!("stateDigest returned {e}")))
    }

    /// `who`'s balance in wei.
    pub fn balance(&self, who: Address) -> Result<u128, AnchorError> {
        let node = &self.node;
        let wei = node.call(
            "eth_getBalance",
            node.provider
                .get_balance(alloy_primitives::Address::from(who.0)),
        )?;
        u128::try_from(wei).map_err(|_| AnchorError::Backend(format!("balance {wei} beyond u128")))
    }

    /// Every state registered for the channel, with the signatures its
    /// registration carried, in chain order (plain and time-bounded
    /// registrations alike): the `Registered` logs' transactions read back
    /// and decoded. A swap's counterparty learns the swap's secret from
    /// them ([`crate::oracle::swap`]). Unconfirmed blocks included: the
    /// caller acts on a registration's signatures, not on its finality.
    pub fn registrations(
        &self,
        channel_id: &[u8; 32],
    ) -> Result<Vec<(State, Vec<Signature>)>, AnchorError> {
        let node = &self.node;
        let head = node.call("eth_blockNumber", node.provider.get_block_number())?;
        let registered = [IAdjudicator::Registered::SIGNATURE_HASH];
        let mut out = Vec::new();
        for log in self
            .logs(channel_id, &registered, self.first_block, head)?
            .into_iter()
            .flat_map(|(logs, _, _)| logs)
        {
            let hash = log.transaction_hash.ok_or_else(|| {
                AnchorError::Backend("eth_getLogs answered a log without its transaction".into())
            })?;
            let tx = node
                .call(
                    "eth_getTransactionByHash",
                    node.provider.get_transaction_by_hash(hash),
                )?
                .ok_or_else(|| {
                    AnchorError::Backend(format!("the node does not know transaction {hash}"))
                })?;
            let input = alloy_consensus::Transaction::input(&tx);
            let signed = super::abi::decode_signed(input).ok_or_else(|| {
                AnchorError::Backend(format!(
                    "transaction {hash} logged a registration but is no registration call"
                ))
            })?;
            if signed.0.channel_id != *channel_id {
                return Err(AnchorError::Backend(format!(
                    "transaction {hash} registered another channel's state"
                )));
            }
            out.push(signed);
        }
        Ok(out)
    }

    fn view(&self, what: &str, input: Vec<u8>) -> Result<Bytes, AnchorError> {
        let request = TransactionRequest::default()
            .to(self.adjudicator)
            .input(TransactionInput::new(input.into()));
        self.node.execute(what, self.node.provider.call(request))
    }

    /// Estimates, signs, sends and awaits one transaction from the sender.
    ///
    /// If the receipt does not come within the receipt timeout, the
    /// transaction may still be mined later: the error says so, and the
    /// caller must read the chain before sending the call again (a deposit
    /// sent twice is paid twice).
    fn transact(
        &self,
        to: TxKind,
        input: Vec<u8>,
        value: U256,
    ) -> Result<TransactionReceipt, AnchorError> {
        let node = &self.node;
        let input = Bytes::from(input);
        let mut request = TransactionRequest::default()
            .from(self.sender_address)
            .value(value)
            .input(TransactionInput::new(input.clone()));
        if let TxKind::Call(to) = to {
            request = request.to(to);
        }
        // Step 1) execute it on the node's current state: a revert stops
        // here, before anything is signed or sent.
        let estimate = node.execute(
            "eth_estimateGas",
            node.provider.estimate_gas(request.clone()),
        )?;
        // Step 2) nonce and fees.
        let nonce = node.call(
            "eth_getTransactionCount",
            node.provider
                .get_transaction_count(self.sender_address)
                .pending(),
        )?;
        let fees = node.call("eth_feeHistory", node.provider.estimate_eip1559_fees())?;
        // A margin over the estimate: the state may move between the
        // estimate and the inclusion; unused gas is not paid for.
        let gas_limit = estimate.saturating_add(estimate / 4);
        let tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        // Step 3) sign with the engine's key: `r ‖ s ‖ v`, v = 27 + parity.
        let Signature(sig) = self.sender.sign(&tx.signature_hash().0);
        let signature =
            alloy_primitives::Signature::from_bytes_and_parity(&sig[..64], sig[64] == 28);
        let signed = tx.into_signed(signature);
        let hash = *signed.hash();
        let raw = TxEnvelope::from(signed).encoded_2718();
        let sent = node.call(
            "eth_sendRawTransaction",
            node.provider.send_raw_transaction(&raw),
        )?;
        if *sent.tx_hash() != hash {
            return Err(AnchorError::Backend(format!(
                "the node took transaction {hash} as {}",
                sent.tx_hash()
            )));
        }
        // Step 4) the receipt.
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let receipt = loop {
            if let Some(receipt) = node.call(
                "eth_getTransactionReceipt",
                node.provider.get_transaction_receipt(hash),
            )? {
                break receipt;
            }
            if started.elapsed() >= self.receipt_timeout {
                return Err(AnchorError::Backend(format!(
                    "transaction {hash} was not mined within {:?}; it may still be: read the \
                     chain before sending it again",
                    self.receipt_timeout
                )));
            }
            node.sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        };
        if !receipt.status() {
            // The state (or the time) moved between the estimate and the
            // inclusion: replay the call on the state after the block that
            // refused it, for its reason.
            let Some(block) = receipt.block_number else {
                return Err(AnchorError::Backend(format!("transaction {hash} reverted")));
            };
            let replay = node.execute(
                "eth_call",
                node.provider.call(request).block(BlockId::number(block)),
            );
            return Err(match replay {
                Err(typed) => typed,
                Ok(_) => AnchorError::Backend(format!(
                    "transaction {hash} reverted in block {block} (gas used {})",
                    receipt.gas_used
                )),
            });
        }
        Ok(receipt)
    }

    /// Reads new logs of the channel up to the confirmed head.
    /// The adjudicator's logs of `events` for one channel in blocks
    /// `from..=to`, read [`LOG_RANGE`] blocks at a time (nodes cap a
    /// request's range), each chunk with its block range.
    fn logs(
        &self,
        channel_id: &[u8; 32],
        events: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<(Vec<Log>, u64, u64)>, AnchorError> {
        let node = &self.node;
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(LOG_RANGE - 1));
            let filter = Filter::new()
                .address(self.adjudicator)
                .event_signature(events.to_vec())
                .topic1(B256::from(*channel_id))
                .from_block(start)
                .to_block(end);
            out.push((
                node.call("eth_getLogs", node.provider.get_logs(&filter))?,
                start,
                end,
            ));
            start = end.saturating_add(1);
        }
        Ok(out)
    }

    fn scan(&self, channel_id: &[u8; 32], log: &mut ChannelLog) -> Result<(), AnchorError> {
        let node = &self.node;
        let head = node.call("eth_blockNumber", node.provider.get_block_number())?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(());
        };
        // Step 1) the last block scanned is still in the chain; else a
        // reorganisation deeper than `confirmations` took events back.
        if let (Some(expected), Some(last)) = (log.last_hash, log.next_block.checked_sub(1)) {
            let (_, hash, _) = node.block(BlockNumberOrTag::Number(last))?;
            if hash != expected {
                return Err(AnchorError::Backend(format!(
                    "the chain reorganised below block {last}, deeper than {} confirmations: \
                     events already reported may be gone; resynchronise",
                    self.confirmations
                )));
            }
        }
        if safe < log.next_block {
            return Ok(());
        }
        // Step 2) pin the confirmed head by its hash, then read the logs up
        // to it (a reorganisation in between shows at the next scan).
        let (_, safe_hash, _) = node.block(BlockNumberOrTag::Number(safe))?;
        let mut fresh = Vec::new();
        let events = [
            IAdjudicator::Deposited::SIGNATURE_HASH,
            IAdjudicator::Registered::SIGNATURE_HASH,
            IAdjudicator::Concluded::SIGNATURE_HASH,
            IAdjudicator::Withdrawn::SIGNATURE_HASH,
        ];
        for (logs, start, end) in self.logs(channel_id, &events, log.next_block, safe)? {
            fresh.extend(decode_logs(self.adjudicator, channel_id, logs, start, end)?);
        }
        // Step 3) commit only a scan that decoded in full.
        log.events.extend(fresh);
        log.next_block = safe.saturating_add(1);
        log.last_hash = Some(safe_hash);
        Ok(())
    }
}

impl Anchor for RpcChain {
    fn adjudicator(&self) -> Address {
        RpcChain::adjudicator(self)
    }

    fn chain_id(&self) -> u64 {
        RpcChain::chain_id(self)
    }

    fn submit(
        &mut self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        let (input, value) = encode_call(params, call);
        let calldata_bytes = u64::try_from(input.len()).unwrap_or(u64::MAX);
        let receipt = self.transact(TxKind::Call(self.adjudicator), input, value)?;
        Ok(Receipt {
            gas: Some(receipt.gas_used),
            calldata_bytes: Some(calldata_bytes),
        })
    }

    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError> {
        let mut log = self.logs.remove(channel_id).unwrap_or(ChannelLog {
            next_block: self.first_block,
            ..ChannelLog::default()
        });
        let scanned = self.scan(channel_id, &mut log);
        let out = log.events.get(from..).unwrap_or_default().to_vec();
        let len = log.events.len();
        self.logs.insert(*channel_id, log);
        scanned.map(|()| (out, len))
    }

    /// The latest block's timestamp. The trait gives this no error: if the
    /// node fails, the last time read is returned (it never goes back).
    fn now(&self) -> u64 {
        if let Ok((_, _, time)) = self.node.block(BlockNumberOrTag::Latest) {
            self.last_now.fetch_max(time, Ordering::Relaxed);
        }
        self.last_now.load(Ordering::Relaxed)
    }

    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        let refused = |e: AnchorError| match e {
            AnchorError::Backend(m) => AnchorError::Backend(format!(
                "the node does not move its clock (a real network?): {m}"
            )),
            other => other,
        };
        let node = &self.node;
        node.call::<_, serde_json::Value>(
            "evm_increaseTime",
            node.provider
                .raw_request("evm_increaseTime".into(), (seconds,)),
        )
        .map_err(refused)?;
        node.call::<_, serde_json::Value>(
            "evm_mine",
            node.provider.raw_request("evm_mine".into(), ()),
        )
        .map_err(refused)?;
        Ok(())
    }
}

/// The adjudicator's logs of one channel from blocks `from..=to`, checked
/// against the filter, in chain order, as events.
fn decode_logs(
    adjudicator: alloy_primitives::Address,
    channel_id: &[u8; 32],
    logs: Vec<Log>,
    from: u64,
    to: u64,
) -> Result<Vec<ChainEvent>, AnchorError> {
    let bad = |what: String| AnchorError::Backend(format!("eth_getLogs answered {what}"));
    let mut keyed = Vec::with_capacity(logs.len());
    for log in logs {
        // A node marks logs of blocks it has since dropped; none is ours.
        if log.removed {
            continue;
        }
        let (Some(block), Some(index)) = (log.block_number, log.log_index) else {
            return Err(bad("a log without its block number or index".into()));
        };
        if !(from..=to).contains(&block)
            || log.address() != adjudicator
            || log.topics().get(1) != Some(&B256::from(*channel_id))
        {
            return Err(bad(format!("a log the filter excludes (block {block})")));
        }
        keyed.push(((block, index), log));
    }
    // Chain order, whatever order the node answered in.
    keyed.sort_by_key(|(key, _)| *key);
    keyed
        .iter()
        .map(|(_, log)| decode_log(log.data()))
        .collect()
}

/// `scheme://host[:port]` of a node URL, without user, password, path or
/// query (any of which may hold an API key); refuses anything but `http`.
fn endpoint_of(url: &str) -> Result<String, AnchorError> {
    let Some(rest) = url.strip_prefix("http://") else {
        let scheme = url
            .split("://")
            .next()
            .filter(|s| *s != url)
            .unwrap_or("none");
        return Err(AnchorError::Backend(format!(
            "the node URL's scheme is {scheme:?}: this build speaks plain http:// only (a local \
             node, or a TLS-terminating proxy)"
        )));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() {
        return Err(AnchorError::Backend("the node URL names no host".into()));
    }
    Ok(format!("http://{host}"))
}

/// `text` with every URL cut to its endpoint: transport errors quote the
/// URL they failed on, and it may carry an API key.
fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '-' && c != '.')
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        let url = &rest[start..end];
        let authority = url[at - start + 3..]
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        out.push_str(&rest[start..at + 3]);
        out.push_str(host);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_urls_lose_their_credentials_in_messages() {
        assert_eq!(
            endpoint_of("http://user:pw@node.example:8545/v3/SECRET?k=1").ok(),
            Some("http://node.example:8545".to_string())
        );
        assert!(matches!(
            endpoint_of("https://node.example/v3/SECRET"),
            Err(AnchorError::Backend(m)) if m.contains("\"https\"") && !m.contains("SECRET")
        ));
        assert!(endpoint_of("http:///x").is_err());
        let scrubbed = scrub_urls(
            "error sending request for url (http://node.example:8545/v3/SECRET?key=1): refused",
        );
        assert_eq!(
            scrubbed,
            "error sending request for url (http://node.example:8545): refused"
        );
        assert_eq!(scrub_urls("no url here"), "no url here");
    }
}
