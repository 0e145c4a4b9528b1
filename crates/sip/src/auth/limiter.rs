//! Failed-authentication limiting against password guessing (the "friendly-scanner"
//! floods every public SIP server sees), keyed by **(user, source)**, as Kamailio's
//! `htable` recipes and fail2ban's incremental bans do. Sans-IO: the caller passes `now`
//! and decides what a block means (403 without a challenge).
//!
//! Why not per source address: operators sit behind one NAT, so five wrong answers
//! (from a colleague, or a spoofed UDP source) would lock every phone of the office out,
//! and one operator's success would reset the count for a colleague's password being
//! guessed. Here:
//! - five failures for one user from one source (sliding 60 s window) block that user
//!   there; each later block of the same pair is twice as long (backoff, up to an hour),
//!   forgotten after a quiet day or at the pair's next success;
//! - a success clears only its own (user, source) pair;
//! - a source failing for many users (a scanner spraying names) is blocked for the users
//!   it has not authenticated recently — its own phones keep working;
//! - a user failing from many sources (one password guessed from a botnet, each address
//!   staying under the pair threshold) has a budget of its own: `user_max_failures`
//!   within `user_window` block the user at every source it has not authenticated from
//!   within `trust_for`, with the same doubling backoff. The real phone, at the address
//!   it registered from, keeps working; its success does not reset the budget (that would
//!   let the guessing go on forever, as the per-source counter did before). This is
//!   Kamailio's htable recipe keyed by user name, with fail2ban's incremental ban;
//! - the caller counts only answers to a nonce this server sent to that source
//!   (`AuthOutcome::ForeignNonce` is not counted), so a spoofed UDP source, which never
//!   sees our challenges, counts nothing at all.
//!
//! Memory is bounded: at most `max_entries` pairs and as many sources; when full, lapsed
//! entries go first, then the least recently seen unblocked one, and only then the least
//! recently seen blocked one (evicting blocked entries first would let a scanner unblock
//! itself by spraying).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Failures for one (user, source) within `window` that block the pair.
    pub max_failures: u32,
    pub window: Duration,
    /// The first block; each further block of the same pair doubles it…
    pub block_for: Duration,
    /// …up to this.
    pub max_block: Duration,
    /// A pair's (or source's) backoff is forgotten after this long without a failure.
    pub forget_after: Duration,
    /// Failures for any users from one source within `window` that block the source for
    /// the users it has not authenticated within `trust_for`.
    pub source_max_failures: u32,
    pub trust_for: Duration,
    /// Failures for one user from any sources within `user_window` that block the user
    /// at the sources it has not authenticated from within `trust_for`.
    pub user_max_failures: u32,
    pub user_window: Duration,
    /// Upper bound on tracked pairs (and, separately, sources).
    pub max_entries: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            max_failures: 5,
            window: Duration::from_secs(60),
            block_for: Duration::from_secs(60),
            max_block: Duration::from_secs(3600),
            forget_after: Duration::from_secs(24 * 3600),
            source_max_failures: 20,
            trust_for: Duration::from_secs(24 * 3600),
            // 20 wrong answers an hour for one account is far beyond a person mistyping
            // (who is blocked at 5 per source anyway) and far below any useful guessing.
            user_max_failures: 20,
            user_window: Duration::from_secs(3600),
            max_entries: 10_000,
        }
    }
}

/// Longest user name kept as a key: names are attacker-chosen.
const MAX_USER_KEY: usize = 64;
/// Users remembered as "authenticated from here" per source.
const MAX_TRUSTED: usize = 256;

/// A sliding-window failure counter with an incremental block.
#[derive(Clone, Debug)]
struct Counter {
    /// The most recent failures, at most the threshold of them: a sliding window, so
    /// that 4 guesses just before a window boundary and 4 just after still count as 8.
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    /// Blocks so far (the backoff exponent).
    strikes: u32,
    last_seen: Instant,
}

