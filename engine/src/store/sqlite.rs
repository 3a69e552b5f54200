//! [`SqliteStore`]: the durable store, one SQLite file per party.
//!
//! The file is created with mode 0600 before SQLite sees it, and an
//! existing file that its group or others may read is refused rather than
//! silently tightened: it may already have leaked, and its owner should
//! know. SQLite creates the `-wal` and `-shm` files with the database
//! file's mode, so they are private too.
//!
//! The connection runs in WAL mode with `synchronous = FULL`: every commit
//! syncs the write-ahead log before it returns, so a committed step
//! survives a power cut, and a commit costs one `fsync` of the log (no
//! rewrite of the database file). `secure_delete` zeroes the space an
//! overwritten record or secret leaves behind.
//!
//! The schema version lives in `PRAGMA user_version` and the file is marked
//! as ours by `PRAGMA application_id`. Opening applies the migrations the
//! file lacks, in one transaction, and refuses a file from a newer sotto
//! ([`StoreError::Schema`]), a file that is not SQLite, or a SQLite file
//! that belongs to something else ([`StoreError::Corrupt`]).
//!
//! Versions are `u64` in the protocol and `INTEGER` (an `i64`) in SQLite:
//! they are stored bit-cast ([`u64::cast_signed`]), so every `u64`,
//! `u64::MAX` included, round-trips. Nothing orders by version in SQL, so
//! the cast's reordering of versions at or above 2^63 is harmless.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use super::{Loaded, Snapshot, Store, StoreError, hex};

/// Marks a SQLite file as a sotto store (`PRAGMA application_id`): the
/// bytes "sott".
const APPLICATION_ID: i32 = 0x736f_7474;

/// The migrations, in order: migration `i` (counting from 1) takes a file
/// from schema version `i - 1` to `i`. Append only; never edit one that
/// has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the three tables. STRICT makes SQLite reject a value of the wrong
    // type instead of converting it; the CHECKs keep ids and digests at 32
    // bytes. `signed` is small fixed-size rows under a composite key, the
    // case WITHOUT ROWID is for; `channels` holds large records, which
    // belong in a rowid table.
    "CREATE TABLE channels (
         id BLOB PRIMARY KEY CHECK (length(id) = 32),
         version INTEGER NOT NULL,
         record BLOB NOT NULL
     ) STRICT;
     CREATE TABLE secrets (
         id BLOB PRIMARY KEY REFERENCES channels(id),
         secret BLOB NOT NULL
     ) STRICT;
     CREATE TABLE signed (
         channel BLOB NOT NULL REFERENCES channels(id),
         version INTEGER NOT NULL,
         digest BLOB NOT NULL CHECK (length(digest) = 32),
         PRIMARY KEY (channel, version)
     ) STRICT, WITHOUT ROWID;",
];

/// The schema version this build writes and reads up to.
// The list is a handful of entries; the cast cannot truncate.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for another connection's lock before it
/// fails with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const UPSERT_CHANNEL: &str = "INSERT INTO channels (id, version, record) VALUES (?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, record = excluded.record";
const UPSERT_SECRET: &str = "INSERT INTO secrets (id, secret) VALUES (?1, ?2)
     ON CONFLICT (id) DO UPDATE SET secret = excluded.secret";
const INSERT_SIGNED: &str =
    "INSERT INTO signed (channel, version, digest) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
const SELECT_SIGNED_ONE: &str = "SELECT digest FROM signed WHERE channel = ?1 AND version = ?2";
const SELECT_CHANNEL: &str = "SELECT c.record, s.secret FROM channels c
     LEFT JOIN secrets s ON s.id = c.id WHERE c.id = ?1";
const SELECT_SIGNED: &str = "SELECT version, digest FROM signed WHERE channel = ?1";
const SELECT_CHANNELS: &str = "SELECT id, version FROM channels ORDER BY id";

