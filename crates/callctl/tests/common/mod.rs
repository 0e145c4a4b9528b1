//! A harness for driving one `callctl::Call` on a virtual clock: a fake world (`World`)
//! answers the machine's look-ups, and helpers make the SIP messages the far ends send.

#![allow(dead_code)]

use callctl::event::{CallUid, EventKind, Origin};
use callctl::io::{Destination, Env, Input, MediaOut, Output, QueueOut, Role, Target};
use callctl::sdp::MediaSetup;
use callctl::{AgentOp, Call, CallSetup, Inbound, Plan, Timers};
use sip::transaction::{ServerTxId, TransportKind};
use sip::{Message, Peer, Request, Response, SipHeaders};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const CITIZEN: &str = "127.0.0.1:5090";
pub const TRUNK_LISTEN: &str = "127.0.0.1:5080";
pub const AGENTS_LISTEN: &str = "127.0.0.1:5060";
pub const PBX: &str = "127.0.0.1:5092";
pub const PBX_LISTEN: &str = "127.0.0.1:5082";

pub fn peer(remote: &str, local: &str) -> Peer {
    Peer {
        transport: TransportKind::Udp,
        remote: remote.parse().unwrap(),
        local: local.parse().unwrap(),
    }
}

pub fn phone_of(agent: &str) -> Destination {
    let port = 6000 + agent.parse::<u16>().unwrap_or(0) % 1000;
    Destination {
        label: agent.to_string(),
        uri: sip::Uri::parse(&format!("sip:{agent}@127.0.0.1:{port}")).unwrap(),
        peer: peer(&format!("127.0.0.1:{port}"), AGENTS_LISTEN),
        trunk: None,
    }
}

pub fn pbx_ext(ext: &str) -> Destination {
    Destination {
        label: ext.to_string(),
        uri: sip::Uri::parse(&format!("sip:{ext}@{PBX}")).unwrap(),
        peer: peer(PBX, PBX_LISTEN),
        trunk: Some("pbx".into()),
    }
}

/// The fake world: a directory, the PBX's channels, operators' phones.
pub struct World {
    pub channels: RefCell<HashMap<String, u32>>,
    pub limit: u32,
    pub reserve: u32,
}

impl Default for World {
    fn default() -> Self {
        World {
            channels: RefCell::new(HashMap::new()),
            limit: 48,
            reserve: 4,
        }
    }
}

impl Env for World {
    fn resolve(&self, _agent: &str, dialled: &str, _now: u64) -> Target {
        match dialled {
            "*23" => Target::Feature {
                op: AgentOp::Pause("休憩".into()),
            },
            "2101" | "2201" | "2999" => Target::Place {
                dest: pbx_ext(dialled),
                role: Role::Department {
                    name: dialled.into(),
                },
            },
            "2301" => Target::Refused {
                status: 480,
                reason: "保険年金課は受付時間外です".into(),
                prompts: vec![],
            },
            _ => Target::Refused {
                status: 404,
                reason: "no such number".into(),
                prompts: vec![],
            },
        }
    }
    fn acquire_channel(&self, trunk: &str, transfer: bool) -> Result<(), String> {
        let mut ch = self.channels.borrow_mut();
        let used = ch.entry(trunk.to_string()).or_insert(0);
        let limit = if transfer {
            self.limit
        } else {
            self.limit - self.reserve
        };
        if *used >= limit {
            return Err("full".into());
        }
        *used += 1;
        Ok(())
    }
    fn agent_phone(&self, agent: &str) -> Option<Destination> {
        Some(phone_of(agent))
    }
    fn route_destination(&self, _route: &str) -> Option<Destination> {
        Some(pbx_ext("2999"))
    }
    fn callback_number(&self, caller: &str) -> Result<String, String> {
        if caller.starts_with("0") && caller.len() >= 10 {
            Ok(caller.to_string())
        } else {
            Err("withheld".into())
        }
    }
}

pub fn sdp(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    )
}

