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
