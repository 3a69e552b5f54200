//! The adjudicator's ABI as both EVM backends speak it: the `sol!`
//! bindings of its external interface, the committed artifact, the
//! calldata of each [`AnchorCall`], and the decoding of its reverts and
//! logs into the protocol's [`AnchorError`]s and [`ChainEvent`]s. One copy,
//! so the embedded chain and the JSON-RPC backend cannot drift apart; a test
//! checks every selector against the artifact's ABI.

use alloy_primitives::{Address as EvmAddress, B256, Bytes, LogData, U256, hex};
use alloy_sol_types::{SolCall as _, SolEventInterface as _, SolInterface as _, sol};

use super::{AnchorCall, AnchorError, ChainEvent};
use crate::state::{ChannelParams, Signature, State};

sol! {
    /// The adjudicator's external interface (`solidity/Adjudicator.sol`).
    /// A test checks every selector here against the artifact's ABI.
    interface IAdjudicator {
        struct Params {
            address[] participants;
            uint256 nonce;
            uint64 challengePeriod;
            bytes32 contractId;
            address asset;
            address adjudicator;
            uint256 chainId;
        }

        struct State {
            bytes32 channelId;
            uint64 version;
            bytes32 commitment;
            uint256[] allocation;
            bool isFinal;
        }

        event Deposited(bytes32 indexed channelId, uint256 party, uint256 total);
        event Registered(bytes32 indexed channelId, State state, uint64 until);
        event Concluded(bytes32 indexed channelId, uint256[] allocation, bool cooperative);
        event Withdrawn(bytes32 indexed channelId, uint256 party, uint256 amount);

        error WrongAdjudicator(address adjudicator);
        error NonCanonical();
        error WrongChain(uint256 chainId);
        error AssetNotSupported(address asset);
        error UnknownParty(uint256 party);
        error DepositOverflow(uint256 party);
        error ChannelConcluded();
        error WrongChannel();
        error SignatureCount(uint256 length);
        error BadSignature(uint256 party);
        error BadAllocation();
        error NotFinal();
        error Stale(uint64 registered);
        error PeriodOver(uint64 until);
        error PeriodNotOver(uint64 until);
        error NoDispute();
        error NotRegistered();
        error NothingToWithdraw(uint256 party);
        error PayoutFailed(uint256 party);
        error OutsideWindow(uint64 notBefore, uint64 notAfter);

        function channelId(Params calldata p) external pure returns (bytes32);
        function stateDigest(State calldata s) external pure returns (bytes32);
        function deposit(Params calldata p, uint256 party) external payable;
        function conclude(Params calldata p, State calldata s, bytes calldata sigs) external;
        function register(Params calldata p, State calldata s, bytes calldata sigs) external;
        function registerTimed(Params calldata p, State calldata s, uint64 notBefore, uint64 notAfter, bytes calldata sigs) external;
        function timedDigest(bytes32 digest, uint64 notBefore, uint64 notAfter) external pure returns (bytes32);
        function finalize(Params calldata p, State calldata s) external;
        function withdraw(Params calldata p, uint256 party) external;
    }
}

/// The committed artifact: ABI, creation and deployed bytecode.
pub(super) const ARTIFACT: &str = include_str!("solidity/Adjudicator.json");

/// The committed artifact's two bytecodes.
#[derive(Debug, Clone)]
pub(super) struct Artifact {
    /// The creation (deployment) bytecode.
    pub(super) creation: Bytes,
    /// The runtime bytecode a deployed adjudicator holds.
    pub(super) deployed: Bytes,
}

impl Artifact {
    /// Parses [`ARTIFACT`]. An error here is a broken build: the artifact
    /// is committed, rebuilt by CI and tested.
    pub(super) fn parse() -> Result<Self, String> {
        let json: serde_json::Value = serde_json::from_str(ARTIFACT).map_err(|e| e.to_string())?;
        let code = |key: &str| -> Result<Bytes, String> {
            let text = json
                .get(key)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("no string `{key}`"))?;
            let bytes = hex::decode(text).map_err(|e| format!("`{key}` is not hex: {e}"))?;
            if bytes.is_empty() {
                return Err(format!("`{key}` is empty"));
            }
            Ok(Bytes::from(bytes))
        };
        Ok(Artifact {
            creation: code("bytecode")?,
            deployed: code("deployedBytecode")?,
        })
    }
}

