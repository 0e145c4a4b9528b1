//! One inbound call: a task that owns both legs (the caller on a trunk, "A", and the
//! operator, "B"), the media relay between them, and every decision about the call
//! (DESIGN §2: one owner per call; everyone else talks to it by message).
//!
//! The flow is the classic B2BUA one: answer nothing until an operator answers; ring
//! the configured destinations one after the other (486/480/408/603 or a ring timeout
//! → the next one); pass ringing and early media back to the caller; on answer, ACK the
//! operator and send 200 to the caller; relay RTP; end both legs when either hangs up.

mod build;
mod media_glue;

use crate::event::{CallEvent, CallRef, CoreCmd, Destination};
use crate::Shared;
use build::{a_response, outbound_invite, peer_for_target};
use media_glue::Media;
use sip::dialog::Dialog;
use sip::transaction::{new_branch, ServerTxId};
use sip::{Method, Peer, Request, Response, SipHeaders};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use build::e164;

pub struct CallSetup {
    pub call: CallRef,
    pub tx: ServerTxId,
    pub invite: Request,
    pub from: Peer,
    pub number: dialplan::Number,
    pub destinations: Vec<Destination>,
    pub ring_timeout: Duration,
    pub shared: Arc<Shared>,
    pub core: mpsc::Sender<CoreCmd>,
}

/// The operator's leg while it is being placed and after it answers.
struct BLeg {
    dest: Destination,
    invite: Request,
    branch: String,
    dialog: Option<Dialog>,
    /// The ACK we sent for its 2xx, re-sent for each retransmitted 2xx (§13.2.2.4).
    ack: Option<bytes::Bytes>,
    cancelled: bool,
    ring_deadline: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Routing,
    Connected,
    Ending,
}

struct Call {
    s: CallSetup,
    a_tag: String,
    a_dialog: Option<Dialog>,
    a_final_sent: bool,
    a_ringing_sent: bool,
    a_acked: bool,
    b: Option<BLeg>,
    /// Operator legs we gave up on; a late 2xx from one of them is ACKed and hung up.
    old_b: Vec<BLeg>,
    remaining: VecDeque<Destination>,
    media: Media,
    phase: Phase,
    outcome: &'static str,
    /// Branches of BYEs we sent and still wait for (the call ends when none is left).
    pending_byes: Vec<String>,
    end_deadline: Option<Instant>,
}

