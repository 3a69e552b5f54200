//! Load-time checks: what a module must be before wasmtime compiles it.
//!
//! The checks run in this order, so that the cheapest refusal comes first
//! and every refusal is typed:
//!
//! 1. size at most [`MAX_MODULE_BYTES`], before reading anything;
//! 2. the 8-byte header: WASM magic, core-module version 1;
//! 3. a structural walk of the sections (this module's own rules: imports
//!    from docs/abi.md only, no start function, no float in types, globals
//!    or locals, at most one memory and one table within their limits,
//!    exports `memory`/`call.NAME`/`witness.NAME` only, constant data
//!    segments inside the initial memory). A section that does not parse
//!    ends the walk early: step 4 then reports it;
//! 4. full validation with wasmparser under [`VALIDATION_FEATURES`]
//!    (reporting truncation separately from other invalidity);
//! 5. validation again without the `floats` feature: since step 3 refused
//!    every float *type*, whatever fails now is a float *instruction*
//!    (or float-typed block), located by its function.
//!
//! **Invariant:** a module that passes [`check_module`] imports only
//! functions of [`IMPORTS`] with their exact signatures, contains no float,
//! and exports only what the ABI names; wasmtime then compiles it under the
//! same feature set (minus floats).

use wasmparser::{
    Chunk, DataKind, ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValType,
    Validator, WasmFeatures,
};

use super::abi::ModuleAbi;
use super::error::{ExportRefusal, FloatSite, ImportRefusal, LoadError};
use super::host::{HOST_MODULE, IMPORTS, MAX_TABLE_ELEMENTS, PAGE_BYTES};

/// Largest module accepted, in bytes (docs/abi.md, "Limits").
pub const MAX_MODULE_BYTES: usize = 1 << 20;

/// The WASM proposals a contract may use: the "lime1"-like core of
/// mutable globals, multi-value, sign extension and `memory.copy`/`fill`.
/// Floats are listed so that the validator accepts them and step 3/5 can
/// refuse them with a location; wasmtime itself runs without them.
/// Everything else (SIMD, threads, reference types and so multiple tables,
/// multi-memory, memory64, GC, exceptions, tail calls, passive segments,
/// saturating float conversions) is off.
pub(crate) const VALIDATION_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::BULK_MEMORY_OPT)
    .union(WasmFeatures::CALL_INDIRECT_OVERLONG);

/// The feature set wasmtime compiles with.
pub(crate) const ENGINE_FEATURES: WasmFeatures =
    VALIDATION_FEATURES.difference(WasmFeatures::FLOATS);

const MAGIC: &[u8; 4] = b"\0asm";
const HEADER_V1: &[u8; 8] = b"\0asm\x01\0\0\0";

/// What the walk learnt that the loader needs afterwards.
#[derive(Debug, Default)]
pub(crate) struct ModuleFacts {
    /// Names of ABI functions with a `witness.NAME` export.
    pub(crate) witness_exports: Vec<String>,
}

/// Runs every load-time check of the module docs on `bytes`.
pub(crate) fn check_module(bytes: &[u8], abi: &ModuleAbi) -> Result<ModuleFacts, LoadError> {
    // Step 1.
    if bytes.len() > MAX_MODULE_BYTES {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            limit: MAX_MODULE_BYTES,
        });
    }
    // Step 2.
    check_header(bytes)?;
    // Step 3.
    let mut walk = Walk::new(abi);
    let walk_result = walk.run(bytes);
    walk_result?;
    // Step 4.
    if let Err(e) = Validator::new_with_features(VALIDATION_FEATURES).validate_all(bytes) {
        if let Some(offset) = truncation(bytes) {
            return Err(LoadError::Truncated { offset });
        }
        return Err(LoadError::Invalid {
            offset: e.offset(),
            message: e.message().to_owned(),
        });
    }
    // A walk stopped by a parse error would have been reported by step 4.
    walk.finish()?;
    // Step 5.
    if let Err(e) = Validator::new_with_features(ENGINE_FEATURES).validate_all(bytes) {
        let offset = e.offset();
        let site = match walk
            .bodies
            .iter()
            .find(|(_, range)| range.contains(&offset))
        {
            Some((function, _)) => FloatSite::Instruction {
                function: *function,
                offset,
            },
            None => FloatSite::Other { offset },
        };
        return Err(LoadError::Float { site });
    }
    Ok(ModuleFacts {
        witness_exports: walk.witness_exports,
    })
}

fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < HEADER_V1.len() {
        return if !bytes.is_empty() && HEADER_V1.starts_with(bytes) {
            Err(LoadError::Truncated {
                offset: bytes.len(),
            })
        } else {
            Err(LoadError::NotWasm)
        };
    }
    if !bytes.starts_with(MAGIC) {
        return Err(LoadError::NotWasm);
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[4..8]);
    let version = u32::from_le_bytes(version);
    if version != 1 {
        return Err(LoadError::UnsupportedVersion { version });
    }
    Ok(())
}

/// Where the module is cut short, if it is: parsing without assuming
/// end-of-input asks for more data before the last byte.
fn truncation(bytes: &[u8]) -> Option<usize> {
    let mut parser = Parser::new(0);
    let mut pos = 0;
    loop {
        let rest = bytes.get(pos..)?;
        match parser.parse(rest, false) {
            Ok(Chunk::NeedMoreData(_)) => return (pos < bytes.len()).then_some(bytes.len()),
            Ok(Chunk::Parsed { consumed, payload }) => {
                pos += consumed;
                if let Payload::End(_) = payload {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

fn has_float(types: &[ValType]) -> bool {
    types
        .iter()
        .any(|t| matches!(t, ValType::F32 | ValType::F64))
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |ts: &[ValType]| {
        ts.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// State of the structural walk (step 3).
struct Walk<'a> {
    abi: &'a ModuleAbi,
    types: Vec<FuncType>,
    /// Type index of every function, imports first.
    func_types: Vec<u32>,
    imported_funcs: u32,
    /// First import that takes a pointer.
    pointer_import: Option<&'static str>,
    memory_initial_bytes: Option<u64>,
    memories: u32,
    tables: u32,
    memory_exported: bool,
    call_exports: Vec<String>,
    witness_exports: Vec<String>,
    /// Byte range of every function body, with its function index.
    bodies: Vec<(u32, std::ops::Range<usize>)>,
    code_seen: u32,
    /// The first refusal found.
    refusal: Option<LoadError>,
}

impl<'a> Walk<'a> {
    fn new(abi: &'a ModuleAbi) -> Self {
        Walk {
            abi,
            types: Vec::new(),
            func_types: Vec::new(),
            imported_funcs: 0,
            pointer_import: None,
            memory_initial_bytes: None,
            memories: 0,
            tables: 0,
            memory_exported: false,
            call_exports: Vec::new(),
            witness_exports: Vec::new(),
            bodies: Vec::new(),
            code_seen: 0,
            refusal: None,
        }
    }

    /// Walks every section; a parse error stops the walk without a refusal
    /// (validation reports it next).
    fn run(&mut self, bytes: &[u8]) -> Result<(), LoadError> {
        for payload in Parser::new(0).parse_all(bytes) {
            let Ok(payload) = payload else {
                return Ok(());
            };
            let parsed = self.payload(payload);
            if let Some(refusal) = self.refusal.take() {
                return Err(refusal);
            }
            if parsed.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Handles one section. The `Result` is a parse error; a refusal is
    /// recorded through [`Walk::refuse`].
    fn payload(&mut self, payload: Payload<'_>) -> wasmparser::Result<()> {
        match payload {
            Payload::TypeSection(reader) => {
                for (index, ty) in (0u32..).zip(reader.into_iter_err_on_gc_types()) {
                    let ty = ty?;
                    if has_float(ty.params()) || has_float(ty.results()) {
                        self.refuse(LoadError::Float {
                            site: FloatSite::Type { index },
                        });
                    }
                    self.types.push(ty);
                }
            }
            Payload::ImportSection(reader) => {
                for (index, import) in (0u32..).zip(reader.into_imports()) {
                    let import = import?;
                    self.import(index, import.module, import.name, import.ty);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    self.func_types.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    self.tables += 1;
                    if table.ty.initial > MAX_TABLE_ELEMENTS {
                        self.refuse(LoadError::TableTooLarge {
                            initial: table.ty.initial,
                            limit: MAX_TABLE_ELEMENTS,
                        });
                    }
                }
                if self.tables > 1 {
                    self.refuse(LoadError::TooManyTables { count: self.tables });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory?;
                    self.memories += 1;
                    let budget = self.abi.budgets.memory_pages;
                    if memory.initial > u64::from(budget) {
                        self.refuse(LoadError::MemoryTooLarge {
                            initial_pages: memory.initial,
                            budget_pages: budget,
                        });
                    }
                    self.memory_initial_bytes = Some(memory.initial.saturating_mul(PAGE_BYTES));
                }
                if self.memories > 1 {
                    self.refuse(LoadError::TooManyMemories {
                        count: self.memories,
                    });
                }
            }
            Payload::GlobalSection(reader) => {
                // Imported globals are refused, so global indices start at 0.
                for (index, global) in (0u32..).zip(reader) {
                    let global = global?;
                    if matches!(global.ty.content_type, ValType::F32 | ValType::F64) {
                        self.refuse(LoadError::Float {
                            site: FloatSite::Global { index },
                        });
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    self.export(export.name, export.kind, export.index);
                }
            }
            Payload::StartSection { func, .. } => {
                self.refuse(LoadError::StartFunction { function: func });
            }
            Payload::DataSection(reader) => {
                for (segment, data) in (0u32..).zip(reader) {
                    let data = data?;
                    let DataKind::Active { offset_expr, .. } = data.kind else {
                        continue;
                    };
                    let mut ops = offset_expr.get_operators_reader();
                    let Operator::I32Const { value } = ops.read()? else {
                        // Non-constant offsets are left to instantiation.
                        continue;
                    };
                    let offset = u64::from(u32::from_ne_bytes(value.to_ne_bytes()));
                    let len = u64::try_from(data.data.len()).unwrap_or(u64::MAX);
                    let memory_bytes = self.memory_initial_bytes.unwrap_or(0);
                    if offset.saturating_add(len) > memory_bytes {
                        self.refuse(LoadError::DataOutOfBounds {
                            segment,
                            offset,
                            len,
                            memory_bytes,
                        });
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let function = self.imported_funcs + self.code_seen;
                self.code_seen += 1;
                self.bodies.push((function, body.range()));
                for local in body.get_locals_reader()? {
                    let (_, ty) = local?;
                    if matches!(ty, ValType::F32 | ValType::F64) {
                        self.refuse(LoadError::Float {
                            site: FloatSite::Local { function },
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn import(&mut self, index: u32, module: &str, name: &str, ty: TypeRef) {
        let refuse = |reason| LoadError::UnknownImport {
            index,
            module: module.to_owned(),
            name: name.to_owned(),
            reason,
        };
        if module != HOST_MODULE {
            return self.refuse(refuse(ImportRefusal::UnknownModule));
        }
        let (TypeRef::Func(type_index) | TypeRef::FuncExact(type_index)) = ty else {
            return self.refuse(refuse(ImportRefusal::NotAFunction));
        };
        self.imported_funcs += 1;
        self.func_types.push(type_index);
        let Some(spec) = IMPORTS.iter().find(|s| s.name == name) else {
            return self.refuse(refuse(ImportRefusal::UnknownName));
        };
        let expected = signature(spec.params, spec.results);
        let found = match self
            .types
            .get(usize::try_from(type_index).unwrap_or(usize::MAX))
        {
            Some(ft) => signature(ft.params(), ft.results()),
            None => format!("type #{type_index} (undefined)"),
        };
        if expected != found {
            return self.refuse(refuse(ImportRefusal::WrongSignature { expected, found }));
        }
        if spec.takes_pointer && self.pointer_import.is_none() {
            self.pointer_import = Some(spec.name);
        }
    }

    fn export(&mut self, name: &str, kind: ExternalKind, index: u32) {
        let refuse = |reason| LoadError::ForbiddenExport {
            name: name.to_owned(),
            reason,
        };
        if name == "memory" {
            if kind == ExternalKind::Memory {
                self.memory_exported = true;
            } else {
                self.refuse(refuse(ExportRefusal::NotAMemory));
            }
            return;
        }
        let (function, witness) = if let Some(f) = name.strip_prefix("call.") {
            (f, false)
        } else if let Some(f) = name.strip_prefix("witness.") {
            (f, true)
        } else {
            return self.refuse(refuse(ExportRefusal::UnknownName));
        };
        if self.abi.function(function).is_none() {
            return self.refuse(refuse(ExportRefusal::NotInAbi));
        }
        let unit = kind == ExternalKind::Func
            && self
                .func_types
                .get(usize::try_from(index).unwrap_or(usize::MAX))
                .and_then(|t| self.types.get(usize::try_from(*t).unwrap_or(usize::MAX)))
                .is_some_and(|ft| ft.params().is_empty() && ft.results().is_empty());
        if !unit {
            return self.refuse(refuse(ExportRefusal::WrongType));
        }
        if witness {
            self.witness_exports.push(function.to_owned());
        } else {
            self.call_exports.push(function.to_owned());
        }
    }

    /// Checks that need the whole module: required exports.
    fn finish(&self) -> Result<(), LoadError> {
        for f in &self.abi.functions {
            if !self.call_exports.contains(&f.name) {
                return Err(LoadError::MissingExport {
                    name: format!("call.{}", f.name),
                });
            }
        }
        if let Some(import) = self.pointer_import
            && !self.memory_exported
        {
            return Err(LoadError::MissingMemoryExport { import });
        }
        Ok(())
    }

    /// Records a refusal; the first one wins, so the error names the
    /// earliest culprit in the module.
    fn refuse(&mut self, error: LoadError) {
        if self.refusal.is_none() {
            self.refusal = Some(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert_eq!(check_header(b""), Err(LoadError::NotWasm));
        assert_eq!(
            check_header(b"\0a"),
            Err(LoadError::Truncated { offset: 2 })
        );
        assert_eq!(
            check_header(b"\0asm\x01\0\0"),
            Err(LoadError::Truncated { offset: 7 })
        );
        assert_eq!(
            check_header(b"\x7fELF\x02\x01\x01\0"),
            Err(LoadError::NotWasm)
        );
        assert_eq!(
            check_header(b"\0asm\x02\0\0\0"),
            Err(LoadError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(check_header(HEADER_V1), Ok(()));
    }

    #[test]
    fn truncation_is_told_from_completeness() {
        // A module with a type section of one `() -> ()` type.
        let module = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0";
        assert_eq!(truncation(module), None);
        assert_eq!(
            truncation(&module[..module.len() - 1]),
            Some(module.len() - 1)
        );
        assert_eq!(truncation(&module[..10]), Some(10));
    }

    #[test]
    fn feature_sets_exclude_nondeterminism() {
        for off in [
            WasmFeatures::SIMD,
            WasmFeatures::RELAXED_SIMD,
            WasmFeatures::THREADS,
            WasmFeatures::SHARED_EVERYTHING_THREADS,
            WasmFeatures::REFERENCE_TYPES,
            WasmFeatures::MULTI_MEMORY,
            WasmFeatures::MEMORY64,
            WasmFeatures::GC,
            WasmFeatures::EXCEPTIONS,
            WasmFeatures::SATURATING_FLOAT_TO_INT,
        ] {
            assert!(!VALIDATION_FEATURES.contains(off), "{off:?} must be off");
        }
        assert!(!ENGINE_FEATURES.contains(WasmFeatures::FLOATS));
    }
}
