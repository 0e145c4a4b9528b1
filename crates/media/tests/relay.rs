//! The relay between two fake endpoints (plain UDP sockets) on 127.0.0.1.

use media::dtmf::TelephoneEvent;
use media::g711;
use media::rtp::{Header, RtpPacket};
use media::tone::{self, dominant_frequency};
use media::{Codec, Leg, LegConfig, PlaybackOutcome, PortAllocator, Prompt, Relay, TapFrame};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{interval, sleep, timeout};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const TONES: [f64; 2] = [440.0, 1000.0];
const FRAMES: usize = 50; // 1 s at 20 ms

/// Each test has its own port range: tests in this file run concurrently. The ranges
/// (15000–15699) lie below the kernel's ephemeral ports (32768+), so no socket bound
/// to port 0 elsewhere lands in them, and below the e2e tests' blocks (20000+).
fn allocator(base: u16) -> PortAllocator {
    PortAllocator::new(LO, base, base + 99).unwrap()
}

async fn endpoint() -> UdpSocket {
    UdpSocket::bind((LO, 0)).await.unwrap()
}

fn leg(remote: SocketAddr, codec: Codec, te: Option<u8>) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        codec,
        telephone_event_pt: te,
        pinned: false,
        srtp: None,
    }
}

fn packet(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 12 + payload.len()];
    Header {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x1234_5678,
    }
    .write(&mut b);
    b[12..].copy_from_slice(payload);
    b
}

/// Sends `frames` packets of a `freq` tone in `codec` every 20 ms to `to`.
async fn stream_tone(
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    codec: Codec,
    freq: f64,
    frames: usize,
    seq0: u16,
) {
    let pcm = tone::sine(freq, frames as f64 * 0.02, 8000);
    let mut tick = interval(Duration::from_millis(20));
    let mut enc = [0u8; 160];
    for (i, chunk) in pcm.chunks(160).enumerate() {
        tick.tick().await;
        g711::encode_frame(codec, chunk, &mut enc);
        let p = packet(
            codec.payload_type(),
            false,
            seq0.wrapping_add(i as u16),
            160 * i as u32,
            &enc,
        );
        sock.send_to(&p, to).await.unwrap();
    }
}

#[derive(Debug, Clone)]
struct Got {
    pt: u8,
    marker: bool,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// Receives until `n` packets arrived, then 150 ms more to catch any extra; or
/// gives up after `limit`.
async fn collect(sock: &UdpSocket, n: usize, limit: Duration) -> Vec<Got> {
    collect_onto(sock, Vec::new(), n, limit, true).await
}

/// The first `n` packets (fewer only if `limit` passes), returning at once: a test
/// waits on what arrived instead of sleeping.
async fn first(sock: &UdpSocket, n: usize, limit: Duration) -> Vec<Got> {
    collect_onto(sock, Vec::new(), n, limit, false).await
}

async fn collect_onto(
    sock: &UdpSocket,
    mut got: Vec<Got>,
    n: usize,
    limit: Duration,
    linger: bool,
) -> Vec<Got> {
    let mut buf = [0u8; 1500];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let wait = if got.len() >= n {
            if !linger {
                return got;
            }
            Duration::from_millis(150)
        } else {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        };
        match timeout(wait, sock.recv_from(&mut buf)).await {
            Ok(Ok((len, _))) => {
                let p = RtpPacket::parse(&buf[..len]).expect("valid RTP from the relay");
                got.push(Got {
                    pt: p.payload_type(),
                    marker: p.marker(),
                    seq: p.sequence(),
                    ts: p.timestamp(),
                    ssrc: p.ssrc(),
                    payload: p.payload().to_vec(),
                });
            }
            _ => return got,
        }
    }
}

fn decode(codec: Codec, got: &[Got]) -> Vec<i16> {
    got.iter()
        .flat_map(|g| g.payload.iter().map(move |b| codec.decode(*b)))
        .collect()
}

