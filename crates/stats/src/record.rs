//! One record per call (issue 15 item 1): what the city's figures are computed from.
//!
//! A record is built from call control's typed events (`builder`), never from call state,
//! and written once when the call ends. Three things arrive later and are joined by `uid`:
//! the end of the operator's after-call work (the ACD's wrap-up), the citizen's
//! satisfaction answer (item 7) and the contact history's resolution (issue 14).

use serde::{Deserialize, Serialize};

pub use callctl::event::{Origin, Party, Phase, SuperviseMode, TransferKind};

/// Calls that count as 着信 (incoming) for the answer rate: a citizen, city staff
/// dialling "9", a department sending a call back. Calls the center places (callbacks,
/// operators' outside calls) and FAX are not offered calls.
pub fn is_inbound(origin: Origin) -> bool {
    matches!(
        origin,
        Origin::Citizen | Origin::Staff | Origin::DepartmentReturn
    )
}

/// What a transfer was for, as the spec counts it (第1-8 ⑶ ⑷).
///
/// 電話交換 (switchboard transfer): connecting the caller to the staff member or department
/// they asked for; excluded from both sides of the first-answer rate.
/// 取次ぎ (handover): an inquiry the operator took and passed to the responsible
/// department; completed for the first-contact completion rate, not answered at the
/// center for the first-answer rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferPurpose {
    Switchboard,
    Handover,
}

impl TransferPurpose {
    /// Until the contact history says otherwise: a blind transfer is the switchboard
    /// connecting a name request; an attended one means the operator explained the
    /// inquiry to the department first, which is a handover.
    pub fn from_kind(kind: TransferKind) -> TransferPurpose {
        match kind {
            TransferKind::Blind => TransferPurpose::Switchboard,
            TransferKind::Attended => TransferPurpose::Handover,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            TransferPurpose::Switchboard => "電話交換",
            TransferPurpose::Handover => "所管課取次ぎ",
        }
    }
}

/// One ringing of an operator's phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub agent: String,
    pub at_ms: u64,
    /// When the ringing stopped (answered, refused, timed out, withdrawn).
    pub ended_ms: Option<u64>,
    /// SIP final status when not answered (408 ring timeout, 486 busy, 487 withdrawn).
    pub status: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub at_ms: u64,
    pub agent: String,
    pub kind: TransferKind,
    pub purpose: TransferPurpose,
    pub target: String,
    pub completed_ms: Option<u64>,
    /// SIP status and the reason when the target did not take the call.
    pub failed: Option<(u16, String)>,
}

/// A supervisor on the call (spec 第2-7 ⑵ ウ): who, doing what, from when to when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervision {
    pub supervisor: String,
    pub agent: String,
    pub mode: SuperviseMode,
    pub at_ms: u64,
    pub ended_ms: Option<u64>,
}

/// The contact history's verdict for first-contact completion (第1-8 ⑶).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Completed at the center (answered, or transferred to the right department).
    Completed,
    /// Not completed (a callback is owed, the caller must call again, …).
    NotCompleted,
}

/// What became of the call, derived from the record's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// An operator answered.
    Answered,
    /// The caller hung up before an operator answered; the phase says where.
    Abandoned(Phase),
    /// The caller asked to be called back and hung up (their place was kept).
    Callback,
    /// The queue gave up (max wait or length) and sent the call elsewhere.
    Overflowed,
    /// Closed hours or night mode: after-hours message and the guard room.
    AfterHours,
    /// An outbound call of the center (callback, operator's call) or FAX.
    Outbound,
    /// Ended by the switch before an answer (shutdown, error).
    Failed,
}

impl Outcome {
    /// A short stable name, for SQL columns, CSV and Prometheus labels.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Abandoned(Phase::Greeting) => "abandoned-greeting",
            Outcome::Abandoned(Phase::Ringing) => "abandoned-ringing",
            Outcome::Abandoned(_) => "abandoned-queue",
            Outcome::Callback => "callback",
            Outcome::Overflowed => "overflowed",
            Outcome::AfterHours => "after-hours",
            Outcome::Outbound => "outbound",
            Outcome::Failed => "failed",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Outcome::Answered => "応答",
            Outcome::Abandoned(Phase::Greeting) => "放棄（案内中）",
            Outcome::Abandoned(Phase::Ringing) => "放棄（呼出中）",
            Outcome::Abandoned(_) => "放棄（待ち）",
            Outcome::Callback => "折り返し予約",
            Outcome::Overflowed => "あふれ",
            Outcome::AfterHours => "時間外",
            Outcome::Outbound => "発信",
            Outcome::Failed => "異常終了",
        }
    }
}

