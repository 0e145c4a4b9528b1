//! Automatic call distribution for madoguchi, as a sans-IO state machine.
//!
//! The switch feeds inputs (a call joins a queue, an agent answers, a caller hangs up,
//! an agent pauses), each with the current time, and drains what to do
//! ([`Acd::poll_action`]: ring this agent, stop ringing, announce a position, overflow,
//! place a callback) and what happened ([`Acd::poll_event`], for statistics). It sleeps
//! until [`Acd::poll_timeout`] and then calls [`Acd::handle_timeout`]. Nothing here reads
//! a clock or does I/O, so a whole day of calls runs in a test in milliseconds.
//!
//! ```
//! use acd::{Acd, AcdConfig, Action, AgentConfig, CallId, QueueConfig};
//! use std::time::Duration;
//!
//! let cfg = AcdConfig {
//!     queues: vec![QueueConfig::new("main")],
//!     agents: vec![AgentConfig::new("op01", &["main"])],
//! };
//! let mut acd = Acd::new(cfg)?;
//! let op = acd.agent_id("op01")?;
//! let now = Duration::from_secs(0);
//! acd.agent_login(op, now)?;
//! let entry = acd.enqueue(CallId(7), "main", 0, "0246-22-1111".into(), now)?;
//! // The switch rings the agent...
//! assert!(matches!(acd.poll_action(), Some(Action::OfferToAgent { agent, .. }) if agent == op));
//! // ...who answers two seconds later.
//! acd.answered(entry, op, now + Duration::from_secs(2))?;
//! // Sleep until `poll_timeout()`, then call `handle_timeout(now)`; drain events for stats.
//! while let Some(event) = acd.poll_event() {
//!     println!("{:?}", event);
//! }
//! # Ok::<(), acd::AcdError>(())
//! ```
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
pub use types::{AcdEvent, Action, AgentId, AgentStatus, CallId, EntryId, OfferEnd, TimedEvent};
