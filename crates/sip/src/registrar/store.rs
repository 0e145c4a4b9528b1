//! Persistence, so that phones stay reachable across a restart of the switch instead of
//! being unreachable until each re-registers (up to `max_expires` later).
//!
//! The file is JSON, written atomically: a temporary file in the same directory, fsync,
//! rename over the old file, fsync of the directory. A crash at any point leaves either
//! the old file or the new one, never a torn one.

use super::{Binding, Registrar, RegistrarConfig};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

const VERSION: u32 = 1;

/// Every binding at one moment: taken where the registrar lives, written anywhere (the
/// switch takes it on its SIP core task and writes it on another thread).
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    version: u32,
    domain: String,
    bindings: Vec<Binding>,
}

impl Registrar {
    /// Write every binding to `path` atomically.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        self.snapshot().write(path)
    }

    /// The bindings as they are now, to be written later.
    pub fn snapshot(&self) -> Snapshot {
        let mut bindings: Vec<Binding> = self.iter().cloned().collect();
        // A stable order makes the file diffable and the output reproducible.
        bindings.sort_by(|a, b| (&a.aor, &a.contact).cmp(&(&b.aor, &b.contact)));
        Snapshot {
            version: VERSION,
            domain: self.domain.clone(),
            bindings,
        }
    }

    /// Read a file written by `save`. Bindings already expired at `now_unix_secs`, and
    /// bindings of another domain (the configuration changed), are dropped. A missing
    /// file is an `io::ErrorKind::NotFound` error: the caller starts empty.
    pub fn load(
        path: &Path,
        domain: &str,
        cfg: RegistrarConfig,
        now_unix_secs: u64,
    ) -> io::Result<Registrar> {
        let bytes = fs::read(path)?;
        let snap: Snapshot = serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if snap.version != VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "registrar file version {} (expected {VERSION})",
                    snap.version
                ),
            ));
        }
        let mut reg = Registrar::new(domain, cfg);
        for b in snap.bindings {
            if b.expires_at <= now_unix_secs {
                continue;
            }
            let Some((user, host)) = b.aor.rsplit_once('@') else {
                continue;
            };
            if !host.eq_ignore_ascii_case(&reg.domain) {
                continue;
            }
            reg.by_user.entry(user.to_string()).or_default().push(b);
        }
        Ok(reg)
    }
}

impl Snapshot {
    /// Write to `path` atomically (temporary file, fsync, rename, fsync of the folder).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let file_name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "registrar path has no file name",
            )
        })?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        {
            // Operators' addresses: readable by the service only (issue 9).
            let mut f = private_file(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        // The rename is only durable once the directory entry is on disk.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
}

/// Create (truncate) a file only its owner may read, whatever the umask.
fn private_file(path: &Path) -> io::Result<File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    // A file left by an older version keeps its mode on open: set it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}
