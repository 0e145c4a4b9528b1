//! Parser cost per message: the budget for call setup is a few microseconds of CPU
//! (DESIGN.md, principle 3). Run with `cargo bench -p sip --bench parse`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip::validate::{check_request, Role};
use sip::{frame_stream, parse, parse_datagram, Framing, Message};
use std::hint::black_box;

/// An INVITE as a softphone sends it (Zoiper/Linphone-like headers, G.711 + DTMF SDP).
const INVITE: &str = "INVITE sip:0246221111@192.0.2.10:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.55:52734;branch=z9hG4bK-524287-1---a1b2c3d4e5f60718;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:operator07@192.0.2.55:52734;transport=UDP>;+sip.instance=\"<urn:uuid:7b0a3c1e-6a43-4f3e-9c56-2d1e0f4a9b88>\"\r\n\
To: <sip:0246221111@192.0.2.10>\r\n\
From: \"Operator 07\" <sip:operator07@192.0.2.10>;tag=8f3a2b1c\r\n\
Call-ID: YzE4ZjM2NWU4ZTQ3NDQ2ZmI0OGU2ZGQ5NjA0ZWZhNDM.\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Content-Type: application/sdp\r\n\
Supported: replaces, norefersub, extended-refer, timer, X-cisco-serviceuri\r\n\
User-Agent: Z 5.6.2 v2.10.19.9\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 339\r\n\
\r\n\
v=0\r\n\
o=Z 1700000000000 1 IN IP4 192.0.2.55\r\n\
s=Z\r\n\
c=IN IP4 192.0.2.55\r\n\
t=0 0\r\n\
m=audio 8000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=ssrc:1234567890 cname:operator07@192.0.2.55\r\n\
a=label:main-audio-0001\r\n\
a=mid:0\r\n\
a=rtcp:8001 IN IP4 192.0.2.55\r\n";

fn benches(c: &mut Criterion) {
    let invite = INVITE.as_bytes();
    assert!(matches!(parse_datagram(invite), Ok(Message::Request(_))));
    let mut g = c.benchmark_group("sip_parse");
    g.throughput(Throughput::Bytes(invite.len() as u64));
    g.bench_function("parse_invite", |b| {
        b.iter(|| parse_datagram(black_box(invite)))
    });
    let Ok(Message::Request(req)) = parse_datagram(invite) else {
        unreachable!()
    };
    g.bench_function("check_request_invite", |b| {
        b.iter(|| check_request(black_box(&req), Role::Uas))
    });
    g.bench_function("render_invite", |b| b.iter(|| black_box(&req).to_bytes()));
    g.bench_function("parse_check_render_invite", |b| {
        b.iter(|| {
            let Ok(Message::Request(r)) = parse_datagram(black_box(invite)) else {
                unreachable!()
            };
            let _ = check_request(&r, Role::Uas);
            r.to_bytes()
        })
    });
    // A TCP receive buffer holding 16 pipelined INVITEs: frame and parse them all.
    let stream: Vec<u8> = invite.repeat(16);
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("frame_only_16_invites", |b| {
        b.iter(|| {
            let mut at = 0;
            while let Ok(Some(n)) = frame_stream(black_box(&stream[at..]), 65_535) {
                at += n;
            }
            at
        })
    });
    g.bench_function("frame_stream_16_invites", |b| {
        b.iter(|| {
            let mut at = 0;
            while let Ok(Some(n)) = frame_stream(black_box(&stream[at..]), 65_535) {
                let _ = parse(&stream[at..at + n], Framing::Stream);
                at += n;
            }
            at
        })
    });
    g.finish();
}

criterion_group!(parse_benches, benches);
criterion_main!(parse_benches);
