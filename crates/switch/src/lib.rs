//! Call control: the only crate that joins `sip`, `media` and `dialplan` (and later
//! `acd`). `start` binds every listener from the configuration and runs the SIP core
//! task, the call tasks it spawns, and the HTTP endpoint (API and `/metrics`).

pub use callctl::announce;
mod admission;
mod call;
mod cluster;
mod core;
mod event;
mod feed;
mod http;
mod http_serve;
pub mod metrics;
mod presence;
mod prompts;
mod queue;
mod queue_log;
mod recording;
mod register;
mod sealing;
pub mod secrets;
mod stats_web;
mod tls;
mod wait;

pub use call::e164;
pub use core::Listener;
pub use http::parse_local;
pub use queue::check as check_queues;

use dialplan::Config;
use metrics::Metrics;
use sip::transport::TransportHandle;
use sip::Peer;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("media ports: {0}")]
    Media(String),
    #[error("queue configuration: {0}")]
    Queue(String),
    #[error("operating state: {0}")]
    State(String),
    #[error("recordings: {0}")]
    Recording(String),
    #[error("call records: {0}")]
    Stats(String),
    #[error("TLS certificate: {0}")]
    Tls(String),
}

/// Read-mostly state every task may look at. Nothing here is per-call.
pub struct Shared {
    pub cfg: Config,
    pub metrics: Metrics,
    pub data_dir: PathBuf,
    /// Bound addresses of the operators' listener (UDP and TCP share them).
    pub agent_addrs: Vec<SocketAddr>,
    /// Bound addresses of the operators' SIP-over-TLS listeners.
    pub tls_addrs: Vec<SocketAddr>,
    /// Bound trunk listeners: (bound address, trunk name, configured address).
    pub trunk_addrs: Vec<(SocketAddr, String, SocketAddr)>,
    pub media_ip: IpAddr,
    pub ports: media::ports::PortAllocator,
    /// Registered contacts as last saved, for the HTTP API and for ringing agents.
    pub registrations: RwLock<Vec<sip::registrar::Binding>>,
    /// Announcements by name (`greeting`, `num/3`, …), loaded at start.
    pub prompts: prompts::Prompts,
    pub queue: tokio::sync::mpsc::Sender<queue::QueueCmd>,
    pub calendar: dialplan::Calendar,
    /// Manual night mode and disaster extension, with their audit log (rarely written).
    pub operating: Mutex<dialplan::StateStore>,
    /// Seconds added to the machine's clock for routing decisions (`serve --now`).
    pub clock_offset: i64,
    /// Every answered call is recorded (spec 第2-7 ⑶ イ).
    pub recorder: recorder::Recorder,
    /// Supervisors' logins: the recordings pages and every change made through the API.
    pub supervisors: Arc<recorder::auth::Auth>,
    /// Call records, the city's figures, metrics and the wallboard (issue 15): call
    /// control passes every `callctl::Event` to `stats.event(..)`.
    pub stats: stats::StatsHandle,
    /// Agents' lamps and queue lines as the queue task last published them.
    pub board: watch::Receiver<presence::Board>,
    /// Trunk channels in use, by trunk name (第2-7 ⑴ エ・オ).
    pub channels: Mutex<(
        dialplan::channels::Channels,
        HashMap<String, Vec<dialplan::channels::ChannelId>>,
    )>,
    /// Typed call events for statistics, the wallboard and the desktop (lossy for slow
    /// readers: a reader that falls behind is told how many it missed).
    pub events: tokio::sync::broadcast::Sender<callctl::Event>,
    /// Operators on a call of their own (an extension, an outside number): the queue's
    /// offers skip them until it ends, as a PBX's device state would.
    pub busy_agents: Mutex<std::collections::HashSet<String>>,
    /// Failed operator logins on the event feed (Basic with the SIP password) per
    /// (user, source): the same limiter as digest, so the feed is no way around it.
    pub feed_logins: Mutex<sip::auth::AuthLimiter>,
    /// Which call each operator is talking on (from the calls' Answered / OperatorLeft
    /// events), for a supervisor's `*31`/`*32`/`*33`.
    pub agent_calls: Mutex<HashMap<String, event::CallRef>>,
    /// Recordings still being sealed after their calls ended (`sealing`).
    pub sealing: sealing::Sealing,
}

