//! SRTP with SDES keys on an operator's leg over SIP TLS (issue 9; RFC 3711, RFC 4568):
//! a real baresip operator registered over TLS with `mediaenc=srtp-mand` (it accepts
//! only RTP/SAVP with a=crypto) answers a citizen's plain call. Tones are heard both
//! ways, the recording holds both decrypted tones, and a capture of the loopback
//! (tcpdump, from .ci/sec-deps.sh) shows that what the relay sends the operator is
//! SRTP: every packet carries the 80-bit tag, decoded as plain G.711 it is noise, and
//! with the key the switch offered in its SDP it authenticates and holds the tone.
//! The switch's log never shows a key.

mod common;
use common::*;
use media::srtp::{CryptoAttr, SrtpSession};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn wavs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav") {
                out.push(p);
            }
        }
    }
    out
}

/// tcpdump on the loopback, UDP only, each packet written at once (`-U`).
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(dir: &Path) -> Capture {
        let file = dir.join("lo.pcap");
        let log = dir.join("tcpdump.log");
        let child = Command::new("tcpdump")
            .args(["-i", "lo", "-U", "-n", "-s", "2048", "-w"])
            .arg(&file)
            .arg("udp")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("tcpdump must be installed: bash .ci/sec-deps.sh");
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("listening on")
            {
                return Capture { child, file };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Not left capturing after the test gives up.
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "tcpdump did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the capture and returns the UDP payloads sent from `src_port`.
    fn payloads_from(mut self, src_port: u16) -> Vec<Vec<u8>> {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let pcap = std::fs::read(&self.file).unwrap();
        assert!(pcap.len() >= 24, "empty capture");
        let le = pcap[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
        let u32_at = |b: &[u8], i: usize| {
            let a = [b[i], b[i + 1], b[i + 2], b[i + 3]];
            if le {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            }
        };
        let link = u32_at(&pcap, 20);
        // Linux loopback: Ethernet framing (DLT 1), or none (DLT 101/12 raw IP).
        let l2 = if link == 1 { 14 } else { 0 };
        let mut out = Vec::new();
        let mut i = 24;
        while i + 16 <= pcap.len() {
            let incl = u32_at(&pcap, i + 8) as usize;
            let frame = &pcap[i + 16..(i + 16 + incl).min(pcap.len())];
            i += 16 + incl;
            let Some(ip) = frame.get(l2..) else { continue };
            if ip.len() < 28 || ip[0] >> 4 != 4 || ip[9] != 17 {
                continue;
            }
            let ihl = (ip[0] & 0x0f) as usize * 4;
            let udp = &ip[ihl..];
            if u16::from_be_bytes([udp[0], udp[1]]) == src_port {
                out.push(udp[8..].to_vec());
            }
        }
        out
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pcmu_of(payloads: &[Vec<u8>]) -> Vec<i16> {
    let mut pcm = Vec::new();
    for p in payloads.iter().filter(|p| p.len() >= 172) {
        let mut s = [0i16; 160];
        media::g711::decode_frame(media::Codec::Pcmu, &p[12..172], &mut s);
        pcm.extend_from_slice(&s);
    }
    pcm
}

#[test]
fn a_tls_operator_with_srtp_answers_a_citizen_audio_both_ways_and_the_wire_is_encrypted() {
    let sw = Switch::start("sec-srtp-call", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 20.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 20.0);
    let tls = sw.tls.expect("a TLS listener");
    let capture = Capture::start(&dir);
    let operator = Baresip::start_with(
        &dir,
        BaresipOpts {
            name: "op1001srtp",
            account: format!(
                "<sip:1001@{tls};transport=tls>;auth_pass=madoguchi-1001;regint=60;answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand"
            ),
            tone: &dir.join("1000.wav"),
            commands: vec![],
            quit_after: Some(40),
        },
        &format!(
            "sip_cafile {}\nmodule srtp.so\n",
            dir.join("data/tls/cert.pem").display()
        ),
    );
    sw.wait_for("1001 to register over TLS", 15, |s| s.registered("1001"));

    let mut caller = baresip_caller(&sw, "caller", "0246221111", &dir.join("440.wav"), 8, "PCMU");
    sw.wait_for("the call to be up", 10, |s| s.status()["calls_active"] == 1);
    assert!(caller.wait_exit(20), "caller did not finish");
    sw.wait_for("the call to end", 10, |s| s.idle());
    let op_log = operator.log();
    assert_eq!(
        sw.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0,
        "operator log:\n{}",
        tail(&op_log, 60)
    );

    // Audio both ways, through the encrypted leg.
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

    // The recording holds both decrypted tones (caller left, center right).
    sw.wait_for("one recording", 10, |_| {
        wavs_under(&dir.join("recordings")).len() == 1
    });
    let rec = wavs_under(&dir.join("recordings"));
    let mut r = hound::WavReader::open(&rec[0]).unwrap();
    let rate = r.spec().sample_rate;
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = s.iter().step_by(2).copied().collect();
    let right: Vec<i16> = s.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(
        media::tone::dominant_frequency(&left, rate, &[440.0, 1000.0]),
        Some(440.0)
    );
    assert_eq!(
        media::tone::dominant_frequency(&right, rate, &[440.0, 1000.0]),
        Some(1000.0),
        "the operator's SRTP was decrypted into the recording"
    );

    // The INVITE the operator got: RTP/SAVP with our key, over TLS.
    let invite_at = op_log
        .find("INVITE sip:")
        .expect("the INVITE in the operator's trace");
    let invite = &op_log[invite_at..];
    let m_line = invite
        .lines()
        .find(|l| l.starts_with("m=audio "))
        .expect("an audio stream");
    assert!(m_line.contains("RTP/SAVP"), "{m_line}");
    let port: u16 = m_line.split(' ').nth(1).unwrap().parse().unwrap();
    let crypto = invite
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=crypto:"))
        .expect("our a=crypto line");
    let ours = CryptoAttr::parse(crypto).unwrap();

    // What the relay sent from that port: SRTP.
    let wire = capture.payloads_from(port);
    let rtp: Vec<Vec<u8>> = wire
        .into_iter()
        .filter(|p| p.len() >= 12 && p[1] & 0x7f == 0)
        .collect();
    assert!(
        rtp.len() >= 150,
        "{} media packets to the operator",
        rtp.len()
    );
    assert!(
        rtp.iter().all(|p| p.len() == 12 + 160 + 10),
        "every packet is 20 ms of PCMU plus an 80-bit tag: {:?}",
        rtp.iter()
            .map(Vec::len)
            .collect::<std::collections::BTreeSet<_>>()
    );
    let plain_power = media::tone::goertzel_power(&pcmu_of(&rtp), 8000, 440.0);
    let mut rx = SrtpSession::new(ours.suite, &ours.key);
    let mut clear = Vec::new();
    for p in &rtp {
        let mut b = [0u8; 1500];
        b[..p.len()].copy_from_slice(p);
        let n = rx
            .unprotect_rtp(&mut b, p.len())
            .expect("authentic SRTP under the offered key");
        clear.push(b[..n].to_vec());
    }
    let clear_pcm = pcmu_of(&clear);
    assert_eq!(
        media::tone::dominant_frequency(&clear_pcm, 8000, &[440.0, 1000.0]),
        Some(440.0)
    );
    let clear_power = media::tone::goertzel_power(&clear_pcm, 8000, 440.0);
    assert!(
        plain_power < clear_power / 100.0,
        "decoded as plain G.711 the wire is not the tone: {plain_power} vs {clear_power}"
    );

    // No key in the switch's log.
    let log = sw.log();
    assert!(!log.contains("inline:"), "a key in the log");
    assert!(!log.contains(&crypto[crypto.find("inline:").unwrap() + 7..][..20]));
}

/// The same with PJSIP (pjsua2, SRTP mandatory): a second SRTP implementation (libsrtp)
/// decrypts what the relay protects, and the other way round.
#[test]
fn a_pjsip_operator_with_mandatory_srtp_over_tls_hears_and_is_heard() {
    use common::pjsua::*;
    let sw = Switch::start("sec-srtp-pjsua", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 20.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 20.0);
    let registrar = format!("sip:{}", sw.tls.expect("a TLS listener"));
    let t1000 = dir.join("1000.wav").display().to_string();
    let mut op = operator(
        &sw,
        &dir,
        "1002",
        &[
            "--registrar",
            &registrar,
            "--transport",
            "tls",
            "--srtp",
            "mandatory",
            "--auto-answer",
            "--play",
            &t1000,
            "--record",
            "rx.wav",
            "--exit-after",
            "45",
            "--exit-after-calls",
            "1",
        ],
    );
    let mut caller = baresip_caller(&sw, "caller", "0246221111", &dir.join("440.wav"), 8, "PCMU");
    sw.wait_for("the call to be up", 15, |s| s.status()["calls_active"] == 1);
    op.wait_event("the operator's leg CONFIRMED", 10, |e| {
        is(e, "state") && e["state"] == "CONFIRMED"
    });
    assert!(caller.wait_exit(25), "caller did not finish");
    sw.wait_for("the call to end", 10, |s| s.idle());
    assert!(
        op.wait_exit(15),
        "operator agent did not exit\n{}",
        op.report()
    );
    assert!(
        op.log().contains("RTP/SAVP"),
        "the operator was offered SRTP:\n{}",
        op.report()
    );
    let rx = op.path("rx.wav");
    let (f, loud) = dominant(&rx, &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "operator received too little audio ({loud})\n{}",
        op.report()
    );
    assert_eq!(f, Some(440.0), "the operator hears the citizen");
    let c_rx = caller.received_wavs();
    assert!(!c_rx.is_empty(), "caller recorded nothing");
    let (f, loud) = dominant(&c_rx[0], &[440.0, 1000.0]);
    assert!(loud > 8000, "caller received too little audio ({loud})");
    assert_eq!(f, Some(1000.0), "the citizen hears the operator");
}
