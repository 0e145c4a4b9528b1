//! Where an inbound call goes. A pure function of the configuration, the manual state,
//! the trunk the call arrived on, the dialled number and the time.

use crate::calendar::Calendar;
use crate::config::{Config, Department, Number, Trunk};
use crate::r#override::OperatingState;
use crate::values::TrunkKind;

/// The prompt played before forwarding outside hours (spec 第2-7 ⑵ ク, ⑶ ア).
pub const AFTER_HOURS_PROMPT: &str = "after-hours";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Into the ACD queue; `number` tells the operator which number was dialled
    /// (第2-7 ⑴ ア).
    Queue { queue: String, number: Number },
    /// City staff dialling the staff code from an extension (第2-7 ⑵ キ), queued ahead of
    /// citizens by `priority` (larger first; citizens have 0). `number` carries the staff
    /// line's code and name for the operator's screen.
    StaffToCenter {
        queue: String,
        number: Number,
        priority: u8,
    },
    /// Outside hours or in night mode: play `announce`, then forward to `department`
    /// (the guard room) over its trunk (第2-7 ⑵ ク). Staff calls take this route too:
    /// after hours "9" has always reached the guard room.
    AfterHours {
        number: Number,
        department: Department,
        announce: &'static str,
    },
    /// Nothing is configured for this number on this trunk: refuse (SIP 404).
    NotFound,
}

/// Decides the route of a call that arrived on `trunk` for `dialled_user` (the user
/// part of the Request-URI) at `now_unix`.
pub fn route_inbound(
    cfg: &Config,
    calendar: &Calendar,
    state: &OperatingState,
    trunk: &Trunk,
    dialled_user: &str,
    now_unix: u64,
) -> Route {
    // The staff code is checked first: it is a short code that must not be mistaken for
    // anything else, and it is honoured only from the city hall's PBX, never from the
    // carrier (a citizen dialling "9" reaches nothing).
    if let Some(staff) = cfg
        .staff_line
        .as_ref()
        .filter(|_| trunk.kind == TrunkKind::Pbx)
    {
        if dialled_user.trim() == staff.code {
            let number = Number {
                number: staff.code.clone(),
                name: staff.name.clone(),
                queue: staff.queue.clone(),
            };
            if state.effective_open(calendar, now_unix).is_open() {
                return Route::StaffToCenter {
                    queue: staff.queue.clone(),
                    number,
                    priority: staff.priority,
                };
            }
            return after_hours(cfg, number);
        }
    }
    // Representative numbers arrive from the carrier, and from the PBX when a
    // department forwards or transfers a call back (第2-7 ⑴ カ, キ).
    let Some(number) = cfg.number_for(dialled_user) else {
        return Route::NotFound;
    };
    if state.effective_open(calendar, now_unix).is_open() {
        Route::Queue {
            queue: number.queue.clone(),
            number: number.clone(),
        }
    } else {
        after_hours(cfg, number.clone())
    }
}

