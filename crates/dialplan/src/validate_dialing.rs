//! Checks of the directory, `[dialing]`, `[fax]` and department numbers: the keys added
//! for operators' calls, transfers and FAX (issue 8). Kept apart from `validate` so each
//! check is its own function; every problem names the value to fix.

use std::collections::HashMap;

use crate::config::Config;
use crate::lookup::normalize_number;
use crate::pattern;
use crate::spans::Seg::{Index, Key};
use crate::validate::{names, Problems};

pub(crate) fn validate(cfg: &Config, p: &mut Problems) {
    department_directory(cfg, p);
    department_numbers(cfg, p);
    dialing(cfg, p);
    fax(cfg, p);
}

/// A national number as `check` accepts it: 0 and 9 or 10 more digits.
fn national(text: &str) -> Option<String> {
    normalize_number(text).filter(|n| n.starts_with('0') && (10..=11).contains(&n.len()))
}

fn department_directory(cfg: &Config, p: &mut Problems) {
    let mut outside: HashMap<String, usize> = HashMap::new();
    for (i, d) in cfg.departments.iter().enumerate() {
        if let Some(first) = cfg.departments[..i]
            .iter()
            .find(|o| o.extension == d.extension && o.trunk == d.trunk)
        {
            p.add(
                &[Key("department"), Index(i), Key("extension")],
                format!(
                    "department '{}': extension {} on trunk '{}' is already department '{}'; \
                     the directory finds a department by its extension, so give each its own",
                    d.name, d.extension, d.trunk, first.name
                ),
            );
        }
        if let Some(agent) = cfg.agent(&d.extension) {
            p.add(
                &[Key("department"), Index(i), Key("extension")],
                format!(
                    "department '{}': extension {} is also the id of operator '{}', so an \
                     operator dialling it cannot reach the department; change one of them",
                    d.name, d.extension, agent.name
                ),
            );
        }
        if let Some(written) = &d.outside_number {
            let path = [Key("department"), Index(i), Key("outside_number")];
            match national(written) {
                None => p.add(
                    &path,
                    format!(
                        "department '{}': outside_number '{written}' is not a Japanese \
                         telephone number; write it with its area code, e.g. \"0246-22-7101\"",
                        d.name
                    ),
                ),
                Some(n) => {
                    if let Some(&first) = outside.get(&n) {
                        p.add(
                            &path,
                            format!(
                                "department '{}': outside_number {written} is already the \
                                 number of department '{}'; remove one",
                                d.name, cfg.departments[first].name
                            ),
                        );
                    } else {
                        outside.insert(n, i);
                    }
                }
            }
        }
        if let Some(h) = d.hours {
            if h.open >= h.close {
                p.add(
                    &[Key("department"), Index(i), Key("hours")],
                    format!(
                        "department '{}' opens at {} but closes at {}; write [OPEN, CLOSE] \
                         with OPEN first, e.g. [\"08:30\", \"17:15\"]",
                        d.name, h.open, h.close
                    ),
                );
            }
        }
    }
}

/// `[[number]] department = …`: a department's own number forwarded to the center.
fn department_numbers(cfg: &Config, p: &mut Problems) {
    for (i, n) in cfg.numbers.iter().enumerate() {
        let Some(dept) = &n.department else { continue };
        if cfg.department(dept).is_none() {
            p.add(
                &[Key("number"), Index(i), Key("department")],
                format!(
                    "number {} ({}) belongs to department '{dept}', which is not defined by any \
                     [[department]]; define it or use one of: {}",
                    n.number,
                    n.name,
                    names(cfg.departments.iter().map(|d| d.name.as_str()))
                ),
            );
        }
    }
}

fn prefixes(p: &mut Problems, key: &'static str, list: &[String]) {
    for (j, prefix) in list.iter().enumerate() {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            p.add(
                &[Key("dialing"), Key(key), Index(j)],
                format!(
                    "{key}: '{prefix}' must be digits of a number in national form, e.g. \
                     \"0570\" (\"+81…\" is written \"0…\")"
                ),
            );
        }
    }
}

fn trunk_ref(cfg: &Config, p: &mut Problems, key: &'static str, name: Option<&String>) {
    let Some(name) = name else { return };
    if cfg.trunk(name).is_none() {
        p.add(
            &[Key("dialing"), Key(key)],
            format!(
                "{key} '{name}' is not defined by any [[trunk]]; define it or use one of: {}",
                names(cfg.trunks.iter().map(|t| t.name.as_str()))
            ),
        );
    }
}

