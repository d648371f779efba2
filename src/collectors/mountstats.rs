//! `mountstats`: per-mount NFS client statistics from `/proc/<pid>/mountstats`
//! (bytes, events, RPC transport and per-operation counters), as
//! node_exporter's `node_mountstats_nfs_*`, labelled with the export, the
//! transport protocol and the server address (`addr=` of the mount's
//! superblock options in the same process's `mountinfo`).
//!
//! # Whose mounts
//! node_exporter reads its own `/proc/self/mountstats`, which in a pod is
//! the container's mount namespace: it sees the NFS volumes mounted into
//! that pod, not the host's NFS mounts. hostwatch reads PID 1's
//! (`<procfs>/1/mountstats` with the agent sharing the host's PID
//! namespace): the host's mounts, as the `filesystem` collector does. The
//! file is readable by its owner only, so this takes an agent running as
//! root (or with `CAP_DAC_READ_SEARCH`); when PID 1's is missing or
//! unreadable the agent's own is read, which is node_exporter's view.

use std::collections::HashSet;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::mountinfo::{unescape, MountInfo};
use crate::kernel::rpc_stats::{counters, exactly};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "mountstats",
    default_enabled: false,
    reads: "/proc/1/mountstats, /proc/1/mountinfo",
    flags: None,
    build: plain::<MountstatsCollector>,
};

/// Reports the NFS mounts' statistics.
#[derive(Default)]
struct MountstatsCollector;

/// One `device ... mounted on ... with fstype ...` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct MountEntry {
    /// The mount source as the file shows it (escaped), e.g. `server:/export`.
    pub device: String,
    /// The mount point as the file shows it (escaped).
    pub mount_point: String,
    /// The filesystem type.
    pub fs_type: String,
    /// The statistics an NFS mount has; `None` for other filesystems.
    pub nfs: Option<NfsStats>,
}

/// The statistics of one NFS mount.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NfsStats {
    /// Seconds since the mount (`age:`).
    pub age_seconds: f64,
    /// The `bytes:` counters: read, write, direct read, direct write, read
    /// from the server, written to the server, pages read, pages written.
    pub bytes: [u64; 8],
    /// The 27 `events:` counters, in the kernel's order.
    pub events: [u64; 27],
    /// One per `xprt:` line (several with `nconnect`).
    pub transports: Vec<Transport>,
    /// The `per-op statistics`, in file order.
    pub operations: Vec<Operation>,
}

/// An `xprt:` line, its fields placed as upstream places them: UDP has no
/// connection counters, stats version 1.0 and RDMA no slot and queue ones;
/// those read as 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// `tcp`, `udp` or `rdma`.
    pub protocol: String,
    /// Binds to the server's port.
    pub bind: u64,
    /// Connections made.
    pub connect: u64,
    /// Seconds since the transport was last used.
    pub idle_seconds: u64,
    /// RPC requests sent.
    pub sends: u64,
    /// RPC replies received.
    pub receives: u64,
    /// Replies with an unknown transaction ID.
    pub bad_xids: u64,
    /// Sum of the backlog queue length at each request.
    pub backlog: u64,
    /// Most RPC slots ever in use.
    pub max_slots: u64,
    /// Sum of the sending queue length at each request.
    pub sending: u64,
    /// Sum of the pending queue length at each request.
    pub pending: u64,
}

/// One line of `per-op statistics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operation {
    /// The operation, e.g. `READ`, or its number when the kernel has no name.
    pub name: String,
    /// Requests made.
    pub requests: u64,
    /// Transmissions, retransmissions included.
    pub transmissions: u64,
    /// Major timeouts.
    pub major_timeouts: u64,
    /// Bytes sent, RPC headers included.
    pub bytes_sent: u64,
    /// Bytes received, RPC headers included.
    pub bytes_received: u64,
    /// Milliseconds queued before transmission, summed.
    pub queue_ms: u64,
    /// Milliseconds from transmission to reply, summed.
    pub response_ms: u64,
    /// Milliseconds from queueing to completion, summed.
    pub request_ms: u64,
    /// Requests that ended in an error (kernels since 4.17; else 0).
    pub errors: u64,
}

/// Parses a whole mountstats file. Entries of filesystems other than NFS
/// are kept without statistics. Malformed entries, and NFS statistics not
/// in the kernel's format (wrong counts, non-numbers, an unknown stats
/// version or transport), make the file an error, as upstream's.
pub fn parse(text: &str) -> Result<Vec<MountEntry>, String> {
    let mut lines = text.lines();
    let mut mounts = Vec::new();
    while let Some(line) = lines.next() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() != Some(&"device") {
            continue;
        }
        let mut mount = parse_device_line(&fields)?;
        if let Some(version) = fields.get(8) {
            if mount.fs_type != "nfs" && mount.fs_type != "nfs4" {
                return Err(format!(
                    "statistics for a mount of type {:?}",
                    mount.fs_type
                ));
            }
            let version = version.strip_prefix("statvers=").unwrap_or(version);
            let stats = parse_nfs(&mut lines, version)
                .map_err(|e| format!("{} on {}: {e}", mount.device, mount.mount_point))?;
            mount.nfs = Some(stats);
        }
        mounts.push(mount);
    }
    Ok(mounts)
}

