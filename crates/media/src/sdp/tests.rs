use super::*;
use crate::g711::Codec;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

// Shaped like what a Linphone/baresip softphone sends: unknown lines (i=, b=, x-)
// and attributes we do not model must survive a parse/render round trip.
const PHONE_OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n\
s=Talk\r\n\
i=a call\r\n\
c=IN IP4 192.0.2.10\r\n\
b=AS:64\r\n\
t=0 0\r\n\
a=tool:softphone 5.0\r\n\
m=audio 49170 RTP/AVP 8 0 18 101\r\n\
b=TIAS:64000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:30\r\n\
a=rtcp:49171\r\n\
m=video 0 RTP/AVP 96\r\n\
a=rtpmap:96 VP8/90000\r\n";

fn ip4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn parse_keeps_everything_and_renders_back_identically() {
    let sd = SessionDescription::parse(PHONE_OFFER).unwrap();
    assert_eq!(sd.origin.username, "alice");
    assert_eq!(sd.origin.session_version, 2890844527);
    assert_eq!(sd.connection, Some(Connection::new(ip4(192, 0, 2, 10))));
    assert_eq!(sd.media.len(), 2);
    let m = &sd.media[0];
    assert_eq!((m.port, m.proto.as_str()), (49170, "RTP/AVP"));
    assert_eq!(m.formats, ["8", "0", "18", "101"]);
    assert_eq!(m.rtpmap(18), Some(("G729", 8000)));
    assert_eq!(m.telephone_event_pt(), Some(101));
    assert_eq!(m.ptime(), Some(30));
    assert_eq!(sd.to_string(), PHONE_OFFER);
}

#[test]
fn accepts_bare_lf_and_reports_bad_lines() {
    let lf = PHONE_OFFER.replace("\r\n", "\n");
    assert_eq!(
        SessionDescription::parse(&lf).unwrap().to_string(),
        PHONE_OFFER
    );

    let bad_c = PHONE_OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP6 192.0.2.10");
    assert!(matches!(
        SessionDescription::parse(&bad_c),
        Err(SdpError::Parse { line: 5, .. })
    ));
    let bad_m = PHONE_OFFER.replace("m=audio 49170", "m=audio 70000");
    assert!(matches!(
        SessionDescription::parse(&bad_m),
        Err(SdpError::Parse { line: 9, .. })
    ));
    let no_v = PHONE_OFFER.replacen("v=0\r\n", "", 1);
    assert!(matches!(
        SessionDescription::parse(&no_v),
        Err(SdpError::Parse { line: 1, .. })
    ));
    let garbage = PHONE_OFFER.replace("s=Talk", "sTalk");
    assert!(matches!(
        SessionDescription::parse(&garbage),
        Err(SdpError::Parse { line: 3, .. })
    ));
    assert!(SessionDescription::parse("").is_err());
}

#[test]
fn our_offer_is_exact() {
    let sd = offer(
        ip4(203, 0, 113, 5),
        30000,
        &[Codec::Pcmu, Codec::Pcma],
        42,
        1,
        crypto::Sdes::Off,
    );
    let expected = "v=0\r\n\
o=madoguchi 42 1 IN IP4 203.0.113.5\r\n\
s=madoguchi\r\n\
c=IN IP4 203.0.113.5\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";
    assert_eq!(sd.to_string(), expected);
    assert_eq!(SessionDescription::parse(expected).unwrap(), sd);
}

