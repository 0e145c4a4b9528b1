//! Helpers shared by the recorder's integration tests: scratch directories and tone
//! feeders that behave like the relay (20 ms frames, stamped with their arrival).
#![allow(dead_code)]

use media::{Leg, Tap, TapFrame};
use recorder::RecorderConfig;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn scratch(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let d = std::env::temp_dir().join(format!("recorder-{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn config(dir: &Path) -> RecorderConfig {
    RecorderConfig {
        dir: dir.join("recordings"),
        catalogue: dir.join("catalogue.sqlite"),
        disk_min_free_bytes: 0,
        ..RecorderConfig::default()
    }
}

/// 20 ms of a sine at `freq`, continuing the phase of frame number `k`.
pub fn tone_frame(leg: Leg, freq: f64, k: u64, ts0: u32, arrival: Instant) -> TapFrame {
    let mut samples = [0i16; 160];
    for (i, s) in samples.iter_mut().enumerate() {
        let n = (k * 160 + i as u64) as f64;
        *s = (8000.0 * (2.0 * std::f64::consts::PI * freq * n / 8000.0).sin()) as i16;
    }
    TapFrame {
        leg,
        rtp_timestamp: ts0.wrapping_add((k * 160) as u32),
        arrival,
        len: 160,
        samples,
    }
}

/// Sends `frames` frames of a tone on `leg` at real-time pace, starting at `start` +
/// `first` frames, like the relay does (try_send; returns how many were refused).
pub async fn feed(
    tap: Tap,
    leg: Leg,
    freq: f64,
    start: Instant,
    first: u64,
    frames: u64,
    ts0: u32,
) -> u64 {
    let mut refused = 0;
    for k in first..first + frames {
        let at = start + Duration::from_millis(20 * k);
        tokio::time::sleep_until(at.into()).await;
        if tap
            .try_send(tone_frame(leg, freq, k, ts0, Instant::now()))
            .is_err()
        {
            refused += 1;
        }
    }
    refused
}

/// The two channels of a stereo WAV.
pub fn read_stereo(path: &Path) -> (Vec<i16>, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let all: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let left = all.iter().step_by(2).copied().collect();
    let right = all.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

/// The tone of a window (`None` if silent: see `media::tone::POWER_FLOOR`).
pub fn dominant(samples: &[i16]) -> Option<f64> {
    media::tone::dominant_frequency(samples, 8000, &[440.0, 1000.0])
}

pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Samples of `[from_s, to_s)` seconds.
pub fn window(ch: &[i16], from_s: f64, to_s: f64) -> &[i16] {
    let a = ((from_s * 8000.0) as usize).min(ch.len());
    let b = ((to_s * 8000.0) as usize).min(ch.len());
    &ch[a..b]
}

pub fn wav_files(dir: &Path) -> Vec<PathBuf> {
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
