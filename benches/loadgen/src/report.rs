//! Helpers for `benches/load.sh`, in Rust so the script needs neither jq nor Python:
//! free ports for a private switch, and a Markdown table of the JSON summaries.

use anyhow::{Context, Result};
use serde_json::Value;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;

/// `n` distinct ports free for both UDP and TCP on 127.0.0.1 right now.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    let mut out = Vec::new();
    // Keep the sockets open until all are chosen so the kernel never repeats a port.
    for _ in 0..n * 50 {
        if out.len() == n {
            break;
        }
        let Ok(u) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(p) = u.local_addr().map(|a| a.port()) else {
            continue;
        };
        if let Ok(t) = TcpListener::bind(("127.0.0.1", p)) {
            out.push(p);
            held.push((u, t));
        }
    }
    out
}

fn f(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn failures(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect::<Vec<_>>()
            .join(" "),
        _ => "none".into(),
    }
}

pub fn table(files: &[PathBuf]) -> Result<String> {
    let mut cps = String::from(
        "| target cps | offered | answered cps | attempted | completed | failed (why) | setup p50 / p95 / p99 / max ms | switch CPU avg / max 1 s % | SIP core task CPU % | switch RSS max MB | loadgen CPU % | calls left | switch SIP socket drops |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut conc = String::from(
        "| calls | up | A→B sent / lost | B→A sent / lost | loss % | loadgen sock drops | one-way p50 / p99 / max ms | switch CPU avg / max 1 s % | switch CPU % per call | switch RSS max MB | loadgen CPU % | calls left | load avg 1 min |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let (mut n_cps, mut n_conc) = (0, 0);
    for path in files {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a loadgen summary", path.display()))?;
        let sw = &v["switch"];
        let rss_mb = sw["rss_kb_max"]
            .as_f64()
            .map(|k| format!("{:.1}", k / 1024.0))
            .unwrap_or("-".into());
        let cpu = format!("{} / {}", f(&sw["cpu_pct_avg"]), f(&sw["cpu_pct_max_1s"]));
        let c = &v["calls"];
        let s = &v["setup_ms"];
        match v["mode"].as_str() {
            Some("cps") => {
                n_cps += 1;
                cps.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} ({}) | {} / {} / {} / {} | {cpu} | {} | {rss_mb} | {} | {} | {} |\n",
                    f(&v["target_cps"]),
                    f(&v["offered_cps"]),
                    f(&v["answered_cps"]),
                    f(&c["attempted"]),
                    f(&c["completed"]),
                    f(&c["failed"]),
                    failures(&c["failures"]),
                    f(&s["p50"]),
                    f(&s["p95"]),
                    f(&s["p99"]),
                    f(&s["max"]),
                    f(&v["switch_core_task_cpu_pct"]),
                    f(&v["loadgen"]["cpu_pct_avg"]),
                    f(&v["end"]["calls_active_after"]),
                    f(&v["end"]["switch_sip_socket_drops"]),
                ));
            }
            Some("concurrent") => {
                n_conc += 1;
                let r = &v["rtp"];
                let (ab, ba) = (&r["caller_to_operator"], &r["operator_to_caller"]);
                let sent = ab["sent"].as_f64().unwrap_or(0.0) + ba["sent"].as_f64().unwrap_or(0.0);
                let lost = ab["lost"].as_f64().unwrap_or(0.0) + ba["lost"].as_f64().unwrap_or(0.0);
                let pct = if sent > 0.0 { lost / sent * 100.0 } else { 0.0 };
                conc.push_str(&format!(
                    "| {} | {} | {} / {} | {} / {} | {:.3} | {} | {} / {} / {} | {cpu} | {} | {rss_mb} | {} | {} | {} / {} |\n",
                    f(&v["target_calls"]),
                    f(&r["flows"]),
                    f(&ab["sent"]),
                    f(&ab["lost"]),
                    f(&ba["sent"]),
                    f(&ba["lost"]),
                    pct,
                    f(&r["loadgen_socket_drops"]),
                    f(&r["latency_ms"]["p50"]),
                    f(&r["latency_ms"]["p99"]),
                    f(&r["latency_ms"]["max"]),
                    f(&r["switch_cpu_pct_per_call"]),
                    f(&v["loadgen"]["cpu_pct_avg"]),
                    f(&v["end"]["calls_active_after"]),
                    f(&v["loadavg_1m"][0]),
                    f(&v["loadavg_1m"][1]),
                ));
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if n_cps > 0 {
        out.push_str(&cps);
    }
    if n_conc > 0 {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&conc);
    }
    Ok(out)
}

