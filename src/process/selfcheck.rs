//! The start-up self-check: one warning line for each way a deployment can
//! show the agent something other than the host, so that an operator learns
//! it from the log instead of from metrics that quietly describe a container.
//!
//! Three mistakes are looked for:
//!
//! 1. **`--path.procfs` is the container's own procfs.** `<procfs>/self`
//!    names the reader's pid as the pid namespace of that procfs sees it, and
//!    the agent's own `/proc/self` names it as the agent's namespace sees it.
//!    Different numbers mean the procfs belongs to an ancestor namespace, the
//!    host's (`hostPath: /proc` without `hostPID`). The same number means it is
//!    the agent's own namespace, which is the host's only with `hostPID`. Which
//!    of the two is told apart by what only one of them holds: kernel threads
//!    (`kthreadd` is pid 2) live in the initial namespace alone; and a
//!    container's namespace has the agent itself, or a container init such as
//!    `pause`, as its pid 1, which a host never has. A namespace with neither
//!    sign (a "node" that is itself a container, as in kind) is taken as the
//!    host, so that the check never cries wolf.
//! 2. **The root mount lacks HostToContainer propagation.** The agent's own
//!    mount table (`/proc/self/mountinfo`) must show the mount at
//!    `--path.rootfs` as a slave (`master:N`, from HostToContainer) or a peer
//!    (`shared:N`, from Bidirectional) of the host's; a private mount never
//!    sees filesystems the host mounts after the pod started. Only checked
//!    when the root filesystem is not `/`.
//! 3. **The network namespace is not the host's.** The agent's
//!    `/proc/self/ns/net` is compared with that of the host's init,
//!    `<procfs>/1/ns/net`. Reading another process's namespace links takes
//!    ptrace rights that a non-root agent lacks, so when they are unreadable
//!    the interface lists in `net/dev` of both are compared instead: different
//!    lists prove different namespaces (identical lists prove nothing, and
//!    pass). Failing both, the check says at debug level that it could not run.
//!
//! The agent's own process is read at the literal `/proc/self`, the one place
//! hostwatch names `/proc` itself: what is asked is what the agent's own
//! kernel view is, not the host's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::host::{read_text, Host};
use crate::kernel::mountinfo::MountInfo;
use crate::kernel::net_dev::InterfaceCounters;

/// The agent's own procfs, always mounted at `/proc` where it runs.
const OWN_PROCFS: &str = "/proc";

/// Names of pid 1 that only a container's pid namespace has.
const CONTAINER_INITS: &[&str] = &["pause", "catatonit", "tini", "docker-init", "dumb-init"];

/// Runs the three checks against the host's roots and logs a warning for
/// each that fails. Called once at start-up, after logging is set up.
pub fn run(host: &Host) {
    let own = Path::new(OWN_PROCFS);
    check_procfs(host.procfs(), own);
    check_root_propagation(host.rootfs(), own);
    check_network_namespace(host.procfs(), own);
}

/// What the pid-namespace test reads: the targets of the two `self` links and
/// the names of pids 1 and 2 under `--path.procfs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidView {
    /// The agent's pid as `--path.procfs` sees it (`<procfs>/self`).
    pub procfs_self: Option<u32>,
    /// The agent's pid as its own procfs sees it (`/proc/self`).
    pub own_self: Option<u32>,
    /// `<procfs>/1/comm`, trimmed.
    pub pid1_comm: Option<String>,
    /// `<procfs>/2/comm`, trimmed.
    pub pid2_comm: Option<String>,
}

/// Whether `--path.procfs` shows the host's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcfsVerdict {
    /// The host's pid namespace, or one that cannot be told from it.
    Host,
    /// The agent's own container pid namespace; the text says how it shows.
    Container(String),
    /// Not enough could be read to tell; the text says what was missing.
    Unchecked(String),
}

impl PidView {
    /// Reads the view of `procfs` against the agent's own procfs `own`.
    pub fn read(procfs: &Path, own: &Path) -> PidView {
        let pid_of_link = |path: PathBuf| {
            std::fs::read_link(path)
                .ok()
                .and_then(|target| target.to_str()?.parse().ok())
        };
        let comm = |pid: &str| {
            read_text(&procfs.join(pid).join("comm"))
                .ok()
                .map(|name| name.trim().to_string())
        };
        PidView {
            procfs_self: pid_of_link(procfs.join("self")),
            own_self: pid_of_link(own.join("self")),
            pid1_comm: comm("1"),
            pid2_comm: comm("2"),
        }
    }

