//! An offerless re-INVITE from a real PJSIP softphone in the middle of a call (RFC 3261
//! §14.2, §13.2.1): the switch must put an offer in its 2xx and take the phone's answer
//! from the ACK, and the call must carry audio both ways afterwards. (The offer/answer
//! rules, including the 491 for an offer crossing ours, are checked step by step in
//! `crates/callctl/tests/reinvite.rs`.)

mod common;
use common::pjsua::*;
use common::*;
use serde_json::Value;

const TONES: [f64; 2] = [440.0, 1000.0];

#[test]
fn an_offerless_reinvite_from_the_operator_gets_our_offer_and_the_call_goes_on() {
    let sw = Switch::start("reinvite-offerless", no_greeting);
    let dir = sw.dir.clone();
    let (t440, t1000) = (dir.join("440.wav"), dir.join("1000.wav"));
    tone_wav(&t440, 440.0, 30.0);
    tone_wav(&t1000, 1000.0, 30.0);
    let t1000 = t1000.display().to_string();
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
            "--offerless-reinvite-after",
            "3",
            "--exit-after",
            "40",
            "--exit-after-calls",
            "1",
        ],
    );
    let mut caller = baresip_caller(&sw, "caller", "0246221111", &t440, 12, "PCMU");

    // The operator is the UAS of the first INVITE: its only UAC INVITE is the re-INVITE.
    let reinvite = |e: &Value| is(e, "tsx") && e["role"] == "uac" && e["method"] == "INVITE";
    let r = op.wait_event("the answer to the offerless re-INVITE", 25, reinvite);
    assert_eq!(r["code"], 200, "{r}\n{}", op.report());
    assert_eq!(
        r["sdp_dir"],
        "sendrecv",
        "the 2xx to an offerless re-INVITE must carry our offer: {r}\n{}",
        op.report()
    );
    assert!(
        op.log().contains("ACK sip:") && op.log().contains("m=audio"),
        "the phone's ACK should carry its answer\n{}",
        tail(&op.log(), 60)
    );
    assert_eq!(
        sw.status()["calls_active"],
        1,
        "the call survives the re-INVITE"
    );

    // The caller hangs up at 12 s; both heard the other after the re-INVITE (at ~3 s).
    assert!(caller.wait_exit(30), "the caller did not finish");
    op.wait_event("the operator's leg ended", 15, |e| is(e, "disconnected"));
    assert_call_ended(&sw);
    let (f, loud) = dominant_tail(&op.path("rx.wav"), 4.0, &TONES);
    assert!(
        loud > 8000,
        "the operator heard silence at the end ({loud})"
    );
    assert_eq!(f, Some(440.0), "the operator should hear the citizen");
    let rx = caller.received_wavs();
    let (f, loud) = dominant_tail(&rx[0], 4.0, &TONES);
    assert!(loud > 8000, "the citizen heard silence at the end ({loud})");
    assert_eq!(f, Some(1000.0), "the citizen should hear the operator");
}
