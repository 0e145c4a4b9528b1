//! A full disk stops new recordings with an alarm, never the call: the recording's
//! handle (or `start_call`) returns an error (the switch goes on without recording), nothing panics, nothing is
//! left behind, and the alarm clears once there is room again.

mod support;

use recorder::{CallMeta, Recorder, RecorderConfig, RecorderError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use support::*;

fn meta(id: &str) -> CallMeta {
    CallMeta {
        call_id: id.into(),
        number: "0246-22-1111".into(),
        caller: "".into(),
        started_at: SystemTime::now(),
    }
}

#[tokio::test]
async fn a_full_disk_refuses_recordings_and_raises_the_alarm() {
    let dir = scratch("full");
    let free = Arc::new(AtomicU64::new(10 * 1024 * 1024));
    let f = free.clone();
    let cfg = RecorderConfig {
        disk_min_free_bytes: 64 * 1024 * 1024,
        ..config(&dir)
    };
    let rec =
        Recorder::with_free_space(cfg.clone(), Arc::new(move |_| Ok(f.load(Ordering::SeqCst))))
            .unwrap();

    // As the switch does it: the call's audio flows into the tap at once.
    let (tap, mut h) = rec.begin(meta("full-1"));
    let start = std::time::Instant::now();
    for k in 0..5 {
        let _ = tap.try_send(tone_frame(media::Leg::A, 440.0, k, 0, start));
    }
    assert_eq!(h.opened().await, None, "a recording opened on a full disk");
    let e = h
        .finish()
        .await
        .expect_err("a recording finished on a full disk");
    // The relay finds the tap closed and lets it go; the refused audio is not backlog.
    assert!(tap.is_closed());
    assert_eq!(rec.stats().backlog_bytes, 0);
    assert!(
        matches!(
            e,
            RecorderError::DiskFull {
                free: 10_485_760,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("recording refused"), "{e}");
    assert!(rec.disk_alarm());
    let s = rec.stats();
    assert_eq!((s.refused, s.started, s.active), (1, 0, 0));
    assert!(s.to_prometheus().contains("recorder_disk_alarm 1\n"));
    // No file, no catalogue row for the unrecorded call.
    assert!(wav_files(&cfg.dir).is_empty());
    assert!(rec.catalogue().get_by_call_id("full-1").unwrap().is_none());

    // Space is freed: the next call is recorded and the alarm clears.
    free.store(1 << 40, Ordering::SeqCst);
    let (_tap, h) = rec.start_call(meta("full-2")).await.unwrap();
    assert!(!rec.disk_alarm());
    h.finish().await.unwrap();
    assert_eq!(rec.stats().completed, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_unreadable_free_space_also_refuses_without_panicking() {
    let dir = scratch("statfail");
    let rec = Recorder::with_free_space(
        config(&dir),
        Arc::new(|_| Err(std::io::Error::other("statvfs failed"))),
    )
    .unwrap();
    assert!(matches!(
        rec.start_call(meta("x")).await,
        Err(RecorderError::Io(_))
    ));
    assert_eq!(rec.stats().refused, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_same_call_id_twice_is_refused_and_leaves_the_first_alone() {
    let dir = scratch("dup");
    let rec = Recorder::new(config(&dir)).unwrap();
    let (_tap, h) = rec.start_call(meta("dup-1")).await.unwrap();
    assert!(matches!(
        rec.start_call(meta("dup-1")).await,
        Err(RecorderError::DuplicateCall(_))
    ));
    assert_eq!(
        wav_files(&rec.config().dir).len(),
        1,
        "the refused call left a file"
    );
    h.finish().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
