//! Runs the served chain's JSON-RPC fuzz body
//! (`sotto_engine::anchor::fuzz_request`) on stable: over the committed
//! corpus in `fuzz/corpus/jsonrpc/` and mutations of it. Set
//! `SOTTO_TEST_SEED` to replay a run; the seed is printed.

use sotto_circuits::fuzzing::harness::exercise;
use sotto_engine::anchor::fuzz_request;

#[test]
fn jsonrpc_target_over_corpus_and_mutations() {
    exercise("jsonrpc", fuzz_request, 20_000, 512);
}
