//! `meminfo`: every field of `<procfs>/meminfo` as `node_memory_<Field>_bytes`
//! (or `node_memory_<Field>` for the unitless hugepage counts).
//!
//! Fields are exported generically, as node_exporter did up to 1.8: newer
//! upstream releases map a fixed list of fields and so drop those the list
//! lacks (`KReclaimable`, `FileHugePages`, `Hugetlb`, `SecPageTables`,
//! `Unaccepted`, ...); the generic form keeps every name those releases emit
//! and also exports fields future kernels add.

use std::collections::BTreeMap;

use crate::collectors::common::field_selection::Descriptions;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::meminfo::mangle_key;
use crate::metrics::{is_name_fragment, MetricSet, MetricType};
use crate::parse::{key_value_lines, number};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "meminfo",
    default_enabled: true,
    reads: "/proc/meminfo",
    flags: None,
    build,
};

fn build(_ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(MeminfoCollector {
        descriptions: Descriptions::default(),
    }))
}

/// Reports one `node_memory_*` gauge per `/proc/meminfo` field.
struct MeminfoCollector {
    /// Each field's family name and help, built once.
    descriptions: Descriptions,
}

/// The fields of `/proc/meminfo`, keyed by the metric-name suffix
/// node_exporter gives them (`Active(anon): 12 kB` is `Active_anon_bytes`),
/// with values in bytes for `kB` fields and as is for unitless ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meminfo {
    /// Metric-name suffix to value.
    pub fields: BTreeMap<String, f64>,
}

impl Meminfo {
    /// Parses `/proc/meminfo` (`Key:   value [kB]` per line). Lines that do
    /// not have that shape, or whose key cannot become a metric name, are
    /// skipped; a text with no valid line at all is an error, since every
    /// kernel reports at least `MemTotal`.
    pub fn parse(text: &str) -> Result<Meminfo, String> {
        let mut fields = BTreeMap::new();
        for (key, rest) in key_value_lines(text, ':') {
            if let Some((name, value)) = parse_field(key, rest) {
                // A repeated key keeps its last value, as upstream's map did.
                fields.insert(name, value);
            }
        }
        if fields.is_empty() {
            return Err("no fields".to_string());
        }
        Ok(Meminfo { fields })
    }
}

/// One line's metric-name suffix and value, or `None` for a malformed line.
fn parse_field(key: &str, rest: &str) -> Option<(String, f64)> {
    let mut words = rest.split_ascii_whitespace();
    let value = number(words.next()?)?;
    let (suffix, value) = match (words.next(), words.next()) {
        (None, _) => ("", value),
        (Some("kB"), None) => ("_bytes", value * 1024.0),
        _ => return None,
    };
    let mangled = mangle_key(key);
    let mut name = String::with_capacity(mangled.len() + suffix.len());
    name.push_str(&mangled);
    name.push_str(suffix);
    is_name_fragment(&name).then_some((name, value))
}

