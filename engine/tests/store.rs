//! The stores: the conformance suite on each implementation, then what is
//! particular to SQLite files (modes, pragmas, schema, foreign files) and
//! the fault injection the crash tests rely on.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sotto_engine::store::{
    Fault, FaultyStore, MemoryStore, Snapshot, SqliteStore, Store, StoreError, conformance,
};
use zeroize::Zeroizing;

/// A database path under the temp dir, unique per test; removed (with its
/// `-wal` and `-shm` files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "sotto-store-{name}-{}-{n}-{nanos}.db",
            std::process::id()
        ));
        let db = Self(path);
        db.remove();
        db
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut p = self.0.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    }

    fn remove(&self) {
        for p in [self.0.clone(), self.sibling("-wal"), self.sibling("-shm")] {
            let _ = fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn snapshot(id: u8, version: u64, fill: u8) -> Snapshot {
    Snapshot {
        channel_id: [id; 32],
        version,
        record: vec![fill; 600],
        secret: Zeroizing::new(vec![fill ^ 0xff; 64]),
        signed: vec![(version, [fill; 32])],
        durable: true,
    }
}

#[test]
fn sqlite_conformance() {
    let db = TempDb::new("conformance");
    conformance::run(|| SqliteStore::open(db.path()).unwrap());
}

#[test]
fn memory_conformance() {
    let store = MemoryStore::new();
    conformance::run(|| store.clone());
}

#[test]
fn faulty_without_faults_conformance() {
    let store = MemoryStore::new();
    conformance::run(|| FaultyStore::new(store.clone()));
}

#[test]
fn sqlite_files_are_private() {
    let db = TempDb::new("private");
    let mut store = SqliteStore::open(db.path()).unwrap();
    store.commit(&snapshot(1, 1, 1)).unwrap();
    // While the connection is open the log exists; closing it checkpoints
    // and removes it.
    assert_eq!(mode(db.path()), 0o600);
    assert_eq!(mode(&db.sibling("-wal")), 0o600);
    assert_eq!(mode(&db.sibling("-shm")), 0o600);
}

#[test]
fn sqlite_refuses_a_readable_file() {
    let db = TempDb::new("readable");
    drop(SqliteStore::open(db.path()).unwrap());
    fs::set_permissions(db.path(), fs::Permissions::from_mode(0o644)).unwrap();
    match SqliteStore::open(db.path()) {
        Err(StoreError::Io { path, message }) => {
            assert_eq!(path, db.path().display().to_string());
            assert!(message.contains("0644"), "{message}");
            assert!(message.contains("chmod 600"), "{message}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    // Refused, not changed.
    assert_eq!(mode(db.path()), 0o644);
    fs::set_permissions(db.path(), fs::Permissions::from_mode(0o600)).unwrap();
    SqliteStore::open(db.path()).unwrap();
}

#[test]
fn sqlite_refuses_a_readable_log() {
    let db = TempDb::new("readable-wal");
    fs::write(db.sibling("-wal"), b"").unwrap();
    fs::set_permissions(db.sibling("-wal"), fs::Permissions::from_mode(0o640)).unwrap();
    match SqliteStore::open(db.path()) {
        Err(StoreError::Io { message, .. }) => assert!(message.contains("0640"), "{message}"),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn sqlite_rejects_a_file_that_is_not_sqlite() {
    // A short text file, a page of noise, and noise behind a valid header
    // line (SQLite checks more than the magic string).
    let mut noise = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..8192 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push(x.to_le_bytes()[0]);
    }
    let mut headed = b"SQLite format 3\0".to_vec();
    headed.extend_from_slice(&noise);
    for (name, contents) in [
        ("text", b"not a database\n".to_vec()),
        ("noise", noise),
        ("headed", headed),
    ] {
        let db = TempDb::new(name);
        fs::write(db.path(), &contents).unwrap();
        fs::set_permissions(db.path(), fs::Permissions::from_mode(0o600)).unwrap();
        match SqliteStore::open(db.path()) {
            Err(StoreError::Corrupt(message)) => {
                assert!(
                    message.contains(&db.path().display().to_string()),
                    "{message}"
                );
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        // Nothing was written to it.
        assert_eq!(fs::read(db.path()).unwrap(), contents, "{name}");
    }
}

#[test]
fn sqlite_refuses_a_foreign_database() {
    let db = TempDb::new("foreign");
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT);")
            .unwrap();
    }
    fs::set_permissions(db.path(), fs::Permissions::from_mode(0o600)).unwrap();
    match SqliteStore::open(db.path()) {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("not a sotto store"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let db = TempDb::new("schema");
    let mut store = SqliteStore::open(db.path()).unwrap();
    store.commit(&snapshot(1, 1, 1)).unwrap();
    drop(store);
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    match SqliteStore::open(db.path()) {
        Err(StoreError::Schema { found, supported }) => {
            assert_eq!(found, 999);
            assert!(supported < 999);
        }
        other => panic!("expected Schema, got {other:?}"),
    }
}

#[test]
fn sqlite_reports_corrupt_rows() {
    // Rows the schema forbids, written by a connection told to ignore the
    // CHECK constraints: the store must say Corrupt, not crash or guess.
    let db = TempDb::new("rows");
    let mut store = SqliteStore::open(db.path()).unwrap();
    store.commit(&snapshot(1, 1, 1)).unwrap();
    store.commit(&snapshot(2, 1, 2)).unwrap();
    let raw = rusqlite::Connection::open(db.path()).unwrap();
    raw.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    raw.execute(
        "UPDATE signed SET digest = x'0102' WHERE channel = ?1",
        [&[1u8; 32][..]],
    )
    .unwrap();
    raw.execute("DELETE FROM secrets WHERE id = ?1", [&[2u8; 32][..]])
        .unwrap();
    assert!(matches!(store.load(&[1; 32]), Err(StoreError::Corrupt(_))));
    assert!(matches!(store.load(&[2; 32]), Err(StoreError::Corrupt(_))));
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO channels (id, version, record) VALUES (x'0a0b0c', 1, x'');",
    )
    .unwrap();
    assert!(matches!(store.channels(), Err(StoreError::Corrupt(_))));
}

#[test]
fn sqlite_is_durable() {
    let db = TempDb::new("pragmas");
    let store = SqliteStore::open(db.path()).unwrap();
    assert_eq!(store.pragmas().unwrap(), ("wal".to_owned(), 2));
}

/// A `Fail` writes nothing and the next commit works; a `Lose` returns
/// `Ok` and writes nothing, which a reopen shows.
fn do_test_faults<S: Store>(mut open: impl FnMut() -> S) {
    let mut store = FaultyStore::new(open());
    let first = snapshot(7, 1, 1);
    let second = snapshot(7, 2, 2);
    store.commit(&first).unwrap();
    let after_first = store.load(&[7; 32]).unwrap();

    store.inject(Fault::Fail);
    assert!(matches!(store.commit(&second), Err(StoreError::Injected)));
    assert_eq!(store.load(&[7; 32]).unwrap(), after_first);
    assert_eq!(open().load(&[7; 32]).unwrap(), after_first);
    assert_eq!(store.commits(), 1);

    store.commit(&second).unwrap();
    let after_second = open().load(&[7; 32]).unwrap().unwrap();
    assert_eq!(after_second.record, second.record);
    assert_eq!(store.commits(), 2);

    store.inject(Fault::Lose);
    store.commit(&snapshot(7, 3, 3)).unwrap();
    assert_eq!(store.commits(), 2);
    drop(store);
    let reopened = open();
    assert_eq!(reopened.load(&[7; 32]).unwrap(), Some(after_second));
    assert_eq!(reopened.channels().unwrap(), vec![([7; 32], 2)]);
}

#[test]
fn faults() {
    let db = TempDb::new("faults");
    do_test_faults(|| SqliteStore::open(db.path()).unwrap());
    let memory = MemoryStore::new();
    do_test_faults(|| memory.clone());
}