    /// Decides whose pid namespace the procfs shows (see the module doc).
    pub fn verdict(&self) -> ProcfsVerdict {
        if self.pid2_comm.as_deref() == Some("kthreadd") {
            return ProcfsVerdict::Host;
        }
        let (Some(procfs_self), Some(own_self)) = (self.procfs_self, self.own_self) else {
            return ProcfsVerdict::Unchecked(
                "<procfs>/self or /proc/self does not name a pid".to_string(),
            );
        };
        if procfs_self != own_self {
            return ProcfsVerdict::Host;
        }
        if own_self == 1 {
            return ProcfsVerdict::Container("the agent is pid 1 in it".to_string());
        }
        match self.pid1_comm.as_deref() {
            Some(init) if CONTAINER_INITS.contains(&init) => {
                ProcfsVerdict::Container(format!("its pid 1 is the container init {init:?}"))
            }
            _ => ProcfsVerdict::Host,
        }
    }
}

fn check_procfs(procfs: &Path, own: &Path) {
    match PidView::read(procfs, own).verdict() {
        ProcfsVerdict::Host => {}
        ProcfsVerdict::Container(how) => tracing::warn!(
            procfs = %procfs.display(),
            "--path.procfs is this container's own procfs ({how}), not the host's: \
             node_filesystem_* (read from <procfs>/1/mountinfo), node_processes_* and other \
             per-process figures describe the container. Mount the host's /proc \
             (hostPath /proc at /host/proc with --path.procfs=/host/proc) or set hostPID: true"
        ),
        ProcfsVerdict::Unchecked(why) => tracing::debug!(
            procfs = %procfs.display(),
            "could not check whose pid namespace --path.procfs shows: {why}"
        ),
    }
}

/// How the mount at the root filesystem's path takes mounts made on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Propagation {
    /// A slave or peer of another mount: host mounts propagate into it.
    Receives,
    /// A private mount: the host's later mounts never appear.
    Private,
    /// No mount sits exactly at that path.
    NotAMountPoint,
}

/// Finds the propagation of the mount at `mount_point` in a mountinfo table
/// (`/proc/<pid>/mountinfo`). The last matching line wins: it is the mount on
/// top. Lines that are not mountinfo are skipped.
pub fn root_propagation(mountinfo: &str, mount_point: &Path) -> Propagation {
    let info = MountInfo::parse(mountinfo);
    match info
        .mounts
        .iter()
        .rev()
        .find(|mount| Path::new(&mount.mount_point) == mount_point)
    {
        Some(mount) if mount.receives_mounts => Propagation::Receives,
        Some(_) => Propagation::Private,
        None => Propagation::NotAMountPoint,
    }
}

fn check_root_propagation(rootfs: &Path, own: &Path) {
    // The mount table names resolved, absolute paths.
    let mount_point = std::fs::canonicalize(rootfs).unwrap_or_else(|_| rootfs.to_path_buf());
    if mount_point == Path::new("/") {
        return;
    }
    let mountinfo = match read_text(&own.join("self/mountinfo")) {
        Ok(text) => text,
        Err(e) => {
            tracing::debug!(err = %e, "could not check the propagation of --path.rootfs");
            return;
        }
    };
    match root_propagation(&mountinfo, &mount_point) {
        Propagation::Receives => {}
        Propagation::Private => tracing::warn!(
            rootfs = %rootfs.display(),
            "--path.rootfs is a private mount: filesystems the host mounts after start-up \
             (new volumes, hot-plugged disks) stay invisible, so their node_filesystem_* \
             series are missing or describe the directory beneath them. Set \
             mountPropagation: HostToContainer on the root volumeMount"
        ),
        Propagation::NotAMountPoint => tracing::debug!(
            rootfs = %rootfs.display(),
            "--path.rootfs is not a mount point; its propagation was not checked"
        ),
    }
}

/// Whether the agent shares the host's network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetVerdict {
    /// The same namespace, or no difference could be seen.
    Same,
    /// Different namespaces; the text says how it shows.
    Different(String),
    /// Neither the namespace links nor the interface lists could be read.
    Unchecked,
}

