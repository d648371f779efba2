//! `powersupplyclass`: batteries, AC adapters and USB supplies from
//! `<sysfs>/class/power_supply/<supply>/`, as `node_power_supply_*` with
//! node_exporter's names and units.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::parse::sysfs_int;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "powersupplyclass",
    default_enabled: true,
    reads: "/sys/class/power_supply/*/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the powersupplyclass collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of power supplies to ignore for powersupplyclass collector.
    #[arg(id = "collector.powersupply.ignored-supplies", long = "collector.powersupply.ignored-supplies",
          value_name = "REGEX", default_value = "^$", value_parser = crate::parse::regex)]
    pub ignored_supplies: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(PowerSupplyClassCollector {
        ignored: ctx.flags::<Flags>()?.ignored_supplies,
    }))
}

/// Reports `node_power_supply_*`.
struct PowerSupplyClassCollector {
    ignored: Regex,
}

/// How an integer attribute is scaled into its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// As is (percentages, counts, seconds, booleans).
    One,
    /// Micro-units (µA, µV, µWh, µAh, µW) to base units.
    Micro,
    /// Tenths of a degree Celsius to degrees.
    Deci,
}

/// The integer attributes reported, by file: metric suffix and scale.
const NUMBERS: [(&str, &str, Scale); 49] = [
    ("authentic", "authentic", Scale::One),
    ("calibrate", "calibrate", Scale::One),
    ("capacity", "capacity", Scale::One),
    ("capacity_alert_max", "capacity_alert_max", Scale::One),
    ("capacity_alert_min", "capacity_alert_min", Scale::One),
    ("cycle_count", "cyclecount", Scale::One),
    ("online", "online", Scale::One),
    ("present", "present", Scale::One),
    ("time_to_empty_now", "time_to_empty_seconds", Scale::One),
    ("time_to_full_now", "time_to_full_seconds", Scale::One),
    ("current_boot", "current_boot", Scale::Micro),
    ("current_max", "current_max", Scale::Micro),
    ("current_now", "current_ampere", Scale::Micro),
    ("energy_empty", "energy_empty", Scale::Micro),
    ("energy_empty_design", "energy_empty_design", Scale::Micro),
    ("energy_full", "energy_full", Scale::Micro),
    ("energy_full_design", "energy_full_design", Scale::Micro),
    ("energy_now", "energy_watthour", Scale::Micro),
    ("voltage_boot", "voltage_boot", Scale::Micro),
    ("voltage_max", "voltage_max", Scale::Micro),
    ("voltage_max_design", "voltage_max_design", Scale::Micro),
    ("voltage_min", "voltage_min", Scale::Micro),
    ("voltage_min_design", "voltage_min_design", Scale::Micro),
    ("voltage_now", "voltage_volt", Scale::Micro),
    ("voltage_ocv", "voltage_ocv", Scale::Micro),
    ("charge_control_limit", "charge_control_limit", Scale::Micro),
    (
        "charge_control_limit_max",
        "charge_control_limit_max",
        Scale::Micro,
    ),
    ("charge_counter", "charge_counter", Scale::Micro),
    ("charge_empty", "charge_empty", Scale::Micro),
    ("charge_empty_design", "charge_empty_design", Scale::Micro),
    ("charge_full", "charge_full", Scale::Micro),
    ("charge_full_design", "charge_full_design", Scale::Micro),
    ("charge_now", "charge_ampere", Scale::Micro),
    ("charge_term_current", "charge_term_current", Scale::Micro),
    (
        "constant_charge_current",
        "constant_charge_current",
        Scale::Micro,
    ),
    (
        "constant_charge_current_max",
        "constant_charge_current_max",
        Scale::Micro,
    ),
    (
        "constant_charge_voltage",
        "constant_charge_voltage",
        Scale::Micro,
    ),
    (
        "constant_charge_voltage_max",
        "constant_charge_voltage_max",
        Scale::Micro,
    ),
    ("precharge_current", "precharge_current", Scale::Micro),
    ("input_current_limit", "input_current_limit", Scale::Micro),
    ("power_now", "power_watt", Scale::Micro),
    ("temp", "temp_celsius", Scale::Deci),
    ("temp_alert_max", "temp_alert_max_celsius", Scale::Deci),
    ("temp_alert_min", "temp_alert_min_celsius", Scale::Deci),
    ("temp_ambient", "temp_ambient_celsius", Scale::Deci),
    ("temp_ambient_max", "temp_ambient_max_celsius", Scale::Deci),
    ("temp_ambient_min", "temp_ambient_min_celsius", Scale::Deci),
    ("temp_max", "temp_max_celsius", Scale::Deci),
    ("temp_min", "temp_min_celsius", Scale::Deci),
];

