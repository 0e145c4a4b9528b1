//! Transfers and operators' own calls with real agents (issue 8): a citizen (baresip,
//! 440 Hz) reaches operator 1001 (PJSIP, 1,000 Hz), whose softphone transfers the call
//! blind with REFER to `sip:2101@<switch>`; extension 2101 is a PJSIP agent behind the
//! PBX trunk (1,400 Hz). The citizen must then hear 1,400 Hz, the extension 440 Hz, the
//! operator's phone must get the final NOTIFY. A busy department returns the citizen to
//! the operator; an operator dials an extension; the PBX's channel limit refuses an
//! ordinary call while a transfer still gets the reserved channel; staff dialling "9"
//! are answered before waiting citizens.

mod common;
use common::pjsua::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const TONES: [f64; 3] = [440.0, 1000.0, 1400.0];

fn tone(dir: &Path, f: f64) -> String {
    let p = dir.join(format!("{f}.wav"));
    tone_wav(&p, f, 40.0);
    p.display().to_string()
}

/// Extension `ext` behind the PBX trunk (answers everything that arrives, or rejects with
/// `reject`), started before the switch so the trunk's proxy can point at it.
fn extension(name: &str, ext: &str, reject: Option<u16>) -> (Pjsua, PathBuf) {
    let base = workdir(&format!("{name}-pbx"));
    let t1400 = tone(&base, 1400.0);
    let mut args = s(&["--role", "extension", "--user", ext, "--exit-after", "60"]);
    args.extend(["--play".into(), t1400, "--record".into(), "ext.wav".into()]);
    match reject {
        Some(code) => args.extend(["--reject".into(), code.to_string()]),
        None => args.push("--auto-answer".into()),
    }
    let p = Pjsua::start(&base, "ext", &args);
    (p, base)
}

fn pbx_at(port: u16) -> impl FnOnce(String) -> String {
    move |t: String| {
        no_greeting(t).replace(
            "proxy = \"127.0.0.1:5092\"",
            &format!("proxy = \"127.0.0.1:{port}\""),
        )
    }
}

/// An extension behind the PBX trunk, the switch routed to it, and the two tones.
struct Rig {
    ext: Pjsua,
    sw: Switch,
    dir: PathBuf,
    t440: PathBuf,
    t1000: String,
    _base: PathBuf,
}

fn rig(name: &str, ext: &str, reject: Option<u16>) -> Rig {
    let (ext, base) = extension(name, ext, reject);
    let sw = Switch::start(name, pbx_at(ext.sip_port));
    let dir = sw.dir.clone();
    let t440 = dir.join("440.wav");
    tone_wav(&t440, 440.0, 40.0);
    let t1000 = tone(&dir, 1000.0);
    Rig {
        ext,
        sw,
        dir,
        t440,
        t1000,
        _base: base,
    }
}

fn last_xfer(op: &Pjsua) -> Option<Value> {
    op.all(|e| is(e, "xfer_status") && e["final"] == true)
        .into_iter()
        .last()
}

