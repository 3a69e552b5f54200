//! Syntax: source text to a [`Contract`](ast::Contract) tree plus diagnostics.
//!
//! **Architecture invariant:** parsing never fails and never panics. It
//! always returns a tree (with error nodes where the text could not be read)
//! and every diagnostic it found, so an author sees all syntax errors at once.

pub mod ast;
