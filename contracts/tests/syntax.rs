//! The syntax, data-driven: one [`check`] entry point, many cases, each a
//! snapshot of the printed tree followed by the rendered diagnostics (the
//! rendered messages are what authors see: reviewing these snapshots is
//! reviewing the diagnostics). Then properties: the contract library and
//! the docs parse cleanly, nesting limits hold on a small stack, and the
//! fuzz body survives random and mutated inputs.
//!
//! Update snapshots with `UPDATE_EXPECT=1 cargo test -p sotto-contracts
//! --test syntax`, then read every changed one. Randomised tests print
//! their seed; set `SOTTO_TEST_SEED` to replay.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::Path;

use expect_test::{Expect, expect};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sotto_circuits::fuzzing::harness::{corpus, seed};
use sotto_contracts::fuzzing;
use sotto_contracts::render;
use sotto_contracts::syntax::ast::{
    BinOp, Block, Contract, Expr, ExprKind, Field, Function, Ident, Param, Stmt, StmtKind, Type,
    UnOp, Visibility,
};
use sotto_contracts::syntax::lexer::{self, KEYWORDS, PUNCTUATION};
use sotto_contracts::syntax::parser::MAX_DEPTH;
use sotto_contracts::syntax::{parse, print};

/// Parses `src` and snapshots the printed tree, then the rendered
/// diagnostics. A case without diagnostics must also round-trip.
///
/// Precedence cases pair each expression with the grouping docs/language.md
/// gives it, written out in parentheses: the two print alike exactly when
/// the parser grouped as specified (the printer alone cannot show it, as
/// it leaves out the parentheses the parser's own rules make redundant).
fn check(src: &str, expect: Expect) {
    let (tree, diags) = parse(src);
    let mut dump = print(&tree);
    if diags.is_empty() {
        fuzzing::parse(src.as_bytes());
    } else {
        dump.push('\n');
        dump.push_str(&render("test.sotto", src, &diags));
    }
    // Text direction controls would reorder the snapshot itself on screen
    // (and rustc rejects them in literals): escape them.
    let dump: String = dump
        .chars()
        .map(|c| match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect();
    expect.assert_eq(&dump);
}

/// The first contract in docs/language.md.
fn docs_example() -> &'static str {
    sotto_blocks().next().unwrap()
}

/// The ```sotto code blocks of docs/language.md.
fn sotto_blocks() -> impl Iterator<Item = &'static str> {
    include_str!("../../docs/language.md")
        .split("```sotto\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
}

// --- Grammar, precedence, diagnostics, recovery: one case each -------------

