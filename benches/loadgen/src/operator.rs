//! Simulated operators' softphones: one UDP socket per agent, digest REGISTER, and a
//! task that auto-answers every INVITE (a load tool's phone takes any number of calls
//! at once), retransmits its 2xx until the ACK (§13.3.1.4) and answers BYE.

use crate::caller::MediaMap;
use crate::msg::{self, Head, T1, T2, TIMER_B};
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use sip::{Message, Method, Request, Response, SipHeaders};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::{timeout, Instant};

#[derive(Default)]
pub struct OpStats {
    pub invites: AtomicU64,
    pub byes: AtomicU64,
    /// 2xx never acknowledged within 64·T1.
    pub no_ack: AtomicU64,
}

pub struct Operator {
    pub id: String,
    password: String,
    sock: UdpSocket,
    local: SocketAddr,
    registrar: SocketAddr,
    domain: String,
    reg_call_id: String,
    reg_cseq: AtomicU64,
    refresh_every: Duration,
}

/// What operators ask for; the switch grants at most 3,600 s (its registrar's maximum).
pub const REGISTER_EXPIRES: u32 = 3600;

/// A phone refreshes its registration before it expires (RFC 3261 §10.2.4). Without
/// it, the hour-long soak saw all 400 operators logged out at exactly 3,600 s and the
/// last second's calls stranded in the queue.
struct Refresh {
    every: Duration,
    tag: String,
    next: Instant,
    cseq: Option<u32>,
    sent_at: Option<Instant>,
}

impl Refresh {
    /// `every` (half the lifetime by default, as most phones do), the first one spread
    /// by the id so that 400 operators do not refresh in the same millisecond.
    fn new(id: &str, every: Duration) -> Refresh {
        let spread = id.bytes().map(u64::from).sum::<u64>() % 1000;
        Refresh {
            every,
            tag: sip::dialog::new_tag(),
            next: Instant::now() + every + Duration::from_millis(spread),
            cseq: None,
            sent_at: None,
        }
    }

    /// Time to send, or to send again after 4 s without an answer.
    fn due(&self, now: Instant) -> bool {
        match self.sent_at {
            Some(t) => now >= t + Duration::from_secs(4),
            None => now >= self.next,
        }
    }

    fn renewed(&mut self, now: Instant) {
        self.sent_at = None;
        self.cseq = None;
        self.next = now + self.every;
    }
}

struct Dlg {
    resp: Bytes,
    to: SocketAddr,
    every: Duration,
    next: Instant,
    give_up: Instant,
}

impl Operator {
    pub async fn bind(
        id: String,
        password: String,
        registrar: SocketAddr,
        domain: &str,
        refresh_secs: u64,
    ) -> Result<Operator> {
        let sock = UdpSocket::bind("127.0.0.1:0").await?;
        let local = sock.local_addr()?;
        Ok(Operator {
            reg_call_id: format!("reg-{id}-{:08x}", rand::random::<u32>()),
            id,
            password,
            sock,
            local,
            registrar,
            domain: domain.to_string(),
            reg_cseq: AtomicU64::new(0),
            refresh_every: Duration::from_secs(refresh_secs.max(1)),
        })
    }

    /// REGISTER with digest (§10.2, §22.2). `contact` None removes every binding of the
    /// AOR (`Contact: *`, Expires 0), which clears what an earlier run left behind.
    /// Only called while `serve` is not running on this socket.
    pub async fn register(&self, contact: Option<u32>) -> Result<()> {
        let tag = sip::dialog::new_tag();
        let mut auth: Option<String> = None;
        for _round in 0..3 {
            let r = self.register_request(&tag, contact, auth.take())?;
            let resp = self
                .transact(&r)
                .await
                .with_context(|| format!("REGISTER {}", self.id))?;
            match resp.status {
                200..=299 => return Ok(()),
                401 => auth = Some(self.authorization(&resp)?),
                s => bail!("REGISTER {} answered {s} {}", self.id, resp.reason),
            }
        }
        bail!("REGISTER {}: still challenged after 3 rounds", self.id)
    }

