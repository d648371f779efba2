//! `nfsd`: the kernel NFS server's counters from `/proc/net/rpc/nfsd`:
//! reply cache, stale file handles, bytes read and written, threads,
//! read-ahead cache, packets, RPC errors and calls per procedure, as
//! node_exporter's `node_nfsd_*`.
//!
//! The file belongs to a network namespace; the host's is read (see
//! [`Host::net_path`]). Without the NFS server module the file does not
//! exist and the collector reports no data.

use crate::collectors::nfs::push_requests;
use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::rpc_stats::{
    exactly, procedure_counts, split_line, Network, V2_SERVER_PROCEDURES, V3_SERVER_PROCEDURES,
};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "nfsd",
    default_enabled: true,
    reads: "/proc/1/net/rpc/nfsd",
    flags: None,
    build: plain::<NfsdCollector>,
};

/// Reports the NFS server's counters.
#[derive(Default)]
struct NfsdCollector;

/// The NFSv4 operations upstream reports, by operation number (the position
/// in `proc4ops`): the three unused numbers, PUTPUBFH, PUTROOTFH and the
/// SETCLIENTID pair are not reported, nor the NFSv4.1+ operations.
const V4_OPERATIONS: &[(usize, &str)] = &[
    (3, "Access"),
    (4, "Close"),
    (5, "Commit"),
    (6, "Create"),
    (7, "DelegPurge"),
    (8, "DelegReturn"),
    (9, "GetAttr"),
    (10, "GetFH"),
    (11, "Link"),
    (12, "Lock"),
    (13, "Lockt"),
    (14, "Locku"),
    (15, "Lookup"),
    (16, "LookupRoot"),
    (17, "Nverify"),
    (18, "Open"),
    (19, "OpenAttr"),
    (20, "OpenConfirm"),
    (21, "OpenDgrd"),
    (22, "PutFH"),
    (25, "Read"),
    (26, "ReadDir"),
    (27, "ReadLink"),
    (28, "Remove"),
    (29, "Rename"),
    (30, "Renew"),
    (31, "RestoreFH"),
    (32, "SaveFH"),
    (33, "SecInfo"),
    (34, "SetAttr"),
    (37, "Verify"),
    (38, "Write"),
    (39, "RelLockOwner"),
];

/// NFSv4.0 has 40 operation numbers (0 to RELEASE_LOCKOWNER); 2.6-era
/// kernels counted 39.
const MIN_V4_OPERATIONS: usize = 39;

/// The NFS server's counters: `/proc/net/rpc/nfsd`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// `rc`: reply cache hits, misses, and replies not cached.
    pub reply_cache: [u64; 3],
    /// `fh`: stale file handles (the line's other fields are always 0).
    pub stale_file_handles: u64,
    /// `io`: bytes read and written.
    pub io: [u64; 2],
    /// `th`: server threads.
    pub threads: u64,
    /// `ra`: read-ahead cache size and misses (deprecated, zeros since 5.x).
    pub read_ahead: ReadAhead,
    /// `net`.
    pub network: Network,
    /// `rpc`.
    pub rpc: ServerRpc,
    /// NFSv2 calls per procedure (`proc2`), NULL first.
    pub v2: Vec<u64>,
    /// NFSv3 calls per procedure (`proc3`).
    pub v3: Vec<u64>,
    /// NFSv4 operations by number (`proc4ops`).
    pub v4_operations: Vec<u64>,
    /// `wdeleg_getattr` (6.6+): GETATTRs that recalled a write delegation.
    pub wdeleg_getattr: u64,
}

/// The `ra` line's reported fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadAhead {
    /// Cache size in blocks.
    pub size: u64,
    /// Lookups not found in the cache.
    pub not_found: u64,
}

/// The server's `rpc` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerRpc {
    /// RPC calls received.
    pub calls: u64,
    /// Calls refused for a bad format.
    pub bad_format: u64,
    /// Calls refused for bad authentication.
    pub bad_auth: u64,
    /// Calls refused for a bad client.
    pub bad_client: u64,
}

