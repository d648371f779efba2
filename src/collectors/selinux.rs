//! `selinux`: whether SELinux is enabled, its current and configured
//! enforcement modes, and access vector cache statistics, from
//! `<sysfs>/fs/selinux/` and the host's `/etc/selinux/config`.
//!
//! node_exporter asks its SELinux library, which looks at the agent's own
//! `/sys/fs/selinux` and `/etc/selinux/config` whatever `--path.*` say, and
//! sees SELinux as disabled when that mount is read-only, as `/sys` often
//! is in a container. Here the host's files are read: SELinux is enabled
//! when selinuxfs is mounted (`<sysfs>/fs/selinux/enforce` exists) and the
//! agent's own label is not the pre-policy `kernel`. The values are
//! node_exporter's: modes are 1 enforcing, 0 permissive, -1 disabled (or an
//! unreadable `enforce`); only `enabled` 0 is reported when disabled.

use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::MetricSet;
use crate::parse::go_uint;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "selinux",
    default_enabled: true,
    reads: "/sys/fs/selinux/{enforce,avc/}, /etc/selinux/config",
    flags: None,
    build: plain::<SelinuxCollector>,
};

/// Reports the `node_selinux_*` families.
#[derive(Default)]
struct SelinuxCollector;

/// The mode `SELINUX=` of `/etc/selinux/config` sets at boot: 1 enforcing,
/// 0 permissive, -1 disabled (also when the file or the key is missing).
pub fn parse_config_mode(config: &str) -> i64 {
    let value = config.lines().map(str::trim).find_map(|line| {
        if line.starts_with(['#', ';']) {
            return None;
        }
        let (key, value) = line.split_once('=')?;
        (key == "SELINUX").then(|| value.trim_matches('"'))
    });
    match value {
        Some("enforcing") => 1,
        Some("permissive") => 0,
        _ => -1,
    }
}

/// The current mode from selinuxfs `enforce` (`1`, `0`); -1 when it cannot
/// be read as a number.
pub fn parse_current_mode(enforce: &str) -> i64 {
    enforce.trim().parse().unwrap_or(-1)
}

/// The AVC lookup statistics of `avc/cache_stats`, summed over its per-CPU
/// lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AvcCacheStats {
    /// Lookups.
    pub lookups: u64,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Allocations.
    pub allocations: u64,
    /// Reclaims.
    pub reclaims: u64,
    /// Frees.
    pub frees: u64,
}

impl AvcCacheStats {
    /// Parses `avc/cache_stats`: a header line, then one line of six numbers
    /// per CPU. A line of another shape is an error.
    pub fn parse(text: &str) -> Result<AvcCacheStats, String> {
        let mut stats = AvcCacheStats::default();
        for line in text.lines().skip(1) {
            let values: Vec<u64> = digit_runs(line)
                .map(|run| go_uint(run).ok_or_else(|| format!("invalid number {run:?}")))
                .collect::<Result<_, _>>()?;
            let [lookups, hits, misses, allocations, reclaims, frees] = values[..] else {
                return Err(format!("invalid AVC stat line: {line}"));
            };
            stats.lookups = stats.lookups.wrapping_add(lookups);
            stats.hits = stats.hits.wrapping_add(hits);
            stats.misses = stats.misses.wrapping_add(misses);
            stats.allocations = stats.allocations.wrapping_add(allocations);
            stats.reclaims = stats.reclaims.wrapping_add(reclaims);
            stats.frees = stats.frees.wrapping_add(frees);
        }
        Ok(stats)
    }
}

/// The runs of ASCII digits in `line`, as node_exporter picks the numbers.
fn digit_runs(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
}

/// The AVC hash table statistics of `avc/hash_stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AvcHashStats {
    /// Entries.
    pub entries: u64,
    /// Buckets in use.
    pub buckets_used: u64,
    /// Buckets in all.
    pub buckets_available: u64,
    /// The longest chain.
    pub longest_chain: u64,
}

impl AvcHashStats {
    /// Parses `avc/hash_stats`: `entries: N`, `buckets used: U/A`,
    /// `longest chain: N`, in that order.
    pub fn parse(text: &str) -> Result<AvcHashStats, String> {
        let mut lines = text.lines();
        let mut field = |prefix: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(prefix))
                .ok_or_else(|| format!("no {prefix:?} line"))
        };
        let entries = field("entries: ")?;
        let (used, available) = field("buckets used: ")?
            .split_once('/')
            .ok_or("no used/available buckets")?;
        let longest_chain = field("longest chain: ")?;
        let number = |text: &str| go_uint(text).ok_or_else(|| format!("invalid number {text:?}"));
        Ok(AvcHashStats {
            entries: number(entries)?,
            buckets_used: number(used)?,
            buckets_available: number(available)?,
            longest_chain: number(longest_chain)?,
        })
    }
}

