//! `qdisc` (disabled by default): the statistics of each network device's
//! root queueing discipline, as `node_qdisc_*{device,kind}`, from an
//! rtnetlink `RTM_GETQDISC` dump, as node_exporter reads them.
//!
//! Statistics come from `TCA_STATS2` (`TCA_STATS_BASIC`, `TCA_STATS_QUEUE`,
//! and `TCA_STATS_PKT64` once the packet count outgrows 32 bits), else from
//! the legacy `TCA_STATS` of kernels without it. Device names come from an
//! `RTM_GETLINK` dump of the same namespace; a qdisc whose device went away
//! between the two dumps is skipped.
//!
//! Netlink answers for the agent's own network namespace: in a pod, the
//! host's devices only with `hostNetwork: true` (as the shipped DaemonSet
//! runs), as with node_exporter. `--collector.qdisc.fixtures` (node_exporter's
//! JSON stand-in for the kernel in its own tests) is accepted and ignored:
//! the kernel is always asked.

use std::collections::HashMap;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::{with_deprecated_alias, DeviceFilter};
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::netlink::Protocol;
use crate::host::Host;
use crate::kernel::netlink::{attributes, dump, Attribute, DumpError, Message};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "qdisc",
    default_enabled: false,
    reads: "netlink RTM_GETQDISC and RTM_GETLINK (the agent's network namespace)",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the qdisc collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// test fixtures to use for qdisc collector end-to-end testing
    #[arg(
        id = "collector.qdisc.fixtures",
        long = "collector.qdisc.fixtures",
        value_name = "DIR",
        default_value = ""
    )]
    pub fixtures: String,

    /// Regexp of qdisc devices to include (mutually exclusive to device-exclude).
    #[arg(id = "collector.qdisc.device-include", long = "collector.qdisc.device-include", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_include: Option<Regex>,

    /// DEPRECATED: Use collector.qdisc.device-include
    #[arg(id = "collector.qdisk.device-include", long = "collector.qdisk.device-include", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub old_device_include: Option<Regex>,

    /// Regexp of qdisc devices to exclude (mutually exclusive to device-include).
    #[arg(id = "collector.qdisc.device-exclude", long = "collector.qdisc.device-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex)]
    pub device_exclude: Option<Regex>,

    /// DEPRECATED: Use collector.qdisc.device-exclude
    #[arg(id = "collector.qdisk.device-exclude", long = "collector.qdisk.device-exclude", value_name = "REGEX",
          value_parser = crate::parse::regex, hide = true)]
    pub old_device_exclude: Option<Regex>,

    /// Also expose non-root qdiscs, adding 'parent' and 'handle' labels to all qdisc metrics. Note that packets traversing a child qdisc are also counted by its parents, so generic counters must not be aggregated across a device without grouping by these labels.
    #[arg(
        id = "collector.qdisc.include-child",
        long = "collector.qdisc.include-child"
    )]
    pub include_child: bool,
}

