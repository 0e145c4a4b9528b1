//! Changes to the regular hours made by hand from the center:
//! - night mode (spec 第2-7 ⑵ ク): operators switch to the after-hours announcement and
//!   forwarding to the guard room themselves, e.g. when the last operator leaves;
//! - extension (第1-4 ⑶ ウ, 第3-11 ⑵): in a disaster the city may ask the center to stay
//!   open past closing time.
//!
//! Every change returns an audit record (who, when, what), because who turned off the
//! center's answering matters afterwards. Pure: the clock is a parameter; files are in
//! `persist`.

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::civil::LocalDateTime;

/// Whether calls are answered now, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenState {
    /// Regular hours.
    Open,
    /// Outside regular hours.
    Closed,
    /// Night mode switched on by hand: closed whatever the hours say.
    ForcedNight,
    /// Outside regular hours, but kept open by an extension.
    Extended,
}

impl OpenState {
    /// Whether calls go to the operators (as opposed to the after-hours route).
    pub fn is_open(self) -> bool {
        matches!(self, OpenState::Open | OpenState::Extended)
    }
}

/// The manual controls; saved to disk so that they survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatingState {
    /// Manual night switch; wins over hours and extension.
    #[serde(default)]
    pub night_mode: bool,
    /// Unix time until which the center stays open whatever the hours say.
    #[serde(default)]
    pub extended_until: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    NightModeOn,
    NightModeOff,
    Extend,
    Clear,
}

/// One manual change, appended to the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unix time of the change.
    pub at: u64,
    /// Who made it (the supervisor's login).
    pub who: String,
    pub action: AuditAction,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("say who makes this change: an empty name cannot be audited")]
    NoActor,
    #[error("an extension must end in the future: {until} is not after now ({now})")]
    ExtensionNotInFuture { until: u64, now: u64 },
}

fn utc(unix: u64) -> String {
    format!("{} UTC", LocalDateTime::from_unix(unix, 0))
}

impl OperatingState {
    /// The state at `now_unix`: night mode first, then the regular hours, then an
    /// extension that has not yet run out.
    pub fn effective_open(&self, calendar: &Calendar, now_unix: u64) -> OpenState {
        if self.night_mode {
            OpenState::ForcedNight
        } else if calendar.is_open_at(now_unix) {
            OpenState::Open
        } else if self.extended_until.is_some_and(|until| now_unix < until) {
            OpenState::Extended
        } else {
            OpenState::Closed
        }
    }

    /// When `effective_open` next changes, for arming a timer; `None` in night mode
    /// (only a person ends it) or if nothing changes within about a year.
    pub fn next_change(&self, calendar: &Calendar, now_unix: u64) -> Option<u64> {
        if self.night_mode {
            return None;
        }
        let current = self.effective_open(calendar, now_unix);
        let mut t = now_unix;
        // Each step moves to the next calendar boundary or the end of the extension;
        // a few steps cover "extension ends while the regular hours are open".
        for _ in 0..8 {
            let ext = self.extended_until.filter(|&u| u > t);
            let next = match (calendar.next_change_at(t), ext) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
            if self.effective_open(calendar, next) != current {
                return Some(next);
            }
            t = next;
        }
        None
    }

    pub fn set_night_mode(
        &mut self,
        on: bool,
        who: &str,
        now_unix: u64,
    ) -> Result<AuditRecord, OverrideError> {
        let who = actor(who)?;
        let was = self.night_mode;
        self.night_mode = on;
        let (action, detail) = match (on, was) {
            (true, false) => (
                AuditAction::NightModeOn,
                "night mode switched on".to_string(),
            ),
            (true, true) => (
                AuditAction::NightModeOn,
                "night mode was already on".to_string(),
            ),
            (false, true) => (
                AuditAction::NightModeOff,
                "night mode switched off".to_string(),
            ),
            (false, false) => (
                AuditAction::NightModeOff,
                "night mode was already off".to_string(),
            ),
        };
        Ok(AuditRecord {
            at: now_unix,
            who,
            action,
            detail,
        })
    }

    /// Keeps the center open until `until_unix` (replacing any earlier extension).
    pub fn extend_until(
        &mut self,
        until_unix: u64,
        who: &str,
        now_unix: u64,
    ) -> Result<AuditRecord, OverrideError> {
        let who = actor(who)?;
        if until_unix <= now_unix {
            return Err(OverrideError::ExtensionNotInFuture {
                until: until_unix,
                now: now_unix,
            });
        }
        let detail = match self.extended_until.replace(until_unix) {
            Some(old) if old > now_unix => {
                format!("open until {} (was until {})", utc(until_unix), utc(old))
            }
            _ => format!("open until {}", utc(until_unix)),
        };
        Ok(AuditRecord {
            at: now_unix,
            who,
            action: AuditAction::Extend,
            detail,
        })
    }

