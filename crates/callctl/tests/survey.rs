//! The satisfaction survey on the virtual clock (issue 15 item 7): the operator hangs up
//! first on a line that asks, the citizen hears the question and answers with a key
//! (RFC 4733 through the relay, or SIP INFO); the rating is a typed event; no answer,
//! a hang-up or a line without the survey end the call as before.

mod common;

use callctl::event::{EventKind, Party, Phase};
use callctl::io::{Input, QueueOut};
use common::*;
use sip::{Method, SipHeaders};
use std::time::Duration;

fn survey_line() -> dialplan::Number {
    dialplan::Number {
        survey: true,
        ..line()
    }
}

/// A call on a survey line, answered by 1001, who then hangs up first.
fn operator_left_first() -> Sim {
    let mut sim = Sim::inbound_on(queue_plan(true), citizen_invite(true), survey_line());
    sim.reach_queue();
    let op = sim.offer("1001");
    sim.respond_to(&op, 200, Some(sdp(41000)));
    sim.leg_sends(&op, "BYE", "", 2);
    sim
}

fn answers(sim: &Sim) -> Vec<u8> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            EventKind::SurveyAnswered { score } => Some(*score),
            _ => None,
        })
        .collect()
}

#[test]
fn the_operator_hangs_up_first_and_the_citizen_rates_the_call() {
    let mut sim = operator_left_first();
    assert!(
        sim.sent(Method::Bye).is_empty(),
        "the citizen stays on the line"
    );
    assert_eq!(sim.plays().last().unwrap().1, vec!["survey"]);
    assert!(sim.events().contains(&EventKind::SurveyOffered));
    // The operator's after-call work starts now, not after the survey.
    assert!(sim.queue_cmds().contains(&&QueueOut::CallEnded {
        agent: "1001".into()
    }));
    // The answer may come during the question.
    sim.feed(Input::Digit('4'));
    assert_eq!(answers(&sim), vec![4]);
    assert_eq!(sim.plays().last().unwrap().1, vec!["survey-thanks"]);
    sim.feed(Input::Digit('1'));
    assert_eq!(answers(&sim), vec![4], "one answer per call");
    sim.finish_prompt();
    assert_eq!(sim.sent(Method::Bye).len(), 1, "then goodbye");
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "answered");
    let ev = sim.events();
    let rated = ev
        .iter()
        .position(|e| matches!(e, EventKind::SurveyAnswered { .. }))
        .unwrap();
    let ended = ev
        .iter()
        .position(|e| matches!(e, EventKind::Ended { .. }))
        .unwrap();
    assert!(
        rated < ended,
        "the rating is in the record before it closes"
    );
}

#[test]
fn a_key_sent_as_sip_info_counts_too() {
    let mut sim = operator_left_first();
    sim.finish_prompt();
    sim.citizen_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
    assert_eq!(sim.responses().last().unwrap().status, 200);
    assert_eq!(answers(&sim), vec![5]);
    // application/dtmf (a bare key) on another call.
    let mut sim = operator_left_first();
    sim.citizen_info("application/dtmf", "2");
    assert_eq!(answers(&sim), vec![2]);
}

#[test]
fn keys_outside_one_to_five_are_not_a_rating() {
    let mut sim = operator_left_first();
    for d in ['0', '6', '9', '*', '#'] {
        sim.feed(Input::Digit(d));
    }
    assert!(answers(&sim).is_empty());
    assert_eq!(sim.plays().last().unwrap().1, vec!["survey"]);
    sim.feed(Input::Digit('3'));
    assert_eq!(answers(&sim), vec![3]);
}

#[test]
fn no_answer_ends_the_call_after_the_window() {
    let mut sim = operator_left_first();
    sim.finish_prompt();
    sim.advance(Duration::from_secs(9));
    assert!(
        sim.sent(Method::Bye).is_empty(),
        "still waiting for the key"
    );
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    assert!(answers(&sim).is_empty());
    sim.answer_byes();
    assert!(sim.call.is_finished());
    assert_eq!(sim.call.outcome(), "answered");
}

#[test]
fn the_citizen_hanging_up_during_the_survey_ends_the_call() {
    let mut sim = operator_left_first();
    sim.citizen_bye();
    assert!(sim.call.is_finished());
    assert!(answers(&sim).is_empty());
    assert!(sim.events().contains(&EventKind::Ended {
        phase: Phase::Talking,
        by: Party::Citizen,
        outcome: "answered".into()
    }));
}

#[test]
fn no_survey_without_the_line_setting_or_when_the_citizen_leaves_first() {
    // The main number does not ask: the operator's BYE ends the call.
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    let op = sim.offer("1001");
    sim.respond_to(&op, 200, Some(sdp(41000)));
    sim.leg_sends(&op, "BYE", "", 2);
    assert_eq!(sim.sent(Method::Bye).len(), 1, "the citizen is hung up");
    assert!(!sim.events().contains(&EventKind::SurveyOffered));
    // A survey line, but the citizen hangs up first: nobody to ask.
    let mut sim = Sim::inbound_on(queue_plan(true), citizen_invite(true), survey_line());
    sim.reach_queue();
    let op = sim.offer("1001");
    sim.respond_to(&op, 200, Some(sdp(41000)));
    sim.citizen_bye();
    assert!(!sim.events().contains(&EventKind::SurveyOffered));
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .any(|b| b.call_id() == op.call_id()));
}

#[test]
fn the_callback_key_is_not_taken_during_the_survey() {
    // '1' is a rating here, never a callback request.
    let mut sim = operator_left_first();
    sim.feed(Input::Digit('1'));
    assert_eq!(answers(&sim), vec![1]);
    assert!(!sim
        .queue_cmds()
        .iter()
        .any(|q| matches!(q, QueueOut::RequestCallback { .. })));
}

#[test]
fn a_called_back_citizen_is_asked_too() {
    let citizen = callctl::Destination {
        label: "callback 0312345678".into(),
        uri: sip::Uri::parse("sip:0312345678@127.0.0.1:5090").unwrap(),
        peer: peer(CITIZEN, TRUNK_LISTEN),
        trunk: Some("carrier".into()),
    };
    let plan = callctl::Plan::Callback {
        entry: acd::EntryId(9),
        agent: "1001".into(),
        agent_dest: Some(phone_of("1001")),
        citizen: Some(citizen),
        queue: "general".into(),
    };
    let mut sim = Sim::build(plan, None, "0312345678", survey_line());
    let agent = sim.last_invite_to(&phone_of("1001").uri.to_string());
    sim.respond_to(&agent, 200, Some(sdp(41000)));
    let out = sim.last_invite_to("sip:0312345678@127.0.0.1:5090");
    sim.respond_to(&out, 200, Some(sdp(44000)));
    sim.leg_sends(&agent, "BYE", "", 2);
    assert!(
        !sim.sent(Method::Bye)
            .iter()
            .any(|b| b.call_id() == out.call_id()),
        "the citizen stays on the line"
    );
    assert_eq!(sim.plays().last().unwrap().1, vec!["survey"]);
    sim.feed(Input::Digit('5'));
    assert_eq!(answers(&sim), vec![5]);
    sim.finish_prompt();
    assert!(sim
        .sent(Method::Bye)
        .iter()
        .any(|b| b.call_id() == out.call_id()));
}
