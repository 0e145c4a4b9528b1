//! Media for madoguchi: G.711, RTP/RTCP, RFC 4733 DTMF, SDP offer/answer, RTP port
//! allocation, the per-call RTP relay with prompt playback, and test tones.
//!
//! Plain logic first (`g711`, `rtp`, `dtmf`, `sdp`, `forward`), then the thin tokio
//! layer around it (`ports`, `relay`). See `relay` for the header, RTCP and
//! prompt policies.

pub mod dtmf;
pub mod ephemeral;
pub mod forward;
pub mod g711;
pub mod mix;
pub mod monitor;
pub mod ports;
pub mod prompt;
pub mod relay;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod srtp;
pub mod stats;
pub mod threads;
pub mod tone;

pub use forward::{Leg, LegConfig, LegStats, RelayStats};
pub use g711::Codec;
pub use ports::{PortAllocator, PortError, PortLease, PortPair};
pub use prompt::{PlaybackHandle, PlaybackOutcome, Prompt, PromptError};
pub use relay::{DtmfDigit, Relay, RelayHandle, Tap, TapFrame};
pub use sdp::{Direction, Negotiated, SdpError, SessionDescription};
