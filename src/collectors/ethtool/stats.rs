//! From a driver's statistics (name, value) to node_exporter's
//! `node_ethtool_<name>` samples: name sanitisation, the `rx`/`tx` renames,
//! the seven common counters' fixed names, and dropping names that clash.

use std::collections::BTreeMap;

use regex_lite::Regex;

use crate::metrics::Desc;

/// Statistics whose metric name and help node_exporter fixes; each source is
/// the sanitised statistic name. Untyped, as every statistic is.
const WELL_KNOWN: [Desc<&str>; 7] = [
    Desc::untyped(
        "node_ethtool_received_bytes_total",
        "Network interface bytes received",
        "rx_bytes",
    ),
    Desc::untyped(
        "node_ethtool_received_dropped_total",
        "Number of received frames dropped",
        "rx_dropped",
    ),
    Desc::untyped(
        "node_ethtool_received_errors_total",
        "Number of received frames with errors",
        "rx_errors",
    ),
    Desc::untyped(
        "node_ethtool_received_packets_total",
        "Network interface packets received",
        "rx_packets",
    ),
    Desc::untyped(
        "node_ethtool_transmitted_bytes_total",
        "Network interface bytes sent",
        "tx_bytes",
    ),
    Desc::untyped(
        "node_ethtool_transmitted_errors_total",
        "Number of sent frames with errors",
        "tx_errors",
    ),
    Desc::untyped(
        "node_ethtool_transmitted_packets_total",
        "Network interface packets sent",
        "tx_packets",
    ),
];

/// The name of the info metric, which no statistic may take.
pub const INFO_METRIC: &str = "node_ethtool_info";

/// One statistic as a sample of its own metric, labelled by device.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSample {
    /// Full metric name.
    pub name: String,
    /// Help text.
    pub help: String,
    /// The statistic's value.
    pub value: f64,
}

/// Turns statistic names into metric names, as node_exporter does.
#[derive(Debug, Clone)]
pub struct StatNaming {
    invalid: Regex,
    received: Regex,
    transmitted: Regex,
}

impl Default for StatNaming {
    fn default() -> StatNaming {
        StatNaming::new()
    }
}

impl StatNaming {
    /// Compiles the patterns.
    pub fn new() -> StatNaming {
        let compile = |pattern| Regex::new(pattern).expect("constant pattern");
        StatNaming {
            invalid: compile("_*[^0-9A-Za-z_]+_*"),
            received: compile("(^|_)rx(_|$)"),
            transmitted: compile("(^|_)tx(_|$)"),
        }
    }

    /// node_exporter's `SanitizeMetricName`: each run of characters outside
    /// `[0-9A-Za-z_]`, with the underscores around it, becomes one `_`.
    pub fn sanitize(&self, raw: &str) -> String {
        self.invalid.replace_all(raw, "_").into_owned()
    }

    /// The metric name of a sanitised statistic name: lower-cased, leading
    /// underscores dropped, `rx`/`tx` words spelt `received`/`transmitted`.
    /// `None` for a name that leaves nothing.
    pub fn metric_name(&self, sanitized: &str) -> Option<String> {
        let lower = self.sanitize(sanitized).to_ascii_lowercase();
        let name = lower.trim_start_matches('_');
        if name.is_empty() {
            return None;
        }
        let name = self.received.replace_all(name, "${1}received${2}");
        let name = self.transmitted.replace_all(&name, "${1}transmitted${2}");
        Some(format!("node_ethtool_{name}"))
    }

