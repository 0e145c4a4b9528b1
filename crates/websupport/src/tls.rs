//! HTTPS: a certificate from config, or a self-signed one generated into the data
//! directory on first start; and a listener that hands axum finished TLS streams.

use crate::conn_limits::{Gate, Guarded};
use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A real certificate chain and key, PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where the generated certificate lives; tests and clients read it to trust it.
pub fn self_signed_paths(data_dir: &Path) -> TlsFiles {
    TlsFiles {
        cert: data_dir.join("tls").join("cert.pem"),
        key: data_dir.join("tls").join("key.pem"),
    }
}

/// Generates the self-signed certificate unless one is already there.
pub fn ensure_self_signed(data_dir: &Path) -> Result<TlsFiles> {
    let files = self_signed_paths(data_dir);
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(data_dir.join("tls"))?;
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls(e.to_string()))?;
    std::fs::write(&files.cert, ck.cert.pem())?;
    write_private(&files.key, ck.signing_key.serialize_pem().as_bytes())?;
    tracing::info!(cert = %files.cert.display(), "generated a self-signed certificate");
    Ok(files)
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

pub fn load_certs(path: &Path) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path)?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    let certs = load_certs(&files.cert)?;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(&files.key)?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| Error::Tls(format!("no private key in {}: {e}", files.key.display())))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| Error::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Accepts TCP, runs TLS handshakes in their own tasks (so one slow client cannot hold
/// up the others) and yields finished streams to axum.
pub struct TlsListener {
    rx: mpsc::Receiver<(Guarded<TlsStream<tokio::net::TcpStream>>, SocketAddr)>,
    local: SocketAddr,
    _acceptor_task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        cfg: Arc<rustls::ServerConfig>,
        gate: Gate,
    ) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(cfg);
        let (tx, rx) = mpsc::channel(256);
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, do not spin.
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Over the caps: closed at once, before any TLS work.
                let Some(ticket) = gate.admit(peer.ip()) else {
                    tracing::debug!(%peer, "connection refused: too many connections");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let limits = gate.limits().clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((Guarded::new(tls, ticket, &limits), peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "tls handshake: {e}"),
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            rx,
            local,
            _acceptor_task: AbortOnDrop(task),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Guarded<TlsStream<tokio::net::TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The acceptor task only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The client's address, for the access log and rate limiting.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for ClientAddr
{
    fn connect_info(s: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        ClientAddr(*s.remote_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pem_loads_and_garbage_is_refused_with_the_path() {
        let dir =
            std::env::temp_dir().join(format!("websupport-tls-{}", crate::password::random_hex(4)));
        let files = ensure_self_signed(&dir).unwrap();
        assert_eq!(load_certs(&files.cert).unwrap().len(), 1);
        assert!(server_config(&files).is_ok());
        std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
        let err = load_certs(&dir.join("junk.pem")).unwrap_err().to_string();
        assert!(err.contains("junk.pem"), "{err}");
        let bad_key = TlsFiles {
            cert: files.cert.clone(),
            key: dir.join("junk.pem"),
        };
        assert!(server_config(&bad_key)
            .unwrap_err()
            .to_string()
            .contains("junk.pem"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
