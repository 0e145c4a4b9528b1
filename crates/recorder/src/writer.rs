//! One call's writer: a tokio task that takes tap frames off the bounded channel, places
//! them on the timeline by arrival time, and hands whole slots to a disk job (`disk_jobs`).
//!
//! The task itself never touches the disk, so a slow disk cannot make it read the
//! channel late and fill it (the relay would then drop frames). At most one disk job
//! per call is in flight; audio that waits for it is the backlog, counted and capped.
//!
//! The task does not wake for each frame: it takes what the channel holds on its own
//! clock (every `take_every`, 500 ms with the default channel), so a recorded call
//! costs the runtime two wake-ups a second instead of one per relayed packet. The
//! frames carry their arrival time, so when they are taken does not move the audio;
//! the channel holds ten times what arrives between two takes.

use crate::catalogue::State;
use crate::disk;
use crate::disk_jobs::DiskJob;
use crate::error::{RecorderError, Result};
use crate::recorder::{CallMeta, Recorder};
use crate::time;
use crate::timeline::{Timeline, FLUSH_DELAY, SLOT_BYTES, SLOT_MS};
use crate::wav::{self, HEADER_LEN};
use media::TapFrame;
use serde::Serialize;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How often written slots go to the disk and the header is patched. Half a second
/// keeps the audio a killed process leaves behind within ~0.75 s of the kill
/// (`FLUSH_DELAY` of 240 ms plus this), inside the one second the city asks for.
const WRITE_EVERY: Duration = Duration::from_millis(500);
/// How often file data is forced to the disk (fdatasync), against power loss.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Frames a call's tap produces per second at most: 50 per leg.
const FRAMES_PER_SEC: u64 = 100;

/// How often the channel is emptied: a tenth of the time it takes to fill, at most
/// `WRITE_EVERY` (so slots are final when they are due), at least one frame time.
fn take_every(capacity: usize) -> Duration {
    let fill_ms = capacity as u64 * 1000 / FRAMES_PER_SEC;
    Duration::from_millis((fill_ms / 10).clamp(20, WRITE_EVERY.as_millis() as u64))
}

/// The result of a finished recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingInfo {
    pub id: i64,
    pub call_id: String,
    /// Relative to the recordings directory.
    pub path: String,
    pub state: State,
    pub started_at: i64,
    pub ended_at: i64,
    pub duration_ms: u64,
    /// Size of the file, header included.
    pub size_bytes: u64,
    pub sha256: String,
    /// Tap frames received and frames the timeline had to drop.
    pub frames: u64,
    pub frames_dropped: u64,
}

/// How far the writer is in making the file and its catalogue row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    Pending,
    Open(i64),
    Refused,
}

impl Opening {
    fn id(self) -> Option<i64> {
        match self {
            Opening::Open(id) => Some(id),
            Opening::Pending | Opening::Refused => None,
        }
    }
}

/// Waits until the writer has opened the recording or refused it: the id, or `None`.
/// A writer gone without a word (only a panic does that) counts as a refusal.
async fn settled(opening: &mut watch::Receiver<Opening>) -> Option<i64> {
    opening
        .wait_for(|s| *s != Opening::Pending)
        .await
        .ok()
        .and_then(|s| s.id())
}

/// Held by the call for as long as it lasts. Dropping it without `finish` also ends
/// the recording (as complete), but then nobody learns the result.
pub struct RecordingHandle {
    call_id: String,
    recorder: Recorder,
    opening: watch::Receiver<Opening>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<RecordingInfo>>>,
}

impl RecordingHandle {
    /// The catalogue id of this recording, once its row exists (`None` before, and when
    /// the recorder refused it).
    pub fn id(&self) -> Option<i64> {
        self.opening.borrow().id()
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Waits until the file and its catalogue row exist: the id, or `None` when the
    /// recorder refused the recording (`finish` tells why).
    pub async fn opened(&mut self) -> Option<i64> {
        settled(&mut self.opening).await
    }

    /// Notes an operator who took part (answered, or was transferred to). Waits for
    /// the recording's row if the call is younger than it.
    pub async fn add_operator(&self, operator: &str) -> Result<()> {
        match settled(&mut self.opening.clone()).await {
            Some(id) => self.recorder.catalogue().add_operator(id, operator).await,
            None => Err(RecorderError::NotRecorded(self.call_id.clone())),
        }
    }

    /// Ends the recording: writes what is left, the final header, fsyncs, hashes the
    /// file and marks the catalogue row complete. For a refused recording, the reason.
    pub async fn finish(mut self) -> Result<RecordingInfo> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("finish consumes the handle");
        match task.await {
            Ok(r) => r,
            Err(e) => Err(io::Error::other(format!("recording task failed: {e}")).into()),
        }
    }
}

