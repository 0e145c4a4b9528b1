//! A callback: the citizen pressed the callback key while waiting and hung up; the ACD kept
//! their place; now that an agent is free, this task rings the agent first and, once the
//! agent answers, calls the citizen through the carrier trunk and bridges the two. Both
//! legs are outbound, so this is a small task of its own beside `Call`.

use super::build::{self, host_port};
use crate::event::{CallEvent, CallRef, CoreCmd, Destination};
use crate::queue::QueueCmd;
use crate::Shared;
use acd::EntryId;
use media::sdp::{self, SessionDescription};
use media::{Codec, Leg, LegConfig, Relay, RelayHandle};
use sip::dialog::Dialog;
use sip::transaction::new_branch;
use sip::{Method, Request, Response, SipHeaders};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct CallbackSetup {
    pub call: CallRef,
    pub entry: EntryId,
    pub agent: String,
    pub number: String,
    pub shared: Arc<Shared>,
    pub core: mpsc::Sender<CoreCmd>,
    pub queue: mpsc::Sender<QueueCmd>,
}

struct Out {
    dest: Destination,
    invite: Request,
    branch: String,
    offer: SessionDescription,
    dialog: Option<Dialog>,
    ack: Option<bytes::Bytes>,
}

struct Callback {
    s: CallbackSetup,
    relay: Option<RelayHandle>,
    agent: Option<Out>,
    citizen: Option<Out>,
    agent_answered: bool,
    connected: bool,
    pending_byes: Vec<String>,
    done: bool,
    deadline: Instant,
    outcome: &'static str,
    recording: Option<recorder::RecordingHandle>,
}

const CODECS: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

