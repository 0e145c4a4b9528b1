//! Admission control by lateness: how long a message that arrives now will wait before
//! the SIP core reads it. Little's law gives it from what the core can see without a
//! stamp on every message: the backlog in its inboxes times the time the core takes
//! per message (a moving average). Beyond a limit the core refuses new calls with 503
//! and Retry-After (RFC 3261 §21.5.4) at once, instead of letting every caller's timers
//! fire: a late core makes callers retransmit (T1 = 500 ms, §17.1.1.2), the
//! retransmissions deepen the backlog, and throughput collapses (issue 10).
//! Time is an input: the core passes what it measured.

use std::time::Duration;

/// The moving average of the core's time per message, and the limit.
#[derive(Debug)]
pub struct Admission {
    /// Exponentially weighted (1/8, like TCP's SRTT, RFC 6298 §2) time per message.
    per_message: Duration,
    limit: Duration,
}

impl Admission {
    pub fn new(limit: Duration) -> Admission {
        Admission {
            per_message: Duration::ZERO,
            limit,
        }
    }

    /// The core spent `took` on one message (and the work it caused).
    pub fn observe(&mut self, took: Duration) {
        // Saturating: one pathological stall must not wrap the average.
        let took = took.min(Duration::from_secs(1));
        self.per_message = self.per_message * 7 / 8 + took / 8;
    }

    /// The wait of a message arriving behind `backlog` others.
    pub fn delay(&self, backlog: usize) -> Duration {
        self.per_message
            .saturating_mul(u32::try_from(backlog).unwrap_or(u32::MAX))
    }

    /// Whether a new call must be refused now.
    pub fn overloaded(&self, backlog: usize) -> bool {
        self.delay(backlog) > self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_while_the_backlog_is_late() {
        let mut a = Admission::new(Duration::from_millis(100));
        for _ in 0..64 {
            a.observe(Duration::from_micros(200));
        }
        // 200 µs per message: 400 queued messages wait 80 ms, 600 wait 120 ms.
        assert!(!a.overloaded(400));
        assert!(a.overloaded(600));
        // The backlog drained: admit again at once, whatever the average.
        assert!(!a.overloaded(0));
    }

    #[test]
    fn the_average_follows_the_core_and_ignores_one_stall() {
        let mut a = Admission::new(Duration::from_millis(100));
        a.observe(Duration::from_secs(3600));
        assert!(a.delay(1) <= Duration::from_millis(125));
        for _ in 0..200 {
            a.observe(Duration::from_micros(50));
        }
        assert!(
            a.delay(1000) < Duration::from_millis(60),
            "{:?}",
            a.delay(1000)
        );
    }
}
