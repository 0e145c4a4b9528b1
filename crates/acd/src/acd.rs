//! The ACD state machine and its call-side inputs. Agent inputs are in `agents.rs`,
//! the matching of callers to agents in `dispatch.rs`.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::agent::{Agent, AgentState, Seat};
use crate::config::AcdConfig;
use crate::error::AcdError;
use crate::queue::{Entry, Member, Queue};
use crate::timers::{Timer, Timers};
use crate::types::{AcdEvent, Action, AgentId, AgentStatus, CallId, EntryId, OfferEnd, TimedEvent};

/// Automatic call distribution as a pure state machine: every input carries `now`
/// (time since any fixed epoch the driver chooses), and the outputs are drained with
/// `poll_action` and `poll_event`. Call `handle_timeout` when `poll_timeout` is reached.
#[derive(Debug)]
pub struct Acd {
    pub(crate) queues: Vec<Queue>,
    pub(crate) queue_ix: HashMap<String, usize>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) agent_ix: HashMap<String, usize>,
    pub(crate) entries: HashMap<EntryId, Entry>,
    pub(crate) timers: Timers,
    pub(crate) actions: VecDeque<Action>,
    pub(crate) events: VecDeque<TimedEvent>,
    next_entry: u64,
    /// Arrival order, shared by all queues so an overflowed caller can be placed fairly.
    next_seq: u64,
    /// Agents that just became available, matched before new callers.
    pub(crate) freed: Vec<usize>,
    /// Queues with callers that just became ready.
    pub(crate) dirty: Vec<usize>,
    pub(crate) dirty_flag: Vec<bool>,
    pub(crate) scratch: Vec<usize>,
}

