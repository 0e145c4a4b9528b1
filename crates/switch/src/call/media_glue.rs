//! The call's media: two port pairs (one per leg), SDP offer/answer on each leg with our
//! own address and ports (RFC 3264), and the RTP relay between them.

use super::CallSetup;
use media::sdp::{self, Negotiated, SessionDescription};
use media::Codec;
use media::{Leg, LegConfig, Relay, RelayHandle};
use std::net::IpAddr;
use tokio::sync::mpsc;

pub struct Media {
    relay: Option<RelayHandle>,
    /// RFC 4733 digits the caller presses (the callback key).
    pub dtmf: mpsc::Receiver<media::DtmfDigit>,
    /// Our answer to the caller's offer (A leg), kept for 183/200 and re-INVITEs.
    a_answer: SessionDescription,
    a_neg: Negotiated,
    /// What we offered to the current operator (B leg).
    b_offer: Option<SessionDescription>,
    b_neg: Option<Negotiated>,
    session_id: u64,
    a_version: u64,
    b_version: u64,
    a_port: u16,
    b_port: u16,
    ip: IpAddr,
    supported: Vec<Codec>,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("SDP: {0}")]
    Sdp(#[from] sdp::SdpError),
    #[error("the body is not UTF-8 SDP")]
    NotText,
}

fn parse_body(body: &[u8]) -> Result<SessionDescription, MediaError> {
    let text = std::str::from_utf8(body).map_err(|_| MediaError::NotText)?;
    Ok(SessionDescription::parse(text)?)
}

fn leg_config(n: &Negotiated) -> LegConfig {
    LegConfig {
        remote: n.send_target(),
        codec: n.codec,
        telephone_event_pt: n.telephone_event_pt,
    }
}

impl Media {
    /// Allocate ports for both legs and answer the caller's offer. `Err` is the SIP
    /// status to refuse the call with: 488 when no codec fits (RFC 3261 §13.3.1.3), 503
    /// when no ports are left.
    pub fn start(s: &CallSetup) -> Result<Media, u16> {
        let supported: Vec<Codec> = s
            .shared
            .cfg
            .media
            .codecs
            .iter()
            .map(|c| match c {
                dialplan::Codec::Pcmu => Codec::Pcmu,
                dialplan::Codec::Pcma => Codec::Pcma,
            })
            .collect();
        // No offer in the INVITE (a late offer) is not supported yet: see README.
        let offer = parse_body(&s.invite.body).map_err(|_| 488u16)?;
        let a = s.shared.ports.allocate().map_err(|_| 503u16)?;
        let b = s.shared.ports.allocate().map_err(|_| 503u16)?;
        let ip = s.shared.media_ip;
        let session_id = rand::random::<u32>() as u64;
        let (a_answer, a_neg) = sdp::answer(&offer, ip, a.rtp_port(), &supported, session_id, 1)
            .map_err(|e| {
                if e.is_not_acceptable() {
                    488u16
                } else {
                    400u16
                }
            })?;
        let (a_port, b_port) = (a.rtp_port(), b.rtp_port());
        let relay = Relay::start(
            a,
            b,
            leg_config(&a_neg),
            LegConfig {
                remote: None,
                codec: a_neg.codec,
                telephone_event_pt: Some(sdp::TELEPHONE_EVENT_PT),
            },
        );
        let (dtmf_tx, dtmf) = mpsc::channel(16);
        relay.set_dtmf_sink(Some(dtmf_tx));
        Ok(Media {
            relay: Some(relay),
            dtmf,
            a_answer,
            a_neg,
            b_offer: None,
            b_neg: None,
            session_id,
            a_version: 1,
            b_version: 1,
            a_port,
            b_port,
            ip,
            supported,
        })
    }

