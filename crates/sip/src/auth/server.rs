//! The challenging side: 401/407 challenges and checking the answers (RFC 3261 §22.2,
//! §22.3; RFC 8760 §2.4).
//!
//! Nonces are stateless: `hex(timestamp) hex(salt) hex(MAC)` where the MAC is
//! HMAC-SHA256(secret, realm, timestamp, salt) truncated to 128 bits (the construction
//! RFC 7616 §3.3 suggests: "time-stamp H(time-stamp ":" ... ":" secret-data)"). The server
//! keeps no table, a restart with the same secret keeps outstanding nonces valid, and an
//! old but genuine nonce can be told apart from a forged one, which is what `stale=true`
//! needs (RFC 7616 §3.3: stale only when the digest itself was right).
//!
//! Replay (RFC 7616 §5.5): a nonce is also bound to the address it was sent to (the
//! source IP is in the MAC), the `uri` of the answer must be the Request-URI (RFC 2617
//! §3.2.2.5), and `NonceBook` admits each nonce count once. So a header captured on the
//! LAN does not work from another machine, for another request (a `*23` credential
//! replayed as `*22`), or a second time. Nonces live `DEFAULT_NONCE_TTL` (Asterisk uses
//! 32 s): a phone gets `stale=true` and re-signs without asking its user.

use super::nonces::{NcVerdict, NonceBook};
use super::params::{parse_authorization, quote};
use super::{compute_response, constant_time_eq, hmac_sha256, Algorithm, Credentials};
use crate::message::Uri;
use core::net::IpAddr;
use std::time::Duration;

/// How long a challenge's nonce may be used. Short, because a nonce is what a captured
/// header could be replayed with; a phone answers `stale=true` without its user.
pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(30);

/// Upper bound on remembered nonces (one per challenge sent within the lifetime).
const MAX_NONCES: usize = 20_000;

/// How far a nonce's timestamp may lie in the future (clock steps between restarts).
const FUTURE_SKEW_SECS: u64 = 5;

/// What `DigestServer::verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The digest is right for this user and the nonce is fresh.
    Ok { user: String },
    /// The digest is right but the nonce expired: re-challenge with `stale=true`
    /// (RFC 7616 §3.3) so the phone retries without asking its user.
    Stale,
    /// Wrong password, unknown user, wrong realm or uri… in an answer to a nonce this
    /// server sent to the request's source: a guess by someone who receives our answers.
    /// Answer 403 and count it in the `AuthLimiter` for (`user`, source).
    Failed {
        user: Option<String>,
        reason: &'static str,
    },
    /// The nonce is not one this server sent to the request's source: forged, captured
    /// and replayed from elsewhere, or an answer whose source changed (NAT rebinding).
    /// Challenge afresh and count nothing: over UDP the source may be spoofed, and a
    /// count here would let anyone lock out any address without seeing a challenge.
    ForeignNonce { user: String },
    /// The digest is right but was used already (same nonce count), or the nonce is not
    /// one this process issued (a restart): re-challenge with `stale=true`. Not counted
    /// as a failed password; a real phone recovers by itself.
    Replayed { user: String },
    /// Not a parseable Digest value (including other schemes, RFC 4475 regaut01): the
    /// caller challenges as if no credentials had been sent.
    Malformed,
}

/// What `DigestServer::verify` checks an answer against.
#[derive(Clone, Copy, Debug)]
pub struct DigestRequest<'a> {
    pub method: &'a str,
    /// The Request-URI as received; the answer's `uri` must name the same resource.
    pub request_uri: &'a Uri,
    /// The Authorization / Proxy-Authorization value.
    pub authorization: &'a str,
    /// Where the request came from: a nonce is only good from the address it was sent to.
    pub source: IpAddr,
}

/// A realm's challenger and verifier, with the book of nonces it issued.
#[derive(Clone)]
pub struct DigestServer {
    realm: String,
    secret: [u8; 32],
    nonce_ttl: Duration,
    opaque: String,
    allow_rfc2069: bool,
    /// Nodes of a cluster sharing `secret`: a nonce a peer wrote enters our book.
    peer_nonces: bool,
    book: NonceBook,
}

impl std::fmt::Debug for DigestServer {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestServer")
            .field("realm", &self.realm)
            .field("nonce_ttl", &self.nonce_ttl)
            .finish_non_exhaustive()
    }
}

