//! The sandbox's view of a contract's ABI, and the canonical state encoding.
//!
//! [`ModuleAbi`] is what the sandbox needs to know about a contract to run
//! it: how many parties, the fields (type, visibility), the functions (public
//! argument types, number of constraint-program public inputs) and the
//! per-contract budgets. It is a projection of the compiler's
//! [`sotto_contracts::abi::Abi`] (the `sotto.abi` custom section) and the
//! artifact's constraint programs: [`ModuleAbi::from_contract`] builds it,
//! and [`Sandbox::load_artifact`](super::Sandbox::load_artifact) loads an
//! [`Artifact`](sotto_contracts::Artifact) with it. Tests and benchmarks may
//! still build one by hand.
//!
//! The value types ([`Value`], [`ValueType`]) and [`Budgets`] are the
//! contract crate's, re-exported: the compiler, the reference interpreter and
//! the sandbox share one definition.
//!
//! # Canonical state encoding (version 1)
//!
//! [`encode_state`] turns the public field values into the bytes that go into
//! a signed state:
//!
//! | bytes | content |
//! |---|---|
//! | 1 | [`STATE_ENCODING_VERSION`] (`0x01`) |
//! | per public field, in ABI order | `u64`: 8 bytes little-endian; `bool`: 1 byte, `0x00` or `0x01`; `party`: the party index as 4 bytes little-endian (`u32`); `bytes32`: the 32 bytes |
//!
//! Private fields are skipped: they never enter the public state. There is
//! no length prefix and no padding: the ABI fixes the layout, so one value
//! has exactly one encoding, and [`decode_state`] rejects everything else
//! (wrong version, wrong length, a bool byte other than 0 or 1, a party index
//! not below the party count).
//!
//! **Invariant:** `decode_state(abi, &encode_state(abi, v)?) == Ok(v)` for
//! every well-typed `v`, and `encode_state` is injective.

use sotto_circuits::Program;
use sotto_contracts::abi::Abi;
use thiserror::Error;

pub use sotto_contracts::abi::{Budgets, Value, ValueType};

use super::error::LoadError;

/// Version byte that opens every [`encode_state`] output.
pub const STATE_ENCODING_VERSION: u8 = 1;

/// One field of the contract's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAbi {
    /// The field's type.
    pub ty: ValueType,
    /// Whether the field is private. Private fields are not reachable through
    /// `field_get`/`field_set`: the public part never sees them.
    pub private: bool,
}

/// One contract function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionAbi {
    /// The function's name: the module exports it as `call.NAME` (and
    /// `witness.NAME` if it touches private values).
    pub name: String,
    /// Types of the function's *public* arguments, in order; `arg_get(i)`
    /// reads the `i`-th. Private parameters never reach the public part: the
    /// witness part reads them through `private_get`.
    pub args: Vec<ValueType>,
    /// Number of public inputs of the function's constraint program, the
    /// bound for `public_input`'s index (0 if it has no program).
    pub public_inputs: u32,
}

/// What the sandbox knows about a contract: parties, fields, functions and
/// budgets. Indices in host calls refer to these lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleAbi {
    /// Number of parties; a party index is valid iff it is below this.
    pub parties: u32,
    /// The fields, in ABI order.
    pub fields: Vec<FieldAbi>,
    /// The functions. Names are unique.
    pub functions: Vec<FunctionAbi>,
    /// The per-contract budgets.
    pub budgets: Budgets,
}

impl ModuleAbi {
    /// The function called `name`, with its index.
    pub fn function(&self, name: &str) -> Option<(usize, &FunctionAbi)> {
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }

