//! Mail to the center, read from its Maildir (spec 第2-8 ⑵ イ: e-mail is a channel of
//! its own): the MTA (Postfix) delivers each message as a file into `new/`; every few
//! seconds this task parses what is there (MIME, encoded words, ISO-2022-JP bodies),
//! stores it as an inquiry of the mail channel, and only then moves the file to `cur/`
//! with the Seen flag (the Maildir convention, so a mail client sees it read). A crash
//! between the two leaves the file in `new/`; its Message-ID keeps it stored once.
//!
//! Not stored: automatic mail (RFC 3834 `Auto-Submitted` other than `no`, bounces from
//! MAILER-DAEMON) and mail from the center's own address — the center never answers
//! those, so no two robots mail each other forever. Nothing is answered automatically.

use crate::app::{blocking, App};
use crate::store::inquiries::InquiryInput;
use mail_parser::{MessageParser, MimeHeaders};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Larger messages are moved aside unread (attachments belong in a file share, and a
/// mailbox flood must not fill the database).
pub const MAX_MESSAGE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct MaildirIntake {
    /// The Maildir (with `new/` and `cur/`).
    pub dir: PathBuf,
    pub every: Duration,
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Stored(i64),
    Duplicate,
    /// Automatic or our own: moved to `cur/` unstored.
    Skipped(&'static str),
}

/// A parsed message as the desk stores it; None when it is not for people to answer.
pub fn parse(raw: &[u8], own_address: &str) -> Result<(InquiryInput, String), &'static str> {
    let m = MessageParser::default()
        .parse(raw)
        .ok_or("not a mail message")?;
    if let Some(auto) = m.header_raw("Auto-Submitted") {
        if !auto.trim().eq_ignore_ascii_case("no") {
            return Err("automatic mail (Auto-Submitted)");
        }
    }
    let from = m.from().and_then(|a| a.first()).ok_or("no sender")?;
    let email = from.address().unwrap_or("").trim().to_string();
    if email.is_empty() || !email.contains('@') {
        return Err("no sender address");
    }
    let local = email.split('@').next().unwrap_or("").to_ascii_lowercase();
    if local == "mailer-daemon" || local == "postmaster" {
        return Err("a bounce");
    }
    if email.eq_ignore_ascii_case(own_address) {
        return Err("from the center itself");
    }
    let name = from.name().unwrap_or("").trim().to_string();
    let subject = m.subject().unwrap_or("").trim().to_string();
    // The plain text, or the HTML part turned into text when that is all there is.
    let body = m
        .body_text(0)
        .map(|t| t.replace("\r\n", "\n").trim().to_string())
        .unwrap_or_default();
    let attachments: Vec<String> = m
        .attachments()
        .filter_map(|a| a.attachment_name().map(String::from))
        .collect();
    let mut body: String = body.chars().take(20_000).collect();
    if !attachments.is_empty() {
        body.push_str(&format!(
            "\n\n（添付ファイル：{}。保存していません）",
            attachments.join("、")
        ));
    }
    let message_id = m
        .message_id()
        .map(|s| s.to_string())
        .unwrap_or_else(|| websupport::password::sha256_hex(&String::from_utf8_lossy(raw)));
    Ok((
        InquiryInput {
            name: if name.is_empty() {
                email.clone()
            } else {
                name.chars().take(100).collect()
            },
            email: email.chars().take(254).collect(),
            subject: if subject.is_empty() {
                "（件名なし）".into()
            } else {
                subject.chars().take(200).collect()
            },
            body,
        },
        message_id,
    ))
}

/// The address part of the configured sender ("名前 <addr>" or "addr").
pub fn address_of(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim().to_string(),
        _ => from.trim().to_string(),
    }
}

/// Moves a file out of `new/` into `cur/` with the Seen flag (`:2,S`).
fn mark_seen(dir: &Path, file: &Path) -> std::io::Result<()> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("x");
    let base = name.split(":2,").next().unwrap_or(name);
    std::fs::rename(file, dir.join("cur").join(format!("{base}:2,S")))
}

