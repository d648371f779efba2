//! `infiniband`: InfiniBand (and RoCE, iWARP) adapters, from
//! `<sysfs>/class/infiniband/<device>/` and each port's `state`,
//! `phys_state`, `rate`, `counters/`, `counters_ext/` (kernels before 4.5)
//! and `hw_counters/`.
//!
//! As node_exporter: `port_rcv_data` and `port_xmit_data` count 4-byte
//! words, so the byte counters are 4 times them; `hw_counters/` is read only
//! for `mlx5_*` and `irdma*` devices, and `counters/` not for `irdma*` and
//! `nvs_*` ones; a counter the adapter cannot read (`N/A (no PMA)`) is left
//! out, and `lifespan` (milliseconds) is reported in whole seconds. A device
//! without `fw_ver` or `ports/`, or a port with an unreadable state or rate,
//! fails the run as it does there; a port without `counters/` or
//! `hw_counters/` (soft-RoCE, kernels before 4.6) just has no such samples,
//! where node_exporter fails.
//!
//! `--collector.infiniband.device-include` / `device-exclude` pick devices
//! by name before anything of theirs is read, so that an excluded adapter
//! whose attributes fail to read (firmware-managed ports, MANA's `rate`)
//! neither fails the run nor is touched at all. node_exporter 1.12 reads
//! every device first and filters afterwards.

use std::fs;
use std::path::Path;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::common::sysfs_class::read_devices_where;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, read_text, Host};
use crate::kernel::sysfs_value::read_optional;
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::parse::go_uint;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "infiniband",
    default_enabled: true,
    reads: "/sys/class/infiniband/*/",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the infiniband collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of infiniband devices to include (mutually exclusive to
    /// device-exclude).
    #[arg(
        id = "collector.infiniband.device-include",
        long = "collector.infiniband.device-include",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_include: Option<Regex>,

    /// Regexp of infiniband devices to exclude (mutually exclusive to
    /// device-include).
    #[arg(
        id = "collector.infiniband.device-exclude",
        long = "collector.infiniband.device-exclude",
        value_name = "REGEX",
        value_parser = crate::parse::regex
    )]
    pub device_exclude: Option<Regex>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    let devices = DeviceFilter::exclusive(flags.device_exclude, flags.device_include).map_err(|_| {
        "--collector.infiniband.device-include and --collector.infiniband.device-exclude are mutually exclusive".to_string()
    })?;
    Ok(Box::new(InfinibandCollector { devices }))
}

/// Reports `node_infiniband_info` and the per-port families of the devices
/// that pass the filter.
struct InfinibandCollector {
    devices: DeviceFilter,
}

/// How a port counter file becomes a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A counter, as read.
    Count,
    /// A counter of 4-byte words, reported in bytes.
    Words,
    /// A duration in milliseconds, reported as a gauge in whole seconds.
    Milliseconds,
}

const COUNTERS: &str = "counters";
const COUNTERS_EXT: &str = "counters_ext";
const HW_COUNTERS: &str = "hw_counters";