impl Flags {
    /// The device filter the flags describe; conflicting flags are an error
    /// naming them, as node_exporter's.
    fn device_filter(&self) -> Result<DeviceFilter, String> {
        let include = with_deprecated_alias(
            "collector.qdisc.device-include",
            self.device_include.as_ref(),
            "collector.qdisk.device-include",
            self.old_device_include.as_ref(),
        )?;
        let exclude = with_deprecated_alias(
            "collector.qdisc.device-exclude",
            self.device_exclude.as_ref(),
            "collector.qdisk.device-exclude",
            self.old_device_exclude.as_ref(),
        )?;
        DeviceFilter::exclusive(exclude, include).map_err(|_| {
            "collector.qdisc.device-include and collector.qdisc.device-exclude are mutually exclusive"
                .to_string()
        })
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    if !flags.fixtures.is_empty() {
        tracing::warn!(
            "--collector.qdisc.fixtures is accepted for compatibility and ignored: the kernel is always asked"
        );
    }
    Ok(Box::new(QdiscCollector {
        filter: flags.device_filter()?,
        include_child: flags.include_child,
    }))
}

/// Reports the root qdisc of every device the filter keeps, and with
/// `--collector.qdisc.include-child` every other qdisc too.
struct QdiscCollector {
    filter: DeviceFilter,
    include_child: bool,
}

/// `RTM_NEWLINK`, `RTM_GETLINK`, `RTM_NEWQDISC`, `RTM_GETQDISC`.
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWQDISC: u16 = 36;
const RTM_GETQDISC: u16 = 38;
/// The length of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;
/// `IFLA_IFNAME`.
const IFLA_IFNAME: u16 = 3;
/// The length of `struct tcmsg`.
const TCMSG_LEN: usize = 20;
/// `TC_H_ROOT`: the parent of a device's root qdisc.
const TC_H_ROOT: u32 = 0xffff_ffff;
/// `TCA_KIND`, `TCA_STATS`, `TCA_STATS2`.
const TCA_KIND: u16 = 1;
const TCA_STATS: u16 = 3;
const TCA_STATS2: u16 = 7;
/// `TCA_STATS_BASIC`, `TCA_STATS_QUEUE`, `TCA_STATS_PKT64`.
const TCA_STATS_BASIC: u16 = 1;
const TCA_STATS_QUEUE: u16 = 3;
const TCA_STATS_PKT64: u16 = 8;

/// One qdisc of an `RTM_NEWQDISC` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qdisc {
    /// `tcm_ifindex`: the device's index.
    pub ifindex: i32,
    /// `tcm_handle`: the qdisc's own handle (`major:0`).
    pub handle: u32,
    /// `tcm_parent`: [`TC_H_ROOT`] for a device's root qdisc.
    pub parent: u32,
    /// `TCA_KIND`: `fq_codel`, `noqueue`, `tbf`, ...
    pub kind: String,
    /// Bytes sent.
    pub bytes: u64,
    /// Packets sent.
    pub packets: u64,
    /// Packets dropped.
    pub drops: u32,
    /// Packets dequeued, not transmitted, and requeued (`TCA_STATS2` only).
    pub requeues: u32,
    /// Overlimit packets.
    pub overlimits: u32,
    /// Packets in the queue.
    pub qlen: u32,
    /// Bytes in the queue.
    pub backlog: u32,
}

impl Qdisc {
    /// Parses the payload of an `RTM_NEWQDISC` message: a `struct tcmsg`,
    /// then attributes.
    pub fn parse(payload: &[u8]) -> Result<Qdisc, String> {
        if payload.len() < TCMSG_LEN {
            return Err(format!(
                "a qdisc message of {} bytes, shorter than struct tcmsg",
                payload.len()
            ));
        }
        let u32_at = |at: usize| {
            u32::from_ne_bytes([
                payload[at],
                payload[at + 1],
                payload[at + 2],
                payload[at + 3],
            ])
        };
        let mut qdisc = Qdisc {
            ifindex: u32_at(4) as i32,
            handle: u32_at(8),
            parent: u32_at(12),
            ..Qdisc::default()
        };
        let mut legacy = None;
        let mut has_stats2 = false;
        for attribute in attributes(&payload[TCMSG_LEN..]) {
            let attribute = attribute?;
            match attribute.kind {
                TCA_KIND => qdisc.kind = attribute.string(),
                TCA_STATS2 => {
                    has_stats2 = true;
                    qdisc.read_stats2(&attribute)?;
                }
                TCA_STATS => legacy = Some(attribute),
                _ => {}
            }
        }
        if let (false, Some(legacy)) = (has_stats2, legacy) {
            qdisc.read_legacy_stats(legacy.payload)?;
        }
        Ok(qdisc)
    }

