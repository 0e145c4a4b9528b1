//! The driver's part of listen / whisper / barge (`callctl::supervise` decides): the
//! supervised call's link port, the messages between the two calls through the core,
//! which call each operator talks on, and the audit line for every use (the recordings'
//! audit log, beside listening to a recording: who, when, which call, which mode).

use super::Driver;
use crate::event::{CallEvent, CoreCmd};
use callctl::{EventKind, Input, JoinPeer, Output};
use std::time::SystemTime;

impl Driver {
    pub(super) fn supervise_input(&mut self, ev: CallEvent) -> Input {
        match ev {
            CallEvent::Supervise {
                supervisor_call,
                supervisor,
                agent,
                mode,
                peer,
            } => {
                // The link's port is I/O: taken here, handed to the relay if the machine
                // accepts (`MediaOut::Monitor`), dropped (freed) otherwise.
                self.pending_supervisor = Some(supervisor_call);
                self.link_port = self.shared.ports.allocate().ok();
                let ours = self.link_port.as_ref().map(|p| JoinPeer {
                    remote: std::net::SocketAddr::new(self.shared.media_ip, p.rtp_port()),
                });
                Input::Supervise {
                    supervisor,
                    agent,
                    mode,
                    peer,
                    ours,
                }
            }
            CallEvent::Supervising { target, result } => {
                if result.is_ok() {
                    self.monitor = Some(target);
                }
                Input::Supervising(result)
            }
            CallEvent::SuperviseMode { mode } => Input::SuperviseMode(mode),
            _ => {
                self.monitor = None;
                Input::MonitorGone
            }
        }
    }

    pub(super) async fn supervise_output(&mut self, o: Output) {
        match o {
            Output::Supervise { agent, mode, ours } => {
                let cmd = CoreCmd::Supervise {
                    from: self.call,
                    supervisor: self.agent.clone(),
                    agent,
                    mode,
                    ours,
                };
                self.core(cmd).await
            }
            Output::Supervised(result) => {
                let Some(sv) = self.pending_supervisor.take() else {
                    return;
                };
                if result.is_ok() {
                    self.monitor = Some(sv);
                } else {
                    self.link_port = None;
                }
                let ev = CallEvent::Supervising {
                    target: self.call,
                    result,
                };
                self.core(CoreCmd::ToCall { call: sv, ev }).await
            }
            Output::SuperviseMode(mode) => {
                if let Some(other) = self.monitor {
                    let ev = CallEvent::SuperviseMode { mode };
                    self.core(CoreCmd::ToCall { call: other, ev }).await
                }
            }
            _ => {
                if let Some(other) = self.monitor.take() {
                    let ev = CallEvent::MonitorGone;
                    self.core(CoreCmd::ToCall { call: other, ev }).await
                }
            }
        }
    }

    pub(super) fn monitor_media(&mut self, m: Option<(std::net::SocketAddr, media::mix::MixMode)>) {
        match (m, self.link_port.take()) {
            (Some((remote, mode)), Some(link)) => self
                .relay
                .monitor(link, media::monitor::MonitorConfig { remote, mode }),
            (Some(_), None) => {
                tracing::warn!(call = self.call.0, "no link port for the supervisor")
            }
            (None, _) => self.relay.unmonitor(),
        }
    }

    /// Which call each operator talks on; the audit line for each supervision.
    pub(super) fn supervision_event(&mut self, ev: &callctl::Event) {
        match &ev.kind {
            EventKind::Answered { agent } => {
                if let Ok(mut m) = self.shared.agent_calls.lock() {
                    m.insert(agent.clone(), self.call);
                }
            }
            EventKind::OperatorLeft { agent } => {
                if let Ok(mut m) = self.shared.agent_calls.lock() {
                    if m.get(agent) == Some(&self.call) {
                        m.remove(agent);
                    }
                }
            }
            EventKind::SupervisionStarted {
                supervisor,
                agent,
                mode,
            } => self.audit(
                supervisor,
                &format!("supervise-{}", mode.key()),
                format!("{} call {}, operator {agent}", mode.label_ja(), ev.call.0),
            ),
            EventKind::SupervisionEnded { supervisor } => {
                self.audit(supervisor, "supervise-end", format!("call {}", ev.call.0))
            }
            _ => {}
        }
    }

    /// Every use of listen / whisper / barge is written to the recordings' audit log,
    /// against this call's recording.
    fn audit(&self, who: &str, action: &str, detail: String) {
        let rec = self.shared.recorder.clone();
        let recording = self.recording.as_ref().and_then(|r| r.id());
        let (who, action) = (who.to_string(), action.to_string());
        let at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        tracing::info!(call = self.call.0, %who, %action, "supervision audited");
        tokio::task::spawn_blocking(move || {
            if let Err(e) = rec.catalogue().audit(at, &who, &action, recording, &detail) {
                tracing::error!(error = %e, %who, %action, "the supervision's audit line was not written");
            }
        });
    }

    pub(super) fn forget_agents(&mut self) {
        if let Ok(mut m) = self.shared.agent_calls.lock() {
            m.retain(|_, c| *c != self.call);
        }
    }
}
