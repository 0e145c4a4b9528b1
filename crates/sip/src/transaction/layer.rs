//! The transaction layer: the tables of live transactions, message matching, and the
//! timer queue. Everything the state machines decide comes out as `Action`s.

use super::client::ClientTx;
use super::key::{ClientKey, RequestFacts, ServerKey};
use super::server::{AckVerdict, ServerTx};
use super::timer::{Armed, TimerQueue, Timers, TxRef};
use super::{Action, ClientTxId, Ctx, Peer, ServerTxId};
use crate::message::{Message, Method, Request, Response};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub struct TransactionLayer {
    timers: Timers,
    next_id: u64,
    /// Transactions are boxed: a UDP switch keeps every one of the last 32 s (Timers
    /// D, J, L, M), about 100 per call/s, and a transaction is 450-500 bytes. Inline,
    /// the tables were 15-16 MB each at 200 calls/s, and hashbrown's doubling (when
    /// the tombstones of removed entries use up the free slots) added 15 MB to the RSS
    /// at once, minutes into a steady load; boxed, a slot is 16 bytes.
    clients: HashMap<u64, Box<ClientTx>>,
    client_index: HashMap<ClientKey, u64>,
    servers: HashMap<u64, Box<ServerTx>>,
    server_index: HashMap<ServerKey, u64>,
    /// INVITE server transactions in Accepted, by dialog and CSeq: the ACK for a 2xx has
    /// its own branch, so this is how it stops the 2xx retransmissions (§13.3.1.4).
    ack2xx_index: HashMap<super::key::Ack2xxKey, u64>,
    queue: TimerQueue,
    out: VecDeque<Action>,
    dropped: u64,
}

impl TransactionLayer {
    pub fn new(timers: Timers) -> Self {
        // A zero T1 would re-arm retransmission timers at `now` forever.
        let floor = Duration::from_millis(1);
        let timers = Timers {
            t1: timers.t1.max(floor),
            t2: timers.t2.max(floor),
            t4: timers.t4,
        };
        TransactionLayer {
            timers,
            next_id: 1,
            clients: HashMap::new(),
            client_index: HashMap::new(),
            servers: HashMap::new(),
            server_index: HashMap::new(),
            ack2xx_index: HashMap::new(),
            queue: TimerQueue::default(),
            out: VecDeque::new(),
            dropped: 0,
        }
    }

    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Live transactions (for metrics and overload control).
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests dropped because they lacked a top Via, Call-ID or CSeq.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The earliest armed timer; call `handle_timeout` then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.earliest()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Start a client transaction. The request goes out as given: the caller has set the
    /// top Via with a fresh branch (`new_branch`). An ACK is not a transaction
    /// (§17.1.1.3): it is transmitted once and the id returned matches nothing.
    pub fn send_request(&mut self, req: Request, to: Peer, now: Instant) -> ClientTxId {
        let id = self.fresh_id();
        if req.method == Method::Ack {
            self.send_ack(req, to);
            return ClientTxId(id);
        }
        if req.method == Method::Cancel {
            if let Some(&inv) =
                ClientKey::invite_of_cancel(&req).and_then(|k| self.client_index.get(&k))
            {
                self.drive_client(inv, now, |t, ctx| t.on_cancel_sent(ctx));
            }
        }
        let mut ctx = Ctx {
            now,
            timers: &self.timers,
            out: &mut self.out,
        };
        let tx = ClientTx::start(ClientTxId(id), req, to, &mut ctx);
        self.queue
            .sync(TxRef::Client(id), Armed::default(), tx.armed);
        match &tx.key {
            Some(k) => {
                if let Some(old) = self.client_index.insert(k.clone(), id) {
                    tracing::warn!(old, new = id, "branch reused by a new client transaction");
                }
            }
            None => tracing::warn!(
                id,
                "request sent without a Via branch: responses cannot match"
            ),
        }
        self.clients.insert(id, Box::new(tx));
        ClientTxId(id)
    }

    /// Send an ACK for a 2xx (§13.2.2.4): no transaction; the dialog re-sends it for
    /// each retransmitted 2xx it is given.
    pub fn send_ack(&mut self, ack: Request, to: Peer) {
        self.out.push_back(Action::Transmit {
            to,
            data: ack.to_bytes(),
        });
    }

