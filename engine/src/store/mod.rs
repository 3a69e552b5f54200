//! Where a party keeps its channels: one durable, atomic write per protocol
//! step.
//!
//! The update protocol ([`crate::channel::machine`]) decides *what* to keep;
//! a [`Store`] keeps it. Each step hands the store one [`Snapshot`]: the
//! channel's record (its latest fully signed state with every signature,
//! the update in flight, the phase), the party's secrets (its private
//! field openings: values and blindings), and the signing-record entries
//! the step adds. [`Store::commit`] writes all three in one transaction and
//! returns only once they are durable, so the machine can sign and send
//! after it. The store enforces the signer's invariant a second time: a
//! signing-record entry for a channel and version that already holds
//! another digest fails the whole transaction ([`StoreError::DoubleSign`]).
//!
//! Two implementations pass the same [`conformance`] suite:
//! - [`SqliteStore`]: a SQLite file (bundled SQLite through rusqlite) in
//!   WAL mode with `synchronous = FULL`, a schema version and migrations,
//!   file mode 0600 (SQLite gives its `-wal` and `-shm` files the database
//!   file's mode), `secure_delete` on so overwritten secrets do not linger
//!   in free pages.
//! - [`MemoryStore`]: a map behind a shared handle, for fast protocol tests
//!   and fuzzing; "reopening" it (cloning the handle) sees what was
//!   committed, like a file would.
//!
//! [`FaultyStore`] wraps either to inject the faults the crash tests need.

pub mod conformance;
mod faulty;
mod memory;
mod sqlite;

use std::collections::BTreeMap;

use thiserror::Error;
pub use zeroize::Zeroizing;

pub use faulty::{Fault, FaultyStore};
pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// What one protocol step writes, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The channel.
    pub channel_id: [u8; 32],
    /// The version of its latest fully signed state (for listings).
    pub version: u64,
    /// The channel's record, encoded by the protocol: replaces the last one.
    pub record: Vec<u8>,
    /// The party's secrets for this channel, encoded by the protocol:
    /// replaces the last ones. Zeroized when dropped.
    pub secret: Zeroizing<Vec<u8>>,
    /// Signing-record entries this step adds: (version, state digest).
    pub signed: Vec<(u64, [u8; 32])>,
    /// Whether the commit must be durable on return. `false` for a step
    /// that releases nothing (a proposer's record of a state its peers
    /// already completed): the store may leave it for the next durable
    /// commit to make durable (SQLite: one `synchronous = NORMAL`
    /// transaction, still atomic), saving a disk flush per update. After a
    /// crash such a step may be missing; the protocol recovers it from its
    /// peers.
    pub durable: bool,
}

/// What [`Store::load`] returns for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The last committed record.
    pub record: Vec<u8>,
    /// The last committed secrets.
    pub secret: Zeroizing<Vec<u8>>,
    /// The signing record: every version signed, with its digest.
    pub signed: BTreeMap<u64, [u8; 32]>,
}

/// Why a store operation failed. A failed [`Store::commit`] wrote nothing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A signing-record entry conflicts with one already kept.
    #[error(
        "version {version} of channel {channel} is already recorded as signed for another state"
    )]
    DoubleSign {
        /// The channel id, hex.
        channel: String,
        /// The version.
        version: u64,
    },
    /// The database file belongs to a newer sotto (or is not ours).
    #[error(
        "the store's schema version is {found}; this sotto reads up to {supported}: upgrade sotto, or use another store"
    )]
    Schema {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The file holds something that is not a well-formed store.
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// SQLite or the file system failed.
    #[error("store {path}: {message}")]
    Io {
        /// The database file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A fault injected by a test ([`FaultyStore`]).
    #[error("injected fault: the write failed")]
    Injected,
}

/// A durable home for channels. See the module docs.
pub trait Store {
    /// Writes `step` in one transaction, durable on return (unless
    /// `step.durable` is false); on error, nothing of it was written.
    fn commit(&mut self, step: &Snapshot) -> Result<(), StoreError>;

    /// The channel's last committed record, secrets and signing record.
    fn load(&self, channel_id: &[u8; 32]) -> Result<Option<Loaded>, StoreError>;

    /// Every channel held, with the version of its latest fully signed
    /// state, by channel id.
    fn channels(&self) -> Result<Vec<([u8; 32], u64)>, StoreError>;
}

/// Lower-case hex of a channel id, for messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
