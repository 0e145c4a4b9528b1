//! Three-party mixing for a supervisor on an operator's call (spec 第2-7 ⑵ ウ: モニタリング,
//! ささやき, 割込み), sans-IO: no socket, no clock, no allocation after `Mixer::new`.
//!
//! Each party's decoded audio goes into its own small FIFO as packets arrive (any ptime);
//! every 20 ms the relay's media clock calls `tick`, which takes one frame from each FIFO
//! (silence when a party sent nothing) and `output` sums, for one listener, the parties
//! that listener hears in the current mode, with saturation (a sum of two loud voices
//! clips instead of wrapping round), then encodes it in the listener's law:
//!
//! | mode    | supervisor hears  | operator hears        | citizen hears          |
//! |---------|-------------------|-----------------------|------------------------|
//! | listen  | citizen+operator  | citizen (relayed)     | operator (relayed)     |
//! | whisper | citizen+operator  | citizen+supervisor    | operator (relayed)     |
//! | barge   | citizen+operator  | citizen+supervisor    | operator+supervisor    |
//!
//! "Relayed" outputs stay on the relay's ordinary packet path (`forward`); only the mixed
//! ones come from here. In listen mode what the supervisor sends is dropped at `push`.
//!
//! Jitter: the FIFOs hold at most [`MAX_DELAY_SAMPLES`] after a tick; older audio is
//! dropped, so two clocks drifting apart cost a few samples, never a growing delay.

use crate::forward::FRAME_SAMPLES;
use crate::g711::{self, Codec};

/// Who takes part in a supervised call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// The citizen (relay leg A).
    Citizen = 0,
    /// The operator (relay leg B).
    Operator = 1,
    /// The supervisor (the monitor link).
    Supervisor = 2,
}

/// What the supervisor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MixMode {
    /// モニタリング: hears both, is heard by nobody.
    Listen,
    /// ささやき: hears both, is heard by the operator only.
    Whisper,
    /// 割込み: a three-way call.
    Barge,
}

/// The most audio kept per party: 160 ms (any ptime up to 120 ms fits).
const CAPACITY: usize = 8 * FRAME_SAMPLES;
/// Audio left waiting after a tick beyond this is dropped (bounded latency, 60 ms).
pub const MAX_DELAY_SAMPLES: usize = 3 * FRAME_SAMPLES;

/// A ring of samples with a fixed capacity.
struct Fifo {
    buf: [i16; CAPACITY],
    head: usize,
    len: usize,
}

impl Fifo {
    fn new() -> Fifo {
        Fifo {
            buf: [0; CAPACITY],
            head: 0,
            len: 0,
        }
    }

    fn drop_oldest(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % CAPACITY;
        self.len -= n;
    }

    fn push(&mut self, pcm: &[i16]) {
        // Only the newest CAPACITY samples of a (malformed) huge packet matter.
        let pcm = &pcm[pcm.len().saturating_sub(CAPACITY)..];
        let over = (self.len + pcm.len()).saturating_sub(CAPACITY);
        self.drop_oldest(over);
        for &s in pcm {
            self.buf[(self.head + self.len) % CAPACITY] = s;
            self.len += 1;
        }
    }

    /// One frame into `out`; what is missing is silence. True if any sample was real.
    fn pop(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        let n = self.len.min(FRAME_SAMPLES);
        for (i, o) in out.iter_mut().enumerate() {
            *o = if i < n {
                self.buf[(self.head + i) % CAPACITY]
            } else {
                0
            };
        }
        self.drop_oldest(n);
        n > 0
    }
}

/// The mixer of one supervised call. About 8 KB: box it once when supervision starts.
pub struct Mixer {
    mode: MixMode,
    fifo: [Fifo; 3],
    frame: [[i16; FRAME_SAMPLES]; 3],
}

impl Mixer {
    pub fn new(mode: MixMode) -> Mixer {
        Mixer {
            mode,
            fifo: [Fifo::new(), Fifo::new(), Fifo::new()],
            frame: [[0; FRAME_SAMPLES]; 3],
        }
    }

    pub fn mode(&self) -> MixMode {
        self.mode
    }

    /// The supervisor changes what they do; the audio already queued is kept.
    pub fn set_mode(&mut self, mode: MixMode) {
        self.mode = mode;
    }

