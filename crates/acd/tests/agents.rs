//! Agent states: wrap-up, pauses, no-answer handling, logout, and refused inputs.

mod common;
use acd::{AcdError, AcdEvent, AgentStatus, CallId, OfferEnd};
use common::*;

#[test]
fn wrap_up_keeps_the_agent_from_offers_until_it_ends() {
    let mut acd = one_queue(&["a"], |q| q.wrapup = s(30));
    login_all(&mut acd, &["a"], s(0));
    let a = id(&acd, "a");
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(1)).unwrap();
    acd.answered(e1, a, s(2)).unwrap();
    acd.call_ended(a, s(100)).unwrap();
    assert_eq!(acd.agent_status(a), Some(AgentStatus::WrapUp));
    actions(&mut acd);
    let e2 = acd
        .enqueue(CallId(2), "main", 0, "x".into(), s(110))
        .unwrap();
    assert!(offers(&actions(&mut acd)).is_empty());
    assert_eq!(acd.poll_timeout(), Some(s(130)));
    acd.handle_timeout(s(129));
    assert!(offers(&actions(&mut acd)).is_empty());
    acd.handle_timeout(s(130));
    assert_eq!(offers(&actions(&mut acd)), vec![(e2, a)]);
    let ended = events(&mut acd).into_iter().find_map(|e| match e {
        AcdEvent::WrapUpEnded { after, early, .. } => Some((after, early)),
        _ => None,
    });
    assert_eq!(ended, Some((s(30), false)));
}

#[test]
fn ending_wrap_up_early_frees_the_agent_at_once() {
    let mut acd = one_queue(&["a"], |q| q.wrapup = s(30));
    login_all(&mut acd, &["a"], s(0));
    let a = id(&acd, "a");
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(1)).unwrap();
    acd.answered(e1, a, s(2)).unwrap();
    assert!(matches!(
        acd.agent_end_wrapup(a, s(3)),
        Err(AcdError::AgentState {
            status: AgentStatus::OnCall,
            ..
        })
    ));
    acd.call_ended(a, s(100)).unwrap();
    let e2 = acd
        .enqueue(CallId(2), "main", 0, "x".into(), s(101))
        .unwrap();
    actions(&mut acd);
    events(&mut acd);
    acd.agent_end_wrapup(a, s(105)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e2, a)]);
    assert!(events(&mut acd).contains(&AcdEvent::WrapUpEnded {
        agent: a,
        after: s(5),
        early: true
    }));
    // The wrap-up timer was disarmed: nothing fires at 130 for this agent.
    assert_eq!(
        acd.poll_timeout(),
        Some(s(105 + 15)),
        "only the ring timeout is left"
    );
}

#[test]
fn a_paused_agent_gets_no_offers_until_unpaused() {
    let mut acd = one_queue(&["a"], |_| {});
    login_all(&mut acd, &["a"], s(0));
    let a = id(&acd, "a");
    acd.agent_pause(a, "lunch", s(1)).unwrap();
    assert!(events(&mut acd).contains(&AcdEvent::AgentStateChanged {
        agent: a,
        from: AgentStatus::Available,
        to: AgentStatus::Paused,
        reason: Some("lunch".into()),
    }));
    let e = acd.enqueue(CallId(1), "main", 0, "x".into(), s(2)).unwrap();
    acd.handle_timeout(s(600));
    assert!(offers(&actions(&mut acd)).is_empty());
    assert_eq!(
        acd.snapshot(s(600)).agents[0].pause_reason.as_deref(),
        Some("lunch")
    );
    acd.agent_unpause(a, s(601)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e, a)]);
    // Unpausing someone who is not paused is refused with a sentence.
    let err = acd.agent_unpause(a, s(602)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent \"a\" is ringing, so they cannot unpause"
    );
}

#[test]
fn a_pause_asked_for_during_a_call_starts_after_the_wrap_up() {
    let mut acd = one_queue(&["a"], |q| q.wrapup = s(10));
    login_all(&mut acd, &["a"], s(0));
    let a = id(&acd, "a");
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(1)).unwrap();
    acd.answered(e1, a, s(2)).unwrap();
    actions(&mut acd);
    acd.agent_pause(a, "break", s(50)).unwrap();
    assert_eq!(
        acd.agent_status(a),
        Some(AgentStatus::OnCall),
        "the call goes on"
    );
    acd.enqueue(CallId(2), "main", 0, "x".into(), s(60))
        .unwrap();
    acd.call_ended(a, s(100)).unwrap();
    assert_eq!(
        acd.agent_status(a),
        Some(AgentStatus::WrapUp),
        "wrap-up is not cut"
    );
    acd.handle_timeout(s(110));
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Paused));
    assert!(offers(&actions(&mut acd)).is_empty());
}

