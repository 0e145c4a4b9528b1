//! The commands that change a running switch (`night`, `extend`, `agent`) POST JSON to
//! its API with the supervisor's login.
//!
//! The client is `ureq` (blocking, no async runtime for a one-shot command) with
//! timeouts, so a switch that hangs cannot hang the operator's shell, and with rustls so
//! an ops port behind a TLS front proxy (`https://…`) works too.

use anyhow::Context;
use base64::Engine as _;
use std::path::Path;
use std::time::Duration;

/// Connecting, sending and reading the answer together may take this long.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `user` and `password` from `MADOGUCHI_USER`/`MADOGUCHI_PASSWORD`, else the first two
/// lines of `login` (the switch writes that file at its first start).
pub fn login(login: &Path) -> anyhow::Result<(String, String)> {
    if let (Ok(u), Ok(p)) = (
        std::env::var("MADOGUCHI_USER"),
        std::env::var("MADOGUCHI_PASSWORD"),
    ) {
        return Ok((u, p));
    }
    let t = std::fs::read_to_string(login).with_context(|| {
        format!(
            "reading the supervisor login from {} (or set MADOGUCHI_USER and MADOGUCHI_PASSWORD)",
            login.display()
        )
    })?;
    let mut l = t.lines();
    Ok((
        l.next().unwrap_or("").trim().to_string(),
        l.next().unwrap_or("").trim().to_string(),
    ))
}

/// POSTs `body` to `api` + `path` and prints the answer; an error for anything but 2xx.
/// `ca`: a PEM certificate to trust for https:// (the switch's own, self-signed one),
/// instead of the system's roots.
pub fn post(
    api: &str,
    ca: Option<&Path>,
    (user, password): &(String, String),
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut b = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        // A 4xx carries the switch's sentence: print it rather than a bare status.
        .http_status_as_error(false)
        // The login goes in every request: never follow a redirect elsewhere with it.
        .max_redirects(0);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca)
            .with_context(|| format!("reading the certificate to trust, {}", ca.display()))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            anyhow::bail!("no certificate in {}", ca.display());
        }
        b = b.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    let agent: ureq::Agent = b.build().into();
    let mut resp = agent
        .post(&url)
        .header("Authorization", &format!("Basic {auth}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .with_context(|| format!("sending to the switch's API at {url}"))?;
    let status = resp.status();
    let reply = resp
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer from {url}"))?;
    println!("{reply}");
    if status.is_success() {
        Ok(())
    } else {
        anyhow::bail!("the switch answered {status}")
    }
}
