//! The first real call: a citizen (baresip, playing 440 Hz) dials a representative
//! number on the carrier trunk; an operator's softphone (baresip, registered with digest
//! auth, auto-answering, playing 1,000 Hz) takes it. Each side must receive the other's
//! tone, the operator must see which number was dialled, and BYE from either side must
//! end both legs and free the media ports.

mod common;
use common::*;

fn agent_account(sw: &Switch, user: &str, pass: &str) -> String {
    format!("<sip:{user}@{};transport=udp>;auth_pass={pass};regint=60;answermode=auto;audio_codecs=PCMU,PCMA", sw.sip)
}

fn caller_account() -> String {
    // No registration: the carrier trunk is trusted by listener and source address.
    "<sip:0312345678@127.0.0.1>;regint=0;audio_codecs=PCMU".to_string()
}

#[test]
fn caller_hangs_up_each_side_hears_the_other() {
    let sw = Switch::start("call-caller-bye", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 20.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 20.0);

    let operator = Baresip::start(
        &dir,
        BaresipOpts {
            name: "op1001",
            account: agent_account(&sw, "1001", "madoguchi-1001"),
            tone: &dir.join("1000.wav"),
            commands: vec![],
            quit_after: Some(40),
        },
    );
    sw.wait_for("1001 to register", 15, |s| s.registered("1001"));

    // 小名浜支所 0246-54-2111, dialled in national form.
    let mut caller = Baresip::start(
        &dir,
        BaresipOpts {
            name: "caller",
            account: caller_account(),
            tone: &dir.join("440.wav"),
            commands: vec![format!("/dial sip:0246542111@{}", sw.trunk)],
            quit_after: Some(7),
        },
    );
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    assert!(caller.wait_exit(20), "caller did not finish");
    // The caller's BYE ends both legs.
    sw.wait_for("the call to end", 10, |s| s.idle());
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0
    );
    assert_eq!(
        sw.metric("madoguchi_calls_total", ""),
        1.0,
        "one call, one outcome"
    );
    assert!(sw.rtp_ports_all_free(), "media ports not freed");

    // Audio: each side received the other's tone (frequency check, not just "not silent").
    let op_rx = operator.received_wavs();
    assert!(
        !op_rx.is_empty(),
        "operator recorded nothing; log:\n{}",
        tail(&operator.log(), 40)
    );
    let (f, loud) = dominant(&op_rx[0], &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "operator received too little audio ({loud} loud samples)"
    );
    assert_eq!(f, Some(440.0), "operator should hear the caller's 440 Hz");
    let c_rx = caller.received_wavs();
    assert!(
        !c_rx.is_empty(),
        "caller recorded nothing; log:\n{}",
        tail(&caller.log(), 40)
    );
    let (f, loud) = dominant(&c_rx[0], &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "caller received too little audio ({loud} loud samples)"
    );
    assert_eq!(f, Some(1000.0), "caller should hear the operator's 1000 Hz");

    // The operator's phone saw which representative number was dialled.
    let op_log = operator.log();
    assert!(
        op_log.contains("X-Madoguchi-DNIS: +81246542111"),
        "no DNIS header at the operator"
    );
    assert!(
        op_log.contains("From: \"小名浜支所\" <sip:+81246542111@"),
        "display name missing:\n{}",
        tail(&op_log, 80)
    );
    // The operator's leg was ended by our BYE.
    assert!(op_log.contains("BYE sip:"), "operator got no BYE");
}

#[test]
fn operator_hangs_up_and_the_caller_gets_bye() {
    let sw = Switch::start("call-operator-bye", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 20.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 20.0);
    // This operator's baresip quits (sending BYE) 9 s after it starts.
    let mut operator = Baresip::start(
        &dir,
        BaresipOpts {
            name: "op1002",
            account: agent_account(&sw, "1002", "madoguchi-1002"),
            tone: &dir.join("1000.wav"),
            commands: vec![],
            quit_after: Some(9),
        },
    );
    sw.wait_for("1002 to register", 8, |s| s.registered("1002"));
    let caller = Baresip::start(
        &dir,
        BaresipOpts {
            name: "caller",
            account: caller_account(),
            tone: &dir.join("440.wav"),
            commands: vec![format!("/dial sip:+81246221111@{}", sw.trunk)],
            quit_after: Some(30),
        },
    );
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    assert!(operator.wait_exit(20));
    sw.wait_for("the call to end after the operator's BYE", 10, |s| s.idle());
    caller.wait_log("the switch's BYE at the caller", 5, "BYE sip:");
    assert!(sw.rtp_ports_all_free(), "media ports not freed");
}
