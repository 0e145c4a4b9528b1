//! Keeping the manual controls across restarts (DESIGN.md principle 4: nothing lost).
//!
//! The state is one small JSON file replaced atomically (write a temporary file, fsync,
//! rename over the old one, fsync the directory), so a power cut leaves either the old
//! or the new state, never half of one. The audit log is JSON lines, appended and
//! fsynced before the state changes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::r#override::{AuditRecord, OperatingState, OverrideError};

/// File names inside `[switch] data_dir`.
pub const STATE_FILE: &str = "operating-state.json";
pub const AUDIT_FILE: &str = "operating-audit.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}:{line}: not a valid audit record: {source}")]
    AuditLine {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Refused(#[from] OverrideError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl OperatingState {
    /// Replaces the file at `path` with this state, atomically.
    pub fn save(&self, path: &Path) -> Result<(), PersistError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| PersistError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let tmp = path.with_extension("json.tmp");
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&json)
            .and_then(|()| f.sync_all())
            .map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))?;
        sync_dir(path)
    }

    /// The saved state; the default (regular hours) if nothing was ever saved.
    pub fn load(path: &Path) -> Result<OperatingState, PersistError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| PersistError::Json {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(OperatingState::default()),
            Err(e) => Err(io_err(path)(e)),
        }
    }
}

/// Makes a rename durable: the directory entry is data too.
fn sync_dir(path: &Path) -> Result<(), PersistError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Appends one record as a JSON line and waits until it is on disk.
pub fn append_audit(path: &Path, record: &AuditRecord) -> Result<(), PersistError> {
    let mut line = serde_json::to_vec(record).map_err(|source| PersistError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .map_err(io_err(path))
}

/// Every record of the audit log, oldest first. A last line cut short by a crash is
/// skipped; a bad line elsewhere is an error.
pub fn read_audit(path: &Path) -> Result<Vec<AuditRecord>, PersistError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let lines: Vec<String> = BufReader::new(f)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io_err(path))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() => break,
            Err(source) => {
                return Err(PersistError::AuditLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    source,
                })
            }
        }
    }
    Ok(out)
}

/// The operating state bound to its files: every change is audited and saved before
/// it takes effect in memory, so memory never runs ahead of the disk.
#[derive(Debug)]
pub struct StateStore {
    state: OperatingState,
    state_path: PathBuf,
    audit_path: PathBuf,
}

impl StateStore {
    /// Opens (creating the directory if needed) the state kept in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<StateStore, PersistError> {
        fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let state_path = data_dir.join(STATE_FILE);
        let state = OperatingState::load(&state_path)?;
        Ok(StateStore {
            state,
            state_path,
            audit_path: data_dir.join(AUDIT_FILE),
        })
    }

    pub fn state(&self) -> &OperatingState {
        &self.state
    }

    pub fn audit_log(&self) -> Result<Vec<AuditRecord>, PersistError> {
        read_audit(&self.audit_path)
    }

    pub fn set_night_mode(
        &mut self,
        on: bool,
        who: &str,
        now: u64,
    ) -> Result<AuditRecord, PersistError> {
        self.apply(|s| s.set_night_mode(on, who, now))
    }

    pub fn extend_until(
        &mut self,
        until: u64,
        who: &str,
        now: u64,
    ) -> Result<AuditRecord, PersistError> {
        self.apply(|s| s.extend_until(until, who, now))
    }

    pub fn clear(&mut self, who: &str, now: u64) -> Result<AuditRecord, PersistError> {
        self.apply(|s| s.clear(who, now))
    }

    fn apply(
        &mut self,
        change: impl FnOnce(&mut OperatingState) -> Result<AuditRecord, OverrideError>,
    ) -> Result<AuditRecord, PersistError> {
        let mut next = self.state.clone();
        let record = change(&mut next)?;
        append_audit(&self.audit_path, &record)?;
        next.save(&self.state_path)?;
        self.state = next;
        Ok(record)
    }
}
