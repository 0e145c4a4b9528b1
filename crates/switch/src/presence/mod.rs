//! SUBSCRIBE/NOTIFY (RFC 6665) so that operators' softphones show colleagues and the
//! queue line on their busy-lamp keys: the `presence` package with PIDF (RFC 3856) and
//! the `dialog` package (RFC 4235).
//!
//! The core task owns the transaction layer, so it owns this too (one field, a few
//! calls): SUBSCRIBEs come here after digest authentication, NOTIFYs leave as client
//! transactions, and their answers come back to end dead subscriptions. The state shown
//! is the queue task's: it publishes a [`Board`] on a watch channel after every step,
//! and a NOTIFY goes out only to subscriptions whose resource changed.
//!
//! Resources: `sip:<agent id>@…` (an operator) and `sip:<queue name>@…` (the line).
//! Any authenticated operator may watch any of them; nobody else may.

mod body;

pub use body::{Board, Lamp};
use body::{Package, View};

use crate::Shared;
use callctl::msg::{contact_for, via_for};
use sip::dialog::Dialog;
use sip::transaction::{ClientTxId, ServerTxId, TransactionLayer};
use sip::{Method, Peer, Request, Response, SipHeaders};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// RFC 3856 §6.4 and RFC 4235 §3.3 suggest an hour; shorter keeps dead phones cheap.
const DEFAULT_EXPIRES: u32 = 3600;
const MAX_EXPIRES: u32 = 3600;
/// Below this a refresh storm costs more than it helps (423 + Min-Expires, §4.2.1.1).
const MIN_EXPIRES: u32 = 60;
/// Per operator and in all: a runaway phone must not grow the core's memory.
const MAX_PER_USER: usize = 100;
const MAX_TOTAL: usize = 5000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Resource {
    Agent(String),
    Queue(String),
}

struct Subscription {
    dialog: Dialog,
    peer: Peer,
    package: Package,
    /// The Event header's `id`, echoed in every NOTIFY (RFC 6665 §8.2.1).
    event_id: Option<String>,
    resource: Resource,
    entity: String,
    subscriber: String,
    expires_at: Instant,
    /// dialog-info's version (RFC 4235 §4.1).
    version: u32,
    /// What the last NOTIFY said; None before the first.
    shown: Option<View>,
}

/// (Call-ID, our tag): how an in-dialog SUBSCRIBE finds its subscription.
type Key = (String, String);

pub struct Presence {
    shared: Arc<Shared>,
    board: watch::Receiver<Board>,
    subs: HashMap<Key, Subscription>,
    /// NOTIFYs in flight, so their answers reach us and not the calls.
    pending: HashMap<ClientTxId, Key>,
}

