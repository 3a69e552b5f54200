//! Writing a [`Report`]: aligned table, JSON array, CSV, and the target checks.
//!
//! All three row formats carry the same rows and fields; JSON and CSV keep
//! raw integers (ns, bytes) for machines, the table scales them for people.

use std::io::{self, Write};

use anyhow::{Context, Result};

use super::{Report, Row};

/// Column names, in the order of JSON fields and CSV columns.
const FIELDS: [&str; 10] = [
    "name",
    "median_ns",
    "p99_ns",
    "prove_ns",
    "verify_ns",
    "per_s",
    "size_bytes",
    "gas",
    "fuel",
    "baseline",
];

/// One JSON array of rows, then a newline.
pub(crate) fn json(out: &mut impl Write, rows: &[Row]) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, rows).context("writing JSON to stdout")?;
    writeln!(out).context("writing JSON to stdout")
}

/// CSV with a header line; absent fields are empty.
pub(crate) fn csv(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    writeln!(out, "{}", FIELDS.join(","))?;
    for row in rows {
        let cells = raw_cells(row).map(|c| csv_cell(&c));
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn raw_cells(row: &Row) -> [String; 10] {
    let int = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        row.name.clone(),
        int(row.median_ns),
        int(row.p99_ns),
        int(row.prove_ns),
        int(row.verify_ns),
        row.per_s.map(|v| format!("{v:.1}")).unwrap_or_default(),
        int(row.size_bytes),
        int(row.gas),
        int(row.fuel),
        row.baseline.clone().unwrap_or_default(),
    ]
}

/// Quotes a cell if it holds a comma, quote or line break (RFC 4180).
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// How a table column reads its cell from a row.
type Cell = fn(&Row) -> Option<String>;

/// An aligned table of the columns any row uses, plus the verify-time ratio
/// of each row with a baseline.
pub(crate) fn table(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let mut header: Vec<&str> = vec!["name"];
    let mut cells: Vec<Vec<String>> = rows.iter().map(|r| vec![r.name.clone()]).collect();
    let columns: [(&str, Cell); 9] = [
        ("prove", |r| r.prove_ns.map(time)),
        ("verify", |r| r.verify_ns.map(time)),
        ("size", |r| r.size_bytes.map(|b| format!("{b} B"))),
        ("median", |r| r.median_ns.map(time)),
        ("p99", |r| r.p99_ns.map(time)),
        ("per s", |r| r.per_s.map(|v| format!("{v:.0}"))),
        ("gas", |r| r.gas.map(|g| g.to_string())),
        ("fuel", |r| r.fuel.map(|g| g.to_string())),
        ("baseline", |r| r.baseline.clone()),
    ];
    for (title, cell) in columns {
        let column: Vec<Option<String>> = rows.iter().map(cell).collect();
        if column.iter().all(Option::is_none) {
            continue;
        }
        header.push(title);
        for (row, c) in cells.iter_mut().zip(column) {
            row.push(c.unwrap_or_else(|| "-".into()));
        }
    }
    let ratios: Vec<Option<String>> = rows.iter().map(|r| verify_ratio(r, rows)).collect();
    if ratios.iter().any(Option::is_some) {
        header.push("verify ÷ baseline");
        for (row, c) in cells.iter_mut().zip(ratios) {
            row.push(c.unwrap_or_else(|| "-".into()));
        }
    }

    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let mut text = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            // Names left-aligned, figures right-aligned.
            if i == 0 {
                text.push_str(c);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(c);
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(out, &rule.iter().map(String::as_str).collect::<Vec<_>>())?;
    for row in &cells {
        line(out, &row.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// `row.verify_ns / baseline.verify_ns`, formatted, if both exist.
fn verify_ratio(row: &Row, rows: &[Row]) -> Option<String> {
    let base = rows
        .iter()
        .find(|b| Some(&b.name) == row.baseline.as_ref())?;
    let (v, b) = (row.verify_ns?, base.verify_ns?);
    (b > 0).then(|| format!("{:.3}", v as f64 / b as f64))
}

/// The checks against targets, then the notes, one line each.
pub(crate) fn checks(out: &mut impl Write, report: &Report) -> io::Result<()> {
    for c in &report.checks {
        let verdict = match &c.missed_by {
            None => "met".to_owned(),
            Some(by) => format!("MISSED by {by}"),
        };
        writeln!(
            out,
            "{}: {} (target {}): {verdict}",
            c.what, c.value, c.target
        )?;
    }
    for n in &report.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

/// A duration in ns, scaled to ns, µs, ms or s with three significant digits.
pub(crate) fn time(ns: u64) -> String {
    let ns = ns as f64;
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    format!("{v:.digits$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row {
                name: "ours".into(),
                prove_ns: Some(7_500_000),
                verify_ns: Some(1_050_000),
                size_bytes: Some(678),
                baseline: Some("theirs".into()),
                ..Row::default()
            },
            Row {
                name: "theirs, quoted \"x\"".into(),
                verify_ns: Some(1_000_000),
                ..Row::default()
            },
        ]
    }

    #[test]
    fn time_scales_units() {
        assert_eq!(time(999), "999 ns");
        assert_eq!(time(1_500), "1.50 µs");
        assert_eq!(time(7_512_345), "7.51 ms");
        assert_eq!(time(250_000_000), "250 ms");
        assert_eq!(time(12_000_000_000), "12.0 s");
    }

    #[test]
    fn csv_has_header_and_escapes() {
        let mut out = Vec::new();
        csv(&mut out, &rows()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], FIELDS.join(","));
        assert_eq!(lines[1], "ours,,,7500000,1050000,,678,,,theirs");
        assert_eq!(lines[2], "\"theirs, quoted \"\"x\"\"\",,,,1000000,,,,,");
    }

    #[test]
    fn json_omits_absent_fields() {
        let mut out = Vec::new();
        json(&mut out, &rows()[..1]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let mut keys: Vec<&str> = v[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["baseline", "name", "prove_ns", "size_bytes", "verify_ns"]
        );
    }

    #[test]
    fn table_aligns_and_shows_ratio() {
        let mut rows = rows();
        rows[1].name = "theirs".into();
        let mut out = Vec::new();
        table(&mut out, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("name") && lines[0].ends_with("verify ÷ baseline"));
        assert!(lines[2].ends_with("1.050"), "{text}");
        assert!(
            !lines[0].contains("median"),
            "empty columns are dropped: {text}"
        );
        // Right-aligned figures end in the same column.
        let col = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(col(lines[2], "1.05 ms"), col(lines[3], "1.00 ms"));
    }
}
