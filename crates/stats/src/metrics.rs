//! Prometheus metrics from the call records: per line and per queue, offered, answered
//! and abandoned counters; answer-wait, abandon-wait and talk histograms per queue;
//! survey answers and satisfied answers (4 or 5) per line, supervisions by mode.
//!
//! Label sets are bounded: a line or queue name is used only if the configuration names
//! it, anything else is counted under "other" (a caller can never mint a series). Every
//! configured series exists from the start at 0, so rates and alerts work before the
//! first call. Counted when a call's record is finished (the same definition as the
//! reports: after-hours calls are not offered).

use crate::record::{CallRecord, Outcome};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

pub const OTHER: &str = "other";

pub struct StatsMetrics {
    lines: Vec<String>,
    queues: Vec<String>,
    pub line_offered: IntCounterVec,
    pub line_answered: IntCounterVec,
    pub line_abandoned: IntCounterVec,
    pub line_after_hours: IntCounterVec,
    pub queue_offered: IntCounterVec,
    pub queue_answered: IntCounterVec,
    pub queue_abandoned: IntCounterVec,
    /// Answered within the 9-second target (第1-8 ⑵), per queue.
    pub queue_answered_in_target: IntCounterVec,
    pub answer_wait: HistogramVec,
    pub abandon_wait: HistogramVec,
    pub talk: HistogramVec,
    /// Satisfaction survey answers, and those that were 4 or 5 (第1-8 ⑸), by line.
    pub line_survey_answers: IntCounterVec,
    pub line_survey_satisfied: IntCounterVec,
    /// Supervisors' listen / whisper / barge spans, by mode (three fixed labels).
    pub supervisions: IntCounterVec,
}

