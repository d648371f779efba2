//! `ethtool`: driver information, link modes and driver statistics of each
//! network interface, asked of the kernel with the `SIOCETHTOOL` ioctl, as
//! `node_ethtool_info`, `node_ethtool_<statistic>` and the
//! `node_network_{supported,advertised}_*` / `node_network_autonegotiate`
//! link metrics.
//!
//! Interface names come from `<sysfs>/class/net`, but the ioctl answers for
//! the network namespace the agent runs in: in a pod the collector reports
//! the host's interfaces only with `hostNetwork: true` (as node_exporter's).
//! An interface the namespace does not have (ENODEV), or whose driver does
//! not answer a command (EOPNOTSUPP) or refuses it (EPERM), is skipped for
//! that command quietly.
//!
//! Link modes come from the legacy `ETHTOOL_GSET` masks, as node_exporter
//! reads them, so modes numbered 32 and above are not reported. A statistic
//! whose name sanitisation changes (`tx-0.packets`) is reported with its
//! value, where node_exporter looks the value up under the sanitised name
//! and reports 0.

mod ioctl;
mod link;
pub mod stats;

use std::collections::BTreeMap;
use std::fs;
use std::io;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::Host;
use crate::metrics::{Desc, MetricSet, MetricType};

use self::ioctl::{DriverInfo, EthtoolSocket};
use self::link::LinkSettings;
use self::stats::{StatNaming, StatSample, INFO_METRIC};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "ethtool",
    default_enabled: false,
    reads: "/sys/class/net/ (names), SIOCETHTOOL ioctl",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the ethtool collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of ethtool devices to include (mutually exclusive to device-exclude).
    #[arg(
        id = "collector.ethtool.device-include",
        long = "collector.ethtool.device-include",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_include: Option<Regex>,

    /// Regexp of ethtool devices to exclude (mutually exclusive to device-include).
    #[arg(
        id = "collector.ethtool.device-exclude",
        long = "collector.ethtool.device-exclude",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_exclude: Option<Regex>,

    /// Regexp of ethtool stats to include.
    #[arg(
        id = "collector.ethtool.metrics-include",
        long = "collector.ethtool.metrics-include",
        value_name = "REGEX",
        default_value = ".*",
        value_parser = crate::parse::regex
    )]
    pub metrics_include: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    // The filters in force, logged at start-up as node_exporter logs them.
    let given = [
        ("device-include", flags.device_include.as_ref()),
        ("device-exclude", flags.device_exclude.as_ref()),
        ("metrics-include", Some(&flags.metrics_include)),
    ];
    for (name, regex) in given {
        if let Some(regex) = regex.filter(|r| !r.as_str().is_empty()) {
            tracing::info!(
                collector = "ethtool",
                flag = regex.as_str(),
                "Parsed flag --collector.ethtool.{name}"
            );
        }
    }
    Ok(Box::new(EthtoolCollector {
        devices: DeviceFilter::new(flags.device_exclude.clone(), flags.device_include.clone()),
        metrics_include: flags.metrics_include.clone(),
        naming: StatNaming::new(),
    }))
}

/// Reports what the kernel's ethtool interface tells about each interface
/// that passes the device filter.
struct EthtoolCollector {
    devices: DeviceFilter,
    metrics_include: Regex,
    naming: StatNaming,
}

/// The ethtool commands the collector issues for one interface.
trait EthtoolQuery {
    /// Legacy link settings (`ETHTOOL_GSET`).
    fn link_settings(&self, device: &str) -> io::Result<LinkSettings>;
    /// Driver information (`ETHTOOL_GDRVINFO`).
    fn driver_info(&self, device: &str) -> io::Result<DriverInfo>;
    /// Driver statistics, names with values.
    fn stats(&self, device: &str) -> io::Result<Vec<(String, u64)>>;
}

impl EthtoolQuery for EthtoolSocket {
    fn link_settings(&self, device: &str) -> io::Result<LinkSettings> {
        EthtoolSocket::link_settings(self, device)
    }
    fn driver_info(&self, device: &str) -> io::Result<DriverInfo> {
        EthtoolSocket::driver_info(self, device)
    }
    fn stats(&self, device: &str) -> io::Result<Vec<(String, u64)>> {
        EthtoolSocket::stats(self, device)
    }
}

/// What the kernel answered for one interface.
#[derive(Debug, Default)]
struct DeviceReport {
    device: String,
    link: Option<LinkSettings>,
    driver: Option<DriverInfo>,
    stats: Vec<StatSample>,
}

