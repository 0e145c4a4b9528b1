//! Building the messages of a B2BUA call: outbound INVITEs, our responses on the inbound
//! leg, and where in-dialog requests go.

use crate::io::Destination;
use core::net::{IpAddr, SocketAddr};
use sip::{NameAddr, Peer, Request, Response, SipHeaders, Uri};

pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY";

/// Who the outbound INVITE says is calling: the line's name and number for an operator
/// (spec 第2-7 ⑴ ア: the operator sees which number was dialled), the center's number for
/// a callback, the citizen for a department.
pub struct Caller<'a> {
    pub display: &'a str,
    pub user: &'a str,
}

/// The identifiers a new outbound leg is made with.
pub struct LegIds<'a> {
    pub local_tag: &'a str,
    pub call_id: &'a str,
    pub branch: &'a str,
}

/// Extra headers for the operator's screen: the dialled line and the citizen.
pub struct Screen<'a> {
    pub dnis: &'a str,
    pub dnis_name: &'a str,
    pub citizen: Option<&'a str>,
    /// On a callback's first leg: the number the operator is about to be connected to.
    pub callback: Option<&'a str>,
}

pub struct InviteParts<'a> {
    pub dest: &'a Destination,
    pub domain: &'a str,
    pub caller: Caller<'a>,
    pub ids: LegIds<'a>,
    pub screen: Option<Screen<'a>>,
    /// RFC 3261 §16.6 step 3 and RFC 7332: what is left of the inbound Max-Forwards.
    pub max_forwards: u32,
    pub sdp: Option<String>,
}

pub fn outbound_invite(p: InviteParts) -> Request {
    let InviteParts {
        dest,
        domain,
        caller,
        ids,
        screen,
        max_forwards,
        sdp,
    } = p;
    let mut r = Request::new(sip::Method::Invite, dest.uri.clone());
    let local = dest.peer.local;
    r.headers.push(
        "Via",
        format!(
            "SIP/2.0/{} {};branch={};rport",
            dest.peer.transport.via_token(),
            host_port(local),
            ids.branch
        ),
    );
    r.headers.push("Max-Forwards", max_forwards.to_string());
    r.headers.push(
        "From",
        format!(
            "\"{}\" <sip:{}@{domain}>;tag={}",
            quote(caller.display),
            caller.user,
            ids.local_tag
        ),
    );
    r.headers.push("To", format!("<{}>", dest.uri));
    r.headers.push("Call-ID", ids.call_id);
    r.headers.push("CSeq", "1 INVITE");
    r.headers.push(
        "Contact",
        format!(
            "<sip:madoguchi@{};transport={}>",
            host_port(local),
            dest.peer.transport.via_token().to_ascii_lowercase()
        ),
    );
    r.headers.push("Allow", ALLOW);
    if let Some(s) = screen {
        r.headers.push("X-Madoguchi-DNIS", s.dnis);
        r.headers.push("X-Madoguchi-DNIS-Name", s.dnis_name);
        if let Some(c) = s.citizen {
            r.headers.push("X-Madoguchi-Caller", c);
        }
        if let Some(c) = s.callback {
            r.headers.push("X-Madoguchi-Callback", c);
        }
    }
    r.headers.push(
        "User-Agent",
        concat!("madoguchi/", env!("CARGO_PKG_VERSION")),
    );
    if let Some(sdp) = sdp {
        r.headers.push("Content-Type", "application/sdp");
        r.body = bytes::Bytes::from(sdp);
    }
    r
}

/// Our response to the inbound INVITE, with our tag and Contact.
pub fn a_response(
    a_invite: &Request,
    status: u16,
    tag: &str,
    contact_at: &Peer,
    sdp: Option<&str>,
) -> Response {
    let mut r = Response::to_request(a_invite, status, Some(tag));
    if (101..300).contains(&status) {
        let user = a_invite
            .uri
            .as_sip()
            .and_then(|u| u.user.clone())
            .filter(|u| {
                u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+*#-.".contains(c))
            })
            .unwrap_or_else(|| "madoguchi".into());
        r.headers.push(
            "Contact",
            format!(
                "<sip:{user}@{}{}>",
                host_port(contact_at.local),
                transport_param(contact_at.transport)
            ),
        );
        // Record-Route of the caller's side is echoed in a dialog-creating response (§12.1.1).
        for rr in a_invite.headers.get_all("Record-Route") {
            r.headers.push("Record-Route", rr.to_string());
        }
    }
    if status == 200 {
        r.headers.push("Allow", ALLOW);
    }
    if let Some(s) = sdp {
        r.headers.push("Content-Type", "application/sdp");
        r.body = bytes::Bytes::from(s.to_string());
    }
    r
}

/// Where to send an in-dialog request: the remote target if it is an IP literal,
/// otherwise back along the flow the dialog was made on.
pub fn peer_for_target(target: &Uri, flow: &Peer) -> Peer {
    let Some(u) = target.as_sip() else {
        return *flow;
    };
    let host = u.host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => Peer {
            remote: SocketAddr::new(ip, u.port.unwrap_or(5060)),
            ..*flow
        },
        Err(_) => *flow,
    }
}

