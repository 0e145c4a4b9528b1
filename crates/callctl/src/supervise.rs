//! Listen, whisper, barge (spec 第2-7 ⑵ ウ): a supervisor dials `*31`/`*32`/`*33` + an
//! operator's id and joins that operator's live call.
//!
//! Two calls, linked like the two calls of an attended transfer (`join.rs`): the
//! supervisor's own call (a `Dial` plan whose target is `Target::Supervise`) owns the
//! supervisor's SIP leg on relay side A exactly like any operator's call (ACK, CANCEL,
//! re-INVITE, BYE need nothing new), and asks, through the core, the call the operator is
//! on to take it (`Output::Supervise`). That call — the citizen's — decides (one
//! supervisor at a time, only while its operator talks), attaches the supervisor's link
//! to its relay, where `media::mix` mixes what each party hears, and answers with the
//! link's address. Its legs, its recording and its end stay its own: the recording stays
//! the citizen/operator conversation and is marked, the statistics get
//! `SupervisionStarted`/`SupervisionEnded`. When either call ends, or the operator leaves
//! the citizen's call, the other is told (`MonitorEnd` → `MonitorGone`).
//!
//! The supervisor's phone is answered only once the operator's call accepted: a refusal
//! is answered like a refused feature code, with the failure prompt and the reason in a
//! `Warning` (RFC 3261 §20.43). The supervisor's call is not recorded (it would only be
//! a second copy of the citizen's voice).

use crate::call::{AfterPlay, Call, LegState, Phase, Plan};
use crate::event::{EventKind, Party, Phase as EvPhase, SuperviseMode};
use crate::io::{JoinPeer, MediaOut, Output, Role, Side, Target};
use core::net::SocketAddr;
use media::mix::MixMode;

/// A supervisor on this (the operator's) call.
#[derive(Clone, Debug)]
pub(crate) struct Supervision {
    pub supervisor: String,
    pub agent: String,
    pub mode: SuperviseMode,
}

pub(crate) fn mix_mode(m: SuperviseMode) -> MixMode {
    match m {
        SuperviseMode::Listen => MixMode::Listen,
        SuperviseMode::Whisper => MixMode::Whisper,
        SuperviseMode::Barge => MixMode::Barge,
    }
}

impl Call {
    /// Whether this is a supervisor's call (never recorded).
    pub(crate) fn is_supervisor_call(&self) -> bool {
        matches!(
            self.plan,
            Plan::Dial {
                target: Target::Supervise { .. },
                ..
            }
        )
    }

    /// The supervisor's call: ask the operator's call to take us on.
    pub(crate) fn supervise(&mut self, agent: String, mode: SuperviseMode) {
        self.outcome = "supervise";
        let ours = JoinPeer {
            remote: SocketAddr::new(self.sdp.setup.ip, self.sdp.setup.b_port),
        };
        self.push(Output::Supervise { agent, mode, ours });
    }

    /// The supervisor's call: the operator's call answered.
    pub(crate) fn on_supervising(&mut self, r: Result<JoinPeer, String>) {
        let Plan::Dial {
            target: Target::Supervise { agent, .. },
            ..
        } = self.plan.clone()
        else {
            return;
        };
        match r {
            // The supervisor gave up meanwhile: let the other call go at once.
            Ok(_) if self.phase == Phase::Ending => self.push(Output::MonitorEnd),
            Ok(peer) => {
                self.monitor_link = true;
                self.media(MediaOut::SetLeg {
                    side: Side::B,
                    cfg: crate::join::link(peer.remote),
                });
                self.answer_a();
                self.phase = Phase::Talking;
                self.outcome = "answered";
                self.emit(EventKind::Connected { party: agent });
            }
            Err(reason) => {
                tracing::info!(call = %self.uid, %agent, %reason, "supervision refused");
                self.outcome = "refused";
                self.warning = Some(reason.replace(['"', '\r', '\n'], " "));
                self.answer_a();
                self.play(
                    Side::A,
                    vec![crate::announce::FEATURE_FAILED.to_string()],
                    AfterPlay::HangUp,
                );
            }
        }
    }

