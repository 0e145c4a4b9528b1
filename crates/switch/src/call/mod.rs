//! The call task: a thin driver around `callctl::Call` (the sans-IO call machine). It
//! owns the call's RTP ports and relay, the recording handle and the timers; it feeds
//! the machine what the core, the queue, the relay and the clock say, and carries out
//! what the machine asks (DESIGN §1–2: every decision is in the machine, one task per
//! call owns it).

mod env;
mod supervise;

pub use env::SwitchEnv;

use crate::event::{CallEvent, CallRef, CoreCmd};
use crate::queue::QueueCmd;
use crate::wait::sleep_until;
use crate::Shared;
use callctl::{Call, CallSetup, Input, MediaOut, Output, QueueOut, Side};
use media::{Leg, LegConfig, Relay, RelayHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the end of a call waits for its record's commit (a group commit takes one
/// fsync, milliseconds; this bounds a disk that stalls).
const RECORD_WAIT: Duration = Duration::from_secs(2);

pub use callctl::msg::{e164, host_port};

/// What the core hands a new call task.
pub struct CallStart {
    pub call: CallRef,
    /// The machine's setup, without its media (the task allocates the ports).
    pub setup: Box<dyn FnOnce(callctl::sdp::MediaSetup) -> CallSetup + Send>,
    /// The inbound INVITE's transaction, to refuse it when no ports are left.
    pub refuse: Option<(sip::transaction::ServerTxId, sip::Request, sip::Peer)>,
    pub shared: Arc<Shared>,
    pub core: mpsc::Sender<CoreCmd>,
    /// Our own inbox, handed to the queue task so it can reach us.
    pub events: mpsc::UnboundedSender<CallEvent>,
}

struct Driver {
    call: CallRef,
    shared: Arc<Shared>,
    core: mpsc::Sender<CoreCmd>,
    events: mpsc::UnboundedSender<CallEvent>,
    relay: RelayHandle,
    env: SwitchEnv,
    playback: Option<(u32, Option<media::PlaybackHandle>, tokio::time::Instant)>,
    recording: Option<recorder::RecordingHandle>,
    uid: String,
    /// The line dialled and the caller, from the call's `Arrived` event.
    arrived: Option<(String, String, String)>,
    /// The caller as the trunk asserted them (what a callback may ring).
    asserted: String,
    /// The call joined with ours by an attended transfer.
    partner: Option<CallRef>,
    /// The operator placing this call ("" for citizens' calls).
    agent: String,
    /// The other call of a supervision (the supervisor's, or the supervised one).
    monitor: Option<CallRef>,
    /// A supervisor's call waiting for our answer, and the port pair its link would take.
    pending_supervisor: Option<CallRef>,
    link_port: Option<media::PortPair>,
}

fn side_leg(s: Side) -> Leg {
    match s {
        Side::A => Leg::A,
        Side::B => Leg::B,
    }
}

/// Run the call to its end, then tell the core.
pub async fn run(start: CallStart, mut rx: mpsc::UnboundedReceiver<CallEvent>) {
    let shared = start.shared.clone();
    let ports = (shared.ports.allocate(), shared.ports.allocate());
    let (Ok(a), Ok(b)) = ports else {
        // No RTP ports left: 503 (RFC 3261 §21.5.4), and the caller may retry.
        if let Some((tx, invite, from)) = start.refuse {
            let tag = sip::dialog::new_tag();
            let mut resp = callctl::msg::a_response(&invite, 503, &tag, &from, None);
            resp.headers.push("Retry-After", "5");
            let _ = start.core.send(CoreCmd::Respond { tx, resp }).await;
        }
        let _ = start
            .core
            .send(CoreCmd::Ended {
                call: start.call,
                outcome: "rejected",
                relayed_packets: 0,
            })
            .await;
        return;
    };
    let codecs: Vec<media::Codec> = shared
        .cfg
        .media
        .codecs
        .iter()
        .map(|c| match c {
            dialplan::Codec::Pcmu => media::Codec::Pcmu,
            dialplan::Codec::Pcma => media::Codec::Pcma,
        })
        .collect();
    let media_setup = callctl::sdp::MediaSetup {
        ip: shared.media_ip,
        a_port: a.rtp_port(),
        b_port: b.rtp_port(),
        codecs,
        session_id: rand::random::<u32>() as u64,
        tls_sdes: match shared.cfg.sip.tls_srtp {
            dialplan::TlsSrtp::Mandatory => media::sdp::crypto::Sdes::Mandatory,
            dialplan::TlsSrtp::Optional => media::sdp::crypto::Sdes::Optional,
            dialplan::TlsSrtp::Off => media::sdp::crypto::Sdes::Off,
        },
    };
    let idle = LegConfig {
        remote: None,
        codec: media::Codec::Pcmu,
        telephone_event_pt: Some(media::sdp::TELEPHONE_EVENT_PT),
        pinned: false,
        srtp: None,
    };
    let relay = Relay::start(a, b, idle.clone(), idle);
    let (dtmf_tx, mut dtmf) = mpsc::channel(16);
    relay.set_dtmf_sink(Some(dtmf_tx));
    let setup = (start.setup)(media_setup);
    let uid = setup.uid.0.clone();
    let asserted = setup.caller.clone();
    let agent = match &setup.plan {
        callctl::Plan::Dial { agent, .. } => agent.clone(),
        _ => String::new(),
    };
    // An operator placing a call is busy for the queue until it ends.
    let own_call = matches!(
        &setup.plan,
        callctl::Plan::Dial {
            target: callctl::Target::Place { .. },
            ..
        }
    );
    if own_call {
        if let Ok(mut b) = shared.busy_agents.lock() {
            b.insert(agent.clone());
        }
    }
    let mut d = Driver {
        call: start.call,
        env: SwitchEnv::new(shared.clone(), agent.clone()),
        shared,
        core: start.core,
        events: start.events,
        relay,
        playback: None,
        recording: None,
        uid,
        arrived: None,
        asserted,
        partner: None,
        agent: agent.clone(),
        monitor: None,
        pending_supervisor: None,
        link_port: None,
    };
    let mut machine = Call::new(setup, &d.env, Instant::now());
    d.drain(&mut machine).await;
    while !machine.is_finished() {
        let timeout = machine.poll_timeout().map(tokio::time::Instant::from_std);
        let play_end = d.playback.as_ref().map(|p| p.2);
        let mut stopping = false;
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => {
                    stopping = matches!(ev, CallEvent::Shutdown);
                    let input = d.input_of(ev);
                    machine.handle(input, &d.env, Instant::now());
                }
                None => break,
            },
            _ = sleep_until(timeout) => machine.handle_timeout(&d.env, Instant::now()),
            _ = sleep_until(play_end) => {
                if let Some((token, _, _)) = d.playback.take() {
                    machine.handle(Input::PlaybackDone { token }, &d.env, Instant::now());
                }
            }
            Some(digit) = dtmf.recv() => {
                if digit.leg == Leg::A {
                    machine.handle(Input::Digit(digit.digit), &d.env, Instant::now());
                }
            }
        }
        d.drain(&mut machine).await;
        if stopping {
            // The switch is stopping: our BYEs are out, and the core waits only a few
            // seconds for their answers. Seal the recording now, complete, so that a far
            // side that never answers does not leave it to be repaired as "interrupted".
            d.seal_recording().await;
        }
    }
    if own_call {
        if let Ok(mut b) = d.shared.busy_agents.lock() {
            b.remove(&agent);
        }
    }
    d.finish(machine.outcome()).await;
}

