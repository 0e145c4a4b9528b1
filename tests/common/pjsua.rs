//! PJSIP agents (pjsua2's Python bindings, `tests/agents/pjsua_agent.py`) for the
//! end-to-end tests: one process per agent with its own SIP port, RTP range and folder
//! (`events.jsonl`, `pjsua.log`, WAVs); every wait is bounded and a failure prints the
//! agent's trace.

use super::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One pjsua2 agent process (own SIP port and RTP range, own folder).
pub struct Pjsua {
    pub child: Child,
    pub dir: PathBuf,
    pub name: String,
    /// Where it listens for SIP (127.0.0.1).
    pub sip_port: u16,
    _rtp: PortLease,
}

impl Pjsua {
    pub fn start(base: &Path, name: &str, args: &[String]) -> Pjsua {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let python = repo().join(".venv-sip/bin/python");
        assert!(
            python.exists(),
            "{} missing: run scripts/test.sh (it creates the venv with pjsua2-python)",
            python.display()
        );
        // SIP on port 0 (read back from the agent's "started" event); RTP needs a
        // range, so a leased block.
        let lease = ports::lease(20);
        let rtp = lease.base;
        let events = std::fs::File::create(dir.join("events.jsonl")).unwrap();
        let log = std::fs::File::create(dir.join("pjsua.log")).unwrap();
        let child = Command::new(python)
            .arg(repo().join("tests/agents/pjsua_agent.py"))
            .args(args)
            .args(["--sip-port", "0", "--rtp-port", &rtp.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(events)
            .stderr(log)
            .spawn()
            .expect("start the pjsua2 agent");
        let mut p = Pjsua {
            child,
            dir,
            name: name.to_string(),
            sip_port: 0,
            _rtp: lease,
        };
        p.sip_port = p.bound_port();
        p
    }

    /// The SIP port the agent bound, from its "started" event (bounded wait).
    fn bound_port(&mut self) -> u16 {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if let Some(port) = self
                .events()
                .iter()
                .find(|e| e["event"] == "started")
                .and_then(|e| e["sip_port"].as_u64())
            {
                return port as u16;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "pjsua agent {} exited ({st}) before it started:\n{}",
                    self.name,
                    self.report()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "pjsua agent {} did not start:\n{}",
            self.name,
            self.report()
        );
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("pjsua.log")).unwrap_or_default())
            .to_string()
    }

    /// What to show when an assertion about this agent fails.
    pub fn report(&self) -> String {
        let ev: Vec<String> = self.events().iter().map(|e| e.to_string()).collect();
        format!(
            "--- {} events:\n{}\n--- {} pjsua.log tail:\n{}",
            self.name,
            ev.join("\n"),
            self.name,
            tail(&self.log(), 60)
        )
    }

    pub fn find(&self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.events().into_iter().find(|e| pred(e))
    }

    pub fn all(&self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.events().into_iter().filter(|e| pred(e)).collect()
    }

    /// Wait (bounded) for the first event matching `pred`; fail with the agent's trace
    /// (and say so early if the agent died).
    /// Waits for the agent's `recording_closed`, then for `file` itself to be complete.
    /// pjsua queues the recorder's removal on its conference clock, and the WAV header's
    /// sizes are written only then: on a loaded machine a test once read a header that
    /// still said 0 bytes a moment after the event (and heard "0 RMS").
    pub fn wait_recording(&mut self, what: &str, file: &str, secs: u64) -> PathBuf {
        self.wait_event(what, secs, |e| is(e, "recording_closed"));
        let path = self.path(file);
        wait_wav_complete(&path, secs);
        path
    }

    pub fn wait_event(&mut self, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_nth(what, secs, 1, pred)
    }

    /// Wait (bounded) for the `n`-th event (1-based) matching `pred`.
    pub fn wait_nth(
        &mut self,
        what: &str,
        secs: u64,
        n: usize,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(e) = self.all(&pred).into_iter().nth(n - 1) {
                return e;
            }
            if t0.elapsed() > Duration::from_secs(secs) {
                panic!(
                    "{}: timed out waiting for {what}\n{}",
                    self.name,
                    self.report()
                );
            }
            if self.child.try_wait().unwrap().is_some() {
                // One last look: the event may have been written just before the exit.
                if let Some(e) = self.all(&pred).into_iter().nth(n - 1) {
                    return e;
                }
                panic!("{}: exited before {what}\n{}", self.name, self.report());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait (bounded) for the process to end by itself (it closes its recording first).
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
}

impl Drop for Pjsua {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn is(e: &Value, event: &str) -> bool {
    e["event"] == event
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Arguments of an operator registered with digest auth at the switch's agents' listener.
pub fn operator_args(sw: &Switch, user: &str, extra: &[&str]) -> Vec<String> {
    let mut a = s(&["--role", "operator", "--user", user]);
    a.extend([
        "--registrar".into(),
        format!("sip:{}", sw.sip),
        "--password".into(),
        format!("madoguchi-{user}"),
    ]);
    a.extend(s(extra));
    a
}

/// Arguments of a citizen calling `number` on the carrier trunk (no registration: the
/// trunk trusts its listener and source address).
pub fn caller_args(sw: &Switch, number: &str, extra: &[&str]) -> Vec<String> {
    let mut a = s(&["--role", "caller", "--user", "0312345678"]);
    a.extend(["--dial".into(), format!("sip:{number}@{}", sw.trunk)]);
    a.extend(s(extra));
    a
}

/// An operator's softphone (`op<user>` in `dir`) started with `extra` arguments and
/// registered (bounded wait for the 200 and for the binding in the switch).
pub fn operator(sw: &Switch, dir: &Path, user: &str, extra: &[&str]) -> Pjsua {
    let mut op = Pjsua::start(dir, &format!("op{user}"), &operator_args(sw, user, extra));
    register(sw, &mut op, user);
    op
}

pub fn register(sw: &Switch, op: &mut Pjsua, user: &str) {
    let e = op.wait_event("registration", 15, |e| {
        is(e, "registered") || is(e, "registration")
    });
    assert_eq!(
        e["code"],
        200,
        "{user} not registered: {e}\n{}",
        op.report()
    );
    sw.wait_for(&format!("{user} in the registrations"), 5, |s| {
        s.registered(user)
    });
}

/// Both legs are gone and every media port is free again.
pub fn assert_call_ended(sw: &Switch) {
    sw.wait_for("the call to end", 10, |s| s.idle());
    let held = udp_ports_of(sw.child.id(), sw.rtp);
    assert!(
        held.is_empty(),
        "the switch still holds media ports {held:?} after the call ended; switch log:\n{}",
        tail(&sw.log(), 40)
    );
}

/// The sample rate of a recording, to express "enough audio" in seconds.
pub fn rate(path: &Path) -> usize {
    wav_mono(path).1 as usize
}
