//! Commands from the call tasks: requests to send, dialogs to bind, attended transfers
//! and supervision to match across calls, and the bookkeeping when a call ends.

use super::Core;
use crate::event::{CallEvent, CoreCmd};
use sip::SipHeaders;
use std::time::Instant;

impl Core {
    pub(super) fn on_cmd(&mut self, cmd: CoreCmd) {
        let now = Instant::now();
        match cmd {
            CoreCmd::SendRequest { call, req, to } => {
                let branch = req
                    .top_via()
                    .and_then(|v| v.branch().map(str::to_string))
                    .unwrap_or_default();
                let id = self.layer.send_request(req, to, now);
                self.calls.add_client_tx(call, id, branch);
            }
            CoreCmd::SendRaw { data, to } => self.send_raw(data, to),
            CoreCmd::RegistrationsSaved(result) => {
                for (tx, resp) in self.registration.saved(result) {
                    self.respond(tx, resp);
                }
                // What changed while that write ran.
                self.save_registrations();
            }
            CoreCmd::Respond { tx, resp } => {
                self.count_response(&resp);
                self.layer.respond(tx, resp, now);
            }
            CoreCmd::BindDialog {
                call,
                call_id,
                local_tag,
            } => {
                self.calls.bind_dialog(call, call_id, local_tag);
            }
            CoreCmd::PlaceCallback {
                entry,
                agent,
                number,
                line,
            } => self.place_callback(entry, agent, number, line),
            CoreCmd::Attend {
                from,
                replaces,
                ours,
            } => {
                // RFC 3891 names the dialog by Call-ID and both tags; ours is one of them.
                let cid = replaces.call_id.clone();
                let target = self
                    .calls
                    .dialog(cid.clone(), replaces.to_tag.clone())
                    .or_else(|| self.calls.dialog(cid, replaces.from_tag.clone()))
                    .filter(|c| *c != from);
                match target {
                    Some(y) => self.dispatch(
                        y,
                        CallEvent::HandOver {
                            partner: from,
                            peer: ours,
                        },
                    ),
                    None => self.dispatch(
                        from,
                        CallEvent::Joined {
                            partner: from,
                            result: Err("no call with that dialog (Replaces)".into()),
                        },
                    ),
                }
            }
            CoreCmd::Supervise {
                from,
                supervisor,
                agent,
                mode,
                ours,
            } => {
                let target = self
                    .shared
                    .agent_calls
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&agent).copied())
                    .filter(|c| *c != from && self.calls.contains(*c));
                let ev = match target {
                    Some(t) => {
                        return self.dispatch(
                            t,
                            CallEvent::Supervise {
                                supervisor_call: from,
                                supervisor,
                                agent,
                                mode,
                                peer: ours,
                            },
                        )
                    }
                    None => CallEvent::Supervising {
                        target: from,
                        result: Err(format!("オペレーター {agent} は通話中ではありません。")),
                    },
                };
                self.dispatch(from, ev)
            }
            CoreCmd::ToCall { call, ev } => {
                // A supervisor's call that ended before the answer came: the supervised
                // call must not keep a link to nobody.
                if let (
                    false,
                    CallEvent::Supervising {
                        target,
                        result: Ok(_),
                    },
                ) = (self.calls.contains(call), &ev)
                {
                    let target = *target;
                    return self.dispatch(target, CallEvent::MonitorGone);
                }
                self.dispatch(call, ev)
            }
            CoreCmd::Ended {
                call,
                outcome,
                relayed_packets,
            } => {
                self.calls.end_call(call);
                self.shared
                    .metrics
                    .calls_active
                    .set(self.calls.len() as i64);
                self.shared
                    .metrics
                    .calls_total
                    .with_label_values(&[outcome])
                    .inc();
                self.shared
                    .metrics
                    .rtp_packets_relayed
                    .inc_by(relayed_packets);
            }
        }
    }
}
