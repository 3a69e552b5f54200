//! `sotto bench chain`: what anchoring a channel costs on chain, in gas and
//! in wall time, with the Solidity adjudicator's committed bytecode.
//!
//! Every figure comes from a two-party channel of fixed keys (Alice
//! `[0x11; 32]`, Bob `[0x22; 32]`), each depositing 1,000,000 wei, with a
//! challenge period of 1000 s. Both participants' accounts hold ether
//! beforehand, as real participants' do, so that no payout pays for
//! creating an account (25,000 gas each). States differ only in version,
//! allocation and signatures: the commitment is the same fixed 32 bytes in
//! all of them.
//!
//! Rows, in order:
//! 1. `gas_FUNCTION`, on the embedded chain ([`EmbeddedChain`]: revm, Osaka
//!    rules), on fresh channels with states of version 1: `first_deposit`
//!    (a fresh storage word), `second_deposit`, `conclude` (cooperative,
//!    paying both), `register` (the challenge that opens a dispute),
//!    `refute` (version 2 inside the period), `finalize`, `withdraw` and
//!    `second_withdraw`. `gas` is the receipt's (refunds deducted),
//!    `size_bytes` the calldata's length. `first_deposit`, `conclude` and
//!    `register` name their Nitro row as `baseline` and are held against it.
//! 2. `nitro_first_deposit`, `nitro_conclude`, `nitro_challenge`: Nitro's
//!    published figures for an ETH channel, as the issue quotes them;
//!    `gas` only, quoted and not measured. The issue also cites Raiden but
//!    quotes no figure, so there is no Raiden row.
//! 3. `lifecycle_cooperative_V` (two deposits, conclude) and
//!    `lifecycle_disputed_V` (two deposits, register, finalize, two
//!    withdrawals), for V = 1 and V = 10000: a channel after one and after
//!    10,000 off-chain updates (the same allocations, states of version V),
//!    each on its own fresh embedded chain with the same nonces; `gas` and
//!    `size_bytes` are the calls' sums. The 10000 rows name the 1 rows as
//!    `baseline`. Checked, per lifecycle: the calldata has the same
//!    length, and each call's gas moves by the difference of its
//!    calldata's intrinsic gas (EIP-2028: 16 per nonzero byte, 4 per zero
//!    byte), or, for a call whose refund reaches EIP-3529's cap (gas =
//!    spent − ⌊spent / 5⌋), its spent gas does ([`calldata_only`]); the
//!    version's bytes and the signatures' zero bytes are all that differ,
//!    so execution gas and refunds must not move by a unit.
//! 4. `embedded_OP` and `anvil_OP`, OP one of `deposit`, `conclude`,
//!    `register`, `refute`, `finalize`, `withdraw`: the wall time of one
//!    [`Anchor::submit`] on the embedded chain in this process, and on an
//!    anvil node through [`RpcChain`] (estimate, nonce, fees, sign, send,
//!    receipt: five JSON-RPC round trips to 127.0.0.1, automine). Each
//!    timed call acts on a channel prepared for it beforehand, untimed
//!    (funded, registered, past its period, as the call needs), so every
//!    run times the same call on the same kind of channel. Each operation
//!    runs on a fresh chain (a fresh anvil) after the same number of setup
//!    transactions, [`SETUP_PER_CALL`] per timed call: anvil's time per
//!    transaction grows with the transactions it has mined, and this keeps
//!    the rows comparable. `anvil_OP` names `embedded_OP` as `baseline`.
//!    Checked: every timed call cost on anvil exactly the gas it cost on
//!    the embedded chain (the same bytecode, rules, addresses and
//!    calldata).
//!
//! Anvil is started as engine/tests/anchor_rpc.rs starts it: the binary
//! `npm ci --prefix tools/evm` installs, on 127.0.0.1, `--port 0`, its
//! address read from its "Listening on" line, killed by its PID when the
//! measurement ends, also on an error. A missing binary is an error that
//! says how to install it, before anything is measured.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use sotto_engine::anchor::{Anchor, AnchorCall, EmbeddedChain, RpcChain};
use sotto_engine::devnet::{self, Anvil};
use sotto_engine::state::{Address, ChannelParams, Signature, SigningKey, State, Window};

use super::measure::{Budget, Progress, alone};
use super::{Check, Report, Row};

