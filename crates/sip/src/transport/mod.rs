//! Sockets: UDP, TCP and TLS listeners on IPv4 and IPv6 (RFC 3261 §18, §26). The only
//! I/O in this crate. Each listener is a small tokio task that frames and parses what it
//! receives and hands `Incoming` values to one channel; sending goes through a cloneable
//! `TransportHandle`. WebSocket would be a further listener kind behind the same handle
//! (the seam is `TransportKind` and `TransportHandle::send`).

mod tcp;
mod tls;
mod udp;

use crate::message::{Message, ParseError, Request, SipHeaders};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub use crate::transaction::{Peer, TransportKind};
pub use tcp::TcpLimits;

/// What a listener hands to the SIP core.
#[derive(Debug)]
pub enum Incoming {
    Message {
        msg: Message,
        peer: Peer,
    },
    /// Could not be parsed; `err.headers` may still allow a 400 (see `validate`).
    Malformed {
        err: ParseError,
        peer: Peer,
    },
}

/// Send side of all listeners. Cheap to clone.
#[derive(Clone)]
pub struct TransportHandle {
    inner: Arc<Inner>,
}

struct Inner {
    udp: Mutex<HashMap<SocketAddr, Arc<tokio::net::UdpSocket>>>,
    tcp: tcp::Connections,
    tls: tls::Connections,
    max_message: usize,
    incoming: mpsc::Sender<Incoming>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("no {0} socket bound on {1}")]
    NoSocket(TransportKind, SocketAddr),
    #[error("message of {0} bytes is larger than the {1} byte limit")]
    TooLarge(usize, usize),
    #[error("no TLS connection from {0} (phones connect to us; see transport::tls)")]
    NoConnection(SocketAddr),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl TransportHandle {
    /// A handle with no listeners yet; incoming messages go to `incoming`.
    pub fn new(max_message: usize, incoming: mpsc::Sender<Incoming>) -> TransportHandle {
        TransportHandle::with_tcp_limits(max_message, incoming, TcpLimits::default())
    }

    /// `new` with other bounds on TCP connections.
    pub fn with_tcp_limits(
        max_message: usize,
        incoming: mpsc::Sender<Incoming>,
        limits: TcpLimits,
    ) -> TransportHandle {
        TransportHandle {
            inner: Arc::new(Inner {
                udp: Mutex::new(HashMap::new()),
                tcp: tcp::Connections::new(limits),
                tls: tls::Connections::default(),
                max_message,
                incoming,
            }),
        }
    }

    /// Bind a UDP listener and start its receive task. Returns the bound address.
    pub async fn bind_udp(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let sock = Arc::new(udp_socket(addr)?);
        let local = sock.local_addr()?;
        self.inner
            .udp
            .lock()
            .expect("udp map")
            .insert(local, sock.clone());
        tokio::spawn(udp::receive_loop(
            sock,
            local,
            self.inner.max_message,
            self.inner.incoming.clone(),
        ));
        Ok(local)
    }

    /// Bind a TCP listener and start accepting. Returns the bound address.
    pub async fn bind_tcp(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tokio::spawn(tcp::accept_loop(listener, self.clone()));
        Ok(local)
    }

    /// Bind a SIP-over-TLS listener (RFC 3261 §26.2) with `config`'s certificate and start
    /// accepting; the caps and deadlines are TCP's (`TcpLimits`). Returns the bound address.
    pub async fn bind_tls(
        &self,
        addr: SocketAddr,
        config: Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tokio::spawn(tls::accept_loop(
            listener,
            tokio_rustls::TlsAcceptor::from(config),
            self.clone(),
        ));
        Ok(local)
    }

    /// Send bytes to a peer. UDP goes out of the socket bound on `peer.local`; TCP reuses
    /// the connection to `peer.remote` or opens one (RFC 3261 §18.1.1, §18.2.2).
    pub async fn send(&self, peer: &Peer, data: Bytes) -> Result<(), TransportError> {
        match peer.transport {
            TransportKind::Udp => {
                self.check_size(&data)?;
                let sock = self.udp_socket(peer.local)?;
                sock.send_to(&data, peer.remote).await?;
                Ok(())
            }
            TransportKind::Tcp | TransportKind::Tls => self.send_now(peer, data),
        }
    }

    /// Queue bytes for a stream peer without waiting (TCP: the connection's writer task
    /// sends them; a peer whose queue is full is dropped). UDP is sent at once if the
    /// socket buffer has room.
    pub fn send_now(&self, peer: &Peer, data: Bytes) -> Result<(), TransportError> {
        self.check_size(&data)?;
        match peer.transport {
            TransportKind::Udp => {
                let sock = self.udp_socket(peer.local)?;
                sock.try_send_to(&data, peer.remote)?;
                Ok(())
            }
            TransportKind::Tcp => tcp::send(self, peer, data),
            TransportKind::Tls => tls::send(self, peer, data),
        }
    }

    /// Close the stream connection to `peer` once what is queued for it is written (after
    /// the 400 for a framing error, RFC 3261 §18.3). No-op for UDP.
    pub fn close(&self, peer: &Peer) {
        match peer.transport {
            TransportKind::Tcp => tcp::close(self, peer),
            TransportKind::Tls => tls::close(self, peer),
            TransportKind::Udp => {}
        }
    }

    /// Open TCP connections (inbound and outbound).
    pub fn tcp_connections(&self) -> usize {
        self.inner.tcp.open_count()
    }

    /// Open TLS connections (all inbound).
    pub fn tls_connections(&self) -> usize {
        self.inner.tls.open_count()
    }

    fn check_size(&self, data: &Bytes) -> Result<(), TransportError> {
        if data.len() > self.inner.max_message {
            return Err(TransportError::TooLarge(data.len(), self.inner.max_message));
        }
        Ok(())
    }

    fn udp_socket(&self, local: SocketAddr) -> Result<Arc<tokio::net::UdpSocket>, TransportError> {
        let map = self.inner.udp.lock().expect("udp map");
        if let Some(s) = map.get(&local) {
            return Ok(s.clone());
        }
        // An unspecified or mismatched local address: any socket of the same family.
        map.iter()
            .find(|(a, _)| a.is_ipv4() == local.is_ipv4())
            .map(|(_, s)| s.clone())
            .ok_or(TransportError::NoSocket(TransportKind::Udp, local))
    }

    /// The UDP listen addresses bound so far.
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.inner
            .udp
            .lock()
            .expect("udp map")
            .keys()
            .copied()
            .collect()
    }
}

