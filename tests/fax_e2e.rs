//! The FAX number (`[fax]` in the configuration) reaches the FAX machine behind the PBX
//! at any hour, with no announcement in front (a prompt would confuse the sending
//! machine's handshake): on a Sunday night, with the center closed, an INVITE to
//! 0246-22-1199 rings extension 2990 before the caller is answered, and the FAX machine's
//! answer reaches the caller.

mod common;
use common::*;
use sip::Message;

#[test]
fn a_fax_on_sunday_night_rings_the_fax_machine_without_a_prompt() {
    let fax_machine = RawSip::new();
    // Sunday 2026-11-29 23:00 JST: the center is closed; calls to the representative
    // numbers would hear the after-hours message first.
    let sw = Switch::start_at("fax-night", "2026-11-29T23:00", |t| {
        t.replace(
            "proxy = \"127.0.0.1:5092\"",
            &format!("proxy = \"{}\"", fax_machine.addr()),
        )
    });
    let sender = RawSip::new();
    sender.invite(&sw, "+81246221199", "0312345678", "fax-1", sender.addr());

    let mut rung = None;
    for _ in 0..50 {
        // Until the FAX machine rings, the sender must not have been answered.
        if let Some(Message::Response(r)) = sender.recv(0.1) {
            assert!(
                r.status < 200,
                "answered before the FAX machine rang: {}",
                r.status
            );
        }
        if let Some(Message::Request(r)) = fax_machine.recv(0.1) {
            if r.method == sip::Method::Invite {
                rung = Some(r);
                break;
            }
        }
    }
    let inv = rung.expect("the FAX machine was not rung");
    assert_eq!(inv.uri.user().as_deref(), Some("2990"), "the FAX extension");

    // The FAX machine answers; the answer reaches the sender.
    let mut ok = sip::Response::to_request(&inv, 200, Some("fax200"));
    ok.headers
        .push("Contact", format!("<sip:2990@{}>", fax_machine.addr()));
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = bytes::Bytes::from(sdp_offer(fax_machine.addr()));
    fax_machine.send(sw.pbx, &ok.to_bytes());
    let answer = sender.final_response(10.0, &mut Vec::new());
    assert_eq!(answer.map(|r| r.status), Some(200));
}
