//! The collector registry: every collector hostwatch has, with its name and
//! default exactly as node_exporter's, and the collector-specific flags.
//!
//! Also the names of node_exporter collectors and flags hostwatch does not
//! have (yet), so that a DaemonSet written for node_exporter starts unchanged:
//! their flags are accepted, with a warning, instead of failing start-up.

pub mod filesystem;
pub mod loadavg;

use clap::Args;

use crate::collector::CollectorSpec;

/// Every collector, in name order.
pub const ALL: &[CollectorSpec] = &[filesystem::SPEC, loadavg::SPEC];

/// The flags of every collector, under `--collector.<name>.<flag>`.
#[derive(Debug, Clone, Args)]
pub struct CollectorFlags {
    /// `--collector.filesystem.*`.
    #[command(flatten)]
    pub filesystem: filesystem::Flags,
}

/// node_exporter's Linux collectors that hostwatch does not implement.
/// `--no-collector.<name>` for these is accepted silently;
/// `--collector.<name>` is accepted with a warning that it does nothing.
pub const NOT_IMPLEMENTED: &[&str] = &[
    "arp",
    "bcache",
    "bcachefs",
    "bonding",
    "btrfs",
    "buddyinfo",
    "cgroups",
    "conntrack",
    "cpu_vulnerabilities",
    "cpufreq",
    "diskstats",
    "dmi",
    "dmmultipath",
    "drbd",
    "drm",
    "edac",
    "ethtool",
    "fibrechannel",
    "hwmon",
    "infiniband",
    "interrupts",
    "ipvs",
    "ksmd",
    "lnstat",
    "logind",
    "mdadm",
    "meminfo_numa",
    "mountstats",
    "netclass",
    "netdev",
    "netstat",
    "network_route",
    "nfs",
    "nfsd",
    "ntp",
    "nvme",
    "pcidevice",
    "perf",
    "powersupplyclass",
    "processes",
    "qdisc",
    "rapl",
    "runit",
    "schedstat",
    "selinux",
    "slabinfo",
    "sockstat",
    "softirqs",
    "softnet",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "tapestats",
    "tcpstat",
    "textfile",
    "thermal_zone",
    "timex",
    "udp_queues",
    "watchdog",
    "wifi",
    "xfrm",
    "xfs",
    "zfs",
    "zoneinfo",
];

/// How a flag of an unimplemented collector takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredFlagKind {
    /// A kingpin boolean: `--flag`, `--no-flag`, `--flag=false`.
    Bool,
    /// A flag with a value, possibly repeated.
    Value,
}

/// Flags of node_exporter collectors listed in [`NOT_IMPLEMENTED`]: accepted
/// so existing argument lists keep working, and reported as ignored.
pub const IGNORED_FLAGS: &[(&str, IgnoredFlagKind)] = {
    use IgnoredFlagKind::{Bool, Value};
    &[
        ("collector.arp.device-include", Value),
        ("collector.arp.device-exclude", Value),
        ("collector.arp.netlink", Bool),
        ("collector.bcache.priorityStats", Bool),
        ("collector.diskstats.device-exclude", Value),
        ("collector.diskstats.device-include", Value),
        ("collector.diskstats.ignored-devices", Value),
        ("collector.ethtool.device-include", Value),
        ("collector.ethtool.device-exclude", Value),
        ("collector.ethtool.metrics-include", Value),
        ("collector.hwmon.chip-include", Value),
        ("collector.hwmon.chip-exclude", Value),
        ("collector.hwmon.sensor-include", Value),
        ("collector.hwmon.sensor-exclude", Value),
        ("collector.interrupts.name-include", Value),
        ("collector.interrupts.name-exclude", Value),
        ("collector.ipvs.backend-labels", Value),
        ("collector.netclass.ignored-devices", Value),
        ("collector.netclass.ignore-invalid-speed", Bool),
        ("collector.netclass.netlink", Bool),
        ("collector.netclass_rtnl.with-stats", Bool),
        ("collector.netdev.device-include", Value),
        ("collector.netdev.device-exclude", Value),
        ("collector.netdev.device-blacklist", Value),
        ("collector.netdev.device-whitelist", Value),
        ("collector.netdev.address-info", Bool),
        ("collector.netdev.enable-detailed-metrics", Bool),
        ("collector.netdev.netlink", Bool),
        ("collector.netdev.label-ifalias", Bool),
        ("collector.netstat.fields", Value),
        ("collector.ntp.server", Value),
        ("collector.ntp.server-port", Value),
        ("collector.ntp.protocol-version", Value),
        ("collector.ntp.server-is-local", Bool),
        ("collector.ntp.ip-ttl", Value),
        ("collector.ntp.max-distance", Value),
        ("collector.ntp.local-offset-tolerance", Value),
        ("collector.perf.cpus", Value),
        ("collector.perf.tracepoint", Value),
        ("collector.perf.disable-hardware-profilers", Bool),
        ("collector.perf.disable-software-profilers", Bool),
        ("collector.perf.disable-cache-profilers", Bool),
        ("collector.perf.hardware-profilers", Value),
        ("collector.perf.software-profilers", Value),
        ("collector.perf.cache-profilers", Value),
        ("collector.powersupply.ignored-supplies", Value),
        ("collector.qdisc.fixtures", Value),
        ("collector.qdisc.device-include", Value),
        ("collector.qdisc.device-exclude", Value),
        ("collector.qdisk.device-include", Value),
        ("collector.qdisk.device-exclude", Value),
        ("collector.rapl.enable-zone-label", Bool),
        ("collector.runit.servicedir", Value),
        ("collector.slabinfo.slabs-include", Value),
        ("collector.slabinfo.slabs-exclude", Value),
        ("collector.supervisord.url", Value),
        ("collector.sysctl.include", Value),
        ("collector.sysctl.include-info", Value),
        ("collector.systemd.unit-include", Value),
        ("collector.systemd.unit-exclude", Value),
        ("collector.systemd.unit-whitelist", Value),
        ("collector.systemd.unit-blacklist", Value),
        ("collector.systemd.enable-task-metrics", Bool),
        ("collector.systemd.enable-restarts-metrics", Bool),
        ("collector.systemd.enable-start-time-metrics", Bool),
        ("collector.systemd.private", Bool),
        ("collector.tapestats.ignored-devices", Value),
        ("collector.textfile.directory", Value),
        ("collector.wifi.fixtures", Value),
        ("collector.zfs.pools", Value),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_disjoint_from_the_unimplemented_list() {
        let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "ALL must be sorted by name, without repeats");
        for name in &names {
            assert!(
                !NOT_IMPLEMENTED.contains(name),
                "{name} is implemented: remove it from NOT_IMPLEMENTED"
            );
        }
    }
}
