//! SIP presence for operators' busy-lamp keys (RFC 6665, RFC 3856, RFC 4235): a real
//! softphone (PJSIP's buddy subscription) watches a colleague go busy and idle again as
//! a real call (baresip caller, baresip operator) comes and goes, and is told of a
//! pause; our raw client checks the dialog package and the refusals.

mod common;
use common::*;
use serde_json::Value;
use sip::SipHeaders;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Watcher {
    child: Child,
    events: PathBuf,
    log: PathBuf,
}

impl Watcher {
    fn start(sw: &Switch, user: &str, buddies: &[String], secs: u32) -> Watcher {
        let dir = sw.dir.join(format!("watcher{user}"));
        std::fs::create_dir_all(&dir).unwrap();
        let python = repo_root().join(".venv-sip/bin/python");
        assert!(
            python.exists(),
            "{} missing: run scripts/test.sh (it creates the venv with pjsua2-python)",
            python.display()
        );
        let events = dir.join("events.jsonl");
        let log = dir.join("pjsua.log");
        let mut cmd = Command::new(python);
        cmd.arg(repo_root().join("tests/agents/pjsua_watcher.py"))
            .args(["--user", user, "--password", &format!("madoguchi-{user}")])
            .args(["--registrar", &format!("sip:{}", sw.sip)])
            .args(["--sip-port", "0"])
            .args(["--exit-after", &secs.to_string()]);
        for b in buddies {
            cmd.args(["--buddy", b]);
        }
        let child = cmd
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&events).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the pjsua2 watcher");
        Watcher { child, events, log }
    }

    fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The last state reported for the buddy whose URI starts with `sip:<user>@`.
    fn last(&self, user: &str) -> Option<Value> {
        self.events().into_iter().rev().find(|e| {
            e["event"] == "buddy"
                && e["uri"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(&format!("sip:{user}@")))
        })
    }

    /// Waits (bounded) until the buddy's last reported state satisfies `ok`.
    fn wait(&self, what: &str, user: &str, secs: u64, ok: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if let Some(e) = self.last(user).filter(|e| ok(e)) {
                return e;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "the watcher never saw {what}; its events:\n{}\npjsua log tail:\n{}",
            std::fs::read_to_string(&self.events).unwrap_or_default(),
            tail(&log, 80)
        );
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idle(e: &Value) -> bool {
    e["status"] == "ONLINE" && e["activity"] == "UNKNOWN" && e["note"] == "受付可"
}

#[test]
fn a_softphone_sees_a_colleague_go_busy_on_a_call_and_idle_again() {
    // Only 1002 takes queue calls; 1001 is the colleague watching. No wrap-up, so 1002 is
    // free again as soon as the call ends; no greeting, so the call rings 1002 at once.
    let sw = Switch::start("presence-blf", |t| {
        no_greeting(t)
            .replace(
                "agents = [\"1001\", \"1002\", \"1003\", \"1004\"]",
                "agents = [\"1002\"]",
            )
            .replace("wrapup_secs = 30", "wrapup_secs = 0")
    });
    let tone = sw.dir.join("440.wav");
    tone_wav(&tone, 440.0, 40.0);
    let host = sw.sip;
    let w = Watcher::start(
        &sw,
        "1001",
        &[format!("sip:1002@{host}"), format!("sip:general@{host}")],
        90,
    );
    // 1002 has not registered: logged out, which PIDF says as "closed".
    let e = w.wait("1002 offline", "1002", 20, |e| e["status"] == "OFFLINE");
    assert_eq!(e["note"], "ログアウト", "{e}");
    let q = w.wait("the queue line", "general", 10, |e| e["status"] == "ONLINE");
    assert_eq!(q["note"], "待ち呼なし", "{q}");

    let mut op = baresip_operator(&sw, "1002", &tone, 60);
    sw.wait_for("1002 to register", 15, |s| s.registered("1002"));
    w.wait("1002 idle after registering", "1002", 10, idle);

    let mut caller = baresip_caller(&sw, "caller", "0246221111", &tone, 8, "PCMU");
    let busy = w.wait("1002 on the phone", "1002", 15, |e| {
        e["status"] == "ONLINE" && e["activity"] == "BUSY" && e["note"] == "通話中"
    });
    assert_eq!(busy["sub"], "ACTIVE", "{busy}");
    // While it rang, the queue's key showed the caller waiting.
    assert!(
        w.events().iter().any(|e| e["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("sip:general@"))
            && e["activity"] == "BUSY"
            && e["note"] == "待ち呼 1 件"),
        "the queue line never showed the waiting caller"
    );
    assert!(caller.wait_exit(30), "the caller did not hang up");
    w.wait("1002 idle after the call", "1002", 15, idle);

    // A pause shows as "away" with its reason.
    let (code, body) = sw.post(
        "/api/v1/agents/1002/pause",
        r#"{"reason": "研修", "who": "test"}"#,
    );
    assert_eq!(code, 200, "{body}");
    w.wait("1002 away", "1002", 10, |e| {
        e["activity"] == "AWAY" && e["note"] == "離席中（研修）"
    });
    let _ = op.child.kill();
    let _ = op.wait_exit(5);
}

/// SUBSCRIBE from our raw client, answered with digest: the final response and the
/// NOTIFYs received meanwhile.
fn subscribe(
    c: &RawSip,
    sw: &Switch,
    user: &str,
    target: &str,
    call_id: &str,
    extra: &str,
) -> (sip::Response, Vec<sip::Request>) {
    let uri = format!("sip:{target}@{}", sw.sip);
    let mut notifies = Vec::new();
    c.send(
        sw.sip,
        &c.request("SUBSCRIBE", &uri, user, call_id, 1, extra, ""),
    );
    let chal = c.final_response(3.0, &mut notifies).expect("an answer");
    if chal.status != 401 {
        return (chal, notifies);
    }
    let www = chal.headers.get("WWW-Authenticate").unwrap();
    let auth = sip::auth::client_authorization(
        www,
        "SUBSCRIBE",
        &uri,
        user,
        &format!("madoguchi-{user}"),
        "0a4f113b",
        1,
    )
    .unwrap();
    c.send(
        sw.sip,
        &c.request(
            "SUBSCRIBE",
            &uri,
            user,
            call_id,
            2,
            &format!("{extra}Authorization: {auth}\r\n"),
            "",
        ),
    );
    let resp = c.final_response(3.0, &mut notifies).expect("an answer");
    (resp, notifies)
}

fn next_notify(c: &RawSip, got: &mut Vec<sip::Request>) -> sip::Request {
    if !got.is_empty() {
        return got.remove(0);
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if let Some(sip::Message::Request(r)) = c.recv(0.5) {
            if r.method == sip::Method::Notify {
                return r;
            }
        }
    }
    panic!("no NOTIFY");
}

fn ok_notify(c: &RawSip, to: std::net::SocketAddr, n: &sip::Request) {
    c.send(to, &sip::Response::to_request(n, 200, None).to_bytes());
}

#[test]
fn dialog_package_and_refusals() {
    let sw = Switch::start("presence-raw", |t| t);
    let c = RawSip::new();
    let dialog = "Event: dialog\r\nAccept: application/dialog-info+xml\r\nExpires: 600\r\n";

    // The dialog package: 200 with our tag and Expires, then a full dialog-info NOTIFY.
    let (resp, mut got) = subscribe(&c, &sw, "1001", "1002", "sub-dlg", dialog);
    assert_eq!(resp.status, 200);
    assert!(resp.to_tag().is_some());
    assert_eq!(resp.headers.get("Expires"), Some("600"));
    let n = next_notify(&c, &mut got);
    ok_notify(&c, sw.sip, &n);
    assert_eq!(n.headers.get("Event"), Some("dialog"));
    assert!(
        n.headers
            .get("Subscription-State")
            .is_some_and(|s| s.starts_with("active;expires=")),
        "{:?}",
        n.headers.get("Subscription-State")
    );
    assert_eq!(
        n.to_tag(),
        resp.from_tag(),
        "NOTIFY goes to the subscriber's tag"
    );
    assert_eq!(n.from_tag(), resp.to_tag());
    let body = String::from_utf8_lossy(&n.body);
    assert!(
        body.contains("state=\"full\"") && body.contains("version=\"0\""),
        "{body}"
    );
    assert!(!body.contains("<dialog "), "1002 is not on a call: {body}");

    // Unsubscribe (Expires: 0 in the dialog): 200, then a final NOTIFY "terminated".
    let uri = format!("sip:1002@{}", sw.sip);
    let www_retry = {
        c.send(
            sw.sip,
            &in_dialog(
                &c,
                &uri,
                &resp,
                "sub-dlg",
                3,
                "Event: dialog\r\nExpires: 0\r\n",
            ),
        );
        c.final_response(3.0, &mut got).expect("an answer")
    };
    let (status, last) = if www_retry.status == 401 {
        let www = www_retry.headers.get("WWW-Authenticate").unwrap();
        let auth = sip::auth::client_authorization(
            www,
            "SUBSCRIBE",
            &uri,
            "1001",
            "madoguchi-1001",
            "0a4f113b",
            1,
        )
        .unwrap();
        c.send(
            sw.sip,
            &in_dialog(
                &c,
                &uri,
                &resp,
                "sub-dlg",
                4,
                &format!("Event: dialog\r\nExpires: 0\r\nAuthorization: {auth}\r\n"),
            ),
        );
        let r = c.final_response(3.0, &mut got).expect("an answer");
        (r.status, next_notify(&c, &mut got))
    } else {
        (www_retry.status, next_notify(&c, &mut got))
    };
    assert_eq!(status, 200);
    ok_notify(&c, sw.sip, &last);
    assert!(
        last.headers
            .get("Subscription-State")
            .is_some_and(|s| s.starts_with("terminated")),
        "{:?}",
        last.headers.get("Subscription-State")
    );

    // Refusals: an unknown package (489 naming ours), an unknown resource (404), a body
    // type the phone cannot read (406), a too short interval (423 + Min-Expires).
    let (r, _) = subscribe(
        &c,
        &sw,
        "1001",
        "1002",
        "sub-bad1",
        "Event: message-summary\r\n",
    );
    assert_eq!(r.status, 489);
    assert!(r
        .headers
        .get("Allow-Events")
        .is_some_and(|v| v.contains("presence")));
    let (r, _) = subscribe(&c, &sw, "1001", "9999", "sub-bad2", "Event: presence\r\n");
    assert_eq!(r.status, 404);
    let (r, _) = subscribe(
        &c,
        &sw,
        "1001",
        "1002",
        "sub-bad3",
        "Event: presence\r\nAccept: text/plain\r\n",
    );
    assert_eq!(r.status, 406);
    let (r, _) = subscribe(
        &c,
        &sw,
        "1001",
        "1002",
        "sub-bad4",
        "Event: presence\r\nExpires: 5\r\n",
    );
    assert_eq!(r.status, 423);
    assert_eq!(r.headers.get("Min-Expires"), Some("60"));
    // A wrong password is refused like a REGISTER with one.
    let uri = format!("sip:1002@{}", sw.sip);
    c.send(
        sw.sip,
        &c.request(
            "SUBSCRIBE",
            &uri,
            "1001",
            "sub-bad5",
            1,
            "Event: presence\r\n",
            "",
        ),
    );
    let chal = c.final_response(3.0, &mut Vec::new()).unwrap();
    assert_eq!(chal.status, 401);
    let auth = sip::auth::client_authorization(
        chal.headers.get("WWW-Authenticate").unwrap(),
        "SUBSCRIBE",
        &uri,
        "1001",
        "wrong",
        "0a4f113b",
        1,
    )
    .unwrap();
    c.send(
        sw.sip,
        &c.request(
            "SUBSCRIBE",
            &uri,
            "1001",
            "sub-bad5",
            2,
            &format!("Event: presence\r\nAuthorization: {auth}\r\n"),
            "",
        ),
    );
    assert_eq!(c.final_response(3.0, &mut Vec::new()).unwrap().status, 403);
}

/// A SUBSCRIBE inside the subscription's dialog (our From tag, the switch's To tag).
fn in_dialog(
    c: &RawSip,
    uri: &str,
    ok: &sip::Response,
    call_id: &str,
    cseq: u32,
    extra: &str,
) -> Vec<u8> {
    let branch = format!("z9hG4bK{:x}", rand_u64());
    format!(
        "SUBSCRIBE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag={ft}\r\nTo: <{uri}>;tag={tt}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:1001@{me}>\r\n{extra}\
         Content-Length: 0\r\n\r\n",
        me = c.addr(),
        ft = ok.from_tag().unwrap(),
        tt = ok.to_tag().unwrap(),
    )
    .into_bytes()
}
