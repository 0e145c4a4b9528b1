//! The satisfaction survey with real agents (issue 15 item 7): on the main number, with
//! `survey = true`, operator 1001 (PJSIP) hangs up first; the citizen (baresip) hears the
//! question and presses 4 (an RFC 4733 event from baresip's keypad, through its UDP
//! console); the switch thanks them and hangs up, and the call's record carries the
//! rating that the satisfaction figure counts.

mod common;
use common::pjsua::*;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn survey_on_main_line(t: String) -> String {
    let anchor = "name = \"市代表\"\nqueue = \"general\"\n";
    assert!(
        t.contains(anchor),
        "the main number in the default configuration"
    );
    no_greeting(t).replace(anchor, &format!("{anchor}survey = true\n"))
}

/// The finished records of citizens' calls, once there are `n` (bounded wait).
fn citizen_records(dir: &std::path::Path, n: usize) -> Vec<stats::CallRecord> {
    let db = dir.join("data/calls.sqlite");
    let t0 = Instant::now();
    loop {
        if db.exists() {
            let store = stats::Store::open(&db).expect("the call records");
            let v: Vec<_> = store
                .range(0, u64::MAX)
                .unwrap()
                .into_iter()
                .filter(|r| r.origin == stats::record::Origin::Citizen)
                .collect();
            if v.len() >= n {
                return v;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no record of the citizen's call in {}",
            db.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The switch with the survey on the main number, the citizen's tone, and operator 1001
/// (PJSIP, 1,000 Hz) registered, answering and hanging up `leave_after` seconds later.
struct Rig {
    sw: Switch,
    dir: PathBuf,
    t440: PathBuf,
    op: Pjsua,
}

fn rig(name: &str, leave_after: u32) -> Rig {
    let sw = Switch::start(name, survey_on_main_line);
    let dir = sw.dir.clone();
    let (t440, t1000) = (dir.join("440.wav"), dir.join("1000.wav"));
    tone_wav(&t440, 440.0, 60.0);
    tone_wav(&t1000, 1000.0, 60.0);
    let args = operator_args(
        &sw,
        "1001",
        &[
            "--auto-answer",
            "--play",
            &t1000.display().to_string(),
            "--hangup-after",
            &leave_after.to_string(),
            "--exit-after",
            "40",
        ],
    );
    let mut op = Pjsua::start(&dir, "op1001", &args);
    register(&sw, &mut op, "1001");
    Rig { sw, dir, t440, op }
}

#[test]
fn the_citizen_rates_the_call_with_a_key_after_the_operator_hangs_up() {
    let Rig {
        sw,
        dir,
        t440,
        mut op,
    } = rig("survey-key", 5);
    let console = free_port();
    let citizen = Baresip::start_with(
        &dir,
        BaresipOpts {
            name: "citizen",
            account: "<sip:0312345678@127.0.0.1>;regint=0;audio_codecs=PCMU".into(),
            tone: &t440,
            commands: vec![format!("/dial sip:0246221111@{}", sw.trunk)],
            quit_after: Some(45),
        },
        &format!("module cons.so\ncons_listen 127.0.0.1:{console}\n"),
    );
    op.wait_event("the operator answered", 20, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    op.wait_event("the operator hung up first", 20, |e| is(e, "disconnected"));
    // The question is playing; the citizen answers before it ends.
    std::thread::sleep(Duration::from_secs(3));
    let keypad = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // The key, then its release (baresip's KEYCODE_REL, 0x04): the RFC 4733 event ends
    // with the release, and the switch takes the digit from the event's end packets.
    keypad
        .send_to(b"4", ("127.0.0.1", console))
        .expect("baresip's console");
    std::thread::sleep(Duration::from_millis(200));
    keypad.send_to(&[0x04], ("127.0.0.1", console)).unwrap();
    // The switch thanks the citizen and hangs up, long before baresip would quit.
    sw.wait_for("the call to end", 25, |s| s.idle());
    let recs = citizen_records(&dir, 1);
    let r = &recs[0];
    assert_eq!(
        r.survey,
        Some(4),
        "the rating in the record: {r:?}\nswitch log:\n{}\nbaresip log:\n{}",
        tail(&sw.log(), 30),
        tail(&citizen.log(), 30)
    );
    assert_eq!(r.agent.as_deref(), Some("1001"));
    assert_eq!(r.ended_by, stats::record::Party::Switch, "we said goodbye");
    let left = r.operator_left_ms.expect("the operator left first");
    assert!(
        left < r.ended_ms,
        "the survey came after the operator: {r:?}"
    );
    // The citizen heard the thanks (the whole prompt, by its loudness contour).
    let rx = citizen.received_wavs();
    assert!(!rx.is_empty(), "{}", tail(&citizen.log(), 30));
    let thanks =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../prompts/ja/survey-thanks.wav");
    let score = contains_prompt(&rx[0], &thanks);
    assert!(score > 0.8, "the thanks were not heard (match {score:.2})");
    assert!(sw.rtp_ports_all_free());
}

#[test]
fn a_rating_sent_as_sip_info_by_a_pjsip_phone_is_taken_too() {
    let Rig { sw, dir, t440, op } = rig("survey-info", 4);
    // The citizen presses 2 as SIP INFO (application/dtmf-relay) 8 s into the call: the
    // operator has left by then and the question is playing.
    let mut citizen = Pjsua::start(
        &dir,
        "citizen",
        &caller_args(
            &sw,
            "0246221111",
            &[
                "--play",
                &t440.display().to_string(),
                "--dtmf",
                "2",
                "--dtmf-after",
                "8",
                "--dtmf-method",
                "info",
                "--exit-after",
                "40",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    let gone = citizen.wait_event("the switch hung up", 35, |e| is(e, "disconnected"));
    let info = citizen.find(|e| is(e, "tsx") && e["method"] == "INFO");
    assert!(
        info.as_ref().is_some_and(|i| i["code"] == 200),
        "the INFO was answered 200: {info:?}\n{}",
        citizen.report()
    );
    let recs = citizen_records(&dir, 1);
    assert_eq!(recs[0].survey, Some(2), "{:?}\n{gone}", recs[0]);
    assert!(
        op.find(|e| is(e, "disconnected")).is_some(),
        "the operator left first"
    );
}
