//! Test harness for end-to-end tests: starts the built `madoguchi` binary on a private
//! configuration (its own ports and data folder) and real SIP agents from Debian
//! (baresip) around it. Everything talks to 127.0.0.1 only; every wait is bounded.
#![allow(dead_code)]

pub mod pjsua;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// A fresh folder under target/e2e (kept after the test for inspection).
pub fn workdir(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// A free UDP+TCP port on 127.0.0.1 (asked of the kernel, then released).
pub fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

static NEXT_RANGE: AtomicU16 = AtomicU16::new(0);

/// A block of `n` consecutive even-aligned ports nobody uses, for RTP ranges.
pub fn port_block(n: u16) -> u16 {
    // Spread tests of different processes apart by pid, and within one process by a counter.
    let pid = std::process::id() as u16;
    for _ in 0..200 {
        let k = NEXT_RANGE.fetch_add(1, Ordering::Relaxed);
        // Below the kernel's ephemeral range (32768–60999), so no socket bound to port 0
        // by another test lands in a block handed out here.
        let base = 20000 + ((pid.wrapping_mul(7) % 60 + k * 3) % 60) * 200;
        if (base..base + n).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free port block");
}

pub struct Switch {
    pub child: Child,
    pub dir: PathBuf,
    /// The first IPv4 operators' listener; `sips` holds all of them.
    pub sip: SocketAddr,
    pub sips: Vec<SocketAddr>,
    pub trunk: SocketAddr,
    pub pbx: SocketAddr,
    pub http: SocketAddr,
    pub rtp: (u16, u16),
    pub config: PathBuf,
    pub now: String,
    pub with_faq: bool,
    /// The FAQ site's address, when it runs beside the switch (`start_with_faq`).
    pub faq: Option<SocketAddr>,
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
        let rtp0 = port_block(100);
        let text = base
            .replace("\"127.0.0.1:5060\"", "\"127.0.0.1:0\"")
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
            rtp: (rtp0, rtp0 + 99),
            config,
            now: now.to_string(),
            with_faq,
            faq: None,
        };
        sw.wait_ready(0);
        // Pin the ports the kernel chose, for restarts.
        let mut pinned = text;
        for a in &sw.sips {
            if a.ip().is_ipv6() {
                pinned = pinned.replacen(&format!("\"[{}]:0\"", a.ip()), &format!("\"{a}\""), 1);
            }
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

/// `key="value"` pairs of a Prometheus label set (the text between the braces), with
/// the exposition format's escapes (`\\`, `\"`, `\n`) undone.
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("label without '=': {text:?}"));
        let after = after
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("label value not quoted: {text:?}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("dangling escape: {text:?}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {text:?}"),
            }
        };
        out.push((key.trim().to_string(), value));
        rest = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    out
}

/// See `Switch::metric`; `exposition` is the text of /metrics.
pub fn metric_in(exposition: &str, name: &str, labels: &str) -> f64 {
    let want = parse_labels(labels);
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            // `name{labels} value [timestamp]` or `name value [timestamp]`.
            let (series, rest) = match l.find('{') {
                Some(b) => {
                    let e = l.rfind('}').unwrap_or_else(|| panic!("bad line {l:?}"));
                    (&l[..b], Some((&l[b + 1..e], &l[e + 1..])))
                }
                None => (l.split_whitespace().next().unwrap_or(""), None),
            };
            if series != name {
                return None;
            }
            let (have, value) = match rest {
                Some((ls, v)) => (parse_labels(ls), v),
                None => (Vec::new(), &l[series.len()..]),
            };
            let value: f64 = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no value in {l:?}"));
            want.iter().all(|w| have.contains(w)).then_some(value)
        })
        .fold(0.0, |a, b| a + b)
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A copy of the prompts whose after-hours message is one second of tone instead of
/// ~17 s of speech, so that a test can watch the guard room for longer than the
/// after-hours path would take to ring it (see `with_prompts`).
pub fn prompts_with_short_after_hours(name: &str) -> PathBuf {
    let dir = workdir(name);
    let src = repo_root().join("prompts/ja");
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    copy(&src, &dir);
    copy(&src.join("min"), &dir.join("min"));
    copy(&src.join("num"), &dir.join("num"));
    tone_wav(&dir.join("after-hours.wav"), 700.0, 1.0);
    dir
}

/// The configuration `t` with its prompts read from `dir`.
pub fn with_prompts(t: String, dir: &Path) -> String {
    let at = t.find("prompts_dir = ").expect("prompts_dir in the config");
    let end = at + t[at..].find('\n').unwrap();
    format!(
        "{}prompts_dir = \"{}\"{}",
        &t[..at],
        dir.display(),
        &t[end..]
    )
}