/// The text attributes that become labels of `node_power_supply_info`.
const TEXTS: [&str; 11] = [
    "capacity_level",
    "charge_type",
    "health",
    "manufacturer",
    "model_name",
    "serial_number",
    "status",
    "technology",
    "type",
    "usb_type",
    "scope",
];

/// What one power supply's directory says: every regular file's trimmed
/// content, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerSupply {
    /// The supply's name (`BAT0`, `AC`, `ucsi-source-psy-USBC000:001`).
    pub name: String,
    /// Attribute file to trimmed content.
    pub attributes: BTreeMap<String, String>,
}

impl PowerSupply {
    /// Reads the supply directory `dir`: its regular files (not `device`,
    /// `subsystem`, `power/` or `hwmonN/`). Attributes the driver refuses
    /// (absent, unsupported, device gone, no data yet, busy, no permission)
    /// are left out; other read errors fail.
    pub fn read(name: &str, dir: &Path) -> io::Result<PowerSupply> {
        let mut attributes = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let Some(file) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            match read_sysfs_attribute(&entry.path()) {
                Ok(value) => {
                    attributes.insert(file, value.trim().to_string());
                }
                Err(err) if means_no_value(&err) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(PowerSupply {
            name: name.to_string(),
            attributes,
        })
    }

    /// The gauges: metric suffix and value in base units, for each integer
    /// attribute present. Values are integers as Go reads them (decimal,
    /// `0x` hex, leading-zero octal); others are left out.
    pub fn numbers(&self) -> Vec<(&'static str, f64)> {
        NUMBERS
            .iter()
            .filter_map(|&(file, suffix, scale)| {
                let raw = sysfs_int(self.attributes.get(file)?)? as f64;
                let value = match scale {
                    Scale::One => raw,
                    Scale::Micro => raw / 1e6,
                    Scale::Deci => raw / 10.0,
                };
                Some((suffix, value))
            })
            .collect()
    }

    /// The labels of `node_power_supply_info`: `power_supply` and each
    /// non-empty text attribute, sorted by label name.
    pub fn info_labels(&self) -> Vec<(&'static str, &str)> {
        let mut labels: Vec<(&'static str, &str)> = TEXTS
            .iter()
            .filter_map(|&file| {
                let value = self.attributes.get(file)?;
                (!value.is_empty()).then_some((file, value.as_str()))
            })
            .collect();
        labels.push(("power_supply", &self.name));
        labels.sort();
        labels
    }
}

/// Errors that mean "this attribute has no value now": a battery being
/// removed (ENODEV), a gauge not ready (ENODATA, EAGAIN, EBUSY), an
/// attribute the driver does not implement (EOPNOTSUPP, EINVAL, ENOENT) or
/// keeps to root (EACCES).
fn means_no_value(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ) || matches!(
        err.raw_os_error(),
        Some(
            libc::ENODEV
                | libc::ENXIO
                | libc::ENODATA
                | libc::EAGAIN
                | libc::EBUSY
                | libc::EINVAL
                | libc::EOPNOTSUPP
        )
    )
}

impl PowerSupplyClassCollector {
    fn read_supplies(&self, host: &Host) -> Result<Vec<PowerSupply>, CollectError> {
        let root = host.sys_path("class/power_supply");
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let mut supplies = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if self.ignored.is_match(&name) {
                continue;
            }
            match PowerSupply::read(&name, &entry.path()) {
                Ok(supply) => supplies.push(supply),
                // Unplugged between listing and reading.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(CollectError::failed(format!(
                        "could not get power_supply class info: reading {}: {err}",
                        entry.path().display()
                    )))
                }
            }
        }
        supplies.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(supplies)
    }
}

