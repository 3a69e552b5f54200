//! Runs the artifact fuzz body (`sotto_contracts::fuzzing::artifact`) on
//! stable: over the committed corpus in `fuzz/corpus/artifact/` (a whole
//! module, and the ABI and programs sections of two library contracts) and
//! mutations of it. Set `SOTTO_TEST_SEED` to replay a run; the seed is
//! printed.
#![allow(clippy::unwrap_used, reason = "test code")]

use sotto_circuits::fuzzing::harness::exercise;

#[test]
fn artifact_target_over_corpus_and_mutations() {
    exercise("artifact", sotto_contracts::fuzzing::artifact, 5_000, 512);
}

/// The corpus holds inputs that decode, so the round-trip oracles run.
#[test]
fn the_corpus_decodes_so_the_oracles_are_live() {
    let dir = sotto_circuits::fuzzing::harness::corpus_dir("artifact");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert!(sotto_contracts::Artifact::from_bytes(read("payment_module")).is_ok());
    for name in ["payment_abi", "negotiation_abi"] {
        assert!(
            sotto_contracts::abi::Abi::decode(&read(name)).is_ok(),
            "{name}"
        );
    }
    let programs = sotto_contracts::artifact::decode_programs(&read("negotiation_programs"));
    assert!(programs.is_ok_and(|p| !p.is_empty()));
}
