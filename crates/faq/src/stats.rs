//! Ratings from citizens, the weekly access ranking and popular keywords.

use crate::clock::month_jst;
use crate::db::Db;
use crate::error::{FaqError, Result};
use rusqlite::params;
use std::collections::BTreeMap;

pub fn add_rating(db: &Db, now: i64, faq_id: &str, score: u8, comment: &str) -> Result<()> {
    if !(1..=5).contains(&score) {
        return Err(FaqError::Invalid(vec!["評価は1〜5です".into()]));
    }
    let comment: String = comment.trim().chars().take(1000).collect();
    db.with(|c| {
        c.execute(
            "INSERT INTO ratings (faq_id, at, score, comment) VALUES (?1,?2,?3,?4)",
            params![faq_id, now, score, comment],
        )
        .map(|_| ())
    })
}

/// Most viewed entries in `[from, to)` (unix seconds; a week for the weekly ranking):
/// (FAQ-ID, views).
pub fn ranking(db: &Db, from: i64, to: i64, limit: u32) -> Result<Vec<(String, i64)>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT faq_id, COUNT(*) n FROM views WHERE at >= ?1 AND at < ?2 GROUP BY faq_id ORDER BY n DESC, faq_id LIMIT ?3",
        )?;
        let rows = st.query_map(params![from, to, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })
}

/// A search citizens made in a week and never opened a result of.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfound {
    pub q: String,
    pub searches: i64,
    /// Most results any of those searches had (0: nothing found).
    pub hits: i64,
}

/// Searches in `[from, to)` with no result opened from them, most frequent first: what
/// editors should write next.
pub fn unfound(db: &Db, from: i64, to: i64, limit: u32) -> Result<Vec<Unfound>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT s.q, COUNT(*) n, MAX(s.hits) FROM searches s
             WHERE s.at >= ?1 AND s.at < ?2
               AND NOT EXISTS (SELECT 1 FROM search_clicks k WHERE k.q = s.q AND k.at >= ?1 AND k.at < ?2)
             GROUP BY s.q ORDER BY MAX(s.hits) > 0, n DESC, s.q LIMIT ?3",
        )?;
        let rows = st.query_map(params![from, to, limit], |r| {
            Ok(Unfound {
                q: r.get(0)?,
                searches: r.get(1)?,
                hits: r.get(2)?,
            })
        })?;
        rows.collect()
    })
}

/// Editors' decisions on popular keywords: `Some(true)` approved, `Some(false)` hidden.
pub fn keyword_rule(db: &Db, q: &str) -> Result<Option<bool>> {
    db.with(|c| {
        let mut st = c.prepare_cached("SELECT approved FROM keywords WHERE q=?1")?;
        let mut rows = st.query(params![q])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get::<_, i64>(0)? != 0),
            None => None,
        })
    })
}

pub fn set_keyword_rule(db: &Db, q: &str, approved: bool, by: &str, now: i64) -> Result<()> {
    db.with(|c| {
        c.execute(
            "INSERT INTO keywords (q, approved, by, at) VALUES (?1,?2,?3,?4)
             ON CONFLICT(q) DO UPDATE SET approved=excluded.approved, by=excluded.by, at=excluded.at",
            params![q, approved as i64, by, now],
        )
        .map(|_| ())
    })
}

/// Words citizens searched for most (only searches that found something). Raw: what
/// the home page shows goes through moderation (`web::public::shown_keywords`).
pub fn popular_keywords(db: &Db, since: i64, limit: u32) -> Result<Vec<(String, i64)>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT q, COUNT(*) n FROM searches WHERE at >= ?1 AND hits > 0 GROUP BY q ORDER BY n DESC, q LIMIT ?2",
        )?;
        let rows = st.query_map(params![since, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatingStat {
    pub faq_id: String,
    /// `YYYY-MM` (Japan time).
    pub month: String,
    pub count: u32,
    pub average: f64,
    /// How many gave 1, 2, 3, 4, 5.
    pub dist: [u32; 5],
}

/// Rating statistics per entry and month, newest month first. `faq_id` narrows to one
/// entry.
pub fn rating_stats(db: &Db, faq_id: Option<&str>) -> Result<Vec<RatingStat>> {
    let rows: Vec<(String, i64, u8)> = db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT faq_id, at, score FROM ratings WHERE (?1 IS NULL OR faq_id = ?1)",
        )?;
        let rows = st.query_map(params![faq_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })?;
    let mut agg: BTreeMap<(String, String), [u32; 5]> = BTreeMap::new();
    for (id, at, score) in rows {
        agg.entry((month_jst(at), id)).or_default()[usize::from(score.clamp(1, 5) - 1)] += 1;
    }
    let mut out: Vec<RatingStat> = agg
        .into_iter()
        .map(|((month, faq_id), dist)| {
            let count: u32 = dist.iter().sum();
            let total: u32 = dist
                .iter()
                .enumerate()
                .map(|(i, n)| (i as u32 + 1) * n)
                .sum();
            RatingStat {
                faq_id,
                month,
                count,
                average: total as f64 / count.max(1) as f64,
                dist,
            }
        })
        .collect();
    out.sort_by(|a, b| b.month.cmp(&a.month).then(a.faq_id.cmp(&b.faq_id)));
    Ok(out)
}

/// Latest comments on an entry: (at, score, comment).
pub fn comments(db: &Db, faq_id: &str, limit: u32) -> Result<Vec<(i64, u8, String)>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT at, score, comment FROM ratings WHERE faq_id=?1 AND comment != '' ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![faq_id, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })
}
