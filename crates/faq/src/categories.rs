//! The city's category scheme as a managed list: editors pick a category from it instead
//! of typing one (a typo made a new category on the public site). Each has a kind — by
//! field (分野), life event (ライフイベント) or area (地域) — and is a path `大分類 > 小分類`.
//! The first start fills it from the categories the entries already use.

use crate::db::Db;
use crate::error::{FaqError, Result};
use rusqlite::params;

pub const KINDS: [&str; 3] = ["分野", "ライフイベント", "地域"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub path: String,
    pub kind: String,
}

pub fn list(db: &Db) -> Result<Vec<Category>> {
    db.with(|c| {
        let mut st = c.prepare_cached("SELECT path, kind FROM categories ORDER BY kind, path")?;
        let rows = st.query_map([], |r| {
            Ok(Category {
                path: r.get(0)?,
                kind: r.get(1)?,
            })
        })?;
        rows.collect()
    })
}

pub fn contains(db: &Db, path: &str) -> Result<bool> {
    db.with(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM categories WHERE path=?1",
            [path],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    })
}

/// Normalises the spacing around `>` so "くらし>ごみ" and "くらし > ごみ" are one path.
pub fn normalise(path: &str) -> String {
    path.split('>')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" > ")
}

pub fn add(db: &Db, path: &str, kind: &str) -> Result<()> {
    let path = normalise(path);
    if path.is_empty() || path.chars().count() > 100 {
        return Err(FaqError::Invalid(vec!["カテゴリは1〜100文字です".into()]));
    }
    if !KINDS.contains(&kind) {
        return Err(FaqError::Invalid(vec![format!(
            "種類は {} のいずれかです",
            KINDS.join("・")
        )]));
    }
    db.with(|c| {
        c.execute(
            "INSERT INTO categories (path, kind) VALUES (?1, ?2) ON CONFLICT(path) DO UPDATE SET kind=excluded.kind",
            params![path, kind],
        )
        .map(|_| ())
    })
}

/// Removes a category no entry uses; refuses (with the count) otherwise.
pub fn remove(db: &Db, path: &str) -> Result<()> {
    let used: i64 = db.with(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM entries WHERE category=?1",
            [path],
            |r| r.get(0),
        )
    })?;
    if used > 0 {
        return Err(FaqError::Invalid(vec![format!(
            "「{path}」は{used}件のFAQで使われているため削除できません"
        )]));
    }
    db.with(|c| {
        c.execute("DELETE FROM categories WHERE path=?1", [path])
            .map(|_| ())
    })
}

/// Adds every category the entries use that the list lacks (first start, imports).
pub fn adopt_used(db: &Db) -> Result<usize> {
    db.with(|c| {
        c.execute(
            "INSERT OR IGNORE INTO categories (path, kind)
             SELECT DISTINCT category, CASE WHEN category LIKE 'ライフイベント%' THEN 'ライフイベント' ELSE '分野' END
             FROM entries WHERE category != ''",
            [],
        )
    })
}
