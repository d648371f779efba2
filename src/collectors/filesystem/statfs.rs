//! The `statfs(2)` call, and the text node_exporter puts in its
//! `device_error` label when the call fails.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What `statfs(2)` says of one filesystem, in node_exporter's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FsUsage {
    /// Total size in bytes (`f_blocks * f_bsize`).
    pub size_bytes: f64,
    /// Free bytes, including those reserved for root (`f_bfree * f_bsize`).
    pub free_bytes: f64,
    /// Bytes available to unprivileged users (`f_bavail * f_bsize`).
    pub avail_bytes: f64,
    /// Total inodes (`f_files`).
    pub files: f64,
    /// Free inodes (`f_ffree`).
    pub files_free: f64,
}

/// Calls `statfs(2)` on `path`. It may block for as long as the filesystem
/// does (a dead NFS server, a hung FUSE daemon): call it from a thread that
/// can afford to wait, see [`super::statfs_pool`].
pub fn statfs(path: &Path) -> io::Result<FsUsage> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `statfs` only writes to the buffer, and all-zero bytes are a
    // valid `struct statfs`.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a valid NUL-terminated string and `buf` a valid,
    // writable `struct statfs`, both alive for the whole call.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Multiplied as floats, as node_exporter does, so no overflow is possible.
    let block_size = buf.f_bsize as f64;
    Ok(FsUsage {
        size_bytes: buf.f_blocks as f64 * block_size,
        free_bytes: buf.f_bfree as f64 * block_size,
        avail_bytes: buf.f_bavail as f64 * block_size,
        files: buf.f_files as f64,
        files_free: buf.f_ffree as f64,
    })
}

/// The `device_error` label value for a failed `statfs`: Go's text for the
/// errno, e.g. `permission denied`. The messages statfs can give are fixed
/// here so that the label does not depend on the C library's wording; any
/// other errno falls back to the C library's message, lower-cased as Go's
/// are.
pub fn error_label(err: &io::Error) -> String {
    let Some(errno) = err.raw_os_error() else {
        return err.to_string();
    };
    let known = match errno {
        libc::EPERM => "operation not permitted",
        libc::ENOENT => "no such file or directory",
        libc::EINTR => "interrupted system call",
        libc::EIO => "input/output error",
        libc::ENXIO => "no such device or address",
        libc::ENOMEM => "cannot allocate memory",
        libc::EACCES => "permission denied",
        libc::EFAULT => "bad address",
        libc::EBUSY => "device or resource busy",
        libc::ENODEV => "no such device",
        libc::ENOTDIR => "not a directory",
        libc::EINVAL => "invalid argument",
        libc::ENAMETOOLONG => "file name too long",
        libc::ENOSYS => "function not implemented",
        libc::ELOOP => "too many levels of symbolic links",
        libc::EOVERFLOW => "value too large for defined data type",
        libc::EOPNOTSUPP => "operation not supported",
        libc::ENOTCONN => "transport endpoint is not connected",
        libc::ETIMEDOUT => "connection timed out",
        libc::EHOSTDOWN => "host is down",
        libc::EHOSTUNREACH => "no route to host",
        libc::ESTALE => "stale file handle",
        libc::EREMOTEIO => "remote I/O error",
        libc::ENOKEY => "required key not available",
        libc::EKEYEXPIRED => "key has expired",
        _ => return lower_first(&libc_message(err)),
    };
    known.to_string()
}

/// The C library's message for an OS error, without Rust's ` (os error N)`.
fn libc_message(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statfs_of_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let usage = statfs(dir.path()).unwrap();
        assert!(usage.size_bytes > 0.0);
        assert!(usage.free_bytes <= usage.size_bytes);
        assert!(usage.avail_bytes <= usage.free_bytes);
    }

    #[test]
    fn statfs_errors_carry_the_errno() {
        let err = statfs(Path::new("/nonexistent/hostwatch/test")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(error_label(&err), "no such file or directory");
        let err = statfs(Path::new("/a\0b")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error_label(&err), "path contains a NUL byte");
    }

    #[test]
    fn labels_are_go_texts() {
        let label = |errno| error_label(&io::Error::from_raw_os_error(errno));
        assert_eq!(label(libc::EACCES), "permission denied");
        assert_eq!(label(libc::ENOTCONN), "transport endpoint is not connected");
        assert_eq!(label(libc::EIO), "input/output error");
        // Not in the table: the C library's text, lower-cased.
        assert_eq!(label(libc::EXDEV), "invalid cross-device link");
        assert_eq!(lower_first(""), "");
    }
}
