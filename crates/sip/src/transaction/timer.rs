//! T1/T2/T4 (RFC 3261 §17.1.1.1, Table 4) and the queue of armed deadlines.
//!
//! Every transaction has at most two timers armed at once: a retransmission timer (A, E,
//! G, or the §13.3.1.4 2xx retransmission) and a lifetime timer (B, D, F, H, I, J, K, L,
//! M). Which letter a slot means follows from the transaction's state, so the queue only
//! stores (deadline, transaction, slot) and stays exact: disarming removes the entry.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The protocol timer bases. RFC 3261 Table 4 defaults: T1 500 ms (RTT estimate),
/// T2 4 s (cap for non-INVITE retransmissions), T4 5 s (max time a message lives in
/// the network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64*T1: Timers B, F, H, J, L, M (§17, RFC 6026).
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }
    /// Timer D: "at least 32 seconds" on unreliable transports, zero on reliable
    /// (§17.1.1.2). Kept at 64*T1 when T1 is raised, so it never undercuts Timer B's
    /// window for response retransmissions.
    pub fn timer_d(&self) -> Duration {
        Duration::from_secs(32).max(self.t1x64())
    }
}

/// Which of the two per-transaction timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Slot {
    Retransmit,
    Lifetime,
}

/// The deadlines one transaction has armed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Armed {
    pub retransmit: Option<Instant>,
    pub lifetime: Option<Instant>,
}

impl Armed {
    pub fn get(&self, slot: Slot) -> Option<Instant> {
        match slot {
            Slot::Retransmit => self.retransmit,
            Slot::Lifetime => self.lifetime,
        }
    }
    pub fn clear(&mut self, slot: Slot) {
        match slot {
            Slot::Retransmit => self.retransmit = None,
            Slot::Lifetime => self.lifetime = None,
        }
    }
}

/// Which table a transaction lives in; the u64 is the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TxRef {
    Client(u64),
    Server(u64),
}

/// All armed deadlines of the layer, earliest first.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    set: BTreeSet<(Instant, TxRef, Slot)>,
}

impl TimerQueue {
    /// Bring the queue in line with a transaction's timers after it handled an event.
    pub fn sync(&mut self, tx: TxRef, before: Armed, after: Armed) {
        for slot in [Slot::Retransmit, Slot::Lifetime] {
            let (b, a) = (before.get(slot), after.get(slot));
            if b == a {
                continue;
            }
            if let Some(t) = b {
                self.set.remove(&(t, tx, slot));
            }
            if let Some(t) = a {
                self.set.insert((t, tx, slot));
            }
        }
    }

    pub fn earliest(&self) -> Option<Instant> {
        self.set.first().map(|e| e.0)
    }

    /// Remove and return the earliest entry due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TxRef, Slot)> {
        match self.set.first() {
            Some(&(t, tx, slot)) if t <= now => {
                self.set.remove(&(t, tx, slot));
                Some((tx, slot))
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }
}
