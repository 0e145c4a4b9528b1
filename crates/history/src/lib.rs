//! history: the contact-history sidecar of madoguchi — contact records with search,
//! exports and an audit trail, the operators' desktop (`/desk`), over HTTPS with its own
//! SQLite file. It talks to the switch only over HTTP; `madoguchi serve` starts it as a
//! child process beside the switch, `madoguchi history` alone.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let running = history::start(history::HistoryConfig::default()).await?;
//! println!("listening on https://{}", running.addr);
//! running.shutdown().await;
//! # Ok(()) }
//! ```

pub mod accesslog;
pub mod app;
pub mod auth;
pub mod error;
pub mod export;
pub mod formtoken;
pub mod imap;
pub mod intake;
pub mod mail;
pub mod model;
pub mod peers;
pub mod store;
pub mod switchfeed;
pub mod web;

use anyhow::Context;
use app::App;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The city's content categories (their own scheme); replaced by `categories.txt` in the
/// data folder, one per line.
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "戸籍・住民票・証明",
    "税金",
    "国民健康保険・年金",
    "福祉・介護",
    "子育て・教育",
    "ごみ・環境",
    "道路・公園・交通",
    "上下水道",
    "防災・安全",
    "施設・観光・イベント",
    "市政・その他",
];

/// Departments records are passed to; replaced by `departments.txt` in the data folder
/// (or by the switch configuration's departments when started by `madoguchi`).
pub const DEFAULT_DEPARTMENTS: &[&str] = &[
    "市民課",
    "市民税課",
    "国保年金課",
    "介護保険課",
    "こども家庭課",
    "ごみ減量推進課",
    "道路管理課",
    "水道局",
    "危機管理課",
    "本庁舎警備室",
];

/// What the homepage says about the center.
#[derive(Debug, Clone)]
pub struct CenterInfo {
    /// Opening hours, one line each (from the switch's configuration).
    pub hours: Vec<String>,
    pub phone: String,
    pub faq_url: String,
}

impl Default for CenterInfo {
    fn default() -> Self {
        CenterInfo {
            hours: vec![
                "平日 08:30〜19:00".into(),
                "土曜・日曜・祝日 08:30〜17:00".into(),
                "休業日 12月29日〜1月3日".into(),
            ],
            phone: "0246-22-1111".into(),
            faq_url: "https://127.0.0.1:8443/".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Holds `history.sqlite3` and the generated certificate.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// A real certificate; None generates a self-signed one into `data_dir/tls/`.
    pub tls: Option<websupport::tls::TlsFiles>,
    pub admin_user: String,
    /// None: generated and written to `data_dir/admin-password.txt` (0600).
    pub admin_password: Option<String>,
    pub categories: Vec<String>,
    pub departments: Vec<String>,
    /// Days the access log is kept (at least 92).
    pub access_log_days: u32,
    /// Days personal data (caller, name, address in the log) is kept before masking.
    pub personal_data_days: u32,
    /// The SMTP relay for acknowledgements and answers.
    pub smtp: mail::SmtpConfig,
    /// The switch's event feed for the screen pop; None: no pops.
    pub switch_feed: Option<switchfeed::SwitchFeed>,
    pub center: CenterInfo,
    /// The switch's operators (`[[agent]]` id and name): an operator's desk account
    /// belongs to one of them. Empty: any agent id is taken.
    pub agents: Vec<(String, String)>,
    /// The FAQ site's API (the desk's FAQ search, the homepage's ranking); None: neither.
    pub faq: Option<peers::FaqLink>,
    /// The center's Maildir, read into the history as mail inquiries; None: not read.
    pub maildir: Option<intake::MaildirIntake>,
    /// The center's IMAP mailbox, read the same way; None: not read.
    pub imap: Option<imap::ImapIntake>,
    /// PostgreSQL connection parameters (`host=/run/postgresql dbname=madoguchi
    /// user=madoguchi`, or a `postgresql://` URL): the whole history — contacts, inquiries,
    /// outbox, accounts, sessions, access log — is kept there instead of
    /// `history.sqlite3`. Needs the `postgres` feature.
    pub database: Option<String>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            data_dir: PathBuf::from("data/history"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            tls: None,
            admin_user: "admin".into(),
            admin_password: None,
            categories: DEFAULT_CATEGORIES.iter().map(|s| s.to_string()).collect(),
            departments: DEFAULT_DEPARTMENTS.iter().map(|s| s.to_string()).collect(),
            access_log_days: 400,
            personal_data_days: 365,
            smtp: mail::SmtpConfig::default(),
            switch_feed: None,
            center: CenterInfo::default(),
            agents: Vec::new(),
            faq: None,
            maildir: None,
            imap: None,
            database: None,
        }
    }
}

impl HistoryConfig {
    /// Reads `categories.txt` and `departments.txt` from the data folder when present.
    pub fn with_lists_from_data_dir(mut self) -> anyhow::Result<Self> {
        for (file, list) in [
            ("categories.txt", &mut self.categories),
            ("departments.txt", &mut self.departments),
        ] {
            let p = self.data_dir.join(file);
            if let Ok(text) = std::fs::read_to_string(&p) {
                let items: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
                anyhow::ensure!(!items.is_empty(), "{} lists nothing", p.display());
                *list = items;
            }
        }
        Ok(self)
    }
}

/// Owner-only permissions on a file holding personal data or secrets.
pub fn private_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

pub struct RunningHistory {
    pub addr: SocketAddr,
    pub cert_path: PathBuf,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    mailer: tokio::task::JoinHandle<()>,
    feed: Option<tokio::task::JoinHandle<()>>,
    intake: Option<tokio::task::JoinHandle<()>>,
    imap_intake: Option<tokio::task::JoinHandle<()>>,
}

impl RunningHistory {
    /// Stops accepting, lets running requests finish, flushes the access log.
    pub async fn shutdown(mut self) {
        self.housekeeping.abort();
        self.mailer.abort();
        if let Some(f) = &self.feed {
            f.abort();
        }
        for i in [&self.intake, &self.imap_intake].into_iter().flatten() {
            i.abort();
        }
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(Err(e)) => tracing::error!("history server: {e}"),
            Err(e) => tracing::error!("history server task: {e}"),
            Ok(Ok(())) => {}
        }
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || app.log.close()).await;
    }
}

