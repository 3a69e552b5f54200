//! The Solidity adjudicator on an in-process EVM: see [`EmbeddedChain`].
//!
//! The bytecode is the committed artifact
//! (`solidity/Adjudicator.json`, built from `solidity/Adjudicator.sol` by
//! `tools/evm/build.js`; CI rebuilds it and fails on any difference), so
//! what runs here is byte for byte what a real chain would run. The EVM is
//! revm, with its state in memory and, if asked, in a file
//! ([`EmbeddedChain::open`]: a canonical JSON snapshot written atomically
//! before each change takes effect, so a restarted node finds the chain as
//! it left it).
//!
//! An [`AnchorCall`] becomes the adjudicator's calldata through `sol!`
//! bindings of its interface (a test checks them against the artifact's
//! ABI); a revert's custom error maps to the [`AnchorError`] it names, and
//! the adjudicator's logs to [`ChainEvent`]s.
//!
//! **Amounts:** the protocol counts in `u64` units, the adjudicator in
//! `uint256` wei; one unit is one wei. An amount the chain reports beyond
//! `u64` (impossible through this interface, which deposits `u64`s) is an
//! [`AnchorError::Backend`].
//!
//! **Blocks and time:** every accepted transaction is mined in a block of
//! its own, at the current timestamp; only [`Anchor::advance`] moves the
//! clock (mining an empty block), as on the in-memory [`super::TestChain`].
//! A refused call (a revert) is not mined and changes nothing, not even
//! the sender's nonce.
//!
//! **Records:** every block and every mined transaction is kept, with its
//! receipt and logs ([`EmbeddedChain::transactions`]): what a host reports
//! of what the chain saw, and what [`super::ServedChain`] answers JSON-RPC
//! queries (`eth_getTransactionReceipt`, `eth_getLogs`,
//! `eth_getBlockByNumber`) from. A block's hash is the Keccak-256 of its
//! RLP header as Ethereum defines it, but the header's state, transaction
//! and receipt roots are not Merkle-Patricia roots (the transactions root
//! hashes the block's transaction hashes; the others are empty): hashes
//! identify blocks and change with their contents, nothing more.
//!
//! **Fees:** the base fee is 0 in every block. A transaction sent from
//! [`Anchor::submit`] pays no gas price; one sent over JSON-RPC pays its
//! effective gas price (EIP-1559: the lesser of its maximum fee and its
//! priority fee) per gas used to the block's beneficiary, the zero
//! address, so balances add up to the wei.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use alloy_consensus::constants::{EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH};
use alloy_primitives::{
    Address as EvmAddress, B256, Bytes, LogData, U256, address, hex, keccak256,
};
use alloy_sol_types::SolCall as _;
use revm::bytecode::Bytecode;
use revm::context::result::{ExecResultAndState, ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::TxKind;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, EvmState};
use revm::{
    DatabaseCommit as _, DatabaseRef as _, ExecuteEvm as _, MainBuilder as _, MainContext as _,
};
use thiserror::Error;

use super::abi::{
    Artifact, IAdjudicator, decode_log, decode_revert, encode_call, function_name, sol_params,
    sol_state,
};
use super::{Anchor, AnchorCall, AnchorError, ChainEvent, Receipt};
use crate::state::{Address, ChannelParams, State};

/// The development account every transaction is sent from: it deploys the
/// adjudicator and pays deposits' value. (Anvil's first development
/// account, so that logs and addresses read the same on both backends.)
const DEV_SENDER: EvmAddress = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// The development sender's starting balance: 10^9 ether.
const DEV_BALANCE: u128 = 1_000_000_000 * 1_000_000_000_000_000_000;

/// The gas limit of every transaction: Osaka's per-transaction cap
/// (EIP-7825).
pub(super) const TX_GAS_LIMIT: u64 = 1 << 24;

/// The gas limit of every block.
pub(super) const BLOCK_GAS_LIMIT: u64 = 30_000_000;

/// The base fee of every block (see "Fees" in the module docs).
pub(super) const BASE_FEE: u64 = 0;

/// Why the embedded chain could not be set up or kept. `Artifact` and
/// `Deploy` on a fresh chain mean a broken build (the artifact is built in
/// and checked by CI): always a bug.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// The built-in artifact is not the JSON `tools/evm/build.js` writes.
    #[error("the adjudicator artifact is malformed: {0}")]
    Artifact(String),
    /// Deploying the artifact's bytecode failed, or left other code (on
    /// a loaded chain: it was deployed from another build).
    #[error("the adjudicator: {0}")]
    Deploy(String),
    /// The clock would pass `u64::MAX` seconds.
    #[error("the chain's clock cannot move that far")]
    Clock,
    /// The chain's file could not be read or written.
    #[error("chain file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The chain's file is not a snapshot this version writes, or holds
    /// another chain.
    #[error("chain file {path}: {what}")]
    Snapshot {
        /// The file.
        path: String,
        /// What is wrong with it.
        what: String,
    },
}

/// A log a mined transaction emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinedLog {
    /// The contract that emitted it.
    pub address: Address,
    /// Its topics (the event's signature hash first, for the adjudicator's).
    pub topics: Vec<[u8; 32]>,
    /// Its data.
    pub data: Vec<u8>,
}

/// A transaction the chain mined (in a block of its own), with its
/// receipt: what a host reports of what the chain saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinedTransaction {
    /// Its hash: the signed envelope's for a transaction sent over
    /// JSON-RPC; for one sent through [`Anchor::submit`] (unsigned: it
    /// comes from the development sender) a hash of the chain id, sender
    /// and nonce.
    pub hash: [u8; 32],
    /// The block it was mined in.
    pub block_number: u64,
    /// Its EIP-2718 type: 0 legacy (and [`Anchor::submit`]'s), 1
    /// EIP-2930, 2 EIP-1559.
    pub tx_type: u8,
    /// Its sender.
    pub from: Address,
    /// Its recipient (`None`: a contract creation).
    pub to: Option<Address>,
    /// The contract it created, if it created one.
    pub contract_address: Option<Address>,
    /// The sender's nonce it used.
    pub nonce: u64,
    /// The wei it carried.
    pub value: U256,
    /// Its calldata (a creation's init code).
    pub input: Vec<u8>,
    /// The gas it was allowed.
    pub gas_limit: u64,
    /// The gas it was charged (refunds deducted, as a receipt's `gasUsed`).
    pub gas_used: u64,
    /// The wei it paid per gas used.
    pub effective_gas_price: u128,
    /// Whether it succeeded; a failed one (a revert, out of gas) is mined
    /// too when it came over JSON-RPC, as on any chain, and pays its gas.
    pub success: bool,
    /// Its logs, in order (none if it failed).
    pub logs: Vec<MinedLog>,
}

