//! `fibrechannel`: Fibre Channel host adapters, from
//! `<sysfs>/class/fc_host/host*/` (port attributes and `statistics/`).
//!
//! As node_exporter: the attributes are labels of `node_fibrechannel_info`
//! (an absent one is an empty label), the `0x` of the port id and names is
//! dropped, and a statistic reading all ones (`0xffffffffffffffff`, what HBA
//! firmware reports for a counter it does not keep) is left out. A statistic
//! the driver does not offer, or a host without `statistics/`, gives no
//! sample rather than a failure; an unparsable statistic fails the run.

use std::path::Path;

use crate::collectors::common::sysfs_class::read_devices;
use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::Host;
use crate::kernel::sysfs_value::read_optional;
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::parse::go_uint;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "fibrechannel",
    default_enabled: true,
    reads: "/sys/class/fc_host/*/",
    flags: None,
    build: plain::<FibrechannelCollector>,
};

/// Reports `node_fibrechannel_info` and one counter per statistic.
#[derive(Default)]
struct FibrechannelCollector;

/// The attributes reported as labels of `node_fibrechannel_info`, by file,
/// and whether the kernel prints them with a `0x` that node_exporter drops.
const ATTRIBUTES: [(&str, bool); 10] = [
    ("speed", false),
    ("port_state", false),
    ("port_type", false),
    ("port_id", true),
    ("port_name", true),
    ("fabric_name", true),
    ("symbolic_name", false),
    ("supported_classes", false),
    ("supported_speeds", false),
    ("dev_loss_tmo", false),
];

/// The statistics reported, named after `node_fibrechannel_` as
/// node_exporter names them; each source is the file under `statistics/`.
const STATISTICS: [Desc<&str>; 14] = [
    Desc::counter(
        "dumped_frames_total",
        "Number of dumped frames",
        "dumped_frames",
    ),
    Desc::counter(
        "error_frames_total",
        "Number of errors in frames",
        "error_frames",
    ),
    Desc::counter(
        "invalid_crc_total",
        "Invalid Cyclic Redundancy Check count",
        "invalid_crc_count",
    ),
    Desc::counter("rx_frames_total", "Number of frames received", "rx_frames"),
    Desc::counter(
        "rx_words_total",
        "Number of words received by host port",
        "rx_words",
    ),
    Desc::counter(
        "tx_frames_total",
        "Number of frames transmitted by host port",
        "tx_frames",
    ),
    Desc::counter(
        "tx_words_total",
        "Number of words transmitted by host port",
        "tx_words",
    ),
    Desc::counter(
        "seconds_since_last_reset_total",
        "Number of seconds since last host port reset",
        "seconds_since_last_reset",
    ),
    Desc::counter(
        "invalid_tx_words_total",
        "Number of invalid words transmitted by host port",
        "invalid_tx_word_count",
    ),
    Desc::counter(
        "link_failure_total",
        "Number of times the host port link has failed",
        "link_failure_count",
    ),
    Desc::counter(
        "loss_of_sync_total",
        "Number of failures on either bit or transmission word boundaries",
        "loss_of_sync_count",
    ),
    Desc::counter(
        "loss_of_signal_total",
        "Number of times signal has been lost",
        "loss_of_signal_count",
    ),
    Desc::counter(
        "nos_total",
        "Number Not_Operational Primitive Sequence received by host port",
        "nos_count",
    ),
    Desc::counter(
        "fcp_packet_aborts_total",
        "Number of aborted packets",
        "fcp_packet_aborts",
    ),
];

/// One Fibre Channel host adapter port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcHost {
    /// The `fc_host` name (`host0`).
    pub name: String,
    /// The [`ATTRIBUTES`] values, in order; empty when absent.
    pub attributes: [String; ATTRIBUTES.len()],
    /// The [`STATISTICS`] values, in order; `None` when absent or not kept
    /// by the firmware.
    pub statistics: [Option<u64>; STATISTICS.len()],
}

impl FcHost {
    /// Reads the host directory `dir`. Attributes and statistics the driver
    /// does not offer are left unset; an unparsable statistic is an error.
    pub fn read(name: &str, dir: &Path) -> Result<FcHost, String> {
        let mut host = FcHost {
            name: name.to_string(),
            attributes: Default::default(),
            statistics: [None; STATISTICS.len()],
        };
        for (slot, (file, hex_prefixed)) in host.attributes.iter_mut().zip(ATTRIBUTES) {
            if let Some(value) = read_optional(&dir.join(file))? {
                *slot = if hex_prefixed {
                    strip_hex_prefix(&value).to_string()
                } else {
                    value
                };
            }
        }
        let statistics = dir.join("statistics");
        for (slot, statistic) in host.statistics.iter_mut().zip(STATISTICS) {
            let file = statistic.source;
            if let Some(value) = read_optional(&statistics.join(file))? {
                *slot = parse_statistic(&value).map_err(|e| format!("statistics/{file}: {e}"))?;
            }
        }
        Ok(host)
    }
}

/// Drops the two leading characters of a port id or name (`0x010a00`), as
/// node_exporter does whatever they are; shorter values stay as they are.
pub fn strip_hex_prefix(value: &str) -> &str {
    match value.get(2..) {
        Some(rest) if !rest.is_empty() => rest,
        _ => value,
    }
}

