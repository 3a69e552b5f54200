//! A signer that never signs two different states with one version.
//!
//! Two signatures on two different states of one channel and version would
//! let a counterparty register whichever pays it more; the adjudicator can
//! only order states by version. So before a [`Signer`] signs, it makes a
//! durable record of `(channel id, version, state digest)`, and it refuses
//! any later request for the same channel and version with another digest.
//! The same state again gets the same signature (RFC 6979 nonces).
//!
//! The record is an append-only file of 72-byte entries (`channel id ‖
//! version (u64 big-endian) ‖ digest`), synced to disk before the signature
//! is returned. A crash during an append leaves a torn last entry; its
//! signature was never released, so reopening drops it. (The protocol's
//! state machine keeps its signing record in its store instead, in the same
//! transaction as the state; this signer serves the store-less
//! `channel::local` harness.)

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::State;
use super::keys::{Signature, SigningKey};

/// Bytes of one record entry.
const ENTRY: usize = 32 + 8 + 32;

/// Why the signer refused or failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignError {
    /// A different state was already signed with this channel and version.
    #[error("version {version} of channel {channel} was already signed for another state")]
    Conflict {
        /// The channel id, hex.
        channel: String,
        /// The version.
        version: u64,
    },
    /// The record could not be read or made durable: nothing was signed.
    #[error("signing record {path}: {source}")]
    Io {
        /// The record file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Signs states, at most one per channel and version. See the module docs.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    path: PathBuf,
    file: File,
    signed: HashMap<([u8; 32], u64), [u8; 32]>,
}

impl Signer {
    /// Opens (or creates) the record at `path` for `key`.
    pub fn open(key: SigningKey, path: &Path) -> Result<Self, SignError> {
        let io = |source| SignError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let whole = bytes.len() - bytes.len() % ENTRY;
        if whole != bytes.len() {
            // A torn append: its signature was never released.
            file.set_len(u64::try_from(whole).unwrap_or(0))
                .and_then(|()| file.sync_all())
                .map_err(io)?;
        }
        let mut signed = HashMap::new();
        for entry in bytes[..whole].chunks_exact(ENTRY) {
            let mut channel = [0u8; 32];
            let mut version = [0u8; 8];
            let mut digest = [0u8; 32];
            channel.copy_from_slice(&entry[..32]);
            version.copy_from_slice(&entry[32..40]);
            digest.copy_from_slice(&entry[40..]);
            signed.insert((channel, u64::from_be_bytes(version)), digest);
        }
        Ok(Signer {
            key,
            path: path.to_owned(),
            file,
            signed,
        })
    }

    /// The signing key's address.
    pub fn address(&self) -> super::Address {
        self.key.address()
    }

    /// Signs `state`, unless another state with its channel and version was
    /// signed before; the record is durable before the signature exists.
    pub fn sign(&mut self, state: &State) -> Result<Signature, SignError> {
        let digest = state.digest();
        let slot = (state.channel_id, state.version);
        match self.signed.get(&slot) {
            Some(d) if *d == digest => return Ok(self.key.sign(&digest)),
            Some(_) => {
                return Err(SignError::Conflict {
                    channel: state
                        .channel_id
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                    version: state.version,
                });
            }
            None => {}
        }
        let mut entry = Vec::with_capacity(ENTRY);
        entry.extend_from_slice(&state.channel_id);
        entry.extend_from_slice(&state.version.to_be_bytes());
        entry.extend_from_slice(&digest);
        self.file
            .write_all(&entry)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| SignError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.signed.insert(slot, digest);
        Ok(self.key.sign(&digest))
    }
}

#[cfg(test)]
mod tests {
    use super::super::recover;
    use super::*;

    fn state(version: u64, a: u64) -> State {
        State {
            channel_id: [3; 32],
            version,
            commitment: [0; 32],
            allocation: vec![a, 100 - a],
            is_final: false,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sotto-signer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("signed")
    }

    #[test]
    fn one_state_per_version_across_restarts() {
        let path = scratch("restart");
        let secret = [9u8; 32];
        let mut signer = Signer::open(SigningKey::from_bytes(&secret).unwrap(), &path).unwrap();
        let s1 = state(1, 60);
        let sig = signer.sign(&s1).unwrap();
        assert_eq!(recover(&s1.digest(), &sig).unwrap(), signer.address());
        // The same state again: the same signature.
        assert_eq!(signer.sign(&s1).unwrap(), sig);
        // Another state with that version: refused.
        assert!(matches!(
            signer.sign(&state(1, 40)),
            Err(SignError::Conflict { version: 1, .. })
        ));
        drop(signer);
        // After a restart the record still holds, and the next version signs.
        let mut signer = Signer::open(SigningKey::from_bytes(&secret).unwrap(), &path).unwrap();
        assert!(matches!(
            signer.sign(&state(1, 40)),
            Err(SignError::Conflict { .. })
        ));
        assert!(signer.sign(&state(2, 40)).is_ok());
    }

    #[test]
    fn a_torn_last_entry_is_dropped() {
        let path = scratch("torn");
        let secret = [9u8; 32];
        let mut signer = Signer::open(SigningKey::from_bytes(&secret).unwrap(), &path).unwrap();
        signer.sign(&state(1, 60)).unwrap();
        drop(signer);
        // A crash in the middle of appending version 2's entry.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[3u8; 40]).unwrap();
        drop(f);
        let mut signer = Signer::open(SigningKey::from_bytes(&secret).unwrap(), &path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), ENTRY as u64);
        assert!(signer.sign(&state(2, 10)).is_ok());
        assert!(matches!(
            signer.sign(&state(1, 10)),
            Err(SignError::Conflict { .. })
        ));
    }
}
