//! `tcpstat` (disabled by default): TCP sockets by state and the bytes in
//! their queues, as `node_tcp_connection_states{state}`.
//!
//! As node_exporter, the kernel is asked over netlink `sock_diag` (an
//! `inet_diag` dump of TCP sockets in every state, for `AF_INET` and
//! `AF_INET6`), which costs a fraction of formatting and parsing
//! `/proc/net/tcp{,6}` on a busy host. Netlink answers for the agent's own
//! network namespace, so it is used only when that is the namespace of the
//! host's init (`<procfs>/self/ns/net` is `<procfs>/1/ns/net`, as with
//! `hostNetwork: true` and the host's procfs): otherwise, and when those
//! links cannot be inspected or `sock_diag` is unavailable, the host's
//! tables are read through procfs, `<procfs>/1/net/tcp{,6}` (see
//! [`Host::net_path`]), which give the same series. node_exporter would
//! report the agent's own namespace there; hostwatch keeps reporting the
//! host's.
//!
//! One value differs from node_exporter's by design: for a listening socket
//! `sock_diag` reports the backlog limit as its send queue, which
//! node_exporter adds to `tx_queued_bytes`; here a listener adds nothing to
//! it, as in the procfs tables, so that the value holds only bytes really
//! queued and both sources agree.

use std::collections::BTreeMap;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec, ErrorKind};
use crate::host::netlink::Protocol;
use crate::host::Host;
use crate::kernel::netlink::{dump, DumpError, Message};
use crate::kernel::socket_table::{for_each_socket, SocketLine};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "tcpstat",
    default_enabled: false,
    reads: "netlink sock_diag (the agent's network namespace, when it is the host's), else /proc/1/net/tcp, /proc/1/net/tcp6",
    flags: None,
    build: plain::<TcpstatCollector>,
};

/// Reports socket counts by state and the summed queues.
#[derive(Default)]
struct TcpstatCollector;

/// The kernel's `TCP_LISTEN` state number.
const TCP_LISTEN: u8 = 10;

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
        TCP_LISTEN => "listen",
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
    /// Counts one socket of a procfs table.
    pub fn add(&mut self, socket: SocketLine) {
        self.count(socket.state, socket.tx_queue, socket.rx_queue);
    }

    /// Counts one socket of a `sock_diag` dump. A listener's send queue
    /// there is its backlog limit, not queued bytes: it is left out, as the
    /// procfs tables show 0 for it.
    pub fn add_diag(&mut self, socket: InetDiagSocket) {
        let tx_queue = if socket.state == TCP_LISTEN {
            0
        } else {
            socket.send_queue
        };
        self.count(socket.state, tx_queue.into(), socket.receive_queue.into());
    }

    fn count(&mut self, state: u8, tx_queue: u64, rx_queue: u64) {
        *self.values.entry(state_name(state)).or_default() += 1.0;
        *self.values.entry("tx_queued_bytes").or_default() += tx_queue as f64;
        *self.values.entry("rx_queued_bytes").or_default() += rx_queue as f64;
    }

    /// Every TCP socket of the agent's network namespace, over `sock_diag`.
    pub fn from_sock_diag() -> Result<TcpStates, DumpError> {
        let mut states = TcpStates::default();
        for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
            dump(
                Protocol::SockDiag,
                SOCK_DIAG_BY_FAMILY,
                &inet_diag_request(family),
                &mut |message: &Message<'_>| {
                    states.add_diag(InetDiagSocket::parse(message.payload)?);
                    Ok(())
                },
            )?;
        }
        Ok(states)
    }

    /// Every TCP socket of the host's tables under `host`'s procfs; a
    /// missing `tcp6` (no IPv6) is no error.
    pub fn from_procfs(host: &Host) -> Result<TcpStates, CollectError> {
        let mut states = TcpStates::default();
        let mut read = |path: &Path| {
            for_each_socket(path, |socket| states.add(socket))
                .map_err(|e| CollectError::lines(path, e))
        };
        read(&host.net_path("tcp"))?;
        match read(&host.net_path("tcp6")) {
            Err(e) if e.kind() != ErrorKind::NoData => return Err(e),
            _ => {}
        }
        Ok(states)
    }
}

