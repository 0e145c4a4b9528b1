//! One call as a state machine. Inputs come from the SIP core (responses, in-dialog
//! requests), the queue (offers, announcements, overflow), the media relay (digits, the
//! end of a prompt) and the clock (`handle_timeout`). Outputs are drained with
//! `poll_output`. The machine owns every decision; the driver owns every socket.
//!
//! Legs: the inbound leg (`InLeg`, we are its UAS) is always on relay side A; outbound
//! legs (`OutLeg`, we are their UAC) sit on side B, except the citizen's leg of a
//! callback, which takes side A so the recording keeps "citizen left, center right".

use crate::event::{CallUid, Event, EventKind, Origin, Party, Phase as EvPhase};
use crate::io::{Env, Input, MediaOut, Output, QueueOut, Role, Side, Target};
use crate::msg;
use crate::sdp::{Sdp, SideState};
use acd::EntryId;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use crate::setup::{CallSetup, Inbound, Plan, Timers};
pub(crate) use crate::state::{AfterPlay, InLeg, LegState, OutLeg, Phase, Purpose};

pub struct Call {
    pub(crate) uid: CallUid,
    pub(crate) origin: Origin,
    pub(crate) trunk: String,
    pub(crate) line: dialplan::Number,
    pub(crate) caller: String,
    pub(crate) inbound_channel: Option<String>,
    pub(crate) plan: Plan,
    pub(crate) timers: Timers,
    pub(crate) epoch: (Instant, u64),
    pub(crate) max_forwards: u32,
    pub(crate) center: Option<dialplan::Number>,
    pub(crate) a: Option<InLeg>,
    pub(crate) legs: Vec<OutLeg>,
    pub(crate) sdp: Sdp,
    pub(crate) phase: Phase,
    pub(crate) entry: Option<EntryId>,
    /// The outbound leg bridged to side A (an index into `legs`).
    pub(crate) bridged: Option<usize>,
    pub(crate) out: VecDeque<Output>,
    pub(crate) play_token: u32,
    pub(crate) playing: Option<(u32, AfterPlay)>,
    pub(crate) window_until: Option<Instant>,
    pub(crate) pending_byes: Vec<String>,
    pub(crate) end_deadline: Option<Instant>,
    pub(crate) outcome: &'static str,
    pub(crate) recording: bool,
    pub(crate) overflowed_to_callback: bool,
    /// The number of a callback request the queue has not confirmed yet.
    pub(crate) pending_callback: Option<String>,
    pub(crate) transfer: Option<crate::transfer::Transfer>,
    pub(crate) ended_sent: bool,
    /// Joined with another call by an attended transfer (tell it when we end).
    pub(crate) partner: bool,
    /// The consult call handed its far party over: its operator leg is gone by design.
    pub(crate) handed_over: bool,
    /// Text for a `Warning` header on our 2xx (a refused feature code).
    pub(crate) warning: Option<String>,
    /// A supervisor on this call (listen, whisper, barge).
    pub(crate) supervision: Option<crate::supervise::Supervision>,
    /// This supervisor's call is linked to the operator's call it supervises.
    pub(crate) monitor_link: bool,
    pub(crate) now: Instant,
}

