//! The sandbox's errors: one enum per concern.
//!
//! [`SandboxError`] for building a [`Sandbox`](super::Sandbox),
//! [`LoadError`] for refusing a module, [`CallError`] for a call that did
//! not return normally (wrapping [`HostCallError`] for a bad import
//! argument and [`InputError`] for a bad [`CallInput`](super::CallInput)),
//! [`CacheError`] for the compiled-module cache and [`EntryRejection`] for
//! a cache entry it refused to trust.
//! Every variant that a module can provoke names the culprit: the import
//! and argument, the function index, the byte offset.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::abi::{StateError, ValueType};

/// Building a [`Sandbox`](super::Sandbox) failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is unusable (a cap of zero, caps whose pool would
    /// not fit the address space).
    #[error("invalid sandbox configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// wasmtime refused the engine configuration or the host functions.
    /// With a valid [`SandboxConfig`](super::SandboxConfig) this is a bug.
    #[error("wasmtime refused the sandbox setup: {reason}")]
    Engine {
        /// wasmtime's message.
        reason: String,
    },
}

/// Where a float was found in a refused module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FloatSite {
    /// In the signature of type `index`.
    Type {
        /// Type index.
        index: u32,
    },
    /// In the type of global `index`.
    Global {
        /// Global index.
        index: u32,
    },
    /// In a local of function `function`.
    Local {
        /// Function index (imports counted first).
        function: u32,
    },
    /// An instruction (or float-typed block) in function `function`.
    Instruction {
        /// Function index (imports counted first).
        function: u32,
        /// Byte offset of the instruction in the module.
        offset: usize,
    },
    /// Elsewhere (outside any function body), at `offset`.
    Other {
        /// Byte offset in the module.
        offset: usize,
    },
}

/// Why an import was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportRefusal {
    /// The module name is not `"sotto"`.
    UnknownModule,
    /// No import of that name in docs/abi.md.
    UnknownName,
    /// Not a function import (memory, table, global or tag).
    NotAFunction,
    /// A known name with another signature.
    WrongSignature {
        /// The ABI's signature.
        expected: String,
        /// The module's signature.
        found: String,
    },
}

/// Why an export was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportRefusal {
    /// Not `memory`, `call.NAME` or `witness.NAME`.
    UnknownName,
    /// `call.NAME`/`witness.NAME` for a NAME not among the ABI's functions.
    NotInAbi,
    /// `call.NAME`/`witness.NAME` that is not a function of type `() -> ()`.
    WrongType,
    /// `memory` that is not a memory.
    NotAMemory,
}

