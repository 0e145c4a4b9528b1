//! RFC 3264 offer/answer for one G.711 audio stream plus RFC 4733 telephone-events.

use super::crypto;
use super::{
    Attribute, Connection, Direction, MediaDescription, Origin, SdpError, SessionDescription,
};
use crate::g711::Codec;
use std::net::{IpAddr, SocketAddr};

/// The dynamic payload type we offer for telephone-event (RFC 4733 §7.1.1; 101 is
/// what most SIP equipment uses, which avoids renumbering in the common case).
pub const TELEPHONE_EVENT_PT: u8 = 101;
/// Packetisation we send and assume when the peer states none (RFC 3551 §4.5).
pub const DEFAULT_PTIME: u32 = 20;
const USERNAME: &str = "madoguchi";

/// What an offer/answer exchange settled for one call leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The law both sides send (PCMU pt 0 / PCMA pt 8).
    pub codec: Codec,
    /// The peer's payload type for telephone-event, if both sides support it.
    pub telephone_event_pt: Option<u8>,
    /// Where the peer wants its RTP (its c= address and m= port). 0.0.0.0 / :: when
    /// the peer used RFC 2543 hold.
    pub remote: SocketAddr,
    /// Our direction: whether we may send to and will receive from the peer.
    pub direction: Direction,
    /// The peer's a=ptime in ms (20 when absent).
    pub ptime: u32,
    /// SRTP keys when the stream settled SDES (RFC 4568); `None` is plain RTP.
    pub srtp: Option<crate::srtp::SrtpKeys>,
}

impl Negotiated {
    /// The peer does not want our media: it put us on hold with a=sendonly,
    /// a=inactive or c=0.0.0.0 (RFC 3264 §8.4).
    pub fn is_hold(&self) -> bool {
        !self.direction.sends()
    }

    /// Where the relay should send this leg's media, if anywhere.
    pub fn send_target(&self) -> Option<SocketAddr> {
        (self.direction.sends() && !self.remote.ip().is_unspecified() && self.remote.port() != 0)
            .then_some(self.remote)
    }
}

fn session(addr: IpAddr, session_id: u64, version: u64) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: USERNAME.into(),
            session_id,
            session_version: version,
            addr_type: if addr.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: addr.to_string(),
        },
        session_name: USERNAME.into(),
        connection: Some(Connection::new(addr)),
        timing: (0, 0),
        attributes: Vec::new(),
        media: Vec::new(),
        other: Vec::new(),
    }
}

fn audio_media(
    port: u16,
    proto: &str,
    codecs: &[Codec],
    te: Option<u8>,
    dir: Direction,
) -> MediaDescription {
    let mut m = MediaDescription {
        media: "audio".into(),
        port,
        num_ports: None,
        proto: proto.into(),
        formats: Vec::new(),
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    };
    for c in codecs {
        m.formats.push(c.payload_type().to_string());
        m.attributes.push(Attribute::value(
            "rtpmap",
            format!(
                "{} {}/{}",
                c.payload_type(),
                c.encoding_name(),
                c.clock_rate()
            ),
        ));
    }
    if let Some(pt) = te {
        m.formats.push(pt.to_string());
        m.attributes.push(Attribute::value(
            "rtpmap",
            format!("{pt} telephone-event/8000"),
        ));
        // RFC 4733 §7.1.1: events 0–15 are DTMF, 16 is flash.
        m.attributes
            .push(Attribute::value("fmtp", format!("{pt} 0-16")));
    }
    m.attributes
        .push(Attribute::value("ptime", DEFAULT_PTIME.to_string()));
    m.attributes.push(Attribute::flag(dir.as_str()));
    m
}

/// An initial offer (or a re-offer with `version` + 1): one audio stream with
/// `codecs` in preference order and telephone-event, sendrecv.
/// Put a peer on hold by calling `set_direction(SendOnly)` on `media[0]`.
///
/// `sdes`: `Mandatory` offers `RTP/SAVP` with a fresh `a=crypto` key, `Optional`
/// `RTP/AVP` with one (best effort), `Off` plain RTP (see `crypto`).
pub fn offer(
    addr: IpAddr,
    port: u16,
    codecs: &[Codec],
    session_id: u64,
    version: u64,
    sdes: crypto::Sdes,
) -> SessionDescription {
    let mut sd = session(addr, session_id, version);
    let proto = if sdes == crypto::Sdes::Mandatory {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let crypto = (sdes != crypto::Sdes::Off).then(crypto::offer_line);
    let mut m = audio_media(
        port,
        proto,
        codecs,
        Some(TELEPHONE_EVENT_PT),
        Direction::SendRecv,
    );
    if let Some(c) = crypto {
        m.attributes.push(Attribute::value("crypto", c));
    }
    sd.media.push(m);
    sd
}

/// Media goes to one peer only: multicast groups (RFC 4566 §5.7 allows them in `c=`)
/// and the IPv4 broadcast address are refused, so the call answers 488.
fn unicast(addr: std::net::IpAddr) -> Result<(), SdpError> {
    let broadcast = matches!(addr, std::net::IpAddr::V4(v4) if v4.is_broadcast());
    if addr.is_multicast() || broadcast {
        return Err(SdpError::Multicast(addr));
    }
    Ok(())
}

fn usable_audio(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio")
        && m.port != 0
        && (m.proto.eq_ignore_ascii_case("RTP/AVP")
            || m.proto.eq_ignore_ascii_case("RTP/AVPF")
            || crypto::secure_proto(&m.proto))
}

/// The first format of `m` that is a G.711 law in `allowed` (format list order is
/// the sender's preference, RFC 3264 §5.1).
fn pick_codec(m: &MediaDescription, allowed: impl Fn(Codec) -> bool) -> Option<Codec> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(Codec::from_payload_type)
        .find(|c| allowed(*c))
}

