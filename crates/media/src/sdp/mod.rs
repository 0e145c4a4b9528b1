//! SDP (RFC 4566): the session description model, parsing and rendering.
//! Offer/answer (RFC 3264) lives in `negotiate`.
//!
//! Only what a G.711 softswitch needs is modelled (`o`, `s`, `c`, `t`, `m`, `a`);
//! every other line is kept verbatim and rendered back in its RFC 4566 §5 place,
//! so an SDP passes through us without losing anything we do not understand.

pub mod crypto;
mod negotiate;

pub use negotiate::{answer, negotiated_from_answer, offer, Negotiated, TELEPHONE_EVENT_PT};

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("SDP line {line}: {reason}")]
    Parse { line: usize, reason: String },
    #[error("no audio stream we can use in the offer")]
    NoAudio,
    #[error("no codec in common")]
    NoCommonCodec,
    #[error("no connection address for the audio stream")]
    NoConnection,
    #[error("the answer rejected the audio stream")]
    Rejected,
    /// RTP/SAVP without an `a=crypto` key we can use, or on a leg whose signalling is
    /// not encrypted (keys in clear protect nothing), or an answer dropping our key.
    #[error("secure RTP without a usable SDES key, or not over SIP TLS")]
    NoCrypto,
    /// A multicast or broadcast `c=` address: a session on a group would send the
    /// caller's audio to whoever joins it, and a relay cannot latch to it (issue 9 Low).
    #[error("multicast or broadcast media address {0}; only unicast is supported")]
    Multicast(std::net::IpAddr),
}

impl SdpError {
    /// Whether the SIP side should answer 488 Not Acceptable Here (RFC 3261 §21.4.26).
    pub fn is_not_acceptable(&self) -> bool {
        !matches!(self, SdpError::Parse { .. })
    }
}

/// Media direction attribute (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    pub fn from_attr(name: &str) -> Option<Direction> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    pub fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    /// The same stream seen from the other end: their sendonly is our recvonly.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }
    /// What both allow.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

/// `c=IN IP4 …` / `c=IN IP6 …` (RFC 4566 §5.7). A multicast TTL or count after
/// `/` is kept in `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub addr: IpAddr,
    pub suffix: Option<String>,
}

impl Connection {
    pub fn new(addr: IpAddr) -> Self {
        Connection { addr, suffix: None }
    }
}

fn addr_type(addr: &IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IP4"
    } else {
        "IP6"
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", addr_type(&self.addr), self.addr)?;
        if let Some(s) = &self.suffix {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// `o=` (RFC 4566 §5.2). The address is kept as text: it may be a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub addr_type: String,
    pub address: String,
}

/// `a=name` or `a=name:value` (RFC 4566 §5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
    pub fn value(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// A line we do not model, kept as `type=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: char,
    pub value: String,
}

/// One `m=` section (RFC 4566 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute>,
    pub other: Vec<Line>,
}

impl MediaDescription {
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The direction attribute, if any (RFC 3264 §5.1: absent means sendrecv,
    /// unless the session level says otherwise).
    pub fn direction_attr(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|a| Direction::from_attr(&a.name))
    }

    /// Replaces any direction attribute with `dir` (e.g. to put the peer on hold).
    pub fn set_direction(&mut self, dir: Direction) {
        self.attributes
            .retain(|a| Direction::from_attr(&a.name).is_none());
        self.attributes.push(Attribute::flag(dir.as_str()));
    }

    /// `a=rtpmap:<pt> <name>/<rate>…` → (name, rate) for a payload type.
    pub fn rtpmap(&self, pt: u8) -> Option<(&str, u32)> {
        self.attributes.iter().find_map(|a| {
            if a.name != "rtpmap" {
                return None;
            }
            let v = a.value.as_deref()?;
            let (p, rest) = v.split_once(' ')?;
            if p.trim().parse::<u8>().ok()? != pt {
                return None;
            }
            let mut parts = rest.trim().split('/');
            let name = parts.next()?;
            let rate = parts.next()?.parse().ok()?;
            Some((name, rate))
        })
    }