/// One SSRC, consecutive sequence numbers, timestamps 160 apart: nothing lost or
/// reordered.
fn assert_continuous(got: &[Got]) {
    for w in got.windows(2) {
        assert_eq!(w[1].ssrc, w[0].ssrc);
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "gap or reorder");
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160));
    }
}

/// Sample by sample, `pcm` is the tone the other side sent, within the error of
/// two G.711 quantisations (the sender's and our transcoding). A dominant
/// frequency alone would not catch a wrong law: the period survives mis-decoding.
fn assert_same_audio(pcm: &[i16], freq: f64) {
    let sent = tone::sine(freq, FRAMES as f64 * 0.02, 8000);
    assert_eq!(pcm.len(), sent.len());
    for (i, (got, want)) in pcm.iter().zip(&sent).enumerate() {
        let err = (*got as i32 - *want as i32).abs();
        assert!(
            err <= (*want as i32).abs() / 8 + 32,
            "sample {i}: got {got}, sent {want}"
        );
    }
}

#[tokio::test]
async fn transcodes_between_laws_taps_and_frees_ports() {
    let ports = allocator(15000);
    let (ea, eb) = (Arc::new(endpoint().await), Arc::new(endpoint().await));
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, Some(101)),
        leg(eb.local_addr().unwrap(), Codec::Pcma, Some(96)),
    );
    let (tap_tx, mut tap_rx) = mpsc::channel::<TapFrame>(256);
    relay.set_tap(Some(tap_tx));
    relay.settled().await; // the tap is in place before the first packet

    let (la, lb) = (relay.local_a(), relay.local_b());
    let sa = tokio::spawn(stream_tone(ea.clone(), la, Codec::Pcmu, 440.0, FRAMES, 100));
    let sb = tokio::spawn(stream_tone(
        eb.clone(),
        lb,
        Codec::Pcma,
        1000.0,
        FRAMES,
        60000,
    ));
    let (at_a, at_b) = tokio::join!(
        collect(&ea, FRAMES, Duration::from_secs(5)),
        collect(&eb, FRAMES, Duration::from_secs(5))
    );
    sa.await.unwrap();
    sb.await.unwrap();

    // Every packet arrived, once, in order, in the receiver's own law.
    assert_eq!(at_a.len(), FRAMES);
    assert_eq!(at_b.len(), FRAMES);
    assert!(at_a.iter().all(|g| g.pt == 0 && g.payload.len() == 160));
    assert!(at_b.iter().all(|g| g.pt == 8 && g.payload.len() == 160));
    assert_continuous(&at_a);
    assert_continuous(&at_b);
    // A hears B's 1000 Hz (sent as A-law, received as µ-law), and vice versa.
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcmu, &at_a), 8000, &TONES),
        Some(1000.0)
    );
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcma, &at_b), 8000, &TONES),
        Some(440.0)
    );
    assert_same_audio(&decode(Codec::Pcmu, &at_a), 1000.0);
    assert_same_audio(&decode(Codec::Pcma, &at_b), 440.0);

    let st = relay.stats();
    assert_eq!((st.a.rx_packets, st.a.forwarded, st.a.lost), (50, 50, 0));
    assert_eq!((st.b.rx_packets, st.b.forwarded, st.b.lost), (50, 50, 0));
    assert_eq!((st.a.tx_packets, st.b.tx_packets), (50, 50));

    // The tap saw both directions, decoded.
    let mut frames: Vec<TapFrame> = Vec::new();
    while let Ok(f) = tap_rx.try_recv() {
        frames.push(f);
    }
    assert_eq!(frames.len(), 100);
    assert_eq!(st.tap_dropped, 0);
    for w in frames.windows(2) {
        assert!(w[1].arrival >= w[0].arrival, "frames in arrival order");
    }
    for (leg, freq) in [(Leg::A, 440.0), (Leg::B, 1000.0)] {
        let pcm: Vec<i16> = frames
            .iter()
            .filter(|f| f.leg == leg)
            .flat_map(|f| f.samples)
            .collect();
        assert_eq!(pcm.len(), 50 * 160);
        assert_eq!(dominant_frequency(&pcm, 8000, &TONES), Some(freq));
        assert_same_audio(&pcm, freq);
    }

    let stats = relay.stop().await;
    assert_eq!(stats.a.forwarded, 50);
    // The four ports are free again.
    for addr in [la, lb] {
        std::net::UdpSocket::bind(addr).expect("RTP port freed");
        std::net::UdpSocket::bind((LO, addr.port() + 1)).expect("RTCP port freed");
    }
}