impl Shared {
    /// Take a channel on `trunk`. Ordinary calls leave `reserve_for_transfers` channels
    /// free; operators' transfers may use them (第2-7 ⑴ エ・オ).
    pub fn acquire_channel(&self, trunk: &str, transfer: bool) -> Result<(), String> {
        use dialplan::channels::Use;
        let mut ch = self
            .channels
            .lock()
            .map_err(|_| "channel table poisoned".to_string())?;
        let (table, held) = &mut *ch;
        let use_ = if transfer {
            Use::Transfer
        } else {
            Use::Inbound
        };
        match table.try_acquire(trunk, use_) {
            Ok(id) => {
                held.entry(trunk.to_string()).or_default().push(id);
                self.metrics
                    .trunk_channels
                    .with_label_values(&[trunk])
                    .set(table.in_use(trunk) as i64);
                Ok(())
            }
            // A trunk without a channel limit in the configuration is not counted.
            Err(dialplan::channels::ChannelError::UnknownTrunk { .. }) => Ok(()),
            Err(e) => {
                self.metrics.trunk_full.with_label_values(&[trunk]).inc();
                Err(e.to_string())
            }
        }
    }

    pub fn release_channel(&self, trunk: &str) {
        if let Ok(mut ch) = self.channels.lock() {
            let (table, held) = &mut *ch;
            if let Some(id) = held.get_mut(trunk).and_then(|v| v.pop()) {
                table.release(id);
            }
            self.metrics
                .trunk_channels
                .with_label_values(&[trunk])
                .set(table.in_use(trunk) as i64);
        }
    }

    /// Hand a call event to whoever listens (statistics, desktop feed). For the event
    /// that ends a call, returns what fires once its record is on disk.
    pub fn publish(&self, ev: callctl::Event) -> Option<stats::service::Durable> {
        tracing::debug!(call = %ev.call, kind = ?ev.kind, "call event");
        // Call records and the wallboard (never blocks; the stats inbox is unbounded).
        let durable = if matches!(ev.kind, callctl::EventKind::Ended { .. }) {
            Some(self.stats.event_durable(ev.clone()))
        } else {
            self.stats.event(ev.clone());
            None
        };
        let _ = self.events.send(ev);
        durable
    }

    /// An extension of the city hall's PBX, over the first pbx trunk.
    pub fn extension_destination(&self, ext: &str) -> Option<event::Destination> {
        let trunk = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.kind == dialplan::TrunkKind::Pbx)?;
        self.trunk_destination(&trunk.name, ext, ext)
    }

    /// `user@proxy` over a trunk, sent from that trunk's listener.
    pub fn trunk_destination(
        &self,
        trunk: &str,
        user: &str,
        label: &str,
    ) -> Option<event::Destination> {
        let t = self.cfg.trunk(trunk)?;
        let local = self
            .trunk_addrs
            .iter()
            .find(|(_, n, _)| *n == t.name)
            .map(|(b, _, _)| *b)?;
        let uri = sip::Uri::parse(&format!("sip:{user}@{}", call::host_port(t.proxy))).ok()?;
        Some(event::Destination {
            label: label.to_string(),
            uri,
            peer: Peer {
                transport: sip::TransportKind::Udp,
                remote: t.proxy,
                local,
            },
            trunk: Some(t.name.clone()),
        })
    }

    /// Which listener (and so which trust level) a message came in on.
    pub fn listener_of(&self, peer: &Peer) -> Option<Listener> {
        let agents = match peer.transport {
            sip::TransportKind::Tls => &self.tls_addrs,
            _ => &self.agent_addrs,
        };
        if agents.contains(&peer.local) {
            return Some(Listener::Agents);
        }
        // The socket the packet arrived on names the trunk (two trunks configured on
        // port 0 share a configured address, never a bound one).
        let (_, name, _) = self
            .trunk_addrs
            .iter()
            .find(|(bound, _, _)| *bound == peer.local)?;
        // The source must also be one of the trunk's peers (never trust a header).
        let trunk = self.cfg.trunk(name)?;
        let ip = peer.remote.ip().to_canonical();
        trunk
            .peers
            .iter()
            .any(|p| p.contains(ip))
            .then(|| Listener::Trunk(name.clone()))
    }

    /// The wall clock as routing sees it (unix seconds), shifted by `serve --now`.
    pub fn now_unix(&self) -> u64 {
        (register::unix_now() as i64 + self.clock_offset).max(0) as u64
    }

    /// Where to ring an agent: their most preferred registered phone, along the flow the
    /// REGISTER came in on (NAT-safe).
    pub fn destination_of(&self, agent: &str) -> Option<event::Destination> {
        let now = register::unix_now();
        let list = self.registrations.read().ok()?;
        let b = list
            .iter()
            .filter(|b| b.aor.split('@').next() == Some(agent) && b.expires_at > now)
            .max_by_key(|b| (b.q_or_default(), b.updated_at))?;
        let uri = b.uri()?;
        let transport = if b.transport.eq_ignore_ascii_case("TCP") {
            sip::TransportKind::Tcp
        } else if b.transport.eq_ignore_ascii_case("TLS") {
            sip::TransportKind::Tls
        } else {
            sip::TransportKind::Udp
        };
        // A TLS phone is reached over its own connection; our Via and Contact name the
        // TLS listener it came to.
        let listeners = match transport {
            sip::TransportKind::Tls if !self.tls_addrs.is_empty() => &self.tls_addrs,
            _ => &self.agent_addrs,
        };
        let local = listeners
            .iter()
            .find(|a| a.is_ipv4() == b.source.is_ipv4())
            .copied()
            .unwrap_or(listeners[0]);
        Some(event::Destination {
            label: agent.to_string(),
            uri,
            peer: Peer {
                transport,
                remote: b.source,
                local,
            },
            trunk: None,
        })
    }

    /// The carrier trunk's outbound proxy, for calling citizens back.
    pub fn carrier_destination(&self, number: &str) -> Option<event::Destination> {
        let trunk = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.kind == dialplan::TrunkKind::Carrier)?;
        self.trunk_destination(&trunk.name, number, &format!("callback {number}"))
    }

    /// A department reached over a trunk (the guard room after hours): extension@proxy.
    pub fn department_destination(
        &self,
        dept: &dialplan::Department,
    ) -> Option<event::Destination> {
        self.trunk_destination(&dept.trunk, &dept.extension, &dept.name)
    }
}

