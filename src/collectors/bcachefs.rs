//! `bcachefs`: statistics of every mounted bcachefs filesystem from
//! `<sysfs>/fs/bcachefs/<uuid>/` (btree cache, compression, errors,
//! persistent counters, btree writes) and its member devices (`dev-<n>/`),
//! as node_exporter reports them.
//!
//! Sizes are written by the kernel in a human-readable form (`1.5G`); the
//! unit letters are powers of 1024.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{sanitize_name, Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "bcachefs",
    default_enabled: true,
    reads: "/sys/fs/bcachefs/<uuid>/{btree_cache_size,compression_stats,errors,counters/,btree_write_stats,dev-*/}",
    flags: None,
    build: plain::<BcachefsCollector>,
};

/// Reports `node_bcachefs_*`.
#[derive(Default)]
struct BcachefsCollector;

/// Parses a size such as `542k`, `1.5G` or `405` to bytes; the unit letter
/// (either case, `k` to `e`) is a power of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, multiplier) = match text.bytes().last() {
        None => return Err("empty size".to_string()),
        Some(unit) => match unit.to_ascii_lowercase() {
            b'k' => (&text[..text.len() - 1], 1u64 << 10),
            b'm' => (&text[..text.len() - 1], 1 << 20),
            b'g' => (&text[..text.len() - 1], 1 << 30),
            b't' => (&text[..text.len() - 1], 1 << 40),
            b'p' => (&text[..text.len() - 1], 1 << 50),
            b'e' => (&text[..text.len() - 1], 1 << 60),
            _ => (text, 1),
        },
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid size {text:?}"))?;
    Ok((value * multiplier as f64) as u64)
}

/// Compressed and uncompressed bytes of one algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compression {
    /// Bytes on disk.
    pub compressed: u64,
    /// Bytes before compression.
    pub uncompressed: u64,
}

/// Parses `compression_stats`: a header line, then
/// `algorithm: compressed uncompressed [average extent size]` rows.
pub fn parse_compression_stats(text: &str) -> Result<BTreeMap<String, Compression>, String> {
    let mut stats = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        if let Some(extent) = fields.get(3) {
            parse_size(extent)?;
        }
        stats.insert(
            fields[0].trim_end_matches(':').to_string(),
            Compression {
                compressed: parse_size(fields[1])?,
                uncompressed: parse_size(fields[2])?,
            },
        );
    }
    Ok(stats)
}

/// Parses `errors`: `error_type count [last time]` rows. Only the count is
/// used; the time, written as a date by current kernels, is not parsed.
pub fn parse_errors(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut errors = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 {
            continue;
        }
        let count = fields[1]
            .parse()
            .map_err(|_| format!("invalid count in {line:?}"))?;
        errors.insert(fields[0].to_string(), count);
    }
    Ok(errors)
}

/// Parses one file of `counters/`: `since mount: N` and
/// `since filesystem creation: N` lines (sizes for sector counters).
/// Returns the count since creation, 0 if only the one since mount is there.
pub fn parse_counter(text: &str) -> Result<u64, String> {
    let mut since_creation = None;
    let mut recognized = false;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("since mount:") {
            parse_size(value)?;
            recognized = true;
        } else if let Some(value) = line.strip_prefix("since filesystem creation:") {
            since_creation = Some(parse_size(value)?);
            recognized = true;
        }
    }
    if !recognized {
        return Err("counter file format not recognized".to_string());
    }
    Ok(since_creation.unwrap_or(0))
}

/// Writes of one btree write type: their number and average size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BtreeWrites {
    /// Number of writes.
    pub count: u64,
    /// Average size, bytes.
    pub average_bytes: u64,
}

/// Parses `btree_write_stats`: a header line, then `type: nr size` rows.
pub fn parse_btree_write_stats(text: &str) -> Result<BTreeMap<String, BtreeWrites>, String> {
    let mut stats = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let count = fields[1]
            .parse()
            .map_err(|_| format!("invalid count in {line:?}"))?;
        stats.insert(
            fields[0].trim_end_matches(':').to_string(),
            BtreeWrites {
                count,
                average_bytes: parse_size(fields[2])?,
            },
        );
    }
    Ok(stats)
}

