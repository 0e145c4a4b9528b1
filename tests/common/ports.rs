//! Ports for the processes a test starts, leased so that no two tests get the same ones.
//!
//! Whatever can bind port 0 does (the switch's listeners, the agents' SIP sockets) and
//! the port is read back. What cannot — an RTP *range* in a config file, or an address a
//! sidecar must be told before it starts — is leased here: blocks below the kernel's
//! ephemeral range (32768–60999, so no port-0 bind of any process lands in one), each
//! guarded by an advisory lock file in a folder shared by every test process on the
//! machine (other test binaries and other checkouts' runs too). A lease holds its lock
//! until it is dropped or its process ends, so "probed free, released, taken by someone
//! else before use" cannot happen between tests.

use std::fs::File;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Blocks of this many ports, from `BLOCKS_FROM`; single ports above them.
const BLOCK: u16 = 20;
const BLOCKS_FROM: u16 = 20000;
const BLOCKS: u32 = 500; // 20000..30000
const SINGLES_FROM: u16 = 30000;
const SINGLES: u32 = 2700; // 30000..32700, below the ephemeral range

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Ports `base..base + len` held for this test until dropped.
pub struct PortLease {
    pub base: u16,
    pub len: u16,
    _locks: Vec<File>,
}

impl PortLease {
    /// The inclusive range, as a config's `[first, last]` wants it.
    pub fn range(&self) -> (u16, u16) {
        (self.base, self.base + self.len - 1)
    }
}

fn lock_dir() -> PathBuf {
    let d = std::env::temp_dir().join("madoguchi-test-ports");
    std::fs::create_dir_all(&d).expect("the port-lease folder");
    d
}

/// Take the lock of one slot, or `None` when another test holds it.
fn try_slot(dir: &std::path::Path, first_port: u16) -> Option<File> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(first_port.to_string()))
        .expect("a port-lease file");
    f.try_lock().ok().map(|()| f)
}

/// Lease `n` consecutive ports (whole blocks of 20) that no other test holds and that
/// nothing else on the machine has bound right now.
pub fn lease(n: u16) -> PortLease {
    let blocks = n.div_ceil(BLOCK).max(1) as u32;
    let dir = lock_dir();
    // Start where other processes are unlikely to be, then walk the ring.
    let spread = std::process::id().wrapping_mul(2654435761) % BLOCKS;
    for _ in 0..BLOCKS {
        let k = (spread + NEXT.fetch_add(blocks, Ordering::Relaxed)) % BLOCKS;
        if k + blocks > BLOCKS {
            continue;
        }
        let base = BLOCKS_FROM + (k as u16) * BLOCK;
        let mut locks = Vec::new();
        for b in 0..blocks as u16 {
            match try_slot(&dir, base + b * BLOCK) {
                Some(f) => locks.push(f),
                None => break,
            }
        }
        if locks.len() as u32 != blocks {
            continue;
        }
        // Held by us now; still skip ports a non-test process on this machine has bound.
        if (base..base + n).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok()) {
            return PortLease {
                base,
                len: n,
                _locks: locks,
            };
        }
    }
    panic!("no free block of {n} ports below the ephemeral range");
}

/// One port (UDP and TCP) for an address a process must be told before it starts,
/// held for the rest of this test process.
pub fn free_port() -> u16 {
    let dir = lock_dir();
    let spread = std::process::id().wrapping_mul(2654435761) % SINGLES;
    for _ in 0..SINGLES {
        let p = SINGLES_FROM + ((spread + NEXT.fetch_add(1, Ordering::Relaxed)) % SINGLES) as u16;
        let Some(lock) = try_slot(&dir, p) else {
            continue;
        };
        if UdpSocket::bind(("127.0.0.1", p)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        {
            // A test process is short-lived: keeping the lock until it exits is simpler
            // than threading a lease through every caller.
            std::mem::forget(lock);
            return p;
        }
    }
    panic!("no free single port below the ephemeral range");
}

/// `n` consecutive ports held for the rest of this test process (see `lease` for a block
/// given back when dropped).
pub fn port_block(n: u16) -> u16 {
    let l = lease(n);
    let base = l.base;
    std::mem::forget(l);
    base
}
