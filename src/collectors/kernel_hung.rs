//! `kernel_hung`: how many tasks the kernel's hung-task detector has found,
//! from `<procfs>/sys/kernel/hung_task_detect_count` (Linux 6.13 and later,
//! with `CONFIG_DETECT_HUNG_TASK`). Without the file there is no data.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::MetricSet;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "kernel_hung",
    default_enabled: true,
    reads: "/proc/sys/kernel/hung_task_detect_count",
    flags: None,
    build: plain::<KernelHungCollector>,
};

/// Reports `node_kernel_hung_tasks_total`.
#[derive(Default)]
struct KernelHungCollector;

/// Parses `hung_task_detect_count`: an unsigned decimal count and a newline.
pub fn parse_detect_count(text: &str) -> Result<u64, String> {
    let text = text.trim();
    text.parse()
        .map_err(|_| format!("invalid hung task count {text:?}"))
}

impl Collector for KernelHungCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("sys/kernel/hung_task_detect_count");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let count = parse_detect_count(&text).map_err(|e| CollectError::parse(&path, e))?;
        out.counter(
            "node_kernel_hung_tasks_total",
            "Total number of tasks that have been detected as hung since the system booted.",
            count as f64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, run, scrape_fixtures};
    use crate::collectors::ErrorKind;
    use crate::metrics::Family;

    #[test]
    fn parses_this_machines_file() {
        let text = include_str!("../../tests/fixtures/proc/sys/kernel/hung_task_detect_count");
        assert_eq!(parse_detect_count(text).unwrap(), 4);
    }

    #[test]
    fn parses_counts_up_to_u64() {
        assert_eq!(parse_detect_count("0\n").unwrap(), 0);
        assert_eq!(
            parse_detect_count("18446744073709551615\n").unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        for bad in [
            "",
            "\n",
            "-1\n",
            "12abc\n",
            "1 2\n",
            "18446744073709551616",
            "\0",
        ] {
            assert!(parse_detect_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fixture_tree_reports_the_counter() {
        assert_eq!(
            scrape_fixtures(&SPEC, &[]),
            "# HELP node_kernel_hung_tasks_total Total number of tasks that have been detected as hung since the system booted.\n\
             # TYPE node_kernel_hung_tasks_total counter\n\
             node_kernel_hung_tasks_total 4\n"
        );
    }

    fn collect(content: Option<&str>) -> (Vec<Family>, Result<(), CollectError>) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(content) = content {
            std::fs::create_dir_all(dir.path().join("sys/kernel")).unwrap();
            std::fs::write(
                dir.path().join("sys/kernel/hung_task_detect_count"),
                content,
            )
            .unwrap();
        }
        run(&KernelHungCollector, &host_with_procfs(dir.path()))
    }

    #[test]
    fn kernel_without_the_detector_has_no_data() {
        let (families, result) = collect(None);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(families.is_empty());
    }

    #[test]
    fn garbled_file_fails_without_output() {
        let (families, result) = collect(Some("lots\n"));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("hung_task_detect_count"), "{err}");
        assert!(families.is_empty());
    }
}