/// Progress steps of this area: two gas profiles, then each timed row.
pub(crate) const ROWS: usize = 2 + 2 * Op::ALL.len();

/// Nitro's published gas for an ETH channel, as the issue quotes them:
/// the first deposit into a channel.
const NITRO_FIRST_DEPOSIT: u64 = 46_500;
/// Nitro: a cooperative conclude of a two-party channel.
const NITRO_CONCLUDE: u64 = 111_500;
/// Nitro: a challenge (our `register`).
const NITRO_CHALLENGE: u64 = 113_000;

/// The chain id of the gas profiles: anvil's default, so that they run on
/// the same chain as the timed rows.
const CHAIN_ID: u64 = 31_337;

/// The version of a channel's states after many off-chain updates.
const MANY_UPDATES: u64 = 10_000;

/// The challenge period of every channel, in seconds.
const PERIOD: u64 = 1000;
/// Each party's deposit, in wei.
const DEPOSIT: u64 = 1_000_000;
/// What a cooperative close pays.
const COOPERATIVE: [u64; 2] = [1_200_000, 800_000];
/// The end of the time-bounded state's window (far beyond any chain time
/// the benchmark reaches; non-zero, so the end is checked).
const TIMED_UNTIL: u64 = 4_000_000_000;

/// What a registered dispute pays.
const DISPUTED: [u64; 2] = [1_500_000, 500_000];
/// What the refuting state pays.
const REFUTING: [u64; 2] = [900_000, 1_100_000];
/// What each participant's account holds before the first call: 1 ether.
const START_BALANCE: u128 = 1_000_000_000_000_000_000;

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    // Fail on a missing anvil now, not after the embedded measurements.
    let anvil_bin = devnet::anvil_in(&PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if !anvil_bin.is_file() {
        bail!(
            "anvil is not installed at {}: run `npm ci --prefix tools/evm` \
             (sotto bench chain times the adjudicator on anvil too)",
            anvil_bin.display()
        );
    }
    let mut report = Report::default();
    gas(progress, &mut report)?;

    // Each operation is timed on a fresh chain, after as many setup
    // transactions as any other (`prepare`): anvil's time per transaction
    // grows with the transactions it has mined (from about 1 ms to 5 ms
    // over 2,000 of them: docs/benchmarks.md), so on one shared node the
    // later operations would pay for the earlier ones' channels.
    let open_embedded = || -> Result<((), EmbeddedChain)> {
        let mut chain = EmbeddedChain::new(CHAIN_ID).context("starting the embedded chain")?;
        for key in keys()? {
            chain.fund(key.address(), START_BALANCE)?;
        }
        Ok(((), chain))
    };
    // The same chain id and sender on both, hence the same adjudicator
    // address, calldata and gas.
    let expected = open_embedded()?.1.adjudicator();
    let open_anvil = || -> Result<(Anvil, RpcChain)> {
        let anvil = Anvil::start(&anvil_bin)?;
        // Anvil's first development account deploys the adjudicator and
        // sends every transaction, as the embedded chain's sender does.
        let sender = devnet::dev_key().ok_or_else(|| anyhow!("anvil's development key"))?;
        let chain = RpcChain::connect(&anvil.url, sender, 0, None)
            .with_context(|| format!("connecting to anvil at {}", anvil.url))?;
        if chain.chain_id() != CHAIN_ID || chain.adjudicator() != expected {
            bail!(
                "anvil's chain {} with the adjudicator at {} is not the embedded chain's \
                 ({CHAIN_ID}, {expected}): its gas would not compare",
                chain.chain_id(),
                chain.adjudicator()
            );
        }
        for key in keys()? {
            anvil.set_balance(key.address(), START_BALANCE)?;
        }
        Ok((anvil, chain))
    };
    let embedded_gas = time_every_op(budget, progress, "embedded", None, open_embedded)?;
    let anvil_gas = time_every_op(budget, progress, "anvil", Some("embedded"), open_anvil)?;

    for rows in [&embedded_gas, &anvil_gas] {
        report.rows.extend(rows.iter().map(|(row, _)| row.clone()));
    }
    let pairs: Vec<(u64, u64)> = embedded_gas
        .iter()
        .zip(&anvil_gas)
        .flat_map(|((_, e), (_, a))| e.iter().copied().zip(a.iter().copied()))
        .collect();
    let differ = pairs.iter().filter(|(e, a)| e != a).count();
    report.checks.push(Check {
        what: "anvil_*: gas of every timed call, on anvil and on the embedded chain".into(),
        value: format!("{} of {} equal", pairs.len() - differ, pairs.len()),
        target: "all equal".into(),
        missed_by: (differ > 0).then(|| format!("{differ} calls")),
    });
    report.notes.push(
        "nitro_*: Nitro's published figures for an ETH channel (statechannels \
         nitro-protocol), as the issue quotes them; not measured here"
            .into(),
    );
    report.notes.push(
        "Raiden: the issue cites Raiden's figures but quotes none, so there is no Raiden row \
         rather than an invented one"
            .into(),
    );
    report.notes.push(
        "gas_first_deposit sends the channel's parameters (the adjudicator checks the party \
         and the asset) and fills a fresh storage word: docs/architecture.md on why it stays \
         above Nitro's"
            .into(),
    );
    report.notes.push(format!(
        "anvil_*: one transaction through RpcChain (estimate, nonce, fees, send, receipt) \
         to anvil on 127.0.0.1 with automine, a fresh anvil per operation, timed after \
         {SETUP_PER_CALL} setup transactions per timed call; embedded_*: revm in this process"
    ));
    if budget.is_quick() {
        report
            .notes
            .push("--quick: a few runs per row; the times are indicative only".into());
    }
    Ok(report)
}

