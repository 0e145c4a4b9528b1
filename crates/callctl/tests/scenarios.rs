//! Call flows on a virtual clock: every scenario drives one `Call` with the messages the
//! far ends would send and asserts what the machine says (SIP, queue, media, events).
//! Includes the races that bite big PBXs (issue 8): the caller hanging up while the
//! operator rings, CANCEL crossing 200, BYE during a transfer, a missing ACK, a vanished
//! phone.

mod common;

use callctl::event::{EventKind, Party, Phase, TransferKind};
use callctl::io::{Input, MediaOut, Output, QueueOut};
use callctl::Plan;
use common::*;
use sip::{Method, SipHeaders};
use std::time::Duration;

fn answered_by(sim: &mut Sim, agent: &str) -> sip::Request {
    sim.reach_queue();
    let inv = sim.offer(agent);
    sim.respond_to(&inv, 180, None);
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    inv
}

#[test]
fn queue_call_answered_then_citizen_hangs_up() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    // Answered at once, recorded, greeted with the notice.
    assert_eq!(sim.responses()[0].status, 200);
    assert!(sim
        .said
        .iter()
        .any(|o| matches!(o, Output::Media(MediaOut::Record { .. }))));
    assert_eq!(sim.plays()[0].1, vec!["greeting", "recording-notice"]);
    let inv = answered_by(&mut sim, "1001");
    // The operator sees the dialled line (第2-7 ⑴ ア) and Max-Forwards went down by one.
    assert_eq!(inv.headers.get("X-Madoguchi-DNIS"), Some("+81246221111"));
    assert!(inv.headers.get("From").unwrap().contains("市代表"));
    assert_eq!(inv.headers.get("Max-Forwards"), Some("68"));
    assert_eq!(sim.acks(), 1);
    assert!(sim.queue_cmds().contains(&&QueueOut::Answered {
        entry: acd::EntryId(1),
        agent: "1001".into()
    }));
    assert!(sim.events().contains(&EventKind::Answered {
        agent: "1001".into()
    }));
    sim.citizen_bye();
    let byes = sim.sent(Method::Bye);
    assert_eq!(byes.len(), 1, "the operator's leg is hung up");
    assert_eq!(byes[0].call_id(), inv.call_id());
    assert!(sim.queue_cmds().contains(&&QueueOut::CallEnded {
        agent: "1001".into()
    }));
    assert!(!sim.call.is_finished(), "waits for the BYE's answer");
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "answered");
    assert!(sim.events().contains(&EventKind::Ended {
        phase: Phase::Talking,
        by: Party::Citizen,
        outcome: "answered".into()
    }));
}

#[test]
fn caller_hangs_up_while_operator_rings_no_zombie_reaches_the_operator() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    let inv = sim.offer("1001");
    sim.respond_to(&inv, 180, None);
    sim.citizen_bye();
    // The ringing phone is cancelled and the ACD forgets the entry.
    let cancels = sim.sent(Method::Cancel);
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].call_id(), inv.call_id());
    assert!(sim.queue_cmds().contains(&&QueueOut::Abandon {
        entry: acd::EntryId(1)
    }));
    // The operator picked up just as the CANCEL crossed: ACK and BYE at once, never bridge.
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    assert_eq!(sim.acks(), 1);
    let byes = sim.sent(Method::Bye);
    assert!(
        byes.iter().any(|b| b.call_id() == inv.call_id()),
        "the zombie leg is hung up"
    );
    assert!(!sim
        .queue_cmds()
        .iter()
        .any(|q| matches!(q, QueueOut::Answered { .. })));
    assert!(sim.events().iter().any(|e| matches!(
        e,
        EventKind::Ended {
            phase: Phase::Ringing,
            by: Party::Citizen,
            ..
        }
    )));
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "abandoned");
}

