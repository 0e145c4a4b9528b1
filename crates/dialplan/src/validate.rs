//! Checks that need more than one value: references between tables, duplicates,
//! ranges. Each problem names the path of the value to fix and says how to fix it
//! (DESIGN.md principle 6: configuration explains itself).

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::config::{Config, DailyHours};
use crate::lookup::normalize_number;
use crate::spans::Seg::{self, Index, Key};
use crate::values::TrunkKind;

/// A semantic error: where (a path into the file) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
}

#[derive(Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn add(&mut self, path: &[Seg], message: String) {
        self.0.push(Problem {
            path: path.to_vec(),
            message,
        });
    }
}

/// Every problem of `cfg`, in file order of the tables.
pub(crate) fn validate(cfg: &Config) -> Vec<Problem> {
    let mut p = Problems::default();
    switch_and_sip(cfg, &mut p);
    media(cfg, &mut p);
    trunks(cfg, &mut p);
    listeners(cfg, &mut p);
    numbers(cfg, &mut p);
    queues(cfg, &mut p);
    agents(cfg, &mut p);
    hours(cfg, &mut p);
    departments(cfg, &mut p);
    staff_line(cfg, &mut p);
    recording(cfg, &mut p);
    crate::validate_dialing::validate(cfg, &mut p);
    crate::config_cluster::validate(cfg, &mut p);
    p.0
}

/// Reports the second and later uses of a name in a list of tables.
fn duplicates<'a>(
    p: &mut Problems,
    table: &'static str,
    key: &'static str,
    names: impl Iterator<Item = &'a str>,
) {
    let mut seen = HashMap::new();
    for (i, name) in names.enumerate() {
        if let Some(&first) = seen.get(name) {
            p.add(
                &[Key(table), Index(i), Key(key)],
                format!(
                    "{key} '{name}' is already used by [[{table}]] number {}; \
                     each {table} needs its own {key}",
                    first + 1
                ),
            );
        } else {
            seen.insert(name, i);
        }
    }
}

fn switch_and_sip(cfg: &Config, p: &mut Problems) {
    if cfg.switch.max_calls == 0 {
        p.add(
            &[Key("switch"), Key("max_calls")],
            "max_calls must be at least 1".into(),
        );
    }
    if cfg.sip.listen.is_empty() {
        p.add(
            &[Key("sip"), Key("listen")],
            "list at least one address for softphones, e.g. [\"0.0.0.0:5060\"]".into(),
        );
    }
    if cfg.sip.domain.trim().is_empty() {
        p.add(
            &[Key("sip"), Key("domain")],
            "write the SIP domain (the digest realm)".into(),
        );
    }
    if cfg.sip.tls_cert.is_some() != cfg.sip.tls_key.is_some() {
        let key = if cfg.sip.tls_cert.is_some() {
            "tls_cert"
        } else {
            "tls_key"
        };
        p.add(
            &[Key("sip"), Key(key)],
            "set both tls_cert and tls_key (PEM files), or neither for a generated \
             self-signed certificate"
                .into(),
        );
    }
    // RFC 3261 §18.1.1: a UA must accept requests up to the path MTU (about 1300 bytes);
    // UDP cannot carry more than 65535.
    if !(1300..=65535).contains(&cfg.sip.max_message_bytes) {
        p.add(
            &[Key("sip"), Key("max_message_bytes")],
            "max_message_bytes must be between 1300 and 65535".into(),
        );
    }
}

fn recording(cfg: &Config, p: &mut Problems) {
    let r = &cfg.recording;
    if r.retention_days == 0 {
        p.add(
            &[Key("recording"), Key("retention_days")],
            "retention_days must be at least 1 (the city keeps recordings 92 days)".into(),
        );
    }
    if !(1..=64).contains(&r.disk_threads) {
        p.add(
            &[Key("recording"), Key("disk_threads")],
            "disk_threads must be between 1 and 64 (8 unless benches/README.md says \
             otherwise for your disk)"
                .into(),
        );
    }
}