impl Acd {
    /// Builds the ACD; every agent starts logged out. Refuses a wrong configuration.
    pub fn new(cfg: AcdConfig) -> Result<Self, AcdError> {
        cfg.validate()?;
        let queue_ix: HashMap<String, usize> = cfg
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.name.clone(), i))
            .collect();
        let mut queues: Vec<Queue> = cfg.queues.into_iter().map(Queue::new).collect();
        let mut agents = Vec::with_capacity(cfg.agents.len());
        let mut agent_ix = HashMap::new();
        for (i, a) in cfg.agents.into_iter().enumerate() {
            let seats: Vec<Seat> = a
                .queues
                .iter()
                .map(|m| Seat {
                    queue: queue_ix[&m.queue],
                    tier: m.tier,
                    answered: 0,
                })
                .collect();
            for s in &seats {
                queues[s.queue].members.push(Member {
                    agent: i,
                    tier: s.tier,
                });
            }
            agent_ix.insert(a.name.clone(), i);
            agents.push(Agent::new(a.name, seats));
        }
        for q in &mut queues {
            // Stable: equal tiers keep configuration order, which round-robin follows.
            q.members.sort_by_key(|m| m.tier);
        }
        let n = queues.len();
        Ok(Acd {
            queues,
            queue_ix,
            agents,
            agent_ix,
            entries: HashMap::new(),
            timers: Timers::default(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            next_entry: 1,
            next_seq: 0,
            freed: Vec::new(),
            dirty: Vec::new(),
            dirty_flag: vec![false; n],
            scratch: Vec::new(),
        })
    }

    /// The id of the agent configured under `name`.
    pub fn agent_id(&self, name: &str) -> Result<AgentId, AcdError> {
        self.agent_ix
            .get(name)
            .map(|&i| AgentId(i as u32))
            .ok_or_else(|| AcdError::UnknownAgent(name.to_string()))
    }

    pub fn agent_name(&self, agent: AgentId) -> Option<&str> {
        self.agents.get(agent.0 as usize).map(|a| a.name.as_str())
    }

    pub fn agent_status(&self, agent: AgentId) -> Option<AgentStatus> {
        self.agents.get(agent.0 as usize).map(|a| a.state.status())
    }

    /// Callers currently held by the ACD, in all queues (callbacks included).
    pub fn waiting_count(&self) -> usize {
        self.entries.len()
    }

    /// Puts a call in line. `priority`: higher goes first (e.g. 0 citizens, 5 city staff
    /// dialling "9", 7 calls transferred back from a department); FIFO within a priority.
    /// A full queue overflows at once: the entry is returned and an `Overflow` action says
    /// where the call goes.
    pub fn enqueue(
        &mut self,
        call: CallId,
        queue: &str,
        priority: u8,
        caller: String,
        now: Duration,
    ) -> Result<EntryId, AcdError> {
        self.enqueue_entry(call, queue, priority, caller, None, now)
    }

    /// Puts a callback in line for a caller who is not on the line (the node that held
    /// their call died, and this one calls them back): like `enqueue` followed by
    /// `request_callback`, but it can never be offered as a call in between.
    pub fn enqueue_callback(
        &mut self,
        call: CallId,
        queue: &str,
        priority: u8,
        caller: String,
        number: String,
        now: Duration,
    ) -> Result<EntryId, AcdError> {
        self.enqueue_entry(call, queue, priority, caller, Some(number), now)
    }

    fn enqueue_entry(
        &mut self,
        call: CallId,
        queue: &str,
        priority: u8,
        caller: String,
        callback: Option<String>,
        now: Duration,
    ) -> Result<EntryId, AcdError> {
        let qi = *self
            .queue_ix
            .get(queue)
            .ok_or_else(|| AcdError::UnknownQueue(queue.to_string()))?;
        let id = EntryId(self.next_entry);
        self.next_entry += 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            id,
            Entry {
                call,
                queue: qi,
                priority,
                seq,
                caller,
                enqueued_at: now,
                offer: None,
                callback: callback.clone(),
                excluded: Vec::new(),
                announce_at: None,
                max_wait_at: None,
                reoffer_at: None,
                expired: false,
            },
        );
        self.emit(
            now,
            AcdEvent::CallEnqueued {
                entry: id,
                call,
                queue: queue.to_string(),
                priority,
            },
        );
        if let Some(number) = callback {
            self.emit(now, AcdEvent::CallbackRequested { entry: id, number });
        }
        self.join(id, qi, now);
        self.dispatch(now);
        Ok(id)
    }

    /// The caller hung up (while waiting or while an agent was ringing), or a callback
    /// was withdrawn.
    pub fn abandon(&mut self, entry: EntryId, now: Duration) -> Result<(), AcdError> {
        let mut e = self
            .entries
            .remove(&entry)
            .ok_or(AcdError::UnknownEntry(entry))?;
        let position = self.queues[e.queue].position(e.place());
        self.leave_line(entry, &mut e);
        if let Some(offer) = e.offer.take() {
            for a in offer.agents {
                self.cancel_ring(entry, e.call, a, now);
            }
        }
        let wait = now.saturating_sub(e.enqueued_at);
        let queue = self.queues[e.queue].cfg.name.clone();
        self.emit(
            now,
            AcdEvent::CallAbandoned {
                entry,
                queue,
                wait,
                position,
            },
        );
        self.dispatch(now);
        Ok(())
    }

    /// `agent` picked up the offer for `entry`. Other agents ringing for it are cancelled.
    /// Fails if the offer is no longer current (it timed out or the caller left): the
    /// switch must then drop the agent's leg.
    pub fn answered(
        &mut self,
        entry: EntryId,
        agent: AgentId,
        now: Duration,
    ) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        self.check_offered(entry, a)?;
        let Some(mut e) = self.entries.remove(&entry) else {
            return Err(AcdError::UnknownEntry(entry));
        };
        self.leave_line(entry, &mut e);
        if let Some(offer) = e.offer.take() {
            for other in offer.agents.into_iter().filter(|&o| o != a) {
                self.cancel_ring(entry, e.call, other, now);
            }
        }
        if let Some(seat) = self.agents[a].seat_mut(e.queue) {
            seat.answered += 1;
        }
        let state = AgentState::OnCall {
            entry,
            queue: e.queue,
            answered_at: now,
        };
        self.set_state(a, state, now);
        let queue = self.queues[e.queue].cfg.name.clone();
        let wait = now.saturating_sub(e.enqueued_at);
        self.emit(
            now,
            AcdEvent::CallAnswered {
                entry,
                agent,
                queue,
                wait,
            },
        );
        self.dispatch(now);
        Ok(())
    }

    /// `agent` declined the offer (or was busy or unreachable): try the next agent.
    pub fn rejected(
        &mut self,
        entry: EntryId,
        agent: AgentId,
        now: Duration,
    ) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        self.check_offered(entry, a)?;
        self.offer_failed(entry, a, OfferEnd::Rejected, now);
        self.dispatch(now);
        Ok(())
    }

    /// The agent's call ended (hang-up or transfer): wrap-up starts, if the queue has any.
    pub fn call_ended(&mut self, agent: AgentId, now: Duration) -> Result<(), AcdError> {
        let a = self.agent_index(agent)?;
        let AgentState::OnCall {
            entry,
            queue,
            answered_at,
        } = self.agents[a].state
        else {
            return Err(self.state_error(a, "end a call"));
        };
        let talk = now.saturating_sub(answered_at);
        self.agents[a].idle_since = now;
        self.emit(now, AcdEvent::CallEnded { entry, agent, talk });
        let wrapup = self.queues[queue].cfg.wrapup;
        if wrapup.is_zero() {
            self.queues[queue].handle.record(talk);
            self.become_available(a, now);
        } else {
            let until = now + wrapup;
            let state = AgentState::WrapUp {
                queue,
                started: now,
                until,
                talk,
            };
            self.set_state(a, state, now);
            self.timers.arm(until, Timer::WrapUp(a));
        }
        self.dispatch(now);
        Ok(())
    }

    /// The caller pressed the callback key and will hang up; the entry keeps its place
    /// and, at the front, becomes a `PlaceCallback` to `number`.
    pub fn request_callback(
        &mut self,
        entry: EntryId,
        number: String,
        now: Duration,
    ) -> Result<(), AcdError> {
        let e = self
            .entries
            .get_mut(&entry)
            .ok_or(AcdError::UnknownEntry(entry))?;
        if e.offer.is_some() {
            return Err(AcdError::EntryRinging(entry));
        }
        if e.callback.is_some() {
            return Err(AcdError::AlreadyCallback(entry));
        }
        e.callback = Some(number.clone());
        // Nobody is listening and nobody is holding: no announcements, no max wait.
        self.timers
            .disarm(e.announce_at.take(), Timer::Announce(entry));
        self.timers
            .disarm(e.max_wait_at.take(), Timer::MaxWait(entry));
        self.emit(now, AcdEvent::CallbackRequested { entry, number });
        Ok(())
    }

    /// The caller's place in their queue, 1 = next.
    pub fn position(&self, entry: EntryId) -> Option<usize> {
        let e = self.entries.get(&entry)?;
        Some(self.queues[e.queue].position(e.place()))
    }

    /// Estimated wait from here: position × recent handle time ÷ staffed agents.
    pub fn expected_wait(&self, entry: EntryId) -> Option<Duration> {
        let e = self.entries.get(&entry)?;
        let q = &self.queues[e.queue];
        let staffed = self.staffed(e.queue);
        q.handle.expected_wait(q.position(e.place()), staffed)
    }

    /// The caller number given at `enqueue` (for the agent's screen).
    pub fn caller(&self, entry: EntryId) -> Option<&str> {
        self.entries.get(&entry).map(|e| e.caller.as_str())
    }

    /// The next deadline at which `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next()
    }

    /// Runs every timer due at `now`: ring timeouts, wrap-up ends, max waits,
    /// announcements, and the end of "do not re-offer" delays.
    pub fn handle_timeout(&mut self, now: Duration) {
        while let Some(t) = self.timers.pop_due(now) {
            match t {
                Timer::Ring(id) => self.ring_timed_out(id, now),
                Timer::WrapUp(a) => {
                    if self.finish_wrapup(a, now, false) {
                        self.become_available(a, now);
                    }
                }
                Timer::MaxWait(id) => self.max_wait_reached(id, now),
                Timer::Announce(id) => self.announce(id, now),
                Timer::Reoffer(id) => self.reoffer_delay_over(id, now),
            }
        }
        self.dispatch(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TimedEvent> {
        self.events.pop_front()
    }

    // ---- helpers shared with the other modules ----

    pub(crate) fn emit(&mut self, at: Duration, event: AcdEvent) {
        self.events.push_back(TimedEvent { at, event });
    }

    pub(crate) fn agent_index(&self, agent: AgentId) -> Result<usize, AcdError> {
        let i = agent.0 as usize;
        if i < self.agents.len() {
            Ok(i)
        } else {
            Err(AcdError::UnknownAgent(agent.to_string()))
        }
    }

    pub(crate) fn state_error(&self, a: usize, action: &'static str) -> AcdError {
        AcdError::AgentState {
            agent: self.agents[a].name.clone(),
            status: self.agents[a].state.status(),
            action,
        }
    }

    fn check_offered(&self, entry: EntryId, a: usize) -> Result<(), AcdError> {
        let e = self
            .entries
            .get(&entry)
            .ok_or(AcdError::UnknownEntry(entry))?;
        if e.offer.as_ref().is_some_and(|o| o.agents.contains(&a)) {
            Ok(())
        } else {
            Err(AcdError::NotOffered {
                entry,
                agent: self.agents[a].name.clone(),
            })
        }
    }

    pub(crate) fn staffed(&self, queue: usize) -> usize {
        self.queues[queue]
            .members
            .iter()
            .filter(|m| self.agents[m.agent].is_staffed())
            .count()
    }
}