/// Hunt-group mode: the caller is not answered until an operator answers (no greeting).
pub fn no_greeting(t: String) -> String {
    t.replace(
        "greeting = [\"greeting\", \"recording-notice\"]",
        "greeting = []",
    )
}

pub fn default_toml() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplans/default.toml"),
    )
    .unwrap()
}

/// A minimal HTTP/1.1 GET on loopback (no client library needed for tests).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    http_request(addr, "GET", path, None).and_then(|(code, body)| (code == 200).then_some(body))
}

pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    http_request_as(addr, method, path, body, None)
}

/// The same with an `Authorization: Basic` login (see `Switch::supervisor`).
pub fn http_request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    basic: Option<&str>,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = body.unwrap_or("");
    let auth = basic
        .map(|b| format!("Authorization: Basic {b}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).to_string();
    let code: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    // Chunked bodies (axum's default for streams) are rare here; JSON and text come whole.
    Some((code, body))
}

/// Write an 8 kHz mono 16-bit WAV with a sine tone.
pub fn tone_wav(path: &Path, freq: f64, secs: f64) {
    let samples = media::tone::sine(freq, secs, 12000);
    media::tone::write_wav(path, &samples, 8000).unwrap();
}

/// Which of the candidate frequencies dominates a WAV file (any rate, first channel),
/// looking only at the non-silent part, and how many loud samples it holds. `None` when
/// nothing rises above the tone floor: a silent file never reads as the right tone.
pub fn dominant(path: &Path, candidates: &[f64]) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 300).count();
    let f = media::tone::dominant_frequency(&loud_or_all(&samples), rate, candidates);
    (f, loud)
}

/// A baresip instance with its own config folder.
pub struct Baresip {
    pub child: Child,
    pub dir: PathBuf,
}

pub struct BaresipOpts<'a> {
    pub name: &'a str,
    pub account: String,
    pub tone: &'a Path,
    pub commands: Vec<String>,
    pub quit_after: Option<u64>,
}

impl Baresip {
    pub fn start(base: &Path, o: BaresipOpts) -> Baresip {
        let dir = base.join(o.name);
        std::fs::create_dir_all(dir.join("snd")).unwrap();
        let sip_port = free_port();
        let rtp = port_block(20);
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             net_interface 127.0.0.1\n\
             rtp_ports {}-{}\n\
             audio_player alsa,null\n\
             audio_alert alsa,null\n\
             audio_source aufile,{}\n\
             audio_buffer 20-160\n\
             jitter_buffer_delay 1-10\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module alsa.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             snd_path {}\n\
             module_tmp uuid.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             call_local_timeout 120\n",
            rtp,
            rtp + 19,
            o.tone.display(),
            dir.join("snd").display()
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("accounts"), format!("{}\n", o.account)).unwrap();
        let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&dir).arg("-s");
        for c in &o.commands {
            cmd.arg("-e").arg(c);
        }
        if let Some(t) = o.quit_after {
            cmd.arg("-t").arg(t.to_string());
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("baresip must be installed: run .ci/run or apt-get install baresip-core");
        Baresip { child, dir }
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("baresip.log")).unwrap_or_default())
            .to_string()
    }

    /// Wait (bounded) until the agent's log contains `needle`; fail with the log tail.
    pub fn wait_log(&self, what: &str, secs: u64, needle: &str) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {what} ({needle:?}); baresip log tail:\n{}",
            tail(&self.log(), 40)
        );
    }

    /// Wait (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self, secs: u64) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The received-audio dumps (`dump-*-dec.wav`) the sndfile module wrote.
    pub fn received_wavs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join("snd"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.to_string_lossy().ends_with("-dec.wav"));
        v.sort();
        v
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stretch of a recording between its first and last loud sample (leading and
/// trailing silence would only dilute the tone).
fn loud_or_all(samples: &[i16]) -> Vec<i16> {
    let first = samples.iter().position(|s| s.unsigned_abs() > 300);
    let last = samples.iter().rposition(|s| s.unsigned_abs() > 300);
    match (first, last) {
        (Some(a), Some(b)) if b > a => samples[a..=b].to_vec(),
        _ => samples.to_vec(),
    }
}

/// Our own minimal SIP endpoint over UDP, for the cases real agents won't produce
/// (garbage, wrong passwords, floods). Used beside the real agents, never instead.
pub struct RawSip {
    pub sock: UdpSocket,
}

impl RawSip {
    pub fn new() -> RawSip {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        RawSip { sock }
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub fn send(&self, to: SocketAddr, data: &[u8]) {
        self.sock.send_to(data, to).unwrap();
    }

    /// The next SIP message (bounded wait), skipping nothing.
    pub fn recv(&self, secs: f64) -> Option<sip::Message> {
        let t0 = Instant::now();
        let mut buf = vec![0u8; 65536];
        while t0.elapsed().as_secs_f64() < secs {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                if let Ok(m) = sip::parse_datagram(&buf[..n]) {
                    return Some(m);
                }
            }
        }
        None
    }

    /// The next final response (≥ 200), skipping provisional ones; requests that arrive
    /// meanwhile are returned to the caller through `requests`.
    pub fn final_response(
        &self,
        secs: f64,
        requests: &mut Vec<sip::Request>,
    ) -> Option<sip::Response> {
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < secs {
            match self.recv(0.2) {
                Some(sip::Message::Response(r)) if r.status >= 200 => return Some(r),
                Some(sip::Message::Request(q)) => requests.push(q),
                _ => {}
            }
        }
        None
    }

    /// A request with a fresh Via branch and tag.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        method: &str,
        uri: &str,
        from_user: &str,
        call_id: &str,
        cseq: u32,
        extra: &str,
        body: &str,
    ) -> Vec<u8> {
        let branch = format!("z9hG4bK{:x}", rand_u64());
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{from_user}@127.0.0.1>;tag=t{tag:x}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{from_user}@{me}>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            me = self.addr(),
            tag = rand_u64() & 0xffff,
            len = body.len(),
        )
        .into_bytes()
    }
}

