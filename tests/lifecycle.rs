//! The switch as an ops person meets it: a wrong config refused with file and line,
//! registrations that survive a crash, SIGTERM ending calls with BYE, TCP and IPv6.

mod common;
use common::*;
use sip::{Message, SipHeaders};
use std::io::{Read, Write};
use std::process::Command;

#[test]
fn check_refuses_a_wrong_config_with_file_and_line() {
    let dir = workdir("check");
    let good = dir.join("good.toml");
    std::fs::write(&good, default_toml()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("check")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A queue that names an agent nobody defined.
    let text = default_toml().replace(
        "agents = [\"1001\", \"1002\", \"1003\", \"1004\"]",
        "agents = [\"1001\", \"1009\"]",
    );
    let line = text.lines().position(|l| l.contains("\"1009\"")).unwrap() + 1;
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("bad.toml:{line}:")),
        "no file:line in {err}"
    );
    assert!(
        err.contains("1009"),
        "the message must name the culprit: {err}"
    );
    // `serve` refuses it the same way, before binding anything.
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["serve", "--no-faq", "--no-history", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("bad.toml:{line}:")));
}

#[test]
fn registrations_survive_a_crash() {
    let mut sw = Switch::start("restart", no_greeting);
    // All four phones at once: their bindings are written off the SIP core task, several
    // REGISTERs to one write, and each 200 OK only once its write is on the disk.
    let phones: Vec<RawSip> = (0..4).map(|_| RawSip::new()).collect();
    std::thread::scope(|s| {
        for (i, phone) in phones.iter().enumerate() {
            let sw = &sw;
            s.spawn(move || {
                let user = format!("100{}", i + 1);
                let pass = format!("madoguchi-{user}");
                assert_eq!(register_raw(phone, sw, &user, &pass, 600).status, 200);
            });
        }
    });
    sw.restart(); // SIGKILL at once, then start again on the same data folder
    for user in ["1001", "1002", "1003", "1004"] {
        assert!(
            sw.registered(user),
            "{user}'s binding lost across the restart"
        );
    }
    // A call after the restart reaches a phone without it registering again.
    let c = RawSip::new();
    c.invite(&sw, "0246221111", "0312345678", "after-restart", c.addr());
    let rung = (0..20).find_map(|_| {
        phones.iter().find_map(|p| match p.recv(0.1) {
            Some(Message::Request(r)) => Some(r),
            _ => None,
        })
    });
    let r = rung.expect("no registered phone was rung after the restart");
    assert_eq!(r.method, sip::Method::Invite);
    assert_eq!(r.headers.get("X-Madoguchi-DNIS"), Some("+81246221111"));
}

#[test]
fn sigterm_ends_calls_with_bye() {
    let mut sw = Switch::start("sigterm", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 30.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 30.0);
    let operator = baresip_operator(&sw, "1003", &dir.join("1000.wav"), 40);
    sw.wait_for("1003 to register", 10, |s| s.registered("1003"));
    let caller = baresip_caller(
        &sw,
        "caller",
        "0246432111",
        &dir.join("440.wav"),
        40,
        "PCMA",
    );
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    // Both legs answered and acknowledged (a BYE, not a CANCEL, must end them).
    caller.wait_log("the caller's leg established", 10, "Call established");
    operator.wait_log("the operator's leg established", 10, "Call established");
    let st = sw.terminate();
    assert!(st.success(), "madoguchi exited with {st}");
    // The BYEs were sent before the exit; give the agents a bounded moment to log them.
    caller.wait_log("a BYE at the caller", 5, "BYE sip:");
    operator.wait_log("a BYE at the operator", 5, "BYE sip:");
}

#[test]
fn sigterm_ends_a_call_waiting_in_the_queue_with_bye() {
    // The default configuration: the caller is answered and hears the greeting.
    let mut sw = Switch::start("sigterm-queue", |t| t);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 30.0);
    let caller = baresip_caller(
        &sw,
        "caller",
        "0246221111",
        &dir.join("440.wav"),
        40,
        "PCMU",
    );
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    // Answered by the queue (greeting) and in line.
    caller.wait_log("the caller's leg established", 10, "Call established");
    sw.wait_for("the caller in line", 25, |s| {
        queue_json(s)["queues"][0]["waiting"] == 1
    });
    let st = sw.terminate();
    assert!(st.success(), "madoguchi exited with {st}");
    caller.wait_log("a BYE at the caller", 5, "BYE sip:");
}

