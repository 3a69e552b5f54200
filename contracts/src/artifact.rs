//! A built contract: one WASM module whose custom sections carry the ABI and
//! the constraint programs, identified by the SHA-256 of its bytes.
//!
//! [`Artifact::from_bytes`] reads an artifact from anywhere (a file, a
//! counterparty) and checks that its sections are there, decode, and agree
//! with each other. It does not validate the code: the sandbox's loader does
//! that before running anything.
//!
//! # The `sotto.programs` section (format version 1)
//!
//! ```text
//! programs = version:u8(=1) count:u16 (len:u32 program)*
//! ```
//!
//! where each `program` is `sotto_circuits::Program`'s canonical encoding of
//! `len` bytes.

use sha2::{Digest as _, Sha256};
use sotto_circuits::codec::{Reader, Writer};
use sotto_circuits::{DecodeError, Program};
use thiserror::Error;

use crate::abi::{ABI_SECTION, Abi, AbiError, Function, PROGRAMS_SECTION};

/// Format version of the `sotto.programs` section.
pub const PROGRAMS_FORMAT_VERSION: u8 = 1;
/// Most constraint programs in one artifact.
pub const MAX_PROGRAMS: usize = 1024;

/// Why bytes are not a usable artifact.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes are not a WASM module (or its section structure is broken).
    #[error("not a WASM module: {0}")]
    NotWasm(String),
    /// A required custom section is missing.
    #[error("the module has no `{section}` custom section: it was not built by `sotto build`")]
    MissingSection {
        /// The section's name.
        section: &'static str,
    },
    /// A custom section appears more than once.
    #[error("the module has more than one `{section}` custom section")]
    DuplicateSection {
        /// The section's name.
        section: &'static str,
    },
    /// The ABI section is not a valid ABI.
    #[error(transparent)]
    Abi(#[from] AbiError),
    /// The programs section does not decode.
    #[error("the `sotto.programs` section does not decode: {0}")]
    Programs(DecodeError),
    /// The ABI and the programs disagree.
    #[error("function `{function}`: {problem}")]
    Mismatch {
        /// The function.
        function: String,
        /// What disagrees.
        problem: String,
    },
}

/// A built contract. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    bytes: Vec<u8>,
    abi: Abi,
    programs: Vec<Program>,
    id: [u8; 32],
}

impl Artifact {
    /// Reads an artifact, checking its custom sections (see the module docs).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ArtifactError> {
        let mut abi = None;
        let mut programs = None;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            let payload = payload.map_err(|e| ArtifactError::NotWasm(e.to_string()))?;
            if let wasmparser::Payload::CustomSection(s) = payload {
                let (slot, section) = match s.name() {
                    ABI_SECTION => (&mut abi, ABI_SECTION),
                    PROGRAMS_SECTION => (&mut programs, PROGRAMS_SECTION),
                    _ => continue,
                };
                if slot.is_some() {
                    return Err(ArtifactError::DuplicateSection { section });
                }
                *slot = Some(s.data().to_vec());
            }
        }
        let abi = Abi::decode(&abi.ok_or(ArtifactError::MissingSection {
            section: ABI_SECTION,
        })?)?;
        let programs = decode_programs(&programs.ok_or(ArtifactError::MissingSection {
            section: PROGRAMS_SECTION,
        })?)
        .map_err(ArtifactError::Programs)?;
        check_agreement(&abi, &programs)?;
        let id = Sha256::digest(&bytes).into();
        Ok(Artifact {
            bytes,
            abi,
            programs,
            id,
        })
    }

    /// The module's bytes, custom sections included.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The ABI.
    pub fn abi(&self) -> &Abi {
        &self.abi
    }

    /// The constraint programs, in section order.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// The constraint program of `function`, if it has one.
    pub fn program(&self, function: &Function) -> Option<&Program> {
        let c = function.circuit.as_ref()?;
        self.programs.get(usize::try_from(c.program).ok()?)
    }

    /// The contract id: SHA-256 of the module's bytes.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// The contract id in lowercase hex.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Encodes the `sotto.programs` section.
pub fn encode_programs(programs: &[Program]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(PROGRAMS_FORMAT_VERSION);
    w.u16(u16::try_from(programs.len()).unwrap_or(u16::MAX));
    for p in programs {
        let bytes = p.encode();
        w.raw(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        w.raw(&bytes);
    }
    w.bytes
}

/// Decodes the `sotto.programs` section.
pub fn decode_programs(bytes: &[u8]) -> Result<Vec<Program>, DecodeError> {
    let mut r = Reader::new(bytes);
    let version = r.u8("programs version")?;
    if version != PROGRAMS_FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            what: "programs section",
            version,
            supported: PROGRAMS_FORMAT_VERSION,
        });
    }
    let count = r.count("programs", MAX_PROGRAMS)?;
    let mut programs = Vec::with_capacity(count);
    for _ in 0..count {
        let mut len = [0u8; 4];
        len.copy_from_slice(r.take(4, "program length")?);
        let len = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
        if len > r.remaining() {
            return Err(DecodeError::UnexpectedEnd { what: "program" });
        }
        programs.push(Program::decode(r.take(len, "program")?)?);
    }
    r.finish("programs section")?;
    Ok(programs)
}

/// Every circuit names a program that exists, with one role per variable;
/// every reveal names a public input of it; every program is used once.
fn check_agreement(abi: &Abi, programs: &[Program]) -> Result<(), ArtifactError> {
    let mut used = vec![false; programs.len()];
    for f in &abi.functions {
        let mismatch = |problem: String| ArtifactError::Mismatch {
            function: f.name.clone(),
            problem,
        };
        let Some(c) = &f.circuit else {
            if !f.reveals.is_empty() {
                return Err(mismatch("it reveals values but has no circuit".into()));
            }
            continue;
        };
        let index = usize::try_from(c.program).unwrap_or(usize::MAX);
        let Some(program) = programs.get(index) else {
            return Err(mismatch(format!(
                "its circuit names program {}, but the artifact has {}",
                c.program,
                programs.len()
            )));
        };
        if std::mem::replace(&mut used[index], true) {
            return Err(mismatch(format!(
                "program {index} is shared with another function"
            )));
        }
        if c.vars.len() != program.vars().len() {
            return Err(mismatch(format!(
                "its circuit gives {} variable roles for a program of {} variables",
                c.vars.len(),
                program.vars().len()
            )));
        }
        if let Some(r) = f
            .reveals
            .iter()
            .find(|r| usize::from(r.public_input) >= program.publics().len())
        {
            return Err(mismatch(format!(
                "reveal of `{}` names public input {}, but the program has {}",
                r.name,
                r.public_input,
                program.publics().len()
            )));
        }
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(ArtifactError::Mismatch {
            function: String::from("(none)"),
            problem: format!("program {unused} belongs to no function"),
        });
    }
    Ok(())
}