#[test]
fn no_answer_goes_to_the_next_agent_and_pauses_the_one_who_did_not_answer() {
    let mut acd = one_queue(&["a", "b"], |q| {
        q.pause_on_no_answer = Some("no-answer".into());
        q.ring_timeout = s(15);
    });
    login_all(&mut acd, &["a", "b"], s(0));
    let (a, b) = (id(&acd, "a"), id(&acd, "b"));
    let e = acd
        .enqueue(CallId(1), "main", 0, "x".into(), s(10))
        .unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e, a)]);
    events(&mut acd);
    acd.handle_timeout(s(25));
    let out = actions(&mut acd);
    assert_eq!(cancels(&out), vec![(e, a)]);
    assert_eq!(offers(&out), vec![(e, b)]);
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Paused));
    let ev = events(&mut acd);
    assert!(ev.contains(&AcdEvent::OfferFailed {
        entry: e,
        agent: a,
        why: OfferEnd::NoAnswer
    }));
    assert!(ev.contains(&AcdEvent::AgentStateChanged {
        agent: a,
        from: AgentStatus::Ringing,
        to: AgentStatus::Paused,
        reason: Some("no-answer".into()),
    }));
}

#[test]
fn a_rejecting_agent_is_not_offered_the_same_caller_again_for_a_while() {
    let mut acd = one_queue(&["a", "b"], |q| q.reoffer_delay = s(20));
    login_all(&mut acd, &["a", "b"], s(0));
    let (a, b) = (id(&acd, "a"), id(&acd, "b"));
    let e1 = acd
        .enqueue(CallId(1), "main", 0, "x".into(), s(10))
        .unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e1, a)]);
    acd.rejected(e1, a, s(11)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e1, b)]);
    acd.rejected(e1, b, s(12)).unwrap();
    // Both are free, but both just turned this caller down.
    assert!(offers(&actions(&mut acd)).is_empty());
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Available));
    // Another caller is not affected by that (a and b idle equally long: a first).
    let e2 = acd
        .enqueue(CallId(2), "main", 0, "x".into(), s(13))
        .unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e2, a)]);
    acd.answered(e2, a, s(14)).unwrap();
    // b turned the first caller down at 12: skipped until 32, then offered again.
    acd.handle_timeout(s(31));
    assert!(
        offers(&actions(&mut acd)).is_empty(),
        "b's delay runs until 32"
    );
    acd.handle_timeout(s(32));
    assert_eq!(offers(&actions(&mut acd)), vec![(e1, b)]);
}

#[test]
fn logging_out_while_ringing_passes_the_caller_on_and_is_refused_during_a_call() {
    let mut acd = one_queue(&["a", "b"], |_| {});
    login_all(&mut acd, &["a", "b"], s(0));
    let (a, b) = (id(&acd, "a"), id(&acd, "b"));
    let e = acd.enqueue(CallId(1), "main", 0, "x".into(), s(1)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e, a)]);
    acd.agent_logout(a, s(2)).unwrap();
    let out = actions(&mut acd);
    assert_eq!(cancels(&out), vec![(e, a)]);
    assert_eq!(offers(&out), vec![(e, b)]);
    acd.answered(e, b, s(3)).unwrap();
    let err = acd.agent_logout(b, s(4)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent \"b\" is on a call, so they cannot log out"
    );
    assert_eq!(acd.agent_status(a), Some(AgentStatus::LoggedOut));
    assert!(acd.agent_login(b, s(5)).is_err());
}

#[test]
fn an_answer_after_the_ring_timeout_is_refused() {
    let mut acd = one_queue(&["a"], |q| q.ring_timeout = s(15));
    login_all(&mut acd, &["a"], s(0));
    let a = id(&acd, "a");
    let e = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    acd.handle_timeout(s(15));
    assert!(matches!(
        acd.answered(e, a, s(15)),
        Err(AcdError::NotOffered { .. })
    ));
}

#[test]
fn unknown_names_and_ids_are_refused_with_sentences() {
    let mut acd = one_queue(&["a"], |_| {});
    let err = acd
        .enqueue(CallId(1), "nope", 0, "x".into(), s(0))
        .unwrap_err();
    assert_eq!(err.to_string(), "there is no queue named \"nope\"");
    assert_eq!(
        acd.agent_id("zz").unwrap_err().to_string(),
        "there is no agent \"zz\""
    );
    assert!(acd.agent_login(acd::AgentId(9), s(0)).is_err());
    assert!(matches!(
        acd.abandon(acd::EntryId(77), s(0)),
        Err(AcdError::UnknownEntry(_))
    ));
}