#[test]
fn header_only() {
    check(
        "contract t;",
        expect![[r#"
            contract t;
        "#]],
    );
}

#[test]
fn parties_from_several_items_merge() {
    check(
        "contract t;
party a;
party b, c;",
        expect![[r#"
            contract t;

            party a, b, c;
        "#]],
    );
}

#[test]
fn state_fields_of_every_type_and_visibility() {
    check(
        "contract t;
party a;
state {
    n: u64 = 1_000;
    flag: public bool = true;
    h: bytes32 = 0xABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789;
    who: party = a;
    secret: private(a) u64;
    hidden: private(a) bool;
}
state { more: u64; }",
        expect![[r#"
            contract t;

            party a;

            state {
                n: u64 = 1000;
                flag: bool = true;
                h: bytes32 = 0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789;
                who: party = a;
                secret: private(a) u64;
                hidden: private(a) bool;
                more: u64;
            }
        "#]],
    );
}

#[test]
fn function_params() {
    check(
        "contract t;
party a;
fn none() by a {}
fn some(x: u64, y: private u64, z: bool, w: bytes32, p: party,) by a {}",
        expect![[r#"
            contract t;

            party a;

            fn none() by a {}

            fn some(x: u64, y: private u64, z: bool, w: bytes32, p: party) by a {}
        "#]],
    );
}

#[test]
fn let_assign_finish() {
    check(
        "contract t;
fn f() by a {
    let x = 1;
    let y: u64 = x;
    x = y;
    finish;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                let x = 1;
                let y: u64 = x;
                x = y;
                finish;
            }
        "#]],
    );
}

#[test]
fn if_else_and_else_if_chains() {
    check(
        "contract t;
fn f() by a {
    if x { y = 1; }
    if x { y = 1; } else { y = 2; }
    if x { y = 1; } else if z { y = 2; } else if w { y = 3; } else { y = 4; }
    if x {} else { if z { y = 2; } }
    if x {} else { if z {} y = 1; }
}",
        expect![[r#"
            contract t;

            fn f() by a {
                if x {
                    y = 1;
                }
                if x {
                    y = 1;
                } else {
                    y = 2;
                }
                if x {
                    y = 1;
                } else if z {
                    y = 2;
                } else if w {
                    y = 3;
                } else {
                    y = 4;
                }
                if x {} else if z {
                    y = 2;
                }
                if x {} else {
                    if z {}
                    y = 1;
                }
            }
        "#]],
    );
}

#[test]
fn require_with_escapes() {
    check(
        r##"contract t;
fn f() by a {
    require x, "say \"no\" \\ twice\nthen stop";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                require x, "say \"no\" \\ twice\nthen stop";
            }
        "#]],
    );
}

#[test]
fn transfer() {
    check(
        "contract t;
fn f() by a {
    transfer amount * 2 from a to b;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                transfer amount * 2 from a to b;
            }
        "#]],
    );
}

#[test]
fn await_with_and_without_silent_block() {
    check(
        "contract t;
fn f() by a {
    await b;
    await b silent {}
    await b silent { transfer 10 from b to a; transfer 1 from b to c; }
}",
        expect![[r#"
            contract t;

            fn f() by a {
                await b;
                await b silent {}
                await b silent {
                    transfer 10 from b to a;
                    transfer 1 from b to c;
                }
            }
        "#]],
    );
}

#[test]
fn literals() {
    check(
        "contract t;
fn f() by a {
    x = 18_446_744_073_709_551_615;
    x = 007;
    h = 0x00000000000000000000000000000000000000000000000000000000000000FF;
    b = true;
    b = false;
    x = now;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = 18446744073709551615;
                x = 7;
                h = 0x00000000000000000000000000000000000000000000000000000000000000ff;
                b = true;
                b = false;
                x = now;
            }
        "#]],
    );
}

#[test]
fn calls_and_reveal() {
    check(
        "contract t;
fn f() by a {
    h = sha256(x, y + 1, 0x0000000000000000000000000000000000000000000000000000000000000000);
    h = keccak256(x);
    x = min(balance(a), max(1, 2));
    x = none();
    x = reveal(secret) + 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                h = sha256(x, y + 1, 0x0000000000000000000000000000000000000000000000000000000000000000);
                h = keccak256(x);
                x = min(balance(a), max(1, 2));
                x = none();
                x = reveal(secret) + 1;
            }
        "#]],
    );
}

#[test]
fn unary_operators() {
    check(
        "contract t;
fn f() by a {
    b = !x;
    b = !!x;
    x = -5;
    x = - -5;
    x = -(a + b);
    b = !(a && b);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = !x;
                b = !!x;
                x = -5;
                x = --5;
                x = -(a + b);
                b = !(a && b);
            }
        "#]],
    );
}

#[test]
fn docs_first_contract() {
    check(
        docs_example(),
        expect![[r#"
        contract negotiation;

        party buyer, seller;

        state {
            price: u64 = 0;
            agreed: bool = false;
            buyer_limit: private(buyer) u64;
            seller_floor: private(seller) u64;
        }

        fn propose(p: u64) by seller {
            require !agreed, "already agreed";
            require p >= seller_floor, "below the seller's floor";
            price = p;
            await buyer;
        }

        fn accept() by buyer {
            require price > 0, "nothing proposed";
            require price <= buyer_limit, "above the buyer's limit";
            transfer price from buyer to seller;
            agreed = true;
            finish;
        }
    "#]],
    );
}

#[test]
fn precedence_or_and() {
    check(
        "contract t;
fn f() by a {
    b = a || b && c;
    b = a || (b && c);
    b = a && b || c;
    b = (a && b) || c;
    b = (a || b) && c;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = a || b && c;
                b = a || b && c;
                b = a && b || c;
                b = a && b || c;
                b = (a || b) && c;
            }
        "#]],
    );
}

#[test]
fn precedence_and_comparison() {
    check(
        "contract t;
fn f() by a {
    b = a < b && c >= d;
    b = (a < b) && (c >= d);
    b = a == (b && c);
    b = (a != b) == c;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = a < b && c >= d;
                b = a < b && c >= d;
                b = a == (b && c);
                b = (a != b) == c;
            }
        "#]],
    );
}

#[test]
fn precedence_comparison_sum() {
    check(
        "contract t;
fn f() by a {
    b = a + 1 <= b * 2;
    b = (a + 1) <= (b * 2);
    b = a + (1 <= b);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = a + 1 <= b * 2;
                b = a + 1 <= b * 2;
                b = a + (1 <= b);
            }
        "#]],
    );
}

#[test]
fn precedence_sum_term() {
    check(
        "contract t;
fn f() by a {
    x = a + b * c;
    x = a + (b * c);
    x = a * b - c;
    x = (a * b) - c;
    x = a - b % c;
    x = a - (b % c);
    x = (a + b) * c;
    x = a / (b - c);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = a + b * c;
                x = a + b * c;
                x = a * b - c;
                x = a * b - c;
                x = a - b % c;
                x = a - b % c;
                x = (a + b) * c;
                x = a / (b - c);
            }
        "#]],
    );
}

#[test]
fn left_associativity() {
    check(
        "contract t;
fn f() by a {
    x = a - b - c;
    x = (a - b) - c;
    x = a - (b - c);
    x = a / b * c % d;
    x = ((a / b) * c) % d;
    x = a / (b * c);
    x = a + b - c + d;
    x = ((a + b) - c) + d;
    b = a || b || c;
    b = (a || b) || c;
    b = a || (b || c);
    b = a && b && c;
    b = (a && b) && c;
    b = a && (b && c);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = a - b - c;
                x = a - b - c;
                x = a - (b - c);
                x = a / b * c % d;
                x = a / b * c % d;
                x = a / (b * c);
                x = a + b - c + d;
                x = a + b - c + d;
                b = a || b || c;
                b = a || b || c;
                b = a || (b || c);
                b = a && b && c;
                b = a && b && c;
                b = a && (b && c);
            }
        "#]],
    );
}

#[test]
fn unary_binds_tightest() {
    check(
        "contract t;
fn f() by a {
    b = !a == b;
    b = (!a) == b;
    b = !(a == b);
    x = -a * b;
    x = (-a) * b;
    x = -(a * b);
    b = !a && !b || c;
    b = ((!a) && (!b)) || c;
    b = !f(x) && y;
    b = (!(f(x))) && y;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = !a == b;
                b = !a == b;
                b = !(a == b);
                x = -a * b;
                x = -a * b;
                x = -(a * b);
                b = !a && !b || c;
                b = !a && !b || c;
                b = !f(x) && y;
                b = !f(x) && y;
            }
        "#]],
    );
}

#[test]
fn redundant_parentheses_are_dropped() {
    check(
        "contract t;
fn f() by a {
    x = ((a));
    x = (a * b) + (c);
    b = (a < b) && (c);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = a;
                x = a * b + c;
                b = a < b && c;
            }
        "#]],
    );
}

#[test]
fn e0001_docs_example() {
    check(
        "contract t;
party a;
fn f( by a {}",
        expect![[r#"
            contract t;

            party a;

            fn f() by a {}

            [E0001] Error: expected a parameter name or `)`, found keyword `by`
               ╭─[ test.sotto:3:7 ]
               │
             3 │ fn f( by a {}
               │     ┬ ─┬  
               │     ╰───── this `(` is not closed
               │        │  
               │        ╰── expected a parameter name or `)`
               │ 
               │ Help: close the parameter list with `)`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_semicolon_is_one_diagnostic() {
    check(
        r##"contract t;
fn f() by a {
    x = 1
    y = 2;
    require y > 1, "r";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                x = 1;
                y = 2;
                require y > 1, "r";
            }

            [E0001] Error: expected `;`, found `y`
               ╭─[ test.sotto:4:5 ]
               │
             3 │     x = 1
               │         ┬  
               │         ╰── add `;` after this
             4 │     y = 2;
               │     ┬  
               │     ╰── expected `;`
               │ 
               │ Help: add `;` after `1`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_semicolon_before_brace() {
    check(
        "contract t;
fn f() by a {
    finish
}",
        expect![[r#"
            contract t;

            fn f() by a {
                finish;
            }

            [E0001] Error: expected `;`, found `}`
               ╭─[ test.sotto:4:1 ]
               │
             3 │     finish
               │     ───┬──  
               │        ╰──── add `;` after this
             4 │ }
               │ ┬  
               │ ╰── expected `;`
               │ 
               │ Help: add `;` after keyword `finish`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_semicolon_same_line() {
    check(
        "contract t;
fn f() by a {
    x = 1 2;
    y = 3;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                y = 3;
            }

            [E0001] Error: expected `;`, found `2`
               ╭─[ test.sotto:3:11 ]
               │
             3 │     x = 1 2;
               │         ┬ ┬  
               │         ╰──── add `;` after this
               │           │  
               │           ╰── expected `;`
               │ 
               │ Help: add `;` after `1`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_expression() {
    check(
        r##"contract t;
fn f() by a {
    x = ;
    require , "r";
    y = 1 + ;
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                x = <error>;
                require <error>, "r";
                y = 1 + <error>;
            }

            [E0001] Error: expected an expression, found `;`
               ╭─[ test.sotto:3:9 ]
               │
             3 │     x = ;
               │         ┬  
               │         ╰── expected an expression
            ───╯
            [E0001] Error: expected an expression, found `,`
               ╭─[ test.sotto:4:13 ]
               │
             4 │     require , "r";
               │             ┬  
               │             ╰── expected an expression
            ───╯
            [E0001] Error: expected an expression, found `;`
               ╭─[ test.sotto:5:13 ]
               │
             5 │     y = 1 + ;
               │             ┬  
               │             ╰── expected an expression
            ───╯
        "#]],
    );
}

#[test]
fn e0001_keyword_as_name() {
    check(
        "contract t;
state {
    from: u64;
}",
        expect![[r#"
            contract t;

            [E0001] Error: expected a field name or `}`, found keyword `from`
               ╭─[ test.sotto:3:5 ]
               │
             3 │     from: u64;
               │     ──┬─  
               │       ╰─── expected a field name or `}`
               │ 
               │ Help: `from` is a keyword; choose another name
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_by() {
    check(
        "contract t;
fn f() {
    x = 1;
}",
        expect![[r#"
            contract t;

            fn f() by <missing> {
                x = 1;
            }

            [E0001] Error: expected `by`, found `{`
               ╭─[ test.sotto:2:8 ]
               │
             2 │ fn f() {
               │        ┬  
               │        ╰── expected `by`
               │ 
               │ Help: name the party that may call it: `by PARTY`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_assignment_in_condition() {
    check(
        r##"contract t;
fn f() by a {
    if x = 1 { y = 2; }
    require x = 1, "r";
    z = 3;
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                <error>;
                z = 3;
            }

            [E0001] Error: expected `{`, found `=`
               ╭─[ test.sotto:3:10 ]
               │
             3 │     if x = 1 { y = 2; }
               │          ┬  
               │          ╰── expected `{`
               │ 
               │ Help: to compare, write `==`
            ───╯
            [E0001] Error: expected `,`, found `=`
               ╭─[ test.sotto:4:15 ]
               │
             4 │     require x = 1, "r";
               │               ┬  
               │               ╰── expected `,`
               │ 
               │ Help: to compare, write `==`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_require_without_reason() {
    check(
        "contract t;
fn f() by a {
    require x > 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
            }

            [E0001] Error: expected `,`, found `;`
               ╭─[ test.sotto:3:18 ]
               │
             3 │     require x > 1;
               │                  ┬  
               │                  ╰── expected `,`
               │ 
               │ Help: give a reason: `require COND, "reason";`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_semicolon_after_block() {
    check(
        "contract t;
fn f() by a {
    await b silent {};
    x = 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                await b silent {}
                <error>;
                x = 1;
            }

            [E0001] Error: expected a statement, found `;`
               ╭─[ test.sotto:3:22 ]
               │
             3 │     await b silent {};
               │                      ┬  
               │                      ╰── expected a statement
               │ 
               │ Help: remove this `;`: a block ends the statement before it
            ───╯
        "#]],
    );
}

#[test]
fn e0001_stray_brace_at_top_level() {
    check(
        "contract t;
fn f() by a {
    x = 1;
}
}
fn g() by a {}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = 1;
            }

            fn g() by a {}

            [E0001] Error: expected `party`, `state` or `fn`, found `}`
               ╭─[ test.sotto:5:1 ]
               │
             5 │ }
               │ ┬  
               │ ╰── expected `party`, `state` or `fn`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_trailing_comma_in_call() {
    check(
        "contract t;
fn f() by a {
    h = sha256(x,);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                h = sha256(x, <error>);
            }

            [E0001] Error: expected an expression, found `)`
               ╭─[ test.sotto:3:18 ]
               │
             3 │     h = sha256(x,);
               │                  ┬  
               │                  ╰── expected an expression
            ───╯
        "#]],
    );
}

#[test]
fn e0001_string_as_value() {
    check(
        r##"contract t;
fn f() by a {
    x = "hello";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                x = <error>;
            }

            [E0001] Error: expected an expression, found a string
               ╭─[ test.sotto:3:9 ]
               │
             3 │     x = "hello";
               │         ───┬───  
               │            ╰───── expected an expression
               │ 
               │ Help: strings appear only as `require` reasons
            ───╯
        "#]],
    );
}

#[test]
fn e0001_second_header() {
    check(
        "contract t;
contract u;
party a;",
        expect![[r#"
            contract t;

            party a;

            [E0001] Error: expected `party`, `state` or `fn`, found keyword `contract`
               ╭─[ test.sotto:2:1 ]
               │
             2 │ contract u;
               │ ────┬───  
               │     ╰───── expected `party`, `state` or `fn`
               │ 
               │ Help: a file has one `contract NAME;` header, at the top
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_closing_brace_before_next_function() {
    check(
        "contract t;
fn f() by a {
    x = 1;
fn g() by a {
    y = 2;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = 1;
            }

            fn g() by a {
                y = 2;
            }

            [E0001] Error: expected `}`, found keyword `fn`
               ╭─[ test.sotto:4:1 ]
               │
             2 │ fn f() by a {
               │             ┬  
               │             ╰── this `{` is not closed
               │ 
             4 │ fn g() by a {
               │ ─┬  
               │  ╰── expected `}`
               │ 
               │ Help: add `}` before `fn`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_unclosed_parenthesis_before_semicolon() {
    check(
        "contract t;
fn f() by a {
    x = (a + b;
    y = 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = a + b;
                y = 1;
            }

            [E0001] Error: expected `)`, found `;`
               ╭─[ test.sotto:3:15 ]
               │
             3 │     x = (a + b;
               │         ┬     ┬  
               │         ╰──────── to close this `(`
               │               │  
               │               ╰── expected `)`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_private_parameter_with_owner() {
    check(
        "contract t;
fn f(x: private(a) u64) by a {}",
        expect![[r#"
            contract t;

            fn f(x: private u64) by a {}

            [E0001] Error: expected a type, found `(`
               ╭─[ test.sotto:2:16 ]
               │
             2 │ fn f(x: private(a) u64) by a {}
               │                ┬  
               │                ╰── expected a type
               │ 
               │ Help: a parameter is private to its caller: write `private u64`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_private_field_without_owner() {
    check(
        "contract t;
state {
    x: private u64;
    y: u64;
}",
        expect![[r#"
            contract t;

            state {
                y: u64;
            }

            [E0001] Error: expected `(`, found keyword `u64`
               ╭─[ test.sotto:3:16 ]
               │
             3 │     x: private u64;
               │                ─┬─  
               │                 ╰─── expected `(`
               │ 
               │ Help: name the owner: `private(PARTY) u64`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_unknown_statement() {
    check(
        "contract t;
fn f() by a {
    x + 1;
    y = 2;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                y = 2;
            }

            [E0001] Error: expected `=`, found `+`
               ╭─[ test.sotto:3:7 ]
               │
             3 │     x + 1;
               │       ┬  
               │       ╰── expected `=`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_call_as_statement() {
    check(
        "contract t;
fn f() by a {
    sha256(x);
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
            }

            [E0001] Error: expected `=`, found `(`
               ╭─[ test.sotto:3:11 ]
               │
             3 │     sha256(x);
               │           ┬  
               │           ╰── expected `=`
               │ 
               │ Help: a call is not a statement: assign its value to a name
            ───╯
        "#]],
    );
}

#[test]
fn e0001_bad_type() {
    check(
        "contract t;
state {
    x: int = 0;
    y: u64;
}",
        expect![[r#"
            contract t;

            state {
                y: u64;
            }

            [E0001] Error: expected a type, found `int`
               ╭─[ test.sotto:3:8 ]
               │
             3 │     x: int = 0;
               │        ─┬─  
               │         ╰─── expected a type
               │ 
               │ Help: the types are `u64`, `bool`, `bytes32` and `party`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_semicolon_at_end_of_file() {
    check(
        "contract t;
party a",
        expect![[r#"
            contract t;

            party a;

            [E0001] Error: expected `,` or `;`, found end of file
               ╭─[ test.sotto:2:8 ]
               │
             2 │ party a
               │       ┬│ 
               │       ╰── add `;` after this
               │        │ 
               │        ╰─ expected `,` or `;`
               │ 
               │ Help: add `;` after `a`
            ───╯
        "#]],
    );
}

#[test]
fn e0002_docs_example_unterminated_string() {
    check(
        r##"contract t;
fn f() by a {
    require x, "oops;
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                require x, "oops;";
            }

            [E0002] Error: unterminated string
               ╭─[ test.sotto:3:16 ]
               │
             3 │     require x, "oops;
               │                ───┬──  
               │                   ╰──── this string is not closed on its line
               │ 
               │ Help: close it with `"`; a string cannot span lines (write `\n` for a line break)
            ───╯
        "#]],
    );
}

#[test]
fn e0002_invalid_character() {
    check(
        "contract t;
fn f() by a {
    x = 5 $ 3;
    y = 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                y = 1;
            }

            [E0002] Error: invalid character `$`
               ╭─[ test.sotto:3:11 ]
               │
             3 │     x = 5 $ 3;
               │           ┬  
               │           ╰── not part of the sotto language
            ───╯
        "#]],
    );
}

#[test]
fn e0002_single_ampersand() {
    check(
        "contract t;
fn f() by a {
    b = x & y;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
            }

            [E0002] Error: invalid character `&`
               ╭─[ test.sotto:3:11 ]
               │
             3 │     b = x & y;
               │           ┬  
               │           ╰── not a sotto operator
               │ 
               │ Help: did you mean `&&`?
            ───╯
        "#]],
    );
}

#[test]
fn e0002_non_ascii_name() {
    check(
        "contract t;
fn f() by a {
    prix = 1;
    crédit = 2;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                prix = 1;
                crédit = 2;
            }

            [E0002] Error: invalid character `é` in a name
               ╭─[ test.sotto:4:7 ]
               │
             4 │     crédit = 2;
               │       ┬  
               │       ╰── not an ASCII letter, digit or `_`
               │ 
               │ Help: names are ASCII: letters, digits and `_`
            ───╯
        "#]],
    );
}

#[test]
fn e0002_block_comment() {
    check(
        "contract t;
/* a block
   comment */
party a;",
        expect![[r#"
            contract t;

            party a;

            [E0002] Error: sotto has no block comments
               ╭─[ test.sotto:2:1 ]
               │
             2 │ /* a block
               │ ─┬  
               │  ╰── block comment
               │ 
               │ Help: write `//` at the start of each comment line
            ───╯
        "#]],
    );
}

#[test]
fn e0002_unknown_escape() {
    check(
        r##"contract t;
fn f() by a {
    require x, "tab\there";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                require x, "tabhere";
            }

            [E0002] Error: unknown escape `\t` in a string
               ╭─[ test.sotto:3:20 ]
               │
             3 │     require x, "tab\there";
               │                    ─┬  
               │                     ╰── not an escape
               │ 
               │ Help: the escapes are `\"`, `\\` and `\n`
            ───╯
        "#]],
    );
}

#[test]
fn e0002_text_direction_control_in_comment() {
    check(
        "contract t;\n// admin \u{202e} \u{2066}// check\nparty a;",
        expect![[r#"
            contract t;

            party a;

            [E0002] Error: text direction control U+202E in a comment
               ╭─[ test.sotto:2:10 ]
               │
             2 │ // admin \u{202e} \u{2066}// check
               │           
               │          ─ reorders how the text around it is displayed
               │ 
               │ Help: remove it: it can make the source read differently from how it parses
            ───╯
        "#]],
    );
}

#[test]
fn e0002_lookalike_operator() {
    check(
        r##"contract t;
fn f() by a {
    require x ≤ y, "r";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
            }

            [E0002] Error: invalid character `≤`
               ╭─[ test.sotto:3:15 ]
               │
             3 │     require x ≤ y, "r";
               │               ┬  
               │               ╰── not part of the sotto language
               │ 
               │ Help: write `<=`
            ───╯
        "#]],
    );
}

#[test]
fn e0003_chained_comparison() {
    check(
        r##"contract t;
fn f() by a {
    require a < b < c, "r";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                require <error>, "r";
            }

            [E0003] Error: comparisons do not chain
               ╭─[ test.sotto:3:19 ]
               │
             3 │     require a < b < c, "r";
               │             ──┬── ┬  
               │               ╰────── already a comparison
               │                   │  
               │                   ╰── a second comparison
               │ 
               │ Help: split into `a < b && b < c`
            ───╯
        "#]],
    );
}

#[test]
fn e0003_longer_chain_is_one_diagnostic() {
    check(
        r##"contract t;
fn f() by a {
    require 1 <= x + 1 < y * 2 <= 10 && ok, "r";
}"##,
        expect![[r#"
            contract t;

            fn f() by a {
                require <error> && ok, "r";
            }

            [E0003] Error: comparisons do not chain
               ╭─[ test.sotto:3:24 ]
               │
             3 │     require 1 <= x + 1 < y * 2 <= 10 && ok, "r";
               │             ─────┬──── ┬  
               │                  ╰──────── already a comparison
               │                        │  
               │                        ╰── a second comparison
               │ 
               │ Help: split into `1 <= x + 1 && x + 1 < y * 2`
            ───╯
        "#]],
    );
}

#[test]
fn e0003_equalities_chain_too() {
    check(
        "contract t;
fn f() by a {
    b = x == y != z;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                b = <error>;
            }

            [E0003] Error: comparisons do not chain
               ╭─[ test.sotto:3:16 ]
               │
             3 │     b = x == y != z;
               │         ───┬── ─┬  
               │            ╰─────── already a comparison
               │                 │  
               │                 ╰── a second comparison
               │ 
               │ Help: split into `x == y && y != z`
            ───╯
        "#]],
    );
}

#[test]
fn e0004_docs_example_integer_beyond_u64() {
    check(
        "contract t;
fn f() by a {
    x = 18446744073709551616;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = <error>;
            }

            [E0004] Error: integer literal out of range
               ╭─[ test.sotto:3:9 ]
               │
             3 │     x = 18446744073709551616;
               │         ──────────┬─────────  
               │                   ╰─────────── larger than u64::MAX (18446744073709551615)
            ───╯
        "#]],
    );
}

#[test]
fn e0004_bytes32_with_63_and_65_digits() {
    check(
        "contract t;
state {
    h: bytes32 = 0x000000000000000000000000000000000000000000000000000000000000000;
    k: bytes32 = 0x00000000000000000000000000000000000000000000000000000000000000000;
}",
        expect![[r#"
            contract t;

            state {
                h: bytes32 = <error>;
                k: bytes32 = <error>;
            }

            [E0004] Error: malformed bytes32 literal
               ╭─[ test.sotto:3:18 ]
               │
             3 │     h: bytes32 = 0x000000000000000000000000000000000000000000000000000000000000000;
               │                  ────────────────────────────────┬────────────────────────────────  
               │                                                  ╰────────────────────────────────── 63 hex digits; a bytes32 literal has exactly 64
            ───╯
            [E0004] Error: malformed bytes32 literal
               ╭─[ test.sotto:4:18 ]
               │
             4 │     k: bytes32 = 0x00000000000000000000000000000000000000000000000000000000000000000;
               │                  ─────────────────────────────────┬─────────────────────────────────  
               │                                                   ╰─────────────────────────────────── 65 hex digits; a bytes32 literal has exactly 64
            ───╯
        "#]],
    );
}

#[test]
fn e0004_bytes32_bad_digit() {
    check(
        "contract t;
state {
    h: bytes32 = 0xg000000000000000000000000000000000000000000000000000000000000000;
}",
        expect![[r#"
            contract t;

            state {
                h: bytes32 = <error>;
            }

            [E0004] Error: malformed bytes32 literal
               ╭─[ test.sotto:3:18 ]
               │
             3 │     h: bytes32 = 0xg000000000000000000000000000000000000000000000000000000000000000;
               │                  ─────────────────────────────────┬────────────────────────────────  
               │                                                   ╰────────────────────────────────── `g` is not a hex digit
            ───╯
        "#]],
    );
}

#[test]
fn e0004_digits_glued_to_letters() {
    check(
        "contract t;
fn f() by a {
    x = 12ab;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = <error>;
            }

            [E0004] Error: invalid integer literal `12ab`
               ╭─[ test.sotto:3:9 ]
               │
             3 │     x = 12ab;
               │         ──┬─  
               │           ╰─── an integer is decimal digits, optionally separated by `_`
               │ 
               │ Help: put a space or an operator between a number and a name
            ───╯
        "#]],
    );
}

#[test]
fn e0005_docs_example() {
    check(
        "party a;
fn f() by a {}",
        expect![[r#"
            contract <missing>;

            party a;

            fn f() by a {}

            [E0005] Error: missing `contract NAME;` header
               ╭─[ test.sotto:1:1 ]
               │
             1 │ party a;
               │ ──┬──  
               │   ╰──── expected `contract NAME;` before this
               │ 
               │ Help: start the file with the contract's name, for example `contract escrow;`
            ───╯
        "#]],
    );
}

#[test]
fn e0005_empty_file() {
    check(
        "",
        expect![[r#"
            contract <missing>;

            [E0005] Error: missing `contract NAME;` header
               ╭─[ test.sotto:1:1 ]
               │
             1 │ 
               │ │ 
               │ ╰─ expected `contract NAME;` before this
               │ 
               │ Help: start the file with the contract's name, for example `contract escrow;`
            ───╯
        "#]],
    );
}

#[test]
fn e0005_misspelt_header() {
    check(
        "contarct t;
party a;",
        expect![[r#"
            contract <missing>;

            party a;

            [E0005] Error: missing `contract NAME;` header
               ╭─[ test.sotto:1:1 ]
               │
             1 │ contarct t;
               │ ────┬───  
               │     ╰───── expected `contract NAME;` before this
               │ 
               │ Help: start the file with the contract's name, for example `contract escrow;`
            ───╯
        "#]],
    );
}

#[test]
fn e0006_docs_example() {
    check(
        "contract t;
state { x: u64 = 0;",
        expect![[r#"
            contract t;

            state {
                x: u64 = 0;
            }

            [E0006] Error: unclosed delimiter
               ╭─[ test.sotto:2:20 ]
               │
             2 │ state { x: u64 = 0;
               │       ┬            │ 
               │       ╰────────────── this `{` is not closed
               │                    │ 
               │                    ╰─ the file ends here, with `{` open
               │ 
               │ Help: close it with `}`
            ───╯
        "#]],
    );
}

#[test]
fn e0006_several_unclosed() {
    check(
        "contract t;
fn f() by a {
    if x {
        y = (1 +",
        expect![[r#"
            contract t;

            fn f() by a {
                if x {
                    y = 1 + <error>;
                }
            }

            [E0006] Error: unclosed delimiters
               ╭─[ test.sotto:4:17 ]
               │
             2 │ fn f() by a {
               │             ┬  
               │             ╰── this `{` is not closed
             3 │     if x {
               │          ┬  
               │          ╰── this `{` is not closed
             4 │         y = (1 +
               │             ┬   │ 
               │             ╰───── this `(` is not closed
               │                 │ 
               │                 ╰─ the file ends here, with `(` open
               │ 
               │ Help: close them with `)}}`, in this order
            ───╯
        "#]],
    );
}

#[test]
fn e0006_unclosed_parameter_list() {
    check(
        "contract t;
fn f(x: u64",
        expect![[r#"
            contract t;

            fn f(x: u64) by <missing> {}

            [E0006] Error: unclosed delimiter
               ╭─[ test.sotto:2:12 ]
               │
             2 │ fn f(x: u64
               │     ┬      │ 
               │     ╰──────── this `(` is not closed
               │            │ 
               │            ╰─ the file ends here, with `(` open
               │ 
               │ Help: close it with `)`
            ───╯
        "#]],
    );
}

#[test]
fn e0007_parentheses_too_deep() {
    check(
        "contract t;
fn f() by a {
    x = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))));
    y = 1;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                y = 1;
            }

            [E0007] Error: nesting too deep
               ╭─[ test.sotto:3:136 ]
               │
             3 │     x = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))));
               │                                                                                                                                        ┬  
               │                                                                                                                                        ╰── more than 128 nested blocks and expressions
               │ 
               │ Help: name parts of the expression with `let`, or split the function
            ───╯
        "#]],
    );
}

#[test]
fn two_independent_errors_two_diagnostics() {
    check(
        "contract t;
fn f() by a {
    x = 1 +;
}
fn g() by a {
    transfer 1 to b;
    finish;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = 1 + <error>;
            }

            fn g() by a {
                <error>;
                finish;
            }

            [E0001] Error: expected an expression, found `;`
               ╭─[ test.sotto:3:12 ]
               │
             3 │     x = 1 +;
               │            ┬  
               │            ╰── expected an expression
            ───╯
            [E0001] Error: expected `from`, found keyword `to`
               ╭─[ test.sotto:6:16 ]
               │
             6 │     transfer 1 to b;
               │                ─┬  
               │                 ╰── expected `from`
            ───╯
        "#]],
    );
}

#[test]
fn an_error_per_function_and_the_rest_intact() {
    check(
        r##"contract t;
party a, b;
state {
    n: u64 = ;
    m: u64 = 1;
}
fn f() by a {
    require n > , "r";
    n = 2;
}
fn g(x: ) by b {
    m = x;
}"##,
        expect![[r#"
            contract t;

            party a, b;

            state {
                n: u64 = <error>;
                m: u64 = 1;
            }

            fn f() by a {
                require n > <error>, "r";
                n = 2;
            }

            fn g() by b {
                m = x;
            }

            [E0001] Error: expected an expression, found `;`
               ╭─[ test.sotto:4:14 ]
               │
             4 │     n: u64 = ;
               │              ┬  
               │              ╰── expected an expression
            ───╯
            [E0001] Error: expected an expression, found `,`
               ╭─[ test.sotto:8:17 ]
               │
             8 │     require n > , "r";
               │                 ┬  
               │                 ╰── expected an expression
            ───╯
            [E0001] Error: expected a type, found `)`
                ╭─[ test.sotto:11:9 ]
                │
             11 │ fn g(x: ) by b {
                │         ┬  
                │         ╰── expected a type
                │ 
                │ Help: the types are `u64`, `bool`, `bytes32` and `party`
            ────╯
        "#]],
    );
}

#[test]
fn e0001_missing_comma_between_parameters() {
    check(
        "contract t;
fn f(x: u64 y: bool, p: party) by a {
    z = 1;
}",
        expect![[r#"
            contract t;

            fn f(x: u64, p: party) by a {
                z = 1;
            }

            [E0001] Error: expected `,` or `)`, found `y`
               ╭─[ test.sotto:2:13 ]
               │
             2 │ fn f(x: u64 y: bool, p: party) by a {
               │             ┬  
               │             ╰── expected `,` or `)`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_missing_closing_parenthesis_of_parameters() {
    check(
        "contract t;
fn f(x: u64 {
    z = 1;
}",
        expect![[r#"
            contract t;

            fn f(x: u64) by <missing> {
                z = 1;
            }

            [E0001] Error: expected `,` or `)`, found `{`
               ╭─[ test.sotto:2:13 ]
               │
             2 │ fn f(x: u64 {
               │     ┬       ┬  
               │     ╰────────── this `(` is not closed
               │             │  
               │             ╰── expected `,` or `)`
               │ 
               │ Help: close the parameter list with `)`
            ───╯
        "#]],
    );
}

#[test]
fn party_is_a_type_in_parameters_and_lets() {
    check(
        "contract t;
fn f(p: party) by a {
    let q: party = p;
}",
        expect![[r#"
            contract t;

            fn f(p: party) by a {
                let q: party = p;
            }
        "#]],
    );
}

#[test]
fn e0001_dangling_else() {
    check(
        "contract t;
fn f() by a {
    x = 1;
    else { x = 2; }
    y = 3;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                x = 1;
                <error>;
                y = 3;
            }

            [E0001] Error: expected a statement, found keyword `else`
               ╭─[ test.sotto:4:5 ]
               │
             4 │     else { x = 2; }
               │     ──┬─  
               │       ╰─── expected a statement
               │ 
               │ Help: an `else` follows the `}` of an `if` block directly
            ───╯
        "#]],
    );
}

#[test]
fn e0001_silent_without_block() {
    check(
        "contract t;
fn f() by a {
    await b silent;
    finish;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                finish;
            }

            [E0001] Error: expected `{`, found `;`
               ╭─[ test.sotto:3:19 ]
               │
             3 │     await b silent;
               │                   ┬  
               │                   ╰── expected `{`
               │ 
               │ Help: write what moves if the party stays silent: `silent { ... }`
            ───╯
        "#]],
    );
}

#[test]
fn e0001_let_without_type() {
    check(
        "contract t;
fn f() by a {
    let x: = 1;
    let y = 2;
}",
        expect![[r#"
            contract t;

            fn f() by a {
                <error>;
                let y = 2;
            }

            [E0001] Error: expected a type, found `=`
               ╭─[ test.sotto:3:12 ]
               │
             3 │     let x: = 1;
               │            ┬  
               │            ╰── expected a type
               │ 
               │ Help: the types are `u64`, `bool`, `bytes32` and `party`
            ───╯
        "#]],
    );
}

#[test]
fn many_errors_in_one_file() {
    check(
        r##"party a;
state { x: u64 = 18446744073709551616; h: bytes32 = 0x12; }
fn f( by a {
    require a < b < c, "r";
    require x, "oops;
    y = 1
    z = $ 2;
    if x = 1 { w = ((1); }
fn g() by a { if x {"##,
        expect![[r#"
            contract <missing>;

            party a;

            state {
                x: u64 = <error>;
                h: bytes32 = <error>;
            }

            fn f() by a {
                require <error>, "r";
                require x, "oops;";
                y = 1;
                <error>;
                <error>;
            }

            fn g() by a {
                if x {}
            }

            [E0005] Error: missing `contract NAME;` header
               ╭─[ test.sotto:1:1 ]
               │
             1 │ party a;
               │ ──┬──  
               │   ╰──── expected `contract NAME;` before this
               │ 
               │ Help: start the file with the contract's name, for example `contract escrow;`
            ───╯
            [E0004] Error: integer literal out of range
               ╭─[ test.sotto:2:18 ]
               │
             2 │ state { x: u64 = 18446744073709551616; h: bytes32 = 0x12; }
               │                  ──────────┬─────────  
               │                            ╰─────────── larger than u64::MAX (18446744073709551615)
            ───╯
            [E0004] Error: malformed bytes32 literal
               ╭─[ test.sotto:2:53 ]
               │
             2 │ state { x: u64 = 18446744073709551616; h: bytes32 = 0x12; }
               │                                                     ──┬─  
               │                                                       ╰─── 2 hex digits; a bytes32 literal has exactly 64
            ───╯
            [E0001] Error: expected a parameter name or `)`, found keyword `by`
               ╭─[ test.sotto:3:7 ]
               │
             3 │ fn f( by a {
               │     ┬ ─┬  
               │     ╰───── this `(` is not closed
               │        │  
               │        ╰── expected a parameter name or `)`
               │ 
               │ Help: close the parameter list with `)`
            ───╯
            [E0003] Error: comparisons do not chain
               ╭─[ test.sotto:4:19 ]
               │
             4 │     require a < b < c, "r";
               │             ──┬── ┬  
               │               ╰────── already a comparison
               │                   │  
               │                   ╰── a second comparison
               │ 
               │ Help: split into `a < b && b < c`
            ───╯
            [E0002] Error: unterminated string
               ╭─[ test.sotto:5:16 ]
               │
             5 │     require x, "oops;
               │                ───┬──  
               │                   ╰──── this string is not closed on its line
               │ 
               │ Help: close it with `"`; a string cannot span lines (write `\n` for a line break)
            ───╯
            [E0001] Error: expected `;`, found `z`
               ╭─[ test.sotto:7:5 ]
               │
             6 │     y = 1
               │         ┬  
               │         ╰── add `;` after this
             7 │     z = $ 2;
               │     ┬  
               │     ╰── expected `;`
               │ 
               │ Help: add `;` after `1`
            ───╯
            [E0002] Error: invalid character `$`
               ╭─[ test.sotto:7:9 ]
               │
             7 │     z = $ 2;
               │         ┬  
               │         ╰── not part of the sotto language
            ───╯
            [E0001] Error: expected `{`, found `=`
               ╭─[ test.sotto:8:10 ]
               │
             8 │     if x = 1 { w = ((1); }
               │          ┬  
               │          ╰── expected `{`
               │ 
               │ Help: to compare, write `==`
            ───╯
            [E0001] Error: expected `}`, found keyword `fn`
               ╭─[ test.sotto:9:1 ]
               │
             3 │ fn f( by a {
               │            ┬  
               │            ╰── this `{` is not closed
               │ 
             9 │ fn g() by a { if x {
               │ ─┬  
               │  ╰── expected `}`
               │ 
               │ Help: add `}` before `fn`
            ───╯
            [E0006] Error: unclosed delimiters
               ╭─[ test.sotto:9:21 ]
               │
             9 │ fn g() by a { if x {
               │             ┬      ┬│ 
               │             ╰───────── this `{` is not closed
               │                    ││ 
               │                    ╰── this `{` is not closed
               │                     │ 
               │                     ╰─ the file ends here, with `{` open
               │ 
               │ Help: close them with `}}`, in this order
            ───╯
        "#]],
    );
}

// --- The contract library and the docs ---------------------------------------

/// Every contract in contracts/examples/ parses without diagnostics and
/// round-trips. An empty or missing library fails: it must not pass by
/// checking nothing.
#[test]
fn the_contract_library_parses_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sotto"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no .sotto file", dir.display());
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let (_, diags) = parse(&src);
        assert!(
            diags.is_empty(),
            "{}:\n{}",
            path.display(),
            render(&path.display().to_string(), &src, &diags)
        );
        fuzzing::parse(src.as_bytes());
    }
}

/// Every ```sotto block in docs/language.md parses; a fragment without a
/// header is read after `contract t;`.
#[test]
fn the_docs_examples_parse_cleanly() {
    let mut n = 0;
    for block in sotto_blocks() {
        let src = if block.lines().any(|l| l.starts_with("contract ")) {
            block.to_owned()
        } else {
            format!("contract t;\n{block}")
        };
        let (_, diags) = parse(&src);
        assert!(diags.is_empty(), "{}", render("docs.sotto", &src, &diags));
        fuzzing::parse(src.as_bytes());
        n += 1;
    }
    assert!(n >= 2, "docs/language.md lost its examples");
}

// --- Nesting limits -----------------------------------------------------------

/// The diagnostic codes for `src`.
fn codes(src: &str) -> Vec<&'static str> {
    parse(src).1.iter().map(|d| d.code).collect()
}

/// `body` placed in a function: the body block is nesting level 1.
fn in_function(body: &str) -> String {
    format!("contract t;\nfn f() by a {{\n{body}\n}}\n")
}

/// Sources nested exactly `levels` deep (counting the function body), one
/// per kind of nesting.
fn nested(levels: usize) -> Vec<(&'static str, String)> {
    let n = levels - 1;
    let x = |inner: String| in_function(&format!("x = {inner};"));
    vec![
        (
            "parentheses",
            x(format!("{}1{}", "(".repeat(n), ")".repeat(n))),
        ),
        ("negations", x(format!("{}1", "-".repeat(n)))),
        ("calls", x(format!("{}1{}", "f(".repeat(n), ")".repeat(n)))),
        ("sums", x(format!("1{}", " + 1".repeat(n)))),
        (
            "right sums",
            x(format!("{}1{}", "1 + (".repeat(n), ")".repeat(n))),
        ),
        (
            "blocks",
            in_function(&format!("{}x = 1;{}", "if c { ".repeat(n), " }".repeat(n))),
        ),
        (
            "else ifs",
            in_function(&format!(
                "if c {{}}{} else {{ x = 1; }}",
                " else if c {}".repeat(n - 1)
            )),
        ),
    ]
}

#[test]
fn nesting_up_to_the_limit_parses_and_beyond_it_is_e0007() {
    for (kind, src) in nested(MAX_DEPTH) {
        assert_eq!(codes(&src), Vec::<&str>::new(), "{kind} at the limit");
    }
    for (kind, src) in nested(MAX_DEPTH + 1) {
        assert_eq!(codes(&src), ["E0007"], "{kind} beyond the limit");
    }
    // Far beyond, still one diagnostic, and the next statement is read.
    for (kind, src) in nested(50_000) {
        let src = src.replace("\n}\n", "\n    y = 1 +;\n}\n");
        assert_eq!(
            codes(&src),
            ["E0007", "E0001"],
            "{kind} far beyond the limit"
        );
    }
}

/// The deepest trees the parser accepts are parsed, printed, round-tripped
/// and dropped on a small stack, and so is hostile nesting far beyond the
/// limit (unbalanced too). Debug builds use far more stack than release.
#[test]
fn deep_nesting_fits_a_small_stack() {
    let run = || {
        for (_, src) in nested(MAX_DEPTH).into_iter().chain(nested(100_000)) {
            fuzzing::parse(src.as_bytes());
        }
        for opener in ["(", "{", "if c {", "!", "f(", "-(", "1 + ("] {
            fuzzing::parse(in_function(&format!("x = {}", opener.repeat(100_000))).as_bytes());
            fuzzing::parse(opener.repeat(100_000).as_bytes());
        }
    };
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

// --- Randomised: the fuzz body over generated and mutated inputs -----------

const NAMES: [&str; 8] = ["a", "b", "x", "_y", "z9", "sha256", "balance", "owner_2"];

/// A token of the language, or a near miss, as text.
fn random_token(rng: &mut StdRng) -> String {
    match rng.gen_range(0..12) {
        0..=2 => KEYWORDS.choose(rng).unwrap().to_string(),
        3..=6 => PUNCTUATION.choose(rng).unwrap().to_string(),
        7 => NAMES.choose(rng).unwrap().to_string(),
        8 => match rng.gen_range(0..4) {
            0 => u64::MAX.to_string(),
            1 => "18446744073709551616".into(),
            2 => "1_000".into(),
            _ => rng.gen_range(0..100u64).to_string(),
        },
        9 => {
            let digits = [64, 64, 63, 65][rng.gen_range(0..4)];
            format!("0x{}", "0f".repeat(40).get(..digits).unwrap())
        }
        10 => [
            "\"r\"",
            "\"a \\\"q\\\" \\n\"",
            "\"open",
            "// c\n",
            "/* c */",
            "$",
            "&",
            "é",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
        _ => ["\n", "  ", "\t"].choose(rng).unwrap().to_string(),
    }
}

fn token_soup(rng: &mut StdRng) -> String {
    let mut s = String::new();
    if rng.gen_bool(0.5) {
        s.push_str("contract t;\n");
    }
    for _ in 0..rng.gen_range(0..80) {
        s.push_str(&random_token(rng));
        if rng.gen_bool(0.8) {
            s.push(' ');
        }
    }
    s
}

/// An edit of `src`: of its bytes, or of its tokens.
fn mutate(rng: &mut StdRng, src: &str) -> Vec<u8> {
    let mut bytes = src.as_bytes().to_vec();
    let (tokens, _) = lexer::lex(src);
    let span = tokens.choose(rng).unwrap().span.clone();
    let other = tokens.choose(rng).unwrap().span.clone();
    for _ in 0..rng.gen_range(1..4) {
        let len = bytes.len();
        match rng.gen_range(0..7) {
            0 if len > 0 => bytes[rng.gen_range(0..len)] ^= 1 << rng.gen_range(0..8),
            1 if len > 0 => bytes[rng.gen_range(0..len)] = rng.r#gen(),
            2 => bytes.truncate(rng.gen_range(0..=len)),
            3 if span.end <= len => {
                bytes.drain(span.clone());
            }
            4 if other.end <= len => {
                let copy = bytes[other.clone()].to_vec();
                let at = rng.gen_range(0..=len);
                bytes.splice(at..at, copy);
            }
            5 => {
                let at = rng.gen_range(0..=len);
                let token = random_token(rng);
                bytes.splice(at..at, token.bytes());
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn fuzz_body_over_random_inputs() {
    let mut rng = StdRng::seed_from_u64(seed());
    let base = docs_example();
    for _ in 0..2000 {
        let len = rng.gen_range(0..200);
        fuzzing::parse(&(0..len).map(|_| rng.r#gen()).collect::<Vec<u8>>());
        fuzzing::parse(token_soup(&mut rng).as_bytes());
        fuzzing::parse(&mutate(&mut rng, base));
    }
}

#[test]
fn fuzz_body_over_the_seed_corpus() {
    for input in corpus("parse") {
        fuzzing::parse(&input);
    }
}

// --- Randomised: generated trees print and parse back ------------------------

fn ident(rng: &mut StdRng) -> Ident {
    Ident {
        name: NAMES.choose(rng).unwrap().to_string(),
        span: 0..0,
    }
}

fn ty(rng: &mut StdRng) -> (Type, std::ops::Range<usize>) {
    let t = [Type::U64, Type::Bool, Type::Bytes32, Type::Party];
    (*t.choose(rng).unwrap(), 0..0)
}

fn expr(rng: &mut StdRng, depth: u32) -> Expr {
    let leaf = depth == 0 || rng.gen_bool(0.3);
    let kind = if leaf {
        match rng.gen_range(0..6) {
            0 => ExprKind::Int(if rng.gen_bool(0.2) {
                u64::MAX
            } else {
                rng.gen_range(0..1000)
            }),
            1 => ExprKind::Bytes32(rng.r#gen()),
            2 => ExprKind::Bool(rng.r#gen()),
            3 => ExprKind::Now,
            4 => ExprKind::Reveal(ident(rng)),
            _ => ExprKind::Name(ident(rng).name),
        }
    } else {
        let ops = [
            BinOp::Or,
            BinOp::And,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Rem,
        ];
        match rng.gen_range(0..5) {
            0..=2 => ExprKind::Binary(
                *ops.choose(rng).unwrap(),
                Box::new(expr(rng, depth - 1)),
                Box::new(expr(rng, depth - 1)),
            ),
            3 => ExprKind::Unary(
                if rng.r#gen() { UnOp::Not } else { UnOp::Neg },
                Box::new(expr(rng, depth - 1)),
            ),
            _ => ExprKind::Call(
                ident(rng),
                (0..rng.gen_range(0..3))
                    .map(|_| expr(rng, depth - 1))
                    .collect(),
            ),
        }
    };
    Expr { kind, span: 0..0 }
}

fn block(rng: &mut StdRng, depth: u32) -> Block {
    Block {
        stmts: (0..rng.gen_range(0..4)).map(|_| stmt(rng, depth)).collect(),
        span: 0..0,
    }
}

fn stmt(rng: &mut StdRng, depth: u32) -> Stmt {
    let e = |rng: &mut StdRng| expr(rng, 3);
    let kind = match rng.gen_range(0..8) {
        0 => StmtKind::Let {
            name: ident(rng),
            ty: rng.r#gen::<bool>().then(|| ty(rng)),
            value: e(rng),
        },
        1 => StmtKind::Assign {
            target: ident(rng),
            value: e(rng),
        },
        2 if depth > 0 => StmtKind::If {
            cond: e(rng),
            then: block(rng, depth - 1),
            otherwise: rng.r#gen::<bool>().then(|| block(rng, depth - 1)),
        },
        3 => {
            let chars = ['a', ' ', '"', '\\', '\n', '\t', 'é', '€', '\''];
            let reason = (0..rng.gen_range(0..8))
                .map(|_| *chars.choose(rng).unwrap())
                .collect();
            StmtKind::Require {
                cond: e(rng),
                reason: (reason, 0..0),
            }
        }
        4 => StmtKind::Transfer {
            amount: e(rng),
            from: ident(rng),
            to: ident(rng),
        },
        5 if depth > 0 => StmtKind::Await {
            party: ident(rng),
            silent: rng.r#gen::<bool>().then(|| block(rng, depth - 1)),
        },
        _ => StmtKind::Finish,
    };
    Stmt { kind, span: 0..0 }
}

fn tree(rng: &mut StdRng) -> Contract {
    Contract {
        name: ident(rng),
        parties: (0..rng.gen_range(0..3)).map(|_| ident(rng)).collect(),
        fields: (0..rng.gen_range(0..4))
            .map(|_| Field {
                name: ident(rng),
                visibility: if rng.r#gen() {
                    Visibility::Public
                } else {
                    Visibility::Private(ident(rng))
                },
                ty: ty(rng),
                init: rng.r#gen::<bool>().then(|| expr(rng, 3)),
                span: 0..0,
            })
            .collect(),
        functions: (0..rng.gen_range(0..3))
            .map(|_| Function {
                name: ident(rng),
                params: (0..rng.gen_range(0..3))
                    .map(|_| Param {
                        name: ident(rng),
                        private: rng.r#gen(),
                        ty: ty(rng),
                    })
                    .collect(),
                caller: ident(rng),
                body: block(rng, 3),
                span: 0..0,
            })
            .collect(),
    }
}

/// Random trees (spans erased) print to text that parses, cleanly, back
/// to the same tree: this checks the printer's parentheses and escapes
/// against the parser, beyond what real contracts exercise.
#[test]
fn generated_trees_print_and_parse_back() {
    let mut rng = StdRng::seed_from_u64(seed());
    for _ in 0..500 {
        let t = tree(&mut rng);
        let printed = print(&t);
        let (parsed, diags) = parse(&printed);
        assert!(
            diags.is_empty(),
            "{printed}\n{}",
            render("gen.sotto", &printed, &diags)
        );
        assert_eq!(fuzzing::erase_spans(parsed), t, "{printed}");
        fuzzing::parse(printed.as_bytes());
    }
}
