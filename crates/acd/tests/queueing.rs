//! The line: priority, FIFO, overflow, callbacks that keep their place, estimates,
//! announcements and abandonment.

mod common;
use acd::{
    Acd, AcdConfig, AcdError, AcdEvent, Action, AgentConfig, AgentStatus, CallId, Overflow,
    QueueConfig,
};
use common::*;

#[test]
fn higher_priority_goes_ahead_and_equal_priority_keeps_arrival_order() {
    let mut acd = one_queue(&["a"], |q| q.wrapup = s(0));
    let prios = [0u8, 0, 5, 7, 5, 0];
    let entries: Vec<_> = prios
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            acd.enqueue(CallId(i as u64), "main", p, "x".into(), s(i as u64))
                .unwrap()
        })
        .collect();
    let pos: Vec<_> = entries.iter().map(|&e| acd.position(e).unwrap()).collect();
    // 7 first, then the two 5s in arrival order, then the three 0s in arrival order.
    assert_eq!(pos, vec![4, 5, 2, 1, 3, 6]);

    let a = id(&acd, "a");
    acd.agent_login(a, s(10)).unwrap();
    let mut served = Vec::new();
    for t in 11..17 {
        let o = offers(&actions(&mut acd));
        assert_eq!(o.len(), 1);
        served.push(o[0].0);
        acd.answered(o[0].0, a, s(t)).unwrap();
        acd.call_ended(a, s(t)).unwrap();
    }
    let expect: Vec<_> = [3, 2, 4, 0, 1, 5].iter().map(|&i| entries[i]).collect();
    assert_eq!(served, expect);
}

#[test]
fn max_wait_overflows_to_the_configured_route() {
    let mut acd = one_queue(&["a"], |q| {
        q.max_wait = Some(s(60));
        q.overflow = Some(Overflow::Route("after-hours".into()));
    });
    let e = acd.enqueue(CallId(9), "main", 0, "x".into(), s(0)).unwrap();
    acd.handle_timeout(s(59));
    assert!(actions(&mut acd).is_empty());
    acd.handle_timeout(s(60));
    assert_eq!(
        actions(&mut acd),
        vec![Action::Overflow {
            entry: e,
            call: CallId(9),
            to: Overflow::Route("after-hours".into())
        }]
    );
    assert!(events(&mut acd).contains(&AcdEvent::CallOverflowed {
        entry: e,
        from: "main".into(),
        to: Overflow::Route("after-hours".into()),
        wait: s(60),
    }));
    assert_eq!(acd.position(e), None);
    assert_eq!(acd.waiting_count(), 0);
    assert_eq!(acd.poll_timeout(), None, "no timer is left behind");
}

#[test]
fn max_wait_during_a_ring_lets_the_ring_finish_before_overflowing() {
    let mut acd = one_queue(&["a"], |q| {
        q.max_wait = Some(s(60));
        q.overflow = Some(Overflow::Callback);
        q.ring_timeout = s(15);
    });
    let a = id(&acd, "a");
    let e = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    acd.agent_login(a, s(55)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e, a)]);
    acd.handle_timeout(s(60));
    assert!(actions(&mut acd).is_empty(), "still ringing");
    acd.handle_timeout(s(70));
    let out = actions(&mut acd);
    assert_eq!(cancels(&out), vec![(e, a)]);
    assert!(out.contains(&Action::Overflow {
        entry: e,
        call: CallId(1),
        to: Overflow::Callback
    }));
    assert!(
        offers(&out).is_empty(),
        "not offered again after overflowing"
    );
}

fn two_queues(max_len: usize) -> Acd {
    let mut main = QueueConfig::new("main");
    main.max_len = Some(max_len);
    main.overflow = Some(Overflow::Queue("backup".into()));
    let mut backup = QueueConfig::new("backup");
    backup.max_len = Some(1);
    backup.overflow = Some(Overflow::Route("guard-room".into()));
    Acd::new(AcdConfig {
        queues: vec![main, backup],
        agents: vec![
            AgentConfig::new("a", &["main"]),
            AgentConfig::new("b", &["backup"]),
        ],
    })
    .unwrap()
}

