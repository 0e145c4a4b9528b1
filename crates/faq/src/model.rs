//! An FAQ entry as the spec lists its fields, and the checks every write goes through
//! (the form, the CSV import and the API share them).

use crate::clock::is_valid_date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Entry {
    /// FAQ-ID, e.g. `FAQ-0001`.
    pub id: String,
    /// The city's category path, levels separated by ` > `.
    pub category: String,
    pub question: String,
    pub answer: String,
    /// Related FAQ-IDs separated by `;`.
    pub related_faq: String,
    /// Related URLs separated by `;` or whitespace.
    pub related_url: String,
    pub department: String,
    pub public: bool,
    /// Publish window `YYYY-MM-DD`; empty means open-ended.
    pub publish_start: String,
    pub publish_end: String,
}

impl Entry {
    /// Whether citizens may see it on `today` (`YYYY-MM-DD`).
    pub fn visible_on(&self, today: &str) -> bool {
        self.public
            && (self.publish_start.is_empty() || self.publish_start.as_str() <= today)
            && (self.publish_end.is_empty() || today <= self.publish_end.as_str())
    }

    pub fn related_ids(&self) -> Vec<&str> {
        self.related_faq
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn urls(&self) -> Vec<&str> {
        self.related_url
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Every reason this entry cannot be saved, in Japanese for the editor.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !valid_id(&self.id) {
            p.push(format!(
                "FAQ-IDの形式が不正です（英数字とハイフン、1〜32文字）: {:?}",
                self.id
            ));
        }
        if self.question.trim().is_empty() {
            p.push("質問が空です".into());
        }
        if self.answer.trim().is_empty() {
            p.push("回答が空です".into());
        }
        if self.category.trim().is_empty() {
            p.push("カテゴリが空です".into());
        }
        if self.question.chars().count() > 500 {
            p.push("質問が長すぎます（500文字まで）".into());
        }
        if self.answer.chars().count() > 20_000 {
            p.push("回答が長すぎます（20000文字まで）".into());
        }
        for r in self.related_ids() {
            if !valid_id(r) {
                p.push(format!("関連FAQのIDが不正です: {r:?}"));
            }
        }
        for u in self.urls() {
            if !(u.starts_with("https://") || u.starts_with("http://"))
                || u.contains(['<', '>', '"'])
            {
                p.push(format!(
                    "関連URLは http(s):// で始まる必要があります: {u:?}"
                ));
            }
        }
        for (name, d) in [
            ("公開開始日", &self.publish_start),
            ("公開終了日", &self.publish_end),
        ] {
            if !d.is_empty() && !is_valid_date(d) {
                p.push(format!("{name}が日付（YYYY-MM-DD）ではありません: {d:?}"));
            }
        }
        if !self.publish_start.is_empty()
            && !self.publish_end.is_empty()
            && self.publish_end < self.publish_start
        {
            p.push("公開終了日が公開開始日より前です".into());
        }
        p
    }
}

pub fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