fn media(cfg: &Config, p: &mut Problems) {
    let path = [Key("media"), Key("rtp_ports")];
    let r = cfg.media.rtp_ports;
    if r.first >= r.last {
        p.add(
            &path,
            format!(
                "rtp_ports [{}, {}] is empty or inverted; write [FIRST, LAST] with FIRST below \
                 LAST, e.g. [20000, 29999]",
                r.first, r.last
            ),
        );
    } else if r.first % 2 == 1 {
        p.add(
            &path,
            format!(
                "rtp_ports must start on an even port (RTP is even, RTCP the odd port above); \
                 write {} instead of {}",
                r.first + 1,
                r.first
            ),
        );
    } else if r.first < 1024 {
        p.add(
            &path,
            "rtp_ports must start at 1024 or above (unprivileged ports)".into(),
        );
    }
    if cfg.media.codecs.is_empty() {
        p.add(
            &[Key("media"), Key("codecs")],
            "list at least one codec, e.g. [\"PCMU\"]".into(),
        );
    }
    if cfg.media.address.is_unspecified() {
        p.add(
            &[Key("media"), Key("address")],
            format!(
                "address {} goes into SDP, where peers send their audio; write an address \
                 they can reach",
                cfg.media.address
            ),
        );
    }
}

fn trunks(cfg: &Config, p: &mut Problems) {
    duplicates(
        p,
        "trunk",
        "name",
        cfg.trunks.iter().map(|t| t.name.as_str()),
    );
    for (i, t) in cfg.trunks.iter().enumerate() {
        if t.name.trim().is_empty() {
            p.add(
                &[Key("trunk"), Index(i), Key("name")],
                "give the trunk a name".into(),
            );
        }
        if t.peers.is_empty() {
            p.add(
                &[Key("trunk"), Index(i), Key("peers")],
                format!(
                    "trunk '{}' accepts no source address; list its peers, e.g. [\"192.0.2.0/24\"]",
                    t.name
                ),
            );
        }
        if t.channels == 0 {
            p.add(
                &[Key("trunk"), Index(i), Key("channels")],
                format!("trunk '{}' needs at least 1 channel", t.name),
            );
        } else if t.reserve_for_transfers >= t.channels {
            p.add(
                &[Key("trunk"), Index(i), Key("reserve_for_transfers")],
                format!(
                    "trunk '{}' reserves {} of its {} channels for transfers, leaving none for \
                     calls; reserve fewer",
                    t.name, t.reserve_for_transfers, t.channels
                ),
            );
        }
    }
}

/// Two sockets that would fight over one port. A wildcard address (0.0.0.0, ::) takes
/// the port on every address, so it overlaps any other listener on that port; TCP and
/// UDP are not told apart because SIP listens on both. Port 0 asks the kernel for a
/// free port, a different one for each listener, so it overlaps nothing (the switch
/// prints the ports it bound; the tests rely on that).
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn listeners(cfg: &Config, p: &mut Problems) {
    let mut all: Vec<(SocketAddr, Vec<Seg>, String)> = Vec::new();
    for (j, a) in cfg.sip.listen.iter().enumerate() {
        all.push((
            *a,
            vec![Key("sip"), Key("listen"), Index(j)],
            "the [sip] listener".into(),
        ));
    }
    for (j, a) in cfg.sip.tls_listen.iter().enumerate() {
        all.push((
            *a,
            vec![Key("sip"), Key("tls_listen"), Index(j)],
            "the [sip] TLS listener".into(),
        ));
    }
    all.push((
        cfg.http.listen,
        vec![Key("http"), Key("listen")],
        "the [http] listener".into(),
    ));
    for (i, t) in cfg.trunks.iter().enumerate() {
        let what = format!("trunk '{}'", t.name);
        all.push((t.listen, vec![Key("trunk"), Index(i), Key("listen")], what));
    }
    for (k, (addr, path, _)) in all.iter().enumerate() {
        if let Some((other, _, what)) = all[..k].iter().find(|(o, _, _)| overlaps(*o, *addr)) {
            p.add(
                path,
                format!(
                    "{addr} overlaps {other} of {what}; each listener needs its own address \
                     and port (a trunk is known by the listener its packets arrive on)"
                ),
            );
        }
    }
}

