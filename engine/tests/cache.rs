//! The compiled-module cache end to end: a restart hits, a hit behaves like
//! a fresh compilation (outputs and fuel), every kind of bad entry is
//! replaced without failing the load, unsafe directories are refused, and
//! the cache never skips a load-time check.
//!
//! Every bad-entry case is one row of [`bad_entry_cases`].
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest as _, Sha256};
use sotto_engine::sandbox::{
    CACHE_FORMAT_VERSION, CacheError, CacheKey, CacheOutcome, CallInput, CallOutput,
    EntryRejection, LoadError, LoadedModule, Mode, ModuleAbi, ModuleCache, Sandbox, SandboxConfig,
    Value, ValueType,
};

mod common;
use common::{FUEL, HASH, PAYMENT, SPIN, WITNESS, abi, wasm};

const HEADER_BYTES: usize = 84;

/// A fresh directory under cargo's per-target temporary directory, removed
/// when dropped. Its parent is 0700 so that the cache may create it.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "cache-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ignored = fs::remove_dir_all(&path);
        TempDir(path)
    }

    /// The path the cache directory goes to (not yet created).
    fn cache_dir(&self) -> PathBuf {
        self.0.join("modules")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.0);
    }
}

fn input(args: Vec<Value>, mode: Mode) -> CallInput {
    sotto_engine::fuzzing::test_input(args, mode)
}

/// One contract and the calls that exercise it.
struct Contract {
    wat: &'static str,
    abi: ModuleAbi,
    calls: Vec<(&'static str, CallInput)>,
}

/// Every test module, with calls covering transfers, hashing, witness mode
/// and a long loop (where fuel would show any difference in the code).
fn contracts() -> Vec<Contract> {
    use ValueType::*;
    vec![
        Contract {
            wat: PAYMENT,
            abi: abi(&[("payment", &[U64, Party], 1), ("settle", &[], 0)]),
            calls: vec![
                (
                    "payment",
                    input(vec![Value::U64(30), Value::Party(1)], Mode::Public),
                ),
                ("settle", input(vec![], Mode::Public)),
            ],
        },
        Contract {
            wat: HASH,
            abi: abi(&[
                ("sha", &[Bytes32], 0),
                ("keccak", &[], 0),
                ("rehash", &[], 0),
            ]),
            calls: vec![
                ("sha", input(vec![Value::Bytes32([7; 32])], Mode::Public)),
                ("keccak", input(vec![], Mode::Public)),
                ("rehash", input(vec![], Mode::Public)),
            ],
        },
        Contract {
            wat: WITNESS,
            abi: abi(&[("deposit", &[U64], 0)]),
            calls: vec![
                ("deposit", input(vec![Value::U64(3)], Mode::Public)),
                (
                    "deposit",
                    input(vec![Value::U64(3)], Mode::Witness { private: vec![5] }),
                ),
            ],
        },
        Contract {
            wat: SPIN,
            abi: abi(&[("spin", &[U64], 0)]),
            calls: vec![("spin", input(vec![Value::U64(5_000)], Mode::Public))],
        },
    ]
}

fn payment() -> Contract {
    contracts().swap_remove(0)
}

fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default()).unwrap()
}

/// Every call of `contract` on `module`; results include the fuel used.
fn run(sandbox: &Sandbox, module: &LoadedModule, contract: &Contract) -> Vec<CallOutput> {
    contract
        .calls
        .iter()
        .map(|(function, input)| sandbox.call(module, function, input.clone()).unwrap())
        .collect()
}

/// What a fresh, uncached load of `contract` outputs.
fn fresh(contract: &Contract) -> Vec<CallOutput> {
    let sandbox = sandbox();
    let module = sandbox.load(&wasm(contract.wat), &contract.abi).unwrap();
    run(&sandbox, &module, contract)
}

