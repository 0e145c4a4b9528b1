//! RFC 4733 telephone-events: the 4-byte payload (§2.3) and a detector that turns
//! a stream of event packets into the digits it carries.

use thiserror::Error;

/// Payload length of one telephone-event (RFC 4733 §2.3).
pub const EVENT_LEN: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes, need 4")]
    TooShort(usize),
}

/// One telephone-event payload (RFC 4733 §2.3):
/// event (8) | E (1) | R (1) | volume (6) | duration (16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0–9, * = 10, # = 11, A–D = 12–15 (RFC 4733 §3.2).
    pub event: u8,
    /// The final packet(s) of the event (§2.5.1.4 sends it three times).
    pub end: bool,
    /// Power level as −dBm0, 0–63.
    pub volume: u8,
    /// Duration so far in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event of a payload; redundant events (RFC 4733 §2.5.1.5
    /// stacking) after it are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        if payload.len() < EVENT_LEN {
            return Err(DtmfError::TooShort(payload.len()));
        }
        Ok(TelephoneEvent {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3F,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// The payload bytes; the reserved bit is sent as zero (§2.3).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            ((self.end as u8) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The digit this event stands for, if it is a DTMF event.
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// RFC 4733 §3.2 Table 7: DTMF named events.
pub fn event_to_digit(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => (b'0' + event) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + event - 12) as char,
        _ => return None,
    })
}

pub fn digit_to_event(digit: char) -> Option<u8> {
    Some(match digit.to_ascii_uppercase() {
        c @ '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        c @ 'A'..='D' => c as u8 - b'A' + 12,
        _ => return None,
    })
}

/// Turns telephone-event packets into digits, once per key press.
///
/// All packets of one event share its RTP timestamp (RFC 4733 §2.5.1.1), and the
/// end packet is repeated (§2.5.1.4), so an event is identified by its timestamp
/// and reported once: on its first end packet, or — if every end packet was lost —
/// when a packet with a new timestamp starts the next event.
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    current: Option<Current>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    reported: bool,
}

impl DtmfDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet (its RTP timestamp and payload) and returns
    /// a digit when one is complete. With every end packet lost and a second event
    /// arriving, the first is reported now and the second later.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = TelephoneEvent::parse(payload).ok()?;
        let mut unreported = None;
        match self.current {
            Some(c) if c.timestamp == timestamp => {}
            Some(c) => {
                if !c.reported {
                    unreported = event_to_digit(c.event);
                }
                self.current = None;
            }
            None => {}
        }
        let cur = self.current.get_or_insert(Current {
            timestamp,
            event: ev.event,
            reported: false,
        });
        if ev.end && !cur.reported {
            cur.reported = true;
            if unreported.is_none() {
                return event_to_digit(cur.event);
            }
            // Two digits completed by one packet: keep the second for `flush`.
            cur.reported = false;
        }
        unreported
    }

    /// Reports an event whose end packets never arrived (call at stream end).
    pub fn flush(&mut self) -> Option<char> {
        let c = self.current.take()?;
        if c.reported {
            None
        } else {
            event_to_digit(c.event)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn payload_round_trip() {
        let b = ev(11, true, 1600);
        assert_eq!(b, [11, 0x80 | 10, 0x06, 0x40]);
        let e = TelephoneEvent::parse(&b).unwrap();
        assert_eq!((e.event, e.end, e.volume, e.duration), (11, true, 10, 1600));
        assert_eq!(e.digit(), Some('#'));
        // The reserved bit is ignored on receipt.
        let e = TelephoneEvent::parse(&[5, 0x40 | 7, 0, 160]).unwrap();
        assert_eq!((e.end, e.volume), (false, 7));
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(DtmfError::TooShort(3))
        );
    }

    #[test]
    fn digit_mapping() {
        for (i, c) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(event_to_digit(i as u8), Some(c));
            assert_eq!(digit_to_event(c), Some(i as u8));
        }
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('x'), None);
        assert_eq!(digit_to_event('d'), Some(15));
    }

    #[test]
    fn one_digit_per_event_despite_repeated_end_packets() {
        let mut d = DtmfDetector::new();
        let mut got = String::new();
        // "1" then "#": updates every 50 ms, end packet sent three times.
        for (ts, event) in [(1000u32, 1u8), (9000, 11)] {
            for dur in [400u16, 800, 1200] {
                got.extend(d.push(ts, &ev(event, false, dur)));
            }
            for _ in 0..3 {
                got.extend(d.push(ts, &ev(event, true, 1600)));
            }
        }
        assert_eq!(got, "1#");
        assert_eq!(d.flush(), None);
    }

    #[test]
    fn lost_end_packets_still_yield_the_digit() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.push(100, &ev(5, false, 400)), None);
        // A new event (new timestamp) arrives: the old one is reported now.
        assert_eq!(d.push(5000, &ev(7, false, 400)), Some('5'));
        assert_eq!(d.flush(), Some('7'));
        // The same key pressed twice is two events (two timestamps).
        assert_eq!(d.push(9000, &ev(3, true, 800)), Some('3'));
        assert_eq!(d.push(9000, &ev(3, true, 800)), None);
        assert_eq!(d.push(12000, &ev(3, true, 800)), Some('3'));
    }

    #[test]
    fn ignores_garbage() {
        let mut d = DtmfDetector::new();
        assert_eq!(d.push(1, &[1, 2]), None);
        assert_eq!(d.push(1, &ev(200, true, 800)), None); // not a DTMF event
    }
}