impl MinedTransaction {
    /// The function selector: the calldata's first four bytes.
    pub fn selector(&self) -> Option<[u8; 4]> {
        self.input.get(..4)?.try_into().ok()
    }

    /// The adjudicator function the selector names (`deposit`, `conclude`,
    /// `register`, `finalize`, `withdraw`), if it names one.
    pub fn function(&self) -> Option<&'static str> {
        function_name(self.selector()?)
    }

    /// The calldata's length in bytes.
    pub fn calldata_bytes(&self) -> u64 {
        u64::try_from(self.input.len()).unwrap_or(u64::MAX)
    }

    /// The fee it paid: gas used times the effective gas price.
    pub fn fee(&self) -> u128 {
        u128::from(self.gas_used).saturating_mul(self.effective_gas_price)
    }
}

/// One block: what `eth_getBlockByNumber` shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BlockRecord {
    pub(super) number: u64,
    pub(super) hash: B256,
    pub(super) parent_hash: B256,
    pub(super) timestamp: u64,
    pub(super) gas_used: u64,
    /// The hashes of its transactions, in order (at most one).
    pub(super) transactions: Vec<B256>,
}

impl BlockRecord {
    /// A block with its hash computed from its contents.
    fn seal(
        number: u64,
        parent_hash: B256,
        timestamp: u64,
        gas_used: u64,
        transactions: Vec<B256>,
    ) -> Self {
        let mut block = BlockRecord {
            number,
            hash: B256::ZERO,
            parent_hash,
            timestamp,
            gas_used,
            transactions,
        };
        block.hash = block.header().hash_slow();
        block
    }

    /// The Ethereum header it stands for (see "Records" in the module
    /// docs for its roots).
    pub(super) fn header(&self) -> alloy_consensus::Header {
        let transactions_root = if self.transactions.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            keccak256(self.transactions.concat())
        };
        alloy_consensus::Header {
            parent_hash: self.parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: EvmAddress::ZERO,
            state_root: B256::ZERO,
            transactions_root,
            receipts_root: EMPTY_ROOT_HASH,
            difficulty: U256::ZERO,
            number: self.number,
            gas_limit: BLOCK_GAS_LIMIT,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            base_fee_per_gas: Some(BASE_FEE),
            ..alloy_consensus::Header::default()
        }
    }

    /// A block before the first one recorded (a chain kept in a file of
    /// format 1, which recorded no blocks): its hash stands for its
    /// number only.
    fn unrecorded(number: u64, timestamp: u64) -> Self {
        BlockRecord {
            number,
            hash: unrecorded_hash(number),
            parent_hash: number.checked_sub(1).map_or(B256::ZERO, unrecorded_hash),
            timestamp,
            gas_used: 0,
            transactions: Vec::new(),
        }
    }
}

fn unrecorded_hash(number: u64) -> B256 {
    keccak256(
        [
            &b"sotto-embedded-chain/unrecorded-block"[..],
            &number.to_be_bytes(),
        ]
        .concat(),
    )
}

/// The hash of a transaction sent through [`Anchor::submit`]: unsigned, so
/// named by the chain, its sender and its nonce.
fn unsigned_hash(chain_id: u64, from: EvmAddress, nonce: u64) -> B256 {
    keccak256(
        [
            &b"sotto-embedded-chain/unsigned-transaction"[..],
            &chain_id.to_be_bytes(),
            from.as_slice(),
            &nonce.to_be_bytes(),
        ]
        .concat(),
    )
}

/// Why a transaction sent over JSON-RPC was not mined.
#[derive(Debug, Error)]
pub(super) enum SendError {
    /// The EVM refused it before executing it (nonce, funds, gas limit,
    /// chain id): nothing changed.
    #[error("{0}")]
    Refused(String),
    /// It executed but could not be kept (the chain's file could not be
    /// written): nothing changed.
    #[error("not mined: {0}")]
    NotKept(EmbeddedError),
}

/// An in-process EVM (revm, Osaka rules) with the adjudicator deployed
/// from the committed artifact, an in-memory state, blocks, a clock, and
/// funded development accounts; optionally kept in a file
/// ([`EmbeddedChain::open`]), so that a restarted node finds its chain
/// again.
///
/// It implements [`Anchor`]: each call is a transaction from a funded
/// development sender (a deposit carries its amount as value); an accepted
/// one is mined and its [`Receipt`] gives the gas the chain charged
/// (refunds deducted, as a receipt's `gasUsed`); a revert maps to the
/// [`AnchorError`] its custom error names and changes nothing.
#[derive(Debug)]
pub struct EmbeddedChain {
    world: World,
    chain_id: u64,
    adjudicator: EvmAddress,
    /// Where every change is written before it takes effect.
    file: Option<PathBuf>,
}

/// Everything a block changes: accounts and storage, the latest block,
/// the adjudicator's logs, the records of blocks and transactions.
#[derive(Debug, Clone)]
struct World {
    db: CacheDB<EmptyDB>,
    /// The latest block's environment (its number and timestamp).
    block: BlockEnv,
    /// The adjudicator's logs per channel (topic 1), in chain order: what
    /// [`Anchor::events`] reads.
    logs: HashMap<[u8; 32], Vec<LogData>>,
    /// Every block from the first recorded one (0 on a chain created by
    /// this version) to the latest, in order.
    blocks: Vec<BlockRecord>,
    /// Every mined transaction, in chain order.
    transactions: Vec<MinedTransaction>,
    /// Where each transaction is in `transactions`.
    by_hash: HashMap<B256, usize>,
    /// Seconds added to the next block's timestamp (`evm_increaseTime`).
    pending_time: u64,
}