/// The adjudicator's calldata for `call` on the channel of `params`, and
/// the value (wei) the transaction carries: a deposit's amount, else 0.
pub(super) fn encode_call(params: &ChannelParams, call: &AnchorCall) -> (Vec<u8>, U256) {
    let p = sol_params(params);
    match call {
        AnchorCall::Deposit { party, amount } => (
            IAdjudicator::depositCall {
                p,
                party: U256::from(*party),
            }
            .abi_encode(),
            U256::from(*amount),
        ),
        AnchorCall::Conclude { state, signatures } => (
            IAdjudicator::concludeCall {
                p,
                s: sol_state(state),
                sigs: concat(signatures),
            }
            .abi_encode(),
            U256::ZERO,
        ),
        AnchorCall::Register { state, signatures } => (
            IAdjudicator::registerCall {
                p,
                s: sol_state(state),
                sigs: concat(signatures),
            }
            .abi_encode(),
            U256::ZERO,
        ),
        AnchorCall::RegisterTimed {
            state,
            window,
            signatures,
        } => (
            IAdjudicator::registerTimedCall {
                p,
                s: sol_state(state),
                notBefore: window.not_before,
                notAfter: window.not_after,
                sigs: concat(signatures),
            }
            .abi_encode(),
            U256::ZERO,
        ),
        AnchorCall::Finalize { state } => (
            IAdjudicator::finalizeCall {
                p,
                s: sol_state(state),
            }
            .abi_encode(),
            U256::ZERO,
        ),
        AnchorCall::Withdraw { party } => (
            IAdjudicator::withdrawCall {
                p,
                party: U256::from(*party),
            }
            .abi_encode(),
            U256::ZERO,
        ),
    }
}

/// The adjudicator function a calldata selector names (`deposit`,
/// `conclude`, `register`, `finalize`, `withdraw`, or the views
/// `channelId` and `stateDigest`), for reports of what a chain mined.
pub(super) fn function_name(selector: [u8; 4]) -> Option<&'static str> {
    use IAdjudicator::*;
    Some(match selector {
        s if s == depositCall::SELECTOR => "deposit",
        s if s == concludeCall::SELECTOR => "conclude",
        s if s == registerCall::SELECTOR || s == registerTimedCall::SELECTOR => "register",
        s if s == timedDigestCall::SELECTOR => "timedDigest",
        s if s == finalizeCall::SELECTOR => "finalize",
        s if s == withdrawCall::SELECTOR => "withdraw",
        s if s == channelIdCall::SELECTOR => "channelId",
        s if s == stateDigestCall::SELECTOR => "stateDigest",
        _ => return None,
    })
}

/// The [`AnchorError`] a revert's data names: the adjudicator's custom
/// errors map one to one onto the protocol's reasons; the bindings'
/// (wrong adjudicator, chain or asset), an overflowing deposit and a
/// failed payout are [`AnchorError::Backend`]s, as is anything else
/// (an unknown selector is given in hex).
pub(super) fn decode_revert(data: &[u8]) -> AnchorError {
    use IAdjudicator::IAdjudicatorErrors as E;
    let party = |p: U256| u32::try_from(p).unwrap_or(u32::MAX);
    let Ok(error) = E::abi_decode(data) else {
        return AnchorError::Backend(match data.get(..4) {
            Some(selector) => format!(
                "the adjudicator reverted with unknown error 0x{}",
                hex::encode(selector)
            ),
            None => format!("the adjudicator reverted (data 0x{})", hex::encode(data)),
        });
    };
    match error {
        E::WrongAdjudicator(e) => AnchorError::Backend(format!(
            "the channel names adjudicator {}, not this one",
            e.adjudicator
        )),
        E::WrongChain(e) => AnchorError::Backend(format!(
            "the channel names chain {}, not this one",
            e.chainId
        )),
        E::NonCanonical(_) => AnchorError::Backend(
            "the calldata is not the canonical ABI encoding of the parameters or state".into(),
        ),
        E::AssetNotSupported(e) => {
            AnchorError::Backend(format!("the adjudicator does not hold asset {}", e.asset))
        }
        E::UnknownParty(e) => AnchorError::UnknownParty(party(e.party)),
        E::DepositOverflow(_) => AnchorError::Backend("deposit overflows".into()),
        E::ChannelConcluded(_) => AnchorError::Concluded,
        E::WrongChannel(_) => AnchorError::WrongChannel,
        E::SignatureCount(_) | E::BadSignature(_) => AnchorError::BadSignature,
        E::BadAllocation(_) => AnchorError::BadAllocation,
        E::NotFinal(_) => AnchorError::NotFinal,
        E::Stale(e) => AnchorError::Stale {
            registered: e.registered,
        },
        E::PeriodOver(_) => AnchorError::Period("is over"),
        E::PeriodNotOver(_) => AnchorError::Period("is not over"),
        E::NoDispute(_) => AnchorError::NoDispute,
        E::NotRegistered(_) => AnchorError::NotRegistered,
        E::OutsideWindow(e) => AnchorError::OutsideWindow {
            not_before: e.notBefore,
            not_after: e.notAfter,
        },
        E::NothingToWithdraw(e) => AnchorError::NothingToWithdraw(party(e.party)),
        E::PayoutFailed(e) => AnchorError::Backend(format!(
            "paying party #{} failed; it is still owed",
            party(e.party)
        )),
    }
}

