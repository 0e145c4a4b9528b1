//! Weak operators' passwords, for `madoguchi check` and the switch's start-up warning.
//!
//! An operator's SIP password is what a digest answer captured on the LAN (or a scanner's
//! 403s) can be checked against offline at billions of MD5s a second: a short or
//! guessable one falls in minutes. Flagged here: the example configuration's published
//! `madoguchi-<id>`, the user name itself, fewer than `MIN_LEN` characters, a known
//! common password, one character repeated, and the same password on two accounts. A
//! missing password is no problem: `serve` generates a random one at first start into
//! `AGENT_PASSWORDS_FILE` in the data folder (0600), never printing it.

use crate::config::Config;
use crate::spans::Seg::{Index, Key};
use crate::spans::{line_col, SpanIndex};
use crate::ConfigError;

/// Where `serve` keeps the passwords it generated, in the data folder.
pub const AGENT_PASSWORDS_FILE: &str = "agent-passwords.txt";

/// Shortest password not flagged (NIST SP 800-63B asks 8 for a memorised secret; a SIP
/// password is typed once into a phone and its digest is offline-crackable, so more).
pub const MIN_LEN: usize = 12;

/// A few of the most common passwords in breach lists and SIP scanners' word lists
/// (sipvicious's defaults), compared without case.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "passw0rd",
    "123456789012",
    "1234567890",
    "12345678",
    "qwertyuiop",
    "qwerty123456",
    "secret",
    "changeme",
    "letmein",
    "welcome",
    "admin",
    "sip",
    "voip",
    "madoguchi",
    "iloveyou",
];

/// Why `password` is weak for account `id`, or None.
pub fn weakness(id: &str, password: &str) -> Option<String> {
    if password.is_empty() {
        return None;
    }
    let lower = password.to_lowercase();
    if password == format!("madoguchi-{id}") {
        return Some("is the published example password".into());
    }
    if lower == id.to_lowercase() || (id.len() >= 3 && lower.contains(&id.to_lowercase())) {
        return Some("contains the account's user name".into());
    }
    if COMMON.iter().any(|c| lower == *c) {
        return Some("is a common password".into());
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("repeats one character".into());
    }
    let n = password.chars().count();
    if n < MIN_LEN {
        return Some(format!("has {n} characters (at least {MIN_LEN})"));
    }
    None
}

/// The warnings of `madoguchi check` about the agents' passwords of a configuration
/// that parsed, each at the line of the password (or the `[[agent]]` header), and the
/// notes for agents whose password `serve` will generate.
pub fn warnings(cfg: &Config, text: &str, file_name: &str) -> Vec<ConfigError> {
    let index = SpanIndex::parse(text);
    let at = |i: usize, message: String| {
        let span = index.span(&[Key("agent"), Index(i), Key("password")]);
        let (line, column) = line_col(text, span.start);
        ConfigError {
            file: file_name.to_string(),
            line,
            column,
            message,
        }
    };
    let mut out = Vec::new();
    for (i, a) in cfg.agents.iter().enumerate() {
        if a.password.is_empty() {
            out.push(at(
                i,
                format!(
                    "note: agent '{}' has no password: `serve` generates a random one at first \
                     start into {AGENT_PASSWORDS_FILE} in the data folder",
                    a.id
                ),
            ));
            continue;
        }
        if let Some(why) = weakness(&a.id, &a.password) {
            out.push(at(
                i,
                format!(
                    "warning: agent '{}': the password {why}; set a long random one (or remove \
                     the line and `serve` generates one into {AGENT_PASSWORDS_FILE})",
                    a.id
                ),
            ));
        } else if let Some(other) = cfg.agents[..i]
            .iter()
            .find(|b| !b.password.is_empty() && b.password == a.password)
        {
            out.push(at(
                i,
                format!(
                    "warning: agent '{}' has the same password as agent '{}'",
                    a.id, other.id
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn flags_the_weak_and_passes_the_random() {
        assert!(weakness("1001", "madoguchi-1001").is_some());
        assert!(weakness("1001", "1001").is_some());
        assert!(weakness("1001", "xx1001xxxxxxxxxxx").is_some());
        assert!(weakness("1001", "Password").is_some());
        assert!(weakness("1001", "aaaaaaaaaaaaaaaa").is_some());
        assert!(weakness("1001", "k3Jd9x").is_some());
        assert_eq!(weakness("1001", "Tq7vW2mPz9LkR4"), None);
        assert_eq!(weakness("1001", ""), None);
    }
}
