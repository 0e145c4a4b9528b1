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
pub fn post(
    api: &str,
    (user, password): &(String, String),
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        // A 4xx carries the switch's sentence: print it rather than a bare status.
        .http_status_as_error(false)
        .build()
        .into();
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