/// The peer's direction for stream `i`, with RFC 2543 hold (c=0.0.0.0) read as
/// "do not send to me" (RFC 3264 §8.4).
fn peer_direction(sd: &SessionDescription, i: usize, conn: &Connection) -> Direction {
    let d = sd.direction_for(i);
    if conn.addr.is_unspecified() {
        Direction::from_flags(d.sends(), false)
    } else {
        d
    }
}

/// Answers `offer` (RFC 3264 §6): accepts the first audio stream that shares a
/// G.711 law with `supported`, rejects every other stream with port 0, and mirrors
/// the offered direction. `NoAudio`/`NoCommonCodec` mean: answer 488.
///
/// `sdes`: what this leg may do with keys in SDP (`Off` unless its SIP runs over TLS).
/// Unless `Off`, an `RTP/SAVP` stream, or `RTP/AVP` with `a=crypto`, is answered with
/// our own key; `Mandatory` refuses a stream without a usable key; `Off` refuses secure
/// streams and ignores `a=crypto` (see `crypto`).
pub fn answer(
    offer: &SessionDescription,
    addr: IpAddr,
    port: u16,
    supported: &[Codec],
    session_id: u64,
    version: u64,
    sdes: crypto::Sdes,
) -> Result<(SessionDescription, Negotiated), SdpError> {
    let mut sd = session(addr, session_id, version);
    let mut negotiated = None;
    let mut saw_audio = false;
    let mut refused_secure = false;
    for (i, m) in offer.media.iter().enumerate() {
        let secure = crypto::secure_proto(&m.proto) || sdes == crypto::Sdes::Mandatory;
        let key = if sdes != crypto::Sdes::Off {
            crypto::first_usable(m)
        } else {
            None
        };
        if negotiated.is_none() && usable_audio(m) && secure && key.is_none() {
            // SAVP with no key we can use, SDES not allowed on this leg, or plain RTP
            // where this leg must be SRTP.
            saw_audio = true;
            refused_secure = true;
        } else if negotiated.is_none() && usable_audio(m) {
            saw_audio = true;
            if let Some(codec) = pick_codec(m, |c| supported.contains(&c)) {
                let conn = offer.connection_for(i).ok_or(SdpError::NoConnection)?;
                unicast(conn.addr)?;
                let te = m.telephone_event_pt();
                let direction = peer_direction(offer, i, conn).reversed();
                let mut ours = audio_media(port, &m.proto, &[codec], te, direction);
                let srtp = key.map(|theirs| {
                    let (line, keys) = crypto::answer_line(&theirs);
                    ours.attributes.push(Attribute::value("crypto", line));
                    keys
                });
                sd.media.push(ours);
                negotiated = Some(Negotiated {
                    codec,
                    telephone_event_pt: te,
                    remote: SocketAddr::new(conn.addr, m.port),
                    direction,
                    ptime: m.ptime().unwrap_or(DEFAULT_PTIME),
                    srtp,
                });
                continue;
            }
        }
        // RFC 3264 §6: a rejected stream keeps its place with port 0.
        sd.media.push(MediaDescription {
            media: m.media.clone(),
            port: 0,
            num_ports: None,
            proto: m.proto.clone(),
            formats: m.formats.clone(),
            connection: None,
            attributes: Vec::new(),
            other: Vec::new(),
        });
    }
    match negotiated {
        Some(n) => Ok((sd, n)),
        None if refused_secure => Err(SdpError::NoCrypto),
        None if saw_audio => Err(SdpError::NoCommonCodec),
        None => Err(SdpError::NoAudio),
    }
}

/// Reads the answer to an offer we sent (RFC 3264 §7): the first audio stream we
/// offered and the answerer accepted, the first law it listed that we offered.
pub fn negotiated_from_answer(
    offer_we_sent: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, SdpError> {
    let mut rejected = false;
    for (i, ours) in offer_we_sent.media.iter().enumerate() {
        if !usable_audio(ours) {
            continue;
        }
        let Some(theirs) = answer.media.get(i) else {
            break;
        };
        if theirs.port == 0 {
            rejected = true;
            continue;
        }
        let offered: Vec<Codec> = pick_all(ours);
        let codec = pick_codec(theirs, |c| offered.contains(&c)).ok_or(SdpError::NoCommonCodec)?;
        let conn = answer.connection_for(i).ok_or(SdpError::NoConnection)?;
        unicast(conn.addr)?;
        let te = ours.telephone_event_pt().and(theirs.telephone_event_pt());
        let direction = peer_direction(answer, i, conn)
            .reversed()
            .intersect(offer_we_sent.direction_for(i));
        // We offered RTP/SAVP: the answer must take our key (RFC 4568 §7.1.3), or the
        // stream would carry plain RTP where we promised SRTP. On RTP/AVP the key was
        // best effort: an answer without one is plain RTP.
        let srtp = crypto::from_answer(ours, theirs);
        if srtp.is_none() && crypto::secure_proto(&ours.proto) {
            return Err(SdpError::NoCrypto);
        }
        return Ok(Negotiated {
            srtp,
            codec,
            telephone_event_pt: te,
            remote: SocketAddr::new(conn.addr, theirs.port),
            direction,
            ptime: theirs.ptime().unwrap_or(DEFAULT_PTIME),
        });
    }
    Err(if rejected {
        SdpError::Rejected
    } else {
        SdpError::NoAudio
    })
}

fn pick_all(m: &MediaDescription) -> Vec<Codec> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(Codec::from_payload_type)
        .collect()
}
