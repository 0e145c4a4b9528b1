//! Retention with a virtual date: nothing is deleted without an approval, exactly the
//! approved files go, tombstones keep the hash, every step is audited, and bad
//! deletions change nothing.

mod support;

use media::Leg;
use recorder::{cli, CallMeta, Recorder, RecorderError, State};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::*;

const DAY: u64 = 86_400;

fn day(n: u64) -> SystemTime {
    // 2026-01-01 00:00 UTC plus n days.
    UNIX_EPOCH + Duration::from_secs(1_767_225_600 + n * DAY)
}

/// A short finished recording of a call started on virtual day `d`.
async fn record(rec: &Recorder, call_id: &str, d: u64) -> i64 {
    let meta = CallMeta {
        call_id: call_id.into(),
        number: "0246-22-1111".into(),
        caller: "0312345678".into(),
        started_at: day(d),
    };
    let (tap, handle) = rec.start_call(meta).await.unwrap();
    for k in 0..10 {
        tap.try_send(tone_frame(Leg::A, 440.0, k, 0, Instant::now()))
            .unwrap();
    }
    handle.finish().await.unwrap().id
}

fn exists(rec: &Recorder, id: i64) -> bool {
    let row = rec.catalogue().get(id).unwrap().unwrap();
    rec.file_path(&row.path).exists()
}

/// Everything that a refused deletion must leave alone.
fn snapshot(rec: &Recorder) -> (Vec<recorder::RecordingRow>, usize) {
    let f = recorder::SearchFilter {
        include_deleted: true,
        limit: 1000,
        ..Default::default()
    };
    (
        rec.catalogue().search(&f).unwrap(),
        rec.catalogue().audit_log(None, 1000).unwrap().len(),
    )
}

