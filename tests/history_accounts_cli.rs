//! `madoguchi history account add|list|passwd|disable|enable`: the desk's staff accounts
//! from the command line, on the same database and with the same rules as the web's
//! accounts page. The password comes from standard input (here a pipe; on a terminal it
//! is read without echo) and is never printed; it is stored as the web stores it (argon2),
//! so the login of the desk accepts it.

use history::auth::{self, LoginOutcome};
use history::store::Db;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "Iwaki-kibou-2026";
const PW2: &str = "Natsui-gawa-0707";

fn dir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e")
        .join(format!("history-accounts-cli-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `madoguchi history --data <data> account <args>` with `stdin` piped in.
fn account(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("history")
        .arg("--data")
        .arg(data)
        .arg("account")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for pw in [PW, PW2] {
        assert!(!all.contains(pw), "a password was printed: {all}");
    }
    out
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn logs_in(db: &Db, login: &str, pw: &str) -> Option<String> {
    match auth::login(db, login, pw).unwrap() {
        LoginOutcome::Ok(token) => Some(token),
        _ => None,
    }
}

#[test]
fn accounts_are_added_listed_reset_and_disabled_from_the_command_line() {
    let base = dir();
    let data = base.join("history");

    let out = account(
        &data,
        &[
            "add",
            "ops1",
            "--name",
            "磐城 太郎",
            "--role",
            "operator",
            "--agent",
            "1001",
        ],
        &format!("{PW}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));

    let db = Db::open(&data.join("history.sqlite3")).unwrap();
    // Stored hashed as the web path stores it, and the desk's login takes it.
    let hash: String = db
        .with(|c| {
            c.query_row("SELECT pw_hash FROM users WHERE login='ops1'", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let token = logs_in(&db, "ops1", PW).expect("the new account logs in");
    let user = auth::session_user(&db, &token).unwrap().unwrap();
    assert_eq!(
        (user.name.as_str(), user.role, user.agent_id.as_str()),
        ("磐城 太郎", auth::Role::Operator, "1001")
    );

    let out = account(&data, &["list"], "");
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    let row = listed
        .lines()
        .find(|l| l.starts_with("ops1"))
        .unwrap_or_else(|| panic!("ops1 not listed: {listed}"));
    for want in ["磐城 太郎", "operator", "1001"] {
        assert!(row.contains(want), "{want} missing in {row:?}");
    }

    // The same rules as the web page: an agent id the switch does not have, a short
    // password, an unknown role — refused with the reason, nothing stored.
    for (args, pw, why) in [
        (
            vec![
                "add", "ops2", "--name", "x", "--role", "operator", "--agent", "9999",
            ],
            PW,
            "9999",
        ),
        (
            vec![
                "add", "ops2", "--name", "x", "--role", "operator", "--agent", "1002",
            ],
            "short",
            "パスワード",
        ),
        (
            vec!["add", "ops2", "--name", "x", "--role", "boss"],
            PW,
            "役割",
        ),
    ] {
        let out = account(&data, &args, &format!("{pw}\n"));
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{why}: {}",
            text(&out)
        );
    }
    // No password at all (stdin closed at once): refused, not a panic.
    let out = account(
        &data,
        &["add", "ops2", "--name", "x", "--role", "supervisor"],
        "",
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(auth::users(&db).unwrap().iter().all(|u| u.login != "ops2"));

    // A new password: the old one no longer logs in, the open session ends.
    let out = account(&data, &["passwd", "ops1"], &format!("{PW2}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(logs_in(&db, "ops1", PW).is_none());
    assert!(auth::session_user(&db, &token).unwrap().is_none());
    let token = logs_in(&db, "ops1", PW2).expect("the new password logs in");

    // Disabled: no login even with the right password, the session ends; listed so.
    let out = account(&data, &["disable", "ops1"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(logs_in(&db, "ops1", PW2).is_none());
    assert!(auth::session_user(&db, &token).unwrap().is_none());
    let out = account(&data, &["list"], "");
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("ops1") && l.contains("無効")),
        "{listed}"
    );
    // And enabled again.
    let out = account(&data, &["enable", "ops1"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(logs_in(&db, "ops1", PW2).is_some());

    // An account that does not exist: a clear answer.
    let out = account(&data, &["disable", "nobody"], "");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nobody"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// On a terminal (a pseudo-terminal from util-linux's `script`, Essential in Debian) the
/// password is asked twice and not echoed; two different answers change nothing.
#[test]
fn on_a_terminal_the_password_is_asked_twice_without_echo() {
    let base = dir().join("tty");
    let data = base.join("history");
    let run = |typed: [&str; 2]| -> (bool, String) {
        let cmd = format!(
            "{} history --data {} account add sv1 --name 監督 --role supervisor",
            env!("CARGO_BIN_EXE_madoguchi"),
            data.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        let mut stdin = child.stdin.take().unwrap();
        // Everything the terminal shows, as it comes; each answer is typed only once its
        // prompt is shown (echo is off by then), within a bounded wait.
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut shown = Vec::new();
        for (prompt, t) in [("新しいパスワード", typed[0]), ("もう一度", typed[1])] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !String::from_utf8_lossy(&shown).contains(prompt) {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(b) => shown.extend(b),
                    Err(_) => panic!("no prompt {prompt}: {}", String::from_utf8_lossy(&shown)),
                }
            }
            stdin.write_all(format!("{t}\n").as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        reader.join().unwrap();
        shown.extend(rx.try_iter().flatten());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&shown),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), all)
    };
    let (ok, all) = run([PW, PW2]);
    assert!(!ok, "{all}");
    assert!(!all.contains(PW) && !all.contains(PW2), "echoed: {all}");
    let (ok, all) = run([PW, PW]);
    assert!(ok, "{all}");
    assert!(
        all.contains("新しいパスワード") && !all.contains(PW),
        "{all}"
    );
    let db = Db::open(&data.join("history.sqlite3")).unwrap();
    assert!(logs_in(&db, "sv1", PW).is_some());
    let _ = std::fs::remove_dir_all(&base);
}

/// `--database` selects PostgreSQL; a build without the `postgres` feature (the default
/// one, which CI's e2e tests run) refuses it with what to do, before touching anything,
/// instead of quietly using the SQLite file.
#[test]
fn a_database_option_on_a_build_without_postgres_is_refused_with_what_to_do() {
    let data = dir();
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["history", "--data"])
        .arg(&data)
        .args([
            "--database",
            "host=/run/postgresql dbname=madoguchi",
            "account",
            "list",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {err}");
    assert!(err.contains("--features postgres"), "{err}");
    assert!(
        !data.join("history.sqlite3").exists(),
        "a SQLite file was made although PostgreSQL was asked for"
    );
}