fn after_hours(cfg: &Config, number: Number) -> Route {
    match cfg.department(&cfg.hours.after_hours_target) {
        Some(department) => Route::AfterHours {
            number,
            department: department.clone(),
            announce: AFTER_HOURS_PROMPT,
        },
        // `validate` refuses such a file; a config built in code could still lack it.
        None => {
            tracing::error!(
                target = %cfg.hours.after_hours_target,
                "after-hours target is not a department; refusing the call"
            );
            Route::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::LocalDateTime;
    use crate::load::default_config;

    fn jst(y: i32, m: u8, d: u8, h: u8, min: u8) -> u64 {
        LocalDateTime::new(y, m, d, h, min).unwrap().to_unix(540)
    }

    struct World {
        cfg: Config,
        cal: Calendar,
        state: OperatingState,
    }

    impl World {
        fn new() -> World {
            let cfg = default_config();
            let cal = Calendar::new(&cfg.hours);
            World {
                cfg,
                cal,
                state: OperatingState::default(),
            }
        }

        fn route(&self, trunk: &str, dialled: &str, now: u64) -> Route {
            let trunk = self.cfg.trunk(trunk).unwrap();
            route_inbound(&self.cfg, &self.cal, &self.state, trunk, dialled, now)
        }
    }

    fn queue_of(r: &Route) -> Option<(&str, &str)> {
        match r {
            Route::Queue { queue, number } => Some((queue, &number.name)),
            _ => None,
        }
    }

    #[test]
    fn open_hours_go_to_the_queue_with_the_dialled_number() {
        let w = World::new();
        let r = w.route("carrier", "+81246542111", jst(2026, 11, 25, 12, 0));
        assert_eq!(queue_of(&r), Some(("general", "小名浜支所")));
    }

    #[test]
    fn closed_hours_go_to_the_guard_room_after_the_announcement() {
        let w = World::new();
        let r = w.route("carrier", "0246221111", jst(2026, 11, 25, 19, 0));
        match r {
            Route::AfterHours {
                number,
                department,
                announce,
            } => {
                assert_eq!(number.name, "市代表");
                assert_eq!(
                    (department.extension.as_str(), department.trunk.as_str()),
                    ("2999", "pbx")
                );
                assert_eq!(announce, AFTER_HOURS_PROMPT);
            }
            other => panic!("expected AfterHours, got {other:?}"),
        }
    }

    #[test]
    fn night_mode_at_noon_routes_after_hours() {
        let mut w = World::new();
        let noon = jst(2026, 11, 25, 12, 0);
        w.state.set_night_mode(true, "supervisor1", noon).unwrap();
        assert!(matches!(
            w.route("carrier", "0246221111", noon),
            Route::AfterHours { .. }
        ));
    }

    #[test]
    fn extension_past_seven_keeps_queueing() {
        let mut w = World::new();
        let now = jst(2026, 11, 25, 18, 30);
        w.state
            .extend_until(jst(2026, 11, 25, 21, 0), "city", now)
            .unwrap();
        let r = w.route("carrier", "0246632111", jst(2026, 11, 25, 20, 0));
        assert_eq!(queue_of(&r), Some(("general", "勿来支所")));
        let late = w.route("carrier", "0246632111", jst(2026, 11, 25, 21, 0));
        assert!(matches!(late, Route::AfterHours { .. }));
    }

    #[test]
    fn unknown_numbers_are_not_found() {
        let w = World::new();
        assert_eq!(
            w.route("carrier", "0246999999", jst(2026, 11, 25, 12, 0)),
            Route::NotFound
        );
    }

    #[test]
    fn staff_code_from_the_pbx_is_prioritised() {
        let w = World::new();
        let staff = w.cfg.staff_line.clone().unwrap();
        match w.route("pbx", &staff.code, jst(2026, 11, 25, 12, 0)) {
            Route::StaffToCenter {
                queue,
                number,
                priority,
            } => {
                assert_eq!(queue, staff.queue);
                assert_eq!(number.name, staff.name);
                assert!(priority > 0);
            }
            other => panic!("expected StaffToCenter, got {other:?}"),
        }
        // Outside hours, "9" reaches the guard room as it always has.
        let night = w.route("pbx", &staff.code, jst(2026, 11, 25, 22, 0));
        assert!(matches!(night, Route::AfterHours { .. }));
    }

    #[test]
    fn staff_code_from_the_carrier_is_not_found() {
        let w = World::new();
        let code = w.cfg.staff_line.clone().unwrap().code;
        assert_eq!(
            w.route("carrier", &code, jst(2026, 11, 25, 12, 0)),
            Route::NotFound
        );
    }

    #[test]
    fn departments_can_transfer_back_over_the_pbx() {
        let w = World::new();
        let r = w.route("pbx", "0246221111", jst(2026, 11, 25, 12, 0));
        assert_eq!(queue_of(&r), Some(("general", "市代表")));
    }
}