/// The [`ChainEvent`] of one of the adjudicator's logs.
pub(super) fn decode_log(log: &LogData) -> Result<ChainEvent, AnchorError> {
    use IAdjudicator::IAdjudicatorEvents as E;
    let bad = |what: String| AnchorError::Backend(format!("an adjudicator log {what}"));
    let event = E::decode_raw_log(log.topics(), &log.data).map_err(|e| bad(e.to_string()))?;
    // Anyone may deposit for a party, so a total can exceed what the
    // protocol counts in (u64): it saturates rather than make every later
    // read of the channel fail.
    let amount = |x: U256| -> Result<u64, AnchorError> { Ok(u64::try_from(x).unwrap_or(u64::MAX)) };
    let party = |x: U256| u32::try_from(x).map_err(|_| bad(format!("names party {x}")));
    Ok(match event {
        E::Deposited(e) => ChainEvent::Deposited {
            party: party(e.party)?,
            total: amount(e.total)?,
        },
        E::Registered(e) => ChainEvent::Registered {
            state: State {
                channel_id: e.state.channelId.0,
                version: e.state.version,
                commitment: e.state.commitment.0,
                allocation: e
                    .state
                    .allocation
                    .into_iter()
                    .map(amount)
                    .collect::<Result<_, _>>()?,
                is_final: e.state.isFinal,
            },
            until: e.until,
        },
        E::Concluded(e) => ChainEvent::Concluded {
            allocation: e
                .allocation
                .into_iter()
                .map(amount)
                .collect::<Result<_, _>>()?,
            cooperative: e.cooperative,
        },
        E::Withdrawn(e) => ChainEvent::Withdrawn {
            party: party(e.party)?,
            amount: amount(e.amount)?,
        },
    })
}

pub(super) fn sol_params(params: &ChannelParams) -> IAdjudicator::Params {
    IAdjudicator::Params {
        participants: params
            .participants
            .iter()
            .map(|a| EvmAddress::from(a.0))
            .collect(),
        nonce: U256::from(params.nonce),
        challengePeriod: params.challenge_period,
        contractId: B256::from(params.contract_id),
        asset: EvmAddress::from(params.asset.0),
        adjudicator: EvmAddress::from(params.adjudicator.0),
        chainId: U256::from(params.chain_id),
    }
}

pub(super) fn sol_state(state: &State) -> IAdjudicator::State {
    IAdjudicator::State {
        channelId: B256::from(state.channel_id),
        version: state.version,
        commitment: B256::from(state.commitment),
        allocation: state.allocation.iter().map(|a| U256::from(*a)).collect(),
        isFinal: state.is_final,
    }
}

/// The state and signatures a `register`, `registerTimed` or `conclude`
/// calldata carries,
/// as a watcher of the chain reads them back (`None` for any other call or
/// for bytes that do not decode).
pub(super) fn decode_signed(calldata: &[u8]) -> Option<(State, Vec<Signature>)> {
    let (s, sigs) = match calldata.get(..4)?.try_into().ok()? {
        IAdjudicator::registerCall::SELECTOR => {
            let call = IAdjudicator::registerCall::abi_decode(calldata).ok()?;
            (call.s, call.sigs)
        }
        IAdjudicator::concludeCall::SELECTOR => {
            let call = IAdjudicator::concludeCall::abi_decode(calldata).ok()?;
            (call.s, call.sigs)
        }
        IAdjudicator::registerTimedCall::SELECTOR => {
            let call = IAdjudicator::registerTimedCall::abi_decode(calldata).ok()?;
            (call.s, call.sigs)
        }
        _ => return None,
    };
    if sigs.len() % 65 != 0 {
        return None;
    }
    let state = State {
        channel_id: s.channelId.0,
        version: s.version,
        commitment: s.commitment.0,
        allocation: s
            .allocation
            .iter()
            .map(|a| u64::try_from(*a).ok())
            .collect::<Option<Vec<_>>>()?,
        is_final: s.isFinal,
    };
    let signatures = sigs
        .chunks_exact(65)
        .map(|c| <[u8; 65]>::try_from(c).ok().map(Signature))
        .collect::<Option<Vec<_>>>()?;
    Some((state, signatures))
}