impl Counter {
    fn new(now: Instant) -> Counter {
        Counter {
            failures: VecDeque::new(),
            blocked_until: None,
            strikes: 0,
            last_seen: now,
        }
    }

    fn blocked(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|u| now < u)
    }

    /// Count a failure; true when blocked (now or already).
    fn fail(
        &mut self,
        threshold: u32,
        window: Duration,
        cfg: &LimiterConfig,
        now: Instant,
    ) -> bool {
        if now.saturating_duration_since(self.last_seen) >= cfg.forget_after {
            self.strikes = 0;
        }
        self.last_seen = now;
        if self.blocked(now) {
            return true;
        }
        if self.blocked_until.take().is_some() {
            // The block ran out: count afresh (the strikes stay, for the next block).
            self.failures.clear();
        }
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.failures.pop_front();
        }
        let threshold = threshold.max(1) as usize;
        self.failures.push_back(now);
        while self.failures.len() > threshold {
            self.failures.pop_front();
        }
        if self.failures.len() < threshold {
            return false;
        }
        let factor = 1u32 << self.strikes.min(16);
        let block = cfg.block_for.saturating_mul(factor).min(cfg.max_block);
        self.blocked_until = Some(now + block);
        self.strikes = self.strikes.saturating_add(1);
        true
    }

    fn live(&self, now: Instant, window: Duration, cfg: &LimiterConfig) -> bool {
        self.blocked(now)
            || self
                .failures
                .back()
                .is_some_and(|t| now.saturating_duration_since(*t) < window)
            || (self.strikes > 0
                && now.saturating_duration_since(self.last_seen) < cfg.forget_after)
    }
}

#[derive(Clone, Debug)]
struct Source {
    counter: Counter,
    /// Users who authenticated from this source, and when last.
    trusted: HashMap<String, Instant>,
}

#[derive(Clone, Debug)]
pub struct AuthLimiter {
    cfg: LimiterConfig,
    pairs: HashMap<(String, IpAddr), Counter>,
    sources: HashMap<IpAddr, Source>,
    /// Failures per user name over all sources (the distributed-guessing budget).
    users: HashMap<String, Counter>,
}

/// IPv6 sources are tracked per /64: one host usually owns a whole /64 and could
/// otherwise rotate addresses to escape the limit (RFC 4291 §2.5.1 interface IDs).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
    }
}

fn user_key(user: &str) -> &str {
    let mut end = user.len().min(MAX_USER_KEY);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    &user[..end]
}

fn pair_key(user: &str, ip: IpAddr) -> (String, IpAddr) {
    (user_key(user).to_string(), source_key(ip))
}

