//! Mail to the center read from an IMAP mailbox (beside the Maildir of `intake`), for a
//! center whose mail lives on an IMAP server. Every few seconds: LOGIN, SELECT, the UIDs
//! above the last one taken (`UID SEARCH UID n:*`, RFC 3501 §6.4.4, §2.3.1.1), each
//! fetched without setting \Seen (`BODY.PEEK[]`, §6.4.5), stored as a mail inquiry
//! (`intake::take`), then flagged \Seen (§6.4.6) and its UID recorded in the database.
//! A crash between storing and recording leaves the message to be fetched again: its
//! Message-ID keeps it stored once. A new UIDVALIDITY (the mailbox was recreated, §2.3.1.1)
//! starts over from UID 1, again kept once by Message-ID. While the server is down each
//! poll fails, is logged, and the next one tries again: nothing is lost, since a message
//! stays on the server until it is stored.
//!
//! Why our own small client: of the crates, `async-imap` 0.12 needs Rust 1.88 (the
//! workspace is 1.85) and `imap` has been a 3.0 alpha since 2021 (its 2.x needs
//! native-tls, i.e. OpenSSL). The part of IMAP4rev1 used here is five commands and the
//! literal syntax (§4.3). Without TLS the client speaks only to a server on this
//! machine (loopback): the password must not cross the network in clear.

use crate::app::{blocking, App};
use crate::intake::{address_of, take, Taken, MAX_MESSAGE_BYTES};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ImapIntake {
    /// host:port of the IMAP server (loopback only: no TLS).
    pub server: String,
    pub user: String,
    pub password: String,
    pub mailbox: String,
    pub every: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server answered: {0}")]
    Refused(String),
    #[error("{0}")]
    Protocol(String),
}

/// One untagged response: its text (literals left out) and its literals, in order.
#[derive(Debug, Default)]
struct Untagged {
    text: String,
    literals: Vec<Vec<u8>>,
}

struct Session {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
}

/// A quoted string (§4.3); CR, LF and NUL cannot be quoted.
fn quoted(s: &str) -> Result<String, ImapError> {
    if s.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(ImapError::Protocol(
            "a line break in a login or mailbox name".into(),
        ));
    }
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// `{n}` at the end of a line announces n bytes of literal (§4.3).
fn literal_len(line: &str) -> Option<usize> {
    let l = line.trim_end_matches(['\r', '\n']);
    let open = l.rfind('{')?;
    l.strip_suffix('}')?[open + 1..].parse().ok()
}

impl Session {
    fn connect(server: &str) -> Result<Session, ImapError> {
        let addr = server
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| ImapError::Protocol(format!("{server}: no address")))?;
        if !addr.ip().is_loopback() {
            return Err(ImapError::Protocol(format!(
                "{server}: IMAP without TLS only to a server on this machine (loopback)"
            )));
        }
        let w = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        w.set_read_timeout(Some(Duration::from_secs(30)))?;
        w.set_write_timeout(Some(Duration::from_secs(30)))?;
        let mut s = Session {
            r: BufReader::new(w.try_clone()?),
            w,
            tag: 0,
        };
        let greeting = s.line()?;
        if !greeting.starts_with("* OK") {
            return Err(ImapError::Refused(greeting.trim().to_string()));
        }
        Ok(s)
    }

    fn line(&mut self) -> Result<String, ImapError> {
        let mut buf = Vec::new();
        // A line is short; a huge one is not an IMAP server talking.
        let n = (&mut self.r).take(64 * 1024).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(ImapError::Protocol(
                "the server closed the connection".into(),
            ));
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Sends one command; its untagged responses once it completed with OK.
    fn cmd(&mut self, command: &str) -> Result<Vec<Untagged>, ImapError> {
        self.tag += 1;
        let tag = format!("m{}", self.tag);
        self.w
            .write_all(format!("{tag} {command}\r\n").as_bytes())?;
        let mut out = Vec::new();
        loop {
            let mut line = self.line()?;
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(out)
                } else {
                    let what = command.split(' ').next().unwrap_or("");
                    Err(ImapError::Refused(format!("{what}: {}", rest.trim())))
                };
            }
            let mut u = Untagged::default();
            while let Some(n) = literal_len(&line) {
                if n as u64 > MAX_MESSAGE_BYTES + 1024 {
                    return Err(ImapError::Protocol(format!("a literal of {n} bytes")));
                }
                u.text.push_str(line.trim_end_matches(['\r', '\n']));
                let mut lit = vec![0; n];
                self.r.read_exact(&mut lit)?;
                u.literals.push(lit);
                line = self.line()?;
            }
            u.text.push_str(line.trim_end_matches(['\r', '\n']));
            out.push(u);
        }
    }
}

