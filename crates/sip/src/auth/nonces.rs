//! Which nonces this server issued, and which nonce counts each has already signed:
//! replay protection for digest (RFC 7616 §3.3 "nc": "the server can detect request
//! replays by maintaining its own copy of this count"; RFC 7616 §5.5 replay attacks).
//!
//! The MAC in a nonce (see `server.rs`) proves we made it; this book proves it was made by
//! *this process* and has not signed the same `nc` twice. A nonce missing here (issued
//! before a restart, or pushed out by a flood of challenges) is answered `stale=true`, so
//! a real phone retries once without asking its user, and a captured header is worthless.
//!
//! Counts are kept in a sliding window like IPsec's anti-replay window (RFC 4303
//! §3.4.3): the highest count seen plus a 64-bit map of the counts below it, so
//! UDP requests that overtake each other still pass, each once. Answers without qop
//! (RFC 2069) carry no count: such a nonce signs one request only.
//!
//! Sans-IO: times are passed in; memory is bounded by `max_entries`.

use std::collections::{HashMap, VecDeque};

/// Counts this far below the highest one seen are still accepted (once each).
const WINDOW: u32 = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NcVerdict {
    /// First use of this count: go ahead.
    Fresh,
    /// The nonce is not in the book (issued before a restart, or evicted): re-challenge.
    Unknown,
    /// This count (or, without qop, this nonce) was used already: a replay.
    Reused,
}

#[derive(Clone, Debug)]
struct Entry {
    issued: u64,
    /// Highest nc seen; 0 = none yet.
    max_nc: u32,
    /// Bit i set: count `max_nc - 1 - i` was seen.
    below: u64,
    /// A no-qop answer used this nonce.
    used_without_qop: bool,
}

#[derive(Clone, Debug)]
pub struct NonceBook {
    entries: HashMap<String, Entry>,
    /// Issue order, for pruning and eviction (oldest first).
    order: VecDeque<(u64, String)>,
    max_entries: usize,
    ttl_secs: u64,
}

impl NonceBook {
    pub fn new(max_entries: usize, ttl_secs: u64) -> NonceBook {
        NonceBook {
            entries: HashMap::new(),
            order: VecDeque::new(),
            max_entries: max_entries.max(1),
            ttl_secs,
        }
    }

    /// Remember a nonce just put in a challenge.
    pub fn issued(&mut self, nonce: &str, now: u64) {
        self.prune(now);
        while self.entries.len() >= self.max_entries {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        self.entries.insert(
            nonce.to_string(),
            Entry {
                issued: now,
                max_nc: 0,
                below: 0,
                used_without_qop: false,
            },
        );
        self.order.push_back((now, nonce.to_string()));
    }

    /// Check and record one use: `nc` is the parsed nonce count (qop=auth) or `None`
    /// (RFC 2069). Call only after the digest itself was verified, so that a forger
    /// cannot burn the counts of a real phone's nonce.
    pub fn use_count(&mut self, nonce: &str, nc: Option<u32>) -> NcVerdict {
        let Some(e) = self.entries.get_mut(nonce) else {
            return NcVerdict::Unknown;
        };
        let Some(nc) = nc else {
            if e.used_without_qop || e.max_nc > 0 {
                return NcVerdict::Reused;
            }
            e.used_without_qop = true;
            return NcVerdict::Fresh;
        };
        if nc == 0 || e.used_without_qop {
            return NcVerdict::Reused;
        }
        if nc > e.max_nc {
            let shift = nc - e.max_nc;
            // The old maximum becomes bit (shift-1) of the map below the new one.
            e.below = if e.max_nc == 0 || shift > WINDOW {
                0
            } else {
                let shifted = if shift >= 64 { 0 } else { e.below << shift };
                shifted | (1u64 << (shift - 1))
            };
            e.max_nc = nc;
            return NcVerdict::Fresh;
        }
        if nc == e.max_nc {
            return NcVerdict::Reused;
        }
        let back = e.max_nc - 1 - nc;
        if back >= WINDOW {
            // Too old to tell: refuse (a real phone's counts move forward).
            return NcVerdict::Reused;
        }
        let bit = 1u64 << back;
        if e.below & bit != 0 {
            return NcVerdict::Reused;
        }
        e.below |= bit;
        NcVerdict::Fresh
    }

    /// Forget nonces older than their lifetime (plus a minute, so that a late answer
    /// still gets `stale=true` rather than "unknown"; both re-challenge anyway).
    pub fn prune(&mut self, now: u64) {
        let keep = self.ttl_secs.saturating_add(60);
        while let Some((t, n)) = self.order.front() {
            if now.saturating_sub(*t) <= keep {
                break;
            }
            if self.entries.get(n).is_some_and(|e| e.issued == *t) {
                self.entries.remove(n);
            }
            self.order.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_count_once_out_of_order_within_the_window() {
        let mut b = NonceBook::new(10, 30);
        b.issued("n", 0);
        assert_eq!(b.use_count("n", Some(1)), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", Some(1)), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(4)), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", Some(3)), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", Some(3)), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(2)), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", Some(1)), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(4)), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(200)), NcVerdict::Fresh);
        // 4 is now far outside the window: refused rather than guessed.
        assert_eq!(b.use_count("n", Some(5)), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(199)), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", Some(0)), NcVerdict::Reused);
    }

    #[test]
    fn without_qop_a_nonce_signs_once() {
        let mut b = NonceBook::new(10, 30);
        b.issued("n", 0);
        assert_eq!(b.use_count("n", None), NcVerdict::Fresh);
        assert_eq!(b.use_count("n", None), NcVerdict::Reused);
        assert_eq!(b.use_count("n", Some(1)), NcVerdict::Reused);
    }

    #[test]
    fn unknown_pruned_and_evicted_nonces() {
        let mut b = NonceBook::new(2, 30);
        assert_eq!(b.use_count("never", Some(1)), NcVerdict::Unknown);
        b.issued("a", 0);
        b.issued("b", 1);
        b.issued("c", 2);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b.use_count("a", Some(1)),
            NcVerdict::Unknown,
            "oldest evicted"
        );
        assert_eq!(b.use_count("c", Some(1)), NcVerdict::Fresh);
        b.prune(1000);
        assert!(b.is_empty());
    }
}
