//! Sidecars (the FAQ site, the contact history) as child processes of `serve`, each
//! this same program with its own subcommand (issue 9 High 3: a slowloris or a crash on
//! the public FAQ site must not take the switch's calls down with it).
//!
//! The protocol is the child's standard input: the child stops when it reads EOF
//! (`--stop-on-stdin-eof`), so it also goes away when `serve` is killed with -9 (the
//! kernel closes the pipe). A supervisor thread restarts a child that dies on its own,
//! waiting 1 s, then 2, 4 … up to a minute between attempts.

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Sidecar {
    name: &'static str,
    stopping: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
    supervisor: Option<std::thread::JoinHandle<()>>,
}

fn spawn(args: &[OsString]) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    Command::new(exe)
        .args(args)
        .arg("--stop-on-stdin-eof")
        .stdin(Stdio::piped())
        .spawn()
}

impl Sidecar {
    /// Start `madoguchi <args…> --stop-on-stdin-eof` and keep it running.
    pub fn start(name: &'static str, args: Vec<OsString>) -> std::io::Result<Sidecar> {
        let child = Arc::new(Mutex::new(Some(spawn(&args)?)));
        let stopping = Arc::new(AtomicBool::new(false));
        let (c, s) = (child.clone(), stopping.clone());
        let supervisor = std::thread::Builder::new()
            .name(format!("sidecar-{name}"))
            .spawn(move || supervise(name, &args, &c, &s))?;
        Ok(Sidecar {
            name,
            stopping,
            child,
            supervisor: Some(supervisor),
        })
    }

    /// `start`, printing `banner` on success and logging (not failing) otherwise: the
    /// switch runs without a sidecar that cannot start.
    pub fn start_or_log(
        name: &'static str,
        args: Vec<OsString>,
        banner: String,
    ) -> Option<Sidecar> {
        match Sidecar::start(name, args) {
            Ok(s) => {
                println!("{banner}");
                Some(s)
            }
            Err(e) => {
                tracing::error!(sidecar = name, error = %e, "did not start; the switch runs without it");
                None
            }
        }
    }

    /// Close the child's stdin (its signal to stop), wait up to 5 s, then kill it.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.supervisor.take() {
            let _ = t.join();
        }
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        drop(child.stdin.take());
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(sidecar = self.name, "did not stop in 5 s; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// In the child: resolves when the parent closes our standard input (it stopped us, or
/// it died, even by kill -9).
pub async fn parent_gone() {
    let mut buf = [0u8; 64];
    let mut stdin = tokio::io::stdin();
    loop {
        match tokio::io::AsyncReadExt::read(&mut stdin, &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn supervise(
    name: &'static str,
    args: &[OsString],
    child: &Mutex<Option<Child>>,
    stopping: &AtomicBool,
) {
    let mut backoff = Duration::from_secs(1);
    let mut started = Instant::now();
    while !stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let exited = match lock(child).as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => Some(status),
            _ => None,
        };
        let Some(status) = exited else { continue };
        // A child that ran a while before dying starts again quickly.
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tracing::error!(sidecar = name, %status, retry_in = ?backoff, "sidecar exited; restarting it");
        let until = Instant::now() + backoff;
        while Instant::now() < until {
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
        match spawn(args) {
            Ok(c) => {
                started = Instant::now();
                *lock(child) = Some(c);
            }
            Err(e) => tracing::error!(sidecar = name, error = %e, "sidecar could not be restarted"),
        }
    }
}
