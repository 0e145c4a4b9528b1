//! Sending the outbox through the SMTP relay (Postfix on 127.0.0.1:25 by default) with
//! lettre over rustls. One task: it sends what is due, records success or the error and
//! the next attempt, then sleeps until the next message is due or it is woken by a new
//! one. The relay down means a longer queue on the desk's mail page, never a lost mail.

use crate::app::{blocking, App};
use crate::store::outbox::OutMail;
use faq::clock::unix_now;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender, e.g. `いわき市総合コールセンター <callcenter@city.iwaki.example>`.
    pub from: String,
    /// STARTTLS when the relay offers it (required for a relay off this machine).
    pub starttls: bool,
    /// Delay after the first failure; it doubles each time, up to an hour.
    pub retry_base_secs: i64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            from: "いわき市総合コールセンター <callcenter@localhost>".into(),
            starttls: false,
            retry_base_secs: 30,
        }
    }
}

fn transport(cfg: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
        .port(cfg.port)
        .timeout(Some(Duration::from_secs(20)));
    if cfg.starttls {
        let tls = TlsParameters::new(cfg.host.clone()).map_err(|e| e.to_string())?;
        b = b.tls(Tls::Opportunistic(tls));
    }
    Ok(b.build())
}

fn message(cfg: &SmtpConfig, m: &OutMail) -> Result<Message, String> {
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| format!("差出人 {}: {e}", cfg.from))?;
    let to: Mailbox = m
        .to_addr
        .parse()
        .map_err(|e| format!("宛先 {}: {e}", m.to_addr))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())
        .map_err(|e| e.to_string())
}

/// Sends what is due once; returns how many were sent.
pub async fn send_due(app: &Arc<App>, cfg: &SmtpConfig) -> usize {
    let now = unix_now();
    let due = match blocking(app, move |a| a.db.due_mail(now, 50)).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("outbox: {e}");
            return 0;
        }
    };
    if due.is_empty() {
        return 0;
    }
    let t = match transport(cfg) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("smtp settings: {e}");
            return 0;
        }
    };
    let mut sent = 0;
    for m in due {
        let result = match message(cfg, &m) {
            Ok(msg) => t.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let (id, base) = (m.id, cfg.retry_base_secs);
        let now = unix_now();
        let r = match result {
            Ok(()) => {
                sent += 1;
                tracing::info!(id, kind = %m.kind, "mail handed to the relay");
                blocking(app, move |a| a.db.mail_sent(id, now)).await
            }
            Err(e) => {
                tracing::warn!(id, attempts = m.attempts + 1, "mail not sent: {e}");
                blocking(app, move |a| a.db.mail_failed(id, now, base, &e)).await
            }
        };
        if let Err(e) = r {
            tracing::error!("outbox update: {e}");
        }
    }
    sent
}

/// The sender task: runs until aborted.
pub async fn run(app: Arc<App>, cfg: SmtpConfig) {
    loop {
        send_due(&app, &cfg).await;
        let next = blocking(&app, |a| a.db.next_mail_at()).await.ok().flatten();
        let wait = match next {
            Some(t) => (t - unix_now()).clamp(0, 60) as u64,
            None => 60,
        };
        // Woken early by a new message (App::mail_wake).
        let _ =
            tokio::time::timeout(Duration::from_secs(wait.max(1)), app.mail_wake.notified()).await;
    }
}
