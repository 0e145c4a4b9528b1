//! Trunk channel accounting (spec 第2-7 ⑴ エ・オ): the PBX trunk carries 48 calls (two
//! PRI spans), and the center keeps `reserve_for_transfers` of them free for operators'
//! transfers, so a busy hour of inbound calls cannot leave an operator unable to hand a
//! citizen on to a department.
//!
//! Rule: a transfer may take any free channel; an inbound or outbound call is refused
//! when taking it would leave fewer than `reserve_for_transfers` channels free. With 48
//! channels and a reserve of 4, calls alone fill 44 and the last 4 go to transfers only.
//! Sans-IO: the switch acquires before it sends an INVITE on a trunk (or answers
//! one from it) and releases when the leg ends.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::Config;

/// What a channel is taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Use {
    /// A call arriving on the trunk.
    Inbound,
    /// A call an operator places (or a callback).
    Outbound,
    /// The outgoing leg of a transfer (blind, or an attended consult call).
    Transfer,
}

/// A channel held; give it back with `Channels::release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// No channel for this use: all busy, or only the transfer reserve left.
    #[error("trunk {trunk}: {in_use} of {limit} channels in use, none free for this call")]
    Full {
        trunk: String,
        in_use: u32,
        limit: u32,
    },
    #[error("trunk {trunk} is not configured")]
    UnknownTrunk { trunk: String },
}

/// One trunk's figures (for metrics and the wallboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrunkUsage {
    pub trunk: String,
    pub in_use: u32,
    pub transfers: u32,
    pub limit: u32,
    pub reserve_for_transfers: u32,
}

#[derive(Debug, Clone)]
struct Trunk {
    name: String,
    limit: u32,
    reserve: u32,
    in_use: u32,
    transfers: u32,
}

/// The channels in use on every configured trunk.
#[derive(Debug, Clone)]
pub struct Channels {
    trunks: Vec<Trunk>,
    held: HashMap<ChannelId, (usize, Use)>,
    next: u64,
}

impl Channels {
    pub fn new(cfg: &Config) -> Channels {
        Channels {
            trunks: cfg
                .trunks
                .iter()
                .map(|t| Trunk {
                    name: t.name.clone(),
                    limit: t.channels,
                    reserve: t.reserve_for_transfers.min(t.channels),
                    in_use: 0,
                    transfers: 0,
                })
                .collect(),
            held: HashMap::new(),
            next: 0,
        }
    }

    /// Takes a channel on `trunk` for `use_`, or says why not.
    pub fn try_acquire(&mut self, trunk: &str, use_: Use) -> Result<ChannelId, ChannelError> {
        let Some(i) = self.trunks.iter().position(|t| t.name == trunk) else {
            return Err(ChannelError::UnknownTrunk {
                trunk: trunk.to_string(),
            });
        };
        let t = &mut self.trunks[i];
        let free = t.limit - t.in_use;
        let needed = match use_ {
            Use::Transfer => 1,
            // This call, and the reserve left free after it.
            Use::Inbound | Use::Outbound => 1 + t.reserve,
        };
        if free < needed {
            return Err(ChannelError::Full {
                trunk: t.name.clone(),
                in_use: t.in_use,
                limit: t.limit,
            });
        }
        t.in_use += 1;
        if use_ == Use::Transfer {
            t.transfers += 1;
        }
        let id = ChannelId(self.next);
        self.next += 1;
        self.held.insert(id, (i, use_));
        Ok(id)
    }

    /// Gives `id` back; false if it was not held (released twice, or never acquired),
    /// which changes nothing.
    pub fn release(&mut self, id: ChannelId) -> bool {
        let Some((i, use_)) = self.held.remove(&id) else {
            return false;
        };
        let t = &mut self.trunks[i];
        t.in_use -= 1;
        if use_ == Use::Transfer {
            t.transfers -= 1;
        }
        true
    }

    /// Channels in use on `trunk` (0 for an unknown trunk).
    pub fn in_use(&self, trunk: &str) -> u32 {
        self.trunks
            .iter()
            .find(|t| t.name == trunk)
            .map_or(0, |t| t.in_use)
    }

    /// Every trunk's figures, in configuration order.
    pub fn usage(&self) -> Vec<TrunkUsage> {
        self.trunks
            .iter()
            .map(|t| TrunkUsage {
                trunk: t.name.clone(),
                in_use: t.in_use,
                transfers: t.transfers,
                limit: t.limit,
                reserve_for_transfers: t.reserve,
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
