//! Re-INVITEs on a bridged call (RFC 3261 §14, RFC 3264 §8): each leg's session is
//! renegotiated with the switch alone (the relay terminates media per side), an
//! offerless re-INVITE gets our offer in the 2xx and its answer from the ACK, and an
//! offer arriving while ours still waits for that ACK is glare: 491.

mod common;

use callctl::io::{MediaOut, Output};
use callctl::Side;
use common::*;
use sip::Method;

fn answered_by(sim: &mut Sim, agent: &str) -> sip::Request {
    sim.reach_queue();
    let inv = sim.offer(agent);
    sim.respond_to(&inv, 180, None);
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    inv
}

fn last_response(sim: &Sim) -> sip::Response {
    (*sim.responses().last().expect("a response")).clone()
}

/// The remote address the relay was last told for `side`, after output `from`.
fn set_leg_port(sim: &Sim, from: usize, side: Side) -> Option<u16> {
    sim.said[from..].iter().rev().find_map(|o| match o {
        Output::Media(MediaOut::SetLeg { side: s, cfg }) if *s == side => {
            cfg.remote.map(|r| r.port())
        }
        _ => None,
    })
}

#[test]
fn offerless_reinvite_gets_our_offer_and_the_ack_answer_moves_the_media() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends_with(&op, "INVITE", "", 2, "");
    let ok = last_response(&sim);
    assert_eq!(ok.status, 200);
    let offer = std::str::from_utf8(&ok.body).unwrap();
    assert!(
        offer.contains("m=audio 20002") && offer.contains("PCMU"),
        "our offer on the operator's side in the 2xx: {offer}"
    );
    let before = sim.said.len();
    // The operator's phone answers from a new port (it moved, or re-anchored media).
    sim.leg_sends_with(&op, "ACK", "", 2, &sdp(41500));
    assert_eq!(set_leg_port(&sim, before, Side::B), Some(41500));
    assert_eq!(
        set_leg_port(&sim, before, Side::A),
        None,
        "the citizen's leg is not disturbed"
    );
    assert!(
        sim.sent(Method::Invite).len() == 1,
        "no re-INVITE towards anyone"
    );
}

#[test]
fn an_offer_crossing_our_offer_in_a_2xx_is_glare_491_then_accepted_after_the_ack() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends_with(&op, "INVITE", "", 2, "");
    assert_eq!(last_response(&sim).status, 200);
    // Before the ACK (still in flight) the phone sends a new offer: two exchanges would
    // overlap (RFC 3264 §4).
    let hold = sdp(41000).replace("a=sendrecv", "a=sendonly");
    let before = sim.said.len();
    sim.leg_sends_with(&op, "INVITE", "", 3, &hold);
    assert_eq!(last_response(&sim).status, 491);
    assert_eq!(set_leg_port(&sim, before, Side::B), None, "nothing applied");
    // The ACK arrives; the retried offer is now answered.
    sim.leg_sends_with(&op, "ACK", "", 2, &sdp(41000));
    sim.leg_sends_with(&op, "INVITE", "", 4, &hold);
    let ok = last_response(&sim);
    assert_eq!(ok.status, 200);
    assert!(std::str::from_utf8(&ok.body)
        .unwrap()
        .contains("a=recvonly"));
}

#[test]
fn both_ends_renegotiating_at_once_never_collide_at_the_switch() {
    // A signalling B2BUA that passed re-INVITEs through would cross them here and answer
    // 491 to both; ours answers each leg itself.
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    let invites_before = sim.sent(Method::Invite).len();
    let before = sim.said.len();
    sim.citizen_sends("INVITE", 2, &sdp(40200));
    sim.leg_sends_with(&op, "INVITE", "", 2, &sdp(41200));
    let codes: Vec<u16> = sim
        .responses()
        .iter()
        .rev()
        .take(2)
        .map(|r| r.status)
        .collect();
    assert_eq!(codes, vec![200, 200]);
    assert_eq!(set_leg_port(&sim, before, Side::A), Some(40200));
    assert_eq!(set_leg_port(&sim, before, Side::B), Some(41200));
    assert_eq!(sim.sent(Method::Invite).len(), invites_before);
    assert!(!sim.call.is_finished());
}

#[test]
fn an_offerless_reinvite_from_the_citizen_is_answered_with_our_offer_too() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    answered_by(&mut sim, "1001");
    sim.citizen_sends("INVITE", 2, "");
    let ok = last_response(&sim);
    assert_eq!(ok.status, 200);
    assert!(std::str::from_utf8(&ok.body)
        .unwrap()
        .contains("m=audio 20000"));
    // A second offerless re-INVITE before the ACK would need a second offer: 491.
    sim.citizen_sends("INVITE", 3, "");
    assert_eq!(last_response(&sim).status, 491);
    let before = sim.said.len();
    sim.citizen_sends("ACK", 2, &sdp(40300));
    assert_eq!(set_leg_port(&sim, before, Side::A), Some(40300));
}
