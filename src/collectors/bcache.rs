//! `bcache`: statistics of every bcache cache set under
//! `<sysfs>/fs/bcache/<uuid>/`, its backing devices (`bdev*`) and cache
//! devices (`cache*`), as node_exporter reports them.
//!
//! bcache writes most sizes "humanized" by the kernel's `bch_hprint`
//! (`1.5M`); they are converted back as node_exporter does, including its
//! reading of the digit after the point as 1024ths of the unit divided by
//! ten (`1.5M` is 1 + 5/10.24 MiB). `priority_stats` is expensive for the
//! kernel to produce and is only read with `--collector.bcache.priorityStats`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "bcache",
    default_enabled: true,
    reads: "/sys/fs/bcache/<uuid>/{*,internal/*,bdev*/,cache*/}",
    flags: Some(Flags::augment_args),
    build,
};

/// `--collector.bcache.*` flags.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Expose expensive priority stats.
    #[arg(
        id = "collector.bcache.priorityStats",
        long = "collector.bcache.priorityStats"
    )]
    pub priority_stats: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(BcacheCollector {
        priority_stats: ctx.flags::<Flags>()?.priority_stats,
    }))
}

/// Reports `node_bcache_*`.
struct BcacheCollector {
    priority_stats: bool,
}

/// Converts a size written by the kernel's `bch_hprint` (`512`, `1.5M`,
/// `0.4k`) to bytes, as node_exporter does. A unit letter it does not know
/// makes the value 0.
pub fn dehumanize(text: &str) -> Result<u64, String> {
    // The unit is a character, not a byte: garbage may end in a multi-byte
    // one, which must not be cut in half.
    let Some(last) = text.chars().last() else {
        return Err("empty value".to_string());
    };
    if last <= '9' {
        let value: f64 = text
            .parse()
            .map_err(|_| format!("invalid number {text:?}"))?;
        return Ok(value as u64);
    }
    let multiplier = match last {
        'k' => 1u64 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        'T' => 1 << 40,
        'P' => 1 << 50,
        'E' => 1 << 60,
        _ => 0,
    } as f64;
    // Z and Y do not fit 64 bits; f64 still holds them.
    let multiplier = match last {
        'Z' => 2f64.powi(70),
        'Y' => 2f64.powi(80),
        _ => multiplier,
    };
    let mantissa = parse_pseudo_float(&text[..text.len() - last.len_utf8()])?;
    Ok((mantissa * multiplier) as u64)
}

/// `bch_hprint`'s `integer.tenth` mantissa, the tenth read as node_exporter
/// reads it: the digits after the point divided by 10.24.
fn parse_pseudo_float(text: &str) -> Result<f64, String> {
    let mut parts = text.split('.');
    let integer: f64 = parts
        .next()
        .unwrap_or("")
        .parse()
        .map_err(|_| format!("invalid number {text:?}"))?;
    match parts.next() {
        None => Ok(integer),
        Some(fraction) => {
            let fraction: f64 = fraction
                .parse()
                .map_err(|_| format!("invalid number {text:?}"))?;
            Ok(integer + fraction / 10.24)
        }
    }
}

/// [`dehumanize`] for values that may be negative (`-1.2k`).
pub fn dehumanize_signed(text: &str) -> Result<i64, String> {
    match text.strip_prefix('-') {
        Some(magnitude) => Ok((dehumanize(magnitude)? as i64).wrapping_neg()),
        None => Ok(dehumanize(text)? as i64),
    }
}

/// The writeback controller of a backing device (`writeback_rate_debug`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WritebackRateDebug {
    /// Current writeback rate, bytes per second.
    pub rate: u64,
    /// Dirty data, bytes.
    pub dirty: u64,
    /// Dirty data target, bytes.
    pub target: u64,
    /// Proportional term of the controller.
    pub proportional: i64,
    /// Integral term of the controller.
    pub integral: i64,
    /// Last change of the rate, bytes per second.
    pub change: i64,
    /// Time to the next writeback, milliseconds.
    pub next_io_ms: i64,
}

