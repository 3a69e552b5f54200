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

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address as EvmAddress, B256, Bytes, LogData, U256, address, hex};
use alloy_sol_types::SolCall as _;
use revm::bytecode::Bytecode;
use revm::context::result::{ExecResultAndState, ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::TxKind;
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{
    DatabaseCommit as _, DatabaseRef as _, ExecuteEvm as _, MainBuilder as _, MainContext as _,
};
use thiserror::Error;

use super::abi::{
    Artifact, IAdjudicator, decode_log, decode_revert, encode_call, sol_params, sol_state,
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
const TX_GAS_LIMIT: u64 = 1 << 24;

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
/// the adjudicator's logs.
#[derive(Debug, Clone)]
struct World {
    db: CacheDB<EmptyDB>,
    block: BlockEnv,
    /// The adjudicator's logs per channel (topic 1), in chain order.
    logs: HashMap<[u8; 32], Vec<LogData>>,
}

impl World {
    fn account(&self, who: EvmAddress) -> AccountInfo {
        self.db.basic_ref(who).ok().flatten().unwrap_or_default()
    }
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
                block: BlockEnv {
                    number: U256::ZERO,
                    timestamp: U256::from(timestamp),
                    gas_limit: 30_000_000,
                    basefee: 0,
                    ..BlockEnv::default()
                },
                logs: HashMap::new(),
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
    /// `sotto-embedded-chain/1`); loading refuses any other format, unknown
    /// fields, malformed hex, and a chain whose adjudicator's code is not
    /// the built-in artifact's (rebuilt contract: start a new chain).
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
        u64::try_from(self.world.block.number).unwrap_or(u64::MAX)
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

    fn fund_evm(&mut self, who: EvmAddress, wei: U256) -> Result<(), EmbeddedError> {
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
        let mut block = self.world.block.clone();
        block.number = block.number.saturating_add(U256::from(1));
        let cfg = CfgEnv::new_with_spec(SpecId::OSAKA).with_chain_id(self.chain_id);
        let mut evm = Context::mainnet()
            .with_db(&mut self.world.db)
            .with_block(block.clone())
            .with_cfg(cfg)
            .build_mainnet();
        let ExecResultAndState { result, state } = evm
            .transact(tx)
            .map_err(|e| AnchorError::Backend(format!("the EVM refused the transaction: {e}")))?;
        if commit && result.is_success() {
            let adjudicator = self.adjudicator;
            let logs = result.logs();
            self.change(|world| {
                world.db.commit(state);
                world.block = block;
                for log in logs.iter().filter(|log| log.address == adjudicator) {
                    if let Some(channel) = log.data.topics().get(1) {
                        world
                            .logs
                            .entry(channel.0)
                            .or_default()
                            .push(log.data.clone());
                    }
                }
            })
            .map_err(|e| AnchorError::Backend(format!("not mined: {e}")))?;
        }
        Ok(result)
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
        u64::try_from(self.world.block.timestamp).unwrap_or(u64::MAX)
    }

    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        self.change(|world| {
            world.block.number = world.block.number.saturating_add(U256::from(1));
            world.block.timestamp = world.block.timestamp.saturating_add(U256::from(seconds));
        })
        .map_err(|e| AnchorError::Backend(format!("the clock did not move: {e}")))
    }
}

/// The chain's file: a canonical JSON snapshot of the world. Loading
/// re-encodes what it read and refuses the file unless the bytes are the
/// same (one chain, one file: no unsorted entries, no zero slots, no
/// upper-case hex, no other layout).
mod snapshot {
    use std::io::Write as _;

    use serde::{Deserialize, Serialize};

    use super::*;

    const FORMAT: &str = "sotto-embedded-chain/1";

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct File {
        format: String,
        chain_id: u64,
        adjudicator: String,
        block_number: u64,
        timestamp: u64,
        /// Sorted by address; accounts with nothing in them left out.
        accounts: Vec<Account>,
        /// Sorted by channel id.
        channels: Vec<Channel>,
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

    fn encode(world: &World, chain_id: u64, adjudicator: EvmAddress) -> Result<Vec<u8>, String> {
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
        let file = File {
            format: FORMAT.into(),
            chain_id,
            adjudicator: hex0x(adjudicator.as_slice()),
            block_number: u64::try_from(world.block.number).map_err(|e| e.to_string())?,
            timestamp: u64::try_from(world.block.timestamp).map_err(|e| e.to_string())?,
            accounts,
            channels,
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
        let text = encode(world, chain_id, adjudicator)
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

    /// The chain a snapshot holds (not yet tied to its file).
    pub(super) fn load(bytes: &[u8]) -> Result<EmbeddedChain, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!("format {:?}, not {FORMAT:?}", file.format));
        }
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
        let world = World {
            db,
            block: BlockEnv {
                number: U256::from(file.block_number),
                timestamp: U256::from(file.timestamp),
                gas_limit: 30_000_000,
                basefee: 0,
                ..BlockEnv::default()
            },
            logs,
        };
        let adjudicator = EvmAddress::from(unhex_array::<20>(&file.adjudicator)?);
        if encode(&world, file.chain_id, adjudicator)? != bytes {
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
