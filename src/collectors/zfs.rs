//! `zfs`: OpenZFS statistics from the kstat files under
//! `<procfs>/spl/kstat/zfs`, as node_exporter reports them.
//!
//! Module-wide "named" kstats (`arcstats`, `zil`, ...) become untyped
//! `node_zfs_<subsystem>_<name>` metrics whose help is the kstat's sysctl
//! name. Per pool, the `io` kstat of older releases becomes
//! `node_zfs_zpool_<field>{zpool}`, each `objset-*` kstat (one per dataset)
//! becomes `node_zfs_zpool_dataset_<name>{zpool,dataset}`, and `state`
//! becomes `node_zfs_zpool_state{zpool,state}` over the seven pool states.
//!
//! A kstat file of a subsystem the loaded module lacks is skipped; no
//! `spl/kstat/zfs` at all means ZFS is not loaded.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{is_name_fragment, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "zfs",
    default_enabled: true,
    reads: "/proc/spl/kstat/zfs/{arcstats,abdstats,dbufstats,dmu_tx,dnodestats,fm,vdev_cache_stats,vdev_mirror_stats,xuio_stats,zfetchstats,zil}, /proc/spl/kstat/zfs/<pool>/{io,objset-*,state}",
    flags: None,
    build: plain::<ZfsCollector>,
};

/// The metric subsystem of each module-wide kstat file, as node_exporter
/// names them.
const SUBSYSTEMS: &[(&str, &str)] = &[
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

/// The pool states `node_zfs_zpool_state` always reports, one of them 1.
const POOL_STATES: &[&str] = &[
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

/// kstat data types (`KSTAT_DATA_*`) whose values are exported.
const KSTAT_DATA_INT64: &str = "3";
const KSTAT_DATA_UINT64: &str = "4";

/// Reports `node_zfs_*`.
#[derive(Default)]
struct ZfsCollector;

/// One data row of a named kstat file: `name type data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KstatRow<'a> {
    /// The statistic's name.
    pub name: &'a str,
    /// The `KSTAT_DATA_*` type number, as written.
    pub data_type: &'a str,
    /// The rest of the line from the data column on (a string kstat such as
    /// `dataset_name` may contain spaces).
    pub data: &'a str,
}

impl KstatRow<'_> {
    /// The first word of the data column.
    fn first_word(&self) -> &str {
        self.data.split_whitespace().next().unwrap_or("")
    }
}

/// Parses a named kstat file: a kstat header line, the `name type data`
/// column header, then one row per statistic. Rows before the column header
/// and rows of fewer than three columns are skipped.
pub fn parse_kstat_rows(text: &str) -> Result<Vec<KstatRow<'_>>, String> {
    let mut rows = Vec::new();
    let mut in_data = false;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !in_data {
            in_data = fields == ["name", "type", "data"];
            continue;
        }
        if fields.len() < 3 {
            continue;
        }
        let data_start = field_start(line, 2).unwrap_or(line.len());
        rows.push(KstatRow {
            name: fields[0],
            data_type: fields[1],
            data: line[data_start..].trim_end(),
        });
    }
    if !in_data {
        return Err("no \"name type data\" header".to_string());
    }
    Ok(rows)
}

/// The byte offset of the `index`th whitespace-separated field of `line`.
fn field_start(line: &str, index: usize) -> Option<usize> {
    let mut seen = 0;
    let mut in_field = false;
    for (offset, c) in line.char_indices() {
        if c.is_whitespace() {
            in_field = false;
        } else if !in_field {
            if seen == index {
                return Some(offset);
            }
            seen += 1;
            in_field = true;
        }
    }
    None
}

/// The exported statistics of a module-wide kstat file: 64-bit signed and
/// unsigned rows; other types are skipped.
pub fn parse_named_values(text: &str) -> Result<Vec<(&str, f64)>, String> {
    let mut values = Vec::new();
    for row in parse_kstat_rows(text)? {
        let word = row.first_word();
        let value = match row.data_type {
            KSTAT_DATA_UINT64 => word
                .parse::<u64>()
                .map(|v| v as f64)
                .map_err(|_| format!("invalid unsigned integer {word:?} for {}", row.name))?,
            KSTAT_DATA_INT64 => word
                .parse::<i64>()
                .map(|v| v as f64)
                .map_err(|_| format!("invalid signed integer {word:?} for {}", row.name))?,
            _ => continue,
        };
        values.push((row.name, value));
    }
    Ok(values)
}

