//! RTP/RTCP port pairs: an even RTP port and the next odd one for RTCP (RFC 3550
//! §11), found by binding both sockets. The OS is the source of truth for what is
//! free, so ports used by other programs (or other madoguchi processes) are simply
//! skipped, and a pair is freed when its sockets close — on drop.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use thiserror::Error;

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
/// and share between tasks; the only shared state is the rotating cursor.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    ip: IpAddr,
    first: u16,
    pairs: usize,
    // Index of the next pair to try. Rotating rather than always starting at
    // `min` keeps a just-freed port unused for a while, so late packets of the
    // previous call do not land in the next one.
    cursor: Mutex<usize>,
}

impl PortAllocator {
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Result<Self, PortError> {
        let first = min.checked_add(min % 2).filter(|f| *f != 0);
        let pairs = match first {
            Some(f) if max > f => ((max - f) as usize).div_ceil(2),
            _ => 0,
        };
        if pairs == 0 {
            return Err(PortError::BadRange { min, max });
        }
        Ok(PortAllocator {
            inner: Arc::new(Inner {
                ip,
                first: first.unwrap_or(0),
                pairs,
                cursor: Mutex::new(0),
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

    /// Binds the next free even/odd pair. Per call, not per packet: the lock is
    /// held while trying candidates so two callers never race for one pair.
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let inner = &*self.inner;
        let mut cursor = inner.cursor.lock().unwrap_or_else(|e| e.into_inner());
        for step in 0..inner.pairs {
            let idx = (*cursor + step) % inner.pairs;
            let port = inner.first + 2 * idx as u16;
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(inner.ip, port)) else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(inner.ip, port + 1)) else {
                continue;
            };
            *cursor = (idx + 1) % inner.pairs;
            rtp.set_nonblocking(true)?;
            rtcp.set_nonblocking(true)?;
            tracing::trace!(port, "allocated RTP port pair");
            return Ok(PortPair { rtp, rtcp });
        }
        Err(PortError::Exhausted {
            min: inner.first,
            max: (inner.first as u32 + 2 * inner.pairs as u32 - 1) as u16,
            pairs: inner.pairs,
        })
    }
}

/// A bound RTP socket on an even port and its RTCP socket on the next port, both
/// non-blocking (ready for `tokio::net::UdpSocket::from_std`). Dropping it frees
/// both ports.
#[derive(Debug)]
pub struct PortPair {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl PortPair {
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().expect("bound socket has an address")
    }
    pub fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().expect("bound socket has an address")
    }
    pub fn rtp_port(&self) -> u16 {
        self.rtp_addr().port()
    }
    pub fn into_sockets(self) -> (UdpSocket, UdpSocket) {
        (self.rtp, self.rtcp)
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
        // Freed ports are available again (the cursor wraps around to them): the
        // squatter's pair comes back within one round.
        let again: Vec<PortPair> = (0..3).filter_map(|_| a.allocate().ok()).collect();
        assert!(
            again.iter().any(|p| p.rtp_port() == base),
            "the freed pair {base} was not handed out again: {:?}",
            again.iter().map(PortPair::rtp_port).collect::<Vec<_>>()
        );
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
