//! The access log on PostgreSQL: the same table (migration 2), the same batches from the
//! writer thread, the same search and housekeeping as `crate::accesslog` on SQLite.

use crate::error::Result;
use postgres::Client;
use websupport::accesslog::{LogQuery, LogRecord};

const INSERT: &str = "INSERT INTO access_log (at, ip, by_user, method, path, status, ms, ua)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8)";

/// One batch in one transaction (the writer thread's unit of work).
pub fn write_batch(c: &mut Client, batch: &[LogRecord]) -> Result<()> {
    let mut tx = c.transaction()?;
    let st = tx.prepare(INSERT)?;
    for r in batch {
        tx.execute(
            &st,
            &[
                &r.at,
                &r.ip,
                &r.user,
                &r.method,
                &r.path,
                &i64::from(r.status),
                &i64::from(r.ms),
                &r.ua,
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Newest first, with the SQLite search's conditions.
pub fn search(c: &mut Client, q: &LogQuery) -> Result<Vec<LogRecord>> {
    let to = if q.to == 0 { i64::MAX } else { q.to };
    let status = i64::from(q.status);
    let limit = i64::from(q.limit.clamp(1, 5000));
    let rows = c.query(
        "SELECT at, ip, by_user, method, path, status, ms, ua FROM access_log
         WHERE at >= $1 AND at < $2
           AND ($3 = '' OR by_user = $3) AND ($4 = '' OR ip = $4)
           AND ($5 = '' OR strpos(path, $5) > 0) AND ($6::bigint = 0 OR status = $6::bigint)
         ORDER BY id DESC LIMIT $7",
        &[
            &q.from,
            &to,
            &q.user,
            &q.ip,
            &q.path_contains,
            &status,
            &limit,
        ],
    )?;
    rows.iter()
        .map(|r| {
            Ok(LogRecord {
                at: r.try_get(0)?,
                ip: r.try_get(1)?,
                user: r.try_get(2)?,
                method: r.try_get(3)?,
                path: r.try_get(4)?,
                status: u16::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
                ms: u32::try_from(r.try_get::<_, i64>(6)?).unwrap_or(u32::MAX),
                ua: r.try_get(7)?,
            })
        })
        .collect()
}

/// Deletes rows before `delete_before`; masks address and query string of rows before
/// `mask_before`. Returns (deleted, masked).
pub fn housekeep(
    c: &mut Client,
    delete_before: i64,
    mask_before: i64,
    masked_ip: &str,
) -> Result<(usize, usize)> {
    let deleted = c.execute("DELETE FROM access_log WHERE at < $1", &[&delete_before])?;
    let masked = c.execute(
        "UPDATE access_log SET ip=$2,
           path = CASE WHEN strpos(path, '?') > 0 THEN substr(path, 1, strpos(path, '?')) || '***' ELSE path END
         WHERE at < $1 AND ip <> $2",
        &[&mask_before, &masked_ip],
    )?;
    Ok((deleted as usize, masked as usize))
}
