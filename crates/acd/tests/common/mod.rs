//! Helpers shared by the behaviour tests: seconds, draining outputs, small configs.
#![allow(dead_code)]

use acd::{Acd, AcdConfig, AcdEvent, Action, AgentConfig, AgentId, EntryId, QueueConfig};
use std::time::Duration;

pub fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

pub fn actions(acd: &mut Acd) -> Vec<Action> {
    std::iter::from_fn(|| acd.poll_action()).collect()
}

pub fn events(acd: &mut Acd) -> Vec<AcdEvent> {
    std::iter::from_fn(|| acd.poll_event())
        .map(|e| e.event)
        .collect()
}

/// The (entry, agent) pairs offered, in order, from a batch of actions.
pub fn offers(actions: &[Action]) -> Vec<(EntryId, AgentId)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::OfferToAgent { entry, agent, .. } => Some((*entry, *agent)),
            _ => None,
        })
        .collect()
}

pub fn cancels(actions: &[Action]) -> Vec<(EntryId, AgentId)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::CancelOffer { entry, agent, .. } => Some((*entry, *agent)),
            _ => None,
        })
        .collect()
}

/// One queue "main" with `names` as members at tier 1; `tweak` adjusts the queue.
pub fn one_queue(names: &[&str], tweak: impl FnOnce(&mut QueueConfig)) -> Acd {
    let mut q = QueueConfig::new("main");
    tweak(&mut q);
    let cfg = AcdConfig {
        queues: vec![q],
        agents: names
            .iter()
            .map(|n| AgentConfig::new(n, &["main"]))
            .collect(),
    };
    Acd::new(cfg).expect("valid config")
}

pub fn id(acd: &Acd, name: &str) -> AgentId {
    acd.agent_id(name).expect("agent exists")
}

/// Logs in the named agents at `at`, in order, and drops the outputs.
pub fn login_all(acd: &mut Acd, names: &[&str], at: Duration) {
    for n in names {
        let a = id(acd, n);
        acd.agent_login(a, at).expect("login");
    }
    actions(acd);
    events(acd);
}
