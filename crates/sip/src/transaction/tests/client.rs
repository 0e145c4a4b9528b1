//! Client transactions: RFC 3261 §17.1.1 (INVITE, with RFC 6026 Accepted) and §17.1.2.

use super::*;
use crate::message::{Method, SipHeaders};
use crate::transaction::ClientTxId;

fn is_timeout(a: &Action, id: ClientTxId) -> bool {
    matches!(a, Action::Timeout { tx } if *tx == id)
}

#[test]
fn invite_timer_a_doubles_and_timer_b_times_out() {
    let (mut l, t0) = (layer(), Instant::now());
    let id = l.send_request(request("INVITE", "z9hG4bKa", 1, None), udp(), t0);
    assert_eq!(sent(&drain(&mut l)).len(), 1);
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    // §17.1.1.2: A = T1, 2T1, 4T1, … and B = 64*T1 = 32 s ends it.
    assert_eq!(
        transmit_times(&ev),
        vec![500, 1500, 3500, 7500, 15500, 31500]
    );
    let timeouts: Vec<_> = ev
        .iter()
        .filter(|(_, a)| is_timeout(a, id))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(timeouts, vec![32_000]);
    assert_eq!(l.len(), 0);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn non_invite_timer_e_caps_at_t2_and_timer_f_times_out() {
    let (mut l, t0) = (layer(), Instant::now());
    let id = l.send_request(request("OPTIONS", "z9hG4bKo", 1, None), udp(), t0);
    drain(&mut l);
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    // §17.1.2.2: E doubles from T1 but never exceeds T2 = 4 s.
    let expected = vec![
        500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ];
    assert_eq!(transmit_times(&ev), expected);
    assert!(ev.iter().any(|(t, a)| *t == 32_000 && is_timeout(a, id)));
    assert_eq!(l.len(), 0);
}

#[test]
fn non_invite_proceeding_retransmits_every_t2() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("REGISTER", "z9hG4bKr", 1, None);
    let id = l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    l.on_message(
        Message::Response(response(&req, 100, None)),
        udp(),
        t0 + Duration::from_millis(100),
    );
    assert!(
        matches!(&drain(&mut l)[..], [Action::Response { tx, resp }] if *tx == id && resp.status == 100)
    );
    let ev = run_until(&mut l, t0, Duration::from_secs(10));
    // The E armed in Trying (T1) fires, then §17.1.2.2 resets it to T2 in Proceeding.
    assert_eq!(transmit_times(&ev), vec![500, 4500, 8500]);
}

#[test]
fn no_retransmissions_over_tcp_but_timer_b_and_f_still_run() {
    for method in ["INVITE", "BYE"] {
        let (mut l, t0) = (layer(), Instant::now());
        let id = l.send_request(request(method, "z9hG4bKt", 2, None), tcp(), t0);
        assert_eq!(sent(&drain(&mut l)).len(), 1);
        let ev = run_until(&mut l, t0, Duration::from_secs(60));
        assert!(
            transmit_times(&ev).is_empty(),
            "{method} retransmitted over TCP"
        );
        assert!(
            ev.iter().any(|(t, a)| *t == 32_000 && is_timeout(a, id)),
            "{method}"
        );
        assert_eq!(l.len(), 0);
    }
}

#[test]
fn provisional_stops_timer_a_and_timer_b() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKp", 1, None);
    l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    l.on_message(
        Message::Response(response(&req, 180, Some("b1"))),
        udp(),
        t0 + Duration::from_millis(200),
    );
    drain(&mut l);
    // §17.1.1.2: Proceeding neither retransmits nor times out (the TU CANCELs).
    assert_eq!(l.poll_timeout(), None);
    assert_eq!(l.len(), 1);
}

#[test]
fn non_2xx_is_acked_by_the_transaction_and_timer_d_is_32s_on_udp() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKn", 7, None);
    let id = l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    assert!(
        l.client_holds_request(id),
        "Calling resends the INVITE (Timer A)"
    );
    let t1 = t0 + Duration::from_secs(1);
    let busy = response(&req, 486, Some("b2"));
    l.on_message(Message::Response(busy.clone()), udp(), t1);
    let acts = drain(&mut l);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Response { tx, resp } if *tx == id && resp.status == 486)));
    let msgs = sent(&acts);
    let [Message::Request(ack)] = &msgs[..] else {
        panic!("one ACK expected, got {msgs:?}")
    };
    // §17.1.1.3: same branch and Request-URI, To from the response, CSeq number kept, Route copied.
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, req.uri);
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKn"));
    assert_eq!(ack.vias().len(), 1);
    assert_eq!(ack.to_tag().as_deref(), Some("b2"));
    assert_eq!(ack.cseq().unwrap().seq, 7);
    assert_eq!(ack.cseq().unwrap().method, Method::Ack);
    assert_eq!(ack.headers.get("Route"), Some("<sip:p1.example.net;lr>"));
    // A retransmitted 486 is ACKed again and not passed up.
    l.on_message(Message::Response(busy), udp(), t1 + Duration::from_secs(1));
    let acts = drain(&mut l);
    assert_eq!(sent(&acts).len(), 1);
    assert!(!acts.iter().any(|a| matches!(a, Action::Response { .. })));
    // Completed resends only the ACK: the INVITE is let go.
    assert!(!l.client_holds_request(id));
    // Timer A must be gone; Timer D = 32 s after the final.
    assert_eq!(l.poll_timeout(), Some(t1 + Duration::from_secs(32)));
    l.handle_timeout(t1 + Duration::from_secs(32));
    assert_eq!(l.len(), 0);
}