#[tokio::test]
async fn latches_to_the_source_the_packets_come_from() {
    let ports = allocator(15100);
    let ea = Arc::new(endpoint().await);
    // B announces one port in SDP but sends from another (a NAT would do this).
    let (eb_sdp, eb_real) = (endpoint().await, Arc::new(endpoint().await));
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, None),
        leg(eb_sdp.local_addr().unwrap(), Codec::Pcmu, None),
    );
    let (la, lb) = (relay.local_a(), relay.local_b());
    // Before B has sent anything, A's media goes to B's SDP address.
    ea.send_to(&packet(0, true, 1, 0, &[0xFF; 160]), la)
        .await
        .unwrap();
    assert_eq!(collect(&eb_sdp, 1, Duration::from_secs(2)).await.len(), 1);
    // B's first packet moves the target to where B really is.
    eb_real
        .send_to(&packet(0, true, 9, 0, &[0xFF; 160]), lb)
        .await
        .unwrap();
    assert_eq!(collect(&ea, 1, Duration::from_secs(2)).await.len(), 1);

    let sa = tokio::spawn(stream_tone(ea.clone(), la, Codec::Pcmu, 440.0, FRAMES, 2));
    let sb = tokio::spawn(stream_tone(
        eb_real.clone(),
        lb,
        Codec::Pcmu,
        1000.0,
        FRAMES,
        10,
    ));
    let (at_real, at_sdp, at_a) = tokio::join!(
        collect(&eb_real, FRAMES, Duration::from_secs(5)),
        collect(&eb_sdp, 1, Duration::from_millis(1500)),
        collect(&ea, FRAMES, Duration::from_secs(5)),
    );
    sa.await.unwrap();
    sb.await.unwrap();
    assert_eq!(
        at_real.len(),
        FRAMES,
        "all of A's media reached B's real address"
    );
    assert!(
        at_sdp.is_empty(),
        "nothing went to the SDP address after latching"
    );
    assert_eq!(at_a.len(), FRAMES);
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcmu, &at_real), 8000, &TONES),
        Some(440.0)
    );

    // A third party sending to B's port is not relayed.
    let intruder = endpoint().await;
    intruder
        .send_to(&packet(0, false, 11, 1600, &[0xFF; 160]), lb)
        .await
        .unwrap();
    assert!(collect(&ea, 1, Duration::from_millis(300)).await.is_empty());
    assert_eq!(relay.stop().await.b.dropped_source, 1);
}

