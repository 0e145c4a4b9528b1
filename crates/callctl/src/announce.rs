//! Announcements: which prompt files to play, in order. Pure functions, no I/O.
//!
//! A name is a prompt's path under the prompt folder (`prompts/ja/`) without `.wav`, the
//! key under which the switch loads it (`num/3` is `prompts/ja/num/3.wav`). The names are
//! the contract with `scripts/make-prompts.sh`, which generates the files (8 kHz mono
//! 16-bit WAV); the city may replace any of them by its own recording under the same name.
//!
//! Spoken numbers. A queue position is read "お客様の順番は" + the number + "番目です。":
//! the number (`num/N`, N = 1..=99) does not change before 番目, so it concatenates.
//! Minutes do not: 分 changes the number and itself (いっぷん, さんぷん, ろっぷん, はっぷん,
//! じゅっぷん …), so each `min/N` (N = 1..=60) is the whole word "N分" and the suffix
//! after it, `wait-suffix-minutes`, says only "です。".

use std::time::Duration;

/// お電話ありがとうございます。いわき市総合コールセンターです。
pub const GREETING: &str = "greeting";
/// サービス向上のため、通話を録音させていただいております。
pub const RECORDING_NOTICE: &str = "recording-notice";
/// ただいま電話が大変混み合っております。このままお待ちいただくか、…おかけ直しください。
pub const PLEASE_WAIT: &str = "please-wait";
/// お客様の順番は
pub const POSITION_PREFIX: &str = "position-prefix";
/// 番目です。
pub const POSITION_SUFFIX: &str = "position-suffix";
/// お客様の順番は、100番目以降です。 (positions above [`MAX_POSITION`])
pub const POSITION_MANY: &str = "position-many";
/// お待ちいただく時間は、およそ
pub const WAIT_PREFIX: &str = "wait-prefix";
/// です。 (after `min/N`, which already says "N分")
pub const WAIT_SUFFIX_MINUTES: &str = "wait-suffix-minutes";
/// お待ちいただく時間は、1時間以上となる見込みです。 (waits above [`MAX_MINUTES`])
pub const WAIT_OVER_HOUR: &str = "wait-over-hour";
/// 折り返しのお電話をご希望の方は、1を押してください。…
pub const CALLBACK_OFFER: &str = "callback-offer";
/// 折り返しのお電話を承りました。…このままお電話をお切りください。
pub const CALLBACK_ACCEPTED: &str = "callback-accepted";
/// 申し訳ございません。電話番号が通知されていないため、折り返しのお電話はお受けできません。…
pub const CALLBACK_UNAVAILABLE: &str = "callback-unavailable";
/// The opening hours, then "…警備室におつなぎします。"
pub const AFTER_HOURS: &str = "after-hours";
/// 担当課におつなぎします。
pub const TRANSFER: &str = "transfer";
/// Music on hold (24 s, meant to be looped).
pub const HOLD_MUSIC: &str = "hold-music";
/// 本日の応対について、満足度を5段階でお聞かせください。大変満足の場合は5、…1を押してください。
/// (the satisfaction survey, after the operator hung up first)
pub const SURVEY: &str = "survey";
/// ご協力ありがとうございました。失礼いたします。
pub const SURVEY_THANKS: &str = "survey-thanks";

/// ログインしました。受付を開始します。 (feature code *21)
pub const FEATURE_LOGIN: &str = "feature-login";
/// ログアウトしました。 (*22)
pub const FEATURE_LOGOUT: &str = "feature-logout";
/// 休憩に入りました。 (*23)
pub const FEATURE_PAUSE: &str = "feature-pause";
/// 受付を再開しました。 (*24)
pub const FEATURE_UNPAUSE: &str = "feature-unpause";
/// 後処理を終了しました。 (*25)
pub const FEATURE_END_WRAPUP: &str = "feature-end-wrapup";
/// ただいまの操作はできませんでした。 (any refused feature code)
pub const FEATURE_FAILED: &str = "feature-failed";

/// The confirmation an operator hears after a feature code worked.
pub fn feature_done(op: &crate::io::AgentOp) -> &'static str {
    use crate::io::AgentOp;
    match op {
        AgentOp::Login => FEATURE_LOGIN,
        AgentOp::Logout => FEATURE_LOGOUT,
        AgentOp::Pause(_) => FEATURE_PAUSE,
        AgentOp::Unpause => FEATURE_UNPAUSE,
        AgentOp::EndWrapUp => FEATURE_END_WRAPUP,
    }
}

