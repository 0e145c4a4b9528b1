//! What stands in front of the password check (issue 9): argon2 costs ~19 MB and tens of
//! milliseconds per attempt, so anonymous requests must not be able to run it at will, and
//! lockout must not become a way to shut staff out.
//!
//! - Failures are counted per (login ID, source address), in memory, under one lock, and an
//!   attempt is counted *before* its hash is checked (reserved in flight), so 24 concurrent
//!   wrong passwords count as 24, not 2. After [`MAX_FAILURES`] the pair is refused for
//!   [`LOCK_SECS`]; the same account from another address (the real member of staff) is not
//!   affected, and a success clears only its own pair.
//! - One address failing many logins (spraying IDs) is refused for all IDs for a while.
//! - The answer is the same whether the ID exists or not (the counters do not look).
//! - Password checks run at most [`HASH_SLOTS`] at a time with a short queue; beyond it the
//!   request is refused at once ("busy") instead of piling up memory.
//!
//! Sessions carry staff after login, so the hash runs once per login, not per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failures in a row from one address for one ID before that pair is refused, and how long.
pub const MAX_FAILURES: u32 = 5;
pub const LOCK_SECS: i64 = 15 * 60;
/// Failures from one address across all IDs within [`LOCK_SECS`] before it is refused.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;
/// Password checks at once (the machine's cores), and how many may wait for one.
pub const HASH_SLOTS: usize = 2;
pub const HASH_QUEUE: usize = 8;
/// Longest password looked at (argon2 of a megabyte is no one's password).
pub const MAX_PASSWORD_BYTES: usize = 256;
const MAX_TRACKED: usize = 100_000;

#[derive(Default, Clone, Copy)]
struct Count {
    failures: u32,
    in_flight: u32,
    /// When the first counted failure happened, or the lock ends.
    since: i64,
    locked_until: i64,
}

impl Count {
    fn refresh(&mut self, now: i64) {
        if self.locked_until != 0 && self.locked_until <= now
            || self.locked_until == 0 && now - self.since > LOCK_SECS
        {
            let in_flight = self.in_flight;
            *self = Count {
                in_flight,
                since: now,
                ..Count::default()
            };
        }
    }
}

/// Failures per (login, address) pair, and per address alone.
type PerPair = HashMap<(String, String), Count>;
type PerAddress = HashMap<String, Count>;

pub struct LoginGuard {
    counts: Mutex<(PerPair, PerAddress)>,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard {
            counts: Mutex::new((HashMap::new(), HashMap::new())),
            slots: Arc::new(Semaphore::new(HASH_SLOTS)),
            waiting: AtomicUsize::new(0),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Go on and check the password; report with [`LoginGuard::finish`].
    Go,
    Locked,
}

impl LoginGuard {
    /// Counts an attempt in before its password is checked.
    pub fn admit(&self, login: &str, addr: &str, now: i64) -> Admit {
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (pairs, addrs) = &mut *guard;
        if pairs.len() > MAX_TRACKED {
            pairs.retain(|_, c| {
                c.in_flight > 0 || now - c.since <= LOCK_SECS || c.locked_until > now
            });
            addrs.retain(|_, c| {
                c.in_flight > 0 || now - c.since <= LOCK_SECS || c.locked_until > now
            });
        }
        let a = addrs.entry(addr.to_string()).or_default();
        a.refresh(now);
        if a.locked_until > now || a.failures + a.in_flight >= MAX_FAILURES_PER_ADDRESS {
            return Admit::Locked;
        }
        let p = pairs
            .entry((login.to_string(), addr.to_string()))
            .or_default();
        p.refresh(now);
        if p.locked_until > now || p.failures + p.in_flight >= MAX_FAILURES {
            return Admit::Locked;
        }
        p.in_flight += 1;
        if let Some(a) = addrs.get_mut(addr) {
            a.in_flight += 1;
        }
        Admit::Go
    }

    /// The result of an admitted attempt.
    pub fn finish(&self, login: &str, addr: &str, ok: bool, now: i64) {
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (pairs, addrs) = &mut *guard;
        let key = (login.to_string(), addr.to_string());
        for (c, max) in [
            (pairs.get_mut(&key), MAX_FAILURES),
            (addrs.get_mut(addr), MAX_FAILURES_PER_ADDRESS),
        ] {
            let Some(c) = c else { continue };
            c.in_flight = c.in_flight.saturating_sub(1);
            if !ok {
                if c.failures == 0 {
                    c.since = now;
                }
                c.failures += 1;
                if c.failures >= max {
                    c.locked_until = now + LOCK_SECS;
                }
            }
        }
        if ok {
            pairs.remove(&key);
        }
    }

