//! # sotto-contracts
//!
//! The sotto language and its compiler: parsing, type and privacy checking,
//! and code generation to a WASM module whose custom sections carry the ABI
//! and, per function that touches private values, a
//! [`sotto_circuits::Program`]. Not built yet: this crate holds its place in
//! the workspace so that the dependency direction (`circuits` ← `contracts`
//! ← `engine`) is fixed from the start.
#![deny(missing_docs)]