#[test]
fn hunt_group_cancel_crossing_200() {
    let mut sim = Sim::inbound(queue_plan(false), citizen_invite(true));
    // A hunt group: not answered, queued at once.
    assert!(sim.responses().is_empty());
    sim.feed(Input::Enqueued(Ok(acd::EntryId(1))));
    let inv = sim.offer("1002");
    sim.respond_to(&inv, 180, None);
    assert_eq!(
        sim.responses().last().unwrap().status,
        180,
        "the caller hears ringing"
    );
    sim.feed(Input::Cancelled);
    assert_eq!(sim.responses().last().unwrap().status, 487);
    assert_eq!(sim.sent(Method::Cancel).len(), 1);
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    assert_eq!(sim.acks(), 1);
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    sim.respond_to(&inv, 487, None);
    sim.answer_byes();
    assert!(sim.call.is_finished());
}

/// The caller's CANCEL crossed our 200 to it (the core read the CANCEL before our 200
/// left, under load): the call goes on (§9.2), and ends with the caller's BYE.
#[test]
fn hunt_group_cancel_after_our_200_is_ignored() {
    let mut sim = Sim::inbound(queue_plan(false), citizen_invite(true));
    sim.feed(Input::Enqueued(Ok(acd::EntryId(1))));
    let inv = sim.offer("1002");
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    assert_eq!(sim.responses().last().unwrap().status, 200);
    sim.feed(Input::Cancelled);
    assert_eq!(
        sim.responses().last().unwrap().status,
        200,
        "no 487 after the 200"
    );
    assert!(
        sim.sent(Method::Bye).is_empty(),
        "the operator stays on the line"
    );
    assert!(!sim.call.is_finished());
    sim.citizen_bye();
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "answered");
}

#[test]
fn hunt_group_caller_hears_the_recording_notice_once_answered() {
    let mut sim = Sim::inbound(queue_plan(false), citizen_invite(true));
    sim.feed(Input::Enqueued(Ok(acd::EntryId(1))));
    let inv = sim.offer("1001");
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    assert_eq!(sim.responses().last().unwrap().status, 200);
    let plays = sim.plays();
    assert_eq!(plays.last().unwrap().1, vec!["recording-notice"]);
    assert!(sim
        .said
        .iter()
        .any(|o| matches!(o, Output::Media(MediaOut::Record { .. }))));
}

#[test]
fn missing_ack_ends_both_legs() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    answered_by(&mut sim, "1001");
    sim.feed(Input::NoAck);
    assert_eq!(
        sim.sent(Method::Bye).len(),
        2,
        "BYE to the caller and to the operator"
    );
    sim.answer_byes();
    assert!(sim.call.is_finished());
}

#[test]
fn vanished_phone_goes_to_the_next_operator_and_bye_timeout_still_ends() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    let inv = sim.offer("1001");
    let branch = inv.top_via().unwrap().branch().unwrap().to_string();
    // Timer B: the phone never answered the INVITE.
    sim.feed(Input::Timeout { branch });
    assert!(sim.queue_cmds().contains(&&QueueOut::Rejected {
        entry: acd::EntryId(1),
        agent: "1001".into()
    }));
    let inv2 = sim.offer("1002");
    sim.respond_to(&inv2, 200, Some(sdp(41002)));
    assert!(sim.events().contains(&EventKind::Answered {
        agent: "1002".into()
    }));
    // The operator's phone vanishes during the call: our BYE gets no answer.
    sim.citizen_bye();
    let bye = sim.sent(Method::Bye)[0].clone();
    sim.feed(Input::Timeout {
        branch: bye.top_via().unwrap().branch().unwrap().to_string(),
    });
    assert!(sim.call.is_finished());
}

#[test]
fn ring_deadline_is_a_safety_net_when_the_acd_says_nothing() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    let inv = sim.offer("1001");
    sim.advance(Duration::from_secs(21));
    assert_eq!(sim.sent(Method::Cancel).len(), 1);
    assert_eq!(sim.sent(Method::Cancel)[0].call_id(), inv.call_id());
    assert!(sim.events().contains(&EventKind::OfferEnded {
        agent: "1001".into(),
        status: 408
    }));
}

