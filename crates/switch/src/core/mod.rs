//! The SIP core task: owns the transaction layer, the registrar and the sockets' inbox,
//! and routes every message to the call task that owns it. It holds no call state
//! beyond "which call owns this transaction / dialog" (DESIGN §2).

use crate::admission::Admission;
use crate::event::{CallEvent, CallRef, CoreCmd};
use crate::register::Registration;
use crate::wait::sleep_until;
use crate::Shared;
use sip::transaction::{Action, ServerTxId, TransactionLayer};
use sip::transport::{Incoming, TransportHandle};
use sip::validate::{self, Role};
use sip::{Message, Method, Peer, Request, Response, SipHeaders};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

mod commands;
mod origin;
mod routes;

/// Which listener a request arrived on decides what it may do (FreeSWITCH's
/// internal/external profiles): phones register on the agent listener; a trunk is
/// recognised by its own listener plus its source address, never by a header.
#[derive(Clone, Debug)]
pub enum Listener {
    Agents,
    Trunk(String),
}

pub struct Core {
    shared: Arc<Shared>,
    layer: TransactionLayer,
    registration: Registration,
    incoming: mpsc::Receiver<Incoming>,
    cmd_rx: mpsc::Receiver<CoreCmd>,
    cmd_tx: mpsc::Sender<CoreCmd>,
    /// Each live call's inbox and the transactions and dialogs that lead to it.
    calls: routes::Routes,
    admission: Admission,
    next_call: u64,
    shutdown: watch::Receiver<bool>,
    stopping: bool,
    out_udp: mpsc::UnboundedSender<(Peer, bytes::Bytes)>,
    /// TCP sends are queued per connection by the transport itself, without waiting.
    transport: TransportHandle,
    presence: crate::presence::Presence,
}

/// What woke the core.
enum Wake {
    Incoming(Incoming),
    Cmd(CoreCmd),
    Timer,
    Housekeeping,
    Board,
    Shutdown,
}

/// Drains one outbound queue in order.
fn spawn_sender(transport: TransportHandle) -> mpsc::UnboundedSender<(Peer, bytes::Bytes)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Peer, bytes::Bytes)>();
    tokio::spawn(async move {
        while let Some((to, data)) = rx.recv().await {
            if let Err(e) = transport.send(&to, data).await {
                tracing::debug!(remote = %to.remote, error = %e, "send failed");
            }
        }
    });
    tx
}

impl Core {
    pub fn new(
        shared: Arc<Shared>,
        transport: TransportHandle,
        incoming: mpsc::Receiver<Incoming>,
        registration: Registration,
        shutdown: watch::Receiver<bool>,
        (cmd_tx, cmd_rx): (mpsc::Sender<CoreCmd>, mpsc::Receiver<CoreCmd>),
    ) -> Core {
        let admission = Admission::new(std::time::Duration::from_millis(
            shared.cfg.switch.max_queue_delay_ms.into(),
        ));
        Core {
            admission,
            out_udp: spawn_sender(transport.clone()),
            transport,
            presence: crate::presence::Presence::new(shared.clone(), shared.board.clone()),
            shared,
            layer: TransactionLayer::new(Default::default()),
            registration,
            incoming,
            cmd_rx,
            cmd_tx,
            calls: routes::Routes::default(),
            next_call: 1,
            shutdown,
            stopping: false,
        }
    }