/// A running switch: its bound addresses, and the way to stop it.
pub struct RunningSwitch {
    /// Whether the ops port speaks HTTPS (`[http] tls`).
    pub http_tls: bool,
    pub sip_addrs: Vec<SocketAddr>,
    pub tls_addrs: Vec<SocketAddr>,
    pub trunk_addrs: Vec<(String, SocketAddr)>,
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    core: tokio::task::JoinHandle<()>,
    pub shared: Arc<Shared>,
}

impl RunningSwitch {
    /// Ask every call to end with BYE, wait for the core to finish, then for the
    /// recordings still being sealed (at most 30 s: a dead disk must not keep the
    /// process from stopping; what is left is repaired at the next start).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.core.await;
        let left = self
            .shared
            .sealing
            .wait_idle(std::time::Duration::from_secs(30))
            .await;
        if left > 0 {
            tracing::warn!(
                recordings = left,
                "stopping with recordings not sealed; they are repaired at the next start"
            );
        }
    }
}

/// How to start: the configuration, and for tests and drills a shifted clock.
pub struct Options {
    pub cfg: Config,
    /// Unix seconds the routing clock starts at (it then advances with real time).
    pub now: Option<u64>,
}

/// Bind everything the configuration names and start the switch.
pub async fn start(opts: Options) -> Result<RunningSwitch, SwitchError> {
    let mut cfg = opts.cfg;
    let data_dir = PathBuf::from(&cfg.switch.data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|source| SwitchError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    private_tree(&data_dir, &cfg.switch.recordings_dir);
    secrets::fill_agent_passwords(&mut cfg, &data_dir)?;
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(8192);
    let transport = TransportHandle::new(cfg.sip.max_message_bytes, in_tx);

    let mut agent_addrs = Vec::new();
    for addr in &cfg.sip.listen {
        agent_addrs.push(bind_udp_tcp(&transport, *addr, ("SIP UDP", "SIP TCP")).await?);
    }
    let mut tls_addrs = Vec::new();
    if !cfg.sip.tls_listen.is_empty() {
        let files = tls::files(&cfg, &data_dir)?;
        let config = tls::server_config(&files, &[])?;
        for addr in &cfg.sip.tls_listen {
            let bound = transport
                .bind_tls(*addr, config.clone())
                .await
                .map_err(|source| SwitchError::Bind {
                    addr: *addr,
                    what: "SIP TLS",
                    source,
                })?;
            tls_addrs.push(bound);
        }
    }
    let mut trunk_addrs = Vec::new();
    for t in &cfg.trunks {
        let bound = bind_udp_tcp(&transport, t.listen, ("trunk UDP", "trunk TCP")).await?;
        trunk_addrs.push((bound, t.name.clone(), t.listen));
    }
    let media_ip = cfg.media.address;
    let ports = media::ports::PortAllocator::new(
        media_ip,
        cfg.media.rtp_ports.first,
        cfg.media.rtp_ports.last,
    )
    .map_err(|e| SwitchError::Media(e.to_string()))?;
    if let Some(c) = media::ephemeral::check(cfg.media.rtp_ports.first..=cfg.media.rtp_ports.last) {
        tracing::warn!("{c}");
    }
    // Relays run on media threads of their own, one per core (`media::threads`: no
    // worker hand-offs per packet). MADOGUCHI_MEDIA_THREADS=N sets the number, 0 keeps
    // them on this runtime (to compare in benches/).
    let media_threads = std::env::var("MADOGUCHI_MEDIA_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if media_threads > 0 {
        media::threads::start(media_threads).map_err(|e| SwitchError::Media(e.to_string()))?;
    }
    let http_listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .map_err(|source| SwitchError::Bind {
            addr: cfg.http.listen,
            what: "HTTP",
            source,
        })?;
    let http_addr = http_listener
        .local_addr()
        .map_err(|source| SwitchError::Bind {
            addr: cfg.http.listen,
            what: "HTTP",
            source,
        })?;

    // HTTPS on the ops port (http/1.1 by ALPN), with the switch's certificate.
    let http_tls = if cfg.http.tls {
        let files = tls::files(&cfg, &data_dir)?;
        Some(tokio_rustls::TlsAcceptor::from(tls::server_config(
            &files,
            &[b"http/1.1"],
        )?))
    } else {
        None
    };
    let secret = load_or_create_secret(&data_dir);
    let prompts = prompts::Prompts::load(std::path::Path::new(&cfg.switch.prompts_dir));
    let (queue_tx, queue_rx) = tokio::sync::mpsc::channel(4096);
    let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(4096);
    let metrics = Metrics::new();
    let clock_offset = opts
        .now
        .map(|n| n as i64 - register::unix_now() as i64)
        .unwrap_or(0);
    let stats = start_stats(&cfg, &data_dir, &metrics, clock_offset)?;
    let queue_task = queue::QueueTask::new(
        &cfg,
        queue_rx,
        &metrics,
        &data_dir.join("queue-events.jsonl"),
        cmd_tx.clone(),
    )
    .map_err(SwitchError::Queue)?
    .with_stats(stats.clone(), clock_offset)
    // One node of several behind Kamailio: the waiting callers shared (cluster.rs).
    .with_cluster(cluster::start(&cfg, queue_tx.clone()));
    let board = queue_task.board();
    tokio::spawn(queue_task.run());
    let calendar = dialplan::Calendar::new(&cfg.hours);
    let operating =
        dialplan::StateStore::open(&data_dir).map_err(|e| SwitchError::State(e.to_string()))?;
    let (recorder, recordings_web, supervisors) = recording::start(&cfg, &data_dir)?;
    let cfg_channels = cfg.clone();
    let shared = Arc::new(Shared {
        stats,
        prompts,
        queue: queue_tx,
        calendar,
        operating: Mutex::new(operating),
        clock_offset,
        recorder,
        supervisors,
        cfg,
        metrics,
        data_dir,
        agent_addrs: agent_addrs.clone(),
        tls_addrs: tls_addrs.clone(),
        trunk_addrs: trunk_addrs.clone(),
        media_ip,
        ports,
        registrations: RwLock::new(Vec::new()),
        board,
        channels: Mutex::new((
            dialplan::channels::Channels::new(&cfg_channels),
            HashMap::new(),
        )),
        events: tokio::sync::broadcast::channel(4096).0,
        busy_agents: Mutex::new(std::collections::HashSet::new()),
        feed_logins: Mutex::new(sip::auth::AuthLimiter::default()),
        agent_calls: Mutex::new(HashMap::new()),
        sealing: sealing::Sealing::default(),
    });
    let registration = register::Registration::new(&shared, secret);
    let (sd_tx, sd_rx) = watch::channel(false);
    let core = core::Core::new(
        shared.clone(),
        transport,
        in_rx,
        registration,
        sd_rx.clone(),
        (cmd_tx, cmd_rx),
    );
    let core = tokio::spawn(core.run());
    tokio::spawn(http::serve(
        http_listener,
        http_tls,
        shared.clone(),
        recordings_web,
        sd_rx,
    ));
    Ok(RunningSwitch {
        http_tls: shared.cfg.http.tls,
        sip_addrs: agent_addrs,
        tls_addrs,
        trunk_addrs: trunk_addrs.into_iter().map(|(b, n, _)| (n, b)).collect(),
        http_addr,
        shutdown: sd_tx,
        core,
        shared,
    })
}

/// The statistics service: records in `data/calls.sqlite`, metrics on the switch's
/// registry, labels bounded by the configured lines and queues.
fn start_stats(
    cfg: &Config,
    data_dir: &std::path::Path,
    metrics: &Metrics,
    clock_offset: i64,
) -> Result<stats::StatsHandle, SwitchError> {
    let mut lines: Vec<String> = cfg.numbers.iter().map(|n| n.name.clone()).collect();
    lines.dedup();
    stats::service::start(
        stats::StatsConfig {
            db: data_dir.join("calls.sqlite"),
            lines,
            queues: cfg.queues.iter().map(|q| q.name.clone()).collect(),
            offset_minutes: cfg.hours.timezone_offset_minutes,
            retention_days: cfg.recording.retention_days,
        },
        &metrics.registry,
        move || {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            (ms + clock_offset * 1000).max(0) as u64
        },
    )
    .map_err(|e| SwitchError::Stats(e.to_string()))
}

/// The data folder (callers' numbers in recordings.sqlite, operators' addresses in
/// registrations.json, the nonce key, passwords) and the recordings are the service's
/// alone: folders 0700 (which also shuts out files an older version left 0644), and
/// new files 0600 through the process umask. `UMask=0077` in the unit does the same for
/// the service; this covers a start by hand.
fn private_tree(data_dir: &std::path::Path, recordings: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask(2) only sets the calling process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
    for dir in [data_dir, recordings] {
        let _ = std::fs::create_dir_all(dir);
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(path = %dir.display(), error = %e, "could not make the folder private");
        }
    }
}

