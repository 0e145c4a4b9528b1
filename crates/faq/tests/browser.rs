//! Runs the headless-Chromium browser test (tests/faq-browser/run.mjs) against a freshly
//! started service. Missing node, chromium or playwright-core is a failure, not a skip:
//! `.ci/faq-deps.sh` installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_PW: &str = "browser-admin-pw-1";
/// The service's calendar is pinned (FAQ-0011 opens on 2027-04-01; the real date must not
/// decide whether this test passes).
const TODAY: &str = "2026-06-01";
/// Not the defaults, so the page shows what was configured.
const PHONE: &str = "0246-99-0001";
const HOURS: &str = "平日 9:00〜16:00（試験用）";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

fn require_tools(root: &Path) {
    let mut missing = Vec::new();
    if Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        missing.push("node");
    }
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("/usr/bin/chromium");
    }
    if !root
        .join("tests/faq-browser/node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push("tests/faq-browser/node_modules/playwright-core");
    }
    assert!(
        missing.is_empty(),
        "browser test cannot run, missing: {}. Install them with `.ci/faq-deps.sh` (as root), then rerun `cargo test -p faq`.",
        missing.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_edit_publish_find_on_phone_and_rate() {
    let root = repo_root();
    require_tools(&root);
    let data_dir = std::env::temp_dir().join(format!(
        "faq-browser-{}-{}",
        std::process::id(),
        faq::auth::random_hex(4)
    ));
    let cfg = faq::FaqConfig {
        data_dir: data_dir.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_password: Some(ADMIN_PW.into()),
        clock: faq::clock::Clock::starting_on_jst(TODAY).unwrap(),
        site: faq::web::html::SiteInfo {
            hours: HOURS.into(),
            phone: PHONE.into(),
        },
        ..faq::FaqConfig::default()
    };
    let running = faq::start(cfg).await.expect("service starts");
    assert!(!running
        .app
        .index()
        .is_visible("FAQ-0011", faq::search::Visibility::PublicOn(TODAY)));
    let artifacts = root.join("tests/artifacts/faq-browser");
    let url = format!("https://127.0.0.1:{}", running.addr.port());
    let root2 = root.clone();
    let artifacts2 = artifacts.clone();
    let (status, out, err) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg("tests/faq-browser/run.mjs")
            .current_dir(&root2)
            .env("FAQ_URL", &url)
            .env("FAQ_USER", "admin")
            .env("FAQ_PASSWORD", ADMIN_PW)
            .env("FAQ_ARTIFACTS", &artifacts2)
            .env("FAQ_TODAY", TODAY)
            .env("FAQ_PHONE", PHONE)
            .env("FAQ_HOURS", HOURS)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts");
        // Chromium that hangs must not hang the test suite.
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(_s) = child.try_wait().expect("wait") {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let o = child.wait_with_output().expect("output");
        (
            o.status,
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    println!("{out}");
    eprintln!("{err}");
    assert!(
        status.success(),
        "browser test failed ({status}); see output above and screenshots in {}",
        artifacts.display()
    );

    // Cross-check what the browser did against the database.
    let today = running.app.clock.today_jst();
    let e = running.app.db.entry("FAQ-0011").unwrap().unwrap();
    assert!(
        e.public && e.publish_start == today && e.question.contains("ブラウザ確認用"),
        "{e:?}"
    );
    assert!(running
        .app
        .index()
        .is_visible("FAQ-0011", faq::search::Visibility::PublicOn(&today)));
    let stats = faq::stats::rating_stats(&running.app.db, Some("FAQ-0011")).unwrap();
    assert_eq!(
        stats.iter().map(|s| s.dist[4]).sum::<u32>(),
        1,
        "one 5-point rating"
    );
    assert_eq!(
        stats.iter().map(|s| s.count).sum::<u32>(),
        1,
        "the second rating from the same browser is not counted"
    );
    for shot in [
        "01-staff-list.png",
        "03-staff-published.png",
        "04-phone-suggestions.png",
        "06-phone-rated.png",
    ] {
        assert!(
            artifacts
                .join(shot)
                .metadata()
                .map(|m| m.len() > 1000)
                .unwrap_or(false),
            "screenshot {shot}"
        );
    }
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
