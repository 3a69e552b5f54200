//! `sotto bench proofs`: what our proofs cost, beside what they are built on.
//!
//! Rows, in order:
//! 1. `range64`, our proof of one 64-bit range, measured interleaved with
//!    `bulletproofs_range64`, the raw bulletproofs proof it wraps (its
//!    baseline: the difference is exactly our overhead); and beside them
//!    `borromean_range63`, secp256k1-zkp's Borromean proof, at 63 bits since
//!    the crate's 64-bit one overflows (see [`fixtures`]).
//! 2. `range64x{m}`: m 64-bit ranges aggregated into one proof, m = 1 … 32.
//! 3. `comparison`, `product`, `transition`: the sample programs of
//!    [`sotto_circuits::samples`].
//! 4. `batch_verify_{n}`: n distinct single-range proofs verified together;
//!    `verify_ns` is the cost per proof, compared with `range64`'s lone verify.
//!
//! The statements come from a fixed seed, so every run proves the same
//! values; the proving and verifying randomness is fresh for each call.

pub(crate) mod fixtures;

use anyhow::Result;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_circuits::BatchItem;

use super::measure::{Budget, Op, Progress, Samples, alone, side_by_side};
use super::plot::{Chart, Point};
use super::{Check, Report, Row};
use fixtures::{AGGREGATION_SIZES, BATCH_SIZES, BatchMode, Borromean, Proven, RawBulletproof};

/// Number of rows (and progress steps) of this area.
pub(crate) const ROWS: usize = 3 + AGGREGATION_SIZES.len() + 3 + BATCH_SIZES.len();

/// Seed of the statements (values and blindings), not of the proofs.
const SEED: u64 = 0x5077_0b3e;

const OURS: &str = "range64";
const RAW: &str = "bulletproofs_range64";
const BORROMEAN: &str = "borromean_range63";

/// Target: our single-range verify time over raw bulletproofs'.
const VERIFY_RATIO_TARGET: f64 = 1.05;
/// Target: bytes our single-range proof adds to the raw bulletproofs proof.
const SIZE_OVERHEAD_TARGET: i64 = 64;
/// Target: per-proof verify cost in a batch of 64 over a lone verify.
const BATCH_RATIO_TARGET: f64 = 0.3;

/// Measures every row. See the module docs for what they are.
pub(crate) fn run(budget: Budget, progress: &Progress) -> Result<Report> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut report = Report::default();

    // 1. One 64-bit range: ours and raw bulletproofs interleaved, so the
    // ratio of the two is not skewed by drifting machine load; Borromean
    // beside them in the same run.
    progress.start("range64 beside bulletproofs and Borromean");
    let ours = fixtures::single_range(&mut rng)?;
    let raw = RawBulletproof::new(&mut rng)?;
    let borromean = Borromean::new(&mut rng)?;
    let prove = side_by_side(
        budget,
        &mut [
            op(|| ours.prove(&mut rand::thread_rng()).map(drop)),
            op(|| raw.prove(&mut rand::thread_rng()).map(drop)),
        ],
    )?;
    let verify = side_by_side(
        budget,
        &mut [
            op(|| ours.verify(&mut rand::thread_rng())),
            op(|| raw.verify(&mut rand::thread_rng())),
        ],
    )?;
    let b_prove = alone(budget, || borromean.prove().map(drop))?;
    let b_verify = alone(budget, || borromean.verify())?;
    let measured = [
        (OURS, &prove[0], &verify[0], ours.size(), Some(RAW)),
        (RAW, &prove[1], &verify[1], raw.size(), None),
        (BORROMEAN, &b_prove, &b_verify, borromean.size(), Some(OURS)),
    ];
    for (name, prove, verify, size, baseline) in measured {
        report.rows.push(Row {
            name: name.into(),
            prove_ns: Some(prove.median()),
            verify_ns: Some(verify.median()),
            size_bytes: Some(size as u64),
            baseline: baseline.map(Into::into),
            ..Row::default()
        });
    }
    progress.done(3);

    // 2. Aggregated ranges.
    let mut points = Vec::new();
    for m in AGGREGATION_SIZES {
        progress.start(&format!("range64x{m}"));
        let proven = fixtures::aggregated(m, &mut rng)?;
        let (prove, verify) = prove_and_verify(budget, &proven)?;
        points.push(Point {
            m,
            prove_ns: prove.median(),
            verify_ns: verify.median(),
            size_bytes: proven.size() as u64,
        });
        report.rows.push(proof_row(&proven, &prove, &verify));
        progress.done(1);
    }

    // 3. The sample programs.
    for proven in fixtures::programs(&mut rng)? {
        progress.start(&proven.sample.name);
        let (prove, verify) = prove_and_verify(budget, &proven)?;
        report.rows.push(proof_row(&proven, &prove, &verify));
        progress.done(1);
    }

    // 4. Batch verification of distinct single-range proofs.
    let largest = BATCH_SIZES.iter().copied().max().unwrap_or(1);
    progress.start(&format!("batch: proving {largest} distinct range proofs"));
    let proofs = fixtures::batch(largest, &mut rng)?;
    let mode = fixtures::batch_mode(&proofs, &mut rng)?;
    if let BatchMode::OneByOne { reason } = &mode {
        let note = format!(
            "batch_verify rejected valid proofs ({reason}); the batch_verify_* rows \
             measure one-by-one verification instead (is circuits/src/range_batch.rs \
             still a placeholder?)"
        );
        progress.note(&format!("warning: {note}"));
        report.notes.push(note);
    }
    for n in BATCH_SIZES {
        progress.start(&format!("batch_verify_{n}"));
        let proofs = &proofs[..n];
        let items: Vec<BatchItem<'_>> = proofs.iter().map(Proven::item).collect();
        let s = alone(budget, || {
            fixtures::verify_batch(proofs, &items, &mode, &mut rand::thread_rng())
        })?;
        let median = s.median();
        report.rows.push(Row {
            name: format!("batch_verify_{n}"),
            median_ns: Some(median),
            p99_ns: Some(s.p99()),
            verify_ns: Some(median / n as u64),
            per_s: (median > 0).then(|| n as f64 * 1e9 / median as f64),
            baseline: Some(OURS.into()),
            ..Row::default()
        });
        progress.done(1);
    }

    judge(&mut report, budget);
    report.chart = Some(Chart {
        title: "sotto: aggregated 64-bit range proofs".into(),
        points,
    });
    Ok(report)
}