/// Every fixed (non-number) prompt.
pub const FIXED: [&str; 23] = [
    FEATURE_LOGIN,
    FEATURE_LOGOUT,
    FEATURE_PAUSE,
    FEATURE_UNPAUSE,
    FEATURE_END_WRAPUP,
    FEATURE_FAILED,
    GREETING,
    RECORDING_NOTICE,
    PLEASE_WAIT,
    POSITION_PREFIX,
    POSITION_SUFFIX,
    POSITION_MANY,
    WAIT_PREFIX,
    WAIT_SUFFIX_MINUTES,
    WAIT_OVER_HOUR,
    CALLBACK_OFFER,
    CALLBACK_ACCEPTED,
    CALLBACK_UNAVAILABLE,
    AFTER_HOURS,
    TRANSFER,
    HOLD_MUSIC,
    SURVEY,
    SURVEY_THANKS,
];

/// The highest position read as a number; above it, [`POSITION_MANY`].
pub const MAX_POSITION: u32 = 99;
/// The longest wait read in minutes; above it, [`WAIT_OVER_HOUR`].
pub const MAX_MINUTES: u32 = 60;

/// `num/N` for N = 1..=99, the numbers as read before 番目.
const NUM: [&str; MAX_POSITION as usize] = [
    "num/1", "num/2", "num/3", "num/4", "num/5", "num/6", "num/7", "num/8", "num/9", "num/10",
    "num/11", "num/12", "num/13", "num/14", "num/15", "num/16", "num/17", "num/18", "num/19",
    "num/20", "num/21", "num/22", "num/23", "num/24", "num/25", "num/26", "num/27", "num/28",
    "num/29", "num/30", "num/31", "num/32", "num/33", "num/34", "num/35", "num/36", "num/37",
    "num/38", "num/39", "num/40", "num/41", "num/42", "num/43", "num/44", "num/45", "num/46",
    "num/47", "num/48", "num/49", "num/50", "num/51", "num/52", "num/53", "num/54", "num/55",
    "num/56", "num/57", "num/58", "num/59", "num/60", "num/61", "num/62", "num/63", "num/64",
    "num/65", "num/66", "num/67", "num/68", "num/69", "num/70", "num/71", "num/72", "num/73",
    "num/74", "num/75", "num/76", "num/77", "num/78", "num/79", "num/80", "num/81", "num/82",
    "num/83", "num/84", "num/85", "num/86", "num/87", "num/88", "num/89", "num/90", "num/91",
    "num/92", "num/93", "num/94", "num/95", "num/96", "num/97", "num/98", "num/99",
];

/// "お客様の順番は N 番目です。" for a 1-based place in line.
///
/// Position 0 (not, or no longer, waiting) gives nothing to play; positions above
/// [`MAX_POSITION`] give the single prompt "…100番目以降です。".
pub fn position_announcement(position: u32) -> Vec<&'static str> {
    match position {
        0 => Vec::new(),
        1..=MAX_POSITION => vec![POSITION_PREFIX, NUM[position as usize - 1], POSITION_SUFFIX],
        _ => vec![POSITION_MANY],
    }
}

/// "お待ちいただく時間は、およそ N分です。" for an estimated wait in whole minutes
/// (round up first: [`minutes_rounded_up`]).
///
/// 0 is read as one minute (a wait under a minute is still "about one minute"); above
/// [`MAX_MINUTES`], the single prompt "…1時間以上となる見込みです。".
pub fn wait_announcement(minutes: u32) -> Vec<String> {
    match minutes {
        0..=MAX_MINUTES => vec![
            WAIT_PREFIX.to_string(),
            format!("min/{}", minutes.max(1)),
            WAIT_SUFFIX_MINUTES.to_string(),
        ],
        _ => vec![WAIT_OVER_HOUR.to_string()],
    }
}

/// An estimate in whole minutes, rounded up (61 s → 2), saturating at `u32::MAX`.
pub fn minutes_rounded_up(estimate: Duration) -> u32 {
    let minutes = estimate.as_nanos().div_ceil(60_000_000_000);
    u32::try_from(minutes).unwrap_or(u32::MAX)
}

/// [`wait_announcement`] for an estimate, rounded up to whole minutes.
pub fn wait_announcement_for(estimate: Duration) -> Vec<String> {
    wait_announcement(minutes_rounded_up(estimate))
}

/// The periodic message for a waiting caller: "please wait", then the position and the
/// expected wait when known (each part as above; hold music goes between repetitions).
pub fn please_wait_announcement(position: Option<u32>, estimate: Option<Duration>) -> Vec<String> {
    let mut out = vec![PLEASE_WAIT.to_string()];
    if let Some(p) = position {
        out.extend(position_announcement(p).into_iter().map(str::to_string));
    }
    if let Some(e) = estimate {
        out.extend(wait_announcement_for(e));
    }
    out
}

