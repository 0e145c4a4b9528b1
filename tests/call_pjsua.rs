//! Calls through the switch with a second, independent SIP stack: PJSIP (pjsua2's Python
//! bindings, `tests/agents/pjsua_agent.py`), next to baresip (libre) of `call_baresip.rs`.
//! A different stack sends differently shaped messages (RFC 5626 `;ob` contacts,
//! `Supported: timer`, its own re-INVITE offers), so what passes with both is behaviour
//! of the switch, not an accident of one peer.
//!
//! The switch runs in hunt-group mode (`no_greeting`): the caller is answered only when
//! an operator answers, so these tests are about the B2BUA legs, not the announcements.
//!
//! The agent prints one JSON line per event (registration, incoming INVITE with its raw
//! headers, call states, media states, finished transactions with the SDP direction of
//! the response); the tests wait on those events, bounded, and check the recordings'
//! frequencies. Each agent's files are under `target/tmp/e2e/<test>-<pid>/<agent>/`:
//! `events.jsonl`, `pjsua.log` (PJSIP's log with every SIP message), the WAVs.

mod common;
use common::pjsua::*;
use common::*;
use serde_json::Value;
use std::path::Path;

/// The frequencies the tests tell apart: the caller plays 440 Hz, operators 1,000 Hz.
const TONES: [f64; 2] = [440.0, 1000.0];

fn tones(dir: &Path) -> (String, String) {
    let (a, b) = (dir.join("440.wav"), dir.join("1000.wav"));
    tone_wav(&a, 440.0, 20.0);
    tone_wav(&b, 1000.0, 20.0);
    (a.display().to_string(), b.display().to_string())
}

#[test]
fn pjsua_operator_and_baresip_caller_hear_each_other_and_the_operator_sees_the_number() {
    let sw = Switch::start("pjsua-basic", no_greeting);
    let dir = sw.dir.clone();
    // The caller (baresip) plays 440.wav from the folder; the operator 1000.wav.
    let (_, t1000) = tones(&dir);
    let mut op = operator(
        &sw,
        &dir,
        "1003",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--record",
            "rx.wav",
            "--exit-after",
            "45",
            "--exit-after-calls",
            "1",
        ],
    );

    // 勿来支所 0246-63-2111, national form, from baresip: two different stacks on the legs.
    let mut caller = Baresip::start(
        &dir,
        BaresipOpts {
            name: "caller",
            account: "<sip:0312345678@127.0.0.1>;regint=0;audio_codecs=PCMU".into(),
            tone: &dir.join("440.wav"),
            commands: vec![format!("/dial sip:0246632111@{}", sw.trunk)],
            quit_after: Some(8),
        },
    );
    sw.wait_for("the call to be up", 15, |s| s.status()["calls_active"] == 1);
    op.wait_event("the operator's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    // While the call is up the switch holds its media sockets (two legs: RTP + RTCP
    // each), which also shows that the port check after the call can see a leak.
    let held = udp_ports_of(sw.child.id(), sw.rtp);
    assert!(
        held.len() >= 4,
        "switch media sockets during the call: {held:?}"
    );

    // What the operator's phone was told: the dialled number and its name.
    let inc = op.find(|e| is(e, "incoming")).expect("incoming event");
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246632111", "{inc}");
    let from = inc["from"].as_str().unwrap_or_default();
    assert!(
        from.starts_with("\"勿来支所\" <sip:+81246632111@"),
        "From at the operator: {from}"
    );

    // baresip quits after 8 s with a BYE; the switch must end the operator's leg too.
    assert!(
        caller.wait_exit(25),
        "caller did not finish; log:\n{}",
        tail(&caller.log(), 40)
    );
    assert_call_ended(&sw);
    let bye = op.wait_event("a BYE at the operator", 5, |e| {
        is(e, "tsx") && e["role"] == "uas" && e["method"] == "BYE"
    });
    assert_eq!(bye["code"], 200, "{bye}");
    op.wait_event("the operator's leg DISCONNECTED", 5, |e| {
        is(e, "disconnected")
    });
    assert!(
        op.wait_exit(10),
        "operator agent did not exit\n{}",
        op.report()
    );

    // Audio both ways, by frequency (not just "not silent").
    let rx = op.path("rx.wav");
    let (f, loud) = dominant_between(&rx, 0.0, f64::MAX, &TONES);
    assert!(
        loud > 2 * rate(&rx),
        "operator received too little audio ({loud} loud samples)\n{}",
        op.report()
    );
    assert_eq!(f, Some(440.0), "operator should hear the caller's 440 Hz");
    let c_rx = caller.received_wavs();
    assert!(
        !c_rx.is_empty(),
        "caller recorded nothing; log:\n{}",
        tail(&caller.log(), 40)
    );
    let (f, loud) = dominant(&c_rx[0], &TONES);
    assert!(
        loud > 8000,
        "caller received too little audio ({loud} loud samples)"
    );
    assert_eq!(f, Some(1000.0), "caller should hear the operator's 1000 Hz");
}