/// `SOCK_DIAG_BY_FAMILY`: the request type of an `inet_diag` dump.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The length of `struct inet_diag_req_v2`.
const INET_DIAG_REQUEST_LEN: usize = 56;
/// The length of `struct inet_diag_msg`, which starts every reply.
const INET_DIAG_MESSAGE_LEN: usize = 72;
/// Every TCP state, as a bit per state number (`TCPF_ALL`).
const ALL_STATES: u32 = 0xfff;

/// A `struct inet_diag_req_v2` asking for TCP sockets of `family` in every
/// state, without extensions (only the fixed part of each reply is used,
/// and `tcp_info` would cost a few hundred bytes a socket).
fn inet_diag_request(family: u8) -> [u8; INET_DIAG_REQUEST_LEN] {
    let mut request = [0u8; INET_DIAG_REQUEST_LEN];
    request[0] = family;
    request[1] = libc::IPPROTO_TCP as u8;
    request[4..8].copy_from_slice(&ALL_STATES.to_ne_bytes());
    request
}

/// The fields of one `struct inet_diag_msg` the collector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InetDiagSocket {
    /// `idiag_state`: the kernel's TCP state number.
    pub state: u8,
    /// `idiag_rqueue`: bytes received and not yet read (a listener's
    /// accept queue length).
    pub receive_queue: u32,
    /// `idiag_wqueue`: bytes not yet acknowledged (a listener's backlog
    /// limit).
    pub send_queue: u32,
}

impl InetDiagSocket {
    /// Parses the payload of one `inet_diag` reply: a `struct
    /// inet_diag_msg` (family, state, timer, retransmits, the 48-byte
    /// socket id, expiry, queues, uid, inode), then attributes, not read.
    pub fn parse(payload: &[u8]) -> Result<InetDiagSocket, String> {
        if payload.len() < INET_DIAG_MESSAGE_LEN {
            return Err(format!(
                "an inet_diag message of {} bytes, expected at least {INET_DIAG_MESSAGE_LEN}",
                payload.len()
            ));
        }
        let family = payload[0];
        if family != libc::AF_INET as u8 && family != libc::AF_INET6 as u8 {
            return Err(format!("an inet_diag message of address family {family}"));
        }
        let u32_at = |at: usize| {
            u32::from_ne_bytes([
                payload[at],
                payload[at + 1],
                payload[at + 2],
                payload[at + 3],
            ])
        };
        Ok(InetDiagSocket {
            state: payload[1],
            receive_queue: u32_at(56),
            send_queue: u32_at(60),
        })
    }
}

