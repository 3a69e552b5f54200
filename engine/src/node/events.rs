//! The node's event log: what happened, for `sotto channel events`.
//!
//! In memory, the latest [`KEEP`] events, numbered from 1 for the node's
//! lifetime; a reader asks for the events after the last number it saw and
//! may wait for the next one.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;

use crate::store::hex;

/// Events kept.
pub const KEEP: usize = 10_000;

/// One event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeEvent {
    /// Its number (from 1).
    pub seq: u64,
    /// The node's clock when it happened.
    pub time: u64,
    /// The channel, hex (none for node events).
    pub channel: Option<String>,
    /// What kind: `opened`, `updated`, `chain`, `failure`, ...
    pub kind: String,
    /// Its details.
    pub detail: serde_json::Value,
    /// In words.
    pub text: String,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct EventLog {
    inner: Mutex<(u64, VecDeque<NodeEvent>)>,
    notify: Notify,
}

impl EventLog {
    /// Adds an event.
    pub fn push(
        &self,
        channel: Option<[u8; 32]>,
        kind: &str,
        detail: serde_json::Value,
        text: String,
    ) {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Ok(mut inner) = self.inner.lock() {
            inner.0 += 1;
            let seq = inner.0;
            if inner.1.len() >= KEEP {
                inner.1.pop_front();
            }
            inner.1.push_back(NodeEvent {
                seq,
                time,
                channel: channel.map(|c| hex(&c)),
                kind: kind.to_owned(),
                detail,
                text,
            });
        }
        self.notify.notify_waiters();
    }

    /// The events after number `since` (of `channel`, if given), at most
    /// `limit`.
    pub fn since(&self, since: u64, channel: Option<&str>, limit: usize) -> Vec<NodeEvent> {
        let Ok(inner) = self.inner.lock() else {
            return Vec::new();
        };
        inner
            .1
            .iter()
            .filter(|e| e.seq > since)
            .filter(|e| channel.is_none_or(|c| e.channel.as_deref() == Some(c)))
            .take(limit)
            .cloned()
            .collect()
    }

    /// [`EventLog::since`], waiting up to `wait` for one if there is none.
    pub async fn wait(
        &self,
        since: u64,
        channel: Option<&str>,
        limit: usize,
        wait: Duration,
    ) -> Vec<NodeEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let found = self.since(since, channel, limit);
            if !found.is_empty() {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Vec::new();
            }
        }
    }
}
