//! docs/tutorial.md against the binary and the library, so the tutorial
//! cannot drift from either:
//!
//! - every stage file under docs/tutorial/ is checked in the tutorial;
//! - every output the tutorial marks as tested (`sotto new` and each
//!   `sotto check`) is this binary's output, word for word, with the exit
//!   code the marker states;
//! - every code block the tutorial says comes from a stage file occurs in
//!   that file, verbatim;
//! - the last stage and its two scenarios are the library's negotiation,
//!   byte for byte, and both scenarios play to their outcome.
//!
//! Markers are HTML comments on the line before a fenced block:
//!
//! - `<!-- tested: new -->`: a console block `$ sotto new ...`, run in an
//!   empty directory;
//! - `<!-- tested: new FILE -->`: the file that `sotto new negotiation`
//!   writes as FILE;
//! - `<!-- tested: STAGE -->`, `<!-- tested: STAGE fails -->`: a console
//!   block `$ sotto check negotiation.sotto`, run in a directory holding
//!   docs/tutorial/STAGE as `negotiation.sotto` (as the reader's file is
//!   called), exiting 0, or 1 for `fails`;
//! - `<!-- from: FILE -->`: the block occurs in docs/tutorial/FILE.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stages_dir() -> PathBuf {
    root().join("docs/tutorial")
}

/// One fenced block of the tutorial, with the marker before it, if any.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The marker's text (`tested: ...`, `from: ...`), if the line before
    /// the fence is one.
    marker: Option<String>,
    /// The fence's language tag.
    lang: String,
    /// The lines between the fences, each with its newline.
    body: String,
}