impl WritebackRateDebug {
    /// Parses `writeback_rate_debug`: `key:<tabs>value` lines, each value
    /// the last word of its line.
    pub fn parse(text: &str) -> Result<WritebackRateDebug, String> {
        let mut stats = WritebackRateDebug::default();
        for line in text.lines() {
            let value = line.split_whitespace().last().unwrap_or("");
            let per_second = value.strip_suffix("/sec").unwrap_or(value);
            if line.starts_with("rate:") {
                stats.rate = dehumanize(per_second)?;
            } else if line.starts_with("dirty:") {
                stats.dirty = dehumanize(value)?;
            } else if line.starts_with("target:") {
                stats.target = dehumanize(value)?;
            } else if line.starts_with("proportional:") {
                stats.proportional = dehumanize_signed(value)?;
            } else if line.starts_with("integral:") {
                stats.integral = dehumanize_signed(value)?;
            } else if line.starts_with("change:") {
                stats.change = dehumanize_signed(per_second)?;
            } else if line.starts_with("next io:") {
                let ms = value.strip_suffix("ms").unwrap_or(value);
                stats.next_io_ms = ms
                    .parse()
                    .map_err(|_| format!("invalid next io {value:?}"))?;
            }
        }
        Ok(stats)
    }
}

/// The share of a cache device that is unused and that holds metadata, in
/// percent (`priority_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriorityStats {
    /// `Unused:`.
    pub unused_percent: u64,
    /// `Metadata:`.
    pub metadata_percent: u64,
}

impl PriorityStats {
    /// Parses `priority_stats`; lines other than `Unused:` and `Metadata:`
    /// are skipped.
    pub fn parse(text: &str) -> Result<PriorityStats, String> {
        let percent = |line: &str| {
            let value = line.split_whitespace().last().unwrap_or("");
            value
                .strip_suffix('%')
                .unwrap_or(value)
                .parse::<u64>()
                .map_err(|_| format!("invalid percentage in {line:?}"))
        };
        let mut stats = PriorityStats::default();
        for line in text.lines() {
            if line.starts_with("Unused:") {
                stats.unused_percent = percent(line)?;
            } else if line.starts_with("Metadata:") {
                stats.metadata_percent = percent(line)?;
            }
        }
        Ok(stats)
    }
}

/// Totals of a backing device (`stats_total/`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodStats {
    /// `bypassed`, bytes.
    pub bypassed: u64,
    /// `cache_hits`.
    pub cache_hits: u64,
    /// `cache_misses`.
    pub cache_misses: u64,
    /// `cache_bypass_hits`.
    pub cache_bypass_hits: u64,
    /// `cache_bypass_misses`.
    pub cache_bypass_misses: u64,
    /// `cache_miss_collisions`.
    pub cache_miss_collisions: u64,
    /// `cache_readaheads`; 0 where the kernel (5.13 and later) has none.
    pub cache_readaheads: u64,
}

/// A backing device of a cache set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackingDevice {
    /// Its directory's name, `bdev0` and so on.
    pub name: String,
    /// `dirty_data`, bytes.
    pub dirty_data: u64,
    /// `writeback_rate_debug`.
    pub writeback: WritebackRateDebug,
    /// `stats_total/`.
    pub total: PeriodStats,
}

/// A cache device of a cache set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheDevice {
    /// Its directory's name, `cache0` and so on.
    pub name: String,
    /// `io_errors` (decayed).
    pub io_errors: u64,
    /// `metadata_written`, bytes.
    pub metadata_written: u64,
    /// `written`, bytes.
    pub written: u64,
    /// `priority_stats`, when asked for.
    pub priority: Option<PriorityStats>,
}

/// One cache set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSet {
    /// The set's UUID (its directory's name).
    pub uuid: String,
    /// The set's own attributes and those under `internal/`, by file name.
    pub values: Vec<(&'static str, u64)>,
    /// Its backing devices.
    pub backing: Vec<BackingDevice>,
    /// Its cache devices.
    pub caches: Vec<CacheDevice>,
}

