//! The outbound legs of a call: placing them, their responses, cancelling them, and the
//! BYEs that end them.

use crate::call::{Call, LegState, OutLeg, Phase, Plan, Purpose};
use crate::event::{EventKind, Party, Phase as EvPhase};
use crate::io::{Destination, Env, MediaOut, Output, QueueOut, Role, Side};
use crate::msg::{self, Caller, InviteParts, LegIds, Screen};
use sip::dialog::Dialog;
use sip::transaction::new_branch;
use sip::{Method, Response, SipHeaders};
use std::time::Duration;

impl Call {
    /// Take a channel of the destination's trunk, if it is one (第2-7 ⑴ エ・オ).
    pub(crate) fn take_channel(
        &mut self,
        env: &dyn Env,
        dest: &Destination,
        transfer: bool,
    ) -> Result<Option<String>, String> {
        match &dest.trunk {
            Some(t) => env.acquire_channel(t, transfer).map(|()| Some(t.clone())),
            None => Ok(None),
        }
    }

    pub(crate) fn release_channel(&mut self, i: usize) {
        if let Some(t) = self.legs[i].channel.take() {
            self.push(Output::ReleaseChannel { trunk: t });
        }
    }

    /// Ring one destination. Returns the leg's index.
    pub(crate) fn place(
        &mut self,
        dest: Destination,
        role: Role,
        side: Side,
        purpose: Purpose,
        ring: Duration,
        channel: Option<String>,
    ) -> usize {
        let branch = new_branch();
        let local_tag = sip::dialog::new_tag();
        let call_id = format!("{}@madoguchi", sip::dialog::new_tag());
        let mut st = self.sdp.side(dest.peer.transport);
        // The caller's codec first, so that the relay need not transcode.
        let first = self
            .a
            .as_ref()
            .and_then(|a| a.sdp.neg.as_ref())
            .map(|n| n.codec);
        let sdp = self.sdp.offer(side, &mut st, first);
        let dnis = msg::e164(&self.line.number);
        let citizen = self
            .a
            .as_ref()
            .and_then(|a| a.invite.from_hdr())
            .map(|f| f.uri.to_string());
        let domain = String::new();
        let (display, user) = match (&role, purpose) {
            // A citizen called back sees the center's line.
            (Role::Citizen, _) => (self.line.name.clone(), dnis.clone()),
            // An operator's outside call shows the center's number, never an extension.
            (Role::Outside { .. }, _) => match &self.center {
                Some(c) => (c.name.clone(), msg::e164(&c.number)),
                None => (self.line.name.clone(), dnis.clone()),
            },
            // The operator sees which line was dialled (第2-7 ⑴ ア).
            (Role::Operator { .. }, _) => (self.line.name.clone(), dnis.clone()),
            // A department sees the citizen's number (or the operator's).
            (Role::Department { .. }, _) => (
                self.line.name.clone(),
                self.caller
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
                    .collect::<String>(),
            ),
        };
        let user = if user.is_empty() {
            "madoguchi".to_string()
        } else {
            user
        };
        let domain = if domain.is_empty() {
            msg::host_port(dest.peer.local)
        } else {
            domain
        };
        // Inside the city (operators, departments, the guard room) the dialled line and
        // the citizen travel in headers; never to an outside party.
        let callback = (purpose == Purpose::CallbackAgent).then_some(self.caller.as_str());
        let screen =
            matches!(role, Role::Operator { .. } | Role::Department { .. }).then_some(Screen {
                dnis: &dnis,
                dnis_name: &self.line.name,
                citizen: citizen.as_deref(),
                callback,
            });
        let invite = msg::outbound_invite(InviteParts {
            dest: &dest,
            domain: &domain,
            caller: Caller {
                display: &display,
                user: &user,
            },
            ids: LegIds {
                local_tag: &local_tag,
                call_id: &call_id,
                branch: &branch,
            },
            screen,
            max_forwards: self.max_forwards,
            sdp: Some(sdp),
        });
        tracing::info!(call = %self.uid, label = %dest.label, to = %dest.peer.remote, ?purpose, "ringing");
        self.push(Output::BindDialog { call_id, local_tag });
        self.push(Output::SendRequest {
            req: invite.clone(),
            to: dest.peer,
        });
        self.legs.push(OutLeg {
            role,
            side,
            purpose,
            dest,
            invite,
            branch,
            dialog: None,
            ack: None,
            state: LegState::Ringing,
            deadline: Some(self.now + ring),
            sdp: st,
            channel,
            left: false,
        });
        self.legs.len() - 1
    }

