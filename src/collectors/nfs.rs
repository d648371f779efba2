//! `nfs`: the NFS client's RPC counters from `/proc/net/rpc/nfs`: packets,
//! connections, RPC calls and retransmissions, and calls per procedure of
//! NFSv2, v3 and v4, as node_exporter's `node_nfs_*`.
//!
//! The file belongs to a network namespace; the host's is read (see
//! [`Host::net_path`]). Without the NFS client module the file does not
//! exist and the collector reports no data.
//!
//! Also the pieces of the `/proc/net/rpc/*` line format that the `nfsd`
//! collector shares.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::rpc_stats::{
    exactly, procedure_counts, split_line, Network, V2_PROCEDURES, V3_PROCEDURES,
};
use crate::metrics::{Family, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "nfs",
    default_enabled: true,
    reads: "/proc/1/net/rpc/nfs",
    flags: None,
    build: plain::<NfsCollector>,
};

/// Reports the NFS client's RPC counters.
#[derive(Default)]
struct NfsCollector;

/// The first 59 NFSv4 client procedures in the kernel's order, as upstream
/// names them; later kernels' further procedures are not reported.
///
/// Positions 44 and 45 are the kernel's LAYOUTGET and GETDEVICEINFO, which
/// upstream reads the other way round; the names follow upstream so that the
/// series are the same.
const V4_PROCEDURES: &[&str] = &[
    "Null",
    "Read",
    "Write",
    "Commit",
    "Open",
    "OpenConfirm",
    "OpenNoattr",
    "OpenDowngrade",
    "Close",
    "Setattr",
    "FsInfo",
    "Renew",
    "SetClientID",
    "SetClientIDConfirm",
    "Lock",
    "Lockt",
    "Locku",
    "Access",
    "Getattr",
    "Lookup",
    "LookupRoot",
    "Remove",
    "Rename",
    "Link",
    "Symlink",
    "Create",
    "Pathconf",
    "StatFs",
    "ReadLink",
    "ReadDir",
    "ServerCaps",
    "DelegReturn",
    "GetACL",
    "SetACL",
    "FsLocations",
    "ReleaseLockowner",
    "Secinfo",
    "FsidPresent",
    "ExchangeID",
    "CreateSession",
    "DestroySession",
    "Sequence",
    "GetLeaseTime",
    "ReclaimComplete",
    "GetDeviceInfo",
    "LayoutGet",
    "LayoutCommit",
    "LayoutReturn",
    "SecinfoNoName",
    "TestStateID",
    "FreeStateID",
    "GetDeviceList",
    "BindConnToSession",
    "DestroyClientID",
    "Seek",
    "Allocate",
    "DeAllocate",
    "LayoutStats",
    "Clone",
];

/// Pushes one `requests_total` sample per `(method, position)`: the count
/// at that position of `counts`, 0 when the kernel reports fewer procedures
/// (a missing line reads as zeros, as upstream's).
pub fn push_requests<'a>(
    family: &mut Family,
    proto: &str,
    methods: impl IntoIterator<Item = (usize, &'a str)>,
    counts: &[u64],
) {
    for (position, method) in methods {
        let count = counts.get(position).copied().unwrap_or(0);
        family.push(&[proto, method], count as f64);
    }
}

/// The `rpc` line of the client: calls, retransmissions and credential
/// refreshes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientRpc {
    /// RPC calls made.
    pub calls: u64,
    /// Calls retransmitted.
    pub retransmissions: u64,
    /// Credential refreshes.
    pub auth_refreshes: u64,
}

/// The NFS client's counters: `/proc/net/rpc/nfs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// The `net` line.
    pub network: Network,
    /// The `rpc` line.
    pub rpc: ClientRpc,
    /// NFSv2 calls per procedure (`proc2`), in the kernel's order.
    pub v2: Vec<u64>,
    /// NFSv3 calls per procedure (`proc3`).
    pub v3: Vec<u64>,
    /// NFSv4 calls per procedure (`proc4`).
    pub v4: Vec<u64>,
}

