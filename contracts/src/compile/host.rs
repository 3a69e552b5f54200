//! The host imports of ABI version 1 (docs/abi.md), as the compiler emits
//! them: module `"sotto"`, in the order of the ABI's tables.

use wasm_encoder::ValType;

/// The module every import comes from.
pub const HOST_MODULE: &str = "sotto";

/// Fuel charged for every host call (docs/abi.md, "Fuel for host calls").
pub const HOST_CALL_FUEL: u64 = 20;
/// Extra fuel per byte hashed.
pub const HASH_FUEL_PER_BYTE: u64 = 4;

/// One host import, numbered as in [`IMPORTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[allow(
    missing_docs,
    reason = "each variant is the import of the same name in IMPORTS"
)]
pub enum Import {
    FieldGet,
    FieldSet,
    FieldGetBytes,
    FieldSetBytes,
    ArgGet,
    ArgGetBytes,
    Balance,
    Transfer,
    Now,
    Hash,
    AwaitParty,
    SilentTransfer,
    Finish,
    Abort,
    PublicInput,
    PrivateGet,
    PrivateSet,
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// Name, parameters and results of each import, indexed by [`Import`].
pub const IMPORTS: [(&str, &[ValType], &[ValType]); 17] = [
    ("field_get", &[I32], &[I64]),
    ("field_set", &[I32, I64], &[]),
    ("field_get_bytes", &[I32, I32], &[]),
    ("field_set_bytes", &[I32, I32], &[]),
    ("arg_get", &[I32], &[I64]),
    ("arg_get_bytes", &[I32, I32], &[]),
    ("balance", &[I32], &[I64]),
    ("transfer", &[I32, I32, I64], &[]),
    ("now", &[], &[I64]),
    ("hash", &[I32, I32, I32, I32], &[]),
    ("await_party", &[I32], &[]),
    ("silent_transfer", &[I32, I32, I64], &[]),
    ("finish", &[], &[]),
    ("abort", &[I32, I32], &[]),
    ("public_input", &[I32, I64], &[]),
    ("private_get", &[I32], &[I64]),
    ("private_set", &[I32, I64], &[]),
];
