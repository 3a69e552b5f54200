//! Completeness and soundness of the constraint proofs, for every constraint kind.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_circuits::samples::{self, Sample};
use sotto_circuits::*;

fn context() -> ProofContext {
    ProofContext {
        contract_id: [0xc0; 32],
        channel_id: [0xc1; 32],
        version: 42,
        function: "settle".into(),
    }
}

fn commitments(witness: &[Opening]) -> Vec<Commitment> {
    witness.iter().map(Opening::commit).collect()
}

fn all_samples(rng: &mut StdRng) -> Vec<Sample> {
    vec![
        samples::ranges(1, RangeBits::B64, rng),
        samples::ranges(3, RangeBits::B8, rng),
        samples::comparison(rng),
        samples::product(rng),
        samples::transition(rng),
        samples::every_kind(rng),
    ]
}

/// Proves `s` and checks the proof verifies, also after an encoding round trip.
fn prove_and_verify(s: &Sample, rng: &mut StdRng) -> Proof {
    let ctx = context();
    let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, rng)
        .unwrap_or_else(|e| panic!("{}: prove failed: {e}", s.name));
    let cs = commitments(&s.witness);
    verify(&s.program, &cs, &s.publics, &ctx, &proof)
        .unwrap_or_else(|e| panic!("{}: verify failed: {e}", s.name));
    let bytes = proof.encode();
    assert_eq!(bytes.len(), proof.size(), "{}: size() disagrees", s.name);
    let decoded = Proof::decode(&bytes).unwrap();
    assert_eq!(decoded, proof);
    verify(&s.program, &cs, &s.publics, &ctx, &decoded).unwrap();
    proof
}

#[test]
fn every_sample_proves_and_verifies() {
    let mut rng = StdRng::seed_from_u64(1);
    for s in all_samples(&mut rng) {
        prove_and_verify(&s, &mut rng);
    }
}

// ---------------------------------------------------------------------------
// Completeness: random satisfying witnesses for every constraint kind.

fn check_holds(b: ProgramBuilder, values: &[u64], publics: &[u64], seed: u64) {
    let program = b.build().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let witness: Vec<Opening> = values
        .iter()
        .map(|v| Opening::random(*v, &mut rng))
        .collect();
    let ctx = context();
    let proof = prove_with_rng(&program, &witness, publics, &ctx, &mut rng).unwrap();
    verify(&program, &commitments(&witness), publics, &ctx, &proof).unwrap();
}

fn bits_strategy() -> impl Strategy<Value = RangeBits> {
    prop_oneof![
        Just(RangeBits::B8),
        Just(RangeBits::B16),
        Just(RangeBits::B32),
        Just(RangeBits::B64)
    ]
}