// ---------------------------------------------------------------------------
// The channel: keys, parameters, states and calls.

/// Alice's and Bob's fixed keys.
fn keys() -> Result<[SigningKey; 2]> {
    let key = |b: u8| {
        SigningKey::from_bytes(&[b; 32]).ok_or_else(|| anyhow!("[{b:#x}; 32] is not a key"))
    };
    Ok([key(0x11)?, key(0x22)?])
}

/// Alice and Bob's channels on one chain.
struct Channels {
    keys: [SigningKey; 2],
    adjudicator: Address,
    chain_id: u64,
}

impl Channels {
    fn on(chain: &impl Anchor) -> Result<Self> {
        Ok(Channels {
            keys: keys()?,
            adjudicator: chain.adjudicator(),
            chain_id: chain.chain_id(),
        })
    }

    /// The parameters of channel `nonce`.
    fn params(&self, nonce: u64) -> ChannelParams {
        ChannelParams {
            participants: self.keys.iter().map(SigningKey::address).collect(),
            nonce,
            challenge_period: PERIOD,
            contract_id: [0xc0; 32],
            asset: Address([0; 20]),
            adjudicator: self.adjudicator,
            chain_id: self.chain_id,
        }
    }

    /// `party`'s deposit.
    fn deposit(party: u32) -> AnchorCall {
        AnchorCall::Deposit {
            party,
            amount: DEPOSIT,
        }
    }

    /// The state of `p`'s channel at `version`.
    fn state(p: &ChannelParams, version: u64, allocation: [u64; 2], is_final: bool) -> State {
        State {
            channel_id: p.channel_id(),
            version,
            commitment: [0x5c; 32],
            allocation: allocation.to_vec(),
            is_final,
        }
    }

    /// Both parties' signatures of `state`, in party order.
    fn sign(&self, state: &State) -> Vec<Signature> {
        let digest = state.digest();
        self.keys.iter().map(|k| k.sign(&digest)).collect()
    }

    /// A cooperative close at `version`, paying [`COOPERATIVE`].
    fn conclude(&self, p: &ChannelParams, version: u64) -> AnchorCall {
        let state = Self::state(p, version, COOPERATIVE, true);
        AnchorCall::Conclude {
            signatures: self.sign(&state),
            state,
        }
    }

    /// A time-bounded registration of the state at `version` paying
    /// `allocation`, registrable until [`TIMED_UNTIL`].
    fn register_timed(&self, p: &ChannelParams, version: u64, allocation: [u64; 2]) -> AnchorCall {
        let state = Self::state(p, version, allocation, false);
        let window = Window {
            not_before: 0,
            not_after: TIMED_UNTIL,
        };
        let digest = state.timed_digest(&window);
        AnchorCall::RegisterTimed {
            signatures: self.keys.iter().map(|k| k.sign(&digest)).collect(),
            state,
            window,
        }
    }

