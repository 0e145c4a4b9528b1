//! How a message finds its transaction.
//!
//! Client side (§17.1.3): the top Via branch plus the CSeq method (a CANCEL shares the
//! INVITE's branch but is a transaction of its own). Server side (§17.2.3): the branch,
//! the sent-by of the top Via and the method, with ACK matching the INVITE; when the
//! branch lacks the "z9hG4bK" cookie the RFC 2543 rules compare Request-URI, tags,
//! Call-ID, CSeq number and the whole top Via instead.

use crate::message::{Method, Request, Response, SipHeaders, Via};

/// The RFC 3261 magic cookie (§8.1.1.7).
const COOKIE: &str = "z9hG4bK";

/// A branch that can be trusted to be unique. A bare "z9hG4bK" carries no entropy, so
/// it is matched the RFC 2543 way (RFC 4475 §3.3.7 reasoning).
pub(crate) fn is_rfc3261_branch(branch: &str) -> bool {
    branch.len() > COOKIE.len() && branch.starts_with(COOKIE)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    /// The key of a request we send. None when it carries no branch at all: such a
    /// transaction can still time out but no response can ever match it.
    pub fn of_request(req: &Request) -> Option<ClientKey> {
        let via = req.top_via()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: req.method.clone(),
        })
    }

    /// The INVITE a CANCEL we send refers to: same branch (§9.1).
    pub fn invite_of_cancel(cancel: &Request) -> Option<ClientKey> {
        let via = cancel.top_via()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: Method::Invite,
        })
    }

    /// §17.1.3: branch of the response's top Via and the CSeq method.
    pub fn of_response(resp: &Response) -> Option<ClientKey> {
        let via = resp.top_via()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: resp.cseq()?.method,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// §17.2.3, first procedure.
    Branch {
        branch: String,
        sent_by: String,
        method: Method,
    },
    /// §17.2.3, RFC 2543 backwards compatibility.
    Legacy {
        ruri: String,
        call_id: String,
        from_tag: String,
        to_tag: String,
        cseq: u32,
        via: String,
        method: Method,
    },
}

/// The facts the key is built from, read once per message.
pub(crate) struct RequestFacts {
    via: Via,
    call_id: String,
    cseq: u32,
    from_tag: String,
    to_tag: String,
}

impl RequestFacts {
    /// None when the request lacks what any matching needs (top Via, Call-ID, CSeq):
    /// it cannot be answered either (§8.2.6.2 copies those), so it is dropped.
    pub fn read(req: &Request) -> Option<RequestFacts> {
        Some(RequestFacts {
            via: req.top_via()?,
            call_id: req.call_id()?.to_string(),
            cseq: req.cseq()?.seq,
            from_tag: req.from_tag().unwrap_or_default(),
            to_tag: req.to_tag().unwrap_or_default(),
        })
    }

    pub fn to_tag(&self) -> &str {
        &self.to_tag
    }

    /// Key of the transaction this request would create, or (for ACK) belong to.
    /// `method` is the method of the transaction (INVITE for an ACK, §17.2.3).
    pub fn key(&self, req: &Request, method: Method, to_tag: &str) -> ServerKey {
        match self.via.branch() {
            Some(b) if is_rfc3261_branch(b) => ServerKey::Branch {
                branch: b.to_string(),
                sent_by: sent_by(&self.via),
                method,
            },
            _ => ServerKey::Legacy {
                ruri: req.uri.to_string(),
                call_id: self.call_id.clone(),
                from_tag: self.from_tag.clone(),
                to_tag: to_tag.to_string(),
                cseq: self.cseq,
                via: self.via.to_string(),
                method,
            },
        }
    }

    /// The key under which the request's own transaction is stored.
    pub fn own_key(&self, req: &Request) -> ServerKey {
        self.key(req, req.method.clone(), &self.to_tag)
    }

    /// Keys of the INVITE transaction an ACK may belong to. With RFC 2543 matching the
    /// ACK's To tag is the one our final response added, while the INVITE (and so the
    /// stored key) had none, or the same one for a re-INVITE: try both.
    pub fn ack_keys(&self, req: &Request) -> Vec<ServerKey> {
        let k = self.key(req, Method::Invite, &self.to_tag);
        if matches!(k, ServerKey::Branch { .. }) || self.to_tag.is_empty() {
            return vec![k];
        }
        vec![k, self.key(req, Method::Invite, "")]
    }

    /// §9.2: the INVITE a CANCEL refers to is found with the §17.2.3 rules, with the
    /// method taken as INVITE.
    pub fn cancel_target(&self, req: &Request) -> ServerKey {
        self.key(req, Method::Invite, &self.to_tag)
    }

    /// Key into the table of INVITEs whose 2xx awaits an ACK: the ACK for a 2xx is a new
    /// transaction (new branch), so it is found by dialog and CSeq (§13.3.1.4, §17.2.3).
    pub fn ack2xx_key(&self) -> Ack2xxKey {
        Ack2xxKey {
            call_id: self.call_id.clone(),
            from_tag: self.from_tag.clone(),
            to_tag: self.to_tag.clone(),
            cseq: self.cseq,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ack2xxKey {
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: String,
    pub cseq: u32,
}

/// sent-by compared as host (case-insensitive) and port, absent port kept distinct
/// from an explicit one as the RFC compares the values literally.
fn sent_by(via: &Via) -> String {
    match via.port {
        Some(p) => format!("{}:{}", via.host.to_ascii_lowercase(), p),
        None => via.host.to_ascii_lowercase(),
    }
}