/// What the network test reads: the `ns/net` link targets of the agent and of
/// the host's init, and the interface lists of `net/dev` as a fallback (the
/// agent's read twice, before and after the init's, so that an interface
/// coming or going meanwhile is not taken for a difference).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetView {
    /// Target of the agent's `/proc/self/ns/net`, e.g. `net:[4026531833]`.
    pub own_link: Option<String>,
    /// Target of `<procfs>/1/ns/net`.
    pub init_link: Option<String>,
    /// The agent's `net/dev` interfaces, read before and after the init's.
    pub own_devices: [Option<BTreeSet<String>>; 2],
    /// The interfaces of `<procfs>/1/net/dev`.
    pub init_devices: Option<BTreeSet<String>>,
}

impl NetView {
    /// Reads the view of the host's init under `procfs` against the agent's
    /// own procfs `own`.
    pub fn read(procfs: &Path, own: &Path) -> NetView {
        let link = |path: PathBuf| {
            std::fs::read_link(path)
                .ok()
                .map(|target| target.to_string_lossy().into_owned())
        };
        let devices = |path: PathBuf| interface_names(&read_text(&path).ok()?);
        let own_link = link(own.join("self/ns/net"));
        let init_link = link(procfs.join("1/ns/net"));
        if own_link.is_some() && init_link.is_some() {
            return NetView {
                own_link,
                init_link,
                ..NetView::default()
            };
        }
        let before = devices(own.join("self/net/dev"));
        let init_devices = devices(procfs.join("1/net/dev"));
        let after = devices(own.join("self/net/dev"));
        NetView {
            own_link,
            init_link,
            own_devices: [before, after],
            init_devices,
        }
    }

    /// Decides whether the namespaces differ (see the module doc).
    pub fn verdict(&self) -> NetVerdict {
        if let (Some(own), Some(init)) = (&self.own_link, &self.init_link) {
            return if own == init {
                NetVerdict::Same
            } else {
                NetVerdict::Different(format!("the agent's is {own}, the host's {init}"))
            };
        }
        match (&self.own_devices, &self.init_devices) {
            ([Some(before), Some(after)], Some(init)) => {
                if before == after && before != init {
                    NetVerdict::Different(format!(
                        "the agent sees interfaces {}, the host's init {}",
                        join(before),
                        join(init)
                    ))
                } else {
                    NetVerdict::Same
                }
            }
            _ => NetVerdict::Unchecked,
        }
    }
}

/// The interface names of a `/proc/net/dev` table; `None` when it is not
/// one.
pub fn interface_names(net_dev: &str) -> Option<BTreeSet<String>> {
    let interfaces = InterfaceCounters::parse_all(net_dev).ok()?;
    Some(interfaces.into_iter().map(|i| i.device).collect())
}

/// At most this many interface names are listed in the warning: a host's
/// list runs to thousands of container veths.
const LISTED_NAMES: usize = 8;

fn join(names: &BTreeSet<String>) -> String {
    let mut listed = names
        .iter()
        .take(LISTED_NAMES)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    if names.len() > LISTED_NAMES {
        listed += &format!(" and {} more", names.len() - LISTED_NAMES);
    }
    listed
}

