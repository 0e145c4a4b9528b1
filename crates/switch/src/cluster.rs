//! One node of several behind Kamailio's dispatcher (`[cluster]`, ARCHITECTURE.md
//! "Scaling beyond one machine"): what a node shares so that its death loses as little
//! as possible.
//!
//! A waiting caller's dialog dies with the node that holds it (its relay, its
//! transactions), so what can be saved is the caller's place: each node keeps the list
//! of its waiting callers (number, line, queue, order) in `<shared_dir>/<node>.json`,
//! rewritten on change (at most every 200 ms) and at least every second as a heartbeat.
//! A node whose file is older than `takeover_secs` is dead: the first node to rename the
//! file (an atomic rename, so only one wins) puts a callback for each of its callers in
//! its own line, in their original order; a node restarting claims its own old file
//! the same way. The file I/O runs on its own thread, never on the queue task.

use crate::queue::QueueCmd;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A caller waiting in this node's queue, as the other nodes need them to call back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    /// The ACD's entry on the node that wrote it (its order of arrival there).
    pub entry: u64,
    /// The asserted caller ("anonymous" when withheld: cannot be called back).
    pub caller: String,
    /// The number the caller dialled (`[[number]] number`): the callback's line.
    pub line: String,
    pub queue: String,
    pub priority: u8,
    /// Unix milliseconds when they joined the line.
    pub since_ms: u64,
    /// The number left with the callback key, if they pressed it.
    pub callback: Option<String>,
}

/// A dead node's caller, checked, for the queue task to put in line as a callback.
#[derive(Debug)]
pub struct Handover {
    pub caller: String,
    /// National form, allowed by `dialplan::dial::callback_number_allowed`.
    pub number: String,
    pub line: dialplan::Number,
    pub queue: String,
    pub priority: u8,
}

/// The queue task's side: the callers waiting here, handed to the cluster thread when
/// the list changed (one send per batch of queue commands, never a file write).
pub struct Published {
    tx: Sender<Vec<Waiting>>,
    waiting: std::collections::BTreeMap<u64, Waiting>,
    changed: bool,
    /// Ids for callbacks taken over from a dead node (no call of ours behind them).
    next_call: u64,
}

impl Published {
    pub fn new(tx: Sender<Vec<Waiting>>) -> Published {
        Published {
            tx,
            waiting: Default::default(),
            changed: true,
            next_call: 1 << 62,
        }
    }

    /// A caller joined the line (`callback`: a number to call back instead).
    pub fn add(
        &mut self,
        entry: u64,
        caller: &str,
        line: &str,
        queue: &str,
        priority: u8,
        callback: Option<String>,
    ) {
        let w = Waiting {
            entry,
            caller: caller.to_string(),
            line: line.to_string(),
            queue: queue.to_string(),
            priority,
            since_ms: unix_ms(),
            callback,
        };
        self.waiting.insert(entry, w);
        self.changed = true;
    }

    /// The caller pressed the callback key and left the line: call `number` back.
    pub fn callback(&mut self, entry: u64, number: String) {
        if let Some(w) = self.waiting.get_mut(&entry) {
            w.callback = Some(number);
            self.changed = true;
        }
    }

    pub fn next_call(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }

