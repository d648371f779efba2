//! `pcidevice`: every PCI device of `<sysfs>/bus/pci/devices/`, with its
//! place in the PCI tree, its IDs, PCIe link speed and width, power state,
//! NUMA node and SR-IOV figures; with `--collector.pcidevice.names`, the
//! vendor, device, subsystem and class names from a `pci.ids` file
//! ([`pci_ids`]).
//!
//! As node_exporter: each entry is a link into `devices/`, whose target
//! gives the device's location and its parent bridge's (`*` for a device on
//! a root bus); the ID files must be there and parse, else the run fails; a
//! link attribute that is absent or says `Unknown` is reported as -1, an
//! SR-IOV or D3cold attribute that is absent as 0; `power_state` is one
//! series per state. Unlike node_exporter, an absent `numa_node` (kernels
//! without `CONFIG_NUMA`) leaves the device's NUMA series out rather than
//! failing the run, and link speeds in the older kernels' form (`8 GT/s`,
//! before the ` PCIe` suffix) are read.
//!
//! `pci.ids` is read once, when the collector is built: from
//! `--collector.pcidevice.idsfile` when given (a path of the agent's own
//! filesystem, as node_exporter opens it), else from the first of
//! `/usr/share/misc/pci.ids` and `/usr/share/hwdata/pci.ids` found under
//! `--path.rootfs` (the host's copy) or, failing that, in the agent's own
//! filesystem (node_exporter's only place). A file that cannot be read, or
//! is over [`MAX_IDS_FILE_BYTES`], is logged and names fall back to IDs.

pub mod pci_ids;

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::kernel::sysfs_value::read_optional;
use crate::metrics::{MetricSet, MetricType};
use crate::parse::sysfs_int;

use self::pci_ids::PciIds;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "pcidevice",
    default_enabled: false,
    reads: "/sys/bus/pci/devices/*/, pci.ids with --collector.pcidevice.names",
    flags: Some(Flags::augment_args),
    build,
};

/// Where node_exporter looks for `pci.ids` when no file is given: Debian's
/// and Red Hat's places.
const DEFAULT_IDS_FILES: &[&str] = &["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"];

/// The largest `pci.ids` loaded, some 16 times today's file (1.4 MB), so
/// that a wrong path cannot make the agent hold an arbitrary file.
pub const MAX_IDS_FILE_BYTES: u64 = 24 << 20;

/// Flags of the pcidevice collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Path to pci.ids file to use for PCI device identification.
    #[arg(
        id = "collector.pcidevice.idsfile",
        long = "collector.pcidevice.idsfile",
        value_name = "FILE"
    )]
    pub ids_file: Option<PathBuf>,

    /// Enable PCI device name resolution (requires pci.ids file).
    #[arg(id = "collector.pcidevice.names", long = "collector.pcidevice.names")]
    pub names: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    let names = match flags.names {
        false => None,
        true => Some(load_ids(&ctx.host, flags.ids_file.as_deref())),
    };
    Ok(Box::new(PcideviceCollector { names }))
}

/// Reads and parses the `pci.ids` the flags and the host give; an empty
/// table (every name then an ID) when there is none to read.
fn load_ids(host: &Host, given: Option<&Path>) -> PciIds {
    let candidates: Vec<PathBuf> = match given.filter(|p| !p.as_os_str().is_empty()) {
        Some(path) => vec![path.to_path_buf()],
        None => DEFAULT_IDS_FILES
            .iter()
            .map(|file| host.root_path(file))
            .chain(DEFAULT_IDS_FILES.iter().map(PathBuf::from))
            .collect(),
    };
    let mut failures = Vec::new();
    for path in &candidates {
        match read_ids_file(path) {
            Ok(text) => {
                let ids = PciIds::parse(&text);
                let counts = ids.counts();
                tracing::debug!(
                    path = %path.display(),
                    vendors = counts.vendors,
                    devices = counts.devices,
                    subsystems = counts.subsystems,
                    classes = counts.classes,
                    "loaded PCI IDs"
                );
                return ids;
            }
            Err(err) => failures.push(format!("{}: {err}", path.display())),
        }
    }
    tracing::warn!(
        "--collector.pcidevice.names: no pci.ids could be read ({}); names are reported as IDs",
        failures.join("; ")
    );
    PciIds::default()
}

