//! `network_route`: the host's unicast routes, from `/proc/net/route` and
//! `/proc/net/ipv6_route`, as `node_network_route_info` and the number of
//! routes per device as `node_network_routes`.
//!
//! node_exporter dumps the routes over rtnetlink, which answers for the
//! agent's own network namespace only; in a pod that is not the host's, so
//! hostwatch reads the host's tables through procfs (see
//! [`Host::net_path`]). The series are the same where procfs has the
//! information; where it does not:
//!
//! - `src` (the preferred source address) and `proto` (who installed the
//!   route: `kernel`, `boot`, `bgp`, ...) are not in procfs and are always
//!   empty.
//! - IPv4 routes come from the main table only (`/proc/net/route`), so
//!   routes in other policy-routing tables are missing; IPv6 routes come
//!   from every table.
//! - A multipath route gives one series per next hop upstream, with its
//!   `weight`; `/proc/net/route` shows the first next hop only, and
//!   `/proc/net/ipv6_route` a row per next hop without a weight, so
//!   `weight` is always empty.
//!
//! As upstream, only unicast routes are reported: local, broadcast,
//! multicast, anycast, unreachable/prohibit (reject) and blackhole routes
//! are left out, the last recognised by having no device.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "network_route",
    default_enabled: false,
    reads: "/proc/1/net/route, /proc/1/net/ipv6_route",
    flags: None,
    build: plain::<NetworkRouteCollector>,
};

/// Reports the unicast routes of both address families.
#[derive(Default)]
struct NetworkRouteCollector;

/// `RTF_REJECT`: an unreachable or prohibit route.
const RTF_REJECT: u32 = 0x0200;
/// `RTF_ANYCAST`: an IPv6 anycast route of the local table.
const RTF_ANYCAST: u32 = 0x0010_0000;
/// `RTF_CACHE`: an IPv6 cached (cloned) route, not part of any table.
const RTF_CACHE: u32 = 0x0100_0000;
/// `RTF_LOCAL`: an IPv6 route to one of the host's own addresses.
const RTF_LOCAL: u32 = 0x8000_0000;

/// One unicast route, as the labels of `node_network_route_info` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The outgoing device.
    pub device: String,
    /// `default`, or the destination network as `address/prefix`.
    pub dest: String,
    /// The gateway, or empty for a directly connected network.
    pub gateway: String,
    /// The route's metric.
    pub priority: u32,
}

/// `default` for a zero-length prefix, `address/length` otherwise.
fn destination(address: impl std::fmt::Display, prefix: u32) -> String {
    if prefix == 0 {
        "default".to_string()
    } else {
        format!("{address}/{prefix}")
    }
}

fn hex_u32(field: &str, what: &str) -> Result<u32, String> {
    u32::from_str_radix(field, 16).map_err(|_| format!("invalid {what} {field:?}"))
}

/// An address of `/proc/net/route`: the kernel prints the network-order
/// 32-bit value as a host-order integer, so its bytes in host order are
/// the address's octets.
fn ipv4_address(field: &str, what: &str) -> Result<Ipv4Addr, String> {
    Ok(Ipv4Addr::from(hex_u32(field, what)?.to_ne_bytes()))
}

fn ipv6_address(field: &str, what: &str) -> Result<Ipv6Addr, String> {
    if field.len() != 32 {
        return Err(format!("invalid {what} {field:?}"));
    }
    u128::from_str_radix(field, 16)
        .map(Ipv6Addr::from)
        .map_err(|_| format!("invalid {what} {field:?}"))
}

