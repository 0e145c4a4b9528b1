//! Where each 20 ms frame goes in the file (sans-IO: the caller turns the frame's
//! `arrival` instant, stamped by the relay, into a slot number).
//!
//! Why arrival time and not the RTP timestamps: the two legs are two independent RTP
//! sessions whose clocks start at random values, tick at slightly different rates, and
//! jump when a leg is re-INVITEd (hold, resume, transfer to another operator, a new
//! SSRC). Nothing relates leg A's timestamp 12345 to leg B's. The only clock both legs
//! share is ours, so a frame's position is its arrival time in 20 ms slots since the
//! call was answered. The RTP timestamp is used within one leg only, to tell "the next
//! frame of the same stream" (placed right after the previous one, so network jitter
//! does not tear the audio) from "a new stream or a gap" (placed at its arrival slot, so
//! hold and silence suppression become silence of the right length and both channels
//! stay aligned).

use media::{Leg, TapFrame};
use std::collections::VecDeque;

/// Samples in one slot of one channel (20 ms at 8 kHz).
pub const SLOT_SAMPLES: usize = 160;
/// Bytes of one stereo slot in the file.
pub const SLOT_BYTES: usize = SLOT_SAMPLES * 4;
pub const SLOT_MS: u64 = 20;
/// A continuing stream may lag its arrival by this many slots (jitter, a burst after a
/// network stall) before we give up on continuity and jump to the arrival slot.
pub const MAX_LAG: u64 = 10;
/// A stream may run this far ahead of its arrival (a sender clock faster than ours);
/// beyond it frames are dropped, which keeps both channels within 200 ms of each other.
pub const MAX_AHEAD: u64 = 10;
/// Slots are written once they are this far behind the present: later than `MAX_LAG`,
/// so a frame placed at the earliest slot it may take is never too late.
pub const FLUSH_DELAY: u64 = MAX_LAG + 2;

#[derive(Debug, Clone, Copy)]
struct Cursor {
    next: u64,
    next_ts: u32,
}

/// Counters of frames that could not be placed where they belong.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TimelineStats {
    pub placed: u64,
    /// Frames that arrived for slots already written (dropped).
    pub late: u64,
    /// Frames of a stream running too far ahead of our clock (dropped).
    pub ahead: u64,
    /// Continuing streams that lagged too far and were moved to their arrival slot.
    pub resyncs: u64,
}

#[derive(Debug, Default)]
pub struct Timeline {
    cursors: [Option<Cursor>; 2],
    /// Interleaved stereo slots from `base` on, not yet written.
    pending: VecDeque<[i16; SLOT_SAMPLES * 2]>,
    base: u64,
    pub stats: TimelineStats,
}

