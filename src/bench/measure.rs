//! Timing: repeated runs of an operation, summarised by median and p99.
//!
//! Benchmarks here measure in-process with [`Instant`], one sample per call,
//! and report medians, which a stray slow run (another process on a 2-core
//! machine, a page fault) cannot move. Operations that are compared with each
//! other run side by side, interleaved call by call, so drift in machine load
//! affects both equally.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

/// How many times to run each operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Runs always made.
    min_runs: usize,
    /// Runs never exceeded.
    max_runs: usize,
    /// Past `min_runs`, stop once this much time has gone by.
    max_time: Duration,
    /// Whether this is the `--quick` budget.
    quick: bool,
}

impl Budget {
    /// A few runs per operation: a smoke test of the figures, not a measurement.
    pub(crate) fn quick() -> Self {
        Budget {
            min_runs: 3,
            max_runs: 5,
            max_time: Duration::from_millis(300),
            quick: true,
        }
    }

    /// Enough runs for a stable median and a meaningful p99 on cheap operations.
    pub(crate) fn full() -> Self {
        Budget {
            min_runs: 15,
            max_runs: 201,
            max_time: Duration::from_secs(3),
            quick: false,
        }
    }

    /// Whether this is the `--quick` budget, whose figures are only indicative.
    pub(crate) fn is_quick(self) -> bool {
        self.quick
    }
}

/// Durations of repeated runs, in nanoseconds, sorted.
#[derive(Debug, Clone)]
pub(crate) struct Samples(Vec<u64>);

impl Samples {
    fn new(mut ns: Vec<u64>) -> Self {
        ns.sort_unstable();
        Samples(ns)
    }

    /// The median (mean of the two middle runs for an even count), in ns.
    pub(crate) fn median(&self) -> u64 {
        let n = self.0.len();
        match n {
            0 => 0,
            _ if n % 2 == 1 => self.0[n / 2],
            _ => (self.0[n / 2 - 1] + self.0[n / 2]) / 2,
        }
    }

    /// The 99th percentile by nearest rank, in ns (the maximum below 100 runs).
    pub(crate) fn p99(&self) -> u64 {
        let n = self.0.len();
        if n == 0 {
            return 0;
        }
        let rank = (n * 99).div_ceil(100);
        self.0[rank - 1]
    }
}

/// An operation to time; it fails only if what it checks does not hold.
pub(crate) type Op<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Runs every operation of `ops` in turn, call by call, within `budget`, and
/// returns one [`Samples`] per operation, in order.
///
/// Each round starts with the next operation (a b c, b c a, c a b, …), so
/// that each operation follows each other one equally often: whichever runs
/// second would otherwise find the shared code and tables warm in the cache.
pub(crate) fn side_by_side(budget: Budget, ops: &mut [Op<'_>]) -> Result<Vec<Samples>> {
    // One untimed run each: lazily built generators and cold caches are not
    // what a long-running verifier pays per proof.
    for op in ops.iter_mut() {
        black_box(op())?;
    }
    let n = ops.len();
    let mut runs: Vec<Vec<u64>> = vec![Vec::with_capacity(budget.min_runs); n];
    let start = Instant::now();
    for round in 0..budget.max_runs {
        if round >= budget.min_runs && start.elapsed() > budget.max_time {
            break;
        }
        for k in 0..n {
            let j = (round + k) % n;
            let t = Instant::now();
            black_box(ops[j]())?;
            runs[j].push(duration_ns(t.elapsed()));
        }
    }
    Ok(runs.into_iter().map(Samples::new).collect())
}

/// Runs one operation within `budget`.
pub(crate) fn alone(budget: Budget, op: impl FnMut() -> Result<()>) -> Result<Samples> {
    let mut ops: [Op<'_>; 1] = [Box::new(op)];
    let mut samples = side_by_side(budget, &mut ops)?;
    // side_by_side returns exactly one Samples per operation.
    Ok(samples.swap_remove(0))
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The progress bar on stderr: one step per benchmark row.
///
/// Hidden automatically when stderr is not a terminal, so logs and tests see
/// nothing of it.
pub(crate) struct Progress(ProgressBar);

impl Progress {
    /// A bar of `rows` steps.
    pub(crate) fn new(rows: usize) -> Self {
        let bar = ProgressBar::new(rows as u64);
        let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix("bench");
        Progress(bar)
    }

    /// Names the row being measured now.
    pub(crate) fn start(&self, what: &str) {
        self.0.set_message(what.to_owned());
    }

    /// Marks `n` rows as done.
    pub(crate) fn done(&self, n: usize) {
        self.0.inc(n as u64);
    }

    /// Prints a line to stderr without garbling the bar.
    pub(crate) fn note(&self, line: &str) {
        self.0.suspend(|| eprintln!("{line}"));
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99() {
        let s = Samples::new(vec![5, 1, 3]);
        assert_eq!((s.median(), s.p99()), (3, 5));
        let s = Samples::new(vec![4, 1, 3, 2]);
        assert_eq!(s.median(), 2);
        let s = Samples::new((1..=200).collect());
        assert_eq!((s.median(), s.p99()), (100, 198));
        let s = Samples::new(vec![]);
        assert_eq!((s.median(), s.p99()), (0, 0));
    }

    #[test]
    fn budget_bounds_runs_and_interleaves() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut ops: [Op<'_>; 2] = [
            Box::new(|| {
                order.borrow_mut().push('a');
                Ok(())
            }),
            Box::new(|| {
                order.borrow_mut().push('b');
                Ok(())
            }),
        ];
        let samples = side_by_side(Budget::quick(), &mut ops).unwrap();
        drop(ops);
        assert_eq!(samples.len(), 2);
        assert!((3..=5).contains(&samples[0].0.len()));
        assert_eq!(samples[0].0.len(), samples[1].0.len());
        let order = order.into_inner();
        // The untimed warm-up run, then rounds that alternate who goes first.
        assert_eq!(order.len(), 2 * (1 + samples[0].0.len()));
        let (warm_up, rounds) = order.split_at(2);
        assert_eq!(warm_up, ['a', 'b']);
        for (round, pair) in rounds.chunks(2).enumerate() {
            let expected = if round % 2 == 0 {
                ['a', 'b']
            } else {
                ['b', 'a']
            };
            assert_eq!(pair, expected, "round {round}: {order:?}");
        }
    }

    #[test]
    fn a_failing_operation_fails_the_measurement() {
        assert!(alone(Budget::quick(), || anyhow::bail!("wrong")).is_err());
    }
}
