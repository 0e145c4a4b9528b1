//! RTP fixed header (RFC 3550 §5.1) as a borrowed view, RTP/RTCP demultiplexing
//! (RFC 5761 §4), and receive statistics (RFC 3550 A.1, A.3, A.8).
//!
//! Our own 12-byte header code rather than webrtc-rs `rtp`: nothing here allocates,
//! and the relay rewrites three fields in place.

use thiserror::Error;

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = 12;
/// RTP version carried in every packet (RFC 3550 §5.1).
pub const VERSION: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("packet shorter than its RTP header ({0} bytes)")]
    TooShort(usize),
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("padding length larger than the payload")]
    BadPadding,
}

/// A validated, read-only view of an RTP packet.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    payload_offset: usize,
    payload_end: usize,
}

impl<'a> RtpPacket<'a> {
    /// Checks the version, the CSRC list, the header extension (RFC 3550 §5.3.1)
    /// and padding (§5.1: the last octet counts the padding octets) fit the buffer.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        let version = buf[0] >> 6;
        if version != VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let mut off = HEADER_LEN + 4 * (buf[0] & 0x0F) as usize;
        if buf[0] & 0x10 != 0 {
            if buf.len() < off + 4 {
                return Err(RtpError::TooShort(buf.len()));
            }
            let words = u16::from_be_bytes([buf[off + 2], buf[off + 3]]) as usize;
            off += 4 + 4 * words;
        }
        if buf.len() < off {
            return Err(RtpError::TooShort(buf.len()));
        }
        let mut end = buf.len();
        if buf[0] & 0x20 != 0 {
            let pad = buf[buf.len() - 1] as usize;
            if pad == 0 || end - off < pad {
                return Err(RtpError::BadPadding);
            }
            end -= pad;
        }
        Ok(RtpPacket {
            buf,
            payload_offset: off,
            payload_end: end,
        })
    }

    pub fn version(&self) -> u8 {
        self.buf[0] >> 6
    }
    pub fn padding(&self) -> bool {
        self.buf[0] & 0x20 != 0
    }
    pub fn extension(&self) -> bool {
        self.buf[0] & 0x10 != 0
    }
    pub fn csrc_count(&self) -> u8 {
        self.buf[0] & 0x0F
    }
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7F
    }
    pub fn sequence(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }
    pub fn csrc(&self, i: usize) -> Option<u32> {
        if i >= self.csrc_count() as usize {
            return None;
        }
        let o = HEADER_LEN + 4 * i;
        Some(u32::from_be_bytes([
            self.buf[o],
            self.buf[o + 1],
            self.buf[o + 2],
            self.buf[o + 3],
        ]))
    }
    /// Offset of the payload: after the fixed header, CSRCs and extension.
    pub fn payload_offset(&self) -> usize {
        self.payload_offset
    }
    /// The payload without padding.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.payload_offset..self.payload_end]
    }
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
}

/// In-place edits of a packet's fixed header, for code that forwards a packet in
/// the buffer it arrived in. The caller has parsed it first (`RtpPacket::parse`),
/// so the 12 bytes are there.
#[derive(Debug)]
pub struct RtpHeaderMut<'a> {
    buf: &'a mut [u8],
}

impl<'a> RtpHeaderMut<'a> {
    pub fn new(buf: &'a mut [u8]) -> Result<Self, RtpError> {
        RtpPacket::parse(buf)?;
        Ok(RtpHeaderMut { buf })
    }
    pub fn set_marker(&mut self, m: bool) {
        self.buf[1] = (self.buf[1] & 0x7F) | ((m as u8) << 7);
    }
    pub fn set_payload_type(&mut self, pt: u8) {
        self.buf[1] = (self.buf[1] & 0x80) | (pt & 0x7F);
    }
    pub fn set_sequence(&mut self, seq: u16) {
        self.buf[2..4].copy_from_slice(&seq.to_be_bytes());
    }
    pub fn set_timestamp(&mut self, ts: u32) {
        self.buf[4..8].copy_from_slice(&ts.to_be_bytes());
    }
    pub fn set_ssrc(&mut self, ssrc: u32) {
        self.buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }
}

/// The fields a sender chooses for a plain 12-byte header (no CSRC, extension,
/// or padding) — what the relay and the prompt player emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

