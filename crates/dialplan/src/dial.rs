//! What an operator dialled from their softphone (issue 8 item 4), and which numbers a
//! callback may ring (issue 9 item 5: toll fraud). Pure functions of the configuration.
//!
//! An operator's INVITE carries what they typed as the Request-URI's user part; the
//! switch asks `classify` where it goes. In order:
//! 1. `*2N` feature codes (log in, out, pause with a reason, resume, end after-call work);
//!    `*31`/`*32`/`*33` + an operator's id for supervisors (listen, whisper, barge);
//! 2. another operator's id: refused (operator-to-operator calls are not offered, and
//!    sending them to the PBX would ring a stranger's extension of the same digits);
//! 3. a directory entry by name, label or extension: its extension on its trunk; the
//!    directory is the city's list, so a directory entry on the carrier (an office
//!    without an extension, spec 第3-1 ⑴ イ) needs no outside permission;
//! 4. an extension (`[dialing] extension_patterns`, 4 digits by default) on the PBX;
//! 5. a department's own outside number: its extension over the PBX (no carrier call);
//! 6. emergency numbers (110/118/119), for every operator;
//! 7. an outside number, for operators with `outside_calls = true`, judged by
//!    `[dialing] allow_prefixes` / `deny_prefixes` (longest prefix wins, deny on a tie),
//!    else by kind: fixed, mobile, 050 and free dial (0120/0800: free for the city)
//!    allowed; 0570, 0180, 0990, other 0AB0 services, 020/060/091, 00XY carrier codes,
//!    international (010, "+" but +81) and 1XY codes refused (see `numbering`).

use crate::config::{Config, Department, Dialing};
use crate::directory;
use crate::identity::percent_decode;
use crate::lookup::normalize_number;
use crate::numbering::{self, NumberKind};
use crate::pattern;
use crate::values::TrunkKind;

/// Where an operator's call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dial {
    /// A city extension over `trunk` (the PBX), with its directory entry when it has one.
    Extension {
        extension: String,
        trunk: String,
        department: Option<Department>,
    },
    /// An outside number in national form ("0246221111"; international ones as
    /// "010…", only when allowed by configuration) over the carrier `trunk`.
    Outside { national: String, trunk: String },
    /// A feature code; the switch answers it with a prompt, it places no call.
    Feature(Feature),
    /// A supervisor's `*31`/`*32`/`*33` + operator id: join that operator's live call.
    Supervise { agent: String, mode: SuperviseMode },
    /// Not placed: answer with `status` (403 not allowed, 404 nothing there, 484 the
    /// number is incomplete; RFC 3261 §21.4) and show `reason_ja` to the operator.
    Refused { status: u16, reason_ja: String },
}

/// What a supervisor does on an operator's call (spec 第2-7 ⑵ ウ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuperviseMode {
    /// `*31`: モニタリング — hears the citizen and the operator, heard by nobody.
    Listen,
    /// `*32`: ささやき — heard by the operator only.
    Whisper,
    /// `*33`: 割込み — all three hear each other.
    Barge,
}

impl SuperviseMode {
    pub fn label_ja(self) -> &'static str {
        match self {
            SuperviseMode::Listen => "モニタリング",
            SuperviseMode::Whisper => "ささやき",
            SuperviseMode::Barge => "割込み",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            SuperviseMode::Listen => "listen",
            SuperviseMode::Whisper => "whisper",
            SuperviseMode::Barge => "barge",
        }
    }
}

/// Operators' feature codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feature {
    /// `*21`
    Login,
    /// `*22`
    Logout,
    /// `*23` (no reason) or `*23N`: the N-th of `[dialing] pause_reasons`.
    Pause { reason: Option<String> },
    /// `*24`
    Resume,
    /// `*25`: end after-call work now.
    EndWrapUp,
}

/// Why a callback number is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason_ja}")]
pub struct CallbackRefused {
    pub kind: NumberKind,
    pub reason_ja: String,
}

fn refused(status: u16, reason_ja: impl Into<String>) -> Dial {
    Dial::Refused {
        status,
        reason_ja: reason_ja.into(),
    }
}

