//! `arp`: the number of ARP (IPv4 neighbour) entries per device, from the
//! host's `/proc/net/arp`, as `node_arp_entries{device}`.
//!
//! node_exporter 1.7 and later read the neighbour table over rtnetlink by
//! default (`--collector.arp.netlink`) and then also export
//! `node_arp_states{device,state}`. Netlink answers for the agent's own
//! network namespace only, which in a pod is not the host's, so hostwatch
//! always reads the table through procfs (see [`Host::net_path`]); the flag
//! is accepted and has no effect, and `node_arp_states` is not exported (the
//! file has no neighbour states).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{for_each_table_line, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "arp",
    default_enabled: true,
    reads: "/proc/1/net/arp",
    flags: Some(Flags::augment_args),
    build,
};

/// Longer than any line of `/proc/net/arp`: an address, two hex numbers, a
/// hardware address of at most 30 characters and a device name, about 110.
const LONGEST_LINE: usize = 256;

/// Flags of the arp collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of arp devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.arp.device-include",
        long = "collector.arp.device-include",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_include: Option<Regex>,

    /// Regexp of arp devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.arp.device-exclude",
        long = "collector.arp.device-exclude",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_exclude: Option<Regex>,

    /// Use netlink to gather stats instead of /proc/net/arp. Accepted for
    /// compatibility; hostwatch always reads the host's /proc/1/net/arp.
    #[arg(
        id = "collector.arp.netlink",
        long = "collector.arp.netlink",
        default_value_t = true
    )]
    pub netlink: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    Ok(Box::new(ArpCollector {
        devices: DeviceFilter::new(flags.device_exclude.clone(), flags.device_include.clone()),
    }))
}

/// Reports the entry count of every device that passes the filter.
struct ArpCollector {
    devices: DeviceFilter,
}

/// Entries of the ARP table, counted by device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArpCounts {
    /// Device name to number of entries.
    pub by_device: BTreeMap<String, u64>,
}

impl ArpCounts {
    /// Counts one line of `/proc/net/arp`:
    ///
    /// ```text
    /// IP address       HW type     Flags       HW address            Mask     Device
    /// 192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0
    /// ```
    ///
    /// The header and blank lines are skipped. Any other line must have six
    /// columns with an IPv4 address and hex flags. Incomplete entries
    /// (flags `0x0`) count, as the kernel lists them. The hardware address is
    /// not checked: the file cuts long ones (InfiniBand) short.
    pub fn add_line(&mut self, line: &str) -> Result<(), String> {
        let columns: Vec<&str> = line.split_whitespace().collect();
        match columns.len() {
            0 => return Ok(()),
            9 if columns[0] == "IP" => return Ok(()),
            6 => {}
            n => return Err(format!("{n} columns, expected 6: {line:?}")),
        }
        if columns[0].parse::<Ipv4Addr>().is_err() {
            return Err(format!("invalid IP address {:?}", columns[0]));
        }
        let flags_valid = columns[2]
            .strip_prefix("0x")
            .is_some_and(|hex| u8::from_str_radix(hex, 16).is_ok());
        if !flags_valid {
            return Err(format!("invalid flags {:?}", columns[2]));
        }
        *self.by_device.entry(columns[5].to_string()).or_default() += 1;
        Ok(())
    }
}

