//! Every call is recorded: with real phones, the recording holds the caller on the left
//! channel and the center on the right, for as long as the call lasted; after kill -9
//! in the middle of 20 recorded calls, every file plays up to about a second before the
//! kill; supervisors find and fetch recordings only after logging in.

mod common;
use common::*;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
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
    out.sort();
    out
}

/// (left, right) channels of a stereo recording.
fn channels(p: &Path) -> (Vec<i16>, Vec<i16>, u32) {
    let mut r = hound::WavReader::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let spec = r.spec();
    assert_eq!(spec.channels, 2, "recordings are stereo");
    assert_eq!(spec.sample_rate, 8000);
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let l = s.iter().step_by(2).copied().collect();
    let rr = s.iter().skip(1).step_by(2).copied().collect();
    (l, rr, spec.sample_rate)
}

fn basic(sw: &Switch) -> String {
    sw.supervisor()
}

fn get_with_auth(sw: &Switch, path: &str, auth: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(sw.http).unwrap();
    let hdr = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{hdr}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let t = String::from_utf8_lossy(&out).to_string();
    let code = t.split(' ').nth(1).unwrap().parse().unwrap();
    (
        code,
        t.split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default(),
    )
}

#[test]
fn a_call_is_recorded_caller_left_center_right_for_its_whole_length() {
    let sw = Switch::start("rec-call", no_greeting);
    let dir = sw.dir.clone();
    tone_wav(&dir.join("440.wav"), 440.0, 30.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 30.0);
    let _op = baresip_operator(&sw, "1001", &dir.join("1000.wav"), 40);
    sw.wait_for("1001 to register", 10, |s| s.registered("1001"));
    let mut caller = baresip_caller(&sw, "caller", "0246542111", &dir.join("440.wav"), 8, "PCMU");
    assert!(caller.wait_exit(20));
    sw.wait_for("the call to end", 10, |s| s.idle());
    sw.wait_for("one recording", 10, |_| {
        wavs_under(&dir.join("recordings")).len() == 1
    });
    let files = wavs_under(&dir.join("recordings"));
    let (l, r, rate) = channels(&files[0]);
    let secs = l.len() as f64 / rate as f64;
    // The call lasted as long as the caller's own received-audio dump.
    let c_rx = caller.received_wavs();
    let spoken = hound::WavReader::open(&c_rx[0])
        .map(|w| w.duration() as f64 / w.spec().sample_rate as f64)
        .unwrap();
    assert!(
        (secs - spoken).abs() <= 0.5,
        "recording {secs:.2} s, call {spoken:.2} s"
    );
    // Each channel holds its side's tone, loud, for most of the call (the operator's
    // answer and the first packets take a moment).
    for (ch, want, who) in [(&l, 440.0, "caller's"), (&r, 1000.0, "center's")] {
        assert_eq!(
            media::tone::dominant_frequency(ch, rate, &[440.0, 1000.0]),
            Some(want),
            "{who} channel"
        );
        let loud = ch.iter().filter(|s| s.unsigned_abs() > 300).count() as f64 / rate as f64;
        assert!(
            loud > secs / 2.0,
            "{who} channel: only {loud:.2} s of {secs:.2} s is loud"
        );
    }

    // The catalogue: supervisors only, and it names the number and the operator.
    let (code, _) = get_with_auth(&sw, "/api/v1/recordings", None);
    assert_eq!(code, 401);
    let auth = basic(&sw);
    let (code, body) = get_with_auth(&sw, "/api/v1/recordings?number=0246542111", Some(&auth));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("1001"), "operator missing: {body}");
    assert!(body.contains("complete"), "state: {body}");

    // The `recordings` command reads the same catalogue from the configuration: it lists
    // this call (by number and by operator), and deletes it with a reason.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .arg("recordings")
            .args(args)
            .arg("--config")
            .arg(&sw.config)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "recordings {args:?}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let name = files[0].file_stem().unwrap().to_string_lossy().to_string();
    let listed = cli(&["list", "--number", "0246542111"]);
    let row = listed
        .lines()
        .find(|l| l.contains(&name) || l.contains("1001"))
        .unwrap_or_else(|| panic!("the call is not listed:\n{listed}"));
    let other = cli(&["list", "--operator", "1002"]);
    assert!(
        !other.contains(&name),
        "1002 took no call, yet lists it:\n{other}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v
        .as_array()
        .or(v["recordings"].as_array())
        .and_then(|a| a.first())
        .and_then(|r| r["id"].as_u64())
        .unwrap_or_else(|| panic!("no id in {body}"));
    assert!(row.contains(&id.to_string()), "{row}");
    cli(&[
        "delete",
        &id.to_string(),
        "--by",
        "supervisor-sato",
        "--reason",
        "本人の申し出",
    ]);
    assert!(!files[0].exists(), "the file is still there after delete");
    let after = cli(&["list", "--number", "0246542111"]);
    assert!(!after.contains(&name), "deleted, yet listed:\n{after}");
}