/// A module was refused at load. Nothing of it was compiled or kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The module is larger than [`MAX_MODULE_BYTES`](super::MAX_MODULE_BYTES);
    /// checked before anything else is read.
    #[error("module is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Module size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input does not start with the WASM magic number.
    #[error("not a WebAssembly module")]
    NotWasm,
    /// A WASM binary of another version or a component, not a core module v1.
    #[error("unsupported WebAssembly binary version {version:#x}")]
    UnsupportedVersion {
        /// The version/layer field of the header.
        version: u32,
    },
    /// The module ends in the middle of its header or of a section.
    #[error("module truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes begin.
        offset: usize,
    },
    /// The module fails WebAssembly validation under the sandbox's feature
    /// set (no SIMD, threads, reference types, multi-memory, memory64...).
    #[error("invalid module at byte {offset}: {message}")]
    Invalid {
        /// Byte offset of the problem.
        offset: usize,
        /// The validator's message.
        message: String,
    },
    /// An import that docs/abi.md does not list, or listed with another
    /// signature, or from another module than `"sotto"`.
    #[error("import #{index} `{module}`.`{name}` refused: {reason:?}")]
    UnknownImport {
        /// Import index.
        index: u32,
        /// Module name.
        module: String,
        /// Item name.
        name: String,
        /// Why.
        reason: ImportRefusal,
    },
    /// The module has a start function (it would run at instantiation,
    /// outside any call's accounting).
    #[error("start function {function} refused")]
    StartFunction {
        /// The start function's index.
        function: u32,
    },
    /// The module declares or uses an `f32`/`f64` type or instruction.
    #[error("float refused: {site:?}")]
    Float {
        /// Where.
        site: FloatSite,
    },
    /// More than one memory.
    #[error("{count} memories, at most one allowed")]
    TooManyMemories {
        /// Memories declared.
        count: u32,
    },
    /// More than one table.
    #[error("{count} tables, at most one allowed")]
    TooManyTables {
        /// Tables declared.
        count: u32,
    },
    /// The memory's initial size exceeds the contract's memory budget.
    #[error("memory starts at {initial_pages} pages, the budget is {budget_pages}")]
    MemoryTooLarge {
        /// Initial pages declared.
        initial_pages: u64,
        /// The contract's budget.
        budget_pages: u32,
    },
    /// The table's initial size exceeds [`MAX_TABLE_ELEMENTS`](super::MAX_TABLE_ELEMENTS).
    #[error("table starts at {initial} elements, the limit is {limit}")]
    TableTooLarge {
        /// Initial elements declared.
        initial: u64,
        /// The limit.
        limit: u64,
    },
    /// An active data segment with a constant offset lies outside the
    /// memory's initial size: it would trap at every instantiation.
    #[error(
        "data segment {segment} ({len} bytes at {offset}) exceeds the initial memory of {memory_bytes} bytes"
    )]
    DataOutOfBounds {
        /// Segment index.
        segment: u32,
        /// Constant offset.
        offset: u64,
        /// Segment length.
        len: u64,
        /// Initial memory size in bytes.
        memory_bytes: u64,
    },
    /// An export other than `memory`, `call.NAME`, `witness.NAME` as the ABI
    /// describes them.
    #[error("export `{name}` refused: {reason:?}")]
    ForbiddenExport {
        /// The export's name.
        name: String,
        /// Why.
        reason: ExportRefusal,
    },
    /// An ABI function without its `call.NAME` export.
    #[error("missing export `{name}`")]
    MissingExport {
        /// The missing export name.
        name: String,
    },
    /// The module imports `import`, which takes a pointer, but exports no
    /// `memory`.
    #[error("`{import}` takes a pointer but the module exports no `memory`")]
    MissingMemoryExport {
        /// The first pointer-taking import.
        import: &'static str,
    },
    /// The ABI asks for more than this node allows.
    #[error("the contract's {budget} budget {requested} exceeds this node's cap {cap}")]
    BudgetAboveCap {
        /// `"fuel"` or `"memory pages"`.
        budget: &'static str,
        /// The contract's budget.
        requested: u64,
        /// The node's cap.
        cap: u64,
    },
    /// The [`ModuleAbi`](super::ModuleAbi) itself is unusable (duplicate
    /// function names, no parties, a zero budget).
    #[error("invalid ABI: {reason}")]
    InvalidAbi {
        /// What is wrong.
        reason: String,
    },
    /// wasmtime refused a module that passed the sandbox's own checks: its
    /// runtime data does not fit a pooling-allocator instance slot (for
    /// instance, hundreds of thousands of functions), or the host ran out of
    /// memory. Anything else here is a bug.
    #[error("compilation failed: {reason}")]
    Compile {
        /// wasmtime's message.
        reason: String,
    },
}

/// Why an import argument was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostCallReason {
    /// `ptr..ptr + len` is not inside the guest memory.
    OutOfBounds {
        /// The pointer.
        ptr: u32,
        /// The length.
        len: u64,
        /// Memory size when the call was made.
        memory_bytes: u64,
    },
    /// The import takes a pointer but the module exports no `memory`.
    NoMemory,
    /// A field, argument, party, public-input or private-variable index is
    /// not below its count.
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The count.
        count: u32,
    },
    /// The field is private: the public part cannot touch it.
    PrivateField {
        /// The field index.
        field: u32,
    },
    /// `field_get`/`arg_get`/`field_set` on a `bytes32` field or argument,
    /// or a `*_bytes` import on one that is not `bytes32`.
    WrongType {
        /// The field's or argument's actual type.
        found: ValueType,
    },
    /// A `bool` value other than 0 or 1.
    InvalidBool {
        /// The value.
        value: u64,
    },
    /// A `party` value not below the party count.
    InvalidParty {
        /// The value.
        value: u64,
        /// The party count.
        parties: u32,
    },
    /// `hash` with a kind other than 0 (SHA-256) or 1 (keccak256).
    UnknownHashKind {
        /// The kind.
        kind: u32,
    },
    /// `abort` with a reason longer than 256 bytes.
    ReasonTooLong {
        /// The length.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// `abort` with a reason that is not UTF-8.
    ReasonNotUtf8,
    /// `private_get`/`private_set` outside witness mode.
    WitnessOnly,
    /// `silent_transfer` in a call that did not `await_party`: without an
    /// awaited party the signed and live allocations must be equal.
    SilentWithoutAwait,
}