    /// A REGISTER of our contact for `contact` seconds (None: remove every binding).
    fn register_request(
        &self,
        tag: &str,
        contact: Option<u32>,
        auth: Option<String>,
    ) -> Result<Request> {
        let uri = format!("sip:{}", self.domain);
        let aor = format!("<sip:{}@{}>", self.id, self.domain);
        let cseq = self.reg_cseq.fetch_add(1, Relaxed) as u32 + 1;
        let branch = sip::transaction::new_branch();
        let from = format!("{aor};tag={tag}");
        let mut r = msg::request(Head {
            method: Method::Register,
            uri: &uri,
            local: self.local,
            branch: &branch,
            from: &from,
            to: &aor,
            call_id: &self.reg_call_id,
            cseq,
        })?;
        match contact {
            Some(expires) => {
                r.headers
                    .push("Contact", format!("<sip:{}@{}>", self.id, self.local));
                r.headers.push("Expires", expires.to_string());
            }
            None => {
                r.headers.push("Contact", "*");
                r.headers.push("Expires", "0");
            }
        }
        if let Some(a) = auth {
            r.headers.push("Authorization", a);
        }
        Ok(r)
    }

    /// Our answer to a 401's challenge.
    fn authorization(&self, resp: &Response) -> Result<String> {
        let chal = resp
            .hdrs()
            .get("WWW-Authenticate")
            .ok_or_else(|| anyhow!("401 without challenge"))?;
        let cnonce = format!("{:016x}", rand::random::<u64>());
        sip::auth::client_authorization(
            chal,
            "REGISTER",
            &format!("sip:{}", self.domain),
            &self.id,
            &self.password,
            &cnonce,
            1,
        )
        .map_err(|e| anyhow!("digest: {e:?}"))
    }

    /// One non-INVITE transaction on this socket: retransmit per T1/T2, up to timer F.
    async fn transact(&self, r: &Request) -> Result<Response> {
        let bytes = r.to_bytes();
        let cseq = r.cseq().map(|c| c.seq);
        let start = Instant::now();
        let mut every = T1;
        let mut buf = vec![0u8; 65535];
        self.sock.send_to(&bytes, self.registrar).await?;
        while start.elapsed() < TIMER_B {
            match timeout(every, self.sock.recv_from(&mut buf)).await {
                Ok(Ok((n, _))) => {
                    if let Ok(Message::Response(resp)) = sip::parse_datagram(&buf[..n]) {
                        if resp.status >= 200 && resp.cseq().map(|c| c.seq) == cseq {
                            return Ok(resp);
                        }
                    }
                }
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => {
                    self.sock.send_to(&bytes, self.registrar).await?;
                    every = (every * 2).min(T2);
                }
            }
        }
        bail!("no final response within 32 s")
    }