/// The text of a `pci.ids` file of at most [`MAX_IDS_FILE_BYTES`].
fn read_ids_file(path: &Path) -> Result<String, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_IDS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_IDS_FILE_BYTES {
        return Err(format!("larger than {MAX_IDS_FILE_BYTES} bytes"));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reports the `node_pcidevice_*` families.
struct PcideviceCollector {
    /// The name tables, when names are asked for.
    names: Option<PciIds>,
}

/// A device's place: `segment:bus:device.function`, all hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciLocation {
    pub segment: u32,
    pub bus: u32,
    pub device: u32,
    pub function: u32,
}

impl PciLocation {
    /// Parses `0000:00:1f.2`.
    pub fn parse(text: &str) -> Result<PciLocation, String> {
        let invalid = || format!("invalid PCI location {text:?}");
        let mut parts = text.split(':');
        let (Some(segment), Some(bus), Some(slot), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let (device, function) = slot.split_once('.').ok_or_else(invalid)?;
        let hex = |digits: &str| {
            let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit());
            valid
                .then(|| u32::from_str_radix(digits, 16).ok())
                .flatten()
                .filter(|&n| n <= i32::MAX as u32)
                .ok_or_else(invalid)
        };
        Ok(PciLocation {
            segment: hex(segment)?,
            bus: hex(bus)?,
            device: hex(device)?,
            function: hex(function)?,
        })
    }

    /// The label values: `0000`, `00`, `1f`, `2`.
    pub fn labels(&self) -> [String; 4] {
        [
            format!("{:04x}", self.segment),
            format!("{:02x}", self.bus),
            format!("{:02x}", self.device),
            format!("{:x}", self.function),
        ]
    }
}

/// Where a `bus/pci/devices/` link points, as
/// `../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0`: the device's
/// location, and its parent's unless the parent is a root bus (`pci…`).
pub fn parse_link_target(target: &str) -> Result<(PciLocation, Option<PciLocation>), String> {
    let mut components = target.trim_end_matches('/').rsplit('/');
    let own = components.next().unwrap_or_default();
    let parent = components.next().unwrap_or_default();
    let location = PciLocation::parse(own)?;
    let parent = match parent.starts_with("pci") {
        true => None,
        false => Some(PciLocation::parse(parent).map_err(|e| format!("parent: {e}"))?),
    };
    Ok((location, parent))
}

/// Parses an ID file (`0x8086`, `0x060400`, `-1`) as node_exporter does: a
/// 32-bit signed integer in Go's base-0 syntax, then taken as unsigned.
pub fn parse_id(text: &str) -> Result<i32, String> {
    sysfs_int(text)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| format!("invalid value {:?}", text.trim()))
}

/// Parses `max_link_speed` / `current_link_speed` to GT/s: `8.0 GT/s PCIe`,
/// or `8 GT/s` as older kernels write it. `None` for no value
/// (empty, `Unknown`, `Unknown speed`).
pub fn parse_link_speed(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("Unknown") {
        return Ok(None);
    }
    let invalid = || format!("invalid link speed {text:?}");
    let (number, unit) = text.split_once(' ').ok_or_else(invalid)?;
    if !matches!(unit, "GT/s PCIe" | "GT/s") {
        return Err(format!("unknown unit in link speed {text:?}"));
    }
    let speed: f64 = number.parse().map_err(|_| invalid())?;
    Ok(speed.is_finite().then_some(speed))
}

/// Parses `max_link_width` / `current_link_width` (lanes). `None` for no
/// value (empty, `Unknown`).
pub fn parse_link_width(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("Unknown") {
        return Ok(None);
    }
    let lanes: i64 = text
        .parse()
        .map_err(|_| format!("invalid link width {text:?}"))?;
    Ok(Some(lanes as f64))
}

/// Parses a decimal SR-IOV or power attribute (`sriov_numvfs`,
/// `d3cold_allowed`); `None` when empty.
pub fn parse_decimal(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("invalid value {text:?}"))
}

