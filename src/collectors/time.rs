//! `time`: the system clock, the agent's local time zone, and the kernel's
//! clock sources from `<sysfs>/devices/system/clocksource/clocksource*/`.
//!
//! The zone is the agent process's own (`TZ`, else `/etc/localtime`), as
//! node_exporter reports Go's local zone; in a pod that is the container's
//! unless the host's `/etc/localtime` is mounted in.

use std::ffi::CStr;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "time",
    default_enabled: true,
    reads: "the system clock, /sys/devices/system/clocksource/clocksource*/{available,current}_clocksource",
    flags: None,
    build: plain::<TimeCollector>,
};

/// Reports `node_time_seconds`, `node_time_zone_offset_seconds` and the
/// `node_time_clocksource_*_info` families.
#[derive(Default)]
struct TimeCollector;

/// The local time zone in effect at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalZone {
    /// The zone's abbreviation, e.g. `UTC` or `CEST`.
    pub name: String,
    /// Seconds east of UTC.
    pub offset_seconds: i64,
}

impl LocalZone {
    /// The local zone at `unix_seconds`, as the C library resolves it.
    pub fn at(unix_seconds: i64) -> Result<LocalZone, CollectError> {
        // The width of time_t follows the C library (musl's alias is
        // deprecated by name), so let the call's signature decide it.
        let time = unix_seconds as _;
        // SAFETY: tm is plain old data; all zeroes is a valid value.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; localtime_r is the
        // thread-safe variant and fills `tm` only.
        if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
            return Err(CollectError::failed(format!(
                "localtime_r: {}",
                io::Error::last_os_error()
            )));
        }
        let name = if tm.tm_zone.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null tm_zone points to a NUL-terminated string
            // owned by the C library that outlives this call.
            unsafe { CStr::from_ptr(tm.tm_zone) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(LocalZone {
            name,
            offset_seconds: tm.tm_gmtoff as i64,
        })
    }
}

/// One `clocksourceN` directory: the sources it offers and the one in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSource {
    /// `available_clocksource`, e.g. `tsc hpet acpi_pm`.
    pub available: Vec<String>,
    /// `current_clocksource`, e.g. `tsc`.
    pub current: String,
}

impl ClockSource {
    /// Builds a clock source from the texts of `available_clocksource`
    /// (names separated by spaces, with a trailing space and newline) and
    /// `current_clocksource` (one name and a newline).
    pub fn parse(available: &str, current: &str) -> ClockSource {
        ClockSource {
            available: available.split_whitespace().map(str::to_string).collect(),
            current: current.trim().to_string(),
        }
    }
}

/// Whether a directory entry is a `clocksource<digit>...` device, the
/// pattern node_exporter globs for.
fn is_clocksource_dir(name: &str) -> bool {
    name.strip_prefix("clocksource")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_digit())
}

/// Reads every clock source under `dir`, in name order. A missing
/// directory means no clock sources (a kernel without sysfs clocksource).
fn read_clock_sources(dir: &Path) -> Result<Vec<ClockSource>, CollectError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::io(dir, &e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_clocksource_dir(name))
        .collect();
    names.sort_unstable();
    names
        .iter()
        .map(|name| {
            let read = |file: &str| {
                let path = dir.join(name).join(file);
                read_sysfs_attribute(&path).map_err(|e| CollectError::io(&path, &e))
            };
            Ok(ClockSource::parse(
                &read("available_clocksource")?,
                &read("current_clocksource")?,
            ))
        })
        .collect()
}

/// Seconds since the epoch with nanosecond resolution, computed as
/// node_exporter does (integer nanoseconds, then one division).
fn unix_seconds(now: SystemTime) -> f64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_nanos() as i64 as f64 / 1e9,
        Err(before) => -(before.duration().as_nanos() as i64 as f64) / 1e9,
    }
}

