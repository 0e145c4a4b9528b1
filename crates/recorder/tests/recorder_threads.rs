//! Waiting for the catalogue holds no thread (issue 10 goal 6): calls that wait for
//! their row's group commit await it. When each wait held a blocking thread, a stalled
//! fsync grew the runtime's blocking pool to its cap, and the soak's RSS with it.
//!
//! Alone in its file: it counts the threads of the whole test process.

mod support;

use recorder::{Recorder, State};
use std::time::Duration;
use support::*;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_calls_wait_for_a_locked_catalogue_on_no_extra_thread() {
    let dir = scratch("threads");
    let cfg = config(&dir);
    let rec = Recorder::new(cfg.clone()).unwrap();
    // Another writer holds SQLite's write lock, as a long fsync would: every commit
    // waits (busy_timeout) until it lets go.
    let blocker = rusqlite::Connection::open(&cfg.catalogue).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = threads();

    let calls: Vec<_> = (0..64)
        .map(|i| {
            let rec = rec.clone();
            tokio::spawn(async move {
                let cat = rec.catalogue();
                let call = format!("locked-{i}");
                let id = cat
                    .insert_recording_async(&call, "0246221111", "09012345678", 1, &call)
                    .await?;
                cat.add_operator(id, "op-1").await?;
                cat.finish(id, State::Complete, 2, 1000, 44, "abc").await
            })
        })
        .collect();
    // Bounded: 30 samples, 10 ms apart, while all 64 are waiting.
    let mut most = before;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        most = most.max(threads());
    }
    if let Some(c) = calls.iter().position(|c| c.is_finished()) {
        let r = calls.into_iter().nth(c).unwrap().await.unwrap();
        panic!("the lock did not hold the commits back; the test shows nothing: {r:?}");
    }
    blocker.execute_batch("COMMIT").unwrap();
    for c in calls {
        c.await.unwrap().unwrap();
    }

    assert!(
        most <= before + 1,
        "64 waiting calls took {} threads (from {before} to {most})",
        most - before
    );
    let done = rec.catalogue().in_state(State::Complete).unwrap();
    assert_eq!(done.len(), 64);
    assert!(done.iter().all(|r| r.operators == ["op-1"]));
    drop(rec);
    let _ = std::fs::remove_dir_all(&dir);
}