/// Every counter file reported, named after `node_infiniband_`; each source
/// is the file's directory under the port, its name, and its unit.
const PORT_COUNTERS: &[Desc<(&str, &str, Unit)>] = &[
    Desc::counter(
        "legacy_multicast_packets_received_total",
        "Number of multicast packets received",
        (COUNTERS_EXT, "port_multicast_rcv_packets", Unit::Count),
    ),
    Desc::counter(
        "legacy_multicast_packets_transmitted_total",
        "Number of multicast packets transmitted",
        (COUNTERS_EXT, "port_multicast_xmit_packets", Unit::Count),
    ),
    Desc::counter(
        "legacy_data_received_bytes_total",
        "Number of data octets received on all links",
        (COUNTERS_EXT, "port_rcv_data_64", Unit::Words),
    ),
    Desc::counter(
        "legacy_packets_received_total",
        "Number of data packets received on all links",
        (COUNTERS_EXT, "port_rcv_packets_64", Unit::Count),
    ),
    Desc::counter(
        "legacy_unicast_packets_received_total",
        "Number of unicast packets received",
        (COUNTERS_EXT, "port_unicast_rcv_packets", Unit::Count),
    ),
    Desc::counter(
        "legacy_unicast_packets_transmitted_total",
        "Number of unicast packets transmitted",
        (COUNTERS_EXT, "port_unicast_xmit_packets", Unit::Count),
    ),
    Desc::counter(
        "legacy_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        (COUNTERS_EXT, "port_xmit_data_64", Unit::Words),
    ),
    Desc::counter(
        "legacy_packets_transmitted_total",
        "Number of data packets received on all links",
        (COUNTERS_EXT, "port_xmit_packets_64", Unit::Count),
    ),
    Desc::counter(
        "excessive_buffer_overrun_errors_total",
        "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
        (COUNTERS, "excessive_buffer_overrun_errors", Unit::Count),
    ),
    Desc::counter(
        "link_downed_total",
        "Number of times the link failed to recover from an error state and went down",
        (COUNTERS, "link_downed", Unit::Count),
    ),
    Desc::counter(
        "link_error_recovery_total",
        "Number of times the link successfully recovered from an error state",
        (COUNTERS, "link_error_recovery", Unit::Count),
    ),
    Desc::counter(
        "local_link_integrity_errors_total",
        "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
        (COUNTERS, "local_link_integrity_errors", Unit::Count),
    ),
    Desc::counter(
        "multicast_packets_received_total",
        "Number of multicast packets received (including errors)",
        (COUNTERS, "multicast_rcv_packets", Unit::Count),
    ),
    Desc::counter(
        "multicast_packets_transmitted_total",
        "Number of multicast packets transmitted (including errors)",
        (COUNTERS, "multicast_xmit_packets", Unit::Count),
    ),
    Desc::counter(
        "port_constraint_errors_received_total",
        "Number of packets received on the switch physical port that are discarded",
        (COUNTERS, "port_rcv_constraint_errors", Unit::Count),
    ),
    Desc::counter(
        "port_constraint_errors_transmitted_total",
        "Number of packets not transmitted from the switch physical port",
        (COUNTERS, "port_xmit_constraint_errors", Unit::Count),
    ),
    Desc::counter(
        "port_data_received_bytes_total",
        "Number of data octets received on all links",
        (COUNTERS, "port_rcv_data", Unit::Words),
    ),
    Desc::counter(
        "port_data_transmitted_bytes_total",
        "Number of data octets transmitted on all links",
        (COUNTERS, "port_xmit_data", Unit::Words),
    ),
    Desc::counter(
        "port_discards_received_total",
        "Number of inbound packets discarded by the port because the port is down or congested",
        (COUNTERS, "port_rcv_discards", Unit::Count),
    ),
    Desc::counter(
        "port_discards_transmitted_total",
        "Number of outbound packets discarded by the port because the port is down or congested",
        (COUNTERS, "port_xmit_discards", Unit::Count),
    ),
    Desc::counter(
        "port_errors_received_total",
        "Number of packets containing an error that were received on this port",
        (COUNTERS, "port_rcv_errors", Unit::Count),
    ),
    Desc::counter(
        "port_packets_received_total",
        "Number of packets received on all VLs by this port (including errors)",
        (COUNTERS, "port_rcv_packets", Unit::Count),
    ),
    Desc::counter(
        "port_packets_transmitted_total",
        "Number of packets transmitted on all VLs from this port (including errors)",
        (COUNTERS, "port_xmit_packets", Unit::Count),
    ),
    Desc::counter(
        "port_transmit_wait_total",
        "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
        (COUNTERS, "port_xmit_wait", Unit::Count),
    ),
    Desc::counter(
        "unicast_packets_received_total",
        "Number of unicast packets received (including errors)",
        (COUNTERS, "unicast_rcv_packets", Unit::Count),
    ),
    Desc::counter(
        "unicast_packets_transmitted_total",
        "Number of unicast packets transmitted (including errors)",
        (COUNTERS, "unicast_xmit_packets", Unit::Count),
    ),
    Desc::counter(
        "port_receive_remote_physical_errors_total",
        "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
        (COUNTERS, "port_rcv_remote_physical_errors", Unit::Count),
    ),
    Desc::counter(
        "port_receive_switch_relay_errors_total",
        "Number of packets that could not be forwarded by the switch.",
        (COUNTERS, "port_rcv_switch_relay_errors", Unit::Count),
    ),
    Desc::counter(
        "symbol_error_total",
        "Number of minor link errors detected on one or more physical lanes.",
        (COUNTERS, "symbol_error", Unit::Count),
    ),
    Desc::counter(
        "vl15_dropped_total",
        "Number of incoming VL15 packets dropped due to resource limitations.",
        (COUNTERS, "VL15_dropped", Unit::Count),
    ),
    Desc::gauge(
        "lifespan_seconds",
        "The maximum period in ms which defines the aging of the counter reads. Two consecutive reads within this period might return the same values.",
        (HW_COUNTERS, "lifespan", Unit::Milliseconds),
    ),
    Desc::counter(
        "duplicate_requests_packets_total",
        "The number of received packets. A duplicate request is a request that had been previously executed.",
        (HW_COUNTERS, "duplicate_request", Unit::Count),
    ),
    Desc::counter(
        "implied_nak_seq_errors_total",
        "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for an RDMA read or response.",
        (HW_COUNTERS, "implied_nak_seq_err", Unit::Count),
    ),
    Desc::counter(
        "local_ack_timeout_errors_total",
        "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP retry limit was not exceed, therefore it is still recoverable error.",
        (HW_COUNTERS, "local_ack_timeout_err", Unit::Count),
    ),
    Desc::counter(
        "np_cnp_packets_sent_total",
        "The number of CNP packets sent by the Notification Point when it noticed congestion experienced in the RoCEv2 IP header (ECN bits). The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "np_cnp_sent", Unit::Count),
    ),
    Desc::counter(
        "np_ecn_marked_roce_packets_received_total",
        "The number of RoCEv2 packets received by the notification point which were marked for experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) . The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "np_ecn_marked_roce_packets", Unit::Count),
    ),
    Desc::counter(
        "out_of_buffer_drops_total",
        "The number of drops occurred due to lack of WQE for the associated QPs.",
        (HW_COUNTERS, "out_of_buffer", Unit::Count),
    ),
    Desc::counter(
        "out_of_sequence_packets_received_total",
        "The number of out of sequence packets received.",
        (HW_COUNTERS, "out_of_sequence", Unit::Count),
    ),
    Desc::counter(
        "packet_sequence_errors_total",
        "The number of received NAK sequence error packets. The QP retry limit was not exceeded.",
        (HW_COUNTERS, "packet_seq_err", Unit::Count),
    ),
    Desc::counter(
        "req_cqes_errors_total",
        "The number of times requester detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "req_cqe_error", Unit::Count),
    ),
    Desc::counter(
        "req_cqes_flush_errors_total",
        "The number of times requester detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "req_cqe_flush_error", Unit::Count),
    ),
    Desc::counter(
        "req_remote_access_errors_total",
        "The number of times requester detected remote access errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "req_remote_access_errors", Unit::Count),
    ),
    Desc::counter(
        "req_remote_invalid_request_errors_total",
        "The number of times requester detected remote invalid request errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "req_remote_invalid_request", Unit::Count),
    ),
    Desc::counter(
        "resp_cqes_errors_total",
        "The number of times responder detected CQEs completed with errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "resp_cqe_error", Unit::Count),
    ),
    Desc::counter(
        "resp_cqes_flush_errors_total",
        "The number of times responder detected CQEs completed with flushed errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "resp_cqe_flush_error", Unit::Count),
    ),
    Desc::counter(
        "resp_local_length_errors_total",
        "The number of times responder detected local length errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "resp_local_length_error", Unit::Count),
    ),
    Desc::counter(
        "resp_remote_access_errors_total",
        "The number of times responder detected remote access errors. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "resp_remote_access_errors", Unit::Count),
    ),
    Desc::counter(
        "rnr_nak_retry_packets_received_total",
        "The number of received RNR NAK packets. The QP retry limit was not exceeded.",
        (HW_COUNTERS, "rnr_nak_retry_err", Unit::Count),
    ),
    Desc::counter(
        "roce_adp_retransmits_total",
        "The number of adaptive retransmissions for RoCE traffic. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        (HW_COUNTERS, "roce_adp_retrans", Unit::Count),
    ),
    Desc::counter(
        "roce_adp_retransmits_timeout_total",
        "The number of times RoCE traffic reached timeout due to adaptive retransmission. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        (HW_COUNTERS, "roce_adp_retrans_to", Unit::Count),
    ),
    Desc::counter(
        "roce_slow_restart_used_total",
        "The number of times RoCE slow restart was used. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        (HW_COUNTERS, "roce_slow_restart", Unit::Count),
    ),
    Desc::counter(
        "roce_slow_restart_cnps_total",
        "The number of times RoCE slow restart generated CNP packets. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        (HW_COUNTERS, "roce_slow_restart_cnps", Unit::Count),
    ),
    Desc::counter(
        "roce_slow_restart_total",
        "The number of times RoCE slow restart changed state to slow restart. The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0",
        (HW_COUNTERS, "roce_slow_restart_trans", Unit::Count),
    ),
    Desc::counter(
        "rp_cnp_packets_handled_total",
        "The number of CNP packets handled by the Reaction Point HCA to throttle the transmission rate. The counters was added in MLNX_OFED 4.1",
        (HW_COUNTERS, "rp_cnp_handled", Unit::Count),
    ),
    Desc::counter(
        "rp_cnp_ignored_packets_received_total",
        "The number of CNP packets received and ignored by the Reaction Point HCA. This counter should not raise if RoCE Congestion Control was enabled in the network. If this counter raise, verify that ECN was enabled on the adapter.",
        (HW_COUNTERS, "rp_cnp_ignored", Unit::Count),
    ),
    Desc::counter(
        "rx_atomic_requests_total",
        "The number of received ATOMIC request for the associated QPs.",
        (HW_COUNTERS, "rx_atomic_requests", Unit::Count),
    ),
    Desc::counter(
        "rx_dct_connect_requests_total",
        "The number of received connection requests for the associated DCTs.",
        (HW_COUNTERS, "rx_dct_connect", Unit::Count),
    ),
    Desc::counter(
        "rx_read_requests_total",
        "The number of received READ requests for the associated QPs.",
        (HW_COUNTERS, "rx_read_requests", Unit::Count),
    ),
    Desc::counter(
        "rx_write_requests_total",
        "The number of received WRITE requests for the associated QPs.",
        (HW_COUNTERS, "rx_write_requests", Unit::Count),
    ),
    Desc::counter(
        "rx_icrc_encapsulated_errors_total",
        "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and kernel 4.19",
        (HW_COUNTERS, "rx_icrc_encapsulated", Unit::Count),
    ),
];