    /// An admitted attempt that never reached the password check (no hash slot).
    pub fn abandon(&self, login: &str, addr: &str) {
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (pairs, addrs) = &mut *guard;
        if let Some(c) = pairs.get_mut(&(login.to_string(), addr.to_string())) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
        if let Some(c) = addrs.get_mut(addr) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }

    /// Whether `login` is refused from some address (for the users page).
    pub fn locked_somewhere(&self, login: &str, now: i64) -> bool {
        let guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .0
            .iter()
            .any(|((l, _), c)| l == login && c.locked_until > now)
    }

    /// An administrator's unlock: every address's counter for `login`.
    pub fn unlock(&self, login: &str) {
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.retain(|(l, _), _| l != login);
    }

    /// A turn at the password hash, or None when too many are waiting already.
    pub async fn hash_slot(&self) -> Option<OwnedSemaphorePermit> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= HASH_QUEUE {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let permit = self.slots.clone().acquire_owned().await.ok();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_and_id_counted_before_the_check() {
        let g = LoginGuard::default();
        let t = 1_800_000_000;
        // Concurrent attempts: each is counted in when admitted, not when it finishes.
        let admitted = (0..24)
            .filter(|_| g.admit("alice", "192.0.2.66", t) == Admit::Go)
            .count();
        assert_eq!(admitted, MAX_FAILURES as usize);
        for _ in 0..admitted {
            g.finish("alice", "192.0.2.66", false, t);
        }
        assert_eq!(g.admit("alice", "192.0.2.66", t + 1), Admit::Locked);
        // Alice at her own desk is not locked out by the attacker.
        assert_eq!(g.admit("alice", "10.0.0.5", t + 1), Admit::Go);
        g.finish("alice", "10.0.0.5", true, t + 1);
        // Her success does not reset the attacker's counter.
        assert_eq!(g.admit("alice", "192.0.2.66", t + 2), Admit::Locked);
        assert!(g.locked_somewhere("alice", t + 2));
        // The lock ends.
        assert_eq!(g.admit("alice", "192.0.2.66", t + LOCK_SECS + 1), Admit::Go);
        // Non-existing IDs are counted the same way (the guard never looks).
        for _ in 0..MAX_FAILURES {
            assert_eq!(g.admit("nobody", "192.0.2.67", t), Admit::Go);
            g.finish("nobody", "192.0.2.67", false, t);
        }
        assert_eq!(g.admit("nobody", "192.0.2.67", t), Admit::Locked);
    }

    #[test]
    fn an_address_spraying_ids_is_refused() {
        let g = LoginGuard::default();
        let t = 1_800_000_000;
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(g.admit(&format!("user{i}"), "192.0.2.9", t), Admit::Go);
            g.finish(&format!("user{i}"), "192.0.2.9", false, t);
        }
        assert_eq!(g.admit("someone-else", "192.0.2.9", t), Admit::Locked);
        assert_eq!(g.admit("someone-else", "192.0.2.10", t), Admit::Go);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_is_bounded() {
        let g = LoginGuard::default();
        let mut held = Vec::new();
        for _ in 0..HASH_SLOTS {
            held.push(g.hash_slot().await.expect("a slot"));
        }
        // The slots are taken; waiters queue up to HASH_QUEUE, the next is refused at once.
        let g = Arc::new(g);
        let mut waiters = Vec::new();
        for _ in 0..HASH_QUEUE {
            let g = g.clone();
            waiters.push(tokio::spawn(async move { g.hash_slot().await.is_some() }));
        }
        // Bounded by time, not by a count of yields: under a loaded CI machine 10,000
        // yields passed before the spawned waiters were first polled (a red run).
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while g.waiting.load(Ordering::SeqCst) < HASH_QUEUE
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(g.waiting.load(Ordering::SeqCst), HASH_QUEUE);
        assert!(
            g.hash_slot().await.is_none(),
            "refused at once when the queue is full"
        );
        drop(held);
        for w in waiters {
            assert!(w.await.unwrap(), "queued checks get their turn");
        }
    }
}
