//! The SIP stack of madoguchi (RFC 3261 and friends).
//!
//! Layers, bottom up: `message` (parse/render), `validate` (what to answer to a bad
//! request), `transport` (UDP/TCP sockets, the only part that does I/O), `transaction`
//! (the four §17 state machines, sans-IO), `dialog` (§12), `auth` (digest, §22 /
//! RFC 8760) and `registrar` (§10).

pub mod auth;
pub mod dialog;
pub mod message;
pub mod registrar;
pub mod transaction;
pub mod transport;
pub mod validate;

pub use message::*;
pub use transaction::{Peer, TransportKind};
