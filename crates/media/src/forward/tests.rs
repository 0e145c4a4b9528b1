use super::*;
use crate::dtmf::TelephoneEvent;
use crate::rtcp;
use std::sync::Arc;
use std::time::Duration;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cfg(remote: &str, codec: Codec, te: Option<u8>) -> LegConfig {
    LegConfig {
        remote: Some(addr(remote)),
        codec,
        telephone_event_pt: te,
        pinned: false,
        srtp: None,
    }
}

fn pkt(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 12 + payload.len()];
    Header {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
    .write(&mut b);
    b[12..].copy_from_slice(payload);
    b
}

struct Rig {
    f: Forwarder,
    stats: Arc<StatsCells>,
    t0: Instant,
    out: [u8; 1500],
}

fn rig() -> Rig {
    let stats = Arc::new(StatsCells::default());
    let t0 = Instant::now();
    let f = Forwarder::new(
        cfg("10.0.0.1:4000", Codec::Pcmu, Some(101)),
        cfg("10.0.0.2:5000", Codec::Pcma, Some(96)),
        stats.clone(),
        t0,
    );
    Rig {
        f,
        stats,
        t0,
        out: [0; 1500],
    }
}

impl Rig {
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    fn send(&mut self, from: Leg, src: &str, p: &[u8], ms: u64) -> Outcome {
        let now = self.at(ms);
        self.f.forward(from, addr(src), p, &mut self.out, now)
    }
    fn sent(&self, len: usize) -> RtpPacket<'_> {
        RtpPacket::parse(&self.out[..len]).unwrap()
    }
}

#[test]
fn transcodes_and_rewrites_the_header() {
    let mut r = rig();
    let payload: Vec<u8> = (0..160u32).map(|i| (i * 7) as u8).collect();
    let mut first = None;
    for i in 0..5u16 {
        let p = pkt(0, 1000 + i, 8000 + 160 * i as u32, 0xAAAA, &payload);
        let o = r.send(Leg::A, "10.0.0.1:4000", &p, 20 * i as u64);
        let (len, to) = o.send.expect("forwarded");
        assert_eq!(to, addr("10.0.0.2:5000"));
        let s = r.sent(len);
        assert_eq!(s.payload_type(), 8, "PCMU in, PCMA out");
        assert_ne!(s.ssrc(), 0xAAAA, "our own SSRC");
        let expect: Vec<u8> = payload
            .iter()
            .map(|b| g711::transcode_ulaw_to_alaw(*b))
            .collect();
        assert_eq!(s.payload(), &expect[..]);
        assert_eq!(s.marker(), i == 0, "marker only on the first packet");
        let (seq0, ts0) = *first.get_or_insert((s.sequence(), s.timestamp()));
        assert_eq!(s.sequence(), seq0.wrapping_add(i));
        assert_eq!(s.timestamp(), ts0.wrapping_add(160 * i as u32));
        let a = o.audio.unwrap();
        assert_eq!(
            (a.codec, a.timestamp, a.end - a.start),
            (Codec::Pcmu, 8000 + 160 * i as u32, 160)
        );
    }
    let st = r.stats.snapshot();
    assert_eq!((st.a.rx_packets, st.a.forwarded, st.a.lost), (5, 5, 0));
}

#[test]
fn latches_to_the_real_source_and_refuses_others() {
    let mut r = rig();
    let p = pkt(8, 1, 0, 0xB, &[0xD5; 160]);
    // Before B has sent anything, A's media goes to B's SDP address.
    assert_eq!(r.f.target(Leg::B), Some(addr("10.0.0.2:5000")));
    // B's packets come from a NAT-mapped address.
    assert!(r.send(Leg::B, "198.51.100.9:31337", &p, 0).send.is_some());
    assert_eq!(r.f.target(Leg::B), Some(addr("198.51.100.9:31337")));
    let o = r.send(Leg::A, "10.0.0.1:4000", &pkt(0, 1, 0, 0xA, &[0xFF; 160]), 0);
    assert_eq!(o.send.unwrap().1, addr("198.51.100.9:31337"));
    // Someone else sending to B's port is ignored.
    assert!(r
        .send(
            Leg::B,
            "203.0.113.66:999",
            &pkt(8, 2, 160, 0xB, &[0xD5; 160]),
            20
        )
        .send
        .is_none());
    assert_eq!(r.stats.snapshot().b.dropped_source, 1);
    // Hold and resume to the same SDP address keep the latch.
    r.f.update_leg(
        Leg::B,
        LegConfig {
            remote: None,
            codec: Codec::Pcma,
            telephone_event_pt: Some(96),
            pinned: false,
            srtp: None,
        },
    );
    assert_eq!(r.f.target(Leg::B), None, "on hold: nothing is sent");
    r.f.update_leg(Leg::B, cfg("10.0.0.2:5000", Codec::Pcma, Some(96)));
    assert_eq!(r.f.target(Leg::B), Some(addr("198.51.100.9:31337")));
    // A re-INVITE to a new address starts latching over.
    r.f.update_leg(Leg::B, cfg("10.0.0.3:6000", Codec::Pcma, Some(96)));
    assert_eq!(r.f.target(Leg::B), Some(addr("10.0.0.3:6000")));
    assert_eq!(r.f.rtcp_target(Leg::B), Some(addr("10.0.0.3:6001")));
    let now = r.at(40);
    r.f.rtcp_in(
        Leg::B,
        addr("10.0.0.3:7777"),
        &[0x80, 201, 0, 1, 0, 0, 0, 1],
        now,
        0,
    );
    assert_eq!(r.f.rtcp_target(Leg::B), Some(addr("10.0.0.3:7777")));
}

