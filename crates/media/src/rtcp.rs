//! RTCP sender/receiver reports (RFC 3550 §6.4) and SDES CNAME (§6.5): build our
//! own compound reports for each leg, and read the report blocks a peer sends
//! about our stream (its view of loss, jitter, and the round-trip time).
//! Writers fill a caller's buffer; nothing allocates.

use std::time::{SystemTime, UNIX_EPOCH};

pub const PT_SR: u8 = 200;
pub const PT_RR: u8 = 201;
pub const PT_SDES: u8 = 202;
pub const PT_BYE: u8 = 203;
const SDES_CNAME: u8 = 1;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// One reception report block (RFC 3550 §6.4.1), 24 bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Loss since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire).
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from `ssrc`.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// The sender-info part of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    pub ntp: u64,
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// What we take from a peer's compound RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub sender_ssrc: u32,
    pub sender_info: Option<SenderInfo>,
    /// The report block about `about` (our SSRC), if the peer sent one.
    pub block: Option<ReportBlock>,
    pub bye: bool,
}

/// Now as a 64-bit NTP timestamp (RFC 3550 §4).
pub fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    ((d.as_secs() + NTP_UNIX_OFFSET) << 32) | frac
}

/// The middle 32 bits, the unit of LSR and of the RTT computation (§6.4.1).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn parse_block(b: &[u8]) -> ReportBlock {
    // Sign-extend the 24-bit cumulative loss.
    let cum = ((be32(b, 4) << 8) as i32) >> 8;
    ReportBlock {
        ssrc: be32(b, 0),
        fraction_lost: b[4],
        cumulative_lost: cum,
        highest_seq: be32(b, 8),
        jitter: be32(b, 12),
        lsr: be32(b, 16),
        dlsr: be32(b, 20),
    }
}

/// Walks a compound packet (§6.1) and returns the SR/RR data, the block about
/// `about`, and whether it holds a BYE. `None` if the packet is malformed.
pub fn parse(buf: &[u8], about: u32) -> Option<Summary> {
    let mut s = Summary::default();
    let mut off = 0;
    let mut seen = false;
    while off + 4 <= buf.len() {
        let h = &buf[off..];
        if h[0] >> 6 != 2 {
            return None;
        }
        let len = (u16::from_be_bytes([h[2], h[3]]) as usize + 1) * 4;
        if h.len() < len {
            return None;
        }
        let count = (h[0] & 0x1F) as usize;
        let blocks_at = match h[1] {
            PT_SR if len >= 28 => {
                s.sender_info = Some(SenderInfo {
                    ntp: ((be32(h, 8) as u64) << 32) | be32(h, 12) as u64,
                    rtp_timestamp: be32(h, 16),
                    packets: be32(h, 20),
                    octets: be32(h, 24),
                });
                Some(28)
            }
            PT_RR if len >= 8 => Some(8),
            PT_BYE => {
                s.bye = true;
                None
            }
            _ => None,
        };
        if let Some(at) = blocks_at {
            s.sender_ssrc = be32(h, 4);
            seen = true;
            for i in 0..count {
                let o = at + 24 * i;
                if o + 24 > len {
                    return None;
                }
                let blk = parse_block(&h[o..o + 24]);
                if blk.ssrc == about {
                    s.block = Some(blk);
                }
            }
        }
        off += len;
    }
    (seen || s.bye).then_some(s)
}

fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_be_bytes());
}

fn write_block(b: &mut [u8], r: &ReportBlock) {
    put32(b, 0, r.ssrc);
    let cum = r.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
    put32(b, 4, ((r.fraction_lost as u32) << 24) | cum);
    put32(b, 8, r.highest_seq);
    put32(b, 12, r.jitter);
    put32(b, 16, r.lsr);
    put32(b, 20, r.dlsr);
}

/// Bytes `write_report` needs at most for a CNAME of `cname_len` bytes.
pub const fn max_report_len(cname_len: usize) -> usize {
    28 + 24 + 8 + (cname_len + 3).div_ceil(4) * 4
}

