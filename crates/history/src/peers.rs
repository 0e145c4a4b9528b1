//! The two services the desk talks to over HTTP: the switch's ops API (the department
//! directory, the operator's state and its buttons) and the FAQ site's JSON API (the
//! search box beside the screen pop, the access ranking on the homepage). Blocking ureq
//! calls with a 5-second limit, run on the blocking pool by the callers; a peer that is
//! down is an `Err` with a sentence the page shows, never a hung request.

use crate::switchfeed::{b64, credentials, SwitchFeed};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

fn read_json(mut r: ureq::http::Response<ureq::Body>) -> Result<(u16, serde_json::Value), String> {
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    let v = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, v))
}

/// The switch's ops API, logged in as the supervisor account the sidecar was given.
pub struct SwitchApi {
    base: String,
    feed: SwitchFeed,
    agent: ureq::Agent,
}

impl SwitchApi {
    pub fn new(feed: &SwitchFeed) -> SwitchApi {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        SwitchApi {
            base: format!("http://{}", feed.api),
            feed: feed.clone(),
            agent,
        }
    }

    fn auth(&self) -> Result<String, String> {
        let (u, p) = credentials(&self.feed.login).ok_or_else(|| {
            format!(
                "交換機のログイン情報がありません（{}）",
                self.feed.login.display()
            )
        })?;
        Ok(format!("Basic {}", b64(format!("{u}:{p}").as_bytes())))
    }

    fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .map_err(|e| format!("交換機に接続できません: {e}"))?;
        match read_json(r)? {
            (200, v) => Ok(v),
            (s, v) => Err(format!(
                "交換機の応答 {s}: {}",
                v["error"].as_str().unwrap_or("")
            )),
        }
    }

    /// Departments (label, extension, outside number, hours, open now) and the pause
    /// reasons.
    pub fn directory(&self) -> Result<serde_json::Value, String> {
        self.get("/api/v1/directory")
    }

    /// The agent's line of the ACD snapshot (`status`, `pause_reason`, `since`); None
    /// when the switch has no such agent.
    pub fn agent_state(&self, agent: &str) -> Result<Option<serde_json::Value>, String> {
        let q = self.get("/api/v1/queues")?;
        Ok(q["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == agent)
            .cloned())
    }

    /// `op`: pause (with a reason), unpause, end-wrapup; `who` goes to the switch's log.
    /// A refusal comes back as the switch's sentence.
    pub fn agent_op(&self, agent: &str, op: &str, reason: &str, who: &str) -> Result<(), String> {
        let body = serde_json::json!({
            "reason": (!reason.is_empty()).then_some(reason),
            "who": who,
        });
        let r = self
            .agent
            .post(format!(
                "{}/api/v1/agents/{}/{op}",
                self.base,
                url_path(agent)
            ))
            .header("authorization", &self.auth()?)
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .map_err(|e| format!("交換機に接続できません: {e}"))?;
        match read_json(r)? {
            (200, _) => Ok(()),
            (s, v) => Err(format!(
                "交換機が受け付けませんでした（{s}）: {}",
                v["error"].as_str().unwrap_or("")
            )),
        }
    }
}

/// Percent-encoding for a path segment or query value (the FAQ site's, shared).
fn url_path(s: &str) -> String {
    faq::web::html::url_enc(s)
}

/// Where the FAQ site's API is.
#[derive(Debug, Clone)]
pub struct FaqLink {
    /// e.g. `https://127.0.0.1:8443`.
    pub url: String,
    /// The FAQ site's certificate to trust (its self-signed one); None: the system's roots.
    pub cert: Option<PathBuf>,
    /// An API key of the FAQ site: operators then also find internal entries.
    pub api_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaqHit {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub category: String,
    /// The entry's page on the FAQ site (absolute).
    pub url: String,
}

pub struct FaqApi {
    link: FaqLink,
    /// Built at the first use: the FAQ site, started beside us, may not have generated
    /// its certificate yet when we start.
    agent: std::sync::Mutex<Option<ureq::Agent>>,
}

impl FaqApi {
    pub fn new(link: &FaqLink) -> FaqApi {
        FaqApi {
            link: link.clone(),
            agent: std::sync::Mutex::new(None),
        }
    }

    fn agent(&self) -> Result<ureq::Agent, String> {
        let mut slot = self.agent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = slot.as_ref() {
            return Ok(a.clone());
        }
        let mut b = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0);
        if let Some(cert) = &self.link.cert {
            let pem = std::fs::read(cert)
                .map_err(|e| format!("FAQサイトの証明書 {} を読めません: {e}", cert.display()))?;
            let c = ureq::tls::Certificate::from_pem(&pem)
                .map_err(|e| format!("FAQサイトの証明書 {}: {e}", cert.display()))?;
            b = b.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&[c.to_owned()]))
                    .build(),
            );
        }
        let a: ureq::Agent = b.build().into();
        *slot = Some(a.clone());
        Ok(a)
    }

    fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let mut req = self
            .agent()?
            .get(format!("{}{path}", self.link.url.trim_end_matches('/')));
        if let Some(k) = &self.link.api_key {
            req = req.header("x-api-key", k);
        }
        let r = req
            .call()
            .map_err(|e| format!("FAQサイトに接続できません: {e}"))?;
        match read_json(r)? {
            (200, v) => Ok(v),
            (s, v) => Err(format!(
                "FAQサイトの応答 {s}: {}",
                v["error"].as_str().unwrap_or("")
            )),
        }
    }

    fn hits(&self, v: &serde_json::Value, key: &str) -> Vec<FaqHit> {
        let base = self.link.url.trim_end_matches('/');
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(FaqHit {
                    id: e["id"].as_str()?.to_string(),
                    question: e["question"].as_str()?.to_string(),
                    category: e["category"].as_str().unwrap_or("").to_string(),
                    url: format!("{base}{}", e["url"].as_str().unwrap_or("/")),
                })
            })
            .collect()
    }

    /// The entries citizens opened most in the last week, most first.
    pub fn ranking(&self, limit: usize) -> Result<Vec<FaqHit>, String> {
        let v = self.get(&format!("/api/v1/faq/ranking?days=7&limit={limit}"))?;
        Ok(self.hits(&v, "results"))
    }

    /// The FAQ site's own search (Japanese, readings, synonyms), best first.
    pub fn search(&self, q: &str, limit: usize) -> Result<Vec<FaqHit>, String> {
        let private = if self.link.api_key.is_some() {
            "&include_private=true"
        } else {
            ""
        };
        let v = self.get(&format!(
            "/api/v1/faq/search?q={}&limit={limit}{private}",
            url_path(q)
        ))?;
        Ok(self.hits(&v, "results"))
    }
}
