//! The carrier side: one UDP socket (like a real trunk) from which every call's INVITE
//! leaves, a dispatcher task that routes what comes back by Call-ID, and one small task
//! per call that runs INVITE → 200 → ACK → hold → BYE → 200 with RFC 3261 UDP timers.

use crate::msg::{self, Head, T1, T2, TIMER_B};
use anyhow::Result;
use sip::{Message, Method, Response, SipHeaders};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

/// Per-call RTP addresses learnt from SDP: the switch's A-leg port (from its 200 to
/// us) and B-leg port (from its INVITE to the operator).
#[derive(Clone, Copy, Default, Debug)]
pub struct CallMedia {
    pub a_port: Option<u16>,
    pub b_port: Option<u16>,
}

pub type MediaMap = Arc<Mutex<HashMap<u64, CallMedia>>>;

pub struct Caller {
    sock: UdpSocket,
    local: SocketAddr,
    trunk: SocketAddr,
    number: String,
    run_id: String,
    /// RTP ports we offer, call `idx` uses `rtp_ports[idx % len]`.
    rtp_ports: Vec<u16>,
    /// Through a proxy: call `idx` is addressed to user `direct[idx % len]`.
    direct: Option<Vec<String>>,
    calls: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    pub media: MediaMap,
    /// Retransmissions we had to make: nonzero means a request or its response was
    /// lost (on loopback: dropped in a full socket buffer) or answered late (> T1).
    pub invite_retx: AtomicU64,
    pub bye_retx: AtomicU64,
}

pub enum Hold {
    For(Duration),
    /// Hold until the flag turns true, then wait the given stagger before the BYE
    /// (concurrent mode: hanging up hundreds of calls in the same millisecond would
    /// measure our burst, not the switch).
    Until(watch::Receiver<bool>, Duration),
}

/// A caller who gives up, on purpose (overload runs: every call must still end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    No,
    /// CANCEL after the first provisional response (§9.1).
    Cancel,
    /// Never ACK the 200: the switch must end the call itself (§13.3.1.4) with a BYE.
    NoAck,
}

/// Failure names that are a caller giving up as asked, not a fault of the target.
pub const GAVE_UP: [&str; 2] = ["gave_up_cancel", "gave_up_no_ack"];

#[derive(Debug)]
pub struct CallResult {
    /// `None` when completed; otherwise why not: "503", "timeout_invite", "remote_bye"…
    pub failure: Option<String>,
    /// INVITE first sent → 200 received.
    pub setup: Option<Duration>,
    pub answered_at: Option<Instant>,
}

impl Caller {
    pub async fn bind(
        trunk: SocketAddr,
        number: &str,
        rtp_ports: Vec<u16>,
        media: MediaMap,
        direct: Option<Vec<String>>,
    ) -> Result<Arc<Caller>> {
        let sock = UdpSocket::bind("127.0.0.1:0").await?;
        let local = sock.local_addr()?;
        Ok(Arc::new(Caller {
            sock,
            local,
            trunk,
            number: number.to_string(),
            run_id: format!("{:08x}", rand::random::<u32>()),
            rtp_ports,
            direct: direct.filter(|d| !d.is_empty()),
            calls: Mutex::new(HashMap::new()),
            media,
            invite_retx: AtomicU64::new(0),
            bye_retx: AtomicU64::new(0),
        }))
    }

