//! `diskstats`: per-device I/O counters from `<procfs>/diskstats`, with
//! `node_disk_info` and the filesystem, device-mapper and ATA facts udev
//! records for each device under `--path.udev.data`.

pub mod udev;

use std::collections::HashMap;
use std::fs;
use std::sync::{Arc, Mutex};

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::{with_deprecated_alias, DeviceFilter};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::unpoisoned::lock;

use self::udev::{CachedUdev, UdevProperties};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "diskstats",
    default_enabled: true,
    reads: "/proc/diskstats, /sys/block/*/queue/rotational, /sys/block/*/slaves, udev data",
    flags: Some(Flags::augment_args),
    build,
};

/// node_exporter's default `--collector.diskstats.device-exclude`: RAM
/// disks, loop devices, floppies and partitions of the usual disk names.
pub const DEFAULT_DEVICE_EXCLUDE: &str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";

/// Flags of the diskstats collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of diskstats devices to exclude (mutually exclusive to
    /// device-include). [default: ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$]
    #[arg(id = "collector.diskstats.device-exclude", long = "collector.diskstats.device-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_exclude: Option<Regex>,

    /// DEPRECATED: Use collector.diskstats.device-exclude
    #[arg(id = "collector.diskstats.ignored-devices", long = "collector.diskstats.ignored-devices", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub ignored_devices: Option<Regex>,

    /// Regexp of diskstats devices to include (mutually exclusive to
    /// device-exclude).
    #[arg(id = "collector.diskstats.device-include", long = "collector.diskstats.device-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_include: Option<Regex>,
}

impl Flags {
    /// The device filter the flags describe. The default exclude pattern
    /// applies only when no include pattern is given, so that
    /// `--collector.diskstats.device-include` works on its own; giving both
    /// patterns is refused, as node_exporter does.
    pub fn device_filter(&self) -> Result<DeviceFilter, String> {
        let exclude = with_deprecated_alias(
            "collector.diskstats.device-exclude",
            self.device_exclude.as_ref(),
            "collector.diskstats.ignored-devices",
            self.ignored_devices.as_ref(),
        )?;
        let exclude = match (exclude, &self.device_include) {
            (Some(exclude), _) => Some(exclude),
            (None, Some(include)) if !include.as_str().is_empty() => None,
            (None, _) => Some(Regex::new(DEFAULT_DEVICE_EXCLUDE).map_err(|e| e.to_string())?),
        };
        DeviceFilter::exclusive(exclude, self.device_include.clone())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let filter = ctx.flags::<Flags>()?.device_filter()?;
    if !ctx.host.udev_data().is_dir() {
        tracing::warn!(
            path = %ctx.host.udev_data().display(),
            "udev data directory not found: node_disk_info and the udev-based disk metrics will have empty labels"
        );
    }
    Ok(Box::new(DiskstatsCollector {
        filter,
        devices: Mutex::new(HashMap::new()),
    }))
}

/// Reports the `node_disk_*` families.
struct DiskstatsCollector {
    filter: DeviceFilter,
    /// Facts that cannot change while a device exists, keyed by
    /// (major, minor); dropped when the device leaves `/proc/diskstats`.
    devices: Mutex<HashMap<(u32, u32), DeviceFacts>>,
}

/// One line of `/proc/diskstats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStatsLine {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Kernel device name (`sda`, `nvme0n1`, `dm-0`).
    pub device: String,
    /// The counters after the name, in kernel order: 11 before Linux 4.18,
    /// 15 with the discard counters, 17 with the flush counters (5.5+).
    pub counters: Vec<u64>,
}

/// Counter counts the kernel has printed: 11 (2.6.25+), 15 (4.18+), 17 (5.5+).
const KNOWN_COUNTER_COUNTS: [usize; 3] = [11, 15, 17];
/// The most counters read from a line; later kernels may append more.
const MAX_COUNTERS: usize = 17;

