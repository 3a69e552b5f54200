//! An oracle's directory: its key, its announcements and its attestations,
//! as `sotto oracle` keeps them and [`super::http`] serves them.
//!
//! ```text
//! DIR/                      mode 0700
//!   key                     mode 0600, 32 bytes (the node's key file format)
//!   lock                    taken while an announcement or attestation is written
//!   announcements/ID.json   Announcement::to_json
//!   attestations/ID.json    Attestation::to_json
//! ```
//!
//! [`OracleStore`] holds the key and writes; [`StoreReader`] only reads, so
//! that a process serving the files never needs the key in memory.
//!
//! **Invariant (the one that protects the key):** the store attests at most
//! one outcome per event id. Attesting two different outcomes of one
//! announcement signs two messages with one nonce, and anyone holding both
//! attestations can compute the oracle's secret key (see
//! `schnorr.rs`). So [`OracleStore::attest`], under the directory's lock
//! (which other processes take too), returns the stored attestation if
//! there is one and it is of the same outcome, refuses
//! ([`StoreError::AlreadyAttested`]) if it is of another outcome or cannot
//! be read, and otherwise writes the new attestation durably (a synced
//! temporary file renamed into place, then the directory synced) *before*
//! it returns it. Deleting `attestations/` (or restoring an older backup of
//! it) removes this protection: never do it for an event that was attested.
//!
//! Files read back are untrusted: one that is too large, not JSON of the
//! right shape, of another event, or (for announcements) not validly
//! signed is a [`StoreError::Corrupt`] naming the file, never a panic and
//! never overwritten.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

use super::OracleError;
use super::announcement::{Announcement, Attestation, MAX_EVENT_ID, OracleKey, Outcomes};
use crate::state::keys::KeyError;

/// The largest file the store reads back, in bytes. The largest valid
/// announcement (4096 outcomes of 256 bytes, each character escaped) is
/// about 2.1 MB as JSON.
pub const MAX_FILE: u64 = 4 << 20;

const KEY_FILE: &str = "key";
const LOCK_FILE: &str = "lock";
const ANNOUNCEMENTS: &str = "announcements";
const ATTESTATIONS: &str = "attestations";

/// Why the oracle's directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `init` on a directory that already holds a key.
    #[error("{dir} already holds an oracle key; open it instead, or choose another directory")]
    AlreadyInitialized {
        /// The directory.
        dir: PathBuf,
    },
    /// `init` on a directory that holds other files.
    #[error("{dir} is not empty; give a new or empty directory")]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// `open` on a directory that is not an oracle's (no key, or no
    /// `announcements/`).
    #[error("{dir} is not an oracle directory (no {missing}); create one with `sotto oracle init`")]
    NotAStore {
        /// The directory.
        dir: PathBuf,
        /// What is missing.
        missing: &'static str,
    },
    /// The key file could not be read, is readable by others, or is not a
    /// key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An event id that is not a safe file name (outside
    /// `[A-Za-z0-9-_.:]`, empty, too long, or only dots).
    #[error(
        "event id `{event_id}` must be 1 to {MAX_EVENT_ID} characters of A-Z, a-z, 0-9, `-`, `_`, `.`, `:` (and not only dots)"
    )]
    InvalidEventId {
        /// The id, shortened and escaped.
        event_id: String,
    },
    /// The announcement's fields were refused (outcomes, numeric domain).
    #[error("cannot announce `{event_id}`: {source}")]
    Announce {
        /// The event.
        event_id: String,
        /// Why.
        source: OracleError,
    },
    /// The attestation could not be made (a degenerate value, probability
    /// about 2⁻¹²⁸; or a bug).
    #[error("cannot attest `{event_id}`: {source}")]
    Attest {
        /// The event.
        event_id: String,
        /// Why.
        source: OracleError,
    },
    /// `announce` of an event id the store already has.
    #[error("event `{event_id}` is already announced; announce a new event under another id")]
    EventExists {
        /// The event.
        event_id: String,
    },
    /// No announcement of this event in the store.
    #[error("no event `{event_id}` is announced here")]
    UnknownEvent {
        /// The event.
        event_id: String,
    },
    /// The outcome is not one the announcement lists.
    #[error("`{outcome}` is not an outcome of event `{event_id}`: {expected}")]
    UnknownOutcome {
        /// The event.
        event_id: String,
        /// The outcome asked for, shortened and escaped.
        outcome: String,
        /// What the announcement allows.
        expected: String,
    },
    /// The event is already attested with another outcome: attesting this
    /// one too would reveal the oracle's key.
    #[error(
        "event `{event_id}` is already attested as `{attested}`; attesting `{requested}` too would reveal the oracle's key, so it is refused"
    )]
    AlreadyAttested {
        /// The event.
        event_id: String,
        /// The outcome attested.
        attested: String,
        /// The outcome asked for.
        requested: String,
    },
    /// A file the store wrote reads back as something else: too large, not
    /// JSON of the right shape, of another event, or not signed by its
    /// oracle.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Whether `event_id` is an event id the store can use as a file name:
/// announcement.rs's rule (1 to [`MAX_EVENT_ID`] characters of
/// `[A-Za-z0-9-_.:]`), and not only dots.
pub fn is_safe_event_id(event_id: &str) -> bool {
    !event_id.is_empty()
        && event_id.len() <= MAX_EVENT_ID
        && event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        && !event_id.bytes().all(|b| b == b'.')
}

fn checked_id(event_id: &str) -> Result<(), StoreError> {
    if is_safe_event_id(event_id) {
        Ok(())
    } else {
        Err(StoreError::InvalidEventId {
            event_id: shorten(event_id),
        })
    }
}

/// At most 64 characters of untrusted text, escaped, for a message.
fn shorten(text: &str) -> String {
    let short: String = text.chars().take(64).collect();
    let mut out = short.escape_debug().to_string();
    if short.len() < text.len() {
        out.push('…');
    }
    out
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Read access to an oracle's directory: its announcements and
/// attestations, no key. Each call reads the files afresh, so what another
/// process wrote is seen at once.
#[derive(Debug, Clone)]
pub struct StoreReader {
    dir: PathBuf,
}

impl StoreReader {
    /// Reads the oracle directory `dir` (made by [`OracleStore::init`]).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        if !dir.join(ANNOUNCEMENTS).is_dir() {
            return Err(StoreError::NotAStore {
                dir,
                missing: "announcements/",
            });
        }
        Ok(StoreReader { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn announcement_path(&self, event_id: &str) -> PathBuf {
        self.dir
            .join(ANNOUNCEMENTS)
            .join(format!("{event_id}.json"))
    }

    fn attestation_path(&self, event_id: &str) -> PathBuf {
        self.dir.join(ATTESTATIONS).join(format!("{event_id}.json"))
    }

    /// The announcement of `event_id`, checked (its oracle's signature, and
    /// that it is of this event).
    pub fn announcement(&self, event_id: &str) -> Result<Announcement, StoreError> {
        checked_id(event_id)?;
        let path = self.announcement_path(event_id);
        let text = read_untrusted(&path)?.ok_or_else(|| StoreError::UnknownEvent {
            event_id: event_id.to_owned(),
        })?;
        let announcement = Announcement::from_json(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if announcement.event_id() != event_id {
            return Err(StoreError::Corrupt {
                reason: format!(
                    "it announces event `{}`, not `{event_id}`",
                    announcement.event_id()
                ),
                path,
            });
        }
        Ok(announcement)
    }

    /// The attestation of `event_id` as stored, or `None` if there is none
    /// yet. Decoded and of this event, but **not verified**: the server
    /// serves it as it is and its clients verify it
    /// ([`super::http::fetch_attestation`]); check it with
    /// [`Announcement::verify`] before relying on it.
    pub fn attestation(&self, event_id: &str) -> Result<Option<Attestation>, StoreError> {
        checked_id(event_id)?;
        let path = self.attestation_path(event_id);
        let Some(text) = read_untrusted(&path)? else {
            return Ok(None);
        };
        let attestation = Attestation::from_json(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if attestation.event_id() != event_id {
            return Err(StoreError::Corrupt {
                reason: format!(
                    "it attests event `{}`, not `{event_id}`",
                    shorten(attestation.event_id())
                ),
                path,
            });
        }
        Ok(Some(attestation))
    }

    /// The ids of the announced events, sorted. Files whose names are not
    /// `ID.json` with a valid id are skipped.
    pub fn events(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.dir.join(ANNOUNCEMENTS);
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if is_safe_event_id(id) {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// An oracle's directory with its key: announces and attests, and reads as
/// [`StoreReader`] does.
#[derive(Debug)]
pub struct OracleStore {
    reader: StoreReader,
    key: OracleKey,
}

impl OracleStore {
    /// Creates the oracle directory `dir` (mode 0700; it may exist if it is
    /// empty) with a fresh key (`key`, mode 0600). Refuses a directory that
    /// already holds a key, or anything else.
    pub fn init(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        if dir.join(KEY_FILE).exists() {
            return Err(StoreError::AlreadyInitialized { dir });
        }
        match std::fs::read_dir(&dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(StoreError::NotEmpty { dir });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                private_dir(&dir)?;
            }
            Err(e) => return Err(io(&dir)(e)),
        }
        set_private(&dir)?;
        private_dir(&dir.join(ANNOUNCEMENTS))?;
        private_dir(&dir.join(ATTESTATIONS))?;
        let key = OracleKey::generate();
        key.save(&dir.join(KEY_FILE))?;
        sync_dir(&dir)?;
        Ok(OracleStore {
            reader: StoreReader { dir },
            key,
        })
    }

    /// Opens the oracle directory `dir`: loads its key (refused if others
    /// can read it).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        let key_path = dir.join(KEY_FILE);
        if !key_path.exists() {
            return Err(StoreError::NotAStore {
                dir,
                missing: "key file",
            });
        }
        let key = OracleKey::load(&key_path)?;
        let reader = StoreReader::open(&dir)?;
        // Never recreated: without it the store would not know which
        // events it attested.
        if !dir.join(ATTESTATIONS).is_dir() {
            return Err(StoreError::NotAStore {
                dir,
                missing: "attestations/",
            });
        }
        Ok(OracleStore { reader, key })
    }

    /// The read-only view of this directory (what a server needs).
    pub fn reader(&self) -> &StoreReader {
        &self.reader
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.reader.dir
    }

    /// The oracle's public key, as its announcements name it.
    pub fn public(&self) -> secp256k1_zkp::XOnlyPublicKey {
        self.key.public()
    }

    /// Announces event `event_id` and writes the announcement durably.
    /// Refuses an id that is already announced (or attested).
    pub fn announce(
        &self,
        event_id: &str,
        maturity: u64,
        outcomes: Outcomes,
    ) -> Result<Announcement, StoreError> {
        checked_id(event_id)?;
        let announcement = self
            .key
            .announce(event_id, maturity, outcomes)
            .map_err(|source| StoreError::Announce {
                event_id: event_id.to_owned(),
                source,
            })?;
        let _lock = self.lock()?;
        let path = self.reader.announcement_path(event_id);
        if path.exists() || self.reader.attestation_path(event_id).exists() {
            return Err(StoreError::EventExists {
                event_id: event_id.to_owned(),
            });
        }
        write_durably(&path, announcement.to_json().as_bytes())?;
        Ok(announcement)
    }

    /// The announcement of `event_id`; see [`StoreReader::announcement`].
    pub fn announcement(&self, event_id: &str) -> Result<Announcement, StoreError> {
        self.reader.announcement(event_id)
    }

    /// The stored attestation of `event_id`, not verified; see
    /// [`StoreReader::attestation`].
    pub fn attestation(&self, event_id: &str) -> Result<Option<Attestation>, StoreError> {
        self.reader.attestation(event_id)
    }

    /// The announced events' ids, sorted.
    pub fn events(&self) -> Result<Vec<String>, StoreError> {
        self.reader.events()
    }

    /// Attests that event `event_id` had outcome `outcome` (an enumerated
    /// outcome's name, or a numeric event's value in decimal).
    ///
    /// At most one outcome is ever attested per event (see the module's
    /// invariant): the same outcome again returns the stored attestation;
    /// another is refused with [`StoreError::AlreadyAttested`], and so is
    /// any outcome while the stored attestation cannot be read
    /// ([`StoreError::Corrupt`]: it may have been released, so it is never
    /// replaced). A new attestation is on disk, synced, before it is
    /// returned.
    pub fn attest(&self, event_id: &str, outcome: &str) -> Result<Attestation, StoreError> {
        // Step 1) the announcement, and the outcome's canonical text.
        let announcement = self.reader.announcement(event_id)?;
        if announcement.oracle() != &self.key.public() {
            return Err(StoreError::Corrupt {
                path: self.reader.announcement_path(event_id),
                reason: "it is signed by another oracle than this directory's key".into(),
            });
        }
        let parsed =
            announcement
                .parse_outcome(outcome)
                .map_err(|_| StoreError::UnknownOutcome {
                    event_id: event_id.to_owned(),
                    outcome: shorten(outcome),
                    expected: expected_outcomes(announcement.outcomes()),
                })?;
        let requested = announcement
            .outcome_text(parsed)
            .map_err(|source| StoreError::Attest {
                event_id: event_id.to_owned(),
                source,
            })?;
        // Step 2) under the lock, so that another process attesting the
        // same event waits and then sees this one's file.
        let _lock = self.lock()?;
        let path = self.reader.attestation_path(event_id);
        match self.reader.attestation(event_id) {
            Ok(Some(stored)) if stored.outcome() == requested => {
                // Step 3.a) the same outcome: the stored one, if it is ours.
                return match announcement.verify(&stored) {
                    Ok(_) => Ok(stored),
                    Err(e) => Err(StoreError::Corrupt {
                        path,
                        reason: format!("the stored attestation does not verify: {e}"),
                    }),
                };
            }
            Ok(Some(stored)) => {
                return Err(StoreError::AlreadyAttested {
                    event_id: event_id.to_owned(),
                    attested: shorten(stored.outcome()),
                    requested,
                });
            }
            Ok(None) => {}
            // Whatever an unreadable file held may have been released:
            // never attest over it.
            Err(e) => return Err(e),
        }
        // Step 3.b) sign, write, sync, and only then return.
        let attestation =
            self.key
                .attest(&announcement, parsed)
                .map_err(|source| StoreError::Attest {
                    event_id: event_id.to_owned(),
                    source,
                })?;
        debug_assert!(announcement.verify(&attestation).is_ok());
        write_durably(&path, attestation.to_json().as_bytes())?;
        Ok(attestation)
    }

    /// The directory's lock, held until the returned file is dropped
    /// (advisory, `flock`: every `sotto oracle` process takes it).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.reader.dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(file)
    }
}

/// What outcomes an announcement allows, for a message.
fn expected_outcomes(outcomes: &Outcomes) -> String {
    match outcomes {
        Outcomes::Enumerated(names) => {
            let mut listed: Vec<String> = names.iter().take(8).map(|n| shorten(n)).collect();
            if names.len() > listed.len() {
                listed.push(format!("… ({} in all)", names.len()));
            }
            format!("give one of {}", listed.join(", "))
        }
        Outcomes::Numeric { .. } => format!(
            "give a whole number from 0 to {}",
            outcomes.count().saturating_sub(1)
        ),
    }
}

/// The text of `path`, or `None` if it does not exist. Refuses (as
/// corrupt) anything but a regular UTF-8 file of at most [`MAX_FILE`]
/// bytes, so that a FIFO or a huge file cannot stall or exhaust a reader.
fn read_untrusted(path: &Path) -> Result<Option<String>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    if !metadata.is_file() {
        return Err(corrupt("not a regular file".into()));
    }
    if metadata.len() > MAX_FILE {
        return Err(corrupt(format!("over {MAX_FILE} bytes")));
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(corrupt(format!("over {MAX_FILE} bytes")));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| corrupt("not UTF-8 text".into()))
}

/// Writes `bytes` to `path` so that, once this returns, the file is on
/// disk whole (or, after a crash before that, absent): a temporary file
/// beside it, synced, renamed over `path`, then the directory synced.
/// Callers hold the lock and have checked that `path` does not exist.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    // The temporary name ends in `.tmp`, never `.json`: never an event's.
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Creates `dir` with mode 0700.
fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(dir))?;
    set_private(dir)
}

/// Sets `dir`'s mode to 0700 (whatever the umask made of it).
fn set_private(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code fails loudly")]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "sotto-oracle-store-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn teams() -> Outcomes {
        Outcomes::Enumerated(vec!["home".into(), "draw".into(), "away".into()])
    }

    #[test]
    fn init_makes_a_private_directory_and_key_and_refuses_twice() {
        let dir = scratch("init");
        let store = OracleStore::init(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.join(ANNOUNCEMENTS)), 0o700);
        assert_eq!(mode(&dir.join(ATTESTATIONS)), 0o700);
        let public = store.public();
        drop(store);
        assert!(matches!(
            OracleStore::init(&dir),
            Err(StoreError::AlreadyInitialized { .. })
        ));
        // Reopened: the same key.
        assert_eq!(OracleStore::open(&dir).unwrap().public(), public);
        // Without attestations/ it would forget what it attested: refused,
        // not recreated.
        std::fs::rename(dir.join(ATTESTATIONS), dir.join("moved")).unwrap();
        assert!(matches!(
            OracleStore::open(&dir),
            Err(StoreError::NotAStore {
                missing: "attestations/",
                ..
            })
        ));
        assert!(!dir.join(ATTESTATIONS).exists());
        std::fs::rename(dir.join("moved"), dir.join(ATTESTATIONS)).unwrap();
        // A key others can read is refused.
        std::fs::set_permissions(dir.join(KEY_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        assert!(matches!(
            OracleStore::open(&dir),
            Err(StoreError::Key(KeyError::Permissions { .. }))
        ));
        // Not an oracle directory; a non-empty directory.
        let other = scratch("other");
        std::fs::create_dir_all(&other).unwrap();
        assert!(matches!(
            OracleStore::open(&other),
            Err(StoreError::NotAStore { .. })
        ));
        std::fs::write(other.join("notes.txt"), "x").unwrap();
        assert!(matches!(
            OracleStore::init(&other),
            Err(StoreError::NotEmpty { .. })
        ));
        // An existing empty directory is taken, and made private.
        let empty = scratch("empty");
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o755)).unwrap();
        OracleStore::init(&empty).unwrap();
        assert_eq!(mode(&empty), 0o700);
        for d in [dir, other, empty] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn announce_writes_the_event_once_and_reads_it_back() {
        let dir = scratch("announce");
        let store = OracleStore::init(&dir).unwrap();
        let ann = store.announce("match:1", 1_700, teams()).unwrap();
        assert_eq!(store.announcement("match:1").unwrap(), ann);
        assert!(store.attestation("match:1").unwrap().is_none());
        assert!(matches!(
            store.announce("match:1", 1_800, teams()),
            Err(StoreError::EventExists { .. })
        ));
        store
            .announce("btc", 5, Outcomes::Numeric { base: 2, digits: 8 })
            .unwrap();
        assert_eq!(store.events().unwrap(), vec!["btc", "match:1"]);
        assert!(matches!(
            store.announcement("nope"),
            Err(StoreError::UnknownEvent { .. })
        ));
        for bad in ["", ".", "..", "a/b", "../key", "a b", "x\n"] {
            assert!(
                matches!(
                    store.announce(bad, 0, teams()),
                    Err(StoreError::InvalidEventId { .. })
                ),
                "{bad:?}"
            );
            assert!(matches!(
                store.announcement(bad),
                Err(StoreError::InvalidEventId { .. })
            ));
            assert!(matches!(
                store.attest(bad, "home"),
                Err(StoreError::InvalidEventId { .. })
            ));
        }
        assert!(matches!(
            store.announce("one", 0, Outcomes::Enumerated(vec!["only".into()])),
            Err(StoreError::Announce { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_same_outcome_twice_gives_the_same_attestation_and_another_is_refused() {
        let dir = scratch("attest");
        let store = OracleStore::init(&dir).unwrap();
        let ann = store.announce("match:2", 0, teams()).unwrap();
        let first = store.attest("match:2", "away").unwrap();
        ann.verify(&first).unwrap();
        let file = dir.join(ATTESTATIONS).join("match:2.json");
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(store.attest("match:2", "away").unwrap(), first);
        // Another process (another handle on the directory) too.
        let again = OracleStore::open(&dir).unwrap();
        assert_eq!(again.attest("match:2", "away").unwrap(), first);
        match again.attest("match:2", "home") {
            Err(StoreError::AlreadyAttested {
                event_id,
                attested,
                requested,
            }) => {
                assert_eq!(
                    (event_id.as_str(), attested.as_str(), requested.as_str()),
                    ("match:2", "away", "home")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
        assert_eq!(store.attestation("match:2").unwrap(), Some(first));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.join(ATTESTATIONS))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("match:2.json")]);
        // Unknown outcomes and events.
        assert!(matches!(
            store.attest("match:2", "abandoned"),
            Err(StoreError::UnknownOutcome { .. })
        ));
        assert!(matches!(
            store.attest("match:3", "home"),
            Err(StoreError::UnknownEvent { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn numeric_outcomes_are_compared_by_value() {
        let dir = scratch("numeric");
        let store = OracleStore::init(&dir).unwrap();
        let ann = store
            .announce(
                "price",
                0,
                Outcomes::Numeric {
                    base: 10,
                    digits: 3,
                },
            )
            .unwrap();
        let att = store.attest("price", "042").unwrap();
        assert_eq!(att.outcome(), "42");
        ann.verify(&att).unwrap();
        assert_eq!(store.attest("price", "42").unwrap(), att);
        assert!(matches!(
            store.attest("price", "43"),
            Err(StoreError::AlreadyAttested { .. })
        ));
        match store.attest("price", "1000") {
            Err(StoreError::UnknownOutcome { expected, .. }) => {
                assert!(expected.contains("0 to 999"), "{expected}");
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn corrupt_files_are_typed_errors_naming_the_file_and_are_never_overwritten() {
        let dir = scratch("corrupt");
        let store = OracleStore::init(&dir).unwrap();
        let ann = store.announce("e", 0, teams()).unwrap();
        let ann_path = dir.join(ANNOUNCEMENTS).join("e.json");
        let att_path = dir.join(ATTESTATIONS).join("e.json");
        let corrupt = |path: &Path, r: Result<_, StoreError>| match r {
            Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        };
        // A flipped maturity breaks the signature; garbage is not JSON.
        let good = ann.to_json();
        std::fs::write(
            &ann_path,
            good.replace("\"maturity\": 0", "\"maturity\": 1"),
        )
        .unwrap();
        corrupt(&ann_path, store.announcement("e").map(|_| ()));
        std::fs::write(&ann_path, b"\xff\x00garbage").unwrap();
        corrupt(&ann_path, store.announcement("e").map(|_| ()));
        corrupt(&ann_path, store.attest("e", "home").map(|_| ()));
        // Another event's announcement under this name.
        let other = store.announce("f", 0, teams()).unwrap();
        std::fs::write(&ann_path, other.to_json()).unwrap();
        corrupt(&ann_path, store.announcement("e").map(|_| ()));
        // A directory where a file should be; a huge file.
        std::fs::remove_file(&ann_path).unwrap();
        std::fs::create_dir(&ann_path).unwrap();
        corrupt(&ann_path, store.announcement("e").map(|_| ()));
        std::fs::remove_dir(&ann_path).unwrap();
        std::fs::write(&ann_path, vec![b' '; MAX_FILE as usize + 1]).unwrap();
        corrupt(&ann_path, store.announcement("e").map(|_| ()));
        std::fs::write(&ann_path, &good).unwrap();
        // A corrupt attestation: read as corrupt, and no outcome is
        // attested over it.
        std::fs::write(&att_path, "{\"oracle\": 3}").unwrap();
        corrupt(&att_path, store.attestation("e").map(|_| ()));
        corrupt(&att_path, store.attest("e", "home").map(|_| ()));
        assert_eq!(
            std::fs::read_to_string(&att_path).unwrap(),
            "{\"oracle\": 3}"
        );
        // Another oracle's attestation of the same outcome is not returned
        // as ours.
        let stranger = OracleKey::from_bytes(&[7u8; 32]).unwrap();
        let theirs = stranger.announce("e", 0, teams()).unwrap();
        let forged = stranger
            .attest(&theirs, crate::oracle::Outcome::Enumerated(0))
            .unwrap();
        std::fs::write(&att_path, forged.to_json()).unwrap();
        assert_eq!(store.attestation("e").unwrap(), Some(forged));
        corrupt(&att_path, store.attest("e", "home").map(|_| ()));
        assert!(matches!(
            store.attest("e", "away"),
            Err(StoreError::AlreadyAttested { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn concurrent_attesters_of_different_outcomes_release_only_one() {
        // Many handles (as many processes would) race to attest different
        // outcomes: exactly one outcome is ever returned.
        let dir = scratch("race");
        let store = OracleStore::init(&dir).unwrap();
        let names: Vec<String> = (0..8).map(|i| format!("o{i}")).collect();
        store
            .announce("race", 0, Outcomes::Enumerated(names.clone()))
            .unwrap();
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let dir = dir.clone();
                    s.spawn(move || OracleStore::open(&dir).unwrap().attest("race", name))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let released: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(released.len(), 1, "{results:?}");
        assert!(
            results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| matches!(r, Err(StoreError::AlreadyAttested { .. })))
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
