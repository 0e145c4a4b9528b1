//! Receiving the datagrams one of the generator's RTP sockets holds with one system
//! call (`recvmmsg(2)`): each socket carries a quarter of all calls' packets, so a
//! wake-up finds many queued, and knowing the queue is empty needs no second, failing
//! receive.
//!
//! A `recvmmsg` with room for `BATCH` datagrams that returns fewer has emptied the
//! queue in the same call (the kernel stops at its first EAGAIN), so we tell tokio
//! the socket is no longer readable: `try_io` clears the readiness when its closure
//! says WouldBlock, and tokio's readiness tick keeps a datagram that arrived in the
//! meantime from being missed.
//!
//! (The switch's relay does not use this: a call's socket holds one packet per wake-up,
//! and there `recvmmsg` measured dearer than `recv_from` plus its empty retry, see
//! benches/README.md.) Linux only; elsewhere one `recv_from` per call.

use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};
use tokio::net::UdpSocket;

/// Largest datagram we take; RTP over Ethernet never comes near it.
pub const MTU: usize = 1500;
/// Datagrams per receive call.
pub const BATCH: usize = 32;

/// Buffers for one receive call, reused for the whole run (no allocation per packet).
pub struct RecvBatch {
    bufs: Box<[[u8; MTU]; BATCH]>,
    meta: [(usize, Option<SocketAddr>); BATCH],
    n: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            bufs: Box::new([[0; MTU]; BATCH]),
            meta: [(0, None); BATCH],
            n: 0,
        }
    }
}

impl RecvBatch {
    /// Datagram `i` of the last receive: its buffer, its length and where it came from (`None`: an address family we do not use).
    pub fn get_mut(&mut self, i: usize) -> (&mut [u8; MTU], usize, Option<SocketAddr>) {
        let (len, from) = self.meta[i];
        (&mut self.bufs[i], len, from)
    }

    /// Receives what `sock` holds, up to `BATCH` datagrams: `Ready(Ok(n))` with
    /// `n ≥ 1`, or `Pending` (the task is woken when a datagram arrives). `reads`
    /// counts the receive system calls made, empty ones included.
    pub fn poll_recv(
        &mut self,
        sock: &UdpSocket,
        cx: &mut Context<'_>,
        reads: &mut u64,
    ) -> Poll<io::Result<usize>> {
        self.n = 0;
        // Bounded: each pass either returns or saw EAGAIN, which clears the
        // readiness, and `poll_recv_ready` then registers the waker and is Pending
        // unless a new datagram arrived.
        loop {
            ready!(sock.poll_recv_ready(cx))?;
            match self.try_recv(sock, reads) {
                Ok(n) if n > 0 => return Poll::Ready(Ok(n)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn try_recv(&mut self, sock: &UdpSocket, reads: &mut u64) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let fd = sock.as_raw_fd();
        let mut got = 0;
        let r = sock.try_io(tokio::io::Interest::READABLE, || {
            *reads += 1;
            got = sys::recvmmsg(fd, &mut self.bufs, &mut self.meta)?;
            if got < BATCH {
                // The kernel stopped at EAGAIN: the queue is empty. Saying so clears
                // tokio's readiness and saves the empty receive.
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(got)
            }
        });
        self.n = got;
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
            r => r,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn try_recv(&mut self, sock: &UdpSocket, reads: &mut u64) -> io::Result<usize> {
        *reads += 1;
        let (len, from) = sock.try_recv_from(&mut self.bufs[0])?;
        self.meta[0] = (len, Some(from));
        self.n = 1;
        Ok(1)
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use super::{BATCH, MTU};
    use std::io;
    use std::mem::size_of;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::RawFd;

    /// One `recvmmsg(fd, …, BATCH, MSG_DONTWAIT)`: how many datagrams, each one's
    /// length and source in `meta`.
    pub fn recvmmsg(
        fd: RawFd,
        bufs: &mut [[u8; MTU]; BATCH],
        meta: &mut [(usize, Option<SocketAddr>); BATCH],
    ) -> io::Result<usize> {
        // SAFETY: plain C structs for which all-zero bytes are a valid value.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        let mut iovs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for ((m, iov), (name, buf)) in msgs
            .iter_mut()
            .zip(iovs.iter_mut())
            .zip(names.iter_mut().zip(bufs.iter_mut()))
        {
            iov.iov_base = buf.as_mut_ptr().cast();
            iov.iov_len = MTU;
            m.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every msg_hdr points at a live iovec over a live MTU-sized buffer and
        // at a live sockaddr_storage with its size; all outlive the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as _,
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = r as usize;
        for ((m, name), slot) in msgs.iter().zip(&names).zip(meta.iter_mut()).take(n) {
            *slot = (m.msg_len as usize, to_addr(name, m.msg_hdr.msg_namelen));
        }
        Ok(n)
    }

    fn to_addr(s: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
        let len = len as usize;
        match s.ss_family as libc::c_int {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the kernel wrote a sockaddr_in (family and length say so).
                let a =
                    unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as above, a sockaddr_in6.
                let a =
                    unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(a.sin6_addr.s6_addr),
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    async fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn one_call_takes_what_is_queued_with_lengths_and_sources() {
        let (rx, tx) = pair().await;
        let to = rx.local_addr().unwrap();
        for k in 0..3u8 {
            tx.send_to(&[k; 12][..10 + k as usize], to).await.unwrap();
        }
        let mut b = RecvBatch::default();
        let mut reads = 0;
        let mut got = Vec::new();
        // Bounded: three datagrams, at most one each per receive.
        while got.len() < 3 {
            let n = poll_fn(|cx| b.poll_recv(&rx, cx, &mut reads))
                .await
                .unwrap();
            for i in 0..n {
                let (buf, len, from) = b.get_mut(i);
                assert_eq!(from, Some(tx.local_addr().unwrap()));
                got.push(buf[..len].to_vec());
            }
        }
        assert_eq!(got, vec![vec![0; 10], vec![1; 11], vec![2; 12]]);
        assert!(reads <= 3, "{reads} receive calls for 3 datagrams");
    }

    #[tokio::test]
    async fn a_full_batch_leaves_the_rest_for_the_next_call() {
        let (rx, tx) = pair().await;
        let to = rx.local_addr().unwrap();
        let total = BATCH + 3;
        for k in 0..total {
            tx.send_to(&[k as u8; 20], to).await.unwrap();
        }
        let mut b = RecvBatch::default();
        let mut reads = 0;
        let mut seen = Vec::new();
        while seen.len() < total {
            let n = poll_fn(|cx| b.poll_recv(&rx, cx, &mut reads))
                .await
                .unwrap();
            assert!((1..=BATCH).contains(&n));
            for i in 0..n {
                let (buf, len, _) = b.get_mut(i);
                assert_eq!(len, 20);
                seen.push(buf[0]);
            }
        }
        let want: Vec<u8> = (0..total as u8).collect();
        assert_eq!(seen, want, "in order, none lost or repeated");
    }
}