    /// `TCA_STATS2`'s nested `gnet_stats_basic`, `gnet_stats_queue` and
    /// 64-bit packet count.
    fn read_stats2(&mut self, stats2: &Attribute<'_>) -> Result<(), String> {
        let mut packets64 = None;
        for nested in stats2.nested() {
            let nested = nested?;
            let fields = |count: usize| -> Result<Vec<u32>, String> {
                let bytes = nested.payload.get(..count * 4).ok_or_else(|| {
                    format!(
                        "TCA_STATS2 attribute {} of {} bytes, expected {}",
                        nested.kind,
                        nested.payload.len(),
                        count * 4
                    )
                })?;
                Ok(bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            };
            match nested.kind {
                TCA_STATS_BASIC => {
                    // struct gnet_stats_basic: u64 bytes, u32 packets.
                    let basic = fields(3)?;
                    self.bytes = u64::from(basic[0]) | (u64::from(basic[1]) << 32);
                    self.packets = u64::from(basic[2]);
                }
                TCA_STATS_QUEUE => {
                    let queue = fields(5)?;
                    self.qlen = queue[0];
                    self.backlog = queue[1];
                    self.drops = queue[2];
                    self.requeues = queue[3];
                    self.overlimits = queue[4];
                }
                TCA_STATS_PKT64 => packets64 = Some(nested.u64()?),
                _ => {}
            }
        }
        if let Some(packets) = packets64 {
            self.packets = packets;
        }
        Ok(())
    }

    /// The legacy `struct tc_stats`: u64 bytes, then u32 packets, drops,
    /// overlimits, bps, pps, qlen, backlog.
    fn read_legacy_stats(&mut self, stats: &[u8]) -> Result<(), String> {
        if stats.len() < 36 {
            return Err(format!("TCA_STATS of {} bytes, expected 36", stats.len()));
        }
        let u32_at = |at: usize| {
            u32::from_ne_bytes([stats[at], stats[at + 1], stats[at + 2], stats[at + 3]])
        };
        self.bytes = u64::from(u32_at(0)) | (u64::from(u32_at(4)) << 32);
        self.packets = u64::from(u32_at(8));
        self.drops = u32_at(12);
        self.overlimits = u32_at(16);
        self.qlen = u32_at(28);
        self.backlog = u32_at(32);
        Ok(())
    }
}

/// The index and name of the device of an `RTM_NEWLINK` message's payload
/// (`struct ifinfomsg`, then attributes); `None` for a name-less device.
pub fn link_name(payload: &[u8]) -> Result<Option<(i32, String)>, String> {
    if payload.len() < IFINFOMSG_LEN {
        return Err(format!(
            "a link message of {} bytes, shorter than struct ifinfomsg",
            payload.len()
        ));
    }
    let index = i32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
    for attribute in attributes(&payload[IFINFOMSG_LEN..]) {
        let attribute = attribute?;
        if attribute.kind == IFLA_IFNAME {
            return Ok(Some((index, attribute.string())));
        }
    }
    Ok(None)
}

/// Device names by index, over an `RTM_GETLINK` dump.
fn link_names() -> Result<HashMap<i32, String>, DumpError> {
    let mut names = HashMap::new();
    dump(
        Protocol::Route,
        RTM_GETLINK,
        &[0u8; IFINFOMSG_LEN],
        &mut |message: &Message<'_>| {
            if message.message_type == RTM_NEWLINK {
                names.extend(link_name(message.payload)?);
            }
            Ok(())
        },
    )?;
    Ok(names)
}

/// Every qdisc, over an `RTM_GETQDISC` dump.
fn qdiscs() -> Result<Vec<Qdisc>, DumpError> {
    let mut all = Vec::new();
    dump(
        Protocol::Route,
        RTM_GETQDISC,
        &[0u8; TCMSG_LEN],
        &mut |message: &Message<'_>| {
            if message.message_type == RTM_NEWQDISC {
                all.push(Qdisc::parse(message.payload)?);
            }
            Ok(())
        },
    )?;
    Ok(all)
}

/// node_exporter's families, each with the value of a qdisc.
/// Where a family's value comes from.
type QdiscValue = fn(&Qdisc) -> f64;

const FAMILIES: &[Desc<QdiscValue>] = &[
    Desc::counter("node_qdisc_bytes_total", "Number of bytes sent.", |q| {
        q.bytes as f64
    }),
    Desc::counter("node_qdisc_packets_total", "Number of packets sent.", |q| {
        q.packets as f64
    }),
    Desc::counter(
        "node_qdisc_drops_total",
        "Number of packets dropped.",
        |q| q.drops.into(),
    ),
    Desc::counter(
        "node_qdisc_requeues_total",
        "Number of packets dequeued, not transmitted, and requeued.",
        |q| q.requeues.into(),
    ),
    Desc::counter(
        "node_qdisc_overlimits_total",
        "Number of overlimit packets.",
        |q| q.overlimits.into(),
    ),
    Desc::gauge(
        "node_qdisc_current_queue_length",
        "Number of packets currently in queue to be sent.",
        |q| q.qlen.into(),
    ),
    Desc::gauge(
        "node_qdisc_backlog",
        "Number of bytes currently in queue to be sent.",
        |q| q.backlog.into(),
    ),
];

