//! Giving freed memory back to the system. glibc's malloc keeps what a burst of calls
//! freed inside its arenas (it returns only the top of each heap), so the switch's RSS
//! stepped up at every pile-up of calls and never came down (issue 10's soak: +29 %
//! after bursts while the live set was flat). `malloc_trim(0)` releases the free pages
//! of every arena (madvise). It runs on a thread of its own; while it walks an arena it
//! holds that arena's lock, so an allocation there waits for it — a pause every 30 s,
//! not measured separately (in the A/B of benches/README.md, trim off vs on: setup p50
//! 2.07 vs 2.15 ms, switch CPU 83.4 vs 83.6 %).
//!
//! `MADOGUCHI_MALLOC_TRIM_SECS` sets the period (default 30; 0 turns it off, for
//! comparing runs).

use std::time::Duration;

const DEFAULT_SECS: u64 = 30;

/// Starts the trimming thread (glibc only; other allocators return memory themselves).
pub fn start_trimmer() {
    let secs = std::env::var("MADOGUCHI_MALLOC_TRIM_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_SECS);
    if secs == 0 || !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_secs(secs));
            trim();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the malloc trimming thread");
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; no pointer of
    // ours is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
