//! A deferred multiscalar check: verification equations collected as weighted
//! terms and checked at once with one variable-time multiscalar multiplication.
//!
//! Every verification equation in this crate has the form `Σ sᵢ·Pᵢ = 0`. A
//! verifier that must check several of them multiplies each by a fresh random
//! weight and adds them up: if any equation fails, the sum is non-zero except
//! with probability about 1/ℓ (ℓ ≈ 2²⁵², the group order). Terms on the fixed
//! generators (`B`, `B_blinding` and the bulletproof vectors **G**, **H**) are
//! merged into one scalar per generator, which is what makes batching pay.
//!
//! **Invariant:** the weights come from the verifier's own randomness, never
//! from anything the prover chose. Only public data flows through here, so
//! variable-time arithmetic is acceptable (hence the `vartime_` names).

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};

/// Largest bit width of one range entry (and so the per-party generator count).
pub(crate) const GENS_CAPACITY: usize = 64;
/// Largest number of range entries in one aggregated proof (after padding).
pub const MAX_RANGE_ENTRIES: usize = 64;

/// The Pedersen generators `B` (value) and `B_blinding` used everywhere in sotto.
pub fn pedersen_gens() -> &'static PedersenGens {
    static GENS: OnceLock<PedersenGens> = OnceLock::new();
    GENS.get_or_init(PedersenGens::default)
}

/// The bulletproof generators for up to [`MAX_RANGE_ENTRIES`] entries of 64 bits.
pub(crate) fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(GENS_CAPACITY, MAX_RANGE_ENTRIES))
}

/// Verification equations collected for one multiscalar check.
///
/// Fixed generators get one merged scalar each; everything else (commitments,
/// proof points) is listed as a dynamic term.
pub(crate) struct Accumulator {
    /// Scalar on the Pedersen value generator `B`.
    pub(crate) b: Scalar,
    /// Scalar on the Pedersen blinding generator `B_blinding`.
    pub(crate) b_blinding: Scalar,
    /// Scalars on the bulletproof **G** generators, indexed `party * GENS_CAPACITY + bit`.
    pub(crate) g: Vec<Scalar>,
    /// Scalars on the bulletproof **H** generators, indexed like `g`.
    pub(crate) h: Vec<Scalar>,
    /// How many parties' worth of `g`/`h` entries have been touched (to trim the MSM).
    pub(crate) parties_used: usize,
    /// Dynamic terms: scalars.
    pub(crate) scalars: Vec<Scalar>,
    /// Dynamic terms: points, one per scalar.
    pub(crate) points: Vec<RistrettoPoint>,
}

impl Accumulator {
    /// An empty accumulator (the trivially true equation `0 = 0`).
    pub(crate) fn new() -> Self {
        Accumulator {
            b: Scalar::ZERO,
            b_blinding: Scalar::ZERO,
            g: Vec::new(),
            h: Vec::new(),
            parties_used: 0,
            scalars: Vec::new(),
            points: Vec::new(),
        }
    }

    /// Adds `scalar · point` for a point that is not a fixed generator.
    pub(crate) fn push(&mut self, scalar: Scalar, point: RistrettoPoint) {
        self.scalars.push(scalar);
        self.points.push(point);
    }

    /// Adds `scalar` to the coefficient of bulletproof generator **G**`[party][bit]`.
    pub(crate) fn add_g(&mut self, party: usize, bit: usize, scalar: Scalar) {
        let i = self.gen_index(party, bit);
        self.g[i] += scalar;
    }

    /// Adds `scalar` to the coefficient of bulletproof generator **H**`[party][bit]`.
    pub(crate) fn add_h(&mut self, party: usize, bit: usize, scalar: Scalar) {
        let i = self.gen_index(party, bit);
        self.h[i] += scalar;
    }

    fn gen_index(&mut self, party: usize, bit: usize) -> usize {
        debug_assert!(party < MAX_RANGE_ENTRIES && bit < GENS_CAPACITY);
        if party >= self.parties_used {
            self.parties_used = party + 1;
            let len = self.parties_used * GENS_CAPACITY;
            self.g.resize(len, Scalar::ZERO);
            self.h.resize(len, Scalar::ZERO);
        }
        party * GENS_CAPACITY + bit
    }

    /// Checks that the accumulated sum is the identity, in variable time.
    pub(crate) fn vartime_is_identity(&self) -> bool {
        let pc = pedersen_gens();
        let parties = self.parties_used;
        // Only touch the (lazily built, large) bulletproof generators if used.
        let g_points = (0..parties).flat_map(|j| bulletproof_gens().share(j).G(GENS_CAPACITY));
        let h_points = (0..parties).flat_map(|j| bulletproof_h(j).iter());
        // dalek asserts that both iterators report exact, equal lengths, which
        // `flat_map` does not: collect the points first.
        let points: Vec<&RistrettoPoint> = [&pc.B, &pc.B_blinding]
            .into_iter()
            .chain(g_points)
            .chain(h_points)
            .chain(self.points.iter())
            .collect();
        let sum = RistrettoPoint::vartime_multiscalar_mul(
            [self.b, self.b_blinding]
                .iter()
                .chain(self.g.iter())
                .chain(self.h.iter())
                .chain(self.scalars.iter()),
            points,
        );
        sum.is_identity()
    }
}

/// The bulletproof **H** generators of party `j` (bulletproofs 5.0.0 does not
/// export them; see `range_batch` for how they are re-derived and checked).
fn bulletproof_h(party: usize) -> &'static [RistrettoPoint] {
    crate::range_batch::h_generators(party)
}
