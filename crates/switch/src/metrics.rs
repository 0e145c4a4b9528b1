//! Prometheus metrics of the switch. Counters are cheap atomics; the registry is read
//! only when `/metrics` is scraped.

use prometheus::{Counter, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

pub struct Metrics {
    pub registry: Registry,
    /// Requests received, by method.
    pub sip_requests: IntCounterVec,
    /// Responses we sent, by status code.
    pub sip_responses_sent: IntCounterVec,
    /// Messages that could not be parsed, by what we did: "answered_400", "dropped".
    pub sip_malformed: IntCounterVec,
    /// Digest failures (wrong password, unknown user), and requests refused because their
    /// (user, source) is blocked by the limiter.
    pub auth_failures: IntCounter,
    pub auth_blocked: IntCounter,
    /// INVITEs refused because the switch is at its call limit (503).
    pub overload_rejected: IntCounter,
    /// How late the SIP core is (backlog × time per message), in milliseconds.
    pub core_delay_ms: IntGauge,
    /// Seconds the SIP core task spent working (messages, timers, commands): its rate
    /// is the share of one core the single core task uses; near 1 it is the bottleneck.
    pub core_busy: Counter,
    /// INVITEs for numbers we do not serve (404).
    pub unknown_number: IntCounter,
    pub calls_active: IntGauge,
    /// Finished calls by outcome: answered, abandoned, unanswered, rejected.
    pub calls_total: IntCounterVec,
    pub registrations: IntGauge,
    pub transactions: IntGauge,
    pub rtp_packets_relayed: IntCounter,
    /// Callers waiting, by queue (the wallboard's first number).
    pub queue_waiting: IntGaugeVec,
    /// Agents by state: Available, Ringing, OnCall, WrapUp, Paused, LoggedOut.
    pub agents: IntGaugeVec,
    /// Channels in use per trunk, and calls refused because a trunk was full.
    pub trunk_channels: IntGaugeVec,
    pub trunk_full: IntCounterVec,
    /// RTP/RTCP port pairs: "in_use" (ours), "free" (not ours; set when scraped), and
    /// binds that failed because another program held a port.
    pub rtp_port_pairs: IntGaugeVec,
    pub rtp_ports_foreign: IntGauge,
    /// The allocator's own view (glibc): bytes handed out, and bytes freed but still
    /// held in its arenas. RSS is roughly their sum; only the first is the live set, so
    /// a leak shows there, and allocator retention (given back by the trimmer) in the
    /// second. Set when scraped.
    pub malloc_bytes: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let cv = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let c = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let gv = |name: &str, help: &str, label: &str| {
            let g = IntGaugeVec::new(Opts::new(name, help), &[label]).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let g = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        Metrics {
            sip_requests: cv(
                "madoguchi_sip_requests_total",
                "SIP requests received",
                "method",
            ),
            sip_responses_sent: cv(
                "madoguchi_sip_responses_sent_total",
                "SIP responses sent",
                "code",
            ),
            sip_malformed: cv(
                "madoguchi_sip_malformed_total",
                "Unparseable SIP messages",
                "action",
            ),
            auth_failures: c(
                "madoguchi_sip_auth_failures_total",
                "Failed digest authentications",
            ),
            auth_blocked: c(
                "madoguchi_sip_auth_blocked_total",
                "Requests refused because the user is blocked at this source after failed attempts",
            ),
            overload_rejected: c(
                "madoguchi_sip_overload_rejected_total",
                "INVITEs refused with 503 at the call limit, while the core was late, or out of RTP ports",
            ),
            core_delay_ms: g(
                "madoguchi_sip_core_delay_milliseconds",
                "Estimated queueing delay of the SIP core (backlog x time per message)",
            ),
            core_busy: {
                let c = Counter::new(
                    "madoguchi_sip_core_busy_seconds_total",
                    "Time the SIP core task spent working; rate() is the share of one core it uses",
                )
                .expect("metric");
                registry.register(Box::new(c.clone())).expect("register");
                c
            },
            unknown_number: c(
                "madoguchi_sip_unknown_number_total",
                "INVITEs for numbers not served (404)",
            ),
            calls_active: g("madoguchi_calls_active", "Calls in progress"),
            calls_total: cv(
                "madoguchi_calls_total",
                "Finished calls by outcome",
                "outcome",
            ),
            registrations: g("madoguchi_registrations", "Registered contacts"),
            transactions: g("madoguchi_sip_transactions", "Live SIP transactions"),
            rtp_packets_relayed: c(
                "madoguchi_rtp_packets_relayed_total",
                "RTP packets relayed between legs",
            ),
            queue_waiting: gv(
                "madoguchi_queue_waiting",
                "Callers waiting in the queue",
                "queue",
            ),
            agents: gv("madoguchi_agents", "Agents by state", "status"),
            trunk_channels: gv(
                "madoguchi_trunk_channels_in_use",
                "Trunk channels in use",
                "trunk",
            ),
            trunk_full: cv(
                "madoguchi_trunk_full_total",
                "Calls refused because every channel of the trunk was in use",
                "trunk",
            ),
            rtp_port_pairs: gv(
                "madoguchi_rtp_port_pairs",
                "RTP/RTCP port pairs of the configured range, by state (in_use, free)",
                "state",
            ),
            rtp_ports_foreign: g(
                "madoguchi_rtp_port_binds_refused",
                "Port pairs found held by another program when we tried to bind them",
            ),
            malloc_bytes: gv(
                "madoguchi_malloc_bytes",
                "Heap bytes by state: in_use (allocated), free (freed, still held by malloc)",
                "state",
            ),
            registry,
        }
    }

    /// Gauges read from their owners at scrape time rather than kept up to date.
    pub fn refresh_ports(&self, ports: &media::PortAllocator) {
        let free = ports.available();
        let in_use = ports.capacity() - free;
        self.rtp_port_pairs
            .with_label_values(&["in_use"])
            .set(in_use as i64);
        self.rtp_port_pairs
            .with_label_values(&["free"])
            .set(free as i64);
        self.rtp_ports_foreign.set(ports.foreign() as i64);
    }

    /// The allocator's figures (glibc's `mallinfo2`, a walk of its arenas' free lists
    /// under their locks: fine once per scrape, not per call).
    pub fn refresh_malloc(&self) {
        if let Some((in_use, free)) = malloc_figures() {
            self.malloc_bytes
                .with_label_values(&["in_use"])
                .set(in_use as i64);
            self.malloc_bytes
                .with_label_values(&["free"])
                .set(free as i64);
        }
    }

    /// The text exposition format for `/metrics`.
    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut buf = Vec::new();
        let enc = prometheus::TextEncoder::new();
        let _ = enc.encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Bytes in use and bytes free inside malloc's arenas (main heap, thread arenas and
/// blocks mapped on their own), or `None` where the allocator does not say.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn malloc_figures() -> Option<(u64, u64)> {
    // SAFETY: mallinfo2 takes no pointer and only reads glibc's own bookkeeping.
    let m = unsafe { libc::mallinfo2() };
    // uordblks: in use in the arenas; hblkhd: in blocks mmapped on their own (always in
    // use); fordblks: free chunks the arenas keep.
    Some(((m.uordblks + m.hblkhd) as u64, m.fordblks as u64))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn malloc_figures() -> Option<(u64, u64)> {
    None
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malloc(m: &Metrics, state: &str) -> i64 {
        m.malloc_bytes.with_label_values(&[state]).get()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_malloc_gauge_follows_a_big_allocation() {
        const MB: i64 = 1 << 20;
        let m = Metrics::new();
        m.refresh_malloc();
        let before = malloc(&m, "in_use");
        assert!(before > 0, "a running process has heap in use");
        let block = vec![7u8; 64 << 20];
        m.refresh_malloc();
        let during = malloc(&m, "in_use");
        drop(std::hint::black_box(block));
        m.refresh_malloc();
        let after = malloc(&m, "in_use");
        // Other tests of this binary allocate meanwhile: a margin of 4 MB.
        assert!(during >= before + 60 * MB, "{before} -> {during}");
        assert!(after <= during - 60 * MB, "{during} -> {after}");
        assert!(malloc(&m, "free") >= 0);
    }
}
