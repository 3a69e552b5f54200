//! [`MemoryStore`]: channels in a map, for protocol tests and fuzzing.
//!
//! Clones share one map, so a clone plays the part of the same file
//! opened again: it sees everything committed through any handle. The
//! semantics are [`SqliteStore`](super::SqliteStore)'s, checked by the same
//! [`conformance`](super::conformance) suite; only durability is missing.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use zeroize::Zeroizing;

use super::{Loaded, Snapshot, Store, StoreError, hex};

/// A [`Store`] in memory, shared between its clones. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    channels: Arc<Mutex<BTreeMap<[u8; 32], Entry>>>,
}

/// One channel as committed.
struct Entry {
    version: u64,
    record: Vec<u8>,
    secret: Zeroizing<Vec<u8>>,
    signed: BTreeMap<u64, [u8; 32]>,
}

impl fmt::Debug for Entry {
    /// Leaves the secrets out: a test failure's output is no place for them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("version", &self.version)
            .field("record_len", &self.record.len())
            .field("secret_len", &self.secret.len())
            .field("signed", &self.signed)
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The map, or [`StoreError::Io`] if a thread panicked while holding
    /// it: what it holds then may be half-written.
    fn lock(&self) -> Result<MutexGuard<'_, BTreeMap<[u8; 32], Entry>>, StoreError> {
        self.channels.lock().map_err(|_| StoreError::Io {
            path: "(memory)".into(),
            message: "a thread panicked while holding the store's lock".into(),
        })
    }
}

impl Store for MemoryStore {
    fn commit(&mut self, step: &Snapshot) -> Result<(), StoreError> {
        let mut channels = self.lock()?;
        // Step 1: check every signing-record entry against the kept record
        // and against the snapshot's own earlier entries, before touching
        // anything, so a conflict writes nothing.
        let kept = channels.get(&step.channel_id).map(|e| &e.signed);
        let mut added = BTreeMap::new();
        for &(version, digest) in &step.signed {
            let prior = kept
                .and_then(|k| k.get(&version))
                .or_else(|| added.get(&version));
            match prior {
                Some(d) if *d != digest => {
                    return Err(StoreError::DoubleSign {
                        channel: hex(&step.channel_id),
                        version,
                    });
                }
                Some(_) => {}
                None => {
                    added.insert(version, digest);
                }
            }
        }
        // Step 2: apply.
        let entry = channels.entry(step.channel_id).or_insert_with(|| Entry {
            version: step.version,
            record: Vec::new(),
            secret: Zeroizing::new(Vec::new()),
            signed: BTreeMap::new(),
        });
        entry.version = step.version;
        entry.record.clone_from(&step.record);
        entry.secret = step.secret.clone();
        entry.signed.extend(added);
        Ok(())
    }

    fn load(&self, channel_id: &[u8; 32]) -> Result<Option<Loaded>, StoreError> {
        Ok(self.lock()?.get(channel_id).map(|e| Loaded {
            record: e.record.clone(),
            secret: e.secret.clone(),
            signed: e.signed.clone(),
        }))
    }

    fn channels(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        Ok(self
            .lock()?
            .iter()
            .map(|(id, e)| (*id, e.version))
            .collect())
    }
}
