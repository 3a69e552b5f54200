//! Contract values as JSON, one format for every command and file (`sotto
//! exec` arguments and state, scenarios):
//!
//! | type | JSON |
//! |---|---|
//! | `u64` | a number, or a decimal string (for values JSON tools would round) |
//! | `bool` | `true` or `false` |
//! | `bytes32` | `"0x"` and 64 hex digits |
//! | `party` | the party's name |
//!
//! Output uses the first form of each: a `u64` is written as a number.

use crate::abi::{Value, ValueType};
use serde_json::Value as Json;

/// Parses `json` as a value of type `ty`; a party by its name in `parties`.
/// The error says what was expected and what was found, in a few words.
pub fn parse(json: &Json, ty: ValueType, parties: &[String]) -> Result<Value, String> {
    let expected = |what: &str| format!("expected {what}, found {}", brief(json));
    match ty {
        ValueType::U64 => match json {
            Json::Number(n) => n
                .as_u64()
                .map(Value::U64)
                .ok_or_else(|| expected("a u64 (0 to 18446744073709551615)")),
            Json::String(s) => parse_decimal(s)
                .map(Value::U64)
                .ok_or_else(|| expected("a u64 (a decimal string of 0 to 18446744073709551615)")),
            _ => Err(expected("a u64")),
        },
        ValueType::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(expected("a bool (true or false)")),
        },
        ValueType::Bytes32 => match json {
            Json::String(s) => parse_bytes32(s)
                .map(Value::Bytes32)
                .ok_or_else(|| expected("a bytes32 (\"0x\" and 64 hex digits)")),
            _ => Err(expected("a bytes32 (\"0x\" and 64 hex digits)")),
        },
        ValueType::Party => match json {
            Json::String(s) => parties
                .iter()
                .position(|p| p == s)
                .and_then(|i| u32::try_from(i).ok())
                .map(Value::Party)
                .ok_or_else(|| {
                    format!(
                        "no party `{s}` in this contract (parties: {})",
                        parties.join(", ")
                    )
                }),
            _ => Err(expected(&format!("a party ({})", parties.join(", ")))),
        },
    }
}

/// The JSON form of `value`.
pub fn to_json(value: &Value, parties: &[String]) -> Json {
    match value {
        Value::U64(v) => Json::from(*v),
        Value::Bool(b) => Json::Bool(*b),
        Value::Bytes32(_) | Value::Party(_) => Json::String(show(value, parties)),
    }
}

/// `value` for people: as its JSON form, without quotes.
pub fn show(value: &Value, parties: &[String]) -> String {
    match value {
        Value::Party(p) => usize::try_from(*p)
            .ok()
            .and_then(|i| parties.get(i))
            .cloned()
            // Out of range only in an ABI that failed validation.
            .unwrap_or_else(|| format!("party #{p}")),
        other => other.to_string(),
    }
}

/// The name of party `index`, or `party #index` if there is none.
pub fn party_name(index: u32, parties: &[String]) -> String {
    show(&Value::Party(index), parties)
}

/// A `u64` as a decimal: digits only (no sign, no spaces), in range.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `"0x"` and exactly 64 hex digits, either case.
fn parse_bytes32(s: &str) -> Option<[u8; 32]> {
    let hex = s.strip_prefix("0x")?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// A JSON value in a few words, for error messages.
fn brief(json: &Json) -> String {
    let text = json.to_string();
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parties() -> Vec<String> {
        vec!["alice".to_owned(), "bob".to_owned()]
    }

    #[test]
    fn every_type_parses_and_round_trips() {
        let hex = format!("0x{}", "ab".repeat(31) + "CD");
        let cases = [
            (json!(0), ValueType::U64, Value::U64(0)),
            (json!(u64::MAX), ValueType::U64, Value::U64(u64::MAX)),
            (
                json!("18446744073709551615"),
                ValueType::U64,
                Value::U64(u64::MAX),
            ),
            (json!(true), ValueType::Bool, Value::Bool(true)),
            (json!("bob"), ValueType::Party, Value::Party(1)),
            (json!(hex), ValueType::Bytes32, {
                let mut b = [0xab; 32];
                b[31] = 0xcd;
                Value::Bytes32(b)
            }),
        ];
        for (json, ty, value) in cases {
            assert_eq!(parse(&json, ty, &parties()), Ok(value), "{json}");
            let back = to_json(&value, &parties());
            assert_eq!(parse(&back, ty, &parties()), Ok(value), "{back}");
        }
    }

    #[test]
    fn malformed_values_are_refused_with_a_reason() {
        let cases = [
            (json!(-1), ValueType::U64, "expected a u64"),
            (json!(1.5), ValueType::U64, "expected a u64"),
            (json!("18446744073709551616"), ValueType::U64, "decimal"),
            (json!("+5"), ValueType::U64, "decimal"),
            (json!(""), ValueType::U64, "decimal"),
            (json!(1), ValueType::Bool, "expected a bool"),
            (json!("carol"), ValueType::Party, "no party `carol`"),
            (json!(0), ValueType::Party, "expected a party (alice, bob)"),
            (json!("0x12"), ValueType::Bytes32, "64 hex digits"),
            (
                json!(format!("0x{}", "zz".repeat(32))),
                ValueType::Bytes32,
                "64 hex digits",
            ),
            (
                json!(format!("{}", "00".repeat(32))),
                ValueType::Bytes32,
                "64 hex digits",
            ),
            (
                json!(format!("0x{}é", "0".repeat(62))),
                ValueType::Bytes32,
                "64 hex digits",
            ),
        ];
        for (json, ty, message) in cases {
            let err = parse(&json, ty, &parties()).unwrap_err();
            assert!(err.contains(message), "{json}: {err}");
        }
    }
}