#[test]
fn blind_transfer_to_an_extension_the_citizen_hears_the_department() {
    let Rig {
        mut ext,
        sw,
        dir,
        t440,
        t1000,
        ..
    } = rig("xfer-blind", "2101", None);
    let xfer_to = format!("sip:2101@{}", sw.sip);
    let mut op = operator(
        &sw,
        &dir,
        "1001",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--record",
            "op.wav",
            "--xfer-to",
            &xfer_to,
            "--xfer-after",
            "9",
            "--exit-after",
            "45",
        ],
    );
    let mut caller = baresip_caller(&sw, "caller", "0246221111", &t440, 22, "PCMU");
    let inc = ext.wait_event("the extension rung", 30, |e| is(e, "incoming"));
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246221111", "{inc}");
    let fin = op.wait_event("the final NOTIFY", 20, |e| {
        is(e, "xfer_status") && e["final"] == true
    });
    assert_eq!(fin["code"], 200, "{}", op.report());
    op.wait_event("the operator's leg ended", 10, |e| is(e, "disconnected"));
    assert!(caller.wait_exit(40), "caller did not finish");
    sw.wait_for("the call to end", 15, |s| s.idle());
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"transferred\""),
        1.0,
        "{}",
        tail(&sw.log(), 30)
    );
    // The citizen heard the operator first, the department last.
    let rx = caller.received_wavs();
    assert!(!rx.is_empty(), "{}", tail(&caller.log(), 30));
    let (f, loud) = dominant_tail(&rx[0], 4.0, &TONES);
    assert!(loud > 8000, "too little audio at the end ({loud})");
    assert_eq!(
        f,
        Some(1400.0),
        "the citizen should end up hearing the department"
    );
    // (A hunt group's caller hears the recording notice for its first ~4 s.)
    let (f, _) = dominant_between(&rx[0], 6.0, 8.5, &TONES);
    assert_eq!(f, Some(1000.0), "the citizen first talked to the operator");
    // The department heard the citizen.
    ext.wait_event("the extension's call ended", 20, |e| is(e, "disconnected"));
    ext.wait_recording("its recording closed", "ext.wav", 10);
    let (f, loud) = dominant(&ext.path("ext.wav"), &TONES);
    assert!(
        loud > 8000,
        "the department received too little audio ({loud})"
    );
    assert_eq!(f, Some(440.0), "the department should hear the citizen");
    assert!(sw.rtp_ports_all_free());
    // One recording of the whole call, naming the operator and the department.
    let list = sw.get("/api/v1/recordings").expect("the recordings list");
    let v: Value = serde_json::from_str(&list).unwrap();
    let recs = v["recordings"]
        .as_array()
        .or_else(|| v.as_array())
        .cloned()
        .unwrap_or_default();
    assert_eq!(recs.len(), 1, "{list}");
    let ops = recs[0]["operators"].to_string();
    assert!(ops.contains("1001") && ops.contains("市民課"), "{list}");
}

#[test]
fn a_busy_department_returns_the_citizen_to_the_operator() {
    let Rig {
        mut ext,
        sw,
        dir,
        t440,
        t1000,
        ..
    } = rig("xfer-busy", "2201", Some(486));
    let xfer_to = format!("sip:2201@{}", sw.sip);
    let mut op = operator(
        &sw,
        &dir,
        "1001",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--xfer-to",
            &xfer_to,
            "--xfer-after",
            "6",
            "--exit-after",
            "40",
        ],
    );
    let mut caller = baresip_caller(&sw, "caller", "0246542111", &t440, 16, "PCMU");
    ext.wait_event("the department rung", 30, |e| is(e, "incoming"));
    let fin = op.wait_event("the final NOTIFY", 20, |e| {
        is(e, "xfer_status") && e["final"] == true
    });
    assert_eq!(fin["code"], 486, "{}", op.report());
    assert!(caller.wait_exit(40));
    sw.wait_for("the call to end", 15, |s| s.idle());
    // Back with the operator, never dropped: the citizen's last seconds are the operator.
    let rx = caller.received_wavs();
    let (f, loud) = dominant_tail(&rx[0], 3.0, &TONES);
    assert!(loud > 6000, "silence after the failed transfer ({loud})");
    assert_eq!(
        f,
        Some(1000.0),
        "the citizen should be back with the operator"
    );
    assert!(last_xfer(&op).is_some());
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0
    );
}

