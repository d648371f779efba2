//! `netdev`: per-interface traffic counters of the host's network namespace,
//! from `<procfs>/1/net/dev` (init's namespace, the host's when the agent
//! shares the host PID namespace), falling back to `<procfs>/net/dev`.
//!
//! node_exporter reads these counters over netlink by default; the kernel
//! folds the same netlink counters into `/proc/net/dev` exactly as
//! node_exporter's legacy names do, so the values agree. The one netlink
//! counter `/proc/net/dev` lacks, `rx_nohandler`, is read from
//! `<sysfs>/class/net/<iface>/statistics/` while `--collector.netdev.netlink`
//! is on (its default), as node_exporter then reports it.
//!
//! `--collector.netdev.address-info` lists addresses with getifaddrs(3), as
//! node_exporter does: that sees the agent's own network namespace, so in a
//! pod it needs `hostNetwork: true` to list the host's addresses. The
//! device filter applies to those addresses as to the counters.

mod addresses;

use std::sync::Arc;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::{with_deprecated_alias, DeviceFilter};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, read_trimmed, Host};
use crate::kernel::net_dev::InterfaceCounters;
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "netdev",
    default_enabled: true,
    reads: "/proc/1/net/dev (else /proc/net/dev), /sys/class/net/*/statistics/rx_nohandler",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the netdev collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of net devices to include (mutually exclusive to device-exclude).
    #[arg(id = "collector.netdev.device-include", long = "collector.netdev.device-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_include: Option<Regex>,

    /// DEPRECATED: Use collector.netdev.device-include
    #[arg(id = "collector.netdev.device-whitelist", long = "collector.netdev.device-whitelist", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub device_whitelist: Option<Regex>,

    /// Regexp of net devices to exclude (mutually exclusive to device-include).
    #[arg(id = "collector.netdev.device-exclude", long = "collector.netdev.device-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_exclude: Option<Regex>,

    /// DEPRECATED: Use collector.netdev.device-exclude
    #[arg(id = "collector.netdev.device-blacklist", long = "collector.netdev.device-blacklist", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub device_blacklist: Option<Regex>,

    /// Collect address-info for every device (addresses of the agent's
    /// network namespace: run with hostNetwork in a pod).
    #[arg(
        id = "collector.netdev.address-info",
        long = "collector.netdev.address-info"
    )]
    pub address_info: bool,

    /// Use (incompatible) metric names that provide more detailed stats on
    /// Linux.
    #[arg(
        id = "collector.netdev.enable-detailed-metrics",
        long = "collector.netdev.enable-detailed-metrics"
    )]
    pub detailed_metrics: bool,

    /// Report the netlink-only counter rx_nohandler (from sysfs) as
    /// node_exporter's netlink mode does; the other counters always come from
    /// /proc/net/dev, which carries the same values.
    #[arg(
        id = "collector.netdev.netlink",
        long = "collector.netdev.netlink",
        default_value_t = true
    )]
    pub netlink: bool,

    /// Add ifAlias label
    #[arg(
        id = "collector.netdev.label-ifalias",
        long = "collector.netdev.label-ifalias"
    )]
    pub label_ifalias: bool,
}

impl Flags {
    /// The device filter the include/exclude flags and their deprecated
    /// aliases describe; conflicting flags are an error naming them.
    pub fn device_filter(&self) -> Result<DeviceFilter, String> {
        let include = with_deprecated_alias(
            "collector.netdev.device-include",
            self.device_include.as_ref(),
            "collector.netdev.device-whitelist",
            self.device_whitelist.as_ref(),
        )?;
        let exclude = with_deprecated_alias(
            "collector.netdev.device-exclude",
            self.device_exclude.as_ref(),
            "collector.netdev.device-blacklist",
            self.device_blacklist.as_ref(),
        )?;
        DeviceFilter::exclusive(exclude, include)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    Ok(Box::new(NetdevCollector {
        filter: flags.device_filter()?,
        flags: flags.clone(),
        families: column_families(flags.detailed_metrics),
    }))
}

/// The family name and help of each of [`COLUMNS`], with node_exporter's
/// detailed names or its legacy ones.
fn column_families(detailed_metrics: bool) -> Vec<(Arc<str>, Arc<str>)> {
    COLUMNS
        .iter()
        .map(|&(legacy, detailed)| {
            let key = if detailed_metrics { detailed } else { legacy };
            (
                format!("node_network_{key}_total").into(),
                format!("Network device statistic {key}.").into(),
            )
        })
        .collect()
}

/// Reports `node_network_<direction>_<counter>_total` and, on request,
/// `node_network_address_info`.
struct NetdevCollector {
    filter: DeviceFilter,
    flags: Flags,
    /// Each [`COLUMNS`] entry's family name and help, made once.
    families: Vec<(Arc<str>, Arc<str>)>,
}

/// `/proc/net/dev`'s columns and node_exporter's names for them: the legacy
/// names (the default) and the detailed ones.
pub const COLUMNS: [(&str, &str); 16] = [
    ("receive_bytes", "receive_bytes"),
    ("receive_packets", "receive_packets"),
    ("receive_errs", "receive_errors"),
    ("receive_drop", "receive_dropped"),
    ("receive_fifo", "receive_fifo"),
    ("receive_frame", "receive_frame"),
    ("receive_compressed", "receive_compressed"),
    ("receive_multicast", "receive_multicast"),
    ("transmit_bytes", "transmit_bytes"),
    ("transmit_packets", "transmit_packets"),
    ("transmit_errs", "transmit_errors"),
    ("transmit_drop", "transmit_dropped"),
    ("transmit_fifo", "transmit_fifo"),
    ("transmit_colls", "transmit_colls"),
    ("transmit_carrier", "transmit_carrier"),
    ("transmit_compressed", "transmit_compressed"),
];

impl NetdevCollector {
    fn read_counters(&self, host: &Host) -> Result<Vec<InterfaceCounters>, CollectError> {
        let host_path = host.proc_path("1/net/dev");
        let (path, text) = match read_text(&host_path) {
            Ok(text) => (host_path, text),
            Err(_) => {
                let own_path = host.proc_path("net/dev");
                let text = read_text(&own_path).map_err(|e| CollectError::io(&own_path, &e))?;
                (own_path, text)
            }
        };
        InterfaceCounters::parse_all(&text).map_err(|e| CollectError::parse(&path, e))
    }