#[test]
fn a_full_queue_overflows_new_callers_to_another_queue_then_to_a_route() {
    let mut acd = two_queues(2);
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    acd.enqueue(CallId(2), "main", 0, "x".into(), s(1)).unwrap();
    let e3 = acd.enqueue(CallId(3), "main", 0, "x".into(), s(2)).unwrap();
    assert_eq!(
        actions(&mut acd),
        vec![Action::Overflow {
            entry: e3,
            call: CallId(3),
            to: Overflow::Queue("backup".into())
        }]
    );
    assert_eq!(acd.position(e3), Some(1), "now first in backup");
    // backup is full too: the fourth caller goes through both to the guard room.
    let e4 = acd.enqueue(CallId(4), "main", 0, "x".into(), s(3)).unwrap();
    let out = actions(&mut acd);
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1],
        Action::Overflow {
            entry: e4,
            call: CallId(4),
            to: Overflow::Route("guard-room".into())
        }
    );
    assert_eq!(acd.position(e4), None);
    // An agent of the backup queue serves the overflowed caller, not main's.
    let b = id(&acd, "b");
    acd.agent_login(b, s(4)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e3, b)]);
    assert_eq!(acd.position(e1), Some(1));
}

#[test]
fn configurations_that_cannot_work_are_refused() {
    let mut a = QueueConfig::new("a");
    a.max_len = Some(1);
    a.overflow = Some(Overflow::Queue("b".into()));
    let mut b = QueueConfig::new("b");
    b.max_len = Some(1);
    b.overflow = Some(Overflow::Queue("a".into()));
    let looped = AcdConfig {
        queues: vec![a.clone(), b],
        agents: vec![],
    };
    assert_eq!(
        Acd::new(looped).unwrap_err().to_string(),
        "the ACD configuration is wrong: queue overflow loops: a → b → a"
    );
    let unknown = AcdConfig {
        queues: vec![QueueConfig::new("main")],
        agents: vec![AgentConfig::new("op1", &["mian"])],
    };
    assert_eq!(
        Acd::new(unknown).unwrap_err().to_string(),
        "the ACD configuration is wrong: agent \"op1\" is in queue \"mian\", which does not exist"
    );
    let mut no_target = QueueConfig::new("main");
    no_target.max_wait = Some(s(60));
    let cfg = AcdConfig {
        queues: vec![no_target],
        agents: vec![],
    };
    assert!(matches!(Acd::new(cfg), Err(AcdError::Config(_))));
}

/// A node of a cluster died with callers waiting; the survivor puts callbacks for them in
/// its line (issue 10 goal 5): never offered as a call (nobody is on the line), never
/// overflowed or announced to, placed in the order they were put in line.
#[test]
fn callbacks_put_in_line_for_a_dead_nodes_callers_are_placed_in_order() {
    let mut acd = one_queue(&["a"], |q| {
        q.announce_every = Some(s(30));
        q.max_wait = Some(s(60));
        q.overflow = Some(Overflow::Route("after-hours".into()));
        q.wrapup = s(0);
    });
    let a = id(&acd, "a");
    login_all(&mut acd, &["a"], s(0));
    // An operator is free: the first is placed at once, as a callback, not a call.
    let e1 = acd
        .enqueue_callback(CallId(1), "main", 0, "x".into(), "0312345678".into(), s(1))
        .unwrap();
    let e2 = acd
        .enqueue_callback(CallId(2), "main", 0, "y".into(), "0312345679".into(), s(1))
        .unwrap();
    assert_eq!(
        actions(&mut acd),
        vec![Action::PlaceCallback {
            entry: e1,
            call: CallId(1),
            agent: a,
            number: "0312345678".into(),
            ring_timeout: s(15)
        }]
    );
    let ev = events(&mut acd);
    assert!(ev.contains(&AcdEvent::CallbackRequested {
        entry: e2,
        number: "0312345679".into()
    }));
    acd.answered(e1, a, s(2)).unwrap();
    // Past max wait and an announcement period: the second is still there, unannounced.
    acd.handle_timeout(s(100));
    assert!(actions(&mut acd).is_empty());
    assert_eq!(acd.position(e2), Some(1));
    acd.call_ended(a, s(110)).unwrap();
    assert_eq!(
        actions(&mut acd),
        vec![Action::PlaceCallback {
            entry: e2,
            call: CallId(2),
            agent: a,
            number: "0312345679".into(),
            ring_timeout: s(15)
        }]
    );
}

