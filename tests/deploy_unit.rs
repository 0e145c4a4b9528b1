//! deploy/: the systemd unit and the system user are checked by systemd's own tools, so
//! a typo in a hardening key (which systemd only warns about, then ignores) fails here
//! instead of silently leaving the service unprotected. `.ci/ops-deps.sh` installs
//! systemd where it is missing; `systemd-analyze verify` and `security --offline` and
//! `systemd-sysusers --root` need no running systemd (they work in a container).

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn deploy(file: &str) -> String {
    std::fs::read_to_string(repo_root().join("deploy").join(file)).unwrap()
}

/// The unit as installed, with the binary where this build put it (verify checks that
/// the commands exist and are executable).
fn unit_for_this_build(text: &str, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("madoguchi.service");
    std::fs::write(
        &path,
        text.replace("/usr/local/bin/madoguchi", env!("CARGO_BIN_EXE_madoguchi")),
    )
    .unwrap();
    path
}

/// `systemd-analyze verify`: success and not one warning (unknown keys and bad values
/// are only warnings to systemd, which then ignores the line).
fn verify(unit: &Path) -> Result<(), String> {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .expect("systemd-analyze must be installed: run .ci/ops-deps.sh");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(said)
    }
}

/// `systemd-analyze security --offline`: the exposure level, 0.0 (locked down) to 10.0.
fn exposure(unit: &Path) -> f64 {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    line.split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable: {line}"))
}

#[test]
fn the_unit_verifies_cleanly_and_is_locked_down() {
    let dir = workdir("deploy-unit");
    let text = deploy("madoguchi.service");
    let unit = unit_for_this_build(&text, &dir);
    if let Err(said) = verify(&unit) {
        panic!("systemd-analyze verify complained:\n{said}");
    }
    // The old unit (no capabilities dropped, no system-call filter) rated 8.5 "EXPOSED".
    let level = exposure(&unit);
    assert!(
        level <= 2.0,
        "exposure {level}: a hardening option was lost"
    );

    // The check can fail: a misspelt key and a bad UMask are each caught.
    for (from, to) in [
        ("ProtectSystem=strict", "ProtectSytem=strict"),
        ("UMask=0077", "UMask=0999"),
    ] {
        assert!(text.contains(from));
        let broken = unit_for_this_build(&text.replace(from, to), &dir);
        let said = verify(&broken).expect_err(&format!("{to} was accepted"));
        assert!(
            said.contains(to.split('=').next().unwrap()) || said.contains("0999"),
            "{said}"
        );
    }
}

#[test]
fn the_system_user_is_created_by_sysusers() {
    // sysusers.d into a scratch root: the user exists, without a login shell, at home in
    // the state folder the unit's StateDirectory= creates.
    let root = workdir("deploy-sysusers");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let out = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.display()))
        .arg(repo_root().join("deploy/madoguchi.sysusers"))
        .output()
        .expect("systemd-sysusers must be installed: run .ci/ops-deps.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("madoguchi:"))
        .unwrap_or_else(|| panic!("no madoguchi user in {passwd}"));
    let f: Vec<&str> = line.split(':').collect();
    assert_eq!(f[5], "/var/lib/madoguchi", "{line}");
    assert_eq!(f[6], "/usr/sbin/nologin", "{line}");
    let uid: u32 = f[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {line}");
}

#[test]
fn the_installed_configuration_uses_absolute_folders_and_passes_check() {
    // deploy/system-paths.sed applied to `madoguchi default-config`, as the install
    // steps do: every folder absolute, and `madoguchi check` accepts it.
    let dir = workdir("deploy-config");
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
    for key in ["data_dir", "recordings_dir", "prompts_dir"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap();
        assert!(line.contains("= \"/"), "{line} is not absolute");
    }
    let installed = dir.join("madoguchi.toml");
    std::fs::write(&installed, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("check")
        .arg(&installed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