/// Every file the announcements may ask for (fixed prompts, `num/1..=99`, `min/1..=60`),
/// e.g. to load them all at start and refuse to start when one is missing.
pub fn all_prompt_files() -> Vec<String> {
    FIXED
        .iter()
        .map(|s| s.to_string())
        .chain(NUM.iter().map(|s| s.to_string()))
        .chain((1..=MAX_MINUTES).map(|m| format!("min/{m}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn positions_read_as_number_then_banme() {
        assert_eq!(
            position_announcement(1),
            ["position-prefix", "num/1", "position-suffix"]
        );
        assert_eq!(position_announcement(4)[1], "num/4");
        assert_eq!(position_announcement(14)[1], "num/14");
        assert_eq!(
            position_announcement(99),
            ["position-prefix", "num/99", "position-suffix"]
        );
        for p in 1..=MAX_POSITION {
            assert_eq!(position_announcement(p)[1], format!("num/{p}"));
        }
    }

    #[test]
    fn positions_out_of_range() {
        assert!(position_announcement(0).is_empty());
        assert_eq!(position_announcement(100), ["position-many"]);
        assert_eq!(position_announcement(u32::MAX), ["position-many"]);
    }

    #[test]
    fn minutes_are_whole_words_and_the_suffix_is_desu() {
        assert_eq!(
            wait_announcement(1),
            ["wait-prefix", "min/1", "wait-suffix-minutes"]
        );
        for m in 1..=MAX_MINUTES {
            assert_eq!(
                wait_announcement(m),
                [
                    WAIT_PREFIX.to_string(),
                    format!("min/{m}"),
                    WAIT_SUFFIX_MINUTES.to_string()
                ]
            );
        }
    }

    #[test]
    fn minutes_out_of_range() {
        assert_eq!(wait_announcement(0)[1], "min/1");
        assert_eq!(wait_announcement(61), ["wait-over-hour"]);
        assert_eq!(wait_announcement(u32::MAX), ["wait-over-hour"]);
    }

    #[test]
    fn estimates_round_up() {
        let s = Duration::from_secs;
        assert_eq!(minutes_rounded_up(Duration::ZERO), 0);
        assert_eq!(minutes_rounded_up(Duration::from_nanos(1)), 1);
        assert_eq!(minutes_rounded_up(s(59)), 1);
        assert_eq!(minutes_rounded_up(s(60)), 1);
        assert_eq!(minutes_rounded_up(s(61)), 2);
        assert_eq!(minutes_rounded_up(Duration::from_millis(60_001)), 2);
        assert_eq!(minutes_rounded_up(s(3600)), 60);
        assert_eq!(minutes_rounded_up(Duration::MAX), u32::MAX);
        assert_eq!(wait_announcement_for(Duration::ZERO)[1], "min/1");
        assert_eq!(wait_announcement_for(s(7 * 60 + 1))[1], "min/8");
        assert_eq!(wait_announcement_for(s(3600))[1], "min/60");
        assert_eq!(wait_announcement_for(s(3601)), ["wait-over-hour"]);
    }

    #[test]
    fn please_wait_combines_the_parts() {
        assert_eq!(please_wait_announcement(None, None), ["please-wait"]);
        assert_eq!(
            please_wait_announcement(Some(3), Some(Duration::from_secs(150))),
            [
                "please-wait",
                "position-prefix",
                "num/3",
                "position-suffix",
                "wait-prefix",
                "min/3",
                "wait-suffix-minutes",
            ]
        );
        assert_eq!(
            please_wait_announcement(Some(250), Some(Duration::from_secs(2 * 3600))),
            ["please-wait", "position-many", "wait-over-hour"]
        );
    }

    #[test]
    fn the_list_covers_everything_and_has_no_duplicates() {
        let all: BTreeSet<String> = all_prompt_files().into_iter().collect();
        assert_eq!(all.len(), FIXED.len() + 99 + 60);
        let mut said = BTreeSet::new();
        for p in 0..=150 {
            said.extend(position_announcement(p).into_iter().map(str::to_string));
        }
        for m in 0..=100 {
            said.extend(wait_announcement(m));
        }
        said.extend(please_wait_announcement(None, None));
        assert!(
            said.is_subset(&all),
            "not listed: {:?}",
            said.difference(&all)
        );
    }
}
