//! A private Dovecot (Debian's dovecot-imapd, installed by .ci/history-deps.sh) on a
//! loopback port, in a temp folder: its own base, state and log, one test user with a
//! password from a file, Maildir storage. The system Dovecot is left alone. Messages are
//! put in and flags read with Python's imaplib, a client independent of ours.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub const USER: &str = "center";
pub const PASSWORD: &str = "Imap-center-2026";

pub struct Dovecot {
    pub dir: PathBuf,
    pub port: u16,
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Dovecot {
    pub fn configure(port: u16) -> Dovecot {
        assert!(
            std::path::Path::new("/usr/sbin/dovecot").exists(),
            "Dovecot is not installed: run .ci/history-deps.sh"
        );
        let dir = super::temp_dir("dovecot");
        for d in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        // Root runs the mail processes as nobody (Dovecot refuses uid 0 for mail); anyone
        // else runs every process as themselves.
        let root = sh("id", &["-u"]) == "0";
        let (uid, gid, extra) = if root {
            let _ = Command::new("chown")
                .args(["-R", "nobody:nogroup"])
                .arg(dir.join("mail"))
                .arg(dir.join("home"))
                .status();
            ("nobody".to_string(), "nogroup".to_string(), String::new())
        } else {
            let me = sh("id", &["-un"]);
            let group = sh("id", &["-gn"]);
            (
                me.clone(),
                group,
                format!("default_internal_user = {me}\ndefault_login_user = {me}\n"),
            )
        };
        std::fs::write(
            dir.join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("dovecot.conf"),
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
                 protocols = imap\nlisten = 127.0.0.1\nssl = no\n\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login\n{extra}\
                 mail_location = maildir:{d}/mail/%u\n\
                 passdb {{\n driver = passwd-file\n args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
                 userdb {{\n driver = static\n args = uid={uid} gid={gid} home={d}/home/%u\n}}\n\
                 service imap-login {{\n inet_listener imap {{\n  address = 127.0.0.1\n  port = {port}\n }}\n inet_listener imaps {{\n  port = 0\n }}\n}}\n"
            ),
        )
        .unwrap();
        Dovecot { dir, port }
    }

    pub fn start(&self) {
        // The master goes to the background keeping its stdio: not piped to us (a pipe
        // would stay open as long as the server runs).
        let status = Command::new("/usr/sbin/dovecot")
            .arg("-c")
            .arg(self.dir.join("dovecot.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "dovecot: {status}\n{}", self.log());
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(30), "{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits until the port is closed.
    pub fn stop(&self) {
        let pid = std::fs::read_to_string(self.dir.join("run/master.pid")).unwrap_or_default();
        let pid = pid.trim();
        if pid.is_empty() {
            return;
        }
        let _ = Command::new("kill").arg(pid).status();
        let t0 = Instant::now();
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "dovecot did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// Python's imaplib against the server: `script` gets `m`, logged in, INBOX selected.
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let full = format!(
            "import sys, imaplib\nm = imaplib.IMAP4('127.0.0.1', {})\nm.login('{USER}', '{PASSWORD}')\nm.select('INBOX')\n{script}\nm.logout()\n",
            self.port
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(full)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Puts a Japanese message (UTF-8, encoded words) into INBOX; `auto` marks it
    /// Auto-Submitted.
    pub fn append(&self, message_id: &str, subject: &str, auto: bool) {
        self.python(
            r#"
from email.mime.text import MIMEText
from email.header import Header
from email.utils import formataddr
mid, subject, auto = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
msg = MIMEText('粗大ごみのソファーを出したいです。\n収集日を教えてください。', 'plain', 'utf-8')
msg['From'] = formataddr((str(Header('山田 花子', 'utf-8')), 'hanako@example.jp'))
msg['To'] = 'callcenter@example.jp'
msg['Subject'] = Header(subject, 'utf-8')
msg['Message-ID'] = mid
if auto:
    msg['Auto-Submitted'] = 'auto-replied'
typ, _ = m.append('INBOX', None, None, msg.as_bytes())
assert typ == 'OK'
"#,
            &[message_id, subject, if auto { "1" } else { "0" }],
        );
    }

    /// UID → is it \Seen, for every message of INBOX.
    pub fn seen(&self) -> Vec<(u64, bool)> {
        let out = self.python(
            r#"
typ, data = m.uid('FETCH', '1:*', '(FLAGS)')
for d in data:
    if d:
        s = d.decode()
        uid = s.split('UID ')[1].split()[0].rstrip(')')
        print(uid, '\\Seen' in s)
"#,
            &[],
        );
        out.lines()
            .filter_map(|l| {
                let (u, s) = l.split_once(' ')?;
                Some((u.parse().ok()?, s == "True"))
            })
            .collect()
    }

    /// Takes \Seen away from one message (as if a person marked it unread).
    pub fn unsee(&self, uid: u64) {
        self.python(
            "typ, _ = m.uid('STORE', sys.argv[1], '-FLAGS', '(\\\\Seen)')\nassert typ == 'OK'",
            &[&uid.to_string()],
        );
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
