//! The configuration tables for what operators dial and where FAXes go: `[dialing]`,
//! `[fax]`, and the days a department's office hours apply on. Kept apart from
//! `config` so that file stays about the center itself.

use serde::{Deserialize, Serialize};

/// On which days a `[[department]]`'s `hours` apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfficeDays {
    /// The city's office days (開庁日): Monday to Friday, not a national holiday, not one
    /// of `[hours] closed_dates` (the year-end closure). The default with `hours`.
    Office,
    /// Every day of the year, holidays and the year-end included. The default without
    /// `hours` (the guard room, 24 h).
    EveryDay,
}

/// `[dialing]`: what an operator may dial from their softphone (issue 8 item 4), the
/// numbers a callback may ring (toll fraud, issue 9 item 5) and the pause reasons.
///
/// Outside numbers are judged in national form ("0246221111"; E.164 "+81…" is
/// normalised) by their kind in the national numbering plan (総務省「電気通信番号制度」,
/// 電気通信番号計画: 0AB〜J fixed, 070/080/090 mobile, 050 IP, 0AB0 services, 00XY
/// carrier codes, 010 international). `allow_prefixes` and `deny_prefixes` change the
/// built-in decision: the longest matching prefix wins, deny on a tie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialing {
    /// What counts as a city extension, dialled over `extension_trunk`. Asterisk-style
    /// patterns of one digit per character: `X` any digit, `Z` 1–9, `N` 2–9, a digit
    /// itself, `[1-5]` a set. Default `["XXXX"]`: four digits (spec 第2-7 ⑴ エ).
    #[serde(default = "default_extension_patterns")]
    pub extension_patterns: Vec<String>,
    /// The `[[trunk]]` extensions are dialled on; default: the first with kind = "pbx".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_trunk: Option<String>,
    /// The `[[trunk]]` outside numbers are dialled on; default: the first with
    /// kind = "carrier".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_trunk: Option<String>,
    /// Operators' outside calls: prefixes allowed beyond the default (e.g. "0570").
    #[serde(default)]
    pub allow_prefixes: Vec<String>,
    /// Operators' outside calls: prefixes refused on top of the default.
    #[serde(default)]
    pub deny_prefixes: Vec<String>,
    /// Callbacks: prefixes allowed beyond the default (fixed, 050 and mobile numbers).
    #[serde(default)]
    pub callback_allow_prefixes: Vec<String>,
    /// Callbacks: prefixes refused on top of the default.
    #[serde(default)]
    pub callback_deny_prefixes: Vec<String>,
    /// Emergency numbers (緊急通報番号 110 police, 118 coast guard, 119 fire and
    /// ambulance) any operator may dial, without `outside_calls`: they cost nothing and a
    /// call-taker facing an emergency must never be blocked. `[]` turns this off.
    #[serde(default = "default_emergency_numbers")]
    pub emergency_numbers: Vec<String>,
    /// Reasons an operator picks with `*23N` (N = 1 for the first, up to 9); `*23`
    /// alone pauses without a reason.
    #[serde(default = "default_pause_reasons")]
    pub pause_reasons: Vec<String>,
}

impl Default for Dialing {
    fn default() -> Self {
        Dialing {
            extension_patterns: default_extension_patterns(),
            extension_trunk: None,
            outside_trunk: None,
            allow_prefixes: Vec::new(),
            deny_prefixes: Vec::new(),
            callback_allow_prefixes: Vec::new(),
            callback_deny_prefixes: Vec::new(),
            emergency_numbers: default_emergency_numbers(),
            pause_reasons: default_pause_reasons(),
        }
    }
}

fn default_extension_patterns() -> Vec<String> {
    vec!["XXXX".into()]
}

fn default_emergency_numbers() -> Vec<String> {
    ["110", "118", "119"].map(String::from).to_vec()
}

fn default_pause_reasons() -> Vec<String> {
    ["休憩", "研修", "打合せ", "事務処理"]
        .map(String::from)
        .to_vec()
}

/// `[fax]`: the center's FAX number (spec 第2-7 ⑴ イ), received 24 h (第3-1 ⑵ ウ) by a
/// FAX machine reached as a `[[department]]` or as an extension on a trunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fax {
    /// The number callers send FAXes to, national form ("0246221199").
    pub number: String,
    /// What logs and screens call it.
    #[serde(default = "default_fax_name")]
    pub name: String,
    /// A `[[department]]` that is the FAX machine; or else `extension` and `trunk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
}

fn default_fax_name() -> String {
    "FAX".into()
}