    /// A registration of the state at `version` paying `allocation`.
    fn register(&self, p: &ChannelParams, version: u64, allocation: [u64; 2]) -> AnchorCall {
        let state = Self::state(p, version, allocation, false);
        AnchorCall::Register {
            signatures: self.sign(&state),
            state,
        }
    }
}

/// Submits `call`, which must be accepted: a refusal here is a bug in this
/// benchmark or in the adjudicator.
fn submit(chain: &mut impl Anchor, p: &ChannelParams, call: &AnchorCall) -> Result<Option<u64>> {
    let receipt = chain
        .submit(p, call)
        .with_context(|| format!("{} on channel {}", call.name(), p.nonce))?;
    Ok(receipt.gas)
}

// ---------------------------------------------------------------------------
// Gas.

/// One accepted call's gas and calldata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    /// The receipt's gas (refunds deducted).
    gas: u64,
    /// The calldata's intrinsic gas (EIP-2028).
    calldata_gas: u64,
    /// The calldata's length.
    calldata_bytes: u64,
}

impl Cost {
    /// The total of `costs`.
    fn sum(costs: &[Cost]) -> Cost {
        costs.iter().fold(
            Cost {
                gas: 0,
                calldata_gas: 0,
                calldata_bytes: 0,
            },
            |a, c| Cost {
                gas: a.gas + c.gas,
                calldata_gas: a.calldata_gas + c.calldata_gas,
                calldata_bytes: a.calldata_bytes + c.calldata_bytes,
            },
        )
    }

    /// A row of this cost.
    fn row(self, name: &str, baseline: Option<&str>) -> Row {
        Row {
            name: name.into(),
            gas: Some(self.gas),
            size_bytes: Some(self.calldata_bytes),
            baseline: baseline.map(Into::into),
            ..Row::default()
        }
    }
}

/// Submits `call` on the embedded chain and measures it.
fn measured(chain: &mut EmbeddedChain, p: &ChannelParams, call: &AnchorCall) -> Result<Cost> {
    let gas = submit(chain, p, call)?
        .ok_or_else(|| anyhow!("the embedded chain's receipt has no gas (a bug)"))?;
    let calldata = EmbeddedChain::calldata(p, call);
    Ok(Cost {
        gas,
        calldata_gas: calldata.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum(),
        calldata_bytes: u64::try_from(calldata.len())?,
    })
}

/// Every call of both lifecycles, and a refutation, on one fresh chain
/// whose states have `version`.
struct Profile {
    /// Deposit, deposit, conclude.
    cooperative: [Cost; 3],
    /// Deposit, deposit, register, finalize, withdraw, withdraw.
    disputed: [Cost; 6],
    /// A registration of `version + 1` over one of `version`.
    refute: Cost,
    /// A first registration of a time-bounded state (`registerTimed`).
    register_timed: Cost,
}

impl Profile {
    fn measure(version: u64) -> Result<Profile> {
        let mut chain = EmbeddedChain::new(CHAIN_ID).context("starting the embedded chain")?;
        let channels = Channels::on(&chain)?;
        for key in &channels.keys {
            chain.fund(key.address(), START_BALANCE)?;
        }
        let chain = &mut chain;

        let p = channels.params(1);
        let cooperative = [
            measured(chain, &p, &Channels::deposit(0))?,
            measured(chain, &p, &Channels::deposit(1))?,
            measured(chain, &p, &channels.conclude(&p, version))?,
        ];

        let p = channels.params(2);
        let first = measured(chain, &p, &Channels::deposit(0))?;
        let second = measured(chain, &p, &Channels::deposit(1))?;
        let register = measured(chain, &p, &channels.register(&p, version, DISPUTED))?;
        chain.advance(PERIOD)?;
        let registered = Channels::state(&p, version, DISPUTED, false);
        let finalize = measured(chain, &p, &AnchorCall::Finalize { state: registered })?;
        let withdraw = measured(chain, &p, &AnchorCall::Withdraw { party: 0 })?;
        let second_withdraw = measured(chain, &p, &AnchorCall::Withdraw { party: 1 })?;

        let p = channels.params(3);
        measured(chain, &p, &Channels::deposit(0))?;
        measured(chain, &p, &Channels::deposit(1))?;
        measured(chain, &p, &channels.register(&p, version, DISPUTED))?;
        let refute = measured(chain, &p, &channels.register(&p, version + 1, REFUTING))?;

        let p = channels.params(4);
        measured(chain, &p, &Channels::deposit(0))?;
        measured(chain, &p, &Channels::deposit(1))?;
        let register_timed = measured(chain, &p, &channels.register_timed(&p, version, DISPUTED))?;
        Ok(Profile {
            cooperative,
            disputed: [first, second, register, finalize, withdraw, second_withdraw],
            refute,
            register_timed,
        })
    }
}