#[test]
fn a_callback_keeps_the_callers_place_and_is_placed_when_an_agent_frees() {
    let mut acd = one_queue(&["a"], |q| {
        q.announce_every = Some(s(30));
        q.max_wait = Some(s(120));
        q.overflow = Some(Overflow::Route("after-hours".into()));
        q.wrapup = s(0);
    });
    let a = id(&acd, "a");
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    let e2 = acd.enqueue(CallId(2), "main", 0, "x".into(), s(1)).unwrap();
    let e3 = acd.enqueue(CallId(3), "main", 0, "x".into(), s(2)).unwrap();
    acd.request_callback(e2, "0246-00-0000".into(), s(10))
        .unwrap();
    assert_eq!(
        acd.request_callback(e2, "1".into(), s(11)),
        Err(AcdError::AlreadyCallback(e2))
    );
    // Past max wait: the holding callers overflow, the callback does not, and it is
    // not announced to (nobody is listening).
    acd.handle_timeout(s(100));
    let announced: Vec<_> = actions(&mut acd)
        .into_iter()
        .filter_map(|x| match x {
            Action::AnnouncePosition { entry, .. } => Some(entry),
            _ => None,
        })
        .collect();
    assert!(!announced.contains(&e2));
    assert!(announced.contains(&e3));
    assert_eq!(acd.position(e2), Some(2), "the callback keeps its place");
    assert_eq!(acd.position(e3), Some(3));

    acd.agent_login(a, s(101)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e1, a)]);
    acd.answered(e1, a, s(102)).unwrap();
    acd.call_ended(a, s(110)).unwrap();
    // e2 is next: the agent is rung for a callback to the number left, before e3.
    assert_eq!(
        actions(&mut acd),
        vec![Action::PlaceCallback {
            entry: e2,
            call: CallId(2),
            agent: a,
            number: "0246-00-0000".into(),
            ring_timeout: s(15)
        }]
    );
    assert!(events(&mut acd).contains(&AcdEvent::CallbackPlaced {
        entry: e2,
        agent: a
    }));
    acd.answered(e2, a, s(112)).unwrap();
    acd.handle_timeout(s(125));
    assert_eq!(acd.position(e2), None);
    assert_eq!(acd.position(e3), None, "e3 overflowed at 122");
}

