//! `rapl`: energy counters of Intel/AMD RAPL power zones (package, core,
//! uncore, dram, psys) from `<sysfs>/class/powercap/*/`, in joules.
//!
//! A zone is a powercap directory with a `name` file. Its `index` label is
//! the number in a name such as `package-1`; zones with plain names
//! (`dram`, `core`) are numbered by how often the name was seen before, in
//! directory order. Since Linux 5.10 `energy_uj` may be read by root only:
//! node_exporter then reports no data for the scrape, and so does hostwatch.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, read_text, Host};
use crate::metrics::{sanitize_name, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "rapl",
    default_enabled: true,
    reads: "/sys/class/powercap/*/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the rapl collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Enables RAPL zone labels: one `node_rapl_joules_total` with a
    /// `rapl_zone` label instead of one metric per zone name.
    #[arg(long = "collector.rapl.enable-zone-label")]
    pub enable_zone_label: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(RaplCollector {
        zone_label: ctx.flags::<Flags>()?.enable_zone_label,
    }))
}

/// Reports `node_rapl_<zone>_joules_total` or `node_rapl_joules_total`.
struct RaplCollector {
    zone_label: bool,
}

/// One RAPL power zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone's name without its index: `package`, `dram`.
    pub name: String,
    /// The zone's index among zones of that name.
    pub index: i64,
    /// The zone's directory, as the `path` label.
    pub path: PathBuf,
}

/// Splits a zone's `name` into name and index where it has the form
/// `<name>-<integer>` (`package-0`); `None` for other names.
pub fn split_indexed_name(name: &str) -> Option<(&str, i64)> {
    let mut parts = name.split('-');
    let (base, index) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((base, index.parse().ok()?))
}

/// Names the zones whose `name` files hold `names`, given in directory
/// order: an indexed name keeps its index, a plain name gets the count of
/// zones of that name so far, continuing after the highest index seen.
pub fn index_zones<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, i64)> {
    let mut next_index: HashMap<String, i64> = HashMap::new();
    names
        .into_iter()
        .map(|raw| {
            let (name, index) = match split_indexed_name(raw) {
                Some((name, index)) => (name.to_string(), index),
                None => {
                    let index = next_index.get(raw).copied().unwrap_or(0);
                    (raw.to_string(), index)
                }
            };
            next_index.insert(name.clone(), index.saturating_add(1));
            (name, index)
        })
        .collect()
}

/// Parses an `energy_uj` or `max_energy_range_uj` value: a decimal count.
pub fn parse_microjoules(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Reads one unsigned counter file.
fn read_microjoules(path: &Path) -> Result<u64, CollectError> {
    let text = read_sysfs_attribute(path).map_err(|e| energy_error(path, &e))?;
    parse_microjoules(&text).ok_or_else(|| CollectError::parse(path, format!("{:?}", text.trim())))
}

/// Reading a counter the agent may not read is "no data", as
/// node_exporter has it; other failures are failures.
fn energy_error(path: &Path, err: &io::Error) -> CollectError {
    if err.kind() == io::ErrorKind::PermissionDenied {
        CollectError::no_data(format!("can't access {}: {err}", path.display()))
    } else {
        CollectError::io(path, err)
    }
}

impl RaplCollector {
    /// The zones under `<sysfs>/class/powercap`, in directory order.
    fn zones(&self, host: &Host) -> Result<Vec<Zone>, CollectError> {
        let root = host.sys_path("class/powercap");
        let entries = fs::read_dir(&root).map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => energy_error(&root, &e),
            _ => CollectError::io_or_no_data(&root, &e),
        })?;
        let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        dirs.sort();
        let mut named = Vec::new();
        for dir in dirs {
            // The control type directory (`intel-rapl`) has no name.
            let Ok(name) = read_text(&dir.join("name")) else {
                continue;
            };
            // A zone without a readable range is broken: node_exporter
            // fails the scrape on it.
            read_microjoules(&dir.join("max_energy_range_uj"))?;
            named.push((name.trim().to_string(), dir));
        }
        let indexed = index_zones(named.iter().map(|(name, _)| name.as_str()));
        Ok(indexed
            .into_iter()
            .zip(named)
            .map(|((name, index), (_, path))| Zone { name, index, path })
            .collect())
    }
}

