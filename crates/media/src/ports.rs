//! RTP/RTCP port pairs: an even RTP port and the next odd one for RTCP (RFC 3550
//! §11). The allocator keeps the pairs it has not handed out in a queue, least
//! recently freed first, so a just-freed port rests before it is used again (late
//! packets of the previous call do not land in the next one). A pair is still bound
//! before it is handed out: a port another program holds is skipped and tried again
//! later. A pair returns to the queue when its `PortLease` drops, after its sockets.
//!
//! Why a queue and not a scan of the range: when every pair is in use — at an overload,
//! when calls wait in the queue — a scan probed each of the 5,000 pairs with
//! socket/bind/close for every refused call, on the runtime's worker threads; at 5x
//! the sustainable rate that was 95 % of the switch's CPU and stalled it (issue 10).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Pairs tried per allocation before giving up: only ports held by other programs
/// fail to bind, and a range that overlaps many of them is a configuration to fix
/// (`madoguchi check` cannot see other programs), not a reason to probe thousands.
const MAX_PROBES: usize = 256;

#[derive(Debug, Error)]
pub enum PortError {
    #[error("port range {min}-{max} holds no even/odd pair")]
    BadRange { min: u16, max: u16 },
    #[error("all {pairs} RTP port pairs in {min}-{max} are in use")]
    Exhausted { min: u16, max: u16, pairs: usize },
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Hands out RTP/RTCP port pairs from `min..=max` on one address. Cheap to clone
/// and share between tasks.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ip: IpAddr,
    first: u16,
    pairs: usize,
    /// Indexes of the pairs not leased, least recently freed first.
    free: Mutex<VecDeque<u16>>,
    probes: AtomicU64,
    foreign: AtomicU64,
}

impl Inner {
    fn free(&self) -> std::sync::MutexGuard<'_, VecDeque<u16>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn port(&self, index: u16) -> u16 {
        self.first + 2 * index
    }
}

impl PortAllocator {
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Result<Self, PortError> {
        let pairs = pairs_in(min, max);
        if pairs == 0 {
            return Err(PortError::BadRange { min, max });
        }
        Ok(PortAllocator {
            inner: Arc::new(Inner {
                ip,
                first: min + min % 2,
                pairs,
                free: Mutex::new(rotated(pairs)),
                probes: AtomicU64::new(0),
                foreign: AtomicU64::new(0),
            }),
        })
    }

    pub fn ip(&self) -> IpAddr {
        self.inner.ip
    }

    /// Number of pairs in the range (in use or not).
    pub fn capacity(&self) -> usize {
        self.inner.pairs
    }

    /// Pairs not leased by us (some may be held by other programs).
    pub fn available(&self) -> usize {
        self.inner.free().len()
    }

    /// Pairs leased by us now.
    pub fn in_use(&self) -> usize {
        self.inner.pairs - self.available()
    }

    /// How many pairs were tried by binding them, in all.
    pub fn probes(&self) -> u64 {
        self.inner.probes.load(Relaxed)
    }

    /// How many of those failed because another program held a port.
    pub fn foreign(&self) -> u64 {
        self.inner.foreign.load(Relaxed)
    }

    /// Binds the pair that has rested longest. Per call, not per packet; the lock is
    /// not held while binding, so two callers never wait on each other's syscalls and
    /// never get one pair (it left the queue before the bind).
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let inner = &self.inner;
        // Each pair in the queue at most once: a port found held goes to the back.
        let tries = inner.free().len().min(MAX_PROBES);
        for _ in 0..tries {
            let Some(index) = inner.free().pop_front() else {
                break;
            };
            inner.probes.fetch_add(1, Relaxed);
            let port = inner.port(index);
            let bound = UdpSocket::bind(SocketAddr::new(inner.ip, port)).and_then(|rtp| {
                let rtcp = UdpSocket::bind(SocketAddr::new(inner.ip, port + 1))?;
                Ok((rtp, rtcp))
            });
            let (rtp, rtcp) = match bound {
                Ok(s) => s,
                Err(e) => {
                    // Someone else holds it: to the back of the queue, tried again later.
                    inner.foreign.fetch_add(1, Relaxed);
                    tracing::debug!(port, error = %e, "RTP port held by another program");
                    inner.free().push_back(index);
                    continue;
                }
            };
            let lease = PortLease {
                pool: inner.clone(),
                index,
            };
            rtp.set_nonblocking(true)?;
            rtcp.set_nonblocking(true)?;
            tracing::trace!(port, "allocated RTP port pair");
            return Ok(PortPair { rtp, rtcp, lease });
        }
        Err(PortError::Exhausted {
            min: inner.first,
            max: (inner.first as u32 + 2 * inner.pairs as u32 - 1) as u16,
            pairs: inner.pairs,
        })
    }
}

/// Even/odd pairs in `min..=max`: the RTP port even, RTCP on the next (RFC 3550 §11).
/// `madoguchi check` compares it with `max_calls` (`dialplan::capacity`).
pub fn pairs_in(min: u16, max: u16) -> usize {
    match min.checked_add(min % 2).filter(|f| *f != 0) {
        Some(f) if max > f => usize::from(max - f).div_ceil(2),
        _ => 0,
    }
}

/// Every pair once, from a random one on: two processes given the same range (a second
/// node on one host, a test beside a running switch) do not start on the same ports.
fn rotated(pairs: usize) -> VecDeque<u16> {
    let start = rand::random_range(0..pairs);
    (start..pairs).chain(0..start).map(|i| i as u16).collect()
}

