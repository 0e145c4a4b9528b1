//! Listen, whisper, barge with three real agents (issue 15 item 6, spec 第2-7 ⑵ ウ): a
//! citizen (baresip, 440 Hz) talks to operator 1001 (PJSIP, 1,000 Hz); supervisor 1901
//! (PJSIP, 1,400 Hz, `[[agent]] supervisor = true`) dials `*31`/`*32`/`*33` + 1001 once
//! the call is up. What each one hears while the supervisor is on the call is judged by
//! the tones in the last seconds of what it received: the supervisor hears both tones in
//! every mode; in whisper the operator hears the supervisor and the citizen does not; in
//! barge everyone hears everyone. Every use is in the recordings' audit log.

mod common;
use common::pjsua::*;
use common::*;
use std::path::Path;

const TONES: [f64; 3] = [440.0, 1000.0, 1400.0];

/// The configuration with supervisor 1901 and no greeting (the operator rings at once).
fn with_supervisor(t: String) -> String {
    let anchor = "password = \"madoguchi-1004\"\n";
    assert!(
        t.contains(anchor),
        "agent 1004 in the default configuration"
    );
    no_greeting(t).replace(
        anchor,
        &format!(
            "{anchor}\n[[agent]]\nid = \"1901\"\nname = \"監督者\"\n\
             password = \"madoguchi-1901\"\nsupervisor = true\n"
        ),
    )
}

/// The power of each tone in the `secs` seconds before the last loud sample of a WAV
/// (any rate), relative to the strongest of them; and how loud that stretch is.
fn tones_tail(path: &Path, secs: f64) -> ([f64; 3], f64) {
    let (samples, rate) = wav_mono(path);
    let end = samples
        .iter()
        .rposition(|s| s.unsigned_abs() > 300)
        .map_or(0, |i| i + 1);
    // Leave out the last half second: the hang-up may cut the tones unevenly.
    let end = end.saturating_sub(rate as usize / 2);
    let start = end.saturating_sub((secs * rate as f64) as usize);
    let part = &samples[start..end];
    // Averaged over 100 ms windows: a softphone's stream has small phase jumps (its
    // jitter buffer, the file player's loop) that would cancel a tone over seconds.
    let win = rate as usize / 10;
    let mut p = [0.0; 3];
    for w in part.chunks_exact(win) {
        for (acc, f) in p.iter_mut().zip(TONES) {
            *acc += media::tone::goertzel_power(w, rate, f);
        }
    }
    let max = p.iter().cloned().fold(f64::MIN_POSITIVE, f64::max);
    (p.map(|x| x / max), media::tone::rms(part))
}

/// Which tones `who` heard: present when within 10 dB of the strongest; a tone said to
/// be absent must be 20 dB or more below it (no in-between reading passes either way).
fn assert_heard(who: &str, path: &Path, present: &[f64]) {
    let (rel, rms) = tones_tail(path, 4.0);
    assert!(rms > 300.0, "{who} heard too little ({rms:.0} RMS)");
    for (f, r) in TONES.iter().zip(rel) {
        if present.contains(f) {
            assert!(r > 0.1, "{who} should hear {f} Hz: relative powers {rel:?}");
        } else {
            assert!(
                r < 0.01,
                "{who} should not hear {f} Hz: relative powers {rel:?}"
            );
        }
    }
}

/// Runs one supervised call; returns the recordings of citizen, operator, supervisor.
fn supervised_call(
    name: &str,
    code: &str,
) -> (Switch, std::path::PathBuf, [std::path::PathBuf; 3]) {
    supervised_call_with(name, code, &[])
}

