//! Call records from call control's typed events (`callctl::event`), sans-IO: the time of
//! each event is in the event; nothing here reads a clock or touches the disk.
//!
//! The switch passes every event to `Recorder::on_event`; a call's record comes back when
//! its `Ended` event arrives, ready for the store. The end of an operator's after-call
//! work is reported by the ACD (`on_wrapup_end`) and joined to that operator's last call.

use crate::record::{CallRecord, Offer, Supervision, Transfer, TransferPurpose};
use callctl::event::{Event, EventKind, Party, Phase};
use std::collections::HashMap;

/// What the caller of `on_wrapup_end` must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WrapupJoin {
    /// The call is still open here: the record will carry it when it ends.
    Pending,
    /// The call's record was already written: update it in the store.
    Written { uid: String, at_ms: u64 },
    /// This operator has no call waiting for its wrap-up end.
    None,
}

#[derive(Default)]
pub struct Recorder {
    open: HashMap<String, CallRecord>,
    /// Operator → the call whose after-call work is running.
    wrapping: HashMap<String, String>,
    /// Events for calls never seen arriving (a restart in the middle of a call).
    pub orphan_events: u64,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Calls in progress, oldest first.
    pub fn live(&self) -> Vec<&CallRecord> {
        let mut v: Vec<_> = self.open.values().collect();
        // By reference: a key that clones the uid allocates at every comparison.
        v.sort_by(|a, b| (a.arrived_ms, &a.uid).cmp(&(b.arrived_ms, &b.uid)));
        v
    }

    /// How many citizens' calls are in progress (the wallboard's figure), without
    /// building a list: the service asks after every batch of events.
    pub fn live_inbound(&self) -> usize {
        self.open
            .values()
            .filter(|r| crate::record::is_inbound(r.origin))
            .count()
    }

    /// Apply one event; returns the finished record when the call ended.
    pub fn on_event(&mut self, ev: &Event) -> Option<CallRecord> {
        let at = ev.at_ms;
        let uid = &ev.call.0;
        if let EventKind::Arrived {
            origin,
            trunk,
            dialled,
            line,
            caller,
        } = &ev.kind
        {
            self.open.insert(
                uid.clone(),
                new_record(uid, *origin, trunk, dialled, line, caller, at),
            );
            return None;
        }
        let Some(r) = self.open.get_mut(uid) else {
            self.orphan_events += 1;
            tracing::debug!(call = %uid, "stats: event for a call that never arrived");
            return None;
        };
        match &ev.kind {
            EventKind::Arrived { .. } => unreachable!("handled above"),
            EventKind::GreetingDone => {
                r.greeting_done_ms.get_or_insert(at);
            }
            EventKind::Queued { queue, .. } => {
                r.queued_ms.get_or_insert(at);
                r.queue = Some(queue.clone());
            }
            EventKind::Offered { agent } => r.offers.push(Offer {
                agent: agent.clone(),
                at_ms: at,
                ended_ms: None,
                status: None,
            }),
            EventKind::OfferEnded { agent, status } => {
                if let Some(o) = open_offer(r, agent) {
                    o.ended_ms = Some(at);
                    o.status = Some(*status);
                }
            }
            EventKind::Answered { agent } => {
                if let Some(o) = open_offer(r, agent) {
                    o.ended_ms = Some(at);
                }
                // The first operator to answer is the one the indicators count.
                if r.answered_ms.is_none() {
                    r.answered_ms = Some(at);
                    r.agent = Some(agent.clone());
                }
            }
            EventKind::Overflowed { to, .. } => r.overflowed_to = Some(to.clone()),
            EventKind::AfterHours { .. } => r.after_hours = true,
            EventKind::CallbackRequested { number } => r.callback_number = Some(number.clone()),
            EventKind::TransferStarted {
                agent,
                kind,
                target,
            } => r.transfers.push(Transfer {
                at_ms: at,
                agent: agent.clone(),
                kind: *kind,
                purpose: TransferPurpose::from_kind(*kind),
                target: target.clone(),
                completed_ms: None,
                failed: None,
            }),
            EventKind::TransferCompleted { target, .. } => {
                if let Some(t) = open_transfer(r, target) {
                    t.completed_ms = Some(at);
                }
            }
            EventKind::TransferFailed {
                target,
                status,
                reason,
                ..
            } => {
                if let Some(t) = open_transfer(r, target) {
                    t.failed = Some((*status, reason.clone()));
                }
            }
            EventKind::Connected { .. } | EventKind::SurveyOffered => {}
            // The citizen's rating, before the call ends (item 7): the satisfaction KPI.
            EventKind::SurveyAnswered { score } => r.survey = Some(*score),
            EventKind::SupervisionStarted {
                supervisor,
                agent,
                mode,
            } => r.supervisions.push(Supervision {
                supervisor: supervisor.clone(),
                agent: agent.clone(),
                mode: *mode,
                at_ms: at,
                ended_ms: None,
            }),
            EventKind::SupervisionEnded { supervisor } => {
                if let Some(s) = r
                    .supervisions
                    .iter_mut()
                    .rev()
                    .find(|s| s.supervisor == *supervisor && s.ended_ms.is_none())
                {
                    s.ended_ms = Some(at);
                }
            }
            EventKind::OperatorLeft { agent } => {
                if r.agent.as_deref() == Some(agent.as_str()) && r.operator_left_ms.is_none() {
                    r.operator_left_ms = Some(at);
                    self.wrapping.insert(agent.clone(), uid.clone());
                }
            }
            EventKind::Ended { phase, by, .. } => {
                let mut r = self.open.remove(uid)?;
                r.ended_ms = at;
                r.end_phase = *phase;
                r.ended_by = *by;
                if let (Some(agent), None) = (&r.agent, r.operator_left_ms) {
                    r.operator_left_ms = Some(at);
                    self.wrapping.insert(agent.clone(), uid.clone());
                }
                return Some(r);
            }
        }
        None
    }

