use super::*;
use crate::civil::LocalDateTime;
use crate::load::default_config;

fn jst(y: i32, m: u8, d: u8, h: u8, min: u8) -> u64 {
    LocalDateTime::new(y, m, d, h, min).unwrap().to_unix(540)
}

fn world() -> (Config, Calendar) {
    let cfg = default_config();
    let cal = Calendar::new(&cfg.hours);
    (cfg, cal)
}

#[test]
fn the_sample_directory_is_found_by_extension_name_label_and_number() {
    let (cfg, _) = world();
    assert_eq!(
        by_extension(&cfg, "2101").map(|d| d.label.as_str()),
        Some("市民課")
    );
    assert_eq!(
        by_extension(&cfg, "2201").map(|d| d.label.as_str()),
        Some("市民税課")
    );
    assert_eq!(
        by_extension(&cfg, "2301").map(|d| d.label.as_str()),
        Some("保険年金課")
    );
    assert_eq!(
        by_extension(&cfg, "2999").map(|d| d.name.as_str()),
        Some("guard-room")
    );
    assert_eq!(by_extension(&cfg, "2102"), None);
    assert_eq!(
        by_name(&cfg, "保険年金課").map(|d| d.extension.as_str()),
        Some("2301")
    );
    assert_eq!(
        by_name(&cfg, "shiminzei").map(|d| d.extension.as_str()),
        Some("2201")
    );
    assert_eq!(by_name(&cfg, ""), None);
    for form in ["0246-22-7101", "0246227101", "+81 246 22 7101"] {
        assert_eq!(
            by_outside_number(&cfg, form).map(|d| d.extension.as_str()),
            Some("2101"),
            "{form}"
        );
    }
    assert_eq!(by_outside_number(&cfg, "0246221111"), None);
}

#[test]
fn search_finds_by_part_of_a_label_or_number() {
    let (cfg, _) = world();
    let labels =
        |q: &str| -> Vec<String> { search(&cfg, q).iter().map(|d| d.label.clone()).collect() };
    assert_eq!(labels("市民"), ["市民課", "市民税課"]);
    assert_eq!(labels("7301"), ["保険年金課"]);
    assert_eq!(labels("23"), ["保険年金課"]);
    assert_eq!(labels("").len(), cfg.departments.len());
    assert!(labels("水道").is_empty());
}

#[test]
fn office_hours_on_office_days() {
    let (cfg, cal) = world();
    let shimin = by_extension(&cfg, "2101").unwrap();
    // Wednesday 2026-11-25.
    assert!(is_open(&cfg, &cal, shimin, jst(2026, 11, 25, 8, 30)).is_ok());
    assert!(is_open(&cfg, &cal, shimin, jst(2026, 11, 25, 17, 14)).is_ok());
    let late = is_open(&cfg, &cal, shimin, jst(2026, 11, 25, 17, 15)).unwrap_err();
    assert_eq!(
        late.reason_ja,
        "市民課は受付終了後です（受付時間 08:30〜17:15）。"
    );
    assert_eq!(
        late.hours_text_ja,
        "平日（土日・祝日・年末年始を除く）午前8時30分から午後5時15分まで"
    );
    let early = is_open(&cfg, &cal, shimin, jst(2026, 11, 25, 8, 29)).unwrap_err();
    assert!(early.reason_ja.contains("受付開始前"), "{early:?}");
}

#[test]
fn closed_on_weekends_holidays_and_the_year_end() {
    let (cfg, cal) = world();
    let d = by_name(&cfg, "市民税課").unwrap();
    let sat = is_open(&cfg, &cal, d, jst(2026, 11, 28, 10, 0)).unwrap_err();
    assert_eq!(sat.reason_ja, "本日は土曜日のため、市民税課は閉庁日です。");
    // Monday 2026-11-23 is 勤労感謝の日: the center is open, the department is not.
    assert!(cal.is_open_at(jst(2026, 11, 23, 10, 0)));
    let holiday = is_open(&cfg, &cal, d, jst(2026, 11, 23, 10, 0)).unwrap_err();
    assert_eq!(
        holiday.reason_ja,
        "本日は祝日（勤労感謝の日）のため、市民税課は閉庁日です。"
    );
    // Tuesday 2026-12-29: year-end closure.
    let year_end = is_open(&cfg, &cal, d, jst(2026, 12, 29, 10, 0)).unwrap_err();
    assert_eq!(
        year_end.reason_ja,
        "本日（12月29日）は年末年始のため、市民税課は閉庁日です。"
    );
    assert!(is_open(&cfg, &cal, d, jst(2027, 1, 4, 10, 0)).is_ok());
}

