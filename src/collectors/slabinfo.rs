//! `slabinfo`: the kernel's slab caches from `<procfs>/slabinfo` (format
//! 2.1, every kernel since 2.6.10), as `node_slabinfo_*{slab}`, filtered by
//! `--collector.slabinfo.slabs-include` / `slabs-exclude`.
//!
//! The file is readable by root only (mode 0400): without the privilege the
//! collector fails with an error that says so.

use std::io;
use std::path::Path;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "slabinfo",
    default_enabled: false,
    reads: "/proc/slabinfo (root only)",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the slabinfo collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of slabs to include in slabinfo collector.
    #[arg(id = "collector.slabinfo.slabs-include", long = "collector.slabinfo.slabs-include",
          value_name = "REGEX", default_value = ".*", value_parser = crate::parse::regex)]
    pub slabs_include: Regex,

    /// Regexp of slabs to exclude in slabinfo collector.
    #[arg(id = "collector.slabinfo.slabs-exclude", long = "collector.slabinfo.slabs-exclude",
          value_name = "REGEX", default_value = "", value_parser = crate::parse::regex)]
    pub slabs_exclude: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    Ok(Box::new(SlabinfoCollector {
        // Both patterns apply when both are given, as node_exporter's.
        filter: DeviceFilter::new(
            Some(flags.slabs_exclude.clone()),
            Some(flags.slabs_include.clone()),
        ),
    }))
}

/// Reports `node_slabinfo_*` for the selected slab caches.
struct SlabinfoCollector {
    /// Matched against the slab cache name.
    filter: DeviceFilter,
}

/// One slab cache line of `/proc/slabinfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slab {
    /// The cache name (`dentry`, `kmalloc-64`).
    pub name: String,
    /// Objects in use.
    pub active_objects: f64,
    /// Objects allocated, in use or not.
    pub objects: f64,
    /// Size of one object, in bytes.
    pub object_size: f64,
    /// Objects per slab.
    pub objects_per_slab: f64,
    /// Pages per slab.
    pub pages_per_slab: f64,
}

/// Fields of a 2.1 line: name, five numbers, `:`, `tunables` and three
/// numbers, `:`, `slabdata` and three numbers.
const FIELDS: usize = 16;

impl Slab {
    /// Parses `/proc/slabinfo` version 2.1: the `slabinfo - version` and
    /// `# name` header lines are skipped, and every other line must have the
    /// 16 fields of a cache (otherwise the file, or this parser, is of
    /// another version and fails, as node_exporter's).
    pub fn parse_all(text: &str) -> Result<Vec<Slab>, String> {
        text.lines()
            .filter(|l| !l.contains("slabinfo -") && !l.contains("# name"))
            .map(Slab::parse_line)
            .collect()
    }

    fn parse_line(line: &str) -> Result<Slab, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != FIELDS {
            return Err(format!(
                "{} fields instead of {FIELDS} in {line:?}",
                fields.len()
            ));
        }
        let integer = |i: usize| {
            fields[i]
                .parse::<i64>()
                .map(|v| v as f64)
                .map_err(|_| format!("invalid integer {:?} in {line:?}", fields[i]))
        };
        // The tunables and slabdata columns are checked as node_exporter
        // checks them, though not reported.
        for i in [8, 9, 10, 13, 14, 15] {
            integer(i)?;
        }
        Ok(Slab {
            name: fields[0].to_string(),
            active_objects: integer(1)?,
            objects: integer(2)?,
            object_size: integer(3)?,
            objects_per_slab: integer(4)?,
            pages_per_slab: integer(5)?,
        })
    }
}

/// Reads one value of a [`Slab`].
type SlabValue = fn(&Slab) -> f64;

