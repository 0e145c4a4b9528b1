//! The switch's TLS certificate, for SIP over TLS (RFC 3261 §26.2) and HTTPS on the ops
//! port: the configured PEM files, or a self-signed certificate generated into
//! `data_dir/tls/` at first start (the key created 0600) and reused afterwards — the same
//! handling as the web sidecars (`websupport::tls`), with the switch's own names in it
//! (the SIP domain and the TLS listeners' addresses), so a phone that checks the name
//! against the address it dials finds it once it trusts the certificate.

use crate::SwitchError;
use std::path::Path;
use std::sync::Arc;
use websupport::tls::TlsFiles;

/// The certificate and key files to use (generated when not configured).
pub fn files(cfg: &dialplan::Config, data_dir: &Path) -> Result<TlsFiles, SwitchError> {
    if let (Some(cert), Some(key)) = (&cfg.sip.tls_cert, &cfg.sip.tls_key) {
        return Ok(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    let dir = data_dir.join("tls");
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let err = |e: String| SwitchError::Tls(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        cfg.sip.domain.clone(),
    ];
    for a in &cfg.sip.tls_listen {
        if !a.ip().is_unspecified() {
            names.push(a.ip().to_string());
        }
    }
    names.sort();
    names.dedup();
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| err(e.to_string()))?;
    crate::secrets::write_private(&files.key, ck.signing_key.serialize_pem().as_bytes())
        .map_err(|e| err(e.to_string()))?;
    crate::secrets::write_private(&files.cert, ck.cert.pem().as_bytes())
        .map_err(|e| err(e.to_string()))?;
    tracing::info!(cert = %files.cert.display(), "generated a self-signed TLS certificate");
    Ok(files)
}

/// A rustls server configuration for `files`, offering `alpn` (none for SIP, whose
/// TLS carries no ALPN; `http/1.1` for the ops port).
pub fn server_config(
    files: &TlsFiles,
    alpn: &[&[u8]],
) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, SwitchError> {
    let base = websupport::tls::server_config(files)
        .map_err(|e| SwitchError::Tls(format!("{}: {e}", files.cert.display())))?;
    let mut c = (*base).clone();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(c))
}