#[test]
fn tcp_framing() {
    let sw = Switch::start("tcp-framing", |t| t);
    // OPTIONS over TCP, two messages in one write: both answered, in order.
    let mut s = std::net::TcpStream::connect(sw.sip).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let me = s.local_addr().unwrap();
    let opt = |n: u32| {
        format!("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKtcp{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=a{n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tcp-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n")
    };
    s.write_all(format!("{}{}", opt(1), opt(2)).as_bytes())
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches("SIP/2.0 200").count() < 2 {
        let n = s.read(&mut buf).expect("TCP answers");
        assert!(n > 0, "connection closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.find("CSeq: 1 OPTIONS").unwrap() < got.find("CSeq: 2 OPTIONS").unwrap());
    // A negative Content-Length can't be framed: 400, then the connection is closed (RFC 4475 §3.1.2.3).
    let bad = opt(3).replace("Content-Length: 0", "Content-Length: -999");
    s.write_all(bad.as_bytes()).unwrap();
    let mut rest = String::new();
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => rest.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => {
                panic!("the connection should be closed after a framing error ({e}); got {rest}")
            }
        }
    }
    assert!(rest.starts_with("SIP/2.0 400"), "{rest}");
}

/// Set this to run the suite on a machine without IPv6 on loopback: the IPv6 test
/// then says it was skipped instead of failing. Without it, a missing ::1 fails.
const NO_IPV6: &str = "MADOGUCHI_TEST_NO_IPV6";

