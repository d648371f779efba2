//! The host being observed: the roots of its procfs, sysfs, root filesystem and
//! udev database, and the one place where paths under them are built.
//!
//! In a pod the host is mounted somewhere like `/host`, so no collector may
//! name `/proc` or `/sys` itself: every path goes through [`Host`].

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Largest file a collector reads in one go. Proc and sys files are small;
/// anything bigger is garbage or hostile, and is cut rather than read whole.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The roots under which the observed host's filesystems are mounted.
#[derive(Debug, Clone)]
pub struct Host {
    procfs: PathBuf,
    sysfs: PathBuf,
    rootfs: PathBuf,
    udev_data: PathBuf,
}

impl Host {
    /// A host whose procfs, sysfs, root filesystem and udev database are
    /// mounted at the given paths (node_exporter's `--path.*` flags).
    pub fn new(
        procfs: impl Into<PathBuf>,
        sysfs: impl Into<PathBuf>,
        rootfs: impl Into<PathBuf>,
        udev_data: impl Into<PathBuf>,
    ) -> Host {
        Host {
            procfs: procfs.into(),
            sysfs: sysfs.into(),
            rootfs: rootfs.into(),
            udev_data: udev_data.into(),
        }
    }

    /// The procfs root, as given.
    pub fn procfs(&self) -> &Path {
        &self.procfs
    }

    /// The sysfs root, as given.
    pub fn sysfs(&self) -> &Path {
        &self.sysfs
    }

    /// The root filesystem, as given.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// The udev database directory, as given.
    pub fn udev_data(&self) -> &Path {
        &self.udev_data
    }

    /// A path under the procfs root, e.g. `proc_path("stat")`.
    pub fn proc_path(&self, relative: &str) -> PathBuf {
        self.procfs.join(relative)
    }

    /// A path under the sysfs root, e.g. `sys_path("class/net")`.
    pub fn sys_path(&self, relative: &str) -> PathBuf {
        self.sysfs.join(relative)
    }

    /// A host path (absolute, as the host sees it) under the root filesystem,
    /// e.g. `root_path("/etc/os-release")`.
    pub fn root_path(&self, host_path: &str) -> PathBuf {
        self.rootfs.join(host_path.trim_start_matches('/'))
    }

    /// Maps a path seen through the rootfs mount back to the host's own path,
    /// the inverse of [`Host::root_path`]. Paths outside rootfs come back as is.
    pub fn host_path_of(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.rootfs) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// Reads a whole file as text, cut at [`MAX_FILE_BYTES`], with invalid UTF-8
/// replaced rather than refused: kernel files are ASCII, and a garbage byte
/// must cost one field, not the collector.
pub fn read_text(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// Reads a one-value sysfs/procfs attribute, trimmed of surrounding whitespace.
pub fn read_trimmed(path: &Path) -> io::Result<String> {
    let text = read_text(path)?;
    Ok(text.trim().to_string())
}

/// Largest sysfs attribute: the kernel formats one into a single page.
const SYSFS_ATTRIBUTE_BYTES: usize = 4096;

/// Reads a sysfs attribute with a single `read(2)`, untrimmed, with invalid
/// UTF-8 replaced. The kernel hands over a whole attribute in one read; a
/// second read is not needed, and some broken hwmon drivers answer it with
/// EAGAIN forever.
pub fn read_sysfs_attribute(path: &Path) -> io::Result<String> {
    let mut buffer = vec![0; SYSFS_ATTRIBUTE_BYTES];
    let mut file = File::open(path)?;
    let length = loop {
        match file.read(&mut buffer) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    buffer.truncate(length);
    Ok(match String::from_utf8(buffer) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_under_the_roots() {
        let host = Host::new("/host/proc", "/host/sys", "/host/root", "/run/udev/data");
        assert_eq!(
            host.proc_path("1/mountinfo"),
            Path::new("/host/proc/1/mountinfo")
        );
        assert_eq!(host.sys_path("class/net"), Path::new("/host/sys/class/net"));
        assert_eq!(
            host.root_path("/etc/os-release"),
            Path::new("/host/root/etc/os-release")
        );
        assert_eq!(
            host.host_path_of(Path::new("/host/root/var/lib")),
            Path::new("/var/lib")
        );
        assert_eq!(host.host_path_of(Path::new("/host/root")), Path::new("/"));
    }

    #[test]
    fn root_path_with_slash_root_is_identity() {
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        assert_eq!(
            host.root_path("/etc/os-release"),
            Path::new("/etc/os-release")
        );
        assert_eq!(host.host_path_of(Path::new("/etc")), Path::new("/etc"));
    }

    #[test]
    fn sysfs_attributes_are_read_whole_and_untrimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("temp1_label");
        std::fs::write(&path, b"Package id 0\n").unwrap();
        assert_eq!(read_sysfs_attribute(&path).unwrap(), "Package id 0\n");
        assert!(read_sysfs_attribute(dir.path()).is_err(), "a directory");
        assert!(read_sysfs_attribute(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn read_text_replaces_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage");
        std::fs::write(&path, b"ok \xff\xfe 1\n").unwrap();
        let text = read_text(&path).unwrap();
        assert!(text.starts_with("ok "));
        assert!(text.ends_with(" 1\n"));
    }
}
