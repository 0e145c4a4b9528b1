//! Identifiers, agent statuses, and what the ACD tells its driver: actions and events.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

use crate::config::Overflow;

/// The switch's identifier for a call; the ACD only carries it back in actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CallId(pub u64);

/// One stay of one call in the ACD, from `enqueue` to answer, abandon or overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EntryId(pub u64);

/// An agent, numbered in the order of `AcdConfig::agents` (see `Acd::agent_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AgentId(pub u32);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {}", self.0)
    }
}
impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an agent is doing, without the details (for events, errors and the wallboard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AgentStatus {
    LoggedOut,
    Available,
    Ringing,
    OnCall,
    WrapUp,
    Paused,
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgentStatus::LoggedOut => "logged out",
            AgentStatus::Available => "available",
            AgentStatus::Ringing => "ringing",
            AgentStatus::OnCall => "on a call",
            AgentStatus::WrapUp => "in wrap-up",
            AgentStatus::Paused => "paused",
        })
    }
}

/// Something the switch must do now. Drained with `Acd::poll_action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Ring `agent` with the waiting caller; report `answered` or `rejected`.
    /// The ACD cancels the offer itself after `ring_timeout`.
    OfferToAgent {
        entry: EntryId,
        call: CallId,
        agent: AgentId,
        ring_timeout: Duration,
    },
    /// Stop ringing `agent` for this entry (timeout, caller gone, or another agent answered).
    CancelOffer {
        entry: EntryId,
        call: CallId,
        agent: AgentId,
    },
    /// A callback reached the front: ring `agent` first, and once they answer, call
    /// `number` through the carrier trunk. Report `answered` when the agent picks up.
    PlaceCallback {
        entry: EntryId,
        call: CallId,
        agent: AgentId,
        number: String,
        ring_timeout: Duration,
    },
    /// Play the please-wait message with the caller's place and the estimate
    /// (`None` when no agent is staffed, so no honest estimate exists).
    AnnouncePosition {
        entry: EntryId,
        call: CallId,
        position: usize,
        expected_wait: Option<Duration>,
    },
    /// The entry left its queue. For `Overflow::Queue` the ACD has already placed it in
    /// that queue (same `EntryId`); otherwise the entry is gone and the switch routes it.
    Overflow {
        entry: EntryId,
        call: CallId,
        to: Overflow,
    },
}

/// Why an offer ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OfferEnd {
    /// The ring timeout passed.
    NoAnswer,
    /// The agent declined (or their phone was busy or unreachable).
    Rejected,
}

/// Every state change, for statistics and the wallboard. Drained with `Acd::poll_event`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AcdEvent {
    CallEnqueued {
        entry: EntryId,
        call: CallId,
        queue: String,
        priority: u8,
    },
    CallOffered {
        entry: EntryId,
        agent: AgentId,
    },
    OfferFailed {
        entry: EntryId,
        agent: AgentId,
        why: OfferEnd,
    },
    /// `wait` counts from the first `enqueue`, across overflows between queues.
    CallAnswered {
        entry: EntryId,
        agent: AgentId,
        queue: String,
        wait: Duration,
    },
    CallEnded {
        entry: EntryId,
        agent: AgentId,
        talk: Duration,
    },
    /// `position` is the caller's place (1 = next) when they hung up.
    CallAbandoned {
        entry: EntryId,
        queue: String,
        wait: Duration,
        position: usize,
    },
    CallOverflowed {
        entry: EntryId,
        from: String,
        to: Overflow,
        wait: Duration,
    },
    AgentStateChanged {
        agent: AgentId,
        from: AgentStatus,
        to: AgentStatus,
        /// The pause reason when `to` is `Paused`.
        reason: Option<String>,
    },
    WrapUpEnded {
        agent: AgentId,
        after: Duration,
        early: bool,
    },
    CallbackRequested {
        entry: EntryId,
        number: String,
    },
    CallbackPlaced {
        entry: EntryId,
        agent: AgentId,
    },
}

/// An event and the time it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedEvent {
    pub at: Duration,
    pub event: AcdEvent,
}