/// Loads `contract` through `dir` in a new sandbox and cache handle (a
/// restarted node), checks its outputs against a fresh load, and returns
/// what the cache did.
fn load_and_check(dir: &Path, contract: &Contract) -> CacheOutcome {
    let sandbox = sandbox();
    let cache = ModuleCache::open(dir).unwrap();
    let (module, outcome) = sandbox
        .load_cached(&wasm(contract.wat), &contract.abi, &cache)
        .unwrap();
    assert_eq!(run(&sandbox, &module, contract), fresh(contract));
    outcome
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn key_of(sandbox: &Sandbox, contract: &Contract) -> CacheKey {
    sandbox.cache_key(&Sha256::digest(wasm(contract.wat)).into())
}

fn entry_path(dir: &Path, contract: &Contract) -> PathBuf {
    dir.join(key_of(&sandbox(), contract).file_name())
}

/// A well-formed entry (format v1, hash correct) for `key` holding
/// `payload`: the layout documented in `cache.rs`.
fn forge_entry(key: &CacheKey, payload: &[u8]) -> Vec<u8> {
    let mut entry = b"SOTTOMC\0".to_vec();
    entry.extend_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    entry.extend_from_slice(key.as_bytes());
    entry.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    entry.extend_from_slice(&Sha256::digest(payload));
    entry.extend_from_slice(payload);
    entry
}

fn assert_stored(stored: &Result<(), CacheError>) {
    assert!(stored.is_ok(), "entry not written: {stored:?}");
}

#[test]
fn miss_then_hit_after_restart_with_identical_outputs() {
    for contract in contracts() {
        let temp = TempDir::new("restart");
        let dir = temp.cache_dir();
        match load_and_check(&dir, &contract) {
            CacheOutcome::Miss { stored } => assert_stored(&stored),
            other => panic!("first load: {other:?}"),
        }
        // A restart: new sandbox, new cache handle, same directory. And
        // again, to show a hit does not disturb the entry.
        for _ in 0..2 {
            let outcome = load_and_check(&dir, &contract);
            assert!(matches!(outcome, CacheOutcome::Hit), "{outcome:?}");
        }
    }
}

#[test]
fn dir_is_0700_and_entries_0600_with_no_leftovers() {
    let temp = TempDir::new("modes");
    // Parents are missing too: all are created.
    let dir = temp.cache_dir().join("nested");
    let contract = payment();
    assert!(matches!(
        load_and_check(&dir, &contract),
        CacheOutcome::Miss { stored: Ok(()) }
    ));
    assert_eq!(mode(&dir), 0o700);
    let entry = entry_path(&dir, &contract);
    assert_eq!(mode(&entry), 0o600);
    // Only the entry: no temporary file left behind.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, vec![entry.clone()]);
    // The file is the documented format around wasmtime's code.
    let bytes = fs::read(&entry).unwrap();
    let key = key_of(&sandbox(), &contract);
    assert_eq!(forge_entry(&key, &bytes[HEADER_BYTES..]), bytes);
}

/// One way of spoiling the entry of [`payment`], and the rejection it must
/// cause.
struct BadEntry {
    name: &'static str,
    spoil: fn(&Path),
    expect: fn(&EntryRejection) -> bool,
}

fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    edit(&mut bytes);
    fs::write(path, bytes).unwrap();
}

