//! The invariants ARCHITECTURE.md lists, checked on the source: the sans-IO cores read
//! no clock, spawn nothing and touch no socket or file (time and the world are inputs),
//! and only the I/O crates open sockets. A change that breaks one fails here with the
//! file and line.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Code lines only: comments and `#[cfg(test)]` modules are not the product.
fn product_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break; // test modules sit at the end of a file by convention here
        }
        let code = line.split("//").next().unwrap_or("");
        out.push((i + 1, code.to_string()));
    }
    out
}

/// Every occurrence of `forbidden` in the product code under `dirs`, except `allowed`
/// files (paths relative to the repository).
fn offences(dirs: &[&str], allowed: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    for d in dirs {
        let p = root().join(d);
        if p.is_file() {
            files.push(p);
        } else {
            rust_files(&p, &mut files);
        }
    }
    let mut bad = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root())
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let rel = rel.trim_start_matches("./").to_string();
        if allowed.iter().any(|a| rel.ends_with(a)) || rel.contains("/tests/") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in product_lines(&text) {
            for pat in forbidden {
                if line.contains(pat) {
                    bad.push(format!("{rel}:{n}: `{pat}` in {}", line.trim()));
                }
            }
        }
    }
    bad
}

const CLOCK_AND_IO: [&str; 8] = [
    "Instant::now(",
    "SystemTime::now(",
    "tokio::",
    "std::net::UdpSocket",
    "TcpStream",
    "TcpListener",
    "std::fs::",
    "thread::spawn",
];

#[test]
fn sans_io_cores_read_no_clock_and_touch_no_socket_or_file() {
    let bad = offences(
        &[
            "crates/callctl/src",
            "crates/acd/src",
            "crates/dialplan/src",
            "crates/sip/src/transaction",
            "crates/sip/src/auth",
            "crates/media/src/forward.rs",
            "crates/media/src/mix.rs",
            "crates/media/src/monitor.rs",
        ],
        // The only files of these crates that may do I/O: reading the configuration,
        // keeping the manual night-mode state, the prompt files' presence check in a test.
        &["dialplan/src/load.rs", "dialplan/src/persist.rs"],
        &CLOCK_AND_IO,
    );
    assert!(
        bad.is_empty(),
        "sans-IO cores doing I/O:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_call_machine_does_not_depend_on_a_runtime() {
    let toml = std::fs::read_to_string(root().join("crates/callctl/Cargo.toml")).unwrap();
    let deps = toml.split("[dependencies]").nth(1).unwrap_or("");
    let deps = deps.split("\n[").next().unwrap_or("");
    for rt in ["tokio", "async-std", "smol"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(rt)),
            "callctl depends on {rt}: the call machine must stay sans-IO"
        );
    }
}

#[test]
fn only_the_io_crates_open_sockets() {
    let bad = offences(
        &[
            "crates/callctl/src",
            "crates/acd/src",
            "crates/dialplan/src",
            "crates/stats/src/kpi.rs",
        ],
        &[],
        &["UdpSocket", "TcpStream", "TcpListener", "tokio::net"],
    );
    assert!(
        bad.is_empty(),
        "sockets outside the I/O crates:\n{}",
        bad.join("\n")
    );
}
