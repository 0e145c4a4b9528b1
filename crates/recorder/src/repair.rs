//! Start-up repair: files left "recording" by a process that died (kill -9, power cut)
//! get a header that matches their length, a hash, and the state "interrupted".

use crate::catalogue::{self, State};
use crate::disk;
use crate::error::Result;
use crate::recorder::Recorder;
use crate::time;
use crate::wav;
use crate::writer::RecordingInfo;
use rusqlite::{params, OptionalExtension};
use std::fs::File;
use std::path::{Path, PathBuf};

/// What `repair_on_start` did.
#[derive(Debug, Default, Clone)]
pub struct RepairReport {
    /// Recordings the catalogue had as "recording", now "interrupted".
    pub repaired: Vec<RecordingInfo>,
    /// WAV files found on disk with a stale header and no catalogue row; added as
    /// "interrupted" under the call id their name gives.
    pub orphans: Vec<RecordingInfo>,
}

impl Recorder {
    /// Repairs what a crash left behind. Call once at start, before the first
    /// `start_call`: every "recording" row at that moment belongs to a dead process.
    pub fn repair_on_start(&self) -> Result<RepairReport> {
        let mut report = RepairReport::default();
        for row in self.catalogue().in_state(State::Recording)? {
            let info = self.repair_file(row.id, &row.call_id, &row.path, row.started_at)?;
            report.repaired.push(info);
        }
        for path in wav_files(&self.config().dir)? {
            let Ok(rel) = path.strip_prefix(&self.config().dir) else {
                continue;
            };
            let rel = rel.to_string_lossy().into_owned();
            let f = File::open(&path)?;
            let stale = wav::header_data_len(&f)? != Some(wav::data_len_for(f.metadata()?.len()));
            if !stale || self.row_for_path(&rel)?.is_some() {
                continue;
            }
            // A file without a row: the process died between creating the file and
            // the catalogue commit, or the catalogue lost its last commits.
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let started = f
                .metadata()?
                .modified()
                .map(time::unix_secs)
                .unwrap_or(0)
                .saturating_sub(
                    wav::duration_ms(wav::data_len_for(f.metadata()?.len())) as i64 / 1000,
                );
            let call_id = format!("recovered:{stem}:{started}");
            let id = self
                .catalogue()
                .insert_recording(&call_id, "", "", started, &rel)?;
            report
                .orphans
                .push(self.repair_file(id, &call_id, &rel, started)?);
        }
        if !report.repaired.is_empty() || !report.orphans.is_empty() {
            tracing::warn!(
                repaired = report.repaired.len(),
                orphans = report.orphans.len(),
                "recordings interrupted by a crash were repaired"
            );
        }
        Ok(report)
    }

    fn repair_file(
        &self,
        id: i64,
        call_id: &str,
        rel: &str,
        started_at: i64,
    ) -> Result<RecordingInfo> {
        let path = self.file_path(rel);
        let (data_len, size, sha) = match File::options().read(true).write(true).open(&path) {
            Ok(f) => {
                let data = wav::repair(&f)?;
                (data, f.metadata()?.len(), disk::sha256_file(&path)?)
            }
            // The file never reached the disk: the row stays, with nothing to play.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0, String::new()),
            Err(e) => return Err(e.into()),
        };
        let duration_ms = wav::duration_ms(data_len);
        let ended_at = started_at + (duration_ms / 1000) as i64;
        let c = self.catalogue().lock();
        c.execute(
            "UPDATE recordings SET state='interrupted', ended_at=?2, duration_ms=?3, size_bytes=?4, sha256=?5
             WHERE id=?1",
            params![id, ended_at, duration_ms as i64, size as i64, sha],
        )?;
        let detail =
            format!("header repaired after a crash: {duration_ms} ms of audio, {size} bytes");
        catalogue::audit(
            &c,
            time::unix_secs(std::time::SystemTime::now()),
            "system",
            "repair",
            Some(id),
            None,
            &detail,
        )?;
        Ok(RecordingInfo {
            id,
            call_id: call_id.to_string(),
            path: rel.to_string(),
            state: State::Interrupted,
            started_at,
            ended_at,
            duration_ms,
            size_bytes: size,
            sha256: sha,
            frames: 0,
            frames_dropped: 0,
        })
    }

    fn row_for_path(&self, rel: &str) -> Result<Option<i64>> {
        Ok(self
            .catalogue()
            .lock()
            .query_row("SELECT id FROM recordings WHERE path=?1", [rel], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

/// Every `*.wav` under `dir`, depth first.
fn wav_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for e in entries {
            let e = e?;
            let ty = e.file_type()?;
            let p = e.path();
            if ty.is_dir() {
                stack.push(p);
            } else if ty.is_file() && p.extension().is_some_and(|x| x == "wav") {
                out.push(p);
            }
        }
    }
    Ok(out)
}