impl CacheSet {
    fn value(&self, file: &str) -> u64 {
        self.values
            .iter()
            .find(|(name, _)| *name == file)
            .map_or(0, |(_, value)| *value)
    }
}

/// The set-wide attributes read, relative to the set's directory.
const SET_FILES: &[&str] = &[
    "average_key_size",
    "btree_cache_size",
    "cache_available_percent",
    "congested",
    "root_usage_percent",
    "tree_depth",
    "internal/active_journal_entries",
    "internal/btree_nodes",
    "internal/btree_read_average_duration_us",
    "internal/cache_read_races",
];

/// Reads a humanized sysfs value. Missing files are errors, as in
/// node_exporter, except where `optional`.
fn read_value(path: &Path) -> Result<u64, CollectError> {
    let text = read_text(path).map_err(|e| CollectError::io(path, &e))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    dehumanize(text).map_err(|e| CollectError::parse(path, e))
}

/// The names in `dir` that start with `prefix` followed by a digit, sorted.
fn numbered_entries(dir: &Path, prefix: &str) -> Result<Vec<String>, CollectError> {
    let entries = fs::read_dir(dir).map_err(|e| CollectError::io(dir, &e))?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.bytes().next())
                .is_some_and(|b| b.is_ascii_digit())
        })
        .collect();
    names.sort();
    Ok(names)
}

fn read_backing_device(dir: &Path, name: String) -> Result<BackingDevice, CollectError> {
    let debug_path = dir.join("writeback_rate_debug");
    let debug = read_text(&debug_path).map_err(|e| CollectError::io(&debug_path, &e))?;
    let writeback =
        WritebackRateDebug::parse(&debug).map_err(|e| CollectError::parse(&debug_path, e))?;
    let totals = dir.join("stats_total");
    let readaheads = totals.join("cache_readaheads");
    let cache_readaheads = match read_value(&readaheads) {
        // Linux 5.13 removed the readahead counter.
        Err(_) if !readaheads.exists() => 0,
        other => other?,
    };
    Ok(BackingDevice {
        dirty_data: read_value(&dir.join("dirty_data"))?,
        writeback,
        total: PeriodStats {
            bypassed: read_value(&totals.join("bypassed"))?,
            cache_hits: read_value(&totals.join("cache_hits"))?,
            cache_misses: read_value(&totals.join("cache_misses"))?,
            cache_bypass_hits: read_value(&totals.join("cache_bypass_hits"))?,
            cache_bypass_misses: read_value(&totals.join("cache_bypass_misses"))?,
            cache_miss_collisions: read_value(&totals.join("cache_miss_collisions"))?,
            cache_readaheads,
        },
        name,
    })
}

fn read_cache_device(
    dir: &Path,
    name: String,
    priority_stats: bool,
) -> Result<CacheDevice, CollectError> {
    let priority = if priority_stats {
        let path = dir.join("priority_stats");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        Some(PriorityStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?)
    } else {
        None
    };
    Ok(CacheDevice {
        io_errors: read_value(&dir.join("io_errors"))?,
        metadata_written: read_value(&dir.join("metadata_written"))?,
        written: read_value(&dir.join("written"))?,
        priority,
        name,
    })
}

fn read_cache_set(
    dir: &Path,
    uuid: String,
    priority_stats: bool,
) -> Result<CacheSet, CollectError> {
    let mut values = Vec::with_capacity(SET_FILES.len());
    for file in SET_FILES {
        values.push((*file, read_value(&dir.join(file))?));
    }
    let mut backing = Vec::new();
    for name in numbered_entries(dir, "bdev")? {
        backing.push(read_backing_device(&dir.join(&name), name)?);
    }
    let mut caches = Vec::new();
    for name in numbered_entries(dir, "cache")? {
        caches.push(read_cache_device(&dir.join(&name), name, priority_stats)?);
    }
    Ok(CacheSet {
        uuid,
        values,
        backing,
        caches,
    })
}

