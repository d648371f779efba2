//! The collector registry: every collector hostwatch has, with its name,
//! default and flags exactly as node_exporter's.
//!
//! Also the names of node_exporter collectors and flags hostwatch does not
//! have (yet), so that a DaemonSet written for node_exporter starts unchanged:
//! their flags are accepted, with a warning, instead of failing start-up.

use super::CollectorSpec;
use super::{
    arp, bcache, bcachefs, bonding, btrfs, buddyinfo, cgroups, cgroupstats, conntrack, cpu,
    cpu_vulnerabilities, cpufreq, diskstats, dmi, dmmultipath, drbd, drm, edac, entropy, ethtool,
    fibrechannel, filefd, filesystem, hwmon, infiniband, interrupts, ipvs, kernel_hung, ksmd,
    lnstat, loadavg, logind, mdadm, meminfo, meminfo_numa, mountstats, netclass, netdev, netstat,
    network_route, nfs, nfsd, nvme, nvmesubsystem, os, pcidevice, powersupplyclass, pressure,
    processes, qdisc, rapl, schedstat, selinux, slabinfo, sockstat, softirqs, softnet, stat, swap,
    sysctl, systemd, tapestats, tcpstat, textfile, thermal_zone, time, timex, udp_queues, uname,
    vmstat, watchdog, wifi, xfrm, xfs, zfs, zoneinfo,
};

/// Every collector, in name order.
pub const ALL: &[CollectorSpec] = &[
    arp::SPEC,
    bcache::SPEC,
    bcachefs::SPEC,
    bonding::SPEC,
    btrfs::SPEC,
    buddyinfo::SPEC,
    cgroups::SPEC,
    cgroupstats::SPEC,
    conntrack::SPEC,
    cpu::SPEC,
    cpu_vulnerabilities::SPEC,
    cpufreq::SPEC,
    diskstats::SPEC,
    dmi::SPEC,
    dmmultipath::SPEC,
    drbd::SPEC,
    drm::SPEC,
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
    nvmesubsystem::SPEC,
    os::SPEC,
    pcidevice::SPEC,
    powersupplyclass::SPEC,
    pressure::SPEC,
    processes::SPEC,
    qdisc::SPEC,
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
    wifi::SPEC,
    xfrm::SPEC,
    xfs::SPEC,
    zfs::SPEC,
    zoneinfo::SPEC,
];

/// node_exporter's Linux collectors that hostwatch does not implement.
/// `--no-collector.<name>` for these is accepted silently;
/// `--collector.<name>` is accepted with a warning that it does nothing.
pub const NOT_IMPLEMENTED: &[&str] = &["ntp", "perf", "runit", "supervisord"];

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
        ("collector.runit.servicedir", Value),
        ("collector.supervisord.url", Value),
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
