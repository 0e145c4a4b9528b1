//! `queue-events.jsonl`: every ACD state change, one JSON line each with the wall-clock
//! second, appended in order for the statistics and for an audit of who was offered what.
//!
//! Why a buffer and one `write` per batch: formatting a `serde_json::Value` straight into
//! the unbuffered `File` (`writeln!(file, "{line}")`) made one `write(2)` per fragment of
//! the JSON — dozens per event, several events per call. At 600 calls/s that was 12 % of
//! the runtime's worker threads (a profile with call graphs, issue 10). The lines of one
//! pass of the queue task now go out in one `write_all` when the pass ends: still in the
//! kernel before the task waits again, so a crash of the switch loses none of them.

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
}

impl EventLog {
    /// Opens (or creates) the log for appending.
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(EventLog::new(file))
    }
}

impl<W: Write> EventLog<W> {
    pub fn new(out: W) -> Self {
        EventLog {
            out,
            buf: Vec::with_capacity(4096),
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
    /// returned): a half-written line is never followed by a retry of the whole batch.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = self.out.write_all(&self.buf);
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