/// Parses `/proc/net/route` (the IPv4 main table), tab-separated:
///
/// ```text
/// Iface Destination Gateway  Flags RefCnt Use Metric Mask     MTU Window IRTT
/// eth0  00000000    010200C0 0003  0      0   0      00000000 0   0      0
/// ```
///
/// The header and blank lines are skipped; rows of reject and blackhole
/// (device `*`) routes are left out. A row with fewer than eight columns,
/// a bad address or a non-contiguous mask makes the file an error.
pub fn parse_ipv4_routes(text: &str) -> Result<Vec<Route>, String> {
    let mut routes = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.first() {
            None | Some(&"Iface") => continue,
            Some(_) if fields.len() < 8 => {
                return Err(format!("{} columns, expected 11: {line:?}", fields.len()))
            }
            Some(_) => {}
        }
        let dest = ipv4_address(fields[1], "destination")?;
        let gateway = ipv4_address(fields[2], "gateway")?;
        let flags = hex_u32(fields[3], "flags")?;
        // Printed with %d: metrics of 2^31 and above come out negative.
        let priority = fields[6]
            .parse::<i64>()
            .map(|m| m as u32)
            .map_err(|_| format!("invalid metric {:?}", fields[6]))?;
        let mask = u32::from_be_bytes(ipv4_address(fields[7], "mask")?.octets());
        let prefix = mask.leading_ones();
        if mask.checked_shl(prefix).unwrap_or(0) != 0 {
            return Err(format!("non-contiguous mask {:?}", fields[7]));
        }
        if flags & RTF_REJECT != 0 || fields[0] == "*" {
            continue;
        }
        routes.push(Route {
            device: fields[0].to_string(),
            dest: destination(dest, prefix),
            gateway: if gateway.is_unspecified() {
                String::new()
            } else {
                gateway.to_string()
            },
            priority,
        });
    }
    Ok(routes)
}

/// Parses `/proc/net/ipv6_route`, one route per line: destination, prefix
/// length, source, source prefix length, next hop, metric, reference
/// count, use count and flags in hex, then the device:
///
/// ```text
/// fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
/// ```
///
/// Local, anycast, multicast, reject and cached routes, and routes without
/// a device, are left out. A line with fewer than nine columns or a bad
/// value makes the file an error.
pub fn parse_ipv6_routes(text: &str) -> Result<Vec<Route>, String> {
    let mut routes = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < 9 {
            return Err(format!("{} columns, expected 10: {line:?}", fields.len()));
        }
        let dest = ipv6_address(fields[0], "destination")?;
        let prefix = hex_u32(fields[1], "prefix length")?;
        if prefix > 128 {
            return Err(format!("invalid prefix length {:?}", fields[1]));
        }
        let gateway = ipv6_address(fields[4], "next hop")?;
        let priority = hex_u32(fields[5], "metric")?;
        let flags = hex_u32(fields[8], "flags")?;
        let Some(device) = fields.get(9) else {
            continue;
        };
        let skipped = RTF_REJECT | RTF_ANYCAST | RTF_CACHE | RTF_LOCAL;
        if flags & skipped != 0 || (prefix >= 8 && dest.is_multicast()) {
            continue;
        }
        routes.push(Route {
            device: device.to_string(),
            dest: destination(dest, prefix),
            gateway: if !gateway.is_unspecified() {
                gateway.to_string()
            } else {
                String::new()
            },
            priority,
        });
    }
    Ok(routes)
}

