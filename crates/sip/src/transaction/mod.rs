//! Transactions (RFC 3261 §17): the four state machines and the layer that matches messages to them. Sans-IO.
//!
//! The layer owns no socket and reads no clock: the caller feeds it parsed messages and
//! the current `Instant`, drains `Action`s, and calls `handle_timeout` at `poll_timeout`.
//!
//! Map: `timer` (T1/T2/T4 and the deadline queue), `key` (how a message finds its
//! transaction, §17.1.3 / §17.2.3 and the RFC 2543 fallback), `client` and `server` (the
//! state machines of §17.1 and §17.2 with the RFC 6026 Accepted state), `layer` (the
//! tables and the public entry points).

mod client;
mod key;
mod layer;
mod server;
mod timer;

#[cfg(test)]
mod tests;

pub use layer::TransactionLayer;
pub use timer::Timers;

use crate::message::{Request, Response, SipHeaders};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// The transport a message travels on. Only the reliability matters here: on a
/// reliable transport Timers A, E and G are not armed and D, I, J, K are zero (§17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2); reliable like TCP.
    Tls,
}

impl TransportKind {
    pub fn is_reliable(self) -> bool {
        matches!(self, TransportKind::Tcp | TransportKind::Tls)
    }
    /// The Via transport token (§18.2.1).
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.via_token())
    }
}

/// Where a message came from or goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: TransportKind,
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

/// A client transaction (a request we sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(pub(crate) u64);

impl ClientTxId {
    /// An id made outside the layer: for state machines above it driven by tests.
    pub fn from_raw(n: u64) -> ClientTxId {
        ClientTxId(n)
    }
}

/// A server transaction (a request we received).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(pub(crate) u64);

impl ServerTxId {
    /// An id made outside the layer: for state machines above it driven by tests.
    pub fn from_raw(n: u64) -> ServerTxId {
        ServerTxId(n)
    }
}

/// What the layer asks its driver (the transport task and the TU) to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Transmit {
        to: Peer,
        data: Bytes,
    },
    /// A new request for the TU: a new server transaction (INVITE, BYE, REGISTER, OPTIONS, …).
    Request {
        tx: ServerTxId,
        req: Request,
        from: Peer,
    },
    /// ACK for a 2xx (no transaction, §17.1.1.3 / RFC 6026) or any ACK not matching a
    /// server tx: goes to the TU/dialog. While the INVITE server transaction is still in
    /// Accepted, only the first ACK for its 2xx is delivered; copies are absorbed.
    Ack {
        req: Request,
        from: Peer,
    },
    /// CANCEL that matched an INVITE server transaction still waiting for a final
    /// response (§9.2): the layer has answered the CANCEL with 200; the TU must now
    /// answer the INVITE with 487.
    Cancelled {
        invite: ServerTxId,
    },
    /// Responses for a client transaction (provisional and final; retransmitted 2xx for
    /// INVITE too, RFC 6026 Accepted state, so the dialog layer re-sends its ACK).
    Response {
        tx: ClientTxId,
        resp: Response,
    },
    /// Timer B/F fired, or transport error: the TU treats it as a 408 (§8.1.3.1).
    Timeout {
        tx: ClientTxId,
    },
    /// A response matching no transaction: given to the TU, which normally discards it.
    StrayResponse {
        resp: Response,
        from: Peer,
    },
    /// The 2xx to this INVITE was retransmitted for 64*T1 and no ACK came (§13.3.1.4):
    /// the TU should confirm the dialog and end it with BYE.
    NoAck {
        invite: ServerTxId,
    },
}

/// What a state machine needs from the layer while it handles one event.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub timers: &'a Timers,
    pub out: &'a mut VecDeque<Action>,
}

/// A fresh branch with the RFC 3261 magic cookie (§8.1.1.7), unique in space and time.
pub fn new_branch() -> String {
    format!(
        "z9hG4bK{:016x}{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
}

/// Build the CANCEL for an INVITE we sent (RFC 3261 §9.1): same Request-URI, Call-ID,
/// To, From and CSeq number; one Via equal to the INVITE's top Via, so the CANCEL
/// matches the INVITE's branch at the next hop; Route copied from the INVITE.
pub fn make_cancel(invite: &Request) -> Request {
    let mut c = Request::new(crate::message::Method::Cancel, invite.uri.clone());
    if let Some(v) = invite.headers.get("Via") {
        // Only the topmost Via value, even if the line holds a list.
        let top = crate::message::split_list(v)[0].to_string();
        c.headers.push("Via", top);
    }
    c.headers.push("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.headers.get(name) {
            c.headers.push(name, v);
        }
    }
    if let Some(cs) = invite.cseq() {
        c.headers.push("CSeq", format!("{} CANCEL", cs.seq));
    }
    for r in invite.headers.get_all("Route") {
        c.headers.push("Route", r);
    }
    c
}

/// Responses the layer itself builds (100 Trying, the answer to CANCEL).
pub(crate) fn local_response(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut r = Response::to_request(req, status, to_tag);
    // §8.2.6.1: a 100 Trying echoes Timestamp so the client can measure round trips.
    if status == 100 {
        if let Some(ts) = req.headers.get("Timestamp") {
            r.headers.push("Timestamp", ts);
        }
    }
    r
}