fn numbers(cfg: &Config, p: &mut Problems) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, n) in cfg.numbers.iter().enumerate() {
        let path = [Key("number"), Index(i), Key("number")];
        match normalize_number(&n.number) {
            Some(national) if national.starts_with('0') && (10..=11).contains(&national.len()) => {
                if let Some(&first) = seen.get(&national) {
                    p.add(
                        &path,
                        format!(
                            "number {} is already listed as '{}'; a number can go to one place \
                             only, remove one of them",
                            n.number, cfg.numbers[first].name
                        ),
                    );
                } else {
                    seen.insert(national, i);
                }
            }
            _ => p.add(
                &path,
                format!(
                    "'{}' is not a Japanese telephone number; write it in national form with \
                     its area code, e.g. \"0246221111\"",
                    n.number
                ),
            ),
        }
        if n.name.trim().is_empty() {
            p.add(
                &[Key("number"), Index(i), Key("name")],
                format!(
                    "number {} needs a name: operators see it (spec 第2-7 ⑴ ア)",
                    n.number
                ),
            );
        }
        if cfg.queue(&n.queue).is_none() {
            p.add(
                &[Key("number"), Index(i), Key("queue")],
                format!(
                    "number {} ({}) goes to queue '{}', which is not defined by any [[queue]]; \
                     define it or use one of: {}",
                    n.number,
                    n.name,
                    n.queue,
                    names(cfg.queues.iter().map(|q| q.name.as_str()))
                ),
            );
        }
    }
}

pub(crate) fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = it.map(|n| format!("'{n}'")).collect();
    if list.is_empty() {
        "(none defined)".into()
    } else {
        list.join(", ")
    }
}

fn queues(cfg: &Config, p: &mut Problems) {
    duplicates(
        p,
        "queue",
        "name",
        cfg.queues.iter().map(|q| q.name.as_str()),
    );
    for (i, q) in cfg.queues.iter().enumerate() {
        if q.agents.is_empty() {
            p.add(
                &[Key("queue"), Index(i), Key("agents")],
                format!(
                    "queue '{}' has no agents; list at least one agent id",
                    q.name
                ),
            );
        }
        for (j, id) in q.agents.iter().enumerate() {
            let path = [Key("queue"), Index(i), Key("agents"), Index(j)];
            if cfg.agent(id).is_none() {
                p.add(
                    &path,
                    format!(
                        "queue '{}' lists agent '{id}', which is not defined by any [[agent]]; \
                         define it or remove it from the list",
                        q.name
                    ),
                );
            } else if q.agents[..j].contains(id) {
                p.add(
                    &path,
                    format!("queue '{}' lists agent '{id}' twice; remove one", q.name),
                );
            }
        }
        if q.ring_timeout_secs == 0 {
            p.add(
                &[Key("queue"), Index(i), Key("ring_timeout_secs")],
                format!("queue '{}': ring_timeout_secs must be at least 1", q.name),
            );
        }
        overflow(cfg, i, p);
    }
}

/// A queue's limits and where they send callers. Checked here rather than only by the
/// ACD so that `madoguchi check` reports them with the others, at their line.
fn overflow(cfg: &Config, i: usize, p: &mut Problems) {
    let q = &cfg.queues[i];
    let Some(to) = q.overflow.as_deref() else {
        let limit = if q.max_wait_secs > 0 {
            Some("max_wait_secs")
        } else if q.max_len > 0 {
            Some("max_len")
        } else {
            None
        };
        if let Some(key) = limit {
            p.add(
                &[Key("queue"), Index(i), Key(key)],
                format!(
                    "queue '{}' sets {key} but no overflow; add overflow = \"after-hours\", \
                     \"callback\" or \"queue:NAME\" to say where those callers go",
                    q.name
                ),
            );
        }
        return;
    };
    let path = [Key("queue"), Index(i), Key("overflow")];
    let Some(target) = to.strip_prefix("queue:") else {
        if to != "after-hours" && to != "callback" {
            p.add(
                &path,
                format!(
                    "queue '{}': overflow '{to}' is unknown; use \"after-hours\", \"callback\" \
                     or \"queue:NAME\"",
                    q.name
                ),
            );
        }
        return;
    };
    if cfg.queues.iter().all(|o| o.name != target) {
        p.add(
            &path,
            format!(
                "queue '{}' overflows to queue '{target}', which is not defined by any [[queue]]",
                q.name
            ),
        );
        return;
    }
    // Follow the chain: a loop (a → b → a) would bounce callers forever once all are full.
    let mut chain = vec![q.name.as_str()];
    let mut next = Some(target);
    while let Some(name) = next {
        if chain.contains(&name) {
            chain.push(name);
            p.add(
                &path,
                format!(
                    "queue overflow loops ({}); end the chain with \"after-hours\" or \"callback\"",
                    chain.join(" → ")
                ),
            );
            return;
        }
        chain.push(name);
        next = cfg
            .queues
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.overflow.as_deref())
            .and_then(|o| o.strip_prefix("queue:"));
    }
}