    /// The sandbox's view of a contract whose ABI is `abi` and whose
    /// constraint programs are `programs` (the `sotto.abi` and
    /// `sotto.programs` sections): one party count; per field its type and
    /// whether it is private (has an owner); per function its public
    /// argument types ([`Function::public_arg_types`]: the public
    /// parameters, then one per reveal) and the public-input count of its
    /// program (0 without a circuit); the budgets.
    ///
    /// Fails with [`LoadError::InvalidAbi`] if a circuit names a program
    /// that `programs` lacks, or if a count does not fit a `u32`. An
    /// [`Artifact`](sotto_contracts::Artifact) has already been checked for
    /// both, so for its ABI and programs this cannot fail.
    ///
    /// [`Function::public_arg_types`]: sotto_contracts::abi::Function::public_arg_types
    pub fn from_contract(abi: &Abi, programs: &[Program]) -> Result<Self, LoadError> {
        let invalid = |reason: String| LoadError::InvalidAbi { reason };
        let parties = u32::try_from(abi.parties.len())
            .map_err(|_| invalid(format!("{} parties", abi.parties.len())))?;
        let fields = abi
            .fields
            .iter()
            .map(|f| FieldAbi {
                ty: f.ty,
                private: f.owner.is_some(),
            })
            .collect();
        let functions = abi
            .functions
            .iter()
            .map(|f| {
                let public_inputs = match &f.circuit {
                    None => 0,
                    Some(c) => {
                        let program = usize::try_from(c.program)
                            .ok()
                            .and_then(|i| programs.get(i))
                            .ok_or_else(|| {
                                invalid(format!(
                                    "function `{}` names program {}, but there are {}",
                                    f.name,
                                    c.program,
                                    programs.len()
                                ))
                            })?;
                        let count = program.publics().len();
                        u32::try_from(count).map_err(|_| {
                            invalid(format!("function `{}` has {count} public inputs", f.name))
                        })?
                    }
                };
                Ok(FunctionAbi {
                    name: f.name.clone(),
                    args: f.public_arg_types().collect(),
                    public_inputs,
                })
            })
            .collect::<Result<_, LoadError>>()?;
        Ok(ModuleAbi {
            parties,
            fields,
            functions,
            budgets: abi.budgets,
        })
    }

    /// Types of the public fields, in ABI order: the layout of a state.
    pub fn public_field_types(&self) -> impl Iterator<Item = ValueType> + '_ {
        self.fields.iter().filter(|f| !f.private).map(|f| f.ty)
    }
}