fn bad_entry_cases() -> Vec<BadEntry> {
    vec![
        BadEntry {
            name: "flipped payload byte",
            spoil: |p| rewrite(p, |b| b[HEADER_BYTES + 100] ^= 0x40),
            expect: |r| *r == EntryRejection::HashMismatch,
        },
        BadEntry {
            name: "flipped hash byte",
            spoil: |p| rewrite(p, |b| b[HEADER_BYTES - 1] ^= 1),
            expect: |r| *r == EntryRejection::HashMismatch,
        },
        BadEntry {
            name: "payload truncated",
            spoil: |p| rewrite(p, |b| b.truncate(b.len() / 2)),
            expect: |r| matches!(r, EntryRejection::LengthMismatch { .. }),
        },
        BadEntry {
            name: "header truncated",
            spoil: |p| rewrite(p, |b| b.truncate(10)),
            expect: |r| *r == EntryRejection::Truncated { len: 10 },
        },
        BadEntry {
            name: "empty file",
            spoil: |p| rewrite(p, Vec::clear),
            expect: |r| *r == EntryRejection::Truncated { len: 0 },
        },
        BadEntry {
            name: "trailing byte",
            spoil: |p| rewrite(p, |b| b.push(0)),
            expect: |r| matches!(r, EntryRejection::LengthMismatch { .. }),
        },
        BadEntry {
            name: "bad magic",
            spoil: |p| rewrite(p, |b| b[0] = b'X'),
            expect: |r| *r == EntryRejection::BadMagic,
        },
        BadEntry {
            name: "future version",
            spoil: |p| rewrite(p, |b| b[8] = 2),
            expect: |r| *r == EntryRejection::UnsupportedVersion { version: 2 },
        },
        BadEntry {
            name: "world-writable file",
            spoil: |p| fs::set_permissions(p, fs::Permissions::from_mode(0o666)).unwrap(),
            expect: |r| matches!(r, EntryRejection::Permissions { mode: 0o666, .. }),
        },
        BadEntry {
            name: "group-readable file",
            spoil: |p| fs::set_permissions(p, fs::Permissions::from_mode(0o640)).unwrap(),
            expect: |r| matches!(r, EntryRejection::Permissions { mode: 0o640, .. }),
        },
        BadEntry {
            name: "symbolic link to a valid entry",
            spoil: |p| {
                let target = p.with_extension("elsewhere");
                fs::rename(p, &target).unwrap();
                std::os::unix::fs::symlink(&target, p).unwrap();
            },
            expect: |r| *r == EntryRejection::NotRegularFile,
        },
        BadEntry {
            name: "another module's entry under this name",
            spoil: |p| {
                let other = contracts().swap_remove(3);
                let dir = p.parent().unwrap();
                load_and_check(dir, &other);
                fs::rename(entry_path(dir, &other), p).unwrap();
            },
            expect: |r| *r == EntryRejection::KeyMismatch,
        },
        BadEntry {
            name: "well-formed entry that is not compiled code",
            spoil: |p| {
                let key = key_of(&sandbox(), &payment());
                let entry = forge_entry(&key, b"not an ELF image");
                fs::write(p, entry).unwrap();
            },
            expect: |r| matches!(r, EntryRejection::Deserialize { .. }),
        },
    ]
}

#[test]
fn bad_entries_are_replaced_and_never_fatal() {
    let contract = payment();
    for case in bad_entry_cases() {
        let temp = TempDir::new("bad");
        let dir = temp.cache_dir();
        assert!(matches!(
            load_and_check(&dir, &contract),
            CacheOutcome::Miss { stored: Ok(()) }
        ));
        let entry = entry_path(&dir, &contract);
        (case.spoil)(&entry);

        match load_and_check(&dir, &contract) {
            CacheOutcome::Replaced { reason, stored } => {
                assert!((case.expect)(&reason), "{}: {reason:?}", case.name);
                assert_stored(&stored);
            }
            other => panic!("{}: {other:?}", case.name),
        }
        // The rewritten entry is a plain 0600 file again, and hits.
        assert_eq!(mode(&entry), 0o600, "{}", case.name);
        let outcome = load_and_check(&dir, &contract);
        assert!(
            matches!(outcome, CacheOutcome::Hit),
            "{}: {outcome:?}",
            case.name
        );
    }
}

#[test]
fn unsafe_directories_are_refused_at_open() {
    let temp = TempDir::new("open");
    let dir = temp.cache_dir();
    ModuleCache::open(&dir).unwrap();
    for bad in [0o770, 0o720, 0o702, 0o777] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(bad)).unwrap();
        match ModuleCache::open(&dir) {
            Err(CacheError::Writable { path, mode }) => {
                assert_eq!((path, mode), (dir.clone(), bad));
            }
            other => panic!("mode {bad:#o}: {other:?}"),
        }
    }
    // Readable by others is fine: entries are 0600 and nobody else writes.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    ModuleCache::open(&dir).unwrap();

    let file = temp.0.join("a-file");
    fs::write(&file, b"").unwrap();
    assert!(matches!(
        ModuleCache::open(&file),
        Err(CacheError::NotADirectory { .. })
    ));
}

