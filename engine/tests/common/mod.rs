//! Fixtures shared by the engine's integration tests: the test modules and
//! the ABI they are written against.
//!
//! Every test module (modules/*.wat) uses the same fields: 0 counter (u64),
//! 1 flag (bool), 2 secret (private u64), 3 owner (party), 4 digest (bytes32),
//! with two parties.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]

use sotto_engine::sandbox::{Budgets, ModuleAbi, ValueType};

pub(crate) const PAYMENT: &str = include_str!("../modules/payment.wat");
pub(crate) const HASH: &str = include_str!("../modules/hash.wat");
pub(crate) const WITNESS: &str = include_str!("../modules/witness.wat");
pub(crate) const SPIN: &str = include_str!("../modules/spin.wat");

/// Fuel budget of every test contract.
pub(crate) const FUEL: u64 = 1_000_000;
/// Memory budget of every test contract, in pages.
pub(crate) const PAGES: u32 = 4;

/// A test module's binary.
pub(crate) fn wasm(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap()
}

/// An ABI with the test fields, two parties, the test budgets and
/// `functions` as (name, public argument types, public input count).
pub(crate) fn abi(functions: &[(&str, &[ValueType], u32)]) -> ModuleAbi {
    sotto_engine::fuzzing::test_abi(
        functions,
        Budgets {
            fuel_per_call: FUEL,
            memory_pages: PAGES,
        },
    )
}
