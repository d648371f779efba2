//! `tcpstat` (disabled by default): TCP sockets by state and the bytes in
//! their queues, from the host's `/proc/net/tcp` and `/proc/net/tcp6`, as
//! `node_tcp_connection_states{state}`.
//!
//! node_exporter asks the kernel over netlink `sock_diag`, which answers for
//! the agent's own network namespace only; the tables are read through
//! procfs instead (see [`Host::net_path`]), giving the same series. One value
//! differs by design: for a listening socket `sock_diag` reports the backlog
//! limit as its send queue, so upstream's `tx_queued_bytes` adds every
//! listener's backlog limit, while here it holds only bytes really queued
//! (the table shows 0 for listeners).

use std::collections::BTreeMap;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec, ErrorKind};
use crate::host::Host;
use crate::kernel::socket_table::{for_each_socket, SocketLine};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "tcpstat",
    default_enabled: false,
    reads: "/proc/1/net/tcp, /proc/1/net/tcp6",
    flags: None,
    build: plain::<TcpstatCollector>,
};

/// Reports socket counts by state and the summed queues.
#[derive(Default)]
struct TcpstatCollector;

/// The `state` label of a kernel TCP state number (`include/net/tcp_states.h`),
/// as upstream names them.
fn state_name(state: u8) -> &'static str {
    match state {
        1 => "established",
        2 => "syn_sent",
        3 => "syn_recv",
        4 => "fin_wait1",
        5 => "fin_wait2",
        6 => "time_wait",
        7 => "close",
        8 => "close_wait",
        9 => "last_ack",
        10 => "listen",
        11 => "closing",
        _ => "unknown",
    }
}

/// Sockets counted by state, and their queues summed, over one or more
/// tables: the values of `node_tcp_connection_states`, by `state` label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TcpStates {
    /// Label to value: one entry per state seen, plus `rx_queued_bytes` and
    /// `tx_queued_bytes` once any socket was seen (as upstream, states with
    /// no socket are absent rather than 0).
    pub values: BTreeMap<&'static str, f64>,
}

impl TcpStates {
    /// Counts one socket.
    pub fn add(&mut self, socket: SocketLine) {
        *self.values.entry(state_name(socket.state)).or_default() += 1.0;
        *self.values.entry("tx_queued_bytes").or_default() += socket.tx_queue as f64;
        *self.values.entry("rx_queued_bytes").or_default() += socket.rx_queue as f64;
    }
}

