//! Client transactions: INVITE (RFC 3261 §17.1.1, with the RFC 6026 Accepted state)
//! and non-INVITE (§17.1.2).

use super::key::ClientKey;
use super::timer::{Armed, Slot};
use super::{Action, ClientTxId, Ctx, Peer};
use crate::message::{split_list, Method, Request, Response};
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// INVITE sent, nothing heard (§17.1.1.2).
    Calling,
    /// Non-INVITE sent, nothing heard (§17.1.2.2).
    Trying,
    Proceeding,
    Completed,
    /// RFC 6026 §7.2: a 2xx arrived; further 2xx go to the TU until Timer M.
    Accepted,
    Terminated,
}

pub(crate) struct ClientTx {
    pub id: ClientTxId,
    /// None when the request had no branch: nothing can match it.
    pub key: Option<ClientKey>,
    pub peer: Peer,
    pub state: ClientState,
    pub armed: Armed,
    invite: bool,
    /// Kept for INVITE only: the ACK for a non-2xx is built from it (§17.1.1.3).
    /// Boxed, so that once `release_request` drops it the transaction, which lingers up
    /// to 32 s (Timers D, M), no longer carries the ~200 bytes of an inline `Request`.
    request: Option<Box<Request>>,
    wire: Bytes,
    ack: Option<Bytes>,
    /// Current Timer A / E interval.
    interval: Duration,
}

impl ClientTx {
    /// Send the request and arm the timers of the initial state.
    pub fn start(id: ClientTxId, req: Request, peer: Peer, ctx: &mut Ctx) -> ClientTx {
        let key = ClientKey::of_request(&req);
        let invite = req.method == Method::Invite;
        let wire = req.to_bytes();
        let t = ctx.timers;
        let mut tx = ClientTx {
            id,
            key,
            peer,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            armed: Armed::default(),
            invite,
            request: invite.then(|| Box::new(req)),
            wire,
            ack: None,
            interval: t.t1,
        };
        tx.transmit(ctx.out);
        // §17.1.1.2 / §17.1.2.2: Timer A / E start at T1, only on unreliable transports.
        if !peer.transport.is_reliable() {
            tx.armed.retransmit = Some(ctx.now + t.t1);
        }
        // Timer B / F: 64*T1 on every transport.
        tx.armed.lifetime = Some(ctx.now + t.t1x64());
        tx
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    fn transmit(&self, out: &mut VecDeque<Action>) {
        out.push_back(Action::Transmit {
            to: self.peer,
            data: self.wire.clone(),
        });
    }

    fn deliver(&self, resp: Response, out: &mut VecDeque<Action>) {
        out.push_back(Action::Response { tx: self.id, resp });
    }

    fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.armed = Armed::default();
    }

    /// A final response ends the request's retransmissions (§17.1.1.2, §17.1.2.2):
    /// what remains (Timers D, K, M, up to 32 s) needs neither the request nor its
    /// bytes; the ACK for a non-2xx is built before. At 200 calls/s that is 6,400
    /// INVITEs with their SDP that a switch would otherwise hold for nothing.
    fn release_request(&mut self) {
        self.request = None;
        self.wire = Bytes::new();
    }

    /// Holds the request or its bytes (for tests of `release_request`).
    #[cfg(test)]
    pub(crate) fn holds_request(&self) -> bool {
        self.request.is_some() || !self.wire.is_empty()
    }

    /// Enter a state whose only timer is a wait of `d` that is zero on reliable
    /// transports (Timers D and K): there the transaction ends at once.
    fn linger(&mut self, state: ClientState, d: Duration, now: Instant) {
        self.release_request();
        self.armed = Armed::default();
        if self.peer.transport.is_reliable() {
            self.state = ClientState::Terminated;
        } else {
            self.state = state;
            self.armed.lifetime = Some(now + d);
        }
    }

    pub fn on_response(&mut self, resp: Response, ctx: &mut Ctx) {
        if self.invite {
            self.on_invite_response(resp, ctx)
        } else {
            self.on_non_invite_response(resp, ctx)
        }
    }

