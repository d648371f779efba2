//! `edac`: corrected and uncorrected memory errors counted by the kernel's
//! EDAC drivers, per memory controller and chip-select row, from
//! `<sysfs>/devices/system/edac/mc/mc*/`.
//!
//! Errors the driver could not place on a row (`ce_noinfo_count`,
//! `ue_noinfo_count`) are reported under the row `unknown`, as
//! node_exporter does. A host without EDAC reports nothing, successfully.

use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "edac",
    default_enabled: true,
    reads: "/sys/devices/system/edac/mc/mc*/",
    flags: None,
    build: plain::<EdacCollector>,
};

/// Reports `node_edac_*`.
#[derive(Default)]
struct EdacCollector;

/// The counters of one memory controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryController {
    /// The controller's number: `0` for `mc0`.
    pub number: String,
    /// `ce_count`: all corrected errors.
    pub correctable: u64,
    /// `ue_count`: all uncorrected errors.
    pub uncorrectable: u64,
    /// `ce_noinfo_count`: corrected errors not attributed to a row.
    pub correctable_unknown_row: u64,
    /// `ue_noinfo_count`: uncorrected errors not attributed to a row.
    pub uncorrectable_unknown_row: u64,
    /// Each `csrow<N>`: its number and its corrected and uncorrected errors.
    pub rows: Vec<(String, u64, u64)>,
}

/// The number following `prefix` in a directory name as node_exporter
/// takes it: `mc0` is `0`; a name such as `mc0x` (matched by its glob
/// `mc[0-9]*`) is `0` too. `None` for names without a digit after `prefix`.
pub fn entry_number<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(prefix)?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (digits > 0).then(|| &rest[..digits])
}

