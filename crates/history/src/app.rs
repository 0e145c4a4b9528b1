//! The shared state of a running history service.

use crate::accesslog::AccessLog;
use crate::store::Store;
use crate::HistoryConfig;
use std::sync::Arc;
use tokio::sync::Semaphore;
use websupport::ratelimit::RateLimiter;

/// argon2 hashes at once: each takes a core for ~50 ms; the switch shares the machine.
pub const HASH_SLOTS: usize = 2;

pub struct App {
    pub db: Store,
    pub log: AccessLog,
    pub limiter: RateLimiter,
    pub hash_slots: Semaphore,
    pub cfg: HistoryConfig,
    /// Wakes the mail sender when a message is queued.
    pub mail_wake: tokio::sync::Notify,
    /// Keys the web form's time tokens (kept in the database across restarts).
    pub form_secret: Vec<u8>,
    /// Ringing events from the switch, fanned out to the open desks.
    pub ringing: tokio::sync::broadcast::Sender<Arc<crate::switchfeed::Ringing>>,
    /// The switch's ops API (directory, the operator's state); None without a switch.
    pub switch: Option<crate::peers::SwitchApi>,
    /// The FAQ site's API; None when not configured.
    pub faq: Option<crate::peers::FaqApi>,
    /// The FAQ ranking as last fetched for the homepage, and when.
    pub ranking: std::sync::Mutex<Option<(std::time::Instant, Vec<crate::peers::FaqHit>)>>,
}

impl App {
    pub fn categories(&self) -> &[String] {
        &self.cfg.categories
    }
    pub fn departments(&self) -> &[String] {
        &self.cfg.departments
    }
}

/// Runs blocking work (SQLite, hashing) off the async workers.
pub async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> T + Send + 'static,
) -> T {
    websupport::sqlite::blocking(app, f).await
}
