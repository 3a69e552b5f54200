//! The parts of the language's meaning that the compiler and the reference
//! interpreter must agree on to the byte: the abort reasons of arithmetic
//! faults, and the bytes that `sha256`/`keccak256` hash.
//!
//! Both sides call these functions, so a change here changes both.

use crate::abi::Value;
use crate::syntax::ast::BinOp;

/// An arithmetic fault: the call aborts, with [`fault_reason`] as the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `+` or `*` beyond `u64::MAX`.
    Overflow,
    /// `-` below zero.
    Underflow,
    /// `/` or `%` by zero.
    DivisionByZero,
}

/// The abort reason of `fault` in operator `op`, written at byte `offset`
/// of `source` (the start of the binary expression): for example
/// "arithmetic overflow in `+` on line 12". Lines count from 1.
pub fn fault_reason(fault: Fault, op: BinOp, source: &str, offset: usize) -> String {
    let what = match fault {
        Fault::Overflow => "arithmetic overflow",
        Fault::Underflow => "subtraction below zero",
        Fault::DivisionByZero => "division by zero",
    };
    format!(
        "{what} in `{}` on line {}",
        op_symbol(op),
        line_of(source, offset)
    )
}

/// The 1-based line of byte `offset` in `source`.
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// How an operator is written.
pub fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Or => "||",
        BinOp::And => "&&",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Rem => "%",
    }
}

/// Appends the bytes a hash builtin reads for one argument: a `u64` as 8
/// bytes big-endian, a `bool` as one byte `0x00`/`0x01`, a party as its index
/// in 4 bytes big-endian, a `bytes32` as its 32 bytes. The arguments are
/// concatenated without separators (each type has a fixed width).
pub fn hash_bytes(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::U64(v) => out.extend_from_slice(&v.to_be_bytes()),
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Party(p) => out.extend_from_slice(&p.to_be_bytes()),
        Value::Bytes32(b) => out.extend_from_slice(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_operator_and_line() {
        let src = "a\nb + c\n";
        assert_eq!(
            fault_reason(Fault::Overflow, BinOp::Add, src, 2),
            "arithmetic overflow in `+` on line 2"
        );
        assert_eq!(line_of(src, 0), 1);
        assert_eq!(line_of(src, 1000), 3);
    }

    #[test]
    fn hash_bytes_are_fixed_width_big_endian() {
        let mut out = Vec::new();
        for v in [
            Value::U64(0x0102),
            Value::Bool(true),
            Value::Party(3),
            Value::Bytes32([9; 32]),
        ] {
            hash_bytes(&v, &mut out);
        }
        let mut want = vec![0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 3];
        want.extend_from_slice(&[9; 32]);
        assert_eq!(out, want);
    }
}
