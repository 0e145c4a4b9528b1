//! A minimal HTTP/1.1 client and the Prometheus exposition parser the tests read
//! the switch's API and /metrics with.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `key="value"` pairs of a Prometheus label set (the text between the braces), with
/// the exposition format's escapes (`\\`, `\"`, `\n`) undone.
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("label without '=': {text:?}"));
        let after = after
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("label value not quoted: {text:?}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("dangling escape: {text:?}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {text:?}"),
            }
        };
        out.push((key.trim().to_string(), value));
        rest = after[end + 1..]
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
    }
    out
}

/// See `Switch::metric`; `exposition` is the text of /metrics.
pub fn metric_in(exposition: &str, name: &str, labels: &str) -> f64 {
    let want = parse_labels(labels);
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            // `name{labels} value [timestamp]` or `name value [timestamp]`.
            let (series, rest) = match l.find('{') {
                Some(b) => {
                    let e = l.rfind('}').unwrap_or_else(|| panic!("bad line {l:?}"));
                    (&l[..b], Some((&l[b + 1..e], &l[e + 1..])))
                }
                None => (l.split_whitespace().next().unwrap_or(""), None),
            };
            if series != name {
                return None;
            }
            let (have, value) = match rest {
                Some((ls, v)) => (parse_labels(ls), v),
                None => (Vec::new(), &l[series.len()..]),
            };
            let value: f64 = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no value in {l:?}"));
            want.iter().all(|w| have.contains(w)).then_some(value)
        })
        .fold(0.0, |a, b| a + b)
}

/// A minimal HTTP/1.1 GET on loopback (no client library needed for tests).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    http_request(addr, "GET", path, None).and_then(|(code, body)| (code == 200).then_some(body))
}

pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Option<(u16, String)> {
    http_request_as(addr, method, path, body, None)
}

/// The same with an `Authorization: Basic` login (see `Switch::supervisor`).
pub fn http_request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    basic: Option<&str>,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = body.unwrap_or("");
    let auth = basic
        .map(|b| format!("Authorization: Basic {b}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).to_string();
    let code: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    // Chunked bodies (axum's default for streams) are rare here; JSON and text come whole.
    Some((code, body))
}
