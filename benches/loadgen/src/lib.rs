//! `loadgen`: raw SIP/RTP over UDP on 127.0.0.1 against a running madoguchi switch.
//!
//! `loadgen config …` writes a private switch configuration (many agents, high call
//! limit); `loadgen cps …` places calls at a fixed rate; `loadgen concurrent …` holds
//! N calls with RTP both ways. Every phase has a deadline, so a run always ends by
//! itself; the result is one JSON object on stdout (progress goes to stderr).

mod caller;
mod config;
mod latency;
mod mmsg;
mod msg;
mod operator;
mod procstat;
mod recv;
mod report;
mod rig;
mod rtp;

use anyhow::{bail, Context, Result};
use caller::{CallResult, GiveUp, Hold, GAVE_UP};
use clap::{Args, Parser, Subcommand};
use rig::{setup, start_sampling, stop_sampling};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[derive(Parser)]
#[command(about = "SIP/RTP load generator for madoguchi (UDP, 127.0.0.1 only)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a switch configuration for load runs (from the embedded default).
    Config(ConfigArgs),
    /// Place calls at a fixed rate: INVITE → 200 → ACK → hold → BYE.
    Cps(CpsArgs),
    /// Hold N calls with 20 ms PCMU both ways and count RTP loss.
    Concurrent(ConcArgs),
    /// Print N ports free for UDP and TCP on 127.0.0.1 (for load.sh).
    Ports { n: usize },
    /// A Markdown table of JSON summaries written by cps/concurrent runs.
    Table { files: Vec<PathBuf> },
    /// One side-by-side table of cps summaries given as pairs ANCHOR SUBJECT, with
    /// the ratios (benches/compare.sh: Kamailio, then madoguchi, at each rate).
    Compare {
        #[arg(long, default_value = "Kamailio")]
        anchor: String,
        #[arg(long, default_value = "madoguchi")]
        subject: String,
        files: Vec<PathBuf>,
    },
}

#[derive(Args)]
struct ConfigArgs {
    #[arg(long)]
    out: PathBuf,
    /// Folder for the switch's data/ and recordings/.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    sip: SocketAddr,
    #[arg(long)]
    trunk: SocketAddr,
    #[arg(long)]
    pbx: SocketAddr,
    #[arg(long)]
    http: SocketAddr,
    /// RTP port range of the switch, e.g. 40000-49999 (4 ports per call).
    #[arg(long, default_value = "40000-49999")]
    rtp_ports: String,
    #[arg(long, default_value_t = 200)]
    agents: u32,
    #[arg(long, default_value_t = 2000)]
    max_calls: u32,
    /// Start from this file (e.g. `madoguchi default-config > f`) instead of the
    /// dialplans/default.toml compiled into loadgen.
    #[arg(long)]
    base: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct Common {
    /// The switch's operators' listener ([sip] listen).
    #[arg(long)]
    sip: SocketAddr,
    /// The carrier trunk listener.
    #[arg(long)]
    trunk: SocketAddr,
    /// The switch's HTTP listener (status, metrics); required unless --proxy.
    #[arg(long, required_unless_present = "proxy")]
    http: Option<SocketAddr>,
    /// The switch's process id for CPU/RSS; found by name when omitted.
    #[arg(long, required_if_eq("proxy", "true"))]
    pid: Option<u32>,
    /// The target is a plain SIP proxy and registrar (Kamailio with
    /// ../shared/peers/kamailio.cfg), the anchor of the side-by-side runs: operators
    /// register as `a<id>` without digest, call i goes to operator i mod --agents, ACK
    /// and BYE follow the Record-Route (RFC 3261 §12.1.2), there is no HTTP API, and
    /// CPU counts the process and its children (Kamailio forks its workers).
    #[arg(long)]
    proxy: bool,
    /// Operators to register (1001, 1002, …; each its own UDP socket).
    #[arg(long, default_value_t = 200)]
    agents: u32,
    /// The digest realm ([sip] domain).
    #[arg(long, default_value = "127.0.0.1")]
    domain: String,
    #[arg(long, default_value = "0246221111")]
    number: String,
    /// RTP sockets per side (caller, operator) shared by all calls.
    #[arg(long, default_value_t = 4)]
    rtp_sockets: usize,
    /// After the run, wait at most this long for calls_active to reach 0.
    #[arg(long, default_value_t = 20)]
    settle_secs: u64,
    /// Operators refresh their registration this often (RFC 3261 §10.2.4; they ask for
    /// 3,600 s, the switch's maximum).
    #[arg(long, default_value_t = 1800)]
    register_refresh_secs: u64,
}

#[derive(Args)]
struct CpsArgs {
    #[command(flatten)]
    common: Common,
    /// Calls per second.
    #[arg(long)]
    rate: f64,
    /// Seconds during which new calls start.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// How long each answered call is held before BYE.
    #[arg(long, default_value_t = 1000)]
    hold_ms: u64,
    /// Every Nth call's caller sends CANCEL after the first provisional response
    /// (0: none). Overload runs: a caller who gives up must leave no call behind.
    #[arg(long, default_value_t = 0)]
    cancel_every: u64,
    /// Every Nth call's caller, from the first, never ACKs the 200 (0: none): the
    /// switch must end the call itself after 64·T1 (the run lasts 32 s longer).
    #[arg(long, default_value_t = 0)]
    no_ack_every: u64,
}

#[derive(Args)]
struct ConcArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    calls: u64,
    /// Seconds of RTP once all calls are up.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Rate at which the calls are set up before the RTP phase.
    #[arg(long, default_value_t = 50.0)]
    setup_rate: f64,
    /// Rate at which the calls are hung up after it.
    #[arg(long, default_value_t = 200.0)]
    hangup_rate: f64,
}