fn below(bits: RangeBits) -> impl Strategy<Value = u64> {
    if bits == RangeBits::B64 {
        any::<u64>().boxed()
    } else {
        (0..(1u64 << bits.bits())).boxed()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn range_completeness((bits, v) in bits_strategy().prop_flat_map(|b| (Just(b), below(b))), seed: u64) {
        let mut b = ProgramBuilder::new();
        let x = b.var("x");
        b.range(x, bits);
        check_holds(b, &[v], &[], seed);
    }

    #[test]
    fn mixed_width_ranges_completeness(a in below(RangeBits::B8), c in any::<u64>(), seed: u64) {
        let mut b = ProgramBuilder::new();
        let (x, y) = (b.var("x"), b.var("y"));
        b.range(x, RangeBits::B8).range(y, RangeBits::B64);
        check_holds(b, &[a, c], &[], seed);
    }

    #[test]
    fn conservation_completeness(a in 0..u64::MAX / 2, c in 0..u64::MAX / 2, seed: u64) {
        let mut b = ProgramBuilder::new();
        let (x, y) = (b.var("x"), b.var("y"));
        let total = b.public("total");
        b.range(x, RangeBits::B64).range(y, RangeBits::B64);
        b.linear(LinExpr::term(x).plus(1, y).plus(-1, total));
        check_holds(b, &[a, c], &[a + c], seed);
    }

    #[test]
    fn comparison_completeness(a in 0..1u64 << 40, c in 0..1u64 << 40, seed: u64) {
        let (lo, hi) = (a.min(c), a.max(c));
        for (op, l, r) in [
            (CmpOp::Le, lo, hi), (CmpOp::Ge, hi, lo), (CmpOp::Eq, lo, lo),
            (CmpOp::Lt, lo, hi + 1), (CmpOp::Gt, hi + 1, lo),
        ] {
            let mut b = ProgramBuilder::new();
            let (x, y) = (b.var("x"), b.var("y"));
            b.range(x, RangeBits::B64).range(y, RangeBits::B64);
            b.compare(LinExpr::term(x), op, LinExpr::term(y), RangeBits::B64);
            check_holds(b, &[l, r], &[], seed);
        }
    }

    #[test]
    fn product_completeness(a in any::<u32>(), c in any::<u32>(), seed: u64) {
        let mut b = ProgramBuilder::new();
        let (x, y, z) = (b.var("x"), b.var("y"), b.var("z"));
        b.range(x, RangeBits::B32).range(y, RangeBits::B32).range(z, RangeBits::B64);
        b.product(x, y, z);
        check_holds(b, &[u64::from(a), u64::from(c), u64::from(a) * u64::from(c)], &[], seed);
    }

    #[test]
    fn equality_completeness(v in any::<u64>(), seed: u64) {
        let mut b = ProgramBuilder::new();
        let (x, y) = (b.var("x"), b.var("y"));
        let p = b.public("p");
        b.range(x, RangeBits::B64).range(y, RangeBits::B64);
        b.equals_public(x, p).same_value(x, y);
        check_holds(b, &[v, v], &[v], seed);
    }

    #[test]
    fn one_of_and_boolean_completeness(
        set in proptest::collection::btree_set(any::<u64>(), 1..12),
        pick in any::<prop::sample::Index>(),
        flag in any::<bool>(),
        seed: u64,
    ) {
        let set: Vec<u64> = set.into_iter().collect();
        let v = set[pick.index(set.len())];
        let mut b = ProgramBuilder::new();
        let (x, f) = (b.var("x"), b.var("flag"));
        b.one_of(x, set).boolean(f);
        check_holds(b, &[v, u64::from(flag)], &[], seed);
    }
}

// ---------------------------------------------------------------------------
// The prover refuses false statements, naming the constraint.

#[test]
fn prover_names_the_unsatisfied_constraint() {
    let mut rng = StdRng::seed_from_u64(3);
    let s = samples::every_kind(&mut rng);
    // Each case breaks exactly one value; the index is the constraint it breaks first.
    // (variable, new value, first constraint it breaks, that constraint's kind)
    let cases = [
        (0, 70_000, 0, "range"),  // x beyond 16 bits
        (0, 300, 6, "product"),   // x fits 16 bits, but x·y ≠ z
        (4, 2, 4, "boolean"),     // flag = 2
        (5, 7, 5, "one-of"),      // choice ∉ {3, 5, 8, 13}
        (2, 81, 6, "product"),    // z ≠ x·y
        (1, 9, 6, "product"),     // y changes the product first, then y = p
        (3, 11, 8, "same-value"), // same_as_x ≠ x
    ];
    for (var, value, constraint, kind) in cases {
        let mut witness = s.witness.clone();
        witness[var] = Opening::random(value, &mut rng);
        let err =
            prove_with_rng(&s.program, &witness, &s.publics, &context(), &mut rng).unwrap_err();
        assert_eq!(
            err,
            ProveError::Unsatisfied { constraint, kind },
            "var {var} = {value}"
        );
    }
    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.range(x, RangeBits::B8);
    let p = b.build().unwrap();
    let err = prove(&p, &[Opening::random(256, &mut rng)], &[], &context()).unwrap_err();
    assert_eq!(
        err,
        ProveError::Unsatisfied {
            constraint: 0,
            kind: "range"
        }
    );
    let err = prove(&p, &[], &[], &context()).unwrap_err();
    assert_eq!(
        err,
        ProveError::WitnessCount {
            expected: 1,
            found: 0
        }
    );
    let err = prove(&p, &[Opening::random(1, &mut rng)], &[5], &context()).unwrap_err();
    assert_eq!(
        err,
        ProveError::PublicCount {
            expected: 0,
            found: 1
        }
    );
}

#[test]
fn declared_proven_variables_must_hold_their_range() {
    let mut b = ProgramBuilder::new();
    let x = b.proven_var("x", RangeBits::B8);
    b.linear(LinExpr::term(x).plus_constant(-300));
    let p = b.build().unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    let err = prove(&p, &[Opening::random(300, &mut rng)], &[], &context()).unwrap_err();
    assert_eq!(err, ProveError::OutOfDeclaredRange { var: 0, bits: 8 });
}

// ---------------------------------------------------------------------------
// Soundness: nothing but the exact statement verifies.

#[test]
fn every_tampered_byte_is_rejected() {
    let mut rng = StdRng::seed_from_u64(5);
    let ctx = context();
    for s in all_samples(&mut rng) {
        let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng).unwrap();
        let cs = commitments(&s.witness);
        let bytes = proof.encode();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut t = bytes.clone();
                t[i] ^= flip;
                if let Ok(p) = Proof::decode(&t) {
                    assert!(
                        verify(&s.program, &cs, &s.publics, &ctx, &p).is_err(),
                        "{}: flipping bit {flip:#x} of byte {i} still verifies",
                        s.name
                    );
                }
            }
        }
    }
}

