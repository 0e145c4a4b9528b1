//! Statistics of the call center (issue 15): call records built from call control's typed
//! events, their SQLite store, the city's service indicators exactly per the
//! specification (第1-8, 第3-4, 第3-5), reports (xlsx with charts, CSV), Prometheus
//! metrics, and the live wallboard's state.
//!
//! The record builder and the formulas are sans-IO: they take events, records and dates,
//! never read a clock.

pub mod builder;
pub mod kpi;
pub mod look;
pub mod metrics;
pub mod period;
pub mod record;
pub mod report;
pub mod service;
pub mod store;
pub mod wallboard;

pub use builder::Recorder;
pub use kpi::{Breakdown, Tally};
pub use period::Period;
pub use record::{CallRecord, Outcome};
pub use service::{StatsConfig, StatsHandle};
pub use store::{Store, StoreError};