fn agents(cfg: &Config, p: &mut Problems) {
    duplicates(p, "agent", "id", cfg.agents.iter().map(|a| a.id.as_str()));
    for (i, a) in cfg.agents.iter().enumerate() {
        // The id is the SIP user name and the digest user name: keep it URI-safe.
        let id_ok = !a.id.is_empty()
            && a.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !id_ok {
            p.add(
                &[Key("agent"), Index(i), Key("id")],
                format!(
                    "agent id '{}' is the softphone's SIP user name; use only letters, digits, \
                     '.', '_' and '-'",
                    a.id
                ),
            );
        }
        // No password is fine: `serve` generates one (see `passwords`).
    }
}

fn daily_hours(p: &mut Problems, key: &'static str, h: DailyHours) {
    if h.open >= h.close {
        p.add(
            &[Key("hours"), Key(key)],
            format!(
                "{key} opens at {} but closes at {}; write [OPEN, CLOSE] with OPEN first",
                h.open, h.close
            ),
        );
    }
}

fn hours(cfg: &Config, p: &mut Problems) {
    let h = &cfg.hours;
    // UTC-12:00 to UTC+14:00 are the offsets in use anywhere.
    if !(-720..=840).contains(&h.timezone_offset_minutes) {
        p.add(
            &[Key("hours"), Key("timezone_offset_minutes")],
            "timezone_offset_minutes must be between -720 and 840 (JST is 540)".into(),
        );
    }
    daily_hours(p, "weekday", h.weekday);
    daily_hours(p, "weekend_and_holidays", h.weekend_and_holidays);
    for (i, d) in h.closed_dates.iter().enumerate() {
        if h.closed_dates[..i].contains(d) {
            p.add(
                &[Key("hours"), Key("closed_dates"), Index(i)],
                format!("closed date {d} is listed twice; remove one"),
            );
        }
    }
    if cfg.department(&h.after_hours_target).is_none() {
        p.add(
            &[Key("hours"), Key("after_hours_target")],
            format!(
                "after_hours_target '{}' is not defined by any [[department]]; define it or use \
                 one of: {}",
                h.after_hours_target,
                names(cfg.departments.iter().map(|d| d.name.as_str()))
            ),
        );
    }
}

fn departments(cfg: &Config, p: &mut Problems) {
    duplicates(
        p,
        "department",
        "name",
        cfg.departments.iter().map(|d| d.name.as_str()),
    );
    for (i, d) in cfg.departments.iter().enumerate() {
        let dialable = |c: char| c.is_ascii_digit() || "*#+".contains(c);
        if d.extension.is_empty() || !d.extension.chars().all(dialable) {
            p.add(
                &[Key("department"), Index(i), Key("extension")],
                format!(
                    "department '{}': extension '{}' must be digits (an extension or outside \
                     number)",
                    d.name, d.extension
                ),
            );
        }
        if cfg.trunk(&d.trunk).is_none() {
            p.add(
                &[Key("department"), Index(i), Key("trunk")],
                format!(
                    "department '{}' is reached over trunk '{}', which is not defined by any \
                     [[trunk]]; define it or use one of: {}",
                    d.name,
                    d.trunk,
                    names(cfg.trunks.iter().map(|t| t.name.as_str()))
                ),
            );
        }
    }
}

fn staff_line(cfg: &Config, p: &mut Problems) {
    let Some(s) = &cfg.staff_line else { return };
    if s.code.is_empty() || s.code.len() > 8 || !s.code.bytes().all(|b| b.is_ascii_digit()) {
        p.add(
            &[Key("staff_line"), Key("code")],
            format!(
                "staff_line code '{}' must be a few digits, e.g. \"9\"",
                s.code
            ),
        );
    }
    if cfg.queue(&s.queue).is_none() {
        p.add(
            &[Key("staff_line"), Key("queue")],
            format!(
                "staff_line goes to queue '{}', which is not defined by any [[queue]]; define it \
                 or use one of: {}",
                s.queue,
                names(cfg.queues.iter().map(|q| q.name.as_str()))
            ),
        );
    }
    if !cfg.trunks.iter().any(|t| t.kind == TrunkKind::Pbx) {
        p.add(
            &[Key("staff_line")],
            "staff dial the staff_line code from the city hall PBX, but no [[trunk]] has \
             kind = \"pbx\"; add one or remove [staff_line]"
                .into(),
        );
    }
}
