//! `dmmultipath`: device-mapper multipath maps, from `<sysfs>/block/dm-*/`
//! whose `dm/uuid` starts with `mpath-`: their state and size, and the state
//! of each path (`slaves/*`, read from `<sysfs>/block/<path>/device/state`).
//!
//! As node_exporter: a path is active when its device state is `running`
//! (SCSI) or `live` (NVMe), failed otherwise; a map whose name, suspension,
//! size or path state cannot be read fails the run.

use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "dmmultipath",
    default_enabled: true,
    reads: "/sys/block/dm-*/{dm/,size,slaves/}, /sys/block/*/device/state",
    flags: None,
    build: plain::<DmMultipathCollector>,
};

/// Reports the `node_dmmultipath_*` families.
#[derive(Default)]
struct DmMultipathCollector;

/// The block size the kernel counts `size` in.
const SECTOR_BYTES: u64 = 512;

/// One multipath map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipathDevice {
    /// The device-mapper name (`mpatha`).
    pub name: String,
    /// The kernel block device (`dm-1`).
    pub sysfs_name: String,
    /// The device-mapper UUID (`mpath-3600…`).
    pub uuid: String,
    /// Whether the map is suspended.
    pub suspended: bool,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Its paths: block device and device state.
    pub paths: Vec<(String, String)>,
}

/// Whether a path's device state means it can carry I/O.
pub fn is_path_active(state: &str) -> bool {
    state == "running" || state == "live"
}

/// Parses a decimal sysfs number such as `size` or `dm/suspended`.
pub fn parse_decimal(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("invalid number {:?}", text.trim()))
}

/// Reads one value of a [`MultipathDevice`].
type DeviceValue = fn(&MultipathDevice) -> f64;

/// The per-map gauges, named after `node_dmmultipath_`; each source is the
/// value's function of the map.
const DEVICE_GAUGES: [Desc<DeviceValue>; 5] = [
    Desc::gauge(
        "device_active",
        "Whether the multipath device-mapper device is active (1) or suspended (0).",
        |d| if d.suspended { 0.0 } else { 1.0 },
    ),
    Desc::gauge(
        "device_size_bytes",
        "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
        |d| d.size_bytes as f64,
    ),
    Desc::gauge(
        "device_paths",
        "Number of paths for a multipath device.",
        |d| d.paths.len() as f64,
    ),
    Desc::gauge(
        "device_paths_active",
        "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
        |d| d.active_paths() as f64,
    ),
    Desc::gauge(
        "device_paths_failed",
        "Number of paths not in active state for a multipath device.",
        |d| (d.paths.len() - d.active_paths()) as f64,
    ),
];

impl MultipathDevice {
    /// How many of its paths are active.
    pub fn active_paths(&self) -> usize {
        self.paths.iter().filter(|(_, s)| is_path_active(s)).count()
    }

    /// Reads the block device `sysfs_name` under `block` (`<sysfs>/block`):
    /// `None` when it is not a multipath map.
    pub fn read(block: &Path, sysfs_name: &str) -> Result<Option<MultipathDevice>, String> {
        let dir = block.join(sysfs_name);
        let read = |relative: &str| {
            read_trimmed(&dir.join(relative)).map_err(|e| format!("reading {relative}: {e}"))
        };
        let uuid = match read_trimmed(&dir.join("dm/uuid")) {
            Ok(uuid) => uuid,
            // Not a device-mapper device.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("reading dm/uuid: {err}")),
        };
        if !uuid.starts_with("mpath-") {
            return Ok(None);
        }
        let name = read("dm/name")?;
        let suspended = parse_decimal(&read("dm/suspended")?)? == 1;
        let sectors = parse_decimal(&read("size")?)?;
        let mut paths = Vec::new();
        match fs::read_dir(dir.join("slaves")) {
            Ok(entries) => {
                for entry in entries.filter_map(Result::ok) {
                    let path = entry.file_name().to_string_lossy().into_owned();
                    let state = read_trimmed(&block.join(&path).join("device/state"))
                        .map_err(|e| format!("reading {path}/device/state: {e}"))?;
                    paths.push((path, state));
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(format!("listing slaves: {err}")),
        }
        paths.sort();
        Ok(Some(MultipathDevice {
            name,
            sysfs_name: sysfs_name.to_string(),
            uuid,
            suspended,
            size_bytes: sectors.wrapping_mul(SECTOR_BYTES),
            paths,
        }))
    }
}

impl DmMultipathCollector {
    fn read_devices(&self, host: &Host) -> Result<Vec<MultipathDevice>, CollectError> {
        let block = host.sys_path("block");
        let entries = fs::read_dir(&block).map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => {
                CollectError::no_data(format!("{}: {e}", block.display()))
            }
            _ => CollectError::io_or_no_data(&block, &e),
        })?;
        let mut devices = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("dm-") {
                continue;
            }
            let device = MultipathDevice::read(&block, &name)
                .map_err(|e| CollectError::parse(&entry.path(), e))?;
            devices.extend(device);
        }
        Ok(devices)
    }
}

