//! `netclass`: the attributes of each network interface under
//! `<sysfs>/class/net/<iface>/` (state, MTU, speed, carrier counters).
//!
//! node_exporter can read these over netlink instead
//! (`--collector.netclass.netlink`); hostwatch always reads sysfs and accepts
//! that flag, and `--collector.netclass_rtnl.with-stats`, without effect.

use std::fs;
use std::io;
use std::path::Path;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{Host, SysfsDir};
use crate::kernel::sysfs_value::means_no_value;
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::parse::sysfs_int;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "netclass",
    default_enabled: true,
    reads: "/sys/class/net/*/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the netclass collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to ignore for netclass collector.
    #[arg(id = "collector.netclass.ignored-devices", long = "collector.netclass.ignored-devices", value_name = "REGEX",
          default_value = "^$", value_parser = crate::parse::regex)]
    pub ignored_devices: Regex,

    /// Ignore devices where the speed is invalid. This will be the default
    /// behavior in 2.x.
    #[arg(
        id = "collector.netclass.ignore-invalid-speed",
        long = "collector.netclass.ignore-invalid-speed"
    )]
    pub ignore_invalid_speed: bool,

    /// Accepted for compatibility: hostwatch always reads sysfs.
    #[arg(id = "collector.netclass.netlink", long = "collector.netclass.netlink")]
    pub netlink: bool,

    /// Accepted for compatibility: netlink statistics are not read; the
    /// netdev collector reports the counters.
    #[arg(
        id = "collector.netclass_rtnl.with-stats",
        long = "collector.netclass_rtnl.with-stats"
    )]
    pub rtnl_with_stats: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    if flags.netlink {
        tracing::info!("--collector.netclass.netlink: hostwatch reads sysfs; netlink is not used");
    }
    Ok(Box::new(NetclassCollector {
        ignored: flags.ignored_devices.clone(),
        ignore_invalid_speed: flags.ignore_invalid_speed,
    }))
}

/// Reports `node_network_info`, `node_network_up` and one gauge or counter
/// per numeric attribute.
struct NetclassCollector {
    ignored: Regex,
    ignore_invalid_speed: bool,
}

/// The [`Desc`] of sysfs file `file`, reported as `node_network_<suffix>` with
/// node_exporter's help; names written out whole, not built every scrape.
macro_rules! property {
    ($file:literal, $suffix:literal, $type:ident) => {
        Desc::new(
            concat!("node_network_", $suffix),
            concat!("Network device property: ", $suffix),
            MetricType::$type,
            $file,
        )
    };
}

/// The numeric attributes; each source is the sysfs file. `speed` is
/// handled apart (unit conversion).
const NUMERIC: [Desc<&str>; 16] = [
    property!("addr_assign_type", "address_assign_type", Gauge),
    property!("carrier", "carrier", Gauge),
    property!("carrier_changes", "carrier_changes_total", Counter),
    property!("carrier_up_count", "carrier_up_changes_total", Counter),
    property!("carrier_down_count", "carrier_down_changes_total", Counter),
    property!("dev_id", "device_id", Gauge),
    property!("dormant", "dormant", Gauge),
    property!("flags", "flags", Gauge),
    property!("ifindex", "iface_id", Gauge),
    property!("iflink", "iface_link", Gauge),
    property!("link_mode", "iface_link_mode", Gauge),
    property!("mtu", "mtu_bytes", Gauge),
    property!("name_assign_type", "name_assign_type", Gauge),
    property!("netdev_group", "net_dev_group", Gauge),
    property!("tx_queue_len", "transmit_queue_length", Gauge),
    property!("type", "protocol_type", Gauge),
];

/// `speed`, reported in bytes per second.
const SPEED: Desc<&str> = property!("speed", "speed_bytes", Gauge);

/// Every integer attribute read: [`NUMERIC`]'s, then `speed`.
const NUMBER_FILES: usize = NUMERIC.len() + 1;

/// What sysfs says about one interface. An attribute the kernel refuses
/// (a down link's speed gives EINVAL) or lacks is `None`/empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceClass {
    /// Interface name.
    pub device: String,
    /// `address`.
    pub address: String,
    /// `broadcast`.
    pub broadcast: String,
    /// `duplex`.
    pub duplex: String,
    /// `ifalias`.
    pub ifalias: String,
    /// `operstate`.
    pub operstate: String,
    /// The [`NUMERIC`] attributes, then `speed`.
    numbers: [Option<i64>; NUMBER_FILES],
}

