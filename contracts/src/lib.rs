//! # sotto-contracts
//!
//! The sotto language and its compiler: the syntax (lexer, parser with error
//! recovery, syntax tree, printer), name, type and privacy checking, code
//! generation to one WASM module per contract whose custom sections carry the
//! [`abi::Abi`] and, per function that touches private values, a
//! `sotto_circuits::Program`, and the [`artifact::Artifact`] that reads such
//! a module back. The language is specified in docs/language.md, the host
//! ABI in docs/abi.md.
#![deny(missing_docs)]

pub mod abi;
pub mod artifact;
pub mod check;
pub mod compile;
pub mod diagnostic;
pub mod fuzzing;
pub mod generate;
pub mod interp;
pub mod json;
pub mod library;
pub mod scenario;
pub mod semantics;
pub mod syntax;

pub use artifact::{Artifact, ArtifactError};
pub use compile::{Compiled, compile};
pub use diagnostic::{Diagnostic, Severity, Span, render};
