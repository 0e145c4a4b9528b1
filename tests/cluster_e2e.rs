//! Two switch nodes behind Kamailio's dispatcher (issue 10 goal 5, ARCHITECTURE.md
//! "Scaling beyond one machine"): Debian's Kamailio 5.6 runs `deploy/kamailio-dispatcher.cfg`
//! (its addresses rewritten to private loopback ports) in front of two `madoguchi serve`
//! nodes; a real operator (baresip) registers once, through Kamailio, at both nodes; real
//! callers (baresip) dial the carrier side of Kamailio. One node is killed with SIGKILL and
//! the next calls are answered through the other, with the operator's binding it already
//! had. Everything on 127.0.0.1, every wait bounded.

mod common;
use common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// One cluster (a Kamailio, two nodes, their agents) at a time: two at once would share
/// the two cores of a CI machine six ways.
static ONE_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_cluster() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Debian's Kamailio in the foreground (`-DD`: its workers are its children), on the
/// cluster configuration with this test's addresses.
struct Kamailio {
    child: Child,
    dir: PathBuf,
    /// Where the carrier sends citizens' calls.
    carrier: SocketAddr,
    /// Where operators' phones register and the nodes reach them.
    agents: SocketAddr,
}

impl Kamailio {
    /// `front`: the ports of its carrier and operators' sides (leased: the nodes are
    /// configured with the carrier side before Kamailio starts); `nodes`: each node's
    /// (carrier-trunk listener, operators' listener); `carrier_proxy`: where the nodes'
    /// outbound calls (callbacks) are sent on; `alg`: the dispatcher's algorithm (4
    /// round-robin, 8 by priority: the first node while it lives).
    fn start(
        name: &str,
        (carrier, agents): (u16, u16),
        nodes: &[(SocketAddr, SocketAddr)],
        carrier_proxy: SocketAddr,
        alg: u8,
    ) -> Kamailio {
        let dir = workdir(name);
        let mut list = String::new();
        for (i, (trunk, sip)) in nodes.iter().enumerate() {
            let prio = 10 - i;
            list += &format!(
                "1 sip:{trunk} 0 {prio} duid=node{i}\n2 sip:{sip} 0 {prio} duid=node{i}\n"
            );
        }
        let list_file = dir.join("nodes.list");
        std::fs::write(&list_file, list).unwrap();
        let cfg =
            std::fs::read_to_string(repo_root().join("deploy/kamailio-dispatcher.cfg")).unwrap();
        let set = |cfg: String, id: &str, value: &str| -> String {
            let at = cfg
                .find(&format!("#!substdef \"!{id}!"))
                .unwrap_or_else(|| panic!("no substdef {id} in the Kamailio config"));
            let end = at + cfg[at..].find('\n').unwrap();
            format!(
                "{}#!substdef \"!{id}!{value}!g\"{}",
                &cfg[..at],
                &cfg[end..]
            )
        };
        let mut cfg = set(cfg, "CARRIER_PORT", &carrier.to_string());
        cfg = set(cfg, "AGENTS_PORT", &agents.to_string());
        cfg = set(cfg, "CARRIER_PROXY", &format!("sip:{carrier_proxy}"));
        cfg = set(cfg, "NODES_LIST", &list_file.display().to_string());
        // Probe each second, give up on a silent node after one: a test's minutes.
        cfg = set(cfg, "DS_PING_SECS", "1");
        cfg = set(cfg, "FR_TIMER_MS", "1500");
        cfg = set(cfg, "DS_ALG", &alg.to_string());
        let cfg_file = dir.join("kamailio.cfg");
        std::fs::write(&cfg_file, cfg).unwrap();
        let check = Command::new("kamailio")
            .arg("-c")
            .arg("-f")
            .arg(&cfg_file)
            .output()
            .expect("kamailio must be installed: .ci/cluster-deps.sh (apt-get install kamailio)");
        assert!(
            check.status.success(),
            "kamailio -c rejects the cluster configuration:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
        let child = Command::new("kamailio")
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
            .arg(&cfg_file)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start kamailio");
        let k = Kamailio {
            child,
            dir,
            carrier: format!("127.0.0.1:{carrier}").parse().unwrap(),
            agents: format!("127.0.0.1:{agents}").parse().unwrap(),
        };
        k.wait_answering();
        k
    }

    /// Bounded: Kamailio answers an OPTIONS on its carrier side.
    fn wait_answering(&self) {
        let probe = RawSip::new();
        let uri = format!("sip:{}", self.carrier);
        for i in 0..50 {
            let opt = probe.request("OPTIONS", &uri, "probe", &format!("ka-{i}"), 1, "", "");
            probe.send(self.carrier, &opt);
            if let Some(sip::Message::Response(r)) = probe.recv(0.3) {
                if r.status == 200 {
                    return;
                }
            }
        }
        panic!(
            "kamailio did not answer OPTIONS; log:\n{}",
            tail(&self.log(), 40)
        );
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("kamailio.log")).unwrap_or_default())
            .to_string()
    }
}