    /// The payload type mapped to `telephone-event/8000`, if any (RFC 4733 §7.1.1).
    pub fn telephone_event_pt(&self) -> Option<u8> {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .find(|pt| {
                matches!(self.rtpmap(*pt), Some((n, 8000)) if n.eq_ignore_ascii_case("telephone-event"))
            })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attr("ptime")?.value.as_deref()?.trim().parse().ok()
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    /// `t=<start> <stop>`; `0 0` for a SIP session (RFC 3264 §5).
    pub timing: (u64, u64),
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
    pub other: Vec<Line>,
}

impl SessionDescription {
    /// Session-level direction attribute (applies to every m= without its own).
    pub fn direction_attr(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|a| Direction::from_attr(&a.name))
    }

    /// The connection address that applies to media `i` (media-level c= wins).
    pub fn connection_for(&self, i: usize) -> Option<&Connection> {
        self.media
            .get(i)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }

    /// The direction that applies to media `i` (RFC 3264 §5.1 default sendrecv).
    pub fn direction_for(&self, i: usize) -> Direction {
        self.media
            .get(i)
            .and_then(|m| m.direction_attr())
            .or(self.direction_attr())
            .unwrap_or(Direction::SendRecv)
    }

    pub fn parse(text: &str) -> Result<Self, SdpError> {
        parse(text)
    }
}

fn err(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Parse {
        line,
        reason: reason.into(),
    }
}

fn parse_connection(line: usize, v: &str) -> Result<Connection, SdpError> {
    let mut it = v.split_whitespace();
    let (net, at, addr) = match (it.next(), it.next(), it.next()) {
        (Some(n), Some(a), Some(x)) => (n, a, x),
        _ => return Err(err(line, "c= needs <nettype> <addrtype> <address>")),
    };
    if net != "IN" {
        return Err(err(line, format!("network type {net} is not IN")));
    }
    let (host, suffix) = match addr.split_once('/') {
        Some((h, s)) => (h, Some(s.to_string())),
        None => (addr, None),
    };
    let ip = IpAddr::from_str(host).map_err(|_| {
        err(
            line,
            format!("connection address {host} is not an IP address"),
        )
    })?;
    match (at, &ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => {}
        _ => return Err(err(line, format!("address {host} does not match {at}"))),
    }
    Ok(Connection { addr: ip, suffix })
}

fn parse_attribute(v: &str) -> Attribute {
    match v.split_once(':') {
        Some((n, val)) => Attribute::value(n, val),
        None => Attribute::flag(v),
    }
}

