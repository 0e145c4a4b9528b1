//! The RTP/RTCP relay of one B2BUA call: one tokio task owning both legs' port
//! pairs, driving the sans-IO `Forwarder`.
//!
//! The packet path is: `recv_from` into a fixed buffer (every datagram each socket
//! holds, per wake-up) → `Forwarder::forward`
//! (no allocation, no lock; counters are atomics) → `try_send_to`. It never awaits
//! a send: a full socket buffer drops the packet and counts it, as a late packet
//! is worthless anyway. Control (re-INVITE, prompts, the tap) arrives on a channel
//! and is rare. The task is one hand-written `poll` over the channel, the sockets
//! and the two clocks.
//!
//! Prompts: while a prompt plays to a leg, what the other leg says is not sent to
//! it (the prompt replaces it), but the played-to leg's own media still reaches the
//! other side and its DTMF is still detected — a caller can press a key during an
//! announcement. Prompt packets are paced by one 20 ms `tokio::time::interval` (the
//! media clock), not by a sleep per packet, so pacing does not drift.
//!
//! RTCP: terminated per leg, with our own SR/RR every 5 s (see `forward`).
//!
//! SRTP (RFC 3711): a leg whose `LegConfig` carries keys is unprotected right after
//! `recv_from` and protected right before `try_send_to`, in place in the same fixed
//! buffers, so the forwarder, the tap, DTMF and the mixer only ever see plain RTP. A
//! packet that fails authentication (plain RTP, another key, a replay) is dropped
//! before the forwarder sees it, so it can neither latch the leg nor reach the other
//! side; it is counted in `srtp_rejected`.

use crate::forward::{Forwarder, Leg, LegConfig, RelayStats, StatsCells, FRAME_SAMPLES};
use crate::g711;
use crate::mix::{MixMode, Party};
use crate::monitor::{Monitor, MonitorConfig};
use crate::ports::{PortLease, PortPair};
use crate::prompt::{PlaybackHandle, PlaybackOutcome, Prompt};
use crate::rtcp;
use crate::srtp::LegSrtp;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Interval, MissedTickBehavior};

/// Largest datagram we relay; RTP over Ethernet never comes near it.
const MTU: usize = 1500;
/// Datagrams (and commands, and clock ticks) handled per wake-up before the task
/// yields to the other calls' tasks on the same thread.
const BUDGET: usize = 64;
const PTIME: Duration = Duration::from_millis(20);
/// RFC 3550 §6.2: 5 s minimum report interval; the first report after half of it.
/// No randomisation: each leg is a two-party session, nothing to de-synchronise.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// 20 ms of decoded audio from one leg, for the recorder.
#[derive(Debug, Clone)]
pub struct TapFrame {
    /// The leg whose endpoint sent this audio.
    pub leg: Leg,
    /// RTP timestamp of the first sample (the sender's clock, 8 kHz).
    pub rtp_timestamp: u32,
    /// When the packet arrived: the two legs' RTP clocks are unrelated, so this is
    /// the common timeline for putting both sides of a call side by side.
    pub arrival: std::time::Instant,
    /// Valid samples in `samples` (160 unless the packet was shorter).
    pub len: u16,
    pub samples: [i16; FRAME_SAMPLES],
}

/// Where tap frames go. Bounded: the relay only `try_send`s and counts drops.
pub type Tap = mpsc::Sender<TapFrame>;

/// A digit a leg sent as an RFC 4733 event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    pub leg: Leg,
    pub digit: char,
}

enum Command {
    Update(Leg, LegConfig),
    Tap(Option<Tap>),
    Dtmf(Option<mpsc::Sender<DtmfDigit>>),
    Play {
        leg: Leg,
        prompt: Arc<Prompt>,
        done: oneshot::Sender<PlaybackOutcome>,
        cancel: Arc<AtomicBool>,
    },
    /// A supervisor joins (its link's port pair and config) or leaves (`None`).
    Monitor(Option<(PortPair, MonitorConfig)>),
    MonitorMode(MixMode),
    /// Answered once every command sent before it has been applied.
    Settle(oneshot::Sender<()>),
    Stop,
}

pub struct Relay;

