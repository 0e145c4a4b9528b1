//! Issue 9: the FAQ site's connections after the TLS handshake are capped per address and
//! time out when idle or when a request's head drips in (slowloris), so one client cannot
//! hold the server's sockets. Real TLS connections on 127.0.0.1; the limits are small here
//! so the test is quick, the defaults are in `ConnLimits::default`.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

struct Site {
    running: faq::RunningFaq,
}

async fn start() -> Site {
    let dir = std::env::temp_dir().join(format!(
        "faq-conn-{}-{}",
        std::process::id(),
        faq::auth::random_hex(4)
    ));
    let cfg = faq::FaqConfig {
        data_dir: dir,
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_password: Some("conn-admin-pw-1".into()),
        limits: faq::conn_limits::ConnLimits {
            max_total: 64,
            max_per_address: 3,
            idle: Duration::from_secs(2),
            header: Duration::from_secs(2),
            ..Default::default()
        },
        ..faq::FaqConfig::default()
    };
    Site {
        running: faq::start(cfg).await.expect("service starts"),
    }
}

async fn tls(site: &Site) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in faq::tls::load_certs(&site.running.cert_path).unwrap() {
        roots.add(c).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(site.running.addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
}

/// Reads until the server closes (Ok(bytes)) or `limit` passes (Err).
async fn closed_within(s: &mut TlsStream<TcpStream>, limit: Duration) -> Result<Vec<u8>, ()> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .map(|_| got)
    .map_err(|_| ())
}

async fn get_ok(site: &Site) -> bool {
    let Ok(mut s) = tls(site).await else {
        return false;
    };
    let req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if s.write_all(req).await.is_err() {
        return false;
    }
    let got = closed_within(&mut s, Duration::from_secs(20))
        .await
        .unwrap_or_default();
    got.starts_with(b"HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_connections_are_closed() {
    let site = start().await;
    // Connected, handshake done, nothing sent: closed by the idle timeout.
    let mut idle = tls(&site).await.unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(30))
            .await
            .is_ok(),
        "idle connection kept"
    );

    // A header line every 500 ms keeps the connection busy but never ends the head.
    let mut slow = tls(&site).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for i in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if slow
            .write_all(format!("X-Drip-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        // Anything from the server (a close, an error, a 408) ends the drip.
        let mut b = [0u8; 512];
        if tokio::time::timeout(Duration::from_millis(1), slow.read(&mut b))
            .await
            .is_ok()
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a dripping request head was served for 30 s");
    // Normal requests still work.
    assert!(get_ok(&site).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let site = start().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = tls(&site).await.unwrap();
        // Keep them alive past the idle timeout's reach for a moment: one request each.
        s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // The fourth from the same address is closed before any TLS.
    let fourth = tls(&site).await;
    assert!(
        fourth.is_err(),
        "a fourth connection from one address was accepted"
    );
    drop(held);
    // The places come back when connections close.
    let mut ok = false;
    for _ in 0..100 {
        if get_ok(&site).await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "new connections accepted after the others closed");
}
