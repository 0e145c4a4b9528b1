//! Matching (§17.2.3 and its RFC 2543 fallback) and CANCEL (§9).

use super::*;
use crate::message::{Method, SipHeaders};
use crate::transaction::{make_cancel, new_branch};

fn requests(acts: &[Action]) -> usize {
    acts.iter()
        .filter(|a| matches!(a, Action::Request { .. }))
        .count()
}

fn deliver(l: &mut TransactionLayer, req: &Request, from: Peer, now: Instant) -> Vec<Action> {
    l.on_message(Message::Request(req.clone()), from, now);
    drain(l)
}

#[test]
fn cancel_is_answered_200_and_reported_once() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKc1", 1, None);
    let acts = deliver(&mut l, &inv, udp(), t0);
    let Some(Action::Request { tx: inv_tx, .. }) =
        acts.iter().find(|a| matches!(a, Action::Request { .. }))
    else {
        panic!("no Request in {acts:?}")
    };
    l.respond(*inv_tx, response(&inv, 180, Some("u1")), t0);
    drain(&mut l);
    let cancel = make_cancel(&inv);
    let acts = deliver(&mut l, &cancel, udp(), t0 + Duration::from_secs(1));
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Cancelled { invite } if invite == inv_tx)));
    assert_eq!(requests(&acts), 0, "the TU never sees the CANCEL itself");
    let msgs = sent(&acts);
    let [Message::Response(ok)] = &msgs[..] else {
        panic!("{msgs:?}")
    };
    assert_eq!(
        (ok.status, ok.cseq().unwrap().method),
        (200, Method::Cancel)
    );
    // §9.2: same To tag as the INVITE's responses.
    assert_eq!(ok.to_tag().as_deref(), Some("u1"));
    // A retransmitted CANCEL gets the 200 again, but the TU is told only once.
    let acts = deliver(&mut l, &cancel, udp(), t0 + Duration::from_millis(1500));
    assert_eq!(acts.len(), 1);
    assert_eq!(sent(&acts).len(), 1);
    // The TU answers the INVITE 487, which is ACKed with the INVITE's branch.
    l.respond(
        *inv_tx,
        response(&inv, 487, Some("u1")),
        t0 + Duration::from_secs(2),
    );
    drain(&mut l);
    let acts = deliver(
        &mut l,
        &request("ACK", "z9hG4bKc1", 1, Some("u1")),
        udp(),
        t0 + Duration::from_secs(2),
    );
    assert!(acts.is_empty());
}

#[test]
fn cancel_after_final_or_without_invite() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKc2", 1, None);
    let acts = deliver(&mut l, &inv, udp(), t0);
    let Some(Action::Request { tx, .. }) = acts
        .into_iter()
        .find(|a| matches!(a, Action::Request { .. }))
    else {
        panic!()
    };
    l.respond(tx, response(&inv, 200, Some("u2")), t0);
    drain(&mut l);
    // Too late: 200 to the CANCEL, no effect on the call.
    let acts = deliver(&mut l, &make_cancel(&inv), udp(), t0);
    assert!(!acts.iter().any(|a| matches!(a, Action::Cancelled { .. })));
    assert!(matches!(&sent(&acts)[..], [Message::Response(r)] if r.status == 200));
    // §9.2: no matching transaction → 481.
    let stray = make_cancel(&request("INVITE", "z9hG4bKnone", 9, None));
    let acts = deliver(&mut l, &stray, udp(), t0);
    assert!(matches!(&sent(&acts)[..], [Message::Response(r)] if r.status == 481));
}

#[test]
fn make_cancel_copies_what_section_9_1_asks() {
    let mut inv = request("INVITE", "z9hG4bKc3", 4, None);
    inv.headers
        .push_front("Via", "SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKtop");
    let c = make_cancel(&inv);
    assert_eq!(c.method, Method::Cancel);
    assert_eq!(c.uri, inv.uri);
    assert_eq!(c.vias().len(), 1);
    assert_eq!(c.top_via().unwrap().branch(), Some("z9hG4bKtop"));
    assert_eq!(c.cseq().unwrap().seq, 4);
    assert_eq!(c.cseq().unwrap().method, Method::Cancel);
    assert_eq!(c.call_id(), inv.call_id());
    assert_eq!(c.headers.get("From"), inv.headers.get("From"));
    assert_eq!(c.headers.get("To"), inv.headers.get("To"));
    assert_eq!(c.headers.get("Route"), inv.headers.get("Route"));
}