impl Drop for Kamailio {
    /// SIGTERM: the main process stops its workers; SIGKILL only if it does not end.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The digest key every node shares (deployment: the same `data/nonce.key`, 0600, on
/// each node), so a challenge one node wrote is answered at any node.
fn share_nonce_key(text: &str, key: &[u8; 32]) {
    let line = text
        .lines()
        .find(|l| l.starts_with("data_dir = "))
        .expect("data_dir in the config");
    let dir = Path::new(line.split('"').nth(1).unwrap());
    std::fs::create_dir_all(dir).unwrap();
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join("nonce.key"))
        .unwrap();
    std::io::Write::write_all(&mut f, key).unwrap();
}

/// A cluster node: the default configuration with the carrier trunk's outbound proxy at
/// Kamailio's carrier side, no after-call work (one operator takes call after call) and
/// the shared digest key.
fn node(
    name: &str,
    key: &[u8; 32],
    front_carrier: SocketAddr,
    edit: impl FnOnce(String) -> String,
) -> Switch {
    Switch::start(name, |t| {
        let t = edit(t)
            .replace(
                "proxy = \"127.0.0.1:5090\"",
                &format!("proxy = \"{front_carrier}\""),
            )
            .replace("wrapup_secs = 30", "wrapup_secs = 0");
        share_nonce_key(&t, key);
        t
    })
}

/// The operator's softphone: registered through Kamailio only (never to a node).
fn operator(base: &Path, k: &Kamailio, id: &str, tone: &Path) -> Baresip {
    Baresip::start(
        base,
        BaresipOpts {
            name: &format!("op{id}"),
            account: format!(
                "<sip:{id}@{};transport=udp>;auth_pass=madoguchi-{id};regint=600;answermode=auto;audio_codecs=PCMU,PCMA",
                k.agents
            ),
            tone,
            commands: vec![],
            quit_after: Some(240),
        },
    )
}

/// A citizen dialling the 市代表 line on the carrier side of Kamailio, hanging up after
/// `secs`.
fn citizen(base: &Path, k: &Kamailio, name: &str, tone: &Path, secs: u64) -> Baresip {
    Baresip::start(
        base,
        BaresipOpts {
            name,
            account: "<sip:0312345678@127.0.0.1>;regint=0;audio_codecs=PCMU".to_string(),
            tone,
            commands: vec![format!("/dial sip:0246221111@{}", k.carrier)],
            quit_after: Some(secs),
        },
    )
}

fn calls_active(sw: &Switch) -> u64 {
    sw.status()["calls_active"].as_u64().unwrap_or(0)
}

