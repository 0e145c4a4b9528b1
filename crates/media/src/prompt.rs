//! Announcements: 8 kHz mono 16-bit audio, pre-encoded to both G.711 laws at load
//! so that playback is a copy per packet, and the handle that reports completion.

use crate::forward::FRAME_SAMPLES;
use crate::g711::{self, Codec};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::oneshot;

#[derive(Debug, Error)]
pub enum PromptError {
    #[error("{path}: {source}")]
    Wav { path: String, source: hound::Error },
    #[error("{path}: {what}; prompts must be 8000 Hz mono 16-bit PCM WAV")]
    Format { path: String, what: String },
}

/// A loaded announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pcm: Vec<i16>,
    ulaw: Vec<u8>,
    alaw: Vec<u8>,
}

impl Prompt {
    /// Loads a prompt file. Anything but 8 kHz mono 16-bit integer PCM is refused
    /// with a sentence saying so: resampling belongs in the tool that made it.
    pub fn from_wav(path: impl AsRef<Path>) -> Result<Prompt, PromptError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let wav = |source| PromptError::Wav {
            path: name.clone(),
            source,
        };
        let reader = hound::WavReader::open(path).map_err(wav)?;
        let spec = reader.spec();
        if spec.sample_rate != 8000
            || spec.channels != 1
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(PromptError::Format {
                path: name,
                what: format!(
                    "it is {} Hz, {} channel(s), {}-bit {:?}",
                    spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
                ),
            });
        }
        let pcm = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(wav)?;
        Ok(Prompt::from_samples(pcm))
    }

    /// A prompt from 8 kHz samples.
    pub fn from_samples(pcm: Vec<i16>) -> Prompt {
        let mut ulaw = vec![0u8; pcm.len()];
        let mut alaw = vec![0u8; pcm.len()];
        g711::encode_frame(Codec::Pcmu, &pcm, &mut ulaw);
        g711::encode_frame(Codec::Pcma, &pcm, &mut alaw);
        Prompt { pcm, ulaw, alaw }
    }

    pub fn samples(&self) -> &[i16] {
        &self.pcm
    }

    pub fn encoded(&self, codec: Codec) -> &[u8] {
        match codec {
            Codec::Pcmu => &self.ulaw,
            Codec::Pcma => &self.alaw,
        }
    }

    /// Number of 20 ms packets (the last may be short).
    pub fn frames(&self) -> usize {
        self.pcm.len().div_ceil(FRAME_SAMPLES)
    }

    /// Encoded frame `i` in `codec`, if the prompt has one.
    pub fn frame(&self, codec: Codec, i: usize) -> Option<&[u8]> {
        let data = self.encoded(codec);
        let start = i.checked_mul(FRAME_SAMPLES)?;
        (start < data.len()).then(|| &data[start..(start + FRAME_SAMPLES).min(data.len())])
    }
}

/// How a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackOutcome {
    /// Every packet was sent.
    Completed,
    /// `PlaybackHandle::stop`, or the relay stopped.
    Stopped,
    /// Another prompt was started on the same leg.
    Replaced,
}

/// Returned by `RelayHandle::play`.
#[derive(Debug)]
pub struct PlaybackHandle {
    pub(crate) done: oneshot::Receiver<PlaybackOutcome>,
    pub(crate) cancel: Arc<AtomicBool>,
}

impl PlaybackHandle {
    pub(crate) fn new() -> (
        PlaybackHandle,
        oneshot::Sender<PlaybackOutcome>,
        Arc<AtomicBool>,
    ) {
        let (tx, rx) = oneshot::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        (
            PlaybackHandle {
                done: rx,
                cancel: cancel.clone(),
            },
            tx,
            cancel,
        )
    }

    /// Stops the prompt at the next 20 ms tick; forwarding to the leg resumes.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits until the prompt ended and says how.
    pub async fn finished(self) -> PlaybackOutcome {
        self.done.await.unwrap_or(PlaybackOutcome::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone;

    #[test]
    fn wav_is_loaded_and_pre_encoded() {
        let dir = std::env::temp_dir().join(format!("media-prompt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.wav");
        let pcm = tone::sine(1000.0, 0.51, 12000); // 4080 samples: 25.5 frames
        tone::write_wav(&path, &pcm, 8000).unwrap();
        let p = Prompt::from_wav(&path).unwrap();
        assert_eq!(p.samples(), &pcm[..]);
        assert_eq!(p.frames(), 26);
        assert_eq!(p.frame(Codec::Pcmu, 0).unwrap().len(), 160);
        assert_eq!(p.frame(Codec::Pcma, 25).unwrap().len(), 80);
        assert!(p.frame(Codec::Pcma, 26).is_none());
        assert_eq!(p.encoded(Codec::Pcmu)[2], g711::ulaw_encode(pcm[2]));
        assert_eq!(p.encoded(Codec::Pcma)[6], g711::alaw_encode(pcm[6]));

        let wide = dir.join("w.wav");
        tone::write_wav(&wide, &pcm, 16000).unwrap();
        let e = Prompt::from_wav(&wide).unwrap_err();
        assert!(e.to_string().contains("16000 Hz"), "{e}");
        assert!(matches!(
            Prompt::from_wav(dir.join("missing.wav")),
            Err(PromptError::Wav { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn handle_reports_outcome() {
        let (h, tx, cancel) = PlaybackHandle::new();
        h.stop();
        assert!(cancel.load(Ordering::Relaxed));
        tx.send(PlaybackOutcome::Replaced).unwrap();
        assert_eq!(h.finished().await, PlaybackOutcome::Replaced);
        let (h, tx, _) = PlaybackHandle::new();
        drop(tx); // the relay went away
        assert_eq!(h.finished().await, PlaybackOutcome::Stopped);
    }
}
