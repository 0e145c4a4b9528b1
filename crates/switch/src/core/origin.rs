//! Where a new call comes from: a trunk's INVITE routed by the dialplan, an operator's
//! own call, or a callback the ACD reached. Each becomes a `CallSetup` and its own task,
//! after admission control (overload, Max-Forwards).

use super::Core;
use crate::call::{self, CallStart};
use crate::event::CallRef;
use callctl::event::Origin;
use callctl::{CallSetup, CallUid, Inbound, Plan};
use dialplan::Route;
use sip::transaction::ServerTxId;
use sip::{Peer, Request, Response, SipHeaders};
use std::time::Instant;
use tokio::sync::mpsc;

impl Core {
    /// RFC 3261 §16.3 / RFC 7332: a request that arrives with Max-Forwards 0 is a loop
    /// (483); otherwise our legs carry what is left, less one.
    pub(super) fn max_forwards(&mut self, tx: ServerTxId, req: &Request) -> Option<u32> {
        let mf = req
            .headers
            .get("Max-Forwards")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(70);
        if mf == 0 {
            let resp = Response::to_request(req, 483, Some(&sip::dialog::new_tag()));
            self.respond(tx, resp);
            return None;
        }
        Some(mf - 1)
    }

    pub(super) fn refuse_overload(&mut self, tx: ServerTxId, req: &Request) -> bool {
        let max = self.shared.cfg.switch.max_calls as usize;
        let late = self.admission.overloaded(self.backlog());
        // A call takes two RTP pairs (one per leg) when its task starts: with fewer
        // left, refuse here, statelessly, before a task is spawned to find out.
        let no_ports = self.shared.ports.available() < 2;
        if self.stopping || self.calls.len() >= max || late || no_ports {
            if late {
                tracing::debug!(delay = ?self.admission.delay(self.backlog()), "core late: new call refused");
            }
            if no_ports {
                tracing::debug!("RTP port range exhausted: new call refused");
            }
            // RFC 3261 §21.5.4: 503 with Retry-After tells the carrier to try again later.
            self.shared.metrics.overload_rejected.inc();
            let mut resp = Response::to_request(req, 503, Some(&sip::dialog::new_tag()));
            resp.headers.push("Retry-After", "5");
            self.respond(tx, resp);
            return true;
        }
        false
    }

    /// A call id unique across restarts: the start time and a counter.
    pub(super) fn new_call(&mut self) -> (CallRef, CallUid) {
        let call = CallRef(self.next_call);
        self.next_call += 1;
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64
            + (self.shared.clock_offset * 1000).max(0) as u64;
        (call, CallUid(format!("{ms:x}-{}", call.0)))
    }

    pub(super) fn spawn_call(
        &mut self,
        call: CallRef,
        refuse: Option<(ServerTxId, Request, Peer)>,
        setup: Box<dyn FnOnce(callctl::sdp::MediaSetup) -> CallSetup + Send>,
    ) {
        let (etx, erx) = mpsc::unbounded_channel();
        self.calls
            .add_call(call, etx.clone(), refuse.as_ref().map(|(tx, _, _)| *tx));
        self.shared
            .metrics
            .calls_active
            .set(self.calls.len() as i64);
        let start = CallStart {
            call,
            setup,
            refuse,
            shared: self.shared.clone(),
            core: self.cmd_tx.clone(),
            events: etx,
        };
        tokio::spawn(call::run(start, erx));
    }

    pub(super) fn epoch(&self) -> (std::time::Instant, u64) {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64
            + self.shared.clock_offset * 1000;
        (Instant::now(), unix_ms.max(0) as u64)
    }

