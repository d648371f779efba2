//! `wifi` (disabled by default): wireless interfaces, the access point each
//! is associated with, and its stations, as `node_wifi_*`, over nl80211
//! generic netlink, as node_exporter reads them.
//!
//! The nl80211 family id is resolved by name (`CTRL_CMD_GETFAMILY`); then
//! `NL80211_CMD_GET_INTERFACE` lists the interfaces, and for each one
//! `NL80211_CMD_GET_SCAN` gives the BSS it is authenticated or associated
//! with (`node_wifi_station_info`) and `NL80211_CMD_GET_STATION` its
//! stations. A host without nl80211 (no wireless driver loaded) reports no
//! data, logged at debug only, as node_exporter does; so does a wireless
//! interface without a BSS or stations.
//!
//! Netlink answers for the agent's own network namespace: in a pod, the
//! host's interfaces only with `hostNetwork: true`, as with node_exporter.
//! `--collector.wifi.fixtures` (node_exporter's JSON stand-in for the kernel
//! in its own tests) is accepted and ignored: the kernel is always asked.

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::netlink::Protocol;
use crate::host::Host;
use crate::kernel::netlink::{
    dump, generic_message, generic_payload, push_attribute, resolve_family, Attribute, DumpError,
    Message,
};
use crate::metrics::{Desc, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "wifi",
    default_enabled: false,
    reads: "netlink nl80211 (the agent's network namespace)",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the wifi collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// test fixtures to use for wifi collector metrics
    #[arg(
        id = "collector.wifi.fixtures",
        long = "collector.wifi.fixtures",
        value_name = "DIR",
        default_value = ""
    )]
    pub fixtures: String,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    if !flags.fixtures.is_empty() {
        tracing::warn!(
            "--collector.wifi.fixtures is accepted for compatibility and ignored: the kernel is always asked"
        );
    }
    Ok(Box::new(WifiCollector))
}

/// Reports every named wireless interface of the agent's namespace.
struct WifiCollector;

/// The generic netlink family's name.
const NL80211: &str = "nl80211";
/// nl80211 commands (`enum nl80211_commands`).
const CMD_GET_INTERFACE: u8 = 5;
const CMD_GET_STATION: u8 = 17;
const CMD_GET_SCAN: u8 = 32;
/// nl80211 attributes (`enum nl80211_attrs`).
const ATTR_IFINDEX: u16 = 3;
const ATTR_IFNAME: u16 = 4;
const ATTR_IFTYPE: u16 = 5;
const ATTR_MAC: u16 = 6;
const ATTR_STA_INFO: u16 = 21;
const ATTR_WIPHY_FREQ: u16 = 38;
const ATTR_BSS: u16 = 47;
/// Station statistics nested in `NL80211_ATTR_STA_INFO`.
const STA_INFO_INACTIVE_TIME: u16 = 1;
const STA_INFO_RX_BYTES: u16 = 2;
const STA_INFO_TX_BYTES: u16 = 3;
const STA_INFO_SIGNAL: u16 = 7;
const STA_INFO_TX_BITRATE: u16 = 8;
const STA_INFO_RX_PACKETS: u16 = 9;
const STA_INFO_TX_PACKETS: u16 = 10;
const STA_INFO_TX_RETRIES: u16 = 11;
const STA_INFO_TX_FAILED: u16 = 12;
const STA_INFO_RX_BITRATE: u16 = 14;
const STA_INFO_CONNECTED_TIME: u16 = 16;
const STA_INFO_BEACON_LOSS: u16 = 18;
const STA_INFO_RX_BYTES64: u16 = 23;
const STA_INFO_TX_BYTES64: u16 = 24;
/// Rates nested in the bitrate attributes, in units of 100 kbit/s.
const RATE_INFO_BITRATE: u16 = 1;
const RATE_INFO_BITRATE32: u16 = 5;
/// BSS attributes nested in `NL80211_ATTR_BSS`.
const BSS_BSSID: u16 = 1;
const BSS_INFORMATION_ELEMENTS: u16 = 6;
const BSS_STATUS: u16 = 9;
/// `enum nl80211_bss_status`.
const BSS_STATUS_AUTHENTICATED: u32 = 0;
const BSS_STATUS_ASSOCIATED: u32 = 1;
const BSS_STATUS_IBSS_JOINED: u32 = 2;
/// The SSID information element's id.
const ELEMENT_SSID: u8 = 0;

