//! The recorder as the switch sees it: configuration, starting a recording for an
//! answered call, and the shared pieces (catalogue, counters) every call's writer uses.

use crate::catalogue::Catalogue;
use crate::disk;
use crate::disk_jobs::DiskJobs;
use crate::error::{RecorderError, Result};
use crate::stats::{Stats, StatsSnapshot};
use crate::time;
use crate::writer::{self, RecordingHandle};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::SystemTime;

/// Where recordings go and how long they are kept.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Root of `YYYY/MM/DD/<call-id>.wav`.
    pub dir: PathBuf,
    /// The SQLite catalogue file.
    pub catalogue: PathBuf,
    /// Recordings older than this become due for deletion (the city keeps 3 months).
    pub retention_days: u32,
    /// A call is not recorded when less than this is free where `dir` is.
    pub disk_min_free_bytes: u64,
    /// Local time for the date directories and the web pages: Japan, UTC+9.
    pub utc_offset_secs: i32,
    /// Tap frames that may wait for a call's writer task (both legs): 512 is ~2.5 s.
    pub tap_capacity: usize,
    /// Audio a call may keep in memory while the disk is slow, before the oldest is
    /// dropped (and counted): 1,920,000 bytes is one minute of stereo.
    pub max_backlog_bytes: usize,
    /// Threads for the recordings' file work (chunk writes and their fsyncs, file
    /// creation, the final hash): a slow disk makes calls wait in a queue, it does not
    /// start a thread per call.
    pub disk_threads: usize,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            dir: PathBuf::from("recordings"),
            catalogue: PathBuf::from("recordings/catalogue.sqlite"),
            retention_days: 92,
            disk_min_free_bytes: 1 << 30,
            utc_offset_secs: 9 * 3600,
            tap_capacity: 512,
            max_backlog_bytes: 1_920_000,
            disk_threads: 8,
        }
    }
}

/// What the switch knows about a call when it is answered.
#[derive(Debug, Clone)]
pub struct CallMeta {
    /// The switch's call id (the key of the call record).
    pub call_id: String,
    /// The representative number the citizen dialled.
    pub number: String,
    /// The caller's number as presented (may be empty for withheld numbers).
    pub caller: String,
    /// When the call was answered; names the date directory.
    pub started_at: SystemTime,
}

/// How much free space there is where recordings go. Injected in tests.
pub type FreeSpaceFn = Arc<dyn Fn(&Path) -> io::Result<u64> + Send + Sync>;

pub(crate) struct Inner {
    pub cfg: RecorderConfig,
    pub catalogue: Catalogue,
    pub stats: Stats,
    pub free_space: FreeSpaceFn,
    pub disk: DiskJobs,
    /// The day folder whose parents (month, year, root) have been fsynced since it was
    /// made: later calls of that day sync only the day folder.
    pub synced_day: std::sync::Mutex<Option<PathBuf>>,
}

/// A cheap handle (clone it freely) to the recorder of one switch.
#[derive(Clone)]
pub struct Recorder {
    pub(crate) inner: Arc<Inner>,
}

impl Recorder {
    /// Opens (or creates) the catalogue and the recordings directory.
    pub fn new(cfg: RecorderConfig) -> Result<Recorder> {
        Recorder::with_free_space(cfg, Arc::new(disk::free_space))
    }

