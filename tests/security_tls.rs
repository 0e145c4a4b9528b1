//! SIP over TLS for operators' phones at another site (issue 9, spec 第2-2 ⑵, 第3-11;
//! RFC 3261 §26.2, `;transport=tls`): the default configuration listens for TLS with a
//! self-signed certificate generated at first start (key 0600) that a client trusting it
//! verifies for the switch's address; a real baresip operator registers over TLS and
//! answers a citizen's call, audio both ways, the INVITE having reached it over TLS.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cert_path(sw: &Switch) -> std::path::PathBuf {
    sw.dir.join("data/tls/cert.pem")
}

/// A rustls client that trusts only the switch's generated certificate and checks it
/// for the name `127.0.0.1`.
fn tls_client(sw: &Switch) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(cert_path(sw)).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let tcp = TcpStream::connect(sw.tls.expect("a TLS listener in the banner")).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Read from `s` until `needle` shows up or `secs` pass; what was read.
fn read_until(s: &mut impl Read, needle: &str, secs: u64) -> String {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < Duration::from_secs(secs) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        if String::from_utf8_lossy(&got).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn the_tls_listener_answers_sip_with_a_generated_certificate_that_verifies() {
    let sw = Switch::start("sec-tls-raw", |t| t);
    let key = sw.dir.join("data/tls/key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key is the owner's only");

    let mut c = tls_client(&sw);
    let local = c.sock.local_addr().unwrap();
    let register = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bKtls1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: tls-{}\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@{local};transport=tls>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
        rand_u64()
    );
    c.write_all(register.as_bytes())
        .expect("the TLS handshake verifies the switch's certificate for 127.0.0.1");
    let answer = read_until(&mut c, "\r\n\r\n", 5);
    assert!(
        answer.starts_with("SIP/2.0 401"),
        "a challenge over TLS, got {answer:?}"
    );
    assert!(answer.contains("Via: SIP/2.0/TLS"), "{answer}");

    // Plain SIP on the TLS port is no handshake: no SIP answer, the connection closes.
    let mut plain = TcpStream::connect(sw.tls.unwrap()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let _ = plain.write_all(register.as_bytes());
    let got = read_until(&mut plain, "SIP/2.0", 3);
    assert!(!got.contains("SIP/2.0"), "plain text answered: {got:?}");
}

#[test]
fn an_operator_registered_over_tls_answers_a_citizens_call_audio_both_ways() {
    // This phone has no SRTP (baresip without its srtp module): with `tls_srtp =
    // "optional"` the switch's key is best effort and the call falls back to plain RTP.
    // (The default, "mandatory", is tests/security_srtp.rs.)
    let sw = Switch::start("sec-tls-call", |t| {
        no_greeting(t).replace(
            "max_message_bytes = 65535",
            "max_message_bytes = 65535\ntls_srtp = \"optional\"",
        )
    });
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 20.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 20.0);
    let tls = sw.tls.expect("a TLS listener");
    let operator = Baresip::start_with(
        &dir,
        BaresipOpts {
            name: "op1001tls",
            account: format!(
                "<sip:1001@{tls};transport=tls>;auth_pass=madoguchi-1001;regint=60;answermode=auto;audio_codecs=PCMU,PCMA"
            ),
            tone: &dir.join("1000.wav"),
            commands: vec![],
            quit_after: Some(40),
        },
        &format!("sip_cafile {}\n", cert_path(&sw).display()),
    );
    sw.wait_for("1001 to register over TLS", 15, |s| s.registered("1001"));
    let regs = http_request_as(
        sw.http,
        "GET",
        "/api/v1/registrations",
        None,
        Some(&sw.supervisor()),
    )
    .map(|(_, b)| b)
    .unwrap_or_default();
    assert!(regs.contains("\"TLS\""), "the binding is over TLS: {regs}");

    let mut caller = baresip_caller(&sw, "caller", "0246221111", &dir.join("440.wav"), 7, "PCMU");
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    assert!(caller.wait_exit(20), "caller did not finish");
    sw.wait_for("the call to end", 10, |s| s.idle());
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0
    );

    let op_log = operator.log();
    assert!(
        op_log.contains("Via: SIP/2.0/TLS"),
        "the INVITE reached the operator over TLS:\n{}",
        tail(&op_log, 60)
    );
    let op_rx = operator.received_wavs();
    assert!(
        !op_rx.is_empty(),
        "operator recorded nothing:\n{}",
        tail(&op_log, 40)
    );
    let (f, loud) = dominant(&op_rx[0], &[440.0, 1000.0]);
    assert!(loud > 8000, "operator received too little audio ({loud})");
    assert_eq!(f, Some(440.0), "the operator hears the citizen");
    let c_rx = caller.received_wavs();
    assert!(!c_rx.is_empty(), "caller recorded nothing");
    let (f, loud) = dominant(&c_rx[0], &[440.0, 1000.0]);
    assert!(loud > 8000, "caller received too little audio ({loud})");
    assert_eq!(f, Some(1000.0), "the citizen hears the operator");
    assert!(
        op_log.contains("BYE sip:"),
        "the operator's leg was ended over TLS"
    );
}

