//! The relay with one SRTP leg (RFC 3711, keys as SDES would settle them): the citizen
//! (leg A) speaks plain RTP, the operator (leg B) SRTP. What leaves toward B is SRTP
//! under our key (plain G.711 decoding of it is noise, our key's session recovers the
//! tone), B's SRTP under its key reaches A as plain RTP, and plain or foreign-keyed RTP
//! sent to B's port is dropped and counted.

use media::g711;
use media::rtp::Header;
use media::srtp::{MasterKey, SrtpKeys, SrtpSession, Suite};
use media::tone::{self, dominant_frequency, goertzel_power};
use media::{Codec, LegConfig, PortAllocator, Relay};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn leg(remote: SocketAddr, srtp: Option<SrtpKeys>) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        codec: Codec::Pcmu,
        telephone_event_pt: Some(101),
        pinned: false,
        srtp,
    }
}

/// 50 packets (1 s) of a tone, each RTP packet in `buf[..172]`, passed to `f`.
fn tone_packets(freq: f64, ssrc: u32, mut f: impl FnMut(&mut [u8; 1500], usize)) {
    let pcm = tone::sine(freq, 1.0, 8000);
    for (i, chunk) in pcm.chunks(160).enumerate() {
        let mut b = [0u8; 1500];
        Header {
            marker: false,
            payload_type: 0,
            sequence: 65500u16.wrapping_add(i as u16), // crosses the rollover
            timestamp: 160 * i as u32,
            ssrc,
        }
        .write(&mut b);
        g711::encode_frame(Codec::Pcmu, chunk, &mut b[12..172]);
        f(&mut b, 172);
    }
}

