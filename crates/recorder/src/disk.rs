//! Free space and file helpers that touch the file system directly.

use sha2::{Digest, Sha256};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes available to an unprivileged writer on the file system holding `path`
/// (statvfs `f_bavail`: root's reserved blocks are not ours to fill).
pub fn free_space(path: &Path) -> io::Result<u64> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` a properly sized out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// SHA-256 of a whole file, hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Makes a new directory entry durable (fsync of the directory itself).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// True when an I/O error means the disk is full.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// A call id as a file name: SIP Call-IDs may hold `/`, `@` and other characters that
/// do not belong in a path. Keeps `[A-Za-z0-9._@-]`, replaces the rest with `_`.
pub fn file_stem_for(call_id: &str) -> String {
    let mut s: String = call_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_become_safe_file_names() {
        assert_eq!(
            file_stem_for("a84b4c76e66710@pc33.example.com"),
            "a84b4c76e66710@pc33.example.com"
        );
        assert_eq!(file_stem_for("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(file_stem_for(""), "_");
    }

    #[test]
    fn free_space_of_the_temp_dir_is_known() {
        assert!(free_space(&std::env::temp_dir()).is_ok());
        assert!(free_space(Path::new("/no/such/dir/anywhere")).is_err());
    }
}
