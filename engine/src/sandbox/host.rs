//! The host side of ABI v1: the `"sotto"` imports and the per-call state they
//! act on.
//!
//! Every import is defined once on the [`Sandbox`](super::Sandbox)'s linker;
//! a call's [`HostState`] lives in its `Store`, so nothing leaks between
//! calls. The module is hostile: every index is checked against the ABI,
//! every pointer and length against the guest memory (in `u64`, so
//! `ptr + len` cannot wrap), every `bool` against `{0, 1}` and every party
//! against the party count. A violation returns a [`CallError`] as the
//! wasmtime error, which traps the guest and reaches the caller unchanged.
//!
//! **Invariant:** the sum of the live allocation never changes: `transfer`
//! is the only import that touches it, and it moves value without creating
//! or destroying any.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use wasmparser::ValType;
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

use super::abi::{ModuleAbi, Value, ValueType};
use super::error::{CallError, HostCallError, HostCallReason};
use super::fuel;

/// The WASM page size, in bytes.
pub(crate) const PAGE_BYTES: u64 = 65_536;

/// The most elements a module's table may hold, initially or after growth.
/// A constant of ABI v1, not a node setting: a node-dependent limit would
/// make the same call succeed on one node and fail on another.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000;

/// Longest `abort` reason, in bytes.
pub const MAX_ABORT_REASON: u32 = 256;

/// The host module name every import must come from.
pub(crate) const HOST_MODULE: &str = "sotto";

/// One row of the ABI's import table.
pub(crate) struct ImportSpec {
    /// Import name in module `"sotto"`.
    pub(crate) name: &'static str,
    /// Parameter types.
    pub(crate) params: &'static [ValType],
    /// Result types.
    pub(crate) results: &'static [ValType],
    /// Whether an argument is a guest-memory pointer (then `memory` must be
    /// exported).
    pub(crate) takes_pointer: bool,
}

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// The imports of docs/abi.md, in the order of its tables. Load-time checks
/// and the linker both follow this table; a test checks they agree.
pub(crate) const IMPORTS: &[ImportSpec] = &[
    spec("field_get", &[I32], &[I64], false),
    spec("field_set", &[I32, I64], &[], false),
    spec("field_get_bytes", &[I32, I32], &[], true),
    spec("field_set_bytes", &[I32, I32], &[], true),
    spec("arg_get", &[I32], &[I64], false),
    spec("arg_get_bytes", &[I32, I32], &[], true),
    spec("balance", &[I32], &[I64], false),
    spec("transfer", &[I32, I32, I64], &[], false),
    spec("now", &[], &[I64], false),
    spec("hash", &[I32, I32, I32, I32], &[], true),
    spec("await_party", &[I32], &[], false),
    spec("silent_transfer", &[I32, I32, I64], &[], false),
    spec("finish", &[], &[], false),
    spec("abort", &[I32, I32], &[], true),
    spec("public_input", &[I32, I64], &[], false),
    spec("private_get", &[I32], &[I64], false),
    spec("private_set", &[I32, I64], &[], false),
];

const fn spec(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
    takes_pointer: bool,
) -> ImportSpec {
    ImportSpec {
        name,
        params,
        results,
        takes_pointer,
    }
}

/// A `silent_transfer` recorded during the call, applied to the signed
/// allocation when the call returns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SilentTransfer {
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) amount: u64,
}

/// Everything one call can see and change. Lives in the call's `Store`.
pub(crate) struct HostState {
    pub(crate) abi: Arc<ModuleAbi>,
    /// Index of the called function in `abi.functions`.
    pub(crate) function: usize,
    /// All fields in ABI order; `None` for private fields.
    pub(crate) fields: Vec<Option<Value>>,
    pub(crate) args: Vec<Value>,
    pub(crate) live: Vec<u64>,
    pub(crate) silent: Vec<SilentTransfer>,
    pub(crate) now: u64,
    pub(crate) awaited: Option<u32>,
    pub(crate) finished: bool,
    pub(crate) public_inputs: Vec<u64>,
    /// `Some` only in witness mode.
    pub(crate) private: Option<Vec<u64>>,
    pub(crate) fuel_budget: u64,
    pub(crate) limits: Limits,
}