/// Rows 1 to 3 and their checks.
fn gas(progress: &Progress, report: &mut Report) -> Result<()> {
    progress.start("gas after 1 update");
    let one = Profile::measure(1)?;
    progress.done(1);
    progress.start("gas after 10,000 updates");
    let many = Profile::measure(MANY_UPDATES)?;
    progress.done(1);

    let [first_deposit, second_deposit, conclude] = one.cooperative;
    let [_, _, register, finalize, withdraw, second_withdraw] = one.disputed;
    let functions = [
        (
            "gas_first_deposit",
            first_deposit,
            Some("nitro_first_deposit"),
        ),
        ("gas_second_deposit", second_deposit, None),
        ("gas_conclude", conclude, Some("nitro_conclude")),
        ("gas_register", register, Some("nitro_challenge")),
        (
            "gas_register_timed",
            one.register_timed,
            Some("gas_register"),
        ),
        ("gas_refute", one.refute, None),
        ("gas_finalize", finalize, None),
        ("gas_withdraw", withdraw, None),
        ("gas_second_withdraw", second_withdraw, None),
    ];
    let nitro = [
        ("nitro_first_deposit", NITRO_FIRST_DEPOSIT),
        ("nitro_conclude", NITRO_CONCLUDE),
        ("nitro_challenge", NITRO_CHALLENGE),
    ];
    for (name, cost, baseline) in functions {
        report.rows.push(cost.row(name, baseline));
        let Some((base, target)) = baseline.and_then(|b| nitro.iter().find(|(n, _)| *n == b))
        else {
            continue;
        };
        report.checks.push(Check {
            what: format!("{name} / {base}"),
            value: format!("{} gas", thousands(cost.gas)),
            target: format!("≤ {} (Nitro)", thousands(*target)),
            missed_by: (cost.gas > *target)
                .then(|| format!("{} gas", thousands(cost.gas - target))),
        });
    }
    for (name, gas) in nitro {
        report.rows.push(Row {
            name: name.into(),
            gas: Some(gas),
            ..Row::default()
        });
    }

    for (kind, names, one, many) in [
        (
            "cooperative",
            &COOPERATIVE_CALLS[..],
            &one.cooperative[..],
            &many.cooperative[..],
        ),
        (
            "disputed",
            &DISPUTED_CALLS[..],
            &one.disputed[..],
            &many.disputed[..],
        ),
    ] {
        report
            .checks
            .push(independent_of_updates(kind, names, one, many));
        let (one, many) = (Cost::sum(one), Cost::sum(many));
        let base = format!("lifecycle_{kind}_1");
        report.rows.push(one.row(&base, None));
        report
            .rows
            .push(many.row(&format!("lifecycle_{kind}_{MANY_UPDATES}"), Some(&base)));
    }
    Ok(())
}

/// The calls of a cooperative lifecycle, as [`Profile::cooperative`] holds them.
const COOPERATIVE_CALLS: [&str; 3] = ["first deposit", "second deposit", "conclude"];
/// The calls of a disputed lifecycle, as [`Profile::disputed`] holds them.
const DISPUTED_CALLS: [&str; 6] = [
    "first deposit",
    "second deposit",
    "register",
    "finalize",
    "withdraw",
    "second withdraw",
];