/// Gives its pair back to the allocator when dropped. Kept beside the pair's sockets
/// and declared after them, so that the sockets close first (struct fields drop in
/// declaration order) and the pair is free when it is handed out again.
#[derive(Debug)]
pub struct PortLease {
    pool: Arc<Inner>,
    index: u16,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.free().push_back(self.index);
    }
}

/// A bound RTP socket on an even port and its RTCP socket on the next port, both
/// non-blocking (ready for `tokio::net::UdpSocket::from_std`). Dropping it frees
/// both ports.
#[derive(Debug)]
pub struct PortPair {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    lease: PortLease,
}

impl PortPair {
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().expect("bound socket has an address")
    }
    pub fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().expect("bound socket has an address")
    }
    pub fn rtp_port(&self) -> u16 {
        self.lease.pool.port(self.lease.index)
    }
    /// The sockets, and the lease to keep after them (drop it once they are closed).
    pub fn into_sockets(self) -> (UdpSocket, UdpSocket, PortLease) {
        (self.rtp, self.rtcp, self.lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // Each test uses its own range: tests run in parallel in one process.
    #[test]
    fn pairs_are_even_odd_and_distinct() {
        let a = PortAllocator::new(LO, 41001, 41020).unwrap();
        assert_eq!(a.capacity(), 9); // 41002..=41019
        let p1 = a.allocate().unwrap();
        let p2 = a.allocate().unwrap();
        for p in [&p1, &p2] {
            assert_eq!(p.rtp_port() % 2, 0);
            assert_eq!(p.rtcp_addr().port(), p.rtp_port() + 1);
            assert!((41002..=41019).contains(&p.rtp_port()));
        }
        assert_ne!(p1.rtp_port(), p2.rtp_port());
    }

    #[test]
    fn skips_ports_in_use_and_frees_on_drop() {
        // Someone else holds a port: the kernel picks it (port 0), and the range is laid
        // around it so that it is the RTCP or RTP port of the range's first pair.
        let squatter = UdpSocket::bind((LO, 0)).unwrap();
        let held = squatter.local_addr().unwrap().port();
        let base = held & !1;
        let a = PortAllocator::new(LO, base, base + 5).unwrap();
        assert_eq!(a.capacity(), 3);
        // Every pair handed out avoids the held port, and the pair it blocks is never
        // handed out: at most the two other pairs, then Exhausted.
        let mut pairs = Vec::new();
        loop {
            match a.allocate() {
                Ok(p) => {
                    assert_ne!(p.rtp_port(), base, "the pair of a port in use");
                    assert!((base + 2..=base + 4).contains(&p.rtp_port()));
                    pairs.push(p);
                }
                Err(PortError::Exhausted { pairs: 3, .. }) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(pairs.len() <= 2, "more pairs than free ones");
        }
        drop(pairs);
        drop(squatter);
        // Freed ports are available again (the held one went to the back of the queue): the
        // squatter's pair comes back within one round.
        let again: Vec<PortPair> = (0..3).filter_map(|_| a.allocate().ok()).collect();
        assert!(
            again.iter().any(|p| p.rtp_port() == base),
            "the freed pair {base} was not handed out again: {:?}",
            again.iter().map(PortPair::rtp_port).collect::<Vec<_>>()
        );
    }

    /// Issue 10 goal 2: at 5x the sustainable rate the range ran out, and every refused
    /// call probed all 5,000 pairs with socket/bind/close, on the runtime's workers
    /// (95 % of the switch's CPU in the profile; the switch stopped answering for 23 s).
    /// A full range must be known without asking the kernel again.
    #[test]
    fn a_full_range_refuses_without_probing_it() {
        let a = PortAllocator::new(LO, 41400, 41799).unwrap();
        let held: Vec<PortPair> = (0..a.capacity()).map(|_| a.allocate().unwrap()).collect();
        let before = a.probes();
        for _ in 0..50 {
            assert!(matches!(a.allocate(), Err(PortError::Exhausted { .. })));
        }
        assert_eq!(a.probes(), before, "refusals probed the kernel");
        assert_eq!(a.in_use(), a.capacity());
        // Pairs back: the first one freed is the next handed out, with one probe.
        let first_freed = held[7].rtp_port();
        let mut held = held;
        drop(held.remove(7));
        drop(held);
        assert_eq!(a.in_use(), 0);
        let p = a.allocate().unwrap();
        assert_eq!(a.probes(), before + 1);
        assert_eq!(p.rtp_port(), first_freed);
    }

    #[test]
    fn pairs_in_counts_even_odd_pairs() {
        assert_eq!(pairs_in(40000, 49999), 5000);
        assert_eq!(pairs_in(41001, 41020), 9);
        assert_eq!(pairs_in(41200, 41200), 0);
        assert_eq!(pairs_in(41201, 41203), 1);
        assert_eq!(pairs_in(65535, 65535), 0);
    }

    #[test]
    fn rejects_empty_ranges() {
        assert!(matches!(
            PortAllocator::new(LO, 41200, 41200),
            Err(PortError::BadRange { .. })
        ));
        assert!(matches!(
            PortAllocator::new(LO, 41201, 41202),
            Err(PortError::BadRange { .. })
        ));
        assert!(PortAllocator::new(LO, 41201, 41203).is_ok());
        assert!(matches!(
            PortAllocator::new(LO, 65535, 65535),
            Err(PortError::BadRange { .. })
        ));
    }

    #[test]
    fn concurrent_allocation_never_hands_out_a_pair_twice() {
        let a = PortAllocator::new(LO, 41300, 41399).unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || {
                    (0..10).map(|_| a.allocate().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        let pairs: Vec<PortPair> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut ports: Vec<u16> = pairs.iter().map(|p| p.rtp_port()).collect();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 40);
    }
}
