//! Two transaction layers over a simulated UDP network that loses 10 % of datagrams in
//! each direction, on a virtual clock. Scripted TUs run 2,000 calls answered and hung
//! up (INVITE→200→ACK→BYE→200), plus calls refused (486), calls cancelled while ringing
//! (180, CANCEL→200, 487), and OPTIONS/REGISTER, a new exchange every 20 ms. Every
//! exchange must finish exactly once on each side, and both layers must end empty.
//!
//! The network's loss and delay come from a seeded RNG (override with `LOSS_SEED=n`).

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sip::dialog::{new_tag, Dialog};
use sip::transaction::{
    make_cancel, new_branch, Action, ClientTxId, Peer, ServerTxId, Timers, TransactionLayer,
    TransportKind,
};
use sip::{parse_datagram, Method, NameAddr, Request, Response, SipHeaders, Uri, Via};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// 2,000 answered calls, 200 refused, 200 cancelled, and 400 OPTIONS+REGISTER pairs.
const EXCHANGES: usize = 2_800;
const LOSS: f64 = 0.10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Answered,
    Busy,
    Cancelled,
    NonInvite,
}

fn kind(i: usize) -> Kind {
    match (i % 7, (i / 7) % 2) {
        (0..=4, _) => Kind::Answered,
        (5, 0) => Kind::Busy,
        (5, _) => Kind::Cancelled,
        _ => Kind::NonInvite,
    }
}

