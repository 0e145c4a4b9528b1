//! The desk's forms as typed values: a search form becomes a [`Query`], a contact form
//! a [`ContactInput`]; every problem is reported in Japanese, nothing panics.

use crate::model::{parse_faq_ids, Channel, ContactInput, Outcome};
use crate::store::query::Query;
use faq::clock::{format_jst, parse_date_jst};
use serde::Deserialize;

/// `YYYY-MM-DDTHH:MM` (an `<input type="datetime-local">`) in Japan time → unix seconds.
pub fn parse_local_jst(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let day = parse_date_jst(date)?;
    let (h, m) = time.split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.get(..2).unwrap_or(m).parse().ok()?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(day + h * 3600 + m * 60)
}

/// The value for an `<input type="datetime-local">`.
pub fn to_local_input(unix: i64) -> String {
    if unix <= 0 {
        return String::new();
    }
    let s = format_jst(unix);
    format!("{}T{}", &s[..10], &s[11..16])
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    pub from: String,
    pub to: String,
    pub channel: String,
    pub line: String,
    pub category: String,
    pub operator: String,
    pub outcome: String,
    pub department: String,
    pub caller: String,
    pub q: String,
    /// A selection: record ids separated by commas.
    pub ids: String,
    /// `sjis` for a Shift_JIS CSV.
    pub enc: String,
    pub page: u32,
}

pub const PAGE_SIZE: u32 = 50;

impl SearchForm {
    pub fn to_query(&self) -> Result<Query, Vec<String>> {
        let mut p = Vec::new();
        let mut q = Query::default();
        if !self.from.trim().is_empty() {
            match parse_date_jst(self.from.trim()) {
                Some(t) => q.from = Some(t),
                None => p.push("期間（から）は YYYY-MM-DD で入力してください".to_string()),
            }
        }
        if !self.to.trim().is_empty() {
            match parse_date_jst(self.to.trim()) {
                // The end day is included.
                Some(t) => q.to = Some(t + 86_400),
                None => p.push("期間（まで）は YYYY-MM-DD で入力してください".to_string()),
            }
        }
        if !self.channel.is_empty() {
            match Channel::parse(&self.channel) {
                Some(c) => q.channel = Some(c),
                None => p.push("チャネルの値が正しくありません".to_string()),
            }
        }
        if !self.outcome.is_empty() {
            match Outcome::parse(&self.outcome) {
                Some(o) => q.outcome = Some(o),
                None => p.push("対応結果の値が正しくありません".to_string()),
            }
        }
        for s in self.ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match s.parse::<i64>() {
                Ok(i) if q.ids.len() < 10_000 => q.ids.push(i),
                _ => {
                    p.push(format!("記録ID「{s}」が正しくありません"));
                    break;
                }
            }
        }
        q.line = self.line.trim().to_string();
        q.category = self.category.trim().to_string();
        q.operator = self.operator.trim().to_string();
        q.department = self.department.trim().to_string();
        q.caller = self.caller.trim().to_string();
        q.text = self.q.chars().take(200).collect();
        q.limit = PAGE_SIZE;
        q.offset = self.page.min(10_000) * PAGE_SIZE;
        if p.is_empty() {
            Ok(q)
        } else {
            Err(p)
        }
    }

    /// The same search as a query string (for export links and paging).
    pub fn query_string(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("channel", &self.channel),
            ("line", &self.line),
            ("category", &self.category),
            ("operator", &self.operator),
            ("outcome", &self.outcome),
            ("department", &self.department),
            ("caller", &self.caller),
            ("q", &self.q),
            ("ids", &self.ids),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", super::html::url_enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    pub csrf: String,
    pub version: i64,
    pub channel: String,
    pub line: String,
    pub started: String,
    pub ended: String,
    pub operator: String,
    pub caller: String,
    pub caller_name: String,
    pub category: String,
    pub summary: String,
    pub faq_ids: String,
    pub outcome: String,
    pub department: String,
    pub call_id: String,
}

impl ContactForm {
    pub fn to_input(
        &self,
        categories: &[String],
        departments: &[String],
    ) -> Result<ContactInput, Vec<String>> {
        let mut p = Vec::new();
        let channel = Channel::parse(&self.channel);
        if channel.is_none() {
            p.push("チャネルを選んでください".to_string());
        }
        let outcome = Outcome::parse(&self.outcome);
        if outcome.is_none() {
            p.push("対応結果を選んでください".to_string());
        }
        let started = parse_local_jst(&self.started);
        if started.is_none() {
            p.push("受付日時を入力してください（YYYY-MM-DDTHH:MM）".to_string());
        }
        let ended = if self.ended.trim().is_empty() {
            Some(0)
        } else {
            parse_local_jst(&self.ended)
        };
        if ended.is_none() {
            p.push("終了日時の形式が正しくありません".to_string());
        }
        let (Some(channel), Some(outcome), Some(started_at), Some(ended_at)) =
            (channel, outcome, started, ended)
        else {
            return Err(p);
        };
        let input = ContactInput {
            channel,
            line: self.line.trim().to_string(),
            started_at,
            ended_at,
            operator: self.operator.trim().to_string(),
            caller: self.caller.trim().to_string(),
            caller_name: self.caller_name.trim().to_string(),
            category: self.category.trim().to_string(),
            summary: self.summary.replace("\r\n", "\n").trim().to_string(),
            faq_ids: parse_faq_ids(&self.faq_ids),
            outcome,
            department: if outcome.needs_department() {
                self.department.trim().to_string()
            } else {
                String::new()
            },
            call_id: self.call_id.trim().to_string(),
        };
        let p = input.validate(categories, departments);
        if p.is_empty() {
            Ok(input)
        } else {
            Err(p)
        }
    }

    pub fn from_input(i: &ContactInput, version: i64) -> ContactForm {
        ContactForm {
            csrf: String::new(),
            version,
            channel: i.channel.as_str().into(),
            line: i.line.clone(),
            started: to_local_input(i.started_at),
            ended: to_local_input(i.ended_at),
            operator: i.operator.clone(),
            caller: i.caller.clone(),
            caller_name: i.caller_name.clone(),
            category: i.category.clone(),
            summary: i.summary.clone(),
            faq_ids: i.faq_ids.join(", "),
            outcome: i.outcome.as_str().into(),
            department: i.department.clone(),
            call_id: i.call_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip_in_jst() {
        let t = parse_local_jst("2026-04-01T08:30").unwrap();
        assert_eq!(format_jst(t), "2026-04-01 08:30:00");
        assert_eq!(to_local_input(t), "2026-04-01T08:30");
        assert!(parse_local_jst("2026-04-01T24:00").is_none());
        assert!(parse_local_jst("2026-02-30T10:00").is_none());
        assert!(parse_local_jst("yesterday").is_none());
    }

    #[test]
    fn a_search_form_reports_every_bad_field() {
        let f = SearchForm {
            from: "2026/01/01".into(),
            channel: "pigeon".into(),
            ids: "1,x".into(),
            ..Default::default()
        };
        assert_eq!(f.to_query().unwrap_err().len(), 3);
        let ok = SearchForm {
            to: "2026-01-31".into(),
            ..Default::default()
        };
        let q = ok.to_query().unwrap();
        assert_eq!(q.to, Some(parse_date_jst("2026-02-01").unwrap()));
    }
}
