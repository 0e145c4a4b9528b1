//! Staff sessions, one row each in a `sessions` table both sidecars create alike
//! (`token_hash`, `login`, `csrf`, `created_at`, `expires_at`): only the token's SHA-256
//! is stored, so a copy of the database opens no session; each session carries its own
//! CSRF token for the forms.

use crate::password::{random_hex, sha256_hex};
use rusqlite::{params, Connection, OptionalExtension, Row};

// The statements, also for a PostgreSQL store (`?N` written as `$N` there); the token
// is always bound as its SHA-256 (`sha256_hex`).
pub const EXPIRE: &str = "DELETE FROM sessions WHERE expires_at < ?1";
pub const INSERT: &str = "INSERT INTO sessions (token_hash, login, csrf, created_at, expires_at) VALUES (?1,?2,?3,?4,?5)";
pub const CLOSE: &str = "DELETE FROM sessions WHERE token_hash=?1";
pub const CLOSE_ALL: &str = "DELETE FROM sessions WHERE login=?1";

/// The live-session query of [`lookup`]: ?1 the token's hash, ?2 now.
pub fn lookup_sql(user_cols: &str) -> String {
    format!(
        "SELECT {user_cols}, s.csrf FROM sessions s JOIN users u ON u.login = s.login
         WHERE s.token_hash=?1 AND s.expires_at > ?2"
    )
}

/// Opens a session for `login` (and forgets expired ones); returns the cookie's token.
pub fn open(c: &Connection, login: &str, now: i64, lifetime_secs: i64) -> rusqlite::Result<String> {
    let token = random_hex(32);
    let csrf = random_hex(32);
    c.execute(EXPIRE, [now])?;
    c.execute(
        INSERT,
        params![sha256_hex(&token), login, csrf, now, now + lifetime_secs],
    )?;
    Ok(token)
}

/// The user behind a live session: `user_cols` are columns of `users u` read first, the
/// session's CSRF token comes last (at index `user_cols`' count), for `map` to build the
/// crate's own user type.
pub fn lookup<T>(
    c: &Connection,
    token: &str,
    now: i64,
    user_cols: &str,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    c.query_row(&lookup_sql(user_cols), params![sha256_hex(token), now], map)
        .optional()
}

pub fn close(c: &Connection, token: &str) -> rusqlite::Result<()> {
    c.execute(CLOSE, [sha256_hex(token)]).map(|_| ())
}

/// A new password ends the sessions made with the old one.
pub fn close_all(c: &Connection, login: &str) -> rusqlite::Result<()> {
    c.execute(CLOSE_ALL, [login]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_it_expires_or_is_closed() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE users (login TEXT PRIMARY KEY, name TEXT);
             CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, login TEXT, csrf TEXT,
               created_at BIGINT, expires_at BIGINT);
             INSERT INTO users VALUES ('op1', '山田');",
        )
        .unwrap();
        let t = open(&c, "op1", 1000, 60).unwrap();
        let who = |now| {
            lookup(&c, &t, now, "u.login, u.name", |r| {
                Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .unwrap()
        };
        let (name, csrf) = who(1059).unwrap();
        assert_eq!(name, "山田");
        assert_eq!(csrf.len(), 64);
        assert!(who(1060).is_none(), "expired");
        assert!(
            lookup(&c, "forged", 1001, "u.login", |r| r.get::<_, String>(0))
                .unwrap()
                .is_none()
        );
        close(&c, &t).unwrap();
        assert!(who(1001).is_none(), "closed");
    }
}
