//! The queue task: drives the sans-IO ACD (`acd` crate) with the real clock, and
//! relays its decisions to call tasks (offer this agent, cancel that offer, announce the
//! position) and its state to the HTTP API. Agents' phones registering and
//! unregistering log them in and out (static queue members, as Asterisk's); feature
//! codes and the API pause them.

use crate::event::{CallEvent, CallRef, CoreCmd};
use crate::wait::sleep_until;
use acd::{Acd, AcdConfig, AgentConfig, AgentId, AgentStatus, EntryId, QueueConfig};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What the queue task is asked.
#[derive(Debug)]
pub enum QueueCmd {
    Enqueue {
        call: CallRef,
        queue: String,
        priority: u8,
        caller: String,
        /// The caller the trunk asserted (the number a callback may ring), for the other
        /// nodes of a cluster.
        asserted: String,
        /// The line dialled, kept for a callback on the same line.
        line: dialplan::Number,
        events: mpsc::UnboundedSender<CallEvent>,
        reply: oneshot::Sender<Result<EntryId, String>>,
    },
    Abandon {
        entry: EntryId,
    },
    /// The caller pressed the callback key: keep their place, call them back on `number`.
    RequestCallback {
        entry: EntryId,
        number: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Answered {
        entry: EntryId,
        agent: String,
    },
    Rejected {
        entry: EntryId,
        agent: String,
    },
    CallEnded {
        agent: String,
    },
    /// A phone registered (true) or its last binding went away (false).
    Presence {
        agent: String,
        registered: bool,
    },
    Agent {
        agent: String,
        op: AgentOp,
        who: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Snapshot {
        reply: oneshot::Sender<serde_json::Value>,
    },
    /// Another node of the cluster died with these callers waiting: call them back, in
    /// this order (crate::cluster).
    TakeOver {
        from: String,
        callers: Vec<crate::cluster::Handover>,
    },
}

pub use callctl::AgentOp;

/// An operator's state change named in the API or the CLI.
pub fn parse_agent_op(op: &str, reason: Option<&str>) -> Result<AgentOp, String> {
    Ok(match op {
        "login" => AgentOp::Login,
        "logout" => AgentOp::Logout,
        "pause" => AgentOp::Pause(reason.unwrap_or("休憩").to_string()),
        "unpause" => AgentOp::Unpause,
        "end-wrapup" => AgentOp::EndWrapUp,
        other => {
            return Err(format!(
                "unknown operation '{other}': use login, logout, pause, unpause or end-wrapup"
            ))
        }
    })
}

/// Check what only the ACD can check (overflow chains, limits without a target), for
/// `madoguchi check` and the start.
pub fn check(cfg: &dialplan::Config) -> Result<(), String> {
    Acd::new(acd_config(cfg))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Build the ACD's configuration from the dialplan's.
pub fn acd_config(cfg: &dialplan::Config) -> AcdConfig {
    let queues = cfg
        .queues
        .iter()
        .map(|q| {
            let mut c = QueueConfig::new(&q.name);
            c.strategy = match q.strategy {
                dialplan::Strategy::RingAll => acd::Strategy::RingAll,
                dialplan::Strategy::LongestIdle => acd::Strategy::LongestIdle,
                dialplan::Strategy::RoundRobin => acd::Strategy::RoundRobin,
                dialplan::Strategy::FewestCalls => acd::Strategy::FewestCalls,
            };
            c.ring_timeout = Duration::from_secs(q.ring_timeout_secs.max(1) as u64);
            c.wrapup = Duration::from_secs(q.wrapup_secs as u64);
            c.announce_every = (q.announce_every_secs > 0 && !q.greeting.is_empty())
                .then(|| Duration::from_secs(q.announce_every_secs as u64));
            c.pause_on_no_answer = q.pause_on_no_answer.then(|| "no-answer".to_string());
            c.max_wait = (q.max_wait_secs > 0).then(|| Duration::from_secs(q.max_wait_secs as u64));
            c.max_len = (q.max_len > 0).then_some(q.max_len as usize);
            c.overflow = q
                .overflow
                .as_deref()
                .map(|o| match o.strip_prefix("queue:") {
                    Some(name) => acd::Overflow::Queue(name.to_string()),
                    None if o == "callback" => acd::Overflow::Callback,
                    None => acd::Overflow::Route(o.to_string()),
                });
            c
        })
        .collect();
    let agents = cfg
        .agents
        .iter()
        .map(|a| {
            let qs: Vec<&str> = cfg
                .queues
                .iter()
                .filter(|q| q.agents.contains(&a.id))
                .map(|q| q.name.as_str())
                .collect();
            AgentConfig::new(&a.id, &qs)
        })
        .collect();
    AcdConfig { queues, agents }
}

pub struct QueueTask {
    acd: Acd,
    epoch: Instant,
    rx: mpsc::Receiver<QueueCmd>,
    calls: HashMap<EntryId, (CallRef, mpsc::UnboundedSender<CallEvent>)>,
    /// The line each entry dialled, for calling back on the same line.
    lines: HashMap<EntryId, dialplan::Number>,
    gauges: (prometheus::IntGaugeVec, prometheus::IntGaugeVec),
    events: crate::queue_log::EventLog,
    core: mpsc::Sender<CoreCmd>,
    stats: Option<stats::StatsHandle>,
    /// Seconds `serve --now` shifts the clock by (for the records' times).
    clock_offset: i64,
    /// Agents' lamps and queue lines for SIP presence (crate::presence).
    board: tokio::sync::watch::Sender<crate::presence::Board>,
    /// In a cluster: the callers waiting here, published for the other nodes.
    shared: Option<crate::cluster::Published>,
    /// When the board and gauges were last published, and whether they are behind.
    published_at: Option<Instant>,
    dirty: bool,
}

/// The board (presence lamps, the wallboard's feed) and the gauges are published at
/// most this often. Each publication is a pass over every agent and waiting caller;
/// after every batch of commands it was 10 % of the switch's CPU at 200 calls/s with
/// 400 agents (a profile of the soak, issue 10). 20 ms is below what a lamp or a
/// supervisor's eye can tell; the ACD's own decisions never wait for it.
const PUBLISH_EVERY: Duration = Duration::from_millis(20);

impl QueueTask {
    /// One node of a cluster: publish the waiting callers on `publish`.
    pub fn with_cluster(
        mut self,
        publish: Option<std::sync::mpsc::Sender<Vec<crate::cluster::Waiting>>>,
    ) -> Self {
        self.shared = publish.map(crate::cluster::Published::new);
        self
    }

    /// Tell the call records when after-call work ends.
    pub fn with_stats(mut self, stats: stats::StatsHandle, clock_offset: i64) -> Self {
        self.stats = Some(stats);
        self.clock_offset = clock_offset;
        self
    }

    pub fn new(
        cfg: &dialplan::Config,
        rx: mpsc::Receiver<QueueCmd>,
        metrics: &crate::metrics::Metrics,
        events_path: &std::path::Path,
        core: mpsc::Sender<CoreCmd>,
    ) -> Result<QueueTask, String> {
        let acd = Acd::new(acd_config(cfg)).map_err(|e| e.to_string())?;
        let gauges = (metrics.queue_waiting.clone(), metrics.agents.clone());
        let events = crate::queue_log::EventLog::open(events_path)
            .map_err(|e| format!("{}: {e}", events_path.display()))?;
        Ok(QueueTask {
            acd,
            epoch: Instant::now(),
            rx,
            calls: HashMap::new(),
            lines: HashMap::new(),
            gauges,
            events,
            core,
            stats: None,
            clock_offset: 0,
            board: tokio::sync::watch::channel(Default::default()).0,
            shared: None,
            published_at: None,
            dirty: false,
        })
    }

    /// What SIP presence watches: replaced after every step that changed it.
    pub fn board(&self) -> tokio::sync::watch::Receiver<crate::presence::Board> {
        self.board.subscribe()
    }

    /// Refresh the Prometheus gauges (a pass over queues and agents: cheap at this size,
    /// and done only after something happened).
    fn publish(&self) {
        let snap = self.acd.snapshot(self.now());
        let board = crate::presence::Board::from_snapshot(&snap);
        self.board.send_if_modified(|b| {
            *b != board && {
                *b = board;
                true
            }
        });
        for q in &snap.queues {
            self.gauges
                .0
                .with_label_values(&[&q.name])
                .set(q.waiting as i64);
        }
        // Counted by the enum into a fixed array: no label formatting per agent.
        let mut counts = [0i64; AGENT_STATUSES.len()];
        for a in &snap.agents {
            counts[status_index(a.status)] += 1;
        }
        for (name, n) in AGENT_STATUSES.iter().zip(counts) {
            self.gauges.1.with_label_values(&[name]).set(n);
        }
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub async fn run(mut self) {
        loop {
            let deadline = self.acd.poll_timeout().map(|d| self.epoch + d);
            let publish_at = self
                .published_at
                .filter(|_| self.dirty)
                .map(|t| t + PUBLISH_EVERY);
            tokio::select! {
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => {
                        self.on_cmd(cmd);
                        // Under load commands arrive faster than one at a time: take
                        // every one already waiting, then publish the board once. The
                        // board and the gauges are a pass over all agents, so publishing
                        // after each command made the queue task's cost grow with the
                        // agents times the calls (a benches/profile.sh finding).
                        let mut batch = 1;
                        while batch < 256 {
                            let Ok(cmd) = self.rx.try_recv() else { break };
                            self.drain();
                            self.on_cmd(cmd);
                            batch += 1;
                        }
                    }
                    None => return,
                },
                _ = sleep_until(deadline) => {
                    let now = self.now();
                    self.acd.handle_timeout(now);
                }
                // Only to publish what the last commands changed.
                _ = sleep_until(publish_at) => {}
            }
            self.drain();
            let now = Instant::now();
            if self.published_at.is_none_or(|t| now >= t + PUBLISH_EVERY) {
                self.publish();
                self.published_at = Some(now);
                self.dirty = false;
            } else {
                self.dirty = true;
            }
            self.share();
        }
    }

    /// In a cluster, hand the waiting callers to the cluster thread when they changed.
    fn share(&mut self) {
        if let Some(sh) = &mut self.shared {
            let acd = &self.acd;
            sh.publish(|e| acd.position(EntryId(e)).is_some());
        }
    }

    fn agent(&self, name: &str) -> Result<AgentId, String> {
        self.acd.agent_id(name).map_err(|e| e.to_string())
    }

    fn on_cmd(&mut self, cmd: QueueCmd) {
        let now = self.now();
        match cmd {
            QueueCmd::Enqueue {
                call,
                queue,
                priority,
                caller,
                asserted,
                line,
                events,
                reply,
            } => {
                let r = self
                    .acd
                    .enqueue(acd::CallId(call.0), &queue, priority, caller, now)
                    .map_err(|e| e.to_string());
                if let Ok(entry) = r {
                    if let Some(sh) = &mut self.shared {
                        sh.add(entry.0, &asserted, &line.number, &queue, priority, None);
                    }
                    self.calls.insert(entry, (call, events));
                    self.lines.insert(entry, line);
                }
                let _ = reply.send(r);
            }
            QueueCmd::RequestCallback {
                entry,
                number,
                reply,
            } => {
                let r = self
                    .acd
                    .request_callback(entry, number.clone(), now)
                    .map_err(|e| e.to_string());
                if r.is_ok() {
                    // The caller hangs up; the entry lives on in line without a call task.
                    self.calls.remove(&entry);
                    if let Some(sh) = &mut self.shared {
                        sh.callback(entry.0, number);
                    }
                }
                let _ = reply.send(r);
            }
            QueueCmd::Abandon { entry } => {
                let _ = self.acd.abandon(entry, now);
                self.calls.remove(&entry);
                self.lines.remove(&entry);
            }
            QueueCmd::Answered { entry, agent } => {
                if let Ok(a) = self.agent(&agent) {
                    if let Err(e) = self.acd.answered(entry, a, now) {
                        // A late answer (the offer had been withdrawn): the call drops that leg.
                        tracing::info!(%agent, error = %e, "answer not accepted by the queue");
                        if let Some((_, tx)) = self.calls.get(&entry) {
                            let _ = tx.send(CallEvent::CancelOffer {
                                agent: agent.clone(),
                            });
                        }
                    }
                }
                self.calls.remove(&entry);
                self.lines.remove(&entry);
            }
            QueueCmd::Rejected { entry, agent } => {
                if let Ok(a) = self.agent(&agent) {
                    let _ = self.acd.rejected(entry, a, now);
                }
            }
            QueueCmd::CallEnded { agent } => {
                if let Ok(a) = self.agent(&agent) {
                    let _ = self.acd.call_ended(a, now);
                }
            }
            QueueCmd::Presence { agent, registered } => {
                let Ok(a) = self.agent(&agent) else { return };
                let status = self.acd.agent_status(a);
                let r = match (registered, status) {
                    (true, Some(acd::AgentStatus::LoggedOut)) => self.acd.agent_login(a, now),
                    (false, Some(s)) if s != acd::AgentStatus::LoggedOut => {
                        self.acd.agent_logout(a, now)
                    }
                    _ => Ok(()),
                };
                if let Err(e) = r {
                    tracing::debug!(%agent, error = %e, "presence change not applied");
                }
            }
            QueueCmd::Agent {
                agent,
                op,
                who,
                reply,
            } => {
                let r = self.agent(&agent).and_then(|a| {
                    match &op {
                        AgentOp::Login => self.acd.agent_login(a, now),
                        AgentOp::Logout => self.acd.agent_logout(a, now),
                        AgentOp::Pause(reason) => self.acd.agent_pause(a, reason, now),
                        AgentOp::Unpause => self.acd.agent_unpause(a, now),
                        AgentOp::EndWrapUp => self.acd.agent_end_wrapup(a, now),
                    }
                    .map_err(|e| e.to_string())
                });
                tracing::info!(%agent, ?op, %who, ok = r.is_ok(), "agent control");
                let _ = reply.send(r);
            }
            QueueCmd::TakeOver { from, callers } => self.take_over(&from, callers, now),
            QueueCmd::Snapshot { reply } => {
                let s = self.acd.snapshot(now);
                let _ = reply.send(serde_json::to_value(&s).unwrap_or_default());
            }
        }
    }

    /// A dead node's waiting callers join this line as callbacks, in their order.
    fn take_over(&mut self, from: &str, callers: Vec<crate::cluster::Handover>, now: Duration) {
        for c in callers {
            let call = self.shared.as_mut().map_or(1 << 62, |sh| sh.next_call());
            match self.acd.enqueue_callback(
                acd::CallId(call),
                &c.queue,
                c.priority,
                c.caller.clone(),
                c.number.clone(),
                now,
            ) {
                Ok(entry) => {
                    tracing::info!(node = %from, caller = %c.caller, number = %c.number, entry = entry.0, "callback for a dead node's waiting caller");
                    if let Some(sh) = &mut self.shared {
                        let (line, number) = (&c.line.number, Some(c.number.clone()));
                        sh.add(entry.0, &c.caller, line, &c.queue, c.priority, number);
                    }
                    self.lines.insert(entry, c.line);
                }
                Err(e) => {
                    tracing::error!(node = %from, caller = %c.caller, error = %e, "a dead node's waiting caller could not be put in line")
                }
            }
        }
    }

    fn drain(&mut self) {
        while let Some(action) = self.acd.poll_action() {
            match action {
                acd::Action::OfferToAgent {
                    entry,
                    agent,
                    ring_timeout,
                    ..
                } => {
                    let name = self.acd.agent_name(agent).unwrap_or_default().to_string();
                    self.tell(
                        entry,
                        CallEvent::Offer {
                            entry,
                            agent: name,
                            ring_timeout,
                        },
                    );
                }
                acd::Action::CancelOffer { entry, agent, .. } => {
                    let name = self.acd.agent_name(agent).unwrap_or_default().to_string();
                    self.tell(entry, CallEvent::CancelOffer { agent: name });
                }
                acd::Action::AnnouncePosition {
                    entry,
                    position,
                    expected_wait,
                    ..
                } => {
                    self.tell(
                        entry,
                        CallEvent::Announce {
                            position,
                            expected_wait,
                        },
                    );
                }
                acd::Action::Overflow { entry, to, .. } => {
                    // Typed: the call decides by the variant (issue 8: a string compared
                    // with "callback" sent every overflow to the guard room).
                    self.tell(entry, CallEvent::Overflow { to });
                }
                acd::Action::PlaceCallback {
                    entry,
                    agent,
                    number,
                    ..
                } => {
                    let name = self.acd.agent_name(agent).unwrap_or_default().to_string();
                    if self
                        .core
                        .try_send(CoreCmd::PlaceCallback {
                            entry,
                            agent: name,
                            number,
                            line: self.lines.get(&entry).cloned(),
                        })
                        .is_err()
                    {
                        let _ = self.acd.rejected(entry, agent, self.now());
                    }
                }
            }
        }
        // Every state change is kept, in order, for the statistics (one JSON line each,
        // with the wall-clock time; the pass's lines in one write: queue_log.rs).
        while let Some(ev) = self.acd.poll_event() {
            // After-call work ends here; the call records need its length (issue 15).
            if let acd::AcdEvent::WrapUpEnded { agent, .. } = &ev.event {
                if let (Some(stats), Some(name)) = (&self.stats, self.acd.agent_name(*agent)) {
                    let ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis() as i64
                        + self.clock_offset * 1000;
                    stats.wrapup_end(name, ms.max(0) as u64);
                }
            }
            self.events.push(crate::register::unix_now(), &ev.event);
        }
        if let Err(e) = self.events.flush() {
            tracing::error!(error = %e, "could not append to the queue event log");
        }
    }

    fn tell(&mut self, entry: EntryId, ev: CallEvent) {
        if let Some((call, tx)) = self.calls.get(&entry) {
            // Unbounded (see core/mod.rs `calls`): fails only for a call that has ended.
            if tx.send(ev).is_err() {
                tracing::debug!(call = call.0, "queue event for a call that has ended");
            }
        }
    }
}

/// The agents gauge's label values, one per `acd::AgentStatus`.
const AGENT_STATUSES: [&str; 6] = [
    "LoggedOut",
    "Available",
    "Ringing",
    "OnCall",
    "WrapUp",
    "Paused",
];

fn status_index(s: AgentStatus) -> usize {
    match s {
        AgentStatus::LoggedOut => 0,
        AgentStatus::Available => 1,
        AgentStatus::Ringing => 2,
        AgentStatus::OnCall => 3,
        AgentStatus::WrapUp => 4,
        AgentStatus::Paused => 5,
    }
}