/// One dataset's `objset-*` kstat.
#[derive(Debug, Clone, PartialEq)]
pub struct Objset<'a> {
    /// The dataset's name (`dataset_name`), empty if the file has none.
    pub dataset: &'a str,
    /// Its unsigned statistics.
    pub values: Vec<(&'a str, f64)>,
}

impl<'a> Objset<'a> {
    /// Parses an `objset-0x<id>` kstat file.
    pub fn parse(text: &'a str) -> Result<Objset<'a>, String> {
        let mut objset = Objset {
            dataset: "",
            values: Vec::new(),
        };
        for row in parse_kstat_rows(text)? {
            if row.name == "dataset_name" {
                objset.dataset = row.data;
            } else if row.data_type == KSTAT_DATA_UINT64 {
                let word = row.first_word();
                let value = word
                    .parse::<u64>()
                    .map_err(|_| format!("invalid unsigned integer {word:?} for {}", row.name))?;
                objset.values.push((row.name, value as f64));
            }
        }
        Ok(objset)
    }
}

/// Parses a pool's `io` kstat (`KSTAT_TYPE_IO`, ZFS before 2.1): a kstat
/// header line, a row of field names starting with `nread`, and a row of
/// values. A file without the field-name row has no values.
pub fn parse_pool_io(text: &str) -> Result<Vec<(&str, f64)>, String> {
    let mut names: Option<Vec<&str>> = None;
    let mut values = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(names) = &names else {
            if fields.len() >= 12 && fields[0] == "nread" {
                names = Some(fields);
            }
            continue;
        };
        if fields.is_empty() {
            continue;
        }
        if fields.len() < names.len() {
            return Err(format!(
                "{} values for {} fields",
                fields.len(),
                names.len()
            ));
        }
        for (name, field) in names.iter().zip(&fields) {
            let value = field
                .parse::<u64>()
                .map_err(|_| format!("invalid integer {field:?} for {name}"))?;
            values.push((*name, value as f64));
        }
    }
    Ok(values)
}

/// The pool state named by a `state` kstat (`ONLINE`, `DEGRADED`, ...),
/// lower-cased: the first line of the file.
pub fn parse_pool_state(text: &str) -> String {
    text.lines().next().unwrap_or("").to_lowercase()
}

/// node_exporter's metric-name suffix for a kstat name: `-` becomes `_`.
/// `None` for a name that still is not a valid metric-name fragment.
fn metric_suffix(name: &str) -> Option<String> {
    let suffix = name.replace('-', "_");
    is_name_fragment(&suffix).then_some(suffix)
}

/// The pool a per-pool kstat file belongs to: its directory's name.
fn pool_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl ZfsCollector {
    fn update_subsystems(&self, base: &Path, out: &mut MetricSet) -> Result<(), CollectError> {
        for (subsystem, file) in SUBSYSTEMS {
            let path = base.join(file);
            let text = match read_text(&path) {
                Ok(text) => text,
                Err(e) => {
                    // Files come and go with module features and versions.
                    tracing::debug!(path = %path.display(), err = %e, "cannot read kstat");
                    continue;
                }
            };
            let values = parse_named_values(&text).map_err(|e| CollectError::parse(&path, e))?;
            for (name, value) in values {
                let Some(suffix) = metric_suffix(name) else {
                    continue;
                };
                out.family_named(
                    format!("node_{subsystem}_{suffix}"),
                    format!("kstat.zfs.misc.{file}.{name}"),
                    MetricType::Untyped,
                    &[] as &[&str],
                )
                .push::<&str>(&[], value);
            }
        }
        Ok(())
    }

    fn update_pools(&self, base: &Path, out: &mut MetricSet) -> Result<(), CollectError> {
        let pools = pool_dirs(base);
        for pool in &pools {
            let path = pool.join("io");
            let Some(text) = read_pool_file(&path)? else {
                continue;
            };
            let zpool = pool_name(&path);
            for (name, value) in parse_pool_io(&text).map_err(|e| CollectError::parse(&path, e))? {
                let Some(suffix) = metric_suffix(name) else {
                    continue;
                };
                out.family_named(
                    format!("node_zfs_zpool_{suffix}"),
                    format!("kstat.zfs.misc.io.{name}"),
                    MetricType::Untyped,
                    &["zpool"],
                )
                .push(&[&zpool], value);
            }
        }
        for pool in &pools {
            for path in objset_files(pool) {
                let Some(text) = read_pool_file(&path)? else {
                    continue;
                };
                let zpool = pool_name(&path);
                let objset = Objset::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
                for (name, value) in objset.values {
                    let Some(suffix) = metric_suffix(name) else {
                        continue;
                    };
                    out.family_named(
                        format!("node_zfs_zpool_dataset_{suffix}"),
                        format!("kstat.zfs.misc.objset.{name}"),
                        MetricType::Untyped,
                        &["zpool", "dataset"],
                    )
                    .push(&[zpool.as_str(), objset.dataset], value);
                }
            }
        }
        let states = out.family_named(
            "node_zfs_zpool_state",
            "kstat.zfs.misc.state",
            MetricType::Gauge,
            &["zpool", "state"],
        );
        for pool in &pools {
            let path = pool.join("state");
            let Some(text) = read_pool_file(&path)? else {
                continue;
            };
            let zpool = pool_name(&path);
            let actual = parse_pool_state(&text);
            for state in POOL_STATES {
                let active = if actual == *state { 1.0 } else { 0.0 };
                states.push(&[zpool.as_str(), state], active);
            }
        }
        Ok(())
    }
}

