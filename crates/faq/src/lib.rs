//! faq: the FAQ knowledge base sidecar of madoguchi — an internal editing system for
//! operators and editors, a public FAQ site with Japanese search for citizens, and a JSON
//! API for other services, over HTTPS, with its own SQLite file.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let running = faq::start(faq::FaqConfig::default()).await?;
//! println!("listening on https://{}", running.addr);
//! running.shutdown().await;
//! # Ok(()) }
//! ```

pub mod accesslog;
pub mod app;
pub mod attachments;
pub mod auth;
pub mod categories;
pub mod client;
pub mod clock;
pub mod csv_io;
pub mod db;
pub mod error;
pub mod login_guard;
pub mod model;
pub mod search;
pub mod stats;
pub mod visitor;
pub mod web;
pub mod xlsx;

// Shared with the contact-history sidecar (crates/websupport); kept under their old
// paths so `faq::tls`, `faq::conn_limits`, … still name them.
pub use websupport::{conn_limits, proxy, ratelimit, tls};

use anyhow::Context;
use app::App;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The sample corpus, loaded into an empty database by the default start.
pub const SAMPLE_CSV: &[u8] = include_bytes!("../data/faq-sample.csv");

#[derive(Debug, Clone)]
pub struct FaqConfig {
    /// Holds `faq.sqlite3`, attachments and the generated certificate.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// A real certificate; None generates a self-signed one into `data_dir/tls/`.
    pub tls: Option<tls::TlsFiles>,
    /// CSV loaded into an empty database at first start; None means the built-in sample
    /// corpus when `seed_sample` is true.
    pub seed_csv: Option<PathBuf>,
    pub seed_sample: bool,
    /// The first administrator, created when there are no users.
    pub admin_user: String,
    /// None: a random password is generated and written to `data_dir/admin-password.txt`.
    pub admin_password: Option<String>,
    /// Days the access log is kept (at least 92, the spec's three months).
    pub access_log_days: u32,
    /// The call center's hours and phone number on the public pages.
    pub site: web::html::SiteInfo,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Connection caps and timeouts after the TLS handshake (trusted proxies are exempt
    /// from the per-address cap).
    pub limits: conn_limits::ConnLimits,
    /// What "now" is (tests pin the calendar; the service runs on the system clock).
    pub clock: clock::Clock,
    /// IPADIC's CSV sources (Debian's `mecab-ipadic`), for kana → kanji search.
    pub reading_dictionary: PathBuf,
}

impl Default for FaqConfig {
    fn default() -> Self {
        FaqConfig {
            data_dir: PathBuf::from("data/faq"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: None,
            seed_csv: None,
            seed_sample: true,
            admin_user: "admin".into(),
            admin_password: None,
            access_log_days: 400,
            site: web::html::SiteInfo::default(),
            trusted_proxies: Vec::new(),
            limits: conn_limits::ConnLimits::default(),
            clock: clock::Clock::SYSTEM,
            reading_dictionary: PathBuf::from(search::dictionary::DEBIAN_IPADIC),
        }
    }
}

/// A started service: its address and a way to stop it.
pub struct RunningFaq {
    pub addr: SocketAddr,
    /// The certificate it serves (to trust it in tests and local clients).
    pub cert_path: PathBuf,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningFaq {
    /// Stops accepting, lets running requests finish, flushes the access log.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(Err(e)) => tracing::error!("faq server: {e}"),
            Err(e) => tracing::error!("faq server task: {e}"),
            Ok(Ok(())) => {}
        }
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || app.log.close()).await;
    }

    /// Waits until the server ends by itself (it normally does not).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }
}