impl Driver {
    fn input_of(&mut self, ev: CallEvent) -> Input {
        match ev {
            CallEvent::Response { branch, resp } => Input::Response { branch, resp },
            CallEvent::Timeout { branch } => Input::Timeout { branch },
            CallEvent::Request { tx, req, from } => Input::Request { tx, req, from },
            CallEvent::Ack { req } => Input::Ack { req },
            CallEvent::Cancelled => Input::Cancelled,
            CallEvent::NoAck => Input::NoAck,
            CallEvent::Shutdown => Input::Shutdown,
            CallEvent::Offer {
                entry,
                agent,
                ring_timeout,
            } => Input::Offer {
                // Busy on a call of their own: refused, the ACD offers the next agent.
                dest: if self
                    .shared
                    .busy_agents
                    .lock()
                    .map(|b| b.contains(&agent))
                    .unwrap_or(false)
                {
                    None
                } else {
                    self.shared.destination_of(&agent)
                },
                entry,
                agent,
                ring_timeout,
            },
            CallEvent::CancelOffer { agent } => Input::CancelOffer { agent },
            CallEvent::Announce {
                position,
                expected_wait,
            } => Input::Announce {
                position,
                expected_wait,
            },
            CallEvent::Overflow { to } => Input::Overflow { to },
            CallEvent::HandOver { partner, peer } => {
                self.partner = Some(partner);
                Input::HandOver { peer }
            }
            CallEvent::Joined { partner, result } => {
                if result.is_ok() {
                    self.partner = Some(partner);
                }
                Input::Joined(result)
            }
            CallEvent::PartnerGone => {
                self.partner = None;
                Input::PartnerGone
            }
            ev @ (CallEvent::Supervise { .. }
            | CallEvent::Supervising { .. }
            | CallEvent::SuperviseMode { .. }
            | CallEvent::MonitorGone) => self.supervise_input(ev),
        }
    }

