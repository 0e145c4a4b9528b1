//! Retention with approval. Recordings older than the period become "due"; a deletion
//! request lists the due ones; nothing is removed until an approval (who, reference) is
//! recorded; then exactly the listed files go and tombstones with their hashes stay.
//! Every step writes the audit table in the same transaction as the change it records.
//!
//! All functions take `now` so tests can run months in a moment.

use crate::catalogue::{self, get_row, RecordingRow, State};
use crate::error::{RecorderError, Result};
use crate::recorder::Recorder;
use crate::time::unix_secs;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionRequest {
    pub id: i64,
    pub created_at: i64,
    pub created_by: String,
    /// "pending" or "approved".
    pub state: String,
    pub approved_at: Option<i64>,
    pub approved_by: Option<String>,
    pub reference: Option<String>,
    pub items: Vec<RecordingRow>,
}

/// The outcome of an approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub request_id: i64,
    /// Recordings whose files were removed.
    pub deleted: Vec<i64>,
    /// Listed recordings left alone because they were deleted early meanwhile.
    pub skipped: Vec<i64>,
}

fn non_empty(what: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(RecorderError::Invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

impl Recorder {
    /// Marks complete or interrupted recordings started before `now - retention_days`
    /// as due for deletion. Returns the newly marked ones.
    pub fn mark_due(&self, now: SystemTime) -> Result<Vec<RecordingRow>> {
        let cutoff = unix_secs(now) - self.config().retention_days as i64 * 86_400;
        let mut c = self.catalogue().lock();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = tx
            .prepare("SELECT id FROM recordings WHERE state IN ('complete','interrupted') AND started_at < ?1 ORDER BY id")?
            .query_map([cutoff], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut rows = Vec::new();
        for id in ids {
            tx.execute("UPDATE recordings SET state='due' WHERE id=?1", [id])?;
            let detail = format!("older than {} days", self.config().retention_days);
            catalogue::audit(
                &tx,
                unix_secs(now),
                "system",
                "mark_due",
                Some(id),
                None,
                &detail,
            )?;
            rows.extend(get_row(&tx, id)?);
        }
        tx.commit()?;
        Ok(rows)
    }

    /// Marks what is due and lists every due recording not yet in a pending request
    /// in a new request. Deletes nothing.
    pub fn create_deletion_request(&self, now: SystemTime, who: &str) -> Result<DeletionRequest> {
        non_empty("the name of who requests", who)?;
        self.mark_due(now)?;
        let at = unix_secs(now);
        let mut c = self.catalogue().lock();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = tx
            .prepare(
                "SELECT id FROM recordings r WHERE state='due' AND NOT EXISTS (
                   SELECT 1 FROM deletion_request_items i JOIN deletion_requests q ON q.id = i.request_id
                   WHERE i.recording_id = r.id AND q.state = 'pending') ORDER BY started_at, id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if ids.is_empty() {
            return Err(RecorderError::NothingDue);
        }
        tx.execute(
            "INSERT INTO deletion_requests (created_at, created_by, state) VALUES (?1, ?2, 'pending')",
            params![at, who],
        )?;
        let rid = tx.last_insert_rowid();
        for &id in &ids {
            tx.execute(
                "INSERT INTO deletion_request_items (request_id, recording_id) VALUES (?1, ?2)",
                params![rid, id],
            )?;
        }
        let detail = format!("{} recordings listed for deletion", ids.len());
        catalogue::audit(&tx, at, who, "request_deletion", None, Some(rid), &detail)?;
        tx.commit()?;
        drop(c);
        self.deletion_request(rid)
    }

    pub fn deletion_request(&self, id: i64) -> Result<DeletionRequest> {
        let c = self.catalogue().lock();
        let mut req = c
            .query_row(
                "SELECT id, created_at, created_by, state, approved_at, approved_by, reference
                 FROM deletion_requests WHERE id=?1",
                [id],
                |r| {
                    Ok(DeletionRequest {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        created_by: r.get(2)?,
                        state: r.get(3)?,
                        approved_at: r.get(4)?,
                        approved_by: r.get(5)?,
                        reference: r.get(6)?,
                        items: Vec::new(),
                    })
                },
            )
            .optional()?
            .ok_or(RecorderError::UnknownRequest(id))?;
        let ids: Vec<i64> = c
            .prepare("SELECT recording_id FROM deletion_request_items WHERE request_id=?1 ORDER BY recording_id")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for rid in ids {
            req.items.extend(get_row(&c, rid)?);
        }
        Ok(req)
    }

    /// Records the city's approval of request `id` and removes exactly the files it
    /// lists. `who` is the approver, `reference` the approval document's number.
    pub fn approve(
        &self,
        id: i64,
        who: &str,
        reference: &str,
        now: SystemTime,
    ) -> Result<Approval> {
        non_empty("the approver's name", who)?;
        non_empty("the approval reference", reference)?;
        let at = unix_secs(now);
        let items = {
            let mut c = self.catalogue().lock();
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM deletion_requests WHERE id=?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            match state.as_deref() {
                None => return Err(RecorderError::UnknownRequest(id)),
                Some("approved") => return Err(RecorderError::AlreadyApproved(id)),
                _ => {}
            }
            // The approval is committed before any file goes: if we die half-way, the
            // record says the removal was allowed, never the other way round.
            tx.execute(
                "UPDATE deletion_requests SET state='approved', approved_at=?2, approved_by=?3, reference=?4 WHERE id=?1",
                params![id, at, who, reference],
            )?;
            catalogue::audit(
                &tx,
                at,
                who,
                "approve_deletion",
                None,
                Some(id),
                &format!("reference {reference}"),
            )?;
            tx.commit()?;
            drop(c);
            self.deletion_request(id)?.items
        };
        let mut out = Approval {
            request_id: id,
            deleted: Vec::new(),
            skipped: Vec::new(),
        };
        for row in items {
            if row.state != State::Due {
                out.skipped.push(row.id);
                continue;
            }
            let detail = format!("approved deletion request {id}, reference {reference}");
            self.remove(&row, who, "delete", Some(id), &detail, at)?;
            out.deleted.push(row.id);
        }
        tracing::info!(
            request = id,
            deleted = out.deleted.len(),
            approver = who,
            "deletion approved"
        );
        Ok(out)
    }

    /// Deletes one recording before its time, for `reason` (a citizen's request, a
    /// recording made by mistake). Unknown, already deleted or in-progress recordings
    /// are refused and nothing changes.
    pub fn delete_one(
        &self,
        id: i64,
        who: &str,
        reason: &str,
        now: SystemTime,
    ) -> Result<RecordingRow> {
        non_empty("the name of who deletes", who)?;
        non_empty("the reason", reason)?;
        let row = self
            .catalogue()
            .get(id)?
            .ok_or_else(|| RecorderError::UnknownRecording(id.to_string()))?;
        match row.state {
            State::Deleted => return Err(RecorderError::AlreadyDeleted(id)),
            State::Recording => return Err(RecorderError::StillRecording(id)),
            _ => {}
        }
        self.remove(
            &row,
            who,
            "delete_early",
            None,
            &format!("reason: {reason}"),
            unix_secs(now),
        )?;
        self.catalogue()
            .get(id)?
            .ok_or_else(|| RecorderError::UnknownRecording(id.to_string()))
    }

    /// Removes the file and leaves the tombstone (hash, path, who, when) and the audit
    /// line. A file already missing is noted, not an error: the goal state is reached.
    fn remove(
        &self,
        row: &RecordingRow,
        who: &str,
        action: &str,
        request: Option<i64>,
        detail: &str,
        at: i64,
    ) -> Result<()> {
        let path = self.file_path(&row.path);
        let mut detail = format!("{detail}; sha256 {}", row.sha256.as_deref().unwrap_or("-"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                detail.push_str("; file was already missing")
            }
            Err(e) => return Err(e.into()),
        }
        let mut c = self.catalogue().lock();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE recordings SET state='deleted', deleted_at=?2, deleted_by=?3, delete_reason=?4 WHERE id=?1",
            params![row.id, at, who, detail],
        )?;
        catalogue::audit(&tx, at, who, action, Some(row.id), request, &detail)?;
        tx.commit()?;
        tracing::info!(id = row.id, who, action, "recording deleted");
        Ok(())
    }
}
