//! `cpufreq`: each CPU's frequency limits, current frequency and governor
//! from `<sysfs>/devices/system/cpu/cpu*/cpufreq/`. The kernel gives
//! frequencies in kHz; they are reported in hertz.
//!
//! This collector owns `node_cpu_frequency_hertz` while it runs; the cpu
//! collector reports `/proc/cpuinfo`'s frequency under that name only when
//! it does not, so the two never report the same series.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host, SysfsDir};
use crate::kernel::cpu_list::parse_cpu_list;
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "cpufreq",
    default_enabled: true,
    reads: "/sys/devices/system/cpu/cpu*/cpufreq/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the cpufreq collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Expose cpufreq metrics with the node_cpufreq_ prefix instead of
    /// node_cpu_. This avoids a metric name collision with the cpu collector
    /// and will be the default behavior in 2.x.
    #[arg(
        id = "collector.cpufreq.enable-cpufreq-prefix",
        long = "collector.cpufreq.enable-cpufreq-prefix"
    )]
    pub enable_cpufreq_prefix: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let prefix = if ctx.flags::<Flags>()?.enable_cpufreq_prefix {
        "node_cpufreq_"
    } else {
        "node_cpu_"
    };
    Ok(Box::new(CpufreqCollector { prefix }))
}

/// Reports `node_cpu_frequency_*`, `node_cpu_scaling_frequency_*` and
/// `node_cpu_scaling_governor` (or `node_cpufreq_*`).
struct CpufreqCollector {
    prefix: &'static str,
}

/// The frequency gauges, named after the prefix; each source is the
/// attribute file, in kHz.
const FREQUENCIES: [Desc<&str>; 7] = [
    Desc::gauge(
        "frequency_hertz",
        "Current CPU thread frequency in hertz.",
        "cpuinfo_cur_freq",
    ),
    Desc::gauge(
        "frequency_avg_hertz",
        "Average CPU thread frequency in hertz.",
        "cpuinfo_avg_freq",
    ),
    Desc::gauge(
        "frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
        "cpuinfo_min_freq",
    ),
    Desc::gauge(
        "frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
        "cpuinfo_max_freq",
    ),
    Desc::gauge(
        "scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
        "scaling_cur_freq",
    ),
    Desc::gauge(
        "scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
        "scaling_min_freq",
    ),
    Desc::gauge(
        "scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
        "scaling_max_freq",
    ),
];

/// Most threads reading CPUs at once: some kernels make each CPU's
/// `scaling_cur_freq` read wait for a fresh sample, so a many-core host is
/// read in parallel.
const MAX_READERS: usize = 8;

/// How long CPUs are read one after another before the rest are read in
/// parallel: most kernels answer in microseconds, and then starting threads
/// every scrape would cost more than it saves.
const SEQUENTIAL_BUDGET: Duration = Duration::from_millis(2);

/// What one CPU's `cpufreq` directory says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuFrequencies {
    /// The CPU number, from `cpu<N>`.
    pub cpu: String,
    /// The [`FREQUENCIES`] attributes, in kHz; `None` when absent,
    /// unreadable (`cpuinfo_cur_freq` is root-only) or not a number.
    pub khz: [Option<u64>; FREQUENCIES.len()],
    /// `scaling_governor`.
    pub governor: String,
    /// `scaling_available_governors`.
    pub available_governors: String,
}

impl CpuFrequencies {
    /// Reads a `cpufreq` directory; `None` when the CPU has none. Attributes
    /// the CPU lacks or refuses are left unset; other read errors (EBUSY from
    /// a CPU going offline) fail.
    pub fn read(cpu: &str, dir: &Path) -> io::Result<Option<CpuFrequencies>> {
        let dir = match SysfsDir::open(dir) {
            Ok(dir) => dir,
            // No such directory, or something else in its place.
            Err(err) if means_absent(&err) || err.raw_os_error() == Some(libc::ENOTDIR) => {
                return Ok(None)
            }
            Err(err) => return Err(err),
        };
        let mut frequencies = CpuFrequencies {
            cpu: cpu.to_string(),
            ..CpuFrequencies::default()
        };
        for (slot, frequency) in frequencies.khz.iter_mut().zip(FREQUENCIES) {
            *slot = read_attribute(&dir, frequency.source)?.and_then(|v| v.parse().ok());
        }
        frequencies.governor = read_attribute(&dir, "scaling_governor")?.unwrap_or_default();
        frequencies.available_governors =
            read_attribute(&dir, "scaling_available_governors")?.unwrap_or_default();
        Ok(Some(frequencies))
    }