#[test]
fn position_and_expected_wait_follow_the_line_and_recent_handle_times() {
    let mut acd = one_queue(&["a", "b"], |q| {
        q.initial_handle_time = s(200);
        q.wrapup = s(0);
        q.announce_every = Some(s(30));
    });
    let (a, b) = (id(&acd, "a"), id(&acd, "b"));
    login_all(&mut acd, &["a", "b"], s(0));
    let busy: Vec<_> = (0..2)
        .map(|i| acd.enqueue(CallId(i), "main", 0, "x".into(), s(1)).unwrap())
        .collect();
    acd.answered(busy[0], a, s(2)).unwrap();
    acd.answered(busy[1], b, s(2)).unwrap();
    let w: Vec<_> = (10..13)
        .map(|i| acd.enqueue(CallId(i), "main", 0, "x".into(), s(5)).unwrap())
        .collect();
    // Two agents staffed, 200 s per call: one frees every 100 s on average.
    assert_eq!(acd.expected_wait(w[0]), Some(s(100)));
    assert_eq!(acd.expected_wait(w[2]), Some(s(300)));
    actions(&mut acd);
    acd.handle_timeout(s(35));
    let ann: Vec<_> = actions(&mut acd)
        .into_iter()
        .filter_map(|x| match x {
            Action::AnnouncePosition {
                entry,
                position,
                expected_wait,
                ..
            } => Some((entry, position, expected_wait)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ann,
        vec![
            (w[0], 1, Some(s(100))),
            (w[1], 2, Some(s(200))),
            (w[2], 3, Some(s(300)))
        ]
    );
    // A short call (100 s) pulls the estimate down.
    acd.call_ended(a, s(102)).unwrap();
    let handle = acd.snapshot(s(102)).queues[0].average_handle;
    assert_eq!(handle, s(190), "EWMA: 200 + 0.1 × (100 − 200)");
    assert_eq!(acd.position(w[1]), Some(2), "w[0] rings a and stays ahead");
    acd.answered(w[0], a, s(103)).unwrap();
    assert_eq!(acd.position(w[1]), Some(1));
    assert_eq!(acd.expected_wait(w[1]), Some(s(95)));
    // Nobody staffed: no number is better than a wrong one.
    acd.agent_pause(a, "x", s(104)).unwrap();
    acd.agent_pause(b, "x", s(104)).unwrap();
    acd.call_ended(a, s(105)).unwrap();
    acd.call_ended(b, s(105)).unwrap();
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Paused));
    assert_eq!(acd.agent_status(b), Some(AgentStatus::Paused));
    assert_eq!(acd.expected_wait(w[1]), None);
}

#[test]
fn a_caller_who_hangs_up_while_ringing_frees_the_agent_and_is_counted() {
    let mut acd = one_queue(&["a"], |_| {});
    let a = id(&acd, "a");
    let e0 = acd.enqueue(CallId(0), "main", 0, "x".into(), s(0)).unwrap();
    let e1 = acd.enqueue(CallId(1), "main", 0, "x".into(), s(0)).unwrap();
    acd.abandon(e1, s(40)).unwrap();
    acd.agent_login(a, s(41)).unwrap();
    assert_eq!(offers(&actions(&mut acd)), vec![(e0, a)]);
    acd.abandon(e0, s(43)).unwrap();
    assert_eq!(cancels(&actions(&mut acd)), vec![(e0, a)]);
    assert_eq!(acd.agent_status(a), Some(AgentStatus::Available));
    let gone: Vec<_> = events(&mut acd)
        .into_iter()
        .filter_map(|e| match e {
            AcdEvent::CallAbandoned {
                entry,
                wait,
                position,
                ..
            } => Some((entry, wait, position)),
            _ => None,
        })
        .collect();
    assert_eq!(gone, vec![(e1, s(40), 2), (e0, s(43), 1)]);
    assert_eq!(acd.poll_timeout(), None);
    assert_eq!(acd.abandon(e0, s(44)), Err(AcdError::UnknownEntry(e0)));
}

#[test]
fn the_snapshot_counts_the_line_and_the_agents() {
    let mut acd = one_queue(&["a", "b", "c"], |_| {});
    login_all(&mut acd, &["a", "b"], s(0));
    acd.agent_pause(id(&acd, "b"), "meeting", s(0)).unwrap();
    let e1 = acd
        .enqueue(CallId(1), "main", 0, "x".into(), s(10))
        .unwrap();
    let e2 = acd
        .enqueue(CallId(2), "main", 0, "x".into(), s(20))
        .unwrap();
    acd.request_callback(e2, "0246".into(), s(25)).unwrap();
    let snap = acd.snapshot(s(30));
    let q = &snap.queues[0];
    assert_eq!((q.waiting, q.callbacks, q.ringing), (2, 1, 1));
    assert_eq!(q.longest_wait, Some(s(20)));
    assert_eq!(
        (q.agents.ringing, q.agents.paused, q.agents.logged_out),
        (1, 1, 1)
    );
    assert_eq!(snap.agents[0].status, AgentStatus::Ringing);
    let _ = e1;
}