impl Collector for MeminfoCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("meminfo");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let meminfo = Meminfo::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        for (name, value) in meminfo.fields {
            // Upstream's rule, kept so a future `*_total` field is typed alike.
            let metric_type = if name.ends_with("_total") {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            let described = self.descriptions.get_or_describe(&name, || {
                Some((
                    format!("node_memory_{name}"),
                    format!("Memory information field {name}."),
                ))
            });
            if let Some((family, help)) = described {
                out.single(family, help, metric_type, value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, run};
    use crate::metrics::Family;

    /// This machine's `/proc/meminfo` (Linux 6.18, x86_64).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/meminfo");

    /// A 2.6.18 i686 PAE kernel: no MemAvailable, no Active(anon) split, no
    /// SReclaimable, HighTotal/LowTotal present.
    const LINUX_2_6_18: &str = "\
MemTotal:      2059620 kB
MemFree:        193448 kB
Buffers:        118908 kB
Cached:        1370088 kB
SwapCached:          0 kB
Active:        1125236 kB
Inactive:       602612 kB
HighTotal:     1179584 kB
HighFree:         4804 kB
LowTotal:       880036 kB
LowFree:        188644 kB
SwapTotal:     4192956 kB
SwapFree:      4192956 kB
Dirty:             260 kB
Writeback:           0 kB
AnonPages:      238720 kB
Mapped:          43660 kB
Slab:           112652 kB
PageTables:       4244 kB
NFS_Unstable:        0 kB
Bounce:              0 kB
CommitLimit:   5222764 kB
Committed_AS:   575344 kB
VmallocTotal:   114680 kB
VmallocUsed:      5488 kB
VmallocChunk:   108848 kB
HugePages_Total:     0
HugePages_Free:      0
HugePages_Rsvd:      0
Hugepagesize:     2048 kB
";

    /// A 6.x arm64 kernel with fields this machine's lacks (ShadowCallStack,
    /// HardwareCorrupted, CmaTotal/CmaFree, Unaccepted) and hugepages in use.
    const LINUX_6_ARM64: &str = "\
MemTotal:       65536000 kB
MemFree:         1024000 kB
MemAvailable:   40960000 kB
Buffers:          204800 kB
Cached:         30720000 kB
SwapCached:         2048 kB
Active:         20480000 kB
Inactive:       30720000 kB
Active(anon):    8192000 kB
Inactive(anon):  4096000 kB
Active(file):   12288000 kB
Inactive(file): 26624000 kB
Unevictable:         512 kB
Mlocked:             512 kB
SwapTotal:       8388604 kB
SwapFree:        8000000 kB
Zswap:             81920 kB
Zswapped:         327680 kB
Dirty:              1024 kB
Writeback:             0 kB
AnonPages:      12288000 kB
Mapped:          1024000 kB
Shmem:            102400 kB
KReclaimable:    2048000 kB
Slab:            3072000 kB
SReclaimable:    2048000 kB
SUnreclaim:      1024000 kB
KernelStack:       32768 kB
ShadowCallStack:    8192 kB
PageTables:        65536 kB
SecPageTables:      4096 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:    41156604 kB
Committed_AS:   30000000 kB
VmallocTotal:   133141626880 kB
VmallocUsed:      131072 kB
VmallocChunk:          0 kB
Percpu:            16384 kB
HardwareCorrupted:     0 kB
AnonHugePages:   4194304 kB
ShmemHugePages:        0 kB
ShmemPmdMapped:        0 kB
FileHugePages:     20480 kB
FilePmdMapped:         0 kB
CmaTotal:          65536 kB
CmaFree:           32768 kB
Unaccepted:            0 kB
HugePages_Total:     512
HugePages_Free:      500
HugePages_Rsvd:        2
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:         1048576 kB
";

    fn field(meminfo: &Meminfo, name: &str) -> f64 {
        *meminfo
            .fields
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from {:?}", meminfo.fields.keys()))
    }

    #[test]
    fn every_line_of_this_machine_becomes_a_field() {
        let meminfo = Meminfo::parse(CURRENT).unwrap();
        assert_eq!(meminfo.fields.len(), CURRENT.lines().count());
        assert!(field(&meminfo, "MemTotal_bytes") > 0.0);
        for name in [
            "Active_anon_bytes",
            "Inactive_file_bytes",
            "Committed_AS_bytes",
            "NFS_Unstable_bytes",
            "HugePages_Total",
            "HugePages_Free",
            "HugePages_Rsvd",
            "HugePages_Surp",
            "Hugepagesize_bytes",
        ] {
            field(&meminfo, name);
        }
    }

    #[test]
    fn kilobytes_become_bytes_and_counts_stay_counts() {
        let meminfo = Meminfo::parse(LINUX_6_ARM64).unwrap();
        assert_eq!(field(&meminfo, "MemTotal_bytes"), 65536000.0 * 1024.0);
        assert_eq!(field(&meminfo, "Active_anon_bytes"), 8192000.0 * 1024.0);
        assert_eq!(field(&meminfo, "HugePages_Total"), 512.0);
        assert_eq!(field(&meminfo, "HugePages_Rsvd"), 2.0);
        assert_eq!(field(&meminfo, "Hugepagesize_bytes"), 2097152.0);
        assert!(!meminfo.fields.contains_key("HugePages_Total_bytes"));
    }

    #[test]
    fn newer_kernel_fields_are_exported_generically() {
        let meminfo = Meminfo::parse(LINUX_6_ARM64).unwrap();
        assert_eq!(meminfo.fields.len(), LINUX_6_ARM64.lines().count());
        for name in [
            "Zswap_bytes",
            "Zswapped_bytes",
            "SecPageTables_bytes",
            "ShadowCallStack_bytes",
            "FileHugePages_bytes",
            "Unaccepted_bytes",
            "CmaTotal_bytes",
            "HardwareCorrupted_bytes",
            "Hugetlb_bytes",
        ] {
            field(&meminfo, name);
        }
        assert_eq!(field(&meminfo, "Zswapped_bytes"), 327680.0 * 1024.0);
    }

    #[test]
    fn old_kernel_has_fewer_fields() {
        let meminfo = Meminfo::parse(LINUX_2_6_18).unwrap();
        assert_eq!(meminfo.fields.len(), 30);
        assert_eq!(field(&meminfo, "HighTotal_bytes"), 1179584.0 * 1024.0);
        assert!(!meminfo.fields.contains_key("MemAvailable_bytes"));
        assert!(!meminfo.fields.contains_key("HugePages_Surp"));
    }

    #[test]
    fn values_beyond_u32_and_u64() {
        let meminfo = Meminfo::parse(LINUX_6_ARM64).unwrap();
        assert_eq!(
            field(&meminfo, "VmallocTotal_bytes"),
            133141626880.0 * 1024.0
        );
        let huge = Meminfo::parse("VmallocTotal:   34359738367 kB\nX: 18446744073709551615\n");
        let huge = huge.unwrap();
        assert_eq!(field(&huge, "VmallocTotal_bytes"), 35184372087808.0);
        assert_eq!(field(&huge, "X"), 18446744073709551615.0);
    }

    #[test]
    fn parentheses_are_mangled_as_upstream() {
        assert_eq!(mangle_key("Active(anon)"), "Active_anon");
        assert_eq!(mangle_key("Inactive(file)"), "Inactive_file");
        assert_eq!(mangle_key("MemTotal"), "MemTotal");
        // The greedy match spans from the first `(` to the last `)`.
        assert_eq!(mangle_key("A(b)c(d)"), "A_b)c(d");
        assert_eq!(mangle_key("Open(end"), "Open(end");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "\
MemTotal:       1000 kB
garbage
MemFree:        abc kB
Buffers:        10 MB
Cached:         10 kB trailing
: 5 kB
Two Words:      7 kB
Odd(paren:      8 kB
\0\0\0\0
Slab:           2 kB
";
        let meminfo = Meminfo::parse(text).unwrap();
        let names: Vec<&str> = meminfo.fields.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["MemTotal_bytes", "Slab_bytes"]);
    }

    #[test]
    fn truncated_file_keeps_complete_lines() {
        let meminfo = Meminfo::parse("MemTotal:       1000 kB\nMemFree:     ").unwrap();
        assert_eq!(meminfo.fields.len(), 1);
        assert_eq!(field(&meminfo, "MemTotal_bytes"), 1024000.0);
    }

    #[test]
    fn empty_or_all_garbage_is_an_error() {
        assert!(Meminfo::parse("").is_err());
        assert!(Meminfo::parse("\n\n").is_err());
        assert!(Meminfo::parse("not meminfo at all\n\u{fffd}\u{fffd}").is_err());
    }

    #[test]
    fn repeated_key_keeps_the_last_value() {
        let meminfo = Meminfo::parse("Cached: 1 kB\nCached: 2 kB\n").unwrap();
        assert_eq!(field(&meminfo, "Cached_bytes"), 2048.0);
    }

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(
            &MeminfoCollector {
                descriptions: Descriptions::default(),
            },
            &host_with_procfs(procfs),
        )
    }

    #[test]
    fn collector_emits_upstream_names_help_and_types() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        assert_eq!(families.len(), CURRENT.lines().count());
        let active_anon = families
            .iter()
            .find(|f| f.name() == "node_memory_Active_anon_bytes")
            .unwrap();
        assert_eq!(
            active_anon.help(),
            "Memory information field Active_anon_bytes."
        );
        assert_eq!(active_anon.metric_type(), MetricType::Gauge);
        assert!(families
            .iter()
            .any(|f| f.name() == "node_memory_HugePages_Total"));
        assert!(families
            .iter()
            .all(|f| f.metric_type() == MetricType::Gauge && f.label_names().is_empty()));
    }

    #[test]
    fn total_suffix_makes_a_counter_as_upstream() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("meminfo"),
            "HugePages_Total:       4\nFuture_total:          7\n",
        )
        .unwrap();
        let (families, result) = collect(dir.path());
        result.unwrap();
        let types: Vec<(&str, MetricType)> = families
            .iter()
            .map(|f| (f.name(), f.metric_type()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("node_memory_Future_total", MetricType::Counter),
                ("node_memory_HugePages_Total", MetricType::Gauge),
            ]
        );
    }

    #[test]
    fn missing_or_empty_file_fails_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = collect(dir.path());
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("meminfo"));
        std::fs::write(dir.path().join("meminfo"), "").unwrap();
        assert!(collect(dir.path()).1.is_err());
    }
}
