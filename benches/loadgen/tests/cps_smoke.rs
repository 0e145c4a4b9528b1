//! The load generator against the real switch, at a rate any machine sustains:
//! 5 calls/s for 3 s. Every call must complete (INVITE → 200 → ACK → BYE → 200) and
//! the switch must be left with no active call.
//!
//! The switch binary is not built by this test (a test must not run cargo). It is
//! `target/debug/madoguchi`, which `cargo build -p madoguchi` (or any workspace build)
//! produces; `MADOGUCHI_BIN` overrides the path. When it is missing the test FAILS with
//! that instruction: a skipped load test would look like a passing one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn switch_bin() -> PathBuf {
    match std::env::var_os("MADOGUCHI_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/madoguchi"),
    }
}

fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// 100 free consecutive ports for the switch's RTP, away from the e2e tests' 20000+.
fn rtp_block() -> u16 {
    for k in 0..200u32 {
        let base = 30000 + ((std::process::id() + k * 7) % 90) as u16 * 100;
        if (base..base + 100).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free block of 100 UDP ports in 30000..39000");
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.contains(" 200 ").then(|| {
        out.split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default()
    })
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tail(path: &PathBuf) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn cps_low_rate_all_calls_complete() {
    let bin = switch_bin();
    assert!(
        bin.exists(),
        "FAILING: the switch binary {} does not exist. Build it first with `cargo build -p madoguchi` \
         (or set MADOGUCHI_BIN); this test does not build it.",
        bin.display()
    );
    let loadgen = env!("CARGO_BIN_EXE_loadgen");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("loadgen-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let [sip, trunk, pbx, http] = [0; 4].map(|_| SocketAddr::from(([127, 0, 0, 1], free_port())));
    let rtp = rtp_block();
    let cfg = dir.join("madoguchi.toml");
    // The switch's own embedded default, so the config matches the binary under test.
    let base = Command::new(&bin).arg("default-config").output().unwrap();
    assert!(base.status.success(), "madoguchi default-config failed");
    std::fs::write(dir.join("default.toml"), &base.stdout).unwrap();
    let st = Command::new(loadgen)
        .args(["config", "--agents", "8", "--max-calls", "100"])
        .arg("--base")
        .arg(dir.join("default.toml"))
        .arg("--out")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "--sip",
            &sip.to_string(),
            "--trunk",
            &trunk.to_string(),
            "--pbx",
            &pbx.to_string(),
        ])
        .args([
            "--http",
            &http.to_string(),
            "--rtp-ports",
            &format!("{rtp}-{}", rtp + 99),
        ])
        .status()
        .unwrap();
    assert!(st.success(), "loadgen config failed");

    let log_path = dir.join("madoguchi.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let switch = Kill(
        Command::new(&bin)
            .args(["serve", "--no-faq", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while http_get(http, "/api/v1/status").is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "switch did not come up:\n{}",
            tail(&log_path)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut run = Command::new(loadgen)
        .args([
            "cps",
            "--rate",
            "5",
            "--duration",
            "3",
            "--hold-ms",
            "200",
            "--agents",
            "8",
            "--settle-secs",
            "10",
        ])
        .args([
            "--sip",
            &sip.to_string(),
            "--trunk",
            &trunk.to_string(),
            "--http",
            &http.to_string(),
        ])
        .args(["--pid", &switch.0.id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The generator bounds itself (~3 s + settle); this is only a guard against a hang.
    let t0 = Instant::now();
    while run.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = run.kill();
            panic!(
                "loadgen did not finish in 120 s; switch log:\n{}",
                tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loadgen failed: {}\n{stdout}\nswitch log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&log_path)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON summary");
    let calls = &v["calls"];
    let ctx = || format!("summary:\n{stdout}\nswitch log:\n{}", tail(&log_path));
    assert_eq!(calls["attempted"], 15, "{}", ctx());
    assert_eq!(calls["completed"], 15, "{}", ctx());
    assert_eq!(calls["failed"], 0, "{}", ctx());
    assert_eq!(v["end"]["calls_active_after"], 0, "{}", ctx());
    assert_eq!(
        v["end"]["operator_byes"],
        15,
        "the switch must BYE every operator leg; {}",
        ctx()
    );
    assert!(v["setup_ms"]["p99"].as_f64().unwrap() < 2000.0, "{}", ctx());
    assert!(v["switch"]["rss_kb_max"].as_u64().unwrap() > 0, "{}", ctx());
    drop(switch);
}
