//! `thermal_zone`: the temperature of each thermal zone and the state of
//! each cooling device, from `<sysfs>/class/thermal/thermal_zone*/` and
//! `<sysfs>/class/thermal/cooling_device*/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "thermal_zone",
    default_enabled: true,
    reads: "/sys/class/thermal/{thermal_zone,cooling_device}*/",
    flags: None,
    build: plain::<ThermalZoneCollector>,
};

/// Reports `node_thermal_zone_temp` and `node_cooling_device_*_state`.
#[derive(Default)]
struct ThermalZoneCollector;

/// One thermal zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ThermalZone {
    /// The zone number, from `thermal_zone<N>`.
    pub zone: String,
    /// `type`: what the zone measures (`acpitz`, `x86_pkg_temp`).
    pub kind: String,
    /// `temp`, in degrees Celsius.
    pub celsius: f64,
}

impl ThermalZone {
    /// Reads the zone directory `dir`. `None` for a zone that has no
    /// temperature to give: disabled (`mode`), missing attributes, or a
    /// sensor that refuses the read (EIO, ENODATA, EAGAIN are common while
    /// a device sleeps) or answers with something that is not a number.
    pub fn read(zone: &str, dir: &Path) -> Option<ThermalZone> {
        let attribute = |name: &str| read_sysfs_attribute(&dir.join(name)).ok();
        if attribute("mode").is_some_and(|mode| mode.trim() == "disabled") {
            return None;
        }
        let kind = attribute("type")?.trim().to_string();
        // Every zone has a governor; one without is not a usable zone.
        attribute("policy")?;
        let millidegrees: i64 = attribute("temp")?.trim().parse().ok()?;
        Some(ThermalZone {
            zone: zone.to_string(),
            kind,
            celsius: millidegrees as f64 / 1000.0,
        })
    }
}

/// One cooling device (fan, processor throttling, power clamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoolingDevice {
    /// The device number, from `cooling_device<N>`.
    pub name: String,
    /// `type` (`Processor`, `Fan`, `intel_powerclamp`).
    pub kind: String,
    /// `cur_state`; -1 is possible (intel_powerclamp when idle).
    pub cur_state: i64,
    /// `max_state`.
    pub max_state: i64,
}

impl CoolingDevice {
    /// Reads the device directory `dir`; `None` when an attribute is
    /// missing, refused or not a number.
    pub fn read(name: &str, dir: &Path) -> Option<CoolingDevice> {
        let attribute = |file: &str| read_sysfs_attribute(&dir.join(file)).ok();
        let number = |file: &str| attribute(file)?.trim().parse().ok();
        Some(CoolingDevice {
            name: name.to_string(),
            kind: attribute("type")?.trim().to_string(),
            max_state: number("max_state")?,
            cur_state: number("cur_state")?,
        })
    }
}

/// The entries of `dir` named `<prefix><digit>...`, with the part after
/// the prefix, sorted by path. A missing `dir` has none.
fn numbered_entries(dir: &Path, prefix: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let number = name.strip_prefix(prefix)?;
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| (number.to_string(), entry.path()))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

impl Collector for ThermalZoneCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let class = host.sys_path("class/thermal");
        let entries =
            |prefix| numbered_entries(&class, prefix).map_err(|e| CollectError::io(&class, &e));

        let temp = out.family(
            "node_thermal_zone_temp",
            "Zone temperature in Celsius",
            MetricType::Gauge,
            &["zone", "type"],
        );
        for (zone, dir) in entries("thermal_zone")? {
            if let Some(zone) = ThermalZone::read(&zone, &dir) {
                temp.push(&[&zone.zone, &zone.kind], zone.celsius);
            }
        }

        let devices: Vec<CoolingDevice> = entries("cooling_device")?
            .iter()
            .filter_map(|(name, dir)| CoolingDevice::read(name, dir))
            .collect();
        let cur = out.family(
            "node_cooling_device_cur_state",
            "Current throttle state of the cooling device",
            MetricType::Gauge,
            &["name", "type"],
        );
        for device in &devices {
            cur.push(&[&device.name, &device.kind], device.cur_state as f64);
        }
        let max = out.family(
            "node_cooling_device_max_state",
            "Maximum throttle state of the cooling device",
            MetricType::Gauge,
            &["name", "type"],
        );
        for device in &devices {
            max.push(&[&device.name, &device.kind], device.max_state as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn reads_zones_and_skips_those_without_a_temperature() {
        let root = tempfile::tempdir().unwrap();
        let zone = |n: &str| root.path().join(n);
        write_files(
            &zone("ok"),
            &[
                ("type", "x86_pkg_temp\n"),
                ("policy", "step_wise\n"),
                ("temp", "-1500\n"),
            ],
        );
        assert_eq!(
            ThermalZone::read("3", &zone("ok")),
            Some(ThermalZone {
                zone: "3".to_string(),
                kind: "x86_pkg_temp".to_string(),
                celsius: -1.5
            })
        );
        write_files(
            &zone("disabled"),
            &[
                ("type", "acpitz\n"),
                ("policy", "step_wise\n"),
                ("temp", "27800\n"),
                ("mode", "disabled\n"),
            ],
        );
        assert_eq!(ThermalZone::read("0", &zone("disabled")), None);
        // A read that fails (here EISDIR, as EIO or ENODATA would).
        write_files(
            &zone("unreadable"),
            &[("type", "iwlwifi_1\n"), ("policy", "step_wise\n")],
        );
        fs::create_dir(zone("unreadable").join("temp")).unwrap();
        assert_eq!(ThermalZone::read("1", &zone("unreadable")), None);
        write_files(
            &zone("garbage"),
            &[
                ("type", "pch\n"),
                ("policy", "step_wise\n"),
                ("temp", "n/a\n"),
            ],
        );
        assert_eq!(ThermalZone::read("2", &zone("garbage")), None);
        write_files(&zone("no_policy"), &[("type", "pch\n"), ("temp", "1\n")]);
        assert_eq!(ThermalZone::read("4", &zone("no_policy")), None);
    }

    #[test]
    fn reads_cooling_devices() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cooling_device4");
        write_files(
            &dir,
            &[
                ("type", "intel_powerclamp\n"),
                ("max_state", "50\n"),
                ("cur_state", "-1\n"),
            ],
        );
        assert_eq!(
            CoolingDevice::read("4", &dir),
            Some(CoolingDevice {
                name: "4".to_string(),
                kind: "intel_powerclamp".to_string(),
                cur_state: -1,
                max_state: 50
            })
        );
        fs::remove_file(dir.join("max_state")).unwrap();
        assert_eq!(CoolingDevice::read("4", &dir), None);
    }

    #[test]
    fn fixture_zones_and_devices() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_thermal_zone_temp Zone temperature in Celsius",
            r#"node_thermal_zone_temp{type="acpitz",zone="0"} 27.8"#,
            r#"node_thermal_zone_temp{type="x86_pkg_temp",zone="1"} 46"#,
            r#"node_cooling_device_cur_state{name="0",type="Processor"} 0"#,
            r#"node_cooling_device_max_state{name="0",type="Processor"} 3"#,
            r#"node_cooling_device_cur_state{name="1",type="intel_powerclamp"} -1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn no_thermal_class_is_no_samples() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }

    #[test]
    fn numbered_entries_ignore_other_names() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "thermal_zone10",
            "thermal_zone2",
            "thermal_zonex",
            "cooling_device0",
        ] {
            fs::create_dir(root.path().join(name)).unwrap();
        }
        let zones: Vec<String> = numbered_entries(root.path(), "thermal_zone")
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(zones, vec!["10", "2"]);
    }
}
