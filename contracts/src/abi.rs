//! The contract ABI: what a compiled module tells its runner, carried in the
//! module's `sotto.abi` custom section.
//!
//! An [`Abi`] names the contract's parties, its state fields (type,
//! visibility, initial value), its functions (caller, parameters, what they
//! reveal, and how the variables of their constraint program map to fields
//! and parameters) and the per-contract budgets. The sandbox
//! (`sotto_engine::sandbox`) reads the indices it needs from it; the update
//! protocol reads the rest.
//!
//! # Encoding (format version 1)
//!
//! Canonical and strict, in the style of `sotto_circuits`' encodings
//! (little-endian fixed-width integers, `u16`-length-prefixed UTF-8 names,
//! `u16` counts):
//!
//! ```text
//! abi      = version:u8(=1) name parties fields functions budgets
//! parties  = count:u16 name*
//! fields   = count:u16 (name type:u8 owner init)*
//! owner    = 0x00 | 0x01 party:u32           (public | private to party)
//! init     = the value in the state encoding of its type (u64: 8 bytes LE,
//!            bool: 1 byte, party: u32 LE, bytes32: 32 bytes)
//! functions= count:u16 (name caller:u32 params reveals circuit)*
//! params   = count:u16 (name type:u8 private:u8)*
//! reveals  = count:u16 (name type:u8 public_input:u16)*
//! circuit  = 0x00 | 0x01 program:u32 count:u16 role*
//! role     = 0x00 param:u16 | 0x01 field:u32 | 0x02 field:u32 | 0x03
//!            (param | old field value | new field value | derived)
//! budgets  = fuel_per_call:u64 memory_pages:u32
//! type     = 0 u64 | 1 bool | 2 bytes32 | 3 party
//! ```
//!
//! [`Abi::decode`] accepts exactly what [`Abi::encode`] produces, and then
//! checks the ABI's own rules ([`Abi::validate`]): unique names, indices in
//! range, private values only of type `u64` or `bool`, and so on. Every
//! refusal is an [`AbiError`]; no input makes it panic.
//!
//! # How a function's values reach the module
//!
//! - The public part `call.NAME` reads the *public* parameters with
//!   `arg_get(i)`, `i` counting public parameters only, followed by one
//!   argument per [`Reveal`]: the value the caller opens. The runner fills
//!   a reveal's argument from the public input the witness part computed for
//!   it ([`Reveal::public_input`]); the proof binds that input to the
//!   commitment.
//! - The witness part `witness.NAME` reads the private variables of the
//!   function's constraint program with `private_get(v)`; [`VarRole`] says
//!   what each is. Inputs ([`VarRole::Param`], [`VarRole::Field`]) are set by
//!   the runner; outputs ([`VarRole::NewField`], [`VarRole::Derived`]) are
//!   written by the witness part with `private_set`.

use sotto_circuits::DecodeError;
use sotto_circuits::codec::{Reader, Writer};
use thiserror::Error;

/// Format version of the ABI encoding.
pub const ABI_FORMAT_VERSION: u8 = 1;
/// Name of the custom section that carries the [`Abi`].
pub const ABI_SECTION: &str = "sotto.abi";
/// Name of the custom section that carries the constraint programs.
pub const PROGRAMS_SECTION: &str = "sotto.programs";
/// Most parties, fields, functions or parameters of one kind.
pub const MAX_ITEMS: usize = 1024;
/// Longest name, in bytes.
pub const MAX_NAME: usize = 255;

/// The type of a field, argument or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// An unsigned 64-bit integer; crosses the WASM boundary as its `i64` bit pattern.
    U64,
    /// A boolean; crosses the boundary as `0` or `1`, nothing else.
    Bool,
    /// 32 opaque bytes; crosses the boundary through guest memory.
    Bytes32,
    /// A party, as its index in the ABI's party list.
    Party,
}

