//! Standard programs with satisfying witnesses, shared by tests, golden
//! vectors and benchmarks so that they all measure the same statements.
//!
//! Every sample is deterministic given the rng passed in.

use rand_core::{CryptoRng, RngCore};

use crate::commitment::Opening;
use crate::program::{CmpOp, LinExpr, Program, ProgramBuilder, RangeBits};

/// A program with a satisfying witness and public inputs.
pub struct Sample {
    /// A short name (used as a benchmark row name).
    pub name: String,
    /// The program.
    pub program: Program,
    /// One opening per variable.
    pub witness: Vec<Opening>,
    /// The public inputs.
    pub publics: Vec<u64>,
}

fn build(name: String, b: ProgramBuilder, witness: Vec<Opening>, publics: Vec<u64>) -> Sample {
    // Samples are fixed programs; a failure here is a bug in this file.
    let program = b
        .build()
        .unwrap_or_else(|e| unreachable!("sample {name}: {e}"));
    Sample {
        name,
        program,
        witness,
        publics,
    }
}

/// `m` variables, each proven in `[0, 2^bits)`, in one aggregated proof.
pub fn ranges<R: RngCore + CryptoRng>(m: usize, bits: RangeBits, rng: &mut R) -> Sample {
    let mut b = ProgramBuilder::new();
    let mut witness = Vec::with_capacity(m);
    for i in 0..m {
        let v = b.var(&format!("x{i}"));
        b.range(v, bits);
        let max = if bits == RangeBits::B64 {
            u64::MAX
        } else {
            (1u64 << bits.bits()) - 1
        };
        witness.push(Opening::random(rng.next_u64() & max, rng));
    }
    build(format!("range{}x{m}", bits.bits()), b, witness, vec![])
}

/// `bid ≤ deposit` for a private bid already proven in range and a public deposit.
pub fn comparison<R: RngCore + CryptoRng>(rng: &mut R) -> Sample {
    let mut b = ProgramBuilder::new();
    let bid = b.proven_var("bid", RangeBits::B64);
    let deposit = b.public("deposit");
    b.compare(
        LinExpr::term(bid),
        CmpOp::Le,
        LinExpr::term(deposit),
        RangeBits::B64,
    );
    build(
        "comparison".into(),
        b,
        vec![Opening::random(700, rng)],
        vec![1_000],
    )
}

/// `total = price · quantity` over three committed values already in range.
pub fn product<R: RngCore + CryptoRng>(rng: &mut R) -> Sample {
    let mut b = ProgramBuilder::new();
    let price = b.proven_var("price", RangeBits::B32);
    let qty = b.proven_var("quantity", RangeBits::B32);
    let total = b.proven_var("total", RangeBits::B64);
    b.product(price, qty, total);
    build(
        "product".into(),
        b,
        vec![
            Opening::random(1_250, rng),
            Opening::random(12, rng),
            Opening::random(15_000, rng),
        ],
        vec![],
    )
}

/// A typical private transition: two comparisons, one conservation, one product.
///
/// A seller sells `quantity` units at a private `price`: the price lies within
/// the seller's private floor and a public cap, `cost = price · quantity`,
/// and the seller's and buyer's new private balances conserve the total.
pub fn transition<R: RngCore + CryptoRng>(rng: &mut R) -> Sample {
    let mut b = ProgramBuilder::new();
    let price = b.proven_var("price", RangeBits::B32);
    let quantity = b.proven_var("quantity", RangeBits::B32);
    let cost = b.proven_var("cost", RangeBits::B64);
    let floor = b.proven_var("floor", RangeBits::B64);
    let seller = b.proven_var("seller_balance", RangeBits::B64);
    let buyer = b.proven_var("buyer_balance", RangeBits::B64);
    let cap = b.public("cap");
    let total = b.public("total");
    b.compare(
        LinExpr::term(floor),
        CmpOp::Le,
        LinExpr::term(price),
        RangeBits::B32,
    );
    b.compare(
        LinExpr::term(price),
        CmpOp::Le,
        LinExpr::term(cap),
        RangeBits::B32,
    );
    b.product(price, quantity, cost);
    b.linear(LinExpr::term(seller).plus(1, buyer).plus(-1, total));
    build(
        "transition".into(),
        b,
        vec![
            Opening::random(1_250, rng),
            Opening::random(12, rng),
            Opening::random(15_000, rng),
            Opening::random(1_000, rng),
            Opening::random(65_000, rng),
            Opening::random(35_000, rng),
        ],
        vec![2_000, 100_000],
    )
}

/// One of every constraint kind in a single program.
pub fn every_kind<R: RngCore + CryptoRng>(rng: &mut R) -> Sample {
    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    let y = b.var("y");
    let z = b.var("z");
    let same = b.var("same_as_x");
    let flag = b.var("flag");
    let choice = b.var("choice");
    let p = b.public("p");
    b.range(x, RangeBits::B16)
        .range(y, RangeBits::B16)
        .range(z, RangeBits::B32)
        .range(same, RangeBits::B64)
        .boolean(flag)
        .one_of(choice, vec![3, 5, 8, 13])
        .product(x, y, z)
        .equals_public(y, p)
        .same_value(x, same)
        .linear(LinExpr::term(x).plus(-2, y).plus_constant(6))
        .compare(
            LinExpr::term(x),
            CmpOp::Gt,
            LinExpr::term(y),
            RangeBits::B16,
        )
        .compare(
            LinExpr::term(z),
            CmpOp::Ge,
            LinExpr::term(x).plus(1, y),
            RangeBits::B32,
        )
        .compare(
            LinExpr::term(choice),
            CmpOp::Lt,
            LinExpr::constant(14),
            RangeBits::B8,
        )
        .compare(
            LinExpr::term(flag).plus(1, choice),
            CmpOp::Eq,
            LinExpr::constant(9),
            RangeBits::B8,
        );
    build(
        "every_kind".into(),
        b,
        vec![
            Opening::random(10, rng),
            Opening::random(8, rng),
            Opening::random(80, rng),
            Opening::random(10, rng),
            Opening::random(1, rng),
            Opening::random(8, rng),
        ],
        vec![8],
    )
}
