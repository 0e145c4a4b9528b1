//! The registrar (RFC 3261 §10.3): REGISTER processing and the location service the
//! switch looks operators' phones up in. Sans-IO except `save`/`load` (store.rs): the
//! caller authenticates first (§10.3 steps 2–3, see `crate::auth`), passes the time in,
//! and turns the result into the 200 / 4xx with `RegisterOk::to_response` /
//! `RegisterError::to_response`.

mod binding;
mod store;

pub use binding::Binding;
pub use store::Snapshot;

use crate::message::{default_reason, NameAddr, Request, Response, SipHeaders, Uri};
use binding::{contact_spec, parse_delta, same_uri, ContactSpec};
use std::collections::HashMap;
use std::net::SocketAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter non-zero requests get 423 Interval Too Brief (§10.3 step 7).
    pub min_expires: u32,
    /// Longer requests are shortened to this (§10.3 step 7 allows the registrar to
    /// decrease the interval).
    pub max_expires: u32,
    /// When neither the contact's `expires` nor an Expires header says (§10.2.1.1).
    pub default_expires: u32,
    pub max_contacts_per_aor: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts_per_aor: 10,
        }
    }
}

/// Why a REGISTER was refused. No binding changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("400 bad REGISTER: {0}")]
    BadRequest(&'static str),
    /// The Request-URI is not sip/sips (RFC 3261 §8.2.2.1).
    #[error("416 Request-URI scheme not supported")]
    UnsupportedUriScheme,
    /// The AOR has no user, or its domain is not ours (§10.3 steps 1 and 5).
    #[error("404 address-of-record not served here: {0}")]
    NotFound(&'static str),
    #[error("423 expiration below the minimum {min_expires} s")]
    IntervalTooBrief { min_expires: u32 },
    /// The AOR would exceed `max_contacts_per_aor` (a policy limit; RFC 3261 leaves the
    /// status open, 403 says "retrying will not help").
    #[error("403 more than {max} contacts for one address-of-record")]
    TooManyContacts { max: usize },
}

impl RegisterError {
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::BadRequest(_) => 400,
            RegisterError::UnsupportedUriScheme => 416,
            RegisterError::NotFound(_) => 404,
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::TooManyContacts { .. } => 403,
        }
    }

    /// The final response, with Min-Expires on a 423 (RFC 3261 §10.3 step 7, §20.23).
    pub fn to_response(&self, req: &Request, to_tag: Option<&str>) -> Response {
        let mut r = Response::to_request(req, self.status(), to_tag);
        match self {
            RegisterError::IntervalTooBrief { min_expires } => {
                r.headers.push("Min-Expires", min_expires.to_string());
            }
            RegisterError::BadRequest(why) | RegisterError::NotFound(why) => {
                r.reason = format!("{} ({why})", default_reason(self.status()));
            }
            _ => {}
        }
        r
    }
}

/// A REGISTER that was accepted: the AOR's bindings after it (§10.3 step 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterOk {
    pub aor: String,
    /// Current bindings, highest q first then most recently refreshed.
    pub bindings: Vec<Binding>,
    /// Contact URIs whose update was skipped because this Call-ID already registered
    /// them with an equal or higher CSeq (§10.3 step 7: an out-of-order or repeated
    /// REGISTER must not undo a newer one).
    pub ignored: Vec<String>,
    pub now: u64,
}

impl RegisterOk {
    /// Contact values for the 200, each with the seconds remaining as `expires`.
    pub fn contact_header_values(&self) -> Vec<String> {
        self.bindings
            .iter()
            .map(|b| b.contact_header_value(self.now))
            .collect()
    }

    /// The 200 OK, listing every current binding (§10.3 step 8).
    pub fn to_response(&self, req: &Request, to_tag: Option<&str>) -> Response {
        let mut r = Response::to_request(req, 200, to_tag);
        for c in self.contact_header_values() {
            r.headers.push("Contact", c);
        }
        r
    }
}

/// The location service for one domain.
#[derive(Clone, Debug)]
pub struct Registrar {
    domain: String,
    aliases: Vec<String>,
    cfg: RegistrarConfig,
    /// Bindings by AOR user part (unescaped, case-sensitive, §19.1.4).
    by_user: HashMap<String, Vec<Binding>>,
}

