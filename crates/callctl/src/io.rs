//! What goes into the call machine and what comes out of it. Every message is typed: a
//! decision never travels as a formatted string (issue 8).

use crate::event::Event;
use bytes::Bytes;
use sip::transaction::ServerTxId;
use sip::{Peer, Request, Response};
use std::time::Duration;

/// Where to place one outbound leg.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// For logs and events: the agent id, the department's name, the number.
    pub label: String,
    /// Request-URI of the INVITE (the registered contact, or extension@trunk proxy).
    pub uri: sip::Uri,
    /// Where to send it (the registration's flow, or the trunk's proxy).
    pub peer: Peer,
    /// The trunk the leg uses, if any (for channel accounting).
    pub trunk: Option<String>,
}

/// The role a leg plays in the call (who is on it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The citizen (or city staff) who called in, or who is called back.
    Citizen,
    /// An operator's softphone; `agent` is their id.
    Operator { agent: String },
    /// A department or the guard room over the PBX trunk.
    Department { name: String },
    /// A number outside, over the carrier trunk.
    Outside { number: String },
}

/// What a dialled string (an operator's call or a transfer target) resolves to.
// Made once per dialled string and moved into the call: boxing `Place` would save a few
// hundred bytes of stack per call set-up for an allocation each time.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Ring it. `role` is what the leg becomes.
    Place { dest: Destination, role: Role },
    /// An operator's feature code: change their state, then confirm with `prompt`.
    Feature { op: AgentOp },
    /// A supervisor's `*31`/`*32`/`*33`: join operator `agent`'s live call.
    Supervise {
        agent: String,
        mode: crate::event::SuperviseMode,
    },
    /// Refused: the status to answer and a Japanese sentence (for the reason phrase, the
    /// NOTIFY, and the log); `prompts` may tell the caller more (a department's hours).
    Refused {
        status: u16,
        reason: String,
        prompts: Vec<String>,
    },
}

/// An operator's own state change (feature codes, API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentOp {
    Login,
    Logout,
    Pause(String),
    Unpause,
    EndWrapUp,
}

/// Where a queue sends a caller it gives up on (max wait, max length): typed, from the ACD.
pub type OverflowTo = acd::Overflow;

/// Inputs the driver feeds.
#[derive(Debug)]
pub enum Input {
    /// A response to a request the call sent, by the branch of its Via.
    Response {
        branch: String,
        resp: Response,
    },
    /// No response (Timer B/F) or the transport failed: treat as 408 (§8.1.3.1).
    Timeout {
        branch: String,
    },
    /// An in-dialog request on one of the call's legs.
    Request {
        tx: ServerTxId,
        req: Request,
        from: Peer,
    },
    /// The ACK for a 2xx of ours on one of the call's legs (its Call-ID says which).
    /// Its body answers the offer that 2xx carried: a late offer on the inbound leg, or
    /// our offer to an offerless re-INVITE on any leg (RFC 3261 §13.2.1, §14.2).
    Ack {
        req: Request,
    },
    /// The caller sent CANCEL (the core already answered it 200).
    Cancelled,
    /// Our 2xx to the caller was never acknowledged (§13.3.1.4).
    NoAck,
    /// The switch is stopping.
    Shutdown,
    /// The ACD offers the call to `agent`; `dest` is their phone (None: not registered).
    Offer {
        entry: acd::EntryId,
        agent: String,
        ring_timeout: Duration,
        dest: Option<Destination>,
    },
    CancelOffer {
        agent: String,
    },
    Announce {
        position: usize,
        expected_wait: Option<Duration>,
    },
    Overflow {
        to: OverflowTo,
    },
    /// Replies to `Output::Queue` commands that ask.
    Enqueued(Result<acd::EntryId, String>),
    CallbackAccepted(Result<(), String>),
    AgentChanged(Result<(), String>),
    /// A key the caller pressed (RFC 4733), on the inbound leg.
    Digit(char),
    /// The playback started with this token has ended.
    PlaybackDone {
        token: u32,
    },
    /// Attended transfer, the consult call's side: hand your far party over to the
    /// call whose relay listens at `peer` (your operator leg goes).
    HandOver {
        peer: JoinPeer,
    },
    /// Attended transfer, the citizen's side: the consult call handed its far party over
    /// (its relay's address), or could not.
    Joined(Result<JoinPeer, String>),
    /// The call we were joined with has ended: end ours.
    PartnerGone,
    /// The operator's call: a supervisor (their own call's relay side B at `peer`) asks
    /// to join operator `agent`; `ours` is where our relay takes the supervisor's link
    /// (None: the driver had no port for it).
    Supervise {
        supervisor: String,
        agent: String,
        mode: crate::event::SuperviseMode,
        peer: JoinPeer,
        ours: Option<JoinPeer>,
    },
    /// The supervisor's call: the operator's call took us on (its link's address), or
    /// said why not.
    Supervising(Result<JoinPeer, String>),
    /// The other end of a supervision (the supervisor's call, or the supervised call)
    /// is over.
    MonitorGone,
    /// The operator's call: its supervisor pressed 1, 2 or 3 (listen, whisper, barge).
    SuperviseMode(crate::event::SuperviseMode),
}