/// PCMU RTP packets of a 440 Hz tone, 20 ms each.
fn tone_packets(n: usize) -> Vec<Vec<u8>> {
    let pcm = media::tone::sine(440.0, n as f64 * 0.02, 12000);
    pcm.chunks(160)
        .enumerate()
        .map(|(i, c)| {
            let mut p = vec![0x80, 0, (i >> 8) as u8, i as u8];
            p.extend_from_slice(&((i * 160) as u32).to_be_bytes());
            p.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
            let mut enc = vec![0u8; c.len()];
            media::g711::encode_frame(media::Codec::Pcmu, c, &mut enc);
            p.extend_from_slice(&enc);
            p
        })
        .collect()
}

#[test]
fn kill_9_during_20_recorded_calls_leaves_every_file_playable() {
    let mut sw = Switch::start("rec-kill9", |t| {
        t.replace("max_calls = 200", "max_calls = 50")
    });
    // 20 callers, each answered by the queue (greeting) and sending 440 Hz.
    let mut calls: Vec<(RawSip, UdpSocket, SocketAddr, Instant)> = Vec::new();
    for i in 0..20 {
        let c = RawSip::new();
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.invite(
            &sw,
            "0246221111",
            "0312345678",
            &format!("k9-{i}"),
            rtp.local_addr().unwrap(),
        );
        let ok = c.final_response(5.0, &mut Vec::new()).expect("answered");
        assert_eq!(ok.status, 200);
        let body = String::from_utf8_lossy(&ok.body).to_string();
        let port: u16 = body
            .lines()
            .find(|l| l.starts_with("m=audio"))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        calls.push((
            c,
            rtp,
            format!("127.0.0.1:{port}").parse().unwrap(),
            Instant::now(),
        ));
    }
    let packets = tone_packets(250);
    let t0 = Instant::now();
    for (k, p) in packets.iter().enumerate() {
        for (_, rtp, to, _) in &calls {
            let _ = rtp.send_to(p, to);
        }
        let due = t0 + Duration::from_millis(20 * (k as u64 + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    // Five seconds of audio on every call, then the power cut.
    let killed_at = Instant::now();
    let _ = sw.child.kill(); // SIGKILL
    let _ = sw.child.wait();
    // Restart: unfinished files are repaired and marked interrupted.
    sw.restart();
    let files = wavs_under(&sw.dir.join("recordings"));
    assert_eq!(files.len(), 20, "one file per call");
    for f in &files {
        let out = std::process::Command::new("sox")
            .arg("--i")
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sox cannot read {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let (l, _, rate) = channels(f);
        let secs = l.len() as f64 / rate as f64;
        // Which call this file belongs to: its name carries the SIP Call-ID `k9-N`.
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let n: usize = name
            .split("k9-")
            .nth(1)
            .and_then(|x| x.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{name}"));
        let lived = killed_at.duration_since(calls[n].3).as_secs_f64();
        // At most about a second may be lost to the kill (200 ms of slack for scheduling).
        assert!(
            secs >= lived - 1.2,
            "{name}: {secs:.2} s kept of {lived:.2} s"
        );
        let tail = &l[l.len().saturating_sub(rate as usize)..];
        assert_eq!(
            media::tone::dominant_frequency(tail, rate, &[440.0, 1000.0]),
            Some(440.0),
            "{}: the last second is not the caller's tone",
            f.display()
        );
        // A tone of peak 12000 through G.711: RMS about 8500. Half of that allows for a
        // gap at the cut, not for a silent file.
        assert!(
            media::tone::rms(tail) > 4000.0,
            "{}: the last second is quiet (RMS {:.0})",
            f.display(),
            media::tone::rms(tail)
        );
    }
    let auth = basic(&sw);
    let (code, body) = get_with_auth(&sw, "/api/v1/recordings", Some(&auth));
    assert_eq!(code, 200);
    assert_eq!(body.matches("interrupted").count(), 20, "{body}");
}
