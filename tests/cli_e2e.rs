//! The command line as an ops person meets it away from the switch's folder: commands
//! find the data folder and the API from the configuration, refuse with the path when
//! the folder is missing (never an empty database where they were run), and give up on
//! a switch that does not answer instead of hanging.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `madoguchi ARGS` run in `cwd`, with no configuration from the environment.
fn madoguchi(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(args)
        .current_dir(cwd)
        .env_remove("MADOGUCHI_CONFIG")
        .env_remove("MADOGUCHI_USER")
        .env_remove("MADOGUCHI_PASSWORD")
        .output()
        .unwrap()
}

#[test]
fn recordings_list_refuses_a_missing_data_folder_and_finds_it_from_the_configuration() {
    let dir = workdir("cli-data");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    // The default file keeps data_dir = "data": relative to where the command runs,
    // like `serve`. Run from a folder without one: refused, with the absolute path.
    let relative = dir.join("relative.toml");
    std::fs::write(&relative, default_toml()).unwrap();
    let out = madoguchi(
        &elsewhere,
        &["recordings", "list", "--config", relative.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let missing = elsewhere.join("data");
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("relative.toml"),
        "the refusal must name the folder and the configuration: {err}"
    );
    assert!(
        !missing.exists(),
        "nothing may be created where the command runs"
    );

    // A site with absolute folders and one recording in its catalogue.
    let data = dir.join("data");
    let recordings = dir.join("recordings");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&recordings).unwrap();
    let cat = recorder::catalogue::Catalogue::open(&data.join("recordings.sqlite")).unwrap();
    cat.insert_recording(
        "cli-call-1",
        "+81246221111",
        "0312345678",
        1_764_000_000,
        "2025/11/24/cli-call-1.wav",
    )
    .unwrap();
    drop(cat);
    let site = dir.join("site.toml");
    std::fs::write(
        &site,
        default_toml()
            .replace(
                "data_dir = \"data\"",
                &format!("data_dir = \"{}\"", data.display()),
            )
            .replace(
                "recordings_dir = \"recordings\"",
                &format!("recordings_dir = \"{}\"", recordings.display()),
            ),
    )
    .unwrap();
    let out = madoguchi(
        &elsewhere,
        &["recordings", "list", "--config", site.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("cli-call-1"), "{text}");
    assert!(text.contains("1 recordings"), "{text}");
    assert!(!missing.exists());
    // MADOGUCHI_CONFIG names the same site.
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["recordings", "list"])
        .current_dir(&elsewhere)
        .env("MADOGUCHI_CONFIG", &site)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("cli-call-1"));
}

#[test]
fn agent_command_reaches_the_switch_named_by_its_configuration() {
    let sw = Switch::start("cli-api", |t| t);
    let elsewhere = sw.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = madoguchi(
        &elsewhere,
        &[
            "agent",
            "1002",
            "login",
            "--who",
            "cli-test",
            "--config",
            sw.config.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sw.wait_for("1002 logged in by the CLI", 5, |s| {
        let q: serde_json::Value =
            serde_json::from_str(&http_get(s.http, "/api/v1/queues").unwrap_or_default())
                .unwrap_or_default();
        q["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["name"] == "1002" && a["status"] == "Available")
    });
    // A refusal from the switch is printed with its sentence and fails the command.
    let out = madoguchi(
        &elsewhere,
        &[
            "agent",
            "1099",
            "login",
            "--config",
            sw.config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1099"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_switch_that_never_answers_does_not_hang_the_command() {
    // Accepts the connection, reads, never replies.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", l.local_addr().unwrap());
    let dir = workdir("cli-timeout");
    let held = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(40));
        drop(s);
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["night", "on", "--who", "test", "--api", &api])
        .current_dir(&dir)
        .env("MADOGUCHI_USER", "supervisor")
        .env("MADOGUCHI_PASSWORD", "x")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t0.elapsed() > Duration::from_secs(35) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.expect("the command must give up on its own (timeout)");
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains(&api), "the error names the API: {err}");
    drop(held);
}

#[test]
fn check_reports_every_error_not_only_the_first() {
    let dir = workdir("cli-check-all");
    // Three mistakes in three tables: a bad limit, an unknown agent, a limit without an
    // overflow target (the last used to be found only by the ACD, after the others).
    let text = default_toml()
        .replacen("max_calls = 200", "max_calls = 0", 1)
        .replace(
            "agents = [\"1001\", \"1002\", \"1003\", \"1004\"]",
            "agents = [\"1001\", \"1009\"]",
        )
        .replace(
            "pause_on_no_answer = false",
            "pause_on_no_answer = false\nmax_wait_secs = 60",
        );
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, &text).unwrap();
    let out = madoguchi(&dir, &["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["max_calls = 0", "\"1009\"", "max_wait_secs = 60"] {
        assert!(
            err.contains(&format!("bad.toml:{}:", line(needle))),
            "no error at the line of {needle}: {err}"
        );
    }
    assert!(err.contains("3 errors"), "{err}");
}