impl ServerStats {
    /// Parses `/proc/net/rpc/nfsd`:
    ///
    /// ```text
    /// rc 0 6 18622
    /// fh 0 0 0 0 0
    /// io 157286400 0
    /// th 8 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000
    /// ra 32 0 0 0 0 0 0 0 0 0 0 0
    /// net 18628 0 18628 6
    /// rpc 18628 0 0 0 0
    /// proc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0
    /// proc4 2 2 10853
    /// proc4ops 72 0 0 0 1098 2 0 0 0 0 8179 5896 0 0 0 0 5900 0 0 2 0 2 ...
    /// wdeleg_getattr 0
    /// ```
    ///
    /// Only the first two fields of `th` are read: the rest is a histogram
    /// of decimals, zeros on current kernels. A known line with the wrong
    /// number of counters, or a counter that is not a number, makes the file
    /// an error, as upstream's; lines of unknown labels are skipped (upstream
    /// failed on `wdeleg_getattr` until it learned the line). A text without
    /// an `rpc` line is not this file.
    pub fn parse(text: &str) -> Result<ServerStats, String> {
        let mut stats = ServerStats::default();
        let mut has_rpc = false;
        for (label, fields) in text.lines().filter_map(split_line) {
            match label {
                "rc" => stats.reply_cache = exactly(label, &fields)?,
                "fh" => [stats.stale_file_handles, ..] = exactly::<5>(label, &fields)?,
                "io" => stats.io = exactly(label, &fields)?,
                "th" => {
                    let head = fields.get(..2).ok_or("th: fewer than 2 fields")?;
                    [stats.threads, _] = exactly(label, head)?;
                }
                "ra" => {
                    let values: [u64; 12] = exactly(label, &fields)?;
                    stats.read_ahead = ReadAhead {
                        size: values[0],
                        not_found: values[11],
                    };
                }
                "net" => stats.network = Network::from_counters(&fields)?,
                "rpc" => {
                    let [calls, _, bad_format, bad_auth, bad_client] = exactly(label, &fields)?;
                    stats.rpc = ServerRpc {
                        calls,
                        bad_format,
                        bad_auth,
                        bad_client,
                    };
                    has_rpc = true;
                }
                "proc2" => stats.v2 = procedure_counts(label, &fields, 18)?,
                "proc3" => stats.v3 = procedure_counts(label, &fields, 22)?,
                // NULL and COMPOUND: checked as upstream does, not reported.
                "proc4" => {
                    let calls = procedure_counts(label, &fields, 2)?;
                    if calls.len() != 2 {
                        return Err(format!("proc4: {} procedures, expected 2", calls.len()));
                    }
                }
                "proc4ops" => {
                    stats.v4_operations = procedure_counts(label, &fields, MIN_V4_OPERATIONS)?
                }
                "wdeleg_getattr" => [stats.wdeleg_getattr] = exactly(label, &fields)?,
                _ => {}
            }
        }
        if !has_rpc {
            return Err("no rpc line".to_string());
        }
        Ok(stats)
    }
}

impl Collector for NfsdCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.net_path("rpc/nfsd");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let stats = ServerStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        emit(&stats, out);
        Ok(())
    }
}

/// The label-less families: name, help, type, value.
fn singles(stats: &ServerStats) -> [(&'static str, &'static str, MetricType, u64); 11] {
    use MetricType::{Counter, Gauge};
    [
        (
            "node_nfsd_reply_cache_hits_total",
            "Total number of NFSd Reply Cache hits (client lost server response).",
            Counter,
            stats.reply_cache[0],
        ),
        (
            "node_nfsd_reply_cache_misses_total",
            "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
            Counter,
            stats.reply_cache[1],
        ),
        (
            "node_nfsd_reply_cache_nocache_total",
            "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
            Counter,
            stats.reply_cache[2],
        ),
        (
            "node_nfsd_file_handles_stale_total",
            "Total number of NFSd stale file handles",
            Counter,
            stats.stale_file_handles,
        ),
        (
            "node_nfsd_disk_bytes_read_total",
            "Total NFSd bytes read.",
            Counter,
            stats.io[0],
        ),
        (
            "node_nfsd_disk_bytes_written_total",
            "Total NFSd bytes written.",
            Counter,
            stats.io[1],
        ),
        (
            "node_nfsd_server_threads",
            "Total number of NFSd kernel threads that are running.",
            Gauge,
            stats.threads,
        ),
        (
            "node_nfsd_read_ahead_cache_size_blocks",
            "How large the read ahead cache is in blocks.",
            Gauge,
            stats.read_ahead.size,
        ),
        (
            "node_nfsd_read_ahead_cache_not_found_total",
            "Total number of NFSd read ahead cache not found.",
            Counter,
            stats.read_ahead.not_found,
        ),
        (
            "node_nfsd_connections_total",
            "Total number of NFSd TCP connections.",
            Counter,
            stats.network.tcp_connections,
        ),
        (
            "node_nfsd_server_rpcs_total",
            "Total number of NFSd RPCs.",
            Counter,
            stats.rpc.calls,
        ),
    ]
}