#[test]
fn timer_d_is_zero_on_tcp() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKd", 1, None);
    l.send_request(req.clone(), tcp(), t0);
    l.on_message(Message::Response(response(&req, 603, Some("x"))), tcp(), t0);
    let acts = drain(&mut l);
    assert_eq!(sent(&acts).len(), 2, "INVITE and its ACK");
    assert_eq!(l.len(), 0);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn accepted_passes_every_2xx_up_until_timer_m() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKok", 1, None);
    let id = l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    let ok = response(&req, 200, Some("b3"));
    let t1 = t0 + Duration::from_millis(300);
    l.on_message(Message::Response(ok.clone()), udp(), t1);
    l.on_message(
        Message::Response(ok.clone()),
        udp(),
        t1 + Duration::from_millis(500),
    );
    let acts = drain(&mut l);
    // RFC 6026 §7.2: both reach the TU (it ACKs each); the layer sends no ACK for a 2xx.
    let oks = acts
        .iter()
        .filter(|a| matches!(a, Action::Response { tx, resp } if *tx == id && resp.status == 200));
    assert_eq!(oks.count(), 2);
    assert!(sent(&acts).is_empty());
    // Accepted keeps the transaction 32 s, but not the INVITE: nothing resends it.
    assert_eq!(l.len(), 1);
    assert!(!l.client_holds_request(id));
    // Timer M = 64*T1 from entering Accepted.
    assert_eq!(l.poll_timeout(), Some(t1 + Duration::from_secs(32)));
    l.handle_timeout(t1 + Duration::from_secs(32));
    assert_eq!(l.len(), 0);
    // Afterwards a 2xx is stray.
    l.on_message(Message::Response(ok), udp(), t1 + Duration::from_secs(33));
    assert!(matches!(&drain(&mut l)[..], [Action::StrayResponse { .. }]));
}

#[test]
fn non_invite_final_absorbs_copies_and_timer_k_is_t4() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("BYE", "z9hG4bKbye", 2, Some("b"));
    let id = l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    let ok = response(&req, 200, None);
    l.on_message(Message::Response(ok.clone()), udp(), t0);
    l.on_message(Message::Response(ok), udp(), t0 + Duration::from_millis(10));
    let acts = drain(&mut l);
    assert_eq!(acts.len(), 1, "one final to the TU: {acts:?}");
    assert!(matches!(&acts[0], Action::Response { tx, .. } if *tx == id));
    assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    l.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(l.len(), 0);

    // Timer K is zero on TCP.
    let req = request("BYE", "z9hG4bKbye2", 3, Some("b"));
    l.send_request(req.clone(), tcp(), t0);
    l.on_message(Message::Response(response(&req, 200, None)), tcp(), t0);
    assert_eq!(l.len(), 0);
}

#[test]
fn response_matches_on_branch_and_cseq_method() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKm", 1, None);
    l.send_request(req.clone(), udp(), t0);
    drain(&mut l);
    // Same branch, other method (a 200 to our CANCEL) belongs to another transaction.
    let mut other = response(&req, 200, None);
    other.headers.set("CSeq", "1 CANCEL");
    l.on_message(Message::Response(other), udp(), t0);
    assert!(matches!(&drain(&mut l)[..], [Action::StrayResponse { .. }]));
    let mut wrong_branch = response(&req, 180, None);
    wrong_branch
        .headers
        .set("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKzz");
    l.on_message(Message::Response(wrong_branch), udp(), t0);
    assert!(matches!(&drain(&mut l)[..], [Action::StrayResponse { .. }]));
}

#[test]
fn transport_error_is_a_timeout() {
    let (mut l, t0) = (layer(), Instant::now());
    let id = l.send_request(request("OPTIONS", "z9hG4bKe", 1, None), udp(), t0);
    drain(&mut l);
    l.on_transport_error(id, t0);
    assert_eq!(drain(&mut l), vec![Action::Timeout { tx: id }]);
    assert_eq!(l.len(), 0);
    assert_eq!(l.armed_timers(), 0);
}

#[test]
fn cancelled_invite_without_final_ends_after_64_t1() {
    let (mut l, t0) = (layer(), Instant::now());
    let req = request("INVITE", "z9hG4bKcx", 1, None);
    let id = l.send_request(req.clone(), udp(), t0);
    l.on_message(Message::Response(response(&req, 180, Some("r"))), udp(), t0);
    drain(&mut l);
    let t1 = t0 + Duration::from_secs(3);
    let cancel = l.send_request(crate::transaction::make_cancel(&req), udp(), t1);
    l.on_message(
        Message::Response(response(
            &crate::transaction::make_cancel(&req),
            200,
            Some("r"),
        )),
        udp(),
        t1,
    );
    let acts = drain(&mut l);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Response { tx, .. } if *tx == cancel)));
    // §9.1: no 487 came; 64*T1 after the CANCEL the INVITE is given up as a timeout.
    let ev = run_until(&mut l, t0, Duration::from_secs(120));
    let ends: Vec<_> = ev
        .iter()
        .filter(|(_, a)| is_timeout(a, id))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(ends, vec![35_000]);
    assert_eq!(l.len(), 0);
}
