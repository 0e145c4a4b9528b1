//! Failed-authentication limiting per (user, source): blocks a pair after five failures
//! in the window with a doubling block, never blocks colleagues at the same address, is
//! not reset by another user's success, blocks a source spraying user names except for
//! the users it authenticated, and keeps its tables bounded.

use sip::auth::{AuthLimiter, LimiterConfig};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const NAT: &str = "198.51.100.7";

#[test]
fn five_failures_block_the_pair_only_and_the_block_lifts() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    for i in 0..4 {
        assert!(!l.record_failure("1001", a, t0 + secs(i)), "failure {i}");
        assert!(!l.is_blocked("1001", a, t0 + secs(i)));
    }
    assert!(l.record_failure("1001", a, t0 + secs(4)));
    assert!(l.is_blocked("1001", a, t0 + secs(5)));
    // The colleague behind the same NAT, and the same user elsewhere, are not blocked.
    assert!(!l.is_blocked("1002", a, t0 + secs(5)));
    assert!(!l.is_blocked("1001", ip("203.0.113.8"), t0 + secs(5)));
    // The first block is a minute.
    assert!(l.is_blocked("1001", a, t0 + secs(4 + 59)));
    assert!(!l.is_blocked("1001", a, t0 + secs(4 + 60)));
}

#[test]
fn each_further_block_of_a_pair_doubles_up_to_an_hour() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    let mut t = t0;
    let mut lengths = Vec::new();
    for _round in 0..8 {
        for _ in 0..5 {
            l.record_failure("1001", a, t);
        }
        assert!(l.is_blocked("1001", a, t));
        // Walk forward a second at a time to measure the block.
        let start = t;
        while l.is_blocked("1001", a, t) {
            t += secs(1);
        }
        lengths.push((t - start).as_secs());
    }
    assert_eq!(lengths, vec![60, 120, 240, 480, 960, 1920, 3600, 3600]);
}

#[test]
fn the_backoff_is_forgotten_after_a_quiet_day() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    for _ in 0..5 {
        l.record_failure("1001", a, t0);
    }
    for _ in 0..5 {
        l.record_failure("1001", a, t0 + secs(61));
    }
    assert!(l.is_blocked("1001", a, t0 + secs(61 + 119)));
    let later = t0 + secs(2 * 86_400);
    for _ in 0..5 {
        l.record_failure("1001", a, later);
    }
    assert!(l.is_blocked("1001", a, later + secs(59)));
    assert!(
        !l.is_blocked("1001", a, later + secs(60)),
        "back to one minute"
    );
}

#[test]
fn a_success_clears_its_own_pair_only() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    for _ in 0..4 {
        l.record_failure("1001", a, t0);
    }
    // The guesser's own phone (1002) registers from the same address: 1001's count stays.
    l.record_success("1002", a, t0);
    assert!(l.record_failure("1001", a, t0 + secs(1)));
    assert!(l.is_blocked("1001", a, t0 + secs(2)));
    // 1001's own success clears 1001's record.
    let mut l = AuthLimiter::default();
    for _ in 0..4 {
        l.record_failure("1001", a, t0);
    }
    l.record_success("1001", a, t0);
    assert!(!l.record_failure("1001", a, t0 + secs(1)));
}

#[test]
fn slow_guessing_across_a_window_boundary_still_counts() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    for s in [50, 55, 58, 59] {
        assert!(!l.record_failure("1001", a, t0 + secs(s)));
    }
    assert!(l.record_failure("1001", a, t0 + secs(61)));
    // Failures spread wider than the window never block the pair (19: one under the
    // user's own hourly budget, which the 20th would spend).
    let mut l = AuthLimiter::default();
    for i in 0..19 {
        assert!(!l.record_failure("1001", a, t0 + secs(i * 16)));
    }
    assert!(l.record_failure("1001", a, t0 + secs(19 * 16)));
}