fn parse_media(line: usize, v: &str) -> Result<MediaDescription, SdpError> {
    let mut it = v.split_whitespace();
    let media = it.next().ok_or_else(|| err(line, "empty m="))?;
    let port_s = it.next().ok_or_else(|| err(line, "m= without port"))?;
    let (port, num_ports) = match port_s.split_once('/') {
        Some((p, n)) => (p, Some(n.parse().map_err(|_| err(line, "bad port count"))?)),
        None => (port_s, None),
    };
    let port = port
        .parse()
        .map_err(|_| err(line, format!("bad port {port}")))?;
    let proto = it.next().ok_or_else(|| err(line, "m= without protocol"))?;
    Ok(MediaDescription {
        media: media.into(),
        port,
        num_ports,
        proto: proto.into(),
        formats: it.map(String::from).collect(),
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut origin = None;
    let mut session_name = None;
    let mut sd = SessionDescription {
        origin: Origin {
            username: String::new(),
            session_id: 0,
            session_version: 0,
            addr_type: String::new(),
            address: String::new(),
        },
        session_name: String::new(),
        connection: None,
        timing: (0, 0),
        attributes: Vec::new(),
        media: Vec::new(),
        other: Vec::new(),
    };
    let mut seen_version = false;
    // RFC 4566 §5 requires CRLF, but §5 also asks parsers to accept a bare LF.
    for (idx, raw) in text.split('\n').enumerate() {
        let n = idx + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l.trim().is_empty() {
            continue;
        }
        let (kind, value) = match l.as_bytes() {
            [k, b'=', ..] if k.is_ascii_alphabetic() => (*k as char, &l[2..]),
            _ => return Err(err(n, "not of the form <type>=<value>")),
        };
        if !seen_version {
            if kind != 'v' || value.trim() != "0" {
                return Err(err(n, "an SDP must start with v=0"));
            }
            seen_version = true;
            continue;
        }
        let in_media = !sd.media.is_empty();
        match kind {
            'v' => return Err(err(n, "second v= line")),
            'o' if !in_media => {
                let f: Vec<&str> = value.split_whitespace().collect();
                if f.len() != 6 || f[3] != "IN" {
                    return Err(err(n, "o= needs 6 fields with nettype IN"));
                }
                let num = |s: &str| {
                    s.parse::<u64>()
                        .map_err(|_| err(n, format!("bad number {s}")))
                };
                origin = Some(Origin {
                    username: f[0].into(),
                    session_id: num(f[1])?,
                    session_version: num(f[2])?,
                    addr_type: f[4].into(),
                    address: f[5].into(),
                });
            }
            's' if !in_media => session_name = Some(value.to_string()),
            't' if !in_media => {
                let mut it = value.split_whitespace().map(|s| s.parse::<u64>());
                match (it.next(), it.next()) {
                    (Some(Ok(a)), Some(Ok(b))) => sd.timing = (a, b),
                    _ => return Err(err(n, "t= needs two numbers")),
                }
            }
            'c' => {
                let c = parse_connection(n, value)?;
                match sd.media.last_mut() {
                    Some(m) => m.connection = Some(c),
                    None => sd.connection = Some(c),
                }
            }
            'a' => {
                let a = parse_attribute(value);
                match sd.media.last_mut() {
                    Some(m) => m.attributes.push(a),
                    None => sd.attributes.push(a),
                }
            }
            'm' => sd.media.push(parse_media(n, value)?),
            _ => {
                let line = Line {
                    kind,
                    value: value.to_string(),
                };
                match sd.media.last_mut() {
                    Some(m) => m.other.push(line),
                    None => sd.other.push(line),
                }
            }
        }
    }
    if !seen_version {
        return Err(err(1, "empty SDP"));
    }
    sd.origin = origin.ok_or_else(|| err(0, "missing o= line"))?;
    sd.session_name = session_name.ok_or_else(|| err(0, "missing s= line"))?;
    Ok(sd)
}

fn render_other(out: &mut String, lines: &[Line], kinds: &str) {
    for l in lines.iter().filter(|l| kinds.contains(l.kind)) {
        let _ = write!(out, "{}={}\r\n", l.kind, l.value);
    }
}

fn render_attrs(out: &mut String, attrs: &[Attribute]) {
    for a in attrs {
        match &a.value {
            Some(v) => {
                let _ = write!(out, "a={}:{}\r\n", a.name, v);
            }
            None => {
                let _ = write!(out, "a={}\r\n", a.name);
            }
        }
    }
}

const SESSION_KNOWN: &str = "iuepbrzk";
const MEDIA_KNOWN: &str = "ibk";

impl fmt::Display for SessionDescription {
    /// RFC 4566 §5 order: v o s i u e p c b t r z k a, then each m i c b k a.
    /// Lines of a type RFC 4566 does not define go last in their section.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(512);
        let o = &self.origin;
        let _ = write!(
            out,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            o.username, o.session_id, o.session_version, o.addr_type, o.address, self.session_name
        );
        render_other(&mut out, &self.other, "iuep");
        if let Some(c) = &self.connection {
            let _ = write!(out, "c={c}\r\n");
        }
        render_other(&mut out, &self.other, "b");
        let _ = write!(out, "t={} {}\r\n", self.timing.0, self.timing.1);
        render_other(&mut out, &self.other, "rz");
        render_other(&mut out, &self.other, "k");
        render_attrs(&mut out, &self.attributes);
        for l in self
            .other
            .iter()
            .filter(|l| !SESSION_KNOWN.contains(l.kind))
        {
            let _ = write!(out, "{}={}\r\n", l.kind, l.value);
        }
        for m in &self.media {
            let _ = write!(out, "m={} {}", m.media, m.port);
            if let Some(n) = m.num_ports {
                let _ = write!(out, "/{n}");
            }
            let _ = write!(out, " {}", m.proto);
            for fmt in &m.formats {
                let _ = write!(out, " {fmt}");
            }
            out.push_str("\r\n");
            render_other(&mut out, &m.other, "i");
            if let Some(c) = &m.connection {
                let _ = write!(out, "c={c}\r\n");
            }
            render_other(&mut out, &m.other, "b");
            render_other(&mut out, &m.other, "k");
            render_attrs(&mut out, &m.attributes);
            for l in m.other.iter().filter(|l| !MEDIA_KNOWN.contains(l.kind)) {
                let _ = write!(out, "{}={}\r\n", l.kind, l.value);
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests;