/// The gas `many` costs if it differs from `one` only in its calldata (the
/// same execution, the same refund), and whether that call's refund is
/// capped.
///
/// Uncapped, gas = spent − refund, and spent moves by the calldata's
/// intrinsic gas difference, so gas does too. A call whose refund reaches
/// EIP-3529's cap (a fifth of the gas spent) costs spent − ⌊spent / 5⌋
/// instead; spent still moves by the calldata's difference. Returns the
/// uncapped figure when neither explains `many`'s gas.
fn calldata_only(one: Cost, many: Cost) -> (u64, bool) {
    let delta = i128::from(many.calldata_gas) - i128::from(one.calldata_gas);
    let shift = |gas: u64| u64::try_from(i128::from(gas) + delta).unwrap_or(0);
    let uncapped = shift(one.gas);
    if uncapped == many.gas {
        return (uncapped, false);
    }
    let capped = |spent: u64| spent - spent / 5;
    // The spent gas whose capped refund leaves `one`'s gas (gas ≈ 4/5 spent).
    let around = one.gas + one.gas / 4;
    let explained = (around.saturating_sub(2)..=around + 2)
        .any(|spent| capped(spent) == one.gas && capped(shift(spent)) == many.gas);
    if explained {
        (many.gas, true)
    } else {
        (uncapped, false)
    }
}

/// The check that a lifecycle's gas after [`MANY_UPDATES`] updates is its
/// gas after 1 moved only by what the calldata costs: `names` the calls,
/// `one` and `many` their costs after 1 and after [`MANY_UPDATES`]
/// updates. The calldata must be of equal length, and every call's gas
/// must be what [`calldata_only`] says.
fn independent_of_updates(kind: &str, names: &[&str], one: &[Cost], many: &[Cost]) -> Check {
    let (total_one, total_many) = (Cost::sum(one), Cost::sum(many));
    let moved = i128::from(total_many.gas) - i128::from(total_one.gas);
    let calldata = i128::from(total_many.calldata_gas) - i128::from(total_one.calldata_gas);
    let mut expected = 0i128;
    let mut capped = Vec::new();
    let mut unexplained = Vec::new();
    for ((name, a), b) in names.iter().zip(one).zip(many) {
        let (gas, cap) = calldata_only(*a, *b);
        expected += i128::from(gas) - i128::from(a.gas);
        if cap {
            capped.push(*name);
        }
        if gas != b.gas || a.calldata_bytes != b.calldata_bytes {
            unexplained.push(format!("{name} {:+}", i128::from(b.gas) - i128::from(gas)));
        }
    }
    let through_cap = if capped.is_empty() {
        String::new()
    } else {
        format!(
            ", {expected:+} with the refund of {} capped at a fifth of the gas spent (EIP-3529)",
            capped.join(" and ")
        )
    };
    Check {
        what: format!(
            "lifecycle_{kind}: gas after {} updates − after 1",
            thousands(MANY_UPDATES)
        ),
        value: format!("{moved:+} gas"),
        target: format!(
            "= what the calldata adds: {calldata:+} at 16 per nonzero and 4 per zero byte \
             (EIP-2028){through_cap}; {} bytes of calldata both",
            total_one.calldata_bytes
        ),
        missed_by: (!unexplained.is_empty())
            .then(|| format!("execution or length moved: {}", unexplained.join(", "))),
    }
}

/// `n` with thousands separators: 46500 → "46,500".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Wall time.

/// The operations timed on each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The first deposit into a fresh channel.
    Deposit,
    /// A cooperative close of a funded channel.
    Conclude,
    /// A registration on a funded channel.
    Register,
    /// A registration of version 2 over version 1, inside the period.
    Refute,
    /// Settling a registered dispute after its period.
    Finalize,
    /// The first withdrawal from a finalized channel.
    Withdraw,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::Deposit,
        Op::Conclude,
        Op::Register,
        Op::Refute,
        Op::Finalize,
        Op::Withdraw,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Deposit => "deposit",
            Op::Conclude => "conclude",
            Op::Register => "register",
            Op::Refute => "refute",
            Op::Finalize => "finalize",
            Op::Withdraw => "withdraw",
        }
    }
}

/// The calls [`alone`] makes of one operation within `budget`: one untimed,
/// then at most `Budget::quick`'s 5 or `Budget::full`'s 201 timed ones (a
/// unit test holds this to [`alone`]). Each needs a channel of its own.
fn calls_per_op(budget: Budget) -> usize {
    if budget.is_quick() { 1 + 5 } else { 1 + 201 }
}

/// Setup transactions per timed call, whatever the operation: the most
/// any needs (withdraw: two deposits, a registration, a finalization).
/// Operations that need fewer make up the difference with deposits into
/// a channel of their own ([`PADDING_NONCE`]), so that every operation is
/// timed on a chain of the same age: anvil's time per transaction grows
/// with the transactions it has mined.
const SETUP_PER_CALL: usize = 4;
/// The channel that takes the padding deposits; timed channels have
/// nonces above 1000.
const PADDING_NONCE: u64 = 1;

