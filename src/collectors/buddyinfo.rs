//! `buddyinfo`: free blocks of the buddy allocator per NUMA node, zone and
//! order from `<procfs>/buddyinfo`, as `node_buddyinfo_blocks{node,zone,size}`.
//!
//! `size` is the order `n` (column index), a block being `2^n` pages.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};
use crate::parse::number;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "buddyinfo",
    default_enabled: false,
    reads: "/proc/buddyinfo",
    flags: None,
    build: plain::<BuddyinfoCollector>,
};

/// Reports `node_buddyinfo_blocks`.
#[derive(Default)]
struct BuddyinfoCollector;

/// One line of `/proc/buddyinfo`: a zone of a node and its free block
/// counts, smallest order first.
#[derive(Debug, Clone, PartialEq)]
pub struct BuddyZone {
    /// The NUMA node number, as written (`0`).
    pub node: String,
    /// The zone name (`DMA32`, `Normal`).
    pub zone: String,
    /// Free blocks of order 0, 1, 2, ...
    pub free_blocks: Vec<f64>,
}

impl BuddyZone {
    /// Parses `/proc/buddyinfo` (`Node 0, zone   Normal   12   7 ...` per
    /// line). As node_exporter, every line must have the same number of
    /// orders, and a line that is too short or a count that is not a number
    /// fails the whole file. Blank lines are skipped.
    pub fn parse_all(text: &str) -> Result<Vec<BuddyZone>, String> {
        let mut zones: Vec<BuddyZone> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 4 {
                return Err(format!("too few fields in {line:?}"));
            }
            let free_blocks = fields[4..]
                .iter()
                .map(|f| number(f).ok_or_else(|| format!("invalid count {f:?} in {line:?}")))
                .collect::<Result<Vec<f64>, String>>()?;
            if let Some(first) = zones.first() {
                if first.free_blocks.len() != free_blocks.len() {
                    return Err(format!(
                        "{} orders in {line:?}, {} in the lines before",
                        free_blocks.len(),
                        first.free_blocks.len()
                    ));
                }
            }
            zones.push(BuddyZone {
                node: fields[1].trim_end_matches(',').to_string(),
                zone: fields[3].trim_end_matches(',').to_string(),
                free_blocks,
            });
        }
        Ok(zones)
    }
}

impl Collector for BuddyinfoCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("buddyinfo");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let zones = BuddyZone::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        let family = out.family(
            "node_buddyinfo_blocks",
            "Count of free blocks according to size.",
            MetricType::Gauge,
            &["node", "zone", "size"],
        );
        for zone in &zones {
            for (order, &count) in zone.free_blocks.iter().enumerate() {
                family.push(&[zone.node.as_str(), &zone.zone, &order.to_string()], count);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};

    /// This machine's `/proc/buddyinfo` (x86_64, one node, Linux 6.18).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/buddyinfo");

    /// A two-node arm64 server with 64 KiB pages: fewer orders, no DMA32.
    const ARM64_TWO_NODES: &str = "\
Node 0, zone      DMA    120     85     40     12      3      1      0      0      1      0      2      1      0      0 
Node 0, zone   Normal   5123   2211    904    300     88     20      4      2      0      1      0      0      1      3 
Node 1, zone   Normal   6001   1900    700    210     60     11      2      1      0      0      0      1      2      9 
";

    #[test]
    fn this_machine() {
        let zones = BuddyZone::parse_all(CURRENT).unwrap();
        let names: Vec<(&str, &str)> = zones
            .iter()
            .map(|z| (z.node.as_str(), z.zone.as_str()))
            .collect();
        assert_eq!(names, [("0", "DMA"), ("0", "DMA32"), ("0", "Normal")]);
        assert!(zones.iter().all(|z| z.free_blocks.len() == 11));
        assert_eq!(
            zones[1].free_blocks,
            [1449.0, 777.0, 498.0, 174.0, 171.0, 79.0, 41.0, 18.0, 11.0, 9.0, 303.0]
        );
    }

    #[test]
    fn two_nodes_with_more_orders() {
        let zones = BuddyZone::parse_all(ARM64_TWO_NODES).unwrap();
        assert_eq!(zones.len(), 3);
        assert_eq!(zones[2].node, "1");
        assert_eq!(zones[2].zone, "Normal");
        assert_eq!(zones[2].free_blocks.len(), 14);
        assert_eq!(zones[2].free_blocks[13], 9.0);
    }

    #[test]
    fn garbage_and_truncation_fail() {
        assert_eq!(BuddyZone::parse_all("").unwrap(), []);
        assert!(BuddyZone::parse_all("Node 0, zone\n").is_err());
        let err = BuddyZone::parse_all("Node 0, zone DMA 1 x 3\n").unwrap_err();
        assert!(err.contains("\"x\""), "{err}");
        // A file cut inside its last line has fewer orders there.
        let cut = "Node 0, zone DMA 1 2 3\nNode 0, zone Normal 4 5";
        assert!(BuddyZone::parse_all(cut).unwrap_err().contains("orders"));
        // A zone with no free-block columns at all is kept, with no orders.
        let bare = BuddyZone::parse_all("Node 0, zone DMA\n").unwrap();
        assert!(bare[0].free_blocks.is_empty());
    }

    #[test]
    fn reports_every_order_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.buddyinfo"]);
        for expected in [
            "# HELP node_buddyinfo_blocks Count of free blocks according to size.",
            "# TYPE node_buddyinfo_blocks gauge",
            r#"node_buddyinfo_blocks{node="0",size="0",zone="DMA32"} 1449"#,
            r#"node_buddyinfo_blocks{node="0",size="10",zone="Normal"} 646"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 33);
    }

    #[test]
    fn missing_file_is_no_data_and_garbage_fails() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_procfs(dir.path());
        let collector = BuddyinfoCollector;
        let err = run(&collector, &host).1.unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
        let dir = procfs_with(&[("buddyinfo", "Node 0, zone DMA 1 2\nNode 0, zone\n")]);
        let host = host_with_procfs(dir.path());
        let collector = BuddyinfoCollector;
        let err = run(&collector, &host).1.unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::Failed);
        assert!(err.message().contains("buddyinfo"), "{err}");
    }
}
