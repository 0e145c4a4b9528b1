//! Giving freed memory back to the system. glibc's malloc keeps what a burst of calls
//! freed inside its arenas (it returns only the top of each heap), so the switch's RSS
//! stepped up at every pile-up of calls and never came down (issue 10's soak: +29 %
//! after bursts while the live set was flat). `malloc_trim(0)` releases the free pages
//! of every arena (madvise). It runs on a thread of its own; while it walks an arena it
//! holds that arena's lock, so an allocation there waits for it — a pause every 30 s,
//! not measured separately (in the A/B of benches/README.md, trim off vs on: setup p50
//! 2.07 vs 2.15 ms, switch CPU 83.4 vs 83.6 %).
//!
//! The pass runs every 30 s, and as soon as memory freed after a pile-up of calls stays
//! resident (`TrimPolicy`, checked every second). `MADOGUCHI_MALLOC_TRIM_SECS` sets the
//! period (default 30; 0 turns the trimmer off, for comparing runs);
//! `MADOGUCHI_MALLOC_TRIM_FREED_MB` the least growth of resident free memory that
//! triggers a pass between periods (default 4; 0 leaves only the period).
//!
//! glibc also creates up to 8 arenas per core, one for each thread that finds the others
//! locked. The switch's blocking pool grows with the disk's latency (recordings' fsyncs),
//! and each new thread could take a fresh arena and keep what it freed there: in the
//! 25-minute soak RSS rose when the pool went from 41 to 74 threads. `cap_arenas` limits
//! them to one per core (the threads that allocate most, the runtime's workers and the
//! media threads, number about one per core too; each thread keeps its own tcache, so
//! the common small allocations take no arena lock). `MADOGUCHI_MALLOC_ARENAS` overrides
//! the count (0 leaves glibc's default).

use std::time::{Duration, Instant};

const DEFAULT_SECS: u64 = 30;
/// How often the trimmer looks at the memory (a read of /proc/self/statm and a
/// `mallinfo2`, the same walk a `/metrics` scrape does).
const CHECK: Duration = Duration::from_secs(1);
/// Never two passes closer than this, whatever the readings say.
const MIN_GAP: Duration = Duration::from_secs(2);
const DEFAULT_FREED_MIB: u64 = 4;