    /// A fresh offer for an operator's leg: the caller's codec first, so that the relay
    /// need not transcode when the operator accepts it.
    pub fn offer_for_b(&mut self) -> String {
        let mut codecs = vec![self.a_neg.codec];
        codecs.extend(
            self.supported
                .iter()
                .copied()
                .filter(|c| *c != self.a_neg.codec),
        );
        self.b_version += 1;
        let o = sdp::offer(
            self.ip,
            self.b_port,
            &codecs,
            self.session_id + 1,
            self.b_version,
        );
        let text = o.to_string();
        self.b_offer = Some(o);
        self.b_neg = None;
        text
    }

    /// The operator answered (183 or 200) with SDP: point the relay's B side at it.
    pub fn on_b_answer(&mut self, body: &[u8]) -> Result<(), MediaError> {
        if body.is_empty() && self.b_neg.is_some() {
            return Ok(());
        }
        let answer = parse_body(body)?;
        let offer = self.b_offer.as_ref().ok_or(MediaError::NotText)?;
        let n = sdp::negotiated_from_answer(offer, &answer)?;
        if let Some(r) = &self.relay {
            r.update_leg(Leg::B, leg_config(&n));
        }
        self.b_neg = Some(n);
        Ok(())
    }

    pub fn answer_for_a(&self) -> String {
        self.a_answer.to_string()
    }

    /// A re-INVITE on one leg (hold, resume, new address): answer it with our address
    /// for that leg and a direction that mirrors the offer (RFC 3264 §8.4), and retarget
    /// the relay. The other leg is not disturbed.
    pub fn on_reoffer(&mut self, leg_a: bool, body: &[u8]) -> Result<String, MediaError> {
        if body.is_empty() {
            // An offerless re-INVITE: offer our current description again (§14.2).
            return Ok(if leg_a {
                self.a_answer.to_string()
            } else {
                self.b_offer
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default()
            });
        }
        let offer = parse_body(body)?;
        let (port, version) = if leg_a {
            self.a_version += 1;
            (self.a_port, self.a_version)
        } else {
            self.b_version += 1;
            (self.b_port, self.b_version)
        };
        let sid = if leg_a {
            self.session_id
        } else {
            self.session_id + 1
        };
        let (ans, n) = sdp::answer(&offer, self.ip, port, &self.supported, sid, version)?;
        if let Some(r) = &self.relay {
            r.update_leg(if leg_a { Leg::A } else { Leg::B }, leg_config(&n));
        }
        if leg_a {
            self.a_answer = ans.clone();
            self.a_neg = n;
        } else {
            self.b_neg = Some(n);
        }
        Ok(ans.to_string())
    }

    /// Play the named prompts one after another to the caller; returns the playback and
    /// its length. Missing prompts are skipped (and were logged at start).
    pub fn play_to_a(
        &self,
        shared: &crate::Shared,
        names: &[String],
    ) -> Option<(media::PlaybackHandle, std::time::Duration)> {
        let relay = self.relay.as_ref()?;
        let mut pcm: Vec<i16> = Vec::new();
        for n in names {
            match shared.prompts.get(n) {
                Some(p) => pcm.extend_from_slice(p.samples()),
                None => tracing::debug!(prompt = %n, "prompt not found"),
            }
        }
        if pcm.is_empty() {
            return None;
        }
        let prompt = std::sync::Arc::new(media::Prompt::from_samples(pcm));
        let len = std::time::Duration::from_millis(prompt.frames() as u64 * 20);
        Some((relay.play(Leg::A, prompt), len))
    }

    /// Send both legs' audio (and the prompts the caller hears) to the recorder.
    pub fn set_tap(&self, tap: media::Tap) {
        if let Some(r) = &self.relay {
            r.set_tap(Some(tap));
        }
    }

    /// Stop relaying and free the ports; returns the packets relayed.
    pub async fn stop(&mut self) -> u64 {
        match self.relay.take() {
            Some(r) => {
                let st = r.stop().await;
                st.a.forwarded + st.b.forwarded
            }
            None => 0,
        }
    }
}
