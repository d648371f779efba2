//! `hwmon`: hardware sensors (temperatures, fans, voltages, currents, power,
//! energy, humidity, frequencies) from `<sysfs>/class/hwmon/hwmon*/`, named
//! and scaled as node_exporter does.
//!
//! A sensor attribute file is `<type><number>_<property>` (`temp1_input`,
//! `fan2_min`, `in0_label`), in the chip directory or, on kernels before the
//! hwmon attributes moved there, in its `device/` directory. Values are in
//! the kernel's hwmon units: millidegrees, millivolts, milliamperes,
//! microwatts, microjoules, RPM, hertz.
//!
//! A chip's `chip` label comes from the device its `device` link leads to;
//! where several chips hang off one device their labels get a suffix, so
//! that no two chips share a label (see [`chip_labels`]).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::unpoisoned::lock;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "hwmon",
    default_enabled: true,
    reads: "/sys/class/hwmon/*/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the hwmon collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of hwmon chip to include (mutually exclusive to
    /// device-exclude).
    #[arg(id = "collector.hwmon.chip-include", long = "collector.hwmon.chip-include",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub chip_include: Option<Regex>,

    /// Regexp of hwmon chip to exclude (mutually exclusive to
    /// device-include).
    #[arg(id = "collector.hwmon.chip-exclude", long = "collector.hwmon.chip-exclude",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub chip_exclude: Option<Regex>,

    /// Regexp of hwmon sensor to include (mutually exclusive to
    /// sensor-exclude), matched against `<chip>;<sensor>`.
    #[arg(id = "collector.hwmon.sensor-include", long = "collector.hwmon.sensor-include",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub sensor_include: Option<Regex>,

    /// Regexp of hwmon sensor to exclude (mutually exclusive to
    /// sensor-include), matched against `<chip>;<sensor>`.
    #[arg(id = "collector.hwmon.sensor-exclude", long = "collector.hwmon.sensor-exclude",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub sensor_exclude: Option<Regex>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    // node_exporter documents each pair as mutually exclusive but applies
    // both when given, and so does hostwatch.
    Ok(Box::new(HwmonCollector {
        chip_filter: DeviceFilter::new(flags.chip_exclude.clone(), flags.chip_include.clone()),
        sensor_filter: DeviceFilter::new(
            flags.sensor_exclude.clone(),
            flags.sensor_include.clone(),
        ),
        identities: Mutex::new(HashMap::new()),
    }))
}

/// Reports `node_hwmon_*`.
struct HwmonCollector {
    chip_filter: DeviceFilter,
    /// Applied to `<chip>;<sensor>`, so one sensor of one chip can be picked.
    sensor_filter: DeviceFilter,
    /// What was learnt about each chip, by its resolved directory.
    identities: Mutex<HashMap<PathBuf, ChipIdentity>>,
}

/// What cannot change while a chip exists: its names and sensor labels.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChipIdentity {
    /// The `chip` label unless another chip shares it (see
    /// [`chip_labels`]).
    base_chip: String,
    /// The chip's directory name under `class/hwmon` (`hwmon3`), cleaned.
    dir_name: String,
    /// The `name` attribute, cleaned, for `node_hwmon_chip_names`.
    chip_name: Option<String>,
    /// Each sensor's `_label` attribute, trimmed of newlines; `None` until
    /// the chip's sensors are first read (never, for an excluded chip).
    labels: Option<BTreeMap<String, String>>,
}

/// The sensor types node_exporter reads; files of other types are ignored.
const SENSOR_TYPES: [&str; 14] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
    "freq",
];

/// A sensor attribute file name split as `<type><number>_<property>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorFile<'a> {
    /// The sensor type, one of [`SENSOR_TYPES`].
    pub kind: &'static str,
    /// The sensor: type and number (`temp1`); a file without a number
    /// (`vrm`, `beep_enable`) is sensor number 0.
    pub sensor: String,
    /// What the file holds (`input`, `max`, `crit_alarm`); empty for a file
    /// that is the value itself (`pwm1`, `vrm`).
    pub property: &'a str,
}

impl<'a> SensorFile<'a> {
    /// Splits a file name; `None` for names of other shapes or types.
    ///
    /// The type is everything before the first digit (the whole name when
    /// there is none), the number the digits after it, and what follows
    /// them must be empty or `_` and a property.
    pub fn parse(file_name: &'a str) -> Option<SensorFile<'a>> {
        let digits_at = file_name
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(file_name.len());
        let (kind, rest) = file_name.split_at(digits_at);
        let kind = SENSOR_TYPES.iter().copied().find(|&t| t == kind)?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, rest) = rest.split_at(digits_end);
        let property = match rest.strip_prefix('_') {
            _ if rest.is_empty() => "",
            Some(property) if !property.is_empty() => property,
            _ => return None,
        };
        // Leading zeros are dropped, so `temp01_input` is sensor `temp1`.
        let number: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(SensorFile {
            kind,
            sensor: format!("{kind}{number}"),
            property,
        })
    }
}

