//! Each strategy picks the agent it promises; tiers come before any strategy.

mod common;
use acd::{Acd, AcdConfig, AgentConfig, AgentStatus, CallId, QueueConfig, Strategy};
use common::*;

#[test]
fn ring_all_rings_every_free_agent_and_the_first_answer_wins() {
    let names = ["a", "b", "c"];
    let mut acd = one_queue(&names, |q| q.strategy = Strategy::RingAll);
    login_all(&mut acd, &names, s(0));
    let e = acd
        .enqueue(CallId(1), "main", 0, "0246".into(), s(1))
        .unwrap();
    let offered = offers(&actions(&mut acd));
    let (a, b, c) = (id(&acd, "a"), id(&acd, "b"), id(&acd, "c"));
    assert_eq!(offered, vec![(e, a), (e, b), (e, c)]);

    acd.answered(e, b, s(3)).unwrap();
    let out = actions(&mut acd);
    assert_eq!(cancels(&out), vec![(e, a), (e, c)]);
    assert_eq!(acd.agent_status(b), Some(AgentStatus::OnCall));
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Available));
    // A late answer from a cancelled agent is refused, so the switch drops that leg.
    assert!(acd.answered(e, a, s(3)).is_err());
}

#[test]
fn longest_idle_picks_the_agent_whose_last_call_ended_first() {
    let names = ["a", "b", "c"];
    let mut acd = one_queue(&names, |q| q.wrapup = s(0));
    let (a, b, c) = (id(&acd, "a"), id(&acd, "b"), id(&acd, "c"));
    for (i, ag) in [a, b, c].into_iter().enumerate() {
        acd.agent_login(ag, s(i as u64)).unwrap();
    }
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(5)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e1, a)]);
    acd.answered(e1, a, s(6)).unwrap();
    let e2 = acd.enqueue(CallId(2), "main", 0, "x".into(), s(7)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e2, b)]);
    acd.answered(e2, b, s(8)).unwrap();
    // Idle since: c 2 (login), b 20, a 30.
    acd.call_ended(b, s(20)).unwrap();
    acd.call_ended(a, s(30)).unwrap();
    actions(&mut acd);
    let mut got = Vec::new();
    for n in 3..6 {
        let e = acd
            .enqueue(CallId(n), "main", 0, "x".into(), s(40))
            .unwrap();
        let o = offers(&actions(&mut acd));
        assert_eq!(o.len(), 1);
        acd.answered(e, o[0].1, s(41)).unwrap();
        got.push(o[0].1);
    }
    assert_eq!(got, vec![c, b, a]);
}

#[test]
fn round_robin_continues_after_the_agent_offered_last() {
    let names = ["a", "b", "c"];
    let mut acd = one_queue(&names, |q| {
        q.strategy = Strategy::RoundRobin;
        q.wrapup = s(0);
    });
    login_all(&mut acd, &names, s(0));
    let mut got = Vec::new();
    for n in 0..5u64 {
        let t = s(10 * n);
        let e = acd.enqueue(CallId(n), "main", 0, "x".into(), t).unwrap();
        let o = offers(&actions(&mut acd));
        assert_eq!(o.len(), 1);
        // Answer and end at once, so every agent is free for every call: only the
        // memory of the last offer can spread the calls.
        acd.answered(e, o[0].1, t).unwrap();
        acd.call_ended(o[0].1, t).unwrap();
        got.push(acd.agent_name(o[0].1).unwrap().to_string());
    }
    assert_eq!(got, ["a", "b", "c", "a", "b"]);
}

#[test]
fn fewest_calls_prefers_the_agent_with_fewer_answered_calls_over_the_longest_idle() {
    let names = ["a", "b", "c"];
    let mut acd = one_queue(&names, |q| {
        q.strategy = Strategy::FewestCalls;
        q.wrapup = s(0);
    });
    let (a, b, c) = (id(&acd, "a"), id(&acd, "b"), id(&acd, "c"));
    acd.agent_login(a, s(0)).unwrap();
    acd.agent_login(b, s(0)).unwrap();
    let serve = |acd: &mut Acd, n: u64, t: u64| {
        let e = acd.enqueue(CallId(n), "main", 0, "x".into(), s(t)).unwrap();
        let o = offers(&actions(acd));
        assert_eq!(o.len(), 1);
        acd.answered(e, o[0].1, s(t)).unwrap();
        acd.call_ended(o[0].1, s(t + 1)).unwrap();
        o[0].1
    };
    // All equal: configuration order.
    assert_eq!(serve(&mut acd, 1, 1), a);
    acd.agent_login(c, s(10)).unwrap();
    // b and c have no calls; b has been idle longer.
    assert_eq!(serve(&mut acd, 2, 20), b);
    // a (idle since 2) is the longest idle, but c has answered fewest.
    assert_eq!(serve(&mut acd, 3, 30), c);
}

fn tiered(strategy: Strategy) -> Acd {
    let mut main = QueueConfig::new("main");
    main.strategy = strategy;
    let mut sub = QueueConfig::new("sub");
    sub.strategy = strategy;
    Acd::new(AcdConfig {
        queues: vec![main, sub],
        agents: vec![
            // "senior" would be longest idle, but is only a reserve (tier 2) for main.
            AgentConfig::with_tiers("senior", &[("main", 2), ("sub", 1)]),
            AgentConfig::with_tiers("junior1", &[("main", 1)]),
            AgentConfig::with_tiers("junior2", &[("main", 1)]),
        ],
    })
    .unwrap()
}

#[test]
fn lower_tier_is_offered_first_and_the_next_tier_only_when_it_is_busy() {
    let mut acd = tiered(Strategy::LongestIdle);
    login_all(&mut acd, &["senior", "junior1", "junior2"], s(0));
    let (senior, j1, j2) = (id(&acd, "senior"), id(&acd, "junior1"), id(&acd, "junior2"));
    let mut got = Vec::new();
    for n in 0..3 {
        let e = acd.enqueue(CallId(n), "main", 0, "x".into(), s(5)).unwrap();
        let o = offers(&actions(&mut acd));
        acd.answered(e, o[0].1, s(6)).unwrap();
        got.push(o[0].1);
    }
    assert_eq!(got, vec![j1, j2, senior]);
}

#[test]
fn ring_all_rings_only_the_lowest_tier_with_anyone_free() {
    let mut acd = tiered(Strategy::RingAll);
    login_all(&mut acd, &["senior", "junior1", "junior2"], s(0));
    let e = acd.enqueue(CallId(1), "main", 0, "x".into(), s(1)).unwrap();
    let o = offers(&actions(&mut acd));
    assert_eq!(o, vec![(e, id(&acd, "junior1")), (e, id(&acd, "junior2"))]);
}

#[test]
fn an_agent_in_two_queues_serves_the_queue_where_their_tier_is_lowest() {
    let mut acd = tiered(Strategy::LongestIdle);
    let senior = id(&acd, "senior");
    // Both queues have a caller; the one in main has waited longer.
    let main = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    let sub = acd.enqueue(CallId(2), "sub", 0, "x".into(), s(5)).unwrap();
    acd.agent_login(senior, s(10)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(sub, senior)]);
    acd.answered(sub, senior, s(11)).unwrap();
    assert_eq!(acd.position(main), Some(1));
}