impl World {
    fn account(&self, who: EvmAddress) -> AccountInfo {
        self.db.basic_ref(who).ok().flatten().unwrap_or_default()
    }

    fn head(&self) -> u64 {
        u64::try_from(self.block.number).unwrap_or(u64::MAX)
    }

    fn timestamp(&self) -> u64 {
        u64::try_from(self.block.timestamp).unwrap_or(u64::MAX)
    }

    /// Block `number`, if the chain has reached it.
    fn block_record(&self, number: u64) -> Option<BlockRecord> {
        if number > self.head() {
            return None;
        }
        let first = self.blocks.first()?;
        match number.checked_sub(first.number) {
            Some(i) => self.blocks.get(usize::try_from(i).ok()?).cloned(),
            None => Some(BlockRecord::unrecorded(number, first.timestamp)),
        }
    }

    /// The next block's environment, `extra` seconds beyond the pending
    /// time after the latest block.
    fn next_block(&self, extra: u64) -> BlockEnv {
        let mut block = self.block.clone();
        block.number = block.number.saturating_add(U256::from(1));
        let time = self
            .timestamp()
            .saturating_add(self.pending_time)
            .saturating_add(extra);
        block.timestamp = U256::from(time);
        block
    }

    /// Appends the block of environment `env` holding `tx`, if any.
    fn seal(&mut self, env: BlockEnv, tx: Option<MinedTransaction>, adjudicator: EvmAddress) {
        let parent = self
            .block_record(self.head())
            .map_or(B256::ZERO, |b| b.hash);
        let number = u64::try_from(env.number).unwrap_or(u64::MAX);
        let timestamp = u64::try_from(env.timestamp).unwrap_or(u64::MAX);
        let gas_used = tx.as_ref().map_or(0, |t| t.gas_used);
        let hashes = tx.iter().map(|t| B256::from(t.hash)).collect();
        self.blocks.push(BlockRecord::seal(
            number, parent, timestamp, gas_used, hashes,
        ));
        if let Some(tx) = tx {
            for log in &tx.logs {
                if log.address.0 == adjudicator.0
                    && let (Some(channel), Some(data)) = (log.topics.get(1), evm_log(log))
                {
                    self.logs.entry(*channel).or_default().push(data);
                }
            }
            self.by_hash
                .insert(B256::from(tx.hash), self.transactions.len());
            self.transactions.push(tx);
        }
        self.block = env;
        self.pending_time = 0;
    }
}

/// A record's log as the EVM's (`None` only if it has more than four
/// topics, which no EVM log has).
fn evm_log(log: &MinedLog) -> Option<LogData> {
    LogData::new(
        log.topics.iter().map(|t| B256::from(*t)).collect(),
        Bytes::copy_from_slice(&log.data),
    )
}

impl EmbeddedChain {
    /// The embedded chain's first block time (2023-11-14), so that `until`
    /// values look like real timestamps.
    pub const GENESIS_TIMESTAMP: u64 = 1_700_000_000;

    /// The adjudicator's calldata for `call` on the channel of `params`,
    /// exactly as [`Anchor::submit`] sends it (for measuring what the
    /// calldata costs).
    pub fn calldata(params: &ChannelParams, call: &AnchorCall) -> Vec<u8> {
        encode_call(params, call).0
    }

    /// A fresh chain with id `chain_id` at [`Self::GENESIS_TIMESTAMP`], the
    /// adjudicator deployed by the development sender's first transaction.
    pub fn new(chain_id: u64) -> Result<Self, EmbeddedError> {
        Self::with_genesis(chain_id, Self::GENESIS_TIMESTAMP)
    }

    /// A fresh chain as [`Self::new`], its first block at `timestamp` (a
    /// simulated clock: `sotto run` starts at 0, where scenario times
    /// count from).
    pub fn with_genesis(chain_id: u64, timestamp: u64) -> Result<Self, EmbeddedError> {
        let artifact = Artifact::parse().map_err(EmbeddedError::Artifact)?;
        let mut chain = EmbeddedChain {
            world: World {
                db: CacheDB::new(EmptyDB::default()),
                block: block_env(0, timestamp),
                logs: HashMap::new(),
                blocks: vec![BlockRecord::seal(0, B256::ZERO, timestamp, 0, Vec::new())],
                transactions: Vec::new(),
                by_hash: HashMap::new(),
                pending_time: 0,
            },
            chain_id,
            adjudicator: DEV_SENDER.create(0),
            file: None,
        };
        chain.fund_evm(DEV_SENDER, U256::from(DEV_BALANCE))?;
        let result = chain
            .execute(TxKind::Create, artifact.creation.clone(), U256::ZERO, true)
            .map_err(|e| EmbeddedError::Deploy(e.to_string()))?;
        match result {
            ExecutionResult::Success {
                output: Output::Create(_, Some(at)),
                ..
            } if at == chain.adjudicator => {}
            other => return Err(EmbeddedError::Deploy(format!("{other:?}"))),
        }
        chain.check_code(&artifact)?;
        Ok(chain)
    }