/// Turns a name or label into a metric-name fragment: lower case, every
/// character outside `[a-z0-9:_]` replaced by `_`, leading and trailing `_`
/// removed.
pub fn clean_name(raw: &str) -> String {
    let replaced: String = raw
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    replaced.trim_matches('_').to_string()
}

/// The `chip` label of a chip: from the resolved path of its `device` link
/// (`/sys/devices/platform/coretemp.0` is `platform_coretemp_0`), which is
/// stable across reboots while `hwmonN` numbers are not; else from its
/// `name` attribute; else from its own resolved directory name.
pub fn chip_label(device: Option<&Path>, name: Option<&str>, dir: &Path) -> Option<String> {
    let cleaned_file_name = |path: Option<&Path>| {
        path.and_then(Path::file_name)
            .map(|n| clean_name(&n.to_string_lossy()))
    };
    if let Some(device) = device {
        let device_name = cleaned_file_name(Some(device)).unwrap_or_default();
        let bus = cleaned_file_name(device.parent()).unwrap_or_default();
        if !device_name.is_empty() {
            if bus.is_empty() {
                return Some(device_name);
            }
            return Some(format!("{bus}_{device_name}"));
        }
    }
    if let Some(name) = name.map(clean_name).filter(|n| !n.is_empty()) {
        return Some(name);
    }
    cleaned_file_name(Some(dir)).filter(|n| !n.is_empty())
}

/// The `chip` label of each of a scrape's chips, given as (label from
/// [`chip_label`], cleaned `name` attribute, cleaned `hwmonN` directory
/// name). Several hwmon devices may hang off one parent device (a laptop's
/// `asus-nb-wmi` registers two), so their labels collide: each of those
/// gets `_<name>` appended when its name is unique among them, else
/// `_<hwmonN>`. Labels nobody else has are kept as they are.
pub fn chip_labels(chips: &[(&str, Option<&str>, &str)]) -> Vec<String> {
    let mut sharing: HashMap<&str, usize> = HashMap::new();
    for (base, _, _) in chips {
        *sharing.entry(base).or_default() += 1;
    }
    let mut names_in_group: HashMap<(&str, &str), usize> = HashMap::new();
    for (base, name, _) in chips {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            *names_in_group.entry((base, name)).or_default() += 1;
        }
    }
    chips
        .iter()
        .map(|&(base, name, dir_name)| {
            if sharing[base] < 2 {
                return base.to_string();
            }
            match name.filter(|n| !n.is_empty()) {
                Some(name) if names_in_group[&(base, name)] == 1 => format!("{base}_{name}"),
                _ => format!("{base}_{dir_name}"),
            }
        })
        .collect()
}

/// One sample a sensor property becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSample {
    /// Metric name.
    pub name: String,
    /// Help text.
    pub help: String,
    /// Counter for energy, gauge otherwise.
    pub metric_type: MetricType,
    /// The `sensor` label: the sensor (`temp1`), or for frequencies its
    /// cleaned label (`sclk`).
    pub sensor: String,
    /// The value, in base units.
    pub value: f64,
}

/// The raw attributes of one sensor: property to value, newlines trimmed.
pub type SensorProperties = BTreeMap<String, String>;

