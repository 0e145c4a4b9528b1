//! The outbound legs of a call: placing them, their responses, cancelling them, and the
//! BYEs that end either leg.

use super::build::{self, outbound_invite, peer_for_target};
use super::{BLeg, Call, Phase};
use crate::event::{CoreCmd, Destination};
use crate::queue::QueueCmd;
use sip::dialog::Dialog;
use sip::transaction::new_branch;
use sip::{Method, Response, SipHeaders};
use std::time::Duration;
use tokio::time::Instant;

impl Call {
    /// Ring one destination (an operator the ACD offered, or a forward target).
    pub(super) async fn place(
        &mut self,
        agent: String,
        from_acd: bool,
        dest: Destination,
        ring: Duration,
    ) {
        let branch = new_branch();
        let b_tag = sip::dialog::new_tag();
        let call_id = format!("{}@madoguchi", sip::dialog::new_tag());
        let sdp = self.media.offer_for_b();
        let ids = build::LegIds {
            local_tag: &b_tag,
            call_id: &call_id,
            branch: &branch,
        };
        let invite = outbound_invite(
            &self.s.invite,
            &self.s.number,
            &dest,
            &self.s.shared.cfg.sip.domain,
            &ids,
            sdp,
        );
        tracing::info!(call = self.s.call.0, %agent, to = %dest.peer.remote, "ringing");
        crate::feed::ringing(&agent, self.s.call.0, &self.s.number, &self.s.invite); // issue 11: the desktop's screen pop (history), see feed.rs
        self.send(CoreCmd::BindDialog {
            call: self.s.call,
            call_id,
            local_tag: b_tag,
        })
        .await;
        self.send(CoreCmd::SendRequest {
            call: self.s.call,
            req: invite.clone(),
            to: dest.peer,
        })
        .await;
        self.offers.push(BLeg {
            agent,
            from_acd,
            dest,
            invite,
            branch,
            dialog: None,
            ack: None,
            cancelled: false,
            ring_deadline: Instant::now() + ring,
        });
    }

    /// A leg that got no final answer in time: the ACD normally withdraws it first; this
    /// is the safety net (and the only limit for a forward).
    pub(super) async fn on_ring_deadline(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .offers
            .iter()
            .filter(|o| !o.cancelled && o.ring_deadline <= now)
            .map(|o| o.agent.clone())
            .collect();
        for agent in due {
            self.cancel_offer(&agent).await;
            if !self.offers.iter().any(|o| !o.cancelled)
                && matches!(self.s.plan, super::Plan::Forward { .. })
            {
                self.fail_a(480).await;
            }
        }
    }

    pub(super) async fn cancel_offer(&mut self, agent: &str) {
        let Some(i) = self
            .offers
            .iter()
            .position(|o| o.agent == agent && !o.cancelled)
        else {
            return;
        };
        let o = &mut self.offers[i];
        o.cancelled = true;
        let cancel = sip::transaction::make_cancel(&o.invite);
        let to = o.dest.peer;
        self.send(CoreCmd::SendRequest {
            call: self.s.call,
            req: cancel,
            to,
        })
        .await;
        // Keep the leg: its 487 (or a 200 that crossed our CANCEL) still has to come.
        let o = self.offers.remove(i);
        self.old_b.push(o);
    }

    pub(super) async fn cancel_all_offers(&mut self) {
        let agents: Vec<String> = self
            .offers
            .iter()
            .filter(|o| !o.cancelled)
            .map(|o| o.agent.clone())
            .collect();
        for a in agents {
            self.cancel_offer(&a).await;
        }
    }

    pub(super) async fn on_leg_timeout(&mut self, branch: String) {
        self.pending_byes.retain(|b| b != &branch);
        self.old_b.retain(|o| o.branch != branch);
        if let Some(i) = self.offers.iter().position(|o| o.branch == branch) {
            let o = self.offers.remove(i);
            self.leg_failed(o).await;
        }
    }

    /// An offered leg failed (4xx–6xx or no answer): the ACD offers the next agent.
    async fn leg_failed(&mut self, o: BLeg) {
        if o.from_acd {
            if let Some(entry) = self.entry {
                self.tell_queue(QueueCmd::Rejected {
                    entry,
                    agent: o.agent.clone(),
                })
                .await;
            }
        } else if self.phase == Phase::Waiting && self.offers.is_empty() {
            self.fail_a(480).await;
        }
    }

