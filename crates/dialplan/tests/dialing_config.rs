//! `madoguchi check` on the keys of the directory, `[dialing]`, `[fax]` and department
//! numbers: each broken value is reported at its own line with how to fix it.

mod common;

use common::{edit, line_of};
use dialplan::{check, ConfigError, DEFAULT_TOML};

const FILE: &str = "site.toml";

fn errors(text: &str) -> Vec<ConfigError> {
    check(text, FILE).expect_err("the file should be refused")
}

/// Asserts an error at the line and column where `needle` starts, saying `says`.
fn refused_at(text: &str, needle: &str, says: &str) {
    let line = line_of(text, needle);
    let at = text.find(needle).unwrap();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() + 1;
    let errors = errors(text);
    assert!(
        errors
            .iter()
            .any(|e| e.line == line && e.column == column && e.message.contains(says)),
        "expected an error at {line}:{column} saying '{says}', got: {errors:#?}"
    );
    let shown = errors.iter().find(|e| e.line == line).unwrap().to_string();
    assert!(
        shown.starts_with(&format!("{FILE}:{line}:{column}: ")),
        "{shown}"
    );
}

#[test]
fn the_default_file_carries_the_sample_directory_and_fax() {
    let cfg = check(DEFAULT_TOML, FILE).unwrap();
    let labels: Vec<&str> = cfg.departments.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, ["本庁舎警備室", "市民課", "市民税課", "保険年金課"]);
    assert_eq!(
        cfg.fax.as_ref().map(|f| f.number.as_str()),
        Some("0246221199")
    );
    assert!(cfg.agent("1001").unwrap().outside_calls);
    assert!(!cfg.agent("1002").unwrap().outside_calls);
}

#[test]
fn a_bad_outside_number() {
    let text = edit(
        "outside_number = \"0246-22-7201\"",
        "outside_number = \"22-7201\"",
    );
    refused_at(
        &text,
        "\"22-7201\"",
        "department 'shiminzei': outside_number '22-7201' is not a Japanese telephone number",
    );
}

#[test]
fn two_departments_with_one_outside_number() {
    let text = edit(
        "outside_number = \"0246-22-7301\"",
        "outside_number = \"+81 246 22 7201\"",
    );
    refused_at(
        &text,
        "\"+81 246 22 7201\"",
        "is already the number of department 'shiminzei'",
    );
}

#[test]
fn two_departments_with_one_extension() {
    let text = edit("extension = \"2201\"", "extension = \"2101\"");
    let at = text.find("label = \"市民税課\"").unwrap();
    let second = at + text[at..].find("\"2101\"").unwrap();
    let needle = &text[second..second + 6];
    assert_eq!(needle, "\"2101\"");
    let line = text[..second].matches('\n').count() + 1;
    assert!(
        errors(&text)
            .iter()
            .any(|e| e.line == line && e.message.contains("is already department 'shimin'")),
        "{:#?}",
        errors(&text)
    );
}

#[test]
fn department_hours_that_close_before_they_open() {
    let text = edit(
        "label = \"市民課\"\nextension = \"2101\"\ntrunk = \"pbx\"\noutside_number = \"0246-22-7101\"   # its own number, read to callers when closed\nhours = [\"08:30\", \"17:15\"]",
        "label = \"市民課\"\nextension = \"2101\"\ntrunk = \"pbx\"\noutside_number = \"0246-22-7101\"   # its own number, read to callers when closed\nhours = [\"17:15\", \"08:30\"]",
    );
    refused_at(
        &text,
        "[\"17:15\", \"08:30\"]",
        "department 'shimin' opens at 17:15 but closes at 08:30",
    );
}

#[test]
fn unknown_office_days() {
    let text = edit(
        "hours = [\"08:30\", \"17:15\"]        # office days",
        "days = \"weekdays\"\nhours = [\"08:30\", \"17:15\"]        # office days",
    );
    refused_at(
        &text,
        "\"weekdays\"",
        "unknown variant `weekdays`, expected `office` or `every-day`",
    );
}

#[test]
fn a_number_of_an_undefined_department() {
    let text = edit("department = \"shimin\"", "department = \"shimn\"");
    refused_at(
        &text,
        "\"shimn\"",
        "belongs to department 'shimn', which is not defined by any [[department]]",
    );
}

