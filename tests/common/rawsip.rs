//! Our own minimal SIP endpoint over UDP, for what real agents won't send (garbage,
//! wrong passwords, floods, exact timing); used beside the real agents, never instead.

use super::*;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Our own minimal SIP endpoint over UDP, for the cases real agents won't produce
/// (garbage, wrong passwords, floods). Used beside the real agents, never instead.
pub struct RawSip {
    pub sock: UdpSocket,
}

impl RawSip {
    pub fn new() -> RawSip {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        RawSip { sock }
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    pub fn send(&self, to: SocketAddr, data: &[u8]) {
        self.sock.send_to(data, to).unwrap();
    }

    /// The next SIP message (bounded wait), skipping nothing.
    pub fn recv(&self, secs: f64) -> Option<sip::Message> {
        let t0 = Instant::now();
        let mut buf = vec![0u8; 65536];
        while t0.elapsed().as_secs_f64() < secs {
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                if let Ok(m) = sip::parse_datagram(&buf[..n]) {
                    return Some(m);
                }
            }
        }
        None
    }

    /// The next final response (≥ 200), skipping provisional ones; requests that arrive
    /// meanwhile are returned to the caller through `requests`.
    pub fn final_response(
        &self,
        secs: f64,
        requests: &mut Vec<sip::Request>,
    ) -> Option<sip::Response> {
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < secs {
            match self.recv(0.2) {
                Some(sip::Message::Response(r)) if r.status >= 200 => return Some(r),
                Some(sip::Message::Request(q)) => requests.push(q),
                _ => {}
            }
        }
        None
    }

    /// A request with a fresh Via branch and tag.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        method: &str,
        uri: &str,
        from_user: &str,
        call_id: &str,
        cseq: u32,
        extra: &str,
        body: &str,
    ) -> Vec<u8> {
        let branch = format!("z9hG4bK{:x}", rand_u64());
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{from_user}@127.0.0.1>;tag=t{tag:x}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{from_user}@{me}>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            me = self.addr(),
            tag = rand_u64() & 0xffff,
            len = body.len(),
        )
        .into_bytes()
    }
}

impl RawSip {
    /// A citizen's INVITE to `number` on the carrier trunk, with an SDP offer for media at
    /// `media` (our own address when no RTP is exchanged). Returns the bytes sent (for a
    /// later CANCEL).
    pub fn invite(
        &self,
        sw: &Switch,
        number: &str,
        from_user: &str,
        call_id: &str,
        media: SocketAddr,
    ) -> Vec<u8> {
        let uri = format!("sip:{number}@{}", sw.trunk);
        let inv = self.request(
            "INVITE",
            &uri,
            from_user,
            call_id,
            1,
            "Content-Type: application/sdp\r\n",
            &sdp_offer(media),
        );
        self.send(sw.trunk, &inv);
        inv
    }
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

pub fn sdp_offer(addr: SocketAddr) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
}

/// REGISTER with digest (RFC 3261 §22): the first attempt must be challenged with 401;
/// returns the answer to the authenticated one.
pub fn register_raw(
    c: &RawSip,
    sw: &Switch,
    user: &str,
    password: &str,
    expires: u32,
) -> sip::Response {
    let uri = format!("sip:{user}@127.0.0.1");
    let call_id = format!("reg-{}", rand_u64());
    let exp = format!("Expires: {expires}\r\n");
    c.send(
        sw.sip,
        &c.request("REGISTER", &uri, user, &call_id, 1, &exp, ""),
    );
    let chal = c
        .final_response(3.0, &mut Vec::new())
        .expect("no answer to REGISTER");
    assert_eq!(
        chal.status, 401,
        "REGISTER without credentials must be challenged"
    );
    let www = chal
        .headers
        .get("WWW-Authenticate")
        .expect("challenge header");
    let auth =
        sip::auth::client_authorization(www, "REGISTER", &uri, user, password, "0a4f113b", 1)
            .unwrap();
    c.send(
        sw.sip,
        &c.request(
            "REGISTER",
            &uri,
            user,
            &call_id,
            2,
            &format!("{exp}Authorization: {auth}\r\n"),
            "",
        ),
    );
    c.final_response(3.0, &mut Vec::new())
        .expect("no answer to the authenticated REGISTER")
}

/// RFC 4733 packets for one key press (three updates, then the end bit three times).
pub fn press_dtmf(rtp: &std::net::UdpSocket, to: std::net::SocketAddr, digit: u8) {
    for (i, end) in [false, false, false, true, true, true].iter().enumerate() {
        let mut p = vec![
            0x80u8, 101, 0, i as u8, 0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78,
        ];
        let dur: u16 = 160 * (i as u16 + 1);
        p.extend_from_slice(&[
            digit,
            if *end { 0x80 | 10 } else { 10 },
            (dur >> 8) as u8,
            dur as u8,
        ]);
        rtp.send_to(&p, to).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Answer an INVITE with 200 and an SDP whose media is at `media` (Record-Route copied,
/// RFC 3261 §12.1.1, for a proxy in the path).
pub fn answer_200_at(
    ep: &RawSip,
    to: std::net::SocketAddr,
    inv: &sip::Request,
    media: std::net::SocketAddr,
) {
    let mut r = sip::Response::to_request(inv, 200, Some("raw200"));
    for rr in inv.headers.get_all("Record-Route") {
        r.headers.push("Record-Route", rr.to_string());
    }
    r.headers
        .push("Contact", format!("<sip:raw@{}>", ep.addr()));
    r.headers.push("Content-Type", "application/sdp");
    r.body = bytes::Bytes::from(sdp_offer(media));
    ep.send(to, &r.to_bytes());
}

/// The audio port in an SDP body.
pub fn sdp_port(body: &[u8]) -> std::net::SocketAddr {
    let text = String::from_utf8_lossy(body);
    let port: u16 = text
        .lines()
        .find(|l| l.starts_with("m=audio"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no audio port in SDP:\n{text}"));
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// Sends `n` 20 ms PCMU packets of `freq` from `sock` to `to`, paced, while collecting
/// (decoded) what arrives on `sock`; returns the received samples.
pub fn talk_and_listen(
    sock: &std::net::UdpSocket,
    to: std::net::SocketAddr,
    freq: f64,
    n: usize,
    ssrc: u8,
) -> Vec<i16> {
    sock.set_read_timeout(Some(std::time::Duration::from_millis(2)))
        .unwrap();
    let pcm = media::tone::sine(freq, n as f64 * 0.02, 12000);
    let t0 = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    for (i, c) in pcm.chunks(160).enumerate() {
        let mut p = vec![0x80, 0, (i >> 8) as u8, i as u8];
        p.extend_from_slice(&((i * 160) as u32).to_be_bytes());
        p.extend_from_slice(&[0x11, 0x22, 0x33, ssrc]);
        let mut enc = vec![0u8; c.len()];
        media::g711::encode_frame(media::Codec::Pcmu, c, &mut enc);
        p.extend_from_slice(&enc);
        let _ = sock.send_to(&p, to);
        let due = t0 + std::time::Duration::from_millis(20 * (i as u64 + 1));
        while std::time::Instant::now() < due {
            if let Ok((k, _)) = sock.recv_from(&mut buf) {
                if k > 12 && buf[1] & 0x7f == 0 {
                    let mut out = vec![0i16; k - 12];
                    media::g711::decode_frame(media::Codec::Pcmu, &buf[12..k], &mut out);
                    got.extend(out);
                }
            }
        }
    }
    got
}