impl BcacheCollector {
    /// The cache sets: entries of `<sysfs>/fs/bcache` with a `-` in their
    /// name (the UUIDs, not `register` and its kin).
    fn cache_sets(&self, host: &Host) -> Result<Vec<CacheSet>, CollectError> {
        let base = host.sys_path("fs/bcache");
        let mut names: Vec<String> = match fs::read_dir(&base) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains('-'))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CollectError::io(&base, &e)),
        };
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let dir: PathBuf = base.join(&name);
                read_cache_set(&dir, name, self.priority_stats)
            })
            .collect()
    }
}

/// Reads one value of a [`CacheSet`].
type SetValue = fn(&CacheSet) -> f64;

/// The set-wide families; each source is the value's function of the set.
const SET_METRICS: &[Desc<SetValue>] = &[
    Desc::gauge(
        "node_bcache_average_key_size_sectors",
        "Average data per key in the btree (sectors).",
        |s| s.value("average_key_size") as f64,
    ),
    Desc::gauge(
        "node_bcache_btree_cache_size_bytes",
        "Amount of memory currently used by the btree cache.",
        |s| s.value("btree_cache_size") as f64,
    ),
    Desc::gauge(
        "node_bcache_cache_available_percent",
        "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).",
        |s| s.value("cache_available_percent") as f64,
    ),
    Desc::gauge(
        "node_bcache_congested",
        "Congestion.",
        |s| s.value("congested") as f64,
    ),
    Desc::gauge(
        "node_bcache_root_usage_percent",
        "Percentage of the root btree node in use (tree depth increases if too high).",
        |s| s.value("root_usage_percent") as f64,
    ),
    Desc::gauge(
        "node_bcache_tree_depth",
        "Depth of the btree.",
        |s| s.value("tree_depth") as f64,
    ),
    Desc::gauge(
        "node_bcache_active_journal_entries",
        "Number of journal entries that are newer than the index.",
        |s| s.value("internal/active_journal_entries") as f64,
    ),
    Desc::gauge(
        "node_bcache_btree_nodes",
        "Total nodes in the btree.",
        |s| s.value("internal/btree_nodes") as f64,
    ),
    Desc::gauge(
        // The file is in microseconds; node_exporter scales it as if it
        // were nanoseconds, and so does this.
        "node_bcache_btree_read_average_duration_seconds",
        "Average btree read duration.",
        |s| s.value("internal/btree_read_average_duration_us") as f64 * 1e-9,
    ),
    Desc::counter(
        "node_bcache_cache_read_races_total",
        "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
        |s| s.value("internal/cache_read_races") as f64,
    ),
];

/// Reads one value of a [`BackingDevice`].
type BackingValue = fn(&BackingDevice) -> f64;

/// The backing-device families; each source is the value's function of the
/// device.
const BACKING_METRICS: &[Desc<BackingValue>] = &[
    Desc::gauge(
        "node_bcache_dirty_data_bytes",
        "Amount of dirty data for this backing device in the cache.",
        |b| b.dirty_data as f64,
    ),
    Desc::gauge(
        "node_bcache_dirty_target_bytes",
        "Current dirty data target threshold for this backing device in bytes.",
        |b| b.writeback.target as f64,
    ),
    Desc::gauge(
        "node_bcache_writeback_rate",
        "Current writeback rate for this backing device in bytes.",
        |b| b.writeback.rate as f64,
    ),
    Desc::gauge(
        "node_bcache_writeback_rate_proportional_term",
        "Current result of proportional controller, part of writeback rate",
        |b| b.writeback.proportional as f64,
    ),
    Desc::gauge(
        "node_bcache_writeback_rate_integral_term",
        "Current result of integral controller, part of writeback rate",
        |b| b.writeback.integral as f64,
    ),
    Desc::gauge(
        "node_bcache_writeback_change",
        "Last writeback rate change step for this backing device.",
        |b| b.writeback.change as f64,
    ),
    Desc::counter(
        "node_bcache_bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
        |b| b.total.bypassed as f64,
    ),
    Desc::counter(
        "node_bcache_cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
        |b| b.total.cache_hits as f64,
    ),
    Desc::counter(
        "node_bcache_cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
        |b| b.total.cache_misses as f64,
    ),
    Desc::counter(
        "node_bcache_cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
        |b| b.total.cache_bypass_hits as f64,
    ),
    Desc::counter(
        "node_bcache_cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
        |b| b.total.cache_bypass_misses as f64,
    ),
    Desc::counter(
        "node_bcache_cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
        |b| b.total.cache_miss_collisions as f64,
    ),
];