pub(crate) fn spawn(recorder: Recorder, meta: CallMeta) -> (media::Tap, RecordingHandle) {
    let capacity = recorder.config().tap_capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (open_tx, open_rx) = watch::channel(Opening::Pending);
    let w = CallWriter {
        recorder: recorder.clone(),
        id: 0,
        timeline: Timeline::new(),
        t0: Instant::now(),
        file: None,
        job: None,
        pending: Vec::new(),
        next_offset: 0,
        last_sync: Instant::now(),
        frames: 0,
        synced_dir: false,
        path: PathBuf::new(),
    };
    let call_id = meta.call_id.clone();
    let task = tokio::spawn(w.run(rx, stop_rx, open_tx, meta, take_every(capacity)));
    let handle = RecordingHandle {
        call_id,
        recorder,
        opening: open_rx,
        stop: Some(stop_tx),
        task: Some(task),
    };
    (tx, handle)
}

/// What a disk job gives back: the file, the buffer (reused), and how it went.
type JobOutput = (File, Vec<u8>, io::Result<()>);

struct CallWriter {
    recorder: Recorder,
    id: i64,
    timeline: Timeline,
    t0: Instant,
    /// The file, when no disk job holds it.
    file: Option<File>,
    job: Option<DiskJob<JobOutput>>,
    /// Slots taken off the timeline, waiting for the disk.
    pending: Vec<u8>,
    /// Offset in the data chunk where `pending` starts.
    next_offset: u64,
    last_sync: Instant,
    frames: u64,
    synced_dir: bool,
    path: PathBuf,
}