/// The samples of one sensor of type `kind`, from its properties, with
/// node_exporter's names, help texts and unit scaling. Properties whose
/// value is not a number are skipped.
pub fn sensor_samples(
    kind: &str,
    sensor: &str,
    properties: &SensorProperties,
) -> Vec<SensorSample> {
    let raw = |property: &str| properties.get(property).map(String::as_str);
    let number = |property: &str| raw(property).and_then(parse_float);
    let sample = |name: &str, help: &str, value: f64| SensorSample {
        name: name.to_string(),
        help: help.to_string(),
        metric_type: MetricType::Gauge,
        sensor: sensor.to_string(),
        value,
    };
    match kind {
        "beep_enable" => {
            let on = raw("") == Some("1");
            return vec![sample(
                "node_hwmon_beep_enabled",
                "Hardware beep enabled",
                if on { 1.0 } else { 0.0 },
            )];
        }
        "vrm" => {
            return number("")
                .map(|v| {
                    sample(
                        "node_hwmon_voltage_regulator_version",
                        "Hardware voltage regulator",
                        v,
                    )
                })
                .into_iter()
                .collect();
        }
        "update_interval" => {
            return number("")
                .map(|v| {
                    sample(
                        "node_hwmon_update_interval_seconds",
                        "Hardware monitor update interval",
                        v * 0.001,
                    )
                })
                .into_iter()
                .collect();
        }
        _ => {}
    }

    let prefix = format!("node_hwmon_{kind}");
    let has_bare_value = properties.contains_key("");
    let mut samples = Vec::new();
    for (property, value) in properties {
        if property == "label" {
            continue;
        }
        let Some(value) = parse_float(value) else {
            continue;
        };
        // `input` is the reading itself, so it adds nothing to the name,
        // unless a bare file holds the reading too.
        let name = match property.as_str() {
            "input" if has_bare_value => format!("{prefix}_input"),
            "input" | "" => prefix.clone(),
            other => format!("{prefix}_{}", clean_name(other)),
        };
        let property = property.as_str();
        let described = |name: String, help: String, scaled: f64| SensorSample {
            name,
            help,
            metric_type: MetricType::Gauge,
            sensor: sensor.to_string(),
            value: scaled,
        };
        let next = match (kind, property) {
            (_, "fault" | "alarm") => described(
                name,
                format!("Hardware sensor {property} status ({kind})"),
                value,
            ),
            (_, "beep") => described(
                format!("{name}_enabled"),
                "Hardware monitor sensor has beeping enabled".to_string(),
                value,
            ),
            ("in" | "cpu", _) => described(
                format!("{name}_volts"),
                format!("Hardware monitor for voltage ({property})"),
                value * 0.001,
            ),
            ("temp", _) if property != "type" => {
                let shown = if property.is_empty() {
                    "input"
                } else {
                    property
                };
                described(
                    format!("{name}_celsius"),
                    format!("Hardware monitor for temperature ({shown})"),
                    value * 0.001,
                )
            }
            ("curr", _) => described(
                format!("{name}_amps"),
                format!("Hardware monitor for current ({property})"),
                value * 0.001,
            ),
            ("energy", _) => SensorSample {
                metric_type: MetricType::Counter,
                ..described(
                    format!("{name}_joule_total"),
                    format!("Hardware monitor for joules used so far ({property})"),
                    value / 1_000_000.0,
                )
            },
            ("power", "accuracy") => described(
                name,
                "Hardware monitor power meter accuracy, as a ratio".to_string(),
                value / 1_000_000.0,
            ),
            ("power", "average_interval" | "average_interval_min" | "average_interval_max") => {
                described(
                    format!("{name}_seconds"),
                    format!("Hardware monitor power usage update interval ({property})"),
                    value * 0.001,
                )
            }
            ("power", _) => described(
                format!("{name}_watt"),
                format!("Hardware monitor for power usage in watts ({property})"),
                value / 1_000_000.0,
            ),
            ("humidity", _) => described(
                name,
                format!(
                    "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the \
                     humidity as a percentage) ({property})"
                ),
                value / 1_000_000.0,
            ),
            ("fan", "input" | "min" | "max" | "target") => described(
                format!("{name}_rpm"),
                format!("Hardware monitor for fan revolutions per minute ({property})"),
                value,
            ),
            // A frequency is only reported with its label (`sclk`, `mclk`),
            // which takes the place of the sensor.
            ("freq", "input") => match raw("label") {
                Some(label) => SensorSample {
                    sensor: clean_name(label),
                    ..described(
                        format!("{name}_freq_mhz"),
                        "Hardware monitor for GPU frequency in MHz".to_string(),
                        value / 1_000_000.0,
                    )
                },
                None => continue,
            },
            _ => described(
                name,
                format!("Hardware monitor {kind} element {property}"),
                value,
            ),
        };
        samples.push(next);
    }
    samples
}

/// Parses a value as Go's `strconv.ParseFloat` would for kernel output:
/// no surrounding whitespace allowed.
fn parse_float(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// The sensors of one chip directory: sensor to its type and properties.
type ChipSensors = BTreeMap<String, (&'static str, SensorProperties)>;

/// Reads every sensor attribute in `dir` into `sensors`; `_label` files only
/// when `with_labels`. Unreadable attributes are left out, as drivers refuse
/// some reads (EAGAIN, EIO, ENODATA) while the sensor is idle or absent.
fn read_sensor_files(dir: &Path, sensors: &mut ChipSensors, with_labels: bool) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file) = file_name.to_str().and_then(SensorFile::parse) else {
            continue;
        };
        if file.property == "label" && !with_labels {
            continue;
        }
        let Ok(value) = read_sysfs_attribute(&entry.path()) else {
            continue;
        };
        sensors
            .entry(file.sensor)
            .or_insert_with(|| (file.kind, SensorProperties::new()))
            .1
            .insert(
                file.property.to_string(),
                value.trim_matches('\n').to_string(),
            );
    }
    Ok(())
}

