//! `swap`: the size, use and priority of each swap device and file, from
//! `<procfs>/swaps`.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "swap",
    default_enabled: false,
    reads: "/proc/swaps",
    flags: None,
    build: plain::<SwapCollector>,
};

/// Reports `node_swap_size_bytes`, `node_swap_used_bytes` and
/// `node_swap_priority`.
#[derive(Default)]
struct SwapCollector;

/// One row of `/proc/swaps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapArea {
    /// The device or file, as the kernel prints it (whitespace and
    /// backslashes escaped as octal, `\040`).
    pub device: String,
    /// `partition` or `file`.
    pub swap_type: String,
    /// Size in KiB.
    pub size_kib: u64,
    /// Used in KiB.
    pub used_kib: u64,
    /// Priority; negative when the kernel chose it.
    pub priority: i64,
}

impl SwapArea {
    /// Parses `/proc/swaps`: a header line, then one row per swap area of
    /// whitespace-separated filename, type, size, used and priority (the
    /// kernel's column padding differs between versions). Extra columns are
    /// ignored; a short or non-numeric row is an error, as the file is
    /// generated whole by the kernel.
    pub fn parse_all(text: &str) -> Result<Vec<SwapArea>, String> {
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .skip_while(|line| line.starts_with("Filename"))
            .map(SwapArea::parse)
            .collect()
    }

    fn parse(line: &str) -> Result<SwapArea, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, swap_type, size, used, priority, ..] = fields[..] else {
            return Err(format!("too few fields in swap line {line:?}"));
        };
        let number = |what: &str, field: &str| {
            field
                .parse::<u64>()
                .map_err(|_| format!("invalid swap {what} {field:?} in {line:?}"))
        };
        Ok(SwapArea {
            device: device.to_string(),
            swap_type: swap_type.to_string(),
            size_kib: number("size", size)?,
            used_kib: number("used", used)?,
            priority: priority
                .parse()
                .map_err(|_| format!("invalid swap priority {priority:?} in {line:?}"))?,
        })
    }
}

impl Collector for SwapCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("swaps");
        // A kernel built without swap support has no /proc/swaps.
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let areas = SwapArea::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        render(&areas, out);
        Ok(())
    }
}

/// Writes the three per-area gauges, labelled by device and type.
fn render(areas: &[SwapArea], out: &mut MetricSet) {
    const LABELS: &[&str] = &["device", "swap_type"];
    let size = out.family(
        "node_swap_size_bytes",
        "Swap device size in bytes.",
        MetricType::Gauge,
        LABELS,
    );
    for area in areas {
        size.push(
            &[&area.device, &area.swap_type],
            area.size_kib as f64 * 1024.0,
        );
    }
    let used = out.family(
        "node_swap_used_bytes",
        "Swap device used in bytes.",
        MetricType::Gauge,
        LABELS,
    );
    for area in areas {
        used.push(
            &[&area.device, &area.swap_type],
            area.used_kib as f64 * 1024.0,
        );
    }
    let priority = out.family(
        "node_swap_priority",
        "Swap device priority.",
        MetricType::Gauge,
        LABELS,
    );
    for area in areas {
        priority.push(&[&area.device, &area.swap_type], area.priority as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_procfs, procfs_with, scrape_fixtures,
    };

    /// As kernels since 2.6 print it: the path padded to 40 columns,
    /// tab-separated numbers.
    const CURRENT: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
        /dev/sda2                               partition\t8388604\t\t1024\t\t-2\n\
        /swap/swapfile                          file\t\t2097148\t\t524288\t\t-3\n";

    #[test]
    fn parses_partitions_and_files() {
        assert_eq!(
            SwapArea::parse_all(CURRENT).unwrap(),
            vec![
                SwapArea {
                    device: "/dev/sda2".into(),
                    swap_type: "partition".into(),
                    size_kib: 8_388_604,
                    used_kib: 1024,
                    priority: -2,
                },
                SwapArea {
                    device: "/swap/swapfile".into(),
                    swap_type: "file".into(),
                    size_kib: 2_097_148,
                    used_kib: 524_288,
                    priority: -3,
                },
            ]
        );
    }

    #[test]
    fn header_only_and_odd_rows() {
        assert_eq!(
            SwapArea::parse_all("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n").unwrap(),
            vec![]
        );
        assert_eq!(SwapArea::parse_all("").unwrap(), vec![]);
        // A path with an escaped space, a size past the padding columns, a
        // positive priority, and no trailing newline.
        let areas = SwapArea::parse_all(
            "Filename\tType\tSize\tUsed\tPriority\n\
             /var/my\\040swap file\t\t104857600\t0\t\t10",
        )
        .unwrap();
        assert_eq!(areas[0].device, "/var/my\\040swap");
        assert_eq!(areas[0].size_kib, 104_857_600);
        assert_eq!(areas[0].priority, 10);
    }

    #[test]
    fn truncated_or_garbage_rows_are_errors() {
        for text in [
            "Filename Type Size Used Priority\n/dev/sda2 partition 8388604 1024\n",
            "Filename Type Size Used Priority\n/dev/sda2 partition lots 0 -2\n",
            "Filename Type Size Used Priority\n/dev/sda2 partition 1 -1 -2\n",
            "Filename Type Size Used Priority\n/dev/sda2 partition 1 0 high\n",
            "Filename Type Size Used Priority\n/dev/sda2 partition 99999999999999999999 0 -2\n",
        ] {
            assert!(SwapArea::parse_all(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn renders_the_fixture_as_node_exporter() {
        let out = scrape_fixtures(&SPEC, &["--collector.swap"]);
        for line in [
            "# HELP node_swap_size_bytes Swap device size in bytes.",
            "# TYPE node_swap_size_bytes gauge",
            r#"node_swap_size_bytes{device="/dev/sda2",swap_type="partition"} 8.589930496e+09"#,
            r#"node_swap_size_bytes{device="/swap/swapfile",swap_type="file"} 2.147479552e+09"#,
            "# HELP node_swap_used_bytes Swap device used in bytes.",
            "# TYPE node_swap_used_bytes gauge",
            r#"node_swap_used_bytes{device="/dev/sda2",swap_type="partition"} 1.048576e+06"#,
            r#"node_swap_used_bytes{device="/swap/swapfile",swap_type="file"} 5.36870912e+08"#,
            "# HELP node_swap_priority Swap device priority.",
            "# TYPE node_swap_priority gauge",
            r#"node_swap_priority{device="/dev/sda2",swap_type="partition"} -2"#,
            r#"node_swap_priority{device="/swap/swapfile",swap_type="file"} -3"#,
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        assert_eq!(out.lines().filter(|l| !l.starts_with('#')).count(), 6);
    }

    #[test]
    fn no_swap_configured_is_success_without_series() {
        let dir = procfs_with(&[(
            "swaps",
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
        )]);
        let collector = build(&SPEC, host_with_procfs(dir.path()), &[]).unwrap();
        assert!(!collector.render().contains("node_swap_size_bytes{"));
    }

    #[test]
    fn missing_or_garbage_file_fails_without_panicking() {
        let dir = procfs_with(&[]);
        let collector = build(&SPEC, host_with_procfs(dir.path()), &[]).unwrap();
        assert!(collector.run().1.is_err());

        let dir = procfs_with(&[("swaps", "Filename\n/dev/sda2 partition \u{0}\u{1}\n")]);
        let collector = build(&SPEC, host_with_procfs(dir.path()), &[]).unwrap();
        assert!(collector.run().1.is_err());
    }
}
