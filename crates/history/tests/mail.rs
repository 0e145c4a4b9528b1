//! The citizens' inquiry form and its acknowledgement mail through a real Postfix on
//! loopback (delivered messages read from its Maildir), the spam protection, and a
//! relay that is down: the mail waits in the outbox, visible on the desk, survives a
//! restart of the service, and is delivered once the relay is up.

mod common;

use common::free_port;

use common::postfix::{decode, Postfix};
use common::{admin, between, client};
use faq::client::Client;
use std::time::Duration;

async fn start_with_smtp(dir: &std::path::Path, port: u16) -> history::RunningHistory {
    let mut cfg = common::config(dir);
    cfg.smtp.port = port;
    cfg.smtp.retry_base_secs = 1;
    history::start(cfg).await.expect("history starts")
}

async fn post_json(c: &mut Client, body: &str) -> faq::client::Resp {
    c.request(
        "POST",
        "/api/v1/inquiries",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await
    .unwrap()
}

// Multi-threaded: the service's mail task runs while the test waits on the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_confirm_send_and_acknowledgement_via_postfix() {
    let dir = common::temp_dir("mail");
    let pf = Postfix::configure(free_port());
    pf.start();
    let h = start_with_smtp(&dir, pf.port).await;
    let mut c = client(&h);
    let page = c.get("/inquiry").await.unwrap();
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("width=device-width"), "usable on phones");
    let t = between(&page, r#"name="t" value=""#, "\"").to_string();
    let fields = |t: &str| {
        vec![
            ("name".to_string(), "いわき 太郎".to_string()),
            ("email".to_string(), "taro@example.jp".to_string()),
            ("subject".to_string(), "粗大ごみ<b>の出し方".to_string()),
            (
                "body".to_string(),
                "ソファーを捨てたいです。\n収集日を教えてください。".to_string(),
            ),
            ("website".to_string(), String::new()),
            ("t".to_string(), t.to_string()),
        ]
    };
    let owned = fields(&t);
    let f: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    // The confirmation page shows what was typed, escaped, and stores nothing yet.
    let r = c.post_form("/inquiry/confirm", &f).await.unwrap();
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("入力内容の確認") && text.contains("粗大ごみ&lt;b&gt;の出し方"));
    assert!(!text.contains("<b>の出し方"));
    // Sent at once (a bot's speed): refused, nothing stored.
    let r = c.post_form("/inquiry/send", &f).await.unwrap();
    assert_eq!(r.status, 422);
    assert!(r.text().contains("少し待ってから"));
    // A person takes a few seconds.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let r = c.post_form("/inquiry/send", &f).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let number = between(&r.text(), r#"<strong id="receipt">"#, "<").to_string();
    assert_eq!(number, "W-000001");

    // Delivered by Postfix into the mailbox, readable as Japanese.
    let files = pf.wait_delivered(1, 30);
    let (to, subject, body) = decode(&files[0]);
    assert_eq!(to, "taro@example.jp");
    assert!(
        subject.contains("お問い合わせを受け付けました") && subject.contains("W-000001"),
        "{subject}"
    );
    assert!(
        body.contains("いわき 太郎 様") && body.contains("W-000001"),
        "{body}"
    );
    // The sender's own text is not echoed (the form cannot mail arbitrary content).
    assert!(!body.contains("ソファー") && !subject.contains("粗大ごみ"));

    // The desk sees the inquiry and that its acknowledgement went out.
    let (mut staff, _) = admin(&h).await;
    let mut seen = String::new();
    for _ in 0..50 {
        seen = staff.get("/desk/inquiries").await.unwrap().text();
        if seen.contains("送信済み") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.contains("W-000001")
            && seen.contains("粗大ごみ&lt;b&gt;の出し方")
            && seen.contains("送信済み"),
        "{seen}"
    );
    assert_eq!(pf.delivered().len(), 1, "exactly one acknowledgement");

    // The operator answers by mail from the desk; the answer is delivered, the inquiry
    // is marked answered, and the answer is a contact record of the web channel.
    common::answer_inquiry(
        &mut staff,
        1,
        "ごみ・環境",
        "粗大ごみは毎週水曜日の収集です。\r\n事前に申し込みをお願いします。",
    )
    .await;
    let files = pf.wait_delivered(2, 30);
    let (to, subject, body) = decode(&files[1]);
    assert_eq!(to, "taro@example.jp");
    assert!(
        subject.contains("回答") && subject.contains("W-000001"),
        "{subject}"
    );
    assert!(
        body.contains("毎週水曜日の収集です") && body.contains("いわき 太郎 様"),
        "{body}"
    );
    assert!(staff
        .get("/desk/inquiries/1")
        .await
        .unwrap()
        .text()
        .contains("回答済み"));
    let j = staff
        .get("/api/v1/contacts?channel=web")
        .await
        .unwrap()
        .json();
    assert_eq!(j["total"], 1);
    assert_eq!(j["contacts"][0]["caller"], "taro@example.jp");
    assert_eq!(j["contacts"][0]["category"], "ごみ・環境");
    // Answered once: a second answer is refused.
    let page = staff.get("/desk/inquiries/1").await.unwrap().text();
    let csrf = between(&page, r#"name="csrf" value=""#, "\"").to_string();
    let again = staff
        .post_form(
            "/desk/inquiries/1",
            &[("csrf", &csrf), ("category", ""), ("reply", "x")],
        )
        .await
        .unwrap();
    assert_eq!(again.status, 400);
    h.shutdown().await;
}