/// Runs the command line `args` (the program name first) and returns what the
/// `loadgen` binary prints on stdout. A library as well as a binary, so that a test
/// of another package (the switch's smoke test, which needs the switch binary cargo
/// builds for it) can run the generator in-process.
pub fn run<I, T>(args: I) -> Result<String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    match &cli.cmd {
        Cmd::Config(a) => {
            write_config(a)?;
            return Ok(String::new());
        }
        Cmd::Ports { n } => {
            let ports = report::free_ports(*n);
            if ports.len() < *n {
                bail!("found only {} free ports", ports.len());
            }
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            return Ok(format!("{}\n", list.join(" ")));
        }
        Cmd::Table { files } => return report::table(files),
        Cmd::Compare {
            anchor,
            subject,
            files,
        } => return report::compare(files, (anchor, subject)),
        _ => {}
    }
    // Two workers: the machine has two cores and the switch needs them more than we do.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let out = rt.block_on(async {
        match cli.cmd {
            Cmd::Cps(a) => run_cps(a).await,
            Cmd::Concurrent(a) => run_concurrent(a).await,
            Cmd::Config(_) | Cmd::Ports { .. } | Cmd::Table { .. } | Cmd::Compare { .. } => {
                unreachable!("handled above")
            }
        }
    })?;
    // Leftover tasks (a call past its deadline) must not keep the process alive.
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn write_config(a: &ConfigArgs) -> Result<()> {
    let (lo, hi) = a
        .rtp_ports
        .split_once('-')
        .context("--rtp-ports LOW-HIGH")?;
    let base = a
        .base
        .as_ref()
        .map(std::fs::read_to_string)
        .transpose()
        .context("--base")?;
    let spec = config::ConfigSpec {
        base: base.as_deref(),
        sip: a.sip,
        trunk: a.trunk,
        pbx: a.pbx,
        http: a.http,
        rtp: (lo.parse()?, hi.parse()?),
        data_dir: &a.data_dir,
        agents: a.agents,
        max_calls: a.max_calls,
    };
    std::fs::create_dir_all(&a.data_dir)?;
    std::fs::write(&a.out, config::render(&spec)?)?;
    Ok(())
}

fn percentiles(mut v: Vec<Duration>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort();
    let p = |q: f64| {
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        ms(v[i])
    };
    let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64 * 1000.0;
    json!({ "p50": p(0.50), "p95": p(0.95), "p99": p(0.99), "max": ms(v[v.len() - 1]), "mean": round2(mean) })
}