/// `device <source> mounted on <mount point> with fstype <type> [statvers=..]`.
fn parse_device_line(fields: &[&str]) -> Result<MountEntry, String> {
    let well_formed = fields.len() >= 8
        && [(2, "mounted"), (3, "on"), (5, "with"), (6, "fstype")]
            .iter()
            .all(|&(i, word)| fields[i] == word);
    if !well_formed {
        return Err(format!("invalid device line {:?}", fields.join(" ")));
    }
    Ok(MountEntry {
        device: fields[1].to_string(),
        mount_point: fields[4].to_string(),
        fs_type: fields[7].to_string(),
        nfs: None,
    })
}

/// The lines of an NFS entry after its device line: tagged lines up to
/// `per-op statistics`, then one line per operation up to a blank line.
fn parse_nfs<'a>(
    lines: &mut impl Iterator<Item = &'a str>,
    version: &str,
) -> Result<NfsStats, String> {
    let mut stats = NfsStats::default();
    for line in lines.by_ref() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some((&tag, values)) = fields.split_first() else {
            break;
        };
        match tag {
            "age:" => {
                let age = values.first().ok_or("age: no value")?;
                stats.age_seconds = age
                    .parse::<f64>()
                    .ok()
                    .filter(|age| age.is_finite() && *age >= 0.0)
                    .ok_or_else(|| format!("age: invalid value {age:?}"))?;
            }
            "bytes:" => stats.bytes = exactly("bytes", values)?,
            "events:" => stats.events = exactly("events", values)?,
            "xprt:" => stats.transports.push(parse_transport(values, version)?),
            "per-op" => break,
            _ => {}
        }
    }
    for line in lines.by_ref() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some((&name, values)) = fields.split_first() else {
            break;
        };
        stats.operations.push(parse_operation(name, values)?);
    }
    Ok(stats)
}

/// `NAME: requests transmissions timeouts sent received queue rtt execute
/// [errors]`; kernels before 4.17 have no errors field.
fn parse_operation(name: &str, values: &[&str]) -> Result<Operation, String> {
    let name = name.strip_suffix(':').unwrap_or(name);
    let v = counters(name, values)?;
    if v.len() < 8 {
        return Err(format!("{name}: {} counters, expected 8 or more", v.len()));
    }
    Ok(Operation {
        name: name.to_string(),
        requests: v[0],
        transmissions: v[1],
        major_timeouts: v[2],
        bytes_sent: v[3],
        bytes_received: v[4],
        queue_ms: v[5],
        response_ms: v[6],
        request_ms: v[7],
        errors: v.get(8).copied().unwrap_or(0),
    })
}

/// An `xprt:` line's protocol and counters. The number of counters depends
/// on the stats version and protocol:
///
/// ```text
/// 1.0 tcp  port bind connect idle_connect idle sends recvs bad_xids req backlog
/// 1.0 udp  port bind sends recvs bad_xids req backlog
/// 1.1 tcp  as 1.0, then max_slots sending pending
/// 1.1 udp  as 1.0, then max_slots sending pending
/// 1.1 rdma as 1.0 tcp, then 10 to 18 RDMA counters
/// ```
fn parse_transport(values: &[&str], version: &str) -> Result<Transport, String> {
    let (&protocol, values) = values
        .split_first()
        .filter(|(_, rest)| !rest.is_empty())
        .ok_or("xprt: incomplete line")?;
    let v = counters("xprt", values)?;
    let expected = match (version, protocol) {
        ("1.0", "tcp") => v.len() == 10,
        ("1.0", "udp") => v.len() == 7,
        ("1.1", "tcp") => v.len() == 13,
        ("1.1", "udp") => v.len() == 10,
        ("1.1", "rdma") => v.len() >= 20,
        ("1.0" | "1.1", _) => return Err(format!("xprt: unknown protocol {protocol:?}")),
        _ => return Err(format!("unknown stats version {version:?}")),
    };
    if !expected {
        return Err(format!(
            "xprt: {} counters for {protocol} in stats version {version}",
            v.len()
        ));
    }
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    let mut transport = Transport {
        protocol: protocol.to_string(),
        ..Transport::default()
    };
    if protocol == "udp" {
        transport.bind = at(1);
        transport.sends = at(2);
        transport.receives = at(3);
        transport.bad_xids = at(4);
        transport.backlog = at(6);
        transport.max_slots = at(7);
        transport.sending = at(8);
        transport.pending = at(9);
    } else {
        transport.bind = at(1);
        transport.connect = at(2);
        transport.idle_seconds = at(4);
        transport.sends = at(5);
        transport.receives = at(6);
        transport.bad_xids = at(7);
        transport.backlog = at(9);
        // RDMA's counters after the tenth are its own.
        if protocol == "tcp" {
            transport.max_slots = at(10);
            transport.sending = at(11);
            transport.pending = at(12);
        }
    }
    Ok(transport)
}

