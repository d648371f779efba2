//! `zoneinfo`: per-zone memory statistics from `<procfs>/zoneinfo`, as
//! `node_zoneinfo_*{node,zone}`: free pages, watermarks, sizes, the LRU and
//! NUMA counters node_exporter knows, and `protection_<n>` (the lowmem
//! reserve against allocations that may use zone `n`).
//!
//! As node_exporter: the file is cut into blocks at each `Node` line, and a
//! known key anywhere in a block counts for that block's zone. Since Linux
//! 4.8 the per-node counters (`nr_active_anon`, `nr_dirtied`, ...) are
//! printed once, inside the node's first zone, so they are reported for that
//! zone only. A value that is not an integer leaves its metric out.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "zoneinfo",
    default_enabled: false,
    reads: "/proc/zoneinfo",
    flags: None,
    build: plain::<ZoneinfoCollector>,
};

/// Every reported key, with node_exporter's names (after `node_zoneinfo_`)
/// and help texts; each source is the key.
const FIELDS: [Desc<&str>; 34] = [
    Desc::gauge(
        "nr_free_pages",
        "Total number of free pages in the zone",
        "nr_free_pages",
    ),
    Desc::gauge("min_pages", "Zone watermark pages_min", "min"),
    Desc::gauge("low_pages", "Zone watermark pages_low", "low"),
    Desc::gauge("high_pages", "Zone watermark pages_high", "high"),
    Desc::gauge(
        "scanned_pages",
        "Pages scanned since last reclaim",
        "scanned",
    ),
    Desc::gauge(
        "spanned_pages",
        "Total pages spanned by the zone, including holes",
        "spanned",
    ),
    Desc::gauge(
        "present_pages",
        "Physical pages existing within the zone",
        "present",
    ),
    Desc::gauge(
        "managed_pages",
        "Present pages managed by the buddy system",
        "managed",
    ),
    Desc::gauge(
        "nr_active_anon_pages",
        "Number of anonymous pages recently more used",
        "nr_active_anon",
    ),
    Desc::gauge(
        "nr_inactive_anon_pages",
        "Number of anonymous pages recently less used",
        "nr_inactive_anon",
    ),
    Desc::gauge(
        "nr_isolated_anon_pages",
        "Temporary isolated pages from anon lru",
        "nr_isolated_anon",
    ),
    Desc::gauge(
        "nr_anon_pages",
        "Number of anonymous pages currently used by the system",
        "nr_anon_pages",
    ),
    Desc::gauge(
        "nr_anon_transparent_hugepages",
        "Number of anonymous transparent huge pages currently used by the system",
        "nr_anon_transparent_hugepages",
    ),
    Desc::gauge(
        "nr_active_file_pages",
        "Number of active pages with file-backing",
        "nr_active_file",
    ),
    Desc::gauge(
        "nr_inactive_file_pages",
        "Number of inactive pages with file-backing",
        "nr_inactive_file",
    ),
    Desc::gauge(
        "nr_isolated_file_pages",
        "Temporary isolated pages from file lru",
        "nr_isolated_file",
    ),
    Desc::gauge("nr_file_pages", "Number of file pages", "nr_file_pages"),
    Desc::gauge(
        "nr_slab_reclaimable_pages",
        "Number of reclaimable slab pages",
        "nr_slab_reclaimable",
    ),
    Desc::gauge(
        "nr_slab_unreclaimable_pages",
        "Number of unreclaimable slab pages",
        "nr_slab_unreclaimable",
    ),
    Desc::gauge(
        "nr_mlock_stack_pages",
        "mlock()ed pages found and moved off LRU",
        "nr_mlock_stack",
    ),
    Desc::gauge(
        "nr_kernel_stacks",
        "Number of kernel stacks",
        "nr_kernel_stack",
    ),
    Desc::gauge("nr_mapped_pages", "Number of mapped pages", "nr_mapped"),
    Desc::gauge("nr_dirty_pages", "Number of dirty pages", "nr_dirty"),
    Desc::gauge(
        "nr_writeback_pages",
        "Number of writeback pages",
        "nr_writeback",
    ),
    Desc::gauge(
        "nr_unevictable_pages",
        "Number of unevictable pages",
        "nr_unevictable",
    ),
    Desc::gauge(
        "nr_shmem_pages",
        "Number of shmem pages (included tmpfs/GEM pages)",
        "nr_shmem",
    ),
    Desc::counter(
        "nr_dirtied_total",
        "Page dirtyings since bootup",
        "nr_dirtied",
    ),
    Desc::counter(
        "nr_written_total",
        "Page writings since bootup",
        "nr_written",
    ),
    Desc::counter("numa_hit_total", "Allocated in intended node", "numa_hit"),
    Desc::counter(
        "numa_miss_total",
        "Allocated in non intended node",
        "numa_miss",
    ),
    Desc::counter(
        "numa_foreign_total",
        "Was intended here, hit elsewhere",
        "numa_foreign",
    ),
    Desc::counter(
        "numa_interleave_total",
        "Interleaver preferred this zone",
        "numa_interleave",
    ),
    Desc::counter(
        "numa_local_total",
        "Allocation from local node",
        "numa_local",
    ),
    Desc::counter(
        "numa_other_total",
        "Allocation from other node",
        "numa_other",
    ),
];

