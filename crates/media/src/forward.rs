//! The per-packet decisions of the relay, without sockets or tasks (sans-IO):
//! validate, latch, choose the destination, rewrite the header, transcode.
//! `relay` wraps this in a tokio task; tests and the benchmark drive it directly.
//!
//! Header policy: each outgoing leg gets one stream of our own — our SSRC, and
//! sequence numbers and timestamps that are the incoming ones plus an offset. The
//! offsets are re-chosen only when what feeds that leg changes (the peer restarts
//! with a new SSRC, a prompt starts or ends), so each endpoint sees one continuous
//! stream across prompts, re-INVITEs and transfers, while gaps from upstream loss
//! still show as gaps. RFC 3550 §7.1 lets a translator that changes the payload
//! (we transcode) keep or replace the SSRC; replacing it is what makes the stream
//! continuous. The marker bit is set on the first packet after a change so the
//! receiver resynchronises its jitter buffer (RFC 3551 §4.1).
//!
//! RTCP is terminated, not relayed: with rewritten SSRCs and sequence numbers the
//! peer's reports would describe a stream the other side never saw. Instead each
//! leg gets our own SR/RR + SDES (RFC 3550 §6.4, built by `rtcp_report`), and the
//! peer's reports about our stream feed the statistics (loss, jitter, RTT).

use crate::dtmf::DtmfDetector;
use crate::g711::{self, Codec};
use crate::rtcp::{self, ReportBlock, SenderInfo};
use crate::rtp::{self, Header, RtpPacket, SequenceTracker};
use crate::sdp::TELEPHONE_EVENT_PT;
use crate::stats::inc;
pub use crate::stats::{LegStats, RelayStats, StatsCells};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Comfort noise (RFC 3389) has a static payload type and is law-independent.
pub const CN_PT: u8 = 13;
/// Samples in one 20 ms G.711 frame.
pub const FRAME_SAMPLES: usize = 160;
/// SDES CNAME in our reports. Each leg is its own RTP session, so one name for
/// the process is unique within every session it appears in.
const CNAME: &str = "madoguchi";

/// One side of a B2BUA call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Leg {
    A,
    B,
}

impl Leg {
    pub fn other(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }
    fn idx(self) -> usize {
        self as usize
    }
}

/// What a leg negotiated (from `sdp::Negotiated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    /// Where to send before the peer's packets tell us its real address (symmetric
    /// RTP latching). `None` — or a peer on hold — means: send nothing to this leg.
    pub remote: Option<SocketAddr>,
    pub codec: Codec,
    pub telephone_event_pt: Option<u8>,
    /// The remote is exact and trusted (another relay of ours, joined by an attended
    /// transfer): held from the start, never latched away by a stray packet. Two joined
    /// relays each latched to the leaving phone's last packets would otherwise send to it
    /// and never hear each other.
    pub pinned: bool,
    /// SRTP keys when the leg negotiated RTP/SAVP with SDES (RFC 4568); the relay
    /// protects and unprotects at its socket edge, the forwarder sees plain RTP.
    pub srtp: Option<crate::srtp::SrtpKeys>,
}

/// What feeds an outgoing stream; a change re-bases sequence and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Idle,
    Peer(u32),
    Prompt(u64),
}

/// Our outgoing RTP stream toward one leg.
#[derive(Debug)]
struct OutStream {
    ssrc: u32,
    source: Source,
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
    last_sent: Option<Instant>,
}

impl OutStream {
    fn new() -> Self {
        OutStream {
            ssrc: rand::random(),
            source: Source::Idle,
            seq_offset: 0,
            ts_offset: 0,
            last_seq: 0,
            last_ts: 0,
            last_sent: None,
        }
    }

