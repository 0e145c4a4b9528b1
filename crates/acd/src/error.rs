//! Errors, worded so the HTTP API can pass them to the operator as they are.

use crate::types::{AgentStatus, EntryId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("there is no queue named {0:?}")]
    UnknownQueue(String),
    #[error("there is no agent {0:?}")]
    UnknownAgent(String),
    #[error("entry {0} is not waiting in any queue (answered, abandoned or overflowed already?)")]
    UnknownEntry(EntryId),
    #[error("agent {agent:?} is {status}, so they cannot {action}")]
    AgentState {
        agent: String,
        status: AgentStatus,
        action: &'static str,
    },
    #[error("entry {entry} is not ringing agent {agent:?} (the offer may have timed out)")]
    NotOffered { entry: EntryId, agent: String },
    #[error("entry {0} is ringing an agent; a callback can only be asked for while waiting")]
    EntryRinging(EntryId),
    #[error("entry {0} is already a callback")]
    AlreadyCallback(EntryId),
    #[error("the ACD configuration is wrong: {0}")]
    Config(String),
}
