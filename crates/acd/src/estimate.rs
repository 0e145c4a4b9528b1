//! Handle-time averages and the wait estimate announced to callers.

use std::time::Duration;

/// Weight of the newest sample. 0.1 follows a shift in the kind of calls within a few
/// dozen calls, yet one very long call moves the estimate by only a tenth of its excess.
const ALPHA: f64 = 0.1;

/// Exponentially weighted mean of talk + wrap-up per queue.
#[derive(Clone, Debug)]
pub(crate) struct HandleTime {
    mean_ms: f64,
}

impl HandleTime {
    pub(crate) fn new(initial: Duration) -> Self {
        HandleTime {
            mean_ms: initial.as_millis() as f64,
        }
    }

    pub(crate) fn record(&mut self, handle: Duration) {
        let x = handle.as_millis() as f64;
        self.mean_ms += ALPHA * (x - self.mean_ms);
    }

    pub(crate) fn mean(&self) -> Duration {
        Duration::from_millis(self.mean_ms.round() as u64)
    }

    /// A caller at `position` (1 = next) waits about until `position` agents have freed;
    /// with `staffed` agents each freeing once per handle time, that is
    /// `position × handle ÷ staffed`. No staff means no honest estimate.
    pub(crate) fn expected_wait(&self, position: usize, staffed: usize) -> Option<Duration> {
        if staffed == 0 {
            return None;
        }
        let ms = self.mean_ms * position as f64 / staffed as f64;
        Some(Duration::from_millis(ms.round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_moves_toward_recent_samples() {
        let mut h = HandleTime::new(Duration::from_secs(180));
        for _ in 0..50 {
            h.record(Duration::from_secs(60));
        }
        let m = h.mean().as_secs_f64();
        assert!((60.0..61.0).contains(&m), "mean {m}");
        h.record(Duration::from_secs(600));
        // One outlier moves it by a tenth of the difference.
        assert!((h.mean().as_secs_f64() - 114.0).abs() < 1.0);
    }

    #[test]
    fn expected_wait_scales_with_position_and_staff() {
        let h = HandleTime::new(Duration::from_secs(200));
        assert_eq!(h.expected_wait(1, 10), Some(Duration::from_secs(20)));
        assert_eq!(h.expected_wait(5, 10), Some(Duration::from_secs(100)));
        assert_eq!(h.expected_wait(5, 5), Some(Duration::from_secs(200)));
        assert_eq!(h.expected_wait(1, 0), None);
    }
}
