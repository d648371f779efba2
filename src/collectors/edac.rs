//! `edac`: corrected and uncorrected memory errors counted by the kernel's
//! EDAC drivers, per memory controller, chip-select row and channel of a
//! row, from `<sysfs>/devices/system/edac/mc/mc*/`.
//!
//! Errors the driver could not place on a row (`ce_noinfo_count`,
//! `ue_noinfo_count`) are reported under the row `unknown`, as
//! node_exporter does. A host without EDAC reports nothing, successfully.
//!
//! A row's channels are its `ch<N>_ce_count` files, each labelled with the
//! DIMM the driver names in `ch<N>_dimm_label` (empty when there is none).
//! The kernel writes no per-channel uncorrected count; a `ch<N>_ue_count`
//! where one exists is reported, and its absence is not an error, as in
//! node_exporter 1.12.1.

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
    /// Each `csrow<N>`, in name order.
    pub rows: Vec<ChipSelectRow>,
}

/// The counters of one chip-select row (`csrow<N>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChipSelectRow {
    /// The row's number: `0` for `csrow0`.
    pub number: String,
    /// `ce_count`: corrected errors on the row.
    pub correctable: u64,
    /// `ue_count`: uncorrected errors on the row.
    pub uncorrectable: u64,
    /// Each channel with a `ch<N>_ce_count`, in name order.
    pub channels: Vec<RowChannel>,
}

/// The counters of one channel of a chip-select row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowChannel {
    /// The channel's number: `1` for `ch1_ce_count`.
    pub number: String,
    /// `ch<N>_dimm_label`, trimmed: the DIMM slot as the driver or the
    /// administrator named it; empty when the file is absent.
    pub dimm_label: String,
    /// `ch<N>_ce_count`: corrected errors on the channel.
    pub correctable: u64,
    /// `ch<N>_ue_count`, which kernels do not write; `None` without it.
    pub uncorrectable: Option<u64>,
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

/// The channel number of a row's per-channel corrected-error file:
/// `ch2_ce_count` is `2`. `None` for any other name.
pub fn channel_number(file_name: &str) -> Option<&str> {
    let number = file_name.strip_prefix("ch")?.strip_suffix("_ce_count")?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
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

/// The channels of the row directory `dir`, sorted by file name.
fn channel_numbers(dir: &Path) -> io::Result<Vec<String>> {
    let mut found: Vec<String> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| Some(channel_number(entry.file_name().to_str()?)?.to_string()))
        .collect();
    found.sort();
    Ok(found)
}

/// Reads an optional attribute of `dir`: `None` when the file is absent.
fn read_optional(dir: &Path, file: &str) -> Result<Option<String>, CollectError> {
    let path = dir.join(file);
    match read_sysfs_attribute(&path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CollectError::io(&path, &err)),
    }
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
            controller
                .rows
                .push(ChipSelectRow::read(number, &row, &row_dir)?);
        }
        Ok(controller)
    }
}

