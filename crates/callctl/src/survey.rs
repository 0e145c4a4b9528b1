//! The satisfaction survey (spec 第1-8 ⑸, issue 15 item 7): when the operator hangs up
//! first on a line that asks for it (`[[number]] survey = true`), the citizen is not hung
//! up but asked to rate the call 1–5 with a key (RFC 4733 event or SIP INFO, RFC 6086 with
//! `application/dtmf-relay` or `application/dtmf`); the answer is a typed event
//! (`SurveyAnswered`) that the statistics join to the call's record, where it feeds the
//! satisfaction figure (the share answering 4 or 5). No answer within the window, or a
//! citizen hanging up, ends the call as it would have ended; the survey never holds the
//! operator (their after-call work has already started).

use crate::call::{AfterPlay, Call, LegState, Phase, Plan, Purpose};
use crate::event::EventKind;
use crate::io::{MediaOut, Side};

use crate::announce::{SURVEY, SURVEY_THANKS};

impl Call {
    /// The operator of leg `i` hung up: ask the citizen, if this line does and the citizen
    /// is still there. True when the survey started (the call goes on).
    pub(crate) fn survey_after_operator(&mut self, i: usize) -> bool {
        // The citizen: the inbound leg, or the leg a callback placed (also on side A).
        let citizen_there = self.a.as_ref().is_some_and(|a| a.answered && !a.gone)
            || self
                .legs
                .iter()
                .any(|l| l.purpose == Purpose::CallbackCitizen && l.state == LegState::Up);
        let asked = self.line.survey
            && citizen_there
            && matches!(self.plan, Plan::Queue { .. } | Plan::Callback { .. })
            && self.phase == Phase::Talking
            && self.bridged == Some(i);
        if !asked {
            return false;
        }
        tracing::info!(call = %self.uid, "operator left first: satisfaction survey");
        self.bridged = None;
        self.phase = Phase::Survey;
        self.media(MediaOut::SetLeg {
            side: Side::B,
            cfg: self.sdp.idle(),
        });
        self.emit(EventKind::SurveyOffered);
        self.play(Side::A, vec![SURVEY.to_string()], AfterPlay::SurveyWindow);
        true
    }

    /// A key during the survey (the prompt may be interrupted: a caller who knows it
    /// answers at once).
    pub(crate) fn survey_digit(&mut self, d: char) {
        let Some(score) = d.to_digit(10).filter(|n| (1..=5).contains(n)) else {
            return;
        };
        if self
            .playing
            .is_some_and(|(_, after)| after == AfterPlay::HangUp)
        {
            return; // already answered: the thanks are playing
        }
        self.window_until = None;
        self.emit(EventKind::SurveyAnswered { score: score as u8 });
        self.play(Side::A, vec![SURVEY_THANKS.to_string()], AfterPlay::HangUp);
    }
}

/// The key in a SIP INFO body (RFC 6086): `application/dtmf-relay` ("Signal=5\r\n
/// Duration=160") or `application/dtmf` ("5").
pub(crate) fn info_digit(content_type: Option<&str>, body: &[u8]) -> Option<char> {
    let ct = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).ok()?;
    let value = match ct.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    let mut chars = value.chars();
    let c = chars.next()?;
    (chars.next().is_none() && (c.is_ascii_digit() || c == '*' || c == '#')).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::info_digit;

    #[test]
    fn info_bodies_of_both_kinds() {
        let relay = Some("application/dtmf-relay");
        assert_eq!(
            info_digit(relay, b"Signal=5\r\nDuration=160\r\n"),
            Some('5')
        );
        assert_eq!(info_digit(relay, b"signal= 4\nduration=100"), Some('4'));
        assert_eq!(info_digit(Some("application/dtmf"), b"3"), Some('3'));
        assert_eq!(
            info_digit(Some("Application/DTMF; x=y"), b"#\r\n"),
            Some('#')
        );
        // Not a key: another type, a word, nothing.
        assert_eq!(
            info_digit(Some("application/media_control+xml"), b"5"),
            None
        );
        assert_eq!(info_digit(relay, b"Signal=hello"), None);
        assert_eq!(info_digit(relay, b""), None);
        assert_eq!(info_digit(None, b"5"), None);
    }
}
