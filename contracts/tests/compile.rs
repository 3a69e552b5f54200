//! The compiler on the contract library: every contract builds, and the
//! same source gives the same bytes.
#![allow(clippy::unwrap_used, reason = "test code")]

use expect_test::{Expect, expect};
use sotto_contracts::{Artifact, compile, render};

/// The library, with a check that it is the whole of contracts/examples.
fn library() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let on_disk = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sotto")
        })
        .count();
    assert_eq!(
        on_disk,
        sotto_contracts::library::LIBRARY.len(),
        "LIBRARY lists every example"
    );
    sotto_contracts::library::LIBRARY
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn every_library_contract_compiles() {
    for (name, src) in library() {
        let built = compile(&src).unwrap_or_else(|d| panic!("{name}: {d:#?}"));
        let a = &built.artifact;
        assert!(built.warnings.is_empty(), "{name}: {:?}", built.warnings);
        sotto_contracts::fuzzing::bounded_by_the_program(a);
        // What the artifact says about itself survives a round trip.
        let again = Artifact::from_bytes(a.bytes().to_vec()).unwrap();
        assert_eq!(&again, a, "{name}");
        let abi = a.abi();
        assert_eq!(abi.name, name);
        assert_eq!(abi.functions.len(), src.matches("\nfn ").count(), "{name}");
        // A function has a circuit exactly when it touches private values.
        for f in &abi.functions {
            let private = f.params.iter().any(|p| p.private) || !f.reveals.is_empty();
            if private {
                assert!(f.circuit.is_some(), "{name}.{}", f.name);
            }
        }
    }
}

#[test]
fn the_same_source_gives_the_same_bytes() {
    for (name, src) in library() {
        let a = compile(&src).unwrap().artifact;
        let b = compile(&src).unwrap().artifact;
        assert_eq!(a.bytes(), b.bytes(), "{name}");
        assert_eq!(a.id(), b.id(), "{name}");
    }
}

/// A readable account of one function's circuit: roles, publics, constraints.
fn circuit(src: &str, function: &str) -> String {
    let a = compile(src).unwrap().artifact;
    let (_, f) = a.abi().function(function).unwrap();
    let Some(p) = a.program(f) else {
        return "no circuit\n".into();
    };
    let c = f.circuit.as_ref().unwrap();
    let mut out = String::new();
    for (v, role) in p.vars().iter().zip(&c.vars) {
        out += &format!("var {} {:?} proven={:?}\n", v.name, role, v.proven);
    }
    for name in p.publics() {
        out += &format!("public {name}\n");
    }
    for r in &f.reveals {
        out += &format!("reveal {} -> public {}\n", r.name, r.public_input);
    }
    for c in p.constraints() {
        out += &format!("{c:?}\n");
    }
    out
}

const NEGOTIATION: &str = include_str!("../examples/negotiation.sotto");
const AUCTION: &str = include_str!("../examples/auction.sotto");