#[test]
fn swapped_commitments_are_rejected() {
    let mut rng = StdRng::seed_from_u64(6);
    let ctx = context();
    for s in all_samples(&mut rng) {
        let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng).unwrap();
        let cs = commitments(&s.witness);
        for i in 0..cs.len() {
            // Same value, other blinding; and another value.
            for value in [s.witness[i].value(), s.witness[i].value() ^ 1] {
                let mut swapped = cs.clone();
                swapped[i] = Opening::random(value, &mut rng).commit();
                assert!(
                    verify(&s.program, &swapped, &s.publics, &ctx, &proof).is_err(),
                    "{}: commitment {i} replaced, still verifies",
                    s.name
                );
            }
        }
        if cs.len() >= 2 {
            let mut reordered = cs.clone();
            reordered.swap(0, 1);
            assert!(verify(&s.program, &reordered, &s.publics, &ctx, &proof).is_err());
        }
    }
}

#[test]
fn another_context_or_public_input_is_rejected() {
    let mut rng = StdRng::seed_from_u64(7);
    let ctx = context();
    let others = [
        ProofContext {
            contract_id: [0xc2; 32],
            ..context()
        },
        ProofContext {
            channel_id: [0xc3; 32],
            ..context()
        },
        ProofContext {
            version: 43,
            ..context()
        },
        ProofContext {
            function: "settlf".into(),
            ..context()
        },
    ];
    for s in all_samples(&mut rng) {
        let proof = prove_with_rng(&s.program, &s.witness, &s.publics, &ctx, &mut rng).unwrap();
        let cs = commitments(&s.witness);
        for other in &others {
            assert!(
                verify(&s.program, &cs, &s.publics, other, &proof).is_err(),
                "{}: verifies under {other:?}",
                s.name
            );
        }
        for i in 0..s.publics.len() {
            let mut publics = s.publics.clone();
            publics[i] += 1;
            assert!(verify(&s.program, &cs, &publics, &ctx, &proof).is_err());
        }
    }
}