#[test]
fn an_operator_dials_an_extension_and_both_hear_each_other() {
    let (mut ext, _b) = extension("op-dial", "2101", None);
    let sw = Switch::start("op-dial", pbx_at(ext.sip_port));
    let dir = sw.dir.clone();
    let t1000 = tone(&dir, 1000.0);
    let dial = format!("sip:2101@{}", sw.sip);
    let mut op = operator(
        &sw,
        &dir,
        "1001",
        &[
            "--dial",
            &dial,
            "--play",
            &t1000,
            "--record",
            "op.wav",
            "--hangup-after",
            "5",
            "--exit-after",
            "30",
            "--exit-after-calls",
            "1",
        ],
    );
    let inc = ext.wait_event("the extension rung", 20, |e| is(e, "incoming"));
    // The extension sees who is calling: the operator's name.
    assert!(
        inc["from"].as_str().unwrap_or("").contains("オペレーター1"),
        "{inc}"
    );
    op.wait_event("the call up", 20, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    assert!(op.wait_exit(30), "{}", op.report());
    sw.wait_for("the call to end", 15, |s| s.idle());
    let (f, loud) = dominant(&op.path("op.wav"), &TONES);
    assert!(loud > 8000, "{}", op.report());
    assert_eq!(f, Some(1400.0), "the operator hears the extension");
    ext.wait_recording("its recording closed", "ext.wav", 10);
    let (f, _) = dominant(&ext.path("ext.wav"), &TONES);
    assert_eq!(f, Some(1000.0), "the extension hears the operator");
}

#[test]
fn an_outside_call_needs_the_operators_permission() {
    let sw = Switch::start("op-outside", no_greeting);
    // 1002 has no `outside_calls`: refused with 403 and the reason on the phone.
    assert_eq!(dial_status(&sw, "1002", "0312345678"), 403);
    // An international number is refused even for 1001, who may call outside.
    assert_eq!(dial_status(&sw, "1001", "0101234567890"), 403);
}

/// The final status an operator's own call to `number` ends with.
fn dial_status(sw: &Switch, agent: &str, number: &str) -> u64 {
    let dial = format!("sip:{number}@{}", sw.sip);
    let args = [
        "--dial",
        &dial,
        "--exit-after",
        "15",
        "--exit-after-calls",
        "1",
    ];
    let mut op = Pjsua::start(
        &sw.dir,
        &format!("op{agent}-{number}"),
        &operator_args(sw, agent, &args),
    );
    register(sw, &mut op, agent);
    let d = op.wait_event("the end of the call", 15, |e| {
        is(e, "state") && e["state"] == "DISCONNECTED"
    });
    d["code"].as_u64().unwrap_or(0)
}

#[test]
fn staff_dialling_9_are_answered_before_waiting_citizens() {
    let sw = Switch::start("staff-first", no_greeting);
    let dir = sw.dir.clone();
    let a = RawSip::new();
    a.invite(&sw, "0246221111", "0311111111", "cit-1", a.addr());
    sw.wait_for("the citizen waiting", 10, |s| {
        s.status()["calls_active"] == 1
    });
    // City staff dial "9" on an extension: the call comes in on the PBX trunk.
    let st = RawSip::new();
    let uri = format!("sip:9@{}", sw.pbx);
    let inv = st.request(
        "INVITE",
        &uri,
        "2101",
        "staff-1",
        1,
        "Content-Type: application/sdp\r\n",
        &sdp_offer(st.addr()),
    );
    st.send(sw.pbx, &inv);
    sw.wait_for("both waiting", 10, |s| s.status()["calls_active"] == 2);
    // The operator logs in: the first call offered is the staff call.
    let mut op = operator(&sw, &dir, "1001", &["--exit-after", "20"]);
    let first = op.wait_event("the first offer", 15, |e| is(e, "incoming"));
    assert_eq!(
        first["headers"]["X-Madoguchi-DNIS-Name"], "職員連絡用",
        "{first}"
    );
}

#[test]
fn the_pbx_channel_limit_refuses_a_call_while_a_transfer_gets_the_reserve() {
    let (ext, _b) = extension("pbx-limit", "2101", None);
    let edit = {
        let port = ext.sip_port;
        move |t: String| {
            pbx_at(port)(t)
                .replace("channels = 48", "channels = 2")
                .replace("reserve_for_transfers = 4", "reserve_for_transfers = 1")
        }
    };
    let sw = Switch::start("pbx-limit", edit);
    let dir = sw.dir.clone();
    let t1000 = tone(&dir, 1000.0);
    // 1001 calls extension 2101: one ordinary channel of the PBX in use (of 2, 1 reserved).
    let dial = format!("sip:2101@{}", sw.sip);
    let mut op1 = operator(
        &sw,
        &dir,
        "1001",
        &["--dial", &dial, "--play", &t1000, "--exit-after", "45"],
    );
    op1.wait_event("1001's call up", 20, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    sw.wait_for("the channel counted", 5, |s| {
        s.metric("madoguchi_trunk_channels_in_use", "trunk=\"pbx\"") == 1.0
    });
    // Staff dialling "9" now: an ordinary call may not take the reserve: 503.
    let st = RawSip::new();
    let uri = format!("sip:9@{}", sw.pbx);
    st.send(
        sw.pbx,
        &st.request(
            "INVITE",
            &uri,
            "2201",
            "staff-x",
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_offer(st.addr()),
        ),
    );
    let r = st
        .final_response(5.0, &mut Vec::new())
        .expect("an answer to the 9 call");
    assert_eq!(r.status, 503);
    assert!(r.headers.get("Retry-After").is_some());
    // A citizen reaches 1002, who transfers to 2101: the transfer takes the reserve.
    let xfer_to = format!("sip:2101@{}", sw.sip);
    let mut op2 = operator(
        &sw,
        &dir,
        "1002",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--xfer-to",
            &xfer_to,
            "--xfer-after",
            "2",
            "--exit-after",
            "40",
        ],
    );
    let t440 = dir.join("440.wav");
    tone_wav(&t440, 440.0, 40.0);
    let _caller = baresip_caller(&sw, "caller", "0246221111", &t440, 14, "PCMU");
    let fin = op2.wait_event("the final NOTIFY", 25, |e| {
        is(e, "xfer_status") && e["final"] == true
    });
    assert_eq!(
        fin["code"],
        200,
        "{}\n{}",
        op2.report(),
        tail(&sw.log(), 40)
    );
    assert_eq!(
        sw.metric("madoguchi_trunk_channels_in_use", "trunk=\"pbx\""),
        2.0
    );
    assert_eq!(ext.all(|e| is(e, "incoming")).len(), 2);
}

#[test]
fn attended_transfer_the_operator_consults_then_hands_the_citizen_over() {
    let Rig {
        mut ext,
        sw,
        dir,
        t440,
        t1000,
        ..
    } = rig("xfer-attended", "2101", None);
    let consult = format!("sip:2101@{}", sw.sip);
    let mut op = operator(
        &sw,
        &dir,
        "1001",
        &[
            "--auto-answer",
            "--play",
            &t1000,
            "--consult",
            &consult,
            "--consult-after",
            "6",
            "--replaces-after",
            "3",
            "--exit-after",
            "45",
        ],
    );
    let mut caller = baresip_caller(&sw, "caller", "0246221111", &t440, 24, "PCMU");
    // The operator talks to the department first (the consult call)…
    ext.wait_event("the consult call", 30, |e| is(e, "incoming"));
    // …then hands the citizen over (REFER with Replaces): the final NOTIFY says 200.
    let fin = op.wait_event("the final NOTIFY", 25, |e| {
        is(e, "xfer_status") && e["final"] == true
    });
    assert_eq!(fin["code"], 200, "{}\n{}", op.report(), tail(&sw.log(), 40));
    assert!(caller.wait_exit(40));
    // The citizen's hang-up ends the joined department leg too.
    ext.wait_event("the department's call ended", 20, |e| is(e, "disconnected"));
    sw.wait_for("both calls to end", 15, |s| s.idle());
    let rx = caller.received_wavs();
    let (f, loud) = dominant_tail(&rx[0], 4.0, &TONES);
    assert!(loud > 8000, "too little audio at the end ({loud})");
    assert_eq!(f, Some(1400.0), "the citizen ends up with the department");
    ext.wait_recording("its recording closed", "ext.wav", 10);
    let (f, _) = dominant_tail(&ext.path("ext.wav"), 4.0, &TONES);
    assert_eq!(f, Some(440.0), "the department ends up hearing the citizen");
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"transferred\""),
        1.0
    );
    assert!(sw.rtp_ports_all_free());
}

