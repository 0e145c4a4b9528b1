//! What the wallboard shows: queues and agents at one instant.

use serde::Serialize;
use std::time::Duration;

use crate::acd::Acd;
use crate::agent::AgentState;
use crate::types::{AgentId, AgentStatus};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub logged_out: usize,
    pub available: usize,
    pub ringing: usize,
    pub on_call: usize,
    pub wrap_up: usize,
    pub paused: usize,
}

impl StatusCounts {
    fn add(&mut self, s: AgentStatus) {
        match s {
            AgentStatus::LoggedOut => self.logged_out += 1,
            AgentStatus::Available => self.available += 1,
            AgentStatus::Ringing => self.ringing += 1,
            AgentStatus::OnCall => self.on_call += 1,
            AgentStatus::WrapUp => self.wrap_up += 1,
            AgentStatus::Paused => self.paused += 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueSnapshot {
    pub name: String,
    /// Everyone in line, callbacks included.
    pub waiting: usize,
    /// Of those, callbacks holding a place.
    pub callbacks: usize,
    /// Of those, callers ringing an agent right now.
    pub ringing: usize,
    /// The longest wait in line now (from first arrival).
    pub longest_wait: Option<Duration>,
    /// The recent handle time (talk + wrap-up) the estimates use.
    pub average_handle: Duration,
    /// What a caller arriving now would be told.
    pub expected_wait_new: Option<Duration>,
    pub agents: StatusCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentSnapshot {
    pub id: AgentId,
    pub name: String,
    pub status: AgentStatus,
    pub since: Duration,
    pub pause_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub at: Duration,
    pub queues: Vec<QueueSnapshot>,
    pub agents: Vec<AgentSnapshot>,
}

impl Acd {
    /// Costs one pass over the waiting callers and the agents: meant for a wallboard
    /// refreshed every second or so, not for every event.
    pub fn snapshot(&self, now: Duration) -> Snapshot {
        let queues = self
            .queues
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                let mut snap = QueueSnapshot {
                    name: q.cfg.name.clone(),
                    waiting: q.line.len(),
                    callbacks: 0,
                    ringing: 0,
                    longest_wait: None,
                    average_handle: q.handle.mean(),
                    expected_wait_new: q.handle.expected_wait(q.line.len() + 1, self.staffed(qi)),
                    agents: StatusCounts::default(),
                };
                for id in q.line.values() {
                    let e = &self.entries[id];
                    snap.callbacks += usize::from(e.callback.is_some());
                    snap.ringing += usize::from(e.offer.is_some());
                    let wait = now.saturating_sub(e.enqueued_at);
                    snap.longest_wait = snap.longest_wait.max(Some(wait));
                }
                for m in &q.members {
                    snap.agents.add(self.agents[m.agent].state.status());
                }
                snap
            })
            .collect();
        let agents = self
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| AgentSnapshot {
                id: AgentId(i as u32),
                name: a.name.clone(),
                status: a.state.status(),
                since: a.since,
                pause_reason: match &a.state {
                    AgentState::Paused { reason } => Some(reason.clone()),
                    _ => a.pending_pause.clone(),
                },
            })
            .collect();
        Snapshot {
            at: now,
            queues,
            agents,
        }
    }
}
