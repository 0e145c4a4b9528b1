//! A queue's line of callers, kept in order of priority, then arrival.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::config::QueueConfig;
use crate::estimate::HandleTime;
use crate::types::{CallId, EntryId};

/// Place in line: higher priority first, then the order of first arrival. The arrival
/// number is kept across overflows and callbacks, so a caller never loses their place.
pub(crate) type Place = (Reverse<u8>, u64);

/// A queue member, as the strategies see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub agent: usize,
    pub tier: u8,
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub cfg: QueueConfig,
    /// Sorted by tier, then configuration order, so the first free member has the
    /// lowest tier and round-robin walks a stable order.
    pub members: Vec<Member>,
    /// Everyone in line, ringing or not: positions are counted here.
    pub line: BTreeMap<Place, EntryId>,
    /// Those in line not being offered right now: the ones dispatch may pick.
    pub ready: BTreeSet<Place>,
    /// Members currently available, so a queue without any is skipped at once.
    pub free: usize,
    /// Round-robin memory: index in `members` where the next search starts.
    pub rr_next: usize,
    pub handle: HandleTime,
}

impl Queue {
    pub(crate) fn new(cfg: QueueConfig) -> Self {
        let handle = HandleTime::new(cfg.initial_handle_time);
        Queue {
            cfg,
            members: Vec::new(),
            line: BTreeMap::new(),
            ready: BTreeSet::new(),
            free: 0,
            rr_next: 0,
            handle,
        }
    }

    /// 1 = next in line. Costs the number of callers ahead, which is fine for
    /// announcements every few seconds even with a thousand waiting.
    pub(crate) fn position(&self, place: Place) -> usize {
        self.line.range(..place).count() + 1
    }

    pub(crate) fn is_full(&self) -> bool {
        self.cfg.max_len.is_some_and(|max| self.line.len() >= max)
    }
}

/// An offer in progress: the agents ringing for one entry (several under ring-all).
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    pub agents: Vec<usize>,
    pub deadline: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub call: CallId,
    pub queue: usize,
    pub priority: u8,
    pub seq: u64,
    pub caller: String,
    /// First arrival in any queue: waits are counted from here.
    pub enqueued_at: Duration,
    pub offer: Option<Offer>,
    /// The number to call back; the caller has hung up and this entry holds the place.
    pub callback: Option<String>,
    /// Agents who did not answer this caller, and until when they are skipped.
    pub excluded: Vec<(usize, Duration)>,
    pub announce_at: Option<Duration>,
    pub max_wait_at: Option<Duration>,
    pub reoffer_at: Option<Duration>,
    /// `max_wait` passed while ringing; overflow if that ring is not answered.
    pub expired: bool,
}

impl Entry {
    pub(crate) fn place(&self) -> Place {
        (Reverse(self.priority), self.seq)
    }

    pub(crate) fn excludes(&self, agent: usize, now: Duration) -> bool {
        self.excluded
            .iter()
            .any(|&(a, until)| a == agent && until > now)
    }
}
