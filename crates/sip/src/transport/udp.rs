//! UDP listener (RFC 3261 §18.1.1 / §18.2.1): one datagram is one message.

use super::{deliver, Incoming, Peer, TransportKind};
use crate::message::parse_datagram;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub(super) async fn receive_loop(
    sock: Arc<UdpSocket>,
    local: SocketAddr,
    max: usize,
    tx: mpsc::Sender<Incoming>,
) {
    let mut buf = vec![0u8; max.max(1500) + 1];
    loop {
        let (n, remote) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            // ICMP port unreachable surfaces as an error on some systems: not fatal.
            Err(e) => {
                tracing::debug!(%local, error = %e, "udp receive error");
                continue;
            }
        };
        let data = &buf[..n];
        // Keep-alives (RFC 5626 §4.4.1 CRLF, or empty) are not messages.
        if data.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
            continue;
        }
        let peer = Peer {
            transport: TransportKind::Udp,
            remote,
            local,
        };
        let parsed = if n > max {
            Err(crate::message::ParseError {
                reason: format!("datagram larger than {max} bytes"),
                status: 513,
                is_request: !data.starts_with(b"SIP/"),
                headers: None,
                framing: true,
            })
        } else {
            parse_datagram(data)
        };
        deliver(&tx, parsed, peer).await;
    }
}
