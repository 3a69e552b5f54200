//! # sotto-contracts
//!
//! The sotto language and its compiler. Today: the syntax (lexer, parser
//! with error recovery, syntax tree, printer) and diagnostics rendered with
//! source context. Planned, in this crate: name, type and privacy checking,
//! and code generation to a WASM module whose custom sections carry the ABI
//! and, per function that touches private values, a
//! `sotto_circuits::Program`. The language is specified in
//! docs/language.md.
#![deny(missing_docs)]

pub mod check;
pub mod diagnostic;
pub mod fuzzing;
pub mod syntax;

pub use diagnostic::{Diagnostic, Severity, Span, render};