    /// The ACD offers the call to an agent: ring their phone.
    pub(crate) fn on_offer(
        &mut self,
        entry: acd::EntryId,
        agent: String,
        ring_timeout: Duration,
        dest: Option<Destination>,
    ) {
        if self.phase != Phase::Queue || self.entry != Some(entry) {
            self.queue(QueueOut::Rejected { entry, agent });
            return;
        }
        let Some(dest) = dest else {
            self.queue(QueueOut::Rejected { entry, agent });
            return;
        };
        self.emit(EventKind::Offered {
            agent: agent.clone(),
        });
        // The ACD withdraws offers itself; this deadline is the safety net.
        let ring = ring_timeout + Duration::from_secs(5);
        self.place(
            dest,
            Role::Operator { agent },
            Side::B,
            Purpose::Offer,
            ring,
            None,
        );
    }

    fn agent_of(&self, i: usize) -> Option<String> {
        match &self.legs[i].role {
            Role::Operator { agent } => Some(agent.clone()),
            _ => None,
        }
    }

    /// CANCEL a ringing leg (§9.1). Kept until its 487 (or a crossing 200) comes.
    pub(crate) fn cancel_leg(&mut self, i: usize) {
        if self.legs[i].state != LegState::Ringing {
            return;
        }
        self.legs[i].state = LegState::Cancelling;
        let cancel = sip::transaction::make_cancel(&self.legs[i].invite);
        let to = self.legs[i].dest.peer;
        self.push(Output::SendRequest { req: cancel, to });
        self.release_channel(i);
    }

    pub(crate) fn cancel_offer(&mut self, agent: &str) {
        let found = self.legs.iter().position(|l| {
            l.purpose == Purpose::Offer
                && l.state == LegState::Ringing
                && matches!(&l.role, Role::Operator { agent: a } if a == agent)
        });
        if let Some(i) = found {
            self.cancel_leg(i);
            self.emit(EventKind::OfferEnded {
                agent: agent.to_string(),
                status: 487,
            });
        }
    }

    pub(crate) fn cancel_all_ringing(&mut self) {
        for i in 0..self.legs.len() {
            if self.legs[i].state == LegState::Ringing {
                let offer = self.legs[i].purpose == Purpose::Offer;
                self.cancel_leg(i);
                if let (true, Some(agent)) = (offer, self.agent_of(i)) {
                    self.emit(EventKind::OfferEnded { agent, status: 487 });
                }
            }
        }
    }

    pub(crate) fn on_leg_timeout(&mut self, branch: &str, env: &dyn Env) {
        self.pending_byes.retain(|b| b != branch);
        let Some(i) = self.legs.iter().position(|l| l.branch == branch) else {
            return;
        };
        match self.legs[i].state {
            LegState::Ringing => {
                self.legs[i].state = LegState::Gone;
                self.release_channel(i);
                self.leg_failed(i, 408, env);
            }
            LegState::Cancelling => self.legs[i].state = LegState::Gone,
            _ => {}
        }
    }