/// Reports `node_zoneinfo_*`.
#[derive(Default)]
struct ZoneinfoCollector;

/// One zone block of `/proc/zoneinfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The NUMA node number, as written.
    pub node: String,
    /// The zone name (`DMA32`, `Normal`, `Movable`).
    pub zone: String,
    /// The value of each key of [`FIELDS`], in its order; `None` when the
    /// block lacks the key or its value is not an integer.
    pub values: Vec<Option<i64>>,
    /// The `protection: (a, b, ...)` array; empty when absent or garbled.
    pub protection: Vec<i64>,
}

impl Zone {
    /// Parses `/proc/zoneinfo`. Text before the first `Node <n>, zone
    /// <name>` line belongs to no zone and is ignored; a zone that appears
    /// twice keeps its last block. Never fails: keys it does not know and
    /// values it cannot read are left out.
    pub fn parse_all(text: &str) -> Vec<Zone> {
        let mut zones: Vec<Zone> = Vec::new();
        for block in text.split("\nNode") {
            let Some(zone) = Zone::parse_block(block) else {
                continue;
            };
            zones.retain(|z| (&z.node, &z.zone) != (&zone.node, &zone.zone));
            zones.push(zone);
        }
        zones
    }

    fn parse_block(block: &str) -> Option<Zone> {
        let mut header = None;
        let mut values = vec![None; FIELDS.len()];
        let mut protection = Vec::new();
        for line in block.lines() {
            if let Some(node_zone) = node_and_zone(line) {
                header = Some(node_zone);
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(key), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            if key == "protection:" {
                if let Some(array) = protection_array(line) {
                    protection = array;
                }
            } else if let Some(i) = FIELDS.iter().position(|f| f.source == key) {
                values[i] = value.parse::<i64>().ok();
            }
        }
        let (node, zone) = header?;
        Some(Zone {
            node,
            zone,
            values,
            protection,
        })
    }
}

/// The node number and zone name of a `Node 0, zone   Normal` line (found
/// anywhere in the line; the block split has already eaten `Node`).
fn node_and_zone(line: &str) -> Option<(String, String)> {
    let at = line.find(", zone")?;
    let before = &line[..at];
    let node_start = before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let node = &before[node_start..];
    let after = &line[at + ", zone".len()..];
    let name = after.trim_start();
    if node.is_empty() || name.len() == after.len() {
        return None;
    }
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0).then(|| (node.to_string(), name[..end].to_string()))
}

/// The numbers of a `protection: (0, 2991, 23890, 23890)` line; `None` if
/// any is not an integer.
fn protection_array(line: &str) -> Option<Vec<i64>> {
    let (_, list) = line.split_once(':')?;
    let list = list.replacen('(', "", 1).replacen(')', "", 1);
    list.trim()
        .split(", ")
        .map(|n| n.parse::<i64>().ok())
        .collect()
}

