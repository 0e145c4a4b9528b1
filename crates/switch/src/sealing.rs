//! Recordings being sealed after their calls ended. Sealing (the last audio, the final
//! header, an fsync, the SHA-256 and the catalogue row's group commit) waits for the
//! disk; the call does not: its end goes to the core at once, so `calls_active`, the
//! trunk channels and `max_calls` count calls, not files. Before, a disk that stalled
//! for two seconds at 400 calls/s (a bulk delete) kept ~650 finished calls "active",
//! each with its call task and the recorder's buffers (issue 10's soak: ~130 kB of
//! live heap per such call), and new calls met `max_calls` sooner. A stopping switch
//! waits here for every seal, so a recording is complete, not left to be repaired.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

pub struct Sealing {
    running: watch::Sender<usize>,
}

/// Decrements the count when the seal ends, also by a panic.
struct Done(watch::Sender<usize>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Default for Sealing {
    fn default() -> Self {
        Sealing {
            running: watch::Sender::new(0),
        }
    }
}

impl Sealing {
    /// Runs `seal` as a task of its own, counted until it ends.
    pub fn spawn(&self, seal: impl Future<Output = ()> + Send + 'static) {
        self.running.send_modify(|n| *n += 1);
        let done = Done(self.running.clone());
        tokio::spawn(async move {
            let _done = done;
            seal.await;
        });
    }

    /// Seals still running.
    pub fn running(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until every seal has ended, at most `limit`; the number still running.
    pub async fn wait_idle(&self, limit: Duration) -> usize {
        let mut rx = self.running.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await;
        self.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stop_waits_for_every_seal_even_one_that_panics() {
        let s = Sealing::default();
        s.spawn(tokio::time::sleep(Duration::from_secs(2)));
        s.spawn(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            panic!("a seal that fails hard");
        });
        assert_eq!(s.running(), 2);
        // Not within half a second; both within ten.
        assert_eq!(s.wait_idle(Duration::from_millis(500)).await, 2);
        assert_eq!(s.wait_idle(Duration::from_secs(10)).await, 0);
        // A stalled disk: the wait gives up at its limit and says how many are left.
        s.spawn(std::future::pending());
        assert_eq!(s.wait_idle(Duration::from_secs(5)).await, 1);
    }
}
