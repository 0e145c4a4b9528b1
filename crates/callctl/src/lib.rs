//! callctl: the call as a sans-IO state machine (DESIGN: one owner per call, time as an
//! input). A `Call` owns its legs (citizen, operator, department, outside party), their
//! SIP dialogs and offer/answer state; it is driven by `handle(input, env, now)` and
//! `handle_timeout`, and drained by `poll_output()`. It reads no clock and touches no
//! socket: the switch's call task is a thin driver that turns outputs into transactions,
//! relay commands and queue messages.
//!
//! Map: `call` (the machine, the inbound leg, ending), `legs` (outbound legs),
//! `waiting` (queue, prompts, overflow, callback key), `transfer` (REFER), `callback`
//! (calling a citizen back), `sdp` (offer/answer per relay side), `msg` (building SIP
//! messages), `io` (inputs, outputs, the `Env` look-ups), `event` (statistics events),
//! `announce` (which prompt files say what), `supervise` (listen, whisper, barge), `survey` (the satisfaction survey).

pub mod announce;
mod call;
mod callback;
pub mod event;
mod inbound;
pub mod io;
mod join;
mod legs;
pub mod msg;
pub mod sdp;
mod setup;
mod state;
mod supervise;
mod survey;
mod transfer;
mod waiting;

pub use call::{Call, CallSetup, Inbound, Plan, Timers};
pub use event::{CallUid, Event, EventKind};
pub use io::{
    AgentOp, Destination, Env, Input, JoinPeer, MediaOut, Output, OverflowTo, QueueOut, Replaces,
    Role, Side, Target,
};