#[test]
fn blind_transfer_to_a_department_after_the_operator_leaves() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(
        &op,
        "REFER",
        "Refer-To: <sip:2101@127.0.0.1:5060>\r\nReferred-By: <sip:1001@127.0.0.1>\r\n",
        2,
    );
    assert_eq!(sim.responses().last().unwrap().status, 202);
    let notifies = sim.sent(Method::Notify);
    assert_eq!(notifies.len(), 1);
    assert_eq!(&notifies[0].body[..], b"SIP/2.0 100 Trying\r\n");
    assert_eq!(notifies[0].headers.get("Event"), Some("refer"));
    let dept = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    assert_eq!(sim.world.channels.borrow().get("pbx"), Some(&1));
    assert!(sim.events().contains(&EventKind::TransferStarted {
        agent: "1001".into(),
        kind: TransferKind::Blind,
        target: "2101".into()
    }));
    // The operator hangs up (RFC 5589): their after-call work starts now, once.
    sim.leg_sends(&op, "BYE", "", 3);
    let ended: Vec<_> = sim
        .queue_cmds()
        .into_iter()
        .filter(|q| matches!(q, QueueOut::CallEnded { .. }))
        .collect();
    assert_eq!(
        ended,
        vec![&QueueOut::CallEnded {
            agent: "1001".into()
        }]
    );
    assert!(
        sim.sent(Method::Bye).is_empty(),
        "the citizen stays on the line"
    );
    sim.respond_to(&dept, 200, Some(sdp(42000)));
    let set_b: Vec<_> = sim
        .said
        .iter()
        .filter_map(|o| match o {
            Output::Media(MediaOut::SetLeg {
                side: callctl::Side::B,
                cfg,
            }) => cfg.remote,
            _ => None,
        })
        .collect();
    assert_eq!(
        set_b.last().unwrap().port(),
        42000,
        "the citizen now talks to the department"
    );
    assert!(sim.events().contains(&EventKind::TransferCompleted {
        agent: "1001".into(),
        target: "2101".into()
    }));
    assert_eq!(
        sim.queue_cmds()
            .iter()
            .filter(|q| matches!(q, QueueOut::CallEnded { .. }))
            .count(),
        1,
        "a transfer never resets the wrap-up twice"
    );
    sim.citizen_bye();
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .any(|b| b.call_id() == dept.call_id()));
    assert!(sim
        .said
        .iter()
        .any(|o| matches!(o, Output::ReleaseChannel { trunk } if trunk == "pbx")));
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "transferred");
}

#[test]
fn busy_department_returns_the_citizen_to_the_operator_still_on_the_line() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(&op, "REFER", "Refer-To: <sip:2201@127.0.0.1>\r\n", 2);
    let dept = sim.last_invite_to("sip:2201@127.0.0.1:5092");
    sim.respond_to(&dept, 486, None);
    let notify = sim.sent(Method::Notify).last().cloned().unwrap();
    assert!(std::str::from_utf8(&notify.body)
        .unwrap()
        .starts_with("SIP/2.0 486"));
    assert!(notify
        .headers
        .get("Subscription-State")
        .unwrap()
        .starts_with("terminated"));
    let last_b = sim
        .said
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Media(MediaOut::SetLeg {
                side: callctl::Side::B,
                cfg,
            }) => cfg.remote,
            _ => None,
        })
        .unwrap();
    assert_eq!(last_b.port(), 41000, "bridged back to the operator");
    assert!(sim
        .events()
        .iter()
        .any(|e| matches!(e, EventKind::TransferFailed { status: 486, .. })));
    assert_eq!(
        sim.world.channels.borrow().get("pbx"),
        Some(&1),
        "counted until released"
    );
    assert!(sim
        .said
        .iter()
        .any(|o| matches!(o, Output::ReleaseChannel { trunk } if trunk == "pbx")));
}

