//! `udp_queues`: the bytes queued in all UDP sockets, summed from the
//! `tx_queue` and `rx_queue` columns of the host's `/proc/net/udp` and
//! `/proc/net/udp6`, as `node_udp_queues{ip,queue}`.
//!
//! The tables are read from the host's network namespace (see
//! [`Host::net_path`]). A family whose table is missing (disabled) is left
//! out; both missing is no data.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec, ErrorKind};
use crate::host::Host;
use crate::kernel::socket_table::{for_each_socket, SocketLine};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "udp_queues",
    default_enabled: true,
    reads: "/proc/1/net/udp, /proc/1/net/udp6",
    flags: None,
    build: plain::<UdpQueuesCollector>,
};

/// Reports the summed queues of each IP version.
#[derive(Default)]
struct UdpQueuesCollector;

/// The queues of one table, summed over its sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueTotals {
    /// Bytes waiting to be sent.
    pub tx: u64,
    /// Bytes received and not yet read.
    pub rx: u64,
}

impl QueueTotals {
    /// Adds one socket's queues (sums saturate: the kernel's are far below).
    pub fn add(&mut self, socket: SocketLine) {
        self.tx = self.tx.saturating_add(socket.tx_queue);
        self.rx = self.rx.saturating_add(socket.rx_queue);
    }
}

impl UdpQueuesCollector {
    /// Sums one table; `None` when it does not exist.
    fn totals(&self, host: &Host, file: &str) -> Result<Option<QueueTotals>, CollectError> {
        let mut totals = QueueTotals::default();
        let path = host.net_path(file);
        match for_each_socket(&path, |socket| totals.add(socket))
            .map_err(|e| CollectError::lines(&path, e))
        {
            Ok(()) => Ok(Some(totals)),
            Err(e) if e.kind() == ErrorKind::NoData => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Collector for UdpQueuesCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let v4 = self.totals(host, "udp")?;
        let v6 = self.totals(host, "udp6")?;
        if v4.is_none() && v6.is_none() {
            return Err(CollectError::no_data("neither udp nor udp6 table exists"));
        }
        let family = out.family(
            "node_udp_queues",
            "Number of allocated memory in the kernel for UDP datagrams in bytes.",
            MetricType::Gauge,
            &["ip", "queue"],
        );
        for (ip, totals) in [("v4", v4), ("v6", v6)] {
            if let Some(totals) = totals {
                family.push(&[ip, "tx"], totals.tx as f64);
                family.push(&[ip, "rx"], totals.rx as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, procfs_with, run};
    use crate::metrics::Family;

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(&UdpQueuesCollector, &host_with_procfs(procfs))
    }

    fn samples(families: &[Family]) -> Vec<(String, String, f64)> {
        families
            .iter()
            .flat_map(|f| {
                f.samples().iter().map(move |s| {
                    let mut labels = f.label_values(s).map(String::from);
                    (labels.next().unwrap(), labels.next().unwrap(), s.value)
                })
            })
            .collect()
    }

    fn owned(expected: &[(&str, &str, f64)]) -> Vec<(String, String, f64)> {
        expected
            .iter()
            .map(|(ip, queue, v)| (ip.to_string(), queue.to_string(), *v))
            .collect()
    }

    #[test]
    fn sums_both_tables() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        assert_eq!(families.len(), 1);
        let queues = &families[0];
        assert_eq!(queues.name(), "node_udp_queues");
        assert_eq!(
            queues.help(),
            "Number of allocated memory in the kernel for UDP datagrams in bytes."
        );
        assert_eq!(queues.metric_type(), MetricType::Gauge);
        assert_eq!(queues.label_names(), &["ip", "queue"]);
        assert_eq!(
            samples(&families),
            owned(&[
                ("v4", "rx", 2560.0),
                ("v4", "tx", 832.0),
                ("v6", "rx", 768.0),
                ("v6", "tx", 256.0),
            ])
        );
    }

    const HEADER: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";

    #[test]
    fn empty_tables_are_zero_and_a_missing_one_is_left_out() {
        let procfs = procfs_with(&[("net/udp", HEADER)]);
        let (families, result) = collect(procfs.path());
        result.unwrap();
        assert_eq!(
            samples(&families),
            owned(&[("v4", "rx", 0.0), ("v4", "tx", 0.0)])
        );
    }

    #[test]
    fn no_tables_is_no_data() {
        let empty = procfs_with(&[]);
        let (families, result) = collect(empty.path());
        assert!(families.is_empty());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn a_garbage_line_fails_the_collector() {
        let procfs = procfs_with(&[
            ("net/udp", HEADER),
            ("net/udp6", &format!("{HEADER}  12: garbage\n")),
        ]);
        let (families, result) = collect(procfs.path());
        assert!(families.is_empty());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("udp6"), "{err}");
    }
}
