//! Diagnostics: what the compiler tells an author, with where and how to fix it.
//!
//! A [`Diagnostic`] has a stable code (`E0001`, documented in
//! docs/language.md), a severity, a message, a primary span with its label,
//! secondary labels and an optional hint. [`render`] draws it with the
//! source around it (ariadne), as rustc users expect. Rendering is plain
//! text (no colour) so that snapshots are stable.

use std::fmt::Write as _;
use std::ops::Range;

/// A byte range in the source text.
pub type Span = Range<usize>;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The contract is rejected.
    Error,
    /// The contract builds, but probably not as intended.
    Warning,
}

/// One finding of the compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, for example `E0001`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where, and what is wrong there.
    pub primary: (Span, String),
    /// Other places involved, each with what it contributes.
    pub labels: Vec<(Span, String)>,
    /// How to fix it, where that is known.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error with a primary label.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: (span, label.into()),
            labels: Vec::new(),
            hint: None,
        }
    }

    /// A warning with a primary label.
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message, span, label)
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error (the contract is rejected).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Renders diagnostics with source context, as plain text.
///
/// Spans are clamped to the source, so a diagnostic can never make the
/// renderer panic.
pub fn render(path: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};
    let clamp = |s: &Span| {
        let end = s.end.min(source.len());
        s.start.min(end)..end
    };
    let mut out = String::new();
    for d in diagnostics {
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let primary = clamp(&d.primary.0);
        let mut labels: Vec<(Span, &str)> =
            std::iter::once((primary.clone(), d.primary.1.as_str()))
                .chain(d.labels.iter().map(|(s, l)| (clamp(s), l.as_str())))
                .collect();
        // ariadne starts a new section when a label lies on an earlier line
        // than the one before it, so give it the labels in source order.
        labels.sort_by_key(|(s, _)| s.start);
        // Spans are byte offsets; ariadne counts characters unless told.
        let mut report = Report::build(kind, (path, primary))
            .with_config(
                Config::default()
                    .with_color(false)
                    .with_index_type(IndexType::Byte),
            )
            .with_code(d.code)
            .with_message(&d.message);
        for (span, label) in labels {
            report = report.with_label(Label::new((path, span)).with_message(label));
        }
        if let Some(hint) = &d.hint {
            report = report.with_help(hint);
        }
        let mut buf = Vec::new();
        if report
            .finish()
            .write((path, Source::from(source)), &mut buf)
            .is_ok()
        {
            out.push_str(&String::from_utf8_lossy(&buf));
        } else {
            // Rendering is best effort; never lose the diagnostic itself.
            let _ = writeln!(out, "{}[{}]: {}", kind_name(d.severity), d.code, d.message);
        }
    }
    out
}

fn kind_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
