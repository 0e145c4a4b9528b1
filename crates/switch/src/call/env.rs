//! The call machine's look-ups, answered from the switch's configuration and its
//! read-mostly state: what an operator dialled, where an agent's phone is, trunk
//! channels. Synchronous and quick: no I/O, short locks only.

use crate::Shared;
use callctl::{AgentOp, Destination, Role, Target};
use std::sync::Arc;

pub struct SwitchEnv {
    shared: Arc<Shared>,
    /// The operator whose own call this is ("" for citizens' calls).
    #[allow(dead_code)]
    agent: String,
}

impl SwitchEnv {
    pub fn new(shared: Arc<Shared>, agent: String) -> SwitchEnv {
        SwitchEnv { shared, agent }
    }
}

/// Feature codes (`*21` log in, `*22` log out, `*23` pause, `*23N` pause with the N-th
/// configured reason, `*24` resume, `*25` end after-call work).
pub fn feature_code(dialled: &str, reasons: &[String]) -> Option<AgentOp> {
    let rest = dialled.strip_prefix('*')?;
    Some(match rest {
        "21" => AgentOp::Login,
        "22" => AgentOp::Logout,
        "23" => AgentOp::Pause(reasons.first().cloned().unwrap_or_else(|| "休憩".into())),
        "24" => AgentOp::Unpause,
        "25" => AgentOp::EndWrapUp,
        r if r.len() == 3 && r.starts_with("23") => {
            let n = r[2..].parse::<usize>().ok()?;
            AgentOp::Pause(reasons.get(n.checked_sub(1)?)?.clone())
        }
        _ => return None,
    })
}

impl callctl::Env for SwitchEnv {
    fn resolve(&self, agent: &str, dialled: &str, _now_unix: u64) -> Target {
        let cfg = &self.shared.cfg;
        let dialled = dialled.trim();
        if let Some(op) = feature_code(dialled, &[]) {
            return Target::Feature { op };
        }
        // A department of the directory, by its extension.
        if let Some(d) = cfg.departments.iter().find(|d| d.extension == dialled) {
            return match self.shared.department_destination(d) {
                Some(dest) => Target::Place {
                    dest,
                    role: Role::Department {
                        name: d.label.clone(),
                    },
                },
                None => refused(503, "部署への回線がありません"),
            };
        }
        // Another extension of the city hall's PBX (4 digits).
        if dialled.len() == 4 && dialled.chars().all(|c| c.is_ascii_digit()) {
            return match self.shared.extension_destination(dialled) {
                Some(dest) => Target::Place {
                    dest,
                    role: Role::Department {
                        name: dialled.to_string(),
                    },
                },
                None => refused(503, "内線への回線がありません"),
            };
        }
        let _ = agent;
        refused(404, "この番号にはおつなぎできません")
    }

    fn acquire_channel(&self, trunk: &str, transfer: bool) -> Result<(), String> {
        self.shared.acquire_channel(trunk, transfer)
    }

    fn agent_phone(&self, agent: &str) -> Option<Destination> {
        self.shared.destination_of(agent)
    }

    fn route_destination(&self, _route: &str) -> Option<Destination> {
        let cfg = &self.shared.cfg;
        let dept = cfg.department(&cfg.hours.after_hours_target)?;
        self.shared.department_destination(dept)
    }

    fn callback_number(&self, caller: &str) -> Result<String, String> {
        let digits: String = caller.chars().filter(|c| c.is_ascii_digit()).collect();
        // A withheld or non-numeric caller id cannot be called back.
        if digits.len() < 10 || !(caller.starts_with('0') || caller.starts_with('+')) {
            return Err("no usable caller number".into());
        }
        Ok(caller.to_string())
    }
}

fn refused(status: u16, reason: &str) -> Target {
    Target::Refused {
        status,
        reason: reason.to_string(),
        prompts: Vec::new(),
    }
}