/// Bounded: which of `nodes` has the call up (exactly one must).
fn node_with_call(nodes: &[&Switch], k: &Kamailio, secs: u64) -> usize {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        let up: Vec<usize> = (0..nodes.len())
            .filter(|&i| calls_active(nodes[i]) > 0)
            .collect();
        match up.as_slice() {
            [one] => return *one,
            [] => {}
            more => panic!("the call is up on several nodes: {more:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no node took the call; Kamailio log tail:\n{}",
        tail(&k.log(), 40)
    );
}

/// The caller hears the operator's 1,000 Hz and the operator the caller's 440 Hz, in the
/// `n`th call the operator took.
fn assert_both_ways(op: &Baresip, caller: &Baresip, n: usize, which: &str) {
    let op_rx = op.received_wavs();
    assert!(
        op_rx.len() > n,
        "{which}: the operator recorded {} calls; log:\n{}",
        op_rx.len(),
        tail(&op.log(), 40)
    );
    let (f, loud) = dominant(&op_rx[n], &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "{which}: the operator heard too little ({loud} loud samples)"
    );
    assert_eq!(
        f,
        Some(440.0),
        "{which}: the operator should hear the caller"
    );
    let c_rx = caller.received_wavs();
    assert!(!c_rx.is_empty(), "{which}: the caller recorded nothing");
    let (f, loud) = dominant(&c_rx[0], &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "{which}: the caller heard too little ({loud} loud samples)"
    );
    assert_eq!(
        f,
        Some(1000.0),
        "{which}: the caller should hear the operator"
    );
}

#[test]
fn a_node_killed_the_next_calls_are_answered_through_the_other() {
    let _one = one_cluster();
    let key: [u8; 32] = std::array::from_fn(|i| (rand_u64() >> (i % 8)) as u8);
    // Kamailio's carrier side is where the nodes' outbound calls go; it is not called
    // out in this test, so any address of ours will do as the carrier behind it.
    let carrier_behind = RawSip::new();
    let front = (free_port(), free_port());
    let front_carrier: SocketAddr = format!("127.0.0.1:{}", front.0).parse().unwrap();
    let shared = workdir("cluster-kshared");
    let a = node("cluster-a", &key, front_carrier, |t| {
        in_cluster(no_greeting(t), "a", &shared)
    });
    let b = node("cluster-b", &key, front_carrier, |t| {
        in_cluster(no_greeting(t), "b", &shared)
    });
    let k = Kamailio::start(
        "cluster-kamailio",
        front,
        &[(a.trunk, a.sip), (b.trunk, b.sip)],
        carrier_behind.addr(),
        4,
    );
    let dir = workdir("cluster-peers");
    tone_wav(&dir.join("440.wav"), 440.0, 30.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 300.0);

    // One REGISTER through Kamailio, a binding at each node (forked, shared digest key).
    let op = operator(&dir, &k, "1001", &dir.join("1000.wav"));
    for (sw, n) in [(&a, "A"), (&b, "B")] {
        sw.wait_for(&format!("1001 registered at node {n}"), 20, |s| {
            s.registered("1001")
        });
    }

    // A citizen's call goes to one node and the operator answers it there.
    let mut first = citizen(&dir, &k, "caller1", &dir.join("440.wav"), 12);
    let x = node_with_call(&[&a, &b], &k, 15);
    let (dead, live) = if x == 0 { (a, b) } else { (b, a) };
    assert!(first.wait_exit(20), "the first caller did not finish");
    dead.wait_for("the first call to end", 10, |s| calls_active(s) == 0);
    assert_eq!(
        dead.metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0
    );
    assert_both_ways(&op, &first, 0, "first call");

    // The node that took it dies without a word.
    let mut dead = dead;
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();

    // The next two calls are both answered through the survivor: Kamailio's round robin
    // would have sent one of them to the dead node had it not taken it out (a timeout
    // fails over at once, the OPTIONS probe keeps it out).
    for n in 1..=2 {
        let mut caller = citizen(
            &dir,
            &k,
            &format!("caller{}", n + 1),
            &dir.join("440.wav"),
            12,
        );
        live.wait_for(
            &format!("call {} up at the surviving node", n + 1),
            20,
            |s| calls_active(s) == 1,
        );
        assert!(caller.wait_exit(30), "caller {} did not finish", n + 1);
        live.wait_for("the call to end", 10, |s| calls_active(s) == 0);
        assert_both_ways(&op, &caller, n, &format!("call {} after the kill", n + 1));
    }
    assert_eq!(
        live.metric("madoguchi_calls_total", "outcome=\"answered\""),
        2.0,
        "both calls after the kill answered at the survivor"
    );
    assert!(
        live.rtp_ports_all_free(),
        "media ports not freed at the survivor"
    );
}

/// `[cluster]` for a node sharing `dir` with the others; a short greeting before the
/// line.
fn in_cluster(t: String, node: &str, dir: &Path) -> String {
    let t = t.replace(
        "greeting = [\"greeting\", \"recording-notice\"]",
        "greeting = [\"position-suffix\"]",
    );
    format!(
        "{t}\n[cluster]\nnode = \"{node}\"\nshared_dir = \"{}\"\ntakeover_secs = 3\n",
        dir.display()
    )
}

fn queues(sw: &Switch) -> serde_json::Value {
    let body = http_get(sw.http, "/api/v1/queues").expect("/api/v1/queues");
    serde_json::from_str(&body).unwrap()
}

fn queue_field(sw: &Switch, field: &str) -> u64 {
    queues(sw)["queues"][0][field].as_u64().unwrap_or(99)
}

fn agent_available(sw: &Switch, id: &str) -> bool {
    let q = queues(sw);
    q["agents"].as_array().is_some_and(|a| {
        a.iter()
            .any(|x| x["name"] == id && x["status"] == "Available")
    })
}

/// The carrier behind Kamailio, where the nodes' callbacks to citizens arrive.
struct Carrier {
    sip: RawSip,
    /// Requests that came while we waited for a response.
    pending: Vec<sip::Request>,
    /// Call-IDs of the INVITEs already taken (a retransmission is not a new call).
    seen: std::collections::HashSet<String>,
}

impl Carrier {
    /// The next new INVITE (a callback to a citizen).
    fn next_invite(&mut self, what: &str) -> sip::Request {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            let r = match self.pending.pop() {
                Some(r) => r,
                None => match self.sip.recv(0.5) {
                    Some(sip::Message::Request(r)) => r,
                    _ => continue,
                },
            };
            let cid = r.headers.get("Call-ID").unwrap_or_default().to_string();
            if r.method == sip::Method::Invite && self.seen.insert(cid) {
                return r;
            }
        }
        panic!("{what}: no INVITE reached the carrier");
    }
}

