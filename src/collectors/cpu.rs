//! `cpu`: the time each CPU spent in each mode (`<procfs>/stat`), thermal
//! throttle counts, isolated and online CPUs (`<sysfs>/devices/system/cpu`),
//! and with `--collector.cpu.info` what `<procfs>/cpuinfo` says about each
//! CPU.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, read_text, read_trimmed, Host};
use crate::kernel::cpu_list::parse_cpu_list;
use crate::kernel::cpuinfo::CpuInfo;
use crate::kernel::proc_stat::{CpuTimes, ProcStat};
use crate::metrics::{MetricSet, MetricType};
use crate::unpoisoned::lock;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "cpu",
    default_enabled: true,
    reads: "/proc/stat, /proc/cpuinfo, /sys/devices/system/cpu",
    flags: Some(Flags::augment_args),
    build,
};

/// The `cpu` collector's flags.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Enables metric node_cpu_guest_seconds_total
    #[arg(long = "collector.cpu.guest", default_value_t = true)]
    pub guest: bool,

    /// Enables metric cpu_info
    #[arg(long = "collector.cpu.info")]
    pub info: bool,

    /// Filter the `flags` field in cpuInfo with a value that must be a regular expression
    #[arg(long = "collector.cpu.info.flags-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub flags_include: Option<Regex>,

    /// Filter the `bugs` field in cpuInfo with a value that must be a regular expression
    #[arg(long = "collector.cpu.info.bugs-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub bugs_include: Option<Regex>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    // An empty filter is node_exporter's "not set".
    let filter = |regex: &Option<Regex>| regex.clone().filter(|r| !r.as_str().is_empty());
    let flags_include = filter(&flags.flags_include);
    let bugs_include = filter(&flags.bugs_include);
    let info = flags.info || flags_include.is_some() || bugs_include.is_some();
    if info && !flags.info {
        tracing::info!(
            "--collector.cpu.info has been set to `true` because you set the following flags, \
             like --collector.cpu.info.flags-include and --collector.cpu.info.bugs-include"
        );
    }
    let isolated_path = ctx.host.sys_path("devices/system/cpu/isolated");
    Ok(Box::new(CpuCollector {
        guest: flags.guest,
        info,
        // The cpufreq collector owns node_cpu_frequency_hertz when it runs.
        frequency: info && !ctx.is_enabled("cpufreq"),
        flags_include,
        bugs_include,
        isolated: read_isolated(&isolated_path),
        history: Mutex::new(CpuTimesHistory::default()),
    }))
}

/// Reports `node_cpu_*`.
struct CpuCollector {
    /// Whether to report guest time (`--collector.cpu.guest`).
    guest: bool,
    /// Whether to report `/proc/cpuinfo` (`--collector.cpu.info`, or
    /// implied by an include filter).
    info: bool,
    /// Whether to report `/proc/cpuinfo`'s frequency.
    frequency: bool,
    flags_include: Option<Regex>,
    bugs_include: Option<Regex>,
    /// The isolated CPUs, read once: isolation is a boot parameter.
    isolated: Result<Vec<u32>, CollectError>,
    history: Mutex<CpuTimesHistory>,
}

/// `/sys/devices/system/cpu/isolated`; a kernel without the file isolates
/// nothing.
fn read_isolated(path: &Path) -> Result<Vec<u32>, CollectError> {
    match read_sysfs_attribute(path) {
        Ok(text) => parse_cpu_list(&text).map_err(|e| CollectError::parse(path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CollectError::io(path, &e)),
    }
}

impl Collector for CpuCollector {
    /// Reports what can be read even when one source fails, and then fails
    /// naming every source that did.
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut errors = Vec::new();
        if self.info {
            errors.extend(self.update_info(host, out).err());
        }
        errors.extend(self.update_times(host, out).err());
        match &self.isolated {
            Ok(cpus) => report_isolated(out, cpus),
            Err(e) => errors.push(e.clone()),
        }
        let cpu_dir = host.sys_path("devices/system/cpu");
        match cpu_dirs(&cpu_dir) {
            Ok(cpus) => {
                report_throttles(out, &cpus);
                report_online(out, &cpus);
            }
            Err(e) => errors.push(CollectError::io(&cpu_dir, &e)),
        }
        match errors.as_slice() {
            [] => Ok(()),
            [only] => Err(only.clone()),
            several => {
                let messages: Vec<&str> = several.iter().map(CollectError::message).collect();
                Err(CollectError::failed(messages.join("; ")))
            }
        }
    }
}

