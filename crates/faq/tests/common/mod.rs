//! One running service per test binary (started on 127.0.0.1 with an ephemeral port, on
//! its own runtime thread so it outlives each test's runtime), and helpers to drive it.
#![allow(dead_code)]

use faq::app::App;
pub use faq::client::{form_encode, Client, Resp};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub const ADMIN: &str = "admin";
pub const ADMIN_PW: &str = "admin-password-1";

pub struct Server {
    pub addr: SocketAddr,
    pub cert: PathBuf,
    pub data_dir: PathBuf,
    pub app: Arc<App>,
}

pub fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "faq-test-{tag}-{}-{}",
        std::process::id(),
        faq::auth::random_hex(4)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The day the tests live on: the fixtures' publish windows are judged against it, not
/// against the real date (FAQ-0011 etc. open on 2027-04-01).
pub const TODAY: &str = "2026-06-01";

pub fn test_clock() -> faq::clock::Clock {
    faq::clock::Clock::starting_on_jst(TODAY).expect("a date")
}

pub fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let data_dir = fresh_dir("http");
        let (tx, rx) = std::sync::mpsc::channel();
        let dir = data_dir.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let cfg = faq::FaqConfig {
                    data_dir: dir,
                    listen: "127.0.0.1:0".parse().unwrap(),
                    admin_password: Some(ADMIN_PW.into()),
                    clock: test_clock(),
                    // The tests' client stands in for the city's reverse proxy.
                    trusted_proxies: vec!["127.0.0.1".into()],
                    ..faq::FaqConfig::default()
                };
                let running = faq::start(cfg).await.expect("service starts");
                tx.send((running.addr, running.cert_path.clone(), running.app.clone()))
                    .unwrap();
                // Serve until the test process exits.
                let _ = running.wait().await;
            });
        });
        let (addr, cert, app) = rx.recv().expect("service started");
        Server {
            addr,
            cert,
            data_dir,
            app,
        }
    })
}

pub fn client() -> Client {
    let s = server();
    Client::new(s.addr, &s.cert).expect("client")
}

/// The value of the first `name="csrf"` hidden field in a page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has a csrf field");
    page[start..].split('"').next().unwrap().to_string()
}

/// Signs in and returns the session's CSRF token.
pub async fn login(c: &mut Client, user: &str, pw: &str) -> String {
    let r = try_login(c, user, pw).await;
    assert_eq!(r.status, 303, "login of {user} failed: {}", r.text());
    let page = c.get("/admin").await.unwrap();
    assert_eq!(page.status, 200);
    csrf_of(&page.text())
}

pub async fn try_login(c: &mut Client, user: &str, pw: &str) -> Resp {
    let form = c.get("/admin/login").await.unwrap();
    let token = csrf_of(&form.text());
    c.post_form(
        "/admin/login",
        &[("csrf", &token), ("login", user), ("password", pw)],
    )
    .await
    .unwrap()
}

/// Creates a staff account through the admin UI.
pub async fn create_user(login: &str, role: &str, pw: &str) {
    let mut c = client();
    let csrf = self::login(&mut c, ADMIN, ADMIN_PW).await;
    let r = c
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("login", login),
                ("name", login),
                ("role", role),
                ("password", pw),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
}

/// The form fields of an entry as the edit form posts them.
pub fn entry_fields(e: &faq::model::Entry) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("category", e.category.clone()),
        ("question", e.question.clone()),
        ("answer", e.answer.clone()),
        ("related_faq", e.related_faq.clone()),
        ("related_url", e.related_url.clone()),
        ("department", e.department.clone()),
        ("publish_start", e.publish_start.clone()),
        ("publish_end", e.publish_end.clone()),
    ];
    if e.public {
        v.push(("public", "1".into()));
    }
    v
}

pub fn with_csrf<'a>(
    csrf: &'a str,
    fields: &'a [(&'static str, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = vec![("csrf", csrf)];
    v.extend(fields.iter().map(|(k, val)| (*k, val.as_str())));
    v
}

/// Polls `check` (which reads what the background access-log writer has written) until it
/// holds, for at most ~10 s; the writer batches, so the state lags the requests a little.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

pub fn q(s: &str) -> String {
    form_encode(&[("q", s)])
}
