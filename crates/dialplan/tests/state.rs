//! The manual controls (night mode, extension) survive a restart, and every change
//! is in the audit log.

use std::path::PathBuf;

use dialplan::{
    default_config, read_audit, AuditAction, Calendar, LocalDateTime, OpenState, OperatingState,
    StateStore, AUDIT_FILE, STATE_FILE,
};

/// A fresh directory per test (no temp-dir crate: the process id and name suffice).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dialplan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn jst(h: u8, m: u8) -> u64 {
    LocalDateTime::new(2026, 11, 25, h, m).unwrap().to_unix(540)
}

#[test]
fn save_and_load_round_trip() {
    let dir = scratch("round-trip");
    let path = dir.join(STATE_FILE);
    let state = OperatingState {
        night_mode: true,
        extended_until: Some(jst(21, 0)),
    };
    state.save(&path).unwrap();
    assert_eq!(OperatingState::load(&path).unwrap(), state);
    assert!(
        !dir.join("operating-state.json.tmp").exists(),
        "no temporary file is left"
    );
    // Saving again replaces the file.
    OperatingState::default().save(&path).unwrap();
    assert_eq!(
        OperatingState::load(&path).unwrap(),
        OperatingState::default()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nothing_saved_yet_means_regular_hours() {
    let dir = scratch("fresh");
    assert_eq!(
        OperatingState::load(&dir.join(STATE_FILE)).unwrap(),
        OperatingState::default()
    );
    assert!(read_audit(&dir.join(AUDIT_FILE)).unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_state_file_is_an_error_not_a_silent_reset() {
    let dir = scratch("corrupt");
    let path = dir.join(STATE_FILE);
    std::fs::write(&path, "{ night_mode: ").unwrap();
    let err = OperatingState::load(&path).unwrap_err();
    assert!(err.to_string().contains(STATE_FILE), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_store_survives_a_restart_with_its_audit_log() {
    let dir = scratch("store");
    let cal = Calendar::new(&default_config().hours);
    {
        let mut store = StateStore::open(&dir).unwrap();
        store.set_night_mode(true, "sv-tanaka", jst(12, 0)).unwrap();
        store
            .set_night_mode(false, "sv-tanaka", jst(12, 30))
            .unwrap();
        store
            .extend_until(jst(22, 0), "sv-suzuki", jst(18, 50))
            .unwrap();
    }
    // "Restart": a new store over the same directory.
    let mut store = StateStore::open(&dir).unwrap();
    assert_eq!(
        store.state().effective_open(&cal, jst(21, 0)),
        OpenState::Extended
    );
    let log = store.audit_log().unwrap();
    let actions: Vec<_> = log
        .iter()
        .map(|r| (r.action, r.who.as_str(), r.at))
        .collect();
    assert_eq!(
        actions,
        [
            (AuditAction::NightModeOn, "sv-tanaka", jst(12, 0)),
            (AuditAction::NightModeOff, "sv-tanaka", jst(12, 30)),
            (AuditAction::Extend, "sv-suzuki", jst(18, 50)),
        ]
    );
    // A refused change leaves state and log untouched.
    assert!(store
        .extend_until(jst(10, 0), "sv-suzuki", jst(19, 0))
        .is_err());
    assert_eq!(store.audit_log().unwrap().len(), 3);
    store.clear("sv-suzuki", jst(21, 30)).unwrap();
    assert_eq!(store.state(), &OperatingState::default());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_torn_last_audit_line_is_skipped() {
    let dir = scratch("torn");
    let path = dir.join(AUDIT_FILE);
    let good = r#"{"at":1,"who":"a","action":"night-mode-on","detail":"x"}"#;
    std::fs::write(&path, format!("{good}\n{{\"at\":2,\"who\"")).unwrap();
    let log = read_audit(&path).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::NightModeOn);
    // The same damage in the middle of the file is reported with its line.
    std::fs::write(&path, format!("{{\"at\":2\n{good}\n")).unwrap();
    let err = read_audit(&path).unwrap_err();
    assert!(err.to_string().contains(":1:"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
