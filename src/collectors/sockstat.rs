//! `sockstat`: socket counts and memory per protocol from `/proc/net/sockstat`
//! and `/proc/net/sockstat6`, as `node_sockstat_<PROTOCOL>_<key>` gauges.
//!
//! The files are read from the host's network namespace (see
//! [`Host::net_path`]). Either may be missing (IPv4 or IPv6 disabled); that
//! family is then left out.

use std::io;

use crate::collectors::common::field_selection::Descriptions;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{is_name_fragment, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "sockstat",
    default_enabled: true,
    reads: "/proc/1/net/sockstat, /proc/1/net/sockstat6",
    flags: None,
    build,
};

fn build(_ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(SockstatCollector {
        page_size: page_size(),
        descriptions: Descriptions::default(),
    }))
}

/// The kernel's page size, the unit of the `mem` counts. The agent runs on
/// the observed host's kernel, so its own page size is the host's.
fn page_size() -> f64 {
    // SAFETY: sysconf has no preconditions and only reads a constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as f64
    } else {
        4096.0
    }
}

/// Reports the counts of `sockstat` and `sockstat6`.
struct SockstatCollector {
    /// Bytes per page, for `*_mem_bytes`.
    page_size: f64,
    /// Family names and helps by `<protocol>_<key>`, made once.
    descriptions: Descriptions,
}

/// One protocol line, such as `TCP: inuse 3 orphan 0 tw 12 alloc 5 mem 22`.
/// Keys other than `inuse` appear only for some protocols.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtocolSockets {
    /// The protocol as the kernel names it (`TCP`, `UDP6`, `FRAG`, ...).
    pub protocol: String,
    /// Sockets in use (0 when the line lacks it, as upstream).
    pub inuse: i64,
    /// Orphaned TCP sockets.
    pub orphan: Option<i64>,
    /// TCP sockets in TIME_WAIT.
    pub tw: Option<i64>,
    /// Allocated TCP sockets.
    pub alloc: Option<i64>,
    /// Memory in use, in pages.
    pub mem: Option<i64>,
    /// Memory in use by fragment reassembly, in bytes.
    pub memory: Option<i64>,
}

/// The contents of `sockstat` or `sockstat6`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sockstat {
    /// `sockets: used N`, which only the IPv4 file has.
    pub used: Option<i64>,
    /// Every protocol line, in file order.
    pub protocols: Vec<ProtocolSockets>,
}

impl Sockstat {
    /// Parses `sockstat` or `sockstat6`: lines of a protocol and `key value`
    /// pairs. A line with no pair, an odd number of words after the protocol,
    /// or a value that is not an integer makes the file an error; blank lines
    /// are skipped.
    pub fn parse(text: &str) -> Result<Sockstat, String> {
        let mut stat = Sockstat::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else {
                continue;
            };
            let protocol = first.strip_suffix(':').unwrap_or(first);
            let pairs: Vec<&str> = words.collect();
            if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
                return Err(format!("malformed line {line:?}"));
            }
            let mut sockets = ProtocolSockets {
                protocol: protocol.to_string(),
                ..ProtocolSockets::default()
            };
            let mut used = None;
            for pair in pairs.chunks_exact(2) {
                let value: i64 = pair[1].parse().map_err(|_| {
                    format!("{protocol}: invalid value {:?} for {}", pair[1], pair[0])
                })?;
                match pair[0] {
                    "used" => used = Some(value),
                    "inuse" => sockets.inuse = value,
                    "orphan" => sockets.orphan = Some(value),
                    "tw" => sockets.tw = Some(value),
                    "alloc" => sockets.alloc = Some(value),
                    "mem" => sockets.mem = Some(value),
                    "memory" => sockets.memory = Some(value),
                    _ => {}
                }
            }
            if protocol == "sockets" {
                stat.used = Some(used.unwrap_or(0));
            } else {
                stat.protocols.push(sockets);
            }
        }
        Ok(stat)
    }
}

