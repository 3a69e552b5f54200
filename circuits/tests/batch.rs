//! Batch verification accepts exactly what lone verification accepts.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_circuits::samples::{self, Sample};
use sotto_circuits::*;

struct Made {
    sample: Sample,
    commitments: Vec<Commitment>,
    context: ProofContext,
    proof: Proof,
}

fn make(rng: &mut StdRng) -> Vec<Made> {
    let all = vec![
        samples::ranges(1, RangeBits::B64, rng),
        samples::ranges(2, RangeBits::B8, rng),
        samples::ranges(8, RangeBits::B32, rng),
        samples::comparison(rng),
        samples::product(rng),
        samples::transition(rng),
        samples::every_kind(rng),
    ];
    all.into_iter()
        .enumerate()
        .map(|(i, sample)| {
            let context = ProofContext {
                contract_id: [i as u8; 32],
                channel_id: [0xee; 32],
                version: i as u64,
                function: sample.name.clone(),
            };
            let proof = prove_with_rng(
                &sample.program,
                &sample.witness,
                &sample.publics,
                &context,
                rng,
            )
            .unwrap();
            Made {
                commitments: sample.witness.iter().map(Opening::commit).collect(),
                sample,
                context,
                proof,
            }
        })
        .collect()
}

fn items(made: &[Made]) -> Vec<BatchItem<'_>> {
    made.iter()
        .map(|m| BatchItem {
            program: &m.sample.program,
            commitments: &m.commitments,
            publics: &m.sample.publics,
            context: &m.context,
            proof: &m.proof,
        })
        .collect()
}

#[test]
fn a_batch_of_different_programs_verifies() {
    let mut rng = StdRng::seed_from_u64(20);
    let made = make(&mut rng);
    batch_verify_with_rng(&items(&made), &mut rng).unwrap();
    batch_verify(&[]).unwrap();
}

#[test]
fn a_bad_proof_in_a_batch_is_named() {
    let mut rng = StdRng::seed_from_u64(21);
    let made = make(&mut rng);
    for bad in 0..made.len() {
        let mut items = items(&made);
        let other = ProofContext {
            version: 999,
            ..made[bad].context.clone()
        };
        items[bad].context = &other;
        let err = batch_verify_with_rng(&items, &mut rng).unwrap_err();
        assert_eq!(err.index, bad, "{err}");
    }
    // A commitment swapped for one to the same value with another blinding.
    let mut items = items(&made);
    let mut cs = made[5].commitments.clone();
    cs[0] = Opening::random(made[5].sample.witness[0].value(), &mut rng).commit();
    items[5].commitments = &cs;
    assert_eq!(
        batch_verify_with_rng(&items, &mut rng).unwrap_err().index,
        5
    );
}

#[test]
fn batch_and_lone_verification_agree_on_mutated_proofs() {
    let seed = std::env::var("SOTTO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("SOTTO_TEST_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let made = make(&mut rng);
    let mut checked = 0;
    while checked < 150 {
        let target = rng.gen_range(0..made.len());
        let mut bytes = made[target].proof.encode();
        let i = rng.gen_range(0..bytes.len());
        bytes[i] ^= 1 << rng.gen_range(0..8);
        let Ok(mutated) = Proof::decode(&bytes) else {
            continue;
        };
        checked += 1;
        let m = &made[target];
        let lone = verify(
            &m.sample.program,
            &m.commitments,
            &m.sample.publics,
            &m.context,
            &mutated,
        );
        let mut items = items(&made);
        items[target].proof = &mutated;
        let batch = batch_verify_with_rng(&items, &mut rng);
        assert_eq!(
            lone.is_ok(),
            batch.is_ok(),
            "byte {i} of proof {target}: lone {lone:?}, batch {batch:?}"
        );
        assert!(lone.is_err(), "a mutated proof verified");
        assert_eq!(batch.unwrap_err().index, target);
    }
}
