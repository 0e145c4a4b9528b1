//! Server transactions: RFC 3261 §17.2.1 (INVITE, with RFC 6026 Accepted) and §17.2.2.

use super::*;
use crate::message::SipHeaders;
use crate::transaction::ServerTxId;

/// Deliver a request; return the server transaction it created (if any) and the rest.
fn receive(
    l: &mut TransactionLayer,
    req: &Request,
    from: Peer,
    now: Instant,
) -> (Option<ServerTxId>, Vec<Action>) {
    l.on_message(Message::Request(req.clone()), from, now);
    let acts = drain(l);
    let tx = acts.iter().find_map(|a| match a {
        Action::Request { tx, .. } => Some(*tx),
        _ => None,
    });
    (tx, acts)
}

fn statuses(acts: &[Action]) -> Vec<u16> {
    sent(acts)
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect()
}

#[test]
fn invite_gets_100_at_once_and_retransmissions_get_the_last_response() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs1", 1, None);
    let (tx, acts) = receive(&mut l, &inv, udp(), t0);
    let tx = tx.expect("INVITE goes to the TU");
    assert_eq!(statuses(&acts), vec![100]);
    // The response goes back to where the request came from (RFC 3581).
    assert!(acts
        .iter()
        .all(|a| !matches!(a, Action::Transmit { to, .. } if *to != udp())));
    let (again, acts) = receive(&mut l, &inv, udp(), t0 + Duration::from_millis(500));
    assert_eq!(again, None, "a retransmission is not a new request");
    assert_eq!(statuses(&acts), vec![100]);
    l.respond(
        tx,
        response(&inv, 180, Some("u1")),
        t0 + Duration::from_secs(1),
    );
    assert_eq!(statuses(&drain(&mut l)), vec![180]);
    let (_, acts) = receive(&mut l, &inv, udp(), t0 + Duration::from_millis(1500));
    assert_eq!(statuses(&acts), vec![180]);
    // Proceeding arms nothing: the TU decides when to answer.
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn non_2xx_is_retransmitted_by_timer_g_until_timer_h() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs2", 1, None);
    let tx = receive(&mut l, &inv, udp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 486, Some("u2")), t0);
    assert_eq!(statuses(&drain(&mut l)), vec![486]);
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    // §17.2.1: G = T1 doubling to T2; H = 64*T1 stops it without an ACK.
    let expected = vec![
        500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ];
    assert_eq!(transmit_times(&ev), expected);
    assert!(ev.iter().all(|(_, a)| matches!(a, Action::Transmit { .. })));
    assert_eq!(l.len(), 0);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn non_2xx_over_tcp_is_not_retransmitted_but_timer_h_runs() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs3", 1, None);
    let tx = receive(&mut l, &inv, tcp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 480, Some("u3")), t0);
    drain(&mut l);
    assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    assert!(transmit_times(&ev).is_empty());
    assert_eq!(l.len(), 0);
}

#[test]
fn ack_for_non_2xx_is_absorbed_and_timer_i_is_t4() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs4", 1, None);
    let tx = receive(&mut l, &inv, udp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 404, Some("u4")), t0);
    drain(&mut l);
    // Completed: an INVITE copy gets the final again and is not a new request.
    let (again, acts) = receive(&mut l, &inv, udp(), t0 + Duration::from_millis(100));
    assert_eq!((again, statuses(&acts)), (None, vec![404]));
    let ack = request("ACK", "z9hG4bKs4", 1, Some("u4"));
    let t1 = t0 + Duration::from_millis(700);
    let (_, acts) = receive(&mut l, &ack, udp(), t1);
    assert!(acts.is_empty(), "ACK absorbed: {acts:?}");
    // Confirmed: G and H gone, I = T4 armed; a second ACK is absorbed too.
    assert_eq!(l.poll_timeout(), Some(t1 + Duration::from_secs(5)));
    let (_, acts) = receive(&mut l, &ack, udp(), t1 + Duration::from_secs(1));
    assert!(acts.is_empty());
    // An INVITE copy in Confirmed is absorbed, not answered.
    let (_, acts) = receive(&mut l, &inv, udp(), t1 + Duration::from_secs(1));
    assert!(acts.is_empty());
    l.handle_timeout(t1 + Duration::from_secs(5));
    assert_eq!(l.len(), 0);

    // Timer I is zero on TCP.
    let inv = request("INVITE", "z9hG4bKs4t", 2, None);
    let tx = receive(&mut l, &inv, tcp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 404, Some("u4")), t0);
    receive(
        &mut l,
        &request("ACK", "z9hG4bKs4t", 2, Some("u4")),
        tcp(),
        t0,
    );
    assert_eq!(l.len(), 0);
}

