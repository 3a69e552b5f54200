//! Authoring commands: `sotto new` scaffolds a contract, `sotto check`
//! reports its diagnostics (rendered the same way by `sotto build`, which
//! shares [`read_source`] and [`report`]).
//!
//! `check` renders every diagnostic with source context on stderr and exits
//! non-zero if any file has an error (warnings alone pass), so it fits in
//! scripts and CI.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use sotto_contracts::{Diagnostic, render};

/// `sotto check FILE...`
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Contract source files (`.sotto`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `sotto new NAME`
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The contract's name: letters, digits and `_`, not starting with a digit.
    name: String,
    /// Directory to write `NAME.sotto` into.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// Checks every file, prints diagnostics, and fails if any file has errors.
pub(crate) fn run_check(args: &CheckArgs) -> Result<()> {
    let mut counts = Counts::default();
    for path in &args.files {
        let source = read_source(path)?;
        // Everything a build would report, the compiler's own limits
        // (E0308-E0310) included; nothing is written.
        let diags = match sotto_contracts::compile(&source) {
            Ok(built) => built.warnings,
            Err(diags) => diags,
        };
        counts.add(report(path, &source, &diags));
    }
    let summary = counts.summary(args.files.len());
    if counts.errors > 0 {
        bail!("{summary}");
    }
    println!("{summary}");
    Ok(())
}

/// Errors and warnings reported.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
    }

    /// `N files: E errors, W warnings`, the last line of `check` and `build`.
    pub(crate) fn summary(self, files: usize) -> String {
        let Counts { errors, warnings } = self;
        format!(
            "{files} file{}: {errors} error{}, {warnings} warning{}",
            plural(files),
            plural(errors),
            plural(warnings)
        )
    }
}

/// Renders `diags` of the file at `path` with source context on stderr.
pub(crate) fn report(path: &Path, source: &str, diags: &[Diagnostic]) -> Counts {
    eprint!("{}", render(&path.display().to_string(), source, diags));
    let errors = diags.iter().filter(|d| d.is_error()).count();
    Counts {
        errors,
        warnings: diags.len() - errors,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A contract's source, or an error that says where to look.
pub(crate) fn read_source(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {}: check the path (contracts in the library are in contracts/examples/)",
            path.display()
        )
    })
}

/// Writes a new contract that checks clean, ready to edit.
pub(crate) fn run_new(args: &NewArgs) -> Result<()> {
    let name = &args.name;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        bail!(
            "`{name}` is not a valid contract name: use letters, digits and `_`, not starting with a digit"
        );
    }
    let path = args.dir.join(format!("{name}.sotto"));
    if path.exists() {
        bail!(
            "{} already exists: choose another name or remove it",
            path.display()
        );
    }
    let scenario_path = args.dir.join(format!("{name}.happy.toml"));
    if scenario_path.exists() {
        bail!(
            "{} already exists: choose another name or remove it",
            scenario_path.display()
        );
    }
    let source = template(name);
    std::fs::write(&path, &source).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::write(&scenario_path, scenario(name))
        .with_context(|| format!("cannot write {}", scenario_path.display()))?;
    println!(
        "wrote {} and its scenario {}",
        path.display(),
        scenario_path.display()
    );
    println!("next: edit it, then `sotto check {}`", path.display());
    Ok(())
}

/// The scaffold: two parties, a public and a private field, one function of
/// each kind, so the author sees every construct once.
fn template(name: &str) -> String {
    format!(
        r#"// {name}: a two-party agreement. See docs/language.md for the language.
contract {name};

party alice, bob;

state {{
    // Public: both parties see it.
    offers: u64 = 0;
    // Private to alice: bob holds only a commitment to it.
    alice_limit: private(alice) u64;
}}

// Alice pays bob, provided the amount stays within her private limit.
// Bob learns the amount (a transfer is public) but not the limit: alice
// proves `amount <= alice_limit` against her commitment.
fn pay(amount: u64) by alice {{
    require amount > 0, "a payment must be positive";
    require amount <= alice_limit, "above alice's limit";
    transfer amount from alice to bob;
    offers = offers + 1;
    // Bob moves next; if he never does, nothing more moves.
    await bob silent {{}}
}}

fn acknowledge() by bob {{
    finish;
}}
"#
    )
}

/// The scaffold's scenario: the happy path, one refusal on the way.
fn scenario(name: &str) -> String {
    format!(
        r#"# How an agreement under {name}.sotto plays out; `sotto run` plays it.
# Format: contracts/src/scenario.rs (docs in `cargo doc`).
name = "alice pays within her limit, bob acknowledges"
contract = "{name}.sotto"
deposits = {{ alice = 100, bob = 0 }}

# Alice's opening private value: only she knows it.
[private.alice]
alice_limit = 50

[[steps]]
call = "pay"
by = "alice"
args = {{ amount = 60 }}
expect = {{ abort = "above alice's limit" }}

[[steps]]
call = "pay"
by = "alice"
args = {{ amount = 30 }}

[[steps]]
call = "acknowledge"
by = "bob"

[outcome]
finished = true
paid = {{ alice = 70, bob = 30 }}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scaffold_scenario_fits_the_scaffold_contract() {
        let built = sotto_contracts::compile(&template("my_deal")).unwrap();
        let scenario = sotto_contracts::scenario::Scenario::parse(&scenario("my_deal")).unwrap();
        let plan = scenario.resolve(built.artifact.abi()).unwrap();
        assert_eq!(plan.steps.len(), 3);
        assert_eq!(plan.paid, vec![70, 30]);
    }

    #[test]
    fn the_template_builds_without_warnings() {
        let src = template("my_deal");
        match sotto_contracts::compile(&src) {
            Ok(built) => assert!(built.warnings.is_empty(), "{:?}", built.warnings),
            Err(diags) => panic!("{}", render("t", &src, &diags)),
        }
    }
}
