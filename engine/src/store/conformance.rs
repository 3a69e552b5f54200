//! The behaviour every [`Store`] must have, as one suite: [`run`].
//!
//! This is test support, shipped in the library so that every
//! implementation's tests (and any out-of-tree store) run the same checks.
//! It reports a failure by panicking, as a test does, with the name of the
//! failing check; nothing outside tests should call it.
//!
//! The suite keeps a model of what the store should hold (every successful
//! commit applied to a map) and, after each check, opens the store anew
//! and compares all of it, every channel, with the model: a check that
//! leaves anything wrong behind fails even where it did not look.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use super::{Loaded, Snapshot, Store, StoreError, hex};

/// Runs every check against the store that `open` opens, panicking with
/// the check's name on the first failure.
///
/// Each call to `open` must open the *same* store anew, as a restarted
/// process would: a new connection to the same file, a clone of the same
/// in-memory handle. The first call must find the store empty. The checks
/// share the store and use disjoint channel ids.
///
/// # Panics
///
/// If the store does not behave as a [`Store`] must; see the module docs.
pub fn run<S: Store>(mut open: impl FnMut() -> S) {
    let checks: &[(&'static str, Check<S>)] = &[
        ("empty store lists nothing and loads nothing", empty),
        ("commit then load returns what was written", round_trip),
        (
            "later commits replace record and secret and add to the signing record",
            accumulates,
        ),
        ("a reopened store sees every commit", reopen),
        (
            "the same signed version and digest twice is accepted",
            same_digest,
        ),
        (
            "a conflicting digest fails with DoubleSign and writes nothing",
            double_sign,
        ),
        (
            "channels() lists every channel with its version, sorted",
            listing,
        ),
        ("channels are independent", independent),
        ("versions 0 and u64::MAX round-trip", extreme_versions),
        ("a 1 MiB record round-trips", large_record),
        ("an empty secret and record round-trip", empty_values),
    ];
    let mut h = Harness {
        open: &mut open,
        model: BTreeMap::new(),
        check: "",
        tag: 0,
    };
    for (tag, &(name, check)) in (1u8..).zip(checks) {
        h.check = name;
        h.tag = tag;
        check(&mut h);
        h.verify();
    }
}

type Check<S> = for<'a> fn(&mut Harness<'a, S>);

/// The state of a run: how to reopen, and what the store should hold.
struct Harness<'a, S> {
    open: &'a mut dyn FnMut() -> S,
    /// Every channel committed: its listed version and what a load returns.
    model: BTreeMap<[u8; 32], (u64, Loaded)>,
    /// The running check's name, for failure messages.
    check: &'static str,
    /// The running check's first id byte, so checks use disjoint ids.
    tag: u8,
}