/// One wireless interface of a `NL80211_CMD_NEW_INTERFACE` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// `NL80211_ATTR_IFINDEX`.
    pub index: u32,
    /// `NL80211_ATTR_IFNAME`; empty for a device without a netdev (P2P).
    pub name: String,
    /// `NL80211_ATTR_IFTYPE`.
    pub interface_type: u32,
    /// `NL80211_ATTR_WIPHY_FREQ`, in MHz (0 when not operating).
    pub frequency_mhz: u32,
}

impl Interface {
    /// Parses a generic netlink payload of nl80211's interface reply.
    pub fn parse(payload: &[u8]) -> Result<Interface, String> {
        let (_, attributes) = generic_message(payload)?;
        let mut interface = Interface::default();
        for attribute in attributes {
            let attribute = attribute?;
            match attribute.kind {
                ATTR_IFINDEX => interface.index = attribute.u32()?,
                ATTR_IFNAME => interface.name = attribute.string(),
                ATTR_IFTYPE => interface.interface_type = attribute.u32()?,
                ATTR_WIPHY_FREQ => interface.frequency_mhz = attribute.u32()?,
                _ => {}
            }
        }
        Ok(interface)
    }
}

/// The BSS an interface is part of, from a `NL80211_CMD_NEW_SCAN_RESULTS`
/// message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bss {
    /// `NL80211_BSS_BSSID`, as `aa:bb:cc:dd:ee:ff`.
    pub bssid: String,
    /// The SSID information element, lossily as text.
    pub ssid: String,
    /// `NL80211_BSS_STATUS`; `None` for a BSS merely seen in a scan.
    pub status: Option<u32>,
}

impl Bss {
    /// Parses a generic netlink payload of a scan result; `None` when it
    /// holds no BSS.
    pub fn parse(payload: &[u8]) -> Result<Option<Bss>, String> {
        let (_, attributes) = generic_message(payload)?;
        for attribute in attributes {
            let attribute = attribute?;
            if attribute.kind != ATTR_BSS {
                continue;
            }
            let mut bss = Bss::default();
            for nested in attribute.nested() {
                let nested = nested?;
                match nested.kind {
                    BSS_BSSID => bss.bssid = hardware_address(nested.payload),
                    BSS_INFORMATION_ELEMENTS => bss.ssid = ssid_of(nested.payload),
                    BSS_STATUS => bss.status = Some(nested.u32()?),
                    _ => {}
                }
            }
            return Ok(Some(bss));
        }
        Ok(None)
    }

    /// node_exporter's `mode` label for the status.
    fn mode(&self) -> &'static str {
        match self.status {
            Some(BSS_STATUS_AUTHENTICATED | BSS_STATUS_ASSOCIATED) => "client",
            Some(BSS_STATUS_IBSS_JOINED) => "ad-hoc",
            _ => "unknown",
        }
    }
}

/// The SSID among 802.11 information elements (id, length, data, ...).
fn ssid_of(elements: &[u8]) -> String {
    let mut rest = elements;
    while let [id, length, tail @ ..] = rest {
        let length = usize::from(*length);
        let Some(data) = tail.get(..length) else {
            break;
        };
        if *id == ELEMENT_SSID {
            return String::from_utf8_lossy(data).into_owned();
        }
        rest = &tail[length..];
    }
    String::new()
}

