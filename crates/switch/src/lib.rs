//! Call control: the only crate that joins `sip`, `media` and `dialplan` (and later
//! `acd`). `start` binds every listener from the configuration and runs the SIP core
//! task, the call tasks it spawns, and the HTTP endpoint (API and `/metrics`).

mod call;
mod core;
mod event;
mod http;
pub mod metrics;
mod register;

pub use call::e164;
pub use core::Listener;

use dialplan::Config;
use metrics::Metrics;
use sip::transport::TransportHandle;
use sip::Peer;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind { addr: SocketAddr, what: &'static str, source: std::io::Error },
    #[error("cannot create the data folder {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("media ports: {0}")]
    Media(String),
}

/// Read-mostly state every task may look at. Nothing here is per-call.
pub struct Shared {
    pub cfg: Config,
    pub metrics: Metrics,
    pub data_dir: PathBuf,
    /// Bound addresses of the operators' listener (UDP and TCP share them).
    pub agent_addrs: Vec<SocketAddr>,
    /// Bound trunk listeners: (bound address, trunk name, configured address).
    pub trunk_addrs: Vec<(SocketAddr, String, SocketAddr)>,
    pub media_ip: IpAddr,
    pub ports: media::ports::PortAllocator,
    /// Registered contacts as last saved, for the HTTP API.
    pub registrations: RwLock<Vec<sip::registrar::Binding>>,
}

impl Shared {
    /// Which listener (and so which trust level) a message came in on.
    pub fn listener_of(&self, peer: &Peer) -> Option<Listener> {
        if self.agent_addrs.contains(&peer.local) {
            return Some(Listener::Agents);
        }
        let (_, name, configured) = self.trunk_addrs.iter().find(|(bound, _, _)| *bound == peer.local)?;
        // The source must also be one of the trunk's peers (never trust a header).
        let trunk = self.cfg.trunk_for(*configured, peer.remote.ip())?;
        (trunk.name == *name).then(|| Listener::Trunk(name.clone()))
    }

    /// The agents to ring for a number (its queue's members), in configured order.
    pub fn agents_for(&self, number: &dialplan::Number) -> Vec<String> {
        self.cfg
            .queues
            .iter()
            .find(|q| q.name == number.queue)
            .map(|q| q.agents.clone())
            .unwrap_or_default()
    }

    pub fn ring_timeout(&self, number: &dialplan::Number) -> Duration {
        let secs = self
            .cfg
            .queues
            .iter()
            .find(|q| q.name == number.queue)
            .map(|q| q.ring_timeout_secs)
            .unwrap_or(15);
        Duration::from_secs(secs as u64)
    }
}

/// A running switch: its bound addresses, and the way to stop it.
pub struct RunningSwitch {
    pub sip_addrs: Vec<SocketAddr>,
    pub trunk_addrs: Vec<(String, SocketAddr)>,
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    core: tokio::task::JoinHandle<()>,
    pub shared: Arc<Shared>,
}

impl RunningSwitch {
    /// Ask every call to end with BYE, then wait for the core to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.core.await;
    }
}

/// Bind everything the configuration names and start the switch.
pub async fn start(cfg: Config) -> Result<RunningSwitch, SwitchError> {
    let data_dir = PathBuf::from(&cfg.switch.data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|source| SwitchError::DataDir { path: data_dir.clone(), source })?;
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(8192);
    let transport = TransportHandle::new(cfg.sip.max_message_bytes as usize, in_tx);

    let mut agent_addrs = Vec::new();
    for addr in &cfg.sip.listen {
        let bound = transport
            .bind_udp(*addr)
            .await
            .map_err(|source| SwitchError::Bind { addr: *addr, what: "SIP UDP", source })?;
        // TCP on the same port as UDP (RFC 3261 §18: a UA listens on both).
        transport
            .bind_tcp(bound)
            .await
            .map_err(|source| SwitchError::Bind { addr: bound, what: "SIP TCP", source })?;
        agent_addrs.push(bound);
    }
    let mut trunk_addrs = Vec::new();
    for t in &cfg.trunks {
        let bound = transport
            .bind_udp(t.listen)
            .await
            .map_err(|source| SwitchError::Bind { addr: t.listen, what: "trunk UDP", source })?;
        transport
            .bind_tcp(bound)
            .await
            .map_err(|source| SwitchError::Bind { addr: bound, what: "trunk TCP", source })?;
        trunk_addrs.push((bound, t.name.clone(), t.listen));
    }
    let media_ip = cfg.media.address;
    let ports = media::ports::PortAllocator::new(media_ip, cfg.media.rtp_ports.first, cfg.media.rtp_ports.last)
        .map_err(|e| SwitchError::Media(e.to_string()))?;
    let http_listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .map_err(|source| SwitchError::Bind { addr: cfg.http.listen, what: "HTTP", source })?;
    let http_addr = http_listener.local_addr().map_err(|source| SwitchError::Bind { addr: cfg.http.listen, what: "HTTP", source })?;

    let secret = load_or_create_secret(&data_dir);
    let shared = Arc::new(Shared {
        cfg,
        metrics: Metrics::new(),
        data_dir,
        agent_addrs: agent_addrs.clone(),
        trunk_addrs: trunk_addrs.clone(),
        media_ip,
        ports,
        registrations: RwLock::new(Vec::new()),
    });
    let registration = register::Registration::new(&shared, secret);
    let (sd_tx, sd_rx) = watch::channel(false);
    let core = core::Core::new(shared.clone(), transport, in_rx, registration, sd_rx.clone());
    let core = tokio::spawn(core.run());
    tokio::spawn(http::serve(http_listener, shared.clone(), sd_rx));
    Ok(RunningSwitch {
        sip_addrs: agent_addrs,
        trunk_addrs: trunk_addrs.into_iter().map(|(b, n, _)| (n, b)).collect(),
        http_addr,
        shutdown: sd_tx,
        core,
        shared,
    })
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
    if let Err(e) = std::fs::write(&path, k) {
        tracing::warn!(path = %path.display(), error = %e, "could not save the nonce key");
    }
    k
}
