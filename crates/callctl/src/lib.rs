//! callctl: the call as a sans-IO state machine (DESIGN: one owner per call, time as an
//! input). A `Call` owns its legs (citizen, operator, department, outside party), their
//! SIP dialogs and offer/answer state; it is driven by `handle(input, now)` and drained by
//! `poll_output()`. It reads no clock and touches no socket: the switch's call task is a
//! thin driver that turns outputs into transactions, relay commands and queue messages.

pub mod event;

pub use event::{CallUid, Event, EventKind};
