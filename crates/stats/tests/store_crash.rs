//! The call records survive kill -9: a child process (this test binary, started again)
//! writes 100 finished calls and prints each uid after `insert` returns; the parent kills
//! it with SIGKILL part-way. Every uid printed must be in the database, the database must
//! open cleanly, and ids given after the restart must not repeat earlier ones.

mod common;

use common::*;
use stats::record::{Phase, Resolution};
use stats::Store;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "STATS_CRASH_CHILD_DB";

/// In the child: write 100 records, announcing each one after it is committed.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // run as an ordinary test: nothing to do
    };
    let store = Store::open(std::path::Path::new(&path)).unwrap();
    // With GROUP set, records go in groups of that many through `insert_all` (the
    // service's group commit), announced after the group's commit returned.
    let group: usize = std::env::var(GROUP_ENV)
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(1);
    let mut out = std::io::stdout().lock();
    let records: Vec<_> = (0..100u64)
        .map(|i| {
            answered(
                call(
                    &format!("crash-{i}"),
                    "市代表",
                    at(2026, 11, 25, 9, 0, i as u32),
                ),
                5,
                30,
                10,
            )
        })
        .collect();
    for chunk in records.chunks(group) {
        let ids: Vec<i64> = if group == 1 {
            vec![store.insert(&chunk[0]).unwrap()]
        } else {
            let refs: Vec<_> = chunk.iter().collect();
            store
                .insert_all(&refs)
                .unwrap()
                .into_iter()
                .map(Result::unwrap)
                .collect()
        };
        for (id, r) in ids.iter().zip(chunk) {
            writeln!(out, "{id} {}", r.uid).unwrap();
        }
        out.flush().unwrap();
        // Leave time for the parent to kill us in the middle of the run.
        std::thread::sleep(std::time::Duration::from_millis(5 * group as u64));
    }
}

const GROUP_ENV: &str = "STATS_CRASH_GROUP";

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn kill_9_loses_no_finished_record_and_ids_stay_unique() {
    kill_9_part_way("crash", 1);
}

/// The same with records committed in groups of four (the service's group commit).
#[test]
fn kill_9_loses_no_record_of_a_group_commit() {
    kill_9_part_way("crash-group", 4);
}

fn kill_9_part_way(name: &str, group: usize) {
    let dir = temp_dir(name);
    let db = dir.join("calls.sqlite");
    // Create it first so the child and the parent agree on the file.
    drop(Store::open(&db).unwrap());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .env(GROUP_ENV, group.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    // The test harness prints a header line first; records are "<id> crash-N".
    while acked.len() < 40 {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some((id, uid)) = line
            .split_once(' ')
            .filter(|(_, u)| u.starts_with("crash-"))
        {
            acked.push((id.parse::<i64>().unwrap(), uid.to_string()));
        }
    }
    // SIGKILL: no destructor, no checkpoint.
    child.kill().unwrap();
    child.wait().unwrap();
    // Anything the child printed before dying was committed too.
    for line in lines.map_while(Result::ok) {
        if let Some((id, uid)) = line
            .split_once(' ')
            .filter(|(_, u)| u.starts_with("crash-"))
        {
            acked.push((id.parse::<i64>().unwrap(), uid.to_string()));
        }
    }
    assert!(
        acked.len() >= 40 && acked.len() < 100,
        "killed part-way: {}",
        acked.len()
    );

    let store = Store::open(&db).unwrap();
    for (_, uid) in &acked {
        let r = store
            .get(uid)
            .unwrap()
            .unwrap_or_else(|| panic!("{uid} lost"));
        assert_eq!(r.answered_ms, Some(r.arrived_ms + 5_000));
    }
    let before = store.count().unwrap();
    assert!(before >= acked.len() as u64);

    // After the restart: new ids are above every earlier one, and writing a uid again
    // (a replay) keeps one row and its id.
    let max_before = acked.iter().map(|(id, _)| *id).max().unwrap();
    let r = answered(
        call("after-restart", "市代表", at(2026, 11, 25, 10, 0, 0)),
        2,
        10,
        0,
    );
    let id = store.insert(&r).unwrap();
    assert!(id > max_before, "id {id} reused (max before {max_before})");
    assert_eq!(store.insert(&r).unwrap(), id);
    assert_eq!(store.count().unwrap(), before + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn joined_fields_and_masking() {
    let dir = temp_dir("join");
    let store = Store::open(&dir.join("calls.sqlite")).unwrap();
    let old = answered(call("old", "市代表", at(2026, 8, 1, 9, 0, 0)), 5, 30, 0);
    let new = answered(call("new", "市代表", at(2026, 11, 25, 9, 0, 0)), 5, 30, 0);
    let mut gone = abandoned(
        call("gone", "市代表", at(2026, 8, 2, 9, 0, 0)),
        10,
        Phase::Queue,
    );
    gone.callback_number = Some("09012345678".into());
    for r in [&old, &new, &gone] {
        store.insert(r).unwrap();
    }
    store
        .set_wrapup_end("new", new.operator_left_ms.unwrap() + 45_000)
        .unwrap();
    store.set_survey("new", 4).unwrap();
    store.set_resolution("new", Resolution::Completed).unwrap();
    assert!(matches!(
        store.set_survey("new", 6),
        Err(stats::StoreError::Survey(6))
    ));
    assert!(matches!(
        store.set_survey("nope", 3),
        Err(stats::StoreError::Unknown(_))
    ));
    let n = store.get("new").unwrap().unwrap();
    assert_eq!(
        (n.survey, n.resolution),
        (Some(4), Some(Resolution::Completed))
    );
    assert_eq!(n.after_call_work_ms(), Some(45_000));

    // Recordings are kept 92 days: on 2026-11-25 the August calls are past it.
    let cutoff = at(2026, 11, 25, 0, 0, 0) - 92 * 86_400_000;
    assert_eq!(store.mask_callers_before(cutoff).unwrap(), 2);
    assert_eq!(store.get("old").unwrap().unwrap().caller, "0246******");
    assert_eq!(
        store
            .get("gone")
            .unwrap()
            .unwrap()
            .callback_number
            .as_deref(),
        Some("0901*******")
    );
    assert_eq!(store.get("new").unwrap().unwrap().caller, "0246991234");
    // Already masked rows are not touched again.
    assert_eq!(store.mask_callers_before(cutoff).unwrap(), 0);

    let all = store.range(0, u64::MAX).unwrap();
    assert_eq!(
        all.iter().map(|r| r.uid.as_str()).collect::<Vec<_>>(),
        ["old", "gone", "new"]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("calls.sqlite"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