    fn on_invite_response(&mut self, resp: Response, ctx: &mut Ctx) {
        use ClientState::*;
        let status = resp.status;
        match self.state {
            Calling | Proceeding if status < 200 => {
                // §17.1.1.2: no more retransmissions, and Timer B only matters in Calling.
                self.state = Proceeding;
                self.armed = Armed::default();
                self.deliver(resp, ctx.out);
            }
            Calling | Proceeding if status < 300 => {
                // RFC 6026 §7.2: Accepted, Timer M = 64*T1, so retransmitted or forked
                // 2xx still reach the TU, which ACKs them.
                self.state = Accepted;
                self.release_request();
                self.armed = Armed {
                    retransmit: None,
                    lifetime: Some(ctx.now + ctx.timers.t1x64()),
                };
                self.deliver(resp, ctx.out);
            }
            Calling | Proceeding => {
                // §17.1.1.3: the transaction ACKs a non-2xx final itself, same branch.
                let ack = self
                    .request
                    .as_ref()
                    .map(|r| build_ack(r, &resp).to_bytes());
                self.ack = ack;
                self.send_ack(ctx.out);
                self.linger(Completed, ctx.timers.timer_d(), ctx.now);
                self.deliver(resp, ctx.out);
            }
            // §17.1.1.2: a retransmitted final response gets the ACK again, and is
            // not passed up.
            Completed if status >= 300 => self.send_ack(ctx.out),
            Accepted if (200..300).contains(&status) => self.deliver(resp, ctx.out),
            _ => {}
        }
    }

    fn send_ack(&self, out: &mut VecDeque<Action>) {
        if let Some(a) = &self.ack {
            out.push_back(Action::Transmit {
                to: self.peer,
                data: a.clone(),
            });
        }
    }

    fn on_non_invite_response(&mut self, resp: Response, ctx: &mut Ctx) {
        use ClientState::*;
        match self.state {
            Trying | Proceeding if resp.status < 200 => {
                self.state = Proceeding;
                self.deliver(resp, ctx.out);
            }
            Trying | Proceeding => {
                // §17.1.2.2: Timer K = T4 buffers response retransmissions.
                self.linger(Completed, ctx.timers.t4, ctx.now);
                self.deliver(resp, ctx.out);
            }
            // Completed absorbs retransmitted finals.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx) {
        use ClientState::*;
        self.armed.clear(slot);
        match (self.state, slot) {
            (Calling, Slot::Retransmit) => {
                // §17.1.1.2: Timer A doubles on each firing; Timer B bounds it.
                self.transmit(ctx.out);
                self.interval *= 2;
                self.armed.retransmit = Some(ctx.now + self.interval);
            }
            (Trying | Proceeding, Slot::Retransmit) => {
                // §17.1.2.2: Timer E doubles up to T2 in Trying, and is T2 in Proceeding.
                self.transmit(ctx.out);
                self.interval = if self.state == Trying {
                    (self.interval * 2).min(ctx.timers.t2)
                } else {
                    ctx.timers.t2
                };
                self.armed.retransmit = Some(ctx.now + self.interval);
            }
            (Calling | Trying | Proceeding, Slot::Lifetime) => {
                // Timer B / F (or the §9.1 CANCEL wait): the TU treats it as a 408 (§8.1.3.1).
                ctx.out.push_back(Action::Timeout { tx: self.id });
                self.terminate();
            }
            // Timers D, K, M: the wait for stray retransmissions is over.
            (Completed | Accepted, Slot::Lifetime) => self.terminate(),
            _ => {}
        }
    }

    /// The TU sent a CANCEL for this INVITE. §9.1: if no final response arrives within
    /// 64*T1 the UAC considers the INVITE cancelled and destroys its transaction; in
    /// Proceeding nothing else would ever end it.
    pub fn on_cancel_sent(&mut self, ctx: &mut Ctx) {
        if self.invite && self.state == ClientState::Proceeding && self.armed.lifetime.is_none() {
            self.armed.lifetime = Some(ctx.now + ctx.timers.t1x64());
        }
    }

    /// §17.1.4: a transport failure ends the transaction; the TU hears of it unless it
    /// already has a final response.
    pub fn on_transport_error(&mut self, ctx: &mut Ctx) {
        use ClientState::*;
        match self.state {
            Calling | Trying | Proceeding => {
                ctx.out.push_back(Action::Timeout { tx: self.id });
                self.terminate();
            }
            Completed | Accepted => self.terminate(),
            Terminated => {}
        }
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From and
/// CSeq number of the INVITE, To of the response (it carries the tag), one Via equal to
/// the INVITE's top Via, and the INVITE's Route headers.
pub(crate) fn build_ack(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(v) = invite.headers.get("Via") {
        ack.headers.push("Via", split_list(v)[0]);
    }
    ack.headers.push("Max-Forwards", "70");
    if let Some(v) = invite.headers.get("From") {
        ack.headers.push("From", v);
    }
    if let Some(v) = resp.headers.get("To").or_else(|| invite.headers.get("To")) {
        ack.headers.push("To", v);
    }
    if let Some(v) = invite.headers.get("Call-ID") {
        ack.headers.push("Call-ID", v);
    }
    let seq = crate::message::SipHeaders::cseq(invite)
        .map(|c| c.seq)
        .unwrap_or(0);
    ack.headers.push("CSeq", format!("{seq} ACK"));
    for r in invite.headers.get_all("Route") {
        ack.headers.push("Route", r);
    }
    ack
}