/// The reported gauges; each source is the value's function of a slab.
const METRICS: [Desc<SlabValue>; 5] = [
    Desc::gauge("node_slabinfo_active_objects", "The number of objects that are currently active (i.e., in use).", |s| s.active_objects),
    Desc::gauge("node_slabinfo_objects", "The total number of allocated objects (i.e., objects that are both in use and not in use).", |s| s.objects),
    Desc::gauge("node_slabinfo_object_size_bytes", "The size of objects in this slab, in bytes.", |s| s.object_size),
    Desc::gauge("node_slabinfo_objects_per_slab", "The number of objects stored in each slab.", |s| s.objects_per_slab),
    Desc::gauge("node_slabinfo_pages_per_slab", "The number of pages allocated for each slab.", |s| s.pages_per_slab),
];

impl Collector for SlabinfoCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("slabinfo");
        let text = read_text(&path).map_err(|e| read_error(&path, &e))?;
        let mut slabs = Slab::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        slabs.retain(|s| !self.filter.ignored(&s.name));
        // Cache names are unique in a sane file; a repeat keeps its first line.
        let mut seen = std::collections::HashSet::new();
        slabs.retain(|s| seen.insert(s.name.clone()));
        for metric in METRICS {
            let family = metric.family(out, &["slab"]);
            for slab in &slabs {
                family.push(&[&slab.name], (metric.source)(slab));
            }
        }
        Ok(())
    }
}