/// One InfiniBand device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbDevice {
    /// The device name (`mlx5_0`).
    pub name: String,
    /// `board_id`, empty when the driver has none.
    pub board_id: String,
    /// `fw_ver`.
    pub firmware_version: String,
    /// `hca_type`, empty when the driver has none.
    pub hca_type: String,
    /// Its ports.
    pub ports: Vec<IbPort>,
}

/// One port of an InfiniBand device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IbPort {
    /// The port number, from 1.
    pub number: u32,
    /// The logical state id of `state` (4 is ACTIVE).
    pub state_id: u32,
    /// The physical state id of `phys_state` (5 is LinkUp).
    pub phys_state_id: u32,
    /// `rate` in bytes per second.
    pub rate: u64,
    /// The [`PORT_COUNTERS`] values, in order, already in their unit.
    counters: Vec<Option<u64>>,
}

/// Reads one value of a port.
type PortValue = fn(&IbPort) -> u64;

/// Parses `state` or `phys_state` (`4: ACTIVE`) to its id.
pub fn parse_state(text: &str) -> Result<u32, String> {
    let mut parts = text.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(_), None) => id
            .trim()
            .parse()
            .map_err(|_| format!("invalid state id in {text:?}")),
        _ => Err(format!("state {text:?} is not \"<id>: <name>\"")),
    }
}