    /// Maps an input (seq, ts) of `source` to ours; `true` if the source changed.
    fn map(&mut self, source: Source, seq: u16, ts: u32, now: Instant) -> (u16, u32, bool) {
        let switched = source != self.source;
        if switched {
            let (next_seq, next_ts) = match self.last_sent {
                // Continue where the previous source stopped, advanced by the wall
                // time since (at least one frame, so timestamps never repeat).
                Some(t) => {
                    let gap = now.saturating_duration_since(t);
                    let samples = (gap.as_micros() * 8 / 1000).max(FRAME_SAMPLES as u128);
                    (
                        self.last_seq.wrapping_add(1),
                        self.last_ts.wrapping_add(samples as u32),
                    )
                }
                // RFC 3550 §5.1: random initial sequence number and timestamp.
                None => (rand::random(), rand::random()),
            };
            self.seq_offset = next_seq.wrapping_sub(seq);
            self.ts_offset = next_ts.wrapping_sub(ts);
            self.source = source;
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        // Late (reordered) packets keep their place and do not move "last".
        if switched || self.last_sent.is_none() || (out_seq.wrapping_sub(self.last_seq) as i16) > 0
        {
            self.last_seq = out_seq;
            self.last_ts = out_ts;
        }
        self.last_sent = Some(now);
        (out_seq, out_ts, switched)
    }
}

#[derive(Debug)]
struct LegState {
    cfg: LegConfig,
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    /// The last address the SDP gave (kept across hold, when `cfg.remote` is None).
    sdp_remote: Option<SocketAddr>,
    seq: SequenceTracker,
    dtmf: DtmfDetector,
    /// SSRC of the stream the endpoint sends us.
    src_ssrc: Option<u32>,
    /// Middle NTP bits of its last SR and when it arrived (for LSR/DLSR).
    last_sr: Option<(u32, Instant)>,
    /// RFC 3550 A.3 counts at the previous report, for the interval loss fraction.
    expected_prior: u64,
    received_prior: u64,
}

/// Audio found in a relayed packet, for the tap: where it is in the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioRef {
    pub codec: Codec,
    pub timestamp: u32,
    pub start: usize,
    pub end: usize,
}

/// The result of one incoming packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Send `out[..len]` to this address from the other leg's RTP socket.
    pub send: Option<(usize, SocketAddr)>,
    pub audio: Option<AudioRef>,
    pub digit: Option<char>,
}

/// Per-call relay state for both legs.
#[derive(Debug)]
pub struct Forwarder {
    legs: [LegState; 2],
    out: [OutStream; 2],
    paused_to: [bool; 2],
    epoch: Instant,
    stats: std::sync::Arc<StatsCells>,
}

impl Forwarder {
    pub fn new(
        a: LegConfig,
        b: LegConfig,
        stats: std::sync::Arc<StatsCells>,
        now: Instant,
    ) -> Self {
        let leg = |cfg: LegConfig| LegState {
            sdp_remote: cfg.remote,
            cfg,
            latched: None,
            latched_rtcp: None,
            seq: SequenceTracker::new(),
            dtmf: DtmfDetector::new(),
            src_ssrc: None,
            last_sr: None,
            expected_prior: 0,
            received_prior: 0,
        };
        Forwarder {
            legs: [leg(a), leg(b)],
            out: [OutStream::new(), OutStream::new()],
            paused_to: [false; 2],
            epoch: now,
            stats,
        }
    }

    pub fn config(&self, leg: Leg) -> &LegConfig {
        &self.legs[leg.idx()].cfg
    }

    /// A re-INVITE changed the leg: new address, law or event type. Latching starts
    /// over, since the peer may have moved.
    pub fn update_leg(&mut self, leg: Leg, cfg: LegConfig) {
        let l = &mut self.legs[leg.idx()];
        // Hold and resume (remote None, then the same address again) keep the
        // latch: a phone behind NAT would otherwise be unreachable until its next
        // packet. A new address means the peer moved: latch again.
        if cfg.remote.is_some() && cfg.remote != l.sdp_remote {
            l.latched = None;
            l.latched_rtcp = None;
        }
        l.sdp_remote = cfg.remote.or(l.sdp_remote);
        if cfg.pinned {
            l.latched = cfg.remote;
        }
        l.cfg = cfg;
    }