/// Where the other call's relay side listens, when two calls are joined by an attended
/// transfer (their relays then talk to each other, PCMU between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinPeer {
    pub remote: core::net::SocketAddr,
}

/// The dialog named by a `Replaces` (RFC 3891): the consult call to join with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
}

/// Commands for the queue task.
#[derive(Debug, PartialEq)]
pub enum QueueOut {
    Enqueue {
        queue: String,
        priority: u8,
        caller: String,
        /// The line dialled: a callback goes out on the same line (issue 8).
        line: dialplan::Number,
    },
    Abandon {
        entry: acd::EntryId,
    },
    Answered {
        entry: acd::EntryId,
        agent: String,
    },
    Rejected {
        entry: acd::EntryId,
        agent: String,
    },
    /// The agent left the call: their wrap-up starts.
    CallEnded {
        agent: String,
    },
    RequestCallback {
        entry: acd::EntryId,
        number: String,
    },
    Agent {
        agent: String,
        op: AgentOp,
    },
}

/// Which side of the relay: A is the inbound leg, B the leg bridged to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Commands for the media relay and the recorder.
#[derive(Debug, PartialEq)]
pub enum MediaOut {
    /// Point a side of the relay at what its SDP negotiated.
    SetLeg {
        side: Side,
        cfg: media::LegConfig,
    },
    /// Play prompts to a side, one after another; `PlaybackDone { token }` when done.
    Play {
        side: Side,
        prompts: Vec<String>,
        token: u32,
    },
    StopPlay,
    /// Record the call from now on (spec 第2-7 ⑶ イ). `sip_call_id` is the inbound
    /// leg's Call-ID (empty for a callback), kept in the file name for tracing.
    Record {
        dialled: String,
        caller: String,
        sip_call_id: String,
    },
    /// Note a party on the recording (the operator, a transfer target).
    RecordParty {
        label: String,
    },
    /// A supervisor's link joins the relay (the supervisor's call's relay at `peer`).
    Monitor {
        peer: core::net::SocketAddr,
        mode: media::mix::MixMode,
    },
    /// The supervisor changed what they do.
    MonitorMode {
        mode: media::mix::MixMode,
    },
    /// The supervisor has left: the relay forgets the link.
    Unmonitor,
}

/// What the machine asks the driver to do.
#[derive(Debug)]
pub enum Output {
    Respond {
        tx: ServerTxId,
        resp: Response,
    },
    /// Start a client transaction; its responses come back by branch.
    SendRequest {
        req: Request,
        to: Peer,
    },
    /// Send without a transaction (the ACK for a 2xx, §13.2.2.4).
    SendRaw {
        data: Bytes,
        to: Peer,
    },
    /// In-dialog requests with this Call-ID and our tag belong to this call.
    BindDialog {
        call_id: String,
        local_tag: String,
    },
    Queue(QueueOut),
    Media(MediaOut),
    /// A trunk channel is no longer used by this call.
    ReleaseChannel {
        trunk: String,
    },
    Event(Event),
    /// Attended transfer: ask the call owning the `Replaces` dialog to hand its far
    /// party over to us; `ours` is where our relay's side B listens.
    Attend {
        replaces: Replaces,
        ours: JoinPeer,
    },
    /// Attended transfer, the consult call's answer to `Input::HandOver`.
    HandedOver(Result<JoinPeer, String>),
    /// We were joined with another call and have ended: end it too.
    PartnerEnd,
    /// The supervisor's call: ask the call of operator `agent` to take us on; `ours` is
    /// where our relay's side B listens.
    Supervise {
        agent: String,
        mode: crate::event::SuperviseMode,
        ours: JoinPeer,
    },
    /// The operator's call's answer to `Input::Supervise`.
    Supervised(Result<JoinPeer, String>),
    /// A supervision is over on our side: tell the other call.
    MonitorEnd,
    /// The supervisor's call: the supervisor switched mode with a key; tell the
    /// operator's call.
    SuperviseMode(crate::event::SuperviseMode),
}

/// What the machine may ask of the world synchronously: pure look-ups over the
/// configuration and read-mostly state (registrations, trunk channels). Tests implement
/// it with fixed tables.
pub trait Env {
    /// What `dialled` (a Request-URI user part, a Refer-To target) means for `agent`.
    fn resolve(&self, agent: &str, dialled: &str, now_unix: u64) -> Target;
    /// Take a channel on `trunk` for a transfer (may use the reserve) or a call.
    fn acquire_channel(&self, trunk: &str, transfer: bool) -> Result<(), String>;
    /// An operator's phone, for ringing them again when a transfer fails.
    fn agent_phone(&self, agent: &str) -> Option<Destination>;
    /// Where an overflow route (`after-hours`) goes: the guard room.
    fn route_destination(&self, route: &str) -> Option<Destination>;
    /// The number to call a citizen back on, from the asserted caller; refused for
    /// withheld, international and premium numbers (toll fraud).
    fn callback_number(&self, caller: &str) -> Result<String, String>;
}