#[tokio::test]
async fn deletion_needs_an_approval_and_removes_only_what_was_approved() {
    let dir = scratch("retention");
    let rec = Recorder::new(config(&dir)).unwrap();
    assert_eq!(rec.config().retention_days, 92);
    let old1 = record(&rec, "old-1", 0).await;
    let old2 = record(&rec, "old-2", 5).await;
    let recent = record(&rec, "recent-1", 50).await;
    let today = day(100);

    // Day 100: the two older than 92 days are due, nothing is deleted by that.
    let req = rec.create_deletion_request(today, "suzuki").unwrap();
    let listed: Vec<i64> = req.items.iter().map(|r| r.id).collect();
    assert_eq!(listed, vec![old1, old2]);
    assert!(req.items.iter().all(|r| r.state == State::Due));
    assert!(exists(&rec, old1) && exists(&rec, old2) && exists(&rec, recent));
    // A second request while the first is pending has nothing new to list.
    assert!(matches!(
        rec.create_deletion_request(today, "suzuki"),
        Err(RecorderError::NothingDue)
    ));

    // A recording that becomes due after the request is not covered by its approval.
    let late = record(&rec, "old-3-late", 6).await;

    // Bad approvals change nothing.
    let before = snapshot(&rec);
    assert!(matches!(
        rec.approve(req.id + 100, "課長", "第1号", today),
        Err(RecorderError::UnknownRequest(_))
    ));
    assert!(matches!(
        rec.approve(req.id, "課長", "  ", today),
        Err(RecorderError::Invalid(_))
    ));
    assert!(matches!(
        rec.approve(req.id, "", "第1号", today),
        Err(RecorderError::Invalid(_))
    ));
    assert_eq!(snapshot(&rec), before);
    assert!(exists(&rec, old1) && exists(&rec, old2));

    let a = rec
        .approve(
            req.id,
            "市民協働課長 佐藤",
            "いわき市第123号",
            today + Duration::from_secs(3600),
        )
        .unwrap();
    assert_eq!(a.deleted, vec![old1, old2]);
    assert!(!exists(&rec, old1) && !exists(&rec, old2));
    assert!(
        exists(&rec, recent) && exists(&rec, late),
        "an unlisted recording was deleted"
    );
    for id in [old1, old2] {
        let t = rec.catalogue().get(id).unwrap().unwrap();
        assert_eq!(t.state, State::Deleted);
        assert_eq!(
            t.sha256.as_ref().map(String::len),
            Some(64),
            "the tombstone keeps the hash"
        );
        assert_eq!(t.deleted_by.as_deref(), Some("市民協働課長 佐藤"));
    }
    let stored = rec.deletion_request(req.id).unwrap();
    assert_eq!(stored.state, "approved");
    assert_eq!(stored.reference.as_deref(), Some("いわき市第123号"));
    // Approving twice is refused and changes nothing.
    let before = snapshot(&rec);
    assert!(matches!(
        rec.approve(req.id, "課長", "第2号", today),
        Err(RecorderError::AlreadyApproved(_))
    ));
    assert_eq!(snapshot(&rec), before);

    // The audit log tells the story, in order.
    let mut audit = rec.catalogue().audit_log(None, 100).unwrap();
    audit.reverse();
    let steps: Vec<(&str, Option<i64>)> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.recording_id))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("mark_due", Some(old1)),
            ("mark_due", Some(old2)),
            ("request_deletion", None),
            ("approve_deletion", None),
            ("delete", Some(old1)),
            ("delete", Some(old2)),
        ]
    );
    assert!(audit[2].who == "suzuki" && audit[3].detail.contains("いわき市第123号"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn early_deletion_needs_a_reason_and_bad_ones_change_nothing() {
    let dir = scratch("early");
    let rec = Recorder::new(config(&dir)).unwrap();
    let id = record(&rec, "early-1", 10).await;
    let now = day(11);

    let before = snapshot(&rec);
    assert!(matches!(
        rec.delete_one(9999, "sv", "mistake", now),
        Err(RecorderError::UnknownRecording(_))
    ));
    assert!(matches!(
        rec.delete_one(id, "sv", " ", now),
        Err(RecorderError::Invalid(_))
    ));
    assert_eq!(snapshot(&rec), before);
    assert!(exists(&rec, id));

    let row = rec.delete_one(id, "sv", "市民からの削除依頼", now).unwrap();
    assert_eq!(row.state, State::Deleted);
    assert!(!exists(&rec, id));
    assert!(row.delete_reason.unwrap().contains("市民からの削除依頼"));

    let before = snapshot(&rec);
    let e = rec.delete_one(id, "sv", "again", now).unwrap_err();
    assert!(matches!(e, RecorderError::AlreadyDeleted(_)));
    assert_eq!(e.to_string(), format!("recording {id} was already deleted"));
    assert_eq!(snapshot(&rec), before);

    // A recording still being written cannot be deleted.
    let meta = CallMeta {
        call_id: "live-1".into(),
        number: "n".into(),
        caller: "c".into(),
        started_at: now,
    };
    let (_tap, live) = rec.start_call(meta).await.unwrap();
    assert!(matches!(
        rec.delete_one(
            live.id().expect("start_call waits for the row"),
            "sv",
            "x",
            now
        ),
        Err(RecorderError::StillRecording(_))
    ));
    live.finish().await.unwrap();

    let audit = rec.catalogue().audit_log(Some(id), 10).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].who.as_str()),
        ("delete_early", "sv")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn command_line_functions_print_what_they_did() {
    let dir = scratch("cli");
    let rec = Recorder::new(config(&dir)).unwrap();
    let old = record(&rec, "cli-old", 0).await;
    let new = record(&rec, "cli-new", 99).await;
    let now = day(100);

    let out = cli::list(&rec, &cli::ListArgs::default()).unwrap();
    assert!(
        out.contains("cli-old.wav")
            && out.contains("cli-new.wav")
            && out.ends_with("2 recordings\n"),
        "{out}"
    );
    let a = cli::ListArgs {
        from: Some("2026-04-01".into()),
        ..Default::default()
    };
    assert!(cli::list(&rec, &a).unwrap().ends_with("1 recordings\n"));
    let bad = cli::ListArgs {
        to: Some("4月1日".into()),
        ..Default::default()
    };
    assert!(cli::list(&rec, &bad)
        .unwrap_err()
        .to_string()
        .contains("must be a date like"));

    let out = cli::request_deletion(&rec, "suzuki", now).unwrap();
    assert!(
        out.starts_with("deletion request 1 by suzuki: 1 recordings"),
        "{out}"
    );
    assert!(exists(&rec, old));
    let out = cli::approve(&rec, 1, "課長", "第7号", now).unwrap();
    assert!(out.contains("1 recordings deleted"), "{out}");
    assert!(!exists(&rec, old) && exists(&rec, new));
    let out = cli::delete(&rec, new, "sv", "test call", now).unwrap();
    assert!(out.contains("tombstone kept"), "{out}");
    assert!(cli::delete(&rec, new, "sv", "test call", now).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