    /// The samples of one device's statistics. A name the driver repeats
    /// keeps its last value; statistics whose sanitised name fails `include`
    /// are left out, and so are all statistics whose names turn into the
    /// same metric name, as no one of them can be told apart.
    pub fn samples(&self, stats: &[(String, u64)], include: &Regex) -> Vec<StatSample> {
        let mut by_raw: BTreeMap<&str, u64> = BTreeMap::new();
        for (name, value) in stats {
            if !name.is_empty() {
                by_raw.insert(name, *value);
            }
        }
        // Metric name to (sanitised name, value); `None` once it clashes.
        let mut by_metric: BTreeMap<String, Option<(String, u64)>> = BTreeMap::new();
        for (raw, value) in by_raw {
            let sanitized = self.sanitize(raw);
            if !include.is_match(&sanitized) {
                continue;
            }
            let Some(metric) = self.metric_name(&sanitized) else {
                continue;
            };
            by_metric
                .entry(metric)
                .and_modify(|slot| *slot = None)
                .or_insert(Some((sanitized, value)));
        }
        by_metric
            .into_iter()
            .filter(|(metric, _)| metric != INFO_METRIC)
            .filter_map(|(metric, slot)| {
                let (sanitized, value) = slot?;
                let sample = match WELL_KNOWN.iter().find(|d| d.source == sanitized) {
                    Some(known) => StatSample {
                        name: known.name.to_string(),
                        help: known.help.to_string(),
                        value: value as f64,
                    },
                    None => StatSample {
                        name: metric,
                        help: format!("Network interface {sanitized}"),
                        value: value as f64,
                    },
                };
                Some(sample)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Regex {
        Regex::new(".*").unwrap()
    }

    fn stats(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    #[test]
    fn sanitize_collapses_runs_with_their_underscores() {
        let n = StatNaming::new();
        assert_eq!(
            n.sanitize("rx_queue_0_xdp_packets"),
            "rx_queue_0_xdp_packets"
        );
        assert_eq!(n.sanitize("tx-0.packets"), "tx_0_packets");
        assert_eq!(n.sanitize("port.rx_bytes"), "port_rx_bytes");
        assert_eq!(n.sanitize("a__ - __b"), "a_b");
        assert_eq!(n.sanitize("rx (64 bytes)"), "rx_64_bytes_");
        assert_eq!(n.sanitize("ünïcode"), "_n_code");
    }

    #[test]
    fn metric_names() {
        let n = StatNaming::new();
        let name = |s: &str| n.metric_name(&n.sanitize(s));
        assert_eq!(
            name("peer_ifindex").as_deref(),
            Some("node_ethtool_peer_ifindex")
        );
        assert_eq!(
            name("rx_queue_0_xdp_packets").as_deref(),
            Some("node_ethtool_received_queue_0_xdp_packets")
        );
        assert_eq!(
            name("TX_Pause_Frames").as_deref(),
            Some("node_ethtool_transmitted_pause_frames")
        );
        assert_eq!(
            name("port.tx_rx").as_deref(),
            Some("node_ethtool_port_transmitted_received")
        );
        // Matches do not overlap: the `_` before the second `rx` belongs
        // to the first.
        assert_eq!(name("rx_rx").as_deref(), Some("node_ethtool_received_rx"));
        // Not a whole word.
        assert_eq!(name("rxq_full").as_deref(), Some("node_ethtool_rxq_full"));
        assert_eq!(name("__tx").as_deref(), Some("node_ethtool_transmitted"));
        assert_eq!(name("--"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn well_known_counters_keep_their_names() {
        let n = StatNaming::new();
        let samples = n.samples(
            &stats(&[("rx_bytes", 10), ("tx_packets", 3), ("peer_ifindex", 7)]),
            &all(),
        );
        assert_eq!(
            samples,
            vec![
                StatSample {
                    name: "node_ethtool_peer_ifindex".into(),
                    help: "Network interface peer_ifindex".into(),
                    value: 7.0
                },
                StatSample {
                    name: "node_ethtool_received_bytes_total".into(),
                    help: "Network interface bytes received".into(),
                    value: 10.0
                },
                StatSample {
                    name: "node_ethtool_transmitted_packets_total".into(),
                    help: "Network interface packets sent".into(),
                    value: 3.0
                },
            ]
        );
    }

    #[test]
    fn clashing_names_are_all_dropped() {
        let n = StatNaming::new();
        let samples = n.samples(
            &stats(&[
                ("rx-drops", 1),
                ("rx_drops", 2),
                ("RX_DROPS", 3),
                ("tx.ok", 4),
                ("info", 5),
            ]),
            &all(),
        );
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["node_ethtool_transmitted_ok"]);
        assert_eq!(samples[0].help, "Network interface tx_ok");
        assert_eq!(samples[0].value, 4.0);
    }

    #[test]
    fn repeated_names_keep_the_last_value_and_empty_names_are_skipped() {
        let n = StatNaming::new();
        let samples = n.samples(&stats(&[("a", 1), ("", 9), ("a", 2)]), &all());
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].value, 2.0);
    }

    #[test]
    fn include_matches_sanitised_names_anywhere() {
        let n = StatNaming::new();
        let include = Regex::new("^rx_q|peer").unwrap();
        let samples = n.samples(
            &stats(&[
                ("rx.queue", 1),
                ("rx_queue_0_xdp_packets", 2),
                ("my_peer_id", 3),
                ("tx_queue_0_xdp_xmit", 4),
            ]),
            &include,
        );
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "node_ethtool_my_peer_id",
                "node_ethtool_received_queue",
                "node_ethtool_received_queue_0_xdp_packets"
            ]
        );
    }

    #[test]
    fn huge_counters_survive_as_floats() {
        let n = StatNaming::new();
        let samples = n.samples(&stats(&[("x", u64::MAX)]), &all());
        assert_eq!(samples[0].value, u64::MAX as f64);
    }
}