/// Reads one value of a [`CacheDevice`], if it has it.
type CacheValue = fn(&CacheDevice) -> Option<f64>;

/// The cache-device families; each source is the value's function of the
/// device, `None` where it has none.
const CACHE_METRICS: &[Desc<CacheValue>] = &[
    Desc::gauge(
        "node_bcache_io_errors",
        "Number of errors that have occurred, decayed by io_error_halflife.",
        |c| Some(c.io_errors as f64),
    ),
    Desc::counter(
        "node_bcache_metadata_written_bytes_total",
        "Sum of all non data writes (btree writes and all other metadata).",
        |c| Some(c.metadata_written as f64),
    ),
    Desc::counter(
        "node_bcache_written_bytes_total",
        "Sum of all data that has been written to the cache.",
        |c| Some(c.written as f64),
    ),
    Desc::gauge(
        "node_bcache_priority_stats_unused_percent",
        "The percentage of the cache that doesn't contain any data.",
        |c| c.priority.map(|p| p.unused_percent as f64),
    ),
    Desc::gauge(
        "node_bcache_priority_stats_metadata_percent",
        "Bcache's metadata overhead.",
        |c| c.priority.map(|p| p.metadata_percent as f64),
    ),
];

fn emit(out: &mut MetricSet, sets: &[CacheSet]) {
    for metric in SET_METRICS {
        let family = metric.family(out, &["uuid"]);
        for set in sets {
            family.push(&[&set.uuid], (metric.source)(set));
        }
    }
    for metric in BACKING_METRICS {
        let family = metric.family(out, &["uuid", "backing_device"]);
        for set in sets {
            for device in &set.backing {
                family.push(&[&set.uuid, &device.name], (metric.source)(device));
            }
        }
    }
    // Reported only where counted: node_exporter leaves out zero, which is
    // also what kernels without the counter amount to.
    let readaheads = out.family(
        "node_bcache_cache_readaheads_total",
        "Count of times readahead occurred.",
        MetricType::Counter,
        &["uuid", "backing_device"],
    );
    for set in sets {
        for device in set.backing.iter().filter(|d| d.total.cache_readaheads != 0) {
            readaheads.push(
                &[&set.uuid, &device.name],
                device.total.cache_readaheads as f64,
            );
        }
    }
    for metric in CACHE_METRICS {
        let family = metric.family(out, &["uuid", "cache_device"]);
        for set in sets {
            for device in &set.caches {
                if let Some(value) = (metric.source)(device) {
                    family.push(&[&set.uuid, &device.name], value);
                }
            }
        }
    }
}

