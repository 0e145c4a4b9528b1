//! Debian's real Prometheus against madoguchi: it scrapes the running switch and a
//! statistics exporter fed with call records built from call events, loads
//! deploy/madoguchi-alerts.yml (also checked by `promtool check rules`), and answers
//! queries over the scraped data: the answered count equals the records'. Every query of
//! deploy/grafana-dashboard.json runs without error and names only metrics that exist in
//! the scraped data. `.ci/stats-deps.sh` installs Prometheus; missing, the test fails.

mod common;

use callctl::event::{CallUid, Event, EventKind, Origin, Party, Phase};
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn ev(call: &str, at_ms: u64, kind: EventKind) -> Event {
    Event {
        call: CallUid(call.into()),
        at_ms,
        kind,
    }
}

/// Ten calls through the record builder into the metrics: on 市代表 five answered and two
/// abandoned, on 小名浜支所 two answered and one abandoned. Returns the registry.
fn records_registry() -> prometheus::Registry {
    let reg = prometheus::Registry::new();
    let lines = ["市代表".to_string(), "小名浜支所".to_string()];
    let m = stats::metrics::StatsMetrics::new(&reg, &lines, &["main".to_string()]).unwrap();
    let mut rec = stats::Recorder::new();
    let t0 = 1_795_564_800_000u64;
    let plan = [("市代表", 5, 2), ("小名浜支所", 2, 1)];
    let mut n = 0;
    for (line, answered, abandoned) in plan {
        for i in 0..answered + abandoned {
            n += 1;
            let uid = format!("p{n}");
            let t = t0 + n * 60_000;
            let evs = [
                ev(
                    &uid,
                    t,
                    EventKind::Arrived {
                        origin: Origin::Citizen,
                        trunk: "carrier".into(),
                        dialled: "+81246221111".into(),
                        line: line.into(),
                        caller: "0246990000".into(),
                    },
                ),
                ev(
                    &uid,
                    t + 2000,
                    EventKind::Queued {
                        queue: "main".into(),
                        priority: 0,
                    },
                ),
            ];
            let end = if i < answered {
                vec![
                    ev(
                        &uid,
                        t + 6000,
                        EventKind::Answered {
                            agent: "1001".into(),
                        },
                    ),
                    ev(
                        &uid,
                        t + 66_000,
                        EventKind::Ended {
                            phase: Phase::Talking,
                            by: Party::Operator,
                            outcome: "answered".into(),
                        },
                    ),
                ]
            } else {
                vec![ev(
                    &uid,
                    t + 30_000,
                    EventKind::Ended {
                        phase: Phase::Queue,
                        by: Party::Citizen,
                        outcome: "abandoned".into(),
                    },
                )]
            };
            for e in evs.iter().chain(end.iter()) {
                if let Some(r) = rec.on_event(e) {
                    m.observe(&r);
                }
            }
        }
    }
    reg
}

/// Serve the registry's exposition on loopback from a thread (any path).
fn serve_registry(reg: prometheus::Registry) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let mut body = Vec::new();
            use prometheus::Encoder;
            let _ = prometheus::TextEncoder::new().encode(&reg.gather(), &mut body);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    addr
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET over HTTP/1.0, so that Prometheus answers with a plain body (never chunked).
fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("prometheus at {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    text.split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default()
}

struct Prom {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prom {
    fn query(&self, q: &str) -> serde_json::Value {
        let body = get(self.addr, &format!("/api/v1/query?query={}", encode(q)));
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{q}: {body}"));
        assert_eq!(v["status"], "success", "{q}: {body}");
        v
    }

