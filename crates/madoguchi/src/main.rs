//! The `madoguchi` command line: `serve` runs the switch, `check` validates a
//! configuration file and says what to fix.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "madoguchi",
    version,
    about = "madoguchi (窓口) — the call center's switch"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the switch (SIP, media, HTTP) on the given or the embedded configuration.
    Serve {
        /// A configuration file (TOML, see dialplans/default.toml); default: the embedded one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Start the routing clock at this local time (YYYY-MM-DDTHH:MM), for drills and
        /// tests of the opening hours; it then advances with real time.
        #[arg(long)]
        now: Option<String>,
        /// Do not start the FAQ site beside the switch (it listens on 127.0.0.1:8443).
        #[arg(long)]
        no_faq: bool,
    },
    /// Run the FAQ knowledge base alone (internal editing, public site, API) over HTTPS.
    Faq {
        /// Folder of its SQLite file, attachments and certificate.
        #[arg(long, default_value = "data/faq")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
    },
    /// Switch the manual night mode (after-hours routing) on or off on a running switch.
    Night {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// Who makes the change (written to the audit log).
        #[arg(long)]
        who: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// The supervisor login: a file with the user on the first line and the password
        /// on the second (the switch writes one at first start), or MADOGUCHI_USER and
        /// MADOGUCHI_PASSWORD in the environment.
        #[arg(long, default_value = "data/supervisor-password.txt")]
        login: PathBuf,
    },
    /// Extend the opening hours (disaster) until a local time YYYY-MM-DDTHH:MM, or clear
    /// the extension and night mode with `--clear`.
    Extend {
        until: Option<String>,
        #[arg(long)]
        clear: bool,
        #[arg(long)]
        who: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// The supervisor login: a file with the user on the first line and the password
        /// on the second (the switch writes one at first start), or MADOGUCHI_USER and
        /// MADOGUCHI_PASSWORD in the environment.
        #[arg(long, default_value = "data/supervisor-password.txt")]
        login: PathBuf,
    },
    /// Log an operator in or out, pause, resume, or end after-call work.
    Agent {
        id: String,
        #[arg(value_parser = ["login", "logout", "pause", "unpause", "end-wrapup"])]
        op: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value = "cli")]
        who: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// The supervisor login: a file with the user on the first line and the password
        /// on the second (the switch writes one at first start), or MADOGUCHI_USER and
        /// MADOGUCHI_PASSWORD in the environment.
        #[arg(long, default_value = "data/supervisor-password.txt")]
        login: PathBuf,
    },
    /// Recordings: search, request deletion of those past retention, approve, delete one.
    Recordings {
        #[command(subcommand)]
        cmd: RecCmd,
        /// The configuration whose data and recordings folders to use.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// Print the argon2 hash of a password, for `[[supervisor]] password_hash`.
    HashPassword { password: String },
    /// Check a configuration file and report every error with file, line and what to fix.
    Check { file: PathBuf },
    /// Print the embedded default configuration (a starting point for your own).
    DefaultConfig,
}

#[derive(Subcommand)]
enum RecCmd {
    /// List recordings (dates as YYYY-MM-DD, local time).
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        number: Option<String>,
        #[arg(long)]
        operator: Option<String>,
        #[arg(long)]
        caller: Option<String>,
        #[arg(long)]
        include_deleted: bool,
    },
    /// List the recordings past retention in a deletion request (nothing is deleted yet).
    RequestDeletion {
        #[arg(long)]
        who: String,
    },
    /// Record the city's approval of a deletion request, then delete exactly its files.
    Approve {
        request: i64,
        /// The official who approved.
        #[arg(long)]
        by: String,
        /// The approval document's reference.
        #[arg(long)]
        reference: String,
    },
    /// Delete one recording before its time, with a reason.
    Delete {
        id: i64,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
}