impl CpuCollector {
    /// `node_cpu_seconds_total` and `node_cpu_guest_seconds_total`.
    fn update_times(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("stat");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let stat = ProcStat::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        if stat.cpus.is_empty() {
            return Err(CollectError::parse(&path, "no per-CPU lines"));
        }
        let mut history = lock(&self.history);
        let times = history.record(&stat.cpus);

        // In the order the output lists them, CPU numbers as text and modes
        // by name, so that the families need no sorting once pushed.
        let mut cpus: Vec<(String, &CpuTimes)> =
            times.iter().map(|(cpu, t)| (cpu.to_string(), t)).collect();
        cpus.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let seconds = out.family(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            MetricType::Counter,
            &["cpu", "mode"],
        );
        for (cpu, t) in &cpus {
            for (mode, value) in [
                ("idle", t.idle),
                ("iowait", t.iowait),
                ("irq", t.irq),
                ("nice", t.nice),
                ("softirq", t.softirq),
                ("steal", t.steal),
                ("system", t.system),
                ("user", t.user),
            ] {
                seconds.push(&[cpu.as_str(), mode], value);
            }
        }
        if self.guest {
            // Guest time is also counted in user and nice.
            let guest = out.family(
                "node_cpu_guest_seconds_total",
                "Seconds the CPUs spent in guests (VMs) for each mode.",
                MetricType::Counter,
                &["cpu", "mode"],
            );
            for (cpu, t) in &cpus {
                guest.push(&[cpu.as_str(), "nice"], t.guest_nice);
                guest.push(&[cpu.as_str(), "user"], t.guest);
            }
        }
        Ok(())
    }

    /// `node_cpu_info`, `node_cpu_frequency_hertz`, `node_cpu_flag_info` and
    /// `node_cpu_bug_info`.
    fn update_info(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("cpuinfo");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let cpus = CpuInfo::parse(&text).map_err(|e| CollectError::parse(&path, e))?;

        let info = out.family(
            "node_cpu_info",
            "CPU information from /proc/cpuinfo.",
            MetricType::Gauge,
            &[
                "package",
                "core",
                "cpu",
                "vendor",
                "family",
                "model",
                "model_name",
                "microcode",
                "stepping",
                "cachesize",
            ],
        );
        for cpu in &cpus {
            let processor = cpu.processor.to_string();
            info.push(
                &[
                    cpu.physical_id.as_str(),
                    &cpu.core_id,
                    &processor,
                    &cpu.vendor,
                    &cpu.family,
                    &cpu.model,
                    &cpu.model_name,
                    &cpu.microcode,
                    &cpu.stepping,
                    &cpu.cache_size,
                ],
                1.0,
            );
        }

        if self.frequency {
            let frequency = out.family(
                "node_cpu_frequency_hertz",
                "CPU frequency in hertz from /proc/cpuinfo.",
                MetricType::Gauge,
                &["package", "core", "cpu"],
            );
            // Architectures without `cpu MHz` get no sample rather than 0 Hz.
            for cpu in &cpus {
                if let Some(mhz) = cpu.mhz {
                    let processor = cpu.processor.to_string();
                    frequency.push(
                        &[cpu.physical_id.as_str(), &cpu.core_id, &processor],
                        mhz * 1e6,
                    );
                }
            }
        }

        if let Some(first) = cpus.first() {
            let fields = [
                (
                    "node_cpu_flag_info",
                    "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
                    "flag",
                    &first.flags,
                    &self.flags_include,
                ),
                (
                    "node_cpu_bug_info",
                    "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
                    "bug",
                    &first.bugs,
                    &self.bugs_include,
                ),
            ];
            for (name, help, label, values, include) in fields {
                // Without a filter node_exporter reports none of them.
                let Some(include) = include else { continue };
                let family = out.family(name, help, MetricType::Gauge, &[label]);
                for value in values.iter().filter(|v| include.is_match(v)) {
                    family.push(&[value], 1.0);
                }
            }
        }
        Ok(())
    }
}