/// The per-call memory and table caps that the pooling allocator's
/// node-wide slot sizes do not express.
pub(crate) struct Limits {
    pub(crate) memory_pages: u32,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let budget = u64::from(self.memory_pages) * PAGE_BYTES;
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > budget {
            // Trap rather than let `memory.grow` return -1: the budget is part
            // of the contract, so exceeding it is the contract's fault, and a
            // typed error is easier for the counterparty to cite.
            return Err(wasmtime::Error::new(CallError::OutOfMemory {
                requested_pages: desired.div_ceil(PAGE_BYTES),
                budget_pages: self.memory_pages,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(CallError::TableLimit {
                requested: desired,
                limit: MAX_TABLE_ELEMENTS,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

type Ctx<'a> = Caller<'a, HostState>;
type HostResult<T> = wasmtime::Result<T>;

/// The error that traps the guest for a bad argument to `import`.
fn bad(
    import: &'static str,
    argument: Option<&'static str>,
    reason: HostCallReason,
) -> wasmtime::Error {
    wasmtime::Error::new(CallError::HostCall(HostCallError {
        import,
        argument,
        reason,
    }))
}

/// A guest `i32` read as the unsigned index or address it denotes.
fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

/// A guest `i64` read as the `u64` bit pattern it carries.
fn bits(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

/// A `u64` handed back to the guest as an `i64` bit pattern.
fn to_guest(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// Takes `cost` fuel for a host call, trapping with `OutOfFuel` if short.
/// Host work is charged so that a contract cannot do unbounded work per
/// unit of fuel by hashing large buffers.
fn charge(caller: &mut Ctx<'_>, cost: u64) -> HostResult<()> {
    let fuel = caller.get_fuel()?;
    match fuel.checked_sub(cost) {
        Some(left) => caller.set_fuel(left),
        None => {
            caller.set_fuel(0)?;
            Err(wasmtime::Error::new(CallError::OutOfFuel {
                budget: caller.data().fuel_budget,
            }))
        }
    }
}

/// Checks `index < count`.
fn check_index(
    import: &'static str,
    argument: &'static str,
    index: i32,
    count: usize,
) -> HostResult<usize> {
    let index = unsigned(index);
    let i = usize::try_from(index).unwrap_or(usize::MAX);
    if i >= count {
        return Err(bad(
            import,
            Some(argument),
            HostCallReason::IndexOutOfRange {
                index,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            },
        ));
    }
    Ok(i)
}

fn check_party(
    caller: &Ctx<'_>,
    import: &'static str,
    argument: &'static str,
    party: i32,
) -> HostResult<usize> {
    let parties = usize::try_from(caller.data().abi.parties).unwrap_or(usize::MAX);
    check_index(import, argument, party, parties)
}

/// The public field `field`, checked.
fn public_field(
    caller: &Ctx<'_>,
    import: &'static str,
    field: i32,
) -> HostResult<(usize, ValueType)> {
    let state = caller.data();
    let i = check_index(import, "field", field, state.abi.fields.len())?;
    let abi = &state.abi.fields[i];
    if abi.private {
        return Err(bad(
            import,
            Some("field"),
            HostCallReason::PrivateField {
                field: unsigned(field),
            },
        ));
    }
    Ok((i, abi.ty))
}

/// A `u64`/`bool`/`party` value as it crosses the boundary.
fn scalar_bits(import: &'static str, argument: &'static str, value: Value) -> HostResult<u64> {
    match value {
        Value::U64(v) => Ok(v),
        Value::Bool(b) => Ok(u64::from(b)),
        Value::Party(p) => Ok(u64::from(p)),
        Value::Bytes32(_) => Err(bad(
            import,
            Some(argument),
            HostCallReason::WrongType {
                found: ValueType::Bytes32,
            },
        )),
    }
}

/// Reads a scalar of type `ty` from its `i64` bit pattern, checking bools
/// and parties.
fn scalar_value(
    caller: &Ctx<'_>,
    import: &'static str,
    ty: ValueType,
    raw: i64,
) -> HostResult<Value> {
    let raw = bits(raw);
    match ty {
        ValueType::U64 => Ok(Value::U64(raw)),
        ValueType::Bool => match raw {
            0 => Ok(Value::Bool(false)),
            1 => Ok(Value::Bool(true)),
            _ => Err(bad(
                import,
                Some("value"),
                HostCallReason::InvalidBool { value: raw },
            )),
        },
        ValueType::Party => {
            let parties = caller.data().abi.parties;
            match u32::try_from(raw) {
                Ok(p) if p < parties => Ok(Value::Party(p)),
                _ => Err(bad(
                    import,
                    Some("value"),
                    HostCallReason::InvalidParty {
                        value: raw,
                        parties,
                    },
                )),
            }
        }
        ValueType::Bytes32 => Err(bad(
            import,
            Some("field"),
            HostCallReason::WrongType { found: ty },
        )),
    }
}

/// The exported memory, or a typed error naming `import`.
fn memory(caller: &mut Ctx<'_>, import: &'static str) -> HostResult<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(bad(import, None, HostCallReason::NoMemory)),
    }
}

/// The byte range `ptr..ptr + len` of the guest memory, checked.
fn guest_range(
    caller: &mut Ctx<'_>,
    import: &'static str,
    argument: &'static str,
    ptr: i32,
    len: u64,
) -> HostResult<(Memory, std::ops::Range<usize>)> {
    let memory = memory(caller, import)?;
    let size = u64::try_from(memory.data_size(&*caller)).unwrap_or(u64::MAX);
    let start = u64::from(unsigned(ptr));
    // Both terms are below 2^33, so the sum cannot wrap.
    let end = start + len;
    if end > size {
        return Err(bad(
            import,
            Some(argument),
            HostCallReason::OutOfBounds {
                ptr: unsigned(ptr),
                len,
                memory_bytes: size,
            },
        ));
    }
    // `end <= size`, and `size` came from a `usize`.
    let range =
        usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(usize::MAX);
    Ok((memory, range))
}

fn read_guest(
    caller: &mut Ctx<'_>,
    import: &'static str,
    argument: &'static str,
    ptr: i32,
    len: u64,
) -> HostResult<Vec<u8>> {
    let (memory, range) = guest_range(caller, import, argument, ptr, len)?;
    match memory.data(&*caller).get(range) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(internal("checked guest range not readable")),
    }
}

fn write_guest(
    caller: &mut Ctx<'_>,
    import: &'static str,
    argument: &'static str,
    ptr: i32,
    bytes: &[u8],
) -> HostResult<()> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let (memory, range) = guest_range(caller, import, argument, ptr, len)?;
    match memory.data_mut(&mut *caller).get_mut(range) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => Err(internal("checked guest range not writable")),
    }
}

/// An error that can only mean a bug in the sandbox.
fn internal(what: &'static str) -> wasmtime::Error {
    wasmtime::Error::new(CallError::Internal { what })
}

fn read_32(
    caller: &mut Ctx<'_>,
    import: &'static str,
    argument: &'static str,
    ptr: i32,
) -> HostResult<[u8; 32]> {
    let bytes = read_guest(caller, import, argument, ptr, 32)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Moves `amount` from `from` to `to` in `allocation`, or reports the
/// shortfall. Shared by `transfer` (live) and the signed allocation.
pub(crate) fn move_funds(
    allocation: &mut [u64],
    import: &'static str,
    from: usize,
    to: usize,
    amount: u64,
) -> Result<(), CallError> {
    let balance = allocation[from];
    let Some(left) = balance.checked_sub(amount) else {
        return Err(CallError::InsufficientFunds {
            import,
            party: u32::try_from(from).unwrap_or(u32::MAX),
            balance,
            amount,
        });
    };
    allocation[from] = left;
    // The total fits in a u64 (checked on input) and is conserved, so no
    // single balance can overflow.
    match allocation[to].checked_add(amount) {
        Some(sum) => {
            allocation[to] = sum;
            Ok(())
        }
        None => Err(CallError::Internal {
            what: "allocation overflow despite conserved total",
        }),
    }
}

/// Defines every import of [`IMPORTS`] on `linker`.
pub(crate) fn define_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = HOST_MODULE;

    linker.func_wrap(
        m,
        "field_get",
        |mut c: Ctx<'_>, field: i32| -> HostResult<i64> {
            const NAME: &str = "field_get";
            charge(&mut c, fuel::HOST_CALL)?;
            let (i, _) = public_field(&c, NAME, field)?;
            let value = c.data().fields[i].ok_or_else(|| internal("public field without value"))?;
            scalar_bits(NAME, "field", value).map(to_guest)
        },
    )?;

    linker.func_wrap(
        m,
        "field_set",
        |mut c: Ctx<'_>, field: i32, value: i64| -> HostResult<()> {
            const NAME: &str = "field_set";
            charge(&mut c, fuel::HOST_CALL)?;
            let (i, ty) = public_field(&c, NAME, field)?;
            let value = scalar_value(&c, NAME, ty, value)?;
            c.data_mut().fields[i] = Some(value);
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        "field_get_bytes",
        |mut c: Ctx<'_>, field: i32, out: i32| -> HostResult<()> {
            const NAME: &str = "field_get_bytes";
            charge(&mut c, fuel::HOST_CALL)?;
            let (i, _) = public_field(&c, NAME, field)?;
            let Some(Value::Bytes32(bytes)) = c.data().fields[i] else {
                let found = c.data().fields[i].map_or(ValueType::Bytes32, |v| v.value_type());
                return Err(bad(
                    NAME,
                    Some("field"),
                    HostCallReason::WrongType { found },
                ));
            };
            write_guest(&mut c, NAME, "out", out, &bytes)
        },
    )?;

    linker.func_wrap(
        m,
        "field_set_bytes",
        |mut c: Ctx<'_>, field: i32, ptr: i32| -> HostResult<()> {
            const NAME: &str = "field_set_bytes";
            charge(&mut c, fuel::HOST_CALL)?;
            let (i, ty) = public_field(&c, NAME, field)?;
            if ty != ValueType::Bytes32 {
                return Err(bad(
                    NAME,
                    Some("field"),
                    HostCallReason::WrongType { found: ty },
                ));
            }
            let bytes = read_32(&mut c, NAME, "ptr", ptr)?;
            c.data_mut().fields[i] = Some(Value::Bytes32(bytes));
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        "arg_get",
        |mut c: Ctx<'_>, arg: i32| -> HostResult<i64> {
            const NAME: &str = "arg_get";
            charge(&mut c, fuel::HOST_CALL)?;
            let i = check_index(NAME, "arg", arg, c.data().args.len())?;
            scalar_bits(NAME, "arg", c.data().args[i]).map(to_guest)
        },
    )?;

    linker.func_wrap(
        m,
        "arg_get_bytes",
        |mut c: Ctx<'_>, arg: i32, out: i32| -> HostResult<()> {
            const NAME: &str = "arg_get_bytes";
            charge(&mut c, fuel::HOST_CALL)?;
            let i = check_index(NAME, "arg", arg, c.data().args.len())?;
            let Value::Bytes32(bytes) = c.data().args[i] else {
                let found = c.data().args[i].value_type();
                return Err(bad(NAME, Some("arg"), HostCallReason::WrongType { found }));
            };
            write_guest(&mut c, NAME, "out", out, &bytes)
        },
    )?;

