//! Files linked to an entry (PDF and images). Stored under the data directory by their
//! SHA-256, so a file uploaded twice is kept once; the type is decided from the bytes,
//! never from what the browser claimed.

use crate::clock::unix_now;
use crate::db::Db;
use crate::error::{FaqError, Result};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: i64,
    pub faq_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// The content type of an allowed file, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Keeps the name readable but harmless: no path parts, no control characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

pub fn path_of(dir: &Path, sha: &str) -> PathBuf {
    dir.join(sha)
}

pub fn save(
    db: &Db,
    dir: &Path,
    faq_id: &str,
    filename: &str,
    bytes: &[u8],
    by: &str,
) -> Result<i64> {
    let Some(ct) = sniff(bytes) else {
        return Err(FaqError::Invalid(vec![
            "添付できるのはPDF・PNG・JPEG・GIF・WebPのファイルです".into(),
        ]));
    };
    let sha = hex::encode(Sha256::digest(bytes));
    std::fs::create_dir_all(dir)?;
    let path = path_of(dir, &sha);
    if !path.exists() {
        // Write then rename, so a crash never leaves a half file under the final name.
        let tmp = dir.join(format!("{sha}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
    }
    let name = clean_name(filename);
    db.with(|c| {
        c.execute(
            "INSERT INTO attachments (faq_id, filename, content_type, size, sha256, at, by) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![faq_id, name, ct, bytes.len() as i64, sha, unix_now(), by],
        )?;
        Ok(c.last_insert_rowid())
    })
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        faq_id: r.get(1)?,
        filename: r.get(2)?,
        content_type: r.get(3)?,
        size: r.get(4)?,
        sha256: r.get(5)?,
    })
}

pub fn list(db: &Db, faq_id: &str) -> Result<Vec<Attachment>> {
    db.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT id, faq_id, filename, content_type, size, sha256 FROM attachments WHERE faq_id=?1 ORDER BY id",
        )?;
        let rows = st.query_map([faq_id], row)?;
        rows.collect()
    })
}

pub fn get(db: &Db, id: i64) -> Result<Option<Attachment>> {
    db.with(|c| {
        c.query_row(
            "SELECT id, faq_id, filename, content_type, size, sha256 FROM attachments WHERE id=?1",
            [id],
            row,
        )
        .optional()
    })
}

/// Removes the link, and the file when nothing else points at it.
pub fn delete(db: &Db, dir: &Path, id: i64) -> Result<Option<Attachment>> {
    let Some(a) = get(db, id)? else {
        return Ok(None);
    };
    let others: i64 = db.with(|c| {
        c.execute("DELETE FROM attachments WHERE id=?1", [id])?;
        c.query_row(
            "SELECT COUNT(*) FROM attachments WHERE sha256=?1",
            [&a.sha256],
            |r| r.get(0),
        )
    })?;
    if others == 0 {
        let _ = std::fs::remove_file(path_of(dir, &a.sha256));
    }
    Ok(Some(a))
}