    /// The operator's call: a supervisor asks to join.
    pub(crate) fn on_supervise(
        &mut self,
        supervisor: String,
        agent: String,
        mode: SuperviseMode,
        peer: JoinPeer,
        ours: Option<JoinPeer>,
    ) {
        let talking = self.phase == Phase::Talking
            && self.bridged.is_some_and(|b| {
                self.legs[b].state == LegState::Up
                    && matches!(&self.legs[b].role, Role::Operator { agent: a } if *a == agent)
            });
        let refusal = if let Some(s) = &self.supervision {
            Some(format!(
                "{} さんがすでにモニタリングしています。",
                s.supervisor
            ))
        } else if !talking {
            Some(format!("オペレーター {agent} は通話中ではありません。"))
        } else if ours.is_none() {
            Some("モニタリング用のメディアポートがありません。".to_string())
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.push(Output::Supervised(Err(reason)));
            return;
        }
        tracing::info!(call = %self.uid, %supervisor, %agent, ?mode, "supervisor joins");
        self.supervision = Some(Supervision {
            supervisor: supervisor.clone(),
            agent: agent.clone(),
            mode,
        });
        self.media(MediaOut::Monitor {
            peer: peer.remote,
            mode: mix_mode(mode),
        });
        // The recording stays the citizen/operator call; the catalogue notes who listened.
        self.media(MediaOut::RecordParty {
            label: format!("監督者 {supervisor}（{}）", mode.label_ja()),
        });
        self.emit(EventKind::SupervisionStarted {
            supervisor,
            agent,
            mode,
        });
        self.push(Output::Supervised(Ok(ours.expect("checked above"))));
    }

    /// The supervisor's call: keys 1, 2, 3 switch to listen, whisper, barge (as the
    /// codes *31, *32, *33), without dialling again.
    pub(crate) fn supervisor_digit(&mut self, d: char) {
        let mode = match d {
            '1' => SuperviseMode::Listen,
            '2' => SuperviseMode::Whisper,
            '3' => SuperviseMode::Barge,
            _ => return,
        };
        if self.phase == Phase::Talking {
            self.push(Output::SuperviseMode(mode));
        }
    }

    /// The operator's call: the supervisor switched mode. The record and the audit log
    /// get it as the end of one supervision and the start of the next.
    pub(crate) fn on_supervise_mode(&mut self, mode: SuperviseMode) {
        let Some(s) = self.supervision.as_mut() else {
            return;
        };
        if s.mode == mode || self.phase == Phase::Ending {
            return;
        }
        s.mode = mode;
        let (supervisor, agent) = (s.supervisor.clone(), s.agent.clone());
        tracing::info!(call = %self.uid, %supervisor, ?mode, "supervisor changes mode");
        self.media(MediaOut::MonitorMode {
            mode: mix_mode(mode),
        });
        self.emit(EventKind::SupervisionEnded {
            supervisor: supervisor.clone(),
        });
        self.emit(EventKind::SupervisionStarted {
            supervisor,
            agent,
            mode,
        });
    }

    /// The other end of a supervision is over.
    pub(crate) fn on_monitor_gone(&mut self) {
        if self.supervision.is_some() {
            // The supervisor hung up: the call goes on without them.
            self.end_supervision(false);
            return;
        }
        if !self.monitor_link {
            return;
        }
        self.monitor_link = false;
        if self.phase != Phase::Ending {
            self.stop_playback();
            self.bye_a();
            self.enter_ending(EvPhase::Talking, Party::Switch);
        }
    }

    /// End a supervision of this call; `tell` the supervisor's call when it did not end
    /// it itself.
    pub(crate) fn end_supervision(&mut self, tell: bool) {
        let Some(s) = self.supervision.take() else {
            return;
        };
        tracing::info!(call = %self.uid, supervisor = %s.supervisor, "supervisor leaves");
        if self.phase != Phase::Ending {
            self.media(MediaOut::Unmonitor);
        }
        self.emit(EventKind::SupervisionEnded {
            supervisor: s.supervisor,
        });
        if tell {
            self.push(Output::MonitorEnd);
        }
    }

    /// The operator left leg `i`: a supervision of their conversation ends with it.
    pub(crate) fn supervised_operator_left(&mut self, i: usize) {
        let theirs = self.supervision.as_ref().is_some_and(
            |s| matches!(&self.legs[i].role, Role::Operator { agent } if *agent == s.agent),
        );
        if theirs {
            self.end_supervision(true);
        }
    }

    /// The call ends: the supervisor's call is told (either side of a supervision).
    pub(crate) fn supervision_on_end(&mut self) {
        self.end_supervision(true);
        if std::mem::take(&mut self.monitor_link) {
            self.push(Output::MonitorEnd);
        }
    }
}