impl Registrar {
    pub fn new(domain: &str, cfg: RegistrarConfig) -> Registrar {
        Registrar {
            domain: domain.to_ascii_lowercase(),
            aliases: Vec::new(),
            cfg,
            by_user: HashMap::new(),
        }
    }

    /// Another host name or IP address phones may put in To for this domain (phones are
    /// often set up with the switch's IP as their domain). AORs are stored under `domain`.
    pub fn add_alias(&mut self, host: &str) {
        self.aliases.push(host.to_ascii_lowercase());
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.cfg
    }

    fn is_ours(&self, host: &str) -> bool {
        let h = host.to_ascii_lowercase();
        h == self.domain || self.aliases.contains(&h)
    }

    /// The AOR user of a REGISTER, from To (§10.3 step 5): it must be a SIP or SIPS URI
    /// (RFC 4475 §3.3.4 unksm2), with a user, in our domain. The canonical form drops URI
    /// parameters and unescapes the user. The caller compares it with the authenticated
    /// user (§10.3 step 6).
    pub fn aor_user(&self, req: &Request) -> Result<String, RegisterError> {
        let to = req
            .headers
            .get("To")
            .ok_or(RegisterError::BadRequest("no To header"))?;
        let to = NameAddr::parse(to).map_err(|_| RegisterError::BadRequest("unparseable To"))?;
        let sip = to
            .uri
            .as_sip()
            .ok_or(RegisterError::BadRequest("To is not a SIP or SIPS URI"))?;
        if !self.is_ours(&sip.host) {
            return Err(RegisterError::NotFound("domain of To is not ours"));
        }
        match to.uri.user() {
            Some(u) if !u.is_empty() => Ok(u),
            _ => Err(RegisterError::NotFound("To has no user part")),
        }
    }

    /// Process a REGISTER whose sender has already been authenticated (§10.3 steps 4–8).
    /// `source` and `transport` are where it arrived from, kept with each binding.
    /// All contacts are applied or none is (§10.3 step 7).
    pub fn register(
        &mut self,
        req: &Request,
        source: SocketAddr,
        transport: &str,
        now_unix_secs: u64,
    ) -> Result<RegisterOk, RegisterError> {
        let now = now_unix_secs;
        if !matches!(req.uri, Uri::Sip(_)) {
            return Err(RegisterError::UnsupportedUriScheme);
        }
        let user = self.aor_user(req)?;
        let aor = format!("{user}@{}", self.domain);
        let call_id = match req.call_id() {
            Some(c) if !c.is_empty() => c.to_string(),
            _ => return Err(RegisterError::BadRequest("no Call-ID")),
        };
        let cseq = req
            .cseq()
            .ok_or(RegisterError::BadRequest("missing or bad CSeq"))?
            .seq;
        let header_expires = match req.headers.get("Expires") {
            Some(v) => Some(parse_delta(v).ok_or(RegisterError::BadRequest("bad Expires"))?),
            None => None,
        };
        let values = req.headers.values("Contact");

        let mut list: Vec<Binding> = self.by_user.get(&user).cloned().unwrap_or_default();
        list.retain(|b| b.expires_at > now);
        let mut ignored = Vec::new();

        if values.iter().any(|v| v.trim() == "*") {
            // §10.3 step 6: "*" only alone and with Expires: 0.
            if values.len() != 1 || header_expires != Some(0) {
                return Err(RegisterError::BadRequest(
                    "Contact * needs Expires: 0 and no other contact",
                ));
            }
            list.retain(|b| {
                let keep = b.call_id == call_id && cseq <= b.cseq;
                if keep {
                    ignored.push(b.contact.clone());
                }
                keep
            });
        } else {
            let specs = self.contact_specs(&values, header_expires)?;
            let before = list.len();
            let meta = Meta {
                aor: &aor,
                call_id: &call_id,
                cseq,
                source,
                transport: &transport.to_ascii_uppercase(),
                path: req.headers.values("Path"),
                user_agent: req.headers.get("User-Agent").map(|s| s.trim().to_string()),
                now,
            };
            for (spec, expires) in specs {
                apply(&mut list, spec, expires, &meta, &mut ignored);
            }
            if list.len() > self.cfg.max_contacts_per_aor && list.len() > before {
                return Err(RegisterError::TooManyContacts {
                    max: self.cfg.max_contacts_per_aor,
                });
            }
        }

        if list.is_empty() {
            self.by_user.remove(&user);
        } else {
            self.by_user.insert(user, list.clone());
        }
        sort_for_lookup(&mut list);
        Ok(RegisterOk {
            aor,
            bindings: list,
            ignored,
            now,
        })
    }

