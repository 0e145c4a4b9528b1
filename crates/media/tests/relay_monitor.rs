//! A supervisor on a relayed call (listen / whisper / barge): three fake endpoints on
//! 127.0.0.1 — the citizen on leg A (µ-law, 440 Hz), the operator on leg B (A-law,
//! 1,000 Hz) and the supervisor's link (µ-law, 1,400 Hz) — each sending its tone; what
//! each receives is judged by the tones in it.

use media::g711;
use media::mix::MixMode;
use media::monitor::MonitorConfig;
use media::rtp::{Header, RtpPacket};
use media::tone;
use media::{Codec, LegConfig, PortAllocator, Relay};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::{interval, timeout};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const TONES: [f64; 3] = [440.0, 1000.0, 1400.0];
const FRAMES: usize = 60;

/// Below the e2e blocks (20000+) and beside `relay.rs`'s ranges (15000–15699).
fn allocator(base: u16) -> PortAllocator {
    PortAllocator::new(LO, base, base + 19).unwrap()
}

async fn stream_tone(sock: Arc<UdpSocket>, to: SocketAddr, codec: Codec, freq: f64) {
    let pcm = tone::sine(freq, FRAMES as f64 * 0.02, 8000);
    let mut tick = interval(Duration::from_millis(20));
    let mut enc = [0u8; 160];
    for (i, chunk) in pcm.chunks(160).enumerate() {
        tick.tick().await;
        g711::encode_frame(codec, chunk, &mut enc);
        let mut b = vec![0u8; 172];
        Header {
            marker: false,
            payload_type: codec.payload_type(),
            sequence: i as u16,
            timestamp: 160 * i as u32,
            ssrc: 7 + freq as u32,
        }
        .write(&mut b);
        b[12..].copy_from_slice(&enc);
        sock.send_to(&b, to).await.unwrap();
    }
}

/// Everything that arrives for about the length of the tones, decoded in `codec`.
async fn receive(sock: Arc<UdpSocket>, codec: Codec) -> Vec<i16> {
    let mut buf = [0u8; 1500];
    let mut pcm = Vec::new();
    let end = tokio::time::Instant::now() + Duration::from_millis(FRAMES as u64 * 20 + 300);
    while let Ok(Ok((n, _))) = timeout(
        end.saturating_duration_since(tokio::time::Instant::now()),
        sock.recv_from(&mut buf),
    )
    .await
    {
        let p = RtpPacket::parse(&buf[..n]).expect("RTP from the relay");
        pcm.extend(p.payload().iter().map(|b| codec.decode(*b)));
    }
    pcm
}

/// The tones clearly present (above a tenth of the strongest, and not near silence).
fn heard(pcm: &[i16]) -> Vec<f64> {
    let p: Vec<f64> = TONES
        .iter()
        .map(|&f| tone::goertzel_power(pcm, 8000, f))
        .collect();
    let max = p.iter().cloned().fold(0.0, f64::max);
    if tone::rms(pcm) < 200.0 {
        return vec![];
    }
    TONES
        .iter()
        .zip(&p)
        .filter(|(_, &x)| x > max / 10.0)
        .map(|(f, _)| *f)
        .collect()
}

/// What (citizen, operator, supervisor) heard with a supervisor in `mode`.
async fn three_way(mode: MixMode, base: u16) -> [Vec<f64>; 3] {
    three_way_then(mode, None, base).await
}

/// Like `three_way`, the supervisor switching to `then` before anyone speaks.
async fn three_way_then(mode: MixMode, then: Option<MixMode>, base: u16) -> [Vec<f64>; 3] {
    let ports = allocator(base);
    let bind = || async { Arc::new(UdpSocket::bind((LO, 0)).await.unwrap()) };
    let (citizen, operator, supervisor) = (bind().await, bind().await, bind().await);
    let cfg = |s: &UdpSocket, codec| LegConfig {
        remote: Some(s.local_addr().unwrap()),
        codec,
        telephone_event_pt: Some(101),
        pinned: false,
        srtp: None,
    };
    let (a, b) = (ports.allocate().unwrap(), ports.allocate().unwrap());
    let (to_a, to_b) = (a.rtp_addr(), b.rtp_addr());
    let relay = Relay::start(
        a,
        b,
        cfg(&citizen, Codec::Pcmu),
        cfg(&operator, Codec::Pcma),
    );
    let link = ports.allocate().unwrap();
    let to_link = link.rtp_addr();
    relay.monitor(
        link,
        MonitorConfig {
            remote: supervisor.local_addr().unwrap(),
            mode,
        },
    );
    if let Some(m) = then {
        relay.set_monitor_mode(m);
    }
    relay.settled().await;
    let rx = [
        tokio::spawn(receive(citizen.clone(), Codec::Pcmu)),
        tokio::spawn(receive(operator.clone(), Codec::Pcma)),
        tokio::spawn(receive(supervisor.clone(), Codec::Pcmu)),
    ];
    let tx = [
        tokio::spawn(stream_tone(citizen, to_a, Codec::Pcmu, 440.0)),
        tokio::spawn(stream_tone(operator, to_b, Codec::Pcma, 1000.0)),
        tokio::spawn(stream_tone(supervisor, to_link, Codec::Pcmu, 1400.0)),
    ];
    for t in tx {
        t.await.unwrap();
    }
    let mut got: [Vec<f64>; 3] = Default::default();
    for (g, r) in got.iter_mut().zip(rx) {
        *g = heard(&r.await.unwrap());
    }
    // The supervisor leaves: the link's port is free at once.
    relay.unmonitor();
    relay.settled().await;
    assert!(
        std::net::UdpSocket::bind(to_link).is_ok(),
        "the link's port is released"
    );
    relay.stop().await;
    got
}

#[tokio::test]
async fn listen_the_supervisor_hears_both_the_call_is_untouched() {
    let [citizen, operator, supervisor] = three_way(MixMode::Listen, 15700).await;
    assert_eq!(supervisor, [440.0, 1000.0]);
    assert_eq!(citizen, [1000.0]);
    assert_eq!(operator, [440.0]);
}

#[tokio::test]
async fn whisper_the_operator_hears_the_supervisor_the_citizen_does_not() {
    let [citizen, operator, supervisor] = three_way(MixMode::Whisper, 15720).await;
    assert_eq!(supervisor, [440.0, 1000.0]);
    assert_eq!(operator, [440.0, 1400.0]);
    assert_eq!(citizen, [1000.0]);
}

#[tokio::test]
async fn barge_everyone_hears_everyone() {
    let [citizen, operator, supervisor] = three_way(MixMode::Barge, 15740).await;
    assert_eq!(supervisor, [440.0, 1000.0]);
    assert_eq!(operator, [440.0, 1400.0]);
    assert_eq!(citizen, [1000.0, 1400.0]);
}

#[tokio::test]
async fn listen_then_barge_the_citizen_hears_the_supervisor_from_then_on() {
    let [citizen, operator, supervisor] =
        three_way_then(MixMode::Listen, Some(MixMode::Barge), 15760).await;
    assert_eq!(supervisor, [440.0, 1000.0]);
    assert_eq!(operator, [440.0, 1400.0]);
    assert_eq!(citizen, [1000.0, 1400.0]);
}
