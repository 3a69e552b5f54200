//! Numeric outcomes (placeholder until the numeric branch lands).
