//! `sotto new` and `sotto check` through the binary: exit codes and messages.
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sotto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sotto"))
        .collect();
    files.sort();
    files
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-author-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_library_checks_clean() {
    let files = examples();
    assert_eq!(files.len(), 7);
    let mut args = vec!["check"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let out = sotto(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "7 files: 0 errors, 0 warnings\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn errors_are_rendered_and_fail() {
    let dir = scratch("errors");
    let file = dir.join("leak.sotto");
    std::fs::write(
        &file,
        "contract leak;\nparty a, b;\nstate {\n    n: u64 = 0;\n    s: private(a) u64;\n}\nfn f() by a { n = s; }\n",
    )
    .unwrap();
    let out = sotto(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("[E0301]"), "{err}");
    assert!(err.contains("leak.sotto"), "{err}");
    assert!(err.contains("n = s;"), "the source line is shown: {err}");
    assert!(err.contains("error: 1 file: 1 error, 0 warnings"), "{err}");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn a_missing_file_says_so_in_one_line() {
    let out = sotto(&["check", "no/such/contract.sotto"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: cannot read no/such/contract.sotto"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn new_scaffolds_a_contract_that_checks() {
    let dir = scratch("new");
    let out = sotto(&["new", "my_deal", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = dir.join("my_deal.sotto");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("contract my_deal;")
    );
    let out = sotto(&["check", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The scenario comes beside it, naming it.
    let scenario = std::fs::read_to_string(dir.join("my_deal.happy.toml")).unwrap();
    assert!(
        scenario.contains("contract = \"my_deal.sotto\""),
        "{scenario}"
    );
    // A second `new` refuses to overwrite.
    let out = sotto(&["new", "my_deal", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("already exists"));
    // An invalid name is refused before anything is written.
    let out = sotto(&["new", "9lives", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a valid contract name"));
    assert!(!dir.join("9lives.sotto").exists());
}