fn dialing(cfg: &Config, p: &mut Problems) {
    let d = &cfg.dialing;
    for (j, pat) in d.extension_patterns.iter().enumerate() {
        if let Err(e) = pattern::check(pat) {
            p.add(
                &[Key("dialing"), Key("extension_patterns"), Index(j)],
                format!("extension pattern '{pat}': {e}"),
            );
        }
    }
    trunk_ref(cfg, p, "extension_trunk", d.extension_trunk.as_ref());
    trunk_ref(cfg, p, "outside_trunk", d.outside_trunk.as_ref());
    prefixes(p, "allow_prefixes", &d.allow_prefixes);
    prefixes(p, "deny_prefixes", &d.deny_prefixes);
    prefixes(p, "callback_allow_prefixes", &d.callback_allow_prefixes);
    prefixes(p, "callback_deny_prefixes", &d.callback_deny_prefixes);
    for (j, e) in d.emergency_numbers.iter().enumerate() {
        if e.len() != 3 || !e.starts_with('1') || !e.bytes().all(|b| b.is_ascii_digit()) {
            p.add(
                &[Key("dialing"), Key("emergency_numbers"), Index(j)],
                format!(
                    "emergency number '{e}' must be a three-digit 1XY code like \"119\" \
                     (電気通信番号計画: 110, 118, 119)"
                ),
            );
        }
    }
    if d.pause_reasons.len() > 9 {
        p.add(
            &[Key("dialing"), Key("pause_reasons"), Index(9)],
            format!(
                "{} pause reasons, but *23 takes one digit (1-9); list at most 9",
                d.pause_reasons.len()
            ),
        );
    }
    for (j, r) in d.pause_reasons.iter().enumerate() {
        let path = [Key("dialing"), Key("pause_reasons"), Index(j)];
        if r.trim().is_empty() {
            p.add(&path, "a pause reason cannot be empty".into());
        } else if d.pause_reasons[..j].contains(r) {
            p.add(
                &path,
                format!("pause reason '{r}' is listed twice; remove one"),
            );
        }
    }
}

fn fax(cfg: &Config, p: &mut Problems) {
    let Some(f) = &cfg.fax else { return };
    match national(&f.number) {
        None => p.add(
            &[Key("fax"), Key("number")],
            format!(
                "FAX number '{}' is not a Japanese telephone number; write it with its area \
                 code, e.g. \"0246221199\"",
                f.number
            ),
        ),
        Some(n) => {
            if let Some(other) = cfg
                .numbers
                .iter()
                .find(|o| normalize_number(&o.number).as_deref() == Some(n.as_str()))
            {
                p.add(
                    &[Key("fax"), Key("number")],
                    format!(
                        "FAX number {} is also [[number]] '{}'; a number goes to one place \
                         only",
                        f.number, other.name
                    ),
                );
            }
        }
    }
    match (&f.department, &f.extension, &f.trunk) {
        (Some(dept), None, None) => {
            if cfg.department(dept).is_none() {
                p.add(
                    &[Key("fax"), Key("department")],
                    format!(
                        "FAX department '{dept}' is not defined by any [[department]]; define \
                         it or use one of: {}",
                        names(cfg.departments.iter().map(|d| d.name.as_str()))
                    ),
                );
            }
        }
        (None, Some(ext), Some(trunk)) => {
            if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_digit()) {
                p.add(
                    &[Key("fax"), Key("extension")],
                    format!("FAX extension '{ext}' must be digits, e.g. \"2990\""),
                );
            }
            if cfg.trunk(trunk).is_none() {
                p.add(
                    &[Key("fax"), Key("trunk")],
                    format!(
                        "FAX trunk '{trunk}' is not defined by any [[trunk]]; define it or use \
                         one of: {}",
                        names(cfg.trunks.iter().map(|t| t.name.as_str()))
                    ),
                );
            }
        }
        _ => p.add(
            &[Key("fax")],
            "say where FAXes go: either department = \"NAME\" (a [[department]]) or \
             extension = \"2990\" with trunk = \"pbx\", not both"
                .into(),
        ),
    }
}
