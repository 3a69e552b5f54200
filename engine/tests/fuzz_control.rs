//! Runs the control-API fuzz body
//! (`sotto_engine::node::control::fuzz_request`) on stable: over the
//! committed corpus in `fuzz/corpus/control/` and mutations of it. Set
//! `SOTTO_TEST_SEED` to replay a run; the seed is printed.

use sotto_circuits::fuzzing::harness::exercise;
use sotto_engine::node::control::fuzz_request;

#[test]
fn control_target_over_corpus_and_mutations() {
    exercise("control", fuzz_request, 20_000, 256);
}