#[test]
fn same_branch_from_another_sent_by_is_another_transaction() {
    let (mut l, t0) = (layer(), Instant::now());
    let a = request("OPTIONS", "z9hG4bKsame", 1, None);
    let mut b = a.clone();
    b.headers
        .set("Via", "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKsame");
    assert_eq!(requests(&deliver(&mut l, &a, udp(), t0)), 1);
    assert_eq!(requests(&deliver(&mut l, &b, udp(), t0)), 1);
    assert_eq!(requests(&deliver(&mut l, &a, udp(), t0)), 0);
    assert_eq!(l.len(), 2);
}

#[test]
fn rfc2543_requests_match_without_a_cookie() {
    for branch in [None, Some("z9hG4bK"), Some("1234abc")] {
        let (mut l, t0) = (layer(), Instant::now());
        let mut inv = request("INVITE", "x", 1, None);
        let via = match branch {
            Some(b) => format!("SIP/2.0/UDP 10.0.0.1:5060;branch={b}"),
            None => "SIP/2.0/UDP 10.0.0.1:5060".to_string(),
        };
        inv.headers.set("Via", via.clone());
        let acts = deliver(&mut l, &inv, udp(), t0);
        let Some(Action::Request { tx, .. }) = acts
            .into_iter()
            .find(|a| matches!(a, Action::Request { .. }))
        else {
            panic!()
        };
        assert_eq!(
            requests(&deliver(&mut l, &inv, udp(), t0)),
            0,
            "{branch:?}: copy matched"
        );
        // A different CSeq is a different request.
        let mut next = inv.clone();
        next.headers.set("CSeq", "2 INVITE");
        assert_eq!(
            requests(&deliver(&mut l, &next, udp(), t0)),
            1,
            "{branch:?}"
        );
        // ACK for our 486 carries our To tag and matches the INVITE (absorbed).
        l.respond(tx, response(&inv, 486, Some("t9")), t0);
        drain(&mut l);
        let mut ack = request("ACK", "x", 1, Some("t9"));
        ack.headers.set("Via", via.clone());
        assert!(
            deliver(&mut l, &ack, udp(), t0).is_empty(),
            "{branch:?}: ACK absorbed"
        );
        // A CANCEL with the INVITE's Via finds the INVITE of the same CSeq.
        let mut cancel = make_cancel(&next);
        cancel.headers.set("Via", via);
        let acts = deliver(&mut l, &cancel, udp(), t0);
        assert!(
            acts.iter().any(|a| matches!(a, Action::Cancelled { .. })),
            "{branch:?}: {acts:?}"
        );
    }
}

#[test]
fn requests_that_cannot_be_matched_are_dropped_and_counted() {
    let (mut l, t0) = (layer(), Instant::now());
    let mut r = request("OPTIONS", "z9hG4bKd", 1, None);
    r.headers.remove("Via");
    assert!(deliver(&mut l, &r, udp(), t0).is_empty());
    let mut r = request("OPTIONS", "z9hG4bKd", 1, None);
    r.headers.remove("CSeq");
    assert!(deliver(&mut l, &r, udp(), t0).is_empty());
    assert_eq!(l.dropped(), 2);
    assert_eq!(l.len(), 0);
}

#[test]
fn branches_are_cookie_prefixed_and_distinct() {
    let a = new_branch();
    let b = new_branch();
    assert!(a.starts_with("z9hG4bK") && a.len() > 7 + 16);
    assert_ne!(a, b);
}

#[test]
fn ack_sent_through_send_request_is_not_a_transaction() {
    let (mut l, t0) = (layer(), Instant::now());
    l.send_request(request("ACK", "z9hG4bKa2", 1, Some("u")), udp(), t0);
    assert_eq!(sent(&drain(&mut l)).len(), 1);
    assert_eq!(l.len(), 0);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn junk_responses_are_stray_and_never_panic() {
    let (mut l, t0) = (layer(), Instant::now());
    // RFC 4475 §3.3.1-style: no Via at all; a Via without branch; a CSeq we never sent.
    let texts = [
        "SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        "SIP/2.0 503 Service Unavailable\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKno\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
    ];
    for t in texts {
        l.on_message(parse(t), udp(), t0);
        assert!(
            matches!(&drain(&mut l)[..], [Action::StrayResponse { .. }]),
            "{t}"
        );
    }
    assert_eq!(l.len(), 0);
}
