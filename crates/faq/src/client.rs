//! A small HTTPS/1.1 client with keep-alive and a cookie jar, trusting one certificate.
//! The integration tests and the bench drive the running service with it, so they test
//! the real TLS listener without pulling a full HTTP client into the build.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub struct Client {
    connector: TlsConnector,
    addr: SocketAddr,
    conn: Option<TlsStream<TcpStream>>,
    /// Cookies set by the server (name → value), sent back on every request.
    pub cookies: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Form encoding (`application/x-www-form-urlencoded`).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::web::html::url_enc(k),
                crate::web::html::url_enc(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    pub fn new(addr: SocketAddr, cert_pem: &Path) -> io::Result<Client> {
        let mut roots = rustls::RootCertStore::empty();
        for c in crate::tls::load_certs(cert_pem).map_err(|e| bad(e.to_string()))? {
            roots.add(c).map_err(|e| bad(e.to_string()))?;
        }
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Client {
            connector: TlsConnector::from(Arc::new(cfg)),
            addr,
            conn: None,
            cookies: BTreeMap::new(),
        })
    }

    async fn connect(&mut self) -> io::Result<()> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| bad(e.to_string()))?;
        self.conn = Some(self.connector.connect(name, tcp).await?);
        Ok(())
    }

    pub async fn get(&mut self, path: &str) -> io::Result<Resp> {
        self.request("GET", path, &[], b"").await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> io::Result<Resp> {
        let body = form_encode(fields);
        self.request(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .await
    }

    /// A multipart form with text fields and one file.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> io::Result<Resp> {
        let boundary = "----faqtestboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.request("POST", path, &[("content-type", &ct)], &body)
            .await
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: faq-test-client\r\nContent-Length: {}\r\n", body.len());
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut msg = head.into_bytes();
        msg.extend_from_slice(body);
        // A kept-alive connection may have been closed by the server meanwhile: retry
        // once on a fresh one.
        let reused = self.conn.is_some();
        match self.exchange(&msg).await {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.conn = None;
                self.exchange(&msg).await
            }
            Err(e) => Err(e),
        }
    }

    async fn exchange(&mut self, msg: &[u8]) -> io::Result<Resp> {
        if self.conn.is_none() {
            self.connect().await?;
        }
        let result = self.exchange_on_conn(msg).await;
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    async fn exchange_on_conn(&mut self, msg: &[u8]) -> io::Result<Resp> {
        let conn = self.conn.as_mut().ok_or_else(|| bad("no connection"))?;
        conn.write_all(msg).await?;
        conn.flush().await?;
        let mut buf = Vec::with_capacity(16 * 1024);
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before response",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut rest = buf[head_end + 4..].to_vec();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let close = get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = if let Some(len) = get("content-length") {
            let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
            while rest.len() < len {
                let mut chunk = vec![0u8; (len - rest.len()).min(64 * 1024)];
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "body cut short",
                    ));
                }
                rest.extend_from_slice(&chunk[..n]);
            }
            rest.truncate(len);
            rest
        } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            read_chunked(conn, rest).await?
        } else {
            conn.read_to_end(&mut rest).await?;
            self.conn = None;
            rest
        };
        for (k, v) in &headers {
            if k == "set-cookie" {
                if let Some((name, value)) = v.split(';').next().and_then(|nv| nv.split_once('=')) {
                    if value.is_empty() || v.to_ascii_lowercase().contains("max-age=0") {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies
                            .insert(name.trim().to_string(), value.to_string());
                    }
                }
            }
        }
        if close {
            self.conn = None;
        }
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

async fn read_chunked(conn: &mut TlsStream<TcpStream>, mut buf: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        // Need a full size line.
        let line_end = loop {
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                break p;
            }
            fill(conn, &mut buf).await?;
        };
        let size_str = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            fill(conn, &mut buf).await?;
        }
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

async fn fill(conn: &mut TlsStream<TcpStream>, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = conn.read(&mut chunk).await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "chunked body cut short",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}