/// One call, from arrival to the end of the operator's after-call work. Times are unix
/// milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Call control's id (`callctl::CallUid`), unique across restarts; recordings and the
    /// contact history link on it.
    pub uid: String,
    pub origin: Origin,
    pub trunk: String,
    /// The dialled number (E.164) and its line name (市代表, 小名浜支所, …).
    pub dialled: String,
    pub line: String,
    /// The calling number as the trunk asserted it; masked after the recordings'
    /// retention (`mask_number`).
    pub caller: String,
    pub arrived_ms: u64,
    pub greeting_done_ms: Option<u64>,
    pub queued_ms: Option<u64>,
    /// The queue the call was last waiting in (after an overflow to another queue, that
    /// one).
    pub queue: Option<String>,
    pub offers: Vec<Offer>,
    pub answered_ms: Option<u64>,
    /// The operator who answered.
    pub agent: Option<String>,
    /// When the operator left the call (hung up or completed a transfer).
    pub operator_left_ms: Option<u64>,
    /// When the operator's after-call work ended (joined later from the ACD).
    pub wrapup_end_ms: Option<u64>,
    pub transfers: Vec<Transfer>,
    pub callback_number: Option<String>,
    pub overflowed_to: Option<String>,
    pub after_hours: bool,
    pub ended_ms: u64,
    pub end_phase: Phase,
    pub ended_by: Party,
    /// Satisfaction answer 1–5 (item 7), joined later.
    pub survey: Option<u8>,
    /// The contact history's verdict, joined later.
    pub resolution: Option<Resolution>,
    /// Supervisors who listened, whispered or barged in (records before this field
    /// existed read as none).
    #[serde(default)]
    pub supervisions: Vec<Supervision>,
}

impl CallRecord {
    pub fn outcome(&self) -> Outcome {
        if !is_inbound(self.origin) {
            Outcome::Outbound
        } else if self.answered_ms.is_some() {
            Outcome::Answered
        } else if self.after_hours {
            Outcome::AfterHours
        } else if self.callback_number.is_some() {
            Outcome::Callback
        } else if self.overflowed_to.is_some() {
            Outcome::Overflowed
        } else if self.ended_by == Party::Citizen {
            Outcome::Abandoned(match self.end_phase {
                Phase::Greeting => Phase::Greeting,
                Phase::Ringing => Phase::Ringing,
                _ => Phase::Queue,
            })
        } else {
            Outcome::Failed
        }
    }

    /// 応答時間: from arrival to the operator's answer (第1-8 ⑵).
    pub fn answer_wait_ms(&self) -> Option<u64> {
        self.answered_ms.map(|a| a.saturating_sub(self.arrived_ms))
    }

    /// 放棄呼の待ち時間: from arrival to the caller hanging up, for abandoned calls.
    pub fn abandon_wait_ms(&self) -> Option<u64> {
        matches!(self.outcome(), Outcome::Abandoned(_))
            .then(|| self.ended_ms.saturating_sub(self.arrived_ms))
    }

    /// 通話時間: from the operator's answer until the operator's part of the call ends
    /// (hang-up, or the transfer that handed the caller on).
    pub fn talk_ms(&self) -> Option<u64> {
        let a = self.answered_ms?;
        let end = self.operator_left_ms.unwrap_or(self.ended_ms);
        Some(end.saturating_sub(a))
    }

    /// 後処理時間: from the operator leaving to the end of their after-call work; zero
    /// until the ACD reports it (a crash before wrap-up ends must not lose the call).
    pub fn after_call_work_ms(&self) -> Option<u64> {
        self.answered_ms?;
        let left = self.operator_left_ms.unwrap_or(self.ended_ms);
        Some(self.wrapup_end_ms.map_or(0, |w| w.saturating_sub(left)))
    }

    /// 処理時間: talk plus after-call work.
    pub fn handle_ms(&self) -> Option<u64> {
        Some(self.talk_ms()? + self.after_call_work_ms()?)
    }

    /// The purpose of the transfer that handed the caller on, if one completed.
    pub fn completed_transfer(&self) -> Option<TransferPurpose> {
        self.transfers
            .iter()
            .rev()
            .find(|t| t.completed_ms.is_some())
            .map(|t| t.purpose)
    }
}

/// The calling number with all but its first four characters replaced by `*`: the area
/// code stays (for statistics by region), the subscriber is gone (第3-12 ⑵).
pub fn mask_number(n: &str) -> String {
    n.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < 4 || !c.is_ascii_alphanumeric() {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_area_code_only() {
        assert_eq!(mask_number("0246221234"), "0246******");
        assert_eq!(mask_number("+81246221234"), "+812********");
        assert_eq!(mask_number("anonymous"), "anon*****");
        assert_eq!(mask_number("12"), "12");
    }
}