/// The states `node_pcidevice_power_state` has a series for.
const POWER_STATES: [&str; 7] = ["D0", "D1", "D2", "D3hot", "D3cold", "unknown", "error"];

/// One PCI device, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct PciDevice {
    pub location: PciLocation,
    pub parent: Option<PciLocation>,
    pub class: u32,
    pub vendor: u32,
    pub device: u32,
    pub subsystem_vendor: u32,
    pub subsystem_device: u32,
    pub revision: u32,
    /// `None` when absent or -1 (no NUMA affinity).
    pub numa_node: Option<i32>,
    /// GT/s.
    pub max_link_speed: Option<f64>,
    pub max_link_width: Option<f64>,
    /// GT/s.
    pub current_link_speed: Option<f64>,
    pub current_link_width: Option<f64>,
    pub sriov_drivers_autoprobe: Option<bool>,
    pub sriov_numvfs: Option<i64>,
    pub sriov_totalvfs: Option<i64>,
    pub sriov_vf_total_msix: Option<i64>,
    pub d3cold_allowed: Option<bool>,
    pub power_state: Option<String>,
}

impl PciDevice {
    /// Reads the device directory `dir`, whose link target is `target`.
    pub fn read(dir: &Path, target: &str) -> Result<PciDevice, String> {
        let (location, parent) = parse_link_target(target)?;
        let id = |file: &str| -> Result<u32, String> {
            let text = read_trimmed(&dir.join(file)).map_err(|e| format!("reading {file}: {e}"))?;
            parse_id(&text)
                .map(|n| n as u32)
                .map_err(|e| format!("{file}: {e}"))
        };
        let optional = |file: &str| read_optional(&dir.join(file));
        let parsed =
            |file: &str, parse: fn(&str) -> Result<Option<f64>, String>| match optional(file)? {
                Some(text) => parse(&text).map_err(|e| format!("{file}: {e}")),
                None => Ok(None),
            };
        let decimal = |file: &str| match optional(file)? {
            Some(text) => parse_decimal(&text).map_err(|e| format!("{file}: {e}")),
            None => Ok(None),
        };
        let numa_node = match optional("numa_node")? {
            Some(text) => Some(parse_id(&text).map_err(|e| format!("numa_node: {e}"))?),
            None => None,
        };
        Ok(PciDevice {
            location,
            parent,
            class: id("class")?,
            vendor: id("vendor")?,
            device: id("device")?,
            subsystem_vendor: id("subsystem_vendor")?,
            subsystem_device: id("subsystem_device")?,
            revision: id("revision")?,
            numa_node: numa_node.filter(|&node| node != -1),
            max_link_speed: parsed("max_link_speed", parse_link_speed)?,
            max_link_width: parsed("max_link_width", parse_link_width)?,
            current_link_speed: parsed("current_link_speed", parse_link_speed)?,
            current_link_width: parsed("current_link_width", parse_link_width)?,
            sriov_drivers_autoprobe: decimal("sriov_drivers_autoprobe")?.map(|n| n != 0),
            sriov_numvfs: decimal("sriov_numvfs")?,
            sriov_totalvfs: decimal("sriov_totalvfs")?,
            sriov_vf_total_msix: decimal("sriov_vf_total_msix")?,
            d3cold_allowed: decimal("d3cold_allowed")?.map(|n| n != 0),
            power_state: optional("power_state")?.filter(|s| !s.is_empty()),
        })
    }
}

/// Reads every device of `<sysfs>/bus/pci/devices/`.
fn read_devices(host: &Host) -> Result<Vec<PciDevice>, CollectError> {
    let root = host.sys_path("bus/pci/devices");
    let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
    let mut devices = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let target = fs::read_link(&path).map_err(|e| CollectError::io(&path, &e))?;
        let device = PciDevice::read(&path, &target.to_string_lossy())
            .map_err(|e| CollectError::parse(&path, e))?;
        devices.push(device);
    }
    Ok(devices)
}

/// The location label names of every family.
const LOCATION_LABELS: [&str; 4] = ["segment", "bus", "device", "function"];