/// Like `supervised_call`, with more arguments for the supervisor's phone.
fn supervised_call_with(
    name: &str,
    code: &str,
    supervisor_args: &[&str],
) -> (Switch, std::path::PathBuf, [std::path::PathBuf; 3]) {
    let sw = Switch::start(name, with_supervisor);
    let dir = sw.dir.clone();
    let tone = |f: f64| {
        let p = dir.join(format!("{f}.wav"));
        tone_wav(&p, f, 60.0);
        p
    };
    let (t440, t1000, t1400) = (tone(440.0), tone(1000.0), tone(1400.0));
    let mut op = Pjsua::start(
        &dir,
        "op1001",
        &operator_args(
            &sw,
            "1001",
            &[
                "--auto-answer",
                "--play",
                &t1000.display().to_string(),
                "--record",
                "op.wav",
                "--exit-after",
                "60",
                "--exit-after-calls",
                "1",
            ],
        ),
    );
    register(&sw, &mut op, "1001");
    // The citizen hangs up 20 s after dialling: the supervisor is on by then.
    let mut citizen = baresip_caller(&sw, "citizen", "0246221111", &t440, 20, "PCMU");
    op.wait_event("the operator answered", 20, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    let dial = format!("sip:{code}1001@{}", sw.sip);
    let t1400 = t1400.display().to_string();
    let mut args = vec![
        "--dial",
        &dial,
        "--play",
        &t1400,
        "--record",
        "sv.wav",
        "--exit-after",
        "45",
        "--exit-after-calls",
        "1",
    ];
    args.extend_from_slice(supervisor_args);
    let mut sv = Pjsua::start(&dir, "sv1901", &operator_args(&sw, "1901", &args));
    let up = sv.wait_event("the supervisor's call", 15, |e| {
        is(e, "state") && (e["state"] == "CONFIRMED" || e["state"] == "DISCONNCTD")
    });
    assert_eq!(
        up["state"],
        "CONFIRMED",
        "{}\n{}",
        sv.report(),
        tail(&sw.log(), 30)
    );
    assert!(citizen.wait_exit(40), "the citizen did not finish");
    // The citizen's hang-up ends the call: the operator's and the supervisor's legs go.
    op.wait_event("the operator's leg ended", 15, |e| is(e, "disconnected"));
    sv.wait_event("the supervisor's leg ended", 15, |e| is(e, "disconnected"));
    let op_wav = op.wait_recording("the operator's recording", "op.wav", 10);
    let sv_wav = sv.wait_recording("the supervisor's recording", "sv.wav", 10);
    sw.wait_for("both calls to end", 15, |s| s.idle());
    let rx = citizen.received_wavs();
    assert!(!rx.is_empty(), "{}", tail(&citizen.log(), 30));
    let paths = [rx[0].clone(), op_wav, sv_wav];
    (sw, dir, paths)
}

/// The audit log has the supervision with its mode, who, and the call's recording.
fn assert_audited(sw: &Switch, mode: &str) {
    let log = sw
        .get("/api/v1/recordings/audit")
        .expect("the recordings' audit log");
    let v: serde_json::Value = serde_json::from_str(&log).unwrap();
    let rows = v
        .as_array()
        .or_else(|| v["entries"].as_array())
        .or_else(|| v["audit"].as_array())
        .cloned()
        .unwrap_or_default();
    let started = rows
        .iter()
        .find(|r| r["action"] == format!("supervise-{mode}"))
        .unwrap_or_else(|| panic!("no supervise-{mode} line in {log}"));
    assert_eq!(started["who"], "1901", "{started}");
    assert!(
        started["recording_id"].is_i64(),
        "against the call's recording: {started}"
    );
    assert!(
        rows.iter()
            .any(|r| r["action"] == "supervise-end" && r["who"] == "1901"),
        "the end is audited too: {log}"
    );
}

#[test]
fn listen_the_supervisor_hears_both_and_nobody_hears_the_supervisor() {
    let (sw, _dir, [citizen, operator, supervisor]) = supervised_call("sv-listen", "*31");
    assert_heard("the supervisor", &supervisor, &[440.0, 1000.0]);
    assert_heard("the citizen", &citizen, &[1000.0]);
    assert_heard("the operator", &operator, &[440.0]);
    assert_audited(&sw, "listen");
    assert!(sw.rtp_ports_all_free(), "the link's port is freed too");
}

#[test]
fn whisper_the_operator_hears_the_supervisor_the_citizen_does_not() {
    let (sw, _dir, [citizen, operator, supervisor]) = supervised_call("sv-whisper", "*32");
    assert_heard("the supervisor", &supervisor, &[440.0, 1000.0]);
    assert_heard("the operator", &operator, &[440.0, 1400.0]);
    assert_heard("the citizen", &citizen, &[1000.0]);
    assert_audited(&sw, "whisper");
}

#[test]
fn barge_everyone_hears_everyone() {
    let (sw, _dir, [citizen, operator, supervisor]) = supervised_call("sv-barge", "*33");
    assert_heard("the supervisor", &supervisor, &[440.0, 1000.0]);
    assert_heard("the operator", &operator, &[440.0, 1400.0]);
    assert_heard("the citizen", &citizen, &[1000.0, 1400.0]);
    assert_audited(&sw, "barge");
}

#[test]
fn listening_then_key_3_barges_in() {
    // *31 first; 3 s later the supervisor presses 3 (an RFC 4733 event) to join in.
    let (sw, _dir, [citizen, operator, supervisor]) =
        supervised_call_with("sv-switch", "*31", &["--dtmf", "3", "--dtmf-after", "3"]);
    assert_heard("the supervisor", &supervisor, &[440.0, 1000.0]);
    assert_heard("the operator", &operator, &[440.0, 1400.0]);
    assert_heard("the citizen", &citizen, &[1000.0, 1400.0]);
    assert_audited(&sw, "listen");
    assert_audited(&sw, "barge");
}