impl SelinuxCollector {
    /// Whether SELinux is enabled: selinuxfs mounted, and a policy loaded
    /// (before that every task, this one included, is labelled `kernel`).
    fn enabled(&self, host: &Host, selinuxfs: &Path) -> bool {
        if !selinuxfs.join("enforce").exists() {
            return false;
        }
        let own_label = read_text(&host.proc_path("self/attr/current")).unwrap_or_default();
        own_label.trim_end_matches(['\0', '\n']) != "kernel"
    }
}

fn read_avc(path: &Path) -> Result<String, CollectError> {
    read_text(path).map_err(|e| CollectError::io(path, &e))
}

impl Collector for SelinuxCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let selinuxfs = host.sys_path("fs/selinux");
        let enabled_help = "SELinux is enabled, 1 is true, 0 is false";
        if !self.enabled(host, &selinuxfs) {
            out.gauge("node_selinux_enabled", enabled_help, 0.0);
            return Ok(());
        }
        out.gauge("node_selinux_enabled", enabled_help, 1.0);

        let config = host
            .resolve_root_path("/etc/selinux/config")
            .and_then(|path| read_text(&path))
            .unwrap_or_default();
        out.gauge(
            "node_selinux_config_mode",
            "Configured SELinux enforcement mode",
            parse_config_mode(&config) as f64,
        );
        let enforce = read_text(&selinuxfs.join("enforce")).unwrap_or_default();
        out.gauge(
            "node_selinux_current_mode",
            "Current SELinux enforcement mode",
            parse_current_mode(&enforce) as f64,
        );

        let path = selinuxfs.join("avc/cache_stats");
        let cache =
            AvcCacheStats::parse(&read_avc(&path)?).map_err(|e| CollectError::parse(&path, e))?;
        for (name, help, value) in [
            ("avc_lookups_total", "SELinux AVC lookups", cache.lookups),
            ("avc_hits_total", "SELinux AVC hits", cache.hits),
            ("avc_misses_total", "SELinux AVC misses", cache.misses),
            (
                "avc_allocations_total",
                "SELinux AVC allocations",
                cache.allocations,
            ),
            ("avc_reclaims_total", "SELinux AVC reclaims", cache.reclaims),
            ("avc_frees_total", "SELinux AVC frees", cache.frees),
        ] {
            out.counter(format!("node_selinux_{name}"), help, value as f64);
        }

        let path = selinuxfs.join("avc/hash_stats");
        let hash =
            AvcHashStats::parse(&read_avc(&path)?).map_err(|e| CollectError::parse(&path, e))?;
        for (name, help, value) in [
            ("avc_hash_entries", "SELinux AVC hash entries", hash.entries),
            (
                "avc_hash_buckets_available",
                "SELinux AVC hash buckets available",
                hash.buckets_available,
            ),
            (
                "avc_hash_buckets_used",
                "SELinux AVC hash buckets used",
                hash.buckets_used,
            ),
            (
                "avc_hash_longest_chain",
                "SELinux AVC hash longest chain",
                hash.longest_chain,
            ),
        ] {
            out.gauge(format!("node_selinux_{name}"), help, value as f64);
        }

        let path = selinuxfs.join("avc/cache_threshold");
        let threshold = read_avc(&path)?;
        let threshold = threshold
            .trim()
            .parse::<u64>()
            .map_err(|_| CollectError::parse(&path, format!("invalid number {threshold:?}")))?;
        out.gauge(
            "node_selinux_avc_threshold",
            "SELinux AVC threshold",
            threshold as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn config_modes() {
        assert_eq!(
            parse_config_mode("# SELINUX=permissive\nSELINUX=enforcing\n"),
            1
        );
        assert_eq!(
            parse_config_mode("  SELINUX=\"permissive\"  \nSELINUX=enforcing\n"),
            0
        );
        assert_eq!(parse_config_mode("SELINUX=disabled\n"), -1);
        assert_eq!(
            parse_config_mode("; SELINUX=enforcing\nSELINUXTYPE=targeted\n"),
            -1
        );
        assert_eq!(
            parse_config_mode("SELINUX = enforcing\n"),
            -1,
            "the key is exact"
        );
        assert_eq!(parse_config_mode(""), -1);
    }

    #[test]
    fn current_modes() {
        assert_eq!(parse_current_mode("1"), 1);
        assert_eq!(parse_current_mode("0"), 0);
        assert_eq!(parse_current_mode(""), -1);
        assert_eq!(parse_current_mode("yes"), -1);
    }

    #[test]
    fn cache_stats_sum_the_cpus() {
        let stats = AvcCacheStats::parse(
            "lookups hits misses allocations reclaims frees\n10 8 2 2 0 1\n5 5 0 0 1 0\n",
        )
        .unwrap();
        assert_eq!(
            stats,
            AvcCacheStats {
                lookups: 15,
                hits: 13,
                misses: 2,
                allocations: 2,
                reclaims: 1,
                frees: 1
            }
        );
        assert_eq!(
            AvcCacheStats::parse("lookups hits\n").unwrap(),
            AvcCacheStats::default()
        );
        assert!(AvcCacheStats::parse("header\n1 2 3\n").is_err(), "cut line");
        assert!(AvcCacheStats::parse("header\n1 2 3 4 5 6 7\n").is_err());
        assert!(AvcCacheStats::parse("header\n1 2 3 4 5 99999999999999999999\n").is_err());
    }

    #[test]
    fn hash_stats() {
        let stats =
            AvcHashStats::parse("entries: 508\nbuckets used: 288/512\nlongest chain: 5\n").unwrap();
        assert_eq!(
            stats,
            AvcHashStats {
                entries: 508,
                buckets_used: 288,
                buckets_available: 512,
                longest_chain: 5
            }
        );
        assert!(
            AvcHashStats::parse("entries: 508\nbuckets used: 288\nlongest chain: 5\n").is_err()
        );
        assert!(AvcHashStats::parse("entries: 508\n").is_err());
        assert!(AvcHashStats::parse("entries: x\nbuckets used: 1/2\nlongest chain: 5\n").is_err());
    }

    #[test]
    fn reports_the_enforcing_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_selinux_enabled SELinux is enabled, 1 is true, 0 is false",
            "# TYPE node_selinux_enabled gauge",
            "node_selinux_enabled 1",
            "node_selinux_config_mode 1",
            "node_selinux_current_mode 1",
            "# TYPE node_selinux_avc_lookups_total counter",
            "node_selinux_avc_lookups_total 3.054163e+06",
            "node_selinux_avc_frees_total 4667",
            "node_selinux_avc_hash_buckets_used 288",
            "node_selinux_avc_hash_buckets_available 512",
            "node_selinux_avc_threshold 512",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn absent_selinux_reports_only_enabled_zero() {
        let dir = tempfile::tempdir().unwrap();
        // The mount point exists whenever the kernel has SELinux built in.
        std::fs::create_dir_all(dir.path().join("fs/selinux")).unwrap();
        let host = Host::new("/nonexistent", dir.path(), "/nonexistent", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let text = collector.render();
        assert!(
            text.ends_with("# TYPE node_selinux_enabled gauge\nnode_selinux_enabled 0\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE").count(), 1);
    }

    #[test]
    fn permissive_host_before_policy_load_and_missing_avc() {
        let sys = tempfile::tempdir().unwrap();
        let proc = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        write_files(&sys.path().join("fs/selinux"), &[("enforce", "0")]);
        write_files(
            &root.path().join("etc/selinux"),
            &[("config", "SELINUX=permissive\n")],
        );
        write_files(&proc.path().join("self/attr"), &[("current", "kernel\0")]);
        let host = || Host::new(proc.path(), sys.path(), root.path(), "/nonexistent");
        let collector = build(&SPEC, host(), &[]).unwrap();
        assert!(collector.render().contains("node_selinux_enabled 0"));

        write_files(
            &proc.path().join("self/attr"),
            &[("current", "system_u:system_r:spc_t:s0\0")],
        );
        let collector = build(&SPEC, host(), &[]).unwrap();
        let mut out = MetricSet::new();
        let err = collector.update(&mut out).unwrap_err();
        assert!(err.message().contains("cache_stats"), "{err}");
        let names: Vec<&str> = out.families().iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "node_selinux_enabled",
                "node_selinux_config_mode",
                "node_selinux_current_mode"
            ]
        );
    }
}