impl DigestServer {
    /// `secret` keys the nonce MAC; keep it across restarts so that outstanding nonces
    /// stay valid (otherwise every phone just gets one more 401).
    pub fn new(realm: &str, secret: [u8; 32], nonce_ttl: Duration) -> DigestServer {
        let mut msg = b"opaque:".to_vec();
        msg.extend_from_slice(realm.as_bytes());
        let opaque = hex::encode(&hmac_sha256(&secret, &msg)[..8]);
        DigestServer {
            realm: realm.to_string(),
            secret,
            nonce_ttl,
            opaque,
            allow_rfc2069: true,
            peer_nonces: false,
            book: NonceBook::new(MAX_NONCES, nonce_ttl.as_secs()),
        }
    }

    /// Whether answers without qop (RFC 2069, old phones) are accepted. Default: yes.
    /// They are weaker (no cnonce, so chosen-plaintext on the client is possible).
    pub fn allow_rfc2069(mut self, allow: bool) -> DigestServer {
        self.allow_rfc2069 = allow;
        self
    }

    /// One of several servers sharing `secret` behind a proxy that forks REGISTER to
    /// all of them (a cluster): a nonce with our MAC, bound to the source and within its
    /// lifetime, that another server issued enters this book at its first use instead
    /// of being re-challenged, and its counts are kept from then on. The cost: each
    /// server accepts each count once, so a replay within the nonce's 30 s reaches a
    /// server that had not seen the original. Default: off (single server).
    pub fn accept_peer_nonces(mut self, yes: bool) -> DigestServer {
        self.peer_nonces = yes;
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// WWW-Authenticate (or Proxy-Authenticate) values, one per algorithm, most
    /// preferred first: SHA-256 then MD5 (RFC 8760 §2.4; MD5 stays for older phones).
    /// `to` is the address the challenge goes to; only answers from there are accepted.
    pub fn challenge(&mut self, now_unix_secs: u64, stale: bool, to: IpAddr) -> Vec<String> {
        self.challenge_with_salt(now_unix_secs, stale, to, rand::random())
    }

    /// `challenge` with the salt given, for reproducible tests. The salt only makes two
    /// nonces issued in the same second differ.
    pub fn challenge_with_salt(
        &mut self,
        now_unix_secs: u64,
        stale: bool,
        to: IpAddr,
        salt: u64,
    ) -> Vec<String> {
        let nonce = self.make_nonce(now_unix_secs, salt, to);
        self.book.issued(&nonce, now_unix_secs);
        [Algorithm::Sha256, Algorithm::Md5]
            .iter()
            .map(|alg| {
                let mut v = format!(
                    "Digest realm={}, nonce=\"{nonce}\", opaque=\"{}\", algorithm={alg}, qop=\"auth\"",
                    quote(&self.realm),
                    self.opaque
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    fn nonce_mac(&self, ts: u64, salt: u64, to: IpAddr) -> String {
        let mut msg = Vec::with_capacity(self.realm.len() + 34);
        msg.extend_from_slice(self.realm.as_bytes());
        msg.push(0);
        msg.extend_from_slice(&ts.to_be_bytes());
        msg.extend_from_slice(&salt.to_be_bytes());
        // The address as 16 bytes (IPv4-mapped), so v4 and v6 cannot collide.
        let ip = match to {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        msg.extend_from_slice(&ip.octets());
        hex::encode(&hmac_sha256(&self.secret, &msg)[..16])
    }

    fn make_nonce(&self, ts: u64, salt: u64, to: IpAddr) -> String {
        format!("{ts:016x}{salt:016x}{}", self.nonce_mac(ts, salt, to))
    }

    /// The timestamp of a nonce this server sent to `from`, or None if it is forged,
    /// foreign, or was sent to another address.
    fn nonce_time(&self, nonce: &str, from: IpAddr) -> Option<u64> {
        if nonce.len() != 64 || !nonce.is_ascii() {
            return None;
        }
        let ts = u64::from_str_radix(&nonce[..16], 16).ok()?;
        let salt = u64::from_str_radix(&nonce[16..32], 16).ok()?;
        let mac = self.nonce_mac(ts, salt, from);
        constant_time_eq(mac.as_bytes(), &nonce.as_bytes()[32..]).then_some(ts)
    }

    /// Check an Authorization / Proxy-Authorization value (RFC 3261 §22.4) and record
    /// its nonce count. `lookup` returns the stored credentials of a user name. The
    /// caller should also check that the authenticated user may act for the request's
    /// From/To (§22.4 last paragraph, §10.3 step 3).
    pub fn verify(
        &mut self,
        req: &DigestRequest<'_>,
        lookup: impl Fn(&str) -> Option<Credentials>,
        now_unix_secs: u64,
    ) -> AuthOutcome {
        let r = match parse_authorization(req.authorization) {
            Ok(r) => r,
            Err(_) => return AuthOutcome::Malformed,
        };
        // The nonce first: only an answer to our own challenge to this address is a
        // guess worth counting (see `ForeignNonce`).
        let issued = match self.nonce_time(&r.nonce, req.source) {
            Some(ts) if ts <= now_unix_secs.saturating_add(FUTURE_SKEW_SECS) => ts,
            _ => return AuthOutcome::ForeignNonce { user: r.username },
        };
        let fail = |reason| AuthOutcome::Failed {
            user: Some(r.username.clone()),
            reason,
        };
        if r.realm != self.realm {
            return fail("realm is not ours");
        }
        let alg = match r.algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(a) => match Algorithm::from_token(a) {
                Some(alg) => alg,
                None => return fail("unsupported algorithm"),
            },
        };
        let qop = match r.qop.as_deref() {
            Some(q) if q.eq_ignore_ascii_case("auth") => Some((
                r.nc.as_deref().unwrap_or(""),
                r.cnonce.as_deref().unwrap_or(""),
            )),
            Some(_) => return fail("unsupported qop"),
            None if self.allow_rfc2069 && !alg.is_session() => None,
            None => return fail("qop required"),
        };
        if r.opaque.as_deref().is_some_and(|o| o != self.opaque) {
            return fail("opaque does not match");
        }
        if !same_resource(&r.uri, req.request_uri) {
            return fail("digest uri is not the Request-URI");
        }
        let creds = match lookup(&r.username) {
            Some(c) => c,
            None => return fail("unknown user"),
        };
        let ha1 = match creds.ha1(alg) {
            Some(h) => h.to_ascii_lowercase(),
            None => return fail("no credential for this algorithm"),
        };
        let expected = compute_response(alg, &ha1, &r.nonce, qop, req.method, &r.uri);
        if !constant_time_eq(
            expected.as_bytes(),
            r.response.to_ascii_lowercase().as_bytes(),
        ) {
            return fail("wrong response");
        }
        if now_unix_secs.saturating_sub(issued) > self.nonce_ttl.as_secs() {
            return AuthOutcome::Stale;
        }
        // Only now, with the digest proven, may the count be spent (a forger must not
        // burn the counts of a real phone's nonce).
        let nc = qop.and_then(|(nc, _)| u32::from_str_radix(nc, 16).ok());
        if qop.is_some() && nc.is_none() {
            return fail("bad nonce count");
        }
        let mut verdict = self.book.use_count(&r.nonce, nc);
        if verdict == NcVerdict::Unknown && self.peer_nonces {
            self.book.issued(&r.nonce, issued);
            verdict = self.book.use_count(&r.nonce, nc);
        }
        match verdict {
            NcVerdict::Fresh => AuthOutcome::Ok { user: r.username },
            NcVerdict::Unknown | NcVerdict::Reused => AuthOutcome::Replayed { user: r.username },
        }
    }

    /// Forget lapsed nonces (call from a periodic timer; `challenge` also prunes).
    pub fn prune(&mut self, now_unix_secs: u64) {
        self.book.prune(now_unix_secs);
    }
}

/// Whether the answer's `uri` names the Request-URI (RFC 2617 §3.2.2.5: "the server
/// SHOULD check that the URI in the uri directive is the same as the Request-URI"). Both
/// go through our parser, so only spelling differences it normalises are forgiven, plus
/// the host's case (RFC 3261 §19.1.4).
fn same_resource(digest_uri: &str, request_uri: &Uri) -> bool {
    let norm = |u: &Uri| match u {
        Uri::Sip(s) => {
            let mut s = s.clone();
            s.host = s.host.to_ascii_lowercase();
            Uri::Sip(s).to_string()
        }
        other => other.to_string(),
    };
    match Uri::parse(digest_uri) {
        Ok(u) => norm(&u) == norm(request_uri),
        Err(_) => false,
    }
}