impl Header {
    /// Writes the 12-byte header into `buf[..12]` and returns 12.
    /// Panics if `buf` is shorter than 12 bytes (a programming error: callers own
    /// fixed MTU-sized buffers).
    #[inline]
    pub fn write(&self, buf: &mut [u8]) -> usize {
        buf[0] = VERSION << 6;
        buf[1] = ((self.marker as u8) << 7) | (self.payload_type & 0x7F);
        buf[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        buf[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        buf[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        HEADER_LEN
    }
}

/// RTP/RTCP demultiplexing on one port (RFC 5761 §4): RTCP packet types 192–223
/// (SR 200, RR 201, SDES 202, BYE 203, APP 204, feedback 205/206) occupy the second
/// octet where RTP has marker + payload type, which is why RTP payload types 64–95
/// must not be used when the two share a port.
#[inline]
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] >> 6 == VERSION && (192..=223).contains(&buf[1])
}

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u32 = 2;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// Receive statistics for one source: RFC 3550 A.1 (sequence validation and
/// extension), A.3 (expected and lost) and A.8 (interarrival jitter).
#[derive(Debug, Clone, Default)]
pub struct SequenceTracker {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u64,
    started: bool,
    // A.8: jitter scaled by 16 to keep the integer form of J += (|D| - J) / 16.
    jitter_q4: u32,
    transit: Option<i64>,
}

/// What `SequenceTracker::update` made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqUpdate {
    /// In sequence (or tolerably late / after a small gap); the extended sequence.
    Valid(u32),
    /// The source is still in probation (A.1: MIN_SEQUENTIAL packets in a row).
    Probation,
    /// A large jump; the next packet will tell whether the sender restarted.
    Bad,
    /// A duplicate or a packet older than the current window.
    Late,
}