/// The key of our digest nonces, kept in the data folder so that nonces handed out
/// before a restart stay valid after it.
fn load_or_create_secret(dir: &std::path::Path) -> [u8; 32] {
    let path = dir.join("nonce.key");
    if let Ok(b) = std::fs::read(&path) {
        if let Ok(k) = <[u8; 32]>::try_from(b.as_slice()) {
            return k;
        }
    }
    let k: [u8; 32] = rand::random();
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    if let Err(e) = o
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &k))
    {
        tracing::warn!(path = %path.display(), error = %e, "could not save the nonce key");
    }
    k
}

/// A SIP listener on UDP and TCP at the same port (RFC 3261 §18: a UA listens on both),
/// the port picked by `twin_port` when configured as 0. Every UDP+TCP listener (agents',
/// trunks') binds through here: the trunks once missed the twin rule and failed starts.
async fn bind_udp_tcp(
    transport: &TransportHandle,
    addr: std::net::SocketAddr,
    (udp, tcp): (&'static str, &'static str),
) -> Result<std::net::SocketAddr, SwitchError> {
    let addr = twin_port(addr);
    let bound = transport
        .bind_udp(addr)
        .await
        .map_err(|source| SwitchError::Bind {
            addr,
            what: udp,
            source,
        })?;
    transport
        .bind_tcp(bound)
        .await
        .map_err(|source| SwitchError::Bind {
            addr: bound,
            what: tcp,
            source,
        })?;
    Ok(bound)
}

/// Port 0 (tests, ad-hoc runs) lets the kernel pick the UDP port, but TCP must then get
/// the same number (RFC 3261 §18), and another process may hold that TCP port: pick a
/// number free for both first instead of failing the start. A fixed port is kept as is.
fn twin_port(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.port() != 0 {
        return addr;
    }
    for _ in 0..64 {
        let Ok(udp) = std::net::UdpSocket::bind(addr) else {
            break;
        };
        let Ok(picked) = udp.local_addr() else { break };
        if std::net::TcpListener::bind(picked).is_ok() {
            return picked;
        }
    }
    addr
}
