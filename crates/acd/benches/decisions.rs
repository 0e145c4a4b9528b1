//! ACD decisions per second with 1,000 callers waiting and 200 agents busy: each
//! iteration is one full cycle — an agent's call ends, the ACD picks the next caller
//! and offers it, the agent answers, and a new caller joins the back of the line.

use acd::{Acd, AcdConfig, Action, AgentConfig, AgentId, CallId, QueueConfig, Strategy};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

const AGENTS: usize = 200;
const WAITING: usize = 1000;

struct Bench {
    acd: Acd,
    on_call: VecDeque<AgentId>,
    now: Duration,
    next_call: u64,
}

impl Bench {
    fn new(strategy: Strategy) -> Self {
        let mut q = QueueConfig::new("main");
        q.strategy = strategy;
        q.wrapup = Duration::ZERO;
        q.announce_every = Some(Duration::from_secs(30));
        let cfg = AcdConfig {
            queues: vec![q],
            agents: (0..AGENTS)
                .map(|i| AgentConfig::new(&format!("op{i:03}"), &["main"]))
                .collect(),
        };
        let mut b = Bench {
            acd: Acd::new(cfg).unwrap(),
            on_call: VecDeque::new(),
            now: Duration::ZERO,
            next_call: 0,
        };
        for i in 0..AGENTS {
            b.acd.agent_login(AgentId(i as u32), b.now).unwrap();
        }
        for _ in 0..AGENTS + WAITING {
            b.enqueue();
        }
        b.answer_offers();
        assert_eq!(b.on_call.len(), AGENTS);
        assert_eq!(b.acd.waiting_count(), WAITING);
        b
    }

    fn enqueue(&mut self) {
        let prio = self.next_call.is_multiple_of(7) as u8 * 5;
        self.acd
            .enqueue(
                CallId(self.next_call),
                "main",
                prio,
                String::new(),
                self.now,
            )
            .unwrap();
        self.next_call += 1;
    }

    fn answer_offers(&mut self) {
        while let Some(action) = self.acd.poll_action() {
            if let Action::OfferToAgent { entry, agent, .. } = action {
                // Under ring-all only the first of several agents rung gets the call;
                // the others' offers are already cancelled and refused.
                if self.acd.answered(entry, agent, self.now).is_ok() {
                    self.on_call.push_back(agent);
                }
            }
        }
        while self.acd.poll_event().is_some() {}
    }

    /// One decision cycle.
    fn cycle(&mut self) {
        self.now += Duration::from_millis(10);
        // Announcement timers fall due as the virtual clock moves, as in production.
        self.acd.handle_timeout(self.now);
        let agent = self.on_call.pop_front().unwrap();
        self.acd.call_ended(agent, self.now).unwrap();
        self.answer_offers();
        self.enqueue();
    }
}

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("enqueue_offer_answer_1000_waiting_200_agents");
    group.throughput(Throughput::Elements(1));
    for (name, strategy) in [
        ("longest_idle", Strategy::LongestIdle),
        ("round_robin", Strategy::RoundRobin),
        ("fewest_calls", Strategy::FewestCalls),
        ("ring_all", Strategy::RingAll),
    ] {
        let mut b = Bench::new(strategy);
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| {
                b.cycle();
                black_box(b.acd.waiting_count())
            })
        });
        assert_eq!(b.acd.waiting_count(), WAITING, "the line stayed at 1,000");
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared, and the spread is small for this workload.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = decisions
}
criterion_main!(benches);
