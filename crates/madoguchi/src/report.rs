//! `madoguchi report daily|monthly|half|yearly PERIOD --out FILE`: the city's reports
//! (第3-4) from the call records in the data folder, as xlsx (tables and charts) or CSV
//! (every call), chosen by the file's extension.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// The call records' file in the data folder (the switch writes it).
pub const CALLS_DB: &str = "calls.sqlite";

pub fn run(
    kind: &str,
    period: &str,
    out: &Path,
    config: Option<&Path>,
    service_start: Option<&str>,
) -> anyhow::Result<()> {
    let period = stats::Period::parse(kind, period)?;
    let start = match service_start {
        Some(s) => match stats::Period::parse("daily", s)? {
            stats::Period::Day(d) => d,
            _ => unreachable!("daily parses to a day"),
        },
        None => stats::report::SERVICE_START,
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("xlsx") | Some("csv")) {
        bail!(
            "--out {} must end in .xlsx (tables and charts) or .csv (every call)",
            out.display()
        );
    }
    let site = crate::site::Site::load(config)?;
    let db: PathBuf = site.data_dir()?.join(CALLS_DB);
    if !db.exists() {
        bail!(
            "no call records at {} (from {}): the switch writes them once calls have ended",
            db.display(),
            site.source
        );
    }
    let store = stats::Store::open(&db)?;
    let calendar = dialplan::Calendar::new(&site.cfg.hours);
    let (from, to) = period.range_ms(calendar.offset_minutes());
    let records = store.range(from, to)?;
    let report = stats::report::Report::build(period, &records, &calendar, start);
    match ext.as_deref() {
        Some("xlsx") => stats::report::write_xlsx(&report, out)?,
        _ => {
            let f = std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            stats::report::write_csv(&report, std::io::BufWriter::new(f))?;
        }
    }
    println!(
        "{} {}: 総着信 {} 件、応答 {} 件 → {}",
        period.title_ja(),
        kind,
        report.breakdown.total.offered,
        report.breakdown.total.answered,
        out.display()
    );
    Ok(())
}