impl Collector for EthtoolCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = host.sys_path("class/net");
        let devices = match interface_names(&dir) {
            Ok(devices) => devices,
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) =>
            {
                return Err(CollectError::no_data(format!(
                    "reading {}: {err}",
                    dir.display()
                )))
            }
            Err(err) => return Err(CollectError::io(&dir, &err)),
        };
        if devices.is_empty() {
            return Err(CollectError::failed(format!(
                "no network devices found in {}",
                dir.display()
            )));
        }
        let socket = EthtoolSocket::open()
            .map_err(|e| CollectError::failed(format!("opening the ethtool socket: {e}")))?;
        let reports: Vec<DeviceReport> = devices
            .iter()
            .filter(|device| !self.devices.ignored(device))
            .map(|device| self.query(&socket, device))
            .collect();
        emit(&reports, out);
        Ok(())
    }
}

impl EthtoolCollector {
    /// Issues every command for `device`; a command that fails leaves its
    /// part of the report empty.
    fn query(&self, ethtool: &dyn EthtoolQuery, device: &str) -> DeviceReport {
        DeviceReport {
            device: device.to_string(),
            link: answer("link settings", device, ethtool.link_settings(device)),
            driver: answer("driver info", device, ethtool.driver_info(device)),
            stats: answer("stats", device, ethtool.stats(device))
                .map(|stats| self.naming.samples(&stats, &self.metrics_include))
                .unwrap_or_default(),
        }
    }
}

/// The answer of one command, logging a failure: quietly where the
/// interface is not in this namespace or its driver does not take the
/// command, as a warning otherwise.
fn answer<T>(command: &str, device: &str, result: io::Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err)
            if matches!(
                err.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::ENODEV | libc::EPERM)
            ) =>
        {
            tracing::debug!(device, %err, "ethtool {command} not available");
            None
        }
        Err(err) => {
            tracing::warn!(device, %err, "ethtool {command} failed");
            None
        }
    }
}

/// The entries of `<sysfs>/class/net` that are interfaces (links or
/// directories; `bonding_masters` is a file), sorted.
fn interface_names(dir: &std::path::Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            continue;
        }
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Reads one value of an interface's [`LinkSettings`].
type LinkValue<T> = fn(&LinkSettings) -> T;

/// The link gauges labelled by device only; each source is the value's
/// function of the interface's settings.
const LINK_GAUGES: [Desc<LinkValue<f64>>; 7] = [
    Desc::gauge(
        "node_network_autonegotiate_supported",
        "If this port device supports autonegotiate",
        |l| flag(link::capabilities(l.supported).autonegotiate),
    ),
    Desc::gauge(
        "node_network_pause_supported",
        "If this port device supports pause frames",
        |l| flag(link::capabilities(l.supported).pause),
    ),
    Desc::gauge(
        "node_network_asymmetricpause_supported",
        "If this port device supports asymmetric pause frames",
        |l| flag(link::capabilities(l.supported).asymmetric_pause),
    ),
    Desc::gauge(
        "node_network_autonegotiate_advertised",
        "If this port device offers autonegotiate",
        |l| flag(link::capabilities(l.advertising).autonegotiate),
    ),
    Desc::gauge(
        "node_network_pause_advertised",
        "If this port device offers pause capability",
        |l| flag(link::capabilities(l.advertising).pause),
    ),
    Desc::gauge(
        "node_network_asymmetricpause_advertised",
        "If this port device offers asymmetric pause capability",
        |l| flag(link::capabilities(l.advertising).asymmetric_pause),
    ),
    Desc::gauge(
        "node_network_autonegotiate",
        "If this port is using autonegotiate",
        |l| f64::from(l.autoneg),
    ),
];

fn flag(set: bool) -> f64 {
    if set {
        1.0
    } else {
        0.0
    }
}

