//! Random inputs for a contract function, for differential, determinism and
//! fuzz tests: every field, every argument, an allocation and a time, drawn
//! from an [`Unstructured`].
//!
//! Values come mostly from small pools (edge integers, a few `bytes32`
//! values that include a SHA-256 and keccak256 preimage pair of the
//! library's hash locks), so that equalities, hash locks and balance checks
//! hold often enough for random calls to reach a function's success paths,
//! not only its aborts. Running out of entropy is not an error: the first
//! choice is taken.

use arbitrary::Unstructured;
use sha2::Digest as _;
use sotto_contracts::abi::{Abi, Function, Value, ValueType};

use crate::sandbox::OwnerInput;

/// Integers every `u64` is drawn from four times in five.
const POOL: [u64; 10] = [0, 1, 2, 3, 5, 10, 100, 1000, u64::MAX - 1, u64::MAX];
/// Balances and times.
const AMOUNTS: [u64; 5] = [0, 5, 100, 1000, u64::MAX / 4];
const TIMES: [u64; 4] = [0, 5, 100, 1000];
/// A preimage whose hashes are in the `bytes32` pool.
const PREIMAGE: [u8; 32] = [0xa5; 32];

/// The `bytes32` pool: zero, the preimage, its SHA-256, and the keccak256 of
/// each move 1-3 (8 bytes big-endian) followed by it (the `rps` commitment).
fn bytes_pool() -> Vec<[u8; 32]> {
    let mut pool = vec![[0; 32], PREIMAGE, sha2::Sha256::digest(PREIMAGE).into()];
    for m in 1u64..=3 {
        let mut pre = m.to_be_bytes().to_vec();
        pre.extend_from_slice(&PREIMAGE);
        pool.push(sha3::Keccak256::digest(&pre).into());
    }
    pool
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, items: &[T]) -> T {
    let i = u.choose_index(items.len()).unwrap_or(0);
    items[i]
}

/// A value of type `ty` for a contract with `parties` parties.
pub fn value(u: &mut Unstructured<'_>, ty: ValueType, parties: usize) -> Value {
    match ty {
        ValueType::U64 => {
            if u.ratio(4u8, 5u8).unwrap_or(true) {
                Value::U64(pick(u, &POOL))
            } else {
                let shift = u.int_in_range(0u32..=63).unwrap_or(0);
                Value::U64(u.arbitrary::<u64>().unwrap_or(7) >> shift)
            }
        }
        ValueType::Bool => Value::Bool(u.arbitrary().unwrap_or(false)),
        ValueType::Party => {
            let p = u.choose_index(parties.max(1)).unwrap_or(0);
            Value::Party(u32::try_from(p).unwrap_or(0))
        }
        ValueType::Bytes32 => Value::Bytes32(pick(u, &bytes_pool())),
    }
}

/// Every field, every argument of `f`, an allocation and a time.
pub fn input(u: &mut Unstructured<'_>, abi: &Abi, f: &Function) -> OwnerInput {
    let parties = abi.parties.len();
    OwnerInput {
        fields: abi.fields.iter().map(|x| value(u, x.ty, parties)).collect(),
        args: f.params.iter().map(|p| value(u, p.ty, parties)).collect(),
        allocation: (0..parties).map(|_| pick(u, &AMOUNTS)).collect(),
        now: pick(u, &TIMES),
    }
}
