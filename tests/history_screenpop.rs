//! The screen pop end to end: the switch rings a real baresip operator for a real
//! baresip caller; its event feed (`/api/v1/events`) reaches the history sidecar
//! (`madoguchi history --switch-api`), which pushes it to the operator's desk
//! (`/desk/events`, read here by curl as a browser's EventSource would); the record
//! made from the pop is found by the caller's number.

mod common;
#[path = "history_support.rs"]
mod history_support;

use common::{baresip_caller, baresip_operator, no_greeting, tone_wav, Switch};
use history_support::History;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringing_operator_gets_a_screen_pop_and_the_record_is_found() {
    let sw = Switch::start("screenpop", no_greeting);
    let history = History::start(&sw, "screenpop-history");
    let (addr, hist_log) = (history.addr, || history.log());
    // Log in to the desk as the generated administrator.
    let pw = history.admin_password();
    let cert = history.cert();
    let mut desk = faq::client::Client::new(addr, &cert).unwrap();
    let r = desk
        .post_form("/desk/login", &[("login", "admin"), ("password", &pw)])
        .await
        .unwrap();
    assert_eq!(r.status, 303);
    let cookie = desk.cookies.get("history_session").unwrap().clone();

    // The desk's event stream for operator 1001, read line by line.
    let mut curl = Command::new("curl")
        .args(["-sN", "--cacert"])
        .arg(&cert)
        .args(["-H", &format!("Cookie: history_session={cookie}")])
        .arg(format!(
            "https://localhost:{}/desk/events?agent=1001",
            addr.port()
        ))
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", addr.port()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let out = curl.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the desk stream opens");
    assert!(
        first.starts_with("retry:") || first.starts_with(':'),
        "{first}"
    );

    let wav = sw.dir.join("tone.wav");
    tone_wav(&wav, 440.0, 60.0);
    let _op = baresip_operator(&sw, "1001", &wav, 60);
    sw.wait_for("operator 1001 registered", 15, |s| s.registered("1001"));
    let rang_at = Instant::now();
    let _caller = baresip_caller(&sw, "citizen", "0246221111", &wav, 20, "PCMU");

    let data = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30).saturating_sub(rang_at.elapsed()))
            .unwrap_or_else(|_| {
                panic!(
                    "no screen pop; history log:\n{}\nswitch log tail:\n{}",
                    hist_log(),
                    sw.log()
                        .lines()
                        .rev()
                        .take(30)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
        if let Some(d) = line.strip_prefix("data: ") {
            break d.to_string();
        }
    };
    let ev: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(ev["agent"], "1001");
    assert_eq!(ev["dialled"], "0246221111");
    assert_eq!(ev["line"], "市代表");
    assert_eq!(ev["caller"], "0312345678");
    let call_id = ev["call"].as_str().unwrap().to_string();
    assert!(!call_id.is_empty());

    // The operator saves the record the pop prefilled; a search by the number finds it.
    let form = desk
        .get(&format!(
            "/desk/contacts/new?line=0246221111&caller=0312345678&call_id={call_id}"
        ))
        .await
        .unwrap()
        .text();
    let csrf = form
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(form.contains(r#"value="0312345678""#));
    let started = form
        .split(r#"id="started" name="started" type="datetime-local" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = desk
        .post_form(
            "/desk/contacts",
            &[
                ("csrf", &csrf),
                ("version", "0"),
                ("channel", "phone"),
                ("line", "0246221111"),
                ("started", &started),
                ("ended", ""),
                ("operator", "1001"),
                ("caller", "0312345678"),
                ("caller_name", ""),
                ("category", "税金"),
                ("summary", "固定資産税の納期限の確認"),
                ("faq_ids", ""),
                ("outcome", "answered"),
                ("department", ""),
                ("call_id", &call_id),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    let found = desk
        .get("/api/v1/contacts?caller=0312345678")
        .await
        .unwrap()
        .json();
    assert_eq!(found["total"], 1);
    assert_eq!(found["contacts"][0]["call_id"], call_id);
    assert_eq!(found["contacts"][0]["summary"], "固定資産税の納期限の確認");

    let _ = curl.kill();
    let _ = curl.wait();
    history.stop();
}