impl ValueType {
    /// The name the language gives the type.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U64 => "u64",
            ValueType::Bool => "bool",
            ValueType::Bytes32 => "bytes32",
            ValueType::Party => "party",
        }
    }

    fn tag(self) -> u8 {
        match self {
            ValueType::U64 => 0,
            ValueType::Bool => 1,
            ValueType::Bytes32 => 2,
            ValueType::Party => 3,
        }
    }

    fn from_tag(tag: u8) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => ValueType::U64,
            1 => ValueType::Bool,
            2 => ValueType::Bytes32,
            3 => ValueType::Party,
            _ => return Err(DecodeError::UnknownTag { what: "type", tag }),
        })
    }

    /// The value every field of this type starts as when the source gives
    /// none (`0`, `false`, 32 zero bytes, the first party).
    pub fn zero(self) -> Value {
        match self {
            ValueType::U64 => Value::U64(0),
            ValueType::Bool => Value::Bool(false),
            ValueType::Bytes32 => Value::Bytes32([0; 32]),
            ValueType::Party => Value::Party(0),
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed value of a field or argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// A `u64` value.
    U64(u64),
    /// A `bool` value.
    Bool(bool),
    /// A `bytes32` value.
    Bytes32([u8; 32]),
    /// A party index; must be below the number of parties.
    Party(u32),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U64(_) => ValueType::U64,
            Value::Bool(_) => ValueType::Bool,
            Value::Bytes32(_) => ValueType::Bytes32,
            Value::Party(_) => ValueType::Party,
        }
    }

    /// The value as the `i64` bit pattern it crosses the WASM boundary as,
    /// or `None` for `bytes32` (which crosses through memory).
    pub fn as_word(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            Value::Bool(b) => Some(u64::from(b)),
            Value::Party(p) => Some(u64::from(p)),
            Value::Bytes32(_) => None,
        }
    }

    /// Appends the value in the state encoding of its type.
    fn encode(&self, w: &mut Writer) {
        match self {
            Value::U64(v) => w.u64(*v),
            Value::Bool(b) => w.u8(u8::from(*b)),
            Value::Party(p) => w.raw(&p.to_le_bytes()),
            Value::Bytes32(b) => w.raw(b),
        }
    }

    fn decode(r: &mut Reader<'_>, ty: ValueType) -> Result<Self, DecodeError> {
        Ok(match ty {
            ValueType::U64 => Value::U64(r.u64("u64 value")?),
            ValueType::Bool => match r.u8("bool value")? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => {
                    return Err(DecodeError::InvalidValue {
                        what: "bool value",
                        value: u64::from(other),
                    });
                }
            },
            ValueType::Party => {
                let mut b = [0u8; 4];
                b.copy_from_slice(r.take(4, "party value")?);
                Value::Party(u32::from_le_bytes(b))
            }
            ValueType::Bytes32 => {
                let mut b = [0u8; 32];
                b.copy_from_slice(r.take(32, "bytes32 value")?);
                Value::Bytes32(b)
            }
        })
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::U64(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Party(p) => write!(f, "party #{p}"),
            Value::Bytes32(b) => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

/// One state field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name in the source.
    pub name: String,
    /// Its type.
    pub ty: ValueType,
    /// `None` if public; `Some(party)` if private to that party (only
    /// `u64` and `bool` fields may be private).
    pub owner: Option<u32>,
    /// The value it starts as when a channel opens. For a private field this
    /// is the default its owner commits to unless the channel's opening says
    /// otherwise.
    pub init: Value,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name in the source.
    pub name: String,
    /// Its type.
    pub ty: ValueType,
    /// Whether only the caller knows it (others get a commitment).
    pub private: bool,
}

/// A `reveal(x)` in a function: the caller opens a private value. It reaches
/// the public part as an extra argument after the public parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    /// The name of the value revealed, as written in `reveal(...)`.
    pub name: String,
    /// Its type (`u64` or `bool`).
    pub ty: ValueType,
    /// The public input of the function's constraint program that holds the
    /// revealed value (the program proves it equals the committed one).
    pub public_input: u16,
}

