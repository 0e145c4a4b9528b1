//! Limits that do not fit each other: a warning of `madoguchi check` (and of `serve` at
//! start), not an error — the switch runs, but refuses calls earlier than `max_calls`
//! says. Each call holds two RTP/RTCP port pairs from its start (one per leg; a waiting
//! caller too), so a range with fewer than `2 × max_calls` pairs is the real limit: when
//! it runs out new calls get 503 (issue 10: at 5x the sustainable rate the 5,000 pairs
//! of the default range ran out before `max_calls = 4000` was reached).

use crate::config::Config;
use crate::spans::Seg::Key;
use crate::spans::{line_col, Seg, SpanIndex};
use crate::ConfigError;

/// What is wrong, when a range of `pairs` RTP pairs (`media::ports::pairs_in` of
/// `[media] rtp_ports`; this crate does not depend on media) cannot carry `max_calls`.
pub fn port_shortfall(cfg: &Config, pairs: usize) -> Option<String> {
    let r = cfg.media.rtp_ports;
    let max = cfg.switch.max_calls;
    let need = u64::from(max) * 2;
    (need > pairs as u64).then(|| {
        format!(
            "max_calls = {max} needs {need} RTP port pairs (two per call) but rtp_ports \
             [{}, {}] holds {pairs}: calls beyond {} are refused with 503; widen \
             [media] rtp_ports or lower max_calls",
            r.first,
            r.last,
            pairs / 2
        )
    })
}

/// A warning about `[media] rtp_ports` found outside the configuration (the host's own
/// port ranges, `media::ephemeral`), at that key's line as `madoguchi check` prints it.
pub fn rtp_ports_warning(text: &str, file_name: &str, why: &str) -> ConfigError {
    warning_at(text, file_name, &[Key("media"), Key("rtp_ports")], why)
}

/// `port_shortfall` at the line of `max_calls`, as `madoguchi check` prints it.
pub fn warnings(cfg: &Config, pairs: usize, text: &str, file_name: &str) -> Vec<ConfigError> {
    port_shortfall(cfg, pairs)
        .map(|why| warning_at(text, file_name, &[Key("switch"), Key("max_calls")], &why))
        .into_iter()
        .collect()
}

fn warning_at(text: &str, file_name: &str, path: &[Seg], why: &str) -> ConfigError {
    let span = SpanIndex::parse(text).span(path);
    let (line, column) = line_col(text, span.start);
    ConfigError {
        file: file_name.to_string(),
        line,
        column,
        message: format!("warning: {why}"),
    }
}