#[test]
fn directory_of_another_user_is_refused() {
    let temp = TempDir::new("owner");
    let dir = temp.cache_dir();
    ModuleCache::open(&dir).unwrap();
    let me = fs::metadata(&dir).unwrap().uid();
    // Privileged (root, as in CI containers): give our directory away.
    // Otherwise `/` is someone else's (root's) already.
    let (theirs, owner) = match std::os::unix::fs::chown(&dir, Some(me + 1), None) {
        Ok(()) => (dir, me + 1),
        Err(_) => (PathBuf::from("/"), 0),
    };
    match ModuleCache::open(&theirs) {
        Err(CacheError::NotOwned { owner: o, user, .. }) => assert_eq!((o, user), (owner, me)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_configuration_has_another_key() {
    let temp = TempDir::new("config");
    let dir = temp.cache_dir();
    let contract = payment();
    let bytes = wasm(contract.wat);
    let id: [u8; 32] = Sha256::digest(&bytes).into();
    let configs = [
        SandboxConfig::default(),
        SandboxConfig {
            max_concurrent_calls: 4,
            ..SandboxConfig::default()
        },
        SandboxConfig {
            max_memory_pages: 128,
            ..SandboxConfig::default()
        },
        SandboxConfig {
            max_fuel_per_call: FUEL,
            ..SandboxConfig::default()
        },
    ];
    let cache = ModuleCache::open(&dir).unwrap();
    let mut keys = Vec::new();
    for config in &configs {
        let sandbox = Sandbox::new(config.clone()).unwrap();
        let (module, outcome) = sandbox.load_cached(&bytes, &contract.abi, &cache).unwrap();
        assert!(
            matches!(outcome, CacheOutcome::Miss { stored: Ok(()) }),
            "{config:?}: {outcome:?}"
        );
        assert_eq!(run(&sandbox, &module, &contract), fresh(&contract));
        keys.push(sandbox.cache_key(&id));
    }
    assert_eq!(fs::read_dir(&dir).unwrap().count(), configs.len());
    // Keys are stable across sandboxes: each configuration hits its own.
    for (config, key) in configs.iter().zip(&keys) {
        let sandbox = Sandbox::new(config.clone()).unwrap();
        assert_eq!(sandbox.cache_key(&id), *key);
        let (_, outcome) = sandbox.load_cached(&bytes, &contract.abi, &cache).unwrap();
        assert!(
            matches!(outcome, CacheOutcome::Hit),
            "{config:?}: {outcome:?}"
        );
    }
    // Another module, same configuration: another key.
    assert_ne!(sandbox().cache_key(&[0; 32]), keys[0]);
}

#[test]
fn every_load_check_still_runs_with_an_entry_present() {
    let temp = TempDir::new("checks");
    let dir = temp.cache_dir();
    let contract = payment();
    let bytes = wasm(contract.wat);
    assert!(matches!(
        load_and_check(&dir, &contract),
        CacheOutcome::Miss { stored: Ok(()) }
    ));
    let sandbox = sandbox();
    let cache = ModuleCache::open(&dir).unwrap();
    // The same bytes (so the same entry) with ABIs that `load` refuses.
    let mut above_cap = contract.abi.clone();
    above_cap.budgets.fuel_per_call = SandboxConfig::default().max_fuel_per_call + 1;
    let refused = [
        abi(&[("payment", &[ValueType::U64, ValueType::Party], 1)]),
        abi(&[
            ("payment", &[ValueType::U64, ValueType::Party], 1),
            ("settle", &[], 0),
            ("missing", &[], 0),
        ]),
        above_cap,
    ];
    for abi in refused {
        let expected = sandbox.load(&bytes, &abi).unwrap_err();
        assert_eq!(
            sandbox.load_cached(&bytes, &abi, &cache).unwrap_err(),
            expected
        );
    }
    // A module `load` refuses is refused the same way and never cached.
    let float = wasm(
        r#"(module
             (func (export "call.payment") (drop (f32.const 1)))
             (func (export "call.settle")))"#,
    );
    let expected = sandbox.load(&float, &contract.abi).unwrap_err();
    assert!(matches!(expected, LoadError::Float { .. }), "{expected:?}");
    assert_eq!(
        sandbox
            .load_cached(&float, &contract.abi, &cache)
            .unwrap_err(),
        expected
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}