impl Collector for TimeCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let now = SystemTime::now();
        let seconds = unix_seconds(now);
        out.gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
            seconds,
        );
        let zone = LocalZone::at(seconds.floor() as i64)?;
        out.family(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            MetricType::Gauge,
            &["time_zone"],
        )
        .push(&[&zone.name], zone.offset_seconds as f64);

        let sources = read_clock_sources(&host.sys_path("devices/system/clocksource"))?;
        // The device label is the position in name order, not the number in
        // the directory name, exactly as node_exporter labels it.
        let available = out.family(
            "node_time_clocksource_available_info",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
            &["device", "clocksource"],
        );
        for (device, source) in sources.iter().enumerate() {
            for name in &source.available {
                available.push(&[device.to_string().as_str(), name], 1.0);
            }
        }
        let current = out.family(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            MetricType::Gauge,
            &["device", "clocksource"],
        );
        for (device, source) in sources.iter().enumerate() {
            current.push(&[device.to_string().as_str(), &source.current], 1.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_host, run};
    use crate::metrics::Family;
    use std::time::Duration;

    #[test]
    fn parses_this_machines_clocksource_files() {
        let source = ClockSource::parse(
            include_str!("../../tests/fixtures/sys/devices/system/clocksource/clocksource0/available_clocksource"),
            include_str!("../../tests/fixtures/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        );
        assert_eq!(source.available, vec!["tsc", "kvm-clock"]);
        assert_eq!(source.current, "tsc");
    }

    #[test]
    fn parses_bare_metal_and_empty_files() {
        let source = ClockSource::parse("tsc hpet acpi_pm \n", "hpet\n");
        assert_eq!(source.available, vec!["tsc", "hpet", "acpi_pm"]);
        assert_eq!(source.current, "hpet");
        // arm64: a single source; a truncated read leaves nothing.
        assert_eq!(
            ClockSource::parse("arch_sys_counter \n", "arch_sys_counter\n").available,
            vec!["arch_sys_counter"]
        );
        let empty = ClockSource::parse("", "");
        assert!(empty.available.is_empty());
        assert_eq!(empty.current, "");
    }

    #[test]
    fn clocksource_directory_pattern() {
        assert!(is_clocksource_dir("clocksource0"));
        assert!(is_clocksource_dir("clocksource12"));
        assert!(is_clocksource_dir("clocksource1x"));
        assert!(!is_clocksource_dir("clocksource"));
        assert!(!is_clocksource_dir("clocksourcex"));
        assert!(!is_clocksource_dir("power"));
        assert!(!is_clocksource_dir("uevent"));
    }

    #[test]
    fn seconds_keep_nanoseconds() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(unix_seconds(t), 1_700_000_000.5);
        // Nanoseconds as a float first, as node_exporter computes it.
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 250_000_000);
        assert_eq!(unix_seconds(t), 1_700_000_000.249_999_8);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2.0);
    }

    #[test]
    fn zone_of_the_process_is_known() {
        // The test process's zone is whatever the machine has; only its shape
        // is checked (offsets lie within ±26 hours, names are short).
        let zone = LocalZone::at(1_700_000_000).unwrap();
        assert!(zone.offset_seconds.abs() <= 26 * 3600, "{zone:?}");
        assert!(zone.name.len() < 16, "{zone:?}");
    }

    fn summary(families: &[Family]) -> Vec<(String, Vec<String>)> {
        families
            .iter()
            .flat_map(|f| {
                f.samples().iter().map(|s| {
                    (
                        f.name().to_string(),
                        f.label_values(s).map(String::from).collect(),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn fixture_tree_reports_clock_and_clocksources() {
        let host = fixture_host();
        let collector = TimeCollector;
        let before = unix_seconds(SystemTime::now());
        let (families, result) = run(&collector, &host);
        result.unwrap();
        let now = families
            .iter()
            .find(|f| f.name() == "node_time_seconds")
            .unwrap()
            .samples()[0]
            .value;
        assert!(now >= before, "{now} < {before}");
        let series: Vec<(String, Vec<String>)> = summary(&families)
            .into_iter()
            .filter(|(name, _)| name.contains("clocksource"))
            .collect();
        let s = |name: &str, labels: [&str; 2]| {
            (
                name.to_string(),
                labels.iter().map(|l| l.to_string()).collect(),
            )
        };
        // Labels are sorted by name: clocksource, then device.
        assert_eq!(
            series,
            vec![
                s("node_time_clocksource_available_info", ["kvm-clock", "0"]),
                s("node_time_clocksource_available_info", ["tsc", "0"]),
                s("node_time_clocksource_current_info", ["tsc", "0"]),
            ]
        );
    }

    fn clocksource_tree(devices: &[(&str, &str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, available, current) in devices {
            let device = dir.path().join("devices/system/clocksource").join(name);
            std::fs::create_dir_all(&device).unwrap();
            std::fs::write(device.join("available_clocksource"), available).unwrap();
            std::fs::write(device.join("current_clocksource"), current).unwrap();
        }
        dir
    }

    fn host_on(sysfs: &Path) -> Host {
        Host::new("/nonexistent/proc", sysfs, "/", "/nonexistent")
    }

    #[test]
    fn device_label_is_the_position_in_name_order() {
        let dir = clocksource_tree(&[
            ("clocksource0", "tsc \n", "tsc\n"),
            ("clocksource2", "hpet \n", "hpet\n"),
            ("clocksource10", "acpi_pm \n", "acpi_pm\n"),
        ]);
        let (families, result) = run(&TimeCollector, &host_on(dir.path()));
        result.unwrap();
        let current: Vec<Vec<String>> = summary(&families)
            .into_iter()
            .filter(|(name, _)| name == "node_time_clocksource_current_info")
            .map(|(_, labels)| labels)
            .collect();
        // clocksource10 sorts before clocksource2, so it is device 1.
        assert_eq!(
            current,
            vec![
                vec!["acpi_pm".to_string(), "1".to_string()],
                vec!["hpet".to_string(), "2".to_string()],
                vec!["tsc".to_string(), "0".to_string()],
            ]
        );
    }

    #[test]
    fn no_clocksource_directory_still_reports_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = run(&TimeCollector, &host_on(dir.path()));
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            vec!["node_time_seconds", "node_time_zone_offset_seconds"]
        );
    }

    #[test]
    fn unreadable_clocksource_fails_but_keeps_the_clock() {
        let dir = clocksource_tree(&[("clocksource0", "tsc \n", "tsc\n")]);
        std::fs::remove_file(
            dir.path()
                .join("devices/system/clocksource/clocksource0/current_clocksource"),
        )
        .unwrap();
        let (families, result) = run(&TimeCollector, &host_on(dir.path()));
        let err = result.unwrap_err();
        assert!(err.message().contains("current_clocksource"), "{err}");
        assert!(families.iter().any(|f| f.name() == "node_time_seconds"));
        assert!(!families.iter().any(|f| f.name().contains("clocksource")));
    }
}
