//! Differential tests: the compiled module in the sandbox against the
//! reference interpreter (`sotto_contracts::interp`), on the contract
//! library and on generated well-typed contracts, over random inputs.
//!
//! Each call runs as its caller's node runs it (`Sandbox::call_as_owner`:
//! the witness part if the function has a circuit, then the public part
//! with the reveals the witness part produced), and must agree with the
//! interpreter on everything: success or the same abort reason or overdraw,
//! every new field value (the caller's private ones included), both
//! allocations, the awaited party, the final flag, the values revealed; and
//! on success the constraint program holds for the witness part's values
//! and public inputs. Where the interpreter refused a private requirement,
//! the program must *not* hold for the honest values (the soundness
//! direction, which completeness alone would miss).
#![allow(clippy::unwrap_used, reason = "test code")]

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};
use sotto_contracts::abi::{Abi, Function, Value, VarRole};
use sotto_contracts::compile;
use sotto_contracts::interp::{self, Failure};
use sotto_contracts::syntax::ast::Contract;
use sotto_engine::sandbox::owner::public_call;
use sotto_engine::sandbox::{
    CallError, CallOutput, LoadedModule, OwnerInput, Sandbox, SandboxConfig,
};

/// The public part alone, with the reveal arguments at 0: what the soundness
/// probe needs when the witness part refused the call.
fn public_part_alone(
    sandbox: &Sandbox,
    module: &LoadedModule,
    abi: &Abi,
    f: &Function,
    input: &OwnerInput,
) -> Result<CallOutput, CallError> {
    let zeros: Vec<Value> = f.reveals.iter().map(|r| r.ty.zero()).collect();
    sandbox.call(module, &f.name, public_call(abi, f, input, &zeros))
}

/// Asserts that a module failure is the interpreter's failure.
fn same_failure(expected: &Failure, got: &CallError, what: &str) {
    match (expected, got) {
        (Failure::Abort { reason, .. }, CallError::Aborted { reason: r }) => {
            assert_eq!(reason, r, "{what}: abort reason");
        }
        (
            Failure::InsufficientFunds {
                silent,
                party,
                balance,
                amount,
            },
            CallError::InsufficientFunds {
                import,
                party: p,
                balance: b,
                amount: a,
            },
        ) => {
            let want = if *silent {
                "silent_transfer"
            } else {
                "transfer"
            };
            assert_eq!(
                (want, party, balance, amount),
                (*import, p, b, a),
                "{what}: overdraw"
            );
        }
        _ => panic!("{what}: interpreter says {expected:?}, module says {got:?}"),
    }
}

/// Asserts that a successful module call is the interpreter's output.
fn same_output(abi: &Abi, expected: &interp::Output, got: &CallOutput, what: &str) {
    let public: Vec<Value> = abi
        .fields
        .iter()
        .zip(&expected.fields)
        .filter(|(x, _)| x.owner.is_none())
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(public, got.fields, "{what}: public fields");
    assert_eq!(expected.live, got.live, "{what}: live allocation");
    assert_eq!(expected.signed, got.signed, "{what}: signed allocation");
    assert_eq!(expected.awaited, got.awaited, "{what}: awaited party");
    assert_eq!(expected.finished, got.finished, "{what}: finished");
}

/// Runs `calls` random calls of every function of `src`; returns how many
/// succeeded in the interpreter.
fn differential(name: &str, src: &str, sandbox: &Sandbox, seed: u64, calls: usize) -> usize {
    let artifact = compile(src)
        .unwrap_or_else(|d| panic!("{name} does not build: {d:?}"))
        .artifact;
    let module = sandbox.load_artifact(&artifact).unwrap();
    let (tree, _): (Contract, _) = sotto_contracts::syntax::parse(src);
    let abi = artifact.abi();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 256];
    let mut succeeded = 0;
    for f in &abi.functions {
        for i in 0..calls {
            rng.fill_bytes(&mut bytes);
            let owner =
                sotto_engine::draw::input(&mut arbitrary::Unstructured::new(&bytes), abi, f);
            let input = interp::Input {
                fields: owner.fields.clone(),
                args: owner.args.clone(),
                allocation: owner.allocation.clone(),
                now: owner.now,
            };
            let what = format!("{name}.{} call {i} on {input:?}\n{src}", f.name);
            let expected = interp::run(&tree, src, &f.name, &input);
            let got = sandbox.call_as_owner(&module, abi, &f.name, &owner);
            match (&expected, &got) {
                (Ok(e), Ok(o)) => {
                    same_output(abi, e, &o.public, &what);
                    assert_eq!(
                        e.fields, o.fields,
                        "{what}: every field, private ones included"
                    );
                    assert_eq!(e.reveals, o.reveals, "{what}: reveals");
                    if let Some(w) = &o.witness {
                        let program = artifact.program(f).unwrap();
                        assert_eq!(
                            program.check(w.private.as_ref().unwrap(), &w.public_inputs),
                            Ok(()),
                            "the program does not hold for {what}"
                        );
                    }
                }
                (Err(e), Err(o)) => match o.call_error() {
                    Some(error) => same_failure(e, error, &what),
                    None => panic!("{what}: interpreter {e:?}, owner {o:?}"),
                },
                (e, o) => panic!("{what}: interpreter {e:?}, owner {o:?}"),
            }
            // Soundness direction: where the interpreter refused a private
            // requirement, the program must not hold for the honest values.
            if let Err(Failure::Abort {
                private: true,
                reason,
            }) = &expected
                && !is_fault(reason)
                && let Ok(p) = public_part_alone(sandbox, &module, abi, f, &owner)
                && let Some(values) =
                    solve(artifact.program(f).unwrap(), f, &input, &p.public_inputs)
            {
                assert!(
                    artifact
                        .program(f)
                        .unwrap()
                        .check(&values, &p.public_inputs)
                        .is_err(),
                    "{what}: the program holds although `{reason}` failed"
                );
            }
            succeeded += usize::from(expected.is_ok());
        }
    }
    succeeded
}