fn bootstrap_admin(app: &App) -> anyhow::Result<()> {
    let cfg = &app.cfg;
    let (pw, generated) = match &cfg.admin_password {
        Some(p) => (p.clone(), false),
        None => (websupport::password::random_hex(12), true),
    };
    if auth::bootstrap_admin(&app.db, &cfg.admin_user, &pw)? && generated {
        let path = cfg.data_dir.join("admin-password.txt");
        std::fs::write(&path, format!("{}\n{}\n", cfg.admin_user, pw))?;
        private_file(&path);
        tracing::warn!(user = %cfg.admin_user, file = %path.display(), "created the first desk administrator; its password is in the file");
    }
    Ok(())
}

/// Masks personal data past its period and trims the access log.
pub fn housekeep(app: &App, now: i64) -> anyhow::Result<()> {
    let cutoff = now - i64::from(app.cfg.personal_data_days) * 86_400;
    let masked =
        app.db.mask_before(cutoff, "system")? + app.db.mask_inquiries_before(cutoff, now)?;
    let (deleted, log_masked) =
        app.log
            .housekeep(now, app.cfg.access_log_days, app.cfg.personal_data_days)?;
    if masked + deleted + log_masked > 0 {
        tracing::info!(masked, deleted, log_masked, "history housekeeping");
    }
    Ok(())
}

/// The store the configuration selects: PostgreSQL when `database` is set (connection
/// parameters), else the SQLite file at `db_path`. Also what `madoguchi history account`
/// opens, so accounts made there are the ones the desk checks.
pub fn open_db(database: Option<&str>, db_path: &std::path::Path) -> anyhow::Result<store::Store> {
    match database {
        None => Ok(store::Store::Sqlite(
            store::Db::open(db_path).with_context(|| format!("opening {}", db_path.display()))?,
        )),
        #[cfg(feature = "postgres")]
        Some(params) => Ok(store::Store::Postgres(
            store::pg::PgStore::open(params)
                .context("connecting to the history's PostgreSQL database (--database)")?,
        )),
        #[cfg(not(feature = "postgres"))]
        Some(_) => anyhow::bail!(
            "a PostgreSQL database is configured (--database) but this madoguchi was built \
             without PostgreSQL support: build it with `--features postgres`"
        ),
    }
}

/// The access log beside the store `open_db` opened (same database).
fn open_log(
    database: Option<&str>,
    db_path: &std::path::Path,
) -> anyhow::Result<accesslog::AccessLog> {
    match database {
        #[cfg(feature = "postgres")]
        Some(params) => accesslog::AccessLog::open_postgres(params)
            .context("connecting the access log to PostgreSQL"),
        _ => Ok(accesslog::AccessLog::open(db_path)?),
    }
}

