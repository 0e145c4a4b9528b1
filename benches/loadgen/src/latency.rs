//! One-way latency of the generator's RTP through the switch: each packet carries the
//! moment it was handed to the kernel (nanoseconds since the process's epoch), and
//! the receiver puts now − then into a fixed histogram. Both ends are this process on
//! one clock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The clock of the send stamps: one epoch for the whole process.
fn epoch() -> std::time::Instant {
    static E: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *E.get_or_init(std::time::Instant::now)
}

pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// One-way times in buckets: 10 µs wide up to 10 ms, then 1 ms wide up to 1 s (the
/// rest in the last bucket). Atomics, so the receive tasks share it without a lock.
pub struct Latency {
    buckets: Vec<AtomicU64>,
    max_ns: AtomicU64,
}

const FINE: usize = 1000;
const FINE_NS: u64 = 10_000;
const COARSE_NS: u64 = 1_000_000;

impl Default for Latency {
    fn default() -> Self {
        Latency {
            buckets: (0..2 * FINE).map(|_| AtomicU64::new(0)).collect(),
            max_ns: AtomicU64::new(0),
        }
    }
}

impl Latency {
    pub fn record(&self, ns: u64) {
        let i = if ns < FINE as u64 * FINE_NS {
            (ns / FINE_NS) as usize
        } else {
            (FINE + (ns / COARSE_NS) as usize - FINE * FINE_NS as usize / COARSE_NS as usize)
                .min(2 * FINE - 1)
        };
        self.buckets[i].fetch_add(1, Relaxed);
        self.max_ns.fetch_max(ns, Relaxed);
    }

    /// Upper edge of the bucket holding quantile `q`, in ms; `None` with no sample.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let upper_ns = if i < FINE {
                    (i as u64 + 1) * FINE_NS
                } else {
                    FINE as u64 * FINE_NS + (i - FINE + 1) as u64 * COARSE_NS
                };
                return Some(upper_ns as f64 / 1e6);
            }
        }
        None
    }

    pub fn summary(&self) -> serde_json::Value {
        let samples: u64 = self.buckets.iter().map(|b| b.load(Relaxed)).sum();
        serde_json::json!({
            "samples": samples,
            "p50": self.quantile_ms(0.50),
            "p99": self.quantile_ms(0.99),
            "p999": self.quantile_ms(0.999),
            "max": (samples > 0).then(|| self.max_ns.load(Relaxed) as f64 / 1e6),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_are_bucket_upper_edges() {
        let l = Latency::default();
        assert_eq!(l.summary()["p50"], serde_json::Value::Null);
        // 98 at 15 µs, one at 2.5 ms, one at 40 ms.
        for _ in 0..98 {
            l.record(15_000);
        }
        l.record(2_500_000);
        l.record(40_000_000);
        let s = l.summary();
        assert_eq!(s["samples"], 100);
        assert_eq!(s["p50"], 0.02);
        assert_eq!(s["p99"], 2.51);
        assert_eq!(s["p999"], 41.0);
        assert_eq!(s["max"], 40.0);
        // Beyond a second: the last bucket, the real maximum still reported.
        l.record(5_000_000_000);
        assert_eq!(l.summary()["max"], 5000.0);
    }
}