impl Collector for TcpstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut states = TcpStates::default();
        let mut read = |path: &Path| {
            for_each_socket(path, |socket| states.add(socket))
                .map_err(|e| CollectError::lines(path, e))
        };
        read(&host.net_path("tcp"))?;
        // Without IPv6 there is no tcp6 table, which is fine.
        match read(&host.net_path("tcp6")) {
            Err(e) if e.kind() != ErrorKind::NoData => return Err(e),
            _ => {}
        }
        let family = out.family(
            "node_tcp_connection_states",
            "Number of connection states.",
            MetricType::Gauge,
            &["state"],
        );
        for (state, value) in states.values {
            family.push(&[state], value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, procfs_with, run};
    use crate::metrics::Family;

    /// This machine's table (listeners and time-wait sockets) plus one
    /// socket in each state it lacks.
    const TCP: &str = include_str!("../../tests/fixtures/proc/1/net/tcp");
    const TCP6: &str = include_str!("../../tests/fixtures/proc/1/net/tcp6");

    fn states_of(texts: &[&str]) -> TcpStates {
        let mut states = TcpStates::default();
        for text in texts {
            for line in text.lines().skip(1) {
                states.add(SocketLine::parse(line).unwrap());
            }
        }
        states
    }

    /// How many lines of `text` have state `st` (hex, as in the table).
    fn lines_in_state(text: &str, st: &str) -> f64 {
        text.lines()
            .skip(1)
            .filter(|line| line.split_whitespace().nth(3) == Some(st))
            .count() as f64
    }

    #[test]
    fn every_kernel_state_has_upstreams_name() {
        let names: Vec<&str> = (0..=12).map(state_name).collect();
        assert_eq!(
            names,
            vec![
                "unknown",
                "established",
                "syn_sent",
                "syn_recv",
                "fin_wait1",
                "fin_wait2",
                "time_wait",
                "close",
                "close_wait",
                "last_ack",
                "listen",
                "closing",
                "unknown",
            ]
        );
    }

    #[test]
    fn counts_states_and_sums_queues_over_both_tables() {
        let states = states_of(&[TCP, TCP6]);
        let expect = |hex: &str| lines_in_state(TCP, hex) + lines_in_state(TCP6, hex);
        assert_eq!(states.values["time_wait"], expect("06"));
        assert_eq!(states.values["listen"], expect("0A"));
        assert_eq!(states.values["established"], 4.0);
        for state in [
            "syn_sent",
            "syn_recv",
            "fin_wait1",
            "fin_wait2",
            "close_wait",
            "last_ack",
            "closing",
        ] {
            assert_eq!(states.values[state], 1.0, "{state}");
        }
        assert!(!states.values.contains_key("close"));
        // 0x4D2 + 0x1 (syn_sent) + 0x1 (fin_wait1) + 0x1 + 0x1 (last_ack,
        // closing), and 0x24 from tcp6.
        assert_eq!(states.values["tx_queued_bytes"], 1234.0 + 4.0 + 36.0);
        assert_eq!(states.values["rx_queued_bytes"], 42.0 + 1.0);
        let sockets = TCP.lines().count() + TCP6.lines().count() - 2;
        let counted: f64 = states
            .values
            .iter()
            .filter(|(state, _)| !state.ends_with("_bytes"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(counted, sockets as f64);
    }

    #[test]
    fn no_sockets_means_no_series() {
        assert!(states_of(&["header only"]).values.is_empty());
    }

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(&TcpstatCollector, &host_with_procfs(procfs))
    }

    #[test]
    fn collector_emits_one_family_labelled_by_state() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        assert_eq!(families.len(), 1);
        let family = &families[0];
        assert_eq!(family.name(), "node_tcp_connection_states");
        assert_eq!(family.help(), "Number of connection states.");
        assert_eq!(family.metric_type(), MetricType::Gauge);
        assert_eq!(family.label_names(), &["state"]);
        let states: Vec<&str> = family
            .samples()
            .iter()
            .map(|s| family.label_values(s).next().unwrap())
            .collect();
        assert_eq!(
            states,
            vec![
                "close_wait",
                "closing",
                "established",
                "fin_wait1",
                "fin_wait2",
                "last_ack",
                "listen",
                "rx_queued_bytes",
                "syn_recv",
                "syn_sent",
                "time_wait",
                "tx_queued_bytes",
            ]
        );
    }

    #[test]
    fn missing_tcp6_is_fine_but_missing_tcp_is_an_error() {
        let empty = procfs_with(&[]);
        let (_, result) = collect(empty.path());
        assert!(result.unwrap_err().message().contains("tcp"));
        let header = TCP.lines().next().unwrap();
        let listener = TCP
            .lines()
            .find(|line| line.split_whitespace().nth(3) == Some("0A"))
            .unwrap();
        let procfs = procfs_with(&[("net/tcp", &format!("{header}\n{listener}\n"))]);
        let (families, result) = collect(procfs.path());
        result.unwrap();
        let values: Vec<(&str, f64)> = families[0]
            .samples()
            .iter()
            .map(|s| (families[0].label_values(s).next().unwrap(), s.value))
            .collect();
        assert_eq!(
            values,
            vec![
                ("listen", 1.0),
                ("rx_queued_bytes", 0.0),
                ("tx_queued_bytes", 0.0)
            ]
        );
    }

    #[test]
    fn a_garbage_tcp6_line_fails_the_collector() {
        let procfs = procfs_with(&[
            ("net/tcp", TCP),
            ("net/tcp6", &format!("{TCP6}   9: 0000\n")),
        ]);
        let (families, result) = collect(procfs.path());
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("tcp6"));
    }
}