#[test]
fn unanswered_transfer_after_the_operator_left_rings_the_operator_again_then_queues_first() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(&op, "REFER", "Refer-To: <sip:2101@127.0.0.1>\r\n", 2);
    sim.leg_sends(&op, "BYE", "", 3);
    sim.advance(Duration::from_secs(26));
    // The department rang out: the operator's phone rings again.
    let recall = sim.last_invite_to(&phone_of("1001").uri.to_string());
    assert_ne!(recall.call_id(), op.call_id());
    sim.respond_to(&recall, 480, None);
    // Nobody took the citizen back: back in line, ahead of others, never dropped.
    let enq = sim.queue_cmds().into_iter().rev().find_map(|q| match q {
        QueueOut::Enqueue { priority, .. } => Some(*priority),
        _ => None,
    });
    assert_eq!(enq, Some(50));
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .all(|b| b.call_id() != Some("citizen-call-1@test")));
    let music = sim.plays().last().unwrap().1.clone();
    assert_eq!(music, vec!["hold-music"], "never in silence");
}

#[test]
fn transfer_to_a_closed_department_is_refused_and_the_call_goes_on() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(&op, "REFER", "Refer-To: <sip:2301@127.0.0.1>\r\n", 2);
    let r = (*sim.responses().last().unwrap()).clone();
    assert_eq!(r.status, 480);
    assert!(r.reason.contains("受付時間外"));
    assert!(sim
        .sent(Method::Invite)
        .iter()
        .all(|i| !i.uri.to_string().contains("2301")));
    assert!(!sim.call.is_finished());
}

#[test]
fn citizen_hangs_up_during_a_transfer() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(&op, "REFER", "Refer-To: <sip:2101@127.0.0.1>\r\n", 2);
    let dept = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    sim.citizen_bye();
    assert!(sim
        .sent(Method::Cancel)
        .iter()
        .any(|c| c.call_id() == dept.call_id()));
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .any(|b| b.call_id() == op.call_id()));
    sim.respond_to(&dept, 487, None);
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "abandoned");
}

#[test]
fn overflow_to_another_queue_keeps_the_entry_and_the_caller() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    sim.feed(Input::Overflow {
        to: acd::Overflow::Queue("second".into()),
    });
    assert!(!sim
        .queue_cmds()
        .iter()
        .any(|q| matches!(q, QueueOut::Abandon { .. })));
    assert!(sim.events().contains(&EventKind::Queued {
        queue: "second".into(),
        priority: 0
    }));
    // The same entry is offered from the new queue and the phone rings.
    let inv = sim.offer("1003");
    sim.respond_to(&inv, 200, Some(sdp(41003)));
    assert!(sim.events().contains(&EventKind::Answered {
        agent: "1003".into()
    }));
}

#[test]
fn overflow_to_callback_offers_the_key_and_takes_the_request() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    sim.feed(Input::Overflow {
        to: acd::Overflow::Callback,
    });
    assert_eq!(sim.plays().last().unwrap().1, vec!["callback-offer"]);
    assert!(
        sim.sent(Method::Invite)
            .iter()
            .all(|i| !i.uri.to_string().contains("2999")),
        "not the guard room"
    );
    sim.finish_prompt();
    sim.feed(Input::Digit('1'));
    assert!(sim.events().contains(&EventKind::CallbackRequested {
        number: "0312345678".into()
    }));
    assert_eq!(sim.plays().last().unwrap().1, vec!["callback-accepted"]);
    sim.finish_prompt();
    assert_eq!(sim.sent(Method::Bye).len(), 1, "then goodbye");
}

#[test]
fn overflow_to_after_hours_forwards_to_the_guard_room() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    sim.feed(Input::Overflow {
        to: acd::Overflow::Route("after-hours".into()),
    });
    sim.finish_prompt();
    sim.last_invite_to("sip:2999@127.0.0.1:5092");
}

