//! Determinism across engines and processes: every library function, over
//! random inputs, gives the same state bytes, allocations, public inputs,
//! private outputs and fuel on a second `Sandbox` in this process and on a
//! third in a separate process (this test binary run again), or the same
//! typed error.
//!
//! The results are folded into one SHA-256 digest per run; the child process
//! prints its digest, the parent compares.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::process::Command;

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use sotto_contracts::compile;
use sotto_contracts::library::LIBRARY;
use sotto_engine::sandbox::{Sandbox, SandboxConfig, encode_state};

/// Calls per library function.
const CALLS: usize = 100;

/// The digest of every call's result on a fresh sandbox, and how many calls
/// succeeded.
fn digest() -> (String, usize) {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let mut hash = Sha256::new();
    let mut rng = StdRng::seed_from_u64(0xde7e);
    let mut bytes = vec![0u8; 256];
    let mut ok = 0;
    for (name, source) in LIBRARY {
        let artifact = compile(source).unwrap().artifact;
        let module = sandbox.load_artifact(&artifact).unwrap();
        let abi = artifact.abi();
        let state_abi = module.abi().clone();
        for f in &abi.functions {
            for _ in 0..CALLS {
                rng.fill_bytes(&mut bytes);
                let input =
                    sotto_engine::draw::input(&mut arbitrary::Unstructured::new(&bytes), abi, f);
                hash.update(format!("{name}.{}", f.name));
                match sandbox.call_as_owner(&module, abi, &f.name, &input) {
                    Ok(out) => {
                        ok += 1;
                        let p = &out.public;
                        hash.update(encode_state(&state_abi, &p.fields).unwrap());
                        hash.update(format!(
                            "{:?}{:?}{:?}{}{:?}{}",
                            p.live, p.signed, p.awaited, p.finished, p.public_inputs, p.fuel_used
                        ));
                        if let Some(w) = &out.witness {
                            hash.update(format!("{:?}{}", w.private, w.fuel_used));
                        }
                        hash.update(format!("{:?}", out.fields));
                    }
                    Err(e) => hash.update(format!("{e:?}")),
                }
            }
        }
    }
    let hex = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (hex, ok)
}

/// Run by [`two_engines_and_two_processes_agree`] in a child process.
#[test]
#[ignore = "the child half of two_engines_and_two_processes_agree"]
fn determinism_child() {
    println!("DIGEST={}", digest().0);
}

#[test]
fn two_engines_and_two_processes_agree() {
    let (first, ok) = digest();
    // The random inputs reach the success paths of the library.
    assert!(ok > 400, "only {ok} calls succeeded");
    let (second, _) = digest();
    assert_eq!(first, second, "two sandboxes in one process disagree");

    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "determinism_child", "--nocapture"])
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let stdout = String::from_utf8_lossy(&child.stdout);
    let theirs = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DIGEST="))
        .unwrap_or_else(|| panic!("the child printed no digest:\n{stdout}"));
    assert_eq!(first, theirs, "two processes disagree");
}
