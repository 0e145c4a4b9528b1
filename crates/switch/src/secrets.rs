//! Secrets the switch makes for itself: operators' passwords the configuration leaves
//! out, generated at first start into `data_dir/agent-passwords.txt` and read back at
//! every later start (issue 9: no password shipped as a default, none printed). Files
//! are created 0600 from the first byte, never chmod-ed afterwards (a reader could open
//! them in between).

use crate::SwitchError;
use dialplan::passwords::AGENT_PASSWORDS_FILE;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Letters and digits without the look-alikes (0/O, 1/l/I), so a password can be typed
/// into a phone's keypad menu from a printout: 57 symbols, 20 of them ≈ 117 bits.
const ALPHABET: &[u8] = b"23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
const LEN: usize = 20;

/// A random password from the operating system's generator (`rand`'s thread RNG is a
/// CSPRNG seeded from it).
pub fn random_password() -> String {
    (0..LEN)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Fill in the agents without a password: from the file when it has them, else new
/// random ones, which are added to the file. Returns the ids whose password is in the
/// file (the banner says where; the passwords are never logged).
pub fn fill_agent_passwords(
    cfg: &mut dialplan::Config,
    data_dir: &Path,
) -> Result<Vec<String>, SwitchError> {
    if cfg.agents.iter().all(|a| !a.password.is_empty()) {
        return Ok(Vec::new());
    }
    let path = data_dir.join(AGENT_PASSWORDS_FILE);
    let err = |source| SwitchError::DataDir {
        path: path.clone(),
        source,
    };
    let mut known: BTreeMap<String, String> = match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(err(e)),
    };
    let mut changed = false;
    let mut ids = Vec::new();
    for a in cfg.agents.iter_mut().filter(|a| a.password.is_empty()) {
        let pw = known.entry(a.id.clone()).or_insert_with(|| {
            changed = true;
            random_password()
        });
        a.password = pw.clone();
        ids.push(a.id.clone());
    }
    if changed {
        let mut text = String::from(
            "# madoguchi: operators' SIP passwords generated at first start (user password).\n\
             # Enter each into that operator's phone; keep this file private (0600).\n",
        );
        for (id, pw) in &known {
            text.push_str(&format!("{id} {pw}\n"));
        }
        write_private(&path, text.as_bytes()).map_err(err)?;
        tracing::info!(path = %path.display(), "generated passwords for operators without one in the configuration");
    }
    Ok(ids)
}

/// `id password` lines; `#` comments and blank lines skipped.
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(id, pw)| (id.to_string(), pw.trim().to_string()))
        .filter(|(_, pw)| !pw.is_empty())
        .collect()
}

/// Replace `path` with `data`, mode 0600 from creation: written to a new file beside it,
/// synced, then renamed over (a crash leaves the old file or the new one, never half).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_distinct_and_from_the_alphabet() {
        let a = random_password();
        let b = random_password();
        assert_eq!(a.len(), LEN);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(dialplan::passwords::weakness("1001", &a), None);
    }

    #[test]
    fn the_file_is_read_back() {
        let m = parse("# c\n\n1001 abc\n1002  def \nbad\n1003 \n");
        assert_eq!(m.get("1001").map(String::as_str), Some("abc"));
        assert_eq!(m.get("1002").map(String::as_str), Some("def"));
        assert_eq!(m.len(), 2);
    }
}