#[tokio::test]
async fn telephone_events_pass_with_the_payload_type_renumbered() {
    let ports = allocator(15200);
    let (ea, eb) = (endpoint().await, endpoint().await);
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, Some(101)),
        leg(eb.local_addr().unwrap(), Codec::Pcma, Some(96)),
    );
    let (dtmf_tx, mut dtmf_rx) = mpsc::channel(8);
    relay.set_dtmf_sink(Some(dtmf_tx));
    relay.settled().await;

    // "1": start (marker), two updates, three end packets, all at timestamp 8000.
    let mut sent = Vec::new();
    for (i, (end, dur)) in [
        (false, 160),
        (false, 480),
        (false, 800),
        (true, 960),
        (true, 960),
        (true, 960),
    ]
    .into_iter()
    .enumerate()
    {
        let ev = TelephoneEvent {
            event: 1,
            end,
            volume: 10,
            duration: dur,
        }
        .to_bytes();
        ea.send_to(
            &packet(101, i == 0, 500 + i as u16, 8000, &ev),
            relay.local_a(),
        )
        .await
        .unwrap();
        sent.push(ev);
        sleep(Duration::from_millis(20)).await;
    }
    let got = collect(&eb, 6, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 6);
    assert!(
        got.iter().all(|g| g.pt == 96),
        "101 on A's side is 96 on B's"
    );
    assert!(got[0].marker);
    assert!(
        got.iter().all(|g| g.ts == got[0].ts),
        "one event, one timestamp"
    );
    let payloads: Vec<Vec<u8>> = got.iter().map(|g| g.payload.clone()).collect();
    assert_eq!(
        payloads,
        sent.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
    );

    let d = timeout(Duration::from_secs(1), dtmf_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.leg, d.digit), (Leg::A, '1'));
    assert!(
        dtmf_rx.try_recv().is_err(),
        "reported once despite three end packets"
    );
    relay.stop().await;
}

fn prompt_file(name: &str, freq: f64, secs: f64) -> Arc<Prompt> {
    let dir = std::env::temp_dir().join(format!("media-relay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prompt.wav");
    tone::write_wav(&path, &tone::sine(freq, secs, 10000), 8000).unwrap();
    let p = Prompt::from_wav(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    Arc::new(p)
}

#[tokio::test]
async fn playback_sends_the_prompt_then_resumes_forwarding() {
    let ports = allocator(15300);
    let (ea, eb) = (endpoint().await, Arc::new(endpoint().await));
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcma, Some(101)),
        leg(eb.local_addr().unwrap(), Codec::Pcmu, Some(101)),
    );
    let prompt = prompt_file("play", 1000.0, 1.0);
    assert_eq!(prompt.frames(), 50);
    // B talks (440 Hz) for 1.6 s; the prompt covers the first second toward A.
    let talk = tokio::spawn(stream_tone(
        eb.clone(),
        relay.local_b(),
        Codec::Pcmu,
        440.0,
        80,
        7,
    ));
    // Some of B's speech reaches A before the prompt starts.
    let early = first(&ea, 3, Duration::from_secs(3)).await;
    assert_eq!(early.len(), 3, "B's speech did not reach A");
    let playback = relay.play(Leg::A, prompt);
    let got = collect_onto(&ea, early, 200, Duration::from_secs(3), true).await;
    assert_eq!(
        timeout(Duration::from_secs(1), playback.finished())
            .await
            .unwrap(),
        PlaybackOutcome::Completed
    );
    talk.await.unwrap();

    // B's speech before the prompt, the prompt, then B again: three runs, each
    // starting with a marker, all one continuous stream toward A.
    assert!(got.iter().all(|g| g.pt == 8));
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "in order, no gap");
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
    let marks: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, g)| g.marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(marks.len(), 3, "markers at {marks:?}");
    let prompt_part = &got[marks[1]..marks[2]];
    assert_eq!(prompt_part.len(), 50, "the whole prompt, 20 ms per packet");
    assert_continuous(prompt_part);
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcma, prompt_part), 8000, &TONES),
        Some(1000.0)
    );
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcma, &got[..marks[1]]), 8000, &TONES),
        Some(440.0)
    );
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcma, &got[marks[2]..]), 8000, &TONES),
        Some(440.0)
    );

    let st = relay.stop().await;
    assert_eq!(st.prompt_packets, 50);
    assert_eq!(st.b.rx_packets, 80);
    assert_eq!(
        st.b.forwarded + st.b.suppressed,
        80,
        "B's speech during the prompt is held back"
    );
    assert!(st.b.suppressed >= 40, "suppressed {}", st.b.suppressed);
}

