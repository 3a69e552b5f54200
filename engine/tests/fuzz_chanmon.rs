//! Runs the `chanmon` fuzz body (`sotto_engine::fuzzing::chanmon`) on
//! stable: over the committed corpus in `fuzz/corpus/chanmon/`, over
//! mutations of it, and over random bytes. Set `SOTTO_TEST_SEED` to replay
//! a run; the seed is printed. `SOTTO_WRITE_CORPUS=1` (re)writes the seed
//! corpus.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_circuits::fuzzing::harness::{corpus_dir, exercise};
use sotto_engine::fuzzing::chanmon::chanmon;

/// Op codes of the body (`op % 12`), to write readable seeds.
const CALL: u8 = 0;
const DELIVER: u8 = 2;
const DELIVER_ANY: u8 = 4;
const DROP: u8 = 5;
const KILL: u8 = 6;
const RESTART: u8 = 7;
const CRASH: u8 = 8;
const TIME: u8 = 9;
const REVEAL: u8 = 10;
const CLOSE: u8 = 11;

fn write_corpus() {
    let dir = corpus_dir("chanmon");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    // payment: both parties pay at once (crossing), everything delivered.
    write(
        "payment_crossing",
        &[
            0, 1, CALL, 0, 5, 0, CALL, 1, 3, 0, DELIVER, 0, 3, DELIVER, 0, 3,
        ],
    );
    // payment: a crash while countersigning, a dropped message, a restart.
    write(
        "payment_crash",
        &[
            0,
            2,
            CALL,
            0,
            7,
            3,
            CRASH,
            5,
            2,
            1,
            0,
            CALL,
            1,
            4,
            3,
            DROP,
            0,
            0,
            RESTART,
            1,
            3,
            DELIVER_ANY,
            1,
            3,
        ],
    );
    // payment: a silent party, time passes, a close.
    write(
        "payment_silent",
        &[
            0, 3, CALL, 0, 9, 3, KILL, 1, 0, TIME, 31, 3, TIME, 31, 3, CLOSE, 0, 3,
        ],
    );
    // auction: bids by both bidders, a reveal, a restart.
    write(
        "auction_bids",
        &[
            1, 4, CALL, 0, 20, 3, CALL, 1, 30, 3, REVEAL, 1, 3, KILL, 2, 0, RESTART, 2, 3, CALL, 2,
            0, 3,
        ],
    );
    let mut rng = StdRng::seed_from_u64(0xc4a2_0001);
    for (i, len) in [32usize, 96, 256].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        write(&format!("random_{i}"), &bytes);
    }
}

#[test]
fn chanmon_target_over_corpus_and_mutations() {
    if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    exercise("chanmon", chanmon, 40, 300);
}