fn channel(leg: Leg) -> usize {
    match leg {
        Leg::A => 0,
        Leg::B => 1,
    }
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first slot not yet handed out by `drain_until`.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// One past the last slot that holds audio (or `base` when nothing is pending).
    pub fn end(&self) -> u64 {
        self.base + self.pending.len() as u64
    }

    /// Places `frame`, which arrived during slot `arrival`. Returns the slot used.
    pub fn place(&mut self, frame: &TapFrame, arrival: u64) -> Option<u64> {
        let ch = channel(frame.leg);
        let len = (frame.len as usize).min(SLOT_SAMPLES);
        let next_ts = frame.rtp_timestamp.wrapping_add(len as u32);
        let slot = match self.cursors[ch] {
            Some(c) if c.next_ts == frame.rtp_timestamp => {
                if c.next + MAX_LAG < arrival {
                    // Move up only as far as the lag allowed, not to the arrival slot:
                    // after a stall the rest of the burst then fits behind `arrival`
                    // instead of running ahead of it and being dropped.
                    self.stats.resyncs += 1;
                    arrival - MAX_LAG
                } else {
                    c.next
                }
            }
            Some(c) => c.next.max(arrival),
            None => arrival,
        };
        if slot > arrival + MAX_AHEAD {
            // Keep the stream's continuity but not its extra audio: the next frame of it
            // takes this same slot, so the channel loses 20 ms instead of drifting.
            self.stats.ahead += 1;
            if let Some(c) = self.cursors[ch].as_mut() {
                c.next_ts = next_ts;
            }
            return None;
        }
        if slot < self.base {
            self.stats.late += 1;
            self.cursors[ch] = Some(Cursor {
                next: self.base,
                next_ts,
            });
            return None;
        }
        let idx = (slot - self.base) as usize;
        while self.pending.len() <= idx {
            self.pending.push_back([0; SLOT_SAMPLES * 2]);
        }
        let dst = &mut self.pending[idx];
        for (i, &s) in frame.samples[..len].iter().enumerate() {
            dst[2 * i + ch] = s;
        }
        self.cursors[ch] = Some(Cursor {
            next: slot + 1,
            next_ts,
        });
        self.stats.placed += 1;
        Some(slot)
    }

    /// Appends slots `base..until` to `out` as little-endian PCM (silence where no frame
    /// arrived) and forgets them.
    pub fn drain_until(&mut self, until: u64, out: &mut Vec<u8>) {
        while self.base < until {
            let slot = self.pending.pop_front().unwrap_or([0; SLOT_SAMPLES * 2]);
            out.reserve(SLOT_BYTES);
            for s in slot {
                out.extend_from_slice(&s.to_le_bytes());
            }
            self.base += 1;
        }
    }

    /// Writes out everything placed so far (at the end of the call).
    pub fn drain_all(&mut self, out: &mut Vec<u8>) {
        let end = self.end();
        self.drain_until(end, out);
    }

    /// Gives back the memory of the slots (after `drain_all`: none is pending). The
    /// counters stay.
    pub fn release(&mut self) {
        debug_assert!(self.pending.is_empty(), "release before drain_all");
        self.pending = VecDeque::new();
    }

    /// Slots the timeline has room for without allocating.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.pending.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(leg: Leg, ts: u32, v: i16) -> TapFrame {
        TapFrame {
            leg,
            rtp_timestamp: ts,
            arrival: std::time::Instant::now(),
            len: 160,
            samples: [v; 160],
        }
    }

    #[test]
    fn jitter_does_not_tear_a_stream() {
        let mut t = Timeline::new();
        // Frames 0..5 of one stream arrive bunched in two slots.
        let arrivals = [0, 0, 2, 2, 2];
        for (k, &a) in arrivals.iter().enumerate() {
            assert_eq!(
                t.place(&frame(Leg::A, 1000 + 160 * k as u32, 1), a),
                Some(k as u64)
            );
        }
    }

    #[test]
    fn a_gap_in_the_stream_becomes_silence_at_the_arrival_slot() {
        let mut t = Timeline::new();
        assert_eq!(t.place(&frame(Leg::A, 0, 7), 0), Some(0));
        // Hold: new timestamps (a new stream) 50 slots later.
        assert_eq!(t.place(&frame(Leg::A, 99_999, 7), 50), Some(50));
        let mut out = Vec::new();
        t.drain_all(&mut out);
        assert_eq!(out.len(), 51 * SLOT_BYTES);
        let left =
            |slot: usize| i16::from_le_bytes([out[slot * SLOT_BYTES], out[slot * SLOT_BYTES + 1]]);
        assert_eq!((left(0), left(25), left(50)), (7, 0, 7));
    }

    #[test]
    fn a_drained_timeline_gives_its_slots_back_and_keeps_its_counts() {
        let mut t = Timeline::new();
        for k in 0..40u32 {
            t.place(&frame(Leg::A, 160 * k, 1), u64::from(k));
        }
        assert!(t.capacity() >= 40);
        let mut out = Vec::new();
        t.drain_all(&mut out);
        assert_eq!(out.len(), 40 * SLOT_BYTES);
        t.release();
        assert_eq!(t.capacity(), 0, "the slots' memory is still held");
        assert_eq!(t.stats.placed, 40);
    }

    #[test]
    fn legs_share_slots_whatever_their_clocks() {
        let mut t = Timeline::new();
        assert_eq!(t.place(&frame(Leg::A, 5, 100), 3), Some(3));
        assert_eq!(t.place(&frame(Leg::B, 4_000_000, -100), 3), Some(3));
        let mut out = Vec::new();
        t.drain_all(&mut out);
        let at = |i: usize| i16::from_le_bytes([out[i * 2], out[i * 2 + 1]]);
        let first = 3 * SLOT_SAMPLES * 2;
        assert_eq!((at(first), at(first + 1)), (100, -100));
    }

    #[test]
    fn a_fast_sender_is_held_within_bounds() {
        let mut t = Timeline::new();
        // 40 consecutive frames all arriving in slot 0: only MAX_AHEAD + 1 fit.
        let placed = (0..40)
            .filter(|k| t.place(&frame(Leg::B, 160 * k, 1), 0).is_some())
            .count();
        assert_eq!(placed as u64, MAX_AHEAD + 1);
        assert_eq!(t.stats.ahead, 40 - placed as u64);
    }

    #[test]
    fn a_burst_after_a_stall_loses_nothing() {
        let mut t = Timeline::new();
        for k in 0..10u32 {
            assert_eq!(
                t.place(&frame(Leg::A, 160 * k, 1), k as u64),
                Some(k as u64)
            );
        }
        // The sender (or the relay) stalls for 400 ms, then 20 frames arrive at once:
        // MAX_LAG behind plus MAX_AHEAD ahead of their arrival slot holds them all.
        for k in 10..30u32 {
            assert!(
                t.place(&frame(Leg::A, 160 * k, 1), 30).is_some(),
                "frame {k} dropped"
            );
        }
        assert_eq!((t.stats.ahead, t.stats.late, t.stats.resyncs), (0, 0, 1));
        // Then the stream goes on in real time without further loss.
        for k in 30..60u32 {
            assert!(t.place(&frame(Leg::A, 160 * k, 1), k as u64 + 1).is_some());
        }
        assert_eq!((t.stats.placed, t.stats.ahead), (60, 0));
    }

    #[test]
    fn frames_for_written_slots_are_counted_late() {
        let mut t = Timeline::new();
        let mut out = Vec::new();
        t.drain_until(100, &mut out);
        assert_eq!(t.place(&frame(Leg::A, 0, 1), 20), None);
        assert_eq!(t.stats.late, 1);
        // The stream continues from the first slot still open.
        assert_eq!(t.place(&frame(Leg::A, 160, 1), 101), Some(100));
    }
}