    /// While a prompt plays to `leg`, what the other leg says is not sent to it.
    pub fn set_paused(&mut self, to: Leg, paused: bool) {
        self.paused_to[to.idx()] = paused;
    }

    /// The address media for `leg` goes to now, if any.
    pub fn target(&self, leg: Leg) -> Option<SocketAddr> {
        let l = &self.legs[leg.idx()];
        l.cfg.remote?;
        l.latched.or(l.cfg.remote)
    }

    /// Where RTCP for `leg` goes: the latched source, else the SDP address's
    /// port plus one (RFC 3550 §11). Reports continue during hold (RFC 3264 §8.4),
    /// so this does not depend on `remote` once latched.
    pub fn rtcp_target(&self, leg: Leg) -> Option<SocketAddr> {
        let l = &self.legs[leg.idx()];
        l.latched_rtcp.or_else(|| {
            l.cfg
                .remote
                .map(|r| SocketAddr::new(r.ip(), r.port().wrapping_add(1)))
        })
    }

    /// One RTP packet from `from`'s endpoint (arriving from `src`) → maybe one packet
    /// in `out` for the other leg. Allocates nothing; `out` should be MTU-sized.
    pub fn forward(
        &mut self,
        from: Leg,
        src: SocketAddr,
        pkt: &[u8],
        out: &mut [u8],
        now: Instant,
    ) -> Outcome {
        let cells = self.stats.leg(from);
        inc(&cells.rx_packets);
        cells.rx_bytes.fetch_add(pkt.len() as u64, Relaxed);
        let mut outcome = Outcome::default();
        let p = match RtpPacket::parse(pkt) {
            Ok(p) if !rtp::is_rtcp(pkt) => p,
            _ => {
                inc(&cells.dropped_invalid);
                return outcome;
            }
        };
        let to = from.other();
        let (in_cfg, out_cfg) = (&self.legs[from.idx()].cfg, &self.legs[to.idx()].cfg);
        let pt = p.payload_type();
        enum Kind {
            Audio,
            Event(u8),
            Cn,
        }
        let kind = if pt == in_cfg.codec.payload_type() {
            Kind::Audio
        } else if in_cfg.telephone_event_pt.is_some()
            && (Some(pt) == in_cfg.telephone_event_pt || pt == TELEPHONE_EVENT_PT)
        {
            // RFC 3264 §5.1: each side's SDP gives the numbers it receives. A peer
            // that answered our offer with another number sends events with ours
            // (101), so both are taken as events; we send it the number it chose.
            Kind::Event(out_cfg.telephone_event_pt.unwrap_or(0))
        } else if pt == CN_PT {
            Kind::Cn
        } else {
            inc(&cells.dropped_payload_type);
            return outcome;
        };
        let (in_codec, out_codec, out_has_events) = (
            in_cfg.codec,
            out_cfg.codec,
            out_cfg.telephone_event_pt.is_some(),
        );

        // Symmetric RTP: the first valid packet fixes where this peer really is.
        let leg = &mut self.legs[from.idx()];
        match leg.latched {
            None => {
                tracing::debug!(?from, %src, "latched RTP source");
                leg.latched = Some(src);
            }
            // The address the SDP named wins back the latch (a third party, or a peer
            // that sent a last packet after the leg moved, cannot keep it).
            Some(l) if l != src && Some(src) == leg.sdp_remote => {
                tracing::debug!(?from, %src, "re-latched to the signalled address");
                leg.latched = Some(src);
            }
            Some(l) if l != src => {
                inc(&cells.dropped_source);
                return outcome;
            }
            Some(_) => {}
        }
        leg.src_ssrc = Some(p.ssrc());
        let arrival = (now.saturating_duration_since(self.epoch).as_micros() * 8 / 1000) as u32;
        leg.seq.update(p.sequence(), p.timestamp(), arrival);
        cells.lost.store(leg.seq.lost(), Relaxed);
        cells.jitter.store(leg.seq.jitter(), Relaxed);

        let payload = p.payload();
        let out_pt = match kind {
            Kind::Audio => {
                outcome.audio = Some(AudioRef {
                    codec: in_codec,
                    timestamp: p.timestamp(),
                    start: p.payload_offset(),
                    end: p.payload_offset() + payload.len(),
                });
                out_codec.payload_type()
            }
            Kind::Event(out_pt) => {
                outcome.digit = leg.dtmf.push(p.timestamp(), payload);
                if outcome.digit.is_some() {
                    inc(&cells.dtmf_digits);
                }
                if !out_has_events {
                    // The other side cannot take RFC 4733 events; the digit is
                    // still reported to call control.
                    inc(&cells.dropped_payload_type);
                    return outcome;
                }
                out_pt
            }
            Kind::Cn => CN_PT,
        };

        if self.paused_to[to.idx()] {
            inc(&cells.suppressed);
            return outcome;
        }
        let Some(dest) = self.target(to) else {
            inc(&cells.dropped_no_target);
            return outcome;
        };
        let len = rtp::HEADER_LEN + payload.len();
        if out.len() < len {
            inc(&cells.dropped_invalid);
            return outcome;
        }
        let (seq, ts, switched) =
            self.out[to.idx()].map(Source::Peer(p.ssrc()), p.sequence(), p.timestamp(), now);
        Header {
            marker: p.marker() || switched,
            payload_type: out_pt,
            sequence: seq,
            timestamp: ts,
            ssrc: self.out[to.idx()].ssrc,
        }
        .write(out);
        if matches!(kind, Kind::Audio) {
            g711::transcode(in_codec, out_codec, payload, &mut out[rtp::HEADER_LEN..len]);
        } else {
            out[rtp::HEADER_LEN..len].copy_from_slice(payload);
        }
        inc(&cells.forwarded);
        outcome.send = Some((len, dest));
        outcome
    }

