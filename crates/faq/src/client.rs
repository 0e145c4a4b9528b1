//! An HTTPS client for tests and benches that drive a running service (this crate's, the
//! history sidecar's, the e2e tests'): `ureq` (maintained, the workspace's client, already
//! built for the CLI) with the service's certificate as the only root, redirects not
//! followed, error statuses returned as responses, and a cookie jar. The async methods run
//! ureq's blocking calls off the runtime's workers. (It replaces a hand-written HTTP/1.1
//! client of ~300 lines.)

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

pub struct Client {
    agent: ureq::Agent,
    /// Keeps no connection: the one retry of a request whose pooled connection closed.
    fresh_agent: ureq::Agent,
    base: String,
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

/// Form encoding (`application/x-www-form-urlencoded`).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The same request again (an `http::Request` is not `Clone`: its extensions may not be).
fn copy_of(req: &ureq::http::Request<Vec<u8>>) -> ureq::http::Request<Vec<u8>> {
    let mut c = ureq::http::Request::new(req.body().clone());
    *c.method_mut() = req.method().clone();
    *c.uri_mut() = req.uri().clone();
    *c.headers_mut() = req.headers().clone();
    c
}

fn bad(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl Client {
    pub fn new(addr: SocketAddr, cert_pem: &Path) -> io::Result<Client> {
        let pem = std::fs::read(cert_pem)?;
        let cert = ureq::tls::Certificate::from_pem(&pem).map_err(bad)?;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
            .build();
        let config = |pool: bool| {
            let b = ureq::Agent::config_builder()
                .tls_config(tls.clone())
                .http_status_as_error(false)
                .max_redirects(0);
            let b = if pool { b } else { b.max_idle_connections(0) };
            ureq::Agent::from(b.build())
        };
        Ok(Client {
            agent: config(true),
            fresh_agent: config(false),
            base: format!("https://{addr}"),
            cookies: BTreeMap::new(),
        })
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
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("user-agent", "faq-test-client");
        let has_cookie_header = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("cookie"));
        if !self.cookies.is_empty() && !has_cookie_header {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", c.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.to_vec()).map_err(bad)?;
        let agent = self.agent.clone();
        let fresh = self.fresh_agent.clone();
        let resp = tokio::task::spawn_blocking(move || -> io::Result<Resp> {
            // A pooled keep-alive connection may be closed by the server just as the
            // request goes out (it answered the previous request without reading all of
            // its body). No response came, so send it once more on a new connection, as
            // browsers do; a second failure is returned.
            let retry = copy_of(&req);
            let mut r = match agent.run(req) {
                Ok(r) => r,
                Err(ureq::Error::Io(_) | ureq::Error::Protocol(_)) => {
                    fresh.run(retry).map_err(bad)?
                }
                Err(e) => return Err(bad(e)),
            };
            let status = r.status().as_u16();
            let headers = r
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let body = r
                .body_mut()
                .with_config()
                .limit(256 * 1024 * 1024)
                .read_to_vec()
                .map_err(bad)?;
            Ok(Resp {
                status,
                headers,
                body,
            })
        })
        .await
        .map_err(bad)??;
        for (k, v) in &resp.headers {
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.to_ascii_lowercase().contains("max-age=0") {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies
                            .insert(name.trim().to_string(), value.to_string());
                    }
                }
            }
        }
        Ok(resp)
    }
}