impl ChipSelectRow {
    /// Reads the row directory `dir`, numbered `row`, of controller
    /// `controller`. The row's two counts and each channel's corrected
    /// count are required; a channel's label and uncorrected count are not.
    pub fn read(controller: &str, row: &str, dir: &Path) -> Result<ChipSelectRow, CollectError> {
        let whose = format!("controller/csrow {controller}/{row}");
        let mut read = ChipSelectRow {
            number: row.to_string(),
            correctable: read_count(dir, "ce_count", &whose)?,
            uncorrectable: read_count(dir, "ue_count", &whose)?,
            channels: Vec::new(),
        };
        let channels = channel_numbers(dir).map_err(|e| CollectError::io(dir, &e))?;
        for channel in channels {
            let whose = format!("controller/csrow/channel {controller}/{row}/{channel}");
            let uncorrectable = match read_optional(dir, &format!("ch{channel}_ue_count"))? {
                Some(text) => Some(parse_count(&text).ok_or_else(|| {
                    CollectError::parse(
                        &dir.join(format!("ch{channel}_ue_count")),
                        format!("ch{channel}_ue_count for {whose}: {text:?}"),
                    )
                })?),
                None => None,
            };
            read.channels.push(RowChannel {
                correctable: read_count(dir, &format!("ch{channel}_ce_count"), &whose)?,
                uncorrectable,
                dimm_label: read_optional(dir, &format!("ch{channel}_dimm_label"))?
                    .map(|label| label.trim().to_string())
                    .unwrap_or_default(),
                number: channel,
            });
        }
        Ok(read)
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
            for row in &c.rows {
                row_ce.push(&[&c.number, &row.number], row.correctable as f64);
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
            for row in &c.rows {
                row_ue.push(&[&c.number, &row.number], row.uncorrectable as f64);
            }
        }
        let channels = || {
            controllers.iter().flat_map(|c| {
                c.rows.iter().flat_map(move |row| {
                    row.channels.iter().map(move |ch| {
                        (
                            [c.number.as_str(), &row.number, &ch.number, &ch.dimm_label],
                            ch,
                        )
                    })
                })
            })
        };
        let channel_ce = out.family(
            "node_edac_channel_correctable_errors_total",
            "Total correctable memory errors for this channel.",
            MetricType::Counter,
            &["controller", "csrow", "channel", "dimm_label"],
        );
        for (labels, ch) in channels() {
            channel_ce.push(&labels, ch.correctable as f64);
        }
        if channels().any(|(_, ch)| ch.uncorrectable.is_some()) {
            let channel_ue = out.family(
                "node_edac_channel_uncorrectable_errors_total",
                "Total uncorrectable memory errors for this channel.",
                MetricType::Counter,
                &["controller", "csrow", "channel", "dimm_label"],
            );
            for (labels, ch) in channels() {
                if let Some(uncorrectable) = ch.uncorrectable {
                    channel_ue.push(&labels, uncorrectable as f64);
                }
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
    fn channel_numbers_of_file_names() {
        assert_eq!(channel_number("ch0_ce_count"), Some("0"));
        assert_eq!(channel_number("ch11_ce_count"), Some("11"));
        assert_eq!(channel_number("ch0_ue_count"), None);
        assert_eq!(channel_number("ch0_dimm_label"), None);
        assert_eq!(channel_number("ch_ce_count"), None);
        assert_eq!(channel_number("chx_ce_count"), None);
        assert_eq!(channel_number("ce_count"), None);
        assert_eq!(channel_number("ch1_ce_count.bak"), None);
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
        assert!(!text.contains("node_edac_channel_"), "{text}");
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

    /// A row as the legacy csrow layout of a 4.x–6.x kernel writes it:
    /// channel labels and corrected counts, no per-channel uncorrected count.
    const ROW: &[(&str, &str)] = &[
        ("ce_count", "5\n"),
        ("ue_count", "0\n"),
        ("ch0_ce_count", "5\n"),
        ("ch0_dimm_label", "CPU_SrcID#0_Ha#0_Chan#0_DIMM#0\n"),
        ("ch1_ce_count", "0\n"),
        ("ch1_dimm_label", "mc#0csrow#0channel#1\n"),
        ("ch10_ce_count", "2\n"),
        ("size_mb", "8192\n"),
    ];

    #[test]
    fn channels_of_a_row_with_their_dimm_labels() {
        let (_sys, host) = host_with_mc(&[
            ("devices/system/edac/mc/mc0", COUNTS),
            ("devices/system/edac/mc/mc0/csrow0", ROW),
        ]);
        let text = build(&SPEC, host, &[]).unwrap().render();
        for expected in [
            "# HELP node_edac_channel_correctable_errors_total Total correctable memory errors for this channel.\n",
            "# TYPE node_edac_channel_correctable_errors_total counter\n",
            "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"CPU_SrcID#0_Ha#0_Chan#0_DIMM#0\"} 5\n",
            "node_edac_channel_correctable_errors_total{channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"mc#0csrow#0channel#1\"} 0\n",
            "node_edac_channel_correctable_errors_total{channel=\"10\",controller=\"0\",csrow=\"0\",dimm_label=\"\"} 2\n",
            "node_edac_csrow_correctable_errors_total{controller=\"0\",csrow=\"0\"} 5\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(
            !text.contains("node_edac_channel_uncorrectable_errors_total"),
            "no ch*_ue_count, no family: {text}"
        );
    }

    #[test]
    fn a_channel_uncorrected_count_where_one_exists() {
        let (_sys, host) = host_with_mc(&[
            ("devices/system/edac/mc/mc0", COUNTS),
            ("devices/system/edac/mc/mc0/csrow0", ROW),
            (
                "devices/system/edac/mc/mc0/csrow0",
                &[("ch1_ue_count", "4\n")],
            ),
        ]);
        let text = build(&SPEC, host, &[]).unwrap().render();
        assert!(text.contains(
            "node_edac_channel_uncorrectable_errors_total{channel=\"1\",controller=\"0\",csrow=\"0\",dimm_label=\"mc#0csrow#0channel#1\"} 4\n"
        ), "{text}");
        assert_eq!(
            text.matches("node_edac_channel_uncorrectable_errors_total{")
                .count(),
            1,
            "only the channel that has one: {text}"
        );
    }

    #[test]
    fn a_bad_channel_count_fails_naming_it() {
        let (_sys, host) = host_with_mc(&[
            ("devices/system/edac/mc/mc0", COUNTS),
            ("devices/system/edac/mc/mc0/csrow0", ROW),
            (
                "devices/system/edac/mc/mc0/csrow0",
                &[("ch1_ce_count", "-\n")],
            ),
        ]);
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        let err = result.unwrap_err();
        assert!(err.message().contains("ch1_ce_count"), "{err}");
        let (_sys, host) = host_with_mc(&[
            ("devices/system/edac/mc/mc0", COUNTS),
            ("devices/system/edac/mc/mc0/csrow0", ROW),
            (
                "devices/system/edac/mc/mc0/csrow0",
                &[("ch0_ue_count", "x\n")],
            ),
        ]);
        let (_, result) = build(&SPEC, host, &[]).unwrap().run();
        assert!(result.unwrap_err().message().contains("ch0_ue_count"));
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
            "node_edac_channel_correctable_errors_total{channel=\"0\",controller=\"0\",csrow=\"0\",dimm_label=\"CPU_SrcID#0_MC#0_Chan#0_DIMM#0\"} 3\n",
            "node_edac_channel_correctable_errors_total{channel=\"1\",controller=\"0\",csrow=\"1\",dimm_label=\"CPU_SrcID#0_MC#0_Chan#1_DIMM#1\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
