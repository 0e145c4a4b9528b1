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

/// Below this power no candidate is said to dominate: about a sine of peak 100
/// (−50 dBFS) filling the block. Silence, or G.711's idle-noise floor, must never read
/// as "the right tone" — a test that checks a frequency on a dead channel has to fail.
pub const POWER_FLOOR: f64 = 2500.0;

/// The candidate with the most power, or `None` when even that is below
/// [`POWER_FLOOR`] (silence, near-silence, no samples).
pub fn dominant_frequency(samples: &[i16], rate: u32, candidates: &[f64]) -> Option<f64> {
    candidates
        .iter()
        .copied()
        .map(|f| (f, goertzel_power(samples, rate, f)))
        .fold(None::<(f64, f64)>, |best, (f, p)| match best {
            Some((_, bp)) if bp >= p => best,
            _ => Some((f, p)),
        })
        .filter(|(_, p)| *p >= POWER_FLOOR)
        .map(|(f, _)| f)
}

/// Root mean square of the samples (0 for none): the loudness to assert beside a
/// frequency check.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
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
            assert_eq!(dominant_frequency(&s, RATE, &cands), Some(f));
        }
        let s = sine(440.0, 0.2, 8000);
        assert!(goertzel_power(&s, RATE, 440.0) > 100.0 * goertzel_power(&s, RATE, 1000.0));
        // A mix: the louder tone wins.
        let a = sine(440.0, 0.2, 3000);
        let b = sine(1000.0, 0.2, 9000);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(dominant_frequency(&mix, RATE, &cands), Some(1000.0));
    }

    #[test]
    fn silence_and_near_silence_have_no_dominant_tone() {
        let cands = [440.0, 1000.0];
        assert_eq!(dominant_frequency(&[], RATE, &cands), None);
        assert_eq!(dominant_frequency(&[0; 8000], RATE, &cands), None);
        // G.711 idle noise: a few LSBs of jitter.
        let hiss: Vec<i16> = (0..8000).map(|i| [3, -2, 1, -4][i % 4]).collect();
        assert_eq!(dominant_frequency(&hiss, RATE, &cands), None);
        // A tone at −60 dBFS is below the floor; at −40 dBFS it is heard.
        assert_eq!(
            dominant_frequency(&sine(440.0, 1.0, 33), RATE, &cands),
            None
        );
        assert_eq!(
            dominant_frequency(&sine(440.0, 1.0, 330), RATE, &cands),
            Some(440.0)
        );
        // A tone over a quarter of the block still counts (calls start late in a file).
        let mut s = vec![0i16; 6000];
        s.extend(sine(1000.0, 0.25, 8000));
        assert_eq!(dominant_frequency(&s, RATE, &cands), Some(1000.0));
    }

    #[test]
    fn rms_of_a_sine_is_its_peak_over_root_two() {
        assert_eq!(rms(&[]), 0.0);
        let r = rms(&sine(1000.0, 1.0, 10000));
        assert!((r - 10000.0 / 2f64.sqrt()).abs() < 10.0, "{r}");
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