#[test]
fn ipv6_listener_answers_with_rport() {
    if let Err(e) = std::net::UdpSocket::bind("[::1]:0") {
        if std::env::var_os(NO_IPV6).is_some() {
            eprintln!(
                "SKIPPED ipv6_listener_answers_with_rport: ::1 unavailable ({e}); {NO_IPV6} is set"
            );
            return;
        }
        panic!(
            "::1 is unavailable ({e}), so the IPv6 listener cannot be tested. Enable IPv6 on \
             loopback, or set {NO_IPV6}=1 to skip this test knowingly."
        );
    }
    let sw = Switch::start("ipv6", |t| {
        t.replacen(
            "listen = [\"127.0.0.1:",
            "listen = [\"[::1]:0\", \"127.0.0.1:",
            1,
        )
    });
    let v6 = *sw
        .sips
        .iter()
        .find(|a| a.is_ipv6())
        .expect("the switch announced no IPv6 listener");
    let u = std::net::UdpSocket::bind("[::1]:0").unwrap();
    u.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let me = u.local_addr().unwrap();
    let req = format!("OPTIONS sip:[::1] SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKv6;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@[::1]>;tag=v6\r\nTo: <sip:[::1]>\r\nCall-ID: v6-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    u.send_to(req.as_bytes(), v6).unwrap();
    let mut b = [0u8; 4096];
    let (n, from) = u.recv_from(&mut b).expect("an answer over IPv6");
    assert_eq!(from, v6, "answered from the IPv6 listener");
    let Ok(Message::Response(r)) = sip::parse_datagram(&b[..n]) else {
        panic!("not a response")
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.top_via().unwrap().rport(), Some(Some(me.port())));
}

fn queue_json(s: &Switch) -> serde_json::Value {
    serde_json::from_str(&http_get(s.http, "/api/v1/queues").expect("the queues API")).unwrap()
}

/// An OPTIONS over TCP from `s`'s own address, with `n` as branch and CSeq.
fn tcp_options(s: &std::net::TcpStream, n: u32, body: &str) -> String {
    let me = s.local_addr().unwrap();
    format!("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKtl{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=l{n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tl-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// Reads until the peer closes (true) or `secs` pass (false); what arrived goes to `got`.
fn closed_within(s: &mut std::net::TcpStream, secs: u64, got: &mut String) -> bool {
    let t0 = std::time::Instant::now();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < std::time::Duration::from_secs(secs) {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

/// Whether an OPTIONS on `s` gets its 200 within `secs`.
fn options_ok(s: &mut std::net::TcpStream, n: u32, secs: u64) -> bool {
    s.write_all(tcp_options(s, n, "").as_bytes()).unwrap();
    let mut got = String::new();
    let t0 = std::time::Instant::now();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < std::time::Duration::from_secs(secs) {
        if let Ok(k) = s.read(&mut buf) {
            if k == 0 {
                return false;
            }
            got.push_str(&String::from_utf8_lossy(&buf[..k]));
            if got.contains("SIP/2.0 200") && got.contains(&format!("CSeq: {n} OPTIONS")) {
                return true;
            }
        }
    }
    false
}

#[test]
fn tcp_oversized_messages_are_refused_and_idle_connections_handled() {
    // [sip] max_message_bytes = 65535 in the default configuration.
    let sw = Switch::start("tcp-limits", |t| t);
    let connect = || std::net::TcpStream::connect(sw.sip).unwrap();

    // A message whose body is larger than the limit: never answered 200, the
    // connection is closed (the stream cannot be resynchronised).
    let mut big = connect();
    let msg = tcp_options(&big, 1, &"x".repeat(70_000));
    let _ = big.write_all(msg.as_bytes());
    let mut got = String::new();
    assert!(
        closed_within(&mut big, 10, &mut got),
        "an oversized message left the connection open"
    );
    assert!(
        !got.contains("SIP/2.0 200"),
        "an oversized message was accepted: {got}"
    );

    // A header section that never ends, past the limit: closed too.
    let mut endless = connect();
    let head = tcp_options(&endless, 2, "");
    let head = head.split("\r\n\r\n").next().unwrap().to_string();
    let _ = endless.write_all(head.as_bytes());
    let filler = format!("X-Filler: {}\r\n", "y".repeat(1000));
    for _ in 0..70 {
        if endless.write_all(filler.as_bytes()).is_err() {
            break;
        }
    }
    let mut got = String::new();
    assert!(
        closed_within(&mut endless, 15, &mut got),
        "an endless header section left the connection open"
    );
    assert!(!got.contains("SIP/2.0 200"), "{got}");

    // Idle: a connection that has spoken stays usable across a pause longer than the
    // first-message deadline (10 s) — a phone registered over TCP must stay reachable —
    // while one that never sends a byte is closed after that deadline.
    let mut used = connect();
    assert!(options_ok(&mut used, 3, 5), "OPTIONS over TCP not answered");
    let mut silent = connect();
    let mut got = String::new();
    assert!(
        closed_within(&mut silent, 20, &mut got),
        "a connection that never sent a byte was kept open"
    );
    assert!(got.is_empty(), "{got}");
    assert!(
        options_ok(&mut used, 4, 5),
        "a connection in use was dropped after a pause"
    );
    // And none of this disturbed anyone else.
    let mut fresh = connect();
    assert!(
        options_ok(&mut fresh, 5, 5),
        "a new connection is not served"
    );
}

#[test]
fn the_faq_site_runs_beside_serve_and_stops_with_it() {
    // As in production: no --no-faq. The site has a fixed port (127.0.0.1:8443).
    let mut sw = Switch::start_with_faq("faq-beside", |t| t);
    let faq = sw.faq.unwrap_or_else(|| {
        panic!(
            "the FAQ site did not start beside the switch; log tail:\n{}",
            tail(&sw.log(), 40)
        )
    });
    let cert = sw.dir.join("data/faq/tls/cert.pem");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The site is a child process: it seeds its database and writes its certificate
    // after the switch's banner. Wait for it (bounded).
    let t0 = std::time::Instant::now();
    let page = loop {
        let got = rt.block_on(async {
            let mut c = faq::client::Client::new(faq, &cert)?;
            c.get("/").await
        });
        match got {
            Ok(p) => break p,
            Err(e) if t0.elapsed() > std::time::Duration::from_secs(90) => panic!(
                "GET https://{faq}/: {e}; log tail:\n{}",
                tail(&sw.log(), 40)
            ),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    };
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("<html"), "{}", page.text());
    // The switch beside it is whole: its API answers and SIP is served.
    assert_eq!(sw.status()["calls_active"], 0);
    let c = RawSip::new();
    c.send(
        sw.sip,
        &c.request("OPTIONS", "sip:127.0.0.1", "probe", "faq-1", 1, "", ""),
    );
    assert_eq!(
        c.final_response(3.0, &mut Vec::new()).map(|r| r.status),
        Some(200)
    );
    // SIGTERM stops both: a clean exit, and the site's port is closed.
    let st = sw.terminate();
    assert!(st.success(), "madoguchi exited with {st}");
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect_timeout(&faq, std::time::Duration::from_secs(1)).is_ok() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(15),
            "the FAQ site outlived the switch"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
