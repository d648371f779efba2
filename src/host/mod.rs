//! The host being observed: the roots of its procfs, sysfs, root filesystem and
//! udev database, the one place where paths under them are built, and the
//! machinery that reads them.
//!
//! In a pod the host is mounted somewhere like `/host`, so no collector may
//! name `/proc` or `/sys` itself: every path goes through [`Host`]. How files
//! are read (kept open between scrapes, sysfs attributes in one `read(2)`,
//! tables streamed a line at a time) is decided here and nowhere else.
//!
//! May import: the standard library, `libc`, and the lowest layer
//! ([`crate::unpoisoned`], [`crate::word_hash`]). Nothing here knows of
//! collectors, metrics or kernel file formats.

mod kept_files;
pub mod mount_watch;
pub mod netlink;
mod read;
mod sysfs;

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

pub use read::{
    for_each_line, for_each_table_line, read_file_text, read_text, LineError, MAX_FILE_BYTES,
    MAX_LINE_BYTES, MAX_STREAM_BYTES,
};
pub use sysfs::{read_sysfs_attribute, read_trimmed, SysfsDir};

/// The roots under which the observed host's filesystems are mounted.
#[derive(Debug, Clone)]
pub struct Host {
    procfs: PathBuf,
    sysfs: PathBuf,
    rootfs: PathBuf,
    udev_data: PathBuf,
    /// Set once `<procfs>/1/net` has been read: PID 1 does not come and go,
    /// so later calls to [`Host::net_path`] skip the check.
    init_net_readable: OnceLock<()>,
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
            init_net_readable: OnceLock::new(),
        }
    }

    /// Has every read of files under this host's procfs and sysfs keep the
    /// file open for the next read, at most a quarter of `descriptor_limit`
    /// files (see [`kept_files`]). Called once, at start-up; without it,
    /// each read opens and closes its file.
    pub fn keep_files_open(&self, descriptor_limit: usize) {
        kept_files::keep_files_open(&self.procfs, &self.sysfs, descriptor_limit);
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
        joined(&self.procfs, &[relative])
    }

    /// Reads a file of PID 1's procfs directory (`<procfs>/1/<file>`): the
    /// host init's view, e.g. of the host's mounts when the agent shares the
    /// host's PID namespace. Falls back to the agent's own
    /// (`<procfs>/self/<file>`) when PID 1's is missing or unreadable
    /// (hidepid, owner-only files). Returns the directory read from, with
    /// the text; on failure, the path that failed, with the error.
    pub fn read_init_or_self(&self, file: &str) -> Result<(PathBuf, String), (PathBuf, io::Error)> {
        self.init_or_self(file, read_text)
    }

    /// Opens a file of PID 1's procfs directory, else of the agent's own, as
    /// [`Host::read_init_or_self`] reads one. Returns the file's path.
    pub fn open_init_or_self(&self, file: &str) -> Result<(PathBuf, File), (PathBuf, io::Error)> {
        self.init_or_self(file, |path| File::open(path))
            .map(|(dir, opened)| (joined(&dir, &[file]), opened))
    }

    /// `use_file` on `<procfs>/1/<file>`, else on `<procfs>/self/<file>`
    /// (see [`Host::read_init_or_self`]).
    fn init_or_self<T>(
        &self,
        file: &str,
        use_file: impl Fn(&Path) -> io::Result<T>,
    ) -> Result<(PathBuf, T), (PathBuf, io::Error)> {
        let init = joined(&self.procfs, &["1"]);
        let path = joined(&init, &[file]);
        match use_file(&path) {
            Ok(value) => Ok((init, value)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                tracing::debug!(path = %path.display(), err = %e, "falling back to self/{file}");
                let own = joined(&self.procfs, &["self"]);
                let path = joined(&own, &[file]);
                use_file(&path)
                    .map(|value| (own, value))
                    .map_err(|e| (path, e))
            }
            Err(e) => Err((path, e)),
        }
    }

    /// The host's view of a per-network-namespace file under `/proc/net`,
    /// e.g. `net_path("snmp")`.
    ///
    /// `<procfs>/net` is the reading process's own namespace, which in a pod
    /// without host networking is the pod's; `<procfs>/1/net` is that of the
    /// host's init, so the host's in a pod sharing the host's PID namespace.
    /// `<procfs>/1/net` is used when it can be read, `<procfs>/net` otherwise
    /// (a procfs without pid 1 visible, or access to it denied).
    pub fn net_path(&self, file: &str) -> PathBuf {
        if self.init_net_readable.get().is_some()
            || fs::read_dir(joined(&self.procfs, &["1/net"])).is_ok()
        {
            self.init_net_readable.get_or_init(|| ());
            joined(&self.procfs, &["1/net", file])
        } else {
            joined(&self.procfs, &["net", file])
        }
    }

    /// Whether the agent runs in the network namespace of the host's init:
    /// `<procfs>/self/ns/net` and `<procfs>/1/ns/net` name the same
    /// namespace. Netlink answers for the agent's own namespace, so only
    /// then does it describe the host's network. False when either link
    /// cannot be inspected (no such file under a fixture tree, hidepid, no
    /// right to inspect PID 1).
    pub fn in_init_network_namespace(&self) -> bool {
        let namespace = |pid: &str| {
            fs::metadata(joined(&self.procfs, &[pid, "ns/net"])).map(|m| (m.dev(), m.ino()))
        };
        match (namespace("self"), namespace("1")) {
            (Ok(own), Ok(init)) => own == init,
            _ => false,
        }
    }

    /// A path under the sysfs root, e.g. `sys_path("class/net")`.
    pub fn sys_path(&self, relative: &str) -> PathBuf {
        joined(&self.sysfs, &[relative])
    }

    /// A host path (absolute, as the host sees it) under the root filesystem,
    /// e.g. `root_path("/etc/os-release")`.
    pub fn root_path(&self, host_path: &str) -> PathBuf {
        joined(&self.rootfs, &[host_path.trim_start_matches('/')])
    }

    /// Maps a path seen through the rootfs mount back to the host's own path,
    /// the inverse of [`Host::root_path`]. Paths outside rootfs come back as is.
    pub fn host_path_of(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.rootfs) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => path.to_path_buf(),
        }
    }

    /// Like [`Host::root_path`], but with the symbolic links along the path
    /// followed as the host would follow them: an absolute link target is
    /// taken under the root filesystem, not under the agent's own `/`.
    ///
    /// Host files such as `/etc/os-release` are often links; on NixOS it is
    /// an absolute one into `/etc/static`, which through a rootfs mount would
    /// otherwise land in the container's own tree. A component that cannot be
    /// inspected ends the resolution: opening the result then reports why.
    pub fn resolve_root_path(&self, host_path: &str) -> io::Result<PathBuf> {
        if self.rootfs == Path::new("/") {
            return Ok(self.root_path(host_path));
        }
        let mut pending = components_reversed(Path::new(host_path));
        // Relative to the root filesystem; popping it never climbs above it.
        let mut resolved = PathBuf::new();
        let mut links_followed = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&name);
            let on_disk = self.rootfs.join(&candidate);
            let is_link = fs::symlink_metadata(&on_disk)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if !is_link {
                resolved = candidate;
                continue;
            }
            links_followed += 1;
            if links_followed > MAX_LINKS_FOLLOWED {
                return Err(io::Error::other(format!(
                    "too many levels of symbolic links in {host_path}"
                )));
            }
            let target = fs::read_link(&on_disk)?;
            if target.is_absolute() {
                resolved = PathBuf::new();
            }
            pending.extend(components_reversed(&target));
        }
        Ok(self.rootfs.join(resolved))
    }
}