/// A UDP socket with receive and send buffers of 4 MiB (the kernel may cap them at
/// `net.core.rmem_max`): when a thousand calls hang up in the same second, the default
/// ~200 KiB overflows and the BYEs must be retransmitted (measured with benches/loadgen).
fn udp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(s.into())
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: note where a request really came from in its top
/// Via, so responses go back to the source address and port (NAT-safe).
pub(crate) fn stamp_received(req: &mut Request, source: SocketAddr) {
    let Some(first) = req.headers.0.iter().position(|h| h.name == "Via") else {
        return;
    };
    let Some(mut via) = req.top_via() else { return };
    let src_ip = source.ip().to_string();
    let host = via.host.trim_start_matches('[').trim_end_matches(']');
    let mut changed = false;
    if host != src_ip {
        via.params.set("received", Some(&src_ip));
        changed = true;
    }
    if via.rport().is_some() {
        via.params.set("rport", Some(&source.port().to_string()));
        if via.received().is_none() {
            via.params.set("received", Some(&src_ip));
        }
        changed = true;
    }
    if !changed {
        return;
    }
    // Only the first value of the first Via line is replaced; other values stay verbatim.
    let line = &req.headers.0[first].value;
    let rest = crate::message::split_list(line);
    let mut value = via.to_string();
    for other in rest.iter().skip(1) {
        value.push_str(", ");
        value.push_str(other);
    }
    req.headers.0[first].value = value;
}

pub(crate) async fn deliver(
    tx: &mpsc::Sender<Incoming>,
    parsed: Result<Message, ParseError>,
    peer: Peer,
) {
    let item = match parsed {
        Ok(Message::Request(mut r)) => {
            stamp_received(&mut r, peer.remote);
            Incoming::Message {
                msg: Message::Request(r),
                peer,
            }
        }
        Ok(msg) => Incoming::Message { msg, peer },
        Err(err) => Incoming::Malformed { err, peer },
    };
    // The core applies back-pressure here; a full channel slows listeners, never drops silently.
    let _ = tx.send(item).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_datagram;

    #[test]
    fn received_and_rport_are_stamped() {
        let raw = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5062;rport;branch=z9hG4bKa, SIP/2.0/UDP p.example;branch=z9hG4bKb\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nContent-Length: 0\r\n\r\n";
        let Message::Request(mut r) = parse_datagram(raw).unwrap() else {
            panic!()
        };
        stamp_received(&mut r, "127.0.0.1:40000".parse().unwrap());
        let v = r.top_via().unwrap();
        assert_eq!(v.received(), Some("127.0.0.1"));
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(r.vias().len(), 2);
    }
}
