//! The collector registry: every collector hostwatch has, with its name and
//! default exactly as node_exporter's, and the collector-specific flags.
//!
//! Also the names of node_exporter collectors and flags hostwatch does not
//! have (yet), so that a DaemonSet written for node_exporter starts unchanged:
//! their flags are accepted, with a warning, instead of failing start-up.

pub mod arp;
pub mod bcache;
pub mod bcachefs;
pub mod bonding;
pub mod btrfs;
pub mod conntrack;
pub mod cpu;
pub mod cpufreq;
pub mod device_filter;
pub mod diskstats;
pub mod entropy;
pub mod filefd;
pub mod filesystem;
pub mod hwmon;
pub mod interrupts;
pub mod kernel_hung;
pub mod loadavg;
pub mod mdadm;
pub mod meminfo;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod os;
pub mod powersupplyclass;
pub mod pressure;
pub mod processes;
pub mod schedstat;
pub mod sockstat;
pub mod softnet;
pub mod stat;
pub mod tcpstat;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod vmstat;
pub mod zfs;

use clap::Args;

use crate::collector::CollectorSpec;

/// Every collector, in name order.
pub const ALL: &[CollectorSpec] = &[
    arp::SPEC,
    bcache::SPEC,
    bcachefs::SPEC,
    bonding::SPEC,
    btrfs::SPEC,
    conntrack::SPEC,
    cpu::SPEC,
    cpufreq::SPEC,
    diskstats::SPEC,
    entropy::SPEC,
    filefd::SPEC,
    filesystem::SPEC,
    hwmon::SPEC,
    interrupts::SPEC,
    kernel_hung::SPEC,
    loadavg::SPEC,
    mdadm::SPEC,
    meminfo::SPEC,
    netclass::SPEC,
    netdev::SPEC,
    netstat::SPEC,
    os::SPEC,
    powersupplyclass::SPEC,
    pressure::SPEC,
    processes::SPEC,
    schedstat::SPEC,
    sockstat::SPEC,
    softnet::SPEC,
    stat::SPEC,
    tcpstat::SPEC,
    textfile::SPEC,
    thermal_zone::SPEC,
    time::SPEC,
    timex::SPEC,
    udp_queues::SPEC,
    uname::SPEC,
    vmstat::SPEC,
    zfs::SPEC,
];

/// The flags of every collector, under `--collector.<name>.<flag>`.
#[derive(Debug, Clone, Args)]
pub struct CollectorFlags {
    /// `--collector.arp.*`.
    #[command(flatten)]
    pub arp: arp::Flags,
    /// `--collector.bcache.*`.
    #[command(flatten)]
    pub bcache: bcache::Flags,
    /// `--collector.cpu.*`.
    #[command(flatten)]
    pub cpu: cpu::Flags,
    /// `--collector.cpufreq.*`.
    #[command(flatten)]
    pub cpufreq: cpufreq::Flags,
    /// `--collector.diskstats.*`.
    #[command(flatten)]
    pub diskstats: diskstats::Flags,
    /// `--collector.filesystem.*`.
    #[command(flatten)]
    pub filesystem: filesystem::Flags,
    /// `--collector.hwmon.*`.
    #[command(flatten)]
    pub hwmon: hwmon::Flags,
    /// `--collector.interrupts.*`.
    #[command(flatten)]
    pub interrupts: interrupts::Flags,
    /// `--collector.netclass.*`.
    #[command(flatten)]
    pub netclass: netclass::Flags,
    /// `--collector.netdev.*`.
    #[command(flatten)]
    pub netdev: netdev::Flags,
    /// `--collector.netstat.*`.
    #[command(flatten)]
    pub netstat: netstat::Flags,
    /// `--collector.powersupply.*`.
    #[command(flatten)]
    pub powersupplyclass: powersupplyclass::Flags,
    /// `--collector.stat.*`.
    #[command(flatten)]
    pub stat: stat::Flags,
    /// `--collector.textfile.*`.
    #[command(flatten)]
    pub textfile: textfile::Flags,
    /// `--collector.vmstat.*`.
    #[command(flatten)]
    pub vmstat: vmstat::Flags,
}

/// node_exporter's Linux collectors that hostwatch does not implement.
/// `--no-collector.<name>` for these is accepted silently;
/// `--collector.<name>` is accepted with a warning that it does nothing.
pub const NOT_IMPLEMENTED: &[&str] = &[
    "buddyinfo",
    "cgroups",
    "cpu_vulnerabilities",
    "dmi",
    "dmmultipath",
    "drbd",
    "drm",
    "edac",
    "ethtool",
    "fibrechannel",
    "infiniband",
    "ipvs",
    "ksmd",
    "lnstat",
    "logind",
    "meminfo_numa",
    "mountstats",
    "network_route",
    "nfs",
    "nfsd",
    "ntp",
    "nvme",
    "pcidevice",
    "perf",
    "qdisc",
    "rapl",
    "runit",
    "selinux",
    "slabinfo",
    "softirqs",
    "supervisord",
    "swap",
    "sysctl",
    "systemd",
    "tapestats",
    "watchdog",
    "wifi",
    "xfrm",
    "xfs",
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
        ("collector.ethtool.device-include", Value),
        ("collector.ethtool.device-exclude", Value),
        ("collector.ethtool.metrics-include", Value),
        ("collector.ipvs.backend-labels", Value),
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
        ("collector.wifi.fixtures", Value),
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