    /// Each available governor, with whether it is the one in use. As
    /// node_exporter does, the list is split on single spaces and nothing
    /// is reported when no governor is set.
    pub fn governors(&self) -> Vec<(&str, bool)> {
        if self.governor.is_empty() {
            return Vec::new();
        }
        self.available_governors
            .split(' ')
            .map(|g| (g, g == self.governor))
            .collect()
    }
}

/// Reads an attribute, trimmed; `None` when it is absent or refused.
fn read_attribute(dir: &SysfsDir, name: &str) -> io::Result<Option<String>> {
    match dir.read_attribute(name) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(err) if means_absent(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Errors that mean an attribute is not there for us to read.
fn means_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    )
}

/// The CPU directories (`cpu<N>`) under `cpu_root` with their numbers,
/// without the CPUs `cpu_root/offline` lists: an offline CPU's cpufreq
/// attributes answer EBUSY.
fn online_cpus(cpu_root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let offline = match read_sysfs_attribute(&cpu_root.join("offline")) {
        Ok(text) => parse_cpu_list(&text).unwrap_or_default(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err),
    };
    let mut cpus: Vec<(u32, String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(cpu_root)?.filter_map(Result::ok) {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(number) = name.strip_prefix("cpu") else {
            continue;
        };
        if !number.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if number.parse().is_ok_and(|n: u32| offline.contains(&n)) {
            continue;
        }
        let sort_key = number.parse().unwrap_or(u32::MAX);
        cpus.push((sort_key, number.to_string(), entry.path()));
    }
    cpus.sort();
    Ok(cpus
        .into_iter()
        .map(|(_, number, path)| (number, path))
        .collect())
}

/// Reads every CPU that has a `cpufreq` directory: one after another while
/// that is quick, the rest several at a time once it is not.
fn read_all(cpus: &[(String, PathBuf)]) -> Result<Vec<CpuFrequencies>, CollectError> {
    let cpufreq_dirs: Vec<(&str, PathBuf)> = cpus
        .iter()
        .map(|(cpu, dir)| (cpu.as_str(), dir.join("cpufreq")))
        .collect();
    let started = Instant::now();
    let mut results = Vec::with_capacity(cpufreq_dirs.len());
    let mut rest = &cpufreq_dirs[..];
    while let Some((first, tail)) = rest.split_first() {
        if started.elapsed() > SEQUENTIAL_BUDGET {
            break;
        }
        results.push(read_cpu(first));
        rest = tail;
    }
    results.extend(read_in_parallel(rest));
    let read: Vec<Option<CpuFrequencies>> = results.into_iter().collect::<Result<_, _>>()?;
    Ok(read.into_iter().flatten().collect())
}

/// Reads one CPU's `cpufreq` directory (`None` when it has none), with the
/// directory named in an error.
fn read_cpu((cpu, dir): &(&str, PathBuf)) -> Result<Option<CpuFrequencies>, CollectError> {
    CpuFrequencies::read(cpu, dir).map_err(|e| CollectError::io(dir, &e))
}

/// Reads the CPUs' `cpufreq` directories on up to [`MAX_READERS`] threads.
fn read_in_parallel(
    cpufreq_dirs: &[(&str, PathBuf)],
) -> Vec<Result<Option<CpuFrequencies>, CollectError>> {
    if cpufreq_dirs.is_empty() {
        return Vec::new();
    }
    let chunk = cpufreq_dirs.len().div_ceil(MAX_READERS);
    thread::scope(|scope| {
        let readers: Vec<_> = cpufreq_dirs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(read_cpu).collect::<Vec<_>>()))
            .collect();
        readers
            .into_iter()
            .flat_map(|reader| {
                reader
                    .join()
                    .unwrap_or_else(|_| vec![Err(CollectError::failed("cpufreq reader panicked"))])
            })
            .collect()
    })
}

