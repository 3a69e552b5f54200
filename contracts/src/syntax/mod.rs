//! Syntax: source text to a [`Contract`](ast::Contract) tree plus diagnostics.
//!
//! **Architecture invariant:** parsing never fails and never panics. It
//! always returns a tree (with error nodes where the text could not be read)
//! and every diagnostic it found, so an author sees all syntax errors at once.
//!
//! [`lexer`] turns text into tokens, [`parser`] tokens into the [`ast`],
//! and [`printer`] the tree back into canonical text.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod printer;

pub use parser::parse;
pub use printer::print;
