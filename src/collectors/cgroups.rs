//! `cgroups`: the cgroup controllers the kernel knows, from
//! `<procfs>/cgroups`, as `node_cgroups_cgroups{subsys_name}` (cgroups using
//! the controller) and `node_cgroups_enabled{subsys_name}`.
//!
//! The file only counts cgroups of v1 hierarchies: a controller bound to the
//! unified (v2) hierarchy shows hierarchy 0 and a count the kernel keeps for
//! its root.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "cgroups",
    default_enabled: false,
    reads: "/proc/cgroups",
    flags: None,
    build: plain::<CgroupsCollector>,
};

/// Reports `node_cgroups_cgroups` and `node_cgroups_enabled`.
#[derive(Default)]
struct CgroupsCollector;

/// One controller line of `/proc/cgroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupController {
    /// The controller (subsystem) name: `cpu`, `memory`, ...
    pub name: String,
    /// The v1 hierarchy it is mounted on; 0 for none or the v2 hierarchy.
    pub hierarchy: i64,
    /// How many cgroups of that hierarchy use it.
    pub cgroups: i64,
    /// 1 when enabled, 0 when disabled (`cgroup_disable=`).
    pub enabled: i64,
}

impl CgroupController {
    /// Parses `/proc/cgroups`: a `#subsys_name hierarchy num_cgroups
    /// enabled` header, then one line per controller. Comment lines are
    /// skipped; as node_exporter, a line with fewer than four fields or a
    /// non-integer one fails the whole file. Blank lines are skipped.
    pub fn parse_all(text: &str) -> Result<Vec<CgroupController>, String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 4 {
                    return Err(format!("fewer than 4 fields in {line:?}"));
                }
                let integer = |i: usize| {
                    fields[i]
                        .parse::<i64>()
                        .map_err(|_| format!("invalid integer {:?} in {line:?}", fields[i]))
                };
                Ok(CgroupController {
                    name: fields[0].to_string(),
                    hierarchy: integer(1)?,
                    cgroups: integer(2)?,
                    enabled: integer(3)?,
                })
            })
            .collect()
    }
}

impl Collector for CgroupsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("cgroups");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let controllers =
            CgroupController::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        // node_exporter gives both families the same help text.
        const HELP: &str = "Current cgroup number of the subsystem.";
        let cgroups = out.family(
            "node_cgroups_cgroups",
            HELP,
            MetricType::Gauge,
            &["subsys_name"],
        );
        for controller in &controllers {
            cgroups.push(&[&controller.name], controller.cgroups as f64);
        }
        let enabled = out.family(
            "node_cgroups_enabled",
            HELP,
            MetricType::Gauge,
            &["subsys_name"],
        );
        for controller in &controllers {
            enabled.push(&[&controller.name], controller.enabled as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};

    /// This machine's `/proc/cgroups` (Linux 6.18, v1 hierarchies mounted).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/cgroups");

    /// A systemd host on the unified hierarchy only (Linux 5.15): every
    /// controller at hierarchy 0; `rdma` and `misc` present, `cpuset`
    /// disabled on the command line.
    const UNIFIED_5_15: &str = "\
#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t0\t112\t0
cpu\t0\t112\t1
cpuacct\t0\t112\t1
blkio\t0\t112\t1
memory\t0\t112\t1
devices\t0\t112\t1
freezer\t0\t112\t1
net_cls\t0\t112\t1
perf_event\t0\t112\t1
net_prio\t0\t112\t1
hugetlb\t0\t112\t1
pids\t0\t112\t1
rdma\t0\t112\t1
misc\t0\t112\t1
";

    fn controller(name: &str, hierarchy: i64, cgroups: i64, enabled: i64) -> CgroupController {
        CgroupController {
            name: name.to_string(),
            hierarchy,
            cgroups,
            enabled,
        }
    }

    #[test]
    fn this_machine() {
        let controllers = CgroupController::parse_all(CURRENT).unwrap();
        assert_eq!(controllers.len(), CURRENT.lines().count() - 1);
        assert_eq!(controllers[4], controller("memory", 4, 58, 1));
        assert_eq!(controllers[7], controller("net_cls", 0, 2, 1));
    }

    #[test]
    fn unified_hierarchy_and_a_disabled_controller() {
        let controllers = CgroupController::parse_all(UNIFIED_5_15).unwrap();
        assert_eq!(controllers.len(), 14);
        assert_eq!(controllers[0], controller("cpuset", 0, 112, 0));
        assert_eq!(controllers[13], controller("misc", 0, 112, 1));
    }

    #[test]
    fn garbage_and_truncation_fail() {
        assert_eq!(CgroupController::parse_all("").unwrap(), []);
        assert_eq!(
            CgroupController::parse_all("#subsys_name\thierarchy\n").unwrap(),
            []
        );
        assert!(CgroupController::parse_all("cpu\t1\t3\n").is_err());
        let err = CgroupController::parse_all("cpu\t1\tthree\t1\n").unwrap_err();
        assert!(err.contains("three"), "{err}");
        // Extra fields from a future kernel are ignored.
        assert_eq!(
            CgroupController::parse_all("cpu 1 3 1 9\n").unwrap(),
            [controller("cpu", 1, 3, 1)]
        );
    }

    #[test]
    fn reports_both_families_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.cgroups"]);
        for expected in [
            "# HELP node_cgroups_cgroups Current cgroup number of the subsystem.",
            "# TYPE node_cgroups_cgroups gauge",
            r#"node_cgroups_cgroups{subsys_name="memory"} 58"#,
            "# HELP node_cgroups_enabled Current cgroup number of the subsystem.",
            "# TYPE node_cgroups_enabled gauge",
            r#"node_cgroups_enabled{subsys_name="pids"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 24);
    }

    #[test]
    fn missing_file_is_no_data_and_garbage_fails() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_procfs(dir.path());
        let collector = CgroupsCollector;
        let err = run(&collector, &host).1.unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
        let dir = procfs_with(&[("cgroups", "cpu 1 x 1\n")]);
        let host = host_with_procfs(dir.path());
        let collector = CgroupsCollector;
        let (families, result) = run(&collector, &host);
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("cgroups"));
    }
}
