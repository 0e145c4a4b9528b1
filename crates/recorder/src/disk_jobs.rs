//! The recorder's own disk threads: a fixed number of them, whatever the disk does.
//!
//! Why not tokio's blocking pool: every call's writer has one disk job out at a time
//! (a chunk, once a second with an fsync), so when the file system stalls (a journal
//! commit, a slow volume) every call's job blocks at the same moment, and the blocking
//! pool answers with one new thread per waiting call, up to its cap. In the hour soak
//! that was 36 → 74 threads for the rest of the hour (each with its stack and, past a
//! few, its own malloc arena: the RSS step), and those threads then crowded the
//! switch's other short jobs (the registrations write that holds REGISTER answers).
//! Here a stall becomes a queue in front of N threads; the writer already absorbs a
//! slow disk in its backlog (bounded, counted when dropped).

use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A job that never reported back: it panicked, or the threads are gone.
#[derive(Debug, thiserror::Error)]
#[error("recorder disk job lost (panicked or pool stopped)")]
pub struct JobLost;

/// N named threads taking jobs from one queue. Dropping the last handle closes the
/// queue; each thread ends after the job it is running.
pub(crate) struct DiskJobs {
    tx: mpsc::Sender<Job>,
}

impl DiskJobs {
    pub fn new(threads: usize) -> io::Result<DiskJobs> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("rec-disk-{i}"))
                // Jobs are file calls and a SHA-256 over a read buffer on the heap.
                .stack_size(256 * 1024)
                .spawn(move || worker(&rx))?;
        }
        Ok(DiskJobs { tx })
    }

    /// Runs `f` on one of the threads; the returned [`DiskJob`] resolves with its
    /// result. Dropping it does not cancel the job (a chunk write always completes).
    pub fn run<T, F>(&self, f: F) -> DiskJob<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let finished = Arc::new(AtomicBool::new(false));
        // Set when the job is over however it ends: run, panicked, or dropped unrun.
        let flag = SetOnDrop(finished.clone());
        let job: Job = Box::new(move || {
            let _flag = flag;
            let _ = reply.send(f());
        });
        // A send error means the threads are gone: the job (and `reply`) is dropped,
        // so the caller sees it lost.
        let _ = self.tx.send(job);
        DiskJob { rx, finished }
    }
}

/// A job handed to the disk threads; await it for its result.
pub(crate) struct DiskJob<T> {
    rx: oneshot::Receiver<T>,
    finished: Arc<AtomicBool>,
}

impl<T> DiskJob<T> {
    /// True once awaiting it would not wait.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Acquire)
    }
}

impl<T> Future for DiskJob<T> {
    type Output = Result<T, JobLost>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map_err(|_| JobLost)
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Release);
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running it.
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = next else { return };
        // A panicking job drops its reply (its caller sees `JobLost`); the thread stays.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("recorder disk job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_stalled_jobs_use_only_the_pools_threads() {
        let pool = DiskJobs::new(4).unwrap();
        // Which threads ran jobs (counting the process's threads would count other
        // tests running beside this one).
        let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let mut jobs = Vec::new();
        for i in 0..64usize {
            let (running, most, release) = (running.clone(), most.clone(), release_rx.clone());
            let seen = seen.clone();
            jobs.push(pool.run(move || {
                seen.lock().unwrap().insert(std::thread::current().id());
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                // A stalled fsync: wait until the test lets one job go.
                let _ = release
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
                running.fetch_sub(1, SeqCst);
                i
            }));
        }
        // Give the pool every chance to start more threads than it should.
        for _ in 0..50 {
            if running.load(SeqCst) == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            running.load(SeqCst),
            4,
            "four jobs run while the disk stalls"
        );
        for _ in 0..64 {
            release_tx.send(()).unwrap();
        }
        let mut got = Vec::new();
        for j in jobs {
            got.push(j.await.unwrap());
        }
        assert_eq!(
            got,
            (0..64).collect::<Vec<_>>(),
            "every job ran, each result to its caller"
        );
        assert_eq!(
            most.load(SeqCst),
            4,
            "never more than the pool's threads at once"
        );
        let threads = seen.lock().unwrap().len();
        assert!(
            threads <= 4,
            "64 stalled disk jobs ran on {threads} threads (pool of 4)"
        );
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_lost_and_the_thread_stays() {
        let pool = DiskJobs::new(1).unwrap();
        let lost = pool.run(|| -> u32 { panic!("disk on fire") }).await;
        assert!(lost.is_err());
        // The only thread survived the panic and takes the next job.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
