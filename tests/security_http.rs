//! The ops HTTP port under abuse (issue 9 High 3, High 4, Medium): connection caps and
//! header deadlines, argon2 bounded, lockouts per (user, source) with one counter for
//! the API and the recordings pages, logins for the lists that name people, and
//! state changes only with a JSON body.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn connect_from(src: &str, to: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&format!("{src}:0").parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.connect(&to.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// One HTTP/1.1 request from `src`; (status, body).
fn http_from(
    src: &str,
    to: SocketAddr,
    method: &str,
    path: &str,
    login: Option<(&str, &str)>,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = connect_from(src, to);
    let auth = login
        .map(|(u, p)| {
            format!("Authorization: Basic {}\r\n", {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            })
        })
        .unwrap_or_default();
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n{auth}{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (code, body)
}

fn password(sw: &Switch) -> String {
    std::fs::read_to_string(sw.login_file())
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string()
}

/// Peak resident memory of the switch (VmHWM), in KiB.
fn peak_rss_kib(sw: &Switch) -> u64 {
    let st = std::fs::read_to_string(format!("/proc/{}/status", sw.child.id())).unwrap();
    st.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn anonymous_logins_in_parallel_do_not_run_argon2_without_bound() {
    let sw = Switch::start("sec-http-argon", |t| t);
    let before = peak_rss_kib(&sw);
    // 40 made-up users at once (no lockout applies to them): each login costs an
    // argon2 check of 19 MiB; unbounded, that is 760 MiB.
    let http = sw.http;
    let threads: Vec<_> = (0..40)
        .map(|i| {
            std::thread::spawn(move || {
                // Four addresses: one address may hold at most 32 connections.
                http_from(
                    &format!("127.0.0.{}", 10 + i % 4),
                    http,
                    "POST",
                    "/api/v1/operating/clear",
                    Some((&format!("intruder{i}"), "guess")),
                    Some("application/json"),
                    "{}",
                )
                .0
            })
        })
        .collect();
    let codes: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        codes.iter().all(|c| matches!(c, 401 | 503)),
        "refused (or told to retry): {codes:?}"
    );
    let grown = peak_rss_kib(&sw).saturating_sub(before);
    assert!(
        grown < 200 * 1024,
        "peak memory grew by {} MiB checking 40 logins",
        grown / 1024
    );
    // The real supervisor still gets in.
    let pw = password(&sw);
    let (code, _) = http_from(
        "127.0.0.1",
        http,
        "GET",
        "/api/v1/recordings",
        Some(("supervisor", &pw)),
        None,
        "",
    );
    assert_eq!(code, 200);
}

#[test]
fn ops_port_connections_are_capped_and_silent_ones_closed() {
    let sw = Switch::start("sec-http-caps", |t| t);
    // The default cap is 32 connections per source address.
    let mut silent: Vec<TcpStream> = (0..32)
        .map(|_| connect_from("127.0.0.1", sw.http))
        .collect();
    let mut over = connect_from("127.0.0.1", sw.http);
    over.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    let r = over.read(&mut buf);
    assert!(
        matches!(&r, Ok(0))
            || r.as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the 33rd connection from one address is closed at once: {r:?}"
    );
    let (code, _) = http_from(
        "127.0.0.2",
        sw.http,
        "GET",
        "/api/v1/status",
        None,
        None,
        "",
    );
    assert_eq!(code, 200, "other addresses are served meanwhile");
    // A connection that never completes its header is closed (10 s deadline; bounded
    // wait 25 s).
    silent[0]
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    for (i, s) in silent.iter_mut().take(2).enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(25))).unwrap();
        let mut out = Vec::new();
        let r = s.read_to_end(&mut out);
        assert!(
            r.is_ok(),
            "connection {i} (silent or half a header) is closed: {r:?}"
        );
    }
}

#[test]
fn an_attacker_locks_only_themself_out_and_one_counter_covers_api_and_recordings() {
    let sw = Switch::start("sec-http-lockout", |t| t);
    let pw = password(&sw);
    // Five wrong passwords for "supervisor" from 127.0.0.2: 3 on the API, 2 on the
    // recordings pages.
    let mut last = 0;
    for i in 0..5 {
        let (code, _) = if i < 3 {
            http_from(
                "127.0.0.2",
                sw.http,
                "POST",
                "/api/v1/operating/clear",
                Some(("supervisor", "guess")),
                Some("application/json"),
                "{}",
            )
        } else {
            http_from(
                "127.0.0.2",
                sw.http,
                "GET",
                "/recordings",
                Some(("supervisor", "guess")),
                None,
                "",
            )
        };
        last = code;
    }
    assert_eq!(last, 429, "the fifth failure, counted across both, locks");
    let (code, _) = http_from(
        "127.0.0.2",
        sw.http,
        "GET",
        "/api/v1/recordings",
        Some(("supervisor", &pw)),
        None,
        "",
    );
    assert_eq!(code, 429, "locked from the attacker's address");
    // The real supervisor at another desk is not locked out.
    let (code, _) = http_from(
        "127.0.0.1",
        sw.http,
        "GET",
        "/api/v1/recordings",
        Some(("supervisor", &pw)),
        None,
        "",
    );
    assert_eq!(code, 200, "the supervisor's own desk still logs in");
}

#[test]
fn lists_naming_people_need_a_login_and_changes_need_json() {
    let sw = Switch::start("sec-http-login", |t| t);
    let pw = password(&sw);
    for path in ["/api/v1/registrations", "/api/v1/operating/audit"] {
        let (code, _) = http_from("127.0.0.1", sw.http, "GET", path, None, None, "");
        assert_eq!(code, 401, "{path} without a login");
        let (code, _) = http_from(
            "127.0.0.1",
            sw.http,
            "GET",
            path,
            Some(("supervisor", &pw)),
            None,
            "",
        );
        assert_eq!(code, 200, "{path} with a login");
    }
    // A cross-site form can send text/plain or no type without a preflight: refused.
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (code, _) = http_from(
            "127.0.0.1",
            sw.http,
            "POST",
            "/api/v1/agents/1001/pause",
            Some(("supervisor", &pw)),
            ct,
            "",
        );
        assert_eq!(code, 415, "POST with Content-Type {ct:?}");
    }
    let (code, body) = http_from(
        "127.0.0.1",
        sw.http,
        "POST",
        "/api/v1/operating/clear",
        Some(("supervisor", &pw)),
        Some("application/json"),
        "{}",
    );
    assert_eq!(code, 200, "{body}");
    // A huge, multi-line "who" does not land in the audit log as sent.
    let long = format!("forged\\nline{}", "x".repeat(100_000));
    let (code, body) = http_from(
        "127.0.0.1",
        sw.http,
        "POST",
        "/api/v1/operating/night",
        Some(("supervisor", &pw)),
        Some("application/json"),
        &format!("{{\"on\": true, \"who\": \"{long}\"}}"),
    );
    assert_eq!(code, 200, "{body}");
    let (_, audit) = http_from(
        "127.0.0.1",
        sw.http,
        "GET",
        "/api/v1/operating/audit",
        Some(("supervisor", &pw)),
        None,
        "",
    );
    assert!(
        audit.len() < 10_000,
        "audit log holds a cut name ({} bytes)",
        audit.len()
    );
    assert!(!audit.contains("\\nline"), "no newline from the request");
}
