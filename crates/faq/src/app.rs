//! The shared state of a running service: the database, the search index built from
//! it, and the background access-log writer.

use crate::accesslog::AccessLog;
use crate::db::Db;
use crate::error::Result;
use crate::ratelimit::RateLimiter;
use crate::search::lexicon::Lexicon;
use crate::search::{Index, IndexDoc};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

pub struct App {
    pub db: Db,
    pub lex: Arc<Lexicon>,
    index: RwLock<Arc<Index>>,
    /// Held across a whole rebuild, so two edits' rebuilds cannot read the database in
    /// one order and swap their indexes in the other (a stale index would win).
    rebuild: Mutex<()>,
    pub data_dir: PathBuf,
    pub log: AccessLog,
    pub limiter: RateLimiter,
    pub clock: crate::clock::Clock,
    /// Hours and phone number shown to citizens.
    pub site: crate::web::html::SiteInfo,
    /// Proxies whose `X-Forwarded-For` names the citizen.
    pub proxies: crate::proxy::TrustedProxies,
    /// Views and ratings count once per citizen.
    pub visitors: crate::visitor::Visitors,
    /// Login throttling and the bounded password-hash slots.
    pub guard: crate::login_guard::LoginGuard,
}

impl App {
    pub fn new(
        db: Db,
        lex: Arc<Lexicon>,
        data_dir: PathBuf,
        log: AccessLog,
        clock: crate::clock::Clock,
    ) -> Result<App> {
        let index = Index::build(lex.clone(), &[]);
        let app = App {
            db,
            lex,
            index: RwLock::new(Arc::new(index)),
            rebuild: Mutex::new(()),
            data_dir,
            log,
            limiter: RateLimiter::default(),
            clock,
            site: Default::default(),
            proxies: Default::default(),
            visitors: Default::default(),
            guard: Default::default(),
        };
        app.reindex()?;
        Ok(app)
    }

    pub fn index(&self) -> Arc<Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the index from the database and swaps it in; searches running meanwhile
    /// keep the old one.
    pub fn reindex(&self) -> Result<()> {
        let _one_at_a_time = self.rebuild.lock().unwrap_or_else(|e| e.into_inner());
        let docs: Vec<IndexDoc> = self.db.entries()?.iter().map(IndexDoc::from).collect();
        let index = Arc::new(Index::build(self.lex.clone(), &docs));
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }
}

/// Runs blocking work (SQLite writes, index rebuilds, password hashing) off the async
/// workers.
pub async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> T + Send + 'static,
) -> T {
    websupport::sqlite::blocking(app, f).await
}
