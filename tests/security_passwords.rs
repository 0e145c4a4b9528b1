//! Operators' passwords (issue 9, Medium "check accepts the published default passwords
//! and serve prints them"): an agent without a password gets a random one at first
//! start, in a 0600 file, never printed, the same after a restart; `madoguchi check`
//! warns about weak ones at their line without showing them; the installed
//! configuration ships none.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const IDS: [&str; 4] = ["1001", "1002", "1003", "1004"];

fn without_passwords(t: String) -> String {
    IDS.iter().fold(t, |t, id| {
        t.replacen(&format!("password = \"madoguchi-{id}\"\n"), "", 1)
    })
}

fn read_generated(sw: &Switch) -> (Vec<(String, String)>, u32) {
    let path = sw.dir.join("data/agent-passwords.txt");
    let text = std::fs::read_to_string(&path).expect("data/agent-passwords.txt");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    let pairs = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (id, pw) = l.split_once(' ').expect("id password");
            (id.to_string(), pw.to_string())
        })
        .collect();
    (pairs, mode)
}

#[test]
fn passwords_left_out_are_generated_private_stable_and_never_printed() {
    let mut sw = Switch::start("sec-passwords-generated", without_passwords);
    let (pairs, mode) = read_generated(&sw);
    assert_eq!(mode, 0o600, "the file is the owner's only");
    let ids: Vec<&str> = pairs.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, IDS);
    let mut seen = std::collections::HashSet::new();
    for (id, pw) in &pairs {
        assert!(pw.len() >= 16, "{id}: a long password");
        assert!(seen.insert(pw.clone()), "{id}: each password its own");
    }
    let pw = |id: &str| pairs.iter().find(|(i, _)| i == id).unwrap().1.clone();

    let phone = RawSip::new();
    assert_eq!(
        register_raw(&phone, &sw, "1001", &pw("1001"), 300).status,
        200
    );
    assert_eq!(
        register_raw(&RawSip::new(), &sw, "1002", "madoguchi-1002", 300).status,
        403,
        "the example password is not the generated one"
    );
    let banner = sw.log();
    assert!(
        banner.contains("account 1001 (password in") && banner.contains("agent-passwords.txt"),
        "the banner says where the password is:\n{}",
        tail(&banner, 30)
    );

    // The same passwords after a restart (read back, not generated anew).
    sw.restart();
    let (again, _) = read_generated(&sw);
    assert_eq!(again, pairs, "the file is kept across restarts");
    assert_eq!(
        register_raw(&RawSip::new(), &sw, "1002", &pw("1002"), 300).status,
        200
    );
    // Never printed: not at the first start, not at the restart (the log holds both,
    // stdout and stderr, at debug level).
    let log = sw.log();
    for (id, p) in &pairs {
        assert!(!log.contains(p.as_str()), "{id}'s password is in the log");
    }
}

fn check(path: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("check")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_warns_about_weak_passwords_at_their_line_without_showing_them() {
    let dir = workdir("sec-passwords-check");
    let text = default_toml().replacen(
        "password = \"madoguchi-1003\"",
        "password = \"Gx7pQ2vLm9Rt4Wz8\"",
        1,
    );
    let text = text.replacen("password = \"madoguchi-1004\"", "password = \"1234\"", 1);
    let file = dir.join("site.toml");
    std::fs::write(&file, &text).unwrap();
    let (ok, stdout, stderr) = check(&file);
    assert!(
        ok,
        "weak passwords warn, they do not stop a start:\n{stderr}"
    );
    assert!(stdout.contains("OK"), "{stdout}");
    let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let file_s = file.display().to_string();
    for (id, needle, why) in [
        (
            "1001",
            "password = \"madoguchi-1001\"",
            "is the published example password",
        ),
        (
            "1002",
            "password = \"madoguchi-1002\"",
            "is the published example password",
        ),
        ("1004", "password = \"1234\"", "has 4 characters"),
    ] {
        let want = format!("{file_s}:{}:", line(needle));
        assert!(
            stderr.lines().any(|l| l.starts_with(&want)
                && l.contains(&format!("warning: agent '{id}': the password {why}"))),
            "a warning for {id} at {want}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("'1003'"),
        "a strong password is not flagged:\n{stderr}"
    );
    for p in ["madoguchi-1001", "1234\"", "Gx7pQ2vLm9Rt4Wz8"] {
        assert!(!stderr.contains(p), "a password shown: {p}\n{stderr}");
    }
}

#[test]
fn the_installed_configuration_has_no_example_password() {
    // As deploy/README.md installs it: default-config through system-paths.sed.
    let dir = workdir("sec-passwords-installed");
    let default = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("default-config")
        .output()
        .unwrap();
    std::fs::write(dir.join("default.toml"), &default.stdout).unwrap();
    let out = Command::new("sed")
        .arg("-f")
        .arg(repo_root().join("deploy/system-paths.sed"))
        .arg(dir.join("default.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("madoguchi-100"),
        "an example password is installed"
    );
    let installed = dir.join("madoguchi.toml");
    std::fs::write(&installed, &text).unwrap();
    let (ok, _, stderr) = check(&installed);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    for id in IDS {
        assert!(
            stderr.contains(&format!("note: agent '{id}' has no password")),
            "{stderr}"
        );
    }
}