    linker.func_wrap(
        m,
        "balance",
        |mut c: Ctx<'_>, party: i32| -> HostResult<i64> {
            const NAME: &str = "balance";
            charge(&mut c, fuel::HOST_CALL)?;
            let p = check_party(&c, NAME, "party", party)?;
            Ok(to_guest(c.data().live[p]))
        },
    )?;

    linker.func_wrap(
        m,
        "transfer",
        |mut c: Ctx<'_>, from: i32, to: i32, amount: i64| -> HostResult<()> {
            const NAME: &str = "transfer";
            charge(&mut c, fuel::HOST_CALL)?;
            let from = check_party(&c, NAME, "from", from)?;
            let to = check_party(&c, NAME, "to", to)?;
            move_funds(&mut c.data_mut().live, NAME, from, to, bits(amount))
                .map_err(wasmtime::Error::new)
        },
    )?;

    linker.func_wrap(m, "now", |mut c: Ctx<'_>| -> HostResult<i64> {
        charge(&mut c, fuel::HOST_CALL)?;
        Ok(to_guest(c.data().now))
    })?;

    linker.func_wrap(
        m,
        "hash",
        |mut c: Ctx<'_>, kind: i32, ptr: i32, len: i32, out: i32| -> HostResult<()> {
            const NAME: &str = "hash";
            let len = u64::from(unsigned(len));
            charge(&mut c, fuel::HOST_CALL)?;
            // Bounds first, so that a huge `len` is reported as out of
            // bounds rather than as out of fuel; then the per-byte charge.
            let (memory, range) = guest_range(&mut c, NAME, "len", ptr, len)?;
            guest_range(&mut c, NAME, "out", out, 32)?;
            charge(&mut c, len.saturating_mul(fuel::HASH_PER_BYTE))?;
            let digest: [u8; 32] = {
                let Some(input) = memory.data(&c).get(range) else {
                    return Err(internal("checked guest range not readable"));
                };
                match unsigned(kind) {
                    0 => Sha256::digest(input).into(),
                    1 => Keccak256::digest(input).into(),
                    other => {
                        return Err(bad(
                            NAME,
                            Some("kind"),
                            HostCallReason::UnknownHashKind { kind: other },
                        ));
                    }
                }
            };
            write_guest(&mut c, NAME, "out", out, &digest)
        },
    )?;

    linker.func_wrap(
        m,
        "await_party",
        |mut c: Ctx<'_>, party: i32| -> HostResult<()> {
            const NAME: &str = "await_party";
            charge(&mut c, fuel::HOST_CALL)?;
            let p = check_party(&c, NAME, "party", party)?;
            c.data_mut().awaited = Some(u32::try_from(p).unwrap_or(u32::MAX));
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        "silent_transfer",
        |mut c: Ctx<'_>, from: i32, to: i32, amount: i64| -> HostResult<()> {
            const NAME: &str = "silent_transfer";
            charge(&mut c, fuel::HOST_CALL)?;
            check_party(&c, NAME, "from", from)?;
            check_party(&c, NAME, "to", to)?;
            // Applied to the final live allocation when the call returns, as
            // docs/abi.md defines the signed allocation.
            c.data_mut().silent.push(SilentTransfer {
                from: unsigned(from),
                to: unsigned(to),
                amount: bits(amount),
            });
            Ok(())
        },
    )?;

    linker.func_wrap(m, "finish", |mut c: Ctx<'_>| -> HostResult<()> {
        charge(&mut c, fuel::HOST_CALL)?;
        c.data_mut().finished = true;
        Ok(())
    })?;

    linker.func_wrap(
        m,
        "abort",
        |mut c: Ctx<'_>, ptr: i32, len: i32| -> HostResult<()> {
            const NAME: &str = "abort";
            charge(&mut c, fuel::HOST_CALL)?;
            let len = unsigned(len);
            if len > MAX_ABORT_REASON {
                return Err(bad(
                    NAME,
                    Some("len"),
                    HostCallReason::ReasonTooLong {
                        len,
                        max: MAX_ABORT_REASON,
                    },
                ));
            }
            let bytes = read_guest(&mut c, NAME, "ptr", ptr, u64::from(len))?;
            match String::from_utf8(bytes) {
                Ok(reason) => Err(wasmtime::Error::new(CallError::Aborted { reason })),
                Err(_) => Err(bad(NAME, Some("ptr"), HostCallReason::ReasonNotUtf8)),
            }
        },
    )?;

    linker.func_wrap(
        m,
        "public_input",
        |mut c: Ctx<'_>, index: i32, value: i64| -> HostResult<()> {
            const NAME: &str = "public_input";
            charge(&mut c, fuel::HOST_CALL)?;
            let i = check_index(NAME, "index", index, c.data().public_inputs.len())?;
            c.data_mut().public_inputs[i] = bits(value);
            Ok(())
        },
    )?;

    linker.func_wrap(
        m,
        "private_get",
        |mut c: Ctx<'_>, var: i32| -> HostResult<i64> {
            const NAME: &str = "private_get";
            charge(&mut c, fuel::HOST_CALL)?;
            let Some(private) = c.data().private.as_ref() else {
                return Err(bad(NAME, None, HostCallReason::WitnessOnly));
            };
            let i = check_index(NAME, "var", var, private.len())?;
            Ok(to_guest(private[i]))
        },
    )?;

    linker.func_wrap(
        m,
        "private_set",
        |mut c: Ctx<'_>, var: i32, value: i64| -> HostResult<()> {
            const NAME: &str = "private_set";
            charge(&mut c, fuel::HOST_CALL)?;
            let Some(count) = c.data().private.as_ref().map(Vec::len) else {
                return Err(bad(NAME, None, HostCallReason::WitnessOnly));
            };
            let i = check_index(NAME, "var", var, count)?;
            if let Some(private) = c.data_mut().private.as_mut() {
                private[i] = bits(value);
            }
            Ok(())
        },
    )?;

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_funds_conserves_or_refuses() {
        let mut allocation = vec![10, 5];
        move_funds(&mut allocation, "transfer", 0, 1, 7).unwrap();
        assert_eq!(allocation, vec![3, 12]);
        assert_eq!(
            move_funds(&mut allocation, "transfer", 0, 1, 4),
            Err(CallError::InsufficientFunds {
                import: "transfer",
                party: 0,
                balance: 3,
                amount: 4,
            })
        );
        assert_eq!(
            allocation,
            vec![3, 12],
            "a refused transfer changes nothing"
        );
        move_funds(&mut allocation, "transfer", 1, 1, 12).unwrap();
        assert_eq!(allocation, vec![3, 12]);
    }

    #[test]
    fn memory_limit_traps_past_budget() {
        let mut limits = Limits { memory_pages: 2 };
        let page = usize::try_from(PAGE_BYTES).unwrap();
        assert!(limits.memory_growing(page, 2 * page, None).unwrap());
        let error = limits.memory_growing(2 * page, 3 * page, None).unwrap_err();
        assert_eq!(
            error.downcast::<CallError>().unwrap(),
            CallError::OutOfMemory {
                requested_pages: 3,
                budget_pages: 2,
            }
        );
    }

    #[test]
    fn import_table_is_unique_and_scalar() {
        for (i, spec) in IMPORTS.iter().enumerate() {
            assert!(
                IMPORTS[..i].iter().all(|s| s.name != spec.name),
                "{} twice",
                spec.name
            );
            assert!(
                spec.params
                    .iter()
                    .chain(spec.results)
                    .all(|t| matches!(t, ValType::I32 | ValType::I64)),
                "{} uses a type other than i32/i64",
                spec.name
            );
        }
    }
}