#[test]
fn answer_follows_offerer_preference_and_rejects_other_streams() {
    let o = SessionDescription::parse(PHONE_OFFER).unwrap();
    let (a, n) = answer(
        &o,
        ip4(203, 0, 113, 5),
        30002,
        &[Codec::Pcmu, Codec::Pcma],
        7,
        1,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert_eq!(n.codec, Codec::Pcma); // the offer lists 8 first
    assert_eq!(n.telephone_event_pt, Some(101));
    assert_eq!(n.remote, "192.0.2.10:49170".parse::<SocketAddr>().unwrap());
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(n.ptime, 30);
    assert!(!n.is_hold());
    assert_eq!(n.send_target(), Some(n.remote));
    assert_eq!(a.media.len(), 2, "one m= per offered m= (RFC 3264 §6)");
    assert_eq!(a.media[0].formats, ["8", "101"]);
    assert_eq!(a.media[0].port, 30002);
    assert_eq!(a.media[0].direction_attr(), Some(Direction::SendRecv));
    assert_eq!((a.media[1].media.as_str(), a.media[1].port), ("video", 0));
    let text = a.to_string();
    assert!(text.contains("m=audio 30002 RTP/AVP 8 101\r\n"), "{text}");
    assert!(text.contains("m=video 0 RTP/AVP 96\r\n"), "{text}");

    // Only µ-law supported: the second choice of the offer is taken.
    let (_, n) = answer(
        &o,
        ip4(203, 0, 113, 5),
        30002,
        &[Codec::Pcmu],
        7,
        1,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
}

#[test]
fn no_common_codec_or_no_audio_is_488() {
    let g729 = PHONE_OFFER.replace(
        "m=audio 49170 RTP/AVP 8 0 18 101",
        "m=audio 49170 RTP/AVP 18 101",
    );
    let o = SessionDescription::parse(&g729).unwrap();
    let e = answer(
        &o,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu, Codec::Pcma],
        1,
        1,
        crypto::Sdes::Off,
    )
    .unwrap_err();
    assert_eq!(e, SdpError::NoCommonCodec);
    assert!(e.is_not_acceptable());

    let video = PHONE_OFFER.replace("m=audio 49170", "m=video 49170");
    let o = SessionDescription::parse(&video).unwrap();
    assert_eq!(
        answer(
            &o,
            ip4(10, 0, 0, 1),
            30000,
            &[Codec::Pcmu],
            1,
            1,
            crypto::Sdes::Off
        )
        .unwrap_err(),
        SdpError::NoAudio
    );

    // RTP/SAVP on a leg without TLS (keys would travel in clear): 488.
    let srtp = PHONE_OFFER.replace("49170 RTP/AVP", "49170 RTP/SAVP");
    let o = SessionDescription::parse(&srtp).unwrap();
    let e = answer(
        &o,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        1,
        crypto::Sdes::Off,
    )
    .unwrap_err();
    assert_eq!(e, SdpError::NoCrypto);
    assert!(e.is_not_acceptable());
}

#[test]
fn hold_is_detected_three_ways() {
    let base = SessionDescription::parse(PHONE_OFFER).unwrap();
    let cases = [
        ("sendonly", ip4(192, 0, 2, 10), Direction::RecvOnly),
        ("inactive", ip4(192, 0, 2, 10), Direction::Inactive),
        ("sendrecv", ip4(0, 0, 0, 0), Direction::RecvOnly), // RFC 2543 hold
    ];
    for (attr, c, ours) in cases {
        let mut o = base.clone();
        o.media[0].set_direction(Direction::from_attr(attr).unwrap());
        o.connection = Some(Connection::new(c));
        let (a, n) = answer(
            &o,
            ip4(10, 0, 0, 1),
            30000,
            &[Codec::Pcmu],
            1,
            2,
            crypto::Sdes::Off,
        )
        .unwrap();
        assert_eq!(n.direction, ours, "{attr} {c}");
        assert!(n.is_hold());
        assert_eq!(n.send_target(), None);
        assert_eq!(a.media[0].direction_attr(), Some(ours));
    }
    // Resuming: sendrecv again, real address.
    let (_, n) = answer(
        &base,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        3,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert!(!n.is_hold());
    // A session-level attribute applies when the m= has none.
    let mut o = base.clone();
    o.attributes.push(Attribute::flag("sendonly"));
    let (_, n) = answer(
        &o,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        2,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert_eq!(n.direction, Direction::RecvOnly);
}

#[test]
fn ipv6_offer_and_answer() {
    let v6: IpAddr = IpAddr::V6("2001:db8::10".parse::<Ipv6Addr>().unwrap());
    let ours: IpAddr = "2001:db8::1".parse().unwrap();
    let o = offer(v6, 40000, &[Codec::Pcma], 5, 1, crypto::Sdes::Off);
    let text = o.to_string();
    assert!(text.contains("o=madoguchi 5 1 IN IP6 2001:db8::10\r\n"));
    assert!(text.contains("c=IN IP6 2001:db8::10\r\n"));
    let parsed = SessionDescription::parse(&text).unwrap();
    let (a, n) = answer(
        &parsed,
        ours,
        30000,
        &[Codec::Pcmu, Codec::Pcma],
        9,
        1,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert_eq!(n.remote, SocketAddr::new(v6, 40000));
    assert_eq!(n.codec, Codec::Pcma);
    assert!(a.to_string().contains("c=IN IP6 2001:db8::1\r\n"));
}

#[test]
fn reading_the_answer_to_our_offer() {
    let ours = offer(
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu, Codec::Pcma],
        1,
        1,
        crypto::Sdes::Off,
    );
    let reply = "v=0\r\no=gw 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 8 100\r\na=rtpmap:100 telephone-event/8000\r\na=recvonly\r\n";
    let n = negotiated_from_answer(&ours, &SessionDescription::parse(reply).unwrap()).unwrap();
    assert_eq!(n.codec, Codec::Pcma);
    assert_eq!(n.telephone_event_pt, Some(100), "the answerer's own number");
    assert_eq!(
        n.remote,
        "198.51.100.7:20000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        n.direction,
        Direction::SendOnly,
        "they only receive, so we only send"
    );
    assert_eq!(n.ptime, 20);

    let rejected = reply.replace("m=audio 20000", "m=audio 0");
    let e = negotiated_from_answer(&ours, &SessionDescription::parse(&rejected).unwrap());
    assert_eq!(e, Err(SdpError::Rejected));
    let not_offered = reply.replace("RTP/AVP 8 100", "RTP/AVP 18 100");
    let e = negotiated_from_answer(&ours, &SessionDescription::parse(&not_offered).unwrap());
    assert_eq!(e, Err(SdpError::NoCommonCodec));

    // We put the peer on hold (sendonly); its recvonly answer leaves us SendOnly.
    let mut hold = ours.clone();
    hold.media[0].set_direction(Direction::SendOnly);
    let n = negotiated_from_answer(&hold, &SessionDescription::parse(reply).unwrap()).unwrap();
    assert_eq!(n.direction, Direction::SendOnly);
    assert!(!n.is_hold());
}

#[test]
fn direction_algebra() {
    use Direction::*;
    assert_eq!(SendOnly.reversed(), RecvOnly);
    assert_eq!(Inactive.reversed(), Inactive);
    assert_eq!(SendRecv.intersect(RecvOnly), RecvOnly);
    assert_eq!(SendOnly.intersect(RecvOnly), Inactive);
}

#[test]
fn multicast_and_broadcast_media_are_refused() {
    for (c, addr) in [
        ("IN IP4 239.1.2.3/127", ip4(239, 1, 2, 3)),
        ("IN IP4 255.255.255.255", ip4(255, 255, 255, 255)),
        ("IN IP6 ff0e::101", "ff0e::101".parse().unwrap()),
    ] {
        let offer = PHONE_OFFER.replace("c=IN IP4 192.0.2.10", &format!("c={c}"));
        let sd = SessionDescription::parse(&offer).unwrap();
        let err = answer(
            &sd,
            ip4(192, 0, 2, 1),
            20_000,
            &[Codec::Pcmu],
            1,
            1,
            crypto::Sdes::Off,
        )
        .unwrap_err();
        assert_eq!(err, SdpError::Multicast(addr), "{c}");
        assert!(err.is_not_acceptable(), "answered 488");
        // The same address in an answer to our offer.
        let ours = offer_fn(
            ip4(192, 0, 2, 1),
            20_000,
            &[Codec::Pcmu, Codec::Pcma],
            1,
            1,
            crypto::Sdes::Off,
        );
        let their = PHONE_OFFER.replace("c=IN IP4 192.0.2.10", &format!("c={c}"));
        let their = SessionDescription::parse(&their).unwrap();
        assert_eq!(
            negotiated_from_answer(&ours, &their).unwrap_err(),
            SdpError::Multicast(addr)
        );
    }
}

use super::negotiate::offer as offer_fn;

const KEY_LINE: &str =
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";

fn with_crypto(proto: &str) -> SessionDescription {
    let text = PHONE_OFFER
        .replace("49170 RTP/AVP", &format!("49170 {proto}"))
        .replace("a=rtcp:49171\r\n", &format!("a=rtcp:49171\r\n{KEY_LINE}"));
    SessionDescription::parse(&text).unwrap()
}

/// RFC 4568 §7.1.2: over TLS the answer takes the offered tag and suite with a key of
/// our own; the negotiated keys pair ours (to send) with theirs (to receive).
#[test]
fn sdes_offer_over_tls_is_answered_with_our_own_key() {
    for proto in ["RTP/SAVP", "RTP/AVP"] {
        let o = with_crypto(proto);
        let (a, n) = answer(
            &o,
            ip4(10, 0, 0, 1),
            30000,
            &[Codec::Pcmu],
            1,
            1,
            crypto::Sdes::Mandatory,
        )
        .unwrap();
        let text = a.to_string();
        assert!(text.contains(&format!("m=audio 30000 {proto} ")), "{text}");
        let line = a.media[0]
            .attr("crypto")
            .and_then(|c| c.value.clone())
            .unwrap();
        let ours = crate::srtp::CryptoAttr::parse(&line).unwrap();
        assert_eq!(
            (ours.tag, ours.suite),
            (2, crate::srtp::Suite::AesCm128HmacSha1_32)
        );
        let keys = n.srtp.expect("SRTP settled");
        let theirs = crate::srtp::CryptoAttr::parse(&KEY_LINE[9..KEY_LINE.len() - 2]).unwrap();
        assert_eq!(keys.theirs, theirs.key);
        assert_eq!(keys.ours, ours.key);
        assert_ne!(keys.ours, keys.theirs, "our key is our own");
    }
}

/// Without TLS an optional key on RTP/AVP is ignored: plain RTP, no key in our answer.
#[test]
fn sdes_key_on_plain_avp_without_tls_is_ignored() {
    let o = with_crypto("RTP/AVP");
    let (a, n) = answer(
        &o,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        1,
        crypto::Sdes::Off,
    )
    .unwrap();
    assert!(n.srtp.is_none());
    assert!(!a.to_string().contains("crypto"));
    // SAVP with only keys we cannot use (MKI) is refused even over TLS.
    let mki = with_crypto("RTP/SAVP")
        .to_string()
        .replace("aVBR", "aVBR|2^20|1:4");
    let o = SessionDescription::parse(&mki).unwrap();
    assert_eq!(
        answer(
            &o,
            ip4(10, 0, 0, 1),
            30000,
            &[Codec::Pcmu],
            1,
            1,
            crypto::Sdes::Mandatory
        )
        .unwrap_err(),
        SdpError::NoCrypto
    );
}

/// Our SAVP offer: the answer must take our key's tag; one without a=crypto is refused.
#[test]
fn our_sdes_offer_pairs_with_the_answer() {
    let ours = offer(
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        1,
        crypto::Sdes::Mandatory,
    );
    let text = ours.to_string();
    assert!(text.contains("m=audio 30000 RTP/SAVP 0 101\r\n"), "{text}");
    let mine = crate::srtp::CryptoAttr::parse(
        ours.media[0]
            .attr("crypto")
            .unwrap()
            .value
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    let reply = |key: &str| {
        format!(
            "v=0\r\no=b 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n{key}"
        )
    };
    let answer_line =
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
    let n = negotiated_from_answer(
        &ours,
        &SessionDescription::parse(&reply(answer_line)).unwrap(),
    )
    .unwrap();
    let keys = n.srtp.unwrap();
    assert_eq!(keys.ours, mine.key);
    assert_eq!(keys.suite, crate::srtp::Suite::AesCm128HmacSha1_80);
    assert_eq!(
        negotiated_from_answer(&ours, &SessionDescription::parse(&reply("")).unwrap()),
        Err(SdpError::NoCrypto)
    );
    let wrong_tag = answer_line.replace("crypto:1", "crypto:9");
    assert_eq!(
        negotiated_from_answer(
            &ours,
            &SessionDescription::parse(&reply(&wrong_tag)).unwrap()
        ),
        Err(SdpError::NoCrypto)
    );
}

/// `[sip] tls_srtp = "optional"`: RTP/AVP with a key; a phone without SRTP answers
/// plain and that is accepted. `"mandatory"` refuses a plain offer.
#[test]
fn optional_sdes_falls_back_to_plain_and_mandatory_refuses_plain() {
    let ours = offer(
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        1,
        crypto::Sdes::Optional,
    );
    let text = ours.to_string();
    assert!(text.contains("m=audio 30000 RTP/AVP 0 101\r\n"), "{text}");
    assert!(
        text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{text}"
    );
    let plain = "v=0\r\no=b 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let n = negotiated_from_answer(&ours, &SessionDescription::parse(plain).unwrap()).unwrap();
    assert!(n.srtp.is_none());

    let o = SessionDescription::parse(PHONE_OFFER).unwrap();
    let (a, n) = answer(
        &o,
        ip4(10, 0, 0, 1),
        30000,
        &[Codec::Pcmu],
        1,
        1,
        crypto::Sdes::Optional,
    )
    .unwrap();
    assert!(n.srtp.is_none() && !a.to_string().contains("crypto"));
    assert_eq!(
        answer(
            &o,
            ip4(10, 0, 0, 1),
            30000,
            &[Codec::Pcmu],
            1,
            1,
            crypto::Sdes::Mandatory
        )
        .unwrap_err(),
        SdpError::NoCrypto
    );
}
