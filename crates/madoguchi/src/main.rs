//! The `madoguchi` command line: `serve` runs the switch, `check` validates a
//! configuration file and says what to fix.

mod api;
mod check;
mod history_account;
mod memory;
mod report;
mod sidecar;
mod site;

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

// Parsed once per process.
#[allow(clippy::large_enum_variant)]
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
        /// Do not start the FAQ site beside the switch (a child process).
        #[arg(long)]
        no_faq: bool,
        /// Where the FAQ sidecar listens (HTTPS).
        #[arg(long, default_value = "127.0.0.1:8443")]
        faq_listen: std::net::SocketAddr,
        /// Do not start the contact-history sidecar (a child process on 127.0.0.1:8444).
        #[arg(long)]
        no_history: bool,
        /// Where the history sidecar listens (HTTPS).
        #[arg(long, default_value = "127.0.0.1:8444")]
        history_listen: std::net::SocketAddr,
        /// The center's Maildir, read by the history sidecar into its inquiries.
        #[arg(long)]
        history_maildir: Option<PathBuf>,
        /// Keep the history sidecar's data in PostgreSQL (`history --database`; needs a
        /// build with `--features postgres`).
        #[arg(long)]
        history_database: Option<String>,
    },
    /// Run the contact-history sidecar alone (operators' desk, records, exports) over HTTPS.
    History {
        /// Folder of its SQLite file and certificate.
        #[arg(long, default_value = "data/history")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8444")]
        listen: std::net::SocketAddr,
        /// The switch configuration, for its departments; default: the embedded one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The SMTP relay for acknowledgements and answers (host:port).
        #[arg(long, default_value = "127.0.0.1:25")]
        smtp: String,
        /// The sender of the mails, e.g. "いわき市総合コールセンター <callcenter@city.example>".
        #[arg(long)]
        mail_from: Option<String>,
        /// STARTTLS to the relay (for a relay on another machine).
        #[arg(long)]
        smtp_starttls: bool,
        /// The switch's ops port (host:port, or https://host:port when it serves HTTPS),
        /// for the screen pop's event feed.
        #[arg(long)]
        switch_api: Option<String>,
        /// For an https:// switch API: the certificate to trust (the switch's
        /// data/tls/cert.pem); default: the web's public roots.
        #[arg(long)]
        switch_cert: Option<PathBuf>,
        /// The supervisor login file the switch wrote (user, then password).
        #[arg(long, default_value = "data/supervisor-password.txt")]
        switch_login: PathBuf,
        /// The FAQ site (its base URL), for the desk's FAQ search and the homepage's ranking.
        #[arg(long)]
        faq_api: Option<String>,
        /// The FAQ site's certificate to trust (its self-signed one).
        #[arg(long)]
        faq_cert: Option<PathBuf>,
        /// A file holding an API key of the FAQ site: the desk then also finds internal
        /// entries.
        #[arg(long)]
        faq_api_key_file: Option<PathBuf>,
        /// The center's Maildir (the MTA delivers the center's mail there): read every few
        /// seconds into the history as mail inquiries.
        #[arg(long)]
        maildir: Option<PathBuf>,
        /// The center's IMAP server (host:port, on this machine: no TLS), read every few
        /// seconds into the history as mail inquiries.
        #[arg(long, requires_all = ["imap_user", "imap_password_file"])]
        imap: Option<String>,
        #[arg(long)]
        imap_user: Option<String>,
        /// A file holding the IMAP password (one line).
        #[arg(long)]
        imap_password_file: Option<PathBuf>,
        #[arg(long, default_value = "INBOX")]
        imap_mailbox: String,
        /// Keep the history in PostgreSQL instead of `DATA/history.sqlite3`: connection
        /// parameters such as "host=/run/postgresql dbname=madoguchi user=madoguchi" (peer
        /// authentication over the local socket: no password on the command line).
        /// Needs a build with `--features postgres`.
        #[arg(long)]
        database: Option<String>,
        /// Stop when standard input closes (how `serve` runs it as a child process).
        #[arg(long, hide = true)]
        stop_on_stdin_eof: bool,
        /// Instead of serving: manage the desk's accounts in `--data`.
        #[command(subcommand)]
        sub: Option<history_account::HistorySub>,
    },
    /// Run the FAQ knowledge base alone (internal editing, public site, API) over HTTPS.
    Faq {
        /// Folder of its SQLite file, attachments and certificate.
        #[arg(long, default_value = "data/faq")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: std::net::SocketAddr,
        /// Stop when standard input closes (how `serve` runs it as a child process).
        #[arg(long, hide = true)]
        stop_on_stdin_eof: bool,
    },
    /// Switch the manual night mode (after-hours routing) on or off on a running switch.
    Night {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// Who makes the change (written to the audit log).
        #[arg(long)]
        who: String,
        #[command(flatten)]
        to: ApiArgs,
    },
    /// Extend the opening hours (disaster) until a local time YYYY-MM-DDTHH:MM, or clear
    /// the extension and night mode with `--clear`.
    Extend {
        until: Option<String>,
        #[arg(long)]
        clear: bool,
        #[arg(long)]
        who: String,
        #[command(flatten)]
        to: ApiArgs,
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
        #[command(flatten)]
        to: ApiArgs,
    },
    /// Recordings: search, request deletion of those past retention, approve, delete one.
    Recordings {
        #[command(subcommand)]
        cmd: RecCmd,
        /// The configuration whose data and recordings folders to use.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// Write the city's report for a period from the call records: xlsx (tables and
    /// charts) or CSV (every call), by the extension of --out. PERIOD: 2026-11-25 (daily),
    /// 2026-11 (monthly), 2026H1 / 2026H2 (fiscal half), 2026 (fiscal year, April–March).
    Report {
        #[arg(value_parser = ["daily", "monthly", "half", "yearly"])]
        kind: String,
        period: String,
        #[arg(long)]
        out: PathBuf,
        /// The configuration whose data folder and calendar to use.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The day the service started (YYYY-MM-DD): the half-year after it is left out of
        /// the yearly judgement (第3-5 ⑵). Default 2025-07-01.
        #[arg(long)]
        service_start: Option<String>,
    },
    /// Print the argon2 hash of a password, for `[[supervisor]] password_hash`.
    HashPassword { password: String },
    /// Check a configuration file and report every error with file, line and what to fix.
    Check { file: PathBuf },
    /// Print the embedded default configuration (a starting point for your own).
    DefaultConfig,
}

