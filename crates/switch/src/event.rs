//! Messages between the SIP core task and the call tasks. The core owns the transaction
//! layer and the sockets; each call task owns its legs (one owner per call, DESIGN §2).

use bytes::Bytes;
use sip::transaction::ServerTxId;
use sip::{Peer, Request, Response};

/// Identifies a call task inside this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

/// Core or queue → call task.
#[derive(Debug)]
pub enum CallEvent {
    /// A response to a request the call sent, identified by the branch it put in its Via.
    Response { branch: String, resp: Response },
    /// No response came (Timer B/F) or the transport failed: treat as 408 (§8.1.3.1).
    Timeout { branch: String },
    /// An in-dialog request for one of the call's legs.
    Request {
        tx: ServerTxId,
        req: Request,
        from: Peer,
    },
    /// The ACK for a 2xx we sent on one of the call's legs (its body may carry the
    /// answer to an offer in that 2xx).
    Ack { req: Request },
    /// The caller sent CANCEL for the initial INVITE (the core already answered 200).
    Cancelled,
    /// Our 2xx to the caller was never acknowledged (§13.3.1.4): end the call.
    NoAck,
    /// The switch is stopping: end the call with BYE / CANCEL.
    Shutdown,
    /// The ACD offers the call to this agent: ring their phone.
    Offer {
        entry: acd::EntryId,
        agent: String,
        ring_timeout: std::time::Duration,
    },
    /// The ACD withdraws an offer (ring timeout, or another agent answered).
    CancelOffer { agent: String },
    /// Play the please-wait message with the caller's place and the estimate.
    Announce {
        position: usize,
        expected_wait: Option<std::time::Duration>,
    },
    /// The caller left the queue (max wait or length), typed as the ACD decided it.
    Overflow { to: acd::Overflow },
    /// Attended transfer: hand your far party over to call `partner` (its relay at `peer`).
    HandOver {
        partner: CallRef,
        peer: callctl::JoinPeer,
    },
    /// Attended transfer: call `partner` handed its far party over (or could not).
    Joined {
        partner: CallRef,
        result: Result<callctl::JoinPeer, String>,
    },
    /// The call we were joined with has ended.
    PartnerGone,
    /// A supervisor's call asks to join this call's operator `agent` (listen, whisper,
    /// barge); its relay's side B is at `peer`.
    Supervise {
        supervisor_call: CallRef,
        supervisor: String,
        agent: String,
        mode: callctl::event::SuperviseMode,
        peer: callctl::JoinPeer,
    },
    /// The supervised call's answer to the supervisor's call (its link's address).
    Supervising {
        target: CallRef,
        result: Result<callctl::JoinPeer, String>,
    },
    /// The other call of a supervision is over (or no longer supervised).
    MonitorGone,
    /// The supervisor switched mode (keys 1, 2, 3 on their phone).
    SuperviseMode { mode: callctl::event::SuperviseMode },
}

/// Call → core.
#[derive(Debug)]
pub enum CoreCmd {
    /// The bindings' file is written (`register::SaveJob`): the REGISTER answers that
    /// waited for it can go.
    RegistrationsSaved(std::io::Result<()>),
    /// Start a client transaction; responses come back as `CallEvent::Response` by branch.
    SendRequest {
        call: CallRef,
        req: Request,
        to: Peer,
    },
    /// Send without a transaction (ACK for 2xx, §13.2.2.4).
    SendRaw { data: Bytes, to: Peer },
    /// Answer a server transaction.
    Respond { tx: ServerTxId, resp: Response },
    /// In-dialog requests with this Call-ID and our tag belong to `call`.
    BindDialog {
        call: CallRef,
        call_id: String,
        local_tag: String,
    },
    /// The queue reached a callback's place: ring `agent`, then call `number` back.
    PlaceCallback {
        entry: acd::EntryId,
        agent: String,
        number: String,
        /// The line the citizen had dialled (kept with the entry by the queue task).
        line: Option<dialplan::Number>,
    },
    /// Attended transfer: find the call owning the `Replaces` dialog and ask it to hand
    /// its far party over to `from`.
    Attend {
        from: CallRef,
        replaces: callctl::Replaces,
        ours: callctl::JoinPeer,
    },
    /// A supervisor's call: find the call operator `agent` is talking on and ask it to
    /// take the supervisor on.
    Supervise {
        from: CallRef,
        supervisor: String,
        agent: String,
        mode: callctl::event::SuperviseMode,
        ours: callctl::JoinPeer,
    },
    /// Pass an event to another call task (joined calls talk to each other).
    ToCall { call: CallRef, ev: CallEvent },
    /// The call task has finished; forget everything about it.
    Ended {
        call: CallRef,
        outcome: &'static str,
        relayed_packets: u64,
    },
}

pub use callctl::Destination;