    /// Drop the callers the ACD no longer `holds` (answered, abandoned, overflowed);
    /// send the list if anything changed.
    pub fn publish(&mut self, holds: impl Fn(u64) -> bool) {
        let before = self.waiting.len();
        self.waiting.retain(|e, _| holds(*e));
        if self.changed || self.waiting.len() != before {
            let _ = self.tx.send(self.waiting.values().cloned().collect());
            self.changed = false;
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct NodeFile {
    node: String,
    alive_ms: u64,
    waiting: Vec<Waiting>,
}

/// Start the node's shared-state thread; the queue task publishes its waiting callers
/// on the returned sender.
pub fn start(
    cfg: &dialplan::Config,
    queue: tokio::sync::mpsc::Sender<QueueCmd>,
) -> Option<Sender<Vec<Waiting>>> {
    let c = cfg.cluster.clone()?;
    let dir = PathBuf::from(&c.shared_dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::error!(dir = %dir.display(), error = %e, "cluster: cannot create the shared folder; waiting callers are not shared");
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let node = Node {
        cfg: cfg.clone(),
        me: c.node,
        dir,
        takeover: Duration::from_secs(c.takeover_secs.into()),
        queue,
    };
    std::thread::Builder::new()
        .name("cluster".into())
        .spawn(move || node.run(rx))
        .map_err(|e| tracing::error!(error = %e, "cluster: cannot start its thread"))
        .ok()?;
    Some(tx)
}

struct Node {
    cfg: dialplan::Config,
    me: String,
    dir: PathBuf,
    takeover: Duration,
    queue: tokio::sync::mpsc::Sender<QueueCmd>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Node {
    fn run(self, rx: Receiver<Vec<Waiting>>) {
        // Our own file from before a restart: those callers were waiting here when the
        // process ended, and nobody else took them yet.
        let own = self.dir.join(format!("{}.json", self.me));
        if own.exists() {
            self.claim(&own);
        }
        let mut waiting = Vec::new();
        let mut dirty = true;
        let mut last_write: Option<Instant> = None;
        let mut last_scan = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(list) => {
                    waiting = list;
                    // Only the latest list matters.
                    while let Ok(list) = rx.try_recv() {
                        waiting = list;
                    }
                    dirty = true;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let since = last_write.map_or(Duration::MAX, |t| t.elapsed());
            if (dirty && since >= Duration::from_millis(200)) || since >= Duration::from_secs(1) {
                self.write(&own, &waiting);
                last_write = Some(Instant::now());
                dirty = false;
            }
            if last_scan.elapsed() >= Duration::from_secs(1) {
                self.scan();
                last_scan = Instant::now();
            }
        }
    }

    /// Replace our file atomically (write aside, sync, rename over).
    fn write(&self, path: &Path, waiting: &[Waiting]) {
        let file = NodeFile {
            node: self.me.clone(),
            alive_ms: unix_ms(),
            waiting: waiting.to_vec(),
        };
        let tmp = self.dir.join(format!(".{}.json.tmp", self.me));
        let r = serde_json::to_vec(&file)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_data()
            })
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = r {
            tracing::warn!(path = %path.display(), error = %e, "cluster: could not write the waiting callers");
        }
    }

    /// Other nodes' files that stopped being refreshed.
    fn scan(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = unix_ms();
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(node) = name.strip_suffix(".json") else {
                continue;
            };
            if node == self.me || node.starts_with('.') {
                continue;
            }
            let Some(f) = read(&e.path()) else { continue };
            if now.saturating_sub(f.alive_ms) >= self.takeover.as_millis() as u64 {
                tracing::warn!(
                    node,
                    silent_ms = now.saturating_sub(f.alive_ms),
                    "cluster: node silent; taking its waiting callers"
                );
                self.claim(&e.path());
            }
        }
    }

    /// Rename the file to ours (only one node can) and call its callers back.
    fn claim(&self, path: &Path) {
        let taken = path.with_extension(format!("json.taken-by-{}-{}", self.me, unix_ms()));
        if std::fs::rename(path, &taken).is_err() {
            // Another node was first (or the file went away): theirs to call back.
            return;
        }
        let Some(file) = read(&taken) else {
            tracing::error!(path = %taken.display(), "cluster: unreadable file of a dead node; its waiting callers are lost");
            return;
        };
        let mut waiting = file.waiting;
        // Their original order: priority first, then arrival (as the ACD ordered them).
        waiting.sort_by_key(|w| (std::cmp::Reverse(w.priority), w.since_ms, w.entry));
        let mut callers = Vec::new();
        for w in waiting {
            let asked = w.callback.as_deref().unwrap_or(&w.caller);
            match dialplan::dial::callback_number_allowed(&self.cfg, asked) {
                Ok(number) => callers.push(Handover {
                    line: self.line(&w.line),
                    caller: w.caller,
                    number,
                    queue: w.queue,
                    priority: w.priority,
                }),
                Err(e) => {
                    tracing::warn!(node = %file.node, caller = %w.caller, reason = %e.reason_ja, "cluster: a dead node's waiting caller cannot be called back")
                }
            }
        }
        tracing::info!(node = %file.node, callers = callers.len(), "cluster: calling back a dead node's waiting callers");
        if !callers.is_empty()
            && self
                .queue
                .blocking_send(QueueCmd::TakeOver {
                    from: file.node,
                    callers,
                })
                .is_err()
        {
            tracing::error!("cluster: the queue task is gone");
        }
    }

    /// The configured line by its number (the nodes share one configuration).
    fn line(&self, number: &str) -> dialplan::Number {
        self.cfg
            .numbers
            .iter()
            .find(|n| n.number == number)
            .or(self.cfg.numbers.first())
            .cloned()
            .unwrap_or(dialplan::Number {
                number: number.to_string(),
                name: String::new(),
                queue: String::new(),
                department: None,
                survey: false,
            })
    }
}

fn read(path: &Path) -> Option<NodeFile> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path, node: &str) -> dialplan::Config {
        let mut c = dialplan::default_config();
        c.cluster = Some(dialplan::Cluster {
            node: node.into(),
            shared_dir: dir.display().to_string(),
            takeover_secs: 3,
        });
        c
    }

    fn waiting(entry: u64, caller: &str, since_ms: u64) -> Waiting {
        Waiting {
            entry,
            caller: caller.into(),
            line: "0246221111".into(),
            queue: "general".into(),
            priority: 0,
            since_ms,
            callback: None,
        }
    }

    #[test]
    fn a_silent_nodes_callers_are_claimed_once_in_order_and_checked() {
        let dir = std::env::temp_dir().join(format!("madoguchi-cluster-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dead = NodeFile {
            node: "a".into(),
            alive_ms: unix_ms() - 10_000,
            waiting: vec![
                waiting(7, "0312345679", 2_000),
                waiting(3, "anonymous", 1_500),
                waiting(5, "0312345678", 1_000),
            ],
        };
        std::fs::write(dir.join("a.json"), serde_json::to_vec(&dead).unwrap()).unwrap();
        // A live node's file is left alone.
        let live = NodeFile {
            node: "c".into(),
            alive_ms: unix_ms(),
            waiting: vec![waiting(1, "0312345670", 1)],
        };
        std::fs::write(dir.join("c.json"), serde_json::to_vec(&live).unwrap()).unwrap();
        let (qtx, mut qrx) = tokio::sync::mpsc::channel(8);
        let node = |name: &str| Node {
            cfg: cfg(&dir, name),
            me: name.into(),
            dir: dir.clone(),
            takeover: Duration::from_secs(3),
            queue: qtx.clone(),
        };
        node("b").scan();
        // A second survivor finds nothing left to take.
        node("d").scan();
        let Some(QueueCmd::TakeOver { from, callers }) = qrx.try_recv().ok() else {
            panic!("no takeover");
        };
        assert_eq!(from, "a");
        let numbers: Vec<&str> = callers.iter().map(|c| c.number.as_str()).collect();
        // Original order; the withheld number cannot be called back.
        assert_eq!(numbers, ["0312345678", "0312345679"]);
        assert_eq!(callers[0].line.number, "0246221111");
        assert!(qrx.try_recv().is_err(), "claimed twice");
        assert!(dir.join("c.json").exists());
        assert!(!dir.join("a.json").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