impl Presence {
    pub fn new(shared: Arc<Shared>, board: watch::Receiver<Board>) -> Presence {
        Presence {
            shared,
            board,
            subs: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Resolves when the queue task published a new board (for the core's select).
    pub async fn changed(&mut self) -> bool {
        self.board.changed().await.is_ok()
    }

    /// A SUBSCRIBE from the authenticated operator `user`: a new subscription, a
    /// refresh, or (Expires: 0) the end of one (RFC 6665 §4.2.1). The 200 goes first,
    /// then a NOTIFY with the current state (§4.2.1.2), also on a refresh.
    pub fn on_subscribe(
        &mut self,
        layer: &mut TransactionLayer,
        tx: ServerTxId,
        req: Request,
        from: Peer,
        user: &str,
        now: Instant,
    ) {
        let (resp, key) = match self.answer(&req, from, user, now) {
            Ok((resp, key)) => (resp, Some(key)),
            Err(resp) => (resp, None),
        };
        self.count(&resp);
        layer.respond(tx, resp, now);
        if let Some(key) = key {
            self.notify(layer, &key, now, None);
        }
    }

    /// Checks the request (§4.2.1.1) and keeps the subscription: the 200 and the
    /// subscription's key, or the refusal.
    fn answer(
        &mut self,
        req: &Request,
        from: Peer,
        user: &str,
        now: Instant,
    ) -> Result<(Response, Key), Response> {
        let refuse = |status: u16| Response::to_request(req, status, Some(&sip::dialog::new_tag()));
        // §8.2.1: Event names the package; without it RFC 6665 §4.2.1.1 says 400/489.
        let event = req.headers.get("Event").unwrap_or("");
        let mut parts = event.split(';');
        let Some(package) = parts.next().and_then(Package::parse) else {
            let mut r = refuse(489);
            r.headers.push("Allow-Events", "presence, dialog");
            return Err(r);
        };
        let event_id = parts
            .filter_map(|p| p.trim().strip_prefix("id="))
            .next()
            .map(str::to_string);
        // §4.2.1.1: a body type the subscriber cannot read is 406.
        if let Some(accept) = req.headers.get("Accept") {
            if !accept
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(package.content_type()))
            {
                let mut r = refuse(406);
                r.headers.push("Accept", package.content_type());
                return Err(r);
            }
        }
        let requested = match req.headers.get("Expires").map(str::trim) {
            None => DEFAULT_EXPIRES,
            Some(v) => v.parse::<u32>().map_err(|_| refuse(400))?,
        };
        if requested != 0 && requested < MIN_EXPIRES {
            let mut r = refuse(423);
            r.headers.push("Min-Expires", MIN_EXPIRES.to_string());
            return Err(r);
        }
        let expires = requested.min(MAX_EXPIRES);

        // A refresh or an unsubscribe names our tag (§4.1.2.2, §4.1.2.3).
        if let Some(tag) = req.to_tag() {
            let key = (req.call_id().unwrap_or("").to_string(), tag.clone());
            let Some(s) = self.subs.get_mut(&key) else {
                return Err(Response::to_request(req, 481, None));
            };
            if s.subscriber != user || !s.dialog.check_remote_cseq(req) {
                return Err(Response::to_request(req, 403, None));
            }
            s.dialog.on_target_refresh(req);
            s.expires_at = now + Duration::from_secs(expires as u64);
            let mut r = Response::to_request(req, 200, None);
            r.headers.push("Expires", expires.to_string());
            r.headers.push("Contact", contact_for(&s.peer).to_string());
            return Ok((r, key));
        }

        let resource = self.resource(req).ok_or_else(|| refuse(404))?;
        let mine = self.subs.values().filter(|s| s.subscriber == user).count();
        if mine >= MAX_PER_USER || self.subs.len() >= MAX_TOTAL {
            let mut r = refuse(503);
            r.headers.push("Retry-After", "60");
            return Err(r);
        }
        let tag = sip::dialog::new_tag();
        let dialog = Dialog::uas(req, &tag).map_err(|_| refuse(400))?;
        let key = (dialog.id.call_id.clone(), tag.clone());
        let entity = dialog.local_uri.uri.to_string();
        let mut r = Response::to_request(req, 200, Some(&tag));
        r.headers.push("Expires", expires.to_string());
        r.headers.push("Contact", contact_for(&from).to_string());
        tracing::info!(%user, ?resource, package = package.name(), expires, "subscription");
        self.subs.insert(
            key.clone(),
            Subscription {
                dialog,
                peer: from,
                package,
                event_id,
                resource,
                entity,
                subscriber: user.to_string(),
                expires_at: now + Duration::from_secs(expires as u64),
                version: 0,
                shown: None,
            },
        );
        Ok((r, key))
    }

    /// Which operator or queue the Request-URI names (agents first: ids are digits).
    fn resource(&self, req: &Request) -> Option<Resource> {
        let user = req.uri.user()?;
        let cfg = &self.shared.cfg;
        if cfg.agent(&user).is_some() {
            Some(Resource::Agent(user))
        } else if cfg.queue(&user).is_some() {
            Some(Resource::Queue(user))
        } else {
            None
        }
    }

    fn view(&self, r: &Resource) -> View {
        let b = self.board.borrow();
        match r {
            Resource::Agent(a) => View::Agent(b.agents.get(a).cloned().unwrap_or(Lamp::Offline)),
            Resource::Queue(q) => View::Queue(b.queues.get(q).copied().unwrap_or(0)),
        }
    }

    /// NOTIFY one subscription with the current state (§4.2.2); `terminated` with a
    /// reason ends it (the NOTIFY is still sent, then the subscription forgotten).
    fn notify(
        &mut self,
        layer: &mut TransactionLayer,
        key: &Key,
        now: Instant,
        terminated: Option<&str>,
    ) -> bool {
        let Some(view) = self.subs.get(key).map(|s| self.view(&s.resource)) else {
            return false;
        };
        let s = self.subs.get_mut(key).expect("looked up above");
        let remaining = s.expires_at.saturating_duration_since(now).as_secs();
        let state = match terminated {
            Some(reason) => format!("terminated;reason={reason}"),
            None if remaining == 0 => "terminated;reason=timeout".to_string(),
            None => format!("active;expires={remaining}"),
        };
        let mut req =
            s.dialog
                .new_request(Method::Notify, &contact_for(&s.peer), &via_for(&s.peer));
        let event = match &s.event_id {
            Some(id) => format!("{};id={id}", s.package.name()),
            None => s.package.name().to_string(),
        };
        req.headers.push("Event", event);
        req.headers.push("Subscription-State", state.clone());
        req.headers.push("Content-Type", s.package.content_type());
        req.body = bytes::Bytes::from(match s.package {
            Package::Presence => body::pidf(&s.entity, &view),
            Package::Dialog => body::dialog_info(&s.entity, s.version, &view),
        });
        s.version = s.version.wrapping_add(1);
        s.shown = Some(view);
        let peer = s.peer;
        let id = layer.send_request(req, peer, now);
        self.pending.insert(id, key.clone());
        if state.starts_with("terminated") {
            self.subs.remove(key);
        }
        true
    }

    /// The board changed: NOTIFY the subscriptions whose resource now looks different.
    pub fn on_board(&mut self, layer: &mut TransactionLayer, now: Instant) {
        let due: Vec<Key> = self
            .subs
            .iter()
            .filter(|(_, s)| s.shown.as_ref() != Some(&self.view(&s.resource)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.notify(layer, &k, now, None);
        }
    }

    /// A final answer to one of our NOTIFYs; false when the transaction is not ours.
    /// 481 and other failures end the subscription (§4.2.2: the subscriber is gone).
    pub fn on_response(&mut self, tx: ClientTxId, resp: &Response) -> bool {
        let Some(key) = self.pending.get(&tx).cloned() else {
            return false;
        };
        if resp.status >= 200 {
            self.pending.remove(&tx);
        }
        if resp.status >= 300 {
            if let Some(s) = self.subs.remove(&key) {
                tracing::info!(subscriber = %s.subscriber, status = resp.status, "subscription ended by the phone");
            }
        }
        true
    }

    /// Our NOTIFY got no answer: the phone is gone (§4.2.2).
    pub fn on_timeout(&mut self, tx: ClientTxId) -> bool {
        let Some(key) = self.pending.remove(&tx) else {
            return false;
        };
        self.subs.remove(&key);
        true
    }

    /// Subscriptions not refreshed in time end with a final NOTIFY (§4.2.2, `timeout`).
    pub fn expire(&mut self, layer: &mut TransactionLayer, now: Instant) {
        let gone: Vec<Key> = self
            .subs
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            self.notify(layer, &k, now, Some("timeout"));
        }
    }

    /// Shutting down: tell every phone to subscribe again later (`deactivated`, §4.2.2).
    pub fn end_all(&mut self, layer: &mut TransactionLayer, now: Instant) {
        let all: Vec<Key> = self.subs.keys().cloned().collect();
        for k in all {
            self.notify(layer, &k, now, Some("deactivated"));
        }
    }

    fn count(&self, resp: &Response) {
        self.shared
            .metrics
            .sip_responses_sent
            .with_label_values(&[&resp.status.to_string()])
            .inc();
    }
}