fn check_network_namespace(procfs: &Path, own: &Path) {
    match NetView::read(procfs, own).verdict() {
        NetVerdict::Same => {}
        NetVerdict::Different(how) => tracing::warn!(
            procfs = %procfs.display(),
            "the agent's network namespace is not the host's ({how}): node_network_*, \
             node_netstat_*, node_sockstat_* and the other network metrics describe the pod's \
             network. Set hostNetwork: true"
        ),
        NetVerdict::Unchecked => tracing::debug!(
            procfs = %procfs.display(),
            "could not check the network namespace: neither the ns/net links nor the \
             net/dev tables of the agent and <procfs>/1 are readable"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(procfs_self: u32, own_self: u32, pid1: &str, pid2: &str) -> PidView {
        PidView {
            procfs_self: Some(procfs_self),
            own_self: Some(own_self),
            pid1_comm: Some(pid1.to_string()),
            pid2_comm: Some(pid2.to_string()),
        }
    }

    #[test]
    fn procfs_of_the_initial_namespace_is_the_host() {
        // hostPID: both links name the host pid; kernel threads are there.
        assert_eq!(
            view(4242, 4242, "systemd", "kthreadd").verdict(),
            ProcfsVerdict::Host
        );
        // Bare metal, agent run by systemd with the default --path.procfs.
        assert_eq!(
            view(917, 917, "init", "kthreadd").verdict(),
            ProcfsVerdict::Host
        );
    }

    #[test]
    fn procfs_of_an_ancestor_namespace_is_the_host() {
        // hostPath /proc at /host/proc without hostPID: the host numbers the
        // agent differently from the pod. A kind node shows no kthreadd.
        assert_eq!(
            view(58_113, 1, "systemd", "kthreadd").verdict(),
            ProcfsVerdict::Host
        );
        assert_eq!(
            view(58_113, 7, "systemd", "systemd-journal").verdict(),
            ProcfsVerdict::Host
        );
    }

    #[test]
    fn the_containers_own_procfs_is_found() {
        // No hostPID, default --path.procfs: the agent is its namespace's init.
        assert!(matches!(
            view(1, 1, "hostwatch", "").verdict(),
            ProcfsVerdict::Container(_)
        ));
        // shareProcessNamespace: pause is pid 1.
        let verdict = view(14, 14, "pause", "sh").verdict();
        assert!(
            matches!(&verdict, ProcfsVerdict::Container(how) if how.contains("pause")),
            "{verdict:?}"
        );
        // podman --init.
        assert!(matches!(
            view(2, 2, "catatonit", "hostwatch").verdict(),
            ProcfsVerdict::Container(_)
        ));
    }

    #[test]
    fn a_node_that_is_itself_a_container_passes() {
        // kind: hostPID shows the node container's namespace, systemd its init.
        assert_eq!(
            view(3120, 3120, "systemd", "systemd-journal").verdict(),
            ProcfsVerdict::Host
        );
    }

    #[test]
    fn unreadable_links_leave_the_procfs_unchecked() {
        let missing_self = PidView {
            procfs_self: None,
            ..view(0, 1, "systemd", "systemd-journal")
        };
        assert!(matches!(
            missing_self.verdict(),
            ProcfsVerdict::Unchecked(_)
        ));
        assert!(matches!(
            PidView::default().verdict(),
            ProcfsVerdict::Unchecked(_)
        ));
        // Kernel threads settle it even when the links are missing.
        let with_kthreadd = PidView {
            pid2_comm: Some("kthreadd".to_string()),
            ..PidView::default()
        };
        assert_eq!(with_kthreadd.verdict(), ProcfsVerdict::Host);
    }

    #[test]
    fn reading_a_directory_that_is_no_procfs_does_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("garbage"), b"\xff").unwrap();
        let view = PidView::read(dir.path(), dir.path());
        assert_eq!(view, PidView::default());
        std::os::unix::fs::symlink("not-a-pid", dir.path().join("self")).unwrap();
        assert_eq!(PidView::read(dir.path(), dir.path()).procfs_self, None);
        assert_eq!(
            NetView::read(dir.path(), dir.path()).verdict(),
            NetVerdict::Unchecked
        );
    }

    /// A pod's mount table: the host root at /host/root with HostToContainer,
    /// /host/proc private, /host/sys shared (Bidirectional).
    const POD_MOUNTINFO: &str = "\
1203 1105 0:312 / / ro,relatime master:412 - overlay overlay rw,lowerdir=/var/lib/containerd/l1,upperdir=/var/lib/containerd/u,workdir=/var/lib/containerd/w
1204 1203 0:314 / /host/proc ro,nosuid,nodev,noexec,relatime - proc proc rw
1205 1203 0:21 / /host/sys ro,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
1206 1203 259:1 / /host/root ro,relatime master:1 - ext4 /dev/nvme0n1p1 rw,discard,errors=remount-ro
1207 1206 0:25 / /host/root/run ro,nosuid,nodev master:5 - tmpfs tmpfs rw,size=3260160k,mode=755
1208 1203 0:55 / /host/root\\040with\\040space rw,relatime - tmpfs tmpfs rw
";

    #[test]
    fn host_to_container_and_bidirectional_mounts_receive() {
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host/root")),
            Propagation::Receives
        );
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host/sys")),
            Propagation::Receives
        );
    }

    #[test]
    fn a_private_root_mount_is_found() {
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host/proc")),
            Propagation::Private
        );
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host/root with space")),
            Propagation::Private
        );
        // The mount on top decides: here a private mount over a slave one.
        let stacked = format!(
            "{POD_MOUNTINFO}1300 1206 259:1 / /host/root ro,relatime - ext4 /dev/nvme0n1p1 rw\n"
        );
        assert_eq!(
            root_propagation(&stacked, Path::new("/host/root")),
            Propagation::Private
        );
    }

    #[test]
    fn paths_that_are_not_mount_points_and_garbage_are_not_judged() {
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host")),
            Propagation::NotAMountPoint
        );
        assert_eq!(
            root_propagation(POD_MOUNTINFO, Path::new("/host/root/var")),
            Propagation::NotAMountPoint
        );
        for garbage in [
            "",
            "\n\n",
            "1206 1203 259:1 / /host/root master:1",
            "\u{fffd} - -",
        ] {
            assert_eq!(
                root_propagation(garbage, Path::new("/host/root")),
                Propagation::NotAMountPoint,
                "{garbage:?}"
            );
        }
    }

    const HOST_NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  423779    1426    0    0    0     0          0         0   423779    1426    0    0    0     0       0          0
  eth0: 98123456  81234    0    0    0     0          0         0  1234567   9876    0    0    0     0       0          0
