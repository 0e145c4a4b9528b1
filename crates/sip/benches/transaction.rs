//! Transaction layer cost per transaction, with N other transactions live in the
//! tables (the fillers are INVITE server transactions waiting for the TU, so they arm
//! no timer and never expire during the run).
//!
//! `cargo bench -p sip --bench transaction`
//!
//! - `server_non_invite/{udp,tcp}/N`: an OPTIONS arrives → the TU's Request action →
//!   200 → Transmit → the transaction ends (Timer J fired on UDP, at once on TCP).
//! - `client_invite/N`: INVITE sent → 100 → 200 (Accepted, RFC 6026) → Timer M ends it.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sip::transaction::{Action, Peer, Timers, TransactionLayer, TransportKind};
use sip::{parse_datagram, Message, Request, Response};
use std::hint::black_box;
use std::time::{Duration, Instant};

const LIVE: [usize; 3] = [0, 10_000, 100_000];

fn peer(transport: TransportKind) -> Peer {
    Peer {
        transport,
        remote: "192.0.2.10:5060".parse().unwrap(),
        local: "192.0.2.1:5060".parse().unwrap(),
    }
}

fn request(method: &str, branch: &str) -> Request {
    let text = format!(
        "{method} sip:1001@192.0.2.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:0246220000@192.0.2.10>;tag=f1\r\n\
         To: <sip:1001@192.0.2.1>\r\n\
         Call-ID: bench-{branch}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:0246220000@192.0.2.10:5060>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

/// A layer holding `n` live INVITE server transactions.
fn layer_with(n: usize, now: Instant) -> TransactionLayer {
    let mut l = TransactionLayer::new(Timers::default());
    let template = request("INVITE", "z9hG4bKfill");
    for i in 0..n {
        let mut r = template.clone();
        r.headers.set(
            "Via",
            format!("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfill{i}"),
        );
        l.on_message(Message::Request(r), peer(TransportKind::Udp), now);
    }
    while l.poll_action().is_some() {}
    assert_eq!(l.len(), n);
    l
}

fn server_non_invite(c: &mut Criterion) {
    let mut g = c.benchmark_group("server_non_invite");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(64);
    let opts = request("OPTIONS", "z9hG4bKopts");
    let ok = Response::to_request(&opts, 200, Some("t1"));
    for transport in [TransportKind::Udp, TransportKind::Tcp] {
        for n in LIVE {
            let mut l = layer_with(n, t0);
            let name = if transport == TransportKind::Udp {
                "udp"
            } else {
                "tcp"
            };
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    l.on_message(Message::Request(opts.clone()), peer(transport), t0);
                    let Some(Action::Request { tx, .. }) = l.poll_action() else {
                        panic!("no request")
                    };
                    l.respond(tx, ok.clone(), t0);
                    black_box(l.poll_action());
                    // Timer J (UDP); nothing else is armed, so only this one fires.
                    l.handle_timeout(later);
                    debug_assert_eq!(l.len(), n);
                })
            });
        }
    }
    g.finish();
}

fn client_invite(c: &mut Criterion) {
    let mut g = c.benchmark_group("client_invite");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(64);
    let invite = request("INVITE", "z9hG4bKinv");
    let trying = Message::Response(Response::to_request(&invite, 100, None));
    let ok = Message::Response(Response::to_request(&invite, 200, Some("t2")));
    let to = peer(TransportKind::Udp);
    for n in LIVE {
        let mut l = layer_with(n, t0);
        g.bench_with_input(BenchmarkId::new("to_accepted", n), &n, |b, _| {
            b.iter(|| {
                l.send_request(invite.clone(), to, t0);
                black_box(l.poll_action());
                l.on_message(trying.clone(), to, t0);
                l.on_message(ok.clone(), to, t0);
                while let Some(a) = l.poll_action() {
                    black_box(a);
                }
                // Timer M ends the Accepted transaction.
                l.handle_timeout(later);
                debug_assert_eq!(l.len(), n);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, server_non_invite, client_invite);
criterion_main!(benches);