/// A per-device gauge: its name after `node_pcidevice_`, help, and value.
type DeviceGauge = (&'static str, &'static str, fn(&PciDevice) -> f64);

const DEVICE_GAUGES: &[DeviceGauge] = &[
    (
        "max_link_transfers_per_second",
        "Value of maximum link's transfers per second (T/s)",
        |d| d.max_link_speed.map_or(-1.0, |gt| gt * 1e9),
    ),
    (
        "max_link_width",
        "Value of maximum link's width (number of lanes)",
        |d| d.max_link_width.unwrap_or(-1.0),
    ),
    (
        "current_link_transfers_per_second",
        "Value of current link's transfers per second (T/s)",
        |d| d.current_link_speed.map_or(-1.0, |gt| gt * 1e9),
    ),
    (
        "current_link_width",
        "Value of current link's width (number of lanes)",
        |d| d.current_link_width.unwrap_or(-1.0),
    ),
    (
        "d3cold_allowed",
        "Whether the PCIe device supports D3cold power state (0/1).",
        |d| f64::from(u8::from(d.d3cold_allowed.unwrap_or(false))),
    ),
    (
        "sriov_drivers_autoprobe",
        "Whether SR-IOV drivers autoprobe is enabled for the device (0/1).",
        |d| f64::from(u8::from(d.sriov_drivers_autoprobe.unwrap_or(false))),
    ),
    (
        "sriov_numvfs",
        "Number of Virtual Functions (VFs) currently enabled for SR-IOV.",
        |d| d.sriov_numvfs.unwrap_or(0) as f64,
    ),
    (
        "sriov_totalvfs",
        "Total number of Virtual Functions (VFs) supported by the device.",
        |d| d.sriov_totalvfs.unwrap_or(0) as f64,
    ),
    (
        "sriov_vf_total_msix",
        "Total number of MSI-X vectors for Virtual Functions.",
        |d| d.sriov_vf_total_msix.unwrap_or(0) as f64,
    ),
];

/// The info series' label names after the location's.
const INFO_LABELS: [&str; 10] = [
    "parent_segment",
    "parent_bus",
    "parent_device",
    "parent_function",
    "class_id",
    "vendor_id",
    "device_id",
    "subsystem_vendor_id",
    "subsystem_device_id",
    "revision",
];

/// The name labels added with `--collector.pcidevice.names`.
const NAME_LABELS: [&str; 5] = [
    "vendor_name",
    "device_name",
    "subsystem_vendor_name",
    "subsystem_device_name",
    "class_name",
];

impl PcideviceCollector {
    /// The info series' label values of `d`, in [`LOCATION_LABELS`],
    /// [`INFO_LABELS`] and (with names) [`NAME_LABELS`] order.
    fn info_values(&self, d: &PciDevice) -> Vec<String> {
        let mut values: Vec<String> = d.location.labels().into();
        match &d.parent {
            Some(parent) => values.extend(parent.labels()),
            None => values.extend(["*", "*", "*", "*"].map(String::from)),
        }
        values.extend([
            format!("0x{:06x}", d.class),
            format!("0x{:04x}", d.vendor),
            format!("0x{:04x}", d.device),
            format!("0x{:04x}", d.subsystem_vendor),
            format!("0x{:04x}", d.subsystem_device),
            format!("0x{:02x}", d.revision),
        ]);
        if let Some(ids) = &self.names {
            values.extend([
                ids.vendor_name(d.vendor),
                ids.device_name(d.vendor, d.device),
                ids.vendor_name(d.subsystem_vendor),
                ids.subsystem_name(d.vendor, d.device, d.subsystem_vendor, d.subsystem_device),
                ids.class_name(d.class),
            ]);
        }
        values
    }
}