#[test]
fn a_proof_for_one_program_does_not_verify_another() {
    let mut rng = StdRng::seed_from_u64(8);
    let ctx = context();
    let samples = all_samples(&mut rng);
    for a in &samples {
        let proof = prove_with_rng(&a.program, &a.witness, &a.publics, &ctx, &mut rng).unwrap();
        for b in &samples {
            if a.name == b.name {
                continue;
            }
            let err = verify(
                &b.program,
                &commitments(&b.witness),
                &b.publics,
                &ctx,
                &proof,
            );
            assert!(err.is_err(), "proof for {} verifies {}", a.name, b.name);
        }
    }
    // Same shape, different statement: x ≤ 1000 vs x ≥ 1000.
    let prog = |op| {
        let mut b = ProgramBuilder::new();
        let x = b.proven_var("x", RangeBits::B64);
        b.compare(
            LinExpr::term(x),
            op,
            LinExpr::constant(1000),
            RangeBits::B64,
        );
        b.build().unwrap()
    };
    let w = [Opening::random(10, &mut rng)];
    let proof = prove(&prog(CmpOp::Le), &w, &[], &ctx).unwrap();
    assert!(verify(&prog(CmpOp::Ge), &commitments(&w), &[], &ctx, &proof).is_err());
}

#[test]
fn a_false_statement_cannot_borrow_a_true_proof() {
    // A range proof for 255 in 8 bits says nothing about a commitment to 256.
    let mut rng = StdRng::seed_from_u64(9);
    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.range(x, RangeBits::B8);
    let p = b.build().unwrap();
    let good = Opening::random(255, &mut rng);
    let proof = prove(&p, std::slice::from_ref(&good), &[], &context()).unwrap();
    let bad = Opening::new(256, *good.blinding());
    assert_eq!(
        verify(&p, &[bad.commit()], &[], &context(), &proof),
        Err(VerifyError::RangeProofRejected)
    );
    // Conservation: shifting value to one side breaks the proof. (Any changed
    // commitment changes the transcript, so a range proof, if present, fails first.)
    let s = samples::transition(&mut rng);
    let proof = prove(&s.program, &s.witness, &s.publics, &context()).unwrap();
    let mut cs = commitments(&s.witness);
    cs[4] = Opening::new(s.witness[4].value() + 1, *s.witness[4].blinding()).commit();
    assert_eq!(
        verify(&s.program, &cs, &s.publics, &context(), &proof),
        Err(VerifyError::RangeProofRejected)
    );
    let mut b = ProgramBuilder::new();
    let (x, y) = (
        b.proven_var("x", RangeBits::B64),
        b.proven_var("y", RangeBits::B64),
    );
    let t = b.public("total");
    b.linear(LinExpr::term(x).plus(1, y).plus(-1, t));
    let p = b.build().unwrap();
    let w = [Opening::random(60, &mut rng), Opening::random(40, &mut rng)];
    let proof = prove(&p, &w, &[100], &context()).unwrap();
    let forged = [Opening::new(61, *w[0].blinding()).commit(), w[1].commit()];
    assert_eq!(
        verify(&p, &forged, &[100], &context(), &proof),
        Err(VerifyError::SigmaRejected)
    );
}

#[test]
fn wrong_counts_are_typed_errors() {
    let mut rng = StdRng::seed_from_u64(10);
    let s = samples::transition(&mut rng);
    let proof = prove(&s.program, &s.witness, &s.publics, &context()).unwrap();
    let cs = commitments(&s.witness);
    assert_eq!(
        verify(&s.program, &cs[1..], &s.publics, &context(), &proof),
        Err(VerifyError::CommitmentCount {
            expected: 6,
            found: 5
        })
    );
    assert_eq!(
        verify(&s.program, &cs, &s.publics[1..], &context(), &proof),
        Err(VerifyError::PublicCount {
            expected: 2,
            found: 1
        })
    );
}

// ---------------------------------------------------------------------------
// Programs: validation and encoding.