/// How far a CPU's idle time may go backwards before the CPU is taken to
/// have been unplugged and plugged back (its counters restarted).
const JUMP_BACK_SECONDS: f64 = 3.0;

/// The per-CPU times last reported, so that a counter the kernel reports
/// slightly lower than before (idle and iowait are estimates on tickless
/// kernels) is held rather than breaking `rate()`.
#[derive(Debug, Default)]
struct CpuTimesHistory {
    reported: BTreeMap<u32, CpuTimes>,
}

impl CpuTimesHistory {
    /// Takes a new reading and returns the times to report: each counter is
    /// the larger of its new and its last reported value, except that a CPU
    /// whose idle time went back by [`JUMP_BACK_SECONDS`] or more starts
    /// over from the new reading. CPUs absent from the reading (offline)
    /// are forgotten.
    fn record(&mut self, current: &BTreeMap<u32, CpuTimes>) -> &BTreeMap<u32, CpuTimes> {
        self.reported.retain(|cpu, _| current.contains_key(cpu));
        for (&cpu, now) in current {
            let last = self.reported.entry(cpu).or_default();
            if last.idle - now.idle >= JUMP_BACK_SECONDS {
                tracing::debug!(
                    cpu,
                    old_value = last.idle,
                    new_value = now.idle,
                    "CPU idle counter jumped backwards more than {JUMP_BACK_SECONDS} seconds, \
                     possible hotplug event, resetting CPU stats"
                );
                *last = CpuTimes::default();
            }
            *last = CpuTimes {
                user: now.user.max(last.user),
                nice: now.nice.max(last.nice),
                system: now.system.max(last.system),
                idle: now.idle.max(last.idle),
                iowait: now.iowait.max(last.iowait),
                irq: now.irq.max(last.irq),
                softirq: now.softirq.max(last.softirq),
                steal: now.steal.max(last.steal),
                guest: now.guest.max(last.guest),
                guest_nice: now.guest_nice.max(last.guest_nice),
            };
        }
        &self.reported
    }
}

/// `node_cpu_isolated`: one sample per isolated CPU.
fn report_isolated(out: &mut MetricSet, cpus: &[u32]) {
    let isolated = out.family(
        "node_cpu_isolated",
        "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
        MetricType::Gauge,
        &["cpu"],
    );
    for cpu in cpus {
        isolated.push(&[cpu.to_string()], 1.0);
    }
}

/// A `cpuN` directory of sysfs: the CPU number as named, and the path.
type CpuDir = (String, PathBuf);

/// The `cpuN` directories (`cpu[0-9]*`) under `dir`, in name order, as
/// node_exporter globs them. No directory means no CPUs to report.
fn cpu_dirs(dir: &Path) -> io::Result<Vec<CpuDir>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut cpus = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|name| name.strip_prefix("cpu"))
            .filter(|number| number.starts_with(|c: char| c.is_ascii_digit()));
        if let Some(number) = number {
            cpus.push((number.to_string(), entry.path()));
        }
    }
    cpus.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(cpus)
}

/// A sysfs attribute holding an unsigned number; `None` if absent or not a
/// number.
fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path).ok()?.parse().ok()
}

