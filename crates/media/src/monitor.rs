//! The supervisor's link into a call's relay (listen / whisper / barge), without sockets:
//! the relay owns the link's socket and calls these on each packet and each 20 ms tick.
//!
//! The link is plain RTP between this call's relay and the relay of the supervisor's own
//! call (which terminates the supervisor's phone: its codec, latching, RTCP), always PCMU
//! with our own header stream, like the relays joined by an attended transfer. Only
//! packets from the configured address are taken (nobody else may talk into a call).

use crate::forward::FRAME_SAMPLES;
use crate::g711::Codec;
use crate::mix::{MixMode, Mixer, Party};
use crate::rtp::{self, Header, RtpPacket};
use std::net::SocketAddr;

/// Where the supervisor's side of the link is and what the supervisor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorConfig {
    /// The supervisor's call's relay side that faces this call.
    pub remote: SocketAddr,
    pub mode: MixMode,
}

/// The link's state: the mixer and our outgoing header stream toward the supervisor.
pub struct Monitor {
    pub cfg: MonitorConfig,
    pub mixer: Box<Mixer>,
    ssrc: u32,
    seq: u16,
    ts: u32,
    /// Frames sent toward the call's legs (their prompt-style index) and the id that
    /// names this source to the relay's header rewriting.
    pub index: u32,
    pub source_id: u64,
    /// Packets from elsewhere than `cfg.remote`, dropped.
    pub dropped: u64,
}

/// The link carries G.711 µ-law (RFC 3551 payload type 0).
pub const LINK_CODEC: Codec = Codec::Pcmu;

impl Monitor {
    pub fn new(cfg: MonitorConfig, source_id: u64) -> Monitor {
        Monitor {
            mixer: Box::new(Mixer::new(cfg.mode)),
            cfg,
            ssrc: rand::random(),
            seq: rand::random(),
            ts: rand::random(),
            index: 0,
            source_id,
            dropped: 0,
        }
    }

    pub fn set_mode(&mut self, mode: MixMode) {
        self.cfg.mode = mode;
        self.mixer.set_mode(mode);
    }

    /// A packet on the link's socket: the supervisor's voice.
    pub fn on_packet(&mut self, src: SocketAddr, pkt: &[u8]) {
        if src != self.cfg.remote {
            self.dropped += 1;
            return;
        }
        match RtpPacket::parse(pkt) {
            Ok(p) if !rtp::is_rtcp(pkt) && p.payload_type() == LINK_CODEC.payload_type() => self
                .mixer
                .push_encoded(Party::Supervisor, LINK_CODEC, p.payload()),
            // Events and comfort noise from the supervisor's phone are not mixed.
            _ => {}
        }
    }

    /// After `Mixer::tick`: the supervisor's packet for this tick into `out`; returns
    /// its length and where it goes.
    pub fn supervisor_packet(&mut self, out: &mut [u8]) -> Option<(usize, SocketAddr)> {
        let len = rtp::HEADER_LEN + FRAME_SAMPLES;
        if out.len() < len {
            return None;
        }
        Header {
            marker: false,
            payload_type: LINK_CODEC.payload_type(),
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: self.ssrc,
        }
        .write(out);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME_SAMPLES as u32);
        let mut frame = [0u8; FRAME_SAMPLES];
        self.mixer.output(Party::Supervisor, LINK_CODEC, &mut frame);
        out[rtp::HEADER_LEN..len].copy_from_slice(&frame);
        Some((len, self.cfg.remote))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(pt: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 12 + payload.len()];
        Header {
            marker: false,
            payload_type: pt,
            sequence: 1,
            timestamp: 160,
            ssrc: 9,
        }
        .write(&mut b);
        b[12..].copy_from_slice(payload);
        b
    }

    #[test]
    fn only_the_linked_relay_may_talk_into_the_call() {
        let remote: SocketAddr = "127.0.0.1:30000".parse().unwrap();
        let mut m = Monitor::new(
            MonitorConfig {
                remote,
                mode: MixMode::Barge,
            },
            1,
        );
        let loud = [crate::g711::ulaw_encode(12000); FRAME_SAMPLES];
        m.on_packet("127.0.0.1:30002".parse().unwrap(), &pkt(0, &loud));
        assert_eq!(m.dropped, 1);
        m.mixer.tick();
        let mut out = [0i16; FRAME_SAMPLES];
        m.mixer.mix(Party::Citizen, &mut out);
        assert!(out.iter().all(|&s| s == 0), "a stranger is not mixed");
        m.on_packet(remote, &pkt(0, &loud));
        m.mixer.tick();
        m.mixer.mix(Party::Citizen, &mut out);
        assert!(out.iter().all(|&s| s > 10000));
    }

    #[test]
    fn the_supervisors_stream_is_one_continuous_pcmu_stream() {
        let remote: SocketAddr = "127.0.0.1:30000".parse().unwrap();
        let mut m = Monitor::new(
            MonitorConfig {
                remote,
                mode: MixMode::Listen,
            },
            1,
        );
        let mut out = [0u8; 1500];
        let mut last: Option<(u16, u32, u32)> = None;
        for _ in 0..3 {
            m.mixer.tick();
            let (len, to) = m.supervisor_packet(&mut out).unwrap();
            assert_eq!((len, to), (172, remote));
            let p = RtpPacket::parse(&out[..len]).unwrap();
            assert_eq!(p.payload_type(), 0);
            if let Some((seq, ts, ssrc)) = last {
                assert_eq!(p.sequence(), seq.wrapping_add(1));
                assert_eq!(p.timestamp(), ts.wrapping_add(160));
                assert_eq!(p.ssrc(), ssrc);
            }
            last = Some((p.sequence(), p.timestamp(), p.ssrc()));
        }
    }
}