    /// The TU answers a server transaction (provisional or final). Sent to the address
    /// and port the request came from (§18.2.2 with RFC 3581 symmetric response).
    pub fn respond(&mut self, tx: ServerTxId, resp: Response, now: Instant) {
        if !self.servers.contains_key(&tx.0) {
            tracing::debug!(
                ?tx,
                status = resp.status,
                "response for a finished server transaction dropped"
            );
            return;
        }
        self.drive_server(tx.0, now, |t, ctx| {
            t.respond(resp, ctx);
            None::<()>
        });
        if let Some(k) = self.servers.get(&tx.0).and_then(|t| t.ack2xx.as_ref()) {
            if !self.ack2xx_index.contains_key(k) {
                self.ack2xx_index.insert(k.clone(), tx.0);
            }
        }
    }

    /// §17.1.4: sending the request failed (ICMP unreachable, TCP reset, …).
    pub fn on_transport_error(&mut self, tx: ClientTxId, now: Instant) {
        self.drive_client(tx.0, now, |t, ctx| t.on_transport_error(ctx));
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((tx, slot)) = self.queue.pop_due(now) {
            match tx {
                TxRef::Client(id) => self.drive_client(id, now, |t, ctx| t.on_timer(slot, ctx)),
                TxRef::Server(id) => {
                    self.drive_server(id, now, |t, ctx| {
                        t.on_timer(slot, ctx);
                        None::<()>
                    });
                }
            }
        }
    }

    /// A parsed message arrived from `from`.
    pub fn on_message(&mut self, msg: Message, from: Peer, now: Instant) {
        match msg {
            Message::Response(resp) => self.on_response(resp, from, now),
            Message::Request(req) => self.on_request(req, from, now),
        }
    }

    fn on_response(&mut self, resp: Response, from: Peer, now: Instant) {
        // §17.1.3: branch and CSeq method.
        let id = ClientKey::of_response(&resp).and_then(|k| self.client_index.get(&k).copied());
        match id {
            Some(id) => self.drive_client(id, now, |t, ctx| t.on_response(resp, ctx)),
            None => self.out.push_back(Action::StrayResponse { resp, from }),
        }
    }

    fn on_request(&mut self, req: Request, from: Peer, now: Instant) {
        let Some(facts) = RequestFacts::read(&req) else {
            // Nothing to match and nothing to answer with (§8.2.6.2 copies these).
            self.dropped += 1;
            tracing::debug!(method = %req.method, "request without Via, Call-ID or CSeq dropped");
            return;
        };
        if req.method == Method::Ack {
            return self.on_ack(req, &facts, from, now);
        }
        let key = facts.own_key(&req);
        if let Some(&id) = self.server_index.get(&key) {
            // §17.2.1 / §17.2.2: a retransmission; the transaction answers it.
            self.drive_server(id, now, |t, ctx| {
                t.on_retransmission(ctx);
                None::<()>
            });
            return;
        }
        let id = self.fresh_id();
        let invite = req.method == Method::Invite;
        let mut ctx = Ctx {
            now,
            timers: &self.timers,
            out: &mut self.out,
        };
        let tx = ServerTx::new(
            ServerTxId(id),
            &req,
            from,
            key.clone(),
            invite.then(|| facts.ack2xx_key()),
            &mut ctx,
        );
        self.queue
            .sync(TxRef::Server(id), Armed::default(), tx.armed);
        self.server_index.insert(key, id);
        self.servers.insert(id, Box::new(tx));
        if req.method == Method::Cancel {
            self.on_cancel(ServerTxId(id), &req, &facts, now);
        } else {
            self.out.push_back(Action::Request {
                tx: ServerTxId(id),
                req,
                from,
            });
        }
    }

    /// §9.2: a CANCEL is its own non-INVITE transaction, answered here: 200 when it
    /// found the INVITE (and the TU is told if that INVITE still awaits its final
    /// response), 481 otherwise.
    fn on_cancel(
        &mut self,
        cancel_tx: ServerTxId,
        cancel: &Request,
        facts: &RequestFacts,
        now: Instant,
    ) {
        let target = self
            .server_index
            .get(&facts.cancel_target(cancel))
            .and_then(|id| self.servers.get(id))
            .filter(|t| t.is_invite());
        let resp = match target {
            Some(invite) => {
                if invite.awaits_final() {
                    self.out.push_back(Action::Cancelled { invite: invite.id });
                }
                // §9.2: the To tag of the 200 SHOULD equal the INVITE response's.
                Response::to_request(cancel, 200, invite.to_tag.as_deref())
            }
            None => Response::to_request(cancel, 481, None),
        };
        self.respond(cancel_tx, resp, now);
    }

