//! TCP connections (RFC 3261 §18.3): messages framed by Content-Length, connections
//! reused in both directions, closed on a framing error (RFC 4475 §3.1.2.3, §3.3.9).

use super::{deliver, Peer, TransportError, TransportHandle, TransportKind};
use crate::message::{frame_stream, parse, Framing};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Live connections by remote address, each with a writer task's queue.
#[derive(Default)]
pub(super) struct Connections {
    map: Mutex<HashMap<SocketAddr, (SocketAddr, mpsc::Sender<Bytes>)>>,
}

pub(super) async fn accept_loop(listener: TcpListener, handle: TransportHandle) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                spawn_connection(stream, remote, handle.clone());
            }
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

fn spawn_connection(
    stream: TcpStream,
    remote: SocketAddr,
    handle: TransportHandle,
) -> mpsc::Sender<Bytes> {
    let local = stream
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let (mut rd, mut wr) = stream.into_split();
    let (wtx, mut wrx) = mpsc::channel::<Bytes>(256);
    handle
        .inner
        .tcp
        .map
        .lock()
        .expect("tcp map")
        .insert(remote, (local, wtx.clone()));
    tokio::spawn(async move {
        while let Some(b) = wrx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let peer = Peer {
        transport: TransportKind::Tcp,
        remote,
        local,
    };
    tokio::spawn(async move {
        let max = handle.inner.max_message;
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 8192];
        'conn: loop {
            let n = match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match frame_stream(&buf, max) {
                    Ok(Some(len)) => {
                        let parsed = parse(&buf[..len], Framing::Stream);
                        buf.drain(..len);
                        deliver(&handle.inner.incoming, parsed, peer).await;
                    }
                    Ok(None) => break,
                    Err(err) => {
                        // The stream can't be re-synchronised: answer if possible, then close.
                        let parsed = match parse(&buf, Framing::Datagram) {
                            Err(mut e) => {
                                e.framing = true;
                                Err(e)
                            }
                            Ok(_) => Err(err),
                        };
                        deliver(&handle.inner.incoming, parsed, peer).await;
                        // Give the core a moment to write its 400 before the socket goes.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        break 'conn;
                    }
                }
            }
        }
        handle
            .inner
            .tcp
            .map
            .lock()
            .expect("tcp map")
            .remove(&remote);
    });
    wtx
}

pub(super) async fn send(
    handle: &TransportHandle,
    peer: &Peer,
    data: Bytes,
) -> Result<(), TransportError> {
    let existing = handle
        .inner
        .tcp
        .map
        .lock()
        .expect("tcp map")
        .get(&peer.remote)
        .map(|(_, s)| s.clone());
    let sender = match existing {
        Some(s) => s,
        None => {
            let stream = TcpStream::connect(peer.remote).await?;
            let _ = stream.set_nodelay(true);
            spawn_connection(stream, peer.remote, handle.clone())
        }
    };
    sender.send(data).await.map_err(|_| {
        TransportError::Io(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "connection closed",
        ))
    })
}
