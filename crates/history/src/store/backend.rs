//! The store the running service holds: the SQLite file (the default) or PostgreSQL
//! (feature `postgres`, selected by `HistoryConfig::database`). Both implement the same
//! operations with the same rules and the same schema; this only passes each call to the
//! one in use, so the web pages, the mail sender and the intake never know which it is.

use super::contacts::AuditRow;
use super::handovers::{Event, Handover, State, Summary};
use super::inquiries::{Inquiry, InquiryInput};
use super::outbox::OutMail;
use super::query::Query;
use super::Db;
use crate::auth::{Accounts, Role, SessionUser, StoredCredentials, UserRow};
use crate::error::Result;
use crate::model::{Contact, ContactInput};

pub enum Store {
    Sqlite(Db),
    #[cfg(feature = "postgres")]
    Postgres(super::pg::PgStore),
}

/// `$s.$name(args)` on whichever store is in use.
macro_rules! each {
    ($self:ident, $name:ident($($arg:expr),*)) => {
        match $self {
            Store::Sqlite(s) => s.$name($($arg),*),
            #[cfg(feature = "postgres")]
            Store::Postgres(s) => s.$name($($arg),*),
        }
    };
}

/// Inherent methods of both stores, passed through with their signatures.
macro_rules! pass {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store {
            $(pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                each!(self, $name($($arg),*))
            })*
        }
    };
}

pass! {
    fn create_contact(&self, i: &ContactInput, by: &str) -> Result<Contact>;
    fn update_contact(&self, id: i64, version: i64, i: &ContactInput, by: &str) -> Result<Contact>;
    fn contact(&self, id: i64) -> Result<Option<Contact>>;
    fn search(&self, q: &Query) -> Result<(Vec<Contact>, u64)>;
    fn audit(&self, contact_id: i64) -> Result<Vec<AuditRow>>;
    fn mask_before(&self, cutoff: i64, by: &str) -> Result<usize>;
    fn handovers(&self, department: &str, state: Option<State>) -> Result<Vec<Handover>>;
    fn handover(&self, id: i64) -> Result<Option<(Handover, Vec<Event>)>>;
    fn set_handover_state(&self, id: i64, state: State, note: &str, by: &str, now: i64) -> Result<()>;
    fn handover_summary(&self, from: i64, to: i64) -> Result<Summary>;
    fn create_inquiry(&self, i: &InquiryInput, ip: &str, now: i64) -> Result<i64>;
    fn create_mail_inquiry(&self, i: &InquiryInput, message_id: &str, received_at: i64) -> Result<Option<i64>>;
    fn inquiries(&self, limit: u32) -> Result<Vec<Inquiry>>;
    fn inquiry(&self, id: i64) -> Result<Option<Inquiry>>;
    fn mask_inquiries_before(&self, cutoff: i64, now: i64) -> Result<usize>;
    fn inquiries_from(&self, ip: &str, since: i64) -> Result<i64>;
    fn reply_inquiry(&self, id: i64, text: &str, now: i64) -> Result<i64>;
    fn enqueue_mail(&self, now: i64, kind: &str, ref_id: i64, to: &str, subject: &str, body: &str) -> Result<i64>;
    fn due_mail(&self, now: i64, limit: u32) -> Result<Vec<OutMail>>;
    fn next_mail_at(&self) -> Result<Option<i64>>;
    fn mail_sent(&self, id: i64, now: i64) -> Result<()>;
    fn mail_failed(&self, id: i64, now: i64, base_secs: i64, error: &str) -> Result<()>;
    fn mail_list(&self, limit: u32) -> Result<Vec<OutMail>>;
    fn meta(&self, k: &str) -> Result<Option<String>>;
    fn set_meta(&self, k: &str, v: &str) -> Result<()>;
}

impl Store {
    /// Which store this is, for the start-up log.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Store::Postgres(_) => "postgres",
        }
    }
}

impl Accounts for Store {
    fn user_count(&self) -> Result<i64> {
        each!(self, user_count())
    }
    fn upsert_user(
        &self,
        login: &str,
        name: &str,
        role: Role,
        agent_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        each!(self, upsert_user(login, name, role, agent_id, hash, now))
    }
    fn credentials(&self, login: &str) -> Result<Option<StoredCredentials>> {
        each!(self, credentials(login))
    }
    fn record_failure(&self, login: &str, failed: i64, locked_until: i64) -> Result<()> {
        each!(self, record_failure(login, failed, locked_until))
    }
    fn open_session(&self, login: &str, now: i64) -> Result<String> {
        each!(self, open_session(login, now))
    }
    fn session_user(&self, token: &str, now: i64) -> Result<Option<SessionUser>> {
        each!(self, session_user(token, now))
    }
    fn close_session(&self, token: &str) -> Result<()> {
        each!(self, close_session(token))
    }
    fn list_users(&self, now: i64) -> Result<Vec<UserRow>> {
        each!(self, list_users(now))
    }
    fn agent_owner(&self, agent_id: &str, login: &str) -> Result<Option<String>> {
        each!(self, agent_owner(agent_id, login))
    }
    fn unlock(&self, login: &str) -> Result<()> {
        each!(self, unlock(login))
    }
    fn store_password(&self, login: &str, hash: &str, clear_lock: bool) -> Result<bool> {
        each!(self, store_password(login, hash, clear_lock))
    }
    fn store_disabled(&self, login: &str, at: Option<i64>) -> Result<bool> {
        each!(self, store_disabled(login, at))
    }
}
