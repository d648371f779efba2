//! `drbd`: replicated block devices (DRBD 8.x), from `<procfs>/drbd`.
//!
//! The file is read as node_exporter reads it: word by word, `key:value`
//! pairs, a `<minor>:` word starting the next device. Its quirks are kept:
//! `nr` is reported as is although DRBD counts it in KiB like `ns`, and
//! pairs before any device belong to device `unknown`. Where node_exporter
//! crashes on a role or disk state without `/`, only the local side is
//! reported here.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "drbd",
    default_enabled: false,
    reads: "/proc/drbd",
    flags: None,
    build: plain::<DrbdCollector>,
};

/// Reports the `node_drbd_*` families.
#[derive(Default)]
struct DrbdCollector;

/// The numeric families, named after `node_drbd_`; each source is the key
/// and the multiplier that turns its value into the family's unit.
const NUMERIC: [Desc<(&str, f64)>; 12] = [
    Desc::counter(
        "network_sent_bytes_total",
        "Total number of bytes sent via the network.",
        ("ns", 1024.0),
    ),
    Desc::counter(
        "network_received_bytes_total",
        "Total number of bytes received via the network.",
        ("nr", 1.0),
    ),
    Desc::counter(
        "disk_written_bytes_total",
        "Net data written on local hard disk; in bytes.",
        ("dw", 1024.0),
    ),
    Desc::counter(
        "disk_read_bytes_total",
        "Net data read from local hard disk; in bytes.",
        ("dr", 1024.0),
    ),
    Desc::counter(
        "activitylog_writes_total",
        "Number of updates of the activity log area of the meta data.",
        ("al", 1.0),
    ),
    Desc::counter(
        "bitmap_writes_total",
        "Number of updates of the bitmap area of the meta data.",
        ("bm", 1.0),
    ),
    Desc::gauge(
        "local_pending",
        "Number of open requests to the local I/O sub-system.",
        ("lo", 1.0),
    ),
    Desc::gauge(
        "remote_pending",
        "Number of requests sent to the peer, but that have not yet been answered by the latter.",
        ("pe", 1.0),
    ),
    Desc::gauge(
        "remote_unacknowledged",
        "Number of requests received by the peer via the network connection, but that have not yet been answered.",
        ("ua", 1.0),
    ),
    Desc::gauge(
        "application_pending",
        "Number of block I/O requests forwarded to DRBD, but not yet answered by DRBD.",
        ("ap", 1.0),
    ),
    Desc::gauge(
        "epochs",
        "Number of Epochs currently on the fly.",
        ("ep", 1.0),
    ),
    Desc::gauge(
        "out_of_sync_bytes",
        "Amount of data known to be out of sync; in bytes.",
        ("oos", 1024.0),
    ),
];

/// The `local/remote` families, named after `node_drbd_`; each source is the
/// key and the value that reads 1.
const PAIRS: [Desc<(&str, &str)>; 2] = [
    Desc::gauge(
        "node_role_is_primary",
        "Whether the role of the node is in the primary state.",
        ("ro", "Primary"),
    ),
    Desc::gauge(
        "disk_state_is_up_to_date",
        "Whether the disk of the node is up to date.",
        ("ds", "UpToDate"),
    ),
];

/// One value read from `/proc/drbd`.
#[derive(Debug, Clone, PartialEq)]
pub enum DrbdValue {
    /// A [`NUMERIC`] key's value, multiplied into its unit.
    Numeric {
        /// Index into [`NUMERIC`].
        key: usize,
        /// The value.
        value: f64,
    },
    /// A [`PAIRS`] key: whether each side has the value that reads 1.
    Pair {
        /// Index into [`PAIRS`].
        key: usize,
        /// The local side.
        local: bool,
        /// The remote side, when given.
        remote: Option<bool>,
    },
    /// `cs`: whether the connection state is `Connected`.
    Connected(bool),
}

/// Parses `/proc/drbd` into `(device, value)` in file order. A numeric key
/// whose value is not a number is an error.
pub fn parse(text: &str) -> Result<Vec<(String, DrbdValue)>, String> {
    let mut device = "unknown".to_string();
    let mut values = Vec::new();
    for word in text.split_whitespace() {
        let mut parts = word.split(':');
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if value.is_empty() && !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(minor) = key.parse::<u64>() {
                device = format!("drbd{minor}");
                continue;
            }
        }
        let parsed = if let Some(index) = NUMERIC.iter().position(|n| n.source.0 == key) {
            let number: f64 = value
                .parse()
                .map_err(|_| format!("invalid {key} value {value:?}"))?;
            DrbdValue::Numeric {
                key: index,
                value: number * NUMERIC[index].source.1,
            }
        } else if let Some(index) = PAIRS.iter().position(|p| p.source.0 == key) {
            let ok = PAIRS[index].source.1;
            let mut sides = value.split('/');
            DrbdValue::Pair {
                key: index,
                local: sides.next() == Some(ok),
                remote: sides.next().map(|side| side == ok),
            }
        } else if key == "cs" {
            DrbdValue::Connected(value == "Connected")
        } else {
            continue;
        };
        values.push((device.clone(), parsed));
    }
    Ok(values)
}