impl<S: Store> Harness<'_, S> {
    fn open(&mut self) -> S {
        (self.open)()
    }

    fn fail(&self, what: fmt::Arguments<'_>) -> ! {
        panic!("store conformance check `{}` failed: {what}", self.check)
    }

    /// The `n`th channel id of the running check. Ids are scrambled, so
    /// commit order is not id order.
    fn id(&self, n: u32) -> [u8; 32] {
        let mut id = [0u8; 32];
        id[0] = self.tag;
        id[1..5].copy_from_slice(&n.wrapping_mul(0x9e37_79b9).to_be_bytes());
        id[28..].copy_from_slice(&n.to_be_bytes());
        id
    }

    /// Commits `step`, which must succeed, and applies it to the model.
    fn commit(&mut self, store: &mut S, step: &Snapshot) {
        if let Err(e) = store.commit(step) {
            self.fail(format_args!(
                "commit of channel {} version {} failed: {e}",
                hex(&step.channel_id),
                step.version
            ));
        }
        let (version, kept) = self.model.entry(step.channel_id).or_insert_with(|| {
            (
                0,
                Loaded {
                    record: Vec::new(),
                    secret: Zeroizing::new(Vec::new()),
                    signed: BTreeMap::new(),
                },
            )
        });
        *version = step.version;
        kept.record.clone_from(&step.record);
        kept.secret = step.secret.clone();
        let mut conflict = None;
        for &(v, d) in &step.signed {
            if kept.signed.insert(v, d).is_some_and(|old| old != d) {
                conflict = Some(v);
            }
        }
        if let Some(v) = conflict {
            self.fail(format_args!(
                "the store accepted a second digest for version {v} (or the check \
                 meant to double-sign and used the wrong helper)"
            ));
        }
    }

    /// Commits `step`, which must fail with [`StoreError::DoubleSign`] on
    /// `version`. The model is left as it is: nothing may be written.
    fn commit_double_sign(&mut self, store: &mut S, step: &Snapshot, version: u64) {
        match store.commit(step) {
            Err(StoreError::DoubleSign {
                channel,
                version: v,
            }) if channel == hex(&step.channel_id) && v == version => {}
            other => self.fail(format_args!(
                "expected DoubleSign for channel {} version {version}, got {other:?}",
                hex(&step.channel_id)
            )),
        }
        self.expect_as_model(store, &step.channel_id);
    }

    /// Loads `id` from `store` and compares it with the model.
    fn expect_as_model(&self, store: &S, id: &[u8; 32]) {
        let loaded = match store.load(id) {
            Ok(l) => l,
            Err(e) => self.fail(format_args!("load of channel {} failed: {e}", hex(id))),
        };
        let expected = self.model.get(id).map(|(_, l)| l);
        if loaded.as_ref() != expected {
            self.fail(format_args!(
                "channel {}: loaded {}, expected {}",
                hex(id),
                describe(loaded.as_ref()),
                describe(expected)
            ));
        }
    }

    /// Lists the channels of `store`, which must succeed.
    fn list(&self, store: &S) -> Vec<([u8; 32], u64)> {
        match store.channels() {
            Ok(list) => list,
            Err(e) => self.fail(format_args!("channels() failed: {e}")),
        }
    }

    /// Opens the store anew and compares all of it with the model.
    fn verify(&mut self) {
        let store = self.open();
        let listed = self.list(&store);
        let expected: Vec<_> = self.model.iter().map(|(id, (v, _))| (*id, *v)).collect();
        if listed != expected {
            self.fail(format_args!(
                "after reopening, channels() lists {} channels, expected {}: {:?}",
                listed.len(),
                expected.len(),
                listed
                    .iter()
                    .map(|(id, v)| format!("{}@{v}", hex(id)))
                    .collect::<Vec<_>>()
            ));
        }
        for id in self.model.keys() {
            self.expect_as_model(&store, id);
        }
        // An id no check uses.
        self.expect_as_model(&store, &[0xff; 32]);
    }
}

/// A short description of a load's result, without the secret's bytes.
fn describe(l: Option<&Loaded>) -> String {
    match l {
        None => "nothing".into(),
        Some(l) => format!(
            "record of {} bytes (starting {}), secret of {} bytes, signed {:?}",
            l.record.len(),
            hex(&l.record[..l.record.len().min(8)]),
            l.secret.len(),
            l.signed
                .iter()
                .map(|(v, d)| format!("{v}:{}", hex(&d[..4])))
                .collect::<Vec<_>>()
        ),
    }
}

/// `len` bytes that depend on `seed` (an xorshift stream).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn digest(seed: u64) -> [u8; 32] {
    let mut d = [0u8; 32];
    d.copy_from_slice(&bytes(32, seed ^ 0xd1));
    d
}

fn snapshot(id: [u8; 32], version: u64, seed: u64, signed: &[(u64, [u8; 32])]) -> Snapshot {
    Snapshot {
        channel_id: id,
        version,
        record: bytes(600, seed),
        secret: Zeroizing::new(bytes(96, !seed)),
        signed: signed.to_vec(),
        // Both kinds of commit, alike to every reader.
        durable: seed.is_multiple_of(2),
    }
}

