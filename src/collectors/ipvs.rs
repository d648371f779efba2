//! `ipvs`: the IP Virtual Server (kernel load balancer) totals from
//! `/proc/net/ip_vs_stats` and the connections and weight of every real
//! server in `/proc/net/ip_vs`, in the host's network namespace.
//!
//! As node_exporter: backends are summed over the labels chosen with
//! `--collector.ipvs.backend-labels`, so dropping a label merges the series
//! that differed only in it; a firewall-mark service has an empty
//! `local_address` and port 0 and its mark in `local_mark`. Unlike
//! node_exporter, an SCTP service starts a new service (there its backends
//! are counted under the service before it).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{for_each_line, read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "ipvs",
    default_enabled: true,
    reads: "/proc/1/net/ip_vs_stats, /proc/1/net/ip_vs",
    flags: Some(Flags::augment_args),
    build,
};

/// Every backend label, in node_exporter's order.
const ALL_LABELS: [&str; 6] = [
    "local_address",
    "local_port",
    "remote_address",
    "remote_port",
    "proto",
    "local_mark",
];

/// Flags of the ipvs collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Comma separated list for IPVS backend stats labels.
    #[arg(
        id = "collector.ipvs.backend-labels",
        long = "collector.ipvs.backend-labels",
        value_name = "LABELS",
        default_value = "local_address,local_port,remote_address,remote_port,proto,local_mark",
        value_parser = parse_backend_labels
    )]
    pub backend_labels: BackendLabels,
}

/// The labels chosen for the backend families, in [`ALL_LABELS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendLabels(Vec<&'static str>);

/// Parses `--collector.ipvs.backend-labels`: names separated by commas,
/// empty ones ignored; an unknown name is an error naming it.
pub fn parse_backend_labels(text: &str) -> Result<BackendLabels, String> {
    let given: Vec<&str> = text.split(',').filter(|l| !l.is_empty()).collect();
    let mut unknown: Vec<&str> = given
        .iter()
        .copied()
        .filter(|l| !ALL_LABELS.contains(l))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(format!(
            "unknown IPVS backend labels: {:?}",
            unknown.join(", ")
        ));
    }
    Ok(BackendLabels(
        ALL_LABELS
            .iter()
            .copied()
            .filter(|l| given.contains(l))
            .collect(),
    ))
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(IpvsCollector {
        labels: ctx.flags::<Flags>()?.backend_labels,
    }))
}

/// Reports the `node_ipvs_*` families.
struct IpvsCollector {
    labels: BackendLabels,
}

/// The totals of `/proc/net/ip_vs_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpvsStats {
    /// Connections made.
    pub connections: u64,
    /// Packets in.
    pub incoming_packets: u64,
    /// Packets out.
    pub outgoing_packets: u64,
    /// Bytes in.
    pub incoming_bytes: u64,
    /// Bytes out.
    pub outgoing_bytes: u64,
}

impl IpvsStats {
    /// Parses `/proc/net/ip_vs_stats`: two header lines, then the five
    /// totals in hex (the per-second rates after them are not read).
    pub fn parse(text: &str) -> Result<IpvsStats, String> {
        let lines: Vec<&str> = text.splitn(4, '\n').collect();
        if lines.len() != 4 {
            return Err("too short".to_string());
        }
        let fields: Vec<&str> = lines[2].split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("unexpected totals line {:?}", lines[2]));
        }
        let hex =
            |i: usize| hex_u64(fields[i]).ok_or_else(|| format!("invalid hex {:?}", fields[i]));
        Ok(IpvsStats {
            connections: hex(0)?,
            incoming_packets: hex(1)?,
            outgoing_packets: hex(2)?,
            incoming_bytes: hex(3)?,
            outgoing_bytes: hex(4)?,
        })
    }
}

/// One real server of one virtual service, from `/proc/net/ip_vs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The service's address; empty for a firewall-mark service.
    pub local_address: String,
    /// The service's port; 0 for a firewall-mark service.
    pub local_port: u16,
    /// The firewall mark (`FWM` services), as the kernel prints it.
    pub local_mark: String,
    /// `TCP`, `UDP`, `SCTP` or `FWM`.
    pub proto: String,
    /// The real server's address.
    pub remote_address: String,
    /// The real server's port.
    pub remote_port: u16,
    /// Its weight.
    pub weight: u64,
    /// Its active connections.
    pub active: u64,
    /// Its inactive connections.
    pub inactive: u64,
}