impl Relay {
    /// Starts the relay task for one call. Call it inside a tokio runtime (tokio
    /// panics otherwise); panics if the sockets cannot be registered with tokio —
    /// use `try_start` to get that error instead.
    pub fn start(a: PortPair, b: PortPair, a_cfg: LegConfig, b_cfg: LegConfig) -> RelayHandle {
        Self::try_start(a, b, a_cfg, b_cfg).expect("Relay::start needs a tokio runtime")
    }

    /// Like `start`, returning the I/O error if registering the sockets with
    /// tokio fails (e.g. out of file descriptors).
    pub fn try_start(
        a: PortPair,
        b: PortPair,
        a_cfg: LegConfig,
        b_cfg: LegConfig,
    ) -> io::Result<RelayHandle> {
        let (local_a, local_b) = (a.rtp_addr(), b.rtp_addr());
        // On a media thread when the process started them (`threads`): the sockets
        // register with that thread's I/O driver, the task runs there.
        let media = crate::threads::pick();
        let _in_media = media.as_ref().map(tokio::runtime::Handle::enter);
        let (a_rtp, a_rtcp, a_lease) = a.into_sockets();
        let (b_rtp, b_rtcp, b_lease) = b.into_sockets();
        let stats = Arc::new(StatsCells::default());
        let a_cfg_srtp = a_cfg.srtp.clone().map(LegSrtp::new);
        let b_cfg_srtp = b_cfg.srtp.clone().map(LegSrtp::new);
        let task = Task {
            rtp: [UdpSocket::from_std(a_rtp)?, UdpSocket::from_std(b_rtp)?],
            rtcp: [UdpSocket::from_std(a_rtcp)?, UdpSocket::from_std(b_rtcp)?],
            fwd: Forwarder::new(a_cfg, b_cfg, stats.clone(), std::time::Instant::now()),
            stats: stats.clone(),
            tap: None,
            dtmf: None,
            playing: [None, None],
            next_prompt_id: 0,
            monitor: None,
            srtp: [a_cfg_srtp, b_cfg_srtp],
            _leases: [a_lease, b_lease],
        };
        let (ctl, rx) = mpsc::unbounded_channel();
        let join = match &media {
            Some(h) => h.spawn(task.run(rx)),
            None => tokio::spawn(task.run(rx)),
        };
        Ok(RelayHandle {
            ctl,
            join,
            stats,
            local_a,
            local_b,
        })
    }
}

