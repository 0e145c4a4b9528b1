//! A private Postfix instance on a loopback port (Debian's postfix, installed by
//! .ci/history-deps.sh): its own configuration, queue and log under a test folder,
//! delivering the center's address (callcenter@example.jp) into the Maildir `center/`
//! the history reads, and every other recipient at `example.jp` into one Maildir,
//! `inbox/`, the test reads.
//! Needs root (Postfix's master runs as root), as CI does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Postfix {
    pub dir: PathBuf,
    pub port: u16,
}

const MASTER_CF: &str = "
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

impl Postfix {
    /// Writes the configuration (not started yet) into a fresh folder of its own
    /// (Postfix's users must reach it: not inside the history's 0700 data folder).
    pub fn configure(port: u16) -> Postfix {
        let dir = super::temp_dir("postfix");
        for d in ["conf", "queue", "data", "mail"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let chown = |user: &str, p: &Path| {
            let ok = Command::new("chown")
                .arg(user)
                .arg(p)
                .status()
                .unwrap()
                .success();
            assert!(
                ok,
                "chown {user} {} (the mail tests need root)",
                p.display()
            );
        };
        chown("postfix", &dir.join("data"));
        chown("nobody:nogroup", &dir.join("mail"));
        let d = dir.display();
        std::fs::write(
            dir.join("conf/main.cf"),
            format!(
                "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.example.jp
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
virtual_mailbox_domains = example.jp
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = inline:{{ callcenter@example.jp=center/ }}, static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 1
smtpd_recipient_restrictions = permit_mynetworks, reject
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtputf8_enable = yes
biff = no
alias_maps =
alias_database =
"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("conf/master.cf"),
            format!("127.0.0.1:{port} inet n - n - - smtpd\n{MASTER_CF}"),
        )
        .unwrap();
        Postfix { dir, port }
    }

    pub fn start(&self) {
        let st = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("conf"))
            .arg("start")
            .status()
            .expect("postfix is installed (.ci/history-deps.sh)");
        assert!(st.success(), "postfix start failed: {}", self.log());
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "postfix did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// The center's Maildir (what the history sidecar reads).
    pub fn center_maildir(&self) -> PathBuf {
        self.dir.join("mail/center")
    }

    /// The delivered messages, as files.
    pub fn delivered(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join("mail/inbox/new"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Waits (bounded) until `n` messages are delivered.
    pub fn wait_delivered(&self, n: usize, secs: u64) -> Vec<PathBuf> {
        let t0 = Instant::now();
        loop {
            let d = self.delivered();
            if d.len() >= n {
                return d;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "{} of {n} messages delivered; log:\n{}",
                d.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("conf"))
            .arg("stop")
            .status();
    }
}

/// A delivered message decoded by Python's email package (an independent MIME parser):
/// (To, Subject, text body).
pub fn decode(path: &Path) -> (String, String, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys,email,email.policy\n\
             m=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=email.policy.default)\n\
             print(m['To']); print(m['Subject']); print(m.get_body(('plain',)).get_content())",
        )
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.splitn(3, '\n');
    (
        lines.next().unwrap_or("").to_string(),
        lines.next().unwrap_or("").to_string(),
        lines.next().unwrap_or("").to_string(),
    )
}