    /// Carry out everything the machine asked, feeding back the replies it waits for.
    async fn drain(&mut self, m: &mut Call) {
        while let Some(o) = m.poll_output() {
            match o {
                Output::Respond { tx, resp } => self.core(CoreCmd::Respond { tx, resp }).await,
                Output::SendRequest { req, to } => {
                    self.core(CoreCmd::SendRequest {
                        call: self.call,
                        req,
                        to,
                    })
                    .await
                }
                Output::SendRaw { data, to } => self.core(CoreCmd::SendRaw { data, to }).await,
                Output::BindDialog { call_id, local_tag } => {
                    self.core(CoreCmd::BindDialog {
                        call: self.call,
                        call_id,
                        local_tag,
                    })
                    .await
                }
                Output::Queue(q) => {
                    if let Some(reply) = self.queue(q).await {
                        m.handle(reply, &self.env, Instant::now());
                    }
                }
                Output::Media(cmd) => self.media(cmd).await,
                Output::ReleaseChannel { trunk } => self.shared.release_channel(&trunk),
                Output::Attend { replaces, ours } => {
                    self.core(CoreCmd::Attend {
                        from: self.call,
                        replaces,
                        ours,
                    })
                    .await
                }
                Output::HandedOver(result) => {
                    if let Some(partner) = self.partner {
                        if result.is_err() {
                            self.partner = None;
                        }
                        let ev = CallEvent::Joined {
                            partner: self.call,
                            result,
                        };
                        self.core(CoreCmd::ToCall { call: partner, ev }).await;
                    }
                }
                Output::PartnerEnd => {
                    if let Some(partner) = self.partner.take() {
                        let ev = CallEvent::PartnerGone;
                        self.core(CoreCmd::ToCall { call: partner, ev }).await;
                    }
                }
                o @ (Output::Supervise { .. }
                | Output::Supervised(_)
                | Output::SuperviseMode(_)
                | Output::MonitorEnd) => self.supervise_output(o).await,
                Output::Event(ev) => {
                    self.supervision_event(&ev);
                    self.screen_pop(&ev);
                    if let Some(durable) = self.shared.publish(ev) {
                        // The call's end: what follows (callctl puts the 200 for the BYE
                        // that ended it after this event) waits until the call record is
                        // committed, so a caller told "ended" never loses its record to a
                        // kill -9. Bounded: a stalled disk must not hold calls open.
                        if tokio::time::timeout(RECORD_WAIT, durable).await.is_err() {
                            tracing::warn!(
                                call = self.call.0,
                                "call record not committed in time; answering anyway"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The operator's desktop pops the caller's record when their phone rings (issue 11):
    /// the feed wants the line and the caller, which the call's `Arrived` carried.
    fn screen_pop(&mut self, ev: &callctl::Event) {
        use callctl::EventKind;
        match &ev.kind {
            EventKind::Arrived {
                dialled,
                line,
                caller,
                ..
            } => {
                // The feed speaks national numbers (0246…), the events E.164 (+81246…).
                let national = match dialled.strip_prefix("+81") {
                    Some(rest) => format!("0{rest}"),
                    None => dialled.clone(),
                };
                self.arrived = Some((national, line.clone(), caller.clone()));
            }
            EventKind::Offered { agent } => {
                if let Some((dialled, line, caller)) = &self.arrived {
                    crate::feed::ringing(agent, &ev.call.0, dialled, line, caller, ev.at_ms);
                }
            }
            _ => {}
        }
    }

    async fn core(&self, cmd: CoreCmd) {
        let _ = self.core.send(cmd).await;
    }

    /// Send a queue command; the ones that ask come back as the machine's input.
    async fn queue(&self, q: QueueOut) -> Option<Input> {
        let queue = &self.shared.queue;
        match q {
            QueueOut::Enqueue {
                queue: name,
                priority,
                caller,
                line,
            } => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                let _ = queue
                    .send(QueueCmd::Enqueue {
                        call: self.call,
                        queue: name,
                        priority,
                        caller,
                        asserted: self.asserted.clone(),
                        line,
                        events: self.events.clone(),
                        reply,
                    })
                    .await;
                let r = rx.await.unwrap_or_else(|_| Err("queue not running".into()));
                Some(Input::Enqueued(r))
            }
            QueueOut::RequestCallback { entry, number } => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                let _ = queue
                    .send(QueueCmd::RequestCallback {
                        entry,
                        number,
                        reply,
                    })
                    .await;
                let r = rx.await.unwrap_or_else(|_| Err("queue not running".into()));
                Some(Input::CallbackAccepted(r))
            }
            QueueOut::Agent { agent, op } => {
                let (reply, rx) = tokio::sync::oneshot::channel();
                let _ = queue
                    .send(QueueCmd::Agent {
                        who: format!("phone:{agent}"),
                        agent,
                        op,
                        reply,
                    })
                    .await;
                let r = rx.await.unwrap_or_else(|_| Err("queue not running".into()));
                Some(Input::AgentChanged(r))
            }
            QueueOut::Abandon { entry } => {
                let _ = queue.send(QueueCmd::Abandon { entry }).await;
                None
            }
            QueueOut::Answered { entry, agent } => {
                let _ = queue.send(QueueCmd::Answered { entry, agent }).await;
                None
            }
            QueueOut::Rejected { entry, agent } => {
                let _ = queue.send(QueueCmd::Rejected { entry, agent }).await;
                None
            }
            QueueOut::CallEnded { agent } => {
                let _ = queue.send(QueueCmd::CallEnded { agent }).await;
                None
            }
        }
    }

    async fn media(&mut self, cmd: MediaOut) {
        match cmd {
            MediaOut::SetLeg { side, cfg } => self.relay.update_leg(side_leg(side), cfg),
            MediaOut::Play {
                side,
                prompts,
                token,
            } => {
                if let Some((_, Some(h), _)) = self.playback.take() {
                    h.stop();
                }
                let now = tokio::time::Instant::now();
                self.playback = Some(match self.prompt(&prompts) {
                    Some((p, len)) => (token, Some(self.relay.play(side_leg(side), p)), now + len),
                    // Nothing playable (missing files are logged at start): move on at once.
                    None => (token, None, now),
                });
            }
            MediaOut::StopPlay => {
                if let Some((_, Some(h), _)) = self.playback.take() {
                    h.stop();
                }
            }
            MediaOut::Record {
                dialled,
                caller,
                sip_call_id,
            } => {
                let id: String = format!("{}-{sip_call_id}", self.uid)
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .take(96)
                    .collect();
                // The tap is set before the answer goes out (this output comes before
                // the 200), so the recording has the call from its first packet; the
                // file and its catalogue row are made meanwhile by the recorder.
                let rec = &self.shared.recorder;
                let (tap, handle) = crate::recording::begin(rec, &id, &dialled, &caller);
                self.relay.set_tap(Some(tap));
                self.recording = Some(handle);
            }
            MediaOut::Monitor { peer, mode } => self.monitor_media(Some((peer, mode))),
            MediaOut::Unmonitor => self.monitor_media(None),
            MediaOut::MonitorMode { mode } => self.relay.set_monitor_mode(mode),
            MediaOut::RecordParty { label } => {
                if let Some(r) = &self.recording {
                    if let Err(e) = r.add_operator(&label).await {
                        tracing::warn!(call = self.call.0, error = %e, "party not noted on the recording");
                    }
                }
            }
        }
    }

    /// The named prompts, one after another, and how long they last.
    fn prompt(&self, names: &[String]) -> Option<(Arc<media::Prompt>, Duration)> {
        let prompt = self.shared.prompts.sequence(names)?;
        let len = Duration::from_millis(prompt.frames() as u64 * 20);
        Some((prompt, len))
    }

    /// Write what is left of the recording, seal it and mark it complete (once).
    async fn seal_recording(&mut self) {
        seal(self.recording.take(), self.call.0).await;
    }

    async fn finish(mut self, outcome: &'static str) {
        self.forget_agents();
        if let Some((_, Some(h), _)) = self.playback.take() {
            h.stop();
        }
        let recording = self.recording.take();
        let st = self.relay.stop().await;
        let relayed = st.a.forwarded + st.b.forwarded;
        // The relay is gone, so the tap is closed: the writer drains and seals the file
        // on its own time; the call's end does not wait for the disk (`sealing`).
        if recording.is_some() {
            self.shared.sealing.spawn(seal(recording, self.call.0));
        }
        let _ = self
            .core
            .send(CoreCmd::Ended {
                call: self.call,
                outcome,
                relayed_packets: relayed,
            })
            .await;
    }
}

async fn seal(recording: Option<recorder::RecordingHandle>, call: u64) {
    if let Some(h) = recording {
        // A recording never opened was refused; the recorder logged why.
        let opened = h.id().is_some();
        match h.finish().await {
            Ok(info) => {
                tracing::info!(call, path = %info.path, ms = info.duration_ms, "recording complete")
            }
            Err(e) if !opened => tracing::debug!(call, error = %e, "call not recorded"),
            Err(e) => tracing::error!(call, error = %e, "recording not finished cleanly"),
        }
    }
}