fn ms(d: Duration) -> f64 {
    round2(d.as_secs_f64() * 1000.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Tally finished calls; `unfinished` are those still running at the deadline.
fn tally(results: &[CallResult], unfinished: u64) -> (Value, Vec<Duration>) {
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut gave_up: BTreeMap<String, u64> = BTreeMap::new();
    let mut setups = Vec::new();
    let mut completed = 0;
    for r in results {
        if let Some(s) = r.setup {
            setups.push(s);
        }
        match &r.failure {
            None => completed += 1,
            Some(f) if GAVE_UP.contains(&f.as_str()) => *gave_up.entry(f.clone()).or_default() += 1,
            Some(f) => *failures.entry(f.clone()).or_default() += 1,
        }
    }
    let abandoned: u64 = gave_up.values().sum();
    if unfinished > 0 {
        failures.insert("unfinished_at_deadline".into(), unfinished);
    }
    let attempted = results.len() as u64 + unfinished;
    let v = json!({
        "attempted": attempted,
        "answered": setups.len(),
        "completed": completed,
        // Callers who gave up as asked (--cancel-every, --no-ack-every), and how.
        "abandoned": abandoned,
        "gave_up": gave_up,
        "failed": attempted - completed - abandoned,
        "failures": failures,
    });
    (v, setups)
}

/// Join call tasks until `deadline`; abort what is left.
async fn join_calls(
    handles: Vec<JoinHandle<CallResult>>,
    deadline: Instant,
) -> (Vec<CallResult>, u64) {
    let mut results = Vec::with_capacity(handles.len());
    let mut unfinished = 0;
    for h in handles {
        let abort = h.abort_handle();
        match tokio::time::timeout_at(deadline, h).await {
            Ok(Ok(r)) => results.push(r),
            _ => {
                abort.abort();
                unfinished += 1;
            }
        }
    }
    (results, unfinished)
}

async fn run_cps(a: CpsArgs) -> Result<Value> {
    if !(a.rate > 0.0 && a.rate <= 5000.0) || a.duration == 0 || a.duration > 3600 {
        bail!("--rate must be in (0, 5000], --duration in [1, 3600]");
    }
    let load_before = procstat::loadavg();
    let rig = setup(a.common.clone()).await?;
    let n = (a.rate * a.duration as f64).round().max(1.0) as u64;
    let hold = Duration::from_millis(a.hold_ms);
    eprintln!("cps: {n} calls at {} /s, hold {} ms", a.rate, a.hold_ms);
    let sampling = start_sampling(rig.pids.clone());
    let core0 = core_busy(&a.common).await;
    let start = Instant::now() + Duration::from_millis(100);
    let mut handles = Vec::with_capacity(n as usize);
    // Calls that ended are joined as the run goes, so an hour-long soak holds only the
    // calls in flight (a finished task keeps its whole frame until it is joined).
    let mut done = Vec::new();
    let mut lost = 0;
    for i in 0..n {
        if i % 1024 == 1023 {
            lost += reap(&mut handles, &mut done).await;
        }
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / a.rate)).await;
        // Cancelling callers are calls N-1, 2N-1, …; silent ones 0, N, 2N, … (the
        // first call is admitted on any machine, so a run always has one).
        let nth = |every: u64, at: u64| every > 0 && i % every == at % every;
        let give_up = if nth(a.cancel_every, a.cancel_every.wrapping_sub(1)) {
            GiveUp::Cancel
        } else if nth(a.no_ack_every, 0) {
            GiveUp::NoAck
        } else {
            GiveUp::No
        };
        handles.push(tokio::spawn(rig.caller.clone().run_call(
            i,
            Hold::For(hold),
            None,
            give_up,
        )));
    }
    // From the first INVITE to the last one.
    let launch = Instant::now().duration_since(start);
    // Worst legitimate call: INVITE timer B + hold + BYE timer F.
    let deadline = Instant::now() + hold + msg::TIMER_B * 2 + Duration::from_secs(2);
    let (mut results, unfinished) = join_calls(handles, deadline).await;
    // The share of one core the switch's single SIP core task used over the run.
    let core_pct = match (core0, core_busy(&a.common).await) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => Some(procstat::round1(
            (b1 - b0) / t1.duration_since(t0).as_secs_f64() * 100.0,
        )),
        _ => None,
    };
    results.append(&mut done);
    let unfinished = unfinished + lost;
    let (sw, me) = stop_sampling(rig.pid, sampling).await;
    let (calls, setups) = tally(&results, unfinished);
    let by_second = p95_by_second(&results, start, a.duration);
    // Rates over the span between the first and the last event: n events, n-1 gaps.
    let answers: Vec<Instant> = results.iter().filter_map(|r| r.answered_at).collect();
    let answered_cps = match (answers.iter().min(), answers.iter().max()) {
        (Some(a), Some(b)) if answers.len() > 1 && b > a => {
            Some((answers.len() - 1) as f64 / b.duration_since(*a).as_secs_f64())
        }
        _ => None,
    };
    let end = rig.finish().await;
    Ok(json!({
        "mode": "cps",
        "loadavg_1m": [load_before, procstat::loadavg()],
        "target_cps": a.rate,
        "duration_s": a.duration,
        "hold_ms": a.hold_ms,
        "offered_cps": round2((n.max(2) - 1) as f64 / launch.as_secs_f64().max(1e-3)),
        "answered_cps": answered_cps.map(round2),
        "calls": calls,
        "setup_ms": percentiles(setups),
        "setup_p95_ms_by_second": by_second,
        "switch": sw,
        "switch_core_task_cpu_pct": core_pct,
        "loadgen": me,
        "end": end,
    }))
}

