//! Oracles: numeric outcomes attested digit by digit (placeholder doc line).

pub mod numeric;
