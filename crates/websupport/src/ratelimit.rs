//! Token buckets per client (IP address or API key), for the API and the rating form.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one token from `key`'s bucket holding `per_minute` tokens; false if empty.
    pub fn allow(&self, key: &str, per_minute: u32) -> bool {
        let now = Instant::now();
        let cap = per_minute as f64;
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Keep memory bounded under a flood of addresses: forget full buckets.
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * cap / 60.0 < cap
            });
        }
        let (tokens, at) = map.entry(key.to_string()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * cap / 60.0).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bucket_empties_and_is_per_key() {
        let rl = super::RateLimiter::default();
        assert!((0..5).all(|_| rl.allow("a", 5)));
        assert!(!rl.allow("a", 5));
        assert!(rl.allow("b", 5));
    }
}