fn blocks() -> Vec<Block> {
    let text = std::fs::read_to_string(root().join("docs/tutorial.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let marker = i
            .checked_sub(1)
            .and_then(|p| lines[p].strip_prefix("<!-- "))
            .and_then(|m| m.strip_suffix(" -->"))
            .map(str::to_owned);
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i] != "```" {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        assert!(i < lines.len(), "tutorial.md:{}: unclosed block", start + 1);
        out.push(Block {
            line: start + 1,
            marker,
            lang: lang.to_owned(),
            body,
        });
        i += 1;
    }
    out
}

/// Lines without trailing whitespace (the renderer pads some lines; the
/// tutorial does not), and no trailing empty lines.
fn normalise(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |p| p + 1);
    lines[..end].join("\n")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-tutorial-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sotto(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The command of a console block (`$ sotto ARGS`, first line) and the
/// output the tutorial quotes for it (the other lines).
fn command(block: &Block) -> (Vec<String>, String) {
    let (first, rest) = block.body.split_once('\n').unwrap_or((&block.body, ""));
    let args = first.strip_prefix("$ sotto ").unwrap_or_else(|| {
        panic!(
            "tutorial.md:{}: a tested block starts with `$ sotto ...`, not `{first}`",
            block.line
        )
    });
    (
        args.split_whitespace().map(str::to_owned).collect(),
        rest.to_owned(),
    )
}

/// What a terminal shows: the diagnostics (stderr) come before the
/// summary (stdout) for a single file.
fn shown(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

fn tested(blocks: &[Block]) -> Vec<(&Block, Vec<&str>)> {
    blocks
        .iter()
        .filter_map(|b| {
            let m = b.marker.as_deref()?.strip_prefix("tested: ")?;
            Some((b, m.split_whitespace().collect()))
        })
        .collect()
}

#[test]
fn every_tested_output_is_the_binarys() {
    let blocks = blocks();
    let tested = tested(&blocks);
    assert!(tested.len() >= 7, "only {} tested blocks", tested.len());
    for (n, (block, words)) in tested.iter().enumerate() {
        let at = format!("tutorial.md:{}", block.line);
        let dir = scratch(&format!("out{n}"));
        match words.as_slice() {
            ["new"] => {
                let (args, expected) = command(block);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = sotto(&dir, &args);
                assert!(out.status.success(), "{at}: {}", shown(&out));
                assert_eq!(normalise(&shown(&out)), normalise(&expected), "{at}");
            }
            ["new", file] => {
                let out = sotto(&dir, &["new", "negotiation"]);
                assert!(out.status.success(), "{at}: {}", shown(&out));
                let written = std::fs::read_to_string(dir.join(file)).unwrap();
                assert_eq!(normalise(&written), normalise(&block.body), "{at}");
            }
            [stage, rest @ ..] => {
                let fails = match rest {
                    [] => false,
                    ["fails"] => true,
                    _ => panic!("{at}: unknown marker `{words:?}`"),
                };
                let (args, expected) = command(block);
                assert_eq!(
                    args,
                    ["check", "negotiation.sotto"],
                    "{at}: a stage's tested block is `sotto check negotiation.sotto`"
                );
                std::fs::copy(stages_dir().join(stage), dir.join("negotiation.sotto"))
                    .unwrap_or_else(|e| panic!("{at}: docs/tutorial/{stage}: {e}"));
                let out = sotto(&dir, &["check", "negotiation.sotto"]);
                let shown = shown(&out);
                assert_eq!(
                    out.status.code(),
                    Some(i32::from(fails)),
                    "{at}: {stage} should {}:\n{shown}",
                    if fails { "fail" } else { "pass" }
                );
                assert_eq!(normalise(&shown), normalise(&expected), "{at}: {stage}");
            }
            [] => panic!("{at}: empty marker"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn every_check_and_new_the_tutorial_shows_is_tested() {
    for block in blocks() {
        let first = block.body.lines().next().unwrap_or("");
        if first.starts_with("$ sotto check") || first.starts_with("$ sotto new") {
            assert!(
                block
                    .marker
                    .as_deref()
                    .is_some_and(|m| m.starts_with("tested: ")),
                "tutorial.md:{}: `{first}` has no `tested:` marker",
                block.line
            );
        }
    }
}

#[test]
fn every_excerpt_is_in_its_file() {
    let mut seen = 0;
    for block in blocks() {
        let Some(file) = block
            .marker
            .as_deref()
            .and_then(|m| m.strip_prefix("from: "))
        else {
            continue;
        };
        let text = std::fs::read_to_string(stages_dir().join(file))
            .unwrap_or_else(|e| panic!("tutorial.md:{}: docs/tutorial/{file}: {e}", block.line));
        assert!(
            text.contains(&block.body),
            "tutorial.md:{}: this {} block is not in docs/tutorial/{file}:\n{}",
            block.line,
            block.lang,
            block.body
        );
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} excerpts");
}

#[test]
fn every_stage_file_is_checked_in_the_tutorial() {
    let blocks = blocks();
    let checked: Vec<&str> = tested(&blocks)
        .into_iter()
        .filter_map(|(_, w)| w.first().copied().filter(|s| s.ends_with(".sotto")))
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(stages_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sotto"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        assert!(
            checked.contains(&f.as_str()),
            "docs/tutorial/{f} is not checked in docs/tutorial.md"
        );
    }
    // The tutorial ends with the library's contract: its last checked
    // stage, and a passing one.
    let last = tested(&blocks)
        .into_iter()
        .rev()
        .find(|(_, w)| w.first().is_some_and(|s| s.ends_with(".sotto")))
        .unwrap();
    assert_eq!(last.1, ["negotiation.sotto"]);
}

#[test]
fn the_last_stage_and_its_scenarios_are_the_librarys() {
    let examples = root().join("contracts/examples");
    for file in [
        "negotiation.sotto",
        "negotiation.happy.toml",
        "negotiation.dispute.toml",
    ] {
        let ours = std::fs::read(stages_dir().join(file)).unwrap();
        let library = std::fs::read(examples.join(file)).unwrap();
        assert!(
            ours == library,
            "docs/tutorial/{file} differs from contracts/examples/{file}: the tutorial must end with the library's contract"
        );
    }
    let (_, built_in) = sotto_contracts::library::LIBRARY
        .iter()
        .find(|(name, _)| *name == "negotiation")
        .unwrap();
    let ours = std::fs::read_to_string(stages_dir().join("negotiation.sotto")).unwrap();
    assert_eq!(ours, *built_in);
}

#[test]
fn both_scenarios_play_to_their_outcome() {
    for scenario in ["negotiation.happy.toml", "negotiation.dispute.toml"] {
        let out = sotto(
            &stages_dir(),
            &["run", "negotiation.sotto", "--scenario", scenario],
        );
        assert!(out.status.success(), "{scenario}: {}", shown(&out));
    }
}