impl AuthLimiter {
    pub fn new(cfg: LimiterConfig) -> AuthLimiter {
        AuthLimiter {
            cfg,
            pairs: HashMap::new(),
            sources: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// Whether `user`'s requests from `ip` should be refused without a challenge now.
    pub fn is_blocked(&self, user: &str, ip: IpAddr, now: Instant) -> bool {
        let k = pair_key(user, ip);
        if self.pairs.get(&k).is_some_and(|c| c.blocked(now)) {
            return true;
        }
        let source_blocked = self
            .sources
            .get(&k.1)
            .is_some_and(|s| s.counter.blocked(now));
        let user_blocked = self.users.get(&k.0).is_some_and(|c| c.blocked(now));
        (source_blocked || user_blocked) && !self.is_trusted_now(&k, now)
    }

    fn trusted(&self, s: &Source, user: &str, now: Instant) -> bool {
        s.trusted
            .get(user)
            .is_some_and(|t| now.saturating_duration_since(*t) < self.cfg.trust_for)
    }

    /// Count a failed answer (to a nonce this server sent to `ip`). Returns true when
    /// `user` is (now) blocked from `ip`.
    pub fn record_failure(&mut self, user: &str, ip: IpAddr, now: Instant) -> bool {
        let k = pair_key(user, ip);
        let src = k.1;
        if !self.pairs.contains_key(&k) && self.pairs.len() >= self.cfg.max_entries {
            self.make_room(now);
        }
        if !self.sources.contains_key(&src) && self.sources.len() >= self.cfg.max_entries {
            self.make_room(now);
        }
        if !self.users.contains_key(&k.0) && self.users.len() >= self.cfg.max_entries {
            self.make_room(now);
        }
        let cfg = &self.cfg;
        let pair_blocked = self
            .pairs
            .entry(k.clone())
            .or_insert_with(|| Counter::new(now))
            .fail(cfg.max_failures, cfg.window, cfg, now);
        let s = self.sources.entry(src).or_insert_with(|| Source {
            counter: Counter::new(now),
            trusted: HashMap::new(),
        });
        let source_blocked = s
            .counter
            .fail(cfg.source_max_failures, cfg.window, cfg, now);
        let user_blocked = self
            .users
            .entry(k.0.clone())
            .or_insert_with(|| Counter::new(now))
            .fail(cfg.user_max_failures, cfg.user_window, cfg, now);
        pair_blocked || ((source_blocked || user_blocked) && !self.is_trusted_now(&k, now))
    }

    fn is_trusted_now(&self, k: &(String, IpAddr), now: Instant) -> bool {
        self.sources
            .get(&k.1)
            .is_some_and(|s| self.trusted(s, &k.0, now))
    }

    /// A successful authentication clears `user`'s record at `ip` (and nobody else's),
    /// and marks the user as known at that source.
    pub fn record_success(&mut self, user: &str, ip: IpAddr, now: Instant) {
        let k = pair_key(user, ip);
        self.pairs.remove(&k);
        let trust_for = self.cfg.trust_for;
        let s = self.sources.entry(k.1).or_insert_with(|| Source {
            counter: Counter::new(now),
            trusted: HashMap::new(),
        });
        if !s.trusted.contains_key(&k.0) && s.trusted.len() >= MAX_TRUSTED {
            s.trusted
                .retain(|_, t| now.saturating_duration_since(*t) < trust_for);
            if s.trusted.len() >= MAX_TRUSTED {
                if let Some(oldest) = s
                    .trusted
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(u, _)| u.clone())
                {
                    s.trusted.remove(&oldest);
                }
            }
        }
        s.trusted.insert(k.0, now);
    }

    /// Drop entries whose blocks, windows, backoff and trust have all lapsed (call from a
    /// periodic timer).
    pub fn prune(&mut self, now: Instant) {
        let cfg = &self.cfg;
        self.pairs.retain(|_, c| c.live(now, cfg.window, cfg));
        self.users.retain(|_, c| c.live(now, cfg.user_window, cfg));
        self.sources.retain(|_, s| {
            s.trusted
                .retain(|_, t| now.saturating_duration_since(*t) < cfg.trust_for);
            s.counter.live(now, cfg.window, cfg) || !s.trusted.is_empty()
        });
    }

    /// Tracked (user, source) pairs.
    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    fn make_room(&mut self, now: Instant) {
        self.prune(now);
        if self.pairs.len() >= self.cfg.max_entries {
            let victim = self
                .pairs
                .iter()
                .min_by_key(|(_, c)| (c.blocked(now), c.last_seen))
                .map(|(k, _)| k.clone());
            if let Some(k) = victim {
                self.pairs.remove(&k);
            }
        }
        if self.users.len() >= self.cfg.max_entries {
            let victim = self
                .users
                .iter()
                .min_by_key(|(_, c)| (c.blocked(now), c.last_seen))
                .map(|(k, _)| k.clone());
            if let Some(k) = victim {
                self.users.remove(&k);
            }
        }
        if self.sources.len() >= self.cfg.max_entries {
            let victim = self
                .sources
                .iter()
                .min_by_key(|(_, s)| (s.counter.blocked(now), s.counter.last_seen))
                .map(|(k, _)| *k);
            if let Some(k) = victim {
                self.sources.remove(&k);
            }
        }
    }
}

impl Default for AuthLimiter {
    fn default() -> Self {
        AuthLimiter::new(LimiterConfig::default())
    }
}