    pub(super) fn on_trunk_invite(
        &mut self,
        tx: ServerTxId,
        req: Request,
        from: Peer,
        trunk: String,
    ) {
        if self.refuse_overload(tx, &req) {
            return;
        }
        let Some(max_forwards) = self.max_forwards(tx, &req) else {
            return;
        };
        let dialled = req.uri.user().unwrap_or_default();
        let Some(trunk_cfg) = self.shared.cfg.trunk(&trunk).cloned() else {
            return self.respond(
                tx,
                Response::to_request(&req, 403, Some(&sip::dialog::new_tag())),
            );
        };
        let state = self
            .shared
            .operating
            .lock()
            .map(|s| s.state().clone())
            .unwrap_or_default();
        // A department's number the carrier forwarded to us: route (and show) the number
        // the citizen dialled (第2-7 ⑴ カ; Diversion RFC 5806, History-Info RFC 7044).
        let diversion: Vec<&str> = req.headers.get_all("Diversion").collect();
        let history: Vec<&str> = req.headers.get_all("History-Info").collect();
        let original = dialplan::lookup::original_dialled(&diversion, &history);
        let route = dialplan::route::route_inbound_diverted(
            &self.shared.cfg,
            &self.shared.calendar,
            &state,
            &trunk_cfg,
            &dialled,
            original.as_deref(),
            self.shared.now_unix(),
        );
        let queue_plan = |queue: String, priority: u8| {
            let q = self.shared.cfg.queue(&queue);
            Plan::Queue {
                greeting: q.map(|q| q.greeting.clone()).unwrap_or_default(),
                hold_music: q.map(|q| q.hold_music.clone()).unwrap_or_default(),
                queue,
                priority,
            }
        };
        let pbx = trunk_cfg.kind == dialplan::TrunkKind::Pbx;
        let (number, plan, origin) = match route {
            Route::NotFound => {
                self.shared.metrics.unknown_number.inc();
                return self.respond(
                    tx,
                    Response::to_request(&req, 404, Some(&sip::dialog::new_tag())),
                );
            }
            Route::Queue { queue, number } => {
                // From the PBX, a representative number is a department sending the call
                // back (第2-7 ⑴ キ): ahead of citizens, origin kept.
                let (prio, origin) = if pbx {
                    (20, Origin::DepartmentReturn)
                } else {
                    (0, Origin::Citizen)
                };
                (number, queue_plan(queue, prio), origin)
            }
            Route::StaffToCenter {
                queue,
                number,
                priority,
            } => (number, queue_plan(queue, priority), Origin::Staff),
            // FAX ([fax], 24 h): straight to the FAX machine, no prompt; T.38 re-INVITEs
            // pass through the call's re-INVITE handling.
            Route::Fax { number, department } => {
                let dest = self.shared.department_destination(&department);
                let role = callctl::Role::Department {
                    name: department.label.clone(),
                };
                (
                    number,
                    Plan::Forward {
                        announce: Vec::new(),
                        dest,
                        role,
                    },
                    Origin::Fax,
                )
            }
            Route::AfterHours {
                number,
                department,
                announce,
            } => {
                let dest = self.shared.department_destination(&department);
                let role = callctl::Role::Department {
                    name: department.label.clone(),
                };
                (
                    number,
                    Plan::Forward {
                        announce: vec![announce.to_string()],
                        dest,
                        role,
                    },
                    Origin::Citizen,
                )
            }
        };
        // The PBX's 48 channels are enforced, with a reserve kept for transfers (第2-7 ⑴ エ・オ).
        let channel = match self.shared.acquire_channel(&trunk, false) {
            Ok(()) => Some(trunk.clone()),
            Err(reason) => {
                tracing::info!(%trunk, %reason, "trunk full");
                let mut resp = Response::to_request(&req, 503, Some(&sip::dialog::new_tag()));
                resp.headers.push("Retry-After", "5");
                return self.respond(tx, resp);
            }
        };
        // The caller is who the trunk asserts (RFC 3325 P-Asserted-Identity from a
        // configured trunk), never a From the caller wrote; withheld (184) stays withheld.
        let from_user = req
            .from_hdr()
            .and_then(|f| f.uri.user())
            .unwrap_or_default();
        let privacy: Vec<&str> = req.headers.get_all("Privacy").collect();
        let caller = if dialplan::lookup::withholds_identity(&privacy) {
            "anonymous".to_string()
        } else {
            dialplan::lookup::asserted_caller(
                req.headers.get("P-Asserted-Identity"),
                &from_user,
                true,
            )
            .unwrap_or_else(|| "anonymous".to_string())
        };
        let (call, uid) = self.new_call();
        tracing::info!(call = call.0, %uid, %dialled, name = %number.name, trunk = %trunk, ?plan, "inbound call");
        let epoch = self.epoch();
        let center = self.shared.cfg.numbers.first().cloned();
        let refuse = Some((tx, req.clone(), from));
        self.spawn_call(
            call,
            refuse,
            Box::new(move |media| CallSetup {
                uid,
                origin,
                trunk,
                line: number,
                caller,
                inbound_channel: channel,
                inbound: Some(Inbound {
                    tx,
                    invite: req,
                    from,
                }),
                plan,
                media,
                epoch,
                timers: callctl::Timers::default(),
                max_forwards,
                center,
            }),
        );
    }

