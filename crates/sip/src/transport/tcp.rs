//! TCP connections (RFC 3261 §18.3): messages framed by Content-Length, connections
//! reused in both directions, closed on a framing error (RFC 4475 §3.1.2.3, §3.3.9).
//!
//! Each connection has its own writer task behind a bounded queue, and every write and
//! connect has a deadline: a peer that stops reading fills only its own queue and is then
//! dropped, and nobody else's messages wait for it (`send` never blocks). Inbound
//! connections are capped per listener and per source address, and reading has
//! deadlines: the first message, each message once started (slowloris), and idleness
//! between messages (see `TcpLimits`).

use super::{deliver, Peer, TransportError, TransportHandle, TransportKind};
use crate::message::{frame_stream, parse, Framing};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// Bounds on SIP over TCP. The defaults suit a call center: phones keep one connection
/// each (many behind one office NAT), carriers a few.
#[derive(Clone, Debug)]
pub struct TcpLimits {
    /// Open inbound connections per listener; more are accepted and closed at once.
    pub max_per_listener: usize,
    /// Open inbound connections per source IP address (IPv6: per /64).
    pub max_per_source: usize,
    /// A new connection must deliver its first message within this time.
    pub first_message: Duration,
    /// A message, once its first byte arrived, must be complete within this time.
    pub message: Duration,
    /// A connection without traffic is closed after this time. Longer than the longest
    /// registration (3600 s) so a phone registered over TCP stays reachable.
    pub idle: Duration,
    pub connect: Duration,
    /// One write to a peer; a peer that does not read for this long is dropped.
    pub write: Duration,
    /// Messages queued per connection before the peer counts as not reading.
    pub queue: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_per_listener: 1024,
            max_per_source: 64,
            first_message: Duration::from_secs(10),
            message: Duration::from_secs(10),
            idle: Duration::from_secs(3900),
            connect: Duration::from_secs(5),
            write: Duration::from_secs(5),
            queue: 256,
        }
    }
}

pub(super) enum Out {
    Data(Bytes),
    /// Close once everything queued before it is written (after a framing error's 400).
    Close,
}

struct Conn {
    id: u64,
    tx: mpsc::Sender<Out>,
    tasks: Vec<AbortHandle>,
}

/// Live connections by remote address, each with a writer task's queue.
#[derive(Default)]
pub(super) struct Connections {
    map: Mutex<HashMap<SocketAddr, Conn>>,
    sources: Mutex<HashMap<IpAddr, usize>>,
    next_id: AtomicU64,
    pub(super) limits: TcpLimits,
}

impl Connections {
    pub(super) fn new(limits: TcpLimits) -> Connections {
        Connections {
            limits,
            ..Default::default()
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Conn>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Close connection `id` to `remote` (if it is still the current one): both tasks
    /// end and the socket is dropped.
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

/// One inbound connection's share of the caps; given back when dropped. TLS connections
/// take theirs here too (one per-source count for both stream transports).
pub(super) struct Slot {
    handle: TransportHandle,
    listener: Arc<AtomicUsize>,
    source: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.listener.fetch_sub(1, Ordering::Relaxed);
        let mut s = self
            .handle
            .inner
            .tcp
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = s.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                s.remove(&self.source);
            }
        }
    }
}

/// IPv6 sources share a cap per /64 (one host owns a whole /64, RFC 4291 §2.5.1).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
    }
}

