//! Watching the switch from outside: CPU and RSS from /proc, `/api/v1/status` and
//! `/metrics` over a bare HTTP/1.1 GET, and the kernel's drop counters of our own
//! UDP sockets (so loss in the generator's receive buffers is not blamed on the switch).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// /proc reports utime/stime in USER_HZ, which the kernel ABI fixes at 100 on Linux.
const USER_HZ: f64 = 100.0;

#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Instant,
    pub cpu_ticks: u64,
    pub rss_kb: u64,
}

/// One sample of a process group: CPU and RSS summed over `pids` (the first must
/// exist; a worker that has exited counts nothing).
pub fn sample(pids: &[u32]) -> Result<Sample> {
    let first = *pids.first().ok_or_else(|| anyhow!("no pid"))?;
    let mut total = sample_one(first)?;
    for p in &pids[1..] {
        if let Ok(s) = sample_one(*p) {
            total.cpu_ticks += s.cpu_ticks;
            total.rss_kb += s.rss_kb;
        }
    }
    Ok(total)
}

/// `pid` and its direct children (Kamailio's main process forks all its workers).
pub fn with_children(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // Field 4 (ppid) is the second after the ')' that closes the command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

fn sample_one(pid: u32) -> Result<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    // The command name is in parentheses and may hold spaces: fields count after ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|x| x.1)
        .ok_or_else(|| anyhow!("odd /proc/{pid}/stat"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')' index 0 is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = f
        .get(11)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no utime"))?;
    let stime: u64 = f
        .get(12)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no stime"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Sample {
        at: Instant::now(),
        cpu_ticks: utime + stime,
        rss_kb,
    })
}

/// The single running `madoguchi serve`, when --pid is not given. Other engineers'
/// tests may run their own switch on this machine, so more than one is an error.
pub fn find_switch_pid() -> Result<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args
            .first()
            .is_some_and(|a| a.ends_with("/madoguchi") || a == "madoguchi")
            && args.iter().any(|a| a == "serve")
        {
            found.push(pid);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!("no running `madoguchi serve` found; pass --pid"),
        many => bail!("several `madoguchi serve` processes ({many:?}); pass --pid"),
    }
}

/// Samples `pids` (summed) every 500 ms until `stop` turns true; returns all samples.
pub async fn sampler(pids: Vec<u32>, mut stop: watch::Receiver<bool>) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => {}
        }
        if let Ok(s) = sample(&pids) {
            out.push(s);
        }
        if *stop.borrow() {
            return out;
        }
    }
}

/// CPU in percent of one core (100 = one core busy), average and the busiest ~1 s.
pub fn summarize(pid: u32, samples: &[Sample]) -> Value {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return json!({ "pid": pid, "error": "no samples" });
    };
    let pct = |a: &Sample, b: &Sample| {
        let wall = b.at.duration_since(a.at).as_secs_f64();
        if wall <= 0.0 {
            0.0
        } else {
            (b.cpu_ticks - a.cpu_ticks) as f64 / USER_HZ / wall * 100.0
        }
    };
    let max_1s = samples
        .windows(3)
        .map(|w| pct(&w[0], &w[2]))
        .fold(0.0, f64::max);
    json!({
        "pid": pid,
        "cpu_pct_avg": round1(pct(first, last)),
        "cpu_pct_max_1s": round1(max_1s),
        "rss_kb_start": first.rss_kb,
        "rss_kb_max": samples.iter().map(|s| s.rss_kb).max().unwrap_or(0),
        "rss_kb_end": last.rss_kb,
        "window_s": round1(last.at.duration_since(first.at).as_secs_f64()),
    })
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub async fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let body = text
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        anyhow::Ok(body)
    };
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .map_err(|_| anyhow!("HTTP GET {path} timed out"))?
}

pub async fn calls_active(http: SocketAddr) -> Result<i64> {
    let body = http_get(http, "/api/v1/status").await?;
    let v: Value = serde_json::from_str(&body)?;
    v["calls_active"]
        .as_i64()
        .ok_or_else(|| anyhow!("no calls_active in {body}"))
}

/// Sum of a Prometheus counter over all its label sets.
pub async fn metric(http: SocketAddr, name: &str) -> Option<f64> {
    let text = http_get(http, "/metrics").await.ok()?;
    let vals: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!vals.is_empty()).then(|| vals.iter().sum())
}

/// Kernel receive-buffer drops of our UDP sockets bound to `ports` on 127.0.0.1
/// (the last column of /proc/net/udp).
pub fn udp_drops(ports: &[u16]) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/net/udp") else {
        return 0;
    };
    let mut total = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(local) = f.get(1) else { continue };
        let Some(port) = local
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
        else {
            continue;
        };
        if ports.contains(&port) {
            total += f.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total
}

/// The machine's 1-minute load average (other engineers compile on the same cores:
/// a figure taken at load > 1.5 is worth a rerun).
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