#[test]
fn after_hours_forward_plays_the_notice_and_is_recorded() {
    let plan = Plan::Forward {
        announce: vec!["after-hours".into()],
        dest: Some(pbx_ext("2999")),
        role: callctl::Role::Department {
            name: "警備室".into(),
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    assert_eq!(sim.plays()[0].1, vec!["after-hours", "recording-notice"]);
    assert!(sim
        .events()
        .iter()
        .any(|e| matches!(e, EventKind::AfterHours { .. })));
    sim.finish_prompt();
    let inv = sim.last_invite_to("sip:2999@127.0.0.1:5092");
    sim.respond_to(&inv, 200, Some(sdp(43000)));
    assert!(sim.events().contains(&EventKind::Connected {
        party: "2999".into()
    }));
}

#[test]
fn callback_rings_the_agent_then_the_citizen_on_the_line_they_dialled() {
    let mut line = line();
    line.number = "0246542111".into();
    line.name = "小名浜支所".into();
    let citizen = callctl::Destination {
        label: "callback 0312345678".into(),
        uri: sip::Uri::parse("sip:0312345678@127.0.0.1:5090").unwrap(),
        peer: peer(CITIZEN, TRUNK_LISTEN),
        trunk: Some("carrier".into()),
    };
    let plan = Plan::Callback {
        entry: acd::EntryId(9),
        agent: "1001".into(),
        agent_dest: Some(phone_of("1001")),
        citizen: Some(citizen),
        queue: "general".into(),
    };
    let world = World::default();
    let start = std::time::Instant::now();
    let setup = callctl::CallSetup {
        uid: callctl::CallUid("cb".into()),
        origin: callctl::event::Origin::Callback,
        trunk: String::new(),
        line,
        caller: "0312345678".into(),
        inbound_channel: None,
        inbound: None,
        plan,
        media: media(),
        epoch: (start, 0),
        timers: Default::default(),
        max_forwards: 70,
        center: None,
    };
    let mut sim = Sim {
        call: callctl::Call::new(setup, &world, start),
        world,
        now: start,
        start,
        said: vec![],
        seen: 0,
    };
    sim.feed(Input::Digit('9'));
    let agent = sim.last_invite_to(&phone_of("1001").uri.to_string());
    sim.respond_to(&agent, 200, Some(sdp(41000)));
    assert!(sim.queue_cmds().contains(&&QueueOut::Answered {
        entry: acd::EntryId(9),
        agent: "1001".into()
    }));
    let out = sim.last_invite_to("sip:0312345678@127.0.0.1:5090");
    let from = out.headers.get("From").unwrap();
    assert!(
        from.contains("小名浜支所") && from.contains("+81246542111"),
        "{from}"
    );
    sim.respond_to(&out, 200, Some(sdp(44000)));
    assert_eq!(sim.plays().last().unwrap().1, vec!["recording-notice"]);
    assert!(sim
        .said
        .iter()
        .any(|o| matches!(o, Output::Media(MediaOut::Record { .. }))));
}

#[test]
fn late_offer_is_answered_with_our_offer_and_the_ack_carries_the_answer() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(false));
    let ok = sim.responses()[0].clone();
    assert_eq!(ok.status, 200);
    let body = std::str::from_utf8(&ok.body).unwrap();
    assert!(
        body.contains("m=audio 20000"),
        "our offer on side A: {body}"
    );
    sim.citizen_sends("ACK", 1, &sdp(40100));
    let a = sim.said.iter().rev().find_map(|o| match o {
        Output::Media(MediaOut::SetLeg {
            side: callctl::Side::A,
            cfg,
        }) => cfg.remote,
        _ => None,
    });
    assert_eq!(a.unwrap().port(), 40100);
}

