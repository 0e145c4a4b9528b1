//! Transfers from the operator's softphone (spec 第1-3, 第3-1 ⑴): a blind REFER (RFC
//! 3515) on the operator's leg. The switch rings the target itself (a B2BUA never lets
//! the phone redirect the citizen), tells the operator how it goes with NOTIFY/sipfrag,
//! and bridges the citizen to the target on answer. When the target is busy, refuses,
//! is closed or does not answer, the citizen comes back to the operator: the operator's
//! leg if it is still up, otherwise their phone rings again; if nobody takes the call
//! back, the citizen goes to the head of the queue. Never dropped, never in silence.

use crate::call::{AfterPlay, Call, LegState, Phase, Plan, Purpose};
use crate::event::{EventKind, TransferKind};
use crate::io::{Env, MediaOut, Output, Role, Side, Target};
use crate::msg;
use sip::transaction::ServerTxId;
use sip::{Request, Response};

#[derive(Debug)]
pub(crate) struct Transfer {
    /// The operator's leg that sent the REFER (index into `legs`).
    pub operator_leg: usize,
    pub agent: String,
    pub target: String,
    /// The target's leg once placed.
    pub target_leg: Option<usize>,
    /// The phone rung again after the target failed.
    pub recall_leg: Option<usize>,
}

/// The user part of a Refer-To URI (`<sip:2101@host>` → `2101`), and whether it asks for
/// an attended transfer (a `Replaces` header in the URI, RFC 3891 §3).
fn refer_target(req: &Request) -> Option<(String, bool)> {
    let raw = req
        .headers
        .get("Refer-To")
        .or_else(|| req.headers.get("r"))?;
    let na = sip::NameAddr::parse(raw).ok()?;
    let replaces = raw.to_ascii_lowercase().contains("replaces=");
    let user = na.uri.user()?;
    Some((user, replaces))
}

impl Call {
    pub(crate) fn transfer_is_operator(&self, i: usize) -> bool {
        self.transfer.as_ref().is_some_and(|t| t.operator_leg == i)
    }

    fn respond(&mut self, tx: ServerTxId, req: &Request, status: u16, reason: Option<&str>) {
        let mut resp = Response::to_request(req, status, None);
        if let Some(r) = reason {
            resp.reason = r.replace(['\r', '\n'], " ");
        }
        self.push(Output::Respond { tx, resp });
    }

    pub(crate) fn on_refer(
        &mut self,
        tx: ServerTxId,
        req: Request,
        leg: Option<usize>,
        env: &dyn Env,
    ) {
        // Only the operator bridged to the citizen hands the citizen over.
        let Some(i) = leg.filter(|&i| self.bridged == Some(i)) else {
            return self.respond(tx, &req, 403, Some("Transfer not allowed on this leg"));
        };
        let Role::Operator { agent } = self.legs[i].role.clone() else {
            return self.respond(tx, &req, 403, Some("Only an operator transfers"));
        };
        if self.phase != Phase::Talking || self.transfer.is_some() {
            // One transfer at a time (RFC 3515 §2.4.2 allows refusing with 491-like 403).
            return self.respond(tx, &req, 491, None);
        }
        let Some((user, attended)) = refer_target(&req) else {
            return self.respond(tx, &req, 400, Some("Bad Refer-To"));
        };
        if attended {
            let raw = req
                .headers
                .get("Refer-To")
                .or_else(|| req.headers.get("r"))
                .unwrap_or("");
            let Some(replaces) = crate::join::parse_replaces(raw) else {
                return self.respond(tx, &req, 400, Some("Bad Replaces"));
            };
            // RFC 3515 §2.4.2: accept, then report the outcome in NOTIFYs.
            self.respond(tx, &req, 202, None);
            self.notify_operator(i, 100, "Trying");
            return self.attend(i, agent, replaces);
        }
        let target = env.resolve(&agent, &user, self.now_unix());
        let (dest, role) = match target {
            Target::Place { dest, role } => (dest, role),
            Target::Refused { status, reason, .. } => {
                tracing::info!(call = %self.uid, %agent, %user, status, %reason, "transfer refused");
                self.emit(EventKind::TransferFailed {
                    agent,
                    target: user,
                    status,
                    reason: reason.clone(),
                });
                return self.respond(tx, &req, status, Some(&reason));
            }
            Target::Feature { .. } | Target::Supervise { .. } => {
                return self.respond(tx, &req, 403, Some("Not a transfer target"));
            }
        };
        let channel = match self.take_channel(env, &dest, true) {
            Ok(c) => c,
            Err(reason) => {
                self.emit(EventKind::TransferFailed {
                    agent,
                    target: user,
                    status: 503,
                    reason: reason.clone(),
                });
                return self.respond(tx, &req, 503, Some(&reason));
            }
        };
        // RFC 3515 §2.4.2: accept, then report progress in NOTIFYs.
        self.respond(tx, &req, 202, None);
        self.notify_operator(i, 100, "Trying");
        let label = dest.label.clone();
        self.emit(EventKind::TransferStarted {
            agent: agent.clone(),
            kind: TransferKind::Blind,
            target: label.clone(),
        });
        self.phase = Phase::Transferring;
        // The citizen waits with music, not in silence.
        self.play(
            Side::A,
            vec![crate::announce::TRANSFER.to_string()],
            AfterPlay::HoldMusic,
        );
        let ring = self.timers.transfer_ring;
        let t = self.place(dest, role, Side::B, Purpose::TransferTarget, ring, channel);
        self.transfer = Some(crate::transfer::Transfer {
            operator_leg: i,
            agent,
            target: label,
            target_leg: Some(t),
            recall_leg: None,
        });
    }

