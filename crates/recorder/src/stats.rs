//! Counters for `/metrics` and the disk-full alarm. Atomics, because every call's writer
//! task bumps them and the HTTP handler reads them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct Stats {
    pub active: AtomicU64,
    pub started: AtomicU64,
    pub completed: AtomicU64,
    /// Calls that went on unrecorded because the disk was (nearly) full or a file
    /// could not be created.
    pub refused: AtomicU64,
    pub frames: AtomicU64,
    /// Frames dropped by the timeline (late or too far ahead).
    pub frames_dropped: AtomicU64,
    pub bytes_written: AtomicU64,
    /// Audio waiting in memory for the disk, in bytes, summed over calls.
    pub backlog_bytes: AtomicU64,
    /// Audio thrown away because a call's backlog exceeded its cap (disk too slow).
    pub backlog_dropped_bytes: AtomicU64,
    pub write_errors: AtomicU64,
    /// Directories fsynced so that new files' names survive a power cut.
    pub dir_syncs: AtomicU64,
    /// Raised when a recording is refused for lack of space or a write fails with
    /// ENOSPC; lowered when a later recording starts with enough space.
    pub disk_alarm: AtomicBool,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    pub active: u64,
    pub started: u64,
    pub completed: u64,
    pub refused: u64,
    pub frames: u64,
    pub frames_dropped: u64,
    pub bytes_written: u64,
    pub backlog_bytes: u64,
    pub backlog_dropped_bytes: u64,
    pub write_errors: u64,
    pub dir_syncs: u64,
    pub disk_alarm: bool,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            active: self.active.load(Relaxed),
            started: self.started.load(Relaxed),
            completed: self.completed.load(Relaxed),
            refused: self.refused.load(Relaxed),
            frames: self.frames.load(Relaxed),
            frames_dropped: self.frames_dropped.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            backlog_bytes: self.backlog_bytes.load(Relaxed),
            backlog_dropped_bytes: self.backlog_dropped_bytes.load(Relaxed),
            write_errors: self.write_errors.load(Relaxed),
            dir_syncs: self.dir_syncs.load(Relaxed),
            disk_alarm: self.disk_alarm.load(Relaxed),
        }
    }
}

impl StatsSnapshot {
    /// Prometheus text exposition, to append to the switch's `/metrics`.
    pub fn to_prometheus(&self) -> String {
        let rows: [(&str, &str, &str, u64); 12] = [
            (
                "recorder_active_recordings",
                "gauge",
                "Recordings being written now.",
                self.active,
            ),
            (
                "recorder_started_total",
                "counter",
                "Recordings started.",
                self.started,
            ),
            (
                "recorder_completed_total",
                "counter",
                "Recordings finished normally.",
                self.completed,
            ),
            (
                "recorder_refused_total",
                "counter",
                "Calls that went on unrecorded.",
                self.refused,
            ),
            (
                "recorder_frames_total",
                "counter",
                "20 ms tap frames received.",
                self.frames,
            ),
            (
                "recorder_frames_dropped_total",
                "counter",
                "Tap frames dropped by the timeline.",
                self.frames_dropped,
            ),
            (
                "recorder_bytes_written_total",
                "counter",
                "Audio bytes written to disk.",
                self.bytes_written,
            ),
            (
                "recorder_dir_syncs_total",
                "counter",
                "Directories fsynced for new recordings (the day's folder per call; its parents once a day).",
                self.dir_syncs,
            ),
            (
                "recorder_backlog_bytes",
                "gauge",
                "Audio waiting in memory for the disk.",
                self.backlog_bytes,
            ),
            (
                "recorder_backlog_dropped_bytes_total",
                "counter",
                "Audio lost because the disk was too slow.",
                self.backlog_dropped_bytes,
            ),
            (
                "recorder_write_errors_total",
                "counter",
                "Failed writes to recording files.",
                self.write_errors,
            ),
            (
                "recorder_disk_alarm",
                "gauge",
                "1 when recordings are refused or failing for lack of disk space.",
                self.disk_alarm as u64,
            ),
        ];
        let mut s = String::new();
        for (name, kind, help, v) in rows {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        s
    }
}