#[test]
fn feature_code_is_answered_with_a_confirmation_then_bye() {
    let plan = Plan::Dial {
        agent: "1001".into(),
        target: callctl::Target::Feature {
            op: callctl::AgentOp::Pause("休憩".into()),
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    assert!(sim.queue_cmds().contains(&&QueueOut::Agent {
        agent: "1001".into(),
        op: callctl::AgentOp::Pause("休憩".into())
    }));
    sim.feed(Input::AgentChanged(Ok(())));
    assert_eq!(sim.responses().last().unwrap().status, 200);
    assert_eq!(sim.plays().last().unwrap().1, vec!["feature-pause"]);
    sim.finish_prompt();
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    // Refused: the error prompt.
    let plan = Plan::Dial {
        agent: "1001".into(),
        target: callctl::Target::Feature {
            op: callctl::AgentOp::EndWrapUp,
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    sim.feed(Input::AgentChanged(Err("not in wrap-up".into())));
    assert_eq!(sim.plays().last().unwrap().1, vec!["feature-failed"]);
}

#[test]
fn operator_dials_an_extension_and_hears_it_ring() {
    let plan = Plan::Dial {
        agent: "1001".into(),
        target: callctl::Target::Place {
            dest: pbx_ext("2101"),
            role: callctl::Role::Department {
                name: "市民課".into(),
            },
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    let inv = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    sim.respond_to(&inv, 180, None);
    assert_eq!(sim.responses().last().unwrap().status, 180);
    sim.respond_to(&inv, 200, Some(sdp(45000)));
    assert_eq!(sim.responses().last().unwrap().status, 200);
    // Busy: the operator's phone shows 486.
    let plan = Plan::Dial {
        agent: "1001".into(),
        target: callctl::Target::Place {
            dest: pbx_ext("2101"),
            role: callctl::Role::Department {
                name: "市民課".into(),
            },
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    let inv = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    sim.respond_to(&inv, 486, None);
    assert_eq!(sim.responses().last().unwrap().status, 486);
    assert!(sim.call.is_finished());
}

#[test]
fn reinvite_on_the_operator_leg_holds_without_disturbing_the_citizen() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    let before = sim.said.len();
    let hold = sdp(41000).replace("a=sendrecv", "a=sendonly");
    let req = parse_req(&format!(
        "INVITE sip:madoguchi@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKhold\r\n\
         Max-Forwards: 70\r\nFrom: <sip:far@127.0.0.1>;tag=far-tag\r\nTo: <sip:x@127.0.0.1>;tag={}\r\n\
         Call-ID: {}\r\nCSeq: 2 INVITE\r\nContact: <sip:far@127.0.0.1:7000>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{hold}",
        op.from_tag().unwrap(),
        op.call_id().unwrap(),
        hold.len()
    ));
    sim.feed(Input::Request {
        tx: sip::transaction::ServerTxId::from_raw(77),
        req,
        from: peer("127.0.0.1:7000", AGENTS_LISTEN),
    });
    let r = (*sim.responses().last().unwrap()).clone();
    assert_eq!(r.status, 200);
    assert!(std::str::from_utf8(&r.body).unwrap().contains("a=recvonly"));
    let touched_a = sim.said[before..].iter().any(|o| {
        matches!(
            o,
            Output::Media(MediaOut::SetLeg {
                side: callctl::Side::A,
                ..
            })
        )
    });
    assert!(!touched_a);
}

#[test]
fn a_day_of_calls_on_the_virtual_clock_leaves_nothing_behind() {
    // 2,000 calls, each answered or abandoned at a random point: every one ends, every
    // ringing leg is cancelled or answered, every entry left the queue.
    let mut rng = 12345u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..2000 {
        let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
        sim.reach_queue();
        let inv = sim.offer("1001");
        match next() % 3 {
            0 => {
                sim.citizen_bye();
                sim.respond_to(&inv, 487, None);
            }
            1 => {
                sim.respond_to(&inv, 200, Some(sdp(41000)));
                sim.citizen_bye();
            }
            _ => {
                sim.respond_to(&inv, 200, Some(sdp(41000)));
                sim.leg_sends(&inv, "BYE", "", 2);
            }
        }
        sim.answer_byes();
        assert!(sim.call.is_finished(), "{:?}", sim.events());
        let ended = sim
            .events()
            .iter()
            .filter(|e| matches!(e, EventKind::Ended { .. }))
            .count();
        assert_eq!(ended, 1, "exactly one Ended event per call");
    }
}

#[test]
fn attended_transfer_joins_the_consult_call_then_ends_with_it() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    sim.leg_sends(
        &op,
        "REFER",
        "Refer-To: <sip:2101@127.0.0.1?Replaces=consult-1%40host%3Bto-tag%3Dours9%3Bfrom-tag%3Dphone7>\r\n",
        2,
    );
    assert_eq!(sim.responses().last().unwrap().status, 202);
    let attend = sim.said.iter().find_map(|o| match o {
        Output::Attend { replaces, ours } => Some((replaces.clone(), *ours)),
        _ => None,
    });
    let (replaces, ours) = attend.expect("asks to join the consult call");
    assert_eq!(replaces.call_id, "consult-1@host");
    assert_eq!(
        (replaces.to_tag.as_str(), replaces.from_tag.as_str()),
        ("ours9", "phone7")
    );
    assert_eq!(ours.remote.port(), 20002, "our side B");
    let peer = callctl::JoinPeer {
        remote: "127.0.0.1:30000".parse().unwrap(),
    };
    sim.feed(Input::Joined(Ok(peer)));
    let b = sim.said.iter().rev().find_map(|o| match o {
        Output::Media(MediaOut::SetLeg {
            side: callctl::Side::B,
            cfg,
        }) => cfg.remote,
        _ => None,
    });
    assert_eq!(
        b,
        Some(peer.remote),
        "side B now talks to the consult call's relay"
    );
    let notify = sim.sent(Method::Notify).last().cloned().unwrap();
    assert!(std::str::from_utf8(&notify.body)
        .unwrap()
        .starts_with("SIP/2.0 200"));
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .any(|r| r.call_id() == op.call_id()));
    assert!(sim.events().contains(&EventKind::TransferStarted {
        agent: "1001".into(),
        kind: TransferKind::Attended,
        target: "consult".into()
    }));
    // The other call ends (the department hung up): so does the citizen's.
    sim.feed(Input::PartnerGone);
    assert!(
        sim.sent(Method::Bye).len() >= 2,
        "the citizen is hung up too"
    );
    assert!(
        !sim.said.iter().any(|o| matches!(o, Output::PartnerEnd)),
        "no echo back"
    );
}

#[test]
fn the_consult_call_hands_its_department_over_and_keeps_it() {
    let plan = Plan::Dial {
        agent: "1001".into(),
        target: callctl::Target::Place {
            dest: pbx_ext("2101"),
            role: callctl::Role::Department {
                name: "市民課".into(),
            },
        },
    };
    let mut sim = Sim::inbound(plan, citizen_invite(true));
    let inv = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    sim.respond_to(&inv, 200, Some(sdp(45000)));
    let peer = callctl::JoinPeer {
        remote: "127.0.0.1:30002".parse().unwrap(),
    };
    sim.feed(Input::HandOver { peer });
    let r = sim.said.iter().find_map(|o| match o {
        Output::HandedOver(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(r.unwrap().unwrap().remote.port(), 20000, "our side A");
    assert_eq!(sim.sent(Method::Bye).len(), 1, "the operator's leg goes");
    // The operator's BYE crossing ours does not end the joined call.
    sim.citizen_bye();
    assert!(!sim
        .sent(Method::Bye)
        .iter()
        .any(|b| b.call_id() == inv.call_id()));
    // The department hangs up: the call ends and tells its partner.
    sim.leg_sends(&inv, "BYE", "", 2);
    assert!(sim.said.iter().any(|o| matches!(o, Output::PartnerEnd)));
}