#[test]
fn a_private_limit_becomes_a_comparison_with_a_public_input() {
    expect![[r#"
        var buyer_limit Field(2) proven=Some(B64)
        public price
        Compare { lhs: LinExpr { terms: [(1, Public(PubId(0)))], constant: 0 }, op: Le, rhs: LinExpr { terms: [(1, Var(VarId(0)))], constant: 0 }, bits: B64 }
    "#]].assert_eq(&circuit(NEGOTIATION, "accept"));
    expect![[r#"
        var limit Param(0) proven=None
        var buyer_limit Field(2) proven=Some(B64)
        var buyer_limit' NewField(2) proven=None
        Range { var: VarId(0), bits: B64 }
        Compare { lhs: LinExpr { terms: [(1, Var(VarId(0)))], constant: 0 }, op: Ge, rhs: LinExpr { terms: [(1, Var(VarId(1)))], constant: 0 }, bits: B64 }
        Range { var: VarId(2), bits: B64 }
        Linear(LinExpr { terms: [(1, Var(VarId(2))), (-1, Var(VarId(0)))], constant: 0 })
    "#]].assert_eq(&circuit(NEGOTIATION, "raise_limit"));
    expect![[r#"
        var alice_bid Field(0) proven=Some(B64)
        public reveal(alice_bid)
        reveal alice_bid -> public 0
        Linear(LinExpr { terms: [(1, Var(VarId(0))), (-1, Public(PubId(0)))], constant: 0 })
    "#]]
    .assert_eq(&circuit(AUCTION, "open_alice"));
    expect![[r#"
        no circuit
    "#]]
    .assert_eq(&circuit(AUCTION, "settle"));
}

#[test]
fn private_arithmetic_lowers_to_linear_forms_and_products() {
    let src = "contract t;
party alice, bob;
state { s: private(alice) u64; t: private(alice) u64; n: u64 = 3; }
fn f(x: private u64, y: private u64) by alice {
    require x * y <= n * 2 + s, \"too big\";
    t = 3 * (x - s) + n;
}
";
    expect![[r#"
        var x Param(0) proven=None
        var y Param(1) proven=None
        var x * y Derived proven=None
        var s Field(0) proven=Some(B64)
        var t' NewField(1) proven=None
        public n * 2
        public n
        Range { var: VarId(0), bits: B64 }
        Range { var: VarId(1), bits: B64 }
        Range { var: VarId(2), bits: B64 }
        Product { x: VarId(0), y: VarId(1), z: VarId(2) }
        Compare { lhs: LinExpr { terms: [(1, Var(VarId(2)))], constant: 0 }, op: Le, rhs: LinExpr { terms: [(1, Public(PubId(0))), (1, Var(VarId(3)))], constant: 0 }, bits: B64 }
        Range { var: VarId(4), bits: B64 }
        Linear(LinExpr { terms: [(1, Var(VarId(4))), (-3, Var(VarId(0))), (3, Var(VarId(3))), (-1, Public(PubId(1)))], constant: 0 })
    "#]].assert_eq(&circuit(src, "f"));
}

/// Compiles `PRELUDE + body`, rendering the diagnostics (or "ok").
fn build(body: &str, expect: Expect) {
    let src = format!("{PRELUDE}{body}");
    let rendered = match compile(&src) {
        Ok(c) => {
            let w = render("t.sotto", &src, &c.warnings);
            if w.is_empty() { "ok\n".to_owned() } else { w }
        }
        Err(d) => render("t.sotto", &src, &d),
    };
    expect.assert_eq(&rendered);
}

const PRELUDE: &str = "contract t;
party alice, bob;
state {
    n: u64 = 0;
    flag: bool = false;
    a_secret: private(alice) u64;
    a_flag: private(alice) bool;
}
";

#[test]
fn private_work_inside_an_if_is_refused() {
    build(
        "fn f() by alice { if n > 1 { require a_secret > 2, \"r\"; } }",
        expect![[r#"
            [E0308] Error: a `require` over a private value inside an `if`
               ╭─[ t.sotto:9:30 ]
               │
             9 │ fn f() by alice { if n > 1 { require a_secret > 2, "r"; } }
               │                              ─────────────┬────────────  
               │                                           ╰────────────── this runs only on one branch
               │ 
               │ Help: a function's constraint program is the same on every call: move the private work before the `if`, or split the function in two
            ───╯
        "#]],
    );
    build(
        "fn f(x: private u64) by alice { if flag { a_secret = x; } }",
        expect![[r#"
            [E0308] Error: an assignment to a private field inside an `if`
               ╭─[ t.sotto:9:43 ]
               │
             9 │ fn f(x: private u64) by alice { if flag { a_secret = x; } }
               │                                           ──────┬──────  
               │                                                 ╰──────── this runs only on one branch
               │ 
               │ Help: a function's constraint program is the same on every call: move the private work before the `if`, or split the function in two
            ───╯
        "#]],
    );
    build(
        "fn f() by alice { if flag { n = reveal(a_secret); } }",
        expect![[r#"
            [E0308] Error: a `reveal` inside an `if`
               ╭─[ t.sotto:9:33 ]
               │
             9 │ fn f() by alice { if flag { n = reveal(a_secret); } }
               │                                 ────────┬───────  
               │                                         ╰───────── this runs only on one branch
               │ 
               │ Help: a function's constraint program is the same on every call: move the private work before the `if`, or split the function in two
            ───╯
        "#]],
    );
}

#[test]
fn private_comparisons_outside_a_require_are_refused() {
    build(
        "fn f() by alice { a_flag = a_secret > 3; }",
        expect![[r#"
            [E0309] Error: this private expression cannot be compiled to a constraint program
               ╭─[ t.sotto:9:28 ]
               │
             9 │ fn f() by alice { a_flag = a_secret > 3; }
               │                            ──────┬─────  
               │                                  ╰─────── private values may be combined only with `+`, `-`, `*` and `!`, and compared only in a `require`
               │ 
               │ Help: state the comparison inside a `require`, or reveal the value first
            ───╯
        "#]],
    );
}

#[test]
fn constants_too_large_for_a_constraint_are_refused() {
    build(
        "fn f() by alice { a_secret = a_secret * 18446744073709551615 * 2; }",
        expect![[r#"
            [E0310] Error: a constant in this private expression is too large for a constraint program
               ╭─[ t.sotto:9:30 ]
               │
             9 │ fn f() by alice { a_secret = a_secret * 18446744073709551615 * 2; }
               │                              ─────────────────┬─────────────────  
               │                                               ╰─────────────────── coefficients must stay below 2^64 (18446744073709551615)
               │ 
               │ Help: split the computation, or use smaller constants
            ───╯
        "#]],
    );
}

#[test]
fn reasons_longer_than_the_host_carries_are_refused() {
    build(
        &format!(
            "fn f() by alice {{ require n > 0, \"{}\"; }}",
            "x".repeat(257)
        ),
        expect![[r#"
        [E0310] Error: this reason is 257 bytes; the host carries at most 256
           ╭─[ t.sotto:9:34 ]
           │
         9 │ fn f() by alice { require n > 0, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; }
           │                                  ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┬─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────  
           │                                                                                                                                                                   ╰─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────── too long
           │ 
           │ Help: shorten it: the counterparty sees it in every refusal
        ───╯
    "#]],
    );
    build(
        &format!(
            "fn f() by alice {{ require n > 0, \"{}\"; }}",
            "x".repeat(256)
        ),
        expect![[r#"
        ok
    "#]],
    );
}

#[test]
fn errors_of_earlier_stages_stop_the_build() {
    build(
        "fn f( by alice {}",
        expect![[r#"
        [E0001] Error: expected a parameter name or `)`, found keyword `by`
           ╭─[ t.sotto:9:7 ]
           │
         9 │ fn f( by alice {}
           │     ┬ ─┬  
           │     ╰───── this `(` is not closed
           │        │  
           │        ╰── expected a parameter name or `)`
           │ 
           │ Help: close the parameter list with `)`
        ───╯
    "#]],
    );
    build(
        "fn f() by alice { n = a_secret; }",
        expect![[r#"
        [E0301] Error: private value `a_secret` (owned by alice) reaches public field `n`
           ╭─[ t.sotto:9:23 ]
           │
         9 │ fn f() by alice { n = a_secret; }
           │                       ────┬───  
           │                           ╰───── `a_secret` is private to alice: `n` is public
           │ 
           │ Help: assign `reveal(a_secret)` to disclose it, or make `n` `private(alice)`
        ───╯
    "#]],
    );
}

/// Generated well-typed contracts always check clean and always compile:
/// the only refusals allowed are the compiler's documented limits.
#[test]
fn generated_contracts_compile() {
    for input in sotto_circuits::fuzzing::harness::corpus("compile") {
        sotto_contracts::fuzzing::compile(&input);
    }
    use rand::{RngCore as _, SeedableRng as _};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5077_0c0d);
    let (mut built, mut circuits, mut reveals) = (0, 0, 0);
    for _ in 0..300 {
        let mut bytes = vec![0u8; 2048];
        rng.fill_bytes(&mut bytes);
        // The fuzz target's body holds the generator and the compiler to
        // their oracles; the loop below counts what it reached.
        sotto_contracts::fuzzing::compile(&bytes);
        let src = sotto_contracts::generate::contract(&mut arbitrary::Unstructured::new(&bytes));
        match compile(&src) {
            Ok(c) => {
                built += 1;
                let abi = c.artifact.abi();
                circuits += abi.functions.iter().filter(|f| f.circuit.is_some()).count();
                reveals += abi.functions.iter().map(|f| f.reveals.len()).sum::<usize>();
            }
            Err(diags) => {
                let unexpected: Vec<_> = diags
                    .iter()
                    .filter(|d| d.severity == sotto_contracts::Severity::Error && d.code != "E0310")
                    .collect();
                assert!(
                    unexpected.is_empty(),
                    "{src}\n{}",
                    render("generated.sotto", &src, &diags)
                );
            }
        }
    }
    assert!(built > 250, "only {built} of 300 generated contracts built");
    // The generator reaches the private paths, not just the public ones.
    assert!(
        circuits > 100 && reveals > 30,
        "{circuits} circuits, {reveals} reveals"
    );
}
