//! `meminfo_numa`: memory statistics per NUMA node from
//! `<sysfs>/devices/system/node/node<n>/{meminfo,numastat}`, as
//! `node_memory_numa_<Field>{node}` gauges (bytes for `kB` fields) and
//! `node_memory_numa_<counter>_total{node}` counters.
//!
//! As node_exporter, the `node` label of a meminfo field is the node number
//! written on its line, that of a numastat counter the directory's number,
//! and any unreadable or malformed file fails the whole collector.

use std::collections::BTreeMap;
use std::fs;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::meminfo::mangle_key;
use crate::metrics::{is_name_fragment, MetricSet, MetricType};
use crate::parse::number;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "meminfo_numa",
    default_enabled: false,
    reads: "/sys/devices/system/node/node*/{meminfo,numastat}",
    flags: None,
    build: plain::<MeminfoNumaCollector>,
};

/// Reports `node_memory_numa_*`.
#[derive(Default)]
struct MeminfoNumaCollector;

/// One field of a node's `meminfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMemoryField {
    /// The node number written on the line.
    pub node: String,
    /// The metric-name suffix (`Active_anon`, `HugePages_Total`).
    pub name: String,
    /// Bytes for `kB` fields, the count for unitless ones.
    pub value: f64,
}

impl NodeMemoryField {
    /// Parses a node's `meminfo` (`Node 0 MemTotal:  24683656 kB` per
    /// line). Blank lines are skipped; a line of another shape, a value that
    /// is not a number or a key that cannot be a metric name fails the file,
    /// as node_exporter's.
    pub fn parse_all(text: &str) -> Result<Vec<NodeMemoryField>, String> {
        let mut fields = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad_line = || format!("invalid line {line:?}");
            let value = words.get(3).and_then(|w| number(w)).ok_or_else(bad_line)?;
            let value = match words.len() {
                4 => value,
                5 if words[4] == "kB" => value * 1024.0,
                _ => return Err(bad_line()),
            };
            let name = mangle_key(words[2].trim_end_matches(':'));
            if !is_name_fragment(&name) {
                return Err(bad_line());
            }
            fields.push(NodeMemoryField {
                node: words[1].to_string(),
                name: name.into_owned(),
                value,
            });
        }
        Ok(fields)
    }
}

/// Parses a node's `numastat` (`numa_hit 122987934` per line) into counter
/// names and values. Blank lines are skipped; any other line that is not a
/// name and a number fails the file.
pub fn parse_numastat(text: &str) -> Result<Vec<(String, f64)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [name, value] if is_name_fragment(name) => number(value)
                    .map(|v| (name.to_string(), v))
                    .ok_or_else(|| format!("invalid value in {line:?}")),
                _ => Err(format!("not a name and a value: {line:?}")),
            },
        )
        .collect()
}

/// The number of a node directory named like `node12` (node_exporter's
/// `node[0-9]*`: the leading digits).
fn node_number(dir_name: &str) -> Option<&str> {
    let rest = dir_name.strip_prefix("node")?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    (digits > 0).then(|| &rest[..digits])
}

/// Samples of one family under construction.
struct Samples {
    metric_type: MetricType,
    by_node: Vec<(String, f64)>,
}

