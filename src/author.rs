//! Authoring commands: `sotto new` scaffolds a contract, `sotto check`
//! reports its diagnostics.
//!
//! `check` renders every diagnostic with source context on stderr and exits
//! non-zero if any file has an error (warnings alone pass), so it fits in
//! scripts and CI.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use sotto_contracts::{check::check, render, syntax::parse};

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
    let (mut errors, mut warnings) = (0usize, 0usize);
    for path in &args.files {
        let source = read_source(path)?;
        let (tree, mut diags) = parse(&source);
        // Checking a tree with syntax errors would mostly report their echoes.
        if diags.is_empty() {
            diags = check(&tree);
        }
        eprint!("{}", render(&path.display().to_string(), &source, &diags));
        errors += diags.iter().filter(|d| d.is_error()).count();
        warnings += diags.iter().filter(|d| !d.is_error()).count();
    }
    let files = args.files.len();
    let summary = format!(
        "{files} file{}: {errors} error{}, {warnings} warning{}",
        plural(files),
        plural(errors),
        plural(warnings)
    );
    if errors > 0 {
        bail!("{summary}");
    }
    println!("{summary}");
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn read_source(path: &Path) -> Result<String> {
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
    let source = template(name);
    std::fs::write(&path, &source).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_checks_clean() {
        let src = template("my_deal");
        let (tree, diags) = parse(&src);
        assert!(diags.is_empty(), "{}", render("t", &src, &diags));
        let diags = check(&tree);
        assert!(diags.is_empty(), "{}", render("t", &src, &diags));
    }
}