    /// Runs until shutdown is signalled and every call has ended (or a grace period passed).
    pub async fn run(mut self) {
        let mut housekeeping = tokio::time::interval(std::time::Duration::from_secs(5));
        let mut grace: Option<tokio::time::Instant> = None;
        loop {
            let deadline = self.layer.poll_timeout();
            let wake = tokio::select! {
                Some(inc) = self.incoming.recv() => Wake::Incoming(inc),
                Some(cmd) = self.cmd_rx.recv() => Wake::Cmd(cmd),
                _ = sleep_until(deadline) => Wake::Timer,
                _ = housekeeping.tick() => Wake::Housekeeping,
                true = self.presence.changed() => Wake::Board,
                _ = self.shutdown.changed(), if !self.stopping => Wake::Shutdown,
                _ = sleep_until(grace) => break,
            };
            // Everything from here to the end of `drain` is the core's own work: its sum
            // is the busy-time counter (the share of a core this single task uses, the
            // ceiling sharding would lift), and a message's cost feeds admission.
            let t0 = Instant::now();
            let message = matches!(wake, Wake::Incoming(_) | Wake::Cmd(_));
            match wake {
                Wake::Incoming(inc) => self.on_incoming(inc),
                Wake::Cmd(cmd) => self.on_cmd(cmd),
                Wake::Timer => self.layer.handle_timeout(t0),
                Wake::Housekeeping => {
                    self.registration.housekeeping();
                    self.save_registrations();
                    self.presence.expire(&mut self.layer, t0);
                }
                Wake::Board => self.presence.on_board(&mut self.layer, t0),
                Wake::Shutdown => {
                    self.stopping = true;
                    tracing::info!(
                        calls = self.calls.len(),
                        "shutting down: ending calls with BYE"
                    );
                    self.presence.end_all(&mut self.layer, t0);
                    for tx in self.calls.all_events() {
                        let _ = tx.send(CallEvent::Shutdown);
                    }
                    grace = Some(tokio::time::Instant::now() + std::time::Duration::from_secs(3));
                }
            }
            self.drain().await;
            let took = t0.elapsed();
            self.shared.metrics.core_busy.inc_by(took.as_secs_f64());
            if message {
                self.admission.observe(took);
            }
            self.shared
                .metrics
                .core_delay_ms
                .set(self.admission.delay(self.backlog()).as_millis() as i64);
            self.shared
                .metrics
                .transactions
                .set(self.layer.len() as i64);
            if self.stopping && self.calls.is_empty() {
                // Let the last BYEs and their 200s cross the wire.
                let until = tokio::time::Instant::now() + std::time::Duration::from_millis(300);
                while tokio::time::Instant::now() < until {
                    tokio::select! {
                        Some(inc) = self.incoming.recv() => self.on_incoming(inc),
                        _ = tokio::time::sleep_until(until) => {}
                    }
                    self.drain().await;
                }
                break;
            }
        }
        self.registration.save_now(&self.shared);
    }

    /// Starts writing the bindings off this task when they changed and no write runs;
    /// `CoreCmd::RegistrationsSaved` brings the result back.
    fn save_registrations(&mut self) {
        let Some(job) = self.registration.start_save(&self.shared) else {
            return;
        };
        let back = self.cmd_tx.clone();
        tokio::spawn(async move {
            let r = tokio::task::spawn_blocking(move || job.write())
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            let _ = back.send(CoreCmd::RegistrationsSaved(r)).await;
        });
    }

