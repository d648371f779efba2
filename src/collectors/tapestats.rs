//! `tapestats`: I/O statistics of SCSI tape drives from
//! `<sysfs>/class/scsi_tape/st*/stats/` (Linux 4.2 and later), as
//! `node_tape_*`. Only the `st<N>` devices are read: the `nst<N>` and
//! mode variants (`st0a`, `nst0l`…) are the same drive.

use std::fs;
use std::io;
use std::path::Path;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{Desc, MetricSet};
use crate::parse::sysfs_int;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "tapestats",
    default_enabled: true,
    reads: "/sys/class/scsi_tape/st*/stats/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the tapestats collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of devices to ignore for tapestats.
    #[arg(id = "collector.tapestats.ignored-devices", long = "collector.tapestats.ignored-devices",
          value_name = "REGEX", default_value = "^$", value_parser = crate::parse::regex)]
    pub ignored_devices: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(TapestatsCollector {
        ignored: ctx.flags::<Flags>()?.ignored_devices,
    }))
}

/// Reports `node_tape_*`.
struct TapestatsCollector {
    ignored: Regex,
}

/// Every statistic, named after `node_tape_`, in the order of
/// [`TapeStats::values`]; each source is the file under `stats/` and the
/// multiplier into the metric's unit (nanoseconds to seconds).
const STATISTICS: [Desc<(&str, f64)>; 10] = [
    Desc::gauge(
        "io_now",
        "The number of I/Os currently outstanding to this device.",
        ("in_flight", 1.0),
    ),
    Desc::counter(
        "io_time_seconds_total",
        "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.",
        ("io_ns", 1e-9),
    ),
    Desc::counter(
        "io_others_total",
        "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
        ("other_cnt", 1.0),
    ),
    Desc::counter(
        "read_bytes_total",
        "The number of bytes read from the tape drive.",
        ("read_byte_cnt", 1.0),
    ),
    Desc::counter(
        "reads_completed_total",
        "The number of read requests issued to the tape drive.",
        ("read_cnt", 1.0),
    ),
    Desc::counter(
        "read_time_seconds_total",
        "The amount of time spent waiting for read requests to complete.",
        ("read_ns", 1e-9),
    ),
    Desc::counter(
        "residual_total",
        "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.",
        ("resid_cnt", 1.0),
    ),
    Desc::counter(
        "written_bytes_total",
        "The number of bytes written to the tape drive.",
        ("write_byte_cnt", 1.0),
    ),
    Desc::counter(
        "writes_completed_total",
        "The number of write requests issued to the tape drive.",
        ("write_cnt", 1.0),
    ),
    Desc::counter(
        "write_time_seconds_total",
        "The amount of time spent waiting for write requests to complete.",
        ("write_ns", 1e-9),
    ),
];

/// One tape drive's statistics, raw: counts, bytes and nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapeStats {
    /// The device name, `st0`.
    pub device: String,
    /// Each statistic's raw value, in the order of [`STATISTICS`]; a file
    /// the kernel does not have counts as 0.
    pub values: [u64; 10],
}

impl TapeStats {
    /// Builds the statistics of `device` from `(file, content)` pairs of its
    /// `stats/` directory. Unknown files are ignored; a value that is not an
    /// unsigned integer (in Go's base-0 syntax) is an error naming the file.
    pub fn parse<'a>(
        device: &str,
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TapeStats, String> {
        let mut values = [0; 10];
        for (file, content) in files {
            let Some(slot) = STATISTICS.iter().position(|s| s.source.0 == file) else {
                continue;
            };
            values[slot] = sysfs_int(content)
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| format!("{file}: invalid {:?}", content.trim()))?;
        }
        Ok(TapeStats {
            device: device.to_string(),
            values,
        })
    }

    /// Reads the `stats/` directory of the tape device directory `dir`.
    pub fn read(device: &str, dir: &Path) -> Result<TapeStats, CollectError> {
        let stats = dir.join("stats");
        let entries = fs::read_dir(&stats).map_err(|e| CollectError::io(&stats, &e))?;
        let mut files = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let content = read_sysfs_attribute(&entry.path())
                .map_err(|e| CollectError::io(&entry.path(), &e))?;
            files.push((name, content));
        }
        TapeStats::parse(device, files.iter().map(|(n, c)| (n.as_str(), c.as_str())))
            .map_err(|message| CollectError::parse(&stats, message))
    }
}

