//! Test tones: generate a sine, write it as WAV, and tell which tone arrived
//! (Goertzel's algorithm — one DFT bin — is cheap and exact enough for that).

use std::path::Path;

/// The telephony sample rate everything here defaults to.
pub const RATE: u32 = 8000;

/// `secs` of a `freq_hz` sine at 8000 Hz with peak `amplitude`.
pub fn sine(freq_hz: f64, secs: f64, amplitude: i16) -> Vec<i16> {
    sine_at(RATE, freq_hz, secs, amplitude)
}

/// Like `sine`, at any sample rate.
pub fn sine_at(rate: u32, freq_hz: f64, secs: f64, amplitude: i16) -> Vec<i16> {
    let n = (secs * rate as f64).round() as usize;
    let w = 2.0 * std::f64::consts::PI * freq_hz / rate as f64;
    (0..n)
        .map(|i| (amplitude as f64 * (w * i as f64).sin()).round() as i16)
        .collect()
}

/// Writes mono 16-bit PCM WAV (the format of `prompts/`).
pub fn write_wav(path: impl AsRef<Path>, samples: &[i16], rate: u32) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for s in samples {
        w.write_sample(*s)?;
    }
    w.finalize()
}

/// Power of `freq` in `samples` (Goertzel), normalised by the length squared so
/// that blocks of different lengths compare.
pub fn goertzel_power(samples: &[i16], rate: u32, freq: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / rate as f64).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    p / (samples.len() as f64 * samples.len() as f64)
}

/// The candidate with the most power (the first candidate if there are no samples).
pub fn dominant_frequency(samples: &[i16], rate: u32, candidates: &[f64]) -> f64 {
    candidates
        .iter()
        .copied()
        .map(|f| (f, goertzel_power(samples, rate, f)))
        .fold(None::<(f64, f64)>, |best, (f, p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((f, p)),
        })
        .map(|(f, _)| f)
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_has_the_right_length_and_peak() {
        let s = sine(1000.0, 0.5, 10000);
        assert_eq!(s.len(), 4000);
        let peak = s.iter().map(|x| x.unsigned_abs()).max().unwrap();
        assert!((9990..=10000).contains(&peak), "peak {peak}");
        // 1000 Hz at 8000 Hz: period of 8 samples.
        assert_eq!(s[0], 0);
        assert_eq!(s[2], 10000);
        assert_eq!(s[6], -10000);
    }

    #[test]
    fn goertzel_picks_the_tone() {
        let cands = [350.0, 440.0, 1000.0, 1400.0];
        for f in cands {
            let s = sine(f, 0.2, 8000);
            assert_eq!(dominant_frequency(&s, RATE, &cands), f);
        }
        let s = sine(440.0, 0.2, 8000);
        assert!(goertzel_power(&s, RATE, 440.0) > 100.0 * goertzel_power(&s, RATE, 1000.0));
        // A mix: the louder tone wins.
        let a = sine(440.0, 0.2, 3000);
        let b = sine(1000.0, 0.2, 9000);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(dominant_frequency(&mix, RATE, &cands), 1000.0);
        assert!(dominant_frequency(&[], RATE, &cands) == 350.0);
    }

    #[test]
    fn wav_round_trip() {
        let dir = std::env::temp_dir().join(format!("media-tone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav");
        let s = sine(440.0, 0.1, 5000);
        write_wav(&path, &s, RATE).unwrap();
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.spec().channels, 1);
        let back: Vec<i16> = r.into_samples::<i16>().map(|x| x.unwrap()).collect();
        assert_eq!(back, s);
        std::fs::remove_dir_all(&dir).ok();
    }
}