/// The citizen hangs up a call we answered with `answer_200_at`: BYE along the
/// Record-Route Kamailio put in the INVITE (RFC 3261 §12.1.1: the callee's route set is
/// Record-Route in order), to the node's Contact.
fn hang_up(carrier: &mut Carrier, inv: &sip::Request, front: SocketAddr) {
    let ep = &carrier.sip;
    let contact = inv.headers.get("Contact").expect("Contact in the INVITE");
    let target = contact
        .trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap();
    let routes: Vec<&str> = inv.headers.get_all("Record-Route").collect();
    let bye = format!(
        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{b:x};rport\r\nMax-Forwards: 70\r\nRoute: {route}\r\nFrom: {from};tag=raw200\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        me = ep.addr(),
        b = rand_u64(),
        route = routes.join(", "),
        from = inv.headers.get("To").unwrap(),
        to = inv.headers.get("From").unwrap(),
        cid = inv.headers.get("Call-ID").unwrap(),
    );
    ep.send(front, bye.as_bytes());
    let ok = ep.final_response(5.0, &mut carrier.pending);
    assert_eq!(ok.map(|r| r.status), Some(200), "the BYE was not answered");
}

/// Answer a callback's INVITE, talk 440 Hz for 8 s and return what came back (the
/// recording notice comes first: 4.75 s).
fn answer_and_talk(carrier: &Carrier, inv: &sip::Request, front: SocketAddr) -> Vec<i16> {
    let carrier = &carrier.sip;
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    answer_200_at(carrier, front, inv, rtp.local_addr().unwrap());
    let acked = (0..20).any(
        |_| matches!(carrier.recv(0.5), Some(sip::Message::Request(r)) if r.method == sip::Method::Ack),
    );
    assert!(acked, "the node did not ACK the citizen's answer");
    talk_and_listen(&rtp, sdp_port(&inv.body), 440.0, 400, 9)
}