/// Limits glibc's malloc arenas; call it first thing in `main`, before threads exist.
pub fn cap_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = env_u64("MADOGUCHI_MALLOC_ARENAS").map_or(cores, |n| n as usize);
    if arenas > 0 {
        set_arena_max(arenas);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Starts the trimming thread (glibc only; other allocators return memory themselves).
pub fn start_trimmer() {
    let secs = env_u64("MADOGUCHI_MALLOC_TRIM_SECS").unwrap_or(DEFAULT_SECS);
    if secs == 0 || !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let floor = env_u64("MADOGUCHI_MALLOC_TRIM_FREED_MB").unwrap_or(DEFAULT_FREED_MIB) << 20;
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(move || {
            let mut policy =
                TrimPolicy::new(Duration::from_secs(secs), floor, Instant::now(), read());
            loop {
                std::thread::sleep(CHECK);
                let before = read();
                let Some(why) = policy.observe(Instant::now(), before) else {
                    continue;
                };
                trim();
                let after = read();
                tracing::debug!(
                    ?why,
                    released_kib = before.rss.saturating_sub(after.rss) >> 10,
                    "malloc trimmed"
                );
                policy.trimmed(Instant::now(), after);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the malloc trimming thread");
    }
}

/// Resident bytes of the process and bytes malloc has handed out.
#[derive(Clone, Copy, Debug, Default)]
struct Reading {
    rss: u64,
    in_use: u64,
}

impl Reading {
    /// Resident but not live: mostly what malloc keeps freed (plus code and stacks, a
    /// constant that the differences below cancel).
    fn held(self) -> u64 {
        self.rss.saturating_sub(self.in_use)
    }
}

fn read() -> Reading {
    let in_use = switch::metrics::malloc_figures().map_or(0, |(u, _)| u);
    Reading {
        rss: resident_bytes().unwrap_or(0),
        in_use,
    }
}

/// RSS from /proc/self/statm (its second field, in pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).unwrap_or(4096))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trim {
    /// The period came round.
    Period,
    /// Memory was freed and stayed resident: a pile-up of calls has drained.
    Freed,
}

/// When to trim (sans-IO: readings and `now` in, a decision out). Every `period`, and
/// also as soon as the memory held resident but free has grown by `floor` (or 3 % of
/// RSS, if more) above the lowest it was since the last pass. A pile-up of calls (a
/// stalled disk or CPU) raises the live heap and RSS together, which gives nothing to
/// trim; when it drains, the live heap falls and RSS does not: that is the moment. With
/// the period alone, that memory stayed resident up to 30 s (a 3-s SIGSTOP at 200
/// calls/s: RSS 94 → 151 MiB for ~20 s, benches/README.md).
struct TrimPolicy {
    period: Duration,
    floor: u64,
    last: Instant,
    lowest_held: u64,
}

impl TrimPolicy {
    fn new(period: Duration, floor: u64, now: Instant, r: Reading) -> Self {
        TrimPolicy {
            period,
            floor,
            last: now,
            lowest_held: r.held(),
        }
    }

    fn observe(&mut self, now: Instant, r: Reading) -> Option<Trim> {
        self.lowest_held = self.lowest_held.min(r.held());
        let since = now.saturating_duration_since(self.last);
        if since >= self.period {
            return Some(Trim::Period);
        }
        let grown = r.held().saturating_sub(self.lowest_held);
        (self.floor > 0 && since >= MIN_GAP && grown >= self.floor.max(r.rss / 33))
            .then_some(Trim::Freed)
    }

    /// After a pass: what stays resident now (fragments malloc could not release) is the
    /// new base, so a pass that released nothing is not repeated every second.
    fn trimmed(&mut self, now: Instant, r: Reading) {
        self.last = now;
        self.lowest_held = r.held();
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn r(rss_mib: u64, in_use_mib: u64) -> Reading {
        Reading {
            rss: rss_mib * MIB,
            in_use: in_use_mib * MIB,
        }
    }

    fn policy(t0: Instant) -> TrimPolicy {
        TrimPolicy::new(Duration::from_secs(30), 4 * MIB, t0, r(94, 66))
    }

    #[test]
    fn a_pile_up_that_drains_is_trimmed_at_once_not_at_the_period() {
        let t0 = Instant::now();
        let mut p = policy(t0);
        let s = |n| t0 + Duration::from_secs(n);
        // Calls pile up: live heap and RSS rise together, nothing to give back.
        assert_eq!(p.observe(s(3), r(120, 92)), None);
        assert_eq!(p.observe(s(4), r(150, 122)), None);
        // They drain: the live heap falls, RSS stays.
        assert_eq!(p.observe(s(6), r(151, 67)), Some(Trim::Freed));
        p.trimmed(s(6), r(95, 67));
        assert_eq!(p.observe(s(7), r(95, 67)), None);
    }

    #[test]
    fn churn_below_the_threshold_waits_for_the_period() {
        let t0 = Instant::now();
        let mut p = policy(t0);
        let s = |n| t0 + Duration::from_secs(n);
        // +2 MiB held: under max(4 MiB, 3 % of RSS).
        assert_eq!(p.observe(s(10), r(96, 66)), None);
        assert_eq!(p.observe(s(29), r(96, 66)), None);
        assert_eq!(p.observe(s(30), r(96, 66)), Some(Trim::Period));
    }

    #[test]
    fn a_pass_that_released_nothing_is_not_repeated_every_second() {
        let t0 = Instant::now();
        let mut p = policy(t0);
        let s = |n| t0 + Duration::from_secs(n);
        assert_eq!(p.observe(s(3), r(110, 66)), Some(Trim::Freed));
        // Fragments: the pass gave nothing back; that level is the new base.
        p.trimmed(s(3), r(110, 66));
        for n in 4..33 {
            assert_eq!(p.observe(s(n), r(110, 66)), None, "second {n}");
        }
        assert_eq!(p.observe(s(33), r(110, 66)), Some(Trim::Period));
    }

    #[test]
    fn passes_are_at_least_two_seconds_apart_and_the_trigger_can_be_turned_off() {
        let t0 = Instant::now();
        let mut p = policy(t0);
        assert_eq!(p.observe(t0 + Duration::from_secs(1), r(150, 66)), None);
        assert_eq!(
            p.observe(t0 + Duration::from_secs(2), r(150, 66)),
            Some(Trim::Freed)
        );
        let mut off = TrimPolicy::new(Duration::from_secs(30), 0, t0, r(94, 66));
        assert_eq!(off.observe(t0 + Duration::from_secs(5), r(150, 66)), None);
    }

    #[test]
    fn the_resident_size_is_read_from_proc() {
        let before = resident_bytes().expect("statm");
        let block = vec![1u8; 32 << 20];
        std::hint::black_box(&block);
        let during = resident_bytes().expect("statm");
        assert!(during >= before + (30 << 20), "{before} -> {during}");
        drop(block);
    }
}