/// Parses a device's `io_done`: `read:` and `write:` sections of
/// `data_type : bytes` rows. Returns (operation, data type, bytes).
pub fn parse_io_done(text: &str) -> Result<Vec<(String, String, u64)>, String> {
    let mut done = Vec::new();
    let mut operation = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "read:" || line == "write:" {
            operation = Some(line.trim_end_matches(':'));
            continue;
        }
        let Some(operation) = operation else {
            continue;
        };
        let Some((data_type, value)) = line.split_once(':') else {
            continue;
        };
        let value = value
            .trim()
            .parse()
            .map_err(|_| format!("invalid value in {line:?}"))?;
        done.push((operation.to_string(), data_type.trim().to_string(), value));
    }
    Ok(done)
}

/// Parses a device's `io_errors`: the counts of the "since filesystem
/// creation" section, by error type; the section since the last reset is
/// ignored.
pub fn parse_io_errors(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut errors = BTreeMap::new();
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with("IO errors since filesystem creation") {
            in_section = true;
            continue;
        }
        if line.starts_with("IO errors since ") {
            break;
        }
        if !in_section {
            continue;
        }
        let Some((kind, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value
            .trim()
            .parse()
            .map_err(|_| format!("invalid value in {line:?}"))?;
        errors.insert(kind.trim().to_string(), value);
    }
    Ok(errors)
}

/// One member device (`dev-<n>/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// `label`, possibly empty.
    pub label: String,
    /// `state` (`rw`, `ro`, ...), possibly empty.
    pub state: String,
    /// `bucket_size`, bytes.
    pub bucket_size: u64,
    /// `nbuckets`.
    pub buckets: u64,
    /// `durability`.
    pub durability: u64,
    /// `io_done`: (operation, data type, bytes).
    pub io_done: Vec<(String, String, u64)>,
    /// `io_errors` since creation, by type.
    pub io_errors: BTreeMap<String, u64>,
}

/// One filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filesystem {
    /// Its UUID (the directory's name).
    pub uuid: String,
    /// `btree_cache_size`, bytes.
    pub btree_cache_size: u64,
    /// `compression_stats`, by algorithm.
    pub compression: BTreeMap<String, Compression>,
    /// `errors`, by error type.
    pub errors: BTreeMap<String, u64>,
    /// `counters/`, by counter name: the count since creation.
    pub counters: BTreeMap<String, u64>,
    /// `btree_write_stats`, by write type.
    pub btree_writes: BTreeMap<String, BtreeWrites>,
    /// Member devices, by number.
    pub devices: BTreeMap<String, Device>,
}

/// A file's text, `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match read_text(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::io(path, &e)),
    }
}

/// Parses the file at `path` with `parse` if it exists, else gives the
/// empty value.
fn parse_optional<T: Default>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, CollectError> {
    match read_optional(path)? {
        Some(text) => parse(&text).map_err(|e| CollectError::parse(path, e)),
        None => Ok(T::default()),
    }
}

/// Entries of `dir` and whether each is a directory, in name order.
fn entries(dir: &Path) -> Result<Vec<(String, bool)>, CollectError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| CollectError::io(dir, &e))? {
        let entry = entry.map_err(|e| CollectError::io(dir, &e))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    Ok(names)
}

fn read_device(dir: &Path) -> Result<Device, CollectError> {
    let text = |file: &str| -> String {
        read_text(&dir.join(file))
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    };
    let number = |file: &str| {
        parse_optional(&dir.join(file), |t| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("invalid number {t:?}"))
        })
    };
    let bucket_size = match text("bucket_size") {
        size if size.is_empty() => 0,
        size => parse_size(&size).map_err(|e| CollectError::parse(&dir.join("bucket_size"), e))?,
    };
    Ok(Device {
        label: text("label"),
        state: text("state"),
        bucket_size,
        buckets: number("nbuckets")?,
        durability: number("durability")?,
        io_done: parse_optional(&dir.join("io_done"), parse_io_done)?,
        io_errors: parse_optional(&dir.join("io_errors"), parse_io_errors)?,
    })
}