fn recordings(cmd: RecCmd, config: Option<PathBuf>) -> anyhow::Result<()> {
    let cfg = match config {
        Some(p) => dialplan::load(&p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => dialplan::default_config(),
    };
    let rec = recorder::Recorder::new(recorder::RecorderConfig {
        dir: cfg.switch.recordings_dir.clone(),
        catalogue: cfg.switch.data_dir.join("recordings.sqlite"),
        retention_days: cfg.recording.retention_days,
        ..Default::default()
    })?;
    let now = std::time::SystemTime::now();
    let out = match cmd {
        RecCmd::List {
            from,
            to,
            number,
            operator,
            caller,
            include_deleted,
        } => recorder::cli::list(
            &rec,
            &recorder::cli::ListArgs {
                from,
                to,
                number,
                operator,
                caller,
                include_deleted,
            },
        )?,
        RecCmd::RequestDeletion { who } => recorder::cli::request_deletion(&rec, &who, now)?,
        RecCmd::Approve {
            request,
            by,
            reference,
        } => recorder::cli::approve(&rec, request, &by, &reference, now)?,
        RecCmd::Delete { id, by, reason } => recorder::cli::delete(&rec, id, &by, &reason, now)?,
    };
    print!("{out}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { file } => match dialplan::load(&file) {
            Ok(cfg) => match switch::check_queues(&cfg) {
                Ok(()) => {
                    println!("{}: OK", file.display());
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{}: queues: {e}", file.display());
                    std::process::exit(1);
                }
            },
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        Cmd::Recordings { cmd, config } => recordings(cmd, config),
        Cmd::HashPassword { password } => {
            println!(
                "{}",
                recorder::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?
            );
            Ok(())
        }
        Cmd::DefaultConfig => {
            print!("{}", dialplan::DEFAULT_TOML);
            Ok(())
        }
        Cmd::Night {
            state,
            who,
            api,
            login,
        } => api_call(
            &api,
            &login,
            "/api/v1/operating/night",
            &serde_json::json!({"on": state == "on", "who": who}),
        ),
        Cmd::Extend {
            until,
            clear,
            who,
            api,
            login,
        } => {
            if clear {
                api_call(
                    &api,
                    &login,
                    "/api/v1/operating/clear",
                    &serde_json::json!({"who": who}),
                )
            } else {
                let Some(until) = until else {
                    anyhow::bail!(
                        "give the local time to extend until (YYYY-MM-DDTHH:MM), or --clear"
                    )
                };
                api_call(
                    &api,
                    &login,
                    "/api/v1/operating/extend",
                    &serde_json::json!({"until": until, "who": who}),
                )
            }
        }
        Cmd::Agent {
            id,
            op,
            reason,
            who,
            api,
            login,
        } => api_call(
            &api,
            &login,
            &format!("/api/v1/agents/{id}/{op}"),
            &serde_json::json!({"reason": reason, "who": who}),
        ),
        Cmd::Faq { data, listen } => {
            init_logs();
            let cfg = faq::FaqConfig {
                data_dir: data,
                listen,
                ..Default::default()
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(faq::serve(cfg))
        }
        Cmd::Serve {
            config,
            now,
            no_faq,
        } => {
            init_logs();
            let cfg = match &config {
                Some(path) => match dialplan::load(path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                },
                None => dialplan::default_config(),
            };
            let now = match now {
                Some(t) => match switch::parse_local(&t, cfg.hours.timezone_offset_minutes) {
                    Some(n) => Some(n),
                    None => {
                        eprintln!("--now {t}: write the local time as YYYY-MM-DDTHH:MM");
                        std::process::exit(1);
                    }
                },
                None => None,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve(cfg, now, !no_faq))
        }
    }
}

fn init_logs() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}

async fn serve(cfg: dialplan::Config, now: Option<u64>, with_faq: bool) -> anyhow::Result<()> {
    let faq_dir = std::path::Path::new(&cfg.switch.data_dir).join("faq");
    let data_dir_for_banner = cfg.switch.data_dir.clone();
    let agents: Vec<(String, String)> = cfg
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.password.clone()))
        .collect();
    let domain = cfg.sip.domain.clone();
    let sw = switch::start(switch::Options { cfg, now })
        .await
        .context("starting the switch")?;
    println!("madoguchi is up.");
    for a in &sw.sip_addrs {
        println!("  operators' softphones register to  sip:{a} (UDP and TCP), realm \"{domain}\"");
    }
    for (id, pw) in agents.iter().take(4) {
        println!("    account {id} / password {pw}");
    }
    for (name, a) in &sw.trunk_addrs {
        println!("  trunk {name:<8} listens on        {a}");
    }
    println!(
        "  metrics and API                    http://{}/metrics",
        sw.http_addr
    );
    println!(
        "  recordings (supervisors)           http://{}/recordings  (login in {})",
        sw.http_addr,
        std::path::Path::new(&data_dir_for_banner)
            .join("supervisor-password.txt")
            .display()
    );
    // The FAQ site is a sidecar: if it cannot start (its port taken, say), the switch
    // still answers calls, and the reason is logged.
    let faq = if with_faq {
        match faq::start(faq::FaqConfig {
            data_dir: faq_dir.clone(),
            ..Default::default()
        })
        .await
        {
            Ok(f) => {
                println!(
                    "  FAQ site (public and internal)     https://{}/  (admin password in {})",
                    f.addr,
                    faq_dir.join("admin-password.txt").display()
                );
                Some(f)
            }
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "the FAQ site did not start; the switch runs without it"
                );
                None
            }
        }
    } else {
        None
    };
    println!(
        "  try: a softphone registered as 1001, then call sip:0246221111@{}",
        sw.trunk_addrs
            .first()
            .map(|t| t.1.to_string())
            .unwrap_or_default()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    sw.shutdown().await;
    if let Some(f) = faq {
        f.shutdown().await;
    }
    Ok(())
}

/// POST a JSON body to the running switch's API and print the answer (no HTTP client
/// library: the API is on loopback and speaks plain HTTP/1.1).
fn api_call(
    api: &str,
    login: &std::path::Path,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let (user, password) = match (
        std::env::var("MADOGUCHI_USER"),
        std::env::var("MADOGUCHI_PASSWORD"),
    ) {
        (Ok(u), Ok(p)) => (u, p),
        _ => {
            let t = std::fs::read_to_string(login).with_context(|| format!("reading the supervisor login from {} (or set MADOGUCHI_USER and MADOGUCHI_PASSWORD)", login.display()))?;
            let mut l = t.lines();
            (
                l.next().unwrap_or("").trim().to_string(),
                l.next().unwrap_or("").trim().to_string(),
            )
        }
    };
    let auth = base64(format!("{user}:{password}").as_bytes());
    let host = api.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host)
        .with_context(|| format!("connecting to the switch's API at {api}"))?;
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out.split(' ').nth(1).unwrap_or("");
    let reply = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    println!("{reply}");
    if status.starts_with('2') {
        Ok(())
    } else {
        anyhow::bail!("the switch answered {status}")
    }
}

/// RFC 4648 base64, for the Basic login header (no extra dependency for twelve lines).
fn base64(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
