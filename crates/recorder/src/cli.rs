//! Plain functions behind `madoguchi recordings list|request-deletion|approve|delete`.
//! Each returns the text to print, so the command line stays a thin shell and the
//! output is testable.

use crate::catalogue::{RecordingRow, SearchFilter};
use crate::error::{RecorderError, Result};
use crate::recorder::Recorder;
use crate::time::{format_local, parse_local_date};
use std::fmt::Write;
use std::time::SystemTime;

/// `list [--from D] [--to D] [--number N] [--operator O] [--caller C]`: dates are
/// local `YYYY-MM-DD`, `to` inclusive.
#[derive(Debug, Clone, Default)]
pub struct ListArgs {
    pub from: Option<String>,
    pub to: Option<String>,
    pub number: Option<String>,
    pub operator: Option<String>,
    pub caller: Option<String>,
    pub include_deleted: bool,
}

pub fn list(rec: &Recorder, a: &ListArgs) -> Result<String> {
    let off = rec.config().utc_offset_secs;
    let date = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                parse_local_date(s, off).ok_or_else(|| {
                    RecorderError::Invalid(format!(
                        "--{name} must be a date like 2026-11-25, not '{s}'"
                    ))
                })
            })
            .transpose()
    };
    let f = SearchFilter {
        from: date("from", &a.from)?,
        to: date("to", &a.to)?.map(|t| t + 86_400),
        number: a.number.clone(),
        operator: a.operator.clone(),
        caller: a.caller.clone(),
        state: None,
        include_deleted: a.include_deleted,
        limit: u32::MAX,
        offset: 0,
    };
    let rows = rec.catalogue().search(&f)?;
    let mut out = String::from("id\tstart\tnumber\tcaller\toperators\tseconds\tstate\tpath\n");
    for r in &rows {
        line(&mut out, r, off);
    }
    let _ = writeln!(out, "{} recordings", rows.len());
    Ok(out)
}

fn line(out: &mut String, r: &RecordingRow, off: i32) {
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        r.id,
        format_local(r.started_at, off),
        r.number,
        r.caller,
        r.operators.join(","),
        r.duration_ms
            .map(|d| (d / 1000).to_string())
            .unwrap_or_else(|| "-".into()),
        r.state.as_str(),
        r.path
    );
}

/// `request-deletion --by NAME`: lists what is due in a new request; deletes nothing.
pub fn request_deletion(rec: &Recorder, who: &str, now: SystemTime) -> Result<String> {
    let req = rec.create_deletion_request(now, who)?;
    let off = rec.config().utc_offset_secs;
    let mut out = format!(
        "deletion request {} by {}: {} recordings, nothing is deleted until it is approved\n",
        req.id,
        req.created_by,
        req.items.len()
    );
    for r in &req.items {
        line(&mut out, r, off);
    }
    let _ = writeln!(
        out,
        "approve with: madoguchi recordings approve {} --by NAME --reference DOCUMENT",
        req.id
    );
    Ok(out)
}

/// `approve REQUEST --by NAME --reference DOCUMENT`: records the approval, then deletes.
pub fn approve(
    rec: &Recorder,
    request: i64,
    who: &str,
    reference: &str,
    now: SystemTime,
) -> Result<String> {
    let a = rec.approve(request, who, reference, now)?;
    let mut out = format!(
        "deletion request {request} approved by {who} ({reference}): {} recordings deleted",
        a.deleted.len()
    );
    if !a.skipped.is_empty() {
        let _ = write!(out, ", {} already deleted earlier", a.skipped.len());
    }
    out.push('\n');
    Ok(out)
}

/// `delete ID --by NAME --reason TEXT`: one recording, before its time.
pub fn delete(rec: &Recorder, id: i64, who: &str, reason: &str, now: SystemTime) -> Result<String> {
    let r = rec.delete_one(id, who, reason, now)?;
    Ok(format!(
        "recording {} ({}) deleted by {who}; tombstone kept with sha256 {}\n",
        r.id,
        r.call_id,
        r.sha256.as_deref().unwrap_or("-")
    ))
}
