//! Which free agents to ring for a caller: the lowest tier with anyone free, then the
//! queue's strategy within that tier.

use std::time::Duration;

use crate::agent::Agent;
use crate::config::Strategy;
use crate::queue::{Entry, Queue};

/// Fills `out` with the agents to ring for `entry` (empty when nobody is eligible).
/// `single` forces one agent even under ring-all: a callback calls one citizen for one
/// agent, never a race of several.
pub(crate) fn choose(
    q: &mut Queue,
    agents: &[Agent],
    entry: &Entry,
    now: Duration,
    single: bool,
    out: &mut Vec<usize>,
) {
    out.clear();
    let eligible = |agent: usize| agents[agent].is_free() && !entry.excludes(agent, now);
    // Members are sorted by tier, so the first eligible one fixes the tier to use.
    let Some(first) = q.members.iter().position(|m| eligible(m.agent)) else {
        return;
    };
    let tier = q.members[first].tier;
    let lo = q.members.partition_point(|m| m.tier < tier);
    let hi = q.members.partition_point(|m| m.tier <= tier);
    let tier_members = || {
        (first..hi)
            .map(|i| (i, q.members[i].agent))
            .filter(|&(_, a)| eligible(a))
    };
    let pick = match q.cfg.strategy {
        Strategy::RingAll if !single => {
            out.extend(tier_members().map(|(_, a)| a));
            return;
        }
        Strategy::RingAll | Strategy::LongestIdle => {
            tier_members().min_by_key(|&(i, a)| (agents[a].idle_since, i))
        }
        Strategy::FewestCalls => tier_members().min_by_key(|&(i, a)| {
            let answered = agents[a].seat(entry.queue).map_or(0, |s| s.answered);
            (answered, agents[a].idle_since, i)
        }),
        Strategy::RoundRobin => {
            // Start after the agent offered last, wrapping within the tier.
            let len = hi - lo;
            let start = if (lo..hi).contains(&q.rr_next) {
                q.rr_next
            } else {
                lo
            };
            (0..len)
                .map(|k| lo + (start - lo + k) % len)
                .map(|i| (i, q.members[i].agent))
                .find(|&(_, a)| eligible(a))
        }
    };
    if let Some((i, a)) = pick {
        if q.cfg.strategy == Strategy::RoundRobin {
            q.rr_next = i + 1;
        }
        out.push(a);
    }
}
