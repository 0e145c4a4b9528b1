//! Tones in, tones out: writing test tones and reading which tone (and how loud)
//! a phone or a recording received.

use std::path::Path;

/// Write an 8 kHz mono 16-bit WAV with a sine tone.
pub fn tone_wav(path: &Path, freq: f64, secs: f64) {
    let samples = media::tone::sine(freq, secs, 12000);
    media::tone::write_wav(path, &samples, 8000).unwrap();
}

/// Which of the candidate frequencies dominates a WAV file (any rate, first channel),
/// looking only at the non-silent part, and how many loud samples it holds. `None` when
/// nothing rises above the tone floor: a silent file never reads as the right tone.
pub fn dominant(path: &Path, candidates: &[f64]) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 300).count();
    let f = media::tone::dominant_frequency(&loud_or_all(&samples), rate, candidates);
    (f, loud)
}

/// The stretch of a recording between its first and last loud sample (leading and
/// trailing silence would only dilute the tone).
fn loud_or_all(samples: &[i16]) -> Vec<i16> {
    let first = samples.iter().position(|s| s.unsigned_abs() > 300);
    let last = samples.iter().rposition(|s| s.unsigned_abs() > 300);
    match (first, last) {
        (Some(a), Some(b)) if b > a => samples[a..=b].to_vec(),
        _ => samples.to_vec(),
    }
}

/// The first channel of a WAV file and its sample rate (pjsua2's recorder writes the
/// conference bridge's rate, 16 kHz by default; baresip 8 kHz; linphone 48 kHz).
pub fn wav_mono(path: &Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    (
        r.samples::<i16>()
            .filter_map(Result::ok)
            .step_by(ch)
            .collect(),
        spec.sample_rate,
    )
}

/// Which candidate frequency dominates the stretch `from..to` seconds of a WAV (`to`
/// past the end means "to the end"), and how many loud samples that stretch holds — so
/// that a silent stretch is never read as "the right tone".
pub fn dominant_between(
    path: &Path,
    from: f64,
    to: f64,
    candidates: &[f64],
) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let a = ((from.max(0.0) * rate as f64) as usize).min(samples.len());
    let b = ((to.max(0.0) * rate as f64) as usize).clamp(a, samples.len());
    let part = &samples[a..b];
    let loud = part.iter().filter(|s| s.unsigned_abs() > 300).count();
    (
        media::tone::dominant_frequency(part, rate, candidates),
        loud,
    )
}

/// Like `dominant_between` for the last `secs` seconds before the last loud sample
/// (the silence a recorder may write after the hangup is left out).
pub fn dominant_tail(path: &Path, secs: f64, candidates: &[f64]) -> (Option<f64>, usize) {
    let (samples, rate) = wav_mono(path);
    let end = samples
        .iter()
        .rposition(|s| s.unsigned_abs() > 300)
        .map_or(0, |i| i + 1);
    let start = end.saturating_sub((secs * rate as f64) as usize);
    let part = &samples[start..end];
    let loud = part.iter().filter(|s| s.unsigned_abs() > 300).count();
    (
        media::tone::dominant_frequency(part, rate, candidates),
        loud,
    )
}

/// RMS per 20 ms frame of the first channel of a WAV (any rate is folded to 8 kHz
/// frames by time), for comparing speech by its loudness contour.
pub fn envelope(path: &Path) -> Vec<f64> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let ch = spec.channels as usize;
    let frame = (spec.sample_rate / 50) as usize;
    let s: Vec<f64> = r
        .samples::<i16>()
        .filter_map(Result::ok)
        .step_by(ch)
        .map(|x| x as f64)
        .collect();
    s.chunks(frame)
        .map(|c| (c.iter().map(|x| x * x).sum::<f64>() / c.len() as f64).sqrt())
        .collect()
}

/// The best normalised correlation of `needle`'s loudness contour anywhere in
/// `haystack`'s (1.0 = the same shape). A prompt played to a phone and recorded there
/// scores well above 0.8; unrelated speech, music or a tone scores far lower.
pub fn contains_prompt(haystack: &Path, needle: &Path) -> f64 {
    let h = envelope(haystack);
    let mut n = envelope(needle);
    // The synthesiser pads its output with silence, and a phone stops recording when
    // packets stop: compare the spoken part only.
    let peak = n.iter().cloned().fold(0.0, f64::max);
    let first = n.iter().position(|x| *x > peak * 0.05).unwrap_or(0);
    let last = n
        .iter()
        .rposition(|x| *x > peak * 0.05)
        .map_or(n.len(), |i| i + 1);
    n = n[first..last].to_vec();
    if h.len() < n.len() || n.is_empty() {
        return 0.0;
    }
    let norm = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let d: Vec<f64> = v.iter().map(|x| x - m).collect();
        let e = d.iter().map(|x| x * x).sum::<f64>().sqrt();
        (d, e)
    };
    let (nd, ne) = norm(&n);
    (0..=h.len() - n.len())
        .map(|off| {
            let (hd, he) = norm(&h[off..off + n.len()]);
            if he == 0.0 || ne == 0.0 {
                0.0
            } else {
                hd.iter().zip(&nd).map(|(a, b)| a * b).sum::<f64>() / (he * ne)
            }
        })
        .fold(0.0, f64::max)
}

/// Waits (at most `secs`) until the RIFF header of the WAV at `path` accounts for the
/// whole file: its writer has closed it. Fails the test otherwise.
pub fn wait_wav_complete(path: &Path, secs: u64) {
    let t0 = std::time::Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            if bytes.len() > 44 && &bytes[..4] == b"RIFF" {
                let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
                if riff + 8 == bytes.len() {
                    return;
                }
            }
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(secs),
            "{}: the WAV was never closed (its header does not cover the file)",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