pub(super) fn take_slot(
    handle: &TransportHandle,
    listener: &Arc<AtomicUsize>,
    remote: IpAddr,
) -> Option<Slot> {
    let limits = &handle.inner.tcp.limits;
    if listener.fetch_add(1, Ordering::Relaxed) >= limits.max_per_listener {
        listener.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    let source = source_key(remote);
    {
        let mut s = handle
            .inner
            .tcp
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = s.entry(source).or_insert(0);
        if *n >= limits.max_per_source {
            drop(s);
            listener.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        *n += 1;
    }
    Some(Slot {
        handle: handle.clone(),
        listener: listener.clone(),
        source,
    })
}

pub(super) async fn accept_loop(listener: TcpListener, handle: TransportHandle) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut last_warn: Option<Instant> = None;
    let mut refused: u64 = 0;
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let Some(slot) = take_slot(&handle, &open, remote.ip()) else {
                    // Over a cap: close at once (the peer sees a reset, not a hang).
                    refused += 1;
                    if last_warn.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                        tracing::warn!(%remote, refused, "SIP TCP connection refused: too many open connections");
                        last_warn = Some(Instant::now());
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                start_connection(stream, remote, handle.clone(), Some(slot));
            }
            Err(e) => {
                // Out of descriptors (EMFILE) repeats for every pending connection: say
                // it once every ten seconds, not thousands of times.
                if last_warn.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(error = %e, "tcp accept failed");
                    last_warn = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Register a connection in the map before it exists, so that messages sent while it
/// is being set up queue behind each other in order.
fn register(
    handle: &TransportHandle,
    remote: SocketAddr,
) -> (u64, mpsc::Sender<Out>, mpsc::Receiver<Out>) {
    let tcp = &handle.inner.tcp;
    let id = tcp.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<Out>(tcp.limits.queue.max(1));
    let old = tcp.map().insert(
        remote,
        Conn {
            id,
            tx: tx.clone(),
            tasks: Vec::new(),
        },
    );
    // A second connection from the same address and port replaces the first.
    if let Some(old) = old {
        for t in old.tasks {
            t.abort();
        }
    }
    (id, tx, rx)
}

fn add_task(handle: &TransportHandle, remote: SocketAddr, id: u64, task: AbortHandle) {
    match handle.inner.tcp.map().get_mut(&remote) {
        Some(c) if c.id == id => c.tasks.push(task),
        // Already gone: don't leave the task running.
        _ => task.abort(),
    }
}

fn start_connection(
    stream: TcpStream,
    remote: SocketAddr,
    handle: TransportHandle,
    slot: Option<Slot>,
) {
    let (id, _tx, rx) = register(&handle, remote);
    run_streams(stream, remote, id, rx, handle, slot);
}

fn run_streams(
    stream: TcpStream,
    remote: SocketAddr,
    id: u64,
    rx: mpsc::Receiver<Out>,
    handle: TransportHandle,
    slot: Option<Slot>,
) {
    let local = stream
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let (rd, wr) = stream.into_split();
    let peer = Peer {
        transport: TransportKind::Tcp,
        remote,
        local,
    };
    let h = handle.clone();
    let w = tokio::spawn(async move {
        writer(wr, rx, h.inner.tcp.limits.write).await;
        h.inner.tcp.kill(remote, id);
    });
    add_task(&handle, remote, id, w.abort_handle());
    let h = handle.clone();
    let r = tokio::spawn(async move {
        let _slot = slot;
        let framing_error = reader(rd, peer, &h).await;
        if framing_error {
            // The core answers (or not) and then asks us to close, after its 400 is
            // written (`TransportHandle::close`). Should nothing come, this bounds how
            // long the connection lingers.
            tokio::time::sleep(h.inner.tcp.limits.message).await;
        }
        h.inner.tcp.kill(remote, id);
    });
    add_task(&handle, remote, id, r.abort_handle());
}

/// Generic over the stream so that TLS (`tls.rs`) runs the same writer.
pub(super) async fn writer<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<Out>,
    limit: Duration,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Out::Data(b) => match tokio::time::timeout(limit, wr.write_all(&b)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    tracing::warn!("SIP TCP peer does not read: connection dropped");
                    return;
                }
            },
            Out::Close => {
                let _ = tokio::time::timeout(limit, wr.shutdown()).await;
                return;
            }
        }
    }
}