impl RawSip {
    /// A citizen's INVITE to `number` on the carrier trunk, with an SDP offer for media at
    /// `media` (our own address when no RTP is exchanged). Returns the bytes sent (for a
    /// later CANCEL).
    pub fn invite(
        &self,
        sw: &Switch,
        number: &str,
        from_user: &str,
        call_id: &str,
        media: SocketAddr,
    ) -> Vec<u8> {
        let uri = format!("sip:{number}@{}", sw.trunk);
        let inv = self.request(
            "INVITE",
            &uri,
            from_user,
            call_id,
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_offer(media),
        );
        self.send(sw.trunk, &inv);
        inv
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

pub fn sdp_offer(addr: SocketAddr) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
}

/// The first channel of a WAV file and its sample rate (pjsua2's recorder writes the
/// conference bridge's rate, 16 kHz by default; baresip 8 kHz; linphone 48 kHz).
pub fn wav_mono(path: &Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    (
        r.samples::<i16>()
            .filter_map(Result::ok)
            .step_by(ch)
            .collect(),
        spec.sample_rate,
    )
}

/// Which candidate frequency dominates the stretch `from..to` seconds of a WAV (`to`
/// past the end means "to the end"), and how many loud samples that stretch holds — so
/// that a silent stretch is never read as "the right tone".
pub fn dominant_between(
    path: &Path,
    from: f64,
    to: f64,
    candidates: &[f64],
) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let a = ((from.max(0.0) * rate as f64) as usize).min(samples.len());
    let b = ((to.max(0.0) * rate as f64) as usize).clamp(a, samples.len());
    let part = &samples[a..b];
    let loud = part.iter().filter(|s| s.unsigned_abs() > 300).count();
    (
        media::tone::dominant_frequency(part, rate, candidates),
        loud,
    )
}

/// Like `dominant_between` for the last `secs` seconds before the last loud sample
/// (the silence a recorder may write after the hangup is left out).
pub fn dominant_tail(path: &Path, secs: f64, candidates: &[f64]) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let end = samples
        .iter()
        .rposition(|s| s.unsigned_abs() > 300)
        .map_or(0, |i| i + 1);
    let start = end.saturating_sub((secs * rate as f64) as usize);
    let part = &samples[start..end];
    let loud = part.iter().filter(|s| s.unsigned_abs() > 300).count();
    (
        media::tone::dominant_frequency(part, rate, candidates),
        loud,
    )
}

/// RMS per 20 ms frame of the first channel of a WAV (any rate is folded to 8 kHz
/// frames by time), for comparing speech by its loudness contour.
pub fn envelope(path: &Path) -> Vec<f64> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    let frame = (spec.sample_rate / 50) as usize;
    let s: Vec<f64> = r
        .samples::<i16>()
        .filter_map(Result::ok)
        .step_by(ch)
        .map(|x| x as f64)
        .collect();
    s.chunks(frame)
        .map(|c| (c.iter().map(|x| x * x).sum::<f64>() / c.len() as f64).sqrt())
        .collect()
}

