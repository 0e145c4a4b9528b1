//! SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80 and _32 suites, keyed by
//! SDES (RFC 4568 `a=crypto`, see `sdes`). Sans-IO and allocation-free per packet:
//! packets are protected and unprotected in place in the caller's buffer.
//!
//! One `SrtpSession` per direction of one leg: what we send (`protect_*`) and what we
//! receive (`unprotect_*`) use different master keys (each side declares its own key in
//! its SDP, RFC 4568 §6.1). The key derivation rate is 0 (RFC 4568 §6.3.1: the default,
//! and no phone we met uses another), so session keys are derived once at creation.
//!
//! Why our own ~300 lines instead of a crate: webrtc-rs `webrtc-srtp` brings its own
//! `rtp`/`rtcp`/`util` stack (~40 crates, allocating `Bytes` per packet) for what here is
//! AES in counter mode plus HMAC-SHA1. AES is the RustCrypto `aes` crate (maintained,
//! constant-time, AES-NI when present); HMAC-SHA1 is `ring`'s, already in the tree under
//! rustls. The result is checked against the RFC 3711 Appendix B vectors.
//!
//! Keys are never printed: `MasterKey`'s Debug is redacted and no error carries key bytes.

mod sdes;
#[cfg(test)]
mod tests;

pub use sdes::{CryptoAttr, SdesError};

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use ring::hmac;

/// The SRTP crypto suites we offer and accept (RFC 4568 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// 80-bit RTP auth tag (the mandatory-to-implement one).
    AesCm128HmacSha1_80,
    /// 32-bit RTP auth tag (SRTCP still carries 80 bits, RFC 4568 §6.2.2).
    AesCm128HmacSha1_32,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    pub fn from_name(s: &str) -> Option<Suite> {
        match s {
            "AES_CM_128_HMAC_SHA1_80" => Some(Suite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Suite::AesCm128HmacSha1_32),
            _ => None,
        }
    }

    /// Bytes of auth tag on SRTP packets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 => 10,
            Suite::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// SRTCP always carries an 80-bit tag with these suites.
const RTCP_TAG_LEN: usize = 10;
/// Bytes SRTP adds to an RTP packet at most (the caller's buffer needs this room).
pub const MAX_RTP_OVERHEAD: usize = 10;
/// Bytes SRTCP adds: the E flag + 31-bit index, and the tag.
pub const RTCP_OVERHEAD: usize = 4 + RTCP_TAG_LEN;

/// A master key and salt (RFC 3711 §8.2: 128-bit key, 112-bit salt).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    pub key: [u8; 16],
    pub salt: [u8; 14],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key and salt (the OS's CSPRNG through `rand`).
    pub fn random() -> MasterKey {
        use rand::RngCore;
        let mut m = MasterKey {
            key: [0; 16],
            salt: [0; 14],
        };
        let mut rng = rand::rng();
        rng.fill_bytes(&mut m.key);
        rng.fill_bytes(&mut m.salt);
        m
    }
}

/// The keys of one SRTP leg, as negotiated in SDP: `ours` protects what we send (the
/// key in our `a=crypto`), `theirs` checks what the peer sends (the key in its line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: Suite,
    pub ours: MasterKey,
    pub theirs: MasterKey,
}

/// Both directions of one leg.
pub struct LegSrtp {
    pub keys: SrtpKeys,
    /// Protects what we send.
    pub tx: SrtpSession,
    /// Checks and decrypts what we receive.
    pub rx: SrtpSession,
}

impl LegSrtp {
    pub fn new(keys: SrtpKeys) -> LegSrtp {
        LegSrtp {
            tx: SrtpSession::new(keys.suite, &keys.ours),
            rx: SrtpSession::new(keys.suite, &keys.theirs),
            keys,
        }
    }

    /// New keys from a re-INVITE (RFC 4568 §7.1.4): a direction whose key and suite are
    /// unchanged keeps its crypto context (rollover counter, replay window), since the
    /// sender on that side keeps its own; only a changed direction starts afresh.
    pub fn rekey(&mut self, keys: SrtpKeys) {
        if keys.suite != self.keys.suite || keys.ours != self.keys.ours {
            self.tx = SrtpSession::new(keys.suite, &keys.ours);
        }
        if keys.suite != self.keys.suite || keys.theirs != self.keys.theirs {
            self.rx = SrtpSession::new(keys.suite, &keys.theirs);
        }
        self.keys = keys;
    }
}

/// Why a packet was refused. Carries no packet or key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("packet too short or malformed")]
    Malformed,
    #[error("authentication tag does not match")]
    AuthFailed,
    #[error("replayed or too old packet")]
    Replayed,
    #[error("buffer has no room for the auth tag")]
    NoRoom,
}

/// Session keys for one of RTP or RTCP (RFC 3711 §4.3).
struct Keys {
    cipher: Aes128,
    salt: [u8; 14],
    auth: hmac::Key,
}

