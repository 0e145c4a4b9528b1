//! Offer/answer for the call's two relay sides (RFC 3264), with our own address and
//! ports on each: the inbound leg on side A, whichever leg is bridged to it on side B.
//! Pure: the driver allocated the ports; this only writes and reads SDP.

use crate::io::Side;
use core::net::IpAddr;
use media::sdp::{self, Negotiated, SessionDescription};
use media::{Codec, LegConfig};

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("SDP: {0}")]
    Sdp(#[from] sdp::SdpError),
    #[error("the body is not UTF-8 SDP")]
    NotText,
    #[error("an answer came for no offer")]
    NoOffer,
}

/// Ports and codecs the driver gives the machine at creation.
#[derive(Clone, Debug)]
pub struct MediaSetup {
    pub ip: IpAddr,
    pub a_port: u16,
    pub b_port: u16,
    pub codecs: Vec<Codec>,
    pub session_id: u64,
    /// SDES on legs whose SIP runs over TLS (`[sip] tls_srtp`).
    pub tls_sdes: sdp::crypto::Sdes,
}

fn parse_body(body: &[u8]) -> Result<SessionDescription, MediaError> {
    let text = std::str::from_utf8(body).map_err(|_| MediaError::NotText)?;
    Ok(SessionDescription::parse(text)?)
}

pub fn leg_config(n: &Negotiated) -> LegConfig {
    LegConfig {
        remote: n.send_target(),
        codec: n.codec,
        telephone_event_pt: n.telephone_event_pt,
        pinned: false,
        srtp: n.srtp.clone(),
    }
}

/// One side's offer/answer state: what we last said, what was agreed.
#[derive(Clone, Debug, Default)]
pub struct SideState {
    /// Our last offer on this side (outbound legs, or a late offer on the inbound one).
    pub offer: Option<SessionDescription>,
    /// Our last answer on this side (the inbound leg's offer answered).
    pub answer: Option<SessionDescription>,
    pub neg: Option<Negotiated>,
    pub version: u64,
    /// We put an offer in a 2xx (the re-INVITE had none) and its answer comes in the
    /// ACK: until then this side's offer/answer exchange is open (RFC 3264 §4).
    pub awaiting_ack_answer: bool,
    /// What this leg may do with SRTP keys in its SDP: only a leg whose SIP runs over
    /// TLS may carry them (RFC 4568 §8.3: SDES is as secret as the signalling), then as
    /// `[sip] tls_srtp` says; `Off` otherwise (see `media::sdp::crypto`).
    pub sdes: sdp::crypto::Sdes,
}

impl Sdp {
    /// A fresh side whose signalling runs over `transport`.
    pub fn side(&self, transport: sip::TransportKind) -> SideState {
        SideState {
            sdes: if transport == sip::TransportKind::Tls {
                self.setup.tls_sdes
            } else {
                sdp::crypto::Sdes::Off
            },
            ..SideState::default()
        }
    }
}

pub struct Sdp {
    pub setup: MediaSetup,
}

impl Sdp {
    fn port(&self, side: Side) -> u16 {
        match side {
            Side::A => self.setup.a_port,
            Side::B => self.setup.b_port,
        }
    }

    fn session(&self, side: Side) -> u64 {
        match side {
            Side::A => self.setup.session_id,
            Side::B => self.setup.session_id + 1,
        }
    }

    /// Answer an offer on `side` (the inbound INVITE, or a re-INVITE on any leg): our
    /// address for that side and a direction that mirrors the offer (§8.4).
    pub fn answer(
        &self,
        side: Side,
        st: &mut SideState,
        body: &[u8],
    ) -> Result<(String, LegConfig), MediaError> {
        if body.is_empty() {
            // An offerless re-INVITE: offer our current description again, unchanged
            // version and all (RFC 3261 §14.2, RFC 3264 §8); the ACK brings the answer.
            let d = st.answer.clone().or_else(|| st.offer.clone());
            return d
                .map(|d| {
                    let cfg = st.neg.as_ref().map(leg_config).unwrap_or(self.idle());
                    let text = d.to_string();
                    st.offer = Some(d);
                    st.awaiting_ack_answer = true;
                    (text, cfg)
                })
                .ok_or(MediaError::NoOffer);
        }
        let offer = parse_body(body)?;
        st.version += 1;
        let (ans, n) = sdp::answer(
            &offer,
            self.setup.ip,
            self.port(side),
            &self.setup.codecs,
            self.session(side),
            st.version,
            st.sdes,
        )?;
        let cfg = leg_config(&n);
        st.answer = Some(ans.clone());
        st.neg = Some(n);
        Ok((ans.to_string(), cfg))
    }

    /// A fresh offer on `side`, `first` codec first so the relay need not transcode.
    pub fn offer(&self, side: Side, st: &mut SideState, first: Option<Codec>) -> String {
        let mut codecs: Vec<Codec> = first.into_iter().collect();
        codecs.extend(
            self.setup
                .codecs
                .iter()
                .copied()
                .filter(|c| Some(*c) != first),
        );
        st.version += 1;
        let o = sdp::offer(
            self.setup.ip,
            self.port(side),
            &codecs,
            self.session(side),
            st.version,
            st.sdes,
        );
        let text = o.to_string();
        st.offer = Some(o);
        st.neg = None;
        text
    }

    /// The answer to our offer (183, 200 or the ACK of a late offer).
    pub fn on_answer(&self, st: &mut SideState, body: &[u8]) -> Result<LegConfig, MediaError> {
        if body.is_empty() {
            return st.neg.as_ref().map(leg_config).ok_or(MediaError::NoOffer);
        }
        let answer = parse_body(body)?;
        let offer = st.offer.as_ref().ok_or(MediaError::NoOffer)?;
        let n = sdp::negotiated_from_answer(offer, &answer)?;
        let cfg = leg_config(&n);
        st.neg = Some(n);
        Ok(cfg)
    }

    /// Send nothing to a side (nobody there yet).
    pub fn idle(&self) -> LegConfig {
        LegConfig {
            remote: None,
            codec: self.setup.codecs.first().copied().unwrap_or(Codec::Pcmu),
            telephone_event_pt: Some(sdp::TELEPHONE_EVENT_PT),
            pinned: false,
            srtp: None,
        }
    }

    /// Whether the offer is one we can answer (no codec in common is 488, §13.3.1.3).
    pub fn status_for(e: &MediaError) -> u16 {
        match e {
            MediaError::Sdp(s) if s.is_not_acceptable() => 488,
            _ => 400,
        }
    }
}
