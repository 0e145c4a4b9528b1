//! The machine's own state types: where the call is, what follows a prompt, the legs.

use crate::io::{Destination, Role, Side};
use crate::sdp::SideState;
use sip::dialog::Dialog;
use sip::transaction::ServerTxId;
use sip::{Peer, Request};
use std::time::Instant;

/// Where the call is, for decisions and for abandon statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Greeting,
    Queue,
    Forward,
    Talking,
    /// A transfer target rings; the citizen hears hold music (or the operator).
    Transferring,
    /// The operator has left; the citizen is asked to rate the call (`survey.rs`).
    Survey,
    Ending,
}

/// What happens when the current prompt ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterPlay {
    Enqueue,
    HoldMusic,
    Forward,
    HangUp,
    /// The overflow's callback offer: wait a little for the key, then say goodbye.
    CallbackWindow,
    /// The survey question: wait a little for the rating, then say goodbye.
    SurveyWindow,
    Nothing,
}

#[derive(Debug)]
pub(crate) struct InLeg {
    pub tx: ServerTxId,
    pub invite: Request,
    pub from: Peer,
    pub tag: String,
    pub dialog: Option<Dialog>,
    pub final_sent: bool,
    pub answered: bool,
    pub ringing_sent: bool,
    /// The INVITE had no SDP: our 2xx carries the offer, the ACK the answer (§13.2.1).
    pub late_offer: bool,
    pub sdp: SideState,
    pub gone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The ACD offered the call to this operator.
    Offer,
    Forward,
    /// An operator's own call.
    Dial,
    TransferTarget,
    /// The operator again, after a transfer failed.
    Recall,
    CallbackAgent,
    CallbackCitizen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegState {
    Ringing,
    Up,
    /// CANCEL sent; its 487 (or a 200 that crossed it) has still to come.
    Cancelling,
    /// BYE sent, or the far end hung up.
    Gone,
}

#[derive(Debug)]
pub(crate) struct OutLeg {
    pub role: Role,
    pub side: Side,
    pub purpose: Purpose,
    pub dest: Destination,
    pub invite: Request,
    pub branch: String,
    pub dialog: Option<Dialog>,
    /// The ACK we sent for its 2xx, re-sent for each retransmitted 2xx (§13.2.2.4).
    pub ack: Option<bytes::Bytes>,
    pub state: LegState,
    pub deadline: Option<Instant>,
    pub sdp: SideState,
    /// The trunk channel this leg holds.
    pub channel: Option<String>,
    /// The operator on this leg has been noted as gone (wrap-up started).
    pub left: bool,
}
