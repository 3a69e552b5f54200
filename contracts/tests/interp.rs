//! The reference interpreter: the library contracts played through their
//! scenarios, then small contracts written for one point each (arithmetic
//! faults and their reasons, short-circuits, taint, silent transfers, bad
//! input), then random inputs to every library function.
//!
//! Every call goes through one harness, [`Channel`], which also checks what
//! must hold of every call: it is deterministic, it conserves the
//! allocation's total, and a channel continues from the live allocation of
//! a successful call and is unchanged by a failed one. Randomised tests
//! print their seed; set `SOTTO_TEST_SEED` to replay.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest as _, Sha256};
use sha3::Keccak256;
use sotto_circuits::fuzzing::harness::seed;
use sotto_contracts::abi::{Value, ValueType};
use sotto_contracts::check::check;
use sotto_contracts::interp::{self, Failure, Input, InputError, Output};
use sotto_contracts::syntax::ast::{Contract, Type};
use sotto_contracts::syntax::parse;
use sotto_contracts::{Severity, render};

use Value::{Bool, Bytes32, Party, U64};

// --- The harness -------------------------------------------------------------

/// A contract, parsed and checked, with the state a channel holds between
/// calls.
#[derive(Clone)]
struct Channel {
    source: String,
    tree: Contract,
    fields: Vec<Value>,
    allocation: Vec<u64>,
    now: u64,
}

impl Channel {
    /// contracts/examples/`name`.sotto, at its initial field values.
    fn example(name: &str, allocation: &[u64]) -> Self {
        let path = format!("{}/examples/{name}.sotto", env!("CARGO_MANIFEST_DIR"));
        Channel::new(&std::fs::read_to_string(path).unwrap(), allocation)
    }

    /// `source`, which must parse and check without errors.
    fn new(source: &str, allocation: &[u64]) -> Self {
        let (tree, mut diags) = parse(source);
        diags.extend(check(&tree));
        diags.retain(|d| d.severity == Severity::Error);
        assert!(diags.is_empty(), "{}", render("t.sotto", source, &diags));
        Channel {
            source: source.to_owned(),
            fields: interp::initial_fields(&tree).unwrap(),
            tree,
            allocation: allocation.to_vec(),
            now: 0,
        }
    }

    fn field_index(&self, name: &str) -> usize {
        self.tree
            .fields
            .iter()
            .position(|f| f.name.name == name)
            .unwrap_or_else(|| panic!("no field `{name}`"))
    }

    fn get(&self, field: &str) -> Value {
        self.fields[self.field_index(field)]
    }

    fn set(&mut self, field: &str, value: Value) -> &mut Self {
        let i = self.field_index(field);
        self.fields[i] = value;
        self
    }

    fn party(&self, name: &str) -> Value {
        Party(
            self.tree
                .parties
                .iter()
                .position(|p| p.name == name)
                .unwrap()
                .try_into()
                .unwrap(),
        )
    }

    fn input(&self, args: &[Value]) -> Input {
        Input {
            fields: self.fields.clone(),
            args: args.to_vec(),
            allocation: self.allocation.clone(),
            now: self.now,
        }
    }

    /// Calls `function`; on success the channel continues from its fields
    /// and live allocation, on failure it is unchanged.
    fn call(&mut self, function: &str, args: &[Value]) -> Result<Output, Failure> {
        let input = self.input(args);
        let result = interp::run(&self.tree, &self.source, function, &input);
        assert_eq!(
            interp::run(&self.tree, &self.source, function, &input),
            result,
            "a second run of `{function}` differs"
        );
        if let Ok(out) = &result {
            let total: u64 = input.allocation.iter().sum();
            assert_eq!(out.live.iter().sum::<u64>(), total, "live total");
            assert_eq!(out.signed.iter().sum::<u64>(), total, "signed total");
            assert_eq!(out.fields.len(), input.fields.len());
            for (new, old) in out.fields.iter().zip(&input.fields) {
                assert_eq!(new.value_type(), old.value_type(), "a field changed type");
            }
            self.fields = out.fields.clone();
            self.allocation = out.live.clone();
        }
        result
    }

    /// Calls `function`, which must succeed.
    fn ok(&mut self, function: &str, args: &[Value]) -> Output {
        let result = self.call(function, args);
        result.unwrap_or_else(|e| panic!("`{function}` failed: {e}"))
    }

    /// Calls `function`, which must fail with exactly `want`, and leave the
    /// channel as it was.
    fn fails(&mut self, function: &str, args: &[Value], want: Failure) {
        let (fields, allocation) = (self.fields.clone(), self.allocation.clone());
        assert_eq!(self.call(function, args), Err(want), "calling `{function}`");
        assert_eq!((&self.fields, &self.allocation), (&fields, &allocation));
    }
}

