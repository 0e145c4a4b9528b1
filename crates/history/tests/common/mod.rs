#![allow(dead_code)]
//! Starts the history service on a free loopback port in a private folder, and logs in
//! over its real HTTPS listener with the FAQ crate's test client.

use faq::client::Client;
use history::{HistoryConfig, RunningHistory};
use std::path::PathBuf;

pub mod dovecot;
pub mod pgcluster;

/// A loopback TCP port free at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub mod postfix;

pub const ADMIN_PW: &str = "correct-horse-battery";

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "history-test-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn config(dir: &std::path::Path) -> HistoryConfig {
    HistoryConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_password: Some(ADMIN_PW.into()),
        ..Default::default()
    }
}

pub async fn start(tag: &str) -> (RunningHistory, PathBuf) {
    let dir = temp_dir(tag);
    let running = history::start(config(&dir)).await.expect("history starts");
    (running, dir)
}

pub fn client(h: &RunningHistory) -> Client {
    Client::new(h.addr, &h.cert_path).unwrap()
}

/// A client signed in as the bootstrap administrator, and its CSRF token.
pub async fn admin(h: &RunningHistory) -> (Client, String) {
    let mut c = client(h);
    let r = c
        .post_form("/desk/login", &[("login", "admin"), ("password", ADMIN_PW)])
        .await
        .unwrap();
    assert_eq!(r.status, 303, "login: {}", r.text());
    let page = c.get("/desk/contacts/new").await.unwrap();
    assert_eq!(page.status, 200);
    let csrf = between(&page.text(), r#"name="csrf" value=""#, "\"").to_string();
    assert_eq!(csrf.len(), 64);
    (c, csrf)
}

/// The operator answers inquiry `id` by mail from the desk (its form, with its CSRF
/// token); the desk redirects back to the inquiry.
pub async fn answer_inquiry(staff: &mut Client, id: i64, category: &str, text: &str) {
    let path = format!("/desk/inquiries/{id}");
    let page = staff.get(&path).await.unwrap().text();
    let csrf = between(&page, r#"name="csrf" value=""#, "\"").to_string();
    let r = staff
        .post_form(
            &path,
            &[("csrf", &csrf), ("category", category), ("reply", text)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
}

pub fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let start = s.find(a).map(|i| i + a.len()).unwrap_or(s.len());
    let end = s[start..].find(b).map(|i| start + i).unwrap_or(s.len());
    &s[start..end]
}