    /// Route everything the switch sends us to its call; answer its requests here so a
    /// busy call task never delays a 200 for a BYE.
    pub async fn dispatch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, from) = tokio::select! {
                r = self.sock.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(_) => continue,
                },
                _ = stop.changed() => return,
            };
            let Ok(m) = sip::parse_datagram(&buf[..n]) else {
                continue;
            };
            if let Message::Request(req) = &m {
                if !matches!(req.method, Method::Ack) {
                    let resp = Response::to_request(req, 200, None);
                    let _ = self.sock.send_to(&resp.to_bytes(), from).await;
                }
            }
            let Some(cid) = m.call_id().map(str::to_string) else {
                continue;
            };
            let tx = self.calls.lock().expect("calls lock").get(&cid).cloned();
            if let Some(tx) = tx {
                let _ = tx.send(m);
            }
        }
    }

    async fn send(&self, data: &[u8]) {
        // A failed send on loopback is as good as a lost datagram: timers retry.
        let _ = self.sock.send_to(data, self.trunk).await;
    }

    pub async fn run_call(
        self: Arc<Self>,
        idx: u64,
        hold: Hold,
        up: Option<mpsc::UnboundedSender<(u64, bool)>>,
        give_up: GiveUp,
    ) -> CallResult {
        let call_id = format!("lg-{}-{idx}", self.run_id);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.calls
            .lock()
            .expect("calls lock")
            .insert(call_id.clone(), tx);
        let r = self
            .call_inner(idx, &call_id, hold, &mut rx, up.as_ref(), give_up)
            .await;
        self.calls.lock().expect("calls lock").remove(&call_id);
        if let (Some(up), Err(_)) = (&up, &r) {
            // Tell concurrent mode the setup is over, even when it failed.
            let _ = up.send((idx, false));
        }
        match r {
            Ok(res) => res,
            Err((failure, setup, answered_at)) => CallResult {
                failure: Some(failure),
                setup,
                answered_at,
            },
        }
    }

    #[allow(clippy::type_complexity)]
    async fn call_inner(
        &self,
        idx: u64,
        call_id: &str,
        hold: Hold,
        rx: &mut mpsc::UnboundedReceiver<Message>,
        up: Option<&mpsc::UnboundedSender<(u64, bool)>>,
        give_up: GiveUp,
    ) -> Result<CallResult, (String, Option<Duration>, Option<Instant>)> {
        let fail = |s: &str| (s.to_string(), None, None);
        let user = match &self.direct {
            Some(users) => &users[idx as usize % users.len()],
            None => &self.number,
        };
        let ruri = format!("sip:{user}@{}", self.trunk);
        let from = format!("<sip:lg{idx}@127.0.0.1>;tag={}", sip::dialog::new_tag());
        let to = format!("<{ruri}>");
        let branch = sip::transaction::new_branch();
        // Builds a request of this call (the owned Request outlives the borrowed parts).
        let head = |method, uri: &str, branch: &str, to: &str, cseq| {
            msg::request(Head {
                method,
                uri,
                local: self.local,
                branch,
                from: &from,
                to,
                call_id,
                cseq,
            })
        };
        let rtp = self.rtp_ports[idx as usize % self.rtp_ports.len()];
        let mut invite =
            head(Method::Invite, &ruri, &branch, &to, 1).map_err(|e| fail(&e.to_string()))?;
        invite
            .headers
            .push("Contact", format!("<sip:lg{idx}@{}>", self.local));
        let invite = msg::with_sdp(invite, msg::sdp_offer(rtp, idx));
        let bytes = invite.to_bytes();

        // INVITE client transaction (§17.1.1.2): retransmit at T1, 2·T1, … until a
        // provisional response; give up at timer B.
        let t0 = Instant::now();
        self.send(&bytes).await;
        let mut retx_every = T1;
        let mut next_retx = Some(t0 + T1);
        let mut cancelled = false;
        let ok: Response = loop {
            let wake = next_retx.unwrap_or(t0 + TIMER_B).min(t0 + TIMER_B);
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Message::Response(r)) if r.cseq().is_some_and(|c| c.method == Method::Invite) => {
                        if r.status < 200 {
                            next_retx = None;
                            if give_up == GiveUp::Cancel && !cancelled {
                                // CANCEL matches the INVITE: same branch, Call-ID, From,
                                // To (no tag) and CSeq number (§9.1). Sent once: on
                                // loopback a lost CANCEL only lets the call complete.
                                cancelled = true;
                                if let Ok(c) = head(Method::Cancel, &ruri, &branch, &to, 1) {
                                    self.send(&c.to_bytes()).await;
                                }
                            }
                        } else if r.status < 300 {
                            break r;
                        } else {
                            // The ACK for a non-2xx is hop-by-hop, same branch (§17.1.1.3).
                            let to_t = r.hdrs().get("To").unwrap_or(&to).to_string();
                            if let Ok(ack) = head(Method::Ack, &ruri, &branch, &to_t, 1) {
                                self.send(&ack.to_bytes()).await;
                            }
                            if cancelled && r.status == 487 {
                                return Err(fail(GAVE_UP[0]));
                            }
                            // An overloaded server says when to come back (§21.5.4).
                            if r.status == 503 && r.hdrs().get("Retry-After").is_none() {
                                return Err(fail("503_without_retry_after"));
                            }
                            return Err(fail(&r.status.to_string()));
                        }
                    }
                    Some(_) => {}
                    None => return Err(fail("dispatcher_gone")),
                },
                _ = sleep_until(wake) => {
                    if Instant::now() >= t0 + TIMER_B {
                        return Err(fail("timeout_invite"));
                    }
                    self.send(&bytes).await;
                    self.invite_retx.fetch_add(1, Relaxed);
                    retx_every *= 2;
                    next_retx = Some(Instant::now() + retx_every);
                }
            }
        };
        let answered_at = Instant::now();
        let setup = answered_at - t0;
        let failed = |s: &str| (s.to_string(), Some(setup), Some(answered_at));
        let a_port = msg::sdp_audio_port(&ok.body);
        self.media
            .lock()
            .expect("media lock")
            .entry(idx)
            .or_default()
            .a_port = a_port;

        if give_up == GiveUp::NoAck {
            // Wait for the switch to give up on our ACK and end the call with a BYE
            // (the dispatcher answers it); its 200 retransmissions are ignored.
            let until = Instant::now() + TIMER_B + Duration::from_secs(10);
            loop {
                tokio::select! {
                    m = rx.recv() => match m {
                        Some(Message::Request(q)) if q.method == Method::Bye => return Err(failed(GAVE_UP[1])),
                        Some(_) => {}
                        None => return Err(failed("dispatcher_gone")),
                    },
                    _ = sleep_until(until) => return Err(failed("no_ack_call_never_ended")),
                }
            }
        }

        // ACK for the 2xx: its own transaction, sent to the remote target (§13.2.2.4).
        let to_tagged = ok.hdrs().get("To").unwrap_or(&to).to_string();
        let target = ok
            .contacts()
            .first()
            .map(|c| c.uri.to_string())
            .unwrap_or_else(|| ruri.clone());
        // The route set is the 2xx's Record-Route in reverse (§12.1.2); empty from the
        // switch, the proxy's own entry through Kamailio. Requests still leave towards
        // the trunk address, which is that proxy (a loose router, `;lr`).
        let mut routes: Vec<String> = ok
            .headers
            .get_all("Record-Route")
            .flat_map(|v| v.split(','))
            .map(|r| r.trim().to_string())
            .collect();
        routes.reverse();
        let with_routes = |mut r: sip::Request| {
            for route in &routes {
                r.headers.push("Route", route.clone());
            }
            r
        };
        let ack = with_routes(
            head(
                Method::Ack,
                &target,
                &sip::transaction::new_branch(),
                &to_tagged,
                1,
            )
            .map_err(|e| failed(&e.to_string()))?,
        )
        .to_bytes();
        self.send(&ack).await;
        if let Some(up) = up {
            let _ = up.send((idx, true));
        }

        // Hold. A retransmitted 200 means our ACK was lost: send it again.
        let hold_end = match &hold {
            Hold::For(d) => Some(Instant::now() + *d),
            Hold::Until(..) => None,
        };
        let (mut release, stagger) = match hold {
            Hold::Until(w, d) => (Some(w), d),
            Hold::For(_) => (None, Duration::ZERO),
        };
        loop {
            if release.as_ref().is_some_and(|w| *w.borrow()) {
                break;
            }
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Message::Response(r)) if r.is_success() && r.cseq().is_some_and(|c| c.method == Method::Invite) => {
                        self.send(&ack).await;
                    }
                    Some(Message::Request(q)) if q.method == Method::Bye => return Err(failed("remote_bye")),
                    Some(_) => {}
                    None => return Err(failed("dispatcher_gone")),
                },
                _ = sleep_until(hold_end.unwrap_or(answered_at + Duration::from_secs(86_400))), if hold_end.is_some() => break,
                r = async { release.as_mut().expect("guarded").changed().await }, if release.is_some() => {
                    if r.is_err() {
                        break; // the run is over
                    }
                }
            }
        }
        tokio::time::sleep(stagger).await;

        // BYE: a non-INVITE client transaction (§17.1.2.2), T1 doubling up to T2.
        let bye = with_routes(
            head(
                Method::Bye,
                &target,
                &sip::transaction::new_branch(),
                &to_tagged,
                2,
            )
            .map_err(|e| failed(&e.to_string()))?,
        )
        .to_bytes();
        let b0 = Instant::now();
        self.send(&bye).await;
        let mut every = T1;
        let mut next = b0 + every;
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Message::Response(r)) if r.cseq().is_some_and(|c| c.method == Method::Bye) => {
                        if r.status < 200 {
                            continue;
                        }
                        if r.is_success() {
                            return Ok(CallResult { failure: None, setup: Some(setup), answered_at: Some(answered_at) });
                        }
                        return Err(failed(&format!("bye_{}", r.status)));
                    }
                    Some(Message::Response(r)) if r.is_success() => self.send(&ack).await,
                    Some(_) => {}
                    None => return Err(failed("dispatcher_gone")),
                },
                _ = sleep_until(next) => {
                    if Instant::now() >= b0 + TIMER_B {
                        return Err(failed("timeout_bye"));
                    }
                    self.send(&bye).await;
                    self.bye_retx.fetch_add(1, Relaxed);
                    every = (every * 2).min(T2);
                    next = Instant::now() + every;
                }
            }
        }
    }
}