/// The AES-CM PRF of RFC 3711 §4.3.3 with kdr = 0: `out` = AES-CM(master key,
/// IV = (label ‖ 0⁴⁸ XOR master salt) · 2¹⁶).
fn derive(master: &Aes128, salt: &[u8; 14], label: u8, out: &mut [u8]) {
    let mut x = [0u8; 16];
    x[..14].copy_from_slice(salt);
    // key_id = label ‖ r (r = 0, 48 bits): the label sits 7 bytes from the right of the
    // 112-bit salt (§4.3.1).
    x[7] ^= label;
    keystream_xor(master, &x, out);
}

fn keys(m: &MasterKey, labels: [u8; 3]) -> Keys {
    let master = Aes128::new(&m.key.into());
    let mut k = [0u8; 16];
    derive(&master, &m.salt, labels[0], &mut k);
    let mut a = [0u8; 20];
    derive(&master, &m.salt, labels[1], &mut a);
    let mut s = [0u8; 14];
    derive(&master, &m.salt, labels[2], &mut s);
    Keys {
        cipher: Aes128::new(&k.into()),
        salt: s,
        auth: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &a),
    }
}

/// XORs `data` with the AES counter-mode keystream starting at counter block `iv`
/// (RFC 3711 §4.1.1: the block counter is the low 16 bits of the IV).
fn keystream_xor(cipher: &Aes128, iv: &[u8; 16], data: &mut [u8]) {
    let mut ctr = u128::from_be_bytes(*iv);
    for chunk in data.chunks_mut(16) {
        let mut block = ctr.to_be_bytes().into();
        cipher.encrypt_block(&mut block);
        for (d, k) in chunk.iter_mut().zip(block.iter()) {
            *d ^= k;
        }
        ctr = ctr.wrapping_add(1);
    }
}

/// IV = (salt · 2¹⁶) XOR (SSRC · 2⁶⁴) XOR (index · 2¹⁶) (RFC 3711 §4.1.1).
fn iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
        iv[4 + i] ^= b;
    }
    for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
        iv[8 + i] ^= b;
    }
    iv
}

/// HMAC-SHA1 over `parts`, truncated into `tag`.
fn mac(key: &hmac::Key, parts: &[&[u8]], tag: &mut [u8]) {
    let mut ctx = hmac::Context::with_key(key);
    for p in parts {
        ctx.update(p);
    }
    let full = ctx.sign();
    tag.copy_from_slice(&full.as_ref()[..tag.len()]);
}

/// Constant-time comparison (the tag must not leak through timing).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RTP header length (fixed part, CSRCs, extension) or `None` if malformed.
fn rtp_header_len(p: &[u8]) -> Option<usize> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let mut n = 12 + 4 * (p[0] & 0x0f) as usize;
    if p[0] & 0x10 != 0 {
        let ext = p.get(n + 2..n + 4)?;
        n += 4 + 4 * u16::from_be_bytes([ext[0], ext[1]]) as usize;
    }
    (n <= p.len()).then_some(n)
}

/// The replay window of RFC 3711 §3.3.2 (64 packets behind the highest index).
#[derive(Default)]
struct ReplayWindow {
    highest: u64,
    bits: u64,
    seen_any: bool,
}

impl ReplayWindow {
    fn check(&self, index: u64) -> bool {
        if !self.seen_any || index > self.highest {
            return true;
        }
        let d = self.highest - index;
        d < 64 && self.bits & (1 << d) == 0
    }

    fn accept(&mut self, index: u64) {
        if !self.seen_any {
            self.seen_any = true;
            self.highest = index;
            self.bits = 1;
        } else if index > self.highest {
            let d = index - self.highest;
            self.bits = if d >= 64 { 0 } else { self.bits << d };
            self.bits |= 1;
            self.highest = index;
        } else {
            self.bits |= 1 << (self.highest - index);
        }
    }
}

/// One direction of one leg's SRTP: either what we send or what we receive.
pub struct SrtpSession {
    suite: Suite,
    rtp: Keys,
    rtcp: Keys,
    /// The SSRC whose rollover counter is tracked (one sender per direction; a new SSRC
    /// restarts the tracking, as a phone restarting its stream does).
    ssrc: Option<u32>,
    /// Rollover counter and highest sequence number (s_l) of §3.3.1.
    roc: u32,
    s_l: u16,
    replay: ReplayWindow,
    rtcp_replay: ReplayWindow,
    /// Our next SRTCP index (sender side).
    rtcp_index: u32,
}