    /// A leg failed (4xx–6xx, no answer, CANCELled by its deadline): what next depends
    /// on what it was for.
    pub(crate) fn leg_failed(&mut self, i: usize, status: u16, env: &dyn Env) {
        if self.phase == Phase::Ending {
            return;
        }
        let purpose = self.legs[i].purpose;
        match purpose {
            Purpose::Offer => {
                let agent = self.agent_of(i).unwrap_or_default();
                self.emit(EventKind::OfferEnded {
                    agent: agent.clone(),
                    status,
                });
                if let Some(entry) = self.entry {
                    self.queue(QueueOut::Rejected { entry, agent });
                }
            }
            Purpose::Forward => {
                if !self.legs.iter().any(|l| l.state == LegState::Ringing) {
                    self.fail_a(480);
                }
            }
            Purpose::Dial => {
                // The operator's phone shows why (busy, not found…).
                let st = if (300..700).contains(&status) {
                    status
                } else {
                    480
                };
                self.outcome = "unanswered";
                let phase = self.ev_phase();
                self.respond_a(st, None, None);
                if self.a.as_ref().is_some_and(|a| a.answered) {
                    self.bye_a();
                }
                self.enter_ending(phase, Party::Department);
            }
            Purpose::TransferTarget => self.transfer_failed(status, env),
            Purpose::Recall => self.recall_failed(),
            Purpose::CallbackAgent => self.callback_agent_failed(),
            Purpose::CallbackCitizen => {
                tracing::info!(call = %self.uid, status, "the citizen did not take the callback");
                self.outcome = "callback-unanswered";
                for j in 0..self.legs.len() {
                    if self.legs[j].state == LegState::Up {
                        self.bye_leg(j);
                        self.operator_left(j);
                    }
                }
                self.enter_ending(EvPhase::Forward, Party::Citizen);
            }
        }
    }

    /// The agent of a callback did not answer: the ACD offers the next one (a new call).
    pub(crate) fn callback_agent_failed(&mut self) {
        if let Plan::Callback { entry, agent, .. } = self.plan.clone() {
            self.emit(EventKind::OfferEnded {
                agent: agent.clone(),
                status: 480,
            });
            self.queue(QueueOut::Rejected { entry, agent });
        }
        self.outcome = "callback-failed";
        self.enter_ending(EvPhase::Ringing, Party::Operator);
    }

    pub(crate) fn on_response(&mut self, branch: String, resp: sip::Response, env: &dyn Env) {
        let method = resp.cseq().map(|c| c.method);
        if method == Some(Method::Bye) {
            self.pending_byes.retain(|b| b != &branch);
            return;
        }
        if method != Some(Method::Invite) {
            return;
        }
        let Some(i) = self.legs.iter().position(|l| l.branch == branch) else {
            return;
        };
        match self.legs[i].state {
            // A retransmitted 2xx: our ACK was lost (§13.2.2.4).
            LegState::Up | LegState::Gone if resp.is_success() => {
                if let Some(data) = self.legs[i].ack.clone() {
                    let to = self.legs[i].dest.peer;
                    self.push(Output::SendRaw { data, to });
                }
            }
            LegState::Cancelling => {
                if resp.is_success() {
                    // The 200 crossed our CANCEL: take the leg down (§15: BYE it).
                    self.ack_leg(i, &resp);
                    self.legs[i].state = LegState::Up;
                    self.bye_leg(i);
                } else if resp.status >= 200 {
                    self.legs[i].state = LegState::Gone;
                }
            }
            LegState::Ringing => match resp.status {
                100 => {}
                101..=199 => self.on_ringing(i, &resp),
                200..=299 => self.on_answer(i, resp, env),
                _ => {
                    tracing::info!(call = %self.uid, label = %self.legs[i].dest.label, status = resp.status, "leg refused");
                    self.legs[i].state = LegState::Gone;
                    self.release_channel(i);
                    self.leg_failed(i, resp.status, env);
                }
            },
            _ => {}
        }
    }