#[test]
fn telephone_events_are_renumbered_and_detected() {
    let mut r = rig();
    let ev = |end| {
        TelephoneEvent {
            event: 5,
            end,
            volume: 10,
            duration: 800,
        }
        .to_bytes()
    };
    let mut digits = String::new();
    for (i, end) in [false, false, true, true, true].into_iter().enumerate() {
        let o = r.send(
            Leg::A,
            "10.0.0.1:4000",
            &pkt(101, 10 + i as u16, 4000, 0xA, &ev(end)),
            0,
        );
        let (len, _) = o.send.unwrap();
        let s = r.sent(len);
        assert_eq!(s.payload_type(), 96);
        assert_eq!(s.payload(), &ev(end));
        digits.extend(o.digit);
    }
    assert_eq!(digits, "5");
    // The other leg negotiated no telephone-event: not sent, still detected.
    r.f.update_leg(Leg::B, cfg("10.0.0.2:5000", Codec::Pcma, None));
    let o = r.send(
        Leg::A,
        "10.0.0.1:4000",
        &pkt(
            101,
            20,
            9000,
            0xA,
            &TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800,
            }
            .to_bytes(),
        ),
        100,
    );
    assert_eq!((o.send, o.digit), (None, Some('#')));
    assert_eq!(r.stats.snapshot().a.dtmf_digits, 2);

    // A answered our offer's 101 with 100: it may send either.
    r.f.update_leg(Leg::A, cfg("10.0.0.1:4000", Codec::Pcmu, Some(100)));
    r.f.update_leg(Leg::B, cfg("10.0.0.2:5000", Codec::Pcma, Some(96)));
    for (pt, ts) in [(100u8, 20000u32), (101, 30000)] {
        let ev = TelephoneEvent {
            event: 9,
            end: true,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        let o = r.send(
            Leg::A,
            "10.0.0.1:4000",
            &pkt(pt, ts as u16, ts, 0xA, &ev),
            200,
        );
        assert_eq!(o.digit, Some('9'));
        assert_eq!(r.sent(o.send.unwrap().0).payload_type(), 96);
    }
}

#[test]
fn drops_what_it_cannot_relay() {
    let mut r = rig();
    // G.729 was not negotiated on this leg.
    assert!(r
        .send(Leg::A, "10.0.0.1:4000", &pkt(18, 1, 0, 1, &[0; 20]), 0)
        .send
        .is_none());
    // RTCP on the RTP port, garbage, and a runt.
    assert!(r
        .send(
            Leg::A,
            "10.0.0.1:4000",
            &[0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0],
            0
        )
        .send
        .is_none());
    assert!(r
        .send(Leg::A, "10.0.0.1:4000", &[0x00; 40], 0)
        .send
        .is_none());
    assert!(r
        .send(Leg::A, "10.0.0.1:4000", &[0x80; 5], 0)
        .send
        .is_none());
    // CN passes through with its static payload type.
    let o = r.send(Leg::A, "10.0.0.1:4000", &pkt(13, 2, 160, 1, &[40]), 20);
    assert_eq!(r.sent(o.send.unwrap().0).payload_type(), 13);
    // B on hold (no destination) and B hearing a prompt.
    r.f.update_leg(
        Leg::B,
        LegConfig {
            remote: None,
            codec: Codec::Pcma,
            telephone_event_pt: Some(96),
            pinned: false,
            srtp: None,
        },
    );
    assert!(r
        .send(
            Leg::A,
            "10.0.0.1:4000",
            &pkt(0, 3, 320, 1, &[0xFF; 160]),
            40
        )
        .send
        .is_none());
    r.f.update_leg(Leg::B, cfg("10.0.0.2:5000", Codec::Pcma, Some(96)));
    r.f.set_paused(Leg::B, true);
    let o = r.send(
        Leg::A,
        "10.0.0.1:4000",
        &pkt(0, 4, 480, 1, &[0xFF; 160]),
        60,
    );
    assert!(
        o.send.is_none() && o.audio.is_some(),
        "suppressed, still tapped"
    );
    let a = r.stats.snapshot().a;
    assert_eq!(
        (
            a.dropped_payload_type,
            a.dropped_invalid,
            a.dropped_no_target,
            a.suppressed,
            a.forwarded
        ),
        (1, 3, 1, 1, 1)
    );
}