#[test]
fn dialing_values_point_at_their_elements() {
    let text = edit(
        "extension_patterns = [\"XXXX\"]",
        "extension_patterns = [\"XXXX\", \"2X?X\"]",
    );
    refused_at(
        &text,
        "\"2X?X\"",
        "extension pattern '2X?X': '?' is not a pattern character",
    );
    let text = edit(
        "\ndeny_prefixes = []",
        "\ndeny_prefixes = [\"0570\", \"+81570\"]",
    );
    refused_at(
        &text,
        "\"+81570\"",
        "deny_prefixes: '+81570' must be digits",
    );
    let text = edit(
        "callback_allow_prefixes = []",
        "callback_allow_prefixes = [\"\"]",
    );
    refused_at(&text, "\"\"]", "callback_allow_prefixes: '' must be digits");
    let text = edit(
        "emergency_numbers = [\"110\", \"118\", \"119\"]",
        "emergency_numbers = [\"110\", \"911\"]",
    );
    refused_at(
        &text,
        "\"911\"",
        "emergency number '911' must be a three-digit 1XY code",
    );
    let text = edit("outside_trunk = \"carrier\"", "outside_trunk = \"carier\"");
    refused_at(
        &text,
        "\"carier\"",
        "outside_trunk 'carier' is not defined by any [[trunk]]",
    );
}

#[test]
fn pause_reasons_fit_one_digit_and_are_distinct() {
    let text = edit(
        "pause_reasons = [\"休憩\", \"研修\", \"打合せ\", \"事務処理\"]",
        "pause_reasons = [\"休憩\", \"研修\", \"休憩\", \"\"]",
    );
    let errs = errors(&text);
    let line = text[..text.find("pause_reasons = [").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert!(
        errs.iter()
            .any(|e| e.line == line && e.message.contains("'休憩' is listed twice")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.line == line && e.message.contains("cannot be empty")),
        "{errs:#?}"
    );
    let ten: Vec<String> = (1..=10).map(|i| format!("\"r{i}\"")).collect();
    let text = edit(
        "pause_reasons = [\"休憩\", \"研修\", \"打合せ\", \"事務処理\"]",
        &format!("pause_reasons = [{}]", ten.join(", ")),
    );
    refused_at(
        &text,
        "\"r10\"",
        "10 pause reasons, but *23 takes one digit",
    );
}

#[test]
fn fax_number_and_destination() {
    let text = edit("number = \"0246221199\"", "number = \"1199\"");
    refused_at(
        &text,
        "\"1199\"",
        "FAX number '1199' is not a Japanese telephone number",
    );
    let text = edit("number = \"0246221199\"", "number = \"0246-22-1111\"");
    refused_at(&text, "\"0246-22-1111\"", "is also [[number]] '市代表'");
    let text = edit("extension = \"2990\"\ntrunk = \"pbx\"\n", "");
    refused_at(&text, "[fax]", "say where FAXes go");
    let text = edit(
        "extension = \"2990\"\ntrunk = \"pbx\"\n",
        "department = \"fax-room\"\n",
    );
    refused_at(
        &text,
        "\"fax-room\"",
        "FAX department 'fax-room' is not defined",
    );
    let text = edit(
        "extension = \"2990\"\ntrunk = \"pbx\"\n",
        "extension = \"29a0\"\ntrunk = \"pbx9\"\n",
    );
    refused_at(&text, "\"29a0\"", "FAX extension '29a0' must be digits");
    refused_at(&text, "\"pbx9\"", "FAX trunk 'pbx9' is not defined");
}

#[test]
fn outside_calls_must_be_true_or_false() {
    let text = edit(
        "outside_calls = true              # may dial",
        "outside_calls = \"yes\"              # may dial",
    );
    refused_at(&text, "\"yes\"", "invalid type");
}

#[test]
fn a_department_extension_that_is_an_operators_id() {
    let text = edit("extension = \"2301\"", "extension = \"1002\"");
    refused_at(
        &text,
        "\"1002\"\ntrunk = \"pbx\"\noutside_number = \"0246-22-7301\"",
        "department 'hoken-nenkin': extension 1002 is also the id of operator 'オペレーター2'",
    );
}
