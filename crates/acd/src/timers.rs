//! Deadlines the ACD asks to be woken for; the driver sleeps until `Acd::poll_timeout`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::types::EntryId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Ring(EntryId),
    MaxWait(EntryId),
    Announce(EntryId),
    Reoffer(EntryId),
    WrapUp(usize),
}

/// Ordered by deadline; each owner keeps its deadline so it can disarm exactly.
#[derive(Default, Debug)]
pub(crate) struct Timers {
    set: BTreeSet<(Duration, Timer)>,
}

impl Timers {
    pub(crate) fn arm(&mut self, at: Duration, t: Timer) {
        self.set.insert((at, t));
    }

    pub(crate) fn disarm(&mut self, at: Option<Duration>, t: Timer) {
        if let Some(at) = at {
            self.set.remove(&(at, t));
        }
    }

    pub(crate) fn next(&self) -> Option<Duration> {
        self.set.first().map(|(at, _)| *at)
    }

    pub(crate) fn pop_due(&mut self, now: Duration) -> Option<Timer> {
        match self.set.first() {
            Some((at, _)) if *at <= now => self.set.pop_first().map(|(_, t)| t),
            _ => None,
        }
    }
}