#[test]
fn an_operator_with_permission_dials_an_outside_number_over_the_carrier() {
    // The carrier's proxy is a PJSIP agent: what reaches it is what the carrier would see.
    let (mut far, _b) = extension("op-outside-ok", "0312345678", None);
    let port = far.sip_port;
    let sw = Switch::start("op-outside-ok", move |t| {
        no_greeting(t).replace(
            "proxy = \"127.0.0.1:5090\"",
            &format!("proxy = \"127.0.0.1:{port}\""),
        )
    });
    let dir = sw.dir.clone();
    let t1000 = tone(&dir, 1000.0);
    // 1001 has `outside_calls = true` in the default configuration.
    let dial = format!("sip:0312345678@{}", sw.sip);
    let mut op = operator(
        &sw,
        &dir,
        "1001",
        &[
            "--dial",
            &dial,
            "--play",
            &t1000,
            "--hangup-after",
            "10",
            "--exit-after",
            "30",
            "--exit-after-calls",
            "1",
        ],
    );
    let inc = far.wait_event("the outside number rung", 20, |e| is(e, "incoming"));
    // The outside party sees the center's number, not the operator's extension.
    let from = inc["from"].as_str().unwrap_or("");
    assert!(from.contains("+81246221111"), "{inc}");
    assert!(
        inc["headers"]["X-Madoguchi-DNIS"].is_null(),
        "no internal headers outside: {inc}"
    );
    assert!(op.wait_exit(30), "{}", op.report());
    sw.wait_for("the call to end", 15, |s| s.idle());
    far.wait_recording("its recording closed", "ext.wav", 10);
    let (f, _) = dominant(&far.path("ext.wav"), &TONES);
    assert_eq!(f, Some(1000.0), "the outside party hears the operator");
}