/// Opens the database, binds, and serves in the background.
pub async fn start(cfg: HistoryConfig) -> anyhow::Result<RunningHistory> {
    cfg.smtp
        .from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| {
            anyhow::anyhow!(
                "the mail sender {:?} is not a mail address: {e}",
                cfg.smtp.from
            )
        })?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&cfg.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let db_path = cfg.data_dir.join("history.sqlite3");
    let cfg2 = cfg.clone();
    let app = tokio::task::spawn_blocking(move || -> anyhow::Result<App> {
        let db = open_db(cfg2.database.as_deref(), &db_path)?;
        let log = open_log(cfg2.database.as_deref(), &db_path)?;
        tracing::info!(store = db.kind(), "history store open");
        let form_secret = match db.meta("form_secret")? {
            Some(s) => s,
            None => {
                let s = websupport::password::random_hex(32);
                db.set_meta("form_secret", &s)?;
                s
            }
        };
        let switch = cfg2.switch_feed.as_ref().map(peers::SwitchApi::new);
        let faq = cfg2.faq.as_ref().map(peers::FaqApi::new);
        let app = App {
            db,
            log,
            limiter: Default::default(),
            hash_slots: tokio::sync::Semaphore::new(app::HASH_SLOTS),
            cfg: cfg2,
            mail_wake: tokio::sync::Notify::new(),
            form_secret: form_secret.into_bytes(),
            ringing: tokio::sync::broadcast::channel(64).0,
            switch,
            faq,
            ranking: Default::default(),
        };
        bootstrap_admin(&app)?;
        housekeep(&app, faq::clock::unix_now())?;
        Ok(app)
    })
    .await??;
    let app = Arc::new(app);
    let files = match &cfg.tls {
        Some(f) => f.clone(),
        None => websupport::tls::ensure_self_signed(&cfg.data_dir)?,
    };
    let server_cfg = websupport::tls::server_config(&files)?;
    let tcp = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    // The FAQ site's connection caps, idle timeout and request-head deadline (issue 9).
    let gate = websupport::conn_limits::Gate::new(websupport::conn_limits::ConnLimits::default());
    let listener = websupport::tls::TlsListener::new(tcp, server_cfg, gate)?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    let router = web::router(app.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<websupport::tls::ClientAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        })
        .await
    });
    let hk_app = app.clone();
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        tick.tick().await;
        loop {
            tick.tick().await;
            let r = app::blocking(&hk_app, |a| housekeep(a, faq::clock::unix_now())).await;
            if let Err(e) = r {
                tracing::error!("history housekeeping: {e:#}");
            }
        }
    });
    let mailer = tokio::spawn(mail::run(app.clone(), cfg.smtp.clone()));
    let feed = cfg
        .switch_feed
        .clone()
        .map(|f| tokio::spawn(switchfeed::run(app.clone(), f)));
    let intake = cfg
        .maildir
        .clone()
        .map(|m| tokio::spawn(intake::run(app.clone(), m)));
    let imap_intake = cfg
        .imap
        .clone()
        .map(|m| tokio::spawn(imap::run(app.clone(), m)));
    tracing::info!(%addr, "history service listening (https)");
    Ok(RunningHistory {
        addr,
        cert_path: files.cert,
        app,
        stop: Some(stop_tx),
        task,
        housekeeping,
        mailer,
        feed,
        intake,
        imap_intake,
    })
}

/// Runs the service until Ctrl-C, SIGTERM, or — with `stop_on_stdin_eof`, as a child of
/// `madoguchi serve` — until its parent closes our standard input (the parent ended,
/// even by kill -9: the sidecar never outlives the switch).
pub async fn serve(cfg: HistoryConfig, stop_on_stdin_eof: bool) -> anyhow::Result<()> {
    let running = start(cfg).await?;
    let stdin_closed = async {
        if stop_on_stdin_eof {
            let mut buf = [0u8; 64];
            let mut stdin = tokio::io::stdin();
            loop {
                match tokio::io::AsyncReadExt::read(&mut stdin, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        } else {
            std::future::pending::<()>().await
        }
    };
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = stdin_closed => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = stdin_closed => {}
    }
    tracing::info!("shutting down the history service");
    running.shutdown().await;
    Ok(())
}