cali1a2b3c4d5e6: 5432 12 0 0 0 0 0 0 6543 13 0 0 0 0 0 0
";
    const POD_NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    5432      12    0    0    0     0          0         0     6543      13    0    0    0     0       0          0
";

    #[test]
    fn interface_names_of_net_dev() {
        let names: Vec<String> = interface_names(HOST_NET_DEV).unwrap().into_iter().collect();
        assert_eq!(names, ["cali1a2b3c4d5e6", "eth0", "lo"]);
        assert_eq!(interface_names(""), Some(BTreeSet::new()));
        assert_eq!(
            interface_names("garbage\nmore garbage\nno colon: here\n"),
            None
        );
    }

    #[test]
    fn namespace_links_decide_when_readable() {
        let same = NetView {
            own_link: Some("net:[4026531833]".to_string()),
            init_link: Some("net:[4026531833]".to_string()),
            ..NetView::default()
        };
        assert_eq!(same.verdict(), NetVerdict::Same);
        let different = NetView {
            init_link: Some("net:[4026532712]".to_string()),
            // Links outrank interface lists.
            own_devices: [interface_names(HOST_NET_DEV), interface_names(HOST_NET_DEV)],
            init_devices: interface_names(HOST_NET_DEV),
            ..same
        };
        assert!(matches!(different.verdict(), NetVerdict::Different(_)));
    }

    #[test]
    fn interface_lists_decide_when_links_are_unreadable() {
        let pod = NetView {
            own_link: Some("net:[4026532712]".to_string()),
            init_link: None,
            own_devices: [interface_names(POD_NET_DEV), interface_names(POD_NET_DEV)],
            init_devices: interface_names(HOST_NET_DEV),
        };
        let verdict = pod.verdict();
        assert!(
            matches!(&verdict, NetVerdict::Different(how) if how.contains("cali1a2b3c4d5e6")),
            "{verdict:?}"
        );
        let host = NetView {
            own_devices: [interface_names(HOST_NET_DEV), interface_names(HOST_NET_DEV)],
            ..pod.clone()
        };
        assert_eq!(host.verdict(), NetVerdict::Same);
        // An interface that came between the agent's two reads proves nothing.
        let churn = NetView {
            own_devices: [interface_names(POD_NET_DEV), interface_names(HOST_NET_DEV)],
            ..pod.clone()
        };
        assert_eq!(churn.verdict(), NetVerdict::Same);
        let unreadable = NetView {
            init_devices: None,
            ..pod
        };
        assert_eq!(unreadable.verdict(), NetVerdict::Unchecked);
    }

    #[test]
    fn long_interface_lists_are_cut_in_the_warning() {
        let names: BTreeSet<String> = (0..20).map(|i| format!("veth{i:02}")).collect();
        let listed = join(&names);
        assert_eq!(
            listed,
            "veth00,veth01,veth02,veth03,veth04,veth05,veth06,veth07 and 12 more"
        );
        let few: BTreeSet<String> = ["eth0", "lo"].map(String::from).into();
        assert_eq!(join(&few), "eth0,lo");
    }
}