#[test]
fn a_department_sending_a_call_back_is_answered_before_waiting_citizens() {
    let sw = Switch::start("dept-back", no_greeting);
    let dir = sw.dir.clone();
    let citizen = RawSip::new();
    citizen.invite(&sw, "0246221111", "0311111111", "cit-b1", citizen.addr());
    sw.wait_for("the citizen waiting", 10, |s| {
        s.status()["calls_active"] == 1
    });
    // Extension 2101 transfers a caller back to the center's number over the PBX trunk.
    let dept = RawSip::new();
    let uri = format!("sip:0246221111@{}", sw.pbx);
    dept.send(
        sw.pbx,
        &dept.request(
            "INVITE",
            &uri,
            "2101",
            "back-1",
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_offer(dept.addr()),
        ),
    );
    sw.wait_for("both waiting", 10, |s| s.status()["calls_active"] == 2);
    let mut op = operator(&sw, &dir, "1001", &["--exit-after", "20"]);
    let first = op.wait_event("the first offer", 15, |e| is(e, "incoming"));
    let caller = first["headers"]["X-Madoguchi-Caller"]
        .as_str()
        .unwrap_or("");
    assert!(
        caller.contains("2101"),
        "the department's call first: {first}"
    );
}

#[test]
fn a_forwarded_department_number_shows_the_number_dialled() {
    let sw = Switch::start("diverted", no_greeting);
    let dir = sw.dir.clone();
    let mut op = operator(&sw, &dir, "1001", &["--exit-after", "20"]);
    // The carrier forwards 市民課's own number to the center (RFC 5806 Diversion).
    let c = RawSip::new();
    let uri = format!("sip:0246221111@{}", sw.trunk);
    let extra = "Diversion: <sip:0246227101@carrier.invalid>;reason=unconditional\r\nContent-Type: application/sdp\r\n";
    c.send(
        sw.trunk,
        &c.request(
            "INVITE",
            &uri,
            "0312345678",
            "div-1",
            1,
            extra,
            &sdp_offer(c.addr()),
        ),
    );
    let inc = op.wait_event("the offer", 15, |e| is(e, "incoming"));
    assert_eq!(inc["headers"]["X-Madoguchi-DNIS"], "+81246227101", "{inc}");
    assert_eq!(
        inc["headers"]["X-Madoguchi-DNIS-Name"], "市民課（転送）",
        "{inc}"
    );
}