impl InterfaceClass {
    /// Reads the interface directory `dir`. Attributes that are absent,
    /// refused (EINVAL, EOPNOTSUPP, EACCES) or unparsable are left unset;
    /// other read errors are returned.
    pub fn read(device: &str, dir: &Path) -> io::Result<InterfaceClass> {
        let dir = match SysfsDir::open(dir) {
            Ok(dir) => Some(dir),
            // Removed since it was listed: nothing to read.
            Err(err) if means_no_value(&err) => None,
            Err(err) => return Err(err),
        };
        let attribute = |name: &str| match &dir {
            Some(dir) => read_attribute(dir, name),
            None => Ok(None),
        };
        let text = |name: &str| attribute(name).map(Option::unwrap_or_default);
        let mut class = InterfaceClass {
            device: device.to_string(),
            address: text("address")?,
            broadcast: text("broadcast")?,
            duplex: text("duplex")?,
            ifalias: text("ifalias")?,
            operstate: text("operstate")?,
            numbers: Default::default(),
        };
        for (slot, file) in class.numbers.iter_mut().zip(number_files()) {
            *slot = attribute(file)?.and_then(|v| sysfs_int(&v));
        }
        Ok(class)
    }

    /// The integer value of sysfs attribute `file`, if it had one.
    pub fn number(&self, file: &str) -> Option<i64> {
        let slot = number_files().position(|f| f == file)?;
        self.numbers[slot]
    }

    /// The administrative state from the IFF_UP bit of `flags`.
    pub fn adminstate(&self) -> &'static str {
        match self.number("flags") {
            None => "unknown",
            Some(flags) if flags & libc::IFF_UP as i64 != 0 => "up",
            Some(_) => "down",
        }
    }
}

fn number_files() -> impl Iterator<Item = &'static str> {
    NUMERIC.iter().chain([&SPEED]).map(|p| p.source)
}

/// Reads one attribute, trimmed; `None` when the kernel has no value for it.
fn read_attribute(dir: &SysfsDir, name: &str) -> io::Result<Option<String>> {
    match dir.read_attribute(name) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(err) if means_no_value(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

impl NetclassCollector {
    fn read_interfaces(&self, host: &Host) -> Result<Vec<InterfaceClass>, CollectError> {
        let root = host.sys_path("class/net");
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let mut interfaces = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            // Interfaces are links (directories in copies); `bonding_masters`
            // is a plain file.
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let device = entry.file_name().to_string_lossy().into_owned();
            if self.ignored.is_match(&device) {
                continue;
            }
            match InterfaceClass::read(&device, &entry.path()) {
                Ok(class) => interfaces.push(class),
                // Removed between listing and reading.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(CollectError::failed(format!(
                        "reading {}: {err}",
                        entry.path().display()
                    )))
                }
            }
        }
        interfaces.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(interfaces)
    }
}

