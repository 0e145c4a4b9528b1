//! SIP over TLS (RFC 3261 §26.2, §18 over a TLS stream; RFC 5630 for `sips:`), for
//! operators' phones working from another site: signalling, and with it the SDES keys
//! of SRTP (RFC 4568 §8.4), is encrypted on the way.
//!
//! Inbound only: a phone opens the connection (from behind its NAT) and everything to
//! it goes back over that connection (RFC 5626 §3.3's flow, RFC 3261 §18.2.2); the switch
//! never dials a phone's TLS port, which would need the phone to hold a certificate.
//! So a message for a phone whose connection is gone fails at once, and the phone comes
//! back with its next REGISTER.
//!
//! Framing, deadlines, per-connection writer with a bounded queue and caps per listener
//! and per source address are TCP's (`tcp.rs`, generic over the stream), plus a deadline
//! on the handshake (a client that opens a connection and never says hello holds a slot
//! for `first_message` at most).

use super::tcp::{self, Out};
use super::{Peer, TransportError, TransportHandle, TransportKind};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

struct Conn {
    id: u64,
    tx: mpsc::Sender<Out>,
    tasks: Vec<AbortHandle>,
}

/// Live TLS connections by the phone's address.
#[derive(Default)]
pub(super) struct Connections {
    map: Mutex<HashMap<SocketAddr, Conn>>,
    next_id: AtomicU64,
}

impl Connections {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Conn>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn kill(&self, remote: SocketAddr, id: u64) {
        let conn = {
            let mut map = self.map();
            match map.get(&remote) {
                Some(c) if c.id == id => map.remove(&remote),
                _ => None,
            }
        };
        if let Some(c) = conn {
            for t in c.tasks {
                t.abort();
            }
        }
    }

    pub(super) fn open_count(&self) -> usize {
        self.map().len()
    }
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    handle: TransportHandle,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut last_warn: Option<Instant> = None;
    let mut refused: u64 = 0;
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let Some(slot) = tcp::take_slot(&handle, &open, remote.ip()) else {
                    refused += 1;
                    if last_warn.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                        tracing::warn!(%remote, refused, "SIP TLS connection refused: too many open connections");
                        last_warn = Some(Instant::now());
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let local = stream
                    .local_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                let acceptor = acceptor.clone();
                let h = handle.clone();
                // The handshake in its own task: a slow client holds up nobody else.
                tokio::spawn(async move {
                    let limit = h.inner.tcp.limits.first_message;
                    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => run(tls, remote, local, h, slot),
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "SIP TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "SIP TLS handshake timed out"),
                    }
                });
            }
            Err(e) => {
                if last_warn.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(error = %e, "tls accept failed");
                    last_warn = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn run(
    stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    remote: SocketAddr,
    local: SocketAddr,
    handle: TransportHandle,
    slot: tcp::Slot,
) {
    let conns = &handle.inner.tls;
    let id = conns.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<Out>(handle.inner.tcp.limits.queue.max(1));
    let old = conns.map().insert(
        remote,
        Conn {
            id,
            tx,
            tasks: Vec::new(),
        },
    );
    if let Some(old) = old {
        for t in old.tasks {
            t.abort();
        }
    }
    let peer = Peer {
        transport: TransportKind::Tls,
        remote,
        local,
    };
    let (rd, wr) = tokio::io::split(stream);
    let h = handle.clone();
    let w = tokio::spawn(async move {
        tcp::writer(wr, rx, h.inner.tcp.limits.write).await;
        h.inner.tls.kill(remote, id);
    });
    let h = handle.clone();
    let r = tokio::spawn(async move {
        let _slot = slot;
        if tcp::reader(rd, peer, &h).await {
            // A framing error: the core answers 400 and asks to close; bound the wait.
            tokio::time::sleep(h.inner.tcp.limits.message).await;
        }
        h.inner.tls.kill(remote, id);
    });
    let mut map = conns.map();
    match map.get_mut(&remote) {
        Some(c) if c.id == id => c.tasks.extend([w.abort_handle(), r.abort_handle()]),
        _ => {
            w.abort();
            r.abort();
        }
    }
}

/// Queue `data` on the phone's connection without waiting; a full queue drops the
/// connection (the peer is not reading), a missing one is an error (see the module doc).
pub(super) fn send(
    handle: &TransportHandle,
    peer: &Peer,
    data: Bytes,
) -> Result<(), TransportError> {
    enqueue(handle, peer.remote, Out::Data(data))
}

pub(super) fn close(handle: &TransportHandle, peer: &Peer) {
    let _ = enqueue(handle, peer.remote, Out::Close);
}

fn enqueue(handle: &TransportHandle, remote: SocketAddr, out: Out) -> Result<(), TransportError> {
    let conns = &handle.inner.tls;
    let Some((id, tx)) = conns.map().get(&remote).map(|c| (c.id, c.tx.clone())) else {
        return Err(TransportError::NoConnection(remote));
    };
    match tx.try_send(out) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(%remote, "SIP TLS queue full (peer not reading): connection dropped");
            conns.kill(remote, id);
            Err(TransportError::NoConnection(remote))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            conns.kill(remote, id);
            Err(TransportError::NoConnection(remote))
        }
    }
}