impl Collector for ArpCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        // The table holds up to gc_thresh3 entries (tens of thousands on
        // large layer-2 networks), so it is streamed.
        let path = host.net_path("arp");
        let mut counts = ArpCounts::default();
        for_each_table_line(&path, LONGEST_LINE, |line| counts.add_line(line))
            .map_err(|e| CollectError::lines(&path, e))?;
        let family = out.family(
            "node_arp_entries",
            "ARP entries by device",
            MetricType::Gauge,
            &["device"],
        );
        for (device, count) in &counts.by_device {
            if !self.devices.ignored(device) {
                family.push(&[device], *count as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_procfs, host_with_procfs, parse_args, procfs_with, run,
    };
    use crate::collectors::ErrorKind;
    use crate::metrics::Family;

    /// This machine's table plus cni0 and docker0 entries, one incomplete.
    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/1/net/arp");

    fn counts(text: &str) -> Result<Vec<(String, u64)>, String> {
        let mut counts = ArpCounts::default();
        for line in text.lines() {
            counts.add_line(line)?;
        }
        Ok(counts.by_device.into_iter().collect())
    }

    #[test]
    fn counts_entries_per_device() {
        assert_eq!(
            counts(FIXTURE).unwrap(),
            vec![
                ("cni0".to_string(), 3),
                ("docker0".to_string(), 1),
                ("eth0".to_string(), 1)
            ]
        );
        let header = FIXTURE.lines().next().unwrap();
        assert!(counts(header).unwrap().is_empty());
        assert!(counts("").unwrap().is_empty());
    }

    #[test]
    fn long_hardware_addresses_count() {
        let line = "10.0.0.7         0x20        0x2         80:00:02:08:fe:80:00:00:00:00     *        ib0";
        assert_eq!(counts(line).unwrap(), vec![("ib0".to_string(), 1)]);
    }

    #[test]
    fn garbage_and_cut_lines_are_errors() {
        for text in [
            "garbage",
            "192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *",
            "192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0 extra",
            "not-an-ip        0x1         0x2         02:fc:00:00:00:05     *        eth0",
            "192.0.2.1        0x1         zz          02:fc:00:00:00:05     *        eth0",
            "fe80::1          0x1         0x2         02:fc:00:00:00:05     *        eth0",
        ] {
            assert!(counts(text).is_err(), "{text:?}");
        }
    }

    fn collect(
        procfs: &std::path::Path,
        devices: DeviceFilter,
    ) -> (Vec<Family>, Result<(), CollectError>) {
        run(&ArpCollector { devices }, &host_with_procfs(procfs))
    }

    fn samples(families: &[Family]) -> Vec<(String, f64)> {
        families
            .iter()
            .flat_map(|f| {
                f.samples()
                    .iter()
                    .map(move |s| (f.label_values(s).next().unwrap().to_string(), s.value))
            })
            .collect()
    }

    #[test]
    fn collector_emits_entries_by_device() {
        let (families, result) = collect(&fixture_procfs(), DeviceFilter::default());
        result.unwrap();
        assert_eq!(families.len(), 1);
        let entries = &families[0];
        assert_eq!(entries.name(), "node_arp_entries");
        assert_eq!(entries.help(), "ARP entries by device");
        assert_eq!(entries.metric_type(), MetricType::Gauge);
        assert_eq!(entries.label_names(), &["device"]);
        assert_eq!(
            samples(&families),
            vec![
                ("cni0".to_string(), 3.0),
                ("docker0".to_string(), 1.0),
                ("eth0".to_string(), 1.0)
            ]
        );
    }

    #[test]
    fn device_flags_filter_the_output() {
        let parse = parse_args;
        let options = parse(&["--collector.arp.device-exclude=^(cni|docker)"]).unwrap();
        let flags = &options.collector_flags::<Flags>();
        let filter = DeviceFilter::new(flags.device_exclude.clone(), flags.device_include.clone());
        let (families, _) = collect(&fixture_procfs(), filter);
        assert_eq!(samples(&families), vec![("eth0".to_string(), 1.0)]);

        let options = parse(&["--collector.arp.device-include", "cni"]).unwrap();
        let flags = &options.collector_flags::<Flags>();
        let filter = DeviceFilter::new(flags.device_exclude.clone(), flags.device_include.clone());
        let (families, _) = collect(&fixture_procfs(), filter);
        assert_eq!(samples(&families), vec![("cni0".to_string(), 3.0)]);

        let err = parse(&["--collector.arp.device-include=("]).unwrap_err();
        assert!(
            err.to_string().contains("collector.arp.device-include"),
            "{err}"
        );
    }

    #[test]
    fn netlink_flag_is_accepted_in_every_spelling() {
        let parse = |args: &[&str]| parse_args(args).unwrap();
        assert!(parse(&[]).collector_flags::<Flags>().netlink);
        assert!(
            !parse(&["--no-collector.arp.netlink"])
                .collector_flags::<Flags>()
                .netlink
        );
        assert!(
            !parse(&["--collector.arp.netlink=false"])
                .collector_flags::<Flags>()
                .netlink
        );
        let options = parse(&["--collector.arp.netlink"]);
        assert!(options.collector_flags::<Flags>().netlink);
        assert!(options.warnings.is_empty(), "{:?}", options.warnings);
    }

    #[test]
    fn missing_table_is_no_data_and_garbage_fails() {
        let empty = procfs_with(&[]);
        let (_, result) = collect(empty.path(), DeviceFilter::default());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        let procfs = procfs_with(&[("net/arp", &format!("{FIXTURE}garbage\n"))]);
        let (families, result) = collect(procfs.path(), DeviceFilter::default());
        assert!(families.is_empty());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("arp: line 7"), "{err}");
    }
}