#[test]
fn unbounded_variables_are_refused() {
    // Without a bound, x = total + 1 and y = -1 (mod ℓ) would satisfy x + y = total.
    let mut b = ProgramBuilder::new();
    let x = b.var("seller");
    let y = b.var("buyer");
    let t = b.public("total");
    b.range(x, RangeBits::B64);
    b.linear(LinExpr::term(x).plus(1, y).plus(-1, t));
    assert_eq!(
        b.build(),
        Err(ProgramError::UnboundedVariable {
            var: 1,
            name: "buyer".into()
        })
    );
}

#[test]
fn invalid_programs_are_refused() {
    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.range(x, RangeBits::B8).range(VarId(9), RangeBits::B8);
    assert!(matches!(
        b.build(),
        Err(ProgramError::UnknownVariable {
            constraint: 1,
            var: 9,
            ..
        })
    ));

    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.range(x, RangeBits::B8).equals_public(x, PubId(0));
    assert!(matches!(
        b.build(),
        Err(ProgramError::UnknownPublic { constraint: 1, .. })
    ));

    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.one_of(x, vec![1, 2, 1]);
    assert_eq!(
        b.build(),
        Err(ProgramError::DuplicateInSet {
            constraint: 0,
            value: 1
        })
    );

    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.one_of(x, vec![]);
    assert!(matches!(
        b.build(),
        Err(ProgramError::SetSize { size: 0, .. })
    ));

    let mut b = ProgramBuilder::new();
    let x = b.var("x");
    b.range(x, RangeBits::B8)
        .linear(LinExpr::term(x).plus_constant(MAX_COEFF + 1));
    assert_eq!(
        b.build(),
        Err(ProgramError::CoefficientTooLarge { constraint: 1 })
    );

    let mut b = ProgramBuilder::new();
    for i in 0..65 {
        let v = b.var(&format!("x{i}"));
        b.range(v, RangeBits::B64);
    }
    assert_eq!(
        b.build(),
        Err(ProgramError::TooManyRangeEntries {
            entries: 65,
            max: 64
        })
    );
}

#[test]
fn program_encoding_round_trips_and_is_strict() {
    let mut rng = StdRng::seed_from_u64(11);
    for s in all_samples(&mut rng) {
        let bytes = s.program.encode();
        assert_eq!(Program::decode(&bytes).unwrap(), s.program);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Program::decode(&trailing),
            Err(DecodeError::TrailingBytes {
                what: "program",
                count: 1
            })
        );
        for cut in 0..bytes.len() {
            assert!(
                Program::decode(&bytes[..cut]).is_err(),
                "{}: prefix {cut} decodes",
                s.name
            );
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(matches!(
            Program::decode(&v2),
            Err(DecodeError::UnsupportedVersion { version: 2, .. })
        ));
    }
}

#[test]
fn proof_decoding_is_strict() {
    let mut rng = StdRng::seed_from_u64(12);
    let s = samples::every_kind(&mut rng);
    let bytes = prove(&s.program, &s.witness, &s.publics, &context())
        .unwrap()
        .encode();
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert!(matches!(
        Proof::decode(&trailing),
        Err(DecodeError::TrailingBytes { count: 2, .. })
    ));
    for cut in 0..bytes.len() {
        assert!(
            Proof::decode(&bytes[..cut]).is_err(),
            "prefix {cut} decodes"
        );
    }
    // A non-canonical scalar: the last 32 bytes are a response scalar; set it to ℓ + small.
    let mut noncanon = bytes.clone();
    let n = noncanon.len();
    noncanon[n - 32..].copy_from_slice(&[0xff; 32]);
    assert!(matches!(
        Proof::decode(&noncanon),
        Err(DecodeError::NonCanonicalScalar { .. })
    ));
    // Random garbage never panics.
    for len in 0..400 {
        let junk: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let _ = Proof::decode(&junk);
        let _ = Program::decode(&junk);
    }
}
