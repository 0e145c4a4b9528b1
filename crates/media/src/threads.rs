//! Media threads: each a single-threaded tokio runtime of its own, on which relay
//! tasks run instead of the switch's shared work-stealing runtime.
//!
//! Why: a relayed call wakes its task for every packet, 100 times a second. On the
//! shared runtime each wake-up may unpark another worker (a futex call and a context
//! switch) and move tasks between workers; on a thread of its own the I/O driver
//! and the tasks are on one thread, a busy thread takes the events of many calls
//! from one `epoll_wait`, and nothing else is woken. Calls are spread over the
//! threads round-robin when their relay starts.
//!
//! `start` is called once by the process (the switch at start-up); until then, and
//! in tests, relays run on the runtime of whoever starts them.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use tokio::runtime::Handle;

static THREADS: OnceLock<Vec<Handle>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Starts `n` media threads (at least one) for the life of the process. A second
/// call changes nothing. Returns how many threads relays now use.
pub fn start(n: usize) -> io::Result<usize> {
    if let Some(t) = THREADS.get() {
        return Ok(t.len());
    }
    let mut handles = Vec::new();
    for i in 0..n.max(1) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("media-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let _ = tx.send(Ok(rt.handle().clone()));
                // The thread serves its relays until the process exits.
                rt.block_on(std::future::pending::<()>());
            })?;
        let h = rx
            .recv()
            .map_err(|_| io::Error::other("media thread ended at start"))??;
        handles.push(h);
    }
    Ok(THREADS.get_or_init(|| handles).len())
}

/// The runtime the next relay should run on, if media threads were started.
pub(crate) fn pick() -> Option<Handle> {
    let t = THREADS.get()?;
    Some(t[NEXT.fetch_add(1, Relaxed) % t.len()].clone())
}
