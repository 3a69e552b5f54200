//! A library contract built and loaded, for the protocol's integration
//! tests (`#[path = "common/library.rs"] mod library;`).
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]

use sotto_contracts::{Artifact, compile};
use sotto_engine::channel::machine::Contract;
use sotto_engine::sandbox::{LoadedModule, Sandbox, SandboxConfig};

/// A library contract with its own sandbox, loaded.
pub(crate) struct Built {
    pub(crate) sandbox: Sandbox,
    pub(crate) artifact: Artifact,
    pub(crate) module: LoadedModule,
}

/// The library contract `name`, built and loaded.
pub(crate) fn build(name: &str) -> Built {
    let (_, source) = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    let artifact = compile(source).unwrap().artifact;
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let module = sandbox.load_artifact(&artifact).unwrap();
    Built {
        sandbox,
        artifact,
        module,
    }
}

impl Built {
    /// What a party runs the contract with.
    pub(crate) fn cx(&self) -> Contract<'_> {
        Contract {
            sandbox: &self.sandbox,
            module: &self.module,
            artifact: &self.artifact,
        }
    }

    /// The index of the field `name`.
    pub(crate) fn field(&self, name: &str) -> u32 {
        let abi = self.artifact.abi();
        u32::try_from(abi.fields.iter().position(|f| f.name == name).unwrap()).unwrap()
    }
}