/// One statistic's help and its (device, value) samples.
type StatFamily<'a> = (&'a str, Vec<(&'a str, f64)>);

/// Writes the families of all reports.
fn emit(reports: &[DeviceReport], out: &mut MetricSet) {
    let info = out.family(
        INFO_METRIC,
        "A metric with a constant '1' value labeled by bus_info, device, driver, expansion_rom_version, firmware_version, version.",
        MetricType::Gauge,
        &["bus_info", "device", "driver", "expansion_rom_version", "firmware_version", "version"],
    );
    for report in reports {
        if let Some(d) = &report.driver {
            info.push(
                &[
                    d.bus_info.as_str(),
                    &report.device,
                    &d.driver,
                    &d.expansion_rom_version,
                    &d.firmware_version,
                    &d.version,
                ],
                1.0,
            );
        }
    }

    let links: Vec<(&str, &LinkSettings)> = reports
        .iter()
        .filter_map(|r| Some((r.device.as_str(), r.link.as_ref()?)))
        .collect();
    let speeds: [Desc<LinkValue<u32>>; 2] = [
        Desc::gauge(
            "node_network_supported_speed_bytes",
            "Combination of speeds and features supported by network device",
            |l| l.supported,
        ),
        Desc::gauge(
            "node_network_advertised_speed_bytes",
            "Combination of speeds and features offered by network device",
            |l| l.advertising,
        ),
    ];
    for desc in speeds {
        let family = desc.family(out, &["device", "duplex", "mode"]);
        for (device, settings) in &links {
            for speed in link::speed_modes((desc.source)(settings)) {
                family.push(
                    &[*device, speed.duplex, &speed.mode],
                    speed.bytes_per_second,
                );
            }
        }
    }
    let ports = out.family(
        "node_network_supported_port_info",
        "Type of ports or PHYs supported by network device",
        MetricType::Gauge,
        &["device", "type"],
    );
    for (device, settings) in &links {
        for port in link::port_types(settings.supported) {
            ports.push(&[*device, port], 1.0);
        }
    }
    for gauge in LINK_GAUGES {
        let family = gauge.family(out, &["device"]);
        for (device, settings) in &links {
            family.push(&[*device], (gauge.source)(settings));
        }
    }

    // One family per statistic name across interfaces; the first help seen
    // is kept.
    let mut by_name: BTreeMap<&str, StatFamily<'_>> = BTreeMap::new();
    for report in reports {
        for sample in &report.stats {
            by_name
                .entry(&sample.name)
                .or_insert_with(|| (&sample.help, Vec::new()))
                .1
                .push((&report.device, sample.value));
        }
    }
    for (name, (help, samples)) in by_name {
        let family = out.family(
            name.to_string(),
            help.to_string(),
            MetricType::Untyped,
            &["device"],
        );
        for (device, value) in samples {
            family.push(&[device], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, host_with_sysfs, parse_args};

    /// Answers as a veth, a NIC with link modes, a loopback and an
    /// interface of another namespace would.
    struct FakeEthtool;

    fn errno(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    impl EthtoolQuery for FakeEthtool {
        fn link_settings(&self, device: &str) -> io::Result<LinkSettings> {
            match device {
                "veth0" => Ok(LinkSettings::default()),
                "eth0" => Ok(LinkSettings {
                    supported: 0b110_0000_1110_1111,
                    advertising: 0b110_0000_0010_0000,
                    autoneg: 1,
                }),
                "lo" => Err(errno(libc::EOPNOTSUPP)),
                _ => Err(errno(libc::ENODEV)),
            }
        }
        fn driver_info(&self, device: &str) -> io::Result<DriverInfo> {
            match device {
                "veth0" => Ok(DriverInfo {
                    driver: "veth".into(),
                    version: "1.0".into(),
                    ..DriverInfo::default()
                }),
                "eth0" => Ok(DriverInfo {
                    driver: "e1000e".into(),
                    version: "6.1.0".into(),
                    firmware_version: "0.13-4".into(),
                    bus_info: "0000:00:1f.6".into(),
                    expansion_rom_version: String::new(),
                }),
                "lo" => Err(errno(libc::EOPNOTSUPP)),
                _ => Err(errno(libc::ENODEV)),
            }
        }
        fn stats(&self, device: &str) -> io::Result<Vec<(String, u64)>> {
            let pairs: &[(&str, u64)] = match device {
                "veth0" => &[("peer_ifindex", 5), ("rx_queue_0_xdp_packets", 0)],
                "eth0" => &[
                    ("rx_bytes", 1234),
                    ("tx_packets", 12),
                    ("rx_queue_0_xdp_packets", 3),
                ],
                "lo" => &[],
                "eth9" => return Err(errno(libc::EIO)),
                _ => return Err(errno(libc::ENODEV)),
            };
            Ok(pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect())
        }
    }

    fn collector(flags: &[&str]) -> EthtoolCollector {
        let options = parse_args(flags).expect("flags parse");
        let f: Flags = options.collector_flags();
        EthtoolCollector {
            devices: DeviceFilter::new(f.device_exclude.clone(), f.device_include.clone()),
            metrics_include: f.metrics_include.clone(),
            naming: StatNaming::new(),
        }
    }

    fn exposition(collector: &EthtoolCollector, devices: &[&str]) -> String {
        let reports: Vec<_> = devices
            .iter()
            .map(|d| collector.query(&FakeEthtool, d))
            .collect();
        let mut out = MetricSet::new();
        emit(&reports, &mut out);
        let families = out.into_sorted();
        let mut text = Vec::new();
        crate::exposition::Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut text);
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn reports_every_answer_and_skips_refusals() {
        let text = exposition(&collector(&[]), &["eth0", "eth9", "gone0", "lo", "veth0"]);
        let expected = [
            "# HELP node_ethtool_info A metric with a constant '1' value labeled by bus_info, device, driver, expansion_rom_version, firmware_version, version.",
            "# TYPE node_ethtool_info gauge",
            r#"node_ethtool_info{bus_info="0000:00:1f.6",device="eth0",driver="e1000e",expansion_rom_version="",firmware_version="0.13-4",version="6.1.0"} 1"#,
            r#"node_ethtool_info{bus_info="",device="veth0",driver="veth",expansion_rom_version="",firmware_version="",version="1.0"} 1"#,
            "# HELP node_ethtool_peer_ifindex Network interface peer_ifindex",
            "# TYPE node_ethtool_peer_ifindex untyped",
            r#"node_ethtool_peer_ifindex{device="veth0"} 5"#,
            "# HELP node_ethtool_received_bytes_total Network interface bytes received",
            r#"node_ethtool_received_bytes_total{device="eth0"} 1234"#,
            r#"node_ethtool_received_queue_0_xdp_packets{device="eth0"} 3"#,
            r#"node_ethtool_received_queue_0_xdp_packets{device="veth0"} 0"#,
            "# HELP node_ethtool_transmitted_packets_total Network interface packets sent",
            r#"node_ethtool_transmitted_packets_total{device="eth0"} 12"#,
            "# TYPE node_network_advertised_speed_bytes gauge",
            r#"node_network_advertised_speed_bytes{device="eth0",duplex="full",mode="1000baseT"} 1.25e+08"#,
            r#"node_network_asymmetricpause_advertised{device="eth0"} 1"#,
            r#"node_network_asymmetricpause_supported{device="veth0"} 0"#,
            r#"node_network_autonegotiate{device="eth0"} 1"#,
            r#"node_network_autonegotiate{device="veth0"} 0"#,
            r#"node_network_autonegotiate_supported{device="eth0"} 1"#,
            r#"node_network_pause_advertised{device="eth0"} 1"#,
            r#"node_network_supported_port_info{device="eth0",type="TP"} 1"#,
            r#"node_network_supported_speed_bytes{device="eth0",duplex="full",mode="100baseT"} 1.25e+07"#,
            r#"node_network_supported_speed_bytes{device="eth0",duplex="half",mode="10baseT"} 1.25e+06"#,
        ];
        for line in expected {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        for absent in ["\"lo\"", "\"gone0\"", "\"eth9\""] {
            assert!(!text.contains(absent), "{absent} reported:\n{text}");
        }
        // eth0's five speed modes; veth0 supports none.
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("node_network_supported_speed_bytes{"))
                .count(),
            5
        );
    }

    #[test]
    fn metrics_include_filters_statistics_only() {
        let text = exposition(
            &collector(&["--collector.ethtool.metrics-include=^peer"]),
            &["eth0", "veth0"],
        );
        assert!(text.contains(r#"node_ethtool_peer_ifindex{device="veth0"} 5"#));
        assert!(!text.contains("node_ethtool_received"), "{text}");
        assert!(text.contains("node_ethtool_info{"));
        assert!(text.contains("node_network_autonegotiate{"));
    }

    fn sysfs_with(entries: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net");
        fs::create_dir_all(&net).unwrap();
        for entry in entries {
            fs::create_dir(net.join(entry)).unwrap();
        }
        fs::write(net.join("bonding_masters"), "bond0\n").unwrap();
        dir
    }

    #[test]
    fn names_come_from_sysfs_and_absent_interfaces_are_skipped() {
        let sys = sysfs_with(&["hwnosuch0", "hwnosuch1"]);
        assert_eq!(
            interface_names(&sys.path().join("class/net")).unwrap(),
            vec!["hwnosuch0", "hwnosuch1"]
        );
        let spec_flags = [
            "--collector.ethtool",
            "--collector.ethtool.device-exclude=1$",
        ];
        let c = build(&SPEC, host_with_sysfs(sys.path()), &spec_flags).unwrap();
        let text = c.render();
        assert!(!text.contains("hwnosuch"), "{text}");
    }

    #[test]
    fn missing_or_empty_class_net() {
        let missing = build(
            &SPEC,
            host_with_sysfs(std::path::Path::new("/nonexistent")),
            &[],
        )
        .unwrap();
        let (_, result) = missing.run();
        assert_eq!(
            result.unwrap_err().kind(),
            crate::collectors::ErrorKind::NoData
        );
        let empty = sysfs_with(&[]);
        let c = build(&SPEC, host_with_sysfs(empty.path()), &[]).unwrap();
        let (_, result) = c.run();
        assert_eq!(
            result.unwrap_err().kind(),
            crate::collectors::ErrorKind::Failed
        );
    }

    #[test]
    fn device_filter_flags() {
        let c = collector(&["--collector.ethtool.device-include=^veth"]);
        assert!(c.devices.ignored("eth0"));
        assert!(!c.devices.ignored("veth0"));
        assert!(parse_args(&["--collector.ethtool.metrics-include=("]).is_err());
    }
}
