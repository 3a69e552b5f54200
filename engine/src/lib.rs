//! # sotto-engine
//!
//! The participant: the WASM sandbox that re-executes contract steps, signed
//! states, the update protocol as a pure state machine, its store, the
//! anchor chain's interface, and (next) the Noise transport, the EVM anchor
//! backends and the node. Built so far: [`sandbox`]; [`play`], which plays a
//! scenario in one process over it; [`state`], channel parameters, states
//! and their signatures; [`channel`], the update protocol (one step, the
//! state machine, messages, wire format, the in-process harness);
//! [`store`], SQLite and in-memory stores behind one trait; [`anchor`],
//! the chain as the protocol sees it, with an in-memory adjudicator;
//! [`run`], a scenario played through the whole protocol;
//! [`draw`], random call inputs for tests; and [`fuzzing`], the bodies of
//! its fuzz targets. The crate depends on `sotto-contracts` and
//! `sotto-circuits`, never the other way.
#![deny(missing_docs)]

pub mod anchor;
pub mod channel;
pub mod devnet;
pub mod draw;
pub mod fuzzing;
pub mod net;
pub mod node;
pub mod oracle;
pub mod play;
pub mod run;
pub mod sandbox;
pub mod state;
pub mod store;