#[test]
fn an_operators_own_call_over_tls_is_answered_with_a_contact_on_tls() {
    // Without `;transport=tls` in our 2xx's Contact the phone would send its ACK and
    // BYE over UDP to the TLS port, where nothing listens.
    let sw = Switch::start("sec-tls-own-call", |t| t);
    let tls = sw.tls.unwrap();
    let mut c = tls_client(&sw);
    let local = c.sock.local_addr().unwrap();
    let uri = format!("sip:*23@{tls}");
    let invite = |cseq: u32, auth: &str| {
        // RTP/SAVP with a key: the default `tls_srtp = "mandatory"` refuses plain RTP
        // over TLS (488).
        let sdp = format!(
            "{}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n",
            sdp_offer(local).replace("RTP/AVP", "RTP/SAVP")
        );
        format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bKown{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=own\r\nTo: <{uri}>\r\nCall-ID: own-tls\r\nCSeq: {cseq} INVITE\r\nContact: <sip:1001@{local};transport=tls>\r\n{auth}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )
    };
    c.write_all(invite(1, "").as_bytes()).unwrap();
    let got = read_until(&mut c, "SIP/2.0 407", 5);
    let at = got
        .find("SIP/2.0 407")
        .unwrap_or_else(|| panic!("no 407: {got}"));
    let chal = read_until_end_of_head(&got[at..]);
    let Ok(sip::Message::Response(chal)) = sip::parse_datagram(chal.as_bytes()) else {
        panic!("a 407 that parses: {chal}")
    };
    let auth = sip::auth::client_authorization(
        chal.headers.get("Proxy-Authenticate").unwrap(),
        "INVITE",
        &uri,
        "1001",
        "madoguchi-1001",
        "0a4f113b",
        1,
    )
    .unwrap();
    c.write_all(invite(2, &format!("Proxy-Authorization: {auth}\r\n")).as_bytes())
        .unwrap();
    let got = read_until(&mut c, "SIP/2.0 200", 10);
    let at = got
        .find("SIP/2.0 200")
        .unwrap_or_else(|| panic!("no 200: {got}"));
    let ok = &got[at..];
    let contact = ok
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("contact:"))
        .unwrap_or_else(|| panic!("no Contact: {ok}"));
    assert!(contact.contains(";transport=tls"), "{contact}");
    assert!(
        ok.contains("RTP/SAVP") && ok.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "our key in the answer: {ok}"
    );
    assert!(
        !ok.contains("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
        "our own key, not the phone's"
    );
}

/// The first message's head (up to the blank line) of `text`.
fn read_until_end_of_head(text: &str) -> String {
    let end = text.find("\r\n\r\n").map_or(text.len(), |i| i + 4);
    text[..end].to_string()
}

#[test]
fn a_pjsip_phone_registers_over_tls() {
    let sw = Switch::start("sec-tls-pjsua", |t| t);
    let tls = sw.tls.unwrap();
    let registrar = format!("sip:{tls}");
    let _op = common::pjsua::operator(
        &sw,
        &sw.dir,
        "1002",
        &["--registrar", &registrar, "--transport", "tls"],
    );
    let regs = http_request_as(
        sw.http,
        "GET",
        "/api/v1/registrations",
        None,
        Some(&sw.supervisor()),
    )
    .map(|(_, b)| b)
    .unwrap_or_default();
    assert!(
        regs.contains("\"1002@") && regs.contains("\"TLS\""),
        "1002's binding is over TLS: {regs}"
    );
}
