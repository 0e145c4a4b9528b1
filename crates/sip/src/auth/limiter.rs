//! Failed-authentication limiting per source address, against password guessing
//! (the "friendly-scanner" floods every public SIP server sees). Sans-IO: the caller
//! passes `now` and decides what a block means (403 without a challenge, or a silent drop,
//! which costs the scanner a timeout per guess).
//!
//! Memory is bounded: at most `max_entries` sources are tracked; when full, entries whose
//! state has lapsed go first, then the least recently seen unblocked source, and only then
//! the least recently seen blocked one.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Failures within `window` that trigger a block.
    pub max_failures: u32,
    pub window: Duration,
    pub block_for: Duration,
    /// Upper bound on tracked sources.
    pub max_entries: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            max_failures: 5,
            window: Duration::from_secs(60),
            block_for: Duration::from_secs(300),
            max_entries: 10_000,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    /// The most recent failures, at most `max_failures` of them: a sliding window, so
    /// that 4 guesses just before a window boundary and 4 just after still count as 8.
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    last_seen: Instant,
}

#[derive(Clone, Debug)]
pub struct AuthLimiter {
    cfg: LimiterConfig,
    table: HashMap<IpAddr, Entry>,
}

/// IPv6 sources are tracked per /64: one host usually owns a whole /64 and could
/// otherwise rotate addresses to escape the limit (RFC 4291 §2.5.1 interface IDs).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
    }
}

impl AuthLimiter {
    pub fn new(cfg: LimiterConfig) -> AuthLimiter {
        AuthLimiter {
            cfg,
            table: HashMap::new(),
        }
    }

    /// Whether requests from `ip` should be refused without a challenge right now.
    pub fn is_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.table
            .get(&key(ip))
            .and_then(|e| e.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Count a failed attempt. Returns true when `ip` is (now) blocked.
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> bool {
        let k = key(ip);
        if !self.table.contains_key(&k) && self.table.len() >= self.cfg.max_entries {
            self.make_room(now);
        }
        let cfg = &self.cfg;
        let e = self.table.entry(k).or_insert(Entry {
            failures: VecDeque::new(),
            blocked_until: None,
            last_seen: now,
        });
        e.last_seen = now;
        if let Some(until) = e.blocked_until {
            if now < until {
                return true;
            }
            // The block ran out: start counting afresh.
            e.blocked_until = None;
            e.failures.clear();
        }
        while e
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= cfg.window)
        {
            e.failures.pop_front();
        }
        e.failures.push_back(now);
        while e.failures.len() > cfg.max_failures as usize {
            e.failures.pop_front();
        }
        if e.failures.len() >= cfg.max_failures.max(1) as usize {
            e.blocked_until = Some(now + cfg.block_for);
            return true;
        }
        false
    }

    /// A successful authentication clears the source's record.
    pub fn record_success(&mut self, ip: IpAddr) {
        self.table.remove(&key(ip));
    }

    /// Drop entries whose block and window have both lapsed (call from a periodic timer).
    pub fn prune(&mut self, now: Instant) {
        let window = self.cfg.window;
        self.table.retain(|_, e| live(e, now, window));
    }

    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    fn make_room(&mut self, now: Instant) {
        self.prune(now);
        if self.table.len() < self.cfg.max_entries {
            return;
        }
        // Prefer forgetting an unblocked source: evicting a blocked one would let a
        // scanner unblock itself by spraying spoofed UDP sources.
        let victim = self
            .table
            .iter()
            .min_by_key(|(_, e)| (e.blocked_until.is_some_and(|u| now < u), e.last_seen))
            .map(|(k, _)| *k);
        if let Some(k) = victim {
            self.table.remove(&k);
        }
    }
}

impl Default for AuthLimiter {
    fn default() -> Self {
        AuthLimiter::new(LimiterConfig::default())
    }
}

fn live(e: &Entry, now: Instant, window: Duration) -> bool {
    e.blocked_until.is_some_and(|u| now < u)
        || e.failures
            .back()
            .is_some_and(|t| now.saturating_duration_since(*t) < window)
}