#[tokio::test]
async fn playback_can_be_stopped_and_replaced() {
    let ports = allocator(15400);
    let ea = endpoint().await;
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, None),
        LegConfig {
            remote: None,
            codec: Codec::Pcmu,
            telephone_event_pt: None,
            pinned: false,
            srtp: None,
        },
    );
    // Each prompt is cut after a few of its packets have gone out (waited on, not slept).
    let one = relay.play(Leg::A, prompt_file("a", 440.0, 1.0));
    let got = first(&ea, 5, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 5, "the first prompt did not start");
    let two = relay.play(Leg::A, prompt_file("b", 1000.0, 1.0));
    assert_eq!(one.finished().await, PlaybackOutcome::Replaced);
    let n = got.len();
    let mut got = got;
    // Packets of the first prompt may still be in flight: wait for five of the second.
    loop {
        let mark = got[n..].iter().position(|g| g.marker);
        if mark.is_some_and(|m| got.len() - (n + m) >= 5) {
            break;
        }
        let more = first(&ea, 1, Duration::from_secs(2)).await;
        assert!(!more.is_empty(), "the second prompt did not start");
        got.extend(more);
    }
    two.stop();
    assert_eq!(two.finished().await, PlaybackOutcome::Stopped);
    let got = collect_onto(&ea, got, 0, Duration::from_millis(300), true).await;
    // Two runs (each starts with a marker), neither a whole 50-packet prompt.
    let marks: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, g)| g.marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(marks.len(), 2, "markers at {marks:?} of {}", got.len());
    let (first_run, second_run) = (marks[1] - marks[0], got.len() - marks[1]);
    assert!(
        marks[0] == 0 && first_run > 0 && first_run < 50,
        "first prompt: {first_run}"
    );
    assert!(
        second_run > 0 && second_run < 50,
        "second prompt: {second_run}"
    );
    assert_eq!(
        dominant_frequency(&decode(Codec::Pcmu, &got[marks[1]..]), 8000, &TONES),
        Some(1000.0)
    );
    let stats = relay.stop().await;
    assert_eq!(stats.prompt_packets as usize, got.len());
}

