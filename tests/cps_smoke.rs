//! The load generator against the real switch, at a rate any machine sustains:
//! 5 calls/s for 3 s. Every call must complete (INVITE → 200 → ACK → BYE → 200), every
//! operator leg must get the switch's BYE, and the switch must be left with no active
//! call. Speed is not judged here (that is `benches/load.sh`'s job): only correctness.
//!
//! It lives in the switch's package so that it runs the `madoguchi` binary cargo builds
//! for this very test (`CARGO_BIN_EXE_madoguchi`), never a stale one left in target/;
//! the generator runs in-process from the `loadgen` library.

mod common;
use common::*;
use std::process::Command;

#[test]
fn cps_low_rate_all_calls_complete() {
    let data = workdir("cps-smoke-data");
    // The switch's own embedded default, so the config matches the binary under test;
    // loadgen adds its operators and opens the hours. The listeners, RTP range and
    // folders keep the default's values for the harness to replace.
    let base = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("default-config")
        .output()
        .unwrap();
    assert!(base.status.success(), "madoguchi default-config failed");
    std::fs::write(data.join("default.toml"), &base.stdout).unwrap();
    let out = data.join("loadgen.toml");
    let path = |p: &std::path::Path| p.display().to_string();
    loadgen::run([
        "loadgen",
        "config",
        "--agents",
        "8",
        "--max-calls",
        "100",
        "--base",
        &path(&data.join("default.toml")),
        "--out",
        &path(&out),
        "--data-dir",
        &path(&data),
        "--sip",
        "127.0.0.1:5060",
        "--trunk",
        "127.0.0.1:5080",
        "--pbx",
        "127.0.0.1:5082",
        "--http",
        "127.0.0.1:8080",
        "--rtp-ports",
        "20000-29999",
    ])
    .expect("loadgen config");
    let text = std::fs::read_to_string(&out).unwrap();
    let sw = Switch::start_from("cps-smoke", "2026-11-25T10:00", text, |t| t);

    // The generator bounds every phase itself (~3 s of calls + at most 10 s settling).
    let stdout = loadgen::run([
        "loadgen",
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
        "--sip",
        &sw.sip.to_string(),
        "--trunk",
        &sw.trunk.to_string(),
        "--http",
        &sw.http.to_string(),
        "--pid",
        &sw.child.id().to_string(),
    ])
    .unwrap_or_else(|e| panic!("loadgen cps: {e:?}\nswitch log:\n{}", tail(&sw.log(), 40)));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON summary");
    let calls = &v["calls"];
    let ctx = || format!("summary:\n{stdout}\nswitch log:\n{}", tail(&sw.log(), 40));
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
    // The switch agrees: 15 calls answered, none active, and it was measured (the
    // generator read the switch process's own figures).
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        15.0,
        "{}",
        ctx()
    );
    assert_eq!(sw.status()["calls_active"], 0);
    assert!(
        v["switch"]["rss_kb_max"].as_u64().is_some_and(|k| k > 0),
        "{}",
        ctx()
    );
}