    /// Counts a packet we sent to `to` (call after the socket accepted it).
    pub fn sent(&self, to: Leg, len: usize) {
        let c = self.stats.leg(to);
        inc(&c.tx_packets);
        c.tx_bytes.fetch_add(len as u64, Relaxed);
    }

    pub fn send_failed(&self, to: Leg) {
        inc(&self.stats.leg(to).send_failed);
    }

    /// Builds packet `index` of prompt `id` for `to`, in `to`'s law (`frame` is
    /// already encoded; a short last frame is padded with silence).
    pub fn prompt_packet(
        &mut self,
        to: Leg,
        id: u64,
        index: u32,
        frame: &[u8],
        out: &mut [u8],
        now: Instant,
    ) -> Option<(usize, SocketAddr)> {
        let dest = self.target(to)?;
        let codec = self.legs[to.idx()].cfg.codec;
        let len = rtp::HEADER_LEN + FRAME_SAMPLES;
        let ts = index.wrapping_mul(FRAME_SAMPLES as u32);
        let (seq, ts, switched) = self.out[to.idx()].map(Source::Prompt(id), index as u16, ts, now);
        Header {
            marker: switched,
            payload_type: codec.payload_type(),
            sequence: seq,
            timestamp: ts,
            ssrc: self.out[to.idx()].ssrc,
        }
        .write(out);
        let body = &mut out[rtp::HEADER_LEN..len];
        let n = frame.len().min(FRAME_SAMPLES);
        body[..n].copy_from_slice(&frame[..n]);
        body[n..].fill(codec.silence());
        inc(&self.stats.prompt_packets);
        Some((len, dest))
    }