    fn on_incoming(&mut self, inc: Incoming) {
        let now = Instant::now();
        match inc {
            Incoming::Message { msg, peer } => {
                if let Message::Request(r) = &msg {
                    self.shared
                        .metrics
                        .sip_requests
                        .with_label_values(&[method_label(&r.method)])
                        .inc();
                    // A request we must refuse is refused statelessly, before it can create
                    // a transaction (RFC 3261 §8.2, RFC 4475 §3.2.1 "preferably statelessly"):
                    // a missing Call-ID or a broken Via leaves nothing to match a
                    // transaction on anyway. ACK is never answered (§17.2.3).
                    if r.method != Method::Ack {
                        let role = if r.method == Method::Register {
                            Role::Registrar
                        } else {
                            Role::Uas
                        };
                        if let Err(rej) = validate::check_request(r, role) {
                            // The To tag is derived from the request, so a retransmission
                            // gets the very same answer (§8.2.7).
                            if let Some(resp) = rej.response(r) {
                                self.count_response(&resp);
                                self.send_raw(resp.to_bytes(), peer);
                            }
                            return;
                        }
                    }
                }
                self.layer.on_message(msg, peer, now);
            }
            Incoming::Malformed { err, peer } => {
                tracing::debug!(%peer.remote, reason = %err.reason, "malformed SIP message");
                match validate::response_for_parse_error(&err) {
                    Some(resp) => {
                        self.shared
                            .metrics
                            .sip_malformed
                            .with_label_values(&["answered"])
                            .inc();
                        self.count_response(&resp);
                        self.send_raw(resp.to_bytes(), peer);
                    }
                    None => self
                        .shared
                        .metrics
                        .sip_malformed
                        .with_label_values(&["dropped"])
                        .inc(),
                }
                if err.framing {
                    // A stream that lost its framing cannot be resynchronised: close it
                    // after the 400 (RFC 3261 §18.3, RFC 4475 §3.1.2.3).
                    self.transport.close(&peer);
                }
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(action) = self.layer.poll_action() {
            match action {
                Action::Transmit { to, data } => self.send_raw(data, to),
                Action::Request { tx, req, from } => self.on_request(tx, req, from),
                Action::Ack { req, from: _ } => {
                    if let Some(call) = self.dialog_of_request(&req) {
                        self.dispatch(call, CallEvent::Ack { req });
                    }
                }
                Action::Cancelled { invite } => {
                    if let Some(call) = self.calls.invite_tx(invite) {
                        self.dispatch(call, CallEvent::Cancelled);
                    }
                }
                Action::Response { tx, resp } => {
                    match self.calls.client_tx(tx, resp.status >= 200) {
                        Some((call, branch)) => {
                            self.dispatch(call, CallEvent::Response { branch, resp });
                        }
                        None if self.presence.on_response(tx, &resp) => {}
                        None => self.stray_response(resp),
                    }
                }
                Action::Timeout { tx } => {
                    if let Some((call, branch)) = self.calls.client_tx(tx, true) {
                        self.dispatch(call, CallEvent::Timeout { branch });
                    } else {
                        self.presence.on_timeout(tx);
                    }
                }
                Action::StrayResponse { resp, .. } => self.stray_response(resp),
                Action::NoAck { invite } => {
                    if let Some(call) = self.calls.invite_tx(invite) {
                        self.dispatch(call, CallEvent::NoAck);
                    }
                }
            }
        }
    }

    /// A 2xx retransmitted after its transaction ended still belongs to a dialog: the
    /// call re-sends its ACK (§13.2.2.4). Anything else is dropped (RFC 4475 bcast).
    fn stray_response(&mut self, resp: Response) {
        if !resp.is_success() {
            return;
        }
        let (Some(cid), Some(tag)) = (resp.call_id().map(str::to_string), resp.from_tag()) else {
            return;
        };
        if let Some(call) = self.calls.dialog(cid, tag) {
            let branch = resp
                .top_via()
                .and_then(|v| v.branch().map(str::to_string))
                .unwrap_or_default();
            self.dispatch(call, CallEvent::Response { branch, resp });
        }
    }

    fn dialog_of_request(&self, req: &Request) -> Option<CallRef> {
        let cid = req.call_id()?.to_string();
        let tag = req.to_tag()?;
        self.calls.dialog(cid, tag)
    }

    fn on_request(&mut self, tx: ServerTxId, req: Request, from: Peer) {
        let listener = self.shared.listener_of(&from);
        if req.method == Method::Subscribe {
            return self.on_subscribe(tx, req, from, listener);
        }
        // In-dialog requests go to their call; an unknown dialog is 481 (§12.2.2).
        if req.to_tag().is_some() {
            return match self.dialog_of_request(&req) {
                Some(call) => self.dispatch(call, CallEvent::Request { tx, req, from }),
                None => {
                    let resp = Response::to_request(&req, 481, None);
                    self.respond(tx, resp)
                }
            };
        }
        match (&req.method, listener) {
            (Method::Options, _) => {
                let mut resp = Response::to_request(&req, 200, Some(&sip::dialog::new_tag()));
                add_capabilities(&mut resp);
                self.respond(tx, resp);
            }
            (Method::Register, Some(Listener::Agents)) => {
                match self.registration.handle(tx, &req, &from, &self.shared) {
                    Some(resp) => self.respond(tx, resp),
                    None => self.save_registrations(),
                }
            }
            (Method::Invite, Some(Listener::Trunk(trunk))) => {
                self.on_trunk_invite(tx, req, from, trunk)
            }
            (Method::Invite, Some(Listener::Agents)) => {
                // Operators' own calls are billable: authenticate first (digest, §22).
                match self
                    .registration
                    .authenticate(&req, &from, &self.shared, true)
                {
                    Err(resp) => self.respond(tx, resp),
                    Ok(user) => self.operator_call(tx, req, from, user),
                }
            }
            (Method::Bye | Method::Cancel | Method::Prack | Method::Update | Method::Info, _) => {
                self.respond(tx, Response::to_request(&req, 481, None));
            }
            (_, None) => {
                // A request from a source that is no configured trunk peer.
                let resp = Response::to_request(&req, 403, Some(&sip::dialog::new_tag()));
                self.respond(tx, resp);
            }
            _ => {
                let mut resp = Response::to_request(&req, 405, Some(&sip::dialog::new_tag()));
                add_capabilities(&mut resp);
                self.respond(tx, resp);
            }
        }
    }

    /// Messages waiting for the core: from the sockets and from the calls.
    fn backlog(&self) -> usize {
        self.incoming.len() + self.cmd_rx.len()
    }

    /// Presence (crate::presence) for operators' phones only, authenticated like
    /// REGISTER: RFC 6665 §4.2.1.1 lets the notifier authenticate subscribers.
    fn on_subscribe(&mut self, tx: ServerTxId, req: Request, from: Peer, l: Option<Listener>) {
        if !matches!(l, Some(Listener::Agents)) {
            return self.respond(tx, Response::to_request(&req, 403, None));
        }
        match self
            .registration
            .authenticate(&req, &from, &self.shared, false)
        {
            Err(resp) => self.respond(tx, resp),
            Ok(user) => {
                let now = Instant::now();
                self.presence
                    .on_subscribe(&mut self.layer, tx, req, from, &user, now)
            }
        }
    }

    fn respond(&mut self, tx: ServerTxId, resp: Response) {
        self.count_response(&resp);
        self.layer.respond(tx, resp, Instant::now());
    }

    fn count_response(&self, resp: &Response) {
        self.shared
            .metrics
            .sip_responses_sent
            .with_label_values(&[&resp.status.to_string()])
            .inc();
    }

    fn dispatch(&mut self, call: CallRef, ev: CallEvent) {
        if let Some(tx) = self.calls.events(call) {
            // Fails only when the task has ended and its `Ended` is on its way to us:
            // the call is over, and what it would have received concerns nobody.
            if tx.send(ev).is_err() {
                tracing::debug!(call = call.0, "event for a call that has just ended");
            }
        }
    }

    fn send_raw(&self, data: bytes::Bytes, to: Peer) {
        // Sending never blocks the core, and messages leave in the order they were made
        // (a 200 must not overtake its 180): UDP through one ordered queue; TCP straight
        // into the connection's own bounded queue (a peer that does not read is dropped
        // by the transport, and holds up nobody else).
        match to.transport {
            sip::TransportKind::Udp => {
                if self.out_udp.send((to, data)).is_err() {
                    tracing::error!("outbound queue closed");
                }
            }
            sip::TransportKind::Tcp | sip::TransportKind::Tls => {
                if let Err(e) = self.transport.send_now(&to, data) {
                    tracing::debug!(remote = %to.remote, error = %e, "send failed");
                }
            }
        }
    }
}

/// The method as a metrics label: made-up methods share "other", so that a scanner
/// cannot create a new time series per request (unbounded label cardinality).
fn method_label(m: &Method) -> &str {
    match m {
        Method::Other(_) => "other",
        known => known.as_str(),
    }
}

/// What we accept, for OPTIONS and 405 (RFC 3261 §11.2, §20.5).
pub fn add_capabilities(resp: &mut Response) {
    resp.headers
        .push("Allow", validate::allow_header(Role::Registrar));
    resp.headers.push("Accept", "application/sdp");
    resp.headers.push("Allow-Events", "presence, dialog");
}
