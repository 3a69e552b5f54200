//! `sotto bench oracle`: what an oracle bet costs to set up and to settle,
//! as the number of outcomes grows.
//!
//! Every row is a two-party bet (Alice and Bob, fixed keys, 1,000,000 wei
//! each) on a channel's state, with one oracle of fixed key. Rows, in
//! order:
//! 1. `setup_enum_N` for N = 2, 16, 128, 1024 outcomes (each outcome pays
//!    a different split): `median_ns` the whole set-up as both parties do
//!    it ([`Bet::new`] from the announcement, each party's
//!    [`Bet::sign`], each party's [`Bet::verify`] of the other's, and the
//!    wire round trip of both signature sets); `prove_ns` one party's
//!    signing, `verify_ns` one party's verification, `size_bytes` what one
//!    party sends ([`BetSignatures::to_bytes`]).
//! 2. `setup_numeric_2^B` for B = 10, 14, 17, 20: a numeric event of B
//!    binary digits, a linear payout curve from 0 to the whole collateral
//!    over the domain, payouts rounded to multiples of 1% of the
//!    collateral: the same fields, with one adaptor signature per digit
//!    prefix ([`numeric`]). Checked: `setup_numeric_2^20` sets up in at
//!    most 1 s, and each numeric row states how many signatures the digit
//!    decomposition needs against one per value.
//! 3. `attest_numeric_2^20` (the oracle signs 20 digits),
//!    `verify_attestation_2^20` (a party checks them), and
//!    `settle_numeric_2^20` (check the attestation, decrypt the
//!    counterparty's adaptor signature, sign: a fully signed state).
//!
//! Signing and verifying run on every core ([`Bet::sign`] splits the
//! entries across threads): the figures are this machine's, with its core
//! count in the notes.

use anyhow::{Context as _, Result, anyhow};
use sotto_engine::oracle::numeric;
use sotto_engine::oracle::{
    Announcement, Bet, BetSignatures, BetTerms, OracleKey, Outcome, Outcomes, Payouts,
};
use sotto_engine::state::{Address, ChannelParams, SigningKey, State};

use super::measure::{Budget, Progress, alone};
use super::output::time;
use super::{Check, Report, Row};

/// Enumerated outcome counts measured.
const ENUMERATED: [usize; 4] = [2, 16, 128, 1024];
/// Numeric domains measured, in binary digits.
const NUMERIC: [u8; 4] = [10, 14, 17, 20];
/// Each party's deposit.
const COLLATERAL: u64 = 1_000_000;
/// Target: the 2^20 numeric set-up, both parties, in ns.
const NUMERIC_TARGET_NS: u64 = 1_000_000_000;

/// Progress steps of this area.
pub(crate) const ROWS: usize = ENUMERATED.len() + NUMERIC.len() + 1;

struct Fixture {
    params: ChannelParams,
    base: State,
    alice: SigningKey,
    bob: SigningKey,
    oracle: OracleKey,
}

fn fixture() -> Result<Fixture> {
    let key = |b: u8| SigningKey::from_bytes(&[b; 32]).context("a fixed key");
    let (alice, bob) = (key(0x11)?, key(0x22)?);
    let params = ChannelParams {
        participants: vec![alice.address(), bob.address()],
        nonce: 1,
        challenge_period: 1000,
        contract_id: [0xb3; 32],
        asset: Address([0; 20]),
        adjudicator: Address([0xad; 20]),
        chain_id: 31337,
    };
    let base = State {
        channel_id: params.channel_id(),
        version: 1,
        commitment: [0x42; 32],
        allocation: vec![COLLATERAL, COLLATERAL],
        is_final: false,
    };
    let oracle = OracleKey::from_bytes(&[0x0c; 32]).context("a fixed oracle key")?;
    Ok(Fixture {
        params,
        base,
        alice,
        bob,
        oracle,
    })
}

/// What one set-up measured.
struct Setup {
    row: Row,
    signatures: usize,
}

/// Measures the set-up of a bet on `terms` (see the module docs).
fn setup(budget: Budget, f: &Fixture, name: String, terms: &BetTerms) -> Result<Setup> {
    let both = || -> Result<()> {
        let bet = Bet::new(&f.params, &f.base, terms.clone())?;
        let a =
            BetSignatures::from_bytes(&bet.sign(&f.alice).to_bytes()).map_err(|e| anyhow!(e))?;
        let b = BetSignatures::from_bytes(&bet.sign(&f.bob).to_bytes()).map_err(|e| anyhow!(e))?;
        bet.verify(0, &a)?;
        bet.verify(1, &b)?;
        Ok(())
    };
    let total = alone(budget, both)?;
    let bet = Bet::new(&f.params, &f.base, terms.clone())?;
    let sign = alone(budget, || {
        std::hint::black_box(bet.sign(&f.alice));
        Ok(())
    })?;
    let signed = bet.sign(&f.alice);
    let verify = alone(budget, || Ok(bet.verify(0, &signed)?))?;
    Ok(Setup {
        row: Row {
            name,
            median_ns: Some(total.median()),
            p99_ns: Some(total.p99()),
            prove_ns: Some(sign.median()),
            verify_ns: Some(verify.median()),
            size_bytes: u64::try_from(signed.to_bytes().len()).ok(),
            ..Row::default()
        },
        signatures: bet.entries(),
    })
}

