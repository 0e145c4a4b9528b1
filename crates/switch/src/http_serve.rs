//! Serving the ops port with bounds (issue 9 High 3): `axum::serve` accepts without a
//! limit and, having no timer, never times out a client that sends half a header. Here:
//! caps on open connections (total and per source address), a deadline for each
//! request's header (which hyper also applies to an idle keep-alive connection's next
//! request), and the client's address put in every request as `ConnectInfo` so the
//! login can count failures per source. With a TLS acceptor the port speaks HTTPS: the
//! handshake runs in the connection's own task under the same header deadline.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;

#[derive(Clone, Debug)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub max_per_source: usize,
    /// A request's header must arrive within this; also how long an idle keep-alive
    /// connection may wait for its next request.
    pub header: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 256,
            max_per_source: 32,
            header: Duration::from_secs(10),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_source: HashMap<IpAddr, usize>,
}

/// Gives back a connection's place in the caps when dropped.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    source: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total -= 1;
        if let Some(n) = c.per_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                c.per_source.remove(&self.source);
            }
        }
    }
}

fn take_slot(counts: &Arc<Mutex<Counts>>, limits: &HttpLimits, ip: IpAddr) -> Option<Slot> {
    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
    let mine = c.per_source.get(&ip).copied().unwrap_or(0);
    if c.total >= limits.max_connections || mine >= limits.max_per_source {
        return None;
    }
    c.total += 1;
    *c.per_source.entry(ip).or_insert(0) += 1;
    Some(Slot {
        counts: counts.clone(),
        source: ip,
    })
}

/// Serve `app` on `listener` until `shutdown` turns true; then stop accepting and let
/// each connection finish its request in progress.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: HttpLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut last_warn: Option<tokio::time::Instant> = None;
    let mut warn = |what: &str, remote: Option<SocketAddr>| {
        // Out of descriptors or a flood repeats per connection: once per ten seconds.
        if last_warn.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(?remote, "ops HTTP: {what}");
            last_warn = Some(tokio::time::Instant::now());
        }
    };
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    warn(&format!("accept failed: {e}"), None);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Some(slot) = take_slot(&counts, &limits, remote.ip()) else {
            warn(
                "connection refused: too many open connections",
                Some(remote),
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let header = limits.header;
        let stop = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, app, remote, header, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => connection(s, app, remote, header, stop).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "ops HTTPS handshake failed")
                        }
                        Err(_) => tracing::debug!(%remote, "ops HTTPS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// One connection (plain or TLS) until it ends or the switch stops.
async fn connection<I>(
    stream: I,
    app: Router,
    remote: SocketAddr,
    header: Duration,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