impl NetworkRouteCollector {
    /// Reads and parses one table; `None` when the file does not exist (no
    /// IPv6, or no IPv4 on a kernel built without it).
    fn read(
        &self,
        host: &Host,
        file: &str,
        parse: fn(&str) -> Result<Vec<Route>, String>,
    ) -> Result<Option<Vec<Route>>, CollectError> {
        let path = host.net_path(file);
        match read_text(&path) {
            Ok(text) => parse(&text)
                .map(Some)
                .map_err(|e| CollectError::parse(&path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CollectError::io(&path, &e)),
        }
    }
}

impl Collector for NetworkRouteCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let ipv4 = self.read(host, "route", parse_ipv4_routes)?;
        let ipv6 = self.read(host, "ipv6_route", parse_ipv6_routes)?;
        if ipv4.is_none() && ipv6.is_none() {
            return Err(CollectError::no_data(format!(
                "neither {} nor ipv6_route exists",
                host.net_path("route").display()
            )));
        }
        let routes: Vec<Route> = ipv4.into_iter().chain(ipv6).flatten().collect();
        let info = out.family(
            "node_network_route_info",
            "network routing table information",
            MetricType::Gauge,
            &["device", "src", "dest", "gw", "priority", "proto", "weight"],
        );
        let mut per_device: BTreeMap<&str, u64> = BTreeMap::new();
        for route in &routes {
            info.push(
                &[
                    route.device.as_str(),
                    "",
                    &route.dest,
                    &route.gateway,
                    &route.priority.to_string(),
                    "",
                    "",
                ],
                1.0,
            );
            *per_device.entry(&route.device).or_default() += 1;
        }
        let counts = out.family(
            "node_network_routes",
            "network routes by interface",
            MetricType::Gauge,
            &["device"],
        );
        for (device, count) in per_device {
            counts.push(&[device], count as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};
    use crate::collectors::ErrorKind;

    /// This machine's tables plus, written by hand, a host route through a
    /// gateway with a metric, a docker0 network, and unreachable and
    /// blackhole routes.
    const IPV4: &str = include_str!("../../tests/fixtures/proc/1/net/route");
    /// This machine's table (with the local, multicast and reject entries
    /// of the local table) plus a route through a gateway on docker0.
    const IPV6: &str = include_str!("../../tests/fixtures/proc/1/net/ipv6_route");

    fn route(device: &str, dest: &str, gateway: &str, priority: u32) -> Route {
        Route {
            device: device.into(),
            dest: dest.into(),
            gateway: gateway.into(),
            priority,
        }
    }

    #[test]
    fn parses_the_ipv4_main_table() {
        assert_eq!(
            parse_ipv4_routes(IPV4).unwrap(),
            vec![
                route("eth0", "default", "192.0.2.1", 0),
                route("docker0", "172.17.0.0/16", "", 0),
                route("eth0", "192.0.2.0/24", "", 0),
                route("eth0", "198.51.100.7/32", "192.0.2.254", 100),
            ]
        );
    }

    #[test]
    fn parses_the_ipv6_tables() {
        assert_eq!(
            parse_ipv6_routes(IPV6).unwrap(),
            vec![
                route("eth0", "fd00::/64", "", 256),
                route("eth0", "fe80::/64", "", 256),
                route("eth0", "default", "fd00::1", 1024),
                route("docker0", "2001:db8:1::/48", "fd00::fe", 4294967295),
            ]
        );
    }

    #[test]
    fn negative_ipv4_metric_is_the_unsigned_priority() {
        let line = "eth0\t00000000\t010200C0\t0003\t0\t0\t-2\t00000000\t0\t0\t0";
        assert_eq!(parse_ipv4_routes(line).unwrap()[0].priority, 4294967294);
    }

    #[test]
    fn garbage_and_truncation_are_refused() {
        for text in [
            "eth0\t00000000\t010200C0\t0003",
            "eth0\tnothex\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "eth0\t00000000\t010200C0\t0003\t0\t0\tx\t00000000\t0\t0\t0",
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0",
        ] {
            assert!(parse_ipv4_routes(text).is_err(), "{text:?}");
        }
        let good = IPV6.lines().next().unwrap();
        for text in [
            &good[..60],
            &good.replacen("40", "99", 1),
            &good.replacen("fd00", "fd0", 1),
            &good.replacen("fd00", "zz00", 1),
        ] {
            assert!(parse_ipv6_routes(text).is_err(), "{text:?}");
        }
        assert!(parse_ipv4_routes("").unwrap().is_empty());
        assert!(parse_ipv6_routes("").unwrap().is_empty());
    }

    #[test]
    fn collector_reports_routes_and_counts() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert!(text.contains(
            "node_network_route_info{dest=\"198.51.100.7/32\",device=\"eth0\",gw=\"192.0.2.254\",priority=\"100\",proto=\"\",src=\"\",weight=\"\"} 1\n"
        ), "{text}");
        assert!(
            text.ends_with(
                "# HELP node_network_routes network routes by interface\n\
             # TYPE node_network_routes gauge\n\
             node_network_routes{device=\"docker0\"} 2\n\
             node_network_routes{device=\"eth0\"} 6\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn missing_tables_are_no_data_and_ipv6_is_optional() {
        let empty = procfs_with(&[]);
        let (_, result) = run(&NetworkRouteCollector, &host_with_procfs(empty.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        let ipv4_only = procfs_with(&[("net/route", IPV4)]);
        let (families, result) = run(&NetworkRouteCollector, &host_with_procfs(ipv4_only.path()));
        result.unwrap();
        assert_eq!(families[0].samples().len(), 4);
    }
}
