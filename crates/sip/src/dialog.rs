//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE, and the
//! building of requests inside it (§12.2.1.1) and of the ACK for a 2xx (§13.2.2.4).
//! Plain data and functions; the TU keeps one `Dialog` per call leg.

use crate::message::{Method, NameAddr, Request, Response, SipHeaders, Uri, Via};
use crate::transaction::new_branch;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DialogError {
    #[error("cannot form a dialog: missing or malformed {0}")]
    Missing(&'static str),
}

/// Call-ID plus both tags (§12). A tag is empty when an RFC 2543 peer sent none.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an incoming request belongs to: our tag is in To (§12.2.2). None for
    /// a request without a To tag, which is outside any dialog.
    pub fn of_incoming_request(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.call_id()?.to_string(),
            local_tag: req.to_tag()?,
            remote_tag: req.from_tag().unwrap_or_default(),
        })
    }

    /// The dialog a response to our request belongs to: our tag is in From (§12.1.2).
    pub fn of_response(resp: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.call_id()?.to_string(),
            local_tag: resp.from_tag()?,
            remote_tag: resp.to_tag().unwrap_or_default(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// Our From (UAC) / To (UAS) without its tag.
    pub local_uri: NameAddr,
    pub remote_uri: NameAddr,
    /// Where in-dialog requests go (the peer's Contact), §12.1.
    pub remote_target: Uri,
    /// Record-Route: as received for the UAS, reversed for the UAC (§12.1.1, §12.1.2).
    pub route_set: Vec<NameAddr>,
    /// The last CSeq number we used; 0 while none is chosen (UAS side, §12.1.1).
    pub local_cseq: u32,
    /// The highest CSeq number the peer used; None while it sent no request.
    pub remote_cseq: Option<u32>,
    /// The dialog was created by a SIPS Request-URI (§12.1.1).
    pub secure: bool,
    /// Created by a provisional response; a 2xx confirms it (§12.1.2, §13.2.2.4).
    pub early: bool,
}

fn without_tag(mut n: NameAddr) -> NameAddr {
    n.params.remove("tag");
    n
}

fn first_contact(msg: &impl SipHeaders) -> Option<Uri> {
    msg.contacts().into_iter().next().map(|c| c.uri)
}

fn is_sips(uri: &Uri) -> bool {
    uri.as_sip().is_some_and(|u| u.secure)
}

impl Dialog {
    /// The UAC side, from our request and a response with a To tag (§12.1.2): 1xx
    /// makes an early dialog, 2xx a confirmed one.
    pub fn uac(req: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let from = req.from_hdr().ok_or(DialogError::Missing("From"))?;
        let to = req.to_hdr().ok_or(DialogError::Missing("To"))?;
        let local_tag = from
            .tag()
            .ok_or(DialogError::Missing("From tag"))?
            .to_string();
        let mut route_set = resp.header_uris("Record-Route");
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: req
                    .call_id()
                    .ok_or(DialogError::Missing("Call-ID"))?
                    .to_string(),
                local_tag,
                remote_tag: resp.to_tag().unwrap_or_default(),
            },
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            remote_target: first_contact(resp).ok_or(DialogError::Missing("Contact"))?,
            route_set,
            local_cseq: req.cseq().ok_or(DialogError::Missing("CSeq"))?.seq,
            remote_cseq: None,
            secure: is_sips(&req.uri),
            early: resp.status < 200,
        })
    }

    /// The UAS side, from the request and the tag we put in To (§12.1.1).
    pub fn uas(req: &Request, local_tag: &str) -> Result<Dialog, DialogError> {
        let from = req.from_hdr().ok_or(DialogError::Missing("From"))?;
        let to = req.to_hdr().ok_or(DialogError::Missing("To"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: req
                    .call_id()
                    .ok_or(DialogError::Missing("Call-ID"))?
                    .to_string(),
                local_tag: local_tag.to_string(),
                remote_tag: from.tag().unwrap_or_default().to_string(),
            },
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            remote_target: first_contact(req).ok_or(DialogError::Missing("Contact"))?,
            route_set: req.header_uris("Record-Route"),
            local_cseq: 0,
            remote_cseq: Some(req.cseq().ok_or(DialogError::Missing("CSeq"))?.seq),
            secure: is_sips(&req.uri),
            early: false,
        })
    }

    /// UAC: the 2xx that confirms an early dialog. §13.2.2.4: the route set is
    /// recomputed from the 2xx, and its Contact is the new remote target.
    pub fn confirm(&mut self, resp: &Response) {
        if self.early {
            let mut rs = resp.header_uris("Record-Route");
            rs.reverse();
            self.route_set = rs;
            self.early = false;
        }
        self.on_target_refresh(resp);
    }

    /// A target refresh (re-INVITE, UPDATE, their 2xx; §12.2): the peer's Contact, if
    /// present, becomes the remote target. Returns whether it changed.
    pub fn on_target_refresh(&mut self, msg: &impl SipHeaders) -> bool {
        match first_contact(msg) {
            Some(uri) if uri != self.remote_target => {
                self.remote_target = uri;
                true
            }
            _ => false,
        }
    }

    /// §12.2.2: a request with a CSeq lower than the last one is out of order and gets a
    /// 500; otherwise the remote CSeq moves up to it. ACK and CANCEL carry the CSeq of
    /// their INVITE and are never answered 500 (an ACK may well arrive after a BYE
    /// when the first ACK was lost), so they always pass and move nothing.
    pub fn check_remote_cseq(&mut self, req: &Request) -> bool {
        let Some(seq) = req.cseq().map(|c| c.seq) else {
            return false;
        };
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return true;
        }
        match self.remote_cseq {
            Some(r) if seq < r => false,
            _ => {
                self.remote_cseq = Some(seq);
                true
            }
        }
    }

    /// Where to send an in-dialog request (§8.1.2): the first route, else the target.
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map(|r| &r.uri)
            .unwrap_or(&self.remote_target)
    }

    /// A new request in the dialog (§12.2.1.1), with the next local CSeq. `via` gives
    /// transport and sent-by; it gets a fresh branch. The Contact is added to target
    /// refresh requests. Use `make_ack` for ACK and `transaction::make_cancel` for CANCEL.
    pub fn new_request(&mut self, method: Method, local_contact: &NameAddr, via: &Via) -> Request {
        self.local_cseq = self.local_cseq.wrapping_add(1);
        let mut req = self.build(method.clone(), self.local_cseq, via);
        if matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
        ) {
            req.headers.push("Contact", local_contact.to_string());
        }
        req
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4): built like an
    /// in-dialog request, with the INVITE's CSeq number and a branch of its own. The TU
    /// keeps it and re-sends it for each retransmitted 2xx.
    pub fn make_ack(&self, invite_cseq: u32, via: &Via) -> Request {
        self.build(Method::Ack, invite_cseq, via)
    }

    fn build(&self, method: Method, cseq: u32, via: &Via) -> Request {
        let (uri, routes) = self.request_uri_and_routes();
        let mut req = Request::new(method.clone(), uri);
        let mut via = via.clone();
        via.params.set("branch", Some(&new_branch()));
        req.headers.push("Via", via.to_string());
        req.headers.push("Max-Forwards", "70");
        for r in routes {
            req.headers.push("Route", r);
        }
        let mut from = self.local_uri.clone();
        from.params.set("tag", Some(&self.id.local_tag));
        req.headers.push("From", from.to_string());
        let mut to = self.remote_uri.clone();
        if !self.id.remote_tag.is_empty() {
            to.params.set("tag", Some(&self.id.remote_tag));
        }
        req.headers.push("To", to.to_string());
        req.headers.push("Call-ID", self.id.call_id.clone());
        req.headers.push("CSeq", format!("{cseq} {method}"));
        req
    }

    /// §12.2.1.1: with no route set, or a loose router (`lr`) first, the Request-URI is
    /// the remote target and Route is the route set. A strict router first gets its URI
    /// as Request-URI, and the remote target goes last in Route.
    fn request_uri_and_routes(&self) -> (Uri, Vec<String>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = first.uri.as_sip().is_some_and(|u| u.has_param("lr"));
        if loose {
            return (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            );
        }
        let mut uri = first.uri.clone();
        if let Uri::Sip(u) = &mut uri {
            // Parameters not allowed in a Request-URI are stripped (§19.1.1 table).
            u.headers = None;
            u.params.remove("method");
        }
        let mut routes: Vec<String> = self.route_set[1..].iter().map(|r| r.to_string()).collect();
        routes.push(NameAddr::new(None, self.remote_target.clone()).to_string());
        (uri, routes)
    }
}

