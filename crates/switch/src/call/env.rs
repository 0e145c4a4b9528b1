//! The call machine's look-ups, answered from the switch's configuration and its
//! read-mostly state: what an operator dialled, where an agent's phone is, trunk
//! channels. Synchronous and quick: no I/O, short locks only.

use crate::Shared;
use callctl::{AgentOp, Destination, Role, Target};
use dialplan::dial::{Dial, Feature};
use dialplan::directory;
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

impl callctl::Env for SwitchEnv {
    /// What an operator dialled (or named in a REFER), by the dialplan's rules: feature
    /// codes, the directory (refused with the reason outside its hours), extensions over
    /// the PBX, outside numbers with the operator's permission and the toll-fraud rules.
    fn resolve(&self, agent: &str, dialled: &str, now_unix: u64) -> Target {
        let sh = &self.shared;
        let cfg = &sh.cfg;
        match dialplan::dial::classify(cfg, agent, dialled.trim()) {
            Dial::Feature(f) => Target::Feature {
                op: match f {
                    Feature::Login => AgentOp::Login,
                    Feature::Logout => AgentOp::Logout,
                    Feature::Pause { reason } => {
                        AgentOp::Pause(reason.unwrap_or_else(|| "休憩".into()))
                    }
                    Feature::Resume => AgentOp::Unpause,
                    Feature::EndWrapUp => AgentOp::EndWrapUp,
                },
            },
            Dial::Extension {
                extension,
                trunk,
                department,
            } => {
                let label = department
                    .as_ref()
                    .map(|d| d.label.clone())
                    .unwrap_or_else(|| extension.clone());
                if let Some(d) = &department {
                    if let Err(closed) = directory::is_open(cfg, &sh.calendar, d, now_unix) {
                        // Outside its office hours (第3-1 ⑵ イ): refused with the reason.
                        return refused(480, &directory::closed_message_ja(d, &closed));
                    }
                }
                match sh.trunk_destination(&trunk, &extension, &label) {
                    Some(dest) => Target::Place {
                        dest,
                        role: Role::Department { name: label },
                    },
                    None => refused(503, "内線への回線がありません"),
                }
            }
            Dial::Outside { national, trunk } => {
                match sh.trunk_destination(&trunk, &national, &national) {
                    Some(dest) => Target::Place {
                        dest,
                        role: Role::Outside { number: national },
                    },
                    None => refused(503, "外線への回線がありません"),
                }
            }
            Dial::Refused { status, reason_ja } => refused(status, &reason_ja),
            Dial::Supervise { agent, mode } => Target::Supervise { agent, mode },
        }
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

    /// Toll fraud (issue 9): national fixed and mobile numbers only, by the dialplan.
    fn callback_number(&self, caller: &str) -> Result<String, String> {
        dialplan::dial::callback_number_allowed(&self.shared.cfg, caller).map_err(|e| e.reason_ja)
    }
}

fn refused(status: u16, reason: &str) -> Target {
    Target::Refused {
        status,
        reason: reason.to_string(),
        prompts: Vec::new(),
    }
}