/// Decides what operator `agent_id` dialled as `dialled_user` (the user part of the
/// Request-URI, percent-encoding allowed).
pub fn classify(cfg: &Config, agent_id: &str, dialled_user: &str) -> Dial {
    let decoded = percent_decode(dialled_user);
    let dialled = decoded.trim();
    let Some(agent) = cfg.agent(agent_id) else {
        return refused(403, "登録されていないオペレーターからの発信です。");
    };
    if dialled.is_empty() {
        return refused(484, "番号が入力されていません。");
    }
    if let Some(code) = dialled.strip_prefix('*') {
        if let Some(d) = supervise(cfg, agent, code) {
            return d;
        }
        return feature(&cfg.dialing, code);
    }
    if let Some(other) = cfg.agent(dialled) {
        return refused(
            404,
            format!(
                "{dialled} はオペレーター（{}）の番号です。オペレーター同士の通話はできません。",
                other.name
            ),
        );
    }
    if let Some(d) =
        directory::by_name(cfg, dialled).or_else(|| directory::by_extension(cfg, dialled))
    {
        return to_department(d);
    }
    if cfg
        .dialing
        .extension_patterns
        .iter()
        .any(|p| pattern::matches(p, dialled))
    {
        return match extension_trunk(cfg) {
            Some(trunk) => Dial::Extension {
                extension: dialled.to_string(),
                trunk,
                department: None,
            },
            None => refused(404, "内線につなぐ回線（PBX）が設定されていません。"),
        };
    }
    let Some(national) = national_form(dialled) else {
        return refused(
            404,
            format!("「{dialled}」は発信できる番号ではありません。"),
        );
    };
    if let Some(d) = directory::by_outside_number(cfg, &national) {
        return to_department(d);
    }
    let emergency = cfg.dialing.emergency_numbers.contains(&national);
    let d = &cfg.dialing;
    let verdict = configured(&national, &d.allow_prefixes, &d.deny_prefixes);
    let kind = numbering::kind(&national);
    // Not a number at all is said before any permission: the operator mistyped.
    if !emergency && verdict != Some(true) {
        match kind {
            NumberKind::WrongLength => {
                return refused(
                    484,
                    format!(
                        "{national} は桁数が合いません。市外局番から（例 0246221111）\
                         入力してください。"
                    ),
                )
            }
            NumberKind::Invalid => {
                return refused(404, format!("{national} は{}です。", kind.refusal_ja()))
            }
            _ => {}
        }
    }
    if !emergency && !agent.outside_calls {
        return refused(
            403,
            format!(
                "{}さんには外線発信が許可されていません（設定 [[agent]] outside_calls）。",
                agent.name
            ),
        );
    }
    if !emergency {
        match verdict {
            Some(true) => {}
            Some(false) => {
                return refused(
                    403,
                    format!(
                        "{national} は設定（[dialing] deny_prefixes）で発信が禁止されています。"
                    ),
                )
            }
            None if matches!(
                kind,
                NumberKind::Fixed | NumberKind::Mobile | NumberKind::IpPhone | NumberKind::FreeDial
            ) => {}
            None => {
                return refused(
                    403,
                    format!(
                        "{}には発信できません（通話料・不正利用の防止のため。\
                         [dialing] allow_prefixes で許可できます）。",
                        kind.refusal_ja()
                    ),
                )
            }
        }
    }
    match outside_trunk(cfg) {
        Some(trunk) => Dial::Outside { national, trunk },
        None => refused(404, "外線につなぐ回線が設定されていません。"),
    }
}

/// Whether a callback may ring `number` (the citizen's number, from
/// `lookup::asserted_caller`); its national form if so.
///
/// Default: fixed lines (0AB〜J, 10 digits), mobiles (070/080/090, 11 digits) and 050
/// IP phones (11 digits: ordinary subscribers' lines at ordinary rates, which many
/// citizens call from). Refused: free dial 0120/0800 (never a citizen's own line, and a
/// callback there charges the third party that owns it, so a caller could make the
/// city run up someone else's bill), 0570/0180/0990 and the other services
/// (caller-paid premium rates), international and carrier codes (the classic toll
/// fraud), 1XY and emergency codes, and anything malformed. `[dialing]
/// callback_allow_prefixes` / `callback_deny_prefixes` change this, longest prefix
/// first.
pub fn callback_number_allowed(cfg: &Config, number: &str) -> Result<String, CallbackRefused> {
    let Some(national) = national_form(number.trim()) else {
        return Err(CallbackRefused {
            kind: NumberKind::Invalid,
            reason_ja: "折り返し先の番号がありません（非通知または番号ではありません）。".into(),
        });
    };
    let d = &cfg.dialing;
    let kind = numbering::kind(&national);
    match configured(
        &national,
        &d.callback_allow_prefixes,
        &d.callback_deny_prefixes,
    ) {
        Some(true) => return Ok(national),
        Some(false) => {
            return Err(CallbackRefused {
                kind,
                reason_ja: format!(
                    "{national} への折り返しは設定（[dialing] callback_deny_prefixes）で禁止されています。"
                ),
            })
        }
        None => {}
    }
    match kind {
        NumberKind::Fixed | NumberKind::Mobile | NumberKind::IpPhone => Ok(national),
        _ => Err(CallbackRefused {
            kind,
            reason_ja: format!(
                "{national} は{}のため、折り返し先にできません（固定電話・携帯電話の番号のみ）。",
                kind.refusal_ja()
            ),
        }),
    }
}

