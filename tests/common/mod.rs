//! Test harness for end-to-end tests: starts the built `madoguchi` binary on a private
//! configuration (its own ports and data folder) and real SIP agents from Debian
//! (baresip, pjsua2) around it. Everything talks to 127.0.0.1 only; every wait is bounded.
//!
//! One idea per module: `switch` (the binary under test), `baresip` and `pjsua` (real
//! agents), `rawsip` (our own client, beside them), `audio` (tones in and out), `http`
//! (API and /metrics), `ports` (port blocks leased across test processes).
// Each test binary uses part of the harness.
#![allow(dead_code, unused_imports)]

pub mod audio;
pub mod baresip;
pub mod http;
pub mod load;
pub mod pjsua;
pub mod ports;
pub mod rawsip;
pub mod switch;

pub use audio::*;
pub use baresip::*;
pub use http::*;
pub use load::*;
pub use ports::{free_port, port_block, PortLease};
pub use rawsip::*;
pub use switch::*;

use std::path::{Path, PathBuf};

/// A fresh folder under target/e2e (kept after the test for inspection).
pub fn workdir(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
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
