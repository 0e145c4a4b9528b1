//! Relay counters: plain snapshots for callers, atomics for the running task, so
//! that reading statistics never takes a lock the packet path could wait on.

use crate::forward::Leg;
use serde::Serialize;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Counters for one leg. "rx" is what the leg's endpoint sent us, "tx" what we
/// sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LegStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// rx packets relayed to the other leg.
    pub forwarded: u64,
    pub dropped_invalid: u64,
    /// SRTP/SRTCP packets refused: wrong tag (plain RTP, another key), replay.
    pub srtp_rejected: u64,
    /// From an address other than the latched one.
    pub dropped_source: u64,
    /// A payload type that is neither the leg's law, its telephone-event nor CN.
    pub dropped_payload_type: u64,
    /// The other leg has no destination (no address yet, or on hold).
    pub dropped_no_target: u64,
    /// Not sent because a prompt is playing to the other leg.
    pub suppressed: u64,
    /// The socket's send buffer was full.
    pub send_failed: u64,
    pub rtcp_rx: u64,
    /// Our own SR/RR reports sent to this leg.
    pub rtcp_tx: u64,
    pub dtmf_digits: u64,
    /// RFC 3550 A.3 cumulative loss of what the endpoint sent us.
    pub lost: i64,
    /// RFC 3550 A.8 interarrival jitter, in 8 kHz timestamp units.
    pub jitter: u32,
    /// The endpoint's last RTCP report about what we send it: loss fraction of
    /// 256, cumulative loss, jitter (8 kHz units), and the RTT (§6.4.1) in ms.
    pub remote_fraction_lost: u32,
    pub remote_cumulative_lost: i64,
    pub remote_jitter: u32,
    pub rtt_ms: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayStats {
    pub a: LegStats,
    pub b: LegStats,
    pub prompt_packets: u64,
    pub tap_frames: u64,
    pub tap_dropped: u64,
}

/// Lock-free counters shared between the relay task and `RelayHandle::stats`.
#[derive(Debug, Default)]
pub struct StatsCells {
    legs: [LegCells; 2],
    pub(crate) prompt_packets: AtomicU64,
    pub(crate) tap_frames: AtomicU64,
    pub(crate) tap_dropped: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct LegCells {
    pub(crate) rx_packets: AtomicU64,
    pub(crate) rx_bytes: AtomicU64,
    pub(crate) tx_packets: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) dropped_invalid: AtomicU64,
    pub(crate) srtp_rejected: AtomicU64,
    pub(crate) dropped_source: AtomicU64,
    pub(crate) dropped_payload_type: AtomicU64,
    pub(crate) dropped_no_target: AtomicU64,
    pub(crate) suppressed: AtomicU64,
    pub(crate) send_failed: AtomicU64,
    pub(crate) rtcp_rx: AtomicU64,
    pub(crate) rtcp_tx: AtomicU64,
    pub(crate) dtmf_digits: AtomicU64,
    pub(crate) lost: AtomicI64,
    pub(crate) jitter: AtomicU32,
    pub(crate) remote_fraction_lost: AtomicU32,
    pub(crate) remote_cumulative_lost: AtomicI64,
    pub(crate) remote_jitter: AtomicU32,
    pub(crate) rtt_ms: AtomicU32,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

impl StatsCells {
    pub(crate) fn leg(&self, leg: Leg) -> &LegCells {
        &self.legs[leg as usize]
    }

    pub fn snapshot(&self) -> RelayStats {
        let leg = |c: &LegCells| LegStats {
            rx_packets: c.rx_packets.load(Relaxed),
            rx_bytes: c.rx_bytes.load(Relaxed),
            tx_packets: c.tx_packets.load(Relaxed),
            tx_bytes: c.tx_bytes.load(Relaxed),
            forwarded: c.forwarded.load(Relaxed),
            dropped_invalid: c.dropped_invalid.load(Relaxed),
            srtp_rejected: c.srtp_rejected.load(Relaxed),
            dropped_source: c.dropped_source.load(Relaxed),
            dropped_payload_type: c.dropped_payload_type.load(Relaxed),
            dropped_no_target: c.dropped_no_target.load(Relaxed),
            suppressed: c.suppressed.load(Relaxed),
            send_failed: c.send_failed.load(Relaxed),
            rtcp_rx: c.rtcp_rx.load(Relaxed),
            rtcp_tx: c.rtcp_tx.load(Relaxed),
            dtmf_digits: c.dtmf_digits.load(Relaxed),
            lost: c.lost.load(Relaxed),
            jitter: c.jitter.load(Relaxed),
            remote_fraction_lost: c.remote_fraction_lost.load(Relaxed),
            remote_cumulative_lost: c.remote_cumulative_lost.load(Relaxed),
            remote_jitter: c.remote_jitter.load(Relaxed),
            rtt_ms: c.rtt_ms.load(Relaxed),
        };
        RelayStats {
            a: leg(&self.legs[0]),
            b: leg(&self.legs[1]),
            prompt_packets: self.prompt_packets.load(Relaxed),
            tap_frames: self.tap_frames.load(Relaxed),
            tap_dropped: self.tap_dropped.load(Relaxed),
        }
    }
}