#[test]
fn stream_stays_continuous_across_sources_and_prompts() {
    let mut r = rig();
    let send_a = |r: &mut Rig, seq: u16, ssrc: u32, ms: u64| {
        let p = pkt(0, seq, seq as u32 * 160, ssrc, &[0xFF; 160]);
        let (len, _) = r.send(Leg::A, "10.0.0.1:4000", &p, ms).send.unwrap();
        let s = r.sent(len);
        (s.sequence(), s.timestamp(), s.marker(), s.ssrc())
    };
    let (s0, t0, _, ssrc) = send_a(&mut r, 100, 1, 0);
    let (s1, t1, m1, _) = send_a(&mut r, 101, 1, 20);
    assert_eq!(
        (s1, t1, m1),
        (s0.wrapping_add(1), t0.wrapping_add(160), false)
    );
    // Upstream loss stays visible: 102 lost.
    let (s2, _, _, _) = send_a(&mut r, 103, 1, 60);
    assert_eq!(s2, s0.wrapping_add(3));
    // The peer restarts with a new SSRC and random numbers: we continue, marked.
    let (s3, t3, m3, ssrc3) = send_a(&mut r, 40000, 2, 80);
    assert_eq!((s3, m3, ssrc3), (s2.wrapping_add(1), true, ssrc));
    assert_eq!(
        t3,
        t0.wrapping_add(3 * 160 + 160),
        "advanced by the 20 ms gap"
    );
    // A prompt to B continues the same stream.
    let now = r.at(100);
    let (len, _) =
        r.f.prompt_packet(Leg::B, 7, 0, &[0x2A; 100], &mut r.out, now)
            .unwrap();
    let s = r.sent(len);
    assert_eq!(
        (s.sequence(), s.marker(), s.ssrc(), s.payload_type()),
        (s3.wrapping_add(1), true, ssrc, 8)
    );
    assert_eq!(s.payload().len(), 160);
    assert_eq!(
        s.payload()[99..101],
        [0x2A, 0xD5],
        "short frame padded with A-law silence"
    );
    let now = r.at(120);
    let (len, _) =
        r.f.prompt_packet(Leg::B, 7, 1, &[0x2A; 160], &mut r.out, now)
            .unwrap();
    assert_eq!(r.sent(len).sequence(), s3.wrapping_add(2));
    let (s4, _, m4, _) = send_a(&mut r, 40001, 2, 140);
    assert_eq!((s4, m4), (s3.wrapping_add(3), true));
}

