//! The switch under test: the built `madoguchi` binary on a private configuration
//! (listeners on port 0, read back from its banner; its own RTP block and data folder).

use super::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Switch {
    pub child: Child,
    pub dir: PathBuf,
    /// The first IPv4 operators' listener; `sips` holds all of them.
    pub sip: SocketAddr,
    pub sips: Vec<SocketAddr>,
    pub trunk: SocketAddr,
    pub pbx: SocketAddr,
    pub http: SocketAddr,
    /// The operators' SIP-over-TLS listener (`[sip] tls_listen`), when there is one.
    pub tls: Option<SocketAddr>,
    pub rtp: (u16, u16),
    pub config: PathBuf,
    pub now: String,
    pub with_faq: bool,
    /// The FAQ site's address, when it runs beside the switch (`start_with_faq`).
    pub faq: Option<SocketAddr>,
    /// The RTP block in the config, held while the switch runs.
    _rtp_lease: PortLease,
}

impl Switch {
    /// Start the switch on the default configuration with private ports; `edit` may
    /// change the TOML text further.
    pub fn start(name: &str, edit: impl FnOnce(String) -> String) -> Switch {
        // Tests must not depend on when they run: the routing clock starts on a weekday
        // morning, inside the opening hours.
        Switch::start_at(name, "2026-11-25T10:00", edit)
    }

    /// Start with the routing clock at a local time (`serve --now`).
    ///
    /// Every listener is configured on port 0: the kernel picks free ports and the
    /// switch prints what it bound in its start-up banner, which is read back here (no
    /// port is probed free and released first, so no other process can take it in
    /// between). The configuration file is then rewritten with those ports, so that
    /// `restart` comes back on the same addresses.
    pub fn start_at(name: &str, now: &str, edit: impl FnOnce(String) -> String) -> Switch {
        Switch::start_from(name, now, default_toml(), edit)
    }

    /// Like `start_at` from another configuration than dialplans/default.toml (one
    /// that still has its listeners, RTP range and folders, e.g. loadgen's).
    pub fn start_from(
        name: &str,
        now: &str,
        base: String,
        edit: impl FnOnce(String) -> String,
    ) -> Switch {
        Switch::start_opts(name, now, base, edit, false)
    }

    /// Like `start` with the FAQ site beside the switch (no `--no-faq`), as in
    /// production. The site listens on its fixed 127.0.0.1:8443; `faq` is its address
    /// from the banner.
    pub fn start_with_faq(name: &str, edit: impl FnOnce(String) -> String) -> Switch {
        Switch::start_opts(name, "2026-11-25T10:00", default_toml(), edit, true)
    }

    fn start_opts(
        name: &str,
        now: &str,
        base: String,
        edit: impl FnOnce(String) -> String,
        with_faq: bool,
    ) -> Switch {
        let dir = workdir(name);
        let rtp_lease = ports::lease(100);
        let rtp0 = rtp_lease.base;
        let text = base
            .replace("\"127.0.0.1:5060\"", "\"127.0.0.1:0\"")
            .replace(
                "tls_listen = [\"127.0.0.1:5061\"]",
                "tls_listen = [\"127.0.0.1:0\"]",
            )
            .replace("listen = \"127.0.0.1:5080\"", "listen = \"127.0.0.1:0\"")
            .replace("listen = \"127.0.0.1:5082\"", "listen = \"127.0.0.1:0\"")
            .replace("\"127.0.0.1:8080\"", "\"127.0.0.1:0\"")
            .replace("[20000, 29999]", &format!("[{}, {}]", rtp0, rtp0 + 99))
            .replace(
                "data_dir = \"data\"",
                &format!("data_dir = \"{}\"", dir.join("data").display()),
            )
            .replace(
                "recordings_dir = \"recordings\"",
                &format!("recordings_dir = \"{}\"", dir.join("recordings").display()),
            )
            .replace(
                "prompts_dir = \"prompts/ja\"",
                &format!(
                    "prompts_dir = \"{}\"",
                    repo_root().join("prompts/ja").display()
                ),
            );
        let text = edit(text);
        let config = dir.join("madoguchi.toml");
        std::fs::write(&config, &text).unwrap();
        let unbound: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut sw = Switch {
            child: Switch::spawn(&dir, &config, now, false, with_faq),
            dir,
            sip: unbound,
            sips: Vec::new(),
            trunk: unbound,
            pbx: unbound,
            http: unbound,
            tls: None,
            rtp: (rtp0, rtp0 + 99),
            config,
            now: now.to_string(),
            with_faq,
            faq: None,
            _rtp_lease: rtp_lease,
        };
        sw.wait_ready(0);
        // Pin the ports the kernel chose, for restarts.
        let mut pinned = text;
        for a in &sw.sips {
            if a.ip().is_ipv6() {
                pinned = pinned.replacen(&format!("\"[{}]:0\"", a.ip()), &format!("\"{a}\""), 1);
            }
        }
        if let Some(tls) = sw.tls {
            pinned = pinned.replacen(
                "tls_listen = [\"127.0.0.1:0\"]",
                &format!("tls_listen = [\"{tls}\"]"),
                1,
            );
        }
        pinned = pinned
            .replacen("\"127.0.0.1:0\"", &format!("\"{}\"", sw.sip), 1)
            .replacen("\"127.0.0.1:0\"", &format!("\"{}\"", sw.http), 1)
            .replacen("\"127.0.0.1:0\"", &format!("\"{}\"", sw.trunk), 1)
            .replacen("\"127.0.0.1:0\"", &format!("\"{}\"", sw.pbx), 1);
        std::fs::write(&sw.config, pinned).unwrap();
        sw
    }