#[test]
fn the_guard_room_is_open_around_the_clock() {
    let (cfg, cal) = world();
    let guard = cfg.department("guard-room").unwrap();
    for t in [
        jst(2026, 11, 28, 3, 0),
        jst(2027, 1, 1, 0, 0),
        jst(2026, 11, 23, 23, 59),
    ] {
        assert_eq!(is_open(&cfg, &cal, guard, t), Ok(()));
    }
    assert_eq!(hours_text_ja(&cfg, guard), "24時間");
}

#[test]
fn every_day_departments_ignore_the_office_calendar() {
    let (cfg, cal) = world();
    let mut d = by_extension(&cfg, "2301").unwrap().clone();
    d.days = Some(OfficeDays::EveryDay);
    assert!(is_open(&cfg, &cal, &d, jst(2026, 11, 28, 10, 0)).is_ok());
    assert!(is_open(&cfg, &cal, &d, jst(2026, 11, 28, 18, 0)).is_err());
    assert_eq!(
        hours_text_ja(&cfg, &d),
        "毎日午前8時30分から午後5時15分まで"
    );
    // All day on office days only.
    d.hours = None;
    d.days = Some(OfficeDays::Office);
    assert!(is_open(&cfg, &cal, &d, jst(2026, 11, 25, 23, 0)).is_ok());
    assert!(is_open(&cfg, &cal, &d, jst(2026, 11, 28, 12, 0)).is_err());
}

#[test]
fn the_list_serialises_with_each_state() {
    let (cfg, cal) = world();
    let saturday = jst(2026, 11, 28, 10, 0);
    let list = list(&cfg, &cal, saturday);
    assert_eq!(list.len(), cfg.departments.len());
    let json = serde_json::to_value(&list).unwrap();
    let guard = &json[0];
    assert_eq!(guard["label"], "本庁舎警備室");
    assert_eq!(guard["open"], true);
    assert!(guard["closed_reason_ja"].is_null());
    let shimin = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["extension"] == "2101")
        .unwrap();
    assert_eq!(shimin["open"], false);
    assert_eq!(shimin["outside_number"], "0246-22-7101");
    assert_eq!(
        shimin["closed_reason_ja"],
        "本日は土曜日のため、市民課は閉庁日です。"
    );
}

#[test]
fn times_are_spoken_the_japanese_way() {
    let t = |s: &str| spoken_time(s.parse().unwrap());
    assert_eq!(t("08:30"), "午前8時30分");
    assert_eq!(t("12:00"), "正午");
    assert_eq!(t("17:00"), "午後5時");
    assert_eq!(t("12:45"), "午後0時45分");
    assert_eq!(t("00:00"), "午前0時");
    assert_eq!(t("24:00"), "午前0時");
}

#[test]
fn next_opening_and_the_message_for_the_caller() {
    let (cfg, cal) = world();
    let d = by_extension(&cfg, "2101").unwrap();
    // Friday evening: next Monday 08:30; Monday 2026-11-23 is a holiday, so from the
    // Friday before it the next opening is Tuesday.
    assert_eq!(
        next_open(&cfg, &cal, d, jst(2026, 11, 27, 18, 0)),
        Some(jst(2026, 11, 30, 8, 30))
    );
    assert_eq!(
        next_open(&cfg, &cal, d, jst(2026, 11, 20, 18, 0)),
        Some(jst(2026, 11, 24, 8, 30))
    );
    assert_eq!(
        next_open(&cfg, &cal, d, jst(2026, 12, 28, 18, 0)),
        Some(jst(2027, 1, 4, 8, 30))
    );
    let now = jst(2026, 11, 25, 10, 0);
    assert_eq!(next_open(&cfg, &cal, d, now), Some(now));
    let closed = is_open(&cfg, &cal, d, jst(2026, 11, 28, 10, 0)).unwrap_err();
    assert_eq!(
        closed_message_ja(d, &closed),
        "本日は土曜日のため、市民課は閉庁日です。市民課の電話番号は0246-22-7101、\
         受付時間は平日（土日・祝日・年末年始を除く）午前8時30分から午後5時15分までです。"
    );
}