pub fn host_port(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.to_string(),
        SocketAddr::V6(v) => format!("[{}]:{}", v.ip(), v.port()),
    }
}

/// `0246221111` → `+81246221111` (Japan: drop the trunk prefix 0, add 81).
pub fn e164(national: &str) -> String {
    let digits: String = national
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    if digits.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("+81{rest}")
    } else {
        digits
    }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Our Via for a request sent along `peer` (the dialog layer sets the branch).
pub fn via_for(peer: &Peer) -> sip::Via {
    let mut v = sip::Via::parse(&format!(
        "SIP/2.0/{} {}",
        peer.transport.via_token(),
        host_port(peer.local)
    ))
    .expect("our own Via is well formed");
    v.params.set("rport", None);
    v
}

/// Our Contact for requests sent along `peer`.
pub fn contact_for(peer: &Peer) -> NameAddr {
    NameAddr::new(
        None,
        Uri::parse(&format!(
            "sip:madoguchi@{}{}",
            host_port(peer.local),
            transport_param(peer.transport)
        ))
        .expect("our own URI"),
    )
}

/// The `transport` URI parameter of our Contact on a stream flow (RFC 3261 §19.1.1):
/// without it a phone that reached us over TLS (or TCP) would send its ACK and BYE to
/// our Contact over UDP, to a port where no UDP listens (the TLS port).
pub fn transport_param(t: sip::TransportKind) -> &'static str {
    match t {
        sip::TransportKind::Udp => "",
        sip::TransportKind::Tcp => ";transport=tcp",
        sip::TransportKind::Tls => ";transport=tls",
    }
}

/// The branch of a request's top Via (how its responses find their way back).
pub fn branch_of(req: &Request) -> String {
    req.top_via()
        .and_then(|v| v.branch().map(str::to_string))
        .unwrap_or_default()
}

/// A NOTIFY for the implicit subscription of a REFER (RFC 3515 §2.4.5): the body is a
/// message/sipfrag status line; the last one terminates the subscription.
pub fn refer_notify(
    dialog: &mut sip::dialog::Dialog,
    flow: &Peer,
    status: u16,
    reason: &str,
) -> Request {
    let mut req = dialog.new_request(sip::Method::Notify, &contact_for(flow), &via_for(flow));
    req.headers.push("Event", "refer");
    let state = if status >= 200 {
        "terminated;reason=noresource"
    } else {
        "active;expires=60"
    };
    req.headers.push("Subscription-State", state);
    req.headers
        .push("Content-Type", "message/sipfrag;version=2.0");
    req.body = bytes::Bytes::from(format!("SIP/2.0 {status} {reason}\r\n"));
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_of_iwaki_numbers() {
        assert_eq!(e164("0246221111"), "+81246221111");
        assert_eq!(e164("0246-54-2111"), "+81246542111");
        assert_eq!(e164("+81246542111"), "+81246542111");
    }

    #[test]
    fn target_with_ip_literal_wins_over_flow() {
        let flow = Peer {
            transport: sip::transaction::TransportKind::Udp,
            remote: "127.0.0.1:5070".parse().unwrap(),
            local: "127.0.0.1:5060".parse().unwrap(),
        };
        let t = Uri::parse("sip:x@127.0.0.2:5071").unwrap();
        assert_eq!(
            peer_for_target(&t, &flow).remote,
            "127.0.0.2:5071".parse().unwrap()
        );
        let t = Uri::parse("sip:x@phone.invalid").unwrap();
        assert_eq!(peer_for_target(&t, &flow).remote, flow.remote);
    }

    #[test]
    fn contacts_on_stream_flows_name_their_transport() {
        let raw = "INVITE sip:0246221111@127.0.0.1:5061 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKx\r\nFrom: <sip:1001@127.0.0.1>;tag=a\r\nTo: <sip:0246221111@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let Ok(sip::Message::Request(inv)) = sip::parse_datagram(raw.as_bytes()) else {
            panic!("parses")
        };
        let tls = Peer {
            transport: sip::transaction::TransportKind::Tls,
            remote: "127.0.0.1:40000".parse().unwrap(),
            local: "127.0.0.1:5061".parse().unwrap(),
        };
        let r = a_response(&inv, 200, "t", &tls, None);
        assert_eq!(
            r.headers.get("Contact"),
            Some("<sip:0246221111@127.0.0.1:5061;transport=tls>")
        );
        assert_eq!(
            contact_for(&tls).to_string(),
            "<sip:madoguchi@127.0.0.1:5061;transport=tls>"
        );
        let udp = Peer {
            transport: sip::transaction::TransportKind::Udp,
            ..tls
        };
        assert_eq!(
            contact_for(&udp).to_string(),
            "<sip:madoguchi@127.0.0.1:5061>"
        );
    }
}
