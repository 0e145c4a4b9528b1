//! Server transactions: INVITE (RFC 3261 §17.2.1, with the RFC 6026 Accepted state)
//! and non-INVITE (§17.2.2).
//!
//! One addition to §17: in Accepted the transaction also retransmits the 2xx until the
//! ACK arrives (the UAS core's duty in §13.3.1.4), so the TU needs no timers of its own.
//! As §13.3.1.4 says, this happens on reliable transports too, because the 2xx travels
//! end to end and a later hop may be UDP.

use super::key::{Ack2xxKey, ServerKey};
use super::timer::{Armed, Slot};
use super::{local_response, Action, Ctx, Peer, ServerTxId};
use crate::message::{Method, Request, Response, SipHeaders};
use bytes::Bytes;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE received, no response yet (§17.2.2).
    Trying,
    Proceeding,
    Completed,
    /// INVITE only: the ACK for our non-2xx arrived (§17.2.1).
    Confirmed,
    /// INVITE only: a 2xx was sent (RFC 6026 §7.1).
    Accepted,
    Terminated,
}

/// What to do with an ACK that matched this transaction.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AckVerdict {
    /// The ACK for our non-2xx, or a copy: the transaction eats it (§17.2.1).
    Absorb,
    /// The first ACK for our 2xx: the TU must see it.
    ToTu,
}

pub(crate) struct ServerTx {
    pub id: ServerTxId,
    pub peer: Peer,
    pub state: ServerState,
    pub armed: Armed,
    pub key: ServerKey,
    /// Set while in Accepted: how the ACK for the 2xx is found.
    pub ack2xx: Option<Ack2xxKey>,
    /// The To tag our responses carry (the answer to a CANCEL reuses it, §9.2).
    pub to_tag: Option<String>,
    invite: bool,
    /// The last response sent, as bytes, for retransmission.
    last: Option<Bytes>,
    /// Current Timer G / 2xx retransmission interval.
    interval: Duration,
    acked: bool,
    /// INVITE only: Call-ID, From tag and CSeq of the request; `ack2xx` is this with
    /// the To tag of our 2xx.
    dialog_facts: Option<Ack2xxKey>,
}