impl Backend {
    /// The value of the backend label `label`.
    fn label(&self, label: &str) -> String {
        match label {
            "local_address" => self.local_address.clone(),
            "local_port" => self.local_port.to_string(),
            "remote_address" => self.remote_address.clone(),
            "remote_port" => self.remote_port.to_string(),
            "proto" => self.proto.clone(),
            _ => self.local_mark.clone(),
        }
    }
}

/// Reads `/proc/net/ip_vs` a line at a time: service lines set the service
/// the following `->` real-server lines belong to.
#[derive(Debug, Default)]
pub struct BackendParser {
    proto: String,
    local_mark: String,
    local_address: String,
    local_port: u16,
}

impl BackendParser {
    /// Takes one line; a real-server line gives its [`Backend`]. Headers,
    /// blank and short lines give nothing; an unparsable address, port or
    /// count is an error.
    pub fn line(&mut self, line: &str) -> Result<Option<Backend>, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] | ["IP", ..] | ["Prot", ..] | [_, "RemoteAddress:Port", ..] => Ok(None),
            [proto @ ("TCP" | "UDP" | "SCTP"), address, ..] => {
                let (ip, port) = parse_address(address)?;
                *self = BackendParser {
                    proto: proto.to_string(),
                    local_mark: String::new(),
                    local_address: ip,
                    local_port: port,
                };
                Ok(None)
            }
            ["FWM", mark, ..] => {
                *self = BackendParser {
                    proto: "FWM".to_string(),
                    local_mark: mark.to_string(),
                    local_address: String::new(),
                    local_port: 0,
                };
                Ok(None)
            }
            ["->", address, _, weight, active, inactive, ..] => {
                let (remote_address, remote_port) = parse_address(address)?;
                let count = |field: &str| {
                    decimal_u64(field).ok_or_else(|| format!("invalid count {field:?}"))
                };
                Ok(Some(Backend {
                    local_address: self.local_address.clone(),
                    local_port: self.local_port,
                    local_mark: self.local_mark.clone(),
                    proto: self.proto.clone(),
                    remote_address,
                    remote_port,
                    weight: count(weight)?,
                    active: count(active)?,
                    inactive: count(inactive)?,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Parses a `/proc/net/ip_vs` address: `0A000001:0050` (IPv4 in hex) or
/// `[2001:0db8:0000:0000:0000:0000:0000:0001]:0050`, to the address as Go
/// prints it (an IPv4-mapped IPv6 address in dotted form) and the port.
pub fn parse_address(text: &str) -> Result<(String, u16), String> {
    let invalid = || format!("invalid address {text:?}");
    let address = match text.len() {
        13 => {
            let hex = text.get(..8).ok_or_else(invalid)?;
            let value = u32::try_from(hex_u64(hex).ok_or_else(invalid)?).map_err(|_| invalid())?;
            Ipv4Addr::from(value).to_string()
        }
        46 => {
            let v6: Ipv6Addr = text
                .get(1..40)
                .and_then(|inner| inner.parse().ok())
                .ok_or_else(invalid)?;
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            }
        }
        _ => return Err(invalid()),
    };
    let port = text
        .get(text.len() - 4..)
        .and_then(hex_u64)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(invalid)?;
    Ok((address, port))
}

/// Hex digits only (no sign, no `0x`), as the kernel prints them.
fn hex_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// Decimal digits only.
fn decimal_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Connections and weight summed over the backends sharing label values.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    active: u64,
    inactive: u64,
    weight: u64,
}

/// Reads one of the [`Totals`].
type TotalsValue = fn(&Totals) -> u64;

impl Collector for IpvsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.net_path("ip_vs_stats");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let stats = IpvsStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        for (name, help, value) in [
            (
                "connections_total",
                "The total number of connections made.",
                stats.connections,
            ),
            (
                "incoming_packets_total",
                "The total number of incoming packets.",
                stats.incoming_packets,
            ),
            (
                "outgoing_packets_total",
                "The total number of outgoing packets.",
                stats.outgoing_packets,
            ),
            (
                "incoming_bytes_total",
                "The total amount of incoming data.",
                stats.incoming_bytes,
            ),
            (
                "outgoing_bytes_total",
                "The total amount of outgoing data.",
                stats.outgoing_bytes,
            ),
        ] {
            out.counter(format!("node_ipvs_{name}"), help, value as f64);
        }

        let path = host.net_path("ip_vs");
        let mut parser = BackendParser::default();
        let mut sums: BTreeMap<Vec<String>, Totals> = BTreeMap::new();
        for_each_line(&path, |line| {
            if let Some(backend) = parser.line(line)? {
                let key = self.labels.0.iter().map(|l| backend.label(l)).collect();
                let totals = sums.entry(key).or_default();
                // Wrapping, as node_exporter's uint64 sums.
                totals.active = totals.active.wrapping_add(backend.active);
                totals.inactive = totals.inactive.wrapping_add(backend.inactive);
                totals.weight = totals.weight.wrapping_add(backend.weight);
            }
            Ok(())
        })
        .map_err(|e| match CollectError::lines(&path, e) {
            // The totals exist but the table does not: a failure, as there.
            err if err.kind() == crate::collectors::ErrorKind::NoData => {
                CollectError::failed(err.message())
            }
            err => err,
        })?;

        let families: [Desc<TotalsValue>; 3] = [
            Desc::gauge(
                "backend_connections_active",
                "The current active connections by local and remote address.",
                |t| t.active,
            ),
            Desc::gauge(
                "backend_connections_inactive",
                "The current inactive connections by local and remote address.",
                |t| t.inactive,
            ),
            Desc::gauge(
                "backend_weight",
                "The current backend weight by local and remote address.",
                |t| t.weight,
            ),
        ];
        for desc in families {
            let family = out.family(
                format!("node_ipvs_{}", desc.name),
                desc.help,
                desc.metric_type,
                &self.labels.0,
            );
            for (key, totals) in &sums {
                family.push(key, (desc.source)(totals) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        build, host_with_procfs, parse_args, procfs_with, scrape_fixtures,
    };

    const STATS: &str = "   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
 16AA370 E33656E5        0     51D8C8883AB3                0

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       4    1FB3C        0          1282A8F                0
";

    #[test]
    fn parses_the_totals() {
        let stats = IpvsStats::parse(STATS).unwrap();
        assert_eq!(stats.connections, 0x16AA370);
        assert_eq!(stats.incoming_packets, 0xE33656E5);
        assert_eq!(stats.outgoing_packets, 0);
        assert_eq!(stats.incoming_bytes, 0x51D8C8883AB3);
        assert_eq!(stats.outgoing_bytes, 0);
    }

    #[test]
    fn refuses_cut_or_garbled_totals() {
        assert!(IpvsStats::parse("").is_err());
        assert!(
            IpvsStats::parse("a\nb\n 1 2 3 4 5").is_err(),
            "no line after the totals"
        );
        let cut: String = STATS.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(IpvsStats::parse(&cut).is_ok(), "the rates are not needed");
        assert!(IpvsStats::parse("a\nb\n 1 2 3 4\n").is_err());
        assert!(IpvsStats::parse("a\nb\n 1 2 3 4 +5\n").is_err());
        assert!(IpvsStats::parse("a\nb\n 1 2 3 4 0x5\n").is_err());
        assert!(IpvsStats::parse("a\nb\n 1 2 3 4 10000000000000000\n").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("C0A80016:0CEA"),
            Ok(("192.168.0.22".to_string(), 3306))
        );
        assert_eq!(
            parse_address("[2620:0000:0000:0000:0000:0000:0000:0001]:0050"),
            Ok(("2620::1".to_string(), 80))
        );
        assert_eq!(
            parse_address("[0000:0000:0000:0000:0000:ffff:0a00:0001]:01bb"),
            Ok(("10.0.0.1".to_string(), 443)),
            "IPv4-mapped, as Go prints it"
        );
        for bad in [
            "C0A80016",
            "C0A8001G:0CEA",
            "+0A80016:0CEA",
            "C0A80016:+CEA",
            "[zz]:0050",
            "é0A8001:0CEA",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    fn backends(text: &str) -> Result<Vec<Backend>, String> {
        let mut parser = BackendParser::default();
        let mut out = Vec::new();
        for line in text.lines() {
            out.extend(parser.line(line)?);
        }
        Ok(out)
    }

    #[test]
    fn parses_services_and_real_servers() {
        let list = backends(
            "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C0A80016:0CEA wlc
  -> C0A85216:0CEA      Tunnel  100    248        2
FWM  10001000 wlc
  -> C0A8321A:0CEA      Route   0      0          1
SCTP  0A000001:0B59 rr
  -> 0A000002:0B59      Masq    3      1          0
  -> short
",
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            Backend {
                local_address: "192.168.0.22".into(),
                local_port: 3306,
                local_mark: String::new(),
                proto: "TCP".into(),
                remote_address: "192.168.82.22".into(),
                remote_port: 3306,
                weight: 100,
                active: 248,
                inactive: 2,
            }
        );
        assert_eq!(
            (list[1].local_address.as_str(), list[1].local_port),
            ("", 0)
        );
        assert_eq!(
            (list[1].proto.as_str(), list[1].local_mark.as_str()),
            ("FWM", "10001000")
        );
        assert_eq!((list[2].proto.as_str(), list[2].local_port), ("SCTP", 2905));
        assert!(backends("TCP  C0A80016:0CEA wlc\n  -> C0A85216:0CEA Tunnel x 1 2\n").is_err());
        assert!(backends("TCP  nonsense wlc\n").is_err());
    }

    #[test]
    fn backend_labels_flag() {
        assert_eq!(
            parse_backend_labels("proto,,local_address").unwrap(),
            BackendLabels(vec!["local_address", "proto"])
        );
        assert_eq!(parse_backend_labels("").unwrap(), BackendLabels(vec![]));
        assert_eq!(
            parse_backend_labels("zz,proto,aa").unwrap_err(),
            r#"unknown IPVS backend labels: "aa, zz""#
        );
        let err = parse_args(&["--collector.ipvs.backend-labels=bogus"]).unwrap_err();
        assert!(
            err.to_string().contains("collector.ipvs.backend-labels"),
            "{err}"
        );
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_ipvs_connections_total The total number of connections made.",
            "# TYPE node_ipvs_connections_total counter",
            "node_ipvs_connections_total 2.3765872e+07",
            "node_ipvs_incoming_packets_total 3.811989221e+09",
            "node_ipvs_incoming_bytes_total 8.9991519156915e+13",
            "node_ipvs_outgoing_bytes_total 0",
            "# TYPE node_ipvs_backend_connections_active gauge",
            r#"node_ipvs_backend_connections_active{local_address="192.168.0.22",local_mark="",local_port="3306",proto="TCP",remote_address="192.168.82.22",remote_port="3306"} 248"#,
            r#"node_ipvs_backend_connections_inactive{local_address="10.96.0.1",local_mark="",local_port="53",proto="UDP",remote_address="10.10.10.12",remote_port="53"} 4"#,
            r#"node_ipvs_backend_connections_active{local_address="2620::1",local_mark="",local_port="80",proto="TCP",remote_address="2620::3",remote_port="80"} 12"#,
            r#"node_ipvs_backend_connections_inactive{local_address="",local_mark="10001000",local_port="0",proto="FWM",remote_address="192.168.50.26",remote_port="3306"} 1"#,
            r#"node_ipvs_backend_weight{local_address="192.168.0.55",local_mark="",local_port="3306",proto="TCP",remote_address="192.168.49.32",remote_port="3306"} 100"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn fewer_labels_sum_the_backends() {
        let text = scrape_fixtures(
            &SPEC,
            &["--collector.ipvs.backend-labels=local_address,local_port"],
        );
        for expected in [
            r#"node_ipvs_backend_connections_active{local_address="192.168.0.22",local_port="3306"} 744"#,
            r#"node_ipvs_backend_connections_inactive{local_address="192.168.0.22",local_port="3306"} 5"#,
            r#"node_ipvs_backend_weight{local_address="192.168.0.22",local_port="3306"} 300"#,
            r#"node_ipvs_backend_connections_inactive{local_address="",local_port="0"} 5"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains("remote_address"));
    }

    #[test]
    fn missing_files() {
        let empty = procfs_with(&[]);
        let collector = build(&SPEC, Host::clone(&host_with_procfs(empty.path())), &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);

        let stats_only = procfs_with(&[("net/ip_vs_stats", STATS)]);
        let collector = build(
            &SPEC,
            Host::clone(&host_with_procfs(stats_only.path())),
            &[],
        )
        .unwrap();
        let mut out = MetricSet::new();
        let err = collector.update(&mut out).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::Failed);
        assert!(out
            .families()
            .iter()
            .any(|f| f.name() == "node_ipvs_connections_total"));
    }
}
