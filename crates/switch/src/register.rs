//! Operators' phones: digest authentication (RFC 3261 §22) with failed-attempt limiting,
//! and the registrar (§10) whose bindings are saved to `data/registrations.json` on every
//! change so that they survive a restart.
//!
//! The save is off the SIP core task. Writing the file (a JSON dump and two fsyncs) on
//! it took milliseconds per REGISTER: when every phone refreshed at once (the soak's
//! 400 operators at its 30th minute) the core stalled for a second and every call with
//! it. The core now takes a snapshot and a blocking thread writes it; each REGISTER's
//! 200 OK goes out once a write that includes its binding is on the disk, so an
//! acknowledged binding still survives kill -9. REGISTERs that arrive during a write
//! share the next one (group commit).

use crate::Shared;
use sip::auth::{
    AuthLimiter, AuthOutcome, Credentials, DigestRequest, DigestServer, LimiterConfig,
    DEFAULT_NONCE_TTL,
};
use sip::registrar::{Registrar, RegistrarConfig, Snapshot};
use sip::transaction::ServerTxId;
use sip::{Peer, Request, Response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Registration {
    digest: DigestServer,
    limiter: AuthLimiter,
    registrar: Registrar,
    creds: HashMap<String, Credentials>,
    path: PathBuf,
    algorithms: Vec<String>,
    saving: Saving,
}

/// Where the saving of the bindings stands.
#[derive(Default)]
struct Saving {
    /// A write is running; these answers go out when it is on the disk.
    in_flight: Option<Vec<(ServerTxId, Response)>>,
    /// Changed since the running write took its snapshot.
    dirty: bool,
    /// Answers whose binding is in no write yet.
    next: Vec<(ServerTxId, Response)>,
    /// One writer of the file at a time (the last save at shutdown may meet a running one).
    file: Arc<Mutex<()>>,
}

/// A snapshot of the bindings on its way to the disk.
pub struct SaveJob {
    snapshot: Snapshot,
    path: PathBuf,
    file: Arc<Mutex<()>>,
}

impl SaveJob {
    /// Blocking: for a blocking thread.
    pub fn write(self) -> std::io::Result<()> {
        let _one = self.file.lock().unwrap_or_else(|p| p.into_inner());
        self.snapshot.write(&self.path)
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Registration {
    /// `secret` keys the digest nonces; it is kept in the data folder so nonces stay
    /// valid across a restart.
    pub fn new(shared: &Shared, secret: [u8; 32]) -> Registration {
        let realm = shared.cfg.sip.domain.clone();
        let creds = shared
            .cfg
            .agents
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    Credentials::from_password(&a.id, &realm, &a.password),
                )
            })
            .collect();
        let path = shared.data_dir.join("registrations.json");
        let rcfg = RegistrarConfig::default();
        let mut registrar = match Registrar::load(&path, &realm, rcfg.clone(), unix_now()) {
            Ok(r) => {
                tracing::info!(bindings = r.bindings_count(), "registrations restored");
                r
            }
            Err(_) => Registrar::new(&realm, rcfg),
        };
        for addr in shared.agent_addrs.iter().chain(&shared.tls_addrs) {
            registrar.add_alias(&addr.ip().to_string());
            registrar.add_alias(&addr.to_string());
        }
        let r = Registration {
            // In a cluster every node gets every REGISTER (Kamailio forks it) and shares
            // the key: a nonce another node wrote is accepted here too (cluster.rs).
            digest: DigestServer::new(&realm, secret, DEFAULT_NONCE_TTL)
                .accept_peer_nonces(shared.cfg.cluster.is_some()),
            limiter: AuthLimiter::new(LimiterConfig::default()),
            registrar,
            creds,
            path,
            algorithms: vec!["MD5".to_string()],
            saving: Saving::default(),
        };
        r.publish(shared);
        r
    }

    /// Authenticate a request. `Err` carries the response to send (401/407 challenge, or
    /// 403 for a wrong password or a blocked (user, source)).
    pub fn authenticate(
        &mut self,
        req: &Request,
        from: &Peer,
        shared: &Shared,
        proxy: bool,
    ) -> Result<String, Response> {
        let now = Instant::now();
        let ip = from.remote.ip();
        let (hdr, status, chal_hdr) = if proxy {
            ("Proxy-Authorization", 407, "Proxy-Authenticate")
        } else {
            ("Authorization", 401, "WWW-Authenticate")
        };
        let value = req.headers.get(hdr);
        // Who the request claims to be: the digest user name, or the From user before
        // any credentials are sent (so a blocked guesser gets no fresh challenge).
        let claimed = value
            .and_then(|v| sip::auth::parse_authorization(v).ok())
            .map(|r| r.username)
            .or_else(|| {
                use sip::SipHeaders;
                req.from_hdr().and_then(|f| f.uri.user())
            })
            .unwrap_or_default();
        if self.limiter.is_blocked(&claimed, ip, now) {
            shared.metrics.auth_blocked.inc();
            return Err(forbidden(req, "Too many failed attempts"));
        }
        let Some(value) = value else {
            return Err(self.challenge(req, ip, status, chal_hdr, false));
        };
        let creds = &self.creds;
        let outcome = self.digest.verify(
            &DigestRequest {
                method: req.method.as_str(),
                request_uri: &req.uri,
                authorization: value,
                source: ip,
            },
            |u| creds.get(u).cloned(),
            unix_now(),
        );
        match outcome {
            AuthOutcome::Ok { user } => {
                self.limiter.record_success(&user, ip, now);
                Ok(user)
            }
            AuthOutcome::Stale => Err(self.challenge(req, ip, status, chal_hdr, true)),
            AuthOutcome::Replayed { user } => {
                // Right digest, spent nonce count (or a nonce from before a restart): a
                // replayed capture, or a phone that must re-sign. Either way a fresh
                // challenge; the password was right, so nothing is counted against it.
                tracing::warn!(%ip, user, "digest nonce count reused or nonce unknown: re-challenged");
                Err(self.challenge(req, ip, status, chal_hdr, true))
            }
            AuthOutcome::ForeignNonce { user } => {
                // Not our nonce for this address: forged, replayed from elsewhere, or a
                // spoofed source. A fresh challenge goes to the address; nothing is
                // counted (see sip::auth::limiter).
                tracing::info!(%ip, user = %user.escape_debug(), "digest answer to a nonce not sent to this address: re-challenged");
                Err(self.challenge(req, ip, status, chal_hdr, false))
            }
            AuthOutcome::Malformed => Err(self.challenge(req, ip, status, chal_hdr, false)),
            AuthOutcome::Failed { user, reason } => {
                shared.metrics.auth_failures.inc();
                let user = user.unwrap_or_default();
                tracing::warn!(%ip, user = %user.escape_debug(), reason, "digest authentication failed");
                if self.limiter.record_failure(&user, ip, now) {
                    tracing::warn!(%ip, user = %user.escape_debug(), "user blocked at this source after repeated authentication failures");
                }
                Err(forbidden(req, "Authentication failed"))
            }
        }
    }

    /// A 401/407 whose nonce is bound to `to` (the request's source).
    fn challenge(
        &mut self,
        req: &Request,
        to: std::net::IpAddr,
        status: u16,
        chal_hdr: &str,
        stale: bool,
    ) -> Response {
        let mut r = Response::to_request(req, status, Some(&sip::dialog::new_tag()));
        // Offer only the configured algorithms: libre-based phones (baresip 1.0) give
        // up on the whole challenge when any WWW-Authenticate uses SHA-256, so the
        // default is MD5 alone and SHA-256 (RFC 8760) is opt-in.
        for v in self.digest.challenge(unix_now(), stale, to) {
            if self.algorithms.iter().any(|a| {
                v.contains(&format!("algorithm={a},")) || v.ends_with(&format!("algorithm={a}"))
            }) {
                r.headers.push(chal_hdr, v);
            }
        }
        r
    }

    /// REGISTER (§10.3): authenticate, check the user registers its own AOR, bind.
    /// `None`: the answer waits for the next save ([`Registration::start_save`]).
    pub fn handle(
        &mut self,
        tx: ServerTxId,
        req: &Request,
        from: &Peer,
        shared: &Shared,
    ) -> Option<Response> {
        let user = match self.authenticate(req, from, shared, false) {
            Ok(u) => u,
            Err(resp) => return Some(resp),
        };
        let tag = sip::dialog::new_tag();
        match self.registrar.aor_user(req) {
            Ok(aor) if aor == user => {}
            Ok(_) => return Some(forbidden(req, "You may only register your own address")),
            Err(e) => return Some(e.to_response(req, Some(&tag))),
        }
        match self
            .registrar
            .register(req, from.remote, from.transport.via_token(), unix_now())
        {
            Ok(ok) => {
                self.saving.next.push((tx, ok.to_response(req, Some(&tag))));
                self.saving.dirty = true;
                None
            }
            Err(e) => Some(e.to_response(req, Some(&tag))),
        }
    }

    /// Bindings past their expiry are removed (and saved).
    pub fn housekeeping(&mut self) {
        if self.registrar.expire(unix_now()) > 0 {
            self.saving.dirty = true;
        }
        self.limiter.prune(Instant::now());
        self.digest.prune(unix_now());
    }

    /// When the bindings changed and no write is running: publishes them and returns the
    /// write to run off the core; the waiting answers are attached to it.
    pub fn start_save(&mut self, shared: &Shared) -> Option<SaveJob> {
        if self.saving.in_flight.is_some() || !self.saving.dirty {
            return None;
        }
        self.saving.dirty = false;
        self.saving.in_flight = Some(std::mem::take(&mut self.saving.next));
        self.publish(shared);
        Some(SaveJob {
            snapshot: self.registrar.snapshot(),
            path: self.path.clone(),
            file: self.saving.file.clone(),
        })
    }

    /// The running write is done: the answers it carried, to send now.
    pub fn saved(&mut self, result: std::io::Result<()>) -> Vec<(ServerTxId, Response)> {
        if let Err(e) = result {
            // The bindings are in memory and the phones will refresh them: answer anyway.
            tracing::error!(path = %self.path.display(), error = %e, "could not save registrations");
        }
        self.saving.in_flight.take().unwrap_or_default()
    }

    /// Tell the queue which agents have a phone registered: registering logs an agent
    /// in, losing the last binding logs them out (static queue members).
    pub fn publish_presence(&self, shared: &Shared) {
        let now = unix_now();
        for a in &shared.cfg.agents {
            let registered = !self.registrar.lookup(&a.id, now).is_empty();
            let _ = shared.queue.try_send(crate::queue::QueueCmd::Presence {
                agent: a.id.clone(),
                registered,
            });
        }
    }

    /// Make the bindings visible: the gauge, the list the API and the call tasks read,
    /// and the agents' presence in the queue.
    fn publish(&self, shared: &Shared) {
        shared
            .metrics
            .registrations
            .set(self.registrar.bindings_count() as i64);
        if let Ok(mut list) = shared.registrations.write() {
            *list = self.registrar.iter().cloned().collect();
        }
        self.publish_presence(shared);
    }

    /// Saves now, on this thread (at shutdown).
    pub fn save_now(&mut self, shared: &Shared) {
        self.publish(shared);
        let _one = self.saving.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.registrar.save(&self.path) {
            tracing::error!(path = %self.path.display(), error = %e, "could not save registrations");
        }
    }
}

fn forbidden(req: &Request, reason: &str) -> Response {
    let mut r = Response::to_request(req, 403, Some(&sip::dialog::new_tag()));
    r.reason = reason.to_string();
    r
}