impl Call {
    /// Make the call and take its first steps (answer, greet, ring…).
    pub fn new(s: CallSetup, env: &dyn Env, now: Instant) -> Call {
        let a = s.inbound.map(|i| InLeg {
            late_offer: i.invite.body.is_empty(),
            tx: i.tx,
            invite: i.invite,
            from: i.from,
            tag: sip::dialog::new_tag(),
            dialog: None,
            final_sent: false,
            answered: false,
            ringing_sent: false,
            sdp: SideState::default(),
            gone: false,
        });
        let mut c = Call {
            uid: s.uid,
            origin: s.origin,
            trunk: s.trunk,
            line: s.line,
            caller: s.caller,
            inbound_channel: s.inbound_channel,
            plan: s.plan,
            timers: s.timers,
            epoch: s.epoch,
            max_forwards: s.max_forwards,
            center: s.center,
            a,
            legs: Vec::new(),
            sdp: Sdp { setup: s.media },
            phase: Phase::Greeting,
            entry: None,
            bridged: None,
            out: VecDeque::new(),
            play_token: 0,
            playing: None,
            window_until: None,
            pending_byes: Vec::new(),
            end_deadline: None,
            outcome: "unanswered",
            recording: false,
            overflowed_to_callback: false,
            pending_callback: None,
            transfer: None,
            ended_sent: false,
            warning: None,
            partner: false,
            handed_over: false,
            supervision: None,
            monitor_link: false,
            now,
        };
        // The caller's leg may carry SRTP keys only if its SIP came over TLS.
        if let Some(a) = c.a.as_mut() {
            a.sdp = c.sdp.side(a.from.transport);
        }
        c.emit(EventKind::Arrived {
            origin: c.origin,
            trunk: c.trunk.clone(),
            dialled: msg::e164(&c.line.number),
            line: c.line.name.clone(),
            caller: c.caller.clone(),
        });
        c.begin(env);
        c
    }

    pub fn uid(&self) -> &CallUid {
        &self.uid
    }