/// Stores one message (from the Maildir or IMAP) as a mail inquiry, once per Message-ID.
/// None: the database refused it (logged); the caller leaves it to be tried again.
pub(crate) fn take(app: &App, raw: &[u8], own: &str, now: i64) -> Option<Taken> {
    match parse(raw, own) {
        Err(why) => {
            tracing::info!(why, "mail not stored");
            Some(Taken::Skipped(why))
        }
        Ok((input, mid)) => match app.db.create_mail_inquiry(&input, &mid, now) {
            Ok(Some(id)) => {
                tracing::info!(id, "mail stored as an inquiry");
                Some(Taken::Stored(id))
            }
            Ok(None) => Some(Taken::Duplicate),
            Err(e) => {
                tracing::error!("storing a mail: {e}");
                None
            }
        },
    }
}

/// Takes every message in `new/` once; returns what became of each.
pub fn scan(app: &App, dir: &Path, now: i64) -> std::io::Result<Vec<Taken>> {
    let own = address_of(&app.cfg.smtp.from);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))?
        .flatten()
        .map(|e| e.path())
        // Files starting with a dot are being written by a delivery agent.
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        let taken = if size > MAX_MESSAGE_BYTES {
            tracing::warn!(file = %f.display(), size, "mail too large: moved aside unread");
            Taken::Skipped("too large")
        } else {
            match take(app, &std::fs::read(&f)?, &own, now) {
                Some(t) => t,
                // Left in new/: tried again at the next scan.
                None => continue,
            }
        };
        mark_seen(dir, &f)?;
        out.push(taken);
    }
    Ok(out)
}

/// Runs until aborted.
pub async fn run(app: Arc<App>, cfg: MaildirIntake) {
    tracing::info!(dir = %cfg.dir.display(), "reading mail from the Maildir");
    let mut tick = tokio::time::interval(cfg.every);
    loop {
        tick.tick().await;
        let dir = cfg.dir.clone();
        let r = blocking(&app, move |a| scan(a, &dir, faq::clock::unix_now())).await;
        if let Err(e) = r {
            tracing::warn!(dir = %cfg.dir.display(), "Maildir: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_mail_is_decoded_and_robots_are_not_stored() {
        // ISO-2022-JP subject (encoded word) and body, as Japanese mailers send them.
        let (subject, _, _) = encoding_rs::ISO_2022_JP.encode("粗大ごみ");
        let (body, _, _) = encoding_rs::ISO_2022_JP.encode("収集日を教えてください。\r\n");
        let b64 = |b: &[u8]| crate::switchfeed::b64(b);
        let mut raw = format!(
            "From: =?ISO-2022-JP?B?{}?= <hanako@example.jp>\r\nTo: callcenter@example.jp\r\nSubject: =?ISO-2022-JP?B?{}?=\r\nMessage-ID: <m1@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
            b64(&encoding_rs::ISO_2022_JP.encode("山田").0),
            b64(&subject)
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let (i, mid) = parse(&raw, "callcenter@example.jp").unwrap();
        assert_eq!(i.name, "山田");
        assert_eq!(i.email, "hanako@example.jp");
        assert_eq!(i.subject, "粗大ごみ");
        assert_eq!(i.body, "収集日を教えてください。");
        assert_eq!(mid, "m1@example.jp");
        let auto = b"From: a@example.jp\r\nAuto-Submitted: auto-replied\r\nSubject: x\r\n\r\nout of office\r\n";
        assert!(parse(auto, "callcenter@example.jp").is_err());
        let own = b"From: callcenter@example.jp\r\nSubject: x\r\n\r\nloop\r\n";
        assert!(parse(own, "callcenter@example.jp").is_err());
        let bounce = b"From: MAILER-DAEMON@example.jp\r\nSubject: x\r\n\r\nfailed\r\n";
        assert!(parse(bounce, "callcenter@example.jp").is_err());
        assert_eq!(address_of("センター <cc@example.jp>"), "cc@example.jp");
    }
}