impl CallWriter {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<TapFrame>,
        mut stop: oneshot::Receiver<()>,
        open_tx: watch::Sender<Opening>,
        meta: CallMeta,
        take_every: Duration,
    ) -> Result<RecordingInfo> {
        // The file and its row are made while the audio already arrives: it waits in
        // the timeline and the backlog (`file` is None, so no disk job starts).
        let recorder = self.recorder.clone();
        let meta2 = meta.clone();
        let opening = async move { recorder.open(&meta2).await };
        tokio::pin!(opening);
        let mut rel = None;
        let mut tick = tokio::time::interval(take_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_write = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                // Dropping the handle without `finish` also ends up here.
                _ = &mut stop => break,
                r = &mut opening, if rel.is_none() => {
                    rel = Some(self.opened(r, &open_tx)?);
                }
                _ = tick.tick() => {
                    // Take first: a frame must be placed before its slot is written.
                    self.take(&mut rx);
                    if last_write.elapsed() + take_every / 2 >= WRITE_EVERY {
                        last_write = tokio::time::Instant::now();
                        self.write_due().await;
                    }
                }
            }
        }
        // A call shorter than the file's creation: its audio is all in memory.
        let rel = match rel {
            Some(rel) => rel,
            None => self.opened(opening.await, &open_tx)?,
        };
        // Frames that arrived before the hangup are still in the channel.
        rx.close();
        self.take(&mut rx);
        // The channel's blocks go now, not after the disk waits of `end`.
        drop(rx);
        self.end(meta, rel).await
    }

    /// The file and row are there (the writer goes on), or refused (it ends: the audio
    /// held so far is let go and the relay finds the tap closed).
    fn opened(
        &mut self,
        r: Result<(File, String, i64)>,
        open_tx: &watch::Sender<Opening>,
    ) -> Result<String> {
        match r {
            Ok((file, rel, id)) => {
                self.file = Some(file);
                self.id = id;
                self.path = self.recorder.file_path(&rel);
                let _ = open_tx.send(Opening::Open(id));
                Ok(rel)
            }
            Err(e) => {
                let stats = &self.recorder.inner.stats;
                stats
                    .backlog_bytes
                    .fetch_sub(self.pending.len() as u64, Relaxed);
                let _ = open_tx.send(Opening::Refused);
                Err(e)
            }
        }
    }

    /// Places every frame the channel holds now. Bounded by the channel's capacity
    /// plus what the relay adds meanwhile (at most one frame per 10 ms per leg).
    fn take(&mut self, rx: &mut mpsc::Receiver<TapFrame>) {
        let before = self.timeline.stats;
        let limit = rx.max_capacity() * 2;
        for _ in 0..limit {
            let Ok(f) = rx.try_recv() else { break };
            // The relay stamps each frame when its packet arrived, so time spent in
            // the channel (waiting for this take, a busy runtime) does not move the
            // audio.
            let slot = f.arrival.saturating_duration_since(self.t0).as_millis() as u64 / SLOT_MS;
            self.timeline.place(&f, slot);
        }
        let after = self.timeline.stats;
        let dropped = (after.late - before.late) + (after.ahead - before.ahead);
        let n = (after.placed - before.placed) + dropped;
        if n == 0 {
            return;
        }
        self.frames += n;
        let stats = &self.recorder.inner.stats;
        stats.frames.fetch_add(n, Relaxed);
        stats.frames_dropped.fetch_add(dropped, Relaxed);
    }

    fn now_slot(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64 / SLOT_MS
    }

    /// Moves slots old enough to be final to `pending`, and starts a disk job when the
    /// previous one is done.
    async fn write_due(&mut self) {
        let until = self.now_slot().saturating_sub(FLUSH_DELAY);
        let before = self.pending.len();
        self.timeline.drain_until(until, &mut self.pending);
        self.note_backlog(before);
        if let Some(job) = &self.job {
            if !job.is_finished() {
                return;
            }
        }
        self.collect_job().await;
        let sync = self.last_sync.elapsed() >= SYNC_EVERY;
        self.start_job(sync);
    }

    /// Counts new backlog and drops the oldest audio beyond the cap. Dropped audio
    /// leaves a hole (silence) at its place, so the channels stay aligned.
    fn note_backlog(&mut self, before: usize) {
        let stats = &self.recorder.inner.stats;
        stats
            .backlog_bytes
            .fetch_add((self.pending.len() - before) as u64, Relaxed);
        let cap = self.recorder.config().max_backlog_bytes.max(SLOT_BYTES);
        if self.pending.len() > cap {
            let excess = self.pending.len() - cap;
            let excess = excess + (SLOT_BYTES - excess % SLOT_BYTES) % SLOT_BYTES;
            self.pending.drain(..excess);
            self.next_offset += excess as u64;
            stats.backlog_bytes.fetch_sub(excess as u64, Relaxed);
            stats
                .backlog_dropped_bytes
                .fetch_add(excess as u64, Relaxed);
            tracing::warn!(
                id = self.id,
                bytes = excess,
                "disk too slow: recording audio dropped"
            );
        }
    }

    /// Waits for the disk job in flight, if any, and takes the file back.
    async fn collect_job(&mut self) {
        let Some(job) = self.job.take() else { return };
        match job.await {
            Ok((file, mut buf, r)) => {
                let stats = &self.recorder.inner.stats;
                stats.backlog_bytes.fetch_sub(buf.len() as u64, Relaxed);
                match r {
                    Ok(()) => {
                        stats.bytes_written.fetch_add(buf.len() as u64, Relaxed);
                    }
                    Err(e) => {
                        stats.write_errors.fetch_add(1, Relaxed);
                        if disk::is_disk_full(&e) {
                            stats.disk_alarm.store(true, Relaxed);
                        }
                        tracing::error!(id = self.id, error = %e, "recording write failed; audio lost");
                    }
                }
                buf.clear();
                // Reuse the buffer if nothing accumulated meanwhile.
                if self.pending.is_empty() {
                    self.pending = buf;
                }
                self.file = Some(file);
            }
            Err(e) => {
                // The disk job panicked: the file handle is gone with it.
                self.recorder.inner.stats.write_errors.fetch_add(1, Relaxed);
                tracing::error!(id = self.id, error = %e, "recording disk job failed");
            }
        }
    }

    fn start_job(&mut self, sync: bool) {
        let Some(file) = self.file.take() else { return };
        if self.pending.is_empty() && !sync {
            self.file = Some(file);
            return;
        }
        let buf = std::mem::take(&mut self.pending);
        let offset = self.next_offset;
        self.next_offset += buf.len() as u64;
        if sync {
            self.last_sync = Instant::now();
        }
        // Once per call: the file's directory, so a power cut does not lose the file's
        // name; the day/month/year directories above it only until one call of the day
        // has synced them (only a new folder's name can be lost).
        let dirs: Vec<PathBuf> = if self.synced_dir {
            Vec::new()
        } else {
            self.recorder.dirs_to_sync(&self.path)
        };
        self.synced_dir = true;
        // Only a call's first job has folders to report back.
        let recorder = (!dirs.is_empty()).then(|| self.recorder.clone());
        self.job = Some(self.recorder.inner.disk.run(move || {
            let r = write_chunk(&file, &buf, offset, sync, &dirs);
            if let (Ok(()), Some(recorder)) = (&r, recorder) {
                recorder.dirs_synced(&dirs);
            }
            (file, buf, r)
        }));
    }

    /// The hangup: everything left, the final header, fsync, hash, catalogue.
    async fn end(mut self, meta: CallMeta, rel: String) -> Result<RecordingInfo> {
        let before = self.pending.len();
        self.timeline.drain_all(&mut self.pending);
        self.note_backlog(before);
        // What waits for the disk from here is the audio in `pending`, not the
        // timeline's slots: at a disk stall thousands of calls may be here at once.
        self.timeline.release();
        self.collect_job().await;
        self.start_job(true);
        self.collect_job().await;
        let stats = &self.recorder.inner.stats;
        stats.active.fetch_sub(1, Relaxed);
        let data_len = self.next_offset;
        let path = self.path.clone();
        let file = self.file.take();
        let (size, sha) = self
            .recorder
            .inner
            .disk
            .run(move || -> io::Result<(u64, String)> {
                if let Some(f) = &file {
                    // Holes left by dropped backlog at the very end must still be counted.
                    if f.metadata()?.len() < HEADER_LEN + data_len {
                        f.set_len(HEADER_LEN + data_len)?;
                    }
                    wav::patch_sizes(f, data_len)?;
                    f.sync_all()?;
                }
                let size = std::fs::metadata(&path)?.len();
                Ok((size, disk::sha256_file(&path)?))
            })
            .await
            .map_err(|e| io::Error::other(format!("final write failed: {e}")))??;
        let started_at = time::unix_secs(meta.started_at);
        let duration_ms = wav::duration_ms(data_len);
        let ended_at = started_at + (duration_ms / 1000) as i64;
        let ended_wall = time::unix_secs(SystemTime::now()).max(ended_at);
        // The row waits for a group commit (an fsync), awaited: no thread is held.
        self.recorder
            .catalogue()
            .finish(
                self.id,
                State::Complete,
                ended_wall,
                duration_ms as i64,
                size as i64,
                &sha,
            )
            .await?;
        stats.completed.fetch_add(1, Relaxed);
        tracing::info!(id = self.id, call_id = %meta.call_id, duration_ms, size, "recording complete");
        Ok(RecordingInfo {
            id: self.id,
            call_id: meta.call_id,
            path: rel,
            state: State::Complete,
            started_at,
            ended_at: ended_wall,
            duration_ms,
            size_bytes: size,
            sha256: sha,
            frames: self.frames,
            frames_dropped: self.timeline.stats.late + self.timeline.stats.ahead,
        })
    }
}

/// Data first, then the header that describes it, so a header never claims audio that
/// was not written; then, once a second, the data to the platter.
fn write_chunk(f: &File, buf: &[u8], offset: u64, sync: bool, dirs: &[PathBuf]) -> io::Result<()> {
    if !buf.is_empty() {
        f.write_all_at(buf, HEADER_LEN + offset)?;
        wav::patch_sizes(f, offset + buf.len() as u64)?;
    }
    if sync {
        f.sync_data()?;
    }
    for d in dirs {
        disk::sync_dir(d)?;
    }
    Ok(())
}