/// As many links as Linux follows in one lookup before `ELOOP`.
const MAX_LINKS_FOLLOWED: usize = 40;

/// `root` joined with each of `parts` in turn, as [`Path::join`] would,
/// allocated once at its full length: the paths of every read are built
/// this way, and growing a copy of the root cost a reallocation each.
fn joined(root: &Path, parts: &[&str]) -> PathBuf {
    let length = parts.iter().map(|part| part.len() + 1).sum::<usize>();
    let mut path = PathBuf::with_capacity(root.as_os_str().len() + length);
    path.push(root);
    for part in parts {
        path.push(part);
    }
    path
}

/// The normal and `..` components of `path`, last first, ready to be popped.
fn components_reversed(path: &Path) -> Vec<OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    /// A FIFO named `name` in `dir`: a file that cannot be read at offsets.
    pub(super) fn make_fifo(dir: &Path, name: &str) -> PathBuf {
        let fifo = dir.join(name);
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c_path` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        fifo
    }

    #[test]
    fn joined_paths_equal_path_join_and_fit_their_allocation() {
        for (root, parts) in [
            ("/host/proc", &["1/net", "udp"][..]),
            ("/host/proc/", &["stat"][..]),
            ("/", &["etc/os-release"][..]),
            ("/sys", &["/abs", "rel"][..]),
            ("relative", &["", "x"][..]),
        ] {
            let root = Path::new(root);
            let path = joined(root, parts);
            let expected = parts
                .iter()
                .fold(root.to_path_buf(), |p, part| p.join(part));
            assert_eq!(path, expected, "{root:?} {parts:?}");
            // Never grown: still the one allocation made at the start.
            let length = parts.iter().map(|part| part.len() + 1).sum::<usize>();
            assert_eq!(path.capacity(), root.as_os_str().len() + length);
        }
    }

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
    fn init_files_fall_back_to_the_agents_own() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), "/sys", "/", "/run/udev/data");
        let (path, _) = host.read_init_or_self("mountstats").unwrap_err();
        assert_eq!(path, dir.path().join("self/mountstats"));
        fs::create_dir_all(dir.path().join("self")).unwrap();
        fs::write(dir.path().join("self/mountstats"), "own").unwrap();
        let (from, text) = host.read_init_or_self("mountstats").unwrap();
        assert_eq!((from, text.as_str()), (dir.path().join("self"), "own"));
        fs::create_dir_all(dir.path().join("1")).unwrap();
        fs::write(dir.path().join("1/mountstats"), "init").unwrap();
        let (from, text) = host.read_init_or_self("mountstats").unwrap();
        assert_eq!((from, text.as_str()), (dir.path().join("1"), "init"));
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
    fn resolve_root_path_keeps_absolute_links_under_the_root() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = root.join("nix/store/abc-etc/etc");
        fs::create_dir_all(&store).unwrap();
        fs::write(store.join("os-release"), "ID=nixos\n").unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        // NixOS: two absolute links, the second one on a directory.
        symlink("/nix/store/abc-etc/etc", root.join("etc/static")).unwrap();
        symlink("/etc/static/os-release", root.join("etc/os-release")).unwrap();
        // Debian and Fedora: a relative link.
        fs::write(root.join("usr/lib/os-release"), "ID=debian\n").unwrap();
        symlink("../usr/lib/os-release", root.join("etc/debian-release")).unwrap();
        // `..` above the root stays at the root, as on the host.
        symlink("../../../usr/lib/os-release", root.join("etc/climbing")).unwrap();
        symlink("loop-b", root.join("etc/loop-a")).unwrap();
        symlink("loop-a", root.join("etc/loop-b")).unwrap();

        let host = Host::new("/proc", "/sys", root, "/run/udev/data");
        let read = |p: &str| fs::read_to_string(host.resolve_root_path(p).unwrap()).unwrap();
        assert_eq!(read("/etc/os-release"), "ID=nixos\n");
        assert_eq!(read("/etc/debian-release"), "ID=debian\n");
        assert_eq!(read("/etc/climbing"), "ID=debian\n");
        assert_eq!(
            host.resolve_root_path("/etc/missing/os-release").unwrap(),
            root.join("etc/missing/os-release")
        );
        assert!(host.resolve_root_path("/etc/loop-a").is_err());
    }

    #[test]
    fn resolve_root_path_leaves_links_to_the_kernel_when_root_is_slash() {
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        assert_eq!(
            host.resolve_root_path("/etc/os-release").unwrap(),
            Path::new("/etc/os-release")
        );
    }

    #[test]
    fn network_namespace_of_the_agent_and_of_init() {
        // This test runs in its own process's namespace, which PID 1 of
        // this procfs may or may not share; the answer must agree with
        // the kernel's own names of the two namespaces.
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        let same = match (
            fs::read_link("/proc/self/ns/net"),
            fs::read_link("/proc/1/ns/net"),
        ) {
            (Ok(own), Ok(init)) => own == init,
            _ => false,
        };
        assert_eq!(host.in_init_network_namespace(), same);
        // A tree without the links (a fixture tree) is never the host's.
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), "/s", "/r", "/u");
        assert!(!host.in_init_network_namespace());
        // Two links to the same namespace file are the same namespace.
        std::fs::create_dir_all(dir.path().join("self/ns")).unwrap();
        std::fs::create_dir_all(dir.path().join("1/ns")).unwrap();
        std::os::unix::fs::symlink("/proc/self/ns/net", dir.path().join("self/ns/net")).unwrap();
        assert!(!host.in_init_network_namespace());
        std::os::unix::fs::symlink("/proc/self/ns/net", dir.path().join("1/ns/net")).unwrap();
        assert!(host.in_init_network_namespace());
    }

    #[test]
    fn net_path_prefers_init_and_falls_back_to_self() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), "/s", "/r", "/u");
        assert_eq!(host.net_path("snmp"), dir.path().join("net/snmp"));
        std::fs::create_dir_all(dir.path().join("1/net")).unwrap();
        assert_eq!(host.net_path("snmp"), dir.path().join("1/net/snmp"));
        assert_eq!(
            host.net_path("stat/nf_conntrack"),
            dir.path().join("1/net/stat/nf_conntrack")
        );
    }
}
