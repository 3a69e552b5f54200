//! # The compiled-module cache: machine code kept on disk across restarts
//!
//! Compiling a contract module with Cranelift is the slow part of
//! [`Sandbox::load`]. A restarting node reloads the contract of every open
//! channel; [`Sandbox::load_cached`] keeps each module's compiled code in a
//! [`ModuleCache`] directory, so that a restart reads it back instead of
//! compiling again.
//!
//! ## Threat model, in plain words
//!
//! A cache entry is native machine code that the node maps executable and
//! runs inside its own process. wasmtime's `Module::deserialize` checks
//! nothing that would stop crafted input: it is `unsafe` because a crafted
//! entry is not a sandboxed contract any more but arbitrary code running as
//! the node. Whoever gets the node to load one entry of their choosing can
//! read its keys, sign any state (handing a channel's funds to whoever they
//! like) and rewrite its store. **If this cache trusted the wrong file, the
//! node could lose every channel's funds.** So an entry is deserialized only
//! when all of these hold:
//!
//! 1. **The directory is this user's alone.** [`ModuleCache::open`]
//!    refuses a directory that is not owned by the process's effective user
//!    ([`CacheError::NotOwned`]) or that its group or others may write
//!    ([`CacheError::Writable`]), and creates a missing one with mode
//!    `0700`. Only this user (and root) can then create, replace or rename
//!    entries.
//! 2. **The entry looks like what this node writes**: a regular file,
//!    opened without following symbolic links, owned by this user, with no
//!    permission bits for group or others ([`EntryRejection::Permissions`]).
//!    The checks are made on the open file, so the file checked is the file
//!    read.
//! 3. **The header is ours and names this key**: magic, format version, and
//!    the key the file is named after ([`EntryRejection::KeyMismatch`]
//!    catches an entry copied or renamed from elsewhere).
//! 4. **The payload's SHA-256 matches the header.**
//!
//! The hash of step 4 catches accidents: a write cut short by a crash, a
//! disk error, a flipped bit. It is *not* authentication: anybody who can
//! write the file can recompute it. Against a deliberate attacker the
//! protection is steps 1 and 2: to plant code they must already run as the
//! node's user or as root, and then they could as well replace the node's
//! binary or read its keys directly, so the cache opens no new way in. (A
//! keyed MAC would not change this: its key would have to live where that
//! same user can read it.) What [`ModuleCache::open`] does not check is the
//! directory's *parents*: whoever may rename a parent may swap the whole
//! directory, so keep the cache inside the node's own data directory.
//!
//! ## The cache skips compilation, never a check
//!
//! [`Sandbox::load_cached`] runs every load-time check of [`Sandbox::load`]
//! on the module's own bytes *before* it looks at the cache, and links the
//! cached code against the host imports like fresh code. A module that
//! [`Sandbox::load`] refuses is refused with the same [`LoadError`], cached
//! entry or not.
//!
//! ## The key
//!
//! An entry's file name is the hex of its [`CacheKey`]: SHA-256 over a
//! domain tag naming this format version, the contract id (SHA-256 of the
//! module's bytes), a SHA-256 digest of wasmtime's
//! `Engine::precompile_compatibility_hash` (target, Cranelift flags,
//! tunables, features, wasmtime version), and the sandbox's own settings
//! ([`SandboxConfig`], the WASM feature set, the stack and table limits).
//! Two sandboxes share entries only if they would compile the same code.
//! wasmtime also refuses, safely, code compiled by another version or
//! configuration: the key only avoids the wasted read.
//!
//! ## Entry format, version 1
//!
//! All integers little-endian; decoding refuses anything else, trailing
//! bytes included:
//!
//! | offset | size | field                                   |
//! |-------:|-----:|-----------------------------------------|
//! |      0 |    8 | magic `b"SOTTOMC\0"`                    |
//! |      8 |    4 | format version, `1`                     |
//! |     12 |   32 | the [`CacheKey`] (equals the file name) |
//! |     44 |    8 | payload length `n`                      |
//! |     52 |   32 | SHA-256 of the payload                  |
//! |     84 |    n | payload: `Module::serialize`            |
//!
//! ## Failure is never fatal
//!
//! An entry that fails any check is reported as an [`EntryRejection`] in
//! [`CacheOutcome::Replaced`], deleted, and the module compiled afresh and
//! rewritten. A failure to write is reported in the outcome's `stored` and
//! costs only a compilation at the next load.
//!
//! ## Writes are atomic
//!
//! An entry is written to a fresh temporary file in the same directory
//! (`.tmp-…`, mode `0600`), synced, renamed over the entry's name, and the
//! directory synced: a reader sees the old entry, no entry, or the whole
//! new one. Concurrent writers of the same key each rename a complete file;
//! the last one wins. A crash may leave a temporary file behind; it is never
//! read.
//!
//! ## Determinism
//!
//! A hit runs the very code a fresh compilation produced (the payload is
//! that code, serialized), under the same engine configuration (the key
//! says so), so its outputs and fuel are those of a fresh load.

