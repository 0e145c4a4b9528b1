//! Automatic call distribution for madoguchi, as a sans-IO state machine.
//!
//! The switch feeds inputs (a call joins a queue, an agent answers, a caller hangs up,
//! an agent pauses), each with the current time, and drains what to do
//! ([`Acd::poll_action`]: ring this agent, stop ringing, announce a position, overflow,
//! place a callback) and what happened ([`Acd::poll_event`], for statistics). It sleeps
//! until [`Acd::poll_timeout`] and then calls [`Acd::handle_timeout`]. Nothing here reads
//! a clock or does I/O, so a whole day of calls runs in a test in milliseconds.
//!
//! Map: `config` (what can be configured, and its checks), `queue` (the line),
//! `agent` (agent state), `strategy` (which agent), `dispatch` (matching and offers),
//! `line` (joining, overflow, per-caller timers), `agents` (agent inputs),
//! `estimate` (handle time and expected wait), `snapshot` (the wallboard view).

mod acd;
mod agent;
mod agents;
mod config;
mod dispatch;
mod error;
mod estimate;
mod line;
mod queue;
mod snapshot;
mod strategy;
mod timers;
mod types;

pub use acd::Acd;
pub use config::{AcdConfig, AgentConfig, Membership, Overflow, QueueConfig, Strategy};
pub use error::AcdError;
pub use snapshot::{AgentSnapshot, QueueSnapshot, Snapshot, StatusCounts};
pub use types::{
    AcdEvent, Action, AgentId, AgentStatus, CallId, EntryId, OfferEnd, TimedEvent,
};
