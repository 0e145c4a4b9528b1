//! dialplan: the configuration model and its validation, the calendar (Japanese
//! national holidays, the year-end closure, manual night mode and emergency
//! extension) and the routing decision for inbound calls.
//!
//! Everything here is sans-IO except `load` (reads the file) and `persist` (keeps the
//! manual state): the time is always a parameter, so a test can run a whole year of
//! routing decisions in milliseconds.
//!
//! Map:
//! - `config`, `values`: the types of `dialplans/default.toml`;
//! - `load`, `validate`, `spans`: reading a file, with FILE:LINE:COL errors;
//! - `passwords`: weak operators' passwords (`madoguchi check`);
//! - `lookup`: which number was dialled, which trunk a packet came from;
//! - `civil`, `holidays`, `calendar`: dates, national holidays, opening hours;
//! - `override`, `persist`: night mode and extension, audited and saved;
//! - `route`: the decision itself.

pub mod calendar;
pub mod capacity;
pub mod channels;
pub mod civil;
pub mod config;
mod config_cluster;
mod config_dialing;
pub mod dial;
pub mod directory;
pub mod holidays;
mod identity;
pub mod load;
pub mod lookup;
pub mod numbering;
pub mod r#override;
pub mod passwords;
mod pattern;
pub mod persist;
pub mod route;
mod spans;
mod validate;
mod validate_dialing;
pub mod values;

pub use calendar::{Calendar, DayKind};
pub use civil::{Date, LocalDateTime, Weekday};
pub use config::{
    Agent, Cluster, Config, DailyHours, Department, Dialing, Fax, Hours, Http, Media, Number,
    OfficeDays, PortRange, Queue, Sip, StaffLine, Switch, TlsSrtp, Trunk,
};
pub use holidays::{holiday_name, holidays_in_year, is_holiday};
pub use load::{check, default_config, load, parse, ConfigError, DEFAULT_FILE_NAME, DEFAULT_TOML};
pub use lookup::normalize_number;
pub use persist::{append_audit, read_audit, PersistError, StateStore, AUDIT_FILE, STATE_FILE};
pub use r#override::{AuditAction, AuditRecord, OpenState, OperatingState, OverrideError};
pub use route::{route_inbound, Route, AFTER_HOURS_PROMPT};
pub use values::{Cidr, ClockTime, Codec, MonthDay, Strategy, TrunkKind};
