//! Failed-authentication limiting: blocks after N failures in the window, lifts the block
//! after the period, resets on success, and keeps its table bounded.

use sip::auth::{AuthLimiter, LimiterConfig};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn blocks_after_five_failures_and_unblocks_after_the_period() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip("203.0.113.7");
    for i in 0..4 {
        assert!(
            !l.record_failure(a, t0 + Duration::from_secs(i)),
            "failure {i} must not block"
        );
        assert!(!l.is_blocked(a, t0 + Duration::from_secs(i)));
    }
    assert!(l.record_failure(a, t0 + Duration::from_secs(4)));
    assert!(l.is_blocked(a, t0 + Duration::from_secs(5)));
    assert!(l.is_blocked(a, t0 + Duration::from_secs(4 + 299)));
    assert!(!l.is_blocked(a, t0 + Duration::from_secs(4 + 300)));
    // Other sources are not affected.
    assert!(!l.is_blocked(ip("203.0.113.8"), t0 + Duration::from_secs(5)));
    // After the block a fresh count starts: one failure does not re-block.
    assert!(!l.record_failure(a, t0 + Duration::from_secs(400)));
}

#[test]
fn failures_spread_beyond_the_window_do_not_block() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip("198.51.100.1");
    for i in 0..20u64 {
        // One failure every 16 s: never 5 within 60 s.
        assert!(
            !l.record_failure(a, t0 + Duration::from_secs(i * 16)),
            "at {i}"
        );
    }
}

#[test]
fn the_window_slides() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip("198.51.100.2");
    // Four failures just before the 60 s mark and one just after: 5 within 60 s.
    for s in [2, 57, 58, 59] {
        assert!(!l.record_failure(a, t0 + Duration::from_secs(s)));
    }
    assert!(l.record_failure(a, t0 + Duration::from_secs(61)));
}

#[test]
fn success_resets_the_count() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    let a = ip("192.0.2.10");
    for _ in 0..4 {
        l.record_failure(a, t0);
    }
    l.record_success(a);
    for _ in 0..4 {
        assert!(!l.record_failure(a, t0));
    }
    assert!(l.record_failure(a, t0));
}

#[test]
fn ipv6_sources_count_per_64() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::default();
    for i in 1..=5 {
        l.record_failure(ip(&format!("2001:db8:1:2::{i}")), t0);
    }
    assert!(l.is_blocked(ip("2001:db8:1:2::ffff"), t0));
    assert!(!l.is_blocked(ip("2001:db8:1:3::1"), t0));
}

#[test]
fn table_is_bounded_and_keeps_blocked_sources() {
    let t0 = Instant::now();
    let mut l = AuthLimiter::new(LimiterConfig {
        max_entries: 3,
        ..LimiterConfig::default()
    });
    let attacker = ip("10.0.0.1");
    for _ in 0..5 {
        l.record_failure(attacker, t0);
    }
    for i in 2..50 {
        l.record_failure(ip(&format!("10.0.0.{i}")), t0 + Duration::from_secs(1));
        assert!(l.tracked() <= 3);
    }
    assert!(
        l.is_blocked(attacker, t0 + Duration::from_secs(2)),
        "spraying sources must not evict a block"
    );
    l.prune(t0 + Duration::from_secs(1000));
    assert_eq!(l.tracked(), 0);
}