/// Control of a running relay. Dropping it stops the relay as well.
#[derive(Debug)]
pub struct RelayHandle {
    ctl: mpsc::UnboundedSender<Command>,
    join: JoinHandle<()>,
    stats: Arc<StatsCells>,
    local_a: SocketAddr,
    local_b: SocketAddr,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl RelayHandle {
    /// Our RTP address toward leg A (for the SDP we send A).
    pub fn local_a(&self) -> SocketAddr {
        self.local_a
    }
    pub fn local_b(&self) -> SocketAddr {
        self.local_b
    }

    /// A re-INVITE changed a leg (new address, law, hold: `remote: None`).
    pub fn update_leg(&self, leg: Leg, cfg: LegConfig) {
        let _ = self.ctl.send(Command::Update(leg, cfg));
    }

    pub fn stats(&self) -> RelayStats {
        self.stats.snapshot()
    }

    /// Returns once the relay task has applied every command sent before this call
    /// (commands are applied in order), so a caller can wait for a tap or DTMF sink to
    /// be in place instead of sleeping and hoping.
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.ctl.send(Command::Settle(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Sends decoded audio of both legs to `tap` (or stops, with `None`).
    pub fn set_tap(&self, tap: Option<Tap>) {
        let _ = self.ctl.send(Command::Tap(tap));
    }

    /// Reports RFC 4733 digits from either leg to `sink` (feature codes, IVR).
    pub fn set_dtmf_sink(&self, sink: Option<mpsc::Sender<DtmfDigit>>) {
        let _ = self.ctl.send(Command::Dtmf(sink));
    }

    /// Plays `prompt` to `leg` in its law, replacing any prompt already playing there.
    pub fn play(&self, leg: Leg, prompt: Arc<Prompt>) -> PlaybackHandle {
        let (handle, done, cancel) = PlaybackHandle::new();
        // If the relay is gone the sender is dropped and `finished` says Stopped.
        let _ = self.ctl.send(Command::Play {
            leg,
            prompt,
            done,
            cancel,
        });
        handle
    }

    /// A supervisor listens, whispers or barges in (spec 第2-7 ⑵ ウ): `link` is a port
    /// pair for the supervisor's link (freed when it ends), `cfg` where the supervisor's
    /// call's relay is and the mode. See `mix` for who hears whom.
    pub fn monitor(&self, link: PortPair, cfg: MonitorConfig) {
        let _ = self.ctl.send(Command::Monitor(Some((link, cfg))));
    }

    pub fn set_monitor_mode(&self, mode: MixMode) {
        let _ = self.ctl.send(Command::MonitorMode(mode));
    }

    /// The supervisor has left: the legs hear each other directly again.
    pub fn unmonitor(&self) {
        let _ = self.ctl.send(Command::Monitor(None));
    }

    /// Stops the relay and returns the final counters. The four ports are free when
    /// this returns.
    pub async fn stop(self) -> RelayStats {
        let _ = self.ctl.send(Command::Stop);
        if let Err(e) = self.join.await {
            tracing::error!(error = %e, "relay task failed");
        }
        self.stats.snapshot()
    }
}

struct Playing {
    prompt: Arc<Prompt>,
    id: u64,
    next: usize,
    done: Option<oneshot::Sender<PlaybackOutcome>>,
    cancel: Arc<AtomicBool>,
}

impl Playing {
    fn finish(mut self, how: PlaybackOutcome) {
        if let Some(d) = self.done.take() {
            let _ = d.send(how);
        }
    }
}

struct Task {
    rtp: [UdpSocket; 2],
    rtcp: [UdpSocket; 2],
    fwd: Forwarder,
    stats: Arc<StatsCells>,
    tap: Option<Tap>,
    dtmf: Option<mpsc::Sender<DtmfDigit>>,
    playing: [Option<Playing>; 2],
    next_prompt_id: u64,
    /// A supervisor's link: the mixer, its RTP socket, and its RTCP socket (kept only to
    /// hold the port) with the pair's lease after it.
    monitor: Option<(Monitor, UdpSocket, (std::net::UdpSocket, PortLease))>,
    /// Each leg's SRTP contexts, when it negotiated SDES keys.
    srtp: [Option<LegSrtp>; 2],
    /// Last: fields drop in order, so the ports return to the allocator once closed.
    _leases: [PortLease; 2],
}

/// Sends `out[..len]` (RTP, or RTCP with `rtcp`) on `sock`, SRTP-protected first when
/// the leg has keys. `None` when it could not be sent (full socket buffer, no room).
fn send_media(
    sock: &UdpSocket,
    srtp: &mut Option<LegSrtp>,
    out: &mut [u8; MTU],
    len: usize,
    to: SocketAddr,
    rtcp: bool,
) -> Option<usize> {
    let wire = match srtp {
        Some(s) if rtcp => s.tx.protect_rtcp(out, len).ok()?,
        Some(s) => s.tx.protect_rtp(out, len).ok()?,
        None => len,
    };
    sock.try_send_to(&out[..wire], to).ok()
}

fn party(leg: Leg) -> Party {
    match leg {
        Leg::A => Party::Citizen,
        Leg::B => Party::Operator,
    }
}

fn leg_of(i: usize) -> Leg {
    if i == 0 {
        Leg::A
    } else {
        Leg::B
    }
}

impl Task {
    async fn run(mut self, mut ctl: mpsc::UnboundedReceiver<Command>) {
        // Fixed buffers, reused for the life of the call.
        let mut rx = Box::new([0u8; MTU]);
        let mut out = Box::new([0u8; MTU]);
        let mut clock: Interval = tokio::time::interval(PTIME);
        // Catch up after a stall so the prompt keeps its real duration.
        clock.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut reports = tokio::time::interval_at(
            tokio::time::Instant::now() + RTCP_INTERVAL / 2,
            RTCP_INTERVAL,
        );
        reports.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // One hand-written poll for everything the task waits on, instead of a
        // `select!` that re-creates a receive future per socket at every wake-up.
        std::future::poll_fn(|cx| {
            self.poll_once(cx, &mut ctl, &mut clock, &mut reports, &mut rx, &mut out)
        })
        .await;
        for p in self.playing.iter_mut().filter_map(Option::take) {
            p.finish(PlaybackOutcome::Stopped);
        }
        tracing::debug!(stats = ?self.stats.snapshot(), "relay stopped");
        // Sockets close as `self` drops: the ports are free.
    }

    /// One wake-up: commands, then every datagram each socket holds, then the clocks.
    /// `Ready` when the relay is to stop. Each source is polled until it is Pending,
    /// so each has the waker; past `BUDGET` datagrams the task yields and comes back.
    fn poll_once(
        &mut self,
        cx: &mut Context<'_>,
        ctl: &mut mpsc::UnboundedReceiver<Command>,
        clock: &mut Interval,
        reports: &mut Interval,
        rx: &mut [u8; MTU],
        out: &mut [u8; MTU],
    ) -> Poll<()> {
        let mut budget = BUDGET;
        while budget > 0 {
            match ctl.poll_recv(cx) {
                Poll::Ready(Some(Command::Stop)) | Poll::Ready(None) => return Poll::Ready(()),
                Poll::Ready(Some(c)) => self.command(c, clock),
                Poll::Pending => break,
            }
            budget -= 1;
        }
        // RTP of both legs, their RTCP, then the supervisor's link (k = 4).
        for k in 0..5 {
            while budget > 0 {
                let sock = match k {
                    0 | 1 => &self.rtp[k],
                    2 | 3 => &self.rtcp[k - 2],
                    _ => match &self.monitor {
                        Some((_, s, _)) => s,
                        None => break,
                    },
                };
                let mut rb = ReadBuf::new(&mut rx[..]);
                let src = match sock.poll_recv_from(cx, &mut rb) {
                    Poll::Pending => break,
                    Poll::Ready(Ok(src)) => src,
                    Poll::Ready(Err(e)) => {
                        // A reported socket error (ICMP) is consumed by the read.
                        tracing::debug!(error = %e, "media receive error");
                        budget -= 1;
                        continue;
                    }
                };
                let len = rb.filled().len();
                budget -= 1;
                match k {
                    0 | 1 => self.on_rtp(k, len, src, rx, out),
                    2 | 3 => self.on_rtcp(k - 2, len, src, rx),
                    _ => {
                        if let Some((m, _, _)) = self.monitor.as_mut() {
                            m.on_packet(src, &rx[..len]);
                        }
                    }
                }
            }
        }
        let playing = self.playing.iter().any(Option::is_some) || self.monitor.is_some();
        // Bounded: Burst catches up missed ticks, each consumed once, then Pending.
        while playing && budget > 0 && clock.poll_tick(cx).is_ready() {
            self.on_tick(out);
            budget -= 1;
        }
        while budget > 0 && reports.poll_tick(cx).is_ready() {
            self.on_report(out);
            budget -= 1;
        }
        if budget == 0 {
            // Not every source was polled to Pending: come back after the others ran.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    fn command(&mut self, c: Command, clock: &mut Interval) {
        match c {
            Command::Update(leg, cfg) => {
                let slot = &mut self.srtp[leg as usize];
                match (slot.as_mut(), cfg.srtp.clone()) {
                    (Some(cur), Some(keys)) => cur.rekey(keys),
                    (_, keys) => *slot = keys.map(LegSrtp::new),
                }
                self.fwd.update_leg(leg, cfg)
            }
            Command::Tap(t) => self.tap = t,
            Command::Dtmf(d) => self.dtmf = d,
            Command::Play {
                leg,
                prompt,
                done,
                cancel,
            } => {
                if self.playing.iter().all(Option::is_none) {
                    // The first packet goes out now, then every 20 ms.
                    clock.reset_immediately();
                }
                self.next_prompt_id += 1;
                let new = Playing {
                    prompt,
                    id: self.next_prompt_id,
                    next: 0,
                    done: Some(done),
                    cancel,
                };
                if let Some(old) = self.playing[leg as usize].replace(new) {
                    old.finish(PlaybackOutcome::Replaced);
                }
                self.fwd.set_paused(leg, true);
            }
            Command::Monitor(m) => {
                self.monitor = m.and_then(|(pair, cfg)| {
                    let (rtp, rtcp, lease) = pair.into_sockets();
                    match UdpSocket::from_std(rtp) {
                        Ok(s) => {
                            self.next_prompt_id += 1;
                            Some((
                                Monitor::new(cfg, u64::MAX - self.next_prompt_id),
                                s,
                                (rtcp, lease),
                            ))
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the supervisor's link could not be opened");
                            None
                        }
                    }
                });
                if self.monitor.is_some() && self.playing.iter().all(Option::is_none) {
                    clock.reset_immediately();
                }
                self.repause();
            }
            Command::MonitorMode(mode) => {
                if let Some((m, _, _)) = self.monitor.as_mut() {
                    m.set_mode(mode);
                }
                self.repause();
            }
            Command::Settle(done) => {
                let _ = done.send(());
            }
            Command::Stop => {}
        }
    }

    fn on_rtp(
        &mut self,
        i: usize,
        mut n: usize,
        src: SocketAddr,
        buf: &mut [u8; MTU],
        out: &mut [u8; MTU],
    ) {
        let from = leg_of(i);
        if let Some(s) = self.srtp[i].as_mut() {
            match s.rx.unprotect_rtp(buf, n) {
                Ok(plain) => n = plain,
                Err(_) => {
                    self.stats
                        .leg(from)
                        .srtp_rejected
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let pkt = &buf[..n];
        let now = std::time::Instant::now();
        let o = self.fwd.forward(from, src, pkt, out, now);
        if let (Some(a), Some((m, _, _))) = (o.audio, self.monitor.as_mut()) {
            m.mixer
                .push_encoded(party(from), a.codec, &pkt[a.start..a.end]);
        }
        if let Some((len, to)) = o.send {
            let dest = from.other();
            let d = dest as usize;
            match send_media(&self.rtp[d], &mut self.srtp[d], out, len, to, false) {
                Some(_) => self.fwd.sent(dest, len),
                None => self.fwd.send_failed(dest),
            }
        }
        if let Some(a) = o.audio.filter(|_| self.tap.is_some()) {
            for (k, chunk) in pkt[a.start..a.end].chunks(FRAME_SAMPLES).enumerate() {
                let mut frame = TapFrame {
                    leg: from,
                    rtp_timestamp: a.timestamp.wrapping_add((k * FRAME_SAMPLES) as u32),
                    arrival: now,
                    len: chunk.len() as u16,
                    samples: [0; FRAME_SAMPLES],
                };
                g711::decode_frame(a.codec, chunk, &mut frame.samples);
                to_tap(&mut self.tap, &self.stats, frame);
            }
        }
        if let (Some(digit), Some(sink)) = (o.digit, &self.dtmf) {
            if sink.try_send(DtmfDigit { leg: from, digit }).is_err() {
                tracing::warn!(?from, %digit, "DTMF digit dropped: sink full or closed");
            }
        }
    }

    fn on_rtcp(&mut self, i: usize, mut n: usize, src: SocketAddr, buf: &mut [u8; MTU]) {
        if let Some(s) = self.srtp[i].as_mut() {
            match s.rx.unprotect_rtcp(buf, n) {
                Ok(plain) => n = plain,
                Err(_) => {
                    self.stats
                        .leg(leg_of(i))
                        .srtp_rejected
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        self.fwd.rtcp_in(
            leg_of(i),
            src,
            &buf[..n],
            std::time::Instant::now(),
            rtcp::ntp_now(),
        )
    }

    fn on_report(&mut self, out: &mut [u8; MTU]) {
        let now = std::time::Instant::now();
        let ntp = rtcp::ntp_now();
        for i in 0..2 {
            let leg = leg_of(i);
            if let Some((len, to)) = self.fwd.rtcp_report(leg, out, now, ntp) {
                match send_media(&self.rtcp[i], &mut self.srtp[i], out, len, to, true) {
                    Some(_) => self.fwd.rtcp_sent(leg),
                    None => tracing::debug!(?leg, "RTCP send failed"),
                }
            }
        }
    }

    fn on_tick(&mut self, out: &mut [u8; MTU]) {
        let now = std::time::Instant::now();
        for i in 0..2 {
            let Some(p) = self.playing[i].as_mut() else {
                continue;
            };
            let leg = leg_of(i);
            let codec = self.fwd.config(leg).codec;
            let frame = if p.cancel.load(Ordering::Relaxed) {
                None
            } else {
                p.prompt.frame(codec, p.next)
            };
            let Some(frame) = frame else {
                let how = if p.next >= p.prompt.frames() {
                    PlaybackOutcome::Completed
                } else {
                    PlaybackOutcome::Stopped
                };
                if let Some(p) = self.playing[i].take() {
                    p.finish(how);
                }
                let mixed = self.mixes_to(leg);
                self.fwd.set_paused(leg, mixed);
                continue;
            };
            // With no destination (hold) the prompt still advances: it is timed.
            if let Some((len, to)) =
                self.fwd
                    .prompt_packet(leg, p.id, p.next as u32, frame, out, now)
            {
                match send_media(&self.rtp[i], &mut self.srtp[i], out, len, to, false) {
                    Some(_) => self.fwd.sent(leg, len),
                    None => self.fwd.send_failed(leg),
                }
            }
            // What a leg hears from a prompt is recorded as the other side speaking
            // (announcements are part of every recorded call).
            if self.tap.is_some() {
                let pcm = p.prompt.samples();
                let start = p.next * FRAME_SAMPLES;
                let chunk = &pcm[start.min(pcm.len())..(start + FRAME_SAMPLES).min(pcm.len())];
                let mut tf = TapFrame {
                    leg: leg.other(),
                    rtp_timestamp: (p.next * FRAME_SAMPLES) as u32,
                    arrival: now,
                    len: chunk.len() as u16,
                    samples: [0; FRAME_SAMPLES],
                };
                tf.samples[..chunk.len()].copy_from_slice(chunk);
                to_tap(&mut self.tap, &self.stats, tf);
            }
            p.next += 1;
        }
        self.on_mix_tick(out, now);
    }

    /// Whether the supervisor's mixer, not the relay, feeds `leg` now.
    fn mixes_to(&self, leg: Leg) -> bool {
        self.monitor
            .as_ref()
            .is_some_and(|(m, _, _)| m.mixer.feeds(party(leg)))
    }

    /// What each leg may hear directly: nothing while a prompt or the mixer feeds it.
    fn repause(&mut self) {
        for leg in [Leg::A, Leg::B] {
            let p = self.playing[leg as usize].is_some() || self.mixes_to(leg);
            self.fwd.set_paused(leg, p);
        }
    }

    /// The media clock with a supervisor on the call: one mixed frame to the supervisor,
    /// and to each leg the mode mixes for (a prompt playing to a leg wins over the mix).
    fn on_mix_tick(&mut self, out: &mut [u8; MTU], now: std::time::Instant) {
        let Some((m, link, _)) = self.monitor.as_mut() else {
            return;
        };
        m.mixer.tick();
        if let Some((len, to)) = m.supervisor_packet(out) {
            let _ = link.try_send_to(&out[..len], to);
        }
        for (i, leg) in [Leg::A, Leg::B].into_iter().enumerate() {
            if !m.mixer.feeds(party(leg)) || self.playing[i].is_some() {
                continue;
            }
            let codec = self.fwd.config(leg).codec;
            let mut frame = [0u8; FRAME_SAMPLES];
            m.mixer.output(party(leg), codec, &mut frame);
            if let Some((len, to)) =
                self.fwd
                    .prompt_packet(leg, m.source_id, m.index, &frame, out, now)
            {
                match send_media(&self.rtp[i], &mut self.srtp[i], out, len, to, false) {
                    Some(_) => self.fwd.sent(leg, len),
                    None => self.fwd.send_failed(leg),
                }
            }
        }
        m.index = m.index.wrapping_add(1);
    }
}

/// One frame to the recording. A full tap is a drop (counted); a closed one means the
/// recording is gone (refused by the recorder, or over), so the relay lets it go
/// instead of counting every later frame as lost.
fn to_tap(tap: &mut Option<Tap>, stats: &StatsCells, frame: TapFrame) {
    let Some(t) = tap else { return };
    match t.try_send(frame) {
        Ok(()) => {
            stats.tap_frames.fetch_add(1, Ordering::Relaxed);
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            stats.tap_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Err(mpsc::error::TrySendError::Closed(_)) => *tap = None,
    }
}