fn emit(stats: &ServerStats, out: &mut MetricSet) {
    for (name, help, metric_type, value) in singles(stats) {
        out.single(name, help, metric_type, value as f64);
    }
    let packets = out.family(
        "node_nfsd_packets_total",
        "Total NFSd network packets (sent+received) by protocol type.",
        MetricType::Counter,
        &["proto"],
    );
    packets.push(&["udp"], stats.network.udp as f64);
    packets.push(&["tcp"], stats.network.tcp as f64);
    let errors = out.family(
        "node_nfsd_rpc_errors_total",
        "Total number of NFSd RPC errors by error type.",
        MetricType::Counter,
        &["error"],
    );
    errors.push(&["fmt"], stats.rpc.bad_format as f64);
    errors.push(&["auth"], stats.rpc.bad_auth as f64);
    errors.push(&["cInt"], stats.rpc.bad_client as f64);
    let requests = out.family(
        "node_nfsd_requests_total",
        "Total number NFSd Requests by method and protocol.",
        MetricType::Counter,
        &["proto", "method"],
    );
    // The v2 and v3 lists start after NULL, which the counts start with.
    let after_null =
        |names: &'static [&'static str]| names.iter().enumerate().map(|(i, &name)| (i + 1, name));
    push_requests(requests, "2", after_null(V2_SERVER_PROCEDURES), &stats.v2);
    push_requests(requests, "3", after_null(V3_SERVER_PROCEDURES), &stats.v3);
    push_requests(
        requests,
        "4",
        V4_OPERATIONS.iter().copied(),
        &stats.v4_operations,
    );
    requests.push(&["4", "WdelegGetattr"], stats.wdeleg_getattr as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_host, host_with_procfs, procfs_with, render, run,
    };
    use crate::collectors::ErrorKind;

    /// This shape is a 6.8 server: deprecated `th` histogram and `ra` line
    /// of zeros, NFSv4.2 operations (77), `wdeleg_getattr`, no `proc2`.
    const LINUX_6_8: &str = "\
rc 0 25020854 19157796
fh 276 0 0 0 0
io 899844043 2470085989
th 16 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000
ra 0 0 0 0 0 0 0 0 0 0 0 0
net 44179842 1 44179026 3092
rpc 44177753 0 3 4 5
proc3 22 747 7259760 1383711 1570520 3464939 8436 4688207 21668847 1173194 6457 2127 172 213538 1253 556401 14950 1101 56245 90790 742 367 1989658
proc4 2 12 2403551
proc4ops 77 0 0 0 105 3 0 0 0 6 9609 2 0 0 0 0 1223 0 0 11 0 2 0 9609 0 2 150 1272 0 0 0 1236 0 0 0 0 3 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
wdeleg_getattr 16
";

    /// A 2.6.32 server: real `th` histogram, populated `ra`, NFSv2, and
    /// NFSv4.0 operations only (40).
    const LINUX_2_6_32: &str = "\
rc 0 6 18622
fh 0 0 0 0 0
io 157286400 0
th 8 0 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000
ra 32 0 0 0 0 0 0 0 0 0 0 0
net 18628 0 18628 6
rpc 18628 0 0 0 0
proc2 18 2 69 0 0 4410 0 0 0 0 0 0 0 0 0 0 0 0 0
proc3 22 2 112 0 2719 111 0 0 0 0 0 0 0 0 0 0 0 27 216 0 2 1 0
proc4 2 2 10853
proc4ops 40 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 7
";

    fn run_on(text: &str) -> (Vec<crate::metrics::Family>, Result<(), CollectError>) {
        let dir = procfs_with(&[("net/rpc/nfsd", text)]);
        run(&NfsdCollector, &host_with_procfs(dir.path()))
    }

    #[test]
    fn parses_a_current_server() {
        let stats = ServerStats::parse(LINUX_6_8).unwrap();
        assert_eq!(stats.reply_cache, [0, 25020854, 19157796]);
        assert_eq!(stats.stale_file_handles, 276);
        assert_eq!(stats.io, [899844043, 2470085989]);
        assert_eq!(stats.threads, 16);
        assert_eq!(stats.read_ahead, ReadAhead::default());
        assert_eq!(stats.network.tcp, 44179026);
        assert_eq!(
            stats.rpc,
            ServerRpc {
                calls: 44177753,
                bad_format: 3,
                bad_auth: 4,
                bad_client: 5
            }
        );
        assert!(stats.v2.is_empty());
        assert_eq!(stats.v3[21], 1989658);
        assert_eq!(stats.v4_operations.len(), 77);
        assert_eq!(stats.v4_operations[9], 9609);
        assert_eq!(stats.wdeleg_getattr, 16);
    }

    #[test]
    fn parses_an_old_server() {
        let stats = ServerStats::parse(LINUX_2_6_32).unwrap();
        assert_eq!(stats.threads, 8);
        assert_eq!(stats.read_ahead.size, 32);
        assert_eq!(stats.v2[1], 69);
        assert_eq!(stats.v4_operations.len(), 40);
        assert_eq!(stats.v4_operations[39], 7);
        assert_eq!(stats.wdeleg_getattr, 0);
    }

    #[test]
    fn thread_line_variants() {
        for (th, threads) in [
            // A busy 3.x server's histogram of seconds at each usage level.
            (
                "th 64 1033 3.136 0.892 0.640 0.396 0.208 0.116 0.060 0.028 0.012 0.516",
                64,
            ),
            // Only the two counters.
            ("th 8 0", 8),
        ] {
            let stats = ServerStats::parse(&format!("rpc 1 0 0 0 0\n{th}\n")).unwrap();
            assert_eq!(stats.threads, threads, "{th}");
        }
        for th in ["th 8", "th x 0", "th 0.5 0 0.000"] {
            assert!(
                ServerStats::parse(&format!("rpc 1 0 0 0 0\n{th}\n")).is_err(),
                "{th}"
            );
        }
    }

    #[test]
    fn v4_operation_counts_vary_by_kernel() {
        let ops = |n: usize| {
            let mut line = format!("proc4ops {n}");
            for i in 0..n {
                line.push_str(&format!(" {i}"));
            }
            ServerStats::parse(&format!("rpc 1 0 0 0 0\n{line}\n"))
        };
        assert_eq!(ops(39).unwrap().v4_operations.len(), 39);
        assert_eq!(ops(59).unwrap().v4_operations.len(), 59);
        assert_eq!(ops(72).unwrap().v4_operations[38], 38);
        assert!(ops(38).is_err());
    }

    #[test]
    fn broken_known_lines_are_errors() {
        for line in [
            "rc 1 2",
            "fh 1 2 3 4",
            "io 1",
            "ra 1 2 3",
            "net 1 2 3",
            "rpc 1 2 3 4",
            "proc2 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
            "proc3 22 1 2 3",
            "proc4 3 1 2 3",
            "proc4ops 40 1 2",
            "wdeleg_getattr",
            "wdeleg_getattr 1 2",
            "io -1 0",
        ] {
            let text = format!("rpc 1 0 0 0 0\n{line}\n");
            assert!(ServerStats::parse(&text).is_err(), "{line}");
        }
        assert!(ServerStats::parse("").is_err());
        assert!(ServerStats::parse("rc 1 2 3\n").is_err());
        assert!(ServerStats::parse("garbage\n\u{fffd}\n").is_err());
        let cut = &LINUX_2_6_32[..LINUX_2_6_32.len() - 10];
        assert!(ServerStats::parse(cut).is_err());
    }

    #[test]
    fn unknown_lines_are_skipped() {
        let stats = ServerStats::parse("rpc 7 0 0 0 0\nfuture_line 1 2 x\n").unwrap();
        assert_eq!(stats.rpc.calls, 7);
    }

    #[test]
    fn reports_upstream_series() {
        let (families, result) = run_on(LINUX_2_6_32);
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), 14);
        let requests = families
            .iter()
            .find(|f| f.name() == "node_nfsd_requests_total")
            .unwrap();
        // 17 + 21 + 33 operations and WdelegGetattr.
        assert_eq!(requests.samples().len(), 17 + 21 + 33 + 1);
        let threads = families
            .iter()
            .find(|f| f.name() == "node_nfsd_server_threads")
            .unwrap();
        assert_eq!(threads.metric_type(), MetricType::Gauge);
        assert_eq!(threads.samples()[0].value, 8.0);
    }

    #[test]
    fn missing_file_is_no_data_and_garbage_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (_, result) = run(&NfsdCollector, &host_with_procfs(dir.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        let (families, result) = run_on("rpc 1 2\n");
        assert!(families.is_empty());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Failed);
    }

    #[test]
    fn fixture_host_output() {
        let text = render(&NfsdCollector, &fixture_host());
        for line in [
            "# HELP node_nfsd_reply_cache_nocache_total Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
            "# TYPE node_nfsd_server_threads gauge",
            "node_nfsd_server_threads 16",
            "node_nfsd_file_handles_stale_total 276",
            "node_nfsd_packets_total{proto=\"tcp\"} 4.4179026e+07",
            "node_nfsd_rpc_errors_total{error=\"cInt\"} 0",
            "node_nfsd_requests_total{method=\"GetAttr\",proto=\"4\"} 9609",
            "node_nfsd_requests_total{method=\"Commit\",proto=\"3\"} 1.989658e+06",
            "node_nfsd_requests_total{method=\"Root\",proto=\"2\"} 0",
            "node_nfsd_requests_total{method=\"WdelegGetattr\",proto=\"4\"} 16",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