    /// Whether `to`'s audio comes from the mixer in this mode (else from the relay).
    pub fn feeds(&self, to: Party) -> bool {
        match to {
            Party::Supervisor => true,
            Party::Operator => matches!(self.mode, MixMode::Whisper | MixMode::Barge),
            Party::Citizen => self.mode == MixMode::Barge,
        }
    }

    /// Whether `to` hears `from` through the mixer.
    pub fn hears(&self, to: Party, from: Party) -> bool {
        to != from && self.feeds(to)
    }

    /// Decoded audio `from` a party, as it arrives.
    pub fn push(&mut self, from: Party, pcm: &[i16]) {
        if from == Party::Supervisor && self.mode == MixMode::Listen {
            return;
        }
        self.fifo[from as usize].push(pcm);
    }

    /// G.711 audio `from` a party (an RTP payload), decoded on the stack.
    pub fn push_encoded(&mut self, from: Party, codec: Codec, payload: &[u8]) {
        let mut pcm = [0i16; FRAME_SAMPLES];
        for chunk in payload.chunks(FRAME_SAMPLES) {
            g711::decode_frame(codec, chunk, &mut pcm[..chunk.len()]);
            self.push(from, &pcm[..chunk.len()]);
        }
    }

    /// The media clock: take the next 20 ms of every party.
    pub fn tick(&mut self) {
        for (f, out) in self.fifo.iter_mut().zip(self.frame.iter_mut()) {
            f.pop(out);
            // Bounded delay: a party whose clock runs fast does not pile up audio.
            let excess = f.len.saturating_sub(MAX_DELAY_SAMPLES);
            f.drop_oldest(excess);
        }
    }

    /// This tick's mix for `to` as linear samples: the parties it hears, summed with
    /// saturation.
    pub fn mix(&self, to: Party, out: &mut [i16; FRAME_SAMPLES]) {
        let parties = [Party::Citizen, Party::Operator, Party::Supervisor];
        for (i, o) in out.iter_mut().enumerate() {
            let mut sum: i32 = 0;
            for &p in &parties {
                if self.hears(to, p) {
                    sum += self.frame[p as usize][i] as i32;
                }
            }
            *o = sum.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
        }
    }