    pub(crate) fn notify_operator(&mut self, i: usize, status: u16, reason: &str) {
        if self.legs[i].state != LegState::Up {
            return;
        }
        let flow = self.legs[i].dest.peer;
        let Some(d) = self.legs[i].dialog.as_mut() else {
            return;
        };
        let to = msg::peer_for_target(d.next_hop(), &flow);
        let req = msg::refer_notify(d, &flow, status, reason);
        self.push(Output::SendRequest { req, to });
    }

    /// The operator hung up while the target rings (the usual blind transfer).
    pub(crate) fn transferor_left(&mut self, i: usize, _env: &dyn Env) {
        if self.bridged == Some(i) {
            self.bridged = None;
            self.media(MediaOut::SetLeg {
                side: Side::B,
                cfg: self.sdp.idle(),
            });
        }
    }

    pub(crate) fn transfer_answered(&mut self, i: usize, cfg: media::LegConfig) {
        let Some(t) = self.transfer.take() else {
            self.bye_leg(i);
            return;
        };
        self.stop_playback();
        self.media(MediaOut::SetLeg { side: Side::B, cfg });
        let op = t.operator_leg;
        self.notify_operator(op, 200, "OK");
        // The operator's part is done; hang up their leg if they have not.
        if self.legs[op].state == LegState::Up {
            self.bye_leg(op);
        }
        self.operator_left(op);
        self.bridged = Some(i);
        self.phase = Phase::Talking;
        self.outcome = "transferred";
        self.media(MediaOut::RecordParty {
            label: t.target.clone(),
        });
        self.emit(EventKind::TransferCompleted {
            agent: t.agent,
            target: t.target,
        });
    }

    /// The target did not take the call: the citizen goes back to the operator.
    pub(crate) fn transfer_failed(&mut self, status: u16, env: &dyn Env) {
        let Some(t) = self.transfer.as_mut() else {
            return;
        };
        t.target_leg = None;
        let (op, agent, target) = (t.operator_leg, t.agent.clone(), t.target.clone());
        let reason = match status {
            486 | 600 => "話し中です",
            408 | 480 => "応答がありません",
            603 => "拒否されました",
            _ => "つながりませんでした",
        };
        tracing::info!(call = %self.uid, %agent, %target, status, "transfer failed: back to the operator");
        self.emit(EventKind::TransferFailed {
            agent: agent.clone(),
            target,
            status,
            reason: reason.to_string(),
        });
        if self.legs[op].state == LegState::Up {
            // Still on the line: tell the phone, bridge back (RFC 3515 final NOTIFY).
            self.notify_operator(op, status, reason);
            self.transfer = None;
            self.stop_playback();
            let cfg = self.legs[op]
                .sdp
                .neg
                .as_ref()
                .map(crate::sdp::leg_config)
                .unwrap_or(self.sdp.idle());
            self.media(MediaOut::SetLeg { side: Side::B, cfg });
            self.bridged = Some(op);
            self.phase = Phase::Talking;
            return;
        }
        // The operator has left: ring their phone again.
        match env.agent_phone(&agent) {
            Some(dest) => {
                let ring = self.timers.recall_ring;
                let r = self.place(
                    dest,
                    Role::Operator {
                        agent: agent.clone(),
                    },
                    Side::B,
                    Purpose::Recall,
                    ring,
                    None,
                );
                if let Some(t) = self.transfer.as_mut() {
                    t.recall_leg = Some(r);
                }
            }
            None => self.recall_failed(),
        }
    }

    pub(crate) fn recall_answered(&mut self, i: usize, cfg: media::LegConfig) {
        self.transfer = None;
        self.stop_playback();
        self.media(MediaOut::SetLeg { side: Side::B, cfg });
        self.bridged = Some(i);
        self.phase = Phase::Talking;
        self.outcome = "answered";
        if let Role::Operator { agent } = self.legs[i].role.clone() {
            self.emit(EventKind::Answered { agent });
        }
    }

    /// Nobody took the citizen back: to the head of the queue, never dropped.
    pub(crate) fn recall_failed(&mut self) {
        self.transfer = None;
        let queue = self.line.queue.clone();
        if queue.is_empty() {
            self.fail_a(480);
            return;
        }
        tracing::info!(call = %self.uid, %queue, "transfer failed and the operator is gone: back in line first");
        self.bridged = None;
        self.plan = Plan::Queue {
            queue,
            priority: 50,
            greeting: Vec::new(),
            hold_music: crate::announce::HOLD_MUSIC.to_string(),
        };
        self.phase = Phase::Queue;
        self.hold_music();
        self.enqueue();
    }
}