#[test]
fn a_source_spraying_names_is_blocked_except_for_its_own_phones() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip(NAT);
    l.record_success("1001", a, t0);
    let mut blocked_at = None;
    for i in 0..20u64 {
        if l.record_failure(&format!("user{i}"), a, t0 + secs(1)) {
            blocked_at.get_or_insert(i);
        }
    }
    assert_eq!(blocked_at, Some(19), "the 20th name blocks the source");
    let t = t0 + secs(2);
    assert!(l.is_blocked("user99", a, t), "a new name from the source");
    assert!(l.is_blocked("1002", a, t), "a user never seen there");
    assert!(
        !l.is_blocked("1001", a, t),
        "the phone that registered there"
    );
    assert!(
        !l.is_blocked("user99", ip("203.0.113.8"), t),
        "other sources"
    );
    assert!(
        !l.is_blocked("1002", a, t0 + secs(2 + 60)),
        "the source block lifts"
    );
}

#[test]
fn ipv6_sources_are_tracked_per_64() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    for i in 0..5 {
        l.record_failure("1001", ip(&format!("2001:db8:1:2::{i}")), t0);
    }
    assert!(l.is_blocked("1001", ip("2001:db8:1:2::ffff"), t0));
    assert!(!l.is_blocked("1001", ip("2001:db8:1:3::1"), t0));
}

#[test]
fn a_full_table_forgets_unblocked_pairs_before_blocked_ones() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::new(LimiterConfig {
        max_entries: 8,
        ..LimiterConfig::default()
    });
    let attacker = ip("192.0.2.66");
    for _ in 0..5 {
        l.record_failure("1001", attacker, t0);
    }
    for i in 0..50 {
        l.record_failure("1001", ip(&format!("10.0.0.{i}")), t0 + secs(1));
    }
    assert!(l.tracked() <= 8);
    assert!(
        l.is_blocked("1001", attacker, t0 + secs(2)),
        "spraying other sources must not evict a blocked one"
    );
    // Long user names are cut, so an attacker cannot grow the table's memory with them.
    l.record_failure(&"x".repeat(100_000), attacker, t0 + secs(3));
    assert!(l.tracked() <= 8);
}

#[test]
fn prune_forgets_lapsed_entries() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    l.record_failure("1001", ip(NAT), t0);
    l.prune(t0 + secs(30));
    assert_eq!(l.tracked(), 1);
    l.prune(t0 + secs(61));
    assert_eq!(l.tracked(), 0);
}

/// Distributed guessing (issue 9): one password tried from many addresses, each staying
/// under the per-pair threshold. The user's failure budget across all sources blocks the
/// user everywhere except at the sources it authenticated from, and a success there does
/// not reset the budget (that would let the guessing go on forever).
#[test]
fn many_sources_guessing_one_user_exhaust_its_budget_but_not_its_known_phone() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let home = ip(NAT);
    l.record_success("1001", home, t0);
    let budget = LimiterConfig::default().user_max_failures;
    let mut t = t0;
    let mut blocked_at = None;
    // Four guesses from each of many sources (one under the per-pair threshold).
    'outer: for s in 0..100u32 {
        let src = ip(&format!("203.0.{}.{}", s / 250, s % 250 + 1));
        for _ in 0..4 {
            t += secs(1);
            if l.record_failure("1001", src, t) {
                blocked_at = Some((s * 4) + 1);
                break 'outer;
            }
        }
    }
    let n = blocked_at.expect("the user's budget ran out");
    assert!(n <= budget, "blocked after {n} failures, budget {budget}");
    // A fresh source is refused for 1001…
    assert!(l.is_blocked("1001", ip("192.0.2.200"), t));
    // …not for a colleague…
    assert!(!l.is_blocked("1002", ip("192.0.2.200"), t));
    // …and the real user's phone, which authenticated before, still gets through, and
    // its success does not lift the block for the guessers.
    assert!(!l.is_blocked("1001", home, t));
    l.record_success("1001", home, t);
    assert!(l.is_blocked("1001", ip("192.0.2.201"), t + secs(1)));
    // The block lifts in time (backoff: the next one is longer).
    let mut u = t;
    while l.is_blocked("1001", ip("192.0.2.200"), u) {
        u += secs(1);
    }
    assert!(u - t >= secs(60) && u - t <= secs(3600), "{:?}", u - t);
}
