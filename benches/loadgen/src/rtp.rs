//! RTP for concurrent mode: 20 ms PCMU packets (12-byte header + 160 bytes) both ways
//! on every established call, sent by ONE task (one `sendmmsg` per socket and 2 ms
//! slot) and received by one task per socket (one `recvmmsg` per wake-up), so the
//! generator stays far lighter than the switch it measures.
//!
//! Calls share a few sockets per side (the switch latches each call's leg to the
//! socket's address and port; that several calls use the same one is invisible to
//! it). Pacing: a 2 ms tick walks one tenth of the calls, so each call still sends
//! every 20 ms but the whole load is spread over the period instead of one burst
//! that would overflow receive buffers and be mis-counted as the switch's loss.
//!
//! Latency (`latency`): each packet carries the moment it was handed to the kernel,
//! after the mark. Both ends are this process on one clock, so the figure is the
//! one-way time through the switch including both loopback hops and our own receive
//! task's wake-up: an upper bound on what the switch adds.

use crate::latency::{now_ns, Latency};
use crate::mmsg;
use crate::recv::RecvBatch;
use anyhow::Result;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

pub const PAYLOAD: usize = 160;
pub const PACKET: usize = 12 + PAYLOAD;
/// First payload bytes of every packet we send; the relay passes PCMU→PCMU payloads
/// through unchanged, so received packets carrying it are ours.
const MAGIC: &[u8] = b"LGEN";
const SLOTS: u64 = 10;
const SLOT: Duration = Duration::from_millis(2);
/// Where the send time sits in the payload (right after the mark).
const STAMP: usize = 12 + MAGIC.len();

#[derive(Default)]
pub struct Counters {
    /// Caller → switch (A leg) → operator.
    pub a2b_sent: AtomicU64,
    pub a2b_recv: AtomicU64,
    /// Operator → switch (B leg) → caller.
    pub b2a_sent: AtomicU64,
    pub b2a_recv: AtomicU64,
    pub send_errors: AtomicU64,
    /// Datagrams on our RTP sockets that were not our packets (RTCP, prompts, …).
    pub other: AtomicU64,
    /// Send → receive time of our packets, through the switch.
    pub latency: Latency,
}

pub struct Sockets {
    pub caller: Vec<Arc<UdpSocket>>,
    pub operator: Vec<Arc<UdpSocket>>,
}

impl Sockets {
    pub async fn bind(per_side: usize) -> Result<Sockets> {
        let mut caller = Vec::new();
        let mut operator = Vec::new();
        for _ in 0..per_side.max(1) {
            caller.push(Arc::new(UdpSocket::bind("127.0.0.1:0").await?));
            operator.push(Arc::new(UdpSocket::bind("127.0.0.1:0").await?));
        }
        Ok(Sockets { caller, operator })
    }

    pub fn ports(side: &[Arc<UdpSocket>]) -> Vec<u16> {
        side.iter()
            .map(|s| s.local_addr().map(|a| a.port()).unwrap_or(0))
            .collect()
    }
}