impl Collector for TcpstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let from_netlink = if host.in_init_network_namespace() {
            TcpStates::from_sock_diag()
                .inspect_err(
                    |e| tracing::debug!(err = %e, "sock_diag failed, reading the procfs tables"),
                )
                .ok()
        } else {
            None
        };
        let states = match from_netlink {
            Some(states) => states,
            None => TcpStates::from_procfs(host)?,
        };
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
    use crate::kernel::netlink::{captured_datagrams, messages};
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

    const DIAG_TCP4: &str = include_str!("../../tests/netlink/inet_diag_tcp4.hex");
    const DIAG_TCP6: &str = include_str!("../../tests/netlink/inet_diag_tcp6.hex");

    /// The sockets of the first datagram of a captured dump.
    fn diag_sockets(capture: &str) -> Vec<InetDiagSocket> {
        let datagrams = captured_datagrams(capture);
        messages(&datagrams[0])
            .map(|m| InetDiagSocket::parse(m.unwrap().payload).unwrap())
            .collect()
    }

    #[test]
    fn parses_captured_inet_diag_replies() {
        assert_eq!(
            diag_sockets(DIAG_TCP4),
            vec![
                // The listener with backlog 5, its accept queue empty.
                InetDiagSocket {
                    state: TCP_LISTEN,
                    receive_queue: 0,
                    send_queue: 5
                },
                // The client, its 5 bytes acknowledged already.
                InetDiagSocket {
                    state: 1,
                    receive_queue: 0,
                    send_queue: 0
                },
                // The accepted peer, holding the 5 bytes unread.
                InetDiagSocket {
                    state: 1,
                    receive_queue: 5,
                    send_queue: 0
                },
            ]
        );
        assert_eq!(
            diag_sockets(DIAG_TCP6),
            vec![InetDiagSocket {
                state: TCP_LISTEN,
                receive_queue: 0,
                send_queue: 3
            }]
        );
    }

    #[test]
    fn listeners_backlog_limits_are_not_queued_bytes() {
        let mut states = TcpStates::default();
        for socket in diag_sockets(DIAG_TCP4)
            .into_iter()
            .chain(diag_sockets(DIAG_TCP6))
        {
            states.add_diag(socket);
        }
        let values: Vec<(&str, f64)> = states.values.into_iter().collect();
        assert_eq!(
            values,
            vec![
                ("established", 2.0),
                ("listen", 2.0),
                ("rx_queued_bytes", 5.0),
                ("tx_queued_bytes", 0.0),
            ]
        );
        let mut sending = TcpStates::default();
        sending.add_diag(InetDiagSocket {
            state: 1,
            receive_queue: 0,
            send_queue: u32::MAX,
        });
        assert_eq!(sending.values["tx_queued_bytes"], f64::from(u32::MAX));
    }

    #[test]
    fn refuses_short_and_foreign_inet_diag_messages() {
        let datagrams = captured_datagrams(DIAG_TCP4);
        let message = messages(&datagrams[0]).next().unwrap().unwrap();
        assert!(InetDiagSocket::parse(&message.payload[..71]).is_err());
        assert!(InetDiagSocket::parse(&[]).is_err());
        let mut unix = message.payload.to_vec();
        unix[0] = libc::AF_UNIX as u8;
        assert!(InetDiagSocket::parse(&unix).unwrap_err().contains("family"));
    }

    #[test]
    fn requests_every_tcp_state_of_one_family() {
        let request = inet_diag_request(libc::AF_INET6 as u8);
        assert_eq!(request[0], libc::AF_INET6 as u8);
        assert_eq!(request[1], libc::IPPROTO_TCP as u8);
        // No extensions: only the fixed part of each reply is read.
        assert_eq!(request[2], 0);
        assert_eq!(&request[4..8], &0xfffu32.to_ne_bytes());
        assert!(request[8..].iter().all(|&b| b == 0));
    }

    /// sock_diag and the procfs tables of this test's own namespace count
    /// the same sockets: a listener, a connection with bytes unread on one
    /// side and not yet acknowledged on none, held still while both are
    /// read.
    #[test]
    fn sock_diag_agrees_with_the_procfs_tables_of_the_same_namespace() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_peer, _) = listener.accept().unwrap();
        client.write_all(b"unread").unwrap();
        let own = Host::new("/proc/self", "/sys", "/", "/run/udev/data");
        // Sockets of other tests come and go meanwhile: retry until two
        // reads in a row agree.
        let mut last = None;
        for _ in 0..20 {
            let netlink = TcpStates::from_sock_diag().unwrap();
            let procfs = TcpStates::from_procfs(&own).unwrap();
            if netlink == procfs {
                last = Some(netlink);
                break;
            }
        }
        let states = last.expect("sock_diag and procfs never agreed in 20 reads");
        assert!(states.values["listen"] >= 1.0);
        assert!(states.values["established"] >= 2.0);
        assert!(states.values["rx_queued_bytes"] >= 6.0);
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
