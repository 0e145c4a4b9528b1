//! Small value types written as strings in the configuration ("08:30", "12-29",
//! "127.0.0.0/8", "carrier", …). Each parses with `FromStr`, whose error is a sentence
//! telling the operator what to write instead; serde goes through `FromStr`, so those
//! sentences are what `madoguchi check` prints, at the line of the value.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Implements serde for a type through its `FromStr` and `Display`.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

/// A time of day, "HH:MM", from 00:00 to 24:00 (24:00 = midnight at the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    pub fn new(hour: u8, minute: u8) -> Option<ClockTime> {
        let ok = (hour < 24 && minute < 60) || (hour == 24 && minute == 0);
        ok.then_some(ClockTime {
            minutes: u16::from(hour) * 60 + u16::from(minute),
        })
    }

    /// Minutes since midnight, 0..=1440.
    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl FromStr for ClockTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s.split_once(':').and_then(|(h, m)| {
            let digits = |x: &str, max_len| {
                (!x.is_empty() && x.len() <= max_len && x.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| x.parse::<u8>().ok())
                    .flatten()
            };
            if m.len() != 2 {
                return None;
            }
            ClockTime::new(digits(h, 2)?, digits(m, 2)?)
        });
        parsed.ok_or_else(|| {
            format!("'{s}' is not a time of day; write HH:MM from 00:00 to 24:00, e.g. \"08:30\"")
        })
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A day of any year, "MM-DD" (for the year-end closing, 12-29 … 01-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    pub month: u8,
    pub day: u8,
}

impl FromStr for MonthDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s.split_once('-').and_then(|(m, d)| {
            if m.len() != 2 || d.len() != 2 {
                return None;
            }
            let (month, day) = (m.parse::<u8>().ok()?, d.parse::<u8>().ok()?);
            // A leap year, so that "02-29" is accepted.
            (day >= 1 && day <= crate::civil::days_in_month(2024, month))
                .then_some(MonthDay { month, day })
        });
        parsed.ok_or_else(|| format!("'{s}' is not a day of the year; write MM-DD, e.g. \"12-29\""))
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// A block of IP addresses, "192.0.2.0/24" or a single address "192.0.2.7".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn addr(self) -> IpAddr {
        self.addr
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in the block. An IPv4-mapped IPv6 source (::ffff:a.b.c.d, as a
    /// dual-stack socket reports IPv4 peers) counts as the IPv4 address.
    pub fn contains(self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = usize::from(prefix);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            format!("'{s}' is not an address block; write ADDRESS/BITS, e.g. \"192.0.2.0/24\"")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(|| {
                format!("'{s}' has a bad prefix length; it must be a number from 0 to {max}")
            })?,
        };
        let block = Cidr { addr, prefix };
        let network = block.network();
        if network != addr {
            return Err(format!(
                "'{s}' has bits set after the first {prefix}; did you mean \"{network}/{prefix}\"?"
            ));
        }
        Ok(block)
    }
}

impl Cidr {
    /// The address with every bit after the prefix cleared.
    fn network(self) -> IpAddr {
        fn clear<const N: usize>(mut o: [u8; N], prefix: u8) -> [u8; N] {
            for (i, byte) in o.iter_mut().enumerate() {
                let keep = (usize::from(prefix)).saturating_sub(i * 8).min(8);
                *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            }
            o
        }
        match self.addr {
            IpAddr::V4(a) => IpAddr::from(clear(a.octets(), self.prefix)),
            IpAddr::V6(a) => IpAddr::from(clear(a.octets(), self.prefix)),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// What is at the other end of a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrunkKind {
    /// The telephone company: citizens' calls to the representative numbers.
    Carrier,
    /// The gateway to the city hall's child PBX (spec 第2-7 ⑴ エ): extensions, staff.
    Pbx,
}

impl FromStr for TrunkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "carrier" => Ok(TrunkKind::Carrier),
            "pbx" => Ok(TrunkKind::Pbx),
            _ => Err(format!(
                "trunk kind '{s}' is not known; write \"carrier\" (the telephone company) \
                 or \"pbx\" (the gateway to the city hall's PBX)"
            )),
        }
    }
}

impl fmt::Display for TrunkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrunkKind::Carrier => "carrier",
            TrunkKind::Pbx => "pbx",
        })
    }
}

/// How a queue picks the agent to ring (the `acd` crate implements them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    RingAll,
    LongestIdle,
    RoundRobin,
    FewestCalls,
}

const STRATEGIES: [(&str, Strategy); 4] = [
    ("ring-all", Strategy::RingAll),
    ("longest-idle", Strategy::LongestIdle),
    ("round-robin", Strategy::RoundRobin),
    ("fewest-calls", Strategy::FewestCalls),
];

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        STRATEGIES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|&(_, st)| st)
            .ok_or_else(|| {
                format!(
                    "queue strategy '{s}' is not known; write one of \"ring-all\", \
                 \"longest-idle\", \"round-robin\", \"fewest-calls\""
                )
            })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = STRATEGIES
            .iter()
            .find(|(_, st)| st == self)
            .map_or("", |(n, _)| n);
        f.write_str(name)
    }
}

/// An audio codec offered in SDP; only G.711 (spec: telephone voice quality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PCMU" => Ok(Codec::Pcmu),
            "PCMA" => Ok(Codec::Pcma),
            _ => Err(format!(
                "codec '{s}' is not supported; write \"PCMU\" (G.711 µ-law) or \"PCMA\" (A-law)"
            )),
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        })
    }
}

serde_via_str!(ClockTime);
serde_via_str!(MonthDay);
serde_via_str!(Cidr);
serde_via_str!(TrunkKind);
serde_via_str!(Strategy);
serde_via_str!(Codec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        assert_eq!("08:30".parse::<ClockTime>().unwrap().minutes(), 510);
        assert_eq!("24:00".parse::<ClockTime>().unwrap().minutes(), 1440);
        for bad in [
            "25:00", "24:01", "8:3", "08:60", "0830", "", "ab:cd", "-1:00",
        ] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn month_days() {
        assert_eq!(
            "12-29".parse::<MonthDay>(),
            Ok(MonthDay { month: 12, day: 29 })
        );
        assert!("02-29".parse::<MonthDay>().is_ok());
        for bad in ["02-30", "13-01", "1-3", "12/29", "00-10"] {
            assert!(bad.parse::<MonthDay>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_matching() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let odd: Cidr = "192.0.2.128/25".parse().unwrap();
        assert!(odd.contains("192.0.2.200".parse().unwrap()));
        assert!(!odd.contains("192.0.2.127".parse().unwrap()));
        let host: Cidr = "2001:db8::5".parse().unwrap();
        assert_eq!(host.prefix(), 128);
        assert!(host.contains("2001:db8::5".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn bad_cidrs_say_what_to_write() {
        let err = "10.0.0.1/8".parse::<Cidr>().unwrap_err();
        assert!(err.contains("did you mean \"10.0.0.0/8\""), "{err}");
        assert!("10.0.0.0/33"
            .parse::<Cidr>()
            .unwrap_err()
            .contains("0 to 32"));
        assert!("10.0.0/8".parse::<Cidr>().is_err());
        assert!("fe80::/129".parse::<Cidr>().is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in ["ring-all", "longest-idle", "round-robin", "fewest-calls"] {
            assert_eq!(s.parse::<Strategy>().unwrap().to_string(), s);
        }
        assert_eq!("pcmu".parse::<Codec>().unwrap().to_string(), "PCMU");
        assert!("carier"
            .parse::<TrunkKind>()
            .unwrap_err()
            .contains("\"carrier\""));
    }
}