/// The best normalised correlation of `needle`'s loudness contour anywhere in
/// `haystack`'s (1.0 = the same shape). A prompt played to a phone and recorded there
/// scores well above 0.8; unrelated speech, music or a tone scores far lower.
pub fn contains_prompt(haystack: &Path, needle: &Path) -> f64 {
    let h = envelope(haystack);
    let mut n = envelope(needle);
    // The synthesiser pads its output with silence, and a phone stops recording when
    // packets stop: compare the spoken part only.
    let peak = n.iter().cloned().fold(0.0, f64::max);
    let first = n.iter().position(|x| *x > peak * 0.05).unwrap_or(0);
    let last = n
        .iter()
        .rposition(|x| *x > peak * 0.05)
        .map_or(n.len(), |i| i + 1);
    n = n[first..last].to_vec();
    if h.len() < n.len() || n.is_empty() {
        return 0.0;
    }
    let norm = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let d: Vec<f64> = v.iter().map(|x| x - m).collect();
        let e = d.iter().map(|x| x * x).sum::<f64>().sqrt();
        (d, e)
    };
    let (nd, ne) = norm(&n);
    (0..=h.len() - n.len())
        .map(|off| {
            let (hd, he) = norm(&h[off..off + n.len()]);
            if he == 0.0 || ne == 0.0 {
                0.0
            } else {
                hd.iter().zip(&nd).map(|(a, b)| a * b).sum::<f64>() / (he * ne)
            }
        })
        .fold(0.0, f64::max)
}

/// REGISTER with digest (RFC 3261 §22): the first attempt must be challenged with 401;
/// returns the answer to the authenticated one.
pub fn register_raw(
    c: &RawSip,
    sw: &Switch,
    user: &str,
    password: &str,
    expires: u32,
) -> sip::Response {
    let uri = format!("sip:{user}@127.0.0.1");
    let call_id = format!("reg-{}", rand_u64());
    let exp = format!("Expires: {expires}\r\n");
    c.send(
        sw.sip,
        &c.request("REGISTER", &uri, user, &call_id, 1, &exp, ""),
    );
    let chal = c
        .final_response(3.0, &mut Vec::new())
        .expect("no answer to REGISTER");
    assert_eq!(
        chal.status, 401,
        "REGISTER without credentials must be challenged"
    );
    let www = chal
        .headers
        .get("WWW-Authenticate")
        .expect("challenge header");
    let auth =
        sip::auth::client_authorization(www, "REGISTER", &uri, user, password, "0a4f113b", 1)
            .unwrap();
    c.send(
        sw.sip,
        &c.request(
            "REGISTER",
            &uri,
            user,
            &call_id,
            2,
            &format!("{exp}Authorization: {auth}\r\n"),
            "",
        ),
    );
    c.final_response(3.0, &mut Vec::new())
        .expect("no answer to the authenticated REGISTER")
}

/// A baresip operator registered as `id` (password `madoguchi-<id>`), auto-answering and
/// playing `tone`; it quits (with BYE) after `quit_after` seconds.
pub fn baresip_operator(sw: &Switch, id: &str, tone: &Path, quit_after: u64) -> Baresip {
    Baresip::start(
        &sw.dir,
        BaresipOpts {
            name: &format!("op{id}"),
            account: format!("<sip:{id}@{};transport=udp>;auth_pass=madoguchi-{id};regint=60;answermode=auto;audio_codecs=PCMU,PCMA", sw.sip),
            tone,
            commands: vec![],
            quit_after: Some(quit_after),
        },
    )
}

/// A baresip citizen dialling `number` on the carrier trunk (no registration: the trunk is
/// trusted by listener and source), playing `tone`, hanging up after `secs`.
pub fn baresip_caller(
    sw: &Switch,
    name: &str,
    number: &str,
    tone: &Path,
    secs: u64,
    codec: &str,
) -> Baresip {
    Baresip::start(
        &sw.dir,
        BaresipOpts {
            name,
            account: format!("<sip:0312345678@127.0.0.1>;regint=0;audio_codecs={codec}"),
            tone,
            commands: vec![format!("/dial sip:{number}@{}", sw.trunk)],
            quit_after: Some(secs),
        },
    )
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

/// RFC 4733 packets for one key press (three updates, then the end bit three times).
pub fn press_dtmf(rtp: &std::net::UdpSocket, to: std::net::SocketAddr, digit: u8) {
    for (i, end) in [false, false, false, true, true, true].iter().enumerate() {
        let mut p = vec![
            0x80u8, 101, 0, i as u8, 0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78,
        ];
        let dur: u16 = 160 * (i as u16 + 1);
        p.extend_from_slice(&[
            digit,
            if *end { 0x80 | 10 } else { 10 },
            (dur >> 8) as u8,
            dur as u8,
        ]);
        rtp.send_to(&p, to).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
