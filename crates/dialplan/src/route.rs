//! Where an inbound call goes. A pure function of the configuration, the manual state,
//! the trunk the call arrived on, the dialled number and the time.

use crate::calendar::Calendar;
use crate::config::{Config, Department, Number, Trunk};
use crate::lookup::normalize_number;
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
    /// The FAX number (`[fax]`), at any hour and in night mode too (FAX is received
    /// 24 h, 第3-1 ⑵ ウ): connect to `department`, the FAX machine, with no prompt, so
    /// its tones (and T.38 re-INVITEs) pass. `number.queue` is empty: never queued.
    Fax {
        number: Number,
        department: Department,
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
    route_inbound_diverted(cfg, calendar, state, trunk, dialled_user, None, now_unix)
}

/// `route_inbound` for a call the carrier diverted to the center (spec 第2-7 ⑴ カ):
/// `original_dialled` is the number the citizen dialled (`lookup::original_dialled` of
/// the Diversion / History-Info headers). When it is a configured `[[number]]` (a
/// department's own number, `department = …`) or the FAX number, the call is routed
/// and shown by it; otherwise by the Request-URI as usual. The staff code is taken
/// from the Request-URI only.
pub fn route_inbound_diverted(
    cfg: &Config,
    calendar: &Calendar,
    state: &OperatingState,
    trunk: &Trunk,
    dialled_user: &str,
    original_dialled: Option<&str>,
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
                department: None,
                survey: false,
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
    let dialled = [original_dialled, Some(dialled_user)];
    if let Some(fax) = dialled.iter().flatten().find_map(|d| fax_route(cfg, d)) {
        return fax;
    }
    // Representative numbers arrive from the carrier, and from the PBX when a
    // department forwards or transfers a call back (第2-7 ⑴ カ, キ).
    let Some(number) = dialled.iter().flatten().find_map(|d| cfg.number_for(d)) else {
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

/// `Route::Fax` when `dialled` is the `[fax]` number.
fn fax_route(cfg: &Config, dialled: &str) -> Option<Route> {
    let fax = cfg.fax.as_ref()?;
    let wanted = normalize_number(&fax.number)?;
    if normalize_number(dialled)? != wanted {
        return None;
    }
    let department = match (&fax.department, &fax.extension, &fax.trunk) {
        (Some(name), _, _) => cfg.department(name)?.clone(),
        (None, Some(extension), Some(trunk)) => Department {
            name: "fax".into(),
            label: fax.name.clone(),
            extension: extension.clone(),
            trunk: trunk.clone(),
            outside_number: Some(fax.number.clone()),
            hours: None,
            days: None,
        },
        // `validate` refuses a [fax] without a destination.
        _ => return None,
    };
    Some(Route::Fax {
        number: Number {
            number: wanted,
            name: fax.name.clone(),
            queue: String::new(),
            department: None,
            survey: false,
        },
        department,
    })
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

    #[test]
    fn the_fax_number_reaches_the_fax_machine_at_any_hour() {
        let mut w = World::new();
        let noon = jst(2026, 11, 25, 12, 0);
        let sunday_night = jst(2026, 11, 29, 23, 0);
        w.state.set_night_mode(true, "supervisor1", noon).unwrap();
        for (dialled, t) in [("0246221199", noon), ("+81246221199", sunday_night)] {
            match w.route("carrier", dialled, t) {
                Route::Fax { number, department } => {
                    assert_eq!(number.number, "0246221199");
                    assert!(number.queue.is_empty());
                    assert_eq!(
                        (department.extension.as_str(), department.trunk.as_str()),
                        ("2990", "pbx")
                    );
                }
                other => panic!("{dialled}: expected Fax, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_fax_can_be_a_directory_department() {
        let mut w = World::new();
        let fax = w.cfg.fax.as_mut().unwrap();
        fax.department = Some("guard-room".into());
        fax.extension = None;
        fax.trunk = None;
        match w.route("carrier", "0246221199", jst(2026, 11, 25, 12, 0)) {
            Route::Fax { department, .. } => assert_eq!(department.name, "guard-room"),
            other => panic!("{other:?}"),
        }
        w.cfg.fax = None;
        assert_eq!(
            w.route("carrier", "0246221199", jst(2026, 11, 25, 12, 0)),
            Route::NotFound
        );
    }

    fn diverted(w: &World, dialled: &str, original: Option<&str>, now: u64) -> Route {
        via(w, "carrier", dialled, original, now)
    }

    fn via(w: &World, trunk: &str, dialled: &str, original: Option<&str>, now: u64) -> Route {
        let trunk = w.cfg.trunk(trunk).unwrap();
        route_inbound_diverted(&w.cfg, &w.cal, &w.state, trunk, dialled, original, now)
    }

    #[test]
    fn a_forwarded_department_number_is_shown_to_the_operator() {
        let w = World::new();
        let noon = jst(2026, 11, 25, 12, 0);
        // The carrier forwards 市民課's number to the center's representative number.
        let original = crate::lookup::original_dialled(
            &["<sip:+81246227101@carrier.example>;reason=unconditional"],
            &[],
        );
        match diverted(&w, "0246221111", original.as_deref(), noon) {
            Route::Queue { queue, number } => {
                assert_eq!(queue, "general");
                assert_eq!(number.number, "0246227101");
                assert_eq!(number.name, "市民課（転送）");
                assert_eq!(number.department.as_deref(), Some("shimin"));
            }
            other => panic!("{other:?}"),
        }
        // After hours it goes where every call goes, still showing the dialled number.
        match diverted(
            &w,
            "0246221111",
            original.as_deref(),
            jst(2026, 11, 25, 20, 0),
        ) {
            Route::AfterHours { number, .. } => assert_eq!(number.name, "市民課（転送）"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_original_number_routes_by_the_request_uri() {
        let w = World::new();
        let noon = jst(2026, 11, 25, 12, 0);
        let r = diverted(&w, "0246542111", Some("0246999999"), noon);
        assert_eq!(queue_of(&r), Some(("general", "小名浜支所")));
        // The staff code is never taken from a diversion header.
        assert_eq!(
            via(&w, "pbx", "0246999998", Some("9"), noon),
            Route::NotFound
        );
        // A diverted FAX is a FAX.
        assert!(matches!(
            diverted(&w, "0246221111", Some("0246221199"), noon),
            Route::Fax { .. }
        ));
    }
}