impl Collector for DmMultipathCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices = self.read_devices(host)?;
        let info = out.family(
            "node_dmmultipath_device_info",
            "Non-numeric information about a DM-multipath device.",
            MetricType::Gauge,
            &["device", "sysfs_name", "uuid"],
        );
        for d in &devices {
            info.push(&[&d.name, &d.sysfs_name, &d.uuid], 1.0);
        }
        let path_state = out.family(
            "node_dmmultipath_path_state",
            "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
            MetricType::Gauge,
            &["device", "path", "state"],
        );
        for d in &devices {
            for (path, state) in &d.paths {
                path_state.push(&[&d.name, path, state], 1.0);
            }
        }
        for gauge in &DEVICE_GAUGES {
            let family = out.family(
                format!("node_dmmultipath_{}", gauge.name),
                gauge.help,
                gauge.metric_type,
                &["device", "sysfs_name"],
            );
            for d in &devices {
                family.push(&[&d.name, &d.sysfs_name], (gauge.source)(d));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn path_states() {
        assert!(is_path_active("running"));
        assert!(is_path_active("live"));
        for failed in [
            "offline",
            "blocked",
            "transport-offline",
            "dead",
            "connecting",
            "",
        ] {
            assert!(!is_path_active(failed), "{failed}");
        }
    }

    #[test]
    fn reads_maps_and_skips_other_device_mapper_devices() {
        let dir = tempfile::tempdir().unwrap();
        let block = dir.path();
        write_files(
            &block.join("dm-3/dm"),
            &[
                ("name", "mpathb\n"),
                ("uuid", "mpath-36001405abcdef\n"),
                ("suspended", "1\n"),
            ],
        );
        write_files(&block.join("dm-3"), &[("size", "2048\n")]);
        write_files(&block.join("dm-3/slaves"), &[("nvme1n1", ""), ("sdd", "")]);
        write_files(&block.join("nvme1n1/device"), &[("state", "live\n")]);
        write_files(&block.join("sdd/device"), &[("state", "blocked\n")]);
        write_files(
            &block.join("dm-4/dm"),
            &[("name", "crypt\n"), ("uuid", "CRYPT-LUKS2-ab\n")],
        );
        std::fs::create_dir_all(block.join("dm-5")).unwrap();

        let map = MultipathDevice::read(block, "dm-3").unwrap().unwrap();
        assert_eq!(map.name, "mpathb");
        assert!(map.suspended);
        assert_eq!(map.size_bytes, 2048 * 512);
        assert_eq!(
            map.paths,
            [
                ("nvme1n1".to_string(), "live".to_string()),
                ("sdd".to_string(), "blocked".to_string())
            ]
        );
        assert_eq!(MultipathDevice::read(block, "dm-4"), Ok(None));
        assert_eq!(MultipathDevice::read(block, "dm-5"), Ok(None));

        // A map with a garbled size or a path without a state fails.
        write_files(&block.join("dm-3"), &[("size", "big\n")]);
        assert!(MultipathDevice::read(block, "dm-3").is_err());
        write_files(&block.join("dm-3"), &[("size", "2048\n")]);
        std::fs::remove_file(block.join("sdd/device/state")).unwrap();
        assert!(MultipathDevice::read(block, "dm-3").is_err());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_dmmultipath_device_info Non-numeric information about a DM-multipath device.",
            r#"node_dmmultipath_device_info{device="mpatha",sysfs_name="dm-1",uuid="mpath-3600508b400105e210000900000490000"} 1"#,
            r#"node_dmmultipath_device_active{device="mpatha",sysfs_name="dm-1"} 1"#,
            r#"node_dmmultipath_device_size_bytes{device="mpatha",sysfs_name="dm-1"} 1.073741824e+11"#,
            r#"node_dmmultipath_device_paths{device="mpatha",sysfs_name="dm-1"} 2"#,
            r#"node_dmmultipath_device_paths_active{device="mpatha",sysfs_name="dm-1"} 1"#,
            r#"node_dmmultipath_device_paths_failed{device="mpatha",sysfs_name="dm-1"} 1"#,
            r#"node_dmmultipath_path_state{device="mpatha",path="sdb",state="running"} 1"#,
            r#"node_dmmultipath_path_state{device="mpatha",path="sdc",state="offline"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains("dm-0") && !text.contains("dm-2"), "{text}");
    }

    #[test]
    fn no_block_directory_is_no_data_and_no_maps_is_nothing() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("block/sda")).unwrap();
        let host = Host::new("/nonexistent", dir.path(), "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }
}