/// Every entry of the kstat directory that may be a pool's, in name order.
fn pool_dirs(base: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = match fs::read_dir(base) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    dirs
}

/// A pool's `objset-*` files, in name order.
fn objset_files(pool: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(pool) {
        Ok(entries) => entries
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("objset-"))
            .map(|entry| entry.path())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Reads a per-pool kstat file: `None` if it does not exist (not that kind
/// of entry, or a pool being exported); another error fails the scrape, as
/// node_exporter's does.
fn read_pool_file(path: &Path) -> Result<Option<String>, CollectError> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(CollectError::io(path, &e)),
    }
}

impl Collector for ZfsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let base = host.proc_path("spl/kstat/zfs");
        if let Err(e) = File::open(&base) {
            return Err(CollectError::no_data(format!(
                "ZFS statistics are not available: {}: {e}",
                base.display()
            )));
        }
        self.update_subsystems(&base, out)?;
        self.update_pools(&base, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};

    const ARCSTATS: &str = "13 1 0x01 147 39984 385195064762 1397842717104424\n\
name                            type data\n\
hits                            4    178707397\n\
misses                          4    51963445\n\
c_min                           4    1030914048\n\
memory_available_bytes          3    -5664982784\n\
arc_raw_size                    4    0\n";

    #[test]
    fn named_values_take_signed_and_unsigned_rows() {
        let values = parse_named_values(ARCSTATS).unwrap();
        assert_eq!(values[0], ("hits", 178707397.0));
        assert_eq!(values[3], ("memory_available_bytes", -5664982784.0));
        assert_eq!(values.len(), 5);
    }

    #[test]
    fn named_values_skip_other_types_and_short_rows() {
        let text = "5 1 0x01 3 0 1 2\nname type data\nstr 7 some text\nshort 4\nu32 2 5\nok 4 1\n";
        assert_eq!(parse_named_values(text).unwrap(), vec![("ok", 1.0)]);
    }

    #[test]
    fn named_values_reject_garbage_and_headerless_files() {
        assert!(parse_named_values("name type data\nhits 4 -1\n").is_err());
        assert!(parse_named_values("name type data\nhits 4 x\n").is_err());
        assert!(parse_named_values("name type data\nfree 3 9223372036854775808\n").is_err());
        assert!(parse_named_values("").is_err());
        assert!(parse_named_values("13 1 0x01 147 39984\nhits 4 1\n").is_err());
        // Cut right after the header: no rows, not an error.
        assert_eq!(
            parse_named_values("1 1 0x01\nname type data\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn objset_keeps_the_dataset_name_with_spaces() {
        let text = "49 1 0x01 7 2160 5781237208 18458718929891\n\
name                            type data\n\
dataset_name                    7    tank/my data\n\
writes                          4    12\n\
nwritten                        4    4096\n\
signed                          3    -1\n";
        let objset = Objset::parse(text).unwrap();
        assert_eq!(objset.dataset, "tank/my data");
        assert_eq!(objset.values, vec![("writes", 12.0), ("nwritten", 4096.0)]);
        assert!(Objset::parse("name type data\nwrites 4 1.5\n").is_err());
        assert!(Objset::parse("writes 4 1\n").is_err());
    }

    #[test]
    fn pool_io_pairs_field_names_with_values() {
        let text = "26 3 0x00 1 80 2145395155 197264148727866\n\
nread    nwritten reads    writes   wtime    wlentime wupdate  rtime    rlentime rupdate  wcnt     rcnt     \n\
1884160  3206144  22       132      7155162  104112268 25347777945280 6844453 8006400700 25347777945280 0        1        \n";
        let values = parse_pool_io(text).unwrap();
        assert_eq!(values.len(), 12);
        assert_eq!(values[0], ("nread", 1884160.0));
        assert_eq!(values[11], ("rcnt", 1.0));
        assert_eq!(parse_pool_io("").unwrap(), vec![]);
        let truncated = "nread nwritten reads writes wtime wlentime wupdate rtime rlentime rupdate wcnt rcnt\n1 2 3\n";
        assert!(parse_pool_io(truncated).is_err());
        let garbage = "nread nwritten reads writes wtime wlentime wupdate rtime rlentime rupdate wcnt rcnt\n1 2 3 4 5 6 7 8 9 10 11 x\n";
        assert!(parse_pool_io(garbage).is_err());
    }

    #[test]
    fn pool_state_is_the_lower_cased_first_line() {
        assert_eq!(parse_pool_state("ONLINE\n"), "online");
        assert_eq!(parse_pool_state("SUSPENDED\nextra\n"), "suspended");
        assert_eq!(parse_pool_state(""), "");
    }

    #[test]
    fn fixture_tree_reports_subsystems_pools_and_datasets() {
        let text = scrape_fixtures(&SPEC, &[]);
        for line in [
            "# HELP node_zfs_arc_hits kstat.zfs.misc.arcstats.hits",
            "# TYPE node_zfs_arc_hits untyped",
            "node_zfs_arc_hits 1.78707397e+08",
            "node_zfs_arc_memory_available_bytes -5.664982784e+09",
            "node_zfs_zil_zil_commit_count 14921",
            r#"node_zfs_zpool_nread{zpool="rpool"} 1.88416e+06"#,
            r#"node_zfs_zpool_dataset_nwritten{dataset="rpool/ROOT/ubuntu",zpool="rpool"} 2.51887104e+08"#,
            r#"node_zfs_zpool_dataset_reads{dataset="tank/media files",zpool="tank"} 7"#,
            "# TYPE node_zfs_zpool_state gauge",
            r#"node_zfs_zpool_state{state="online",zpool="rpool"} 1"#,
            r#"node_zfs_zpool_state{state="degraded",zpool="tank"} 1"#,
            r#"node_zfs_zpool_state{state="online",zpool="tank"} 0"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_eq!(text.matches("node_zfs_zpool_state{").count(), 14);
    }

    #[test]
    fn without_zfs_there_is_no_data() {
        let procfs = procfs_with(&[("stat", "")]);
        let host = host_with_procfs(procfs.path());
        let collector = ZfsCollector;
        let (families, result) = run(&collector, &host);
        assert!(families.is_empty());
        assert_eq!(
            result.unwrap_err().kind(),
            crate::collectors::ErrorKind::NoData
        );
    }

    #[test]
    fn a_broken_kstat_fails_the_collector() {
        let procfs = procfs_with(&[
            ("spl/kstat/zfs/arcstats", "name type data\nhits 4 many\n"),
            ("spl/kstat/zfs/rpool/state", "ONLINE\n"),
        ]);
        let host = host_with_procfs(procfs.path());
        let collector = ZfsCollector;
        let (_, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("arcstats"));
    }

    #[test]
    fn an_empty_kstat_directory_reports_nothing_but_succeeds() {
        let procfs = procfs_with(&[("spl/kstat/zfs/arcstats", "1 1 0x01\nname type data\n")]);
        let host = host_with_procfs(procfs.path());
        let collector = ZfsCollector;
        let (families, result) = run(&collector, &host);
        assert!(result.is_ok());
        assert!(families.is_empty());
    }
}