/// A module passed an invalid argument to an import; the call trapped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{import}` refused argument {argument:?}: {reason:?}")]
pub struct HostCallError {
    /// The import.
    pub import: &'static str,
    /// The argument at fault, when one is.
    pub argument: Option<&'static str>,
    /// Why.
    pub reason: HostCallReason,
}

/// The [`CallInput`](super::CallInput) does not fit the module's ABI: a bug
/// in the caller, not the module's fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// The public field values do not fit the ABI.
    #[error(transparent)]
    Fields(#[from] StateError),
    /// Wrong number of arguments.
    #[error("expected {expected} arguments, got {found}")]
    ArgCount {
        /// The ABI's count.
        expected: usize,
        /// Given.
        found: usize,
    },
    /// An argument of the wrong type or an out-of-range party.
    #[error("argument {index} should be a {expected:?}")]
    ArgType {
        /// Argument index.
        index: usize,
        /// The ABI's type.
        expected: ValueType,
    },
    /// The allocation does not have one entry per party.
    #[error("allocation has {found} entries for {parties} parties")]
    AllocationLength {
        /// The party count.
        parties: u32,
        /// Entries given.
        found: usize,
    },
    /// The allocation's total does not fit in a `u64`.
    #[error("allocation total overflows u64")]
    AllocationOverflow,
}

/// A call did not return normally; nothing it did is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CallError {
    /// The call used up its fuel budget.
    #[error("out of fuel (budget {budget})")]
    OutOfFuel {
        /// The call's fuel budget.
        budget: u64,
    },
    /// `memory.grow` asked for more than the contract's memory budget. The
    /// sandbox traps instead of returning -1 (see the module docs).
    #[error("memory of {requested_pages} pages exceeds the budget of {budget_pages}")]
    OutOfMemory {
        /// Pages the module asked for.
        requested_pages: u64,
        /// The budget.
        budget_pages: u32,
    },
    /// A table grew past [`MAX_TABLE_ELEMENTS`](super::MAX_TABLE_ELEMENTS).
    /// Unreachable under ABI v1's feature set (`table.grow` needs reference
    /// types, which are off); kept so that the limit holds if that changes.
    #[error("table of {requested} elements exceeds the limit of {limit}")]
    TableLimit {
        /// Elements asked for.
        requested: u64,
        /// The limit.
        limit: u64,
    },
    /// The WASM stack exceeded [`WASM_STACK_BYTES`](super::WASM_STACK_BYTES).
    #[error("WASM stack exhausted")]
    StackExhausted,
    /// The contract called `abort` with this reason.
    #[error("aborted: {reason}")]
    Aborted {
        /// The contract's reason (UTF-8, at most 256 bytes).
        reason: String,
    },
    /// A `transfer` (live allocation) or a `silent_transfer` (signed
    /// allocation, applied when the call returns) would overdraw `party`.
    #[error("`{import}` of {amount} from party {party} who has {balance}")]
    InsufficientFunds {
        /// `"transfer"` or `"silent_transfer"`.
        import: &'static str,
        /// The payer.
        party: u32,
        /// The payer's balance at that point.
        balance: u64,
        /// The amount.
        amount: u64,
    },
    /// The module passed an invalid argument to an import.
    #[error(transparent)]
    HostCall(#[from] HostCallError),
    /// Another WASM trap (unreachable, out-of-bounds access, division by
    /// zero...), by wasmtime's name for it.
    #[error("trap: {kind}")]
    Trap {
        /// The trap, e.g. `UnreachableCodeReached`.
        kind: String,
    },
    /// The ABI has no function of that name, or the module has no
    /// `witness.NAME` for a witness-mode call.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// The name asked for (the export name for witness mode).
        name: String,
    },
    /// The input does not fit the ABI.
    #[error("invalid call input: {0}")]
    InvalidInput(#[from] InputError),
    /// The [`LoadedModule`](super::LoadedModule) came from another
    /// [`Sandbox`](super::Sandbox).
    #[error("module was loaded by another sandbox")]
    ForeignModule,
    /// Instantiation failed for a reason other than a trap: typically every
    /// pooling-allocator slot is in use
    /// ([`SandboxConfig::max_concurrent_calls`](super::SandboxConfig::max_concurrent_calls)).
    /// Not the module's fault; retrying later may succeed.
    #[error("instantiation failed: {reason}")]
    Instantiation {
        /// wasmtime's message.
        reason: String,
    },
    /// A broken sandbox invariant. This always represents a bug.
    #[error("sandbox bug: {what}")]
    Internal {
        /// Which invariant.
        what: &'static str,
    },
}