    /// The ACD says this operator's after-call work ended at `at_ms`.
    pub fn on_wrapup_end(&mut self, agent: &str, at_ms: u64) -> WrapupJoin {
        let Some(uid) = self.wrapping.remove(agent) else {
            return WrapupJoin::None;
        };
        match self.open.get_mut(&uid) {
            Some(r) => {
                r.wrapup_end_ms = Some(at_ms);
                WrapupJoin::Pending
            }
            None => WrapupJoin::Written { uid, at_ms },
        }
    }

    /// Close calls that have been open longer than `max_age_ms` (an `Ended` that never
    /// came: a bug elsewhere must not grow memory forever). They are returned ended by
    /// the switch, so they count as failed, not as abandoned.
    pub fn expire(&mut self, now_ms: u64, max_age_ms: u64) -> Vec<CallRecord> {
        let old: Vec<String> = self
            .open
            .iter()
            .filter(|(_, r)| now_ms.saturating_sub(r.arrived_ms) > max_age_ms)
            .map(|(u, _)| u.clone())
            .collect();
        old.into_iter()
            .filter_map(|u| self.open.remove(&u))
            .map(|mut r| {
                r.ended_ms = now_ms;
                r.ended_by = Party::Switch;
                r
            })
            .collect()
    }
}

fn new_record(
    uid: &str,
    origin: callctl::event::Origin,
    trunk: &str,
    dialled: &str,
    line: &str,
    caller: &str,
    at: u64,
) -> CallRecord {
    CallRecord {
        uid: uid.into(),
        origin,
        trunk: trunk.into(),
        dialled: dialled.into(),
        line: line.into(),
        caller: caller.into(),
        arrived_ms: at,
        greeting_done_ms: None,
        queued_ms: None,
        queue: None,
        offers: vec![],
        answered_ms: None,
        agent: None,
        operator_left_ms: None,
        wrapup_end_ms: None,
        transfers: vec![],
        callback_number: None,
        overflowed_to: None,
        after_hours: false,
        ended_ms: at,
        end_phase: Phase::Greeting,
        ended_by: Party::Switch,
        survey: None,
        resolution: None,
        supervisions: vec![],
    }
}

fn open_offer<'a>(r: &'a mut CallRecord, agent: &str) -> Option<&'a mut Offer> {
    r.offers
        .iter_mut()
        .rev()
        .find(|o| o.agent == agent && o.ended_ms.is_none())
}

fn open_transfer<'a>(r: &'a mut CallRecord, target: &str) -> Option<&'a mut Transfer> {
    r.transfers
        .iter_mut()
        .rev()
        .find(|t| t.target == target && t.completed_ms.is_none() && t.failed.is_none())
}
