//! Limits on the FAQ site's connections after the TLS handshake (issue 9): a cap on
//! connections in all and per address, an idle timeout, and a deadline for each request's
//! head, so a client that opens connections and sends nothing, or drips a header a byte at
//! a time (slowloris), cannot hold the server's sockets and file descriptors.
//! Connections from trusted proxies are exempt from the per-address cap (every citizen
//! comes through them).

use crate::proxy::TrustedProxies;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub max_total: usize,
    pub max_per_address: usize,
    /// No byte either way for this long closes the connection.
    pub idle: Duration,
    /// A request's head (request line and headers) must arrive within this.
    pub header: Duration,
    pub exempt: TrustedProxies,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_total: 1024,
            max_per_address: 32,
            idle: Duration::from_secs(60),
            header: Duration::from_secs(15),
            exempt: TrustedProxies::default(),
        }
    }
}

/// Counts connections; [`Gate::admit`] gives a ticket that gives the place back on drop.
#[derive(Clone)]
pub struct Gate {
    limits: ConnLimits,
    total: Arc<Semaphore>,
    per_address: PerAddress,
}

/// Open connections per client address, shared by the limiter and its tickets.
type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

pub struct Ticket {
    _total: OwnedSemaphorePermit,
    addr: Option<(IpAddr, PerAddress)>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some((ip, map)) = self.addr.take() {
            let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = m.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&ip);
                }
            }
        }
    }
}

impl Gate {
    pub fn new(limits: ConnLimits) -> Gate {
        Gate {
            total: Arc::new(Semaphore::new(limits.max_total)),
            per_address: Arc::default(),
            limits,
        }
    }

    pub fn limits(&self) -> &ConnLimits {
        &self.limits
    }

    /// A place for a new connection from `ip`, or None (the caller closes it at once).
    pub fn admit(&self, ip: IpAddr) -> Option<Ticket> {
        let total = self.total.clone().try_acquire_owned().ok()?;
        if self.limits.exempt.contains(ip) {
            return Some(Ticket {
                _total: total,
                addr: None,
            });
        }
        let mut m = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= self.limits.max_per_address {
            return None;
        }
        *n += 1;
        Some(Ticket {
            _total: total,
            addr: Some((ip, self.per_address.clone())),
        })
    }
}

/// A stream with the idle timeout and the request-head deadline, holding its ticket.
pub struct Guarded<S> {
    inner: S,
    _ticket: Ticket,
    idle: Duration,
    header: Duration,
    last_activity: Instant,
    /// When the head now being read began (None: between requests, nothing read yet).
    head_started: Option<Instant>,
    /// True while a request head is expected (until its blank line is read).
    awaiting_head: bool,
    /// The last bytes read, to find "\r\n\r\n" across reads.
    tail: [u8; 3],
    timer: Pin<Box<Sleep>>,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, ticket: Ticket, limits: &ConnLimits) -> Self {
        let now = Instant::now();
        Guarded {
            inner,
            _ticket: ticket,
            idle: limits.idle,
            header: limits.header,
            last_activity: now,
            // The first request's clock starts with the connection.
            head_started: Some(now),
            awaiting_head: true,
            tail: [0; 3],
            timer: Box::pin(tokio::time::sleep_until(now + limits.idle)),
        }
    }

    fn deadline(&self) -> Instant {
        let idle = self.last_activity + self.idle;
        match (self.awaiting_head, self.head_started) {
            (true, Some(t)) => idle.min(t + self.header),
            _ => idle,
        }
    }

    /// Notes bytes read; finds the end of a request head.
    fn saw(&mut self, data: &[u8]) {
        let now = Instant::now();
        self.last_activity = now;
        if !self.awaiting_head || data.is_empty() {
            return;
        }
        if self.head_started.is_none() {
            self.head_started = Some(now);
        }
        let mut window = self.tail.to_vec();
        window.extend_from_slice(&data[..data.len().min(64 * 1024)]);
        if window.windows(4).any(|w| w == b"\r\n\r\n") {
            self.awaiting_head = false;
            self.head_started = None;
        }
        let last = &window[window.len().saturating_sub(3)..];
        let mut tail = [0u8; 3];
        tail[3 - last.len()..].copy_from_slice(last);
        self.tail = tail;
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connection idle or request head too slow",
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let data = buf.filled()[before..].to_vec();
                self.saw(&data);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let deadline = self.deadline();
                if Instant::now() >= deadline {
                    return Poll::Ready(Err(timed_out()));
                }
                self.timer.as_mut().reset(deadline);
                match self.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(timed_out())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                // A response is going out: the next bytes read start the next request.
                self.last_activity = Instant::now();
                self.awaiting_head = true;
                self.head_started = None;
                self.tail = [0; 3];
            }
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