/// The switch's `madoguchi_sip_core_busy_seconds_total` and when it was read (none for a
/// proxy, or a switch too old to have it).
async fn core_busy(c: &Common) -> Option<(f64, Instant)> {
    let v = procstat::metric(c.http?, "madoguchi_sip_core_busy_seconds_total").await?;
    Some((v, Instant::now()))
}

/// Moves the calls that have ended from `handles` to `done`; returns how many ended
/// in a panic (counted as unfinished, as `join_calls` does).
async fn reap(handles: &mut Vec<JoinHandle<CallResult>>, done: &mut Vec<CallResult>) -> u64 {
    let mut lost = 0;
    let mut i = 0;
    while i < handles.len() {
        if handles[i].is_finished() {
            match handles.swap_remove(i).await {
                Ok(r) => done.push(r),
                Err(_) => lost += 1,
            }
        } else {
            i += 1;
        }
    }
    lost
}

/// p95 setup latency of the calls started in each second of the run, to tell a
/// steady state from a latency that climbs as the switch accumulates state.
fn p95_by_second(results: &[CallResult], start: Instant, secs: u64) -> Vec<Value> {
    let mut buckets: Vec<Vec<Duration>> = vec![Vec::new(); secs as usize + 1];
    for r in results {
        if let (Some(s), Some(at)) = (r.setup, r.answered_at) {
            let sent = at.checked_sub(s).unwrap_or(at);
            let k = (sent.saturating_duration_since(start).as_secs() as usize).min(secs as usize);
            buckets[k].push(s);
        }
    }
    buckets
        .into_iter()
        .map(|mut b| {
            if b.is_empty() {
                return json!(null);
            }
            b.sort();
            let i = ((0.95 * b.len() as f64).ceil() as usize).clamp(1, b.len()) - 1;
            json!(ms(b[i]))
        })
        .collect()
}

