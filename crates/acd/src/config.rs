//! The ACD's configuration: queues and agents, and the checks that refuse a wrong one.
//!
//! The `dialplan` crate reads TOML and builds these; the checks here are the ones only
//! the ACD can make (names that must match, overflow chains that must end).

use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;

use crate::error::AcdError;

/// How a queue picks among the free agents of the lowest tier that has any free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Ring every free agent of that tier; the first to answer takes the call.
    RingAll,
    /// The agent whose last call ended longest ago (Asterisk `leastrecent`).
    LongestIdle,
    /// The next agent after the one offered last time, in configuration order
    /// (Asterisk `rrmemory`).
    RoundRobin,
    /// The agent who answered fewest calls from this queue; ties go to the longest idle.
    FewestCalls,
}

/// Where a caller goes when the queue is full or they waited `max_wait`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Overflow {
    /// Another queue; the caller keeps their arrival order there.
    Queue(String),
    /// A dialplan route the switch knows, such as the after-hours message or the guard room.
    Route(String),
    /// Offer to take a callback request (the caller leaves the queue; the request is
    /// tracked by the contact history, not kept in line).
    Callback,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    /// How long an offer rings before it goes to the next agent.
    pub ring_timeout: Duration,
    /// After-call work after each call from this queue; zero for none.
    pub wrapup: Duration,
    /// Overflow a caller who waited this long (callbacks are exempt: nobody is holding).
    pub max_wait: Option<Duration>,
    /// Overflow a new caller when this many are already in line (callbacks count).
    pub max_len: Option<usize>,
    /// Required when `max_wait` or `max_len` is set.
    pub overflow: Option<Overflow>,
    /// Announce position and expected wait this often while a caller waits.
    pub announce_every: Option<Duration>,
    /// Pause an agent who let an offer ring out or rejected it, with this reason.
    pub pause_on_no_answer: Option<String>,
    /// Do not offer the same caller to an agent who did not answer them for this long.
    pub reoffer_delay: Duration,
    /// The handle time (talk + wrap-up) assumed before any call was measured.
    pub initial_handle_time: Duration,
}

impl QueueConfig {
    /// A queue with plain defaults: longest idle, 15 s ring, 30 s wrap-up, no limits.
    pub fn new(name: &str) -> Self {
        QueueConfig {
            name: name.to_string(),
            strategy: Strategy::LongestIdle,
            ring_timeout: Duration::from_secs(15),
            wrapup: Duration::from_secs(30),
            max_wait: None,
            max_len: None,
            overflow: None,
            announce_every: None,
            pause_on_no_answer: None,
            reoffer_delay: Duration::from_secs(15),
            initial_handle_time: Duration::from_secs(180),
        }
    }
}

/// An agent's place in one queue. Lower tiers are offered calls first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub queue: String,
    pub tier: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    pub name: String,
    pub queues: Vec<Membership>,
}

impl AgentConfig {
    /// An agent in the given queues, all at tier 1.
    pub fn new(name: &str, queues: &[&str]) -> Self {
        AgentConfig {
            name: name.to_string(),
            queues: queues
                .iter()
                .map(|q| Membership {
                    queue: q.to_string(),
                    tier: 1,
                })
                .collect(),
        }
    }

    /// An agent with an explicit tier per queue.
    pub fn with_tiers(name: &str, queues: &[(&str, u8)]) -> Self {
        AgentConfig {
            name: name.to_string(),
            queues: queues
                .iter()
                .map(|(q, tier)| Membership {
                    queue: q.to_string(),
                    tier: *tier,
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcdConfig {
    pub queues: Vec<QueueConfig>,
    pub agents: Vec<AgentConfig>,
}

impl AcdConfig {
    /// Refuses names that do not match, zero ring timeouts, limits without an overflow,
    /// and overflow chains between queues that come back on themselves.
    pub fn validate(&self) -> Result<(), AcdError> {
        let err = |s: String| Err(AcdError::Config(s));
        let mut names = HashSet::new();
        for q in &self.queues {
            if q.name.is_empty() {
                return err("a queue has an empty name".into());
            }
            if !names.insert(q.name.as_str()) {
                return err(format!("queue {:?} is defined twice", q.name));
            }
            if q.ring_timeout.is_zero() {
                return err(format!("queue {:?} has a ring timeout of zero", q.name));
            }
            if (q.max_wait.is_some() || q.max_len.is_some()) && q.overflow.is_none() {
                return err(format!(
                    "queue {:?} sets max_wait or max_len but no overflow; say where callers go",
                    q.name
                ));
            }
            if q.announce_every.is_some_and(|d| d.is_zero()) {
                return err(format!("queue {:?} announces every 0 seconds", q.name));
            }
        }
        for q in &self.queues {
            if let Some(Overflow::Queue(to)) = &q.overflow {
                if !names.contains(to.as_str()) {
                    return err(format!(
                        "queue {:?} overflows to queue {:?}, which does not exist",
                        q.name, to
                    ));
                }
            }
            self.check_overflow_chain(q)?;
        }
        let mut agents = HashSet::new();
        for a in &self.agents {
            if !agents.insert(a.name.as_str()) {
                return err(format!("agent {:?} is defined twice", a.name));
            }
            let mut seen = HashSet::new();
            for m in &a.queues {
                if !names.contains(m.queue.as_str()) {
                    return err(format!(
                        "agent {:?} is in queue {:?}, which does not exist",
                        a.name, m.queue
                    ));
                }
                if !seen.insert(m.queue.as_str()) {
                    return err(format!(
                        "agent {:?} is in queue {:?} twice",
                        a.name, m.queue
                    ));
                }
            }
        }
        Ok(())
    }

    /// A loop (a → b → a) would bounce a caller forever once both queues are full.
    fn check_overflow_chain(&self, start: &QueueConfig) -> Result<(), AcdError> {
        let mut path = vec![start.name.as_str()];
        let mut cur = start;
        while let Some(Overflow::Queue(next)) = &cur.overflow {
            if path.contains(&next.as_str()) {
                path.push(next);
                return Err(AcdError::Config(format!(
                    "queue overflow loops: {}",
                    path.join(" → ")
                )));
            }
            path.push(next);
            match self.queues.iter().find(|q| &q.name == next) {
                Some(q) => cur = q,
                None => break,
            }
        }
        Ok(())
    }
}
