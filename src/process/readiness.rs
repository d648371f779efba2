//! What readiness means: the host's roots are what they claim to be, and
//! the core collectors can read them. A DaemonSet whose volume mounts are
//! wrong (`--path.procfs` or `--path.sysfs` pointing at an empty directory
//! of the container) answers 200 on `/metrics` with most collectors failed;
//! this check lets its readiness probe say so instead.
//!
//! - **procfs**: `--path.procfs` is a procfs (`statfs` type
//!   `PROC_SUPER_MAGIC`), or a directory tree holding procfs's files (the
//!   test fixtures, a copy of a host's files); either way the files the core
//!   collectors read, `stat`, `meminfo`, `loadavg` and the mount table
//!   (`1/mountinfo`, else `self/mountinfo`, as the filesystem collector
//!   reads it), must be regular files that can be read.
//! - **sysfs**: `--path.sysfs` is a sysfs (`SYSFS_MAGIC`), or a directory
//!   tree holding `class` and `devices/system/cpu`, as every sysfs does.
//!
//! Only the two roots themselves are given to `statfs`, never a mount
//! under them or under the root filesystem, and files are opened without
//! blocking: a FIFO (or any file that is not regular) fails the check
//! rather than holding it. The caller still bounds the check in time, as a
//! root on a hung network filesystem could block any call.
//!
//! May import: the standard library, `libc` and [`crate::host`] (through
//! the caller's paths only).

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::host::Host;

/// `f_type` of procfs, from `<linux/magic.h>`.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `f_type` of sysfs, from `<linux/magic.h>`.
const SYSFS_MAGIC: i64 = 0x6265_6572;

/// The procfs files the core collectors read (cpu, meminfo, loadavg).
const PROCFS_FILES: [&str; 3] = ["stat", "meminfo", "loadavg"];

/// What a sysfs tree holds, whatever the host's hardware.
const SYSFS_DIRS: [&str; 2] = ["class", "devices/system/cpu"];

/// The most read of each file: enough to prove it reads, cheap for a probe.
const READ_BYTES: u64 = 4096;

/// What a root turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// The kernel's own filesystem (procfs or sysfs).
    Kernel,
    /// A directory tree of its files, on another filesystem.
    Tree,
}

/// The roots as checked: how each was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roots {
    /// How `--path.procfs` was recognised.
    pub procfs: RootKind,
    /// How `--path.sysfs` was recognised.
    pub sysfs: RootKind,
}

/// Checks `host`'s procfs and sysfs roots (see the module documentation).
/// On failure, the reason names the flag, the path and what is wrong.
pub fn check(host: &Host) -> Result<Roots, String> {
    Ok(Roots {
        procfs: check_procfs(host)?,
        sysfs: check_sysfs(host.sysfs())?,
    })
}

fn check_procfs(host: &Host) -> Result<RootKind, String> {
    let root = host.procfs();
    let kind = root_kind(root, PROC_SUPER_MAGIC)
        .map_err(|e| format!("--path.procfs {}: {e}", root.display()))?;
    let not_procfs = |problem: String| match kind {
        RootKind::Kernel => format!("--path.procfs {}: {problem}", root.display()),
        RootKind::Tree => format!(
            "--path.procfs {} is not a procfs, nor a tree of its files: {problem}; \
             mount the host's /proc there",
            root.display()
        ),
    };
    for file in PROCFS_FILES {
        read_start(&host.proc_path(file)).map_err(|e| not_procfs(format!("{file}: {e}")))?;
    }
    let init = read_start(&host.proc_path("1/mountinfo"));
    if let Err(init_error) = init {
        read_start(&host.proc_path("self/mountinfo")).map_err(|e| {
            not_procfs(format!(
                "1/mountinfo: {init_error}, and self/mountinfo: {e}"
            ))
        })?;
    }
    Ok(kind)
}

