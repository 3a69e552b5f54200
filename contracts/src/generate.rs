//! Random well-typed contracts, for fuzzing the compiler and for
//! differential tests against the reference interpreter.
//!
//! [`contract`] draws a contract's source text from an
//! [`arbitrary::Unstructured`], type-directed so that it parses and checks
//! without errors: every name is declared before use and unique, every
//! expression has the type its position wants, private values flow only
//! where the privacy rules allow (into the caller's own private fields, into
//! provable `require`s, through `reveal`), private work stays outside `if`,
//! and every `await` names another party and says what its silence means.
//! What it does not avoid: arithmetic faults, failing `require`s, transfers
//! beyond a balance. Those are behaviours to compare, not errors.
//!
//! Running out of entropy is not an error: the generator then takes the
//! first choice everywhere, which still yields a valid contract.

use arbitrary::Unstructured;

/// Most parties, fields, functions, parameters and statements drawn.
const MAX_PARTIES: usize = 3;
const MAX_FIELDS: usize = 6;
const MAX_FUNCTIONS: usize = 4;
const MAX_PARAMS: usize = 3;
const MAX_STMTS: usize = 8;
/// Expression depth.
const MAX_DEPTH: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    U64,
    Bool,
    Bytes32,
    Party,
}

const TYPES: [Ty; 4] = [Ty::U64, Ty::Bool, Ty::Bytes32, Ty::Party];

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::U64 => "u64",
            Ty::Bool => "bool",
            Ty::Bytes32 => "bytes32",
            Ty::Party => "party",
        }
    }
}

#[derive(Debug, Clone)]
struct Var {
    name: String,
    ty: Ty,
    /// `Some(owner)` if private.
    owner: Option<usize>,
    /// Whether it can be assigned (fields and locals, not parameters).
    assignable: bool,
}

struct Gen<'u, 'd> {
    u: &'u mut Unstructured<'d>,
    out: String,
    parties: usize,
    fields: Vec<Var>,
    /// Parameters and the scopes of locals of the function being drawn.
    scopes: Vec<Vec<Var>>,
    caller: usize,
    fresh: usize,
}

/// Draws a contract's source text. Always returns a contract that parses
/// and checks without errors (a test holds the generator to that).
pub fn contract(u: &mut Unstructured<'_>) -> String {
    let mut g = Gen {
        u,
        out: String::new(),
        parties: 2,
        fields: Vec::new(),
        scopes: Vec::new(),
        caller: 0,
        fresh: 0,
    };
    g.contract();
    g.out
}

impl Gen<'_, '_> {
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.u.int_in_range(lo..=hi).unwrap_or(lo)
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.u
            .int_in_range(0u8..=99)
            .map(|x| x < percent)
            .unwrap_or(false)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let i = self.int(0, items.len() - 1);
        items.get(i).cloned()
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn party(&mut self) -> usize {
        self.int(0, self.parties - 1)
    }

