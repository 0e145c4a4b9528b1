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

#[test]
fn cps_low_rate_all_calls_complete() {
    let sw = loadgen_switch("cps-smoke", 8, 100);

    // The generator bounds every phase itself (~3 s of calls + at most 10 s settling).
    let (stdout, v) = loadgen_cps(
        &sw,
        &[
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
            // Phones refresh their registration (RFC 3261 §10.2.4); every second here.
            "--register-refresh-secs",
            "1",
        ],
    );
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
    // Each operator: unregister and register before the calls, unregister after — two
    // requests each (a challenge, then the answer): 48. Refreshing during the ~3 s of
    // calls adds at least one more round of two each (the hour-long soak lost every
    // operator at 3,600 s when they did not).
    let registers = sw.metric("madoguchi_sip_requests_total", "method=\"REGISTER\"");
    assert!(registers >= 64.0, "{registers} REGISTERs; {}", ctx());
    // The core task's busy time is counted (what tells whether the single core task is
    // the bottleneck): 15 calls' messages cannot have cost it nothing.
    assert!(
        v["switch_core_task_cpu_pct"]
            .as_f64()
            .is_some_and(|p| p > 0.0),
        "{}",
        ctx()
    );
    assert!(
        v["switch"]["rss_kb_max"].as_u64().is_some_and(|k| k > 0),
        "{}",
        ctx()
    );
}