fn op<'a>(f: impl FnMut() -> Result<()> + 'a) -> Op<'a> {
    Box::new(f)
}

/// Prove, then verify, each within `budget`.
fn prove_and_verify(budget: Budget, proven: &Proven) -> Result<(Samples, Samples)> {
    let prove = alone(budget, || proven.prove(&mut rand::thread_rng()).map(drop))?;
    let verify = alone(budget, || proven.verify(&mut rand::thread_rng()))?;
    Ok((prove, verify))
}

fn proof_row(proven: &Proven, prove: &Samples, verify: &Samples) -> Row {
    Row {
        name: proven.sample.name.clone(),
        prove_ns: Some(prove.median()),
        verify_ns: Some(verify.median()),
        size_bytes: Some(proven.size() as u64),
        ..Row::default()
    }
}

/// Holds the rows against the targets and adds the comparisons worth a line.
fn judge(report: &mut Report, budget: Budget) {
    let find = |name: &str| report.rows.iter().find(|r| r.name == name);
    let ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if b > 0 => Some(a as f64 / b as f64),
        _ => None,
    };
    let mut checks = Vec::new();
    let mut notes = Vec::new();

    if let (Some(ours), Some(raw)) = (find(OURS), find(RAW)) {
        if let Some(r) = ratio(ours.verify_ns, raw.verify_ns) {
            checks.push(Check {
                what: format!("verify {OURS} / {RAW}"),
                value: format!("{r:.3}"),
                target: format!("≤ {VERIFY_RATIO_TARGET}"),
                missed_by: (r > VERIFY_RATIO_TARGET)
                    .then(|| format!("{:.3}", r - VERIFY_RATIO_TARGET)),
            });
        }
        if let (Some(a), Some(b)) = (ours.size_bytes, raw.size_bytes) {
            let d = a as i64 - b as i64;
            checks.push(Check {
                what: format!("size {OURS} - {RAW}"),
                value: format!("{d:+} bytes ({a} vs {b})"),
                target: format!("≤ {SIZE_OVERHEAD_TARGET} bytes"),
                missed_by: (d > SIZE_OVERHEAD_TARGET)
                    .then(|| format!("{} bytes", d - SIZE_OVERHEAD_TARGET)),
            });
        }
        if let Some(r) = ratio(ours.prove_ns, raw.prove_ns) {
            notes.push(format!("prove {OURS} / {RAW} = {r:.3} (no target)"));
        }
    }

    let largest = BATCH_SIZES.iter().copied().max().unwrap_or(1);
    let batch_name = format!("batch_verify_{largest}");
    if let (Some(batch), Some(ours)) = (find(&batch_name), find(OURS))
        && let Some(r) = ratio(batch.verify_ns, ours.verify_ns)
    {
        checks.push(Check {
            what: format!("per-proof verify in {batch_name} / lone verify ({OURS})"),
            value: format!("{r:.3}"),
            target: format!("≤ {BATCH_RATIO_TARGET}"),
            missed_by: (r > BATCH_RATIO_TARGET).then(|| format!("{:.3}", r - BATCH_RATIO_TARGET)),
        });
    }

    if let (Some(b), Some(ours)) = (find(BORROMEAN), find(OURS)) {
        let fmt = |r: Option<f64>| r.map_or_else(|| "-".into(), |r| format!("{r:.2}×"));
        notes.push(format!(
            "{BORROMEAN} (secp256k1-zkp, a 63-bit range: its 64-bit Borromean proof overflows) \
             vs {OURS}: prove {}, verify {}, size {}",
            fmt(ratio(b.prove_ns, ours.prove_ns)),
            fmt(ratio(b.verify_ns, ours.verify_ns)),
            fmt(ratio(b.size_bytes, ours.size_bytes)),
        ));
    }

    let first = AGGREGATION_SIZES[0];
    let last = AGGREGATION_SIZES[AGGREGATION_SIZES.len() - 1];
    if let (Some(one), Some(many)) = (
        find(&format!("range64x{first}")),
        find(&format!("range64x{last}")),
    ) {
        let per_range = |ns: Option<u64>| ns.map(|ns| ns / (last / first) as u64);
        let fmt = |ns: Option<u64>| ns.map_or_else(|| "-".into(), super::output::time);
        notes.push(format!(
            "aggregation: per range, range64x{last} proves in {} and verifies in {} \
             (range64x{first}: {} and {}); size {} vs {} bytes",
            fmt(per_range(many.prove_ns)),
            fmt(per_range(many.verify_ns)),
            fmt(one.prove_ns),
            fmt(one.verify_ns),
            many.size_bytes.unwrap_or(0),
            one.size_bytes.unwrap_or(0),
        ));
    }
    if budget.is_quick() {
        notes.push("--quick: a few runs per row; the figures are indicative only".into());
    }
    report.checks = checks;
    report.notes.extend(notes);
}