fn to_department(d: &Department) -> Dial {
    Dial::Extension {
        extension: d.extension.clone(),
        trunk: d.trunk.clone(),
        department: Some(d.clone()),
    }
}

/// `*31`/`*32`/`*33` followed by an operator's id, for supervisors only. None when the
/// code is not one of these (then it is an ordinary feature code).
fn supervise(cfg: &Config, caller: &crate::config::Agent, code: &str) -> Option<Dial> {
    let (mode, target) = match code.split_at_checked(2)? {
        ("31", t) => (SuperviseMode::Listen, t),
        ("32", t) => (SuperviseMode::Whisper, t),
        ("33", t) => (SuperviseMode::Barge, t),
        _ => return None,
    };
    if target.is_empty() {
        return None;
    }
    if !caller.supervisor {
        return Some(refused(
            403,
            format!(
                "{}は監督者だけが使えます（[[agent]] supervisor = true）。",
                mode.label_ja()
            ),
        ));
    }
    if target == caller.id {
        return Some(refused(403, "自分の通話はモニタリングできません。"));
    }
    if cfg.agent(target).is_none() {
        return Some(refused(
            404,
            format!("オペレーター {target} は登録されていません。"),
        ));
    }
    Some(Dial::Supervise {
        agent: target.to_string(),
        mode,
    })
}

/// Feature codes after the '*'.
fn feature(dialing: &Dialing, code: &str) -> Dial {
    match code {
        "21" => Dial::Feature(Feature::Login),
        "22" => Dial::Feature(Feature::Logout),
        "23" => Dial::Feature(Feature::Pause { reason: None }),
        "24" => Dial::Feature(Feature::Resume),
        "25" => Dial::Feature(Feature::EndWrapUp),
        _ => {
            let digit = code
                .strip_prefix("23")
                .filter(|d| d.len() == 1)
                .and_then(|d| d.parse::<usize>().ok())
                .filter(|&n| n >= 1);
            match digit.and_then(|n| dialing.pause_reasons.get(n - 1)) {
                Some(reason) => Dial::Feature(Feature::Pause {
                    reason: Some(reason.clone()),
                }),
                None if digit.is_some() => refused(
                    404,
                    format!(
                        "休止理由 *{code} は設定されていません（{}）。",
                        pause_menu(dialing)
                    ),
                ),
                None => refused(
                    404,
                    format!(
                        "特番 *{code} はありません（*21 ログイン、*22 ログアウト、*23 休止、\
                         *24 休止解除、*25 後処理終了）。"
                    ),
                ),
            }
        }
    }
}

fn pause_menu(dialing: &Dialing) -> String {
    if dialing.pause_reasons.is_empty() {
        return "理由なしの *23 のみ".into();
    }
    dialing
        .pause_reasons
        .iter()
        .enumerate()
        .map(|(i, r)| format!("*23{} {r}", i + 1))
        .collect::<Vec<_>>()
        .join("、")
}

/// National form; another country's "+CC…" becomes "010CC…", how it is dialled from
/// Japan, so prefixes and kinds judge it as international.
fn national_form(dialled: &str) -> Option<String> {
    let n = normalize_number(dialled)?;
    Some(match n.strip_prefix('+') {
        Some(rest) => format!("010{rest}"),
        None => n,
    })
}

/// The configured verdict on `national`: the longest matching prefix of either list
/// decides, deny on a tie; `None` when no prefix matches.
fn configured(national: &str, allow: &[String], deny: &[String]) -> Option<bool> {
    let longest = |list: &[String]| {
        list.iter()
            .filter(|p| !p.is_empty() && national.starts_with(p.as_str()))
            .map(String::len)
            .max()
    };
    match (longest(allow), longest(deny)) {
        (None, None) => None,
        (Some(a), Some(d)) => Some(a > d),
        (a, _) => Some(a.is_some()),
    }
}

fn extension_trunk(cfg: &Config) -> Option<String> {
    trunk_or_first(cfg, cfg.dialing.extension_trunk.as_ref(), TrunkKind::Pbx)
}

fn outside_trunk(cfg: &Config) -> Option<String> {
    trunk_or_first(cfg, cfg.dialing.outside_trunk.as_ref(), TrunkKind::Carrier)
}

fn trunk_or_first(cfg: &Config, named: Option<&String>, kind: TrunkKind) -> Option<String> {
    match named {
        Some(n) => cfg.trunk(n).map(|t| t.name.clone()),
        None => cfg
            .trunks
            .iter()
            .find(|t| t.kind == kind)
            .map(|t| t.name.clone()),
    }
}

#[cfg(test)]
#[path = "dial_tests.rs"]
mod tests;
