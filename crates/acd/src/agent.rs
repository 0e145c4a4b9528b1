//! One agent's state as the ACD keeps it.

use std::time::Duration;

use crate::types::{AgentStatus, EntryId};

#[derive(Clone, Debug)]
pub(crate) enum AgentState {
    LoggedOut,
    Available,
    Ringing {
        entry: EntryId,
    },
    OnCall {
        entry: EntryId,
        queue: usize,
        answered_at: Duration,
    },
    WrapUp {
        queue: usize,
        started: Duration,
        until: Duration,
        talk: Duration,
    },
    Paused {
        reason: String,
    },
}

impl AgentState {
    pub(crate) fn status(&self) -> AgentStatus {
        match self {
            AgentState::LoggedOut => AgentStatus::LoggedOut,
            AgentState::Available => AgentStatus::Available,
            AgentState::Ringing { .. } => AgentStatus::Ringing,
            AgentState::OnCall { .. } => AgentStatus::OnCall,
            AgentState::WrapUp { .. } => AgentStatus::WrapUp,
            AgentState::Paused { .. } => AgentStatus::Paused,
        }
    }
}

/// An agent's membership in one queue, with the count `FewestCalls` needs.
#[derive(Clone, Debug)]
pub(crate) struct Seat {
    pub queue: usize,
    pub tier: u8,
    pub answered: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Agent {
    pub name: String,
    pub seats: Vec<Seat>,
    pub state: AgentState,
    /// When `state` last changed (for the wallboard).
    pub since: Duration,
    /// When the last call ended, or the login time: what "longest idle" compares.
    pub idle_since: Duration,
    /// A pause asked for while busy; it takes effect when the agent would become free,
    /// so pressing "pause" during a call never cuts the call or its wrap-up short.
    pub pending_pause: Option<String>,
}

impl Agent {
    pub(crate) fn new(name: String, seats: Vec<Seat>) -> Self {
        Agent {
            name,
            seats,
            state: AgentState::LoggedOut,
            since: Duration::ZERO,
            idle_since: Duration::ZERO,
            pending_pause: None,
        }
    }

    pub(crate) fn is_free(&self) -> bool {
        matches!(self.state, AgentState::Available)
    }

    /// Logged in and not paused: counts as staff for the wait estimate.
    pub(crate) fn is_staffed(&self) -> bool {
        !matches!(
            self.state,
            AgentState::LoggedOut | AgentState::Paused { .. }
        )
    }

    pub(crate) fn seat(&self, queue: usize) -> Option<&Seat> {
        self.seats.iter().find(|s| s.queue == queue)
    }

    pub(crate) fn seat_mut(&mut self, queue: usize) -> Option<&mut Seat> {
        self.seats.iter_mut().find(|s| s.queue == queue)
    }
}