    /// The single value of a scalar-like query (one series), or None for no data.
    fn value(&self, q: &str) -> Option<f64> {
        let v = self.query(q);
        let r = v["data"]["result"].as_array()?.first()?.clone();
        r["value"][1].as_str()?.parse().ok()
    }
}

#[test]
fn real_prometheus_scrapes_the_switch_and_the_records_and_loads_the_rules() {
    for tool in ["prometheus", "promtool"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "{tool} missing: run .ci/stats-deps.sh (as root)"
        );
    }
    let root = repo_root();
    let rules = root.join("deploy/madoguchi-alerts.yml");
    let check = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("SUCCESS"));
    // The alerts' own unit tests (series in, alerts out), e.g. RtpPortsNearlyExhausted.
    let unit = Command::new("promtool")
        .arg("test")
        .arg("rules")
        .arg("madoguchi-alerts.test.yml")
        .current_dir(root.join("deploy"))
        .output()
        .unwrap();
    assert!(
        unit.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&unit.stdout),
        String::from_utf8_lossy(&unit.stderr)
    );

    let sw = Switch::start("prometheus-real", |t| t);
    let exporter = serve_registry(records_registry());
    let dir = workdir("prometheus-real-server");
    let port = free_port();
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: madoguchi\n    static_configs:\n      - targets: [\"{sw}\"]\n\
         \x20 - job_name: records\n    static_configs:\n      - targets: [\"{exporter}\"]\n",
        rules = rules.display(),
        sw = sw.http,
    );
    std::fs::write(dir.join("prometheus.yml"), cfg).unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let prom = Prom {
        child: Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
    };

    // Both targets up, and the records' counters scraped.
    let t0 = Instant::now();
    loop {
        let ready = http_get(prom.addr, "/-/ready").is_some()
            && prom.value("sum(up)") == Some(2.0)
            && prom
                .value("count(madoguchi_line_answered_total{job=\"records\"})")
                .is_some()
            && prom
                .value("count(madoguchi_agents{job=\"madoguchi\"})")
                .is_some();
        if ready {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "prometheus not scraping both targets; log:\n{}",
            tail(
                &std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default(),
                30
            )
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The records: 7 answered of 10 offered; per line 5 and 2.
    assert_eq!(
        prom.value("sum(madoguchi_line_answered_total{job=\"records\"})"),
        Some(7.0)
    );
    assert_eq!(
        prom.value("sum(madoguchi_line_offered_total{job=\"records\"})"),
        Some(10.0)
    );
    assert_eq!(
        prom.value("sum(madoguchi_line_answered_total{job=\"records\",line=\"小名浜支所\"})"),
        Some(2.0)
    );
    assert_eq!(
        prom.value("sum(madoguchi_answer_wait_seconds_count{job=\"records\"})"),
        Some(7.0)
    );
    assert_eq!(
        prom.value("sum(madoguchi_answer_wait_seconds_sum{job=\"records\"})"),
        Some(42.0)
    );
    // The switch's own series exist from the start, one per configured line, at 0.
    let lines = prom.query("madoguchi_line_offered_total{job=\"madoguchi\"}");
    let names: Vec<String> = lines["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"]["line"].as_str().unwrap().to_string())
        .collect();
    // One series per configured line name, plus "other": labels are bounded.
    let mut expected: Vec<String> = dialplan::default_config()
        .numbers
        .iter()
        .map(|n| n.name.clone())
        .chain(["other".to_string()])
        .collect();
    expected.sort();
    expected.dedup();
    let mut names = names;
    names.sort();
    assert_eq!(names, expected);
    assert!(names.contains(&"市代表".to_string()));

    // The alert rules are loaded (every one in the file) and evaluate without error.
    let in_file = std::fs::read_to_string(&rules)
        .unwrap()
        .matches("- alert:")
        .count();
    let t0 = Instant::now();
    loop {
        let body = get(prom.addr, "/api/v1/rules");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let rules: Vec<&serde_json::Value> = v["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().iter())
            .collect();
        if rules.len() == in_file && rules.iter().all(|r| r["health"] == "ok") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "rules not healthy: {body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The dashboard's queries run, and every metric they name is in the scraped data.
    let names = get(prom.addr, "/api/v1/label/__name__/values");
    let names: serde_json::Value = serde_json::from_str(&names).unwrap();
    let known: Vec<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            let q = expr
                .replace("$__rate_interval", "1m")
                .replace("$queue", ".*")
                .replace("$line", ".*");
            prom.query(&q);
            for word in q.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("madoguchi_") || word.starts_with("recorder_") {
                    assert!(
                        known.contains(&word),
                        "dashboard panel {:?} uses {word}, which nothing exports",
                        p["title"]
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 13, "{checked}");
    // The answer rate the dashboard shows for the records' job.
    let rate = prom.value("sum(madoguchi_queue_answered_total{job=\"records\"}) / sum(madoguchi_queue_offered_total{job=\"records\"})");
    assert_eq!(rate, Some(0.7));
}
