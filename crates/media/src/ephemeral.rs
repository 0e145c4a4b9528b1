//! Does the RTP range share ports with the kernel's ephemeral range? Every socket bound
//! to port 0 and every outgoing TCP connection on the host (a SIP client, the history
//! sidecar's HTTP client, a load generator) takes a port from
//! `net.ipv4.ip_local_port_range` (32768–60999 on Linux by default). An RTP pair such a
//! socket holds cannot be bound: the allocator skips it and counts it
//! (`madoguchi_rtp_port_binds_refused`). A port listed in
//! `net.ipv4.ip_local_reserved_ports` is never handed out as ephemeral, so an overlap is
//! harmless once the RTP range is reserved there.

use std::ops::RangeInclusive;

/// What part of the RTP range the kernel may hand out as ephemeral ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralClash {
    pub rtp: RangeInclusive<u16>,
    pub ephemeral: RangeInclusive<u16>,
    /// Ports of the RTP range inside the ephemeral range and not reserved.
    pub exposed: usize,
}

impl std::fmt::Display for EphemeralClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = (self.rtp.start(), self.rtp.end());
        write!(
            f,
            "[media] rtp_ports {a}-{b} overlap the kernel's ephemeral ports {}-{} ({} ports \
             not reserved): another socket on this host can take an RTP port, and the pair is \
             skipped (madoguchi_rtp_port_binds_refused). Reserve them with \
             `sysctl -w net.ipv4.ip_local_reserved_ports={a}-{b}` (and a file in \
             /etc/sysctl.d), or move rtp_ports below {}",
            self.ephemeral.start(),
            self.ephemeral.end(),
            self.exposed,
            self.ephemeral.start(),
        )
    }
}

/// Reads the host's ranges (Linux `/proc/sys/net/ipv4`); `None` when they cannot be read
/// or nothing clashes.
pub fn check(rtp: RangeInclusive<u16>) -> Option<EphemeralClash> {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).ok();
    let range = read("ip_local_port_range")?;
    let reserved = read("ip_local_reserved_ports").unwrap_or_default();
    clash(rtp, &range, &reserved)
}

/// The pure part: `range` as the kernel prints it ("32768\t60999"), `reserved` as a list
/// of ports and ranges ("40000-49999,5060").
pub fn clash(rtp: RangeInclusive<u16>, range: &str, reserved: &str) -> Option<EphemeralClash> {
    let mut it = range.split_whitespace().map(|v| v.parse::<u16>());
    let (Some(Ok(lo)), Some(Ok(hi))) = (it.next(), it.next()) else {
        return None;
    };
    let reserved: Vec<RangeInclusive<u16>> = reserved
        .trim()
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            match part.split_once('-') {
                Some((a, b)) => Some(a.trim().parse().ok()?..=b.trim().parse().ok()?),
                None => part.parse().ok().map(|p| p..=p),
            }
        })
        .collect();
    let from = (*rtp.start()).max(lo);
    let to = (*rtp.end()).min(hi);
    if from > to {
        return None;
    }
    let exposed = (from..=to)
        .filter(|p| !reserved.iter().any(|r| r.contains(p)))
        .count();
    (exposed > 0).then_some(EphemeralClash {
        rtp,
        ephemeral: lo..=hi,
        exposed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_range_is_below_linuxs_ephemeral_ports() {
        assert_eq!(clash(20000..=29999, "32768\t60999\n", ""), None);
    }

    #[test]
    fn an_overlap_counts_the_ports_not_reserved() {
        let c = clash(40000..=49999, "32768\t60999\n", "\n").expect("overlap");
        assert_eq!(c.exposed, 10_000);
        assert_eq!(c.ephemeral, 32768..=60999);
        let text = c.to_string();
        assert!(
            text.contains("ip_local_reserved_ports=40000-49999"),
            "{text}"
        );
        // Partly reserved: only the rest is exposed; fully reserved: no clash.
        let c = clash(40000..=49999, "32768 60999", "5060,40000-44999").unwrap();
        assert_eq!(c.exposed, 5_000);
        assert_eq!(clash(40000..=49999, "32768 60999", "40000-49999\n"), None);
        // The range straddles the ephemeral start: only the top part counts.
        assert_eq!(
            clash(30000..=32999, "32768 60999", "").unwrap().exposed,
            232
        );
    }

    #[test]
    fn an_unreadable_kernel_range_says_nothing() {
        assert_eq!(clash(40000..=49999, "", ""), None);
        assert_eq!(clash(40000..=49999, "x y", ""), None);
    }
}