/// `node_cpu_package_throttles_total` and `node_cpu_core_throttles_total`
/// from each CPU's `thermal_throttle` (x86 with Intel thermal monitoring).
/// Hyper-threads share their core's count and every CPU of a package the
/// package's, so each is read from the first CPU that has it. CPUs without
/// a numeric topology (offline, or `-1` on some ARM systems) are skipped.
fn report_throttles(out: &mut MetricSet, cpus: &[CpuDir]) {
    let mut packages: BTreeMap<u64, u64> = BTreeMap::new();
    let mut cores: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for (_, dir) in cpus {
        let Some(package) = read_u64(&dir.join("topology/physical_package_id")) else {
            continue;
        };
        let Some(core) = read_u64(&dir.join("topology/core_id")) else {
            continue;
        };
        // Core counts first: some CPU and kernel combinations (RHEL 6 on a
        // Xeon E5472) have core throttle counts but no package ones.
        if let Entry::Vacant(slot) = cores.entry((package, core)) {
            if let Some(count) = read_u64(&dir.join("thermal_throttle/core_throttle_count")) {
                slot.insert(count);
            }
        }
        if let Entry::Vacant(slot) = packages.entry(package) {
            if let Some(count) = read_u64(&dir.join("thermal_throttle/package_throttle_count")) {
                slot.insert(count);
            }
        }
    }

    let package_family = out.family(
        "node_cpu_package_throttles_total",
        "Number of times this CPU package has been throttled.",
        MetricType::Counter,
        &["package"],
    );
    for (package, count) in packages {
        package_family.push(&[package.to_string()], count as f64);
    }
    let core_family = out.family(
        "node_cpu_core_throttles_total",
        "Number of times this CPU core has been throttled.",
        MetricType::Counter,
        &["package", "core"],
    );
    for ((package, core), count) in cores {
        core_family.push(&[package.to_string(), core.to_string()], count as f64);
    }
}

