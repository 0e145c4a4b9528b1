//! What a call is made with: its plan, the inbound INVITE, timer lengths, identities.

use crate::event::{CallUid, Origin};
use crate::io::{Destination, Role, Target};
use crate::sdp::MediaSetup;
use acd::EntryId;
use sip::transaction::ServerTxId;
use sip::{Peer, Request};
use std::time::{Duration, Instant};

/// What to do with the call.
// One per call, moved once into its task: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Plan {
    /// Answer, greet, wait in the ACD, ring the agents it offers. An empty greeting is a
    /// hunt group: the caller hears ringing until an operator answers.
    Queue {
        queue: String,
        priority: u8,
        greeting: Vec<String>,
        hold_music: String,
    },
    /// Announce (after hours), then connect to a fixed destination (the guard room).
    Forward {
        announce: Vec<String>,
        dest: Option<Destination>,
        role: Role,
    },
    /// An operator's own call: what they dialled, resolved by the core.
    Dial { agent: String, target: Target },
    /// Call a citizen back: ring the agent first, then the citizen, then bridge.
    Callback {
        entry: EntryId,
        agent: String,
        agent_dest: Option<Destination>,
        citizen: Option<Destination>,
        queue: String,
    },
}

/// The inbound INVITE, when there is one.
#[derive(Debug)]
pub struct Inbound {
    pub tx: ServerTxId,
    pub invite: Request,
    pub from: Peer,
}

/// Timer lengths (configuration, not constants, so tests can shorten them).
#[derive(Clone, Debug)]
pub struct Timers {
    /// How long a transfer target or a forward may ring.
    pub transfer_ring: Duration,
    /// How long the operator's phone rings when a failed transfer comes back.
    pub recall_ring: Duration,
    /// How long a callback's citizen may ring.
    pub callback_ring: Duration,
    /// How long an ending call waits for its last answers (BYE, 487).
    pub end_grace: Duration,
    /// After the callback offer of an overflow, how long to wait for the key.
    pub callback_window: Duration,
    /// After the survey question, how long to wait for the rating.
    pub survey_window: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            transfer_ring: Duration::from_secs(25),
            recall_ring: Duration::from_secs(20),
            callback_ring: Duration::from_secs(40),
            end_grace: Duration::from_secs(8),
            callback_window: Duration::from_secs(8),
            survey_window: Duration::from_secs(10),
        }
    }
}

pub struct CallSetup {
    pub uid: CallUid,
    pub origin: Origin,
    /// The trunk the call came in on ("" for an operator's or a callback).
    pub trunk: String,
    /// The dialled line (number in national form, and its name), or the staff line.
    pub line: dialplan::Number,
    /// The calling party: the citizen's number as the trunk asserted it, or the operator.
    pub caller: String,
    /// The trunk channel the inbound leg holds (released when the call ends).
    pub inbound_channel: Option<String>,
    pub inbound: Option<Inbound>,
    pub plan: Plan,
    pub media: MediaSetup,
    /// The instant and unix milliseconds the events' clock starts from.
    pub epoch: (Instant, u64),
    pub timers: Timers,
    /// `Max-Forwards` left for the legs we create (RFC 7332 loop detection).
    pub max_forwards: u32,
    /// The center's main number, shown to outside parties of operators' calls.
    pub center: Option<dialplan::Number>,
}