/// Prepares `n` channels for `op`, with nonces after `*nonce`, each up to
/// the call `op` times, and returns those calls, after exactly
/// [`SETUP_PER_CALL`] × `n` setup transactions (and, for `finalize` and
/// `withdraw`, one block that moves the clock). Every call made here is
/// untimed.
fn prepare<C: Anchor>(
    chain: &mut C,
    channels: &Channels,
    op: Op,
    n: usize,
    nonce: &mut u64,
) -> Result<Vec<(ChannelParams, AnchorCall)>> {
    let made = std::cell::Cell::new(0);
    let setup = |chain: &mut C, p: &ChannelParams, call: &AnchorCall| {
        made.set(made.get() + 1);
        submit(chain, p, call).map(drop)
    };
    let mut calls = Vec::with_capacity(n);
    for _ in 0..n {
        *nonce += 1;
        let p = channels.params(*nonce);
        if op != Op::Deposit {
            for party in 0..2 {
                setup(chain, &p, &Channels::deposit(party))?;
            }
        }
        if matches!(op, Op::Refute | Op::Finalize | Op::Withdraw) {
            setup(chain, &p, &channels.register(&p, 1, DISPUTED))?;
        }
        let call = match op {
            Op::Deposit => Channels::deposit(0),
            Op::Conclude => channels.conclude(&p, 1),
            Op::Register => channels.register(&p, 1, DISPUTED),
            Op::Refute => channels.register(&p, 2, REFUTING),
            Op::Finalize | Op::Withdraw => AnchorCall::Finalize {
                state: Channels::state(&p, 1, DISPUTED, false),
            },
        };
        calls.push((p, call));
    }
    // One wait for every channel's period.
    if matches!(op, Op::Finalize | Op::Withdraw) {
        chain.advance(PERIOD)?;
    }
    if op == Op::Withdraw {
        for (p, call) in &mut calls {
            setup(chain, p, call)?;
            *call = AnchorCall::Withdraw { party: 0 };
        }
    }
    let padding = channels.params(PADDING_NONCE);
    while made.get() < SETUP_PER_CALL * n {
        setup(chain, &padding, &Channels::deposit(0))?;
    }
    debug_assert_eq!(made.get(), SETUP_PER_CALL * n, "{op:?} needs more setup");
    Ok(calls)
}

/// Times every [`Op`], each on a chain of its own from `open` (with
/// whatever must live as long as it: the anvil process): one row
/// `BACKEND_OP` each, with the gas of each call made (in order: the
/// untimed one first).
fn time_every_op<G, C: Anchor>(
    budget: Budget,
    progress: &Progress,
    backend: &str,
    baseline: Option<&str>,
    mut open: impl FnMut() -> Result<(G, C)>,
) -> Result<Vec<(Row, Vec<u64>)>> {
    let mut out = Vec::new();
    for op in Op::ALL {
        let name = format!("{backend}_{}", op.name());
        progress.start(&name);
        let (_guard, mut chain) = open()?;
        let chain = &mut chain;
        let channels = Channels::on(chain)?;
        let mut nonce = 1_000;
        let mut calls =
            prepare(chain, &channels, op, calls_per_op(budget), &mut nonce)?.into_iter();
        let mut gas = Vec::new();
        let samples = alone(budget, || {
            let (p, call) = calls.next().ok_or_else(|| {
                anyhow!("{name}: more runs than channels prepared (a bug in calls_per_op)")
            })?;
            gas.extend(submit(chain, &p, &call)?);
            Ok(())
        })
        .with_context(|| format!("timing {name}"))?;
        let median = samples.median();
        out.push((
            Row {
                name,
                median_ns: Some(median),
                p99_ns: Some(samples.p99()),
                per_s: (median > 0).then(|| 1e9 / median as f64),
                baseline: baseline.map(|b| format!("{b}_{}", op.name())),
                ..Row::default()
            },
            gas,
        ));
        progress.done(1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_alone_makes_has_a_channel() {
        for budget in [Budget::quick(), Budget::full()] {
            let mut calls = 0;
            alone(budget, || {
                calls += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(calls, calls_per_op(budget), "{budget:?}");
        }
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(46_500), "46,500");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