    /// The chain kept in `path`: loaded if the file exists (it must be of
    /// chain `chain_id`), created there otherwise. Every later change
    /// (a mined transaction, [`Anchor::advance`], [`Self::fund`],
    /// [`Self::set_code`]) is written to the file, atomically, before it
    /// takes effect: a change that cannot be written is refused.
    ///
    /// The file is a canonical JSON snapshot (format
    /// `sotto-embedded-chain/2`, which keeps the records of blocks and
    /// transactions); loading refuses any other format, unknown fields,
    /// malformed hex, blocks whose hashes or links do not match their
    /// contents, and a chain whose adjudicator's code is not the built-in
    /// artifact's (rebuilt contract: start a new chain). A file of format
    /// `sotto-embedded-chain/1` (no records) loads as a chain whose
    /// history before the load is unrecorded: its blocks read as empty,
    /// its transactions and logs are not served over JSON-RPC (its
    /// channels' events still are read by [`Anchor::events`]), and the
    /// next change writes it as format 2.
    pub fn open(path: &Path, chain_id: u64) -> Result<Self, EmbeddedError> {
        let mut chain = match std::fs::read(path) {
            Ok(bytes) => snapshot::load(&bytes).map_err(|what| EmbeddedError::Snapshot {
                path: path.display().to_string(),
                what,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let chain = EmbeddedChain::new(chain_id)?;
                snapshot::write(path, &chain.world, chain.chain_id, chain.adjudicator)?;
                chain
            }
            Err(source) => {
                return Err(EmbeddedError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        if chain.chain_id != chain_id {
            return Err(EmbeddedError::Snapshot {
                path: path.display().to_string(),
                what: format!("it holds chain {}, not {chain_id}", chain.chain_id),
            });
        }
        chain.check_code(&Artifact::parse().map_err(EmbeddedError::Artifact)?)?;
        chain.file = Some(path.to_path_buf());
        Ok(chain)
    }

    /// The adjudicator's address (the development sender's first
    /// contract: the same on every embedded chain).
    pub fn adjudicator(&self) -> Address {
        Address(self.adjudicator.into_array())
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The latest block's number.
    pub fn block_number(&self) -> u64 {
        self.world.head()
    }

    /// Every transaction the chain mined, in chain order, with its receipt
    /// (the adjudicator's deployment first).
    pub fn transactions(&self) -> &[MinedTransaction] {
        &self.world.transactions
    }

    /// The mined transaction of hash `hash`.
    pub fn transaction(&self, hash: &[u8; 32]) -> Option<&MinedTransaction> {
        let i = *self.world.by_hash.get(&B256::from(*hash))?;
        self.world.transactions.get(i)
    }

    /// Sets `who`'s balance (as anvil's `anvil_setBalance` does).
    pub fn set_balance(&mut self, who: Address, wei: u128) -> Result<(), EmbeddedError> {
        self.set_balance_evm(EvmAddress::from(who.0), U256::from(wei))
    }

    pub(super) fn set_balance_evm(
        &mut self,
        who: EvmAddress,
        wei: U256,
    ) -> Result<(), EmbeddedError> {
        self.change(|world| {
            let mut info = world.account(who);
            info.balance = wei;
            world.db.insert_account_info(who, info);
        })
    }

    /// `who`'s account (empty if it has none).
    pub(super) fn account(&self, who: EvmAddress) -> AccountInfo {
        self.world.account(who)
    }

    /// `who`'s code (empty for a plain account).
    pub(super) fn code(&self, who: EvmAddress) -> Bytes {
        let info = self.world.account(who);
        match info.code {
            Some(code) => code.original_bytes(),
            None => self
                .world
                .db
                .cache
                .contracts
                .get(&info.code_hash)
                .map(Bytecode::original_bytes)
                .unwrap_or_default(),
        }
    }

    /// Block `number`, if the chain has reached it.
    pub(super) fn block_record(&self, number: u64) -> Option<BlockRecord> {
        self.world.block_record(number)
    }

    /// Where the transaction of hash `hash` is in [`Self::transactions`].
    pub(super) fn transaction_position(&self, hash: &B256) -> Option<usize> {
        self.world.by_hash.get(hash).copied()
    }

    /// Adds `seconds` to the next block's timestamp without mining (as
    /// `evm_increaseTime` does); refuses a clock beyond `u64` seconds.
    pub(super) fn increase_time(&mut self, seconds: u64) -> Result<u64, EmbeddedError> {
        let pending = self
            .world
            .pending_time
            .checked_add(seconds)
            .filter(|p| self.world.timestamp().checked_add(*p).is_some())
            .ok_or(EmbeddedError::Clock)?;
        self.change(|world| world.pending_time = pending)?;
        Ok(pending)
    }

    /// Runs `tx` on the next block (at the pending time) and keeps
    /// nothing: what `eth_call` and `eth_estimateGas` do. An error is the
    /// EVM's refusal to run it (nonce, funds, gas limit).
    pub(super) fn simulate(&mut self, tx: TxEnv) -> Result<ExecutionResult, String> {
        self.transact(tx).map(|(result, _, _)| result)
    }

    /// Runs `tx`, signed as `hash`, on the next block and mines it there,
    /// whether it succeeds or fails (a failed one pays its gas and uses its
    /// nonce, as on any chain).
    pub(super) fn send(&mut self, tx: TxEnv, hash: B256) -> Result<MinedTransaction, SendError> {
        let (result, state, block) = self.transact(tx.clone()).map_err(SendError::Refused)?;
        self.mine(&tx, hash, &result, state, block)
            .map_err(SendError::NotKept)
    }

    /// Adds `wei` to `who`'s balance (a development chain's faucet).
    pub fn fund(&mut self, who: Address, wei: u128) -> Result<(), EmbeddedError> {
        self.fund_evm(EvmAddress::from(who.0), U256::from(wei))
    }

    /// `who`'s balance in wei (saturating at `u128::MAX`, which no funded
    /// account reaches).
    pub fn balance(&self, who: Address) -> u128 {
        let balance = self.world.account(EvmAddress::from(who.0)).balance;
        u128::try_from(balance).unwrap_or(u128::MAX)
    }

    /// Replaces `who`'s code (as anvil's `anvil_setCode` does): for tests
    /// of recipients that refuse a payment. Empty code makes it a plain
    /// account again.
    pub fn set_code(&mut self, who: Address, code: &[u8]) -> Result<(), EmbeddedError> {
        let who = EvmAddress::from(who.0);
        let code = Bytecode::new_legacy(Bytes::copy_from_slice(code));
        self.change(|world| {
            let mut info = world.account(who);
            info.set_code(code);
            world.db.insert_account_info(who, info);
        })
    }

    /// Runs `calldata` against the adjudicator as `eth_call` does: no
    /// block is mined, nothing is kept. Returns the return data; a revert
    /// maps to an [`AnchorError`] as in [`Anchor::submit`].
    pub fn call_view(&mut self, calldata: &[u8]) -> Result<Vec<u8>, AnchorError> {
        let result = self.execute(
            TxKind::Call(self.adjudicator),
            Bytes::copy_from_slice(calldata),
            U256::ZERO,
            false,
        )?;
        match result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data().to_vec()),
            ExecutionResult::Revert { output, .. } => Err(decode_revert(&output)),
            ExecutionResult::Halt { reason, .. } => {
                Err(AnchorError::Backend(format!("the call halted: {reason:?}")))
            }
        }
    }

    /// The adjudicator's `channelId(params)`.
    pub fn channel_id_on_chain(&mut self, params: &ChannelParams) -> Result<[u8; 32], AnchorError> {
        let out = self.call_view(
            &IAdjudicator::channelIdCall {
                p: sol_params(params),
            }
            .abi_encode(),
        )?;
        let id = IAdjudicator::channelIdCall::abi_decode_returns(&out)
            .map_err(|e| AnchorError::Backend(format!("channelId returned {e}")))?;
        Ok(id.0)
    }

    /// The adjudicator's `stateDigest(state)`.
    pub fn state_digest_on_chain(&mut self, state: &State) -> Result<[u8; 32], AnchorError> {
        let out = self.call_view(
            &IAdjudicator::stateDigestCall {
                s: sol_state(state),
            }
            .abi_encode(),
        )?;
        let digest = IAdjudicator::stateDigestCall::abi_decode_returns(&out)
            .map_err(|e| AnchorError::Backend(format!("stateDigest returned {e}")))?;
        Ok(digest.0)
    }

    /// The adjudicator's `timedDigest(stateDigest(state), window)`.
    pub fn timed_digest_on_chain(
        &mut self,
        state: &State,
        window: &crate::state::Window,
    ) -> Result<[u8; 32], AnchorError> {
        let digest = self.state_digest_on_chain(state)?;
        let out = self.call_view(
            &IAdjudicator::timedDigestCall {
                digest: digest.into(),
                notBefore: window.not_before,
                notAfter: window.not_after,
            }
            .abi_encode(),
        )?;
        let timed = IAdjudicator::timedDigestCall::abi_decode_returns(&out)
            .map_err(|e| AnchorError::Backend(format!("timedDigest returned {e}")))?;
        Ok(timed.0)
    }

    /// Whether the adjudicator's code is the artifact's deployed bytecode.
    fn check_code(&self, artifact: &Artifact) -> Result<(), EmbeddedError> {
        let info = self.world.account(self.adjudicator);
        let code = match info.code {
            Some(code) => Some(code.original_bytes()),
            None => self
                .world
                .db
                .cache
                .contracts
                .get(&info.code_hash)
                .map(Bytecode::original_bytes),
        };
        if code.as_ref() != Some(&artifact.deployed) {
            return Err(EmbeddedError::Deploy(
                "the adjudicator's code is not the artifact's deployedBytecode".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn fund_evm(&mut self, who: EvmAddress, wei: U256) -> Result<(), EmbeddedError> {
        self.change(|world| {
            let mut info = world.account(who);
            info.balance = info.balance.saturating_add(wei);
            world.db.insert_account_info(who, info);
        })
    }

    /// Applies `f` to the world: in place for a chain in memory only;
    /// for a chain kept in a file, to a copy that is written out first
    /// and only then replaces the world.
    fn change(&mut self, f: impl FnOnce(&mut World)) -> Result<(), EmbeddedError> {
        match &self.file {
            None => f(&mut self.world),
            Some(path) => {
                let mut next = self.world.clone();
                f(&mut next);
                snapshot::write(path, &next, self.chain_id, self.adjudicator)?;
                self.world = next;
            }
        }
        Ok(())
    }

    /// Executes one transaction from the development sender in the next
    /// block; with `commit`, an accepted one is mined: its state changes
    /// are kept, its logs recorded, the block number moves on.
    fn execute(
        &mut self,
        kind: TxKind,
        data: Bytes,
        value: U256,
        commit: bool,
    ) -> Result<ExecutionResult, AnchorError> {
        let nonce = self.world.account(DEV_SENDER).nonce;
        let tx = TxEnv::builder()
            .caller(DEV_SENDER)
            .kind(kind)
            .data(data)
            .value(value)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(self.chain_id))
            .build()
            .map_err(|e| AnchorError::Backend(format!("transaction: {e:?}")))?;
        let (result, state, block) = self
            .transact(tx.clone())
            .map_err(|e| AnchorError::Backend(format!("the EVM refused the transaction: {e}")))?;
        if commit && result.is_success() {
            let hash = unsigned_hash(self.chain_id, DEV_SENDER, nonce);
            self.mine(&tx, hash, &result, state, block)
                .map_err(|e| AnchorError::Backend(format!("not mined: {e}")))?;
        }
        Ok(result)
    }

    /// Runs `tx` on the next block; nothing is kept.
    fn transact(&mut self, tx: TxEnv) -> Result<(ExecutionResult, EvmState, BlockEnv), String> {
        let block = self.world.next_block(0);
        let cfg = CfgEnv::new_with_spec(SpecId::OSAKA).with_chain_id(self.chain_id);
        let mut evm = Context::mainnet()
            .with_db(&mut self.world.db)
            .with_block(block.clone())
            .with_cfg(cfg)
            .build_mainnet();
        let ExecResultAndState { result, state } = evm.transact(tx).map_err(|e| e.to_string())?;
        Ok((result, state, block))
    }

    /// Keeps what [`Self::transact`] returned for `tx`: its state changes,
    /// and a block of its own holding its record.
    fn mine(
        &mut self,
        tx: &TxEnv,
        hash: B256,
        result: &ExecutionResult,
        state: EvmState,
        block: BlockEnv,
    ) -> Result<MinedTransaction, EmbeddedError> {
        let effective_gas_price = match tx.gas_priority_fee {
            Some(priority) if tx.tx_type >= 2 => tx
                .gas_price
                .min(u128::from(block.basefee).saturating_add(priority)),
            _ => tx.gas_price,
        };
        let contract_address = match result {
            ExecutionResult::Success {
                output: Output::Create(_, Some(at)),
                ..
            } => Some(Address(at.into_array())),
            _ => None,
        };
        let record = MinedTransaction {
            hash: hash.0,
            block_number: u64::try_from(block.number).unwrap_or(u64::MAX),
            tx_type: tx.tx_type,
            from: Address(tx.caller.into_array()),
            to: match tx.kind {
                TxKind::Call(to) => Some(Address(to.into_array())),
                TxKind::Create => None,
            },
            contract_address,
            nonce: tx.nonce,
            value: tx.value,
            input: tx.data.to_vec(),
            gas_limit: tx.gas_limit,
            gas_used: result.tx_gas_used(),
            effective_gas_price,
            success: result.is_success(),
            logs: result
                .logs()
                .iter()
                .map(|log| MinedLog {
                    address: Address(log.address.into_array()),
                    topics: log.data.topics().iter().map(|t| t.0).collect(),
                    data: log.data.data.to_vec(),
                })
                .collect(),
        };
        let adjudicator = self.adjudicator;
        let kept = record.clone();
        self.change(|world| {
            world.db.commit(state);
            world.seal(block, Some(kept), adjudicator);
        })?;
        Ok(record)
    }
}

/// A block environment at `number` and `timestamp`, with the chain's gas
/// limit and base fee.
fn block_env(number: u64, timestamp: u64) -> BlockEnv {
    BlockEnv {
        number: U256::from(number),
        timestamp: U256::from(timestamp),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee: BASE_FEE,
        ..BlockEnv::default()
    }
}

impl Anchor for EmbeddedChain {
    fn adjudicator(&self) -> Address {
        EmbeddedChain::adjudicator(self)
    }

    fn chain_id(&self) -> u64 {
        EmbeddedChain::chain_id(self)
    }

    fn submit(
        &mut self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        let (calldata, value) = encode_call(params, call);
        let calldata_bytes = u64::try_from(calldata.len()).ok();
        let result = self.execute(
            TxKind::Call(self.adjudicator),
            Bytes::from(calldata),
            U256::from(value),
            true,
        )?;
        match result {
            ExecutionResult::Success { gas, .. } => Ok(Receipt {
                gas: Some(gas.tx_gas_used()),
                calldata_bytes,
            }),
            ExecutionResult::Revert { output, .. } => Err(decode_revert(&output)),
            ExecutionResult::Halt { reason, .. } => Err(AnchorError::Backend(format!(
                "the transaction halted: {reason:?}"
            ))),
        }
    }

    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError> {
        let logs = self
            .world
            .logs
            .get(channel_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let events = logs
            .iter()
            .skip(from)
            .map(decode_log)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, logs.len().max(from)))
    }

    fn now(&self) -> u64 {
        self.world.timestamp()
    }

    /// Mines an empty block `seconds` (plus any pending
    /// `evm_increaseTime`) after the latest one; the clock saturates at
    /// `u64::MAX` seconds.
    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        let adjudicator = self.adjudicator;
        self.change(|world| {
            let block = world.next_block(seconds);
            world.seal(block, None, adjudicator);
        })
        .map_err(|e| AnchorError::Backend(format!("the clock did not move: {e}")))
    }
}

/// The chain's file: a canonical JSON snapshot of the world. Loading
/// re-encodes what it read and refuses the file unless the bytes are the
/// same (one chain, one file: no unsorted entries, no zero slots, no
/// upper-case hex, no other layout), and checks that the records hang
/// together (consecutive blocks, each hash its contents', each linked to
/// its parent, each transaction in the block that lists it).
///
/// Format 2 adds to format 1 the pending time, the blocks and the
/// transactions; a format-1 file loads with its history unrecorded (see
/// [`EmbeddedChain::open`]) and is written back as format 2.
mod snapshot {
    use std::io::Write as _;

    use serde::{Deserialize, Serialize};

    use super::*;

    const FORMAT_1: &str = "sotto-embedded-chain/1";
    const FORMAT: &str = "sotto-embedded-chain/2";

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct File {
        format: String,
        chain_id: u64,
        adjudicator: String,
        block_number: u64,
        timestamp: u64,
        /// Format 2 only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending_time: Option<u64>,
        /// Sorted by address; accounts with nothing in them left out.
        accounts: Vec<Account>,
        /// Sorted by channel id.
        channels: Vec<Channel>,
        /// Format 2 only: from the first recorded block to the latest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blocks: Option<Vec<Block>>,
        /// Format 2 only: in chain order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transactions: Option<Vec<Transaction>>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Account {
        address: String,
        balance: String,
        nonce: u64,
        code: String,
        /// (slot, value), sorted by slot, non-zero values only.
        storage: Vec<[String; 2]>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Channel {
        id: String,
        /// The adjudicator's logs for the channel, in chain order.
        logs: Vec<Log>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Log {
        topics: Vec<String>,
        data: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Block {
        number: u64,
        hash: String,
        parent_hash: String,
        timestamp: u64,
        gas_used: u64,
        transactions: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Transaction {
        hash: String,
        block_number: u64,
        #[serde(rename = "type")]
        tx_type: u8,
        from: String,
        to: Option<String>,
        contract_address: Option<String>,
        nonce: u64,
        value: String,
        input: String,
        gas_limit: u64,
        gas_used: u64,
        effective_gas_price: String,
        success: bool,
        logs: Vec<TxLog>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TxLog {
        address: String,
        topics: Vec<String>,
        data: String,
    }

    fn hex0x(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    fn word(x: U256) -> String {
        hex0x(&x.to_be_bytes::<32>())
    }

    fn unhex(text: &str) -> Result<Vec<u8>, String> {
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| format!("{text:?} does not start with 0x"))?;
        hex::decode(digits).map_err(|e| format!("{text:?}: {e}"))
    }

    fn unhex_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
        let bytes = unhex(text)?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| format!("{text:?} is not {N} bytes"))
    }

    fn unword(text: &str) -> Result<U256, String> {
        unhex_array::<32>(text).map(U256::from_be_bytes)
    }

    fn unaddress(text: &str) -> Result<Address, String> {
        unhex_array::<20>(text).map(Address)
    }

    fn encode_transaction(tx: &MinedTransaction) -> Transaction {
        Transaction {
            hash: hex0x(&tx.hash),
            block_number: tx.block_number,
            tx_type: tx.tx_type,
            from: hex0x(&tx.from.0),
            to: tx.to.map(|a| hex0x(&a.0)),
            contract_address: tx.contract_address.map(|a| hex0x(&a.0)),
            nonce: tx.nonce,
            value: word(tx.value),
            input: hex0x(&tx.input),
            gas_limit: tx.gas_limit,
            gas_used: tx.gas_used,
            effective_gas_price: word(U256::from(tx.effective_gas_price)),
            success: tx.success,
            logs: tx
                .logs
                .iter()
                .map(|log| TxLog {
                    address: hex0x(&log.address.0),
                    topics: log.topics.iter().map(|t| hex0x(t)).collect(),
                    data: hex0x(&log.data),
                })
                .collect(),
        }
    }

    fn decode_transaction(tx: &Transaction) -> Result<MinedTransaction, String> {
        let mut logs = Vec::with_capacity(tx.logs.len());
        for log in &tx.logs {
            if log.topics.len() > 4 {
                return Err(format!(
                    "a log of transaction {} has more than 4 topics",
                    tx.hash
                ));
            }
            logs.push(MinedLog {
                address: unaddress(&log.address)?,
                topics: log
                    .topics
                    .iter()
                    .map(|t| unhex_array::<32>(t))
                    .collect::<Result<_, _>>()?,
                data: unhex(&log.data)?,
            });
        }
        Ok(MinedTransaction {
            hash: unhex_array::<32>(&tx.hash)?,
            block_number: tx.block_number,
            tx_type: tx.tx_type,
            from: unaddress(&tx.from)?,
            to: tx.to.as_deref().map(unaddress).transpose()?,
            contract_address: tx.contract_address.as_deref().map(unaddress).transpose()?,
            nonce: tx.nonce,
            value: unword(&tx.value)?,
            input: unhex(&tx.input)?,
            gas_limit: tx.gas_limit,
            gas_used: tx.gas_used,
            effective_gas_price: u128::try_from(unword(&tx.effective_gas_price)?)
                .map_err(|_| format!("transaction {}: a gas price beyond u128", tx.hash))?,
            success: tx.success,
            logs,
        })
    }

    /// The snapshot of `world` in format 2, or in format 1 with `v1` (only
    /// to check that a format-1 file is canonical).
    fn encode(
        world: &World,
        chain_id: u64,
        adjudicator: EvmAddress,
        v1: bool,
    ) -> Result<Vec<u8>, String> {
        let mut accounts = Vec::new();
        for (address, account) in &world.db.cache.accounts {
            let mut storage: Vec<(U256, U256)> = account
                .storage
                .iter()
                .filter(|(_, value)| !value.is_zero())
                .map(|(slot, value)| (*slot, *value))
                .collect();
            storage.sort();
            let info = &account.info;
            let code = match &info.code {
                Some(code) => code.original_bytes(),
                None => world
                    .db
                    .cache
                    .contracts
                    .get(&info.code_hash)
                    .map(Bytecode::original_bytes)
                    .unwrap_or_default(),
            };
            if info.balance.is_zero() && info.nonce == 0 && code.is_empty() && storage.is_empty() {
                continue;
            }
            accounts.push(Account {
                address: hex0x(address.as_slice()),
                balance: word(info.balance),
                nonce: info.nonce,
                code: hex0x(&code),
                storage: storage
                    .into_iter()
                    .map(|(slot, value)| [word(slot), word(value)])
                    .collect(),
            });
        }
        accounts.sort_by(|a, b| a.address.cmp(&b.address));
        let mut channels: Vec<Channel> = world
            .logs
            .iter()
            .map(|(id, logs)| Channel {
                id: hex0x(id),
                logs: logs
                    .iter()
                    .map(|log| Log {
                        topics: log.topics().iter().map(|t| hex0x(t.as_slice())).collect(),
                        data: hex0x(&log.data),
                    })
                    .collect(),
            })
            .collect();
        channels.sort_by(|a, b| a.id.cmp(&b.id));
        let (format, pending_time, blocks, transactions) = if v1 {
            (FORMAT_1, None, None, None)
        } else {
            let blocks = world
                .blocks
                .iter()
                .map(|b| Block {
                    number: b.number,
                    hash: hex0x(b.hash.as_slice()),
                    parent_hash: hex0x(b.parent_hash.as_slice()),
                    timestamp: b.timestamp,
                    gas_used: b.gas_used,
                    transactions: b.transactions.iter().map(|t| hex0x(t.as_slice())).collect(),
                })
                .collect();
            let transactions = world.transactions.iter().map(encode_transaction).collect();
            (
                FORMAT,
                Some(world.pending_time),
                Some(blocks),
                Some(transactions),
            )
        };
        let file = File {
            format: format.into(),
            chain_id,
            adjudicator: hex0x(adjudicator.as_slice()),
            block_number: u64::try_from(world.block.number).map_err(|e| e.to_string())?,
            timestamp: u64::try_from(world.block.timestamp).map_err(|e| e.to_string())?,
            pending_time,
            accounts,
            channels,
            blocks,
            transactions,
        };
        let mut text = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        text.push(b'\n');
        Ok(text)
    }

    /// Writes the snapshot of `world` to `path` atomically: a temporary
    /// file beside it, synced, then renamed over it.
    pub(super) fn write(
        path: &Path,
        world: &World,
        chain_id: u64,
        adjudicator: EvmAddress,
    ) -> Result<(), EmbeddedError> {
        let name = || path.display().to_string();
        let text = encode(world, chain_id, adjudicator, false)
            .map_err(|what| EmbeddedError::Snapshot { path: name(), what })?;
        let io = |source| EmbeddedError::Io {
            path: name(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// The records of a format-2 file, checked to hang together and to
    /// end at the latest block.
    /// What a format-2 file's records decode to.
    type Records = (
        Vec<BlockRecord>,
        Vec<MinedTransaction>,
        HashMap<B256, usize>,
    );

    fn records(
        blocks: &[Block],
        transactions: &[Transaction],
        head: u64,
        timestamp: u64,
    ) -> Result<Records, String> {
        let mut records: Vec<BlockRecord> = Vec::with_capacity(blocks.len());
        let mut txs = Vec::with_capacity(transactions.len());
        let mut by_hash = HashMap::with_capacity(transactions.len());
        let mut pending = transactions.iter();
        for block in blocks {
            let n = block.number;
            let parent = match records.last() {
                Some(previous) => {
                    if previous.number.checked_add(1) != Some(n) {
                        return Err(format!("block {n} follows block {}", previous.number));
                    }
                    if block.timestamp < previous.timestamp {
                        return Err(format!("block {n} is older than its parent"));
                    }
                    previous.hash
                }
                None => n.checked_sub(1).map_or(B256::ZERO, unrecorded_hash),
            };
            let hashes = block
                .transactions
                .iter()
                .map(|t| unhex_array::<32>(t).map(B256::from))
                .collect::<Result<Vec<_>, _>>()?;
            let mut gas = 0u64;
            for hash in &hashes {
                let tx = pending
                    .next()
                    .ok_or_else(|| format!("block {n} lists a transaction not recorded"))?;
                let tx = decode_transaction(tx)?;
                if B256::from(tx.hash) != *hash || tx.block_number != n {
                    return Err(format!(
                        "block {n} lists transaction {hash}, the records have another there"
                    ));
                }
                if by_hash.insert(*hash, txs.len()).is_some() {
                    return Err(format!("transaction {hash} is recorded twice"));
                }
                gas = gas.saturating_add(tx.gas_used);
                txs.push(tx);
            }
            let sealed = BlockRecord::seal(n, parent, block.timestamp, block.gas_used, hashes);
            if gas != block.gas_used
                || hex0x(sealed.hash.as_slice()) != block.hash
                || hex0x(sealed.parent_hash.as_slice()) != block.parent_hash
            {
                return Err(format!(
                    "block {n}'s hash, parent or gas does not match its contents"
                ));
            }
            records.push(sealed);
        }
        if pending.next().is_some() {
            return Err("a transaction is recorded in no block".into());
        }
        match records.last() {
            Some(last) if last.number == head && last.timestamp == timestamp => {}
            _ => return Err(format!("the blocks do not end at block {head}")),
        }
        Ok((records, txs, by_hash))
    }

    /// The chain a snapshot holds (not yet tied to its file).
    pub(super) fn load(bytes: &[u8]) -> Result<EmbeddedChain, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let v1 = match file.format.as_str() {
            FORMAT => false,
            FORMAT_1 => true,
            other => return Err(format!("format {other:?}, not {FORMAT:?}")),
        };
        let mut db = CacheDB::new(EmptyDB::default());
        for account in &file.accounts {
            let address = EvmAddress::from(unhex_array::<20>(&account.address)?);
            let mut info = AccountInfo {
                balance: unword(&account.balance)?,
                nonce: account.nonce,
                ..AccountInfo::default()
            };
            let code = unhex(&account.code)?;
            if !code.is_empty() {
                let code = Bytecode::new_raw_checked(Bytes::from(code))
                    .map_err(|e| format!("code of {}: {e:?}", account.address))?;
                info.set_code(code);
            }
            db.insert_account_info(address, info);
            for [slot, value] in &account.storage {
                db.insert_account_storage(address, unword(slot)?, unword(value)?)
                    .map_err(|e| format!("{e:?}"))?;
            }
        }
        let mut logs = HashMap::new();
        for channel in &file.channels {
            let mut list = Vec::new();
            for log in &channel.logs {
                let topics = log
                    .topics
                    .iter()
                    .map(|t| unhex_array::<32>(t).map(B256::from))
                    .collect::<Result<Vec<_>, _>>()?;
                let data = Bytes::from(unhex(&log.data)?);
                list.push(LogData::new(topics, data).ok_or("a log has more than 4 topics")?);
            }
            logs.insert(unhex_array::<32>(&channel.id)?, list);
        }
        let (blocks, transactions, by_hash, pending_time) =
            match (v1, file.pending_time, &file.blocks, &file.transactions) {
                (true, None, None, None) => {
                    // Step 1) format 1 recorded no blocks: the latest one
                    // is the first recorded, its ancestors unrecorded.
                    let head = BlockRecord::seal(
                        file.block_number,
                        file.block_number
                            .checked_sub(1)
                            .map_or(B256::ZERO, unrecorded_hash),
                        file.timestamp,
                        0,
                        Vec::new(),
                    );
                    (vec![head], Vec::new(), HashMap::new(), 0)
                }
                (false, Some(pending), Some(blocks), Some(transactions)) => {
                    let (blocks, transactions, by_hash) =
                        records(blocks, transactions, file.block_number, file.timestamp)?;
                    if file.timestamp.checked_add(pending).is_none() {
                        return Err("the pending time overflows the clock".into());
                    }
                    (blocks, transactions, by_hash, pending)
                }
                _ => {
                    return Err(format!(
                        "format {:?} with the fields of another format",
                        file.format
                    ));
                }
            };
        let world = World {
            db,
            block: block_env(file.block_number, file.timestamp),
            logs,
            blocks,
            transactions,
            by_hash,
            pending_time,
        };
        let adjudicator = EvmAddress::from(unhex_array::<20>(&file.adjudicator)?);
        if encode(&world, file.chain_id, adjudicator, v1)? != bytes {
            return Err("not in canonical form (was it written by hand?)".into());
        }
        Ok(EmbeddedChain {
            world,
            chain_id: file.chain_id,
            adjudicator,
            file: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function, event and error of the bindings is in the
    /// artifact's ABI, with the same signature, and nothing else is.
    #[test]
    fn the_adjudicator_deploys_from_the_artifact() {
        let chain = EmbeddedChain::new(31337).unwrap();
        assert_eq!(chain.block_number(), 1);
        assert_eq!(chain.now(), EmbeddedChain::GENESIS_TIMESTAMP);
        assert_eq!(
            chain.adjudicator(),
            Address(DEV_SENDER.create(0).into_array())
        );
    }
}