    /// This tick's mix for `to`, encoded in `codec` into `out` (one 20 ms frame).
    pub fn output(&self, to: Party, codec: Codec, out: &mut [u8; FRAME_SAMPLES]) {
        let mut pcm = [0i16; FRAME_SAMPLES];
        self.mix(to, &mut pcm);
        g711::encode_frame(codec, &pcm, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone;

    fn frames(freq: f64, n: usize, amp: i16) -> Vec<i16> {
        tone::sine(freq, n as f64 * 0.02, amp)
    }

    /// Runs `n` ticks feeding each party its tone, returns what each listener got.
    fn run(mode: MixMode, n: usize) -> [Vec<i16>; 3] {
        let tones = [
            frames(440.0, n, 8000),
            frames(1000.0, n, 8000),
            frames(1400.0, n, 8000),
        ];
        let mut m = Mixer::new(mode);
        let mut got: [Vec<i16>; 3] = Default::default();
        for k in 0..n {
            for p in [Party::Citizen, Party::Operator, Party::Supervisor] {
                let t = &tones[p as usize];
                // Through G.711, as on the wire.
                let mut enc = [0u8; FRAME_SAMPLES];
                g711::encode_frame(
                    Codec::Pcmu,
                    &t[k * FRAME_SAMPLES..(k + 1) * FRAME_SAMPLES],
                    &mut enc,
                );
                m.push_encoded(p, Codec::Pcmu, &enc);
            }
            m.tick();
            for to in [Party::Citizen, Party::Operator, Party::Supervisor] {
                let mut out = [0u8; FRAME_SAMPLES];
                m.output(to, Codec::Pcma, &mut out);
                let mut pcm = [0i16; FRAME_SAMPLES];
                g711::decode_frame(Codec::Pcma, &out, &mut pcm);
                got[to as usize].extend_from_slice(&pcm);
            }
        }
        got
    }

    fn power(pcm: &[i16], f: f64) -> f64 {
        tone::goertzel_power(pcm, 8000, f)
    }

    /// Which of the three tones are clearly present (above a tenth of the strongest).
    fn heard(pcm: &[i16]) -> Vec<f64> {
        let p: Vec<f64> = [440.0, 1000.0, 1400.0]
            .iter()
            .map(|&f| power(pcm, f))
            .collect();
        let max = p.iter().cloned().fold(0.0, f64::max);
        [440.0, 1000.0, 1400.0]
            .iter()
            .zip(&p)
            .filter(|(_, &x)| max > 0.0 && x > max / 10.0)
            .map(|(f, _)| *f)
            .collect()
    }

    #[test]
    fn listen_the_supervisor_hears_both_and_nobody_hears_the_supervisor() {
        let got = run(MixMode::Listen, 50);
        assert_eq!(heard(&got[Party::Supervisor as usize]), [440.0, 1000.0]);
        let m = Mixer::new(MixMode::Listen);
        assert!(!m.feeds(Party::Citizen) && !m.feeds(Party::Operator));
        assert!(got[Party::Citizen as usize].iter().all(|&s| s.abs() < 16));
    }

    #[test]
    fn whisper_reaches_the_operator_only() {
        let got = run(MixMode::Whisper, 50);
        assert_eq!(heard(&got[Party::Supervisor as usize]), [440.0, 1000.0]);
        assert_eq!(heard(&got[Party::Operator as usize]), [440.0, 1400.0]);
        let m = Mixer::new(MixMode::Whisper);
        assert!(
            !m.feeds(Party::Citizen),
            "the citizen keeps the relayed operator"
        );
    }

    #[test]
    fn barge_everyone_hears_everyone_else() {
        let got = run(MixMode::Barge, 50);
        assert_eq!(heard(&got[Party::Supervisor as usize]), [440.0, 1000.0]);
        assert_eq!(heard(&got[Party::Operator as usize]), [440.0, 1400.0]);
        assert_eq!(heard(&got[Party::Citizen as usize]), [1000.0, 1400.0]);
    }

    #[test]
    fn sums_saturate_instead_of_wrapping() {
        let mut m = Mixer::new(MixMode::Barge);
        m.push(Party::Citizen, &[30000; FRAME_SAMPLES]);
        m.push(Party::Operator, &[30000; FRAME_SAMPLES]);
        m.tick();
        let mut out = [0i16; FRAME_SAMPLES];
        m.mix(Party::Supervisor, &mut out);
        assert!(out.iter().all(|&s| s == i16::MAX), "{:?}", &out[..4]);
        m.push(Party::Citizen, &[-30000; FRAME_SAMPLES]);
        m.push(Party::Operator, &[-30000; FRAME_SAMPLES]);
        m.tick();
        m.mix(Party::Supervisor, &mut out);
        assert!(out.iter().all(|&s| s == i16::MIN));
    }

    #[test]
    fn packets_of_any_ptime_are_reframed_and_silence_fills_gaps() {
        let mut m = Mixer::new(MixMode::Listen);
        // 30 ms packets (240 samples) against a 20 ms clock.
        let t = frames(440.0, 30, 8000);
        let mut out = [0i16; FRAME_SAMPLES];
        let mut total = Vec::new();
        for (k, chunk) in t.chunks(240).enumerate() {
            m.push(Party::Citizen, chunk);
            m.tick();
            m.mix(Party::Supervisor, &mut out);
            total.extend_from_slice(&out);
            if k % 2 == 1 {
                m.tick();
                m.mix(Party::Supervisor, &mut out);
                total.extend_from_slice(&out);
            }
        }
        assert_eq!(heard(&total), [440.0]);
        // Nothing arrives: silence, not the last frame again.
        for _ in 0..4 {
            m.tick();
        }
        m.mix(Party::Supervisor, &mut out);
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn a_party_running_ahead_costs_samples_not_delay() {
        let mut m = Mixer::new(MixMode::Listen);
        // Ten frames arrive at once (a burst after a stall), then one tick.
        m.push(Party::Citizen, &[1000; 10 * FRAME_SAMPLES]);
        m.tick();
        assert!(m.fifo[Party::Citizen as usize].len <= MAX_DELAY_SAMPLES);
    }

    #[test]
    fn in_listen_mode_the_supervisor_is_dropped_at_the_door() {
        let mut m = Mixer::new(MixMode::Listen);
        m.push(Party::Supervisor, &[5000; FRAME_SAMPLES]);
        assert_eq!(m.fifo[Party::Supervisor as usize].len, 0);
        m.set_mode(MixMode::Barge);
        m.push(Party::Supervisor, &[5000; FRAME_SAMPLES]);
        m.tick();
        let mut out = [0i16; FRAME_SAMPLES];
        m.mix(Party::Citizen, &mut out);
        assert!(out.iter().all(|&s| s == 5000));
    }
}