#[test]
fn rtcp_reports_describe_both_directions() {
    let mut r = rig();
    // A sends seq 1..=10 without 4 and 7; nothing has gone to A yet.
    for seq in (1..=10u16).filter(|s| *s != 4 && *s != 7) {
        r.send(
            Leg::A,
            "10.0.0.1:4000",
            &pkt(0, seq, seq as u32 * 160, 0xA, &[0xFF; 160]),
            seq as u64 * 20,
        );
    }
    let mut out = [0u8; 256];
    let ntp0: u64 = 0x0000_1000_0000_0000;
    let (n, to) = r.f.rtcp_report(Leg::A, &mut out, r.at(220), ntp0).unwrap();
    assert_eq!(
        to,
        addr("10.0.0.1:4001"),
        "RTP port + 1 before any RTCP arrived"
    );
    assert_eq!(out[1], rtcp::PT_RR, "we have sent A nothing: RR");
    let s = rtcp::parse(&out[..n], 0xA).unwrap();
    let b = s.block.expect("a block about A's stream");
    // Probation took seq 1; base 2, max 10: 9 expected, 7 received.
    assert_eq!((b.highest_seq, b.cumulative_lost), (10, 2));
    assert_eq!(b.fraction_lost, (2 * 256 / 9) as u8);
    assert_eq!((b.lsr, b.dlsr), (0, 0));
    let our_ssrc_to_a = s.sender_ssrc;

    // B talks to A: now our report to A is an SR counting what we sent.
    for seq in 1..=3u16 {
        let (len, _) = r
            .send(
                Leg::B,
                "10.0.0.2:5000",
                &pkt(8, seq, 0, 0xB, &[0xD5; 160]),
                300,
            )
            .send
            .unwrap();
        r.f.sent(Leg::A, len);
    }
    // A's SR arrives; its LSR/DLSR will show in our next report.
    let mut sr = [0u8; 128];
    let a_ntp: u64 = 0x0000_2222_3333_0000;
    let info = rtcp::SenderInfo {
        ntp: a_ntp,
        rtp_timestamp: 1,
        packets: 8,
        octets: 1280,
    };
    let blk = rtcp::ReportBlock {
        ssrc: our_ssrc_to_a,
        fraction_lost: 64,
        cumulative_lost: 1,
        jitter: 33,
        lsr: rtcp::ntp_middle(ntp0),
        dlsr: 1 << 15,
        ..Default::default()
    };
    let n_sr = rtcp::write_report(&mut sr, 0xA, Some(&info), Some(&blk), "a");
    // Arrival 0.6 s after our report: RTT = 0.6 − 0.5 (their hold time) = 100 ms.
    let arrival_ntp = ntp0 + (6u64 << 32) / 10;
    r.f.rtcp_in(
        Leg::A,
        addr("10.0.0.1:4999"),
        &sr[..n_sr],
        r.at(400),
        arrival_ntp,
    );
    let st = r.stats.snapshot().a;
    assert_eq!(
        (
            st.rtcp_rx,
            st.remote_fraction_lost,
            st.remote_jitter,
            st.remote_cumulative_lost
        ),
        (1, 64, 33, 1)
    );
    assert!((99..=100).contains(&st.rtt_ms), "rtt {}", st.rtt_ms);

    let (n, to) =
        r.f.rtcp_report(Leg::A, &mut out, r.at(500), ntp0 + (1 << 32))
            .unwrap();
    assert_eq!(to, addr("10.0.0.1:4999"), "latched RTCP source");
    let s = rtcp::parse(&out[..n], 0xA).unwrap();
    let si = s.sender_info.expect("SR now");
    assert_eq!((si.packets, si.octets), (3, 480));
    let b = s.block.unwrap();
    assert_eq!(b.fraction_lost, 0, "no new loss in this interval");
    assert_eq!(b.lsr, rtcp::ntp_middle(a_ntp));
    assert_eq!(
        b.dlsr,
        (100u64 * 65536 / 1000) as u32,
        "100 ms since A's SR"
    );
}

#[test]
fn the_signalled_address_wins_back_a_latch_taken_by_a_stray_packet() {
    let mut r = rig();
    // A stray packet (a phone that just left, or a third party) latches first…
    assert!(r
        .send(
            Leg::B,
            "203.0.113.66:999",
            &pkt(8, 1, 0, 0xC, &[0xD5; 160]),
            0
        )
        .send
        .is_some());
    assert_eq!(r.f.target(Leg::B), Some(addr("203.0.113.66:999")));
    // …then the peer the SDP named speaks: the latch is theirs, and they are relayed.
    assert!(r
        .send(
            Leg::B,
            "10.0.0.2:5000",
            &pkt(8, 2, 160, 0xB, &[0xD5; 160]),
            20
        )
        .send
        .is_some());
    assert_eq!(r.f.target(Leg::B), Some(addr("10.0.0.2:5000")));
    // The stray source is now refused.
    assert!(r
        .send(
            Leg::B,
            "203.0.113.66:999",
            &pkt(8, 3, 320, 0xC, &[0xD5; 160]),
            40
        )
        .send
        .is_none());
}

#[test]
fn a_pinned_leg_is_never_latched_away_by_a_stray_packet() {
    // Two relays joined by an attended transfer: the leaving phone's last packet must not
    // take the link (each relay would then send to the phone and never hear the other).
    let mut r = rig();
    let mut link = cfg("127.0.0.1:20100", Codec::Pcma, Some(96));
    link.pinned = true;
    r.f.update_leg(Leg::B, link);
    assert_eq!(r.f.target(Leg::B), Some(addr("127.0.0.1:20100")));
    assert!(r
        .send(
            Leg::B,
            "127.0.0.1:27540",
            &pkt(8, 1, 0, 0xC, &[0xD5; 160]),
            0
        )
        .send
        .is_none());
    assert_eq!(r.f.target(Leg::B), Some(addr("127.0.0.1:20100")));
    assert!(r
        .send(
            Leg::B,
            "127.0.0.1:20100",
            &pkt(8, 2, 160, 0xB, &[0xD5; 160]),
            20
        )
        .send
        .is_some());
}