    fn on_ack(&mut self, req: Request, facts: &RequestFacts, from: Peer, now: Instant) {
        // §17.2.3: an ACK matches the INVITE transaction it acknowledges.
        for key in facts.ack_keys(&req) {
            let Some(&id) = self.server_index.get(&key) else {
                continue;
            };
            if let (ServerKey::Legacy { to_tag, .. }, Some(tx)) = (&key, self.servers.get(&id)) {
                // RFC 2543 matching: the ACK's To tag must be the one we answered with.
                let ack_tag = facts.to_tag();
                if to_tag.is_empty()
                    && !ack_tag.is_empty()
                    && tx.to_tag.as_deref().is_some_and(|t| t != ack_tag)
                {
                    continue;
                }
            }
            let verdict = self.drive_server(id, now, |t, ctx| Some(t.on_ack(ctx)));
            if verdict == Some(AckVerdict::ToTu) {
                self.out.push_back(Action::Ack { req, from });
            }
            return;
        }
        // The ACK for a 2xx has a branch of its own (§17.1.1.3): find the INVITE by
        // dialog and CSeq to stop the 2xx retransmissions.
        if let Some(&id) = self.ack2xx_index.get(&facts.ack2xx_key()) {
            let verdict = self.drive_server(id, now, |t, _| Some(t.on_ack_2xx()));
            if verdict == Some(AckVerdict::Absorb) {
                return;
            }
        }
        self.out.push_back(Action::Ack { req, from });
    }

    /// Run one event on a client transaction, then sync its timers and drop it if done.
    fn drive_client(&mut self, id: u64, now: Instant, f: impl FnOnce(&mut ClientTx, &mut Ctx)) {
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        let before = tx.armed;
        let mut ctx = Ctx {
            now,
            timers: &self.timers,
            out: &mut self.out,
        };
        f(tx, &mut ctx);
        self.queue.sync(TxRef::Client(id), before, tx.armed);
        if tx.is_terminated() {
            let tx = self.clients.remove(&id).expect("present above");
            if let Some(k) = tx.key {
                if self.client_index.get(&k) == Some(&id) {
                    self.client_index.remove(&k);
                }
            }
        }
    }

    /// As `drive_client`, for server transactions; passes back what `f` returns.
    fn drive_server<R>(
        &mut self,
        id: u64,
        now: Instant,
        f: impl FnOnce(&mut ServerTx, &mut Ctx) -> Option<R>,
    ) -> Option<R> {
        let tx = self.servers.get_mut(&id)?;
        let before = tx.armed;
        let mut ctx = Ctx {
            now,
            timers: &self.timers,
            out: &mut self.out,
        };
        let r = f(tx, &mut ctx);
        self.queue.sync(TxRef::Server(id), before, tx.armed);
        if tx.is_terminated() {
            let tx = self.servers.remove(&id).expect("present above");
            if self.server_index.get(&tx.key) == Some(&id) {
                self.server_index.remove(&tx.key);
            }
            if let Some(k) = tx.ack2xx {
                if self.ack2xx_index.get(&k) == Some(&id) {
                    self.ack2xx_index.remove(&k);
                }
            }
        }
        r
    }

    /// Does client transaction `id` still hold its request?
    #[cfg(test)]
    pub(crate) fn client_holds_request(&self, id: ClientTxId) -> bool {
        self.clients.get(&id.0).is_some_and(|tx| tx.holds_request())
    }

    /// Armed timers, for tests that check nothing leaks.
    #[cfg(test)]
    pub(crate) fn armed_timers(&self) -> usize {
        self.queue.len()
    }
}

impl std::fmt::Debug for TransactionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionLayer")
            .field("clients", &self.clients.len())
            .field("servers", &self.servers.len())
            .field("timers", &self.queue.len())
            .finish()
    }
}
