//! HTTPS on the ops port (issue 9: "the ops HTTP port can serve HTTPS, same certificate
//! handling as the FAQ site"): with `[http] tls = true` the API, metrics and logins are
//! served over TLS with the switch's certificate (generated self-signed into data/tls/,
//! key 0600), which a client trusting it verifies for 127.0.0.1; plain HTTP there gets
//! no answer, and the login rules are the same as over HTTP.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Serve {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `madoguchi serve` on the default configuration with every listener on port 0 and
/// HTTPS on the ops port; returns the process and the ops address from its banner.
fn serve_https(name: &str) -> (Serve, SocketAddr) {
    let dir = workdir(name);
    let text = default_toml()
        .replace("\"127.0.0.1:5060\"", "\"127.0.0.1:0\"")
        .replace("\"127.0.0.1:5061\"", "\"127.0.0.1:0\"")
        .replace("listen = \"127.0.0.1:5080\"", "listen = \"127.0.0.1:0\"")
        .replace("listen = \"127.0.0.1:5082\"", "listen = \"127.0.0.1:0\"")
        .replace(
            "listen = \"127.0.0.1:8080\"",
            "listen = \"127.0.0.1:0\"\ntls = true",
        )
        .replace(
            "data_dir = \"data\"",
            &format!("data_dir = \"{}\"", dir.join("data").display()),
        )
        .replace(
            "recordings_dir = \"recordings\"",
            &format!("recordings_dir = \"{}\"", dir.join("recordings").display()),
        )
        .replace(
            "prompts_dir = \"prompts/ja\"",
            &format!(
                "prompts_dir = \"{}\"",
                repo_root().join("prompts/ja").display()
            ),
        );
    let config = dir.join("madoguchi.toml");
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["serve", "--no-faq", "--no-history", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut s = Serve { child, dir };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if let Some(st) = s.child.try_wait().unwrap() {
            panic!("serve exited ({st}):\n{}", serve_log(&s));
        }
        let log = serve_log(&s);
        if let Some(addr) = log
            .lines()
            .find(|l| l.contains("metrics and API"))
            .and_then(|l| l.split("https://").nth(1))
            .and_then(|r| r.strip_suffix("/metrics"))
        {
            let addr: SocketAddr = addr.trim().parse().unwrap();
            return (s, addr);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no https:// ops address in the banner:\n{}", serve_log(&s));
}

fn serve_log(s: &Serve) -> String {
    std::fs::read_to_string(s.dir.join("serve.log")).unwrap_or_default()
}

/// An HTTP/1.1 request over TLS, trusting only the switch's certificate for the name
/// 127.0.0.1: (status, body).
fn https(s: &Serve, addr: SocketAddr, path: &str, auth: Option<&str>) -> (u16, String) {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in
        rustls::pki_types::CertificateDer::pem_file_iter(s.dir.join("data/tls/cert.pem")).unwrap()
    {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .expect("the handshake verifies the switch's certificate for 127.0.0.1");
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

#[test]
fn the_ops_port_serves_https_with_the_switchs_certificate() {
    let (s, addr) = serve_https("sec-https");
    let (code, body) = https(&s, addr, "/api/v1/status", None);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("calls_active"), "{body}");
    let (code, body) = https(&s, addr, "/metrics", None);
    assert_eq!(code, 200);
    assert!(body.contains("madoguchi_"), "metrics over TLS");
    // The same login rules as over HTTP: the registrations need a supervisor.
    let (code, _) = https(&s, addr, "/api/v1/registrations", None);
    assert_eq!(code, 401);
    let login = std::fs::read_to_string(s.dir.join("data/supervisor-password.txt")).unwrap();
    let mut l = login.lines();
    let (user, pw) = (l.next().unwrap(), l.next().unwrap());
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    );
    let (code, body) = https(&s, addr, "/api/v1/registrations", Some(&basic));
    assert_eq!(code, 200, "{body}");

    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = plain.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        !String::from_utf8_lossy(&got).contains("calls_active"),
        "plain HTTP must not be served on the HTTPS port"
    );
}

/// The configuration file of `serve_https` with the ops port it really bound (the CLI
/// derives its API address from it).
fn pin_ops_port(s: &Serve, addr: SocketAddr) -> std::path::PathBuf {
    let config = s.dir.join("madoguchi.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "listen = \"127.0.0.1:0\"\ntls = true",
        &format!("listen = \"{addr}\"\ntls = true"),
    );
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn the_cli_speaks_https_to_the_ops_port_and_trusts_the_switchs_certificate() {
    let (s, addr) = serve_https("sec-https-cli");
    let config = pin_ops_port(&s, addr);
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .args(args)
            .current_dir(&s.dir)
            .env_remove("MADOGUCHI_PASSWORD")
            .output()
            .unwrap()
    };
    // The API from the configuration: https://, the switch's own certificate trusted.
    let out = cli(&[
        "agent",
        "1002",
        "login",
        "--who",
        "cli-https",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "stdout {}\nstderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, queues) = https(&s, addr, "/api/v1/queues", None);
    assert_eq!(code, 200, "{queues}");
    let q: serde_json::Value = serde_json::from_str(&queues).unwrap();
    assert!(
        q["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["name"] == "1002" && a["status"] == "Available"),
        "the CLI logged 1002 in over HTTPS: {queues}"
    );

    // An https:// API given by hand is verified: without the certificate the
    // self-signed switch is refused, with --ca it is trusted.
    let api = format!("https://{addr}");
    let out = cli(&[
        "agent",
        "1002",
        "logout",
        "--who",
        "cli-https",
        "--config",
        config.to_str().unwrap(),
        "--api",
        &api,
    ]);
    assert!(
        !out.status.success(),
        "an unverified certificate was accepted"
    );
    let cert = s.dir.join("data/tls/cert.pem");
    let out = cli(&[
        "agent",
        "1002",
        "logout",
        "--who",
        "cli-https",
        "--config",
        config.to_str().unwrap(),
        "--api",
        &api,
        "--ca",
        cert.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_history_sidecar_reads_the_event_feed_over_https() {
    let (s, addr) = serve_https("sec-https-feed");
    let config = pin_ops_port(&s, addr);
    let hist = s.dir.join("hist");
    std::fs::create_dir_all(&hist).unwrap();
    let log = s.dir.join("history.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("history")
        .arg("--config")
        .arg(&config)
        .args(["--stop-on-stdin-eof", "--listen"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--data")
        .arg(&hist)
        .arg("--switch-api")
        .arg(format!("https://{addr}"))
        .arg("--switch-cert")
        .arg(s.dir.join("data/tls/cert.pem"))
        .arg("--switch-login")
        .arg(s.dir.join("data/supervisor-password.txt"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(s.dir.join("history.err")).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let mut ok = false;
    while t0.elapsed() < Duration::from_secs(20) {
        let text = std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(s.dir.join("history.err")).unwrap_or_default();
        if text.contains("reading the switch's event feed") {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        ok,
        "history never read the feed over HTTPS:\n{}{}",
        std::fs::read_to_string(&log).unwrap_or_default(),
        std::fs::read_to_string(s.dir.join("history.err")).unwrap_or_default()
    );
}
