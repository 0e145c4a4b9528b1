//! SIP over TCP under abuse (issue 9 High 2 and 3): a peer that never reads, too many
//! connections, connections that say nothing or dribble a message. Real sockets on
//! loopback, small limits so that each case takes well under a second of waiting.

use bytes::Bytes;
use sip::transport::{Incoming, TcpLimits, TransportHandle};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn limits() -> TcpLimits {
    TcpLimits {
        max_per_listener: 6,
        max_per_source: 3,
        first_message: Duration::from_millis(300),
        message: Duration::from_millis(300),
        idle: Duration::from_secs(30),
        connect: Duration::from_secs(2),
        write: Duration::from_millis(300),
        queue: 4,
    }
}

/// A transport on loopback whose "core" answers every request with `reply_size` bytes
/// (a 400 then a close for a framing error, as the switch does).
fn start(rt: &tokio::runtime::Runtime, reply_size: usize) -> (TransportHandle, SocketAddr) {
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<Incoming>(1024);
        let t = TransportHandle::with_tcp_limits(65535, tx, limits());
        let addr = t.bind_tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let h = t.clone();
        tokio::spawn(async move {
            while let Some(inc) = rx.recv().await {
                match inc {
                    Incoming::Message { peer, .. } => {
                        let mut b = vec![b'x'; reply_size.max(16)];
                        b[..14].copy_from_slice(b"SIP/2.0 200 OK");
                        let _ = h.send_now(&peer, Bytes::from(b));
                    }
                    Incoming::Malformed { peer, .. } => {
                        let _ = h.send_now(&peer, Bytes::from_static(b"SIP/2.0 400 Bad\r\n\r\n"));
                        h.close(&peer);
                    }
                }
            }
        });
        (t, addr)
    })
}

fn options(n: u32) -> Vec<u8> {
    format!("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK{n}\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a{n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

fn connect_from(src: &str, to: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&format!("{src}:0").parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.connect(&to.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Whether the switch closed the connection within `secs` (reading and discarding
/// whatever arrives until EOF or a reset).
fn closed_within(s: &mut TcpStream, secs: f64) -> bool {
    let t0 = Instant::now();
    let mut buf = [0u8; 65536];
    while t0.elapsed().as_secs_f64() < secs {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Send one OPTIONS and wait (bounded) for the start of an answer.
fn answered(s: &mut TcpStream, n: u32, secs: f64) -> bool {
    if s.write_all(&options(n)).is_err() {
        return false;
    }
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while t0.elapsed().as_secs_f64() < secs {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(k) => {
                got.extend_from_slice(&buf[..k]);
                if got.windows(11).any(|w| w == b"SIP/2.0 200") {
                    return true;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    false
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_peer_that_never_reads_is_dropped_and_the_others_are_served() {
    let rt = rt();
    // 60 KB answers: the kernel's socket buffers fill after a few dozen.
    let (t, addr) = start(&rt, 60_000);
    let mut slow = connect_from("127.0.0.1", addr);
    slow.set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // Requests until the switch gives up on us (it closes: our writes fail) or 2000 sent.
    for n in 0..2000 {
        if slow.write_all(&options(n)).is_err() {
            break;
        }
    }
    let mut good = connect_from("127.0.0.2", addr);
    assert!(
        answered(&mut good, 1, 5.0),
        "another peer is answered while one does not read"
    );
    assert!(
        closed_within(&mut slow, 10.0),
        "the peer that does not read was dropped"
    );
    assert!(answered(&mut good, 2, 5.0));
    drop(t);
}

#[test]
fn connections_are_capped_per_source_and_per_listener() {
    let rt = rt();
    let (_t, addr) = start(&rt, 100);
    let mut mine: Vec<TcpStream> = (0..3).map(|_| connect_from("127.0.0.1", addr)).collect();
    for (i, s) in mine.iter_mut().enumerate() {
        assert!(answered(s, i as u32, 5.0), "connection {i} within the cap");
    }
    let mut fourth = connect_from("127.0.0.1", addr);
    assert!(
        closed_within(&mut fourth, 5.0),
        "a 4th from one source is closed"
    );
    // Other sources still get in, up to the listener's cap of 6.
    let mut others: Vec<TcpStream> = ["127.0.0.2", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|src| connect_from(src, addr))
        .collect();
    for (i, s) in others.iter_mut().enumerate() {
        assert!(
            answered(s, 10 + i as u32, 5.0),
            "another source's connection {i}"
        );
    }
    let mut seventh = connect_from("127.0.0.4", addr);
    assert!(closed_within(&mut seventh, 5.0), "the listener is full");
    // Closing one frees its place.
    drop(mine.pop());
    let t0 = Instant::now();
    let mut ok = false;
    while !ok && t0.elapsed() < Duration::from_secs(5) {
        let mut s = connect_from("127.0.0.1", addr);
        ok = answered(&mut s, 99, 1.0);
    }
    assert!(ok, "a place is given back when a connection closes");
}

#[test]
fn silent_and_dribbling_connections_are_closed() {
    let rt = rt();
    let (_t, addr) = start(&rt, 100);
    let mut silent = connect_from("127.0.0.1", addr);
    assert!(closed_within(&mut silent, 5.0), "no first message: closed");

    // Slowloris: a byte of a header every 50 ms never completes a message.
    let mut slow = connect_from("127.0.0.1", addr);
    slow.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let msg = options(1);
    let t0 = Instant::now();
    let mut closed = false;
    let mut buf = [0u8; 1024];
    for b in msg.iter().take(msg.len() - 4).cycle() {
        if t0.elapsed() > Duration::from_secs(5) {
            break;
        }
        if slow.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        match slow.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Err(e)
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "a message dribbled byte by byte is cut off");

    // Keep-alive pings (RFC 5626 §4.4.1) are answered with a pong and do not count as
    // a message in progress.
    let mut ka = connect_from("127.0.0.1", addr);
    assert!(answered(&mut ka, 5, 5.0));
    ka.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    ka.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    ka.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    std::thread::sleep(Duration::from_millis(500));
    assert!(answered(&mut ka, 6, 5.0), "still open after the ping");
}

#[test]
fn a_framing_error_is_answered_then_the_connection_closes() {
    let rt = rt();
    let (_t, addr) = start(&rt, 100);
    let mut s = connect_from("127.0.0.1", addr);
    s.write_all(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKf\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: f\r\nCSeq: 1 OPTIONS\r\nContent-Length: -5\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.read_to_end(&mut got);
    assert!(
        got.starts_with(b"SIP/2.0 400"),
        "the 400 is written before the close: {:?}",
        String::from_utf8_lossy(&got)
    );
}
