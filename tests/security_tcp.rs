//! SIP over TCP against a running switch (issue 9 High 2, High 3): one peer that never
//! reads must not silence the others; connections are capped per source; a message
//! dribbled byte by byte (slowloris) is cut off.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn connect_from(src: &str, to: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&format!("{src}:0").parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.connect(&to.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    s
}

fn blocked(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// An OPTIONS over TCP; with `pad` bytes in a Via parameter, which the switch copies
/// into its answer (RFC 3261 §8.2.6.2), so the answer is as large.
fn options(s: &TcpStream, n: u32, pad: usize) -> Vec<u8> {
    let me = s.local_addr().unwrap();
    let extra = if pad > 0 {
        format!(
            "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKpad;x={}\r\n",
            "a".repeat(pad)
        )
    } else {
        String::new()
    };
    format!("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKsec{n}x{r:x}\r\n{extra}Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=a{n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: sec-tcp-{n}-{r:x}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n", r = rand_u64())
        .into_bytes()
}

fn answered(s: &mut TcpStream, n: u32, secs: f64) -> bool {
    if s.write_all(&options(s, n, 0)).is_err() {
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
            Err(e) if blocked(&e) => {}
            Err(_) => return false,
        }
    }
    false
}

fn closed_within(s: &mut TcpStream, secs: f64) -> bool {
    let t0 = Instant::now();
    let mut buf = [0u8; 65536];
    while t0.elapsed().as_secs_f64() < secs {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if blocked(&e) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_tcp_peer_that_never_reads_does_not_silence_the_others() {
    let sw = Switch::start("sec-tcp-slow", |t| t);
    // A small receive window, so that the switch's side fills sooner.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&sw.sip.into()).unwrap();
    let mut slow: TcpStream = sock.into();
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    slow.set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    // ~60 KB answers: the kernel's buffers (a few MB) and a queue of 256 messages fill
    // after some hundreds. Stop when the switch gives up on us.
    for n in 0..400 {
        let req = options(&slow, n, 60_000);
        if slow.write_all(&req).is_err() {
            break;
        }
    }
    let mut good = connect_from("127.0.0.2", sw.sip);
    // Bounded generously: a debug build takes a while to parse what was sent above; the
    // old switch never answered at all.
    assert!(
        answered(&mut good, 1, 30.0),
        "another phone is answered over TCP while one peer does not read; log:\n{}",
        tail(&sw.log(), 20)
    );
    assert!(
        closed_within(&mut slow, 15.0),
        "the peer that does not read is dropped"
    );
    // UDP was never affected, and the switch still answers.
    assert!(answered(&mut good, 2, 5.0));
}

#[test]
fn sip_tcp_connections_are_capped_per_source_and_slowloris_is_cut_off() {
    let sw = Switch::start("sec-tcp-caps", |t| t);
    // The default cap is 64 connections per source address.
    let mut conns: Vec<TcpStream> = (0..64).map(|_| connect_from("127.0.0.1", sw.sip)).collect();
    for (i, c) in conns.iter_mut().enumerate().step_by(16) {
        assert!(
            answered(c, i as u32, 5.0),
            "connection {i} is within the cap"
        );
    }
    let mut over = connect_from("127.0.0.1", sw.sip);
    assert!(
        closed_within(&mut over, 5.0),
        "the 65th connection from one address is closed at once"
    );
    let mut other = connect_from("127.0.0.3", sw.sip);
    assert!(
        answered(&mut other, 100, 5.0),
        "other addresses still get in"
    );
    drop(conns);

    // A request dribbled a byte every 200 ms: cut off when a message takes longer than
    // the 10 s limit (bounded wait 25 s).
    let mut slow = connect_from("127.0.0.1", sw.sip);
    let msg = options(&slow, 7, 0);
    let t0 = Instant::now();
    let mut cut = false;
    let mut buf = [0u8; 512];
    for b in msg.iter().take(msg.len() - 4).cycle() {
        if t0.elapsed() > Duration::from_secs(25) {
            break;
        }
        if slow.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        slow.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match slow.read(&mut buf) {
            Ok(0) => {
                cut = true;
                break;
            }
            Err(e) if !blocked(&e) => {
                cut = true;
                break;
            }
            _ => {}
        }
    }
    assert!(cut, "a slowloris connection is closed");
    assert!(answered(&mut other, 101, 5.0));
}