impl DiskStatsLine {
    /// Parses `/proc/diskstats`. Lines with a counter count no kernel prints
    /// in full (such as 2.6 kernels' four-counter partition lines) or with a
    /// non-numeric field are skipped, as node_exporter skips them; text with
    /// lines but none usable is an error.
    pub fn parse_all(text: &str) -> Result<Vec<DiskStatsLine>, String> {
        let mut lines = Vec::new();
        let mut skipped = 0usize;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match DiskStatsLine::parse(line) {
                Some(parsed) => lines.push(parsed),
                None => skipped += 1,
            }
        }
        if lines.is_empty() && skipped > 0 {
            return Err(format!("none of {skipped} lines is a diskstats line"));
        }
        Ok(lines)
    }

    fn parse(line: &str) -> Option<DiskStatsLine> {
        let mut fields = line.split_whitespace();
        let major = fields.next()?.parse().ok()?;
        let minor = fields.next()?.parse().ok()?;
        let device = fields.next()?.to_string();
        let counters = fields
            .take(MAX_COUNTERS)
            .map(|f| f.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()?;
        KNOWN_COUNTER_COUNTS
            .contains(&counters.len())
            .then_some(DiskStatsLine {
                major,
                minor,
                device,
                counters,
            })
    }
}

/// How a kernel counter becomes a metric value.
#[derive(Clone, Copy)]
enum Scale {
    /// Used as is.
    One,
    /// 512-byte sectors to bytes: the kernel counts in 512-byte units
    /// whatever the device's own sector size.
    Sectors,
    /// Milliseconds to seconds.
    Millis,
}

impl Scale {
    fn apply(self, raw: u64) -> f64 {
        const UNIX_SECTOR_BYTES: f64 = 512.0;
        const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;
        match self {
            Scale::One => raw as f64,
            Scale::Sectors => raw as f64 * UNIX_SECTOR_BYTES,
            Scale::Millis => raw as f64 * SECONDS_PER_TICK,
        }
    }
}

/// The metric for each counter position, in kernel order; each source is how
/// the counter is scaled. Discarded sectors stay in sectors, as node_exporter
/// reports them.
const COUNTERS: [Desc<Scale>; MAX_COUNTERS] = [
    Desc::counter(
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Scale::Sectors,
    ),
    Desc::counter(
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Scale::Millis,
    ),
    Desc::counter(
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Scale::Sectors,
    ),
    Desc::counter(
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        Scale::Millis,
    ),
    Desc::gauge(
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Scale::Millis,
    ),
    Desc::counter(
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        Scale::Millis,
    ),
    Desc::counter(
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        Scale::Millis,
    ),
    Desc::counter(
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        Scale::One,
    ),
    Desc::counter(
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        Scale::Millis,
    ),
];

/// The gauges node_exporter makes of udev's ATA properties; each source is
/// the property.
const ATA_GAUGES: [Desc<&str>; 3] = [
    Desc::gauge(
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
        "ID_ATA_WRITE_CACHE",
    ),
    Desc::gauge(
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
        "ID_ATA_WRITE_CACHE_ENABLED",
    ),
    Desc::gauge(
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
        "ID_ATA_ROTATION_RATE_RPM",
    ),
];

/// A label and the udev property that gives its value.
type UdevLabel = (&'static str, &'static str);

/// Info families whose labels are udev properties; each source is the labels
/// with their properties.
const UDEV_INFO: [Desc<&[UdevLabel]>; 2] = [
    Desc::gauge(
        "node_disk_filesystem_info",
        "Info about disk filesystem.",
        &[
            ("type", "ID_FS_TYPE"),
            ("usage", "ID_FS_USAGE"),
            ("uuid", "ID_FS_UUID"),
            ("version", "ID_FS_VERSION"),
        ],
    ),
    Desc::gauge(
        "node_disk_device_mapper_info",
        "Info about disk device mapper.",
        &[
            ("name", "DM_NAME"),
            ("uuid", "DM_UUID"),
            ("vg_name", "DM_VG_NAME"),
            ("lv_name", "DM_LV_NAME"),
            ("lv_layer", "DM_LV_LAYER"),
        ],
    ),
];