    /// Ringing at the far end: an unanswered caller hears it too (hunt group, a forward
    /// without announcement, an operator's own call).
    fn on_ringing(&mut self, i: usize, resp: &Response) {
        let Some(a) = self.a.as_ref() else { return };
        if a.answered || a.ringing_sent || self.legs[i].side != Side::B {
            return;
        }
        if !matches!(
            self.legs[i].purpose,
            Purpose::Offer | Purpose::Forward | Purpose::Dial
        ) {
            return;
        }
        let mut early = None;
        if !resp.body.is_empty() && !a.late_offer {
            let mut st = std::mem::take(&mut self.legs[i].sdp);
            if let Ok(cfg) = self.sdp.on_answer(&mut st, &resp.body) {
                early = Some(cfg);
            }
            self.legs[i].sdp = st;
        }
        match early {
            Some(cfg) => {
                // Early media (RFC 3960): the caller hears what the far side plays.
                self.media(MediaOut::SetLeg { side: Side::B, cfg });
                let sdp = self
                    .a
                    .as_ref()
                    .and_then(|a| a.sdp.answer.as_ref())
                    .map(|d| d.to_string());
                self.respond_a(183, sdp, None);
            }
            None => self.respond_a(180, None, None),
        }
        if let Some(a) = self.a.as_mut() {
            a.ringing_sent = true;
        }
    }

    fn ack_leg(&mut self, i: usize, resp: &Response) {
        let to = self.legs[i].dest.peer;
        let mut dialog = Dialog::uac(&self.legs[i].invite, resp).ok();
        if let Some(d) = dialog.as_mut() {
            d.confirm(resp);
        }
        let ack = dialog
            .as_ref()
            .map(|d| d.make_ack(1, &msg::via_for(&to)).to_bytes());
        self.legs[i].dialog = dialog;
        self.legs[i].ack = ack.clone();
        if let Some(data) = ack {
            self.push(Output::SendRaw { data, to });
        }
    }