impl Collector for RaplCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut readings = Vec::new();
        for zone in self.zones(host)? {
            let joules = read_microjoules(&zone.path.join("energy_uj"))? as f64 / 1e6;
            readings.push((zone, joules));
        }
        if self.zone_label {
            let family = out.family(
                "node_rapl_joules_total",
                "Current RAPL value in joules",
                MetricType::Counter,
                &["index", "path", "rapl_zone"],
            );
            for (zone, joules) in &readings {
                let index = zone.index.to_string();
                let path = zone.path.to_string_lossy();
                family.push(&[index.as_str(), &path, &zone.name], *joules);
            }
            return Ok(());
        }
        // One metric per zone name; zones of one name share its family.
        let mut by_name: BTreeMap<&str, Vec<&(Zone, f64)>> = BTreeMap::new();
        for reading in &readings {
            by_name.entry(&reading.0.name).or_default().push(reading);
        }
        for (name, zones) in by_name {
            let family = out.family(
                format!(
                    "node_rapl_{}",
                    sanitize_name(&format!("{name}_joules_total"))
                ),
                format!("Current RAPL {name} value in joules"),
                MetricType::Counter,
                &["index", "path"],
            );
            for (zone, joules) in zones {
                let index = zone.index.to_string();
                family.push(&[index.as_str(), &zone.path.to_string_lossy()], *joules);
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
    fn indexed_names() {
        assert_eq!(split_indexed_name("package-0"), Some(("package", 0)));
        assert_eq!(split_indexed_name("package-12"), Some(("package", 12)));
        assert_eq!(split_indexed_name("dram"), None);
        assert_eq!(split_indexed_name("package-x"), None);
        assert_eq!(split_indexed_name("package-0-die-1"), None);
    }

    #[test]
    fn plain_names_are_counted() {
        assert_eq!(
            index_zones(["package-0", "core", "dram", "package-1", "dram", "psys"]),
            vec![
                ("package".to_string(), 0),
                ("core".to_string(), 0),
                ("dram".to_string(), 0),
                ("package".to_string(), 1),
                ("dram".to_string(), 1),
                ("psys".to_string(), 0),
            ]
        );
        // A plain name after indexed ones continues their numbering.
        assert_eq!(
            index_zones(["package-3", "package"]),
            vec![("package".to_string(), 3), ("package".to_string(), 4)]
        );
    }

    #[test]
    fn microjoules() {
        assert_eq!(parse_microjoules("262143328850\n"), Some(262_143_328_850));
        assert_eq!(parse_microjoules("-1"), None);
        assert_eq!(parse_microjoules(""), None);
    }

    fn zone_tree(zones: &[(&str, &[(&str, &str)])]) -> tempfile::TempDir {
        let sys = tempfile::tempdir().unwrap();
        for (dir, files) in zones {
            write_files(&sys.path().join("class/powercap").join(dir), files);
        }
        sys
    }

    #[test]
    fn directories_without_names_are_skipped() {
        let sys = zone_tree(&[
            ("intel-rapl", &[("enabled", "1\n")]),
            (
                "intel-rapl:0",
                &[
                    ("name", "package-0\n"),
                    ("energy_uj", "1500000\n"),
                    ("max_energy_range_uj", "262143328850\n"),
                ],
            ),
        ]);
        let host = host_with_sysfs(sys.path());
        let text = build(&SPEC, host, &[]).unwrap().render();
        let path = sys.path().join("class/powercap/intel-rapl:0");
        assert!(
            text.contains(&format!(
                "node_rapl_package_joules_total{{index=\"0\",path=\"{}\"}} 1.5\n",
                path.display()
            )),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE").count(), 1, "{text}");
    }

    #[test]
    fn a_zone_without_energy_fails() {
        let sys = zone_tree(&[(
            "intel-rapl:0",
            &[("name", "package-0\n"), ("max_energy_range_uj", "1\n")],
        )]);
        let host = host_with_sysfs(sys.path());
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }

    #[test]
    fn unreadable_energy_is_no_data() {
        let err = energy_error(
            Path::new("/sys/class/powercap/intel-rapl:0/energy_uj"),
            &io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(err.kind(), ErrorKind::NoData);
        let err = energy_error(Path::new("x"), &io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(err.kind(), ErrorKind::Failed);
    }

    #[test]
    fn no_powercap_is_no_data() {
        let host = host_with_sysfs(Path::new("/nonexistent/sys"));
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn fixture_zones() {
        let text = scrape_fixtures(&SPEC, &[]);
        let sys = crate::collectors::common::testing::fixture_host()
            .sys_path("class/powercap")
            .display()
            .to_string();
        for expected in [
            "# HELP node_rapl_package_joules_total Current RAPL package value in joules".to_string(),
            "# TYPE node_rapl_package_joules_total counter".to_string(),
            format!("node_rapl_package_joules_total{{index=\"0\",path=\"{sys}/intel-rapl:0\"}} 124.532113\n"),
            format!("node_rapl_core_joules_total{{index=\"0\",path=\"{sys}/intel-rapl:0:0\"}} 52.104771\n"),
            format!("node_rapl_dram_joules_total{{index=\"0\",path=\"{sys}/intel-rapl:0:1\"}} 11.230456\n"),
        ] {
            assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn fixture_zones_with_the_zone_label() {
        let text = scrape_fixtures(&SPEC, &["--collector.rapl.enable-zone-label"]);
        assert!(text.contains("# HELP node_rapl_joules_total Current RAPL value in joules\n"));
        assert!(text.contains(r#"rapl_zone="dram"} 11.230456"#), "{text}");
        assert!(!text.contains("node_rapl_package_joules_total"), "{text}");
    }
}
