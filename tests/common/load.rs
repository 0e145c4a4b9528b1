//! The load generator (`benches/loadgen`, run in-process) against the switch under test:
//! a switch configured by `loadgen config` from the binary's own embedded default (so the
//! config always matches the binary cargo built for this test), then `loadgen cps` runs.

use super::{tail, workdir, Switch};
use std::process::Command;

/// A switch with `agents` generator operators and at most `max_calls` calls at once.
pub fn loadgen_switch(tag: &str, agents: u32, max_calls: u32) -> Switch {
    let data = workdir(&format!("{tag}-data"));
    let base = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("default-config")
        .output()
        .unwrap();
    assert!(base.status.success(), "madoguchi default-config failed");
    std::fs::write(data.join("default.toml"), &base.stdout).unwrap();
    let out = data.join("loadgen.toml");
    let path = |p: &std::path::Path| p.display().to_string();
    // The listeners, RTP range and folders keep the default's values: the harness
    // replaces them with this test's own.
    loadgen::run([
        "loadgen".to_string(),
        "config".into(),
        "--agents".into(),
        agents.to_string(),
        "--max-calls".into(),
        max_calls.to_string(),
        "--base".into(),
        path(&data.join("default.toml")),
        "--out".into(),
        path(&out),
        "--data-dir".into(),
        path(&data),
        "--sip".into(),
        "127.0.0.1:5060".into(),
        "--trunk".into(),
        "127.0.0.1:5080".into(),
        "--pbx".into(),
        "127.0.0.1:5082".into(),
        "--http".into(),
        "127.0.0.1:8080".into(),
        "--rtp-ports".into(),
        "20000-29999".into(),
    ])
    .expect("loadgen config");
    let text = std::fs::read_to_string(&out).unwrap();
    Switch::start_from(tag, "2026-11-25T10:00", text, |t| t)
}

/// `loadgen cps` with `args` against `sw`; its JSON summary. A generator error fails the
/// test with the switch's log.
pub fn loadgen_cps(sw: &Switch, args: &[&str]) -> (String, serde_json::Value) {
    let mut argv: Vec<String> = vec!["loadgen".into(), "cps".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    for (flag, v) in [
        ("--sip", sw.sip.to_string()),
        ("--trunk", sw.trunk.to_string()),
        ("--http", sw.http.to_string()),
        ("--pid", sw.child.id().to_string()),
    ] {
        argv.push(flag.into());
        argv.push(v);
    }
    let stdout = loadgen::run(argv)
        .unwrap_or_else(|e| panic!("loadgen cps: {e:?}\nswitch log:\n{}", tail(&sw.log(), 40)));
    let v = serde_json::from_str(&stdout).expect("JSON summary");
    (stdout, v)
}