fn empty<S: Store>(h: &mut Harness<'_, S>) {
    if !h.model.is_empty() {
        h.fail(format_args!("runs first, on an empty store"));
    }
    let store = h.open();
    let listed = h.list(&store);
    if !listed.is_empty() {
        h.fail(format_args!("a new store lists {} channels", listed.len()));
    }
    h.expect_as_model(&store, &h.id(0));
}

fn round_trip<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    h.commit(&mut store, &snapshot(id, 1, 1, &[(1, digest(1))]));
    h.expect_as_model(&store, &id);
}

fn accumulates<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    h.commit(&mut store, &snapshot(id, 0, 10, &[(0, digest(10))]));
    h.commit(&mut store, &snapshot(id, 1, 11, &[(1, digest(11))]));
    h.expect_as_model(&store, &id);
    // A step that signs two versions, and one that signs none.
    h.commit(
        &mut store,
        &snapshot(id, 3, 12, &[(2, digest(12)), (3, digest(13))]),
    );
    h.commit(&mut store, &snapshot(id, 3, 14, &[]));
    h.expect_as_model(&store, &id);
    let signed = h.model.get(&id).map_or(0, |(_, l)| l.signed.len());
    if signed != 4 {
        h.fail(format_args!(
            "the suite's model has {signed} entries, not 4"
        ));
    }
}

fn reopen<S: Store>(h: &mut Harness<'_, S>) {
    let id = h.id(0);
    {
        let mut store = h.open();
        h.commit(&mut store, &snapshot(id, 5, 20, &[(5, digest(20))]));
    }
    let early = h.open();
    h.expect_as_model(&early, &id);
    // A handle opened before a commit sees it too.
    let mut store = h.open();
    h.commit(&mut store, &snapshot(id, 6, 21, &[(6, digest(21))]));
    h.expect_as_model(&early, &id);
    drop(store);
    h.expect_as_model(&early, &id);
}

fn same_digest<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    h.commit(&mut store, &snapshot(id, 1, 30, &[(1, digest(30))]));
    // The same step again, as a retry after a crash would write it.
    h.commit(&mut store, &snapshot(id, 1, 30, &[(1, digest(30))]));
    // A kept entry repeated next to a new one, and an entry repeated
    // within one snapshot.
    h.commit(
        &mut store,
        &snapshot(
            id,
            2,
            31,
            &[(1, digest(30)), (2, digest(31)), (2, digest(31))],
        ),
    );
    h.expect_as_model(&store, &id);
}

fn double_sign<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    h.commit(&mut store, &snapshot(id, 1, 40, &[(1, digest(40))]));
    // Conflicts with a kept entry; the snapshot's other entry, record,
    // secret and version must not be written either.
    h.commit_double_sign(
        &mut store,
        &snapshot(id, 2, 41, &[(2, digest(41)), (1, digest(42))]),
        1,
    );
    // Conflicts within the snapshot itself.
    h.commit_double_sign(
        &mut store,
        &snapshot(id, 7, 43, &[(7, digest(43)), (7, digest(44))]),
        7,
    );
    // A new channel whose first step conflicts with itself is not created.
    let fresh = h.id(1);
    h.commit_double_sign(
        &mut store,
        &snapshot(fresh, 1, 45, &[(1, digest(45)), (1, digest(46))]),
        1,
    );
    // Another channel may sign anything for the same version.
    h.commit(&mut store, &snapshot(h.id(2), 1, 47, &[(1, digest(42))]));
    // The store still works after a refused commit.
    h.commit(&mut store, &snapshot(id, 2, 48, &[(2, digest(48))]));
    h.expect_as_model(&store, &id);
    drop(store);
    let store = h.open();
    h.expect_as_model(&store, &id);
    h.expect_as_model(&store, &fresh);
}

