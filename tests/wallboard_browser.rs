//! The wallboard in real Chromium (tests/stats-browser/run.mjs, playwright-core) against
//! the built switch: a supervisor's board shows, a baresip caller arrives and waits in
//! the queue, and the board shows the waiting caller within 2 s of the switch's API;
//! today's figures come from the call records; the reports page shows a day and its
//! xlsx download holds the figures.
//! Missing node, chromium or playwright-core is a failure: `.ci/stats-deps.sh` installs
//! them. Screenshots are kept in tests/artifacts/wallboard/.

mod common;
mod stats_records;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn require_tools(root: &Path) {
    let mut missing = Vec::new();
    if !Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        missing.push("node");
    }
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("/usr/bin/chromium");
    }
    if !root
        .join("tests/stats-browser/node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push("tests/stats-browser/node_modules/playwright-core");
    }
    assert!(
        missing.is_empty(),
        "missing {}: run .ci/stats-deps.sh (as root)",
        missing.join(", ")
    );
}

#[test]
fn a_call_arriving_changes_the_wallboard_in_chromium() {
    let root = repo_root();
    require_tools(&root);
    // Four calls of today (the switch's clock starts 2026-11-25 10:00) are already in
    // the records: 3 answered of 4, ASA 8 s.
    let sw = Switch::start("wallboard-browser", |t| {
        let data = t
            .lines()
            .find_map(|l| l.strip_prefix("data_dir = \""))
            .and_then(|v| v.split('"').next())
            .expect("data_dir in the configuration")
            .to_string();
        std::fs::create_dir_all(&data).unwrap();
        stats_records::write_records(&Path::new(&data).join("calls.sqlite"));
        t
    });
    let login = std::fs::read_to_string(sw.login_file()).unwrap();
    let mut l = login.lines();
    let (user, password) = (l.next().unwrap().to_string(), l.next().unwrap().to_string());
    let artifacts = root.join("tests/artifacts/wallboard");
    let ready = sw.dir.join("browser-ready");
    let mut node = Command::new("node")
        .arg("tests/stats-browser/run.mjs")
        .current_dir(&root)
        .env("MG_URL", format!("http://{}", sw.http))
        .env("MG_USER", &user)
        .env("MG_PASSWORD", &password)
        .env("MG_ARTIFACTS", &artifacts)
        .env("MG_READY", &ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    // When the board is up, a citizen calls the city hall's number; nobody is logged in,
    // so after the greeting the caller waits in line.
    let t0 = Instant::now();
    let mut caller = None;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if caller.is_none() && ready.exists() {
            let tone = sw.dir.join("tone.wav");
            tone_wav(&tone, 440.0, 60.0);
            caller = Some(baresip_caller(
                &sw,
                "caller",
                "0246221111",
                &tone,
                50,
                "PCMU",
            ));
        }
        if node.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = node.wait_with_output().unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    if let Some(mut c) = caller {
        let _ = c.child.kill();
        let _ = c.child.wait();
    }
    assert!(
        out.status.success(),
        "browser test failed after {:?}; screenshots in {}; switch log:\n{}",
        t0.elapsed(),
        artifacts.display(),
        tail(&sw.log(), 30)
    );
    for shot in [
        "01-board-idle.png",
        "02-board-call-waiting.png",
        "03-board-tablet.png",
        "04-reports.png",
        "05-recordings-tablet.png",
        "06-recording-player.png",
    ] {
        let len = artifacts
            .join(shot)
            .metadata()
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 1000, "screenshot {shot}");
    }
}