impl SequenceTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
    }

    /// RFC 3550 A.1 `update_seq`, followed by the A.8 jitter update for valid
    /// packets. `arrival` is the arrival time in the same units as `timestamp`
    /// (8000 Hz for G.711), from any monotonic origin.
    pub fn update(&mut self, seq: u16, timestamp: u32, arrival: u32) -> SeqUpdate {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        let result = if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    SeqUpdate::Valid(self.extended_max())
                } else {
                    SeqUpdate::Probation
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
                SeqUpdate::Probation
            }
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += RTP_SEQ_MOD; // wrapped
            }
            self.max_seq = seq;
            self.received += 1;
            SeqUpdate::Valid(self.extended_max())
        } else if udelta as u32 <= RTP_SEQ_MOD - MAX_MISORDER as u32 {
            if seq as u32 == self.bad_seq {
                // Two sequential packets after a jump: the sender restarted.
                self.init_seq(seq);
                self.received += 1;
                SeqUpdate::Valid(self.extended_max())
            } else {
                self.bad_seq = (seq as u32 + 1) & (RTP_SEQ_MOD - 1);
                return SeqUpdate::Bad;
            }
        } else {
            // Duplicate or reordered within MAX_MISORDER: counted, not a new max.
            self.received += 1;
            SeqUpdate::Late
        };
        if !matches!(result, SeqUpdate::Probation) {
            // A.8: D(i,j) = (Rj - Ri) - (Sj - Si) = transit_j - transit_i.
            let transit = arrival.wrapping_sub(timestamp) as i32 as i64;
            if let Some(prev) = self.transit {
                let d = (transit - prev).unsigned_abs().min(u32::MAX as u64 / 32) as u32;
                self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
            }
            self.transit = Some(transit);
        }
        result
    }

    /// Highest sequence number seen, extended with the wrap count.
    pub fn extended_max(&self) -> u32 {
        self.cycles + self.max_seq as u32
    }
    pub fn received(&self) -> u64 {
        self.received
    }
    /// A.3: expected = extended max − base + 1.
    pub fn expected(&self) -> u64 {
        if !self.started || self.probation > 0 {
            return 0;
        }
        (self.extended_max() as u64 + 1).saturating_sub(self.base_seq as u64)
    }
    /// A.3: cumulative number lost (duplicates can make this negative).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }
    /// A.8 interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32) -> [u8; 20] {
        let mut b = [0u8; 20];
        Header {
            marker: seq == 1,
            payload_type: 8,
            sequence: seq,
            timestamp: ts,
            ssrc: 0xDEADBEEF,
        }
        .write(&mut b);
        b[12..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        b
    }

    #[test]
    fn build_then_parse() {
        let b = packet(1, 0x01020304);
        assert_eq!(
            &b[..12],
            &[0x80, 0x88, 0, 1, 1, 2, 3, 4, 0xDE, 0xAD, 0xBE, 0xEF]
        );
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker() && !p.padding() && !p.extension());
        assert_eq!(
            (p.payload_type(), p.sequence(), p.timestamp(), p.ssrc()),
            (8, 1, 0x01020304, 0xDEADBEEF)
        );
        assert_eq!(p.payload_offset(), 12);
        assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(p.csrc(0), None);
    }

    #[test]
    fn edit_in_place() {
        let mut b = packet(1, 5);
        let mut h = RtpHeaderMut::new(&mut b).unwrap();
        h.set_payload_type(101);
        h.set_marker(false);
        h.set_sequence(0xBEEF);
        h.set_timestamp(0xCAFE_F00D);
        h.set_ssrc(42);
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(
            (
                p.marker(),
                p.payload_type(),
                p.sequence(),
                p.timestamp(),
                p.ssrc()
            ),
            (false, 101, 0xBEEF, 0xCAFE_F00D, 42)
        );
        assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut h = RtpHeaderMut::new(&mut b).unwrap();
        h.set_marker(true);
        assert_eq!(b[1], 0x80 | 101);
        assert!(RtpHeaderMut::new(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn csrc_extension_and_padding() {
        // V=2 P=1 X=1 CC=1, then CSRC, a one-word extension, 2 payload bytes, 2 pad.
        let mut b = vec![0xB1, 0x00, 0, 7, 0, 0, 0, 9, 0, 0, 0, 1];
        b.extend_from_slice(&[0, 0, 0, 0x2A]); // CSRC
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension
        b.extend_from_slice(&[0x55, 0x66, 0, 2]); // payload + padding (count 2)
        let p = RtpPacket::parse(&b).unwrap();
        assert_eq!(p.csrc_count(), 1);
        assert_eq!(p.csrc(0), Some(42));
        assert_eq!(p.payload_offset(), 24);
        assert_eq!(p.payload(), &[0x55, 0x66]);
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]).unwrap_err(),
            RtpError::TooShort(11)
        );
        let mut b = packet(1, 0);
        b[0] = 0x40;
        assert_eq!(RtpPacket::parse(&b).unwrap_err(), RtpError::BadVersion(1));
        let mut b = packet(1, 0);
        b[0] |= 0x0F; // 15 CSRCs do not fit in 20 bytes
        assert!(matches!(RtpPacket::parse(&b), Err(RtpError::TooShort(20))));
        let mut b = packet(1, 0);
        b[0] |= 0x20;
        b[19] = 9; // padding longer than the 8-byte payload
        assert_eq!(RtpPacket::parse(&b).unwrap_err(), RtpError::BadPadding);
    }

    #[test]
    fn rtcp_demux() {
        for pt in 200..=204u8 {
            let b = [0x80, pt, 0, 1, 0, 0, 0, 1];
            assert!(is_rtcp(&b), "{pt}");
        }
        for second in [0u8, 8, 101, 0x80, 0x88, 0x80 | 101] {
            let b = packet(1, 0);
            let mut b = b;
            b[1] = second;
            assert!(!is_rtcp(&b), "{second}");
        }
    }

    #[test]
    fn sequence_extension_across_wrap() {
        let mut t = SequenceTracker::new();
        let mut last = SeqUpdate::Probation;
        for i in 0..10u32 {
            let seq = 65530u16.wrapping_add(i as u16);
            last = t.update(seq, i * 160, i * 160);
        }
        // The first packet is probation; the rest are valid and extended past 2^16.
        assert_eq!(last, SeqUpdate::Valid(65536 + 3));
        assert_eq!(t.expected(), 9);
        assert_eq!(t.received(), 9);
        assert_eq!(t.lost(), 0);
    }

    #[test]
    fn loss_and_restart() {
        let mut t = SequenceTracker::new();
        for seq in (100..120u16).filter(|s| s % 5 != 0) {
            t.update(seq, seq as u32 * 160, seq as u32 * 160);
        }
        // base is 102 (after probation at 101, 102): 103..119 minus 105,110,115 lost.
        assert_eq!(t.lost(), 3);
        assert_eq!(t.update(40000, 0, 0), SeqUpdate::Bad);
        assert!(matches!(t.update(40001, 160, 160), SeqUpdate::Valid(_)));
        assert_eq!(t.lost(), 0);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut t = SequenceTracker::new();
        // Constant transit → zero jitter.
        for i in 0..50u32 {
            t.update(i as u16, i * 160, 1000 + i * 160);
        }
        assert_eq!(t.jitter(), 0);
        // Arrival offsets alternating 0 / 80 samples → |D| = 80 each step; J → 80.
        for i in 50..400u32 {
            let wobble = if i % 2 == 0 { 80 } else { 0 };
            t.update(i as u16, i * 160, 1000 + i * 160 + wobble);
        }
        assert!((78..=80).contains(&t.jitter()), "jitter {}", t.jitter());
    }
}
