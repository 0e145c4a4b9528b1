//! A contact record (spec 第2-8 ⑴ ウ, 第3-1): one per answered contact — phone, FAX,
//! e-mail or web form — written after it ends, with the FAQ entries used and what became
//! of it. Channel and outcome are closed sets; category and department are the city's
//! own lists, from configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Phone,
    Fax,
    Email,
    Web,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Phone, Channel::Fax, Channel::Email, Channel::Web];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Fax => "fax",
            Channel::Email => "email",
            Channel::Web => "web",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Channel::Phone => "電話",
            Channel::Fax => "FAX",
            Channel::Email => "メール",
            Channel::Web => "Webフォーム",
        }
    }
}

/// What became of the contact; the first two count as completed at the center for the
/// first-contact completion rate (spec 第1-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered at the center.
    Answered,
    /// Transferred to the department in `department`.
    Transferred,
    /// The department is to call the citizen back (tracked until done, 第3-1 ⑶ イ).
    Callback,
    /// An opinion, request or complaint passed on to `department`.
    PassedOn,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Answered,
        Outcome::Transferred,
        Outcome::Callback,
        Outcome::PassedOn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Transferred => "transferred",
            Outcome::Callback => "callback",
            Outcome::PassedOn => "passed_on",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answered => "センターで回答",
            Outcome::Transferred => "担当課へ転送",
            Outcome::Callback => "折り返し依頼",
            Outcome::PassedOn => "意見・要望・苦情を担当課へ伝達",
        }
    }
    /// Outcomes that name a department.
    pub fn needs_department(self) -> bool {
        !matches!(self, Outcome::Answered)
    }
}

/// The editable part of a record, as a form or the API sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub channel: Channel,
    /// The dialled line (representative number) or the mailbox/form it came through.
    #[serde(default)]
    pub line: String,
    /// Unix seconds.
    pub started_at: i64,
    #[serde(default)]
    pub ended_at: i64,
    #[serde(default)]
    pub operator: String,
    /// Personal data, kept only where the answer needs it (第3-12 ⑵) and masked after
    /// the retention period.
    #[serde(default)]
    pub caller: String,
    #[serde(default)]
    pub caller_name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub summary: String,
    /// FAQ-IDs used in the answer (links to the FAQ site).
    #[serde(default)]
    pub faq_ids: Vec<String>,
    pub outcome: Outcome,
    #[serde(default)]
    pub department: String,
    /// The switch's call id, linking to the call record and the recording.
    #[serde(default)]
    pub call_id: String,
}

/// A stored record: the input plus its identity and bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    #[serde(flatten)]
    pub input: ContactInput,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
    /// Bumped by every change; an edit names the version it started from so that two
    /// operators editing at once cannot silently overwrite each other.
    pub version: i64,
    /// Set when the personal fields were masked after retention.
    pub masked_at: Option<i64>,
}

/// Limits that keep one record reasonable (a summary is not a transcript).
pub const MAX_SUMMARY: usize = 4000;
pub const MAX_SHORT: usize = 200;
pub const MAX_FAQ_IDS: usize = 20;

impl ContactInput {
    /// Checks the input against the configured lists; every problem in Japanese.
    pub fn validate(&self, categories: &[String], departments: &[String]) -> Vec<String> {
        let mut p = Vec::new();
        if self.started_at <= 0 {
            p.push("受付日時を入力してください".to_string());
        }
        if self.ended_at != 0 && self.ended_at < self.started_at {
            p.push("終了日時が受付日時より前です".to_string());
        }
        if !self.category.is_empty() && !categories.iter().any(|c| c == &self.category) {
            p.push(format!("分類「{}」は設定にありません", self.category));
        }
        if self.outcome.needs_department() {
            if self.department.is_empty() {
                p.push(format!(
                    "対応結果が「{}」のときは担当課を選んでください",
                    self.outcome.label()
                ));
            } else if !departments.iter().any(|d| d == &self.department) {
                p.push(format!("担当課「{}」は設定にありません", self.department));
            }
        }
        if self.summary.chars().count() > MAX_SUMMARY {
            p.push(format!("内容は{MAX_SUMMARY}文字までです"));
        }
        for (name, v) in [
            ("回線", &self.line),
            ("オペレーター", &self.operator),
            ("相手先", &self.caller),
            ("氏名", &self.caller_name),
            ("通話ID", &self.call_id),
        ] {
            if v.chars().count() > MAX_SHORT {
                p.push(format!("{name}は{MAX_SHORT}文字までです"));
            }
            if v.chars().any(char::is_control) {
                p.push(format!("{name}に制御文字は使えません"));
            }
        }
        if self.faq_ids.len() > MAX_FAQ_IDS {
            p.push(format!("FAQ-IDは{MAX_FAQ_IDS}件までです"));
        }
        for id in &self.faq_ids {
            if id.is_empty()
                || id.len() > 40
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            {
                p.push(format!("FAQ-ID「{id}」の形式が正しくありません"));
            }
        }
        p
    }
}

/// FAQ-IDs typed as "FAQ-0001, FAQ-0002" or one per line.
pub fn parse_faq_ids(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '、' || c.is_whitespace())
        .map(|t| faq::search::normalize::fold_width(t).trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ContactInput {
        ContactInput {
            channel: Channel::Phone,
            line: "0246221111".into(),
            started_at: 1_750_000_000,
            ended_at: 1_750_000_300,
            operator: "1001".into(),
            caller: "09012345678".into(),
            caller_name: String::new(),
            category: "税金".into(),
            summary: "住民税の納付方法".into(),
            faq_ids: vec!["FAQ-0001".into()],
            outcome: Outcome::Transferred,
            department: "".into(),
            call_id: "c1".into(),
        }
    }

    #[test]
    fn validation_names_each_problem() {
        let cats = vec!["税金".to_string()];
        let deps = vec!["市民課".to_string()];
        let mut i = input();
        let p = i.validate(&cats, &deps);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("担当課"));
        i.department = "市民課".into();
        assert!(i.validate(&cats, &deps).is_empty());
        i.category = "未知".into();
        i.ended_at = 1;
        i.faq_ids.push("bad id!".into());
        assert_eq!(i.validate(&cats, &deps).len(), 3);
    }

    #[test]
    fn faq_ids_from_free_typing() {
        assert_eq!(
            parse_faq_ids("FAQ-0001、ＦＡＱ-0002\n FAQ-0003,"),
            vec!["FAQ-0001", "FAQ-0002", "FAQ-0003"]
        );
    }
}