impl ClientStats {
    /// Parses `/proc/net/rpc/nfs`:
    ///
    /// ```text
    /// net 0 0 0 0
    /// rpc 1218785 0 0
    /// proc3 22 0 13 0 12 4 0 1208548 ...
    /// proc4 69 0 ...
    /// ```
    ///
    /// A version the kernel lacks (no `proc2` line) reads as zeros. A known
    /// line with the wrong number of counters, or a counter that is not a
    /// number, makes the file an error, as upstream's; lines of unknown
    /// labels are skipped so that a kernel adding one does not stop the
    /// collector. A text without `net` and `rpc` lines is not this file.
    pub fn parse(text: &str) -> Result<ClientStats, String> {
        let mut stats = ClientStats::default();
        let mut known = false;
        for (label, fields) in text.lines().filter_map(split_line) {
            match label {
                "net" => stats.network = Network::from_counters(&fields)?,
                "rpc" => {
                    let [calls, retransmissions, auth_refreshes] = exactly(label, &fields)?;
                    stats.rpc = ClientRpc {
                        calls,
                        retransmissions,
                        auth_refreshes,
                    };
                }
                "proc2" => stats.v2 = procedure_counts(label, &fields, V2_PROCEDURES.len())?,
                "proc3" => stats.v3 = procedure_counts(label, &fields, V3_PROCEDURES.len())?,
                // Older kernels have fewer v4 procedures; the rest read as 0.
                "proc4" => stats.v4 = procedure_counts(label, &fields, 0)?,
                _ => continue,
            }
            known |= label == "net" || label == "rpc";
        }
        if !known {
            return Err("no net or rpc line".to_string());
        }
        Ok(stats)
    }
}

impl Collector for NfsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.net_path("rpc/nfs");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let stats = ClientStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        emit(&stats, out);
        Ok(())
    }
}