impl StatsMetrics {
    /// Register into `registry` (the switch's, so one `/metrics` serves all).
    pub fn new(
        registry: &Registry,
        lines: &[String],
        queues: &[String],
    ) -> Result<StatsMetrics, prometheus::Error> {
        let counter =
            |name: &str, help: &str, label: &str| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), &[label])?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let hist =
            |name: &str, help: &str, buckets: &[f64]| -> Result<HistogramVec, prometheus::Error> {
                let h = HistogramVec::new(
                    HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                    &["queue"],
                )?;
                registry.register(Box::new(h.clone()))?;
                Ok(h)
            };
        let with_other = |v: &[String]| {
            let mut v: Vec<String> = v.to_vec();
            v.push(OTHER.into());
            v.sort();
            v.dedup();
            v
        };
        let m = StatsMetrics {
            lines: with_other(lines),
            queues: with_other(queues),
            line_offered: counter(
                "madoguchi_line_offered_total",
                "Calls offered (arrived in open hours), by line",
                "line",
            )?,
            line_answered: counter(
                "madoguchi_line_answered_total",
                "Calls answered by an operator, by line",
                "line",
            )?,
            line_abandoned: counter(
                "madoguchi_line_abandoned_total",
                "Callers who hung up before an answer, by line",
                "line",
            )?,
            line_after_hours: counter(
                "madoguchi_line_after_hours_total",
                "Calls in closed hours (not offered), by line",
                "line",
            )?,
            queue_offered: counter(
                "madoguchi_queue_offered_total",
                "Calls offered, by the queue they waited in last",
                "queue",
            )?,
            queue_answered: counter(
                "madoguchi_queue_answered_total",
                "Calls answered, by queue",
                "queue",
            )?,
            queue_abandoned: counter(
                "madoguchi_queue_abandoned_total",
                "Callers who hung up before an answer, by queue",
                "queue",
            )?,
            queue_answered_in_target: counter(
                "madoguchi_queue_answered_in_target_total",
                "Calls answered within 9 seconds of arrival, by queue",
                "queue",
            )?,
            answer_wait: hist(
                "madoguchi_answer_wait_seconds",
                "From arrival to the operator's answer",
                &[3.0, 6.0, 9.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0],
            )?,
            abandon_wait: hist(
                "madoguchi_abandon_wait_seconds",
                "From arrival to the caller hanging up unanswered",
                &[3.0, 6.0, 9.0, 15.0, 30.0, 60.0, 120.0, 300.0],
            )?,
            talk: hist(
                "madoguchi_talk_seconds",
                "Operator talk time of answered calls",
                &[30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0, 1800.0],
            )?,
            line_survey_answers: counter(
                "madoguchi_line_survey_answers_total",
                "Satisfaction survey answers (1 to 5), by line",
                "line",
            )?,
            line_survey_satisfied: counter(
                "madoguchi_line_survey_satisfied_total",
                "Satisfaction survey answers of 4 or 5, by line",
                "line",
            )?,
            supervisions: counter(
                "madoguchi_supervisions_total",
                "Supervisors joining operators' calls, by mode (listen, whisper, barge)",
                "mode",
            )?,
        };
        for mode in [
            crate::record::SuperviseMode::Listen,
            crate::record::SuperviseMode::Whisper,
            crate::record::SuperviseMode::Barge,
        ] {
            m.supervisions.with_label_values(&[mode.key()]).inc_by(0);
        }
        for l in &m.lines {
            for c in [
                &m.line_offered,
                &m.line_answered,
                &m.line_abandoned,
                &m.line_after_hours,
                &m.line_survey_answers,
                &m.line_survey_satisfied,
            ] {
                c.with_label_values(&[l]).inc_by(0);
            }
        }
        for q in &m.queues {
            for c in [
                &m.queue_offered,
                &m.queue_answered,
                &m.queue_abandoned,
                &m.queue_answered_in_target,
            ] {
                c.with_label_values(&[q]).inc_by(0);
            }
            for h in [&m.answer_wait, &m.abandon_wait, &m.talk] {
                let _ = h.with_label_values(&[q]);
            }
        }
        Ok(m)
    }

    fn bounded<'a>(known: &'a [String], name: &'a str) -> &'a str {
        if known.iter().any(|k| k == name) {
            name
        } else {
            OTHER
        }
    }

    /// Count a finished call.
    pub fn observe(&self, r: &CallRecord) {
        for s in &r.supervisions {
            self.supervisions.with_label_values(&[s.mode.key()]).inc();
        }
        // Every rating counts, a called-back citizen's too (as in the reports).
        if let Some(score) = r.survey.filter(|s| (1..=5).contains(s)) {
            let line = Self::bounded(&self.lines, &r.line);
            self.line_survey_answers.with_label_values(&[line]).inc();
            if score >= 4 {
                self.line_survey_satisfied.with_label_values(&[line]).inc();
            }
        }
        let outcome = r.outcome();
        if outcome == Outcome::Outbound {
            return;
        }
        let line = Self::bounded(&self.lines, &r.line);
        if outcome == Outcome::AfterHours {
            self.line_after_hours.with_label_values(&[line]).inc();
            return;
        }
        let queue = Self::bounded(&self.queues, r.queue.as_deref().unwrap_or(OTHER));
        self.line_offered.with_label_values(&[line]).inc();
        self.queue_offered.with_label_values(&[queue]).inc();
        match outcome {
            Outcome::Answered => {
                self.line_answered.with_label_values(&[line]).inc();
                self.queue_answered.with_label_values(&[queue]).inc();
                let wait = r.answer_wait_ms().unwrap_or(0);
                if wait <= 9_000 {
                    self.queue_answered_in_target
                        .with_label_values(&[queue])
                        .inc();
                }
                self.answer_wait
                    .with_label_values(&[queue])
                    .observe(wait as f64 / 1000.0);
                self.talk
                    .with_label_values(&[queue])
                    .observe(r.talk_ms().unwrap_or(0) as f64 / 1000.0);
            }
            Outcome::Abandoned(_) => {
                self.line_abandoned.with_label_values(&[line]).inc();
                self.queue_abandoned.with_label_values(&[queue]).inc();
                self.abandon_wait
                    .with_label_values(&[queue])
                    .observe(r.abandon_wait_ms().unwrap_or(0) as f64 / 1000.0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{SuperviseMode, Supervision};

    fn answered(line: &str, survey: Option<u8>, modes: &[SuperviseMode]) -> CallRecord {
        let mut r: CallRecord = serde_json::from_value(serde_json::json!({
            "uid": "u", "origin": "citizen", "trunk": "carrier", "dialled": "+81246221111",
            "line": line, "caller": "0246990000", "arrived_ms": 1000,
            "greeting_done_ms": null, "queued_ms": 1000, "queue": "general", "offers": [],
            "answered_ms": 5000, "agent": "1001", "operator_left_ms": 65000,
            "wrapup_end_ms": null, "transfers": [], "callback_number": null,
            "overflowed_to": null, "after_hours": false, "ended_ms": 80000,
            "end_phase": "talking", "ended_by": "switch", "survey": null, "resolution": null
        }))
        .expect("a record");
        r.survey = survey;
        r.supervisions = modes
            .iter()
            .map(|&mode| Supervision {
                supervisor: "1901".into(),
                agent: "1001".into(),
                mode,
                at_ms: 10_000,
                ended_ms: Some(20_000),
            })
            .collect();
        r
    }

    #[test]
    fn survey_answers_and_supervisions_are_counted_with_bounded_labels() {
        let reg = Registry::new();
        let m = StatsMetrics::new(&reg, &["市代表".into()], &["general".into()]).unwrap();
        m.observe(&answered("市代表", Some(5), &[SuperviseMode::Listen]));
        m.observe(&answered(
            "市代表",
            Some(4),
            &[SuperviseMode::Listen, SuperviseMode::Barge],
        ));
        m.observe(&answered("市代表", Some(2), &[]));
        m.observe(&answered("市代表", None, &[]));
        m.observe(&answered("知らない回線", Some(9), &[]));
        let get = |c: &IntCounterVec, l: &str| c.with_label_values(&[l]).get();
        assert_eq!(get(&m.line_survey_answers, "市代表"), 3);
        assert_eq!(get(&m.line_survey_satisfied, "市代表"), 2);
        assert_eq!(get(&m.line_survey_answers, OTHER), 0, "9 is no answer");
        assert_eq!(get(&m.supervisions, "listen"), 2);
        assert_eq!(get(&m.supervisions, "barge"), 1);
        assert_eq!(get(&m.supervisions, "whisper"), 0);
    }
}
