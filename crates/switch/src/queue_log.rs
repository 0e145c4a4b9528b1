//! `queue-events.jsonl`: every ACD state change, one JSON line each with the wall-clock
//! second, appended in order for the statistics and for an audit of who was offered what.
//!
//! Why a buffer and one `write` per batch: formatting a `serde_json::Value` straight into
//! the unbuffered `File` (`writeln!(file, "{line}")`) made one `write(2)` per fragment of
//! the JSON — dozens per event, several events per call. At 600 calls/s that was 12 % of
//! the runtime's worker threads (a profile with call graphs, issue 10). The lines of one
//! pass of the queue task now go out in one `write_all` when the pass ends: still in the
//! kernel before the task waits again, so a crash of the switch loses none of them.
//!
//! A write that failed half-way (disk full) leaves a fragment of a line at the end of
//! the file; so does a power cut. The next batch then starts with a newline, so the
//! fragment stays a bad line of its own and the lines after it are whole and readable.

use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Line<'a> {
    at: u64,
    event: &'a acd::AcdEvent,
}

pub struct EventLog<W: Write = std::fs::File> {
    out: W,
    buf: Vec<u8>,
    /// The output may end in the middle of a line (a failed write, a power cut).
    torn: bool,
}

impl EventLog {
    /// Opens (or creates) the log for appending.
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let torn = !ends_with_newline(&file)?;
        let mut log = EventLog::new(file);
        log.torn = torn;
        Ok(log)
    }
}

/// Whether a file is empty or its last byte is a newline.
fn ends_with_newline(file: &std::fs::File) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

impl<W: Write> EventLog<W> {
    pub fn new(out: W) -> Self {
        EventLog {
            out,
            buf: Vec::with_capacity(4096),
            torn: false,
        }
    }

    /// Adds one line to the batch (written by [`EventLog::flush`]).
    pub fn push(&mut self, at_unix_secs: u64, event: &acd::AcdEvent) {
        let line = Line {
            at: at_unix_secs,
            event,
        };
        // Serializing a derived `Serialize` into a Vec cannot fail; keep the log
        // line-aligned even if it ever did.
        let len = self.buf.len();
        if serde_json::to_writer(&mut self.buf, &line).is_err() {
            self.buf.truncate(len);
            return;
        }
        self.buf.push(b'\n');
    }

    /// Appends the batch in one write. On an error the batch is dropped (and the error
    /// returned): a half-written line is never followed by a retry of the whole batch,
    /// and the next batch starts on a line of its own.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.torn {
            self.buf.insert(0, b'\n');
        }
        let r = self.out.write_all(&self.buf);
        // After an error we cannot know how much of the batch reached the file.
        self.torn = r.is_err();
        self.buf.clear();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acd::{AcdEvent, CallId, EntryId};

    /// Counts `write` calls: what the kernel would see as system calls.
    #[derive(Default)]
    struct Counting {
        writes: usize,
        data: Vec<u8>,
    }

    impl Write for Counting {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.data.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Takes `room` bytes, then fails every write until `room` is given again.
    struct Filling {
        room: usize,
        data: Vec<u8>,
    }

    impl Write for Filling {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = b.len().min(self.room);
            self.room -= n;
            self.data.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn enqueued(i: u64) -> AcdEvent {
        AcdEvent::CallEnqueued {
            entry: EntryId(i),
            call: CallId(i),
            queue: "総合窓口".into(),
            priority: 5,
        }
    }

    #[test]
    fn a_line_cut_by_a_full_disk_does_not_swallow_the_next_one() {
        let mut log = EventLog::new(Filling {
            room: 20,
            data: Vec::new(),
        });
        log.push(1_765_000_000, &enqueued(1));
        log.flush().expect_err("the disk is full after 20 bytes");
        // Space again (an operator freed some): the next event must be readable.
        log.out.room = usize::MAX;
        log.push(1_765_000_001, &enqueued(2));
        log.flush().unwrap();
        log.push(1_765_000_002, &enqueued(3));
        log.flush().unwrap();
        let text = String::from_utf8(log.out.data.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            3,
            "the fragment, then two whole lines: {text:?}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(lines[0]).is_err());
        for (line, id) in lines[1..].iter().zip([2, 3]) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["event"], serde_json::to_value(enqueued(id)).unwrap());
        }
    }

    #[test]
    fn a_log_left_mid_line_is_continued_on_a_new_line() {
        let dir = std::env::temp_dir().join(format!("madoguchi-qlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("queue-events.jsonl");
        // What a power cut during a write can leave: a line without its end.
        std::fs::write(&path, b"{\"at\":1765000000,\"event\":{\"Call").unwrap();
        let mut log = EventLog::open(&path).unwrap();
        log.push(1_765_000_001, &enqueued(7));
        log.flush().unwrap();
        drop(log);
        // A whole log is continued as it is.
        let mut log = EventLog::open(&path).unwrap();
        log.push(1_765_000_002, &enqueued(8));
        log.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        for (line, id) in lines[1..].iter().zip([7, 8]) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["event"], serde_json::to_value(enqueued(id)).unwrap());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_batch_of_events_is_whole_lines_in_one_write() {
        let mut log = EventLog::new(Counting::default());
        let events: Vec<AcdEvent> = (0..5)
            .map(|i| AcdEvent::CallEnqueued {
                entry: EntryId(i),
                call: CallId(i),
                queue: "総合窓口 \"代表\"".into(),
                priority: 5,
            })
            .collect();
        for (i, e) in events.iter().enumerate() {
            log.push(1_765_000_000 + i as u64, e);
        }
        log.flush().unwrap();
        assert_eq!(log.out.writes, 1, "one write for the batch");
        let text = String::from_utf8(log.out.data.clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        for (i, (line, e)) in lines.iter().zip(&events).enumerate() {
            assert_eq!(line["at"], 1_765_000_000 + i as u64);
            assert_eq!(line["event"], serde_json::to_value(e).unwrap());
        }
        // Nothing pending: a second flush writes nothing.
        log.flush().unwrap();
        assert_eq!(log.out.writes, 1);
    }
}