fn seed(app: &App, cfg: &FaqConfig) -> anyhow::Result<()> {
    if app.db.meta("seeded")?.is_some() {
        return Ok(());
    }
    let bytes = match (&cfg.seed_csv, cfg.seed_sample) {
        (Some(p), _) => {
            Some(std::fs::read(p).with_context(|| format!("reading seed CSV {}", p.display()))?)
        }
        (None, true) => Some(SAMPLE_CSV.to_vec()),
        (None, false) => None,
    };
    if let Some(bytes) = bytes {
        let entries = csv_io::parse(&bytes).map_err(|errs| {
            let lines: Vec<String> = errs
                .iter()
                .map(|e| format!("line {}: {}", e.line, e.reasons.join("; ")))
                .collect();
            anyhow::anyhow!("seed CSV rejected:\n{}", lines.join("\n"))
        })?;
        let n = app.db.save_all(&entries, "system", "初期データ")?;
        tracing::info!(entries = n, "seeded the FAQ database");
    }
    categories::adopt_used(&app.db)?;
    app.db.set_meta("seeded", "1")?;
    app.reindex()?;
    Ok(())
}

fn bootstrap_admin(app: &App, cfg: &FaqConfig) -> anyhow::Result<()> {
    let (pw, generated) = match &cfg.admin_password {
        Some(p) => (p.clone(), false),
        None => (auth::random_hex(12), true),
    };
    if auth::bootstrap_admin(&app.db, &cfg.admin_user, &pw)? && generated {
        let path = cfg.data_dir.join("admin-password.txt");
        std::fs::write(&path, format!("{}\n{}\n", cfg.admin_user, pw))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        tracing::warn!(user = %cfg.admin_user, file = %path.display(), "created the first administrator; its password is in the file");
    }
    Ok(())
}

/// Opens the database (seeding it the first time), binds, and serves in the background.
pub async fn start(cfg: FaqConfig) -> anyhow::Result<RunningFaq> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let db_path = cfg.data_dir.join("faq.sqlite3");
    let cfg2 = cfg.clone();
    let app = tokio::task::spawn_blocking(move || -> anyhow::Result<App> {
        let db =
            db::Db::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
        let log = accesslog::AccessLog::open(&db_path, cfg2.access_log_days, cfg2.clock)?;
        let mut lex = match search::lexicon::Lexicon::with_dictionary(&cfg2.reading_dictionary) {
            Ok(lex) => lex,
            Err(e) => {
                // The site still serves; kana queries find only entries written in kana.
                tracing::warn!(error = %e, "no reading dictionary: install mecab-ipadic for kana → kanji search");
                search::lexicon::Lexicon::without_dictionary()
            }
        };
        // Operators may extend the lists without a rebuild.
        for (file, synonyms) in [("synonyms.txt", true), ("readings.tsv", false)] {
            if let Ok(text) = std::fs::read_to_string(cfg2.data_dir.join(file)) {
                if synonyms {
                    lex.add_synonyms(&text)
                } else {
                    lex.add_readings(&text)
                }
            }
        }
        let mut app = App::new(db, Arc::new(lex), cfg2.data_dir.clone(), log, cfg2.clock)?;
        app.site = cfg2.site.clone();
        app.proxies = proxy::TrustedProxies::parse(&cfg2.trusted_proxies).map_err(anyhow::Error::msg)?;
        seed(&app, &cfg2)?;
        bootstrap_admin(&app, &cfg2)?;
        Ok(app)
    })
    .await??;
    let app = Arc::new(app);
    let files = match &cfg.tls {
        Some(f) => f.clone(),
        None => tls::ensure_self_signed(&cfg.data_dir)?,
    };
    let server_cfg = tls::server_config(&files)?;
    let tcp = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let mut limits = cfg.limits.clone();
    limits.exempt = app.proxies.clone();
    let listener = tls::TlsListener::new(tcp, server_cfg, conn_limits::Gate::new(limits))?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    let router = web::router(app.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<tls::ClientAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        })
        .await
    });
    tracing::info!(%addr, "FAQ service listening (https)");
    Ok(RunningFaq {
        addr,
        cert_path: files.cert,
        app,
        stop: Some(stop_tx),
        task,
    })
}

/// Runs the service until Ctrl-C (or SIGTERM on Unix).
pub async fn serve(cfg: FaqConfig) -> anyhow::Result<()> {
    let running = start(cfg).await?;
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down the FAQ service");
    running.shutdown().await;
    Ok(())
}
