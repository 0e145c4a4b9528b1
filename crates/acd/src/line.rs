//! Joining and leaving a queue's line, overflow, and the per-caller timers
//! (maximum wait, announcements, the end of a "do not re-offer" delay).

use std::time::Duration;

use crate::acd::Acd;
use crate::config::Overflow;
use crate::queue::Entry;
use crate::timers::Timer;
use crate::types::{AcdEvent, Action, EntryId};

impl Acd {
    /// Places the entry in queue `qi`, or overflows it if that queue is full.
    pub(crate) fn join(&mut self, id: EntryId, qi: usize, now: Duration) {
        let q = &mut self.queues[qi];
        if q.is_full() && q.cfg.overflow.is_some() {
            if let Some(e) = self.entries.get_mut(&id) {
                e.queue = qi;
            }
            self.overflow(id, now);
            return;
        }
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        e.queue = qi;
        let place = e.place();
        q.line.insert(place, id);
        q.ready.insert(place);
        if e.callback.is_none() {
            if let (Some(max), Some(_)) = (q.cfg.max_wait, &q.cfg.overflow) {
                // Counted from joining this queue: an overflow queue gets its own chance.
                let at = now + max;
                e.max_wait_at = Some(at);
                self.timers.arm(at, Timer::MaxWait(id));
            }
            if let Some(every) = q.cfg.announce_every {
                let at = now + every;
                e.announce_at = Some(at);
                self.timers.arm(at, Timer::Announce(id));
            }
        }
        self.mark_dirty(qi);
    }

    /// Removes the entry from its line and disarms its timers; the offer, if any, is
    /// left for the caller to settle.
    pub(crate) fn leave_line(&mut self, id: EntryId, e: &mut Entry) {
        let q = &mut self.queues[e.queue];
        let place = e.place();
        q.line.remove(&place);
        q.ready.remove(&place);
        self.timers
            .disarm(e.announce_at.take(), Timer::Announce(id));
        self.timers.disarm(e.max_wait_at.take(), Timer::MaxWait(id));
        self.timers.disarm(e.reoffer_at.take(), Timer::Reoffer(id));
        if let Some(o) = &e.offer {
            self.timers.disarm(Some(o.deadline), Timer::Ring(id));
        }
    }

    /// Sends a caller (not ringing anyone) to the queue's overflow target.
    pub(crate) fn overflow(&mut self, id: EntryId, now: Duration) {
        let Some(mut e) = self.entries.remove(&id) else {
            return;
        };
        let from = e.queue;
        let Some(to) = self.queues[from].cfg.overflow.clone() else {
            // Validation makes this unreachable; keep the caller rather than lose them.
            self.entries.insert(id, e);
            return;
        };
        self.leave_line(id, &mut e);
        e.expired = false;
        // Its "do not re-offer" timer was just disarmed; a new queue starts afresh.
        e.excluded.clear();
        let call = e.call;
        let wait = now.saturating_sub(e.enqueued_at);
        let from_name = self.queues[from].cfg.name.clone();
        self.emit(
            now,
            AcdEvent::CallOverflowed {
                entry: id,
                from: from_name,
                to: to.clone(),
                wait,
            },
        );
        self.actions.push_back(Action::Overflow {
            entry: id,
            call,
            to: to.clone(),
        });
        if let Overflow::Queue(name) = &to {
            // Validation guarantees the name exists and the chain has no loop.
            if let Some(&ti) = self.queue_ix.get(name) {
                self.entries.insert(id, e);
                self.join(id, ti, now);
            }
        }
    }

    pub(crate) fn max_wait_reached(&mut self, id: EntryId, now: Duration) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        e.max_wait_at = None;
        if e.offer.is_some() {
            // An agent is ringing: let that ring finish; overflow only if it fails.
            e.expired = true;
        } else {
            self.overflow(id, now);
        }
    }

    pub(crate) fn announce(&mut self, id: EntryId, now: Duration) {
        let Some(e) = self.entries.get(&id) else {
            return;
        };
        let q = &self.queues[e.queue];
        let Some(every) = q.cfg.announce_every else {
            return;
        };
        if e.callback.is_some() {
            return;
        }
        // While an agent rings, the caller hears ringback, not the please-wait message.
        if e.offer.is_none() {
            let position = q.position(e.place());
            let staffed = self.staffed(e.queue);
            let expected_wait = q.handle.expected_wait(position, staffed);
            self.actions.push_back(Action::AnnouncePosition {
                entry: id,
                call: e.call,
                position,
                expected_wait,
            });
        }
        let at = now + every;
        if let Some(e) = self.entries.get_mut(&id) {
            e.announce_at = Some(at);
            self.timers.arm(at, Timer::Announce(id));
        }
    }

    /// Agents who did not answer this caller may be offered them again.
    pub(crate) fn reoffer_delay_over(&mut self, id: EntryId, now: Duration) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        e.excluded.retain(|&(_, until)| until > now);
        e.reoffer_at = e.excluded.iter().map(|&(_, until)| until).min();
        if let Some(at) = e.reoffer_at {
            self.timers.arm(at, Timer::Reoffer(id));
        }
        if e.offer.is_none() {
            let qi = e.queue;
            self.mark_dirty(qi);
        }
    }
}