pub(super) fn concat(signatures: &[Signature]) -> Bytes {
    signatures
        .iter()
        .flat_map(|s| s.0)
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Solidity type as it appears in a signature: tuples expanded.
    fn abi_type(input: &serde_json::Value) -> String {
        let ty = input["type"].as_str().unwrap_or_default();
        match ty.strip_prefix("tuple") {
            Some(suffix) => {
                let parts: Vec<String> = input["components"]
                    .as_array()
                    .map(|c| c.iter().map(abi_type).collect())
                    .unwrap_or_default();
                format!("({}){suffix}", parts.join(","))
            }
            None => ty.to_string(),
        }
    }

    /// The artifact's ABI as sorted hashes of `kind` entries' signatures.
    fn artifact_hashes(kind: &str) -> Vec<B256> {
        let json: serde_json::Value =
            serde_json::from_str(super::super::abi::ARTIFACT).unwrap_or_default();
        let mut out: Vec<B256> = json["abi"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"] == kind)
            .map(|e| {
                let inputs: Vec<String> = e["inputs"]
                    .as_array()
                    .map(|i| i.iter().map(abi_type).collect())
                    .unwrap_or_default();
                let name = e["name"].as_str().unwrap_or_default();
                alloy_primitives::keccak256(format!("{name}({})", inputs.join(",")))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_bindings_are_the_artifacts_abi() {
        use IAdjudicator::{IAdjudicatorCalls, IAdjudicatorErrors, IAdjudicatorEvents};
        let four = |kind| -> Vec<[u8; 4]> {
            artifact_hashes(kind)
                .iter()
                .map(|h| [h[0], h[1], h[2], h[3]])
                .collect()
        };
        let sorted = |mut v: Vec<[u8; 4]>| {
            v.sort();
            v
        };
        assert_eq!(
            four("function"),
            sorted(IAdjudicatorCalls::SELECTORS.to_vec())
        );
        assert_eq!(
            four("error"),
            sorted(IAdjudicatorErrors::SELECTORS.to_vec())
        );
        let mut events: Vec<B256> = IAdjudicatorEvents::SELECTORS
            .iter()
            .map(|s| B256::from(*s))
            .collect();
        events.sort();
        assert_eq!(artifact_hashes("event"), events);
        assert!(Artifact::parse().is_ok());
    }

    #[test]
    fn reverts_map_to_the_protocols_errors() {
        use alloy_sol_types::SolError as _;
        let cases: Vec<(Vec<u8>, AnchorError)> = vec![
            (
                IAdjudicator::UnknownParty {
                    party: U256::from(3),
                }
                .abi_encode(),
                AnchorError::UnknownParty(3),
            ),
            (
                IAdjudicator::ChannelConcluded {}.abi_encode(),
                AnchorError::Concluded,
            ),
            (
                IAdjudicator::WrongChannel {}.abi_encode(),
                AnchorError::WrongChannel,
            ),
            (
                IAdjudicator::SignatureCount {
                    length: U256::from(64),
                }
                .abi_encode(),
                AnchorError::BadSignature,
            ),
            (
                IAdjudicator::BadSignature {
                    party: U256::from(1),
                }
                .abi_encode(),
                AnchorError::BadSignature,
            ),
            (
                IAdjudicator::BadAllocation {}.abi_encode(),
                AnchorError::BadAllocation,
            ),
            (
                IAdjudicator::NotFinal {}.abi_encode(),
                AnchorError::NotFinal,
            ),
            (
                IAdjudicator::Stale { registered: 9 }.abi_encode(),
                AnchorError::Stale { registered: 9 },
            ),
            (
                IAdjudicator::PeriodOver { until: 5 }.abi_encode(),
                AnchorError::Period("is over"),
            ),
            (
                IAdjudicator::PeriodNotOver { until: 5 }.abi_encode(),
                AnchorError::Period("is not over"),
            ),
            (
                IAdjudicator::NoDispute {}.abi_encode(),
                AnchorError::NoDispute,
            ),
            (
                IAdjudicator::NotRegistered {}.abi_encode(),
                AnchorError::NotRegistered,
            ),
            (
                IAdjudicator::NothingToWithdraw {
                    party: U256::from(1),
                }
                .abi_encode(),
                AnchorError::NothingToWithdraw(1),
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(decode_revert(&data), expected);
        }
        assert_eq!(
            decode_revert(&[0xde, 0xad, 0xbe, 0xef, 0]),
            AnchorError::Backend("the adjudicator reverted with unknown error 0xdeadbeef".into())
        );
        // A known selector with truncated arguments is no panic either.
        let truncated = IAdjudicator::Stale { registered: 9 }.abi_encode();
        assert!(matches!(
            decode_revert(&truncated[..10]),
            AnchorError::Backend(_)
        ));
        assert!(matches!(decode_revert(&[]), AnchorError::Backend(_)));
    }
}