// Multi-threaded: the service's mail task runs while the test waits on the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_protection_without_third_parties() {
    let dir = common::temp_dir("spam");
    // No relay at all: these tests only look at what is stored.
    let h = start_with_smtp(&dir, free_port()).await;
    let mut c = client(&h);
    let page = c.get("/inquiry").await.unwrap().text();
    let t = between(&page, r#"name="t" value=""#, "\"").to_string();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // The honeypot filled: the bot is thanked, nothing is stored or mailed.
    let bot = [
        ("name", "bot"),
        ("email", "bot@example.jp"),
        ("subject", "buy"),
        ("body", "spam"),
        ("website", "http://spam.example"),
        ("t", t.as_str()),
    ];
    let r = c.post_form("/inquiry/send", &bot).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("受け付けました"));
    // A forged time token is refused.
    let mut forged = bot;
    forged[4] = ("website", "");
    forged[5] = ("t", "1.00ff");
    assert_eq!(
        c.post_form("/inquiry/send", &forged).await.unwrap().status,
        422
    );
    // Bad input gets answers, in Japanese, not a panic.
    let r = post_json(
        &mut c,
        r#"{"name":"","email":"not-an-address","subject":"s","body":"b"}"#,
    )
    .await;
    assert_eq!(r.status, 422);
    let errs = r.json()["errors"].as_array().unwrap().len();
    assert_eq!(errs, 2, "{}", r.text());
    assert_eq!(post_json(&mut c, "{not json").await.status, 400);
    // The rate limit: three at once pass, the fourth is told to wait.
    let ok =
        r#"{"name":"花子","email":"hanako@example.jp","subject":"質問","body":"開庁時間は？"}"#;
    for _ in 0..3 {
        assert_eq!(post_json(&mut c, ok).await.status, 201);
    }
    let r = post_json(&mut c, ok).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let stored = h.app.db.inquiries(100).unwrap();
    assert_eq!(stored.len(), 3, "only the three accepted ones");
    assert!(stored.iter().all(|i| i.input.name == "花子"));
    h.shutdown().await;
}

// Multi-threaded: the service's mail task runs while the test waits on the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_while_the_relay_is_down_and_survives_a_restart() {
    let dir = common::temp_dir("relay-down");
    let port = free_port();
    let pf = Postfix::configure(port);
    let h = start_with_smtp(&dir, port).await;
    let mut c = client(&h);
    let r = post_json(
        &mut c,
        r#"{"name":"次郎","email":"jiro@example.jp","subject":"道路","body":"穴があります"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["receipt"], "W-000001");
    // The desk shows it waiting, with the reason, after a failed attempt.
    let (mut staff, _) = admin(&h).await;
    let mut page = String::new();
    for _ in 0..100 {
        page = staff.get("/desk/mail").await.unwrap().text();
        if page.contains("送信待ち 1件")
            && !between(&page, "<td>送信待ち</td><td>", "<").starts_with('0')
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page.contains("送信待ち 1件"), "{page}");
    assert!(
        page.to_lowercase().contains("connect") || page.contains("refused"),
        "the reason is shown: {page}"
    );
    // Restarted while the relay is still down: the queued mail is still there.
    h.shutdown().await;
    let h = start_with_smtp(&dir, port).await;
    assert_eq!(h.app.db.due_mail(i64::MAX, 10).unwrap().len(), 1);
    // The relay comes up: the retry delivers it, once.
    pf.start();
    let files = pf.wait_delivered(1, 60);
    let (to, subject, _) = decode(&files[0]);
    assert_eq!(to, "jiro@example.jp");
    assert!(subject.contains("W-000001"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pf.delivered().len(), 1);
    assert!(h.app.db.due_mail(i64::MAX, 10).unwrap().is_empty());
    h.shutdown().await;
}