/// Why a list of field values does not fit a [`ModuleAbi`], or bytes are not
/// a canonical state encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StateError {
    /// The number of values differs from the number of public fields.
    #[error("expected {expected} public field values, got {found}")]
    FieldCount {
        /// Public fields in the ABI.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A value's type differs from its field's type.
    #[error("public field #{position} should be {expected:?}, got {found:?}")]
    FieldType {
        /// Position among the public fields.
        position: usize,
        /// The ABI's type.
        expected: ValueType,
        /// The value's type.
        found: ValueType,
    },
    /// A party value is not below the party count.
    #[error("public field #{position} holds party {party}, but there are {parties} parties")]
    PartyOutOfRange {
        /// Position among the public fields.
        position: usize,
        /// The party index found.
        party: u32,
        /// The party count.
        parties: u32,
    },
    /// Decoding: the first byte is not [`STATE_ENCODING_VERSION`].
    #[error("unknown state encoding version {0}")]
    UnknownVersion(u8),
    /// Decoding: the input is shorter or longer than the ABI's layout.
    #[error("state encoding should be {expected} bytes, got {found}")]
    Length {
        /// Length the ABI implies.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// Decoding: a bool byte other than 0 or 1.
    #[error("public field #{position} holds bool byte {byte:#04x}")]
    InvalidBool {
        /// Position among the public fields.
        position: usize,
        /// The byte found.
        byte: u8,
    },
}

/// Encoded width of a value of type `ty`.
fn width(ty: ValueType) -> usize {
    match ty {
        ValueType::U64 => 8,
        ValueType::Bool => 1,
        ValueType::Party => 4,
        ValueType::Bytes32 => 32,
    }
}

/// Checks that `values` are the public fields of `abi`, well-typed.
pub(crate) fn check_public_fields(abi: &ModuleAbi, values: &[Value]) -> Result<(), StateError> {
    let types: Vec<ValueType> = abi.public_field_types().collect();
    if types.len() != values.len() {
        return Err(StateError::FieldCount {
            expected: types.len(),
            found: values.len(),
        });
    }
    for (position, (ty, value)) in types.iter().zip(values).enumerate() {
        if value.value_type() != *ty {
            return Err(StateError::FieldType {
                position,
                expected: *ty,
                found: value.value_type(),
            });
        }
        if let Value::Party(party) = value
            && *party >= abi.parties
        {
            return Err(StateError::PartyOutOfRange {
                position,
                party: *party,
                parties: abi.parties,
            });
        }
    }
    Ok(())
}

/// Encodes the public field values `values` (public fields of `abi`, in ABI
/// order) canonically; see the module docs for the layout.
pub fn encode_state(abi: &ModuleAbi, values: &[Value]) -> Result<Vec<u8>, StateError> {
    check_public_fields(abi, values)?;
    let len = 1 + abi.public_field_types().map(width).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.push(STATE_ENCODING_VERSION);
    for value in values {
        match value {
            Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Bool(b) => out.push(u8::from(*b)),
            Value::Party(p) => out.extend_from_slice(&p.to_le_bytes()),
            Value::Bytes32(b) => out.extend_from_slice(b),
        }
    }
    debug_assert_eq!(out.len(), len, "encoded length must match the ABI layout");
    Ok(out)
}

/// Decodes a canonical state encoding; rejects every non-canonical input.
pub fn decode_state(abi: &ModuleAbi, bytes: &[u8]) -> Result<Vec<Value>, StateError> {
    let expected = 1 + abi.public_field_types().map(width).sum::<usize>();
    let Some((&version, mut rest)) = bytes.split_first() else {
        return Err(StateError::Length { expected, found: 0 });
    };
    if version != STATE_ENCODING_VERSION {
        return Err(StateError::UnknownVersion(version));
    }
    if bytes.len() != expected {
        return Err(StateError::Length {
            expected,
            found: bytes.len(),
        });
    }
    let mut values = Vec::new();
    for (position, ty) in abi.public_field_types().enumerate() {
        // The length check above guarantees each split succeeds.
        let (head, tail) = rest.split_at(width(ty));
        rest = tail;
        let value = match ty {
            ValueType::U64 => Value::U64(u64::from_le_bytes(to_array(head))),
            ValueType::Bool => match head.first() {
                Some(0) => Value::Bool(false),
                Some(1) => Value::Bool(true),
                other => {
                    return Err(StateError::InvalidBool {
                        position,
                        byte: other.copied().unwrap_or_default(),
                    });
                }
            },
            ValueType::Party => Value::Party(u32::from_le_bytes(to_array(head))),
            ValueType::Bytes32 => Value::Bytes32(to_array(head)),
        };
        values.push(value);
    }
    check_public_fields(abi, &values)?;
    Ok(values)
}

/// Copies a slice whose length the caller has checked into an array.
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    debug_assert_eq!(bytes.len(), N, "caller checks the width");
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi() -> ModuleAbi {
        ModuleAbi {
            parties: 2,
            fields: vec![
                FieldAbi {
                    ty: ValueType::U64,
                    private: false,
                },
                FieldAbi {
                    ty: ValueType::Bool,
                    private: false,
                },
                FieldAbi {
                    ty: ValueType::U64,
                    private: true,
                },
                FieldAbi {
                    ty: ValueType::Party,
                    private: false,
                },
                FieldAbi {
                    ty: ValueType::Bytes32,
                    private: false,
                },
            ],
            functions: vec![],
            budgets: Budgets {
                fuel_per_call: 1000,
                memory_pages: 1,
            },
        }
    }

    #[test]
    fn state_round_trips_and_is_golden() {
        let values = vec![
            Value::U64(0x0102),
            Value::Bool(true),
            Value::Party(1),
            Value::Bytes32([0xab; 32]),
        ];
        let bytes = encode_state(&abi(), &values).unwrap();
        let mut golden = vec![1, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0];
        golden.extend_from_slice(&[0xab; 32]);
        assert_eq!(bytes, golden);
        assert_eq!(decode_state(&abi(), &bytes).unwrap(), values);
    }

    #[test]
    fn decode_rejects_non_canonical() {
        let values = vec![
            Value::U64(5),
            Value::Bool(false),
            Value::Party(0),
            Value::Bytes32([0; 32]),
        ];
        let good = encode_state(&abi(), &values).unwrap();
        let mut bad_bool = good.clone();
        bad_bool[9] = 7;
        assert_eq!(
            decode_state(&abi(), &bad_bool),
            Err(StateError::InvalidBool {
                position: 1,
                byte: 7
            })
        );
        let mut bad_party = good.clone();
        bad_party[10] = 2;
        assert!(matches!(
            decode_state(&abi(), &bad_party),
            Err(StateError::PartyOutOfRange { party: 2, .. })
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            decode_state(&abi(), &trailing),
            Err(StateError::Length { .. })
        ));
        let mut version = good;
        version[0] = 2;
        assert_eq!(
            decode_state(&abi(), &version),
            Err(StateError::UnknownVersion(2))
        );
        assert!(matches!(
            decode_state(&abi(), &[]),
            Err(StateError::Length { found: 0, .. })
        ));
    }

    #[test]
    fn encode_rejects_ill_typed() {
        assert!(matches!(
            encode_state(&abi(), &[Value::U64(1)]),
            Err(StateError::FieldCount {
                expected: 4,
                found: 1
            })
        ));
        let values = vec![
            Value::Bool(true),
            Value::Bool(false),
            Value::Party(0),
            Value::Bytes32([0; 32]),
        ];
        assert!(matches!(
            encode_state(&abi(), &values),
            Err(StateError::FieldType { position: 0, .. })
        ));
    }
}