/// Parses `rate` (`100 Gb/sec (4X EDR)`, `2.5 Gb/sec (1X SDR)`) to bytes per
/// second. The number is read with single precision, as node_exporter does.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let (number, _) = text
        .split_once(' ')
        .ok_or_else(|| format!("rate {text:?} has no unit"))?;
    let gbits: f32 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate {text:?}"))?;
    Ok((f64::from(gbits) * 125_000_000.0) as u64)
}

/// Parses one counter file; `None` when the adapter cannot read it
/// (`N/A (no PMA)`, iWARP adapters on older kernels).
pub fn parse_counter(text: &str) -> Result<Option<u64>, String> {
    match go_uint(text.trim()) {
        Some(value) => Ok(Some(value)),
        None if text.contains("N/A (no PMA)") => Ok(None),
        None => Err(format!("invalid counter {:?}", text.trim())),
    }
}

impl IbDevice {
    /// Reads the device directory `dir`.
    pub fn read(name: &str, dir: &Path) -> Result<IbDevice, String> {
        let firmware_version = read_sysfs_attribute(&dir.join("fw_ver"))
            .map_err(|e| format!("reading fw_ver: {e}"))?
            .trim()
            .to_string();
        let optional = |file: &str| -> Result<String, String> {
            Ok(read_optional(&dir.join(file))?.unwrap_or_default())
        };
        let board_id = optional("board_id")?;
        let hca_type = optional("hca_type")?;
        let ports_dir = dir.join("ports");
        let entries = fs::read_dir(&ports_dir)
            .map_err(|e| format!("listing {}: {e}", ports_dir.display()))?;
        let mut ports = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let port = entry.file_name().to_string_lossy().into_owned();
            let number = port
                .parse()
                .map_err(|_| format!("invalid port number {port:?}"))?;
            let port = IbPort::read(name, number, &entry.path())
                .map_err(|e| format!("port {port}: {e}"))?;
            ports.push(port);
        }
        Ok(IbDevice {
            name: name.to_string(),
            board_id,
            firmware_version,
            hca_type,
            ports,
        })
    }
}