impl Collector for NetclassCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let interfaces = self.read_interfaces(host)?;

        let up = out.family(
            "node_network_up",
            "Value is 1 if operstate is 'up', 0 otherwise.",
            MetricType::Gauge,
            &["device"],
        );
        for i in &interfaces {
            up.push(&[&i.device], if i.operstate == "up" { 1.0 } else { 0.0 });
        }

        let info = out.family(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            MetricType::Gauge,
            &[
                "device",
                "address",
                "broadcast",
                "duplex",
                "operstate",
                "adminstate",
                "ifalias",
            ],
        );
        for i in &interfaces {
            info.push(
                &[
                    i.device.as_str(),
                    &i.address,
                    &i.broadcast,
                    &i.duplex,
                    &i.operstate,
                    i.adminstate(),
                    &i.ifalias,
                ],
                1.0,
            );
        }

        for (slot, property) in NUMERIC.iter().enumerate() {
            let family = property.family(out, &["device"]);
            for i in &interfaces {
                if let Some(value) = i.numbers[slot] {
                    family.push(&[&i.device], value as f64);
                }
            }
        }

        let speed = SPEED.family(out, &["device"]);
        for i in &interfaces {
            // Some drivers report -1 for an unknown speed; node_exporter
            // passes it on (as -125000) unless told to drop it.
            match i.number("speed") {
                Some(mbits) if mbits >= 0 || !self.ignore_invalid_speed => {
                    speed.push(&[&i.device], mbits.saturating_mul(1000 * 1000 / 8) as f64);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_interface_directory() {
        let dir = tempfile::tempdir().unwrap();
        for (file, content) in [
            ("address", "52:54:00:12:34:56\n"),
            ("operstate", "down\n"),
            ("flags", "0x1002\n"),
            ("mtu", "9000\n"),
            ("carrier_changes", "garbage\n"),
            ("type", "1\n"),
        ] {
            std::fs::write(dir.path().join(file), content).unwrap();
        }
        let class = InterfaceClass::read("eth9", dir.path()).unwrap();
        assert_eq!(class.address, "52:54:00:12:34:56");
        assert_eq!(class.operstate, "down");
        assert_eq!(class.duplex, "");
        assert_eq!(class.adminstate(), "down");
        assert_eq!(class.number("mtu"), Some(9000));
        assert_eq!(class.number("carrier_changes"), None, "unparsable counter");
        assert_eq!(class.number("speed"), None, "absent speed");
        assert_eq!(class.number("type"), Some(1));
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = crate::collectors::common::testing::scrape_fixtures(&SPEC, &[]);
        for expected in [
            r#"node_network_info{address="3c:ec:ef:12:34:56",adminstate="up",broadcast="ff:ff:ff:ff:ff:ff",device="bond0",duplex="full",ifalias="uplink bond",operstate="up"} 1"#,
            r#"node_network_info{address="3c:ec:ef:12:34:57",adminstate="down",broadcast="ff:ff:ff:ff:ff:ff",device="eth1",duplex="",ifalias="",operstate="down"} 1"#,
            r#"node_network_up{device="bond0"} 1"#,
            r#"node_network_up{device="eth1"} 0"#,
            r#"node_network_up{device="lo"} 0"#,
            r#"node_network_speed_bytes{device="bond0"} 2.5e+09"#,
            r#"node_network_speed_bytes{device="eth0"} -125000"#,
            r#"node_network_flags{device="bond0"} 5123"#,
            r#"node_network_mtu_bytes{device="bond0"} 9000"#,
            r#"node_network_protocol_type{device="lo"} 772"#,
            r#"node_network_iface_link{device="veth3f2a1b7"} 3"#,
            r#"node_network_carrier_up_changes_total{device="bond0"} 2"#,
            "# TYPE node_network_carrier_changes_total counter",
            "# HELP node_network_transmit_queue_length Network device property: transmit_queue_length",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        for absent in [
            r#"node_network_speed_bytes{device="eth1"}"#,
            r#"node_network_carrier{device="eth1"}"#,
            r#"node_network_name_assign_type{device="ifb0"}"#,
            "bonding_masters",
        ] {
            assert!(!text.contains(absent), "unexpected {absent}\n{text}");
        }
    }

    #[test]
    fn ignored_devices_and_invalid_speed() {
        let text = crate::collectors::common::testing::scrape_fixtures(
            &SPEC,
            &[
                "--collector.netclass.ignored-devices=^(lo|veth.*)$",
                "--collector.netclass.ignore-invalid-speed",
                "--collector.netclass.netlink",
                "--collector.netclass_rtnl.with-stats",
            ],
        );
        assert!(!text.contains(r#"device="lo""#));
        assert!(!text.contains(r#"device="veth3f2a1b7""#));
        assert!(!text.contains(r#"node_network_speed_bytes{device="eth0"}"#));
        assert!(text.contains(r#"node_network_speed_bytes{device="bond0"} 2.5e+09"#));
    }

    #[test]
    fn missing_sysfs_is_no_data() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = crate::collectors::common::testing::build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }

    /// A real interface whose link is down refuses `speed` with EINVAL.
    #[test]
    fn real_down_interface_reads_without_error() {
        let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let class = InterfaceClass::read(&name, &entry.path());
            assert!(class.is_ok(), "{name}: {class:?}");
        }
    }
}