impl Collector for PowerSupplyClassCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let supplies = self.read_supplies(host)?;

        let mut gauges: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
        for supply in &supplies {
            for (suffix, value) in supply.numbers() {
                gauges
                    .entry(suffix)
                    .or_default()
                    .push((&supply.name, value));
            }
        }
        for (suffix, samples) in gauges {
            let family = out.family(
                format!("node_power_supply_{suffix}"),
                format!("{suffix} value of /sys/class/power_supply/<power_supply>."),
                MetricType::Gauge,
                &["power_supply"],
            );
            for (name, value) in samples {
                family.push(&[name], value);
            }
        }

        // Each supply has its own label set, so each is a family of its own
        // under the one name; they are written under one header, ordered as
        // client_golang orders samples with differing label sets: fewer
        // labels first, then by label values.
        let mut infos: Vec<Vec<(&str, &str)>> =
            supplies.iter().map(PowerSupply::info_labels).collect();
        infos.sort_by(|a, b| {
            a.len()
                .cmp(&b.len())
                .then_with(|| a.iter().map(|l| l.1).cmp(b.iter().map(|l| l.1)))
        });
        for labels in infos {
            let names: Vec<&'static str> = labels.iter().map(|&(name, _)| name).collect();
            let values: Vec<&str> = labels.iter().map(|&(_, value)| value).collect();
            out.family(
                "node_power_supply_info",
                "info of /sys/class/power_supply/<power_supply>.",
                MetricType::Gauge,
                &names,
            )
            .push(&values, 1.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures};

    fn supply(pairs: &[(&str, &str)]) -> PowerSupply {
        PowerSupply {
            name: "BAT1".to_string(),
            attributes: pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn numbers_are_named_and_scaled() {
        let battery = supply(&[
            ("voltage_now", "12431000"),
            ("current_now", "1234000"),
            ("charge_now", "3200000"),
            ("energy_now", "41220000"),
            ("power_now", "8012000"),
            ("capacity", "87"),
            ("cycle_count", "0x10"),
            ("temp", "301"),
            ("time_to_empty_now", "7200"),
            ("status", "Discharging"),
            ("capacity_level", "Normal"),
            ("charge_control_end_threshold", "80"),
            ("voltage_min_design", "garbage"),
        ]);
        assert_eq!(
            battery.numbers(),
            vec![
                ("capacity", 87.0),
                ("cyclecount", 16.0),
                ("time_to_empty_seconds", 7200.0),
                ("current_ampere", 1.234),
                ("energy_watthour", 41.22),
                ("voltage_volt", 12.431),
                ("charge_ampere", 3.2),
                ("power_watt", 8.012),
                ("temp_celsius", 30.1),
            ]
        );
    }

    #[test]
    fn info_labels_are_the_non_empty_texts() {
        let ac = supply(&[("type", "Mains"), ("online", "1"), ("health", "")]);
        assert_eq!(
            ac.info_labels(),
            vec![("power_supply", "BAT1"), ("type", "Mains")]
        );
    }

    #[test]
    fn reads_regular_files_and_skips_refused_ones() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        fs::write(dir.join("type"), "Battery\n").unwrap();
        fs::write(dir.join("serial_number"), "  4711 \n").unwrap();
        fs::create_dir(dir.join("power")).unwrap();
        fs::write(dir.join("power/async"), "disabled\n").unwrap();
        std::os::unix::fs::symlink("..", dir.join("device")).unwrap();
        let battery = PowerSupply::read("BAT0", dir).unwrap();
        assert_eq!(
            battery.attributes.keys().collect::<Vec<_>>(),
            vec!["serial_number", "type"]
        );
        assert_eq!(battery.attributes["serial_number"], "4711");
    }

    #[test]
    fn refused_reads() {
        for errno in [libc::ENODATA, libc::ENODEV, libc::EINVAL, libc::EOPNOTSUPP] {
            assert!(means_no_value(&io::Error::from_raw_os_error(errno)));
        }
        assert!(!means_no_value(&io::Error::from_raw_os_error(libc::EIO)));
    }

    #[test]
    fn fixture_supplies() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_power_supply_online online value of /sys/class/power_supply/<power_supply>.",
            r#"node_power_supply_online{power_supply="AC"} 1"#,
            r#"node_power_supply_capacity{power_supply="BAT0"} 81"#,
            r#"node_power_supply_voltage_volt{power_supply="BAT0"} 12.356"#,
            r#"node_power_supply_energy_full{power_supply="BAT0"} 45.21"#,
            r#"node_power_supply_power_watt{power_supply="BAT0"} 7.442"#,
            r#"node_power_supply_cyclecount{power_supply="BAT0"} 213"#,
            "# HELP node_power_supply_info info of /sys/class/power_supply/<power_supply>.",
            "node_power_supply_info{power_supply=\"AC\",type=\"Mains\"} 1\n\
             node_power_supply_info{capacity_level=\"Normal\",manufacturer=\"SMP\",\
             model_name=\"5B10W13930\",power_supply=\"BAT0\",serial_number=\"1234\",\
             status=\"Discharging\",technology=\"Li-poly\",type=\"Battery\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert_eq!(text.matches("# TYPE node_power_supply_info").count(), 1);
    }

    #[test]
    fn ignored_supplies() {
        let text = scrape_fixtures(&SPEC, &["--collector.powersupply.ignored-supplies=^BAT"]);
        assert!(!text.contains("BAT0"));
        assert!(text.contains(r#"power_supply="AC""#));
    }

    #[test]
    fn missing_class_is_no_data_and_an_empty_one_is_empty() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);

        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("class/power_supply")).unwrap();
        let host = Host::new("/nonexistent", root.path(), "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }
}