pub async fn run(s: CallbackSetup, mut rx: mpsc::Receiver<CallEvent>) {
    let ports = (s.shared.ports.allocate(), s.shared.ports.allocate());
    let (Ok(a), Ok(b)) = ports else {
        let _ = s
            .queue
            .send(QueueCmd::Rejected {
                entry: s.entry,
                agent: s.agent.clone(),
            })
            .await;
        let _ = s
            .core
            .send(CoreCmd::Ended {
                call: s.call,
                outcome: "callback-failed",
                relayed_packets: 0,
            })
            .await;
        return;
    };
    let (a_port, b_port) = (a.rtp_port(), b.rtp_port());
    let idle = |c| LegConfig {
        remote: None,
        codec: c,
        telephone_event_pt: Some(sdp::TELEPHONE_EVENT_PT),
    };
    let relay = Relay::start(a, b, idle(Codec::Pcmu), idle(Codec::Pcmu));
    let mut c = Callback {
        relay: Some(relay),
        agent: None,
        citizen: None,
        agent_answered: false,
        connected: false,
        pending_byes: Vec::new(),
        done: false,
        deadline: Instant::now() + Duration::from_secs(40),
        outcome: "callback-failed",
        recording: None,
        s,
    };
    match c.s.shared.destination_of(&c.s.agent) {
        Some(dest) => {
            let disp = format!("折り返し {}", c.s.number);
            let user = c.s.number.clone();
            c.agent = Some(c.invite(dest, &disp, &user, b_port).await);
        }
        None => {
            c.reject_to_queue().await;
            c.done = true;
        }
    }
    while !(c.done && c.pending_byes.is_empty()) {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => c.on_event(ev, a_port).await,
                None => break,
            },
            _ = tokio::time::sleep_until(c.deadline) => {
                if c.connected { c.deadline = Instant::now() + Duration::from_secs(3600 * 4); continue; }
                tracing::info!(call = c.s.call.0, "callback not answered in time");
                c.hang_up().await;
                if c.done { break; }
                c.done = true;
                c.deadline = Instant::now() + Duration::from_secs(8);
            }
        }
    }
    let relayed = match c.relay.take() {
        Some(r) => {
            let st = r.stop().await;
            st.a.forwarded + st.b.forwarded
        }
        None => 0,
    };
    if let Some(h) = c.recording.take() {
        if let Err(e) = h.finish().await {
            tracing::error!(call = c.s.call.0, error = %e, "callback recording not finished cleanly");
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

impl Callback {
    async fn invite(
        &mut self,
        dest: Destination,
        display: &str,
        from_user: &str,
        port: u16,
    ) -> Out {
        let branch = new_branch();
        let tag = sip::dialog::new_tag();
        let call_id = format!("{}@madoguchi", sip::dialog::new_tag());
        let offer = sdp::offer(
            self.s.shared.media_ip,
            port,
            &CODECS,
            rand::random::<u32>() as u64,
            1,
        );
        let local = dest.peer.local;
        let mut r = Request::new(Method::Invite, dest.uri.clone());
        r.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                dest.peer.transport.via_token(),
                host_port(local)
            ),
        );
        r.headers.push("Max-Forwards", "70");
        r.headers.push(
            "From",
            format!(
                "\"{display}\" <sip:{from_user}@{}>;tag={tag}",
                self.s.shared.cfg.sip.domain
            ),
        );
        r.headers.push("To", format!("<{}>", dest.uri));
        r.headers.push("Call-ID", call_id.clone());
        r.headers.push("CSeq", "1 INVITE");
        r.headers
            .push("Contact", format!("<sip:madoguchi@{}>", host_port(local)));
        r.headers
            .push("X-Madoguchi-Callback", self.s.number.clone());
        r.headers.push("Content-Type", "application/sdp");
        r.body = bytes::Bytes::from(offer.to_string());
        let _ = self
            .s
            .core
            .send(CoreCmd::BindDialog {
                call: self.s.call,
                call_id,
                local_tag: tag,
            })
            .await;
        let _ = self
            .s
            .core
            .send(CoreCmd::SendRequest {
                call: self.s.call,
                req: r.clone(),
                to: dest.peer,
            })
            .await;
        Out {
            dest,
            invite: r,
            branch,
            offer,
            dialog: None,
            ack: None,
        }
    }

    async fn reject_to_queue(&mut self) {
        let _ = self
            .s
            .queue
            .send(QueueCmd::Rejected {
                entry: self.s.entry,
                agent: self.s.agent.clone(),
            })
            .await;
    }

    async fn on_event(&mut self, ev: CallEvent, a_port: u16) {
        match ev {
            CallEvent::Response { branch, resp } => self.on_response(branch, resp, a_port).await,
            CallEvent::Timeout { branch } => {
                self.pending_byes.retain(|b| *b != branch);
                if self
                    .agent
                    .as_ref()
                    .is_some_and(|o| o.branch == branch && o.dialog.is_none())
                {
                    self.reject_to_queue().await;
                    self.done = true;
                } else if self
                    .citizen
                    .as_ref()
                    .is_some_and(|o| o.branch == branch && o.dialog.is_none())
                {
                    self.hang_up().await;
                }
            }
            CallEvent::Request { tx, req, .. } => {
                // A re-INVITE is not renegotiated on a callback (488 keeps the current media,
                // RFC 3261 §14.2); everything else in the dialog is simply acknowledged.
                let status = if req.method == Method::Invite {
                    488
                } else {
                    200
                };
                let resp = Response::to_request(&req, status, None);
                let _ = self.s.core.send(CoreCmd::Respond { tx, resp }).await;
                if req.method == Method::Bye {
                    let from_agent = self
                        .agent
                        .as_ref()
                        .and_then(|o| o.invite.call_id().map(str::to_string))
                        == req.call_id().map(str::to_string);
                    if from_agent {
                        self.agent = self.agent.take().map(|mut o| {
                            o.dialog = None;
                            o
                        });
                    } else {
                        self.citizen = self.citizen.take().map(|mut o| {
                            o.dialog = None;
                            o
                        });
                    }
                    self.hang_up().await;
                }
            }
            CallEvent::Shutdown | CallEvent::NoAck => self.hang_up().await,
            _ => {}
        }
    }

    async fn on_response(&mut self, branch: String, resp: Response, a_port: u16) {
        if resp.cseq().map(|c| c.method) == Some(Method::Bye) {
            self.pending_byes.retain(|b| *b != branch);
            return;
        }
        let is_agent = self.agent.as_ref().is_some_and(|o| o.branch == branch);
        let is_citizen = self.citizen.as_ref().is_some_and(|o| o.branch == branch);
        if !(is_agent || is_citizen) || resp.status < 200 {
            return;
        }
        let out = if is_agent {
            self.agent.as_mut()
        } else {
            self.citizen.as_mut()
        };
        let Some(o) = out else { return };
        if resp.is_success() {
            if o.dialog.is_some() {
                if let Some(data) = o.ack.clone() {
                    let _ = self
                        .s
                        .core
                        .send(CoreCmd::SendRaw {
                            data,
                            to: o.dest.peer,
                        })
                        .await;
                }
                return;
            }
            o.dialog = Dialog::uac(&o.invite, &resp).ok();
            o.ack = o
                .dialog
                .as_ref()
                .map(|d| d.make_ack(1, &build::via_for(&o.dest.peer)).to_bytes());
            if let Some(data) = o.ack.clone() {
                let _ = self
                    .s
                    .core
                    .send(CoreCmd::SendRaw {
                        data,
                        to: o.dest.peer,
                    })
                    .await;
            }
            let neg = std::str::from_utf8(&resp.body)
                .ok()
                .and_then(|t| SessionDescription::parse(t).ok())
                .and_then(|ans| sdp::negotiated_from_answer(&o.offer, &ans).ok());
            if let (Some(n), Some(r)) = (neg, &self.relay) {
                let leg = if is_agent { Leg::B } else { Leg::A };
                r.update_leg(
                    leg,
                    LegConfig {
                        remote: n.send_target(),
                        codec: n.codec,
                        telephone_event_pt: n.telephone_event_pt,
                    },
                );
            }
            if is_agent {
                self.agent_answered = true;
                let _ = self
                    .s
                    .queue
                    .send(QueueCmd::Answered {
                        entry: self.s.entry,
                        agent: self.s.agent.clone(),
                    })
                    .await;
                match self.s.shared.carrier_destination(&self.s.number) {
                    Some(dest) => {
                        let from = self
                            .s
                            .shared
                            .cfg
                            .numbers
                            .first()
                            .map(|n| build::e164(&n.number))
                            .unwrap_or_default();
                        let name = self
                            .s
                            .shared
                            .cfg
                            .numbers
                            .first()
                            .map(|n| n.name.clone())
                            .unwrap_or_default();
                        self.deadline = Instant::now() + Duration::from_secs(40);
                        self.citizen = Some(self.invite(dest, &name, &from, a_port).await);
                    }
                    None => self.hang_up().await,
                }
            } else {
                tracing::info!(call = self.s.call.0, number = %self.s.number, "callback connected");
                let number = self
                    .s
                    .shared
                    .cfg
                    .numbers
                    .first()
                    .map(|n| n.number.clone())
                    .unwrap_or_default();
                if let Some((tap, h)) = crate::recording::begin(
                    &self.s.shared.recorder,
                    &format!("c{}-callback", self.s.call.0),
                    &number,
                    &self.s.number,
                ) {
                    if let Some(r) = &self.relay {
                        r.set_tap(Some(tap));
                    }
                    let _ = h.add_operator(&self.s.agent);
                    self.recording = Some(h);
                }
                self.connected = true;
                self.outcome = "callback";
            }
        } else if is_agent {
            self.reject_to_queue().await;
            self.done = true;
        } else {
            tracing::info!(
                call = self.s.call.0,
                status = resp.status,
                "the citizen did not take the callback"
            );
            self.hang_up().await;
        }
    }

    /// End both legs (BYE where answered, CANCEL where ringing) and leave.
    async fn hang_up(&mut self) {
        for o in [self.agent.as_mut(), self.citizen.as_mut()]
            .into_iter()
            .flatten()
        {
            let to = o.dest.peer;
            match o.dialog.as_mut() {
                Some(d) => {
                    let bye =
                        d.new_request(Method::Bye, &build::contact_for(&to), &build::via_for(&to));
                    self.pending_byes.push(
                        bye.top_via()
                            .and_then(|v| v.branch().map(str::to_string))
                            .unwrap_or_default(),
                    );
                    let _ = self
                        .s
                        .core
                        .send(CoreCmd::SendRequest {
                            call: self.s.call,
                            req: bye,
                            to,
                        })
                        .await;
                    o.dialog = None;
                }
                None => {
                    let cancel = sip::transaction::make_cancel(&o.invite);
                    let _ = self
                        .s
                        .core
                        .send(CoreCmd::SendRequest {
                            call: self.s.call,
                            req: cancel,
                            to,
                        })
                        .await;
                }
            }
        }
        if self.agent_answered {
            let _ = self
                .s
                .queue
                .send(QueueCmd::CallEnded {
                    agent: self.s.agent.clone(),
                })
                .await;
            self.agent_answered = false;
        }
        self.done = true;
        self.deadline = Instant::now() + Duration::from_secs(8);
    }
}