/// A fresh tag (§19.3: at least 32 bits of randomness).
pub fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_datagram, Message};

    fn msg(text: &str) -> Message {
        parse_datagram(text.replace('\n', "\r\n").as_bytes()).expect("parses")
    }

    fn invite() -> Request {
        let Message::Request(r) = msg("INVITE sip:bob@biloxi.example.com SIP/2.0\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\n\
Max-Forwards: 70\n\
To: Bob <sip:bob@biloxi.example.com>\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n\
CSeq: 314159 INVITE\n\
Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\n\
Contact: <sip:alice@pc33.atlanta.example.com>\n\n")
        else {
            unreachable!()
        };
        r
    }

    /// The 200 as the UAC sees it: Record-Route as the proxies wrote it (nearest the
    /// UAS first), Contact of the UAS.
    fn ok(rr: &str) -> Response {
        let Message::Response(r) = msg(&format!(
            "SIP/2.0 200 OK\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n\
CSeq: 314159 INVITE\n\
Record-Route: {rr}\n\
Contact: <sip:bob@192.0.2.4>\n\n"
        )) else {
            unreachable!()
        };
        r
    }

    fn via() -> Via {
        Via::parse("SIP/2.0/UDP 10.0.0.1:5060;rport").unwrap()
    }

    fn contact() -> NameAddr {
        NameAddr::parse("<sip:alice@10.0.0.1:5060>").unwrap()
    }

    #[test]
    fn uac_reverses_record_route_and_builds_bye() {
        let req = invite();
        let mut d = Dialog::uac(
            &req,
            &ok("<sip:p2.example.com;lr>, <sip:p1.example.com;lr>"),
        )
        .unwrap();
        assert_eq!(d.id.local_tag, "1928301774");
        assert_eq!(d.id.remote_tag, "a6c85cf");
        assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.4");
        assert!(!d.early);
        let names: Vec<_> = d.route_set.iter().map(|r| r.uri.to_string()).collect();
        assert_eq!(names, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert_eq!(d.next_hop().to_string(), "sip:p1.example.com;lr");

        let bye = d.new_request(Method::Bye, &contact(), &via());
        // Loose routing: Request-URI is the remote target, Route is the route set.
        assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4");
        let routes: Vec<_> = bye
            .header_uris("Route")
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert_eq!(bye.cseq().unwrap().seq, 314160);
        assert_eq!(bye.from_tag().as_deref(), Some("1928301774"));
        assert_eq!(bye.to_tag().as_deref(), Some("a6c85cf"));
        assert_eq!(bye.call_id(), req.call_id());
        assert!(bye
            .top_via()
            .unwrap()
            .branch()
            .unwrap()
            .starts_with("z9hG4bK"));
        assert!(
            bye.headers.get("Contact").is_none(),
            "BYE is no target refresh"
        );
        let reinvite = d.new_request(Method::Invite, &contact(), &via());
        assert_eq!(reinvite.cseq().unwrap().seq, 314161);
        assert_eq!(
            reinvite.contacts()[0].uri.to_string(),
            "sip:alice@10.0.0.1:5060"
        );
        assert_ne!(
            reinvite.top_via().unwrap().branch(),
            bye.top_via().unwrap().branch()
        );
    }

    #[test]
    fn strict_router_gets_the_request_uri_and_target_goes_last() {
        let mut d = Dialog::uac(
            &invite(),
            &ok("<sip:p2.example.com;lr>, <sip:strict.example.com;method=INVITE>"),
        )
        .unwrap();
        let bye = d.new_request(Method::Bye, &contact(), &via());
        assert_eq!(bye.uri.to_string(), "sip:strict.example.com");
        let routes: Vec<_> = bye
            .header_uris("Route")
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(routes, ["sip:p2.example.com;lr", "sip:bob@192.0.2.4"]);
    }

    #[test]
    fn ack_for_2xx_keeps_the_invite_cseq_and_has_its_own_branch() {
        let req = invite();
        let d = Dialog::uac(&req, &ok("<sip:p1.example.com;lr>")).unwrap();
        let ack = d.make_ack(314159, &via());
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.cseq().unwrap().seq, 314159);
        assert_eq!(ack.cseq().unwrap().method, Method::Ack);
        assert_ne!(
            ack.top_via().unwrap().branch(),
            req.top_via().unwrap().branch()
        );
        assert_eq!(ack.headers.get("Route"), Some("<sip:p1.example.com;lr>"));
        assert_eq!(d.local_cseq, 314159, "an ACK does not use up a CSeq");
    }

    #[test]
    fn uas_keeps_record_route_order_and_checks_cseq() {
        let req = invite();
        let tag = new_tag();
        let mut d = Dialog::uas(&req, &tag).unwrap();
        assert_eq!(d.id.local_tag, tag);
        assert_eq!(d.id.remote_tag, "1928301774");
        let names: Vec<_> = d.route_set.iter().map(|r| r.uri.to_string()).collect();
        assert_eq!(names, ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]);
        assert_eq!(
            d.remote_target.to_string(),
            "sip:alice@pc33.atlanta.example.com"
        );
        // Our first request picks CSeq 1 and goes to the caller with From/To swapped.
        let bye = d.new_request(Method::Bye, &contact(), &via());
        assert_eq!(bye.cseq().unwrap().seq, 1);
        assert_eq!(bye.from_tag(), Some(tag.clone()));
        assert_eq!(
            bye.to_hdr().unwrap().uri.to_string(),
            "sip:alice@atlanta.example.com"
        );
        assert_eq!(bye.to_tag().as_deref(), Some("1928301774"));

        // §12.2.2: lower CSeq refused, equal and higher accepted.
        let mut r = req.clone();
        r.method = Method::Info;
        r.headers.set("CSeq", "314159 INFO");
        assert!(d.check_remote_cseq(&r));
        r.headers.set("CSeq", "314158 BYE");
        assert!(!d.check_remote_cseq(&r));
        r.headers.set("CSeq", "314170 BYE");
        assert!(d.check_remote_cseq(&r));
        assert_eq!(d.remote_cseq, Some(314170));
        r.headers.set("CSeq", "314160 INFO");
        assert!(!d.check_remote_cseq(&r));
        // The ACK of the INVITE arriving after a BYE is not out of order.
        r.method = Method::Ack;
        r.headers.set("CSeq", "314159 ACK");
        assert!(d.check_remote_cseq(&r));
        assert_eq!(d.remote_cseq, Some(314170));
    }

    #[test]
    fn target_refresh_and_confirming_an_early_dialog() {
        let req = invite();
        let mut ringing = ok("<sip:p1.example.com;lr>");
        ringing.status = 180;
        let mut d = Dialog::uac(&req, &ringing).unwrap();
        assert!(d.early);
        let mut fin = ok("<sip:p9.example.com;lr>");
        fin.headers.set("Contact", "<sip:bob@192.0.2.9>");
        d.confirm(&fin);
        assert!(!d.early);
        assert_eq!(d.route_set[0].uri.to_string(), "sip:p9.example.com;lr");
        assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.9");
        // A refresh without Contact changes nothing.
        fin.headers.remove("Contact");
        assert!(!d.on_target_refresh(&fin));
    }

    #[test]
    fn missing_contact_or_from_tag_is_an_error() {
        let mut req = invite();
        req.headers.remove("Contact");
        assert_eq!(
            Dialog::uas(&req, "t").unwrap_err(),
            DialogError::Missing("Contact")
        );
        let mut req = invite();
        req.headers.set("From", "<sip:alice@atlanta.example.com>");
        assert_eq!(
            Dialog::uac(&req, &ok("<sip:p1;lr>")).unwrap_err(),
            DialogError::Missing("From tag")
        );
    }

    #[test]
    fn dialog_ids_from_both_sides_agree() {
        let req = invite();
        let resp = ok("<sip:p1.example.com;lr>");
        let uac = DialogId::of_response(&resp).unwrap();
        assert_eq!(uac, Dialog::uac(&req, &resp).unwrap().id);
        let mut in_dialog = req.clone();
        in_dialog
            .headers
            .set("To", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf");
        let uas = DialogId::of_incoming_request(&in_dialog).unwrap();
        assert_eq!(
            (uas.local_tag.as_str(), uas.remote_tag.as_str()),
            ("a6c85cf", "1928301774")
        );
        assert!(DialogId::of_incoming_request(&req).is_none());
    }
}