/// A hardware address as Go's `net.HardwareAddr` prints it.
fn hardware_address(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One station of a `NL80211_CMD_NEW_STATION` message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Station {
    /// `NL80211_ATTR_MAC`, as `aa:bb:cc:dd:ee:ff`.
    pub mac_address: String,
    /// Seconds connected.
    pub connected_seconds: f64,
    /// Seconds since the last activity.
    pub inactive_seconds: f64,
    /// Receive bitrate, bits per second.
    pub receive_bits_per_second: f64,
    /// Transmit bitrate, bits per second.
    pub transmit_bits_per_second: f64,
    /// Bytes received (64-bit where the kernel gives it).
    pub received_bytes: u64,
    /// Bytes transmitted.
    pub transmitted_bytes: u64,
    /// Packets received.
    pub received_packets: u32,
    /// Packets transmitted.
    pub transmitted_packets: u32,
    /// Signal strength, dBm.
    pub signal_dbm: i8,
    /// Transmit retries.
    pub transmit_retries: u32,
    /// Failed transmissions.
    pub transmit_failed: u32,
    /// Beacons lost.
    pub beacon_loss: u32,
}

impl Station {
    /// Parses a generic netlink payload of nl80211's station reply.
    pub fn parse(payload: &[u8]) -> Result<Station, String> {
        let (_, attributes) = generic_message(payload)?;
        let mut station = Station::default();
        for attribute in attributes {
            let attribute = attribute?;
            match attribute.kind {
                ATTR_MAC => station.mac_address = hardware_address(attribute.payload),
                ATTR_STA_INFO => station.read_info(&attribute)?,
                _ => {}
            }
        }
        Ok(station)
    }

    fn read_info(&mut self, info: &Attribute<'_>) -> Result<(), String> {
        let (mut rx64, mut tx64) = (None, None);
        for nested in info.nested() {
            let nested = nested?;
            match nested.kind {
                STA_INFO_INACTIVE_TIME => self.inactive_seconds = f64::from(nested.u32()?) / 1000.0,
                STA_INFO_CONNECTED_TIME => self.connected_seconds = nested.u32()?.into(),
                STA_INFO_RX_BYTES => self.received_bytes = nested.u32()?.into(),
                STA_INFO_TX_BYTES => self.transmitted_bytes = nested.u32()?.into(),
                STA_INFO_RX_BYTES64 => rx64 = Some(nested.u64()?),
                STA_INFO_TX_BYTES64 => tx64 = Some(nested.u64()?),
                STA_INFO_RX_PACKETS => self.received_packets = nested.u32()?,
                STA_INFO_TX_PACKETS => self.transmitted_packets = nested.u32()?,
                STA_INFO_SIGNAL => self.signal_dbm = nested.u8()? as i8,
                STA_INFO_TX_RETRIES => self.transmit_retries = nested.u32()?,
                STA_INFO_TX_FAILED => self.transmit_failed = nested.u32()?,
                STA_INFO_BEACON_LOSS => self.beacon_loss = nested.u32()?,
                STA_INFO_RX_BITRATE => self.receive_bits_per_second = bitrate(&nested)?,
                STA_INFO_TX_BITRATE => self.transmit_bits_per_second = bitrate(&nested)?,
                _ => {}
            }
        }
        self.received_bytes = rx64.unwrap_or(self.received_bytes);
        self.transmitted_bytes = tx64.unwrap_or(self.transmitted_bytes);
        Ok(())
    }
}

/// A nested rate's bitrate in bits per second: the 32-bit field where
/// present (rates past 6.5 Gbit/s), else the 16-bit one, in 100 kbit/s.
fn bitrate(rate: &Attribute<'_>) -> Result<f64, String> {
    let (mut narrow, mut wide) = (None, None);
    for nested in rate.nested() {
        let nested = nested?;
        match nested.kind {
            RATE_INFO_BITRATE => narrow = Some(u32::from(nested.u16()?)),
            RATE_INFO_BITRATE32 => wide = Some(nested.u32()?),
            _ => {}
        }
    }
    Ok(f64::from(wide.or(narrow).unwrap_or(0)) * 100_000.0)
}

/// An nl80211 dump of `command` for the interface `index` (or all), each
/// reply payload handed to `each`.
fn nl80211_dump(
    family: u16,
    command: u8,
    index: Option<u32>,
    each: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), DumpError> {
    let mut attributes = Vec::new();
    if let Some(index) = index {
        push_attribute(&mut attributes, ATTR_IFINDEX, &index.to_ne_bytes());
    }
    dump(
        Protocol::Generic,
        family,
        &generic_payload(command, 0, &attributes),
        &mut |message: &Message<'_>| each(message.payload),
    )
}

/// Whether a refused request means "not for this interface" (an interface
/// type without scans or stations, a device gone meanwhile), which
/// node_exporter skips quietly.
fn not_available(e: &DumpError) -> bool {
    matches!(
        e.refused_with(),
        Some(libc::ENOENT | libc::ENODEV | libc::EOPNOTSUPP | libc::EINVAL)
    )
}

/// What one scrape found.
#[derive(Debug, Default)]
struct Survey {
    interfaces: Vec<Interface>,
    /// The BSS of each interface that has one, by position in `interfaces`.
    bss: Vec<(usize, Bss)>,
    /// The stations of each interface, by position in `interfaces`.
    stations: Vec<(usize, Station)>,
}

fn survey(family: u16) -> Result<Survey, CollectError> {
    let failed = |what: String, e: DumpError| CollectError::failed(format!("{what}: {e}"));
    let mut survey = Survey::default();
    nl80211_dump(family, CMD_GET_INTERFACE, None, &mut |payload| {
        let interface = Interface::parse(payload)?;
        // Devices without a name (P2P) are skipped, as node_exporter does.
        if !interface.name.is_empty() {
            survey.interfaces.push(interface);
        }
        Ok(())
    })
    .map_err(|e| failed("retrieving wifi interfaces".to_string(), e))?;
    for (position, interface) in survey.interfaces.iter().enumerate() {
        let mut found = None;
        let scanned = nl80211_dump(
            family,
            CMD_GET_SCAN,
            Some(interface.index),
            &mut |payload| {
                if let Some(bss) = Bss::parse(payload)? {
                    if bss.status.is_some() && found.is_none() {
                        found = Some(bss);
                    }
                }
                Ok(())
            },
        );
        match scanned {
            Ok(()) => survey.bss.extend(found.map(|bss| (position, bss))),
            Err(e) if not_available(&e) => {}
            Err(e) => {
                return Err(failed(
                    format!("retrieving BSS for device {}", interface.name),
                    e,
                ))
            }
        }
        let mut stations = Vec::new();
        let listed = nl80211_dump(
            family,
            CMD_GET_STATION,
            Some(interface.index),
            &mut |payload| {
                stations.push(Station::parse(payload)?);
                Ok(())
            },
        );
        match listed {
            Ok(()) => survey
                .stations
                .extend(stations.into_iter().map(|station| (position, station))),
            Err(e) if not_available(&e) => {}
            Err(e) => {
                return Err(failed(
                    format!("retrieving station info for device {:?}", interface.name),
                    e,
                ))
            }
        }
    }
    Ok(survey)
}

/// node_exporter's per-station families, each with the value of a station.
/// Where a family's value comes from.
type StationValue = fn(&Station) -> f64;

const STATION_FAMILIES: &[Desc<StationValue>] = &[
    Desc::counter(
        "node_wifi_station_connected_seconds_total",
        "The total number of seconds a station has been connected to an access point.",
        |s| s.connected_seconds,
    ),
    Desc::gauge(
        "node_wifi_station_inactive_seconds",
        "The number of seconds since any wireless activity has occurred on a station.",
        |s| s.inactive_seconds,
    ),
    Desc::gauge(
        "node_wifi_station_receive_bits_per_second",
        "The current WiFi receive bitrate of a station, in bits per second.",
        |s| s.receive_bits_per_second,
    ),
    Desc::gauge(
        "node_wifi_station_transmit_bits_per_second",
        "The current WiFi transmit bitrate of a station, in bits per second.",
        |s| s.transmit_bits_per_second,
    ),
    Desc::counter(
        "node_wifi_station_receive_bytes_total",
        "The total number of bytes received by a WiFi station.",
        |s| s.received_bytes as f64,
    ),
    Desc::counter(
        "node_wifi_station_transmit_bytes_total",
        "The total number of bytes transmitted by a WiFi station.",
        |s| s.transmitted_bytes as f64,
    ),
    Desc::gauge(
        "node_wifi_station_signal_dbm",
        "The current WiFi signal strength, in decibel-milliwatts (dBm).",
        |s| s.signal_dbm.into(),
    ),
    Desc::counter(
        "node_wifi_station_transmit_retries_total",
        "The total number of times a station has had to retry while sending a packet.",
        |s| s.transmit_retries.into(),
    ),
    Desc::counter(
        "node_wifi_station_transmit_failed_total",
        "The total number of times a station has failed to send a packet.",
        |s| s.transmit_failed.into(),
    ),
    Desc::counter(
        "node_wifi_station_beacon_loss_total",
        "The total number of times a station has detected a beacon loss.",
        |s| s.beacon_loss.into(),
    ),
    Desc::counter(
        "node_wifi_station_transmitted_packets_total",
        "The total number of packets transmitted by a station.",
        |s| s.transmitted_packets.into(),
    ),
    Desc::counter(
        "node_wifi_station_received_packets_total",
        "The total number of packets received by a station.",
        |s| s.received_packets.into(),
    ),
];

/// Pushes the families of `survey`.
fn push_survey(survey: &Survey, out: &mut MetricSet) {
    if survey.interfaces.is_empty() {
        return;
    }
    let frequency = out.family(
        "node_wifi_interface_frequency_hertz",
        "The current frequency a WiFi interface is operating at, in hertz.",
        MetricType::Gauge,
        &["device"],
    );
    for interface in &survey.interfaces {
        frequency.push(
            &[&interface.name],
            f64::from(interface.frequency_mhz) * 1_000_000.0,
        );
    }
    if !survey.bss.is_empty() {
        let info = out.family(
            "node_wifi_station_info",
            "Labeled WiFi interface station information as provided by the operating system.",
            MetricType::Gauge,
            &["device", "bssid", "ssid", "mode"],
        );
        for (position, bss) in &survey.bss {
            let device = &survey.interfaces[*position].name;
            info.push(&[device, &bss.bssid, &bss.ssid, bss.mode()], 1.0);
        }
    }
    if survey.stations.is_empty() {
        return;
    }
    for desc in STATION_FAMILIES {
        let family = out.family(
            desc.name,
            desc.help,
            desc.metric_type,
            &["device", "mac_address"],
        );
        for (position, station) in &survey.stations {
            let device = &survey.interfaces[*position].name;
            family.push(&[device, &station.mac_address], (desc.source)(station));
        }
    }
}

impl Collector for WifiCollector {
    fn update(&self, _host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let family = match resolve_family(NL80211) {
            Ok(Some(family)) => family,
            Ok(None) => {
                return Err(CollectError::no_data(
                    "wifi collector metrics are not available for this system (no nl80211)",
                ))
            }
            Err(e) if e.refused_with() == Some(libc::EPERM) => {
                return Err(CollectError::no_data(format!(
                    "wifi collector got permission denied when accessing metrics: {e}"
                )))
            }
            Err(e) => {
                return Err(CollectError::failed(format!(
                    "failed to access wifi data: {e}"
                )))
            }
        };
        push_survey(&survey(family)?, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build as build_collector, fixture_host};
    use crate::collectors::ErrorKind;
    use crate::kernel::netlink::{messages, request};

    // The messages below are laid out as nl80211 writes them
    // (include/uapi/linux/nl80211.h, net/wireless/nl80211.c): a generic
    // netlink header (command, version 1, reserved), then attributes, each
    // `struct nlattr` (u16 length, u16 type) and its payload padded to 4
    // bytes, integers in host byte order, nested attributes as a payload of
    // attributes. They are wrapped in a netlink header and split again by
    // the same walker a dump uses.

    fn attribute(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_attribute(&mut out, kind, payload);
        out
    }

    fn nested(kind: u16, children: &[Vec<u8>]) -> Vec<u8> {
        // NLA_F_NESTED is set by the kernel on nested attributes.
        attribute(kind | 0x8000, &children.concat())
    }

    /// A reply message of `command` holding `attributes`, as received, and
    /// its payload after the netlink header.
    fn reply(command: u8, attributes: &[Vec<u8>]) -> Vec<u8> {
        let payload = generic_payload(command, 1, &attributes.concat());
        let datagram = request(0x1c, 0x2, 1, &payload);
        let message = messages(&datagram).next().unwrap().unwrap();
        message.payload.to_vec()
    }

    /// NL80211_CMD_NEW_INTERFACE for wlan0, a station on 2412 MHz:
    /// IFINDEX, IFNAME, WIPHY (1), IFTYPE, WDEV (153, u64), MAC, WIPHY_FREQ.
    fn wlan0() -> Vec<u8> {
        reply(
            7,
            &[
                attribute(ATTR_IFINDEX, &3u32.to_ne_bytes()),
                attribute(ATTR_IFNAME, b"wlan0\0"),
                attribute(1, &0u32.to_ne_bytes()),
                attribute(ATTR_IFTYPE, &2u32.to_ne_bytes()),
                attribute(153, &1u64.to_ne_bytes()),
                attribute(ATTR_MAC, &[0x02, 0, 0, 0, 0, 0x01]),
                attribute(ATTR_WIPHY_FREQ, &2412u32.to_ne_bytes()),
            ],
        )
    }

    /// NL80211_CMD_NEW_SCAN_RESULTS: GENERATION (46), IFINDEX, then BSS
    /// nested: BSSID, FREQUENCY (2), information elements (SSID "home",
    /// supported rates), SIGNAL_MBM (7, s32), STATUS.
    fn scan_result(status: Option<u32>) -> Vec<u8> {
        let mut bss = vec![
            attribute(BSS_BSSID, &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
            attribute(2, &2412u32.to_ne_bytes()),
            attribute(
                BSS_INFORMATION_ELEMENTS,
                &[0, 4, b'h', b'o', b'm', b'e', 1, 2, 0x82, 0x84],
            ),
            attribute(7, &(-4500i32).to_ne_bytes()),
        ];
        bss.extend(status.map(|s| attribute(BSS_STATUS, &s.to_ne_bytes())));
        reply(
            34,
            &[
                attribute(46, &9u32.to_ne_bytes()),
                attribute(ATTR_IFINDEX, &3u32.to_ne_bytes()),
                nested(ATTR_BSS, &bss),
            ],
        )
    }

    /// NL80211_CMD_NEW_STATION: IFINDEX, MAC, GENERATION, STA_INFO nested
    /// with 32- and 64-bit byte counters, packet counters, signal -52 dBm,
    /// bitrates (tx with BITRATE32 and the legacy 16-bit field, rx with the
    /// 16-bit only).
    fn station() -> Vec<u8> {
        let info = vec![
            attribute(STA_INFO_INACTIVE_TIME, &1500u32.to_ne_bytes()),
            attribute(STA_INFO_RX_BYTES, &1000u32.to_ne_bytes()),
            attribute(STA_INFO_TX_BYTES, &2000u32.to_ne_bytes()),
            attribute(STA_INFO_RX_BYTES64, &(5u64 << 32).to_ne_bytes()),
            attribute(STA_INFO_RX_PACKETS, &15_695u32.to_ne_bytes()),
            attribute(STA_INFO_TX_PACKETS, &4_210u32.to_ne_bytes()),
            attribute(STA_INFO_SIGNAL, &[(-52i8) as u8]),
            nested(
                STA_INFO_TX_BITRATE,
                &[
                    attribute(RATE_INFO_BITRATE, &u16::MAX.to_ne_bytes()),
                    attribute(RATE_INFO_BITRATE32, &8667u32.to_ne_bytes()),
                ],
            ),
            nested(
                STA_INFO_RX_BITRATE,
                &[attribute(RATE_INFO_BITRATE, &540u16.to_ne_bytes())],
            ),
            attribute(STA_INFO_TX_RETRIES, &7u32.to_ne_bytes()),
            attribute(STA_INFO_TX_FAILED, &2u32.to_ne_bytes()),
            attribute(STA_INFO_CONNECTED_TIME, &3600u32.to_ne_bytes()),
            attribute(STA_INFO_BEACON_LOSS, &1u32.to_ne_bytes()),
        ];
        reply(
            19,
            &[
                attribute(ATTR_IFINDEX, &3u32.to_ne_bytes()),
                attribute(ATTR_MAC, &[0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]),
                attribute(46, &9u32.to_ne_bytes()),
                nested(ATTR_STA_INFO, &info),
            ],
        )
    }

    #[test]
    fn parses_an_interface() {
        assert_eq!(
            Interface::parse(&wlan0()).unwrap(),
            Interface {
                index: 3,
                name: "wlan0".to_string(),
                interface_type: 2,
                frequency_mhz: 2412,
            }
        );
    }

    #[test]
    fn parses_a_scan_result_with_its_status() {
        let bss = Bss::parse(&scan_result(Some(BSS_STATUS_ASSOCIATED)))
            .unwrap()
            .unwrap();
        assert_eq!(bss.bssid, "aa:bb:cc:dd:ee:ff");
        assert_eq!(bss.ssid, "home");
        assert_eq!(bss.mode(), "client");
        let seen = Bss::parse(&scan_result(None)).unwrap().unwrap();
        assert_eq!((seen.status, seen.mode()), (None, "unknown"));
        let joined = Bss {
            status: Some(BSS_STATUS_IBSS_JOINED),
            ..Bss::default()
        };
        assert_eq!(joined.mode(), "ad-hoc");
        assert_eq!(Bss::parse(&reply(34, &[])).unwrap(), None);
    }

    #[test]
    fn parses_a_station() {
        assert_eq!(
            Station::parse(&station()).unwrap(),
            Station {
                mac_address: "0a:1b:2c:3d:4e:5f".to_string(),
                connected_seconds: 3600.0,
                inactive_seconds: 1.5,
                receive_bits_per_second: 54_000_000.0,
                transmit_bits_per_second: 866_700_000.0,
                received_bytes: 5 << 32,
                transmitted_bytes: 2000,
                received_packets: 15_695,
                transmitted_packets: 4_210,
                signal_dbm: -52,
                transmit_retries: 7,
                transmit_failed: 2,
                beacon_loss: 1,
            }
        );
    }

    #[test]
    fn reads_ssids_among_information_elements() {
        assert_eq!(ssid_of(&[1, 1, 0x82, 0, 3, b'a', b'b', b'c']), "abc");
        assert_eq!(ssid_of(&[0, 0]), "");
        // A length running past the elements ends the walk.
        assert_eq!(ssid_of(&[1, 200, 0]), "");
        assert_eq!(ssid_of(&[]), "");
    }

    #[test]
    fn truncated_messages_never_panic_and_short_fields_are_refused() {
        for message in [wlan0(), scan_result(Some(1)), station()] {
            for cut in 0..message.len() {
                let _ = Interface::parse(&message[..cut]);
                let _ = Bss::parse(&message[..cut]);
                let _ = Station::parse(&message[..cut]);
            }
        }
        assert!(Interface::parse(&[5, 1]).is_err());
        let short = reply(7, &[attribute(ATTR_IFINDEX, &[1, 2])]);
        assert!(Interface::parse(&short).unwrap_err().contains("expected 4"));
    }

    #[test]
    fn families_and_labels_as_node_exporters() {
        let survey = Survey {
            interfaces: vec![Interface::parse(&wlan0()).unwrap()],
            bss: vec![(0, Bss::parse(&scan_result(Some(0))).unwrap().unwrap())],
            stations: vec![(0, Station::parse(&station()).unwrap())],
        };
        let mut out = MetricSet::new();
        push_survey(&survey, &mut out);
        let families = out.into_finished();
        assert_eq!(families.len(), 14);
        let frequency = &families[0];
        assert_eq!(frequency.name(), "node_wifi_interface_frequency_hertz");
        assert_eq!(frequency.samples()[0].value, 2.412e9);
        let info = &families[1];
        // Label names in the model's (and client_golang's) sorted order.
        assert_eq!(info.label_names(), &["bssid", "device", "mode", "ssid"]);
        let labels: Vec<&str> = info.label_values(&info.samples()[0]).collect();
        assert_eq!(labels, vec!["aa:bb:cc:dd:ee:ff", "wlan0", "client", "home"]);
        for family in &families[2..] {
            assert_eq!(family.label_names(), &["device", "mac_address"]);
            let labels: Vec<&str> = family.label_values(&family.samples()[0]).collect();
            assert_eq!(labels, vec!["wlan0", "0a:1b:2c:3d:4e:5f"]);
        }
        let signal = families
            .iter()
            .find(|f| f.name() == "node_wifi_station_signal_dbm")
            .unwrap();
        assert_eq!(signal.samples()[0].value, -52.0);
        let mut empty = MetricSet::new();
        push_survey(&Survey::default(), &mut empty);
        assert!(empty.into_finished().is_empty());
    }

    /// The families of the survey above in the text format: what
    /// docs/metrics.md lists for this collector, as no test machine has a
    /// wireless device. `UPDATE_GOLDEN=1` rewrites the file.
    #[test]
    fn families_docs_list() {
        let survey = Survey {
            interfaces: vec![Interface::parse(&wlan0()).unwrap()],
            bss: vec![(0, Bss::parse(&scan_result(Some(1))).unwrap().unwrap())],
            stations: vec![(0, Station::parse(&station()).unwrap())],
        };
        let mut out = MetricSet::new();
        push_survey(&survey, &mut out);
        let families = out.into_sorted();
        let mut text = Vec::new();
        crate::exposition::Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut text);
        let text = String::from_utf8(text).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/live/wifi.prom");
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::write(path, &text).unwrap();
        }
        assert_eq!(std::fs::read_to_string(path).unwrap(), text);
    }

    #[test]
    fn a_host_without_nl80211_reports_no_data_quietly() {
        let built =
            build_collector(&SPEC, fixture_host(), &["--collector.wifi.fixtures=/x"]).unwrap();
        let (families, result) = built.run();
        match resolve_family(NL80211).unwrap() {
            // This machine: no wireless driver, so nl80211 is not registered.
            None => {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
                assert!(families.is_empty());
            }
            // A machine with a wireless driver: a real survey.
            Some(_) => result.unwrap(),
        }
    }
}
