//! ITU-T G.711 µ-law (PCMU) and A-law (PCMA).
//!
//! Decoding is a 256-entry table built at compile time from the G.711 expansion
//! rules; encoding is branch-light bit arithmetic (the segment is the position of
//! the highest set bit), which needs no 64 KiB table and stays in L1.
//! The algorithms follow the ITU-T G.191 reference (`g711.c`): the µ-law encoder
//! works on the 14-bit magnitude with a bias of 33, the A-law encoder on 13 bits.

use serde::{Deserialize, Serialize};

/// The two G.711 laws, as negotiated in SDP with their static RTP payload types
/// (RFC 3551 §6: PCMU = 0, PCMA = 8, both 8000 Hz).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The encoding name used in `a=rtpmap` (RFC 3551 §6).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    pub const fn clock_rate(self) -> u32 {
        8000
    }

    /// The byte that decodes to (near) zero: what a silent frame is made of.
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    #[inline]
    pub fn encode(self, s: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(s),
            Codec::Pcma => alaw_encode(s),
        }
    }

    #[inline]
    pub fn decode(self, b: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW_DECODE[b as usize],
            Codec::Pcma => ALAW_DECODE[b as usize],
        }
    }
}

const fn ulaw_expand(u: u8) -> i16 {
    // G.711 §2 / G.191: bits are transmitted inverted; 3-bit segment, 4-bit
    // mantissa, magnitude = ((mantissa << 3) + 0x84) << segment, minus the bias.
    let u = !u;
    let t = ((((u & 0x0F) as i32) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn alaw_expand(a: u8) -> i16 {
    // G.711 §3: even bits are inverted (XOR 0x55); segment 0 has no leading one.
    let a = a ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_expand(i as u8)
        } else {
            ulaw_expand(i as u8)
        };
        i += 1;
    }
    t
}

/// µ-law code → 16-bit linear sample.
pub static ULAW_DECODE: [i16; 256] = build_table(false);
/// A-law code → 16-bit linear sample.
pub static ALAW_DECODE: [i16; 256] = build_table(true);

const fn ulaw_compress(s: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut x = s as i32;
    // G.191 uses the one's complement for negatives, so -1 maps to "negative zero".
    let sign = if x < 0 {
        x = !x;
        0x80
    } else {
        0
    };
    if x > CLIP {
        x = CLIP;
    }
    x += BIAS;
    // x is in 0x84..=0x7FFF: the highest set bit is bit 7..=14 → segment 0..=7.
    let seg = (24 - (x as u32).leading_zeros()) as i32;
    let mantissa = (x >> (seg + 3)) & 0x0F;
    !(sign | (seg << 4) as u8 | mantissa as u8)
}

const fn alaw_compress(s: i16) -> u8 {
    let mut x = (s as i32) >> 3; // 13-bit
    let mask = if x >= 0 {
        0xD5
    } else {
        x = !x; // -x - 1, as in G.191
        0x55
    };
    // x is in 0..=4095. Segment 0 covers 0..=31, then one segment per octave.
    let seg = if x < 32 {
        0
    } else {
        (31 - (x as u32).leading_zeros()) as i32 - 4
    };
    let shift = if seg < 2 { 1 } else { seg };
    let aval = ((seg << 4) | ((x >> shift) & 0x0F)) as u8;
    aval ^ mask
}

/// 16-bit linear → µ-law.
#[inline]
pub fn ulaw_encode(s: i16) -> u8 {
    ulaw_compress(s)
}

/// 16-bit linear → A-law.
#[inline]
pub fn alaw_encode(s: i16) -> u8 {
    alaw_compress(s)
}

#[inline]
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_DECODE[b as usize]
}

#[inline]
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_DECODE[b as usize]
}

const fn build_transcode(from_ulaw: bool) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if from_ulaw {
            alaw_compress(ulaw_expand(i as u8))
        } else {
            ulaw_compress(alaw_expand(i as u8))
        };
        i += 1;
    }
    t
}

/// µ-law → A-law by way of the linear value (one table lookup per byte). G.711
/// Tables 3/4 define a direct mapping that differs from this by at most one step
/// for a few codes; going through linear keeps one source of truth.
pub static ULAW_TO_ALAW: [u8; 256] = build_transcode(true);
/// A-law → µ-law, likewise.
pub static ALAW_TO_ULAW: [u8; 256] = build_transcode(false);

#[inline]
pub fn transcode_ulaw_to_alaw(b: u8) -> u8 {
    ULAW_TO_ALAW[b as usize]
}

#[inline]
pub fn transcode_alaw_to_ulaw(b: u8) -> u8 {
    ALAW_TO_ULAW[b as usize]
}