async fn run_concurrent(a: ConcArgs) -> Result<Value> {
    if a.calls == 0
        || a.calls > 5000
        || a.duration == 0
        || a.duration > 3600
        || !(a.setup_rate > 0.0 && a.hangup_rate > 0.0)
    {
        bail!("--calls in [1, 5000], --duration in [1, 3600], --setup-rate and --hangup-rate > 0");
    }
    if a.common.proxy {
        bail!("concurrent mode measures the switch's RTP relay; a proxy relays no media");
    }
    let http = a.common.http.context("--http")?;
    let load_before = procstat::loadavg();
    let rig = setup(a.common.clone()).await?;
    let (release_tx, release_rx) = watch::channel(false);
    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
    eprintln!(
        "concurrent: setting up {} calls at {} /s",
        a.calls, a.setup_rate
    );
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..a.calls {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / a.setup_rate)).await;
        handles.push(tokio::spawn(rig.caller.clone().run_call(
            i,
            Hold::Until(
                release_rx.clone(),
                Duration::from_secs_f64(i as f64 / a.hangup_rate),
            ),
            Some(up_tx.clone()),
            GiveUp::No,
        )));
    }
    drop(up_tx);
    // Every call reports once: established or failed. Bounded by timer B.
    let mut up = Vec::new();
    let mut setup_failed = 0u64;
    let setup_deadline = Instant::now() + msg::TIMER_B + Duration::from_secs(2);
    while up.len() as u64 + setup_failed < a.calls {
        match tokio::time::timeout_at(setup_deadline, up_rx.recv()).await {
            Ok(Some((idx, true))) => up.push(idx),
            Ok(Some((_, false))) => setup_failed += 1,
            _ => break,
        }
    }
    // The operator learns the B-leg port when the INVITE reaches it, before the 200.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let flows: Vec<rtp::Flow> = {
        let m = rig.caller.media.lock().expect("media lock");
        up.iter()
            .filter_map(|i| {
                let cm = m.get(i)?;
                Some(rtp::Flow {
                    idx: *i,
                    a_port: cm.a_port?,
                    b_port: cm.b_port?,
                })
            })
            .collect()
    };
    // The switch's own announcement to each answered caller replaces the operator's
    // audio while it plays (by design): wait until no datagram but ours arrives for
    // 0.5 s (at most 30 s) so that it is not counted as loss.
    let quiet_from = Instant::now();
    let mut other = rig.counters.other.load(Relaxed);
    while quiet_from.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rig.counters.other.load(Relaxed);
        if now == other {
            break;
        }
        other = now;
    }
    let prompt_wait = quiet_from.elapsed();
    let other0 = rig.counters.other.load(Relaxed);
    let active_before = procstat::calls_active(http).await.unwrap_or(-1);
    eprintln!(
        "{} calls up ({} with media), switch says calls_active={active_before}; RTP for {} s",
        up.len(),
        flows.len(),
        a.duration
    );
    let relayed0 = procstat::metric(http, "madoguchi_rtp_packets_relayed_total").await;
    let mut my_ports = rtp::Sockets::ports(&rig.socks.caller);
    my_ports.extend(rtp::Sockets::ports(&rig.socks.operator));
    let drops0 = procstat::udp_drops(&my_ports);
    let sampling = start_sampling(rig.pids.clone());
    let t_rtp = Instant::now();
    let skipped = rtp::send(
        &rig.socks,
        &flows,
        Duration::from_secs(a.duration),
        &rig.counters,
    )
    .await;
    let rtp_secs = t_rtp.elapsed().as_secs_f64();
    let (sw, me) = stop_sampling(rig.pid, sampling).await;
    // Let packets in flight arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = &rig.counters;
    let dir = |sent: u64, recv: u64| {
        json!({ "sent": sent, "received": recv, "lost": sent as i64 - recv as i64,
                "loss_pct": if sent == 0 { 0.0 } else { (sent as f64 - recv as f64) / sent as f64 * 100.0 } })
    };
    let rtp_v = json!({
        "seconds": round2(rtp_secs),
        "flows": flows.len(),
        // 50 packets/s per call and direction when the generator keeps up.
        "nominal_packets_per_direction": flows.len() as u64 * a.duration * 50,
        "skipped_slots": skipped,
        "sent_pps_per_direction": round2(c.a2b_sent.load(Relaxed) as f64 / rtp_secs),
        "caller_to_operator": dir(c.a2b_sent.load(Relaxed), c.a2b_recv.load(Relaxed)),
        "operator_to_caller": dir(c.b2a_sent.load(Relaxed), c.b2a_recv.load(Relaxed)),
        "send_errors": c.send_errors.load(Relaxed),
        "other_datagrams": c.other.load(Relaxed) - other0,
        "waited_for_prompts_s": round2(prompt_wait.as_secs_f64()),
        "loadgen_socket_drops": procstat::udp_drops(&my_ports) - drops0,
        // One-way, both directions together: see `rtp::Latency`.
        "latency_ms": c.latency.summary(),
        "switch_cpu_pct_per_call": sw["cpu_pct_avg"].as_f64().filter(|_| !flows.is_empty())
            .map(|cpu| (cpu / flows.len() as f64 * 10000.0).round() / 10000.0),
    });
    let _ = release_tx.send(true);
    let stagger = Duration::from_secs_f64(a.calls as f64 / a.hangup_rate);
    let deadline = Instant::now() + stagger + msg::TIMER_B + Duration::from_secs(2);
    let (results, unfinished) = join_calls(handles, deadline).await;
    let (calls, setups) = tally(&results, unfinished);
    let end = rig.finish().await;
    // The switch adds a call's relayed packets to this counter when the call ends.
    let mut rtp_v = rtp_v;
    rtp_v["switch_relayed_delta"] = match (
        relayed0,
        procstat::metric(http, "madoguchi_rtp_packets_relayed_total").await,
    ) {
        (Some(a), Some(b)) => json!(b - a),
        _ => json!(null),
    };
    Ok(json!({
        "mode": "concurrent",
        "loadavg_1m": [load_before, procstat::loadavg()],
        "target_calls": a.calls,
        "calls_active_during": active_before,
        "calls": calls,
        "setup_ms": percentiles(setups),
        "rtp": rtp_v,
        "switch": sw,
        "loadgen": me,
        "end": end,
    }))
}