impl SrtpSession {
    pub fn new(suite: Suite, master: &MasterKey) -> SrtpSession {
        SrtpSession {
            suite,
            rtp: keys(master, [0, 1, 2]),
            rtcp: keys(master, [3, 4, 5]),
            ssrc: None,
            roc: 0,
            s_l: 0,
            replay: ReplayWindow::default(),
            rtcp_replay: ReplayWindow::default(),
            rtcp_index: 0,
        }
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Estimates the packet index from its sequence number (RFC 3711 §3.3.1 and
    /// Appendix A): the ROC of the value closest to s_l.
    fn estimate(&self, seq: u16) -> (u32, u64) {
        let roc = if self.s_l < 32768 {
            if seq as i32 - self.s_l as i32 > 32768 {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if (self.s_l as i32 - 32768) > seq as i32 {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        };
        (roc, ((roc as u64) << 16) | seq as u64)
    }

    fn update(&mut self, roc: u32, seq: u16) {
        if roc == self.roc {
            if seq > self.s_l {
                self.s_l = seq;
            }
        } else if roc == self.roc.wrapping_add(1) {
            self.roc = roc;
            self.s_l = seq;
        }
    }

    fn track(&mut self, ssrc: u32, seq: u16) {
        if self.ssrc != Some(ssrc) {
            self.ssrc = Some(ssrc);
            self.roc = 0;
            self.s_l = seq;
            self.replay = ReplayWindow::default();
        }
    }

    /// Encrypts and authenticates the RTP packet in `buf[..len]` in place, appending the
    /// tag; returns the new length. `buf` needs `MAX_RTP_OVERHEAD` spare bytes.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtp_tag_len();
        let h = rtp_header_len(&buf[..len]).ok_or(SrtpError::Malformed)?;
        if buf.len() < len + tag_len {
            return Err(SrtpError::NoRoom);
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        self.track(ssrc, seq);
        let (roc, index) = self.estimate(seq);
        self.update(roc, seq);
        keystream_xor(
            &self.rtp.cipher,
            &iv(&self.rtp.salt, ssrc, index),
            &mut buf[h..len],
        );
        let (pkt, rest) = buf.split_at_mut(len);
        mac(
            &self.rtp.auth,
            &[pkt, &roc.to_be_bytes()],
            &mut rest[..tag_len],
        );
        Ok(len + tag_len)
    }

    /// Checks and decrypts the SRTP packet in `buf[..len]` in place; returns the length
    /// of the plain RTP packet. A wrong tag or a replay leaves the session unchanged.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let tag_len = self.suite.rtp_tag_len();
        if len < 12 + tag_len {
            return Err(SrtpError::Malformed);
        }
        let body = len - tag_len;
        let h = rtp_header_len(&buf[..body]).ok_or(SrtpError::Malformed)?;
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let new_ssrc = self.ssrc != Some(ssrc);
        let (roc, index) = if new_ssrc {
            (0, seq as u64)
        } else {
            self.estimate(seq)
        };
        if !new_ssrc && !self.replay.check(index) {
            return Err(SrtpError::Replayed);
        }
        let mut tag = [0u8; 10];
        mac(
            &self.rtp.auth,
            &[&buf[..body], &roc.to_be_bytes()],
            &mut tag[..tag_len],
        );
        if !ct_eq(&tag[..tag_len], &buf[body..len]) {
            return Err(SrtpError::AuthFailed);
        }
        // Authentic: only now may the packet move the session's state (§3.3).
        self.track(ssrc, seq);
        self.update(roc, seq);
        self.replay.accept(index);
        keystream_xor(
            &self.rtp.cipher,
            &iv(&self.rtp.salt, ssrc, index),
            &mut buf[h..body],
        );
        Ok(body)
    }

    /// Encrypts and authenticates the RTCP compound packet in `buf[..len]` in place
    /// (RFC 3711 §3.4: the first 8 bytes stay clear), appending E‖index and the tag.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        if len < 8 {
            return Err(SrtpError::Malformed);
        }
        if buf.len() < len + RTCP_OVERHEAD {
            return Err(SrtpError::NoRoom);
        }
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let index = self.rtcp_index;
        self.rtcp_index = (self.rtcp_index + 1) & 0x7fff_ffff;
        keystream_xor(
            &self.rtcp.cipher,
            &iv(&self.rtcp.salt, ssrc, index as u64),
            &mut buf[8..len],
        );
        buf[len..len + 4].copy_from_slice(&(0x8000_0000 | index).to_be_bytes());
        let (pkt, rest) = buf.split_at_mut(len + 4);
        mac(&self.rtcp.auth, &[pkt], &mut rest[..RTCP_TAG_LEN]);
        Ok(len + RTCP_OVERHEAD)
    }

    /// Checks and decrypts an SRTCP packet in place; returns the plain RTCP length.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        if len < 8 + RTCP_OVERHEAD {
            return Err(SrtpError::Malformed);
        }
        let body = len - RTCP_TAG_LEN;
        let mut tag = [0u8; RTCP_TAG_LEN];
        mac(&self.rtcp.auth, &[&buf[..body]], &mut tag);
        if !ct_eq(&tag, &buf[body..len]) {
            return Err(SrtpError::AuthFailed);
        }
        let e_index =
            u32::from_be_bytes([buf[body - 4], buf[body - 3], buf[body - 2], buf[body - 1]]);
        let index = (e_index & 0x7fff_ffff) as u64;
        if !self.rtcp_replay.check(index) {
            return Err(SrtpError::Replayed);
        }
        self.rtcp_replay.accept(index);
        let plain = body - 4;
        if e_index & 0x8000_0000 != 0 {
            let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
            keystream_xor(
                &self.rtcp.cipher,
                &iv(&self.rtcp.salt, ssrc, index),
                &mut buf[8..plain],
            );
        }
        Ok(plain)
    }
}