    /// Why the call ended, for metrics (`answered`, `abandoned`, …).
    pub fn outcome(&self) -> &'static str {
        self.outcome
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next instant `handle_timeout` wants to be called at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rings = self
            .legs
            .iter()
            .filter(|l| l.state == LegState::Ringing)
            .filter_map(|l| l.deadline);
        rings
            .chain(self.end_deadline)
            .chain(self.window_until)
            .min()
    }

    /// True when nothing is left to wait for: the driver stops the relay and reports.
    pub fn is_finished(&self) -> bool {
        if self.phase != Phase::Ending {
            return false;
        }
        if self.end_deadline.is_some_and(|d| self.now >= d) {
            return true;
        }
        self.pending_byes.is_empty() && !self.legs.iter().any(|l| l.state == LegState::Cancelling)
    }

    pub fn handle(&mut self, input: Input, env: &dyn Env, now: Instant) {
        self.now = now;
        match input {
            Input::Response { branch, resp } => self.on_response(branch, resp, env),
            Input::Timeout { branch } => self.on_leg_timeout(&branch, env),
            Input::Request { tx, req, from } => self.on_request(tx, req, from, env),
            Input::Ack { req } => self.on_ack(&req),
            Input::NoAck => {
                tracing::warn!(call = %self.uid, "no ACK for our 200: ending the call (§13.3.1.4)");
                self.hang_up_all(Party::Switch);
            }
            Input::Cancelled => {
                // The CANCEL crossed our final response (the core saw it before our 200
                // left): it has no effect on a request already answered (§9.2). The
                // caller ACKs our 200 and sends BYE if it still wants to leave.
                if self.a.as_ref().is_some_and(|a| a.final_sent) {
                    return;
                }
                // The caller gave up before we answered (§9.2).
                self.respond_a(487, None, None);
                self.abandon(Party::Citizen);
            }
            Input::Shutdown => self.hang_up_all(Party::Switch),
            Input::Offer {
                entry,
                agent,
                ring_timeout,
                dest,
            } => self.on_offer(entry, agent, ring_timeout, dest),
            Input::CancelOffer { agent } => self.cancel_offer(&agent),
            Input::Announce {
                position,
                expected_wait,
            } => self.on_announce(position, expected_wait),
            Input::Overflow { to } => self.on_overflow(to, env),
            Input::Enqueued(r) => self.on_enqueued(r),
            Input::CallbackAccepted(r) => self.on_callback_accepted(r),
            Input::AgentChanged(r) => self.on_agent_changed(r),
            Input::Digit(d) => self.on_digit(d, env),
            Input::PlaybackDone { token } => self.on_playback_end(token, env),
            Input::HandOver { peer } => self.on_hand_over(peer),
            Input::Joined(r) => self.on_joined(r),
            Input::PartnerGone => self.on_partner_gone(),
            Input::Supervise {
                supervisor,
                agent,
                mode,
                peer,
                ours,
            } => self.on_supervise(supervisor, agent, mode, peer, ours),
            Input::Supervising(r) => self.on_supervising(r),
            Input::MonitorGone => self.on_monitor_gone(),
            Input::SuperviseMode(mode) => self.on_supervise_mode(mode),
        }
    }

    pub fn handle_timeout(&mut self, env: &dyn Env, now: Instant) {
        self.now = now;
        if self.window_until.is_some_and(|w| w <= now) {
            self.window_until = None;
            if self.phase != Phase::Ending {
                self.fail_a(480);
            }
        }
        let due: Vec<usize> = (0..self.legs.len())
            .filter(|&i| {
                self.legs[i].state == LegState::Ringing
                    && self.legs[i].deadline.is_some_and(|d| d <= now)
            })
            .collect();
        for i in due {
            self.cancel_leg(i);
            self.leg_failed(i, 408, env);
        }
        if self.phase == Phase::Ending && self.end_deadline.is_some_and(|d| d <= now) {
            self.pending_byes.clear();
        }
    }

    // ---- helpers shared by the other modules ----

    pub(crate) fn push(&mut self, o: Output) {
        self.out.push_back(o);
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        let at_ms =
            self.epoch.1 + self.now.saturating_duration_since(self.epoch.0).as_millis() as u64;
        self.push(Output::Event(Event {
            call: self.uid.clone(),
            at_ms,
            kind,
        }));
    }

    pub(crate) fn queue(&mut self, q: QueueOut) {
        self.push(Output::Queue(q));
    }

    pub(crate) fn media(&mut self, m: MediaOut) {
        self.push(Output::Media(m));
    }

    pub(crate) fn now_unix(&self) -> u64 {
        (self.epoch.1 + self.now.saturating_duration_since(self.epoch.0).as_millis() as u64) / 1000
    }

    fn begin(&mut self, env: &dyn Env) {
        if let Some(a) = &self.a {
            if !a.late_offer {
                let body = a.invite.body.clone();
                let mut st = self.sdp.side(a.from.transport);
                match self.sdp.answer(Side::A, &mut st, &body) {
                    Ok((_, cfg)) => self.media(MediaOut::SetLeg { side: Side::A, cfg }),
                    Err(e) => {
                        tracing::info!(call = %self.uid, error = %e, "the caller's offer is unusable");
                        let status = Sdp::status_for(&e);
                        self.respond_a(status, None, None);
                        self.outcome = "rejected";
                        self.enter_ending(EvPhase::Greeting, Party::Switch);
                        return;
                    }
                }
                if let Some(a) = self.a.as_mut() {
                    a.sdp = st;
                }
            }
        }
        match self.plan.clone() {
            Plan::Queue { greeting, .. } if !greeting.is_empty() => {
                // Answer first: the announcements are part of the call (and its recording).
                self.answer_a();
                let mut prompts = greeting;
                if !prompts
                    .iter()
                    .any(|p| p == crate::announce::RECORDING_NOTICE)
                {
                    prompts.push(crate::announce::RECORDING_NOTICE.to_string());
                }
                self.play(Side::A, prompts, AfterPlay::Enqueue);
            }
            Plan::Queue { .. } => {
                self.phase = Phase::Queue;
                self.enqueue();
            }
            Plan::Forward { announce, dest, .. } => {
                self.phase = Phase::Forward;
                let target = dest.as_ref().map(|d| d.label.clone()).unwrap_or_default();
                if announce.iter().any(|p| p == crate::announce::AFTER_HOURS) {
                    self.emit(EventKind::AfterHours { target });
                }
                if announce.is_empty() {
                    self.forward(env);
                } else {
                    self.answer_a();
                    let mut prompts = announce;
                    prompts.push(crate::announce::RECORDING_NOTICE.to_string());
                    self.play(Side::A, prompts, AfterPlay::Forward);
                }
            }
            Plan::Dial { agent, target } => self.dial(agent, target, env),
            Plan::Callback {
                agent, agent_dest, ..
            } => {
                self.phase = Phase::Queue;
                match agent_dest {
                    Some(dest) => {
                        let role = Role::Operator { agent };
                        let ring = self.timers.transfer_ring;
                        self.place(dest, role, Side::B, Purpose::CallbackAgent, ring, None);
                    }
                    None => self.callback_agent_failed(),
                }
            }
        }
    }

    /// An operator's own call: ring what they dialled, or change their state.
    fn dial(&mut self, agent: String, target: Target, env: &dyn Env) {
        self.phase = Phase::Forward;
        match target {
            Target::Place { dest, role } => {
                // An ordinary call: it may not take the channels kept for transfers.
                let channel = match self.take_channel(env, &dest, false) {
                    Ok(c) => c,
                    Err(reason) => {
                        tracing::info!(call = %self.uid, %reason, "no trunk channel");
                        self.outcome = "refused";
                        self.respond_a(503, None, Some("All trunk channels busy".into()));
                        self.enter_ending(EvPhase::Forward, Party::Switch);
                        return;
                    }
                };
                self.emit(EventKind::Offered {
                    agent: dest.label.clone(),
                });
                let ring = Duration::from_secs(120);
                self.place(dest, role, Side::B, Purpose::Dial, ring, channel);
            }
            Target::Feature { op } => {
                self.outcome = "feature";
                self.queue(QueueOut::Agent { agent, op });
            }
            Target::Supervise { agent, mode } => self.supervise(agent, mode),
            Target::Refused { status, reason, .. } => {
                tracing::info!(call = %self.uid, %agent, status, %reason, "operator's call refused");
                self.outcome = "refused";
                self.respond_a(status, None, Some(reason));
                self.enter_ending(EvPhase::Forward, Party::Switch);
            }
        }
    }

    fn on_agent_changed(&mut self, r: Result<(), String>) {
        let Plan::Dial {
            target: Target::Feature { op },
            ..
        } = self.plan.clone()
        else {
            return;
        };
        // Mature PBXs answer a feature code and say what happened, then hang up.
        let prompt = match &r {
            Ok(()) => crate::announce::feature_done(&op),
            Err(_) => crate::announce::FEATURE_FAILED,
        };
        if let Err(e) = &r {
            tracing::info!(call = %self.uid, ?op, error = %e, "feature code refused");
        }
        // RFC 3261 §20.43: a refused code says why, for the phone's display.
        self.warning = r.err().map(|e| e.replace(['"', '\r', '\n'], " "));
        self.answer_a();
        self.play(Side::A, vec![prompt.to_string()], AfterPlay::HangUp);
    }

    /// Refuse the caller (before an answer) or hang up (after one).
    pub(crate) fn fail_a(&mut self, status: u16) {
        let phase = self.ev_phase();
        self.stop_playback();
        self.cancel_all_ringing();
        if self.a.as_ref().is_some_and(|a| a.answered) {
            self.bye_a();
        } else {
            self.respond_a(status, None, None);
        }
        for i in 0..self.legs.len() {
            if self.legs[i].state == LegState::Up {
                self.bye_leg(i);
            }
        }
        self.leave_queue();
        self.enter_ending(phase, Party::Switch);
    }

    /// The call is over for the caller: everything still ringing is cancelled, the ACD
    /// forgets the entry. `by` for the statistics.
    pub(crate) fn abandon(&mut self, by: Party) {
        let phase = self.ev_phase();
        self.outcome = "abandoned";
        self.stop_playback();
        self.cancel_all_ringing();
        for i in 0..self.legs.len() {
            if self.legs[i].state == LegState::Up {
                self.bye_leg(i);
                self.operator_left(i);
            }
        }
        self.leave_queue();
        self.enter_ending(phase, by);
    }

    /// Where the call is, as the statistics name it.
    pub(crate) fn ev_phase(&self) -> EvPhase {
        match self.phase {
            Phase::Greeting => EvPhase::Greeting,
            Phase::Queue if self.legs.iter().any(|l| l.state == LegState::Ringing) => {
                EvPhase::Ringing
            }
            Phase::Queue => EvPhase::Queue,
            Phase::Forward => EvPhase::Forward,
            Phase::Talking | Phase::Transferring | Phase::Survey | Phase::Ending => {
                EvPhase::Talking
            }
        }
    }

    pub(crate) fn enter_ending(&mut self, phase: EvPhase, by: Party) {
        if self.phase == Phase::Ending {
            return;
        }
        self.phase = Phase::Ending;
        self.window_until = None;
        if self.end_deadline.is_none() {
            self.end_deadline = Some(self.now + self.timers.end_grace);
        }
        for i in 0..self.legs.len() {
            self.release_channel(i);
        }
        if let Some(t) = self.inbound_channel.take() {
            self.push(Output::ReleaseChannel { trunk: t });
        }
        if self.partner {
            self.partner = false;
            self.push(Output::PartnerEnd);
        }
        self.supervision_on_end();
        if !self.ended_sent {
            self.ended_sent = true;
            let outcome = self.outcome.to_string();
            self.emit(EventKind::Ended { phase, by, outcome });
        }
    }

    /// End everything now (shutdown, or a 2xx never acknowledged).
    pub(crate) fn hang_up_all(&mut self, by: Party) {
        let phase = self.ev_phase();
        self.stop_playback();
        if self.phase == Phase::Ending {
            return;
        }
        if self.a.as_ref().is_some_and(|a| a.answered) {
            self.bye_a();
        } else {
            self.respond_a(503, None, None);
        }
        self.cancel_all_ringing();
        for i in 0..self.legs.len() {
            if self.legs[i].state == LegState::Up {
                self.bye_leg(i);
                self.operator_left(i);
            }
        }
        self.leave_queue();
        self.enter_ending(phase, by);
    }

    pub(crate) fn play(&mut self, side: Side, prompts: Vec<String>, after: AfterPlay) {
        self.play_token = self.play_token.wrapping_add(1);
        let token = self.play_token;
        self.playing = Some((token, after));
        self.media(MediaOut::Play {
            side,
            prompts,
            token,
        });
    }

    pub(crate) fn stop_playback(&mut self) {
        if self.playing.take().is_some() {
            self.media(MediaOut::StopPlay);
        }
    }

    fn on_playback_end(&mut self, token: u32, env: &dyn Env) {
        let Some((t, after)) = self.playing else {
            return;
        };
        if t != token {
            return;
        }
        self.playing = None;
        if self.phase == Phase::Ending {
            return;
        }
        match after {
            AfterPlay::Enqueue => {
                self.emit(EventKind::GreetingDone);
                self.phase = Phase::Queue;
                self.hold_music();
                self.enqueue();
            }
            AfterPlay::HoldMusic => self.hold_music(),
            AfterPlay::Forward => self.forward(env),
            AfterPlay::HangUp => self.fail_a(480),
            AfterPlay::CallbackWindow => {
                self.window_until = Some(self.now + self.timers.callback_window);
            }
            AfterPlay::SurveyWindow => {
                self.window_until = Some(self.now + self.timers.survey_window);
            }
            AfterPlay::Nothing => {}
        }
    }

    fn forward(&mut self, env: &dyn Env) {
        let Plan::Forward { dest, role, .. } = self.plan.clone() else {
            return;
        };
        match dest {
            Some(d) => {
                // The guard room is reached like a transfer: it may use the reserve.
                match self.take_channel(env, &d, true) {
                    Ok(channel) => {
                        let ring = self.timers.transfer_ring.max(Duration::from_secs(60));
                        self.place(d, role, Side::B, Purpose::Forward, ring, channel);
                    }
                    Err(reason) => {
                        tracing::warn!(call = %self.uid, %reason, "no channel to forward");
                        self.fail_a(503);
                    }
                }
            }
            None => self.fail_a(480),
        }
    }
}