impl Collector for MeminfoNumaCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let root = host.sys_path("devices/system/node");
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let mut nodes = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&root, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(number) = node_number(&name) {
                nodes.push((number.to_string(), entry.path()));
            }
        }
        nodes.sort();

        let mut families: BTreeMap<String, Samples> = BTreeMap::new();
        let mut add = |name: String, metric_type: MetricType, node: String, value: f64| {
            families
                .entry(name)
                .or_insert_with(|| Samples {
                    metric_type,
                    by_node: Vec::new(),
                })
                .by_node
                .push((node, value));
        };
        for (number, dir) in &nodes {
            let path = dir.join("meminfo");
            let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
            let fields =
                NodeMemoryField::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
            for field in fields {
                add(field.name, MetricType::Gauge, field.node, field.value);
            }
            let path = dir.join("numastat");
            let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
            let counters = parse_numastat(&text).map_err(|e| CollectError::parse(&path, e))?;
            for (name, value) in counters {
                add(
                    format!("{name}_total"),
                    MetricType::Counter,
                    number.clone(),
                    value,
                );
            }
        }
        for (name, samples) in families {
            let family = out.family(
                format!("node_memory_numa_{name}"),
                format!("Memory information field {name}."),
                samples.metric_type,
                &["node"],
            );
            for (node, value) in &samples.by_node {
                family.push(&[node], *value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{run, scrape_fixtures, write_files};
    use crate::collectors::ErrorKind;
    use std::path::Path;

    /// This machine's node0 (Linux 6.18); node1 of the fixture is written
    /// by hand in the same format.
    const NODE0_MEMINFO: &str =
        include_str!("../../tests/fixtures/sys/devices/system/node/node0/meminfo");
    const NODE0_NUMASTAT: &str =
        include_str!("../../tests/fixtures/sys/devices/system/node/node0/numastat");

    /// An older kernel's node (3.10, abridged): fewer fields, `HugePages_*`
    /// without a unit.
    const LINUX_3_10_NODE1: &str = "\
Node 1 MemTotal:       16777216 kB
Node 1 MemFree:          524288 kB
Node 1 MemUsed:        16252928 kB
Node 1 Active:          8388608 kB
Node 1 Active(anon):    4194304 kB
Node 1 Inactive(file):  2097152 kB
Node 1 HugePages_Total:     0
Node 1 HugePages_Free:      0
Node 1 HugePages_Surp:      0
";

    fn field(node: &str, name: &str, value: f64) -> NodeMemoryField {
        NodeMemoryField {
            node: node.to_string(),
            name: name.to_string(),
            value,
        }
    }

    #[test]
    fn this_machines_node() {
        let fields = NodeMemoryField::parse_all(NODE0_MEMINFO).unwrap();
        assert_eq!(fields.len(), NODE0_MEMINFO.lines().count());
        assert_eq!(fields[0], field("0", "MemTotal", 24683656.0 * 1024.0));
        assert!(fields.contains(&field("0", "Active_anon", 1680.0 * 1024.0)));
        assert!(fields.contains(&field("0", "Inactive_file", 12990832.0 * 1024.0)));
        assert!(fields.contains(&field("0", "HugePages_Total", 0.0)));
        let counters = parse_numastat(NODE0_NUMASTAT).unwrap();
        assert_eq!(
            counters.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            [
                "numa_hit",
                "numa_miss",
                "numa_foreign",
                "interleave_hit",
                "local_node",
                "other_node"
            ]
        );
        assert_eq!(counters[0].1, 123177759.0);
    }

    #[test]
    fn older_kernel_node() {
        let fields = NodeMemoryField::parse_all(LINUX_3_10_NODE1).unwrap();
        assert_eq!(fields.len(), 9);
        assert_eq!(fields[4], field("1", "Active_anon", 4194304.0 * 1024.0));
        assert_eq!(fields[8], field("1", "HugePages_Surp", 0.0));
    }

    #[test]
    fn garbage_and_truncation_fail() {
        assert_eq!(NodeMemoryField::parse_all("").unwrap(), []);
        assert_eq!(NodeMemoryField::parse_all("\n\n").unwrap(), []);
        for bad in [
            "Node 0 MemTotal:",
            "Node 0 MemTotal: x kB",
            "Node 0 MemTotal: 1 MB",
            "Node 0 MemTotal: 1 kB extra",
            "Node 0 Mem-Total: 1 kB",
        ] {
            assert!(NodeMemoryField::parse_all(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_numastat("").unwrap(), []);
        assert!(parse_numastat("numa_hit").is_err());
        assert!(parse_numastat("numa_hit 1 2").is_err());
        assert!(parse_numastat("numa_hit x").is_err());
    }

    #[test]
    fn node_directories() {
        assert_eq!(node_number("node0"), Some("0"));
        assert_eq!(node_number("node12"), Some("12"));
        assert_eq!(node_number("node3x"), Some("3"));
        assert_eq!(node_number("node"), None);
        assert_eq!(node_number("nodex"), None);
        assert_eq!(node_number("online"), None);
        assert_eq!(node_number("has_cpu"), None);
    }

    #[test]
    fn reports_both_fixture_nodes_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.meminfo_numa"]);
        for expected in [
            "# HELP node_memory_numa_MemTotal Memory information field MemTotal.",
            "# TYPE node_memory_numa_MemTotal gauge",
            r#"node_memory_numa_MemTotal{node="0"} 2.5276063744e+10"#,
            r#"node_memory_numa_MemTotal{node="1"} 1.7179869184e+10"#,
            "# HELP node_memory_numa_Active_anon Memory information field Active_anon.",
            r#"node_memory_numa_HugePages_Total{node="1"} 8"#,
            "# HELP node_memory_numa_numa_hit_total Memory information field numa_hit_total.",
            "# TYPE node_memory_numa_numa_hit_total counter",
            r#"node_memory_numa_numa_hit_total{node="0"} 1.23177759e+08"#,
            r#"node_memory_numa_numa_miss_total{node="1"} 12345"#,
            "# TYPE node_memory_numa_interleave_hit_total counter",
            r#"node_memory_numa_other_node_total{node="1"} 16666"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    fn host_on(sysfs: &Path) -> Host {
        Host::new("/nonexistent/proc", sysfs, "/r", "/u")
    }

    #[test]
    fn kernel_without_numa_has_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(&MeminfoNumaCollector, &host_on(dir.path()))
            .1
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
        // The directory without node entries: nothing, successfully.
        std::fs::create_dir_all(dir.path().join("devices/system/node")).unwrap();
        let (families, result) = run(&MeminfoNumaCollector, &host_on(dir.path()));
        result.unwrap();
        assert!(families.is_empty());
    }

    #[test]
    fn a_missing_or_bad_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("devices/system/node/node0");
        write_files(&node, &[("meminfo", "Node 0 MemTotal: 1 kB\n")]);
        let err = run(&MeminfoNumaCollector, &host_on(dir.path()))
            .1
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("numastat"), "{err}");
        write_files(&node, &[("numastat", "numa_hit 1\nnuma_miss\n")]);
        let err = run(&MeminfoNumaCollector, &host_on(dir.path()))
            .1
            .unwrap_err();
        assert!(err.message().contains("numa_miss"), "{err}");
        write_files(&node, &[("numastat", "numa_hit 1\n")]);
        let (families, result) = run(&MeminfoNumaCollector, &host_on(dir.path()));
        result.unwrap();
        assert_eq!(families.len(), 2);
    }
}