/// Whether a `scsi_tape` entry is a drive's primary device: `st` and digits.
pub fn is_primary_device(name: &str) -> bool {
    name.strip_prefix("st")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl TapestatsCollector {
    fn read_tapes(&self, host: &Host) -> Result<Vec<TapeStats>, CollectError> {
        let root = host.sys_path("class/scsi_tape");
        let entries = fs::read_dir(&root).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CollectError::no_data("scsi_tape stats not found"),
            _ => CollectError::failed(format!(
                "error obtaining SCSITape class info: {}: {e}",
                root.display()
            )),
        })?;
        let mut tapes = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let device = entry.file_name().to_string_lossy().into_owned();
            if !is_primary_device(&device) || self.ignored.is_match(&device) {
                continue;
            }
            tapes.push(TapeStats::read(&device, &entry.path())?);
        }
        tapes.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(tapes)
    }
}

impl Collector for TapestatsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let tapes = self.read_tapes(host)?;
        for (slot, statistic) in STATISTICS.iter().enumerate() {
            let family = out.family(
                format!("node_tape_{}", statistic.name),
                statistic.help,
                statistic.metric_type,
                &["device"],
            );
            for tape in &tapes {
                family.push(
                    &[&tape.device],
                    tape.values[slot] as f64 * statistic.source.1,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_sysfs, scrape_fixtures, write_files,
    };
    use crate::collectors::ErrorKind;

    #[test]
    fn primary_devices() {
        assert!(is_primary_device("st0"));
        assert!(is_primary_device("st12"));
        assert!(!is_primary_device("nst0"));
        assert!(!is_primary_device("st0a"));
        assert!(!is_primary_device("st0l"));
        assert!(!is_primary_device("st"));
    }

    #[test]
    fn statistics_in_order_with_absent_ones_zero() {
        let stats = TapeStats::parse(
            "st0",
            [
                ("write_ns", "5000000000\n"),
                ("read_cnt", "3\n"),
                ("in_flight", "1\n"),
                ("uevent", "garbage"),
            ],
        )
        .unwrap();
        assert_eq!(stats.values, [1, 0, 0, 0, 3, 0, 0, 0, 0, 5_000_000_000]);
    }

    #[test]
    fn garbage_is_an_error() {
        let err = TapeStats::parse("st0", [("io_ns", "lots\n")]).unwrap_err();
        assert!(err.contains("io_ns"), "{err}");
        assert!(TapeStats::parse("st0", [("io_ns", "-1\n")]).is_err());
    }

    #[test]
    fn ignored_and_secondary_devices_are_skipped() {
        let sys = tempfile::tempdir().unwrap();
        for device in ["st0", "st1", "nst0", "st0a"] {
            write_files(
                &sys.path()
                    .join("class/scsi_tape")
                    .join(device)
                    .join("stats"),
                &[("read_cnt", "7\n")],
            );
        }
        let host = host_with_sysfs(sys.path());
        let collector = build(
            &SPEC,
            host,
            &["--collector.tapestats.ignored-devices=^st1$"],
        )
        .unwrap();
        let text = collector.render();
        assert!(text.contains("node_tape_reads_completed_total{device=\"st0\"} 7\n"));
        assert_eq!(
            text.matches("node_tape_reads_completed_total{").count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn a_tape_without_stats_fails() {
        // Kernels before 4.2 have no statistics.
        let sys = tempfile::tempdir().unwrap();
        write_files(&sys.path().join("class/scsi_tape/st0"), &[("dev", "9:0\n")]);
        let host = host_with_sysfs(sys.path());
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }

    #[test]
    fn no_tape_class_is_no_data() {
        let host = host_with_sysfs(Path::new("/nonexistent/sys"));
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn fixture_tapes() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# TYPE node_tape_io_now gauge",
            "# TYPE node_tape_read_bytes_total counter",
            "node_tape_io_now{device=\"st0\"} 1\n",
            "node_tape_io_time_seconds_total{device=\"st0\"} 9247.01108772\n",
            "node_tape_written_bytes_total{device=\"st0\"} 1.496246784e+12\n",
            "node_tape_residual_total{device=\"st0\"} 19\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