fn emit(stats: &ClientStats, out: &mut MetricSet) {
    let packets = out.family(
        "node_nfs_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
        MetricType::Counter,
        &["protocol"],
    );
    packets.push(&["udp"], stats.network.udp as f64);
    packets.push(&["tcp"], stats.network.tcp as f64);
    for (name, help, value) in [
        (
            "node_nfs_connections_total",
            "Total number of NFSd TCP connections.",
            stats.network.tcp_connections,
        ),
        (
            "node_nfs_rpcs_total",
            "Total number of RPCs performed.",
            stats.rpc.calls,
        ),
        (
            "node_nfs_rpc_retransmissions_total",
            "Number of RPC transmissions performed.",
            stats.rpc.retransmissions,
        ),
        (
            "node_nfs_rpc_authentication_refreshes_total",
            "Number of RPC authentication refreshes performed.",
            stats.rpc.auth_refreshes,
        ),
    ] {
        out.counter(name, help, value as f64);
    }
    let requests = out.family(
        "node_nfs_requests_total",
        "Number of NFS procedures invoked.",
        MetricType::Counter,
        &["proto", "method"],
    );
    for (proto, names, counts) in [
        ("2", V2_PROCEDURES, &stats.v2),
        ("3", V3_PROCEDURES, &stats.v3),
        ("4", V4_PROCEDURES, &stats.v4),
    ] {
        push_requests(requests, proto, names.iter().copied().enumerate(), counts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_host, host_with_procfs, procfs_with, render, run,
    };
    use crate::collectors::ErrorKind;

    /// A 6.x client with NFSv4.2 (69 procedures) and no NFSv2 support.
    const LINUX_6: &str = "\
net 0 0 0 0
rpc 1218785 3 7
proc3 22 0 13 0 12 4 0 1208548 0 0 0 0 0 0 0 0 0 0 0 2 2 0 0
proc4 69 0 4821 992 66 310 0 0 0 305 42 2 0 0 0 0 0 0 1880 26719 10388 2 33 9 0 0 18 0 1 0 1 4 2 0 0 0 0 0 0 2 2 2 30215 1 1 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
";

    /// A 2.6.32 client: NFSv2 present, NFSv4.0 only (35 procedures).
    const LINUX_2_6_32: &str = "\
net 18628 0 18628 6
rpc 4329785 0 4338291
proc2 18 2 69 0 0 4410 0 0 0 0 0 0 0 0 0 0 0 99 2
proc3 22 1 4084749 29200 94754 32580 186 47747 7981 8639 0 6356 0 6962 0 7958 0 0 241 4 4 2 39
proc4 35 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1
";

    fn method(stats: &[u64], names: &[&str], name: &str) -> u64 {
        let position = names.iter().position(|n| *n == name).unwrap();
        stats.get(position).copied().unwrap_or(0)
    }

    #[test]
    fn parses_a_current_client() {
        let stats = ClientStats::parse(LINUX_6).unwrap();
        assert_eq!(stats.network, Network::default());
        assert_eq!(
            stats.rpc,
            ClientRpc {
                calls: 1218785,
                retransmissions: 3,
                auth_refreshes: 7
            }
        );
        assert!(stats.v2.is_empty());
        assert_eq!(stats.v3.len(), 22);
        assert_eq!(method(&stats.v3, V3_PROCEDURES, "Read"), 1208548);
        assert_eq!(stats.v4.len(), 69);
        assert_eq!(method(&stats.v4, V4_PROCEDURES, "Read"), 4821);
        assert_eq!(method(&stats.v4, V4_PROCEDURES, "Getattr"), 26719);
        assert_eq!(method(&stats.v4, V4_PROCEDURES, "Sequence"), 30215);
    }

    #[test]
    fn parses_an_old_client_with_fewer_v4_procedures() {
        let stats = ClientStats::parse(LINUX_2_6_32).unwrap();
        assert_eq!(stats.network.udp, 0);
        assert_eq!(stats.network.tcp, 18628);
        assert_eq!(stats.network.tcp_connections, 6);
        assert_eq!(method(&stats.v2, V2_PROCEDURES, "GetAttr"), 69);
        assert_eq!(method(&stats.v2, V2_PROCEDURES, "FsStat"), 2);
        assert_eq!(method(&stats.v3, V3_PROCEDURES, "Commit"), 39);
        assert_eq!(stats.v4.len(), 35);
        // Beyond what the kernel reports: zero.
        assert_eq!(method(&stats.v4, V4_PROCEDURES, "Clone"), 0);
    }

    #[test]
    fn broken_known_lines_are_errors() {
        for text in [
            "net 1 2 3\nrpc 1 2 3\n",
            "net 1 2 3 4\nrpc 1 2\n",
            "net 1 2 3 4\nrpc 1 2 x\n",
            "net 1 2 3 4\nrpc 1 2 -3\n",
            "rpc 1 2 3\nproc3 22 1 2 3\n",
            "rpc 1 2 3\nproc3 3 1 2 3\n",
            "rpc 1 2 3\nproc2 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            "rpc 1 2 3\nproc4 5 1 2\n",
            "rpc 1 2 3\nproc4\n",
            "",
            "garbage\nmore garbage 1 2\n",
            "\u{fffd}\u{fffd}\n",
        ] {
            assert!(ClientStats::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn truncated_file_is_an_error_not_a_short_count() {
        let cut = &LINUX_6[..LINUX_6.len() - 20];
        assert!(ClientStats::parse(cut).is_err());
    }

    #[test]
    fn unknown_lines_are_skipped() {
        let stats = ClientStats::parse("net 1 2 3 4\nfuture 1 x\nrpc 5 6 7\n\n").unwrap();
        assert_eq!(stats.rpc.calls, 5);
        assert_eq!(stats.network.tcp_connections, 4);
    }

    #[test]
    fn huge_counters() {
        let stats = ClientStats::parse("rpc 18446744073709551615 0 0\n").unwrap();
        assert_eq!(stats.rpc.calls, u64::MAX);
        assert!(ClientStats::parse("rpc 18446744073709551616 0 0\n").is_err());
    }

    #[test]
    fn missing_file_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = run(&NfsCollector, &host_with_procfs(dir.path()));
        assert!(families.is_empty());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn unparsable_file_fails() {
        let dir = procfs_with(&[("net/rpc/nfs", "rpc 1 2\n")]);
        let (_, result) = run(&NfsCollector, &host_with_procfs(dir.path()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("rpc/nfs"), "{err}");
    }

    #[test]
    fn reports_every_procedure_of_every_version() {
        let dir = procfs_with(&[("net/rpc/nfs", LINUX_2_6_32)]);
        let (families, result) = run(&NfsCollector, &host_with_procfs(dir.path()));
        result.unwrap();
        let requests = families
            .iter()
            .find(|f| f.name() == "node_nfs_requests_total")
            .unwrap();
        assert_eq!(requests.samples().len(), 18 + 22 + 59);
        assert_eq!(requests.label_names(), ["method", "proto"]);
        let packets = families
            .iter()
            .find(|f| f.name() == "node_nfs_packets_total")
            .unwrap();
        assert_eq!(packets.label_names(), ["protocol"]);
    }

    #[test]
    fn fixture_host_output() {
        let host = fixture_host();
        let collector = NfsCollector;
        let text = render(&collector, &host);
        for line in [
            "# HELP node_nfs_requests_total Number of NFS procedures invoked.",
            "# TYPE node_nfs_requests_total counter",
            "node_nfs_requests_total{method=\"Null\",proto=\"2\"} 0",
            "node_nfs_connections_total 0",
            "node_nfs_packets_total{protocol=\"tcp\"} 0",
            "node_nfs_rpcs_total 1.218785e+06",
            "node_nfs_rpc_retransmissions_total 3",
            "node_nfs_rpc_authentication_refreshes_total 1.218785e+06",
            "node_nfs_requests_total{method=\"Read\",proto=\"3\"} 1.208548e+06",
            "node_nfs_requests_total{method=\"Getattr\",proto=\"4\"} 26719",
            "node_nfs_requests_total{method=\"Clone\",proto=\"4\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