    pub(super) async fn on_response(&mut self, branch: String, resp: Response) {
        let method = resp.cseq().map(|c| c.method);
        if method == Some(Method::Bye) {
            self.pending_byes.retain(|b| b != &branch);
            return;
        }
        if method != Some(Method::Invite) {
            return;
        }
        // A retransmitted 2xx of the connected leg: our ACK was lost (§13.2.2.4).
        if let Some(b) = self.b.as_ref().filter(|b| b.branch == branch) {
            if resp.is_success() {
                if let Some(data) = b.ack.clone() {
                    let to = b.dest.peer;
                    self.send(CoreCmd::SendRaw { data, to }).await;
                }
            }
            return;
        }
        let Some(i) = self.offers.iter().position(|o| o.branch == branch) else {
            if resp.is_success() {
                self.ack_and_bye_stray(&branch, &resp).await;
            }
            if resp.status >= 200 {
                self.old_b.retain(|o| o.branch != branch);
            }
            return;
        };
        match resp.status {
            100 => {}
            101..=199 => self.on_ringing(&resp).await,
            200..=299 => self.on_answer(i, resp).await,
            _ => {
                tracing::info!(call = self.s.call.0, agent = %self.offers[i].agent, status = resp.status, "leg refused");
                let o = self.offers.remove(i);
                self.leg_failed(o).await;
            }
        }
    }

    /// Ringing at the operator: the unanswered caller hears it too (hunt-group mode).
    async fn on_ringing(&mut self, resp: &Response) {
        if self.a_answered || self.a_ringing_sent {
            return;
        }
        if !resp.body.is_empty() && self.media.on_b_answer(&resp.body).is_ok() {
            // Early media (RFC 3960): the caller hears what the operator's side plays.
            let sdp = self.media.answer_for_a();
            self.respond_a(183, Some(sdp)).await;
        } else {
            self.respond_a(180, None).await;
        }
        self.a_ringing_sent = true;
    }

    async fn on_answer(&mut self, i: usize, resp: Response) {
        let mut o = self.offers.remove(i);
        let to = o.dest.peer;
        o.dialog = Dialog::uac(&o.invite, &resp).ok();
        o.ack = o
            .dialog
            .as_ref()
            .map(|d| d.make_ack(1, &build::via_for(&to)).to_bytes());
        if let Some(data) = o.ack.clone() {
            self.send(CoreCmd::SendRaw { data, to }).await;
        }
        if self.phase != Phase::Waiting || self.b.is_some() {
            // Someone else answered first, or the caller is gone: take this one down.
            self.bye_leg(&mut o).await;
            return;
        }
        if let Err(e) = self.media.on_b_answer(&resp.body) {
            tracing::warn!(call = self.s.call.0, error = %e, "the answer's SDP is unusable");
            self.bye_leg(&mut o).await;
            self.leg_failed(o).await;
            return;
        }
        self.stop_playback();
        if !self.a_answered {
            self.answer_a().await;
        }
        if o.from_acd {
            if let Some(entry) = self.entry.take() {
                self.tell_queue(QueueCmd::Answered {
                    entry,
                    agent: o.agent.clone(),
                })
                .await;
            }
        }
        tracing::info!(call = self.s.call.0, agent = %o.agent, "answered");
        if let Some(r) = &self.recording {
            if let Err(e) = r.add_operator(&o.agent) {
                tracing::warn!(call = self.s.call.0, error = %e, "operator not noted on the recording");
            }
        }
        self.b = Some(o);
        self.phase = Phase::Connected;
        self.outcome = "answered";
    }

    pub(super) async fn bye_b(&mut self) {
        if let Some(mut b) = self.b.take() {
            self.bye_leg(&mut b).await;
            self.b = Some(b);
        }
    }

    async fn bye_leg(&mut self, b: &mut BLeg) {
        let Some(d) = b.dialog.as_mut() else { return };
        let flow = b.dest.peer;
        let req = d.new_request(
            Method::Bye,
            &build::contact_for(&flow),
            &build::via_for(&flow),
        );
        self.pending_byes.push(
            req.top_via()
                .and_then(|v| v.branch().map(str::to_string))
                .unwrap_or_default(),
        );
        // The operator's phone is reached along its registration flow (NAT-safe).
        self.send(CoreCmd::SendRequest {
            call: self.s.call,
            req,
            to: flow,
        })
        .await;
    }

    pub(super) async fn bye_a(&mut self) {
        let flow = self.s.from;
        let Some(d) = self.a_dialog.as_mut() else {
            return;
        };
        let to = peer_for_target(d.next_hop(), &flow);
        let req = d.new_request(
            Method::Bye,
            &build::contact_for(&flow),
            &build::via_for(&flow),
        );
        self.pending_byes.push(
            req.top_via()
                .and_then(|v| v.branch().map(str::to_string))
                .unwrap_or_default(),
        );
        self.send(CoreCmd::SendRequest {
            call: self.s.call,
            req,
            to,
        })
        .await;
    }

    async fn ack_and_bye_stray(&mut self, branch: &str, resp: &Response) {
        let Some(old) = self.old_b.iter().find(|o| o.branch == branch) else {
            return;
        };
        let Ok(mut d) = Dialog::uac(&old.invite, resp) else {
            return;
        };
        let flow = old.dest.peer;
        self.send(CoreCmd::SendRaw {
            data: d.make_ack(1, &build::via_for(&flow)).to_bytes(),
            to: flow,
        })
        .await;
        let bye = d.new_request(
            Method::Bye,
            &build::contact_for(&flow),
            &build::via_for(&flow),
        );
        self.send(CoreCmd::SendRequest {
            call: self.s.call,
            req: bye,
            to: flow,
        })
        .await;
    }
}