fn read_filesystem(dir: &Path, uuid: String) -> Result<Filesystem, CollectError> {
    let mut counters = BTreeMap::new();
    let counters_dir = dir.join("counters");
    if counters_dir.exists() {
        for (name, is_dir) in entries(&counters_dir)? {
            if is_dir {
                continue;
            }
            let path = counters_dir.join(&name);
            let value = parse_optional(&path, parse_counter)?;
            counters.insert(name, value);
        }
    }
    let mut devices = BTreeMap::new();
    for (name, is_dir) in entries(dir)? {
        if let Some(number) = name.strip_prefix("dev-").filter(|_| is_dir) {
            devices.insert(number.to_string(), read_device(&dir.join(&name))?);
        }
    }
    Ok(Filesystem {
        btree_cache_size: parse_optional(&dir.join("btree_cache_size"), |t| match t.trim() {
            "" => Ok(0),
            size => parse_size(size),
        })?,
        compression: parse_optional(&dir.join("compression_stats"), parse_compression_stats)?,
        errors: parse_optional(&dir.join("errors"), parse_errors)?,
        counters,
        btree_writes: parse_optional(&dir.join("btree_write_stats"), parse_btree_write_stats)?,
        devices,
        uuid,
    })
}

impl Collector for BcachefsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let base = host.sys_path("fs/bcachefs");
        if !base.exists() {
            return Err(CollectError::no_data(format!(
                "{} does not exist",
                base.display()
            )));
        }
        let mut filesystems = Vec::new();
        for (name, is_dir) in entries(&base)? {
            if is_dir {
                let dir = base.join(&name);
                filesystems.push(read_filesystem(&dir, name)?);
            }
        }
        if filesystems.is_empty() {
            return Err(CollectError::no_data("no bcachefs filesystem mounted"));
        }
        emit(out, &filesystems);
        Ok(())
    }
}

fn emit(out: &mut MetricSet, filesystems: &[Filesystem]) {
    let info = out.family(
        "node_bcachefs_info",
        "Filesystem information.",
        MetricType::Gauge,
        &["uuid"],
    );
    for fs in filesystems {
        info.push(&[&fs.uuid], 1.0);
    }
    let cache = out.family(
        "node_bcachefs_btree_cache_size_bytes",
        "Btree cache memory usage in bytes.",
        MetricType::Gauge,
        &["uuid"],
    );
    for fs in filesystems {
        cache.push(&[&fs.uuid], fs.btree_cache_size as f64);
    }
    keyed(
        out,
        filesystems,
        Desc::gauge(
            "node_bcachefs_compression_compressed_bytes",
            "Compressed size by algorithm.",
            |fs| &fs.compression,
        ),
        "algorithm",
        |c| c.compressed,
    );
    keyed(
        out,
        filesystems,
        Desc::gauge(
            "node_bcachefs_compression_uncompressed_bytes",
            "Uncompressed size by algorithm.",
            |fs| &fs.compression,
        ),
        "algorithm",
        |c| c.uncompressed,
    );
    keyed(
        out,
        filesystems,
        Desc::counter(
            "node_bcachefs_errors_total",
            "Error count by error type.",
            |fs| &fs.errors,
        ),
        "error_type",
        |count| *count,
    );
    for fs in filesystems {
        for (name, value) in &fs.counters {
            out.family_named(
                format!("node_bcachefs_{}_total", sanitize_name(name)),
                format!("Bcachefs counter {name} since filesystem creation."),
                MetricType::Counter,
                &["uuid"],
            )
            .push(&[&fs.uuid], *value as f64);
        }
    }
    keyed(
        out,
        filesystems,
        Desc::counter(
            "node_bcachefs_btree_writes_total",
            "Number of btree writes by type.",
            |fs| &fs.btree_writes,
        ),
        "type",
        |w| w.count,
    );
    keyed(
        out,
        filesystems,
        Desc::gauge(
            "node_bcachefs_btree_write_average_size_bytes",
            "Average btree write size by type.",
            |fs| &fs.btree_writes,
        ),
        "type",
        |w| w.average_bytes,
    );
    emit_devices(out, filesystems);
}

/// One of the maps of a [`Filesystem`], by key.
type FilesystemMap<T> = fn(&Filesystem) -> &BTreeMap<String, T>;

/// Adds the family `desc`, whose source is one of the maps of a filesystem,
/// with one sample per filesystem and key of that map: the key under the
/// label `key_label`, the `value` of its item.
fn keyed<T>(
    out: &mut MetricSet,
    filesystems: &[Filesystem],
    desc: Desc<FilesystemMap<T>>,
    key_label: &'static str,
    value: fn(&T) -> u64,
) {
    let family = desc.family(out, &["uuid", key_label]);
    for fs in filesystems {
        for (key, item) in (desc.source)(fs) {
            family.push(&[&fs.uuid, key], value(item) as f64);
        }
    }
}

/// Reads one value of a [`Device`].
type DeviceValue = fn(&Device) -> u64;