    fn on_answer(&mut self, i: usize, resp: Response, env: &dyn Env) {
        self.ack_leg(i, &resp);
        self.legs[i].state = LegState::Up;
        self.legs[i].deadline = None;
        let wanted = match self.legs[i].purpose {
            Purpose::Offer => {
                self.phase == Phase::Queue
                    && self.bridged.is_none()
                    && !self.legs.iter().enumerate().any(|(j, l)| {
                        j != i && l.purpose == Purpose::Offer && l.state == LegState::Up
                    })
            }
            _ => self.phase != Phase::Ending,
        };
        if !wanted {
            // Someone else answered first, or the caller is gone: take this one down.
            self.bye_leg(i);
            return;
        }
        let mut st = std::mem::take(&mut self.legs[i].sdp);
        let r = self.sdp.on_answer(&mut st, &resp.body);
        self.legs[i].sdp = st;
        let cfg = match r {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(call = %self.uid, error = %e, "the answer's SDP is unusable");
                self.bye_leg(i);
                self.leg_failed(i, 488, env);
                return;
            }
        };
        match self.legs[i].purpose {
            Purpose::Offer | Purpose::Forward | Purpose::Dial => self.connect(i, cfg),
            Purpose::TransferTarget => self.transfer_answered(i, cfg),
            Purpose::Recall => self.recall_answered(i, cfg),
            Purpose::CallbackAgent => self.callback_agent_answered(i, cfg, env),
            Purpose::CallbackCitizen => self.callback_citizen_answered(i, cfg),
        }
    }

    /// Bridge the inbound leg with leg `i` (an operator, the guard room, what an operator
    /// dialled).
    fn connect(&mut self, i: usize, cfg: media::LegConfig) {
        self.stop_playback();
        self.media(MediaOut::SetLeg { side: Side::B, cfg });
        let hunt = self.a.as_ref().is_some_and(|a| !a.answered);
        if hunt {
            self.answer_a();
        }
        self.bridged = Some(i);
        self.phase = Phase::Talking;
        let label = self.legs[i].dest.label.clone();
        self.media(MediaOut::RecordParty {
            label: label.clone(),
        });
        match (self.legs[i].purpose, self.agent_of(i)) {
            (Purpose::Offer, Some(agent)) => {
                if let Some(entry) = self.entry.take() {
                    self.queue(QueueOut::Answered {
                        entry,
                        agent: agent.clone(),
                    });
                }
                tracing::info!(call = %self.uid, %agent, "answered");
                self.outcome = "answered";
                self.emit(EventKind::Answered { agent });
            }
            _ => {
                self.outcome = "answered";
                self.emit(EventKind::Connected { party: label });
            }
        }
        // Everyone recorded hears the notice (issue 8): a hunt group's caller was not
        // greeted, so they hear it now; so does an outside party an operator called.
        let notice = (hunt && self.legs[i].purpose == Purpose::Offer)
            || matches!(self.legs[i].role, Role::Outside { .. });
        if notice {
            let side = if hunt { Side::A } else { Side::B };
            self.play(
                side,
                vec![crate::announce::RECORDING_NOTICE.to_string()],
                crate::call::AfterPlay::Nothing,
            );
        }
        // Any other offer still ringing is withdrawn by the ACD; a forward's are ours.
        if self.legs[i].purpose != Purpose::Offer {
            for j in 0..self.legs.len() {
                if j != i && self.legs[j].state == LegState::Ringing {
                    self.cancel_leg(j);
                }
            }
        }
    }

    /// The operator left leg `i`: their after-call work starts (ACD wrap-up).
    pub(crate) fn operator_left(&mut self, i: usize) {
        self.supervised_operator_left(i);
        let counts = matches!(
            self.legs[i].purpose,
            Purpose::Offer | Purpose::Recall | Purpose::CallbackAgent
        );
        if let (true, Some(agent)) = (counts, self.agent_of(i)) {
            // Once per leg: a second CallEnded would reset the wrap-up.
            if !self.legs[i].left {
                self.legs[i].left = true;
                self.queue(QueueOut::CallEnded {
                    agent: agent.clone(),
                });
                self.emit(EventKind::OperatorLeft { agent });
            }
        }
    }

    pub(crate) fn bye_leg(&mut self, i: usize) {
        if self.legs[i].state != LegState::Up {
            return;
        }
        self.legs[i].state = LegState::Gone;
        let flow = self.legs[i].dest.peer;
        let Some(d) = self.legs[i].dialog.as_mut() else {
            return;
        };
        let to = msg::peer_for_target(d.next_hop(), &flow);
        let req = d.new_request(Method::Bye, &msg::contact_for(&flow), &msg::via_for(&flow));
        self.pending_byes.push(msg::branch_of(&req));
        self.push(Output::SendRequest { req, to });
        self.release_channel(i);
    }

    /// The far end of outbound leg `i` hung up.
    pub(crate) fn on_bye_leg(&mut self, i: usize, env: &dyn Env) {
        let was_up = self.legs[i].state == LegState::Up;
        self.legs[i].state = LegState::Gone;
        self.release_channel(i);
        if !was_up {
            return;
        }
        let by = match self.legs[i].role {
            Role::Operator { .. } => Party::Operator,
            Role::Department { .. } | Role::Outside { .. } => Party::Department,
            Role::Citizen => Party::Citizen,
        };
        self.operator_left(i);
        if self.phase == Phase::Transferring && self.transfer_is_operator(i) {
            // The transferor hangs up after its REFER was accepted (RFC 5589 §6).
            self.transferor_left(i, env);
            return;
        }
        if self.bridged != Some(i) && self.legs[i].side != Side::A {
            return;
        }
        if by == Party::Operator && self.survey_after_operator(i) {
            return;
        }
        self.stop_playback();
        self.cancel_all_ringing();
        self.bye_a();
        for j in 0..self.legs.len() {
            if j != i && self.legs[j].state == LegState::Up {
                self.bye_leg(j);
                self.operator_left(j);
            }
        }
        self.enter_ending(EvPhase::Talking, by);
    }
}