/// Writes an SR (if `sender` is set) or RR with at most one report block, then an
/// SDES with our CNAME — the minimal compound packet of §6.1. Returns its length;
/// `buf` must hold `max_report_len(cname.len())` bytes and `cname` ≤ 255 bytes.
pub fn write_report(
    buf: &mut [u8],
    ssrc: u32,
    sender: Option<&SenderInfo>,
    block: Option<&ReportBlock>,
    cname: &str,
) -> usize {
    let rc = block.is_some() as u8;
    let head = if sender.is_some() { 28 } else { 8 };
    let first = head + 24 * rc as usize;
    buf[0] = 0x80 | rc;
    buf[1] = if sender.is_some() { PT_SR } else { PT_RR };
    buf[2..4].copy_from_slice(&((first / 4 - 1) as u16).to_be_bytes());
    put32(buf, 4, ssrc);
    if let Some(si) = sender {
        put32(buf, 8, (si.ntp >> 32) as u32);
        put32(buf, 12, si.ntp as u32);
        put32(buf, 16, si.rtp_timestamp);
        put32(buf, 20, si.packets);
        put32(buf, 24, si.octets);
    }
    if let Some(b) = block {
        write_block(&mut buf[head..head + 24], b);
    }
    // SDES: one chunk, CNAME item, then a null item padding to 32 bits (§6.5).
    let name = &cname.as_bytes()[..cname.len().min(255)];
    let chunk = 4 + 2 + name.len();
    let padded = (chunk + 1).div_ceil(4) * 4;
    let s = &mut buf[first..first + 4 + padded];
    s[0] = 0x81;
    s[1] = PT_SDES;
    s[2..4].copy_from_slice(&((padded / 4) as u16).to_be_bytes());
    put32(s, 4, ssrc);
    s[8] = SDES_CNAME;
    s[9] = name.len() as u8;
    s[10..10 + name.len()].copy_from_slice(name);
    s[10 + name.len()..].fill(0);
    first + 4 + padded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_report_round_trip() {
        let mut buf = [0u8; max_report_len(9)];
        let si = SenderInfo {
            ntp: 0xE5F0_0000_8000_0000,
            rtp_timestamp: 123_456,
            packets: 50,
            octets: 8000,
        };
        let blk = ReportBlock {
            ssrc: 0xAABB_CCDD,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 70_000,
            jitter: 12,
            lsr: 0x1234_5678,
            dlsr: 65536,
        };
        let n = write_report(&mut buf, 0x1111, Some(&si), Some(&blk), "madoguchi");
        assert_eq!(n, 52 + 20); // SR with one block, SDES chunk of 16 bytes
        assert_eq!(n % 4, 0);
        assert_eq!(&buf[..4], &[0x81, 200, 0, 12]);
        assert_eq!(&buf[52..56], &[0x81, 202, 0, 4]);
        assert_eq!(&buf[60..71], b"\x01\x09madoguchi");
        let s = parse(&buf[..n], 0xAABB_CCDD).unwrap();
        assert_eq!(s.sender_ssrc, 0x1111);
        assert_eq!(s.sender_info, Some(si));
        assert_eq!(s.block, Some(blk));
        assert!(!s.bye);
        // A block about someone else is not ours.
        assert_eq!(parse(&buf[..n], 0x9999).unwrap().block, None);
    }

    #[test]
    fn receiver_report_and_bye() {
        let mut buf = [0u8; 128];
        let n = write_report(&mut buf, 7, None, None, "x");
        assert_eq!(&buf[..8], &[0x80, 201, 0, 1, 0, 0, 0, 7]);
        assert_eq!(n, 8 + 12);
        let s = parse(&buf[..n], 1).unwrap();
        assert_eq!((s.sender_ssrc, s.sender_info, s.block), (7, None, None));
        // Append a BYE (§6.6).
        buf[n..n + 8].copy_from_slice(&[0x81, 203, 0, 1, 0, 0, 0, 7]);
        assert!(parse(&buf[..n + 8], 1).unwrap().bye);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse(&[0x80, 201, 0, 5, 0, 0, 0, 1], 0), None); // length past end
        assert_eq!(parse(&[0x40, 201, 0, 1, 0, 0, 0, 1], 0), None); // version 1
        assert_eq!(parse(&[0x81, 201, 0, 1, 0, 0, 0, 1], 0), None); // RC=1, no block
        assert_eq!(parse(&[0x81, 202, 0, 1, 0, 0, 0, 1], 0), None); // SDES only
    }

    #[test]
    fn loss_is_clamped_to_24_bits_and_ntp_is_sane() {
        let mut buf = [0u8; 128];
        let blk = ReportBlock {
            cumulative_lost: 50_000_000,
            ..Default::default()
        };
        let n = write_report(&mut buf, 1, None, Some(&blk), "m");
        assert_eq!(
            parse(&buf[..n], 0).unwrap().block.unwrap().cumulative_lost,
            0x7F_FFFF
        );
        let t = ntp_now();
        // After 2020-01-01 (NTP seconds 3_786_825_600).
        assert!(t >> 32 > 3_786_825_600);
        assert_eq!(ntp_middle(0x0001_2345_6789_0000), 0x2345_6789);
    }
}
