//! `[cluster]`: this switch is one node of several behind a SIP front proxy (Kamailio's
//! dispatcher, `deploy/kamailio-dispatcher.cfg`). Absent: a single switch, nothing shared.
//! What it shares and why: ARCHITECTURE.md, "Scaling beyond one machine".

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::spans::Seg::Key;
use crate::validate::Problems;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// This node's name, unique among the nodes (its file in `shared_dir`).
    pub node: String,
    /// A folder every node reads and writes (the same disk, or an NFS export mounted
    /// with `noac` so that a node sees the others' files as they are now). Each node
    /// keeps its waiting callers there.
    pub shared_dir: String,
    /// A node whose file has not been refreshed for this long is dead: another node
    /// claims its waiting callers and calls them back.
    #[serde(default = "default_takeover_secs")]
    pub takeover_secs: u32,
}

fn default_takeover_secs() -> u32 {
    10
}

pub(crate) fn validate(cfg: &Config, p: &mut Problems) {
    let Some(c) = &cfg.cluster else { return };
    let ok = !c.node.is_empty()
        && c.node.len() <= 64
        && c.node
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !ok {
        p.add(
            &[Key("cluster"), Key("node")],
            format!(
                "node '{}' must be 1-64 letters, digits, '-' or '_' (it names a file)",
                c.node.escape_debug()
            ),
        );
    }
    if c.shared_dir.trim().is_empty() {
        p.add(
            &[Key("cluster"), Key("shared_dir")],
            "shared_dir must name a folder every node can write".into(),
        );
    }
    // Each node rewrites its file every second: fewer than 3 s would take over a node
    // that is only slow for a moment.
    if c.takeover_secs < 3 {
        p.add(
            &[Key("cluster"), Key("takeover_secs")],
            format!(
                "takeover_secs = {} is too short: at least 3 (a node refreshes its file each second)",
                c.takeover_secs
            ),
        );
    }
}