    fn spawn(dir: &Path, config: &Path, now: &str, append: bool, with_faq: bool) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(dir.join("madoguchi.log"))
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .arg("serve")
            .args((!with_faq).then_some("--no-faq"))
            .args(["--no-history", "--now", now, "--config"])
            .arg(config)
            .env("RUST_LOG", "debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start madoguchi")
    }

    /// Stop with SIGKILL and start again on the same configuration and data.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let before = (self.sip, self.trunk, self.pbx, self.http);
        let earlier = self.log().matches("madoguchi is up.").count();
        self.child = Switch::spawn(&self.dir, &self.config, &self.now, true, self.with_faq);
        self.wait_ready(earlier);
        assert_eq!(
            (self.sip, self.trunk, self.pbx, self.http),
            before,
            "the restarted switch must listen where it did"
        );
    }

    /// Wait (bounded) for the start-up banner of this start (the log holds `earlier`
    /// ones from before a restart) and the API; take the bound addresses from it.
    fn wait_ready(&mut self, earlier: usize) {
        // The FAQ site seeds and indexes its database before the banner ends: seconds
        // in a debug build, more on a loaded 2-core machine.
        let bound = Duration::from_secs(if self.with_faq { 90 } else { 20 });
        let t0 = Instant::now();
        while t0.elapsed() < bound {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("madoguchi exited early ({st}); log:\n{}", self.log());
            }
            let log = self.log();
            let banners: Vec<&str> = log.split("madoguchi is up.").collect();
            // Complete once its last line (the "try:" hint) is out.
            if banners.len() > earlier + 1 && banners[earlier + 1].contains("  try: ") {
                self.read_banner(banners[earlier + 1]);
                if http_get(self.http, "/api/v1/status").is_some() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("madoguchi did not come up; log:\n{}", self.log());
    }

    fn read_banner(&mut self, banner: &str) {
        let addr = |s: &str| -> SocketAddr {
            s.trim()
                .parse()
                .unwrap_or_else(|e| panic!("address {s:?} in the banner: {e}"))
        };
        self.sips = banner
            .lines()
            .filter_map(|l| l.split("register to  sip:").nth(1))
            .map(|r| addr(r.split(' ').next().unwrap_or("")))
            .collect();
        self.sip = *self
            .sips
            .iter()
            .find(|a| a.is_ipv4())
            .expect("an IPv4 SIP listener in the banner");
        let trunk = |name: &str| -> SocketAddr {
            let l = banner
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("trunk {name} ")))
                .unwrap_or_else(|| panic!("trunk {name} not in the banner:\n{banner}"));
            addr(l.rsplit(' ').next().unwrap())
        };
        self.tls = banner
            .lines()
            .filter_map(|l| l.split("over TLS:").nth(1))
            .filter_map(|r| r.trim().strip_prefix("sip:"))
            .map(|r| addr(r.split(';').next().unwrap_or("")))
            .find(|a| a.is_ipv4());
        self.trunk = trunk("carrier");
        self.pbx = trunk("pbx");
        let l = banner
            .lines()
            .find(|l| l.contains("metrics and API"))
            .expect("the API address in the banner");
        self.http = addr(
            l.split("http://")
                .nth(1)
                .and_then(|r| r.strip_suffix("/metrics"))
                .expect("http://ADDR/metrics"),
        );
        self.faq = banner
            .lines()
            .find(|l| l.contains("FAQ site"))
            .and_then(|l| l.split("https://").nth(1))
            .and_then(|r| r.split('/').next())
            .map(addr);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("madoguchi.log")).unwrap_or_default()
    }

    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&http_get(self.http, "/api/v1/status").expect("status")).unwrap()
    }

    /// No call up and no recording of an ended call still being sealed: what a test
    /// that reads the recordings after its calls must wait for.
    pub fn idle(&self) -> bool {
        let s = self.status();
        s["calls_active"] == 0 && s["recordings_sealing"] == 0
    }

    /// The text of /metrics. Panics when the switch does not answer: a "counter is
    /// zero" check must not pass because the API is down.
    pub fn metrics(&self) -> String {
        http_get(self.http, "/metrics").unwrap_or_else(|| {
            panic!(
                "/metrics did not answer; switch log tail:\n{}",
                tail(&self.log(), 40)
            )
        })
    }

    /// A counter or gauge from /metrics: the sum over the series named exactly `name`
    /// whose labels include every `key="value"` pair of `labels` with exactly that value
    /// (`""` for all series). `outcome="answered"` does not match `outcome="unanswered"`.
    /// Panics on a malformed `labels` filter or exposition line.
    pub fn metric(&self, name: &str, labels: &str) -> f64 {
        metric_in(&self.metrics(), name, labels)
    }

    /// Wait (bounded) until `cond` holds.
    pub fn wait_for(&self, what: &str, secs: u64, mut cond: impl FnMut(&Switch) -> bool) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out waiting for {what}; switch log tail:\n{}",
            tail(&self.log(), 60)
        );
    }

    /// True when the switch process holds no socket in its RTP range any more, i.e. no
    /// call still holds media ports. (Asked of /proc rather than by binding the ports:
    /// another test's process may hold one by chance.)
    pub fn rtp_ports_all_free(&self) -> bool {
        udp_ports_of(self.child.id(), self.rtp).is_empty()
    }

    /// The file the switch wrote the generated supervisor login to.
    pub fn login_file(&self) -> PathBuf {
        self.dir.join("data/supervisor-password.txt")
    }

    /// `user:password` of the generated supervisor, base64 for `Authorization: Basic`.
    pub fn supervisor(&self) -> String {
        let t = std::fs::read_to_string(self.login_file()).unwrap();
        let mut l = t.lines();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            l.next().unwrap(),
            l.next().unwrap()
        ))
    }

    /// POST with the supervisor's login.
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        http_request_as(
            self.http,
            "POST",
            path,
            Some(body),
            Some(&self.supervisor()),
        )
        .expect("HTTP")
    }

    /// Whether `user` has a binding. Panics when the API does not answer, so that
    /// `!registered(..)` proves a refusal, not a dead switch.
    /// GET with the supervisor's login (registrations and the audit log name people).
    pub fn get(&self, path: &str) -> Option<String> {
        http_request_as(self.http, "GET", path, None, Some(&self.supervisor()))
            .and_then(|(code, body)| (code == 200).then_some(body))
    }

    pub fn registered(&self, user: &str) -> bool {
        self.get("/api/v1/registrations")
            .unwrap_or_else(|| {
                panic!(
                    "/api/v1/registrations did not answer; switch log tail:\n{}",
                    tail(&self.log(), 40)
                )
            })
            .contains(&format!("\"{user}@"))
    }

    /// Send SIGTERM and wait (bounded) for the process to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait_stopped(15)
    }

    /// Send SIGTERM and return at once (the test then plays the peers' part of the
    /// shutdown, e.g. answering a CANCEL, before `wait_stopped`).
    pub fn send_sigterm(&self) {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill(1)");
        assert!(st.success(), "kill -TERM failed");
    }

    /// Wait (bounded) for the process to end after `send_sigterm`.
    pub fn wait_stopped(&mut self, secs: u64) -> std::process::ExitStatus {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!(
            "madoguchi did not stop within {secs} s of SIGTERM; log tail:\n{}",
            tail(&self.log(), 40)
        );
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The UDP ports in `range` on which process `pid` has a socket (Linux /proc).
pub fn udp_ports_of(pid: u32, range: (u16, u16)) -> Vec<u16> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        for line in std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Some(inode)) = (port, f.get(9)) {
                if (range.0..=range.1).contains(&port) && inodes.contains(*inode) {
                    ports.push(port);
                }
            }
        }
    }
    ports.sort_unstable();
    ports
}
