//! Commands on built contracts: `sotto build` compiles a contract to its
//! artifact, `sotto inspect` shows what an artifact holds, and `sotto exec`
//! runs one of its functions in the sandbox on a state given as JSON.
//!
//! Everything these commands read comes from outside the process (a source
//! file, an artifact that may come from a counterparty, JSON typed by hand),
//! so every malformed input is an error with a one-line message, never a
//! panic. Values cross the command line as JSON in one format, shared by
//! `inspect --json`, `exec --args`, `exec --state` and `exec --json`
//! ([`values`]).

pub(crate) mod build;
pub(crate) mod exec;
pub(crate) mod inspect;

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use sotto_contracts::Artifact;
use sotto_engine::sandbox::MAX_MODULE_BYTES;

/// Reads and checks the artifact at `path`. Refuses a file larger than any
/// module the sandbox would load before reading all of it.
fn read_artifact(path: &Path) -> Result<Artifact> {
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read {}: check the path (`sotto build` writes artifacts)",
            path.display()
        )
    })?;
    let limit = u64::try_from(MAX_MODULE_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > MAX_MODULE_BYTES {
        bail!(
            "{} is larger than {MAX_MODULE_BYTES} bytes, the most a contract module may be",
            path.display()
        );
    }
    if !bytes.starts_with(b"\0asm") {
        bail!(
            "{} is not a sotto artifact: not a WASM module (no WASM header)",
            path.display()
        );
    }
    Artifact::from_bytes(bytes).map_err(|e| {
        // Some wasmparser messages span lines; an error here is one line.
        let message = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        anyhow!("{} is not a sotto artifact: {message}", path.display())
    })
}

/// Writes `text` to stdout. Unlike `print!`, a closed stdout (`| head`) is
/// an error, not a panic.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// `json`, pretty, then a newline, to stdout.
fn print_json(json: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(json).context("cannot encode JSON")?;
    print(&format!("{text}\n"))
}
