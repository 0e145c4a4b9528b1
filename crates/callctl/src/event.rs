//! Typed call events for statistics, the wallboard and the operator's desktop (issue 15,
//! issue 11). Call control emits them as things happen; `stats` builds call records from
//! them, never by reading call state. Each event carries the wall-clock time (unix ms)
//! computed from the machine's input clock, so a virtual-clock test produces the same
//! records as a real day.

use serde::{Deserialize, Serialize};

/// A call's identity, unique across restarts: `<start unix ms in hex>-<counter>`, given by
/// the driver when the call is created. Statistics, recordings and the contact history
/// link on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CallUid(pub String);

impl std::fmt::Display for CallUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub call: CallUid,
    /// Wall-clock time, unix milliseconds.
    pub at_ms: u64,
    pub kind: EventKind,
}

/// How the call came to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A citizen dialled a representative number (carrier trunk).
    Citizen,
    /// City staff dialled the staff code ("9") from an extension (第2-7 ⑵ キ).
    Staff,
    /// A department transferred or forwarded a call back to the center (第2-7 ⑴ キ).
    DepartmentReturn,
    /// The switch calls a citizen back who asked for it while waiting (第3-1 ⑶ イ).
    Callback,
    /// An operator placed a call (extension, department, outside number).
    Operator,
    /// A FAX call routed to the FAX endpoint.
    Fax,
}

/// Where a transfer went, for the "department handover" statistics (spec 第3-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferKind {
    /// REFER without Replaces: the operator hands the caller over and leaves.
    Blind,
    /// The operator spoke to the department first (REFER with Replaces, RFC 3891).
    Attended,
}

/// Who hung up first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    Citizen,
    Operator,
    Department,
    /// The switch ended it (shutdown, no ACK, a timer).
    Switch,
}

/// What a supervisor does on an operator's call (listen, whisper, barge).
pub use dialplan::dial::SuperviseMode;

/// Where the call was when the caller gave up, for abandon statistics (issue 15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Before or during the greeting and recording notice.
    Greeting,
    /// Waiting in line (music, please-wait).
    Queue,
    /// An operator's phone was ringing.
    Ringing,
    /// Talking to an operator or a department.
    Talking,
    /// The after-hours or overflow message, or a forward ringing.
    Forward,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// The call reached the switch. `dialled` is the number in E.164 (or the staff code),
    /// `line` its name (市代表, 小名浜支所, 職員連絡用…), `caller` the calling number as
    /// the trunk asserted it.
    Arrived {
        origin: Origin,
        trunk: String,
        dialled: String,
        line: String,
        caller: String,
    },
    /// The greeting and recording notice have been played (the caller is now queued or
    /// forwarded).
    GreetingDone,
    /// The caller joined a queue (again, after an overflow to another queue).
    Queued { queue: String, priority: u8 },
    /// An operator's phone is ringing for this call (the desktop's screen pop).
    Offered { agent: String },
    /// That ringing ended without an answer: `status` is the SIP final status (408 for a
    /// ring timeout), 487 when the offer was withdrawn.
    OfferEnded { agent: String, status: u16 },
    /// Connected to an operator.
    Answered { agent: String },
    /// The queue gave up on the caller (max wait or length).
    Overflowed { queue: String, to: String },
    /// Closed hours or night mode: the after-hours message and the guard room.
    AfterHours { target: String },
    /// The caller chose to be called back and hung up; their place is kept.
    CallbackRequested { number: String },
    /// An operator started a transfer.
    TransferStarted {
        agent: String,
        kind: TransferKind,
        target: String,
    },
    /// The target answered: the caller now talks to it; the operator has left.
    TransferCompleted { agent: String, target: String },
    /// The target was busy, closed or did not answer: the caller is back with the
    /// operator. `status` is the SIP status, `reason` a Japanese sentence.
    TransferFailed {
        agent: String,
        target: String,
        status: u16,
        reason: String,
    },
    /// Connected to a non-operator party (guard room, department, the citizen on a
    /// callback or an operator's outside call).
    Connected { party: String },
    /// A supervisor joined the operator's call (spec 第2-7 ⑵ ウ); the recording goes on
    /// as the citizen/operator call and is marked.
    SupervisionStarted {
        supervisor: String,
        agent: String,
        mode: SuperviseMode,
    },
    /// The supervisor left (hung up, or the operator's part of the call ended).
    SupervisionEnded { supervisor: String },
    /// The operator hung up first on a line with the survey: the citizen is asked to
    /// rate the call.
    SurveyOffered,
    /// The citizen's rating, 1–5 (RFC 4733 key or SIP INFO): feeds the satisfaction
    /// figure (the share answering 4 or 5).
    SurveyAnswered { score: u8 },
    /// The operator left the call; their after-call work starts (ACD wrap-up).
    OperatorLeft { agent: String },
    /// The call is over. `phase` is where it was; `by` who ended it.
    Ended {
        phase: Phase,
        by: Party,
        outcome: String,
    },
}