/// `node_cpu_online`: 1 for each CPU whose `online` reads 1, else 0.
/// As node_exporter, nothing at all when the first CPU has no `online`
/// file: the kernel cannot offline CPUs, or (most x86) CPU 0 cannot be
/// offlined and so has none.
fn report_online(out: &mut MetricSet, cpus: &[CpuDir]) {
    let Some((_, first)) = cpus.first() else {
        return;
    };
    if matches!(read_trimmed(&first.join("online")), Err(e) if e.kind() == io::ErrorKind::NotFound)
    {
        return;
    }
    let online = out.family(
        "node_cpu_online",
        "CPUs that are online and being scheduled.",
        MetricType::Gauge,
        &["cpu"],
    );
    for (number, dir) in cpus {
        let is_online = read_trimmed(&dir.join("online")).is_ok_and(|state| state == "1");
        online.push(&[number], if is_online { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collectors::common::testing::run;
    use crate::metrics::Family;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture_host() -> Host {
        Host::new(
            format!("{FIXTURES}/proc"),
            format!("{FIXTURES}/sys"),
            format!("{FIXTURES}/root"),
            format!("{FIXTURES}/udev"),
        )
    }

    fn collector(host: &Host) -> CpuCollector {
        let isolated = read_isolated(&host.sys_path("devices/system/cpu/isolated"));
        CpuCollector {
            guest: true,
            info: false,
            frequency: false,
            flags_include: None,
            bugs_include: None,
            isolated,
            history: Mutex::new(CpuTimesHistory::default()),
        }
    }

    /// One run of the collector with the default flags on `host`.
    fn collect_on(host: &Host) -> (Vec<Family>, Result<(), CollectError>) {
        run(&collector(host), host)
    }

    /// The samples of family `name` as (label values in label-name order,
    /// joined by ",", value).
    fn samples(families: &[Family], name: &str) -> Vec<(String, f64)> {
        families
            .iter()
            .find(|f| f.name() == name)
            .map(|f| {
                f.samples()
                    .iter()
                    .map(|s| (f.label_values(s).collect::<Vec<_>>().join(","), s.value))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn value(families: &[Family], name: &str, labels: &str) -> Option<f64> {
        samples(families, name)
            .into_iter()
            .find(|(l, _)| l == labels)
            .map(|(_, v)| v)
    }

    #[test]
    fn reports_the_fixture_host() {
        let (families, result) = collect_on(&fixture_host());
        result.unwrap();
        let names: Vec<&str> = families.iter().map(Family::name).collect();
        assert_eq!(
            names,
            [
                "node_cpu_core_throttles_total",
                "node_cpu_guest_seconds_total",
                "node_cpu_isolated",
                "node_cpu_online",
                "node_cpu_package_throttles_total",
                "node_cpu_seconds_total",
            ]
        );
        let seconds = families
            .iter()
            .find(|f| f.name() == "node_cpu_seconds_total")
            .unwrap();
        assert_eq!(seconds.metric_type(), MetricType::Counter);
        assert_eq!(seconds.help(), "Seconds the CPUs spent in each mode.");
        assert_eq!(seconds.label_names(), &["cpu", "mode"]);
        assert_eq!(seconds.samples().len(), 16);
        assert_eq!(
            value(&families, "node_cpu_seconds_total", "0,user"),
            Some(197.83)
        );
        assert_eq!(
            value(&families, "node_cpu_seconds_total", "1,idle"),
            Some(1048.6)
        );
        assert_eq!(
            value(&families, "node_cpu_seconds_total", "1,steal"),
            Some(0.19)
        );
        assert_eq!(
            samples(&families, "node_cpu_guest_seconds_total").len(),
            4,
            "user and nice per CPU"
        );
        assert_eq!(
            samples(&families, "node_cpu_isolated"),
            [("1".to_string(), 1.0)]
        );
        assert_eq!(
            samples(&families, "node_cpu_online"),
            [
                ("0".to_string(), 1.0),
                ("1".to_string(), 1.0),
                ("2".to_string(), 0.0)
            ]
        );
        assert_eq!(
            samples(&families, "node_cpu_package_throttles_total"),
            [("0".to_string(), 30.0)]
        );
        assert_eq!(
            samples(&families, "node_cpu_core_throttles_total"),
            [("0,0".to_string(), 5.0), ("1,0".to_string(), 0.0)]
        );
    }

    /// Builds the collector from a command line, as start-up does, on the
    /// fixture host.
    fn collect_built(args: &[&str], enabled: &[&'static str]) -> Vec<Family> {
        let options = crate::cli::parse([&["hostwatch"], args].concat()).unwrap();
        let host = Arc::new(fixture_host());
        let ctx = BuildContext::new(Arc::clone(&host), &options.matches, enabled);
        let (families, result) = run(build(&ctx).unwrap().as_ref(), &host);
        result.unwrap();
        families
    }

    #[test]
    fn flags_follow_node_exporter() {
        let defaults = collect_built(&[], &["cpu"]);
        assert!(!samples(&defaults, "node_cpu_guest_seconds_total").is_empty());
        assert!(samples(&defaults, "node_cpu_info").is_empty());

        for off in ["--no-collector.cpu.guest", "--collector.cpu.guest=false"] {
            let families = collect_built(&[off], &["cpu"]);
            assert!(
                samples(&families, "node_cpu_guest_seconds_total").is_empty(),
                "{off}"
            );
        }

        // An include filter turns on cpu.info; the frequency is reported
        // while the cpufreq collector does not run.
        let families = collect_built(
            &["--collector.cpu.info.flags-include=^(aes|avx2)$"],
            &["cpu"],
        );
        assert_eq!(samples(&families, "node_cpu_info").len(), 2);
        assert_eq!(samples(&families, "node_cpu_flag_info").len(), 2);
        assert!(samples(&families, "node_cpu_bug_info").is_empty());
        assert_eq!(samples(&families, "node_cpu_frequency_hertz").len(), 2);

        let families = collect_built(&["--collector.cpu.info"], &["cpu", "cpufreq"]);
        assert_eq!(samples(&families, "node_cpu_info").len(), 2);
        assert!(samples(&families, "node_cpu_frequency_hertz").is_empty());

        // An empty filter is "not set".
        let families = collect_built(&["--collector.cpu.info.bugs-include="], &["cpu"]);
        assert!(samples(&families, "node_cpu_info").is_empty());
    }

    #[test]
    fn bad_filter_stops_start_up_naming_the_flag() {
        let err = crate::cli::parse(["hostwatch", "--collector.cpu.info.bugs-include=("])
            .unwrap_err()
            .to_string();
        assert!(err.contains("collector.cpu.info.bugs-include"), "{err}");
    }

    #[test]
    fn guest_time_can_be_turned_off() {
        let host = fixture_host();
        let mut c = collector(&host);
        c.guest = false;
        let (families, _) = run(&c, &host);
        assert!(samples(&families, "node_cpu_guest_seconds_total").is_empty());
        assert!(!samples(&families, "node_cpu_seconds_total").is_empty());
    }

    #[test]
    fn info_reports_cpuinfo_and_filtered_flags_and_bugs() {
        let host = fixture_host();
        let mut c = collector(&host);
        c.info = true;
        c.frequency = true;
        c.flags_include = Some(Regex::new("^(aes|avx2|sse4_2)$").unwrap());
        c.bugs_include = Some(Regex::new("spectre").unwrap());
        let (families, result) = run(&c, &host);
        result.unwrap();
        let info = families
            .iter()
            .find(|f| f.name() == "node_cpu_info")
            .unwrap();
        assert_eq!(
            info.label_names(),
            &[
                "cachesize",
                "core",
                "cpu",
                "family",
                "microcode",
                "model",
                "model_name",
                "package",
                "stepping",
                "vendor"
            ]
        );
        assert_eq!(
            samples(&families, "node_cpu_info")[1],
            (
                "491520 KB,1,1,6,0x1,167,Intel(R) Xeon(R) Processor,0,1,GenuineIntel".to_string(),
                1.0
            )
        );
        assert_eq!(
            samples(&families, "node_cpu_frequency_hertz"),
            [("0,0,0".to_string(), 2.6e9), ("1,1,0".to_string(), 2.6e9)]
        );
        let flags: Vec<String> = samples(&families, "node_cpu_flag_info")
            .into_iter()
            .map(|(flag, _)| flag)
            .collect();
        assert_eq!(flags, ["aes", "avx2", "sse4_2"]);
        let bugs: Vec<String> = samples(&families, "node_cpu_bug_info")
            .into_iter()
            .map(|(bug, _)| bug)
            .collect();
        assert_eq!(bugs, ["spectre_v1", "spectre_v2", "spectre_v2_user"]);
    }

    #[test]
    fn info_without_filters_reports_no_flags_and_frequency_yields_to_cpufreq() {
        let host = fixture_host();
        let mut c = collector(&host);
        c.info = true;
        let (families, _) = run(&c, &host);
        assert_eq!(samples(&families, "node_cpu_info").len(), 2);
        assert!(samples(&families, "node_cpu_flag_info").is_empty());
        assert!(samples(&families, "node_cpu_bug_info").is_empty());
        assert!(samples(&families, "node_cpu_frequency_hertz").is_empty());
    }

    #[test]
    fn counters_never_go_backwards_but_restart_after_hotplug() {
        let reading = |idle: f64, user: f64| {
            BTreeMap::from([(
                0,
                CpuTimes {
                    idle,
                    user,
                    iowait: user,
                    ..CpuTimes::default()
                },
            )])
        };
        let mut history = CpuTimesHistory::default();
        assert_eq!(history.record(&reading(100.0, 100.0))[&0].user, 100.0);
        // Small jitter backwards: the last values are held.
        let held = history.record(&reading(99.9, 99.9))[&0];
        assert_eq!((held.idle, held.user, held.iowait), (100.0, 100.0, 100.0));
        // Forwards again: new values.
        assert_eq!(history.record(&reading(101.0, 102.0))[&0].user, 102.0);
        // Idle back by 3s or more: the CPU was replugged, start over.
        let restarted = history.record(&reading(1.0, 50.0))[&0];
        assert_eq!((restarted.idle, restarted.user), (1.0, 50.0));
    }

    #[test]
    fn offline_cpus_are_forgotten() {
        let mut history = CpuTimesHistory::default();
        let two = BTreeMap::from([(0, CpuTimes::default()), (1, CpuTimes::default())]);
        assert_eq!(history.record(&two).len(), 2);
        let one = BTreeMap::from([(1, CpuTimes::default())]);
        assert_eq!(history.record(&one).keys().collect::<Vec<_>>(), [&1]);
    }

    /// A host tree in a temporary directory.
    struct TempHost {
        dir: tempfile::TempDir,
    }

    impl TempHost {
        fn new() -> TempHost {
            TempHost {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, relative: &str, content: &str) {
            let path = self.dir.path().join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }

        fn host(&self) -> Host {
            let root = self.dir.path();
            Host::new(root.join("proc"), root.join("sys"), root, root)
        }
    }

    #[test]
    fn old_kernel_short_lines_and_no_sysfs() {
        let tree = TempHost::new();
        tree.write(
            "proc/stat",
            "cpu  2 0 2 8 0 0 0\ncpu0 2 0 2 8 0 0 0\nctxt 1\n",
        );
        let (families, result) = collect_on(&tree.host());
        result.unwrap();
        assert_eq!(
            value(&families, "node_cpu_seconds_total", "0,idle"),
            Some(0.08)
        );
        assert_eq!(
            value(&families, "node_cpu_seconds_total", "0,steal"),
            Some(0.0)
        );
        assert_eq!(
            value(&families, "node_cpu_guest_seconds_total", "0,nice"),
            Some(0.0)
        );
        assert!(samples(&families, "node_cpu_online").is_empty());
        assert!(samples(&families, "node_cpu_isolated").is_empty());
    }

    #[test]
    fn online_needs_the_first_cpus_online_file() {
        let tree = TempHost::new();
        tree.write("proc/stat", "cpu0 1 2 3 4\ncpu1 1 2 3 4\n");
        tree.write("sys/devices/system/cpu/cpu0/topology/core_id", "0\n");
        tree.write("sys/devices/system/cpu/cpu1/online", "0\n");
        tree.write("sys/devices/system/cpu/cpufreq/policy0/x", "");
        let (families, _) = collect_on(&tree.host());
        assert!(samples(&families, "node_cpu_online").is_empty());

        tree.write("sys/devices/system/cpu/cpu0/online", "garbage\n");
        tree.write("sys/devices/system/cpu/cpu10/online", "1\n");
        let (families, _) = collect_on(&tree.host());
        assert_eq!(
            samples(&families, "node_cpu_online"),
            [
                ("0".to_string(), 0.0),
                ("1".to_string(), 0.0),
                ("10".to_string(), 1.0)
            ]
        );
    }

    #[test]
    fn throttles_skip_cpus_without_numeric_topology() {
        let tree = TempHost::new();
        tree.write("proc/stat", "cpu0 1 2 3 4\n");
        let cpu = "sys/devices/system/cpu";
        tree.write(&format!("{cpu}/cpu0/topology/physical_package_id"), "-1\n");
        tree.write(&format!("{cpu}/cpu0/topology/core_id"), "0\n");
        tree.write(
            &format!("{cpu}/cpu0/thermal_throttle/core_throttle_count"),
            "9\n",
        );
        // Core count but no package count (RHEL 6 on older Xeons).
        tree.write(&format!("{cpu}/cpu1/topology/physical_package_id"), "1\n");
        tree.write(&format!("{cpu}/cpu1/topology/core_id"), "3\n");
        tree.write(
            &format!("{cpu}/cpu1/thermal_throttle/core_throttle_count"),
            "7\n",
        );
        let (families, result) = collect_on(&tree.host());
        result.unwrap();
        assert_eq!(
            samples(&families, "node_cpu_core_throttles_total"),
            [("3,1".to_string(), 7.0)]
        );
        assert!(samples(&families, "node_cpu_package_throttles_total").is_empty());
    }

    #[test]
    fn damaged_sources_fail_but_the_rest_is_reported() {
        let tree = TempHost::new();
        tree.write("proc/stat", "cpu0 1 2 3 4\n");
        tree.write("proc/cpuinfo", "processor : zero\n");
        tree.write("sys/devices/system/cpu/isolated", "1-0\n");
        tree.write("sys/devices/system/cpu/cpu0/online", "1\n");
        let host = tree.host();
        let mut c = collector(&host);
        c.info = true;
        let (families, result) = run(&c, &host);
        let message = result.unwrap_err().message().to_string();
        assert!(message.contains("cpuinfo"), "{message}");
        assert!(message.contains("isolated"), "{message}");
        assert!(!samples(&families, "node_cpu_seconds_total").is_empty());
        assert_eq!(
            samples(&families, "node_cpu_online"),
            [("0".to_string(), 1.0)]
        );
    }

    #[test]
    fn missing_or_garbage_proc_stat_fails() {
        let tree = TempHost::new();
        let (_, result) = collect_on(&tree.host());
        assert!(result.unwrap_err().message().contains("stat"));
        for bad in ["", "intr 1\n", "cpu0 a b c d\n", "\u{0}\u{fffd}"] {
            tree.write("proc/stat", bad);
            let (families, result) = collect_on(&tree.host());
            assert!(result.is_err(), "{bad:?}");
            assert!(samples(&families, "node_cpu_seconds_total").is_empty());
        }
    }
}
