//! `filefd`: allocated and maximum file handles from
//! `<procfs>/sys/fs/file-nr`.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::MetricSet;
use crate::parse::number;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "filefd",
    default_enabled: true,
    reads: "/proc/sys/fs/file-nr",
    flags: None,
    build: plain::<FilefdCollector>,
};

/// Reports `node_filefd_allocated` and `node_filefd_maximum`.
#[derive(Default)]
struct FilefdCollector;

/// The counts of `/proc/sys/fs/file-nr`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileNr {
    /// File handles allocated (the first field).
    pub allocated: f64,
    /// The `fs.file-max` limit (the third field).
    pub maximum: f64,
}

impl FileNr {
    /// Parses `allocated<TAB>free<TAB>maximum`. The second field, free
    /// allocated handles, is always 0 since Linux 2.6 and is ignored.
    pub fn parse(text: &str) -> Result<FileNr, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() < 3 {
            return Err(format!(
                "expected 3 fields, found {}: {:?}",
                fields.len(),
                text.trim()
            ));
        }
        let value = |field: &str| number(field).ok_or_else(|| format!("invalid value {field:?}"));
        Ok(FileNr {
            allocated: value(fields[0])?,
            maximum: value(fields[2])?,
        })
    }
}

impl Collector for FilefdCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("sys/fs/file-nr");
        let text = read_sysfs_attribute(&path).map_err(|e| CollectError::io(&path, &e))?;
        let file_nr = FileNr::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        out.gauge(
            "node_filefd_allocated",
            "File descriptor statistics: allocated.",
            file_nr.allocated,
        );
        out.gauge(
            "node_filefd_maximum",
            "File descriptor statistics: maximum.",
            file_nr.maximum,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, run};
    use crate::metrics::{Family, MetricType};

    #[test]
    fn parses_this_machines_file() {
        let text = include_str!("../../tests/fixtures/proc/sys/fs/file-nr");
        let file_nr = FileNr::parse(text).unwrap();
        assert!(file_nr.allocated > 0.0);
        assert!(file_nr.maximum >= file_nr.allocated);
    }

    #[test]
    fn takes_first_and_third_fields() {
        assert_eq!(
            FileNr::parse("1024\t0\t9223372036854775807\n").unwrap(),
            FileNr {
                allocated: 1024.0,
                maximum: 9223372036854775807.0
            }
        );
        // 2.4 kernels reported free handles in the second field.
        assert_eq!(
            FileNr::parse("4096\t312\t52428\n").unwrap().maximum,
            52428.0
        );
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert!(FileNr::parse("").is_err());
        assert!(FileNr::parse("1024\t0").is_err());
        assert!(FileNr::parse("a\t0\t100").is_err());
        assert!(FileNr::parse("100\t0\tmax").is_err());
        assert!(FileNr::parse("\0\0\0").is_err());
    }

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(&FilefdCollector, &host_with_procfs(procfs))
    }

    #[test]
    fn collector_emits_both_gauges() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sys/fs")).unwrap();
        std::fs::write(
            dir.path().join("sys/fs/file-nr"),
            "1344\t0\t9223372036854775807\n",
        )
        .unwrap();
        let (families, result) = collect(dir.path());
        result.unwrap();
        let summary: Vec<(&str, &str, MetricType, f64)> = families
            .iter()
            .map(|f| (f.name(), f.help(), f.metric_type(), f.samples()[0].value))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "node_filefd_allocated",
                    "File descriptor statistics: allocated.",
                    MetricType::Gauge,
                    1344.0
                ),
                (
                    "node_filefd_maximum",
                    "File descriptor statistics: maximum.",
                    MetricType::Gauge,
                    9223372036854775807.0
                ),
            ]
        );
    }

    #[test]
    fn missing_or_garbage_file_fails_without_output() {
        let dir = tempfile::tempdir().unwrap();
        assert!(collect(dir.path()).1.is_err());
        std::fs::create_dir_all(dir.path().join("sys/fs")).unwrap();
        std::fs::write(dir.path().join("sys/fs/file-nr"), "12\t0\n").unwrap();
        let (families, result) = collect(dir.path());
        assert!(result.unwrap_err().message().contains("file-nr"));
        assert!(families.is_empty());
    }
}