/// The error for a failed read of `/proc/slabinfo`, naming the privilege
/// needed when that is what is missing.
fn read_error(path: &Path, err: &io::Error) -> CollectError {
    if err.kind() == io::ErrorKind::PermissionDenied {
        CollectError::failed(format!(
            "reading {}: {err}: the file is readable by root only; run as root \
             or disable the slabinfo collector",
            path.display()
        ))
    } else {
        CollectError::io_or_no_data(path, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, fixture_host, host_with_procfs, procfs_with, run,
    };
    use crate::collectors::ErrorKind;

    /// This machine's `/proc/slabinfo` (SLUB, Linux 6.18).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/slabinfo");

    /// A SLAB (not SLUB) kernel, 3.10: non-zero tunables and shared objects.
    const SLAB_3_10: &str = "\
slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
nfs_direct_cache       0      0    200   19    1 : tunables  120   60    8 : slabdata      0      0      0
ext4_inode_cache   24508  24552   1000    4    1 : tunables   54   27    8 : slabdata   6138   6138      0
size-64           301442 302836     64   59    1 : tunables  120   60    8 : slabdata   5133   5133     12
";

    fn slab(name: &str, values: [f64; 5]) -> Slab {
        Slab {
            name: name.to_string(),
            active_objects: values[0],
            objects: values[1],
            object_size: values[2],
            objects_per_slab: values[3],
            pages_per_slab: values[4],
        }
    }

    #[test]
    fn this_machine() {
        let slabs = Slab::parse_all(CURRENT).unwrap();
        assert_eq!(slabs.len(), CURRENT.lines().count() - 2);
        assert_eq!(slabs[2], slab("bio-312", [12.0, 12.0, 320.0, 12.0, 1.0]));
        assert!(slabs.iter().any(|s| s.name == "kmalloc-64"));
    }

    #[test]
    fn slab_allocator_kernel() {
        let slabs = Slab::parse_all(SLAB_3_10).unwrap();
        assert_eq!(slabs.len(), 3);
        assert_eq!(
            slabs[1],
            slab("ext4_inode_cache", [24508.0, 24552.0, 1000.0, 4.0, 1.0])
        );
    }

    #[test]
    fn garbage_truncation_and_other_versions_fail() {
        assert_eq!(Slab::parse_all("").unwrap(), []);
        // A file cut inside a line.
        let cut = "slabinfo - version: 2.1\nkmalloc-64  10 10 64 64 1 : tunables 0 0 0 : slab";
        assert!(Slab::parse_all(cut).unwrap_err().contains("fields"));
        let bad = "kmalloc-64  10 x 64 64 1 : tunables 0 0 0 : slabdata 1 1 0";
        assert!(Slab::parse_all(bad).unwrap_err().contains("\"x\""));
        let bad_tunable = "kmalloc-64  10 10 64 64 1 : tunables 0 y 0 : slabdata 1 1 0";
        assert!(Slab::parse_all(bad_tunable).is_err());
        // Version 1.1 (Linux 2.4) has no tunables or slabdata columns.
        let v1 = "slabinfo - version: 1.1\nkmem_cache 59 78 100 2 2 1\n";
        assert!(Slab::parse_all(v1).is_err());
    }

    fn scrape(flags: &[&str]) -> String {
        let flags = [&["--collector.slabinfo"], flags].concat();
        let collector = build(&SPEC, fixture_host(), &flags).expect("builds");
        collector.render()
    }

    #[test]
    fn reports_every_slab_as_node_exporter() {
        let text = scrape(&[]);
        for expected in [
            "# HELP node_slabinfo_active_objects The number of objects that are currently active (i.e., in use).",
            "# TYPE node_slabinfo_active_objects gauge",
            r#"node_slabinfo_active_objects{slab="bio-312"} 12"#,
            "# HELP node_slabinfo_object_size_bytes The size of objects in this slab, in bytes.",
            r#"node_slabinfo_object_size_bytes{slab="bio-312"} 320"#,
            "# TYPE node_slabinfo_pages_per_slab gauge",
            r#"node_slabinfo_objects_per_slab{slab="bio-312"} 12"#,
            r#"node_slabinfo_pages_per_slab{slab="bio-312"} 1"#,
            r#"node_slabinfo_objects{slab="bio-312"} 12"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 5 * (CURRENT.lines().count() - 2));
    }

    #[test]
    fn include_and_exclude_select_slabs() {
        let slabs = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter_map(|l| Some(l.split("slab=\"").nth(1)?.split('"').next()?.to_string()))
                .collect()
        };
        let included = slabs(&scrape(&[
            "--collector.slabinfo.slabs-include=^kmalloc-(64|128)$",
        ]));
        assert_eq!(
            included.into_iter().collect::<Vec<_>>(),
            ["kmalloc-128", "kmalloc-64"]
        );
        let rest = slabs(&scrape(&["--collector.slabinfo.slabs-exclude=kmalloc"]));
        assert!(rest.contains("bio-312"));
        assert!(!rest.iter().any(|s| s.contains("kmalloc")));
        let both = slabs(&scrape(&[
            "--collector.slabinfo.slabs-include=^kmalloc",
            "--collector.slabinfo.slabs-exclude=^kmalloc-(rcl|cg|rnd)",
        ]));
        assert!(both.contains("kmalloc-64"));
        assert!(both.contains("kmalloc_buckets"));
        assert!(both.iter().all(|s| s.starts_with("kmalloc")));
        assert!(!both.iter().any(|s| s.starts_with("kmalloc-cg")));
    }

    #[test]
    fn bad_regex_stops_start_up() {
        let err = crate::collectors::common::testing::parse_args(&[
            "--collector.slabinfo.slabs-include=(",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("slabs-include"), "{err}");
    }

    #[test]
    fn missing_file_is_no_data_and_garbage_fails() {
        let collector = SlabinfoCollector {
            filter: DeviceFilter::default(),
        };
        let dir = tempfile::tempdir().unwrap();
        let err = run(&collector, &host_with_procfs(dir.path()))
            .1
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
        let dir = procfs_with(&[("slabinfo", "slabinfo - version: 2.1\ngarbage\n")]);
        let (families, result) = run(&collector, &host_with_procfs(dir.path()));
        assert!(families.is_empty());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }

    #[test]
    fn permission_denied_says_root_is_needed() {
        let path = std::path::Path::new("/host/proc/slabinfo");
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let err = read_error(path, &denied);
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("/host/proc/slabinfo"), "{err}");
        assert!(err.message().contains("root only"), "{err}");
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(read_error(path, &missing).kind(), ErrorKind::NoData);
    }
}