impl IbPort {
    /// Reads the port directory `dir` of device `device`.
    pub fn read(device: &str, number: u32, dir: &Path) -> Result<IbPort, String> {
        let read =
            |file: &str| read_text(&dir.join(file)).map_err(|e| format!("reading {file}: {e}"));
        let state_id = parse_state(&read("state")?)?;
        let phys_state_id = parse_state(&read("phys_state")?)?;
        let rate = parse_rate(&read("rate")?)?;
        let reads_counters = !device.starts_with("irdma") && !device.starts_with("nvs_");
        let reads_hw_counters = device.starts_with("irdma") || device.starts_with("mlx5_");
        let mut counters = Vec::with_capacity(PORT_COUNTERS.len());
        for c in PORT_COUNTERS {
            let (counter_dir, file, unit) = c.source;
            let wanted = if counter_dir == HW_COUNTERS {
                reads_hw_counters
            } else {
                reads_counters
            };
            let value = match wanted {
                false => None,
                true => match read_optional(&dir.join(counter_dir).join(file))? {
                    None => None,
                    Some(text) => {
                        parse_counter(&text).map_err(|e| format!("{counter_dir}/{file}: {e}"))?
                    }
                },
            };
            counters.push(value.map(|v| match unit {
                Unit::Count => v,
                // As node_exporter's uint64 arithmetic: wrapping, truncating.
                Unit::Words => v.wrapping_mul(4),
                Unit::Milliseconds => v / 1000,
            }));
        }
        Ok(IbPort {
            number,
            state_id,
            phys_state_id,
            rate,
            counters,
        })
    }