impl QdiscCollector {
    /// The qdiscs of the devices the filter keeps (root ones only, unless
    /// children are included), with their devices' names.
    fn reported<'a>(
        &self,
        all: &'a [Qdisc],
        names: &'a HashMap<i32, String>,
    ) -> Vec<(&'a str, &'a Qdisc)> {
        all.iter()
            .filter(|qdisc| self.include_child || qdisc.parent == TC_H_ROOT)
            .filter_map(|qdisc| names.get(&qdisc.ifindex).map(|name| (name.as_str(), qdisc)))
            .filter(|(name, _)| !self.filter.ignored(name))
            .collect()
    }
}

impl Collector for QdiscCollector {
    fn update(&self, _host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let failed = |what: &str, e: DumpError| CollectError::failed(format!("{what}: {e}"));
        let all = qdiscs().map_err(|e| failed("dumping qdiscs", e))?;
        let names = link_names().map_err(|e| failed("dumping links", e))?;
        let reported = self.reported(&all, &names);
        if reported.is_empty() {
            return Ok(());
        }
        if !self.include_child {
            for desc in FAMILIES {
                let family =
                    out.family(desc.name, desc.help, desc.metric_type, &["device", "kind"]);
                for &(device, qdisc) in &reported {
                    family.push(&[device, &qdisc.kind], (desc.source)(qdisc));
                }
            }
            return Ok(());
        }
        let positions: Vec<(String, String)> = reported
            .iter()
            .map(|(_, qdisc)| (parent_label(qdisc.parent), handle_label(qdisc.handle)))
            .collect();
        let labels = &["device", "kind", "parent", "handle"];
        for desc in FAMILIES {
            let family = out.family(desc.name, desc.help, desc.metric_type, labels);
            for (&(device, qdisc), (parent, handle)) in reported.iter().zip(&positions) {
                family.push(&[device, &qdisc.kind, parent, handle], (desc.source)(qdisc));
            }
        }
        Ok(())
    }
}

/// A tc handle as tc writes it, `major:minor` in hexadecimal.
fn handle_label(handle: u32) -> String {
    format!("{:x}:{:x}", handle >> 16, handle & 0xffff)
}

