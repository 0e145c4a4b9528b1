//! Listen, whisper, barge on the virtual clock (spec 第2-7 ⑵ ウ): the operator's call
//! taking a supervisor on and letting them go, and the supervisor's own call, answered
//! only once the operator's call accepted. Each call is driven alone; the messages
//! between them (`Output::Supervise` → `Input::Supervise`, `Output::Supervised` →
//! `Input::Supervising`, `Output::MonitorEnd` → `Input::MonitorGone`) are fed by hand,
//! as the switch's core carries them.

mod common;

use callctl::event::{EventKind, SuperviseMode};
use callctl::io::{Input, MediaOut, Output};
use callctl::{JoinPeer, Plan, Side, Target};
use common::*;
use sip::Method;

fn answered_by(sim: &mut Sim, agent: &str) -> sip::Request {
    sim.reach_queue();
    let inv = sim.offer(agent);
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    inv
}

fn join(port: u16) -> JoinPeer {
    JoinPeer {
        remote: format!("127.0.0.1:{port}").parse().unwrap(),
    }
}

fn ask(sim: &mut Sim, supervisor: &str, mode: SuperviseMode) {
    sim.feed(Input::Supervise {
        supervisor: supervisor.into(),
        agent: "1001".into(),
        mode,
        peer: join(31002),
        ours: Some(join(20004)),
    });
}

fn answer(sim: &Sim) -> Option<Result<JoinPeer, String>> {
    sim.said.iter().rev().find_map(|o| match o {
        Output::Supervised(r) => Some(r.clone()),
        _ => None,
    })
}

fn media_said(sim: &Sim, m: &MediaOut) -> bool {
    sim.said
        .iter()
        .any(|o| matches!(o, Output::Media(x) if x == m))
}

fn monitor_ends(sim: &Sim) -> usize {
    sim.said
        .iter()
        .filter(|o| matches!(o, Output::MonitorEnd))
        .count()
}

fn supervisor_call(mode: SuperviseMode) -> Sim {
    Sim::inbound(
        Plan::Dial {
            agent: "1901".into(),
            target: Target::Supervise {
                agent: "1001".into(),
                mode,
            },
        },
        citizen_invite(true),
    )
}

#[test]
fn the_operators_call_takes_a_listener_and_goes_on_when_they_leave() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    answered_by(&mut sim, "1001");
    let sent_before = sim.sent(Method::Invite).len() + sim.sent(Method::Bye).len();
    ask(&mut sim, "1901", SuperviseMode::Listen);
    assert_eq!(answer(&sim), Some(Ok(join(20004))), "our link's address");
    assert!(media_said(
        &sim,
        &MediaOut::Monitor {
            peer: join(31002).remote,
            mode: media::mix::MixMode::Listen,
        }
    ));
    // The recording stays this call and is marked; the statistics hear of it.
    assert!(sim.said.iter().any(|o| matches!(o,
        Output::Media(MediaOut::RecordParty { label }) if label.contains("監督者 1901") && label.contains("モニタリング"))));
    assert!(sim.events().contains(&EventKind::SupervisionStarted {
        supervisor: "1901".into(),
        agent: "1001".into(),
        mode: SuperviseMode::Listen,
    }));
    assert_eq!(
        sim.sent(Method::Invite).len() + sim.sent(Method::Bye).len(),
        sent_before,
        "neither the citizen nor the operator sees any SIP"
    );
    // The supervisor hangs up: the link goes, the conversation goes on.
    sim.feed(Input::MonitorGone);
    assert!(media_said(&sim, &MediaOut::Unmonitor));
    assert!(sim.events().contains(&EventKind::SupervisionEnded {
        supervisor: "1901".into()
    }));
    assert_eq!(monitor_ends(&sim), 0, "no echo back to the gone supervisor");
    assert!(sim.sent(Method::Bye).is_empty());
    assert!(!sim.call.is_finished());
    // A second supervisor may come afterwards.
    ask(&mut sim, "1902", SuperviseMode::Barge);
    assert_eq!(answer(&sim), Some(Ok(join(20004))));
}