    /// Answer calls until `stop`. `rtp_ports[idx % len]` is the RTP port in our answer.
    pub async fn serve(
        self: Arc<Self>,
        media: MediaMap,
        rtp_ports: Vec<u16>,
        stats: Arc<OpStats>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut dlgs: HashMap<String, Dlg> = HashMap::new();
        let mut unacked: HashSet<String> = HashSet::new();
        let mut buf = vec![0u8; 65535];
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut refresh = Refresh::new(&self.id, self.refresh_every);
        loop {
            tokio::select! {
                r = self.sock.recv_from(&mut buf) => {
                    let Ok((n, from)) = r else { continue };
                    match sip::parse_datagram(&buf[..n]) {
                        Ok(Message::Request(req)) => {
                            self.on_request(req, from, &mut dlgs, &mut unacked, &media, &rtp_ports, &stats).await;
                        }
                        Ok(Message::Response(resp)) => self.on_register_response(&resp, &mut refresh).await,
                        Err(_) => {}
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if refresh.due(now) {
                        self.send_refresh(&mut refresh, None).await;
                    }
                    let mut gone = Vec::new();
                    for cid in &unacked {
                        let Some(d) = dlgs.get_mut(cid) else { gone.push(cid.clone()); continue };
                        if now >= d.give_up {
                            stats.no_ack.fetch_add(1, Relaxed);
                            gone.push(cid.clone());
                        } else if now >= d.next {
                            let _ = self.sock.send_to(&d.resp, d.to).await;
                            d.every = (d.every * 2).min(T2);
                            d.next = now + d.every;
                        }
                    }
                    for cid in gone {
                        unacked.remove(&cid);
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// Sends the refreshing REGISTER (with `auth` after a challenge).
    async fn send_refresh(&self, refresh: &mut Refresh, auth: Option<String>) {
        let Ok(r) = self.register_request(&refresh.tag, Some(REGISTER_EXPIRES), auth) else {
            return;
        };
        refresh.cseq = r.cseq().map(|c| c.seq);
        refresh.sent_at = Some(Instant::now());
        let _ = self.sock.send_to(&r.to_bytes(), self.registrar).await;
    }

    async fn on_register_response(&self, resp: &Response, refresh: &mut Refresh) {
        if resp.cseq().map(|c| c.seq) != refresh.cseq || resp.status < 200 {
            return;
        }
        match resp.status {
            200..=299 => refresh.renewed(Instant::now()),
            401 => match self.authorization(resp) {
                Ok(a) => self.send_refresh(refresh, Some(a)).await,
                Err(e) => eprintln!("operator {}: refresh: {e}", self.id),
            },
            s => eprintln!("operator {}: refresh answered {s} {}", self.id, resp.reason),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn on_request(
        &self,
        req: Request,
        from: SocketAddr,
        dlgs: &mut HashMap<String, Dlg>,
        unacked: &mut HashSet<String>,
        media: &MediaMap,
        rtp_ports: &[u16],
        stats: &OpStats,
    ) {
        let cid = req.call_id().unwrap_or_default().to_string();
        match req.method {
            Method::Invite => {
                if let Some(d) = dlgs.get(&cid) {
                    if req.to_tag().is_none() {
                        // A retransmitted INVITE: repeat our final answer.
                        let _ = self.sock.send_to(&d.resp, from).await;
                        return;
                    }
                }
                stats.invites.fetch_add(1, Relaxed);
                let idx = req
                    .hdrs()
                    .get("X-Madoguchi-Caller")
                    .and_then(msg::call_index);
                if let (Some(idx), Some(port)) = (idx, msg::sdp_audio_port(&req.body)) {
                    media
                        .lock()
                        .expect("media lock")
                        .entry(idx)
                        .or_default()
                        .b_port = Some(port);
                }
                let port = rtp_ports[idx.unwrap_or(0) as usize % rtp_ports.len()];
                let tag = req.to_tag().unwrap_or_else(sip::dialog::new_tag);
                let mut ringing = Response::to_request(&req, 180, Some(&tag));
                copy_record_route(&req, &mut ringing);
                let _ = self.sock.send_to(&ringing.to_bytes(), from).await;
                let mut ok = Response::to_request(&req, 200, Some(&tag));
                copy_record_route(&req, &mut ok);
                ok.headers
                    .push("Contact", format!("<sip:{}@{}>", self.id, self.local));
                ok.headers.push("Content-Type", "application/sdp");
                ok.body = Bytes::from(msg::sdp_answer(port, idx.unwrap_or(0)));
                let resp = ok.to_bytes();
                let _ = self.sock.send_to(&resp, from).await;
                let now = Instant::now();
                dlgs.insert(
                    cid.clone(),
                    Dlg {
                        resp,
                        to: from,
                        every: T1,
                        next: now + T1,
                        give_up: now + TIMER_B,
                    },
                );
                unacked.insert(cid);
            }
            Method::Ack => {
                unacked.remove(&cid);
            }
            Method::Bye => {
                stats.byes.fetch_add(1, Relaxed);
                let status = if dlgs.remove(&cid).is_some() {
                    200
                } else {
                    481
                };
                unacked.remove(&cid);
                let _ = self
                    .sock
                    .send_to(&Response::to_request(&req, status, None).to_bytes(), from)
                    .await;
            }
            Method::Cancel => {
                // We answer at once, so the INVITE is already final: 481 is not needed
                // for the switch's sake, 200 keeps its CANCEL transaction short.
                let _ = self
                    .sock
                    .send_to(&Response::to_request(&req, 200, None).to_bytes(), from)
                    .await;
            }
            _ => {
                let _ = self
                    .sock
                    .send_to(&Response::to_request(&req, 200, None).to_bytes(), from)
                    .await;
            }
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

/// A UAS copies Record-Route into its dialog-creating responses, in order (RFC 3261
/// §12.1.1), so that the caller's ACK and BYE pass the proxy that asked for it.
fn copy_record_route(req: &Request, resp: &mut Response) {
    for rr in req.headers.get_all("Record-Route") {
        resp.headers.push("Record-Route", rr.to_string());
    }
}