    /// The same recorder measuring free space with `f` (tests simulate a full disk).
    pub fn with_free_space(cfg: RecorderConfig, f: FreeSpaceFn) -> Result<Recorder> {
        std::fs::create_dir_all(&cfg.dir)?;
        let catalogue = Catalogue::open(&cfg.catalogue)?;
        let disk = DiskJobs::new(cfg.disk_threads)?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                disk,
                synced_day: Default::default(),
                cfg,
                catalogue,
                stats: Stats::default(),
                free_space: f,
            }),
        })
    }

    pub fn config(&self) -> &RecorderConfig {
        &self.inner.cfg
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    /// The directories to fsync for a new recording at `file`: its own folder, and the
    /// folders above it up to the root unless a call of the same day already synced them.
    pub(crate) fn dirs_to_sync(&self, file: &Path) -> Vec<PathBuf> {
        let root = &self.inner.cfg.dir;
        let Some(day) = file.parent() else {
            return Vec::new();
        };
        let synced = self
            .inner
            .synced_day
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if synced.as_deref() == Some(day) || !day.starts_with(root) {
            return vec![day.to_path_buf()];
        }
        day.ancestors()
            .take_while(|d| d.starts_with(root))
            .map(Path::to_path_buf)
            .collect()
    }

    /// `dirs` (from [`Recorder::dirs_to_sync`]) are on the disk.
    pub(crate) fn dirs_synced(&self, dirs: &[PathBuf]) {
        let stats = &self.inner.stats;
        stats.dir_syncs.fetch_add(dirs.len() as u64, Relaxed);
        if dirs.len() > 1 {
            let mut synced = self
                .inner
                .synced_day
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *synced = dirs.first().cloned();
        }
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// True while recordings are being refused or failing for lack of space.
    pub fn disk_alarm(&self) -> bool {
        self.inner.stats.disk_alarm.load(Relaxed)
    }

    /// The absolute path of a catalogue path.
    pub fn file_path(&self, rel: &str) -> PathBuf {
        self.inner.cfg.dir.join(rel)
    }

    /// Starts recording an answered call at once. Must be called inside a tokio runtime:
    /// the writer runs as a task of its own. Give the returned [`media::Tap`] to the
    /// call's relay (`RelayHandle::set_tap(Some(tap))`) and keep the handle to `finish`
    /// it when the call ends.
    ///
    /// The call never waits for the disk: the writer makes the file and its catalogue
    /// row (a group commit, an fsync) while the audio already flows into its backlog,
    /// and writes nothing to the file before the row is on the disk. A refusal (full
    /// disk, a catalogue error) is logged and counted by the recorder; the call goes on
    /// unrecorded, the tap closes and `finish` returns the reason.
    pub fn begin(&self, meta: CallMeta) -> (media::Tap, RecordingHandle) {
        writer::spawn(self.clone(), meta)
    }

    /// [`Recorder::begin`], then waits until the file and its row exist: an `Err` is the
    /// refusal (the call must go on unrecorded; the alarm is up when the disk is full).
    pub async fn start_call(&self, meta: CallMeta) -> Result<(media::Tap, RecordingHandle)> {
        let (tap, mut handle) = self.begin(meta);
        if handle.opened().await.is_some() {
            return Ok((tap, handle));
        }
        match handle.finish().await {
            Err(e) => Err(e),
            Ok(info) => Err(RecorderError::Invalid(format!(
                "recording {} ended before it was opened",
                info.call_id
            ))),
        }
    }

    /// The file (with a valid empty header) and its catalogue row, or the refusal,
    /// logged and counted. Runs in the call's writer task.
    pub(crate) async fn open(&self, meta: &CallMeta) -> Result<(File, String, i64)> {
        // A few metadata operations (statvfs, mkdir, create, one header write), on the
        // recorder's disk threads with the chunk writes.
        let this = self.clone();
        let meta2 = meta.clone();
        let r = self
            .inner
            .disk
            .run(move || this.create_file(&meta2))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string()).into()));
        let (file, rel) = match r {
            Ok(x) => x,
            Err(e) => {
                self.inner.stats.refused.fetch_add(1, Relaxed);
                tracing::error!(call_id = %meta.call_id, error = %e, "call will not be recorded");
                return Err(e);
            }
        };
        let started = time::unix_secs(meta.started_at);
        // The row is on the disk before the first frame is written (group commit,
        // awaited: no thread is held while the fsync runs).
        let inserted = self
            .inner
            .catalogue
            .insert_recording_async(&meta.call_id, &meta.number, &meta.caller, started, &rel)
            .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) => {
                // No row, no file: a file nobody can find would outlive its retention.
                let _ = tokio::fs::remove_file(self.file_path(&rel)).await;
                self.inner.stats.refused.fetch_add(1, Relaxed);
                tracing::error!(call_id = %meta.call_id, error = %e, "call will not be recorded");
                return Err(e);
            }
        };
        self.inner.stats.started.fetch_add(1, Relaxed);
        self.inner.stats.active.fetch_add(1, Relaxed);
        tracing::info!(call_id = %meta.call_id, id, path = %rel, "recording started");
        Ok((file, rel, id))
    }

    /// Checks the space, makes `YYYY/MM/DD/` and creates the file with a valid empty
    /// header. Returns the file and its path relative to the recordings directory.
    fn create_file(&self, meta: &CallMeta) -> Result<(File, String)> {
        let cfg = &self.inner.cfg;
        let free = (self.inner.free_space)(&cfg.dir)?;
        if free < cfg.disk_min_free_bytes {
            self.inner.stats.disk_alarm.store(true, Relaxed);
            return Err(RecorderError::DiskFull {
                dir: cfg.dir.display().to_string(),
                free,
                min: cfg.disk_min_free_bytes,
            });
        }
        self.inner.stats.disk_alarm.store(false, Relaxed);
        let (y, m, d, ..) =
            time::local_parts(time::unix_secs(meta.started_at), cfg.utc_offset_secs);
        let day = format!("{y:04}/{m:02}/{d:02}");
        std::fs::create_dir_all(cfg.dir.join(&day))?;
        let stem = disk::file_stem_for(&meta.call_id);
        // Two Call-IDs can sanitise to the same name; the catalogue keeps the real id.
        for n in 0..100 {
            let name = if n == 0 {
                format!("{stem}.wav")
            } else {
                format!("{stem}-{n}.wav")
            };
            let rel = format!("{day}/{name}");
            match File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(cfg.dir.join(&rel))
            {
                Ok(f) => {
                    f.write_all_at(&crate::wav::header(0), 0)?;
                    return Ok((f, rel));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    if disk::is_disk_full(&e) {
                        self.inner.stats.disk_alarm.store(true, Relaxed);
                    }
                    return Err(e.into());
                }
            }
        }
        Err(RecorderError::DuplicateCall(meta.call_id.clone()))
    }
}