    /// Parse every Contact value and settle its interval before anything changes, so a
    /// bad or too-brief contact refuses the whole request.
    fn contact_specs(
        &self,
        values: &[String],
        header_expires: Option<u64>,
    ) -> Result<Vec<(ContactSpec, u64)>, RegisterError> {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            let na =
                NameAddr::parse(v).map_err(|_| RegisterError::BadRequest("unparseable Contact"))?;
            let spec = contact_spec(na).map_err(RegisterError::BadRequest)?;
            // §10.2.1.1: the contact's expires param wins over the Expires header.
            let asked = spec
                .expires
                .or(header_expires)
                .unwrap_or(u64::from(self.cfg.default_expires));
            if asked > 0 && asked < u64::from(self.cfg.min_expires) {
                return Err(RegisterError::IntervalTooBrief {
                    min_expires: self.cfg.min_expires,
                });
            }
            out.push((spec, asked.min(u64::from(self.cfg.max_expires))));
        }
        Ok(out)
    }

    /// Current bindings of an AOR (`"1001"` or `"1001@domain"`), highest q first, then the
    /// most recently refreshed: the order to fork or try them in (§16.6, RFC 3261 §20.10).
    pub fn lookup(&self, aor_user: &str, now_unix_secs: u64) -> Vec<Binding> {
        let user = match aor_user.rsplit_once('@') {
            Some((u, host)) if self.is_ours(host) => u,
            Some(_) => return Vec::new(),
            None => aor_user,
        };
        let mut v: Vec<Binding> = self
            .by_user
            .get(user)
            .map(|l| {
                l.iter()
                    .filter(|b| b.expires_at > now_unix_secs)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        sort_for_lookup(&mut v);
        v
    }

    /// Remove bindings whose time is up; returns how many. Call from a periodic timer.
    pub fn expire(&mut self, now_unix_secs: u64) -> usize {
        let mut removed = 0;
        self.by_user.retain(|_, list| {
            let before = list.len();
            list.retain(|b| b.expires_at > now_unix_secs);
            removed += before - list.len();
            !list.is_empty()
        });
        removed
    }

    /// Bindings held (including expired ones `expire` has not removed yet).
    pub fn bindings_count(&self) -> usize {
        self.by_user.values().map(Vec::len).sum()
    }

    /// Every binding held, for status pages and persistence.
    pub fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.by_user.values().flatten()
    }
}

/// What every binding written by one REGISTER shares.
struct Meta<'a> {
    aor: &'a str,
    call_id: &'a str,
    cseq: u32,
    source: SocketAddr,
    transport: &'a str,
    path: Vec<String>,
    user_agent: Option<String>,
    now: u64,
}

/// §10.3 step 7 for one contact: add, refresh or remove its binding.
fn apply(
    list: &mut Vec<Binding>,
    spec: ContactSpec,
    expires: u64,
    m: &Meta,
    ignored: &mut Vec<String>,
) {
    let existing = list
        .iter()
        .position(|b| b.uri().is_some_and(|u| same_uri(&u, &spec.uri)));
    if let Some(i) = existing {
        if list[i].call_id == m.call_id && m.cseq <= list[i].cseq {
            ignored.push(spec.text);
            return;
        }
        if expires == 0 {
            list.remove(i);
            return;
        }
    } else if expires == 0 {
        return;
    }
    let b = Binding {
        aor: m.aor.to_string(),
        contact: spec.text,
        contact_params: spec.params,
        q: spec.q,
        expires_at: m.now.saturating_add(expires),
        updated_at: m.now,
        call_id: m.call_id.to_string(),
        cseq: m.cseq,
        source: m.source,
        transport: m.transport.to_string(),
        path: m.path.clone(),
        user_agent: m.user_agent.clone(),
    };
    match existing {
        Some(i) => list[i] = b,
        None => list.push(b),
    }
}

fn sort_for_lookup(v: &mut [Binding]) {
    v.sort_by(|a, b| {
        b.q_or_default()
            .cmp(&a.q_or_default())
            .then(b.updated_at.cmp(&a.updated_at))
    });
}