async fn send_paced(sock: &UdpSocket, packets: Vec<Vec<u8>>, to: SocketAddr) -> usize {
    for p in &packets {
        sock.send_to(p, to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    packets.len()
}

async fn recv_all(sock: &UdpSocket, want: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    while got.len() < want {
        match timeout(Duration::from_secs(3), sock.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => got.push(buf[..n].to_vec()),
            _ => break,
        }
    }
    got
}

/// The packets' payloads decoded as plain G.711 µ-law.
fn pcm_of(payloads: impl Iterator<Item = Vec<u8>>) -> Vec<i16> {
    let mut pcm = Vec::new();
    for p in payloads {
        let mut s = [0i16; 160];
        g711::decode_frame(Codec::Pcmu, &p[12..172], &mut s);
        pcm.extend_from_slice(&s);
    }
    pcm
}

const CANDIDATES: [f64; 3] = [440.0, 700.0, 1000.0];

#[tokio::test]
async fn an_srtp_leg_is_encrypted_on_the_wire_and_plain_inside() {
    let ports = PortAllocator::new(LO, 15800, 15899).unwrap();
    let (a, b) = (ports.allocate().unwrap(), ports.allocate().unwrap());
    let citizen = UdpSocket::bind((LO, 0)).await.unwrap();
    let operator = UdpSocket::bind((LO, 0)).await.unwrap();
    let keys = SrtpKeys {
        suite: Suite::AesCm128HmacSha1_80,
        ours: MasterKey::random(),
        theirs: MasterKey::random(),
    };
    let (a_addr, b_addr) = (a.rtp_addr(), b.rtp_addr());
    let relay = Relay::start(
        a,
        b,
        leg(citizen.local_addr().unwrap(), None),
        leg(operator.local_addr().unwrap(), Some(keys.clone())),
    );

    // Citizen → operator: plain in, SRTP out.
    let mut out = Vec::new();
    tone_packets(440.0, 0x1111, |p, n| out.push(p[..n].to_vec()));
    let sent = send_paced(&citizen, out, a_addr).await;
    let wire = recv_all(&operator, sent).await;
    assert!(wire.len() >= 45, "{} of {sent} arrived", wire.len());
    assert!(
        wire.iter().all(|p| p.len() == 172 + 10),
        "80-bit tag on every packet"
    );
    let wire_power = goertzel_power(&pcm_of(wire.iter().cloned()), 8000, 440.0);
    let mut op_rx = SrtpSession::new(keys.suite, &keys.ours);
    let clear: Vec<Vec<u8>> = wire
        .into_iter()
        .map(|mut p| {
            let mut b = [0u8; 1500];
            b[..p.len()].copy_from_slice(&p);
            let n = op_rx
                .unprotect_rtp(&mut b, p.len())
                .expect("authentic SRTP");
            p.truncate(n);
            p.copy_from_slice(&b[..n]);
            p
        })
        .collect();
    let clear = pcm_of(clear.into_iter());
    assert_eq!(dominant_frequency(&clear, 8000, &CANDIDATES), Some(440.0));
    let clear_power = goertzel_power(&clear, 8000, 440.0);
    assert!(
        wire_power < clear_power / 100.0,
        "decoded as plain G.711 the wire is noise, not the tone: {wire_power} vs {clear_power}"
    );

    // Operator → citizen: SRTP in (its key), plain out.
    let mut op_tx = SrtpSession::new(keys.suite, &keys.theirs);
    let mut out = Vec::new();
    tone_packets(1000.0, 0x2222, |p, n| {
        let m = op_tx.protect_rtp(p, n).unwrap();
        out.push(p[..m].to_vec());
    });
    let n_sent = send_paced(&operator, out, b_addr).await;
    let plain = recv_all(&citizen, n_sent).await;
    assert!(plain.len() >= 45, "{} of {n_sent}", plain.len());
    assert!(plain.iter().all(|p| p.len() == 172));
    assert_eq!(
        dominant_frequency(&pcm_of(plain.into_iter()), 8000, &CANDIDATES),
        Some(1000.0),
        "the citizen hears the operator"
    );

    // Plain RTP and SRTP under another key, sent to the operator's port: dropped.
    let before = relay.stats().b.srtp_rejected;
    let mut intruder = SrtpSession::new(keys.suite, &MasterKey::random());
    let mut out = Vec::new();
    tone_packets(700.0, 0x3333, |p, n| {
        if p[3] % 2 == 0 {
            out.push(p[..n].to_vec());
        } else {
            let m = intruder.protect_rtp(p, n).unwrap();
            out.push(p[..m].to_vec());
        }
    });
    send_paced(&operator, out, b_addr).await;
    let leaked = recv_all(&citizen, 1).await;
    assert!(
        leaked.is_empty(),
        "nothing unauthenticated reaches the citizen"
    );
    let st = relay.stop().await;
    assert_eq!(st.b.srtp_rejected - before, 50);
}

/// A re-INVITE answered with a new key of ours (RFC 4568 §7.1.4) while the phone keeps
/// its own: the phone's sender context goes on (its rollover counter included), so ours
/// for receiving must too. Resetting it would make every packet after a rollover fail
/// authentication: a long call put on hold and resumed would go silent one way.
#[tokio::test]
async fn a_new_key_of_ours_keeps_the_phones_context_across_its_rollover() {
    let ports = PortAllocator::new(LO, 15900, 15949).unwrap();
    let (a, b) = (ports.allocate().unwrap(), ports.allocate().unwrap());
    let citizen = UdpSocket::bind((LO, 0)).await.unwrap();
    let operator = UdpSocket::bind((LO, 0)).await.unwrap();
    let keys = SrtpKeys {
        suite: Suite::AesCm128HmacSha1_80,
        ours: MasterKey::random(),
        theirs: MasterKey::random(),
    };
    let b_addr = b.rtp_addr();
    let op_cfg = |k: &SrtpKeys| leg(operator.local_addr().unwrap(), Some(k.clone()));
    let relay = Relay::start(
        a,
        b,
        leg(citizen.local_addr().unwrap(), None),
        op_cfg(&keys),
    );
    let mut op_tx = SrtpSession::new(keys.suite, &keys.theirs);
    // 50 packets from seq 65500: the phone's rollover counter is 1 at the end.
    let mut out = Vec::new();
    tone_packets(1000.0, 0x2222, |p, n| {
        let m = op_tx.protect_rtp(p, n).unwrap();
        out.push(p[..m].to_vec());
    });
    send_paced(&operator, out, b_addr).await;
    assert!(recv_all(&citizen, 50).await.len() >= 45);
    // Re-keyed on our side only.
    let rekeyed = SrtpKeys {
        ours: MasterKey::random(),
        ..keys.clone()
    };
    relay.update_leg(media::Leg::B, op_cfg(&rekeyed));
    relay.settled().await;
    // The phone goes on with its context: seq 14.., rollover counter 1.
    let mut out = Vec::new();
    let pcm = tone::sine(1000.0, 0.4, 8000);
    for (i, chunk) in pcm.chunks(160).enumerate() {
        let mut p = [0u8; 1500];
        Header {
            marker: false,
            payload_type: 0,
            sequence: 14 + i as u16,
            timestamp: 8000 + 160 * i as u32,
            ssrc: 0x2222,
        }
        .write(&mut p);
        g711::encode_frame(Codec::Pcmu, chunk, &mut p[12..172]);
        let m = op_tx.protect_rtp(&mut p, 172).unwrap();
        out.push(p[..m].to_vec());
    }
    let n = send_paced(&operator, out, b_addr).await;
    let got = recv_all(&citizen, n).await;
    let st = relay.stop().await;
    assert!(
        got.len() >= n - 2,
        "{} of {n} reached the citizen after our re-key ({} refused)",
        got.len(),
        st.b.srtp_rejected
    );
}