use std::fs::{self, File, OpenOptions, Permissions};
use std::hash::{Hash as _, Hasher};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use wasmtime::{Engine, Module};

use super::error::{CacheError, EntryRejection};
use super::{
    LoadError, LoadedModule, MAX_MODULE_BYTES, MAX_TABLE_ELEMENTS, ModuleAbi, Sandbox,
    SandboxConfig, WASM_STACK_BYTES, compile_error, load,
};

/// The entry format version this build writes and reads.
pub const CACHE_FORMAT_VERSION: u32 = 1;

/// The largest entry read or written, header included: 64 times
/// [`MAX_MODULE_BYTES`], far above what Cranelift makes of a module of that
/// size. Bounds what a stray file can make the node allocate.
pub const MAX_CACHE_ENTRY_BYTES: u64 = 64 * MAX_MODULE_BYTES as u64;

const MAGIC: [u8; 8] = *b"SOTTOMC\0";
const HEADER_BYTES: usize = 8 + 4 + 32 + 8 + 32;
/// Domain tag of the key; names the format version so that a new format
/// never reads an old one's entries.
const KEY_DOMAIN: &[u8] = b"sotto/sandbox/module-cache/key/v1\0";
const TEMP_PREFIX: &str = ".tmp-";
/// Mode of every entry: read and write for this user only.
const ENTRY_MODE: u32 = 0o600;
/// Mode of a directory the cache creates.
const DIR_MODE: u32 = 0o700;

/// Which entry holds a module's compiled code: see the module docs for what
/// it covers. [`Sandbox::cache_key`] computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The entry's file name: the key in lower-case hex.
    pub fn file_name(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.0
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
            .map(char::from)
            .collect()
    }
}

/// What [`Sandbox::load_cached`] found in the cache.
#[derive(Debug)]
#[non_exhaustive]
pub enum CacheOutcome {
    /// A verified entry was deserialized: nothing was compiled.
    Hit,
    /// No entry: the module was compiled, and an entry written unless
    /// `stored` says otherwise.
    Miss {
        /// Whether the new entry was written.
        stored: Result<(), CacheError>,
    },
    /// An entry was found but not trusted for `reason`: it was deleted, the
    /// module compiled, and a new entry written unless `stored` says
    /// otherwise.
    Replaced {
        /// Why the old entry was refused.
        reason: EntryRejection,
        /// Whether the new entry was written.
        stored: Result<(), CacheError>,
    },
}

/// A directory of compiled modules that only this user can write. See the
/// module docs for why each check exists.
#[derive(Debug)]
pub struct ModuleCache {
    dir: PathBuf,
    uid: u32,
}

