//! Building the messages of a B2BUA call: the outbound INVITE towards an operator, our
//! responses to the caller, and where in-dialog requests go.

use crate::event::Destination;
use dialplan::Number;
use sip::{NameAddr, Peer, Request, Response, SipHeaders, Uri};
use std::net::{IpAddr, SocketAddr};

/// The INVITE for the operator's leg. The operator's phone must show which
/// representative number was dialled (spec 第2-7 ⑴ ア): the From display name is the
/// number's name (e.g. 小名浜支所) and its URI the number in E.164; X-Madoguchi-DNIS says
/// the same for machines, X-Madoguchi-Caller keeps the citizen's number.
/// The identifiers a new outbound leg is made with.
pub struct LegIds<'a> {
    pub local_tag: &'a str,
    pub call_id: &'a str,
    pub branch: &'a str,
}

pub fn outbound_invite(
    a_invite: &Request,
    number: &Number,
    dest: &Destination,
    domain: &str,
    ids: &LegIds,
    sdp: String,
) -> Request {
    let LegIds {
        local_tag,
        call_id,
        branch,
    } = *ids;
    let mut r = Request::new(sip::Method::Invite, dest.uri.clone());
    let local = dest.peer.local;
    r.headers.push(
        "Via",
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            dest.peer.transport.via_token(),
            host_port(local)
        ),
    );
    r.headers.push("Max-Forwards", "70");
    let e164 = e164(&number.number);
    r.headers.push(
        "From",
        format!(
            "\"{}\" <sip:{e164}@{domain}>;tag={local_tag}",
            quote(&number.name)
        ),
    );
    r.headers.push("To", format!("<{}>", dest.uri));
    r.headers.push("Call-ID", call_id);
    r.headers.push("CSeq", "1 INVITE");
    r.headers.push(
        "Contact",
        format!(
            "<sip:madoguchi@{};transport={}>",
            host_port(local),
            dest.peer.transport.via_token().to_ascii_lowercase()
        ),
    );
    r.headers
        .push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE");
    r.headers.push("X-Madoguchi-DNIS", e164.clone());
    r.headers.push("X-Madoguchi-DNIS-Name", number.name.clone());
    if let Some(caller) = a_invite.from_hdr() {
        r.headers.push("X-Madoguchi-Caller", caller.uri.to_string());
    }
    r.headers.push(
        "User-Agent",
        concat!("madoguchi/", env!("CARGO_PKG_VERSION")),
    );
    r.headers.push("Content-Type", "application/sdp");
    r.body = bytes::Bytes::from(sdp);
    r
}

/// Our response to the caller's INVITE, with our tag and Contact.
pub fn a_response(
    a_invite: &Request,
    status: u16,
    tag: &str,
    contact_at: SocketAddr,
    sdp: Option<&str>,
) -> Response {
    let mut r = Response::to_request(a_invite, status, Some(tag));
    if (101..300).contains(&status) {
        let user = a_invite
            .uri
            .as_sip()
            .and_then(|u| u.user.clone())
            .unwrap_or_else(|| "madoguchi".into());
        r.headers
            .push("Contact", format!("<sip:{user}@{}>", host_port(contact_at)));
        // Record-Route of the caller's side is echoed in a dialog-creating response (§12.1.1).
        for rr in a_invite.headers.get_all("Record-Route") {
            r.headers.push("Record-Route", rr.to_string());
        }
    }
    if status == 200 {
        r.headers
            .push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE");
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
        Uri::parse(&format!("sip:madoguchi@{}", host_port(peer.local))).expect("our own URI"),
    )
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
}