/// How a command reaches the running switch: its API and the supervisor's login, by
/// default both from the configuration (`[http] listen`, `data_dir`).
#[derive(clap::Args)]
struct ApiArgs {
    /// The configuration the switch runs with (default: $MADOGUCHI_CONFIG, else
    /// /etc/madoguchi/madoguchi.toml when installed, else the embedded one).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The switch's API (default: `[http] listen` of the configuration, https:// when
    /// `[http] tls = true`).
    #[arg(long)]
    api: Option<String>,
    /// A CA or certificate (PEM) to trust for an https:// API (default: the switch's
    /// own certificate when the API comes from the configuration, else the system's
    /// roots).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The supervisor login: a file with the user on the first line and the password
    /// on the second (default: `supervisor-password.txt` in the data folder, which the
    /// switch writes at first start), or MADOGUCHI_USER and MADOGUCHI_PASSWORD in the
    /// environment.
    #[arg(long)]
    login: Option<PathBuf>,
}

impl ApiArgs {
    /// POSTs `body` to `path` of the switch's API and prints the answer.
    fn post(self, path: &str, body: &serde_json::Value) -> anyhow::Result<()> {
        let needs_site = self.api.is_none()
            || (self.login.is_none() && std::env::var_os("MADOGUCHI_PASSWORD").is_none());
        let site = needs_site
            .then(|| site::Site::load(self.config.as_deref()))
            .transpose()?;
        let derived_https = self.api.is_none()
            && site
                .as_ref()
                .is_some_and(|s| s.api_base().starts_with("https://"));
        let api = match (self.api, &site) {
            (Some(a), _) => a,
            (None, Some(s)) => s.api_base(),
            (None, None) => unreachable!("needs_site"),
        };
        let login = match (self.login, &site) {
            (Some(l), _) => l,
            (None, Some(s)) => s.data_dir()?.join("supervisor-password.txt"),
            // MADOGUCHI_USER and MADOGUCHI_PASSWORD are used instead.
            (None, None) => PathBuf::new(),
        };
        let ca = match (self.ca, &site) {
            (Some(c), _) => Some(c),
            (None, Some(s)) if derived_https => Some(s.switch_cert()?),
            _ => None,
        };
        api::post(&api, ca.as_deref(), &api::login(&login)?, path, body)
    }
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
    // Never create an empty catalogue where the user happens to be.
    let site = site::Site::load(config.as_deref())?;
    let data = site.data_dir()?;
    let rec = recorder::Recorder::new(recorder::RecorderConfig {
        dir: site.recordings_dir()?,
        catalogue: data.join("recordings.sqlite"),
        retention_days: site.cfg.recording.retention_days,
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
    memory::cap_arenas();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { file } => check::run(&file),
        Cmd::Recordings { cmd, config } => recordings(cmd, config),
        Cmd::Report {
            kind,
            period,
            out,
            config,
            service_start,
        } => report::run(
            &kind,
            &period,
            &out,
            config.as_deref(),
            service_start.as_deref(),
        ),
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
        Cmd::Night { state, who, to } => to.post(
            "/api/v1/operating/night",
            &serde_json::json!({"on": state == "on", "who": who}),
        ),
        Cmd::Extend {
            until,
            clear,
            who,
            to,
        } => {
            if clear {
                to.post("/api/v1/operating/clear", &serde_json::json!({"who": who}))
            } else {
                let Some(until) = until else {
                    anyhow::bail!(
                        "give the local time to extend until (YYYY-MM-DDTHH:MM), or --clear"
                    )
                };
                to.post(
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
            to,
        } => to.post(
            &format!("/api/v1/agents/{id}/{op}"),
            &serde_json::json!({"reason": reason, "who": who}),
        ),
        Cmd::Faq {
            data,
            listen,
            stop_on_stdin_eof,
        } => {
            init_logs();
            let cfg = faq::FaqConfig {
                data_dir: data,
                listen,
                ..Default::default()
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if stop_on_stdin_eof {
                rt.block_on(faq_child(cfg))
            } else {
                rt.block_on(faq::serve(cfg))
            }
        }
        Cmd::History {
            data,
            listen,
            config,
            smtp,
            mail_from,
            smtp_starttls,
            switch_api,
            switch_cert,
            switch_login,
            faq_api,
            faq_cert,
            faq_api_key_file,
            maildir,
            imap,
            imap_user,
            imap_password_file,
            imap_mailbox,
            database,
            stop_on_stdin_eof,
            sub,
        } => {
            init_logs();
            if let Some(history_account::HistorySub::Account { cmd }) = sub {
                let switch_cfg = match config.as_deref() {
                    Some(p) => dialplan::load(p).map_err(|e| anyhow::anyhow!("{e}"))?,
                    None => dialplan::default_config(),
                };
                let agents: Vec<String> = switch_cfg.agents.iter().map(|a| a.id.clone()).collect();
                return history_account::run(&data, database.as_deref(), &agents, cmd);
            }
            let mut cfg = history_config(data, listen, config.as_deref())?;
            cfg.database = database;
            let (host, port) = smtp
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .with_context(|| format!("--smtp {smtp}: write host:port, e.g. 127.0.0.1:25"))?;
            cfg.smtp.host = host;
            cfg.smtp.port = port;
            cfg.smtp.starttls = smtp_starttls;
            if let Some(f) = mail_from {
                cfg.smtp.from = f;
            }
            let api_key = match faq_api_key_file {
                Some(f) => Some(
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("--faq-api-key-file {}", f.display()))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            cfg.maildir = maildir.map(|dir| history::intake::MaildirIntake {
                dir,
                every: std::time::Duration::from_secs(5),
            });
            if let (Some(server), Some(user), Some(file)) = (imap, imap_user, imap_password_file) {
                let password = std::fs::read_to_string(&file)
                    .with_context(|| format!("--imap-password-file {}", file.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                cfg.imap = Some(history::imap::ImapIntake {
                    server,
                    user,
                    password,
                    mailbox: imap_mailbox,
                    every: std::time::Duration::from_secs(5),
                });
            }
            cfg.faq = faq_api.map(|url| history::peers::FaqLink {
                url,
                cert: faq_cert,
                api_key,
            });
            cfg.switch_feed = switch_api.map(|api| history::switchfeed::SwitchFeed {
                api,
                cert: switch_cert,
                login: switch_login,
            });
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(history::serve(cfg, stop_on_stdin_eof))
        }
        Cmd::Serve {
            config,
            now,
            no_faq,
            faq_listen,
            no_history,
            history_listen,
            history_maildir,
            history_database,
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
            // The blocking pool runs the recordings' chunk writes and fsyncs (short jobs).
            // Tokio's default allows 512 threads: in a soak at 200 calls/s on a busy disk
            // the switch had 519 threads, most waiting on the disk, each with its own
            // malloc arena holding freed memory. Past this many, jobs queue instead.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(64)
                .build()?;
            memory::start_trimmer();
            let history = (!no_history).then(|| HistoryChild {
                config: config.clone(),
                listen: history_listen,
                maildir: history_maildir,
                database: history_database,
            });
            rt.block_on(serve(cfg, now, (!no_faq).then_some(faq_listen), history))
        }
    }
}

/// The history sidecar's settings: defaults, the lists in its data folder, and the
/// departments of the switch configuration (transfer targets are also pass-on targets).
fn history_config(
    data: PathBuf,
    listen: std::net::SocketAddr,
    config: Option<&std::path::Path>,
) -> anyhow::Result<history::HistoryConfig> {
    let switch_cfg = match config {
        Some(p) => dialplan::load(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => dialplan::default_config(),
    };
    let mut cfg = history::HistoryConfig {
        data_dir: data,
        listen,
        ..Default::default()
    }
    .with_lists_from_data_dir()?;
    cfg.center.hours = hours_lines(&switch_cfg.hours);
    cfg.agents = switch_cfg
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    for d in &switch_cfg.departments {
        if !cfg.departments.contains(&d.label) {
            cfg.departments.push(d.label.clone());
        }
    }
    Ok(cfg)
}

/// The opening hours as the homepage shows them, from the configuration the switch
/// routes by (so the two cannot disagree).
fn hours_lines(h: &dialplan::Hours) -> Vec<String> {
    let mut v = vec![
        format!("平日 {}〜{}", h.weekday.open, h.weekday.close),
        format!(
            "土曜・日曜・祝日 {}〜{}",
            h.weekend_and_holidays.open, h.weekend_and_holidays.close
        ),
    ];
    if !h.closed_dates.is_empty() {
        let days: Vec<String> = h
            .closed_dates
            .iter()
            .map(|d| format!("{}月{}日", d.month, d.day))
            .collect();
        v.push(format!("休業日 {}", days.join("・")));
    }
    v
}

/// What `serve` passes on to the history sidecar it starts.
struct HistoryChild {
    config: Option<PathBuf>,
    listen: std::net::SocketAddr,
    maildir: Option<PathBuf>,
    database: Option<String>,
}

fn start_history_child(
    cfg: &dialplan::Config,
    h: &HistoryChild,
    switch_api: std::net::SocketAddr,
    faq_listen: Option<std::net::SocketAddr>,
) -> Option<sidecar::Sidecar> {
    let listen = h.listen;
    let data = std::path::Path::new(&cfg.switch.data_dir).join("history");
    let mut args: Vec<std::ffi::OsString> = vec![
        "history".into(),
        "--data".into(),
        data.clone().into(),
        "--listen".into(),
        listen.to_string().into(),
        "--switch-api".into(),
        // With `[http] tls = true` the feed (and the supervisor's password) goes over
        // HTTPS, trusting the certificate the switch serves.
        if cfg.http.tls {
            format!("https://{switch_api}").into()
        } else {
            switch_api.to_string().into()
        },
        "--switch-login".into(),
        std::path::Path::new(&cfg.switch.data_dir)
            .join("supervisor-password.txt")
            .into(),
    ];
    if cfg.http.tls {
        args.push("--switch-cert".into());
        args.push(match &cfg.sip.tls_cert {
            Some(c) => c.clone().into(),
            None => std::path::Path::new(&cfg.switch.data_dir)
                .join("tls/cert.pem")
                .into(),
        });
    }
    if let Some(c) = &h.config {
        args.push("--config".into());
        args.push(c.into());
    }
    if let Some(m) = &h.maildir {
        args.push("--maildir".into());
        args.push(m.into());
    }
    if let Some(d) = &h.database {
        args.push("--database".into());
        args.push(d.into());
    }
    // The FAQ site beside it: the desk's FAQ search and the homepage's ranking, over its
    // API, trusting its self-signed certificate.
    if let Some(mut faq) = faq_listen {
        if faq.ip().is_unspecified() {
            faq.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        args.push("--faq-api".into());
        args.push(format!("https://{faq}").into());
        args.push("--faq-cert".into());
        args.push(
            std::path::Path::new(&cfg.switch.data_dir)
                .join("faq/tls/cert.pem")
                .into(),
        );
    }
    sidecar::Sidecar::start_or_log(
        "history",
        args,
        format!(
            "  contact history (operators' desk)  https://{listen}/desk  (admin password in {})",
            data.join("admin-password.txt").display()
        ),
    )
}

/// The FAQ site as a child process: public on the Internet, so a slowloris or a crash
/// there must not take the switch's descriptors, memory or calls with it.
fn start_faq_child(
    cfg: &dialplan::Config,
    listen: std::net::SocketAddr,
) -> Option<sidecar::Sidecar> {
    let data = std::path::Path::new(&cfg.switch.data_dir).join("faq");
    let args: Vec<std::ffi::OsString> = vec![
        "faq".into(),
        "--data".into(),
        data.clone().into(),
        "--listen".into(),
        listen.to_string().into(),
    ];
    sidecar::Sidecar::start_or_log(
        "faq",
        args,
        format!(
            "  FAQ site (public and internal)     https://{listen}/  (admin password in {})",
            data.join("admin-password.txt").display()
        ),
    )
}

/// `madoguchi faq` as `serve`'s child: runs until its standard input closes (the parent
/// stopped or died) or SIGTERM. Ctrl-C in the terminal reaches the parent, which then
/// stops us in order; so SIGINT is not ours to act on.
async fn faq_child(cfg: faq::FaqConfig) -> anyhow::Result<()> {
    let running = faq::start(cfg).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let _int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = sidecar::parent_gone() => {}
    }
    running.shutdown().await;
    Ok(())
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

async fn serve(
    cfg: dialplan::Config,
    now: Option<u64>,
    faq_listen: Option<std::net::SocketAddr>,
    history: Option<HistoryChild>,
) -> anyhow::Result<()> {
    let history_cfg = cfg.clone();
    let data_dir_for_banner = cfg.switch.data_dir.clone();
    // Never print a password (it would land in the journal at every start); say where
    // it is, and name the accounts whose password is weak (`dialplan::passwords`).
    let agents: Vec<(String, bool, Option<String>)> = cfg
        .agents
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.password.is_empty(),
                dialplan::passwords::weakness(&a.id, &a.password),
            )
        })
        .collect();
    let rtp = cfg.media.rtp_ports;
    let pairs = media::ports::pairs_in(rtp.first, rtp.last);
    if let Some(why) = dialplan::capacity::port_shortfall(&cfg, pairs) {
        tracing::warn!("{why}");
    }
    let domain = cfg.sip.domain.clone();
    // Before the switch answers anything: a SIGTERM right after the API is up must end
    // calls with BYE, not kill the process (tests/history_sidecar.rs saw it race).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let sw = switch::start(switch::Options { cfg, now })
        .await
        .context("starting the switch")?;
    println!("madoguchi is up.");
    for a in &sw.sip_addrs {
        println!("  operators' softphones register to  sip:{a} (UDP and TCP), realm \"{domain}\"");
    }
    let scheme = if sw.http_tls { "https" } else { "http" };
    for a in &sw.tls_addrs {
        println!("  operators elsewhere, over TLS:      sip:{a};transport=tls (or sips:)");
    }
    let generated =
        std::path::Path::new(&data_dir_for_banner).join(dialplan::passwords::AGENT_PASSWORDS_FILE);
    for (i, (id, in_file, weak)) in agents.iter().enumerate() {
        if i < 4 {
            if *in_file {
                println!("    account {id} (password in {})", generated.display());
            } else {
                println!("    account {id} (password in the configuration)");
            }
        }
        if let Some(why) = weak {
            tracing::warn!(account = %id, "this account's password {why}; change it in the configuration (`madoguchi check` lists them)");
        }
    }
    for (name, a) in &sw.trunk_addrs {
        println!("  trunk {name:<8} listens on        {a}");
    }
    println!(
        "  metrics and API                    {scheme}://{}/metrics",
        sw.http_addr
    );
    // The history sidecar is its own process: a fault or a slow export there never
    // touches the switch's runtime. It stops when our end of its stdin closes (even
    // when this process is killed), and reads the switch's event feed for screen pops.
    let sidecar =
        history.and_then(|h| start_history_child(&history_cfg, &h, sw.http_addr, faq_listen));
    println!(
        "  recordings (supervisors)           {scheme}://{}/recordings  (login in {})",
        sw.http_addr,
        std::path::Path::new(&data_dir_for_banner)
            .join("supervisor-password.txt")
            .display()
    );
    // The FAQ site likewise: its own process (if it cannot start, the switch still
    // answers calls, and the reason is logged).
    let faq = faq_listen.and_then(|listen| start_faq_child(&history_cfg, listen));
    println!(
        "  try: a softphone registered as 1001, then call sip:0246221111@{}",
        sw.trunk_addrs
            .first()
            .map(|t| t.1.to_string())
            .unwrap_or_default()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    sw.shutdown().await;
    for child in [faq, sidecar].into_iter().flatten() {
        let _ = tokio::task::spawn_blocking(move || child.stop()).await;
    }
    Ok(())
}