    /// An RTCP packet from `from`'s endpoint: latched for the address, its report
    /// about our stream taken into the statistics, then terminated here. `ntp` is
    /// the arrival time as an NTP timestamp (for the RTT).
    pub fn rtcp_in(&mut self, from: Leg, src: SocketAddr, pkt: &[u8], now: Instant, ntp: u64) {
        let cells = self.stats.leg(from);
        let Some(s) = rtcp::parse(pkt, self.out[from.idx()].ssrc) else {
            inc(&cells.dropped_invalid);
            return;
        };
        inc(&cells.rtcp_rx);
        let leg = &mut self.legs[from.idx()];
        if leg.latched_rtcp.is_none() {
            leg.latched_rtcp = Some(src);
        }
        if let Some(si) = s.sender_info {
            leg.last_sr = Some((rtcp::ntp_middle(si.ntp), now));
        }
        if let Some(b) = s.block {
            cells
                .remote_fraction_lost
                .store(b.fraction_lost as u32, Relaxed);
            cells
                .remote_cumulative_lost
                .store(b.cumulative_lost as i64, Relaxed);
            cells.remote_jitter.store(b.jitter, Relaxed);
            if b.lsr != 0 {
                // §6.4.1: RTT = A − LSR − DLSR, in 1/65536 s.
                let rtt = rtcp::ntp_middle(ntp)
                    .wrapping_sub(b.lsr)
                    .wrapping_sub(b.dlsr);
                if rtt < 10 << 16 {
                    cells
                        .rtt_ms
                        .store(((rtt as u64 * 1000) >> 16) as u32, Relaxed);
                }
            }
        }
    }

    /// Our compound report for `leg` (SR if we have sent it media, else RR, with a
    /// block about what it sends us, plus SDES CNAME) in `out`, and where to send
    /// it. Call every ~5 s (RFC 3550 §6.2 minimum interval).
    pub fn rtcp_report(
        &mut self,
        leg: Leg,
        out: &mut [u8],
        now: Instant,
        ntp: u64,
    ) -> Option<(usize, SocketAddr)> {
        let dest = self.rtcp_target(leg)?;
        if out.len() < rtcp::max_report_len(CNAME.len()) {
            return None;
        }
        let cells = self.stats.leg(leg);
        let o = &self.out[leg.idx()];
        let packets = cells.tx_packets.load(Relaxed);
        let octets = cells
            .tx_bytes
            .load(Relaxed)
            .saturating_sub(packets * rtp::HEADER_LEN as u64);
        let sender = o.last_sent.filter(|_| packets > 0).map(|t| SenderInfo {
            ntp,
            // The RTP time that corresponds to `ntp` on our stream's clock.
            rtp_timestamp: o
                .last_ts
                .wrapping_add((now.saturating_duration_since(t).as_micros() * 8 / 1000) as u32),
            packets: packets as u32,
            octets: octets as u32,
        });
        let ssrc = o.ssrc;
        let l = &mut self.legs[leg.idx()];
        let block = match l.src_ssrc {
            Some(src) if l.seq.expected() > 0 => {
                // RFC 3550 A.3: the fraction lost over the interval since the last report.
                let (expected, received) = (l.seq.expected(), l.seq.received());
                let exp_int = expected.saturating_sub(l.expected_prior) as i64;
                let lost_int = exp_int - received.saturating_sub(l.received_prior) as i64;
                l.expected_prior = expected;
                l.received_prior = received;
                let fraction = if exp_int == 0 || lost_int <= 0 {
                    0
                } else {
                    ((lost_int << 8) / exp_int).min(255) as u8
                };
                let (lsr, dlsr) = l.last_sr.map_or((0, 0), |(m, t)| {
                    let d = now.saturating_duration_since(t).as_micros() as u64;
                    (m, ((d << 16) / 1_000_000) as u32)
                });
                Some(ReportBlock {
                    ssrc: src,
                    fraction_lost: fraction,
                    cumulative_lost: l.seq.lost().clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                    highest_seq: l.seq.extended_max(),
                    jitter: l.seq.jitter(),
                    lsr,
                    dlsr,
                })
            }
            _ => None,
        };
        let n = rtcp::write_report(out, ssrc, sender.as_ref(), block.as_ref(), CNAME);
        Some((n, dest))
    }

    pub fn rtcp_sent(&self, to: Leg) {
        inc(&self.stats.leg(to).rtcp_tx);
    }
}

#[cfg(test)]
mod tests;
