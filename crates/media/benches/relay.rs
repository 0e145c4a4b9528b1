//! Per-packet cost of the relay and per-frame cost of G.711.
//! Run: `cargo bench -p media --bench relay`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::forward::{Forwarder, StatsCells};
use media::g711::{self, Codec};
use media::rtp::{Header, RtpPacket};
use media::{Leg, LegConfig};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn frame() -> Vec<i16> {
    media::tone::sine(1000.0, 0.02, 12000)
}

fn g711_frames(c: &mut Criterion) {
    let pcm = frame();
    let mut enc = [0u8; 160];
    let mut dec = [0i16; 160];
    let mut g = c.benchmark_group("g711_160_samples");
    g.throughput(Throughput::Elements(160));
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let name = codec.encoding_name();
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| g711::encode_frame(codec, black_box(&pcm), &mut enc))
        });
        g711::encode_frame(codec, &pcm, &mut enc);
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| g711::decode_frame(codec, black_box(&enc), &mut dec))
        });
    }
    let src = enc;
    g.bench_function("transcode_PCMU_to_PCMA", |b| {
        b.iter(|| g711::transcode(Codec::Pcmu, Codec::Pcma, black_box(&src), &mut enc))
    });
    g.finish();
}

fn packet(pt: u8) -> Vec<u8> {
    let mut p = vec![0u8; 172];
    Header {
        marker: false,
        payload_type: pt,
        sequence: 1,
        timestamp: 0,
        ssrc: 7,
    }
    .write(&mut p);
    let pcm = frame();
    g711::encode_frame(Codec::Pcmu, &pcm, &mut p[12..]);
    p
}

/// One relayed packet: parse, validate, latch check, RFC 3550 stats, destination,
/// header rewrite and (when the laws differ) transcoding — everything between
/// `recv_from` and `send_to`, including the `Instant::now()` the task takes.
fn relay_decision(c: &mut Criterion) {
    let a: SocketAddr = "10.0.0.1:4000".parse().unwrap();
    let b: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let mut g = c.benchmark_group("relay_per_packet");
    g.throughput(Throughput::Elements(1));
    for (name, b_codec) in [
        ("same_law_PCMU", Codec::Pcmu),
        ("transcode_PCMU_to_PCMA", Codec::Pcma),
    ] {
        let cfg = |remote, codec| LegConfig {
            remote: Some(remote),
            codec,
            telephone_event_pt: Some(101),
            pinned: false,
            srtp: None,
        };
        let mut f = Forwarder::new(
            cfg(a, Codec::Pcmu),
            cfg(b, b_codec),
            Arc::new(StatsCells::default()),
            Instant::now(),
        );
        let mut p = packet(0);
        let mut out = [0u8; 1500];
        let mut seq: u16 = 1;
        g.bench_function(name, |bch| {
            bch.iter(|| {
                seq = seq.wrapping_add(1);
                p[2..4].copy_from_slice(&seq.to_be_bytes());
                p[4..8].copy_from_slice(&(seq as u32 * 160).to_be_bytes());
                let o = f.forward(Leg::A, a, black_box(&p), &mut out, Instant::now());
                black_box(o.send)
            })
        });
    }
    let p = packet(0);
    g.bench_function("rtp_parse_only", |bch| {
        bch.iter(|| {
            let r = RtpPacket::parse(black_box(&p)).unwrap();
            black_box((r.sequence(), r.timestamp(), r.payload().len()))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the build machine is shared.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = g711_frames, relay_decision
}
criterion_main!(benches);
