//! [`FaultyStore`]: a store that fails on demand, for the crash tests.
//!
//! It wraps any [`Store`] and passes everything through, except that the
//! next commit after [`FaultyStore::inject`] suffers the injected
//! [`Fault`]. Loads and listings are never faulted: they read what the
//! inner store holds, which is what a restarted process would find.

use super::{Loaded, Snapshot, Store, StoreError};

/// What goes wrong with the next commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The commit fails with [`StoreError::Injected`] and writes nothing:
    /// a write error the process sees and must handle.
    Fail,
    /// The commit returns `Ok(())` but writes nothing: the process crashed
    /// during the write and did not live to see it fail. After this the
    /// caller must treat the process as dead (drop everything but the
    /// inner store and reload from it); carrying on as if the commit had
    /// happened is not a state a real process can reach.
    Lose,
}

/// A [`Store`] wrapper that injects [`Fault`]s. See the module docs.
#[derive(Debug)]
pub struct FaultyStore<S: Store> {
    inner: S,
    next: Option<Fault>,
    commits: u64,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner`, with no fault pending.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            next: None,
            commits: 0,
        }
    }

    /// Makes the next commit (and only that one) suffer `fault`, replacing
    /// any fault still pending.
    pub fn inject(&mut self, fault: Fault) {
        self.next = Some(fault);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store, dropping any pending fault.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// How many commits reached the inner store and succeeded. A commit
    /// that suffered a fault, [`Fault::Lose`] included, is not counted.
    pub fn commits(&self) -> u64 {
        self.commits
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn commit(&mut self, step: &Snapshot) -> Result<(), StoreError> {
        match self.next.take() {
            Some(Fault::Fail) => Err(StoreError::Injected),
            Some(Fault::Lose) => Ok(()),
            None => {
                self.inner.commit(step)?;
                self.commits += 1;
                Ok(())
            }
        }
    }

    fn load(&self, channel_id: &[u8; 32]) -> Result<Option<Loaded>, StoreError> {
        self.inner.load(channel_id)
    }

    fn channels(&self) -> Result<Vec<([u8; 32], u64)>, StoreError> {
        self.inner.channels()
    }
}