    /// A per-interface sysfs attribute, `None` when unreadable.
    fn sysfs_value(&self, host: &Host, device: &str, attribute: &str) -> Option<String> {
        read_trimmed(&host.sys_path(&format!("class/net/{device}/{attribute}"))).ok()
    }
}

impl Collector for NetdevCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut interfaces: Vec<InterfaceCounters> = self
            .read_counters(host)?
            .into_iter()
            .filter(|i| !self.filter.ignored(&i.device))
            .collect();
        // In the order the output lists them, so that the families need no
        // sorting once pushed.
        interfaces.sort_unstable_by(|a, b| a.device.cmp(&b.device));

        // Label values per interface: the device, then the alias on request.
        let labels: Vec<Vec<String>> = interfaces
            .iter()
            .map(|i| {
                let mut values = vec![i.device.clone()];
                if self.flags.label_ifalias {
                    values.push(
                        self.sysfs_value(host, &i.device, "ifalias")
                            .unwrap_or_default(),
                    );
                }
                values
            })
            .collect();
        let label_names: &[&str] = if self.flags.label_ifalias {
            &["device", "ifalias"]
        } else {
            &["device"]
        };

        for (column, (name, help)) in self.families.iter().enumerate() {
            let family = out.family(
                Arc::clone(name),
                Arc::clone(help),
                MetricType::Counter,
                label_names,
            );
            for (interface, values) in interfaces.iter().zip(&labels) {
                family.push(values, interface.values[column] as f64);
            }
        }

        if self.flags.netlink {
            let family = out.family(
                "node_network_receive_nohandler_total",
                "Network device statistic receive_nohandler.",
                MetricType::Counter,
                label_names,
            );
            for (interface, values) in interfaces.iter().zip(&labels) {
                let nohandler = self
                    .sysfs_value(host, &interface.device, "statistics/rx_nohandler")
                    .and_then(|v| v.parse::<u64>().ok());
                if let Some(nohandler) = nohandler {
                    family.push(values, nohandler as f64);
                }
            }
        }

