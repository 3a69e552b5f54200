//! Name, type and privacy checking: one entry point, many cases. Each case
//! snapshots the rendered diagnostics, which is also what authors see.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use expect_test::{Expect, expect};
use sotto_contracts::{check::check as check_contract, render, syntax::parse};

/// Two parties, a public field of each type, and one private field each.
const PRELUDE: &str = "contract t;
party alice, bob;
state {
    n: u64 = 0;
    flag: bool = false;
    h: bytes32 = 0x0000000000000000000000000000000000000000000000000000000000000000;
    who: party = alice;
    a_secret: private(alice) u64;
    b_secret: private(bob) u64;
}
";

fn check(body: &str, expect: Expect) {
    let src = format!("{PRELUDE}{body}");
    let (tree, syntax) = parse(&src);
    assert!(
        syntax.is_empty(),
        "case does not parse:\n{}",
        render("t.sotto", &src, &syntax)
    );
    let diags = check_contract(&tree);
    let rendered = render("t.sotto", &src, &diags);
    expect.assert_eq(if rendered.is_empty() {
        "ok\n"
    } else {
        &rendered
    });
}

// --- Privacy: every leak path is an error, every allowed flow is not. -------

#[test]
fn private_to_public_field() {
    check(
        "fn f() by alice { n = a_secret; }",
        expect![[r#"
            [E0301] Error: private value `a_secret` (owned by alice) reaches public field `n`
                ╭─[ t.sotto:11:23 ]
                │
             11 │ fn f() by alice { n = a_secret; }
                │                       ────┬───  
                │                           ╰───── `a_secret` is private to alice: `n` is public
                │ 
                │ Help: assign `reveal(a_secret)` to disclose it, or make `n` `private(alice)`
            ────╯
        "#]],
    );
}

#[test]
fn private_param_to_public_field() {
    check(
        "fn f(x: private u64) by alice { n = x + 1; }",
        expect![[r#"
            [E0301] Error: private value `x` (owned by alice) reaches public field `n`
                ╭─[ t.sotto:11:37 ]
                │
             11 │ fn f(x: private u64) by alice { n = x + 1; }
                │                                     ┬─┬──  
                │                                     ╰────── `x` is private to alice
                │                                       │    
                │                                       ╰──── `n` is public
                │ 
                │ Help: assign `reveal(x)` to disclose it, or make `n` `private(alice)`
            ────╯
        "#]],
    );
}

#[test]
fn private_to_public_local() {
    check(
        "fn f() by alice { let m = 0; m = a_secret; }",
        expect![[r#"
            [E0301] Error: private value `a_secret` (owned by alice) reaches public local `m`
                ╭─[ t.sotto:11:34 ]
                │
             11 │ fn f() by alice { let m = 0; m = a_secret; }
                │                                  ────┬───  
                │                                      ╰───── `a_secret` is private to alice: `m` is public
                │ 
                │ Help: assign `reveal(a_secret)` to disclose it, or make `m` `private(alice)`
            ────╯
        "#]],
    );
}

#[test]
fn private_to_allocation() {
    check(
        "fn f() by alice { transfer a_secret from alice to bob; }",
        expect![[r#"
            [E0302] Error: private value `a_secret` (owned by alice) reaches the allocation
                ╭─[ t.sotto:11:28 ]
                │
             11 │ fn f() by alice { transfer a_secret from alice to bob; }
                │                            ────┬───  
                │                                ╰───── `a_secret` is private to alice: the allocation is public: every party and the chain see it
                │ 
                │ Help: transfer `reveal(a_secret)` if alice agrees to disclose it
            ────╯
        "#]],
    );
}

#[test]
fn private_to_branch_condition() {
    check(
        "fn f() by alice { if a_secret > 5 { n = 1; } }",
        expect![[r#"
            [E0303] Error: private value `a_secret` (owned by alice) decides a branch
                ╭─[ t.sotto:11:22 ]
                │
             11 │ fn f() by alice { if a_secret > 5 { n = 1; } }
                │                      ────┬─┬─────  
                │                          ╰───────── `a_secret` is private to alice
                │                            │       
                │                            ╰─────── the branch taken would reveal it
                │ 
                │ Help: reveal it first (`reveal(a_secret)`), or state the condition as a `require` that alice proves
            ────╯
        "#]],
    );
}

#[test]
fn private_through_a_local_to_a_branch() {
    check(
        "fn f() by alice { let big = a_secret > 5; if big { n = 1; } }",
        expect![[r#"
            [E0303] Error: private value `a_secret` (owned by alice) decides a branch
                ╭─[ t.sotto:11:46 ]
                │
             11 │ fn f() by alice { let big = a_secret > 5; if big { n = 1; } }
                │                             ────┬───         ─┬─  
                │                                 ╰───────────────── `a_secret` is private to alice
                │                                               │   
                │                                               ╰─── the branch taken would reveal it
                │ 
                │ Help: reveal it first (`reveal(a_secret)`), or state the condition as a `require` that alice proves
            ────╯
        "#]],
    );
}

#[test]
fn private_to_hash() {
    check(
        "fn f() by alice { h = sha256(a_secret); }",
        expect![[r#"
            [E0304] Error: private value `a_secret` (owned by alice) is passed to `sha256`
                ╭─[ t.sotto:11:30 ]
                │
             11 │ fn f() by alice { h = sha256(a_secret); }
                │                              ────┬───  
                │                                  ╰───── `a_secret` is private to alice: a hash cannot be proven over a commitment
                │ 
                │ Help: reveal it first, and pass `reveal(a_secret)` instead
            ────╯
        "#]],
    );
}

#[test]
fn private_to_min() {
    check(
        r#"fn f() by alice { require min(a_secret, 3) > 1, "r"; }"#,
        expect![[r#"
            [E0304] Error: private value `a_secret` (owned by alice) is passed to `min`
                ╭─[ t.sotto:11:31 ]
                │
             11 │ fn f() by alice { require min(a_secret, 3) > 1, "r"; }
                │                               ────┬───  
                │                                   ╰───── `a_secret` is private to alice: a minimum or maximum cannot be proven over a commitment
                │ 
                │ Help: reveal it first, and pass `reveal(a_secret)` instead
            ────╯
        "#]],
    );
}

#[test]
fn private_to_abort_reason_is_not_even_syntax() {
    let src = format!(r#"{PRELUDE}fn f() by alice {{ require n > 0, a_secret; }}"#);
    let (_, diags) = parse(&src);
    assert!(!diags.is_empty(), "a reason must be a string literal");
}

#[test]
fn two_owners_never_meet() {
    check(
        r#"fn f() by alice { require a_secret < b_secret, "r"; }"#,
        expect![[r#"
            [E0306] Error: `b_secret` is private to bob, but alice calls this function
                ╭─[ t.sotto:11:38 ]
                │
              9 │     b_secret: private(bob) u64;
                │     ────┬───  
                │         ╰───── declared `private(bob)` here
                │ 
             11 │ fn f() by alice { require a_secret < b_secret, "r"; }
                │                                      ────┬───  
                │                                          ╰───── alice only holds a commitment to it
                │ 
                │ Help: read it in a function `by bob`, or have bob reveal it first
            ────╯
        "#]],
    );
}

#[test]
fn only_the_owner_reads_a_private_field() {
    check(
        r#"fn f() by bob { require a_secret > 1, "r"; }"#,
        expect![[r#"
            [E0306] Error: `a_secret` is private to alice, but bob calls this function
                ╭─[ t.sotto:11:25 ]
                │
              8 │     a_secret: private(alice) u64;
                │     ────┬───  
                │         ╰───── declared `private(alice)` here
                │ 
             11 │ fn f() by bob { require a_secret > 1, "r"; }
                │                         ────┬───  
                │                             ╰───── bob only holds a commitment to it
                │ 
                │ Help: read it in a function `by alice`, or have alice reveal it first
            ────╯
        "#]],
    );
}

#[test]
fn only_the_owner_writes_a_private_field() {
    check(
        "fn f() by bob { a_secret = 1; }",
        expect![[r#"
        [E0306] Error: `a_secret` is private to alice, but bob calls this function
            ╭─[ t.sotto:11:17 ]
            │
         11 │ fn f() by bob { a_secret = 1; }
            │           ─┬─   ────┬───  
            │            ╰────────────── called by bob
            │                     │     
            │                     ╰───── only alice knows its opening and can write it
            │ 
            │ Help: move this assignment into a function `by alice`
        ────╯
    "#]],
    );
}

#[test]
fn only_provable_requirements_over_private_values() {
    check(
        r#"fn f() by alice {
    require a_secret != 3, "ne";
    require a_secret > 1 || flag, "or";
    require !(a_secret > 1), "not";
    require a_secret / 2 > 1, "div";
}"#,
        expect![[r#"
            [E0307] Error: this requirement over a private value cannot be proven
                ╭─[ t.sotto:12:13 ]
                │
             12 │     require a_secret != 3, "ne";
                │             ──────┬──────  
                │                   ╰──────── `!=` over a private value
                │ 
                │ Help: state it as `<` or `>` (whichever the owner can prove), or reveal the value first
            ────╯
            [E0307] Error: this requirement over a private value cannot be proven
                ╭─[ t.sotto:13:13 ]
                │
             13 │     require a_secret > 1 || flag, "or";
                │             ──────────┬─────────  
                │                       ╰─────────── `||` over a private value
                │ 
                │ Help: split it into separate functions, or reveal the value first
            ────╯
            [E0307] Error: this requirement over a private value cannot be proven
                ╭─[ t.sotto:14:13 ]
                │
             14 │     require !(a_secret > 1), "not";
                │             ───────┬───────  
                │                    ╰───────── `!` over a private value
                │ 
                │ Help: state the positive condition: `!(a < b)` is `a >= b`
            ────╯
            [E0307] Error: `a_secret` (private to alice) cannot be divided
                ╭─[ t.sotto:15:13 ]
                │
             15 │     require a_secret / 2 > 1, "div";
                │             ────┬─┬─────  
                │                 ╰───────── `a_secret` is private to alice
                │                   │       
                │                   ╰─────── division and remainder of private values cannot be proven
                │ 
                │ Help: multiply the other side instead: `a / b >= c` is `a >= c * b`
            ────╯
        "#]],
    );
}

#[test]
fn allowed_private_flows() {
    check(
        r#"fn f(x: private u64, ok: private bool) by alice {
    require x <= balance(alice) && a_secret + x >= 10 && ok, "fine";
    require a_secret * x == 12 && n < a_secret, "fine";
    let y = a_secret + x;
    a_secret = y * 2;
    n = reveal(a_secret);
    transfer reveal(x) from alice to bob;
    if reveal(ok) { flag = true; }
}"#,
        expect![[r#"
            ok
        "#]],
    );
}

// --- Names and types. -----------------------------------------------------

#[test]
fn unknown_names_and_functions() {
    check(
        r#"fn f() by alice { n = m; h = blake3(n); require sha256() == h, "r"; }"#,
        expect![[r#"
            [E0101] Error: cannot find `m`
                ╭─[ t.sotto:11:23 ]
                │
             11 │ fn f() by alice { n = m; h = blake3(n); require sha256() == h, "r"; }
                │                       ┬  
                │                       ╰── not a party, field, parameter or local
            ────╯
            [E0104] Error: unknown function `blake3`
                ╭─[ t.sotto:11:30 ]
                │
             11 │ fn f() by alice { n = m; h = blake3(n); require sha256() == h, "r"; }
                │                              ───┬──  
                │                                 ╰──── not a builtin
                │ 
                │ Help: the builtins are sha256, keccak256, balance, min and max; contract functions are called by parties, not from code
            ────╯
            [E0104] Error: `sha256` takes at least one argument
                ╭─[ t.sotto:11:49 ]
                │
             11 │ fn f() by alice { n = m; h = blake3(n); require sha256() == h, "r"; }
                │                                                 ────┬───  
                │                                                     ╰───── nothing to hash
            ────╯
        "#]],
    );
}

#[test]
fn duplicates() {
    check(
        "fn n() by alice {}\nfn f(alice: u64, x: u64, x: u64) by alice { let flag = 1; }\nfn f() by bob {}",
        expect![[r#"
            [E0102] Error: `n` is declared twice
                ╭─[ t.sotto:11:4 ]
                │
              4 │     n: u64 = 0;
                │     ┬  
                │     ╰── first declared here
                │ 
             11 │ fn n() by alice {}
                │    ┬  
                │    ╰── declared again here
                │ 
                │ Help: parties, fields and functions share one namespace; rename one
            ────╯
            [E0102] Error: `alice` is declared twice
                ╭─[ t.sotto:12:6 ]
                │
             12 │ fn f(alice: u64, x: u64, x: u64) by alice { let flag = 1; }
                │      ──┬──  
                │        ╰──── this parameter hides another name
                │ 
                │ Help: rename the parameter
            ────╯
            [E0102] Error: `x` is declared twice
                ╭─[ t.sotto:12:26 ]
                │
             12 │ fn f(alice: u64, x: u64, x: u64) by alice { let flag = 1; }
                │                          ┬  
                │                          ╰── this parameter hides another name
                │ 
                │ Help: rename the parameter
            ────╯
            [E0102] Error: `flag` is declared twice
                ╭─[ t.sotto:12:49 ]
                │
             12 │ fn f(alice: u64, x: u64, x: u64) by alice { let flag = 1; }
                │                                                 ──┬─  
                │                                                   ╰─── this local hides another name
                │ 
                │ Help: sotto has no shadowing; pick a new name
            ────╯
            [E0102] Error: `f` is declared twice
                ╭─[ t.sotto:13:4 ]
                │
             12 │ fn f(alice: u64, x: u64, x: u64) by alice { let flag = 1; }
                │    ┬  
                │    ╰── first declared here
             13 │ fn f() by bob {}
                │    ┬  
                │    ╰── declared again here
                │ 
                │ Help: parties, fields and functions share one namespace; rename one
            ────╯
        "#]],
    );
}

#[test]
fn type_mismatches() {
    check(
        r#"fn f(b: bytes32) by alice {
    n = flag;
    flag = n + 1;
    require b < h, "bytes have no order";
    require n == flag, "r";
    transfer flag from alice to bob;
    let x: u64 = true;
    n = balance(n);
}"#,
        expect![[r#"
            [E0103] Error: mismatched types: the value for `n` must be `u64`, found `bool`
                ╭─[ t.sotto:12:9 ]
                │
             12 │     n = flag;
                │         ──┬─  
                │           ╰─── this is `bool`
            ────╯
            [E0103] Error: mismatched types: the value for `flag` must be `bool`, found `u64`
                ╭─[ t.sotto:13:12 ]
                │
             13 │     flag = n + 1;
                │            ──┬──  
                │              ╰──── this is `u64`
            ────╯
            [E0103] Error: mismatched types: a compared value must be `u64`, found `bytes32`
                ╭─[ t.sotto:14:13 ]
                │
             14 │     require b < h, "bytes have no order";
                │             ┬  
                │             ╰── this is `bytes32`
            ────╯
            [E0103] Error: mismatched types: a compared value must be `u64`, found `bytes32`
                ╭─[ t.sotto:14:17 ]
                │
             14 │     require b < h, "bytes have no order";
                │                 ┬  
                │                 ╰── this is `bytes32`
            ────╯
            [E0103] Error: mismatched types: the right side of an equality must be `u64`, found `bool`
                ╭─[ t.sotto:15:18 ]
                │
             15 │     require n == flag, "r";
                │                  ──┬─  
                │                    ╰─── this is `bool`
            ────╯
            [E0103] Error: mismatched types: an amount must be `u64`, found `bool`
                ╭─[ t.sotto:16:14 ]
                │
             16 │     transfer flag from alice to bob;
                │              ──┬─  
                │                ╰─── this is `bool`
            ────╯
            [E0103] Error: mismatched types: the value must be `u64`, found `bool`
                ╭─[ t.sotto:17:18 ]
                │
             17 │     let x: u64 = true;
                │                  ──┬─  
                │                    ╰─── this is `bool`
            ────╯
            [E0103] Error: mismatched types: the argument of `balance` must be `party`, found `u64`
                ╭─[ t.sotto:18:17 ]
                │
             18 │     n = balance(n);
                │                 ┬  
                │                 ╰── this is `u64`
            ────╯
        "#]],
    );
}

#[test]
fn assignments_to_fixed_names() {
    check(
        "fn f(x: u64) by alice { x = 1; alice = bob; }",
        expect![[r#"
            [E0105] Error: `x` cannot be assigned
                ╭─[ t.sotto:11:25 ]
                │
             11 │ fn f(x: u64) by alice { x = 1; alice = bob; }
                │      ┬                  ┬  
                │      ╰───────────────────── declared here
                │                         │  
                │                         ╰── parameters and parties are fixed
                │ 
                │ Help: copy it into a `let` local first
            ────╯
            [E0105] Error: `alice` cannot be assigned
                ╭─[ t.sotto:11:32 ]
                │
              2 │ party alice, bob;
                │       ──┬──  
                │         ╰──── declared here
                │ 
             11 │ fn f(x: u64) by alice { x = 1; alice = bob; }
                │                                ──┬──  
                │                                  ╰──── parameters and parties are fixed
                │ 
                │ Help: copy it into a `let` local first
            ────╯
        "#]],
    );
}

#[test]
fn unknown_parties() {
    check(
        "fn f() by carol { transfer 1 from alice to carol; await dave silent {} }",
        expect![[r#"
            [E0106] Error: `carol` is not a party
                ╭─[ t.sotto:11:11 ]
                │
             11 │ fn f() by carol { transfer 1 from alice to carol; await dave silent {} }
                │           ──┬──  
                │             ╰──── the caller (`by ...`) must be a declared party
                │ 
                │ Help: declare it with `party carol;`, or use one of: alice, bob
            ────╯
            [E0106] Error: `carol` is not a party
                ╭─[ t.sotto:11:44 ]
                │
             11 │ fn f() by carol { transfer 1 from alice to carol; await dave silent {} }
                │                                            ──┬──  
                │                                              ╰──── the payee must be a declared party
                │ 
                │ Help: declare it with `party carol;`, or use one of: alice, bob
            ────╯
            [E0106] Error: `dave` is not a party
                ╭─[ t.sotto:11:57 ]
                │
             11 │ fn f() by carol { transfer 1 from alice to carol; await dave silent {} }
                │                                                         ──┬─  
                │                                                           ╰─── the awaited party must be a declared party
                │ 
                │ Help: declare it with `party dave;`, or use one of: alice, bob
            ────╯
        "#]],
    );
}

#[test]
fn negation_and_reveal_of_public() {
    check(
        "fn f() by alice { n = -1; n = reveal(n); }",
        expect![[r#"
        [E0107] Error: `u64` values cannot be negative
            ╭─[ t.sotto:11:23 ]
            │
         11 │ fn f() by alice { n = -1; n = reveal(n); }
            │                       ─┬  
            │                        ╰── negation
            │ 
            │ Help: subtract from a larger value instead; subtraction below zero aborts the call
        ────╯
        [E0111] Error: `n` is not private
            ╭─[ t.sotto:11:38 ]
            │
         11 │ fn f() by alice { n = -1; n = reveal(n); }
            │                                      ┬  
            │                                      ╰── there is nothing to reveal
            │ 
            │ Help: use `n` directly
        ────╯
    "#]],
    );
}

#[test]
fn silence_rules() {
    check(
        "fn f() by alice { await bob; }\nfn g() by alice { await alice silent {} }\nfn k() by alice { await bob silent { n = 1; transfer 1 from alice to bob; } }",
        expect![[r#"
            [W0101] Warning: the move passes to `bob` without saying what its silence means
                ╭─[ t.sotto:11:19 ]
                │
             11 │ fn f() by alice { await bob; }
                │                   ─────┬────  
                │                        ╰────── if bob never moves, the chain pays the current allocation
                │ 
                │ Help: add `silent { transfer ... }` for what bob forfeits, or `silent {}` if nothing should move
            ────╯
            [E0202] Error: `alice` calls this function and cannot wait for itself
                ╭─[ t.sotto:12:25 ]
                │
             12 │ fn g() by alice { await alice silent {} }
                │                         ──┬──  
                │                           ╰──── the caller
                │ 
                │ Help: name the party whose move comes next
            ────╯
            [E0201] Error: only transfers may appear in a `silent` block
                ╭─[ t.sotto:13:38 ]
                │
             13 │ fn k() by alice { await bob silent { n = 1; transfer 1 from alice to bob; } }
                │                                      ───┬──  
                │                                         ╰──── not a transfer
                │ 
                │ Help: a silent block says what moves if the awaited party never acts; compute anything else before the `await`
            ────╯
        "#]],
    );
}

#[test]
fn declarations_are_checked() {
    let src = "contract lonely;\nparty alice;\nstate {\n    w: party;\n    s: private(alice) bytes32;\n    o: private(zed) u64;\n    k: u64 = n;\n}\n";
    let (tree, syntax) = parse(src);
    assert!(syntax.is_empty());
    let rendered = render("t.sotto", src, &check_contract(&tree));
    expect![[r#"
        [E0110] Error: a contract needs at least two parties
           ╭─[ t.sotto:1:10 ]
           │
         1 │ contract lonely;
           │          ───┬──  
           │             ╰──── `lonely` declares 1
           │ 
           │ Help: declare them with `party alice, bob;`
        ───╯
        [E0108] Error: field `w` needs an initial value
           ╭─[ t.sotto:4:5 ]
           │
         4 │     w: party;
           │     ────┬────  
           │         ╰────── a `party` field has no default
           │ 
           │ Help: write `w: party = alice;`
        ───╯
        [E0109] Error: a `bytes32` value cannot be private
           ╭─[ t.sotto:5:23 ]
           │
         5 │     s: private(alice) bytes32;
           │                       ───┬───  
           │                          ╰───── only `u64` and `bool` may be private
           │ 
           │ Help: hash it into a public `bytes32` commitment instead, and reveal the preimage later
        ───╯
        [E0106] Error: `zed` is not a party
           ╭─[ t.sotto:6:16 ]
           │
         6 │     o: private(zed) u64;
           │                ─┬─  
           │                 ╰─── the owner of a private field must be a declared party
           │ 
           │ Help: declare it with `party zed;`, or use one of: alice
        ───╯
        [E0108] Error: an initial value must be a literal or a party
           ╭─[ t.sotto:7:14 ]
           │
         7 │     k: u64 = n;
           │              ┬  
           │              ╰── not a constant
           │ 
           │ Help: compute it in a function instead
        ───╯
    "#]]
    .assert_eq(&rendered);
}

// --- The library. ---------------------------------------------------------

#[test]
fn the_contract_library_checks_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sotto") {
            let src = std::fs::read_to_string(&path).unwrap();
            let (tree, mut diags) = parse(&src);
            diags.extend(check_contract(&tree));
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                diags.is_empty(),
                "{name} has diagnostics:\n{}",
                render(&path.display().to_string(), &src, &diags)
            );
            names.push(name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "auction",
            "escrow",
            "htlc",
            "negotiation",
            "oracle_bet",
            "payment",
            "rps"
        ]
    );
}
