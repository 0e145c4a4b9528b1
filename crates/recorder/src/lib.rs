//! Call recording for madoguchi: every answered call becomes one crash-safe 8 kHz
//! stereo WAV (caller left, center right), catalogued in SQLite, kept for the city's
//! retention period and deleted only after an approval, and playable by supervisors
//! from the web. See `README.md` for how the switch wires it in.
//!
//! Modules, one idea each:
//! - `timeline`: where a 20 ms frame goes (arrival slots; sans-IO)
//! - `wav`: the header kept valid while the file grows, and its repair
//! - `writer`: one call's writer task and its disk jobs
//! - `disk_jobs`: the fixed threads those disk jobs run on
//! - `recorder`: configuration and `start_call`
//! - `repair`: start-up repair of files a crash left behind
//! - `catalogue`: the SQLite tables (recordings, requests, audit)
//! - `commit`: group commit of the per-call rows (many rows per fsync)
//! - `retention`: due → request → approval → tombstone
//! - `auth`, `http`: supervisors' login and the web pages / JSON API
//! - `cli`: plain functions behind `madoguchi recordings …`

pub mod auth;
pub mod catalogue;
pub mod cli;
mod commit;
pub mod disk;
mod disk_jobs;
pub mod error;
pub mod http;
mod recorder;
mod repair;
mod retention;
pub mod stats;
pub mod time;
pub mod timeline;
pub mod wav;
mod writer;

pub use catalogue::{AuditEntry, Catalogue, RecordingRow, SearchFilter, State};
pub use error::{RecorderError, Result};
pub use recorder::{CallMeta, FreeSpaceFn, Recorder, RecorderConfig};
pub use repair::RepairReport;
pub use retention::{Approval, DeletionRequest};
pub use stats::StatsSnapshot;
pub use writer::{RecordingHandle, RecordingInfo};