fn check_sysfs(root: &Path) -> Result<RootKind, String> {
    let kind = root_kind(root, SYSFS_MAGIC)
        .map_err(|e| format!("--path.sysfs {}: {e}", root.display()))?;
    if kind == RootKind::Tree {
        if let Some(missing) = SYSFS_DIRS.iter().find(|dir| !root.join(dir).is_dir()) {
            return Err(format!(
                "--path.sysfs {} is not a sysfs, nor a tree of its files: it has no {missing} \
                 directory; mount the host's /sys there",
                root.display()
            ));
        }
    }
    Ok(kind)
}

/// Whether the directory at `root` is on the filesystem of type `magic`.
fn root_kind(root: &Path, magic: i64) -> io::Result<RootKind> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(root)?;
    // SAFETY: all-zero bytes are a valid `struct statfs`.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open for the call, the buffer writable.
    if unsafe { libc::fstatfs(dir.as_raw_fd(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs by target.
    let kind = stat.f_type as i64;
    Ok(if kind == magic {
        RootKind::Kernel
    } else {
        RootKind::Tree
    })
}

/// Opens `path` without blocking, insists on a regular file, and reads its
/// first bytes.
fn read_start(path: &Path) -> io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut start = Vec::with_capacity(READ_BYTES as usize);
    file.take(READ_BYTES).read_to_end(&mut start)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(dir: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
    }

    fn host(procfs: &Path, sysfs: &Path) -> Host {
        Host::new(procfs, sysfs, "/", "/run/udev/data")
    }

    #[test]
    fn this_machines_roots_are_the_kernels() {
        let roots = check(&host(Path::new("/proc"), Path::new("/sys"))).unwrap();
        assert_eq!(roots.procfs, RootKind::Kernel);
        assert_eq!(roots.sysfs, RootKind::Kernel);
    }

    #[test]
    fn the_fixture_tree_is_accepted_as_a_tree() {
        let roots = check(&host(&fixture("proc"), &fixture("sys"))).unwrap();
        assert_eq!(roots.procfs, RootKind::Tree);
        assert_eq!(roots.sysfs, RootKind::Tree);
    }

    #[test]
    fn empty_or_missing_roots_are_refused_naming_the_flag() {
        let empty = tempfile::tempdir().unwrap();
        let err = check(&host(empty.path(), Path::new("/sys"))).unwrap_err();
        assert!(err.starts_with("--path.procfs "), "{err}");
        assert!(err.contains("is not a procfs"), "{err}");
        assert!(err.contains("stat:"), "{err}");

        let err = check(&host(Path::new("/proc"), empty.path())).unwrap_err();
        assert!(err.starts_with("--path.sysfs "), "{err}");
        assert!(err.contains("no class directory"), "{err}");

        let err = check(&host(Path::new("/nonexistent/proc"), Path::new("/sys"))).unwrap_err();
        assert!(err.contains("/nonexistent/proc"), "{err}");
        assert!(err.contains("No such file"), "{err}");
    }

    #[test]
    fn a_fifo_fails_the_check_without_blocking() {
        let tree = tempfile::tempdir().unwrap();
        for file in ["stat", "meminfo"] {
            std::fs::write(tree.path().join(file), "cpu 1 2 3\n").unwrap();
        }
        let fifo =
            std::ffi::CString::new(tree.path().join("loadavg").as_os_str().as_encoded_bytes())
                .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = check(&host(tree.path(), Path::new("/sys"))).unwrap_err();
        assert!(err.contains("loadavg: not a regular file"), "{err}");
    }

    #[test]
    fn the_mount_table_falls_back_to_self_and_is_required() {
        let tree = tempfile::tempdir().unwrap();
        for file in PROCFS_FILES {
            std::fs::write(tree.path().join(file), "x\n").unwrap();
        }
        let err = check(&host(tree.path(), Path::new("/sys"))).unwrap_err();
        assert!(err.contains("1/mountinfo"), "{err}");
        assert!(err.contains("self/mountinfo"), "{err}");
        std::fs::create_dir(tree.path().join("self")).unwrap();
        std::fs::write(tree.path().join("self/mountinfo"), "x\n").unwrap();
        assert!(check(&host(tree.path(), Path::new("/sys"))).is_ok());
    }
}
