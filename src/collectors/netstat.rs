//! `netstat`: the protocol counters of `/proc/net/netstat`, `/proc/net/snmp`
//! and `/proc/net/snmp6` selected by `--collector.netstat.fields`, as untyped
//! `node_netstat_<Protocol>_<Field>`.
//!
//! The files are read from the host's network namespace (see
//! [`Host::net_path`]).

use std::io;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::field_selection::{add_untyped, FieldSelection};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::MetricSet;
use crate::parse::{self, number};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "netstat",
    default_enabled: true,
    reads: "/proc/1/net/netstat, /proc/1/net/snmp, /proc/1/net/snmp6",
    flags: Some(Flags::augment_args),
    build,
};

/// node_exporter's default selection: errors, forwarding, octets, ICMP
/// messages, listen-queue and SYN-cookie events, TCP segment and connection
/// counters, and UDP datagram counters.
const DEFAULT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";

/// Flags of the netstat collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of fields to return for netstat collector.
    #[arg(
        id = "collector.netstat.fields",
        long = "collector.netstat.fields",
        value_name = "REGEX",
        default_value = DEFAULT_FIELDS,
        value_parser = crate::parse::regex
    )]
    pub fields: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(NetstatCollector {
        fields: FieldSelection::new(ctx.flags::<Flags>()?.fields),
    }))
}

/// Reports the selected protocol counters.
struct NetstatCollector {
    /// Picks counters by `<Protocol>_<Field>`.
    fields: FieldSelection,
}

/// Protocol counters by protocol (`TcpExt`, `Ip6`, ...) and field name, in
/// file order. Names are borrowed from the file's text.
///
/// Lists rather than maps: the files hold some 400 counters, and building
/// sorted maps of them cost more than the rest of the collector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolStats<'a> {
    /// Each protocol once, with its fields.
    pub protocols: Vec<Protocol<'a>>,
}

/// One protocol's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol<'a> {
    /// The protocol, as the file names it (`Tcp`, `Icmp6`).
    pub name: &'a str,
    /// Field name and value, in file order.
    pub fields: Vec<(&'a str, f64)>,
}

impl<'a> Protocol<'a> {
    /// The value of `field`; the last one where the file repeats it.
    pub fn get(&self, field: &str) -> Option<f64> {
        self.fields
            .iter()
            .rev()
            .find(|(name, _)| *name == field)
            .map(|&(_, value)| value)
    }
}