#[tokio::test]
async fn rtcp_is_terminated_with_our_own_reports() {
    use media::rtcp;
    let ports = allocator(15500);
    let ea = Arc::new(endpoint().await);
    let ea_rtcp = endpoint().await;
    // B's endpoint has an even/odd pair, so RTP port + 1 is a socket we watch.
    let (b_rtp, b_rtcp, _lease) = allocator(15600).allocate().unwrap().into_sockets();
    let eb = Arc::new(UdpSocket::from_std(b_rtp).unwrap());
    let eb_rtcp = UdpSocket::from_std(b_rtcp).unwrap();
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, None),
        leg(eb.local_addr().unwrap(), Codec::Pcmu, None),
    );
    let (la, lb) = (relay.local_a(), relay.local_b());
    let la_rtcp = SocketAddr::new(LO, la.port() + 1);
    // Ten packets each way.
    let sa = tokio::spawn(stream_tone(ea.clone(), la, Codec::Pcmu, 440.0, 10, 1));
    let sb = tokio::spawn(stream_tone(eb.clone(), lb, Codec::Pcmu, 1000.0, 10, 1));
    let (at_a, at_b) = tokio::join!(
        collect(&ea, 10, Duration::from_secs(3)),
        collect(&eb, 10, Duration::from_secs(3))
    );
    sa.await.unwrap();
    sb.await.unwrap();
    assert_eq!((at_a.len(), at_b.len()), (10, 10));
    let (ssrc_to_a, ssrc_to_b) = (at_a[0].ssrc, at_b[0].ssrc);

    // A reports on our stream from its own RTCP port: 25 % loss, jitter 33.
    let mut rr = [0u8; 128];
    let blk = rtcp::ReportBlock {
        ssrc: ssrc_to_a,
        fraction_lost: 64,
        cumulative_lost: 3,
        jitter: 33,
        ..Default::default()
    };
    let n = rtcp::write_report(&mut rr, 0x1234_5678, None, Some(&blk), "a@test");
    ea_rtcp.send_to(&rr[..n], la_rtcp).await.unwrap();

    // Our first report to A comes 2.5 s after the start, to the latched RTCP port.
    let mut buf = [0u8; 1500];
    let (len, from) = timeout(Duration::from_secs(4), ea_rtcp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, la_rtcp, "sent from the odd port of A's pair");
    let s = rtcp::parse(&buf[..len], 0x1234_5678).expect("a valid compound SR/RR + SDES");
    assert_eq!(s.sender_ssrc, ssrc_to_a, "the SSRC of the RTP we send A");
    let si = s.sender_info.expect("we sent A media: SR");
    assert_eq!((si.packets, si.octets), (10, 1600));
    let b = s.block.expect("a block about A's stream");
    assert_eq!((b.highest_seq, b.cumulative_lost), (10, 0));

    // B's RTCP port got our report to B, and not A's RR relayed.
    let (len, _) = timeout(Duration::from_secs(1), eb_rtcp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rtcp::parse(&buf[..len], 0).unwrap().sender_ssrc, ssrc_to_b);
    assert!(
        timeout(Duration::from_millis(200), eb_rtcp.recv_from(&mut buf))
            .await
            .is_err()
    );

    let st = relay.stop().await;
    assert_eq!(
        (st.a.rtcp_rx, st.a.remote_fraction_lost, st.a.remote_jitter),
        (1, 64, 33)
    );
    assert_eq!((st.a.rtcp_tx, st.b.rtcp_tx), (1, 1));
}

/// A tap whose recording is gone (the recorder refused it, or the writer ended) is let
/// go: its frames are not counted as drops, and the call's audio goes on. A tap that is
/// only full is a drop, counted.
#[tokio::test]
async fn a_closed_tap_is_let_go_and_a_full_one_counts_drops() {
    // Ports of their own (15980–15995), between the monitor tests' blocks.
    let ports = PortAllocator::new(LO, 15980, 15995).unwrap();
    let (ea, eb) = (Arc::new(endpoint().await), Arc::new(endpoint().await));
    let relay = Relay::start(
        ports.allocate().unwrap(),
        ports.allocate().unwrap(),
        leg(ea.local_addr().unwrap(), Codec::Pcmu, None),
        leg(eb.local_addr().unwrap(), Codec::Pcmu, None),
    );
    let (la, lb) = (relay.local_a(), relay.local_b());

    // Closed before the first packet.
    let (closed_tx, closed_rx) = mpsc::channel::<TapFrame>(256);
    drop(closed_rx);
    relay.set_tap(Some(closed_tx));
    relay.settled().await;
    let s = tokio::spawn(stream_tone(ea.clone(), la, Codec::Pcmu, 440.0, 10, 0));
    assert_eq!(collect(&eb, 10, Duration::from_secs(5)).await.len(), 10);
    s.await.unwrap();
    let st = relay.stats();
    assert_eq!((st.tap_frames, st.tap_dropped), (0, 0));

    // Room for 4 frames, never read: 4 taken, the other 6 dropped and counted.
    let (full_tx, _full_rx) = mpsc::channel::<TapFrame>(4);
    relay.set_tap(Some(full_tx));
    relay.settled().await;
    let s = tokio::spawn(stream_tone(eb.clone(), lb, Codec::Pcmu, 1000.0, 10, 0));
    assert_eq!(collect(&ea, 10, Duration::from_secs(5)).await.len(), 10);
    s.await.unwrap();
    let st = relay.stats();
    assert_eq!((st.tap_frames, st.tap_dropped), (4, 6));
    relay.stop().await;
}
