//! Matching callers to agents, and the life of an offer (ringing → answered or failed).
//!
//! The invariant kept after every input: no ready caller has a free agent it may be
//! offered to. So when one agent frees, the best caller *for that agent* is the right
//! match, and when one caller arrives, the queue's strategy picks among the free agents.

use std::cmp::Reverse;
use std::ops::Bound;
use std::time::Duration;

use crate::acd::Acd;
use crate::agent::AgentState;
use crate::queue::{Offer, Place};
use crate::strategy;
use crate::timers::Timer;
use crate::types::{AcdEvent, Action, AgentId, CallId, EntryId, OfferEnd};

/// How a freed agent ranks callers across their queues: their tier there, then the
/// caller's priority, first arrival time and arrival order.
type Preference = (u8, Reverse<u8>, Duration, u64);

impl Acd {
    /// Matches freed agents first (they choose across their queues by tier), then
    /// callers newly ready in their queues.
    pub(crate) fn dispatch(&mut self, now: Duration) {
        loop {
            if let Some(a) = self.freed.pop() {
                self.dispatch_agent(a, now);
            } else if let Some(q) = self.dirty.pop() {
                self.dirty_flag[q] = false;
                self.dispatch_queue(q, now);
            } else {
                break;
            }
        }
    }

    pub(crate) fn mark_dirty(&mut self, q: usize) {
        if !self.dirty_flag[q] {
            self.dirty_flag[q] = true;
            self.dirty.push(q);
        }
    }

    /// An agent in several queues serves where their tier is lowest, then the caller
    /// with the highest priority, then the one who arrived first.
    fn dispatch_agent(&mut self, a: usize, now: Duration) {
        while self.agents[a].is_free() {
            let mut best: Option<(Preference, EntryId)> = None;
            for seat in &self.agents[a].seats {
                let q = &self.queues[seat.queue];
                let first = q.ready.iter().find_map(|place| {
                    let id = q.line[place];
                    let e = &self.entries[&id];
                    (!e.excludes(a, now)).then_some((place, id, e.enqueued_at))
                });
                if let Some((place, id, at)) = first {
                    let key = (seat.tier, place.0, at, place.1);
                    if best.as_ref().is_none_or(|(k, _)| key < *k) {
                        best = Some((key, id));
                    }
                }
            }
            let Some((_, id)) = best else { break };
            // The queue's strategy decides among all its free agents (ring-all rings
            // them all); this agent is among them, so someone is always offered.
            if !self.try_offer(id, now) {
                break;
            }
        }
    }

    /// Offers ready callers in order while the queue has free agents.
    fn dispatch_queue(&mut self, qi: usize, now: Duration) {
        let mut cursor: Option<Place> = None;
        while self.queues[qi].free > 0 {
            let ready = &self.queues[qi].ready;
            let next = match cursor {
                None => ready.first().copied(),
                Some(c) => ready
                    .range((Bound::Excluded(c), Bound::Unbounded))
                    .next()
                    .copied(),
            };
            let Some(place) = next else { break };
            cursor = Some(place);
            let id = self.queues[qi].line[&place];
            self.try_offer(id, now);
        }
    }

    fn try_offer(&mut self, id: EntryId, now: Duration) -> bool {
        let mut out = std::mem::take(&mut self.scratch);
        let e = &self.entries[&id];
        let single = e.callback.is_some();
        strategy::choose(
            &mut self.queues[e.queue],
            &self.agents,
            e,
            now,
            single,
            &mut out,
        );
        let offered = !out.is_empty();
        if offered {
            self.offer(id, &out, now);
        }
        self.scratch = out;
        offered
    }

    fn offer(&mut self, id: EntryId, agents: &[usize], now: Duration) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        let q = &mut self.queues[e.queue];
        q.ready.remove(&e.place());
        let ring_timeout = q.cfg.ring_timeout;
        let deadline = now + ring_timeout;
        e.offer = Some(Offer {
            agents: agents.to_vec(),
            deadline,
        });
        let (call, callback) = (e.call, e.callback.clone());
        self.timers.arm(deadline, Timer::Ring(id));
        for &a in agents {
            self.set_state(a, AgentState::Ringing { entry: id }, now);
            let agent = AgentId(a as u32);
            match &callback {
                Some(number) => {
                    self.actions.push_back(Action::PlaceCallback {
                        entry: id,
                        call,
                        agent,
                        number: number.clone(),
                        ring_timeout,
                    });
                    self.emit(now, AcdEvent::CallbackPlaced { entry: id, agent });
                }
                None => {
                    self.actions.push_back(Action::OfferToAgent {
                        entry: id,
                        call,
                        agent,
                        ring_timeout,
                    });
                    self.emit(now, AcdEvent::CallOffered { entry: id, agent });
                }
            }
        }
    }

    /// Stops one agent's ringing with no blame (caller gone, or someone else answered).
    pub(crate) fn cancel_ring(&mut self, entry: EntryId, call: CallId, a: usize, now: Duration) {
        let agent = AgentId(a as u32);
        self.actions
            .push_back(Action::CancelOffer { entry, call, agent });
        self.become_available(a, now);
    }

    pub(crate) fn ring_timed_out(&mut self, id: EntryId, now: Duration) {
        let Some(e) = self.entries.get(&id) else {
            return;
        };
        let Some(offer) = &e.offer else { return };
        let call = e.call;
        for a in offer.agents.clone() {
            let agent = AgentId(a as u32);
            self.actions.push_back(Action::CancelOffer {
                entry: id,
                call,
                agent,
            });
            self.offer_failed(id, a, OfferEnd::NoAnswer, now);
        }
    }

    /// The agent did not take the caller: skip them for this caller for a while, pause
    /// them if the queue says so, and put the caller back in line once nobody rings.
    pub(crate) fn offer_failed(&mut self, id: EntryId, a: usize, why: OfferEnd, now: Duration) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        let qi = e.queue;
        let cfg = &self.queues[qi].cfg;
        let pause = cfg.pause_on_no_answer.clone();
        if !cfg.reoffer_delay.is_zero() {
            let until = now + cfg.reoffer_delay;
            e.excluded.push((a, until));
            if e.reoffer_at.is_none() {
                e.reoffer_at = Some(until);
                self.timers.arm(until, Timer::Reoffer(id));
            }
        }
        let agent = AgentId(a as u32);
        self.emit(
            now,
            AcdEvent::OfferFailed {
                entry: id,
                agent,
                why,
            },
        );
        match pause {
            Some(reason) => {
                // A pause the agent asked for themselves keeps its own reason.
                let reason = self.agents[a].pending_pause.take().unwrap_or(reason);
                self.set_state(a, AgentState::Paused { reason }, now);
            }
            None => self.become_available(a, now),
        }
        self.remove_from_offer(id, a, now);
    }

    /// Takes `a` off the entry's offer; when nobody rings any more the caller is ready
    /// again, or overflows if their maximum wait passed during the ring.
    pub(crate) fn remove_from_offer(&mut self, id: EntryId, a: usize, now: Duration) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        let Some(offer) = &mut e.offer else { return };
        offer.agents.retain(|&x| x != a);
        if !offer.agents.is_empty() {
            return;
        }
        let deadline = offer.deadline;
        e.offer = None;
        self.timers.disarm(Some(deadline), Timer::Ring(id));
        if e.expired {
            self.overflow(id, now);
        } else {
            let (qi, place) = (e.queue, e.place());
            self.queues[qi].ready.insert(place);
            self.mark_dirty(qi);
        }
    }
}