/// Read and deliver messages until EOF, an error, a deadline or a framing error (then
/// true: the connection must close after the answer).
/// Generic over the stream so that TLS (`tls.rs`) runs the same framing and deadlines.
pub(super) async fn reader<R: AsyncRead + Unpin>(
    mut rd: R,
    peer: Peer,
    handle: &TransportHandle,
) -> bool {
    let limits = handle.inner.tcp.limits.clone();
    let max = handle.inner.max_message;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 8192];
    let mut seen_message = false;
    // When the first byte of the message now in `buf` arrived.
    let mut started: Option<Instant> = None;
    let mut last_traffic = Instant::now();
    loop {
        let deadline = match started {
            Some(t) => t + limits.message,
            None if !seen_message => last_traffic + limits.first_message,
            None => last_traffic + limits.idle,
        };
        let n = match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return false,
            Ok(Ok(n)) => n,
            Err(_) => {
                tracing::debug!(remote = %peer.remote, partial = started.is_some(), "SIP TCP read deadline passed: closing");
                return false;
            }
        };
        last_traffic = Instant::now();
        buf.extend_from_slice(&chunk[..n]);
        // RFC 5626 §4.4.1: a CRLFCRLF ping between messages is answered with a CRLF pong;
        // bare CRLFs are keep-alives, not the start of a message.
        let crlfs = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if crlfs > 0 {
            if buf[..crlfs].windows(4).any(|w| w == b"\r\n\r\n") {
                let _ = handle.send_now(&peer, Bytes::from_static(b"\r\n"));
            }
            buf.drain(..crlfs);
        }
        if buf.is_empty() {
            started = None;
            continue;
        }
        started.get_or_insert(last_traffic);
        loop {
            match frame_stream(&buf, max) {
                Ok(Some(len)) => {
                    let parsed = parse(&buf[..len], Framing::Stream);
                    buf.drain(..len);
                    seen_message = true;
                    started =
                        (!buf.iter().all(|b| matches!(b, b'\r' | b'\n'))).then_some(last_traffic);
                    deliver(&handle.inner.incoming, parsed, peer).await;
                }
                Ok(None) => break,
                Err(err) => {
                    // The stream can't be re-synchronised: answer if possible, then close.
                    let parsed = match parse(&buf, Framing::Datagram) {
                        Err(mut e) => {
                            e.framing = true;
                            Err(e)
                        }
                        Ok(_) => Err(err),
                    };
                    deliver(&handle.inner.incoming, parsed, peer).await;
                    return true;
                }
            }
        }
    }
}

/// Queue `data` for `peer` without waiting: on its connection, or on a new one that is
/// connected in the background (RFC 3261 §18.1.1, §18.2.2). A full queue means the peer
/// is not reading: it is dropped, and only it.
pub(super) fn send(
    handle: &TransportHandle,
    peer: &Peer,
    data: Bytes,
) -> Result<(), TransportError> {
    enqueue(handle, peer.remote, Out::Data(data), true)
}

/// Close the connection to `peer` after what is already queued for it.
pub(super) fn close(handle: &TransportHandle, peer: &Peer) {
    let _ = enqueue(handle, peer.remote, Out::Close, false);
}

fn enqueue(
    handle: &TransportHandle,
    remote: SocketAddr,
    out: Out,
    open: bool,
) -> Result<(), TransportError> {
    let tcp = &handle.inner.tcp;
    let existing = tcp.map().get(&remote).map(|c| (c.id, c.tx.clone()));
    let (id, tx) = match existing {
        Some(x) => x,
        None if !open => return Ok(()),
        None => {
            let (id, tx, rx) = register(handle, remote);
            let h = handle.clone();
            let limit = tcp.limits.connect;
            let t = tokio::spawn(async move {
                match tokio::time::timeout(limit, TcpStream::connect(remote)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        run_streams(stream, remote, id, rx, h.clone(), None);
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "SIP TCP connect failed");
                        h.inner.tcp.kill(remote, id);
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "SIP TCP connect timed out");
                        h.inner.tcp.kill(remote, id);
                    }
                }
            });
            add_task(handle, remote, id, t.abort_handle());
            (id, tx)
        }
    };
    match tx.try_send(out) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(%remote, "SIP TCP queue full (peer not reading): connection dropped");
            tcp.kill(remote, id);
            Err(broken("peer not reading; connection dropped"))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            tcp.kill(remote, id);
            Err(broken("connection closed"))
        }
    }
}

fn broken(why: &'static str) -> TransportError {
    TransportError::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, why))
}