impl Collector for ZoneinfoCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("zoneinfo");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let zones = Zone::parse_all(&text);
        for (i, field) in FIELDS.iter().enumerate() {
            let family = out.family(
                format!("node_zoneinfo_{}", field.name),
                field.help,
                field.metric_type,
                &["node", "zone"],
            );
            for zone in &zones {
                if let Some(value) = zone.values[i] {
                    family.push(&[&zone.node, &zone.zone], value as f64);
                }
            }
        }
        let longest = zones.iter().map(|z| z.protection.len()).max().unwrap_or(0);
        for n in 0..longest {
            let family = out.family(
                format!("node_zoneinfo_protection_{n}"),
                format!("Protection array {n}. field"),
                MetricType::Gauge,
                &["node", "zone"],
            );
            for zone in &zones {
                if let Some(&value) = zone.protection.get(n) {
                    family.push(&[&zone.node, &zone.zone], value as f64);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};
    use crate::collectors::ErrorKind;

    /// This machine's `/proc/zoneinfo` (one node, Linux 6.18): per-node
    /// stats in the DMA block, empty Movable and Device zones.
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/zoneinfo");

    /// Linux 3.10: per-zone counters everywhere, `scanned`, no per-node
    /// section, two nodes.
    const LINUX_3_10: &str = "\
Node 0, zone      DMA
  pages free     3975
        min      5
        low      6
        high     7
        scanned  0
        spanned  4095
        present  3994
        managed  3975
    nr_free_pages 3975
    nr_inactive_anon 0
    nr_active_anon 0
    nr_dirtied   0
    numa_hit     1
        protection: (0, 2815, 15868, 15868)
  pagesets
    cpu: 0
              count: 0
              high:  0
              batch: 1
  vm stats threshold: 6
  all_unreclaimable: 1
  start_pfn:         1
  inactive_ratio:    1
Node 1, zone   Normal
  pages free     1283721
        min      11284
        low      14105
        high     16926
        scanned  0
        spanned  4194304
        present  4194304
        managed  4128627
    nr_free_pages 1283721
    nr_inactive_anon 23521
    nr_active_anon 1180234
    nr_dirtied   88123456
    nr_written   87123456
    numa_hit     9123456789
        protection: (0, 0, 0, 0)
";

    fn value(zone: &Zone, key: &str) -> Option<i64> {
        let i = FIELDS.iter().position(|f| f.source == key).unwrap();
        zone.values[i]
    }

    #[test]
    fn this_machine() {
        let zones = Zone::parse_all(CURRENT);
        let names: Vec<(&str, &str)> = zones
            .iter()
            .map(|z| (z.node.as_str(), z.zone.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("0", "DMA"),
                ("0", "DMA32"),
                ("0", "Normal"),
                ("0", "Movable"),
                ("0", "Device")
            ]
        );
        let dma = &zones[0];
        assert_eq!(value(dma, "nr_free_pages"), Some(3840));
        assert_eq!(value(dma, "min"), Some(10));
        assert_eq!(value(dma, "high"), Some(16));
        assert_eq!(value(dma, "spanned"), Some(4095));
        // The per-node section counts for the node's first zone.
        assert_eq!(value(dma, "nr_dirtied"), Some(19503111));
        assert_eq!(value(dma, "nr_active_anon"), Some(413));
        assert_eq!(value(&zones[1], "nr_dirtied"), None);
        assert_eq!(value(&zones[1], "numa_hit"), Some(288569));
        // `high:` of the pagesets is not the watermark.
        assert_eq!(value(&zones[1], "high"), Some(3659));
        assert_eq!(dma.protection, [0, 3018, 24090, 24090, 24090]);
        // An empty zone has watermarks and sizes only.
        let movable = &zones[3];
        assert_eq!(value(movable, "min"), Some(32));
        assert_eq!(value(movable, "nr_free_pages"), None);
        assert_eq!(movable.protection, [0, 0, 0, 0, 0]);
    }

    #[test]
    fn old_kernel_with_two_nodes() {
        let zones = Zone::parse_all(LINUX_3_10);
        assert_eq!(zones.len(), 2);
        assert_eq!(
            (zones[1].node.as_str(), zones[1].zone.as_str()),
            ("1", "Normal")
        );
        assert_eq!(value(&zones[0], "scanned"), Some(0));
        assert_eq!(value(&zones[0], "high"), Some(7));
        assert_eq!(value(&zones[1], "numa_hit"), Some(9123456789));
        assert_eq!(value(&zones[1], "nr_written"), Some(87123456));
        assert_eq!(zones[0].protection, [0, 2815, 15868, 15868]);
    }

    #[test]
    fn garbage_truncation_and_repeats() {
        assert!(Zone::parse_all("").is_empty());
        assert!(Zone::parse_all("garbage\n  min 3\n").is_empty());
        let text =
            "Node 0, zone DMA\n  min x\n  low 5\n  protection: (0, y)\nNode 0, zone Normal\n  high";
        let zones = Zone::parse_all(text);
        assert_eq!(zones.len(), 2);
        assert_eq!(value(&zones[0], "min"), None);
        assert_eq!(value(&zones[0], "low"), Some(5));
        assert!(zones[0].protection.is_empty());
        assert_eq!(value(&zones[1], "high"), None);
        let twice = "Node 0, zone DMA\n  min 1\nNode 0, zone DMA\n  min 2\n";
        let zones = Zone::parse_all(twice);
        assert_eq!(zones.len(), 1);
        assert_eq!(value(&zones[0], "min"), Some(2));
    }

    #[test]
    fn headers() {
        assert_eq!(
            node_and_zone("Node 12, zone   Normal"),
            Some(("12".to_string(), "Normal".to_string()))
        );
        assert_eq!(
            node_and_zone(" 1, zone  Movable"),
            Some(("1".to_string(), "Movable".to_string()))
        );
        assert_eq!(node_and_zone("Node x, zone DMA"), None);
        assert_eq!(node_and_zone("Node 0, zoneDMA"), None);
        assert_eq!(node_and_zone("Node 0, zone   "), None);
    }

    #[test]
    fn reports_the_fixture_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.zoneinfo"]);
        for expected in [
            "# HELP node_zoneinfo_nr_free_pages Total number of free pages in the zone",
            "# TYPE node_zoneinfo_nr_free_pages gauge",
            r#"node_zoneinfo_nr_free_pages{node="0",zone="DMA"} 3840"#,
            "# HELP node_zoneinfo_min_pages Zone watermark pages_min",
            r#"node_zoneinfo_min_pages{node="0",zone="Device"} 0"#,
            "# HELP node_zoneinfo_nr_dirtied_total Page dirtyings since bootup",
            "# TYPE node_zoneinfo_nr_dirtied_total counter",
            r#"node_zoneinfo_nr_dirtied_total{node="0",zone="DMA"} 1.9503111e+07"#,
            "# TYPE node_zoneinfo_numa_hit_total counter",
            "# HELP node_zoneinfo_protection_4 Protection array 4. field",
            "# TYPE node_zoneinfo_protection_4 gauge",
            r#"node_zoneinfo_protection_1{node="0",zone="DMA"} 3018"#,
            "# HELP node_zoneinfo_nr_kernel_stacks Number of kernel stacks",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains("scanned_pages"), "no such key on 6.18");
        assert!(!text.contains("protection_5"));
    }

    #[test]
    fn missing_file_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_procfs(dir.path());
        let collector = ZoneinfoCollector;
        assert_eq!(
            run(&collector, &host).1.unwrap_err().kind(),
            ErrorKind::NoData
        );
        let dir = procfs_with(&[("zoneinfo", "\0\0garbage")]);
        let host = host_with_procfs(dir.path());
        let collector = ZoneinfoCollector;
        let (families, result) = run(&collector, &host);
        result.unwrap();
        assert!(families.is_empty());
    }
}