        if self.flags.address_info {
            let list = addresses::interface_addresses().map_err(|e| {
                CollectError::failed(format!("could not get network interfaces: {e}"))
            })?;
            let family = out.family(
                "node_network_address_info",
                "node network address by device",
                MetricType::Gauge,
                &["device", "address", "netmask", "scope"],
            );
            // The device filter applies here too, as in node_exporter 1.11.
            for a in list.iter().filter(|a| !self.filter.ignored(&a.device)) {
                family.push(
                    &[
                        a.device.as_str(),
                        &a.address.to_string(),
                        &a.prefix_len.to_string(),
                        a.scope(),
                    ],
                    1.0,
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's /proc/net/dev.
    const REAL: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   77491     159    0    0    0     0          0         0    77491     159    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 290299987   10136    0    0    0     0          0         0   604629    5673    0    0    0     0       0          0
";

    #[test]
    fn parses_real_file() {
        let interfaces = InterfaceCounters::parse_all(REAL).unwrap();
        let names: Vec<_> = interfaces.iter().map(|i| i.device.as_str()).collect();
        assert_eq!(names, vec!["lo", "ifb0", "eth0"]);
        assert_eq!(interfaces[2].values[0], 290299987);
        assert_eq!(interfaces[2].values[9], 5673);
    }

    #[test]
    fn handles_glued_counters_and_colons_in_names() {
        let text = "eth0:12345678901234 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n\
                    veth:a: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        let interfaces = InterfaceCounters::parse_all(text).unwrap();
        assert_eq!(interfaces[0].device, "eth0");
        assert_eq!(interfaces[0].values[0], 12345678901234);
        assert_eq!(interfaces[1].device, "veth:a");
        assert_eq!(interfaces[1].values[15], 16);
    }

    #[test]
    fn skips_truncated_lines_and_rejects_garbage() {
        let text = format!("{REAL}  eth1: 1 2 3");
        assert_eq!(InterfaceCounters::parse_all(&text).unwrap().len(), 3);
        assert!(InterfaceCounters::parse_all("garbage: a b c\n").is_err());
        assert!(InterfaceCounters::parse_all("\0\0\0").is_err());
        assert!(InterfaceCounters::parse_all("").unwrap().is_empty());
        let huge = "eth0: 99999999999999999999999 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        assert!(InterfaceCounters::parse_all(huge).is_err());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = crate::collectors::common::testing::scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_network_receive_bytes_total Network device statistic receive_bytes.",
            "# TYPE node_network_receive_bytes_total counter",
            r#"node_network_receive_bytes_total{device="bond0"} 9.8234112345e+10"#,
            r#"node_network_receive_drop_total{device="bond0"} 12"#,
            r#"node_network_receive_multicast_total{device="bond0"} 184231"#,
            r#"node_network_transmit_drop_total{device="veth3f2a1b7"} 3"#,
            r#"node_network_transmit_colls_total{device="eth1"} 0"#,
            r#"node_network_receive_bytes_total{device="lo"}"#,
            r#"node_network_receive_nohandler_total{device="bond0"} 7"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        // ifb1 has no statistics directory in the fixture: no nohandler.
        assert!(!text.contains(r#"node_network_receive_nohandler_total{device="ifb1"}"#));
        assert!(text.contains(r#"node_network_receive_bytes_total{device="ifb1"} 0"#));
        assert_eq!(text.matches("# TYPE").count(), 17, "{text}");
    }

    #[test]
    fn detailed_names_filters_and_aliases() {
        let text = crate::collectors::common::testing::scrape_fixtures(
            &SPEC,
            &[
                "--collector.netdev.enable-detailed-metrics",
                "--no-collector.netdev.netlink",
                "--collector.netdev.label-ifalias",
                "--collector.netdev.device-include=^(bond|eth)",
            ],
        );
        for expected in [
            r#"node_network_receive_dropped_total{device="bond0",ifalias="uplink bond"} 12"#,
            r#"node_network_transmit_errors_total{device="eth1",ifalias=""} 0"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        for absent in [
            "nohandler",
            "receive_drop_total",
            r#"device="lo""#,
            r#"device="veth"#,
        ] {
            assert!(!text.contains(absent), "unexpected {absent}\n{text}");
        }
    }

    #[test]
    fn address_info_honours_the_device_filter() {
        let loopback = r#"node_network_address_info{address="127.0.0.1",device="lo",netmask="8",scope="link-local"} 1"#;
        let all = crate::collectors::common::testing::scrape_fixtures(
            &SPEC,
            &["--collector.netdev.address-info"],
        );
        assert!(all.contains(loopback), "missing {loopback}\n{all}");
        for filter in [
            "--collector.netdev.device-exclude=^lo$",
            "--collector.netdev.device-include=^eth",
        ] {
            let text = crate::collectors::common::testing::scrape_fixtures(
                &SPEC,
                &["--collector.netdev.address-info", filter],
            );
            assert!(
                !text.contains(r#"device="lo""#),
                "{filter} kept lo:\n{text}"
            );
        }
    }

    #[test]
    fn falls_back_to_the_agent_namespace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("net")).unwrap();
        std::fs::write(dir.path().join("net/dev"), REAL).unwrap();
        let host = Host::new(dir.path(), "/nonexistent", "/", "/nonexistent");
        let collector = crate::collectors::common::testing::build(&SPEC, host, &[]).unwrap();
        let text = collector.render();
        assert!(text.contains(r#"node_network_receive_bytes_total{device="eth0"} 2.90299987e+08"#));
    }

    fn flags() -> Flags {
        Flags {
            device_include: None,
            device_whitelist: None,
            device_exclude: None,
            device_blacklist: None,
            address_info: false,
            detailed_metrics: false,
            netlink: true,
            label_ifalias: false,
        }
    }

    #[test]
    fn filter_flags_and_aliases() {
        let re = |s: &str| Some(Regex::new(s).unwrap());
        let f = flags().device_filter().unwrap();
        assert!(!f.ignored("lo"));
        let f = Flags {
            device_blacklist: re("^lo$"),
            ..flags()
        }
        .device_filter()
        .unwrap();
        assert!(f.ignored("lo"));
        let f = Flags {
            device_whitelist: re("^eth"),
            ..flags()
        }
        .device_filter()
        .unwrap();
        assert!(f.ignored("lo") && !f.ignored("eth0"));
        for conflicting in [
            Flags {
                device_include: re("a"),
                device_exclude: re("b"),
                ..flags()
            },
            Flags {
                device_exclude: re("a"),
                device_blacklist: re("b"),
                ..flags()
            },
            Flags {
                device_include: re("a"),
                device_whitelist: re("b"),
                ..flags()
            },
        ] {
            assert!(conflicting.device_filter().is_err());
        }
    }
}