/// What a variable of a function's constraint program stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarRole {
    /// A private parameter (its index among *all* the function's
    /// parameters). The caller commits to it in the update.
    Param(u16),
    /// The current value of a private field, as committed in the state the
    /// call starts from (already proven in range when it was written).
    Field(u32),
    /// The new value of a private field: its commitment replaces the field's
    /// in the new state.
    NewField(u32),
    /// An intermediate value (a product's factor or result); the caller
    /// commits to it in the update.
    Derived,
}

impl VarRole {
    /// Whether the runner supplies the value (as opposed to the witness part
    /// computing it).
    pub fn is_input(self) -> bool {
        matches!(self, VarRole::Param(_) | VarRole::Field(_))
    }
}

/// A function's constraint program, by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circuit {
    /// Index of the program in the `sotto.programs` section.
    pub program: u32,
    /// One role per variable of the program, in the program's order.
    pub vars: Vec<VarRole>,
}

/// One contract function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its name: the module exports `call.NAME` (and `witness.NAME` if it
    /// has a circuit).
    pub name: String,
    /// The party allowed to call it (index into [`Abi::parties`]).
    pub caller: u32,
    /// All parameters, public and private, in source order.
    pub params: Vec<Param>,
    /// The values the function reveals, in the order it reveals them.
    pub reveals: Vec<Reveal>,
    /// Its constraint program, if it touches private values.
    pub circuit: Option<Circuit>,
}

impl Function {
    /// `NAME(p: u64, q: private bool)`, as in the source.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                let private = if p.private { "private " } else { "" };
                format!("{}: {private}{}", p.name, p.ty)
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }

    /// The types of the public part's arguments: the public parameters, then
    /// one per reveal.
    pub fn public_arg_types(&self) -> impl Iterator<Item = ValueType> + '_ {
        self.params
            .iter()
            .filter(|p| !p.private)
            .map(|p| p.ty)
            .chain(self.reveals.iter().map(|r| r.ty))
    }
}

/// Per-contract budgets: what one call may consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Fuel for one call (one unit per WASM operator, plus host-call costs;
    /// see docs/abi.md).
    pub fuel_per_call: u64,
    /// Maximum linear-memory size, in 64 KiB WASM pages.
    pub memory_pages: u32,
}

/// A contract's ABI. See the module docs for its encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abi {
    /// The contract's name (`contract NAME;`).
    pub name: String,
    /// The parties, in declaration order.
    pub parties: Vec<String>,
    /// The state fields, in declaration order.
    pub fields: Vec<Field>,
    /// The functions, in declaration order.
    pub functions: Vec<Function>,
    /// The per-contract budgets.
    pub budgets: Budgets,
}

/// An ABI that breaks one of its rules, or bytes that are not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AbiError {
    /// The bytes are not a canonical ABI encoding.
    #[error("the ABI section does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// Two items of one namespace share a name.
    #[error("`{name}` is declared twice in the ABI")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A name that is empty or longer than [`MAX_NAME`] bytes.
    #[error("an ABI name of {len} bytes (1 to {max} allowed)")]
    BadName {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too many items of one kind.
    #[error("the ABI has {count} {what}, at most {max} allowed")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Fewer than two parties.
    #[error("a contract needs at least two parties, the ABI has {count}")]
    TooFewParties {
        /// How many it has.
        count: usize,
    },
    /// A party index at or above the number of parties.
    #[error("{what} names party #{party}, but there are {parties} parties")]
    UnknownParty {
        /// Where the index was found.
        what: String,
        /// The index.
        party: u32,
        /// How many parties there are.
        parties: usize,
    },
    /// A private value of a type that cannot be committed to.
    #[error("{what} is private but of type {ty}: only u64 and bool may be private")]
    PrivateType {
        /// The field or parameter.
        what: String,
        /// Its type.
        ty: ValueType,
    },
    /// A field's initial value does not have the field's type.
    #[error("field `{field}` is {ty} but starts as a {found}")]
    InitType {
        /// The field.
        field: String,
        /// Its type.
        ty: ValueType,
        /// The initial value's type.
        found: ValueType,
    },
    /// A circuit variable that names a parameter or field that is not a
    /// private one of this function or contract.
    #[error("function `{function}`: circuit variable {var} is {role:?}, which is not private")]
    BadRole {
        /// The function.
        function: String,
        /// The variable index.
        var: usize,
        /// Its role.
        role: VarRole,
    },
    /// A budget of zero.
    #[error("the ABI's {what} budget is zero")]
    ZeroBudget {
        /// Which budget.
        what: &'static str,
    },
}