/// The resolved path of `path`, or `None` when it does not resolve.
fn resolve(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

impl HwmonCollector {
    /// The chip directories under `class/hwmon`: links (directories in
    /// copies) that lead to a directory.
    fn chip_dirs(&self, host: &Host) -> Result<Vec<PathBuf>, CollectError> {
        let root = host.sys_path("class/hwmon");
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect();
        dirs.sort();
        Ok(dirs)
    }
}

/// Names a chip first seen, before any of its sensors is read, so that an
/// excluded chip is never read.
fn identify(dir: &Path, real_dir: &Path) -> io::Result<ChipIdentity> {
    let name = read_sysfs_attribute(&dir.join("name")).ok();
    let device = resolve(&dir.join("device"));
    let base_chip = chip_label(device.as_deref(), name.as_deref(), real_dir).ok_or_else(|| {
        io::Error::other(format!(
            "could not derive a monitoring name for {}",
            dir.display()
        ))
    })?;
    let dir_name = dir
        .file_name()
        .map(|n| clean_name(&n.to_string_lossy()))
        .unwrap_or_default();
    Ok(ChipIdentity {
        base_chip,
        dir_name,
        chip_name: name.map(|n| clean_name(&n)).filter(|n| !n.is_empty()),
        labels: None,
    })
}

/// Reads one chip's sensors; the labels are read the first time only and
/// remembered in `identity`.
fn read_chip(dir: &Path, identity: &mut ChipIdentity) -> io::Result<ChipSensors> {
    let with_labels = identity.labels.is_none();
    let mut sensors = ChipSensors::new();
    read_sensor_files(dir, &mut sensors, with_labels)?;
    let device = dir.join("device");
    if device.exists() {
        read_sensor_files(&device, &mut sensors, with_labels)?;
    }
    match &identity.labels {
        None => {
            let labels = sensors
                .iter()
                .filter_map(|(sensor, (_, properties))| {
                    Some((sensor.clone(), properties.get("label")?.clone()))
                })
                .collect();
            identity.labels = Some(labels);
        }
        Some(labels) => {
            for (sensor, label) in labels {
                if let Some((_, properties)) = sensors.get_mut(sensor) {
                    properties.insert("label".to_string(), label.clone());
                }
            }
        }
    }
    Ok(sensors)
}

/// The samples of one metric: help, type, and (chip, sensor, value) rows.
struct SampleGroup {
    help: String,
    metric_type: MetricType,
    rows: Vec<(String, String, f64)>,
}

/// The samples of one scrape, grouped by metric name.
#[derive(Default)]
struct Samples(BTreeMap<String, SampleGroup>);

impl Samples {
    fn push(&mut self, chip: &str, sample: SensorSample) {
        self.0
            .entry(sample.name)
            .or_insert_with(|| SampleGroup {
                help: sample.help,
                metric_type: sample.metric_type,
                rows: Vec::new(),
            })
            .rows
            .push((chip.to_string(), sample.sensor, sample.value));
    }

    fn write(self, out: &mut MetricSet) {
        for (name, group) in self.0 {
            let family = out.family(name, group.help, group.metric_type, &["chip", "sensor"]);
            for (chip, sensor, value) in group.rows {
                family.push(&[chip, sensor], value);
            }
        }
    }
}

impl Collector for HwmonCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let dirs = self.chip_dirs(host)?;
        let mut identities = lock(&self.identities);
        let mut seen = HashMap::new();
        let mut chip_names = Vec::new();
        let mut sensor_labels = Vec::new();
        let mut samples = Samples::default();
        let mut last_error = None;
        let mut fail = |dir: &Path, err: io::Error| {
            last_error = Some(CollectError::failed(format!(
                "reading {}: {err}",
                dir.display()
            )));
        };

        // Every chip is named before any is read: whether a label collides
        // depends on all of them, and the filters see the final labels.
        let mut present = Vec::new();
        for dir in dirs {
            // Removed since it was listed.
            let Some(real_dir) = resolve(&dir) else {
                continue;
            };
            let identity = match identities.remove(&real_dir) {
                Some(identity) => identity,
                None => match identify(&dir, &real_dir) {
                    Ok(identity) => identity,
                    Err(err) => {
                        fail(&dir, err);
                        continue;
                    }
                },
            };
            present.push((dir, real_dir, identity));
        }
        let labels_in = present
            .iter()
            .map(|(_, _, id)| {
                (
                    id.base_chip.as_str(),
                    id.chip_name.as_deref(),
                    id.dir_name.as_str(),
                )
            })
            .collect::<Vec<_>>();
        let chips = chip_labels(&labels_in);

        for ((dir, real_dir, mut identity), chip) in present.into_iter().zip(chips) {
            if self.chip_filter.ignored(&chip) {
                seen.insert(real_dir, identity);
                continue;
            }
            let sensors = read_chip(&dir, &mut identity);
            let chip_name = identity.chip_name.clone();
            seen.insert(real_dir, identity);
            let sensors = match sensors {
                Ok(sensors) => sensors,
                Err(err) => {
                    fail(&dir, err);
                    continue;
                }
            };
            if let Some(name) = chip_name {
                chip_names.push((chip.clone(), name));
            }
            for (sensor, (kind, properties)) in &sensors {
                if self.sensor_filter.ignored(&format!("{chip};{sensor}")) {
                    continue;
                }
                if let Some(label) = properties.get("label") {
                    sensor_labels.push((chip.clone(), sensor.clone(), label.clone()));
                }
                for sample in sensor_samples(kind, sensor, properties) {
                    samples.push(&chip, sample);
                }
            }
        }
        // Chips that went away are forgotten: their directories may be
        // reused by other chips.
        *identities = seen;
        drop(identities);

        let names = out.family(
            "node_hwmon_chip_names",
            "Annotation metric for human-readable chip names",
            MetricType::Gauge,
            &["chip", "chip_name"],
        );
        for (chip, name) in &chip_names {
            names.push(&[chip, name], 1.0);
        }
        let labels = out.family(
            "node_hwmon_sensor_label",
            "Label for given chip and sensor",
            MetricType::Gauge,
            &["chip", "sensor", "label"],
        );
        for (chip, sensor, label) in &sensor_labels {
            labels.push(&[chip, sensor, label], 1.0);
        }
        samples.write(out);
        last_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn splits_sensor_file_names() {
        let split = |name| SensorFile::parse(name).map(|f| (f.kind, f.sensor, f.property));
        let owned = |kind, sensor: &str, property| Some((kind, sensor.to_string(), property));
        assert_eq!(split("temp1_input"), owned("temp", "temp1", "input"));
        assert_eq!(
            split("temp2_crit_alarm"),
            owned("temp", "temp2", "crit_alarm")
        );
        assert_eq!(split("in0_input"), owned("in", "in0", "input"));
        assert_eq!(split("pwm1"), owned("pwm", "pwm1", ""));
        assert_eq!(split("pwm1_enable"), owned("pwm", "pwm1", "enable"));
        assert_eq!(split("vrm"), owned("vrm", "vrm0", ""));
        assert_eq!(
            split("beep_enable"),
            owned("beep_enable", "beep_enable0", "")
        );
        assert_eq!(
            split("update_interval"),
            owned("update_interval", "update_interval0", "")
        );
        assert_eq!(
            split("intrusion0_alarm"),
            owned("intrusion", "intrusion0", "alarm")
        );
        assert_eq!(split("temp01_input"), owned("temp", "temp1", "input"));
        assert_eq!(split("fan1_min_2"), owned("fan", "fan1", "min_2"));
        // A whole name without digits is the type.
        assert_eq!(split("power"), owned("power", "power0", ""));
        for other in [
            "name",
            "uevent",
            "temp_input",
            "temp1_",
            "temp1a_input",
            "1_input",
            "device",
            "subsystem",
            "d3cold_allowed",
            "temp99999999999999999999_input",
            "",
        ] {
            assert_eq!(split(other), None, "{other}");
        }
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean_name("Package id 0"), "package_id_0");
        assert_eq!(clean_name("coretemp\n"), "coretemp");
        assert_eq!(clean_name("nct6775.656"), "nct6775_656");
        assert_eq!(clean_name("0000:00:18.3"), "0000:00:18_3");
        assert_eq!(clean_name("__x__"), "x");
        assert_eq!(clean_name("\u{e9}t\u{e9}"), "t");
        assert_eq!(clean_name("\n"), "");
    }

    #[test]
    fn chip_labels_prefer_the_device_then_the_name_then_the_directory() {
        let dir = Path::new("/sys/devices/platform/coretemp.0/hwmon/hwmon3");
        assert_eq!(
            chip_label(
                Some(Path::new("/sys/devices/platform/coretemp.0")),
                Some("coretemp\n"),
                dir
            )
            .as_deref(),
            Some("platform_coretemp_0")
        );
        assert_eq!(
            chip_label(
                Some(Path::new("/sys/devices/pci0000:00/0000:00:18.3")),
                Some("k10temp\n"),
                dir
            )
            .as_deref(),
            Some("pci0000:00_0000:00:18_3")
        );
        assert_eq!(
            chip_label(None, Some("acpitz\n"), dir).as_deref(),
            Some("acpitz")
        );
        assert_eq!(chip_label(None, Some("\n"), dir).as_deref(), Some("hwmon3"));
        assert_eq!(chip_label(None, None, dir).as_deref(), Some("hwmon3"));
        assert_eq!(chip_label(None, None, Path::new("/")), None);
    }

    #[test]
    fn colliding_chip_labels_take_the_name_else_the_directory() {
        let labels = chip_labels(&[
            // One parent device, two hwmon devices (asus-wmi on laptops).
            ("platform_asus_nb_wmi", Some("asus"), "hwmon6"),
            (
                "platform_asus_nb_wmi",
                Some("asus_custom_fan_curve"),
                "hwmon7",
            ),
            // Alone: unchanged.
            ("platform_coretemp_0", Some("coretemp"), "hwmon2"),
            // Same parent and same name: the directory tells them apart.
            ("ieee80211_phy0", Some("mt7996_phy0"), "hwmon3"),
            ("ieee80211_phy0", Some("mt7996_phy0"), "hwmon4"),
            ("ieee80211_phy0", Some("mt7996_phy0_1"), "hwmon5"),
            // No name attribute.
            ("acpitz", None, "hwmon0"),
            ("acpitz", None, "hwmon1"),
        ]);
        assert_eq!(
            labels,
            [
                "platform_asus_nb_wmi_asus",
                "platform_asus_nb_wmi_asus_custom_fan_curve",
                "platform_coretemp_0",
                "ieee80211_phy0_hwmon3",
                "ieee80211_phy0_hwmon4",
                "ieee80211_phy0_mt7996_phy0_1",
                "acpitz_hwmon0",
                "acpitz_hwmon1",
            ]
        );
        assert!(chip_labels(&[]).is_empty());
    }

    fn properties(pairs: &[(&str, &str)]) -> SensorProperties {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn temperatures_are_celsius_and_alarms_keep_their_quirky_names() {
        let samples = sensor_samples(
            "temp",
            "temp1",
            &properties(&[
                ("input", "45000"),
                ("max", "84000"),
                ("crit", "100000"),
                ("crit_alarm", "0"),
                ("alarm", "1"),
                ("type", "4"),
                ("label", "Package id 0"),
                ("offset", "garbage"),
            ]),
        );
        let find = |name: &str| samples.iter().find(|s| s.name == name).unwrap();
        assert_eq!(find("node_hwmon_temp_celsius").value, 45.0);
        assert_eq!(
            find("node_hwmon_temp_celsius").help,
            "Hardware monitor for temperature (input)"
        );
        assert_eq!(find("node_hwmon_temp_max_celsius").value, 84.0);
        assert_eq!(find("node_hwmon_temp_crit_celsius").value, 100.0);
        assert_eq!(find("node_hwmon_temp_crit_alarm_celsius").value, 0.0);
        assert_eq!(
            find("node_hwmon_temp_alarm").help,
            "Hardware sensor alarm status (temp)"
        );
        assert_eq!(
            find("node_hwmon_temp_type").help,
            "Hardware monitor temp element type"
        );
        assert_eq!(find("node_hwmon_temp_type").value, 4.0);
        assert_eq!(samples.len(), 6, "label and garbage are not samples");
    }

    #[test]
    fn a_bare_temperature_is_the_input() {
        let help = sensor_samples("temp", "temp1", &properties(&[("", "41000")]));
        assert_eq!(help[0].help, "Hardware monitor for temperature (input)");
    }

    /// One sensor's properties and the samples they become: (name,
    /// sensor label, value), in name order.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static str, f64)],
    );

    const CASES: &[Case] = &[
        // A bare value beside `input` renames `input`.
        (
            "temp",
            "temp1",
            &[("", "41000"), ("input", "42000")],
            &[
                ("node_hwmon_temp_celsius", "temp1", 41.0),
                ("node_hwmon_temp_input_celsius", "temp1", 42.0),
            ],
        ),
        (
            "in",
            "in0",
            &[
                ("input", "1032"),
                ("min", "0"),
                ("alarm", "0"),
                ("beep", "1"),
            ],
            &[
                ("node_hwmon_in_alarm", "in0", 0.0),
                ("node_hwmon_in_beep_enabled", "in0", 1.0),
                ("node_hwmon_in_volts", "in0", 1.032),
                ("node_hwmon_in_min_volts", "in0", 0.0),
            ],
        ),
        (
            "cpu",
            "cpu0",
            &[("vid", "1100")],
            &[("node_hwmon_cpu_vid_volts", "cpu0", 1.1)],
        ),
        (
            "curr",
            "curr1",
            &[("input", "1500")],
            &[("node_hwmon_curr_amps", "curr1", 1.5)],
        ),
        (
            "fan",
            "fan1",
            &[
                ("input", "1205"),
                ("min", "300"),
                ("target", "1200"),
                ("div", "4"),
            ],
            &[
                ("node_hwmon_fan_div", "fan1", 4.0),
                ("node_hwmon_fan_rpm", "fan1", 1205.0),
                ("node_hwmon_fan_min_rpm", "fan1", 300.0),
                ("node_hwmon_fan_target_rpm", "fan1", 1200.0),
            ],
        ),
        (
            "power",
            "power1",
            &[
                ("average", "31250000"),
                ("accuracy", "50000"),
                ("average_interval", "1000"),
                ("cap", "65000000"),
            ],
            &[
                ("node_hwmon_power_accuracy", "power1", 0.05),
                ("node_hwmon_power_average_watt", "power1", 31.25),
                ("node_hwmon_power_average_interval_seconds", "power1", 1.0),
                ("node_hwmon_power_cap_watt", "power1", 65.0),
            ],
        ),
        (
            "energy",
            "energy1",
            &[("input", "123456789")],
            &[("node_hwmon_energy_joule_total", "energy1", 123.456789)],
        ),
        (
            "humidity",
            "humidity1",
            &[("input", "45300")],
            &[("node_hwmon_humidity", "humidity1", 0.0453)],
        ),
        (
            "pwm",
            "pwm1",
            &[("", "128"), ("enable", "2")],
            &[
                ("node_hwmon_pwm", "pwm1", 128.0),
                ("node_hwmon_pwm_enable", "pwm1", 2.0),
            ],
        ),
        (
            "beep_enable",
            "beep_enable0",
            &[("", "1")],
            &[("node_hwmon_beep_enabled", "beep_enable0", 1.0)],
        ),
        (
            "beep_enable",
            "beep_enable0",
            &[("", "yes")],
            &[("node_hwmon_beep_enabled", "beep_enable0", 0.0)],
        ),
        (
            "vrm",
            "vrm0",
            &[("", "9.1")],
            &[("node_hwmon_voltage_regulator_version", "vrm0", 9.1)],
        ),
        ("vrm", "vrm0", &[("", "x")], &[]),
        (
            "update_interval",
            "update_interval0",
            &[("", "2000")],
            &[(
                "node_hwmon_update_interval_seconds",
                "update_interval0",
                2.0,
            )],
        ),
        // A frequency needs its label, which takes the place of the sensor.
        (
            "freq",
            "freq1",
            &[("input", "1800000000"), ("label", "sclk")],
            &[("node_hwmon_freq_freq_mhz", "sclk", 1800.0)],
        ),
        ("freq", "freq1", &[("input", "1800000000")], &[]),
    ];

    #[test]
    fn names_and_units_follow_the_sensor_type() {
        for &(kind, sensor, pairs, expected) in CASES {
            let got: Vec<(String, String, f64)> = sensor_samples(kind, sensor, &properties(pairs))
                .into_iter()
                .map(|s| (s.name, s.sensor, s.value))
                .collect();
            let want: Vec<(String, String, f64)> = expected
                .iter()
                .map(|&(n, s, v)| (n.to_string(), s.to_string(), v))
                .collect();
            assert_eq!(got, want, "{kind} {pairs:?}");
        }
        let energy = sensor_samples("energy", "energy1", &properties(&[("input", "1")]));
        assert_eq!(energy[0].metric_type, MetricType::Counter);
    }

    #[test]
    fn fixture_chips() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            r#"node_hwmon_chip_names{chip="coretemp",chip_name="coretemp"} 1"#,
            r#"node_hwmon_chip_names{chip="nct6798",chip_name="nct6798"} 1"#,
            r#"node_hwmon_sensor_label{chip="coretemp",label="Package id 0",sensor="temp1"} 1"#,
            r#"node_hwmon_sensor_label{chip="nct6798",label="SYSTIN",sensor="temp1"} 1"#,
            r#"node_hwmon_temp_celsius{chip="coretemp",sensor="temp1"} 48"#,
            r#"node_hwmon_temp_crit_alarm_celsius{chip="coretemp",sensor="temp2"} 0"#,
            r#"node_hwmon_temp_max_celsius{chip="coretemp",sensor="temp1"} 84"#,
            r#"node_hwmon_fan_rpm{chip="nct6798",sensor="fan2"} 1096"#,
            r#"node_hwmon_fan_min_rpm{chip="nct6798",sensor="fan2"} 0"#,
            r#"node_hwmon_in_volts{chip="nct6798",sensor="in0"} 1.04"#,
            r#"node_hwmon_pwm{chip="nct6798",sensor="pwm2"} 153"#,
            r#"node_hwmon_beep_enabled{chip="nct6798",sensor="beep_enable0"} 0"#,
            r#"node_hwmon_intrusion_alarm{chip="nct6798",sensor="intrusion0"} 1"#,
            r#"node_hwmon_freq_freq_mhz{chip="amdgpu",sensor="sclk"} 500"#,
            r#"node_hwmon_power_average_watt{chip="amdgpu",sensor="power1"} 9.11"#,
            r#"node_hwmon_humidity{chip="sht3x",sensor="humidity1"} 0.04532"#,
            r#"node_hwmon_update_interval_seconds{chip="sht3x",sensor="update_interval0"} 1"#,
            // A kernel that kept the attributes in the device directory.
            r#"node_hwmon_temp_celsius{chip="hwmon5_device",sensor="temp1"} 37"#,
            "# TYPE node_hwmon_energy_joule_total counter",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains(r#"chip_names{chip="hwmon5_device""#));
    }

    #[test]
    fn chip_and_sensor_filters() {
        let text = scrape_fixtures(
            &SPEC,
            &[
                "--collector.hwmon.chip-exclude=^(amdgpu|sht3x)$",
                "--collector.hwmon.sensor-exclude=^coretemp;temp2$",
            ],
        );
        assert!(!text.contains(r#"chip="amdgpu""#));
        assert!(!text.contains(r#"chip="sht3x""#));
        assert!(!text.contains(r#"{chip="coretemp",sensor="temp2"}"#));
        assert!(text.contains(r#"{chip="coretemp",sensor="temp3"}"#));
        assert!(text.contains(r#"{chip="nct6798",sensor="temp2"}"#));

        let text = scrape_fixtures(
            &SPEC,
            &[
                "--collector.hwmon.chip-include=^nct",
                "--collector.hwmon.sensor-include=;fan",
            ],
        );
        assert!(text.contains(r#"node_hwmon_fan_rpm{chip="nct6798",sensor="fan1"}"#));
        assert!(!text.contains("sensor=\"temp"));
        assert!(!text.contains(r#"chip="coretemp""#));
    }

    /// A tree as a current kernel lays it out: class links to the device's
    /// hwmon directory, whose `device` links to the device.
    fn linked_tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let sys = root.path();
        let chip = sys.join("devices/platform/coretemp.0/hwmon/hwmon7");
        fs::create_dir_all(&chip).unwrap();
        fs::create_dir_all(sys.join("class/hwmon")).unwrap();
        std::os::unix::fs::symlink(
            "../../devices/platform/coretemp.0/hwmon/hwmon7",
            sys.join("class/hwmon/hwmon7"),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../../coretemp.0", chip.join("device")).unwrap();
        // Not a chip.
        fs::write(sys.join("class/hwmon/stray"), "").unwrap();
        write_files(
            &chip,
            &[
                ("name", "coretemp\n"),
                ("temp1_input", "51000\n"),
                ("temp1_label", "Package id 0\n"),
                ("temp2_input", "49000\n"),
                ("temp2_label", "Core 0\n"),
            ],
        );
        fs::create_dir(chip.join("temp3_input")).unwrap();
        root
    }

    fn host_with_sysfs(sysfs: &Path) -> Host {
        Host::new("/nonexistent/proc", sysfs, "/", "/nonexistent/udev")
    }

    #[test]
    fn linked_chips_are_named_by_device_and_labels_are_read_once() {
        let root = linked_tree();
        let collector = build(&SPEC, host_with_sysfs(root.path()), &[]).unwrap();
        let text = collector.render();
        assert!(text.contains(
            r#"node_hwmon_chip_names{chip="platform_coretemp_0",chip_name="coretemp"} 1"#
        ));
        assert!(text
            .contains(r#"node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp2"} 49"#));
        assert!(!text.contains("temp3"), "unreadable attribute\n{text}");

        // Labels are kept from the first read; values are read again.
        let chip = root.path().join("devices/platform/coretemp.0/hwmon/hwmon7");
        fs::write(chip.join("temp2_label"), "changed\n").unwrap();
        fs::write(chip.join("temp2_input"), "50000\n").unwrap();
        let text = collector.render();
        assert!(text.contains(r#"label="Core 0""#));
        assert!(!text.contains("changed"));
        assert!(text
            .contains(r#"node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp2"} 50"#));
    }

    #[test]
    fn chips_sharing_a_device_get_distinct_labels_that_the_filters_see() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            r#"node_hwmon_chip_names{chip="platform_asus_nb_wmi_asus",chip_name="asus"} 1"#,
            r#"node_hwmon_chip_names{chip="platform_asus_nb_wmi_asus_custom_fan_curve",chip_name="asus_custom_fan_curve"} 1"#,
            r#"node_hwmon_pwm_enable{chip="platform_asus_nb_wmi_asus",sensor="pwm1"} 2"#,
            r#"node_hwmon_pwm_enable{chip="platform_asus_nb_wmi_asus_custom_fan_curve",sensor="pwm1"} 2"#,
            r#"node_hwmon_fan_rpm{chip="platform_asus_nb_wmi_asus",sensor="fan1"} 2900"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains(r#"chip="platform_asus_nb_wmi""#), "{text}");

        let text = scrape_fixtures(
            &SPEC,
            &["--collector.hwmon.chip-exclude=^platform_asus_nb_wmi_asus$"],
        );
        assert!(!text.contains(r#"chip="platform_asus_nb_wmi_asus""#));
        assert!(text.contains(r#"chip="platform_asus_nb_wmi_asus_custom_fan_curve""#));

        // One of them gone: the other's label is its device's again.
        let root = tempfile::tempdir().unwrap();
        let sys = root.path();
        let chip = sys.join("devices/platform/asus-nb-wmi/hwmon/hwmon6");
        fs::create_dir_all(&chip).unwrap();
        fs::create_dir_all(sys.join("class/hwmon")).unwrap();
        std::os::unix::fs::symlink(
            "../../devices/platform/asus-nb-wmi/hwmon/hwmon6",
            sys.join("class/hwmon/hwmon6"),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../../asus-nb-wmi", chip.join("device")).unwrap();
        write_files(&chip, &[("name", "asus\n"), ("pwm1_enable", "2\n")]);
        let text = build(&SPEC, host_with_sysfs(sys), &[]).unwrap().render();
        assert!(
            text.contains(r#"node_hwmon_pwm_enable{chip="platform_asus_nb_wmi",sensor="pwm1"} 2"#),
            "{text}"
        );
    }

    #[test]
    fn missing_class_is_no_data() {
        let collector = build(&SPEC, host_with_sysfs(Path::new("/nonexistent")), &[]).unwrap();
        let mut out = MetricSet::new();
        let err = collector.update(&mut out).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }

    #[test]
    fn real_sysfs_does_not_fail() {
        let collector = build(&SPEC, host_with_sysfs(Path::new("/sys")), &[]).unwrap();
        let mut out = MetricSet::new();
        if let Err(err) = collector.update(&mut out) {
            assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData, "{err}");
        }
    }
}
