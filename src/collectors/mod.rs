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
pub mod buddyinfo;
pub mod cgroups;
pub mod conntrack;
pub mod cpu;
pub mod cpu_vulnerabilities;
pub mod cpufreq;
pub mod device_filter;
pub mod diskstats;
pub mod dmi;
pub mod dmmultipath;
pub mod drbd;
pub mod edac;
pub mod entropy;
pub mod ethtool;
pub mod fibrechannel;
pub mod field_selection;
pub mod filefd;
pub mod filesystem;
pub mod hwmon;
pub mod infiniband;
pub mod interrupts;
pub mod ipvs;
pub mod kernel_hung;
pub mod ksmd;
pub mod lnstat;
pub mod loadavg;
pub mod logind;
pub mod mdadm;
pub mod meminfo;
pub mod meminfo_numa;
pub mod mountstats;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod network_route;
pub mod nfs;
pub mod nfsd;
pub mod nvme;
pub mod os;
pub mod powersupplyclass;
pub mod pressure;
pub mod processes;
pub mod rapl;
pub mod schedstat;
pub mod selinux;
pub mod slabinfo;
pub mod sockstat;
pub mod softirqs;
pub mod softnet;
pub mod stat;
pub mod swap;
pub mod sysctl;
pub mod sysfs_class;
pub mod system_bus;
pub mod systemd;
pub mod tapestats;
pub mod tcpstat;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod vmstat;
pub mod watchdog;
pub mod xfrm;
pub mod xfs;
pub mod zfs;
pub mod zoneinfo;

use clap::Args;

use crate::collector::CollectorSpec;

/// Every collector, in name order.
pub const ALL: &[CollectorSpec] = &[
    arp::SPEC,
    bcache::SPEC,
    bcachefs::SPEC,
    bonding::SPEC,
    btrfs::SPEC,
    buddyinfo::SPEC,
    cgroups::SPEC,
    conntrack::SPEC,
    cpu::SPEC,
    cpu_vulnerabilities::SPEC,
    cpufreq::SPEC,
    diskstats::SPEC,
    dmi::SPEC,
    dmmultipath::SPEC,
    drbd::SPEC,
    edac::SPEC,
    entropy::SPEC,
    ethtool::SPEC,
    fibrechannel::SPEC,
    filefd::SPEC,
    filesystem::SPEC,
    hwmon::SPEC,
    infiniband::SPEC,
    interrupts::SPEC,
    ipvs::SPEC,
    kernel_hung::SPEC,
    ksmd::SPEC,
    lnstat::SPEC,
    loadavg::SPEC,
    logind::SPEC,
    mdadm::SPEC,
    meminfo::SPEC,
    meminfo_numa::SPEC,
    mountstats::SPEC,
    netclass::SPEC,
    netdev::SPEC,
    netstat::SPEC,
    network_route::SPEC,
    nfs::SPEC,
    nfsd::SPEC,
    nvme::SPEC,
    os::SPEC,
    powersupplyclass::SPEC,
    pressure::SPEC,
    processes::SPEC,
    rapl::SPEC,
    schedstat::SPEC,
    selinux::SPEC,
    slabinfo::SPEC,
    sockstat::SPEC,
    softirqs::SPEC,
    softnet::SPEC,
    stat::SPEC,
    swap::SPEC,
    sysctl::SPEC,
    systemd::SPEC,
    tapestats::SPEC,
    tcpstat::SPEC,
    textfile::SPEC,
    thermal_zone::SPEC,
    time::SPEC,
    timex::SPEC,
    udp_queues::SPEC,
    uname::SPEC,
    vmstat::SPEC,
    watchdog::SPEC,
    xfrm::SPEC,
    xfs::SPEC,
    zfs::SPEC,
    zoneinfo::SPEC,
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
    /// `--collector.ethtool.*`.
    #[command(flatten)]
    pub ethtool: ethtool::Flags,
    /// `--collector.filesystem.*`.
    #[command(flatten)]
    pub filesystem: filesystem::Flags,
    /// `--collector.hwmon.*`.
    #[command(flatten)]
    pub hwmon: hwmon::Flags,
    /// `--collector.interrupts.*`.
    #[command(flatten)]
    pub interrupts: interrupts::Flags,
    /// `--collector.ipvs.*`.
    #[command(flatten)]
    pub ipvs: ipvs::Flags,
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
    /// `--collector.rapl.*`.
    #[command(flatten)]
    pub rapl: rapl::Flags,
    /// `--collector.slabinfo.*`.
    #[command(flatten)]
    pub slabinfo: slabinfo::Flags,
    /// `--collector.stat.*`.
    #[command(flatten)]
    pub stat: stat::Flags,
    /// `--collector.sysctl.*`.
    #[command(flatten)]
    pub sysctl: sysctl::Flags,
    /// `--collector.systemd.*`.
    #[command(flatten)]
    pub systemd: systemd::Flags,
    /// `--collector.tapestats.*`.
    #[command(flatten)]
    pub tapestats: tapestats::Flags,
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
    "drm",
    "ntp",
    "pcidevice",
    "perf",
    "qdisc",
    "runit",
    "supervisord",
    "wifi",
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
        ("collector.runit.servicedir", Value),
        ("collector.supervisord.url", Value),
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
