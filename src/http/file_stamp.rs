//! Telling whether a file changed on disk without reading it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What identifies one version of a file on disk: a Secret or ConfigMap
/// volume swaps a symlink (new inode), an editor or cert-manager rewrites in
/// place (new mtime or size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
    len: u64,
}

impl FileStamp {
    /// The stamp of the file `path` names now (following symlinks), or
    /// `None` if it cannot be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = fs::metadata(path).ok()?;
        Some(FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            len: meta.len(),
        })
    }
}