    /// The value of counter file `dir/file`, if the port has it.
    pub fn counter(&self, dir: &str, file: &str) -> Option<u64> {
        let slot = PORT_COUNTERS
            .iter()
            .position(|c| c.source.0 == dir && c.source.1 == file)?;
        self.counters[slot]
    }
}

impl Collector for InfinibandCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let devices = read_devices_where(
            host,
            "infiniband",
            |name| !self.devices.ignored(name),
            IbDevice::read,
        )?;
        let info = out.family(
            "node_infiniband_info",
            "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
            MetricType::Gauge,
            &["device", "board_id", "firmware_version", "hca_type"],
        );
        for d in &devices {
            info.push(
                &[&d.name, &d.board_id, &d.firmware_version, &d.hca_type],
                1.0,
            );
        }
        let ports: Vec<(&str, String, &IbPort)> = devices
            .iter()
            .flat_map(|d| {
                d.ports
                    .iter()
                    .map(move |p| (d.name.as_str(), p.number.to_string(), p))
            })
            .collect();
        let gauges: [Desc<PortValue>; 3] = [
            Desc::gauge(
                "state_id",
                "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
                |p| p.state_id.into(),
            ),
            Desc::gauge(
                "physical_state_id",
                "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
                |p| p.phys_state_id.into(),
            ),
            Desc::gauge(
                "rate_bytes_per_second",
                "Maximum signal transfer rate",
                |p| p.rate,
            ),
        ];
        for gauge in gauges {
            let family = out.family(
                format!("node_infiniband_{}", gauge.name),
                gauge.help,
                gauge.metric_type,
                &["device", "port"],
            );
            for (device, port, p) in &ports {
                family.push(&[device, port.as_str()], (gauge.source)(p) as f64);
            }
        }
        for (slot, c) in PORT_COUNTERS.iter().enumerate() {
            let family = out.family(
                format!("node_infiniband_{}", c.name),
                c.help,
                c.metric_type,
                &["device", "port"],
            );
            for (device, port, p) in &ports {
                if let Some(value) = p.counters[slot] {
                    family.push(&[device, port.as_str()], value as f64);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, scrape_fixtures, write_files};

    #[test]
    fn states() {
        assert_eq!(parse_state("4: ACTIVE\n"), Ok(4));
        assert_eq!(parse_state("5: LinkUp\n"), Ok(5));
        assert_eq!(parse_state("1: DOWN"), Ok(1));
        assert!(parse_state("ACTIVE").is_err());
        assert!(parse_state("x: ACTIVE").is_err());
        assert!(parse_state("4: ACTIVE: more").is_err());
        assert!(parse_state("").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100 Gb/sec (4X EDR)\n"), Ok(12_500_000_000));
        assert_eq!(parse_rate("2.5 Gb/sec (1X SDR)\n"), Ok(312_500_000));
        assert_eq!(parse_rate("10 Gb/sec (4X)\n"), Ok(1_250_000_000));
        assert_eq!(parse_rate("53.125 Gb/sec (1X NDR)\n"), Ok(6_640_625_000));
        assert!(parse_rate("100\n").is_err(), "no unit");
        assert!(parse_rate("fast Gb/sec").is_err());
        assert!(parse_rate("").is_err());
    }

    #[test]
    fn counters() {
        assert_eq!(parse_counter("4379001855\n"), Ok(Some(4_379_001_855)));
        assert_eq!(parse_counter("N/A (no PMA)\n"), Ok(None));
        assert!(parse_counter("garbage\n").is_err());
        assert!(parse_counter("").is_err());
    }

    #[test]
    fn reads_a_port_with_words_and_unreadable_counters() {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("state", "4: ACTIVE\n"),
                ("phys_state", "5: LinkUp\n"),
                ("rate", "25 Gb/sec (1X EDR)\n"),
            ],
        );
        write_files(
            &dir.path().join("counters"),
            &[
                ("port_xmit_data", "18446744073709551615\n"),
                ("port_rcv_data", "N/A (no PMA)\n"),
                ("unknown_counter", "not a number\n"),
            ],
        );
        write_files(&dir.path().join("hw_counters"), &[("lifespan", "1500\n")]);
        let port = IbPort::read("mlx5_3", 1, dir.path()).unwrap();
        assert_eq!(
            (port.state_id, port.phys_state_id, port.rate),
            (4, 5, 3_125_000_000)
        );
        assert_eq!(
            port.counter(COUNTERS, "port_xmit_data"),
            Some(u64::MAX.wrapping_mul(4)),
            "wraps as node_exporter's uint64 does"
        );
        assert_eq!(port.counter(COUNTERS, "port_rcv_data"), None);
        assert_eq!(port.counter(HW_COUNTERS, "lifespan"), Some(1));

        // Other drivers' hw_counters are not read; irdma's counters are not.
        let other = IbPort::read("bnxt_re0", 1, dir.path()).unwrap();
        assert_eq!(other.counter(HW_COUNTERS, "lifespan"), None);
        let irdma = IbPort::read("irdma0", 1, dir.path()).unwrap();
        assert_eq!(irdma.counter(COUNTERS, "port_xmit_data"), None);
        assert_eq!(irdma.counter(HW_COUNTERS, "lifespan"), Some(1));
    }

    #[test]
    fn a_port_without_counters_or_with_garbage() {
        let dir = tempfile::tempdir().unwrap();
        write_files(
            dir.path(),
            &[
                ("state", "1: DOWN\n"),
                ("phys_state", "3: Disabled\n"),
                ("rate", "10 Gb/sec (4X)\n"),
            ],
        );
        let port = IbPort::read("rxe0", 1, dir.path()).unwrap();
        assert!(port.counters.iter().all(Option::is_none));
        write_files(&dir.path().join("counters"), &[("symbol_error", "lots\n")]);
        let err = IbPort::read("rxe0", 1, dir.path()).unwrap_err();
        assert!(err.contains("counters/symbol_error"), "{err}");
        write_files(dir.path(), &[("rate", "\n")]);
        assert!(IbPort::read("rxe0", 1, dir.path()).is_err());
    }

    #[test]
    fn a_device_needs_its_firmware_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ports")).unwrap();
        assert!(IbDevice::read("mlx5_9", dir.path()).is_err());
        write_files(dir.path(), &[("fw_ver", "1.2.3\n")]);
        let device = IbDevice::read("mlx5_9", dir.path()).unwrap();
        assert_eq!(device.firmware_version, "1.2.3");
        assert_eq!(
            (device.board_id.as_str(), device.hca_type.as_str()),
            ("", "")
        );
        assert!(device.ports.is_empty());
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_infiniband_info Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
            r#"node_infiniband_info{board_id="MT_0000000010",device="mlx5_0",firmware_version="16.35.2000",hca_type="MT4119"} 1"#,
            r#"node_infiniband_info{board_id="SM_1141000001000",device="mlx4_0",firmware_version="2.31.5050",hca_type="MT4099"} 1"#,
            "# TYPE node_infiniband_state_id gauge",
            r#"node_infiniband_state_id{device="mlx4_0",port="2"} 1"#,
            r#"node_infiniband_physical_state_id{device="mlx5_0",port="1"} 5"#,
            r#"node_infiniband_rate_bytes_per_second{device="mlx5_0",port="1"} 1.25e+10"#,
            r#"node_infiniband_rate_bytes_per_second{device="mlx4_0",port="2"} 1.25e+09"#,
            "# TYPE node_infiniband_port_data_received_bytes_total counter",
            r#"node_infiniband_port_data_received_bytes_total{device="mlx5_0",port="1"} 1.751600742e+10"#,
            r#"node_infiniband_legacy_data_received_bytes_total{device="mlx4_0",port="1"} 4.442447218e+10"#,
            r#"node_infiniband_port_transmit_wait_total{device="mlx5_0",port="1"} 3003"#,
            r#"node_infiniband_vl15_dropped_total{device="mlx4_0",port="2"} 0"#,
            "# TYPE node_infiniband_lifespan_seconds gauge",
            r#"node_infiniband_lifespan_seconds{device="mlx5_0",port="1"} 0"#,
            r#"node_infiniband_rx_read_requests_total{device="mlx5_0",port="1"} 1.75528982e+08"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert!(!text.contains(r#"node_infiniband_lifespan_seconds{device="mlx4_0""#));
        assert!(!text.contains(
            r#"node_infiniband_legacy_packets_received_total{device="mlx4_0",port="2"}"#
        ));
    }

    #[test]
    fn device_filters_pick_devices_before_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let class = dir.path().join("class/infiniband");
        for name in ["mlx5_0", "mana_0"] {
            write_files(&class.join(name), &[("fw_ver", "1.2.3\n")]);
            write_files(
                &class.join(name).join("ports/1"),
                &[
                    ("state", "4: ACTIVE\n"),
                    ("phys_state", "5: LinkUp\n"),
                    ("rate", "100 Gb/sec (4X EDR)\n"),
                ],
            );
        }
        // MANA adapters answer `rate` with an error; here it is garbage.
        write_files(&class.join("mana_0/ports/1"), &[("rate", "\n")]);
        let host = || crate::collectors::common::testing::host_with_sysfs(dir.path());

        let all = build(&SPEC, host(), &[]).unwrap();
        assert!(all.run().1.is_err(), "an unreadable device fails the run");

        for flag in [
            "--collector.infiniband.device-exclude=^mana_",
            "--collector.infiniband.device-include=^mlx5_",
        ] {
            let text = build(&SPEC, host(), &[flag]).unwrap().render();
            assert!(
                text.contains(r#"node_infiniband_state_id{device="mlx5_0",port="1"} 4"#),
                "{flag}\n{text}"
            );
            assert!(!text.contains("mana_0"), "{flag}\n{text}");
        }

        let text = build(
            &SPEC,
            host(),
            &["--collector.infiniband.device-include=^mlx4_"],
        )
        .unwrap()
        .render();
        assert!(!text.contains("node_infiniband_state_id{"), "{text}");
    }

    #[test]
    fn device_filters_are_mutually_exclusive_and_checked() {
        let host = || Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let err = build(
            &SPEC,
            host(),
            &[
                "--collector.infiniband.device-include=a",
                "--collector.infiniband.device-exclude=b",
            ],
        )
        .err()
        .unwrap();
        assert!(
            err.contains("--collector.infiniband.device-include")
                && err.contains("--collector.infiniband.device-exclude"),
            "{err}"
        );
        let err = build(&SPEC, host(), &["--collector.infiniband.device-include=("])
            .err()
            .unwrap();
        assert!(err.contains("collector.infiniband.device-include"), "{err}");
        assert!(build(
            &SPEC,
            host(),
            &[
                "--collector.infiniband.device-include=",
                "--collector.infiniband.device-exclude=b",
            ],
        )
        .is_ok());
    }

    #[test]
    fn missing_class_is_no_data() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }
}