fn abort(reason: &str, private: bool) -> Failure {
    Failure::Abort {
        reason: reason.to_owned(),
        private,
    }
}

fn short(silent: bool, party: u32, balance: u64, amount: u64) -> Failure {
    Failure::InsufficientFunds {
        silent,
        party,
        balance,
        amount,
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

// --- The library contracts ---------------------------------------------------

#[test]
fn payment() {
    let mut c = Channel::example("payment", &[100, 50]);
    let out = c.ok("pay_bob", &[U64(30)]);
    assert_eq!(out.live, [70, 80]);
    assert_eq!(out.signed, out.live);
    assert_eq!((out.awaited, out.finished), (None, false));
    assert_eq!(c.get("payments"), U64(1));

    c.ok("pay_alice", &[U64(80)]);
    assert_eq!(
        (c.allocation.as_slice(), c.get("payments")),
        (&[150, 0][..], U64(2))
    );

    c.fails(
        "pay_bob",
        &[U64(0)],
        abort("a payment must be positive", false),
    );
    c.fails("pay_alice", &[U64(1)], short(false, 1, 0, 1));
    c.ok("pay_bob", &[U64(150)]);
    assert_eq!(c.allocation, [0, 150]);

    // The counter faults after the transfer; the transfer is undone too.
    c.set("payments", U64(u64::MAX));
    c.fails(
        "pay_alice",
        &[U64(1)],
        abort("arithmetic overflow in `+` on line 20", false),
    );
    c.fails("pay_alice", &[U64(151)], short(false, 1, 150, 151));
}

#[test]
fn escrow() {
    let mut c = Channel::example("escrow", &[100, 0]);
    c.now = 1000;
    c.fails(
        "fund",
        &[U64(40), U64(1000)],
        abort("the deadline must be in the future", false),
    );
    c.fails(
        "fund",
        &[U64(0), U64(2000)],
        abort("nothing to escrow", false),
    );
    c.fails(
        "deliver",
        &[Bytes32([1; 32])],
        abort("nothing to deliver", false),
    );

    let out = c.ok("fund", &[U64(40), U64(2000)]);
    assert_eq!(out.live, [60, 40]);
    // Until the seller acts, the signed state refunds the buyer.
    assert_eq!(out.signed, [100, 0]);
    assert_eq!(out.awaited, Some(1));
    assert_eq!(c.get("deadline"), U64(2000));
    c.fails(
        "fund",
        &[U64(1), U64(3000)],
        abort("the escrow is already funded", false),
    );
    c.fails(
        "refund",
        &[],
        abort("the deadline has not passed yet", false),
    );
    c.now = 2000;
    c.fails(
        "refund",
        &[],
        abort("the deadline has not passed yet", false),
    );

    // The seller delivers on the deadline itself, then the buyer confirms.
    let mut delivered = c.clone();
    let out = delivered.ok("deliver", &[Bytes32([7; 32])]);
    assert_eq!(
        (out.live.as_slice(), out.signed.as_slice()),
        (&[60, 40][..], &[60, 40][..])
    );
    assert_eq!(out.awaited, Some(0));
    assert_eq!(delivered.get("receipt"), Bytes32([7; 32]));
    delivered.fails("refund", &[], abort("nothing to refund", false));
    assert!(delivered.ok("confirm", &[]).finished);

    // Or the deadline passes: too late to deliver, and the buyer is refunded.
    c.now = 2001;
    c.fails(
        "deliver",
        &[Bytes32([7; 32])],
        abort("too late: the deadline has passed", false),
    );
    c.fails("confirm", &[], abort("nothing was delivered yet", false));
    let out = c.ok("refund", &[]);
    assert_eq!(out.live, [100, 0]);
    assert!(out.finished);
}

#[test]
fn negotiation() {
    let mut c = Channel::example("negotiation", &[100, 0]);
    c.set("seller_floor", U64(50)).set("buyer_limit", U64(55));
    c.fails("accept", &[], abort("nothing was proposed", false));
    // The floor and the limit are private: the public part cannot see these
    // aborts, their owners' proofs fail instead.
    c.fails(
        "propose",
        &[U64(49)],
        abort("below the seller's floor", true),
    );
    let out = c.ok("propose", &[U64(60)]);
    assert_eq!(out.awaited, Some(0));
    assert_eq!(out.live, [100, 0]);
    assert_eq!(c.get("price"), U64(60));
    c.fails("accept", &[], abort("above the buyer's limit", true));
    c.fails(
        "raise_limit",
        &[U64(54)],
        abort("a limit can only be raised", true),
    );
    c.ok("raise_limit", &[U64(60)]);
    assert_eq!(c.get("buyer_limit"), U64(60));

    let out = c.ok("accept", &[]);
    assert_eq!(out.live, [40, 60]);
    assert!(out.finished);
    assert_eq!(c.get("agreed"), Bool(true));
    c.fails(
        "propose",
        &[U64(70)],
        abort("a price is already agreed", false),
    );
    c.fails("accept", &[], abort("a price is already agreed", false));
}

#[test]
fn auction() {
    // (alice's bid, bob's bid, the winner)
    for (alice, bob, winner) in [
        (70, 75, "bob"),
        (75, 70, "alice"),
        (70, 70, "alice"),
        (0, 0, "alice"),
    ] {
        let mut c = Channel::example("auction", &[0, 100, 80]);
        c.fails("open_alice", &[], abort("bidding is still open", false));
        c.fails(
            "bid_alice",
            &[U64(101)],
            abort("the bid exceeds alice's deposit", true),
        );
        let out = c.ok("bid_alice", &[U64(alice)]);
        assert!(out.reveals.is_empty());
        assert_eq!(c.get("alice_bid"), U64(alice));
        c.fails(
            "bid_alice",
            &[U64(1)],
            abort("alice has already bid", false),
        );
        c.fails("open_bob", &[], abort("bidding is still open", false));
        c.fails(
            "bid_bob",
            &[U64(81)],
            abort("the bid exceeds bob's deposit", true),
        );
        c.ok("bid_bob", &[U64(bob)]);
        c.fails(
            "settle",
            &[],
            abort("the bids are not both revealed", false),
        );

        assert_eq!(c.ok("open_alice", &[]).reveals, [U64(alice)]);
        assert_eq!(c.get("alice_open"), U64(alice));
        c.fails(
            "settle",
            &[],
            abort("the bids are not both revealed", false),
        );
        assert_eq!(c.ok("open_bob", &[]).reveals, [U64(bob)]);

        let out = c.ok("settle", &[]);
        assert!(out.finished);
        assert_eq!(c.get("winner"), c.party(winner));
        let want = if winner == "alice" {
            [alice, 100 - alice, 80]
        } else {
            [bob, 100, 80 - bob]
        };
        assert_eq!(out.live, want, "alice bids {alice}, bob {bob}");
    }
}

#[test]
fn htlc() {
    let preimage = [0x5a; 32];
    let lock = Bytes32(sha256(&preimage));
    let mut c = Channel::example("htlc", &[100, 0]);
    c.now = 10;
    c.fails("claim", &[Bytes32(preimage)], abort("no open offer", false));
    c.fails(
        "offer",
        &[U64(30), lock, U64(10)],
        abort("the expiry must be in the future", false),
    );
    c.fails(
        "offer",
        &[U64(0), lock, U64(20)],
        abort("the amount must be positive", false),
    );
    let out = c.ok("offer", &[U64(30), lock, U64(20)]);
    assert_eq!(
        (out.awaited, out.signed.as_slice()),
        (Some(1), &[100, 0][..])
    );
    c.fails(
        "offer",
        &[U64(30), lock, U64(20)],
        abort("an offer is already open", false),
    );

    // The lock is sha256 over the 32 bytes, not over anything else.
    let mut wrong = preimage;
    wrong[31] ^= 1;
    for bad in [wrong, sha256(&preimage), [0; 32]] {
        c.fails(
            "claim",
            &[Bytes32(bad)],
            abort("the preimage does not match the hash lock", false),
        );
    }
    c.fails("cancel", &[], abort("the offer has not expired yet", false));

    let mut expired = c.clone();
    expired.now = 20;
    expired.fails(
        "claim",
        &[Bytes32(preimage)],
        abort("the offer has expired", false),
    );
    expired.ok("cancel", &[]);
    assert_eq!(
        (expired.get("locked"), expired.allocation.as_slice()),
        (Bool(false), &[100, 0][..])
    );

    c.now = 19;
    let out = c.ok("claim", &[Bytes32(preimage)]);
    assert_eq!(out.live, [70, 30]);
    assert_eq!(c.get("locked"), Bool(false));
}

#[test]
fn rps_every_pair_of_moves() {
    // 1 rock, 2 paper, 3 scissors: (winner's move, loser's move).
    let beats = [(2, 1), (3, 2), (1, 3)];
    let salt = [0xc3; 32];
    for alice in 1..=3u64 {
        for bob in 1..=3u64 {
            let mut c = Channel::example("rps", &[50, 50]);
            let mut preimage = alice.to_be_bytes().to_vec();
            preimage.extend_from_slice(&salt);
            let h = Bytes32(keccak256(&preimage));

            let out = c.ok("commit", &[h]);
            // If bob never plays, alice takes the stake.
            assert_eq!(
                (out.live.as_slice(), out.signed.as_slice()),
                (&[50, 50][..], &[60, 40][..])
            );
            assert_eq!(out.awaited, Some(1));
            c.fails("commit", &[h], abort("not the commit phase", false));
            for m in [0, 4] {
                c.fails(
                    "play",
                    &[U64(m)],
                    abort("a move is 1 (rock), 2 (paper) or 3 (scissors)", false),
                );
            }
            let out = c.ok("play", &[U64(bob)]);
            assert_eq!(
                (out.signed.as_slice(), out.awaited),
                (&[40, 60][..], Some(0))
            );

            // Another move or another salt does not open the commitment.
            let other = alice % 3 + 1;
            c.fails(
                "reveal_move",
                &[U64(other), Bytes32(salt)],
                abort("the move does not match the commitment", false),
            );
            c.fails(
                "reveal_move",
                &[U64(alice), Bytes32([0; 32])],
                abort("the move does not match the commitment", false),
            );

            let out = c.ok("reveal_move", &[U64(alice), Bytes32(salt)]);
            let want = if beats.contains(&(alice, bob)) {
                [60, 40]
            } else if beats.contains(&(bob, alice)) {
                [40, 60]
            } else {
                [50, 50]
            };
            assert_eq!(out.live, want, "alice plays {alice}, bob {bob}");
            assert_eq!(out.signed, want);
            assert_eq!((out.finished, out.awaited), (true, None));
        }
    }
}

#[test]
fn oracle_bet() {
    // (outcome proposed, signed allocation while bob is silent)
    for (outcome, signed) in [(1, [130, 70]), (2, [70, 130])] {
        let mut c = Channel::example("oracle_bet", &[100, 100]);
        c.fails(
            "propose_outcome",
            &[U64(outcome)],
            abort("no bet awaits an outcome", false),
        );
        c.fails(
            "place",
            &[U64(0), U64(1)],
            abort("the stake must be positive", false),
        );
        let out = c.ok("place", &[U64(30), U64(1)]);
        assert_eq!(
            (out.signed.as_slice(), out.awaited),
            (&[100, 100][..], Some(1))
        );
        c.fails(
            "accept_outcome",
            &[],
            abort("no outcome was proposed", false),
        );

        let out = c.ok("propose_outcome", &[U64(outcome)]);
        assert_eq!(out.live, [100, 100]);
        assert_eq!(out.signed, signed);
        assert_eq!(out.awaited, Some(1));
        c.fails(
            "propose_outcome",
            &[U64(outcome)],
            abort("no bet awaits an outcome", false),
        );

        let out = c.ok("accept_outcome", &[]);
        assert_eq!((out.live, out.signed), (signed.to_vec(), signed.to_vec()));
        assert_eq!((out.finished, out.awaited), (true, None));
    }

    // Bob's silence would cost more than he holds: the signed allocation
    // cannot be built, so the proposal fails.
    let mut c = Channel::example("oracle_bet", &[100, 20]);
    c.ok("place", &[U64(30), U64(1)]);
    c.fails("propose_outcome", &[U64(1)], short(true, 1, 20, 30));
    c.ok("propose_outcome", &[U64(0)]);
    // Accepting moves the live allocation, and that is short too.
    c.allocation = vec![0, 200];
    c.fails("accept_outcome", &[], short(false, 0, 0, 30));
}

// --- One point each, on a small contract -------------------------------------

/// A contract whose function `f` has `BODY` starting on line 13.
const TEMPLATE: &str = "contract t;
party a, b, c;
state {
    x: u64 = 0;
    flag: bool = false;
    h: bytes32 = 0x0000000000000000000000000000000000000000000000000000000000000000;
    who: party = a;
    s: private(a) u64 = 0;
}
fn g(w: party) by a { who = w; }
fn f(p: u64, q: u64, k: private u64) by a {
    // line 12
    BODY
}
";

/// The outcome of `f(p, q, k)` with `body` at allocation [10, 1, 0]: the
/// new `x`, or the failure.
fn run_body(body: &str, p: u64, q: u64, k: u64) -> Result<(u64, Output), Failure> {
    let mut c = Channel::new(&TEMPLATE.replace("BODY", body), &[10, 1, 0]);
    c.call("f", &[U64(p), U64(q), U64(k)]).map(|out| {
        let U64(x) = c.get("x") else {
            panic!("x is a u64")
        };
        (x, out)
    })
}

#[test]
fn arithmetic_faults_and_their_reasons() {
    const MAX: u64 = u64::MAX;
    let overflow = |op: &str, line: u32| {
        abort(
            &format!("arithmetic overflow in `{op}` on line {line}"),
            false,
        )
    };
    let underflow = |line: u32| {
        abort(
            &format!("subtraction below zero in `-` on line {line}"),
            false,
        )
    };
    let by_zero =
        |op: &str, line: u32| abort(&format!("division by zero in `{op}` on line {line}"), false);
    // (body, p, q, the new x or the failure)
    let cases: Vec<(&str, u64, u64, Result<u64, Failure>)> = vec![
        ("x = p + q;", MAX - 1, 1, Ok(MAX)),
        ("x = p + q;", MAX, 1, Err(overflow("+", 13))),
        ("x = p - q;", 2, 2, Ok(0)),
        ("x = p - q;", 1, 2, Err(underflow(13))),
        (
            "x = p * q;",
            1 << 32,
            (1 << 32) - 1,
            Ok((1 << 32) * ((1 << 32) - 1)),
        ),
        ("x = p * q;", 1 << 32, 1 << 32, Err(overflow("*", 13))),
        ("x = p / q;", 7, 2, Ok(3)),
        ("x = p / q;", 7, 0, Err(by_zero("/", 13))),
        ("x = p % q;", 7, 4, Ok(3)),
        ("x = p % q;", 7, 0, Err(by_zero("%", 13))),
        ("x = 0 / q;", 0, 0, Err(by_zero("/", 13))),
        // No wrapping: the intermediate overflow faults although the final
        // value would fit.
        ("x = p + q - q;", MAX, 1, Err(overflow("+", 13))),
        ("x = p - q + q;", 0, 1, Err(underflow(13))),
        // The line is that of the faulting expression's start.
        (
            "x = 1;\n    x = p\n        + q;",
            MAX,
            1,
            Err(overflow("+", 14)),
        ),
        ("x = p +\n        (q - 1);", 0, 0, Err(underflow(14))),
        (
            "let y = p + 1;\n    x = y * q;",
            1 << 62,
            4,
            Err(overflow("*", 14)),
        ),
        // Left operand first, then the right one, then the operator.
        ("x = (p - q) * (p / x);", 0, 1, Err(underflow(13))),
        ("x = (p - q) * (p / x);", 1, 0, Err(by_zero("/", 13))),
        ("x = (p / q) * (p + MAXV);", 1, 0, Err(by_zero("/", 13))),
        ("x = (p / q) * (p + MAXV);", 1, 1, Err(overflow("+", 13))),
        // Comparisons and builtins.
        ("x = min(p, q) + max(p, q) * 10;", 3, 8, Ok(83)),
        (
            "if p <= q && p != q && !(p >= q) && q > p { x = 1; } else { x = 2; }",
            1,
            2,
            Ok(1),
        ),
        (
            "if p <= q && p != q && !(p >= q) && q > p { x = 1; } else { x = 2; }",
            2,
            2,
            Ok(2),
        ),
        ("x = now;", 0, 0, Ok(0)),
        (
            "transfer p from a to c;\n    x = balance(c) * 100 + balance(a);",
            4,
            0,
            Ok(406),
        ),
        (
            "transfer p from a to a;\n    x = balance(a);",
            10,
            0,
            Ok(10),
        ),
        (
            "transfer p from a to a;",
            11,
            0,
            Err(short(false, 0, 10, 11)),
        ),
        ("transfer p from b to a;", 2, 0, Err(short(false, 1, 1, 2))),
    ];
    for (body, p, q, want) in cases {
        let body = body.replace("MAXV", &MAX.to_string());
        let got = run_body(&body, p, q, 0).map(|(x, _)| x);
        assert_eq!(got, want, "{body} with p = {p}, q = {q}");
    }
}

#[test]
fn short_circuits_and_taint() {
    // How a case ends: it passes, or aborts with "r" visibly to the public
    // part, or only to the owner.
    const PASSES: Option<bool> = None;
    const PUBLIC: Option<bool> = Some(false);
    const PRIVATE: Option<bool> = Some(true);
    // (body, p, q, k, how it ends)
    let cases = [
        // The right side is not evaluated, so it cannot fault.
        ("require p == 0 || 10 / p > 1, \"r\";", 0, 0, 0, PASSES),
        ("require p == 0 || 10 / p > 1, \"r\";", 20, 0, 0, PUBLIC),
        ("require p > 0 && 10 / p > 1, \"r\";", 0, 0, 0, PUBLIC),
        ("require false && 1 / p == 0, \"r\";", 0, 0, 0, PUBLIC),
        ("require true || 1 / p == 0, \"r\";", 0, 0, 0, PASSES),
        // Taint: private params, fields and what is computed from them.
        ("require k >= p, \"r\";", 2, 0, 1, PRIVATE),
        ("require s >= p, \"r\";", 2, 0, 1, PRIVATE),
        ("require k + 1 > p, \"r\";", 2, 0, 1, PRIVATE),
        ("require p > k * 2, \"r\";", 2, 0, 1, PRIVATE),
        ("let y = k * 2; require y >= p, \"r\";", 3, 0, 1, PRIVATE),
        // A local stays tainted once it held a private value.
        ("let y = k; y = 7; require y > 10, \"r\";", 0, 0, 0, PRIVATE),
        // `a && b` is as tainted as what decided it: `a` when false, else `b`
        // when false (the public part checks a public conjunct by itself).
        ("require p > 1 && k > 5, \"r\";", 0, 0, 9, PUBLIC),
        ("require p > 1 && k > 5, \"r\";", 2, 0, 1, PRIVATE),
        ("require k > 5 && p > 1, \"r\";", 2, 0, 1, PRIVATE),
        ("require k > 5 && p > 1, \"r\";", 0, 0, 1, PRIVATE),
        ("require k > 5 && p > 1, \"r\";", 0, 0, 9, PUBLIC),
        ("require k > 5 && p > 1, \"r\";", 2, 0, 9, PASSES),
        ("require k > 5 && p > 1 && q > 1, \"r\";", 2, 0, 9, PUBLIC),
        ("require k > 5 && p > 1 && k > 10, \"r\";", 2, 0, 9, PRIVATE),
        ("require k > 5 && (p > 1 && q > 1), \"r\";", 2, 2, 9, PASSES),
        // `||` over public values only (the checker refuses it over private ones).
        ("require p > 1 || q > 1, \"r\";", 0, 0, 0, PUBLIC),
        // A revealed value is public.
        ("require reveal(k) > 5, \"r\";", 0, 0, 1, PUBLIC),
        ("x = reveal(k);\n    require x > 5, \"r\";", 0, 0, 1, PUBLIC),
        ("x = p + q;\n    require x > 5, \"r\";", 1, 1, 9, PUBLIC),
    ];
    for (body, p, q, k, ends) in cases {
        let got = run_body(body, p, q, k).map(|_| ());
        let want = ends.map_or(Ok(()), |private| Err(abort("r", private)));
        assert_eq!(got, want, "{body} with p = {p}, q = {q}, k = {k}");
    }

    // Faults over private operands are private too: (body, p, k, reason).
    let private_faults = [
        (
            "require k + p > q, \"r\";",
            1,
            u64::MAX,
            "arithmetic overflow in `+` on line 13",
        ),
        (
            "require k - p >= q, \"r\";",
            1,
            0,
            "subtraction below zero in `-` on line 13",
        ),
        (
            "require p * k >= q, \"r\";",
            2,
            u64::MAX,
            "arithmetic overflow in `*` on line 13",
        ),
    ];
    for (body, p, k, reason) in private_faults {
        assert_eq!(
            run_body(body, p, 0, k).map(|_| ()),
            Err(abort(reason, true)),
            "{body}"
        );
    }
}

#[test]
fn reveals_are_recorded_in_evaluation_order() {
    let (x, out) = run_body(
        "let y = k;\n    x = reveal(y) + reveal(k) * 2;\n    x = x + reveal(s);",
        0,
        0,
        4,
    )
    .unwrap();
    assert_eq!(x, 12);
    assert_eq!(out.reveals, [U64(4), U64(4), U64(0)]);
    // An abort after a reveal reports nothing but the abort.
    assert_eq!(
        run_body("x = reveal(k);\n    require x > 5, \"r\";", 0, 0, 1).map(|_| ()),
        Err(abort("r", false))
    );
}

#[test]
fn hashes_read_fixed_width_big_endian_arguments() {
    let mut c = Channel::new(
        &TEMPLATE.replace("BODY", "h = sha256(p, flag, q);"),
        &[10, 1, 0],
    );
    c.set("flag", Bool(true));
    c.ok("f", &[U64(0x0102), U64(u64::MAX), U64(0)]);
    let mut want = vec![0, 0, 0, 0, 0, 0, 1, 2, 1];
    want.extend_from_slice(&[0xff; 8]);
    assert_eq!(c.get("h"), Bytes32(sha256(&want)));

    // keccak256 (Ethereum's, not SHA3-256) over the previous hash and a u64.
    let before = c.get("h");
    let Bytes32(before_bytes) = before else {
        panic!()
    };
    let mut c2 = Channel::new(
        &TEMPLATE.replace("BODY", "h = keccak256(h, p);"),
        &[10, 1, 0],
    );
    c2.set("h", before);
    c2.ok("f", &[U64(5), U64(0), U64(0)]);
    let mut want = before_bytes.to_vec();
    want.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(c2.get("h"), Bytes32(keccak256(&want)));
    assert_ne!(
        keccak256(&want),
        <[u8; 32]>::from(sha3::Sha3_256::digest(&want))
    );

    // Equality compares all 32 bytes, and parties compare by index.
    let body = "require sha256(p) == sha256(q), \"hash\";\n    require who == b, \"who\";";
    let mut c3 = Channel::new(&TEMPLATE.replace("BODY", body), &[10, 1, 0]);
    c3.fails("f", &[U64(1), U64(2), U64(0)], abort("hash", false));
    c3.fails("f", &[U64(1), U64(1), U64(0)], abort("who", false));
    c3.set("who", Party(1));
    c3.ok("f", &[U64(1), U64(1), U64(0)]);
}

#[test]
fn silent_transfers() {
    // (body, p, q, live, signed, awaited) at allocation [10, 1, 0].
    type Case = (
        &'static str,
        u64,
        u64,
        Result<([u64; 3], [u64; 3], Option<u32>), Failure>,
    );
    let cases: Vec<Case> = vec![
        // Recorded, not applied: the live allocation does not move.
        (
            "await b silent { transfer p from a to b; }",
            4,
            0,
            Ok(([10, 1, 0], [6, 5, 0], Some(1))),
        ),
        (
            "await b silent {}",
            4,
            0,
            Ok(([10, 1, 0], [10, 1, 0], Some(1))),
        ),
        ("await b;", 4, 0, Ok(([10, 1, 0], [10, 1, 0], Some(1)))),
        // Applied to the final live allocation, after every live transfer.
        (
            "await b silent { transfer p from a to b; }\n    transfer q from a to c;",
            4,
            6,
            Ok(([4, 1, 6], [0, 5, 6], Some(1))),
        ),
        (
            "await b silent { transfer p from a to b; }\n    transfer q from a to c;",
            4,
            7,
            Err(short(true, 0, 3, 4)),
        ),
        // In the order recorded: the second needs what the first paid.
        (
            "await b silent { transfer p from a to b; transfer q from b to c; }",
            4,
            5,
            Ok(([10, 1, 0], [6, 0, 5], Some(1))),
        ),
        (
            "await b silent { transfer q from b to c; transfer p from a to b; }",
            4,
            5,
            Err(short(true, 1, 1, 5)),
        ),
        // A later await names the party; both blocks' transfers stand.
        (
            "await b silent { transfer p from a to b; }\n    await c silent { transfer q from a to c; }",
            1,
            2,
            Ok(([10, 1, 0], [7, 2, 2], Some(2))),
        ),
        // The amount is evaluated where the block stands.
        (
            "x = p;\n    await b silent { transfer x from a to b; }\n    x = q;",
            1,
            9,
            Ok(([10, 1, 0], [9, 2, 0], Some(1))),
        ),
        // ... and faults there, even with nothing to pay.
        (
            "await b silent { transfer p - q from a to b; }",
            0,
            1,
            Err(abort("subtraction below zero in `-` on line 13", false)),
        ),
        (
            "if p > 0 { await b silent {} } else { await c silent {} }\n    finish;",
            0,
            0,
            Ok(([10, 1, 0], [10, 1, 0], Some(2))),
        ),
    ];
    for (body, p, q, want) in cases {
        let got = run_body(body, p, q, 0).map(|(_, out)| {
            (
                out.live.try_into().unwrap(),
                out.signed.try_into().unwrap(),
                out.awaited,
            )
        });
        assert_eq!(got, want, "{body} with p = {p}, q = {q}");
    }
    assert!(run_body("finish;", 0, 0, 0).unwrap().1.finished);
    assert!(!run_body("x = 1;", 0, 0, 0).unwrap().1.finished);
}

#[test]
fn bad_input() {
    let c = Channel::new(&TEMPLATE.replace("BODY", "x = p;"), &[10, 1, 0]);
    let good = c.input(&[U64(1), U64(2), U64(3)]);
    let run = |function: &str, edit: &dyn Fn(&mut Input)| {
        let mut input = good.clone();
        edit(&mut input);
        interp::run(&c.tree, &c.source, function, &input)
    };
    assert!(run("f", &|_| {}).is_ok());
    let fails = |function: &str, edit: &dyn Fn(&mut Input), want: InputError| {
        assert_eq!(run(function, edit), Err(Failure::Input(want)));
    };
    fails(
        "h",
        &|_| {},
        InputError::UnknownFunction { name: "h".into() },
    );
    fails(
        "F",
        &|_| {},
        InputError::UnknownFunction { name: "F".into() },
    );
    fails(
        "f",
        &|i| {
            i.args.pop();
        },
        InputError::ArgCount {
            function: "f".into(),
            expected: 3,
            found: 2,
        },
    );
    fails(
        "g",
        &|_| {},
        InputError::ArgCount {
            function: "g".into(),
            expected: 1,
            found: 3,
        },
    );
    fails(
        "f",
        &|i| i.args[2] = Bool(true),
        InputError::ArgType {
            function: "f".into(),
            param: "k".into(),
            expected: ValueType::U64,
            found: ValueType::Bool,
        },
    );
    fails(
        "g",
        &|i| i.args = vec![Party(3)],
        InputError::PartyOutOfRange {
            what: "parameter `w` of `g`".into(),
            party: 3,
            parties: 3,
        },
    );
    assert!(run("g", &|i| i.args = vec![Party(2)]).is_ok());
    fails(
        "f",
        &|i| i.fields[3] = Party(u32::MAX),
        InputError::PartyOutOfRange {
            what: "field `who`".into(),
            party: u32::MAX,
            parties: 3,
        },
    );
    fails(
        "f",
        &|i| {
            i.fields.pop();
        },
        InputError::FieldCount {
            expected: 5,
            found: 4,
        },
    );
    fails(
        "f",
        &|i| i.fields[2] = U64(0),
        InputError::FieldType {
            field: "h".into(),
            expected: ValueType::Bytes32,
            found: ValueType::U64,
        },
    );
    fails(
        "f",
        &|i| i.allocation.push(0),
        InputError::AllocationLength {
            parties: 3,
            found: 4,
        },
    );
    fails(
        "f",
        &|i| i.allocation.clear(),
        InputError::AllocationLength {
            parties: 3,
            found: 0,
        },
    );
    fails(
        "f",
        &|i| i.allocation = vec![u64::MAX, 1, 0],
        InputError::AllocationOverflow,
    );
    assert!(run("f", &|i| i.allocation = vec![u64::MAX - 1, 1, 0]).is_ok());
}

#[test]
fn trees_the_checker_refuses_fail_instead_of_panicking() {
    let cases = [
        "x = -1;",
        "x = nope;",
        "x = flag;",
        "x = p + flag;",
        "flag = p < flag;",
        "x = blake3(p);",
        "x = balance(p);",
        "x = min(p);",
        "p = 1;",
        "a = b;",
        "transfer p from x to b;",
        "await b silent { x = 1; }",
        "require p, \"r\";",
        "if p { x = 1; }",
        "let y: bool = p;",
        "x = ;",
        "x = p +;",
        "oops oops;",
    ];
    for body in cases {
        let src = TEMPLATE.replace("BODY", body);
        let (tree, _) = parse(&src);
        let input = Input {
            fields: interp::initial_fields(&tree).unwrap(),
            args: vec![U64(1), U64(2), U64(3)],
            allocation: vec![10, 1, 0],
            now: 0,
        };
        let got = interp::run(&tree, &src, "f", &input);
        assert!(
            matches!(got, Err(Failure::Malformed { .. })),
            "{body}: {got:?}"
        );
    }
}

// --- Random inputs to every library function ---------------------------------

fn random_u64(rng: &mut StdRng) -> u64 {
    match rng.gen_range(0..6) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => rng.gen_range(0..4),
        4 => rng.gen_range(0..200),
        _ => rng.r#gen(),
    }
}

fn random_value(rng: &mut StdRng, ty: Type, parties: u32) -> Value {
    match ty {
        Type::U64 => U64(random_u64(rng)),
        Type::Bool => Bool(rng.r#gen()),
        Type::Bytes32 => Bytes32(if rng.gen_bool(0.5) {
            [0; 32]
        } else {
            rng.r#gen()
        }),
        Type::Party => Party(rng.gen_range(0..parties)),
    }
}

/// Well-typed random input never meets an input error or a malformed tree,
/// and every call the harness makes keeps its invariants.
#[test]
fn random_calls_on_the_library() {
    let mut rng = StdRng::seed_from_u64(seed());
    for name in [
        "payment",
        "escrow",
        "negotiation",
        "auction",
        "oracle_bet",
        "htlc",
        "rps",
    ] {
        let parties = u32::try_from(Channel::example(name, &[0, 0]).tree.parties.len()).unwrap();
        let allocation: Vec<u64> = (0..parties).map(|_| rng.gen_range(0..1000)).collect();
        let mut c = Channel::example(name, &allocation);
        for _ in 0..500 {
            let f = c.tree.functions[rng.gen_range(0..c.tree.functions.len())].clone();
            let args: Vec<Value> = f
                .params
                .iter()
                .map(|p| random_value(&mut rng, p.ty.0, parties))
                .collect();
            if rng.gen_bool(0.1) {
                let i = rng.gen_range(0..c.fields.len());
                c.fields[i] = random_value(&mut rng, c.tree.fields[i].ty.0, parties);
            }
            c.now = random_u64(&mut rng);
            match c.call(&f.name.name, &args) {
                Ok(_) | Err(Failure::Abort { .. } | Failure::InsufficientFunds { .. }) => {}
                Err(e) => panic!("{name}.{}({args:?}): {e:?}", f.name.name),
            }
        }
    }
}
