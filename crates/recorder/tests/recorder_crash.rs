//! kill -9 during 20 concurrent recordings: every file is playable (before and after
//! the start-up repair) and holds audio up to about a second before the kill.
//!
//! The test runs twice: as the parent (no environment variable) and, started by the
//! parent as this same test binary filtered to this one test, as the child that records
//! (RECORDER_CRASH_CHILD=dir), which the parent kills with SIGKILL.

mod support;

use media::Leg;
use recorder::{CallMeta, Recorder, State};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use support::*;

const CALLS: usize = 20;
const ENV: &str = "RECORDER_CRASH_CHILD";

/// The child prints this line once every call is recording.
const STARTED: &str = "recorder-crash-child: started";

/// One test under the standard harness, so that filters, `--skip`, `--test-threads`,
/// `--list` and `--format json` treat it like any other test (it runs, is listed, or is
/// reported as filtered out; it never passes without running). In the child it records.
#[test]
fn kill_9_during_20_recordings() {
    match std::env::var(ENV) {
        Ok(dir) => child(Path::new(&dir)),
        Err(_) => parent(),
    }
}

/// Records 20 calls of 440 Hz (caller) and 1,000 Hz (center) until killed.
fn child(dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = Recorder::new(config(dir)).unwrap();
        let start = Instant::now();
        let mut handles = Vec::new();
        for i in 0..CALLS {
            let meta = CallMeta {
                call_id: format!("crash-{i}@test"),
                number: "0246-22-1111".into(),
                caller: format!("0901234{i:04}"),
                started_at: SystemTime::now(),
            };
            let (tap, handle) = rec.start_call(meta).await.unwrap();
            tokio::spawn(feed(tap.clone(), Leg::A, 440.0, start, 0, 3000, i as u32));
            tokio::spawn(feed(tap, Leg::B, 1000.0, start, 0, 3000, 77 * i as u32));
            handles.push(handle);
        }
        // Straight to the pipe: the harness's capture of `println!` would hold it back.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{STARTED}");
        let _ = out.flush();
        tokio::time::sleep(Duration::from_secs(60)).await;
        // Never reached: the parent kills us long before.
        drop(handles);
    });
}

fn parent() {
    // sox is the independent reader of the repaired files: without it the test fails
    // (scripts/test.sh installs it) rather than quietly checking less.
    let sox = Command::new("sox").arg("--version").output();
    assert!(
        sox.as_ref().is_ok_and(|o| o.status.success()),
        "sox is required by this test (apt-get install sox; scripts/test.sh does it): {sox:?}"
    );
    let dir = scratch("crash");
    let spawned = Instant::now();
    // The same test binary, filtered to this one test, as the recording child.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_9_during_20_recordings",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, &dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The harness prints its own lines first ("running 1 test", the test's name).
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the child ended before recording:\n{seen}");
        if line.trim_end().ends_with(STARTED) {
            break;
        }
        seen.push_str(&line);
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(3200));
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no final header.
    let killed = Instant::now();
    child.wait().unwrap();
    // The audio that existed at the kill: between these two, by how the child started.
    let at_least = (killed - started).as_secs_f64();
    let at_most = (killed - spawned).as_secs_f64();

    let cfg = config(&dir);
    let files = wav_files(&cfg.dir);
    assert_eq!(files.len(), CALLS);
    // Before any repair, the header rewritten every half second already makes each
    // file readable up to within a second of the kill.
    for f in &files {
        let (left, _) = read_stereo(f);
        let secs = left.len() as f64 / 8000.0;
        assert!(
            secs >= at_least - 1.0,
            "{}: only {secs:.2} s readable before repair",
            f.display()
        );
    }

    let rec = Recorder::new(cfg.clone()).unwrap();
    assert_eq!(
        rec.catalogue().in_state(State::Recording).unwrap().len(),
        CALLS
    );
    let report = rec.repair_on_start().unwrap();
    assert_eq!(report.repaired.len(), CALLS);
    assert!(report.orphans.is_empty());
    assert!(rec
        .catalogue()
        .in_state(State::Recording)
        .unwrap()
        .is_empty());

    for info in &report.repaired {
        let path = rec.file_path(&info.path);
        assert_eq!(info.state, State::Interrupted);
        let secs = info.duration_ms as f64 / 1000.0;
        assert!(
            secs >= at_least - 1.0 && secs <= at_most + 0.1,
            "{}: {secs:.2} s of audio, the kill came after {at_least:.2}–{at_most:.2} s",
            info.call_id
        );
        let (left, right) = read_stereo(&path);
        assert_eq!(left.len() as u64, info.duration_ms * 8);
        // The tone goes on to the very end of what was kept: no silence before the cut.
        let end = secs;
        for (from, to) in [(0.1, 0.5), (end - 0.5, end - 0.1)] {
            assert_eq!(
                dominant(window(&left, from, to)),
                Some(440.0),
                "{} left {from:.1} s",
                info.call_id
            );
            assert_eq!(
                dominant(window(&right, from, to)),
                Some(1000.0),
                "{} right {from:.1} s",
                info.call_id
            );
            assert!(
                rms(window(&left, from, to)) > 4000.0,
                "{} left quiet at {from:.1} s",
                info.call_id
            );
            assert!(
                rms(window(&right, from, to)) > 4000.0,
                "{} right quiet at {from:.1} s",
                info.call_id
            );
        }
        let row = rec.catalogue().get(info.id).unwrap().unwrap();
        assert_eq!(row.state, State::Interrupted);
        assert_eq!(
            row.sha256.as_deref(),
            Some(recorder::disk::sha256_file(&path).unwrap().as_str())
        );
        let out = Command::new("sox").arg("--i").arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "sox refused {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("Channels       : 2") && text.contains("Sample Rate    : 8000"),
            "{text}"
        );
    }
    let kept: Vec<f64> = report
        .repaired
        .iter()
        .map(|i| i.duration_ms as f64 / 1000.0)
        .collect();
    let (lo, hi) = kept
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    eprintln!(
        "killed after {at_least:.2}–{at_most:.2} s of recording; files keep {lo:.2}–{hi:.2} s"
    );
    // Every repair is in the audit log.
    let audit = rec.catalogue().audit_log(None, 100).unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "repair").count(), CALLS);
    // A second start finds nothing left to repair.
    let again = rec.repair_on_start().unwrap();
    assert!(again.repaired.is_empty() && again.orphans.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
