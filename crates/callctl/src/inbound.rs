//! The inbound leg (we are its UAS, RFC 3261 §13.3): our answers to its INVITE, its
//! ACK (a late offer's answer), its in-dialog requests (BYE, re-INVITE, REFER), and the
//! BYE we send it.

use crate::call::{Call, LegState, Phase};
use crate::event::{Party, Phase as EvPhase};
use crate::io::{Env, MediaOut, Output, Side};
use crate::msg::{self, a_response};
use sip::dialog::Dialog;
use sip::transaction::ServerTxId;
use sip::{Method, Peer, Request, Response, SipHeaders};

impl Call {
    pub(crate) fn answer_a(&mut self) {
        let Some(a) = self.a.as_mut() else { return };
        if a.final_sent {
            return;
        }
        let sdp = if a.late_offer {
            // RFC 3261 §13.2.1: no offer in the INVITE, so the 2xx carries ours.
            let mut st = std::mem::take(&mut a.sdp);
            let text = self.sdp.offer(Side::A, &mut st, None);
            if let Some(a) = self.a.as_mut() {
                a.sdp = st;
            }
            text
        } else {
            a.sdp
                .answer
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        self.respond_a(200, Some(sdp), None);
    }

    pub(crate) fn respond_a(&mut self, status: u16, sdp: Option<String>, reason: Option<String>) {
        let Some(a) = self.a.as_mut() else { return };
        if a.final_sent {
            return;
        }
        let mut resp = a_response(&a.invite, status, &a.tag, &a.from, sdp.as_deref());
        if let Some(r) = reason {
            resp.reason = r.replace(['\r', '\n'], " ");
        }
        if let (200, Some(w)) = (status, self.warning.take()) {
            resp.headers
                .push("Warning", format!("399 madoguchi \"{w}\""));
        }
        if status >= 200 {
            a.final_sent = true;
        }
        let tx = a.tx;
        let mut bind = None;
        if status == 200 {
            // The transaction layer retransmits the 2xx until the ACK (§13.3.1.4).
            a.answered = true;
            a.dialog = Dialog::uas(&a.invite, &a.tag).ok();
            if let Some(cid) = a.invite.call_id() {
                bind = Some((cid.to_string(), a.tag.clone()));
            }
        }
        if let Some((call_id, local_tag)) = bind {
            self.push(Output::BindDialog { call_id, local_tag });
            self.start_recording();
        }
        self.push(Output::Respond { tx, resp });
    }

    /// Every answered call is recorded (spec 第2-7 ⑶ イ), from the moment it is answered.
    pub(crate) fn start_recording(&mut self) {
        if self.recording || self.is_supervisor_call() {
            return;
        }
        self.recording = true;
        let dialled = self.line.number.clone();
        let caller = self.caller.clone();
        let sip_call_id = self
            .a
            .as_ref()
            .and_then(|a| a.invite.call_id())
            .unwrap_or_default()
            .to_string();
        self.media(MediaOut::Record {
            dialled,
            caller,
            sip_call_id,
        });
    }

    pub(crate) fn bye_a(&mut self) {
        let Some(a) = self.a.as_mut() else { return };
        if a.gone {
            return;
        }
        a.gone = true;
        let flow = a.from;
        let Some(d) = a.dialog.as_mut() else { return };
        let to = msg::peer_for_target(d.next_hop(), &flow);
        let req = d.new_request(Method::Bye, &msg::contact_for(&flow), &msg::via_for(&flow));
        self.pending_byes.push(msg::branch_of(&req));
        self.push(Output::SendRequest { req, to });
    }

    pub(crate) fn on_ack(&mut self, ack: &Request) {
        let leg = self.leg_of_request(ack);
        let body = &ack.body[..];
        if leg.is_none() && self.a.as_ref().is_some_and(|a| a.late_offer) {
            return self.on_late_offer_answer(body);
        }
        // Our offer in a 2xx to an offerless re-INVITE: the ACK closes the exchange.
        let Some(st) = self.side_state(leg) else {
            return;
        };
        if !std::mem::take(&mut st.awaiting_ack_answer) || body.is_empty() {
            return;
        }
        let mut st = std::mem::take(st);
        let r = self.sdp.on_answer(&mut st, body);
        let (side, live) = self.leg_side(leg);
        if let Some(slot) = self.side_state(leg) {
            *slot = st;
        }
        match r {
            Ok(cfg) if live => self.media(MediaOut::SetLeg { side, cfg }),
            Ok(_) => {}
            // An ACK cannot be refused; the media stays as it was agreed before.
            Err(e) => tracing::info!(call = %self.uid, error = %e, "the ACK's answer is unusable"),
        }
    }

    fn on_late_offer_answer(&mut self, body: &[u8]) {
        let Some(a) = self.a.as_mut() else { return };
        if body.is_empty() {
            return;
        }
        // The answer to the offer our 2xx carried (late offer, RFC 3261 §13.2.1).
        let mut st = std::mem::take(&mut a.sdp);
        let r = self.sdp.on_answer(&mut st, body);
        if let Some(a) = self.a.as_mut() {
            a.sdp = st;
            a.late_offer = false;
        }
        match r {
            Ok(cfg) => self.media(MediaOut::SetLeg { side: Side::A, cfg }),
            Err(e) => {
                tracing::info!(call = %self.uid, error = %e, "the ACK's answer is unusable");
                self.fail_a(488);
            }
        }
    }

    /// The offer/answer state of the inbound leg (`None`) or an outbound one.
    fn side_state(&mut self, leg: Option<usize>) -> Option<&mut crate::sdp::SideState> {
        match leg {
            None => self.a.as_mut().map(|a| &mut a.sdp),
            Some(i) => self.legs.get_mut(i).map(|l| &mut l.sdp),
        }
    }

    /// Which relay side a leg is on, and whether the relay currently carries it (a leg
    /// ringing in parallel or parked is not bridged).
    fn leg_side(&self, leg: Option<usize>) -> (Side, bool) {
        match leg {
            None => (Side::A, true),
            Some(i) => {
                let side = self.legs[i].side;
                (side, self.bridged == Some(i) || side == Side::A)
            }
        }
    }

    pub(crate) fn on_request(&mut self, tx: ServerTxId, req: Request, from: Peer, env: &dyn Env) {
        let leg = self.leg_of_request(&req);
        match req.method {
            Method::Bye => {
                // What the BYE causes comes first, the 200 after it: when it ends the call,
                // the driver answers only once the `Ended` event's record is committed.
                match leg {
                    None => self.on_bye_a(),
                    Some(i) => self.on_bye_leg(i, env),
                }
                self.push(Output::Respond {
                    tx,
                    resp: Response::to_request(&req, 200, None),
                });
            }
            Method::Invite => self.on_reinvite(tx, &req, from, leg),
            Method::Refer => self.on_refer(tx, req, leg, env),
            Method::Ack => {}
            Method::Info | Method::Options | Method::Update | Method::Notify => {
                self.push(Output::Respond {
                    tx,
                    resp: Response::to_request(&req, 200, None),
                });
                // A key sent as SIP INFO by the citizen (RFC 6086), like an RFC 4733 one.
                let key = crate::survey::info_digit(req.headers.get("Content-Type"), &req.body);
                if let (Method::Info, None, Some(d)) = (req.method, leg, key) {
                    self.on_digit(d, env);
                }
            }
            _ => self.push(Output::Respond {
                tx,
                resp: Response::to_request(&req, 501, None),
            }),
        }
    }

    /// Which outbound leg an in-dialog request belongs to (None: the inbound leg).
    pub(crate) fn leg_of_request(&self, req: &Request) -> Option<usize> {
        let cid = req.call_id()?;
        if self.a.as_ref().and_then(|a| a.invite.call_id()) == Some(cid) {
            return None;
        }
        self.legs
            .iter()
            .position(|l| l.invite.call_id() == Some(cid))
    }

    pub(crate) fn on_bye_a(&mut self) {
        if let Some(a) = self.a.as_mut() {
            a.gone = true;
        }
        if self.handed_over {
            // The operator left a consult call we joined to a citizen: nothing ends.
            return;
        }
        match self.phase {
            Phase::Survey => {
                // The citizen hung up during the survey: the call ends as answered.
                self.stop_playback();
                self.window_until = None;
                self.enter_ending(EvPhase::Talking, Party::Citizen);
            }
            Phase::Talking | Phase::Transferring => {
                self.outcome = if self.phase == Phase::Transferring {
                    "abandoned"
                } else {
                    self.outcome
                };
                self.stop_playback();
                self.cancel_all_ringing();
                for i in 0..self.legs.len() {
                    if self.legs[i].state == LegState::Up {
                        self.bye_leg(i);
                        self.operator_left(i);
                    }
                }
                self.enter_ending(EvPhase::Talking, Party::Citizen);
            }
            Phase::Ending => {}
            _ => self.abandon(Party::Citizen),
        }
    }

    /// A re-INVITE on one leg: hold/resume or a new address (target refresh, §12.2.2,
    /// §14.2). The other leg is not disturbed.
    pub(crate) fn on_reinvite(
        &mut self,
        tx: ServerTxId,
        req: &Request,
        from: Peer,
        leg: Option<usize>,
    ) {
        let (side, live) = self.leg_side(leg);
        // Our offer in a 2xx is still waiting for the ACK's answer: a new offer now would
        // overlap two exchanges (RFC 3264 §4), so the request crossed ours: 491, and the
        // peer retries after its random wait (RFC 3261 §14.1, §14.2).
        if self
            .side_state(leg)
            .is_some_and(|st| st.awaiting_ack_answer)
        {
            let resp = Response::to_request(req, 491, None);
            return self.push(Output::Respond { tx, resp });
        }
        let mut st = match leg {
            None => self.a.as_mut().map(|a| std::mem::take(&mut a.sdp)),
            Some(i) => Some(std::mem::take(&mut self.legs[i].sdp)),
        }
        .unwrap_or_default();
        let r = self.sdp.answer(side, &mut st, &req.body);
        let contact_at = match leg {
            None => self.a.as_ref().map(|a| a.from).unwrap_or(from),
            Some(_) => from,
        };
        let resp = match r {
            Ok((sdp, cfg)) => {
                if live {
                    self.media(MediaOut::SetLeg { side, cfg });
                }
                let mut r = Response::to_request(req, 200, None);
                r.headers.push(
                    "Contact",
                    format!(
                        "<sip:madoguchi@{}{}>",
                        msg::host_port(contact_at.local),
                        msg::transport_param(contact_at.transport)
                    ),
                );
                r.headers.push("Content-Type", "application/sdp");
                r.body = bytes::Bytes::from(sdp);
                let dialog = match leg {
                    None => self.a.as_mut().and_then(|a| a.dialog.as_mut()),
                    Some(i) => self.legs[i].dialog.as_mut(),
                };
                if let Some(d) = dialog {
                    d.on_target_refresh(req);
                }
                r
            }
            Err(_) => Response::to_request(req, 488, None),
        };
        match leg {
            None => {
                if let Some(a) = self.a.as_mut() {
                    a.sdp = st;
                }
            }
            Some(i) => self.legs[i].sdp = st,
        }
        self.push(Output::Respond { tx, resp });
    }
}