#[test]
fn a_dead_nodes_waiting_callers_are_called_back_by_the_survivor_in_order() {
    let _one = one_cluster();
    let key: [u8; 32] = std::array::from_fn(|i| (rand_u64() >> (i % 8)) as u8);
    let shared = workdir("cluster-shared");
    // The carrier behind Kamailio: where the nodes' callbacks arrive.
    let mut carrier = Carrier {
        sip: RawSip::new(),
        pending: Vec::new(),
        seen: Default::default(),
    };
    let front = (free_port(), free_port());
    let front_carrier: SocketAddr = format!("127.0.0.1:{}", front.0).parse().unwrap();
    let a = node("cluster-wa", &key, front_carrier, |t| {
        in_cluster(t, "a", &shared)
    });
    let b = node("cluster-wb", &key, front_carrier, |t| {
        in_cluster(t, "b", &shared)
    });
    // By priority: every citizen's call goes to the first node while it lives.
    let k = Kamailio::start(
        "cluster-wkamailio",
        front,
        &[(a.trunk, a.sip), (b.trunk, b.sip)],
        carrier.sip.addr(),
        8,
    );
    let dir = workdir("cluster-wpeers");
    tone_wav(&dir.join("440.wav"), 440.0, 120.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 300.0);
    let op = operator(&dir, &k, "1001", &dir.join("1000.wav"));
    for sw in [&a, &b] {
        sw.wait_for("1001 registered and logged in", 20, |s| {
            s.registered("1001") && agent_available(s, "1001")
        });
        // On a break: the citizens wait in line.
        let (code, _) = sw.post("/api/v1/agents/1001/pause", "{}");
        assert_eq!(code, 200);
    }

    // Two citizens call, one after the other, and wait in line at node A.
    let mut callers = Vec::new();
    for (n, number) in ["0312345678", "0312345679"].iter().enumerate() {
        callers.push(Baresip::start(
            &dir,
            BaresipOpts {
                name: &format!("waiting{n}"),
                account: format!("<sip:{number}@127.0.0.1>;regint=0;audio_codecs=PCMU"),
                tone: &dir.join("440.wav"),
                commands: vec![format!("/dial sip:0246221111@{}", k.carrier)],
                quit_after: Some(120),
            },
        ));
        a.wait_for(&format!("caller {} waiting at node A", n + 1), 20, |s| {
            queue_field(s, "waiting") == n as u64 + 1
        });
    }
    assert_eq!(queue_field(&b, "waiting"), 0, "node B got a call");
    // Node A keeps them in the shared folder, in order.
    a.wait_for("node A's waiting callers in the shared folder", 5, |_| {
        std::fs::read_to_string(shared.join("a.json")).is_ok_and(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            let w = v["waiting"].as_array().cloned().unwrap_or_default();
            w.len() == 2 && w[0]["caller"] == "0312345678" && w[1]["caller"] == "0312345679"
        })
    });

    // Node A dies with both callers waiting; their calls die with it.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();

    // Node B sees A's file go silent, claims it and puts both in its line as callbacks.
    b.wait_for("the dead node's callers in node B's line", 20, |s| {
        queue_field(s, "callbacks") == 2
    });
    assert!(!shared.join("a.json").exists(), "node A's file not claimed");
    let (code, _) = b.post("/api/v1/agents/1001/unpause", "{}");
    assert_eq!(code, 200);

    // In their original order: the operator is rung, then the first caller is called
    // through Kamailio and the carrier; they hear each other.
    for (n, number) in ["0312345678", "0312345679"].iter().enumerate() {
        let inv = carrier.next_invite(&format!("callback {}", n + 1));
        assert_eq!(
            inv.uri.user().as_deref(),
            Some(*number),
            "callback {} out of order",
            n + 1
        );
        let heard = answer_and_talk(&carrier, &inv, k.carrier);
        let last = &heard[heard.len().saturating_sub(8000)..];
        assert!(
            media::tone::rms(last) > 3000.0,
            "callback {}: the citizen hears (almost) nothing ({} samples)",
            n + 1,
            heard.len()
        );
        assert_eq!(
            media::tone::dominant_frequency(last, 8000, &[440.0, 1000.0]),
            Some(1000.0),
            "callback {}: the citizen should hear the operator",
            n + 1
        );
        // The next callback follows at once (no after-call work).
        hang_up(&mut carrier, &inv, k.carrier);
    }
    b.wait_for("the callbacks to end", 10, |s| calls_active(s) == 0);
    // The operator's phone showed whom it called back, first to last.
    let log = op.log();
    let first = log.find("X-Madoguchi-Callback: 0312345678");
    let second = log.find("X-Madoguchi-Callback: 0312345679");
    assert!(
        matches!((first, second), (Some(f), Some(s)) if f < s),
        "the operator's phone was not rung for both callbacks in order:\n{}",
        tail(&log, 60)
    );
    let (f, loud) = dominant(&op.received_wavs()[0], &[440.0, 1000.0]);
    assert!(
        loud > 8000,
        "the operator heard too little ({loud} loud samples)"
    );
    assert_eq!(f, Some(440.0), "the operator should hear the first citizen");
    assert_eq!(queue_field(&b, "waiting"), 0, "callers left in line");
    drop(callers);
}

