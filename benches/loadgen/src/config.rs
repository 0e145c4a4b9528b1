//! A private switch configuration for a load run, made from the embedded default the
//! same way `tests/common/mod.rs` does it: text replacement of the listen addresses,
//! the RTP range and the data folder, plus many agents and a high call limit.
//! Text replacement (not a TOML round trip) keeps every other key and comment of the
//! default exactly as the switch's authors wrote them.

use anyhow::{bail, Result};
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

const DEFAULT_TOML: &str = include_str!("../../../dialplans/default.toml");

pub struct ConfigSpec<'a> {
    /// The configuration to start from; `None` = the default compiled into loadgen.
    /// Pass the output of `madoguchi default-config` so the text always matches the
    /// switch binary being measured, even while dialplans/default.toml is being edited.
    pub base: Option<&'a str>,
    pub sip: SocketAddr,
    pub trunk: SocketAddr,
    pub pbx: SocketAddr,
    pub http: SocketAddr,
    pub rtp: (u16, u16),
    pub data_dir: &'a Path,
    pub agents: u32,
    pub max_calls: u32,
}

/// Agent ids are 1001, 1002, …; passwords follow the default's `madoguchi-<id>` rule.
pub fn agent_id(i: u32) -> String {
    (1001 + i).to_string()
}

pub fn agent_password(id: &str) -> String {
    format!("madoguchi-{id}")
}

fn replace_once(text: String, from: &str, to: &str) -> Result<String> {
    // A changed default must fail loudly here, not yield a config on the wrong ports.
    if !text.contains(from) {
        bail!("dialplans/default.toml no longer contains {from:?}; update benches/loadgen/src/config.rs");
    }
    Ok(text.replacen(from, to, 1))
}

/// Replace the value of every `key = …` line (keys used here occur in one table only).
fn set_key(text: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='));
        if is_key && !t.starts_with('#') {
            let _ = writeln!(out, "{key} = {value}  # set by benches/loadgen");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub fn render(spec: &ConfigSpec) -> Result<String> {
    if spec.agents < 4 {
        bail!("--agents must be at least 4 (the default defines 1001..1004)");
    }
    let data = spec.data_dir.join("data");
    let rec = spec.data_dir.join("recordings");
    let mut t = spec.base.unwrap_or(DEFAULT_TOML).to_string();
    t = replace_once(t, "\"127.0.0.1:5060\"", &format!("\"{}\"", spec.sip))?;
    t = replace_once(t, "\"127.0.0.1:5080\"", &format!("\"{}\"", spec.trunk))?;
    t = replace_once(t, "\"127.0.0.1:5082\"", &format!("\"{}\"", spec.pbx))?;
    t = replace_once(t, "\"127.0.0.1:8080\"", &format!("\"{}\"", spec.http))?;
    // Any free port for SIP over TLS: two load runs (or a test's switch on the
    // default's 5061) on one machine must not collide; the generator does not use TLS.
    t = replace_once(t, "\"127.0.0.1:5061\"", "\"127.0.0.1:0\"")?;
    t = replace_once(
        t,
        "[20000, 29999]",
        &format!("[{}, {}]", spec.rtp.0, spec.rtp.1),
    )?;
    t = replace_once(
        t,
        "data_dir = \"data\"",
        &format!("data_dir = \"{}\"", data.display()),
    )?;
    t = replace_once(
        t,
        "recordings_dir = \"recordings\"",
        &format!("recordings_dir = \"{}\"", rec.display()),
    )?;
    t = replace_once(
        t,
        "max_calls = 200",
        &format!("max_calls = {}", spec.max_calls),
    )?;
    // The carrier trunk's channel count is documentation today, but keep it consistent.
    t = replace_once(
        t,
        "channels = 200",
        &format!("channels = {}", spec.max_calls),
    )?;
    // A load run measures the call path, whatever the clock says: open all day every
    // day, no greeting before ringing (the caller's 200 then means an operator answered),
    // no after-call work (otherwise each simulated operator could take one call per
    // wrap-up period). Keys an older switch does not know are left alone.
    for (key, value) in [
        ("weekday", "[\"00:00\", \"24:00\"]"),
        ("weekend_and_holidays", "[\"00:00\", \"24:00\"]"),
        ("closed_dates", "[]"),
        ("greeting", "[]"),
        ("wrapup_secs", "0"),
    ] {
        t = set_key(&t, key, value);
    }
    let ids: Vec<String> = (0..spec.agents).map(agent_id).collect();
    let list = ids
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    t = replace_once(
        t,
        "agents = [\"1001\", \"1002\", \"1003\", \"1004\"]",
        &format!("agents = [{list}]"),
    )?;
    let mut extra = String::from("\n# Simulated operators added by benches/loadgen.\n");
    for id in ids.iter().skip(4) {
        let _ = write!(
            extra,
            "\n[[agent]]\nid = \"{id}\"\nname = \"loadgen {id}\"\npassword = \"{}\"\n",
            agent_password(id)
        );
    }
    t.push_str(&extra);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_agents_and_addresses() {
        let dir = std::path::PathBuf::from("/tmp/x");
        let spec = ConfigSpec {
            base: None,
            sip: "127.0.0.1:1".parse().unwrap(),
            trunk: "127.0.0.1:2".parse().unwrap(),
            pbx: "127.0.0.1:3".parse().unwrap(),
            http: "127.0.0.1:4".parse().unwrap(),
            rtp: (40000, 40999),
            data_dir: &dir,
            agents: 6,
            max_calls: 999,
        };
        let t = render(&spec).unwrap();
        assert!(t.contains("agents = [\"1001\", \"1002\", \"1003\", \"1004\", \"1005\", \"1006\"]"));
        assert!(t.contains("password = \"madoguchi-1006\""));
        assert!(t.contains("max_calls = 999"));
        assert!(t.contains("rtp_ports = [40000, 40999]"));
        assert!(!t.contains("5060"));
        assert!(t.contains("weekday = [\"00:00\", \"24:00\"]"));
        assert!(t.contains("closed_dates = []"));
        assert!(t.contains("wrapup_secs = 0"));
    }
}