    /// Back to the regular hours: night mode off, extension ended.
    pub fn clear(&mut self, who: &str, now_unix: u64) -> Result<AuditRecord, OverrideError> {
        let who = actor(who)?;
        let detail = format!(
            "back to regular hours (was: night mode {}, extension {})",
            if self.night_mode { "on" } else { "off" },
            self.extended_until
                .filter(|&u| u > now_unix)
                .map_or("none".to_string(), utc)
        );
        *self = OperatingState::default();
        Ok(AuditRecord {
            at: now_unix,
            who,
            action: AuditAction::Clear,
            detail,
        })
    }
}

fn actor(who: &str) -> Result<String, OverrideError> {
    let who = who.trim();
    if who.is_empty() {
        Err(OverrideError::NoActor)
    } else {
        Ok(who.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::default_config;

    fn cal() -> Calendar {
        Calendar::new(&default_config().hours)
    }

    fn jst(y: i32, m: u8, d: u8, h: u8, min: u8) -> u64 {
        LocalDateTime::new(y, m, d, h, min).unwrap().to_unix(540)
    }

    #[test]
    fn night_mode_wins_over_hours_and_extension() {
        let c = cal();
        let noon = jst(2026, 11, 25, 12, 0);
        let mut s = OperatingState::default();
        assert_eq!(s.effective_open(&c, noon), OpenState::Open);
        let rec = s.set_night_mode(true, "supervisor1", noon).unwrap();
        assert_eq!(
            (rec.action, rec.at, rec.who.as_str()),
            (AuditAction::NightModeOn, noon, "supervisor1")
        );
        assert_eq!(s.effective_open(&c, noon), OpenState::ForcedNight);
        s.extend_until(noon + 3600, "supervisor1", noon).unwrap();
        assert_eq!(s.effective_open(&c, noon), OpenState::ForcedNight);
        assert_eq!(s.next_change(&c, noon), None);
    }

    #[test]
    fn extension_keeps_open_past_closing_until_its_end() {
        let c = cal();
        let mut s = OperatingState::default();
        let until = jst(2026, 11, 25, 22, 0);
        s.extend_until(until, "city-request", jst(2026, 11, 25, 18, 0))
            .unwrap();
        assert_eq!(
            s.effective_open(&c, jst(2026, 11, 25, 18, 0)),
            OpenState::Open
        );
        assert_eq!(
            s.effective_open(&c, jst(2026, 11, 25, 19, 0)),
            OpenState::Extended
        );
        assert_eq!(s.effective_open(&c, until - 1), OpenState::Extended);
        assert_eq!(s.effective_open(&c, until), OpenState::Closed);
        // While open by the hours, the next change is 19:00 (Open -> Extended) …
        assert_eq!(
            s.next_change(&c, jst(2026, 11, 25, 18, 0)),
            Some(jst(2026, 11, 25, 19, 0))
        );
        // … then the end of the extension.
        assert_eq!(s.next_change(&c, jst(2026, 11, 25, 20, 0)), Some(until));
    }

    #[test]
    fn clear_returns_to_regular_hours() {
        let c = cal();
        let evening = jst(2026, 11, 25, 20, 0);
        let mut s = OperatingState {
            night_mode: true,
            extended_until: Some(evening + 60),
        };
        let rec = s.clear("supervisor1", evening).unwrap();
        assert_eq!(rec.action, AuditAction::Clear);
        assert!(rec.detail.contains("night mode on"), "{}", rec.detail);
        assert_eq!(s, OperatingState::default());
        assert_eq!(s.effective_open(&c, evening), OpenState::Closed);
    }

    #[test]
    fn changes_need_a_name_and_a_future_end() {
        let mut s = OperatingState::default();
        assert_eq!(
            s.set_night_mode(true, "  ", 10),
            Err(OverrideError::NoActor)
        );
        assert!(!s.night_mode);
        assert_eq!(
            s.extend_until(10, "a", 10),
            Err(OverrideError::ExtensionNotInFuture { until: 10, now: 10 })
        );
        assert_eq!(s.extended_until, None);
    }
}