/// A qdisc's parent for the `parent` label: `root` for a device's root
/// qdisc, as tc says, else the parent's handle.
fn parent_label(parent: u32) -> String {
    if parent == TC_H_ROOT {
        "root".to_string()
    } else {
        handle_label(parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build as build_collector, fixture_host};
    use crate::kernel::netlink::{captured_datagrams, messages};
    use crate::metrics::MetricType;

    const QDISC: &str = include_str!("../../tests/netlink/rtm_qdisc.hex");
    const LINK: &str = include_str!("../../tests/netlink/rtm_link.hex");

    fn captured_qdiscs() -> Vec<Qdisc> {
        let datagrams = captured_datagrams(QDISC);
        messages(&datagrams[0])
            .map(|m| Qdisc::parse(m.unwrap().payload).unwrap())
            .collect()
    }

    fn captured_names() -> HashMap<i32, String> {
        let mut names = HashMap::new();
        for datagram in captured_datagrams(LINK) {
            for message in messages(&datagram) {
                let message = message.unwrap();
                if message.message_type == RTM_NEWLINK {
                    names.extend(link_name(message.payload).unwrap());
                }
            }
        }
        names
    }

    #[test]
    fn parses_captured_qdiscs() {
        let all = captured_qdiscs();
        let kinds: Vec<(i32, u32, &str)> = all
            .iter()
            .map(|q| (q.ifindex, q.parent, q.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (1, TC_H_ROOT, "noqueue"),
                (2, TC_H_ROOT, "noqueue"),
                (3, TC_H_ROOT, "tbf")
            ]
        );
        assert_eq!(
            all[2],
            Qdisc {
                ifindex: 3,
                // The handle the kernel gives a qdisc added without one,
                // which tc shows as 8001:.
                handle: 0x8001_0000,
                parent: TC_H_ROOT,
                kind: "tbf".to_string(),
                bytes: 340,
                packets: 4,
                ..Qdisc::default()
            }
        );
    }

    #[test]
    fn parses_captured_link_names() {
        let names = captured_names();
        assert_eq!(names.len(), 3);
        assert_eq!(names[&1], "lo");
        assert_eq!(names[&2], "nlv1");
        assert_eq!(names[&3], "nlv0");
    }

    /// A tcmsg with the given attributes, as a kernel writes one.
    fn qdisc_message(parent: u32, attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut payload = vec![0u8; TCMSG_LEN];
        payload[4..8].copy_from_slice(&7i32.to_ne_bytes());
        payload[12..16].copy_from_slice(&parent.to_ne_bytes());
        for (kind, data) in attributes {
            crate::kernel::netlink::push_attribute(&mut payload, *kind, data);
        }
        payload
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn reads_queue_statistics_and_the_64_bit_packet_count() {
        let mut basic = 5_000_000_000u64.to_ne_bytes().to_vec();
        basic.extend(words(&[u32::MAX, 0]));
        let mut stats2 = Vec::new();
        crate::kernel::netlink::push_attribute(&mut stats2, TCA_STATS_BASIC, &basic);
        crate::kernel::netlink::push_attribute(
            &mut stats2,
            TCA_STATS_QUEUE,
            &words(&[3, 4500, 6, 7, 8]),
        );
        crate::kernel::netlink::push_attribute(
            &mut stats2,
            TCA_STATS_PKT64,
            &(1u64 << 33).to_ne_bytes(),
        );
        let payload = qdisc_message(
            TC_H_ROOT,
            &[(TCA_KIND, b"fq_codel\0".to_vec()), (TCA_STATS2, stats2)],
        );
        assert_eq!(
            Qdisc::parse(&payload).unwrap(),
            Qdisc {
                ifindex: 7,
                handle: 0,
                parent: TC_H_ROOT,
                kind: "fq_codel".to_string(),
                bytes: 5_000_000_000,
                packets: 1 << 33,
                drops: 6,
                requeues: 7,
                overlimits: 8,
                qlen: 3,
                backlog: 4500,
            }
        );
    }

    #[test]
    fn falls_back_to_legacy_stats_without_stats2() {
        // struct tc_stats: bytes, packets, drops, overlimits, bps, pps,
        // qlen, backlog.
        let mut legacy = 1234u64.to_ne_bytes().to_vec();
        legacy.extend(words(&[12, 1, 2, 99, 98, 3, 4]));
        let payload = qdisc_message(
            TC_H_ROOT,
            &[(TCA_KIND, b"pfifo_fast\0".to_vec()), (TCA_STATS, legacy)],
        );
        let qdisc = Qdisc::parse(&payload).unwrap();
        assert_eq!(
            (
                qdisc.bytes,
                qdisc.packets,
                qdisc.drops,
                qdisc.overlimits,
                qdisc.qlen,
                qdisc.backlog
            ),
            (1234, 12, 1, 2, 3, 4)
        );
        assert_eq!(qdisc.requeues, 0);
    }

    #[test]
    fn refuses_truncated_messages_and_statistics() {
        let datagrams = captured_datagrams(QDISC);
        let tbf = messages(&datagrams[0]).nth(2).unwrap().unwrap().payload;
        assert!(Qdisc::parse(&tbf[..19]).is_err());
        for cut in TCMSG_LEN..tbf.len() {
            // Any cut either parses what is left or is refused: no panic.
            let _ = Qdisc::parse(&tbf[..cut]);
        }
        let short_queue = {
            let mut stats2 = Vec::new();
            crate::kernel::netlink::push_attribute(&mut stats2, TCA_STATS_QUEUE, &words(&[1, 2]));
            qdisc_message(TC_H_ROOT, &[(TCA_STATS2, stats2)])
        };
        assert!(Qdisc::parse(&short_queue)
            .unwrap_err()
            .contains("expected 20"));
        let short_legacy = qdisc_message(TC_H_ROOT, &[(TCA_STATS, vec![0; 12])]);
        assert!(Qdisc::parse(&short_legacy)
            .unwrap_err()
            .contains("TCA_STATS"));
        assert!(link_name(&[0; 8]).is_err());
    }

    fn collector(flags: &[&str]) -> Result<crate::collectors::common::testing::Built, String> {
        build_collector(&SPEC, fixture_host(), flags)
    }

    #[test]
    fn reports_root_qdiscs_of_kept_devices_only() {
        let mut all = captured_qdiscs();
        all.push(Qdisc {
            ifindex: 3,
            parent: 0x8001_0001,
            kind: "pfifo".to_string(),
            ..Qdisc::default()
        });
        all.push(Qdisc {
            ifindex: 99,
            parent: TC_H_ROOT,
            kind: "gone".to_string(),
            ..Qdisc::default()
        });
        let names = captured_names();
        let every = QdiscCollector {
            filter: DeviceFilter::default(),
            include_child: false,
        };
        let devices: Vec<(&str, &str)> = every
            .reported(&all, &names)
            .iter()
            .map(|(name, q)| (*name, q.kind.as_str()))
            .collect();
        assert_eq!(
            devices,
            vec![("lo", "noqueue"), ("nlv1", "noqueue"), ("nlv0", "tbf")]
        );
        let flags: Flags =
            crate::collectors::common::testing::flags(&["--collector.qdisc.device-exclude=^lo$"])
                .unwrap();
        let filtered = QdiscCollector {
            filter: flags.device_filter().unwrap(),
            include_child: false,
        };
        assert_eq!(filtered.reported(&all, &names).len(), 2);
        let children = QdiscCollector {
            filter: DeviceFilter::default(),
            include_child: true,
        };
        let kinds: Vec<&str> = children
            .reported(&all, &names)
            .iter()
            .map(|(_, q)| q.kind.as_str())
            .collect();
        assert_eq!(kinds, vec!["noqueue", "noqueue", "tbf", "pfifo"]);
    }

    #[test]
    fn child_labels_name_the_parent_and_the_handle_as_tc_does() {
        assert_eq!(parent_label(TC_H_ROOT), "root");
        assert_eq!(parent_label(0x8001_0001), "8001:1");
        assert_eq!(handle_label(0x0001_0000), "1:0");
        assert_eq!(handle_label(0xffff_fff1), "ffff:fff1");
        let mut payload = qdisc_message(0x0001_0001, &[(TCA_KIND, b"pfifo\0".to_vec())]);
        payload[8..12].copy_from_slice(&0x0010_0000u32.to_ne_bytes());
        let qdisc = Qdisc::parse(&payload).unwrap();
        assert_eq!((qdisc.handle, qdisc.parent), (0x0010_0000, 0x0001_0001));
    }

    #[test]
    fn include_child_adds_parent_and_handle_labels() {
        let built = collector(&[
            "--collector.qdisc.device-include=^lo$",
            "--collector.qdisc.include-child",
        ])
        .unwrap();
        let (families, result) = built.run();
        result.unwrap();
        assert!(!families.is_empty());
        for family in &families {
            let mut names: Vec<&str> = family.label_names().iter().map(|n| n.as_ref()).collect();
            names.sort_unstable();
            assert_eq!(
                names,
                ["device", "handle", "kind", "parent"],
                "{}",
                family.name()
            );
        }
    }

    #[test]
    fn flags_as_node_exporters() {
        assert!(collector(&[]).is_ok());
        assert!(collector(&["--collector.qdisc.fixtures=/nowhere"]).is_ok());
        assert!(collector(&["--collector.qdisk.device-include=^eth"]).is_ok());
        let both = collector(&[
            "--collector.qdisc.device-include=^eth",
            "--collector.qdisc.device-exclude=^lo$",
        ]);
        assert!(both.err().unwrap().contains("mutually exclusive"));
        let with_alias = collector(&[
            "--collector.qdisc.device-include=^eth",
            "--collector.qdisk.device-include=^en",
        ]);
        assert!(with_alias
            .err()
            .unwrap()
            .contains("collector.qdisk.device-include"));
    }

    #[test]
    fn emits_node_exporters_families_for_this_namespace() {
        // Every namespace has lo, whose root qdisc is noqueue.
        let built = collector(&["--collector.qdisc.device-include=^lo$"]).unwrap();
        let (families, result) = built.run();
        result.unwrap();
        let shapes: Vec<(&str, MetricType)> = families
            .iter()
            .map(|f| (f.name(), f.metric_type()))
            .collect();
        let mut expected: Vec<(&str, MetricType)> =
            FAMILIES.iter().map(|f| (f.name, f.metric_type)).collect();
        expected.sort_by_key(|f| f.0);
        assert_eq!(shapes, expected);
        for family in &families {
            assert_eq!(family.label_names(), &["device", "kind"]);
            assert_eq!(family.samples().len(), 1);
            let labels: Vec<&str> = family.label_values(&family.samples()[0]).collect();
            assert_eq!(labels, vec!["lo", "noqueue"]);
        }
        let none = collector(&["--collector.qdisc.device-include=^veth3f2a1b7$"]).unwrap();
        let (families, result) = none.run();
        result.unwrap();
        assert!(families.is_empty());
    }
}