#[test]
fn pjsua_operator_holds_and_resumes_and_the_call_survives() {
    let sw = Switch::start("pjsua-hold", no_greeting);
    let dir = sw.dir.clone();
    let (t440, t1000) = tones(&dir);
    // The operator holds 3 s after the answer (re-INVITE a=sendonly) and resumes at 6 s
    // (re-INVITE a=sendrecv); the caller hangs up at 11 s.
    let mut op = operator(
        &sw,
        &dir,
        "1003",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--record",
            "rx.wav",
            "--hold-after",
            "3",
            "--unhold-after",
            "6",
            "--exit-after",
            "50",
            "--exit-after-calls",
            "1",
        ],
    );
    let mut caller = Pjsua::start(
        &dir,
        "caller",
        &caller_args(
            &sw,
            "0246221111",
            &[
                "--play",
                &t440,
                "--record",
                "rx.wav",
                "--hangup-after",
                "11",
                "--exit-after",
                "45",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    sw.wait_for("the call to be up", 15, |s| s.status()["calls_active"] == 1);
    caller.wait_event("the caller's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });

    // The operator is the UAS of the first INVITE, so every INVITE it sends as UAC is
    // a re-INVITE; their final responses carry the switch's SDP answer.
    let reinvite = |e: &Value| is(e, "tsx") && e["role"] == "uac" && e["method"] == "INVITE";
    let hold = op.wait_event("the answer to the hold re-INVITE", 15, reinvite);
    assert_eq!(
        hold["code"],
        200,
        "switch refused the hold re-INVITE: {hold}\n{}",
        op.report()
    );
    // RFC 3264 §6.1: the answer to a sendonly stream is recvonly (or inactive).
    assert!(
        hold["sdp_dir"] == "recvonly" || hold["sdp_dir"] == "inactive",
        "answer to a=sendonly must be recvonly/inactive: {hold}\n{}",
        op.report()
    );
    op.wait_event("the operator's media on hold", 5, |e| {
        is(e, "media") && e["status"] == "LOCAL_HOLD"
    });
    assert_eq!(
        sw.status()["calls_active"],
        1,
        "the call did not survive the hold"
    );

    let resumed = op.wait_nth("the answer to the resume re-INVITE", 10, 2, reinvite);
    assert_eq!(
        resumed["code"],
        200,
        "switch refused the resume re-INVITE: {resumed}\n{}",
        op.report()
    );
    assert_eq!(
        resumed["sdp_dir"], "sendrecv",
        "answer to the resume: {resumed}"
    );
    assert_eq!(
        op.all(reinvite).len(),
        2,
        "exactly two re-INVITEs expected\n{}",
        op.report()
    );
    assert_eq!(
        sw.status()["calls_active"],
        1,
        "the call did not survive the resume"
    );
    assert!(
        caller.find(|e| is(e, "disconnected")).is_none(),
        "the caller's leg dropped during hold/resume\n{}",
        caller.report()
    );

    // The caller hangs up at 11 s: both legs end.
    caller.wait_event("the caller's hangup", 20, |e| is(e, "disconnected"));
    assert_call_ended(&sw);
    op.wait_event("the operator's leg DISCONNECTED", 5, |e| {
        is(e, "disconnected")
    });
    assert!(
        caller.wait_exit(10) && op.wait_exit(10),
        "agents did not exit"
    );

    // Audio flows again after the resume: the last seconds of each recording hold the
    // other side's tone.
    let (f, loud) = dominant_tail(&caller.path("rx.wav"), 2.0, &TONES);
    assert!(
        loud > rate(&caller.path("rx.wav")),
        "caller's last 2 s almost silent ({loud} loud samples)\n{}",
        caller.report()
    );
    assert_eq!(
        f,
        Some(1000.0),
        "caller should hear the operator again after the resume"
    );
    let op_rx = op.path("rx.wav");
    let (f, loud) = dominant_tail(&op_rx, 2.0, &TONES);
    assert!(
        loud > rate(&op_rx),
        "operator's last 2 s almost silent ({loud} loud samples)\n{}",
        op.report()
    );
    assert_eq!(
        f,
        Some(440.0),
        "operator should hear the caller again after the resume"
    );
    // And the hold was real at the media level: while holding (sendonly) the operator's
    // phone took in nothing, so the 440 Hz above is audio that came back with the resume.
    let t = |e: Option<Value>| e.and_then(|e| e["t"].as_f64()).expect("event time");
    let rec = t(op.find(|e| is(e, "recording")));
    let held = t(op.find(|e| is(e, "media") && e["status"] == "LOCAL_HOLD"));
    let back =
        t(op.find(|e| is(e, "media") && e["status"] == "ACTIVE" && e["t"].as_f64() > Some(held)));
    let (_, loud) = dominant_between(&op_rx, held - rec + 0.5, back - rec - 0.3, &TONES);
    assert!(
        loud < rate(&op_rx) / 10,
        "operator still received audio while holding ({loud} loud samples)"
    );
    // Held and resumed, the call is still one recording, and the caller's tone is on
    // its left channel after the resume too.
    let mut wavs = Vec::new();
    let mut stack = vec![dir.join("recordings")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav") {
                wavs.push(p);
            }
        }
    }
    assert_eq!(
        wavs.len(),
        1,
        "a held and resumed call must be one file: {wavs:?}"
    );
    let mut r = hound::WavReader::open(&wavs[0]).unwrap();
    let left: Vec<i16> = r.samples::<i16>().map(Result::unwrap).step_by(2).collect();
    let tail = &left[left.len().saturating_sub(16000)..];
    assert_eq!(
        media::tone::dominant_frequency(tail, 8000, &TONES),
        Some(440.0)
    );
    assert!(
        media::tone::rms(tail) > 1000.0,
        "the recording's last 2 s are almost silent"
    );
}

#[test]
fn pjsua_operator_registered_over_tcp_takes_a_call_and_hangs_up() {
    let sw = Switch::start("pjsua-tcp", no_greeting);
    let dir = sw.dir.clone();
    let (t440, t1000) = tones(&dir);
    let mut op = Pjsua::start(
        &dir,
        "op1002",
        // This operator hangs up (5 s after the answer): its BYE goes to the switch over TCP.
        &operator_args(
            &sw,
            "1002",
            &[
                "--transport",
                "tcp",
                "--auto-answer",
                "--play",
                &t1000,
                "--record",
                "rx.wav",
                "--hangup-after",
                "5",
                "--exit-after",
                "40",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    register(&sw, &mut op, "1002");
    let regs: Value =
        serde_json::from_str(&sw.get("/api/v1/registrations").expect("registrations")).unwrap();
    let b = regs
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|b| b["aor"].as_str().is_some_and(|a| a.starts_with("1002@")))
        })
        .cloned();
    assert_eq!(
        b.as_ref()
            .map(|b| b["transport"].as_str().unwrap_or("").to_ascii_uppercase()),
        Some("TCP".into()),
        "binding: {b:?}"
    );

    // 小名浜支所 in E.164 form.
    let mut caller = Pjsua::start(
        &dir,
        "caller",
        &caller_args(
            &sw,
            "+81246542111",
            &[
                "--play",
                &t440,
                "--record",
                "rx.wav",
                "--exit-after",
                "40",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    let inc = op.wait_event("the INVITE at the TCP operator", 15, |e| is(e, "incoming"));
    // The switch reached the phone along its TCP registration flow.
    let via = inc["headers"]["Via"].as_str().unwrap_or_default();
    assert!(
        via.starts_with("SIP/2.0/TCP "),
        "INVITE did not come over TCP: Via {via}"
    );
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246542111", "{inc}");
    op.wait_event("the operator's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    caller.wait_event("the caller's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    assert_eq!(sw.status()["calls_active"], 1);

    // The operator's BYE (over TCP, to the Contact the switch gave: ;transport=tcp) must
    // end the caller's leg with a BYE from the switch.
    op.wait_event("the operator's hangup", 15, |e| is(e, "disconnected"));
    let bye = caller.wait_event("a BYE at the caller", 5, |e| {
        is(e, "tsx") && e["role"] == "uas" && e["method"] == "BYE"
    });
    assert_eq!(bye["code"], 200, "{bye}");
    assert_call_ended(&sw);
    assert!(
        caller.wait_exit(10) && op.wait_exit(10),
        "agents did not exit"
    );
    // The switch answered the operator's BYE over the TCP connection (pjsua2 reports no
    // transaction events once the call is disconnected: read PJSIP's message log).
    let ok = op.log().lines().any(|l| {
        l.contains(".RX ") && l.contains("Response msg 200/BYE/") && l.contains(" from TCP ")
    });
    assert!(ok, "no 200 to the operator's BYE over TCP\n{}", op.report());

    let (f, loud) = dominant_between(&op.path("rx.wav"), 0.0, f64::MAX, &TONES);
    assert!(
        loud > 2 * rate(&op.path("rx.wav")),
        "operator received too little audio ({loud})\n{}",
        op.report()
    );
    assert_eq!(f, Some(440.0), "operator should hear the caller's 440 Hz");
    let (f, loud) = dominant_between(&caller.path("rx.wav"), 0.0, f64::MAX, &TONES);
    assert!(
        loud > 2 * rate(&caller.path("rx.wav")),
        "caller received too little audio ({loud})\n{}",
        caller.report()
    );
    assert_eq!(f, Some(1000.0), "caller should hear the operator's 1000 Hz");
}

#[test]
fn busy_operator_486_then_the_next_operator_answers() {
    let sw = Switch::start("pjsua-busy", no_greeting);
    let dir = sw.dir.clone();
    let (t440, t1000) = tones(&dir);
    // Queue "general" lists 1001, 1002, 1003, 1004 and the switch rings them in this
    // order: 1001 is busy. 1001 also registers first, so that it is still the first one
    // tried if a queue strategy (longest-idle, round-robin) takes over the order.
    let mut busy = operator(
        &sw,
        &dir,
        "1001",
        &["--reject", "486", "--exit-after", "40"],
    );
    let mut op = operator(
        &sw,
        &dir,
        "1002",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--record",
            "rx.wav",
            "--exit-after",
            "40",
            "--exit-after-calls",
            "1",
        ],
    );

    // 常磐支所 0246-43-2111.
    let mut caller = Pjsua::start(
        &dir,
        "caller",
        &caller_args(
            &sw,
            "0246432111",
            &[
                "--play",
                &t440,
                "--record",
                "rx.wav",
                "--hangup-after",
                "5",
                "--exit-after",
                "40",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    busy.wait_event("the INVITE at the busy operator (rung first)", 15, |e| {
        is(e, "incoming")
    });
    let rej = busy.wait_event("the busy operator's 486", 5, |e| is(e, "disconnected"));
    assert_eq!(rej["code"], 486, "{rej}");

    let inc = op.wait_event("the INVITE at the next operator", 10, |e| is(e, "incoming"));
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246432111", "{inc}");
    assert!(
        inc["from"]
            .as_str()
            .unwrap_or_default()
            .starts_with("\"常磐支所\" "),
        "{inc}"
    );
    op.wait_event("the second operator's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    // The caller never sees the operator's 486: its INVITE ends in 200.
    let ans = caller.wait_event("the caller's INVITE answered", 10, |e| {
        is(e, "tsx") && e["role"] == "uac" && e["method"] == "INVITE"
    });
    assert_eq!(ans["code"], 200, "{ans}\n{}", caller.report());
    assert_eq!(sw.status()["calls_active"], 1);

    caller.wait_event("the caller's hangup", 15, |e| is(e, "disconnected"));
    assert_call_ended(&sw);
    op.wait_event("the second operator's leg DISCONNECTED", 5, |e| {
        is(e, "disconnected")
    });
    assert!(
        caller.wait_exit(10) && op.wait_exit(10),
        "agents did not exit"
    );
    // The busy phone had exactly one call offered, and took none.
    assert_eq!(
        busy.all(|e| is(e, "incoming")).len(),
        1,
        "{}",
        busy.report()
    );
    // The switch acknowledged the 486 (RFC 3261 §17.1.1.3), so the phone's INVITE server
    // transaction did not keep retransmitting it. pjsua2 reports no transaction events
    // once a call is disconnected, so this is read from PJSIP's message log.
    let acked = busy
        .log()
        .lines()
        .any(|l| l.contains(".RX ") && l.contains("Request msg ACK/cseq=1 "));
    assert!(
        acked,
        "no ACK for the 486 reached the busy phone\n{}",
        busy.report()
    );
    assert!(busy
        .find(|e| is(e, "state") && e["state"] == "CONFIRMED")
        .is_none());
    // The 486 from the busy phone is not the call's outcome: the caller was answered.
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0
    );
    assert_eq!(
        sw.metric("madoguchi_calls_total", ""),
        1.0,
        "one call, one outcome"
    );

    let (f, loud) = dominant_between(&caller.path("rx.wav"), 0.0, f64::MAX, &TONES);
    assert!(
        loud > 2 * rate(&caller.path("rx.wav")),
        "caller received too little audio ({loud})\n{}",
        caller.report()
    );
    assert_eq!(
        f,
        Some(1000.0),
        "caller should hear the second operator's 1000 Hz"
    );
    let (f, loud) = dominant_between(&op.path("rx.wav"), 0.0, f64::MAX, &TONES);
    assert!(
        loud > 2 * rate(&op.path("rx.wav")),
        "the second operator received too little audio ({loud})\n{}",
        op.report()
    );
    assert_eq!(f, Some(440.0), "the second operator should hear the caller");
}
