//! The operators' desk in real Chromium (tests/history-browser/run.mjs, playwright-core)
//! with a real call, beside the real switch and FAQ site: the administrator creates the
//! operator's account for agent 1001, the operator's desk shows their state, the
//! directory (the switch's) and FAQ answers (the FAQ site's API); a baresip citizen dials
//! the city hall number, the switch rings the baresip operator 1001, the pop and the
//! after-call-work form appear, the record is saved, the state buttons end the after-call
//! work and pause with a reason (the switch logs them as the desk's), the record is
//! found by a search. Missing node, chromium or playwright-core is a failure, not a skip
//! (.ci/history-deps.sh installs them).

mod common;
#[path = "history_support.rs"]
mod history_support;

use common::{baresip_caller, baresip_operator, no_greeting, repo_root, tone_wav, Switch};
use history_support::History;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn desk_pops_on_a_real_call_and_the_saved_record_is_found() {
    let root = repo_root();
    assert!(
        root.join("tests/history-browser/node_modules/playwright-core/package.json")
            .exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "run .ci/history-deps.sh first (chromium, node, playwright-core)"
    );
    let sw = Switch::start_with_faq("history-browser", no_greeting);
    let history = History::start(&sw, "history-browser-desk");
    let wav = sw.dir.join("tone.wav");
    tone_wav(&wav, 440.0, 90.0);
    let _op = baresip_operator(&sw, "1001", &wav, 90);
    sw.wait_for("operator 1001 registered", 15, |s| s.registered("1001"));

    // The FAQ site is serve's child: it seeds its database and writes its certificate
    // after the switch's banner. Wait for it (bounded).
    let faq = sw.faq.expect("the FAQ site beside the switch");
    let t0 = std::time::Instant::now();
    while !(sw.dir.join("data/faq/tls/cert.pem").exists()
        && std::net::TcpStream::connect(faq).is_ok())
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the FAQ site did not come up; switch log:\n{}",
            sw.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut node = Command::new("node")
        .arg("tests/history-browser/run.mjs")
        .current_dir(&root)
        .env(
            "HISTORY_URL",
            format!("https://127.0.0.1:{}", history.addr.port()),
        )
        .env("HISTORY_USER", "admin")
        .env("HISTORY_PASSWORD", history.admin_password())
        .env("HISTORY_AGENT", "1001")
        .env("HISTORY_OPERATOR_PASSWORD", "desk-op-1001-pw")
        .env(
            "HISTORY_ARTIFACTS",
            root.join("tests/artifacts/history-browser"),
        )
        .env("HISTORY_LINE", "市代表")
        .env("HISTORY_DIALLED", "0246221111")
        .env("HISTORY_CALLER", "0312345678")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let (tx, rx) = mpsc::channel::<String>();
    let out = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let errors = node.stderr.take().unwrap();
    let err_text = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(errors), &mut s);
        s
    });
    let fail = |what: &str, node: &mut std::process::Child| -> ! {
        let _ = node.kill();
        let _ = node.wait();
        panic!("{what}; history log:\n{}", history.log());
    };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(l) if l == "READY" => {}
        other => fail(
            &format!("the desk page did not get ready: {other:?}"),
            &mut node,
        ),
    }
    // A short call: the after-call work starts when it ends.
    let _caller = baresip_caller(&sw, "citizen", "0246221111", &wav, 8, "PCMU");
    let mut ok = false;
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(90)) {
        if l == "OK" {
            ok = true;
            break;
        }
    }
    let status = node.wait().unwrap();
    let stderr = err_text.join().unwrap_or_default();
    assert!(
        ok && status.success(),
        "browser test failed ({status}):\n{stderr}\nhistory log:\n{}",
        history.log()
    );
    // The state changes reached the switch as the desk's, in order.
    let log = sw.log();
    let ops: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("agent control") && l.contains("desk:op1001"))
        .collect();
    let pos = |op: &str| {
        ops.iter()
            .position(|l| l.contains(op))
            .unwrap_or(usize::MAX)
    };
    assert!(
        ops.len() == 3
            && ops.iter().all(|l| l.contains("ok=true"))
            && pos("EndWrapUp") < pos("Pause(\"研修\")")
            && pos("Pause(\"研修\")") < pos("Unpause")
            && pos("Unpause") != usize::MAX,
        "the switch's log of the desk's buttons: {ops:#?}"
    );
    history.stop();
}
