//! What both modes share: the registered operators, the caller, the RTP sockets and
//! receivers, sampling the switch's CPU/RSS, and the orderly end of a run (wait for
//! the switch to drain, stop our tasks, unregister).

use crate::caller::{Caller, MediaMap};
use crate::operator::{OpStats, Operator};
use crate::{config, procstat, rtp, Common};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Everything both modes share: operators, RTP sockets, the caller, the samplers.
pub struct Rig {
    pub c: Common,
    pub pid: u32,
    /// What CPU/RSS sum over: the switch, or a proxy's main process and its workers.
    pub pids: Vec<u32>,
    pub caller: Arc<Caller>,
    pub ops: Vec<Arc<Operator>>,
    pub op_stats: Arc<OpStats>,
    pub socks: rtp::Sockets,
    pub counters: Arc<rtp::Counters>,
    pub stop: watch::Sender<bool>,
    pub tasks: Vec<JoinHandle<()>>,
    /// Kernel drops on the switch's own SIP sockets when the run started: a switch
    /// that does not read its sockets fast enough loses datagrams there, before any
    /// of its code sees them (retransmissions then hide it, at a latency cost).
    pub switch_drops0: u64,
}

pub async fn setup(c: Common) -> Result<Rig> {
    let pid = match c.pid {
        Some(p) => p,
        None => procstat::find_switch_pid()?,
    };
    let pids = if c.proxy {
        procstat::with_children(pid)
    } else {
        vec![pid]
    };
    procstat::sample(&pids).context("--pid")?;
    if let Some(http) = c.http {
        procstat::calls_active(http)
            .await
            .context("switch HTTP status")?;
    }
    let media: MediaMap = Default::default();
    let socks = rtp::Sockets::bind(c.rtp_sockets).await?;
    let caller_ports = rtp::Sockets::ports(&socks.caller);
    let op_ports = rtp::Sockets::ports(&socks.operator);
    let t0 = std::time::Instant::now();
    let mut ops = Vec::new();
    for i in 0..c.agents {
        let id = config::agent_id(i);
        let (user, password) = if c.proxy {
            // Kamailio's shared config: non-numeric users register without digest.
            (format!("a{id}"), String::new())
        } else {
            (id.clone(), config::agent_password(&id))
        };
        ops.push(Arc::new(
            Operator::bind(user, password, c.sip, &c.domain, c.register_refresh_secs).await?,
        ));
    }
    // Register 16 at a time: fast, yet gentle on the registrar's file saves.
    for chunk in ops.chunks(16) {
        let mut js = Vec::new();
        for op in chunk {
            let op = op.clone();
            js.push(tokio::spawn(async move {
                op.register(None).await?;
                op.register(Some(crate::operator::REGISTER_EXPIRES)).await
            }));
        }
        for j in js {
            j.await??;
        }
    }
    eprintln!(
        "registered {} operators in {:.1} s",
        ops.len(),
        t0.elapsed().as_secs_f64()
    );
    let (stop, stop_rx) = watch::channel(false);
    let op_stats = Arc::new(OpStats::default());
    let counters = Arc::new(rtp::Counters::default());
    // Through a proxy, call i is addressed to operator i mod agents by name.
    let direct = c.proxy.then(|| {
        (0..c.agents)
            .map(|i| format!("a{}", config::agent_id(i)))
            .collect()
    });
    let caller = Caller::bind(c.trunk, &c.number, caller_ports, media.clone(), direct).await?;
    let mut tasks = vec![tokio::spawn(caller.clone().dispatch(stop_rx.clone()))];
    for op in &ops {
        tasks.push(tokio::spawn(op.clone().serve(
            media.clone(),
            op_ports.clone(),
            op_stats.clone(),
            stop_rx.clone(),
        )));
    }
    for s in &socks.caller {
        tasks.push(tokio::spawn(rtp::receive(
            s.clone(),
            counters.clone(),
            false,
            stop_rx.clone(),
        )));
    }
    for s in &socks.operator {
        tasks.push(tokio::spawn(rtp::receive(
            s.clone(),
            counters.clone(),
            true,
            stop_rx.clone(),
        )));
    }
    let switch_drops0 = procstat::udp_drops(&target_ports(&c));
    Ok(Rig {
        c,
        pid,
        pids,
        caller,
        ops,
        op_stats,
        socks,
        counters,
        stop,
        tasks,
        switch_drops0,
    })
}

impl Rig {
    /// Wait for the switch to have no call left, stop our tasks, unregister.
    pub async fn finish(self) -> Value {
        let t = Instant::now();
        // A proxy keeps no calls (and has no status API): nothing to wait for.
        let mut active = -1;
        if let Some(http) = self.c.http {
            active = procstat::calls_active(http).await.unwrap_or(-1);
            while active != 0 && t.elapsed() < Duration::from_secs(self.c.settle_secs) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                active = procstat::calls_active(http).await.unwrap_or(-1);
            }
        }
        let settle_ms = t.elapsed().as_millis() as u64;
        let switch_drops =
            procstat::udp_drops(&target_ports(&self.c)).saturating_sub(self.switch_drops0);
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        let mut unreg_failed = 0;
        for op in &self.ops {
            if op.register(None).await.is_err() {
                unreg_failed += 1;
            }
        }
        json!({
            "calls_active_after": active,
            "settle_ms": settle_ms,
            "switch_sip_socket_drops": switch_drops,
            "invite_retransmissions": self.caller.invite_retx.load(Relaxed),
            "bye_retransmissions": self.caller.bye_retx.load(Relaxed),
            "operator_invites": self.op_stats.invites.load(Relaxed),
            "operator_byes": self.op_stats.byes.load(Relaxed),
            "operator_2xx_never_acked": self.op_stats.no_ack.load(Relaxed),
            "unregister_failed": unreg_failed,
            "operators_registered": self.ops.len(),
            "first_operator_sip": self.ops.first().map(|o| o.local().to_string()),
        })
    }
}

/// The target's SIP ports, each once (a proxy listens on one port for both roles).
fn target_ports(c: &Common) -> Vec<u16> {
    let mut p = vec![c.sip.port(), c.trunk.port()];
    p.dedup();
    p
}

/// Samples the switch (and ourselves) from now until the returned stopper is called.
pub fn start_sampling(
    pids: Vec<u32>,
) -> (
    watch::Sender<bool>,
    JoinHandle<Vec<procstat::Sample>>,
    JoinHandle<Vec<procstat::Sample>>,
) {
    let (tx, rx) = watch::channel(false);
    let sw = tokio::spawn(procstat::sampler(pids, rx.clone()));
    let me = tokio::spawn(procstat::sampler(vec![std::process::id()], rx));
    (tx, sw, me)
}

pub async fn stop_sampling(
    pid: u32,
    s: (
        watch::Sender<bool>,
        JoinHandle<Vec<procstat::Sample>>,
        JoinHandle<Vec<procstat::Sample>>,
    ),
) -> (Value, Value) {
    let _ = s.0.send(true);
    let sw = s.1.await.unwrap_or_default();
    let me = s.2.await.unwrap_or_default();
    (
        procstat::summarize(pid, &sw),
        procstat::summarize(std::process::id(), &me),
    )
}