impl<'a> ProtocolStats<'a> {
    /// Parses the header/value line pairs of `/proc/net/netstat` and
    /// `/proc/net/snmp`:
    ///
    /// ```text
    /// Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens
    /// Tcp: 1 200 120000 -1 1574
    /// ```
    ///
    /// A header without its value line, a value line for another protocol,
    /// differing column counts or a value that is not a number make the whole
    /// file an error, as the columns could no longer be matched to names.
    pub fn parse_paired(text: &'a str) -> Result<ProtocolStats<'a>, String> {
        let mut stats = ProtocolStats::default();
        let mut lines = parse::lines(text).filter(|line| !line.trim().is_empty());
        while let Some(header) = lines.next() {
            let (protocol, names_text) = split_protocol(header)?;
            let values = lines
                .next()
                .ok_or_else(|| format!("{protocol}: header without a value line"))?;
            let (value_protocol, values_text) = split_protocol(values)?;
            if value_protocol != protocol {
                return Err(format!(
                    "{protocol}: header followed by values of {value_protocol}"
                ));
            }
            let mut fields = Vec::new();
            let (mut names, mut numbers) = (
                names_text.split_ascii_whitespace(),
                values_text.split_ascii_whitespace(),
            );
            loop {
                match (names.next(), numbers.next()) {
                    (Some(name), Some(value)) => {
                        let value = number(value).ok_or_else(|| {
                            format!("{protocol}: invalid value {value:?} for {name}")
                        })?;
                        fields.push((name, value));
                    }
                    (None, None) => break,
                    _ => {
                        return Err(format!(
                            "{protocol}: {} names but {} values",
                            names_text.split_ascii_whitespace().count(),
                            values_text.split_ascii_whitespace().count()
                        ))
                    }
                }
            }
            // A repeated protocol replaces the earlier one, as upstream's map.
            stats.set(Protocol {
                name: protocol,
                fields,
            });
        }
        Ok(stats)
    }

    /// Parses `/proc/net/snmp6`, one `Ip6InReceives   42` per line: the
    /// protocol is the name up to and including its first `6`. Lines without
    /// a `6` in the name, or without a value, are skipped; a value that is
    /// not a number makes the file an error.
    pub fn parse_snmp6(text: &'a str) -> Result<ProtocolStats<'a>, String> {
        let mut stats = ProtocolStats::default();
        for line in parse::lines(text) {
            let mut words = line.split_ascii_whitespace();
            let (Some(key), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            let Some(six) = key.bytes().position(|b| b == b'6') else {
                continue;
            };
            let (protocol, name) = key.split_at(six + 1);
            if name.is_empty() {
                continue;
            }
            let value =
                number(value).ok_or_else(|| format!("invalid value {value:?} for {key}"))?;
            // A protocol's lines come together: the last one is the likely one.
            let known = stats
                .protocols
                .iter_mut()
                .rev()
                .find(|p| p.name == protocol);
            match known {
                Some(known) => known.fields.push((name, value)),
                None => stats.protocols.push(Protocol {
                    name: protocol,
                    fields: vec![(name, value)],
                }),
            }
        }
        Ok(stats)
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<&Protocol<'a>> {
        self.protocols.iter().find(|p| p.name == name)
    }

    /// Adds `other`'s protocols, each replacing a protocol of the same name
    /// (the three files never share one).
    pub fn merge(&mut self, other: ProtocolStats<'a>) {
        for protocol in other.protocols {
            self.set(protocol);
        }
    }

    /// Adds `protocol`, replacing one of the same name.
    fn set(&mut self, protocol: Protocol<'a>) {
        match self.protocols.iter_mut().find(|p| p.name == protocol.name) {
            Some(earlier) => *earlier = protocol,
            None => self.protocols.push(protocol),
        }
    }
}

/// Splits `Proto: rest` into the protocol and the rest.
fn split_protocol(line: &str) -> Result<(&str, &str), String> {
    match line.split_once(':') {
        Some((protocol, rest))
            if !protocol.is_empty() && !protocol.contains(char::is_whitespace) =>
        {
            Ok((protocol, rest))
        }
        _ => Err(format!("line without a protocol: {:?}", truncate(line))),
    }
}

/// The start of a line, for error messages.
fn truncate(line: &str) -> &str {
    match line.char_indices().nth(60) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

impl NetstatCollector {
    /// Reads one file, with its path; a missing file reads as empty when
    /// `may_be_absent` (`snmp6`, which IPv6 being disabled removes).
    fn read(
        &self,
        host: &Host,
        file: &str,
        may_be_absent: bool,
    ) -> Result<(std::path::PathBuf, String), CollectError> {
        let path = host.net_path(file);
        match read_text(&path) {
            Ok(text) => Ok((path, text)),
            Err(e) if may_be_absent && e.kind() == io::ErrorKind::NotFound => {
                Ok((path, String::new()))
            }
            Err(e) => Err(CollectError::io(&path, &e)),
        }
    }
}

impl Collector for NetstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let (netstat_path, netstat) = self.read(host, "netstat", false)?;
        let (snmp_path, snmp) = self.read(host, "snmp", false)?;
        let (snmp6_path, snmp6) = self.read(host, "snmp6", true)?;
        let mut stats = ProtocolStats::parse_paired(&netstat)
            .map_err(|e| CollectError::parse(&netstat_path, e))?;
        stats.merge(
            ProtocolStats::parse_paired(&snmp).map_err(|e| CollectError::parse(&snmp_path, e))?,
        );
        stats.merge(
            ProtocolStats::parse_snmp6(&snmp6).map_err(|e| CollectError::parse(&snmp6_path, e))?,
        );
        let mut key = String::new();
        let mut selected = Vec::new();
        let mut pass = self.fields.pass();
        for protocol in &stats.protocols {
            for &(field, value) in &protocol.fields {
                key.clear();
                key.push_str(protocol.name);
                key.push('_');
                key.push_str(field);
                let describe = || {
                    (
                        format!("node_netstat_{key}"),
                        format!("Statistic {}{field}.", protocol.name),
                    )
                };
                if let Some(family) = pass.select(&key, describe) {
                    selected.push((family, value));
                }
            }
        }
        // A field the kernel repeats is one series, with its last value.
        selected.reverse();
        add_untyped(out, selected);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_procfs, host_with_procfs, parse_args, procfs_with, run, series,
    };
    use crate::metrics::{Family, MetricType};

    /// This machine's files (Linux 6.18).
    const NETSTAT: &str = include_str!("../../tests/fixtures/proc/1/net/netstat");
    const SNMP: &str = include_str!("../../tests/fixtures/proc/1/net/snmp");
    const SNMP6: &str = include_str!("../../tests/fixtures/proc/1/net/snmp6");

    /// `/proc/net/snmp` of a 2.6.32 kernel: no `Icmp: InCsumErrors`, no
    /// `Udp: InCsumErrors/IgnoredMulti`, no `Ip: OutTransmits`.
    const SNMP_2_6_32: &str = "\
Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates
Ip: 1 64 2710497 0 2 0 0 0 2710476 2452353 0 8 0 0 0 0 0 0 0
Icmp: InMsgs InErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps
Icmp: 45 0 45 0 0 0 0 0 0 0 0 0 0 45 0 45 0 0 0 0 0 0 0 0 0 0
IcmpMsg: InType3 OutType3
IcmpMsg: 45 45
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts
Tcp: 1 200 120000 -1 21334 4117 68 217 12 2682004 2419656 1218 0 1102
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
Udp: 28410 45 0 28455 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
UdpLite: 0 0 0 0 0 0
";

    fn default_fields() -> Regex {
        crate::parse::regex(DEFAULT_FIELDS).unwrap()
    }

    fn value(stats: &ProtocolStats, protocol: &str, name: &str) -> f64 {
        stats.get(protocol).unwrap().get(name).unwrap()
    }

    #[test]
    fn parses_this_machines_files() {
        let netstat = ProtocolStats::parse_paired(NETSTAT).unwrap();
        let protocols: Vec<&str> = netstat.protocols.iter().map(|p| p.name).collect();
        assert!(protocols.contains(&"TcpExt") && protocols.contains(&"IpExt"));
        assert!(netstat.get("TcpExt").unwrap().get("TCPRcvQDrop").is_some());
        let snmp = ProtocolStats::parse_paired(SNMP).unwrap();
        for protocol in ["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"] {
            assert!(snmp.get(protocol).is_some(), "{protocol}");
        }
        let snmp6 = ProtocolStats::parse_snmp6(SNMP6).unwrap();
        let count: usize = snmp6.protocols.iter().map(|p| p.fields.len()).sum();
        assert_eq!(count, SNMP6.lines().count());
        for protocol in ["Ip6", "Icmp6", "Udp6", "UdpLite6"] {
            assert!(snmp6.get(protocol).is_some(), "{protocol}");
        }
    }

    #[test]
    fn pairs_map_names_to_values() {
        let snmp = ProtocolStats::parse_paired(SNMP_2_6_32).unwrap();
        assert_eq!(value(&snmp, "Tcp", "MaxConn"), -1.0);
        assert_eq!(value(&snmp, "Tcp", "OutRsts"), 1102.0);
        assert_eq!(value(&snmp, "Ip", "FragCreates"), 0.0);
        assert_eq!(value(&snmp, "Udp", "NoPorts"), 45.0);
        assert_eq!(value(&snmp, "IcmpMsg", "OutType3"), 45.0);
        assert!(snmp.get("Udp").unwrap().get("InCsumErrors").is_none());
    }

    #[test]
    fn snmp6_splits_at_the_first_six() {
        let text = "Ip6InReceives                   \t42\nIcmp6InType133 7\nUdpLite6InErrors 3\nnosix 1\nIp6OnlyName\n\nIp6 9\n";
        let snmp6 = ProtocolStats::parse_snmp6(text).unwrap();
        assert_eq!(value(&snmp6, "Ip6", "InReceives"), 42.0);
        assert_eq!(value(&snmp6, "Icmp6", "InType133"), 7.0);
        assert_eq!(value(&snmp6, "UdpLite6", "InErrors"), 3.0);
        assert_eq!(snmp6.protocols.len(), 3);
        assert!(ProtocolStats::parse_snmp6("Ip6InReceives x\n").is_err());
        assert!(ProtocolStats::parse_snmp6("").unwrap().protocols.is_empty());
    }

    #[test]
    fn mismatched_or_broken_pairs_are_errors() {
        for text in [
            "Tcp: A B C\nTcp: 1 2\n",
            "Tcp: A B\nTcp: 1 2 3\n",
            "Tcp: A B\n",
            "Tcp: A B\nUdp: 1 2\n",
            "Tcp: A B\nTcp: 1 x\n",
            "garbage line\nmore garbage\n",
            "Tcp: A B\nTcp: 1 2\nUdp: InDatagrams NoPorts\nUdp: 5",
        ] {
            assert!(ProtocolStats::parse_paired(text).is_err(), "{text:?}");
        }
        assert!(ProtocolStats::parse_paired("")
            .unwrap()
            .protocols
            .is_empty());
    }

    #[test]
    fn values_beyond_u32_and_u64() {
        let stats = ProtocolStats::parse_paired(
            "IpExt: InOctets OutOctets\nIpExt: 123456789012345 18446744073709551615\n",
        )
        .unwrap();
        assert_eq!(value(&stats, "IpExt", "InOctets"), 123456789012345.0);
        assert_eq!(value(&stats, "IpExt", "OutOctets"), 18446744073709551615.0);
    }

    #[test]
    fn default_selection_matches_upstream() {
        let mut stats = ProtocolStats::parse_paired(NETSTAT).unwrap();
        stats.merge(ProtocolStats::parse_paired(SNMP_2_6_32).unwrap());
        let fields = default_fields();
        let selected: Vec<String> = stats
            .protocols
            .iter()
            .flat_map(|p| p.fields.iter().map(move |(f, _)| format!("{}_{f}", p.name)))
            .filter(|key| fields.is_match(key))
            .collect();
        for key in [
            "Icmp_InErrors",
            "Icmp_InMsgs",
            "Icmp_OutMsgs",
            "IpExt_InOctets",
            "IpExt_OutOctets",
            "Ip_Forwarding",
            "TcpExt_ListenDrops",
            "TcpExt_ListenOverflows",
            "TcpExt_SyncookiesFailed",
            "TcpExt_SyncookiesRecv",
            "TcpExt_SyncookiesSent",
            "TcpExt_TCPOFOQueue",
            "TcpExt_TCPRcvQDrop",
            "TcpExt_TCPSynRetrans",
            "TcpExt_TCPTimeouts",
            "Tcp_ActiveOpens",
            "Tcp_CurrEstab",
            "Tcp_InErrs",
            "Tcp_InSegs",
            "Tcp_OutRsts",
            "Tcp_OutSegs",
            "Tcp_PassiveOpens",
            "Tcp_RetransSegs",
            "UdpLite_InErrors",
            "Udp_InDatagrams",
            "Udp_InErrors",
            "Udp_NoPorts",
            "Udp_OutDatagrams",
            "Udp_RcvbufErrors",
            "Udp_SndbufErrors",
        ] {
            assert!(selected.iter().any(|k| k == key), "{key} not selected");
        }
        for key in [
            "Tcp_MaxConn",
            "TcpExt_TCPOFODrop",
            "Ip_InReceives",
            "TcpExt_TW",
        ] {
            assert!(!selected.iter().any(|k| k == key), "{key} selected");
        }
        // 30 above, and MPTcpExt has no InErrors: nothing else is picked.
        assert_eq!(selected.len(), 30);
    }

    fn collect(procfs: &std::path::Path, fields: Regex) -> (Vec<Family>, Result<(), CollectError>) {
        run(
            &NetstatCollector {
                fields: FieldSelection::new(fields),
            },
            &host_with_procfs(procfs),
        )
    }

    #[test]
    fn a_second_run_answers_from_the_selection_cache_alike() {
        let host = host_with_procfs(&fixture_procfs());
        let collector = NetstatCollector {
            fields: FieldSelection::new(default_fields()),
        };
        let (first, result) = run(&collector, &host);
        result.unwrap();
        let (second, result) = run(&collector, &host);
        result.unwrap();
        assert!(!first.is_empty());
        assert_eq!(first, second);
    }

    #[test]
    fn collector_emits_untyped_families_with_upstream_help() {
        let (families, result) = collect(&fixture_procfs(), default_fields());
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        for name in [
            "node_netstat_Icmp6_InMsgs",
            "node_netstat_Ip6_InOctets",
            "node_netstat_Udp6_NoPorts",
            "node_netstat_UdpLite6_InErrors",
            "node_netstat_TcpExt_TCPRcvQDrop",
            "node_netstat_Tcp_CurrEstab",
            "node_netstat_Ip_Forwarding",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        let forwarding = families
            .iter()
            .find(|f| f.name() == "node_netstat_Ip_Forwarding")
            .unwrap();
        assert_eq!(forwarding.help(), "Statistic IpForwarding.");
        assert_eq!(forwarding.samples()[0].value, 2.0);
        assert!(families
            .iter()
            .all(|f| f.metric_type() == MetricType::Untyped && f.label_names().is_empty()));
    }

    #[test]
    fn repeated_protocols_and_fields_give_one_series_with_the_last_value() {
        let procfs = procfs_with(&[
            (
                "net/netstat",
                "TcpExt: ListenDrops ListenDrops\nTcpExt: 1 2\nTcpExt: ListenDrops\nTcpExt: 3\n",
            ),
            ("net/snmp", "Udp: NoPorts\nUdp: 4\n"),
            ("net/snmp6", "Udp6NoPorts 5\nIp6InOctets 6\nUdp6NoPorts 7\n"),
        ]);
        let (families, result) = collect(procfs.path(), default_fields());
        result.unwrap();
        assert_eq!(
            series(&families),
            vec![
                ("node_netstat_Ip6_InOctets", 6.0),
                ("node_netstat_TcpExt_ListenDrops", 3.0),
                ("node_netstat_Udp6_NoPorts", 7.0),
                ("node_netstat_Udp_NoPorts", 4.0),
            ]
        );
    }

    #[test]
    fn missing_snmp6_is_fine_and_missing_snmp_fails() {
        let netstat = ("net/netstat", "TcpExt: ListenDrops\nTcpExt: 3\n");
        let procfs = procfs_with(&[netstat]);
        let (_, result) = collect(procfs.path(), default_fields());
        assert!(result.unwrap_err().message().contains("snmp"));
        let procfs = procfs_with(&[netstat, ("net/snmp", SNMP_2_6_32)]);
        let listen = crate::parse::regex("Listen").unwrap();
        let (families, result) = collect(procfs.path(), listen);
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, vec!["node_netstat_TcpExt_ListenDrops"]);
    }

    #[test]
    fn garbage_fails_the_collector() {
        let procfs = procfs_with(&[
            ("net/netstat", "TcpExt: A B\nTcpExt: 1\n"),
            ("net/snmp", SNMP_2_6_32),
        ]);
        let (_, result) = collect(procfs.path(), default_fields());
        let err = result.unwrap_err();
        assert!(err.message().contains("netstat"), "{err}");
    }

    #[test]
    fn fields_flag_defaults_overrides_and_refuses_bad_regex() {
        let parse = parse_args;
        let default = parse(&[]).unwrap();
        assert_eq!(
            default.collector_flags::<Flags>().fields.as_str(),
            DEFAULT_FIELDS
        );
        let all = parse(&["--collector.netstat.fields=.*"]).unwrap();
        assert_eq!(all.collector_flags::<Flags>().fields.as_str(), ".*");
        assert!(all.warnings.is_empty(), "{:?}", all.warnings);
        let err = parse(&["--collector.netstat.fields", "("]).unwrap_err();
        assert!(
            err.to_string().contains("collector.netstat.fields"),
            "{err}"
        );
    }
}