impl ModuleCache {
    /// Opens the cache in `dir`, creating it (and missing parents) with mode
    /// `0700` if it does not exist. Refuses a directory that another user
    /// owns or that its group or others may write.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let io = |op| {
            move |source| CacheError::Io {
                op,
                path: dir.to_owned(),
                source,
            }
        };
        let meta = match fs::metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(dir)
                    .map_err(io("create"))?;
                fs::metadata(dir).map_err(io("stat"))?
            }
            other => other.map_err(io("stat"))?,
        };
        if !meta.is_dir() {
            return Err(CacheError::NotADirectory {
                path: dir.to_owned(),
            });
        }
        let uid = effective_uid();
        if meta.uid() != uid {
            return Err(CacheError::NotOwned {
                path: dir.to_owned(),
                owner: meta.uid(),
                user: uid,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(CacheError::Writable {
                path: dir.to_owned(),
                mode,
            });
        }
        Ok(ModuleCache {
            dir: dir.to_owned(),
            uid,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` lives (whether or not it exists).
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// Reads, verifies and deserializes the entry for `key`.
    fn lookup(&self, key: &CacheKey, engine: &Engine) -> Lookup {
        let bytes = match self.read(key) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Lookup::Absent,
            Err(reason) => return Lookup::Rejected(reason),
        };
        let verified = match verify(key, &bytes) {
            Ok(verified) => verified,
            Err(reason) => return Lookup::Rejected(reason),
        };
        match deserialize(engine, verified) {
            Ok(module) => Lookup::Found(module),
            Err(e) => Lookup::Rejected(EntryRejection::Deserialize {
                reason: e.to_string(),
            }),
        }
    }

    /// The entry's bytes, `None` if there is none; steps 2 of the module
    /// docs.
    fn read(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, EntryRejection> {
        let path = self.entry_path(key);
        // O_NOFOLLOW: a symbolic link is refused, not followed. O_NONBLOCK:
        // opening a FIFO planted under the name cannot hang the node (no
        // effect on regular files).
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(EntryRejection::NotRegularFile);
            }
            Err(e) => return Err(EntryRejection::Io { kind: e.kind() }),
        };
        let io = |e: io::Error| EntryRejection::Io { kind: e.kind() };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(EntryRejection::NotRegularFile);
        }
        let mode = meta.mode() & 0o7777;
        if meta.uid() != self.uid || mode & 0o077 != 0 {
            return Err(EntryRejection::Permissions {
                owner: meta.uid(),
                mode,
            });
        }
        if meta.len() > MAX_CACHE_ENTRY_BYTES {
            return Err(EntryRejection::TooLarge { size: meta.len() });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // `take` bounds the read even if the file grows after the stat.
        file.take(MAX_CACHE_ENTRY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Ok(Some(bytes))
    }

    /// Deletes the entry for `key`, if any. A failure is left for the
    /// rename of the next [`ModuleCache::store`] to overwrite.
    fn remove(&self, key: &CacheKey) {
        let _ignored = fs::remove_file(self.entry_path(key));
    }

    /// Writes `payload` as the entry for `key`, atomically (see the module
    /// docs).
    fn store(&self, key: &CacheKey, payload: &[u8]) -> Result<(), CacheError> {
        let size = (HEADER_BYTES as u64).saturating_add(payload.len() as u64);
        if size > MAX_CACHE_ENTRY_BYTES {
            return Err(CacheError::EntryTooLarge {
                size,
                limit: MAX_CACHE_ENTRY_BYTES,
            });
        }
        let temp = self.temp_path(key);
        let result = self.write_then_rename(key, payload, &temp);
        if result.is_err() {
            let _ignored = fs::remove_file(&temp);
        }
        result
    }

    fn write_then_rename(
        &self,
        key: &CacheKey,
        payload: &[u8],
        temp: &Path,
    ) -> Result<(), CacheError> {
        let io = |op, path: &Path| {
            let path = path.to_owned();
            move |source| CacheError::Io { op, path, source }
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(ENTRY_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(temp)
            .map_err(io("create", temp))?;
        // The umask may have removed bits from the mode above; set it
        // exactly so that the reader's check sees what it expects.
        file.set_permissions(Permissions::from_mode(ENTRY_MODE))
            .map_err(io("chmod", temp))?;
        file.write_all(&header(key, payload))
            .and_then(|()| file.write_all(payload))
            .map_err(io("write", temp))?;
        file.sync_all().map_err(io("sync", temp))?;
        drop(file);
        let path = self.entry_path(key);
        fs::rename(temp, &path).map_err(io("rename", &path))?;
        // Makes the rename durable; a lost rename would only cost a
        // compilation, so this is for tidiness rather than safety.
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io("sync", &self.dir))
    }

    /// A temporary name no other writer uses: this process's id, a counter
    /// and the time.
    fn temp_path(&self, key: &CacheKey) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{}-{nanos}",
            key.file_name(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ))
    }
}

/// What a lookup found.
enum Lookup {
    Absent,
    Found(Module),
    Rejected(EntryRejection),
}

/// A payload that passed steps 3 and 4 of the module docs. Only [`verify`]
/// makes one, so [`deserialize`] cannot be handed unchecked bytes.
struct Verified<'a>(&'a [u8]);

/// The header of the entry for `key` holding `payload`.
fn header(key: &CacheKey, payload: &[u8]) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(key.as_bytes());
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&Sha256::digest(payload));
    debug_assert_eq!(header.len(), HEADER_BYTES);
    header
}

/// Decodes `entry` (read from the file for `key`) and checks its header and
/// hash.
fn verify<'a>(key: &CacheKey, entry: &'a [u8]) -> Result<Verified<'a>, EntryRejection> {
    let Some((header, payload)) = entry.split_at_checked(HEADER_BYTES) else {
        return Err(EntryRejection::Truncated { len: entry.len() });
    };
    let (magic, rest) = header.split_at(8);
    let (version, rest) = rest.split_at(4);
    let (entry_key, rest) = rest.split_at(32);
    let (declared, hash) = rest.split_at(8);
    // Step 3: ours, this version, this key.
    if magic != MAGIC {
        return Err(EntryRejection::BadMagic);
    }
    let version = u32::from_le_bytes(version.try_into().unwrap_or_default());
    if version != CACHE_FORMAT_VERSION {
        return Err(EntryRejection::UnsupportedVersion { version });
    }
    if entry_key != key.as_bytes() {
        return Err(EntryRejection::KeyMismatch);
    }
    // Step 4: the exact length, then the hash.
    let declared = u64::from_le_bytes(declared.try_into().unwrap_or_default());
    let actual = payload.len() as u64;
    if declared != actual {
        return Err(EntryRejection::LengthMismatch { declared, actual });
    }
    if Sha256::digest(payload).as_slice() != hash {
        return Err(EntryRejection::HashMismatch);
    }
    Ok(Verified(payload))
}

/// The one place the sandbox deserializes native code.
///
/// Sound because `payload` is exactly what [`Module::serialize`] wrote,
/// which is what `Module::deserialize` requires: the file was written by
/// this node (`store`), into a directory that only this user can write
/// (checked by [`ModuleCache::open`]), is a regular file owned by this user
/// with no group or other permissions, and its header and SHA-256 were
/// checked by [`verify`]. Bytes from another wasmtime version or
/// configuration are refused by wasmtime with an error, not misread.
///
/// To get other bytes here an attacker would need to write files as this
/// node's user (or as root) — at which point they could replace the node's
/// binary anyway — or a bug in these checks.
#[expect(
    unsafe_code,
    reason = "Module::deserialize is unsafe; the payload is verified to be this node's own \
              Module::serialize output (see the function docs)"
)]
fn deserialize(engine: &Engine, payload: Verified<'_>) -> wasmtime::Result<Module> {
    // SAFETY: see the function docs: `payload` is unmodified output of
    // `Module::serialize`, written by this node into a directory only this
    // user can write, and hash-checked.
    unsafe { Module::deserialize(engine, payload.0) }
}

/// The process's effective uid: the owner the cache demands of its
/// directory and entries.
#[expect(
    unsafe_code,
    reason = "libc::geteuid is an FFI call; it takes nothing, cannot fail and touches no memory"
)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) has no preconditions and always succeeds.
    unsafe { libc::geteuid() }
}

/// Feeds a [`std::hash::Hash`] value into SHA-256, to turn wasmtime's
/// compatibility hash into key material.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// The key of `id`'s entry under `engine` and `config`; see the module docs.
fn cache_key(engine: &Engine, config: &SandboxConfig, id: &[u8; 32]) -> CacheKey {
    // wasmtime's hash stream is stable for one wasmtime and Rust version;
    // should it change, keys change and entries miss, nothing worse.
    let mut compat = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut compat);
    // Destructured so that a new setting cannot be left out of the key
    // without a compile error here.
    let SandboxConfig {
        max_fuel_per_call,
        max_memory_pages,
        max_concurrent_calls,
    } = config;
    let mut key = Sha256::new();
    key.update(KEY_DOMAIN);
    key.update(id);
    key.update(compat.0.finalize());
    key.update(max_fuel_per_call.to_le_bytes());
    key.update(max_memory_pages.to_le_bytes());
    key.update(max_concurrent_calls.to_le_bytes());
    key.update(load::ENGINE_FEATURES.bits().to_le_bytes());
    key.update((WASM_STACK_BYTES as u64).to_le_bytes());
    key.update(MAX_TABLE_ELEMENTS.to_le_bytes());
    CacheKey(key.finalize().into())
}

impl Sandbox {
    /// The cache key of the contract whose id (SHA-256 of its bytes, see
    /// [`LoadedModule::id`]) is `contract_id`, under this sandbox's engine
    /// and configuration.
    pub fn cache_key(&self, contract_id: &[u8; 32]) -> CacheKey {
        cache_key(&self.engine, &self.config, contract_id)
    }

    /// [`Sandbox::load`] through `cache`: the same checks on `bytes`, then
    /// the compiled code from `cache` if a trusted entry exists, else a
    /// compilation whose result is written to `cache`. Fails only where
    /// [`Sandbox::load`] fails, with the same error; the cache's own
    /// troubles are reported in the [`CacheOutcome`].
    pub fn load_cached(
        &self,
        bytes: &[u8],
        abi: &ModuleAbi,
        cache: &ModuleCache,
    ) -> Result<(LoadedModule, CacheOutcome), LoadError> {
        // Step 1: every check of `load`, on the module's own bytes.
        let facts = self.validate(bytes, abi)?;
        let id: [u8; 32] = Sha256::digest(bytes).into();
        let key = self.cache_key(&id);

        // Step 2: a trusted entry, linked like fresh code.
        let rejected = match cache.lookup(&key, &self.engine) {
            Lookup::Found(module) => match self.link(&module, id, abi, &facts) {
                Ok(loaded) => return Ok((loaded, CacheOutcome::Hit)),
                Err(e) => Some(EntryRejection::Link {
                    reason: e.to_string(),
                }),
            },
            Lookup::Absent => None,
            Lookup::Rejected(reason) => Some(reason),
        };
        if rejected.is_some() {
            cache.remove(&key);
        }

        // Step 3: compile, link, then write the entry.
        let module = Module::from_binary(&self.engine, bytes).map_err(compile_error)?;
        let loaded = self.link(&module, id, abi, &facts)?;
        let stored = module
            .serialize()
            .map_err(|e| CacheError::Serialize {
                reason: e.to_string(),
            })
            .and_then(|payload| cache.store(&key, &payload));
        let outcome = match rejected {
            None => CacheOutcome::Miss { stored },
            Some(reason) => CacheOutcome::Replaced { reason, stored },
        };
        Ok((loaded, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CacheKey {
        CacheKey([byte; 32])
    }

    fn entry(key: &CacheKey, payload: &[u8]) -> Vec<u8> {
        let mut entry = header(key, payload);
        entry.extend_from_slice(payload);
        entry
    }

    #[test]
    fn verify_round_trips_and_refuses_every_other_encoding() {
        let payload = b"compiled code".as_slice();
        let good = entry(&key(1), payload);
        assert_eq!(verify(&key(1), &good).map(|v| v.0), Ok(payload));

        let mut trailing = good.clone();
        trailing.push(0);
        let mut flipped = good.clone();
        flipped[HEADER_BYTES] ^= 1;
        let mut magic = good.clone();
        magic[0] ^= 1;
        let mut version = good.clone();
        version[8] = 2;
        let cases: [(&[u8], &CacheKey, EntryRejection); 7] = [
            (&good[..10], &key(1), EntryRejection::Truncated { len: 10 }),
            (
                &good[..good.len() - 1],
                &key(1),
                EntryRejection::LengthMismatch {
                    declared: 13,
                    actual: 12,
                },
            ),
            (
                &trailing,
                &key(1),
                EntryRejection::LengthMismatch {
                    declared: 13,
                    actual: 14,
                },
            ),
            (&flipped, &key(1), EntryRejection::HashMismatch),
            (&magic, &key(1), EntryRejection::BadMagic),
            (
                &version,
                &key(1),
                EntryRejection::UnsupportedVersion { version: 2 },
            ),
            (&good, &key(2), EntryRejection::KeyMismatch),
        ];
        for (bytes, key, expected) in cases {
            assert_eq!(verify(key, bytes).map(|v| v.0), Err(expected));
        }
    }

    #[test]
    fn file_name_is_lower_hex() {
        let mut bytes = [0; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x0f;
        let name = CacheKey(bytes).file_name();
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("ab00"));
        assert!(name.ends_with("000f"));
    }
}
