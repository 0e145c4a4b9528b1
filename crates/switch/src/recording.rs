//! Call recording glue: the recorder (`recorder` crate) opened on the configured folder,
//! unfinished files repaired at start, the supervisors' web pages, and the per-call
//! start/finish used by the call tasks.

use crate::SwitchError;
use recorder::{CallMeta, Recorder, RecorderConfig, RecordingHandle};
use std::path::Path;
use std::time::SystemTime;

/// Open the recorder, repair what a crash left behind, and build the web routes.
pub fn start(
    cfg: &dialplan::Config,
    data_dir: &Path,
) -> Result<(Recorder, axum::Router, std::sync::Arc<recorder::auth::Auth>), SwitchError> {
    let rcfg = RecorderConfig {
        dir: cfg.switch.recordings_dir.clone(),
        catalogue: data_dir.join("recordings.sqlite"),
        retention_days: cfg.recording.retention_days,
        disk_min_free_bytes: cfg.recording.min_free_mb * 1024 * 1024,
        disk_threads: cfg.recording.disk_threads,
        ..Default::default()
    };
    std::fs::create_dir_all(&rcfg.dir)
        .map_err(|e| SwitchError::Recording(format!("{}: {e}", rcfg.dir.display())))?;
    let rec = Recorder::new(rcfg).map_err(|e| SwitchError::Recording(e.to_string()))?;
    match rec.repair_on_start() {
        Ok(report) => tracing::info!(?report, "recordings checked"),
        Err(e) => tracing::error!(error = %e, "repairing interrupted recordings failed"),
    }
    // One login for the whole ops port: the recordings pages and the switch's API
    // share the failure counters and the session cache.
    let auth = std::sync::Arc::new(recorder::auth::Auth::new(supervisors(cfg, data_dir)?));
    // The recordings pages wear the wallboard's and the reports' look (one navigation
    // for the supervisors), and name each line beside its number.
    let look = recorder::http::Look {
        css: stats::look::CSS,
        header: Some(stats::look::header),
        lines: cfg
            .numbers
            .iter()
            .map(|n| {
                let national = match n.number.trim().strip_prefix("+81") {
                    Some(rest) => format!("0{rest}"),
                    None => n.number.clone(),
                };
                let digits: String = national.chars().filter(char::is_ascii_digit).collect();
                let shown = stats::report::display_number(&digits);
                (digits, format!("{}（{shown}）", n.name))
            })
            .collect(),
    };
    let web = recorder::http::router(recorder::http::RecorderState::dressed(
        rec.clone(),
        auth.clone(),
        look,
    ));
    Ok((rec, web, auth))
}

/// The configured supervisors, or one generated account whose password is written to
/// `data_dir/supervisor-password.txt` (readable by the operator of the machine only).
fn supervisors(
    cfg: &dialplan::Config,
    data_dir: &Path,
) -> Result<Vec<recorder::auth::Supervisor>, SwitchError> {
    if !cfg.supervisors.is_empty() {
        return Ok(cfg
            .supervisors
            .iter()
            .map(|s| recorder::auth::Supervisor {
                user: s.user.clone(),
                password_hash: s.password_hash.clone(),
            })
            .collect());
    }
    let path = data_dir.join("supervisor-password.txt");
    let password = match std::fs::read_to_string(&path) {
        Ok(t) => t.lines().nth(1).unwrap_or_default().trim().to_string(),
        Err(_) => String::new(),
    };
    let password = if password.is_empty() {
        let p = crate::secrets::random_password();
        // 0600 from creation (a chmod afterwards leaves a moment where others can read).
        crate::secrets::write_private(&path, format!("supervisor\n{p}\n").as_bytes())
            .map_err(|e| SwitchError::Recording(format!("{}: {e}", path.display())))?;
        p
    } else {
        password
    };
    let hash = recorder::auth::hash_password(&password).map_err(SwitchError::Recording)?;
    Ok(vec![recorder::auth::Supervisor {
        user: "supervisor".into(),
        password_hash: hash,
    }])
}

/// Start recording an answered call, at once: the recorder makes the file and its
/// catalogue row while the audio already flows (the call never waits for the disk).
/// When it refuses (full disk), it logs why, the tap closes and the call goes on
/// unrecorded.
pub fn begin(
    rec: &Recorder,
    call_id: &str,
    number: &str,
    caller: &str,
) -> (media::Tap, RecordingHandle) {
    rec.begin(CallMeta {
        call_id: call_id.to_string(),
        number: number.to_string(),
        caller: caller.to_string(),
        started_at: SystemTime::now(),
    })
}