/// Each node knows only its own calls; Kamailio counts the phone's calls across nodes
/// (a dialog profile per phone), so a node offering a call to an operator talking on the
/// other node's call gets 486 at once, and offers it again once they are free.
#[test]
fn an_operator_talking_through_one_node_is_not_rung_by_the_other() {
    let _one = one_cluster();
    let key: [u8; 32] = std::array::from_fn(|i| (rand_u64() >> (i % 8)) as u8);
    let carrier_behind = RawSip::new();
    let front = (free_port(), free_port());
    let front_carrier: SocketAddr = format!("127.0.0.1:{}", front.0).parse().unwrap();
    let shared = workdir("cluster-bshared");
    let a = node("cluster-ba", &key, front_carrier, |t| {
        in_cluster(no_greeting(t), "a", &shared)
    });
    let b = node("cluster-bb", &key, front_carrier, |t| {
        in_cluster(no_greeting(t), "b", &shared)
    });
    let k = Kamailio::start(
        "cluster-bkamailio",
        front,
        &[(a.trunk, a.sip), (b.trunk, b.sip)],
        carrier_behind.addr(),
        4,
    );
    let dir = workdir("cluster-bpeers");
    tone_wav(&dir.join("440.wav"), 440.0, 60.0);
    tone_wav(&dir.join("1000.wav"), 1000.0, 300.0);
    let op = operator(&dir, &k, "1001", &dir.join("1000.wav"));
    for sw in [&a, &b] {
        sw.wait_for("1001 registered and logged in", 20, |s| {
            s.registered("1001") && agent_available(s, "1001")
        });
    }
    let nodes = [&a, &b];
    // The operator takes a first call through one node.
    let mut first = citizen(&dir, &k, "busy1", &dir.join("440.wav"), 10);
    let x = node_with_call(&nodes, &k, 15);
    let t0 = Instant::now();
    while op.received_wavs().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the operator did not answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second call goes to the other node (round-robin), which offers it to the same
    // operator: Kamailio answers that offer 486, the phone never rings twice.
    let mut second = citizen(&dir, &k, "busy2", &dir.join("440.wav"), 30);
    let y = 1 - x;
    nodes[y].wait_for("the second call at the other node", 15, |s| {
        calls_active(s) == 1
    });
    let t0 = Instant::now();
    while !k.log().contains("busy on another call: 486") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the other node's offer was not refused; Kamailio log:\n{}",
            tail(&k.log(), 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        op.received_wavs().len(),
        1,
        "the operator took a second call while talking"
    );
    assert!(first.wait_exit(20), "the first caller did not finish");
    nodes[x].wait_for("the first call to end", 10, |s| calls_active(s) == 0);
    // Free again: the other node offers the waiting call again and the operator takes it.
    assert!(second.wait_exit(60), "the second caller did not finish");
    nodes[y].wait_for("the second call to end", 10, |s| calls_active(s) == 0);
    assert_eq!(
        nodes[y].metric("madoguchi_calls_total", "outcome=\"answered\""),
        1.0,
        "the second call was answered by the operator"
    );
    assert_both_ways(&op, &second, 1, "the second call");
}
