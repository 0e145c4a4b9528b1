//! One inbound call: a task that owns both legs (the caller on a trunk, "A", and the
//! operator or department, "B"), the media relay between them, and every decision about
//! the call (DESIGN §2: one owner per call; everyone else talks to it by message).
//!
//! Two plans: `Queue` (answer, play the greeting and recording notice, wait in the ACD
//! with music and please-wait announcements, ring the agents the ACD offers, bridge the
//! first that answers) and `Forward` (announce, then connect to a fixed destination such
//! as the guard room after hours). A queue with no greeting is a plain hunt group: the
//! caller hears ringing (180/183) and is answered only when an operator answers.

pub(crate) mod build;
pub mod callback;
mod legs;
mod media_glue;
mod waiting;

use crate::event::{CallEvent, CallRef, CoreCmd, Destination};
use crate::queue::QueueCmd;
use crate::Shared;
use acd::EntryId;
use build::a_response;
use media_glue::Media;
use sip::dialog::Dialog;
use sip::transaction::ServerTxId;
use sip::{Method, Peer, Request, Response, SipHeaders};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use build::{e164, host_port};

/// What to do with the call.
#[derive(Clone, Debug)]
pub enum Plan {
    Queue {
        queue: String,
        priority: u8,
        greeting: Vec<String>,
        hold_music: String,
    },
    Forward {
        announce: Option<String>,
        dest: Option<Destination>,
    },
}

pub struct CallSetup {
    pub call: CallRef,
    pub tx: ServerTxId,
    pub invite: Request,
    pub from: Peer,
    pub number: dialplan::Number,
    pub plan: Plan,
    pub shared: Arc<Shared>,
    pub core: mpsc::Sender<CoreCmd>,
    pub queue: mpsc::Sender<QueueCmd>,
    /// Our own inbox, handed to the queue task so it can reach us.
    pub events: mpsc::Sender<CallEvent>,
}

/// An outbound leg (to an operator or a department) while it rings and after it answers.
pub(crate) struct BLeg {
    /// The ACD agent id, or the destination label for a forward.
    agent: String,
    from_acd: bool,
    dest: Destination,
    invite: Request,
    branch: String,
    dialog: Option<Dialog>,
    /// The ACK we sent for its 2xx, re-sent for each retransmitted 2xx (§13.2.2.4).
    ack: Option<bytes::Bytes>,
    cancelled: bool,
    /// Safety net: the ACD withdraws offers itself, but a forward has no ACD.
    ring_deadline: Instant,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Announcements, queueing, ringing.
    Waiting,
    Connected,
    Ending,
}

/// What happens when the current prompt ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AfterPlay {
    Enqueue,
    HoldMusic,
    Forward,
    HangUp,
}

pub(crate) struct Call {
    s: CallSetup,
    a_tag: String,
    a_dialog: Option<Dialog>,
    a_final_sent: bool,
    a_answered: bool,
    a_ringing_sent: bool,
    entry: Option<EntryId>,
    offers: Vec<BLeg>,
    b: Option<BLeg>,
    /// Legs we gave up on; a late 2xx from one of them is ACKed and hung up.
    old_b: Vec<BLeg>,
    media: Media,
    phase: Phase,
    outcome: &'static str,
    /// Branches of BYEs we sent and still wait for (the call ends when none is left).
    pending_byes: Vec<String>,
    end_deadline: Option<Instant>,
    playing: Option<(Option<media::PlaybackHandle>, Instant, AfterPlay)>,
    /// The recording of this call, from the moment the caller is answered.
    recording: Option<recorder::RecordingHandle>,
}