/// What is known of a device beyond its counters.
#[derive(Debug, Clone)]
struct DeviceFacts {
    /// The name the facts were read under; a new name for the same numbers
    /// is a new device.
    device: String,
    /// `/sys/block/<dev>/queue/rotational` as `0`/`1`; `0` when absent
    /// (partitions have no queue directory).
    rotational: String,
    udev: CachedUdev,
}

/// One reported device: its counters, facts and device-mapper slaves.
struct DeviceReport {
    line: DiskStatsLine,
    rotational: String,
    udev: Arc<UdevProperties>,
    backing_devices: Vec<String>,
}

impl DiskstatsCollector {
    /// The facts for `line`, from the cache when the device is unchanged.
    fn facts(
        &self,
        host: &Host,
        line: &DiskStatsLine,
        cached: Option<&DeviceFacts>,
    ) -> DeviceFacts {
        let udev_path = host
            .udev_data()
            .join(format!("b{}:{}", line.major, line.minor));
        match cached {
            Some(facts) if facts.device == line.device => DeviceFacts {
                udev: facts.udev.refreshed(&udev_path),
                ..facts.clone()
            },
            _ => DeviceFacts {
                device: line.device.clone(),
                rotational: self.rotational(host, &line.device),
                udev: CachedUdev::default().refreshed(&udev_path),
            },
        }
    }

    fn rotational(&self, host: &Host, device: &str) -> String {
        let path = host.sys_path(&format!(
            "block/{}/queue/rotational",
            sysfs_block_name(device)
        ));
        match read_trimmed(&path).ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(value) => format!("{value:b}"),
            None => "0".to_string(),
        }
    }

    /// The devices under a device-mapper device, sorted; none when sysfs
    /// does not list them.
    fn backing_devices(&self, host: &Host, device: &str) -> Vec<String> {
        let path = host.sys_path(&format!("block/{}/slaves", sysfs_block_name(device)));
        let mut names: Vec<String> = match fs::read_dir(&path) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort_unstable();
        names
    }
}

/// The `/sys/block` directory name of a device: the kernel writes `/` in
/// names (`cciss/c0d0`) as `!` there.
fn sysfs_block_name(device: &str) -> String {
    device.replace('/', "!")
}

impl Collector for DiskstatsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("diskstats");
        let text = crate::host::read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let lines = DiskStatsLine::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;

        let mut reports = Vec::new();
        {
            let mut cache = lock(&self.devices);
            let mut seen = HashMap::with_capacity(cache.len());
            for line in lines {
                if self.filter.ignored(&line.device) {
                    continue;
                }
                let key = (line.major, line.minor);
                let facts = self.facts(host, &line, cache.get(&key));
                let udev = Arc::clone(&facts.udev.properties);
                let backing_devices = if udev.get("DM_NAME").is_empty() {
                    Vec::new()
                } else {
                    self.backing_devices(host, &line.device)
                };
                reports.push(DeviceReport {
                    rotational: facts.rotational.clone(),
                    line,
                    udev,
                    backing_devices,
                });
                seen.insert(key, facts);
            }
            *cache = seen;
        }
        write_metrics(&reports, out);
        Ok(())
    }
}

