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
//!
//! glibc also creates up to 8 arenas per core, one for each thread that finds the others
//! locked. The switch's blocking pool grows with the disk's latency (recordings' fsyncs),
//! and each new thread could take a fresh arena and keep what it freed there: in the
//! 25-minute soak RSS rose when the pool went from 41 to 74 threads. `cap_arenas` limits
//! them to one per core (the threads that allocate most, the runtime's workers and the
//! media threads, number about one per core too; each thread keeps its own tcache, so
//! the common small allocations take no arena lock). `MADOGUCHI_MALLOC_ARENAS` overrides
//! the count (0 leaves glibc's default).

use std::time::Duration;

const DEFAULT_SECS: u64 = 30;

/// Limits glibc's malloc arenas; call it first thing in `main`, before threads exist.
pub fn cap_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = std::env::var("MADOGUCHI_MALLOC_ARENAS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(cores);
    if arenas > 0 {
        set_arena_max(arenas);
    }
}

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

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_arena_max(n: usize) {
    let n = libc::c_int::try_from(n).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets a tunable of glibc's allocator; M_ARENA_MAX takes effect
    // for arenas created afterwards. It returns 0 on error, which leaves the default.
    if unsafe { libc::mallopt(libc::M_ARENA_MAX, n) } == 0 {
        // Before the log is set up: straight to stderr.
        eprintln!("madoguchi: glibc refused M_ARENA_MAX={n}; malloc keeps its default arenas");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_: usize) {}
