//! The host's mountinfo held open, to learn whether the mount table changed
//! without reading it.
//!
//! The kernel marks an open mountinfo file when its mount namespace changes
//! (a mount, an unmount, a remount, a mount propagated from elsewhere):
//! `poll(2)` then reports `POLLPRI | POLLERR` once, and again only after
//! the next change (proc(5)). Polled before each scrape, a held file tells
//! whether the table last read still holds; on a host whose mounts stand
//! still, most hosts most of the time, the kernel then neither formats the
//! table nor does the agent parse it (a Kubernetes node lists hundreds of
//! mounts). Only a file on procfs is held: any other (a copied tree) cannot
//! tell, and is read every time.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::kept_files::on_kernel_filesystem;
use super::read::read_file_text;
use super::Host;

/// What polling a held mountinfo file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableState {
    /// No change since the file was opened or last polled.
    Unchanged,
    /// The table changed since then.
    Changed,
    /// The file cannot tell any more: open it again.
    Broken,
}

/// A mountinfo file on procfs, held open to be polled.
#[derive(Debug)]
pub struct WatchedMountInfo {
    path: PathBuf,
    file: File,
}

impl WatchedMountInfo {
    /// Opens and reads the host's mountinfo (PID 1's, else the agent's own,
    /// as [`Host::read_init_or_self`] reads it): its path and text, and the
    /// file held open when it can be watched. On failure, the path that
    /// failed, with the error.
    pub fn open(
        host: &Host,
    ) -> Result<(PathBuf, String, Option<WatchedMountInfo>), (PathBuf, io::Error)> {
        let (path, file) = host.open_init_or_self("mountinfo")?;
        let text = read_file_text(&file).map_err(|e| (path.clone(), e))?;
        let watched = WatchedMountInfo::watch(path.clone(), file);
        Ok((path, text, watched))
    }

    /// Holds `file`, read from `path` just now, if it lies on procfs.
    fn watch(path: PathBuf, file: File) -> Option<WatchedMountInfo> {
        on_kernel_filesystem(&file).then_some(WatchedMountInfo { path, file })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the table changed since the file was opened or last polled.
    pub fn poll(&self) -> TableState {
        let mut poll = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one pollfd, valid for the call; a timeout of 0 never
        // blocks.
        if unsafe { libc::poll(&mut poll, 1, 0) } < 0 || poll.revents & libc::POLLNVAL != 0 {
            return TableState::Broken;
        }
        if poll.revents & (libc::POLLPRI | libc::POLLERR) != 0 {
            TableState::Changed
        } else {
            TableState::Unchanged
        }
    }

    /// Reads the table afresh through the held file.
    pub fn read(&self) -> io::Result<String> {
        read_file_text(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    fn mount_tmpfs(target: &Path) -> io::Result<()> {
        let target = CString::new(target.as_os_str().as_bytes()).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call.
        let done = unsafe {
            libc::mount(
                c"none".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    #[test]
    fn a_file_on_procfs_reports_each_change_once() {
        // In a thread with a mount namespace of its own, which ends with it.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().to_path_buf();
        std::thread::spawn(move || {
            // SAFETY: unshare and mount affect only this thread's namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
                let err = io::Error::last_os_error();
                assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
                eprintln!("skipped: no privilege for a mount namespace");
                return;
            }
            // SAFETY: as above; makes this namespace's mounts private.
            let private = unsafe {
                libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            };
            assert_eq!(private, 0, "{}", io::Error::last_os_error());

            let path = PathBuf::from("/proc/thread-self/mountinfo");
            let watched = WatchedMountInfo::watch(path.clone(), File::open(&path).unwrap())
                .expect("on procfs");
            let before = watched.read().unwrap();
            assert_eq!(watched.poll(), TableState::Unchanged);

            mount_tmpfs(&target).unwrap();
            assert_eq!(watched.poll(), TableState::Changed);
            assert_eq!(watched.poll(), TableState::Unchanged, "reported once");
            let mounted = watched.read().unwrap();
            assert_eq!(mounted.lines().count(), before.lines().count() + 1);

            let target = CString::new(target.as_os_str().as_bytes()).unwrap();
            // SAFETY: a NUL-terminated path that outlives the call.
            assert_eq!(unsafe { libc::umount(target.as_ptr()) }, 0);
            assert_eq!(watched.poll(), TableState::Changed);
            assert_eq!(watched.read().unwrap(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn files_elsewhere_are_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mountinfo");
        std::fs::write(&path, "").unwrap();
        assert!(WatchedMountInfo::watch(path.clone(), File::open(&path).unwrap()).is_none());
    }
}