/// The payouts of a linear curve over `2^bits` values, rounded to 1% of
/// the collateral, as digit prefixes.
fn linear(bits: u8) -> Result<Payouts> {
    let domain = numeric::Domain::binary(bits)?;
    let total = 2 * COLLATERAL;
    let curve = numeric::PayoutCurve::new(
        domain,
        total,
        vec![
            numeric::PayoutPoint::new(0, 0),
            numeric::PayoutPoint::new(domain.max_outcome(), total),
        ],
    )?;
    let rounding = numeric::RoundingIntervals::new(vec![numeric::RoundingInterval {
        begin: 0,
        modulus: total / 100,
    }])?;
    Ok(Payouts::numeric(&curve, &rounding)?)
}

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut report = Report::default();
    let f = fixture()?;

    for n in ENUMERATED {
        let name = format!("setup_enum_{n}");
        progress.start(&name);
        let names = (0..n).map(|i| format!("outcome-{i}")).collect();
        let ann = f
            .oracle
            .announce(&format!("bench-enum-{n}"), 0, Outcomes::Enumerated(names))?;
        let step = 2 * COLLATERAL / (n as u64 - 1);
        let payouts = (0..n as u64)
            .map(|i| {
                let a = (i * step).min(2 * COLLATERAL);
                vec![a, 2 * COLLATERAL - a]
            })
            .collect();
        let terms = BetTerms {
            announcements: vec![ann],
            threshold: 1,
            payouts: Payouts::Enumerated(payouts),
            refund_after: None,
        };
        report.rows.push(setup(budget, &f, name, &terms)?.row);
        progress.done(1);
    }

    let mut big: Option<(Announcement, BetTerms)> = None;
    for bits in NUMERIC {
        let name = format!("setup_numeric_2^{bits}");
        progress.start(&name);
        let ann = f.oracle.announce(
            &format!("bench-numeric-{bits}"),
            0,
            Outcomes::Numeric {
                base: 2,
                digits: bits,
            },
        )?;
        let terms = BetTerms {
            announcements: vec![ann.clone()],
            threshold: 1,
            payouts: linear(bits)?,
            refund_after: None,
        };
        let measured = setup(budget, &f, name.clone(), &terms)?;
        let values = 1u64 << bits;
        report.checks.push(Check {
            what: format!(
                "{name}: adaptor signatures per party, digit prefixes against one per value"
            ),
            value: format!(
                "{} against {values} ({:.0}× fewer)",
                measured.signatures,
                values as f64 / measured.signatures as f64
            ),
            target: format!("< {values}"),
            missed_by: (measured.signatures as u64 >= values).then(|| "none saved".into()),
        });
        if bits == 20 {
            let median = measured.row.median_ns.unwrap_or(u64::MAX);
            report.checks.push(Check {
                what: format!(
                    "{name} median (both parties sign and verify every adaptor signature)"
                ),
                value: time(median),
                target: format!("≤ {}", time(NUMERIC_TARGET_NS)),
                missed_by: (median > NUMERIC_TARGET_NS).then(|| time(median - NUMERIC_TARGET_NS)),
            });
            big = Some((ann, terms));
        }
        report.rows.push(measured.row);
        progress.done(1);
    }

    progress.start("attest, verify, settle");
    let (ann, terms) = big.context("the 2^20 row ran")?;
    let value = 700_000;
    let attest = alone(budget, || {
        std::hint::black_box(f.oracle.attest(&ann, Outcome::Numeric(value))?);
        Ok(())
    })?;
    let attestation = f.oracle.attest(&ann, Outcome::Numeric(value))?;
    let verify = alone(budget, || {
        std::hint::black_box(ann.verify(&attestation)?);
        Ok(())
    })?;
    let bet = Bet::new(&f.params, &f.base, terms)?;
    let from_alice = bet.sign(&f.alice);
    let settle = alone(budget, || {
        let s = bet.settle(
            std::slice::from_ref(&attestation),
            1,
            &f.bob,
            &[(0, &from_alice)],
        )?;
        std::hint::black_box(s);
        Ok(())
    })?;
    for (name, samples) in [
        ("attest_numeric_2^20", attest),
        ("verify_attestation_2^20", verify),
        ("settle_numeric_2^20", settle),
    ] {
        report.rows.push(Row {
            name: name.into(),
            median_ns: Some(samples.median()),
            p99_ns: Some(samples.p99()),
            ..Row::default()
        });
    }
    progress.done(1);

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    report.notes.push(format!(
        "signing and verifying adaptor signatures use every core: {cores} here"
    ));
    if cfg!(debug_assertions) {
        report.notes.push(
            "built without optimisations: the 1 s target is for a release build \
             (cargo run --release -- bench oracle)"
                .into(),
        );
    }
    if budget.is_quick() {
        report
            .notes
            .push("--quick: a few runs per row; the figures are indicative only".into());
    }
    Ok(report)
}
