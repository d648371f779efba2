//! The collector registry: every collector hostwatch has, with its name and
//! default exactly as node_exporter's, and the collector-specific flags.
//!
//! Also the names of node_exporter collectors and flags hostwatch does not
//! have (yet), so that a DaemonSet written for node_exporter starts unchanged:
//! their flags are accepted, with a warning, instead of failing start-up.

pub mod cpu;
pub mod device_filter;
pub mod diskstats;
pub mod entropy;
pub mod filefd;
pub mod loadavg;
pub mod meminfo;
pub mod netclass;
pub mod netdev;
pub mod stat;
pub mod systemd;
pub mod vmstat;

use clap::Args;

use crate::collector::CollectorSpec;

/// Every collector, in name order.
pub const ALL: &[CollectorSpec] = &[
    cpu::SPEC,
    diskstats::SPEC,
    entropy::SPEC,
    filefd::SPEC,
    loadavg::SPEC,
    meminfo::SPEC,
    netclass::SPEC,
    netdev::SPEC,
    stat::SPEC,
    systemd::SPEC,
    vmstat::SPEC,
];

/// The flags of every collector, under `--collector.<name>.<flag>`.
#[derive(Debug, Clone, Args)]
pub struct CollectorFlags {
    /// `--collector.cpu.*`.
    #[command(flatten)]
    pub cpu: cpu::Flags,
    /// `--collector.diskstats.*`.
    #[command(flatten)]
    pub diskstats: diskstats::Flags,
    /// `--collector.netclass.*`.
    #[command(flatten)]
    pub netclass: netclass::Flags,
    /// `--collector.netdev.*`.
    #[command(flatten)]
    pub netdev: netdev::Flags,
    /// `--collector.stat.*`.
    #[command(flatten)]
    pub stat: stat::Flags,
    /// `--collector.systemd.*`.
    #[command(flatten)]
    pub systemd: systemd::Flags,
    /// `--collector.vmstat.*`.
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
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
    "dmi",
    "dmmultipath",
    "drbd",
    "drm",
    "edac",
    "ethtool",
    "fibrechannel",
    "filesystem",
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
        ("collector.ethtool.device-include", Value),
        ("collector.ethtool.device-exclude", Value),
        ("collector.ethtool.metrics-include", Value),
        ("collector.filesystem.mount-points-exclude", Value),
        ("collector.filesystem.mount-points-include", Value),
        ("collector.filesystem.ignored-mount-points", Value),
        ("collector.filesystem.fs-types-exclude", Value),
        ("collector.filesystem.fs-types-include", Value),
        ("collector.filesystem.ignored-fs-types", Value),
        ("collector.filesystem.mount-timeout", Value),
        ("collector.filesystem.stat-workers", Value),
        ("collector.hwmon.chip-include", Value),
        ("collector.hwmon.chip-exclude", Value),
        ("collector.hwmon.sensor-include", Value),
        ("collector.hwmon.sensor-exclude", Value),
        ("collector.interrupts.name-include", Value),
        ("collector.interrupts.name-exclude", Value),
        ("collector.ipvs.backend-labels", Value),
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
