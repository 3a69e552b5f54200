//! `sotto build FILE [-o OUT]`: compiles a contract and writes its artifact.
//!
//! Diagnostics are rendered as `sotto check` renders them; with an error
//! nothing is written. The artifact is written atomically (a temporary file
//! in the same directory, synced, then renamed over OUT), so OUT is either
//! the old file or the whole new one, never a torn write that another
//! command could mistake for a contract.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use sotto_contracts::{Compiled, compile};

use crate::author::{read_source, report};

/// `sotto build FILE [-o OUT]`
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The contract's source file (`.sotto`).
    file: PathBuf,
    /// Where to write the artifact [default: FILE with the extension `.wasm`].
    #[arg(short, long, value_name = "OUT")]
    out: Option<PathBuf>,
}

/// Compiles, reports diagnostics, and writes the artifact.
pub(crate) fn run(args: &BuildArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("wasm"));
    if same_file(&args.file, &out) {
        bail!(
            "the artifact would overwrite the source {}: name another output with -o",
            args.file.display()
        );
    }
    let source = read_source(&args.file)?;
    let Compiled { artifact, warnings } = match compile(&source) {
        Ok(compiled) => compiled,
        Err(diags) => {
            let counts = report(&args.file, &source, &diags);
            if counts.errors == 0 {
                // The compiler promises an artifact whenever there is no
                // error; say so rather than print "0 errors" as a failure.
                bail!(
                    "{}: the compiler reported no error but produced no artifact (a compiler bug)",
                    args.file.display()
                );
            }
            bail!("{}", counts.summary(1));
        }
    };
    report(&args.file, &source, &warnings);
    write_atomically(&out, artifact.bytes())?;
    super::print(&format!(
        "built {}: contract id {}, {} bytes -> {}\n",
        artifact.abi().name,
        artifact.id_hex(),
        artifact.bytes().len(),
        out.display()
    ))
}

/// Whether `a` and `b` name the same file (both existing, or equal paths).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// (so that the rename stays on one file system), synced before the rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("cannot write to {}: not a file name", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        // `create_new`: never follow or reuse something already there.
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // The temporary file may not exist; nothing more to do then.
        let _ignored = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    // Make the rename itself durable. Best effort: the artifact is complete
    // either way, and some file systems refuse to sync a directory.
    if let Ok(dir) = fs::File::open(dir) {
        let _ignored = dir.sync_all();
    }
    Ok(())
}
