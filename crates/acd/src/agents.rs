//! Agents' own inputs (log in/out, pause, end wrap-up) and their state changes.

use std::time::Duration;

use crate::acd::Acd;
use crate::agent::AgentState;
use crate::error::AcdError;
use crate::timers::Timer;
use crate::types::{AcdEvent, AgentId};

impl Acd {
    pub fn agent_login(&mut self, agent: AgentId, now: Duration) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        if !matches!(self.agents[a].state, AgentState::LoggedOut) {
            return Err(self.state_error(a, "log in"));
        }
        self.agents[a].idle_since = now;
        self.agents[a].pending_pause = None;
        self.set_state(a, AgentState::Available, now);
        self.dispatch(now);
        Ok(())
    }

    /// Logging out while ringing withdraws the offer without blame; while on a call it
    /// is refused (the call must end first, so it is never cut by a wrong key press).
    pub fn agent_logout(&mut self, agent: AgentId, now: Duration) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        match self.agents[a].state {
            AgentState::LoggedOut | AgentState::OnCall { .. } => {
                return Err(self.state_error(a, "log out"));
            }
            AgentState::Ringing { entry } => {
                if let Some(call) = self.entries.get(&entry).map(|e| e.call) {
                    self.actions.push_back(crate::types::Action::CancelOffer {
                        entry,
                        call,
                        agent,
                    });
                }
                self.set_state(a, AgentState::LoggedOut, now);
                self.remove_from_offer(entry, a, now);
            }
            AgentState::WrapUp { .. } => {
                self.finish_wrapup(a, now, true);
                self.set_state(a, AgentState::LoggedOut, now);
            }
            AgentState::Available | AgentState::Paused { .. } => {
                self.set_state(a, AgentState::LoggedOut, now);
            }
        }
        self.agents[a].pending_pause = None;
        self.dispatch(now);
        Ok(())
    }

    /// Pauses an available agent at once. An agent ringing, on a call or in wrap-up is
    /// paused when that work ends, so a break never cuts a call or its after-call work.
    pub fn agent_pause(
        &mut self,
        agent: AgentId,
        reason: &str,
        now: Duration,
    ) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        match self.agents[a].state {
            AgentState::LoggedOut => return Err(self.state_error(a, "pause")),
            AgentState::Available | AgentState::Paused { .. } => {
                let reason = reason.to_string();
                self.set_state(a, AgentState::Paused { reason }, now);
            }
            AgentState::Ringing { .. } | AgentState::OnCall { .. } | AgentState::WrapUp { .. } => {
                self.agents[a].pending_pause = Some(reason.to_string());
            }
        }
        Ok(())
    }

    /// Ends a pause, or cancels a pause still waiting for the current work to end.
    pub fn agent_unpause(&mut self, agent: AgentId, now: Duration) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        if matches!(self.agents[a].state, AgentState::Paused { .. }) {
            self.set_state(a, AgentState::Available, now);
            self.dispatch(now);
            Ok(())
        } else if self.agents[a].pending_pause.take().is_some() {
            Ok(())
        } else {
            Err(self.state_error(a, "unpause"))
        }
    }

    /// The agent finished after-call work before the queue's wrap-up time.
    pub fn agent_end_wrapup(&mut self, agent: AgentId, now: Duration) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        if !matches!(self.agents[a].state, AgentState::WrapUp { .. }) {
            return Err(self.state_error(a, "end wrap-up"));
        }
        self.finish_wrapup(a, now, true);
        self.become_available(a, now);
        self.dispatch(now);
        Ok(())
    }

    /// Records the handle time (talk + the wrap-up actually taken) for the estimate.
    /// The caller decides what the agent becomes next. False if not in wrap-up.
    pub(crate) fn finish_wrapup(&mut self, a: usize, now: Duration, early: bool) -> bool {
        let AgentState::WrapUp {
            queue,
            started,
            until,
            talk,
        } = self.agents[a].state
        else {
            return false;
        };
        self.timers.disarm(Some(until), Timer::WrapUp(a));
        let after = now.saturating_sub(started);
        self.queues[queue].handle.record(talk + after);
        let agent = AgentId(a as u32);
        self.emit(
            now,
            AcdEvent::WrapUpEnded {
                agent,
                after,
                early,
            },
        );
        true
    }

    /// Free again, unless a pause was asked for meanwhile.
    pub(crate) fn become_available(&mut self, a: usize, now: Duration) {
        match self.agents[a].pending_pause.take() {
            Some(reason) => self.set_state(a, AgentState::Paused { reason }, now),
            None => self.set_state(a, AgentState::Available, now),
        }
    }

    /// The one place an agent's state changes: keeps the queues' free counts right,
    /// queues the agent for dispatch when they become free, and emits the event.
    pub(crate) fn set_state(&mut self, a: usize, state: AgentState, now: Duration) {
        let agent = &mut self.agents[a];
        let from = agent.state.status();
        let was_free = agent.is_free();
        let reason = match &state {
            AgentState::Paused { reason } => Some(reason.clone()),
            _ => None,
        };
        agent.state = state;
        agent.since = now;
        let is_free = agent.is_free();
        if was_free != is_free {
            for s in &agent.seats {
                let q = &mut self.queues[s.queue];
                if is_free {
                    q.free += 1;
                } else {
                    q.free -= 1;
                }
            }
            if is_free {
                self.freed.push(a);
            }
        }
        let to = agent.state.status();
        if from != to || reason.is_some() {
            let agent = AgentId(a as u32);
            self.emit(
                now,
                AcdEvent::AgentStateChanged {
                    agent,
                    from,
                    to,
                    reason,
                },
            );
        }
    }
}