fn listing<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    for n in 0..20u32 {
        let version = u64::from(n % 5) * 1_000;
        let step = snapshot(h.id(n), version, u64::from(n) + 50, &[]);
        h.commit(&mut store, &step);
    }
    // A new version replaces the listed one.
    let step = snapshot(h.id(3), 77, 70, &[(77, digest(70))]);
    h.commit(&mut store, &step);
    let listed = h.list(&store);
    if !listed.windows(2).all(|w| w[0].0 < w[1].0) {
        h.fail(format_args!(
            "channels() is not sorted by id without repeats"
        ));
    }
    let mine: Vec<_> = listed.iter().filter(|(id, _)| id[0] == h.tag).collect();
    if mine.len() != 20 || !mine.iter().any(|&&(id, v)| id == h.id(3) && v == 77) {
        h.fail(format_args!(
            "channels() lists {} of this check's 20 channels, or a stale version",
            mine.len()
        ));
    }
}

fn independent<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    for n in 0..64u32 {
        let seed = u64::from(n) + 100;
        h.commit(
            &mut store,
            &snapshot(h.id(n), 1, seed, &[(1, digest(seed))]),
        );
    }
    // Updating one, through a second handle, changes no other.
    let mut other = h.open();
    h.commit(&mut other, &snapshot(h.id(9), 2, 200, &[(2, digest(200))]));
    for n in 0..64u32 {
        h.expect_as_model(&store, &h.id(n));
    }
}

fn extreme_versions<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let top = h.id(0);
    let half = 1u64 << 63;
    let versions = [0, 1, half - 1, half, u64::MAX - 1, u64::MAX];
    let signed: Vec<_> = versions.iter().map(|&v| (v, digest(v))).collect();
    h.commit(&mut store, &snapshot(top, u64::MAX, 300, &signed));
    h.commit(&mut store, &snapshot(h.id(1), 0, 301, &[(0, digest(301))]));
    h.commit(
        &mut store,
        &snapshot(h.id(2), half, 302, &[(half, digest(302))]),
    );
    h.commit_double_sign(
        &mut store,
        &snapshot(top, u64::MAX, 303, &[(u64::MAX, digest(303))]),
        u64::MAX,
    );
    h.commit_double_sign(
        &mut store,
        &snapshot(top, u64::MAX, 304, &[(half, digest(304))]),
        half,
    );
    let listed = h.list(&store);
    for (n, version) in [(0, u64::MAX), (1, 0), (2, half)] {
        if !listed.contains(&(h.id(n), version)) {
            h.fail(format_args!("channels() lacks version {version}"));
        }
    }
}

fn large_record<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    let mut step = snapshot(id, 1, 400, &[(1, digest(400))]);
    step.record = bytes(1 << 20, 401);
    step.secret = Zeroizing::new(bytes(64 << 10, 402));
    h.commit(&mut store, &step);
    h.expect_as_model(&store, &id);
    // And back to a small one: nothing of the large one remains.
    h.commit(&mut store, &snapshot(id, 2, 403, &[(2, digest(403))]));
    h.expect_as_model(&store, &id);
}

fn empty_values<S: Store>(h: &mut Harness<'_, S>) {
    let mut store = h.open();
    let id = h.id(0);
    let step = Snapshot {
        channel_id: id,
        version: 0,
        record: Vec::new(),
        secret: Zeroizing::new(Vec::new()),
        signed: Vec::new(),
        durable: true,
    };
    h.commit(&mut store, &step);
    h.expect_as_model(&store, &id);
    // A secret emptied after holding something.
    let other = h.id(1);
    h.commit(&mut store, &snapshot(other, 1, 500, &[(1, digest(500))]));
    h.commit(
        &mut store,
        &Snapshot {
            secret: Zeroizing::new(Vec::new()),
            ..snapshot(other, 2, 501, &[])
        },
    );
    h.expect_as_model(&store, &other);
}