impl SockstatCollector {
    /// Reads one file; `None` when it does not exist.
    fn read(&self, host: &Host, file: &str) -> Result<Option<Sockstat>, CollectError> {
        let path = host.net_path(file);
        match read_text(&path) {
            Ok(text) => Sockstat::parse(&text)
                .map(Some)
                .map_err(|e| CollectError::parse(&path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CollectError::io(&path, &e)),
        }
    }

    fn emit(&self, out: &mut MetricSet, stat: &Sockstat) {
        if let Some(used) = stat.used {
            out.gauge(
                "node_sockstat_sockets_used",
                "Number of IPv4 sockets in use.",
                used as f64,
            );
        }
        let mut name = String::new();
        for sockets in &stat.protocols {
            let protocol = &sockets.protocol;
            if !is_name_fragment(protocol) {
                continue;
            }
            let mem_bytes = sockets.mem.map(|pages| pages as f64 * self.page_size);
            let values = [
                ("inuse", Some(sockets.inuse as f64)),
                ("orphan", sockets.orphan.map(|v| v as f64)),
                ("tw", sockets.tw.map(|v| v as f64)),
                ("alloc", sockets.alloc.map(|v| v as f64)),
                ("mem", sockets.mem.map(|v| v as f64)),
                ("memory", sockets.memory.map(|v| v as f64)),
                ("mem_bytes", mem_bytes),
            ];
            for (key, value) in values {
                let Some(value) = value else { continue };
                name.clear();
                name.push_str(protocol);
                name.push('_');
                name.push_str(key);
                let describe = || {
                    Some((
                        format!("node_sockstat_{name}"),
                        format!("Number of {protocol} sockets in state {key}."),
                    ))
                };
                if let Some((family, help)) = self.descriptions.get_or_describe(&name, describe) {
                    out.gauge(family, help, value);
                }
            }
        }
    }
}

impl Collector for SockstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        // Both files are read before anything is emitted, so that a failure
        // of either reports no half-set.
        let ipv4 = self.read(host, "sockstat")?;
        let mut ipv6 = self.read(host, "sockstat6")?;
        // `sockets_used` counts IPv4 sockets; a `sockets:` line in the IPv6
        // file (which no kernel writes) is ignored, as upstream.
        if let Some(stat) = &mut ipv6 {
            stat.used = None;
        }
        for stat in [ipv4, ipv6].iter().flatten() {
            self.emit(out, stat);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, procfs_with, run};
    use crate::metrics::{Family, MetricType};

    /// This machine's files (Linux 6.18).
    const SOCKSTAT: &str = include_str!("../../tests/fixtures/proc/1/net/sockstat");
    const SOCKSTAT6: &str = include_str!("../../tests/fixtures/proc/1/net/sockstat6");

    /// A 2.6.18 kernel: no UDP mem, no UDPLITE line.
    const SOCKSTAT_2_6_18: &str = "\
sockets: used 290
TCP: inuse 23 orphan 0 tw 4 alloc 28 mem 4
UDP: inuse 9
RAW: inuse 0
FRAG: inuse 0 memory 0
";

    #[test]
    fn parses_this_machines_files() {
        let v4 = Sockstat::parse(SOCKSTAT).unwrap();
        assert!(v4.used.is_some());
        let names: Vec<&str> = v4.protocols.iter().map(|p| p.protocol.as_str()).collect();
        assert_eq!(names, vec!["TCP", "UDP", "UDPLITE", "RAW", "FRAG"]);
        let tcp = &v4.protocols[0];
        assert!(
            tcp.orphan.is_some() && tcp.tw.is_some() && tcp.alloc.is_some() && tcp.mem.is_some()
        );
        assert!(v4.protocols[4].memory.is_some());
        let v6 = Sockstat::parse(SOCKSTAT6).unwrap();
        assert_eq!(v6.used, None);
        let names: Vec<&str> = v6.protocols.iter().map(|p| p.protocol.as_str()).collect();
        assert_eq!(names, vec!["TCP6", "UDP6", "UDPLITE6", "RAW6", "FRAG6"]);
    }