impl Abi {
    /// The canonical encoding (see the module docs). The ABI must be valid
    /// ([`Abi::validate`]): names and counts within their limits.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(ABI_FORMAT_VERSION);
        w.str(&self.name);
        w.u16(count16(self.parties.len()));
        for p in &self.parties {
            w.str(p);
        }
        w.u16(count16(self.fields.len()));
        for f in &self.fields {
            w.str(&f.name);
            w.u8(f.ty.tag());
            match f.owner {
                None => w.u8(0),
                Some(p) => {
                    w.u8(1);
                    w.raw(&p.to_le_bytes());
                }
            }
            f.init.encode(&mut w);
        }
        w.u16(count16(self.functions.len()));
        for f in &self.functions {
            w.str(&f.name);
            w.raw(&f.caller.to_le_bytes());
            w.u16(count16(f.params.len()));
            for p in &f.params {
                w.str(&p.name);
                w.u8(p.ty.tag());
                w.u8(u8::from(p.private));
            }
            w.u16(count16(f.reveals.len()));
            for r in &f.reveals {
                w.str(&r.name);
                w.u8(r.ty.tag());
                w.u16(r.public_input);
            }
            match &f.circuit {
                None => w.u8(0),
                Some(c) => {
                    w.u8(1);
                    w.raw(&c.program.to_le_bytes());
                    w.u16(count16(c.vars.len()));
                    for role in &c.vars {
                        match *role {
                            VarRole::Param(i) => {
                                w.u8(0);
                                w.u16(i);
                            }
                            VarRole::Field(i) => {
                                w.u8(1);
                                w.raw(&i.to_le_bytes());
                            }
                            VarRole::NewField(i) => {
                                w.u8(2);
                                w.raw(&i.to_le_bytes());
                            }
                            VarRole::Derived => w.u8(3),
                        }
                    }
                }
            }
        }
        w.u64(self.budgets.fuel_per_call);
        w.raw(&self.budgets.memory_pages.to_le_bytes());
        w.bytes
    }

    /// Decodes and validates an ABI; accepts exactly the output of
    /// [`Abi::encode`] for a valid ABI.
    pub fn decode(bytes: &[u8]) -> Result<Self, AbiError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("ABI version")?;
        if version != ABI_FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "ABI",
                version,
                supported: ABI_FORMAT_VERSION,
            }
            .into());
        }
        let name = r.str("contract name")?;
        let parties = (0..r.count("parties", MAX_ITEMS)?)
            .map(|_| r.str("party name"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut fields = Vec::new();
        for _ in 0..r.count("fields", MAX_ITEMS)? {
            let name = r.str("field name")?;
            let ty = ValueType::from_tag(r.u8("field type")?)?;
            let owner = match r.u8("field visibility")? {
                0 => None,
                1 => Some(u32_le(&mut r, "field owner")?),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "field visibility",
                        tag,
                    }
                    .into());
                }
            };
            let init = Value::decode(&mut r, ty)?;
            fields.push(Field {
                name,
                ty,
                owner,
                init,
            });
        }
        let mut functions = Vec::new();
        for _ in 0..r.count("functions", MAX_ITEMS)? {
            let name = r.str("function name")?;
            let caller = u32_le(&mut r, "caller")?;
            let mut params = Vec::new();
            for _ in 0..r.count("parameters", MAX_ITEMS)? {
                let name = r.str("parameter name")?;
                let ty = ValueType::from_tag(r.u8("parameter type")?)?;
                let private = flag(&mut r, "parameter privacy")?;
                params.push(Param { name, ty, private });
            }
            let mut reveals = Vec::new();
            for _ in 0..r.count("reveals", MAX_ITEMS)? {
                let name = r.str("revealed name")?;
                let ty = ValueType::from_tag(r.u8("revealed type")?)?;
                let public_input = r.u16("reveal public input")?;
                reveals.push(Reveal {
                    name,
                    ty,
                    public_input,
                });
            }
            let circuit = if flag(&mut r, "circuit flag")? {
                let program = u32_le(&mut r, "program index")?;
                let mut vars = Vec::new();
                for _ in 0..r.count("circuit variables", sotto_circuits::MAX_ITEMS)? {
                    vars.push(match r.u8("variable role")? {
                        0 => VarRole::Param(r.u16("parameter index")?),
                        1 => VarRole::Field(u32_le(&mut r, "field index")?),
                        2 => VarRole::NewField(u32_le(&mut r, "field index")?),
                        3 => VarRole::Derived,
                        tag => {
                            return Err(DecodeError::UnknownTag {
                                what: "variable role",
                                tag,
                            }
                            .into());
                        }
                    });
                }
                Some(Circuit { program, vars })
            } else {
                None
            };
            functions.push(Function {
                name,
                caller,
                params,
                reveals,
                circuit,
            });
        }
        let budgets = Budgets {
            fuel_per_call: r.u64("fuel budget")?,
            memory_pages: u32_le(&mut r, "memory budget")?,
        };
        r.finish("ABI")?;
        let abi = Abi {
            name,
            parties,
            fields,
            functions,
            budgets,
        };
        abi.validate()?;
        Ok(abi)
    }

    /// Checks the ABI's rules: names non-empty, at most [`MAX_NAME`] bytes
    /// and unique (parties, fields and functions share one namespace;
    /// parameters are unique within their function); at least two parties;
    /// every party index in range; private fields and parameters of type
    /// `u64` or `bool`; initial values of the field's type (a party value
    /// naming a party); every circuit role naming a private parameter or
    /// field; budgets non-zero.
    pub fn validate(&self) -> Result<(), AbiError> {
        let parties = self.parties.len();
        for (what, count) in [
            ("parties", parties),
            ("fields", self.fields.len()),
            ("functions", self.functions.len()),
        ] {
            if count > MAX_ITEMS {
                return Err(AbiError::TooMany {
                    what,
                    count,
                    max: MAX_ITEMS,
                });
            }
        }
        if parties < 2 {
            return Err(AbiError::TooFewParties { count: parties });
        }
        let party = |what: &dyn Fn() -> String, p: u32| {
            if usize::try_from(p).is_ok_and(|p| p < parties) {
                Ok(())
            } else {
                Err(AbiError::UnknownParty {
                    what: what(),
                    party: p,
                    parties,
                })
            }
        };
        let private_type = |what: &dyn Fn() -> String, ty: ValueType| {
            if matches!(ty, ValueType::U64 | ValueType::Bool) {
                Ok(())
            } else {
                Err(AbiError::PrivateType { what: what(), ty })
            }
        };
        check_name(&self.name)?;
        let mut global = std::collections::HashSet::new();
        let names = self
            .parties
            .iter()
            .chain(self.fields.iter().map(|f| &f.name))
            .chain(self.functions.iter().map(|f| &f.name));
        for name in names {
            check_name(name)?;
            if !global.insert(name.as_str()) {
                return Err(AbiError::DuplicateName { name: name.clone() });
            }
        }
        for f in &self.fields {
            if f.init.value_type() != f.ty {
                return Err(AbiError::InitType {
                    field: f.name.clone(),
                    ty: f.ty,
                    found: f.init.value_type(),
                });
            }
            if let Value::Party(p) = f.init {
                party(&|| format!("the initial value of field `{}`", f.name), p)?;
            }
            if let Some(owner) = f.owner {
                party(&|| format!("the owner of field `{}`", f.name), owner)?;
                private_type(&|| format!("field `{}`", f.name), f.ty)?;
            }
        }
        for f in &self.functions {
            party(&|| format!("the caller of `{}`", f.name), f.caller)?;
            for (what, count) in [("parameters", f.params.len()), ("reveals", f.reveals.len())] {
                if count > MAX_ITEMS {
                    return Err(AbiError::TooMany {
                        what,
                        count,
                        max: MAX_ITEMS,
                    });
                }
            }
            let mut local = std::collections::HashSet::new();
            for p in &f.params {
                check_name(&p.name)?;
                if !local.insert(p.name.as_str()) {
                    return Err(AbiError::DuplicateName {
                        name: p.name.clone(),
                    });
                }
                if p.private {
                    private_type(&|| format!("parameter `{}` of `{}`", p.name, f.name), p.ty)?;
                }
            }
            for r in &f.reveals {
                check_name(&r.name)?;
                private_type(&|| format!("revealed `{}` in `{}`", r.name, f.name), r.ty)?;
            }
            if let Some(c) = &f.circuit {
                if c.vars.len() > sotto_circuits::MAX_ITEMS {
                    return Err(AbiError::TooMany {
                        what: "circuit variables",
                        count: c.vars.len(),
                        max: sotto_circuits::MAX_ITEMS,
                    });
                }
                for (var, role) in c.vars.iter().enumerate() {
                    let ok = match *role {
                        VarRole::Param(i) => {
                            f.params.get(usize::from(i)).is_some_and(|p| p.private)
                        }
                        VarRole::Field(i) | VarRole::NewField(i) => usize::try_from(i)
                            .ok()
                            .and_then(|i| self.fields.get(i))
                            .is_some_and(|x| x.owner == Some(f.caller)),
                        VarRole::Derived => true,
                    };
                    if !ok {
                        return Err(AbiError::BadRole {
                            function: f.name.clone(),
                            var,
                            role: *role,
                        });
                    }
                }
            }
        }
        if self.budgets.fuel_per_call == 0 {
            return Err(AbiError::ZeroBudget { what: "fuel" });
        }
        if self.budgets.memory_pages == 0 {
            return Err(AbiError::ZeroBudget { what: "memory" });
        }
        Ok(())
    }

    /// The function called `name`, with its index.
    pub fn function(&self, name: &str) -> Option<(usize, &Function)> {
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }

    /// The index of the party called `name`.
    pub fn party(&self, name: &str) -> Option<u32> {
        self.parties
            .iter()
            .position(|p| p == name)
            .and_then(|i| u32::try_from(i).ok())
    }
}

fn check_name(name: &str) -> Result<(), AbiError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(AbiError::BadName {
            len: name.len(),
            max: MAX_NAME,
        });
    }
    Ok(())
}

/// A count for the encoding; [`Abi::validate`] bounds every count far below
/// `u16::MAX`.
fn count16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn u32_le(r: &mut Reader<'_>, what: &'static str) -> Result<u32, DecodeError> {
    let mut b = [0u8; 4];
    b.copy_from_slice(r.take(4, what)?);
    Ok(u32::from_le_bytes(b))
}

fn flag(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError::InvalidValue {
            what,
            value: u64::from(other),
        }),
    }
}