    fn contract(&mut self) {
        self.out.push_str("contract generated;\n");
        self.parties = self.int(2, MAX_PARTIES);
        let names: Vec<String> = (0..self.parties).map(|p| format!("p{p}")).collect();
        self.out
            .push_str(&format!("party {};\nstate {{\n", names.join(", ")));
        for i in 0..self.int(0, MAX_FIELDS) {
            let ty = self.pick(&TYPES).unwrap_or(Ty::U64);
            let private = matches!(ty, Ty::U64 | Ty::Bool) && self.chance(40);
            let owner = private.then(|| self.party());
            let name = format!("f{i}");
            let vis = owner.map(|o| format!("private(p{o}) ")).unwrap_or_default();
            let init = if private && self.chance(50) {
                String::new()
            } else {
                format!(" = {}", self.literal(ty))
            };
            self.out
                .push_str(&format!("    {name}: {vis}{}{init};\n", ty.name()));
            self.fields.push(Var {
                name,
                ty,
                owner,
                assignable: true,
            });
        }
        self.out.push_str("}\n");
        for i in 0..self.int(1, MAX_FUNCTIONS) {
            self.function(i);
        }
    }

    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Ty::U64 => {
                let edge = [0u64, 1, 2, 3, 10, 255, u64::MAX - 1, u64::MAX];
                if self.chance(60) {
                    self.pick(&edge).unwrap_or(0).to_string()
                } else {
                    self.u.arbitrary::<u64>().unwrap_or(7).to_string()
                }
            }
            Ty::Bool => if self.chance(50) { "true" } else { "false" }.to_owned(),
            Ty::Bytes32 => {
                let b: [u8; 32] = self.u.arbitrary().unwrap_or([0; 32]);
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("0x{hex}")
            }
            Ty::Party => format!("p{}", self.party()),
        }
    }

    fn function(&mut self, i: usize) {
        self.caller = self.party();
        let mut params = Vec::new();
        let mut text = Vec::new();
        for j in 0..self.int(0, MAX_PARAMS) {
            let ty = self.pick(&TYPES).unwrap_or(Ty::U64);
            let private = matches!(ty, Ty::U64 | Ty::Bool) && self.chance(40);
            let name = format!("a{j}");
            text.push(format!(
                "{name}: {}{}",
                if private { "private " } else { "" },
                ty.name()
            ));
            params.push(Var {
                name,
                ty,
                owner: private.then_some(self.caller),
                assignable: false,
            });
        }
        self.scopes = vec![params];
        self.out.push_str(&format!(
            "fn g{i}({}) by p{} {{\n",
            text.join(", "),
            self.caller
        ));
        let n = self.int(0, MAX_STMTS);
        self.block(n, 1, false);
        self.out.push_str("}\n");
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
    }

    /// `n` statements; `branch` when inside an `if` (no private work).
    fn block(&mut self, n: usize, depth: usize, branch: bool) {
        for _ in 0..n {
            self.stmt(depth, branch);
        }
    }

    /// Everything visible: the caller's private values and public ones.
    fn visible(&self) -> Vec<Var> {
        self.fields
            .iter()
            .chain(self.scopes.iter().flatten())
            .filter(|v| v.owner.is_none() || v.owner == Some(self.caller))
            .cloned()
            .collect()
    }

    fn stmt(&mut self, depth: usize, branch: bool) {
        self.indent(depth);
        let choice = self.int(0, 9);
        match choice {
            0 => {
                let ty = self.pick(&TYPES).unwrap_or(Ty::U64);
                let e = self.expr(ty, 0);
                let name = self.fresh("l");
                self.out.push_str(&format!("let {name} = {e};\n"));
                if let Some(scope) = self.scopes.last_mut() {
                    scope.push(Var {
                        name,
                        ty,
                        owner: None,
                        assignable: true,
                    });
                }
            }
            1 | 2 => {
                let targets: Vec<Var> = self
                    .visible()
                    .into_iter()
                    .filter(|v| v.assignable && v.owner.is_none())
                    .collect();
                match self.pick(&targets) {
                    Some(t) => {
                        let e = self.expr(t.ty, 0);
                        self.out.push_str(&format!("{} = {e};\n", t.name));
                    }
                    None => self.out.push_str("finish;\n"),
                }
            }
            3 => {
                let c = self.expr(Ty::Bool, 0);
                let r = self.fresh("reason ");
                self.out.push_str(&format!("require {c}, \"{r}\";\n"));
            }
            4 if depth < 3 => {
                let c = self.expr(Ty::Bool, 0);
                self.out.push_str(&format!("if {c} {{\n"));
                self.scopes.push(Vec::new());
                let n = self.int(0, 3);
                self.block(n, depth + 1, true);
                self.scopes.pop();
                self.indent(depth);
                if self.chance(50) {
                    self.out.push_str("} else {\n");
                    self.scopes.push(Vec::new());
                    let n = self.int(0, 3);
                    self.block(n, depth + 1, true);
                    self.scopes.pop();
                    self.indent(depth);
                }
                self.out.push_str("}\n");
            }
            5 => {
                let (from, to) = (self.party(), self.party());
                let a = self.expr(Ty::U64, 0);
                self.out
                    .push_str(&format!("transfer {a} from p{from} to p{to};\n"));
            }
            6 => {
                let others: Vec<usize> = (0..self.parties).filter(|&p| p != self.caller).collect();
                let p = self.pick(&others).unwrap_or(0);
                self.out.push_str(&format!("await p{p} silent {{"));
                for _ in 0..self.int(0, 2) {
                    let (from, to) = (self.party(), self.party());
                    let a = self.expr(Ty::U64, 0);
                    self.out
                        .push_str(&format!(" transfer {a} from p{from} to p{to};"));
                }
                self.out.push_str(" }\n");
            }
            7 if !branch => self.private_stmt(),
            8 if !branch => self.reveal_stmt(),
            _ => self.out.push_str("finish;\n"),
        }
    }

    /// The caller's private values visible here.
    fn secrets(&self, ty: Ty) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| v.owner.is_some() && v.ty == ty)
            .collect()
    }

    /// A `require` over private values, or an assignment to a private field.
    fn private_stmt(&mut self) {
        let fields: Vec<Var> = self
            .fields
            .iter()
            .filter(|f| f.owner == Some(self.caller))
            .cloned()
            .collect();
        if self.chance(50)
            && let Some(f) = self.pick(&fields)
        {
            let e = self.secret(f.ty, 0);
            self.out.push_str(&format!("{} = {e};\n", f.name));
            return;
        }
        let mut conjuncts = Vec::new();
        for _ in 0..self.int(1, 3) {
            let c = if self.chance(25) {
                self.expr(Ty::Bool, 1)
            } else if self.chance(20) && !self.secrets(Ty::Bool).is_empty() {
                let b = self.secrets(Ty::Bool);
                self.pick(&b)
                    .map(|v| v.name)
                    .unwrap_or_else(|| "true".into())
            } else {
                let op = self.pick(&["<", "<=", ">", ">=", "=="]).unwrap_or("<");
                let l = self.secret(Ty::U64, 0);
                let r = self.secret(Ty::U64, 0);
                format!("{l} {op} {r}")
            };
            conjuncts.push(c);
        }
        let r = self.fresh("private reason ");
        self.out
            .push_str(&format!("require {}, \"{r}\";\n", conjuncts.join(" && ")));
    }

    /// `f = reveal(x)` for a public field `f` of x's type.
    fn reveal_stmt(&mut self) {
        let mut secrets = self.secrets(Ty::U64);
        secrets.extend(self.secrets(Ty::Bool));
        let Some(x) = self.pick(&secrets) else {
            self.out.push_str("finish;\n");
            return;
        };
        let targets: Vec<Var> = self
            .visible()
            .into_iter()
            .filter(|v| v.assignable && v.owner.is_none() && v.ty == x.ty)
            .collect();
        match self.pick(&targets) {
            Some(t) => self
                .out
                .push_str(&format!("{} = reveal({});\n", t.name, x.name)),
            None => {
                let name = self.fresh("l");
                self.out
                    .push_str(&format!("let {name} = reveal({});\n", x.name));
                if let Some(scope) = self.scopes.last_mut() {
                    scope.push(Var {
                        name,
                        ty: x.ty,
                        owner: None,
                        assignable: true,
                    });
                }
            }
        }
    }

    /// A private expression of type `ty` (u64: `+ - *` over the caller's
    /// private values, literals and public values; bool: a private bool,
    /// `!` of one, or a literal).
    fn secret(&mut self, ty: Ty, depth: u32) -> String {
        let names = self.secrets(ty);
        if ty == Ty::Bool {
            return match self.pick(&names) {
                Some(v) if self.chance(30) => format!("!{}", v.name),
                Some(v) => v.name,
                None => self.literal(Ty::Bool),
            };
        }
        if depth >= MAX_DEPTH || self.chance(40) {
            return match self.pick(&names) {
                Some(v) if self.chance(75) => v.name,
                _ => self.expr(Ty::U64, MAX_DEPTH),
            };
        }
        let op = self.pick(&["+", "-", "*"]).unwrap_or("+");
        let l = self.secret(ty, depth + 1);
        let r = if self.chance(50) {
            self.secret(ty, depth + 1)
        } else {
            self.expr(Ty::U64, MAX_DEPTH - 1)
        };
        format!("({l} {op} {r})")
    }

    /// A public expression of type `ty`.
    fn expr(&mut self, ty: Ty, depth: u32) -> String {
        let names: Vec<Var> = self
            .visible()
            .into_iter()
            .filter(|v| v.owner.is_none() && v.ty == ty)
            .collect();
        if depth >= MAX_DEPTH || self.chance(30) {
            return match self.pick(&names) {
                Some(v) if self.chance(70) => v.name,
                _ => match ty {
                    Ty::U64 if self.chance(10) => "now".into(),
                    _ => self.literal(ty),
                },
            };
        }
        let d = depth + 1;
        match ty {
            Ty::U64 => match self.int(0, 4) {
                0 => format!("balance(p{})", self.party()),
                1 => {
                    let f = self.pick(&["min", "max"]).unwrap_or("min");
                    format!("{f}({}, {})", self.expr(Ty::U64, d), self.expr(Ty::U64, d))
                }
                _ => {
                    let op = self.pick(&["+", "-", "*", "/", "%"]).unwrap_or("+");
                    format!("({} {op} {})", self.expr(Ty::U64, d), self.expr(Ty::U64, d))
                }
            },
            Ty::Bool => match self.int(0, 4) {
                0 => format!("!{}", self.expr(Ty::Bool, d)),
                1 => {
                    let op = self.pick(&["&&", "||"]).unwrap_or("&&");
                    format!(
                        "({} {op} {})",
                        self.expr(Ty::Bool, d),
                        self.expr(Ty::Bool, d)
                    )
                }
                2 => {
                    let t = self.pick(&TYPES).unwrap_or(Ty::U64);
                    let op = self.pick(&["==", "!="]).unwrap_or("==");
                    format!("({} {op} {})", self.expr(t, d), self.expr(t, d))
                }
                _ => {
                    let op = self.pick(&["<", "<=", ">", ">="]).unwrap_or("<");
                    format!("({} {op} {})", self.expr(Ty::U64, d), self.expr(Ty::U64, d))
                }
            },
            Ty::Bytes32 => {
                let f = self.pick(&["sha256", "keccak256"]).unwrap_or("sha256");
                let mut args = Vec::new();
                for _ in 0..self.int(1, 3) {
                    let t = self
                        .pick(&[Ty::U64, Ty::Bool, Ty::Bytes32])
                        .unwrap_or(Ty::U64);
                    args.push(self.expr(t, d));
                }
                format!("{f}({})", args.join(", "))
            }
            Ty::Party => self.literal(Ty::Party),
        }
    }
}
