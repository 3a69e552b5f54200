//! Runs the sandbox fuzz body (`sotto_engine::fuzzing::sandbox`) on stable:
//! over the committed corpus in `fuzz/corpus/sandbox/`, over mutations of
//! it, and over random bytes. Set `SOTTO_TEST_SEED` to replay a run; the
//! seed is printed. `SOTTO_WRITE_CORPUS=1` (re)writes the seed corpus.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sotto_circuits::fuzzing::harness::{corpus_dir, exercise};
use sotto_engine::fuzzing;
use sotto_engine::sandbox::{CallError, CallInput, Mode, Value, import_names};

const PAYMENT: &str = include_str!("modules/payment.wat");
const HASH: &str = include_str!("modules/hash.wat");

/// A conforming module for the raw-bytes generator: `call.f` with memory,
/// reading its bytes32 argument, hashing it and publishing a public input.
const CALL_F: &str = r#"(module
  (import "sotto" "arg_get_bytes" (func $arg_get_bytes (param i32 i32)))
  (import "sotto" "hash" (func $hash (param i32 i32 i32 i32)))
  (import "sotto" "field_set_bytes" (func $field_set_bytes (param i32 i32)))
  (import "sotto" "public_input" (func $public_input (param i32 i64)))
  (memory (export "memory") 1 2)
  (func (export "call.f")
    (call $arg_get_bytes (i32.const 2) (i32.const 0))
    (call $hash (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 32))
    (call $field_set_bytes (i32.const 4) (i32.const 32))
    (call $public_input (i32.const 1) (i64.load (i32.const 32)))))"#;

/// `wat`'s output for `src` without its `name` section (wat appends one
/// when the text names functions; it carries nothing the sandbox reads).
fn wasm_without_names(src: &str) -> Vec<u8> {
    let bytes = wat::parse_str(src).unwrap();
    let mut kept = bytes[..8].to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        let payload = payload.unwrap();
        if let Some((id, range)) = payload.as_section() {
            let is_names =
                matches!(&payload, wasmparser::Payload::CustomSection(c) if c.name() == "name");
            if !is_names {
                // The section id, its size as LEB128, then its contents.
                kept.push(id);
                let mut size = range.len();
                loop {
                    let byte = (size & 0x7f) as u8;
                    size >>= 7;
                    kept.push(if size == 0 { byte } else { byte | 0x80 });
                    if size == 0 {
                        break;
                    }
                }
                kept.extend_from_slice(&bytes[range]);
            }
        }
    }
    kept
}

fn write_corpus() {
    let dir = corpus_dir("sandbox");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write("payment.wasm", &wat::parse_str(PAYMENT).unwrap());
    write("hash.wasm", &wat::parse_str(HASH).unwrap());
    write("call_f.wasm", &wat::parse_str(CALL_F).unwrap());
    let mut rng = StdRng::seed_from_u64(0x5a4d_b0c5);
    for (i, len) in [16usize, 64, 256, 1024].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        write(&format!("random_{i}"), &bytes);
    }
}

#[test]
fn sandbox_target_over_corpus_and_mutations() {
    if std::env::var_os("SOTTO_WRITE_CORPUS").is_some() {
        write_corpus();
    }
    exercise("sandbox", fuzzing::sandbox, 1000, 2000);
}

#[test]
fn the_encoded_payment_module_is_payment_wat() {
    assert_eq!(fuzzing::payment_module(), wasm_without_names(PAYMENT));
    let out = &fuzzing::fixture().payment_output;
    assert_eq!(out.live, vec![70, 80]);
    assert_eq!(out.public_inputs, vec![30]);
}

#[test]
fn the_import_table_is_the_sandboxs() {
    let names: Vec<&str> = fuzzing::SOTTO_IMPORTS.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names, import_names().collect::<Vec<_>>());
    // And its signatures are the loader's: a module importing all of them
    // (with a memory, since some take pointers) loads.
    let fx = fuzzing::fixture();
    let mut imports = String::new();
    for (name, params, results) in fuzzing::SOTTO_IMPORTS {
        let list = |ts: &[wasm_encoder::ValType]| {
            ts.iter()
                .map(|t| format!("{t:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(" ")
        };
        imports.push_str(&format!(
            r#"(import "sotto" "{name}" (func (param {}) (result {})))"#,
            list(params),
            list(results)
        ));
    }
    let wat =
        format!(r#"(module {imports} (memory (export "memory") 1) (func (export "call.f")))"#);
    fx.sandbox
        .load(&wat::parse_str(&wat).unwrap(), &fx.abi)
        .unwrap();
}

/// The oracles are live: the corpus's conforming module loads and its call
/// succeeds, so the body's checks run on real outputs, not only on refusals.
#[test]
fn the_conforming_seed_runs() {
    let fx = fuzzing::fixture();
    let module = fx
        .sandbox
        .load(&wat::parse_str(CALL_F).unwrap(), &fx.abi)
        .unwrap();
    let input = CallInput {
        fields: vec![
            Value::U64(1),
            Value::Bool(false),
            Value::Party(0),
            Value::Bytes32([0; 32]),
        ],
        args: vec![Value::U64(1), Value::Party(1), Value::Bytes32([3; 32])],
        allocation: vec![1, 2],
        now: 0,
        mode: Mode::Public,
    };
    let out = fx.sandbox.call(&module, "f", input.clone()).unwrap();
    assert_ne!(out.fields[3], Value::Bytes32([0; 32]));
    // Out of fuel is a typed error, as the body expects of a generated loop.
    let mut abi = fx.abi.clone();
    abi.budgets.fuel_per_call = 5;
    let starved = fx
        .sandbox
        .load(&wat::parse_str(CALL_F).unwrap(), &abi)
        .unwrap();
    assert_eq!(
        fx.sandbox.call(&starved, "f", input),
        Err(CallError::OutOfFuel { budget: 5 })
    );
}
