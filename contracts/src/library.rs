//! The contract library (`contracts/examples/`), built into the crate so
//! that tests, benchmarks and `sotto bench` all read the same sources.
//! Each contract's scenarios sit beside it as `NAME.happy.toml` and
//! `NAME.dispute.toml`.

/// `(name, source)` of each library contract, in alphabetical order.
pub const LIBRARY: [(&str, &str); 7] = [
    ("auction", include_str!("../examples/auction.sotto")),
    ("escrow", include_str!("../examples/escrow.sotto")),
    ("htlc", include_str!("../examples/htlc.sotto")),
    ("negotiation", include_str!("../examples/negotiation.sotto")),
    ("oracle_bet", include_str!("../examples/oracle_bet.sotto")),
    ("payment", include_str!("../examples/payment.sotto")),
    ("rps", include_str!("../examples/rps.sotto")),
];