impl Collector for BcacheCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let sets = self.cache_sets(host)?;
        emit(out, &sets);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{parse_args, run, scrape_fixtures, write_files};

    #[test]
    fn dehumanize_reads_bch_hprint_output_as_node_exporter_does() {
        assert_eq!(dehumanize("542"), Ok(542));
        assert_eq!(dehumanize("0"), Ok(0));
        assert_eq!(dehumanize("1.5M"), Ok(1_560_576));
        assert_eq!(dehumanize("1.5G"), Ok(1_598_029_824));
        assert_eq!(dehumanize("0.4k"), Ok(400));
        assert_eq!(dehumanize("15k"), Ok(15_360));
        assert_eq!(dehumanize("2.9T"), Ok(3_165_390_897_152));
        // A unit letter bcache never writes counts as zero.
        assert_eq!(dehumanize("3x"), Ok(0));
        for garbage in ["", "k", "1.M", "abc", "1..k", "-", "\u{19}wn\u{fffd}"] {
            assert!(dehumanize(garbage).is_err(), "{garbage:?}");
        }
        // A multi-byte unit is an unknown one, not a panic.
        assert_eq!(dehumanize("1\u{fffd}"), Ok(0));
    }

    #[test]
    fn signed_values_keep_their_sign() {
        assert_eq!(dehumanize_signed("-1.2k"), Ok(-1224));
        assert_eq!(dehumanize_signed("27.6M"), Ok(28_925_952));
        assert!(dehumanize_signed("-x").is_err());
    }

    #[test]
    fn writeback_rate_debug_of_current_kernels() {
        let text = "rate:\t\t1.1M/sec\ndirty:\t\t20.4G\ntarget:\t\t20.4G\nproportional:\t427.5k\nintegral:\t-1.7k\nchange:\t\t-263.2k/sec\nnext io:\t-1ms\n";
        let debug = WritebackRateDebug::parse(text).unwrap();
        assert_eq!(debug.rate, 1_150_976);
        assert_eq!(debug.target, 21_894_266_880);
        assert_eq!(debug.proportional, 437_748);
        assert_eq!(debug.integral, -1_724);
        assert_eq!(debug.change, -269_512);
        assert_eq!(debug.next_io_ms, -1);
        assert_eq!(
            WritebackRateDebug::parse("").unwrap(),
            WritebackRateDebug::default()
        );
        assert!(WritebackRateDebug::parse("rate:\n").is_err());
        assert!(WritebackRateDebug::parse("next io:\tsoonms\n").is_err());
    }

    #[test]
    fn priority_stats_take_unused_and_metadata() {
        let text = "Unused:\t\t99%\nClean:\t\t0%\nDirty:\t\t0%\nMetadata:\t0%\nAverage:\t0\nSectors per Q:\t0\nQuantiles:\t[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0]\n";
        assert_eq!(
            PriorityStats::parse(text).unwrap(),
            PriorityStats {
                unused_percent: 99,
                metadata_percent: 0
            }
        );
        assert!(PriorityStats::parse("Unused:\tmost\n").is_err());
    }

    #[test]
    fn flag_defaults_to_off() {
        assert!(
            !parse_args(&[])
                .unwrap()
                .collector_flags::<Flags>()
                .priority_stats
        );
        let on = parse_args(&["--collector.bcache.priorityStats"]).unwrap();
        assert!(on.collector_flags::<Flags>().priority_stats);
    }

    #[test]
    fn fixture_tree_reports_set_backing_and_cache_devices() {
        let text = scrape_fixtures(&SPEC, &["--collector.bcache.priorityStats"]);
        let uuid = "deaddd54-c735-46d5-868e-f331c5fd7c74";
        for line in [
            format!(r#"node_bcache_average_key_size_sectors{{uuid="{uuid}"}} 12588"#),
            format!(r#"node_bcache_btree_cache_size_bytes{{uuid="{uuid}"}} 4.0357888e+07"#),
            format!(
                r#"node_bcache_btree_read_average_duration_seconds{{uuid="{uuid}"}} 1.467e-05"#
            ),
            format!(r#"node_bcache_cache_available_percent{{uuid="{uuid}"}} 97"#),
            format!(r#"node_bcache_tree_depth{{uuid="{uuid}"}} 1"#),
            format!(r#"node_bcache_btree_nodes{{uuid="{uuid}"}} 16"#),
            format!(
                r#"node_bcache_bypassed_bytes_total{{backing_device="bdev0",uuid="{uuid}"}} 7.386169344e+09"#
            ),
            format!(r#"node_bcache_cache_hits_total{{backing_device="bdev0",uuid="{uuid}"}} 1287"#),
            format!(
                r#"node_bcache_dirty_data_bytes{{backing_device="bdev0",uuid="{uuid}"}} 1.283457024e+09"#
            ),
            format!(
                r#"node_bcache_dirty_target_bytes{{backing_device="bdev0",uuid="{uuid}"}} 2.179072e+07"#
            ),
            format!(
                r#"node_bcache_writeback_rate{{backing_device="bdev0",uuid="{uuid}"}} 1.150976e+06"#
            ),
            format!(
                r#"node_bcache_writeback_rate_proportional_term{{backing_device="bdev0",uuid="{uuid}"}} -3.555328e+06"#
            ),
            format!(
                r#"node_bcache_writeback_rate_integral_term{{backing_device="bdev0",uuid="{uuid}"}} 808960"#
            ),
            format!(
                r#"node_bcache_writeback_change{{backing_device="bdev0",uuid="{uuid}"}} -24776"#
            ),
            format!(
                r#"node_bcache_cache_readaheads_total{{backing_device="bdev1",uuid="{uuid}"}} 13"#
            ),
            format!(r#"node_bcache_io_errors{{cache_device="cache0",uuid="{uuid}"}} 0"#),
            format!(
                r#"node_bcache_metadata_written_bytes_total{{cache_device="cache0",uuid="{uuid}"}} 3.248128e+06"#
            ),
            format!(
                r#"node_bcache_written_bytes_total{{cache_device="cache0",uuid="{uuid}"}} 1.8882756608e+10"#
            ),
            format!(
                r#"node_bcache_priority_stats_unused_percent{{cache_device="cache0",uuid="{uuid}"}} 87"#
            ),
            format!(
                r#"node_bcache_priority_stats_metadata_percent{{cache_device="cache0",uuid="{uuid}"}} 1"#
            ),
        ] {
            assert!(text.contains(&line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains(r#"node_bcache_cache_readaheads_total{backing_device="bdev0""#));
        let without = scrape_fixtures(&SPEC, &[]);
        assert!(!without.contains("priority_stats"));
    }

    #[test]
    fn kernels_without_the_readahead_counter_are_read() {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("dirty_data", "0.0k\n"),
                (
                    "writeback_rate_debug",
                    "rate:\t\t4.0k/sec\nnext io:\t-1862ms\n",
                ),
            ],
        );
        let counters = [
            "bypassed",
            "cache_hits",
            "cache_misses",
            "cache_bypass_hits",
        ];
        let more = ["cache_bypass_misses", "cache_miss_collisions"];
        let files: Vec<(&str, &str)> = counters.iter().chain(&more).map(|f| (*f, "2\n")).collect();
        write_files(&dir.path().join("stats_total"), &files);
        let device = read_backing_device(dir.path(), "bdev0".into()).unwrap();
        assert_eq!(device.total.cache_readaheads, 0);
        assert_eq!(device.total.cache_miss_collisions, 2);
        assert_eq!(device.writeback.rate, 4096);
        std::fs::write(dir.path().join("stats_total/cache_readaheads"), "x\n").unwrap();
        assert!(read_backing_device(dir.path(), "bdev0".into()).is_err());
    }

    #[test]
    fn a_missing_attribute_fails_the_collector() {
        let sys = tempfile::tempdir().unwrap();
        write_files(
            &sys.path()
                .join("fs/bcache/deaddd54-c735-46d5-868e-f331c5fd7c74"),
            &[("average_key_size", "0\n")],
        );
        let host = Host::new("/nonexistent", sys.path(), "/nonexistent", "/nonexistent");
        let collector = BcacheCollector {
            priority_stats: false,
        };
        let (_, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("btree_cache_size"));
    }

    #[test]
    fn without_bcache_nothing_is_reported() {
        let sys = tempfile::tempdir().unwrap();
        write_files(
            &sys.path().join("fs/bcache"),
            &[("register", ""), ("register_quiet", "")],
        );
        let host = Host::new("/nonexistent", sys.path(), "/nonexistent", "/nonexistent");
        let collector = BcacheCollector {
            priority_stats: true,
        };
        let (families, result) = run(&collector, &host);
        result.unwrap();
        assert!(families.is_empty());
    }
}