fn is_fault(reason: &str) -> bool {
    [
        "arithmetic overflow",
        "subtraction below zero",
        "division by zero",
    ]
    .iter()
    .any(|f| reason.starts_with(f))
}

/// The honest values of a program's variables: inputs from the call, each
/// output from the constraint that defines it (`out - expr = 0`, or a
/// product). `None` if some value leaves `u64`.
fn solve(
    program: &sotto_circuits::Program,
    f: &Function,
    input: &interp::Input,
    publics: &[u64],
) -> Option<Vec<u64>> {
    use sotto_circuits::{Constraint, Term};
    let roles = &f.circuit.as_ref()?.vars;
    let mut values: Vec<Option<u64>> = roles
        .iter()
        .map(|role| match *role {
            VarRole::Param(i) => input.args[usize::from(i)].as_word(),
            VarRole::Field(i) => input.fields[i as usize].as_word(),
            VarRole::NewField(_) | VarRole::Derived => None,
        })
        .collect();
    loop {
        let mut progress = false;
        for c in program.constraints() {
            match c {
                Constraint::Linear(e) => {
                    let unknown: Vec<_> = e
                        .terms
                        .iter()
                        .filter(|(_, t)| matches!(t, Term::Var(v) if values[usize::from(v.0)].is_none()))
                        .collect();
                    let [(1, Term::Var(out))] = unknown.as_slice() else {
                        continue;
                    };
                    let rest = e
                        .terms
                        .iter()
                        .filter(|(_, t)| t != &Term::Var(*out))
                        .try_fold(e.constant, |acc, &(k, t)| {
                            let v = match t {
                                Term::Var(v) => values[usize::from(v.0)]?,
                                Term::Public(p) => publics[usize::from(p.0)],
                            };
                            acc.checked_add(k.checked_mul(i128::from(v))?)
                        })?;
                    values[usize::from(out.0)] = Some(u64::try_from(-rest).ok()?);
                    progress = true;
                }
                Constraint::Product { x, y, z } if values[usize::from(z.0)].is_none() => {
                    let (Some(a), Some(b)) = (values[usize::from(x.0)], values[usize::from(y.0)])
                    else {
                        continue;
                    };
                    values[usize::from(z.0)] = Some(a.checked_mul(b)?);
                    progress = true;
                }
                _ => {}
            }
        }
        if !progress {
            break;
        }
    }
    values.into_iter().collect()
}

#[test]
fn the_library_agrees_with_the_interpreter() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    for (k, (name, src)) in sotto_contracts::library::LIBRARY.iter().enumerate() {
        let ok = differential(name, src, &sandbox, 0xd1ff + k as u64, 400);
        // Random inputs reach the success paths, not only the aborts.
        assert!(ok > 0, "{name}: no call succeeded");
    }
}

/// Every private comparison and arithmetic form at its edges: with values
/// drawn from small pools, equal operands are common, so a constraint one
/// step too weak (`<` proven as `<=`) or too strong is caught.
const EDGES: &str = "contract edges;
party a, b;
state { s: private(a) u64 = 0; t: private(a) bool = false; n: u64 = 0; }
fn lt(x: private u64, y: u64) by a { require x < y, \"lt\"; require s > y, \"gt\"; s = x; }
fn le(x: private u64, y: u64) by a { require x <= y && s >= y, \"le ge\"; s = y - x; }
fn eq(x: private u64, f: private bool) by a { require x == s, \"eq\"; require f, \"f\"; t = !f; }
fn arith(x: private u64, y: private u64) by a { require x * y + n == s * 2 - x, \"arith\"; s = x * 3 + y * n; }
fn open() by a { n = reveal(s); }
";

#[test]
fn private_comparisons_agree_at_their_edges() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let ok = differential("edges", EDGES, &sandbox, 0xed9e, 1500);
    assert!(ok > 100, "only {ok} calls succeeded");
}

#[test]
fn generated_contracts_agree_with_the_interpreter() {
    let sandbox = Sandbox::new(SandboxConfig::default()).unwrap();
    let mut rng = StdRng::seed_from_u64(0x9e4e);
    let mut ok = 0;
    for i in 0..120 {
        let mut bytes = vec![0u8; 2048];
        rng.fill_bytes(&mut bytes);
        let src = sotto_contracts::generate::contract(&mut arbitrary::Unstructured::new(&bytes));
        if compile(&src).is_err() {
            continue; // a documented limit (E0310); the compile tests count these
        }
        ok += differential(&format!("generated #{i}"), &src, &sandbox, i, 25);
    }
    assert!(ok > 200, "only {ok} generated calls succeeded");
}
