//! The FAQ site runs in its own process (issue 9 High 3): `serve` starts `madoguchi faq`
//! as a child, restarts it when it dies, and stops it when the switch stops. A crash (or
//! a slowloris) on the public FAQ site leaves the switch answering.

mod common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Children of `pid` whose command line contains `word`.
fn children_with(pid: u32, word: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmd = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if ppid == Some(pid) && cmd.contains(word) {
            out.push(child);
        }
    }
    out
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn port_open(addr: std::net::SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn sip_answers(sw: &Switch) -> bool {
    let c = RawSip::new();
    c.send(
        sw.sip,
        &c.request(
            "OPTIONS",
            "sip:127.0.0.1",
            "probe",
            &format!("o-{}", rand_u64()),
            1,
            "",
            "",
        ),
    );
    matches!(c.final_response(3.0, &mut Vec::new()), Some(r) if r.status == 200)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

/// Kills `serve` (and so, by the closed stdin, its sidecar) if the test fails midway.
struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_faq_site_is_a_supervised_child_process() {
    // The harness writes a configuration with private ports; we then run `serve`
    // ourselves, with the FAQ sidecar this time.
    let mut sw = Switch::start("sec-sidecar", |t| t);
    sw.terminate();
    let faq: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(sw.dir.join("serve-faq.log")).unwrap();
    let serve: Child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "serve",
            "--no-history",
            "--faq-listen",
            &faq.to_string(),
            "--config",
        ])
        .arg(&sw.config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut serve = Reap(serve);
    let pid = serve.0.id();
    wait_until("the FAQ site", 60, || port_open(faq));
    let first = children_with(pid, "faq");
    assert_eq!(first.len(), 1, "one `madoguchi faq` child of serve");
    assert!(sip_answers(&sw));

    // The FAQ process dies: the switch keeps answering, and the FAQ comes back.
    Command::new("kill")
        .args(["-KILL", &first[0].to_string()])
        .status()
        .unwrap();
    assert!(sip_answers(&sw), "the switch is not affected");
    wait_until("a new FAQ process", 60, || {
        let now = children_with(pid, "faq");
        now.len() == 1 && now[0] != first[0] && port_open(faq)
    });

    // Stopping the switch stops its sidecar.
    let second = children_with(pid, "faq")[0];
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    wait_until("serve to exit", 30, || {
        serve.0.try_wait().unwrap().is_some()
    });
    wait_until("the FAQ child to exit", 10, || !alive(second));
}
