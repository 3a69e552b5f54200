//! The README's two commands for a fresh machine, followed literally: the
//! first (the main job) runs here through this build's binary with the
//! README's own arguments and must succeed; the second (every test) is what
//! `.ci/run` runs, word for word, so CI follows it on a bare machine.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::Path;
use std::process::Command;

/// The commands of the README's "Two commands" block, comments dropped.
fn commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Two commands on a fresh machine")
        .nth(1)
        .unwrap();
    let block = section
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readme_has_two_commands_and_the_main_job_succeeds() {
    let cmds = commands();
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let main = &cmds[0];
    let args = main
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("the main job is not a `cargo run --release --` line: {main}"));
    assert!(
        args.starts_with("run "),
        "the main job is `sotto run`: {main}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args.split_whitespace())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{main}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("outcome reached"));
}

#[test]
fn ci_runs_the_readme_test_command() {
    let cmds = commands();
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == cmds[1]),
        "`.ci/run` does not run `{}`",
        cmds[1]
    );
}