/// The compiled-module cache could not be opened or could not store an
/// entry. Never a reason to refuse a module: the cache only saves
/// compilation time.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The cache path exists but is not a directory.
    #[error("module cache `{}` is not a directory", path.display())]
    NotADirectory {
        /// The path given to [`ModuleCache::open`](super::ModuleCache::open).
        path: PathBuf,
    },
    /// The directory belongs to another user, who could plant native code
    /// in it.
    #[error("module cache `{}` is owned by uid {owner}, not by this node's uid {user}", path.display())]
    NotOwned {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        user: u32,
    },
    /// The directory is writable by its group or by everyone, who could
    /// plant native code in it.
    #[error("module cache `{}` has mode {mode:#o}: writable by group or others", path.display())]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An entry would exceed [`MAX_CACHE_ENTRY_BYTES`](super::MAX_CACHE_ENTRY_BYTES)
    /// and is not written.
    #[error("compiled module of {size} bytes exceeds the cache entry limit of {limit}")]
    EntryTooLarge {
        /// Header plus compiled code.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// wasmtime could not serialize a module it had just compiled: the host
    /// ran out of memory, or a bug.
    #[error("serializing the compiled module failed: {reason}")]
    Serialize {
        /// wasmtime's message.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("module cache: {op} `{}`: {source}", path.display())]
    Io {
        /// What the cache was doing: `"create"`, `"stat"`, `"write"`...
        op: &'static str,
        /// The file or directory it was doing it to.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Why a cache entry was not trusted. The entry is deleted and the module
/// compiled afresh and rewritten: a rejection is never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryRejection {
    /// The entry is a symbolic link, a directory or another special file,
    /// never what this node writes.
    #[error("not a regular file")]
    NotRegularFile,
    /// The entry is not owned by this node's user, or has permission bits
    /// for group or others: not a file this node wrote (it writes `0600`).
    #[error("owned by uid {owner} with mode {mode:#o}, expected this user and 0600")]
    Permissions {
        /// The file's owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
    },
    /// The entry is larger than [`MAX_CACHE_ENTRY_BYTES`](super::MAX_CACHE_ENTRY_BYTES);
    /// not read.
    #[error("{size} bytes, above the entry limit")]
    TooLarge {
        /// File size.
        size: u64,
    },
    /// The entry ends inside its header.
    #[error("truncated: {len} bytes, shorter than the header")]
    Truncated {
        /// File size.
        len: usize,
    },
    /// The entry does not start with the cache's magic bytes.
    #[error("bad magic")]
    BadMagic,
    /// An entry format this build does not read.
    #[error("unsupported entry format version {version}")]
    UnsupportedVersion {
        /// The version in the header.
        version: u32,
    },
    /// The header names another key than the file name: an entry copied or
    /// renamed from elsewhere.
    #[error("the entry belongs to another key")]
    KeyMismatch,
    /// The payload is shorter (truncated write) or longer (trailing bytes)
    /// than the header says.
    #[error("payload is {actual} bytes, the header says {declared}")]
    LengthMismatch {
        /// Length in the header.
        declared: u64,
        /// Bytes after the header.
        actual: u64,
    },
    /// The payload's SHA-256 differs from the header's: corrupted on disk.
    #[error("payload hash mismatch")]
    HashMismatch,
    /// wasmtime refused the verified payload (compiled by another wasmtime
    /// version or configuration, which the key should already exclude).
    #[error("wasmtime refused the compiled code: {reason}")]
    Deserialize {
        /// wasmtime's message.
        reason: String,
    },
    /// The deserialized module could not be linked against the host
    /// imports.
    #[error("the cached module does not link: {reason}")]
    Link {
        /// wasmtime's message.
        reason: String,
    },
    /// Reading the entry failed.
    #[error("read failed: {kind}")]
    Io {
        /// The OS error's kind.
        kind: io::ErrorKind,
    },
}
