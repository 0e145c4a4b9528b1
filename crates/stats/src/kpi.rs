//! The city's service indicators, exactly as the specification writes them
//! (第1-8 サービス指標, 第3-4 ⑵ 月次報告):
//!
//! | indicator | formula (the Japanese text wins) |
//! | --- | --- |
//! | 受電応答率 | 応答した件数 ÷ 総着信呼数 |
//! | 平均応答時間 | 応答時間の合計 ÷ 応答した件数 (arrival → operator's answer) |
//! | 一次応対完了率 | 総合コールセンターで完結した件数 ÷ 応答した件数 (transfers to the right department count as completed) |
//! | 一次回答率 | 完結した件数（電話交換件数を除く）÷ 応答した件数（電話交換件数を除く） |
//! | 利用者満足度 | share answering 4 or 5 of 5 |
//! | 平均放棄呼時間 | Σ (arrival → hang-up) of calls abandoned before an answer ÷ their count |
//! | 平均通話時間 | Σ (answer → end of the operator's talk) ÷ answered |
//! | 平均処理時間 | Σ (answer → end of after-call work) ÷ answered |
//! | 1時間当たりの応答件数 | answered ÷ the center's open hours in the period |
//!
//! 総着信呼数 (offered) is every incoming call (citizen, staff "9", department sending back)
//! that arrived while the center was open, including callers who hung up during the
//! greeting; calls in closed hours are counted apart (after-hours) and are not offered.
//! Ratios are of sums (the year's answered over the year's offered), never means of
//! monthly ratios. Sums are kept in integer milliseconds; division happens once.

use crate::period::local_of_ms;
use crate::record::{CallRecord, Outcome, Phase, Resolution, TransferPurpose};
use dialplan::{Calendar, Date};
use std::collections::BTreeMap;

/// Targets of 第1-8.
pub const TARGET_ANSWER_RATE: f64 = 0.90;
pub const TARGET_ASA_SECS: f64 = 9.0;
pub const TARGET_FIRST_CONTACT: f64 = 0.90;
pub const TARGET_FIRST_ANSWER: f64 = 0.75;
pub const TARGET_SATISFACTION: f64 = 0.80;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HourCount {
    pub offered: u64,
    pub answered: u64,
}

