//! Attended transfer (RFC 5589 §7, REFER with Replaces, RFC 3891): the operator talks to
//! the department first on a second call (the consult call, an operator's `Dial`), then
//! their phone sends REFER on the citizen's call naming the consult dialog. The two calls
//! are joined without touching the far ends' SIP: the consult call hangs up its operator
//! leg and points its relay side A at the citizen's call's relay side B, and the citizen's
//! call does the reverse; audio flows citizen → relay → relay → department (PCMU between
//! the relays). Each call keeps its own legs, recording and end; when one ends, it tells
//! the other (`PartnerEnd` → `PartnerGone`).

use crate::call::{AfterPlay, Call, LegState, Phase, Plan};
use crate::event::{EventKind, Party, Phase as EvPhase, TransferKind};
use crate::io::{JoinPeer, MediaOut, Output, Replaces, Side};
use core::net::SocketAddr;
use media::{Codec, LegConfig};

/// `Replaces=` inside a Refer-To URI's headers (`?Replaces=id%40h%3Bto-tag%3Da%3Bfrom-tag%3Db`).
pub(crate) fn parse_replaces(refer_to: &str) -> Option<Replaces> {
    let lower = refer_to.to_ascii_lowercase();
    let at = lower.find("replaces=")? + "replaces=".len();
    let raw: String = refer_to[at..]
        .chars()
        .take_while(|c| !matches!(c, '>' | '&' | ' '))
        .collect();
    let text = sip::unescape(&raw);
    let mut parts = text.split(';');
    let call_id = parts.next()?.trim().to_string();
    let (mut to_tag, mut from_tag) = (None, None);
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "to-tag" => to_tag = Some(v.trim().to_string()),
            "from-tag" => from_tag = Some(v.trim().to_string()),
            _ => {}
        }
    }
    Some(Replaces {
        call_id,
        to_tag: to_tag?,
        from_tag: from_tag?,
    })
}

/// The relays talk PCMU to each other; each transcodes to its own legs.
pub(crate) fn link(remote: SocketAddr) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        codec: Codec::Pcmu,
        telephone_event_pt: Some(media::sdp::TELEPHONE_EVENT_PT),
        pinned: true,
        srtp: None,
    }
}

impl Call {
    /// The citizen's call: the operator's REFER named a consult call.
    pub(crate) fn attend(&mut self, i: usize, agent: String, replaces: Replaces) {
        self.phase = Phase::Transferring;
        self.emit(EventKind::TransferStarted {
            agent: agent.clone(),
            kind: TransferKind::Attended,
            target: "consult".into(),
        });
        self.transfer = Some(crate::transfer::Transfer {
            operator_leg: i,
            agent,
            target: "consult".into(),
            target_leg: None,
            recall_leg: None,
        });
        let ours = JoinPeer {
            remote: SocketAddr::new(self.sdp.setup.ip, self.sdp.setup.b_port),
        };
        self.push(Output::Attend { replaces, ours });
    }

    pub(crate) fn on_joined(&mut self, r: Result<JoinPeer, String>) {
        let Some(t) = self.transfer.take() else {
            return;
        };
        let op = t.operator_leg;
        match r {
            Ok(peer) => {
                self.stop_playback();
                self.media(MediaOut::SetLeg {
                    side: Side::B,
                    cfg: link(peer.remote),
                });
                self.notify_operator(op, 200, "OK");
                if self.legs[op].state == LegState::Up {
                    self.bye_leg(op);
                }
                self.operator_left(op);
                self.bridged = None;
                self.partner = true;
                self.phase = Phase::Talking;
                self.outcome = "transferred";
                self.media(MediaOut::RecordParty {
                    label: "consult".into(),
                });
                self.emit(EventKind::TransferCompleted {
                    agent: t.agent,
                    target: t.target,
                });
            }
            Err(reason) => {
                tracing::info!(call = %self.uid, %reason, "attended transfer failed: the citizen stays with the operator");
                self.emit(EventKind::TransferFailed {
                    agent: t.agent,
                    target: t.target,
                    status: 481,
                    reason: reason.clone(),
                });
                self.notify_operator(op, 481, "Call Does Not Exist");
                self.phase = Phase::Talking;
            }
        }
    }

    /// The consult call: hand the department over to the citizen's call.
    pub(crate) fn on_hand_over(&mut self, peer: JoinPeer) {
        let ready = matches!(self.plan, Plan::Dial { .. })
            && self.a.as_ref().is_some_and(|a| a.answered && !a.gone)
            && self
                .bridged
                .is_some_and(|b| self.legs[b].state == LegState::Up);
        if !ready {
            self.push(Output::HandedOver(Err(
                "the consult call is not connected".into()
            )));
            return;
        }
        self.handed_over = true;
        self.stop_playback();
        // The operator's part is over: their leg of the consult call goes.
        self.bye_a();
        self.media(MediaOut::SetLeg {
            side: Side::A,
            cfg: link(peer.remote),
        });
        self.partner = true;
        let ours = JoinPeer {
            remote: SocketAddr::new(self.sdp.setup.ip, self.sdp.setup.a_port),
        };
        self.push(Output::HandedOver(Ok(ours)));
    }

    /// The joined call has ended: so does ours.
    pub(crate) fn on_partner_gone(&mut self) {
        if self.phase == Phase::Ending {
            return;
        }
        self.partner = false;
        self.stop_playback();
        self.cancel_all_ringing();
        if !self.handed_over {
            self.bye_a();
        }
        for j in 0..self.legs.len() {
            if self.legs[j].state == LegState::Up {
                self.bye_leg(j);
            }
        }
        self.enter_ending(EvPhase::Talking, Party::Department);
        let _ = AfterPlay::Nothing;
    }
}