/// Count our packets arriving on `sock` until `stop`. One receive call takes every
/// datagram queued (`recv::RecvBatch`), so the generator stays light.
pub async fn receive(
    sock: Arc<UdpSocket>,
    recv: Arc<Counters>,
    to_operator: bool,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = RecvBatch::default();
    let mut reads = 0;
    loop {
        tokio::select! {
            r = std::future::poll_fn(|cx| batch.poll_recv(&sock, cx, &mut reads)) => {
                let Ok(n) = r else { continue };
                let now = now_ns();
                for i in 0..n {
                    let (buf, len, _) = batch.get_mut(i);
                    // RTP version 2, PCMU, our size and mark: anything else is RTCP or the switch's own audio.
                    let ours = len == PACKET && buf[0] >> 6 == 2 && buf[1] & 0x7f == 0 && &buf[12..12 + MAGIC.len()] == MAGIC;
                    let c = match (ours, to_operator) {
                        (false, _) => &recv.other,
                        (true, true) => &recv.a2b_recv,
                        (true, false) => &recv.b2a_recv,
                    };
                    c.fetch_add(1, Relaxed);
                    if ours {
                        let mut t = [0u8; 8];
                        t.copy_from_slice(&buf[STAMP..STAMP + 8]);
                        recv.latency.record(now.saturating_sub(u64::from_be_bytes(t)));
                    }
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// One established call's media: where the switch listens for each leg.
#[derive(Clone, Copy)]
pub struct Flow {
    pub idx: u64,
    pub a_port: u16,
    pub b_port: u16,
}

struct Stream {
    seq: u16,
    ts: u32,
    ssrc: u32,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            seq: rand::random(),
            ts: rand::random(),
            ssrc: rand::random(),
        }
    }

    fn packet(&mut self, out: &mut [u8; PACKET]) {
        out[0] = 0x80;
        out[1] = 0; // PT 0 = PCMU, no marker
        out[2..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..8].copy_from_slice(&self.ts.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        // 0xFF is μ-law silence: the relay passes it through untouched either way.
        out[12..].fill(0xFF);
        // Our mark: what the switch itself plays (prompts, hold music) is not ours.
        out[12..12 + MAGIC.len()].copy_from_slice(MAGIC);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(PAYLOAD as u32);
    }
}

/// Send on every flow, both directions, every 20 ms for `duration`. Slots are due by
/// the wall clock: when the task wakes late it sends the slots it owes (at most one
/// full 20 ms period, the rest is counted in `skipped_slots`), so a scheduling hiccup
/// on this shared machine makes packets late, not silently fewer.
pub async fn send(socks: &Sockets, flows: &[Flow], duration: Duration, c: &Counters) -> u64 {
    let mut streams: Vec<(Stream, Stream)> = flows
        .iter()
        .map(|_| (Stream::new(), Stream::new()))
        .collect();
    let mut pkt = [0u8; PACKET];
    // Per socket (callers', then operators'): the slot's packets and destinations,
    // reused from slot to slot.
    let per_side = socks.caller.len().min(socks.operator.len()).max(1);
    let mut queues: Vec<(Vec<[u8; PACKET]>, Vec<SocketAddr>)> = (0..2 * per_side)
        .map(|_| (Vec::new(), Vec::new()))
        .collect();
    let mut tick = tokio::time::interval(SLOT);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = Instant::now();
    let total_slots = (duration.as_micros() / SLOT.as_micros()) as u64;
    let mut next_slot = 0u64;
    let mut skipped = 0u64;
    // Bounded: every pass advances `next_slot` by at least one, up to `total_slots`.
    while next_slot < total_slots {
        tick.tick().await;
        let due = ((start.elapsed().as_micros() / SLOT.as_micros()) as u64 + 1).min(total_slots);
        if due > next_slot + SLOTS {
            skipped += due - SLOTS - next_slot;
            next_slot = due - SLOTS;
        }
        while next_slot < due {
            let slot = next_slot % SLOTS;
            next_slot += 1;
            for q in queues.iter_mut() {
                q.0.clear();
                q.1.clear();
            }
            for (i, f) in flows
                .iter()
                .enumerate()
                .filter(|(i, _)| *i as u64 % SLOTS == slot)
            {
                let k = f.idx as usize % per_side;
                let (a, b) = &mut streams[i];
                a.packet(&mut pkt);
                queues[k].0.push(pkt);
                queues[k]
                    .1
                    .push(SocketAddr::from(([127, 0, 0, 1], f.a_port)));
                b.packet(&mut pkt);
                queues[per_side + k].0.push(pkt);
                queues[per_side + k]
                    .1
                    .push(SocketAddr::from(([127, 0, 0, 1], f.b_port)));
            }
            // One sendmmsg per socket for the slot (each packet its own destination).
            for (j, (pkts, to)) in queues.iter_mut().enumerate() {
                if pkts.is_empty() {
                    continue;
                }
                // The send time, as close to the system call as we can stamp it.
                let now = now_ns().to_be_bytes();
                for p in pkts.iter_mut() {
                    p[STAMP..STAMP + 8].copy_from_slice(&now);
                }
                let (sock, sent_c) = if j < per_side {
                    (&socks.caller[j], &c.a2b_sent)
                } else {
                    (&socks.operator[j - per_side], &c.b2a_sent)
                };
                let sent = mmsg::send_many(sock, pkts.as_slice(), to.as_slice());
                sent_c.fetch_add(sent as u64, Relaxed);
                c.send_errors.fetch_add((pkts.len() - sent) as u64, Relaxed);
            }
        }
    }
    skipped
}