    #[test]
    fn old_kernel_lacks_keys() {
        let stat = Sockstat::parse(SOCKSTAT_2_6_18).unwrap();
        assert_eq!(stat.used, Some(290));
        assert_eq!(
            stat.protocols[0],
            ProtocolSockets {
                protocol: "TCP".to_string(),
                inuse: 23,
                orphan: Some(0),
                tw: Some(4),
                alloc: Some(28),
                mem: Some(4),
                memory: None,
            }
        );
        assert_eq!(stat.protocols[1].mem, None);
        assert_eq!(stat.protocols.len(), 4);
    }

    #[test]
    fn garbage_is_an_error() {
        for text in [
            "TCP:\n",
            "TCP: inuse\n",
            "TCP: inuse 3 orphan\n",
            "TCP: inuse x\n",
            "TCP: inuse 3.5\n",
        ] {
            assert!(Sockstat::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(Sockstat::parse("").unwrap(), Sockstat::default());
        assert_eq!(Sockstat::parse("\n\n").unwrap(), Sockstat::default());
    }

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(
            &SockstatCollector {
                page_size: 4096.0,
                descriptions: Descriptions::default(),
            },
            &host_with_procfs(procfs),
        )
    }

    fn values(families: &[Family]) -> Vec<(String, f64)> {
        families
            .iter()
            .map(|f| (f.name().to_string(), f.samples()[0].value))
            .collect()
    }

    #[test]
    fn collector_emits_upstream_names_help_and_types() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        let names: Vec<String> = values(&families).into_iter().map(|(n, _)| n).collect();
        let expected = [
            "node_sockstat_FRAG6_inuse",
            "node_sockstat_FRAG6_memory",
            "node_sockstat_FRAG_inuse",
            "node_sockstat_FRAG_memory",
            "node_sockstat_RAW6_inuse",
            "node_sockstat_RAW_inuse",
            "node_sockstat_TCP6_inuse",
            "node_sockstat_TCP_alloc",
            "node_sockstat_TCP_inuse",
            "node_sockstat_TCP_mem",
            "node_sockstat_TCP_mem_bytes",
            "node_sockstat_TCP_orphan",
            "node_sockstat_TCP_tw",
            "node_sockstat_UDP6_inuse",
            "node_sockstat_UDPLITE6_inuse",
            "node_sockstat_UDPLITE_inuse",
            "node_sockstat_UDP_inuse",
            "node_sockstat_UDP_mem",
            "node_sockstat_UDP_mem_bytes",
            "node_sockstat_sockets_used",
        ];
        assert_eq!(names, expected);
        let tw = families
            .iter()
            .find(|f| f.name() == "node_sockstat_TCP_tw")
            .unwrap();
        assert_eq!(tw.help(), "Number of TCP sockets in state tw.");
        let used = families.last().unwrap();
        assert_eq!(used.help(), "Number of IPv4 sockets in use.");
        assert!(families
            .iter()
            .all(|f| f.metric_type() == MetricType::Gauge && f.label_names().is_empty()));
    }

    #[test]
    fn mem_bytes_is_pages_times_page_size() {
        let procfs = procfs_with(&[("net/sockstat", SOCKSTAT_2_6_18)]);
        let (families, result) = collect(procfs.path());
        result.unwrap();
        let values = values(&families);
        assert!(values.contains(&("node_sockstat_TCP_mem_bytes".to_string(), 4.0 * 4096.0)));
        assert!(values.contains(&("node_sockstat_sockets_used".to_string(), 290.0)));
        // No sockstat6 (IPv6 disabled) and no UDP mem: nothing made up.
        assert!(!values
            .iter()
            .any(|(n, _)| n.contains('6') || n == "node_sockstat_UDP_mem"));
    }

    #[test]
    fn missing_files_emit_nothing_and_garbage_fails() {
        let empty = procfs_with(&[]);
        let (families, result) = collect(empty.path());
        result.unwrap();
        assert!(families.is_empty());
        let procfs = procfs_with(&[
            ("net/sockstat", SOCKSTAT),
            ("net/sockstat6", "TCP6: inuse\n"),
        ]);
        let (families, result) = collect(procfs.path());
        assert!(result.unwrap_err().message().contains("sockstat6"));
        assert!(families.is_empty());
    }

    #[test]
    fn page_size_is_the_kernels() {
        let size = page_size();
        assert!(size >= 4096.0 && (size as u64).is_power_of_two());
    }
}