#[test]
fn one_supervisor_at_a_time_and_only_while_the_operator_talks() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    sim.reach_queue();
    ask(&mut sim, "1901", SuperviseMode::Listen);
    match answer(&sim) {
        Some(Err(reason)) => assert!(reason.contains("通話中ではありません"), "{reason}"),
        other => panic!("waiting in line is not supervised: {other:?}"),
    }
    let inv = sim.offer("1001");
    sim.respond_to(&inv, 200, Some(sdp(41000)));
    // Asking for another operator than the one on this call is refused too.
    sim.feed(Input::Supervise {
        supervisor: "1901".into(),
        agent: "1002".into(),
        mode: SuperviseMode::Listen,
        peer: join(31002),
        ours: Some(join(20004)),
    });
    assert!(matches!(answer(&sim), Some(Err(_))));
    ask(&mut sim, "1901", SuperviseMode::Whisper);
    assert_eq!(answer(&sim), Some(Ok(join(20004))));
    ask(&mut sim, "1902", SuperviseMode::Barge);
    match answer(&sim) {
        Some(Err(reason)) => assert!(reason.contains("1901"), "{reason}"),
        other => panic!("a second supervisor: {other:?}"),
    }
    // No port for the link: refused, nothing attached.
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    answered_by(&mut sim, "1001");
    sim.feed(Input::Supervise {
        supervisor: "1901".into(),
        agent: "1001".into(),
        mode: SuperviseMode::Listen,
        peer: join(31002),
        ours: None,
    });
    assert!(matches!(answer(&sim), Some(Err(_))));
    assert!(!sim
        .said
        .iter()
        .any(|o| matches!(o, Output::Media(MediaOut::Monitor { .. }))));
}

#[test]
fn the_operator_hanging_up_ends_the_supervision_before_the_call() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    ask(&mut sim, "1901", SuperviseMode::Barge);
    sim.leg_sends(&op, "BYE", "", 2);
    assert_eq!(monitor_ends(&sim), 1, "the supervisor's call is told once");
    let ev = sim.events();
    let ended = ev
        .iter()
        .position(|e| matches!(e, EventKind::SupervisionEnded { .. }))
        .expect("supervision ended");
    let call_ended = ev
        .iter()
        .position(|e| matches!(e, EventKind::Ended { .. }))
        .expect("call ended");
    assert!(ended < call_ended, "joined to the record before it closes");
    sim.answer_byes();
    assert!(sim.call.is_finished());
}

#[test]
fn a_transfer_ends_the_supervision_of_the_operator_who_left() {
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    let op = answered_by(&mut sim, "1001");
    ask(&mut sim, "1901", SuperviseMode::Listen);
    sim.leg_sends(&op, "REFER", "Refer-To: <sip:2101@127.0.0.1>\r\n", 2);
    let dept = sim.last_invite_to("sip:2101@127.0.0.1:5092");
    assert_eq!(monitor_ends(&sim), 0, "still the operator's conversation");
    sim.respond_to(&dept, 200, Some(sdp(42000)));
    assert_eq!(monitor_ends(&sim), 1);
    assert!(media_said(&sim, &MediaOut::Unmonitor));
    assert!(
        !sim.call.is_finished(),
        "the citizen talks to the department"
    );
}

#[test]
fn the_supervisors_phone_is_answered_once_the_operators_call_accepts() {
    let mut sim = supervisor_call(SuperviseMode::Whisper);
    assert!(sim.responses().is_empty(), "not answered before the answer");
    let ask = sim.said.iter().find_map(|o| match o {
        Output::Supervise { agent, mode, ours } => Some((agent.clone(), *mode, *ours)),
        _ => None,
    });
    let (agent, mode, ours) = ask.expect("asks the operator's call");
    assert_eq!((agent.as_str(), mode), ("1001", SuperviseMode::Whisper));
    assert_eq!(ours.remote.port(), 20002, "our side B");
    sim.feed(Input::Supervising(Ok(join(20004))));
    let ok = sim.responses().last().cloned().cloned().unwrap();
    assert_eq!(ok.status, 200);
    assert!(std::str::from_utf8(&ok.body)
        .unwrap()
        .contains("m=audio 20000"));
    let b = sim.said.iter().rev().find_map(|o| match o {
        Output::Media(MediaOut::SetLeg { side: Side::B, cfg }) => Some(cfg.clone()),
        _ => None,
    });
    let b = b.expect("side B points at the link");
    assert_eq!(b.remote, Some(join(20004).remote));
    assert_eq!(b.codec, media::Codec::Pcmu);
    assert!(
        !sim.said
            .iter()
            .any(|o| matches!(o, Output::Media(MediaOut::Record { .. }))),
        "a supervisor's call is not recorded"
    );
    // The supervised call ended: the supervisor is hung up, nothing echoed back.
    sim.feed(Input::MonitorGone);
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    assert_eq!(monitor_ends(&sim), 0);
    sim.answer_byes();
    assert!(sim.call.is_finished());
}