/// Parses one statistic (`0x1a2b`): `None` for all ones, the firmware's
/// "not kept".
pub fn parse_statistic(value: &str) -> Result<Option<u64>, String> {
    match go_uint(value) {
        Some(u64::MAX) => Ok(None),
        Some(count) => Ok(Some(count)),
        None => Err(format!("invalid value {value:?}")),
    }
}

impl Collector for FibrechannelCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let hosts = read_devices(host, "fc_host", FcHost::read)?;
        let mut label_names = vec!["fc_host"];
        label_names.extend(ATTRIBUTES.iter().map(|&(file, _)| file));
        let info = out.family(
            "node_fibrechannel_info",
            "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
            MetricType::Gauge,
            &label_names,
        );
        for host in &hosts {
            let mut values = vec![host.name.as_str()];
            values.extend(host.attributes.iter().map(String::as_str));
            info.push(&values, 1.0);
        }
        for (slot, statistic) in STATISTICS.iter().enumerate() {
            let family = out.family(
                format!("node_fibrechannel_{}", statistic.name),
                statistic.help,
                statistic.metric_type,
                &["fc_host"],
            );
            for host in &hosts {
                if let Some(count) = host.statistics[slot] {
                    family.push(&[&host.name], count as f64);
                }
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
    fn statistics() {
        assert_eq!(parse_statistic("0x1a2b"), Ok(Some(0x1a2b)));
        assert_eq!(parse_statistic("0x0"), Ok(Some(0)));
        assert_eq!(parse_statistic("17"), Ok(Some(17)));
        assert_eq!(parse_statistic("0xffffffffffffffff"), Ok(None));
        assert!(parse_statistic("").is_err());
        assert!(parse_statistic("0x").is_err());
        assert!(parse_statistic("garbage").is_err());
        assert!(parse_statistic("0x1ffffffffffffffff").is_err());
    }

    #[test]
    fn port_identifiers_lose_their_prefix() {
        assert_eq!(strip_hex_prefix("0x010a00"), "010a00");
        assert_eq!(strip_hex_prefix("0x2100f4e9d4567890"), "2100f4e9d4567890");
        assert_eq!(strip_hex_prefix("0x"), "0x");
        assert_eq!(strip_hex_prefix("0"), "0");
        assert_eq!(strip_hex_prefix(""), "");
    }

    #[test]
    fn reads_a_host_with_missing_attributes_and_no_statistics() {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("port_state", "Linkdown\n"),
                ("port_name", "0x10000090fa1b2c3d\n"),
            ],
        );
        let host = FcHost::read("host7", dir.path()).unwrap();
        assert_eq!(host.attributes[1], "Linkdown");
        assert_eq!(host.attributes[4], "10000090fa1b2c3d");
        assert_eq!(host.attributes[0], "", "absent speed");
        assert_eq!(host.statistics, [None; STATISTICS.len()]);
    }

    #[test]
    fn a_garbage_statistic_fails_the_host() {
        let dir = tempfile::tempdir().unwrap();
        write_files(&dir.path().join("statistics"), &[("tx_frames", "lots\n")]);
        let err = FcHost::read("host0", dir.path()).unwrap_err();
        assert!(err.contains("statistics/tx_frames"), "{err}");
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_fibrechannel_info Non-numeric data from /sys/class/fc_host/<host>, value is always 1.",
            "# TYPE node_fibrechannel_info gauge",
            r#"node_fibrechannel_info{dev_loss_tmo="30",fabric_name="100000051e4b3c2a",fc_host="host0",port_id="010a00",port_name="2100f4e9d4567890",port_state="Online",port_type="NPort (fabric via point-to-point)",speed="16 Gbit",supported_classes="Class 3",supported_speeds="4 Gbit, 8 Gbit, 16 Gbit",symbolic_name="QLE2742 FW:v8.08.231 DVR:v10.02.00.106-k"} 1"#,
            r#"node_fibrechannel_info{dev_loss_tmo="",fabric_name="",fc_host="host1",port_id="000000",port_name="10000090fa1b2c3d",port_state="Linkdown",port_type="Unknown",speed="unknown",supported_classes="Class 3",supported_speeds="",symbolic_name=""} 1"#,
            "# HELP node_fibrechannel_rx_frames_total Number of frames received",
            "# TYPE node_fibrechannel_rx_frames_total counter",
            r#"node_fibrechannel_rx_frames_total{fc_host="host0"} 1.908736e+06"#,
            r#"node_fibrechannel_tx_words_total{fc_host="host0"} 2.85212672e+08"#,
            r#"node_fibrechannel_seconds_since_last_reset_total{fc_host="host0"} 7.864319e+06"#,
            r#"node_fibrechannel_error_frames_total{fc_host="host1"} 0"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        // All ones: not kept by the firmware.
        assert!(!text.contains(r#"node_fibrechannel_dumped_frames_total{fc_host="host0"}"#));
        assert!(!text.contains(r#"node_fibrechannel_rx_frames_total{fc_host="host1"}"#));
    }

    #[test]
    fn missing_class_is_no_data() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }

    #[test]
    fn an_empty_class_reports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("class/fc_host")).unwrap();
        let host = Host::new("/nonexistent", dir.path(), "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }
}
