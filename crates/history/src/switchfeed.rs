//! The switch's event feed, read by the history service: one HTTP/1.1 connection to
//! `GET /api/v1/events` on the switch's ops port, logged in as a supervisor; each
//! `ringing` event is re-published to the desks (`/desk/events`). Plain HTTP for
//! `host:port` or `http://…`; HTTPS for `https://…` (`[http] tls = true`), verifying the
//! switch's certificate (`cert`, its self-signed one) for the host named in the URL —
//! the supervisor's password never crosses the network in clear.
//! Reconnects with a growing delay when the switch is down or restarting.

use crate::app::App;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// What the switch says when an operator's phone rings (its `feed::Ringing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ringing {
    pub agent: String,
    pub call: String,
    pub dialled: String,
    pub line: String,
    pub caller: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone)]
pub struct SwitchFeed {
    /// The switch's ops port: `host:port` or `http://host:port` (plain), or
    /// `https://host:port`.
    pub api: String,
    /// For https: the certificate (PEM) to trust, e.g. the switch's `data/tls/cert.pem`;
    /// none: the web's public roots.
    pub cert: Option<PathBuf>,
    /// The supervisor login file (user, then password), as the switch writes it; the
    /// environment's MADOGUCHI_USER / MADOGUCHI_PASSWORD win.
    pub login: PathBuf,
}

pub(crate) fn credentials(login: &PathBuf) -> Option<(String, String)> {
    if let (Ok(u), Ok(p)) = (
        std::env::var("MADOGUCHI_USER"),
        std::env::var("MADOGUCHI_PASSWORD"),
    ) {
        return Some((u, p));
    }
    let t = std::fs::read_to_string(login).ok()?;
    let mut l = t.lines();
    Some((l.next()?.trim().to_string(), l.next()?.trim().to_string()))
}

pub(crate) fn b64(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// (TLS?, host:port) of the feed's address.
fn target(api: &str) -> (bool, &str) {
    let trimmed = api.trim_end_matches('/');
    match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme.eq_ignore_ascii_case("https"), rest),
        None => (false, trimmed),
    }
}

/// The client TLS configuration: `cert` as the only root, or the web's public roots.
fn tls_config(cert: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match cert {
        Some(c) => {
            for der in websupport::tls::load_certs(c).map_err(|e| e.to_string())? {
                roots.add(der).map_err(|e| e.to_string())?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(cfg))
}

async fn connect(feed: &SwitchFeed) -> Result<(Box<dyn Stream>, String), String> {
    let (tls, hostport) = target(&feed.api);
    let tcp = tokio::net::TcpStream::connect(hostport)
        .await
        .map_err(|e| e.to_string())?;
    if !tls {
        return Ok((Box::new(tcp), hostport.to_string()));
    }
    let host = match hostport.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => hostport,
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host}: {e}"))?;
    let s = tokio_rustls::TlsConnector::from(tls_config(feed.cert.as_ref())?)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with the switch: {e}"))?;
    Ok((Box::new(s), hostport.to_string()))
}

/// One connection: reads events until the stream ends or fails.
async fn once(app: &Arc<App>, feed: &SwitchFeed) -> Result<(), String> {
    let (user, pw) = credentials(&feed.login)
        .ok_or_else(|| format!("no supervisor login in {}", feed.login.display()))?;
    let (mut s, host) = connect(feed).await?;
    let req = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nAccept: text/event-stream\r\n\r\n",
        host,
        b64(format!("{user}:{pw}").as_bytes())
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).await.map_err(|e| e.to_string())?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("the switch answered {}", line.trim()));
    }
    let mut chunked = false;
    loop {
        line.clear();
        if r.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err("closed".into());
        }
        if line.trim().is_empty() {
            break;
        }
        if line.to_ascii_lowercase().starts_with("transfer-encoding:")
            && line.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    tracing::info!(api = %feed.api, "reading the switch's event feed");
    // De-chunk (RFC 9112 §7.1) into text, then split SSE events at blank lines.
    let mut text = String::new();
    loop {
        let piece = if chunked {
            line.clear();
            if r.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
                return Ok(());
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| "bad chunk size".to_string())?;
            if size == 0 {
                return Ok(());
            }
            if size > 1 << 20 {
                return Err("chunk too large".into());
            }
            let mut buf = vec![0u8; size + 2];
            r.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            buf.truncate(size);
            buf
        } else {
            let mut buf = vec![0u8; 4096];
            let n = r.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok(());
            }
            buf.truncate(n);
            buf
        };
        text.push_str(&String::from_utf8_lossy(&piece));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut event = "";
            let mut data = String::new();
            for l in block.lines() {
                if let Some(v) = l.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = l.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if event == "ringing" {
                match serde_json::from_str::<Ringing>(&data) {
                    Ok(ev) => {
                        tracing::info!(agent = %ev.agent, call = %ev.call, "screen pop");
                        let _ = app.ringing.send(Arc::new(ev));
                    }
                    Err(e) => tracing::warn!("unreadable ringing event: {e}"),
                }
            }
        }
        if text.len() > 1 << 20 {
            return Err("event too large".into());
        }
    }
}

/// Runs until aborted.
pub async fn run(app: Arc<App>, feed: SwitchFeed) {
    let mut delay = 1u64;
    loop {
        match once(&app, &feed).await {
            Ok(()) => delay = 1,
            Err(e) => {
                tracing::debug!("switch event feed: {e}");
                delay = (delay * 2).min(30);
            }
        }
        tokio::time::sleep(Duration::from_secs(delay)).await;
    }
}