#[test]
fn the_supervisor_hanging_up_tells_the_operators_call() {
    let mut sim = supervisor_call(SuperviseMode::Listen);
    sim.feed(Input::Supervising(Ok(join(20004))));
    sim.citizen_bye();
    assert_eq!(monitor_ends(&sim), 1);
    assert!(sim.call.is_finished());
}

#[test]
fn a_refusal_is_said_with_the_failure_prompt_and_the_reason() {
    let mut sim = supervisor_call(SuperviseMode::Barge);
    sim.feed(Input::Supervising(Err(
        "オペレーター 1001 は通話中ではありません。".into(),
    )));
    let ok = sim.responses().last().cloned().cloned().unwrap();
    assert_eq!(ok.status, 200);
    let w = ok.headers.get("Warning").unwrap();
    assert!(
        w.starts_with("399 madoguchi") && w.contains("通話中ではありません"),
        "{w}"
    );
    assert_eq!(sim.plays().last().unwrap().1, vec!["feature-failed"]);
    sim.finish_prompt();
    assert_eq!(sim.sent(Method::Bye).len(), 1);
    assert_eq!(monitor_ends(&sim), 0, "nothing was linked");
}

#[test]
fn a_supervisor_who_gave_up_before_the_answer_releases_the_operators_call() {
    let mut sim = supervisor_call(SuperviseMode::Listen);
    sim.feed(Input::Cancelled);
    assert_eq!(sim.responses().last().unwrap().status, 487);
    sim.feed(Input::Supervising(Ok(join(20004))));
    assert_eq!(monitor_ends(&sim), 1, "the link is let go at once");
    assert!(
        !sim.responses().iter().any(|r| r.status == 200),
        "never answered"
    );
}

#[test]
fn keys_1_2_3_switch_the_supervisors_mode() {
    // The supervisor's call turns keys into a mode change for the operator's call.
    let mut sv = supervisor_call(SuperviseMode::Listen);
    sv.feed(Input::Digit('3'));
    assert!(
        !sv.said
            .iter()
            .any(|o| matches!(o, Output::SuperviseMode(_))),
        "not linked yet: nothing to switch"
    );
    sv.feed(Input::Supervising(Ok(join(20004))));
    sv.feed(Input::Digit('9'));
    sv.feed(Input::Digit('3'));
    let modes: Vec<_> = sv
        .said
        .iter()
        .filter_map(|o| match o {
            Output::SuperviseMode(m) => Some(*m),
            _ => None,
        })
        .collect();
    assert_eq!(modes, [SuperviseMode::Barge]);
    // The operator's call mixes anew and records the change as two spans.
    let mut sim = Sim::inbound(queue_plan(true), citizen_invite(true));
    answered_by(&mut sim, "1001");
    ask(&mut sim, "1901", SuperviseMode::Listen);
    sim.feed(Input::SuperviseMode(SuperviseMode::Barge));
    assert!(media_said(
        &sim,
        &MediaOut::MonitorMode {
            mode: media::mix::MixMode::Barge
        }
    ));
    let ev = sim.events();
    let tail: Vec<_> = ev.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(
        tail,
        [
            EventKind::SupervisionEnded {
                supervisor: "1901".into()
            },
            EventKind::SupervisionStarted {
                supervisor: "1901".into(),
                agent: "1001".into(),
                mode: SuperviseMode::Barge
            }
        ]
    );
    // The same mode again changes nothing.
    let n = sim.said.len();
    sim.feed(Input::SuperviseMode(SuperviseMode::Barge));
    assert_eq!(sim.said.len(), n);
}