/// The per-device gauges; each source is the value's function of the device.
const DEVICE_GAUGES: &[Desc<DeviceValue>] = &[
    Desc::gauge(
        "node_bcachefs_device_bucket_size_bytes",
        "Bucket size in bytes.",
        |d| d.bucket_size,
    ),
    Desc::gauge(
        "node_bcachefs_device_buckets",
        "Total number of buckets.",
        |d| d.buckets,
    ),
    Desc::gauge(
        "node_bcachefs_device_durability",
        "Device durability setting.",
        |d| d.durability,
    ),
];

fn emit_devices(out: &mut MetricSet, filesystems: &[Filesystem]) {
    let info = out.family(
        "node_bcachefs_device_info",
        "Device information.",
        MetricType::Gauge,
        &["uuid", "device", "label", "state"],
    );
    for fs in filesystems {
        for (number, device) in &fs.devices {
            info.push(&[&fs.uuid, number, &device.label, &device.state], 1.0);
        }
    }
    for gauge in DEVICE_GAUGES {
        let family = gauge.family(out, &["uuid", "device"]);
        for fs in filesystems {
            for (number, device) in &fs.devices {
                family.push(&[&fs.uuid, number], (gauge.source)(device) as f64);
            }
        }
    }
    let done = out.family(
        "node_bcachefs_device_io_done_bytes_total",
        "IO bytes by operation type and data type.",
        MetricType::Counter,
        &["uuid", "device", "operation", "data_type"],
    );
    for fs in filesystems {
        for (number, device) in &fs.devices {
            for (operation, data_type, bytes) in &device.io_done {
                done.push(&[&fs.uuid, number, operation, data_type], *bytes as f64);
            }
        }
    }
    let errors = out.family(
        "node_bcachefs_device_io_errors_total",
        "IO errors by error type.",
        MetricType::Counter,
        &["uuid", "device", "type"],
    );
    for fs in filesystems {
        for (number, device) in &fs.devices {
            for (kind, count) in &device.io_errors {
                errors.push(&[&fs.uuid, number, kind], *count as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{run, scrape_fixtures, write_files};
    use crate::collectors::ErrorKind;

    #[test]
    fn sizes_use_powers_of_1024() {
        assert_eq!(parse_size("542k"), Ok(555_008));
        assert_eq!(parse_size("322M"), Ok(337_641_472));
        assert_eq!(parse_size("1.5G"), Ok(1_610_612_736));
        assert_eq!(parse_size(" 405 "), Ok(405));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        for garbage in ["", "G", "1.5X", "abc", "1,5k"] {
            assert!(parse_size(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn compression_stats_skip_the_header() {
        let text = "typ                 compressed    uncompressed     average extent size\n\
lz4:                     19.3G           67.0G                    112k\n\
incompressible:           5.5G            5.5G                     22k\n\
zstd:\n";
        let stats = parse_compression_stats(text).unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!(stats["lz4"].uncompressed, 71_940_702_208);
        assert_eq!(stats["incompressible"].compressed, 5_905_580_032);
        assert!(parse_compression_stats("h\nlz4: x 1G 1k\n").is_err());
        assert!(parse_compression_stats("h\nlz4: 1G 1G bad\n").is_err());
    }

    #[test]
    fn errors_take_the_count_whatever_the_time_looks_like() {
        let text = "btree_node_read_err 5 1234567890\nbkey_version_in_future\t2\t2024-05-01T10:22:03\nlonely\n";
        let errors = parse_errors(text).unwrap();
        assert_eq!(errors["btree_node_read_err"], 5);
        assert_eq!(errors["bkey_version_in_future"], 2);
        assert_eq!(errors.len(), 2);
        assert!(parse_errors("x many\n").is_err());
    }

    #[test]
    fn counters_report_the_count_since_creation() {
        assert_eq!(
            parse_counter("since mount:\t\t\t12345\nsince filesystem creation:\t67890\n"),
            Ok(67_890)
        );
        assert_eq!(
            parse_counter("since mount: 2.05G\nsince filesystem creation: 1.5T\n"),
            Ok(1_649_267_441_664)
        );
        assert_eq!(parse_counter("since mount: 3\n"), Ok(0));
        assert!(parse_counter("").is_err());
        assert!(parse_counter("since filesystem creation: lots\n").is_err());
    }

    #[test]
    fn btree_write_stats_have_count_and_average_size() {
        let text = "                    nr        size\ninitial:            19088     108k\ninit_next:          676       22.5k\n";
        let stats = parse_btree_write_stats(text).unwrap();
        assert_eq!(
            stats["initial"],
            BtreeWrites {
                count: 19_088,
                average_bytes: 110_592
            }
        );
        assert_eq!(stats["init_next"].average_bytes, 23_040);
        assert!(parse_btree_write_stats("h\ninitial: x 1k\n").is_err());
    }

    #[test]
    fn io_done_has_read_and_write_sections() {
        let text = "read:\nsb          :     3989504\nbtree       :  4411097088\nuser        :5768222552064\nwrite:\nsb          :    31417344\n";
        let done = parse_io_done(text).unwrap();
        assert_eq!(done.len(), 4);
        assert_eq!(done[2], ("read".into(), "user".into(), 5_768_222_552_064));
        assert_eq!(done[3], ("write".into(), "sb".into(), 31_417_344));
        assert_eq!(parse_io_done("sb : 1\n").unwrap(), vec![]);
        assert!(parse_io_done("read:\nsb : x\n").is_err());
    }

    #[test]
    fn io_errors_read_only_the_section_since_creation() {
        let text = "IO errors since filesystem creation\n  read:    197346\n  write:   0\n  checksum:0\nIO errors since 8 y ago\n  read:    12\n";
        let errors = parse_io_errors(text).unwrap();
        assert_eq!(errors["read"], 197_346);
        assert_eq!(errors["checksum"], 0);
        assert_eq!(errors.len(), 3);
        assert_eq!(parse_io_errors("read: 1\n").unwrap().len(), 0);
        assert!(parse_io_errors("IO errors since filesystem creation\n  read: x\n").is_err());
    }

    #[test]
    fn fixture_tree_reports_filesystem_and_devices() {
        let text = scrape_fixtures(&SPEC, &[]);
        let uuid = "5ff9c5de-9b6a-4d6f-8d6b-1c3a0e7f2a41";
        for line in [
            format!(r#"node_bcachefs_info{{uuid="{uuid}"}} 1"#),
            format!(r#"node_bcachefs_btree_cache_size_bytes{{uuid="{uuid}"}} 5.49453824e+08"#),
            format!(r#"node_bcachefs_compression_compressed_bytes{{algorithm="lz4",uuid="{uuid}"}} 2.0723217203e+10"#),
            format!(r#"node_bcachefs_errors_total{{error_type="btree_node_read_err",uuid="{uuid}"}} 5"#),
            "# HELP node_bcachefs_btree_node_read_total Bcachefs counter btree_node_read since filesystem creation.".to_string(),
            format!(r#"node_bcachefs_btree_node_read_total{{uuid="{uuid}"}} 7.0225874e+07"#),
            format!(r#"node_bcachefs_btree_writes_total{{type="initial",uuid="{uuid}"}} 19088"#),
            format!(r#"node_bcachefs_device_info{{device="0",label="ssd.nvme0",state="rw",uuid="{uuid}"}} 1"#),
            format!(r#"node_bcachefs_device_bucket_size_bytes{{device="0",uuid="{uuid}"}} 524288"#),
            format!(r#"node_bcachefs_device_io_done_bytes_total{{data_type="btree",device="1",operation="read",uuid="{uuid}"}} 4.411097088e+09"#),
            format!(r#"node_bcachefs_device_io_errors_total{{device="1",type="read",uuid="{uuid}"}} 197346"#),
        ] {
            assert!(text.contains(&line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn without_bcachefs_there_is_no_data() {
        let sys = tempfile::tempdir().unwrap();
        let host = Host::new("/nonexistent", sys.path(), "/nonexistent", "/nonexistent");
        let collector = BcachefsCollector;
        let (_, result) = run(&collector, &host);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        std::fs::create_dir_all(sys.path().join("fs/bcachefs")).unwrap();
        let (_, result) = run(&collector, &host);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn an_unreadable_counter_fails_the_collector() {
        let sys = tempfile::tempdir().unwrap();
        let fs_dir = sys
            .path()
            .join("fs/bcachefs/5ff9c5de-9b6a-4d6f-8d6b-1c3a0e7f2a41");
        write_files(&fs_dir.join("counters"), &[("bucket_alloc", "garbage\n")]);
        let host = Host::new("/nonexistent", sys.path(), "/nonexistent", "/nonexistent");
        let collector = BcachefsCollector;
        let (_, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("bucket_alloc"));
    }
}
