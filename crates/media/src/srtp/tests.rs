//! RFC 3711 Appendix B vectors, then round trips, tampering, replay and rollover.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 3711 B.2: the AES-CM keystream for session key 2B7E…, salt F0F1…FCFD, SSRC 0,
/// index 0.
#[test]
fn aes_cm_keystream_matches_rfc3711_b2() {
    let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C").try_into().unwrap();
    let salt: [u8; 14] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap();
    let cipher = Aes128::new(&key.into());
    let iv0 = iv(&salt, 0, 0);
    assert_eq!(iv0.to_vec(), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
    let mut ks = [0u8; 48];
    keystream_xor(&cipher, &iv0, &mut ks);
    assert_eq!(
        ks.to_vec(),
        hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0")
    );
    // Blocks 0xFEFF.. of the same stream (the counter carries into the next byte).
    let mut ks = [0u8; 48];
    let mut iv = iv0;
    iv[14] = 0xFE;
    iv[15] = 0xFF;
    keystream_xor(&cipher, &iv, &mut ks);
    assert_eq!(
        ks.to_vec(),
        hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44")
    );
}

/// RFC 3711 B.3: session keys from master key E1F9…, master salt 0EC6….
#[test]
fn key_derivation_matches_rfc3711_b3() {
    let mk: [u8; 16] = hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap();
    let salt: [u8; 14] = hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap();
    let master = Aes128::new(&mk.into());
    let mut k = [0u8; 16];
    derive(&master, &salt, 0, &mut k);
    assert_eq!(k.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut s = [0u8; 14];
    derive(&master, &salt, 2, &mut s);
    assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut a = [0u8; 20];
    derive(&master, &salt, 1, &mut a);
    assert_eq!(a.to_vec(), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

fn master() -> MasterKey {
    MasterKey {
        key: hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
        salt: hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
    }
}

fn rtp(seq: u16, payload: u8) -> ([u8; 200], usize) {
    let mut b = [0u8; 200];
    b[..12].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 160, 0xde, 0xca, 0xfb, 0xad]);
    b[2..4].copy_from_slice(&seq.to_be_bytes());
    b[12..172].fill(payload);
    (b, 172)
}

#[test]
fn rtp_round_trip_hides_the_payload_and_appends_the_tag() {
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let mut tx = SrtpSession::new(suite, &master());
        let mut rx = SrtpSession::new(suite, &master());
        for seq in [65530u16, 65535, 0, 1, 7] {
            let (mut b, n) = rtp(seq, 0xd5);
            let plain = b;
            let m = tx.protect_rtp(&mut b, n).unwrap();
            assert_eq!(m, n + suite.rtp_tag_len());
            assert_eq!(b[..12], plain[..12], "the header stays clear");
            assert!(
                b[12..n].iter().filter(|x| **x == 0xd5).count() < 20,
                "payload encrypted"
            );
            assert_eq!(rx.unprotect_rtp(&mut b, m).unwrap(), n);
            assert_eq!(b[..n], plain[..n]);
        }
        // The rollover counter moved past the wrap at 65535 → 0 on both sides.
        assert_eq!((tx.roc, rx.roc), (1, 1));
    }
}

#[test]
fn a_tampered_or_foreign_keyed_packet_is_refused_and_changes_nothing() {
    let mut tx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &master());
    let mut rx = SrtpSession::new(Suite::AesCm128HmacSha1_80, &master());
    let (mut b, n) = rtp(10, 1);
    let m = tx.protect_rtp(&mut b, n).unwrap();
    let mut bad = b;
    bad[20] ^= 1;
    assert_eq!(rx.unprotect_rtp(&mut bad, m), Err(SrtpError::AuthFailed));
    let mut other = SrtpSession::new(Suite::AesCm128HmacSha1_80, &MasterKey::random());
    let mut c = b;
    assert_eq!(other.unprotect_rtp(&mut c, m), Err(SrtpError::AuthFailed));
    // Plain RTP (no tag) is refused too.
    let (mut p, pn) = rtp(11, 1);
    assert!(rx.unprotect_rtp(&mut p, pn).is_err());
    assert_eq!(rx.unprotect_rtp(&mut b, m), Ok(n));
    // The same packet again is a replay.
    let (mut b2, _) = rtp(10, 1);
    let m2 = tx_again(&mut b2, n);
    assert_eq!(rx.unprotect_rtp(&mut b2, m2), Err(SrtpError::Replayed));
    assert_eq!(
        rx.unprotect_rtp(&mut [0u8; 5], 5),
        Err(SrtpError::Malformed)
    );
}

fn tx_again(b: &mut [u8], n: usize) -> usize {
    SrtpSession::new(Suite::AesCm128HmacSha1_80, &master())
        .protect_rtp(b, n)
        .unwrap()
}

#[test]
fn rtcp_round_trip_and_tamper() {
    let mut tx = SrtpSession::new(Suite::AesCm128HmacSha1_32, &master());
    let mut rx = SrtpSession::new(Suite::AesCm128HmacSha1_32, &master());
    let mut b = [0u8; 100];
    b[..8].copy_from_slice(&[0x80, 201, 0, 7, 1, 2, 3, 4]);
    b[8..32].fill(0x55);
    let plain = b;
    let m = tx.protect_rtcp(&mut b, 32).unwrap();
    assert_eq!(m, 32 + RTCP_OVERHEAD);
    assert_ne!(b[8..32], plain[8..32]);
    let mut bad = b;
    bad[9] ^= 4;
    assert_eq!(rx.unprotect_rtcp(&mut bad, m), Err(SrtpError::AuthFailed));
    assert_eq!(rx.unprotect_rtcp(&mut b, m), Ok(32));
    assert_eq!(b[..32], plain[..32]);
}

#[test]
fn sdes_lines_parse_and_print_without_leaking_keys_in_debug() {
    let line = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";
    assert_eq!(CryptoAttr::parse(line), Err(SdesError::Unsupported), "MKI");
    let ok = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20";
    let a = CryptoAttr::parse(ok).unwrap();
    assert_eq!((a.tag, a.suite), (1, Suite::AesCm128HmacSha1_80));
    let b = CryptoAttr::parse(&a.to_value()).unwrap();
    assert_eq!(a, b);
    assert!(!format!("{a:?}").contains("PS1u"));
    assert!(format!("{:?}", a.key).contains("redacted"));
    assert_eq!(
        CryptoAttr::parse("1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
        Err(SdesError::UnsupportedSuite)
    );
    assert_eq!(
        CryptoAttr::parse("1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP"),
        Err(SdesError::Unsupported)
    );
    assert_eq!(CryptoAttr::parse("x"), Err(SdesError::Malformed));
    assert_eq!(
        CryptoAttr::parse("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"),
        Err(SdesError::Malformed)
    );
}
