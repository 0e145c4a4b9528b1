//! `sendmmsg(2)` for the generator: the packets one socket owes in a 2 ms slot (to
//! many calls, each its own destination) go out in one system call, so that at
//! 1,000 calls the generator leaves the shared cores to the switch it measures.
//! (Receiving: `recv`.)

use std::io;
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Messages per system call (stack arrays).
const MAX: usize = 64;

/// Sends `pkts[i]` to `to[i]` for every i; returns how many the kernel took (the
/// rest met a full socket buffer and count as send errors, like `try_send_to`).
pub fn send_many<P: AsRef<[u8]>>(sock: &UdpSocket, pkts: &[P], to: &[SocketAddr]) -> usize {
    let n = pkts.len().min(to.len());
    let mut sent = 0;
    // Bounded: each pass sends at least one message or stops.
    while sent < n {
        let end = (sent + MAX).min(n);
        match sock.try_io(Interest::WRITABLE, || {
            send(sock, &pkts[sent..end], &to[sent..end])
        }) {
            Ok(k) if k > 0 => sent += k,
            _ => break,
        }
    }
    sent
}

#[cfg(target_os = "linux")]
fn send<P: AsRef<[u8]>>(sock: &UdpSocket, pkts: &[P], to: &[SocketAddr]) -> io::Result<usize> {
    use std::mem::size_of;
    use std::os::fd::AsRawFd;
    let n = pkts.len().min(to.len()).min(MAX);
    // SAFETY: plain C structs for which all-zero bytes are a valid value.
    let mut names: [libc::sockaddr_in6; MAX] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; MAX] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        let p = pkts[i].as_ref();
        iovs[i].iov_base = p.as_ptr() as *mut libc::c_void;
        iovs[i].iov_len = p.len();
        let len = match to[i] {
            SocketAddr::V4(a) => {
                let sin = (&mut names[i] as *mut libc::sockaddr_in6).cast::<libc::sockaddr_in>();
                // SAFETY: a sockaddr_in fits in the (larger, zeroed) sockaddr_in6 slot.
                unsafe {
                    (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
                    (*sin).sin_port = a.port().to_be();
                    (*sin).sin_addr.s_addr = u32::from(*a.ip()).to_be();
                }
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let s = &mut names[i];
                s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                s.sin6_port = a.port().to_be();
                s.sin6_addr.s6_addr = a.ip().octets();
                s.sin6_flowinfo = a.flowinfo();
                s.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>()
            }
        };
        let h = &mut msgs[i].msg_hdr;
        h.msg_name = (&mut names[i] as *mut libc::sockaddr_in6).cast();
        h.msg_namelen = len as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
    }
    // SAFETY: every header points at a live iovec over a live packet and a live
    // address of the stated length; all outlive the call.
    let r = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n as _, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn send<P: AsRef<[u8]>>(sock: &UdpSocket, pkts: &[P], to: &[SocketAddr]) -> io::Result<usize> {
    let mut k = 0;
    for (p, a) in pkts.iter().zip(to) {
        match sock.try_send_to(p.as_ref(), *a) {
            Ok(_) => k += 1,
            Err(e) if k == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_packet_reaches_its_own_destination() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut rxs = Vec::new();
        for _ in 0..3 {
            rxs.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        // Writable once the runtime has seen the socket's first event.
        tx.writable().await.unwrap();
        // 70 messages: more than one system call's worth.
        let mut pkts = Vec::new();
        let mut to = Vec::new();
        for i in 0..70u8 {
            pkts.push([i; 5]);
            to.push(rxs[i as usize % 3].local_addr().unwrap());
        }
        assert_eq!(send_many(&tx, &pkts, &to), 70);
        let mut buf = [0u8; 16];
        for (r, rx) in rxs.iter().enumerate() {
            let want: Vec<u8> = (0..70u8).filter(|i| *i as usize % 3 == r).collect();
            let mut got = Vec::new();
            for _ in 0..want.len() {
                let (n, from) = rx.recv_from(&mut buf).await.unwrap();
                assert_eq!((n, from), (5, tx.local_addr().unwrap()));
                got.push(buf[0]);
            }
            assert_eq!(got, want);
        }
    }
}