/// A [`Store`] in a SQLite file. See the module docs.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Whether the connection is at `synchronous = FULL` (else NORMAL, for
    /// one non-durable commit).
    full: bool,
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (mode 0600) if missing and
    /// bringing its schema up to date.
    ///
    /// # Errors
    ///
    /// - [`StoreError::Io`] if the file cannot be created or opened, if
    ///   its group or others may read or write it (the message says how to
    ///   fix that), or if SQLite fails;
    /// - [`StoreError::Corrupt`] if the file is not a SQLite database, or
    ///   is one that is not a sotto store;
    /// - [`StoreError::Schema`] if the file was written by a newer sotto.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let fs_err = |what: &str, e: std::io::Error| StoreError::Io {
            path: shown.clone(),
            message: format!("{what}: {e}"),
        };

        // Step 1: create the file private, or check that an existing one is.
        // SQLite opens the path again below: swapping the file in between
        // takes write access to its directory, which is the owner's to
        // guard, as it is for every file there.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            // Never truncate: an existing file is the party's channels.
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| fs_err("cannot open or create the file", e))?;
        let meta = file
            .metadata()
            .map_err(|e| fs_err("cannot read the file's metadata", e))?;
        if !meta.is_file() {
            return Err(StoreError::Io {
                path: shown,
                message: "not a regular file".into(),
            });
        }
        check_private(&shown, meta.permissions().mode())?;
        // The log holds recent records and secrets: it must be private too.
        let wal = wal_path(path);
        match std::fs::metadata(&wal) {
            Ok(meta) => check_private(&wal.display().to_string(), meta.permissions().mode())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fs_err("cannot read the write-ahead log's metadata", e)),
        }
        drop(file);

        // Step 2: open it with SQLite, which must not create it (it exists)
        // nor interpret the path as a URI.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| map_err(&shown, "open", e))?;
        let store = Self {
            conn,
            full: true,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The connection's `journal_mode` and `synchronous` setting, for
    /// checking that the store is durable: `("wal", 2)` (2 is FULL).
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if SQLite fails.
    pub fn pragmas(&self) -> Result<(String, i64), StoreError> {
        let journal: String = self
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(|e| self.err("read journal_mode", e))?;
        let synchronous: i64 = self
            .conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .map_err(|e| self.err("read synchronous", e))?;
        Ok((journal, synchronous))
    }

    /// Sets the per-connection pragmas. The first statement here reads the
    /// file's header, so this is where a file that is not SQLite fails.
    fn configure(&self) -> Result<(), StoreError> {
        let c = &self.conn;
        c.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.err("set the busy timeout", e))?;
        let mode: String = c
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| self.err("set journal_mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Io {
                path: self.shown(),
                message: format!(
                    "SQLite refused WAL mode (journal_mode is {mode:?}); is the file on a \
                     file system without shared memory, such as a network share?"
                ),
            });
        }
        // FULL: a commit syncs the log before it returns (NORMAL, the usual
        // WAL setting, may lose the last commits on power loss).
        c.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err("set synchronous", e))?;
        c.pragma_update(None, "secure_delete", "ON")
            .map_err(|e| self.err("set secure_delete", e))?;
        c.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| self.err("set foreign_keys", e))?;
        // Triggers or views a tampered file might carry run with no
        // side-effecting SQL functions.
        c.pragma_update(None, "trusted_schema", "OFF")
            .map_err(|e| self.err("set trusted_schema", e))?;
        Ok(())
    }

    /// Applies the migrations the file lacks, all in one transaction.
    fn migrate(&self) -> Result<(), StoreError> {
        // IMMEDIATE: two processes opening a new file at once serialise
        // here, and the second sees the first's schema.
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err("begin the migration", e))?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.err("read user_version", e))?;
        if !(0..=SCHEMA_VERSION).contains(&found) {
            return Err(StoreError::Schema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let app: i32 = tx
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(|e| self.err("read application_id", e))?;
        if found == 0 {
            // A new file is empty. A SQLite file with tables but no schema
            // version is someone else's: do not add ours to it.
            let objects: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
                .map_err(|e| self.err("read the schema", e))?;
            if objects != 0 || app != 0 {
                return Err(StoreError::Corrupt(format!(
                    "{} is a SQLite database but not a sotto store",
                    self.shown()
                )));
            }
        } else if app != APPLICATION_ID {
            return Err(StoreError::Corrupt(format!(
                "{} is a SQLite database but not a sotto store (application_id {app:#x})",
                self.shown()
            )));
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        // `found` is in 0..SCHEMA_VERSION here, so the casts are exact.
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(sql)
                .map_err(|e| self.err(&format!("apply migration {}", i + 1), e))?;
        }
        // PRAGMA takes no parameters; both values are our own integers.
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .map_err(|e| self.err("record the schema version", e))?;
        tx.commit().map_err(|e| self.err("commit the migration", e))
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn err(&self, what: &str, e: rusqlite::Error) -> StoreError {
        map_err(&self.shown(), what, e)
    }
}

impl Store for SqliteStore {
    fn commit(&mut self, step: &Snapshot) -> Result<(), StoreError> {
        let shown = self.path.display().to_string();
        let err = |e: rusqlite::Error| map_err(&shown, "commit", e);
        let id = &step.channel_id[..];
        // `synchronous` is per connection and cannot change inside a
        // transaction: set it for this commit. In WAL mode NORMAL appends
        // without a flush; the next FULL commit's flush of the log makes
        // this one durable too.
        if step.durable != self.full {
            let mode = if step.durable { "FULL" } else { "NORMAL" };
            self.conn
                .pragma_update(None, "synchronous", mode)
                .map_err(err)?;
            self.full = step.durable;
        }
        // Dropping `tx` on any early return rolls everything back.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.prepare_cached(UPSERT_CHANNEL)
            .and_then(|mut s| s.execute((id, step.version.cast_signed(), &step.record[..])))
            .map_err(err)?;
        tx.prepare_cached(UPSERT_SECRET)
            .and_then(|mut s| s.execute((id, &step.secret[..])))
            .map_err(err)?;
        if !step.signed.is_empty() {
            let mut insert = tx.prepare_cached(INSERT_SIGNED).map_err(err)?;
            for (version, digest) in &step.signed {
                let inserted = insert
                    .execute((id, version.cast_signed(), &digest[..]))
                    .map_err(err)?;
                if inserted == 1 {
                    continue;
                }
                // The version is already recorded: fine only if it is the
                // same state.
                let kept: Vec<u8> = tx
                    .prepare_cached(SELECT_SIGNED_ONE)
                    .and_then(|mut s| s.query_row((id, version.cast_signed()), |row| row.get(0)))
                    .map_err(err)?;
                if kept != digest[..] {
                    return Err(StoreError::DoubleSign {
                        channel: hex(id),
                        version: *version,
                    });
                }
            }
        }
        tx.commit().map_err(err)
    }

    fn load(&self, channel_id: &[u8; 32]) -> Result<Option<Loaded>, StoreError> {
        let err = |e: rusqlite::Error| self.err("load", e);
        let id = &channel_id[..];
        // One read transaction, so the record and the signing record come
        // from the same commit.
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = tx
            .prepare_cached(SELECT_CHANNEL)
            .and_then(|mut s| {
                s.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(err)?;
        let Some((record, secret)) = row else {
            return Ok(None);
        };
        let Some(secret) = secret.map(Zeroizing::new) else {
            return Err(StoreError::Corrupt(format!(
                "channel {} has a record but no secrets",
                hex(id)
            )));
        };
        let mut signed = BTreeMap::new();
        let mut stmt = tx.prepare_cached(SELECT_SIGNED).map_err(err)?;
        let mut rows = stmt.query([id]).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let version: i64 = row.get(0).map_err(err)?;
            let digest: Vec<u8> = row.get(1).map_err(err)?;
            let digest: [u8; 32] = digest.try_into().map_err(|d: Vec<u8>| {
                StoreError::Corrupt(format!(
                    "channel {} version {}: a signed digest of {} bytes, not 32",
                    hex(id),
                    version.cast_unsigned(),
                    d.len()
                ))
            })?;
            signed.insert(version.cast_unsigned(), digest);
        }
        drop(rows);
        drop(stmt);
        // Read-only: ending it either way changes nothing.
        tx.commit().map_err(err)?;
        Ok(Some(Loaded {
            record,
            secret,
            signed,
        }))
    }

    fn channels(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        let err = |e: rusqlite::Error| self.err("list channels", e);
        let mut stmt = self.conn.prepare_cached(SELECT_CHANNELS).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let id: Vec<u8> = row.get(0).map_err(err)?;
            let version: i64 = row.get(1).map_err(err)?;
            let id: [u8; 32] = id.try_into().map_err(|id: Vec<u8>| {
                StoreError::Corrupt(format!(
                    "a channel id of {} bytes, not 32: {}",
                    id.len(),
                    hex(&id)
                ))
            })?;
            out.push((id, version.cast_unsigned()));
        }
        // SQLite compares BLOBs with memcmp, the order of [u8; 32]; sorting
        // again (ids are unique, so by id) is cheap on sorted input and does
        // not trust the file.
        out.sort_unstable();
        Ok(out)
    }
}

/// The write-ahead log next to the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Refuses a file its group or others may access.
fn check_private(shown: &str, mode: u32) -> Result<(), StoreError> {
    if mode & 0o077 == 0 {
        return Ok(());
    }
    Err(StoreError::Io {
        path: shown.to_owned(),
        message: format!(
            "the file has mode {:04o}: other users may read the channel secrets in it. \
             Refusing to use it. If you are sure no one has, make it private \
             (chmod 600 {shown}) and open it again",
            mode & 0o7777
        ),
    })
}

/// Maps a SQLite error to a [`StoreError`]: a file that is not a database,
/// or a value of the wrong type or size where the schema forbids it, is
/// [`StoreError::Corrupt`]; everything else is [`StoreError::Io`].
fn map_err(path: &str, what: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    let corrupt = match &e {
        E::SqliteFailure(f, _) => {
            matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
        }
        E::InvalidColumnType(..) | E::FromSqlConversionFailure(..) => true,
        _ => false,
    };
    if corrupt {
        StoreError::Corrupt(format!("{path}: {what}: {e}"))
    } else {
        StoreError::Io {
            path: path.to_owned(),
            message: format!("{what}: {e}"),
        }
    }
}