/// Counts and sums over a set of calls; the indicators are methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub abandoned_greeting: u64,
    pub abandoned_queue: u64,
    pub abandoned_ringing: u64,
    pub callbacks: u64,
    pub overflowed: u64,
    pub failed: u64,
    /// Calls in closed hours (not offered).
    pub after_hours: u64,
    pub answer_wait_ms: u64,
    pub abandon_wait_ms: u64,
    pub talk_ms: u64,
    pub handle_ms: u64,
    /// Answered within the 9-second target.
    pub answered_in_target: u64,
    /// Answered calls handed on by a completed transfer, by purpose.
    pub switchboard: u64,
    pub handover: u64,
    /// Answered, not transferred, and the contact history says not completed / says
    /// nothing yet.
    pub not_completed: u64,
    pub resolution_unknown: u64,
    pub survey_answers: u64,
    pub survey_satisfied: u64,
    /// By local hour of arrival (時間別処理件数).
    pub by_hour: [HourCount; 24],
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Tally {
    /// Count one call. `offset_minutes` places it in its local hour.
    pub fn add(&mut self, r: &CallRecord, offset_minutes: i32) {
        // 利用者満足度 counts every answer, a called-back citizen's too (a callback is
        // not an offered call, so it counts nowhere else).
        if let Some(s) = r.survey.filter(|s| (1..=5).contains(s)) {
            self.survey_answers += 1;
            if s >= 4 {
                self.survey_satisfied += 1;
            }
        }
        let outcome = r.outcome();
        if outcome == Outcome::Outbound {
            return;
        }
        if outcome == Outcome::AfterHours {
            self.after_hours += 1;
            return;
        }
        self.offered += 1;
        let hour = local_of_ms(r.arrived_ms, offset_minutes).hour() as usize;
        self.by_hour[hour].offered += 1;
        match outcome {
            Outcome::Answered => {
                self.answered += 1;
                self.by_hour[hour].answered += 1;
                let wait = r.answer_wait_ms().unwrap_or(0);
                self.answer_wait_ms += wait;
                if wait <= (TARGET_ASA_SECS * 1000.0) as u64 {
                    self.answered_in_target += 1;
                }
                self.talk_ms += r.talk_ms().unwrap_or(0);
                self.handle_ms += r.handle_ms().unwrap_or(0);
                match r.completed_transfer() {
                    Some(TransferPurpose::Switchboard) => self.switchboard += 1,
                    Some(TransferPurpose::Handover) => self.handover += 1,
                    None => match r.resolution {
                        Some(Resolution::Completed) => {}
                        Some(Resolution::NotCompleted) => self.not_completed += 1,
                        None => self.resolution_unknown += 1,
                    },
                }
            }
            Outcome::Abandoned(phase) => {
                self.abandoned += 1;
                self.abandon_wait_ms += r.abandon_wait_ms().unwrap_or(0);
                match phase {
                    Phase::Greeting => self.abandoned_greeting += 1,
                    Phase::Ringing => self.abandoned_ringing += 1,
                    _ => self.abandoned_queue += 1,
                }
            }
            Outcome::Callback => self.callbacks += 1,
            Outcome::Overflowed => self.overflowed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::AfterHours | Outcome::Outbound => unreachable!("returned above"),
        }
    }

    /// Add another tally (a month from its days, a year from its months).
    pub fn merge(&mut self, o: &Tally) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        sum!(
            offered,
            answered,
            abandoned,
            abandoned_greeting,
            abandoned_queue,
            abandoned_ringing,
            callbacks,
            overflowed,
            failed,
            after_hours,
            answer_wait_ms,
            abandon_wait_ms,
            talk_ms,
            handle_ms,
            answered_in_target,
            switchboard,
            handover,
            not_completed,
            resolution_unknown,
            survey_answers,
            survey_satisfied
        );
        for (a, b) in self.by_hour.iter_mut().zip(o.by_hour.iter()) {
            a.offered += b.offered;
            a.answered += b.answered;
        }
    }

    /// 受電応答率 = 応答した件数 ÷ 総着信呼数.
    pub fn answer_rate(&self) -> Option<f64> {
        ratio(self.answered, self.offered)
    }

    /// 平均応答時間 (seconds) = 応答時間の合計 ÷ 応答した件数.
    pub fn average_speed_of_answer(&self) -> Option<f64> {
        ratio(self.answer_wait_ms, self.answered).map(|v| v / 1000.0)
    }

    /// 平均放棄呼時間 (seconds).
    pub fn average_abandon_time(&self) -> Option<f64> {
        ratio(self.abandon_wait_ms, self.abandoned).map(|v| v / 1000.0)
    }

    /// 平均通話時間 (seconds).
    pub fn average_talk_time(&self) -> Option<f64> {
        ratio(self.talk_ms, self.answered).map(|v| v / 1000.0)
    }

    /// 平均処理時間 (seconds): talk plus after-call work.
    pub fn average_handle_time(&self) -> Option<f64> {
        ratio(self.handle_ms, self.answered).map(|v| v / 1000.0)
    }

    /// 一次応対完了率 = 完結した件数 ÷ 応答した件数. Switchboard transfers and handovers
    /// to the department count as completed (第1-8 ⑶ ※). A call the contact history has
    /// not judged yet counts as completed: `resolution_unknown` says how many.
    pub fn first_contact_completion(&self) -> Option<f64> {
        ratio(self.answered - self.not_completed, self.answered)
    }

    /// 一次回答率 = 完結した件数（電話交換を除く）÷ 応答した件数（電話交換を除く): a
    /// handover was not answered at the center, so it is in the denominator only.
    pub fn first_answer_rate(&self) -> Option<f64> {
        let base = self.answered - self.switchboard;
        ratio(base - self.handover - self.not_completed, base)
    }

    /// 利用者満足度: share of survey answers that are 4 or 5.
    pub fn satisfaction(&self) -> Option<f64> {
        ratio(self.survey_satisfied, self.survey_answers)
    }

    /// 1時間当たりの応答件数, given the open hours of the period.
    pub fn answered_per_hour(&self, open_hours: f64) -> Option<f64> {
        (open_hours > 0.0).then(|| self.answered as f64 / open_hours)
    }
}

/// The center's open hours between two local dates `[first, end)`, from the calendar
/// (holidays, 29 Dec – 3 Jan closed). Night mode and extensions are not counted.
pub fn open_hours(calendar: &Calendar, first: Date, end: Date) -> f64 {
    let mut d = first;
    let mut minutes = 0u64;
    while d < end {
        if let Some(h) = calendar.hours_on(d) {
            minutes += u64::from(h.close.minutes().saturating_sub(h.open.minutes()));
        }
        d = d.succ();
    }
    minutes as f64 / 60.0
}

/// A period's tallies in total and broken down (per line, per queue, per day).
#[derive(Clone, Debug, Default)]
pub struct Breakdown {
    pub total: Tally,
    /// By line name (市代表, 小名浜支所, …) — 第3-4 ⑵ ア asks for this split.
    pub by_line: BTreeMap<String, Tally>,
    /// By the queue the call waited in last ("" for calls that never queued).
    pub by_queue: BTreeMap<String, Tally>,
    pub by_day: BTreeMap<Date, Tally>,
}

impl Breakdown {
    /// Count every record that arrived in `[from_ms, to_ms)`.
    pub fn of<'a>(
        records: impl IntoIterator<Item = &'a CallRecord>,
        from_ms: u64,
        to_ms: u64,
        offset_minutes: i32,
    ) -> Breakdown {
        let mut b = Breakdown::default();
        for r in records {
            if r.arrived_ms < from_ms
                || r.arrived_ms >= to_ms
                || !crate::record::is_inbound(r.origin)
            {
                continue;
            }
            b.total.add(r, offset_minutes);
            b.by_line
                .entry(r.line.clone())
                .or_default()
                .add(r, offset_minutes);
            b.by_queue
                .entry(r.queue.clone().unwrap_or_default())
                .or_default()
                .add(r, offset_minutes);
            let day = local_of_ms(r.arrived_ms, offset_minutes).date;
            b.by_day.entry(day).or_default().add(r, offset_minutes);
        }
        b
    }
}