/// Run the call to its end, then tell the core.
pub async fn run(setup: CallSetup, mut rx: mpsc::Receiver<CallEvent>) {
    let media = match Media::start(&setup) {
        Ok(m) => m,
        Err(status) => {
            let tag = sip::dialog::new_tag();
            let resp = a_response(&setup.invite, status, &tag, setup.from.local, None);
            let _ = setup.core.send(CoreCmd::Respond { tx: setup.tx, resp }).await;
            let _ = setup
                .core
                .send(CoreCmd::Ended { call: setup.call, outcome: "rejected", relayed_packets: 0 })
                .await;
            return;
        }
    };
    let remaining = setup.destinations.iter().cloned().collect();
    let mut c = Call {
        a_tag: sip::dialog::new_tag(),
        s: setup,
        a_dialog: None,
        a_final_sent: false,
        a_ringing_sent: false,
        a_acked: false,
        b: None,
        old_b: Vec::new(),
        remaining,
        media,
        phase: Phase::Routing,
        outcome: "unanswered",
        pending_byes: Vec::new(),
        end_deadline: None,
    };
    c.try_next().await;
    while !c.finished() {
        let ring = c.b.as_ref().filter(|b| b.dialog.is_none() && !b.cancelled).map(|b| b.ring_deadline);
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => c.on_event(ev).await,
                None => break,
            },
            _ = sleep_opt(ring) => c.on_ring_timeout().await,
            _ = sleep_opt(c.end_deadline) => break,
        }
    }
    let relayed = c.media.stop().await;
    let _ = c
        .s
        .core
        .send(CoreCmd::Ended { call: c.s.call, outcome: c.outcome, relayed_packets: relayed })
        .await;
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Call {
    fn finished(&self) -> bool {
        let cancel_pending = self.b.as_ref().is_some_and(|b| b.cancelled && b.dialog.is_none());
        self.phase == Phase::Ending && self.pending_byes.is_empty() && !cancel_pending
    }

    async fn send(&self, cmd: CoreCmd) {
        let _ = self.s.core.send(cmd).await;
    }

    async fn respond_a(&mut self, status: u16, sdp: Option<String>) {
        if self.a_final_sent {
            return;
        }
        let resp = a_response(&self.s.invite, status, &self.a_tag, self.s.from.local, sdp.as_deref());
        if status >= 200 {
            self.a_final_sent = true;
        }
        if status == 200 {
            // The transaction layer retransmits the 2xx until the ACK (§13.3.1.4).
            self.a_dialog = Dialog::uas(&self.s.invite, &self.a_tag).ok();
            if let Some(cid) = self.s.invite.call_id() {
                self.send(CoreCmd::BindDialog { call: self.s.call, call_id: cid.to_string(), local_tag: self.a_tag.clone() })
                    .await;
            }
        }
        self.send(CoreCmd::Respond { tx: self.s.tx, resp }).await;
    }

    /// Ring the next destination, or give up with 480 when there is none.
    async fn try_next(&mut self) {
        if self.phase != Phase::Routing || self.a_final_sent {
            return;
        }
        let Some(dest) = self.remaining.pop_front() else {
            tracing::info!(call = self.s.call.0, "no operator answered");
            self.respond_a(480, None).await;
            self.phase = Phase::Ending;
            return;
        };
        let branch = new_branch();
        let b_tag = sip::dialog::new_tag();
        let call_id = format!("{}@madoguchi", sip::dialog::new_tag());
        let sdp = self.media.offer_for_b(dest.peer.local.ip());
        let invite = outbound_invite(
            &self.s.invite,
            &self.s.number,
            &dest,
            &self.s.shared.cfg.sip.domain,
            &b_tag,
            &call_id,
            &branch,
            sdp,
        );
        tracing::info!(call = self.s.call.0, agent = %dest.label, to = %dest.peer.remote, "ringing operator");
        self.send(CoreCmd::BindDialog { call: self.s.call, call_id, local_tag: b_tag }).await;
        self.send(CoreCmd::SendRequest { call: self.s.call, req: invite.clone(), to: dest.peer }).await;
        self.b = Some(BLeg {
            dest,
            invite,
            branch,
            dialog: None,
            ack: None,
            cancelled: false,
            ring_deadline: Instant::now() + self.s.ring_timeout,
        });
    }

    async fn on_ring_timeout(&mut self) {
        tracing::info!(call = self.s.call.0, "operator did not answer in time");
        self.cancel_b().await;
        // Don't wait for the 487: ring the next operator now, and keep the old leg to
        // take down an answer that crosses our CANCEL.
        if let Some(old) = self.b.take() {
            self.old_b.push(old);
        }
        self.try_next().await;
    }

    async fn cancel_b(&mut self) {
        if let Some(b) = self.b.as_mut() {
            if b.dialog.is_none() && !b.cancelled {
                b.cancelled = true;
                let cancel = sip::transaction::make_cancel(&b.invite);
                let to = b.dest.peer;
                self.send(CoreCmd::SendRequest { call: self.s.call, req: cancel, to }).await;
            }
        }
    }

    async fn on_event(&mut self, ev: CallEvent) {
        match ev {
            CallEvent::Response { branch, resp } => self.on_response(branch, resp).await,
            CallEvent::Timeout { branch } => {
                if self.b.as_ref().is_some_and(|b| b.branch == branch && b.dialog.is_none()) {
                    if let Some(old) = self.b.take() {
                        self.old_b.push(old);
                    }
                    self.try_next().await;
                } else {
                    self.pending_byes.retain(|b| b != &branch);
                }
            }
            CallEvent::Request { tx, req, from } => self.on_request(tx, req, from).await,
            CallEvent::Ack => self.a_acked = true,
            CallEvent::NoAck => {
                tracing::warn!(call = self.s.call.0, "no ACK for our 200: ending the call (§13.3.1.4)");
                self.hang_up_all().await;
            }
            CallEvent::Cancelled => {
                // The caller gave up while we were ringing (§9.2): 487 to the caller,
                // CANCEL to the operator.
                if !self.a_final_sent {
                    self.respond_a(487, None).await;
                }
                self.outcome = "abandoned";
                self.cancel_b().await;
                self.phase = Phase::Ending;
                self.arm_end_deadline();
            }
            CallEvent::Shutdown => self.hang_up_all().await,
        }
    }

    fn arm_end_deadline(&mut self) {
        if self.end_deadline.is_none() {
            self.end_deadline = Some(Instant::now() + Duration::from_secs(8));
        }
    }

    async fn on_response(&mut self, branch: String, resp: Response) {
        let method = resp.cseq().map(|c| c.method);
        if method == Some(Method::Bye) || method == Some(Method::Cancel) {
            if method == Some(Method::Bye) {
                self.pending_byes.retain(|b| b != &branch);
            }
            return;
        }
        if method != Some(Method::Invite) {
            return;
        }
        let Some(b) = self.b.as_mut() else { return };
        if b.branch != branch {
            // A late answer from an operator we already moved on from: take it down.
            if resp.is_success() {
                self.ack_and_bye_stray(&branch, &resp).await;
            }
            return;
        }
        match resp.status {
            100 => {}
            101..=199 => {
                let early_sdp = (!resp.body.is_empty()).then(|| self.media.on_b_answer(&resp.body));
                match early_sdp {
                    Some(Ok(())) => {
                        // Early media (RFC 3960): the caller hears what the operator side plays.
                        let sdp = self.media.answer_for_a();
                        self.respond_a(183, Some(sdp)).await;
                        self.a_ringing_sent = true;
                    }
                    _ if !self.a_ringing_sent => {
                        self.respond_a(180, None).await;
                        self.a_ringing_sent = true;
                    }
                    _ => {}
                }
            }
            200..=299 => {
                let to = b.dest.peer;
                if b.dialog.is_some() {
                    // A retransmitted 2xx: our ACK was lost; send it again (§13.2.2.4).
                    if let Some(data) = b.ack.clone() {
                        self.send(CoreCmd::SendRaw { data, to }).await;
                    }
                    return;
                }
                let dialog = Dialog::uac(&b.invite, &resp).ok();
                b.ack = dialog.as_ref().map(|d| d.make_ack(1, &build::via_for(&to)).to_bytes());
                if let Some(data) = b.ack.clone() {
                    self.send(CoreCmd::SendRaw { data, to }).await;
                }
                let b = self.b.as_mut().expect("b leg");
                b.dialog = dialog;
                if b.cancelled || self.phase != Phase::Routing {
                    // Answered after we cancelled (the CANCEL crossed the 200): hang up.
                    self.bye_b().await;
                    return;
                }
                if let Err(e) = self.media.on_b_answer(&resp.body) {
                    tracing::warn!(call = self.s.call.0, error = %e, "operator's answer SDP unusable");
                    self.bye_b().await;
                    self.b = None;
                    self.try_next().await;
                    return;
                }
                let sdp = self.media.answer_for_a();
                self.respond_a(200, Some(sdp)).await;
                self.phase = Phase::Connected;
                self.outcome = "answered";
                tracing::info!(call = self.s.call.0, agent = %self.b.as_ref().map(|b| b.dest.label.as_str()).unwrap_or("-"), "answered");
            }
            _ => {
                tracing::info!(call = self.s.call.0, status = resp.status, "operator leg failed");
                self.b = None;
                if self.phase == Phase::Routing {
                    self.try_next().await;
                }
            }
        }
    }

    async fn on_request(&mut self, tx: ServerTxId, req: Request, from: Peer) {
        let from_a = req.call_id() == self.s.invite.call_id();
        match req.method {
            Method::Bye => {
                let resp = Response::to_request(&req, 200, None);
                self.send(CoreCmd::Respond { tx, resp }).await;
                if from_a {
                    if self.phase == Phase::Routing {
                        self.outcome = "abandoned";
                        self.cancel_b().await;
                    } else {
                        self.bye_b().await;
                    }
                } else {
                    self.bye_a().await;
                }
                self.phase = Phase::Ending;
                self.arm_end_deadline();
            }
            Method::Invite => {
                // re-INVITE: hold/resume or a new address (target refresh, §12.2.2, §14.2).
                let leg_a = from_a;
                let result = self.media.on_reoffer(leg_a, &req.body);
                let resp = match result {
                    Ok(sdp) => {
                        let mut r = Response::to_request(&req, 200, None);
                        let contact = if leg_a { self.s.from.local } else { from.local };
                        r.headers.push("Contact", format!("<sip:madoguchi@{}>", build::host_port(contact)));
                        r.headers.push("Content-Type", "application/sdp");
                        r.body = bytes::Bytes::from(sdp);
                        if leg_a {
                            if let Some(d) = self.a_dialog.as_mut() {
                                d.on_target_refresh(&req);
                            }
                        } else if let Some(d) = self.b.as_mut().and_then(|b| b.dialog.as_mut()) {
                            d.on_target_refresh(&req);
                        }
                        r
                    }
                    Err(_) => Response::to_request(&req, 488, None),
                };
                self.send(CoreCmd::Respond { tx, resp }).await;
            }
            Method::Ack => {}
            Method::Info | Method::Options | Method::Update | Method::Notify => {
                let resp = Response::to_request(&req, 200, None);
                self.send(CoreCmd::Respond { tx, resp }).await;
            }
            _ => {
                let resp = Response::to_request(&req, 501, None);
                self.send(CoreCmd::Respond { tx, resp }).await;
            }
        }
    }

    async fn bye_b(&mut self) {
        let Some(b) = self.b.as_mut() else { return };
        let Some(d) = b.dialog.as_mut() else { return };
        let flow = b.dest.peer;
        let req = d.new_request(Method::Bye, &build::contact_for(&flow), &build::via_for(&flow));
        self.pending_byes.push(req.top_via().and_then(|v| v.branch().map(str::to_string)).unwrap_or_default());
        // The operator's phone is reached along its registration flow (NAT-safe).
        self.send(CoreCmd::SendRequest { call: self.s.call, req, to: flow }).await;
    }

    async fn bye_a(&mut self) {
        let flow = self.s.from;
        let Some(d) = self.a_dialog.as_mut() else { return };
        let to = peer_for_target(d.next_hop(), &flow);
        let req = d.new_request(Method::Bye, &build::contact_for(&flow), &build::via_for(&flow));
        self.pending_byes.push(req.top_via().and_then(|v| v.branch().map(str::to_string)).unwrap_or_default());
        self.send(CoreCmd::SendRequest { call: self.s.call, req, to }).await;
    }

    async fn ack_and_bye_stray(&mut self, branch: &str, resp: &Response) {
        let Some(old) = self.old_b.iter().find(|o| o.branch == branch) else { return };
        let Ok(mut d) = Dialog::uac(&old.invite, resp) else { return };
        let flow = old.dest.peer;
        self.send(CoreCmd::SendRaw { data: d.make_ack(1, &build::via_for(&flow)).to_bytes(), to: flow }).await;
        let bye = d.new_request(Method::Bye, &build::contact_for(&flow), &build::via_for(&flow));
        self.send(CoreCmd::SendRequest { call: self.s.call, req: bye, to: flow }).await;
    }

    /// End everything now (shutdown, or a 2xx never acknowledged).
    async fn hang_up_all(&mut self) {
        match self.phase {
            Phase::Routing => {
                if !self.a_final_sent {
                    self.respond_a(503, None).await;
                }
                self.cancel_b().await;
            }
            Phase::Connected => {
                self.bye_a().await;
                self.bye_b().await;
            }
            Phase::Ending => {}
        }
        self.phase = Phase::Ending;
        self.arm_end_deadline();
    }
}