    /// The ACD reached a callback's place in line: a call rings the agent, then the
    /// citizen through the carrier trunk, on the line the citizen had dialled.
    pub(super) fn place_callback(
        &mut self,
        entry: acd::EntryId,
        agent: String,
        number: String,
        line: Option<dialplan::Number>,
    ) {
        let line = line
            .or_else(|| self.shared.cfg.numbers.first().cloned())
            .unwrap_or(dialplan::Number {
                number: String::new(),
                name: String::new(),
                queue: String::new(),
                department: None,
                survey: false,
            });
        let (call, uid) = self.new_call();
        tracing::info!(call = call.0, %uid, %agent, %number, line = %line.name, "placing a callback");
        let plan = Plan::Callback {
            entry,
            agent_dest: self.shared.destination_of(&agent),
            citizen: self.shared.carrier_destination(&number),
            queue: line.queue.clone(),
            agent,
        };
        let epoch = self.epoch();
        self.spawn_call(
            call,
            None,
            Box::new(move |media| CallSetup {
                uid,
                origin: Origin::Callback,
                trunk: String::new(),
                line,
                caller: number,
                inbound_channel: None,
                inbound: None,
                plan,
                media,
                epoch,
                timers: callctl::Timers::default(),
                max_forwards: 70,
                center: None,
            }),
        );
    }

    /// An operator's own call (authenticated): a feature code, an extension, a
    /// department, an outside number. The call machine answers or refuses it.
    pub(super) fn operator_call(&mut self, tx: ServerTxId, req: Request, from: Peer, user: String) {
        if self.refuse_overload(tx, &req) {
            return;
        }
        let Some(max_forwards) = self.max_forwards(tx, &req) else {
            return;
        };
        let dialled = req.uri.user().unwrap_or_default();
        let env = call::SwitchEnv::new(self.shared.clone(), user.clone());
        let target = callctl::Env::resolve(&env, &user, &dialled, self.shared.now_unix());
        let name = self
            .shared
            .cfg
            .agent(&user)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| user.clone());
        let line = dialplan::Number {
            number: user.clone(),
            name,
            queue: self
                .shared
                .cfg
                .queues
                .iter()
                .find(|q| q.agents.contains(&user))
                .map(|q| q.name.clone())
                .unwrap_or_default(),
            department: None,
            survey: false,
        };
        let (call, uid) = self.new_call();
        tracing::info!(call = call.0, %uid, agent = %user, %dialled, "operator's call");
        let epoch = self.epoch();
        let center = self.shared.cfg.numbers.first().cloned();
        let refuse = Some((tx, req.clone(), from));
        self.spawn_call(
            call,
            refuse,
            Box::new(move |media| CallSetup {
                uid,
                origin: Origin::Operator,
                trunk: String::new(),
                line,
                caller: user.clone(),
                inbound_channel: None,
                inbound: Some(Inbound {
                    tx,
                    invite: req,
                    from,
                }),
                plan: Plan::Dial {
                    agent: user,
                    target,
                },
                media,
                epoch,
                timers: callctl::Timers::default(),
                max_forwards,
                center,
            }),
        );
    }
}