/// The number after `[NAME ` in a response code, e.g. UIDVALIDITY.
fn code(resps: &[Untagged], name: &str) -> Option<u64> {
    resps.iter().find_map(|u| {
        let at = u.text.find(&format!("[{name} "))? + name.len() + 2;
        u.text[at..].split(']').next()?.trim().parse().ok()
    })
}

/// Where the mailbox was read up to: "uidvalidity:uid" in the database's meta table.
fn meta_key(cfg: &ImapIntake) -> String {
    format!("imap:{}@{}/{}", cfg.user, cfg.server, cfg.mailbox)
}

/// One poll: every message above the last UID taken, in UID order.
pub fn poll(app: &App, cfg: &ImapIntake, now: i64) -> Result<Vec<Taken>, ImapError> {
    let own = address_of(&app.cfg.smtp.from);
    let mut s = Session::connect(&cfg.server)?;
    s.cmd(&format!(
        "LOGIN {} {}",
        quoted(&cfg.user)?,
        quoted(&cfg.password)?
    ))?;
    let selected = s.cmd(&format!("SELECT {}", quoted(&cfg.mailbox)?))?;
    let validity = code(&selected, "UIDVALIDITY")
        .ok_or_else(|| ImapError::Protocol("SELECT without UIDVALIDITY".into()))?;
    let key = meta_key(cfg);
    let stored = app
        .db
        .meta(&key)
        .map_err(|e| ImapError::Protocol(e.to_string()))?;
    let last: u64 = stored
        .as_deref()
        .and_then(|v| v.split_once(':'))
        .filter(|(v, _)| v.parse() == Ok(validity))
        .and_then(|(_, u)| u.parse().ok())
        .unwrap_or(0);
    let found = s.cmd(&format!("UID SEARCH UID {}:*", last + 1))?;
    let mut uids: Vec<u64> = found
        .iter()
        .filter_map(|u| u.text.strip_prefix("* SEARCH"))
        .flat_map(|t| t.split_whitespace().filter_map(|n| n.parse().ok()))
        // `n:*` names the highest UID even when it is below n (§6.4.8).
        .filter(|u| *u > last)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    let mut out = Vec::new();
    for uid in uids {
        let fetched = s.cmd(&format!("UID FETCH {uid} (BODY.PEEK[])"))?;
        let raw = fetched
            .iter()
            .find(|u| u.text.contains(&format!("UID {uid}")) && !u.literals.is_empty())
            .and_then(|u| u.literals.first());
        let taken = match raw {
            None => Taken::Skipped("no body fetched"),
            Some(raw) if raw.len() as u64 > MAX_MESSAGE_BYTES => Taken::Skipped("too large"),
            Some(raw) => match take(app, raw, &own, now) {
                Some(t) => t,
                // The database refused it: stop here, the next poll starts again from it.
                None => break,
            },
        };
        s.cmd(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)"))?;
        app.db
            .set_meta(&key, &format!("{validity}:{uid}"))
            .map_err(|e| ImapError::Protocol(e.to_string()))?;
        out.push(taken);
    }
    let _ = s.cmd("LOGOUT");
    Ok(out)
}

/// Runs until aborted; a failed poll (server down, refused login) is logged and retried.
pub async fn run(app: Arc<App>, cfg: ImapIntake) {
    tracing::info!(server = %cfg.server, user = %cfg.user, mailbox = %cfg.mailbox, "reading mail over IMAP");
    let mut tick = tokio::time::interval(cfg.every);
    loop {
        tick.tick().await;
        let c = cfg.clone();
        let r = blocking(&app, move |a| poll(a, &c, faq::clock::unix_now())).await;
        if let Err(e) = r {
            tracing::warn!(server = %cfg.server, "IMAP: {e}; tried again in {:?}", cfg.every);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_codes_and_quoting() {
        assert_eq!(literal_len("* 1 FETCH (UID 7 BODY[] {61}\r\n"), Some(61));
        assert_eq!(literal_len("* OK [UIDVALIDITY 3] x\r\n"), None);
        let r = [Untagged {
            text: "* OK [UIDVALIDITY 1796600871] UIDs valid".into(),
            literals: vec![],
        }];
        assert_eq!(code(&r, "UIDVALIDITY"), Some(1796600871));
        assert_eq!(quoted(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert!(quoted("a\r\nb LOGOUT").is_err());
    }
}
