//! Unit tests of the transaction state machines, on a virtual clock: `Instant`s are
//! built from one base and advanced by hand, never read from the system.

mod client;
mod matching;
mod server;

use super::{Action, Peer, TransactionLayer, TransportKind};
use crate::message::{parse_datagram, Message, Request, Response};
use std::time::{Duration, Instant};

pub(super) fn peer(transport: TransportKind) -> Peer {
    Peer {
        transport,
        remote: "10.0.0.1:5060".parse().unwrap(),
        local: "10.0.0.2:5060".parse().unwrap(),
    }
}

pub(super) fn udp() -> Peer {
    peer(TransportKind::Udp)
}

pub(super) fn tcp() -> Peer {
    peer(TransportKind::Tcp)
}

pub(super) fn parse(text: &str) -> Message {
    parse_datagram(text.as_bytes()).expect("test message parses")
}

/// A request from alice (10.0.0.1) to bob, with a Route so ACK/CANCEL copying shows.
pub(super) fn request(method: &str, branch: &str, cseq: u32, to_tag: Option<&str>) -> Request {
    let to = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let text = format!(
        "{method} sip:bob@10.0.0.2 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.1:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:p1.example.net;lr>\r\n\
         From: <sip:alice@10.0.0.1>;tag=a1\r\n\
         To: <sip:bob@10.0.0.2>{to}\r\n\
         Call-ID: c1@10.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:alice@10.0.0.1>\r\n\r\n"
    );
    match parse(&text) {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!("built a request"),
    }
}

pub(super) fn response(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    Response::to_request(req, status, to_tag)
}

pub(super) fn drain(l: &mut TransactionLayer) -> Vec<Action> {
    std::iter::from_fn(|| l.poll_action()).collect()
}

/// The messages in the Transmit actions, parsed back.
pub(super) fn sent(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit { data, .. } => {
                Some(parse_datagram(data).expect("we send parseable messages"))
            }
            _ => None,
        })
        .collect()
}

/// Fire every timer up to `until`, returning each action with its time since `t0` in ms.
pub(super) fn run_until(
    l: &mut TransactionLayer,
    t0: Instant,
    until: Duration,
) -> Vec<(u128, Action)> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        match l.poll_timeout() {
            Some(t) if t <= t0 + until => {
                l.handle_timeout(t);
                let ms = (t - t0).as_millis();
                out.extend(drain(l).into_iter().map(|a| (ms, a)));
            }
            _ => break,
        }
    }
    out
}

/// Times (ms after `t0`) at which something was transmitted.
pub(super) fn transmit_times(events: &[(u128, Action)]) -> Vec<u128> {
    events
        .iter()
        .filter(|(_, a)| matches!(a, Action::Transmit { .. }))
        .map(|(t, _)| *t)
        .collect()
}

pub(super) fn layer() -> TransactionLayer {
    TransactionLayer::new(super::Timers::default())
}