fn content_type(body: &str) -> &'static str {
    if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    }
}

pub fn parse_req(text: &str) -> Request {
    match sip::parse_datagram(text.as_bytes()).expect("test request parses") {
        Message::Request(r) => r,
        _ => panic!("not a request"),
    }
}

/// The citizen's INVITE to a representative number (with an offer, or without).
pub fn citizen_invite(with_sdp: bool) -> Request {
    let body = if with_sdp { sdp(40000) } else { String::new() };
    parse_req(&format!(
        "INVITE sip:0246221111@{TRUNK_LISTEN} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {CITIZEN};branch=z9hG4bKcitizen1\r\n\
         Max-Forwards: 69\r\n\
         From: <sip:0312345678@127.0.0.1>;tag=cit1\r\n\
         To: <sip:0246221111@127.0.0.1>\r\n\
         Call-ID: citizen-call-1@test\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:0312345678@{CITIZEN}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

pub fn line() -> dialplan::Number {
    dialplan::Number {
        number: "0246221111".into(),
        name: "市代表".into(),
        queue: "general".into(),
        department: None,
        survey: false,
    }
}

pub fn media() -> MediaSetup {
    MediaSetup {
        ip: "127.0.0.1".parse().unwrap(),
        a_port: 20000,
        b_port: 20002,
        codecs: vec![media::Codec::Pcmu, media::Codec::Pcma],
        session_id: 7,
        tls_sdes: media::sdp::crypto::Sdes::Off,
    }
}

pub fn queue_plan(greeting: bool) -> Plan {
    Plan::Queue {
        queue: "general".into(),
        priority: 0,
        greeting: if greeting {
            vec!["greeting".into(), "recording-notice".into()]
        } else {
            vec![]
        },
        hold_music: "hold-music".into(),
    }
}

/// One call under test, with everything it said so far.
pub struct Sim {
    pub call: Call,
    pub world: World,
    pub now: Instant,
    pub start: Instant,
    pub said: Vec<Output>,
    /// How many of `said` the test has looked at.
    pub seen: usize,
}

impl Sim {
    pub fn inbound(plan: Plan, invite: Request) -> Sim {
        Self::with(plan, Some(invite), "0312345678")
    }

    /// An inbound call on another line than the main number's.
    pub fn inbound_on(plan: Plan, invite: Request, line: dialplan::Number) -> Sim {
        Self::build(plan, Some(invite), "0312345678", line)
    }

    pub fn with(plan: Plan, invite: Option<Request>, caller: &str) -> Sim {
        Self::build(plan, invite, caller, line())
    }

    pub fn build(plan: Plan, invite: Option<Request>, caller: &str, line: dialplan::Number) -> Sim {
        let world = World::default();
        let start = Instant::now();
        let inbound = invite.map(|invite| Inbound {
            tx: ServerTxId::from_raw(1),
            invite,
            from: peer(CITIZEN, TRUNK_LISTEN),
        });
        let setup = CallSetup {
            uid: CallUid("t-1".into()),
            origin: Origin::Citizen,
            trunk: "carrier".into(),
            line,
            caller: caller.into(),
            inbound_channel: None,
            inbound,
            plan,
            media: media(),
            epoch: (start, 1_796_000_000_000),
            timers: Timers::default(),
            max_forwards: 68,
            center: None,
        };
        let call = Call::new(setup, &world, start);
        let mut s = Sim {
            call,
            world,
            now: start,
            start,
            said: Vec::new(),
            seen: 0,
        };
        s.collect();
        s
    }

    fn collect(&mut self) {
        while let Some(o) = self.call.poll_output() {
            self.said.push(o);
        }
    }

    pub fn feed(&mut self, input: Input) {
        self.call.handle(input, &self.world, self.now);
        self.collect();
    }

    /// Move the virtual clock, firing the machine's timers on the way.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(t) = self.call.poll_timeout() {
            if t > until {
                break;
            }
            self.now = t.max(self.now);
            self.call.handle_timeout(&self.world, self.now);
            self.collect();
        }
        self.now = until;
    }

    /// The outputs since the last call to `new_outputs`.
    pub fn new_outputs(&mut self) -> &[Output] {
        let from = self.seen;
        self.seen = self.said.len();
        &self.said[from..]
    }

    pub fn events(&self) -> Vec<EventKind> {
        self.said
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.kind.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn queue_cmds(&self) -> Vec<&QueueOut> {
        self.said
            .iter()
            .filter_map(|o| match o {
                Output::Queue(q) => Some(q),
                _ => None,
            })
            .collect()
    }

    pub fn responses(&self) -> Vec<&Response> {
        self.said
            .iter()
            .filter_map(|o| match o {
                Output::Respond { resp, .. } => Some(resp),
                _ => None,
            })
            .collect()
    }

    /// Requests sent with this method, in order.
    pub fn sent(&self, method: sip::Method) -> Vec<&Request> {
        self.said
            .iter()
            .filter_map(|o| match o {
                Output::SendRequest { req, .. } if req.method == method => Some(req),
                _ => None,
            })
            .collect()
    }

    pub fn acks(&self) -> usize {
        self.said
            .iter()
            .filter(|o| matches!(o, Output::SendRaw { data, .. } if data.starts_with(b"ACK ")))
            .count()
    }

    pub fn plays(&self) -> Vec<(u32, Vec<String>)> {
        self.said
            .iter()
            .filter_map(|o| match o {
                Output::Media(MediaOut::Play { prompts, token, .. }) => {
                    Some((*token, prompts.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// End the current prompt (the driver's playback timer).
    pub fn finish_prompt(&mut self) {
        let token = self.plays().last().expect("a prompt is playing").0;
        self.feed(Input::PlaybackDone { token });
    }

    /// Greeting done, enqueued as entry 1.
    pub fn reach_queue(&mut self) {
        self.finish_prompt();
        self.feed(Input::Enqueued(Ok(acd::EntryId(1))));
    }

    /// The ACD offers agent `agent`; returns the INVITE sent to their phone.
    pub fn offer(&mut self, agent: &str) -> Request {
        self.feed(Input::Offer {
            entry: acd::EntryId(1),
            agent: agent.into(),
            ring_timeout: Duration::from_secs(15),
            dest: Some(phone_of(agent)),
        });
        self.last_invite_to(&phone_of(agent).uri.to_string())
    }

    pub fn last_invite_to(&self, uri: &str) -> Request {
        self.sent(sip::Method::Invite)
            .into_iter()
            .rev()
            .find(|r| r.uri.to_string() == uri)
            .cloned()
            .unwrap_or_else(|| panic!("no INVITE to {uri}"))
    }

    /// A response from the far end of an outbound leg.
    pub fn respond_to(&mut self, req: &Request, status: u16, body: Option<String>) {
        let mut resp = Response::to_request(req, status, Some("far-tag"));
        if (101..300).contains(&status) {
            resp.headers.push(
                "Contact",
                format!("<sip:far@{}>", req.uri.host_port_string()),
            );
        }
        if let Some(b) = body {
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = bytes::Bytes::from(b);
        }
        let branch = req
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap();
        self.feed(Input::Response { branch, resp });
    }

    /// An in-dialog request from the far end of an outbound leg (BYE, REFER, …).
    pub fn leg_sends(&mut self, invite: &Request, method: &str, extra: &str, cseq: u32) {
        self.leg_sends_with(invite, method, extra, cseq, "");
    }

    /// The same with an SDP body (a re-INVITE's offer, an ACK's answer); empty: none.
    pub fn leg_sends_with(
        &mut self,
        invite: &Request,
        method: &str,
        extra: &str,
        cseq: u32,
        body: &str,
    ) {
        let req = parse_req(&format!(
            "{method} sip:madoguchi@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKleg{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:far@127.0.0.1>;tag=far-tag\r\n\
             To: <sip:x@127.0.0.1>;tag={}\r\n\
             Call-ID: {}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:far@127.0.0.1:7000>\r\n\
             {extra}{}Content-Length: {}\r\n\r\n{body}",
            invite.from_tag().unwrap(),
            invite.call_id().unwrap(),
            content_type(body),
            body.len()
        ));
        self.deliver(
            req,
            ServerTxId::from_raw(100 + cseq as u64),
            invite_peer(invite),
        );
    }

    /// A BYE from the citizen (inbound leg).
    pub fn citizen_bye(&mut self) {
        self.citizen_sends("BYE", 2, "");
    }

    /// An in-dialog request from the citizen (inbound leg), with an SDP body or none.
    pub fn citizen_sends(&mut self, method: &str, cseq: u32, body: &str) {
        let ok = self
            .responses()
            .into_iter()
            .find(|r| r.status == 200)
            .expect("the citizen was answered")
            .clone();
        let req = parse_req(&format!(
            "{method} sip:madoguchi@{TRUNK_LISTEN} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {CITIZEN};branch=z9hG4bKcit{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:0312345678@127.0.0.1>;tag=cit1\r\n\
             To: <sip:0246221111@127.0.0.1>;tag={}\r\n\
             Call-ID: citizen-call-1@test\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:0312345678@{CITIZEN}>\r\n\
             {}Content-Length: {}\r\n\r\n{body}",
            ok.to_tag().unwrap(),
            content_type(body),
            body.len()
        ));
        self.deliver(
            req,
            ServerTxId::from_raw(50 + cseq as u64),
            peer(CITIZEN, TRUNK_LISTEN),
        );
    }

    /// An ACK goes to the call as `Input::Ack` (the transaction layer passes 2xx ACKs
    /// to the TU, RFC 6026); every other request as `Input::Request`.
    fn deliver(&mut self, req: Request, tx: ServerTxId, from: Peer) {
        if req.method == sip::Method::Ack {
            self.feed(Input::Ack { req });
        } else {
            self.feed(Input::Request { tx, req, from });
        }
    }

    /// A SIP INFO from the citizen (inbound leg) with its own Content-Type (a key sent
    /// as `application/dtmf-relay` or `application/dtmf`, RFC 6086).
    pub fn citizen_info(&mut self, content_type: &str, body: &str) {
        let ok = self
            .responses()
            .into_iter()
            .find(|r| r.status == 200)
            .expect("the citizen was answered")
            .clone();
        let req = parse_req(&format!(
            "INFO sip:madoguchi@{TRUNK_LISTEN} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {CITIZEN};branch=z9hG4bKcitinfo\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:0312345678@127.0.0.1>;tag=cit1\r\n\
             To: <sip:0246221111@127.0.0.1>;tag={}\r\n\
             Call-ID: citizen-call-1@test\r\n\
             CSeq: 9 INFO\r\n\
             Content-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            ok.to_tag().unwrap(),
            body.len()
        ));
        self.deliver(req, ServerTxId::from_raw(60), peer(CITIZEN, TRUNK_LISTEN));
    }

    /// Answer every BYE we sent with 200.
    pub fn answer_byes(&mut self) {
        let byes: Vec<Request> = self.sent(sip::Method::Bye).into_iter().cloned().collect();
        for b in byes {
            let resp = Response::to_request(&b, 200, None);
            let branch = b
                .top_via()
                .and_then(|v| v.branch().map(str::to_string))
                .unwrap();
            self.feed(Input::Response { branch, resp });
        }
    }
}

fn invite_peer(invite: &Request) -> Peer {
    let u = invite.uri.host_port_string();
    let local = if u.ends_with(":5092") {
        PBX_LISTEN
    } else {
        AGENTS_LISTEN
    };
    peer(&u, local)
}

trait HostPort {
    fn host_port_string(&self) -> String;
}

impl HostPort for sip::Uri {
    fn host_port_string(&self) -> String {
        let u = self.as_sip().expect("sip uri");
        format!("{}:{}", u.host, u.port.unwrap_or(5060))
    }
}