impl Collector for PcideviceCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices = read_devices(host)?;
        let locations: Vec<[String; 4]> = devices.iter().map(|d| d.location.labels()).collect();

        let mut info_labels: Vec<&str> = LOCATION_LABELS.into();
        info_labels.extend(INFO_LABELS);
        if self.names.is_some() {
            info_labels.extend(NAME_LABELS);
        }
        let info = out.family(
            "node_pcidevice_info",
            "Non-numeric data from /sys/bus/pci/devices/<location>, value is always 1.",
            MetricType::Gauge,
            &info_labels,
        );
        for d in &devices {
            info.push(&self.info_values(d), 1.0);
        }

        for &(name, help, value) in DEVICE_GAUGES {
            let family = out.family(
                format!("node_pcidevice_{name}"),
                help,
                MetricType::Gauge,
                &LOCATION_LABELS,
            );
            for (d, location) in devices.iter().zip(&locations) {
                family.push(location, value(d));
            }
        }

        let mut state_labels: Vec<&str> = LOCATION_LABELS.into();
        state_labels.push("state");
        let power = out.family(
            "node_pcidevice_power_state",
            "PCIe device power state, one of: D0, D1, D2, D3hot, D3cold, unknown or error.",
            MetricType::Gauge,
            &state_labels,
        );
        for (d, location) in devices.iter().zip(&locations) {
            let Some(current) = &d.power_state else {
                continue;
            };
            for state in POWER_STATES {
                let [segment, bus, device, function] = location;
                let labels = [segment.as_str(), bus, device, function, state];
                power.push(&labels, f64::from(u8::from(current == state)));
            }
        }

        let numa = out.family(
            "node_pcidevice_numa_node",
            "NUMA node number for the PCI device. -1 indicates unknown or not available.",
            MetricType::Gauge,
            &LOCATION_LABELS,
        );
        for (d, location) in devices.iter().zip(&locations) {
            if let Some(node) = d.numa_node {
                numa.push(location, f64::from(node));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, fixture_host, host_with_sysfs, write_files};

    #[test]
    fn locations() {
        let at = PciLocation::parse("0000:3b:00.1").unwrap();
        assert_eq!(
            at,
            PciLocation {
                segment: 0,
                bus: 0x3b,
                device: 0,
                function: 1
            }
        );
        assert_eq!(at.labels(), ["0000", "3b", "00", "1"]);
        assert_eq!(
            PciLocation::parse("10000:e2:1f.7").unwrap().labels(),
            ["10000", "e2", "1f", "7"],
            "VMD domains go past four digits"
        );
        for bad in [
            "",
            "0000:00:1f",
            "0000:00.1f.2",
            "0000:00:1f.2:0",
            "0000:0g:00.0",
            "pci0000:00",
            "0000:-1:00.0",
        ] {
            assert!(PciLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn link_targets() {
        let (own, parent) =
            parse_link_target("../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0").unwrap();
        assert_eq!(own.labels(), ["0000", "01", "00", "0"]);
        assert_eq!(parent.unwrap().labels(), ["0000", "00", "01", "0"]);
        let (_, parent) = parse_link_target("../../../devices/pci0000:00/0000:00:1f.2").unwrap();
        assert_eq!(parent, None, "a root bus is no parent");
        assert!(parse_link_target("../../../devices/platform/serial8250").is_err());
        assert!(
            parse_link_target("0000:01:00.0").is_err(),
            "no parent at all"
        );
        assert!(parse_link_target("").is_err());
    }

    #[test]
    fn ids_and_link_attributes() {
        assert_eq!(parse_id("0x060400\n"), Ok(0x060400));
        assert_eq!(parse_id("-1\n"), Ok(-1));
        assert_eq!(parse_id("0"), Ok(0));
        assert!(parse_id("0x1ffffffff").is_err(), "beyond 32 bits");
        assert!(parse_id("").is_err() && parse_id("intel").is_err());

        assert_eq!(parse_link_speed("8.0 GT/s PCIe\n"), Ok(Some(8.0)));
        assert_eq!(parse_link_speed("2.5 GT/s PCIe"), Ok(Some(2.5)));
        assert_eq!(parse_link_speed("64.0 GT/s PCIe"), Ok(Some(64.0)));
        assert_eq!(parse_link_speed("8 GT/s\n"), Ok(Some(8.0)), "older kernels");
        assert_eq!(parse_link_speed("Unknown\n"), Ok(None));
        assert_eq!(parse_link_speed("Unknown speed\n"), Ok(None));
        assert_eq!(parse_link_speed(""), Ok(None));
        assert!(parse_link_speed("8.0 Gb/s").is_err());
        assert!(parse_link_speed("fast GT/s PCIe").is_err());
        assert!(parse_link_speed("8.0").is_err());

        assert_eq!(parse_link_width("16\n"), Ok(Some(16.0)));
        assert_eq!(parse_link_width("0\n"), Ok(Some(0.0)));
        assert_eq!(parse_link_width("Unknown"), Ok(None));
        assert!(parse_link_width("x16").is_err());

        assert_eq!(parse_decimal("64\n"), Ok(Some(64)));
        assert_eq!(parse_decimal(" \n"), Ok(None));
        assert!(parse_decimal("0x40").is_err());
    }

    #[test]
    fn reads_a_device_of_an_older_kernel() {
        // A 4.x kernel: no power_state, no SR-IOV, speeds without "PCIe",
        // and no numa_node without CONFIG_NUMA.
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("class", "0x030000\n"),
                ("vendor", "0x1a03\n"),
                ("device", "0x2000\n"),
                ("subsystem_vendor", "0x1a03\n"),
                ("subsystem_device", "0x2000\n"),
                ("revision", "0x41\n"),
                ("max_link_speed", "5 GT/s\n"),
                ("max_link_width", "1\n"),
                ("current_link_speed", "2.5 GT/s\n"),
                ("current_link_width", "1\n"),
            ],
        );
        let device = PciDevice::read(
            dir.path(),
            "../../../devices/pci0000:00/0000:00:1c.7/0000:05:00.0",
        )
        .unwrap();
        assert_eq!(
            (device.class, device.vendor, device.revision),
            (0x030000, 0x1a03, 0x41)
        );
        assert_eq!(
            (device.max_link_speed, device.current_link_speed),
            (Some(5.0), Some(2.5))
        );
        assert_eq!(
            (device.numa_node, device.power_state.as_deref()),
            (None, None)
        );
        assert_eq!(device.sriov_totalvfs, None);

        write_files(dir.path(), &[("max_link_speed", "5 Gb/s\n")]);
        let err =
            PciDevice::read(dir.path(), "../../../devices/pci0000:00/0000:05:00.0").unwrap_err();
        assert!(err.contains("max_link_speed"), "{err}");
        write_files(
            dir.path(),
            &[("max_link_speed", "5 GT/s\n"), ("revision", "\n")],
        );
        let err =
            PciDevice::read(dir.path(), "../../../devices/pci0000:00/0000:05:00.0").unwrap_err();
        assert!(err.contains("revision"), "{err}");
        std::fs::remove_file(dir.path().join("revision")).unwrap();
        assert!(PciDevice::read(dir.path(), "../../../devices/pci0000:00/0000:05:00.0").is_err());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = build(&SPEC, fixture_host(), &[]).unwrap().render();
        for expected in [
            "# HELP node_pcidevice_info Non-numeric data from /sys/bus/pci/devices/<location>, value is always 1.",
            "# TYPE node_pcidevice_info gauge",
            r#"node_pcidevice_info{bus="01",class_id="0x010802",device="00",device_id="0xa808",function="0",parent_bus="00",parent_device="01",parent_function="0",parent_segment="0000",revision="0x00",segment="0000",subsystem_device_id="0xa801",subsystem_vendor_id="0x144d",vendor_id="0x144d"} 1"#,
            r#"node_pcidevice_info{bus="00",class_id="0x010601",device="1f",device_id="0xa182",function="2",parent_bus="*",parent_device="*",parent_function="*",parent_segment="*",revision="0x09",segment="0000",subsystem_device_id="0x0716",subsystem_vendor_id="0x1028",vendor_id="0x8086"} 1"#,
            "# HELP node_pcidevice_max_link_transfers_per_second Value of maximum link's transfers per second (T/s)",
            r#"node_pcidevice_max_link_transfers_per_second{bus="01",device="00",function="0",segment="0000"} 8e+09"#,
            r#"node_pcidevice_current_link_transfers_per_second{bus="00",device="03",function="0",segment="0000"} -1"#,
            r#"node_pcidevice_current_link_width{bus="00",device="01",function="0",segment="0000"} 4"#,
            r#"node_pcidevice_max_link_width{bus="00",device="1f",function="2",segment="0000"} -1"#,
            r#"node_pcidevice_sriov_totalvfs{bus="00",device="03",function="0",segment="0000"} 64"#,
            r#"node_pcidevice_sriov_numvfs{bus="00",device="1f",function="2",segment="0000"} 0"#,
            r#"node_pcidevice_sriov_drivers_autoprobe{bus="00",device="03",function="0",segment="0000"} 1"#,
            r#"node_pcidevice_d3cold_allowed{bus="00",device="1f",function="2",segment="0000"} 1"#,
            r#"node_pcidevice_power_state{bus="00",device="1f",function="2",segment="0000",state="D3hot"} 1"#,
            r#"node_pcidevice_power_state{bus="00",device="1f",function="2",segment="0000",state="D0"} 0"#,
            r#"node_pcidevice_numa_node{bus="00",device="03",function="0",segment="0000"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(
            !text.contains(r#"node_pcidevice_numa_node{bus="00",device="1f""#),
            "-1 is left out"
        );
        assert!(!text.contains("vendor_name"));
    }

    #[test]
    fn names_from_the_hosts_pci_ids() {
        let text = build(&SPEC, fixture_host(), &["--collector.pcidevice.names"])
            .unwrap()
            .render();
        for expected in [
            r#"class_name="NVM Express",device="00",device_id="0xa808",device_name="NVMe SSD Controller SM981/PM981/PM983""#,
            r#"subsystem_device_name="SSD 970 EVO/PRO",subsystem_vendor_id="0x144d",subsystem_vendor_name="Samsung Electronics Co Ltd",vendor_id="0x144d",vendor_name="Samsung Electronics Co Ltd"}"#,
            r#"class_name="Normal decode""#,
            r#"class_name="AHCI 1.0""#,
            r#"subsystem_device_name="Ethernet Converged Network Adapter X710-4""#,
            // Dell is known, its root port subsystem is not.
            r#"subsystem_device_id="0x0716",subsystem_device_name="0716",subsystem_vendor_id="0x1028",subsystem_vendor_name="Dell""#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn names_fall_back_to_ids_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("pci.ids");
        let flag = format!("--collector.pcidevice.idsfile={}", missing.display());
        let text = build(
            &SPEC,
            fixture_host(),
            &["--collector.pcidevice.names", &flag],
        )
        .unwrap()
        .render();
        assert!(
            text.contains(r#"class_name="Unknown class (010802)",device="00",device_id="0xa808",device_name="a808""#),
            "{text}"
        );
        assert!(
            text.contains(r#"vendor_id="0x144d",vendor_name="144d"}"#),
            "{text}"
        );

        // The given file wins over the host's; one past the bound is not read.
        std::fs::write(&missing, "144d  Samsung\n").unwrap();
        let text = build(
            &SPEC,
            fixture_host(),
            &["--collector.pcidevice.names", &flag],
        )
        .unwrap()
        .render();
        assert!(text.contains(r#"vendor_name="Samsung"}"#), "{text}");
        let file = File::create(&missing).unwrap();
        file.set_len(MAX_IDS_FILE_BYTES + 1).unwrap();
        assert!(read_ids_file(&missing).unwrap_err().contains("larger than"));
    }

    #[test]
    fn a_broken_device_fails_the_run_and_no_bus_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let device = dir.path().join("devices/pci0000:00/0000:00:02.0");
        write_files(&device, &[("class", "0x030000\n")]);
        let devices = dir.path().join("bus/pci/devices");
        std::fs::create_dir_all(&devices).unwrap();
        std::os::unix::fs::symlink(
            "../../../devices/pci0000:00/0000:00:02.0",
            devices.join("0000:00:02.0"),
        )
        .unwrap();
        let built = build(&SPEC, host_with_sysfs(dir.path()), &[]).unwrap();
        let err = built.run().1.unwrap_err();
        assert!(err.message().contains("vendor"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let built = build(&SPEC, host_with_sysfs(empty.path()), &[]).unwrap();
        assert_eq!(
            built.run().1.unwrap_err().kind(),
            crate::collectors::ErrorKind::NoData
        );
    }
}