/// Run the call to its end, then tell the core.
pub async fn run(setup: CallSetup, mut rx: mpsc::Receiver<CallEvent>) {
    let media = match Media::start(&setup) {
        Ok(m) => m,
        Err(status) => {
            let tag = sip::dialog::new_tag();
            let resp = a_response(&setup.invite, status, &tag, setup.from.local, None);
            let _ = setup
                .core
                .send(CoreCmd::Respond { tx: setup.tx, resp })
                .await;
            let _ = setup
                .core
                .send(CoreCmd::Ended {
                    call: setup.call,
                    outcome: "rejected",
                    relayed_packets: 0,
                })
                .await;
            return;
        }
    };
    let mut c = Call {
        a_tag: sip::dialog::new_tag(),
        s: setup,
        a_dialog: None,
        a_final_sent: false,
        a_answered: false,
        a_ringing_sent: false,
        entry: None,
        offers: Vec::new(),
        b: None,
        old_b: Vec::new(),
        media,
        phase: Phase::Waiting,
        outcome: "unanswered",
        pending_byes: Vec::new(),
        end_deadline: None,
        playing: None,
        recording: None,
    };
    c.begin().await;
    while !c.finished() {
        let ring = c
            .offers
            .iter()
            .filter(|o| !o.cancelled)
            .map(|o| o.ring_deadline)
            .min();
        let play_end = c.playing.as_ref().map(|p| p.1);
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => c.on_event(ev).await,
                None => break,
            },
            _ = sleep_opt(ring) => c.on_ring_deadline().await,
            _ = sleep_opt(play_end) => c.on_playback_end().await,
            _ = sleep_opt(c.end_deadline) => break,
            Some(d) = c.media.dtmf.recv() => c.on_digit(d).await,
        }
    }
    c.leave_queue().await;
    let relayed = c.media.stop().await;
    // The relay is gone, so the tap is closed: the writer drains and seals the file.
    if let Some(h) = c.recording.take() {
        match h.finish().await {
            Ok(info) => {
                tracing::info!(call = c.s.call.0, path = %info.path, ms = info.duration_ms, "recording complete")
            }
            Err(e) => {
                tracing::error!(call = c.s.call.0, error = %e, "recording not finished cleanly")
            }
        }
    }
    let _ =
        c.s.core
            .send(CoreCmd::Ended {
                call: c.s.call,
                outcome: c.outcome,
                relayed_packets: relayed,
            })
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
        // Cancelled legs wait in `old_b` for their 487 (or a crossing 200 to take down).
        self.phase == Phase::Ending && self.pending_byes.is_empty() && self.old_b.is_empty()
    }

    async fn send(&self, cmd: CoreCmd) {
        let _ = self.s.core.send(cmd).await;
    }

    async fn tell_queue(&self, cmd: QueueCmd) {
        let _ = self.s.queue.send(cmd).await;
    }

    async fn begin(&mut self) {
        match self.s.plan.clone() {
            Plan::Queue { greeting, .. } if !greeting.is_empty() => {
                // Answer first: the announcements are part of the call (and its recording).
                self.answer_a().await;
                self.play(&greeting, AfterPlay::Enqueue);
            }
            Plan::Queue { .. } => self.enqueue().await,
            Plan::Forward {
                announce: Some(a), ..
            } => {
                self.answer_a().await;
                self.play(&[a], AfterPlay::Forward);
            }
            Plan::Forward { announce: None, .. } => self.forward().await,
        }
    }

    /// Refuse the caller (before an answer) or hang up (after one).
    async fn fail_a(&mut self, status: u16) {
        if self.a_answered {
            self.bye_a().await;
        } else {
            self.respond_a(status, None).await;
        }
        self.phase = Phase::Ending;
        self.arm_end_deadline();
    }

    async fn answer_a(&mut self) {
        let sdp = self.media.answer_for_a();
        self.respond_a(200, Some(sdp)).await;
    }

    async fn respond_a(&mut self, status: u16, sdp: Option<String>) {
        if self.a_final_sent {
            return;
        }
        let resp = a_response(
            &self.s.invite,
            status,
            &self.a_tag,
            self.s.from.local,
            sdp.as_deref(),
        );
        if status >= 200 {
            self.a_final_sent = true;
        }
        if status == 200 {
            // The transaction layer retransmits the 2xx until the ACK (§13.3.1.4).
            self.a_answered = true;
            self.start_recording();
            self.a_dialog = Dialog::uas(&self.s.invite, &self.a_tag).ok();
            if let Some(cid) = self.s.invite.call_id() {
                self.send(CoreCmd::BindDialog {
                    call: self.s.call,
                    call_id: cid.to_string(),
                    local_tag: self.a_tag.clone(),
                })
                .await;
            }
        }
        self.send(CoreCmd::Respond {
            tx: self.s.tx,
            resp,
        })
        .await;
    }

    /// Every call is recorded from the moment it is answered (spec 第2-7 ⑶ イ).
    fn start_recording(&mut self) {
        let sip_id = self.s.invite.call_id().unwrap_or("");
        let id: String = format!("c{}-{sip_id}", self.s.call.0)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(96)
            .collect();
        let caller = self
            .s
            .invite
            .from_hdr()
            .and_then(|f| f.uri.user())
            .unwrap_or_default();
        if let Some((tap, handle)) =
            crate::recording::begin(&self.s.shared.recorder, &id, &self.s.number.number, &caller)
        {
            self.media.set_tap(tap);
            self.recording = Some(handle);
        }
    }

    async fn forward(&mut self) {
        let Plan::Forward { dest, .. } = self.s.plan.clone() else {
            return;
        };
        match dest {
            Some(d) => {
                let label = d.label.clone();
                self.place(label, false, d, Duration::from_secs(60)).await;
            }
            None => self.fail_a(480).await,
        }
    }

    async fn on_event(&mut self, ev: CallEvent) {
        match ev {
            CallEvent::Response { branch, resp } => self.on_response(branch, resp).await,
            CallEvent::Timeout { branch } => self.on_leg_timeout(branch).await,
            CallEvent::Request { tx, req, from } => self.on_request(tx, req, from).await,
            CallEvent::Ack => {}
            CallEvent::NoAck => {
                tracing::warn!(
                    call = self.s.call.0,
                    "no ACK for our 200: ending the call (§13.3.1.4)"
                );
                self.hang_up_all().await;
            }
            CallEvent::Cancelled => {
                // The caller gave up before we answered (§9.2).
                self.respond_a(487, None).await;
                self.outcome = "abandoned";
                self.cancel_all_offers().await;
                self.phase = Phase::Ending;
                self.arm_end_deadline();
            }
            CallEvent::Shutdown => self.hang_up_all().await,
            CallEvent::Offer {
                entry,
                agent,
                ring_timeout,
            } => {
                if self.phase != Phase::Waiting || self.entry != Some(entry) {
                    self.tell_queue(QueueCmd::Rejected { entry, agent }).await;
                    return;
                }
                match self.s.shared.destination_of(&agent) {
                    Some(dest) => {
                        self.place(agent, true, dest, ring_timeout + Duration::from_secs(5))
                            .await
                    }
                    None => self.tell_queue(QueueCmd::Rejected { entry, agent }).await,
                }
            }
            CallEvent::CancelOffer { agent } => self.cancel_offer(&agent).await,
            CallEvent::Announce {
                position,
                expected_wait,
            } => {
                if self.phase == Phase::Waiting
                    && self.a_answered
                    && self
                        .playing
                        .as_ref()
                        .is_none_or(|p| p.2 == AfterPlay::HoldMusic)
                {
                    let mut names = crate::announce::please_wait_announcement(
                        Some(position as u32),
                        expected_wait,
                    );
                    names.push(crate::announce::CALLBACK_OFFER.to_string());
                    self.play(&names, AfterPlay::HoldMusic);
                }
            }
            CallEvent::Overflow { to } => {
                tracing::info!(call = self.s.call.0, %to, "overflow");
                self.entry = None;
                self.outcome = "overflowed";
                self.cancel_all_offers().await;
                if to == "callback" {
                    // Offer the callback key; the caller stays on the line meanwhile.
                    self.play(
                        &[crate::announce::CALLBACK_OFFER.to_string()],
                        AfterPlay::HangUp,
                    );
                } else {
                    // "after-hours": the message, then the guard room (like after hours).
                    let dept = self
                        .s
                        .shared
                        .cfg
                        .department(&self.s.shared.cfg.hours.after_hours_target)
                        .cloned();
                    let dest = dept.and_then(|d| self.s.shared.department_destination(&d));
                    self.s.plan = Plan::Forward {
                        announce: None,
                        dest,
                    };
                    self.play(
                        &[crate::announce::AFTER_HOURS.to_string()],
                        AfterPlay::Forward,
                    );
                }
            }
        }
    }

    fn arm_end_deadline(&mut self) {
        if self.end_deadline.is_none() {
            self.end_deadline = Some(Instant::now() + Duration::from_secs(8));
        }
    }

    async fn on_request(&mut self, tx: ServerTxId, req: Request, from: Peer) {
        let from_a = req.call_id() == self.s.invite.call_id();
        match req.method {
            Method::Bye => {
                self.send(CoreCmd::Respond {
                    tx,
                    resp: Response::to_request(&req, 200, None),
                })
                .await;
                if from_a {
                    if self.phase == Phase::Connected {
                        self.bye_b().await;
                        self.call_ended_for_queue().await;
                    } else {
                        self.outcome = "abandoned";
                        self.cancel_all_offers().await;
                    }
                } else {
                    self.bye_a().await;
                    self.call_ended_for_queue().await;
                }
                self.stop_playback();
                self.phase = Phase::Ending;
                self.arm_end_deadline();
            }
            Method::Invite => {
                // re-INVITE: hold/resume or a new address (target refresh, §12.2.2, §14.2).
                let resp = match self.media.on_reoffer(from_a, &req.body) {
                    Ok(sdp) => {
                        let mut r = Response::to_request(&req, 200, None);
                        let contact = if from_a {
                            self.s.from.local
                        } else {
                            from.local
                        };
                        r.headers.push(
                            "Contact",
                            format!("<sip:madoguchi@{}>", build::host_port(contact)),
                        );
                        r.headers.push("Content-Type", "application/sdp");
                        r.body = bytes::Bytes::from(sdp);
                        let dialog = if from_a {
                            self.a_dialog.as_mut()
                        } else {
                            self.b.as_mut().and_then(|b| b.dialog.as_mut())
                        };
                        if let Some(d) = dialog {
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
                self.send(CoreCmd::Respond {
                    tx,
                    resp: Response::to_request(&req, 200, None),
                })
                .await;
            }
            _ => {
                self.send(CoreCmd::Respond {
                    tx,
                    resp: Response::to_request(&req, 501, None),
                })
                .await
            }
        }
    }

    async fn call_ended_for_queue(&mut self) {
        if let Some(b) = &self.b {
            if b.from_acd {
                self.tell_queue(QueueCmd::CallEnded {
                    agent: b.agent.clone(),
                })
                .await;
            }
        }
    }

    /// End everything now (shutdown, or a 2xx never acknowledged).
    async fn hang_up_all(&mut self) {
        self.stop_playback();
        match self.phase {
            Phase::Waiting => {
                if self.a_answered {
                    self.bye_a().await;
                } else {
                    self.respond_a(503, None).await;
                }
                self.cancel_all_offers().await;
            }
            Phase::Connected => {
                self.bye_a().await;
                self.bye_b().await;
                self.call_ended_for_queue().await;
            }
            Phase::Ending => {}
        }
        self.phase = Phase::Ending;
        self.arm_end_deadline();
    }
}