impl Collector for CpufreqCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let root = host.sys_path("devices/system/cpu");
        let cpus = online_cpus(&root).map_err(|e| CollectError::io_or_no_data(&root, &e))?;
        let frequencies = read_all(&cpus)?;

        for (slot, frequency) in FREQUENCIES.iter().enumerate() {
            let family = out.family(
                format!("{}{}", self.prefix, frequency.name),
                frequency.help,
                frequency.metric_type,
                &["cpu"],
            );
            for cpu in &frequencies {
                if let Some(khz) = cpu.khz[slot] {
                    family.push(&[&cpu.cpu], khz as f64 * 1000.0);
                }
            }
        }
        let governor = out.family(
            format!("{}scaling_governor", self.prefix),
            "Current enabled CPU frequency governor.",
            MetricType::Gauge,
            &["cpu", "governor"],
        );
        for cpu in &frequencies {
            for (name, active) in cpu.governors() {
                governor.push(&[cpu.cpu.as_str(), name], if active { 1.0 } else { 0.0 });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn reads_a_cpufreq_directory() {
        let root = tempfile::tempdir().unwrap();
        write_files(
            root.path(),
            &[
                ("cpuinfo_max_freq", "3400000\n"),
                ("cpuinfo_min_freq", "800000\n"),
                ("scaling_cur_freq", "1198734\n"),
                ("scaling_max_freq", "3400000\n"),
                ("scaling_min_freq", "800000\n"),
                ("cpuinfo_cur_freq", "<unknown>\n"),
                ("scaling_governor", "powersave\n"),
                (
                    "scaling_available_governors",
                    "conservative ondemand userspace powersave performance schedutil \n",
                ),
            ],
        );
        let cpu = CpuFrequencies::read("3", root.path()).unwrap().unwrap();
        assert_eq!(
            cpu.khz,
            [
                None,
                None,
                Some(800000),
                Some(3400000),
                Some(1198734),
                Some(800000),
                Some(3400000)
            ]
        );
        assert_eq!(
            cpu.governors(),
            vec![
                ("conservative", false),
                ("ondemand", false),
                ("userspace", false),
                ("powersave", true),
                ("performance", false),
                ("schedutil", false),
            ]
        );
    }

    #[test]
    fn no_governor_no_governor_series() {
        let cpu = CpuFrequencies {
            available_governors: "performance powersave".to_string(),
            ..CpuFrequencies::default()
        };
        assert!(cpu.governors().is_empty());
    }

    #[test]
    fn offline_cpus_and_other_entries_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        for name in ["cpu0", "cpu1", "cpu2", "cpu10", "cpufreq", "cpuidle"] {
            fs::create_dir(root.path().join(name)).unwrap();
        }
        fs::write(root.path().join("offline"), "1\n").unwrap();
        let cpus: Vec<String> = online_cpus(root.path())
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(cpus, vec!["0", "2", "10"]);
    }

    #[test]
    fn fixture_cpus() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_cpu_frequency_hertz Current CPU thread frequency in hertz.",
            r#"node_cpu_frequency_hertz{cpu="0"} 2.1e+09"#,
            r#"node_cpu_frequency_avg_hertz{cpu="1"} 3.489115e+09"#,
            r#"node_cpu_frequency_max_hertz{cpu="1"} 3.5e+09"#,
            r#"node_cpu_frequency_min_hertz{cpu="1"} 4e+08"#,
            r#"node_cpu_scaling_frequency_hertz{cpu="0"} 2.0949e+09"#,
            r#"node_cpu_scaling_frequency_max_hertz{cpu="0"} 3.5e+09"#,
            r#"node_cpu_scaling_frequency_min_hertz{cpu="0"} 4e+08"#,
            r#"node_cpu_scaling_governor{cpu="0",governor="performance"} 0"#,
            r#"node_cpu_scaling_governor{cpu="0",governor="schedutil"} 1"#,
            r#"node_cpu_scaling_governor{cpu="1",governor="performance"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains(r#"cpu="2""#), "cpu2 is offline");
    }

    #[test]
    fn parallel_reading_gives_what_sequential_reading_gives() {
        let root =
            crate::collectors::common::testing::fixture_host().sys_path("devices/system/cpu");
        let cpus = online_cpus(&root).unwrap();
        let dirs: Vec<(&str, PathBuf)> = cpus
            .iter()
            .map(|(cpu, dir)| (cpu.as_str(), dir.join("cpufreq")))
            .collect();
        let parallel: Vec<CpuFrequencies> = read_in_parallel(&dirs)
            .into_iter()
            .filter_map(Result::unwrap)
            .collect();
        assert!(parallel.len() >= 2);
        assert_eq!(parallel, read_all(&cpus).unwrap());
    }

    #[test]
    fn prefix_flag() {
        let text = scrape_fixtures(&SPEC, &["--collector.cpufreq.enable-cpufreq-prefix"]);
        assert!(text.contains(r#"node_cpufreq_frequency_hertz{cpu="0"} 2.1e+09"#));
        assert!(text.contains(r#"node_cpufreq_scaling_governor{cpu="1",governor="performance"} 1"#));
        assert!(!text.contains("node_cpu_"));
    }

    #[test]
    fn host_without_cpufreq_reports_nothing() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("devices/system/cpu/cpu0")).unwrap();
        let host = Host::new("/nonexistent", root.path(), "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }
}