fn write_metrics(reports: &[DeviceReport], out: &mut MetricSet) {
    let info = out.family(
        "node_disk_info",
        "Info of /sys/block/<block_device>.",
        MetricType::Gauge,
        &[
            "device",
            "major",
            "minor",
            "path",
            "wwn",
            "model",
            "serial",
            "revision",
            "rotational",
        ],
    );
    for r in reports {
        let udev = &r.udev;
        // The serial printed on the label first, then udev's short and long forms.
        let serial = [
            udev.get("SCSI_IDENT_SERIAL"),
            udev.get("ID_SERIAL_SHORT"),
            udev.get("ID_SERIAL"),
        ]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("");
        info.push(
            &[
                r.line.device.as_str(),
                &r.line.major.to_string(),
                &r.line.minor.to_string(),
                udev.get("ID_PATH"),
                udev.get("ID_WWN"),
                udev.get("ID_MODEL"),
                serial,
                udev.get("ID_REVISION"),
                &r.rotational,
            ],
            1.0,
        );
    }

    for (i, counter) in COUNTERS.iter().enumerate() {
        let family = counter.family(out, &["device"]);
        for r in reports {
            if let Some(&raw) = r.line.counters.get(i) {
                family.push(&[&r.line.device], counter.source.apply(raw));
            }
        }
    }

    for info in UDEV_INFO {
        let properties = info.source;
        let label_names: Vec<&str> = std::iter::once("device")
            .chain(properties.iter().map(|&(label, _)| label))
            .collect();
        let family = info.family(out, &label_names);
        // Reported where the first property (filesystem type, mapper name) is set.
        let key = properties[0].1;
        for r in reports.iter().filter(|r| !r.udev.get(key).is_empty()) {
            let values: Vec<&str> = std::iter::once(r.line.device.as_str())
                .chain(properties.iter().map(|&(_, property)| r.udev.get(property)))
                .collect();
            family.push(&values, 1.0);
        }
    }

    let backing = out.family(
        "node_disk_device_mapper_backing_device_info",
        "Info about the underlying block devices of a device mapper device.",
        MetricType::Gauge,
        &["device", "backing_device"],
    );
    for r in reports {
        for slave in &r.backing_devices {
            backing.push(&[r.line.device.as_str(), slave], 1.0);
        }
    }

    for gauge in ATA_GAUGES {
        let property = gauge.source;
        let family = gauge.family(out, &["device"]);
        for r in reports.iter().filter(|r| !r.udev.get("ID_ATA").is_empty()) {
            let value = r
                .udev
                .lookup(property)
                .and_then(|v| v.trim().parse::<f64>().ok());
            match value {
                Some(value) => family.push(&[&r.line.device], value),
                None => {
                    tracing::debug!(device = %r.line.device, property, "no usable ATA property")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's /proc/diskstats (Linux 6.18): 20-field lines.
    const REAL_6_18: &str = "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
 254       0 vda 74826 10269 5425874 27849 18225 51115 21510784 80884 0 13280 110109 6245 74 1476976 1275 1653 101\n\
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn parses_a_current_kernel() {
        let lines = DiskStatsLine::parse_all(REAL_6_18).unwrap();
        assert_eq!(lines.len(), 3);
        let vda = &lines[1];
        assert_eq!((vda.major, vda.minor, vda.device.as_str()), (254, 0, "vda"));
        assert_eq!(vda.counters.len(), 17);
        assert_eq!(vda.counters[0], 74826);
        assert_eq!(vda.counters[16], 101);
    }

    #[test]
    fn parses_older_kernels_and_skips_short_lines() {
        let text = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n\
                    8       1 sda1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n\
                    8       2 sda2 173 1433 0 0\n\
                    8       3 sda3 1 2 3 4 5 6 7 8 9 10 11 12\n";
        let lines = DiskStatsLine::parse_all(text).unwrap();
        let counts: Vec<_> = lines
            .iter()
            .map(|l| (l.device.as_str(), l.counters.len()))
            .collect();
        assert_eq!(counts, vec![("sda", 11), ("sda1", 15)]);
    }

    #[test]
    fn reads_the_first_seventeen_counters_of_longer_lines() {
        let text = "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n";
        let lines = DiskStatsLine::parse_all(text).unwrap();
        assert_eq!(lines[0].counters.len(), 17);
        assert_eq!(lines[0].counters[16], 17);
    }

    #[test]
    fn rejects_garbage_and_skips_truncated_lines() {
        assert!(DiskStatsLine::parse_all("garbage\n\0\0\0\n").is_err());
        assert!(DiskStatsLine::parse_all("8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n").is_err());
        assert!(DiskStatsLine::parse_all("").unwrap().is_empty());
        let text = format!("{REAL_6_18} 254 1 vda1 74826 10269 5425");
        assert_eq!(DiskStatsLine::parse_all(&text).unwrap().len(), 3);
        let huge = "8 0 sda 99999999999999999999999 2 3 4 5 6 7 8 9 10 11\n";
        assert!(DiskStatsLine::parse_all(huge).is_err());
    }

    #[test]
    fn scales_match_node_exporter() {
        assert_eq!(Scale::Sectors.apply(5425874), 2778047488.0);
        // The same float operation as node_exporter, so the same digits.
        assert_eq!(Scale::Millis.apply(84731), 84.73100000000001);
        assert_eq!(Scale::One.apply(7), 7.0);
    }

    fn flags(exclude: Option<&str>, ignored: Option<&str>, include: Option<&str>) -> Flags {
        let re = |s: Option<&str>| s.map(|s| Regex::new(s).unwrap());
        Flags {
            device_exclude: re(exclude),
            ignored_devices: re(ignored),
            device_include: re(include),
        }
    }

    #[test]
    fn default_filter_drops_partitions_and_virtual_devices() {
        let f = flags(None, None, None).device_filter().unwrap();
        for ignored in [
            "loop0",
            "ram0",
            "zram0",
            "sda1",
            "vdb2",
            "xvda1",
            "nvme0n1p1",
            "fd0",
        ] {
            assert!(f.ignored(ignored), "{ignored}");
        }
        for kept in ["sda", "vda", "nvme0n1", "dm-0", "sr0", "mmcblk0", "md0"] {
            assert!(!f.ignored(kept), "{kept}");
        }
    }

    #[test]
    fn filter_flags() {
        let f = flags(None, None, Some("^sd")).device_filter().unwrap();
        assert!(!f.ignored("sda1"));
        assert!(f.ignored("vda"));
        let f = flags(None, Some("^vda$"), None).device_filter().unwrap();
        assert!(f.ignored("vda"));
        assert!(!f.ignored("loop0"));
        let f = flags(Some(""), None, None).device_filter().unwrap();
        assert!(!f.ignored("loop0"));
        assert!(flags(Some("a"), None, Some("b")).device_filter().is_err());
        assert!(flags(Some("a"), Some("b"), None).device_filter().is_err());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = crate::collectors::common::testing::scrape_fixtures(&SPEC, &[]);
        for expected in [
            r#"node_disk_info{device="sda",major="8",minor="0",model="ST4000DM004-2CV104",path="pci-0000:00:17.0-ata-1",revision="0001",rotational="1",serial="ZFN1ABCD",wwn="0x5000c500c1234567"} 1"#,
            r#"node_disk_info{device="nvme0n1",major="259",minor="0",model="Samsung SSD 970 EVO Plus 1TB",path="pci-0000:01:00.0-nvme-1",revision="2B2QEXM7",rotational="0",serial="S4EWNX0R123456",wwn="eui.0025385b91234567"} 1"#,
            r#"node_disk_info{device="sr0",major="11",minor="0",model="QEMU_DVD-ROM",path="pci-0000:00:01.1-ata-2",revision="2.5+",rotational="1",serial="QM00003-label",wwn=""} 1"#,
            r#"node_disk_info{device="mmcblk0",major="179",minor="0",model="",path="platform-fe340000.mmc",revision="",rotational="0",serial="0x1234abcd",wwn=""} 1"#,
            r#"node_disk_info{device="mmcblk0p1",major="179",minor="1",model="",path="platform-fe340000.mmc",revision="",rotational="0",serial="0x1234abcd",wwn=""} 1"#,
            r#"node_disk_info{device="vda",major="254",minor="0",model="",path="",revision="",rotational="1",serial="",wwn=""} 1"#,
            "# TYPE node_disk_read_bytes_total counter",
            r#"node_disk_read_bytes_total{device="sda"} 1.00476777472e+11"#,
            r#"node_disk_read_time_seconds_total{device="sda"} 1602.411"#,
            r#"node_disk_io_now{device="dm-0"} 3"#,
            r#"node_disk_discarded_sectors_total{device="nvme0n1"} 4.12331008e+08"#,
            r#"node_disk_flush_requests_total{device="nvme0n1"} 1.213402e+06"#,
            r#"node_disk_flush_requests_time_seconds_total{device="sda"} 354.277"#,
            r#"node_disk_filesystem_info{device="dm-0",type="ext4",usage="filesystem",uuid="6f1c2b3a-4d5e-4f60-8a71-92b3c4d5e6f7",version="1.0"} 1"#,
            r#"node_disk_filesystem_info{device="mmcblk0p1",type="vfat",usage="filesystem",uuid="1234-ABCD",version="FAT32"} 1"#,
            r#"node_disk_device_mapper_info{device="dm-0",lv_layer="",lv_name="root",name="vg0-root",uuid="LVM-Q1bNd3Xk3b2AyT8pRm4QaZ9cLw2eHn5dz2a8Vb4nWc6eYd0fXg2hZi4jAk6lBm8n",vg_name="vg0"} 1"#,
            r#"node_disk_device_mapper_backing_device_info{backing_device="sda2",device="dm-0"} 1"#,
            r#"node_disk_ata_rotation_rate_rpm{device="sda"} 5425"#,
            r#"node_disk_ata_write_cache{device="sda"} 1"#,
            r#"node_disk_ata_write_cache_enabled{device="sda"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        for absent in [
            r#"device="loop0""#,
            r#"device="zram0""#,
            r#"device="sda1""#,
            r#"device="nvme0n1p1""#,
            r#"node_disk_ata_write_cache{device="sr0"}"#,
        ] {
            assert!(!text.contains(absent), "unexpected {absent}\n{text}");
        }
    }

    #[test]
    fn device_facts_are_cached_until_the_device_changes() {
        use crate::collectors::common::testing::build;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["proc", "sys/block/sdb/queue", "udev"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let line = "8 16 sdb 1 2 3 4 5 6 7 8 9 10 11\n";
        let write = |path: &str, text: &str| std::fs::write(root.join(path), text).unwrap();
        write("proc/diskstats", line);
        write("sys/block/sdb/queue/rotational", "1\n");
        write("udev/b8:16", "E:ID_MODEL=OLD\n");
        let host = Host::new(
            root.join("proc"),
            root.join("sys"),
            root.join("root"),
            root.join("udev"),
        );
        let collector = build(&SPEC, host, &[]).unwrap();
        let info = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("node_disk_info{"))
                .map(str::to_string)
        };
        let first = info(&collector.render()).unwrap();
        assert!(
            first.contains(r#"model="OLD""#) && first.contains(r#"rotational="1""#),
            "{first}"
        );

        // Sysfs facts are not re-read while the device stays; udev data is
        // re-read when udev rewrites the file.
        write("sys/block/sdb/queue/rotational", "0\n");
        let staged = root.join("udev/staged");
        std::fs::write(&staged, "E:ID_MODEL=NEW\n").unwrap();
        std::fs::rename(&staged, root.join("udev/b8:16")).unwrap();
        let second = info(&collector.render()).unwrap();
        assert!(
            second.contains(r#"model="NEW""#) && second.contains(r#"rotational="1""#),
            "{second}"
        );

        // A device that leaves and comes back is read afresh.
        write("proc/diskstats", "");
        assert_eq!(info(&collector.render()), None);
        write("proc/diskstats", line);
        let third = info(&collector.render()).unwrap();
        assert!(third.contains(r#"rotational="0""#), "{third}");

        // So is a new device under the same numbers.
        std::fs::create_dir_all(root.join("sys/block/sdc/queue")).unwrap();
        write("sys/block/sdc/queue/rotational", "1\n");
        write("proc/diskstats", "8 16 sdc 1 2 3 4 5 6 7 8 9 10 11\n");
        let fourth = info(&collector.render()).unwrap();
        assert!(
            fourth.contains(r#"device="sdc""#) && fourth.contains(r#"rotational="1""#),
            "{fourth}"
        );
    }

    #[test]
    fn help_shows_the_default() {
        let help = crate::cli::command().render_long_help().to_string();
        assert!(help.contains(DEFAULT_DEVICE_EXCLUDE), "{help}");
    }
}
