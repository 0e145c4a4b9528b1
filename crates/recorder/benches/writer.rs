//! Recording path bench (a plain binary: `cargo bench -p recorder`).
//!
//! 1. The timeline alone: frames placed and drained per second on one core.
//! 2. N concurrent calls fed at real-time pace (both legs, 50 frames/s each) through
//!    the real tap channels, writer tasks, disk jobs, header patches and fsyncs:
//!    frames refused by full channels (lost), frames dropped by the timeline, bytes/s
//!    to disk, the largest backlog, and the CPU the whole process used.
//!
//! Environment: RECORDER_BENCH_CALLS (default 1000), RECORDER_BENCH_SECS (default 10),
//! RECORDER_BENCH_DIR (default the temp dir).

use media::{Leg, TapFrame};
use recorder::timeline::Timeline;
use recorder::{CallMeta, Recorder, RecorderConfig};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_secs() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn frame(leg: Leg, ts: u32, arrival: Instant) -> TapFrame {
    let mut samples = [0i16; 160];
    for (i, s) in samples.iter_mut().enumerate() {
        *s = ((i as i32 * 97) % 2000 - 1000) as i16;
    }
    TapFrame {
        leg,
        rtp_timestamp: ts,
        arrival,
        len: 160,
        samples,
    }
}

fn timeline_alone() {
    let n: u64 = 2_000_000;
    let mut t = Timeline::new();
    let mut out = Vec::with_capacity(1 << 20);
    let now = Instant::now();
    let fa = frame(Leg::A, 0, now);
    let fb = frame(Leg::B, 0, now);
    let start = Instant::now();
    for k in 0..n / 2 {
        let mut a = fa.clone();
        a.rtp_timestamp = (k * 160) as u32;
        let mut b = fb.clone();
        b.rtp_timestamp = (k * 160) as u32 + 5;
        t.place(&a, k);
        t.place(&b, k);
        if k % 25 == 24 {
            t.drain_until(k.saturating_sub(12), &mut out);
            out.clear();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(t.stats.placed, n);
    println!(
        "timeline alone: {n} frames in {secs:.3} s = {:.0} frames/s ({:.0} real-time calls per core)",
        n as f64 / secs,
        n as f64 / secs / 100.0
    );
}

async fn realtime(calls: usize, secs: u64) {
    let dir = std::env::var("RECORDER_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir())
        .join(format!("recorder-bench-{}", std::process::id()));
    let cfg = RecorderConfig {
        dir: dir.join("recordings"),
        catalogue: dir.join("catalogue.sqlite"),
        disk_min_free_bytes: 0,
        ..RecorderConfig::default()
    };
    let rec = Recorder::new(cfg).unwrap();
    let mut taps = Vec::new();
    let mut handles = Vec::new();
    let setup = Instant::now();
    for i in 0..calls {
        let meta = CallMeta {
            call_id: format!("bench-{i}"),
            number: "0246-22-1111".into(),
            caller: format!("090{i:08}"),
            started_at: SystemTime::now(),
        };
        let (tap, h) = rec.start_call(meta).await.unwrap();
        taps.push(tap);
        handles.push(h);
    }
    let setup = setup.elapsed();
    let refused = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let frames = secs * 50;
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    // Four feeders stand in for the relays: every 20 ms one frame per leg per call.
    let mut feeders = Vec::new();
    for chunk in taps.chunks(calls.div_ceil(4).max(1)) {
        let chunk: Vec<_> = chunk.to_vec();
        let (refused, sent) = (refused.clone(), sent.clone());
        feeders.push(tokio::spawn(async move {
            let fa = frame(Leg::A, 0, t0);
            let fb = frame(Leg::B, 0, t0);
            let mut tick = tokio::time::interval_at(t0.into(), Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for k in 0..frames {
                tick.tick().await;
                let now = Instant::now();
                for tap in &chunk {
                    for base in [&fa, &fb] {
                        let mut f = base.clone();
                        f.rtp_timestamp = (k * 160) as u32;
                        f.arrival = now;
                        match tap.try_send(f) {
                            Ok(()) => sent.fetch_add(1, Relaxed),
                            Err(_) => refused.fetch_add(1, Relaxed),
                        };
                    }
                }
            }
        }));
    }
    let mut max_backlog = 0;
    let sampler = {
        let rec = rec.clone();
        tokio::spawn(async move {
            let mut m = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                m = m.max(rec.stats().backlog_bytes);
                if rec.stats().active == 0 {
                    return m;
                }
            }
        })
    };
    for f in feeders {
        f.await.unwrap();
    }
    let fed = t0.elapsed();
    let fin = Instant::now();
    let mut infos = Vec::new();
    for h in handles {
        infos.push(h.finish().await.unwrap());
    }
    let fin = fin.elapsed();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    max_backlog = max_backlog.max(sampler.await.unwrap());
    let s = rec.stats();
    let short = infos
        .iter()
        .filter(|i| i.duration_ms + 500 < secs * 1000)
        .count();
    println!(
        "{calls} calls x {secs} s real time: start_call {:.1} µs each; fed in {:.2} s; finish all {:.2} s",
        setup.as_secs_f64() * 1e6 / calls as f64,
        fed.as_secs_f64(),
        fin.as_secs_f64()
    );
    println!(
        "  frames sent {} ({:.0}/s), refused by full tap channels {} (lost), dropped by timeline {}, recordings shorter than expected {}",
        sent.load(Relaxed),
        sent.load(Relaxed) as f64 / fed.as_secs_f64(),
        refused.load(Relaxed),
        s.frames_dropped,
        short
    );
    println!(
        "  written {:.1} MB = {:.2} MB/s; largest backlog {:.1} kB; backlog dropped {} B; write errors {}",
        s.bytes_written as f64 / 1e6,
        s.bytes_written as f64 / 1e6 / wall,
        max_backlog as f64 / 1e3,
        s.backlog_dropped_bytes,
        s.write_errors
    );
    println!(
        "  CPU {cpu:.2} s over {wall:.2} s = {:.0} % of one core (feeders included)",
        100.0 * cpu / wall
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too: run either way.
    timeline_alone();
    let calls = env("RECORDER_BENCH_CALLS", 1000) as usize;
    let secs = env("RECORDER_BENCH_SECS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(realtime(calls, secs));
}
