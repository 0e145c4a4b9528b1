//! Starts `madoguchi history` beside a test switch, reading its event feed (used by the
//! screen-pop tests).
#![allow(dead_code)]

use super::common::{free_port, workdir, Switch};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct History {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

impl History {
    /// Started alone (`madoguchi history`), connected to `sw`'s feed and configuration
    /// (its agents and departments) and, when the switch runs the FAQ site, to its API;
    /// its data in a fresh folder; returns once it reads the feed.
    pub fn start(sw: &Switch, name: &str) -> History {
        let dir = workdir(name);
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.join("history.log")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_madoguchi"));
        if let Some(faq) = sw.faq {
            cmd.arg("history")
                .arg("--faq-api")
                .arg(format!("https://{faq}"))
                .arg("--faq-cert")
                .arg(sw.dir.join("data/faq/tls/cert.pem"));
        } else {
            cmd.arg("history");
        }
        let child = cmd
            .arg("--config")
            .arg(&sw.config)
            .args([
                "--stop-on-stdin-eof",
                "--listen",
                &addr.to_string(),
                "--data",
            ])
            .arg(dir.join("data"))
            .arg("--switch-api")
            .arg(sw.http.to_string())
            .arg("--switch-login")
            .arg(sw.dir.join("data/supervisor-password.txt"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let h = History { child, addr, dir };
        let t0 = Instant::now();
        while !h.log().contains("reading the switch's event feed") {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "history never read the switch's feed:\n{}",
                h.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        h
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("history.log")).unwrap_or_default()
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.join("data/tls/cert.pem")
    }

    /// The generated administrator's password.
    pub fn admin_password(&self) -> String {
        let t = std::fs::read_to_string(self.dir.join("data/admin-password.txt")).unwrap();
        t.lines().nth(1).unwrap().to_string()
    }

    /// Closes its stdin (how `serve` stops it) and waits, bounded.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let t0 = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "history did not stop on stdin EOF"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
