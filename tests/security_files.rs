//! What the switch leaves on disk and in /metrics (issue 9 Medium): the data folder and
//! the recordings are the service's alone, and made-up SIP methods do not each create a
//! new metrics series.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn data_and_recordings_are_private() {
    let sw = Switch::start("sec-files", |t| t);
    let c = RawSip::new();
    assert_eq!(
        register_raw(&c, &sw, "1001", "madoguchi-1001", 600).status,
        200
    );
    let data = sw.dir.join("data");
    sw.wait_for("registrations.json", 5, |_| {
        data.join("registrations.json").exists()
    });
    assert_eq!(mode(&data), 0o700, "data folder");
    assert_eq!(mode(&sw.dir.join("recordings")), 0o700, "recordings folder");
    for f in [
        "registrations.json",
        "nonce.key",
        "recordings.sqlite",
        "supervisor-password.txt",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
}

#[test]
fn made_up_sip_methods_share_one_metrics_series() {
    let sw = Switch::start("sec-metrics", |t| t);
    let c = RawSip::new();
    for i in 0..5 {
        let m = format!("XMADEUP{i}");
        c.send(
            sw.sip,
            &c.request(
                &m,
                "sip:127.0.0.1",
                "probe",
                &format!("m-{i}-{}", rand_u64()),
                1,
                "",
                "",
            ),
        );
        let _ = c.final_response(2.0, &mut Vec::new());
    }
    let text = sw.metrics();
    assert!(!text.contains("XMADEUP"), "no series per made-up method");
    assert_eq!(
        sw.metric("madoguchi_sip_requests_total", "method=\"other\""),
        5.0,
        "{text}"
    );
}