/// Parses a counter file's content: a decimal count.
pub fn parse_count(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Names in `dir` with a number after `prefix`, with that number, sorted.
fn numbered_entries(dir: &Path, prefix: &str) -> io::Result<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let number = entry_number(&name, prefix)?.to_string();
            Some((name, number))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Reads one counter file of `dir`, failing with what and where.
fn read_count(dir: &Path, file: &str, whose: &str) -> Result<u64, CollectError> {
    let path = dir.join(file);
    let text = read_sysfs_attribute(&path)
        .map_err(|e| CollectError::failed(format!("couldn't get {file} for {whose}: {e}")))?;
    parse_count(&text)
        .ok_or_else(|| CollectError::parse(&path, format!("{file} for {whose}: {text:?}")))
}

impl MemoryController {
    /// Reads the controller directory `dir` numbered `number`: every
    /// counter is required, as node_exporter requires them.
    pub fn read(number: &str, dir: &Path) -> Result<MemoryController, CollectError> {
        let whose = format!("controller {number}");
        let mut controller = MemoryController {
            number: number.to_string(),
            correctable: read_count(dir, "ce_count", &whose)?,
            correctable_unknown_row: read_count(dir, "ce_noinfo_count", &whose)?,
            uncorrectable: read_count(dir, "ue_count", &whose)?,
            uncorrectable_unknown_row: read_count(dir, "ue_noinfo_count", &whose)?,
            rows: Vec::new(),
        };
        let rows = numbered_entries(dir, "csrow").map_err(|e| CollectError::io(dir, &e))?;
        for (name, row) in rows {
            let row_dir = dir.join(&name);
            let whose = format!("controller/csrow {number}/{row}");
            let correctable = read_count(&row_dir, "ce_count", &whose)?;
            let uncorrectable = read_count(&row_dir, "ue_count", &whose)?;
            controller.rows.push((row, correctable, uncorrectable));
        }
        Ok(controller)
    }
}

impl Collector for EdacCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let root = host.sys_path("devices/system/edac/mc");
        let entries = match numbered_entries(&root, "mc") {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(CollectError::io(&root, &err)),
        };
        let mut controllers = Vec::new();
        for (name, number) in entries {
            controllers.push(MemoryController::read(&number, &root.join(name))?);
        }

        let ce = out.family(
            "node_edac_correctable_errors_total",
            "Total correctable memory errors.",
            MetricType::Counter,
            &["controller"],
        );
        for c in &controllers {
            ce.push(&[&c.number], c.correctable as f64);
        }
        let ue = out.family(
            "node_edac_uncorrectable_errors_total",
            "Total uncorrectable memory errors.",
            MetricType::Counter,
            &["controller"],
        );
        for c in &controllers {
            ue.push(&[&c.number], c.uncorrectable as f64);
        }
        let row_ce = out.family(
            "node_edac_csrow_correctable_errors_total",
            "Total correctable memory errors for this csrow.",
            MetricType::Counter,
            &["controller", "csrow"],
        );
        for c in &controllers {
            row_ce.push(
                &[c.number.as_str(), "unknown"],
                c.correctable_unknown_row as f64,
            );
            for (row, correctable, _) in &c.rows {
                row_ce.push(&[&c.number, row], *correctable as f64);
            }
        }
        let row_ue = out.family(
            "node_edac_csrow_uncorrectable_errors_total",
            "Total uncorrectable memory errors for this csrow.",
            MetricType::Counter,
            &["controller", "csrow"],
        );
        for c in &controllers {
            row_ue.push(
                &[c.number.as_str(), "unknown"],
                c.uncorrectable_unknown_row as f64,
            );
            for (row, _, uncorrectable) in &c.rows {
                row_ue.push(&[&c.number, row], *uncorrectable as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_sysfs, scrape_fixtures, write_files,
    };

    #[test]
    fn entry_numbers() {
        assert_eq!(entry_number("mc0", "mc"), Some("0"));
        assert_eq!(entry_number("mc12", "mc"), Some("12"));
        assert_eq!(entry_number("mc1x", "mc"), Some("1"));
        assert_eq!(entry_number("mc", "mc"), None);
        assert_eq!(entry_number("power", "mc"), None);
        assert_eq!(entry_number("csrow3", "csrow"), Some("3"));
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("0\n"), Some(0));
        assert_eq!(parse_count(" 18446744073709551615 "), Some(u64::MAX));
        assert_eq!(parse_count("-1\n"), None);
        assert_eq!(parse_count(""), None);
        assert_eq!(parse_count("0x10"), None);
    }

    fn host_with_mc(files: &[(&str, &[(&str, &str)])]) -> (tempfile::TempDir, Host) {
        let sys = tempfile::tempdir().unwrap();
        for (dir, contents) in files {
            write_files(&sys.path().join(dir), contents);
        }
        let host = host_with_sysfs(sys.path());
        (sys, host)
    }

    const COUNTS: &[(&str, &str)] = &[
        ("ce_count", "3\n"),
        ("ce_noinfo_count", "1\n"),
        ("ue_count", "0\n"),
        ("ue_noinfo_count", "0\n"),
    ];

    #[test]
    fn a_controller_without_rows() {
        // Newer drivers describe DIMMs (`dimm*`, `rank*`) rather than rows.
        let (_sys, host) = host_with_mc(&[("devices/system/edac/mc/mc0", COUNTS)]);
        let text = build(&SPEC, host, &[]).unwrap().render();
        assert!(text.contains("node_edac_correctable_errors_total{controller=\"0\"} 3\n"));
        assert!(text.contains(
            "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"unknown\"} 1\n"
        ));
        assert_eq!(text.matches("csrow_correctable_errors_total{").count(), 1);
    }

    #[test]
    fn a_missing_counter_fails() {
        let (_sys, host) = host_with_mc(&[
            ("devices/system/edac/mc/mc0", COUNTS),
            ("devices/system/edac/mc/mc0/csrow0", &[("ce_count", "1\n")]),
        ]);
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        let err = result.unwrap_err();
        assert!(
            err.message().contains("ue_count for controller/csrow 0/0"),
            "{err}"
        );
    }

    #[test]
    fn no_edac_is_success_without_metrics() {
        let (_sys, host) = host_with_mc(&[]);
        let (families, result) = build(&SPEC, host, &[]).unwrap().run();
        assert!(result.is_ok());
        assert!(families.is_empty());
    }

    #[test]
    fn fixture_controllers() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# TYPE node_edac_correctable_errors_total counter",
            "node_edac_correctable_errors_total{controller=\"0\"} 7\n",
            "node_edac_uncorrectable_errors_total{controller=\"0\"} 1\n",
            "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"0\"} 4\n",
            "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"unknown\"} 2\n",
            "node_edac_csrow_uncorrectable_errors_total{controller=\"0\",csrow=\"1\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