impl ServerTx {
    /// Create the transaction for a new request. An INVITE is answered with 100 Trying
    /// at once (§17.2.1 allows it; it stops the client's Timer A).
    pub fn new(
        id: ServerTxId,
        req: &Request,
        peer: Peer,
        key: ServerKey,
        dialog_facts: Option<Ack2xxKey>,
        ctx: &mut Ctx,
    ) -> ServerTx {
        let invite = req.method == Method::Invite;
        let mut tx = ServerTx {
            id,
            peer,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            armed: Armed::default(),
            key,
            ack2xx: None,
            to_tag: None,
            invite,
            last: None,
            interval: ctx.timers.t1,
            acked: false,
            dialog_facts: if invite { dialog_facts } else { None },
        };
        if invite {
            tx.send(&local_response(req, 100, None), ctx);
        }
        tx
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    pub fn is_invite(&self) -> bool {
        self.invite
    }

    /// No final response sent yet: a CANCEL still has an effect (§9.2).
    pub fn awaits_final(&self) -> bool {
        matches!(self.state, ServerState::Trying | ServerState::Proceeding)
    }

    fn send(&mut self, resp: &Response, ctx: &mut Ctx) {
        let data = resp.to_bytes();
        self.last = Some(data.clone());
        ctx.out.push_back(Action::Transmit {
            to: self.peer,
            data,
        });
    }

    fn resend(&self, ctx: &mut Ctx) {
        if let Some(d) = &self.last {
            ctx.out.push_back(Action::Transmit {
                to: self.peer,
                data: d.clone(),
            });
        }
    }

    fn terminate(&mut self) {
        self.state = ServerState::Terminated;
        self.armed = Armed::default();
    }

    /// A retransmission of the request (§17.2.1, §17.2.2): re-send the last response.
    pub fn on_retransmission(&mut self, ctx: &mut Ctx) {
        match self.state {
            // Accepted: RFC 6026 lets the UAS core re-send its 2xx; the client plainly
            // missed it, so do it now rather than wait for the next timer.
            ServerState::Proceeding | ServerState::Completed | ServerState::Accepted => {
                self.resend(ctx)
            }
            // Trying has nothing to re-send; Confirmed absorbs.
            _ => {}
        }
    }

    /// The TU answers.
    pub fn respond(&mut self, resp: Response, ctx: &mut Ctx) {
        if self.to_tag.is_none() {
            self.to_tag = resp.to_tag();
        }
        if self.invite {
            self.respond_invite(resp, ctx)
        } else {
            self.respond_non_invite(resp, ctx)
        }
    }

    fn respond_invite(&mut self, resp: Response, ctx: &mut Ctx) {
        let t = ctx.timers;
        let unreliable = !self.peer.transport.is_reliable();
        match self.state {
            ServerState::Proceeding if resp.status < 200 => self.send(&resp, ctx),
            ServerState::Proceeding if resp.status < 300 => {
                // RFC 6026 §7.1: Accepted with Timer L = 64*T1; the 2xx is retransmitted
                // from T1 doubling to T2 until the ACK (§13.3.1.4).
                if let Some(mut k) = self.dialog_facts.take() {
                    k.to_tag = resp.to_tag().unwrap_or_default();
                    self.ack2xx = Some(k);
                }
                self.send(&resp, ctx);
                self.state = ServerState::Accepted;
                self.interval = t.t1;
                self.armed = Armed {
                    retransmit: Some(ctx.now + t.t1),
                    lifetime: Some(ctx.now + t.t1x64()),
                };
            }
            ServerState::Proceeding => {
                // §17.2.1: Timer G (UDP only) from T1, Timer H = 64*T1 bounds the wait
                // for the ACK.
                self.send(&resp, ctx);
                self.state = ServerState::Completed;
                self.interval = t.t1;
                self.armed = Armed {
                    retransmit: unreliable.then(|| ctx.now + t.t1),
                    lifetime: Some(ctx.now + t.t1x64()),
                };
            }
            // RFC 6026 §7.1: further 2xx from the TU are passed to the transport.
            ServerState::Accepted if resp.is_success() => {
                let data = resp.to_bytes();
                ctx.out.push_back(Action::Transmit {
                    to: self.peer,
                    data,
                });
            }
            _ => {
                tracing::debug!(status = resp.status, state = ?self.state, "late response on INVITE server transaction dropped")
            }
        }
    }

    fn respond_non_invite(&mut self, resp: Response, ctx: &mut Ctx) {
        match self.state {
            ServerState::Trying | ServerState::Proceeding if resp.status < 200 => {
                self.state = ServerState::Proceeding;
                self.send(&resp, ctx);
            }
            ServerState::Trying | ServerState::Proceeding => {
                // §17.2.2: Timer J = 64*T1 on UDP keeps the final for retransmitted
                // requests; zero on reliable transports.
                self.send(&resp, ctx);
                self.armed = Armed::default();
                if self.peer.transport.is_reliable() {
                    self.state = ServerState::Terminated;
                } else {
                    self.state = ServerState::Completed;
                    self.armed.lifetime = Some(ctx.now + ctx.timers.t1x64());
                }
            }
            _ => {
                tracing::debug!(status = resp.status, state = ?self.state, "late response on server transaction dropped")
            }
        }
    }

    /// An ACK matched this INVITE transaction by its key (§17.2.1).
    pub fn on_ack(&mut self, ctx: &mut Ctx) -> AckVerdict {
        match self.state {
            ServerState::Completed => {
                // §17.2.1: Confirmed; Timer I = T4 absorbs further ACKs, zero on reliable.
                self.armed = Armed::default();
                if self.peer.transport.is_reliable() {
                    self.state = ServerState::Terminated;
                } else {
                    self.state = ServerState::Confirmed;
                    self.armed.lifetime = Some(ctx.now + ctx.timers.t4);
                }
                AckVerdict::Absorb
            }
            // RFC 2543 peers reuse the INVITE's Via on the ACK for a 2xx, so it lands here.
            ServerState::Accepted => self.on_ack_2xx(),
            _ => AckVerdict::Absorb,
        }
    }

    /// The ACK for our 2xx (found by dialog and CSeq): stop retransmitting; only the first
    /// goes to the TU. The transaction stays until Timer L to absorb INVITE copies.
    pub fn on_ack_2xx(&mut self) -> AckVerdict {
        self.armed.retransmit = None;
        if std::mem::replace(&mut self.acked, true) {
            AckVerdict::Absorb
        } else {
            AckVerdict::ToTu
        }
    }

    pub fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx) {
        self.armed.clear(slot);
        match (self.state, slot) {
            (ServerState::Completed | ServerState::Accepted, Slot::Retransmit) => {
                // Timer G (§17.2.1) and the 2xx timer (§13.3.1.4): double up to T2.
                self.resend(ctx);
                self.interval = (self.interval * 2).min(ctx.timers.t2);
                self.armed.retransmit = Some(ctx.now + self.interval);
            }
            (ServerState::Accepted, Slot::Lifetime) => {
                // Timer L. §13.3.1.4: no ACK for the 2xx within 64*T1 ends the dialog.
                if !self.acked {
                    ctx.out.push_back(Action::NoAck { invite: self.id });
                }
                self.terminate();
            }
            (ServerState::Completed, Slot::Lifetime) => {
                // Timer H: the ACK never came (§17.2.1). Nothing for the TU to do.
                tracing::debug!(tx = ?self.id, "Timer H fired: no ACK for non-2xx final");
                self.terminate();
            }
            // Timers I (Confirmed) and J (non-INVITE Completed).
            (_, Slot::Lifetime) => self.terminate(),
            _ => {}
        }
    }
}