/// Transcode `src` (in law `from`) into `dst` (in law `to`); copies if equal.
/// `dst` must be at least as long as `src`.
#[inline]
pub fn transcode(from: Codec, to: Codec, src: &[u8], dst: &mut [u8]) {
    let dst = &mut dst[..src.len()];
    let table = match (from, to) {
        (Codec::Pcmu, Codec::Pcma) => &ULAW_TO_ALAW,
        (Codec::Pcma, Codec::Pcmu) => &ALAW_TO_ULAW,
        _ => {
            dst.copy_from_slice(src);
            return;
        }
    };
    for (d, s) in dst.iter_mut().zip(src) {
        *d = table[*s as usize];
    }
}

/// Encode `pcm` into `out` (`out.len() >= pcm.len()`).
#[inline]
pub fn encode_frame(codec: Codec, pcm: &[i16], out: &mut [u8]) {
    let out = &mut out[..pcm.len()];
    match codec {
        Codec::Pcmu => out
            .iter_mut()
            .zip(pcm)
            .for_each(|(o, s)| *o = ulaw_encode(*s)),
        Codec::Pcma => out
            .iter_mut()
            .zip(pcm)
            .for_each(|(o, s)| *o = alaw_encode(*s)),
    }
}

/// Decode `data` into `out` (`out.len() >= data.len()`).
#[inline]
pub fn decode_frame(codec: Codec, data: &[u8], out: &mut [i16]) {
    let table = match codec {
        Codec::Pcmu => &ULAW_DECODE,
        Codec::Pcma => &ALAW_DECODE,
    };
    for (o, b) in out[..data.len()].iter_mut().zip(data) {
        *o = table[*b as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_values() {
        // Values from the G.711 µ-law expansion (as in G.191 and Sun's g711.c).
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0); // "negative zero"
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        assert_eq!(ulaw_decode(0x01), -31100);
        assert_eq!(ulaw_decode(0x0F), -16764);
        assert_eq!(ulaw_decode(0x10), -15996);
        assert_eq!(ulaw_decode(0x90), 15996);
        assert_eq!(ulaw_decode(0x6F), -132);
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_decode(0xF0), 120);
    }

    #[test]
    fn alaw_reference_values() {
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xD4), 24);
        assert_eq!(alaw_decode(0xC5), 264);
        assert_eq!(alaw_decode(0xF5), 528);
        assert_eq!(alaw_decode(0x00), -5504);
        assert_eq!(alaw_decode(0x01), -5248);
        assert_eq!(alaw_decode(0x80), 5504);
    }

    #[test]
    fn encoder_reference_values() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            // µ-law 0x7F is negative zero: it decodes to 0, which encodes to 0xFF.
            if c != 0x7F {
                assert_eq!(ulaw_encode(ulaw_decode(c)), c, "µ-law code {c:#04x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law code {c:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_bounded_and_monotonic() {
        let mut prev_u = i16::MIN;
        let mut prev_a = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            // Half a step of the segment is |x|/32 at most; allow the clip region.
            let bound = (x as i32).abs() / 16 + 16;
            assert!((u as i32 - x as i32).abs() <= bound, "µ-law x={x} → {u}");
            assert!((a as i32 - x as i32).abs() <= bound, "A-law x={x} → {a}");
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {x}");
            prev_u = u;
            prev_a = a;
        }
    }

    #[test]
    fn transcode_tables_preserve_level() {
        for c in 0..=255u8 {
            let lin = ulaw_decode(c) as i32;
            let via = alaw_decode(transcode_ulaw_to_alaw(c)) as i32;
            assert!(
                (lin - via).abs() <= lin.abs() / 16 + 16,
                "{c:#04x}: {lin} vs {via}"
            );
            let lin = alaw_decode(c) as i32;
            let via = ulaw_decode(transcode_alaw_to_ulaw(c)) as i32;
            assert!(
                (lin - via).abs() <= lin.abs() / 16 + 16,
                "{c:#04x}: {lin} vs {via}"
            );
        }
        let src = [0x00u8, 0x80, 0xFF, 0x7E];
        let mut dst = [0u8; 4];
        transcode(Codec::Pcmu, Codec::Pcma, &src, &mut dst);
        assert_eq!(dst, [0x2A, 0xAA, 0xD5, 0x55]);
        transcode(Codec::Pcmu, Codec::Pcmu, &src, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn frames_encode_and_decode() {
        let pcm: Vec<i16> = (0..160i32).map(|i| ((i - 80) * 300) as i16).collect();
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut enc = [0u8; 160];
            let mut dec = [0i16; 160];
            encode_frame(codec, &pcm, &mut enc);
            decode_frame(codec, &enc, &mut dec);
            for (x, y) in pcm.iter().zip(dec.iter()) {
                assert!((*x as i32 - *y as i32).abs() <= (*x as i32).abs() / 16 + 16);
            }
            assert_eq!(
                codec.decode(codec.silence()).abs(),
                if codec == Codec::Pcmu { 0 } else { 8 }
            );
            assert_eq!(Codec::from_payload_type(codec.payload_type()), Some(codec));
        }
    }
}
