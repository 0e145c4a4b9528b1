//! `madoguchi serve` starts the contact-history sidecar as its own child process: it
//! serves the desk over HTTPS, and it ends with the switch — on SIGTERM, and also when
//! the switch is killed outright (its stdin closes).

mod common;

use common::{default_toml, free_port, port_block, repo_root, workdir};
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn spawn(dir: &std::path::Path, history: SocketAddr) -> (Child, SocketAddr) {
    spawn_with(dir, history, &[])
}

fn spawn_with(dir: &std::path::Path, history: SocketAddr, extra: &[&str]) -> (Child, SocketAddr) {
    let rtp0 = port_block(20);
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let text = default_toml()
        .replace(
            "\"127.0.0.1:5060\"",
            &format!("\"127.0.0.1:{}\"", free_port()),
        )
        .replace(
            "\"127.0.0.1:5080\"",
            &format!("\"127.0.0.1:{}\"", free_port()),
        )
        .replace(
            "\"127.0.0.1:5082\"",
            &format!("\"127.0.0.1:{}\"", free_port()),
        )
        .replace("\"127.0.0.1:8080\"", &format!("\"{http}\""))
        // Two of these switches may run at once: the TLS listener's fixed port too.
        .replace(
            "tls_listen = [\"127.0.0.1:5061\"]",
            "tls_listen = [\"127.0.0.1:0\"]",
        )
        // Hours of this center differ from the default: the homepage must follow.
        .replace(
            "weekday = [\"08:30\", \"19:00\"]",
            "weekday = [\"09:00\", \"18:30\"]",
        )
        .replace("[20000, 29999]", &format!("[{}, {}]", rtp0, rtp0 + 19))
        .replace(
            "data_dir = \"data\"",
            &format!("data_dir = \"{}\"", dir.join("data").display()),
        )
        .replace(
            "recordings_dir = \"recordings\"",
            &format!("recordings_dir = \"{}\"", dir.join("recordings").display()),
        )
        .replace(
            "prompts_dir = \"prompts/ja\"",
            &format!(
                "prompts_dir = \"{}\"",
                repo_root().join("prompts/ja").display()
            ),
        );
    let config = dir.join("madoguchi.toml");
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.join("madoguchi.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "serve",
            "--no-faq",
            "--history-listen",
            &history.to_string(),
            "--config",
        ])
        .arg(&config)
        .args(extra)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    (child, http)
}

/// The switch answers its status (so its signal handling is in place).
fn wait_switch(http: SocketAddr) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if common::http_get(http, "/api/v1/status").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the switch did not come up");
}

/// The desk's login page over HTTPS, trusting the sidecar's generated certificate.
async fn login_page(addr: SocketAddr, cert: &std::path::Path) -> Option<u16> {
    let mut c = faq::client::Client::new(addr, cert).ok()?;
    c.get("/desk/login").await.ok().map(|r| r.status)
}

async fn wait_up(addr: SocketAddr, cert: &std::path::Path, log: &std::path::Path) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if cert.exists() && login_page(addr, cert).await == Some(200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the history sidecar did not come up: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn wait_down(addr: SocketAddr) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(15) {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The processes whose parent is `pid`, with their command lines.
fn children(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // Field 4 (after the parenthesised name) is the parent pid.
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            out.push((p, String::from_utf8_lossy(&cmd).replace('\0', " ")));
        }
    }
    out
}

#[tokio::test]
async fn serve_runs_history_as_a_child_process_that_ends_with_it() {
    let dir = workdir("history-sidecar");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cert = dir.join("data/history/tls/cert.pem");
    let (mut sw, _) = spawn(&dir, addr);
    wait_up(addr, &cert, &dir.join("madoguchi.log")).await;
    // The homepage shows the hours the switch routes by.
    let mut c = faq::client::Client::new(addr, &cert).unwrap();
    let home = c.get("/").await.unwrap().text();
    assert!(home.contains("平日 09:00〜18:30"), "{home}");
    assert!(home.contains("土曜・日曜・祝日 08:30〜17:00") && home.contains("12月29日"));
    assert!(home.contains(r#"href="/inquiry""#) && home.contains("よくある質問"));
    let kids = children(sw.id());
    assert!(
        kids.iter()
            .any(|(_, cmd)| cmd.contains(" history ") && cmd.contains(&addr.to_string())),
        "no history child process of the switch: {kids:?}"
    );
    // Its admin password was generated, owner-only.
    let pw = dir.join("data/history/admin-password.txt");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pw).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Killed outright, the switch cannot stop it: the closed stdin does.
    sw.kill().unwrap();
    sw.wait().unwrap();
    assert!(
        wait_down(addr).await,
        "the sidecar outlived a killed switch"
    );

    // Started again on the same data, and stopped politely.
    let (mut sw, http) = spawn(&dir, addr);
    wait_up(addr, &cert, &dir.join("madoguchi.log")).await;
    wait_switch(http);
    let pid = sw.id() as i32;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = sw.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(wait_down(addr).await);
    assert!(children(pid as u32).is_empty());
}

/// `serve --history-database` hands the database to the sidecar it starts. This build has
/// no PostgreSQL support, so the sidecar refuses it with what to do (and makes no SQLite
/// file instead), while the switch itself keeps answering.
#[tokio::test]
async fn serve_passes_the_history_database_to_its_sidecar() {
    let dir = workdir("history-sidecar-db");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let params = "host=/run/postgresql dbname=madoguchi user=madoguchi";
    let (mut sw, http) = spawn_with(&dir, addr, &["--history-database", params]);
    wait_switch(http);
    let log = dir.join("madoguchi.log");
    let t0 = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("--features postgres") {
            break text;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the sidecar never refused the database: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains("--database"), "{text}");
    assert!(!dir.join("data/history/history.sqlite3").exists());
    assert!(
        common::http_get(http, "/api/v1/status").is_some(),
        "the switch went down"
    );
    sw.kill().unwrap();
    sw.wait().unwrap();
}