/// What each side's TU saw for one exchange.
#[derive(Default, Debug)]
struct Call {
    invite: Option<Request>,
    invite_tx: Option<ClientTxId>,
    dialog: Option<Dialog>,
    ack: Option<Request>,
    cancel_sent: bool,
    // UAC side.
    invite_finals: Vec<u16>,
    bye_finals: usize,
    other_finals: usize,
    // UAS side.
    requests: HashMap<Method, usize>,
    acks: usize,
    cancelled: usize,
    uas_dialog: Option<Dialog>,
    uas_invite: Option<(ServerTxId, Request, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TuEvent {
    Start(usize),
    Bye(usize),
}

/// (arrival time, tie-breaker, from, to, bytes) on the simulated wire.
type Datagram = (Instant, u64, SocketAddr, SocketAddr, Bytes);

struct Sim {
    rng: StdRng,
    uac: TransactionLayer,
    uas: TransactionLayer,
    uac_addr: SocketAddr,
    uas_addr: SocketAddr,
    wire: BinaryHeap<Reverse<Datagram>>,
    tu: BinaryHeap<Reverse<(Instant, TuEvent)>>,
    seq: u64,
    sent: u64,
    lost: u64,
    calls: Vec<Call>,
    client_txs: HashMap<ClientTxId, (usize, Method)>,
    server_txs: HashMap<ServerTxId, usize>,
    timeouts: usize,
    no_acks: usize,
    strays: usize,
}

impl Sim {
    fn to_uas(&self) -> Peer {
        Peer {
            transport: TransportKind::Udp,
            remote: self.uas_addr,
            local: self.uac_addr,
        }
    }

    fn uac_via(&self) -> Via {
        Via::parse("SIP/2.0/UDP 10.0.0.1:5060;rport").unwrap()
    }

    /// Put a datagram on the wire: lost with probability LOSS, else 1–50 ms later.
    fn transmit(&mut self, from: SocketAddr, to: Peer, data: Bytes, now: Instant) {
        self.sent += 1;
        if self.rng.random_bool(LOSS) {
            self.lost += 1;
            return;
        }
        let delay = Duration::from_millis(self.rng.random_range(1..=50));
        self.seq += 1;
        self.wire
            .push(Reverse((now + delay, self.seq, from, to.remote, data)));
    }

    fn new_request(&self, i: usize, method: Method, cseq: u32) -> Request {
        let mut r = Request::new(method.clone(), Uri::parse("sip:agent@10.0.0.2").unwrap());
        r.headers.push(
            "Via",
            format!("SIP/2.0/UDP 10.0.0.1:5060;rport;branch={}", new_branch()),
        );
        r.headers.push("Max-Forwards", "70");
        r.headers
            .push("From", format!("<sip:caller@10.0.0.1>;tag={}", new_tag()));
        r.headers.push("To", "<sip:agent@10.0.0.2>");
        r.headers.push("Call-ID", format!("call-{i}"));
        r.headers.push("CSeq", format!("{cseq} {method}"));
        r.headers.push("Contact", "<sip:caller@10.0.0.1:5060>");
        r
    }

    fn send(&mut self, i: usize, req: Request, now: Instant) -> ClientTxId {
        let method = req.method.clone();
        let peer = self.to_uas();
        let tx = self.uac.send_request(req, peer, now);
        self.client_txs.insert(tx, (i, method));
        tx
    }

    fn on_tu_event(&mut self, ev: TuEvent, now: Instant) {
        match ev {
            TuEvent::Start(i) if kind(i) == Kind::NonInvite => {
                for (m, seq) in [(Method::Options, 1), (Method::Register, 2)] {
                    let r = self.new_request(i, m, seq);
                    self.send(i, r, now);
                }
            }
            TuEvent::Start(i) => {
                let inv = self.new_request(i, Method::Invite, 1);
                self.calls[i].invite = Some(inv.clone());
                let tx = self.send(i, inv, now);
                self.calls[i].invite_tx = Some(tx);
            }
            TuEvent::Bye(i) => {
                let contact = NameAddr::parse("<sip:caller@10.0.0.1:5060>").unwrap();
                let via = self.uac_via();
                let d = self.calls[i]
                    .dialog
                    .as_mut()
                    .expect("BYE only after a dialog");
                let bye = d.new_request(Method::Bye, &contact, &via);
                self.send(i, bye, now);
            }
        }
    }

    /// The caller's TU.
    fn uac_action(&mut self, a: Action, now: Instant) {
        match a {
            Action::Transmit { to, data } => self.transmit(self.uac_addr, to, data, now),
            Action::Response { tx, resp } => {
                let (i, method) = self.client_txs[&tx].clone();
                let final_ = resp.status >= 200;
                match method {
                    Method::Invite => self.uac_invite_response(i, resp, now),
                    Method::Bye if final_ => self.calls[i].bye_finals += 1,
                    Method::Cancel | Method::Bye => {}
                    _ if final_ => self.calls[i].other_finals += 1,
                    _ => {}
                }
            }
            Action::Timeout { .. } => self.timeouts += 1,
            Action::StrayResponse { .. } => self.strays += 1,
            other => panic!("UAC got a server-side action: {other:?}"),
        }
    }

    fn uac_invite_response(&mut self, i: usize, resp: Response, now: Instant) {
        let peer = self.to_uas();
        if resp.status < 200 {
            // §9.1: CANCEL only once a provisional response arrived.
            if kind(i) == Kind::Cancelled && !self.calls[i].cancel_sent {
                self.calls[i].cancel_sent = true;
                let cancel = make_cancel(self.calls[i].invite.as_ref().unwrap());
                self.send(i, cancel, now);
            }
            return;
        }
        self.calls[i].invite_finals.push(resp.status);
        if !resp.is_success() {
            return; // the transaction ACKed it
        }
        // §13.2.2.4: ACK every 2xx, the same ACK for retransmissions.
        if let Some(ack) = self.calls[i].ack.clone() {
            self.uac.send_ack(ack, peer);
            return;
        }
        let d =
            Dialog::uac(self.calls[i].invite.as_ref().unwrap(), &resp).expect("dialog from 200");
        let ack = d.make_ack(1, &self.uac_via());
        self.calls[i].dialog = Some(d);
        self.calls[i].ack = Some(ack.clone());
        self.uac.send_ack(ack, peer);
        self.tu
            .push(Reverse((now + Duration::from_secs(1), TuEvent::Bye(i))));
    }

    /// The callee's TU.
    fn uas_action(&mut self, a: Action, now: Instant) {
        match a {
            Action::Transmit { to, data } => self.transmit(self.uas_addr, to, data, now),
            Action::Request { tx, req, .. } => {
                let i = call_index(&req);
                self.server_txs.insert(tx, i);
                *self.calls[i]
                    .requests
                    .entry(req.method.clone())
                    .or_default() += 1;
                self.uas_request(i, tx, req, now);
            }
            Action::Ack { req, .. } => {
                let i = call_index(&req);
                self.calls[i].acks += 1;
                let d = self.calls[i].uas_dialog.as_mut().expect("ACK after 200");
                assert!(d.check_remote_cseq(&req));
            }
            Action::Cancelled { invite } => {
                let i = self.server_txs[&invite];
                self.calls[i].cancelled += 1;
                let (tx, req, tag) = self.calls[i].uas_invite.clone().unwrap();
                self.uas
                    .respond(tx, Response::to_request(&req, 487, Some(&tag)), now);
            }
            Action::NoAck { .. } => self.no_acks += 1,
            Action::StrayResponse { .. } => self.strays += 1,
            other => panic!("UAS got a client-side action: {other:?}"),
        }
    }

    fn uas_request(&mut self, i: usize, tx: ServerTxId, req: Request, now: Instant) {
        let tag = new_tag();
        let resp = match (req.method.clone(), kind(i)) {
            (Method::Invite, Kind::Answered) => {
                self.calls[i].uas_dialog = Some(Dialog::uas(&req, &tag).unwrap());
                let mut ok = Response::to_request(&req, 200, Some(&tag));
                ok.headers.push("Contact", "<sip:agent@10.0.0.2:5060>");
                ok
            }
            (Method::Invite, Kind::Busy) => Response::to_request(&req, 486, Some(&tag)),
            (Method::Invite, _) => {
                self.calls[i].uas_invite = Some((tx, req.clone(), tag.clone()));
                Response::to_request(&req, 180, Some(&tag))
            }
            (Method::Bye, _) => {
                let d = self.calls[i].uas_dialog.as_mut().expect("BYE in a dialog");
                assert!(d.check_remote_cseq(&req), "BYE CSeq in order");
                Response::to_request(&req, 200, None)
            }
            _ => Response::to_request(&req, 200, Some(&tag)),
        };
        self.uas.respond(tx, resp, now);
    }

    /// Run the TUs until neither layer has anything to say.
    fn pump(&mut self, now: Instant) {
        for _ in 0..1_000_000 {
            if let Some(a) = self.uac.poll_action() {
                self.uac_action(a, now);
            } else if let Some(a) = self.uas.poll_action() {
                self.uas_action(a, now);
            } else {
                return;
            }
        }
        panic!("actions did not settle");
    }

    fn deliver(&mut self, from: SocketAddr, to: SocketAddr, data: Bytes, now: Instant) {
        let msg = parse_datagram(&data).expect("the layers send parseable messages");
        let peer = Peer {
            transport: TransportKind::Udp,
            remote: from,
            local: to,
        };
        if to == self.uas_addr {
            self.uas.on_message(msg, peer, now);
        } else {
            self.uac.on_message(msg, peer, now);
        }
    }

    fn next_event(&self) -> Option<Instant> {
        [
            self.wire.peek().map(|Reverse(e)| e.0),
            self.tu.peek().map(|Reverse(e)| e.0),
            self.uac.poll_timeout(),
            self.uas.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn step(&mut self, now: Instant) {
        while let Some(Reverse((t, ev))) = self.tu.peek().copied() {
            if t > now {
                break;
            }
            self.tu.pop();
            self.on_tu_event(ev, now);
            self.pump(now);
        }
        while self.wire.peek().is_some_and(|Reverse(e)| e.0 <= now) {
            let Reverse((_, _, from, to, data)) = self.wire.pop().unwrap();
            self.deliver(from, to, data, now);
            self.pump(now);
        }
        self.uac.handle_timeout(now);
        self.uas.handle_timeout(now);
        self.pump(now);
    }
}

fn call_index(req: &Request) -> usize {
    req.call_id()
        .and_then(|c| c.strip_prefix("call-"))
        .and_then(|n| n.parse().ok())
        .expect("our Call-ID")
}

#[test]
fn every_exchange_completes_once_under_ten_percent_loss() {
    let t0 = Instant::now();
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(
            std::env::var("LOSS_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0x5EED_3261),
        ),
        uac: TransactionLayer::new(Timers::default()),
        uas: TransactionLayer::new(Timers::default()),
        uac_addr: "10.0.0.1:5060".parse().unwrap(),
        uas_addr: "10.0.0.2:5060".parse().unwrap(),
        wire: BinaryHeap::new(),
        tu: BinaryHeap::new(),
        seq: 0,
        sent: 0,
        lost: 0,
        calls: (0..EXCHANGES).map(|_| Call::default()).collect(),
        client_txs: HashMap::new(),
        server_txs: HashMap::new(),
        timeouts: 0,
        no_acks: 0,
        strays: 0,
    };
    // A new exchange every 20 ms: hundreds of transactions are live at once.
    for i in 0..EXCHANGES {
        sim.tu.push(Reverse((
            t0 + Duration::from_millis(20 * i as u64),
            TuEvent::Start(i),
        )));
    }
    let mut peak = 0;
    let mut steps = 0;
    while let Some(now) = sim.next_event() {
        steps += 1;
        assert!(steps < 2_000_000, "simulation did not converge");
        sim.step(now);
        peak = peak.max(sim.uac.len() + sim.uas.len());
    }
    let end = sim.next_event();
    assert_eq!(end, None);

    eprintln!(
        "datagrams sent {}, lost {}, peak live transactions {peak}, steps {steps}",
        sim.sent, sim.lost
    );
    // The network really lost messages, and the layers made up for it.
    assert!(
        sim.lost as f64 > 0.08 * sim.sent as f64,
        "lost {} of {}",
        sim.lost,
        sim.sent
    );
    assert!(peak > 100, "transactions overlapped (peak {peak})");
    assert_eq!((sim.timeouts, sim.no_acks, sim.strays), (0, 0, 0));

    for (i, c) in sim.calls.iter().enumerate() {
        let req = |m: Method| c.requests.get(&m).copied().unwrap_or(0);
        match kind(i) {
            Kind::Answered => {
                // The 2xx may reach the caller's TU more than once (RFC 6026); everything
                // else exactly once on each side.
                assert!(
                    !c.invite_finals.is_empty() && c.invite_finals.iter().all(|s| *s == 200),
                    "call {i}: {c:?}"
                );
                assert_eq!(
                    (req(Method::Invite), c.acks, req(Method::Bye), c.bye_finals),
                    (1, 1, 1, 1),
                    "call {i}"
                );
            }
            Kind::Busy => {
                assert_eq!(c.invite_finals, vec![486], "call {i}");
                assert_eq!(
                    (req(Method::Invite), c.acks),
                    (1, 0),
                    "call {i}: ACK absorbed"
                );
            }
            Kind::Cancelled => {
                assert_eq!(c.invite_finals, vec![487], "call {i}");
                assert_eq!(
                    (req(Method::Invite), c.cancelled, c.acks),
                    (1, 1, 0),
                    "call {i}"
                );
                assert_eq!(req(Method::Cancel), 0, "the layer answers CANCEL itself");
            }
            Kind::NonInvite => {
                assert_eq!(
                    (req(Method::Options), req(Method::Register), c.other_finals),
                    (1, 1, 2),
                    "exchange {i}"
                );
            }
        }
    }
    let answered = sim.calls.iter().filter(|c| c.bye_finals == 1).count();
    assert_eq!(
        answered,
        (0..EXCHANGES)
            .filter(|i| kind(*i) == Kind::Answered)
            .count()
    );
    assert_eq!((sim.uac.len(), sim.uas.len()), (0, 0));
    assert_eq!(
        (sim.uac.poll_timeout(), sim.uas.poll_timeout()),
        (None, None)
    );
}