/// Upstream reduces some counters modulo 2^53 so that they stay exact as
/// float64; kept for the same values.
fn below_2_pow_53(value: u64) -> f64 {
    (value % (1 << 53)) as f64
}

/// One reported mount: label values (export, protocol, server address)
/// and its statistics.
struct Reported<'a> {
    labels: [&'a str; 3],
    stats: &'a NfsStats,
}

/// Picks the mounts to report as upstream does: per transport of each NFS
/// mount, one `mountpoint_info` per (export, protocol, address, mount
/// point), and the statistics once per (export, protocol, address), the
/// first mount of a server export reporting for all its mount points.
fn select<'a>(
    mounts: &'a [MountEntry],
    addresses: &'a [String],
) -> (Vec<[&'a str; 4]>, Vec<Reported<'a>>) {
    let mut infos = Vec::new();
    let mut reported = Vec::new();
    let mut seen_infos = HashSet::new();
    let mut seen_devices = HashSet::new();
    for (mount, address) in mounts.iter().zip(addresses) {
        let Some(stats) = &mount.nfs else {
            continue;
        };
        for transport in &stats.transports {
            let info = [
                mount.device.as_str(),
                transport.protocol.as_str(),
                address.as_str(),
                mount.mount_point.as_str(),
            ];
            if seen_infos.insert(info) {
                infos.push(info);
            }
            let labels = [info[0], info[1], info[2]];
            if !seen_devices.insert(labels) {
                break;
            }
            reported.push(Reported { labels, stats });
        }
    }
    (infos, reported)
}

/// Each mount's server address (`addr=` in its superblock options), from
/// the mountinfo of the same process. Both files list the mounts in the
/// same order; an entry is matched at the same position, or else by mount
/// point, in case a line of either could not be read.
fn server_addresses(mounts: &[MountEntry], mountinfo: &MountInfo) -> Vec<String> {
    mounts
        .iter()
        .enumerate()
        .map(|(i, mount)| {
            let mount_point = unescape(&mount.mount_point);
            let same = |m: &&crate::kernel::mountinfo::Mount| m.mount_point == mount_point;
            let info = mountinfo
                .mounts
                .get(i)
                .filter(same)
                .or_else(|| mountinfo.mounts.iter().rev().find(same));
            info.and_then(|m| {
                m.super_options
                    .split(',')
                    .find_map(|option| option.strip_prefix("addr="))
            })
            .unwrap_or("")
            .to_string()
        })
        .collect()
}

/// Reads one value of a mount's [`NfsStats`].
type MountValue = fn(&NfsStats) -> f64;

/// Reads one value of a [`Transport`].
type TransportValue = fn(&Transport) -> f64;

/// Reads one value of an [`Operation`].
type OperationValue = fn(&Operation) -> f64;

/// The counters of a mount; each source is the value's function of its
/// statistics.
const MOUNT_METRICS: &[Desc<MountValue>] = &[
    Desc::counter(
        "age_seconds_total",
        "The age of the NFS mount in seconds.",
        |s| s.age_seconds,
    ),
    Desc::counter(
        "read_bytes_total",
        "Number of bytes read using the read() syscall.",
        |s| s.bytes[0] as f64,
    ),
    Desc::counter(
        "write_bytes_total",
        "Number of bytes written using the write() syscall.",
        |s| s.bytes[1] as f64,
    ),
    Desc::counter(
        "direct_read_bytes_total",
        "Number of bytes read using the read() syscall in O_DIRECT mode.",
        |s| s.bytes[2] as f64,
    ),
    Desc::counter(
        "direct_write_bytes_total",
        "Number of bytes written using the write() syscall in O_DIRECT mode.",
        |s| s.bytes[3] as f64,
    ),
    Desc::counter(
        "total_read_bytes_total",
        "Number of bytes read from the NFS server, in total.",
        |s| s.bytes[4] as f64,
    ),
    Desc::counter(
        "total_write_bytes_total",
        "Number of bytes written to the NFS server, in total.",
        |s| s.bytes[5] as f64,
    ),
    Desc::counter(
        "read_pages_total",
        "Number of pages read directly via mmap()'d files.",
        |s| s.bytes[6] as f64,
    ),
    Desc::counter(
        "write_pages_total",
        "Number of pages written directly via mmap()'d files.",
        |s| s.bytes[7] as f64,
    ),
];

/// The reported event counters; each source is the position in `events:`.
/// The 19th, a congestion wait count no kernel increments, is not reported.
/// Help texts are upstream's, repeated ones included.
const EVENTS: &[Desc<usize>] = &[
    Desc::counter(
        "event_inode_revalidate_total",
        "Number of times cached inode attributes are re-validated from the server.",
        0,
    ),
    Desc::counter(
        "event_dnode_revalidate_total",
        "Number of times cached dentry nodes are re-validated from the server.",
        1,
    ),
    Desc::counter(
        "event_data_invalidate_total",
        "Number of times an inode cache is cleared.",
        2,
    ),
    Desc::counter(
        "event_attribute_invalidate_total",
        "Number of times cached inode attributes are invalidated.",
        3,
    ),
    Desc::counter(
        "event_vfs_open_total",
        "Number of times cached inode attributes are invalidated.",
        4,
    ),
    Desc::counter(
        "event_vfs_lookup_total",
        "Number of times a directory lookup has occurred.",
        5,
    ),
    Desc::counter(
        "event_vfs_access_total",
        "Number of times permissions have been checked.",
        6,
    ),
    Desc::counter(
        "event_vfs_update_page_total",
        "Number of updates (and potential writes) to pages.",
        7,
    ),
    Desc::counter(
        "event_vfs_read_page_total",
        "Number of pages read directly via mmap()'d files.",
        8,
    ),
    Desc::counter(
        "event_vfs_read_pages_total",
        "Number of times a group of pages have been read.",
        9,
    ),
    Desc::counter(
        "event_vfs_write_page_total",
        "Number of pages written directly via mmap()'d files.",
        10,
    ),
    Desc::counter(
        "event_vfs_write_pages_total",
        "Number of times a group of pages have been written.",
        11,
    ),
    Desc::counter(
        "event_vfs_getdents_total",
        "Number of times directory entries have been read with getdents().",
        12,
    ),
    Desc::counter(
        "event_vfs_setattr_total",
        "Number of times directory entries have been read with getdents().",
        13,
    ),
    Desc::counter(
        "event_vfs_flush_total",
        "Number of pending writes that have been forcefully flushed to the server.",
        14,
    ),
    Desc::counter(
        "event_vfs_fsync_total",
        "Number of times fsync() has been called on directories and files.",
        15,
    ),
    Desc::counter(
        "event_vfs_lock_total",
        "Number of times locking has been attempted on a file.",
        16,
    ),
    Desc::counter(
        "event_vfs_file_release_total",
        "Number of times files have been closed and released.",
        17,
    ),
    Desc::counter(
        "event_truncation_total",
        "Number of times files have been truncated.",
        19,
    ),
    Desc::counter(
        "event_write_extension_total",
        "Number of times a file has been grown due to writes beyond its existing end.",
        20,
    ),
    Desc::counter(
        "event_silly_rename_total",
        "Number of times a file was removed while still open by another process.",
        21,
    ),
    Desc::counter(
        "event_short_read_total",
        "Number of times the NFS server gave less data than expected while reading.",
        22,
    ),
    Desc::counter(
        "event_short_write_total",
        "Number of times the NFS server wrote less data than expected while writing.",
        23,
    ),
    Desc::counter(
        "event_jukebox_delay_total",
        "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage.",
        24,
    ),
    Desc::counter(
        "event_pnfs_read_total",
        "Number of NFS v4.1+ pNFS reads.",
        25,
    ),
    Desc::counter(
        "event_pnfs_write_total",
        "Number of NFS v4.1+ pNFS writes.",
        26,
    ),
];

/// The families of each transport of a mount; each source is the value's
/// function of the transport.
const TRANSPORT_METRICS: &[Desc<TransportValue>] = &[
    Desc::counter(
        "transport_bind_total",
        "Number of times the client has had to establish a connection from scratch to the NFS server.",
        |t| t.bind as f64,
    ),
    Desc::counter(
        "transport_connect_total",
        "Number of times the client has made a TCP connection to the NFS server.",
        |t| t.connect as f64,
    ),
    Desc::gauge(
        "transport_idle_time_seconds",
        "Duration since the NFS mount last saw any RPC traffic, in seconds.",
        |t| below_2_pow_53(t.idle_seconds),
    ),
    Desc::counter(
        "transport_sends_total",
        "Number of RPC requests for this mount sent to the NFS server.",
        |t| t.sends as f64,
    ),
    Desc::counter(
        "transport_receives_total",
        "Number of RPC responses for this mount received from the NFS server.",
        |t| t.receives as f64,
    ),
    Desc::counter(
        "transport_bad_transaction_ids_total",
        "Number of times the NFS server sent a response with a transaction ID unknown to this client.",
        |t| t.bad_xids as f64,
    ),
    Desc::counter(
        "transport_backlog_queue_total",
        "Total number of items added to the RPC backlog queue.",
        |t| t.backlog as f64,
    ),
    Desc::gauge(
        "transport_maximum_rpc_slots",
        "Maximum number of simultaneously active RPC requests ever used.",
        |t| t.max_slots as f64,
    ),
    Desc::counter(
        "transport_sending_queue_total",
        "Total number of items added to the RPC transmission sending queue.",
        |t| t.sending as f64,
    ),
    Desc::counter(
        "transport_pending_queue_total",
        "Total number of items added to the RPC transmission pending queue.",
        |t| t.pending as f64,
    ),
];

/// The counters of each operation of a mount; each source is the value's
/// function of the operation.
const OPERATION_METRICS: &[Desc<OperationValue>] = &[
    Desc::counter(
        "operations_requests_total",
        "Number of requests performed for a given operation.",
        |o| o.requests as f64,
    ),
    Desc::counter(
        "operations_transmissions_total",
        "Number of times an actual RPC request has been transmitted for a given operation.",
        |o| o.transmissions as f64,
    ),
    Desc::counter(
        "operations_major_timeouts_total",
        "Number of times a request has had a major timeout for a given operation.",
        |o| o.major_timeouts as f64,
    ),
    Desc::counter(
        "operations_sent_bytes_total",
        "Number of bytes sent for a given operation, including RPC headers and payload.",
        |o| o.bytes_sent as f64,
    ),
    Desc::counter(
        "operations_received_bytes_total",
        "Number of bytes received for a given operation, including RPC headers and payload.",
        |o| o.bytes_received as f64,
    ),
    Desc::counter(
        "operations_queue_time_seconds_total",
        "Duration all requests spent queued for transmission for a given operation before they were sent, in seconds.",
        |o| below_2_pow_53(o.queue_ms) / 1000.0,
    ),
    Desc::counter(
        "operations_response_time_seconds_total",
        "Duration all requests took to get a reply back after a request for a given operation was transmitted, in seconds.",
        |o| below_2_pow_53(o.response_ms) / 1000.0,
    ),
    Desc::counter(
        "operations_request_time_seconds_total",
        "Duration all requests took from when a request was enqueued to when it was completely handled for a given operation, in seconds.",
        |o| below_2_pow_53(o.request_ms) / 1000.0,
    ),
    Desc::counter(
        "operations_errors_total",
        "Number of errors for a given operation",
        |o| below_2_pow_53(o.errors),
    ),
];

const LABELS: [&str; 3] = ["export", "protocol", "mountaddr"];

fn emit(infos: &[[&str; 4]], reported: &[Reported<'_>], out: &mut MetricSet) {
    let family = out.family(
        "node_mountstats_nfs_mountpoint_info",
        "Info metric for an NFS mountpoint.",
        MetricType::Gauge,
        &["export", "protocol", "mountaddr", "mountpoint"],
    );
    for info in infos {
        family.push(info, 1.0);
    }
    for metric in MOUNT_METRICS {
        emit_per_mount(out, reported, metric, metric.source);
    }
    for event in EVENTS {
        emit_per_mount(out, reported, event, |s| s.events[event.source] as f64);
    }
    for metric in TRANSPORT_METRICS {
        let family = out.family(
            format!("node_mountstats_nfs_{}", metric.name),
            metric.help,
            metric.metric_type,
            &["export", "protocol", "mountaddr", "transport"],
        );
        for r in reported {
            for (i, transport) in r.stats.transports.iter().enumerate() {
                let [export, protocol, address] = r.labels;
                family.push(
                    &[export, protocol, address, &i.to_string()],
                    (metric.source)(transport),
                );
            }
        }
    }
    for metric in OPERATION_METRICS {
        let family = out.family(
            format!("node_mountstats_nfs_{}", metric.name),
            metric.help,
            metric.metric_type,
            &["export", "protocol", "mountaddr", "operation"],
        );
        for r in reported {
            for operation in &r.stats.operations {
                let [export, protocol, address] = r.labels;
                family.push(
                    &[export, protocol, address, &operation.name],
                    (metric.source)(operation),
                );
            }
        }
    }
}

/// A family of `desc` with one sample per reported mount.
fn emit_per_mount<S>(
    out: &mut MetricSet,
    reported: &[Reported<'_>],
    desc: &Desc<S>,
    value: impl Fn(&NfsStats) -> f64,
) {
    let family = out.family(
        format!("node_mountstats_nfs_{}", desc.name),
        desc.help,
        desc.metric_type,
        &LABELS,
    );
    for r in reported {
        family.push(&r.labels, value(r.stats));
    }
}

impl Collector for MountstatsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let (dir, text) = host
            .read_init_or_self("mountstats")
            .map_err(|(path, e)| CollectError::io(&path, &e))?;
        let mounts = parse(&text).map_err(|e| CollectError::parse(&dir.join("mountstats"), e))?;
        let path = dir.join("mountinfo");
        let mountinfo = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let addresses = server_addresses(&mounts, &MountInfo::parse(&mountinfo));
        let (infos, reported) = select(&mounts, &addresses);
        emit(&infos, &reported, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_host, host_with_procfs, procfs_with, render, run,
    };

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/1/mountstats");

    /// A 2.6.18 NFSv3 client: stats version 1.0, UDP and TCP transports,
    /// per-op lines without the errors field.
    const STATVERS_1_0: &str = "\
device rootfs mounted on / with fstype rootfs
device 192.168.1.1:/srv/old mounted on /mnt/old with fstype nfs statvers=1.0
\topts:\trw,vers=3,rsize=32768,wsize=32768,hard,proto=udp,timeo=11,retrans=2,sec=sys,addr=192.168.1.1
\tage:\t13968
\tcaps:\tcaps=0xf,wtmult=512,dtsize=8192,bsize=0,namlen=255
\tsec:\tflavor=1,pseudoflavor=1
\tevents:\t52 226 0 0 1 13 398 0 0 331 0 47 0 0 77 0 0 77 0 0 0 0 0 0 0 0 0 
\tbytes:\t1207640230 0 0 0 1210214218 0 295483 0 
\tRPC iostats version: 1.0  p/v: 100003/3 (nfs)
\txprt:\tudp 832 0 6428 6428 0 12154 0
\tper-op statistics
\t        NULL: 0 0 0 0 0 0 0 0
\t     GETATTR: 100 101 2 12000 13000 3 4 5
\t        READ: 1298 1298 0 207680 1210292152 6 79386 79407

device 10.0.0.5:/data mounted on /mnt/data with fstype nfs statvers=1.0
\txprt:\ttcp 872 1 1 0 0 6428 6428 0 12154 0
\tper-op statistics
\t        NULL: 0 0 0 0 0 0 0 0

";

    fn nfs(mounts: &[MountEntry], i: usize) -> &NfsStats {
        mounts[i].nfs.as_ref().unwrap()
    }

    #[test]
    fn parses_the_fixture_like_a_6_x_kernel_writes_it() {
        let mounts = parse(FIXTURE).unwrap();
        assert_eq!(mounts.len(), 25);
        assert!(mounts.iter().filter(|m| m.nfs.is_some()).count() == 1);
        let nfs_mount = mounts.iter().find(|m| m.nfs.is_some()).unwrap();
        assert_eq!(nfs_mount.device, "fileserver:/export/home");
        assert_eq!(nfs_mount.mount_point, "/mnt/nfs");
        let stats = nfs_mount.nfs.as_ref().unwrap();
        assert_eq!(stats.age_seconds, 1209600.0);
        assert_eq!(stats.bytes[0], 1210480312);
        assert_eq!(stats.events[4], 310);
        assert_eq!(stats.transports.len(), 1);
        let tcp = &stats.transports[0];
        assert_eq!(tcp.protocol, "tcp");
        assert_eq!((tcp.bind, tcp.connect, tcp.idle_seconds), (1, 1, 11));
        assert_eq!((tcp.sends, tcp.receives, tcp.bad_xids), (75607, 75607, 0));
        assert_eq!((tcp.backlog, tcp.max_slots), (0, 14));
        assert_eq!((tcp.sending, tcp.pending), (88211, 10823));
        assert_eq!(stats.operations.len(), 69);
        let lookup = stats
            .operations
            .iter()
            .find(|o| o.name == "LOOKUP")
            .unwrap();
        assert_eq!(lookup.errors, 3341);
        assert_eq!(lookup.request_ms, 4940);
        let escaped = mounts
            .iter()
            .find(|m| m.mount_point.starts_with("/mnt/backup"))
            .unwrap();
        assert_eq!(escaped.mount_point, "/mnt/backup\\040disk");
    }

    #[test]
    fn statvers_1_0_with_udp_and_tcp() {
        let mounts = parse(STATVERS_1_0).unwrap();
        assert_eq!(mounts.len(), 3);
        let old = nfs(&mounts, 1);
        let udp = &old.transports[0];
        assert_eq!(udp.protocol, "udp");
        assert_eq!((udp.bind, udp.connect, udp.idle_seconds), (0, 0, 0));
        assert_eq!((udp.sends, udp.receives, udp.backlog), (6428, 6428, 0));
        assert_eq!(udp.max_slots, 0);
        let getattr = &old.operations[1];
        assert_eq!(getattr.name, "GETATTR");
        assert_eq!(getattr.major_timeouts, 2);
        assert_eq!(getattr.errors, 0);
        assert_eq!(old.operations.len(), 3);
        // Without age, bytes or events: zeros.
        let data = nfs(&mounts, 2);
        assert_eq!(data.age_seconds, 0.0);
        assert_eq!(data.transports[0].idle_seconds, 0);
        assert_eq!(data.transports[0].sends, 6428);
        assert_eq!(data.operations.len(), 1);
    }

    #[test]
    fn statvers_1_1_transport_variants() {
        let transport =
            |line: &str| parse_transport(&line.split_whitespace().collect::<Vec<_>>(), "1.1");
        let udp = transport("udp 0 0 8 8 0 9 0 2 16 3").unwrap();
        assert_eq!(
            (udp.sends, udp.max_slots, udp.sending, udp.pending),
            (8, 2, 16, 3)
        );
        let rdma = transport(
            "rdma 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27",
        )
        .unwrap();
        assert_eq!((rdma.bind, rdma.connect, rdma.idle_seconds), (1, 2, 4));
        assert_eq!((rdma.sends, rdma.receives, rdma.backlog), (5, 6, 9));
        assert_eq!((rdma.max_slots, rdma.sending, rdma.pending), (0, 0, 0));
        assert!(transport("rdma 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18").is_err());
        assert!(transport("tcp 0 1 2 3 4 5 6 7 8 9").is_err());
        assert!(transport("udp 0 1 2 3 4 5 6").is_err());
        assert!(transport("local 0 1 2 3 4 5 6 7 8 9").is_err());
        assert!(transport("tcp").is_err());
        assert!(transport("tcp 0 1 2 3 4 5 6 7 8 9 10 11 -1").is_err());
        let v10 = |line: &str| parse_transport(&line.split_whitespace().collect::<Vec<_>>(), "1.0");
        assert!(v10("rdma 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19").is_err());
        assert!(parse_transport(&["tcp", "1"], "1.2").is_err());
    }

    #[test]
    fn malformed_entries_are_errors() {
        let nfs_entry = |body: &str| {
            format!("device s:/e mounted on /m with fstype nfs4 statvers=1.1\n{body}\n\n")
        };
        for text in [
            "device broken line\n".to_string(),
            "device a mounted at /b with fstype ext4\n".to_string(),
            "device a mounted on /b with fstype ext4 statvers=1.1\n".to_string(),
            nfs_entry("\tbytes:\t1 2 3"),
            nfs_entry("\tevents:\t1 2 3"),
            nfs_entry("\tbytes:\t1 2 3 4 5 6 7 x"),
            nfs_entry("\tage:\tsoon"),
            nfs_entry("\tage:"),
            nfs_entry("\txprt:\tsctp 1 2 3"),
            nfs_entry("\tper-op statistics\n\tREAD: 1 2 3"),
            nfs_entry("\tper-op statistics\n\tREAD: 1 2 3 4 5 6 7 x"),
            "device s:/e mounted on /m with fstype nfs statvers=2.0\n\txprt:\ttcp 1 2\n"
                .to_string(),
        ] {
            assert!(parse(&text).is_err(), "{text:?}");
        }
        // Garbage around the entries, and an empty file, are not entries.
        assert!(parse("").unwrap().is_empty());
        assert!(parse("garbage\n\u{fffd}\n").unwrap().is_empty());
        // An unknown stats version without a transport line is no problem.
        let mounts =
            parse("device s:/e mounted on /m with fstype nfs statvers=1.2\n\tage:\t5\n").unwrap();
        assert_eq!(nfs(&mounts, 0).age_seconds, 5.0);
    }

    #[test]
    fn truncated_file_keeps_what_is_complete() {
        let cut = &FIXTURE[..FIXTURE.find("GETATTR").unwrap()];
        let mounts = parse(cut).unwrap();
        let stats = mounts.iter().find_map(|m| m.nfs.as_ref()).unwrap();
        assert_eq!(stats.operations.last().unwrap().name, "ACCESS");
        let mid_line = &FIXTURE[..FIXTURE.find("GETATTR").unwrap() + 14];
        assert!(parse(mid_line).is_err());
    }

    fn labels_of<'a>(reported: &[Reported<'a>]) -> Vec<[&'a str; 3]> {
        reported.iter().map(|r| r.labels).collect()
    }

    #[test]
    fn selection_follows_upstream_deduplication() {
        // nconnect=2: two TCP transports of one mount; the same export
        // mounted twice; another export on the same server.
        let text = "\
device srv:/a mounted on /a1 with fstype nfs4 statvers=1.1
\txprt:\ttcp 1 0 1 0 3 10 10 0 10 0 1 10 0
\txprt:\ttcp 2 0 1 0 4 20 20 0 20 0 1 20 0
\tper-op statistics
\t        NULL: 0 0 0 0 0 0 0 0 0

device srv:/a mounted on /a2 with fstype nfs4 statvers=1.1
\txprt:\ttcp 3 0 1 0 5 30 30 0 30 0 1 30 0
\tper-op statistics

device srv:/b mounted on /b with fstype nfs4 statvers=1.1
\tper-op statistics

";
        let mounts = parse(text).unwrap();
        let addresses = vec!["10.0.0.1".to_string(); 3];
        let (infos, reported) = select(&mounts, &addresses);
        assert_eq!(
            infos,
            [
                ["srv:/a", "tcp", "10.0.0.1", "/a1"],
                ["srv:/a", "tcp", "10.0.0.1", "/a2"],
            ]
        );
        // /a2 repeats /a1's export; /b has no transport line.
        assert_eq!(labels_of(&reported), [["srv:/a", "tcp", "10.0.0.1"]]);
        assert_eq!(reported[0].stats.transports.len(), 2);
        // A different server address is a different device.
        let addresses = ["10.0.0.1", "10.0.0.2", ""].map(String::from);
        let (_, reported) = select(&mounts, &addresses);
        assert_eq!(reported.len(), 2);
    }

    #[test]
    fn server_address_comes_from_the_matching_mountinfo_entry() {
        let mounts = parse(STATVERS_1_0).unwrap();
        let mountinfo = MountInfo::parse(
            "1 0 8:1 / / rw - rootfs rootfs rw\n\
             2 1 0:50 / /mnt/old rw - nfs 192.168.1.1:/srv/old rw,vers=3,addr=192.168.1.1\n\
             3 1 0:51 / /mnt/data rw - nfs 10.0.0.5:/data rw,vers=3,addr=10.0.0.5\n",
        );
        assert_eq!(
            server_addresses(&mounts, &mountinfo),
            ["", "192.168.1.1", "10.0.0.5"]
        );
        // A line missing from mountinfo: matched by mount point instead.
        let short =
            MountInfo::parse("3 1 0:51 / /mnt/data rw - nfs 10.0.0.5:/data rw,addr=fd00::5\n");
        assert_eq!(server_addresses(&mounts, &short), ["", "", "fd00::5"]);
    }

    #[test]
    fn large_counters_wrap_as_upstream() {
        assert_eq!(below_2_pow_53(5), 5.0);
        assert_eq!(below_2_pow_53((1 << 53) + 7), 7.0);
        assert_eq!(below_2_pow_53(u64::MAX), ((1u64 << 53) - 1) as f64);
    }

    #[test]
    fn falls_back_to_the_agents_own_mounts() {
        let procfs = procfs_with(&[
            ("self/mountstats", STATVERS_1_0),
            (
                "self/mountinfo",
                "1 0 8:1 / / rw - rootfs rootfs rw\n\
                 2 1 0:50 / /mnt/old rw - nfs 192.168.1.1:/srv/old rw,addr=192.168.1.1\n",
            ),
        ]);
        let host = host_with_procfs(procfs.path());
        let collector = MountstatsCollector;
        let text = render(&collector, &host);
        assert!(text.contains(
            "node_mountstats_nfs_age_seconds_total{export=\"192.168.1.1:/srv/old\",mountaddr=\"192.168.1.1\",protocol=\"udp\"} 13968\n"
        ), "{text}");
        assert!(text.contains(
            "node_mountstats_nfs_operations_major_timeouts_total{export=\"192.168.1.1:/srv/old\",mountaddr=\"192.168.1.1\",operation=\"GETATTR\",protocol=\"udp\"} 2\n"
        ), "{text}");
        assert!(text.contains(
            "node_mountstats_nfs_operations_response_time_seconds_total{export=\"192.168.1.1:/srv/old\",mountaddr=\"192.168.1.1\",operation=\"READ\",protocol=\"udp\"} 79.386\n"
        ), "{text}");
        // No mountinfo line for /mnt/data: an empty address.
        assert!(text.contains(
            "node_mountstats_nfs_transport_sends_total{export=\"10.0.0.5:/data\",mountaddr=\"\",protocol=\"tcp\",transport=\"0\"} 6428\n"
        ), "{text}");
    }

    #[test]
    fn missing_files_fail() {
        let empty = tempfile::tempdir().unwrap();
        let (_, result) = run(&MountstatsCollector, &host_with_procfs(empty.path()));
        assert!(result.unwrap_err().message().contains("self/mountstats"));
        let procfs = procfs_with(&[("1/mountstats", STATVERS_1_0)]);
        let (families, result) = run(&MountstatsCollector, &host_with_procfs(procfs.path()));
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("1/mountinfo"));
    }

    #[test]
    fn fixture_host_output() {
        let text = render(&MountstatsCollector, &fixture_host());
        let labels = "export=\"fileserver:/export/home\",mountaddr=\"192.0.2.1\",protocol=\"tcp\"";
        for line in [
            "# HELP node_mountstats_nfs_event_vfs_open_total Number of times cached inode attributes are invalidated.".to_string(),
            "# TYPE node_mountstats_nfs_transport_idle_time_seconds gauge".to_string(),
            "node_mountstats_nfs_mountpoint_info{export=\"fileserver:/export/home\",mountaddr=\"192.0.2.1\",mountpoint=\"/mnt/nfs\",protocol=\"tcp\"} 1".to_string(),
            format!("node_mountstats_nfs_age_seconds_total{{{labels}}} 1.2096e+06"),
            format!("node_mountstats_nfs_read_bytes_total{{{labels}}} 1.210480312e+09"),
            format!("node_mountstats_nfs_event_truncation_total{{{labels}}} 12"),
            format!("node_mountstats_nfs_transport_maximum_rpc_slots{{{labels},transport=\"0\"}} 14"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