impl Collector for DrbdCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("drbd");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let values = parse(&text).map_err(|e| CollectError::parse(&path, e))?;

        for (index, numeric) in NUMERIC.iter().enumerate() {
            let family = out.family(
                format!("node_drbd_{}", numeric.name),
                numeric.help,
                numeric.metric_type,
                &["device"],
            );
            for (device, value) in &values {
                if let DrbdValue::Numeric { key, value } = value {
                    if *key == index {
                        family.push(&[device], *value);
                    }
                }
            }
        }
        for (index, pair) in PAIRS.iter().enumerate() {
            let family = out.family(
                format!("node_drbd_{}", pair.name),
                pair.help,
                pair.metric_type,
                &["device", "node"],
            );
            for (device, value) in &values {
                if let DrbdValue::Pair { key, local, remote } = value {
                    if *key == index {
                        family.push(&[device.as_str(), "local"], f64::from(u8::from(*local)));
                        if let Some(remote) = remote {
                            family.push(&[device.as_str(), "remote"], f64::from(u8::from(*remote)));
                        }
                    }
                }
            }
        }
        let connected = out.family(
            "node_drbd_connected",
            "Whether DRBD is connected to the peer.",
            MetricType::Gauge,
            &["device"],
        );
        for (device, value) in &values {
            if let DrbdValue::Connected(up) = value {
                connected.push(&[device], f64::from(u8::from(*up)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_procfs, procfs_with, scrape_fixtures,
    };

    #[test]
    fn parses_devices_and_values() {
        let values = parse(
            "version: 8.4.11 (api:1/proto:86-101)\n 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r----s\n    ns:2 nr:3 dw:4 oos:1 wo:f\n 12: cs:Connected ro:Secondary\n",
        )
        .unwrap();
        let drbd0 = |v: DrbdValue| ("drbd0".to_string(), v);
        assert_eq!(
            values,
            [
                drbd0(DrbdValue::Connected(false)),
                drbd0(DrbdValue::Pair {
                    key: 0,
                    local: true,
                    remote: Some(false)
                }),
                drbd0(DrbdValue::Pair {
                    key: 1,
                    local: true,
                    remote: Some(false)
                }),
                drbd0(DrbdValue::Numeric {
                    key: 0,
                    value: 2048.0
                }),
                drbd0(DrbdValue::Numeric { key: 1, value: 3.0 }),
                drbd0(DrbdValue::Numeric {
                    key: 2,
                    value: 4096.0
                }),
                drbd0(DrbdValue::Numeric {
                    key: 11,
                    value: 1024.0
                }),
                ("drbd12".to_string(), DrbdValue::Connected(true)),
                (
                    "drbd12".to_string(),
                    DrbdValue::Pair {
                        key: 0,
                        local: false,
                        remote: None
                    }
                ),
            ]
        );
    }

    #[test]
    fn values_before_a_device_and_garbage() {
        assert_eq!(
            parse("ns:1\n").unwrap(),
            [(
                "unknown".to_string(),
                DrbdValue::Numeric {
                    key: 0,
                    value: 1024.0
                }
            )]
        );
        assert!(parse(" 0: ns:lots\n").is_err());
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse(" +1: a:b:c 0:00:30 :\n").unwrap(), []);
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_drbd_network_sent_bytes_total Total number of bytes sent via the network.",
            "# TYPE node_drbd_network_sent_bytes_total counter",
            r#"node_drbd_network_sent_bytes_total{device="drbd0"} 1.262911488e+09"#,
            r#"node_drbd_network_received_bytes_total{device="drbd1"} 512"#,
            r#"node_drbd_disk_read_bytes_total{device="drbd0"} 4.677520384e+09"#,
            r#"node_drbd_activitylog_writes_total{device="drbd0"} 310"#,
            r#"node_drbd_bitmap_writes_total{device="drbd1"} 256"#,
            "# TYPE node_drbd_remote_pending gauge",
            r#"node_drbd_remote_pending{device="drbd1"} 2"#,
            r#"node_drbd_out_of_sync_bytes{device="drbd1"} 1.073741824e+09"#,
            r#"node_drbd_connected{device="drbd0"} 1"#,
            r#"node_drbd_connected{device="drbd1"} 0"#,
            r#"node_drbd_connected{device="drbd2"} 0"#,
            r#"node_drbd_node_role_is_primary{device="drbd0",node="local"} 1"#,
            r#"node_drbd_node_role_is_primary{device="drbd1",node="remote"} 1"#,
            r#"node_drbd_disk_state_is_up_to_date{device="drbd1",node="remote"} 0"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn missing_file_is_no_data() {
        let empty = procfs_with(&[]);
        let collector = build(&SPEC, Host::clone(&host_with_procfs(empty.path())), &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }
}
