//! The writer end to end through the real tap channel: tones land on the right
//! channels with the right length, and gaps become silence in one file.

mod support;

use media::Leg;
use recorder::{CallMeta, Recorder, State};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use support::*;

fn meta(call_id: &str) -> CallMeta {
    CallMeta {
        call_id: call_id.into(),
        number: "0246-22-1111".into(),
        caller: "09012345678".into(),
        started_at: SystemTime::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_left_center_right_with_the_right_duration() {
    let dir = scratch("tones");
    let rec = Recorder::new(config(&dir)).unwrap();
    let (tap, handle) = rec.start_call(meta("tones-1@madoguchi")).await.unwrap();
    handle.add_operator("op-101").await.unwrap();
    let start = Instant::now();
    // 3 s: caller 440 Hz, center 1,000 Hz, each with its own RTP clock.
    let a = tokio::spawn(feed(tap.clone(), Leg::A, 440.0, start, 0, 150, 12_345));
    let b = tokio::spawn(feed(
        tap.clone(),
        Leg::B,
        1000.0,
        start,
        0,
        150,
        3_000_000_000,
    ));
    assert_eq!(
        a.await.unwrap() + b.await.unwrap(),
        0,
        "the tap channel refused frames"
    );
    drop(tap);
    let info = handle.finish().await.unwrap();

    assert_eq!(info.state, State::Complete);
    assert!(
        (2500..=3500).contains(&info.duration_ms),
        "duration {} ms",
        info.duration_ms
    );
    let path = rec.file_path(&info.path);
    let (left, right) = read_stereo(&path);
    assert_eq!(left.len() as u64, info.duration_ms * 8);
    // Every half second of the call: 440 Hz on the left, 1,000 Hz on the right.
    for k in 0..5 {
        let (from, to) = (0.1 + k as f64 * 0.5, 0.5 + k as f64 * 0.5);
        assert_eq!(
            dominant(window(&left, from, to)),
            Some(440.0),
            "left at {from} s"
        );
        assert_eq!(
            dominant(window(&right, from, to)),
            Some(1000.0),
            "right at {from} s"
        );
        assert!(
            rms(window(&left, from, to)) > 4000.0,
            "left is quiet at {from} s"
        );
    }
    // No crosstalk: the left channel holds hardly any 1,000 Hz.
    let l = window(&left, 0.5, 2.5);
    let p440 = media::tone::goertzel_power(l, 8000, 440.0);
    let p1000 = media::tone::goertzel_power(l, 8000, 1000.0);
    assert!(
        p1000 < p440 / 1000.0,
        "1 kHz leaks into the caller's channel: {p1000} vs {p440}"
    );

    // The catalogue row says the same as the file.
    let row = rec.catalogue().get(info.id).unwrap().unwrap();
    assert_eq!(row.state, State::Complete);
    assert_eq!(row.operators, vec!["op-101".to_string()]);
    assert_eq!(
        row.size_bytes,
        Some(std::fs::metadata(&path).unwrap().len() as i64)
    );
    assert_eq!(
        row.sha256.as_deref(),
        Some(recorder::disk::sha256_file(&path).unwrap().as_str())
    );
    assert!(
        info.path.ends_with("/tones-1@madoguchi.wav"),
        "{}",
        info.path
    );
    let stats = rec.stats();
    assert_eq!(
        (
            stats.active,
            stats.completed,
            stats.frames,
            stats.frames_dropped
        ),
        (0, 1, 300, 0)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_a_quiet_side_become_silence_in_one_aligned_file() {
    let dir = scratch("hold");
    let rec = Recorder::new(config(&dir)).unwrap();
    let (tap, handle) = rec.start_call(meta("hold-1")).await.unwrap();
    let start = Instant::now();
    // 0–1 s both talk; 1–2 s on hold (no audio at all); 2–3 s both again, with new RTP
    // timestamps as after a re-INVITE; 3–4 s only the caller talks, the center is quiet.
    let t = tap.clone();
    let a = tokio::spawn(async move {
        feed(t.clone(), Leg::A, 440.0, start, 0, 50, 1000).await
            + feed(t, Leg::A, 440.0, start, 100, 100, 777_777).await
    });
    let t = tap.clone();
    let b = tokio::spawn(async move {
        feed(t.clone(), Leg::B, 1000.0, start, 0, 50, 5).await
            + feed(t, Leg::B, 1000.0, start, 100, 50, 99).await
    });
    assert_eq!(a.await.unwrap() + b.await.unwrap(), 0);
    let info = handle.finish().await.unwrap();

    assert_eq!(
        wav_files(&dir).len(),
        1,
        "a hold must not split the recording"
    );
    assert!(
        (3500..=4500).contains(&info.duration_ms),
        "duration {} ms",
        info.duration_ms
    );
    let (left, right) = read_stereo(&rec.file_path(&info.path));
    // The hold is silence on both channels (digital zero: nothing was received).
    let hold_l = window(&left, 1.1, 1.9);
    let hold_r = window(&right, 1.1, 1.9);
    assert!(
        hold_l.iter().chain(hold_r).all(|&s| s == 0),
        "the hold is not silent"
    );
    // After the hold both sides are back where they belong: 2.0 s, not 1.0 s.
    assert_eq!(dominant(window(&left, 2.1, 2.9)), Some(440.0));
    assert_eq!(dominant(window(&right, 2.1, 2.9)), Some(1000.0));
    assert!(rms(window(&left, 2.1, 2.9)) > 4000.0 && rms(window(&right, 2.1, 2.9)) > 4000.0);
    // The quiet center: silence on the right while the left goes on.
    assert!(window(&right, 3.1, 3.9).iter().all(|&s| s == 0));
    assert!(rms(window(&left, 3.1, 3.9)) > 4000.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_still_completes_the_recording() {
    let dir = scratch("drop");
    let rec = Recorder::new(config(&dir)).unwrap();
    let (tap, handle) = rec.start_call(meta("dropped-1")).await.unwrap();
    let id = handle.id().expect("start_call waits for the row");
    assert_eq!(feed(tap, Leg::A, 440.0, Instant::now(), 0, 25, 0).await, 0);
    drop(handle);
    // The writer notices the dropped handle and finishes on its own.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = rec.catalogue().get(id).unwrap().unwrap();
        if row.state == State::Complete {
            assert!(
                (300..=700).contains(&row.duration_ms.unwrap()),
                "{:?}",
                row.duration_ms
            );
            break;
        }
        assert!(Instant::now() < deadline, "still {:?}", row.state);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The writer takes the tap on its own clock instead of waking for every frame (one
/// per relayed packet): frames wait in the channel until its tick, then all are
/// placed. The paused clock makes "before the tick" exact, with no sleep.
#[tokio::test(start_paused = true)]
async fn the_writer_takes_the_tap_on_its_clock_not_per_frame() {
    let dir = scratch("take-clock");
    let rec = Recorder::new(config(&dir)).unwrap();
    let (tap, handle) = rec.start_call(meta("take-1")).await.unwrap();
    let cap = tap.max_capacity();
    // The writer starts and takes its clock's first, immediate tick.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let now = Instant::now();
    for k in 0..10 {
        tap.try_send(tone_frame(Leg::A, 440.0, k, 0, now)).unwrap();
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        (tap.capacity(), rec.stats().frames),
        (cap - 10, 0),
        "the writer woke for frames before its tick"
    );
    // Its next tick (the clock advances by itself while everything waits).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!((tap.capacity(), rec.stats().frames), (cap, 10));
    drop(tap);
    let info = handle.finish().await.unwrap();
    assert_eq!((info.frames, info.frames_dropped), (10, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Many calls share few disk threads: with one thread for 48 calls, every chunk and
/// fsync waits its turn in the queue and still every recording is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_eight_calls_on_one_disk_thread_are_all_whole() {
    let dir = scratch("one-thread");
    let rec = Recorder::new(recorder::RecorderConfig {
        disk_threads: 1,
        ..config(&dir)
    })
    .unwrap();
    let start = Instant::now();
    let calls: Vec<_> = (0..48)
        .map(|i| {
            let rec = rec.clone();
            tokio::spawn(async move {
                let (tap, handle) = rec.start_call(meta(&format!("queued-{i}"))).await.unwrap();
                // 1.5 s of caller audio, then hang up.
                let refused = feed(tap, Leg::A, 440.0, start, 0, 75, i).await;
                (refused, handle.finish().await.unwrap())
            })
        })
        .collect();
    for c in calls {
        let (refused, info) = c.await.unwrap();
        assert_eq!(refused, 0, "{}: the tap refused frames", info.call_id);
        assert_eq!(info.state, State::Complete);
        assert_eq!(
            (info.frames, info.frames_dropped),
            (75, 0),
            "{}",
            info.call_id
        );
        let (left, _) = read_stereo(&rec.file_path(&info.path));
        assert!(
            left.len() >= 74 * 160,
            "{}: {} samples on the left",
            info.call_id,
            left.len()
        );
        assert_eq!(
            dominant(window(&left, 0.2, 1.2)),
            Some(440.0),
            "{}",
            info.call_id
        );
    }
    assert_eq!(rec.stats().completed, 48);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A new file's name survives a power cut only once its folder is fsynced; the folders
/// above (month, year, root) only matter when the day's folder is new. Three calls of
/// one day: the first syncs the four folders, the next two only the day's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_parent_folders_are_synced_once_not_per_call() {
    let dir = scratch("dirsync");
    let rec = Recorder::new(config(&dir)).unwrap();
    for i in 0..3 {
        let (tap, handle) = rec.start_call(meta(&format!("dirs-{i}"))).await.unwrap();
        assert_eq!(feed(tap, Leg::A, 440.0, Instant::now(), 0, 10, 0).await, 0);
        let info = handle.finish().await.unwrap();
        assert_eq!(info.state, State::Complete);
        let synced = rec.stats().dir_syncs;
        assert_eq!(synced, if i == 0 { 4 } else { 4 + i }, "after call {i}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The call never waits for the disk: while the file cannot be made (here the
/// free-space check blocks, as on a stalled disk), `begin` has returned, the call's
/// audio waits in memory, and all of it is in the file once the disk answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_disk_at_the_start_delays_the_file_not_the_call() {
    let dir = scratch("slow-open");
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let free_space = move |_: &std::path::Path| {
        // Bounded: a test that never releases fails instead of hanging.
        let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(10));
        Ok(u64::MAX)
    };
    let rec = Recorder::with_free_space(config(&dir), Arc::new(free_space)).unwrap();
    let (tap, mut handle) = rec.begin(meta("slow-open-1"));
    let start = Instant::now();
    // The first second of the call, while the file cannot be made.
    let refused = feed(tap.clone(), Leg::A, 440.0, start, 0, 50, 7).await;
    assert_eq!(
        refused, 0,
        "the tap refused frames while the disk was stalled"
    );
    assert_eq!(
        handle.id(),
        None,
        "the recording opened through a blocked disk"
    );
    assert!(wav_files(&rec.config().dir).is_empty());
    assert!(
        rec.stats().backlog_bytes > 0,
        "the first second is not held in memory"
    );
    release.send(()).unwrap();
    let id = handle.opened().await.expect("the recording was refused");
    // The second second, with the file there.
    let refused = feed(tap.clone(), Leg::A, 440.0, start, 50, 50, 7).await;
    assert_eq!(refused, 0);
    drop(tap);
    let info = handle.finish().await.unwrap();
    assert_eq!(info.id, id);
    assert!(
        (1800..=2300).contains(&info.duration_ms),
        "duration {} ms",
        info.duration_ms
    );
    let (left, _) = read_stereo(&rec.file_path(&info.path));
    for (from, to) in [(0.05, 0.95), (1.05, 1.75)] {
        let w = window(&left, from, to);
        assert_eq!(
            dominant(w),
            Some(440.0),
            "caller's tone missing at {from} s"
        );
        assert!(rms(w) > 4000.0, "caller is quiet at {from} s");
    }
    let s = rec.stats();
    assert_eq!((s.frames_dropped, s.backlog_bytes, s.completed), (0, 0, 1));
    std::fs::remove_dir_all(&dir).unwrap();
}