#[test]
fn two_xx_is_retransmitted_until_its_ack_which_goes_up_once() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs5", 1, None);
    let tx = receive(&mut l, &inv, udp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 200, Some("u5")), t0);
    assert_eq!(statuses(&drain(&mut l)), vec![200]);
    let ev = run_until(&mut l, t0, Duration::from_millis(4000));
    // §13.3.1.4: from T1 doubling (to T2).
    assert_eq!(transmit_times(&ev), vec![500, 1500, 3500]);
    // The ACK for a 2xx has its own branch (§17.1.1.3).
    let ack = request("ACK", "z9hG4bKother", 1, Some("u5"));
    let (_, acts) = receive(&mut l, &ack, udp(), t0 + Duration::from_secs(4));
    assert!(
        matches!(&acts[..], [Action::Ack { req, .. }] if req.to_tag().as_deref() == Some("u5"))
    );
    let (_, acts) = receive(&mut l, &ack, udp(), t0 + Duration::from_millis(4100));
    assert!(
        acts.is_empty(),
        "copies of the ACK are absorbed while Accepted"
    );
    // INVITE copies are absorbed (no new Request) and get the 2xx again.
    let (again, acts) = receive(&mut l, &inv, udp(), t0 + Duration::from_millis(4200));
    assert_eq!(again, None);
    assert_eq!(statuses(&acts), vec![200]);
    // No more timer retransmissions; Timer L (64*T1 after the 2xx) removes the tx.
    assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(l.len(), 0);
    // Later ACKs match nothing and go to the TU.
    let (_, acts) = receive(&mut l, &ack, udp(), t0 + Duration::from_secs(40));
    assert!(matches!(&acts[..], [Action::Ack { .. }]));
}

#[test]
fn no_ack_for_2xx_is_reported_at_timer_l() {
    let (mut l, t0) = (layer(), Instant::now());
    let inv = request("INVITE", "z9hG4bKs6", 1, None);
    let tx = receive(&mut l, &inv, tcp(), t0).0.unwrap();
    l.respond(tx, response(&inv, 200, Some("u6")), t0);
    drain(&mut l);
    let ev = run_until(&mut l, t0, Duration::from_secs(60));
    // §13.3.1.4 retransmits the 2xx even on TCP: a later hop may be UDP.
    assert_eq!(transmit_times(&ev).len(), 10);
    let noack: Vec<_> = ev
        .iter()
        .filter(|(_, a)| matches!(a, Action::NoAck { invite } if *invite == tx))
        .collect();
    assert_eq!(noack.len(), 1);
    assert_eq!(noack[0].0, 32_000);
    assert_eq!(l.len(), 0);
}

#[test]
fn non_invite_absorbs_copies_then_resends_the_final_until_timer_j() {
    let (mut l, t0) = (layer(), Instant::now());
    let reg = request("REGISTER", "z9hG4bKs7", 5, None);
    let tx = receive(&mut l, &reg, udp(), t0).0.unwrap();
    // Trying: no response to re-send yet, and no 100 for non-INVITE (§17.2.2).
    let (again, acts) = receive(&mut l, &reg, udp(), t0 + Duration::from_millis(500));
    assert_eq!(again, None);
    assert!(acts.is_empty());
    let t1 = t0 + Duration::from_secs(1);
    l.respond(tx, response(&reg, 200, Some("r")), t1);
    assert_eq!(statuses(&drain(&mut l)), vec![200]);
    let (_, acts) = receive(&mut l, &reg, udp(), t1 + Duration::from_secs(3));
    assert_eq!(statuses(&acts), vec![200]);
    // No retransmission timer on the server side of non-INVITE; Timer J = 64*T1.
    assert_eq!(l.poll_timeout(), Some(t1 + Duration::from_secs(32)));
    l.handle_timeout(t1 + Duration::from_secs(32));
    assert_eq!(l.len(), 0);
    // A late response from the TU is dropped.
    l.respond(tx, response(&reg, 500, None), t1 + Duration::from_secs(33));
    assert!(drain(&mut l).is_empty());

    // Timer J is zero on TCP.
    let tx = receive(&mut l, &reg, tcp(), t0).0.unwrap();
    l.respond(tx, response(&reg, 200, Some("r")), t0);
    assert_eq!(l.len(), 0);
}

#[test]
fn provisional_on_non_invite_is_resent_for_copies() {
    let (mut l, t0) = (layer(), Instant::now());
    let msg = request("MESSAGE", "z9hG4bKs8", 1, None);
    let tx = receive(&mut l, &msg, udp(), t0).0.unwrap();
    l.respond(tx, response(&msg, 100, None), t0);
    drain(&mut l);
    let (_, acts) = receive(&mut l, &msg, udp(), t0 + Duration::from_secs(1));
    assert_eq!(statuses(&acts), vec![100]);
}