/// Side by side: `files` are pairs (anchor, subject) of cps summaries at the same
/// rate, e.g. Kamailio then madoguchi. One row per rate with the ratios, then the
/// highest rate each sustained with no failed call.
pub fn compare(files: &[PathBuf], names: (&str, &str)) -> Result<String> {
    if files.is_empty() || !files.len().is_multiple_of(2) {
        anyhow::bail!("compare takes pairs of summaries: ANCHOR SUBJECT [ANCHOR SUBJECT ...]");
    }
    let load = |p: &PathBuf| -> Result<Value> {
        let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a loadgen summary", p.display()))?;
        if v["mode"] != "cps" {
            anyhow::bail!("{} is not a cps summary", p.display());
        }
        Ok(v)
    };
    let (a, b) = names;
    let mut out = format!(
        "| target cps | {a} answered cps | {a} failed | {a} setup p50 / p95 ms | {a} CPU % | \
         {b} answered cps | {b} failed | {b} setup p50 / p95 ms | {b} CPU % | \
         answered ratio {b}/{a} | p50 ratio | CPU per call ratio | load avg 1 min |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut best = (None::<f64>, None::<f64>);
    for pair in files.chunks(2) {
        let (x, y) = (load(&pair[0])?, load(&pair[1])?);
        let num = |v: &Value, k: &[&str]| k.iter().fold(v, |v, k| &v[*k]).as_f64();
        let cps = |v: &Value| num(v, &["answered_cps"]);
        let p50 = |v: &Value| num(v, &["setup_ms", "p50"]);
        let cpu = |v: &Value| num(v, &["switch", "cpu_pct_avg"]);
        let failed = |v: &Value| num(v, &["calls", "failed"]).unwrap_or(f64::NAN);
        let ratio = |p: Option<f64>, q: Option<f64>| match (p, q) {
            (Some(p), Some(q)) if p > 0.0 => format!("{:.2}", q / p),
            _ => "-".into(),
        };
        // CPU per answered call: a proxy at 60 % for 1,000 calls/s costs what a B2BUA
        // at 30 % for 500 calls/s does.
        let per_call = |v: &Value| Some(cpu(v)? / cps(v)?);
        for (v, slot) in [(&x, &mut best.0), (&y, &mut best.1)] {
            if failed(v) == 0.0 {
                let r = cps(v).unwrap_or(0.0);
                *slot = Some(slot.map_or(r, |s: f64| s.max(r)));
            }
        }
        let cell = |v: &Value| {
            format!(
                "{} | {} ({}) | {} / {} | {}",
                f(&v["answered_cps"]),
                f(&v["calls"]["failed"]),
                failures(&v["calls"]["failures"]),
                f(&v["setup_ms"]["p50"]),
                f(&v["setup_ms"]["p95"]),
                f(&v["switch"]["cpu_pct_avg"]),
            )
        };
        let load = |v: &Value| f(&v["loadavg_1m"][0]);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} / {} |\n",
            f(&x["target_cps"]),
            cell(&x),
            cell(&y),
            ratio(cps(&x), cps(&y)),
            ratio(p50(&x), p50(&y)),
            ratio(per_call(&x), per_call(&y)),
            load(&x),
            load(&y),
        ));
    }
    let show = |r: Option<f64>| r.map_or("none".to_string(), |r| format!("{r:.0}/s"));
    out.push_str(&format!(
        "\nHighest answered rate with 0 failed: {a} {}, {b} {} (ratio {}).\n",
        show(best.0),
        show(best.1),
        match best {
            (Some(p), Some(q)) if p > 0.0 => format!("{:.2}", q / p),
            _ => "-".into(),
        }
    ));
    Ok(out)
}
